/* SPDX-License-Identifier: Apache-2.0 */
/* Borrowing-cost optimisation (include/risk/optimise.h, docs/rates.md section 10): hand-solved
 * instances whose optimum is derived in each test's comment, the reverse question, a rate model's
 * own accrual, an account with positions, bad input and out of memory. The random cross-check
 * against an independent LP solver (scipy's HiGHS) is tests/python/test_optimise.py. */
#include "test_util.h"

#include <math.h>
#include <string.h>

#define YEAR_S 31536000.0

static risk_optimise_asset given(uint32_t asset, double post_max, double withdraw_max, double borrow_max,
                                 double borrow, double supply, double outside, uint32_t flags)
{
    risk_optimise_asset c = RISK_OPTIMISE_ASSET_INIT;
    c.asset = asset;
    c.flags = flags | RISK_OPTIMISE_RATES_GIVEN;
    c.post_max = post_max;
    c.withdraw_max = withdraw_max;
    c.borrow_max = borrow_max;
    c.borrow_annual = borrow;
    c.supply_annual = supply;
    c.outside_annual = outside;
    return c;
}

static int run(const risk_account *acc, const risk_optimise_spec *sp, const risk_optimise_asset *c, size_t n,
               risk_optimise_result *res, risk_optimise_move *mv)
{
    *res = (risk_optimise_result)RISK_OPTIMISE_RESULT_INIT;
    for (size_t k = 0; k < n; k++)
        mv[k] = (risk_optimise_move)RISK_OPTIMISE_MOVE_INIT;
    int rc = risk_account_optimise(acc, sp, c, n, res, mv);
    if (rc != RISK_OK)
        print_error("optimise: %s\n", risk_account_errmsg(acc));
    return rc;
}

/* The certificate of every optimal answer: no duality gap, no wrong-signed reduced cost. */
static void assert_certified(const risk_optimise_result *r)
{
    assert_int_equal(r->outcome, RISK_OPTIMISE_OPTIMAL);
    tu_assert_near(r->duality_gap, 0.0, 1e-9 * (1.0 + fabs(r->cost_horizon)));
    tu_assert_near(r->dual_infeasibility, 0.0, 1e-12);
}

/* Which collateral to post for a new position's IM.
 * BTC at 50,000 (weights 0.8 init, 0.9 maint) earns 0.5 % inside and 2 % outside: posting it costs
 * 1.5 %/year of its value, 1.5 / 0.8 = 1.875 % per unit of C_init. ETH at 2,000 (0.75, 0.85)
 * earns 1 % inside and 4 % outside: 3 %, 3 / 0.75 = 4 % per unit of C_init. Target: IM 8,000,
 * MM 4,000, floors 1 (init) and 1.2 (maint), one year of simple interest.
 * (a) BTC up to 1: post 8,000 / 0.8 = 10,000 of BTC = 0.2 BTC; C_maint 9,000 >= 1.2 x 4,000.
 *     Cost 10,000 x 1.5 % = 150; the init row binds at 1.875 % (its dual), the maint row is slack.
 * (b) BTC up to 0.1 (5,000, C_init 4,000): the other 4,000 of C_init from ETH, 4,000 / 0.75 =
 *     5,333.33 of ETH = 2.6667 ETH. Cost 5,000 x 1.5 % + 5,333.33 x 3 % = 75 + 160 = 235; the
 *     marginal unit now comes from ETH: dual 4 %. */
static void test_optimise_cheapest_collateral_for_im(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset_w(e, "BTC", 50000.0, 8, 0.8, 0.9, 1.0, 1.0);
    uint32_t eth = tu_asset_w(e, "ETH", 2000.0, 8, 0.75, 0.85, 1.0, 1.0);
    (void)usdt;
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_optimise_spec sp = RISK_OPTIMISE_SPEC_INIT;
    sp.health_maint_min = 1.2;
    sp.im_value = 8000.0;
    sp.mm_value = 4000.0;
    risk_optimise_asset c[2] = {given(btc, 1.0, 0, 0, 0.1, 0.005, 0.02, 0),
                                given(eth, 10.0, 0, 0, 0.1, 0.01, 0.04, 0)};
    risk_optimise_result r;
    risk_optimise_move mv[2];
    tu_assert_status(run(acc, &sp, c, 2, &r, mv), RISK_OK);
    assert_certified(&r);
    tu_assert_rel(mv[0].balance_after, 0.2, 1e-12);
    tu_assert_near(mv[1].balance_after, 0.0, 1e-12);
    tu_assert_rel(mv[0].delta_grid, 0.2, 1e-15);
    tu_assert_rel(r.cost_horizon, 150.0, 1e-12);
    tu_assert_rel(r.cost_annual, 150.0, 1e-12);
    tu_assert_rel(r.dual_health_init, 0.01875, 1e-12);
    tu_assert_near(r.dual_health_maint, 0.0, 1e-15);
    tu_assert_rel(r.health_init, 1.0, 1e-12);
    tu_assert_rel(r.health_maint, 9000.0 / 4000.0, 1e-12);
    assert_int_equal(r.baseline_feasible, 0); /* the empty account cannot carry the IM */
    tu_assert_near(r.saving_horizon, 0.0, 0.0);

    /* size-scaled weights curve between the breakpoints: refused, not answered inexactly */
    risk_size_scaling sz = RISK_SIZE_SCALING_INIT;
    sz.imf = 0.001;
    tu_assert_status(risk_engine_set_asset_size_scaling(e, btc, &sz), RISK_OK);
    tu_assert_status(risk_account_optimise(acc, &sp, c, 2, &r, mv), RISK_EINVAL);
    assert_non_null(strstr(risk_account_errmsg(acc), "size-scaled"));
    tu_assert_status(risk_engine_set_asset_size_scaling(e, btc, NULL), RISK_OK);

    c[0].post_max = 0.1;
    tu_assert_status(run(acc, &sp, c, 2, &r, mv), RISK_OK);
    assert_certified(&r);
    tu_assert_rel(mv[0].balance_after, 0.1, 1e-12);
    tu_assert_rel(mv[1].balance_after, 4000.0 / 0.75 / 2000.0, 1e-12);
    tu_assert_rel(r.cost_horizon, 235.0, 1e-12);
    tu_assert_rel(r.dual_health_init, 0.04, 1e-12);
    /* on the grid (8 decimals), rounded toward more collateral */
    tu_assert_rel(mv[1].delta_grid, 2.66666667, 1e-15);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Which asset to borrow for cash, against the current mix.
 * The account holds 10,000 USDC (supply 3 %, borrow 10 %) and 1 BTC at 50,000 (weights 0.8 /
 * 0.9, no rate); USDT (supply 2 %, borrow 6 %) is not held. 15,000 of cash may come from USDC or
 * USDT ($1 each). Cheapest per unit: the USDC deposit (3 % forgone), then a USDT debt (6 %), then
 * a USDC debt (10 %). Optimum: USDC to 0, USDT to -5,000: cost 5,000 x 6 % = 300 per year, and
 * one more unit of cash costs 6 % (dual). Baseline (the current mix, cash from USDC, the first
 * CASH candidate): USDC to -5,000 at 10 %: 500. Saving 200. Health: C_maint 45,000 against
 * 5,000 of debt. */
static void test_optimise_cash_from_the_cheapest_source(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    uint32_t btc = tu_asset_w(e, "BTC", 50000.0, 8, 0.8, 0.9, 1.0, 1.0);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdc, 10000.0);
    tu_balance(acc, btc, 1.0);
    risk_optimise_spec sp = RISK_OPTIMISE_SPEC_INIT;
    sp.cash_value = 15000.0;
    risk_optimise_asset c[2] = {given(usdc, 0, 1e6, 1e6, 0.10, 0.03, 0, RISK_OPTIMISE_CASH),
                                given(usdt, 0, 1e6, 1e6, 0.06, 0.02, 0, RISK_OPTIMISE_CASH)};
    risk_optimise_result r;
    risk_optimise_move mv[2];
    tu_assert_status(run(acc, &sp, c, 2, &r, mv), RISK_OK);
    assert_certified(&r);
    tu_assert_near(mv[0].balance_after, 0.0, 1e-9);
    tu_assert_rel(mv[1].balance_after, -5000.0, 1e-12);
    tu_assert_rel(mv[1].borrowed, 5000.0, 1e-12);
    tu_assert_rel(mv[1].rate_annual, 0.06, 0.0);
    tu_assert_rel(r.cost_annual, 300.0, 1e-12);
    tu_assert_rel(r.dual_cash, 0.06, 1e-12);
    assert_int_equal(r.baseline_feasible, 1);
    tu_assert_rel(r.baseline_cost_annual, 500.0, 1e-12);
    tu_assert_rel(r.saving_horizon, 200.0, 1e-12);
    tu_assert_rel(r.health_maint, 45000.0 / 5000.0, 1e-12);
    /* the account is unchanged */
    double x = 0.0;
    tu_assert_status(risk_basket_balance(risk_account_basket(acc), usdc, &x), RISK_OK);
    tu_assert_bits(x, 10000.0);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Value tiers make the marginal unit of a large deposit worth less: the optimum switches asset
 * mid-way. BTC at 1,000 with tiers 0-10: 1.0, 10-20: 0.5 (0 above), weight 1; ETH at 1,000,
 * untiered, weight 0.6. Both cost 2 % of value outside (nothing inside). Per unit of C_init:
 * BTC's first tier 2 %, ETH 2 / 0.6 = 3.33 %, BTC's second tier 2 / 0.5 = 4 %. IM 16,000:
 * 10 BTC (C_init 10,000, cost 200), then ETH, not BTC's second tier: 6,000 / 0.6 = 10,000 of ETH
 * = 10 ETH (cost 200). Total 400; the marginal unit from ETH: dual 1/30. */
static void test_optimise_value_tiers(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    (void)tu_asset(e, "USDT", 1.0, 6);
    risk_value_tier tiers[2] = {{10.0, 1.0}, {20.0, 0.5}};
    risk_asset_spec s = RISK_ASSET_SPEC_INIT;
    s.symbol = "BTC";
    s.price = 1000.0;
    s.decimals = 8;
    s.value_tiers = tiers;
    s.n_value_tiers = 2;
    uint32_t btc = 0;
    tu_assert_status(risk_engine_add_asset(e, &s, &btc), RISK_OK);
    uint32_t eth = tu_asset_w(e, "ETH", 1000.0, 8, 0.6, 0.6, 1.0, 1.0);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_optimise_spec sp = RISK_OPTIMISE_SPEC_INIT;
    sp.im_value = 16000.0;
    risk_optimise_asset c[2] = {given(btc, 30.0, 0, 0, 0.1, 0.0, 0.02, 0), given(eth, 100.0, 0, 0, 0.1, 0.0, 0.02, 0)};
    risk_optimise_result r;
    risk_optimise_move mv[2];
    tu_assert_status(run(acc, &sp, c, 2, &r, mv), RISK_OK);
    assert_certified(&r);
    tu_assert_rel(mv[0].balance_after, 10.0, 1e-12);
    tu_assert_rel(mv[1].balance_after, 10.0, 1e-12);
    tu_assert_rel(r.cost_horizon, 400.0, 1e-12);
    tu_assert_rel(r.dual_health_init, 0.02 / 0.6, 1e-12);
    /* an LTV buffer of 0.5 with BTC's initial weight 1: its slopes 1 x (1 - 0.5), 0.5 x (1 - 0.5),
     * 0 still fall, so the model stays concave and the LP exact; the buffer does not bind here
     * ((16,000 - 0) / 20,000 = 0.8 >= 0.5) */
    sp.flags = RISK_OPTIMISE_LTV_BUFFER;
    sp.ltv_buffer_min = 0.5;
    tu_assert_status(run(acc, &sp, c, 2, &r, mv), RISK_OK);
    assert_certified(&r);
    tu_assert_rel(r.cost_horizon, 400.0, 1e-12);
    tu_assert_rel(r.ltv_buffer, 16000.0 / 20000.0, 1e-12);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* The reverse question: the largest position a budget carries. With the first test's BTC (1.875 %
 * per unit of C_init, up to 1 BTC = 40,000 of C_init) and a position needing 8,000 IM and 4,000 MM
 * per unit of size, a budget of 300 a year buys 16,000 of C_init: size 2 (maint: 18,000 >= 1.2 x
 * 8,000). Each unit of budget adds 1 / (0.01875 x 8,000) = 1/150 of size (the budget's dual).
 * A budget of 10,000 hits the cap: 40,000 / 8,000 = 5. A negative budget: infeasible. */
static void test_optimise_max_size_for_a_budget(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    (void)tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset_w(e, "BTC", 50000.0, 8, 0.8, 0.9, 1.0, 1.0);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_optimise_spec sp = RISK_OPTIMISE_SPEC_INIT;
    sp.mode = RISK_OPTIMISE_MAX_SIZE;
    sp.health_maint_min = 1.2;
    sp.im_value = 8000.0;
    sp.mm_value = 4000.0;
    sp.budget_value = 300.0;
    risk_optimise_asset c = given(btc, 1.0, 0, 0, 0.1, 0.005, 0.02, 0);
    risk_optimise_result r;
    risk_optimise_move mv;
    tu_assert_status(run(acc, &sp, &c, 1, &r, &mv), RISK_OK);
    assert_certified(&r);
    tu_assert_rel(r.size, 2.0, 1e-12);
    tu_assert_rel(mv.balance_after, 0.4, 1e-12);
    tu_assert_rel(r.cost_horizon, 300.0, 1e-12);
    tu_assert_rel(r.dual_budget, 1.0 / 150.0, 1e-12);
    tu_assert_rel(r.health_init, 1.0, 1e-12);
    sp.budget_value = 10000.0;
    tu_assert_status(run(acc, &sp, &c, 1, &r, &mv), RISK_OK);
    assert_certified(&r);
    tu_assert_rel(r.size, 5.0, 1e-12);
    tu_assert_rel(r.cost_horizon, 750.0, 1e-12);
    sp.budget_value = -1.0;
    tu_assert_status(run(acc, &sp, &c, 1, &r, &mv), RISK_OK);
    assert_int_equal(r.outcome, RISK_OPTIMISE_INFEASIBLE);
    tu_assert_near(r.size, 0.0, 0.0);
    tu_assert_near(mv.delta, 0.0, 0.0);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Rates from the engine's rate model, with its own accrual rule: USDC on a flat 0.001 %/h (Binance
 * W9's rate), charged hourly. 1,000 of cash borrowed for one year (8,760 hour boundaries): the
 * cost over the horizon is 1,000 x ((1 + 1e-5)^8760 - 1) = 91.5957..., per year 1,000 x 8,760 x
 * 1e-5 = 87.6 (no compounding). */
static void test_optimise_engine_rate_model(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    uint32_t btc = tu_asset_w(e, "BTC", 50000.0, 8, 0.8, 0.9, 1.0, 1.0);
    risk_rate_model m = RISK_RATE_MODEL_INIT;
    m.kind = RISK_RATE_MODEL_FLAT;
    m.flat_borrow_hourly = 0.00001;
    tu_assert_status(risk_engine_set_rate_model(e, usdc, &m), RISK_OK);
    tu_assert_status(risk_engine_accrue(e, 1704067200), RISK_OK); /* 2024-01-01 00:00 UTC */
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, btc, 1.0);
    risk_optimise_spec sp = RISK_OPTIMISE_SPEC_INIT;
    sp.cash_value = 1000.0;
    risk_optimise_asset c = RISK_OPTIMISE_ASSET_INIT;
    c.asset = usdc;
    c.flags = RISK_OPTIMISE_CASH;
    c.withdraw_max = 1e6;
    c.borrow_max = 1e6;
    risk_optimise_result r;
    risk_optimise_move mv;
    tu_assert_status(run(acc, &sp, &c, 1, &r, &mv), RISK_OK);
    assert_certified(&r);
    tu_assert_rel(mv.balance_after, -1000.0, 1e-12);
    tu_assert_rel(r.cost_horizon, 1000.0 * expm1(8760.0 * log1p(1e-5)), 1e-12);
    tu_assert_rel(r.cost_annual, 87.6, 1e-12);
    tu_assert_rel(mv.rate_annual, 0.0876, 1e-12);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* An account with a cross position: its IM and MM are in R_init and R_maint, its PnL in C. The
 * plan's health equals the engine's own evaluation of the account once the moves are applied. */
static void test_optimise_account_with_positions(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, RISK_ENGINE_NO_QUANTIZE);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset_w(e, "BTC", 50000.0, 8, 0.8, 0.9, 1.1, 1.05);
    uint32_t perp = tu_binance_btcusdt_perp(e, "BTCUSDT", btc, usdt, 50000.0);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdt, 2000.0);
    tu_leverage(acc, perp, 20.0);
    (void)tu_open_simple(acc, perp, 1.0, 48000.0); /* IM 2,500, MM 200; PnL +2,000 */
    risk_optimise_spec sp = RISK_OPTIMISE_SPEC_INIT;
    sp.health_init_min = 1.5;
    sp.health_maint_min = 3.0;
    sp.im_value = 1000.0;
    sp.mm_value = 500.0;
    risk_optimise_asset c[2] = {given(btc, 0.5, 0, 0, 0.05, 0.01, 0.03, 0),
                                given(usdt, 10000.0, 2000.0, 5000.0, 0.08, 0.04, 0.05, 0)};
    risk_optimise_result r;
    risk_optimise_move mv[2];
    tu_assert_status(run(acc, &sp, c, 2, &r, mv), RISK_OK);
    assert_certified(&r);
    risk_account_summary before = tu_eval(acc);
    for (int k = 0; k < 2; k++)
        tu_assert_status(risk_basket_add_balance(risk_account_basket(acc), c[k].asset, mv[k].delta), RISK_OK);
    risk_account_summary after = tu_eval(acc);
    tu_assert_rel(r.health_init, after.collateral_init / (after.initial_margin + sp.im_value), 1e-12);
    tu_assert_rel(r.health_maint, after.collateral_maint / (after.maintenance_margin + sp.mm_value), 1e-12);
    assert_true(r.health_init >= 1.5 * (1.0 - 1e-12));
    assert_true(r.health_maint >= 3.0 * (1.0 - 1e-12));
    assert_true(before.collateral_init / (before.initial_margin + sp.im_value) < 1.5); /* it had to move */
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Every bad input: a status, a message, nothing changed. */
static void test_optimise_bad_input_changes_nothing(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset_w(e, "BTC", 50000.0, 8, 0.8, 0.9, 1.0, 1.0);
    risk_value_tier tiers[2] = {{10.0, 1.0}, {20.0, 0.5}};
    risk_asset_spec s = RISK_ASSET_SPEC_INIT;
    s.symbol = "SOL";
    s.price = 100.0;
    s.decimals = 6;
    s.weight_init = 0.5;
    s.weight_maint = 0.6;
    s.value_tiers = tiers;
    s.n_value_tiers = 2;
    uint32_t sol = 0;
    tu_assert_status(risk_engine_add_asset(e, &s, &sol), RISK_OK);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, btc, 1.0);
    tu_account_snap snap;
    tu_account_snap_take(acc, 3, 0, &snap);
    risk_optimise_spec good = RISK_OPTIMISE_SPEC_INIT;
    good.im_value = 1000.0;
    risk_optimise_asset cg = given(usdt, 1000.0, 1000.0, 1000.0, 0.05, 0.01, 0.0, RISK_OPTIMISE_CASH);
    risk_optimise_result r = RISK_OPTIMISE_RESULT_INIT;
    risk_optimise_move mv = RISK_OPTIMISE_MOVE_INIT;

    tu_assert_status(risk_account_optimise(NULL, &good, &cg, 1, &r, &mv), RISK_ENULL);
    tu_assert_status(risk_account_optimise(acc, NULL, &cg, 1, &r, &mv), RISK_ENULL);
    tu_assert_errmsg(risk_account_errmsg(acc));
    tu_assert_status(risk_account_optimise(acc, &good, NULL, 1, &r, &mv), RISK_ENULL);
    tu_assert_status(risk_account_optimise(acc, &good, &cg, 1, NULL, &mv), RISK_ENULL);

    struct {
        int field;
        double value;
        int want;
    } spec_cases[] = {
        {0, NAN, RISK_EINVAL},       {0, 0.0, RISK_EINVAL},      {0, INFINITY, RISK_EINVAL}, {1, 0.99, RISK_EINVAL},
        {1, NAN, RISK_EINVAL},       {2, INFINITY, RISK_EINVAL}, {3, -1.0, RISK_EINVAL},     {3, NAN, RISK_EINVAL},
        {4, -1.0, RISK_EINVAL},      {5, INFINITY, RISK_EINVAL}, {6, 2.0, RISK_EINVAL},      {6, NAN, RISK_EINVAL},
        {3, 1e-300, RISK_EINVAL},    {5, 5e-324, RISK_EINVAL},
    };
    for (size_t i = 0; i < sizeof spec_cases / sizeof spec_cases[0]; i++) {
        risk_optimise_spec sp = good;
        double *f[] = {&sp.horizon_s, &sp.health_init_min, &sp.health_maint_min, &sp.im_value,
                       &sp.mm_value,  &sp.cash_value,      &sp.ltv_buffer_min};
        *f[spec_cases[i].field] = spec_cases[i].value;
        if (spec_cases[i].field == 6)
            sp.flags = RISK_OPTIMISE_LTV_BUFFER;
        tu_assert_status(risk_account_optimise(acc, &sp, &cg, 1, &r, &mv), spec_cases[i].want);
        tu_assert_errmsg(risk_account_errmsg(acc));
    }
    risk_optimise_spec sp = good;
    sp.mode = 7;
    tu_assert_status(risk_account_optimise(acc, &sp, &cg, 1, &r, &mv), RISK_EINVAL);
    sp = good;
    sp.version = 99;
    tu_assert_status(risk_account_optimise(acc, &sp, &cg, 1, &r, &mv), RISK_EVERSION);
    sp = good;
    sp.mode = RISK_OPTIMISE_MAX_SIZE;
    sp.im_value = 0.0;
    sp.budget_value = 100.0;
    tu_assert_status(risk_account_optimise(acc, &sp, &cg, 1, &r, &mv), RISK_EINVAL); /* no target */
    sp.im_value = 1.0;
    sp.budget_value = NAN;
    tu_assert_status(risk_account_optimise(acc, &sp, &cg, 1, &r, &mv), RISK_EINVAL);
    sp = good;
    sp.cash_value = 100.0;
    risk_optimise_asset nocash = cg;
    nocash.flags = RISK_OPTIMISE_RATES_GIVEN;
    tu_assert_status(risk_account_optimise(acc, &sp, &nocash, 1, &r, &mv), RISK_EINVAL); /* cash, no CASH */

    struct {
        int field;
        double value;
        int want;
    } asset_cases[] = {
        {0, NAN, RISK_EINVAL},   {0, -1.0, RISK_EINVAL},    {0, INFINITY, RISK_EINVAL}, {1, -0.5, RISK_EINVAL},
        {2, NAN, RISK_EINVAL},   {2, 1e300, RISK_EINVAL},   {3, 11.0, RISK_EINVAL},     {4, -0.01, RISK_EINVAL},
        {4, NAN, RISK_EINVAL},   {5, 0.06, RISK_EINVAL}, /* supply above borrow */
    };
    for (size_t i = 0; i < sizeof asset_cases / sizeof asset_cases[0]; i++) {
        risk_optimise_asset c = cg;
        double *f[] = {&c.post_max, &c.withdraw_max, &c.borrow_max, &c.outside_annual, &c.borrow_annual,
                       &c.supply_annual};
        *f[asset_cases[i].field] = asset_cases[i].value;
        tu_assert_status(risk_account_optimise(acc, &good, &c, 1, &r, &mv), asset_cases[i].want);
        tu_assert_errmsg(risk_account_errmsg(acc));
    }
    risk_optimise_asset c = cg;
    c.asset = 99;
    tu_assert_status(risk_account_optimise(acc, &good, &c, 1, &r, &mv), RISK_ENOTFOUND);
    c = cg;
    c.version = 0;
    tu_assert_status(risk_account_optimise(acc, &good, &c, 1, &r, &mv), RISK_EVERSION);
    c = cg;
    c.flags |= 0x80u;
    tu_assert_status(risk_account_optimise(acc, &good, &c, 1, &r, &mv), RISK_EINVAL);
    risk_optimise_asset two[2] = {cg, cg};
    risk_optimise_move mv2[2] = {RISK_OPTIMISE_MOVE_INIT, RISK_OPTIMISE_MOVE_INIT};
    tu_assert_status(risk_account_optimise(acc, &good, two, 2, &r, mv2), RISK_EINVAL); /* listed twice */
    /* an LTV buffer above SOL's initial weight (0.5) with tiers: not concave, refused */
    sp = good;
    sp.flags = RISK_OPTIMISE_LTV_BUFFER;
    sp.ltv_buffer_min = 0.6;
    risk_optimise_asset sc = given(sol, 30.0, 0, 0, 0.05, 0.01, 0.0, 0);
    tu_assert_status(risk_account_optimise(acc, &sp, &sc, 1, &r, &mv), RISK_EINVAL);
    tu_assert_errmsg(risk_account_errmsg(acc));
    /* rate model supply above borrow (Comet's curves may cross): refused likewise */
    risk_rate_model m = RISK_RATE_MODEL_INIT;
    m.kind = RISK_RATE_MODEL_FLAT;
    m.flat_borrow_hourly = 1e-6;
    m.flat_supply_hourly = 2e-6;
    tu_assert_status(risk_engine_set_rate_model(e, btc, &m), RISK_OK);
    risk_optimise_asset bc = RISK_OPTIMISE_ASSET_INIT;
    bc.asset = btc;
    bc.withdraw_max = 2.0;
    bc.borrow_max = 1.0;
    tu_assert_status(risk_account_optimise(acc, &good, &bc, 1, &r, &mv), RISK_EINVAL);
    /* a bad move version */
    risk_optimise_move badmv = RISK_OPTIMISE_MOVE_INIT;
    badmv.version = 3;
    tu_assert_status(risk_account_optimise(acc, &good, &cg, 1, &r, &badmv), RISK_EVERSION);
    risk_optimise_result badr = RISK_OPTIMISE_RESULT_INIT;
    badr.version = 3;
    tu_assert_status(risk_account_optimise(acc, &good, &cg, 1, &badr, &mv), RISK_EVERSION);
    tu_account_snap_check(acc, &snap);
    /* and a good call still works: the IM from USDT posted, 1,000 of it */
    tu_assert_status(risk_account_optimise(acc, &good, &cg, 1, &r, &mv), RISK_OK);
    assert_int_equal(r.outcome, RISK_OPTIMISE_OPTIMAL);
    tu_account_snap_check(acc, &snap);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Out of memory: the scratch block cannot be had: RISK_ENOMEM, nothing changed, no leak. */
static void test_optimise_out_of_memory(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdt, 100.0);
    risk_optimise_spec sp = RISK_OPTIMISE_SPEC_INIT;
    risk_optimise_asset c = given(usdt, 0, 100.0, 0, 0.05, 0.01, 0.0, 0);
    risk_optimise_result r = RISK_OPTIMISE_RESULT_INIT;
    risk_optimise_move mv = RISK_OPTIMISE_MOVE_INIT;
    tu_alloc_arm(&a, 0);
    tu_assert_status(risk_account_optimise(acc, &sp, &c, 1, &r, &mv), RISK_ENOMEM);
    tu_alloc_disarm(&a);
    tu_assert_errmsg(risk_account_errmsg(acc));
    tu_assert_status(risk_account_optimise(acc, &sp, &c, 1, &r, &mv), RISK_OK);
    /* withdrawing the deposit earns 0 % outside and loses 1 % inside: keep it */
    tu_assert_rel(mv.balance_after, 100.0, 0.0);
    tu_assert_rel(r.cost_horizon, -1.0, 1e-12);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Random instances: every answer carries its certificate, and no other point of a grid of
 * feasible plans is cheaper (a brute-force check of optimality on two candidates). */
/* A USDC-like pool on a Comet curve: borrow 1 % + 5 % x U up to the 80 % kink (steeper above), 1,000,000
 * supplied, `borrowed` owed by others. */
static uint32_t comet_pool(risk_engine *e, const char *sym, double borrowed)
{
    uint32_t id = tu_asset(e, sym, 1.0, 6);
    risk_rate_model m = RISK_RATE_MODEL_INIT;
    m.kind = RISK_RATE_MODEL_COMET;
    m.comet_supply_kink = 0.8;
    m.comet_supply_slope_low = 0.01;
    m.comet_supply_slope_high = 0.5;
    m.comet_borrow_kink = 0.8;
    m.comet_borrow_base = 0.01;
    m.comet_borrow_slope_low = 0.05;
    m.comet_borrow_slope_high = 1.0;
    tu_assert_status(risk_engine_set_rate_model(e, id, &m), RISK_OK);
    risk_rate_pool p = RISK_RATE_POOL_INIT;
    p.supply = 1e6;
    p.borrow = borrowed;
    p.updated_unix_s = 1704067200;
    tu_assert_status(risk_engine_set_rate_pool(e, id, &p), RISK_OK);
    return id;
}

/* Utilisation feedback (docs/rates.md 10.9). A debt d from a pool with D owed by others costs
 * d x r(U), U = (D + d) / S, a year: on the curve 1 % + 5 % U with S = 1,000,000, d (0.01 + 0.05
 * (D + d) / S), whose marginal cost is 0.01 + 0.05 D / S + 1e-7 d.
 * (a) 30,000 of cash from pool A (D 100,000: 1.5 % now): U 13 %, 1.65 %: 495 a year (450 at
 *     today's rate); the debt's end is a chord end: exact.
 * (b) 200,000 of cash from A or B (D 300,000: 2.5 % now), each up to 200,000: today's rates take
 *     all from A (3,000 + 0 at 1.5 %: 3,000 quoted, in fact 200,000 x 3.5 % = 7,000 with feedback);
 *     with feedback the marginal costs 0.015 + 1e-7 dA and 0.025 + 1e-7 dB meet at dA = 150,000,
 *     dB = 50,000: 150,000 x 2.25 % + 50,000 x 2.75 % = 3,375 + 1,375 = 4,750, both chord ends
 *     (6,250 apart): exact, and cheaper than all from A under feedback (7,000). */
static void test_optimise_utilisation_feedback(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t pa = comet_pool(e, "USDA", 100000.0), pb = comet_pool(e, "USDB", 300000.0);
    uint32_t btc = tu_asset_w(e, "BTC", 50000.0, 8, 0.8, 0.9, 1.0, 1.0);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, btc, 20.0);
    risk_optimise_spec sp = RISK_OPTIMISE_SPEC_INIT;
    sp.horizon_s = YEAR_S;
    sp.cash_value = 30000.0;
    risk_optimise_asset c[2] = {RISK_OPTIMISE_ASSET_INIT, RISK_OPTIMISE_ASSET_INIT};
    c[0].asset = pa;
    c[0].flags = RISK_OPTIMISE_CASH | RISK_OPTIMISE_UTILISATION;
    c[0].withdraw_max = c[0].borrow_max = 30000.0;
    risk_optimise_result r;
    risk_optimise_move mv[2];
    tu_assert_status(run(acc, &sp, c, 1, &r, mv), RISK_OK);
    assert_certified(&r);
    tu_assert_rel(mv[0].balance_after, -30000.0, 1e-12);
    tu_assert_rel(r.cost_annual, 495.0, 1e-12);
    tu_assert_rel(r.cost_horizon, 495.0, 1e-12);
    tu_assert_rel(mv[0].rate_annual, 0.0165, 1e-12);
    c[0].flags = RISK_OPTIMISE_CASH; /* today's rate, compounded by Comet's per-second accrual */
    tu_assert_status(run(acc, &sp, c, 1, &r, mv), RISK_OK);
    tu_assert_rel(r.cost_annual, 450.0, 1e-12);
    /* (b) */
    sp.cash_value = 200000.0;
    for (int k = 0; k < 2; k++) {
        c[k] = (risk_optimise_asset)RISK_OPTIMISE_ASSET_INIT;
        c[k].asset = k ? pb : pa;
        c[k].flags = RISK_OPTIMISE_CASH | RISK_OPTIMISE_UTILISATION;
        c[k].withdraw_max = c[k].borrow_max = 200000.0;
    }
    tu_assert_status(run(acc, &sp, c, 2, &r, mv), RISK_OK);
    assert_certified(&r);
    tu_assert_rel(mv[0].balance_after, -150000.0, 1e-9);
    tu_assert_rel(mv[1].balance_after, -50000.0, 1e-9);
    tu_assert_rel(r.cost_annual, 4750.0, 1e-9);
    /* the common marginal cost, 0.015 + 1e-7 x 150,000 = 3 %: at a chord end the dual is in the
     * subgradient, between the two chords' slopes 0.015 + 1e-7 x (150,000 -+ 3,125) */
    assert_true(r.dual_cash >= 0.0296875 - 1e-12 && r.dual_cash <= 0.0303125 + 1e-12);
    /* without feedback: all from the cheaper pool */
    c[0].flags = c[1].flags = RISK_OPTIMISE_CASH;
    tu_assert_status(run(acc, &sp, c, 2, &r, mv), RISK_OK);
    tu_assert_rel(mv[0].balance_after, -200000.0, 1e-12);
    /* refused: given rates, or an asset without a pool */
    c[0].flags = RISK_OPTIMISE_CASH | RISK_OPTIMISE_UTILISATION | RISK_OPTIMISE_RATES_GIVEN;
    tu_assert_status(risk_account_optimise(acc, &sp, c, 2, &r, mv), RISK_EINVAL);
    c[0].flags = RISK_OPTIMISE_UTILISATION;
    c[0].asset = btc;
    tu_assert_status(risk_account_optimise(acc, &sp, c, 2, &r, mv), RISK_EINVAL);
    tu_assert_errmsg(risk_account_errmsg(acc));
    risk_account_free(acc);
    risk_engine_free(e);
    assert_int_equal(a.live_blocks, 0);
}

static void test_optimise_random_grid_never_beats_the_lp(void **state)
{
    (void)state;
    tu_rng g;
    tu_rng_seed(&g, 20261202u);
    int n_optimal = 0;
    for (int it = 0; it < 60; it++) {
        tu_alloc a;
        tu_alloc_init(&a);
        risk_engine *e = tu_engine(&a, RISK_ENGINE_NO_QUANTIZE);
        uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
        double wi = tu_rng_range(&g, 0.5, 0.9);
        uint32_t btc = tu_asset_w(e, "BTC", tu_rng_range(&g, 1000.0, 60000.0), 8, wi, wi + 0.05, 1.1, 1.05);
        risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(acc, btc, 1.0);
        tu_balance(acc, usdt, tu_rng_range(&g, -5000.0, 5000.0));
        risk_optimise_spec sp = RISK_OPTIMISE_SPEC_INIT;
        sp.health_init_min = tu_rng_range(&g, 1.0, 1.5);
        sp.health_maint_min = tu_rng_range(&g, 1.0, 1.5);
        sp.im_value = tu_rng_range(&g, 0.0, 20000.0);
        sp.mm_value = sp.im_value / 2.0;
        double rb = tu_rng_range(&g, 0.0, 0.2);
        risk_optimise_asset c[2] = {
            given(btc, 1.0, 1.0, 0.0, 0.1, tu_rng_range(&g, 0.0, 0.05), tu_rng_range(&g, 0.0, 0.08), 0),
            given(usdt, 20000.0, 20000.0, 20000.0, rb, rb * tu_rng_range(&g, 0.0, 1.0), 0.03, 0)};
        risk_optimise_result r;
        risk_optimise_move mv[2];
        tu_assert_status(run(acc, &sp, c, 2, &r, mv), RISK_OK);
        if (r.outcome == RISK_OPTIMISE_OPTIMAL) {
            n_optimal++;
            assert_certified(&r);
            /* grid over the two final balances; each feasible point costs at least the optimum */
            for (int i = 0; i <= 40; i++)
                for (int j = 0; j <= 40; j++) {
                    double b1 = 0.0 + 2.0 * i / 40.0;
                    double b2 = -20000.0 + (40000.0 + 5000.0) * j / 40.0;
                    double d1 = b1 - mv[0].balance_before, d2 = b2 - mv[1].balance_before;
                    if (d1 > c[0].post_max || -d1 > c[0].withdraw_max || d2 > c[1].post_max ||
                        -d2 > c[1].withdraw_max || b2 < -c[1].borrow_max)
                        continue;
                    tu_assert_status(risk_basket_set_balance(risk_account_basket(acc), btc, b1), RISK_OK);
                    tu_assert_status(risk_basket_set_balance(risk_account_basket(acc), usdt, b2), RISK_OK);
                    risk_account_summary s = tu_eval(acc);
                    tu_assert_status(risk_basket_set_balance(risk_account_basket(acc), btc, mv[0].balance_before),
                                     RISK_OK);
                    tu_assert_status(risk_basket_set_balance(risk_account_basket(acc), usdt, mv[1].balance_before),
                                     RISK_OK);
                    if (s.collateral_init < sp.health_init_min * (s.initial_margin + sp.im_value) ||
                        s.collateral_maint < sp.health_maint_min * (s.maintenance_margin + sp.mm_value))
                        continue;
                    double cost = 0.0;
                    double bb[2] = {b1, b2}, px[2] = {0, 1.0};
                    tu_assert_status(risk_engine_asset_price(e, btc, &px[0]), RISK_OK);
                    for (int k = 0; k < 2; k++) {
                        double rate = bb[k] < 0.0 ? c[k].borrow_annual : c[k].supply_annual;
                        cost += -bb[k] * rate * px[k] + (bb[k] - mv[k].balance_before) * c[k].outside_annual * px[k];
                    }
                    assert_true(cost >= r.cost_horizon - 1e-9 * (1.0 + fabs(cost)));
                }
        }
        risk_account_free(acc);
        risk_engine_free(e);
    }
    assert_true(n_optimal >= 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_optimise_cheapest_collateral_for_im),
        cmocka_unit_test(test_optimise_cash_from_the_cheapest_source),
        cmocka_unit_test(test_optimise_value_tiers),
        cmocka_unit_test(test_optimise_max_size_for_a_budget),
        cmocka_unit_test(test_optimise_engine_rate_model),
        cmocka_unit_test(test_optimise_account_with_positions),
        cmocka_unit_test(test_optimise_bad_input_changes_nothing),
        cmocka_unit_test(test_optimise_out_of_memory),
        cmocka_unit_test(test_optimise_random_grid_never_beats_the_lp),
        cmocka_unit_test(test_optimise_utilisation_feedback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
