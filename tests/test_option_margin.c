/* SPDX-License-Identifier: Apache-2.0 */
/* test_option_margin.c: options as instruments: registration and its domain, valuation in the
 * premium convention, Deribit's standard option margin (W28 and the put rule), marks priced from
 * a mark volatility, fills moving the premium, settlement at expiry, liquidation prices of pools
 * holding options (both sides, equity = MM at the root), liquidation plans, version-1 structs.
 * Formulas: docs/options.md, sections 6 to 8; sources in research/cex-anchors.md 3.3 and W28. */
#include "test_util.h"

#include <math.h>
#include <string.h>

#define NOW 1767225600        /* 2026-01-01T00:00:00Z */
#define EXPIRY (NOW + 30 * 86400)

typedef struct fx {
    tu_alloc al;
    risk_engine *e;
    uint32_t usd, btc, usdc;
} fx;

static void fx_init(fx *f, uint32_t flags)
{
    tu_alloc_init(&f->al);
    f->e = tu_engine(&f->al, flags);
    f->usd = tu_asset(f->e, "USD", 1.0, 6);
    f->btc = tu_asset(f->e, "BTC", 50000.0, 8);
    f->usdc = tu_asset(f->e, "USDC", 1.0, 6);
    tu_assert_status(risk_engine_set_time(f->e, NOW), RISK_OK);
}

/* Deribit BTC option: coin-settled, 1 BTC a contract, lot 0.1, tick 0.0001 BTC. */
static risk_instrument_spec coin_option(const fx *f, const char *sym, int32_t type, double strike, double mark)
{
    risk_instrument_spec s = RISK_INSTRUMENT_SPEC_INIT;
    s.kind = RISK_KIND_OPTION;
    s.symbol = sym;
    s.underlying = f->btc;
    s.settle = f->btc;
    s.inverse = 1;
    s.expiry_unix_s = EXPIRY;
    s.contract_size = 1.0;
    s.lot_size = 0.1;
    s.tick_size = 0.0001;
    s.mark = mark;
    s.strike = strike;
    s.option_type = type;
    s.underlying_tick = 0.5;
    return s;
}

/* A USDC-settled (linear) option: tick 5 USDC (Bybit). */
static risk_instrument_spec usdc_option(const fx *f, const char *sym, int32_t type, double strike, double mark)
{
    risk_instrument_spec s = coin_option(f, sym, type, strike, mark);
    s.settle = f->usdc;
    s.inverse = 0;
    s.lot_size = 0.01;
    s.tick_size = 5.0;
    return s;
}

/* W28 (research/cex-anchors.md, section 3.3; Deribit's rule as published at
 * https://doc.tslab.pro/tslab/eng/data-providers/connection-to-broker/deribit-cryptocurrency-exchange/deribit-margin-requirements-calculation):
 * U = 50,000, short call K = 55,000 (OTM 5,000 -> 0.1), mark 0.01 BTC:
 * IM = max(0.15 - 0.1, 0.1) + 0.01 = 0.11 BTC, MM = 0.075 + 0.01 = 0.085 BTC. */
static void test_option_margin_w28_short_call(void **state)
{
    (void)state;
    fx f;
    fx_init(&f, 0);
    risk_instrument_spec s = coin_option(&f, "BTC-55000-C", RISK_OPTION_CALL, 55000.0, 0.01);
    uint32_t c = tu_instrument(f.e, &s);
    risk_account *a = tu_account(f.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, f.btc, 1.0);
    tu_open_simple(a, c, -1.0, 0.01);
    risk_position_result r = tu_result_of(a, c, RISK_SIDE_SHORT);
    tu_assert_near(r.initial_margin, 0.11, 1e-12);
    tu_assert_near(r.maintenance_margin, 0.085, 1e-12);
    tu_assert_near(r.value, -0.01, 1e-15);
    tu_assert_near(r.unrealized_pnl, 0.0, 1e-15);
    tu_assert_near(r.underlying_price, 50000.0, 0.0);
    /* the account, in USD: equity = (1 - 0.01) x 50,000; MM = 0.085 x 50,000 */
    risk_account_summary sm = tu_eval(a);
    tu_assert_near(sm.equity, 49500.0, 1e-6);
    tu_assert_near(sm.maintenance_margin, 4250.0, 1e-6);
    tu_assert_near(sm.initial_margin, 5500.0, 1e-6);
    risk_account_free(a);
    risk_engine_free(f.e);
}

/* The USD-margined variant: the 0.15 / 0.10 / 0.075 terms times U (cex-anchors 3.3, and Bit.com's
 * identical rule https://helpcenter.bit.com/hc/en-us/articles/11039356631321): W28 in USDC,
 * mark 500 USDC: IM = max(7,500 - 5,000, 5,000) + 500 = 5,500, MM = 3,750 + 500 = 4,250. */
static void test_option_margin_w28_usd_margined(void **state)
{
    (void)state;
    fx f;
    fx_init(&f, 0);
    risk_instrument_spec s = usdc_option(&f, "BTC-55000-C-USDC", RISK_OPTION_CALL, 55000.0, 500.0);
    uint32_t c = tu_instrument(f.e, &s);
    risk_account *a = tu_account(f.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, f.usdc, 10000.0);
    tu_open_simple(a, c, -2.0, 500.0);
    risk_position_result r = tu_result_of(a, c, RISK_SIDE_SHORT);
    tu_assert_near(r.initial_margin, 2 * 5500.0, 1e-9);
    tu_assert_near(r.maintenance_margin, 2 * 4250.0, 1e-9);
    tu_assert_near(r.notional, 2 * 50000.0, 1e-9);
    risk_account_summary sm = tu_eval(a);
    tu_assert_near(sm.equity, 10000.0 - 1000.0, 1e-9);
    risk_account_free(a);
    risk_engine_free(f.e);
}

/* Short puts: MM = max(0.075, 0.075 mark) + mark, IM = max(max(0.15 - OTM/U, 0.10) + mark, MM).
 * OTM put K 45,000 at U 50,000, mark 0.01: IM 0.11, MM 0.085 (the call's numbers, by symmetry).
 * Deep ITM put K 30,000 at U 10,000, mark 2 BTC (its intrinsic value): MM = 0.075 x 2 + 2 = 2.15,
 * IM = max(0.15 + 2, 2.15) = 2.15: the 0.075 mark term binds. */
static void test_option_margin_short_put_rule(void **state)
{
    (void)state;
    fx f;
    fx_init(&f, RISK_ENGINE_NO_QUANTIZE);
    risk_instrument_spec s = coin_option(&f, "BTC-45000-P", RISK_OPTION_PUT, 45000.0, 0.01);
    uint32_t p = tu_instrument(f.e, &s);
    s = coin_option(&f, "BTC-30000-P", RISK_OPTION_PUT, 30000.0, 0.01);
    uint32_t deep = tu_instrument(f.e, &s);
    risk_account *a = tu_account(f.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, f.btc, 10.0);
    tu_open_simple(a, p, -1.0, 0.01);
    risk_position_result r = tu_result_of(a, p, RISK_SIDE_SHORT);
    tu_assert_near(r.initial_margin, 0.11, 1e-15);
    tu_assert_near(r.maintenance_margin, 0.085, 1e-15);
    tu_price(f.e, f.btc, 10000.0);
    tu_mark(f.e, deep, 2.0);
    tu_open_simple(a, deep, -1.0, 2.0);
    r = tu_result_of(a, deep, RISK_SIDE_SHORT);
    tu_assert_near(r.maintenance_margin, 2.15, 1e-15);
    tu_assert_near(r.initial_margin, 2.15, 1e-15);
    risk_account_free(a);
    risk_engine_free(f.e);
}

/* Longs need no margin beyond the premium paid; their mark value counts in equity. */
/* A long option's IM and MM are its mark (Deribit, research/cex-anchors.md 3.3: "long call / put:
 * IM = MM = premium (mark)"): its value counts in equity and supports no other position. */
static void test_option_margin_long_margin_is_its_mark(void **state)
{
    (void)state;
    fx f;
    fx_init(&f, RISK_ENGINE_NO_QUANTIZE);
    risk_instrument_spec s = coin_option(&f, "BTC-55000-C", RISK_OPTION_CALL, 55000.0, 0.02);
    uint32_t c = tu_instrument(f.e, &s);
    risk_account *a = tu_account(f.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, f.btc, 0.5);
    tu_open_simple(a, c, 3.0, 0.01);
    risk_position_result r = tu_result_of(a, c, RISK_SIDE_LONG);
    tu_assert_near(r.initial_margin, 0.06, 1e-15);
    tu_assert_near(r.maintenance_margin, 0.06, 1e-15);
    tu_assert_near(r.value, 0.06, 1e-15);
    tu_assert_near(r.unrealized_pnl, 0.03, 1e-15); /* vs the entry premium */
    risk_account_summary sm = tu_eval(a);
    tu_assert_near(sm.equity, (0.5 + 0.06) * 50000.0, 1e-9);
    tu_assert_near(sm.maintenance_margin, 0.06 * 50000.0, 1e-9);
    tu_assert_near(sm.initial_margin, 0.06 * 50000.0, 1e-9);
    tu_assert_near(sm.available, 0.5 * 50000.0, 1e-9); /* the wallet alone */
    risk_account_free(a);
    risk_engine_free(f.e);
}

/* A mark given as a volatility is Black-76 on F = U e^(carry T), coin premium V / F; it follows
 * the underlying's price and the engine's time; the implied vol of a given mark round-trips. */
static void test_option_margin_mark_from_vol(void **state)
{
    (void)state;
    fx f;
    fx_init(&f, RISK_ENGINE_NO_QUANTIZE);
    risk_instrument_spec s = coin_option(&f, "BTC-55000-C", RISK_OPTION_CALL, 55000.0, 0.0);
    s.mark_vol = 0.6;
    s.carry_rate = 0.05;
    uint32_t c = tu_instrument(f.e, &s);
    double T = 30.0 / 365.0, F = 50000.0 * exp(0.05 * T), K = 55000.0, vol = 0.6, want;
    int32_t type = RISK_OPTION_CALL;
    risk_option_batch b = RISK_OPTION_BATCH_INIT;
    b.premium = RISK_OPTION_PREMIUM_COIN;
    b.type = &type;
    b.forward = &F;
    b.strike = &K;
    b.years = &T;
    b.vol = &vol;
    risk_option_greeks g = RISK_OPTION_GREEKS_INIT;
    g.price = &want;
    tu_assert_status(risk_option_black(&g, &b, 1), RISK_OK);
    double mark;
    tu_assert_status(risk_engine_mark(f.e, c, &mark), RISK_OK);
    tu_assert_bits(mark, want);
    /* the underlying moves: the mark follows */
    tu_price(f.e, f.btc, 60000.0);
    F = 60000.0 * exp(0.05 * T);
    tu_assert_status(risk_option_black(&g, &b, 1), RISK_OK);
    tu_assert_status(risk_engine_mark(f.e, c, &mark), RISK_OK);
    tu_assert_bits(mark, want);
    /* a given mark: its implied vol is the one that prices it */
    tu_mark(f.e, c, 0.1);
    double iv;
    tu_assert_status(risk_engine_mark_vol(f.e, c, &iv), RISK_OK);
    vol = iv;
    tu_assert_status(risk_option_black(&g, &b, 1), RISK_OK);
    tu_assert_rel(want, 0.1, 1e-13);
    /* past the expiry: intrinsic value, (60,000 - 55,000) / 60,000 coins */
    tu_assert_status(risk_engine_set_mark_vol(f.e, c, 0.6), RISK_OK);
    tu_assert_status(risk_engine_set_time(f.e, EXPIRY), RISK_OK);
    tu_assert_status(risk_engine_mark(f.e, c, &mark), RISK_OK);
    tu_assert_rel(mark, 5000.0 / 60000.0, 1e-15);
    risk_engine_free(f.e);
}

/* Fills move the premium (buyer pays q cs price); settlement pays the intrinsic value and closes
 * every position; the option then refuses fills and new positions. */
static double bal(risk_account *a, uint32_t asset)
{
    double x = NAN;
    tu_assert_status(risk_basket_balance(risk_account_basket(a), asset, &x), RISK_OK);
    return x;
}

static void test_option_margin_fills_and_settlement(void **state)
{
    (void)state;
    fx f;
    fx_init(&f, 0);
    risk_instrument_spec s = coin_option(&f, "BTC-55000-C", RISK_OPTION_CALL, 55000.0, 0.01);
    uint32_t c = tu_instrument(f.e, &s);
    risk_account *a = tu_account(f.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_account *b = tu_account(f.e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, f.btc, 1.0);
    tu_balance(b, f.btc, 1.0);
    risk_position *pa = tu_open_simple(a, c, 1.0, 0.01);
    tu_open_simple(b, c, -1.5, 0.01);
    tu_assert_status(risk_position_adjust(pa, 0.5, 0.02), RISK_OK); /* buys 0.5 more at 0.02: pays 0.01 */
    tu_assert_near(bal(a, f.btc), 0.99, 1e-12);
    tu_assert_near(risk_position_entry(pa), (1.0 * 0.01 + 0.5 * 0.02) / 1.5, 1e-15);
    tu_assert_status(risk_position_adjust(pa, -0.5, 0.03), RISK_OK); /* sells 0.5 at 0.03: receives 0.015 */
    tu_assert_near(bal(a, f.btc), 1.005, 1e-12);
    size_t n = 99;
    tu_assert_status(risk_engine_settle_expired(f.e, c, 60000.0, &n), RISK_ESTATE); /* not expired */
    tu_assert_status(risk_engine_set_time(f.e, EXPIRY), RISK_OK);
    tu_assert_status(risk_engine_settle_expired(f.e, c, NAN, &n), RISK_EINVAL);
    tu_assert_status(risk_engine_settle_expired(f.e, c, 60000.0, &n), RISK_OK);
    assert_int_equal(n, 2);
    /* intrinsic (60,000 - 55,000) / 60,000 = 0.08333333.. BTC: the long's 1 receives 0.08333333
     * (down), the short's 1.5 pays 0.12500000 (exactly 0.125) */
    tu_assert_near(bal(a, f.btc), 1.005 + 0.08333333, 1e-12);
    tu_assert_near(bal(b, f.btc), 1.0 - 0.125, 1e-12);
    risk_account_summary sm = tu_eval(a);
    assert_int_equal(sm.n_positions, 0);
    tu_assert_status(risk_engine_settle_expired(f.e, c, 60000.0, &n), RISK_ESTATE);
    risk_position_spec ps = RISK_POSITION_SPEC_INIT;
    ps.instrument = c;
    ps.qty = 1.0;
    ps.entry = 0.01;
    tu_assert_status(risk_account_open_position(a, &ps, NULL), RISK_ESTATE);
    tu_assert_errmsg(risk_account_errmsg(a));
    /* a what-if refuses it as a fill would (found by fuzz_api) */
    risk_order o = RISK_ORDER_INIT;
    o.instrument = c;
    o.qty = 1.0;
    o.price = 0.01;
    risk_account_summary ws = RISK_ACCOUNT_SUMMARY_INIT;
    tu_assert_status(risk_account_whatif(a, &o, &ws), RISK_ESTATE);
    risk_account_free(a);
    risk_account_free(b);
    risk_engine_free(f.e);
}

/* The input domain: every bad option field is refused with a message and registers nothing. */
static void test_option_margin_rejects_bad_input(void **state)
{
    (void)state;
    fx f;
    fx_init(&f, 0);
    size_t n0, n1;
    tu_assert_status(risk_engine_instrument_count(f.e, &n0), RISK_OK);
    struct {
        double strike, mark_vol, carry;
        int32_t type;
        int64_t expiry;
        int want;
    } bad[] = {
        {NAN, 0, 0, 1, EXPIRY, RISK_EINVAL},       {INFINITY, 0, 0, 1, EXPIRY, RISK_EINVAL},
        {0.0, 0, 0, 1, EXPIRY, RISK_EINVAL},       {-5.0, 0, 0, 1, EXPIRY, RISK_EINVAL},
        {55000, NAN, 0, 1, EXPIRY, RISK_EINVAL},   {55000, -0.5, 0, 1, EXPIRY, RISK_EINVAL},
        {55000, INFINITY, 0, 1, EXPIRY, RISK_EINVAL}, {55000, 11.0, 0, 1, EXPIRY, RISK_EINVAL},
        {55000, 0, NAN, 1, EXPIRY, RISK_EINVAL},   {55000, 0, 0, 0, EXPIRY, RISK_EINVAL},
        {55000, 0, 0, 2, EXPIRY, RISK_EINVAL},     {55000, 0, 0, 1, NOW, RISK_EINVAL},
        {55000, 0, 0, 1, NOW - 1, RISK_EINVAL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        risk_instrument_spec s = coin_option(&f, "BAD", RISK_OPTION_CALL, bad[i].strike, 0.01);
        s.mark_vol = bad[i].mark_vol;
        s.carry_rate = bad[i].carry;
        s.option_type = bad[i].type;
        s.expiry_unix_s = bad[i].expiry;
        tu_assert_status(risk_engine_add_instrument(f.e, &s, NULL), bad[i].want);
        tu_assert_errmsg(risk_engine_errmsg(f.e));
    }
    /* a version-1 spec has no option fields */
    risk_instrument_spec s = coin_option(&f, "BAD", RISK_OPTION_CALL, 55000.0, 0.01);
    s.version = 1;
    tu_assert_status(risk_engine_add_instrument(f.e, &s, NULL), RISK_EVERSION);
    /* tiers are not for options; option fields are not for futures */
    risk_margin_tier t = tu_tier(1e6, 0.01, 10);
    s = coin_option(&f, "BAD", RISK_OPTION_CALL, 55000.0, 0.01);
    s.tiers = &t;
    s.n_tiers = 1;
    tu_assert_status(risk_engine_add_instrument(f.e, &s, NULL), RISK_ETIERS);
    risk_instrument_spec perp = tu_linear_spec("BADPERP", f.btc, f.usd, 1, 0.001, 0.1, 50000, &t, 1);
    perp.strike = 50000.0;
    tu_assert_status(risk_engine_add_instrument(f.e, &perp, NULL), RISK_EINVAL);
    tu_assert_status(risk_engine_instrument_count(f.e, &n1), RISK_OK);
    assert_int_equal(n0, n1);
    /* calls on options */
    s = coin_option(&f, "OK", RISK_OPTION_CALL, 55000.0, 0.01);
    uint32_t c = tu_instrument(f.e, &s);
    tu_assert_status(risk_engine_set_mark_vol(f.e, c, NAN), RISK_EINVAL);
    tu_assert_status(risk_engine_set_mark_vol(f.e, c, 0.0), RISK_EINVAL);
    tu_assert_status(risk_engine_set_mark_vol(f.e, 99, 0.5), RISK_ENOTFOUND);
    tu_assert_status(risk_engine_set_time(f.e, 0), RISK_EINVAL);
    tu_assert_status(risk_engine_set_time(NULL, NOW), RISK_ENULL);
    double m;
    tu_assert_status(risk_engine_mark(f.e, c, &m), RISK_OK);
    tu_assert_bits(m, 0.01);
    /* no time set: an option cannot be registered */
    tu_alloc al2;
    tu_alloc_init(&al2);
    risk_engine *e2 = tu_engine(&al2, 0);
    tu_asset(e2, "USD", 1.0, 6);
    uint32_t btc2 = tu_asset(e2, "BTC", 50000.0, 8);
    s.underlying = s.settle = btc2;
    tu_assert_status(risk_engine_add_instrument(e2, &s, NULL), RISK_ESTATE);
    /* snapshots carry engines with options (format 3; tests/test_snapshot.c) */
    size_t size = 0;
    tu_assert_status(risk_engine_snapshot_write(f.e, NULL, 0, &size), RISK_EBUFFER);
    assert_true(size > 64);
    risk_engine_free(e2);
    risk_engine_free(f.e);
}

/* Version 1 structs keep working: a v1 instrument spec registers a perpetual, a v1 result array
 * is written with the v1 stride and nothing past it. */
static void test_option_margin_version_1_structs(void **state)
{
    (void)state;
    fx f;
    fx_init(&f, 0);
    risk_margin_tier t = tu_tier(1e6, 0.01, 10);
    risk_instrument_spec perp = tu_linear_spec("BTCUSD", f.btc, f.usd, 1, 0.001, 0.1, 50000, &t, 1);
    perp.version = 1;
    uint32_t id;
    tu_assert_status(risk_engine_add_instrument(f.e, &perp, &id), RISK_OK);
    risk_instrument_spec s = coin_option(&f, "BTC-55000-C", RISK_OPTION_CALL, 55000.0, 0.01);
    uint32_t c = tu_instrument(f.e, &s);
    risk_account *a = tu_account(f.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, f.usd, 10000.0);
    tu_balance(a, f.btc, 1.0);
    tu_open_simple(a, id, 1.0, 50000.0);
    tu_open_simple(a, c, -1.0, 0.01);
    size_t v1 = offsetof(risk_position_result, delta);
    unsigned char buf[2 * sizeof(risk_position_result)];
    memset(buf, 0xAB, sizeof buf);
    risk_position_result first = RISK_POSITION_RESULT_INIT;
    first.version = 1;
    memcpy(buf, &first, sizeof first.version);
    size_t n;
    tu_assert_status(risk_account_position_results(a, (risk_position_result *)(void *)buf, 2, &n), RISK_OK);
    assert_int_equal(n, 2);
    risk_position_result r0, r1;
    memcpy(&r0, buf, v1);
    memcpy(&r1, buf + v1, v1);
    assert_int_equal(r0.instrument, id);
    assert_int_equal(r1.instrument, c);
    tu_assert_near(r1.maintenance_margin, 0.085, 1e-12);
    for (size_t i = 2 * v1; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xAB);
    /* a v1 spec reads back as v1 */
    risk_instrument_spec out;
    memset(&out, 0xCD, sizeof out);
    out.version = 1;
    tu_assert_status(risk_engine_instrument_spec(f.e, c, &out), RISK_OK);
    assert_int_equal(out.kind, RISK_KIND_OPTION);
    const unsigned char *tail = (const unsigned char *)&out + offsetof(risk_instrument_spec, strike);
    for (size_t i = 0; i < sizeof out - offsetof(risk_instrument_spec, strike); i++)
        assert_int_equal(tail[i], 0xCD);
    out.version = RISK_INSTRUMENT_SPEC_VERSION;
    tu_assert_status(risk_engine_instrument_spec(f.e, c, &out), RISK_OK);
    tu_assert_bits(out.strike, 55000.0);
    assert_int_equal(out.option_type, RISK_OPTION_CALL);
    risk_account_free(a);
    risk_engine_free(f.e);
}

/* Surplus over MM of the cross pool, in V, at the engine's current prices. */
static double surplus(const risk_account *a)
{
    risk_account_summary sm = tu_eval(a);
    return sm.collateral_maint - sm.maintenance_margin;
}

/* A short strangle (vol-marked, so the engine reprices it when U moves): the pool is liquidated
 * on both sides; each reported price is a root of equity - MM: the surplus changes sign across
 * it, within one tick of the underlying. */
static void test_option_margin_liquidation_prices_both_sides(void **state)
{
    (void)state;
    fx f;
    fx_init(&f, RISK_ENGINE_NO_QUANTIZE);
    risk_instrument_spec s = coin_option(&f, "BTC-60000-C", RISK_OPTION_CALL, 60000.0, 0.0);
    s.mark_vol = 0.6;
    uint32_t c = tu_instrument(f.e, &s);
    s = coin_option(&f, "BTC-40000-P", RISK_OPTION_PUT, 40000.0, 0.0);
    s.mark_vol = 0.6;
    uint32_t p = tu_instrument(f.e, &s);
    risk_account *a = tu_account(f.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, f.btc, 1.0);
    tu_open_simple(a, c, -3.0, 0.01);
    tu_open_simple(a, p, -3.0, 0.01);
    assert_true(surplus(a) > 0.0);
    risk_position_result r = tu_result_of(a, c, RISK_SIDE_SHORT);
    assert_true(r.flags & RISK_RESULT_HAS_LIQUIDATION_BELOW);
    assert_true(r.flags & RISK_RESULT_HAS_LIQUIDATION_ABOVE);
    assert_true(r.liquidation_price_below < 50000.0 && r.liquidation_price_above > 50000.0);
    assert_true(r.delta < 0.0 && r.gamma < 0.0 && r.vega < 0.0);
    tu_assert_bits(r.mark_vol, 0.6);
    double lo = r.liquidation_price_below, hi = r.liquidation_price_above;
    /* rounded to the underlying's tick (0.5) against the account: the price is reached before
     * the root, so the pool is still (just) above its MM there and under it one tick further */
    tu_price(f.e, f.btc, lo);
    assert_true(surplus(a) >= 0.0);
    tu_price(f.e, f.btc, lo - 0.5);
    assert_true(surplus(a) < 0.0);
    tu_price(f.e, f.btc, hi);
    assert_true(surplus(a) >= 0.0);
    tu_price(f.e, f.btc, hi + 0.5);
    assert_true(surplus(a) < 0.0);
    /* the raw root: equity = MM there, to rounding of the pool's size (~1e5 USD) */
    tu_price(f.e, f.btc, r.liquidation_price_raw);
    tu_assert_near(surplus(a), 0.0, 1e-6);
    /* the put reports the same pool prices */
    tu_price(f.e, f.btc, 50000.0);
    risk_position_result rp = tu_result_of(a, p, RISK_SIDE_SHORT);
    tu_assert_bits(rp.liquidation_price_below, lo);
    tu_assert_bits(rp.liquidation_price_above, hi);
    assert_true(rp.flags & RISK_RESULT_HAS_LIQUIDATION_PRICE);
    risk_account_free(a);
    risk_engine_free(f.e);
}

/* A liquidation plan reduces a short option like any position, at the mark, and applying it
 * brings the account back above its MM. */
static void test_option_margin_liquidation_plan(void **state)
{
    (void)state;
    fx f;
    fx_init(&f, 0);
    risk_instrument_spec s = coin_option(&f, "BTC-55000-C", RISK_OPTION_CALL, 55000.0, 0.01);
    uint32_t c = tu_instrument(f.e, &s);
    risk_account *a = tu_account(f.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, f.btc, 1.0);
    tu_open_simple(a, c, -10.0, 0.01);
    /* the call rallies: mark 0.02; equity 1 - 0.2 = 0.8 BTC, MM 10 x (0.075 + 0.02) = 0.95 */
    tu_mark(f.e, c, 0.02);
    risk_account_summary sm = tu_eval(a);
    assert_int_equal(sm.state, RISK_STATE_LIQUIDATABLE);
    risk_liquidation_plan plan = RISK_LIQUIDATION_PLAN_INIT;
    risk_liquidation_action acts[8];
    acts[0].version = RISK_LIQUIDATION_ACTION_VERSION;
    size_t n;
    tu_assert_status(risk_account_liquidation_plan(a, &plan, acts, 8, &n), RISK_OK);
    assert_true(n >= 1);
    assert_int_equal(acts[0].type, RISK_ACTION_REDUCE);
    assert_int_equal(acts[0].instrument, c);
    assert_true(acts[0].qty > 0.0 && acts[0].qty < 10.0);
    tu_assert_near(acts[0].price, 0.02, 1e-12);
    tu_assert_status(risk_account_apply_plan(a, &plan, acts, n), RISK_OK);
    sm = tu_eval(a);
    assert_true(sm.state == RISK_STATE_HEALTHY || sm.state == RISK_STATE_MARGIN_CALL);
    tu_assert_near(sm.equity, plan.equity_after, 1e-6);
    risk_account_free(a);
    risk_engine_free(f.e);
}

/* A pool with a perpetual and a linear (USDC) vol-marked short put on the same underlying: the
 * perpetual's affine terms and the option's repricing are solved together; equity = MM at the
 * raw root, and every position of the pool reports the same underlying move. */
static void test_option_margin_liquidation_price_mixed_pool(void **state)
{
    (void)state;
    fx f;
    fx_init(&f, RISK_ENGINE_NO_QUANTIZE);
    risk_margin_tier t[] = {tu_tier(1e6, 0.005, 100), tu_tier(1e9, 0.01, 50)};
    uint32_t perp = tu_linear(f.e, "BTCUSDC", f.btc, f.usdc, 1.0, 0.001, 0.1, 50000.0, t, 2);
    risk_instrument_spec s = usdc_option(&f, "BTC-45000-P-USDC", RISK_OPTION_PUT, 45000.0, 0.0);
    s.mark_vol = 0.8;
    s.carry_rate = 0.1;
    uint32_t p = tu_instrument(f.e, &s);
    risk_account *a = tu_account(f.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, f.usdc, 60000.0);
    tu_open_simple(a, perp, 0.5, 50000.0);
    tu_open_simple(a, p, -4.0, 1000.0);
    risk_position_result rp = tu_result_of(a, perp, RISK_SIDE_LONG);
    risk_position_result ro = tu_result_of(a, p, RISK_SIDE_SHORT);
    assert_true(rp.flags & RISK_RESULT_HAS_LIQUIDATION_PRICE);
    assert_true(ro.flags & RISK_RESULT_HAS_LIQUIDATION_PRICE);
    assert_false(ro.flags & RISK_RESULT_LIQUIDATABLE);
    /* long perp + short put: liquidated by a fall */
    assert_true(ro.liquidation_price_raw < 50000.0);
    double k = ro.liquidation_price_raw / 50000.0;
    tu_assert_rel(rp.liquidation_price_raw, 50000.0 * k, 1e-12); /* the perp's mark moves by the same k */
    /* at the root, with the perp's mark and the underlying moved together: equity = MM */
    tu_price(f.e, f.btc, ro.liquidation_price_raw);
    tu_mark(f.e, perp, rp.liquidation_price_raw);
    tu_assert_near(surplus(a), 0.0, 1e-6);
    risk_account_free(a);
    risk_engine_free(f.e);
}

/* Settlement's out-of-memory paths: an account without a balance of the settle asset needs one;
 * every failed attempt leaves accounts and instrument as they were. */
typedef struct settle_fx {
    fx f;
    uint32_t c;
    risk_account *a, *b;
    tu_account_snap sa, sb;
} settle_fx;

static void *settle_setup(tu_alloc *al)
{
    settle_fx *x = test_calloc(1, sizeof *x);
    x->f.al = *al;
    x->f.e = tu_engine(al, 0);
    x->f.usd = tu_asset(x->f.e, "USD", 1.0, 6);
    x->f.btc = tu_asset(x->f.e, "BTC", 50000.0, 8);
    x->f.usdc = tu_asset(x->f.e, "USDC", 1.0, 6);
    tu_assert_status(risk_engine_set_time(x->f.e, NOW), RISK_OK);
    risk_instrument_spec s = coin_option(&x->f, "BTC-50000-C", RISK_OPTION_CALL, 50000.0, 0.02);
    x->c = tu_instrument(x->f.e, &s);
    x->a = tu_account(x->f.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    x->b = tu_account(x->f.e, 2, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    /* two balances fill the basket's inline room and neither is BTC: settlement must add one */
    tu_balance(x->a, x->f.usd, 100000.0);
    tu_balance(x->a, x->f.usdc, 100.0);
    tu_balance(x->b, x->f.usd, 100000.0);
    tu_balance(x->b, x->f.usdc, 100.0);
    tu_open_simple(x->a, x->c, 1.0, 0.02);
    tu_open(x->b, x->c, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, -1.0, 0.02, 0.2);
    tu_assert_status(risk_engine_set_time(x->f.e, EXPIRY), RISK_OK);
    tu_account_snap_take(x->a, 3, 1, &x->sa);
    tu_account_snap_take(x->b, 3, 1, &x->sb);
    return x;
}

static int settle_op(void *p)
{
    settle_fx *x = p;
    size_t n = 0;
    return risk_engine_settle_expired(x->f.e, x->c, 55000.0, &n);
}

static void settle_check_failed(void *p)
{
    settle_fx *x = p;
    tu_account_snap_check(x->a, &x->sa);
    tu_account_snap_check(x->b, &x->sb);
    risk_position_spec ps = RISK_POSITION_SPEC_INIT; /* not settled: positions can still be loaded */
    ps.instrument = x->c;
    ps.qty = 0.1;
    ps.entry = 0.01;
    risk_account *c = tu_account(x->f.e, 3, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_assert_status(risk_account_open_position(c, &ps, NULL), RISK_OK);
    risk_account_free(c);
}

static void settle_check_ok(void *p)
{
    settle_fx *x = p;
    double btc = NAN;
    /* intrinsic 5,000 / 55,000 = 0.0909090909..: the long receives 0.09090909; the isolated short
     * pays 0.09090910 out of its 0.2 of isolated margin, the rest returns to its wallet */
    tu_assert_status(risk_basket_balance(risk_account_basket(x->a), x->f.btc, &btc), RISK_OK);
    tu_assert_near(btc, 0.09090909, 1e-12);
    tu_assert_status(risk_basket_balance(risk_account_basket(x->b), x->f.btc, &btc), RISK_OK);
    tu_assert_near(btc, 0.2 - 0.0909091, 1e-12);
    assert_int_equal(risk_account_position_count(x->a), 0);
    assert_int_equal(risk_account_position_count(x->b), 0);
}

static void settle_teardown(void *p)
{
    settle_fx *x = p;
    risk_account_free(x->a);
    risk_account_free(x->b);
    risk_engine_free(x->f.e);
    test_free(x);
}

static void test_option_margin_settlement_out_of_memory(void **state)
{
    (void)state;
    tu_oom_case c = {settle_setup, settle_op, settle_check_failed, settle_check_ok, settle_teardown};
    assert_true(tu_oom_walk(&c) >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_option_margin_w28_short_call),
        cmocka_unit_test(test_option_margin_w28_usd_margined),
        cmocka_unit_test(test_option_margin_short_put_rule),
        cmocka_unit_test(test_option_margin_long_margin_is_its_mark),
        cmocka_unit_test(test_option_margin_mark_from_vol),
        cmocka_unit_test(test_option_margin_fills_and_settlement),
        cmocka_unit_test(test_option_margin_rejects_bad_input),
        cmocka_unit_test(test_option_margin_version_1_structs),
        cmocka_unit_test(test_option_margin_liquidation_prices_both_sides),
        cmocka_unit_test(test_option_margin_liquidation_plan),
        cmocka_unit_test(test_option_margin_liquidation_price_mixed_pool),
        cmocka_unit_test(test_option_margin_settlement_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
