/* SPDX-License-Identifier: Apache-2.0 */
/* test_liquidation.c: liquidation and bankruptcy prices: published examples (matched on the
 * unrounded roots), the tick rounding rule (tested on its own), cross and isolated, one-way and
 * hedge, linear and inverse, the shared price factor of an underlying, tier re-solving, and the
 * cases without a root. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Venues display prices to the cent: the unrounded root must be within half a cent. */
#define CENT 0.005

/* An ETHUSDT schedule whose tier holding 2.7M-10M of notional has MMR 10 % and the published cum
 * 135,365 of W1-W4 (continuous: 2,707,300 x (10 % - 5 %) = 135,365). */
static const risk_margin_tier binance_ethusdt[] = {
    {2707300.0, 0.05, 20.0, 0, 0}, {10000000.0, 0.10, 10.0, 135365.0, 1}, {1e12, 0.125, 5.0, 0, 0}};

static int has_lp(const risk_position_result *r)
{
    return (r->flags & RISK_RESULT_HAS_LIQUIDATION_PRICE) != 0;
}

static int has_bp(const risk_position_result *r)
{
    return (r->flags & RISK_RESULT_HAS_BANKRUPTCY_PRICE) != 0;
}

static void assert_no_lp(const risk_position_result *r)
{
    assert_false(has_lp(r));
    assert_true(isnan(r->liquidation_price));
    assert_true(isnan(r->liquidation_price_raw));
}

static void assert_no_bp(const risk_position_result *r)
{
    assert_false(has_bp(r));
    assert_true(isnan(r->bankruptcy_price));
    assert_true(isnan(r->bankruptcy_price_raw));
}

/* ================================================================== Binance W1-W4 */

typedef struct {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdt, btc, eth, sol;
    uint32_t btcusdt, ethusdt, solusdt;
} binance;

static void binance_init(binance *b, uint32_t flags)
{
    tu_alloc_init(&b->a);
    b->e = tu_engine(&b->a, flags);
    b->usdt = tu_asset(b->e, "USDT", 1.0, 6);
    b->eth = tu_asset(b->e, "ETH", 1335.18, 8);
    b->btc = tu_asset(b->e, "BTC", 31967.27, 8);
    b->sol = tu_asset(b->e, "SOL", 20.0, 8);
    b->ethusdt = tu_linear(b->e, "ETHUSDT", b->eth, b->usdt, 1.0, 0.001, 0.01, 1335.18, binance_ethusdt, 3);
    b->btcusdt = tu_binance_btcusdt_perp(b->e, "BTCUSDT", b->btc, b->usdt, 31967.27);
    static const risk_margin_tier sol_t[] = {{1e12, 0.01, 50.0, 0, 0}};
    b->solusdt = tu_linear(b->e, "SOLUSDT", b->sol, b->usdt, 1.0, 1.0, 0.001, 20.0, sol_t, 1);
}

/*
 * W1/W2, Binance USD-M isolated liquidation prices. Source: Binance FAQ
 * https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93, numeric cases reproduced in
 * freqtrade tests/exchange/test_binance.py::test_liquidation_price_binance
 * (https://github.com/freqtrade/freqtrade). Wallet 1,535,443.01 USDT used as each position's
 * isolated margin. ETHUSDT long 3,683.979 @ 1,456.84 -> 1,114.78; BTCUSDT long 109.488 @
 * 32,481.98 -> 18,778.73.
 */
static void test_liquidation_binance_isolated_w1_w2(void **state)
{
    (void)state;
    binance b;
    binance_init(&b, 0);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    (void)tu_open(acc, b.ethusdt, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 3683.979, 1456.84, 1535443.01);
    (void)tu_open(acc, b.btcusdt, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 109.488, 32481.98, 1535443.01);
    risk_position_result r = tu_result_of(acc, b.ethusdt, RISK_SIDE_LONG);
    assert_true(has_lp(&r));
    tu_assert_near(r.liquidation_price_raw, 1114.78, CENT);
    assert_int_equal(r.margin_mode, RISK_MARGIN_ISOLATED);
    r = tu_result_of(acc, b.btcusdt, RISK_SIDE_LONG);
    assert_true(has_lp(&r));
    tu_assert_near(r.liquidation_price_raw, 18778.73, CENT);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

/*
 * W3/W4, Binance USD-M cross liquidation prices (same source as W1/W2): both positions long in
 * one cross wallet of 1,535,443.01 USDT; ETH cross 1,153.26 (BTC held at its mark), BTC cross
 * 26,316.89 (ETH held). An isolated position elsewhere in the account changes neither.
 */
static void test_liquidation_binance_cross_w3_w4(void **state)
{
    (void)state;
    binance b;
    binance_init(&b, 0);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 1535443.01);
    (void)tu_open_simple(acc, b.ethusdt, 3683.979, 1456.84);
    (void)tu_open_simple(acc, b.btcusdt, 109.488, 32481.98);
    risk_position_result eth = tu_result_of(acc, b.ethusdt, RISK_SIDE_LONG);
    risk_position_result btc = tu_result_of(acc, b.btcusdt, RISK_SIDE_LONG);
    assert_true(has_lp(&eth));
    assert_true(has_lp(&btc));
    tu_assert_near(eth.liquidation_price_raw, 1153.26, CENT);
    tu_assert_near(btc.liquidation_price_raw, 26316.89, CENT);
    assert_int_equal(eth.margin_mode, RISK_MARGIN_CROSS);

    /* A losing isolated position does not touch the cross pool. */
    (void)tu_open(acc, b.solusdt, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 1000.0, 30.0, 500.0);
    risk_position_result eth2 = tu_result_of(acc, b.ethusdt, RISK_SIDE_LONG);
    risk_position_result btc2 = tu_result_of(acc, b.btcusdt, RISK_SIDE_LONG);
    tu_assert_rel(eth2.liquidation_price_raw, eth.liquidation_price_raw, 1e-12);
    tu_assert_rel(btc2.liquidation_price_raw, btc.liquidation_price_raw, 1e-12);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

/* Bankruptcy prices of the W1-W4 book, from the definitions: cross, the wallet plus every cross
 * upnl reaches 0 (the other position held); isolated, margin + upnl reaches 0. */
static void test_liquidation_binance_bankruptcy_prices(void **state)
{
    (void)state;
    binance b;
    binance_init(&b, 0);
    const double wb = 1535443.01;
    const double qe = 3683.979, ee = 1456.84, me = 1335.18;
    const double qb = 109.488, eb = 32481.98, mb = 31967.27;
    risk_account *cross = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(cross, b.usdt, wb);
    (void)tu_open_simple(cross, b.ethusdt, qe, ee);
    (void)tu_open_simple(cross, b.btcusdt, qb, eb);
    risk_position_result r = tu_result_of(cross, b.btcusdt, RISK_SIDE_LONG);
    assert_true(has_bp(&r));
    tu_assert_near(r.bankruptcy_price_raw, eb - (wb + qe * (me - ee)) / qb, 1e-6); /* 22,551.67 */
    r = tu_result_of(cross, b.ethusdt, RISK_SIDE_LONG);
    assert_true(has_bp(&r));
    tu_assert_near(r.bankruptcy_price_raw, ee - (wb + qb * (mb - eb)) / qe, 1e-6); /* 1,055.35 */

    risk_account *iso = tu_account(b.e, 2, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    (void)tu_open(iso, b.ethusdt, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, qe, ee, wb);
    r = tu_result_of(iso, b.ethusdt, RISK_SIDE_LONG);
    assert_true(has_bp(&r));
    tu_assert_near(r.bankruptcy_price_raw, ee - wb / qe, 1e-6); /* 1,040.05 */
    /* Rounded up to the 0.01 tick for a long. */
    tu_assert_near(r.bankruptcy_price, 1040.06, 1e-9);
    risk_account_free(cross);
    risk_account_free(iso);
    risk_engine_free(b.e);
}

/* ================================================================== Bybit */

/* The W11 book: isolated long and short of 1 BTC at 20,000 with 400 USDT of margin each, MM
 * valued at the entry; with_leverage sets the 50x the example states (the prices do not
 * depend on it: the margin is given). */
typedef struct {
    tu_alloc a;
    risk_engine *e;
    risk_account *lo, *sh;
    uint32_t inst;
} w11_book;

static void w11_init(w11_book *w, int with_leverage)
{
    tu_alloc_init(&w->a);
    w->e = tu_engine(&w->a, 0);
    uint32_t usdt = tu_asset(w->e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(w->e, "BTC", 20000.0, 8);
    const risk_margin_tier t[] = {tu_tier(2000000.0, 0.005, 100.0), tu_tier(1e12, 0.01, 50.0)};
    risk_instrument_spec s = tu_linear_spec("BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 20000.0, t, 2);
    s.mm_price = RISK_MM_PRICE_ENTRY;
    w->inst = tu_instrument(w->e, &s);
    w->lo = tu_account(w->e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    w->sh = tu_account(w->e, 2, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    if (with_leverage) {
        tu_leverage(w->lo, w->inst, 50.0);
        tu_leverage(w->sh, w->inst, 50.0);
    }
    (void)tu_open(w->lo, w->inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 1.0, 20000.0, 400.0);
    (void)tu_open(w->sh, w->inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, -1.0, 20000.0, 400.0);
}

static void w11_free(w11_book *w)
{
    risk_account_free(w->lo);
    risk_account_free(w->sh);
    risk_engine_free(w->e);
}

/*
 * W11, Bybit USDT contract, isolated
 * (https://testnet.bybit.com/en-US/help-center/s/article/Liquidation-Price-USDT-Contract):
 * long 1 BTC @ 20,000, 50x, MMR 0.5 %, IM 400, MM 100 at the entry: LP = 19,700. The short with
 * the same inputs: 20,300 (derived; the published example 2 is cut off).
 */
static void test_liquidation_bybit_usdt_isolated_w11(void **state)
{
    (void)state;
    w11_book w;
    w11_init(&w, 1);
    risk_position_result r = tu_result_of(w.lo, w.inst, RISK_SIDE_LONG);
    assert_true(has_lp(&r));
    tu_assert_near(r.liquidation_price_raw, 19700.0, CENT);
    tu_assert_near(r.bankruptcy_price_raw, 19600.0, CENT);
    r = tu_result_of(w.sh, w.inst, RISK_SIDE_SHORT);
    assert_true(has_lp(&r));
    tu_assert_near(r.liquidation_price_raw, 20300.0, CENT);
    tu_assert_near(r.bankruptcy_price_raw, 20400.0, CENT);
    w11_free(&w);
}

typedef struct {
    tu_alloc a;
    risk_engine *e;
    uint32_t usd, btc, inst;
} inv_env;

static void inv_init(inv_env *v, double contract_size, double tick, double mark, double mmr, double max_lev)
{
    tu_alloc_init(&v->a);
    v->e = tu_engine(&v->a, 0);
    v->usd = tu_asset(v->e, "USD", 1.0, 6);
    v->btc = tu_asset(v->e, "BTC", mark, 8);
    const risk_margin_tier t[] = {tu_tier(1e9, mmr, max_lev)};
    v->inst = tu_inverse(v->e, "BTCUSD", v->btc, contract_size, 1.0, tick, mark, t, 1);
}

/*
 * W12, Bybit inverse isolated, UTA 2026 formula with MM valued at the liquidation price
 * (https://testnet.bybit.com/ar-SA/help-center/article/Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account,
 * https://www.kbybit.com/en/help-center/article/Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account):
 * 60,000 USD @ 50,000, 10x, MMR 0.5 %, margin 0.12 BTC: long 45,681.82, short 55,277.78.
 */
static void test_liquidation_bybit_inverse_isolated_w12(void **state)
{
    (void)state;
    inv_env v;
    inv_init(&v, 1.0, 0.5, 50000.0, 0.005, 100.0);
    risk_account *lo = tu_account(v.e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    risk_account *sh = tu_account(v.e, 2, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    tu_leverage(lo, v.inst, 10.0);
    tu_leverage(sh, v.inst, 10.0);
    (void)tu_open(lo, v.inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 60000.0, 50000.0, 0.12);
    (void)tu_open(sh, v.inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, -60000.0, 50000.0, 0.12);
    risk_position_result r = tu_result_of(lo, v.inst, RISK_SIDE_LONG);
    assert_true(has_lp(&r));
    tu_assert_near(r.liquidation_price_raw, 45681.82, CENT);
    tu_assert_near(r.bankruptcy_price_raw, 60000.0 / 1.32, 1e-6); /* margin + upnl = 0 */
    r = tu_result_of(sh, v.inst, RISK_SIDE_SHORT);
    assert_true(has_lp(&r));
    tu_assert_near(r.liquidation_price_raw, 55277.78, CENT);
    tu_assert_near(r.bankruptcy_price_raw, 60000.0 / 1.08, 1e-6);
    risk_account_free(lo);
    risk_account_free(sh);
    risk_engine_free(v.e);
}

/*
 * W14, Bybit bankruptcy price for ADL
 * (https://help.bybit.com/hc/en-us/articles/900000031623-What-is-Auto-Deleveraging-ADL-):
 * long 5,000 BTCUSD @ 7,890.08, 50x, margin = IM = 5,000 / 7,890.08 / 50 BTC:
 * BP = 7,890.08 x 50 / 51 = 7,735.3725 (published to 4 decimals), shown as 7,735.50 on the
 * 0.5 tick (rounding tested in test_liquidation_rounding_bybit_w13_w14).
 */
static void test_liquidation_bybit_bankruptcy_w14(void **state)
{
    (void)state;
    inv_env v;
    inv_init(&v, 1.0, 0.5, 7890.0, 0.005, 100.0);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    tu_leverage(acc, v.inst, 50.0);
    (void)tu_open(acc, v.inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 5000.0, 7890.08, 5000.0 / 7890.08 / 50.0);
    risk_position_result r = tu_result_of(acc, v.inst, RISK_SIDE_LONG);
    assert_true(has_bp(&r));
    tu_assert_near(r.bankruptcy_price_raw, 7735.3725, 0.00005);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/*
 * W13, Bybit legacy inverse cross
 * (https://help.bybit.com/hc/en-us/articles/360039261334-How-to-calculate-Liquidation-Price-Inverse-Contract-):
 * balance 0.5 BTC, long 10,000 contracts (1 USD) @ 8,000, MMR 0.5 %. librisk has no closing fee
 * (Bybit adds 0.075 % and publishes BP 5,718.57, LP 5,739.50), so the fee-free roots are
 * derived: LP = 10,000 x 1.005 / 1.75 = 5,742.857..., BP = 10,000 / 1.75 = 5,714.2857...
 * The BTC collateral moves with the factor; the roots do not depend on BTC's price.
 */
static void test_liquidation_bybit_inverse_cross_w13_without_fee(void **state)
{
    (void)state;
    inv_env v;
    inv_init(&v, 1.0, 0.5, 8000.0, 0.005, 100.0);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, v.btc, 0.5);
    (void)tu_open_simple(acc, v.inst, 10000.0, 8000.0);
    risk_position_result r = tu_result_of(acc, v.inst, RISK_SIDE_LONG);
    assert_true(has_lp(&r));
    assert_true(has_bp(&r));
    tu_assert_rel(r.liquidation_price_raw, 10050.0 / 1.75, 1e-12);
    tu_assert_rel(r.bankruptcy_price_raw, 10000.0 / 1.75, 1e-12);
    /* The same with BTC's own price elsewhere than the mark. */
    tu_price(v.e, v.btc, 9000.0);
    r = tu_result_of(acc, v.inst, RISK_SIDE_LONG);
    tu_assert_rel(r.liquidation_price_raw, 10050.0 / 1.75, 1e-12);
    tu_assert_rel(r.bankruptcy_price_raw, 10000.0 / 1.75, 1e-12);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* ================================================================== Hyperliquid */

/*
 * Hyperliquid isolated long (research/defi-anchors.md 3.6, derived from
 * https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations): 1 BTC @ 50,000, 10x,
 * margin 5,000, MMR 5 %: liq = 50,000 - 2,500 / (1 - 0.05) = 47,368.42, not the shortcut
 * entry x (1 - 1/L + l) = 47,500.
 */
static void test_liquidation_hyperliquid_isolated(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    const risk_margin_tier t[] = {tu_tier(1e12, 0.05, 10.0)};
    uint32_t inst = tu_linear(e, "BTC-PERP", btc, usdc, 1.0, 0.00001, 1.0, 50000.0, t, 1);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    tu_leverage(acc, inst, 10.0);
    (void)tu_open(acc, inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 5000.0);
    risk_position_result r = tu_result_of(acc, inst, RISK_SIDE_LONG);
    assert_true(has_lp(&r));
    tu_assert_near(r.liquidation_price_raw, 47368.42, CENT);
    assert_true(fabs(r.liquidation_price_raw - 47500.0) > 100.0);
    assert_true(fabs(r.liquidation_price - 47500.0) > 100.0);
    /* Check: equity at the root is 5 % of the notional there. */
    tu_assert_near(5000.0 + (r.liquidation_price_raw - 50000.0), 0.05 * r.liquidation_price_raw, 1e-6);
    tu_assert_near(r.bankruptcy_price_raw, 45000.0, 1e-6);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* ================================================================== the tick rounding rule */

/* Against the account: a long's LP and BP round up to the tick, a short's down; roots already
 * on the tick stay. Bybit W13/W14 publish on the 0.5 tick. */
static void test_liquidation_rounding_bybit_w13_w14(void **state)
{
    (void)state;
    inv_env v;
    inv_init(&v, 1.0, 0.5, 7890.0, 0.005, 100.0);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    tu_leverage(acc, v.inst, 50.0);
    (void)tu_open(acc, v.inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 5000.0, 7890.08, 5000.0 / 7890.08 / 50.0);
    risk_position_result r = tu_result_of(acc, v.inst, RISK_SIDE_LONG);
    tu_assert_near(r.bankruptcy_price, 7735.50, 1e-9); /* 7,735.3725 up to the 0.5 tick */

    risk_account *cross = tu_account(v.e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(cross, v.btc, 0.5);
    (void)tu_open_simple(cross, v.inst, 10000.0, 8000.0);
    r = tu_result_of(cross, v.inst, RISK_SIDE_LONG);
    tu_assert_near(r.liquidation_price, 5743.0, 1e-9); /* 5,742.857 up */
    tu_assert_near(r.bankruptcy_price, 5714.5, 1e-9);  /* 5,714.286 up */
    risk_account_free(acc);
    risk_account_free(cross);
    risk_engine_free(v.e);
}

static void test_liquidation_rounding_long_up_short_down(void **state)
{
    (void)state;
    /* Inverse W12 on the 0.5 tick: long 45,681.82 -> 45,682.0; short 55,277.78 -> 55,277.5. */
    inv_env v;
    inv_init(&v, 1.0, 0.5, 50000.0, 0.005, 100.0);
    risk_account *lo = tu_account(v.e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    risk_account *sh = tu_account(v.e, 2, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    (void)tu_open(lo, v.inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 60000.0, 50000.0, 0.12);
    (void)tu_open(sh, v.inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, -60000.0, 50000.0, 0.12);
    risk_position_result r = tu_result_of(lo, v.inst, RISK_SIDE_LONG);
    tu_assert_near(r.liquidation_price, 45682.0, 1e-9);
    tu_assert_near(r.bankruptcy_price, 45455.0, 1e-9); /* 45,454.545 up */
    r = tu_result_of(sh, v.inst, RISK_SIDE_SHORT);
    tu_assert_near(r.liquidation_price, 55277.5, 1e-9);
    tu_assert_near(r.bankruptcy_price, 55555.5, 1e-9); /* 55,555.556 down */
    risk_account_free(lo);
    risk_account_free(sh);
    risk_engine_free(v.e);

    /* Linear, tick 1: Hyperliquid long 47,368.42 -> 47,369; the short twin 52,380.95 -> 52,380. */
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    const risk_margin_tier t[] = {tu_tier(1e12, 0.05, 10.0)};
    uint32_t inst = tu_linear(e, "BTC-PERP", btc, usdc, 1.0, 0.00001, 1.0, 50000.0, t, 1);
    lo = tu_account(e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    sh = tu_account(e, 2, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    (void)tu_open(lo, inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 5000.0);
    (void)tu_open(sh, inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, -1.0, 50000.0, 5000.0);
    r = tu_result_of(lo, inst, RISK_SIDE_LONG);
    tu_assert_near(r.liquidation_price_raw, 45000.0 / 0.95, 1e-7);
    tu_assert_near(r.liquidation_price, 47369.0, 1e-9);
    r = tu_result_of(sh, inst, RISK_SIDE_SHORT);
    tu_assert_near(r.liquidation_price_raw, 55000.0 / 1.05, 1e-7);
    tu_assert_near(r.liquidation_price, 52380.0, 1e-9);
    tu_assert_near(r.bankruptcy_price, 55000.0, 1e-9); /* on the tick: stays */
    risk_account_free(lo);
    risk_account_free(sh);
    risk_engine_free(e);
}

/* W1-W4 rounded against the account: all long, so up (ETH tick 0.01, BTC tick 0.1). Venues
 * display 1,114.78 etc.; the rounded fields are the conservative ones. */
static void test_liquidation_rounding_binance_longs_up(void **state)
{
    (void)state;
    binance b;
    binance_init(&b, 0);
    risk_account *iso = tu_account(b.e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    (void)tu_open(iso, b.ethusdt, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 3683.979, 1456.84, 1535443.01);
    (void)tu_open(iso, b.btcusdt, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 109.488, 32481.98, 1535443.01);
    risk_account *cross = tu_account(b.e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(cross, b.usdt, 1535443.01);
    (void)tu_open_simple(cross, b.ethusdt, 3683.979, 1456.84);
    (void)tu_open_simple(cross, b.btcusdt, 109.488, 32481.98);
    risk_position_result r = tu_result_of(iso, b.ethusdt, RISK_SIDE_LONG);
    tu_assert_near(r.liquidation_price, 1114.79, 1e-9); /* 1,114.7850 */
    r = tu_result_of(iso, b.btcusdt, RISK_SIDE_LONG);
    tu_assert_near(r.liquidation_price, 18778.8, 1e-9); /* 18,778.7259 */
    r = tu_result_of(cross, b.ethusdt, RISK_SIDE_LONG);
    tu_assert_near(r.liquidation_price, 1153.26, 1e-9); /* 1,153.2565 */
    r = tu_result_of(cross, b.btcusdt, RISK_SIDE_LONG);
    tu_assert_near(r.liquidation_price, 26316.9, 1e-9); /* 26,316.8933 */
    risk_account_free(iso);
    risk_account_free(cross);
    risk_engine_free(b.e);
}

/* A root exactly on the tick is not pushed a tick further by floating-point noise. */
static void test_liquidation_rounding_keeps_roots_on_the_tick(void **state)
{
    (void)state;
    w11_book w;
    w11_init(&w, 0);
    risk_position_result r = tu_result_of(w.lo, w.inst, RISK_SIDE_LONG);
    tu_assert_near(r.liquidation_price, 19700.0, 1e-9);
    tu_assert_near(r.bankruptcy_price, 19600.0, 1e-9);
    r = tu_result_of(w.sh, w.inst, RISK_SIDE_SHORT);
    tu_assert_near(r.liquidation_price, 20300.0, 1e-9);
    tu_assert_near(r.bankruptcy_price, 20400.0, 1e-9);
    w11_free(&w);
}

/* ================================================================== hedge mode */

typedef struct {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdt, btc, inst, inst_entry;
} lin_env;

static void lin_init(lin_env *v, uint32_t flags)
{
    tu_alloc_init(&v->a);
    v->e = tu_engine(&v->a, flags);
    v->usdt = tu_asset(v->e, "USDT", 1.0, 6);
    v->btc = tu_asset(v->e, "BTC", 50000.0, 8);
    const risk_margin_tier t[] = {tu_tier(1e12, 0.005, 100.0)};
    v->inst = tu_linear(v->e, "BTCUSDT", v->btc, v->usdt, 1.0, 0.001, 0.1, 50000.0, t, 1);
    risk_instrument_spec s = tu_linear_spec("BTCUSDT-E", v->btc, v->usdt, 1.0, 0.001, 0.1, 50000.0, t, 1);
    s.mm_price = RISK_MM_PRICE_ENTRY;
    v->inst_entry = tu_instrument(v->e, &s);
}

/* Cross hedge legs of one instrument share one liquidation price (Binance's rule): the root of
 * the pool 5,000 + (P - 50,000) - 0.4 (P - 51,000) - 0.005 x 1.4 P, at P = 24,600 / 0.593. */
static void test_liquidation_hedge_legs_share_one_price(void **state)
{
    (void)state;
    lin_env v;
    lin_init(&v, 0);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    tu_balance(acc, v.usdt, 5000.0);
    (void)tu_open(acc, v.inst, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 0.0);
    (void)tu_open(acc, v.inst, RISK_SIDE_SHORT, RISK_MARGIN_DEFAULT, 0.4, 51000.0, 0.0);
    risk_position_result l = tu_result_of(acc, v.inst, RISK_SIDE_LONG);
    risk_position_result s = tu_result_of(acc, v.inst, RISK_SIDE_SHORT);
    assert_true(has_lp(&l) && has_lp(&s));
    tu_assert_rel(l.liquidation_price_raw, 24600.0 / 0.593, 1e-12);
    tu_assert_bits(s.liquidation_price_raw, l.liquidation_price_raw);
    tu_assert_bits(s.liquidation_price, l.liquidation_price);
    /* Net long: both rounded up. */
    assert_true(l.liquidation_price >= l.liquidation_price_raw);
    tu_assert_near(l.liquidation_price, ceil(24600.0 / 0.593 * 10.0) / 10.0, 1e-9);
    /* Bankruptcy: 5,000 + (P - 50,000) - 0.4 (P - 51,000) = 0 at P = 24,600 / 0.6. */
    tu_assert_rel(l.bankruptcy_price_raw, 24600.0 / 0.6, 1e-12);
    tu_assert_bits(s.bankruptcy_price_raw, l.bankruptcy_price_raw);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* Net short hedge: the pool loses as the price rises, so the shared price rounds down. */
static void test_liquidation_hedge_net_short_rounds_down(void **state)
{
    (void)state;
    lin_env v;
    lin_init(&v, 0);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    tu_balance(acc, v.usdt, 5000.0);
    (void)tu_open(acc, v.inst, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 0.4, 50000.0, 0.0);
    (void)tu_open(acc, v.inst, RISK_SIDE_SHORT, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 0.0);
    /* 5,000 + 0.4 (P - 50,000) - (P - 50,000) - 0.007 P = 0 -> P = 35,000 / 0.607. */
    risk_position_result l = tu_result_of(acc, v.inst, RISK_SIDE_LONG);
    risk_position_result s = tu_result_of(acc, v.inst, RISK_SIDE_SHORT);
    tu_assert_rel(s.liquidation_price_raw, 35000.0 / 0.607, 1e-12);
    tu_assert_bits(l.liquidation_price_raw, s.liquidation_price_raw);
    tu_assert_near(s.liquidation_price, floor(35000.0 / 0.607 * 10.0) / 10.0, 1e-9);
    tu_assert_bits(l.liquidation_price, s.liquidation_price);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* Isolated hedge legs each have their own prices. */
static void test_liquidation_isolated_hedge_legs_own_prices(void **state)
{
    (void)state;
    lin_env v;
    lin_init(&v, 0);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_HEDGE);
    (void)tu_open(acc, v.inst, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 2000.0);
    (void)tu_open(acc, v.inst, RISK_SIDE_SHORT, RISK_MARGIN_DEFAULT, 2.0, 50000.0, 3000.0);
    risk_position_result l = tu_result_of(acc, v.inst, RISK_SIDE_LONG);
    risk_position_result s = tu_result_of(acc, v.inst, RISK_SIDE_SHORT);
    /* Long: 2,000 + (P - 50,000) = 0.005 P; short: 3,000 - 2 (P - 50,000) = 0.01 P. */
    tu_assert_rel(l.liquidation_price_raw, 48000.0 / 0.995, 1e-12);
    tu_assert_rel(s.liquidation_price_raw, 103000.0 / 2.01, 1e-12);
    tu_assert_rel(l.bankruptcy_price_raw, 48000.0, 1e-12);
    tu_assert_rel(s.bankruptcy_price_raw, 51500.0, 1e-12);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* Two roots: a net-long hedge whose maintenance margin outgrows its net PnL at high prices (the
 * tier above 100,000 of notional has MMR 20 %). Pool 3,000 + 0.1 (P - 50,000) - MM(P) - MM(0.9 P):
 * it reaches 0 falling at P = 2,000 / 0.0905 = 22,099.45 and rising at 37,000 / 0.28 =
 * 132,142.86. A net long is liquidated by the fall: the lower root is the answer, rounded up. */
static void test_liquidation_two_roots_net_long_takes_the_fall(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    const risk_margin_tier t[] = {tu_tier(100000.0, 0.005, 100.0), tu_tier(1e12, 0.2, 2.0)};
    uint32_t inst = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 50000.0, t, 2);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    tu_balance(acc, usdt, 3000.0);
    (void)tu_open(acc, inst, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 0.0);
    (void)tu_open(acc, inst, RISK_SIDE_SHORT, RISK_MARGIN_DEFAULT, 0.9, 50000.0, 0.0);
    risk_position_result l = tu_result_of(acc, inst, RISK_SIDE_LONG);
    risk_position_result s = tu_result_of(acc, inst, RISK_SIDE_SHORT);
    assert_true(has_lp(&l));
    tu_assert_rel(l.liquidation_price_raw, 2000.0 / 0.0905, 1e-12);
    tu_assert_bits(s.liquidation_price_raw, l.liquidation_price_raw);
    tu_assert_near(l.liquidation_price, ceil(2000.0 / 0.0905 * 10.0) / 10.0, 1e-9);
    tu_assert_rel(l.bankruptcy_price_raw, 20000.0, 1e-12);
    /* Mirror image: net short (long 0.9, short 1) is liquidated by the rise. Pool
     * 3,000 - 0.1 (P - 50,000) - 0.0095 P below 100,000 of notional: 8,000 / 0.1095. */
    risk_account *sh = tu_account(e, 2, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    tu_balance(sh, usdt, 3000.0);
    (void)tu_open(sh, inst, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 0.9, 50000.0, 0.0);
    (void)tu_open(sh, inst, RISK_SIDE_SHORT, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 0.0);
    s = tu_result_of(sh, inst, RISK_SIDE_SHORT);
    tu_assert_rel(s.liquidation_price_raw, 8000.0 / 0.1095, 1e-12);
    tu_assert_near(s.liquidation_price, floor(8000.0 / 0.1095 * 10.0) / 10.0, 1e-9);
    risk_account_free(acc);
    risk_account_free(sh);
    risk_engine_free(e);
}

/* ================================================================== no root */

static void test_liquidation_none_without_a_root(void **state)
{
    (void)state;
    lin_env v;
    lin_init(&v, 0);
    /* Isolated long with more margin than its notional: the roots are below 0. */
    risk_account *iso = tu_account(v.e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    (void)tu_open(iso, v.inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 60000.0);
    risk_position_result r = tu_result_of(iso, v.inst, RISK_SIDE_LONG);
    assert_no_lp(&r);
    assert_no_bp(&r);
    /* Cross long with a huge wallet. */
    risk_account *rich = tu_account(v.e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(rich, v.usdt, 1e9);
    (void)tu_open_simple(rich, v.inst, 1.0, 50000.0);
    r = tu_result_of(rich, v.inst, RISK_SIDE_LONG);
    assert_no_lp(&r);
    assert_no_bp(&r);
    /* Fully hedged with the margin valued at the entry: the pool does not move with the price. */
    risk_account *hedged = tu_account(v.e, 3, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    tu_balance(hedged, v.usdt, 1000.0);
    (void)tu_open(hedged, v.inst_entry, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 0.0);
    (void)tu_open(hedged, v.inst_entry, RISK_SIDE_SHORT, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 0.0);
    r = tu_result_of(hedged, v.inst_entry, RISK_SIDE_LONG);
    assert_no_lp(&r);
    assert_no_bp(&r);
    r = tu_result_of(hedged, v.inst_entry, RISK_SIDE_SHORT);
    assert_no_lp(&r);
    assert_no_bp(&r);
    /* The other flags are still reported. */
    assert_false(r.flags & RISK_RESULT_LIQUIDATABLE);
    risk_account_free(iso);
    risk_account_free(rich);
    risk_account_free(hedged);
    risk_engine_free(v.e);
}

/* Fully hedged with MM at the mark: only the MM moves (up with the price), so there is a
 * liquidation price above, P = 1,000 / (2 x 0.005), but no bankruptcy price (the unweighted
 * equity does not move). */
static void test_liquidation_hedged_at_mark_has_lp_but_no_bp(void **state)
{
    (void)state;
    lin_env v;
    lin_init(&v, 0);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    tu_balance(acc, v.usdt, 1000.0);
    (void)tu_open(acc, v.inst, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 0.0);
    (void)tu_open(acc, v.inst, RISK_SIDE_SHORT, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 0.0);
    risk_position_result r = tu_result_of(acc, v.inst, RISK_SIDE_LONG);
    assert_true(has_lp(&r));
    tu_assert_rel(r.liquidation_price_raw, 100000.0, 1e-12);
    assert_true(r.liquidation_price <= r.liquidation_price_raw); /* loses as the price rises */
    assert_no_bp(&r);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* ================================================================== the price factor */

/* The underlying's collateral price moves with its marks: 1 BTC collateral (maint weight 0.9)
 * with a short 1 BTCUSDT @ 50,000, MMR 1 %: pool 0.9 P + (50,000 - P) - 0.01 P = 0 at
 * P = 454,545.45 (holding BTC's price would give 94,059.41). The unweighted equity
 * P + 50,000 - P never reaches 0: no bankruptcy price. */
static void test_liquidation_moves_the_underlying_collateral(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset_w(e, "BTC", 50000.0, 8, 0.85, 0.9, 1.0, 1.0);
    const risk_margin_tier t[] = {tu_tier(1e12, 0.01, 50.0)};
    uint32_t inst = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 50000.0, t, 1);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, btc, 1.0);
    (void)tu_open_simple(acc, inst, -1.0, 50000.0);
    risk_position_result r = tu_result_of(acc, inst, RISK_SIDE_SHORT);
    assert_true(has_lp(&r));
    tu_assert_rel(r.liquidation_price_raw, 50000.0 / 0.11, 1e-12);
    assert_no_bp(&r);
    /* With the mark away from BTC's price the factor is a ratio: LP / mark = root / BTC price.
     * Pool at factor f: 0.9 x 50,000 f + (50,000 - 49,000 f) - 0.01 x 49,000 f. */
    tu_mark(e, inst, 49000.0);
    r = tu_result_of(acc, inst, RISK_SIDE_SHORT);
    const double f = 50000.0 / (49000.0 + 490.0 - 45000.0);
    tu_assert_rel(r.liquidation_price_raw, 49000.0 * f, 1e-12);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Cross positions on one underlying share the factor: a linear and an inverse BTC contract with
 * different marks get LPs in the ratio of their marks. */
static void test_liquidation_cross_positions_share_the_factor(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, RISK_ENGINE_NO_QUANTIZE);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    const risk_margin_tier t[] = {tu_tier(1e12, 0.005, 100.0)};
    uint32_t lin = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 50100.0, t, 1);
    uint32_t inv = tu_inverse(e, "BTCUSD", btc, 100.0, 1.0, 0.5, 49900.0, t, 1);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdt, 20000.0);
    (void)tu_open_simple(acc, lin, 1.0, 50000.0);
    (void)tu_open_simple(acc, inv, 500.0, 50000.0); /* 50,000 USD long */
    risk_position_result rl = tu_result_of(acc, lin, RISK_SIDE_LONG);
    risk_position_result ri = tu_result_of(acc, inv, RISK_SIDE_LONG);
    assert_true(has_lp(&rl) && has_lp(&ri));
    const double fl = rl.liquidation_price_raw / 50100.0, fi = ri.liquidation_price_raw / 49900.0;
    tu_assert_rel(fi, fl, 1e-12);
    /* At the factor, the pool is 0: the linear leg's upnl and MM plus the inverse leg's, in V at
     * BTC's scaled price. */
    const double p = 50100.0 * fl, m = 49900.0 * fl, pb = 50000.0 * fl;
    const double pool = 20000.0 + (p - 50000.0) - 0.005 * p +
                        pb * (50000.0 * (1.0 / 50000.0 - 1.0 / m) - 0.005 * 50000.0 / m);
    tu_assert_near(pool, 0.0, 1e-7);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* The root lands in a lower tier than the current one: re-solved there. 30 BTC @ 50,000 is
 * 1.5M (tier 1: 1 %, cum 5,000); with 600,000 of isolated margin the tier-1 root would be
 * 30,134.68 (904k, tier 0), so the answer is the tier-0 root 900,000 / 29.85 = 30,150.75. */
static void test_liquidation_resolves_in_the_tier_of_the_root(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    const risk_margin_tier t[] = {tu_tier(1000000.0, 0.005, 100.0), tu_tier(5000000.0, 0.01, 50.0),
                                  tu_tier(1e12, 0.02, 20.0)};
    uint32_t inst = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 50000.0, t, 3);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    (void)tu_open(acc, inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 30.0, 50000.0, 600000.0);
    risk_position_result r = tu_result_of(acc, inst, RISK_SIDE_LONG);
    assert_int_equal(r.tier, 1);
    tu_assert_rel(r.liquidation_price_raw, 900000.0 / 29.85, 1e-12);
    /* A short whose root lies a tier up: 30 short @ 50,000 (1.5M, tier 1) with 4M of margin.
     * Tier 1: 4M - 30 (P - 50,000) = 0.3 P - 5,000 -> P = 5,505,000 / 30.3 = 181,683.17, which
     * is 5.45M of notional (tier 2); tier 2 (cum 5,000 + 5M x 1 % = 55,000):
     * 4M - 30 (P - 50,000) = 0.6 P - 55,000 -> P = 5,555,000 / 30.6 = 181,535.95 (5.45M). */
    risk_account *sh = tu_account(e, 2, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    (void)tu_open(sh, inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, -30.0, 50000.0, 4000000.0);
    r = tu_result_of(sh, inst, RISK_SIDE_SHORT);
    assert_int_equal(r.tier, 1);
    tu_assert_rel(r.liquidation_price_raw, 5555000.0 / 30.6, 1e-12);
    risk_account_free(acc);
    risk_account_free(sh);
    risk_engine_free(e);
}

/* Results of an account without positions, and the liquidatable flag. */
static void test_liquidation_flags(void **state)
{
    (void)state;
    lin_env v;
    lin_init(&v, 0);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_position_result r[2];
    assert_int_equal(tu_results(acc, r, 2), 0);
    tu_balance(acc, v.usdt, 1000.0);
    (void)tu_open_simple(acc, v.inst, 1.0, 50000.0);
    r[0] = tu_result_of(acc, v.inst, RISK_SIDE_LONG);
    assert_false(r[0].flags & RISK_RESULT_LIQUIDATABLE);
    assert_true(has_lp(&r[0]) && has_bp(&r[0]));
    tu_assert_rel(r[0].liquidation_price_raw, 49000.0 / 0.995, 1e-12);
    tu_assert_rel(r[0].bankruptcy_price_raw, 49000.0, 1e-12);
    tu_mark(v.e, v.inst, 49200.0); /* pool 200 - 246 < 0 */
    r[0] = tu_result_of(acc, v.inst, RISK_SIDE_LONG);
    assert_true(r[0].flags & RISK_RESULT_LIQUIDATABLE);
    tu_assert_rel(r[0].liquidation_price_raw, 49000.0 / 0.995, 1e-12); /* does not depend on the mark */
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* ================================================================== linear-time solve
 * position results index the cross pool once per call and solve each underlying over its own
 * positions, the fixed part being the account's held sum less those positions' terms
 * (docs/formulas.md 7.8); risk_account_spot_liquidation_price still solves one underlying by
 * summing the pool directly, the former algorithm. On random books of 1 to 128 positions (linear
 * and inverse contracts, several instruments per underlying, hedge legs, isolated positions,
 * 3-tier schedules, balances in USDT and in the underlyings), every cross position's unrounded
 * liquidation price is the mark times the spot solve's factor to 1e-9, and the same on the tick
 * (at most one tick apart where the two roots straddle a tick edge). */
#define DIFF_UNDERLYINGS 64

static void test_liquidation_index_matches_direct_solve(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e = tu_engine(&al, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 0x7e57d1ffULL);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t under[DIFF_UNDERLYINGS], inst[3 * DIFF_UNDERLYINGS], inst_under[3 * DIFF_UNDERLYINGS];
    double tick[3 * DIFF_UNDERLYINGS], mark[3 * DIFF_UNDERLYINGS], lot[3 * DIFF_UNDERLYINGS];
    double price_of[DIFF_UNDERLYINGS];
    int inverse[3 * DIFF_UNDERLYINGS];
    uint32_t n_inst = 0;
    const risk_margin_tier t[] = {tu_tier(50000.0, 0.01, 50.0), tu_tier(500000.0, 0.025, 20.0),
                                  tu_tier(1e12, 0.05, 10.0)};
    for (uint32_t u = 0; u < DIFF_UNDERLYINGS; u++) {
        char sym[32];
        double price = floor(tu_rng_range(&rng, 1.0, 5000.0)) + 0.5;
        snprintf(sym, sizeof sym, "U%u", u);
        under[u] = tu_asset(e, sym, price, 8);
        price_of[u] = price;
        snprintf(sym, sizeof sym, "U%uUSDT", u);
        tick[n_inst] = 0.001, mark[n_inst] = price * 1.001, lot[n_inst] = 0.001, inverse[n_inst] = 0;
        inst_under[n_inst] = u;
        inst[n_inst] = tu_linear(e, sym, under[u], usdt, 1.0, 0.001, 0.001, mark[n_inst], t, 3);
        n_inst++;
        if (u % 2 == 0) { /* a second contract on u, at another mark */
            snprintf(sym, sizeof sym, "U%uUSDT-Q", u);
            tick[n_inst] = 0.01, mark[n_inst] = floor(price * 1.02) + 0.01, lot[n_inst] = 0.001, inverse[n_inst] = 0;
            inst_under[n_inst] = u;
            inst[n_inst] = tu_linear(e, sym, under[u], usdt, 1.0, 0.001, 0.01, mark[n_inst], t, 3);
            n_inst++;
        }
        if (u % 4 == 1) { /* an inverse contract: settles in u */
            snprintf(sym, sizeof sym, "U%uUSD", u);
            tick[n_inst] = 0.5, mark[n_inst] = floor(price) + 0.5, lot[n_inst] = 1.0, inverse[n_inst] = 1;
            inst_under[n_inst] = u;
            inst[n_inst] = tu_inverse(e, sym, under[u], 10.0, 1.0, 0.5, mark[n_inst], t, 3);
            n_inst++;
        }
    }
    static const uint32_t sizes[] = {1, 2, 5, 8, 16, 32, 64, 100, 128};
    risk_position_result res[128];
    size_t checked = 0;
    for (uint64_t id = 1; id <= 90; id++) {
        uint32_t n = sizes[id % 9];
        risk_account *acc = tu_account(e, id, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
        double gross = 0.0;
        unsigned char used[3 * DIFF_UNDERLYINGS][2];
        memset(used, 0, sizeof used);
        for (uint32_t p = 0; p < n;) {
            uint32_t j = (uint32_t)tu_rng_int(&rng, 0, (int)n_inst - 1);
            int s = tu_rng_int(&rng, 0, 1);
            if (used[j][s])
                continue;
            used[j][s] = 1;
            double notional = tu_rng_range(&rng, 100.0, 1e6);
            double lots = floor(inverse[j] ? notional / 10.0 : notional / mark[j] / lot[j]) + 1.0;
            double qty = lots * lot[j]; /* a hedge leg: its side gives the direction */
            double entry = round(mark[j] * tu_rng_range(&rng, 0.9, 1.1) / tick[j]) * tick[j];
            int iso = tu_rng_unit(&rng) < 0.2;
            double value = inverse[j] ? lots * 10.0 : lots * lot[j] * mark[j];
            /* isolated margin: 10 % of the value, in USDT or (inverse) in coins */
            double margin = iso ? floor((inverse[j] ? value / mark[j] : value) * 0.1 * 1e4) * 1e-4 : 0.0;
            (void)tu_open(acc, inst[j], s ? RISK_SIDE_SHORT : RISK_SIDE_LONG,
                          iso ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS, qty, entry, margin);
            gross += value;
            p++;
        }
        tu_balance(acc, usdt, floor(gross * tu_rng_range(&rng, 0.01, 0.12)));
        for (int b = tu_rng_int(&rng, 0, 3); b > 0; b--) { /* balances that move with an underlying */
            uint32_t u = (uint32_t)tu_rng_int(&rng, 0, DIFF_UNDERLYINGS - 1);
            tu_balance(acc, under[u], floor(tu_rng_range(&rng, -0.02, 0.05) * gross / price_of[u] * 1e4) * 1e-4);
        }
        assert_int_equal(tu_results(acc, res, 128), n);
        for (uint32_t i = 0; i < n; i++) {
            const risk_position_result *r = &res[i];
            if (r->margin_mode != RISK_MARGIN_CROSS)
                continue;
            uint32_t j = 0;
            while (inst[j] != r->instrument)
                j++;
            uint32_t ua = under[inst_under[j]];
            double spot = 0.0;
            tu_assert_status(risk_account_spot_liquidation_price(acc, ua, &spot), RISK_OK);
            assert_int_equal(has_lp(r), !isnan(spot));
            if (!has_lp(r))
                continue;
            double want = r->mark * (spot / price_of[inst_under[j]]);
            tu_assert_rel(r->liquidation_price_raw, want, 1e-9);
            assert_true(fabs(r->liquidation_price - want) <= tick[j] * (1.0 + 1e-9));
            checked++;
        }
        risk_account_free(acc);
    }
    assert_true(checked > 1000);
    risk_engine_free(e);
}

/* ================================================================== lean solve
 * A pool of futures is solved on a program of its terms taken once per solve (price.c, "the
 * lean solve"), which must give the bits pool_coeffs gives. An engine with unrealised-PnL
 * weights on takes the general walk for every pool; weights on an instrument no account holds
 * (maintenance weight 1) change nothing else. So the same random book in two engines, one with
 * such an instrument, gives the same results to the bit: linear, entry-priced, inverse (settled
 * in the underlying, one entry-priced) and quanto futures (settled in another coin), 1, 3 and 5
 * tiers, a size premium, closing fees in the prices, pending funding, isolated and hedged
 * positions, balances in the underlyings. */
#define LEAN_UNDERLYINGS 6

static void lean_book(risk_engine *e, int generic, risk_account **acc, int n_acc)
{
    tu_rng rng;
    tu_rng_seed(&rng, 0x1ea9b00cULL);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), coin[LEAN_UNDERLYINGS];
    double price[LEAN_UNDERLYINGS];
    const risk_margin_tier t1[] = {tu_tier(1e12, 0.02, 25.0)};
    const risk_margin_tier t3[] = {tu_tier(50000.0, 0.01, 50.0), tu_tier(250000.0, 0.02, 25.0),
                                   tu_tier(1e9, 0.05, 10.0)};
    const risk_margin_tier t5[] = {tu_tier(10000.0, 0.004, 125.0), tu_tier(50000.0, 0.005, 100.0),
                                   tu_tier(200000.0, 0.01, 50.0), tu_tier(1e6, 0.025, 20.0),
                                   tu_tier(1e10, 0.05, 10.0)};
    const risk_margin_tier t3_coin[] = {tu_tier(10.0, 0.01, 50.0), tu_tier(100.0, 0.02, 25.0), tu_tier(1e9, 0.05, 10.0)};
    for (int u = 0; u < LEAN_UNDERLYINGS; u++) {
        char sym[16];
        snprintf(sym, sizeof sym, "C%d", u);
        price[u] = floor(tu_rng_range(&rng, 1.0, 3000.0)) + 0.25;
        double w = u % 3 == 0 ? 0.9 : 1.0;
        coin[u] = tu_asset_w(e, sym, price[u], 8, w * 0.95, w, 2.0 - w, 2.0 - w);
    }
    uint32_t inst[6 * LEAN_UNDERLYINGS];
    double mark[6 * LEAN_UNDERLYINGS], lot[6 * LEAN_UNDERLYINGS], cs[6 * LEAN_UNDERLYINGS];
    int inverse[6 * LEAN_UNDERLYINGS], n_inst = 0;
    for (int u = 0; u < LEAN_UNDERLYINGS; u++)
        for (int k = 0; k < 5; k++) {
            char sym[24];
            snprintf(sym, sizeof sym, "C%d-%d", u, k);
            const risk_margin_tier *t = u == 4 ? t1 : k == 1 || k == 4 ? t5 : t3;
            size_t nt = u == 4 ? 1 : k == 1 || k == 4 ? 5 : 3;
            double m = floor(price[u] * tu_rng_range(&rng, 0.99, 1.01) * 100.0) / 100.0 + 0.01;
            risk_instrument_spec is = tu_linear_spec(sym, coin[u], usdt, 1.0, 0.001, 0.01, m, t, nt);
            if (k == 1) /* entry-priced */
                is.mm_price = RISK_MM_PRICE_ENTRY;
            if (k == 2 || k == 4) { /* inverse, settled in u; k 4 entry-priced */
                is = tu_inverse_spec(sym, coin[u], k == 2 ? 10.0 : 100.0, 1.0, 0.5, floor(price[u]) + 0.5,
                                     k == 2 && u != 4 ? t3_coin : t, nt); /* tiers in coins */
                if (k == 4)
                    is.mm_price = RISK_MM_PRICE_ENTRY;
            }
            if (k == 3) /* quanto: settled in another coin, whose pool it moves */
                is.settle = coin[(u + 1) % LEAN_UNDERLYINGS];
            inst[n_inst] = tu_instrument(e, &is);
            mark[n_inst] = is.mark, lot[n_inst] = is.lot_size, cs[n_inst] = is.contract_size;
            inverse[n_inst] = (int)is.inverse;
            if (k == 0 && u % 2 == 0) {
                risk_size_premium sp = RISK_SIZE_PREMIUM_INIT;
                sp.imf = 0.0005;
                tu_assert_status(risk_engine_set_instrument_size_premium(e, inst[n_inst], &sp), RISK_OK);
            }
            if ((k == 0 && u % 3 == 0) || (k == 2 && u % 3 == 1) || k == 3) {
                risk_instrument_fees f = RISK_INSTRUMENT_FEES_INIT;
                f.liquidation_price_with_fee = 1;
                f.taker_fee = 0.0006;
                tu_assert_status(risk_engine_set_instrument_fees(e, inst[n_inst], &f), RISK_OK);
            }
            n_inst++;
        }
    if (generic) { /* weights on an instrument no one holds: every pool takes the general walk */
        uint32_t idle = tu_linear(e, "IDLE", coin[0], usdt, 1.0, 0.001, 0.01, price[0], t3, 3);
        tu_assert_status(risk_engine_set_instrument_upnl_weight(e, idle, 0.5, 1.0, 0.0), RISK_OK);
    }
    for (int a = 0; a < n_acc; a++) {
        int hedge = a % 2;
        acc[a] = tu_account(e, (uint64_t)a + 1, RISK_MARGIN_CROSS, hedge ? RISK_POSITION_HEDGE : RISK_POSITION_ONE_WAY);
        int n_pos = a % 10 == 0 ? 60 : tu_rng_int(&rng, 1, 12);
        double gross = 0.0;
        unsigned char used[6 * LEAN_UNDERLYINGS][2];
        memset(used, 0, sizeof used);
        for (int p = 0; p < n_pos && p < n_inst;) {
            int j = tu_rng_int(&rng, 0, n_inst - 1), s = tu_rng_int(&rng, 0, 1);
            if (used[j][hedge ? s : 0])
                continue;
            used[j][hedge ? s : 0] = 1;
            double notional = exp(tu_rng_range(&rng, log(100.0), log(3e6)));
            double lots = floor(inverse[j] ? notional / cs[j] : notional / mark[j] / lot[j]) + 1.0;
            double entry = floor(mark[j] * tu_rng_range(&rng, 0.9, 1.1) / 0.5) * 0.5 + 0.5;
            int iso = tu_rng_unit(&rng) < 0.2;
            double value = inverse[j] ? lots * cs[j] : lots * lot[j] * mark[j];
            double margin = iso ? floor((inverse[j] ? value / mark[j] : value) * 0.05 * 1e4) * 1e-4 : 0.0;
            (void)tu_open(acc[a], inst[j], hedge ? (s ? RISK_SIDE_SHORT : RISK_SIDE_LONG) : RISK_SIDE_BOTH,
                          iso ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS, (s && !hedge ? -1.0 : 1.0) * lots * lot[j],
                          entry, margin); /* a hedge leg's side gives the direction */
            gross += value;
            p++;
        }
        tu_balance(acc[a], usdt, floor(gross * tu_rng_range(&rng, 0.01, 0.15)));
        for (int b = tu_rng_int(&rng, 0, 2); b > 0; b--) {
            int u = tu_rng_int(&rng, 0, LEAN_UNDERLYINGS - 1);
            tu_balance(acc[a], coin[u], floor(tu_rng_range(&rng, -0.02, 0.06) * gross / price[u] * 1e4) * 1e-4);
        }
    }
    for (int j = 0; j < n_inst; j += 2) /* pending funding on every other contract */
        tu_assert_status(risk_engine_accrue_funding(e, inst[j], 0.0001, -0.0001, 0.0, 1700000000), RISK_OK);
}

#define LEAN_ACCOUNTS 80

static void test_liquidation_lean_solve_matches_general_walk(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e[2];
    static risk_account *acc[2][LEAN_ACCOUNTS];
    for (int g = 0; g < 2; g++) {
        e[g] = tu_engine(&al, 0);
        lean_book(e[g], g, acc[g], LEAN_ACCOUNTS);
    }
    static risk_position_result r[2][64];
    size_t n_priced = 0, n_results = 0;
    for (int a = 0; a < LEAN_ACCOUNTS; a++) {
        size_t n[2];
        for (int g = 0; g < 2; g++) {
            memset(r[g], 0, sizeof r[g]);
            n[g] = tu_results(acc[g][a], r[g], 64);
        }
        assert_int_equal(n[0], n[1]);
        assert_true(n[0] > 0);
        for (size_t i = 0; i < n[0]; i++) {
            assert_memory_equal(&r[0][i], &r[1][i], sizeof r[0][i]);
            n_priced += (r[0][i].flags & RISK_RESULT_HAS_LIQUIDATION_PRICE) != 0;
        }
        n_results += n[0];
        for (uint32_t u = 1; u <= LEAN_UNDERLYINGS; u++) { /* the spot liquidation prices too */
            double p0 = 0.0, p1 = 0.0;
            tu_assert_status(risk_account_spot_liquidation_price(acc[0][a], u, &p0), RISK_OK);
            tu_assert_status(risk_account_spot_liquidation_price(acc[1][a], u, &p1), RISK_OK);
            tu_assert_bits(p0, p1);
        }
    }
    assert_true(n_results > 500);
    assert_true(n_priced > n_results / 4);
    for (int g = 0; g < 2; g++) {
        for (int a = 0; a < LEAN_ACCOUNTS; a++)
            risk_account_free(acc[g][a]);
        risk_engine_free(e[g]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_liquidation_binance_isolated_w1_w2),
        cmocka_unit_test(test_liquidation_binance_cross_w3_w4),
        cmocka_unit_test(test_liquidation_binance_bankruptcy_prices),
        cmocka_unit_test(test_liquidation_bybit_usdt_isolated_w11),
        cmocka_unit_test(test_liquidation_bybit_inverse_isolated_w12),
        cmocka_unit_test(test_liquidation_bybit_bankruptcy_w14),
        cmocka_unit_test(test_liquidation_bybit_inverse_cross_w13_without_fee),
        cmocka_unit_test(test_liquidation_hyperliquid_isolated),
        cmocka_unit_test(test_liquidation_rounding_bybit_w13_w14),
        cmocka_unit_test(test_liquidation_rounding_long_up_short_down),
        cmocka_unit_test(test_liquidation_rounding_binance_longs_up),
        cmocka_unit_test(test_liquidation_rounding_keeps_roots_on_the_tick),
        cmocka_unit_test(test_liquidation_hedge_legs_share_one_price),
        cmocka_unit_test(test_liquidation_hedge_net_short_rounds_down),
        cmocka_unit_test(test_liquidation_isolated_hedge_legs_own_prices),
        cmocka_unit_test(test_liquidation_two_roots_net_long_takes_the_fall),
        cmocka_unit_test(test_liquidation_none_without_a_root),
        cmocka_unit_test(test_liquidation_hedged_at_mark_has_lp_but_no_bp),
        cmocka_unit_test(test_liquidation_moves_the_underlying_collateral),
        cmocka_unit_test(test_liquidation_cross_positions_share_the_factor),
        cmocka_unit_test(test_liquidation_resolves_in_the_tier_of_the_root),
        cmocka_unit_test(test_liquidation_flags),
        cmocka_unit_test(test_liquidation_index_matches_direct_solve),
        cmocka_unit_test(test_liquidation_lean_solve_matches_general_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
