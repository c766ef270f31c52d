/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_instruments.c - the sweep on engines of many instruments and accounts of many positions
 * (issue 13, section 2).
 *
 * An exchange lists hundreds of perpetuals; the sweep's AVX-512 path looks instrument fields up
 * by permutes of 16-entry tables in engines of at most 16 instruments and by gathers beyond, and
 * its scalar table lives on the stack up to 128 instruments and is allocated beyond
 * (src/core/evaluate.c). This bench times one-thread risk_engine_evaluate_all on the same shape
 * of book in engines of 16, 17, 128, 129 and 400 instruments, and the 400-instrument book in an
 * engine that evaluates every account on the generic path (RISK_ENGINE_GENERIC_SWEEP), in the
 * same run:
 *   - N accounts (default 10^6; cross, one-way), each with a USDT balance of 20 % of its gross
 *     notional and 8 linear USDT perpetuals on distinct instruments drawn at random from all of
 *     the engine's (3-tier schedules as bench_util.h's market; notionals 100..100k USDT, either
 *     side, entries within +-3 % of the mark);
 *   - best of ROUNDS sweeps, wall time.
 * Prints positions/s for each engine, the ratio of each to the 16-instrument engine (the cost
 * of the engine's size), and fast / generic at 400 instruments; checks that the fast and the
 * generic engine's summaries of the 400-instrument book are bit-identical. Then, on the
 * 16-instrument engine, books of the same 8 x N positions in accounts of 4, 12 and 16 positions
 * (N / 2, 2 N / 3 and N / 2 accounts): positions/s and the ratio to the 8-position book (the AVX-512
 * path takes up to 16 positions an account in two vectors). Last, a 16-instrument book of which
 * every odd instrument is a coin-margined inverse perpetual, on the fast and the generic path:
 * positions/s, fast / generic, and a bit-for-bit check; and the linear 16-instrument book after
 * two funding accruals on every perpetual (a third of the accounts settling in between), so that
 * every evaluation adds pending funding: the same three figures.
 * Uses risk_engine_accrue_funding and risk_account_settle_funding besides the sweep.
 *
 * Usage: bench_instruments [accounts [rounds]]    (defaults 1000000 and 7)
 * Lines starting with "result " are stable key/value pairs for scripts.
 */
#include <string.h>

#include "bench_util.h"

/* An engine of n_inst perpetuals and n accounts on it (their handles into acc[0..n)), n_pos
 * positions each; inverse: every odd instrument is a coin-margined inverse perpetual (contract
 * 100 USD, lot 1, settled in its coin) instead of a linear one. The random stream is re-seeded,
 * so every engine of the same arguments holds the same book. */
static risk_engine *book_new(uint32_t n_inst, size_t n, uint32_t flags, risk_account **acc, uint32_t n_pos,
                             int inverse)
{
    risk_engine_options o = RISK_ENGINE_OPTIONS_INIT;
    o.flags = flags;
    risk_engine *e;
    CHECK(risk_engine_new(&e, &o));
    risk_asset_spec as = RISK_ASSET_SPEC_INIT;
    as.symbol = "USDT";
    as.price = 1.0;
    as.decimals = 6;
    uint32_t usdt;
    CHECK(risk_engine_add_asset(e, &as, &usdt));
    const risk_margin_tier tiers[] = {{50000, 0.004, 125, 0, 0}, {250000, 0.005, 100, 0, 0}, {1e9, 0.01, 50, 0, 0}};
    const risk_margin_tier coin_tiers[] = {{500, 0.004, 125, 0, 0}, {2500, 0.005, 100, 0, 0}, {1e9, 0.01, 50, 0, 0}};
    uint32_t *inst = malloc(n_inst * sizeof *inst);
    double *mark = malloc(n_inst * sizeof *mark);
    if (!inst || !mark)
        exit(1);
    for (uint32_t u = 0; u < n_inst; u++) {
        char sym[16], isym[24];
        snprintf(sym, sizeof sym, "C%u", u);
        snprintf(isym, sizeof isym, "C%uUSDT", u);
        uint32_t asset;
        as.symbol = sym;
        as.price = 10.0 * (u % 50 + 1);
        as.decimals = 8;
        mark[u] = as.price;
        CHECK(risk_engine_add_asset(e, &as, &asset));
        risk_instrument_spec is = RISK_INSTRUMENT_SPEC_INIT;
        int inv = inverse && u % 2;
        if (inv)
            snprintf(isym, sizeof isym, "C%uUSD", u);
        is.symbol = isym;
        is.underlying = asset;
        is.settle = inv ? asset : usdt;
        is.inverse = (uint32_t)inv;
        is.contract_size = inv ? 100.0 : 1.0;
        is.lot_size = inv ? 1.0 : 0.001;
        is.tick_size = 0.001;
        is.mark = as.price;
        is.tiers = inv ? coin_tiers : tiers;
        is.n_tiers = 3;
        CHECK(risk_engine_add_instrument(e, &is, &inst[u]));
    }
    bench_seed();
    for (size_t k = 0; k < n; k++) {
        risk_account *a;
        CHECK(risk_account_new(&a, e, k + 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY));
        uint32_t used[16];
        double gross = 0.0;
        for (uint32_t p = 0; p < n_pos; p++) {
            uint32_t u;
            int dup;
            do { /* 8 distinct instruments */
                u = (uint32_t)(bench_rnd() * n_inst) % n_inst;
                dup = 0;
                for (uint32_t q = 0; q < p; q++)
                    dup |= used[q] == u;
            } while (dup);
            used[p] = u;
            double notional = 100.0 * (1.0 + 999.0 * bench_rnd());
            int inv = inverse && u % 2;
            double lot = inv ? 1.0 : 0.001, lots = (double)(long long)(notional / (inv ? 100.0 : mark[u]) / lot) + 1.0;
            risk_position_spec ps = RISK_POSITION_SPEC_INIT;
            ps.instrument = inst[u];
            ps.qty = (bench_rnd() < 0.5 ? -1.0 : 1.0) * lots * lot;
            ps.entry = mark[u] * (0.97 + 0.06 * bench_rnd());
            CHECK(risk_account_open_position(a, &ps, NULL));
            gross += inv ? lots * 100.0 : lots * 0.001 * mark[u];
        }
        CHECK(risk_basket_set_balance(risk_account_basket(a), usdt, gross * 0.2));
        acc[k] = a;
    }
    free(inst);
    free(mark);
    return e;
}

/* Best of `rounds` one-thread sweeps, in seconds. */
static double sweep_best(risk_engine *e, risk_account_summary *s, size_t n, int rounds)
{
    double best = 1e30;
    for (int r = 0; r < rounds; r++) {
        size_t count = 0;
        s[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
        double t0 = bench_now_s();
        CHECK(risk_engine_evaluate_all(e, s, NULL, n, 1, &count));
        bench_keep_best(&best, bench_now_s() - t0);
        if (count != n)
            exit(1);
    }
    return best;
}

/* The same book on the fast engine e and the generic engine g (8 positions an account): prints
 * positions/s, the ratio to base (positions/s of the plain 16-instrument book) and fast / generic
 * as "result KEY_..." lines, and returns whether the summaries are bit-identical. */
static int fast_against_generic(const char *what, const char *base_name, const char *key, risk_engine *e,
                                risk_engine *g, risk_account_summary *s, risk_account_summary *ref, size_t n,
                                int rounds, double base)
{
    double positions = 8.0 * (double)n;
    double t = sweep_best(e, s, n, rounds), tg = sweep_best(g, ref, n, rounds);
    (void)sweep_best(e, s, n, 1);
    int same = memcmp(s, ref, n * sizeof *s) == 0;
    printf("%s, 8 positions an account: %8.2f ms  %7.1f M positions/s  %.2fx %s; generic path %.1f M/s (fast / "
           "generic %.2fx); bit-identical: %s\n",
           what, 1e3 * t, positions / t / 1e6, positions / t / base, base_name, positions / tg / 1e6, tg / t,
           same ? "yes" : "NO");
    printf("result %s_pos_per_s %.6g\nresult %s_over_linear %.6g\nresult %s_fast_over_generic %.6g\nresult "
           "%s_checks %s\n",
           key, positions / t, key, positions / t / base, key, tg / t, key, same ? "ok" : "FAILED");
    return same;
}

/* Accounts hold references to their engine: free them, then the engine. */
static void book_free(risk_engine *e, risk_account **acc, size_t n)
{
    for (size_t k = 0; k < n; k++)
        risk_account_free(acc[k]);
    risk_engine_free(e);
}

int main(int argc, char **argv)
{
    size_t n = 1000000;
    int rounds = 7;
    if (!bench_args(argc, argv, "bench_instruments [accounts > 0] [rounds > 0]", &n, &rounds, NULL))
        return 2;
    risk_account_summary *s = malloc(n * sizeof *s), *ref = malloc(n * sizeof *ref);
    risk_account **acc = malloc(n * sizeof *acc), **gacc = malloc(n * sizeof *gacc);
    if (!s || !ref || !acc || !gacc)
        return 1;
    static const uint32_t counts[] = {16, 17, 128, 129, 400};
    enum { N_COUNTS = sizeof counts / sizeof counts[0] };
    double pos_per_s[N_COUNTS];
    double positions = 8.0 * (double)n;
    printf("sweep (evaluate_all, 1 thread) by the engine's number of instruments, %zu accounts x 8 positions, "
           "best of %d\n",
           n, rounds);
    for (int c = 0; c < N_COUNTS; c++) {
        risk_engine *e = book_new(counts[c], n, 0, acc, 8, 0);
        double t = sweep_best(e, s, n, rounds);
        pos_per_s[c] = positions / t;
        printf("  %4u instruments: %8.2f ms  %7.1f M positions/s  %.2fx the 16-instrument engine\n", counts[c],
               1e3 * t, pos_per_s[c] / 1e6, pos_per_s[c] / pos_per_s[0]);
        printf("result inst%u_pos_per_s %.6g\nresult inst%u_over_inst16 %.6g\n", counts[c], pos_per_s[c], counts[c],
               pos_per_s[c] / pos_per_s[0]);
        if (c != N_COUNTS - 1)
            book_free(e, acc, n);
        else { /* the generic path on the same 400-instrument book: the speed-up, and the same bits */
            risk_engine *g = book_new(counts[c], n, RISK_ENGINE_GENERIC_SWEEP, gacc, 8, 0);
            double tg = sweep_best(g, ref, n, rounds);
            (void)sweep_best(e, s, n, 1);
            int same = memcmp(s, ref, n * sizeof *s) == 0;
            printf("  %4u instruments, generic path: %8.2f ms  %7.1f M positions/s; fast / generic %.2fx; "
                   "summaries bit-identical: %s\n",
                   counts[c], 1e3 * tg, positions / tg / 1e6, tg / t, same ? "yes" : "NO");
            printf("result inst%u_generic_pos_per_s %.6g\nresult inst%u_fast_over_generic %.6g\nresult checks %s\n",
                   counts[c], positions / tg, counts[c], tg / t, same ? "ok" : "FAILED");
            book_free(g, gacc, n);
            book_free(e, acc, n);
            if (!same)
                return 1;
        }
    }
    static const uint32_t shapes[] = {4, 12, 16};
    printf("the same 8 x %zu positions in accounts of other sizes, 16 instruments:\n", n);
    for (int c = 0; c < 3; c++) {
        size_t m = 8 * n / shapes[c];
        risk_account **more = m > n ? realloc(acc, m * sizeof *acc) : acc;
        risk_account_summary *sm = m > n ? realloc(s, m * sizeof *s) : s;
        if (!more || !sm)
            return 1;
        acc = more;
        s = sm;
        risk_engine *e = book_new(16, m, 0, acc, shapes[c], 0);
        double t = sweep_best(e, s, m, rounds);
        double rate = (double)m * shapes[c] / t;
        printf("  %2u positions an account: %8.2f ms  %7.1f M positions/s  %.2fx the 8-position book\n", shapes[c],
               1e3 * t, rate / 1e6, rate / pos_per_s[0]);
        printf("result pos%u_pos_per_s %.6g\nresult pos%u_over_pos8 %.6g\n", shapes[c], rate, shapes[c],
               rate / pos_per_s[0]);
        book_free(e, acc, m);
    }
    /* half the instruments coin-margined inverse perpetuals: the same book on the generic path */
    {
        risk_engine *e = book_new(16, n, 0, acc, 8, 1), *g = book_new(16, n, RISK_ENGINE_GENERIC_SWEEP, gacc, 8, 1);
        int same = fast_against_generic("half of 16 instruments inverse", "the linear book", "inverse", e, g, s, ref,
                                        n, rounds, pos_per_s[0]);
        book_free(g, gacc, n);
        book_free(e, acc, n);
        if (!same)
            return 1;
    }
    /* funding accrued on every perpetual (every evaluation then adds each position's pending
     * funding): one accrual, a third of the accounts settling it, a second accrual, so that
     * positions hold different last indices; the same book on the generic path */
    {
        risk_engine *e = book_new(16, n, 0, acc, 8, 0), *g = book_new(16, n, RISK_ENGINE_GENERIC_SWEEP, gacc, 8, 0);
        for (int period = 0; period < 2; period++) {
            for (uint32_t i = 0; i < 16; i++) {
                double rl = 0.0001 * (1.0 + i % 3), rs = -0.00005 * (1.0 + i % 2);
                CHECK(risk_engine_accrue_funding(e, i, rl, rs, 0.0, 1700000000 + 28800 * period));
                CHECK(risk_engine_accrue_funding(g, i, rl, rs, 0.0, 1700000000 + 28800 * period));
            }
            for (size_t k = 0; period == 0 && k < n; k += 3) {
                risk_funding_result r = RISK_FUNDING_RESULT_INIT;
                CHECK(risk_account_settle_funding(acc[k], &r));
                CHECK(risk_account_settle_funding(gacc[k], &r));
            }
        }
        int same = fast_against_generic("funding accrued on all 16 perpetuals", "the book without", "funding", e, g,
                                        s, ref, n, rounds, pos_per_s[0]);
        book_free(g, gacc, n);
        book_free(e, acc, n);
        if (!same)
            return 1;
    }
    free(s);
    free(ref);
    free(acc);
    free(gacc);
    return 0;
}
