/* SPDX-License-Identifier: Apache-2.0 */
/* test_whatif.c: what-if fills (bit-identical to the real fill), max order size (exact to one
 * lot, tiers, user leverage, one-way flips, hedge legs, isolated top-ups), resting orders under
 * the worse of bids and asks (Drift D5), out of memory, bad input. */
#include "test_util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ================================================================== fixture */

/* USDT (6 dp), BTC (8 dp, weights and value tiers), ETH; BTCUSDT linear (3 tiers), ETHUSDT
 * linear with MM at the entry, BTCUSD inverse (settle BTC). Marks on the tick. */
typedef struct book {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdt, btc, eth;
    uint32_t btcusdt, ethusdt, btcusd;
} book;

static const risk_margin_tier btc_tiers[] = {
    {50000.0, 0.005, 100.0, 0, 0}, {250000.0, 0.01, 50.0, 0, 0}, {1e12, 0.025, 20.0, 0, 0}};
static const risk_margin_tier eth_tiers[] = {{20000.0, 0.01, 50.0, 0, 0}, {1e12, 0.02, 25.0, 0, 0}};
static const risk_margin_tier inv_tiers[] = {{2.0, 0.005, 100.0, 0, 0}, {1e12, 0.01, 50.0, 0, 0}};

/* Builds the book on an engine that allocates through `a`. */
static void book_build(book *b, tu_alloc *a, uint32_t flags)
{
    b->e = tu_engine(a, flags);
    b->usdt = tu_asset(b->e, "USDT", 1.0, 6);
    b->btc = tu_asset_w(b->e, "BTC", 50000.0, 8, 0.9, 0.95, 1.1, 1.05);
    b->eth = tu_asset_w(b->e, "ETH", 3000.0, 8, 0.8, 0.9, 1.2, 1.1);
    b->btcusdt = tu_linear(b->e, "BTCUSDT", b->btc, b->usdt, 1.0, 0.001, 0.1, 50000.0, btc_tiers, 3);
    risk_instrument_spec s = tu_linear_spec("ETHUSDT", b->eth, b->usdt, 1.0, 0.01, 0.01, 3000.0, eth_tiers, 2);
    s.mm_price = RISK_MM_PRICE_ENTRY;
    b->ethusdt = tu_instrument(b->e, &s);
    b->btcusd = tu_inverse(b->e, "BTCUSD", b->btc, 100.0, 1.0, 0.5, 50000.0, inv_tiers, 2);
}

static void book_init(book *b, uint32_t flags)
{
    tu_alloc_init(&b->a);
    book_build(b, &b->a, flags);
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

static double mark_of(const risk_engine *e, uint32_t instrument)
{
    double m = 0.0;
    tu_assert_status(risk_engine_mark(e, instrument, &m), RISK_OK);
    return m;
}

/* The calls a what-if stands for (include/risk/whatif.h): the fill (adjust, or open), then the
 * isolated top-up to the position result's initial margin. */
static int real_fill(const risk_engine *e, risk_account *acc, const risk_order *o)
{
    double dir = o->side == RISK_ORDER_BUY ? 1.0 : -1.0;
    double price = o->price > 0.0 ? o->price : mark_of(e, o->instrument);
    risk_position *p = NULL;
    int rc;
    if (risk_account_find_position(acc, o->instrument, o->leg, &p) == RISK_OK) {
        rc = risk_position_adjust(p, dir * o->qty, price);
    } else {
        risk_position_spec s = RISK_POSITION_SPEC_INIT;
        s.instrument = o->instrument;
        s.side = o->leg;
        double leg_dir = o->leg == RISK_SIDE_SHORT ? -1.0 : 1.0;
        s.qty = o->leg == RISK_SIDE_BOTH ? dir * o->qty : (dir == leg_dir ? o->qty : -o->qty);
        s.entry = price;
        rc = risk_account_open_position(acc, &s, NULL);
    }
    if (rc != RISK_OK || risk_account_find_position(acc, o->instrument, o->leg, &p) != RISK_OK ||
        risk_position_margin_mode(p) != RISK_MARGIN_ISOLATED)
        return rc;
    risk_position_result r[TU_MAX_POS];
    size_t n = tu_results(acc, r, TU_MAX_POS);
    for (size_t i = 0; i < n; i++) {
        risk_position *q = NULL;
        tu_assert_status(risk_account_position_at(acc, i, &q), RISK_OK);
        if (q == p && r[i].initial_margin > r[i].isolated_margin)
            return risk_position_set_isolated_margin(p, r[i].initial_margin);
    }
    return RISK_OK;
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

static double max_qty(risk_account *acc, uint32_t instrument, uint32_t side, uint32_t leg, double price)
{
    double q = -1.0;
    int rc = risk_account_max_order_qty(acc, instrument, side, leg, price, &q);
    if (rc != RISK_OK)
        print_error("max_order_qty: %s\n", risk_account_errmsg(acc));
    tu_assert_status(rc, RISK_OK);
    return q;
}

/* A summary equal byte for byte (every field is set, so padding aside the bytes are the values). */
static void assert_summary_identical(const risk_account_summary *got, const risk_account_summary *want)
{
    assert_int_equal(got->state, want->state);
    assert_int_equal(got->n_positions, want->n_positions);
    assert_int_equal(got->n_isolated_liquidatable, want->n_isolated_liquidatable);
    assert_memory_equal(got, want, sizeof *got);
}

/* What-if on `a`, the real fill on its twin `b`: identical summaries; `a` unchanged. */
static void check_against_real(book *bk, risk_account *a, risk_account *b, const risk_order *o)
{
    tu_account_snap before;
    tu_account_snap_take(a, 3, 3, &before);
    risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
    int rc = risk_account_whatif(a, o, &s);
    int real = real_fill(bk->e, b, o);
    if (rc != real)
        print_error("whatif %s, real %s (%s)\n", risk_errname(rc), risk_errname(real), risk_account_errmsg(b));
    tu_assert_status(rc, real);
    tu_account_snap_check(a, &before);
    if (rc != RISK_OK)
        return;
    risk_account_summary r = tu_eval(b);
    assert_summary_identical(&s, &r);
}

/* Two identical accounts, built by the same function. */
typedef void (*account_builder)(book *bk, risk_account *acc);

static void twins(book *bk, account_builder build, uint32_t margin_mode, uint32_t position_mode, risk_account **a,
                  risk_account **b)
{
    *a = tu_account(bk->e, 1, margin_mode, position_mode);
    *b = tu_account(bk->e, 2, margin_mode, position_mode);
    build(bk, *a);
    build(bk, *b);
}

/* ================================================================== what-if = real fill */

static void build_one_way(book *bk, risk_account *acc)
{
    tu_balance(acc, bk->usdt, 20000.0);
    tu_balance(acc, bk->btc, 0.05);
    tu_leverage(acc, bk->ethusdt, 10.0);
    (void)tu_open_simple(acc, bk->btcusdt, 0.8, 48000.0);
    (void)tu_open_simple(acc, bk->ethusdt, -5.0, 3100.0);
    (void)tu_open(acc, bk->btcusd, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 300.0, 49000.0, 0.01);
}

/* One-way: increase, partial reduce, exact close, flip; at a price and at the mark; a new
 * instrument; an isolated position (topped up, closed, flipped). */
static void test_whatif_one_way_matches_real_fill(void **state)
{
    (void)state;
    const struct {
        int instrument; /* 0 BTCUSDT, 1 ETHUSDT, 2 BTCUSD */
        uint32_t side;
        double qty, price;
    } cases[] = {
        {0, RISK_ORDER_BUY, 0.5, 50100.0},  {0, RISK_ORDER_SELL, 0.3, 49900.0}, {0, RISK_ORDER_SELL, 0.8, 51000.0},
        {0, RISK_ORDER_SELL, 2.5, 0.0},     {0, RISK_ORDER_BUY, 6.0, 0.0},      {1, RISK_ORDER_BUY, 5.0, 2990.5},
        {1, RISK_ORDER_BUY, 12.0, 3000.0},  {1, RISK_ORDER_SELL, 3.0, 0.0},     {2, RISK_ORDER_BUY, 200.0, 50500.0},
        {2, RISK_ORDER_SELL, 100.0, 0.0},   {2, RISK_ORDER_SELL, 300.0, 48000.0}, {2, RISK_ORDER_SELL, 900.0, 0.0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        book bk;
        book_init(&bk, 0);
        risk_account *a, *b;
        twins(&bk, build_one_way, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY, &a, &b);
        uint32_t ids[] = {bk.btcusdt, bk.ethusdt, bk.btcusd};
        risk_order o = order_of(ids[cases[k].instrument], cases[k].side, RISK_SIDE_BOTH, cases[k].qty, cases[k].price);
        check_against_real(&bk, a, b, &o);
        risk_account_free(a);
        risk_account_free(b);
        risk_engine_free(bk.e);
    }
}

static void build_hedge(book *bk, risk_account *acc)
{
    tu_balance(acc, bk->usdt, 15000.0);
    tu_leverage(acc, bk->btcusdt, 25.0);
    (void)tu_open(acc, bk->btcusdt, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 0.4, 49000.0, 0.0);
    (void)tu_open(acc, bk->btcusdt, RISK_SIDE_SHORT, RISK_MARGIN_ISOLATED, 0.2, 50500.0, 150.0);
}

/* Hedge legs: add, reduce, close, open the other leg, past zero (refused by both). */
static void test_whatif_hedge_matches_real_fill(void **state)
{
    (void)state;
    const struct {
        int instrument;
        uint32_t side, leg;
        double qty, price;
    } cases[] = {
        {0, RISK_ORDER_BUY, RISK_SIDE_LONG, 0.3, 50000.0},   {0, RISK_ORDER_SELL, RISK_SIDE_LONG, 0.1, 50200.0},
        {0, RISK_ORDER_SELL, RISK_SIDE_LONG, 0.4, 0.0},      {0, RISK_ORDER_SELL, RISK_SIDE_SHORT, 0.5, 49800.0},
        {0, RISK_ORDER_BUY, RISK_SIDE_SHORT, 0.2, 49000.0},  {0, RISK_ORDER_BUY, RISK_SIDE_SHORT, 0.1, 0.0},
        {0, RISK_ORDER_SELL, RISK_SIDE_LONG, 0.5, 0.0},      {1, RISK_ORDER_SELL, RISK_SIDE_SHORT, 4.0, 3010.0},
        {1, RISK_ORDER_BUY, RISK_SIDE_SHORT, 1.0, 0.0},      {2, RISK_ORDER_BUY, RISK_SIDE_LONG, 50.0, 0.0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        book bk;
        book_init(&bk, 0);
        risk_account *a, *b;
        twins(&bk, build_hedge, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE, &a, &b);
        uint32_t ids[] = {bk.btcusdt, bk.ethusdt, bk.btcusd};
        risk_order o = order_of(ids[cases[k].instrument], cases[k].side, cases[k].leg, cases[k].qty, cases[k].price);
        check_against_real(&bk, a, b, &o);
        risk_account_free(a);
        risk_account_free(b);
        risk_engine_free(bk.e);
    }
}

static void build_isolated(book *bk, risk_account *acc)
{
    tu_balance(acc, bk->usdt, 3000.0);
    tu_leverage(acc, bk->btcusdt, 20.0);
    (void)tu_open(acc, bk->btcusdt, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, -0.1, 50500.0, 400.0);
}

/* An isolated account: a new position is funded with its IM from the wallet; an increase tops
 * the margin up; a position with margin to spare keeps it. */
static void test_whatif_isolated_tops_up_margin(void **state)
{
    (void)state;
    book bk;
    book_init(&bk, 0);
    risk_account *a, *b;
    twins(&bk, build_isolated, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY, &a, &b);
    /* New ETHUSDT position: 2 x 3000 = 6000 notional, tier 0 (max 50x): IM 120 leaves the wallet. */
    risk_order o = order_of(bk.ethusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 2.0, 3000.0);
    risk_account_summary s = whatif(a, &o);
    tu_assert_near(s.isolated_margin, 400.0 + 120.0, 1e-9);
    tu_assert_near(s.collateral_value, 3000.0 - 120.0, 1e-9);
    check_against_real(&bk, a, b, &o);
    tu_assert_status(real_fill(bk.e, a, &o), RISK_OK); /* the twins stay twins */
    /* The short at 20x: 0.1 x 50000 / 20 = 250 < 400 held: a reduction moves nothing. */
    o = order_of(bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.05, 50000.0);
    s = whatif(a, &o);
    tu_assert_near(s.isolated_margin, 520.0 + 25.0, 1e-9); /* + the realised 0.05 x 500 */
    check_against_real(&bk, a, b, &o);
    tu_assert_status(real_fill(bk.e, a, &o), RISK_OK);
    /* Adding 0.3 short: 0.35 x 50000 / 20 = 875 > 375 held: 500 more moves. */
    o = order_of(bk.btcusdt, RISK_ORDER_SELL, RISK_SIDE_BOTH, 0.3, 50000.0);
    s = whatif(a, &o);
    tu_assert_near(s.isolated_margin, 120.0 + 875.0, 1e-9);
    check_against_real(&bk, a, b, &o);
    risk_account_free(a);
    risk_account_free(b);
    risk_engine_free(bk.e);
}

/* ================================================================== random books */

/* A random account: balances, leverage, positions (one-way or hedge, cross or isolated). The
 * same rng state builds the same account. */
static void random_account(book *bk, risk_account *acc, tu_rng *r)
{
    tu_balance(acc, bk->usdt, tu_rng_range(r, -2000.0, 40000.0));
    if (tu_rng_int(r, 0, 2) == 0)
        tu_balance(acc, bk->btc, tu_rng_int(r, -20, 60) * 0.001);
    if (tu_rng_int(r, 0, 1))
        tu_leverage(acc, bk->btcusdt, (double)tu_rng_int(r, 1, 100));
    if (tu_rng_int(r, 0, 2) == 0)
        tu_leverage(acc, bk->ethusdt, (double)tu_rng_int(r, 1, 50));
    int hedge = risk_account_position_mode(acc) == RISK_POSITION_HEDGE;
    uint32_t ids[] = {bk->btcusdt, bk->ethusdt, bk->btcusd};
    double lots[] = {0.001, 0.01, 1.0}, marks[] = {50000.0, 3000.0, 50000.0};
    for (int i = 0; i < 3; i++) {
        for (uint32_t leg = hedge ? RISK_SIDE_LONG : RISK_SIDE_BOTH; leg <= (hedge ? RISK_SIDE_SHORT : RISK_SIDE_BOTH);
             leg++) {
            if (tu_rng_int(r, 0, 2) == 0)
                continue;
            double qty = tu_rng_int(r, 1, 800) * lots[i];
            if (leg == RISK_SIDE_BOTH && tu_rng_int(r, 0, 1))
                qty = -qty;
            double entry = marks[i] * tu_rng_range(r, 0.9, 1.1);
            uint32_t mode = tu_rng_int(r, 0, 3) == 0 ? RISK_MARGIN_ISOLATED : RISK_MARGIN_DEFAULT;
            int iso = mode == RISK_MARGIN_ISOLATED || risk_account_margin_mode(acc) == RISK_MARGIN_ISOLATED;
            (void)tu_open(acc, ids[i], leg, mode, qty, entry, iso ? tu_rng_range(r, 0.0, 3000.0) * (i == 2 ? 2e-5 : 1) : 0.0);
        }
    }
}

/* Identical random accounts (modes too): a and b, and c unless NULL. */
static void random_twins(book *bk, tu_rng *r, risk_account **a, risk_account **b, risk_account **c)
{
    uint32_t mm = tu_rng_int(r, 0, 2) == 0 ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS;
    uint32_t pm = tu_rng_int(r, 0, 1) ? RISK_POSITION_HEDGE : RISK_POSITION_ONE_WAY;
    risk_account **out[] = {b, c, a};
    for (uint64_t k = 0; k < 3; k++) {
        if (!out[k])
            continue;
        *out[k] = tu_account(bk->e, k + 1, mm, pm);
        tu_rng copy = *r;
        random_account(bk, *out[k], k == 2 ? r : &copy);
    }
}

static risk_order random_order(book *bk, const risk_account *acc, tu_rng *r)
{
    uint32_t ids[] = {bk->btcusdt, bk->ethusdt, bk->btcusd};
    double lots[] = {0.001, 0.01, 1.0}, ticks[] = {0.1, 0.01, 0.5}, marks[] = {50000.0, 3000.0, 50000.0};
    int i = tu_rng_int(r, 0, 2);
    uint32_t leg = RISK_SIDE_BOTH;
    if (risk_account_position_mode(acc) == RISK_POSITION_HEDGE)
        leg = tu_rng_int(r, 0, 1) ? RISK_SIDE_LONG : RISK_SIDE_SHORT;
    double price = 0.0;
    if (tu_rng_int(r, 0, 2))
        price = nearbyint(marks[i] * tu_rng_range(r, 0.97, 1.03) / ticks[i]) * ticks[i];
    return order_of(ids[i], tu_rng_int(r, 0, 1) ? RISK_ORDER_BUY : RISK_ORDER_SELL, leg, tu_rng_int(r, 1, 1500) * lots[i],
                    price);
}

/* Thousands of random accounts and orders: what-if = the real fill, bit for bit. */
static void test_whatif_random_books_match_real_fill(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_seed(&r, 20240611);
    for (int k = 0; k < 3000; k++) {
        book bk;
        book_init(&bk, k % 7 == 0 ? RISK_ENGINE_NO_QUANTIZE : 0);
        risk_account *a, *b;
        random_twins(&bk, &r, &a, &b, NULL);
        risk_order o = random_order(&bk, a, &r);
        check_against_real(&bk, a, b, &o);
        risk_account_free(a);
        risk_account_free(b);
        risk_engine_free(bk.e);
    }
}

/* g(n) on the account: available after n lots. */
static double avail_after(risk_account *acc, const risk_order *o, double qty)
{
    risk_order x = *o;
    x.qty = qty;
    if (qty == 0.0)
        return tu_eval(acc).available;
    risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
    int rc = risk_account_whatif(acc, &x, &s);
    tu_assert_status(rc, RISK_OK);
    return s.available;
}

/* Max order size on random books: q keeps available >= 0 and q + 1 lot does not (checked with
 * what-if and with the real fill); or, when the account is already short, the documented
 * reduction rule; and no larger quantity in a window above q is feasible. */
static void test_whatif_max_order_random_books(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_seed(&r, 77);
    unsigned positive = 0, fallback = 0;
    for (int k = 0; k < 2000; k++) {
        book bk;
        book_init(&bk, k % 5 == 0 ? RISK_ENGINE_NO_QUANTIZE : 0);
        risk_account *a, *b, *c;
        random_twins(&bk, &r, &a, &b, &c);
        risk_order o = random_order(&bk, a, &r);
        double lot = o.instrument == bk.btcusdt ? 0.001 : o.instrument == bk.ethusdt ? 0.01 : 1.0;
        double q = max_qty(a, o.instrument, o.side, o.leg, o.price);
        assert_true(q >= 0.0);
        if (isinf(q))
            goto next;
        double n = nearbyint(q / lot);
        tu_assert_bits(q, n * lot);
        double now = tu_eval(a).available, got = avail_after(a, &o, q);
        /* the largest quantity the order may take (hedge: the leg when it reduces it) */
        risk_position *p = NULL;
        double held = risk_account_find_position(a, o.instrument, o.leg, &p) == RISK_OK ? risk_position_qty(p) : 0.0;
        int reduces = held != 0.0 && (held > 0.0) != (o.side == RISK_ORDER_BUY);
        double leg_dir = o.leg == RISK_SIDE_SHORT ? -1.0 : 1.0, dir = o.side == RISK_ORDER_BUY ? 1.0 : -1.0;
        double cap_lots = o.leg != RISK_SIDE_BOTH && dir != leg_dir ? nearbyint(fabs(held) / lot) : 1e300;
        double T = 0.0;
        if (got >= 0.0) {
            positive++;
        } else { /* nothing keeps it >= 0: the largest reduction that leaves it no lower */
            fallback++;
            assert_true(now < 0.0);
            T = now;
            cap_lots = reduces ? nearbyint(fabs(held) / lot) : 0.0;
            assert_true(got >= now);
            for (double m = 1.0; m <= 40.0 && m <= (o.leg == RISK_SIDE_BOTH ? 1e300 : cap_lots); m++)
                assert_true(avail_after(a, &o, m * lot) < 0.0); /* none restores it */
        }
        if (n + 1.0 <= cap_lots) {
            assert_true(avail_after(a, &o, (n + 1.0) * lot) < T);
            risk_order x = o; /* and the real fill of one lot more, on the third twin */
            x.qty = (n + 1.0) * lot;
            tu_assert_status(real_fill(bk.e, c, &x), RISK_OK);
            assert_true(tu_eval(c).available < T);
        }
        for (double m = n + 2.0; m <= n + 60.0 && m <= cap_lots; m++) /* none larger nearby */
            assert_true(avail_after(a, &o, m * lot) < T);
        if (n > 0.0) { /* the real fill agrees */
            risk_order x = o;
            x.qty = q;
            tu_assert_status(real_fill(bk.e, b, &x), RISK_OK);
            tu_assert_bits(tu_eval(b).available, got);
        }
    next:
        risk_account_free(a);
        risk_account_free(b);
        risk_account_free(c);
        risk_engine_free(bk.e);
    }
    assert_true(positive > 1000);
    assert_true(fallback > 10);
}

/* ================================================================== max order: hand-computed */

/* Tiers 0-50k at 100x (IM 1 %), 50k-250k at 50x (2 %), above at 20x (5 %); buys at the mark
 * (no PnL), so available = balance - IM(N):
 * - USDT 3,000.5, flat: tier 1 binds, 0.02 N <= 3,000.5 gives N <= 150,025: 3.000 BTC
 *   (IM 3,000, available 0.5); 3.001 needs 3,001.
 * - with user leverage 10 (10 % in every tier): N <= 30,005: 0.600 BTC;
 * - long 1 BTC @ 50,000 with USDT 2,000, selling: the close frees the IM (available 2,000), then
 *   a short of 50,000 is in tier 0 (IM 500) and one of 100,000 in tier 1 (IM 2,000): the order
 *   is 3.000 BTC, and 3.001 needs 2,001. */
static void test_whatif_max_order_crosses_a_tier(void **state)
{
    (void)state;
    book bk;
    book_init(&bk, 0);
    risk_account *acc = tu_account(bk.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, bk.usdt, 3000.5);
    tu_assert_bits(max_qty(acc, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0), 3000.0 * 0.001);
    risk_order o = order_of(bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 3.0, 50000.0);
    risk_account_summary s = whatif(acc, &o);
    tu_assert_near(s.initial_margin, 3000.0, 1e-9);
    tu_assert_near(s.available, 0.5, 1e-9);
    o.qty = 3.001;
    tu_assert_near(whatif(acc, &o).available, 3000.5 - 3001.0, 1e-9);
    /* sells are symmetric for a flat account */
    tu_assert_bits(max_qty(acc, bk.btcusdt, RISK_ORDER_SELL, RISK_SIDE_BOTH, 50000.0), 3.0);

    tu_leverage(acc, bk.btcusdt, 10.0);
    tu_assert_bits(max_qty(acc, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0), 600.0 * 0.001);
    o.qty = 0.6;
    tu_assert_near(whatif(acc, &o).available, 0.5, 1e-9);
    o.qty = 0.601;
    tu_assert_near(whatif(acc, &o).available, 3000.5 - 3005.0, 1e-9);
    risk_account_free(acc);

    acc = tu_account(bk.e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, bk.usdt, 2000.0);
    (void)tu_open_simple(acc, bk.btcusdt, 1.0, 50000.0);
    tu_assert_near(tu_eval(acc).available, 1500.0, 1e-9);
    tu_assert_bits(max_qty(acc, bk.btcusdt, RISK_ORDER_SELL, RISK_SIDE_BOTH, 0.0), 3000.0 * 0.001);
    o = order_of(bk.btcusdt, RISK_ORDER_SELL, RISK_SIDE_BOTH, 3.0, 0.0);
    tu_assert_near(whatif(acc, &o).available, 0.0, 1e-9);
    o.qty = 3.001;
    tu_assert_near(whatif(acc, &o).available, -1.0, 1e-9);
    /* buying more: 0.02 (1 + x) 50,000 <= 2,000 gives x <= 1 (the tier-0 IM of 500 is gone) */
    tu_assert_bits(max_qty(acc, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0), 1.0);
    /* hedge-style cap: the same account in hedge mode may sell at most its long leg */
    risk_account_free(acc);
    acc = tu_account(bk.e, 3, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    tu_balance(acc, bk.usdt, 2000.0);
    (void)tu_open(acc, bk.btcusdt, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 0.0);
    tu_assert_bits(max_qty(acc, bk.btcusdt, RISK_ORDER_SELL, RISK_SIDE_LONG, 0.0), 1.0);
    tu_assert_bits(max_qty(acc, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_SHORT, 0.0), 0.0); /* no short leg */
    /* a new short leg: 500 of IM held by the long, 0.02 N <= 1,500 in tier 1: N <= 75,000 */
    tu_assert_bits(max_qty(acc, bk.btcusdt, RISK_ORDER_SELL, RISK_SIDE_SHORT, 0.0), 1.5);
    risk_account_free(acc);
    risk_engine_free(bk.e);
}

/* An isolated account: the order's IM leaves the wallet, so IM(N) <= 1,000 USDT. Tier 0 (1 %)
 * holds N <= 50,000 (IM 500); in tier 1 (2 %) the IM would pass 1,000 from its first lot on: the
 * answer is the tier edge, 1.000 BTC (available 500), and 1.001 needs 1,001. At 20x user
 * leverage: N / 20 <= 1,000: 0.4 BTC. */
static void test_whatif_max_order_isolated(void **state)
{
    (void)state;
    book bk;
    book_init(&bk, 0);
    risk_account *acc = tu_account(bk.e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    tu_balance(acc, bk.usdt, 1000.0);
    tu_assert_bits(max_qty(acc, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0), 1.0);
    risk_order o = order_of(bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 1.0, 0.0);
    risk_account_summary s = whatif(acc, &o);
    tu_assert_near(s.available, 500.0, 1e-9);
    tu_assert_near(s.isolated_margin, 500.0, 1e-9);
    o.qty = 1.001;
    tu_assert_near(whatif(acc, &o).available, -1.0, 1e-9);
    tu_leverage(acc, bk.btcusdt, 20.0);
    tu_assert_bits(max_qty(acc, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0), 0.4);
    risk_account_free(acc);
    risk_engine_free(bk.e);
}

/* A buy far below the mark: each lot's gain (10 % of the mark) exceeds its IM in every tier
 * (at most 5 %), so no quantity makes available negative. */
static void test_whatif_max_order_unbounded(void **state)
{
    (void)state;
    book bk;
    book_init(&bk, 0);
    risk_account *acc = tu_account(bk.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, bk.usdt, 100.0);
    double q = max_qty(acc, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 45000.0);
    assert_true(isinf(q) && q > 0.0);
    /* 4 % below the mark (a gain of 2,000 a BTC): available = 100 + 2,000 q - IM rises through
     * tier 0 (IM 500 q) and tier 1 (1,000 q, up to 5 BTC), then falls in tier 2 (2,500 q), where
     * at 5.001 it is 100 - 500 x 5.001 < 0 already: the order ends at the tier edge, 5.000. */
    q = max_qty(acc, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 48000.0);
    assert_true(isfinite(q));
    risk_order o = order_of(bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, q, 48000.0);
    assert_true(whatif(acc, &o).available >= 0.0);
    o.qty = q + 0.001;
    assert_true(whatif(acc, &o).available < 0.0);
    tu_assert_bits(q, 5.0);
    risk_account_free(acc);
    risk_engine_free(bk.e);
}

/* Already short of IM: a reduction that restores available >= 0 is the answer; when none does,
 * the largest reduction that leaves it no lower. */
static void test_whatif_max_order_when_short_of_margin(void **state)
{
    (void)state;
    book bk;
    book_init(&bk, 0);
    risk_account *acc = tu_account(bk.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    /* long 2 BTC @ 50,000 (tier 1: IM 2,000) with 1,500 USDT: available -500; selling at the
     * mark: a 1 BTC long needs 500 (tier 0), so selling 1 restores it; a short of up to
     * 1,500 / 0.02 = 75,000 (1.5 BTC) fits after the close: 3.5 in all. */
    tu_balance(acc, bk.usdt, 1500.0);
    (void)tu_open_simple(acc, bk.btcusdt, 2.0, 50000.0);
    tu_assert_near(tu_eval(acc).available, -500.0, 1e-9);
    tu_assert_bits(max_qty(acc, bk.btcusdt, RISK_ORDER_SELL, RISK_SIDE_BOTH, 0.0), 3.5);
    tu_assert_bits(max_qty(acc, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0), 0.0);
    risk_account_free(acc);
    /* Bankrupt: long 1 BTC @ 60,000, mark 50,000, USDT 5,000: available -5,500 and the close
     * leaves -5,000. Selling at 49,000 loses 1,000 a BTC more than the mark but frees 1 % IM
     * (500 a BTC): every lot makes it worse: 0. At the mark it improves by the IM: the whole
     * position (1.000), not beyond (a short costs IM). */
    acc = tu_account(bk.e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, bk.usdt, 5000.0);
    (void)tu_open_simple(acc, bk.btcusdt, 1.0, 60000.0);
    tu_assert_near(tu_eval(acc).available, -5500.0, 1e-9);
    tu_assert_bits(max_qty(acc, bk.btcusdt, RISK_ORDER_SELL, RISK_SIDE_BOTH, 49000.0), 0.0);
    tu_assert_bits(max_qty(acc, bk.btcusdt, RISK_ORDER_SELL, RISK_SIDE_BOTH, 0.0), 1.0);
    risk_account_free(acc);
    risk_engine_free(bk.e);
}

/* An account wider than the max-order query's stack buffer (64 terms after the target): 70
 * cross positions on BTC perpetuals of their own (ids first .. first + 69, from
 * wide_instruments), longs and shorts of 0.01-0.70 BTC with entries around the mark. */
#define WIDE_POSITIONS 70

static uint32_t wide_instruments(book *bk)
{
    uint32_t first = RISK_ID_NONE;
    for (uint32_t k = 0; k < WIDE_POSITIONS; k++) {
        char sym[16];
        snprintf(sym, sizeof sym, "W%uUSDT", k);
        uint32_t id = tu_linear(bk->e, sym, bk->btc, bk->usdt, 1.0, 0.001, 0.1, 50000.0, btc_tiers, 3);
        if (k == 0)
            first = id;
        assert_int_equal(id, first + k);
    }
    return first;
}

static void build_wide(risk_account *acc, uint32_t usdt, uint32_t first)
{
    tu_balance(acc, usdt, 30000.0);
    for (int k = 0; k < WIDE_POSITIONS; k++)
        (void)tu_open_simple(acc, first + (uint32_t)k, (k % 2 ? -0.01 : 0.01) * (k + 1), 50000.0 + 10.0 * (k % 7 - 3));
}

/* g(q) >= T > g(q + 1 lot) by what-if, and the real fill of q on a twin gives what-if's available. */
static void check_max_order(book *bk, risk_account *acc, risk_account *twin, const risk_order *o, double lot)
{
    double q = max_qty(acc, o->instrument, o->side, o->leg, o->price);
    assert_true(isfinite(q) && q >= 0.0);
    double n = nearbyint(q / lot), got = avail_after(acc, o, q);
    tu_assert_bits(q, n * lot);
    assert_true(got >= 0.0);
    assert_true(avail_after(acc, o, (n + 1.0) * lot) < 0.0);
    if (n > 0.0) {
        risk_order x = *o;
        x.qty = q;
        tu_assert_status(real_fill(bk->e, twin, &x), RISK_OK);
        tu_assert_bits(tu_eval(twin).available, got);
    }
}

/* The query adds the account's terms in the evaluation's order around the target position, on
 * the stack or (70 positions) in a block: exact for the first, a middle and the last position,
 * buying and selling (through the close into a flip), and for a new instrument. */
static void test_whatif_max_order_wide_account(void **state)
{
    (void)state;
    book bk;
    book_init(&bk, 0);
    uint32_t first = wide_instruments(&bk);
    risk_account *acc = tu_account(bk.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    build_wide(acc, bk.usdt, first);
    assert_int_equal(risk_account_position_count(acc), WIDE_POSITIONS);
    uint32_t targets[] = {first, first + WIDE_POSITIONS / 2, first + WIDE_POSITIONS - 1, bk.btcusdt};
    uint64_t id = 2;
    for (size_t t = 0; t < sizeof targets / sizeof *targets; t++)
        for (uint32_t side = RISK_ORDER_BUY; side <= RISK_ORDER_SELL; side++)
            for (int at_mark = 0; at_mark < 2; at_mark++) {
                risk_account *twin = tu_account(bk.e, id++, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
                build_wide(twin, bk.usdt, first);
                risk_order o = order_of(targets[t], side, RISK_SIDE_BOTH, 0.001, at_mark ? 0.0 : 49950.0);
                check_max_order(&bk, acc, twin, &o, 0.001);
                risk_account_free(twin);
            }
    risk_account_free(acc);
    risk_engine_free(bk.e);
}

/* 10^9 lots held (10^6 contracts of lot 0.001, mark 1): the notional's slope from one lot is off
 * by hundreds of lots 10^10 lots away, where the tier caps are; the cuts come from the notional
 * itself. Tiers 0-2M at 100x (1 %), 2M-100M at 50x (2 %), above at 20x; at the mark available
 * = balance - IM(N). With 1,500,000.5, IM(N) = 2 % of N in the middle tier: N = 75,000,025
 * contracts, so a buy of 74,000,025 and (closing the long, then short) a sell of 76,000,025,
 * each to a lot. With 30,000 the first tier fits whole (IM 20,000 at its cap) and the next lot
 * does not (IM 40,000): a buy of exactly 1,000,000, the cap. */
static void test_whatif_max_order_far_tier_cut(void **state)
{
    (void)state;
    book bk;
    book_init(&bk, 0);
    const risk_margin_tier tiers[] = {{2e6, 0.005, 100.0, 0, 0}, {1e8, 0.01, 50.0, 0, 0}, {1e12, 0.025, 20.0, 0, 0}};
    uint32_t id = tu_linear(bk.e, "CHEAPUSDT", bk.eth, bk.usdt, 1.0, 0.001, 0.0001, 1.0, tiers, 3);
    risk_account *acc[3];
    for (uint64_t k = 0; k < 3; k++) { /* the account, and a twin for each real fill */
        acc[k] = tu_account(bk.e, k + 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(acc[k], bk.usdt, 1500000.5);
        (void)tu_open_simple(acc[k], id, 1e6, 1.0);
    }
    const double want[] = {74000025.0, 76000025.0};
    for (uint32_t side = RISK_ORDER_BUY; side <= RISK_ORDER_SELL; side++) {
        risk_order o = order_of(id, side, RISK_SIDE_BOTH, 0.001, 0.0);
        tu_assert_near(max_qty(acc[0], id, side, RISK_SIDE_BOTH, 0.0), want[side - RISK_ORDER_BUY], 0.0015);
        check_max_order(&bk, acc[0], acc[side], &o, 0.001);
    }
    for (int k = 0; k < 3; k++)
        risk_account_free(acc[k]);
    for (uint64_t k = 0; k < 2; k++) {
        acc[k] = tu_account(bk.e, k + 4, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(acc[k], bk.usdt, 30000.0);
        (void)tu_open_simple(acc[k], id, 1e6, 1.0);
    }
    risk_order o = order_of(id, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.001, 0.0);
    tu_assert_bits(max_qty(acc[0], id, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0), 1e6);
    check_max_order(&bk, acc[0], acc[1], &o, 0.001);
    risk_account_free(acc[0]);
    risk_account_free(acc[1]);
    risk_engine_free(bk.e);
}

/* ================================================================== resting orders */

/*
 * Drift D5 (research/defi-anchors.md 3.1; programs/drift/src/math/margin/tests.rs,
 * calculate_margin_requirement_and_total_collateral): "USDC 10,000 deposit + open bid 500 SOL"
 * at $100 with SOL's initial asset weight 0.8: MR $50,000.01, TC $50,000.00; and
 * usdc_deposit_and_5x_sol_ask: MR $60,000.01, TC $60,000.00. Spot orders are not ours: the
 * perp analogue is SOL-PERP at 5x (IM 20 % = 1 - 0.8 = 1.2 - 1), where a fill of the bid (or
 * the ask) leaves IM 500 x 100 x 20 % = 10,000 against collateral 10,000: available 0, which is
 * Drift's TC - MR (-0.01) without its $0.01 per open order.
 */
static void test_whatif_orders_drift_d5(void **state)
{
    (void)state;
    book bk;
    book_init(&bk, 0);
    uint32_t usdc = tu_asset(bk.e, "USDC", 1.0, 6);
    uint32_t sol = tu_asset(bk.e, "SOL", 100.0, 9);
    risk_margin_tier t = tu_tier(1e12, 0.1, 5.0);
    uint32_t perp = tu_linear(bk.e, "SOL-PERP", sol, usdc, 1.0, 0.001, 0.001, 100.0, &t, 1);
    risk_account *acc = tu_account(bk.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdc, 10000.0);
    for (uint32_t side = RISK_ORDER_BUY; side <= RISK_ORDER_SELL; side++) {
        risk_order o = order_of(perp, side, RISK_SIDE_BOTH, 500.0, 100.0);
        risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
        uint32_t fills = 9;
        tu_assert_status(risk_account_orders_summary(acc, &o, 1, &s, &fills), RISK_OK);
        assert_int_equal(fills, 1);
        tu_assert_near(s.initial_margin, 10000.0, 1e-9);
        tu_assert_near(s.collateral_init, 10000.0, 1e-9);
        tu_assert_near(s.available, 0.0, 1e-9);
        tu_assert_near(s.available - (50000.00 - 50000.01), 0.01, 1e-9); /* Drift's order charge */
        /* one lot more would not fit */
        tu_assert_bits(max_qty(acc, perp, side, RISK_SIDE_BOTH, 100.0), 500.0);
    }
    risk_account_free(acc);
    risk_engine_free(bk.e);
}

/* The worse side per instrument: with long 2 BTC, bids of 1 (to 3 long) against asks of 4 (to 2
 * short): the short is as large but sells at 49,000 lose; a bid on ETH and an ask on BTCUSD both
 * fill (each the only side of its instrument that costs anything); no orders: the account. */
static void test_whatif_orders_worse_side(void **state)
{
    (void)state;
    book bk;
    book_init(&bk, 0);
    risk_account *acc = tu_account(bk.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, bk.usdt, 50000.0);
    (void)tu_open_simple(acc, bk.btcusdt, 2.0, 50000.0);
    risk_order orders[] = {
        order_of(bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 1.0, 49900.0),
        order_of(bk.ethusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 3.0, 3000.0),
        order_of(bk.btcusdt, RISK_ORDER_SELL, RISK_SIDE_BOTH, 4.0, 49000.0),
        order_of(bk.btcusd, RISK_ORDER_SELL, RISK_SIDE_BOTH, 100.0, 50000.0),
    };
    risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
    uint32_t fills[4] = {9, 9, 9, 9};
    tu_assert_status(risk_account_orders_summary(acc, orders, 4, &s, fills), RISK_OK);
    /* each case alone: BTC bids -> long 3 (IM 3,000, +100 of PnL); BTC asks -> short 2 at 49,000
     * (realised -2,000, IM 2,000, PnL -2,000) */
    risk_account_summary bids = whatif(acc, &orders[0]);
    risk_account_summary asks = whatif(acc, &orders[2]);
    assert_true(asks.available < bids.available);
    assert_int_equal(fills[0], 0);
    assert_int_equal(fills[1], 1);
    assert_int_equal(fills[2], 1);
    assert_int_equal(fills[3], 1);
    /* the summary is the three fills together, as three real fills give it */
    risk_account *twin = tu_account(bk.e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(twin, bk.usdt, 50000.0);
    (void)tu_open_simple(twin, bk.btcusdt, 2.0, 50000.0);
    for (int k = 1; k < 4; k++)
        tu_assert_status(real_fill(bk.e, twin, &orders[k]), RISK_OK);
    risk_account_summary r = tu_eval(twin);
    assert_summary_identical(&s, &r);
    /* no orders: the account itself; NULL fills_out is fine */
    tu_assert_status(risk_account_orders_summary(acc, NULL, 0, &s, NULL), RISK_OK);
    r = tu_eval(acc);
    assert_summary_identical(&s, &r);
    risk_account_free(twin);
    risk_account_free(acc);
    risk_engine_free(bk.e);
}

/* ================================================================== out of memory */

typedef struct oom_fx {
    book bk;
    risk_account *acc;
    tu_account_snap snap;
    risk_account_summary out;
    double qty;
    uint32_t fills[2];
    uint32_t wide;   /* the wide account's first instrument (which == 3) */
    int which; /* 0 what-if, 1 max order, 2 resting orders, 3 max order on the wide account */
} oom_fx;

static oom_fx *oom_setup(tu_alloc *a, int which)
{
    oom_fx *f = test_malloc(sizeof *f);
    memset(f, 0, sizeof *f);
    f->which = which;
    book_build(&f->bk, a, 0);
    if (which == 3) {
        f->wide = wide_instruments(&f->bk);
        f->acc = tu_account(f->bk.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        build_wide(f->acc, f->bk.usdt, f->wide);
    } else {
        f->acc = tu_account(f->bk.e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_HEDGE);
        build_hedge(&f->bk, f->acc);
    }
    if (which == 3) /* (more positions than a snapshot holds: the summary stands for them) */
        f->snap.summary = tu_eval(f->acc);
    else
        tu_account_snap_take(f->acc, 3, 3, &f->snap);
    risk_account_summary init = RISK_ACCOUNT_SUMMARY_INIT;
    f->out = init;
    f->out.equity = -7.0; /* a marker that must survive a failure */
    f->qty = -7.0;
    f->fills[0] = f->fills[1] = 7;
    return f;
}

static void *oom_setup_whatif(tu_alloc *a)
{
    return oom_setup(a, 0);
}

static void *oom_setup_max(tu_alloc *a)
{
    return oom_setup(a, 1);
}

static void *oom_setup_orders(tu_alloc *a)
{
    return oom_setup(a, 2);
}

static void *oom_setup_max_wide(tu_alloc *a)
{
    return oom_setup(a, 3);
}

static int oom_op(void *p)
{
    oom_fx *f = p;
    risk_order o[2] = {order_of(f->bk.btcusdt, RISK_ORDER_SELL, RISK_SIDE_SHORT, 0.2, 50000.0),
                       order_of(f->bk.ethusdt, RISK_ORDER_BUY, RISK_SIDE_LONG, 2.0, 0.0)};
    if (f->which == 0)
        return risk_account_whatif(f->acc, &o[1], &f->out);
    if (f->which == 1)
        return risk_account_max_order_qty(f->acc, f->bk.btcusdt, RISK_ORDER_SELL, RISK_SIDE_SHORT, 0.0, &f->qty);
    if (f->which == 3)
        return risk_account_max_order_qty(f->acc, f->wide, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0, &f->qty);
    return risk_account_orders_summary(f->acc, o, 2, &f->out, f->fills);
}

static void oom_unchanged(oom_fx *f)
{
    if (f->which != 3) {
        tu_account_snap_check(f->acc, &f->snap);
        return;
    }
    risk_account_summary now = tu_eval(f->acc);
    assert_memory_equal(&now, &f->snap.summary, sizeof now);
    assert_int_equal(risk_account_position_count(f->acc), WIDE_POSITIONS);
}

static void oom_failed(void *p)
{
    oom_fx *f = p;
    tu_assert_bits(f->out.equity, -7.0);
    tu_assert_bits(f->qty, -7.0);
    assert_int_equal(f->fills[0], 7);
    oom_unchanged(f);
}

static void oom_ok(void *p)
{
    oom_fx *f = p;
    oom_unchanged(f);
    if (f->which == 1 || f->which == 3)
        assert_true(f->qty > 0.0);
    else
        assert_true(f->out.equity > 0.0);
}

static void oom_teardown(void *p)
{
    oom_fx *f = p;
    risk_account_free(f->acc);
    risk_engine_free(f->bk.e);
    test_free(f);
}

/* Every allocation refused in turn: RISK_ENOMEM and nothing changed. A max-order query on a
 * small account allocates nothing (its terms fit on the stack); on the wide one it allocates. */
static void test_whatif_out_of_memory_changes_nothing(void **state)
{
    (void)state;
    void *(*setups[])(tu_alloc *) = {oom_setup_whatif, oom_setup_max, oom_setup_orders, oom_setup_max_wide};
    for (int k = 0; k < 4; k++) {
        tu_oom_case c = {setups[k], oom_op, oom_failed, oom_ok, oom_teardown};
        unsigned failed = tu_oom_walk(&c);
        if (k == 1)
            assert_int_equal(failed, 0);
        else
            assert_true(failed >= 1);
    }
}

/* ================================================================== bad input */

static void test_whatif_rejects_bad_input(void **state)
{
    (void)state;
    book bk;
    book_init(&bk, 0);
    risk_account *one = tu_account(bk.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_account *hedge = tu_account(bk.e, 2, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    build_one_way(&bk, one);
    build_hedge(&bk, hedge);
    tu_account_snap s1, s2;
    tu_account_snap_take(one, 3, 3, &s1);
    tu_account_snap_take(hedge, 3, 3, &s2);
    risk_account_summary out = RISK_ACCOUNT_SUMMARY_INIT, marker;
    out.equity = -7.0;
    marker = out;
    double q = -7.0;
    uint32_t fills = 7;
    risk_order good = order_of(bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.1, 0.0);

    tu_assert_status(risk_account_whatif(NULL, &good, &out), RISK_ENULL);
    tu_assert_status(risk_account_whatif(one, NULL, &out), RISK_ENULL);
    tu_assert_errmsg(risk_account_errmsg(one));
    tu_assert_status(risk_account_whatif(one, &good, NULL), RISK_ENULL);
    tu_assert_status(risk_account_max_order_qty(NULL, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0, &q), RISK_ENULL);
    tu_assert_status(risk_account_max_order_qty(one, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0, NULL), RISK_ENULL);
    tu_assert_status(risk_account_orders_summary(NULL, &good, 1, &out, NULL), RISK_ENULL);
    tu_assert_status(risk_account_orders_summary(one, NULL, 1, &out, NULL), RISK_ENULL);
    tu_assert_status(risk_account_orders_summary(one, &good, 1, NULL, NULL), RISK_ENULL);

    risk_account_summary old = RISK_ACCOUNT_SUMMARY_INIT;
    old.version = 99;
    tu_assert_status(risk_account_whatif(one, &good, &old), RISK_EVERSION);
    tu_assert_status(risk_account_orders_summary(one, &good, 1, &old, NULL), RISK_EVERSION);

    const struct {
        risk_account *acc;
        risk_order o;
        int want;
    } bad[] = {
        {one, {99, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.1, 0.0}, RISK_EVERSION},
        {one, {RISK_ORDER_VERSION, 77, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.1, 0.0}, RISK_ENOTFOUND},
        {one, {RISK_ORDER_VERSION, bk.btcusdt, 0, RISK_SIDE_BOTH, 0.1, 0.0}, RISK_EINVAL},
        {one, {RISK_ORDER_VERSION, bk.btcusdt, 3, RISK_SIDE_BOTH, 0.1, 0.0}, RISK_EINVAL},
        {one, {RISK_ORDER_VERSION, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0, 0.0}, RISK_EINVAL},
        {one, {RISK_ORDER_VERSION, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, -0.1, 0.0}, RISK_EINVAL},
        {one, {RISK_ORDER_VERSION, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, NAN, 0.0}, RISK_EINVAL},
        {one, {RISK_ORDER_VERSION, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, INFINITY, 0.0}, RISK_EINVAL},
        {one, {RISK_ORDER_VERSION, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.1005, 0.0}, RISK_ELOT},
        {one, {RISK_ORDER_VERSION, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.1, 50000.05}, RISK_ETICK},
        {one, {RISK_ORDER_VERSION, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.1, -1.0}, RISK_EINVAL},
        {one, {RISK_ORDER_VERSION, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.1, NAN}, RISK_EINVAL},
        {one, {RISK_ORDER_VERSION, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.1, INFINITY}, RISK_EINVAL},
        {one, {RISK_ORDER_VERSION, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_LONG, 0.1, 0.0}, RISK_ESTATE},
        {hedge, {RISK_ORDER_VERSION, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.1, 0.0}, RISK_ESTATE},
        {hedge, {RISK_ORDER_VERSION, bk.btcusdt, RISK_ORDER_BUY, 7, 0.1, 0.0}, RISK_ESTATE},
        {hedge, {RISK_ORDER_VERSION, bk.btcusdt, RISK_ORDER_SELL, RISK_SIDE_LONG, 0.5, 0.0}, RISK_ESTATE},
        {hedge, {RISK_ORDER_VERSION, bk.ethusdt, RISK_ORDER_SELL, RISK_SIDE_LONG, 1.0, 0.0}, RISK_ESTATE},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        risk_account *acc = bad[k].acc;
        tu_assert_status(risk_account_whatif(acc, &bad[k].o, &out), bad[k].want);
        tu_assert_errmsg(risk_account_errmsg(acc));
        assert_memory_equal(&out, &marker, sizeof out);
        risk_order two[2] = {good, bad[k].o};
        if (acc == hedge)
            two[0].leg = RISK_SIDE_LONG;
        tu_assert_status(risk_account_orders_summary(acc, two, 2, &out, &fills), bad[k].want);
        assert_memory_equal(&out, &marker, sizeof out);
        assert_int_equal(fills, 7);
    }
    /* max order: bad side, leg, price */
    tu_assert_status(risk_account_max_order_qty(one, 77, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0, &q), RISK_ENOTFOUND);
    tu_assert_status(risk_account_max_order_qty(one, bk.btcusdt, 5, RISK_SIDE_BOTH, 0.0, &q), RISK_EINVAL);
    tu_assert_status(risk_account_max_order_qty(one, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_SHORT, 0.0, &q), RISK_ESTATE);
    tu_assert_status(risk_account_max_order_qty(hedge, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0, &q), RISK_ESTATE);
    tu_assert_status(risk_account_max_order_qty(one, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, -5.0, &q), RISK_EINVAL);
    tu_assert_status(risk_account_max_order_qty(one, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, NAN, &q), RISK_EINVAL);
    tu_assert_status(risk_account_max_order_qty(one, bk.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 50000.05, &q), RISK_ETICK);
    tu_assert_errmsg(risk_account_errmsg(one));
    tu_assert_bits(q, -7.0);
    /* a hedge leg's sells on a leg past zero, spread over two orders */
    risk_order two[2] = {order_of(bk.btcusdt, RISK_ORDER_SELL, RISK_SIDE_LONG, 0.3, 0.0),
                         order_of(bk.btcusdt, RISK_ORDER_SELL, RISK_SIDE_LONG, 0.2, 0.0)};
    tu_assert_status(risk_account_orders_summary(hedge, two, 2, &out, &fills), RISK_ESTATE);
    assert_memory_equal(&out, &marker, sizeof out);
    tu_account_snap_check(one, &s1);
    tu_account_snap_check(hedge, &s2);
    /* a success clears the message */
    tu_assert_status(risk_account_whatif(one, &good, &out), RISK_OK);
    assert_string_equal(risk_account_errmsg(one), "");
    risk_account_free(one);
    risk_account_free(hedge);
    risk_engine_free(bk.e);
}


/* Issue 9 defect 5: a what-if selling DBL_MAX gave HF NaN and state healthy. Order sizes are at
 * least one lot, and the position after the order at most 2^53 lots; prices are in the domain
 * and at least one tick. At the edge, every summary field is finite and the state is not
 * healthy when the account cannot carry the position. */
static void test_whatif_refuses_orders_outside_the_domain(void **state)
{
    (void)state;
    book b;
    book_init(&b, 0);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 10000.0);
    risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
    risk_order o = order_of(b.btcusdt, RISK_ORDER_SELL, RISK_SIDE_BOTH, DBL_MAX, 0.0);
    tu_assert_status(risk_account_whatif(acc, &o, &s), RISK_EINVAL);
    assert_non_null(strstr(risk_account_errmsg(acc), "2^53 lots"));
    o.qty = 1e-300;
    tu_assert_status(risk_account_whatif(acc, &o, &s), RISK_ELOT);
    o.qty = 0.001;
    o.price = 1e-300;
    tu_assert_status(risk_account_whatif(acc, &o, &s), RISK_EINVAL);
    o.price = 1e-11;
    tu_assert_status(risk_account_whatif(acc, &o, &s), RISK_ETICK);
    double q = 0;
    tu_assert_status(risk_account_max_order_qty(acc, b.btcusdt, RISK_ORDER_BUY, RISK_SIDE_BOTH, 1e300, &q),
                     RISK_EINVAL);
    /* the edge: 2^53 lots of 0.001 sold at the mark; one lot more is refused */
    o.price = 0.0;
    o.qty = 9007199254740.992;
    tu_assert_status(risk_account_whatif(acc, &o, &s), RISK_OK);
    const double f[] = {s.equity, s.collateral_value, s.unrealized_pnl, s.initial_margin, s.maintenance_margin,
                        s.available, s.collateral_init, s.collateral_maint, s.liabilities, s.isolated_margin};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        assert_true(isfinite(f[i]));
    assert_false(isnan(s.health_factor));
    assert_int_equal(s.state, RISK_STATE_LIQUIDATABLE);
    o.qty = 9007199254740.992 + 0.002;
    tu_assert_status(risk_account_whatif(acc, &o, &s), RISK_EINVAL);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whatif_one_way_matches_real_fill),
        cmocka_unit_test(test_whatif_hedge_matches_real_fill),
        cmocka_unit_test(test_whatif_isolated_tops_up_margin),
        cmocka_unit_test(test_whatif_random_books_match_real_fill),
        cmocka_unit_test(test_whatif_max_order_random_books),
        cmocka_unit_test(test_whatif_max_order_crosses_a_tier),
        cmocka_unit_test(test_whatif_max_order_isolated),
        cmocka_unit_test(test_whatif_max_order_unbounded),
        cmocka_unit_test(test_whatif_max_order_when_short_of_margin),
        cmocka_unit_test(test_whatif_max_order_wide_account),
        cmocka_unit_test(test_whatif_max_order_far_tier_cut),
        cmocka_unit_test(test_whatif_orders_drift_d5),
        cmocka_unit_test(test_whatif_orders_worse_side),
        cmocka_unit_test(test_whatif_out_of_memory_changes_nothing),
        cmocka_unit_test(test_whatif_rejects_bad_input),
        cmocka_unit_test(test_whatif_refuses_orders_outside_the_domain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
