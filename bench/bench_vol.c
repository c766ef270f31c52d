/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cost of the volatility estimators, each beside a plain loop over the same data in the same run:
 *
 *  - a streaming EWMA update by a return (risk_vol_ewma_update) and by a price
 *    (risk_vol_ewma_update_price), against the bare recursion s2 = l s2 + (1 - l) r^2 (and the
 *    same with its log return) written inline;
 *  - a GARCH(1,1) forecast (risk_vol_garch_forecast, horizons 1..64, both outputs), against
 *    the closed form written inline;
 *  - a GARCH(1,1) fit on 2,000 returns (risk_vol_garch_fit), against one pass of the
 *    log-likelihood recursion over the same returns (so the ratio counts likelihood passes).
 *
 * Data are generated here (GARCH returns from a fixed seed). Prints ns per call and the ratio,
 * and `result` lines for scripts. Usage: bench_vol [updates] [rounds].
 */
#include "bench_util.h"

#include <math.h>

#define FIT_N 2000
#define HORIZONS 64

static double gauss(void) /* Box-Muller */
{
    double u1 = 1.0 - bench_rnd(), u2 = bench_rnd();
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static volatile double sink;

static void simulate(double *r, size_t n, double omega, double alpha, double beta)
{
    double s2 = omega / (1.0 - alpha - beta);
    for (size_t t = 0; t < n; t++) {
        r[t] = sqrt(s2) * gauss();
        s2 = omega + alpha * r[t] * r[t] + beta * s2;
    }
}

static void report(const char *what, const char *unit, double lib, double plain)
{
    printf("%-28s %12.3f %12.3f %8.2fx\n", what, lib, plain, lib / plain);
    printf("result %s_%s %.6g\nresult %s_plain_%s %.6g\nresult %s_ratio %.6g\n", what, unit, lib, what, unit, plain,
           what, lib / plain);
}

/* EWMA updates over the data, by return (r[0..n-1]) or by price (price[0..n-1], the first
 * priming), against the bare recursion; the two must end at the same bits. */
static void time_ewma(const double *r, const double *price, size_t n, int rounds, int by_price)
{
    double best_lib = 1e30, best_plain = 1e30, lib_var = 0.0, plain_var = 0.0;
    for (int k = 0; k < rounds; k++) {
        risk_vol_ewma_state s;
        CHECK(risk_vol_ewma_init(&s, 0.94, 4e-4));
        double t0 = bench_now_s();
        for (size_t t = 0; t < n; t++)
            CHECK(by_price ? risk_vol_ewma_update_price(&s, price[t]) : risk_vol_ewma_update(&s, r[t]));
        double t1 = bench_now_s();
        double s2 = 4e-4, l = 0.94;
        for (size_t t = (size_t)by_price; t < n; t++) {
            double x = by_price ? log(price[t] / price[t - 1]) : r[t];
            s2 = l * s2 + (1.0 - l) * (x * x);
        }
        double t2 = bench_now_s();
        bench_keep_best(&best_lib, t1 - t0);
        bench_keep_best(&best_plain, t2 - t1);
        lib_var = s.variance;
        plain_var = s2;
    }
    if (lib_var != plain_var) {
        fprintf(stderr, "ewma: %.17g != %.17g\n", lib_var, plain_var);
        exit(1);
    }
    report(by_price ? "ewma_update_price" : "ewma_update", "ns", 1e9 * best_lib / (double)n,
           1e9 * best_plain / (double)n);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 2000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (n < FIT_N || rounds <= 0) {
        fprintf(stderr, "usage: bench_vol [updates >= %d] [rounds > 0]\n", FIT_N);
        return 2;
    }
    double *r = malloc(n * sizeof *r), *price = malloc(n * sizeof *price);
    if (!r || !price)
        return 1;
    simulate(r, n, 2e-5, 0.08, 0.90);
    /* the price path of the same returns, each step's sign flipped when it would take the log
     * price more than 10 from log 100: a free walk of 2 x 10^6 steps at ~3 % wanders some 45 in
     * log, out of the price domain [RISK_PRICE_MIN, RISK_PRICE_MAX] (the update refuses it) */
    price[0] = 100.0;
    double drift = 0.0; /* log(price[t] / 100) */
    for (size_t t = 1; t < n; t++) {
        double step = fabs(drift + r[t]) > 10.0 ? -r[t] : r[t];
        drift += step;
        price[t] = price[t - 1] * exp(step);
    }

    printf("volatility estimators, %zu updates, best of %d rounds\n", n, rounds);
    printf("%-28s %12s %12s %9s\n", "", "librisk", "plain loop", "ratio");

    time_ewma(r, price, n, rounds, 0);
    time_ewma(r, price, n, rounds, 1);

    /* ---- GARCH fit on FIT_N returns, and its forecasts */
    risk_vol_garch_result fit = RISK_VOL_GARCH_RESULT_INIT;
    double best_lib = 1e30, best_plain = 1e30;
    int fit_rounds = rounds * 4;
    for (int k = 0; k < fit_rounds; k++) {
        double t0 = bench_now_s();
        CHECK(risk_vol_garch_fit(&fit, r, FIT_N, NULL));
        double t1 = bench_now_s();
        double v = 0.0;
        for (size_t t = 0; t < FIT_N; t++)
            v += r[t] * r[t];
        v /= FIT_N;
        double s2 = v, ll = 0.0;
        for (size_t t = 0; t < FIT_N; t++) {
            double r2 = r[t] * r[t];
            ll += log(s2) + r2 / s2;
            s2 = fit.omega + fit.alpha * r2 + fit.beta * s2;
        }
        sink = ll;
        double t2 = bench_now_s();
        bench_keep_best(&best_lib, t1 - t0);
        bench_keep_best(&best_plain, t2 - t1);
    }
    if (!fit.converged || fabs(fit.alpha - 0.08) > 0.05 || fabs(fit.beta - 0.9) > 0.05) {
        fprintf(stderr, "garch fit: converged %u alpha %g beta %g\n", fit.converged, fit.alpha, fit.beta);
        return 1;
    }
    printf("%-28s %12.3f %12.3f %8.1fx   (ms; plain = one likelihood pass, in us: %.1f; %u iterations)\n",
           "garch_fit_2000", 1e3 * best_lib, 1e3 * best_plain, best_lib / best_plain, 1e6 * best_plain,
           fit.iterations);
    printf("result garch_fit_2000_ms %.6g\nresult garch_fit_2000_plain_pass_ms %.6g\nresult garch_fit_2000_ratio %.6g\n",
           1e3 * best_lib, 1e3 * best_plain, best_lib / best_plain);

    risk_vol_garch_state g;
    CHECK(risk_vol_garch_init(&g, fit.omega, fit.alpha, fit.beta, fit.variance_next));
    size_t n_fc = n;
    best_lib = best_plain = 1e30;
    double acc_lib = 0.0, acc_plain = 0.0;
    for (int k = 0; k < rounds; k++) {
        double a = 0.0, b = 0.0;
        double t0 = bench_now_s();
        for (size_t i = 0; i < n_fc; i++) {
            double f = 0.0, c = 0.0;
            CHECK(risk_vol_garch_forecast(&f, &c, &g, (uint32_t)(1 + i % HORIZONS)));
            a += f + c;
        }
        double t1 = bench_now_s();
        double phi = g.alpha + g.beta, vl = g.omega / (1.0 - phi), gap = g.variance - vl;
        for (size_t i = 0; i < n_fc; i++) {
            double h = (double)(1 + i % HORIZONS);
            double p = pow(phi, h - 1.0);
            b += (vl + p * gap) + (h * vl + gap * ((1.0 - p * phi) / (1.0 - phi)));
        }
        double t2 = bench_now_s();
        bench_keep_best(&best_lib, t1 - t0);
        bench_keep_best(&best_plain, t2 - t1);
        acc_lib = a;
        acc_plain = b;
    }
    if (fabs(acc_lib - acc_plain) > 1e-9 * fabs(acc_plain)) {
        fprintf(stderr, "garch forecast: %.17g != %.17g\n", acc_lib, acc_plain);
        return 1;
    }
    report("garch_forecast", "ns", 1e9 * best_lib / (double)n_fc, 1e9 * best_plain / (double)n_fc);

    free(r);
    free(price);
    return 0;
}
