/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_tick.c - the tick path against a full sweep (issue 13, section 1).
 *
 * Book: N accounts (default 10^6; cross, one-way) each with 8 linear perpetuals (bench_market:
 * C0USDT..C7USDT, 3-tier schedules; notionals 100..100k USDT, either side, entries within +-3 %
 * of the mark) and a USDT balance: 99 % of the accounts hold 10-30 % of their gross notional,
 * 1 % hold 0.5-2 % (near a threshold). Prints the share of accounts whose maintenance surplus is
 * within 2 % of their gross notional.
 *
 * Times, one thread, best of ROUNDS:
 *   - the full sweep a caller needs without a tick path: risk_engine_evaluate_all() plus the scan
 *     of the states against the previous ones;
 *   - risk_tick_apply() per tick, averaged over TICKS ticks, for: one mark moving 0.1 % (up and
 *     back down, alternately), one mark moving 5 % (alternately), all 8 marks moving 0.1 %, one
 *     mark in a random walk of +-0.1 % steps (random signs, a fixed seed: the mark drifts, so
 *     bands are crossed on both sides), and one mark moving 0.1 % alternately with the caches
 *     flushed before every tick (COLD_TICKS ticks; a FLUSH_MB buffer is read and written
 *     outside the timed region: the cost of a tick that finds nothing of the tracker or the
 *     book in the caches, as after a burst of other work between two ticks);
 * and prints the ratio sweep / tick with the accounts re-evaluated per tick, in wall time and in
 * the thread's CPU time (CLOCK_THREAD_CPUTIME_ID: what the calls ran, which a busy shared VM
 * disturbs less than wall time; "cpu_" result lines). Then it accrues one funding period on
 * every instrument (risk_engine_accrue_funding: every position holds pending funding, which
 * every evaluation and every band counts), rebuilds the tracker, and times the sweep and the
 * one-mark 0.1 % tick again ("funded_" result lines), as every perpetuals venue runs.
 *
 * Usage: bench_tick [accounts [rounds]]    (defaults 1000000 and 3)
 * Lines starting with "result " are stable key/value pairs for scripts.
 */
#include "bench_util.h"

#include <string.h>

#define N_INST 8
#define TICKS 200
#define COLD_TICKS 100
#define FLUSH_MB 128 /* several times the L3 a core of the machines we measure on sees */

/* The cases: n_marks marks moved by the factor f and back (walk 0), or one mark by f or 1/f at
 * random (walk 1); cold: the caches flushed before every tick. */
typedef struct tick_case {
    const char *name;
    uint32_t n_marks;
    double f;
    int walk, cold, n_ticks;
} tick_case;

static unsigned char *flush_buf;

/* Evicts the caches: reads and writes one byte per line of a FLUSH_MB buffer. */
static void caches_flush(void)
{
    size_t n = (size_t)FLUSH_MB << 20;
    if (!flush_buf) {
        flush_buf = malloc(n);
        if (!flush_buf)
            exit(1);
        memset(flush_buf, 1, n);
    }
    for (size_t i = 0; i < n; i += 64)
        flush_buf[i] = (unsigned char)(flush_buf[i] + 1);
    bench_use(flush_buf[n / 2]);
}

/* The random walk's signs: their own xorshift stream, so that the book's draws are unchanged */
static uint64_t walk_state = 0x9e3779b97f4a7c15ULL;
static int walk_up(void)
{
    walk_state ^= walk_state << 13;
    walk_state ^= walk_state >> 7;
    walk_state ^= walk_state << 17;
    return (walk_state >> 40) & 1;
}

static double cpu_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void book_build(bench_book *b, bench_market *m, size_t n, double *near_share)
{
    bench_market_new(m, N_INST);
    bench_book_alloc(b, m, n);
    size_t near = 0;
    for (size_t k = 0; k < n; k++) {
        risk_account *a;
        CHECK(risk_account_new(&a, b->engine, k + 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY));
        double gross = bench_open_positions(a, m, N_INST, RISK_MARGIN_CROSS, 0);
        double share = bench_rnd() < 0.01 ? 0.005 + 0.015 * bench_rnd() : 0.10 + 0.20 * bench_rnd();
        CHECK(risk_basket_set_balance(risk_account_basket(a), m->usdt, gross * share));
        risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
        CHECK(risk_account_evaluate(a, &s));
        near += s.collateral_maint - s.maintenance_margin < 0.02 * gross;
        b->accounts[k] = a;
    }
    *near_share = (double)near / (double)n;
}

/* One full sweep and the scan for transitions, in seconds (CPU seconds into *cpu). */
static double sweep(const bench_book *b, risk_account_summary *s, uint32_t *states, size_t *changed, double *cpu)
{
    double c0 = cpu_now_s();
    double t0 = bench_now_s();
    size_t n = 0;
    s[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
    CHECK(risk_engine_evaluate_all(b->engine, s, NULL, b->n, 1, &n));
    size_t c = 0;
    for (size_t k = 0; k < n; k++) {
        c += s[k].state != states[k];
        states[k] = s[k].state;
    }
    *changed = c;
    double wall = bench_now_s() - t0;
    *cpu = cpu_now_s() - c0;
    return wall;
}

/* The applies of case c: seconds per tick and accounts evaluated per tick. */
static double ticks(risk_tick *t, const bench_market *m, const tick_case *c, double *evaluated, double *cpu)
{
    uint32_t inst[N_INST];
    double marks[N_INST];
    double total = 0.0, total_cpu = 0.0;
    uint64_t ev = 0;
    uint32_t n_marks = c->n_marks;
    double f = c->f, start[N_INST];
    for (uint32_t i = 0; i < n_marks; i++)
        CHECK(risk_engine_mark(m->engine, m->inst[i], &start[i]));
    for (int k = 0; k < c->n_ticks; k++) {
        int up = c->walk ? walk_up() : k % 2 == 0;
        for (uint32_t i = 0; i < n_marks; i++) {
            double mark;
            CHECK(risk_engine_mark(m->engine, m->inst[i], &mark));
            double next = up ? mark * f : mark / f;
            inst[i] = m->inst[i];
            marks[i] = (double)(long long)(next / 0.001 + 0.5) * 0.001; /* on the tick */
        }
        size_t changes;
        if (c->cold)
            caches_flush();
        double c0 = cpu_now_s();
        double t0 = bench_now_s();
        CHECK(risk_tick_apply(t, inst, marks, n_marks, NULL, NULL, 0, &changes));
        total += bench_now_s() - t0;
        total_cpu += cpu_now_s() - c0;
        risk_tick_stats st = RISK_TICK_STATS_INIT;
        CHECK(risk_tick_stats_get(t, &st));
        ev += st.evaluated;
    }
    if (c->walk) { /* back to the start (untimed), so that the next cases see the book as before */
        size_t changes;
        CHECK(risk_tick_apply(t, m->inst, start, n_marks, NULL, NULL, 0, &changes));
    }
    *evaluated = (double)ev / c->n_ticks;
    *cpu = total_cpu / c->n_ticks;
    return total / c->n_ticks;
}

int main(int argc, char **argv)
{
    size_t n_accounts = 1000000;
    int rounds = 3;
    if (!bench_args(argc, argv, "bench_tick [accounts > 0] [rounds > 0]", &n_accounts, &rounds, NULL))
        return 2;
    bench_market m;
    bench_book b;
    double near;
    bench_seed();
    book_build(&b, &m, n_accounts, &near);
    risk_account_summary *s = malloc(n_accounts * sizeof *s);
    uint32_t *states = calloc(n_accounts, sizeof *states);
    if (!s || !states)
        return 1;
    double t0 = bench_now_s();
    risk_tick *t;
    CHECK(risk_tick_new(&t, b.engine));
    double t_build = bench_now_s() - t0;
    size_t changed;
    double cpu;
    (void)sweep(&b, s, states, &changed, &cpu);
    printf("tick path vs full sweep, %zu accounts x %d positions, %.2f %% within 2 %% of MM; tracker built in %.2f s\n",
           n_accounts, N_INST, 100.0 * near, t_build);
    static const tick_case cases[] = {{"one_mark_0.1pct", 1, 1.001, 0, 0, TICKS},
                                      {"one_mark_5pct", 1, 1.05, 0, 0, TICKS},
                                      {"all_marks_0.1pct", N_INST, 1.001, 0, 0, TICKS},
                                      {"random_walk_0.1pct", 1, 1.001, 1, 0, TICKS},
                                      {"cold_one_mark_0.1pct", 1, 1.001, 0, 1, COLD_TICKS}};
    enum { N_CASES = sizeof cases / sizeof cases[0] };
    double best_sweep = 1e30, best_sweep_cpu = 1e30;
    double best_tick[N_CASES], best_cpu[N_CASES], evaluated[N_CASES];
    for (int c = 0; c < N_CASES; c++)
        best_tick[c] = best_cpu[c] = 1e30, evaluated[c] = 0.0;
    for (int r = 0; r < rounds; r++) {
        bench_keep_best(&best_sweep, sweep(&b, s, states, &changed, &cpu));
        bench_keep_best(&best_sweep_cpu, cpu);
        for (int c = 0; c < N_CASES; c++) {
            bench_keep_best(&best_tick[c], ticks(t, &m, &cases[c], &evaluated[c], &cpu));
            bench_keep_best(&best_cpu[c], cpu);
        }
    }
    risk_tick_stats st = RISK_TICK_STATS_INIT;
    CHECK(risk_tick_stats_get(t, &st));
    /* the same book with funding accrued: longs pay 0.01 % and shorts receive it, one period */
    for (uint32_t i = 0; i < N_INST; i++)
        CHECK(risk_engine_accrue_funding(m.engine, m.inst[i], 0.0001, 0.0001, 0.0, 1700000000));
    size_t rebuilt;
    CHECK(risk_tick_rebuild(t, &rebuilt));
    (void)sweep(&b, s, states, &changed, &cpu);
    double funded_sweep = 1e30, funded_sweep_cpu = 1e30, funded_tick = 1e30, funded_cpu = 1e30, funded_evaluated = 0.0;
    for (int r = 0; r < rounds; r++) {
        bench_keep_best(&funded_sweep, sweep(&b, s, states, &changed, &cpu));
        bench_keep_best(&funded_sweep_cpu, cpu);
        bench_keep_best(&funded_tick, ticks(t, &m, &cases[0], &funded_evaluated, &cpu));
        bench_keep_best(&funded_cpu, cpu);
    }
    printf("full sweep (evaluate_all + scan, 1 thread): %.2f ms\n", 1e3 * best_sweep);
    printf("%-22s %12s %14s %10s\n", "tick", "per tick", "evaluated", "ratio");
    for (int c = 0; c < N_CASES; c++) {
        printf("%-22s %9.1f us %14.1f %9.0fx\n", cases[c].name, 1e6 * best_tick[c], evaluated[c],
               best_sweep / best_tick[c]);
        printf("result %s_us %.6g\nresult %s_evaluated %.6g\nresult %s_ratio %.6g\n", cases[c].name,
               1e6 * best_tick[c], cases[c].name, evaluated[c], cases[c].name, best_sweep / best_tick[c]);
        printf("result cpu_%s_us %.6g\nresult cpu_%s_ratio %.6g\n", cases[c].name, 1e6 * best_cpu[c], cases[c].name,
               best_sweep_cpu / best_cpu[c]);
    }
    printf("%-22s %9.1f us %14.1f %9.0fx  (sweep %.2f ms)\n", "funded_one_mark_0.1pct", 1e6 * funded_tick,
           funded_evaluated, funded_sweep / funded_tick, 1e3 * funded_sweep);
    printf("result funded_one_mark_0.1pct_us %.6g\nresult funded_one_mark_0.1pct_evaluated %.6g\n"
           "result funded_one_mark_0.1pct_ratio %.6g\nresult cpu_funded_one_mark_0.1pct_ratio %.6g\n"
           "result funded_sweep_ms %.6g\n",
           1e6 * funded_tick, funded_evaluated, funded_sweep / funded_tick, funded_sweep_cpu / funded_cpu,
           1e3 * funded_sweep);
    printf("result cpu_sweep_ms %.6g\n", 1e3 * best_sweep_cpu);
    printf("result sweep_ms %.6g\nresult near_share %.6g\nresult build_s %.6g\nresult band_entries %llu\n",
           1e3 * best_sweep, near, t_build, (unsigned long long)st.band_entries);
    risk_tick_free(t);
    free(flush_buf);
    free(s);
    free(states);
    bench_book_free(&b);
    return 0;
}
