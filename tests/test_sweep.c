/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sweep.c: the sweep's fast path for common accounts (core/evaluate.c) against the generic
 * path it replaces, bit for bit.
 *
 * Every test builds the same random book twice from one seed: once in an engine that takes the
 * fast path where it applies, once in an engine created with RISK_ENGINE_GENERIC_SWEEP, which
 * evaluates every account on the generic (reference) path. The books mix accounts the fast path
 * takes (linear perpetuals margined at the mark, cross and isolated, one-way and hedge, plain
 * balances, debts) with accounts it must leave to the generic path (inverse, entry-margined,
 * size premium, schedules over 16 tiers, value-tiered collateral), put notionals exactly on
 * tier caps and one lot either side, and span magnitudes from one lot to 1e9 USDT notionals.
 * Summaries from risk_engine_evaluate_all (1 and 2 threads) and risk_account_evaluate must be
 * identical to the last bit, before and after marks and prices move.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* RISK_ENGINE_SWEEP_IMAGE in the engines under test (not the references) in the third run of
 * the suite (main): the tiles' kernel against the generic path */
static uint32_t image_flag;

/* The sweep's kernel under RISK_SWEEP_SIMD: "avx512" or "off" (a test hook of the
 * library, src/core/internal.h) */
const char *risk__sweep_simd_isa(void);
/* The instrument count past which an engine keeps a sweep scratch (the same hook file) */
uint32_t risk__sweep_scratch_from(void);

#define N_ACCOUNTS 48
#define MAX_POS 12

typedef struct book {
    risk_engine *e;
    risk_account *acc[N_ACCOUNTS];
    uint32_t usdt, usdc, btc, eth, tiered;
    uint32_t inst[8];
    double mark[8];
    uint32_t n_inst;
    size_t refused; /* calls the engine refused while building (the same in both books) */
} book;

/* A schedule of n tiers with random increasing caps (from `first`), mmr rising and max leverage
 * falling with size. */
static size_t random_tiers(tu_rng *r, risk_margin_tier *t, size_t n, double first)
{
    double cap = first, mmr = 0.004, lev = 125.0;
    for (size_t k = 0; k < n; k++) {
        t[k] = tu_tier(cap, mmr, lev);
        cap = round(cap * tu_rng_range(r, 1.5, 6.0));
        mmr += tu_rng_range(r, 0.0, 0.02);
        if (mmr > 0.5)
            mmr = 0.5;
        lev = fmax(1.0, floor(lev / tu_rng_range(r, 1.0, 2.0)));
    }
    return n;
}

static double on_step(double x, double step)
{
    return round(x / step) * step;
}

/* Builds the book of `seed` into b->e (an engine with `flags`). Both engines of a test see the
 * same calls in the same order with the same arguments, so the same book. */
static void build(book *b, risk_engine *e, uint64_t seed)
{
    tu_rng r;
    tu_rng_seed(&r, seed);
    memset(b, 0, sizeof *b);
    b->e = e;
    b->usdt = tu_asset(e, "USDT", 1.0, 6);
    b->usdc = tu_asset_w(e, "USDC", 0.9998, 6, tu_rng_range(&r, 0.8, 0.9), tu_rng_range(&r, 0.9, 1.0), 1.05, 1.02);
    b->btc = tu_asset(e, "BTC", on_step(tu_rng_range(&r, 20000.0, 90000.0), 0.01), 8);
    b->eth = tu_asset(e, "ETH", on_step(tu_rng_range(&r, 1000.0, 4000.0), 0.01), 8);
    risk_value_tier vt[2] = {{10.0, 1.0}, {100.0, 0.5}};
    risk_asset_spec as = RISK_ASSET_SPEC_INIT;
    as.symbol = "TIERED";
    as.price = 3.5;
    as.decimals = 4;
    as.value_tiers = vt;
    as.n_value_tiers = 2;
    uint32_t id = RISK_ID_NONE;
    tu_assert_status(risk_engine_add_asset(e, &as, &id), RISK_OK);
    b->tiered = id;

    risk_margin_tier t[24];
    double btc_mark = on_step(tu_rng_range(&r, 20000.0, 90000.0), 0.1);
    /* odd seeds: every fast-path schedule has at most 4 tiers, so that the sweep takes its
     * shorter tier search (the 20-tier instrument below is not on the fast path) */
    int small = (int)(seed & 1u);
    /* 0: Binance BTCUSDT brackets (10 tiers), or their first 4 */
    b->mark[b->n_inst] = btc_mark;
    if (small)
        b->inst[b->n_inst++] = tu_linear(e, "BTCUSDT", b->btc, b->usdt, 1.0, 0.001, 0.1, btc_mark, tu_binance_btcusdt, 4);
    else
        b->inst[b->n_inst++] = tu_binance_btcusdt_perp(e, "BTCUSDT", b->btc, b->usdt, btc_mark);
    /* 1: ETHUSDT, 1..16 random tiers (1..4 for odd seeds) */
    size_t n1 = random_tiers(&r, t, (size_t)tu_rng_int(&r, 1, small ? 4 : 16), 10000.0);
    b->mark[b->n_inst] = on_step(tu_rng_range(&r, 1000.0, 4000.0), 0.01);
    b->inst[b->n_inst] = tu_linear(e, "ETHUSDT", b->eth, b->usdt, 1.0, 0.01, 0.01, b->mark[b->n_inst], t, n1);
    b->n_inst++;
    /* 2: tier edges: contract 1, lot 1, mark 10, caps multiples of 10 (a cap is hit exactly by
     * a whole number of lots) */
    risk_margin_tier edge[4] = {tu_tier(1000.0, 0.01, 50.0), tu_tier(5000.0, 0.02, 25.0), tu_tier(20000.0, 0.05, 10.0),
                                tu_tier(100000.0, 0.1, 5.0)};
    b->mark[b->n_inst] = 10.0;
    b->inst[b->n_inst++] = tu_linear(e, "EDGEUSDT", b->eth, b->usdt, 1.0, 1.0, 0.1, 10.0, edge, 4);
    /* 3: 20 tiers: over RISK__SWEEP_CAPS, generic */
    size_t n3 = random_tiers(&r, t, 20, 1000.0);
    b->mark[b->n_inst] = btc_mark;
    b->inst[b->n_inst++] = tu_linear(e, "MANYUSDT", b->btc, b->usdt, 0.001, 0.001, 0.1, btc_mark, t, n3);
    /* 4: inverse BTCUSD, generic */
    risk_margin_tier inv[2] = {tu_tier(50.0, 0.005, 100.0), tu_tier(500.0, 0.01, 50.0)};
    b->mark[b->n_inst] = on_step(btc_mark, 0.5);
    b->inst[b->n_inst++] = tu_inverse(e, "BTCUSD", b->btc, 100.0, 1.0, 0.5, on_step(btc_mark, 0.5), inv, 2);
    /* 5: margined at the entry (Bybit), generic */
    b->mark[b->n_inst] = on_step(tu_rng_range(&r, 1000.0, 4000.0), 0.01);
    risk_instrument_spec s = tu_linear_spec("ETHPERP", b->eth, b->usdc, 0.1, 0.1, 0.01, b->mark[b->n_inst], edge, 4);
    s.mm_price = RISK_MM_PRICE_ENTRY;
    b->inst[b->n_inst++] = tu_instrument(e, &s);
    /* 6: USDC-settled, its size premium switched on after the positions open (below) */
    size_t n6 = random_tiers(&r, t, 3, 50000.0);
    b->mark[b->n_inst] = btc_mark;
    b->inst[b->n_inst++] = tu_linear(e, "BTCUSDC", b->btc, b->usdc, 0.01, 0.01, 0.1, btc_mark, t, n6);

    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        uint32_t mode = tu_rng_int(&r, 0, 3) == 0 ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS;
        uint32_t pmode = tu_rng_int(&r, 0, 2) == 0 ? RISK_POSITION_HEDGE : RISK_POSITION_ONE_WAY;
        risk_account *a = tu_account(e, 1000 + i, mode, pmode);
        b->acc[i] = a;
        /* balances: USDT from a cent to 1e9 (a debt one time in six), USDC, BTC, rarely tiered */
        double usdt = on_step(pow(10.0, tu_rng_range(&r, -2.0, 9.0)), 1e-6);
        if (tu_rng_int(&r, 0, 5) == 0)
            usdt = -usdt / 10.0;
        tu_balance(a, b->usdt, usdt);
        if (tu_rng_int(&r, 0, 2) == 0)
            tu_balance(a, b->usdc, on_step(tu_rng_range(&r, -1e5, 1e6), 1e-6));
        if (tu_rng_int(&r, 0, 3) == 0)
            tu_balance(a, b->btc, on_step(tu_rng_range(&r, 0.0, 50.0), 1e-8));
        if (tu_rng_int(&r, 0, 15) == 0)
            tu_balance(a, b->tiered, on_step(tu_rng_range(&r, 0.0, 500.0), 1e-4));
        /* most accounts hold only fast-path instruments (0..2), a quarter also others */
        int mixed = tu_rng_int(&r, 0, 3) == 0;
        /* each instrument at most once per leg (one-way: one position, hedge: a long and a
         * short leg), in a random order */
        uint32_t order[14];
        uint32_t n_legs = pmode == RISK_POSITION_HEDGE ? 14u : 7u;
        for (uint32_t k = 0; k < n_legs; k++)
            order[k] = k;
        for (uint32_t k = n_legs - 1; k > 0; k--) {
            uint32_t j = (uint32_t)tu_rng_int(&r, 0, (int)k), x = order[k];
            order[k] = order[j];
            order[j] = x;
        }
        int n_pos = tu_rng_int(&r, 0, MAX_POS);
        for (int k = 0, opened = 0; k < (int)n_legs && opened < n_pos; k++) {
            uint32_t which = order[k] % 7u;
            if (!mixed && which > 2)
                continue;
            opened++;
            uint32_t in = b->inst[which];
            risk_position_spec p = RISK_POSITION_SPEC_INIT;
            p.instrument = in;
            double dir;
            if (pmode == RISK_POSITION_HEDGE) {
                p.side = order[k] < 7 ? RISK_SIDE_LONG : RISK_SIDE_SHORT;
                dir = 1.0; /* a leg's qty is positive; its side gives the direction */
            } else {
                p.side = RISK_SIDE_BOTH;
                dir = tu_rng_int(&r, 0, 1) ? 1.0 : -1.0;
            }
            double lots;
            if (which == 2) { /* on a cap of EDGEUSDT (caps / mark 10), or one lot either side */
                static const double caps_lots[4] = {100.0, 500.0, 2000.0, 10000.0};
                lots = caps_lots[tu_rng_int(&r, 0, 3)] + (double)tu_rng_int(&r, -1, 1);
            } else {
                lots = floor(pow(10.0, tu_rng_range(&r, 0.0, 6.5)));
            }
            double lot = which == 0 ? 0.001 : which == 1 ? 0.01 : which == 2 ? 1.0 : which == 3 ? 0.001
                       : which == 4 ? 1.0 : which == 5 ? 0.1 : 0.01;
            double tick = which == 1 || which == 5 ? 0.01 : which == 4 ? 0.5 : 0.1;
            double mark = b->mark[which];
            p.qty = dir * lots * lot;
            p.entry = on_step(mark * tu_rng_range(&r, 0.7, 1.3), tick);
            p.margin_mode = tu_rng_int(&r, 0, 4) == 0 ? RISK_MARGIN_ISOLATED : RISK_MARGIN_DEFAULT;
            int isolated = p.margin_mode == RISK_MARGIN_ISOLATED || mode == RISK_MARGIN_ISOLATED;
            p.isolated_margin = isolated ? on_step(tu_rng_range(&r, 0.0, 2e5), 1e-6) : 0.0;
            /* the same calls on both engines, so the same refusals (a notional past the
             * domain): the builds must agree on them, which run_seeds checks */
            risk_position *h = NULL;
            int rc = risk_account_open_position(a, &p, &h);
            if (tu_rng_int(&r, 0, 3) == 0) {
                double lev = floor(tu_rng_range(&r, 1.0, 60.0));
                rc |= risk_account_set_leverage(a, in, lev);
            }
            b->refused += rc != RISK_OK;
        }
    }
    if (tu_rng_int(&r, 0, 1)) {
        risk_size_premium sp = RISK_SIZE_PREMIUM_INIT;
        sp.imf = 0.002;
        sp.base_share = 0.5;
        tu_assert_status(risk_engine_set_instrument_size_premium(e, b->inst[6], &sp), RISK_OK);
    }
}

/* Moves every mark and price by the same random factors in both books (round r of a seed):
 * small moves, and now and then a jump (x0.2 .. x5). */
static void move(book *x, book *y, tu_rng *r)
{
    static const double ticks[7] = {0.1, 0.01, 0.1, 0.1, 0.5, 0.01, 0.1};
    int jump = tu_rng_int(r, 0, 4) == 0;
    for (uint32_t k = 0; k < x->n_inst; k++) {
        double f = jump ? pow(5.0, tu_rng_range(r, -1.0, 1.0)) : tu_rng_range(r, 0.98, 1.02);
        double m = fmax(ticks[k], on_step(x->mark[k] * f, ticks[k]));
        x->mark[k] = y->mark[k] = m;
        tu_mark(x->e, x->inst[k], m);
        tu_mark(y->e, y->inst[k], m);
    }
    double f = tu_rng_range(r, 0.9, 1.1);
    double p = on_step(0.9998 * f, 1e-4);
    tu_price(x->e, x->usdc, p);
    tu_price(y->e, y->usdc, p);
    p = on_step(40000.0 * f, 0.01);
    tu_price(x->e, x->btc, p);
    tu_price(y->e, y->btc, p);
}

static void assert_same_summary(const risk_account_summary *got, const risk_account_summary *want, uint64_t seed,
                                size_t k)
{
    if (memcmp(got, want, sizeof *got) == 0)
        return;
    print_error("seed %llu account %zu: fast and generic summaries differ\n", (unsigned long long)seed, k);
    assert_int_equal(got->state, want->state);
    tu_assert_bits(got->equity, want->equity);
    tu_assert_bits(got->collateral_value, want->collateral_value);
    tu_assert_bits(got->unrealized_pnl, want->unrealized_pnl);
    tu_assert_bits(got->initial_margin, want->initial_margin);
    tu_assert_bits(got->maintenance_margin, want->maintenance_margin);
    tu_assert_bits(got->available, want->available);
    tu_assert_bits(got->health_factor, want->health_factor);
    tu_assert_bits(got->margin_ratio, want->margin_ratio);
    tu_assert_bits(got->ltv, want->ltv);
    tu_assert_bits(got->ltv_buffer, want->ltv_buffer);
    tu_assert_bits(got->leverage, want->leverage);
    tu_assert_bits(got->collateral_init, want->collateral_init);
    tu_assert_bits(got->collateral_maint, want->collateral_maint);
    tu_assert_bits(got->liabilities, want->liabilities);
    tu_assert_bits(got->isolated_margin, want->isolated_margin);
    assert_int_equal(got->n_positions, want->n_positions);
    assert_int_equal(got->n_isolated_liquidatable, want->n_isolated_liquidatable);
    fail();
}

/* Evaluates both books every way and compares; returns how many accounts the states counted
 * as not healthy (so that a test can require the books to reach every state). */
static void compare_books(const book *fast, const book *ref, uint64_t seed, size_t *states)
{
    risk_account_summary sf[N_ACCOUNTS], sr[N_ACCOUNTS], s2[N_ACCOUNTS];
    uint64_t idf[N_ACCOUNTS], idr[N_ACCOUNTS];
    for (size_t k = 0; k < N_ACCOUNTS; k++) {
        memset(&sf[k], 0, sizeof sf[k]);
        memset(&sr[k], 0, sizeof sr[k]);
        memset(&s2[k], 0, sizeof s2[k]);
        sf[k].version = sr[k].version = s2[k].version = RISK_ACCOUNT_SUMMARY_VERSION;
    }
    size_t nf = 0, nr = 0, n2 = 0;
    tu_assert_status(risk_engine_evaluate_all(fast->e, sf, idf, N_ACCOUNTS, 1, &nf), RISK_OK);
    tu_assert_status(risk_engine_evaluate_all(ref->e, sr, idr, N_ACCOUNTS, 1, &nr), RISK_OK);
    tu_assert_status(risk_engine_evaluate_all(fast->e, s2, NULL, N_ACCOUNTS, 2, &n2), RISK_OK);
    assert_int_equal(nf, N_ACCOUNTS);
    assert_int_equal(nr, N_ACCOUNTS);
    assert_int_equal(n2, N_ACCOUNTS);
    /* the column call evaluates through the same fast path */
    risk_summary_columns cols = RISK_SUMMARY_COLUMNS_INIT;
    double c_equity[N_ACCOUNTS], c_mm[N_ACCOUNTS], c_im[N_ACCOUNTS], c_hf[N_ACCOUNTS];
    uint32_t c_state[N_ACCOUNTS];
    cols.equity = c_equity;
    cols.maintenance_margin = c_mm;
    cols.initial_margin = c_im;
    cols.health_factor = c_hf;
    cols.state = c_state;
    size_t nc = 0;
    tu_assert_status(risk_engine_evaluate_columns(fast->e, &cols, N_ACCOUNTS, 1, &nc), RISK_OK);
    assert_int_equal(nc, N_ACCOUNTS);
    for (size_t k = 0; k < N_ACCOUNTS; k++) {
        tu_assert_bits(c_equity[k], sr[k].equity);
        tu_assert_bits(c_mm[k], sr[k].maintenance_margin);
        tu_assert_bits(c_im[k], sr[k].initial_margin);
        tu_assert_bits(c_hf[k], sr[k].health_factor);
        assert_int_equal(c_state[k], sr[k].state);
    }
    for (size_t k = 0; k < N_ACCOUNTS; k++) {
        assert_int_equal(idf[k], idr[k]);
        /* the books are the same book: the same positions and balances */
        assert_int_equal(risk_account_position_count(fast->acc[k]), risk_account_position_count(ref->acc[k]));
        assert_same_summary(&sf[k], &sr[k], seed, k);
        assert_same_summary(&s2[k], &sr[k], seed, k);
        risk_account_summary one = tu_eval(fast->acc[k]);
        assert_same_summary(&one, &sr[k], seed, k);
        states[sr[k].state]++;
    }
}

/* Ten more instruments nobody holds: an engine of over 16 instruments, whose AVX-512 sweep looks
 * instrument fields up by gathers rather than permutes (evaluate.c, SIMD_INSTS). */
static void add_idle_instruments(book *b)
{
    const risk_margin_tier t2[2] = {tu_tier(1e5, 0.01, 50.0), tu_tier(1e12, 0.02, 25.0)};
    for (int k = 0; k < 10; k++) {
        char sym[16];
        snprintf(sym, sizeof sym, "IDLE%dUSDT", k);
        (void)tu_linear(b->e, sym, b->eth, b->usdt, 1.0, 0.01, 0.01, 100.0 + k, t2, 2);
    }
}

/* One funding period in both books (round r of a seed): every perpetual accrues the same random
 * rates (its longs and shorts apart, a tenth of a percent at most) at time t, and one account in
 * five settles what it has pending, so that positions hold different last indices. */
static size_t settled; /* positions that settled a non-zero amount (the tests require some) */

static void accrue(book *x, book *y, tu_rng *r, int64_t t)
{
    for (uint32_t k = 0; k < x->n_inst; k++) {
        double rl = tu_rng_range(r, -0.001, 0.001), rs = tu_rng_range(r, -0.001, 0.001);
        int rc = risk_engine_accrue_funding(x->e, x->inst[k], rl, rs, 0.0, t);
        assert_int_equal(risk_engine_accrue_funding(y->e, y->inst[k], rl, rs, 0.0, t), rc);
    }
    for (size_t a = 0; a < N_ACCOUNTS; a++)
        if (tu_rng_int(r, 0, 4) == 0) {
            risk_funding_result fx = RISK_FUNDING_RESULT_INIT, fy = RISK_FUNDING_RESULT_INIT;
            tu_assert_status(risk_account_settle_funding(x->acc[a], &fx), RISK_OK);
            tu_assert_status(risk_account_settle_funding(y->acc[a], &fy), RISK_OK);
            settled += fx.n_positions;
        }
}

static void run_seeds_idle(uint64_t first, uint64_t n, uint32_t extra_flags, int idle)
{
    size_t states[4] = {0, 0, 0, 0};
    for (uint64_t seed = first; seed < first + n; seed++) {
        tu_alloc af, ar;
        tu_alloc_init(&af);
        tu_alloc_init(&ar);
        book fast, ref;
        build(&fast, tu_engine(&af, extra_flags | image_flag), seed);
        build(&ref, tu_engine(&ar, extra_flags | RISK_ENGINE_GENERIC_SWEEP), seed);
        assert_int_equal(fast.refused, ref.refused);
        if (idle) {
            add_idle_instruments(&fast);
            add_idle_instruments(&ref);
        }
        tu_rng r;
        tu_rng_seed(&r, seed ^ 0x9e3779b97f4a7c15ull);
        /* seeds divisible by 3: funding accrues from the third round on (pending funding on
         * every path of the sweep) */
        for (int round = 0; round < 6; round++) {
            if (seed % 3 == 0 && round >= 2)
                accrue(&fast, &ref, &r, 1700000000 + 28800 * round);
            compare_books(&fast, &ref, seed, states);
            move(&fast, &ref, &r);
        }
        for (size_t k = 0; k < N_ACCOUNTS; k++) {
            risk_account_free(fast.acc[k]);
            risk_account_free(ref.acc[k]);
        }
        risk_engine_free(fast.e);
        risk_engine_free(ref.e);
    }
    /* the books must reach every state, or the comparison misses the paths that lead there */
    for (int s = 0; s < 4; s++)
        assert_true(states[s] > 0);
    /* and some positions must have settled funding (seeds divisible by 3 accrue it) */
    if (first % 3 == 0 || n >= 3)
        assert_true(settled > 0);
}

static void run_seeds(uint64_t first, uint64_t n, uint32_t extra_flags)
{
    run_seeds_idle(first, n, extra_flags, 0);
}

static void test_sweep_fast_equals_generic_many_instruments(void **state)
{
    (void)state;
    run_seeds_idle(2001, 40, 0, 1);
}

static void test_sweep_fast_equals_generic_quantized(void **state)
{
    (void)state;
    run_seeds(1, 150, 0);
}

static void test_sweep_fast_equals_generic_unquantized(void **state)
{
    (void)state;
    run_seeds(1001, 60, RISK_ENGINE_NO_QUANTIZE);
}

/* The reference flag and the image's are known engine flags; an unknown one is still refused. */
static void test_sweep_generic_flag_accepted_and_unknown_refused(void **state)
{
    (void)state;
    risk_engine *e = NULL;
    risk_engine_options o = RISK_ENGINE_OPTIONS_INIT;
    o.flags = RISK_ENGINE_GENERIC_SWEEP;
    tu_assert_status(risk_engine_new(&e, &o), RISK_OK);
    risk_engine_free(e);
    e = NULL;
    o.flags = RISK_ENGINE_SWEEP_IMAGE | RISK_ENGINE_NO_QUANTIZE;
    tu_assert_status(risk_engine_new(&e, &o), RISK_OK);
    risk_engine_free(e);
    e = NULL;
    o.flags = 0x8u;
    tu_assert_status(risk_engine_new(&e, &o), RISK_EINVAL);
    assert_null(e);
}

/* Published brackets through the fast path: Binance BTCUSDT (W5 in research/cex-anchors.md:
 * caps 50k .. 500M, MMR 0.4 % .. 50 %, published cum 0 .. 100,016,300). At a notional exactly on
 * a cap the bracket of that cap applies (caps inclusive), one lot (0.001 BTC) above it the next:
 * MM = N x mmr - cum with the published cum, IM = N / max leverage of the bracket. */
static void test_sweep_binance_brackets_on_the_fast_path(void **state)
{
    (void)state;
    static const double published_cum[TU_BINANCE_BTCUSDT_TIERS] = {
        0.0, 50.0, 1300.0, 16300.0, 266300.0, 1266300.0, 2516300.0, 5016300.0, 25016300.0, 100016300.0};
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e = tu_engine(&al, RISK_ENGINE_NO_QUANTIZE | image_flag);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), btc = tu_asset(e, "BTC", 50000.0, 8);
    uint32_t in = tu_binance_btcusdt_perp(e, "BTCUSDT", btc, usdt, 50000.0);
    for (size_t k = 0; k + 1 < TU_BINANCE_BTCUSDT_TIERS; k++) {
        double cap = tu_binance_btcusdt[k].notional_cap;
        double qtys[2] = {cap / 50000.0, cap / 50000.0 + 0.001}; /* on the cap, one lot above */
        for (size_t j = 0; j < 2; j++) {
            risk_account *a = tu_account(e, 1 + k * 2 + j, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
            tu_balance(a, usdt, 1e9);
            tu_open_simple(a, in, qtys[j], 50000.0);
            risk_account_summary s = tu_eval(a);
            double n = qtys[j] * 50000.0;
            const risk_margin_tier *t = &tu_binance_btcusdt[k + j];
            tu_assert_rel(s.maintenance_margin, n * t->mmr - published_cum[k + j], 1e-12);
            tu_assert_rel(s.initial_margin, n / t->max_leverage, 1e-12);
            risk_account_free(a);
        }
    }
    risk_engine_free(e);
}

/* A book whose summaries pass 16 MiB, where the AVX-512 sweep writes whole groups of 8 with
 * non-temporal stores (evaluate.c, SIMD_STREAM_BYTES): runs of common accounts broken by
 * accounts it does not take (over 8 positions, an inverse position, a tiered balance), the
 * output at both alignments, 1 and 2 threads, against the generic path bit for bit. On a CPU
 * without AVX-512 it checks the scalar paths the same way. */
#define BIG_ACCOUNTS 126000
/* unit 0: contract sizes 1 and 0.01 and an inverse instrument; 1: no inverse instrument (every
 * settle price 1: the SIMD sweep's variant without the settle price); 2: and every contract
 * size 1 (its variant without either); 3: as 2 with a 20-tier USDT perpetual (not on the fast
 * path), which must keep the sweep off those variants. idle: instruments nobody holds, made
 * first, so that the held ones have ids from `idle` on: over 16 instruments the AVX-512 sweep
 * gathers (from ids of 16 and more), over 128 the scalar table is allocated (SWEEP_TABLE_MAX). */
static void big_book(risk_engine *e, uint32_t *inst, risk_account **acc, uint32_t n_accounts, int unit,
                     uint32_t idle)
{
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), btc = tu_asset(e, "BTC", 40000.0, 8);
    const risk_margin_tier t2[2] = {tu_tier(1e5, 0.01, 50.0), tu_tier(1e12, 0.02, 25.0)};
    uint32_t idle_inst[512];
    for (uint32_t k = 0; k < idle && k < 512; k++) {
        char isym[24];
        snprintf(isym, sizeof isym, "IDLE%uUSDT", k);
        idle_inst[k] = tu_linear(e, isym, btc, usdt, 1.0, 0.001, 0.5, 100.0 + k, t2, 2);
    }
    risk_asset_spec as = RISK_ASSET_SPEC_INIT;
    risk_value_tier vt[2] = {{100.0, 0.9}, {INFINITY, 0.5}};
    as.symbol = "TIER";
    as.price = 3.0;
    as.decimals = 4;
    as.value_tiers = vt;
    as.n_value_tiers = 2;
    uint32_t tiered;
    tu_assert_status(risk_engine_add_asset(e, &as, &tiered), RISK_OK);
    const risk_margin_tier t3[3] = {tu_tier(50000.0, 0.004, 125.0), tu_tier(250000.0, 0.005, 100.0),
                                    tu_tier(1e12, 0.01, 50.0)};
    static const char *const sym[5] = {"AUSDT", "BUSDT", "CUSDT", "DUSDT", "EUSDT"};
    for (int k = 0; k < 5; k++) /* even: contract 1, lot 0.001 at 40,000; odd: contract 0.01, lot 0.01 at 2,500 */
        inst[k] = k % 2 ? tu_linear(e, sym[k], btc, usdt, unit >= 2 ? 1.0 : 0.01, 0.01, 0.01, 2500.0, t3, 3)
                        : tu_linear(e, sym[k], btc, usdt, 1.0, 0.001, 0.5, 40000.0, t3, 3);
    inst[5] = unit ? inst[0] : tu_inverse(e, "AUSD", btc, 100.0, 1.0, 0.5, 40000.0, t3, 3);
    if (unit == 3) {
        risk_margin_tier t20[20];
        for (int k = 0; k < 20; k++)
            t20[k] = tu_tier(k == 19 ? 1e15 : 1000.0 * pow(2.0, k), 0.004 + 0.001 * k, 125.0 - 5.0 * k);
        inst[5] = tu_linear(e, "MANYUSDT", btc, usdt, 1.0, 0.001, 0.5, 40000.0, t20, 20);
    }
    tu_rng r;
    tu_rng_seed(&r, 77);
    for (uint32_t i = 0; i < n_accounts; i++) {
        risk_account *a = tu_account(e, 5000 + i, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
        acc[i] = a;
        tu_balance(a, usdt, on_step(pow(10.0, tu_rng_range(&r, 1.0, 6.0)), 1e-6));
        int odd = tu_rng_int(&r, 0, 99);
        if (odd == 0)
            tu_balance(a, tiered, 250.0);
        int n = odd == 1 ? 9 : tu_rng_int(&r, 0, 3);
        for (int k = 0; k < n; k++) { /* legs: each instrument long, then short */
            uint32_t w = odd == 2 && k == 0 && unit != 1 && unit != 2 ? 5u : (uint32_t)k % 5u;
            uint32_t side = k >= 5 ? RISK_SIDE_SHORT : RISK_SIDE_LONG;
            double lot = w == 5 ? (unit == 3 ? 0.001 : 1.0) : w % 2 ? 0.01 : 0.001;
            double mark = w % 2 && w != 5 ? 2500.0 : 40000.0;
            double tick = w % 2 && w != 5 ? 0.01 : 0.5;
            double qty = floor(pow(10.0, tu_rng_range(&r, 0.0, 5.0))) * lot;
            int iso = w != 5 && tu_rng_int(&r, 0, 20) == 0;
            tu_open(a, inst[w], side, iso ? RISK_MARGIN_ISOLATED : RISK_MARGIN_DEFAULT, qty,
                    on_step(mark * tu_rng_range(&r, 0.9, 1.1), tick), iso ? 1000.0 : 0.0);
        }
        /* with 9 or more idle instruments, 2 % of the accounts hold 13 to 17 positions: the SIMD
         * path's two vectors (up to 16) and the scalar path beyond; legs long, then short */
        int total = odd == 3 ? tu_rng_int(&r, 13, 16) : odd == 4 ? 17 : 0;
        if (idle >= 9 && total && !unit) { /* an inverse leg too: two vectors (16) or the scalar table (17) */
            tu_open(a, inst[5], RISK_SIDE_SHORT, RISK_MARGIN_DEFAULT, floor(pow(10.0, tu_rng_range(&r, 0.0, 4.0))),
                    on_step(40000.0 * tu_rng_range(&r, 0.9, 1.1), 0.5), 0.0);
            n++;
        }
        for (int k = 0; idle >= 9 && k < total - n; k++) {
            uint32_t w = (uint32_t)k % idle, side = (uint32_t)k < idle ? RISK_SIDE_LONG : RISK_SIDE_SHORT;
            int iso = tu_rng_int(&r, 0, 6) == 0;
            tu_open(a, idle_inst[w], side, iso ? RISK_MARGIN_ISOLATED : RISK_MARGIN_DEFAULT,
                    floor(pow(10.0, tu_rng_range(&r, 0.0, 4.0))) * 0.001,
                    on_step((100.0 + w) * tu_rng_range(&r, 0.9, 1.1), 0.5), iso ? 5.0 : 0.0);
        }
    }
}

/* risk_engine_evaluate_columns with every field, against the summaries want[0..n): the index of
 * the first account that differs in any field's bits, or n. The column call sweeps in blocks of
 * 64 accounts (RISK__SWEEP_BLOCK) through the same paths, so books of thousands cross many
 * block boundaries and the AVX-512 groups inside them. */
static size_t columns_first_difference(risk_engine *e, const risk_account_summary *want, size_t n, uint32_t threads)
{
    enum { NF = 15 };
    double *col[NF];
    for (int f = 0; f < NF; f++)
        col[f] = test_malloc(sizeof(double) * n);
    uint32_t *state = test_malloc(sizeof(uint32_t) * n), *npos = test_malloc(sizeof(uint32_t) * n);
    uint32_t *niso = test_malloc(sizeof(uint32_t) * n);
    risk_summary_columns c = RISK_SUMMARY_COLUMNS_INIT;
    c.state = state;
    c.n_positions = npos;
    c.n_isolated_liquidatable = niso;
    double **fields[NF] = {&c.equity, &c.collateral_value, &c.unrealized_pnl, &c.initial_margin,
                           &c.maintenance_margin, &c.available, &c.health_factor, &c.margin_ratio,
                           &c.ltv, &c.ltv_buffer, &c.leverage, &c.collateral_init,
                           &c.collateral_maint, &c.liabilities, &c.isolated_margin};
    for (int f = 0; f < NF; f++)
        *fields[f] = col[f];
    size_t count = 0, bad = n;
    tu_assert_status(risk_engine_evaluate_columns(e, &c, n, threads, &count), RISK_OK);
    assert_int_equal(count, n);
    for (size_t k = 0; k < n && bad == n; k++) {
        const risk_account_summary *w = &want[k];
        double wf[NF] = {w->equity, w->collateral_value, w->unrealized_pnl, w->initial_margin,
                         w->maintenance_margin, w->available, w->health_factor, w->margin_ratio,
                         w->ltv, w->ltv_buffer, w->leverage, w->collateral_init,
                         w->collateral_maint, w->liabilities, w->isolated_margin};
        int same = state[k] == w->state && npos[k] == w->n_positions && niso[k] == w->n_isolated_liquidatable;
        for (int f = 0; f < NF; f++)
            same = same && memcmp(&col[f][k], &wf[f], sizeof(double)) == 0;
        if (!same)
            bad = k;
    }
    for (int f = 0; f < NF; f++)
        test_free(col[f]);
    test_free(state);
    test_free(npos);
    test_free(niso);
    return bad;
}

static void big_book_compare(uint32_t n_accounts, int unit, uint32_t idle)
{
    tu_alloc af, ar;
    tu_alloc_init(&af);
    tu_alloc_init(&ar);
    risk_engine *ef = tu_engine(&af, image_flag), *er = tu_engine(&ar, RISK_ENGINE_GENERIC_SWEEP);
    uint32_t inst_f[6], inst_r[6];
    risk_account **af_acc = test_malloc(sizeof(risk_account *) * n_accounts);
    risk_account **ar_acc = test_malloc(sizeof(risk_account *) * n_accounts);
    big_book(ef, inst_f, af_acc, n_accounts, unit, idle);
    big_book(er, inst_r, ar_acc, n_accounts, unit, idle);
    size_t n = n_accounts, bytes = sizeof(risk_account_summary) * (n + 8);
    risk_account_summary *want = test_malloc(bytes), *got = test_malloc(bytes + 64);
    /* the first difference, kept so that everything is freed before the test fails (cmocka
     * would otherwise list 250,000 leaked blocks) */
    risk_account_summary bad_got, bad_want;
    size_t bad = n, bad_col = n, bad_round = 0;
    for (int round = 0; round < 2 && bad == n && bad_col == n; round++) {
        memset(want, 0, bytes);
        want[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
        size_t count = 0;
        tu_assert_status(risk_engine_evaluate_all(er, want, NULL, n, 1, &count), RISK_OK);
        assert_int_equal(count, n);
        for (uint32_t threads = 1; threads <= 2; threads++)
            for (size_t shift = 0; shift < 2; shift++) { /* the output at two alignments mod 64 */
                risk_account_summary *out = (risk_account_summary *)(void *)((unsigned char *)got + 8 * shift);
                memset(out, 0xa5, sizeof(risk_account_summary) * n);
                out[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
                tu_assert_status(risk_engine_evaluate_all(ef, out, NULL, n, threads, &count), RISK_OK);
                for (size_t k = 0; k < n && bad == n; k++)
                    if (memcmp(&out[k], &want[k], sizeof out[k]) != 0) {
                        bad = k;
                        bad_round = (size_t)round;
                        bad_got = out[k];
                        bad_want = want[k];
                    }
            }
        for (uint32_t threads = 1; threads <= 2 && bad == n && bad_col == n; threads++) {
            bad_col = columns_first_difference(ef, want, n, threads);
            bad_round = (size_t)round;
        }
        tu_mark(ef, inst_f[0], 31000.0); /* the second round: a move that makes many liquidatable */
        tu_mark(er, inst_r[0], 31000.0);
        tu_mark(ef, inst_f[1], 3300.0);
        tu_mark(er, inst_r[1], 3300.0);
    }
    for (size_t k = 0; k < n; k++) {
        risk_account_free(af_acc[k]);
        risk_account_free(ar_acc[k]);
    }
    test_free(want);
    test_free(got);
    test_free(af_acc);
    test_free(ar_acc);
    risk_engine_free(ef);
    risk_engine_free(er);
    if (bad != n)
        assert_same_summary(&bad_got, &bad_want, (uint64_t)bad_round, bad);
    if (bad_col != n)
        fail_msg("evaluate_columns differs from evaluate_all at account %zu (round %zu)", bad_col, bad_round);
}

static void test_sweep_big_book_streamed_equals_generic(void **state)
{
    (void)state;
    assert_true(sizeof(risk_account_summary) * BIG_ACCOUNTS > 16u * 1048576u);
    big_book_compare(BIG_ACCOUNTS, 0, 0);
}

/* The variants for settle prices 1 and for contract sizes 1 too, streamed and not */
static void test_sweep_unit_book_equals_generic(void **state)
{
    (void)state;
    big_book_compare(BIG_ACCOUNTS, 1, 0);
    big_book_compare(5000, 1, 0);
    big_book_compare(BIG_ACCOUNTS, 2, 0);
    big_book_compare(5000, 2, 0);
    big_book_compare(5000, 3, 0);
}

/* Engines of many instruments: the AVX-512 sweep's gathers (20 and 300 instruments before the
 * held ones) and the scalar table in the engine's scratch (300), in every variant, streamed and
 * not; accounts of 13 to 17 positions (two vectors, or the scalar path) with permutes (11 idle
 * instruments: 16 in all with units 1 and 2) and with gathers */
static void test_sweep_many_instruments_book_equals_generic(void **state)
{
    (void)state;
    big_book_compare(5000, 1, 11);
    big_book_compare(5000, 2, 11);
    for (int unit = 0; unit <= 3; unit++)
        big_book_compare(5000, unit, 20);
    big_book_compare(BIG_ACCOUNTS, 0, 300);
    big_book_compare(5000, 1, 300);
    big_book_compare(5000, 2, 300);
}

/* Concurrent sweeps of one engine of many instruments: one call at a time borrows the engine's
 * sweep scratch (its gather arrays and scalar table), the others fill their own tables or go
 * without; every call must give the generic path's bits. */
typedef struct sweep_race {
    risk_engine *e;
    const risk_account_summary *want;
    risk_account_summary *got; /* the thread's output */
    size_t n, bad;             /* bad: calls whose summaries differed */
} sweep_race;

static void *sweep_race_run(void *arg)
{
    sweep_race *r = arg;
    risk_account_summary *got = r->got;
    for (int k = 0; k < 12; k++) {
        size_t count = 0;
        got[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
        if (risk_engine_evaluate_all(r->e, got, NULL, r->n, (uint32_t)(1 + k % 2), &count) != RISK_OK ||
            count != r->n || memcmp(got, r->want, sizeof *got * r->n) != 0)
            r->bad++;
    }
    return NULL;
}

static void test_sweep_concurrent_calls_many_instruments(void **state)
{
    (void)state;
    const uint32_t n = 20000;
    tu_alloc af, ar;
    tu_alloc_init(&af);
    tu_alloc_init(&ar);
    risk_engine *ef = tu_engine(&af, image_flag), *er = tu_engine(&ar, RISK_ENGINE_GENERIC_SWEEP);
    uint32_t inst_f[6], inst_r[6];
    risk_account **fa = test_malloc(sizeof(risk_account *) * n), **ra = test_malloc(sizeof(risk_account *) * n);
    big_book(ef, inst_f, fa, n, 2, 300);
    big_book(er, inst_r, ra, n, 2, 300);
    risk_account_summary *want = test_malloc(sizeof *want * n);
    size_t count = 0;
    want[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
    tu_assert_status(risk_engine_evaluate_all(er, want, NULL, n, 1, &count), RISK_OK);
    sweep_race r[3];
    pthread_t t[3];
    uint64_t calls = af.calls; /* sweeps never allocate (risk/alloc.h), scratch or not */
    for (int k = 0; k < 3; k++) {
        r[k] = (sweep_race){ef, want, test_malloc(sizeof *want * n), n, 0};
        assert_int_equal(pthread_create(&t[k], NULL, sweep_race_run, &r[k]), 0);
    }
    for (int k = 0; k < 3; k++)
        pthread_join(t[k], NULL);
    uint64_t calls_during = af.calls - calls;
    for (int k = 0; k < 3; k++)
        test_free(r[k].got);
    for (uint32_t k = 0; k < n; k++) {
        risk_account_free(fa[k]);
        risk_account_free(ra[k]);
    }
    test_free(fa);
    test_free(ra);
    test_free(want);
    risk_engine_free(ef);
    risk_engine_free(er);
    for (int k = 0; k < 3; k++)
        assert_int_equal(r[k].bad, 0);
    assert_int_equal(calls_during, 0);
}

/* An engine whose sweep scratch could not grow: instruments are added with allocation failures
 * injected until one add succeeds with a refused allocation (the scratch's, the only one an add
 * survives), so the block is smaller than the engine (room for 2F of 3F instruments, where F is
 * the instrument count past which the engine keeps a scratch: 16 with the AVX-512 kernel
 * compiled, 128 without); sweeps must then go without it, and give the generic path's bits.
 * Accounts hold positions on the last instruments. */
static void test_sweep_scratch_without_memory(void **state)
{
    (void)state;
    tu_alloc af, ar;
    tu_alloc_init(&af);
    tu_alloc_init(&ar);
    risk_engine *ef = tu_engine(&af, image_flag), *er = tu_engine(&ar, RISK_ENGINE_GENERIC_SWEEP);
    risk_engine *eng[2] = {ef, er};
    const risk_margin_tier t3[3] = {tu_tier(5e4, 0.004, 125.0), tu_tier(2.5e5, 0.005, 100.0), tu_tier(1e12, 0.01, 50.0)};
    /* the block is made at the (F + 1)-th add with room for the instrument array's capacity, 2F */
    const uint32_t from = risk__sweep_scratch_from(), room = 2 * from, total = 3 * from;
    assert_true(total <= 384);
    uint32_t usdt[2], btc[2], inst[2][384];
    for (int k = 0; k < 2; k++) {
        usdt[k] = tu_asset(eng[k], "USDT", 1.0, 6);
        btc[k] = tu_asset(eng[k], "BTC", 40000.0, 8);
    }
    int refused_scratch = 0;
    for (uint32_t i = 0; i < total; i++) {
        char sym[24];
        snprintf(sym, sizeof sym, "P%uUSDT", i);
        inst[1][i] = tu_linear(er, sym, btc[1], usdt[1], 1.0, 0.001, 0.5, 1000.0 + i, t3, 3);
        /* past the block's room: the j-th allocation of the add refused, j = 0, 1, ... until the
         * add succeeds */
        for (uint64_t j = 0;; j++) {
            uint64_t failures = af.failures;
            risk_instrument_spec is = RISK_INSTRUMENT_SPEC_INIT;
            is.symbol = sym;
            is.underlying = btc[0];
            is.settle = usdt[0];
            is.lot_size = 0.001;
            is.tick_size = 0.5;
            is.mark = 1000.0 + i;
            is.tiers = t3;
            is.n_tiers = 3;
            if (i >= room)
                tu_alloc_arm(&af, j);
            int rc = risk_engine_add_instrument(ef, &is, &inst[0][i]);
            tu_alloc_disarm(&af);
            if (rc == RISK_OK) {
                refused_scratch += af.failures > failures;
                break;
            }
            assert_int_equal(rc, RISK_ENOMEM);
        }
    }
    assert_true(refused_scratch > 0);
    enum { N = 600 };
    risk_account *acc[2][N];
    for (int k = 0; k < 2; k++) {
        tu_rng r;
        tu_rng_seed(&r, 99);
        for (uint32_t a = 0; a < N; a++) {
            acc[k][a] = tu_account(eng[k], 1 + a, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
            tu_balance(acc[k][a], usdt[k], on_step(tu_rng_range(&r, 10.0, 1e5), 1e-6));
            for (uint32_t p = 0; p < 1 + a % 12; p++)
                tu_open(acc[k][a], inst[k][total - 1 - p], RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT,
                        (tu_rng_int(&r, 0, 1) ? 1.0 : -1.0) * floor(tu_rng_range(&r, 1.0, 1e5)) * 0.001,
                        on_step((1000.0 + total - 1 - p) * tu_rng_range(&r, 0.9, 1.1), 0.5), 0.0);
        }
    }
    risk_account_summary *want = test_malloc(sizeof *want * N), *got = test_malloc(sizeof *got * N);
    size_t count = 0;
    want[0].version = got[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
    tu_assert_status(risk_engine_evaluate_all(er, want, NULL, N, 1, &count), RISK_OK);
    int same = 1;
    for (uint32_t threads = 1; threads <= 2; threads++) {
        got[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
        tu_assert_status(risk_engine_evaluate_all(ef, got, NULL, N, threads, &count), RISK_OK);
        same &= memcmp(got, want, sizeof *got * N) == 0;
    }
    same &= columns_first_difference(ef, want, N, 1) == N;
    for (int k = 0; k < 2; k++)
        for (uint32_t a = 0; a < N; a++)
            risk_account_free(acc[k][a]);
    test_free(want);
    test_free(got);
    risk_engine_free(ef);
    risk_engine_free(er);
    assert_true(same);
}

/* The sweep image is a cache. An engine whose image cannot be made is not made (RISK_ENOMEM,
 * nothing left allocated); an account added while the image cannot grow is added all the same,
 * the sweeps go without the image (the same bits) until a later growth succeeds. */
static void test_sweep_image_without_memory(void **state)
{
    (void)state;
    tu_alloc af, ar;
    tu_alloc_init(&af);
    tu_alloc_init(&ar);
    for (uint64_t j = 0;; j++) { /* risk_engine_new: each of its allocations refused in turn */
        risk_engine_options o = RISK_ENGINE_OPTIONS_INIT;
        o.flags = RISK_ENGINE_SWEEP_IMAGE;
        o.allocator = tu_allocator(&af);
        risk_engine *e = NULL;
        tu_alloc_arm(&af, j);
        int rc = risk_engine_new(&e, &o);
        tu_alloc_disarm(&af);
        if (rc == RISK_OK) {
            assert_true(j >= 2); /* the engine's block and the image's: both were refused once */
            risk_engine_free(e);
            break;
        }
        assert_int_equal(rc, RISK_ENOMEM);
        assert_null(e);
        assert_int_equal(af.live_blocks, 0);
    }
    risk_engine *ef = tu_engine(&af, RISK_ENGINE_SWEEP_IMAGE), *er = tu_engine(&ar, RISK_ENGINE_GENERIC_SWEEP);
    risk_engine *eng[2] = {ef, er};
    const risk_margin_tier t3[3] = {tu_tier(5e4, 0.004, 125.0), tu_tier(2.5e5, 0.005, 100.0), tu_tier(1e12, 0.01, 50.0)};
    uint32_t usdt[2], inst[2][3];
    for (int k = 0; k < 2; k++) {
        usdt[k] = tu_asset(eng[k], "USDT", 1.0, 6);
        uint32_t btc = tu_asset(eng[k], "BTC", 40000.0, 8);
        for (uint32_t i = 0; i < 3; i++) {
            char sym[16];
            snprintf(sym, sizeof sym, "P%uUSDT", i);
            inst[k][i] = tu_linear(eng[k], sym, btc, usdt[k], 1.0, 0.001, 0.5, 1000.0 * (i + 1), t3, 3);
        }
    }
    enum { N = 300 };
    risk_account *acc[2][N];
    risk_account_summary *want = test_malloc(sizeof *want * N), *got = test_malloc(sizeof *got * N);
    uint64_t *ids_want = test_malloc(sizeof *ids_want * N), *ids_got = test_malloc(sizeof *ids_got * N);
    int refused_image = 0, same = 1;
    tu_rng r;
    tu_rng_seed(&r, 7);
    for (uint32_t a = 0; a < N; a++) {
        /* each allocation of the new account refused in turn until it is made: at the slot
         * registry's growths (64, 128, 256 accounts) the image's new block is among them. A
         * refused call may keep what it grew before the refusal (the id map): the walk then
         * starts again from the first allocation, so that none is skipped. */
        for (uint64_t j = 0;; j++) {
            uint64_t failures = af.failures;
            size_t blocks = af.live_blocks;
            risk_account *x = NULL;
            tu_alloc_arm(&af, j);
            int rc = risk_account_new(&x, ef, 1 + a, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
            tu_alloc_disarm(&af);
            if (rc == RISK_OK) {
                refused_image += af.failures > failures;
                acc[0][a] = x;
                break;
            }
            assert_int_equal(rc, RISK_ENOMEM);
            if (af.live_blocks > blocks)
                j = UINT64_MAX; /* j++ gives 0 */
        }
        acc[1][a] = tu_account(er, 1 + a, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        double cash = on_step(tu_rng_range(&r, 10.0, 1e5), 1e-6);
        double q = (tu_rng_int(&r, 0, 1) ? 1.0 : -1.0) * floor(tu_rng_range(&r, 1.0, 1e4)) * 0.001;
        for (int k = 0; k < 2; k++) {
            tu_balance(acc[k][a], usdt[k], cash);
            tu_open(acc[k][a], inst[k][a % 3], RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, q, 1000.0 * (a % 3 + 1), 0.0);
        }
        if (a % 50 == 49 || a == 64 || a == 128 || a == 256) { /* sweeps, with the image broken or mended */
            size_t count = 0, n = a + 1;
            want[0].version = got[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
            tu_assert_status(risk_engine_evaluate_all(er, want, ids_want, N, 1, &count), RISK_OK);
            for (uint32_t threads = 1; threads <= 2; threads++) {
                got[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
                tu_assert_status(risk_engine_evaluate_all(ef, got, ids_got, N, threads, &count), RISK_OK);
                same &= count == n && memcmp(got, want, sizeof *got * n) == 0 &&
                        memcmp(ids_got, ids_want, sizeof *ids_got * n) == 0;
            }
        }
    }
    assert_true(refused_image > 0);
    assert_true(same);
    for (int k = 0; k < 2; k++)
        for (uint32_t a = 0; a < N; a++)
            risk_account_free(acc[k][a]);
    test_free(want);
    test_free(got);
    test_free(ids_want);
    test_free(ids_got);
    risk_engine_free(ef);
    risk_engine_free(er);
    assert_int_equal(af.live_blocks, 0);
}

/* The flag is part of a snapshot: the restored engine keeps an image (its memory counted again)
 * and sweeps to the same bits as the engine it was taken from. */
static void test_sweep_image_survives_a_snapshot(void **state)
{
    (void)state;
    tu_alloc af, ap;
    tu_alloc_init(&af);
    tu_alloc_init(&ap);
    book b, p;
    build(&b, tu_engine(&af, RISK_ENGINE_SWEEP_IMAGE), 77);
    build(&p, tu_engine(&ap, 0), 77);
    size_t size = 0;
    assert_int_equal(risk_engine_snapshot_write(b.e, NULL, 0, &size), RISK_EBUFFER);
    unsigned char *buf = test_malloc(size);
    tu_assert_status(risk_engine_snapshot_write(b.e, buf, size, &size), RISK_OK);
    risk_engine *r = NULL, *rp = NULL;
    tu_assert_status(risk_engine_snapshot_read(&r, buf, size, NULL), RISK_OK);
    test_free(buf);
    assert_int_equal(risk_engine_snapshot_write(p.e, NULL, 0, &size), RISK_EBUFFER);
    buf = test_malloc(size);
    tu_assert_status(risk_engine_snapshot_write(p.e, buf, size, &size), RISK_OK);
    tu_assert_status(risk_engine_snapshot_read(&rp, buf, size, NULL), RISK_OK);
    size_t mem_image = 0, mem_plain = 0, mem_restored = 0, mem_restored_plain = 0;
    tu_assert_status(risk_engine_memory_bytes(b.e, &mem_image), RISK_OK);
    tu_assert_status(risk_engine_memory_bytes(p.e, &mem_plain), RISK_OK);
    tu_assert_status(risk_engine_memory_bytes(r, &mem_restored), RISK_OK);
    tu_assert_status(risk_engine_memory_bytes(rp, &mem_restored_plain), RISK_OK);
    /* the image: at least a tile (3,520 B) per eight accounts, in both engines that keep one */
    assert_true(mem_image >= mem_plain + N_ACCOUNTS / 8 * 3520);
    assert_true(mem_restored >= mem_restored_plain + N_ACCOUNTS / 8 * 3520);
    risk_account_summary want[N_ACCOUNTS], got[N_ACCOUNTS];
    size_t n_want = 0, n_got = 0;
    want[0].version = got[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
    tu_assert_status(risk_engine_evaluate_all(b.e, want, NULL, N_ACCOUNTS, 1, &n_want), RISK_OK);
    tu_assert_status(risk_engine_evaluate_all(r, got, NULL, N_ACCOUNTS, 2, &n_got), RISK_OK);
    assert_int_equal(n_got, n_want);
    assert_memory_equal(got, want, sizeof *got * n_want);
    risk_engine_free(r);
    risk_engine_free(rp);
    test_free(buf);
    for (size_t k = 0; k < N_ACCOUNTS; k++) {
        risk_account_free(b.acc[k]);
        risk_account_free(p.acc[k]);
    }
    risk_engine_free(b.e);
    risk_engine_free(p.e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_fast_equals_generic_quantized),
        cmocka_unit_test(test_sweep_fast_equals_generic_unquantized),
        cmocka_unit_test(test_sweep_fast_equals_generic_many_instruments),
        cmocka_unit_test(test_sweep_generic_flag_accepted_and_unknown_refused),
        cmocka_unit_test(test_sweep_binance_brackets_on_the_fast_path),
        cmocka_unit_test(test_sweep_big_book_streamed_equals_generic),
        cmocka_unit_test(test_sweep_unit_book_equals_generic),
        cmocka_unit_test(test_sweep_many_instruments_book_equals_generic),
        cmocka_unit_test(test_sweep_concurrent_calls_many_instruments),
        cmocka_unit_test(test_sweep_scratch_without_memory),
        cmocka_unit_test(test_sweep_image_without_memory),
        cmocka_unit_test(test_sweep_image_survives_a_snapshot),
    };
    /* Both kernels of the sweep, each against the generic path: AVX-512 where the CPU has it and
     * none (the scalar table path for every account, what CPUs without AVX-512 run), chosen by
     * RISK_SWEEP_SIMD. The cap must take effect: the library's choice without a cap ("off" in a
     * -DRISK_NO_SIMD build or off x86), nothing under "off". */
    static const char *const caps[] = {"avx512", "off", "avx512"};
    unsetenv("RISK_SWEEP_SIMD");
    const char *best = risk__sweep_simd_isa();
    int failed = 0;
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        if (setenv("RISK_SWEEP_SIMD", caps[c], 1) != 0)
            return 1;
        image_flag = c == 2 ? RISK_ENGINE_SWEEP_IMAGE : 0u; /* the third run: the engines keep an image */
        const char *want = c != 1 ? best : "off", *isa = risk__sweep_simd_isa();
        printf("RISK_SWEEP_SIMD=%s: the %s kernel\n", caps[c], isa);
        if (strcmp(isa, want) != 0) {
            fprintf(stderr, "RISK_SWEEP_SIMD=%s chose %s, expected %s\n", caps[c], isa, want);
            failed++;
            continue;
        }
        failed += cmocka_run_group_tests_name(c == 2 ? "avx512 with the sweep image" : caps[c], tests, NULL, NULL);
    }
    unsetenv("RISK_SWEEP_SIMD");
    return failed;
}
