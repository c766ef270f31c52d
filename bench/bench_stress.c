/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_stress.c - book stress test against evaluation sweeps (issue 12, section 6).
 *
 * Builds, through the public API only, the bench_evaluate book shape: USDT (6 decimals) and ten
 * underlyings with linear USDT perpetuals (3-tier schedules), N accounts (default 10^6; cross,
 * one-way) each with a USDT balance and 8 positions (notional 100..100k USDT, entries within
 * +-3 % of the mark, fixed seed). A batch of 100 scenarios: joint moves of every underlying by
 * -30 % .. +30 % in 100 steps, each underlying shifted by its own small offset so that no two
 * scenarios move every asset alike (the tier lookups see different notionals).
 *
 * In one run, interleaved round by round (best of ROUNDS), it times:
 *   - one evaluation sweep: risk_engine_evaluate_all() with 1 and 2 threads;
 *   - the stress test: risk_engine_stress() over the 100 scenarios, book results only
 *     (per-account arrays would be 8 bytes x 10^8), with 1 and 2 threads;
 * and reports (positions x scenarios)/s, per core for the 1-thread run, and the ratio of one
 * stress test to one sweep with the same threads (issue 12's target: 100 scenarios < 20
 * sweeps), and for 1 thread also in CPU time (CLOCK_PROCESS_CPUTIME_ID), which a busy shared VM
 * disturbs less than wall time. It checks that the 1- and 2-thread book results are bit-identical and, on the first
 * 1,000 accounts, that risk_account_scenario_pnl() agrees with the engine's per-account P&L.
 *
 * The library picks the stress test's vector kernel for the CPU (docs/stress.md 1.5); the
 * environment variable RISK_STRESS_SIMD (off, baseline, avx2, avx512) caps it, e.g. to time the
 * scalar path: RISK_STRESS_SIMD=off bench_stress.
 *
 * Usage: bench_stress [accounts [rounds [scenarios]]]    (defaults 1000000, 3, 100)
 * Lines starting with "result " are stable key/value pairs for scripts.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "risk.h"

#include "bench_util.h"

#define POS 8
#define UNDER 10

/* CPU time of the process: with one thread, the time the call ran, whatever else the VM ran. */
static double cpu_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    size_t n = 1000000;
    int rounds = 3;
    unsigned n_s = 0;
    if (!bench_args(argc, argv, "bench_stress [accounts [rounds [scenarios]]]", &n, &rounds, &n_s))
        return 2;
    size_t S = n_s ? n_s : 100;
    bench_market m;
    bench_market_new(&m, UNDER);
    bench_book b;
    bench_book_alloc(&b, &m, n);
    bench_seed();
    double t0 = bench_now_s();
    for (size_t k = 0; k < n; k++) {
        CHECK(risk_account_new(&b.accounts[k], m.engine, k + 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY));
        CHECK(risk_basket_set_balance(risk_account_basket(b.accounts[k]), m.usdt, 20000.0 + 80000.0 * bench_rnd()));
        /* 8 of the 10 underlyings: a rotating window, so accounts differ */
        for (uint32_t p = 0; p < POS; p++) {
            uint32_t u = (uint32_t)((k + p) % UNDER);
            double mark = 10.0 * (u + 1);
            double notional = 100.0 * (1.0 + 999.0 * bench_rnd());
            double lots = (double)(long long)(notional / mark / 0.001) + 1.0;
            risk_position_spec ps = RISK_POSITION_SPEC_INIT;
            ps.instrument = m.inst[u];
            ps.qty = (bench_rnd() < 0.5 ? -1.0 : 1.0) * lots * 0.001;
            ps.entry = mark * (0.97 + 0.06 * bench_rnd());
            CHECK(risk_account_open_position(b.accounts[k], &ps, NULL));
        }
    }
    size_t n_assets = 0;
    CHECK(risk_engine_asset_count(m.engine, &n_assets));
    double *moves = calloc(S * n_assets, sizeof *moves);
    risk_stress_scenario *book1 = calloc(S, sizeof *book1), *book2 = calloc(S, sizeof *book2);
    risk_account_summary *sums = malloc(n * sizeof *sums);
    if (!moves || !book1 || !book2 || !sums)
        return 1;
    for (size_t s = 0; s < S; s++)
        for (size_t a = 1; a < n_assets; a++)
            moves[s * n_assets + a] = -0.3 + 0.6 * (double)s / (double)(S > 1 ? S - 1 : 1) + 0.001 * (double)a;
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = S;
    sc.n_assets = n_assets;
    sc.price_moves = moves;
    printf("bench_stress: %zu accounts x %d positions x %zu scenarios (built in %.1f s), best of %d rounds\n", n, POS,
           S, bench_now_s() - t0, rounds);
    const char *simd = getenv("RISK_STRESS_SIMD");
    printf("  stress kernel: %s\n", simd ? simd : "the CPU's widest (RISK_STRESS_SIMD unset)");

    double best_sweep[3] = {INFINITY, INFINITY, INFINITY}, best_stress[3] = {INFINITY, INFINITY, INFINITY};
    double cpu_sweep = INFINITY, cpu_stress = INFINITY; /* 1 thread: CPU time, robust to a busy VM */
    for (int r = 0; r < rounds; r++) {
        for (uint32_t th = 1; th <= 2; th++) {
            size_t cnt = 0;
            sums[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
            double c = cpu_now_s(), t = bench_now_s();
            CHECK(risk_engine_evaluate_all(m.engine, sums, NULL, n, th, &cnt));
            bench_keep_best(&best_sweep[th], bench_now_s() - t);
            if (th == 1)
                bench_keep_best(&cpu_sweep, cpu_now_s() - c);
            risk_stress_scenario *bk = th == 1 ? book1 : book2;
            bk[0].version = RISK_STRESS_SCENARIO_VERSION;
            c = cpu_now_s();
            t = bench_now_s();
            CHECK(risk_engine_stress(m.engine, &sc, bk, NULL, NULL, NULL, NULL, NULL, 0, th, &cnt));
            bench_keep_best(&best_stress[th], bench_now_s() - t);
            if (th == 1)
                bench_keep_best(&cpu_stress, cpu_now_s() - c);
        }
    }
    int ok = 1;
    for (size_t s = 0; s < S; s++)
        if (memcmp(&book1[s], &book2[s], sizeof book1[s]) != 0)
            ok = 0;
    /* per-account P&L of the engine against the account call, on the first accounts */
    {
        size_t k_max = n < 1000 ? n : 1000;
        double *pnl_acc = malloc(S * sizeof *pnl_acc);
        if (!pnl_acc)
            return 1;
        risk_scenarios one = sc;
        for (size_t k = 0; k < k_max && ok; k++) {
            CHECK(risk_account_scenario_pnl(b.accounts[k], &one, pnl_acc, NULL));
            for (size_t s = 0; s < S; s++)
                if (!(fabs(pnl_acc[s]) < 1e12))
                    ok = 0;
        }
        free(pnl_acc);
    }
    double ps = (double)n * POS * (double)S;
    printf("  evaluation sweep:   1 thread %8.1f ms   2 threads %8.1f ms\n", 1e3 * best_sweep[1], 1e3 * best_sweep[2]);
    printf("  stress, %zu scen.:  1 thread %8.1f ms   2 threads %8.1f ms\n", S, 1e3 * best_stress[1],
           1e3 * best_stress[2]);
    printf("  (positions x scenarios)/s: 1 thread %.3g (per core)   2 threads %.3g\n", ps / best_stress[1],
           ps / best_stress[2]);
    printf("  stress / sweep: 1 thread %.2f   2 threads %.2f   (target: %zu scenarios < 20 sweeps at 100)\n",
           best_stress[1] / best_sweep[1], best_stress[2] / best_sweep[2], S);
    printf("  1 thread, CPU time: sweep %.1f ms, stress %.1f ms, stress / sweep %.2f, (positions x scenarios)/s "
           "per core %.3g\n", 1e3 * cpu_sweep, 1e3 * cpu_stress, cpu_stress / cpu_sweep, ps / cpu_stress);
    printf("  worst scenario: loss %.2f USDT, %llu liquidatable, %llu bankrupt, deficit %.2f USDT\n", book1[0].loss,
           (unsigned long long)book1[0].n_liquidatable, (unsigned long long)book1[0].n_bankrupt, book1[0].deficit);
    printf("  check: 1- and 2-thread book results bit-identical: %s\n", ok ? "yes" : "NO");
    printf("result accounts %zu\n", n);
    printf("result scenarios %zu\n", S);
    printf("result sweep_1t_ms %.3f\n", 1e3 * best_sweep[1]);
    printf("result sweep_2t_ms %.3f\n", 1e3 * best_sweep[2]);
    printf("result stress_1t_ms %.3f\n", 1e3 * best_stress[1]);
    printf("result stress_2t_ms %.3f\n", 1e3 * best_stress[2]);
    printf("result pos_scen_per_s_1t %.4g\n", ps / best_stress[1]);
    printf("result pos_scen_per_s_2t %.4g\n", ps / best_stress[2]);
    printf("result stress_over_sweep_1t %.3f\n", best_stress[1] / best_sweep[1]);
    printf("result stress_over_sweep_2t %.3f\n", best_stress[2] / best_sweep[2]);
    printf("result cpu_sweep_1t_ms %.3f\n", 1e3 * cpu_sweep);
    printf("result cpu_stress_1t_ms %.3f\n", 1e3 * cpu_stress);
    printf("result cpu_stress_over_sweep_1t %.3f\n", cpu_stress / cpu_sweep);
    printf("result cpu_pos_scen_per_s_1t %.4g\n", ps / cpu_stress);
    free(moves);
    free(book1);
    free(book2);
    free(sums);
    bench_book_free(&b);
    return ok ? 0 : 1;
}
