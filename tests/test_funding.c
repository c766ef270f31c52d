/* SPDX-License-Identifier: Apache-2.0 */
/* Cumulative funding (Drift) and pending funding in evaluation: docs/rates.md 8.4. */
#include "test_util.h"

#include <math.h>
#include <string.h>

static double bal(const risk_basket *b, uint32_t asset)
{
    double x = 0.0;
    tu_assert_status(risk_basket_balance(b, asset, &x), RISK_OK);
    return x;
}

static double pending(const risk_account *a, uint32_t asset)
{
    double x = NAN;
    tu_assert_status(risk_account_funding_pending(a, asset, &x), RISK_OK);
    return x;
}

/* The engine most tests here start from: USDT (6 decimals) at 1, BTC (8) at 50,000, and
 * Binance's BTCUSDT perpetual at a mark of 50,000. */
static risk_engine *btcusdt_engine(tu_alloc *al, uint32_t *usdt, uint32_t *btc, uint32_t *perp)
{
    risk_engine *e = tu_engine(al, 0);
    *usdt = tu_asset(e, "USDT", 1.0, 6);
    *btc = tu_asset(e, "BTC", 50000.0, 8);
    *perp = tu_binance_btcusdt_perp(e, "BTCUSDT", *btc, *usdt, 50000.0);
    return e;
}

/* Funding postings stay in the amount domain (docs/errors.md section 4). A funding price outside
 * the price domain is refused by settlement and accrual. A settlement, an account's settlement of
 * pending funding or a fill (which settles its position's funding first) that would post a
 * balance or an isolated margin beyond 2^53 quanta (9,007,199,254.740992 USDT) is refused with
 * nothing changed; one that stays just inside is taken. By hand: 1,000 BTCUSDT at a funding price
 * of 1e8 pay (long) or receive (short) 1,000 x 1e8 x rate: 1e10 at 10 %, beyond the domain from
 * a balance or an isolated margin of 1e6; 9e9 at 9 %, leaving -8,999,000,000 in the long's
 * balance and 9,001,000,000 in the short's isolated margin. Before, a price of 1e300 settled
 * -1e296 into the balance (the CLI's `funding` printed it). */
static void test_funding_postings_stay_in_domain(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    uint32_t usdt, btc, perp;
    risk_engine *e = btcusdt_engine(&al, &usdt, &btc, &perp);
    risk_account *a = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, usdt, 1e6);
    risk_position *pa = tu_open_simple(a, perp, 1000.0, 50000.0);
    risk_account *b = tu_account(e, 2, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    risk_position *pb = tu_open(b, perp, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, -1000.0, 50000.0, 1e6);
    tu_engine_snap es;
    tu_engine_snap_take(e, &es);
    const double beyond = nextafter(RISK_PRICE_MAX, INFINITY);
    tu_assert_status(risk_engine_settle_funding(e, perp, 0.0001, 1e300, NULL), RISK_EINVAL);
    tu_assert_status(risk_engine_settle_funding(e, perp, 0.0001, beyond, NULL), RISK_EINVAL);
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.0001, 0.0001, 1e300, 1), RISK_EINVAL);
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.0001, 0.0001, beyond, 1), RISK_EINVAL);
    assert_non_null(strstr(risk_engine_errmsg(e), "funding price"));
    tu_assert_status(risk_engine_settle_funding(e, perp, 0.1, 1e8, NULL), RISK_EINVAL);
    assert_non_null(strstr(risk_engine_errmsg(e), "account 1: the settle balance after funding"));
    tu_assert_status(risk_engine_settle_funding(e, perp, -0.1, 1e8, NULL), RISK_EINVAL); /* the long receives */
    assert_non_null(strstr(risk_engine_errmsg(e), "account 1: the settle balance after funding"));
    tu_engine_snap_check(e, &es, 0); /* (the first failure allocates the message) */
    risk_account_free(a); /* alone, the short's isolated margin is what overflows */
    tu_engine_snap_take(e, &es);
    tu_assert_status(risk_engine_settle_funding(e, perp, 0.1, 1e8, NULL), RISK_EINVAL);
    assert_non_null(strstr(risk_engine_errmsg(e), "account 2: the BTCUSDT isolated margin after funding"));
    tu_engine_snap_check(e, &es, 0); /* (the first failure allocates the message) */
    a = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, usdt, 1e6);
    pa = tu_open_simple(a, perp, 1000.0, 50000.0);
    /* just inside: taken */
    risk_funding_result r = RISK_FUNDING_RESULT_INIT;
    tu_assert_status(risk_engine_settle_funding(e, perp, 0.09, 1e8, &r), RISK_OK);
    assert_int_equal(r.n_positions, 2);
    tu_assert_near(bal(risk_account_basket(a), usdt), -8999000000.0, 1e-6);
    tu_assert_near(risk_position_isolated_margin(pb), 9001000000.0, 1e-6);
    /* accrued beyond what the balance can take (1,000 x 1e8 x 10 % = 1e10 more): pending, finite in
     * every evaluation, never settled */
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.1, 0.1, 1e8, 1), RISK_OK);
    tu_assert_near(pending(a, usdt), -1e10, 1e-6);
    risk_account_summary s = tu_eval(a);
    assert_true(isfinite(s.equity) && s.equity < -1.8e10);
    assert_int_equal(s.state, RISK_STATE_BANKRUPT);
    tu_engine_snap_take(e, &es);
    double wallet = bal(risk_account_basket(a), usdt), margin = risk_position_isolated_margin(pb);
    tu_assert_status(risk_account_settle_funding(a, NULL), RISK_EINVAL);
    assert_non_null(strstr(risk_account_errmsg(a), "account 1: the settle balance after funding"));
    tu_assert_status(risk_position_adjust(pa, 0.001, 50000.0), RISK_EINVAL); /* a fill settles first */
    assert_non_null(strstr(risk_account_errmsg(a), "the settle balance after funding would be"));
    tu_assert_status(risk_position_close(pa, 50000.0), RISK_EINVAL);
    tu_assert_status(risk_account_settle_funding(b, NULL), RISK_EINVAL);
    assert_non_null(strstr(risk_account_errmsg(b), "account 2: the BTCUSDT isolated margin after funding"));
    tu_assert_status(risk_position_adjust(pb, -0.001, 50000.0), RISK_EINVAL);
    assert_non_null(strstr(risk_account_errmsg(b), "the isolated margin after funding would be"));
    tu_engine_snap_check(e, &es, 0); /* (the first failure allocates the message) */
    tu_assert_bits(bal(risk_account_basket(a), usdt), wallet);
    tu_assert_bits(risk_position_isolated_margin(pb), margin);
    tu_assert_near(pending(a, usdt), -1e10, 1e-6);
    risk_account_free(a);
    risk_account_free(b);
    risk_engine_free(e);
    assert_int_equal(al.live_blocks, 0);
}

/* An account holding only USDT (one of the basket's two inline balances used) whose positions
 * settle funding in two assets it holds none of: a USDC-settled perpetual and the inverse BTCUSD
 * (settled in BTC). Settling needs room for two new balances at once; reserving one at a time
 * found room for one twice and wrote the second past the inline arrays (the basket's engine
 * pointer overwritten: a crash on the next use). By hand: 0.01 % on BTCUSDC 1 x 50,000 is 5 USDC
 * owed by the long; on BTCUSD, -10 contracts x 100 / 50,000 x 0.0001 = 2e-6 BTC owed to the
 * short. */
static void test_funding_settles_into_two_new_balances(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e = tu_engine(&al, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), btc = tu_asset(e, "BTC", 50000.0, 8);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    risk_margin_tier t[1] = {tu_tier(1e9, 0.005, 100)};
    uint32_t perp = tu_linear(e, "BTCUSDC", btc, usdc, 1.0, 0.001, 0.1, 50000.0, t, 1);
    uint32_t inv = tu_inverse(e, "BTCUSD", btc, 100.0, 1.0, 0.5, 50000.0, t, 1);
    risk_account *a = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, usdt, 100000.0);
    tu_open_simple(a, perp, 1.0, 50000.0);
    tu_open_simple(a, inv, -10.0, 50000.0);
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.0001, 0.0001, 0.0, 1700000000), RISK_OK);
    tu_assert_status(risk_engine_accrue_funding(e, inv, 0.0001, 0.0001, 50000.0, 1700000000), RISK_OK);
    risk_account_summary before = tu_eval(a);
    risk_funding_result r = RISK_FUNDING_RESULT_INIT;
    tu_assert_status(risk_account_settle_funding(a, &r), RISK_OK);
    assert_int_equal(r.n_positions, 2);
    const risk_basket *b = risk_account_basket(a);
    tu_assert_bits(bal(b, usdt), 100000.0);
    tu_assert_near(bal(b, usdc), -5.0, 1e-12);
    tu_assert_near(bal(b, btc), 2e-6, 1e-18);
    risk_account_summary after = tu_eval(a);
    tu_assert_near(after.equity, before.equity, 1e-9);
    risk_account_free(a);
    risk_engine_free(e);
    assert_int_equal(al.live_blocks, 0);
}

/* By hand: BTCUSDT (cs 1) at a mark of 50,000, rate 0.01 %: the index moves by 0.0001 x 50,000 =
 * 5 USDT per contract; a long of 0.5 owes 2.5, a short of 0.5 is owed 2.5. Inverse BTCUSD (cs 100
 * USD), 10 contracts: 100 / 50,000 x 0.0001 = 2e-7 BTC per contract, 2e-6 BTC owed. Equity moves
 * by the pending amount at once; settling leaves equity where it is and moves the balance. */
static void test_funding_pinned_by_hand(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    uint32_t usdt, btc, perp;
    risk_engine *e = btcusdt_engine(&al, &usdt, &btc, &perp);
    risk_margin_tier t[1] = {tu_tier(1e9, 0.005, 100)};
    uint32_t inv = tu_inverse(e, "BTCUSD", btc, 100.0, 1.0, 0.5, 50000.0, t, 1);
    risk_account *a = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_account *b = tu_account(e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, usdt, 10000.0);
    tu_balance(a, btc, 1.0);
    tu_open_simple(a, perp, 0.5, 48000.0);
    tu_open_simple(a, inv, 10.0, 50000.0);
    tu_balance(b, usdt, 10000.0);
    tu_open_simple(b, perp, -0.5, 52000.0);
    risk_account_summary s0a = tu_eval(a), s0b = tu_eval(b);
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.0001, 0.0001, 0.0, 1700000000), RISK_OK);
    tu_assert_status(risk_engine_accrue_funding(e, inv, 0.0001, 0.0001, 50000.0, 1700000000), RISK_OK);
    double il = 0.0, is = 0.0;
    int64_t when = 0;
    tu_assert_status(risk_engine_funding_index(e, perp, &il, &is, &when), RISK_OK);
    tu_assert_bits(il, 5.0);
    tu_assert_bits(is, 5.0);
    assert_true(when == 1700000000);
    tu_assert_status(risk_engine_funding_index(e, inv, &il, &is, NULL), RISK_OK);
    tu_assert_rel(il, 2e-7, 1e-15);
    tu_assert_near(pending(a, usdt), -2.5, 1e-12);
    tu_assert_near(pending(b, usdt), 2.5, 1e-12);
    tu_assert_near(pending(a, btc), -2e-6, 1e-18);
    risk_account_summary s1a = tu_eval(a), s1b = tu_eval(b);
    /* -2.5 USDT and -2e-6 BTC x 50,000 = -0.1 */
    tu_assert_near(s1a.equity - s0a.equity, -2.6, 1e-9);
    tu_assert_near(s1b.equity - s0b.equity, 2.5, 1e-9);
    tu_assert_near(s1a.unrealized_pnl - s0a.unrealized_pnl, -2.6, 1e-9);
    tu_assert_near(s1a.collateral_init - s0a.collateral_init, -2.6, 1e-9);
    /* settled: balances move, equity stays */
    risk_funding_result r = RISK_FUNDING_RESULT_INIT;
    tu_assert_status(risk_account_settle_funding(a, &r), RISK_OK);
    assert_int_equal(r.n_positions, 2);
    tu_assert_near(r.paid, 2.5 + 2e-6, 1e-12);
    tu_assert_bits(r.received, 0.0);
    tu_assert_near(bal(risk_account_basket(a), usdt), 9997.5, 1e-9);
    tu_assert_near(bal(risk_account_basket(a), btc), 1.0 - 2e-6, 1e-15);
    tu_assert_bits(pending(a, usdt), 0.0);
    tu_assert_bits(pending(a, btc), 0.0);
    risk_account_summary s2a = tu_eval(a);
    tu_assert_near(s2a.equity, s1a.equity, 1e-9);
    tu_assert_near(s2a.available, s1a.available, 1e-9);
    /* a second settlement moves nothing */
    tu_assert_status(risk_account_settle_funding(a, &r), RISK_OK);
    assert_int_equal(r.n_positions, 0);
    risk_account_free(a);
    risk_account_free(b);
    risk_engine_free(e);
    assert_int_equal(al.live_blocks, 0);
}

/* Drift's formula (defi-anchors.md 2.1, D8): payment = -sign(base) x delta cumulative funding x
 * |base|, the cumulative rate in quote per base. D8's balanced funding rate, -2709458 at 1e9
 * precision (-0.002709458 USDC per base and period, oracle TWAP $49): a long of 2 base receives
 * 0.005418916, a short of 3 pays 0.008128374. Our index is that delta when the rate (a fraction
 * of the price) is -0.002709458 / 49 at price 49; received amounts are rounded down and paid ones
 * up to the quote's 6 decimals: 0.005418 and 0.008129. */
static void test_funding_drift_formula(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e = tu_engine(&al, 0);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6), sol = tu_asset(e, "SOL", 49.0, 9);
    risk_margin_tier t[1] = {tu_tier(1e12, 0.05, 10)};
    uint32_t perp = tu_linear(e, "SOL-PERP", sol, usdc, 1.0, 0.001, 0.001, 49.0, t, 1);
    risk_account *a = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_account *b = tu_account(e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, usdc, 100.0);
    tu_balance(b, usdc, 100.0);
    tu_open_simple(a, perp, 2.0, 49.0);
    tu_open_simple(b, perp, -3.0, 49.0);
    double rate = -0.002709458 / 49.0;
    tu_assert_status(risk_engine_accrue_funding(e, perp, rate, rate, 49.0, 1), RISK_OK);
    double il = 0.0, is = 0.0;
    tu_assert_status(risk_engine_funding_index(e, perp, &il, &is, NULL), RISK_OK);
    tu_assert_rel(il, -0.002709458, 1e-15);
    tu_assert_near(pending(a, usdc), 0.005418, 1e-12);
    tu_assert_near(pending(b, usdc), -0.008129, 1e-12);
    /* unquantized: Drift's exact products */
    risk_engine *u = tu_engine(&al, RISK_ENGINE_NO_QUANTIZE);
    uint32_t usdc2 = tu_asset(u, "USDC", 1.0, 6), sol2 = tu_asset(u, "SOL", 49.0, 9);
    uint32_t perp2 = tu_linear(u, "SOL-PERP", sol2, usdc2, 1.0, 0.001, 0.001, 49.0, t, 1);
    risk_account *c = tu_account(u, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_open_simple(c, perp2, 2.0, 49.0);
    tu_assert_status(risk_engine_accrue_funding(u, perp2, rate, rate, 49.0, 1), RISK_OK);
    tu_assert_rel(pending(c, usdc2), 0.005418916, 1e-14);
    risk_account_free(a);
    risk_account_free(b);
    risk_account_free(c);
    risk_engine_free(e);
    risk_engine_free(u);
    assert_int_equal(al.live_blocks, 0);
}

/* A book of random positions (fixed seed) on a linear and an inverse perpetual, cross and isolated,
 * one-way and hedge, built the same way on any engine. */
typedef struct book {
    risk_engine *e;
    risk_account *acc[24];
    uint32_t usdt, btc, perp, inv;
} book;

static void book_build(book *k, tu_alloc *al)
{
    k->e = tu_engine(al, 0);
    k->usdt = tu_asset(k->e, "USDT", 1.0, 6);
    k->btc = tu_asset(k->e, "BTC", 50000.0, 8);
    k->perp = tu_binance_btcusdt_perp(k->e, "BTCUSDT", k->btc, k->usdt, 50000.0);
    risk_margin_tier t[1] = {tu_tier(1e9, 0.005, 100)};
    k->inv = tu_inverse(k->e, "BTCUSD", k->btc, 100.0, 1.0, 0.5, 50000.0, t, 1);
    tu_rng r;
    tu_rng_seed(&r, 11);
    for (int i = 0; i < 24; i++) {
        int hedge = i % 6 == 5, iso = i % 4 == 3;
        risk_account *a = tu_account(k->e, (uint64_t)i + 1, iso ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS,
                                     hedge ? RISK_POSITION_HEDGE : RISK_POSITION_ONE_WAY);
        tu_balance(a, k->usdt, tu_rng_range(&r, 1000.0, 50000.0));
        tu_balance(a, k->btc, 0.5);
        double q = tu_rng_int(&r, 1, 2000) * 0.001, entry = tu_rng_int(&r, 400000, 600000) * 0.1;
        double c = (double)tu_rng_int(&r, 1, 500);
        if (hedge) {
            tu_open(a, k->perp, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, q, entry, 0.0);
            tu_open(a, k->perp, RISK_SIDE_SHORT, RISK_MARGIN_DEFAULT, q * 2.0, entry, 0.0);
        } else {
            tu_open(a, k->perp, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, i % 2 ? -q : q, entry,
                    iso ? tu_rng_range(&r, 1.0, 30.0) : 0.0);
        }
        if (hedge)
            tu_open(a, k->inv, i % 3 ? RISK_SIDE_LONG : RISK_SIDE_SHORT, RISK_MARGIN_DEFAULT, c, 50000.0, 0.0);
        else
            tu_open(a, k->inv, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, i % 3 ? c : -c, 50000.0, iso ? 0.01 : 0.0);
        k->acc[i] = a;
    }
}

static void book_free(book *k)
{
    for (int i = 0; i < 24; i++)
        risk_account_free(k->acc[i]);
    risk_engine_free(k->e);
}

static double iso_of(risk_account *a, uint32_t inst, uint32_t side)
{
    risk_position *p = NULL;
    tu_assert_status(risk_account_find_position(a, inst, side, &p), RISK_OK);
    return risk_position_isolated_margin(p);
}

/* risk_engine_settle_funding against accrue + settle, period by period: the same balances and
 * margins within one quantum of the settle asset. Not bit for bit: settle_funding computes a
 * payment as rate x (q x cs x P), the index route as q x (rate x cs x P), and the two products
 * may round to neighbouring doubles, which the rounding to the quantum (up for a payment, down
 * for a receipt) can put one quantum apart when the exact value sits on a quantum. Counted: most
 * are equal bit for bit. */
static void test_funding_accrue_settle_matches_settle_funding(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    book x, y;
    book_build(&x, &al);
    book_build(&y, &al);
    double rates[5] = {0.0001, -0.00037, 0.0003, 0.000125, -0.0000731};
    double prices[5] = {0.0, 51234.5, 49876.1, 0.0, 50500.0};
    int exact = 0, total = 0;
    for (int p = 0; p < 5; p++) {
        tu_assert_status(risk_engine_settle_funding(x.e, x.perp, rates[p], prices[p], NULL), RISK_OK);
        tu_assert_status(risk_engine_settle_funding(x.e, x.inv, rates[p], prices[p], NULL), RISK_OK);
        tu_assert_status(risk_engine_accrue_funding(y.e, y.perp, rates[p], rates[p], prices[p], 3600 * p), RISK_OK);
        tu_assert_status(risk_engine_accrue_funding(y.e, y.inv, rates[p], rates[p], prices[p], 3600 * p), RISK_OK);
        for (int i = 0; i < 24; i++)
            tu_assert_status(risk_account_settle_funding(y.acc[i], NULL), RISK_OK);
        for (int i = 0; i < 24; i++) {
            double xu = bal(risk_account_basket(x.acc[i]), x.usdt), yu = bal(risk_account_basket(y.acc[i]), y.usdt);
            double xb = bal(risk_account_basket(x.acc[i]), x.btc), yb = bal(risk_account_basket(y.acc[i]), y.btc);
            tu_assert_near(yu, xu, 1.0000001e-6);
            tu_assert_near(yb, xb, 1.0000001e-8);
            exact += (xu == yu) + (xb == yb);
            total += 2;
            if (i % 4 == 3 && i % 6 != 5) {
                tu_assert_near(iso_of(y.acc[i], y.perp, RISK_SIDE_BOTH), iso_of(x.acc[i], x.perp, RISK_SIDE_BOTH),
                               1.0000001e-6);
                tu_assert_near(iso_of(y.acc[i], y.inv, RISK_SIDE_BOTH), iso_of(x.acc[i], x.inv, RISK_SIDE_BOTH),
                               1.0000001e-8);
            }
        }
    }
    assert_true(exact * 10 >= total * 9);
    book_free(&x);
    book_free(&y);
    assert_int_equal(al.live_blocks, 0);
}

/* Conservation: longs and shorts of equal size; whatever the accruals, the pending amounts of all
 * positions sum to 0 within one quantum per position, never in the accounts' favour. */
static void test_funding_conserved(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    uint32_t usdt, btc, perp;
    risk_engine *e = btcusdt_engine(&al, &usdt, &btc, &perp);
    risk_account *acc[40];
    tu_rng r;
    tu_rng_seed(&r, 7);
    for (int i = 0; i < 40; i += 2) {
        double q = tu_rng_int(&r, 1, 5000) * 0.001;
        acc[i] = tu_account(e, (uint64_t)i + 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        acc[i + 1] = tu_account(e, (uint64_t)i + 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(acc[i], usdt, 1e6);
        tu_balance(acc[i + 1], usdt, 1e6);
        tu_open_simple(acc[i], perp, q, 50000.0);
        tu_open_simple(acc[i + 1], perp, -q, 50000.0);
    }
    for (int p = 0; p < 50; p++) {
        double rate = tu_rng_range(&r, -0.003, 0.003);
        tu_assert_status(risk_engine_accrue_funding(e, perp, rate, rate, tu_rng_range(&r, 30000.0, 70000.0), p),
                         RISK_OK);
        if (p % 7 == 3) /* some settle on the way */
            for (int i = 0; i < 40; i += 3)
                tu_assert_status(risk_account_settle_funding(acc[i], NULL), RISK_OK);
    }
    double sum = 0.0;
    for (int i = 0; i < 40; i++) {
        sum += pending(acc[i], usdt);
        sum += bal(risk_account_basket(acc[i]), usdt) - 1e6;
    }
    /* each settlement and each pending amount loses at most one quantum to the venue */
    assert_true(sum <= 1e-9);
    assert_true(sum >= -(40.0 + 40.0 * 8.0) * 1e-6);
    for (int i = 0; i < 40; i++)
        risk_account_free(acc[i]);
    risk_engine_free(e);
    assert_int_equal(al.live_blocks, 0);
}

/* An account whose positions' indices never moved evaluates bit for bit as before, even when
 * another instrument's funding is active; so does one settled to the index. */
static void test_funding_untouched_accounts_bit_identical(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e = tu_engine(&al, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), btc = tu_asset(e, "BTC", 50000.0, 8), eth = tu_asset(e, "ETH", 3000.0, 8);
    uint32_t perp = tu_binance_btcusdt_perp(e, "BTCUSDT", btc, usdt, 50000.0);
    uint32_t eperp = tu_binance_btcusdt_perp(e, "ETHUSDT", eth, usdt, 3000.0);
    risk_account *a = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, usdt, 1234.567891);
    tu_open_simple(a, eperp, 1.234, 2987.3);
    risk_account *b = tu_account(e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(b, usdt, 10000.0);
    tu_open_simple(b, perp, 0.013, 48765.4);
    risk_account_summary s0 = tu_eval(a);
    risk_position_result r0 = tu_result_of(a, eperp, RISK_SIDE_LONG);
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.00013, 0.00013, 0.0, 10), RISK_OK);
    risk_account_summary s1 = tu_eval(a);
    risk_position_result r1 = tu_result_of(a, eperp, RISK_SIDE_LONG);
    assert_memory_equal(&s0, &s1, sizeof s0);
    tu_assert_bits(r1.liquidation_price_raw, r0.liquidation_price_raw);
    /* b: settled, then like an engine without funding */
    tu_assert_status(risk_account_settle_funding(b, NULL), RISK_OK);
    risk_account_summary sb = tu_eval(b);
    risk_engine *f = tu_engine(&al, 0);
    uint32_t usdt2 = tu_asset(f, "USDT", 1.0, 6), btc2 = tu_asset(f, "BTC", 50000.0, 8);
    uint32_t perp2 = tu_binance_btcusdt_perp(f, "BTCUSDT", btc2, usdt2, 50000.0);
    risk_account *c = tu_account(f, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(c, usdt2, bal(risk_account_basket(b), usdt));
    tu_open_simple(c, perp2, 0.013, 48765.4);
    risk_account_summary sc = tu_eval(c);
    assert_memory_equal(&sb, &sc, sizeof sb);
    risk_account_free(a);
    risk_account_free(b);
    risk_account_free(c);
    risk_engine_free(e);
    risk_engine_free(f);
    assert_int_equal(al.live_blocks, 0);
}

/* What-if with funding pending equals the fill (which settles the funding first, as Drift does);
 * max order's answer is feasible and one lot more is not; liquidation prices and scenario P&L
 * are those of the account with the funding settled. */
static void test_funding_pending_in_every_evaluation(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    uint32_t usdt, btc, perp;
    risk_engine *e = btcusdt_engine(&al, &usdt, &btc, &perp);
    risk_account *a = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, usdt, 3000.0);
    risk_position *p = tu_open_simple(a, perp, 1.0, 50000.0);
    risk_account *b = tu_account(e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY); /* settled twin */
    tu_balance(b, usdt, 3000.0);
    tu_open_simple(b, perp, 1.0, 50000.0);
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.003, 0.003, 0.0, 1), RISK_OK); /* 150 owed */
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.002, 0.002, 0.0, 2), RISK_OK); /* 100 more */
    tu_assert_near(pending(a, usdt), -250.0, 1e-9);
    tu_assert_status(risk_account_settle_funding(b, NULL), RISK_OK);
    tu_assert_near(bal(risk_account_basket(b), usdt), 2750.0, 1e-9);
    risk_account_summary sa = tu_eval(a), sb = tu_eval(b);
    tu_assert_bits(sa.equity, sb.equity);
    tu_assert_bits(sa.available, sb.available);
    tu_assert_bits(sa.health_factor, sb.health_factor);
    /* liquidation prices: as the settled twin's */
    risk_position_result ra = tu_result_of(a, perp, RISK_SIDE_LONG), rb = tu_result_of(b, perp, RISK_SIDE_LONG);
    tu_assert_rel(ra.liquidation_price_raw, rb.liquidation_price_raw, 1e-12);
    tu_assert_bits(ra.liquidation_price, rb.liquidation_price);
    tu_assert_bits(ra.bankruptcy_price, rb.bankruptcy_price);
    /* scenario P&L: as the settled twin's */
    double moves[3] = {-0.1, 0.0, 0.05};
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = 3;
    sc.n_assets = 2;
    double m2[6] = {0.0, moves[0], 0.0, moves[1], 0.0, moves[2]};
    sc.price_moves = m2;
    double pa[3], pb[3];
    tu_assert_status(risk_account_scenario_pnl(a, &sc, pa, NULL), RISK_OK);
    tu_assert_status(risk_account_scenario_pnl(b, &sc, pb, NULL), RISK_OK);
    for (int s = 0; s < 3; s++)
        tu_assert_near(pa[s], pb[s], 1e-6);
    tu_assert_near(pa[0], -5000.0, 1e-6);
    /* what-if equals the fill */
    risk_order o = RISK_ORDER_INIT;
    o.instrument = perp;
    o.side = RISK_ORDER_BUY;
    o.qty = 0.02;
    o.price = 50000.0;
    risk_account_summary w = RISK_ACCOUNT_SUMMARY_INIT;
    tu_assert_status(risk_account_whatif(a, &o, &w), RISK_OK);
    double qmax = 0.0;
    tu_assert_status(risk_account_max_order_qty(a, perp, RISK_ORDER_BUY, RISK_SIDE_BOTH, 50000.0, &qmax), RISK_OK);
    double qmax_b = 0.0;
    tu_assert_status(risk_account_max_order_qty(b, perp, RISK_ORDER_BUY, RISK_SIDE_BOTH, 50000.0, &qmax_b), RISK_OK);
    tu_assert_bits(qmax, qmax_b);
    assert_true(qmax > 0.0);
    risk_account_summary wmax = RISK_ACCOUNT_SUMMARY_INIT;
    o.qty = qmax;
    tu_assert_status(risk_account_whatif(a, &o, &wmax), RISK_OK);
    assert_true(wmax.available >= 0.0);
    o.qty = qmax + 0.001;
    tu_assert_status(risk_account_whatif(a, &o, &wmax), RISK_OK);
    assert_true(wmax.available < 0.0);
    tu_assert_status(risk_position_adjust(p, 0.02, 50000.0), RISK_OK);
    tu_assert_bits(pending(a, usdt), 0.0); /* the fill settled it */
    tu_assert_near(bal(risk_account_basket(a), usdt), 2750.0, 1e-9);
    risk_account_summary f = tu_eval(a);
    assert_memory_equal(&w, &f, sizeof w);
    risk_account_free(a);
    risk_account_free(b);
    risk_engine_free(e);
    assert_int_equal(al.live_blocks, 0);
}

/* A flip takes the other side's index: a long that becomes a short pays the long index up to the
 * fill and the short index from it. */
static void test_funding_sides_and_flip(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    uint32_t usdt, btc, perp;
    risk_engine *e = btcusdt_engine(&al, &usdt, &btc, &perp);
    risk_account *a = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, usdt, 10000.0);
    risk_position *p = tu_open_simple(a, perp, 1.0, 50000.0);
    /* Drift's capped receiving side: longs pay 0.001, shorts receive 0.0006 */
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.001, 0.0006, 0.0, 1), RISK_OK);
    tu_assert_near(pending(a, usdt), -50.0, 1e-9);
    tu_assert_status(risk_position_adjust(p, -3.0, 50000.0), RISK_OK); /* now short 2 */
    tu_assert_near(bal(risk_account_basket(a), usdt), 9950.0, 1e-9);
    tu_assert_bits(pending(a, usdt), 0.0);
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.001, 0.0006, 0.0, 2), RISK_OK);
    tu_assert_near(pending(a, usdt), 2.0 * 30.0, 1e-9);
    risk_account_free(a);
    risk_engine_free(e);
    assert_int_equal(al.live_blocks, 0);
}

/* A liquidation plan with funding pending is the settled twin's, and applying it leaves the
 * health it announced. */
static void test_funding_liquidation_plan(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    uint32_t usdt, btc, perp;
    risk_engine *e = btcusdt_engine(&al, &usdt, &btc, &perp);
    risk_account *a = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_account *b = tu_account(e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, usdt, 3000.0);
    tu_balance(b, usdt, 3000.0);
    tu_open_simple(a, perp, 1.0, 50000.0);
    tu_open_simple(b, perp, 1.0, 50000.0);
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.005, 0.005, 0.0, 1), RISK_OK); /* 250 owed */
    tu_assert_status(risk_account_settle_funding(b, NULL), RISK_OK);
    tu_mark(e, perp, 47300.0);
    risk_account_summary sa = tu_eval(a);
    assert_int_equal(sa.state, RISK_STATE_LIQUIDATABLE);
    risk_liquidation_plan pa = RISK_LIQUIDATION_PLAN_INIT, pb = RISK_LIQUIDATION_PLAN_INIT;
    risk_liquidation_action xa[8], xb[8];
    size_t na = 0, nb = 0;
    tu_assert_status(risk_account_liquidation_plan(a, &pa, xa, 8, &na), RISK_OK);
    tu_assert_status(risk_account_liquidation_plan(b, &pb, xb, 8, &nb), RISK_OK);
    assert_int_equal(na, nb);
    assert_true(na > 0);
    tu_assert_bits(xa[0].qty, xb[0].qty);
    tu_assert_near(pa.health_after, pb.health_after, 1e-9);
    tu_assert_status(risk_account_apply_plan(a, &pa, xa, na), RISK_OK);
    risk_account_summary after = tu_eval(a);
    tu_assert_near(after.health_factor, pa.health_after, 1e-9);
    tu_assert_bits(pending(a, usdt), 0.0);
    risk_account_free(a);
    risk_account_free(b);
    risk_engine_free(e);
    assert_int_equal(al.live_blocks, 0);
}

/* An isolated position's pending funding is counted in its margin and its liquidatable test, in
 * the summary and in scenario revaluation: 0.2 BTCUSDT at 50,000 with 1,000 of margin; 0.05 owes
 * 500 (margin 500 left); 0.05 more owes the rest: margin 0 against an MM of 40, liquidatable. */
static void test_funding_isolated(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    uint32_t usdt, btc, perp;
    risk_engine *e = btcusdt_engine(&al, &usdt, &btc, &perp);
    risk_account *a = tu_account(e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    tu_balance(a, usdt, 100.0);
    tu_open(a, perp, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 0.2, 50000.0, 1000.0);
    risk_account_summary s0 = tu_eval(a);
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.05, 0.05, 0.0, 1), RISK_OK);
    risk_account_summary s1 = tu_eval(a);
    tu_assert_near(s1.isolated_margin, 500.0, 1e-9);
    tu_assert_near(s1.equity - s0.equity, -500.0, 1e-9);
    assert_int_equal(s1.n_isolated_liquidatable, 0);
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.05, 0.05, 0.0, 2), RISK_OK);
    risk_account_summary s2 = tu_eval(a);
    assert_int_equal(s2.n_isolated_liquidatable, 1);
    assert_int_equal(s2.state, RISK_STATE_LIQUIDATABLE);
    double mv[2] = {0.0, 0.0};
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = 1;
    sc.n_assets = 2;
    sc.price_moves = mv;
    double pnl;
    risk_account_summary ss = RISK_ACCOUNT_SUMMARY_INIT;
    tu_assert_status(risk_account_scenario_pnl(a, &sc, &pnl, &ss), RISK_OK);
    assert_int_equal(ss.n_isolated_liquidatable, 1);
    tu_assert_bits(ss.isolated_margin, s2.isolated_margin);
    tu_assert_near(pnl, 0.0, 1e-9);
    /* settled: the margin pays it all */
    tu_assert_status(risk_account_settle_funding(a, NULL), RISK_OK);
    risk_position *p = NULL;
    tu_assert_status(risk_account_find_position(a, perp, RISK_SIDE_BOTH, &p), RISK_OK);
    tu_assert_near(risk_position_isolated_margin(p), 0.0, 1e-9);
    tu_assert_near(bal(risk_account_basket(a), usdt), 100.0, 1e-9);
    risk_account_free(a);
    risk_engine_free(e);
    assert_int_equal(al.live_blocks, 0);
}

static void test_funding_bad_input_and_snapshot(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    uint32_t usdt, btc, perp;
    risk_engine *e = btcusdt_engine(&al, &usdt, &btc, &perp);
    risk_account *a = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_open_simple(a, perp, 1.0, 50000.0);
    size_t size = 0;
    tu_assert_status(risk_engine_snapshot_write(e, NULL, 0, &size), RISK_EBUFFER); /* no funding: writable */
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.0, 0.0, 0.0, 5), RISK_OK); /* a zero rate moves nothing */
    tu_assert_status(risk_engine_snapshot_write(e, NULL, 0, &size), RISK_EBUFFER);
    tu_engine_snap es;
    tu_engine_snap_take(e, &es);
    tu_assert_status(risk_engine_accrue_funding(NULL, perp, 0.0, 0.0, 0.0, 5), RISK_ENULL);
    tu_assert_status(risk_engine_accrue_funding(e, 99, 0.0, 0.0, 0.0, 5), RISK_ENOTFOUND);
    tu_assert_status(risk_engine_accrue_funding(e, perp, NAN, 0.0, 0.0, 5), RISK_EINVAL);
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.0, 1.5, 0.0, 5), RISK_EINVAL);
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.001, 0.001, -1.0, 5), RISK_EINVAL);
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.001, 0.001, INFINITY, 5), RISK_EINVAL);
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.001, 0.001, 0.0, 4), RISK_EINVAL); /* before 5 */
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_engine_snap_check(e, &es, 1);
    double x = 0.0;
    tu_assert_status(risk_account_funding_pending(a, 7, &x), RISK_ENOTFOUND);
    tu_assert_status(risk_account_funding_pending(a, usdt, NULL), RISK_ENULL);
    tu_assert_status(risk_account_funding_pending(NULL, usdt, &x), RISK_ENULL);
    tu_assert_status(risk_account_settle_funding(NULL, NULL), RISK_ENULL);
    risk_funding_result r = RISK_FUNDING_RESULT_INIT;
    r.version = 9;
    tu_assert_status(risk_account_settle_funding(a, &r), RISK_EVERSION);
    double il, is;
    tu_assert_status(risk_engine_funding_index(e, perp, NULL, &is, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_funding_index(e, 99, &il, &is, NULL), RISK_ENOTFOUND);
    /* funding state: snapshots carry it (format 3; tests/test_snapshot.c) */
    tu_assert_status(risk_engine_accrue_funding(e, perp, 0.001, 0.001, 0.0, 6), RISK_OK);
    tu_assert_status(risk_engine_snapshot_write(e, NULL, 0, &size), RISK_EBUFFER);
    tu_assert_status(risk_engine_snapshot_write_file(e, "/nonexistent/x.snap"), RISK_EIO);
    risk_account_free(a);
    risk_engine_free(e);
    assert_int_equal(al.live_blocks, 0);
}

/* ------------------------------------------------------------ Drift's unrealised-PnL weight (D3) */

/* defi-anchors.md D3 (`calculate_user_equity_value_tests`): initial uPnL weight 1.0, upnl imf
 * 0.001; Drift's integer weights (1e-4, truncated) are floor(1e4 w) of the real formula. */
static void test_upnl_weight_d3(void **state)
{
    (void)state;
    const double pnl[7] = {22699.05, 24282.79, 242827.9, 2428279.0, 24282790.0, 242827900.0, 24282.79 * 800000.0};
    const double want[7] = {9559, 9516, 7368, 4299, 1855, 663, 78};
    for (int i = 0; i < 7; i++) {
        double wi = 0.0, wm = 0.0;
        tu_assert_status(risk_upnl_weight(&wi, &wm, pnl[i], 1.0, 1.0, 0.001), RISK_OK);
        tu_assert_bits(floor(wi * 1e4), want[i]);
        tu_assert_bits(wm, 1.0);
    }
    double wi = 0.0, wm = 0.0;
    tu_assert_status(risk_upnl_weight(&wi, &wm, -5.0, 0.5, 0.8, 0.001), RISK_OK); /* a loss counts in full */
    tu_assert_bits(wi, 1.0);
    tu_assert_bits(wm, 1.0);
    tu_assert_status(risk_upnl_weight(&wi, &wm, 100.0, 0.5, 0.8, 0.0), RISK_OK);
    tu_assert_bits(wi, 0.5);
    tu_assert_bits(wm, 0.8);
    tu_assert_status(risk_upnl_weight(NULL, &wm, 1.0, 1.0, 1.0, 0.0), RISK_ENULL);
    tu_assert_status(risk_upnl_weight(&wi, &wm, NAN, 1.0, 1.0, 0.0), RISK_EINVAL);
    tu_assert_status(risk_upnl_weight(&wi, &wm, 1.0, 0.9, 0.8, 0.0), RISK_EINVAL);
    tu_assert_status(risk_upnl_weight(&wi, &wm, 1.0, 1.0, 1.0, 2.0), RISK_EINVAL);
}

/* By hand: long 1 BTC-PERP from 40,000 at a mark of 50,000 (PnL 10,000), short 10 ETH-PERP from
 * 3,000 at 3,400 (PnL -4,000), MMR 1 %, no balances. Weights (0.4, 0.5, 0): C_init = 0.4 x 10,000
 * - 4,000 = 0, C_maint = 5,000 - 4,000 = 1,000; equity 6,000 unchanged. The BTC liquidation price
 * solves 0.5 (M - 40,000) - 4,000 - 0.01 M - 340 = 0: M = 24,340 / 0.49 = 49,673.47 (unweighted
 * it would be 44,787.88). */
static void test_upnl_weight_evaluation(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e = tu_engine(&al, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), btc = tu_asset(e, "BTC", 50000.0, 8), eth = tu_asset(e, "ETH", 3400.0, 8);
    risk_margin_tier t[1] = {tu_tier(1e12, 0.01, 50)};
    uint32_t bp = tu_linear(e, "BTC-PERP", btc, usdt, 1.0, 0.001, 0.01, 50000.0, t, 1);
    uint32_t ep = tu_linear(e, "ETH-PERP", eth, usdt, 1.0, 0.001, 0.01, 3400.0, t, 1);
    risk_account *a = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, usdt, 0.0);
    risk_position *pb = tu_open_simple(a, bp, 1.0, 40000.0);
    tu_open_simple(a, ep, -10.0, 3000.0);
    risk_account_summary s0 = tu_eval(a);
    risk_position_result r0 = tu_result_of(a, bp, RISK_SIDE_LONG);
    tu_assert_near(r0.liquidation_price_raw, 44340.0 / 0.99, 1e-6);
    tu_assert_status(risk_engine_set_instrument_upnl_weight(e, bp, 0.4, 0.5, 0.0), RISK_OK);
    tu_assert_status(risk_engine_set_instrument_upnl_weight(e, ep, 0.4, 0.5, 0.0), RISK_OK);
    risk_account_summary s1 = tu_eval(a);
    tu_assert_bits(s1.equity, s0.equity);
    tu_assert_near(s1.collateral_init, 0.0, 1e-9);
    tu_assert_near(s1.collateral_maint, 1000.0, 1e-9);
    risk_position_result r1 = tu_result_of(a, bp, RISK_SIDE_LONG);
    tu_assert_near(r1.liquidation_price_raw, 24340.0 / 0.49, 1e-6);
    /* at the liquidation price, C_maint = R_maint */
    tu_mark(e, bp, 49673.47);
    tu_price(e, btc, 49673.47);
    risk_account_summary s2 = tu_eval(a);
    tu_assert_near(s2.collateral_maint - s2.maintenance_margin, 0.0, 0.01);
    tu_mark(e, bp, 50000.0);
    tu_price(e, btc, 50000.0);
    /* scenario P&L's summaries are the evaluation at the moved prices */
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    double mv[2 * 3] = {0.0, -0.05, 0.0, 0.0, 0.0, 0.1};
    sc.n_scenarios = 2;
    sc.n_assets = 3;
    sc.price_moves = mv;
    double pnl[2];
    risk_account_summary ss[2] = {RISK_ACCOUNT_SUMMARY_INIT, RISK_ACCOUNT_SUMMARY_INIT};
    tu_assert_status(risk_account_scenario_pnl(a, &sc, pnl, ss), RISK_OK);
    tu_mark(e, bp, 47500.0);
    tu_price(e, btc, 47500.0);
    risk_account_summary m0 = tu_eval(a);
    tu_assert_near(ss[0].collateral_init, m0.collateral_init, 1e-6);
    tu_assert_near(ss[0].collateral_maint, m0.collateral_maint, 1e-6);
    tu_mark(e, bp, 50000.0);
    tu_price(e, btc, 50000.0);
    tu_mark(e, ep, 3740.0);
    tu_price(e, eth, 3740.0);
    risk_account_summary m1 = tu_eval(a);
    tu_assert_near(ss[1].collateral_init, m1.collateral_init, 1e-6);
    tu_assert_near(ss[1].health_factor, m1.health_factor, 1e-8); /* 3,400 x 1.1 is 3,740.0000000000005 */
    tu_mark(e, ep, 3400.0);
    tu_price(e, eth, 3400.0);
    /* what-if equals the fill; max order's answer is feasible and one lot more is not */
    tu_balance(a, usdt, 20000.0);
    risk_order o = RISK_ORDER_INIT;
    o.instrument = bp;
    o.side = RISK_ORDER_BUY;
    o.qty = 0.5;
    risk_account_summary w = RISK_ACCOUNT_SUMMARY_INIT;
    tu_assert_status(risk_account_whatif(a, &o, &w), RISK_OK);
    double qmax = 0.0;
    tu_assert_status(risk_account_max_order_qty(a, bp, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0.0, &qmax), RISK_OK);
    assert_true(qmax > 0.0);
    risk_account_summary wm = RISK_ACCOUNT_SUMMARY_INIT;
    o.qty = qmax;
    tu_assert_status(risk_account_whatif(a, &o, &wm), RISK_OK);
    assert_true(wm.available >= 0.0);
    o.qty = qmax + 0.001;
    tu_assert_status(risk_account_whatif(a, &o, &wm), RISK_OK);
    assert_true(wm.available < 0.0);
    tu_assert_status(risk_position_adjust(pb, 0.5, 50000.0), RISK_OK);
    risk_account_summary f = tu_eval(a);
    assert_memory_equal(&w, &f, sizeof w);
    /* off again: bit for bit as never set */
    tu_assert_status(risk_engine_set_instrument_upnl_weight(e, bp, 1.0, 1.0, 0.0), RISK_OK);
    tu_assert_status(risk_engine_set_instrument_upnl_weight(e, ep, 1.0, 1.0, 0.0), RISK_OK);
    risk_account_summary off = tu_eval(a);
    risk_engine *g = tu_engine(&al, 0);
    uint32_t usdt2 = tu_asset(g, "USDT", 1.0, 6), btc2 = tu_asset(g, "BTC", 50000.0, 8), eth2 = tu_asset(g, "ETH", 3400.0, 8);
    uint32_t bp2 = tu_linear(g, "BTC-PERP", btc2, usdt2, 1.0, 0.001, 0.01, 50000.0, t, 1);
    uint32_t ep2 = tu_linear(g, "ETH-PERP", eth2, usdt2, 1.0, 0.001, 0.01, 3400.0, t, 1);
    risk_account *c = tu_account(g, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(c, usdt2, bal(risk_account_basket(a), usdt));
    risk_position *pc = NULL;
    tu_assert_status(risk_account_find_position(a, bp, RISK_SIDE_BOTH, &pc), RISK_OK);
    tu_open_simple(c, bp2, risk_position_qty(pc), risk_position_entry(pc));
    tu_open_simple(c, ep2, -10.0, 3000.0);
    risk_account_summary ref = tu_eval(c);
    assert_memory_equal(&off, &ref, sizeof off);
    double wi, wmx, imf;
    tu_assert_status(risk_engine_instrument_upnl_weight(e, bp, &wi, &wmx, &imf), RISK_OK);
    tu_assert_bits(wi, 1.0);
    tu_assert_bits(imf, 0.0);
    /* bad input changes nothing */
    tu_assert_status(risk_engine_set_instrument_upnl_weight(e, bp, 0.9, 0.8, 0.0), RISK_EINVAL);
    tu_assert_status(risk_engine_set_instrument_upnl_weight(e, bp, 0.5, 1.5, 0.0), RISK_EINVAL);
    tu_assert_status(risk_engine_set_instrument_upnl_weight(e, bp, 0.5, 0.5, NAN), RISK_EINVAL);
    tu_assert_status(risk_engine_set_instrument_upnl_weight(e, 77, 0.5, 0.5, 0.0), RISK_ENOTFOUND);
    tu_assert_status(risk_engine_set_instrument_upnl_weight(NULL, bp, 0.5, 0.5, 0.0), RISK_ENULL);
    tu_assert_status(risk_engine_instrument_upnl_weight(e, bp, NULL, &wmx, &imf), RISK_ENULL);
    tu_assert_status(risk_engine_instrument_upnl_weight(e, bp, &wi, &wmx, &imf), RISK_OK);
    tu_assert_bits(wi, 1.0);
    size_t size = 0;
    tu_assert_status(risk_engine_snapshot_write(e, NULL, 0, &size), RISK_EBUFFER);
    tu_assert_status(risk_engine_set_instrument_upnl_weight(e, bp, 0.5, 1.0, 0.001), RISK_OK);
    tu_assert_status(risk_engine_snapshot_write(e, NULL, 0, &size), RISK_EBUFFER); /* format 3 carries them */
    risk_account_free(a);
    risk_account_free(c);
    risk_engine_free(e);
    risk_engine_free(g);
    assert_int_equal(al.live_blocks, 0);
}

/* Out of memory: settling needs the settle balance's entry (a heap block past the basket's first
 * balances); nothing is settled when it cannot have it. */
typedef struct oom_fx {
    risk_engine *e;
    risk_account *a;
    uint32_t usdt;
} oom_fx;

static void *oom_setup(tu_alloc *al)
{
    oom_fx *f = test_malloc(sizeof *f);
    f->e = tu_engine(al, 0);
    f->usdt = tu_asset(f->e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(f->e, "BTC", 50000.0, 8), eth = tu_asset(f->e, "ETH", 3000.0, 8);
    uint32_t perp = tu_binance_btcusdt_perp(f->e, "BTCUSDT", btc, f->usdt, 50000.0);
    f->a = tu_account(f->e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(f->a, btc, 1.0);
    tu_balance(f->a, eth, 1.0);
    tu_open_simple(f->a, perp, -0.5, 50000.0);
    tu_assert_status(risk_engine_accrue_funding(f->e, perp, 0.0001, 0.0001, 0.0, 1), RISK_OK);
    return f;
}

static int oom_op(void *p)
{
    oom_fx *f = p;
    return risk_account_settle_funding(f->a, NULL);
}

static void oom_failed(void *p)
{
    oom_fx *f = p;
    tu_assert_bits(bal(risk_account_basket(f->a), f->usdt), 0.0);
    tu_assert_near(pending(f->a, f->usdt), 2.5, 1e-12);
}

static void oom_ok(void *p)
{
    oom_fx *f = p;
    tu_assert_near(bal(risk_account_basket(f->a), f->usdt), 2.5, 1e-9);
    tu_assert_bits(pending(f->a, f->usdt), 0.0);
}

static void oom_teardown(void *p)
{
    oom_fx *f = p;
    risk_account_free(f->a);
    risk_engine_free(f->e);
    test_free(f);
}

static void test_funding_out_of_memory(void **state)
{
    (void)state;
    tu_oom_case c = {oom_setup, oom_op, oom_failed, oom_ok, oom_teardown};
    assert_true(tu_oom_walk(&c) >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_funding_pinned_by_hand),
        cmocka_unit_test(test_funding_drift_formula),
        cmocka_unit_test(test_funding_accrue_settle_matches_settle_funding),
        cmocka_unit_test(test_funding_conserved),
        cmocka_unit_test(test_funding_untouched_accounts_bit_identical),
        cmocka_unit_test(test_funding_pending_in_every_evaluation),
        cmocka_unit_test(test_funding_sides_and_flip),
        cmocka_unit_test(test_funding_liquidation_plan),
        cmocka_unit_test(test_funding_isolated),
        cmocka_unit_test(test_funding_bad_input_and_snapshot),
        cmocka_unit_test(test_funding_out_of_memory),
        cmocka_unit_test(test_funding_settles_into_two_new_balances),
        cmocka_unit_test(test_funding_postings_stay_in_domain),
        cmocka_unit_test(test_upnl_weight_d3),
        cmocka_unit_test(test_upnl_weight_evaluation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
