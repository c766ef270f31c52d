/* SPDX-License-Identifier: Apache-2.0 */
/* test_margin.c: margin schedules: derived and published deductions (cum), IM and MM of a
 * notional, tier selection, MM at the mark or at the entry, published examples, bad input. */
#include "test_util.h"

#include <math.h>
#include <string.h>

static const double binance_btcusdt_cum[] = {0.0,        50.0,       1300.0,     16300.0,     266300.0,
                                             1266300.0,  2516300.0,  5016300.0,  25016300.0,  100016300.0};

typedef struct {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdt, btc, eth;
} env;

static void env_init(env *v, uint32_t flags)
{
    tu_alloc_init(&v->a);
    v->e = tu_engine(&v->a, flags);
    v->usdt = tu_asset(v->e, "USDT", 1.0, 6);
    v->btc = tu_asset(v->e, "BTC", 50000.0, 8);
    v->eth = tu_asset(v->e, "ETH", 3000.0, 8);
}

static void check_cum(risk_engine *e, uint32_t inst, const double *cum, size_t n)
{
    risk_margin_tier got[16];
    size_t count = 0;
    assert_true(n <= 16);
    tu_assert_status(risk_engine_instrument_tiers(e, inst, got, 16, &count), RISK_OK);
    assert_int_equal(count, n);
    for (size_t i = 0; i < n; i++) {
        tu_assert_near(got[i].cum, cum[i], 1e-6);
        assert_int_equal(got[i].cum_given, 0);
    }
}

/* W5: the cum column is derived by cum_t = cum_(t-1) + cap_(t-1) x (mmr_t - mmr_(t-1)).
 * https://gist.github.com/highfestiva/b71e76f51eed84d56c1be8ebbcc286b5 */
static void test_margin_binance_btcusdt_cum_table_w5(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    uint32_t inst = tu_binance_btcusdt_perp(v.e, "BTCUSDT", v.btc, v.usdt, 50000.0);
    check_cum(v.e, inst, binance_btcusdt_cum, 10);
    risk_margin_tier got[10];
    size_t n = 0;
    tu_assert_status(risk_engine_instrument_tiers(v.e, inst, got, 10, &n), RISK_OK);
    for (size_t i = 0; i < 10; i++) {
        tu_assert_bits(got[i].mmr, tu_binance_btcusdt[i].mmr);
        tu_assert_bits(got[i].max_leverage, tu_binance_btcusdt[i].max_leverage);
        if (i < 9)
            tu_assert_bits(got[i].notional_cap, tu_binance_btcusdt[i].notional_cap);
    }
    /* MM = N x mmr - cum in a few tiers. */
    const double notional[] = {10000.0, 100000.0, 600000.0, 5000000.0, 15000000.0, 450000000.0, 1e9};
    const size_t tier[] = {0, 1, 2, 3, 4, 9, 9};
    for (size_t i = 0; i < sizeof notional / sizeof notional[0]; i++) {
        double im = 0, mm = 0;
        uint32_t t = 99;
        tu_assert_status(risk_engine_instrument_margin(v.e, inst, notional[i], 0.0, &im, &mm, &t), RISK_OK);
        assert_int_equal(t, tier[i]);
        tu_assert_rel(mm, notional[i] * tu_binance_btcusdt[tier[i]].mmr - binance_btcusdt_cum[tier[i]], 1e-13);
        tu_assert_rel(im, notional[i] / tu_binance_btcusdt[tier[i]].max_leverage, 1e-15);
    }
    risk_engine_free(v.e);
}

/* W6: Binance cum for ADA/BUSD and ZEC/USDT, freqtrade test_fill_leverage_tiers_binance,
 * https://github.com/freqtrade/freqtrade/blob/develop/tests/exchange/test_binance.py */
static void test_margin_binance_ada_zec_cum_w6(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    uint32_t busd = tu_asset(v.e, "BUSD", 1.0, 6);
    uint32_t ada = tu_asset(v.e, "ADA", 0.5, 8);
    uint32_t zec = tu_asset(v.e, "ZEC", 30.0, 8);
    static const risk_margin_tier ada_t[] = {
        {100000.0, 0.025, 20.0, 0, 0},  {500000.0, 0.05, 10.0, 0, 0}, {1000000.0, 0.10, 5.0, 0, 0},
        {2000000.0, 0.15, 3.0, 0, 0},   {5000000.0, 0.25, 2.0, 0, 0}, {1e12, 0.50, 1.0, 0, 0}};
    static const double ada_cum[] = {0.0, 2500.0, 27500.0, 77500.0, 277500.0, 1527500.0};
    static const risk_margin_tier zec_t[] = {{50000.0, 0.01, 50.0, 0, 0},   {150000.0, 0.025, 20.0, 0, 0},
                                             {250000.0, 0.05, 10.0, 0, 0},  {500000.0, 0.10, 5.0, 0, 0},
                                             {1e12, 0.125, 4.0, 0, 0}};
    static const double zec_cum[] = {0.0, 750.0, 4500.0, 17000.0, 29500.0};
    uint32_t i_ada = tu_linear(v.e, "ADABUSD", ada, busd, 1.0, 1.0, 0.0001, 0.5, ada_t, 6);
    uint32_t i_zec = tu_linear(v.e, "ZECUSDT", zec, v.usdt, 1.0, 0.001, 0.01, 30.0, zec_t, 5);
    check_cum(v.e, i_ada, ada_cum, 6);
    check_cum(v.e, i_zec, zec_cum, 5);
    risk_engine_free(v.e);
}

/*
 * Binance ETHUSDT and BTCUSDT maintenance amounts of W3/W4 (Binance FAQ
 * https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93, cases reproduced in
 * freqtrade tests/exchange/test_binance.py test_liquidation_price_binance):
 * BTC 109.488 @ mark 31,967.27, MMR 2.5 %, cum 16,300: TMM 71,200.81144;
 * ETH 3,683.979 @ mark 1,335.18, MMR 10 %, cum 135,365 (published): TMM 356,512.508.
 */
static void test_margin_binance_maintenance_amounts_w3_w4(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    static const risk_margin_tier eth_t[] = {{2707300.0, 0.05, 20.0, 0, 0},
                                             {10000000.0, 0.10, 10.0, 135365.0, 1},
                                             {1e12, 0.125, 5.0, 0, 0}};
    uint32_t btc_i = tu_binance_btcusdt_perp(v.e, "BTCUSDT", v.btc, v.usdt, 31967.27);
    uint32_t eth_i = tu_linear(v.e, "ETHUSDT", v.eth, v.usdt, 1.0, 0.001, 0.01, 1335.18, eth_t, 3);
    risk_margin_tier got[3];
    size_t n = 0;
    tu_assert_status(risk_engine_instrument_tiers(v.e, eth_i, got, 3, &n), RISK_OK);
    assert_int_equal(n, 3);
    assert_int_equal(got[1].cum_given, 1);
    tu_assert_bits(got[1].cum, 135365.0);
    assert_int_equal(got[0].cum_given, 0);
    tu_assert_near(got[2].cum, 135365.0 + 10000000.0 * 0.025, 1e-6); /* derived after a published one */

    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, v.usdt, 1535443.01);
    (void)tu_open_simple(acc, eth_i, 3683.979, 1456.84);
    (void)tu_open_simple(acc, btc_i, 109.488, 32481.98);
    risk_position_result r = tu_result_of(acc, btc_i, RISK_SIDE_LONG);
    tu_assert_near(r.maintenance_margin, 71200.81144, 1e-5);
    tu_assert_near(r.unrealized_pnl, -56354.57, 0.005);
    assert_int_equal(r.tier, 3);
    r = tu_result_of(acc, eth_i, RISK_SIDE_LONG);
    tu_assert_near(r.maintenance_margin, 356512.508, 1e-3);
    tu_assert_near(r.unrealized_pnl, -448192.89, 0.005);
    assert_int_equal(r.tier, 1);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/*
 * Hyperliquid margin tiers (research/defi-anchors.md 3.6, derived from
 * https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers): DOGE testnet table
 * 0-20k: 10x, 20k-100k: 5x, above: 3x; mmr = 1 / (2 x max leverage) = 5 %, 10 %, 16.667 %;
 * deductions 0 / 1,000 / 7,666.67; MM(50k) = 4,000, MM(100k) = 9,000 from either side,
 * MM(200k) = 25,666.67.
 */
static void test_margin_hyperliquid_tiers(void **state)
{
    (void)state;
    env v;
    env_init(&v, RISK_ENGINE_NO_QUANTIZE);
    uint32_t usdc = tu_asset(v.e, "USDC", 1.0, 6);
    uint32_t doge = tu_asset(v.e, "DOGE", 0.1, 8);
    const risk_margin_tier t[] = {tu_tier(20000.0, 0.5 / 10.0, 10.0), tu_tier(100000.0, 0.5 / 5.0, 5.0),
                                  tu_tier(1e12, 0.5 / 3.0, 3.0)};
    uint32_t inst = tu_linear(v.e, "DOGE-PERP", doge, usdc, 1.0, 1.0, 0.00001, 0.1, t, 3);
    risk_margin_tier got[3];
    size_t n = 0;
    tu_assert_status(risk_engine_instrument_tiers(v.e, inst, got, 3, &n), RISK_OK);
    tu_assert_near(got[0].cum, 0.0, 1e-9);
    tu_assert_near(got[1].cum, 1000.0, 1e-9);
    tu_assert_near(got[2].cum, 7666.67, 0.005);
    double im, mm;
    uint32_t tier;
    tu_assert_status(risk_engine_instrument_margin(v.e, inst, 50000.0, 0.0, &im, &mm, &tier), RISK_OK);
    tu_assert_near(mm, 4000.0, 1e-9);
    assert_int_equal(tier, 1);
    tu_assert_near(im, 10000.0, 1e-9);
    tu_assert_status(risk_engine_instrument_margin(v.e, inst, 100000.0, 0.0, &im, &mm, &tier), RISK_OK);
    tu_assert_near(mm, 9000.0, 1e-9);
    assert_int_equal(tier, 1); /* caps are inclusive */
    tu_assert_status(risk_engine_instrument_margin(v.e, inst, nextafter(100000.0, 1e9), 0.0, &im, &mm, &tier),
                     RISK_OK);
    tu_assert_near(mm, 9000.0, 1e-9);
    assert_int_equal(tier, 2);
    tu_assert_status(risk_engine_instrument_margin(v.e, inst, 200000.0, 0.0, &im, &mm, &tier), RISK_OK);
    tu_assert_near(mm, 25666.67, 0.005);
    risk_engine_free(v.e);
}

/* Inclusive caps, user leverage, NULL outputs. */
static void test_margin_instrument_margin_values(void **state)
{
    (void)state;
    env v;
    env_init(&v, RISK_ENGINE_NO_QUANTIZE);
    uint32_t inst = tu_binance_btcusdt_perp(v.e, "BTCUSDT", v.btc, v.usdt, 50000.0);
    double im = -1, mm = -1;
    uint32_t tier = 99;
    tu_assert_status(risk_engine_instrument_margin(v.e, inst, 0.0, 0.0, &im, &mm, &tier), RISK_OK);
    tu_assert_bits(im, 0.0);
    tu_assert_bits(mm, 0.0);
    assert_int_equal(tier, 0);
    tu_assert_status(risk_engine_instrument_margin(v.e, inst, 50000.0, 0.0, &im, &mm, &tier), RISK_OK);
    assert_int_equal(tier, 0);
    tu_assert_rel(mm, 200.0, 1e-15);
    tu_assert_rel(im, 400.0, 1e-15);
    tu_assert_status(risk_engine_instrument_margin(v.e, inst, 50000.01, 0.0, &im, &mm, &tier), RISK_OK);
    assert_int_equal(tier, 1);
    tu_assert_rel(mm, 50000.01 * 0.005 - 50.0, 1e-13);
    tu_assert_rel(im, 50000.01 / 100.0, 1e-15);
    /* User leverage below the tier's max applies. */
    tu_assert_status(risk_engine_instrument_margin(v.e, inst, 40000.0, 10.0, &im, &mm, &tier), RISK_OK);
    tu_assert_rel(im, 4000.0, 1e-15);
    /* Above the tier's max (but within the schedule's): the tier's max applies. */
    tu_assert_status(risk_engine_instrument_margin(v.e, inst, 2000000.0, 125.0, &im, &mm, &tier), RISK_OK);
    assert_int_equal(tier, 3);
    tu_assert_rel(im, 2000000.0 / 20.0, 1e-15);
    tu_assert_rel(mm, 2000000.0 * 0.025 - 16300.0, 1e-13);
    /* Every output may be NULL. */
    tu_assert_status(risk_engine_instrument_margin(v.e, inst, 1000.0, 0.0, NULL, NULL, NULL), RISK_OK);
    tu_assert_status(risk_engine_instrument_margin(v.e, inst, 1000.0, 0.0, NULL, &mm, NULL), RISK_OK);
    tu_assert_rel(mm, 4.0, 1e-15);
    risk_engine_free(v.e);
}

static void test_margin_instrument_margin_rejects_bad_input(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    uint32_t inst = tu_binance_btcusdt_perp(v.e, "BTCUSDT", v.btc, v.usdt, 50000.0);
    tu_engine_snap snap;
    tu_engine_snap_take(v.e, &snap);
    struct {
        uint32_t inst;
        double notional, lev;
        int want;
    } cases[] = {
        {1, 1000.0, 0.0, RISK_ENOTFOUND},      {RISK_ID_NONE, 1000.0, 0.0, RISK_ENOTFOUND},
        {0, -1.0, 0.0, RISK_EINVAL},           {0, NAN, 0.0, RISK_EINVAL},
        {0, INFINITY, 0.0, RISK_EINVAL},       {0, 1000.0, 0.5, RISK_EINVAL},
        {0, 1000.0, -1.0, RISK_EINVAL},        {0, 1000.0, NAN, RISK_EINVAL},
        {0, 1000.0, 125.5, RISK_ELEVERAGE},    {0, 1000.0, INFINITY, RISK_EINVAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double im = 7, mm = 7;
        uint32_t t = 7;
        int rc = risk_engine_instrument_margin(v.e, cases[i].inst, cases[i].notional, cases[i].lev, &im, &mm, &t);
        if (rc != cases[i].want && !(cases[i].lev == INFINITY && rc == RISK_ELEVERAGE))
            print_error("case %zu\n", i);
        assert_true(rc == cases[i].want || (cases[i].lev == INFINITY && rc == RISK_ELEVERAGE));
        tu_assert_errmsg(risk_engine_errmsg(v.e));
        tu_engine_snap_check(v.e, &snap, 0);
    }
    tu_assert_status(risk_engine_instrument_margin(NULL, inst, 1000.0, 0.0, NULL, NULL, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_instrument_margin(v.e, inst, 1000.0, 125.0, NULL, NULL, NULL), RISK_OK);
    risk_engine_free(v.e);
}

static void test_margin_instrument_tiers_buffer(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    uint32_t inst = tu_binance_btcusdt_perp(v.e, "BTCUSDT", v.btc, v.usdt, 50000.0);
    risk_margin_tier got[10];
    size_t n = 0;
    memset(got, 0, sizeof got);
    tu_assert_status(risk_engine_instrument_tiers(v.e, inst, got, 4, &n), RISK_EBUFFER);
    assert_int_equal(n, 10);
    tu_assert_errmsg(risk_engine_errmsg(v.e));
    n = 0;
    int rc = risk_engine_instrument_tiers(v.e, inst, NULL, 0, &n);
    assert_true(rc == RISK_OK || rc == RISK_EBUFFER);
    assert_int_equal(n, 10);
    tu_assert_status(risk_engine_instrument_tiers(v.e, inst, NULL, 10, &n), RISK_ENULL);
    tu_assert_status(risk_engine_instrument_tiers(v.e, inst, got, 10, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_instrument_tiers(NULL, inst, got, 10, &n), RISK_ENULL);
    tu_assert_status(risk_engine_instrument_tiers(v.e, 5, got, 10, &n), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_engine_errmsg(v.e));
    tu_assert_status(risk_engine_instrument_tiers(v.e, inst, got, 10, &n), RISK_OK);
    assert_int_equal(n, 10);
    risk_engine_free(v.e);
}

/* A published cum is kept even where it breaks continuity, and it is what MM uses. */
static void test_margin_published_cum_is_kept(void **state)
{
    (void)state;
    env v;
    env_init(&v, RISK_ENGINE_NO_QUANTIZE);
    const risk_margin_tier t[] = {tu_tier(10000.0, 0.01, 50.0), tu_tier_cum(1e9, 0.02, 25.0, 123.0)};
    uint32_t inst = tu_linear(v.e, "X", v.btc, v.usdt, 1.0, 0.001, 0.1, 50000.0, t, 2);
    risk_margin_tier got[2];
    size_t n = 0;
    tu_assert_status(risk_engine_instrument_tiers(v.e, inst, got, 2, &n), RISK_OK);
    tu_assert_bits(got[1].cum, 123.0);
    assert_int_equal(got[1].cum_given, 1);
    double mm = 0;
    tu_assert_status(risk_engine_instrument_margin(v.e, inst, 20000.0, 0.0, NULL, &mm, NULL), RISK_OK);
    tu_assert_rel(mm, 400.0 - 123.0, 1e-15);
    risk_engine_free(v.e);
}

/*
 * W11, Bybit USDT isolated (https://testnet.bybit.com/en-US/help-center/s/article/Liquidation-Price-USDT-Contract):
 * long 1 BTC @ 20,000, 50x, MMR 0.5 %: IM 400, MM 100, both at the entry price (Bybit values
 * USDT-contract margin at the entry), whatever the mark.
 */
static void test_margin_bybit_usdt_margin_at_entry_w11(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    const risk_margin_tier t[] = {tu_tier(2000000.0, 0.005, 100.0), tu_tier(1e12, 0.01, 50.0)};
    risk_instrument_spec s = tu_linear_spec("BTCUSDT", v.btc, v.usdt, 1.0, 0.001, 0.1, 20000.0, t, 2);
    s.mm_price = RISK_MM_PRICE_ENTRY;
    uint32_t at_entry = tu_instrument(v.e, &s);
    s.symbol = "BTCUSDT-MARK";
    s.mm_price = RISK_MM_PRICE_MARK;
    uint32_t at_mark = tu_instrument(v.e, &s);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    tu_leverage(acc, at_entry, 50.0);
    tu_leverage(acc, at_mark, 50.0);
    (void)tu_open(acc, at_entry, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 1.0, 20000.0, 400.0);
    (void)tu_open(acc, at_mark, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 1.0, 20000.0, 400.0);
    risk_position_result r = tu_result_of(acc, at_entry, RISK_SIDE_LONG);
    tu_assert_near(r.initial_margin, 400.0, 1e-9);
    tu_assert_near(r.maintenance_margin, 100.0, 1e-9);
    tu_mark(v.e, at_entry, 19800.0);
    tu_mark(v.e, at_mark, 19800.0);
    r = tu_result_of(acc, at_entry, RISK_SIDE_LONG);
    tu_assert_near(r.initial_margin, 400.0, 1e-9);
    tu_assert_near(r.maintenance_margin, 100.0, 1e-9);
    tu_assert_near(r.notional, 19800.0, 1e-9); /* the notional is at the mark */
    tu_assert_near(r.unrealized_pnl, -200.0, 1e-9);
    r = tu_result_of(acc, at_mark, RISK_SIDE_LONG);
    tu_assert_near(r.initial_margin, 396.0, 1e-9);
    tu_assert_near(r.maintenance_margin, 99.0, 1e-9);
    /* The tier follows the margin price too: 101 BTC @ 20,000 = 2.02M (tier 1) at the entry. */
    risk_account *big = tu_account(v.e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(big, v.usdt, 1e6);
    (void)tu_open_simple(big, at_entry, 101.0, 20000.0);
    tu_mark(v.e, at_entry, 19000.0); /* 1.919M at the mark: tier 0 there */
    r = tu_result_of(big, at_entry, RISK_SIDE_LONG);
    assert_int_equal(r.tier, 1);
    tu_assert_near(r.maintenance_margin, 2020000.0 * 0.01 - 2000000.0 * 0.005, 1e-6);
    risk_account_free(big);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/*
 * W12, Bybit inverse isolated
 * (https://testnet.bybit.com/ar-SA/help-center/article/Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account):
 * 60,000 USD @ 50,000, 10x, MMR 0.5 %: position value 1.2 BTC, IM 0.12 BTC, MM 0.006 BTC.
 */
static void test_margin_bybit_inverse_values_w12(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    const risk_margin_tier t[] = {tu_tier(1e6, 0.005, 100.0)};
    uint32_t inst = tu_inverse(v.e, "BTCUSD", v.btc, 1.0, 1.0, 0.5, 50000.0, t, 1);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    tu_leverage(acc, inst, 10.0);
    (void)tu_open(acc, inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 60000.0, 50000.0, 0.12);
    risk_position_result r = tu_result_of(acc, inst, RISK_SIDE_LONG);
    tu_assert_near(r.notional, 1.2, 1e-12);
    tu_assert_near(r.initial_margin, 0.12, 1e-12);
    tu_assert_near(r.maintenance_margin, 0.006, 1e-12);
    tu_assert_near(r.unrealized_pnl, 0.0, 1e-15);
    /* Account level in V: 0.12 BTC of isolated margin at BTC's price. */
    risk_account_summary s = tu_eval(acc);
    tu_assert_near(s.isolated_margin, 0.12 * 50000.0, 1e-6);
    tu_assert_near(s.equity, 0.12 * 50000.0, 1e-6);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/*
 * W10, Binance Portfolio Margin Pro example (the parts shown),
 * https://binance.com/en/support/announcement/binance-portf%C3%B6y-marjini-pro-s%C3%BCrd%C3%BCrme-marjini-oran%C4%B1-hesaplamas%C4%B1-5e33af8e6ac04d57a1d0a3398e0a0752
 * BTCUSDT_PERP short 0.05 @ 52,000, mark 40,000: UPnL +600; BTCUSDT_20220624 long 0.04 @ 52,350,
 * mark 42,000: UPnL -414; BTCUSD_PERP long 10,000 USD @ 50,000, mark 40,000: UPnL -0.05 BTC;
 * all MMR 0.5 %: MM 10 USDT, 8.4 USDT, 0.00125 BTC.
 */
static void test_margin_binance_portfolio_positions_w10(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    const risk_margin_tier t[] = {tu_tier(1e9, 0.005, 100.0)};
    uint32_t perp = tu_linear(v.e, "BTCUSDT_PERP", v.btc, v.usdt, 1.0, 0.001, 0.1, 40000.0, t, 1);
    risk_instrument_spec fs = tu_linear_spec("BTCUSDT_20220624", v.btc, v.usdt, 1.0, 0.001, 0.1, 42000.0, t, 1);
    fs.kind = RISK_KIND_FUTURE;
    fs.expiry_unix_s = 1656057600; /* 2022-06-24T08:00:00Z */
    uint32_t fut = tu_instrument(v.e, &fs);
    uint32_t inv = tu_inverse(v.e, "BTCUSD_PERP", v.btc, 100.0, 1.0, 0.1, 40000.0, t, 1);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, v.usdt, 1000.0);
    (void)tu_open_simple(acc, perp, -0.05, 52000.0);
    (void)tu_open_simple(acc, fut, 0.04, 52350.0);
    (void)tu_open_simple(acc, inv, 100.0, 50000.0);
    risk_position_result r = tu_result_of(acc, perp, RISK_SIDE_SHORT);
    tu_assert_near(r.unrealized_pnl, 600.0, 1e-9);
    tu_assert_near(r.maintenance_margin, 10.0, 1e-9);
    r = tu_result_of(acc, fut, RISK_SIDE_LONG);
    tu_assert_near(r.unrealized_pnl, -414.0, 1e-9);
    tu_assert_near(r.maintenance_margin, 8.4, 1e-9);
    r = tu_result_of(acc, inv, RISK_SIDE_LONG);
    tu_assert_near(r.unrealized_pnl, -0.05, 1e-12);
    tu_assert_near(r.maintenance_margin, 0.00125, 1e-12);
    tu_assert_near(r.notional, 0.25, 1e-12);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* Inverse tiers are in the coin: the tier moves with the mark as the notional in BTC does. */
static void test_margin_inverse_tier_follows_coin_notional(void **state)
{
    (void)state;
    env v;
    env_init(&v, RISK_ENGINE_NO_QUANTIZE);
    const risk_margin_tier t[] = {tu_tier(10.0, 0.005, 100.0), tu_tier(50.0, 0.01, 50.0), tu_tier(1e9, 0.02, 20.0)};
    uint32_t inst = tu_inverse(v.e, "BTCUSD", v.btc, 100.0, 1.0, 0.5, 50000.0, t, 3);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, v.btc, 100.0);
    (void)tu_open_simple(acc, inst, -4000.0, 50000.0); /* 400,000 USD = 8 BTC at 50,000 */
    risk_position_result r = tu_result_of(acc, inst, RISK_SIDE_SHORT);
    assert_int_equal(r.tier, 0);
    tu_assert_rel(r.notional, 8.0, 1e-15);
    tu_assert_rel(r.maintenance_margin, 8.0 * 0.005, 1e-14);
    tu_mark(v.e, inst, 25000.0); /* 16 BTC */
    r = tu_result_of(acc, inst, RISK_SIDE_SHORT);
    assert_int_equal(r.tier, 1);
    tu_assert_rel(r.notional, 16.0, 1e-15);
    tu_assert_rel(r.maintenance_margin, 16.0 * 0.01 - 10.0 * 0.005, 1e-14);
    tu_assert_rel(r.initial_margin, 16.0 / 50.0, 1e-14);
    tu_assert_rel(r.unrealized_pnl, -400000.0 * (1.0 / 50000.0 - 1.0 / 25000.0), 1e-14);
    /* In V the BTC amounts convert at BTC's own price (50,000 here). */
    risk_account_summary s = tu_eval(acc);
    tu_assert_rel(s.maintenance_margin, (16.0 * 0.01 - 0.05) * 50000.0, 1e-13);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_margin_binance_btcusdt_cum_table_w5),
        cmocka_unit_test(test_margin_binance_ada_zec_cum_w6),
        cmocka_unit_test(test_margin_binance_maintenance_amounts_w3_w4),
        cmocka_unit_test(test_margin_hyperliquid_tiers),
        cmocka_unit_test(test_margin_instrument_margin_values),
        cmocka_unit_test(test_margin_instrument_margin_rejects_bad_input),
        cmocka_unit_test(test_margin_instrument_tiers_buffer),
        cmocka_unit_test(test_margin_published_cum_is_kept),
        cmocka_unit_test(test_margin_bybit_usdt_margin_at_entry_w11),
        cmocka_unit_test(test_margin_bybit_inverse_values_w12),
        cmocka_unit_test(test_margin_binance_portfolio_positions_w10),
        cmocka_unit_test(test_margin_inverse_tier_follows_coin_notional),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
