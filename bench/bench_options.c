/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cost of Black-76 pricing and implied volatility (include/risk/options.h), in one run:
 *
 *  - risk_option_black with all 8 outputs (price, delta, gamma, vega, theta, rho, vanna, volga)
 *    and with the price only, over 4,096 options drawn like /work/shared/research/perf/ql_black.cpp
 *    (F in [20k, 100k], K/F in [0.5, 1.5], T in [1 day, 1 year + 1 day], vol in [20%, 150%],
 *    r in [0, 5%], calls and puts alternating);
 *  - QuantLib's BlackCalculator on the same options (value, deltaForward, gammaForward, vega,
 *    theta, rho: every Greek it has for Black-76), when the bench was built with Debian's
 *    libquantlib0-dev (`make bench` does so when /usr/include/ql is present; otherwise it says
 *    it skipped it), with the ratio and the largest deviation of QuantLib's values from
 *    librisk's (which test_options checks against a __float128 reference);
 *  - risk_option_implied_vol on those options' prices: inversions per second on one core and the
 *    largest relative round-trip error.
 *
 * Each figure is the best of `rounds` timed rounds of `reps` passes (short rounds, many of them,
 * interleaved librisk / QuantLib / implied vol, so that on a shared machine each gets the same
 * chance of a quiet slice). Prints `result key value` lines for scripts.
 * Usage: bench_options [reps] [rounds] (default 20 40). Exits 1 when a check fails.
 */
#include "bench_util.h"

#include <math.h>
#include <string.h>

#define N 4096

#ifdef BENCH_HAVE_QUANTLIB
const char *bench_ql_version(void);
void bench_ql_black(size_t n, const int *type, const double *f, const double *k, const double *t, const double *vol,
                    const double *r, double *price, double *delta, double *gamma, double *vega, double *theta,
                    double *rho);
#endif

static int32_t type[N];
static double fwd[N], strike[N], years[N], vol[N], rate[N];
static double out[8][N], iv[N];
static int32_t ivst[N];
static volatile double sink;

static double checksum(const double *a)
{
    double s = 0.0;
    for (size_t i = 0; i < N; i++)
        s += a[i];
    return s;
}

int main(int argc, char **argv)
{
    long reps = argc > 1 ? atol(argv[1]) : 20;
    int rounds = argc > 2 ? atoi(argv[2]) : 40;
    if (reps < 1 || rounds < 1)
        return 2;
    bench_seed();
    for (size_t i = 0; i < N; i++) {
        fwd[i] = 20000.0 + 80000.0 * bench_rnd();
        strike[i] = fwd[i] * (0.5 + bench_rnd());
        years[i] = 1.0 / 365 + 1.0 * bench_rnd();
        vol[i] = 0.2 + 1.3 * bench_rnd();
        rate[i] = 0.05 * bench_rnd();
        type[i] = (i & 1) ? RISK_OPTION_PUT : RISK_OPTION_CALL;
    }
    risk_option_batch in = RISK_OPTION_BATCH_INIT;
    in.type = type;
    in.forward = fwd;
    in.strike = strike;
    in.years = years;
    in.vol = vol;
    in.rate = rate;
    risk_option_greeks all = RISK_OPTION_GREEKS_INIT;
    all.price = out[0];
    all.delta = out[1];
    all.gamma = out[2];
    all.vega = out[3];
    all.theta = out[4];
    all.rho = out[5];
    all.vanna = out[6];
    all.volga = out[7];
    risk_option_greeks price_only = RISK_OPTION_GREEKS_INIT;
    price_only.price = out[0];
    const double calls = (double)reps * N;

    /* the prices to invert */
    static double prices[N];
    CHECK(risk_option_black(&price_only, &in, N));
    memcpy(prices, out[0], sizeof prices);
#ifdef BENCH_HAVE_QUANTLIB
    static double q[6][N];
    double best_ql = 1e30;
#endif
    double best_all = 1e30, best_price = 1e30, best_iv = 1e30;
    for (int k = 0; k < rounds; k++) {
        double t0 = bench_now_s();
        for (long r = 0; r < reps; r++)
            CHECK(risk_option_black(&all, &in, N));
        double t1 = bench_now_s();
        best_all = fmin(best_all, t1 - t0);
        sink += checksum(out[7]);
#ifdef BENCH_HAVE_QUANTLIB
        t0 = bench_now_s();
        for (long r = 0; r < reps; r++)
            bench_ql_black(N, type, fwd, strike, years, vol, rate, q[0], q[1], q[2], q[3], q[4], q[5]);
        t1 = bench_now_s();
        best_ql = fmin(best_ql, t1 - t0);
        sink += checksum(q[0]);
#endif
        t0 = bench_now_s();
        for (long r = 0; r < reps; r++)
            CHECK(risk_option_black(&price_only, &in, N));
        t1 = bench_now_s();
        best_price = fmin(best_price, t1 - t0);
        sink += checksum(out[0]);
        t0 = bench_now_s();
        for (long r = 0; r < reps; r++)
            CHECK(risk_option_implied_vol(iv, ivst, &in, prices, N));
        t1 = bench_now_s();
        best_iv = fmin(best_iv, t1 - t0);
        sink += checksum(iv);
    }
    CHECK(risk_option_black(&all, &in, N));
    double ns_all = best_all / calls * 1e9, ns_price = best_price / calls * 1e9;
    printf("%-52s %9.1f ns/option %8.2f M/s\n", "librisk risk_option_black, price + 7 Greeks", ns_all, 1e3 / ns_all);
    printf("%-52s %9.1f ns/option %8.2f M/s\n", "librisk risk_option_black, price only", ns_price, 1e3 / ns_price);
    printf("result black_all_ns %.6g\nresult black_price_ns %.6g\n", ns_all, ns_price);

#ifdef BENCH_HAVE_QUANTLIB
    {
        double ns_ql = best_ql / calls * 1e9;
        /* QuantLib against librisk: price (relative, where the price is above 1e-9 F), forward
         * delta, forward gamma and vega (relative to their scales). */
        double dev[4] = {0, 0, 0, 0};
        for (size_t i = 0; i < N; i++) {
            double f = fwd[i];
            double d0 = out[0][i] > 1e-9 * f ? fabs(q[0][i] - out[0][i]) / out[0][i] : 0.0;
            dev[0] = fmax(dev[0], d0);
            dev[1] = fmax(dev[1], fabs(q[1][i] - out[1][i]));
            dev[2] = fmax(dev[2], fabs(q[2][i] - out[2][i]) * f);
            dev[3] = fmax(dev[3], fabs(q[3][i] - out[3][i]) / f);
        }
        printf("%-52s %9.1f ns/option %8.2f M/s\n", "QuantLib BlackCalculator, price + 5 Greeks", ns_ql, 1e3 / ns_ql);
        printf("  QuantLib %s; librisk (price + 7 Greeks) is %.2fx faster (target >= 2x)\n", bench_ql_version(),
               ns_ql / ns_all);
        printf("  QuantLib - librisk: price %.2g rel, delta %.2g, gamma x F %.2g, vega / F %.2g\n", dev[0], dev[1],
               dev[2], dev[3]);
        printf("result quantlib_ns %.6g\nresult quantlib_ratio %.6g\n", ns_ql, ns_ql / ns_all);
        if (dev[0] > 1e-6 || dev[1] > 1e-12) { /* a sanity check: QuantLib loses digits far out of the money */
            fprintf(stderr, "bench_options: QuantLib and librisk disagree\n");
            return 1;
        }
    }
#else
    printf("QuantLib comparison skipped: libquantlib0-dev is not installed (apt-get install libquantlib0-dev)\n");
#endif

    double worst = 0.0;
    size_t solved = 0;
    for (size_t i = 0; i < N; i++) {
        /* round trips where the price determines the vol: condition V / (sigma vega) <= 10 */
        if (ivst[i] != RISK_OPTION_IV_OK || !(out[0][i] <= 10.0 * vol[i] * out[3][i]))
            continue;
        solved++;
        worst = fmax(worst, fabs(iv[i] - vol[i]) / vol[i]);
    }
    double ns_iv = best_iv / calls * 1e9;
    printf("%-52s %9.1f ns/option %8.2f M/s (target >= 5 M/s)\n", "librisk risk_option_implied_vol", ns_iv, 1e3 / ns_iv);
    printf("  round trip: %zu of %d well-conditioned options, worst relative error %.2g\n", solved, N, worst);
    printf("result implied_vol_ns %.6g\nresult implied_vol_mps %.6g\nresult implied_vol_worst %.3g\n", ns_iv,
           1e3 / ns_iv, worst);
    if (worst > 1e-13) {
        fprintf(stderr, "bench_options: implied vol round trip off\n");
        return 1;
    }
    return 0;
}
