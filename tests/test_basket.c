/* SPDX-License-Identifier: Apache-2.0 */
/* test_basket.c: collateral baskets: balances, valuation with weights and value tiers,
 * liabilities, LTV and health factor, quantization, bad input, out-of-memory paths. */
#include "test_util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static risk_basket *new_basket(risk_engine *e)
{
    risk_basket *b = NULL;
    tu_assert_status(risk_basket_new(&b, e), RISK_OK);
    assert_non_null(b);
    return b;
}

static void set_bal(risk_basket *b, uint32_t asset, double amount)
{
    int rc = risk_basket_set_balance(b, asset, amount);
    if (rc != RISK_OK)
        print_error("set_balance: %s\n", risk_basket_errmsg(b));
    tu_assert_status(rc, RISK_OK);
}

static double bal(const risk_basket *b, uint32_t asset)
{
    double x = -12345.0;
    tu_assert_status(risk_basket_balance(b, asset, &x), RISK_OK);
    return x;
}

/* ================================================================== balances */

static void test_basket_balances_set_add_remove(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    risk_basket *b = new_basket(e);
    assert_string_equal(risk_basket_errmsg(b), "");
    tu_assert_bits(bal(b, usdt), 0.0);
    set_bal(b, usdt, 100.0);
    tu_assert_bits(bal(b, usdt), 100.0);
    tu_assert_status(risk_basket_add_balance(b, usdt, 25.5), RISK_OK);
    tu_assert_bits(bal(b, usdt), 125.5);
    tu_assert_status(risk_basket_add_balance(b, btc, -0.25), RISK_OK); /* borrow from nothing */
    tu_assert_bits(bal(b, btc), -0.25);
    risk_basket_summary s = tu_basket_eval(b);
    assert_int_equal(s.n_assets, 2);
    set_bal(b, usdt, 0.0); /* removes */
    s = tu_basket_eval(b);
    assert_int_equal(s.n_assets, 1);
    tu_assert_bits(bal(b, usdt), 0.0);
    tu_assert_status(risk_basket_add_balance(b, btc, 0.25), RISK_OK); /* back to zero */
    s = tu_basket_eval(b);
    assert_int_equal(s.n_assets, 0);
    risk_basket_free(b);
    risk_basket_free(NULL); /* no-op */
    risk_engine_free(e);
}

static void test_basket_evaluate_empty(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    (void)tu_asset(e, "USDT", 1.0, 6);
    risk_basket *b = new_basket(e);
    risk_basket_summary s = tu_basket_eval(b);
    assert_int_equal(s.version, RISK_BASKET_SUMMARY_VERSION);
    assert_int_equal(s.n_assets, 0);
    tu_assert_bits(s.collateral_value, 0.0);
    tu_assert_bits(s.collateral_init, 0.0);
    tu_assert_bits(s.collateral_maint, 0.0);
    tu_assert_bits(s.liabilities, 0.0);
    tu_assert_bits(s.liabilities_init, 0.0);
    tu_assert_bits(s.liabilities_maint, 0.0);
    tu_assert_bits(s.net_value, 0.0);
    tu_assert_bits(s.ltv, 0.0);
    assert_true(isinf(s.health_factor) && s.health_factor > 0);
    risk_basket_free(b);
    risk_engine_free(e);
}

/* Every field from the definitions in basket.h (unquantized engine). */
static void test_basket_definitions(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, RISK_ENGINE_NO_QUANTIZE);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset_w(e, "BTC", 50000.0, 8, 0.9, 0.95, 1.0, 1.0);
    uint32_t eth = tu_asset_w(e, "ETH", 3000.0, 8, 0.8, 0.9, 1.2, 1.1);
    risk_asset_spec sol_spec = RISK_ASSET_SPEC_INIT;
    static const risk_value_tier sol_tiers[] = {{5.0, 1.0}, {8.0, 0.5}};
    sol_spec.symbol = "SOL";
    sol_spec.price = 150.0;
    sol_spec.value_tiers = sol_tiers;
    sol_spec.n_value_tiers = 2;
    uint32_t sol = 99;
    tu_assert_status(risk_engine_add_asset(e, &sol_spec, &sol), RISK_OK);

    risk_basket *b = new_basket(e);
    set_bal(b, usdt, 1000.0);
    set_bal(b, btc, 0.5);
    set_bal(b, eth, -2.0);
    set_bal(b, sol, 10.0); /* 5 at 1, 3 at 0.5, 2 above the last bound at 0 */
    risk_basket_summary s = tu_basket_eval(b);
    assert_int_equal(s.n_assets, 4);
    const double sol_value = 150.0 * (5.0 + 3.0 * 0.5);
    tu_assert_rel(s.collateral_value, 1000.0 + 25000.0 + sol_value, 1e-14);
    tu_assert_rel(s.collateral_init, 1000.0 + 25000.0 * 0.9 + sol_value, 1e-14);
    tu_assert_rel(s.collateral_maint, 1000.0 + 25000.0 * 0.95 + sol_value, 1e-14);
    tu_assert_rel(s.liabilities, 6000.0, 1e-14);
    tu_assert_rel(s.liabilities_init, 7200.0, 1e-14);
    tu_assert_rel(s.liabilities_maint, 6600.0, 1e-14);
    tu_assert_rel(s.net_value, 1000.0 + 25000.0 - 6000.0 + 1500.0, 1e-14);
    tu_assert_rel(s.ltv, 6000.0 / (26000.0 + sol_value), 1e-14);
    tu_assert_rel(s.health_factor, (1000.0 + 23750.0 + sol_value) / 6600.0, 1e-14);

    /* Prices come from the engine at evaluation time. */
    tu_price(e, btc, 40000.0);
    s = tu_basket_eval(b);
    tu_assert_rel(s.collateral_value, 1000.0 + 20000.0 + sol_value, 1e-14);
    tu_assert_rel(s.collateral_maint, 1000.0 + 19000.0 + sol_value, 1e-14);
    risk_basket_free(b);
    risk_engine_free(e);
}

/* ================================================================== published examples */

/*
 * W15, Bybit tiered collateral value ratio (UTA). Tier table from
 * https://testnet.bytick.com/en/help-center/article/Assets-Collateral-Value-Ratio-List-UTA
 * BTC 0-10: 0.98, 10-20: 0.95, 20-30: 0.90, 30-40: 0.85, 40-50: 0.80, above 50: 0.
 * 5 BTC -> 4.9, 25 -> 23.8, 45 -> 40.8, 60 -> 44.8 BTC-equivalent.
 */
static void test_basket_bybit_tiered_collateral_w15(void **state)
{
    (void)state;
    static const risk_value_tier btc_tiers[] = {
        {10.0, 0.98}, {20.0, 0.95}, {30.0, 0.90}, {40.0, 0.85}, {50.0, 0.80}};
    const double held[] = {5.0, 25.0, 45.0, 60.0, 10.0, 50.0, 1000.0};
    const double want[] = {4.9, 23.8, 40.8, 44.8, 9.8, 44.8, 44.8};
    for (int quantize = 0; quantize < 2; quantize++) {
        tu_alloc a;
        tu_alloc_init(&a);
        risk_engine *e = tu_engine(&a, quantize ? 0u : RISK_ENGINE_NO_QUANTIZE);
        (void)tu_asset(e, "USDT", 1.0, 6);
        risk_asset_spec s = RISK_ASSET_SPEC_INIT;
        s.symbol = "BTC";
        s.price = 50000.0;
        s.value_tiers = btc_tiers;
        s.n_value_tiers = 5;
        uint32_t btc = 0;
        tu_assert_status(risk_engine_add_asset(e, &s, &btc), RISK_OK);
        risk_basket *b = new_basket(e);
        for (size_t i = 0; i < sizeof held / sizeof held[0]; i++) {
            set_bal(b, btc, held[i]);
            risk_basket_summary bs = tu_basket_eval(b);
            tu_assert_near(bs.collateral_value / 50000.0, want[i], 1e-9);
            /* Weights 1: the weighted values equal the tiered value. */
            tu_assert_near(bs.collateral_maint / 50000.0, want[i], 1e-9);
            /* net_value is untiered. */
            tu_assert_near(bs.net_value / 50000.0, held[i], 1e-9);
        }
        risk_basket_free(b);
        risk_engine_free(e);
    }
}

/*
 * Aave v3 health factor, A2 in research/defi-anchors.md, derived from GenericLogic.sol
 * (https://github.com/aave/aave-v3-core/blob/master/contracts/protocol/libraries/logic/GenericLogic.sol)
 * and https://docs.aave.com/risk/asset-risk/risk-parameters#health-factor:
 * HF = sum(collateral x LT) / debt. WETH $2,000, LTV 80 %, LT 82.5 %; USDC $1, LT 85 %.
 * 1 WETH vs 1,500 USDC debt: HF 1.10 and available borrows $100.
 */
static void test_basket_aave_health_factor_a2(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    uint32_t weth = tu_asset_w(e, "WETH", 2000.0, 18, 0.80, 0.825, 1.0, 1.0);
    risk_basket *b = new_basket(e);
    set_bal(b, weth, 1.0);
    set_bal(b, usdc, -1500.0);
    risk_basket_summary s = tu_basket_eval(b);
    tu_assert_near(s.health_factor, 1.10, 0.005); /* published to 2 decimals */
    tu_assert_rel(s.health_factor, 1650.0 / 1500.0, 1e-9);
    tu_assert_rel(s.ltv, 0.75, 1e-9);
    tu_assert_rel(s.collateral_init - s.liabilities_init, 100.0, 1e-9); /* available borrows */

    /* The same book as an account: HF and available = C_init - R_init. */
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, weth, 1.0);
    tu_balance(acc, usdc, -1500.0);
    risk_account_summary as = tu_eval(acc);
    tu_assert_rel(as.health_factor, 1650.0 / 1500.0, 1e-9);
    tu_assert_rel(as.available, 100.0, 1e-9);
    tu_assert_rel(as.ltv, 0.75, 1e-9);
    tu_assert_rel(as.equity, 500.0, 1e-9);
    assert_int_equal(as.state, RISK_STATE_MARGIN_CALL); /* 1 <= 1.1 < 1.2 */
    risk_account_free(acc);
    risk_basket_free(b);
    risk_engine_free(e);
}

/*
 * Aave A2, second case: 1 WETH (LT 82.5 %) + 1,000 USDC collateral (LT 85 %) against 2,000 USDC
 * debt: avg LT = (1,650 + 850) / 3,000, HF = 2,500 / 2,000 = 1.25. A basket holds one balance per
 * asset, so the supplied USDC is its own asset "aUSDC" (as Aave's aToken is).
 */
static void test_basket_aave_health_factor_a2_two_collaterals(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    uint32_t weth = tu_asset_w(e, "WETH", 2000.0, 18, 0.80, 0.825, 1.0, 1.0);
    uint32_t ausdc = tu_asset_w(e, "aUSDC", 1.0, 6, 0.77, 0.85, 1.0, 1.0);
    risk_basket *b = new_basket(e);
    set_bal(b, weth, 1.0);
    set_bal(b, ausdc, 1000.0);
    set_bal(b, usdc, -2000.0);
    risk_basket_summary s = tu_basket_eval(b);
    tu_assert_near(s.health_factor, 1.25, 0.005);
    tu_assert_rel(s.health_factor, 2500.0 / 2000.0, 1e-9);
    tu_assert_rel(s.collateral_value, 3000.0, 1e-9);
    tu_assert_rel(s.collateral_maint, 2500.0, 1e-9);
    risk_basket_free(b);
    risk_engine_free(e);
}

static void test_basket_ltv_without_collateral_is_infinite(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    risk_basket *b = new_basket(e);
    set_bal(b, usdc, -10.0);
    risk_basket_summary s = tu_basket_eval(b);
    assert_true(isinf(s.ltv) && s.ltv > 0);
    tu_assert_bits(s.health_factor, 0.0);
    tu_assert_near(s.net_value, -10.0, 1e-12);
    risk_basket_free(b);
    risk_engine_free(e);
}

/* Quantized to V's decimals: values down, liabilities up (DESIGN.md section 4). */
static void test_basket_quantization_against_the_holder(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *q = tu_engine(&a, 0);
    risk_engine *x = tu_engine(&a, RISK_ENGINE_NO_QUANTIZE);
    risk_engine *engines[2] = {q, x};
    risk_basket *bs[2];
    for (int k = 0; k < 2; k++) {
        (void)tu_asset(engines[k], "USD", 1.0, 2);
        uint32_t third = tu_asset(engines[k], "THIRD", 1.0 / 3.0, 8);
        uint32_t sixth = tu_asset(engines[k], "SIXTH", 1.0 / 6.0, 8);
        bs[k] = new_basket(engines[k]);
        set_bal(bs[k], third, 1.0);  /* 0.3333... */
        set_bal(bs[k], sixth, -1.0); /* 0.1666... */
    }
    risk_basket_summary sq = tu_basket_eval(bs[0]);
    risk_basket_summary sx = tu_basket_eval(bs[1]);
    tu_assert_rel(sx.collateral_value, 1.0 / 3.0, 1e-15);
    tu_assert_rel(sx.liabilities, 1.0 / 6.0, 1e-15);
    tu_assert_near(sq.collateral_value, 0.33, 1e-12);
    tu_assert_near(sq.collateral_init, 0.33, 1e-12);
    tu_assert_near(sq.collateral_maint, 0.33, 1e-12);
    tu_assert_near(sq.liabilities, 0.17, 1e-12);
    tu_assert_near(sq.liabilities_init, 0.17, 1e-12);
    tu_assert_near(sq.liabilities_maint, 0.17, 1e-12);
    tu_assert_near(sq.net_value, 0.16, 1e-12); /* 0.1666... down */
    /* Ratios from the quantized values. */
    tu_assert_rel(sq.ltv, 0.17 / 0.33, 1e-12);
    tu_assert_rel(sq.health_factor, 0.33 / 0.17, 1e-12);
    risk_basket_free(bs[0]);
    risk_basket_free(bs[1]);
    risk_engine_free(q);
    risk_engine_free(x);
}

/* ================================================================== bad input */

static void test_basket_new_rejects_null(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    tu_assert_status(risk_basket_new(NULL, e), RISK_ENULL);
    risk_basket *b = (risk_basket *)&a;
    tu_assert_status(risk_basket_new(&b, NULL), RISK_ENULL);
    assert_null(b);
    risk_engine_free(e);
    assert_int_equal(a.live_blocks, 0);
}

static void test_basket_rejects_bad_input(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t tiny = tu_asset(e, "TINY", RISK_PRICE_MIN, 8);
    risk_basket *b = new_basket(e);
    set_bal(b, usdt, 100.0);
    set_bal(b, tiny, 9e7 * 0.75); /* 3/4 of the domain's 2^53 satoshi-sized quanta */
    tu_basket_snap snap;
    tu_basket_snap_take(b, 2, &snap);

    const double bad[] = {NAN, -NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_assert_status(risk_basket_set_balance(b, usdt, bad[i]), RISK_EINVAL);
        tu_assert_errmsg(risk_basket_errmsg(b));
        tu_basket_snap_check(b, &snap);
        tu_assert_status(risk_basket_add_balance(b, usdt, bad[i]), RISK_EINVAL);
        tu_assert_errmsg(risk_basket_errmsg(b));
        tu_basket_snap_check(b, &snap);
    }
    /* A sum that leaves the domain (it overflowed at DBL_MAX before). */
    tu_assert_status(risk_basket_add_balance(b, tiny, 9e7 * 0.75), RISK_EINVAL);
    tu_assert_errmsg(risk_basket_errmsg(b));
    tu_basket_snap_check(b, &snap);
    /* Unknown assets. */
    tu_assert_status(risk_basket_set_balance(b, 2, 1.0), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_basket_errmsg(b));
    tu_assert_status(risk_basket_add_balance(b, RISK_ID_NONE, 1.0), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_basket_errmsg(b));
    double x = 0;
    tu_assert_status(risk_basket_balance(b, 5, &x), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_basket_errmsg(b));
    tu_basket_snap_check(b, &snap);
    /* NULL handles and outputs. */
    tu_assert_status(risk_basket_set_balance(NULL, usdt, 1.0), RISK_ENULL);
    tu_assert_status(risk_basket_add_balance(NULL, usdt, 1.0), RISK_ENULL);
    tu_assert_status(risk_basket_balance(NULL, usdt, &x), RISK_ENULL);
    tu_assert_status(risk_basket_balance(b, usdt, NULL), RISK_ENULL);
    tu_assert_errmsg(risk_basket_errmsg(b));
    tu_assert_status(risk_basket_evaluate(NULL, NULL), RISK_ENULL);
    tu_assert_status(risk_basket_evaluate(b, NULL), RISK_ENULL);
    risk_basket_summary s = RISK_BASKET_SUMMARY_INIT;
    tu_assert_status(risk_basket_evaluate(NULL, &s), RISK_ENULL);
    /* Wrong summary versions. */
    s.version = 0;
    tu_assert_status(risk_basket_evaluate(b, &s), RISK_EVERSION);
    tu_assert_errmsg(risk_basket_errmsg(b));
    s.version = RISK_BASKET_SUMMARY_VERSION + 1;
    tu_assert_status(risk_basket_evaluate(b, &s), RISK_EVERSION);
    tu_basket_snap_check(b, &snap);
    risk_basket_free(b);
    risk_engine_free(e);
}

/* The basket of an account belongs to the account: risk_basket_free ignores it. */
static void test_basket_account_basket_not_freed(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_basket *b = risk_account_basket(acc);
    assert_non_null(b);
    assert_ptr_equal(b, risk_account_basket(acc));
    assert_null(risk_account_basket(NULL));
    set_bal(b, usdt, 10.0);
    risk_basket_free(b); /* ignored */
    set_bal(b, usdt, 20.0);
    risk_account_summary s = tu_eval(acc);
    tu_assert_near(s.equity, 20.0, 1e-9);
    risk_account_free(acc);
    risk_engine_free(e);
    assert_int_equal(a.live_blocks, 0);
}

/* A basket keeps its engine alive. */
static void test_basket_outlives_engine(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 30000.0, 8);
    risk_basket *b = new_basket(e);
    risk_engine_free(e);
    set_bal(b, usdt, 5.0);
    set_bal(b, btc, 1.0);
    risk_basket_summary s = tu_basket_eval(b);
    tu_assert_near(s.collateral_value, 30005.0, 1e-9);
    risk_basket_free(b);
    assert_int_equal(a.live_blocks, 0);
}

static void test_basket_many_assets(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, RISK_ENGINE_NO_QUANTIZE);
    char sym[16];
    uint32_t ids[100];
    for (int i = 0; i < 100; i++) {
        snprintf(sym, sizeof sym, "T%d", i);
        ids[i] = tu_asset(e, sym, 1.0, 6);
    }
    risk_basket *b = new_basket(e);
    double want = 0;
    for (int i = 99; i >= 0; i--) {
        set_bal(b, ids[i], (double)(i + 1));
        want += (double)(i + 1);
    }
    risk_basket_summary s = tu_basket_eval(b);
    assert_int_equal(s.n_assets, 100);
    tu_assert_rel(s.collateral_value, want, 1e-15);
    for (int i = 0; i < 100; i += 3)
        set_bal(b, ids[i], 0.0);
    s = tu_basket_eval(b);
    assert_int_equal(s.n_assets, 66);
    for (int i = 0; i < 100; i++)
        tu_assert_bits(bal(b, ids[i]), i % 3 == 0 ? 0.0 : (double)(i + 1));
    risk_basket_free(b);
    risk_engine_free(e);
}

/* ================================================================== out of memory */

typedef struct {
    risk_engine *e;
    risk_basket *b;
    tu_engine_snap esnap;
    tu_basket_snap bsnap;
    size_t mem;
} bfx;

static void *oom_new_setup(tu_alloc *a)
{
    bfx *f = test_calloc(1, sizeof *f);
    f->e = tu_engine(a, 0);
    (void)tu_asset(f->e, "USDT", 1.0, 6);
    tu_engine_snap_take(f->e, &f->esnap);
    return f;
}

static int oom_new_op(void *p)
{
    bfx *f = p;
    f->b = (risk_basket *)f;
    return risk_basket_new(&f->b, f->e);
}

static void oom_new_failed(void *p)
{
    bfx *f = p;
    assert_null(f->b);
    tu_engine_snap_check(f->e, &f->esnap, 0);
}

static void oom_new_ok(void *p)
{
    bfx *f = p;
    assert_non_null(f->b);
    set_bal(f->b, 0, 1.0);
}

static void bfx_teardown(void *p)
{
    bfx *f = p;
    if (f->b != (risk_basket *)f)
        risk_basket_free(f->b);
    risk_engine_free(f->e);
    test_free(f);
}

static void test_basket_new_out_of_memory(void **state)
{
    (void)state;
    tu_oom_case c = {oom_new_setup, oom_new_op, oom_new_failed, oom_new_ok, bfx_teardown};
    assert_true(tu_oom_walk(&c) >= 1);
}

static void *oom_set_setup(tu_alloc *a)
{
    bfx *f = test_calloc(1, sizeof *f);
    f->e = tu_engine(a, 0);
    char sym[8];
    for (int i = 0; i < 12; i++) {
        snprintf(sym, sizeof sym, "A%d", i);
        (void)tu_asset(f->e, sym, 1.0 + i, 6);
    }
    f->b = new_basket(f->e);
    for (int i = 0; i < 9; i++)
        set_bal(f->b, (uint32_t)i, 1.0 + i);
    tu_basket_snap_take(f->b, 12, &f->bsnap);
    return f;
}

static int oom_set_op(void *p)
{
    bfx *f = p;
    return risk_basket_set_balance(f->b, 10, -3.0); /* a new asset entry */
}

static int oom_add_op(void *p)
{
    bfx *f = p;
    return risk_basket_add_balance(f->b, 11, 2.0); /* a new asset entry */
}

static void oom_set_failed(void *p)
{
    bfx *f = p;
    tu_assert_errmsg(risk_basket_errmsg(f->b));
    tu_basket_snap_check(f->b, &f->bsnap);
}

static void oom_set_ok(void *p)
{
    bfx *f = p;
    risk_basket_summary s = tu_basket_eval(f->b);
    assert_int_equal(s.n_assets, 10);
}

static void test_basket_set_balance_out_of_memory(void **state)
{
    (void)state;
    tu_oom_case c = {oom_set_setup, oom_set_op, oom_set_failed, oom_set_ok, bfx_teardown};
    (void)tu_oom_walk(&c);
    tu_oom_case d = {oom_set_setup, oom_add_op, oom_set_failed, oom_set_ok, bfx_teardown};
    (void)tu_oom_walk(&d);
}

/* Growing a basket one asset at a time, every step walked. */
static int oom_grow_step;

static int oom_grow_op(void *p)
{
    bfx *f = p;
    int rc = RISK_OK;
    for (int i = 0; i < oom_grow_step && rc == RISK_OK; i++)
        rc = risk_basket_set_balance(f->b, (uint32_t)i, 2.0 + i);
    return rc;
}

static void *oom_grow_setup(tu_alloc *a)
{
    bfx *f = test_calloc(1, sizeof *f);
    f->e = tu_engine(a, 0);
    char sym[8];
    for (int i = 0; i < 40; i++) {
        snprintf(sym, sizeof sym, "G%d", i);
        (void)tu_asset(f->e, sym, 1.0, 6);
    }
    f->b = new_basket(f->e);
    return f;
}

static void oom_grow_failed(void *p)
{
    bfx *f = p;
    /* Every call before the failing one took effect, the failing one did not. */
    risk_basket_summary s = tu_basket_eval(f->b);
    assert_true(s.n_assets < (uint32_t)oom_grow_step);
    for (uint32_t i = 0; i < 40; i++)
        tu_assert_bits(bal(f->b, i), i < s.n_assets ? 2.0 + i : 0.0);
}

static void test_basket_growth_out_of_memory(void **state)
{
    (void)state;
    oom_grow_step = 40;
    tu_oom_case c = {oom_grow_setup, oom_grow_op, oom_grow_failed, NULL, bfx_teardown};
    assert_true(tu_oom_walk(&c) >= 1);
}

/* Issue 9 defect 6: past ~1.1e15 quanta the rounding tolerance (4 ulps) exceeded a quantum, so
 * rounding up fell below the exact value: a debt of exactly 2e9 USDT (2e15 quanta) reported
 * liabilities of 1,999,999,999.999999. Up stays at or above the exact value, down at or below,
 * at every scale up to 2^52 quanta. */
static void test_basket_rounding_holds_at_large_amounts(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    risk_basket *b = new_basket(e);
    set_bal(b, usdt, -2e9);
    risk_basket_summary s = RISK_BASKET_SUMMARY_INIT;
    tu_assert_status(risk_basket_evaluate(b, &s), RISK_OK);
    assert_true(s.liabilities == 2e9);
    for (double amount = 1e6; amount < 4.5e9; amount *= 1.37) {
        double x = floor(amount * 1e6) / 1e6; /* a decimal of 6 places, as a double */
        set_bal(b, usdt, -x);
        tu_assert_status(risk_basket_evaluate(b, &s), RISK_OK);
        assert_true(s.liabilities >= x);
        set_bal(b, usdt, x);
        tu_assert_status(risk_basket_evaluate(b, &s), RISK_OK);
        assert_true(s.collateral_value <= x);
    }
    risk_basket_free(b);
    risk_engine_free(e);
}


/* Issue 9 defect 5: a BTC balance of DBL_MAX gave equity inf, ltv_buffer NaN and "healthy".
 * Balances are at most 2^53 quanta of 10^-min(decimals, 8): the largest is accepted and valued
 * finite and rounded against the holder, the next double is refused, and so is a sum past it. */
static void test_basket_balance_domain_edges(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usd = tu_asset(e, "USD", 1.0, 6);
    char sym[8];
    uint32_t ids[19];
    for (uint32_t d = 0; d <= 18; d++) {
        snprintf(sym, sizeof sym, "A%u", d);
        ids[d] = tu_asset(e, sym, RISK_PRICE_MAX, d);
    }
    risk_basket *b = new_basket(e);
    for (uint32_t d = 0; d <= 18; d++) {
        double max = RISK_AMOUNT_QUANTA_MAX / pow(10.0, d < 8 ? d : 8);
        for (int sign = -1; sign <= 1; sign += 2) {
            set_bal(b, ids[d], sign * max);
            set_bal(b, usd, -sign * RISK_AMOUNT_QUANTA_MAX / 1e6);
            risk_basket_summary s = tu_basket_eval(b);
            const double f[] = {s.collateral_value, s.collateral_init, s.collateral_maint, s.liabilities,
                                s.liabilities_init, s.liabilities_maint, s.net_value, s.ltv, s.health_factor};
            for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
                assert_true(isfinite(f[i]));
            long double exact = (long double)max * RISK_PRICE_MAX; /* beyond 2^52 quanta: not quantized */
            if (sign > 0)
                assert_true((long double)s.collateral_value == (long double)(max * RISK_PRICE_MAX) &&
                            fabsl(s.collateral_value - exact) <= exact * 0x1p-53);
            else
                assert_true(s.liabilities == max * RISK_PRICE_MAX);
            tu_basket_snap snap;
            tu_basket_snap_take(b, 20, &snap);
            tu_assert_status(risk_basket_set_balance(b, ids[d], sign * nextafter(max, INFINITY)), RISK_EINVAL);
            assert_non_null(strstr(risk_basket_errmsg(b), "2^53 quanta"));
            tu_assert_status(risk_basket_add_balance(b, ids[d], sign * max), RISK_EINVAL);
            assert_non_null(strstr(risk_basket_errmsg(b), "the balance after the delta would be"));
            tu_assert_status(risk_basket_set_balance(b, ids[d], DBL_MAX), RISK_EINVAL);
            tu_basket_snap_check(b, &snap);
            set_bal(b, ids[d], 0.0);
        }
    }
    /* the USD edge below 2^52 quanta is quantized exactly: no rounding moves an exact amount */
    set_bal(b, usd, 4503599627.370495);
    assert_true(tu_basket_eval(b).net_value == 4503599627.370495);
    set_bal(b, usd, -4503599627.370495);
    assert_true(tu_basket_eval(b).liabilities == 4503599627.370495);
    risk_basket_free(b);
    risk_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basket_balances_set_add_remove),
        cmocka_unit_test(test_basket_evaluate_empty),
        cmocka_unit_test(test_basket_definitions),
        cmocka_unit_test(test_basket_bybit_tiered_collateral_w15),
        cmocka_unit_test(test_basket_aave_health_factor_a2),
        cmocka_unit_test(test_basket_aave_health_factor_a2_two_collaterals),
        cmocka_unit_test(test_basket_ltv_without_collateral_is_infinite),
        cmocka_unit_test(test_basket_quantization_against_the_holder),
        cmocka_unit_test(test_basket_new_rejects_null),
        cmocka_unit_test(test_basket_rejects_bad_input),
        cmocka_unit_test(test_basket_account_basket_not_freed),
        cmocka_unit_test(test_basket_outlives_engine),
        cmocka_unit_test(test_basket_many_assets),
        cmocka_unit_test(test_basket_new_out_of_memory),
        cmocka_unit_test(test_basket_set_balance_out_of_memory),
        cmocka_unit_test(test_basket_growth_out_of_memory),
        cmocka_unit_test(test_basket_rounding_holds_at_large_amounts),
        cmocka_unit_test(test_basket_balance_domain_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
