/* SPDX-License-Identifier: Apache-2.0 */
/* test_plan.c: liquidation plans, applying them, the insurance fund and ADL ranking.
 * Published vectors (Drift, dYdX, Aave, Bybit, Binance), invariants on random books, bad input
 * and out-of-memory walks. Sources are in docs/liquidation.md and ../shared/research. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_ACTIONS 256

typedef struct plan_out {
    risk_liquidation_plan plan;
    risk_liquidation_action acts[MAX_ACTIONS];
} plan_out;

static void plan_of(const risk_account *acc, plan_out *p)
{
    risk_liquidation_plan init = RISK_LIQUIDATION_PLAN_INIT;
    p->plan = init;
    size_t n = 0;
    int rc = risk_account_liquidation_plan(acc, &p->plan, p->acts, MAX_ACTIONS, &n);
    if (rc != RISK_OK)
        print_error("plan: %s\n", risk_account_errmsg(acc));
    tu_assert_status(rc, RISK_OK);
    assert_int_equal(n, p->plan.n_actions);
}

static void apply(risk_account *acc, const plan_out *p)
{
    int rc = risk_account_apply_plan(acc, &p->plan, p->acts, p->plan.n_actions);
    if (rc != RISK_OK)
        print_error("apply: %s\n", risk_account_errmsg(acc));
    tu_assert_status(rc, RISK_OK);
}

static void set_policy(risk_engine *e, const risk_liquidation_policy *pol)
{
    tu_assert_status(risk_engine_set_liquidation_policy(e, pol), RISK_OK);
}

static double fund_balance(const risk_engine *e, uint32_t asset)
{
    risk_insurance_fund f = RISK_INSURANCE_FUND_INIT;
    tu_assert_status(risk_engine_insurance_fund(e, asset, &f), RISK_OK);
    return f.balance;
}

static risk_margin_tier one_tier(double mmr, double max_leverage)
{
    return tu_tier(1e15, mmr, max_leverage);
}

/* ================================================================== Drift */

typedef struct {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdc, sol, perp;
} drift_env;

static void drift_init(drift_env *d, double mmr, double lot, uint32_t flags)
{
    tu_alloc_init(&d->a);
    d->e = tu_engine(&d->a, flags);
    d->usdc = tu_asset(d->e, "USDC", 1.0, 6);
    d->sol = tu_asset(d->e, "SOL", 100.0, 9);
    risk_margin_tier t = one_tier(mmr, 10.0);
    d->perp = tu_linear(d->e, "SOL-PERP", d->sol, d->usdc, 1.0, lot, 0.001, 100.0, &t, 1);
}

/*
 * Drift D7, successful_liquidation_to_cover_margin_shortage
 * (drift-labs/protocol-v2 programs/drift/src/controller/liquidation/tests.rs): long 2 SOL-PERP
 * at 100 with 5 USDC, MMR 5 %, buffer 2 %, liquidator fee 1 %, insurance fee 1 %. Shortage
 * 2 x 100 x 7 % - 5 = 9; 9 / (100 x (7 % - 1 %) - 1) = 1.8 SOL, taken by the liquidator at 99.
 * The user keeps 0.2 SOL and quote -23.60 (-200 + 178.2 - 1.8), equity 1.40 = requirement plus
 * buffer 0.2 x 100 x 7 %.
 */
static void test_plan_drift_perp_liquidation(void **state)
{
    (void)state;
    drift_env d;
    drift_init(&d, 0.05, 1e-9, 0);
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.buffer = 0.02;
    pol.fee = 0.01;
    pol.insurance_fee = 0.01;
    set_policy(d.e, &pol);
    risk_account *acc = tu_account(d.e, 7, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, d.usdc, 5.0);
    (void)tu_open_simple(acc, d.perp, 2.0, 100.0);
    assert_int_equal(tu_eval(acc).state, RISK_STATE_LIQUIDATABLE);

    plan_out p;
    plan_of(acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_PARTIAL);
    assert_int_equal(p.plan.n_actions, 1);
    const risk_liquidation_action *r = &p.acts[0];
    assert_int_equal(r->type, RISK_ACTION_REDUCE);
    assert_int_equal(r->side, RISK_ORDER_SELL);
    assert_int_equal(r->asset, d.usdc);
    tu_assert_near(r->qty, 1.8, 1e-12);
    tu_assert_near(r->price, 100.0, 0.0);
    tu_assert_near(r->fee, 1.8, 1e-12);
    tu_assert_near(r->insurance_fee, 1.8, 1e-12);
    tu_assert_near(r->price - r->fee / r->qty, 99.0, 1e-9); /* the liquidator's price */
    tu_assert_near(p.plan.health_before, 5.0 / 10.0, 1e-12);
    tu_assert_near(p.plan.health_after, 1.4 / 1.0, 1e-9);

    apply(acc, &p);
    risk_account_summary s = tu_eval(acc);
    tu_assert_bits(s.health_factor, p.plan.health_after);
    tu_assert_near(s.equity, 1.40, 1e-9);
    tu_assert_near(s.collateral_maint, 0.2 * 100.0 * 0.07, 1e-9); /* requirement plus buffer */
    risk_position *pos = NULL;
    tu_assert_status(risk_account_find_position(acc, d.perp, RISK_SIDE_BOTH, &pos), RISK_OK);
    tu_assert_near(risk_position_qty(pos), 0.2, 1e-12);
    double balance = 0.0;
    tu_assert_status(risk_basket_balance(risk_account_basket(acc), d.usdc, &balance), RISK_OK);
    /* Drift's quote amount leaves out the 5 USDC deposit */
    tu_assert_near(balance - 5.0 - 0.2 * risk_position_entry(pos), -23.60, 1e-9);
    tu_assert_near(fund_balance(d.e, d.usdc), 1.8, 1e-12);
    risk_account_free(acc);
    risk_engine_free(d.e);
}

/*
 * Drift D6 (programs/drift/src/math/liquidation/tests.rs): a $10 shortage at margin ratio 10 %
 * and price 100 needs 1.0 base without fees, 10/9 with a 1 % liquidator fee and 1.25 with a
 * further 1 % insurance fee: base = shortage / (P x (r - f) - P x g). Drift truncates to 1e-9;
 * the plan rounds up to the lot, so it is within one lot above. Unquantized, as the formula is;
 * quantized money moves the answer by up to one quantum's worth of base.
 */
static void test_plan_drift_sizing(void **state)
{
    (void)state;
    const double fees[3][2] = {{0.0, 0.0}, {0.01, 0.0}, {0.01, 0.01}};
    const double want[3] = {1.0, 10.0 / 9.0, 1.25};
    for (int c = 0; c < 3; c++) {
        drift_env d;
        drift_init(&d, 0.10, 1e-9, RISK_ENGINE_NO_QUANTIZE); /* the formula's own numbers */
        risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
        pol.buffer = 0.0;
        pol.fee = fees[c][0];
        pol.insurance_fee = fees[c][1];
        set_policy(d.e, &pol);
        risk_account *acc = tu_account(d.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(acc, d.usdc, 90.0);
        (void)tu_open_simple(acc, d.perp, 10.0, 100.0); /* MM 100, collateral 90: shortage 10 */
        plan_out p;
        plan_of(acc, &p);
        assert_int_equal(p.plan.n_actions, 1);
        assert_true(p.acts[0].qty >= want[c] - 1e-12);
        assert_true(p.acts[0].qty < want[c] + 1e-9 + 1e-12);
        risk_account_free(acc);
        risk_engine_free(d.e);
    }
}

/* ================================================================== dYdX */

typedef struct {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdc, btc, perp;
} dydx_env;

/* BTC at 50,000 (mark), IMF 20 %, MMF 10 %, 0.001 lots, tick 1. */
static void dydx_init(dydx_env *d, double mark)
{
    tu_alloc_init(&d->a);
    d->e = tu_engine(&d->a, 0);
    d->usdc = tu_asset(d->e, "USDC", 1.0, 6);
    d->btc = tu_asset(d->e, "BTC", mark, 8);
    risk_margin_tier t = one_tier(0.10, 5.0);
    d->perp = tu_linear(d->e, "BTC-USD", d->btc, d->usdc, 1.0, 0.001, 1.0, mark, &t, 1);
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.buffer = 0.0;
    pol.price_model = RISK_PRICE_PENALTY;
    pol.penalty = 0.1; /* SMMR */
    set_policy(d->e, &pol);
}

/*
 * dYdX TestGetFillablePrice (protocol/x/clob/keeper/liquidations_test.go): 0.1 BTC, PMMR = TMMR
 * = 500, BA 1, SMMR 0.1. TNC 499: long fills at 49,999, short at 50,001. TNC 0 (at
 * bankruptcy): long at 49,500, and the 50 lost against the mark is drawn from the fund.
 */
static void test_plan_dydx_fillable_price(void **state)
{
    (void)state;
    for (int side = 0; side < 2; side++) {
        dydx_env d;
        dydx_init(&d, 50000.0);
        risk_account *acc = tu_account(d.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        double qty = side == 0 ? 0.1 : -0.1;
        (void)tu_open_simple(acc, d.perp, qty, side == 0 ? 45010.0 : 54990.0); /* TNC 499 */
        tu_assert_near(tu_eval(acc).equity, 499.0, 1e-9);
        plan_out p;
        plan_of(acc, &p);
        assert_int_equal(p.plan.outcome, RISK_PLAN_PARTIAL);
        assert_int_equal(p.plan.n_actions, 1);
        tu_assert_near(p.acts[0].price, side == 0 ? 49999.0 : 50001.0, 0.0);
        tu_assert_near(p.acts[0].qty, 0.001, 1e-15); /* MM falls 5 per lot, 1 short */
        risk_account_free(acc);
        risk_engine_free(d.e);
    }
    dydx_env d;
    dydx_init(&d, 50000.0);
    tu_assert_status(risk_engine_insurance_fund_deposit(d.e, d.usdc, 1000.0), RISK_OK);
    risk_account *acc = tu_account(d.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    (void)tu_open_simple(acc, d.perp, 0.1, 50000.0); /* TNC 0 */
    plan_out p;
    plan_of(acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_CLOSE_OUT);
    assert_int_equal(p.plan.n_actions, 2);
    tu_assert_near(p.acts[0].price, 49500.0, 0.0);
    tu_assert_near(p.acts[0].qty, 0.1, 1e-15);
    assert_int_equal(p.acts[1].type, RISK_ACTION_INSURANCE);
    tu_assert_near(p.acts[1].amount, -50.0, 1e-9);
    tu_assert_near(p.plan.deficit, 50.0, 1e-9);
    apply(acc, &p);
    assert_int_equal(risk_account_position_count(acc), 0);
    tu_assert_near(tu_eval(acc).equity, 0.0, 1e-9);
    tu_assert_near(fund_balance(d.e, d.usdc), 950.0, 1e-9);
    risk_insurance_fund f = RISK_INSURANCE_FUND_INIT;
    tu_assert_status(risk_engine_insurance_fund(d.e, d.usdc, &f), RISK_OK);
    tu_assert_near(f.deposits, 1000.0, 0.0);
    tu_assert_near(f.draws, 50.0, 1e-9);
    risk_account_free(acc);
    risk_engine_free(d.e);
}

/*
 * dYdX TestGetLiquidationInsuranceFundDelta: 0.1 BTC long, bankruptcy quote 5,100, sold for
 * 5,610: with a 0.5 % cap the fund takes min(510, 0.5 % x 5,610) = 28.05. Here the mark is
 * 56,100 and the position cost 51,000 (equity 510 < MM 561); a 10,000 minimum notional closes
 * it in full.
 */
static void test_plan_dydx_insurance_take(void **state)
{
    (void)state;
    dydx_env d;
    dydx_init(&d, 56100.0);
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.buffer = 0.0;
    pol.insurance_fee = 0.005;
    pol.min_notional = 10000.0;
    set_policy(d.e, &pol);
    risk_account *acc = tu_account(d.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    (void)tu_open_simple(acc, d.perp, 0.1, 51000.0);
    plan_out p;
    plan_of(acc, &p);
    assert_int_equal(p.plan.n_actions, 1);
    tu_assert_near(p.acts[0].qty, 0.1, 1e-15);
    tu_assert_near(p.acts[0].insurance_fee, 28.05, 1e-9);
    apply(acc, &p);
    tu_assert_near(fund_balance(d.e, d.usdc), 28.05, 1e-9);
    tu_assert_near(tu_eval(acc).equity, 510.0 - 28.05, 1e-9);
    risk_account_free(acc);
    risk_engine_free(d.e);
}

/* ================================================================== Aave */

typedef struct {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdc, weth;
} aave_env;

/* Aave v3 example A2 (../shared/research/defi-anchors.md 3.4): WETH at 2,000 with LTV 80 % and
 * LT 82.5 %; USDC debt weighted 1; bonus 5 %, protocol share 10 % of the bonus, close factor
 * 50 % above HF 0.95. */
static void aave_init(aave_env *v, double buffer)
{
    tu_alloc_init(&v->a);
    v->e = tu_engine(&v->a, 0);
    v->usdc = tu_asset(v->e, "USDC", 1.0, 6);
    v->weth = tu_asset_w(v->e, "WETH", 2000.0, 8, 0.80, 0.825, 1.0, 1.0);
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.buffer = buffer;
    pol.close_factor = 0.5;
    pol.full_close_health = 0.95;
    pol.bonus = 0.05;
    pol.protocol_share = 0.10;
    set_policy(v->e, &pol);
}

static void test_plan_aave_close_factor(void **state)
{
    (void)state;
    /* HF 0.97 with 1,000 of debt: at most 500 repayable; seize 500 x 1.05 / 2,000 = 0.2625 WETH,
     * bonus 0.0125, protocol 0.00125, the liquidator 0.26125. A 10 % buffer needs more than 500,
     * so the close factor binds. */
    aave_env v;
    aave_init(&v, 0.10);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, v.weth, 0.58787879);
    tu_balance(acc, v.usdc, -1000.0);
    tu_assert_near(tu_eval(acc).health_factor, 0.97, 1e-8);
    plan_out p;
    plan_of(acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_LIMITED);
    assert_int_equal(p.plan.n_actions, 1);
    const risk_liquidation_action *s = &p.acts[0];
    assert_int_equal(s->type, RISK_ACTION_SEIZE);
    assert_int_equal(s->asset, v.weth);
    assert_int_equal(s->repay_asset, v.usdc);
    tu_assert_near(s->repay_amount, 500.0, 1e-9);
    tu_assert_near(s->amount, 0.2625, 1e-12);
    tu_assert_near(s->bonus, 0.0125, 1e-12);
    tu_assert_near(s->protocol_fee, 0.00125, 1e-12);
    tu_assert_near(s->amount - s->protocol_fee, 0.26125, 1e-12);
    apply(acc, &p);
    tu_assert_bits(tu_eval(acc).health_factor, p.plan.health_after);
    tu_assert_near(fund_balance(v.e, v.weth), 0.00125, 1e-12);
    risk_account_free(acc);
    risk_engine_free(v.e);

    /* HF 0.94 (<= 0.95): everything is repayable; the 10 % buffer needs
     * x >= (1,000 x 1.1 - 940) / (1.1 - 1.05 x 0.825) = 684.49..., more than half the debt. */
    aave_init(&v, 0.10);
    acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, v.weth, 0.56969697);
    tu_balance(acc, v.usdc, -1000.0);
    plan_of(acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_PARTIAL);
    double need = (1100.0 - 0.56969697 * 2000.0 * 0.825) / (1.1 - 1.05 * 0.825);
    /* the least repayment, give or take the quanta of the seized WETH (1e-8 x 2,000) */
    assert_true(p.acts[0].repay_amount >= need - 1e-6);
    assert_true(p.acts[0].repay_amount < need + 1e-4);
    assert_true(p.acts[0].repay_amount > 500.0);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* Aave: with only 0.2 WETH the seize takes it all and covers 0.2 x 2,000 / 1.05 = 380.95 of the
 * debt; the rest (619.05) is bad debt no fund covers. */
static void test_plan_aave_collateral_short(void **state)
{
    (void)state;
    aave_env v;
    aave_init(&v, 0.0);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, v.weth, 0.2);
    tu_balance(acc, v.usdc, -1000.0);
    plan_out p;
    plan_of(acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_CLOSE_OUT);
    assert_int_equal(p.plan.n_actions, 1);
    tu_assert_near(p.acts[0].amount, 0.2, 0.0);
    tu_assert_near(p.acts[0].repay_amount, 380.952380, 1e-9);
    tu_assert_near(p.plan.uncovered, 1000.0 - 380.952380, 1e-9);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* ================================================================== Bybit ADL (W14) */

typedef struct {
    tu_alloc a;
    risk_engine *e;
    uint32_t usd, btc, inst;
} inverse_env;

static void inverse_init(inverse_env *v, double mark)
{
    tu_alloc_init(&v->a);
    v->e = tu_engine(&v->a, 0);
    v->usd = tu_asset(v->e, "USD", 1.0, 2);
    v->btc = tu_asset(v->e, "BTC", mark, 8);
    risk_margin_tier t = one_tier(0.005, 100.0);
    v->inst = tu_inverse(v->e, "BTCUSD", v->btc, 1.0, 1.0, 0.5, mark, &t, 1);
}

/*
 * Bybit W14 (https://help.bybit.com/hc/en-us/articles/900000031623-What-is-Auto-Deleveraging-ADL-):
 * long 5,000 BTCUSD at 7,890.08 with 50x: bankruptcy price 7,890.08 x 50 / 51 = 7,735.3725,
 * filled at 7,735.50 on the 0.5 tick. The mark has fallen to 7,700, the fund is empty, so the
 * position goes to the shorts, best ADL score first.
 */
static void test_plan_bybit_adl_bankruptcy_price(void **state)
{
    (void)state;
    inverse_env v;
    inverse_init(&v, 7700.0);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    tu_leverage(acc, v.inst, 50.0);
    (void)tu_open(acc, v.inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 5000.0, 7890.08, 5000.0 / 7890.08 / 50.0);
    /* two shorts: the one with the higher profit x leverage goes first */
    risk_account *s1 = tu_account(v.e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(s1, v.btc, 1.0);
    (void)tu_open_simple(s1, v.inst, -3000.0, 8000.0);
    risk_account *s2 = tu_account(v.e, 3, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(s2, v.btc, 0.1);
    (void)tu_open_simple(s2, v.inst, -4000.0, 8000.0);
    assert_int_equal(tu_eval(acc).state, RISK_STATE_BANKRUPT);

    plan_out p;
    plan_of(acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_CLOSE_OUT);
    assert_int_equal(p.plan.n_actions, 2);
    assert_int_equal(p.acts[0].type, RISK_ACTION_ADL);
    assert_int_equal(p.acts[0].counterparty, 3); /* 0.1 BTC backs 4,000: the higher leverage */
    tu_assert_near(p.acts[0].qty, 4000.0, 0.0);
    tu_assert_near(p.acts[0].price, 7735.5, 0.0);
    assert_int_equal(p.acts[1].counterparty, 2);
    tu_assert_near(p.acts[1].qty, 1000.0, 0.0);
    tu_assert_near(p.acts[1].price, 7735.5, 0.0);

    risk_account_summary before2 = tu_eval(s2);
    apply(acc, &p);
    assert_int_equal(risk_account_position_count(acc), 0);
    /* the tick rounds in the account's favour: 5,000 x (1/7,735.3725 - 1/7,735.5) BTC */
    tu_assert_near(tu_eval(acc).equity, 5000.0 * (1.0 / 7735.3725 - 1.0 / 7735.5) * 7700.0, 0.01);
    risk_position *pos = NULL;
    tu_assert_status(risk_account_find_position(s1, v.inst, RISK_SIDE_BOTH, &pos), RISK_OK);
    tu_assert_near(risk_position_qty(pos), -2000.0, 0.0);
    assert_int_equal(risk_account_position_count(s2), 0);
    assert_true(tu_eval(s2).equity < before2.equity); /* bought back above the mark */
    tu_assert_near(fund_balance(v.e, v.btc), 0.0, 0.0);
    risk_account_free(s2);
    risk_account_free(s1);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* ================================================================== Binance ADL score */

/*
 * Binance ADL score (https://jexhelp.zendesk.com/hc/en-us/articles/360015310471-ADL-Sequence):
 * PnL% x effective leverage in profit, PnL% / effective leverage in loss. Mark 110:
 *   A (id 4): long 1 @ 100, wallet 0:   PnL% 0.1, leverage 110 / 10 = 11  -> 1.1
 *   D (id 9): the same as A             -> 1.1, after A by id
 *   B (id 2): long 2 @ 100, wallet 180: PnL% 0.1, leverage 220 / 200 = 1.1 -> 0.11
 *   C (id 1): long 1 @ 120, wallet 50:  PnL% -10/120, leverage 110 / 40 = 2.75 -> -0.0303...
 */
static void test_plan_binance_adl_score_order(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 110.0, 8);
    risk_margin_tier t = one_tier(0.004, 125.0);
    uint32_t inst = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 1.0, 0.1, 110.0, &t, 1);
    const uint64_t ids[4] = {4, 9, 2, 1};
    const double qty[4] = {1, 1, 2, 1}, entry[4] = {100, 100, 100, 120}, wallet[4] = {0, 0, 180, 50};
    risk_account *acc[4];
    for (int i = 0; i < 4; i++) {
        acc[i] = tu_account(e, ids[i], RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        if (wallet[i] > 0.0)
            tu_balance(acc[i], usdt, wallet[i]);
        (void)tu_open_simple(acc[i], inst, qty[i], entry[i]);
    }
    risk_adl_entry q[4] = {RISK_ADL_ENTRY_INIT};
    size_t n = 0;
    tu_assert_status(risk_engine_adl_ranking(e, inst, RISK_SIDE_LONG, q, 4, &n), RISK_OK);
    assert_int_equal(n, 4);
    const uint64_t order[4] = {4, 9, 2, 1};
    const double score[4] = {1.1, 1.1, 0.11, -(10.0 / 120.0) / 2.75};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(q[i].account_id, order[i]);
        tu_assert_near(q[i].score, score[i], 1e-12);
    }
    tu_assert_near(q[3].effective_leverage, 2.75, 1e-12);
    /* no shorts; too small a buffer reports the count */
    tu_assert_status(risk_engine_adl_ranking(e, inst, RISK_SIDE_SHORT, q, 4, &n), RISK_OK);
    assert_int_equal(n, 0);
    tu_assert_status(risk_engine_adl_ranking(e, inst, RISK_SIDE_LONG, q, 2, &n), RISK_EBUFFER);
    assert_int_equal(n, 4);
    tu_assert_status(risk_engine_adl_ranking(e, inst, RISK_SIDE_BOTH, q, 4, &n), RISK_EINVAL);
    tu_assert_status(risk_engine_adl_ranking(e, 77, RISK_SIDE_LONG, q, 4, &n), RISK_ENOTFOUND);
    for (int i = 0; i < 4; i++)
        risk_account_free(acc[i]);
    risk_engine_free(e);
}

/* ================================================================== issue 8 regressions */

typedef struct doge_env {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdt, doge, perp;
    risk_account *acc;
} doge_env;

/* A DOGE long of 3,316 from 0.11 at a mark of 0.1 with 33.155 USDT: equity -0.005, bankrupt,
 * and nobody on the other side. */
static void doge_init(doge_env *d, const risk_liquidation_policy *pol, double fund)
{
    tu_alloc_init(&d->a);
    d->e = tu_engine(&d->a, 0);
    d->usdt = tu_asset(d->e, "USDT", 1.0, 6);
    d->doge = tu_asset(d->e, "DOGE", 0.1, 8);
    risk_margin_tier t = one_tier(0.01, 50.0);
    d->perp = tu_linear(d->e, "DOGEUSDT", d->doge, d->usdt, 1.0, 1.0, 0.00001, 0.1, &t, 1);
    if (pol)
        set_policy(d->e, pol);
    if (fund > 0.0)
        tu_assert_status(risk_engine_insurance_fund_deposit(d->e, d->usdt, fund), RISK_OK);
    d->acc = tu_account(d->e, 7, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(d->acc, d->usdt, 33.155);
    (void)tu_open_simple(d->acc, d->perp, 3316.0, 0.11);
    risk_account_summary s = tu_eval(d->acc);
    tu_assert_near(s.equity, -0.005, 1e-9);
    assert_int_equal(s.state, RISK_STATE_BANKRUPT);
}

static void doge_free(doge_env *d)
{
    risk_account_free(d->acc);
    risk_engine_free(d->e);
}

/* Defect 1: a bankrupt account with an empty fund and no counterparty got a close-out with no
 * action, its position left open. Now the market takes the position and the deficit is reported. */
static void test_plan_close_out_without_counterparty_ends_flat(void **state)
{
    (void)state;
    doge_env d;
    doge_init(&d, NULL, 0.0);
    plan_out p;
    plan_of(d.acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_CLOSE_OUT);
    assert_int_equal(p.plan.trigger, RISK_TRIGGER_CROSS | RISK_TRIGGER_BANKRUPT);
    assert_int_equal(p.plan.trigger_instrument, d.perp);
    assert_int_equal(p.plan.n_actions, 1);
    assert_int_equal(p.acts[0].type, RISK_ACTION_REDUCE);
    tu_assert_near(p.acts[0].qty, 3316.0, 0.0);
    tu_assert_near(p.acts[0].price, 0.1, 0.0);
    tu_assert_near(p.plan.deficit, 0.005, 1e-12);
    tu_assert_near(p.plan.uncovered, 0.005, 1e-12);
    tu_assert_near(p.plan.fund_drawn, 0.0, 0.0);
    apply(d.acc, &p);
    risk_account_summary s = tu_eval(d.acc);
    assert_int_equal(s.n_positions, 0);
    assert_true(s.liabilities == p.plan.uncovered);
    doge_free(&d);
}

/* Defect 1: the fund covers part of a deficit (0.002 of 0.005); the rest is uncovered. */
static void test_plan_fund_covers_part_of_a_deficit(void **state)
{
    (void)state;
    doge_env d;
    doge_init(&d, NULL, 0.002);
    plan_out p;
    plan_of(d.acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_CLOSE_OUT);
    assert_int_equal(p.plan.n_actions, 2);
    assert_int_equal(p.acts[1].type, RISK_ACTION_INSURANCE);
    tu_assert_near(p.acts[1].amount, -0.002, 1e-15);
    tu_assert_near(p.plan.fund_drawn, 0.002, 1e-15);
    tu_assert_near(p.plan.uncovered, 0.003, 1e-12);
    apply(d.acc, &p);
    tu_assert_near(fund_balance(d.e, d.usdt), 0.0, 0.0);
    assert_int_equal(tu_eval(d.acc).n_positions, 0);
    tu_assert_near(tu_eval(d.acc).liabilities, 0.003, 1e-12);
    doge_free(&d);
}

/* Defect 1: with a backstop account the position is taken over at the bankruptcy price: the
 * account's -0.005 shared over 3,316 DOGE is 0.1 + 1.5e-6, on the tick in the account's favour
 * 0.10001; the account ends solvent (33.155 - 3,316 x 0.00999 = 0.02816, a balance a hair
 * below it in binary, so an equity of 0.028159 rounded down) and the backstop holds
 * the long at 0.10001 (its PnL at the mark -0.03316). */
static void test_plan_backstop_takes_over_at_bankruptcy_price(void **state)
{
    (void)state;
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.has_backstop = 1;
    pol.backstop_account = 99;
    doge_env d;
    doge_init(&d, &pol, 0.0);
    risk_account *backstop = tu_account(d.e, 99, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(backstop, d.usdt, 1000.0);
    plan_out p;
    plan_of(d.acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_CLOSE_OUT);
    assert_int_equal(p.plan.n_actions, 1);
    assert_int_equal(p.acts[0].type, RISK_ACTION_BACKSTOP);
    assert_int_equal(p.acts[0].counterparty, 99);
    tu_assert_near(p.acts[0].qty, 3316.0, 0.0);
    tu_assert_near(p.acts[0].price, 0.10001, 1e-15);
    tu_assert_near(p.plan.uncovered, 0.0, 0.0);
    apply(d.acc, &p);
    assert_int_equal(tu_eval(d.acc).n_positions, 0);
    tu_assert_near(tu_eval(d.acc).equity, 0.028159, 1e-12); /* equity is rounded down */
    risk_position_result r = tu_result_of(backstop, d.perp, RISK_SIDE_LONG);
    tu_assert_near(r.qty, 3316.0, 0.0);
    tu_assert_near(r.entry, 0.10001, 1e-15);
    tu_assert_near(r.unrealized_pnl, -0.03316, 1e-9);
    /* a backstop that is not an account of the engine is refused at apply */
    risk_account_free(backstop);
    doge_free(&d);
}

/* Defect 1: socialised (Drift, Deribit): no fund, the deficit 0.005 is paid by the opposite
 * side's profit (a short of 10,000 from 0.12, PnL 200), and the account ends flat at zero. */
static void test_plan_socialized_deficit(void **state)
{
    (void)state;
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.deficit = RISK_DEFICIT_SOCIALIZE;
    doge_env d;
    doge_init(&d, &pol, 0.0);
    risk_account *other = tu_account(d.e, 8, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(other, d.usdt, 100.0);
    (void)tu_open_simple(other, d.perp, -10000.0, 0.12);
    plan_out p;
    plan_of(d.acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_CLOSE_OUT);
    assert_int_equal(p.plan.n_actions, 2);
    assert_int_equal(p.acts[0].type, RISK_ACTION_REDUCE);
    assert_int_equal(p.acts[1].type, RISK_ACTION_SOCIALIZE);
    assert_int_equal(p.acts[1].counterparty, 8);
    tu_assert_near(p.acts[1].amount, 0.005, 1e-15);
    tu_assert_near(p.plan.socialized, 0.005, 1e-15);
    tu_assert_near(p.plan.uncovered, 0.0, 0.0);
    apply(d.acc, &p);
    risk_account_summary s = tu_eval(d.acc);
    assert_int_equal(s.n_positions, 0);
    tu_assert_near(s.equity, 0.0, 0.0);
    tu_assert_near(s.liabilities, 0.0, 0.0);
    tu_assert_near(tu_eval(other).equity, 100.0 + 200.0 - 0.005, 1e-9);
    risk_account_free(other);
    doge_free(&d);
}

/* Found by fuzz_api: a socialised loss in two settle assets lands on one counterparty whose
 * basket held one balance (of two inline slots). Apply reserved one slot per action, each
 * reserve saw room for one more, and the second new balance was written past the inline arrays
 * over the basket's error message. Each counterparty now reserves every balance it gains. */
static void test_plan_socialized_loss_in_two_assets_on_one_counterparty(void **state)
{
    (void)state;
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.deficit = RISK_DEFICIT_SOCIALIZE;
    doge_env d;
    doge_init(&d, &pol, 0.0);
    uint32_t usdc = tu_asset(d.e, "USDC", 1.0, 6);
    uint32_t btc = tu_asset(d.e, "BTC", 50000.0, 8);
    risk_margin_tier t = one_tier(0.01, 50.0);
    uint32_t perp_c = tu_linear(d.e, "DOGEUSDC", d.doge, usdc, 1.0, 1.0, 0.00001, 0.1, &t, 1);
    (void)tu_open_simple(d.acc, perp_c, 1000.0, 0.1); /* flat PnL: equity stays -0.005 */
    risk_account *other = tu_account(d.e, 8, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(other, btc, 1.0);
    (void)tu_open_simple(other, d.perp, -10000.0, 0.12);
    (void)tu_open_simple(other, perp_c, -10000.0, 0.12);
    plan_out p;
    plan_of(d.acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_CLOSE_OUT);
    double usdt_paid = 0.0, usdc_paid = 0.0;
    for (size_t k = 0; k < p.plan.n_actions; k++) {
        if (p.acts[k].type != RISK_ACTION_SOCIALIZE)
            continue;
        assert_int_equal(p.acts[k].counterparty, 8);
        if (p.acts[k].asset == d.usdt)
            usdt_paid += p.acts[k].amount;
        else if (p.acts[k].asset == usdc)
            usdc_paid += p.acts[k].amount;
    }
    assert_true(usdt_paid > 0.0 && usdc_paid > 0.0);
    /* each asset's share is rounded up to its quantum (1e-6): at most one quantum over each */
    assert_true(usdt_paid + usdc_paid >= 0.005 - 1e-12 && usdt_paid + usdc_paid <= 0.005 + 2e-6 + 1e-12);
    apply(d.acc, &p);
    risk_basket *b = risk_account_basket(other);
    double x = 0.0;
    tu_assert_status(risk_basket_balance(b, btc, &x), RISK_OK);
    tu_assert_near(x, 1.0, 0.0);
    tu_assert_status(risk_basket_balance(b, d.usdt, &x), RISK_OK);
    tu_assert_near(x, -usdt_paid, 1e-15);
    tu_assert_status(risk_basket_balance(b, usdc, &x), RISK_OK);
    tu_assert_near(x, -usdc_paid, 1e-15);
    assert_string_equal(risk_basket_errmsg(b), "");
    tu_assert_status(risk_basket_set_balance(b, btc, 2.0), RISK_OK);
    assert_int_equal(tu_eval(d.acc).n_positions, 0);
    risk_account_free(other);
    doge_free(&d);
}

/* Defect 2: a USDC loan of 1,000 against 500 USDT (HF 500 / 1,100 = 0.4545) and three healthy
 * isolated positions with margins 2,000, 1,500 and 1,000. Repaying with all the USDT is not
 * enough; releasing the largest leg's margin is: C 2,500 >= 1,100 + 2 % x 1,000. The other two
 * legs are untouched and the account is not closed out. */
static void test_plan_releases_one_isolated_leg_before_a_close_out(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t usdc = tu_asset_w(e, "USDC", 1.0, 6, 1.0, 1.0, 1.1, 1.1);
    uint32_t btc = tu_asset(e, "BTC", 100.0, 8);
    risk_margin_tier t = one_tier(0.01, 20.0);
    uint32_t inst[3];
    const char *syms[3] = {"P1", "P2", "P3"};
    for (int i = 0; i < 3; i++)
        inst[i] = tu_linear(e, syms[i], btc, usdt, 1.0, 1.0, 0.1, 100.0, &t, 1);
    risk_account *acc = tu_account(e, 5, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdt, 500.0);
    tu_balance(acc, usdc, -1000.0);
    const double margin[3] = {1000.0, 2000.0, 1500.0};
    for (int i = 0; i < 3; i++)
        (void)tu_open(acc, inst[i], RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 100.0, 100.0, margin[i]);
    risk_account_summary s = tu_eval(acc);
    tu_assert_near(s.health_factor, 500.0 / 1100.0, 1e-12);
    assert_int_equal(s.state, RISK_STATE_LIQUIDATABLE);
    plan_out p;
    plan_of(acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_PARTIAL);
    assert_int_equal(p.plan.trigger, RISK_TRIGGER_CROSS);
    assert_int_equal(p.plan.trigger_asset, usdc);
    assert_int_equal(p.plan.trigger_instrument, RISK_ID_NONE);
    assert_int_equal(p.plan.n_actions, 1);
    assert_int_equal(p.acts[0].type, RISK_ACTION_REDUCE);
    assert_int_equal(p.acts[0].instrument, inst[1]);
    tu_assert_near(p.acts[0].qty, 100.0, 0.0);
    apply(acc, &p);
    s = tu_eval(acc);
    assert_int_equal(s.n_positions, 2);
    tu_assert_near(s.collateral_maint, 2500.0, 1e-9);
    tu_assert_near(s.health_factor, 2500.0 / 1100.0, 1e-12);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Defect 3: an inverse long 300 x 100 USD from 15,000 at 30,000 (PnL 1 BTC) with 0.1 BTC
 * weighted 0.897 and a USDT loan of 32,600: HF 32,691 / 32,900. Closing the long alone lowers
 * the surplus (the coin it realises is weighted 0.897, its MM and buffer are 3 %), so the cross
 * phase skips it; closing it and repaying the loan with the coin reaches the target. One lot
 * less misses it (checked on a twin). */
static risk_account *inverse_loan_account(tu_alloc *a, risk_engine **e_out, uint32_t *inst_out)
{
    tu_alloc_init(a);
    risk_engine *e = tu_engine(a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset_w(e, "BTC", 30000.0, 8, 0.85, 0.897, 1.0, 1.0);
    risk_margin_tier t = one_tier(0.01, 50.0);
    uint32_t inst = tu_inverse(e, "BTCUSD", btc, 100.0, 1.0, 0.5, 30000.0, &t, 1);
    risk_account *acc = tu_account(e, 3, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, btc, 0.1);
    tu_balance(acc, usdt, -32600.0);
    (void)tu_open_simple(acc, inst, 300.0, 15000.0);
    *e_out = e;
    *inst_out = inst;
    return acc;
}

static void test_plan_closes_a_skipped_position_to_repay_a_loan(void **state)
{
    (void)state;
    tu_alloc a, a2;
    risk_engine *e, *e2;
    uint32_t inst, inst2;
    risk_account *acc = inverse_loan_account(&a, &e, &inst);
    risk_account *twin = inverse_loan_account(&a2, &e2, &inst2);
    risk_account_summary s = tu_eval(acc);
    tu_assert_near(s.health_factor, 32691.0 / 32900.0, 1e-12);
    plan_out p;
    plan_of(acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_PARTIAL);
    assert_int_equal(p.acts[0].type, RISK_ACTION_REDUCE);
    assert_int_equal(p.acts[0].instrument, inst);
    assert_true(p.acts[0].qty < 300.0);
    int seized = 0;
    for (size_t k = 1; k < p.plan.n_actions; k++)
        seized |= p.acts[k].type == RISK_ACTION_SEIZE;
    assert_true(seized);
    apply(acc, &p);
    s = tu_eval(acc);
    double buffer = 0.02 * (s.liabilities + tu_result_of(acc, inst, RISK_SIDE_LONG).notional * 30000.0);
    assert_true(s.collateral_maint - s.maintenance_margin - buffer >= -1e-6);
    /* one lot less, with the same repayments, cannot be applied or misses the target */
    plan_out less = p;
    less.acts[0].qty -= 1.0;
    if (risk_account_apply_plan(twin, &less.plan, less.acts, less.plan.n_actions) == RISK_OK) {
        risk_account_summary t2 = tu_eval(twin);
        double b2 = 0.02 * (t2.liabilities + tu_result_of(twin, inst2, RISK_SIDE_LONG).notional * 30000.0);
        assert_true(t2.collateral_maint - t2.maintenance_margin - b2 < 0.0);
    }
    risk_account_free(acc);
    risk_account_free(twin);
    risk_engine_free(e);
    risk_engine_free(e2);
}

/* Defect 4: Aave (close factor 0.5 above HF 0.95, bonus 5 %), 1 WETH at 2,000 with liquidation
 * threshold 0.95 against 1,981.2 USDC: HF 0.959. Each repayment takes 1.05 x its value in
 * collateral weighted 0.95, so it lowers HF (0.9975 > 0.959): the target is out of reach even at
 * close factor 1, and the plan is a close-out, not a "limited" one walking HF down. */
static void test_plan_unreachable_target_is_a_close_out_not_limited(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    uint32_t weth = tu_asset_w(e, "WETH", 2000.0, 8, 0.9, 0.95, 1.0, 1.0);
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.buffer = 0.0;
    pol.close_factor = 0.5;
    pol.full_close_health = 0.95;
    pol.bonus = 0.05;
    set_policy(e, &pol);
    risk_account *acc = tu_account(e, 4, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, weth, 1.0);
    tu_balance(acc, usdc, -1981.2);
    tu_assert_near(tu_eval(acc).health_factor, 1900.0 / 1981.2, 1e-12);
    plan_out p;
    plan_of(acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_CLOSE_OUT);
    assert_int_equal(p.plan.trigger_asset, usdc);
    /* all the collateral repays 2,000 / 1.05 = 1,904.761904 */
    assert_int_equal(p.acts[0].type, RISK_ACTION_SEIZE);
    tu_assert_near(p.acts[0].amount, 1.0, 0.0);
    tu_assert_near(p.acts[0].repay_amount, 1904.761904, 1e-9);
    tu_assert_near(p.plan.uncovered, 76.438097, 1e-12); /* 1,981.2 - 1,904.761904, rounded up */
    apply(acc, &p);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Defect 5: a debt that is not the nearest double to its decimal (0.1 + 0.2 = 0.30000000000000004,
 * x 1,000) repaid in full leaves exactly nothing, not a quantum of liability. The target needs
 * the whole debt: USDT liabilities weigh 2, collateral is 300.000002 USDC (one lot less of
 * repayment leaves C 0.000003 < R 0.000003 + buffer 0.000001). */
static void test_plan_full_repayment_leaves_no_dust(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    uint32_t usdt = tu_asset_w(e, "USDT", 1.0, 6, 1.0, 1.0, 2.0, 2.0);
    risk_account *acc = tu_account(e, 6, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    double debt = (0.1 + 0.2) * 1000.0;
    assert_true(debt != 300.0);
    tu_balance(acc, usdc, 300.000002);
    tu_balance(acc, usdt, -debt);
    assert_int_equal(tu_eval(acc).state, RISK_STATE_LIQUIDATABLE);
    plan_out p;
    plan_of(acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_PARTIAL);
    assert_int_equal(p.plan.n_actions, 1);
    assert_true(p.acts[0].repay_amount == debt);
    assert_true(isinf(p.plan.health_after));
    apply(acc, &p);
    risk_account_summary s = tu_eval(acc);
    assert_true(s.liabilities == 0.0);
    assert_true(isinf(s.health_factor));
    assert_int_equal(s.state, RISK_STATE_HEALTHY);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Defect 7: an isolated position under its MM names itself as the trigger, though the account's
 * health factor is large. */
static void test_plan_names_the_isolated_trigger(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 100.0, 8);
    risk_margin_tier t = one_tier(0.01, 50.0);
    uint32_t inst = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 1.0, 0.1, 100.0, &t, 1);
    risk_account *acc = tu_account(e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdt, 100000.0);
    (void)tu_open(acc, inst, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 100.0, 110.0, 1005.0); /* 1,005 - 1,000 < 100 */
    risk_account_summary s = tu_eval(acc);
    assert_true(isinf(s.health_factor));
    assert_int_equal(s.n_isolated_liquidatable, 1);
    plan_out p;
    plan_of(acc, &p);
    assert_int_equal(p.plan.trigger, RISK_TRIGGER_ISOLATED);
    assert_int_equal(p.plan.trigger_instrument, inst);
    assert_int_equal(p.plan.trigger_leg, RISK_SIDE_BOTH);
    assert_int_equal(p.plan.trigger_asset, RISK_ID_NONE);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Version 1 callers: a version 1 policy is accepted with the new fields at their defaults, and a
 * version 1 plan header gets the version 1 fields only. */
static void test_plan_version_1_structs(void **state)
{
    (void)state;
    doge_env d;
    doge_init(&d, NULL, 0.0);
    risk_liquidation_policy v1 = RISK_LIQUIDATION_POLICY_INIT;
    v1.version = 1;
    v1.deficit = 77; /* beyond version 1: ignored */
    v1.buffer = 0.05;
    set_policy(d.e, &v1);
    risk_liquidation_policy out = RISK_LIQUIDATION_POLICY_INIT;
    tu_assert_status(risk_engine_liquidation_policy(d.e, &out), RISK_OK);
    assert_int_equal(out.version, RISK_LIQUIDATION_POLICY_VERSION);
    tu_assert_near(out.buffer, 0.05, 0.0);
    assert_int_equal(out.deficit, RISK_DEFICIT_REPORT);
    risk_liquidation_policy out1 = RISK_LIQUIDATION_POLICY_INIT;
    out1.version = 1;
    out1.has_backstop = 5;
    tu_assert_status(risk_engine_liquidation_policy(d.e, &out1), RISK_OK);
    assert_int_equal(out1.has_backstop, 5); /* not written */
    risk_liquidation_plan plan = RISK_LIQUIDATION_PLAN_INIT;
    plan.version = 1;
    plan.trigger = 1234;
    risk_liquidation_action acts[4];
    size_t n = 0;
    tu_assert_status(risk_account_liquidation_plan(d.acc, &plan, acts, 4, &n), RISK_OK);
    assert_int_equal(plan.version, 1);
    assert_int_equal(plan.outcome, RISK_PLAN_CLOSE_OUT);
    assert_int_equal(plan.trigger, 1234); /* not written */
    tu_assert_status(risk_account_apply_plan(d.acc, &plan, acts, n), RISK_OK);
    plan.version = 3;
    tu_assert_status(risk_account_liquidation_plan(d.acc, &plan, acts, 4, &n), RISK_EVERSION);
    v1.version = 2;
    v1.deficit = 7;
    tu_assert_status(risk_engine_set_liquidation_policy(d.e, &v1), RISK_EINVAL);
    doge_free(&d);
}

/* Issue 9 defect 1: a position above 2^53 lots (a short of 1e17 ETH at lot 0.001, 1e9
 * contracts at lot 1e-9) made the plan's search spin forever (k and k + 1 lots are the same
 * double). Such positions are refused; at exactly 2^53 lots (of a coin at 1e-6) the plan ends. */
static void test_plan_largest_positions_end(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t eth = tu_asset(e, "ETH", 2664.06, 8);
    risk_margin_tier t = one_tier(0.01, 50.0);
    uint32_t fine = tu_linear(e, "ETHUSDT", eth, usdt, 1.0, 0.001, 0.01, 2664.06, &t, 1);
    uint32_t tiny = tu_linear(e, "ETHTINY", eth, usdt, 1.0, 1e-9, 0.01, 2664.06, &t, 1);
    uint32_t pepe = tu_asset(e, "PEPE", 1e-6, 8);
    uint32_t whole = tu_linear(e, "PEPEUSDT", pepe, usdt, 1.0, 1.0, 1e-9, 1e-6, &t, 1);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_position_spec spec = RISK_POSITION_SPEC_INIT;
    spec.instrument = fine;
    spec.qty = -1e17;
    spec.entry = 2664.06;
    tu_assert_status(risk_account_open_position(acc, &spec, NULL), RISK_EINVAL);
    assert_non_null(strstr(risk_account_errmsg(acc), "2^53 lots"));
    spec.instrument = tiny;
    spec.qty = 1e9;
    tu_assert_status(risk_account_open_position(acc, &spec, NULL), RISK_EINVAL);
    assert_int_equal(risk_account_position_count(acc), 0);
    /* 2^53 lots exactly: accepted, liquidatable, and the plan ends */
    risk_position *pos = tu_open_simple(acc, whole, -9007199254740992.0, 1e-6);
    tu_assert_status(risk_position_adjust(pos, -2.0, 1e-6), RISK_EINVAL); /* beyond (2^53 + 1 is not a double) */
    tu_balance(acc, usdt, 5e7); /* MM 1 % x 9.007e9 = 9.007e7 */
    assert_int_equal(tu_eval(acc).state, RISK_STATE_LIQUIDATABLE);
    plan_out p;
    plan_of(acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_PARTIAL);
    apply(acc, &p);
    assert_true(tu_eval(acc).health_factor >= 1.0);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Issue 9 defect 4: closing an isolated position that lost more than its margin (100 margin,
 * -137.96 PnL) puts -37.96 into the wallet (45 USDT); the cross pool, healthy before (a long of
 * 10 at 100, MM 10, HF 4.5), is then liquidatable (7.04 / 10). The plan goes on with the cross
 * pool, closing the least that reaches 7.04 >= 3 x (10 - k): 8 of the 10, instead of reporting
 * success on an account the next plan would find liquidatable. */
static void test_plan_isolated_loss_beyond_margin_reaches_the_cross_pool(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 100.0, 8);
    uint32_t eth = tu_asset(e, "ETH", 10.0, 8);
    risk_margin_tier t = one_tier(0.01, 50.0);
    uint32_t cross = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 1.0, 0.1, 100.0, &t, 1);
    uint32_t iso = tu_linear(e, "ETHUSDT", eth, usdt, 1.0, 1.0, 0.01, 10.0, &t, 1);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdt, 45.0);
    (void)tu_open_simple(acc, cross, 10.0, 100.0);
    (void)tu_open(acc, iso, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 100.0, 11.3796, 100.0);
    risk_account_summary s = tu_eval(acc);
    tu_assert_near(s.health_factor, 4.5, 1e-12);
    assert_int_equal(s.n_isolated_liquidatable, 1);
    plan_out p;
    plan_of(acc, &p);
    assert_int_equal(p.plan.trigger, RISK_TRIGGER_ISOLATED);
    assert_int_equal(p.plan.outcome, RISK_PLAN_PARTIAL);
    assert_int_equal(p.plan.n_actions, 2);
    assert_int_equal(p.acts[0].instrument, iso);
    tu_assert_near(p.acts[0].qty, 100.0, 0.0);
    assert_int_equal(p.acts[1].instrument, cross);
    tu_assert_near(p.acts[1].qty, 8.0, 0.0);
    apply(acc, &p);
    s = tu_eval(acc);
    assert_true(s.state != RISK_STATE_LIQUIDATABLE && s.state != RISK_STATE_BANKRUPT);
    plan_of(acc, &p);
    assert_int_equal(p.plan.outcome, RISK_PLAN_NONE);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* ================================================================== tiers and ordering */

/* Binance-style step-down: a 2-tier schedule; the plan closes the least that brings MM under
 * the collateral, and the position drops into the lower tier. Healthy accounts get no plan. */
static void test_plan_steps_down_a_tier_and_healthy_is_empty(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 100.0, 8);
    risk_margin_tier t[2] = {tu_tier(10000.0, 0.01, 50.0), tu_tier(1e15, 0.05, 10.0)};
    uint32_t inst = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 1.0, 0.1, 100.0, t, 2);
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.buffer = 0.0;
    set_policy(e, &pol);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdt, 500.0);
    (void)tu_open_simple(acc, inst, 200.0, 100.0); /* notional 20,000: MM 20,000 x 5 % - 400 = 600 */
    tu_assert_near(tu_eval(acc).maintenance_margin, 600.0, 1e-9);
    plan_out p;
    plan_of(acc, &p);
    /* MM(N) <= 500 in tier 2: N x 5 % - 400 <= 500 -> N <= 18,000: close 20 contracts */
    assert_int_equal(p.plan.n_actions, 1);
    tu_assert_near(p.acts[0].qty, 20.0, 0.0);
    apply(acc, &p);
    tu_assert_near(tu_eval(acc).maintenance_margin, 500.0, 1e-9);
    plan_of(acc, &p); /* now at HF 1: not liquidatable */
    assert_int_equal(p.plan.outcome, RISK_PLAN_NONE);
    assert_int_equal(p.plan.n_actions, 0);
    tu_assert_bits(p.plan.health_after, p.plan.health_before);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* ================================================================== random books */

/* A random book's configuration: policy variants, funds, backstop, loans, one-sided interest. */
typedef struct book_cfg {
    uint32_t exit_target;
    int penalty;     /* dYdX fillable price */
    int aave;        /* close factor 0.5 above HF 0.95, bonus 5 %, protocol share 10 % */
    int fund_empty;  /* no insurance-fund deposits */
    int backstop;    /* account 1 is the backstop */
    int socialize;   /* deficits socialised */
    int unbalanced;  /* nine longs in ten: thin ADL queues for longs */
    int loans;       /* a third of the accounts borrow USDT against BTC */
    uint64_t seed;
    size_t n;
} book_cfg;

typedef struct book {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdt, btc, assets[4], inst[5];
    risk_account *backstop;
    const book_cfg *cfg;
} book;

static void book_init(book *b, const book_cfg *cfg)
{
    uint32_t exit_target = cfg->exit_target;
    int penalty = cfg->penalty;
    b->cfg = cfg;
    b->backstop = NULL;
    tu_alloc_init(&b->a);
    b->e = tu_engine(&b->a, 0);
    b->usdt = tu_asset(b->e, "USDT", 1.0, 6);
    b->btc = tu_asset_w(b->e, "BTC", 30000.0, 8, 0.9, 0.95, 1.1, 1.05);
    const char *names[3] = {"ETH", "SOL", "DOGE"};
    const double prices[3] = {2000.0, 100.0, 0.1};
    risk_margin_tier t[3] = {tu_tier(50000.0, 0.01, 50.0), tu_tier(250000.0, 0.025, 20.0), tu_tier(1e15, 0.05, 10.0)};
    b->assets[0] = b->btc;
    for (int i = 0; i < 3; i++)
        b->assets[i + 1] = tu_asset(b->e, names[i], prices[i], 8);
    const char *syms[4] = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT"};
    const double lots[4] = {0.001, 0.01, 0.1, 100.0}, ticks[4] = {0.1, 0.01, 0.001, 0.00001};
    const double marks[4] = {30000.0, 2000.0, 100.0, 0.1};
    for (int i = 0; i < 4; i++)
        b->inst[i] = tu_linear(b->e, syms[i], b->assets[i], b->usdt, 1.0, lots[i], ticks[i], marks[i], t, 3);
    b->inst[4] = tu_inverse(b->e, "BTCUSD", b->btc, 100.0, 1.0, 0.5, 30000.0, t, 3);
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.exit_target = exit_target;
    pol.fee = 0.005;
    pol.insurance_fee = 0.0025;
    pol.price_model = penalty ? RISK_PRICE_PENALTY : RISK_PRICE_MARK;
    if (cfg->aave) {
        pol.close_factor = 0.5;
        pol.full_close_health = 0.95;
        pol.bonus = 0.05;
        pol.protocol_share = 0.1;
    }
    pol.deficit = cfg->socialize ? RISK_DEFICIT_SOCIALIZE : RISK_DEFICIT_REPORT;
    if (cfg->backstop) {
        pol.has_backstop = 1;
        pol.backstop_account = 1;
        b->backstop = tu_account(b->e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(b->backstop, b->usdt, 1e9);
    }
    set_policy(b->e, &pol);
    if (!cfg->fund_empty) {
        tu_assert_status(risk_engine_insurance_fund_deposit(b->e, b->usdt, 2e5), RISK_OK);
        tu_assert_status(risk_engine_insurance_fund_deposit(b->e, b->btc, 5.0), RISK_OK);
    }
}

/* A random account, then a market move that leaves many of them liquidatable. */
static risk_account *random_account(book *b, tu_rng *r, uint64_t id)
{
    static const double lots[5] = {0.001, 0.01, 0.1, 100.0, 1.0};
    static const double marks[5] = {30000.0, 2000.0, 100.0, 0.1, 30000.0};
    int hedge = tu_rng_int(r, 0, 3) == 0;
    risk_account *acc = tu_account(b->e, id, RISK_MARGIN_CROSS, hedge ? RISK_POSITION_HEDGE : RISK_POSITION_ONE_WAY);
    if (b->cfg->loans && tu_rng_int(r, 0, 2) == 0) { /* a USDT loan against BTC, near its threshold */
        double btc = tu_rng_range(r, 0.1, 2.0);
        tu_balance(acc, b->btc, btc);
        tu_balance(acc, b->usdt, -floor(btc * 30000.0 * tu_rng_range(r, 0.7, 0.86)));
        if (tu_rng_int(r, 0, 1) == 0)
            return acc;
    } else {
        tu_balance(acc, b->usdt, tu_rng_range(r, 200.0, 20000.0));
        if (tu_rng_int(r, 0, 2) == 0)
            tu_balance(acc, b->btc, tu_rng_range(r, 0.01, 0.5));
    }
    int n = tu_rng_int(r, 1, 5);
    for (int k = 0; k < n; k++) {
        int i = tu_rng_int(r, 0, 4);
        double notional = tu_rng_range(r, 1000.0, 120000.0);
        double size = i == 4 ? notional / 100.0 : notional / marks[i];
        double qty = floor(size / lots[i]) * lots[i];
        if (qty <= 0.0)
            continue;
        int short_side = b->cfg->unbalanced ? tu_rng_int(r, 0, 9) == 0 : tu_rng_int(r, 0, 1);
        uint32_t side = hedge ? (short_side ? RISK_SIDE_SHORT : RISK_SIDE_LONG) : RISK_SIDE_BOTH;
        risk_position *existing = NULL;
        if (risk_account_find_position(acc, b->inst[i], side, &existing) == RISK_OK)
            continue;
        double entry = marks[i] * tu_rng_range(r, 0.97, 1.03);
        double tick = i == 0 ? 0.1 : i == 1 ? 0.01 : i == 2 ? 0.001 : i == 3 ? 0.00001 : 0.5;
        entry = floor(entry / tick) * tick;
        uint32_t mode = tu_rng_int(r, 0, 5) == 0 ? RISK_MARGIN_ISOLATED : RISK_MARGIN_DEFAULT;
        double margin = mode == RISK_MARGIN_ISOLATED ? (i == 4 ? qty * 100.0 / entry : qty * entry) * 0.04 : 0.0;
        (void)tu_open(acc, b->inst[i], side, mode, hedge ? qty : (short_side ? -qty : qty), entry, margin);
    }
    return acc;
}

static void book_move(book *b, double f)
{
    static const double marks[5] = {30000.0, 2000.0, 100.0, 0.1, 30000.0};
    static const double ticks[5] = {0.1, 0.01, 0.001, 0.00001, 0.5};
    for (int i = 0; i < 5; i++)
        tu_mark(b->e, b->inst[i], floor(marks[i] * f / ticks[i]) * ticks[i]);
    for (int i = 0; i < 4; i++)
        tu_price(b->e, b->assets[i], marks[i] * f);
}

/* V per settle unit of an instrument of the random book (BTCUSD settles in BTC). */
static double settle_price(const book *b, uint32_t instrument)
{
    double sp = 1.0;
    if (instrument == b->inst[4])
        tu_assert_status(risk_engine_asset_price(b->e, b->btc, &sp), RISK_OK);
    return sp;
}

/* The cross pool's surplus over the exit target, from public results (the library's
 * quantization: requirements up to the V quantum). */
static double cross_surplus_of(const book *b, const risk_account *acc, uint32_t exit_target, double buffer)
{
    risk_account_summary s = tu_eval(acc);
    if (exit_target == RISK_EXIT_INITIAL)
        return s.available;
    risk_position_result res[16];
    size_t n = tu_results(acc, res, 16);
    double extra = buffer * s.liabilities;
    for (size_t i = 0; i < n; i++)
        if (res[i].margin_mode != RISK_MARGIN_ISOLATED)
            extra += buffer * res[i].notional * settle_price(b, res[i].instrument);
    /* in whole quanta of V, as the summary's numbers are */
    return nearbyint((s.collateral_maint - s.maintenance_margin - ceil(extra * 1e6 - 1e-6) / 1e6) * 1e6) / 1e6;
}

/* The surplus over the exit target of the isolated position an action reduces (its settle
 * asset); INFINITY when there is none (closed, or a cross position). */
static double isolated_surplus_of(const risk_account *acc, const risk_liquidation_action *act, uint32_t exit_target,
                                  double buffer)
{
    risk_position_result res[16];
    size_t n = tu_results(acc, res, 16);
    uint32_t direction = act->side == RISK_ORDER_SELL ? RISK_SIDE_LONG : RISK_SIDE_SHORT;
    for (size_t i = 0; i < n; i++) {
        if (res[i].instrument != act->instrument || res[i].side != direction ||
            res[i].margin_mode != RISK_MARGIN_ISOLATED)
            continue;
        double held = res[i].isolated_margin + res[i].unrealized_pnl;
        return exit_target == RISK_EXIT_INITIAL ? held - res[i].initial_margin
                                                : held - res[i].maintenance_margin - buffer * res[i].notional;
    }
    return INFINITY;
}

/* Equity of every account, in V. */
static void equities(risk_account **accs, size_t n, double *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = tu_eval(accs[i]).equity;
}

static double fund_value(const book *b)
{
    double btc_price = 0.0;
    tu_assert_status(risk_engine_asset_price(b->e, b->btc, &btc_price), RISK_OK);
    return fund_balance(b->e, b->usdt) + fund_balance(b->e, b->btc) * btc_price;
}

/* What the liquidators gain from a plan, in V: fees, and the contracts at price against the mark. */
static double liquidator_gain(const book *b, const plan_out *p)
{
    double gain = 0.0;
    for (size_t k = 0; k < p->plan.n_actions; k++) {
        const risk_liquidation_action *act = &p->acts[k];
        if (act->type == RISK_ACTION_SEIZE) {
            double pc = 0.0, pd = 0.0;
            tu_assert_status(risk_engine_asset_price(b->e, act->asset, &pc), RISK_OK);
            tu_assert_status(risk_engine_asset_price(b->e, act->repay_asset, &pd), RISK_OK);
            gain += (act->amount - act->protocol_fee) * pc - act->repay_amount * pd;
            continue;
        }
        if (act->type != RISK_ACTION_REDUCE)
            continue;
        double mark = 0.0;
        tu_assert_status(risk_engine_mark(b->e, act->instrument, &mark), RISK_OK);
        double dir = act->side == RISK_ORDER_SELL ? 1.0 : -1.0; /* the liquidator takes what is sold */
        double value = act->instrument == b->inst[4] ? dir * act->qty * 100.0 * (1.0 / act->price - 1.0 / mark)
                                                     : dir * act->qty * (mark - act->price);
        gain += (value + act->fee) * settle_price(b, act->instrument);
    }
    return gain;
}

static double lot_of(const book *b, uint32_t instrument)
{
    static const double lots[5] = {0.001, 0.01, 0.1, 100.0, 1.0};
    for (int m = 0; m < 5; m++)
        if (instrument == b->inst[m])
            return lots[m];
    fail();
    return 0.0;
}

/* The plan with one lot less in reduce action k, fees scaled as the planner charges them. */
static void one_lot_less(const book *b, const plan_out *p, size_t k, plan_out *less)
{
    *less = *p;
    double lot = lot_of(b, p->acts[k].instrument);
    risk_liquidation_action *act = &less->acts[k];
    act->qty = floor((act->qty - lot) / lot + 0.5) * lot;
    double notional = act->instrument == b->inst[4] ? act->qty * 100.0 / act->price : act->qty * act->price;
    double q = act->instrument == b->inst[4] ? 1e8 : 1e6;
    act->fee = ceil(0.005 * notional * q - 1e-6) / q;
    act->insurance_fee = ceil(0.0025 * notional * q - 1e-6) / q;
}

static risk_account *rb_accs[2001], *rb_twins[2001];
static double rb_before[2001], rb_after[2001];

/* Applies a plan and checks what every plan must keep: the fund never negative, health_after is
 * the evaluation after, and the equity changes of every account (counterparties and the backstop
 * included), the liquidators' gains and the funds' changes sum to zero within a quantum per action. */
static void apply_checked(book *b, risk_account **accs, size_t n_all, size_t i, const plan_out *p)
{
    equities(accs, n_all, rb_before);
    double fund_before = fund_value(b);
    apply(accs[i], p);
    equities(accs, n_all, rb_after);
    assert_true(fund_balance(b->e, b->usdt) >= 0.0 && fund_balance(b->e, b->btc) >= 0.0);
    risk_account_summary s2 = tu_eval(accs[i]);
    tu_assert_bits(s2.health_factor, p->plan.health_after);
    double flows = fund_value(b) - fund_before + liquidator_gain(b, p);
    for (size_t j = 0; j < n_all; j++)
        flows += rb_after[j] - rb_before[j];
    tu_assert_near(flows, 0.0, 1e-3 * (double)(1 + p->plan.n_actions));
}

/* One lot less of each reduce action of a partial plan, applied to the twin (still in the state
 * before the plan), misses the target that action served: its isolated position's, or the
 * cross pool's (a cross position, or a healthy isolated leg released for the cross pool). A plan
 * that cannot even be applied with one lot less (a repayment needs the proceeds) misses too.
 * Returns the number of actions checked. */
static unsigned check_minimal(const book *twin, risk_account *t, const plan_out *p, int cross_triggered,
                              uint32_t exit_target)
{
    unsigned checked = 0;
    /* an isolated loss beyond its margin may make the cross pool liquidatable: the plan then
     * reduces cross positions too, for the cross target */
    for (size_t k = 0; k < p->plan.n_actions && !cross_triggered; k++)
        cross_triggered = p->acts[k].type == RISK_ACTION_REDUCE && isinf(isolated_surplus_of(t, &p->acts[k], exit_target, 0.02));
    for (size_t k = 0; k < p->plan.n_actions; k++) {
        if (p->acts[k].type != RISK_ACTION_REDUCE || p->acts[k].qty < 1.5 * lot_of(twin, p->acts[k].instrument))
            continue;
        plan_out less;
        one_lot_less(twin, p, k, &less);
        if (risk_account_apply_plan(t, &less.plan, less.acts, less.plan.n_actions) != RISK_OK) {
            checked++; /* nothing changed: try the next action */
            continue;
        }
        double iso = isolated_surplus_of(t, &p->acts[k], exit_target, 0.02);
        int miss = iso < 0.0 || (cross_triggered && cross_surplus_of(twin, t, exit_target, 0.02) < 0.0);
        assert_true(miss);
        return checked + 1; /* the twin has moved on */
    }
    return checked;
}

typedef struct book_counts {
    unsigned planned, partial, limited, closed, minimal_checked, adl, backstop, socialized, uncovered, drawn;
} book_counts;

/*
 * On a random book (fixed seed) moved against its positions: every plan, once applied, leaves
 * the account at the target (partial), or flat with `uncovered` equal to the debt left on it
 * (close-out); a limited plan (Aave's close factor) is followed by plans that reach the target,
 * never by a close-out; one lot less of any reduce of a partial plan misses (checked on a twin
 * book built from the same seed); cash flows sum to zero; no fund goes negative. Partial and
 * limited plans go first, while the twin book is in step; close-outs (ADL, backstop and
 * socialisation touch other accounts) after.
 */
static void run_random_book(const book_cfg *cfg, book_counts *c)
{
    size_t N = cfg->n;
    assert_true(N <= 2000);
    book b, twin;
    book_init(&b, cfg);
    book_init(&twin, cfg);
    tu_rng r;
    tu_rng_seed(&r, cfg->seed);
    for (size_t i = 0; i < N; i++)
        rb_accs[i] = random_account(&b, &r, 1000 + i);
    tu_rng_seed(&r, cfg->seed);
    for (size_t i = 0; i < N; i++)
        rb_twins[i] = random_account(&twin, &r, 1000 + i);
    book_move(&b, 0.9);
    book_move(&twin, 0.9);
    size_t n_all = N;
    if (b.backstop)
        rb_accs[n_all++] = b.backstop;

    memset(c, 0, sizeof *c);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < N; i++) {
            risk_account_summary s = tu_eval(rb_accs[i]);
            if (s.state != RISK_STATE_LIQUIDATABLE && s.state != RISK_STATE_BANKRUPT)
                continue;
            plan_out p;
            plan_of(rb_accs[i], &p);
            if (pass == 0 && p.plan.outcome == RISK_PLAN_CLOSE_OUT)
                continue;
            if (p.plan.n_actions == 0) { /* nothing left to act on: a debt with no collateral and no fund */
                assert_int_equal(p.plan.outcome, RISK_PLAN_CLOSE_OUT);
                assert_true(s.n_positions == 0 && s.collateral_value == 0.0);
                assert_true(p.plan.uncovered == s.liabilities && p.plan.uncovered > 0.0);
                continue;
            }
            assert_true(p.plan.trigger != 0);
            c->planned++;
            apply_checked(&b, rb_accs, n_all, i, &p);
            risk_account_summary s2 = tu_eval(rb_accs[i]);
            if (p.plan.outcome == RISK_PLAN_CLOSE_OUT) {
                c->closed++;
                assert_int_equal(s2.n_positions, 0); /* flat */
                assert_true(p.plan.uncovered == s2.liabilities);
                c->uncovered += p.plan.uncovered > 0.0;
                c->drawn += p.plan.fund_drawn > 0.0;
                for (size_t k = 0; k < p.plan.n_actions; k++) {
                    c->adl += p.acts[k].type == RISK_ACTION_ADL;
                    c->backstop += p.acts[k].type == RISK_ACTION_BACKSTOP;
                    c->socialized += p.acts[k].type == RISK_ACTION_SOCIALIZE;
                }
                continue;
            }
            if (p.plan.outcome == RISK_PLAN_LIMITED) {
                c->limited++;
                /* the target is reachable: further plans reach it, without a close-out */
                for (int round = 0; round < 40 && p.plan.outcome == RISK_PLAN_LIMITED; round++) {
                    plan_of(rb_accs[i], &p);
                    assert_int_not_equal(p.plan.outcome, RISK_PLAN_CLOSE_OUT);
                    if (p.plan.n_actions)
                        apply_checked(&b, rb_accs, n_all, i, &p);
                }
                assert_true(p.plan.outcome == RISK_PLAN_PARTIAL || p.plan.outcome == RISK_PLAN_NONE);
                continue;
            }
            assert_int_equal(p.plan.outcome, RISK_PLAN_PARTIAL);
            c->partial++;
            if (s.health_factor < 1.0)
                assert_true(cross_surplus_of(&b, rb_accs[i], cfg->exit_target, 0.02) >= 0.0);
            assert_int_equal(s2.n_isolated_liquidatable, 0);
            if (pass == 0) /* later, ADL fills have moved accounts the twin book knows nothing of */
                c->minimal_checked += check_minimal(&twin, rb_twins[i], &p, s.health_factor < 1.0, cfg->exit_target);
        }
    }
    print_message("random book seed %llu: %u plans, %u partial, %u limited, %u close-outs (%u with a fund draw, "
                  "%u uncovered), %u reduces checked minimal, %u ADL, %u backstop, %u socialize actions\n",
                  (unsigned long long)cfg->seed, c->planned, c->partial, c->limited, c->closed, c->drawn,
                  c->uncovered, c->minimal_checked, c->adl, c->backstop, c->socialized);
    assert_true(c->planned > 100);
    assert_true(c->partial > 20);
    assert_true(c->minimal_checked > 10);
    for (size_t i = 0; i < N; i++) {
        risk_account_free(rb_accs[i]);
        risk_account_free(rb_twins[i]);
    }
    risk_account_free(b.backstop);
    risk_account_free(twin.backstop);
    risk_engine_free(b.e);
    risk_engine_free(twin.e);
}

static void test_plan_invariants_random_buffer(void **state)
{
    (void)state;
    book_cfg cfg = {RISK_EXIT_BUFFER, 0, 0, 0, 0, 0, 0, 0, 11, 1500};
    book_counts c;
    run_random_book(&cfg, &c);
    assert_true(c.closed > 5 && c.drawn > 0);
}

static void test_plan_invariants_random_initial_penalty(void **state)
{
    (void)state;
    book_cfg cfg = {RISK_EXIT_INITIAL, 1, 0, 0, 0, 0, 0, 0, 12, 1500};
    book_counts c;
    run_random_book(&cfg, &c);
    assert_true(c.closed > 5);
}

/* Aave's close factor and bonus on a book where a third of the accounts borrow. */
static void test_plan_invariants_random_aave_loans(void **state)
{
    (void)state;
    book_cfg cfg = {RISK_EXIT_BUFFER, 0, 1, 0, 0, 0, 0, 1, 13, 1000};
    book_counts c;
    run_random_book(&cfg, &c);
    assert_true(c.limited > 2);
}

/* Nine longs in ten and no insurance fund: the queues run dry and the backstop takes the rest. */
static void test_plan_invariants_random_backstop_unbalanced(void **state)
{
    (void)state;
    book_cfg cfg = {RISK_EXIT_BUFFER, 0, 0, 1, 1, 0, 1, 1, 14, 1000};
    book_counts c;
    run_random_book(&cfg, &c);
    assert_true(c.closed > 5 && c.adl > 0 && c.backstop > 0);
}

/* No fund, no backstop, deficits socialised to the opposite side's profits. */
static void test_plan_invariants_random_socialize_empty_fund(void **state)
{
    (void)state;
    book_cfg cfg = {RISK_EXIT_INITIAL, 1, 0, 1, 0, 1, 1, 0, 15, 1000};
    book_counts c;
    run_random_book(&cfg, &c);
    assert_true(c.closed > 5 && c.socialized > 0);
}

/* ------------------------------------------------------------ risk_engine_liquidate_all */

/* Every plan applied, headers and actions in order. */
typedef struct plan_log {
    size_t n, cap, n_acts, cap_acts;
    risk_liquidation_plan *plans;
    risk_liquidation_action *acts;
} plan_log;

static void log_plan(plan_log *l, const risk_liquidation_plan *p, const risk_liquidation_action *acts, size_t n)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->plans = test_realloc(l->plans, l->cap * sizeof *l->plans);
    }
    l->plans[l->n++] = *p;
    if (l->n_acts + n > l->cap_acts) {
        l->cap_acts = 2 * (l->n_acts + n) + 64;
        l->acts = test_realloc(l->acts, l->cap_acts * sizeof *l->acts);
    }
    if (n)
        memcpy(&l->acts[l->n_acts], acts, n * sizeof *acts);
    l->n_acts += n;
}

static int log_cb(void *user, const risk_liquidation_plan *p, const risk_liquidation_action *acts, size_t n)
{
    assert_int_equal(n, p->n_actions);
    log_plan(user, p, acts, n);
    return RISK_OK;
}

static void log_free(plan_log *l)
{
    test_free(l->plans);
    test_free(l->acts);
}

/* The reference: plan + apply account by account, in creation order, as the CLI does. */
static void liquidate_one_by_one(risk_account **accs, size_t n, plan_log *l)
{
    size_t cap = 64;
    risk_liquidation_action *buf = test_malloc(cap * sizeof *buf);
    for (size_t i = 0; i < n; i++) {
        risk_liquidation_plan p = RISK_LIQUIDATION_PLAN_INIT;
        size_t k = 0;
        int rc = risk_account_liquidation_plan(accs[i], &p, buf, cap, &k);
        if (rc == RISK_EBUFFER) {
            cap = k;
            buf = test_realloc(buf, cap * sizeof *buf);
            p = (risk_liquidation_plan)RISK_LIQUIDATION_PLAN_INIT;
            rc = risk_account_liquidation_plan(accs[i], &p, buf, cap, &k);
        }
        tu_assert_status(rc, RISK_OK);
        if (p.outcome == RISK_PLAN_NONE)
            continue;
        tu_assert_status(risk_account_apply_plan(accs[i], &p, buf, p.n_actions), RISK_OK);
        log_plan(l, &p, buf, p.n_actions);
    }
    test_free(buf);
}

static risk_account *lb_loop[2002], *lb_batch[2002];

/* Two copies of a random book: one liquidated account by account, one by the batch call; the
 * plans, actions, accounts and funds must agree bit for bit. */
static void run_batch_differential(const book_cfg *cfg, unsigned *n_adl, unsigned *n_backstop, unsigned *n_social)
{
    size_t N = cfg->n;
    assert_true(N <= 2000);
    book b, t;
    book_init(&b, cfg);
    book_init(&t, cfg);
    size_t n_all = 0;
    if (b.backstop) {
        lb_loop[0] = b.backstop;
        lb_batch[0] = t.backstop;
        n_all = 1;
    }
    tu_rng r;
    tu_rng_seed(&r, cfg->seed);
    for (size_t i = 0; i < N; i++)
        lb_loop[n_all + i] = random_account(&b, &r, 1000 + i);
    tu_rng_seed(&r, cfg->seed);
    for (size_t i = 0; i < N; i++)
        lb_batch[n_all + i] = random_account(&t, &r, 1000 + i);
    n_all += N;
    book_move(&b, 0.9);
    book_move(&t, 0.9);

    plan_log want = {0}, got = {0};
    liquidate_one_by_one(lb_loop, n_all, &want);
    risk_liquidate_all_options o = RISK_LIQUIDATE_ALL_OPTIONS_INIT;
    o.on_plan = log_cb;
    o.user = &got;
    risk_liquidate_all_result res = RISK_LIQUIDATE_ALL_RESULT_INIT;
    tu_assert_status(risk_engine_liquidate_all(t.e, &o, &res), RISK_OK);

    assert_int_equal(res.n_plans, want.n);
    assert_int_equal(res.n_applied, want.n);
    assert_int_equal(res.n_actions, want.n_acts);
    assert_true(res.failed_account == UINT64_MAX);
    assert_int_equal(got.n, want.n);
    assert_int_equal(got.n_acts, want.n_acts);
    uint64_t close_outs = 0;
    for (size_t k = 0; k < want.n; k++) {
        close_outs += want.plans[k].outcome == RISK_PLAN_CLOSE_OUT;
        assert_memory_equal(&got.plans[k], &want.plans[k], sizeof want.plans[k]);
    }
    assert_int_equal(res.n_close_outs, close_outs);
    *n_adl = *n_backstop = *n_social = 0;
    for (size_t k = 0; k < want.n_acts; k++) {
        assert_memory_equal(&got.acts[k], &want.acts[k], sizeof want.acts[k]);
        *n_adl += want.acts[k].type == RISK_ACTION_ADL;
        *n_backstop += want.acts[k].type == RISK_ACTION_BACKSTOP;
        *n_social += want.acts[k].type == RISK_ACTION_SOCIALIZE;
    }
    for (size_t i = 0; i < n_all; i++) {
        static tu_account_snap snap;
        tu_account_snap_take(lb_loop[i], 5, 5, &snap);
        tu_account_snap_check(lb_batch[i], &snap);
    }
    for (uint32_t asset = 0; asset < 5; asset++) {
        risk_insurance_fund fw = RISK_INSURANCE_FUND_INIT, fg = RISK_INSURANCE_FUND_INIT;
        tu_assert_status(risk_engine_insurance_fund(b.e, asset, &fw), RISK_OK);
        tu_assert_status(risk_engine_insurance_fund(t.e, asset, &fg), RISK_OK);
        assert_memory_equal(&fg, &fw, sizeof fw);
    }
    print_message("batch vs loop, seed %llu: %zu plans (%llu close-outs), %zu actions, %u ADL, %u backstop, "
                  "%u socialize: identical\n",
                  (unsigned long long)cfg->seed, want.n, (unsigned long long)close_outs, want.n_acts, *n_adl,
                  *n_backstop, *n_social);
    /* a second batch on the liquidated book: what is left liquidatable, again identical */
    plan_log want2 = {0};
    liquidate_one_by_one(lb_loop, n_all, &want2);
    risk_liquidate_all_result res2 = RISK_LIQUIDATE_ALL_RESULT_INIT;
    tu_assert_status(risk_engine_liquidate_all(t.e, NULL, &res2), RISK_OK);
    assert_int_equal(res2.n_plans, want2.n);
    assert_int_equal(res2.n_actions, want2.n_acts);
    log_free(&want);
    log_free(&got);
    log_free(&want2);
    for (size_t i = 0; i < n_all; i++) {
        risk_account_free(lb_loop[i]);
        risk_account_free(lb_batch[i]);
    }
    risk_engine_free(b.e);
    risk_engine_free(t.e);
}

static void test_plan_batch_matches_loop_fund(void **state)
{
    (void)state;
    unsigned adl, bs, so;
    book_cfg cfg = {RISK_EXIT_BUFFER, 0, 0, 0, 0, 0, 0, 0, 21, 1500};
    run_batch_differential(&cfg, &adl, &bs, &so);
}

/* No fund, thin queues for longs: ADL fills, then the backstop. */
static void test_plan_batch_matches_loop_adl_backstop(void **state)
{
    (void)state;
    unsigned adl, bs, so;
    book_cfg cfg = {RISK_EXIT_BUFFER, 0, 0, 1, 1, 0, 1, 1, 22, 1500};
    run_batch_differential(&cfg, &adl, &bs, &so);
    assert_true(adl > 50 && bs > 0);
}

/* No fund, no backstop: ADL until the queues run dry, then the market. */
static void test_plan_batch_matches_loop_adl_balanced(void **state)
{
    (void)state;
    unsigned adl, bs, so;
    book_cfg cfg = {RISK_EXIT_INITIAL, 1, 0, 1, 0, 0, 0, 0, 23, 1500};
    run_batch_differential(&cfg, &adl, &bs, &so);
    assert_true(adl > 50);
}

/* Socialised losses, with and without a fund; loans and Aave's close factor. */
static void test_plan_batch_matches_loop_socialize(void **state)
{
    (void)state;
    unsigned adl, bs, so;
    book_cfg empty = {RISK_EXIT_INITIAL, 1, 0, 1, 0, 1, 1, 0, 24, 1000};
    run_batch_differential(&empty, &adl, &bs, &so);
    assert_true(so > 50);
    book_cfg full = {RISK_EXIT_BUFFER, 0, 1, 0, 0, 1, 0, 1, 25, 1000};
    run_batch_differential(&full, &adl, &bs, &so);
}

/* Every allocation of the batch failed in turn: RISK_ENOMEM (failed_account named when plans
 * were made), nothing leaked, and the call succeeds again once memory is back. */
static void test_plan_batch_out_of_memory(void **state)
{
    (void)state;
    book_cfg cfg = {RISK_EXIT_BUFFER, 0, 0, 1, 1, 0, 1, 0, 26, 40};
    static risk_account *accs[64];
    unsigned failed = 0;
    for (uint64_t n = 0;; n++) {
        book b;
        book_init(&b, &cfg);
        tu_rng r;
        tu_rng_seed(&r, cfg.seed);
        for (size_t i = 0; i < cfg.n; i++)
            accs[i] = random_account(&b, &r, 1000 + i);
        book_move(&b, 0.9);
        risk_liquidate_all_result res = RISK_LIQUIDATE_ALL_RESULT_INIT;
        tu_alloc_arm(&b.a, n);
        int rc = risk_engine_liquidate_all(b.e, NULL, &res);
        uint64_t refused = b.a.failures;
        tu_alloc_disarm(&b.a);
        if (rc == RISK_OK)
            assert_true(refused == 0 || res.n_plans > 0);
        else {
            tu_assert_status(rc, RISK_ENOMEM);
            assert_true(res.n_applied <= res.n_plans);
            failed++;
            risk_liquidate_all_result again = RISK_LIQUIDATE_ALL_RESULT_INIT;
            tu_assert_status(risk_engine_liquidate_all(b.e, NULL, &again), RISK_OK);
        }
        for (size_t i = 0; i < cfg.n; i++)
            risk_account_free(accs[i]);
        risk_account_free(b.backstop);
        risk_engine_free(b.e);
        assert_int_equal(b.a.live_blocks, 0);
        if (rc == RISK_OK && refused == 0)
            break;
    }
    print_message("batch out of memory: %u allocations refused in turn\n", failed);
    assert_true(failed > 20);
}

static void test_plan_batch_bad_input(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    risk_liquidate_all_result res = RISK_LIQUIDATE_ALL_RESULT_INIT;
    risk_liquidate_all_options o = RISK_LIQUIDATE_ALL_OPTIONS_INIT;
    tu_assert_status(risk_engine_liquidate_all(NULL, &o, &res), RISK_ENULL);
    tu_assert_status(risk_engine_liquidate_all(e, &o, NULL), RISK_ENULL);
    o.version = 99;
    tu_assert_status(risk_engine_liquidate_all(e, &o, &res), RISK_EVERSION);
    o.version = RISK_LIQUIDATE_ALL_OPTIONS_VERSION;
    res.version = 99;
    tu_assert_status(risk_engine_liquidate_all(e, &o, &res), RISK_EVERSION);
    res.version = RISK_LIQUIDATE_ALL_RESULT_VERSION;
    tu_assert_status(risk_engine_liquidate_all(e, &o, &res), RISK_OK); /* an empty engine */
    assert_int_equal(res.n_plans, 0);
    risk_engine_free(e);
}

static void test_plan_bad_input_changes_nothing(void **state)
{
    (void)state;
    drift_env d;
    drift_init(&d, 0.05, 0.1, 0);
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    risk_liquidation_policy bad = pol;
    bad.fee = -0.01;
    tu_assert_status(risk_engine_set_liquidation_policy(d.e, &bad), RISK_EINVAL);
    tu_assert_errmsg(risk_engine_errmsg(d.e));
    bad = pol;
    bad.buffer = -0.01; /* a target below the trigger */
    tu_assert_status(risk_engine_set_liquidation_policy(d.e, &bad), RISK_EINVAL);
    bad = pol;
    bad.insurance_fee = NAN;
    tu_assert_status(risk_engine_set_liquidation_policy(d.e, &bad), RISK_EINVAL);
    bad = pol;
    bad.close_factor = 0.0;
    tu_assert_status(risk_engine_set_liquidation_policy(d.e, &bad), RISK_EINVAL);
    bad = pol;
    bad.version = 99;
    tu_assert_status(risk_engine_set_liquidation_policy(d.e, &bad), RISK_EVERSION);
    tu_assert_status(risk_engine_set_liquidation_policy(d.e, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_set_instrument_liquidation_policy(d.e, 42, &pol), RISK_ENOTFOUND);
    risk_liquidation_policy got = RISK_LIQUIDATION_POLICY_INIT;
    tu_assert_status(risk_engine_liquidation_policy(d.e, &got), RISK_OK);
    assert_memory_equal(&got, &pol, sizeof pol); /* unchanged: the defaults */
    tu_assert_status(risk_engine_insurance_fund_deposit(d.e, d.usdc, -1.0), RISK_EINVAL);
    tu_assert_status(risk_engine_insurance_fund_deposit(d.e, 99, 1.0), RISK_ENOTFOUND);
    tu_assert_near(fund_balance(d.e, d.usdc), 0.0, 0.0);

    /* an instrument override applies to that instrument only, and can be removed */
    risk_liquidation_policy ov = pol;
    ov.fee = 0.02;
    tu_assert_status(risk_engine_set_instrument_liquidation_policy(d.e, d.perp, &ov), RISK_OK);
    tu_assert_status(risk_engine_instrument_liquidation_policy(d.e, d.perp, &got), RISK_OK);
    tu_assert_near(got.fee, 0.02, 0.0);
    tu_assert_status(risk_engine_set_instrument_liquidation_policy(d.e, d.perp, NULL), RISK_OK);
    tu_assert_status(risk_engine_instrument_liquidation_policy(d.e, d.perp, &got), RISK_OK);
    tu_assert_near(got.fee, 0.0, 0.0);

    risk_account *acc = tu_account(d.e, 7, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, d.usdc, 5.0);
    (void)tu_open_simple(acc, d.perp, 2.0, 100.0);
    risk_liquidation_plan plan = RISK_LIQUIDATION_PLAN_INIT;
    size_t n = 99;
    tu_assert_status(risk_account_liquidation_plan(NULL, &plan, NULL, 0, &n), RISK_ENULL);
    tu_assert_status(risk_account_liquidation_plan(acc, NULL, NULL, 0, &n), RISK_ENULL);
    tu_assert_status(risk_account_liquidation_plan(acc, &plan, NULL, 0, &n), RISK_EBUFFER);
    assert_int_equal(n, 1); /* the length needed */
    tu_assert_errmsg(risk_account_errmsg(acc));
    plan.version = 7;
    tu_assert_status(risk_account_liquidation_plan(acc, &plan, NULL, 0, &n), RISK_EVERSION);

    tu_account_snap snap;
    tu_account_snap_take(acc, 2, 1, &snap);
    plan_out p;
    plan_of(acc, &p);
    plan_out bad_plan = p;
    bad_plan.acts[0].qty = 3.0; /* more than held */
    tu_assert_status(risk_account_apply_plan(acc, &bad_plan.plan, bad_plan.acts, 1), RISK_ESTATE);
    bad_plan = p;
    bad_plan.acts[0].qty = 1.85; /* not whole lots of 0.1 */
    tu_assert_status(risk_account_apply_plan(acc, &bad_plan.plan, bad_plan.acts, 1), RISK_ELOT);
    bad_plan = p;
    bad_plan.acts[0].price = 100.0005;
    tu_assert_status(risk_account_apply_plan(acc, &bad_plan.plan, bad_plan.acts, 1), RISK_ETICK);
    /* the input domain (issue 9): 1e-300 is "0 ticks" or "0 lots", a whole multiple; 1e300 is
     * more than 2^52 ticks */
    bad_plan = p;
    bad_plan.acts[0].price = 1e-300;
    tu_assert_status(risk_account_apply_plan(acc, &bad_plan.plan, bad_plan.acts, 1), RISK_ETICK);
    assert_non_null(strstr(risk_account_errmsg(acc), "below one tick"));
    bad_plan = p;
    bad_plan.acts[0].price = 1e300;
    tu_assert_status(risk_account_apply_plan(acc, &bad_plan.plan, bad_plan.acts, 1), RISK_EINVAL);
    bad_plan = p;
    bad_plan.acts[0].qty = 1e-300;
    tu_assert_status(risk_account_apply_plan(acc, &bad_plan.plan, bad_plan.acts, 1), RISK_ELOT);
    bad_plan = p;
    bad_plan.acts[0].fee = -1.0;
    tu_assert_status(risk_account_apply_plan(acc, &bad_plan.plan, bad_plan.acts, 1), RISK_EINVAL);
    bad_plan = p;
    bad_plan.plan.account_id = 8;
    tu_assert_status(risk_account_apply_plan(acc, &bad_plan.plan, bad_plan.acts, 1), RISK_EINVAL);
    bad_plan = p;
    bad_plan.acts[0].type = 77;
    tu_assert_status(risk_account_apply_plan(acc, &bad_plan.plan, bad_plan.acts, 1), RISK_EINVAL);
    bad_plan = p;
    bad_plan.acts[0].version = 2;
    tu_assert_status(risk_account_apply_plan(acc, &bad_plan.plan, bad_plan.acts, 1), RISK_EVERSION);
    tu_assert_status(risk_account_apply_plan(acc, &p.plan, p.acts, 2), RISK_EINVAL);
    /* a second reduce of the same position beyond what is left */
    bad_plan = p;
    bad_plan.acts[1] = p.acts[0];
    bad_plan.plan.n_actions = 2;
    tu_assert_status(risk_account_apply_plan(acc, &bad_plan.plan, bad_plan.acts, 2), RISK_ESTATE);
    /* a draw the fund cannot cover */
    bad_plan = p;
    memset(&bad_plan.acts[1], 0, sizeof bad_plan.acts[1]);
    bad_plan.acts[1].version = RISK_LIQUIDATION_ACTION_VERSION;
    bad_plan.acts[1].type = RISK_ACTION_INSURANCE;
    bad_plan.acts[1].asset = d.usdc;
    bad_plan.acts[1].amount = -5.0; /* the reduce pays 0 into it: policy has no insurance fee */
    bad_plan.plan.n_actions = 2;
    tu_assert_status(risk_account_apply_plan(acc, &bad_plan.plan, bad_plan.acts, 2), RISK_ESTATE);
    tu_account_snap_check(acc, &snap);
    tu_assert_near(fund_balance(d.e, d.usdc), 0.0, 0.0);
    apply(acc, &p);
    risk_account_free(acc);
    risk_engine_free(d.e);
}

/* ================================================================== out of memory */

typedef struct oom_fx {
    risk_engine *e;
    risk_account *acc, *s1, *s2;
    inverse_env v;
    plan_out p;
    tu_account_snap snap, snap1, snap2;
} oom_fx;

static oom_fx oom_static;

static void *oom_setup(tu_alloc *a)
{
    oom_fx *f = &oom_static;
    memset(f, 0, sizeof *f);
    risk_engine_options o = RISK_ENGINE_OPTIONS_INIT;
    o.allocator = tu_allocator(a);
    tu_assert_status(risk_engine_new(&f->e, &o), RISK_OK);
    uint32_t usd = tu_asset(f->e, "USD", 1.0, 2);
    uint32_t btc = tu_asset(f->e, "BTC", 7700.0, 8);
    (void)usd;
    risk_margin_tier t = one_tier(0.005, 100.0);
    uint32_t inst = tu_inverse(f->e, "BTCUSD", btc, 1.0, 1.0, 0.5, 7700.0, &t, 1);
    f->acc = tu_account(f->e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    tu_leverage(f->acc, inst, 50.0);
    (void)tu_open(f->acc, inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 5000.0, 7890.08, 5000.0 / 7890.08 / 50.0);
    f->s1 = tu_account(f->e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    (void)tu_open_simple(f->s1, inst, -3000.0, 8000.0); /* no balance: the fill creates it */
    f->s2 = tu_account(f->e, 3, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(f->s2, btc, 0.1);
    (void)tu_open_simple(f->s2, inst, -4000.0, 8000.0);
    tu_account_snap_take(f->acc, 2, 1, &f->snap);
    tu_account_snap_take(f->s1, 2, 1, &f->snap1);
    tu_account_snap_take(f->s2, 2, 1, &f->snap2);
    return f;
}

/* The plan and apply calls of the out-of-memory walks, status returned. */
static int plan_status(const risk_account *acc, plan_out *p)
{
    risk_liquidation_plan init = RISK_LIQUIDATION_PLAN_INIT;
    p->plan = init;
    size_t n;
    return risk_account_liquidation_plan(acc, &p->plan, p->acts, MAX_ACTIONS, &n);
}

static int apply_status(risk_account *acc, const plan_out *p)
{
    return risk_account_apply_plan(acc, &p->plan, p->acts, p->plan.n_actions);
}

static int oom_plan_op(void *vf)
{
    oom_fx *f = vf;
    return plan_status(f->acc, &f->p);
}

static int oom_apply_op(void *vf)
{
    oom_fx *f = vf;
    return apply_status(f->acc, &f->p);
}

static void *oom_setup_planned(tu_alloc *a)
{
    oom_fx *f = oom_setup(a);
    tu_alloc_disarm(a);
    tu_assert_status(oom_plan_op(f), RISK_OK);
    return f;
}

static void oom_unchanged(void *vf)
{
    oom_fx *f = vf;
    tu_account_snap_check(f->acc, &f->snap);
    tu_account_snap_check(f->s1, &f->snap1);
    tu_account_snap_check(f->s2, &f->snap2);
}

static void oom_planned(void *vf)
{
    oom_fx *f = vf;
    assert_int_equal(f->p.plan.n_actions, 2);
    oom_unchanged(f);
}

static void oom_applied(void *vf)
{
    oom_fx *f = vf;
    assert_int_equal(risk_account_position_count(f->acc), 0);
    assert_int_equal(risk_account_position_count(f->s1), 0); /* no wallet: the higher leverage, first */
    risk_position *pos = NULL;
    tu_assert_status(risk_account_position_at(f->s2, 0, &pos), RISK_OK);
    tu_assert_near(risk_position_qty(pos), -2000.0, 0.0);
}

static void oom_teardown(void *vf)
{
    oom_fx *f = vf;
    risk_account_free(f->acc);
    risk_account_free(f->s1);
    risk_account_free(f->s2);
    risk_engine_free(f->e);
}

static void test_plan_out_of_memory(void **state)
{
    (void)state;
    tu_oom_case plan = {oom_setup, oom_plan_op, oom_unchanged, oom_planned, oom_teardown};
    assert_true(tu_oom_walk(&plan) > 3);
    tu_oom_case app = {oom_setup_planned, oom_apply_op, oom_unchanged, oom_applied, oom_teardown};
    assert_true(tu_oom_walk(&app) > 1); /* the check's shadow, the new balance of s1 */
}

/* The backstop path: the backstop account opens a position and realises into a new balance;
 * the release path (defect 2): healthy isolated legs tried with repayments after them. */
typedef struct oom_bs {
    risk_engine *e;
    risk_account *acc, *backstop;
    plan_out p;
    tu_account_snap snap, snap_b;
    int release; /* the release fixture instead of the backstop one */
} oom_bs;

static oom_bs oom_bs_static;

static void *oom_bs_setup_with(tu_alloc *a, int release)
{
    oom_bs *f = &oom_bs_static;
    memset(f, 0, sizeof *f);
    f->release = release;
    risk_engine_options o = RISK_ENGINE_OPTIONS_INIT;
    o.allocator = tu_allocator(a);
    tu_assert_status(risk_engine_new(&f->e, &o), RISK_OK);
    uint32_t usdt = tu_asset(f->e, "USDT", 1.0, 6);
    risk_margin_tier t = one_tier(0.01, 50.0);
    if (!release) {
        uint32_t doge = tu_asset(f->e, "DOGE", 0.1, 8);
        uint32_t perp = tu_linear(f->e, "DOGEUSDT", doge, usdt, 1.0, 1.0, 0.00001, 0.1, &t, 1);
        risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
        pol.has_backstop = 1;
        pol.backstop_account = 99;
        set_policy(f->e, &pol);
        f->acc = tu_account(f->e, 7, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(f->acc, usdt, 33.155);
        (void)tu_open_simple(f->acc, perp, 3316.0, 0.11);
        f->backstop = tu_account(f->e, 99, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    } else {
        uint32_t usdc = tu_asset_w(f->e, "USDC", 1.0, 6, 1.0, 1.0, 1.1, 1.1);
        uint32_t btc = tu_asset(f->e, "BTC", 100.0, 8);
        uint32_t p1 = tu_linear(f->e, "P1", btc, usdt, 1.0, 1.0, 0.1, 100.0, &t, 1);
        uint32_t p2 = tu_linear(f->e, "P2", btc, usdt, 1.0, 1.0, 0.1, 100.0, &t, 1);
        f->acc = tu_account(f->e, 5, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(f->acc, usdt, 500.0);
        tu_balance(f->acc, usdc, -1000.0);
        (void)tu_open(f->acc, p1, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 100.0, 100.0, 1000.0);
        (void)tu_open(f->acc, p2, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 100.0, 100.0, 2000.0);
        f->backstop = tu_account(f->e, 99, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    }
    size_t n_assets = release ? 3 : 2, n_instruments = release ? 2 : 1;
    tu_account_snap_take(f->acc, n_assets, n_instruments, &f->snap);
    tu_account_snap_take(f->backstop, n_assets, n_instruments, &f->snap_b);
    return f;
}

static void *oom_bs_setup(tu_alloc *a)
{
    return oom_bs_setup_with(a, 0);
}

static void *oom_release_setup(tu_alloc *a)
{
    return oom_bs_setup_with(a, 1);
}

static int oom_bs_plan(void *vf)
{
    oom_bs *f = vf;
    return plan_status(f->acc, &f->p);
}

static int oom_bs_apply(void *vf)
{
    oom_bs *f = vf;
    return apply_status(f->acc, &f->p);
}

static void *oom_bs_setup_planned(tu_alloc *a)
{
    oom_bs *f = oom_bs_setup(a);
    tu_alloc_disarm(a);
    tu_assert_status(oom_bs_plan(f), RISK_OK);
    return f;
}

static void oom_bs_unchanged(void *vf)
{
    oom_bs *f = vf;
    tu_account_snap_check(f->acc, &f->snap);
    tu_account_snap_check(f->backstop, &f->snap_b);
}

static void oom_bs_planned(void *vf)
{
    oom_bs *f = vf;
    assert_int_equal(f->p.plan.n_actions, 1);
    assert_int_equal(f->p.acts[0].type, f->release ? RISK_ACTION_REDUCE : RISK_ACTION_BACKSTOP);
    oom_bs_unchanged(f);
}

static void oom_bs_applied(void *vf)
{
    oom_bs *f = vf;
    assert_int_equal(risk_account_position_count(f->acc), 0);
    assert_int_equal(risk_account_position_count(f->backstop), 1);
}

static void oom_bs_teardown(void *vf)
{
    oom_bs *f = vf;
    risk_account_free(f->acc);
    risk_account_free(f->backstop);
    risk_engine_free(f->e);
}

static void test_plan_out_of_memory_backstop_and_release(void **state)
{
    (void)state;
    tu_oom_case plan = {oom_bs_setup, oom_bs_plan, oom_bs_unchanged, oom_bs_planned, oom_bs_teardown};
    assert_true(tu_oom_walk(&plan) > 2);
    tu_oom_case app = {oom_bs_setup_planned, oom_bs_apply, oom_bs_unchanged, oom_bs_applied, oom_bs_teardown};
    assert_true(tu_oom_walk(&app) > 1); /* the check's shadow, the backstop's position */
    tu_oom_case rel = {oom_release_setup, oom_bs_plan, oom_bs_unchanged, oom_bs_planned, oom_bs_teardown};
    assert_true(tu_oom_walk(&rel) > 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_drift_perp_liquidation),
        cmocka_unit_test(test_plan_drift_sizing),
        cmocka_unit_test(test_plan_dydx_fillable_price),
        cmocka_unit_test(test_plan_dydx_insurance_take),
        cmocka_unit_test(test_plan_aave_close_factor),
        cmocka_unit_test(test_plan_aave_collateral_short),
        cmocka_unit_test(test_plan_bybit_adl_bankruptcy_price),
        cmocka_unit_test(test_plan_binance_adl_score_order),
        cmocka_unit_test(test_plan_steps_down_a_tier_and_healthy_is_empty),
        cmocka_unit_test(test_plan_close_out_without_counterparty_ends_flat),
        cmocka_unit_test(test_plan_fund_covers_part_of_a_deficit),
        cmocka_unit_test(test_plan_backstop_takes_over_at_bankruptcy_price),
        cmocka_unit_test(test_plan_socialized_deficit),
        cmocka_unit_test(test_plan_socialized_loss_in_two_assets_on_one_counterparty),
        cmocka_unit_test(test_plan_releases_one_isolated_leg_before_a_close_out),
        cmocka_unit_test(test_plan_closes_a_skipped_position_to_repay_a_loan),
        cmocka_unit_test(test_plan_unreachable_target_is_a_close_out_not_limited),
        cmocka_unit_test(test_plan_full_repayment_leaves_no_dust),
        cmocka_unit_test(test_plan_names_the_isolated_trigger),
        cmocka_unit_test(test_plan_version_1_structs),
        cmocka_unit_test(test_plan_largest_positions_end),
        cmocka_unit_test(test_plan_isolated_loss_beyond_margin_reaches_the_cross_pool),
        cmocka_unit_test(test_plan_invariants_random_buffer),
        cmocka_unit_test(test_plan_invariants_random_initial_penalty),
        cmocka_unit_test(test_plan_invariants_random_aave_loans),
        cmocka_unit_test(test_plan_invariants_random_backstop_unbalanced),
        cmocka_unit_test(test_plan_invariants_random_socialize_empty_fund),
        cmocka_unit_test(test_plan_batch_matches_loop_fund),
        cmocka_unit_test(test_plan_batch_matches_loop_adl_backstop),
        cmocka_unit_test(test_plan_batch_matches_loop_adl_balanced),
        cmocka_unit_test(test_plan_batch_matches_loop_socialize),
        cmocka_unit_test(test_plan_batch_bad_input),
        cmocka_unit_test(test_plan_batch_out_of_memory),
        cmocka_unit_test(test_plan_bad_input_changes_nothing),
        cmocka_unit_test(test_plan_out_of_memory),
        cmocka_unit_test(test_plan_out_of_memory_backstop_and_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
