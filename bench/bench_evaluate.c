/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_evaluate.c - librisk batch evaluation benchmark (issue 2, section 6).
 *
 * Builds, through the public API only, an engine with USDT (6 decimals) and ten underlying
 * assets with linear USDT-margined perpetuals (3-tier schedules: caps 50k / 250k / unbounded,
 * MMR 0.4 / 0.5 / 1 %, max leverage 125 / 100 / 50), then N accounts (default 10^6; cross,
 * one-way) each with a USDT balance and 8 linear perpetual positions (whole lots, entries
 * within +-3 % of the mark, fixed seed); every fourth account sets a user leverage.
 *
 * In one run, interleaved round by round so that the VM's speed drift hits every variant alike,
 * it times (best of ROUNDS after a warm-up, clock_gettime(CLOCK_MONOTONIC)):
 *   - risk_engine_evaluate_all() with 1 and 2 threads;
 *   - a naive structure-of-arrays loop (q[], entry[], inst[]; equity = cash + sum q(M - E),
 *     mm = sum |q| M mmr at a fixed rate), 1 and 2 threads;
 *   - the engine's own formula (tiered MM, IM, quantized full summary) on flat arrays, 1 and 2
 *     threads, to separate the cost of the arithmetic from the cost of the engine's layout;
 *   - a STREAM triad a[i] = b[i] + s c[i] over as many bytes as the engine holds per position
 *     times the number of positions, 1 and 2 threads (bytes counted the STREAM way, 24 per
 *     element, write-allocate traffic not counted).
 * The evaluate_all calls are also timed in CPU seconds (CLOCK_PROCESS_CPUTIME_ID, all threads:
 * what perf stat's task-clock counts), which a shared VM disturbs less than wall time.
 * It also times a single-thread loop of risk_account_evaluate() over every account, reports
 * the engine's memory (risk_engine_memory_bytes) with no accounts, with accounts but no
 * positions (a separate engine) and with positions, and checks the results: 1- and 2-thread
 * summaries bit-identical, equity / MM / IM against an independent reference, states.
 *
 * Usage: bench_evaluate [accounts [rounds]]    (defaults 1000000 and 9)
 * Lines starting with "result " are stable key/value pairs for scripts.
 * Exit status: 0 when every check passes, 1 otherwise.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "risk.h"

#include "bench_util.h"

/* glibc's heap counters show what the engine really costs, malloc headers and rounding included */
#if defined(__GLIBC__) && defined(__GLIBC_MINOR__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HAVE_MALLINFO2 1
static double heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (double)mi.uordblks + (double)mi.hblkhd;
}
#else
#define HAVE_MALLINFO2 0
static double heap_in_use(void)
{
    return 0.0;
}
#endif

#define POS_PER_ACCOUNT 8
#define N_UNDERLYINGS 10
#define N_TIERS 3
#define MAX_THREADS 2

/* ------------------------------------------------------------------ utilities */

static uint64_t rng_state = 0x5eed2024u;

static uint64_t rng_next(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_u01(void)
{
    return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static void *xalloc64(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64) != 0 || !p) {
        fprintf(stderr, "bench: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static void check_rc(int rc, const char *what, const char *msg)
{
    if (rc != RISK_OK) {
        fprintf(stderr, "bench: %s failed: %s (%s): %s\n", what, risk_errname(rc), risk_strerror(rc), msg ? msg : "");
        exit(1);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* best and median of n timings */
typedef struct timing {
    double t[64];
    int n;
} timing;

static void timing_add(timing *tm, double t)
{
    if (tm->n < 64)
        tm->t[tm->n++] = t;
}

static double timing_best(const timing *tm)
{
    double b = INFINITY;
    for (int i = 0; i < tm->n; i++)
        if (tm->t[i] < b)
            b = tm->t[i];
    return b;
}

static double timing_median(const timing *tm)
{
    double s[64];
    if (tm->n == 0)
        return NAN;
    memcpy(s, tm->t, sizeof(double) * (size_t)tm->n);
    qsort(s, (size_t)tm->n, sizeof(double), cmp_double);
    return tm->n % 2 ? s[tm->n / 2] : 0.5 * (s[tm->n / 2 - 1] + s[tm->n / 2]);
}

/* ------------------------------------------------------------------ a tiny thread pool */

typedef void (*job_fn)(void *arg, int tid, int nthreads);

typedef struct pool {
    pthread_t th[MAX_THREADS];
    pthread_barrier_t start, done;
    job_fn fn;
    void *arg;
    int nthreads; /* threads in the pool, main included */
    int quit;
} pool;

typedef struct worker_arg {
    pool *p;
    int tid;
} worker_arg;

static worker_arg worker_args[MAX_THREADS];

static void *pool_worker(void *v)
{
    worker_arg *wa = v;
    pool *p = wa->p;
    for (;;) {
        pthread_barrier_wait(&p->start);
        if (p->quit)
            break;
        p->fn(p->arg, wa->tid, p->nthreads);
        pthread_barrier_wait(&p->done);
    }
    return NULL;
}

static void pool_init(pool *p, int nthreads)
{
    memset(p, 0, sizeof *p);
    p->nthreads = nthreads;
    if (nthreads < 2)
        return;
    pthread_barrier_init(&p->start, NULL, (unsigned)nthreads);
    pthread_barrier_init(&p->done, NULL, (unsigned)nthreads);
    for (int t = 1; t < nthreads; t++) {
        worker_args[t].p = p;
        worker_args[t].tid = t;
        if (pthread_create(&p->th[t], NULL, pool_worker, &worker_args[t]) != 0) {
            fprintf(stderr, "bench: pthread_create failed\n");
            exit(1);
        }
    }
}

/* Runs fn on `threads` threads (1: the caller alone; 2: the caller and the worker). */
static void pool_run(pool *p, job_fn fn, void *arg, int threads)
{
    if (threads < 2 || p->nthreads < 2) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    pthread_barrier_wait(&p->start);
    fn(arg, 0, p->nthreads);
    pthread_barrier_wait(&p->done);
}

static void pool_destroy(pool *p)
{
    if (p->nthreads < 2)
        return;
    p->quit = 1;
    pthread_barrier_wait(&p->start);
    for (int t = 1; t < p->nthreads; t++)
        pthread_join(p->th[t], NULL);
    pthread_barrier_destroy(&p->start);
    pthread_barrier_destroy(&p->done);
}

static void split_range(size_t n, int tid, int nthreads, size_t align, size_t *lo, size_t *hi)
{
    size_t chunk = (n + (size_t)nthreads - 1) / (size_t)nthreads;
    chunk = (chunk + align - 1) / align * align;
    *lo = chunk * (size_t)tid;
    *hi = *lo + chunk;
    if (*lo > n)
        *lo = n;
    if (*hi > n)
        *hi = n;
}

/* ------------------------------------------------------------------ market */

typedef struct underlying {
    const char *asset;
    const char *instrument;
    double mark;          /* USDT per unit */
    double contract_size; /* units per contract */
    double tick;          /* USDT */
} underlying;

static const underlying UNDERLYINGS[N_UNDERLYINGS] = {
    {"BTC", "BTCUSDT", 60000.0, 0.001, 0.1},   {"ETH", "ETHUSDT", 3000.0, 0.01, 0.01},
    {"SOL", "SOLUSDT", 150.0, 0.1, 0.001},     {"BNB", "BNBUSDT", 600.0, 0.01, 0.01},
    {"XRP", "XRPUSDT", 0.6, 10.0, 0.0001},     {"DOGE", "DOGEUSDT", 0.15, 100.0, 0.00001},
    {"AVAX", "AVAXUSDT", 35.0, 1.0, 0.001},    {"LINK", "LINKUSDT", 15.0, 1.0, 0.001},
    {"ADA", "ADAUSDT", 0.45, 10.0, 0.0001},    {"LTC", "LTCUSDT", 80.0, 0.1, 0.01},
};

static const double TIER_CAP[N_TIERS] = {50000.0, 250000.0, INFINITY};
static const double TIER_MMR[N_TIERS] = {0.004, 0.005, 0.01};
static const double TIER_LEV[N_TIERS] = {125.0, 100.0, 50.0};
static double tier_cum[N_TIERS]; /* derived: cum_t = cum_(t-1) + cap_(t-1) (mmr_t - mmr_(t-1)) */

static double round_to(double x, double step)
{
    return nearbyint(x / step) * step;
}

/* ------------------------------------------------------------------ the book (plain arrays) */

typedef struct book {
    size_t n_accounts, n_positions;
    double *cash;     /* USDT balance per account */
    double *lev;      /* user leverage per account for its first two positions' instruments; 0 none */
    int32_t *inst;    /* per position (account a: a*8 .. a*8+7) */
    double *qty;      /* signed contracts */
    double *entry;    /* quote */
} book;

static void book_generate(book *b, size_t n_accounts)
{
    b->n_accounts = n_accounts;
    b->n_positions = n_accounts * POS_PER_ACCOUNT;
    b->cash = xmalloc(sizeof(double) * n_accounts);
    b->lev = xmalloc(sizeof(double) * n_accounts);
    b->inst = xmalloc(sizeof(int32_t) * b->n_positions);
    b->qty = xmalloc(sizeof(double) * b->n_positions);
    b->entry = xmalloc(sizeof(double) * b->n_positions);
    for (size_t a = 0; a < n_accounts; a++) {
        int perm[N_UNDERLYINGS];
        for (int k = 0; k < N_UNDERLYINGS; k++)
            perm[k] = k;
        for (int k = N_UNDERLYINGS - 1; k > 0; k--) { /* Fisher-Yates: 8 distinct instruments */
            int j = (int)(rng_next() % (uint64_t)(k + 1));
            int t = perm[k];
            perm[k] = perm[j];
            perm[j] = t;
        }
        double gross = 0.0;
        for (int j = 0; j < POS_PER_ACCOUNT; j++) {
            size_t p = a * POS_PER_ACCOUNT + (size_t)j;
            const underlying *u = &UNDERLYINGS[perm[j]];
            double notional = pow(10.0, 1.7 + 4.0 * rng_u01()); /* 50 .. 500k USDT, log-uniform */
            double lots = nearbyint(notional / (u->contract_size * u->mark));
            if (lots < 1.0)
                lots = 1.0;
            double sign = (rng_next() & 1u) ? 1.0 : -1.0;
            b->inst[p] = perm[j];
            b->qty[p] = sign * lots;
            b->entry[p] = round_to(u->mark * (1.0 + 0.06 * (rng_u01() - 0.5)), u->tick);
            gross += lots * u->contract_size * u->mark;
        }
        /* cash 0.5 % .. 5.5 % of gross notional, to whole micro-USDT */
        b->cash[a] = nearbyint(gross * (0.005 + 0.05 * rng_u01()) * 1e6) / 1e6;
        b->lev[a] = (a % 4 == 0) ? ((a % 8 == 0) ? 20.0 : 10.0) : 0.0;
    }
}

static void book_free(book *b)
{
    free(b->cash);
    free(b->lev);
    free(b->inst);
    free(b->qty);
    free(b->entry);
}

/* ------------------------------------------------------------------ independent reference */

typedef struct reference {
    double equity, mm, im, mm_fixed; /* unquantized */
} reference;

static void reference_account(const book *b, size_t a, reference *out)
{
    double eq = b->cash[a], mm = 0.0, im = 0.0, mmf = 0.0;
    for (int j = 0; j < POS_PER_ACCOUNT; j++) {
        size_t p = a * POS_PER_ACCOUNT + (size_t)j;
        const underlying *u = &UNDERLYINGS[b->inst[p]];
        double q = b->qty[p] * u->contract_size;
        double n = fabs(q) * u->mark;
        int t = 0;
        while (t < N_TIERS - 1 && n > TIER_CAP[t])
            t++;
        double lev = TIER_LEV[t];
        if (j < 2 && b->lev[a] > 0.0 && b->lev[a] < lev)
            lev = b->lev[a];
        eq += q * (u->mark - b->entry[p]);
        mm += n * TIER_MMR[t] - tier_cum[t];
        im += n / lev;
        mmf += n * TIER_MMR[0];
    }
    out->equity = eq;
    out->mm = mm;
    out->im = im;
    out->mm_fixed = mmf;
}

/* ------------------------------------------------------------------ engine construction */

typedef struct market {
    uint32_t usdt;
    uint32_t asset[N_UNDERLYINGS];
    uint32_t instrument[N_UNDERLYINGS];
} market;

static risk_engine *engine_build_registry_flags(market *m, uint32_t flags)
{
    risk_engine *e = NULL;
    risk_engine_options eo = RISK_ENGINE_OPTIONS_INIT;
    eo.flags = flags;
    check_rc(risk_engine_new(&e, &eo), "risk_engine_new", "");
    risk_asset_spec as = RISK_ASSET_SPEC_INIT;
    as.symbol = "USDT";
    as.decimals = 6;
    as.price = 1.0;
    check_rc(risk_engine_add_asset(e, &as, &m->usdt), "add_asset USDT", risk_engine_errmsg(e));
    check_rc(risk_engine_set_valuation_asset(e, m->usdt), "set_valuation_asset", risk_engine_errmsg(e));

    risk_margin_tier tiers[N_TIERS];
    for (int t = 0; t < N_TIERS; t++) {
        memset(&tiers[t], 0, sizeof tiers[t]);
        tiers[t].notional_cap = TIER_CAP[t];
        tiers[t].mmr = TIER_MMR[t];
        tiers[t].max_leverage = TIER_LEV[t];
        tiers[t].cum = 0.0;
        tiers[t].cum_given = 0;
    }
    for (int k = 0; k < N_UNDERLYINGS; k++) {
        const underlying *u = &UNDERLYINGS[k];
        risk_asset_spec a = RISK_ASSET_SPEC_INIT;
        a.symbol = u->asset;
        a.decimals = 8;
        a.price = u->mark;
        a.weight_init = 0.9;
        a.weight_maint = 0.95;
        check_rc(risk_engine_add_asset(e, &a, &m->asset[k]), "add_asset", risk_engine_errmsg(e));

        risk_instrument_spec is = RISK_INSTRUMENT_SPEC_INIT;
        is.kind = RISK_KIND_PERPETUAL;
        is.symbol = u->instrument;
        is.underlying = m->asset[k];
        is.settle = m->usdt;
        is.inverse = 0;
        is.mm_price = RISK_MM_PRICE_MARK;
        is.contract_size = u->contract_size;
        is.lot_size = 1.0;
        is.tick_size = u->tick;
        is.mark = u->mark;
        is.tiers = tiers;
        is.n_tiers = N_TIERS;
        check_rc(risk_engine_add_instrument(e, &is, &m->instrument[k]), "add_instrument", risk_engine_errmsg(e));
    }
    return e;
}

static risk_engine *engine_build_registry(market *m)
{
    return engine_build_registry_flags(m, 0);
}

static uint64_t account_id_of(size_t a)
{
    return 1000000000ull + (uint64_t)a * 7ull; /* external ids: sparse, increasing */
}

static risk_account *account_build(risk_engine *e, const market *m, const book *b, size_t a, int with_positions)
{
    risk_account *acc = NULL;
    check_rc(risk_account_new(&acc, e, account_id_of(a), RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY), "risk_account_new",
             risk_engine_errmsg(e));
    check_rc(risk_basket_set_balance(risk_account_basket(acc), m->usdt, b->cash[a]), "risk_basket_set_balance",
             risk_basket_errmsg(risk_account_basket(acc)));
    if (b->lev[a] > 0.0) {
        for (int j = 0; j < 2; j++) {
            uint32_t inst = m->instrument[b->inst[a * POS_PER_ACCOUNT + (size_t)j]];
            check_rc(risk_account_set_leverage(acc, inst, b->lev[a]), "risk_account_set_leverage", risk_account_errmsg(acc));
        }
    }
    if (with_positions) {
        for (int j = 0; j < POS_PER_ACCOUNT; j++) {
            size_t p = a * POS_PER_ACCOUNT + (size_t)j;
            risk_position_spec ps = RISK_POSITION_SPEC_INIT;
            ps.instrument = m->instrument[b->inst[p]];
            ps.side = RISK_SIDE_BOTH;
            ps.margin_mode = RISK_MARGIN_DEFAULT;
            ps.qty = b->qty[p];
            ps.entry = b->entry[p];
            ps.isolated_margin = 0.0;
            check_rc(risk_account_open_position(acc, &ps, NULL), "risk_account_open_position", risk_account_errmsg(acc));
        }
    }
    return acc;
}

static size_t engine_memory(const risk_engine *e)
{
    size_t n = 0;
    check_rc(risk_engine_memory_bytes(e, &n), "risk_engine_memory_bytes", risk_engine_errmsg(e));
    return n;
}

/* ------------------------------------------------------------------ timed kernels */

typedef struct engine_job {
    const risk_engine *e;
    risk_account_summary *out;
    uint64_t *ids;
    size_t n;
    uint32_t threads;
} engine_job;

/* The sweep reads the first 112 bytes of an account's struct (src/core/internal.h: what decides
 * the path, the position columns' pointers, the basket's balances) and no more of it. */
#define SWEEP_STRUCT_BYTES 112u
/* The sweep image's tile (RISK_ENGINE_SWEEP_IMAGE; risk__tile, src/core/internal.h, whose size
 * src/core/sweep_image.c pins with static assertions): a 448-byte header of eight lanes, then per
 * position row qty, entry and IM rate (8 B a lane) and instrument and flags (4 B a lane), which a
 * sweep reads; the isolated-margin and funding rows it reads only when a lane needs them. */
#define TILE_HEADER_BYTES 448u
#define TILE_ROW_BYTES_PER_LANE 32u
#define TILE_LANES 8u

/* The mean number of cache lines those bytes span, from the accounts' addresses: 2 when a struct
 * starts in the first 16 bytes of a line, 3 otherwise. */
static double struct_lines_mean(risk_account *const *accs, size_t n)
{
    double lines = 0.0;
    for (size_t a = 0; a < n; a++) {
        uintptr_t p = (uintptr_t)accs[a];
        lines += (double)(((p + SWEEP_STRUCT_BYTES - 1) >> 6) - (p >> 6) + 1);
    }
    return n ? lines / (double)n : 0.0;
}

/* positions/s a triad moving `touched` bytes per position reaches */
static double gb_t1_for_touched(double triad_bytes, double triad_s, double touched)
{
    return triad_bytes / triad_s / touched;
}

/* CPU seconds of the whole process (what perf stat's task-clock counts): on a shared VM the
 * wall time includes the time the vCPU was given to other tenants, the CPU time does not */
static double cpu_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* wall seconds of one risk_engine_evaluate_all; its CPU seconds (all threads) into *cpu */
static double time_engine_cpu(const engine_job *j, double *cpu)
{
    size_t count = 0;
    double c0 = cpu_now_s();
    double t0 = bench_now_s();
    int rc = risk_engine_evaluate_all(j->e, j->out, j->ids, j->n, j->threads, &count);
    double t = bench_now_s() - t0;
    *cpu = cpu_now_s() - c0;
    check_rc(rc, "risk_engine_evaluate_all", risk_engine_errmsg(j->e));
    if (count != j->n) {
        fprintf(stderr, "bench: evaluate_all reported %zu accounts, expected %zu\n", count, j->n);
        exit(1);
    }
    return t;
}

static double time_engine(const engine_job *j)
{
    double cpu;
    return time_engine_cpu(j, &cpu);
}

typedef struct naive_job {
    size_t n_accounts;
    const double *q;     /* signed base units (contracts x contract size) */
    const double *entry;
    const int32_t *inst;
    const double *cash;
    const double *mark;  /* per instrument */
    const double *mmr;   /* per instrument, fixed rate */
    unsigned char *flag;
    double *equity;
} naive_job;

static void naive_kernel(void *arg, int tid, int nthreads)
{
    naive_job *j = arg;
    size_t lo, hi;
    split_range(j->n_accounts, tid, nthreads, 8, &lo, &hi);
    const double *mark = j->mark, *mmr = j->mmr;
    for (size_t i = lo; i < hi; i++) {
        double e = j->cash[i], mm = 0.0;
        const double *qa = j->q + i * POS_PER_ACCOUNT, *ea = j->entry + i * POS_PER_ACCOUNT;
        const int32_t *ia = j->inst + i * POS_PER_ACCOUNT;
        for (size_t k = 0; k < POS_PER_ACCOUNT; k++) {
            double m = mark[ia[k]];
            e += qa[k] * (m - ea[k]);
            mm += fabs(qa[k]) * m * mmr[ia[k]];
        }
        j->equity[i] = e;
        j->flag[i] = e < mm;
    }
}

/* The engine's formula on flat arrays: tiered MM, IM at min(user, tier) leverage, the cross
 * pool, quantized outputs and the full summary written per account. It shows what the same
 * work costs without the engine's object layout. */
typedef struct flat_instrument {
    double mark, contract_size;
    double cap[N_TIERS], mmr[N_TIERS], cum[N_TIERS], max_lev[N_TIERS];
} flat_instrument;

typedef struct flat_job {
    size_t n_accounts;
    const double *qty;     /* signed contracts */
    const double *entry;
    const double *lev;     /* user leverage, 0 when unset */
    const uint32_t *inst;
    const double *cash;
    const flat_instrument *instruments;
    risk_account_summary *out;
} flat_job;

static double quantize_1e6(double v, int up)
{
    double n = v * 1e6;
    if (!(fabs(n) < 9007199254740992.0))
        return v;
    double t = (double)(int64_t)n;
    double f = t > n ? t - 1.0 : t;
    if (up && f != n)
        f += 1.0;
    return f / 1e6;
}

static void flat_kernel(void *arg, int tid, int nthreads)
{
    flat_job *j = arg;
    size_t lo, hi;
    split_range(j->n_accounts, tid, nthreads, 8, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        double upnl = 0.0, gross = 0.0, im = 0.0, mm = 0.0;
        for (size_t k = 0; k < POS_PER_ACCOUNT; k++) {
            size_t p = i * POS_PER_ACCOUNT + k;
            const flat_instrument *in = &j->instruments[j->inst[p]];
            double notional = fabs(j->qty[p]) * in->contract_size * in->mark;
            int t = 0;
            while (notional > in->cap[t])
                t++;
            double lev = (j->lev[p] > 0.0 && j->lev[p] < in->max_lev[t]) ? j->lev[p] : in->max_lev[t];
            upnl += j->qty[p] * in->contract_size * (in->mark - j->entry[p]);
            gross += notional;
            im += notional / lev;
            mm += notional * in->mmr[t] - in->cum[t];
        }
        double cash = j->cash[i];
        risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
        double equity = quantize_1e6(cash + upnl, 0), c_init = quantize_1e6(cash + upnl, 0);
        double c_maint = quantize_1e6(cash + upnl, 0), coll = quantize_1e6(cash, 0);
        double r_init = quantize_1e6(im, 1), r_maint = quantize_1e6(mm, 1);
        double hf = r_maint > 0.0 ? c_maint / r_maint : INFINITY;
        s.equity = equity;
        s.collateral_value = coll;
        s.unrealized_pnl = quantize_1e6(upnl, 0);
        s.initial_margin = r_init;
        s.maintenance_margin = r_maint;
        s.available = c_init - r_init;
        s.health_factor = hf;
        s.margin_ratio = r_maint > 0.0 ? (c_maint > 0.0 ? r_maint / c_maint : INFINITY) : 0.0;
        s.ltv = 0.0;
        s.ltv_buffer = coll > 0.0 ? c_init / coll : INFINITY;
        s.leverage = equity > 0.0 ? gross / equity : INFINITY;
        s.collateral_init = c_init;
        s.collateral_maint = c_maint;
        s.n_positions = POS_PER_ACCOUNT;
        s.state = equity <= 0.0 ? RISK_STATE_BANKRUPT
                  : hf < 1.0    ? RISK_STATE_LIQUIDATABLE
                  : hf < 1.2    ? RISK_STATE_MARGIN_CALL
                                : RISK_STATE_HEALTHY;
        j->out[i] = s;
    }
}

typedef struct triad_job {
    size_t n;
    double *restrict a;
    const double *restrict b;
    const double *restrict c;
    double s;
} triad_job;

static void triad_kernel(void *arg, int tid, int nthreads)
{
    triad_job *j = arg;
    size_t lo, hi;
    split_range(j->n, tid, nthreads, 8, &lo, &hi);
    double *restrict a = j->a;
    const double *restrict b = j->b;
    const double *restrict c = j->c;
    const double s = j->s;
    for (size_t i = lo; i < hi; i++)
        a[i] = b[i] + s * c[i];
}

/* ------------------------------------------------------------------ main */

static long max_rss_kib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
    size_t n_accounts = 1000000;
    int rounds = 9;
    if (argc > 1) {
        long v = atol(argv[1]);
        if (v < 1) {
            fprintf(stderr, "usage: %s [accounts >= 1 [rounds >= 1]]\n", argv[0]);
            return 2;
        }
        n_accounts = (size_t)v;
    }
    if (argc > 2) {
        rounds = atoi(argv[2]);
        if (rounds < 1 || rounds > 60) {
            fprintf(stderr, "usage: %s [accounts >= 1 [rounds 1..60]]\n", argv[0]);
            return 2;
        }
    }
    int failures = 0;
    double t_start = bench_now_s();

    for (int t = 1; t < N_TIERS; t++)
        tier_cum[t] = tier_cum[t - 1] + TIER_CAP[t - 1] * (TIER_MMR[t] - TIER_MMR[t - 1]);

    printf("librisk %s batch-evaluation benchmark\n", risk_version_string());
    printf("book: %zu accounts x %d linear perpetuals = %zu positions; %d underlyings, 3-tier schedules; "
           "%d timed rounds after a warm-up\n",
           n_accounts, POS_PER_ACCOUNT, n_accounts * POS_PER_ACCOUNT, N_UNDERLYINGS, rounds);

    /* ---- the book */
    double t0 = bench_now_s();
    book bk;
    book_generate(&bk, n_accounts);
    const size_t P = bk.n_positions;
    printf("book generated in %.2f s\n", bench_now_s() - t0);

    /* ---- memory: registry only, then accounts without positions (a probe engine) */
    market mk;
    size_t mem_accounts_only, mem_registry;
    double heap_per_account = 0.0, heap_per_position = 0.0;
    {
        risk_engine *probe = engine_build_registry(&mk);
        mem_registry = engine_memory(probe);
        risk_account **accs = xmalloc(sizeof(risk_account *) * n_accounts);
        double h0 = heap_in_use();
        t0 = bench_now_s();
        for (size_t a = 0; a < n_accounts; a++)
            accs[a] = account_build(probe, &mk, &bk, a, 0);
        double t_build = bench_now_s() - t0;
        heap_per_account = (heap_in_use() - h0) / (double)n_accounts;
        mem_accounts_only = engine_memory(probe);
        printf("probe engine (accounts with balance and leverage, no positions) built in %.2f s\n", t_build);
        for (size_t a = 0; a < n_accounts; a++)
            risk_account_free(accs[a]);
        risk_engine_free(probe);
        free(accs);
    }

    /* ---- the engine under test */
    risk_engine *eng = engine_build_registry(&mk);
    risk_account **accs = xmalloc(sizeof(risk_account *) * n_accounts);
    double heap0 = heap_in_use();
    t0 = bench_now_s();
    for (size_t a = 0; a < n_accounts; a++)
        accs[a] = account_build(eng, &mk, &bk, a, 1);
    double t_build = bench_now_s() - t0;
    double heap_engine = heap_in_use() - heap0;
    double struct_lines = struct_lines_mean(accs, n_accounts);
    heap_per_position = (heap_engine - heap_per_account * (double)n_accounts) / (double)P;
    size_t mem_full = engine_memory(eng);
    size_t n_alive = 0;
    check_rc(risk_engine_account_count(eng, &n_alive), "risk_engine_account_count", risk_engine_errmsg(eng));
    if (n_alive != n_accounts) {
        fprintf(stderr, "bench: engine holds %zu accounts, expected %zu\n", n_alive, n_accounts);
        return 1;
    }
    printf("engine built in %.2f s (%.0f ns per position opened, accounts included)\n", t_build, t_build / (double)P * 1e9);
    /* the same book in an engine that evaluates every account on the generic (reference) path
     * (RISK_ENGINE_GENERIC_SWEEP): the sweep's fast path is timed against it in the same run */
    market mk_generic;
    risk_engine *geng = engine_build_registry_flags(&mk_generic, RISK_ENGINE_GENERIC_SWEEP);
    risk_account **gaccs = xmalloc(sizeof(risk_account *) * n_accounts);
    for (size_t a = 0; a < n_accounts; a++)
        gaccs[a] = account_build(geng, &mk_generic, &bk, a, 1);
    /* and in an engine that keeps a sweep image (RISK_ENGINE_SWEEP_IMAGE): its memory, its first
     * sweep (which builds every tile) and, below, its sweeps against the plain engine's */
    market mk_image;
    risk_engine *ieng = engine_build_registry_flags(&mk_image, RISK_ENGINE_SWEEP_IMAGE);
    risk_account **iaccs = xmalloc(sizeof(risk_account *) * n_accounts);
    for (size_t a = 0; a < n_accounts; a++)
        iaccs[a] = account_build(ieng, &mk_image, &bk, a, 1);
    size_t mem_image = engine_memory(ieng);

    double per_account = (double)(mem_accounts_only - mem_registry) / (double)n_accounts;
    double per_position_marginal = ((double)mem_full - (double)mem_accounts_only) / (double)P;
    double per_position_total = (double)(mem_full - mem_registry) / (double)P;
    printf("\nmemory (risk_engine_memory_bytes):\n");
    printf("  registry, no accounts           %12zu B\n", mem_registry);
    printf("  + %zu accounts, no positions %12zu B   -> %.1f B per account (balance%s)\n", n_accounts, mem_accounts_only,
           per_account, " and leverage settings included");
    printf("  + %zu positions             %12zu B   -> %.1f B per position (marginal), %.1f B per position "
           "all-in (target <= 64)\n",
           P, mem_full, per_position_marginal, per_position_total);
    if (HAVE_MALLINFO2)
        printf("  malloc heap actually used (glibc mallinfo2, headers and rounding included): %.1f B per account "
               "without positions, %.1f B per position marginal, %.1f B per position all-in\n",
               heap_per_account, heap_per_position, heap_engine / (double)P);

    /* ---- buffers */
    risk_account_summary *s1 = xalloc64(sizeof(risk_account_summary) * n_accounts);
    risk_account_summary *s2 = xalloc64(sizeof(risk_account_summary) * n_accounts);
    uint64_t *ids1 = xalloc64(sizeof(uint64_t) * n_accounts);
    uint64_t *ids2 = xalloc64(sizeof(uint64_t) * n_accounts);
    for (size_t a = 0; a < n_accounts; a++) {
        risk_account_summary init = RISK_ACCOUNT_SUMMARY_INIT;
        s1[a] = init;
        s2[a] = init;
    }
    memset(ids1, 0, sizeof(uint64_t) * n_accounts);
    memset(ids2, 0, sizeof(uint64_t) * n_accounts);

    /* naive SoA arrays, from the same book */
    double *nq = xalloc64(sizeof(double) * P), *ne = xalloc64(sizeof(double) * P);
    int32_t *ni = xalloc64(sizeof(int32_t) * P);
    double *ncash = xalloc64(sizeof(double) * n_accounts), *neq = xalloc64(sizeof(double) * n_accounts);
    unsigned char *nflag = xalloc64(n_accounts);
    double nmark[N_UNDERLYINGS], nmmr[N_UNDERLYINGS];
    for (int k = 0; k < N_UNDERLYINGS; k++) {
        nmark[k] = UNDERLYINGS[k].mark;
        nmmr[k] = TIER_MMR[0];
    }
    for (size_t p = 0; p < P; p++) {
        nq[p] = bk.qty[p] * UNDERLYINGS[bk.inst[p]].contract_size;
        ne[p] = bk.entry[p];
        ni[p] = bk.inst[p];
    }
    memcpy(ncash, bk.cash, sizeof(double) * n_accounts);
    naive_job nj = {n_accounts, nq, ne, ni, ncash, nmark, nmmr, nflag, neq};

    /* flat full-formula arrays: qty, entry, user leverage (8 B each), instrument id (4 B) */
    double *fq = xalloc64(sizeof(double) * P), *fe = xalloc64(sizeof(double) * P), *fl = xalloc64(sizeof(double) * P);
    uint32_t *fi = xalloc64(sizeof(uint32_t) * P);
    risk_account_summary *s3 = xalloc64(sizeof(risk_account_summary) * n_accounts);
    flat_instrument ftab[N_UNDERLYINGS];
    for (int k = 0; k < N_UNDERLYINGS; k++) {
        ftab[k].mark = UNDERLYINGS[k].mark;
        ftab[k].contract_size = UNDERLYINGS[k].contract_size;
        for (int t = 0; t < N_TIERS; t++) {
            ftab[k].cap[t] = TIER_CAP[t];
            ftab[k].mmr[t] = TIER_MMR[t];
            ftab[k].cum[t] = tier_cum[t];
            ftab[k].max_lev[t] = TIER_LEV[t];
        }
    }
    for (size_t p = 0; p < P; p++) {
        size_t a = p / POS_PER_ACCOUNT;
        fq[p] = bk.qty[p];
        fe[p] = bk.entry[p];
        fi[p] = (uint32_t)bk.inst[p];
        fl[p] = (p % POS_PER_ACCOUNT < 2) ? bk.lev[a] : 0.0;
    }
    flat_job fj = {n_accounts, fq, fe, fl, fi, ncash, ftab, s3};

    /* triad over the engine's bytes per position (all-in) x positions; 24 B per element */
    double bytes_per_pos = per_position_total;
    const char *bytes_basis = "risk_engine_memory_bytes per position, all-in";
    if (!(bytes_per_pos >= 20.0 && bytes_per_pos <= 1024.0)) {
        bytes_per_pos = 24.0;
        bytes_basis = "fallback 24 B (engine figure out of range)";
    }
    const double MIN_BYTES = 20.0; /* qty 8 + entry 8 + instrument id 4: the naive loop's data */
    size_t tn = (size_t)ceil(bytes_per_pos * (double)P / 24.0);
    tn = (tn + 7) / 8 * 8;
    double *ta = xalloc64(sizeof(double) * tn), *tb = xalloc64(sizeof(double) * tn), *tc = xalloc64(sizeof(double) * tn);
    for (size_t i = 0; i < tn; i++) {
        ta[i] = 1.0;
        tb[i] = 2.0;
        tc[i] = 0.5;
    }
    triad_job tj = {tn, ta, tb, tc, 3.0};
    const double triad_bytes = 24.0 * (double)tn;
    printf("\ntriad: 3 x %zu doubles = %.1f MiB counted (%.1f B per position: %s)\n", tn, triad_bytes / 1048576.0,
           bytes_per_pos, bytes_basis);

    pool pl;
    pool_init(&pl, MAX_THREADS);

    /* ---- timing: warm-up, then interleaved rounds */
    risk_account_summary *sg = xalloc64(sizeof(risk_account_summary) * n_accounts);
    for (size_t a = 0; a < n_accounts; a++) {
        risk_account_summary init = RISK_ACCOUNT_SUMMARY_INIT;
        sg[a] = init;
    }
    engine_job e1 = {eng, s1, ids1, n_accounts, 1}, e2 = {eng, s2, ids2, n_accounts, 2};
    engine_job eg1 = {geng, sg, NULL, n_accounts, 1};
    timing tg1 = {{0}, 0};
    (void)time_engine(&eg1);
    risk_account_summary *si1 = xalloc64(sizeof(risk_account_summary) * n_accounts);
    risk_account_summary *si2 = xalloc64(sizeof(risk_account_summary) * n_accounts);
    uint64_t *idsi = xalloc64(sizeof(uint64_t) * n_accounts);
    for (size_t a = 0; a < n_accounts; a++) {
        risk_account_summary init = RISK_ACCOUNT_SUMMARY_INIT;
        si1[a] = init;
        si2[a] = init;
    }
    engine_job ei1 = {ieng, si1, idsi, n_accounts, 1}, ei2 = {ieng, si2, NULL, n_accounts, 2};
    double image_first_s = time_engine(&ei1); /* builds every tile */
    timing ti1 = {{0}, 0}, ti2 = {{0}, 0}, ci1 = {{0}, 0};
    timing te1 = {{0}, 0}, te2 = {{0}, 0}, tn1 = {{0}, 0}, tn2 = {{0}, 0}, tt1 = {{0}, 0}, tt2 = {{0}, 0};
    timing tf1 = {{0}, 0}, tf2 = {{0}, 0};
    (void)time_engine(&e1);
    (void)time_engine(&e2);
    pool_run(&pl, naive_kernel, &nj, 1);
    pool_run(&pl, flat_kernel, &fj, 1);
    pool_run(&pl, triad_kernel, &tj, 2);
    timing ce1 = {{0}, 0}, cg1 = {{0}, 0}, ce2 = {{0}, 0}; /* CPU seconds of the same calls */
    for (int r = 0; r < rounds; r++) {
        double cpu;
        timing_add(&te1, time_engine_cpu(&e1, &cpu));
        timing_add(&ce1, cpu);
        timing_add(&tg1, time_engine_cpu(&eg1, &cpu));
        timing_add(&cg1, cpu);
        timing_add(&te2, time_engine_cpu(&e2, &cpu));
        timing_add(&ce2, cpu);
        timing_add(&ti1, time_engine_cpu(&ei1, &cpu));
        timing_add(&ci1, cpu);
        timing_add(&ti2, time_engine(&ei2));
        t0 = bench_now_s();
        pool_run(&pl, naive_kernel, &nj, 1);
        timing_add(&tn1, bench_now_s() - t0);
        t0 = bench_now_s();
        pool_run(&pl, naive_kernel, &nj, 2);
        timing_add(&tn2, bench_now_s() - t0);
        t0 = bench_now_s();
        pool_run(&pl, flat_kernel, &fj, 1);
        timing_add(&tf1, bench_now_s() - t0);
        t0 = bench_now_s();
        pool_run(&pl, flat_kernel, &fj, 2);
        timing_add(&tf2, bench_now_s() - t0);
        t0 = bench_now_s();
        pool_run(&pl, triad_kernel, &tj, 1);
        timing_add(&tt1, bench_now_s() - t0);
        t0 = bench_now_s();
        pool_run(&pl, triad_kernel, &tj, 2);
        timing_add(&tt2, bench_now_s() - t0);
    }
    pool_destroy(&pl);

    /* per-account API loop, single thread, for comparison */
    timing ta1 = {{0}, 0};
    {
        int rr = rounds < 3 ? rounds : 3;
        for (int r = 0; r < rr; r++) {
            t0 = bench_now_s();
            for (size_t a = 0; a < n_accounts; a++) {
                int rc = risk_account_evaluate(accs[a], &s2[a]);
                if (rc != RISK_OK)
                    check_rc(rc, "risk_account_evaluate", risk_account_errmsg(accs[a]));
            }
            timing_add(&ta1, bench_now_s() - t0);
        }
    }
    int api_loop_same = memcmp(s1, s2, sizeof(risk_account_summary) * n_accounts) == 0;
    /* the last evaluate_all with 2 threads must be restored for the comparison below */
    (void)time_engine(&e2);

    /* ---- checks */
    size_t liq1 = 0, liq2 = 0, bankrupt = 0, margin_call = 0, ref_liq = 0, naive_flag = 0, state_mismatch = 0;
    size_t eq_bad = 0, mm_bad = 0, im_bad = 0, id_bad = 0, npos_bad = 0, flat_bad = 0;
    double sum_eq1 = 0.0, sum_eq2 = 0.0, max_eq_err = 0.0, max_mm_err = 0.0, max_im_err = 0.0;
    int bitwise_same = memcmp(s1, s2, sizeof(risk_account_summary) * n_accounts) == 0 &&
                       memcmp(ids1, ids2, sizeof(uint64_t) * n_accounts) == 0;
    int generic_same = memcmp(s1, sg, sizeof(risk_account_summary) * n_accounts) == 0;
    printf("fast path and generic path summaries bit-identical: %s\n", generic_same ? "yes" : "NO");
    failures += !generic_same;
    int image_same = memcmp(s1, si1, sizeof(risk_account_summary) * n_accounts) == 0 &&
                     memcmp(s1, si2, sizeof(risk_account_summary) * n_accounts) == 0 &&
                     memcmp(ids1, idsi, sizeof(uint64_t) * n_accounts) == 0;
    printf("sweep image (1 and 2 threads) and plain engine summaries and ids bit-identical: %s\n",
           image_same ? "yes" : "NO");
    failures += !image_same;
    for (size_t a = 0; a < n_accounts; a++) {
        sum_eq1 += s1[a].equity;
        sum_eq2 += s2[a].equity;
        liq1 += s1[a].state >= RISK_STATE_LIQUIDATABLE;
        liq2 += s2[a].state >= RISK_STATE_LIQUIDATABLE;
        bankrupt += s1[a].state == RISK_STATE_BANKRUPT;
        margin_call += s1[a].state == RISK_STATE_MARGIN_CALL;
        naive_flag += nflag[a];
        id_bad += ids1[a] != account_id_of(a);
        npos_bad += s1[a].n_positions != POS_PER_ACCOUNT;
        reference r;
        reference_account(&bk, a, &r);
        double tol = 2e-6 + 1e-12 * fabs(r.equity) + 1e-12 * r.mm * 200.0; /* quantum + rounding */
        double de = fabs(s1[a].equity - r.equity), dm = fabs(s1[a].maintenance_margin - r.mm),
               di = fabs(s1[a].initial_margin - r.im);
        if (de > max_eq_err)
            max_eq_err = de;
        if (dm > max_mm_err)
            max_mm_err = dm;
        if (di > max_im_err)
            max_im_err = di;
        eq_bad += !(de <= tol);
        mm_bad += !(dm <= tol);
        im_bad += !(di <= tol + 1e-12 * r.im * 200.0);
        int rl = r.equity < r.mm || r.equity <= 0.0;
        ref_liq += rl;
        int el = s1[a].state >= RISK_STATE_LIQUIDATABLE;
        /* near the boundary, quantization may legitimately decide either way */
        if (rl != el && fabs(r.equity - r.mm) > 1e-5)
            state_mismatch++;
        /* naive loop's equity must agree with the reference (same formula, same order) */
        if (fabs(neq[a] - r.equity) > 1e-9 * (1.0 + fabs(r.equity)))
            eq_bad++;
        /* the flat full-formula loop must compute the same summary (to the quantum) */
        if (!(fabs(s3[a].equity - s1[a].equity) <= 2e-6 && fabs(s3[a].maintenance_margin - s1[a].maintenance_margin) <= 2e-6 &&
              fabs(s3[a].initial_margin - s1[a].initial_margin) <= 2e-6 &&
              (s3[a].state == s1[a].state || fabs(r.equity - r.mm) <= 1e-5)))
            flat_bad++;
    }
    printf("\nchecks:\n");
    printf("  1 vs 2 threads: summaries and ids bit-identical: %s; liquidatable %zu vs %zu; equity checksum "
           "%.6f vs %.6f (%s)\n",
           bitwise_same ? "yes" : "NO", liq1, liq2, sum_eq1, sum_eq2, sum_eq1 == sum_eq2 ? "identical" : "DIFFERENT");
    printf("  per-account API loop gives the same summaries as evaluate_all: %s\n", api_loop_same ? "yes" : "NO");
    printf("  ids in creation order: %s; n_positions == 8 everywhere: %s\n", id_bad ? "NO" : "yes", npos_bad ? "NO" : "yes");
    printf("  vs independent reference (tiered MM, cum derived): max |d equity| %.3g, |d MM| %.3g, |d IM| %.3g; "
           "outside tolerance: equity %zu, MM %zu, IM %zu\n",
           max_eq_err, max_mm_err, max_im_err, eq_bad, mm_bad, im_bad);
    printf("  states: liquidatable or bankrupt %zu (%.2f %%; reference %zu; %zu disagree away from the boundary), "
           "bankrupt %zu, margin call %zu; naive fixed-rate loop flags %zu\n",
           liq1, 100.0 * (double)liq1 / (double)n_accounts, ref_liq, state_mismatch, bankrupt, margin_call, naive_flag);
    printf("  flat full-formula loop agrees with the engine (equity, IM, MM to 2e-6; state): %s (%zu differ)\n",
           flat_bad ? "NO" : "yes", flat_bad);
    failures += !bitwise_same + (sum_eq1 != sum_eq2) + (liq1 != liq2) + !api_loop_same + (id_bad != 0) + (npos_bad != 0) +
                (eq_bad != 0) + (mm_bad != 0) + (im_bad != 0) + (state_mismatch != 0) + (flat_bad != 0);

    /* ---- report */
    double be1 = timing_best(&te1), be2 = timing_best(&te2), bn1 = timing_best(&tn1), bn2 = timing_best(&tn2);
    double bt1 = timing_best(&tt1), bt2 = timing_best(&tt2), ba1 = timing_best(&ta1), bg1 = timing_best(&tg1);
    /* bytes the sweep touches per position: qty, entry, IM rate (8 B each), instrument id and
     * flags (4 B each), plus per account its slot in the registry (8 B), the cache lines of its
     * struct's first SWEEP_STRUCT_BYTES (two or three by its alignment, counted account by
     * account), its summary (written) and its id (written), shared by its positions */
    double touched = 32.0 + (8.0 + 64.0 * struct_lines + (double)sizeof(risk_account_summary) + 8.0) /
                                (double)POS_PER_ACCOUNT;
    double rt1_touched = gb_t1_for_touched(triad_bytes, bt1, touched);
    /* with the sweep image: each tile's header and its rows of POS_PER_ACCOUNT positions, shared
     * by its lanes' positions, plus each account's summary and id (written) */
    double image_touched = ((double)TILE_HEADER_BYTES / TILE_LANES +
                            (double)TILE_ROW_BYTES_PER_LANE * POS_PER_ACCOUNT + (double)sizeof(risk_account_summary) +
                            8.0) /
                           (double)POS_PER_ACCOUNT;
    double rt1_image_touched = gb_t1_for_touched(triad_bytes, bt1, image_touched);
    double bi1 = timing_best(&ti1), bi2 = timing_best(&ti2), ci1b = timing_best(&ci1);
    double ri1 = (double)P / bi1, ri2 = (double)P / bi2;
    double image_bytes_per_account = ((double)mem_image - (double)mem_full) / (double)n_accounts;
    double bf1 = timing_best(&tf1), bf2 = timing_best(&tf2), rf1 = (double)P / bf1, rf2 = (double)P / bf2;
    double re1 = (double)P / be1, re2 = (double)P / be2, rn1 = (double)P / bn1, rn2 = (double)P / bn2;
    double gb_t1 = triad_bytes / bt1 / 1e9, gb_t2 = triad_bytes / bt2 / 1e9;
    double rt1 = gb_t1 * 1e9 / bytes_per_pos, rt2 = gb_t2 * 1e9 / bytes_per_pos; /* positions/s equivalent */
    double rt1_min = gb_t1 * 1e9 / MIN_BYTES, rt2_min = gb_t2 * 1e9 / MIN_BYTES;

    printf("\nthroughput (best of %d; median in brackets), positions per second:\n", rounds);
    printf("  %-44s %10s %10s %12s %9s\n", "", "best ms", "median ms", "pos/s", "ns/pos");
#define ROW(name, tm, best)                                                                                              \
    printf("  %-44s %10.2f %10.2f %12.4g %9.3f\n", name, (best) * 1e3, timing_median(&(tm)) * 1e3, (double)P / (best), \
           (best) / (double)P * 1e9)
    ROW("engine risk_engine_evaluate_all, 1 thread", te1, be1);
    ROW("engine risk_engine_evaluate_all, 2 threads", te2, be2);
    ROW("engine, generic path only, 1 thread", tg1, bg1);
    ROW("engine with the sweep image, 1 thread", ti1, bi1);
    ROW("engine with the sweep image, 2 threads", ti2, bi2);
    ROW("engine risk_account_evaluate loop, 1 thread", ta1, ba1);
    ROW("naive SoA loop (fixed-rate MM), 1 thread", tn1, bn1);
    ROW("naive SoA loop (fixed-rate MM), 2 threads", tn2, bn2);
    ROW("flat SoA loop, engine's formula, 1 thread", tf1, bf1);
    ROW("flat SoA loop, engine's formula, 2 threads", tf2, bf2);
#undef ROW
    printf("  %-44s %10.2f %10.2f %12.4g  (%.1f GB/s)\n", "triad, 1 thread (pos/s equivalent)", bt1 * 1e3,
           timing_median(&tt1) * 1e3, rt1, gb_t1);
    printf("  %-44s %10.2f %10.2f %12.4g  (%.1f GB/s)\n", "triad, 2 threads (pos/s equivalent)", bt2 * 1e3,
           timing_median(&tt2) * 1e3, rt2, gb_t2);

    printf("\nCPU time of the same calls (CLOCK_PROCESS_CPUTIME_ID, all threads; best of %d, median in brackets):\n",
           rounds);
    double ce1b = timing_best(&ce1), cg1b = timing_best(&cg1), ce2b = timing_best(&ce2);
    printf("  %-44s %10.2f %10.2f %12.4g\n", "engine evaluate_all, 1 thread, CPU", ce1b * 1e3,
           timing_median(&ce1) * 1e3, (double)P / ce1b);
    printf("  %-44s %10.2f %10.2f %12.4g\n", "engine, generic path only, 1 thread, CPU", cg1b * 1e3,
           timing_median(&cg1) * 1e3, (double)P / cg1b);
    printf("  %-44s %10.2f %10.2f %12.4g\n", "engine evaluate_all, 2 threads, CPU (sum)", ce2b * 1e3,
           timing_median(&ce2) * 1e3, (double)P / ce2b);
    printf("  fast / generic path in CPU time: %.2f x (median %.2f x); 2 threads spend %.2f x the CPU of 1\n",
           cg1b / ce1b, timing_median(&cg1) / timing_median(&ce1), timing_median(&ce2) / timing_median(&ce1));

    printf("\nratios:\n");
    printf("  engine 1T / triad 1T at %.1f B/pos (engine's bytes):   %6.1f %%  (target >= 25 %%) %s\n", bytes_per_pos,
           100.0 * re1 / rt1, re1 / rt1 >= 0.25 ? "met" : "MISSED");
    printf("  engine 1T / triad 1T at %.0f B/pos (q+entry+inst):      %6.1f %%  (stricter reading)\n", MIN_BYTES,
           100.0 * re1 / rt1_min);
    printf("  engine 2T / triad 2T at %.1f B/pos:                     %6.1f %%\n", bytes_per_pos, 100.0 * re2 / rt2);
    printf("  engine 2T / triad 2T at %.0f B/pos:                       %6.1f %%\n", MIN_BYTES, 100.0 * re2 / rt2_min);
    printf("  engine 1T fast path / generic path 1T (same book):       %6.2f x  (target >= 3)\n", bg1 / be1);
    printf("  engine 1T / triad 1T at %.1f B/pos (bytes touched):     %6.1f %%  (target >= 50 %%)\n", touched,
           100.0 * re1 / rt1_touched);
    printf("  sweep image 1T / engine 1T (same book, same bits):        %6.2f x; first sweep (every tile built) "
           "%.1f ms\n",
           ri1 / re1, image_first_s * 1e3);
    printf("  sweep image 1T / triad 1T at %.1f B/pos (bytes touched): %6.1f %%  (target >= 50 %%)\n", image_touched,
           100.0 * ri1 / rt1_image_touched);
    printf("  sweep image memory: %.0f B per account (%zu B in all)\n", image_bytes_per_account, mem_image - mem_full);
    printf("  engine 2T / engine 1T speed-up:                         %6.2f x  (target >= 1.6) %s\n", re2 / re1,
           re2 / re1 >= 1.6 ? "met" : "MISSED");
    printf("  triad 2T / triad 1T:                                    %6.2f x\n", gb_t2 / gb_t1);
    printf("  naive 2T / naive 1T:                                    %6.2f x\n", rn2 / rn1);
    printf("  engine 1T / naive 1T:                                   %6.1f %%  (naive is %.1fx faster)\n",
           100.0 * re1 / rn1, rn1 / re1);
    printf("  engine 2T / naive 2T:                                   %6.1f %%\n", 100.0 * re2 / rn2);
    printf("  engine 1T / flat full-formula 1T:                       %6.1f %%  (flat is %.1fx faster)\n",
           100.0 * re1 / rf1, rf1 / re1);
    printf("  flat full-formula 1T / triad 1T at %.1f B/pos:          %6.1f %%;  at 28 B/pos (its own arrays): %.1f %%\n",
           bytes_per_pos, 100.0 * rf1 / rt1, 100.0 * rf1 / (gb_t1 * 1e9 / 28.0));
    printf("  engine batch 1T / per-account API loop 1T:              %6.2f x\n", ba1 / be1);
    printf("  memory per position, marginal %.1f B (target <= 64) %s; all-in (account overhead / %d included) "
           "%.1f B %s\n",
           per_position_marginal, per_position_marginal <= 64.0 ? "met" : "MISSED", POS_PER_ACCOUNT, per_position_total,
           per_position_total <= 64.0 ? "met" : "MISSED");

    printf("\nresult accounts %zu\n", n_accounts);
    printf("result positions %zu\n", P);
    printf("result engine_1t_pos_per_s %.6g\n", re1);
    printf("result engine_2t_pos_per_s %.6g\n", re2);
    printf("result engine_api_loop_1t_pos_per_s %.6g\n", (double)P / ba1);
    printf("result naive_1t_pos_per_s %.6g\n", rn1);
    printf("result naive_2t_pos_per_s %.6g\n", rn2);
    printf("result flat_1t_pos_per_s %.6g\n", rf1);
    printf("result flat_2t_pos_per_s %.6g\n", rf2);
    printf("result ratio_engine_flat_1t %.6g\n", re1 / rf1);
    printf("result triad_1t_gb_per_s %.6g\n", gb_t1);
    printf("result triad_2t_gb_per_s %.6g\n", gb_t2);
    printf("result triad_bytes_per_pos %.6g\n", bytes_per_pos);
    printf("result triad_1t_pos_per_s %.6g\n", rt1);
    printf("result triad_2t_pos_per_s %.6g\n", rt2);
    printf("result ratio_engine_triad_1t %.6g\n", re1 / rt1);
    printf("result ratio_engine_triad20_1t %.6g\n", re1 / rt1_min);
    printf("result engine_generic_1t_pos_per_s %.6g\n", (double)P / bg1);
    printf("result speedup_fast_over_generic_1t %.6g\n", bg1 / be1);
    printf("result engine_1t_cpu_pos_per_s %.6g\n", (double)P / ce1b);
    printf("result engine_generic_1t_cpu_pos_per_s %.6g\n", (double)P / cg1b);
    printf("result speedup_fast_over_generic_1t_cpu %.6g\n", cg1b / ce1b);
    printf("result cpu_2t_over_1t_median %.6g\n", timing_median(&ce2) / timing_median(&ce1));
    printf("result touched_bytes_per_pos %.6g\n", touched);
    printf("result struct_lines_per_account %.6g\n", struct_lines);
    printf("result triad_touched_1t_pos_per_s %.6g\n", rt1_touched);
    printf("result ratio_engine_triad_touched_1t %.6g\n", re1 / rt1_touched);
    printf("result ratio_engine_triad_2t %.6g\n", re2 / rt2);
    printf("result speedup_engine_2t %.6g\n", re2 / re1);
    printf("result speedup_triad_2t %.6g\n", gb_t2 / gb_t1);
    printf("result speedup_naive_2t %.6g\n", rn2 / rn1);
    printf("result ratio_engine_naive_1t %.6g\n", re1 / rn1);
    printf("result ratio_engine_naive_2t %.6g\n", re2 / rn2);
    printf("result mem_registry_bytes %zu\n", mem_registry);
    printf("result mem_per_account_bytes %.6g\n", per_account);
    printf("result mem_per_position_marginal_bytes %.6g\n", per_position_marginal);
    printf("result mem_per_position_total_bytes %.6g\n", per_position_total);
    if (HAVE_MALLINFO2) {
        printf("result heap_per_account_bytes %.6g\n", heap_per_account);
        printf("result heap_per_position_marginal_bytes %.6g\n", heap_per_position);
        printf("result heap_per_position_total_bytes %.6g\n", heap_engine / (double)P);
    }
    printf("result build_s %.6g\n", t_build);
    printf("result engine_image_1t_pos_per_s %.6g\n", ri1);
    printf("result engine_image_2t_pos_per_s %.6g\n", ri2);
    printf("result engine_image_1t_cpu_pos_per_s %.6g\n", (double)P / ci1b);
    printf("result speedup_image_over_engine_1t %.6g\n", ri1 / re1);
    printf("result speedup_image_2t %.6g\n", ri2 / ri1);
    printf("result image_touched_bytes_per_pos %.6g\n", image_touched);
    printf("result ratio_image_triad_touched_1t %.6g\n", ri1 / rt1_image_touched);
    printf("result image_first_sweep_ms %.6g\n", image_first_s * 1e3);
    printf("result mem_image_per_account_bytes %.6g\n", image_bytes_per_account);
    printf("result liquidatable %zu\n", liq1);
    printf("result checks_failed %d\n", failures);

    /* ---- tear down (accounts first; the engine lives until the last one goes) */
    t0 = bench_now_s();
    risk_engine_free(eng);
    for (size_t a = 0; a < n_accounts; a++)
        risk_account_free(accs[a]);
    risk_engine_free(geng);
    for (size_t a = 0; a < n_accounts; a++)
        risk_account_free(gaccs[a]);
    free(gaccs);
    risk_engine_free(ieng);
    for (size_t a = 0; a < n_accounts; a++)
        risk_account_free(iaccs[a]);
    free(iaccs);
    double t_free = bench_now_s() - t0;
    free(accs);
    free(s1);
    free(si1);
    free(si2);
    free(idsi);
    free(sg);
    free(s2);
    free(ids1);
    free(ids2);
    free(nq);
    free(ne);
    free(ni);
    free(ncash);
    free(neq);
    free(nflag);
    free(fq);
    free(fe);
    free(fl);
    free(fi);
    free(s3);
    free(ta);
    free(tb);
    free(tc);
    book_free(&bk);
    printf("result max_rss_mib %.1f\n", (double)max_rss_kib() / 1024.0);
    printf("result total_runtime_s %.2f\n", bench_now_s() - t_start);
    printf("\nteardown %.2f s; peak RSS %.0f MiB; total %.1f s; %s\n", t_free, (double)max_rss_kib() / 1024.0,
           bench_now_s() - t_start, failures ? "CHECKS FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
