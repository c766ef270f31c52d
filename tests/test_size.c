/* SPDX-License-Identifier: Apache-2.0 */
/* test_size.c: size-scaled collateral and liability weights (docs/formulas.md, "Size-scaled
 * weights"), pinned to Drift v2's and Mango v4's own tests (../shared/research/defi-anchors.md
 * D1, D2, M1 cases 10 and 11), and their effect on summaries, what-if and liquidation plans. */
#include "test_util.h"

#include <math.h>
#include <string.h>

static void set_scaling(risk_engine *e, uint32_t asset, double imf, double dep_start, double bor_start,
                        double deposits, double borrows)
{
    risk_size_scaling s = RISK_SIZE_SCALING_INIT;
    s.imf = imf;
    s.deposit_scale_start = dep_start;
    s.borrow_scale_start = bor_start;
    s.venue_deposits = deposits;
    s.venue_borrows = borrows;
    tu_assert_status(risk_engine_set_asset_size_scaling(e, asset, &s), RISK_OK);
}

static void weights(const risk_engine *e, uint32_t asset, double balance, double *wi, double *wm)
{
    tu_assert_status(risk_engine_asset_weights(e, asset, balance, wi, wm), RISK_OK);
}

/* Drift's weights are integers of 1e-4 (SPOT_WEIGHT_PRECISION), truncated. */
static long drift_int(double w)
{
    return (long)floor(w * 1e4 + 1e-9);
}

/* D1 (drift-labs/protocol-v2 programs/drift/src/math/margin/tests.rs spot_market_asset_weight):
 * a USDC-like token, 1,000 tokens, IAW 0.9, ILW 1.1. Asset weight min(0.9, 1.1 / (1 + imf
 * sqrt(S))), liability weight max(1.1, 0.88 + imf sqrt(S)). */
static void test_size_drift_d1(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t tok = tu_asset_w(e, "TOK", 1.0, 6, 0.9, 0.9, 1.1, 1.1);
    double wi, wm;

    weights(e, tok, 1000.0, &wi, &wm); /* imf 0: the static weights, exactly */
    assert_true(wi == 0.9 && wm == 0.9);
    weights(e, tok, -1000.0, &wi, &wm);
    assert_true(wi == 1.1 && wm == 1.1);

    set_scaling(e, tok, 1e-5, 0, 0, 0, 0); /* imf_factor 10 */
    weights(e, tok, 1000.0, &wi, &wm);
    assert_int_equal(drift_int(wi), 9000);
    weights(e, tok, -1000.0, &wi, &wm);
    assert_int_equal(drift_int(wi), 11000);
    weights(e, tok, 1e9, &wi, &wm); /* 1e9 tokens: 1.1 / (1 + 1e-5 x 31,622.8) */
    assert_int_equal(drift_int(wi), 8357);
    tu_assert_near(wi, 1.1 / (1.0 + 1e-5 * sqrt(1e9)), 1e-15);

    set_scaling(e, tok, 0.01, 0, 0, 0, 0); /* imf_factor 10,000 */
    weights(e, tok, 1000.0, &wi, &wm);
    assert_int_equal(drift_int(wi), 8357);
    assert_int_equal(drift_int(wm), 8357);
    weights(e, tok, -1000.0, &wi, &wm);
    assert_int_equal(drift_int(wi), 11962);
    tu_assert_near(wi, 0.88 + 0.01 * sqrt(1000.0), 1e-15);

    set_scaling(e, tok, 0.1, 0, 0, 0, 0); /* imf_factor 100,000 */
    weights(e, tok, 1000.0, &wi, &wm);
    assert_int_equal(drift_int(wi), 2642);
    weights(e, tok, -1000.0, &wi, &wm);
    assert_int_equal(drift_int(wi), 40422);

    /* the second market: IAW 0.15, MAW 0.75, 100,000 tokens at 0.5: both become 0.0337 */
    uint32_t two = tu_asset_w(e, "TWO", 0.5, 6, 0.15, 0.75, 1.5, 1.25);
    weights(e, two, 1e5, &wi, &wm);
    assert_int_equal(drift_int(wi), 1500);
    assert_int_equal(drift_int(wm), 7500);
    set_scaling(e, two, 0.1, 0, 0, 0, 0);
    weights(e, two, 1e5, &wi, &wm);
    assert_int_equal(drift_int(wi), 337);
    assert_int_equal(drift_int(wm), 337);
    /* the liability premium keeps init >= maint: max(1.5, 1.2 + 31.6) >= max(1.25, 1.0 + 31.6) */
    weights(e, two, -1e5, &wi, &wm);
    tu_assert_near(wi, 1.2 + 0.1 * sqrt(1e5), 1e-13);
    tu_assert_near(wm, 1.0 + 0.1 * sqrt(1e5), 1e-13);
    risk_engine_free(e);
}

/* D2 (spot_market_scale_initial_asset_weight): IAW 0.9, scale start $500,000, SOL $25. */
static void test_size_drift_d2_deposit_scaling(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t sol = tu_asset_w(e, "SOL", 25.0, 9, 0.9, 0.95, 1.1, 1.05);
    const double deposits[4] = {1.0, 20000.0, 40000.0, 60000.0}, want[4] = {0.9, 0.9, 0.45, 0.3};
    for (int k = 0; k < 4; k++) {
        set_scaling(e, sol, 0, 500000.0, 0, deposits[k], 0);
        double wi, wm;
        weights(e, sol, 10.0, &wi, &wm);
        tu_assert_near(wi, want[k], 1e-15);
        assert_true(wm == 0.95); /* maintenance is not scaled */
    }
    risk_engine_free(e);
}

/* Mango v4 health/cache.rs test_health1 cases 10 and 11 (defi-anchors M1): three tokens at 1, 5
 * and 10 with init weight offsets 0.2, 0.5, 0.5. Case 10: 100 of each deposited, venue deposits
 * 100 / 1,500 / 10,000 against starts 1,000 / 5,000 / 10,000 (values) gives init health
 * 80 + 250 x 5,000/7,500 + 500 x 10,000/100,000 = 296.667. Case 11: 100 of each borrowed, venue
 * borrows the same, gives -(120 + 750 x 1.5 + 1,500 x 10) = -16,245. */
static void test_size_mango_m1_cases_10_11(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t t1 = tu_asset_w(e, "T1", 1.0, 6, 0.8, 0.9, 1.2, 1.1);
    uint32_t t2 = tu_asset_w(e, "T2", 5.0, 6, 0.5, 0.7, 1.5, 1.3);
    uint32_t t3 = tu_asset_w(e, "T3", 10.0, 6, 0.5, 0.7, 1.5, 1.3);
    const uint32_t ids[3] = {t1, t2, t3};
    const double venue[3] = {100.0, 1500.0, 10000.0}, start[3] = {1000.0, 5000.0, 10000.0};
    for (int k = 0; k < 3; k++)
        set_scaling(e, ids[k], 0, start[k], start[k], venue[k], venue[k]);

    risk_basket *b = NULL;
    tu_assert_status(risk_basket_new(&b, e), RISK_OK);
    for (int k = 0; k < 3; k++)
        tu_assert_status(risk_basket_set_balance(b, ids[k], 100.0), RISK_OK);
    risk_basket_summary s = RISK_BASKET_SUMMARY_INIT;
    tu_assert_status(risk_basket_evaluate(b, &s), RISK_OK);
    /* summaries are quantized to 6 decimals, collateral down: 296.666666 */
    tu_assert_near(s.collateral_init - s.liabilities_init, 80.0 + 250.0 * 5000.0 / 7500.0 + 50.0, 1e-6);
    tu_assert_near(s.collateral_maint, 90.0 + 350.0 + 700.0, 1e-9); /* maintenance unscaled */

    for (int k = 0; k < 3; k++)
        tu_assert_status(risk_basket_set_balance(b, ids[k], -100.0), RISK_OK);
    tu_assert_status(risk_basket_evaluate(b, &s), RISK_OK);
    tu_assert_near(s.collateral_init - s.liabilities_init, -16245.0, 1e-9);
    tu_assert_near(s.liabilities_maint, 110.0 + 650.0 + 1300.0, 1e-9);
    risk_basket_free(b);
    risk_engine_free(e);
}

/* An account on size-scaled weights: the summary is the formula's, a what-if of a deposit sees
 * the discount deepen, and a liquidation plan on a debt whose weight grows with its size reaches
 * its target when applied. SOL 1,000 at 100 (IAW 0.8, MAW 0.9) against a USDC debt (MLW 1.1),
 * imf 0.001 on both. */
static void test_size_account_summary_and_plan(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdc = tu_asset_w(e, "USDC", 1.0, 6, 1.0, 1.0, 1.2, 1.1);
    uint32_t sol = tu_asset_w(e, "SOL", 100.0, 9, 0.8, 0.9, 1.2, 1.1);
    set_scaling(e, usdc, 0.001, 0, 0, 0, 0);
    set_scaling(e, sol, 0.001, 0, 0, 0, 0);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, sol, 1000.0);
    tu_balance(acc, usdc, -70000.0);
    risk_account_summary s = tu_eval(acc);
    double sol_w = fmin(0.9, 1.1 / (1.0 + 0.001 * sqrt(1000.0)));  /* 0.9: the discount 1.066 does not bind */
    double usdc_w = fmax(1.1, 0.8 * 1.1 + 0.001 * sqrt(70000.0)); /* 0.88 + 0.2646 = 1.1446 */
    tu_assert_near(s.collateral_maint, 100000.0 * sol_w, 1e-6);
    tu_assert_near(s.maintenance_margin, 70000.0 * usdc_w, 1e-6);
    assert_true(usdc_w > 1.1); /* the premium binds */
    tu_assert_near(s.health_factor, 100000.0 * 0.9 / (70000.0 * usdc_w), 1e-6);

    /* the price falls to 85: HF = 76,500 / 80,122 < 1: liquidatable; the plan sells SOL for USDC
     * (a seize) and the account ends at or above the target */
    tu_assert_status(risk_engine_set_asset_price(e, sol, 85.0), RISK_OK);
    s = tu_eval(acc);
    assert_int_equal(s.state, RISK_STATE_LIQUIDATABLE);
    risk_liquidation_plan plan = RISK_LIQUIDATION_PLAN_INIT;
    risk_liquidation_action acts[16];
    size_t n = 0;
    tu_assert_status(risk_account_liquidation_plan(acc, &plan, acts, 16, &n), RISK_OK);
    assert_true(n > 0);
    tu_assert_status(risk_account_apply_plan(acc, &plan, acts, n), RISK_OK);
    risk_account_summary after = tu_eval(acc);
    assert_true(after.state != RISK_STATE_LIQUIDATABLE && after.state != RISK_STATE_BANKRUPT);
    tu_assert_near(after.health_factor, plan.health_after, 1e-9);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Bad input changes nothing; NULL or all-zero turns scaling off and the weights are the static
 * ones bit for bit. */
static void test_size_bad_input_and_off(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t tok = tu_asset_w(e, "TOK", 2.0, 6, 0.9, 0.95, 1.1, 1.05);
    set_scaling(e, tok, 0.01, 100.0, 200.0, 1000.0, 3000.0);
    risk_size_scaling s = RISK_SIZE_SCALING_INIT, got = RISK_SIZE_SCALING_INIT;
    const double bad[] = {NAN, INFINITY, -1e-9, 1.5};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        s.imf = bad[k];
        tu_assert_status(risk_engine_set_asset_size_scaling(e, tok, &s), RISK_EINVAL);
        assert_true(strlen(risk_engine_errmsg(e)) > 0);
    }
    s.imf = 0.0;
    s.venue_deposits = -1.0;
    tu_assert_status(risk_engine_set_asset_size_scaling(e, tok, &s), RISK_EINVAL);
    s.venue_deposits = 0.0;
    s.reserved = 1;
    tu_assert_status(risk_engine_set_asset_size_scaling(e, tok, &s), RISK_EINVAL);
    s.reserved = 0;
    s.version = 99;
    tu_assert_status(risk_engine_set_asset_size_scaling(e, tok, &s), RISK_EVERSION);
    s.version = RISK_SIZE_SCALING_VERSION;
    tu_assert_status(risk_engine_set_asset_size_scaling(e, 77, &s), RISK_ENOTFOUND);
    tu_assert_status(risk_engine_set_asset_size_scaling(NULL, tok, &s), RISK_ENULL);
    tu_assert_status(risk_engine_asset_size_scaling(e, tok, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_asset_size_scaling(e, tok, &got), RISK_OK);
    assert_true(got.imf == 0.01 && got.deposit_scale_start == 100.0 && got.borrow_scale_start == 200.0 &&
                got.venue_deposits == 1000.0 && got.venue_borrows == 3000.0);

    double wi, wm;
    tu_assert_status(risk_engine_asset_weights(e, tok, 0.0, &wi, &wm), RISK_EINVAL);
    tu_assert_status(risk_engine_asset_weights(e, tok, NAN, &wi, &wm), RISK_EINVAL);
    tu_assert_status(risk_engine_asset_weights(e, tok, 1e300, &wi, &wm), RISK_EINVAL);
    weights(e, tok, 10.0, &wi, &wm); /* deposits 2,000 > 100: init x 0.05; discount 1.1/1.0316 */
    tu_assert_near(wi, fmin(0.9 * 100.0 / 2000.0, 1.1 / (1.0 + 0.01 * sqrt(10.0))), 1e-15);
    tu_assert_near(wm, fmin(0.95, 1.1 / (1.0 + 0.01 * sqrt(10.0))), 1e-15);
    weights(e, tok, -10.0, &wi, &wm); /* borrows 6,000 > 200: init x 30 */
    tu_assert_near(wi, 1.1 * 30.0, 1e-13);
    tu_assert_near(wm, 1.05, 1e-15);

    tu_assert_status(risk_engine_set_asset_size_scaling(e, tok, NULL), RISK_OK);
    weights(e, tok, 10.0, &wi, &wm);
    assert_true(wi == 0.9 && wm == 0.95);
    weights(e, tok, -10.0, &wi, &wm);
    assert_true(wi == 1.1 && wm == 1.05);
    risk_engine_free(e);
}

/* ================================================================== perpetuals' size premium */

static void set_premium(risk_engine *e, uint32_t inst, double imf, double base_share)
{
    risk_size_premium p = RISK_SIZE_PREMIUM_INIT;
    p.imf = imf;
    p.base_share = base_share;
    tu_assert_status(risk_engine_set_instrument_size_premium(e, inst, &p), RISK_OK);
}

/* FTX W26 (cex-anchors): MNGO's IMF factor 0.00025 on 500,000,000 MNGO is 0.00025 x sqrt(5e8) =
 * 5.59, capped at fully funded: IM = the notional. At 1,000,000 MNGO it is 0.25, above the
 * schedule's 5 % (20x) and 3 %. */
static void test_size_premium_ftx_w26(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usd = tu_asset(e, "USD", 1.0, 6);
    uint32_t mngo = tu_asset(e, "MNGO", 0.05, 6);
    risk_margin_tier t = tu_tier(1e15, 0.03, 20.0);
    uint32_t perp = tu_linear(e, "MNGO-PERP", mngo, usd, 1.0, 1.0, 0.00001, 0.05, &t, 1);
    set_premium(e, perp, 0.00025, 0.0);
    tu_assert_near(0.00025 * sqrt(5e8), 5.59, 1e-3);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usd, 1e8);
    (void)tu_open_simple(acc, perp, 5e8, 0.05);
    risk_position_result r = tu_result_of(acc, perp, RISK_SIDE_LONG);
    tu_assert_near(r.initial_margin, 5e8 * 0.05, 1e-6);     /* fully funded */
    tu_assert_near(r.maintenance_margin, 5e8 * 0.05, 1e-6);
    risk_account_free(acc);

    acc = tu_account(e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usd, 1e6);
    (void)tu_open_simple(acc, perp, 1e6, 0.05);
    r = tu_result_of(acc, perp, RISK_SIDE_LONG);
    tu_assert_near(r.initial_margin, 1e6 * 0.05 * 0.25, 1e-6);
    tu_assert_near(r.maintenance_margin, 1e6 * 0.05 * 0.25, 1e-6);
    risk_size_premium got = RISK_SIZE_PREMIUM_INIT;
    tu_assert_status(risk_engine_instrument_size_premium(e, perp, &got), RISK_OK);
    assert_true(got.imf == 0.00025 && got.base_share == 0.0);
    risk_account_free(acc);
    risk_engine_free(e);
}

typedef struct drift_perp {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdc, btc, perp;
} drift_perp;

/* BTC-PERP as Drift's D4: IMR 10 % (10x), MMR 5 %, imf 0.001 (base share 0.8), lot 1e-9. */
static void drift_perp_init(drift_perp *d, double mark)
{
    tu_alloc_init(&d->a);
    d->e = tu_engine(&d->a, 0);
    d->usdc = tu_asset(d->e, "USDC", 1.0, 6);
    d->btc = tu_asset(d->e, "BTC", mark, 8);
    risk_margin_tier t = tu_tier(1e15, 0.05, 10.0);
    d->perp = tu_linear(d->e, "BTC-PERP", d->btc, d->usdc, 1.0, 1e-9, 0.000001, mark, &t, 1);
    set_premium(d->e, d->perp, 0.001, 0.8);
}

/* Drift D4 (calculate_user_equity_value_tests): a short of 6.147540983 BTC from 25,000 needs an
 * initial margin of $13,555.327867 at 22,050 and $12,940.573769 at 21,050: the premium 0.8 x
 * 10 % + 0.001 sqrt(6.1475) = 8.25 % does not bind. Drift truncates to $1e-6; a requirement
 * here is rounded up, so the last digit may differ by one quantum. */
static void test_size_premium_drift_d4(void **state)
{
    (void)state;
    drift_perp d;
    drift_perp_init(&d, 22050.0);
    risk_account *acc = tu_account(d.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, d.usdc, 20000.0);
    (void)tu_open_simple(acc, d.perp, -6.147540983, 25000.0);
    tu_assert_near(tu_eval(acc).initial_margin, 13555.327867, 1.01e-6);
    tu_assert_status(risk_engine_set_mark(d.e, d.perp, 21050.0), RISK_OK);
    tu_assert_near(tu_eval(acc).initial_margin, 12940.573769, 1.01e-6);
    risk_account_free(acc);
    risk_engine_free(d.e);
}

/* Where the premium binds: 10,000 BTC long from 25,000 with 50,000,000 USDC. MMR 0.8 x 5 % +
 * 0.001 x 100 = 14 %, IM rate 0.8 x 10 % + 0.1 = 18 %. The liquidation price solves
 * 5e7 + 1e4 (P - 25,000) = 1e4 P x 0.14: P = 2e8 / 8,600 = 23,255.81...; the max order,
 * what-if and a liquidation plan agree with the evaluation. */
static void test_size_premium_binds(void **state)
{
    (void)state;
    drift_perp d;
    drift_perp_init(&d, 25000.0);
    risk_account *acc = tu_account(d.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, d.usdc, 5e7);
    (void)tu_open_simple(acc, d.perp, 1e4, 25000.0);
    risk_position_result r = tu_result_of(acc, d.perp, RISK_SIDE_LONG);
    tu_assert_near(r.maintenance_margin, 2.5e8 * 0.14, 1e-4);
    tu_assert_near(r.initial_margin, 2.5e8 * 0.18, 1e-4);
    tu_assert_near(r.liquidation_price_raw, 2e8 / 8600.0, 1e-8 * 23255.0);

    /* the largest buy keeps available >= 0; one lot more does not */
    double q = 0.0;
    tu_assert_status(risk_account_max_order_qty(acc, d.perp, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0, &q), RISK_OK);
    assert_true(q > 0.0 && isfinite(q));
    risk_order o = RISK_ORDER_INIT;
    o.instrument = d.perp;
    o.qty = q;
    risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
    tu_assert_status(risk_account_whatif(acc, &o, &s), RISK_OK);
    assert_true(s.available >= 0.0);
    o.qty = (nearbyint(q / 1e-9) + 1.0) * 1e-9;
    tu_assert_status(risk_account_whatif(acc, &o, &s), RISK_OK);
    assert_true(s.available < 0.0);

    /* one tick under the liquidation price the account is liquidatable; a plan reaches its
     * target when applied */
    tu_assert_status(risk_engine_set_mark(d.e, d.perp, r.liquidation_price - 1.0), RISK_OK);
    assert_int_equal(tu_eval(acc).state, RISK_STATE_LIQUIDATABLE);
    tu_assert_status(risk_engine_set_mark(d.e, d.perp, r.liquidation_price + 1.0), RISK_OK);
    assert_true(tu_eval(acc).state != RISK_STATE_LIQUIDATABLE);
    tu_assert_status(risk_engine_set_mark(d.e, d.perp, 23000.0), RISK_OK);
    risk_liquidation_plan plan = RISK_LIQUIDATION_PLAN_INIT;
    risk_liquidation_action acts[16];
    size_t n = 0;
    tu_assert_status(risk_account_liquidation_plan(acc, &plan, acts, 16, &n), RISK_OK);
    assert_int_equal(plan.outcome, RISK_PLAN_PARTIAL);
    tu_assert_status(risk_account_apply_plan(acc, &plan, acts, n), RISK_OK);
    s = tu_eval(acc);
    assert_true(s.state != RISK_STATE_LIQUIDATABLE);
    tu_assert_near(s.health_factor, plan.health_after, 1e-12);
    risk_account_free(acc);
    risk_engine_free(d.e);
}

/* A premium that never binds changes nothing, bit for bit (the general path against the fast
 * path), and bad input changes nothing. */
static void test_size_premium_idle_and_bad_input(void **state)
{
    (void)state;
    drift_perp d;
    drift_perp_init(&d, 25000.0);
    risk_account *acc = tu_account(d.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, d.usdc, 1e5);
    (void)tu_open_simple(acc, d.perp, 3.0, 24000.0);
    set_premium(d.e, d.perp, 1e-12, 0.8);
    risk_account_summary idle = tu_eval(acc);
    tu_assert_status(risk_engine_set_instrument_size_premium(d.e, d.perp, NULL), RISK_OK);
    risk_account_summary off = tu_eval(acc);
    assert_memory_equal(&idle, &off, sizeof idle);

    risk_size_premium p = RISK_SIZE_PREMIUM_INIT;
    const double bad[] = {NAN, -1.0, 1.5, INFINITY};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        p.imf = bad[k];
        tu_assert_status(risk_engine_set_instrument_size_premium(d.e, d.perp, &p), RISK_EINVAL);
        p.imf = 0.001;
        p.base_share = bad[k];
        tu_assert_status(risk_engine_set_instrument_size_premium(d.e, d.perp, &p), RISK_EINVAL);
        p.base_share = 0.8;
    }
    p.version = 7;
    tu_assert_status(risk_engine_set_instrument_size_premium(d.e, d.perp, &p), RISK_EVERSION);
    p.version = RISK_SIZE_PREMIUM_VERSION;
    tu_assert_status(risk_engine_set_instrument_size_premium(d.e, 99, &p), RISK_ENOTFOUND);
    risk_account_summary after = tu_eval(acc);
    assert_memory_equal(&after, &off, sizeof after);
    risk_account_free(acc);
    risk_engine_free(d.e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_drift_d1),
        cmocka_unit_test(test_size_drift_d2_deposit_scaling),
        cmocka_unit_test(test_size_mango_m1_cases_10_11),
        cmocka_unit_test(test_size_account_summary_and_plan),
        cmocka_unit_test(test_size_bad_input_and_off),
        cmocka_unit_test(test_size_premium_ftx_w26),
        cmocka_unit_test(test_size_premium_drift_d4),
        cmocka_unit_test(test_size_premium_binds),
        cmocka_unit_test(test_size_premium_idle_and_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
