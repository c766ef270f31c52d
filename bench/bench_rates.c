/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_rates.c - interest accrual on a large book, against one evaluation sweep of it.
 *
 * Book: 10^6 accounts (first argument), each with balances in 4 rate-bearing assets (USDT on
 * an Aave v3 curve, C0 on Comet kinks, C1 on Drift's multi-kink curve, C2 on a flat hourly
 * rate): a deposit in one of them and debts in the others, moved through the pools
 * (risk_basket_pool_transfer), and one linear perpetual position on C0USDT.
 *
 * Timed, best of `rounds` (second argument):
 *   - accrue: risk_engine_accrue() over one hour, which moves the 4 assets' indices: O(assets);
 *   - sweep: risk_account_evaluate() of every account (bench_evaluate_sweep), which values the
 *     accrued balances through the indices;
 *   - post: what accrual costs without scaled balances, for comparison: adding each balance's
 *     interest to it (risk_basket_add_balance on each of the 4 x 10^6 balances).
 * Reported: "result KEY VALUE" lines, with accrue / sweep as the ratio the issue asks for.
 * Checks: the accrued debt of a sample account equals its scaled amount x the borrow index.
 */
#include "bench_util.h"

#include <math.h>
#include <string.h>

#define N_RATED 4

static void set_models(risk_engine *e, const uint32_t *assets)
{
    risk_rate_model m = RISK_RATE_MODEL_INIT;
    m.kind = RISK_RATE_MODEL_AAVE;
    m.reserve_factor = 0.1;
    m.aave_optimal_usage = 0.8;
    m.aave_slope1 = 0.04;
    m.aave_slope2 = 0.75;
    CHECK(risk_engine_set_rate_model(e, assets[0], &m));
    m = (risk_rate_model)RISK_RATE_MODEL_INIT;
    m.kind = RISK_RATE_MODEL_COMET;
    m.comet_supply_kink = m.comet_borrow_kink = 0.8;
    m.comet_supply_slope_low = 0.04;
    m.comet_supply_slope_high = 0.4;
    m.comet_borrow_base = 0.01;
    m.comet_borrow_slope_low = 0.05;
    m.comet_borrow_slope_high = 0.3;
    CHECK(risk_engine_set_rate_model(e, assets[1], &m));
    m = (risk_rate_model)RISK_RATE_MODEL_INIT;
    m.kind = RISK_RATE_MODEL_DRIFT;
    m.drift_optimal_utilisation = 0.7;
    m.drift_optimal_rate = 0.1;
    m.drift_max_rate = 5.0;
    CHECK(risk_engine_set_rate_model(e, assets[2], &m));
    m = (risk_rate_model)RISK_RATE_MODEL_INIT;
    m.kind = RISK_RATE_MODEL_FLAT;
    m.flat_borrow_hourly = 0.00001;
    CHECK(risk_engine_set_rate_model(e, assets[3], &m));
}

int main(int argc, char **argv)
{
    size_t n = 1000000;
    int rounds = 5;
    if (!bench_args(argc, argv, "bench_rates [accounts >= 1 [rounds >= 1]]", &n, &rounds, NULL))
        return 2;
    printf("librisk %s accrual benchmark\n", risk_version_string());
    printf("book: %zu accounts x %d rate-bearing balances + 1 perpetual position; best of %d rounds\n", n, N_RATED,
           rounds);
    bench_seed();
    bench_market m;
    bench_market_new(&m, 3);
    risk_engine *e = m.engine;
    uint32_t assets[N_RATED] = {m.usdt, 1, 2, 3}; /* USDT, C0, C1, C2 (registration order) */
    set_models(e, assets);
    const int64_t t0 = 1704067200;
    CHECK(risk_engine_accrue(e, t0));
    /* a lender deep enough for every borrow until the accounts' own deposits (20x what each
     * borrows, on a quarter of them) carry the pool: 9e7 units, within the largest balance of
     * an 8-decimal asset (2^53 quanta, RISK_AMOUNT_QUANTA_MAX) */
    risk_basket *lender;
    CHECK(risk_basket_new(&lender, e));
    for (int k = 0; k < N_RATED; k++)
        CHECK(risk_basket_pool_transfer(lender, assets[k], 9e7));
    bench_book bk;
    bench_book_alloc(&bk, &m, n);
    double tb = bench_now_s();
    for (size_t i = 0; i < n; i++) {
        CHECK(risk_account_new(&bk.accounts[i], e, (uint64_t)i + 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY));
        risk_basket *b = risk_account_basket(bk.accounts[i]);
        int dep = (int)(bench_rnd() * N_RATED);
        for (int k = 0; k < N_RATED; k++) {
            double x = 10.0 + 1000.0 * bench_rnd(); /* in units of the asset */
            CHECK(risk_basket_pool_transfer(b, assets[k], k == dep ? 20.0 * x : -x));
        }
        bench_open_positions(bk.accounts[i], &m, 1, RISK_MARGIN_CROSS, 0);
    }
    printf("book built in %.2f s\n", bench_now_s() - tb);

    double sink = 0.0, best_accrue = INFINITY, best_sweep = INFINITY, best_post = INFINITY;
    int64_t now = t0;
    bench_evaluate_sweep(&bk, &sink); /* warm-up */
    for (int r = 0; r < rounds; r++) {
        now += 3600;
        double ta = bench_now_s();
        CHECK(risk_engine_accrue(e, now));
        bench_keep_best(&best_accrue, bench_now_s() - ta);
        bench_keep_best(&best_sweep, bench_evaluate_sweep(&bk, &sink));
    }
    /* the alternative: interest posted into every balance (what scaled balances avoid) */
    for (int r = 0; r < (rounds < 2 ? rounds : 2); r++) {
        double tp = bench_now_s();
        for (size_t i = 0; i < n; i++) {
            risk_basket *b = risk_account_basket(bk.accounts[i]);
            for (int k = 0; k < N_RATED; k++) {
                double x;
                CHECK(risk_basket_balance(b, assets[k], &x));
                CHECK(risk_basket_add_balance(b, assets[k], x * 1e-6));
            }
        }
        bench_keep_best(&best_post, bench_now_s() - tp);
    }

    /* check: a debt is its scaled amount x the borrow index */
    int failures = 0;
    for (size_t i = 0; i < n; i += n / 7 + 1) {
        risk_basket *b = risk_account_basket(bk.accounts[i]);
        for (int k = 0; k < N_RATED; k++) {
            double x, s;
            risk_rate_pool p = RISK_RATE_POOL_INIT;
            CHECK(risk_basket_balance(b, assets[k], &x));
            CHECK(risk_basket_scaled_balance(b, assets[k], &s));
            CHECK(risk_engine_rate_pool(e, assets[k], &p));
            double want = s * (s > 0.0 ? p.supply_index : p.borrow_index);
            if (x != want) {
                fprintf(stderr, "bench_rates: account %zu asset %u: balance %.17g, scaled x index %.17g\n", i,
                        assets[k], x, want);
                failures++;
            }
        }
    }
    printf("\naccrual over one hour, %d assets:          %12.3f us\n", N_RATED, best_accrue * 1e6);
    printf("evaluation sweep, %zu accounts:        %12.3f ms   (%.1f ns per account)\n", n, best_sweep * 1e3,
           best_sweep / (double)n * 1e9);
    printf("posting interest into every balance:     %12.3f ms   (what scaled balances avoid)\n", best_post * 1e3);
    printf("accrual / sweep:                         %12.3g\n", best_accrue / best_sweep);
    printf("result accounts %zu\n", n);
    printf("result accrue_us %.3f\n", best_accrue * 1e6);
    printf("result sweep_ms %.3f\n", best_sweep * 1e3);
    printf("result post_ms %.3f\n", best_post * 1e3);
    printf("result accrue_over_sweep %.3g\n", best_accrue / best_sweep);
    bench_use(sink);
    risk_basket_free(lender);
    bench_book_free(&bk);
    return failures ? 1 : 0;
}
