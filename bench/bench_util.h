/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_util.h - helpers shared by the benchmarks (header only: static inline functions, since
 * each benchmark is a program of its own).
 *
 * - bench_now_s(): CLOCK_MONOTONIC in seconds.
 * - bench_seed() / bench_rnd(): the fixed-seed xorshift64* stream the books are drawn from.
 * - CHECK(call): a library call that must return RISK_OK, else the program stops with exit 1.
 * - bench_market_new(), bench_open_positions(): the book of bench_prices, bench_plans and
 *   bench_whatif: USDT and underlyings C0, C1, ... priced 10, 20, ... with linear perpetuals
 *   C0USDT, C1USDT, ... (lot and tick 0.001, 3-tier schedule), and accounts holding one position
 *   on each of the first n of them.
 * - bench_book: an engine and its accounts (bench_book_alloc(), bench_book_free()).
 * - bench_evaluate_sweep(): one timed pass of risk_account_evaluate() over accounts;
 *   bench_keep_best() keeps the best of the rounds, bench_use() keeps the timed calls alive.
 * - bench_args(): the command line [accounts] [rounds] [positions].
 * - bench_cat_s(): `cat file > /dev/null` timed (the snapshot benchmarks' reference).
 */
#ifndef LIBRISK_BENCH_UTIL_H
#define LIBRISK_BENCH_UTIL_H

#include <risk.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define BENCH_SEED 0x9e3779b97f4a7c15ULL
#define BENCH_MAX_UNDERLYINGS 128

static inline double bench_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The generator's state (one per program). */
static inline uint64_t *bench_rng_state(void)
{
    static uint64_t state = BENCH_SEED;
    return &state;
}

/* Restarts the stream, so that each book is drawn alike. */
static inline void bench_seed(void)
{
    *bench_rng_state() = BENCH_SEED;
}

/* xorshift64*, uniform in [0, 1). */
static inline double bench_rnd(void)
{
    uint64_t *s = bench_rng_state();
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 0x2545f4914f6cdd1dULL) >> 11) * (1.0 / 9007199254740992.0);
}

#define CHECK(call)                                                                             \
    do {                                                                                        \
        int rc_ = (call);                                                                       \
        if (rc_ != RISK_OK) {                                                                   \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, risk_errname(rc_)); \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

/* An engine with USDT (6 decimals) and n underlyings Ck (8 decimals) at 10 (k + 1), each with a
 * linear perpetual CkUSDT marked there: lot and tick 0.001, tiers 50k / 250k / 1e9 at MMR
 * 0.4 / 0.5 / 1 % and max leverage 125 / 100 / 50. */
typedef struct bench_market {
    risk_engine *engine;
    uint32_t usdt;
    uint32_t inst[BENCH_MAX_UNDERLYINGS];
} bench_market;

static inline void bench_market_new(bench_market *m, uint32_t n_underlyings)
{
    if (n_underlyings > BENCH_MAX_UNDERLYINGS)
        exit(1);
    CHECK(risk_engine_new(&m->engine, NULL));
    risk_asset_spec as = RISK_ASSET_SPEC_INIT;
    as.symbol = "USDT";
    as.price = 1.0;
    as.decimals = 6;
    CHECK(risk_engine_add_asset(m->engine, &as, &m->usdt));
    const risk_margin_tier tiers[] = {{50000, 0.004, 125, 0, 0}, {250000, 0.005, 100, 0, 0}, {1e9, 0.01, 50, 0, 0}};
    for (uint32_t u = 0; u < n_underlyings; u++) {
        char sym[16], isym[24];
        snprintf(sym, sizeof sym, "C%u", u);
        snprintf(isym, sizeof isym, "C%uUSDT", u);
        uint32_t asset;
        as.symbol = sym;
        as.price = 10.0 * (u + 1);
        as.decimals = 8;
        CHECK(risk_engine_add_asset(m->engine, &as, &asset));
        risk_instrument_spec is = RISK_INSTRUMENT_SPEC_INIT;
        is.symbol = isym;
        is.underlying = asset;
        is.settle = m->usdt;
        is.lot_size = 0.001;
        is.tick_size = 0.001;
        is.mark = as.price;
        is.tiers = tiers;
        is.n_tiers = 3;
        CHECK(risk_engine_add_instrument(m->engine, &is, &m->inst[u]));
    }
}

/* Opens a position on each of the first n instruments: a notional of 100..100k USDT in whole
 * lots, either side, the entry within -3..+3 % of the mark (or at it); under isolated margin
 * with 5 % of the notional as margin. Returns the gross notional. */
static inline double bench_open_positions(risk_account *a, const bench_market *m, uint32_t n, uint32_t margin_mode,
                                          int entry_at_mark)
{
    double gross = 0.0;
    for (uint32_t p = 0; p < n; p++) {
        double mark = 10.0 * (p + 1);
        double notional = 100.0 * (1.0 + 999.0 * bench_rnd()); /* 100 .. 100k USDT */
        double lots = (double)(long long)(notional / mark / 0.001) + 1.0;
        risk_position_spec ps = RISK_POSITION_SPEC_INIT;
        ps.instrument = m->inst[p];
        ps.qty = (bench_rnd() < 0.5 ? -1.0 : 1.0) * lots * 0.001;
        ps.entry = entry_at_mark ? mark : mark * (0.97 + 0.06 * bench_rnd());
        ps.isolated_margin = margin_mode == RISK_MARGIN_ISOLATED ? lots * 0.001 * mark * 0.05 : 0.0;
        CHECK(risk_account_open_position(a, &ps, NULL));
        gross += lots * 0.001 * mark;
    }
    return gross;
}

/* An engine and the n accounts a benchmark times. */
typedef struct bench_book {
    risk_engine *engine;
    risk_account **accounts;
    size_t n;
} bench_book;

/* Room for n accounts on the market's engine (filled by the caller). */
static inline void bench_book_alloc(bench_book *b, const bench_market *m, size_t n)
{
    b->engine = m->engine;
    b->n = n;
    b->accounts = malloc(n * sizeof *b->accounts);
    if (!b->accounts)
        exit(1);
}

static inline void bench_book_free(bench_book *b)
{
    for (size_t k = 0; k < b->n; k++)
        risk_account_free(b->accounts[k]);
    free(b->accounts);
    risk_engine_free(b->engine);
}

/* Seconds for one risk_account_evaluate() of each account; adds the equities to *sink. */
static inline double bench_evaluate_sweep(const bench_book *b, double *sink)
{
    double t0 = bench_now_s();
    for (size_t k = 0; k < b->n; k++) {
        risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
        CHECK(risk_account_evaluate(b->accounts[k], &s));
        *sink += s.equity;
    }
    return bench_now_s() - t0;
}

/* *best = the smaller of *best and took (each bench keeps the best of its rounds). */
static inline void bench_keep_best(double *best, double took)
{
    if (took < *best)
        *best = took;
}

/* Reads a sum of the timed calls' results, so that the compiler keeps the calls. */
static inline void bench_use(double sink)
{
    if (sink == 12345.678)
        printf("%g\n", sink);
}

/* [accounts] [rounds] [positions] into *accounts and *rounds (defaults as given) and, when
 * `only` is not NULL, *only (0: every book size). 0 with the usage line on stderr when the
 * accounts or the rounds are not > 0. */
static inline int bench_args(int argc, char **argv, const char *usage, size_t *accounts, int *rounds, unsigned *only)
{
    if (argc > 1)
        *accounts = (size_t)strtoull(argv[1], NULL, 10);
    if (argc > 2)
        *rounds = atoi(argv[2]);
    if (only)
        *only = argc > 3 ? (unsigned)atoi(argv[3]) : 0;
    if (*accounts == 0 || *rounds <= 0) {
        fprintf(stderr, "usage: %s\n", usage);
        return 0;
    }
    return 1;
}

/* What `cat file > /dev/null` does, timed: read(2) in BENCH_CAT_CHUNK pieces into one reused
 * buffer `chunk` of that size. *bytes (when not NULL) gets the bytes read. */
#define BENCH_CAT_CHUNK (128u * 1024u)
static inline double bench_cat_s(const char *path, unsigned char *chunk, size_t *bytes)
{
    double t0 = bench_now_s();
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        exit(1);
    size_t total = 0;
    ssize_t got;
    while ((got = read(fd, chunk, BENCH_CAT_CHUNK)) > 0)
        total += (size_t)got;
    close(fd);
    if (bytes)
        *bytes = total;
    return bench_now_s() - t0;
}

#endif /* LIBRISK_BENCH_UTIL_H */
