/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cost of liquidation and bankruptcy prices (risk_account_position_results) against the cost
 * of evaluating the same account (risk_account_evaluate), in the same run.
 *
 * Book: 10^5 cross accounts (one-way) with 1, 8, 32, 64 or 128 linear perpetual positions on
 * distinct underlyings (past 8 positions, 8 x 10^5 / n accounts: the same number of positions),
 * 3-tier schedules, a USDT balance of 2-10 % of the gross notional; plus the same with every
 * position isolated. Fixed seed. Each round times one evaluation sweep then one prices sweep,
 * in wall time and in CPU time (CLOCK_PROCESS_CPUTIME_ID: on a busy shared machine the CPU
 * time of a single-threaded loop moves less); each figure is the best of the rounds. Prints ns
 * per account for both calls and their ratios (wall, CPU), and `result` lines for scripts
 * (`*_ratio` by wall time, `*_cpu_ratio` by CPU time). Usage: bench_prices [accounts] [rounds].
 */
#include "bench_util.h"

#define N_UNDERLYINGS 128

static void book_build(bench_book *b, size_t n_accounts, uint32_t n_positions, uint32_t margin_mode)
{
    bench_market m;
    bench_market_new(&m, N_UNDERLYINGS);
    bench_book_alloc(b, &m, n_accounts);
    for (size_t k = 0; k < n_accounts; k++) {
        risk_account *a;
        CHECK(risk_account_new(&a, b->engine, k + 1, margin_mode, RISK_POSITION_ONE_WAY));
        double gross = bench_open_positions(a, &m, n_positions, margin_mode, 0);
        CHECK(risk_basket_set_balance(risk_account_basket(a), m.usdt, gross * (0.02 + 0.08 * bench_rnd())));
        b->accounts[k] = a;
    }
}

static double cpu_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Best of `rounds` sweeps of each call over every account, in ns per account: [0] wall time,
 * [1] CPU time. */
static void measure(const bench_book *b, uint32_t n_positions, int rounds, double eval_ns[2], double prices_ns[2],
                    size_t *n_with_price)
{
    risk_position_result results[N_UNDERLYINGS];
    double best_eval[2] = {1e30, 1e30}, best_prices[2] = {1e30, 1e30}, sink = 0.0;
    size_t priced = 0;
    for (int r = 0; r < rounds; r++) {
        double c0 = cpu_now_s();
        double t_eval = bench_evaluate_sweep(b, &sink);
        double c1 = cpu_now_s(), t1 = bench_now_s();
        priced = 0;
        for (size_t k = 0; k < b->n; k++) {
            size_t count;
            results[0].version = RISK_POSITION_RESULT_VERSION;
            CHECK(risk_account_position_results(b->accounts[k], results, n_positions, &count));
            for (size_t i = 0; i < count; i++)
                priced += (results[i].flags & RISK_RESULT_HAS_LIQUIDATION_PRICE) != 0;
        }
        double t2 = bench_now_s(), c2 = cpu_now_s();
        bench_keep_best(&best_eval[0], t_eval);
        bench_keep_best(&best_prices[0], t2 - t1);
        bench_keep_best(&best_eval[1], c1 - c0);
        bench_keep_best(&best_prices[1], c2 - c1);
    }
    bench_use(sink);
    for (int c = 0; c < 2; c++) {
        eval_ns[c] = 1e9 * best_eval[c] / (double)b->n;
        prices_ns[c] = 1e9 * best_prices[c] / (double)b->n;
    }
    *n_with_price = priced;
}

int main(int argc, char **argv)
{
    size_t n_accounts = 100000;
    int rounds = 5;
    if (!bench_args(argc, argv, "bench_prices [accounts > 0] [rounds > 0]", &n_accounts, &rounds, NULL))
        return 2;
    const uint32_t sizes[] = {1, 8, 32, 64, 128};
    const size_t n_sizes = sizeof sizes / sizeof sizes[0];
    const uint32_t modes[] = {RISK_MARGIN_CROSS, RISK_MARGIN_ISOLATED};
    printf("liquidation and bankruptcy prices vs evaluation, %zu accounts, best of %d rounds\n", n_accounts,
           rounds);
    printf("%-9s %9s %14s %16s %8s %14s %16s %10s %12s\n", "margin", "positions", "evaluate ns", "prices ns",
           "ratio", "evaluate cpu", "prices cpu", "cpu ratio", "with LP");
    for (size_t m = 0; m < 2; m++)
        for (size_t s = 0; s < n_sizes; s++) {
            bench_book b;
            bench_seed();
            size_t n_book = sizes[s] > 8 ? n_accounts * 8 / sizes[s] : n_accounts;
            n_book = n_book ? n_book : 1;
            book_build(&b, n_book, sizes[s], modes[m]);
            double e_ns[2], p_ns[2];
            size_t priced;
            measure(&b, sizes[s], rounds, e_ns, p_ns, &priced);
            const char *mode = modes[m] == RISK_MARGIN_CROSS ? "cross" : "isolated";
            printf("%-9s %9u %14.1f %16.1f %7.1fx %14.1f %16.1f %9.1fx %11.1f%%\n", mode, sizes[s], e_ns[0], p_ns[0],
                   p_ns[0] / e_ns[0], e_ns[1], p_ns[1], p_ns[1] / e_ns[1],
                   100.0 * (double)priced / ((double)n_book * sizes[s]));
            printf("result %s_%u_evaluate_ns %.6g\nresult %s_%u_prices_ns %.6g\nresult %s_%u_ratio %.6g\n", mode,
                   sizes[s], e_ns[0], mode, sizes[s], p_ns[0], mode, sizes[s], p_ns[0] / e_ns[0]);
            printf("result %s_%u_cpu_ratio %.6g\n", mode, sizes[s], p_ns[1] / e_ns[1]);
            bench_book_free(&b);
        }
    return 0;
}
