/* SPDX-License-Identifier: Apache-2.0 */
/* test_account.c: accounts and positions: lifecycle, leverage, opening, fills, closing,
 * isolated margin, evaluation against the definitions, states, quantization, bad input and
 * out-of-memory paths. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A standard book: USDT (V, 6 decimals), BTC, ETH; BTCUSDT linear (2 tiers), BTCUSD inverse
 * (contract 100 USD), ETHUSDT linear with MM at the entry. */
typedef struct {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdt, btc, eth;
    uint32_t btcusdt, btcusd, ethusdt;
} book;

#define N_ASSETS 3
#define N_INSTR 3

static const risk_margin_tier btc_tiers[] = {{1000000.0, 0.005, 100.0, 0, 0}, {5000000.0, 0.01, 50.0, 0, 0},
                                             {1e12, 0.02, 20.0, 0, 0}};
static const risk_margin_tier inv_tiers[] = {{100.0, 0.005, 100.0, 0, 0}, {1000.0, 0.01, 50.0, 0, 0}};
static const risk_margin_tier eth_tiers[] = {{1e9, 0.01, 50.0, 0, 0}};

static void book_init(book *b, uint32_t flags)
{
    tu_alloc_init(&b->a);
    b->e = tu_engine(&b->a, flags);
    b->usdt = tu_asset(b->e, "USDT", 1.0, 6);
    b->btc = tu_asset_w(b->e, "BTC", 50000.0, 8, 0.9, 0.95, 1.0, 1.0);
    b->eth = tu_asset_w(b->e, "ETH", 3000.0, 8, 0.8, 0.9, 1.2, 1.1);
    b->btcusdt = tu_linear(b->e, "BTCUSDT", b->btc, b->usdt, 1.0, 0.001, 0.1, 50000.0, btc_tiers, 3);
    b->btcusd = tu_inverse(b->e, "BTCUSD", b->btc, 100.0, 1.0, 0.5, 50000.0, inv_tiers, 2);
    risk_instrument_spec s = tu_linear_spec("ETHUSDT", b->eth, b->usdt, 1.0, 0.01, 0.01, 3000.0, eth_tiers, 1);
    s.mm_price = RISK_MM_PRICE_ENTRY;
    b->ethusdt = tu_instrument(b->e, &s);
}

static double basket_bal(risk_account *acc, uint32_t asset)
{
    double x = -1;
    tu_assert_status(risk_basket_balance(risk_account_basket(acc), asset, &x), RISK_OK);
    return x;
}

/* ================================================================== lifecycle */

static void test_account_new_and_getters(void **state)
{
    (void)state;
    book b;
    book_init(&b, 0);
    risk_account *acc = tu_account(b.e, 0xFFFFFFFFFFFFFFFFull, RISK_MARGIN_ISOLATED, RISK_POSITION_HEDGE);
    assert_int_equal(risk_account_id(acc), 0xFFFFFFFFFFFFFFFFull);
    assert_int_equal(risk_account_margin_mode(acc), RISK_MARGIN_ISOLATED);
    assert_int_equal(risk_account_position_mode(acc), RISK_POSITION_HEDGE);
    assert_int_equal(risk_account_position_count(acc), 0);
    assert_non_null(risk_account_basket(acc));
    assert_string_equal(risk_account_errmsg(acc), "");
    risk_account *f = NULL;
    tu_assert_status(risk_engine_find_account(b.e, 0xFFFFFFFFFFFFFFFFull, &f), RISK_OK);
    assert_ptr_equal(f, acc);
    risk_account *acc0 = tu_account(b.e, 0, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    assert_int_equal(risk_account_id(acc0), 0);
    risk_account_summary s = tu_eval(acc0);
    assert_int_equal(s.state, RISK_STATE_HEALTHY);
    assert_int_equal(s.n_positions, 0);
    tu_assert_bits(s.equity, 0.0);
    assert_true(isinf(s.health_factor) && s.health_factor > 0);
    tu_assert_bits(s.margin_ratio, 0.0);
    tu_assert_bits(s.leverage, 0.0);
    tu_assert_bits(s.ltv, 0.0);
    risk_account_free(acc);
    risk_account_free(acc0);
    risk_account_free(NULL);
    risk_engine_free(b.e);
    assert_int_equal(b.a.live_blocks, 0);
}

static void test_account_new_rejects_bad_input(void **state)
{
    (void)state;
    book b;
    book_init(&b, 0);
    risk_account *acc = tu_account(b.e, 5, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_engine_snap snap;
    tu_engine_snap_take(b.e, &snap);
    risk_account *out = (risk_account *)&b;
    tu_assert_status(risk_account_new(NULL, b.e, 6, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY), RISK_ENULL);
    tu_assert_status(risk_account_new(&out, NULL, 6, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY), RISK_ENULL);
    assert_null(out);
    struct {
        uint64_t id;
        uint32_t mm, pm;
        int want;
    } cases[] = {
        {6, RISK_MARGIN_DEFAULT, RISK_POSITION_ONE_WAY, RISK_EINVAL}, /* DEFAULT is for positions */
        {6, 4u, RISK_POSITION_ONE_WAY, RISK_EINVAL}, /* 3 is RISK_MARGIN_PORTFOLIO */
        {6, RISK_MARGIN_CROSS, 2u, RISK_EINVAL},
        {6, RISK_MARGIN_CROSS, 0xFFFFFFFFu, RISK_EINVAL},
        {5, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY, RISK_EDUPLICATE},
        {5, RISK_MARGIN_ISOLATED, RISK_POSITION_HEDGE, RISK_EDUPLICATE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        out = (risk_account *)&b;
        tu_assert_status(risk_account_new(&out, b.e, cases[i].id, cases[i].mm, cases[i].pm), cases[i].want);
        assert_null(out);
        tu_assert_errmsg(risk_engine_errmsg(b.e));
        tu_engine_snap_check(b.e, &snap, 0);
    }
    risk_account *f = NULL;
    tu_assert_status(risk_engine_find_account(b.e, 6, &f), RISK_ENOTFOUND);
    tu_assert_status(risk_engine_find_account(b.e, 5, &f), RISK_OK);
    assert_ptr_equal(f, acc);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

typedef struct {
    tu_alloc *a;
    risk_engine *e;
    risk_account *acc;
    risk_position *pos;
    tu_engine_snap esnap;
    tu_account_snap asnap;
    double before;
    uint32_t usdt, btc, inst, inv;
} afx;

static void *oom_new_setup(tu_alloc *a)
{
    afx *f = test_calloc(1, sizeof *f);
    f->a = a;
    f->e = tu_engine(a, 0);
    (void)tu_asset(f->e, "USDT", 1.0, 6);
    /* Enough accounts that the registry has grown once already. */
    for (uint64_t i = 0; i < 9; i++) {
        risk_account *x = tu_account(f->e, 100 + i, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        (void)x; /* found again in teardown */
    }
    tu_engine_snap_take(f->e, &f->esnap);
    return f;
}

static int oom_new_op(void *p)
{
    afx *f = p;
    f->acc = (risk_account *)f;
    return risk_account_new(&f->acc, f->e, 7, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
}

static void oom_new_failed(void *p)
{
    afx *f = p;
    assert_null(f->acc);
    tu_engine_snap_check(f->e, &f->esnap, 0);
    risk_account *x = NULL;
    tu_assert_status(risk_engine_find_account(f->e, 7, &x), RISK_ENOTFOUND);
}

static void oom_new_ok(void *p)
{
    afx *f = p;
    risk_account *x = NULL;
    tu_assert_status(risk_engine_find_account(f->e, 7, &x), RISK_OK);
    assert_ptr_equal(x, f->acc);
    tu_balance(f->acc, 0, 10.0);
}

static void oom_new_teardown(void *p)
{
    afx *f = p;
    if (f->acc != (risk_account *)f)
        risk_account_free(f->acc);
    for (uint64_t i = 0; i < 9; i++) {
        risk_account *x = NULL;
        tu_assert_status(risk_engine_find_account(f->e, 100 + i, &x), RISK_OK);
        risk_account_free(x);
    }
    risk_engine_free(f->e);
    test_free(f);
}

static void test_account_new_out_of_memory(void **state)
{
    (void)state;
    tu_oom_case c = {oom_new_setup, oom_new_op, oom_new_failed, oom_new_ok, oom_new_teardown};
    assert_true(tu_oom_walk(&c) >= 1);
}

/* Freeing an account with positions and balances frees everything. */
static void test_account_free_with_positions(void **state)
{
    (void)state;
    book b;
    book_init(&b, 0);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    tu_balance(acc, b.usdt, 1000.0);
    tu_balance(acc, b.eth, -0.1);
    tu_leverage(acc, b.btcusdt, 10.0);
    (void)tu_open(acc, b.btcusdt, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 0.1, 50000.0, 0.0);
    (void)tu_open(acc, b.btcusdt, RISK_SIDE_SHORT, RISK_MARGIN_ISOLATED, 0.2, 50000.0, 300.0);
    (void)tu_open(acc, b.btcusd, RISK_SIDE_SHORT, RISK_MARGIN_DEFAULT, 10.0, 50000.0, 0.0);
    risk_account_free(acc);
    risk_engine_free(b.e);
    assert_int_equal(b.a.live_blocks, 0);
}

/* ================================================================== leverage */

static void test_account_set_leverage(void **state)
{
    (void)state;
    book b;
    book_init(&b, 0);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    double lev = -1;
    tu_assert_status(risk_account_leverage(acc, b.btcusdt, &lev), RISK_OK);
    tu_assert_bits(lev, 0.0);
    tu_leverage(acc, b.btcusdt, 20.0);
    tu_leverage(acc, b.btcusd, 100.0); /* the schedule's maximum is allowed */
    tu_leverage(acc, b.ethusdt, 1.0);
    tu_assert_status(risk_account_leverage(acc, b.btcusdt, &lev), RISK_OK);
    tu_assert_bits(lev, 20.0);
    tu_assert_status(risk_account_leverage(acc, b.btcusd, &lev), RISK_OK);
    tu_assert_bits(lev, 100.0);
    tu_leverage(acc, b.btcusdt, 25.0); /* replace */
    tu_assert_status(risk_account_leverage(acc, b.btcusdt, &lev), RISK_OK);
    tu_assert_bits(lev, 25.0);

    tu_account_snap snap;
    tu_account_snap_take(acc, N_ASSETS, N_INSTR, &snap);
    struct {
        uint32_t inst;
        double lev;
        int want;
    } cases[] = {
        {0, 100.0001, RISK_ELEVERAGE}, {0, 125.0, RISK_ELEVERAGE}, {2, 51.0, RISK_ELEVERAGE},
        {0, 0.99, RISK_EINVAL},        {0, 0.0, RISK_EINVAL},      {0, -5.0, RISK_EINVAL},
        {0, NAN, RISK_EINVAL},         {0, INFINITY, RISK_EINVAL}, {3, 10.0, RISK_ENOTFOUND},
        {RISK_ID_NONE, 10.0, RISK_ENOTFOUND},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_assert_status(risk_account_set_leverage(acc, cases[i].inst, cases[i].lev), cases[i].want);
        tu_assert_errmsg(risk_account_errmsg(acc));
        tu_account_snap_check(acc, &snap);
    }
    tu_assert_status(risk_account_set_leverage(NULL, 0, 10.0), RISK_ENULL);
    tu_assert_status(risk_account_leverage(NULL, 0, &lev), RISK_ENULL);
    tu_assert_status(risk_account_leverage(acc, 0, NULL), RISK_ENULL);
    tu_assert_status(risk_account_leverage(acc, 9, &lev), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_account_errmsg(acc));
    tu_account_snap_check(acc, &snap);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

/* The out-of-memory fixtures' engine: USDT, BTC and 12 linear BTC perpetuals P0..P11, with
 * one account in the given position mode. */
static afx *afx_twelve_instruments(tu_alloc *a, uint32_t position_mode)
{
    afx *f = test_calloc(1, sizeof *f);
    f->a = a;
    f->e = tu_engine(a, 0);
    f->usdt = tu_asset(f->e, "USDT", 1.0, 6);
    f->btc = tu_asset(f->e, "BTC", 50000.0, 8);
    char sym[16];
    for (int i = 0; i < 12; i++) {
        snprintf(sym, sizeof sym, "P%d", i);
        (void)tu_linear(f->e, sym, f->btc, f->usdt, 1.0, 0.001, 0.1, 50000.0, btc_tiers, 3);
    }
    f->acc = tu_account(f->e, 1, RISK_MARGIN_CROSS, position_mode);
    return f;
}

static void *oom_lev_setup(tu_alloc *a)
{
    afx *f = afx_twelve_instruments(a, RISK_POSITION_ONE_WAY);
    for (uint32_t i = 0; i < 9; i++)
        tu_leverage(f->acc, i, 10.0 + i);
    tu_account_snap_take(f->acc, 2, 12, &f->asnap);
    return f;
}

static int oom_lev_op(void *p)
{
    afx *f = p;
    return risk_account_set_leverage(f->acc, 11, 33.0);
}

static void oom_acc_failed(void *p)
{
    afx *f = p;
    tu_assert_errmsg(risk_account_errmsg(f->acc));
    tu_account_snap_check(f->acc, &f->asnap);
}

static void oom_lev_ok(void *p)
{
    afx *f = p;
    double lev = 0;
    tu_assert_status(risk_account_leverage(f->acc, 11, &lev), RISK_OK);
    tu_assert_bits(lev, 33.0);
}

static void afx_teardown(void *p)
{
    afx *f = p;
    risk_account_free(f->acc);
    risk_engine_free(f->e);
    test_free(f);
}

static void test_account_set_leverage_out_of_memory(void **state)
{
    (void)state;
    tu_oom_case c = {oom_lev_setup, oom_lev_op, oom_acc_failed, oom_lev_ok, afx_teardown};
    (void)tu_oom_walk(&c);
}

/* IM = notional / min(user leverage, tier max); without a user leverage, the tier's max. */
static void test_account_leverage_applies_to_initial_margin(void **state)
{
    (void)state;
    book b;
    book_init(&b, RISK_ENGINE_NO_QUANTIZE);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 1e7);
    (void)tu_open_simple(acc, b.btcusdt, 10.0, 50000.0); /* 500,000: tier 0, max 100 */
    risk_position_result r = tu_result_of(acc, b.btcusdt, RISK_SIDE_LONG);
    tu_assert_rel(r.initial_margin, 500000.0 / 100.0, 1e-14);
    assert_int_equal(r.tier, 0);
    tu_leverage(acc, b.btcusdt, 20.0);
    r = tu_result_of(acc, b.btcusdt, RISK_SIDE_LONG);
    tu_assert_rel(r.initial_margin, 500000.0 / 20.0, 1e-14);
    /* At 2,000,000 notional (tier 1, max 50) a user leverage of 80 is capped at 50. */
    tu_leverage(acc, b.btcusdt, 80.0);
    tu_mark(b.e, b.btcusdt, 200000.0);
    r = tu_result_of(acc, b.btcusdt, RISK_SIDE_LONG);
    assert_int_equal(r.tier, 1);
    tu_assert_rel(r.notional, 2000000.0, 1e-14);
    tu_assert_rel(r.initial_margin, 2000000.0 / 50.0, 1e-14);
    /* MM = N x 1% - cum, cum = 1,000,000 x (1% - 0.5%) = 5,000. */
    tu_assert_rel(r.maintenance_margin, 20000.0 - 5000.0, 1e-14);
    risk_account_summary s = tu_eval(acc);
    tu_assert_rel(s.initial_margin, 40000.0, 1e-14);
    tu_assert_rel(s.maintenance_margin, 15000.0, 1e-14);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

/* ================================================================== opening positions */

static void test_account_open_one_way_positions(void **state)
{
    (void)state;
    book b;
    book_init(&b, 0);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_position *p1 = tu_open_simple(acc, b.btcusdt, 0.5, 50000.0);
    risk_position *p2 = tu_open_simple(acc, b.btcusd, -100.0, 50123.37); /* entry need not be on the tick */
    risk_position *p3 = tu_open(acc, b.ethusdt, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 2.0, 3000.0, 150.0);
    assert_int_equal(risk_account_position_count(acc), 3);
    assert_int_equal(risk_position_instrument(p1), b.btcusdt);
    assert_int_equal(risk_position_side(p1), RISK_SIDE_LONG);
    assert_int_equal(risk_position_leg(p1), RISK_SIDE_BOTH);
    assert_int_equal(risk_position_margin_mode(p1), RISK_MARGIN_CROSS);
    tu_assert_bits(risk_position_qty(p1), 0.5);
    tu_assert_bits(risk_position_entry(p1), 50000.0);
    tu_assert_bits(risk_position_isolated_margin(p1), 0.0);
    assert_ptr_equal(risk_position_account(p1), acc);
    assert_int_equal(risk_position_side(p2), RISK_SIDE_SHORT);
    assert_int_equal(risk_position_leg(p2), RISK_SIDE_BOTH);
    tu_assert_bits(risk_position_qty(p2), -100.0);
    tu_assert_bits(risk_position_entry(p2), 50123.37);
    assert_int_equal(risk_position_margin_mode(p3), RISK_MARGIN_ISOLATED);
    tu_assert_bits(risk_position_isolated_margin(p3), 150.0);

    risk_position *q = NULL;
    tu_assert_status(risk_account_position_at(acc, 1, &q), RISK_OK);
    assert_ptr_equal(q, p2);
    tu_assert_status(risk_account_find_position(acc, b.ethusdt, RISK_SIDE_BOTH, &q), RISK_OK);
    assert_ptr_equal(q, p3);
    /* pos_out may be NULL. */
    risk_position_spec s = RISK_POSITION_SPEC_INIT;
    risk_account *acc2 = tu_account(b.e, 2, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    s.instrument = b.btcusdt;
    s.qty = -0.001;
    s.entry = 50000.0;
    s.isolated_margin = 0.0; /* isolated with zero margin is allowed */
    tu_assert_status(risk_account_open_position(acc2, &s, NULL), RISK_OK);
    tu_assert_status(risk_account_find_position(acc2, b.btcusdt, RISK_SIDE_BOTH, &q), RISK_OK);
    assert_int_equal(risk_position_margin_mode(q), RISK_MARGIN_ISOLATED); /* the account's default */
    tu_assert_bits(risk_position_qty(q), -0.001);
    risk_account_free(acc2);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

static void test_account_open_hedge_legs(void **state)
{
    (void)state;
    book b;
    book_init(&b, 0);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    risk_position *l = tu_open(acc, b.btcusdt, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 0.0);
    risk_position *s = tu_open(acc, b.btcusdt, RISK_SIDE_SHORT, RISK_MARGIN_DEFAULT, 2.0, 51000.0, 0.0);
    assert_int_equal(risk_position_leg(l), RISK_SIDE_LONG);
    assert_int_equal(risk_position_side(l), RISK_SIDE_LONG);
    assert_int_equal(risk_position_leg(s), RISK_SIDE_SHORT);
    assert_int_equal(risk_position_side(s), RISK_SIDE_SHORT);
    tu_assert_bits(risk_position_qty(l), 1.0);
    tu_assert_bits(risk_position_qty(s), -2.0);
    risk_position *q = NULL;
    tu_assert_status(risk_account_find_position(acc, b.btcusdt, RISK_SIDE_SHORT, &q), RISK_OK);
    assert_ptr_equal(q, s);
    tu_assert_status(risk_account_find_position(acc, b.btcusdt, RISK_SIDE_LONG, &q), RISK_OK);
    assert_ptr_equal(q, l);
    tu_assert_status(risk_account_find_position(acc, b.btcusdt, RISK_SIDE_BOTH, &q), RISK_ESTATE);
    tu_assert_errmsg(risk_account_errmsg(acc));
    tu_assert_status(risk_account_find_position(acc, b.btcusd, RISK_SIDE_LONG, &q), RISK_ENOTFOUND);
    risk_account_summary sum = tu_eval(acc);
    assert_int_equal(sum.n_positions, 2);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

typedef struct {
    const char *what;
    int hedge; /* on the hedge account */
    uint32_t instrument, side, mode;
    double qty, entry, margin;
    uint32_t version;
    int want, alt;
} open_case;

static void test_account_open_position_rejects_bad_input(void **state)
{
    (void)state;
    book b;
    book_init(&b, 0);
    risk_account *ow = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_account *hg = tu_account(b.e, 2, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    tu_balance(ow, b.usdt, 1000.0);
    tu_balance(hg, b.usdt, 1000.0);
    (void)tu_open_simple(ow, b.btcusdt, 0.1, 50000.0);
    (void)tu_open(hg, b.btcusdt, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 0.1, 50000.0, 0.0);

    const uint32_t V = RISK_POSITION_SPEC_VERSION;
    const open_case cases[] = {
        {"version 0", 0, 1, RISK_SIDE_BOTH, 0, 1.0, 50000.0, 0.0, 0, RISK_EVERSION, -1},
        {"version 2", 0, 1, RISK_SIDE_BOTH, 0, 1.0, 50000.0, 0.0, V + 1, RISK_EVERSION, -1},
        {"unknown instrument", 0, 7, RISK_SIDE_BOTH, 0, 1.0, 50000.0, 0.0, V, RISK_ENOTFOUND, -1},
        {"instrument NONE", 0, RISK_ID_NONE, RISK_SIDE_BOTH, 0, 1.0, 50000.0, 0.0, V, RISK_ENOTFOUND, -1},
        {"qty 0", 0, 1, RISK_SIDE_BOTH, 0, 0.0, 50000.0, 0.0, V, RISK_EINVAL, -1},
        {"qty NaN", 0, 1, RISK_SIDE_BOTH, 0, NAN, 50000.0, 0.0, V, RISK_EINVAL, -1},
        {"qty Inf", 0, 1, RISK_SIDE_BOTH, 0, INFINITY, 50000.0, 0.0, V, RISK_EINVAL, -1},
        {"qty -Inf", 0, 1, RISK_SIDE_BOTH, 0, -INFINITY, 50000.0, 0.0, V, RISK_EINVAL, -1},
        {"qty half a lot", 0, 1, RISK_SIDE_BOTH, 0, 1.5, 50000.0, 0.0, V, RISK_ELOT, -1},
        {"qty off lot", 0, 2, RISK_SIDE_BOTH, 0, 0.0105, 3000.0, 0.0, V, RISK_ELOT, -1},
        {"qty below one lot", 0, 2, RISK_SIDE_BOTH, 0, -0.001, 3000.0, 0.0, V, RISK_ELOT, -1},
        {"entry 0", 0, 1, RISK_SIDE_BOTH, 0, 1.0, 0.0, 0.0, V, RISK_EINVAL, -1},
        {"entry < 0", 0, 1, RISK_SIDE_BOTH, 0, 1.0, -50000.0, 0.0, V, RISK_EINVAL, -1},
        {"entry NaN", 0, 1, RISK_SIDE_BOTH, 0, 1.0, NAN, 0.0, V, RISK_EINVAL, -1},
        {"entry Inf", 0, 1, RISK_SIDE_BOTH, 0, 1.0, INFINITY, 0.0, V, RISK_EINVAL, -1},
        {"cross with margin", 0, 1, RISK_SIDE_BOTH, RISK_MARGIN_CROSS, 1.0, 50000.0, 10.0, V, RISK_EINVAL, -1},
        {"default cross with margin", 0, 1, RISK_SIDE_BOTH, 0, 1.0, 50000.0, 10.0, V, RISK_EINVAL, -1},
        {"isolated margin < 0", 0, 1, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 1.0, 50000.0, -1.0, V, RISK_EINVAL, -1},
        {"isolated margin NaN", 0, 1, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 1.0, 50000.0, NAN, V, RISK_EINVAL, -1},
        {"isolated margin Inf", 0, 1, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 1.0, 50000.0, INFINITY, V, RISK_EINVAL, -1},
        {"margin mode 3", 0, 1, RISK_SIDE_BOTH, 3, 1.0, 50000.0, 0.0, V, RISK_EINVAL, -1},
        {"side 7", 0, 1, 7, 0, 1.0, 50000.0, 0.0, V, RISK_EINVAL, RISK_ESTATE},
        {"one-way LONG", 0, 1, RISK_SIDE_LONG, 0, 1.0, 50000.0, 0.0, V, RISK_ESTATE, -1},
        {"one-way SHORT", 0, 1, RISK_SIDE_SHORT, 0, 1.0, 50000.0, 0.0, V, RISK_ESTATE, -1},
        {"one-way duplicate", 0, 0, RISK_SIDE_BOTH, 0, 1.0, 50000.0, 0.0, V, RISK_EDUPLICATE, -1},
        {"one-way duplicate short", 0, 0, RISK_SIDE_BOTH, 0, -1.0, 50000.0, 0.0, V, RISK_EDUPLICATE, -1},
        {"hedge BOTH", 1, 1, RISK_SIDE_BOTH, 0, 1.0, 50000.0, 0.0, V, RISK_ESTATE, -1},
        {"hedge LONG qty < 0", 1, 1, RISK_SIDE_LONG, 0, -1.0, 50000.0, 0.0, V, RISK_ESTATE, -1},
        {"hedge SHORT qty < 0", 1, 1, RISK_SIDE_SHORT, 0, -1.0, 50000.0, 0.0, V, RISK_ESTATE, -1},
        {"hedge duplicate leg", 1, 0, RISK_SIDE_LONG, 0, 1.0, 50000.0, 0.0, V, RISK_EDUPLICATE, -1},
        {"hedge off lot", 1, 0, RISK_SIDE_SHORT, 0, 0.0001, 50000.0, 0.0, V, RISK_ELOT, -1},
    };
    tu_account_snap s_ow, s_hg;
    tu_account_snap_take(ow, N_ASSETS, N_INSTR, &s_ow);
    tu_account_snap_take(hg, N_ASSETS, N_INSTR, &s_hg);
    tu_engine_snap es;
    tu_engine_snap_take(b.e, &es);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const open_case *c = &cases[i];
        risk_account *acc = c->hedge ? hg : ow;
        risk_position_spec s = RISK_POSITION_SPEC_INIT;
        s.version = c->version;
        s.instrument = c->instrument;
        s.side = c->side;
        s.margin_mode = c->mode;
        s.qty = c->qty;
        s.entry = c->entry;
        s.isolated_margin = c->margin;
        risk_position *p = (risk_position *)&b;
        int rc = risk_account_open_position(acc, &s, &p);
        if (rc != c->want && rc != c->alt)
            print_error("case %zu (%s): got %s, want %s\n", i, c->what, risk_errname(rc), risk_errname(c->want));
        assert_true(rc == c->want || rc == c->alt);
        tu_assert_errmsg(risk_account_errmsg(acc));
        tu_account_snap_check(ow, &s_ow);
        tu_account_snap_check(hg, &s_hg);
        tu_engine_snap_check(b.e, &es, 0);
    }
    risk_position_spec s = RISK_POSITION_SPEC_INIT;
    s.instrument = 1;
    s.qty = 1.0;
    s.entry = 50000.0;
    risk_position *p = NULL;
    tu_assert_status(risk_account_open_position(NULL, &s, &p), RISK_ENULL);
    tu_assert_status(risk_account_open_position(ow, NULL, &p), RISK_ENULL);
    tu_assert_errmsg(risk_account_errmsg(ow));
    tu_account_snap_check(ow, &s_ow);
    risk_account_free(ow);
    risk_account_free(hg);
    risk_engine_free(b.e);
}

static void *oom_open_setup(tu_alloc *a)
{
    afx *f = afx_twelve_instruments(a, RISK_POSITION_HEDGE);
    tu_balance(f->acc, f->usdt, 1e6);
    for (uint32_t i = 0; i < 9; i++)
        (void)tu_open(f->acc, i, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 0.001 * (i + 1), 50000.0, 0.0);
    tu_account_snap_take(f->acc, 2, 12, &f->asnap);
    return f;
}

static int oom_open_op(void *p)
{
    afx *f = p;
    risk_position_spec s = RISK_POSITION_SPEC_INIT;
    s.instrument = 11;
    s.side = RISK_SIDE_SHORT;
    s.margin_mode = RISK_MARGIN_ISOLATED;
    s.qty = 0.5;
    s.entry = 49000.0;
    s.isolated_margin = 1000.0;
    f->pos = (risk_position *)f;
    return risk_account_open_position(f->acc, &s, &f->pos);
}

static void oom_open_ok(void *p)
{
    afx *f = p;
    assert_int_equal(risk_account_position_count(f->acc), 10);
    tu_assert_bits(risk_position_qty(f->pos), -0.5);
}

static void test_account_open_position_out_of_memory(void **state)
{
    (void)state;
    tu_oom_case c = {oom_open_setup, oom_open_op, oom_acc_failed, oom_open_ok, afx_teardown};
    (void)tu_oom_walk(&c);
}

/* Many positions: storage grows and keeps order. */
static void test_account_many_positions_keep_order(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    char sym[16];
    for (int i = 0; i < 50; i++) {
        snprintf(sym, sizeof sym, "I%d", i);
        (void)tu_linear(e, sym, btc, usdt, 1.0, 0.001, 0.1, 50000.0, btc_tiers, 3);
    }
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    for (uint32_t i = 0; i < 50; i++)
        (void)tu_open_simple(acc, 49 - i, 0.001 * (i + 1), 50000.0);
    assert_int_equal(risk_account_position_count(acc), 50);
    /* Close every third: the others keep their relative order. */
    for (int i = 0; i < 50; i += 3) {
        risk_position *p = NULL;
        tu_assert_status(risk_account_find_position(acc, (uint32_t)(49 - i), RISK_SIDE_BOTH, &p), RISK_OK);
        tu_assert_status(risk_position_close(p, 50000.0), RISK_OK);
    }
    size_t n = risk_account_position_count(acc);
    assert_int_equal(n, 33);
    uint32_t prev = 1000;
    for (size_t k = 0; k < n; k++) {
        risk_position *p = NULL;
        tu_assert_status(risk_account_position_at(acc, k, &p), RISK_OK);
        uint32_t inst = risk_position_instrument(p);
        assert_true(inst < prev); /* opened in decreasing instrument order */
        assert_true((49 - inst) % 3 != 0);
        prev = inst;
    }
    risk_position *p = NULL;
    tu_assert_status(risk_account_position_at(acc, n, &p), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_account_errmsg(acc));
    tu_assert_status(risk_account_position_at(acc, 0, NULL), RISK_ENULL);
    tu_assert_status(risk_account_position_at(NULL, 0, &p), RISK_ENULL);
    tu_assert_status(risk_account_find_position(acc, 0, RISK_SIDE_LONG, &p), RISK_ESTATE);
    tu_assert_status(risk_account_find_position(acc, 49, RISK_SIDE_BOTH, &p), RISK_ENOTFOUND);
    tu_assert_status(risk_account_find_position(acc, 0, RISK_SIDE_BOTH, NULL), RISK_ENULL);
    tu_assert_status(risk_account_find_position(NULL, 0, RISK_SIDE_BOTH, &p), RISK_ENULL);
    risk_position_result r[64];
    size_t nr = tu_results(acc, r, 64);
    assert_int_equal(nr, n);
    for (size_t k = 0; k < n; k++) {
        tu_assert_status(risk_account_position_at(acc, k, &p), RISK_OK);
        assert_int_equal(r[k].instrument, risk_position_instrument(p));
    }
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Handles stay valid and keep naming their own position while others open and close. */
static void test_account_handles_survive_other_positions(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    char sym[16];
    enum { NI = 40 };
    for (int i = 0; i < NI; i++) {
        snprintf(sym, sizeof sym, "I%d", i);
        (void)tu_linear(e, sym, btc, usdt, 1.0, 0.001, 0.1, 50000.0, btc_tiers, 3);
    }
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdt, 1e6);
    risk_position *h[NI];
    int open[NI];
    for (int i = 0; i < NI; i++) {
        h[i] = tu_open_simple(acc, (uint32_t)i, 0.001 * (i + 1), 50000.0);
        open[i] = 1;
    }
    tu_rng r;
    tu_rng_seed(&r, 42);
    for (int step = 0; step < 200; step++) {
        int i = tu_rng_int(&r, 0, NI - 1);
        if (open[i] && tu_rng_unit(&r) < 0.5) {
            tu_assert_status(risk_position_close(h[i], 50000.0), RISK_OK);
            open[i] = 0;
        } else if (open[i]) {
            tu_assert_status(risk_position_adjust(h[i], 0.001, 50000.0), RISK_OK);
        } else {
            h[i] = tu_open_simple(acc, (uint32_t)i, 0.001 * (i + 1), 50000.0);
            open[i] = 1;
        }
        /* Every live handle still names its own instrument, and the account finds it. */
        size_t n_open = 0;
        for (int k = 0; k < NI; k++) {
            if (!open[k])
                continue;
            n_open++;
            assert_int_equal(risk_position_instrument(h[k]), (uint32_t)k);
            assert_ptr_equal(risk_position_account(h[k]), acc);
            assert_true(risk_position_qty(h[k]) > 0);
            risk_position *f = NULL;
            tu_assert_status(risk_account_find_position(acc, (uint32_t)k, RISK_SIDE_BOTH, &f), RISK_OK);
            assert_ptr_equal(f, h[k]);
        }
        assert_int_equal(risk_account_position_count(acc), n_open);
    }
    risk_account_free(acc);
    risk_engine_free(e);
    assert_int_equal(a.live_blocks, 0);
}

/* A one-way isolated position flips through zero: the PnL goes to its margin, the remainder
 * opens at the fill price, still isolated. */
static void test_account_isolated_flip(void **state)
{
    (void)state;
    book b;
    book_init(&b, RISK_ENGINE_NO_QUANTIZE);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 10000.0);
    risk_position *p = tu_open(acc, b.btcusdt, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 1000.0);
    tu_assert_status(risk_position_adjust(p, -2.0, 50500.0), RISK_OK);
    tu_assert_rel(risk_position_qty(p), -1.0, 1e-15);
    tu_assert_rel(risk_position_entry(p), 50500.0, 1e-15);
    tu_assert_rel(risk_position_isolated_margin(p), 1500.0, 1e-15);
    assert_int_equal(risk_position_margin_mode(p), RISK_MARGIN_ISOLATED);
    assert_int_equal(risk_position_side(p), RISK_SIDE_SHORT);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

/* ================================================================== evaluation */

/*
 * Every summary field from the definitions (DESIGN.md section 5, issue 2 section 3), on an
 * unquantized engine: cross linear and inverse positions, weighted collateral, a weighted
 * liability, user leverage and tier-max leverage, MM at the entry for ETHUSDT.
 */
static void test_account_evaluate_definitions(void **state)
{
    (void)state;
    book b;
    book_init(&b, RISK_ENGINE_NO_QUANTIZE);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 10000.0);
    tu_balance(acc, b.btc, 0.5);
    tu_balance(acc, b.eth, -2.0);
    tu_leverage(acc, b.btcusdt, 20.0);
    (void)tu_open_simple(acc, b.btcusdt, 0.5, 50000.0);
    (void)tu_open_simple(acc, b.btcusd, -100.0, 52000.0);
    (void)tu_open_simple(acc, b.ethusdt, -3.0, 2900.0);
    tu_mark(b.e, b.btcusdt, 51000.0);
    tu_mark(b.e, b.btcusd, 51010.0);
    tu_mark(b.e, b.ethusdt, 3100.0);
    const double pb = 50000.0; /* BTC's own price: converts the inverse contract's BTC amounts */

    /* BTCUSDT: notional 25,500, upnl 500, IM 25,500/20, MM 0.5 %. */
    const double n1 = 0.5 * 51000.0, u1 = 0.5 * (51000.0 - 50000.0), im1 = n1 / 20.0, mm1 = n1 * 0.005;
    /* BTCUSD: 100 x 100 USD short; notional and upnl in BTC; tier 0 (<= 100 BTC), max 100x. */
    const double n2 = 100.0 * 100.0 / 51010.0;
    const double u2 = -100.0 * 100.0 * (1.0 / 52000.0 - 1.0 / 51010.0);
    const double im2 = n2 / 100.0, mm2 = n2 * 0.005;
    /* ETHUSDT short 3 @ 2,900, mark 3,100; IM and MM at the entry price. */
    const double n3 = 3.0 * 3100.0, u3 = -3.0 * (3100.0 - 2900.0);
    const double n3e = 3.0 * 2900.0, im3 = n3e / 50.0, mm3 = n3e * 0.01;

    risk_position_result r = tu_result_of(acc, b.btcusdt, RISK_SIDE_LONG);
    tu_assert_rel(r.notional, n1, 1e-14);
    tu_assert_rel(r.unrealized_pnl, u1, 1e-14);
    tu_assert_rel(r.initial_margin, im1, 1e-14);
    tu_assert_rel(r.maintenance_margin, mm1, 1e-14);
    tu_assert_bits(r.qty, 0.5);
    tu_assert_bits(r.entry, 50000.0);
    tu_assert_bits(r.mark, 51000.0);
    assert_int_equal(r.margin_mode, RISK_MARGIN_CROSS);
    assert_int_equal(r.tier, 0);
    tu_assert_bits(r.isolated_margin, 0.0);
    r = tu_result_of(acc, b.btcusd, RISK_SIDE_SHORT);
    tu_assert_rel(r.notional, n2, 1e-14);
    tu_assert_rel(r.unrealized_pnl, u2, 1e-12);
    tu_assert_rel(r.initial_margin, im2, 1e-14);
    tu_assert_rel(r.maintenance_margin, mm2, 1e-14);
    tu_assert_bits(r.qty, -100.0);
    r = tu_result_of(acc, b.ethusdt, RISK_SIDE_SHORT);
    tu_assert_rel(r.notional, n3, 1e-14);
    tu_assert_rel(r.unrealized_pnl, u3, 1e-14);
    tu_assert_rel(r.initial_margin, im3, 1e-14);
    tu_assert_rel(r.maintenance_margin, mm3, 1e-14);

    const double upnl = u1 + u2 * pb + u3;
    const double cv = 10000.0 + 0.5 * pb;
    const double c_init = 10000.0 + 0.5 * pb * 0.9 + upnl;
    const double c_maint = 10000.0 + 0.5 * pb * 0.95 + upnl;
    const double liab = 2.0 * 3000.0;
    const double r_init = liab * 1.2 + im1 + im2 * pb + im3;
    const double r_maint = liab * 1.1 + mm1 + mm2 * pb + mm3;
    const double equity = 10000.0 + 0.5 * pb - liab + upnl;
    const double gross = n1 + n2 * pb + n3;

    risk_account_summary s = tu_eval(acc);
    assert_int_equal(s.version, RISK_ACCOUNT_SUMMARY_VERSION);
    assert_int_equal(s.n_positions, 3);
    assert_int_equal(s.n_isolated_liquidatable, 0);
    tu_assert_rel(s.unrealized_pnl, upnl, 1e-12);
    tu_assert_rel(s.collateral_value, cv, 1e-14);
    tu_assert_rel(s.collateral_init, c_init, 1e-12);
    tu_assert_rel(s.collateral_maint, c_maint, 1e-12);
    tu_assert_rel(s.liabilities, liab, 1e-14);
    tu_assert_rel(s.initial_margin, r_init, 1e-12);
    tu_assert_rel(s.maintenance_margin, r_maint, 1e-12);
    tu_assert_rel(s.available, c_init - r_init, 1e-12);
    tu_assert_rel(s.health_factor, c_maint / r_maint, 1e-12);
    tu_assert_rel(s.margin_ratio, r_maint / c_maint, 1e-12);
    tu_assert_rel(s.ltv, liab / cv, 1e-12);
    tu_assert_rel(s.ltv_buffer, (c_init - liab) / cv, 1e-12);
    tu_assert_rel(s.equity, equity, 1e-12);
    tu_assert_rel(s.leverage, gross / equity, 1e-12);
    tu_assert_bits(s.isolated_margin, 0.0);
    assert_int_equal(s.state, RISK_STATE_HEALTHY);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

/* Isolated positions: their margin counts in equity, not in the cross pool; an isolated
 * position under its MM makes the account liquidatable even with a healthy cross pool. */
static void test_account_evaluate_isolated(void **state)
{
    (void)state;
    book b;
    book_init(&b, RISK_ENGINE_NO_QUANTIZE);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 5000.0);
    (void)tu_open_simple(acc, b.ethusdt, 1.0, 3000.0);
    (void)tu_open(acc, b.btcusdt, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 1.0, 50000.0, 1000.0);
    (void)tu_open(acc, b.btcusd, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 100.0, 50000.0, 0.01);
    /* BTCUSDT isolated: margin 1,000 + upnl (49,500 - 50,000) = 500 > MM 247.5. */
    tu_mark(b.e, b.btcusdt, 49500.0);
    risk_account_summary s = tu_eval(acc);
    /* Cross: only ETHUSDT. */
    tu_assert_rel(s.collateral_maint, 5000.0, 1e-14);
    tu_assert_rel(s.maintenance_margin, 3000.0 * 0.01, 1e-14);
    tu_assert_rel(s.initial_margin, 3000.0 / 50.0, 1e-14);
    tu_assert_rel(s.health_factor, 5000.0 / 30.0, 1e-12);
    tu_assert_rel(s.isolated_margin, 1000.0 + 0.01 * 50000.0, 1e-14);
    tu_assert_rel(s.unrealized_pnl, -500.0, 1e-12);
    tu_assert_rel(s.equity, 5000.0 + 1000.0 + 500.0 - 500.0, 1e-12);
    assert_int_equal(s.n_isolated_liquidatable, 0);
    assert_int_equal(s.state, RISK_STATE_HEALTHY);
    risk_position_result r = tu_result_of(acc, b.btcusdt, RISK_SIDE_LONG);
    assert_int_equal(r.margin_mode, RISK_MARGIN_ISOLATED);
    tu_assert_bits(r.isolated_margin, 1000.0);
    assert_false(r.flags & RISK_RESULT_LIQUIDATABLE);

    /* 49,000 -> margin + upnl = 0 < MM 245: the isolated position is liquidatable. */
    tu_mark(b.e, b.btcusdt, 49000.0);
    s = tu_eval(acc);
    assert_int_equal(s.n_isolated_liquidatable, 1);
    assert_int_equal(s.state, RISK_STATE_LIQUIDATABLE);
    tu_assert_rel(s.health_factor, 5000.0 / 30.0, 1e-12); /* the cross pool is not touched */
    r = tu_result_of(acc, b.btcusdt, RISK_SIDE_LONG);
    assert_true(r.flags & RISK_RESULT_LIQUIDATABLE);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

/* Issue 8 defect 7: an account whose cross pool is far from MM (health factor 1,295) is still
 * liquidatable through one isolated position; the per-position flag says which. */
static void test_account_liquidatable_flag_names_the_position(void **state)
{
    (void)state;
    book b;
    book_init(&b, RISK_ENGINE_NO_QUANTIZE);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    /* Cross: 38,850 USDT against ETHUSDT 1 @ 3,000 (MM at the entry, 3,000 x 1 % = 30):
     * HF = 38,850 / 30 = 1,295. */
    tu_balance(acc, b.usdt, 38850.0);
    (void)tu_open_simple(acc, b.ethusdt, 1.0, 3000.0);
    /* Isolated BTCUSDT long 1 @ 50,000 with 500 of margin, mark 49,600: 500 - 400 = 100 < MM
     * 49,600 x 0.5 % = 248. */
    (void)tu_open(acc, b.btcusdt, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 1.0, 50000.0, 500.0);
    tu_mark(b.e, b.btcusdt, 49600.0);
    risk_account_summary s = tu_eval(acc);
    tu_assert_rel(s.health_factor, 1295.0, 1e-14);
    assert_int_equal(s.state, RISK_STATE_LIQUIDATABLE);
    assert_int_equal(s.n_isolated_liquidatable, 1);
    risk_position_result r[2];
    assert_int_equal(tu_results(acc, r, 2), 2);
    assert_int_equal(r[0].margin_mode, RISK_MARGIN_CROSS);
    assert_false(r[0].flags & RISK_RESULT_LIQUIDATABLE); /* the cross pool is healthy */
    tu_assert_bits(r[0].isolated_margin, 0.0);
    assert_int_equal(r[1].margin_mode, RISK_MARGIN_ISOLATED);
    assert_true(r[1].flags & RISK_RESULT_LIQUIDATABLE); /* this one is why */
    tu_assert_bits(r[1].isolated_margin, 500.0);
    tu_assert_rel(r[1].maintenance_margin, 248.0, 1e-14);
    tu_assert_rel(r[1].unrealized_pnl, -400.0, 1e-14);
    /* Back over its MM (500 - 200 = 300 > 249): no flag, and the account is healthy. */
    tu_mark(b.e, b.btcusdt, 49800.0);
    assert_int_equal(tu_results(acc, r, 2), 2);
    assert_false(r[1].flags & RISK_RESULT_LIQUIDATABLE);
    assert_int_equal(tu_eval(acc).state, RISK_STATE_HEALTHY);
    /* Cross pool under MM: the cross position carries the flag, the isolated one does not. */
    tu_balance(acc, b.usdt, 20.0);
    assert_int_equal(tu_results(acc, r, 2), 2);
    assert_true(r[0].flags & RISK_RESULT_LIQUIDATABLE);
    assert_false(r[1].flags & RISK_RESULT_LIQUIDATABLE);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

/* Messages print quantities and prices as the shortest decimal that reads back exactly. */
static void test_account_messages_print_exact_short_numbers(void **state)
{
    (void)state;
    book b;
    book_init(&b, 0);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_position_spec spec = RISK_POSITION_SPEC_INIT;
    spec.instrument = b.btcusdt;
    spec.qty = 0.0005;
    spec.entry = 50000.0;
    tu_assert_status(risk_account_open_position(acc, &spec, NULL), RISK_ELOT);
    assert_string_equal(risk_account_errmsg(acc), "BTCUSDT: qty 0.0005 is not a whole number of lots (lot 0.001)");
    spec.qty = 13.945300000000001; /* the double just above 13.9453: its digits are kept */
    tu_assert_status(risk_account_open_position(acc, &spec, NULL), RISK_ELOT);
    assert_string_equal(risk_account_errmsg(acc),
                        "BTCUSDT: qty 13.945300000000001 is not a whole number of lots (lot 0.001)");
    spec.qty = 0.1;
    risk_position *p = NULL;
    tu_assert_status(risk_account_open_position(acc, &spec, &p), RISK_OK);
    tu_assert_status(risk_position_adjust(p, 0.1, 50000.05), RISK_ETICK);
    assert_string_equal(risk_account_errmsg(acc), "BTCUSDT: price 50000.05 is off the tick 0.1");
    tu_assert_status(risk_account_set_leverage(acc, b.btcusdt, 1e9), RISK_ELEVERAGE);
    assert_non_null(strstr(risk_account_errmsg(acc), "leverage 1000000000 above"));
    risk_account_free(acc);
    risk_engine_free(b.e);
}

/* healthy -> margin call -> liquidatable -> bankrupt as the mark falls. */
static void test_account_states(void **state)
{
    (void)state;
    book b;
    book_init(&b, RISK_ENGINE_NO_QUANTIZE);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 1000.0);
    (void)tu_open_simple(acc, b.btcusdt, 1.0, 50000.0);
    /* C_maint = 1000 + M - 50,000; R_maint = 0.005 M. */
    struct {
        double mark;
        uint32_t state;
    } steps[] = {
        {50000.0, RISK_STATE_HEALTHY},      /* HF 4 */
        {49300.0, RISK_STATE_HEALTHY},      /* HF 1.217 */
        {49270.0, RISK_STATE_MARGIN_CALL},  /* HF 1.096 */
        {49200.0, RISK_STATE_LIQUIDATABLE}, /* HF 0.813 */
        {49000.1, RISK_STATE_LIQUIDATABLE}, /* equity 0.1 > 0 */
        {49000.0, RISK_STATE_BANKRUPT},     /* equity 0 */
        {48900.0, RISK_STATE_BANKRUPT},     /* equity -100 */
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        tu_mark(b.e, b.btcusdt, steps[i].mark);
        risk_account_summary s = tu_eval(acc);
        if (s.state != steps[i].state)
            print_error("mark %.1f: HF %.6f equity %.6f\n", steps[i].mark, s.health_factor, s.equity);
        assert_int_equal(s.state, steps[i].state);
    }
    tu_mark(b.e, b.btcusdt, 48900.0);
    risk_account_summary s = tu_eval(acc);
    assert_true(isinf(s.leverage) && s.leverage > 0);
    assert_true(isinf(s.margin_ratio) && s.margin_ratio > 0); /* C_maint < 0 */
    /* Only a balance, no positions or debts: never bankrupt. */
    risk_account *empty = tu_account(b.e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    s = tu_eval(empty);
    assert_int_equal(s.state, RISK_STATE_HEALTHY);
    risk_account_free(empty);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

/* Quantization: collateral, equity, PnL down; requirements up; to V's decimals. */
static void test_account_quantization_against_the_account(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usd = tu_asset(e, "USD", 1.0, 2);
    uint32_t x = tu_asset(e, "X", 3.0, 8);
    static const risk_margin_tier t[] = {{1e9, 0.01, 10.0, 0, 0}};
    uint32_t inst = tu_linear(e, "XUSD", x, usd, 1.0, 1.0, 0.0001, 3.3333, t, 1);
    risk_account *lo = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_account *sh = tu_account(e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(lo, usd, 10.0);
    tu_balance(sh, usd, 10.0);
    (void)tu_open_simple(lo, inst, 1.0, 3.0);
    (void)tu_open_simple(sh, inst, -1.0, 3.0);
    risk_account_summary s = tu_eval(lo);
    tu_assert_near(s.unrealized_pnl, 0.33, 1e-12);     /* 0.3333 down */
    tu_assert_near(s.equity, 10.33, 1e-12);            /* 10.3333 down */
    tu_assert_near(s.maintenance_margin, 0.04, 1e-12); /* 0.033333 up */
    tu_assert_near(s.initial_margin, 0.34, 1e-12);     /* 0.33333 up */
    tu_assert_near(s.collateral_value, 10.0, 1e-12);
    tu_assert_near(s.collateral_maint, 10.33, 1e-12);
    s = tu_eval(sh);
    tu_assert_near(s.unrealized_pnl, -0.34, 1e-12); /* -0.3333 down */
    tu_assert_near(s.equity, 9.66, 1e-12);          /* 9.6667 down */
    tu_assert_near(s.maintenance_margin, 0.04, 1e-12);
    /* Per-position results, in the settle asset's decimals; the notional is not rounded. */
    risk_position_result r = tu_result_of(lo, inst, RISK_SIDE_LONG);
    tu_assert_near(r.notional, 3.3333, 1e-12);
    tu_assert_near(r.unrealized_pnl, 0.33, 1e-12);
    tu_assert_near(r.maintenance_margin, 0.04, 1e-12);
    tu_assert_near(r.initial_margin, 0.34, 1e-12);
    r = tu_result_of(sh, inst, RISK_SIDE_SHORT);
    tu_assert_near(r.unrealized_pnl, -0.34, 1e-12);
    risk_account_free(lo);
    risk_account_free(sh);
    risk_engine_free(e);
}

static void test_account_evaluate_rejects_bad_input(void **state)
{
    (void)state;
    book b;
    book_init(&b, 0);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 100.0);
    (void)tu_open_simple(acc, b.btcusdt, 0.001, 50000.0);
    (void)tu_open_simple(acc, b.btcusd, 1.0, 50000.0);
    risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
    tu_assert_status(risk_account_evaluate(NULL, &s), RISK_ENULL);
    tu_assert_status(risk_account_evaluate(acc, NULL), RISK_ENULL);
    s.version = 0;
    tu_assert_status(risk_account_evaluate(acc, &s), RISK_EVERSION);
    tu_assert_errmsg(risk_account_errmsg(acc));
    s.version = RISK_ACCOUNT_SUMMARY_VERSION + 1;
    tu_assert_status(risk_account_evaluate(acc, &s), RISK_EVERSION);

    risk_position_result r[2];
    size_t n = 99;
    for (int i = 0; i < 2; i++) {
        risk_position_result z = RISK_POSITION_RESULT_INIT;
        r[i] = z;
    }
    /* Too small: the count is reported. */
    tu_assert_status(risk_account_position_results(acc, r, 1, &n), RISK_EBUFFER);
    assert_int_equal(n, 2);
    tu_assert_errmsg(risk_account_errmsg(acc));
    n = 99;
    int rc = risk_account_position_results(acc, NULL, 0, &n); /* asking for the count */
    assert_true(rc == RISK_OK || rc == RISK_EBUFFER);
    assert_int_equal(n, 2);
    tu_assert_status(risk_account_position_results(acc, NULL, 2, &n), RISK_ENULL);
    tu_assert_status(risk_account_position_results(acc, r, 2, NULL), RISK_ENULL);
    tu_assert_status(risk_account_position_results(NULL, r, 2, &n), RISK_ENULL);
    r[0].version = 0;
    tu_assert_status(risk_account_position_results(acc, r, 2, &n), RISK_EVERSION);
    tu_assert_errmsg(risk_account_errmsg(acc));
    r[0].version = RISK_POSITION_RESULT_VERSION;
    tu_assert_status(risk_account_position_results(acc, r, 2, &n), RISK_OK);
    assert_int_equal(n, 2);
    /* No positions, capacity 0: fine. */
    risk_account *empty = tu_account(b.e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    n = 9;
    tu_assert_status(risk_account_position_results(empty, NULL, 0, &n), RISK_OK);
    assert_int_equal(n, 0);
    risk_account_free(empty);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

/* ================================================================== fills */

static void test_account_adjust_linear_fills(void **state)
{
    (void)state;
    book b;
    book_init(&b, RISK_ENGINE_NO_QUANTIZE);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 10000.0);
    risk_position *p = tu_open_simple(acc, b.btcusdt, 1.0, 50000.0);
    /* Increase: size-weighted entry. */
    tu_assert_status(risk_position_adjust(p, 1.0, 54000.0), RISK_OK);
    tu_assert_rel(risk_position_qty(p), 2.0, 1e-15);
    tu_assert_rel(risk_position_entry(p), 52000.0, 1e-15);
    tu_assert_rel(basket_bal(acc, b.usdt), 10000.0, 1e-15);
    /* Reduce: realise (53,000 - 52,000) x 0.5 into the basket's settle asset; entry unchanged. */
    tu_assert_status(risk_position_adjust(p, -0.5, 53000.0), RISK_OK);
    tu_assert_rel(risk_position_qty(p), 1.5, 1e-15);
    tu_assert_rel(risk_position_entry(p), 52000.0, 1e-15);
    tu_assert_rel(basket_bal(acc, b.usdt), 10500.0, 1e-15);
    /* Flip through zero: realise 1.5 x (51,000 - 52,000), the remainder opens at 51,000. */
    tu_assert_status(risk_position_adjust(p, -2.5, 51000.0), RISK_OK);
    tu_assert_rel(risk_position_qty(p), -1.0, 1e-15);
    tu_assert_rel(risk_position_entry(p), 51000.0, 1e-15);
    assert_int_equal(risk_position_side(p), RISK_SIDE_SHORT);
    tu_assert_rel(basket_bal(acc, b.usdt), 9000.0, 1e-15);
    /* Short increase. */
    tu_assert_status(risk_position_adjust(p, -3.0, 55000.0), RISK_OK);
    tu_assert_rel(risk_position_entry(p), (51000.0 + 3.0 * 55000.0) / 4.0, 1e-15);
    /* To exactly zero: closed, handle freed; realises -4 x (53,000 - 54,000). */
    tu_assert_rel(risk_position_entry(p), 54000.0, 1e-15);
    tu_assert_status(risk_position_adjust(p, 4.0, 53000.0), RISK_OK);
    assert_int_equal(risk_account_position_count(acc), 0);
    tu_assert_rel(basket_bal(acc, b.usdt), 13000.0, 1e-14);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

static void test_account_adjust_inverse_harmonic_entry(void **state)
{
    (void)state;
    book b;
    book_init(&b, RISK_ENGINE_NO_QUANTIZE);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.btc, 1.0);
    risk_position *p = tu_open_simple(acc, b.btcusd, 100.0, 50000.0);
    tu_assert_status(risk_position_adjust(p, 100.0, 60000.0), RISK_OK);
    const double e2 = 200.0 / (100.0 / 50000.0 + 100.0 / 60000.0); /* 54,545.45... */
    tu_assert_rel(risk_position_entry(p), e2, 1e-14);
    /* Reduce 50 contracts at 55,000: realise 50 x 100 x (1/E - 1/55,000) BTC. */
    tu_assert_status(risk_position_adjust(p, -50.0, 55000.0), RISK_OK);
    tu_assert_rel(risk_position_entry(p), e2, 1e-14);
    /* A ledger posting: at most one quantum (1e-8 BTC) under the exact PnL, never above. */
    const double exact = 1.0 + 5000.0 * (1.0 / e2 - 1.0 / 55000.0);
    const double got = basket_bal(acc, b.btc);
    tu_assert_near(got, exact, 1.0000001e-8);
    assert_true(got <= exact + 1e-15);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

static void test_account_adjust_hedge_legs(void **state)
{
    (void)state;
    book b;
    book_init(&b, RISK_ENGINE_NO_QUANTIZE);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    tu_balance(acc, b.usdt, 10000.0);
    risk_position *l = tu_open(acc, b.btcusdt, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 0.0);
    risk_position *s = tu_open(acc, b.btcusdt, RISK_SIDE_SHORT, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 0.0);
    tu_account_snap snap;
    tu_account_snap_take(acc, N_ASSETS, N_INSTR, &snap);
    /* A hedge leg may not cross zero. */
    tu_assert_status(risk_position_adjust(l, -1.5, 50000.0), RISK_ESTATE);
    tu_assert_errmsg(risk_account_errmsg(acc));
    tu_account_snap_check(acc, &snap);
    tu_assert_status(risk_position_adjust(s, 2.0, 50000.0), RISK_ESTATE);
    tu_account_snap_check(acc, &snap);
    /* Adding to the short leg: sell more. */
    tu_assert_status(risk_position_adjust(s, -1.0, 52000.0), RISK_OK);
    tu_assert_rel(risk_position_qty(s), -2.0, 1e-15);
    tu_assert_rel(risk_position_entry(s), 51000.0, 1e-15);
    /* Closing the long leg to zero; the short stays. */
    tu_assert_status(risk_position_adjust(l, -1.0, 51000.0), RISK_OK);
    assert_int_equal(risk_account_position_count(acc), 1);
    tu_assert_rel(basket_bal(acc, b.usdt), 11000.0, 1e-15);
    risk_position *q = NULL;
    tu_assert_status(risk_account_find_position(acc, b.btcusdt, RISK_SIDE_LONG, &q), RISK_ENOTFOUND);
    tu_assert_status(risk_account_find_position(acc, b.btcusdt, RISK_SIDE_SHORT, &q), RISK_OK);
    assert_ptr_equal(q, s);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

static void test_account_adjust_rejects_bad_input(void **state)
{
    (void)state;
    book b;
    book_init(&b, 0);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 10000.0);
    risk_position *p = tu_open_simple(acc, b.btcusdt, 1.0, 50000.0);
    risk_position *v = tu_open_simple(acc, b.btcusd, 10.0, 50000.0);
    tu_account_snap snap;
    tu_account_snap_take(acc, N_ASSETS, N_INSTR, &snap);
    struct {
        risk_position *pos;
        double qty, price;
        int want;
    } cases[] = {
        {p, 0.0, 50000.0, RISK_EINVAL},        {p, NAN, 50000.0, RISK_EINVAL},
        {p, INFINITY, 50000.0, RISK_EINVAL},   {p, 0.1, 0.0, RISK_EINVAL},
        {p, 0.1, -50000.0, RISK_EINVAL},       {p, 0.1, NAN, RISK_EINVAL},
        {p, 0.1, INFINITY, RISK_EINVAL},       {p, 0.0005, 50000.0, RISK_ELOT},
        {p, -1.0001, 50000.0, RISK_ELOT},      {p, 0.1, 50000.05, RISK_ETICK},
        {p, -0.1, 49999.99, RISK_ETICK},       {v, 1.5, 50000.0, RISK_ELOT},
        {v, 1.0, 50000.25, RISK_ETICK},        {v, -1.0, 50000.1, RISK_ETICK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = risk_position_adjust(cases[i].pos, cases[i].qty, cases[i].price);
        if (rc != cases[i].want)
            print_error("case %zu\n", i);
        tu_assert_status(rc, cases[i].want);
        tu_assert_errmsg(risk_account_errmsg(acc));
        tu_account_snap_check(acc, &snap);
    }
    tu_assert_status(risk_position_adjust(NULL, 1.0, 50000.0), RISK_ENULL);
    /* On the tick after all: 50,000.5 on 0.5, 50,000.1 on 0.1. */
    tu_assert_status(risk_position_adjust(v, 1.0, 50000.5), RISK_OK);
    tu_assert_status(risk_position_adjust(p, 0.001, 50000.1), RISK_OK);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

static void test_account_close_position(void **state)
{
    (void)state;
    book b;
    book_init(&b, RISK_ENGINE_NO_QUANTIZE);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 10000.0);
    risk_position *p = tu_open_simple(acc, b.btcusdt, -2.0, 50000.0);
    risk_position *iso = tu_open(acc, b.ethusdt, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 1.0, 3000.0, 300.0);
    tu_account_snap snap;
    tu_account_snap_take(acc, N_ASSETS, N_INSTR, &snap);
    tu_assert_status(risk_position_close(p, 50000.05), RISK_ETICK);
    tu_assert_errmsg(risk_account_errmsg(acc));
    tu_account_snap_check(acc, &snap);
    const double bad[] = {0.0, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < 4; i++) {
        tu_assert_status(risk_position_close(p, bad[i]), RISK_EINVAL);
        tu_assert_errmsg(risk_account_errmsg(acc));
        tu_account_snap_check(acc, &snap);
    }
    tu_assert_status(risk_position_close(NULL, 50000.0), RISK_ENULL);

    const double usdt0 = basket_bal(acc, b.usdt);
    tu_assert_status(risk_position_close(p, 49000.0), RISK_OK);
    tu_assert_rel(basket_bal(acc, b.usdt), usdt0 + 2000.0, 1e-15);
    assert_int_equal(risk_account_position_count(acc), 1);
    /* Isolated: the PnL goes to its margin, the margin returns to the basket. */
    tu_assert_status(risk_position_close(iso, 3100.0), RISK_OK);
    tu_assert_rel(basket_bal(acc, b.usdt), usdt0 + 2000.0 + 300.0 + 100.0, 1e-15);
    assert_int_equal(risk_account_position_count(acc), 0);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

static void test_account_isolated_fills_and_margin(void **state)
{
    (void)state;
    book b;
    book_init(&b, RISK_ENGINE_NO_QUANTIZE);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 10000.0);
    risk_position *p = tu_open(acc, b.btcusdt, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 1.0, 50000.0, 1000.0);
    assert_int_equal(risk_position_margin_mode(p), RISK_MARGIN_ISOLATED);
    const double usdt0 = basket_bal(acc, b.usdt);
    /* Reducing realises into the isolated margin. */
    tu_assert_status(risk_position_adjust(p, -0.5, 51000.0), RISK_OK);
    tu_assert_rel(risk_position_isolated_margin(p), 1500.0, 1e-15);
    tu_assert_rel(basket_bal(acc, b.usdt), usdt0, 1e-15);
    /* Setting the margin moves the difference from and to the basket. */
    tu_assert_status(risk_position_set_isolated_margin(p, 2000.0), RISK_OK);
    tu_assert_rel(risk_position_isolated_margin(p), 2000.0, 1e-15);
    tu_assert_rel(basket_bal(acc, b.usdt), usdt0 - 500.0, 1e-15);
    tu_assert_status(risk_position_set_isolated_margin(p, 100.0), RISK_OK);
    tu_assert_rel(basket_bal(acc, b.usdt), usdt0 + 1400.0, 1e-15);
    tu_assert_status(risk_position_set_isolated_margin(p, 0.0), RISK_OK);
    tu_assert_rel(basket_bal(acc, b.usdt), usdt0 + 1500.0, 1e-15);

    tu_account_snap snap;
    tu_account_snap_take(acc, N_ASSETS, N_INSTR, &snap);
    const double bad[] = {-1.0, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 4; i++) {
        tu_assert_status(risk_position_set_isolated_margin(p, bad[i]), RISK_EINVAL);
        tu_assert_errmsg(risk_account_errmsg(acc));
        tu_account_snap_check(acc, &snap);
    }
    tu_assert_status(risk_position_set_isolated_margin(NULL, 1.0), RISK_ENULL);
    /* A cross position has no isolated margin. */
    risk_position *c = tu_open(acc, b.ethusdt, RISK_SIDE_BOTH, RISK_MARGIN_CROSS, 1.0, 3000.0, 0.0);
    tu_account_snap_take(acc, N_ASSETS, N_INSTR, &snap);
    tu_assert_status(risk_position_set_isolated_margin(c, 10.0), RISK_ESTATE);
    tu_assert_errmsg(risk_account_errmsg(acc));
    tu_account_snap_check(acc, &snap);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

/* Fills that need a new basket entry, walked through their allocation failures. */
static void *oom_fill_setup(tu_alloc *a)
{
    afx *f = test_calloc(1, sizeof *f);
    f->a = a;
    f->e = tu_engine(a, 0);
    f->usdt = tu_asset(f->e, "USDT", 1.0, 6);
    f->btc = tu_asset(f->e, "BTC", 50000.0, 8);
    f->inst = tu_linear(f->e, "BTCUSDT", f->btc, f->usdt, 1.0, 0.001, 0.1, 50000.0, btc_tiers, 3);
    f->inv = tu_inverse(f->e, "BTCUSD", f->btc, 100.0, 1.0, 0.5, 50000.0, inv_tiers, 2);
    uint32_t usdc = tu_asset(f->e, "USDC", 1.0, 6);
    uint32_t eth = tu_asset(f->e, "ETH", 3000.0, 8);
    f->acc = tu_account(f->e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    /* The basket holds neither USDT nor BTC, and its inline balances are taken by USDC and
     * ETH: realised PnL needs a new entry, which needs a heap block. */
    tu_balance(f->acc, usdc, 10.0);
    tu_balance(f->acc, eth, 1.0);
    f->pos = tu_open_simple(f->acc, f->inst, 1.0, 50000.0);
    (void)tu_open(f->acc, f->inv, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 100.0, 50000.0, 0.5);
    tu_account_snap_take(f->acc, 4, 2, &f->asnap);
    return f;
}

static int oom_adjust_op(void *p)
{
    afx *f = p;
    return risk_position_adjust(f->pos, -0.5, 51000.0);
}

static void oom_adjust_ok(void *p)
{
    afx *f = p;
    tu_assert_near(basket_bal(f->acc, f->usdt), 500.0, 1e-9);
    tu_assert_bits(risk_position_qty(f->pos), 0.5);
}

static int oom_close_op(void *p)
{
    afx *f = p;
    return risk_position_close(f->pos, 49000.0);
}

static void oom_close_ok(void *p)
{
    afx *f = p;
    tu_assert_near(basket_bal(f->acc, f->usdt), -1000.0, 1e-9);
    assert_int_equal(risk_account_position_count(f->acc), 1);
}

static int oom_setmargin_op(void *p)
{
    afx *f = p;
    risk_position *q = NULL;
    tu_assert_status(risk_account_find_position(f->acc, f->inv, RISK_SIDE_BOTH, &q), RISK_OK);
    return risk_position_set_isolated_margin(q, 0.25); /* 0.25 BTC back to the basket */
}

static void oom_setmargin_ok(void *p)
{
    afx *f = p;
    tu_assert_near(basket_bal(f->acc, f->btc), f->asnap.basket.balances[1] + 0.25, 1e-12);
}

static int oom_close_iso_op(void *p)
{
    afx *f = p;
    risk_position *q = NULL;
    tu_assert_status(risk_account_find_position(f->acc, f->inv, RISK_SIDE_BOTH, &q), RISK_OK);
    return risk_position_close(q, 50000.0); /* the margin returns to the basket */
}

static void oom_close_iso_ok(void *p)
{
    afx *f = p;
    tu_assert_near(basket_bal(f->acc, f->btc), f->asnap.basket.balances[1] + 0.5, 1e-12);
}

static void test_account_fills_out_of_memory(void **state)
{
    (void)state;
    tu_oom_case c1 = {oom_fill_setup, oom_adjust_op, oom_acc_failed, oom_adjust_ok, afx_teardown};
    assert_true(tu_oom_walk(&c1) >= 1);
    tu_oom_case c2 = {oom_fill_setup, oom_close_op, oom_acc_failed, oom_close_ok, afx_teardown};
    assert_true(tu_oom_walk(&c2) >= 1);
    tu_oom_case c3 = {oom_fill_setup, oom_setmargin_op, oom_acc_failed, oom_setmargin_ok, afx_teardown};
    (void)tu_oom_walk(&c3); /* allocates only if opening did not already create the BTC entry */
    tu_oom_case c4 = {oom_fill_setup, oom_close_iso_op, oom_acc_failed, oom_close_iso_ok, afx_teardown};
    (void)tu_oom_walk(&c4);
}

/* Issue 9 defect 2: the getters returned values read through a NULL handle (a segfault). */
static void test_account_getters_on_null_handles(void **state)
{
    (void)state;
    assert_int_equal(risk_account_id(NULL), 0);
    assert_int_equal(risk_account_margin_mode(NULL), RISK_ID_NONE);
    assert_int_equal(risk_account_position_mode(NULL), RISK_ID_NONE);
    assert_int_equal(risk_account_position_count(NULL), 0);
    assert_int_equal(risk_position_instrument(NULL), RISK_ID_NONE);
    assert_int_equal(risk_position_side(NULL), RISK_ID_NONE);
    assert_int_equal(risk_position_leg(NULL), RISK_ID_NONE);
    assert_int_equal(risk_position_margin_mode(NULL), RISK_ID_NONE);
    assert_true(isnan(risk_position_qty(NULL)));
    assert_true(isnan(risk_position_entry(NULL)));
    assert_true(isnan(risk_position_isolated_margin(NULL)));
    assert_null(risk_position_account(NULL));
}

/* Issue 9 defect 3: reducing 1e9 contracts (lot 0.001) by 999,999,997.885 left
 * 2.1150000095367432, off the lot grid, so the position could never be closed. Fills land on the
 * grid: the nearest double to 2.115. */
static void test_account_fills_stay_on_the_lot_grid(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 1.0, 8);
    risk_margin_tier t = tu_tier(1e15, 0.004, 125.0);
    uint32_t inst = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 1.0, &t, 1);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdt, 1e9);
    risk_position *pos = tu_open(acc, inst, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 1e9, 1.0, 1e8);
    assert_true(1e9 - 999999997.885 != 2.115); /* the drift the fill must not keep */
    tu_assert_status(risk_position_adjust(pos, -999999997.885, 1.0), RISK_OK);
    assert_true(risk_position_qty(pos) == 2.115);
    tu_assert_status(risk_position_close(pos, 1.0), RISK_OK);
    assert_int_equal(risk_account_position_count(acc), 0);
    risk_account_free(acc);
    risk_engine_free(e);
}


/* ================================================================== input domain (issue 9, defect 5) */

/* Expects rc and a message that holds every one of the words. */
static void expect_refused(risk_account *acc, int got, int want, const char *w1, const char *w2)
{
    tu_assert_status(got, want);
    const char *msg = risk_account_errmsg(acc);
    if (w1 && !strstr(msg, w1))
        fail_msg("message \"%s\" lacks \"%s\"", msg, w1);
    if (w2 && !strstr(msg, w2))
        fail_msg("message \"%s\" lacks \"%s\"", msg, w2);
}

/* A quantity of 1e-300 at lot 1 rounded to 0 lots, "a whole multiple": it was opened as a
 * position. Sub-lot magnitudes are ELOT, for opens and fills alike. */
static void test_account_refuses_sub_lot_quantities(void **state)
{
    (void)state;
    book b;
    book_init(&b, 0);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 1e6);
    risk_position *p = tu_open_simple(acc, b.btcusd, 1.0, 50000.0); /* lot 1 */
    tu_account_snap snap;
    tu_account_snap_take(acc, N_ASSETS, N_INSTR, &snap);
    risk_position_spec spec = RISK_POSITION_SPEC_INIT;
    spec.instrument = b.btcusdt;
    spec.entry = 50000.0;
    const double tiny[] = {1e-300, -1e-300, 4.9e-324, 1e-13};
    for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++) {
        spec.qty = tiny[i];
        expect_refused(acc, risk_account_open_position(acc, &spec, NULL), RISK_ELOT, "less than one lot", NULL);
        tu_account_snap_check(acc, &snap);
        expect_refused(acc, risk_position_adjust(p, tiny[i], 50000.0), RISK_ELOT, "less than one lot", "lot 1)");
        tu_account_snap_check(acc, &snap);
    }
    /* one lot is the least: accepted */
    spec.qty = 0.001;
    tu_assert_status(risk_account_open_position(acc, &spec, NULL), RISK_OK);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

/* A fill at 1e-300 passed the 0.1 tick check (1e-299 ticks rounds to 0): a fill price is in
 * [RISK_PRICE_MIN, RISK_PRICE_MAX] and at least one tick. */
static void test_account_refuses_fill_prices_below_one_tick(void **state)
{
    (void)state;
    book b;
    book_init(&b, 0);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 1e6);
    risk_position *p = tu_open_simple(acc, b.btcusdt, 0.1, 50000.0);
    tu_account_snap snap;
    tu_account_snap_take(acc, N_ASSETS, N_INSTR, &snap);
    expect_refused(acc, risk_position_adjust(p, 0.1, 1e-300), RISK_EINVAL, "price 1e-300 outside", "1e-12");
    tu_account_snap_check(acc, &snap);
    expect_refused(acc, risk_position_close(p, 1e-300), RISK_EINVAL, "price 1e-300", NULL);
    tu_account_snap_check(acc, &snap);
    expect_refused(acc, risk_position_adjust(p, 0.1, 1e-11), RISK_ETICK, "below one tick 0.1", NULL);
    tu_account_snap_check(acc, &snap);
    expect_refused(acc, risk_position_adjust(p, 0.1, 1.000001e12), RISK_EINVAL, "outside", NULL);
    tu_account_snap_check(acc, &snap);
    /* entries: in the price domain and at least one tick (not on the grid: an average) */
    risk_position_spec spec = RISK_POSITION_SPEC_INIT;
    spec.instrument = b.ethusdt;
    spec.qty = 1.0;
    spec.entry = 0.001; /* below the 0.01 tick */
    expect_refused(acc, risk_account_open_position(acc, &spec, NULL), RISK_EINVAL, "entry 0.001 is below one tick", NULL);
    spec.entry = 1e300;
    expect_refused(acc, risk_account_open_position(acc, &spec, NULL), RISK_EINVAL, "entry 1e+300 outside", NULL);
    tu_account_snap_check(acc, &snap);
    /* the least accepted: one tick */
    tu_assert_status(risk_position_adjust(p, 0.1, 0.1), RISK_OK);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

/* set_isolated_margin(1e308) on a wallet of -1e308 made the wallet -inf, although
 * add_balance refused the same sum. The wallet after the move must stay in the domain. */
static void test_account_isolated_margin_keeps_the_wallet_in_the_domain(void **state)
{
    (void)state;
    book b;
    book_init(&b, 0);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    const double usdt_max = RISK_AMOUNT_QUANTA_MAX / 1e6; /* 6 decimals */
    tu_assert_status(risk_basket_set_balance(risk_account_basket(acc), b.usdt, -1e308), RISK_EINVAL);
    tu_balance(acc, b.usdt, -usdt_max);
    risk_position *p = tu_open(acc, b.btcusdt, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 0.1, 50000.0, 0.0);
    tu_account_snap snap;
    tu_account_snap_take(acc, N_ASSETS, N_INSTR, &snap);
    expect_refused(acc, risk_position_set_isolated_margin(p, 1e308), RISK_EINVAL, "isolated margin 1e+308", "USDT");
    tu_account_snap_check(acc, &snap);
    expect_refused(acc, risk_position_set_isolated_margin(p, 1.0), RISK_EINVAL, "settle balance", "9007199254.740992");
    tu_account_snap_check(acc, &snap);
    risk_account_summary s = tu_eval(acc);
    assert_true(isfinite(s.equity));
    /* at the edge of the wallet: accepted, and the margin comes back */
    tu_balance(acc, b.usdt, -usdt_max + 1.0);
    tu_assert_status(risk_position_set_isolated_margin(p, 1.0), RISK_OK);
    assert_true(basket_bal(acc, b.usdt) == -usdt_max);
    risk_position_spec spec = RISK_POSITION_SPEC_INIT;
    spec.instrument = b.ethusdt;
    spec.qty = 1.0;
    spec.entry = 3000.0;
    spec.margin_mode = RISK_MARGIN_ISOLATED;
    spec.isolated_margin = usdt_max * 2.0;
    expect_refused(acc, risk_account_open_position(acc, &spec, NULL), RISK_EINVAL, "isolated_margin", "outside");
    risk_account_free(acc);
    risk_engine_free(b.e);
}

/* A closing fill posts its realised PnL: a fill whose posting would take the settle balance
 * out of the domain is refused before anything moves. */
static void test_account_fill_refuses_a_posting_outside_the_domain(void **state)
{
    (void)state;
    book b;
    book_init(&b, 0);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    const double usdt_max = RISK_AMOUNT_QUANTA_MAX / 1e6;
    tu_balance(acc, b.usdt, usdt_max - 1000.0);
    risk_position *p = tu_open_simple(acc, b.btcusdt, 1.0, 50000.0);
    tu_account_snap snap;
    tu_account_snap_take(acc, N_ASSETS, N_INSTR, &snap);
    expect_refused(acc, risk_position_close(p, 60000.0), RISK_EINVAL, "settle balance after the fill", NULL);
    tu_account_snap_check(acc, &snap);
    tu_assert_status(risk_position_close(p, 50500.0), RISK_OK); /* +500: inside */
    assert_true(basket_bal(acc, b.usdt) == usdt_max - 500.0);
    risk_account_free(acc);
    risk_engine_free(b.e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_new_and_getters),
        cmocka_unit_test(test_account_new_rejects_bad_input),
        cmocka_unit_test(test_account_new_out_of_memory),
        cmocka_unit_test(test_account_free_with_positions),
        cmocka_unit_test(test_account_set_leverage),
        cmocka_unit_test(test_account_set_leverage_out_of_memory),
        cmocka_unit_test(test_account_leverage_applies_to_initial_margin),
        cmocka_unit_test(test_account_open_one_way_positions),
        cmocka_unit_test(test_account_open_hedge_legs),
        cmocka_unit_test(test_account_open_position_rejects_bad_input),
        cmocka_unit_test(test_account_open_position_out_of_memory),
        cmocka_unit_test(test_account_many_positions_keep_order),
        cmocka_unit_test(test_account_handles_survive_other_positions),
        cmocka_unit_test(test_account_isolated_flip),
        cmocka_unit_test(test_account_evaluate_definitions),
        cmocka_unit_test(test_account_evaluate_isolated),
        cmocka_unit_test(test_account_states),
        cmocka_unit_test(test_account_quantization_against_the_account),
        cmocka_unit_test(test_account_evaluate_rejects_bad_input),
        cmocka_unit_test(test_account_adjust_linear_fills),
        cmocka_unit_test(test_account_adjust_inverse_harmonic_entry),
        cmocka_unit_test(test_account_adjust_hedge_legs),
        cmocka_unit_test(test_account_adjust_rejects_bad_input),
        cmocka_unit_test(test_account_close_position),
        cmocka_unit_test(test_account_liquidatable_flag_names_the_position),
        cmocka_unit_test(test_account_messages_print_exact_short_numbers),
        cmocka_unit_test(test_account_isolated_fills_and_margin),
        cmocka_unit_test(test_account_fills_out_of_memory),
        cmocka_unit_test(test_account_getters_on_null_handles),
        cmocka_unit_test(test_account_fills_stay_on_the_lot_grid),
        cmocka_unit_test(test_account_refuses_sub_lot_quantities),
        cmocka_unit_test(test_account_refuses_fill_prices_below_one_tick),
        cmocka_unit_test(test_account_isolated_margin_keeps_the_wallet_in_the_domain),
        cmocka_unit_test(test_account_fill_refuses_a_posting_outside_the_domain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
