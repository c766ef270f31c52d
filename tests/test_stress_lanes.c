/* SPDX-License-Identifier: Apache-2.0 */
/* test_stress_lanes.c: the stress test's vector path (src/stress/stress_lanes.h; docs/stress.md
 * 1.5 and 5). Accounts of linear cross perpetuals and futures margined at the mark, on schedules
 * of one, three, four and six tiers, with balances in several assets (weights, value tiers,
 * loans), user leverage, pending funding, a settle asset that moves, go through lanes of 2, 4
 * or 8 scenarios; the rest (inverse, isolated, a six-tier schedule crossed by the batch) through
 * the scalar path, in the same book. Pinned here, for every kernel the machine has
 * (RISK_STRESS_SIMD: baseline, avx2, avx512) and 1, 2 and 3 threads: per-account P&L, equity,
 * health factor and state, and the book results, are bit for bit those of the scalar path
 * (RISK_STRESS_SIMD=off), of risk_account_scenario_pnl(), and of evaluation after actually
 * moving the prices; batches of 1, 8, 9, 13 and 100 scenarios (whole vectors and tails), with and
 * without weights and quantization. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ASSETS 5 /* USDT USDC BTC ETH SOL */
#define N_INST 7
#define N_ACC 160
#define S_MAX 100

typedef struct lbook {
    tu_alloc a;
    risk_engine *e;
    uint32_t asset[N_ASSETS], inst[N_INST];
    risk_account *acc[N_ACC];
    size_t n;
} lbook;

/* underlying (index into asset[]) and mark of each instrument */
static const int under[N_INST] = {2, 3, 4, 2, 2, 3, 4};
static const double mark0[N_INST] = {30000.0, 2000.0, 100.0, 30000.0, 30150.0, 2000.0, 100.0};
static const double prices0[N_ASSETS] = {1.0, 1.0, 30000.0, 2000.0, 100.0};

/* Instruments: 0 BTCUSDT (3 tiers), 1 ETHUSDT (4 tiers, contract 0.1), 2 SOLUSDT (6 tiers: the
 * scalar path when the batch crosses one), 3 BTCUSDC (settled in USDC, which moves), 4 BTC-FUT
 * (dated, contract 0.001), 5 ETHUSD (inverse: the scalar path), 6 SOLUSDT-1 (one tier). */
static void lbook_init(lbook *b, uint64_t seed, uint32_t flags, int funding)
{
    tu_alloc_init(&b->a);
    b->e = tu_engine(&b->a, flags);
    b->n = 0;
    b->asset[0] = tu_asset(b->e, "USDT", 1.0, 6);
    b->asset[1] = tu_asset_w(b->e, "USDC", 1.0, 6, 0.95, 0.98, 1.02, 1.01);
    risk_value_tier vt[2] = {{1.0, 1.0}, {5.0, 0.8}};
    risk_asset_spec bs = RISK_ASSET_SPEC_INIT;
    bs.symbol = "BTC";
    bs.price = prices0[2];
    bs.weight_init = 0.9;
    bs.weight_maint = 0.95;
    bs.liab_weight_init = 1.1;
    bs.liab_weight_maint = 1.05;
    bs.value_tiers = vt;
    bs.n_value_tiers = 2;
    tu_assert_status(risk_engine_add_asset(b->e, &bs, &b->asset[2]), RISK_OK);
    b->asset[3] = tu_asset_w(b->e, "ETH", prices0[3], 8, 0.8, 0.9, 1.2, 1.1);
    b->asset[4] = tu_asset(b->e, "SOL", prices0[4], 8);
    risk_margin_tier t3[3] = {tu_tier(50000.0, 0.01, 50.0), tu_tier(250000.0, 0.025, 20.0), tu_tier(1e15, 0.05, 10.0)};
    risk_margin_tier t4[4] = {tu_tier(20000.0, 0.005, 100.0), tu_tier(100000.0, 0.01, 50.0),
                              tu_tier(400000.0, 0.02, 25.0), tu_tier(1e15, 0.05, 10.0)};
    risk_margin_tier t6[6] = {tu_tier(10000.0, 0.005, 100.0), tu_tier(20000.0, 0.01, 75.0),
                              tu_tier(40000.0, 0.015, 50.0),  tu_tier(80000.0, 0.02, 40.0),
                              tu_tier(160000.0, 0.03, 25.0),  tu_tier(1e15, 0.05, 10.0)};
    risk_margin_tier t1[1] = {tu_tier(1e15, 0.02, 25.0)};
    uint32_t usdt = b->asset[0], usdc = b->asset[1];
    b->inst[0] = tu_linear(b->e, "BTCUSDT", b->asset[2], usdt, 1.0, 0.001, 0.1, mark0[0], t3, 3);
    b->inst[1] = tu_linear(b->e, "ETHUSDT", b->asset[3], usdt, 0.1, 1.0, 0.01, mark0[1], t4, 4);
    b->inst[2] = tu_linear(b->e, "SOLUSDT", b->asset[4], usdt, 1.0, 0.1, 0.001, mark0[2], t6, 6);
    b->inst[3] = tu_linear(b->e, "BTCUSDC", b->asset[2], usdc, 1.0, 0.001, 0.1, mark0[3], t3, 3);
    risk_instrument_spec fut = tu_linear_spec("BTC-FUT", b->asset[2], usdt, 0.001, 1.0, 0.5, mark0[4], t3, 3);
    fut.kind = RISK_KIND_FUTURE;
    fut.expiry_unix_s = 1798761600; /* 2027-01-01 */
    b->inst[4] = tu_instrument(b->e, &fut);
    b->inst[5] = tu_inverse(b->e, "ETHUSD", b->asset[3], 10.0, 1.0, 0.01, mark0[5], t3, 3);
    b->inst[6] = tu_linear(b->e, "SOLUSDT-1", b->asset[4], usdt, 1.0, 0.1, 0.001, mark0[6], t1, 1);
    tu_rng r;
    tu_rng_seed(&r, seed);
    for (size_t k = 0; k < N_ACC; k++) {
        int hedge = tu_rng_int(&r, 0, 4) == 0;
        risk_account *acc =
            tu_account(b->e, 500 + k, RISK_MARGIN_CROSS, hedge ? RISK_POSITION_HEDGE : RISK_POSITION_ONE_WAY);
        b->acc[b->n++] = acc;
        int kind = tu_rng_int(&r, 0, 5);
        if (kind == 0) { /* a USDT loan against BTC */
            double btc = tu_rng_range(&r, 0.1, 7.0);
            tu_balance(acc, b->asset[2], btc);
            tu_balance(acc, usdt, -floor(btc * 30000.0 * tu_rng_range(&r, 0.3, 0.8)));
        } else if (kind != 1) { /* kind 1: no balance at all */
            tu_balance(acc, usdt, floor(tu_rng_range(&r, 50.0, 30000.0)));
            if (tu_rng_int(&r, 0, 2) == 0)
                tu_balance(acc, b->asset[tu_rng_int(&r, 2, 4)], tu_rng_range(&r, 0.01, 3.0));
            if (tu_rng_int(&r, 0, 3) == 0)
                tu_balance(acc, usdc, floor(tu_rng_range(&r, 100.0, 5000.0)));
        }
        if (tu_rng_int(&r, 0, 3) == 0)
            tu_leverage(acc, b->inst[tu_rng_int(&r, 0, N_INST - 1)], tu_rng_int(&r, 0, 1) ? 5.0 : 20.0);
        int n_pos = tu_rng_int(&r, 0, 8);
        for (int p = 0; p < n_pos; p++) {
            int i = tu_rng_int(&r, 0, N_INST - 1);
            if (i == 5 && tu_rng_int(&r, 0, 3) != 0) /* inverse: a few accounts only */
                i = 0;
            double notional = exp(tu_rng_range(&r, log(500.0), log(400000.0)));
            double cs = i == 1 ? 0.1 : i == 4 ? 0.001 : i == 5 ? 10.0 : 1.0;
            double lot = i == 0 || i == 3 ? 0.001 : i == 2 || i == 6 ? 0.1 : 1.0;
            double contracts = i == 5 ? notional / cs : notional / (mark0[i] * cs);
            double qty = floor(contracts / lot) * lot;
            if (qty <= 0.0)
                continue;
            int short_side = tu_rng_int(&r, 0, 1);
            uint32_t side = hedge ? (short_side ? RISK_SIDE_SHORT : RISK_SIDE_LONG) : RISK_SIDE_BOTH;
            risk_position *existing = NULL;
            if (risk_account_find_position(acc, b->inst[i], side, &existing) == RISK_OK)
                continue;
            double tick = i == 0 || i == 3 ? 0.1 : i == 4 ? 0.5 : i == 2 || i == 6 ? 0.001 : 0.01;
            double entry = floor(mark0[i] * tu_rng_range(&r, 0.9, 1.1) / tick) * tick;
            int iso = tu_rng_int(&r, 0, 15) == 0; /* an isolated position: the scalar path */
            double margin = iso ? floor(qty * cs * entry * 0.1 * 1e6) / 1e6 : 0.0;
            if (iso && i == 5)
                margin = floor(qty * cs / entry * 0.1 * 1e8) / 1e8;
            (void)tu_open(acc, b->inst[i], side, iso ? RISK_MARGIN_ISOLATED : RISK_MARGIN_DEFAULT,
                          hedge ? qty : (short_side ? -qty : qty), entry, margin);
        }
    }
    if (funding) { /* after the positions: each perpetual's holders have funding pending */
        const double rates[N_INST] = {0.0004, -0.0003, 0.0010, 0.0002, 0.0, 0.0001, -0.0007};
        for (int i = 0; i < N_INST; i++)
            if (i != 4) /* not the dated future */
                tu_assert_status(risk_engine_accrue_funding(b->e, b->inst[i], rates[i], rates[i], 0.0, 1700000000),
                                 RISK_OK);
    }
}

static void lbook_free(lbook *b)
{
    for (size_t k = 0; k < b->n; k++)
        risk_account_free(b->acc[k]);
    risk_engine_free(b->e);
    assert_int_equal(b->a.live_bytes, 0);
}

/* Moves in [-range, range] for BTC, ETH and SOL, a small depeg of USDC; USDT (the valuation asset)
 * never moves; row 0 is the zero scenario, row 1 a joint crash, row 2 a joint rally. */
static void lane_moves(uint64_t seed, double *moves, size_t S, double range)
{
    tu_rng r;
    tu_rng_seed(&r, seed);
    for (size_t s = 0; s < S; s++)
        for (size_t a = 0; a < N_ASSETS; a++) {
            double m = a == 0 ? 0.0 : a == 1 ? tu_rng_range(&r, -0.03, 0.01) : tu_rng_range(&r, -range, range);
            moves[s * N_ASSETS + a] = s == 0 ? 0.0 : m;
        }
    for (size_t a = 2; a < N_ASSETS && S > 2; a++) {
        moves[1 * N_ASSETS + a] = -range;
        moves[2 * N_ASSETS + a] = range;
    }
}

typedef struct lane_out {
    risk_stress_scenario book[S_MAX];
    double pnl[N_ACC * S_MAX], equity[N_ACC * S_MAX], health[N_ACC * S_MAX];
    uint32_t state[N_ACC * S_MAX];
    uint64_t ids[N_ACC];
    size_t n;
} lane_out;

/* outputs asked for: all, all but the health factor (the vector path may then skip the exact
 * health factor of scenarios clear of the thresholds), or the book results only */
enum { OUT_ALL, OUT_NO_HEALTH, OUT_BOOK };

static void run_out(const risk_engine *e, const risk_scenarios *sc, const char *simd, uint32_t threads, lane_out *o,
                    int what)
{
    tu_assert_status(setenv("RISK_STRESS_SIMD", simd, 1), 0);
    memset(o, 0xa5, sizeof *o);
    o->book[0].version = RISK_STRESS_SCENARIO_VERSION;
    int per = what != OUT_BOOK;
    int rc = risk_engine_stress(e, sc, o->book, per ? o->pnl : NULL, per ? o->equity : NULL,
                                what == OUT_ALL ? o->health : NULL, per ? o->state : NULL, per ? o->ids : NULL,
                                per ? N_ACC : 0, threads, &o->n);
    unsetenv("RISK_STRESS_SIMD");
    if (rc)
        print_error("%s\n", risk_engine_errmsg(e));
    tu_assert_status(rc, RISK_OK);
}

static void run(const risk_engine *e, const risk_scenarios *sc, const char *simd, uint32_t threads, lane_out *o)
{
    run_out(e, sc, simd, threads, o, OUT_ALL);
}

static void assert_same(const lane_out *got, const lane_out *want, size_t S)
{
    assert_int_equal(got->n, want->n);
    for (size_t s = 0; s < S; s++)
        assert_memory_equal(&got->book[s], &want->book[s], sizeof got->book[s]);
    for (size_t k = 0; k < want->n * S; k++) { /* bit for bit, one by one for a readable failure */
        tu_assert_bits(got->pnl[k], want->pnl[k]);
        tu_assert_bits(got->equity[k], want->equity[k]);
        tu_assert_bits(got->health[k], want->health[k]);
        assert_int_equal(got->state[k], want->state[k]);
    }
    assert_memory_equal(got->ids, want->ids, want->n * sizeof(uint64_t));
}

typedef struct lane_case {
    uint64_t seed;
    uint32_t flags;
    int funding, weighted;
    size_t S;
    double range;
    double lift; /* > 0: every move of BTC, ETH and SOL (row 0 too) is |m| + lift, all above today */
} lane_case;

static lane_out ref, got;

/* states seen over the cases that must reach every state */
static size_t seen[4];

static void lane_check(const lane_case *c)
{
    lbook b;
    lbook_init(&b, c->seed, c->flags, c->funding);
    static double moves[S_MAX * N_ASSETS];
    double w[S_MAX];
    lane_moves(c->seed * 7 + 1, moves, c->S, c->range);
    if (c->lift > 0.0) /* the market as it is lies below every scenario's (the vector path's base lane) */
        for (size_t k = 0; k < c->S * N_ASSETS; k++)
            if (k % N_ASSETS >= 2)
                moves[k] = fabs(moves[k]) + c->lift;
    for (size_t s = 0; s < c->S; s++)
        w[s] = s % 3 == 1 ? 0.25 : 1.0;
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = c->S;
    sc.n_assets = N_ASSETS;
    sc.price_moves = moves;
    sc.weights = c->weighted ? w : NULL;
    size_t S = c->S;
    /* the scalar path, checked against the per-account call */
    run(b.e, &sc, "off", 1, &ref);
    assert_int_equal(ref.n, b.n);
    static double pnl[S_MAX];
    static risk_account_summary sums[S_MAX];
    for (size_t k = 0; k < b.n; k++) {
        sums[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
        tu_assert_status(risk_account_scenario_pnl(b.acc[k], &sc, pnl, sums), RISK_OK);
        for (size_t s = 0; s < S; s++) {
            tu_assert_bits(ref.pnl[k * S + s], pnl[s]);
            tu_assert_bits(ref.equity[k * S + s], sums[s].equity);
            tu_assert_bits(ref.health[k * S + s], sums[s].health_factor);
            assert_int_equal(ref.state[k * S + s], sums[s].state);
            seen[sums[s].state]++;
        }
    }
    /* every kernel and thread count against it */
    const char *simd[4] = {"baseline", "avx2", "avx512", ""}; /* "": the machine's best */
    for (int v = 0; v < 4; v++)
        for (uint32_t th = 1; th <= 3; th++) {
            run(b.e, &sc, simd[v], th, &got);
            assert_same(&got, &ref, S);
        }
    /* without the health factor, and book results alone */
    for (int v = 0; v < 4; v++) {
        run_out(b.e, &sc, simd[v], 2, &got, OUT_NO_HEALTH);
        assert_int_equal(got.n, ref.n);
        for (size_t s = 0; s < S; s++)
            assert_memory_equal(&got.book[s], &ref.book[s], sizeof got.book[s]);
        for (size_t k = 0; k < ref.n * S; k++) {
            tu_assert_bits(got.pnl[k], ref.pnl[k]);
            tu_assert_bits(got.equity[k], ref.equity[k]);
            assert_int_equal(got.state[k], ref.state[k]);
        }
        run_out(b.e, &sc, simd[v], 1, &got, OUT_BOOK);
        for (size_t s = 0; s < S; s++)
            assert_memory_equal(&got.book[s], &ref.book[s], sizeof got.book[s]);
    }
    lbook_free(&b);
}

/* The vector path against evaluation after actually moving the prices (the contract of
 * docs/stress.md 1.4), scenario by scenario, for every account. */
static void lane_against_moving_prices(uint64_t seed, uint32_t flags, int funding, size_t S, double range)
{
    lbook b;
    lbook_init(&b, seed, flags, funding);
    static double moves[S_MAX * N_ASSETS];
    lane_moves(seed * 7 + 1, moves, S, range);
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = S;
    sc.n_assets = N_ASSETS;
    sc.price_moves = moves;
    run(b.e, &sc, "", 2, &got);
    risk_account_summary base[N_ACC];
    for (size_t k = 0; k < b.n; k++)
        base[k] = tu_eval(b.acc[k]);
    for (size_t s = 0; s < S; s++) {
        const double *m = &moves[s * N_ASSETS];
        for (uint32_t a = 0; a < N_ASSETS; a++)
            tu_price(b.e, b.asset[a], prices0[a] * (1.0 + m[a]));
        for (int i = 0; i < N_INST; i++)
            tu_mark(b.e, b.inst[i], mark0[i] * (1.0 + m[under[i]]));
        for (size_t k = 0; k < b.n; k++) {
            risk_account_summary now = tu_eval(b.acc[k]);
            tu_assert_bits(got.equity[k * S + s], now.equity);
            tu_assert_bits(got.health[k * S + s], now.health_factor);
            assert_int_equal(got.state[k * S + s], now.state);
            tu_assert_bits(got.pnl[k * S + s], now.equity - base[k].equity);
        }
    }
    for (uint32_t a = 0; a < N_ASSETS; a++)
        tu_price(b.e, b.asset[a], prices0[a]);
    for (int i = 0; i < N_INST; i++)
        tu_mark(b.e, b.inst[i], mark0[i]);
    lbook_free(&b);
}

static void test_stress_lanes_equal_scalar_path(void **state)
{
    (void)state;
    memset(seen, 0, sizeof seen);
    const lane_case cases[] = {
        {1, 0, 0, 0, 13, 0.3, 0.0},  /* a tail of 5 (8 lanes), 1 (4), 1 (2) */
        {2, 0, 0, 1, 8, 0.6, 0.0},   /* whole vectors, weights, tiers crossed */
        {3, 0, 0, 0, 1, 0.3, 0.0},   /* one scenario: the zero one */
        {4, 0, 0, 0, 9, 0.004, 0.0}, /* nearly every position in one tier */
        {5, RISK_ENGINE_NO_QUANTIZE, 0, 1, 13, 0.5, 0.0},
        {6, 0, 1, 0, 13, 0.4, 0.0},  /* pending funding */
        {7, 0, 0, 0, 100, 0.5, 0.0},  /* the bench's batch size */
        {8, 0, 0, 0, 16, 0.2, 0.05},  /* every price up: tiers crossed only from today's to the moved */
        {9, 0, 1, 1, 7, 0.2, 0.3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        lane_check(&cases[i]);
    /* the books reach every state, so every branch of the classification is compared */
    for (int st = 0; st < 4; st++)
        assert_true(seen[st] > 0);
}

static void test_stress_lanes_equal_moving_prices(void **state)
{
    (void)state;
    lane_against_moving_prices(11, 0, 0, 13, 0.4);
    lane_against_moving_prices(12, RISK_ENGINE_NO_QUANTIZE, 0, 9, 0.3);
    lane_against_moving_prices(13, 0, 1, 11, 0.5);
}

/* The book sums' deficit and loss (the negated sums of the vector path) by hand: two accounts,
 * one scenario that leaves one of them with negative equity. */
static void test_stress_lanes_deficit_by_hand(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e = tu_engine(&al, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), btc = tu_asset(e, "BTC", 30000.0, 8);
    risk_margin_tier t[1] = {tu_tier(1e15, 0.01, 50.0)};
    uint32_t perp = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 30000.0, t, 1);
    risk_account *x = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_account *y = tu_account(e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(x, usdt, 1000.0);
    tu_balance(y, usdt, 100000.0);
    tu_open_simple(x, perp, 1.0, 30000.0);  /* -50 % : -15000, equity -14000 */
    tu_open_simple(y, perp, -2.0, 30000.0); /* +30000 */
    double moves[2 * 2] = {0.0, -0.5, 0.0, 0.1};
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = 2;
    sc.n_assets = 2;
    sc.price_moves = moves;
    const char *simd[4] = {"baseline", "avx2", "avx512", "off"};
    for (int v = 0; v < 4; v++) {
        risk_stress_scenario book[2] = {RISK_STRESS_SCENARIO_INIT};
        size_t n = 0;
        tu_assert_status(setenv("RISK_STRESS_SIMD", simd[v], 1), 0);
        tu_assert_status(risk_engine_stress(e, &sc, book, NULL, NULL, NULL, NULL, NULL, 0, 1, &n), RISK_OK);
        unsetenv("RISK_STRESS_SIMD");
        tu_assert_bits(book[0].pnl, 15000.0);
        tu_assert_bits(book[0].loss, 15000.0);
        tu_assert_bits(book[0].deficit, 14000.0);
        assert_int_equal(book[0].n_bankrupt, 1);
        assert_int_equal(book[0].n_new_bankrupt, 1);
        tu_assert_bits(book[1].pnl, 3000.0 - 6000.0);
        tu_assert_bits(book[1].loss, 6000.0);
        tu_assert_bits(book[1].deficit, 0.0);
        assert_int_equal(book[1].n_bankrupt, 0);
        assert_int_equal(book[1].pnl_sum.hi * 4294967296LL + book[1].pnl_sum.lo, -3000000000LL);
    }
    risk_account_free(x);
    risk_account_free(y);
    risk_engine_free(e);
    assert_int_equal(al.live_bytes, 0);
}

/* The vector path's base lane (the market as it is) can lie outside every scenario's moves, and
 * in another margin tier: a hedged pair at 48,000 USDT notional each (tier 0, MM 480 each) with
 * 930 USDT is liquidatable now (h = 930 / 960); BTC +5 % puts both in tier 1 (MM 510 each, h =
 * 930 / 1020): liquidatable, not newly. Read with the scenarios' tier (450 each now) the account
 * would seem healthy now and newly liquidatable after. */
static void test_stress_lanes_base_lane_in_its_own_tier(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e = tu_engine(&al, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), btc = tu_asset(e, "BTC", 30000.0, 8);
    risk_margin_tier t[3] = {tu_tier(50000.0, 0.01, 50.0), tu_tier(250000.0, 0.025, 20.0), tu_tier(1e15, 0.05, 10.0)};
    uint32_t perp = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 30000.0, t, 3);
    risk_account *x = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    tu_balance(x, usdt, 930.0);
    (void)tu_open(x, perp, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 1.6, 30000.0, 0.0);
    (void)tu_open(x, perp, RISK_SIDE_SHORT, RISK_MARGIN_DEFAULT, 1.6, 30000.0, 0.0);
    assert_int_equal(tu_eval(x).state, RISK_STATE_LIQUIDATABLE);
    double moves[2] = {0.0, 0.05};
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = 1;
    sc.n_assets = 2;
    sc.price_moves = moves;
    const char *simd[4] = {"baseline", "avx2", "avx512", "off"};
    for (int v = 0; v < 4; v++)
        for (int with_health = 0; with_health < 2; with_health++) {
            risk_stress_scenario book[1] = {RISK_STRESS_SCENARIO_INIT};
            double pnl = 1.0, health = 0.0;
            uint32_t st = 9;
            size_t n = 0;
            tu_assert_status(setenv("RISK_STRESS_SIMD", simd[v], 1), 0);
            tu_assert_status(risk_engine_stress(e, &sc, book, &pnl, NULL, with_health ? &health : NULL, &st, NULL, 1,
                                                1, &n),
                             RISK_OK);
            unsetenv("RISK_STRESS_SIMD");
            assert_int_equal(st, RISK_STATE_LIQUIDATABLE);
            tu_assert_bits(pnl, 0.0);
            assert_int_equal(book[0].n_liquidatable, 1);
            assert_int_equal(book[0].n_new_liquidatable, 0);
            if (with_health)
                tu_assert_bits(health, 930.0 / 1020.0);
        }
    risk_account_free(x);
    risk_engine_free(e);
    assert_int_equal(al.live_bytes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress_lanes_equal_scalar_path),
        cmocka_unit_test(test_stress_lanes_equal_moving_prices),
        cmocka_unit_test(test_stress_lanes_deficit_by_hand),
        cmocka_unit_test(test_stress_lanes_base_lane_in_its_own_tier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
