/* SPDX-License-Identifier: Apache-2.0 */
/* test_orders.c: an instrument's trading terms (risk/trading.h): taker fees charged by what-if
 * fills and reserved by max order size (hummingbot's budget checker), maker fees on resting
 * orders, liquidation and bankruptcy prices with the closing fee (Bybit W13), the maximum
 * position notional (refused fills, capped max order), bad input. */
#include "test_util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define CENT_TOL 0.005 /* published to the cent */

/* ================================================================== helpers */

static risk_instrument_fees fees_of(double maker, double taker, uint32_t with_fee, double max_notional)
{
    risk_instrument_fees f = RISK_INSTRUMENT_FEES_INIT;
    f.maker_fee = maker;
    f.taker_fee = taker;
    f.liquidation_price_with_fee = with_fee;
    f.max_notional = max_notional;
    return f;
}

static void set_fees(risk_engine *e, uint32_t instrument, double maker, double taker, uint32_t with_fee,
                     double max_notional)
{
    risk_instrument_fees f = fees_of(maker, taker, with_fee, max_notional);
    int rc = risk_engine_set_instrument_fees(e, instrument, &f);
    if (rc != RISK_OK)
        print_error("set fees: %s\n", risk_engine_errmsg(e));
    tu_assert_status(rc, RISK_OK);
}

static risk_order order_of(uint32_t instrument, uint32_t side, uint32_t leg, double qty, double price)
{
    risk_order o = RISK_ORDER_INIT;
    o.instrument = instrument;
    o.side = side;
    o.leg = leg;
    o.qty = qty;
    o.price = price;
    return o;
}

static double max_qty(risk_account *acc, uint32_t instrument, uint32_t side, uint32_t leg, double price)
{
    double q = -1.0;
    int rc = risk_account_max_order_qty(acc, instrument, side, leg, price, &q);
    if (rc != RISK_OK)
        print_error("max_order_qty: %s\n", risk_account_errmsg(acc));
    tu_assert_status(rc, RISK_OK);
    return q;
}

static risk_account_summary whatif(risk_account *acc, const risk_order *o)
{
    risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
    int rc = risk_account_whatif(acc, o, &s);
    if (rc != RISK_OK)
        print_error("whatif: %s\n", risk_account_errmsg(acc));
    tu_assert_status(rc, RISK_OK);
    return s;
}

/* available after a fill of qty (0: now); RISK_ELIMIT gives -INFINITY (the fill is refused). */
static double avail_after(risk_account *acc, const risk_order *o, double qty)
{
    if (qty == 0.0)
        return tu_eval(acc).available;
    risk_order x = *o;
    x.qty = qty;
    risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
    int rc = risk_account_whatif(acc, &x, &s);
    if (rc == RISK_ELIMIT)
        return -INFINITY;
    tu_assert_status(rc, RISK_OK);
    return s.available;
}

static void assert_msg_has(const char *msg, const char *part)
{
    if (!strstr(msg, part))
        print_error("message \"%s\" lacks \"%s\"\n", msg, part);
    assert_non_null(strstr(msg, part));
}

/* ================================================================== the terms themselves */

static void test_orders_fees_default_to_zero_and_round_trip(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), btc = tu_asset(e, "BTC", 50000.0, 8);
    uint32_t inst = tu_binance_btcusdt_perp(e, "BTCUSDT", btc, usdt, 50000.0);
    risk_instrument_fees f = fees_of(7, 7, 7, 7);
    tu_assert_status(risk_engine_instrument_fees(e, inst, &f), RISK_OK);
    tu_assert_bits(f.maker_fee, 0.0);
    tu_assert_bits(f.taker_fee, 0.0);
    tu_assert_bits(f.max_notional, 0.0);
    assert_int_equal(f.liquidation_price_with_fee, 0);
    set_fees(e, inst, 0.0002, 0.0005, 1, 1e6);
    tu_assert_status(risk_engine_instrument_fees(e, inst, &f), RISK_OK);
    tu_assert_bits(f.maker_fee, 0.0002);
    tu_assert_bits(f.taker_fee, 0.0005);
    tu_assert_bits(f.max_notional, 1e6);
    assert_int_equal(f.liquidation_price_with_fee, 1);
    /* INFINITY is no limit, read back as 0; NULL restores the defaults */
    set_fees(e, inst, 0.0002, 0.0005, 0, INFINITY);
    tu_assert_status(risk_engine_instrument_fees(e, inst, &f), RISK_OK);
    tu_assert_bits(f.max_notional, 0.0);
    tu_assert_status(risk_engine_set_instrument_fees(e, inst, NULL), RISK_OK);
    tu_assert_status(risk_engine_instrument_fees(e, inst, &f), RISK_OK);
    tu_assert_bits(f.taker_fee, 0.0);
    risk_engine_free(e);
}

/* NaN, negative (a maker rebate too), above 10 %, a flag not 0/1, a negative or NaN limit, a
 * wrong version, an unknown instrument, NULL: a status, a message, nothing changed. */
static void test_orders_fees_reject_bad_input(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), btc = tu_asset(e, "BTC", 50000.0, 8);
    uint32_t inst = tu_binance_btcusdt_perp(e, "BTCUSDT", btc, usdt, 50000.0);
    set_fees(e, inst, 0.0002, 0.0005, 1, 2e6);
    const struct {
        risk_instrument_fees f;
        const char *part;
    } bad[] = {
        {fees_of(NAN, 0.0005, 0, 0), "maker_fee"},      {fees_of(-0.0001, 0.0005, 0, 0), "rebates"},
        {fees_of(0.0002, NAN, 0, 0), "taker_fee"},      {fees_of(0.0002, -0.0005, 0, 0), "taker_fee"},
        {fees_of(0.0002, 0.5, 0, 0), "taker_fee"},      {fees_of(0.2, 0.0005, 0, 0), "maker_fee"},
        {fees_of(0.0002, INFINITY, 0, 0), "taker_fee"}, {fees_of(0.0002, 0.0005, 2, 0), "liquidation_price_with_fee"},
        {fees_of(0.0002, 0.0005, 0, -1.0), "max_notional"}, {fees_of(0.0002, 0.0005, 0, NAN), "max_notional"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        tu_assert_status(risk_engine_set_instrument_fees(e, inst, &bad[k].f), RISK_EINVAL);
        assert_msg_has(risk_engine_errmsg(e), "BTCUSDT");
        assert_msg_has(risk_engine_errmsg(e), bad[k].part);
    }
    risk_instrument_fees f = fees_of(0.0001, 0.0001, 0, 0);
    f.version = 99;
    tu_assert_status(risk_engine_set_instrument_fees(e, inst, &f), RISK_EVERSION);
    f.version = RISK_INSTRUMENT_FEES_VERSION;
    tu_assert_status(risk_engine_set_instrument_fees(e, 9, &f), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_assert_status(risk_engine_set_instrument_fees(NULL, inst, &f), RISK_ENULL);
    tu_assert_status(risk_engine_instrument_fees(e, inst, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_instrument_fees(NULL, inst, &f), RISK_ENULL);
    risk_instrument_fees out = fees_of(-1, -1, 7, -1);
    out.version = 0;
    tu_assert_status(risk_engine_instrument_fees(e, inst, &out), RISK_EVERSION);
    tu_assert_bits(out.maker_fee, -1.0); /* not written */
    tu_assert_status(risk_engine_instrument_fees(e, 9, &f), RISK_ENOTFOUND);
    /* nothing changed */
    out = fees_of(0, 0, 0, 0);
    tu_assert_status(risk_engine_instrument_fees(e, inst, &out), RISK_OK);
    tu_assert_bits(out.maker_fee, 0.0002);
    tu_assert_bits(out.taker_fee, 0.0005);
    tu_assert_bits(out.max_notional, 2e6);
    assert_int_equal(out.liquidation_price_with_fee, 1);
    /* the bounds themselves are accepted */
    set_fees(e, inst, 0.0, RISK_FEE_RATE_MAX, 0, 0);
    risk_engine_free(e);
}

/* ================================================================== fees on fills */

/*
 * hummingbot's perpetual budget checker
 * (https://github.com/hummingbot/hummingbot/blob/master/test/hummingbot/connector/derivative/test_perpetual_budget_checker.py,
 * test_adjust_candidate_buy_insufficient_funds_partial_adjustment_allowed and the sell twin):
 * balance 10 HBOT, an order of 10 COINALPHA at 2, leverage 1, a 1 % fee, sizes on 0.01: the
 * order is cut to 4.95 ("5 * .99"; collateral 9.9, fee 0.099). Without the fee librisk answers
 * 5.00. librisk reserves the taker fee, so the taker rate is set to hummingbot's 1 %.
 */
static void test_orders_max_order_reserves_the_fee_hummingbot(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t hbot = tu_asset(e, "HBOT", 1.0, 6), alpha = tu_asset(e, "COINALPHA", 2.0, 8);
    const risk_margin_tier t[] = {tu_tier(1e12, 0.005, 10.0)};
    uint32_t inst = tu_linear(e, "COINALPHA-HBOT", alpha, hbot, 1.0, 0.01, 0.01, 2.0, t, 1);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, hbot, 10.0);
    tu_leverage(acc, inst, 1.0);
    tu_assert_bits(max_qty(acc, inst, RISK_ORDER_BUY, RISK_SIDE_BOTH, 2.0), 5.0);
    set_fees(e, inst, 0.01, 0.01, 0, 0);
    tu_assert_bits(max_qty(acc, inst, RISK_ORDER_BUY, RISK_SIDE_BOTH, 2.0), 4.95);
    tu_assert_bits(max_qty(acc, inst, RISK_ORDER_SELL, RISK_SIDE_BOTH, 2.0), 4.95);
    /* the what-if of 4.95: fee 0.099 from the wallet, IM 9.9, available 0.001; 4.96 is short */
    risk_order o = order_of(inst, RISK_ORDER_BUY, RISK_SIDE_BOTH, 4.95, 2.0);
    risk_account_summary s = whatif(acc, &o);
    tu_assert_near(s.initial_margin, 9.9, 1e-9);
    tu_assert_near(s.equity, 10.0 - 0.099, 1e-9);
    tu_assert_near(s.available, 0.001, 1e-9);
    o.qty = 4.96;
    assert_true(whatif(acc, &o).available < 0.0);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* A what-if = the real fill after the fee is taken from the settle balance, bit for bit:
 * linear (BTCUSDT, 0.05 % of 1.5 x 50,000 = 37.5 USDT), inverse (BTCUSD 100 USD contracts, 0.05 %
 * of 40 x 100 / 50,000 = 0.00004 BTC), a reduction too. Resting orders pay the maker fee. */
static void test_orders_whatif_charges_the_taker_fee(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), btc = tu_asset(e, "BTC", 50000.0, 8);
    uint32_t lin = tu_binance_btcusdt_perp(e, "BTCUSDT", btc, usdt, 50000.0);
    const risk_margin_tier t[] = {tu_tier(1e12, 0.005, 100.0)};
    uint32_t inv = tu_inverse(e, "BTCUSD", btc, 100.0, 1.0, 0.5, 50000.0, t, 1);
    set_fees(e, lin, 0.0002, 0.0005, 0, 0);
    set_fees(e, inv, 0.0002, 0.0005, 0, 0);
    const struct {
        uint32_t inst, settle;
        double held, qty, price, fee;
    } cases[] = {
        {lin, usdt, 0.0, 1.5, 50000.0, 37.5},   {lin, usdt, 2.0, -0.5, 51000.0, 12.75},
        {inv, btc, 0.0, 40.0, 50000.0, 0.00004}, {inv, btc, -80.0, 20.0, 40000.0, 0.000025},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        risk_account *acc = tu_account(e, 2 * k + 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        risk_account *twin = tu_account(e, 2 * k + 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        risk_position *p = NULL;
        tu_balance(acc, usdt, 20000.0);
        tu_balance(twin, usdt, 20000.0);
        tu_balance(acc, btc, 0.5);
        tu_balance(twin, btc, 0.5);
        if (cases[k].held != 0.0) {
            (void)tu_open_simple(acc, cases[k].inst, cases[k].held, 50000.0);
            p = tu_open_simple(twin, cases[k].inst, cases[k].held, 50000.0);
        }
        risk_order o = order_of(cases[k].inst, cases[k].qty > 0 ? RISK_ORDER_BUY : RISK_ORDER_SELL, RISK_SIDE_BOTH,
                                fabs(cases[k].qty), cases[k].price);
        risk_account_summary s = whatif(acc, &o);
        /* the calls it stands for: the fee, then the fill */
        tu_assert_status(risk_basket_add_balance(risk_account_basket(twin), cases[k].settle, -cases[k].fee), RISK_OK);
        if (p)
            tu_assert_status(risk_position_adjust(p, cases[k].qty, cases[k].price), RISK_OK);
        else
            (void)tu_open_simple(twin, cases[k].inst, cases[k].qty, cases[k].price);
        risk_account_summary r = tu_eval(twin);
        assert_memory_equal(&s, &r, sizeof s);
        /* resting: the maker fee (0.02 %) instead */
        uint32_t fill = 9;
        risk_account_summary rest = RISK_ACCOUNT_SUMMARY_INIT;
        tu_assert_status(risk_account_orders_summary(acc, &o, 1, &rest, &fill), RISK_OK);
        if (fill == 1)
            assert_true(rest.equity > s.equity); /* a smaller fee */
        risk_account_free(acc);
        risk_account_free(twin);
    }
    risk_engine_free(e);
}

/* ================================================================== random books */

typedef struct rbook {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdt, btc, ids[3];
    double lots[3], ticks[3], marks[3];
} rbook;

static const risk_margin_tier r_btc_tiers[] = {
    {50000.0, 0.005, 100.0, 0, 0}, {250000.0, 0.01, 50.0, 0, 0}, {1e12, 0.025, 20.0, 0, 0}};
static const risk_margin_tier r_eth_tiers[] = {{20000.0, 0.01, 50.0, 0, 0}, {1e12, 0.02, 25.0, 0, 0}};
static const risk_margin_tier r_inv_tiers[] = {{2.0, 0.005, 100.0, 0, 0}, {1e12, 0.01, 50.0, 0, 0}};

static void rbook_init(rbook *b, uint32_t flags)
{
    tu_alloc_init(&b->a);
    b->e = tu_engine(&b->a, flags);
    b->usdt = tu_asset(b->e, "USDT", 1.0, 6);
    b->btc = tu_asset_w(b->e, "BTC", 50000.0, 8, 0.9, 0.95, 1.1, 1.05);
    uint32_t eth = tu_asset_w(b->e, "ETH", 3000.0, 8, 0.8, 0.9, 1.2, 1.1);
    b->ids[0] = tu_linear(b->e, "BTCUSDT", b->btc, b->usdt, 1.0, 0.001, 0.1, 50000.0, r_btc_tiers, 3);
    risk_instrument_spec s = tu_linear_spec("ETHUSDT", eth, b->usdt, 1.0, 0.01, 0.01, 3000.0, r_eth_tiers, 2);
    s.mm_price = RISK_MM_PRICE_ENTRY;
    b->ids[1] = tu_instrument(b->e, &s);
    b->ids[2] = tu_inverse(b->e, "BTCUSD", b->btc, 100.0, 1.0, 0.5, 50000.0, r_inv_tiers, 2);
    const double lots[] = {0.001, 0.01, 1.0}, ticks[] = {0.1, 0.01, 0.5}, marks[] = {50000.0, 3000.0, 50000.0};
    memcpy(b->lots, lots, sizeof lots);
    memcpy(b->ticks, ticks, sizeof ticks);
    memcpy(b->marks, marks, sizeof marks);
}

static risk_account *random_account(rbook *b, tu_rng *r, uint64_t id)
{
    uint32_t mm = tu_rng_int(r, 0, 2) == 0 ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS;
    uint32_t pm = tu_rng_int(r, 0, 1) ? RISK_POSITION_HEDGE : RISK_POSITION_ONE_WAY;
    risk_account *acc = tu_account(b->e, id, mm, pm);
    tu_balance(acc, b->usdt, tu_rng_range(r, -2000.0, 40000.0));
    if (tu_rng_int(r, 0, 2) == 0)
        tu_balance(acc, b->btc, tu_rng_int(r, -20, 60) * 0.001);
    if (tu_rng_int(r, 0, 1))
        tu_leverage(acc, b->ids[0], (double)tu_rng_int(r, 1, 100));
    int hedge = pm == RISK_POSITION_HEDGE;
    for (int i = 0; i < 3; i++)
        for (uint32_t leg = hedge ? RISK_SIDE_LONG : RISK_SIDE_BOTH; leg <= (hedge ? RISK_SIDE_SHORT : RISK_SIDE_BOTH);
             leg++) {
            if (tu_rng_int(r, 0, 2) == 0)
                continue;
            double qty = tu_rng_int(r, 1, 400) * b->lots[i];
            if (leg == RISK_SIDE_BOTH && tu_rng_int(r, 0, 1))
                qty = -qty;
            double entry = b->marks[i] * tu_rng_range(r, 0.9, 1.1);
            uint32_t mode = tu_rng_int(r, 0, 3) == 0 ? RISK_MARGIN_ISOLATED : RISK_MARGIN_DEFAULT;
            int iso = mode == RISK_MARGIN_ISOLATED || mm == RISK_MARGIN_ISOLATED;
            (void)tu_open(acc, b->ids[i], leg, mode, qty, entry, iso ? tu_rng_range(r, 0.0, 3000.0) * (i == 2 ? 2e-5 : 1) : 0.0);
        }
    return acc;
}

/* Max order size on random books with random taker fees and, on half of them, a maximum
 * notional under the positions' reach: q keeps available >= 0 (or, when the account is short
 * already, the documented reduction rule) and q + 1 lot does not, or is refused by the limit;
 * with the fees set to zero the answer is no smaller (fees monotone). */
static void test_orders_max_order_random_books_with_fees_and_limits(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_seed(&r, 8);
    unsigned limited = 0, feasible = 0;
    for (int k = 0; k < 1500; k++) {
        rbook b;
        rbook_init(&b, k % 5 == 0 ? RISK_ENGINE_NO_QUANTIZE : 0);
        double caps[3] = {0, 0, 0};
        for (int i = 0; i < 3; i++) {
            double taker = tu_rng_int(&r, 0, 3) == 0 ? 0.0 : tu_rng_range(&r, 0.0, 0.004);
            if (tu_rng_int(&r, 0, 1))
                caps[i] = i == 2 ? tu_rng_range(&r, 1.0, 8.0) : tu_rng_range(&r, 20000.0, 600000.0);
            set_fees(b.e, b.ids[i], 0.0, taker, 0, 0.0);
        }
        risk_account *acc = random_account(&b, &r, 1);
        for (int i = 0; i < 3; i++) /* limits set after the positions, which may exceed them */
            if (caps[i] > 0.0) {
                risk_instrument_fees f = RISK_INSTRUMENT_FEES_INIT;
                tu_assert_status(risk_engine_instrument_fees(b.e, b.ids[i], &f), RISK_OK);
                f.max_notional = caps[i];
                tu_assert_status(risk_engine_set_instrument_fees(b.e, b.ids[i], &f), RISK_OK);
            }
        int i = tu_rng_int(&r, 0, 2);
        uint32_t leg = RISK_SIDE_BOTH;
        if (risk_account_position_mode(acc) == RISK_POSITION_HEDGE)
            leg = tu_rng_int(&r, 0, 1) ? RISK_SIDE_LONG : RISK_SIDE_SHORT;
        double price = tu_rng_int(&r, 0, 2) ? nearbyint(b.marks[i] * tu_rng_range(&r, 0.97, 1.03) / b.ticks[i]) * b.ticks[i] : 0.0;
        risk_order o = order_of(b.ids[i], tu_rng_int(&r, 0, 1) ? RISK_ORDER_BUY : RISK_ORDER_SELL, leg, 1.0, price);
        double lot = b.lots[i];
        double q = max_qty(acc, o.instrument, o.side, o.leg, o.price);
        assert_true(q >= 0.0);
        if (caps[i] > 0.0)
            assert_true(isfinite(q));
        if (isfinite(q)) {
            double n = nearbyint(q / lot), now = avail_after(acc, &o, 0.0), got = avail_after(acc, &o, q);
            tu_assert_bits(q, n * lot);
            risk_position *p = NULL;
            double held = risk_account_find_position(acc, o.instrument, o.leg, &p) == RISK_OK ? risk_position_qty(p) : 0.0;
            double dir = o.side == RISK_ORDER_BUY ? 1.0 : -1.0, leg_dir = o.leg == RISK_SIDE_SHORT ? -1.0 : 1.0;
            double cap_lots = o.leg != RISK_SIDE_BOTH && dir != leg_dir ? nearbyint(fabs(held) / lot) : 1e300;
            double T = 0.0;
            if (got < 0.0) { /* short already: the largest reduction that leaves it no lower */
                assert_true(now < 0.0);
                assert_true(got >= now);
                T = now;
                int reduces = held != 0.0 && (held > 0.0) != (dir > 0.0);
                cap_lots = reduces ? nearbyint(fabs(held) / lot) : 0.0;
            } else {
                feasible++;
            }
            if (n + 1.0 <= cap_lots) {
                double next = avail_after(acc, &o, (n + 1.0) * lot);
                if (isinf(next))
                    limited++;
                assert_true(next < T);
            }
            for (double m = n + 2.0; m <= n + 40.0 && m <= cap_lots; m++)
                assert_true(avail_after(acc, &o, m * lot) < T);
            if (now >= 0.0) { /* fees monotone: without them, no smaller */
                set_fees(b.e, b.ids[i], 0.0, 0.0, 0, caps[i]);
                assert_true(max_qty(acc, o.instrument, o.side, o.leg, o.price) >= q);
            }
        }
        risk_account_free(acc);
        risk_engine_free(b.e);
    }
    assert_true(feasible > 1000); /* (1,423 and 392 with this seed) */
    assert_true(limited > 200);
}

/* ================================================================== max order for options */

#define OPT_NOW 1767225600 /* 2026-01-01T00:00:00Z */
#define OPT_EXPIRY (OPT_NOW + 30 * 86400)

/* A Deribit-style BTC option: coin-settled (inverse), 1 BTC a contract, lot 0.1, tick 0.0001 BTC;
 * or the USDC-settled (linear) one: lot 0.01, tick 5 USDC. */
static uint32_t opt_instrument(risk_engine *e, const char *sym, uint32_t btc, uint32_t usdc, int coin, int32_t type,
                               double strike, double mark)
{
    risk_instrument_spec s = RISK_INSTRUMENT_SPEC_INIT;
    s.kind = RISK_KIND_OPTION;
    s.symbol = sym;
    s.underlying = btc;
    s.settle = coin ? btc : usdc;
    s.inverse = coin ? 1 : 0;
    s.expiry_unix_s = OPT_EXPIRY;
    s.contract_size = 1.0;
    s.lot_size = coin ? 0.1 : 0.01;
    s.tick_size = coin ? 0.0001 : 5.0;
    s.mark = mark;
    s.strike = strike;
    s.option_type = type;
    s.underlying_tick = 0.5;
    return tu_instrument(e, &s);
}

/* Deribit's standard margin by hand (W28's option, docs/options.md 7): BTC 50,000, a 1 BTC
 * wallet, sell the 55,000 call at its mark 0.01 BTC. Each contract brings 0.01 BTC of premium
 * and owes 0.01 BTC of mark value (equity unchanged) and needs IM = max(0.15 - 0.1, 0.10) + 0.01
 * = 0.11 BTC: available = (1 - 0.11 q) x 50,000 >= 0 for q <= 9.0909, so 9.0 contracts (90 lots;
 * 9.1 leaves -50 USD). The USDC-settled twin (mark 500 USDC, IM 5,500 USDC a contract) with a
 * 10,000 USDC wallet: q <= 1.8181, so 1.81 (181 lots), or 1.2 under a 600 USDC maximum notional.
 * With a 0.03 % taker fee on the coin
 * option: the fee only lowers it. Buying the call: IM = MM = 0 and the mark value joins equity
 * (docs/options.md 6.3), so with weights 1 and no fee nothing bounds it but the fee. */
static void test_orders_max_order_option_deribit_by_hand(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e = tu_engine(&al, 0);
    uint32_t usd = tu_asset(e, "USD", 1.0, 6), btc = tu_asset(e, "BTC", 50000.0, 8), usdc = tu_asset(e, "USDC", 1.0, 6);
    (void)usd;
    tu_assert_status(risk_engine_set_time(e, OPT_NOW), RISK_OK);
    uint32_t call = opt_instrument(e, "BTC-55000-C", btc, usdc, 1, RISK_OPTION_CALL, 55000.0, 0.01);
    uint32_t ucall = opt_instrument(e, "BTC-55000-C-USDC", btc, usdc, 0, RISK_OPTION_CALL, 55000.0, 500.0);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, btc, 1.0);
    double q = max_qty(acc, call, RISK_ORDER_SELL, RISK_SIDE_BOTH, 0.0);
    tu_assert_near(q, 9.0, 1e-12);
    risk_order o = order_of(call, RISK_ORDER_SELL, RISK_SIDE_BOTH, 1.0, 0.0);
    tu_assert_near(avail_after(acc, &o, 9.0), 50000.0 * (1.0 - 0.99), 1e-6);
    tu_assert_near(avail_after(acc, &o, 9.1), -50.0, 1e-6);
    /* a real fill on a twin: open at the mark, receive the premium (open_position moves no cash) */
    risk_account *twin = tu_account(e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(twin, btc, 1.0 + 9.0 * 0.01);
    (void)tu_open_simple(twin, call, -9.0, 0.01);
    assert_true(tu_eval(twin).available >= 0.0);
    risk_position *p = NULL;
    tu_assert_status(risk_account_find_position(twin, call, RISK_SIDE_BOTH, &p), RISK_OK);
    tu_assert_status(risk_position_adjust(p, -0.1, 0.01), RISK_OK); /* one lot more */
    assert_true(tu_eval(twin).available < 0.0);
    /* USDC-settled */
    risk_account *u = tu_account(e, 3, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(u, usdc, 10000.0);
    tu_assert_near(max_qty(u, ucall, RISK_ORDER_SELL, RISK_SIDE_BOTH, 0.0), 1.81, 1e-12);
    /* a maximum notional of 600 USDC (|q| x 500 at the mark) caps it at 1.2; 1.21 is refused */
    set_fees(e, ucall, 0.0, 0.0, 0, 600.0);
    tu_assert_near(max_qty(u, ucall, RISK_ORDER_SELL, RISK_SIDE_BOTH, 0.0), 1.2, 1e-12);
    risk_order uo = order_of(ucall, RISK_ORDER_SELL, RISK_SIDE_BOTH, 1.21, 0.0);
    risk_account_summary us = RISK_ACCOUNT_SUMMARY_INIT;
    tu_assert_status(risk_account_whatif(u, &uo, &us), RISK_ELIMIT);
    /* a taker fee lowers it */
    set_fees(e, call, 0.0, 0.0003, 0, 0.0);
    double qf = max_qty(acc, call, RISK_ORDER_SELL, RISK_SIDE_BOTH, 0.0);
    assert_true(qf <= 9.0);
    assert_true(avail_after(acc, &o, qf) >= 0.0);
    assert_true(avail_after(acc, &o, qf + 0.1) < 0.0);
    /* buying: the premium and the fee (a long's IM is its mark, docs/options.md 7) */
    double qb = max_qty(acc, call, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0);
    risk_order b = order_of(call, RISK_ORDER_BUY, RISK_SIDE_BOTH, 1.0, 0.0);
    assert_true(isfinite(qb) && qb > 9.0);
    assert_true(avail_after(acc, &b, qb) >= 0.0);
    assert_true(avail_after(acc, &b, qb + 0.1) < 0.0);
    set_fees(e, call, 0.0, 0.0, 0, 0.0);
    /* no fee: the premium alone, 1 BTC / 0.01 BTC a contract = 100 contracts */
    tu_assert_near(max_qty(acc, call, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0), 100.0, 1e-12);
    assert_true(avail_after(acc, &b, 100.0) >= 0.0);
    assert_true(avail_after(acc, &b, 100.1) < 0.0);
    risk_account_free(acc);
    risk_account_free(twin);
    risk_account_free(u);
    risk_engine_free(e);
}

typedef struct obook {
    tu_alloc a;
    risk_engine *e;
    uint32_t usd, btc, usdc, ids[6];
    double lots[6], ticks[6], marks[6];
} obook;

/* Six options on BTC at 50,000: coin and USDC calls and puts at random strikes, marked at their
 * intrinsic value plus a random time value; BTC and USDC with collateral and liability weights. */
static void obook_init(obook *b, tu_rng *r, uint32_t flags)
{
    tu_alloc_init(&b->a);
    b->e = tu_engine(&b->a, flags);
    b->usd = tu_asset(b->e, "USD", 1.0, 6);
    b->btc = tu_asset_w(b->e, "BTC", 50000.0, 8, 0.9, 0.95, 1.1, 1.05);
    b->usdc = tu_asset_w(b->e, "USDC", 1.0, 6, 0.98, 0.99, 1.02, 1.01);
    tu_assert_status(risk_engine_set_time(b->e, OPT_NOW), RISK_OK);
    static const char *const syms[6] = {"C1", "P1", "C2", "UC1", "UP1", "UP2"};
    for (int i = 0; i < 6; i++) {
        int coin = i < 3;
        int32_t type = i == 1 || i >= 4 ? RISK_OPTION_PUT : RISK_OPTION_CALL;
        double k = 1000.0 * tu_rng_int(r, 35, 65), u = 50000.0;
        double intrinsic = type == RISK_OPTION_CALL ? fmax(u - k, 0.0) : fmax(k - u, 0.0);
        double mark = intrinsic + u * tu_rng_range(r, 0.001, 0.08);
        b->ticks[i] = coin ? 0.0001 : 5.0;
        b->lots[i] = coin ? 0.1 : 0.01;
        if (coin)
            mark /= u;
        b->marks[i] = nearbyint(mark / b->ticks[i]) * b->ticks[i];
        b->ids[i] = opt_instrument(b->e, syms[i], b->btc, b->usdc, coin, type, k, b->marks[i]);
    }
}

static risk_account *ob_account(obook *b, tu_rng *r, uint64_t id, uint32_t mm, uint32_t pm)
{
    risk_account *acc = tu_account(b->e, id, mm, pm);
    tu_balance(acc, b->usdc, tu_rng_range(r, -2000.0, 90000.0));
    if (tu_rng_int(r, 0, 1))
        tu_balance(acc, b->btc, tu_rng_int(r, -10, 80) * 0.01);
    int hedge = pm == RISK_POSITION_HEDGE;
    for (int i = 0; i < 6; i++)
        for (uint32_t leg = hedge ? RISK_SIDE_LONG : RISK_SIDE_BOTH; leg <= (hedge ? RISK_SIDE_SHORT : RISK_SIDE_BOTH);
             leg++) {
            if (tu_rng_int(r, 0, 2) == 0)
                continue;
            double qty = tu_rng_int(r, 1, 60) * b->lots[i];
            if (leg == RISK_SIDE_BOTH && tu_rng_int(r, 0, 1))
                qty = -qty;
            double entry = fmax(b->ticks[i], nearbyint(b->marks[i] * tu_rng_range(r, 0.8, 1.2) / b->ticks[i]) * b->ticks[i]);
            (void)tu_open(acc, b->ids[i], leg, RISK_MARGIN_DEFAULT, qty, entry, 0.0);
        }
    return acc;
}

/* Max order size of options on random books (cross and isolated, one-way and hedge, random taker
 * fees, prices at the mark or within 20 % of it, coin and USDC options, weighted collateral): q
 * keeps available >= 0 (or, when the account is short of IM already, no lower than now with
 * q at most the position) and one lot more does not, and neither do the next 20 lots (the
 * feasible set is an interval); on cross one-way books with a position and no fee, a real fill
 * on two twins (risk_position_adjust by q and by q + 1 lot) agrees. */
static void test_orders_max_order_option_random_books(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_seed(&r, 10);
    unsigned feasible = 0, short_already = 0, twins = 0, infinite = 0;
    for (int k = 0; k < 600; k++) {
        obook b;
        obook_init(&b, &r, k % 5 == 0 ? RISK_ENGINE_NO_QUANTIZE : 0);
        int i = tu_rng_int(&r, 0, 5);
        int fee = tu_rng_int(&r, 0, 2) != 0;
        if (fee)
            set_fees(b.e, b.ids[i], 0.0, tu_rng_range(&r, 0.0, 0.003), 0, 0.0);
        uint32_t mm = tu_rng_int(&r, 0, 3) == 0 ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS;
        uint32_t pm = tu_rng_int(&r, 0, 2) == 0 ? RISK_POSITION_HEDGE : RISK_POSITION_ONE_WAY;
        tu_rng r2 = r;
        risk_account *acc = ob_account(&b, &r, 1, mm, pm);
        uint32_t leg = RISK_SIDE_BOTH;
        if (pm == RISK_POSITION_HEDGE)
            leg = tu_rng_int(&r, 0, 1) ? RISK_SIDE_LONG : RISK_SIDE_SHORT;
        double price = 0.0;
        if (tu_rng_int(&r, 0, 1))
            price = fmax(b.ticks[i], nearbyint(b.marks[i] * tu_rng_range(&r, 0.8, 1.2) / b.ticks[i]) * b.ticks[i]);
        uint32_t side = tu_rng_int(&r, 0, 1) ? RISK_ORDER_BUY : RISK_ORDER_SELL;
        risk_order o = order_of(b.ids[i], side, leg, 1.0, price);
        double lot = b.lots[i];
        double q = max_qty(acc, o.instrument, o.side, o.leg, o.price);
        assert_true(q >= 0.0);
        if (!isfinite(q)) { /* feasible at 2^40 lots (where the what-if takes such an order) */
            risk_order far = o;
            far.qty = 1099511627776.0 * lot;
            risk_account_summary fs = RISK_ACCOUNT_SUMMARY_INIT;
            if (risk_account_whatif(acc, &far, &fs) == RISK_OK)
                assert_true(fs.available >= 0.0);
            infinite++;
            risk_account_free(acc);
            risk_engine_free(b.e);
            continue;
        }
        double n = nearbyint(q / lot), now = avail_after(acc, &o, 0.0), got = avail_after(acc, &o, q);
        tu_assert_bits(q, n * lot);
        risk_position *p = NULL;
        double held = risk_account_find_position(acc, o.instrument, o.leg, &p) == RISK_OK ? risk_position_qty(p) : 0.0;
        double dir = side == RISK_ORDER_BUY ? 1.0 : -1.0, leg_dir = leg == RISK_SIDE_SHORT ? -1.0 : 1.0;
        double cap_lots = leg != RISK_SIDE_BOTH && dir != leg_dir ? nearbyint(fabs(held) / lot) : 1e300;
        double T = 0.0;
        if (n > 0.0 && got < 0.0) { /* short already: the largest reduction that leaves it no lower */
            assert_true(now < 0.0);
            assert_true(got >= now);
            T = now;
            int reduces = held != 0.0 && (held > 0.0) != (dir > 0.0);
            cap_lots = reduces ? nearbyint(fabs(held) / lot) : 0.0;
            short_already++;
        } else if (n == 0.0 && now < 0.0) {
            T = now;
            short_already++;
            int reduces = held != 0.0 && (held > 0.0) != (dir > 0.0);
            cap_lots = reduces ? nearbyint(fabs(held) / lot) : 0.0;
        } else {
            assert_true(got >= 0.0);
            feasible++;
        }
        for (double m = n + 1.0; m <= n + 21.0 && m <= cap_lots; m++)
            assert_true(avail_after(acc, &o, m * lot) < T);
        if (!fee && mm == RISK_MARGIN_CROSS && pm == RISK_POSITION_ONE_WAY && held != 0.0 && T == 0.0 && n > 0.0) {
            for (int extra = 0; extra <= 1; extra++) { /* twins: the same account, filled for real */
                tu_rng r3 = r2;
                risk_account *tw = ob_account(&b, &r3, 2 + (uint64_t)extra, mm, pm);
                risk_position *tp = NULL;
                tu_assert_status(risk_account_find_position(tw, o.instrument, o.leg, &tp), RISK_OK);
                double fill_price = price > 0.0 ? price : b.marks[i];
                int rc = risk_position_adjust(tp, dir * (n + extra) * lot, fill_price);
                tu_assert_status(rc, RISK_OK);
                double av = tu_eval(tw).available;
                assert_true(extra ? av < 0.0 : av >= 0.0);
                risk_account_free(tw);
            }
            twins++;
        }
        risk_account_free(acc);
        risk_engine_free(b.e);
    }
    printf("option max order: %u feasible, %u short already, %u twins, %u infinite\n", feasible, short_already, twins,
           infinite);
    assert_true(feasible > 300);
    assert_true(twins > 20);
}

/* ================================================================== liquidation price with the fee */

/*
 * W13, Bybit legacy inverse cross
 * (https://help.bybit.com/hc/en-us/articles/360039261334-How-to-calculate-Liquidation-Price-Inverse-Contract-,
 * research/cex-anchors.md W13): balance 0.5 BTC, long 10,000 contracts (1 USD) @ 8,000, MMR
 * 0.5 % (valued at the entry: 0.00625 BTC), taker fee 0.075 % of closing at the price. Bybit
 * publishes BP = 1.00075 x 10,000 / (1.25 + 0.5) = 5,718.57 and LP 5,739.50 on the 0.5 tick; the
 * root is 10,007.5 / 1.74375 = 5,739.07. Without the flag the fee-free roots stay.
 */
static void test_orders_liquidation_price_with_fee_bybit_w13(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    (void)tu_asset(e, "USD", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 8000.0, 8);
    const risk_margin_tier t[] = {tu_tier(1e9, 0.005, 100.0)};
    risk_instrument_spec s = tu_inverse_spec("BTCUSD", btc, 1.0, 1.0, 0.5, 8000.0, t, 1);
    s.mm_price = RISK_MM_PRICE_ENTRY;
    uint32_t inst = tu_instrument(e, &s);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, btc, 0.5);
    (void)tu_open_simple(acc, inst, 10000.0, 8000.0);
    risk_position_result r = tu_result_of(acc, inst, RISK_SIDE_LONG);
    tu_assert_rel(r.liquidation_price_raw, 10000.0 / 1.74375, 1e-12);
    tu_assert_rel(r.bankruptcy_price_raw, 10000.0 / 1.75, 1e-12);
    set_fees(e, inst, 0.00025, 0.00075, 0, 0); /* fees alone leave the prices */
    risk_position_result same = tu_result_of(acc, inst, RISK_SIDE_LONG);
    tu_assert_bits(same.liquidation_price_raw, r.liquidation_price_raw);
    tu_assert_bits(same.bankruptcy_price_raw, r.bankruptcy_price_raw);
    set_fees(e, inst, 0.00025, 0.00075, 1, 0);
    r = tu_result_of(acc, inst, RISK_SIDE_LONG);
    tu_assert_rel(r.liquidation_price_raw, 10007.5 / 1.74375, 1e-12);
    tu_assert_near(r.liquidation_price_raw, 5739.07, CENT_TOL);
    tu_assert_near(r.liquidation_price, 5739.5, 1e-9); /* Bybit's published LP */
    tu_assert_rel(r.bankruptcy_price_raw, 10007.5 / 1.75, 1e-12);
    tu_assert_near(r.bankruptcy_price_raw, 5718.57, CENT_TOL); /* Bybit's published BP */
    risk_account_free(acc);
    risk_engine_free(e);
}

/* The closing fee moves both prices strictly towards the mark: long and short, linear and
 * inverse, cross and isolated, on random sizes and fees; the account's summary is unchanged. */
static void test_orders_liquidation_price_with_fee_is_closer_to_the_mark(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_seed(&r, 13);
    for (int k = 0; k < 400; k++) {
        tu_alloc a;
        tu_alloc_init(&a);
        risk_engine *e = tu_engine(&a, 0);
        uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), btc = tu_asset(e, "BTC", 50000.0, 8);
        int inverse = k % 2, isolated = (k / 2) % 2;
        double dir = (k / 4) % 2 ? -1.0 : 1.0;
        uint32_t inst = inverse ? tu_inverse(e, "BTCUSD", btc, 100.0, 1.0, 0.5, 50000.0, r_inv_tiers, 2)
                                : tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 50000.0, r_btc_tiers, 3);
        risk_account *acc = tu_account(e, 1, isolated ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        double qty = inverse ? tu_rng_int(&r, 100, 3000) : tu_rng_int(&r, 100, 3000) * 0.001;
        double notional_usd = inverse ? qty * 100.0 : qty * 50000.0, lev = tu_rng_range(&r, 3.0, 20.0);
        double entry = 50000.0 * tu_rng_range(&r, 0.97, 1.03);
        if (isolated) {
            double m = notional_usd / lev;
            (void)tu_open(acc, inst, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, dir * qty, entry, inverse ? m / 50000.0 : m);
        } else {
            if (inverse)
                tu_balance(acc, btc, notional_usd / lev / 50000.0);
            else
                tu_balance(acc, usdt, notional_usd / lev);
            (void)tu_open_simple(acc, inst, dir * qty, entry);
        }
        uint32_t side = dir > 0 ? RISK_SIDE_LONG : RISK_SIDE_SHORT;
        risk_position_result r0 = tu_result_of(acc, inst, side);
        risk_account_summary s0 = tu_eval(acc);
        set_fees(e, inst, 0.0, tu_rng_range(&r, 0.0001, 0.002), 1, 0);
        risk_position_result r1 = tu_result_of(acc, inst, side);
        risk_account_summary s1 = tu_eval(acc);
        assert_memory_equal(&s0, &s1, sizeof s0);
        assert_true(r0.flags & RISK_RESULT_HAS_LIQUIDATION_PRICE);
        assert_true(r1.flags & RISK_RESULT_HAS_LIQUIDATION_PRICE);
        assert_false(r1.flags & RISK_RESULT_LIQUIDATABLE);
        /* a long's prices rise towards the mark, a short's fall; both stay on their side */
        assert_true(dir * (r1.liquidation_price_raw - r0.liquidation_price_raw) > 0.0);
        assert_true(dir * (50000.0 - r1.liquidation_price_raw) > 0.0);
        if (r0.flags & RISK_RESULT_HAS_BANKRUPTCY_PRICE) {
            assert_true(r1.flags & RISK_RESULT_HAS_BANKRUPTCY_PRICE);
            assert_true(dir * (r1.bankruptcy_price_raw - r0.bankruptcy_price_raw) > 0.0);
            assert_true(dir * (r1.liquidation_price_raw - r1.bankruptcy_price_raw) > 0.0);
        }
        risk_account_free(acc);
        risk_engine_free(e);
    }
}

/* ================================================================== maximum notional */

/*
 * A schedule that ends: Binance refuses a position above its largest bracket (freqtrade raises
 * "Amount ... too high" on a stake above it,
 * https://github.com/freqtrade/freqtrade/blob/develop/freqtrade/exchange/exchange.py,
 * get_max_leverage). BTCUSDT on the W5 brackets bounded at 1,000,000 USDT at a mark of 50,000:
 * 20 BTC is the largest position; opening, adding to, flipping past and what-if-ing beyond it
 * are refused with RISK_ELIMIT naming the instrument, the notional and the cap; reducing is not;
 * max order stops at the cap.
 */
static void test_orders_max_notional_refuses_and_caps(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), btc = tu_asset(e, "BTC", 50000.0, 8);
    uint32_t inst = tu_binance_btcusdt_perp(e, "BTCUSDT", btc, usdt, 50000.0);
    set_fees(e, inst, 0.0, 0.0, 0, 1e6);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdt, 1e7);
    tu_account_snap s0;
    tu_account_snap_take(acc, 2, 1, &s0);
    risk_position_spec spec = RISK_POSITION_SPEC_INIT;
    spec.instrument = inst;
    spec.qty = 20.001;
    spec.entry = 50000.0;
    tu_assert_status(risk_account_open_position(acc, &spec, NULL), RISK_ELIMIT);
    assert_msg_has(risk_account_errmsg(acc), "BTCUSDT");
    assert_msg_has(risk_account_errmsg(acc), "1000050");
    assert_msg_has(risk_account_errmsg(acc), "1000000");
    tu_account_snap_check(acc, &s0);
    assert_string_equal(risk_strerror(RISK_ELIMIT), "a position would exceed its instrument's maximum notional");
    assert_string_equal(risk_errname(RISK_ELIMIT), "RISK_ELIMIT");
    /* max order: 20 BTC flat, long and short */
    tu_assert_bits(max_qty(acc, inst, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0), 20.0);
    tu_assert_bits(max_qty(acc, inst, RISK_ORDER_SELL, RISK_SIDE_BOTH, 0.0), 20.0);
    risk_order o = order_of(inst, RISK_ORDER_BUY, RISK_SIDE_BOTH, 20.001, 0.0);
    risk_account_summary out = RISK_ACCOUNT_SUMMARY_INIT, marker;
    memset(&marker, 0x5a, sizeof marker);
    marker.version = RISK_ACCOUNT_SUMMARY_VERSION;
    out = marker;
    tu_assert_status(risk_account_whatif(acc, &o, &out), RISK_ELIMIT);
    assert_msg_has(risk_account_errmsg(acc), "BTCUSDT");
    assert_memory_equal(&out, &marker, sizeof out);
    tu_assert_status(risk_account_orders_summary(acc, &o, 1, &out, NULL), RISK_ELIMIT);
    o.qty = 20.0;
    (void)whatif(acc, &o);
    /* at 20 BTC: adding refused, reducing fine; a flip may reach 20 on the other side */
    risk_position *p = tu_open_simple(acc, inst, 20.0, 50000.0);
    tu_assert_status(risk_position_adjust(p, 0.001, 50000.0), RISK_ELIMIT);
    tu_assert_bits(risk_position_qty(p), 20.0);
    tu_assert_bits(max_qty(acc, inst, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0), 0.0);
    tu_assert_bits(max_qty(acc, inst, RISK_ORDER_SELL, RISK_SIDE_BOTH, 0.0), 40.0);
    tu_assert_status(risk_position_adjust(p, -40.001, 50000.0), RISK_ELIMIT);
    tu_assert_status(risk_position_adjust(p, -5.0, 50000.0), RISK_OK);
    /* the mark rises: the position (15 BTC at 70,000 = 1,050,000) stays, only growth is refused */
    tu_mark(e, inst, 70000.0);
    tu_assert_status(risk_position_adjust(p, 0.001, 70000.0), RISK_ELIMIT);
    tu_assert_status(risk_position_adjust(p, -0.001, 70000.0), RISK_OK);
    tu_assert_bits(max_qty(acc, inst, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0), 0.0);
    /* lifting the limit lifts it all */
    set_fees(e, inst, 0.0, 0.0, 0, 0.0);
    tu_assert_status(risk_position_adjust(p, 0.001, 70000.0), RISK_OK);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Margined at the entry (Bybit USDT): the limit is on |q| x entry after the fill, entries
 * averaged; hedge legs each count alone; inverse contracts count in the underlying. */
static void test_orders_max_notional_at_entry_hedge_and_inverse(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), eth = tu_asset(e, "ETH", 3000.0, 8);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    risk_instrument_spec s = tu_linear_spec("ETHUSDT", eth, usdt, 1.0, 0.01, 0.01, 3000.0, r_eth_tiers, 2);
    s.mm_price = RISK_MM_PRICE_ENTRY;
    uint32_t ethusdt = tu_instrument(e, &s);
    uint32_t btcusd = tu_inverse(e, "BTCUSD", btc, 100.0, 1.0, 0.5, 50000.0, r_inv_tiers, 2);
    set_fees(e, ethusdt, 0.0, 0.0, 0, 30000.0);
    set_fees(e, btcusd, 0.0, 0.0, 0, 2.0);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    tu_balance(acc, usdt, 1e6);
    tu_balance(acc, btc, 10.0);
    /* long 5 ETH @ 2,000 (10,000); buying at 4,000: 10,000 + 4,000 n <= 30,000: n = 5 */
    (void)tu_open(acc, ethusdt, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 5.0, 2000.0, 0.0);
    tu_assert_bits(max_qty(acc, ethusdt, RISK_ORDER_BUY, RISK_SIDE_LONG, 4000.0), 5.0);
    /* the short leg alone: 30,000 / 3,000 = 10 */
    tu_assert_bits(max_qty(acc, ethusdt, RISK_ORDER_SELL, RISK_SIDE_SHORT, 3000.0), 10.0);
    risk_order o = order_of(ethusdt, RISK_ORDER_BUY, RISK_SIDE_LONG, 5.01, 4000.0);
    risk_account_summary out = RISK_ACCOUNT_SUMMARY_INIT;
    tu_assert_status(risk_account_whatif(acc, &o, &out), RISK_ELIMIT);
    /* inverse: 2 BTC at 50,000 = 1,000 contracts of 100 USD */
    tu_assert_bits(max_qty(acc, btcusd, RISK_ORDER_SELL, RISK_SIDE_SHORT, 0.0), 1000.0);
    risk_account_free(acc);
    risk_engine_free(e);
}


/* Issue 9 section 2: max_notional is at most RISK_NOTIONAL_MAX (or 0 / INFINITY for none); a
 * fee's price is in the price domain and its quantity at most 2^53 lots; the liquidation
 * policy's min_notional and the insurance fund stay in the domain. */
static void test_orders_fees_refuse_inputs_outside_the_domain(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), btc = tu_asset(e, "BTC", 50000.0, 8);
    uint32_t inst = tu_binance_btcusdt_perp(e, "BTCUSDT", btc, usdt, 50000.0);
    risk_instrument_fees f = fees_of(0.0002, 0.0005, 0, 1.0000001e30);
    tu_assert_status(risk_engine_set_instrument_fees(e, inst, &f), RISK_EINVAL);
    assert_msg_has(risk_engine_errmsg(e), "max_notional");
    set_fees(e, inst, 0.0002, 0.0005, 0, RISK_NOTIONAL_MAX);
    set_fees(e, inst, 0.0002, 0.0005, 0, INFINITY);
    double fee = -1;
    tu_assert_status(risk_engine_fill_fee(e, inst, RISK_FEE_TAKER, 1.0, 1e300, &fee), RISK_EINVAL);
    assert_msg_has(risk_engine_errmsg(e), "price 1e+300");
    tu_assert_status(risk_engine_fill_fee(e, inst, RISK_FEE_TAKER, DBL_MAX, 50000.0, &fee), RISK_EINVAL);
    assert_msg_has(risk_engine_errmsg(e), "2^53 lots");
    assert_true(fee == -1);
    tu_assert_status(risk_engine_fill_fee(e, inst, RISK_FEE_TAKER, 9007199254740.992, RISK_PRICE_MAX, &fee), RISK_OK);
    assert_true(isfinite(fee) && fee > 0.0);
    risk_liquidation_policy p = RISK_LIQUIDATION_POLICY_INIT;
    p.min_notional = 1e31;
    tu_assert_status(risk_engine_set_liquidation_policy(e, &p), RISK_EINVAL);
    assert_msg_has(risk_engine_errmsg(e), "min_notional");
    tu_assert_status(risk_engine_insurance_fund_deposit(e, usdt, 1e300), RISK_EINVAL);
    tu_assert_status(risk_engine_insurance_fund_deposit(e, usdt, RISK_AMOUNT_QUANTA_MAX / 1e6), RISK_OK);
    tu_assert_status(risk_engine_insurance_fund_deposit(e, usdt, 1.0), RISK_EINVAL);
    assert_msg_has(risk_engine_errmsg(e), "insurance fund");
    risk_engine_free(e);
}

/* Issue 9 defect 1: max order size never returned for positions of 1e13..1e17 contracts at lot
 * 0.001 (past 2^53 lots). Such positions are refused now; just under 2^53 lots (9e12
 * contracts) the answer comes at once: nothing more can be bought with 1e6 USDT against an MM
 * of 3.6e10, and selling is unbounded (it only reduces, then needs more than 2^40 lots). */
static void test_orders_max_order_at_the_largest_positions(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 2);
    uint32_t btc = tu_asset(e, "BTC", 1.0, 8);
    risk_margin_tier t = tu_tier(1e30, 0.004, 125.0);
    uint32_t inst = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 1.0, &t, 1);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdt, 1e6);
    risk_position_spec spec = RISK_POSITION_SPEC_INIT;
    spec.instrument = inst;
    spec.qty = 1e13;
    spec.entry = 1.0;
    tu_assert_status(risk_account_open_position(acc, &spec, NULL), RISK_EINVAL);
    (void)tu_open_simple(acc, inst, 9e12, 1.0);
    double q = -1.0;
    tu_assert_status(risk_account_max_order_qty(acc, inst, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0, &q), RISK_OK);
    tu_assert_near(q, 0.0, 0.0);
    tu_assert_status(risk_account_max_order_qty(acc, inst, RISK_ORDER_SELL, RISK_SIDE_BOTH, 0.0, &q), RISK_OK);
    assert_true(isinf(q));
    risk_account_free(acc);
    risk_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orders_fees_default_to_zero_and_round_trip),
        cmocka_unit_test(test_orders_fees_reject_bad_input),
        cmocka_unit_test(test_orders_max_order_reserves_the_fee_hummingbot),
        cmocka_unit_test(test_orders_whatif_charges_the_taker_fee),
        cmocka_unit_test(test_orders_max_order_random_books_with_fees_and_limits),
        cmocka_unit_test(test_orders_max_order_option_deribit_by_hand),
        cmocka_unit_test(test_orders_max_order_option_random_books),
        cmocka_unit_test(test_orders_liquidation_price_with_fee_bybit_w13),
        cmocka_unit_test(test_orders_liquidation_price_with_fee_is_closer_to_the_mark),
        cmocka_unit_test(test_orders_max_notional_refuses_and_caps),
        cmocka_unit_test(test_orders_max_notional_at_entry_hedge_and_inverse),
        cmocka_unit_test(test_orders_fees_refuse_inputs_outside_the_domain),
        cmocka_unit_test(test_orders_max_order_at_the_largest_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
