/* SPDX-License-Identifier: Apache-2.0 */
/* test_vol.c: volatility estimators: EWMA against a hand recursion, realised volatility against a
 * hand computation, streaming and array forms bit for bit, GARCH(1,1) fit on simulated returns
 * (recovery within two standard errors, a maximum of the likelihood, variance targeting),
 * forecasts, range estimators on a hand bar set and on simulated Brownian bars, bad input.
 * Formulas: docs/volatility.md, section 1. */
#include "test_util.h"

#include <math.h>
#include <string.h>

#define SENTINEL (-12345.0)

static double ln2(void)
{
    return log(2.0);
}

/* Standard normal by Box-Muller from the test generator. */
static double gauss(tu_rng *r)
{
    double u1 = 1.0 - tu_rng_unit(r); /* (0, 1] */
    double u2 = tu_rng_unit(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Closes from 100 along the given log returns: close[0] = 100, close[t] = close[t-1] e^(r[t-1]). */
static void closes_from_returns(double *close, const double *r, size_t n_returns)
{
    close[0] = 100.0;
    for (size_t t = 0; t < n_returns; t++)
        close[t + 1] = close[t] * exp(r[t]);
}

/* A random walk of n closes with per-period volatility sigma. */
static void random_closes(double *close, size_t n, double sigma, uint64_t seed)
{
    tu_rng g;
    tu_rng_seed(&g, seed);
    close[0] = 100.0;
    for (size_t t = 1; t < n; t++)
        close[t] = close[t - 1] * exp(sigma * gauss(&g));
}

static void fill(double *a, size_t n, double v)
{
    for (size_t i = 0; i < n; i++)
        a[i] = v;
}

static void assert_untouched(const double *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tu_assert_bits(a[i], SENTINEL);
}

/* A streamed reading (status rc, value v) against the array form's value at the same row:
 * no value yet (RISK_ESTATE and NaN) or the same bits. */
static void assert_stream_matches(int rc, double v, double want, int has_value)
{
    if (!has_value) {
        tu_assert_status(rc, RISK_ESTATE);
        assert_true(isnan(want));
    } else {
        tu_assert_status(rc, RISK_OK);
        tu_assert_bits(v, want);
    }
}

/* ---------------------------------------------------------------- EWMA */

/* s2_t = 0.94 s2_(t-1) + 0.06 r_t^2 from s2_0 = 1e-4, worked by hand:
 *   r = 0.01:  0.94 x 0.0001     + 0.06 x 0.0001 = 0.0001
 *   r = -0.02: 0.94 x 0.0001     + 0.06 x 0.0004 = 0.000094 + 0.000024 = 0.000118
 *   r = 0.015: 0.94 x 0.000118   + 0.06 x 0.000225 = 0.00011092 + 0.0000135 = 0.00012442
 *   r = 0.03:  0.94 x 0.00012442 + 0.06 x 0.0009 = 0.0001169548 + 0.000054 = 0.0001709548
 *   r = -0.01: 0.94 x 0.0001709548 + 0.06 x 0.0001 = 0.000160697512 + 0.000006 = 0.000166697512 */
static const double ewma_r[] = {0.01, -0.02, 0.015, 0.03, -0.01};
static const double ewma_hand[] = {0.0001, 0.000118, 0.00012442, 0.0001709548, 0.000166697512};

static void test_vol_ewma_hand_recursion(void **state)
{
    (void)state;
    risk_vol_ewma_state s;
    double v = 0.0;
    tu_assert_status(risk_vol_ewma_init(&s, 0.94, 1e-4), RISK_OK);
    tu_assert_status(risk_vol_ewma_variance(&s, &v), RISK_OK); /* the seed before any return */
    tu_assert_bits(v, 1e-4);
    for (size_t t = 0; t < 5; t++) {
        tu_assert_status(risk_vol_ewma_update(&s, ewma_r[t]), RISK_OK);
        tu_assert_status(risk_vol_ewma_variance(&s, &v), RISK_OK);
        tu_assert_rel(v, ewma_hand[t], 1e-14);
    }
    assert_int_equal(s.count, 5);
    tu_assert_status(risk_vol_ewma_vol_annual(&s, 365.0, &v), RISK_OK);
    tu_assert_rel(v, sqrt(0.000166697512 * 365.0), 1e-14);

    /* the array form over closes along the same returns */
    double close[6], out[6];
    closes_from_returns(close, ewma_r, 5);
    tu_assert_status(risk_vol_ewma(out, close, 6, 0.94, 1e-4, 1.0), RISK_OK);
    assert_true(isnan(out[0]));
    for (size_t t = 0; t < 5; t++)
        tu_assert_rel(out[t + 1], sqrt(ewma_hand[t]), 1e-12);

    /* no seed: the first squared return seeds, s2_1 = r_1^2 = 0.0004, then
     * s2_2 = 0.94 x 0.0004 + 0.06 x 0.0001 = 0.000382 */
    tu_assert_status(risk_vol_ewma_init(&s, 0.94, 0.0), RISK_OK);
    tu_assert_status(risk_vol_ewma_variance(&s, &v), RISK_ESTATE);
    tu_assert_status(risk_vol_ewma_update(&s, -0.02), RISK_OK);
    tu_assert_status(risk_vol_ewma_variance(&s, &v), RISK_OK);
    tu_assert_rel(v, 0.0004, 1e-15);
    tu_assert_status(risk_vol_ewma_update(&s, 0.01), RISK_OK);
    tu_assert_status(risk_vol_ewma_variance(&s, &v), RISK_OK);
    tu_assert_rel(v, 0.000382, 1e-14);

    /* the default initialiser is lambda 0.94, no seed */
    risk_vol_ewma_state d = RISK_VOL_EWMA_STATE_INIT;
    tu_assert_status(risk_vol_ewma_update(&d, -0.02), RISK_OK);
    tu_assert_status(risk_vol_ewma_update(&d, 0.01), RISK_OK);
    tu_assert_status(risk_vol_ewma_variance(&d, &v), RISK_OK);
    tu_assert_rel(v, 0.000382, 1e-14);
}

static void test_vol_ewma_stream_matches_batch_bitwise(void **state)
{
    (void)state;
    enum { N = 2000 };
    static double close[N], out[N];
    random_closes(close, N, 0.03, 11);
    const double seeds[] = {0.0, 4e-4};
    for (size_t k = 0; k < 2; k++) {
        tu_assert_status(risk_vol_ewma(out, close, N, 0.97, seeds[k], 365.0), RISK_OK);
        risk_vol_ewma_state s;
        tu_assert_status(risk_vol_ewma_init(&s, 0.97, seeds[k]), RISK_OK);
        tu_assert_status(risk_vol_ewma_update_price(&s, close[0]), RISK_OK); /* primes only */
        assert_int_equal(s.count, 0);
        for (size_t t = 1; t < N; t++) {
            double v = 0.0;
            tu_assert_status(risk_vol_ewma_update_price(&s, close[t]), RISK_OK);
            tu_assert_status(risk_vol_ewma_vol_annual(&s, 365.0, &v), RISK_OK);
            tu_assert_bits(v, out[t]);
        }
        assert_int_equal(s.count, N - 1);
    }
}

/* ---------------------------------------------------------------- realised volatility */

/* Returns 0.01, -0.02, 0.03, 0.00, 0.01, window 3, sample variance (divisor 2), by hand:
 *   {0.01, -0.02, 0.03}: sum r^2 = 0.0014, (sum r)^2 / 3 = 0.0004 / 3 -> (0.0014 - 0.000133333) / 2 = 19/30000
 *   {-0.02, 0.03, 0.00}: 0.0013 - 0.0001 / 3 = 0.0038 / 3 -> / 2 = 19/30000
 *   {0.03, 0.00, 0.01}:  0.0010 - 0.0016 / 3 = 0.0014 / 3 -> / 2 = 7/30000 */
static void test_vol_realized_hand_computation(void **state)
{
    (void)state;
    static const double r[] = {0.01, -0.02, 0.03, 0.00, 0.01};
    static const double want[] = {19.0 / 30000.0, 19.0 / 30000.0, 7.0 / 30000.0};
    double close[6], out[6];
    closes_from_returns(close, r, 5);
    tu_assert_status(risk_vol_realized(out, close, 6, 3, 365.0), RISK_OK);
    for (size_t t = 0; t < 3; t++)
        assert_true(isnan(out[t]));
    for (size_t t = 3; t < 6; t++)
        tu_assert_rel(out[t], sqrt(want[t - 3] * 365.0), 1e-12);

    double ring[3], v = 0.0;
    risk_vol_realized_state s;
    tu_assert_status(risk_vol_realized_init(&s, ring, 3, 3), RISK_OK);
    for (size_t t = 0; t < 5; t++) {
        tu_assert_status(risk_vol_realized_variance(&s, &v), t < 3 ? RISK_ESTATE : RISK_OK);
        tu_assert_status(risk_vol_realized_update(&s, r[t]), RISK_OK);
        if (t >= 2) {
            tu_assert_status(risk_vol_realized_variance(&s, &v), RISK_OK);
            tu_assert_rel(v, want[t - 2], 1e-12);
        }
    }
}

static void test_vol_realized_stream_matches_batch_bitwise(void **state)
{
    (void)state;
    enum { N = 1500, W = 7 };
    static double close[N], out[N];
    double ring[W + 3];
    random_closes(close, N, 0.02, 5);
    tu_assert_status(risk_vol_realized(out, close, N, W, 8760.0), RISK_OK);
    risk_vol_realized_state s;
    tu_assert_status(risk_vol_realized_init(&s, ring, W + 3, W), RISK_OK);
    for (size_t t = 0; t < N; t++) {
        double v = 0.0;
        tu_assert_status(risk_vol_realized_update_price(&s, close[t]), RISK_OK);
        int rc = risk_vol_realized_vol_annual(&s, 8760.0, &v);
        assert_stream_matches(rc, v, out[t], t >= W);
    }
    /* the running sums agree with a direct sum over the last window */
    double sum = 0.0, sum_sq = 0.0;
    for (size_t t = N - W; t < N; t++) {
        double x = log(close[t] / close[t - 1]);
        sum += x;
        sum_sq += x * x;
    }
    tu_assert_near(s.sum, sum, 1e-15);
    tu_assert_rel(s.sum_sq, sum_sq, 1e-12);
}

static void test_vol_log_returns_in_place(void **state)
{
    (void)state;
    double c[4] = {100.0, 110.0, 99.0, 99.0}, out[4];
    tu_assert_status(risk_vol_log_returns(out, c, 4), RISK_OK);
    assert_true(isnan(out[0]));
    tu_assert_bits(out[1], log(110.0 / 100.0));
    tu_assert_bits(out[2], log(99.0 / 110.0));
    tu_assert_bits(out[3], 0.0);
    tu_assert_status(risk_vol_log_returns(c, c, 4), RISK_OK);
    for (size_t i = 1; i < 4; i++)
        tu_assert_bits(c[i], out[i]);
}

/* ---------------------------------------------------------------- GARCH(1,1) */

#define G_OMEGA 2e-5
#define G_ALPHA 0.08
#define G_BETA 0.90
#define G_N 5000

/* n returns from GARCH(1,1) with Gaussian shocks, started at the long-run variance. */
static void simulate_garch(double *r, size_t n, double omega, double alpha, double beta, uint64_t seed)
{
    tu_rng g;
    tu_rng_seed(&g, seed);
    double s2 = omega / (1.0 - alpha - beta);
    for (size_t t = 0; t < n; t++) {
        r[t] = sqrt(s2) * gauss(&g);
        s2 = omega + alpha * r[t] * r[t] + beta * s2;
    }
}

static double garch_returns[G_N];

static risk_vol_garch_result fit_sim(uint32_t flags)
{
    simulate_garch(garch_returns, G_N, G_OMEGA, G_ALPHA, G_BETA, 2024);
    risk_vol_garch_options o = RISK_VOL_GARCH_OPTIONS_INIT;
    risk_vol_garch_result res = RISK_VOL_GARCH_RESULT_INIT;
    o.flags = flags;
    tu_assert_status(risk_vol_garch_fit(&res, garch_returns, G_N, &o), RISK_OK);
    assert_int_equal(res.converged, 1);
    assert_int_equal(res.n, G_N);
    assert_int_equal(res.flags, flags);
    return res;
}

static void assert_within_two_se(double est, double se, double truth)
{
    assert_true(se > 0.0 && isfinite(se));
    if (!(fabs(est - truth) <= 2.0 * se))
        print_error("estimate %.6g, truth %.6g, se %.3g\n", est, truth, se);
    assert_true(fabs(est - truth) <= 2.0 * se);
}

static void test_vol_garch_fit_recovers_parameters(void **state)
{
    (void)state;
    risk_vol_garch_result res = fit_sim(0);
    assert_within_two_se(res.omega, res.se_omega, G_OMEGA);
    assert_within_two_se(res.alpha, res.se_alpha, G_ALPHA);
    assert_within_two_se(res.beta, res.se_beta, G_BETA);
    /* Gaussian shocks: the sandwich errors agree with the plain ones within sampling noise */
    tu_assert_rel(res.se_robust_omega, res.se_omega, 0.25);
    tu_assert_rel(res.se_robust_alpha, res.se_alpha, 0.25);
    tu_assert_rel(res.se_robust_beta, res.se_beta, 0.25);
    /* derived fields */
    tu_assert_rel(res.long_run_variance, res.omega / (1.0 - res.alpha - res.beta), 1e-15);
    double v = 0.0, s2;
    for (size_t t = 0; t < G_N; t++)
        v += garch_returns[t] * garch_returns[t];
    v /= G_N;
    tu_assert_rel(res.sample_variance, v, 1e-14);
    s2 = v;
    for (size_t t = 0; t < G_N; t++)
        s2 = res.omega + res.alpha * garch_returns[t] * garch_returns[t] + res.beta * s2;
    tu_assert_rel(res.variance_next, s2, 1e-13);
}

static void test_vol_garch_loglik_is_a_maximum(void **state)
{
    (void)state;
    risk_vol_garch_result res = fit_sim(0);
    double ll = 0.0;
    tu_assert_status(risk_vol_garch_loglik(&ll, garch_returns, G_N, res.omega, res.alpha, res.beta), RISK_OK);
    tu_assert_bits(ll, res.log_likelihood);
    const double p[3] = {res.omega, res.alpha, res.beta};
    for (int i = 0; i < 3; i++) {
        for (int sgn = -1; sgn <= 1; sgn += 2) {
            for (double rel = 1e-4; rel <= 1.1e-2; rel *= 10.0) {
                double q[3] = {p[0], p[1], p[2]};
                q[i] *= 1.0 + sgn * rel;
                if (q[1] + q[2] >= 1.0)
                    continue;
                double lq = 0.0;
                tu_assert_status(risk_vol_garch_loglik(&lq, garch_returns, G_N, q[0], q[1], q[2]), RISK_OK);
                if (!(lq <= ll))
                    print_error("parameter %d x (1 %+g): %.12g > %.12g\n", i, sgn * rel, lq, ll);
                assert_true(lq <= ll);
            }
        }
    }
    /* and the likelihood of the true parameters is lower too */
    double lt = 0.0;
    tu_assert_status(risk_vol_garch_loglik(&lt, garch_returns, G_N, G_OMEGA, G_ALPHA, G_BETA), RISK_OK);
    assert_true(lt < ll);
}

static void test_vol_garch_variance_targeting(void **state)
{
    (void)state;
    risk_vol_garch_result free_fit = fit_sim(0);
    risk_vol_garch_result res = fit_sim(RISK_VOL_GARCH_VARIANCE_TARGETING);
    tu_assert_rel(res.omega, res.sample_variance * (1.0 - res.alpha - res.beta), 1e-12);
    tu_assert_rel(res.long_run_variance, res.sample_variance, 1e-12);
    /* a constrained maximum is not above the free one */
    assert_true(res.log_likelihood <= free_fit.log_likelihood + 1e-9 * fabs(free_fit.log_likelihood));
    assert_within_two_se(res.alpha, res.se_alpha, G_ALPHA);
    assert_within_two_se(res.beta, res.se_beta, G_BETA);
    assert_within_two_se(res.omega, res.se_omega, G_OMEGA);
    /* it is a maximum along the constraint */
    const double p[2] = {res.alpha, res.beta};
    for (int i = 0; i < 2; i++)
        for (int sgn = -1; sgn <= 1; sgn += 2) {
            double q[2] = {p[0], p[1]}, lq = 0.0;
            q[i] *= 1.0 + sgn * 1e-3;
            tu_assert_status(risk_vol_garch_loglik(&lq, garch_returns, G_N, res.sample_variance * (1.0 - q[0] - q[1]),
                                                   q[0], q[1]),
                             RISK_OK);
            assert_true(lq <= res.log_likelihood);
        }
}

/* Returns of constant size r^2 = V have no volatility clustering: from s2_1 = V, every
 * (alpha, beta) with omega = V (1 - alpha - beta) keeps s2_t = V, so the likelihood is flat
 * along that line and neither parameter is identified. The fit keeps V_L = V and reports no
 * standard errors rather than meaningless ones. */
static void test_vol_garch_boundary_has_no_standard_errors(void **state)
{
    (void)state;
    enum { N = 500 };
    double r[N];
    tu_rng g;
    tu_rng_seed(&g, 8);
    for (size_t t = 0; t < N; t++)
        r[t] = tu_rng_unit(&g) < 0.5 ? -0.01 : 0.01;
    for (uint32_t flags = 0; flags <= RISK_VOL_GARCH_VARIANCE_TARGETING; flags++) {
        risk_vol_garch_options o = RISK_VOL_GARCH_OPTIONS_INIT;
        risk_vol_garch_result res = RISK_VOL_GARCH_RESULT_INIT;
        o.flags = flags;
        tu_assert_status(risk_vol_garch_fit(&res, r, N, &o), RISK_OK);
        tu_assert_rel(res.long_run_variance, 1e-4, 1e-9);
        const double se[6] = {res.se_omega, res.se_alpha, res.se_beta,
                              res.se_robust_omega, res.se_robust_alpha, res.se_robust_beta};
        for (int i = 0; i < 6; i++)
            assert_true(isnan(se[i]));
    }
}

static void test_vol_garch_forecasts_converge_to_long_run(void **state)
{
    (void)state;
    const double omega = 2e-5, alpha = 0.08, beta = 0.9, vl = omega / (1.0 - alpha - beta);
    const double starts[] = {0.25 * vl, 4.0 * vl, vl};
    for (size_t k = 0; k < 3; k++) {
        risk_vol_garch_state s;
        tu_assert_status(risk_vol_garch_init(&s, omega, alpha, beta, starts[k]), RISK_OK);
        /* E_t[s2_(t+h+1)] = omega + (alpha + beta) E_t[s2_(t+h)]: iterate it independently */
        double e = starts[k], cum = 0.0, prev_gap = fabs(starts[k] - vl);
        for (uint32_t h = 1; h <= 300; h++) {
            double f = 0.0, c = 0.0;
            cum += e;
            tu_assert_status(risk_vol_garch_forecast(&f, &c, &s, h), RISK_OK);
            tu_assert_rel(f, e, 1e-12);
            tu_assert_rel(c, cum, 1e-12);
            double gap = fabs(f - vl);
            assert_true(gap <= prev_gap); /* monotone approach */
            prev_gap = gap;
            e = omega + (alpha + beta) * e;
        }
        double f = 0.0, c = 0.0;
        tu_assert_status(risk_vol_garch_forecast(&f, NULL, &s, 1), RISK_OK);
        tu_assert_bits(f, starts[k]);
        tu_assert_status(risk_vol_garch_forecast(&f, &c, &s, 100000), RISK_OK);
        tu_assert_rel(f, vl, 1e-12);
        /* the cumulative variance grows like h V_L plus the initial gap summed over its decay */
        tu_assert_near(c - 100000.0 * vl, (starts[k] - vl) / (1.0 - alpha - beta), 1e-9);
    }
}

static void test_vol_garch_stream_matches_batch_bitwise(void **state)
{
    (void)state;
    enum { N = 1000 };
    static double close[N], out[N], r[N];
    random_closes(close, N, 0.03, 99);
    const double omega = 3e-5, alpha = 0.1, beta = 0.85;
    tu_assert_status(risk_vol_garch(out, close, N, omega, alpha, beta, 0.0, 365.0), RISK_OK);
    assert_true(isnan(out[0]));
    tu_assert_status(risk_vol_log_returns(r, close, N), RISK_OK);
    double v = 0.0;
    for (size_t t = 1; t < N; t++)
        v += r[t] * r[t];
    v /= (double)(N - 1);
    risk_vol_garch_state s;
    tu_assert_status(risk_vol_garch_init(&s, omega, alpha, beta, v), RISK_OK);
    for (size_t t = 0; t < N; t++) {
        double vol = 0.0;
        tu_assert_status(risk_vol_garch_update_price(&s, close[t]), RISK_OK);
        if (t > 0) {
            tu_assert_status(risk_vol_garch_vol_annual(&s, 365.0, &vol), RISK_OK);
            tu_assert_bits(vol, out[t]);
        }
    }
    assert_int_equal(s.count, N - 1);
    /* the fit's s2_(n+1|n) is the end of the same in-sample path */
    risk_vol_garch_result res = RISK_VOL_GARCH_RESULT_INIT;
    tu_assert_status(risk_vol_garch_fit(&res, r + 1, N - 1, NULL), RISK_OK);
    tu_assert_status(risk_vol_garch(out, close, N, res.omega, res.alpha, res.beta, 0.0, 1.0), RISK_OK);
    tu_assert_rel(out[N - 1] * out[N - 1], res.variance_next, 1e-14);
    tu_assert_bits(res.sample_variance, v);
}

/* ---------------------------------------------------------------- range estimators */

/* Three bars built from chosen log ratios (prices = exp of them, so the logs come back within
 * rounding). Bar 1: O 100, ln(H/O) 0.02, ln(L/O) -0.01, ln(C/O) 0.005. Bar 2: ln(O/C_1) 0.001,
 * ln(H/O) 0.01, ln(L/O) -0.03, ln(C/O) -0.02. Bar 3: ln(O/C_2) -0.002, ln(H/O) 0.015,
 * ln(L/O) -0.005, ln(C/O) 0.01. */
static const double bar_gap[3] = {0.0, 0.001, -0.002};
static const double bar_h[3] = {0.02, 0.01, 0.015}, bar_l[3] = {-0.01, -0.03, -0.005}, bar_c[3] = {0.005, -0.02, 0.01};

static void hand_bars(double *o, double *h, double *l, double *c)
{
    double prev = 100.0;
    for (int i = 0; i < 3; i++) {
        o[i] = prev * exp(bar_gap[i]);
        h[i] = o[i] * exp(bar_h[i]);
        l[i] = o[i] * exp(bar_l[i]);
        c[i] = o[i] * exp(bar_c[i]);
        prev = c[i];
    }
}

static void test_vol_range_hand_bars(void **state)
{
    (void)state;
    double o[3], h[3], l[3], c[3], out[3];
    hand_bars(o, h, l, c);
    /* per bar, by hand:
     *   ln(H/L) = 0.03, 0.04, 0.02;  ln(C/O) = 0.005, -0.02, 0.01
     *   Parkinson (ln H/L)^2 / (4 ln 2) = 0.0009, 0.0016, 0.0004 over 4 ln 2
     *   Garman-Klass 0.5 (ln H/L)^2 - (2 ln 2 - 1)(ln C/O)^2
     *   Rogers-Satchell ln(H/C) ln(H/O) + ln(L/C) ln(L/O):
     *     0.015 x 0.02 + (-0.015)(-0.01) = 0.00045;  0.03 x 0.01 + (-0.01)(-0.03) = 0.0006;
     *     0.005 x 0.015 + (-0.015)(-0.005) = 0.00015 */
    const double pk[3] = {0.0009 / (4 * ln2()), 0.0016 / (4 * ln2()), 0.0004 / (4 * ln2())};
    const double gk[3] = {0.5 * 0.0009 - (2 * ln2() - 1) * 0.000025, 0.5 * 0.0016 - (2 * ln2() - 1) * 0.0004,
                          0.5 * 0.0004 - (2 * ln2() - 1) * 0.0001};
    const double rs[3] = {0.00045, 0.0006, 0.00015};
    const double *terms[3] = {pk, gk, rs};
    for (int m = 0; m < 3; m++) {
        int rc = m == 0   ? risk_vol_parkinson(out, h, l, 3, 2, 1.0)
                 : m == 1 ? risk_vol_garman_klass(out, o, h, l, c, 3, 2, 1.0)
                          : risk_vol_rogers_satchell(out, o, h, l, c, 3, 2, 1.0);
        tu_assert_status(rc, RISK_OK);
        assert_true(isnan(out[0]));
        tu_assert_rel(out[1], sqrt(0.5 * (terms[m][0] + terms[m][1])), 1e-10);
        tu_assert_rel(out[2], sqrt(0.5 * (terms[m][1] + terms[m][2])), 1e-10);
    }
    /* Yang-Zhang, window 2 at row 2 (bars 1 and 2): overnight 0.001, -0.002 -> sample variance
     * 0.003^2 / 2 = 4.5e-6; open-to-close -0.02, 0.01 -> 0.03^2 / 2 = 0.00045; RS mean
     * (0.0006 + 0.00015) / 2 = 0.000375; k = 0.34 / (1.34 + 3 / 1) = 0.34 / 4.34. */
    const double k = 0.34 / 4.34;
    tu_assert_status(risk_vol_yang_zhang(out, o, h, l, c, 3, 2, 1.0), RISK_OK);
    assert_true(isnan(out[0]) && isnan(out[1]));
    tu_assert_rel(out[2], sqrt(4.5e-6 + k * 0.00045 + (1 - k) * 0.000375), 1e-9);
    /* annualisation: sqrt(variance x periods per year) */
    double yearly[3];
    tu_assert_status(risk_vol_yang_zhang(yearly, o, h, l, c, 3, 2, 8760.0), RISK_OK);
    tu_assert_rel(yearly[2], out[2] * sqrt(8760.0), 1e-15);
}

static void test_vol_range_stream_matches_batch_bitwise(void **state)
{
    (void)state;
    enum { N = 600, W = 9 };
    static double o[N], h[N], l[N], c[N], out[N];
    double ring[RISK_VOL_RANGE_RING_LEN(W)];
    tu_rng g;
    tu_rng_seed(&g, 3);
    double prev = 50.0;
    for (size_t i = 0; i < N; i++) {
        o[i] = prev * exp(0.002 * gauss(&g));
        c[i] = o[i] * exp(0.02 * gauss(&g));
        h[i] = fmax(o[i], c[i]) * exp(0.01 * tu_rng_unit(&g));
        l[i] = fmin(o[i], c[i]) * exp(-0.01 * tu_rng_unit(&g));
        prev = c[i];
    }
    const uint32_t methods[] = {RISK_VOL_PARKINSON, RISK_VOL_GARMAN_KLASS, RISK_VOL_ROGERS_SATCHELL,
                                RISK_VOL_YANG_ZHANG};
    for (size_t m = 0; m < 4; m++) {
        int rc = methods[m] == RISK_VOL_PARKINSON        ? risk_vol_parkinson(out, h, l, N, W, 365.0)
                 : methods[m] == RISK_VOL_GARMAN_KLASS    ? risk_vol_garman_klass(out, o, h, l, c, N, W, 365.0)
                 : methods[m] == RISK_VOL_ROGERS_SATCHELL ? risk_vol_rogers_satchell(out, o, h, l, c, N, W, 365.0)
                                                          : risk_vol_yang_zhang(out, o, h, l, c, N, W, 365.0);
        tu_assert_status(rc, RISK_OK);
        size_t first = methods[m] == RISK_VOL_YANG_ZHANG ? W : W - 1;
        risk_vol_range_state s;
        tu_assert_status(risk_vol_range_init(&s, methods[m], ring, RISK_VOL_RANGE_RING_LEN(W), W), RISK_OK);
        for (size_t i = 0; i < N; i++) {
            double v = 0.0;
            tu_assert_status(risk_vol_range_update(&s, o[i], h[i], l[i], c[i]), RISK_OK);
            rc = risk_vol_range_vol_annual(&s, 365.0, &v);
            assert_stream_matches(rc, v, out[i], i >= first);
        }
    }
}

/* Brownian bars: each bar is M Gaussian steps of a driftless log price, open = previous close.
 * With bridge = 1 the high and low of each step are drawn exactly from the law of the maximum
 * and minimum of a Brownian bridge between the step's ends (reflection principle:
 * max = (a + b + sqrt((b - a)^2 - 2 s^2 ln U)) / 2), so the bars' ranges are those of the
 * continuous path; with bridge = 0 only the step ends are seen (discrete sampling). */
static void brownian_bars(double *o, double *h, double *l, double *c, size_t n, double sigma, int steps, int bridge,
                          uint64_t seed)
{
    tu_rng g;
    tu_rng_seed(&g, seed);
    double x = log(100.0), s = sigma / sqrt((double)steps);
    for (size_t i = 0; i < n; i++) {
        double hi = x, lo = x;
        o[i] = exp(x);
        for (int k = 0; k < steps; k++) {
            double a = x;
            x += s * gauss(&g);
            double d2 = (x - a) * (x - a);
            double mx = x > a ? x : a, mn = x < a ? x : a;
            if (bridge) {
                mx = 0.5 * (a + x + sqrt(d2 - 2.0 * s * s * log(1.0 - tu_rng_unit(&g))));
                mn = 0.5 * (a + x - sqrt(d2 - 2.0 * s * s * log(1.0 - tu_rng_unit(&g))));
            }
            hi = mx > hi ? mx : hi;
            lo = mn < lo ? mn : lo;
        }
        h[i] = exp(hi);
        l[i] = exp(lo);
        c[i] = exp(x);
        /* exp rounding may put O or C a hair outside [L, H] */
        h[i] = fmax(h[i], fmax(o[i], c[i]));
        l[i] = fmin(l[i], fmin(o[i], c[i]));
    }
}

/* Variance per bar of each estimator over the whole sample (one window of n bars). */
static void whole_sample_variances(const double *o, const double *h, const double *l, const double *c, size_t n,
                                   double *out, double v[5])
{
    tu_assert_status(risk_vol_parkinson(out, h, l, n, n, 1.0), RISK_OK);
    v[0] = out[n - 1] * out[n - 1];
    tu_assert_status(risk_vol_garman_klass(out, o, h, l, c, n, n, 1.0), RISK_OK);
    v[1] = out[n - 1] * out[n - 1];
    tu_assert_status(risk_vol_rogers_satchell(out, o, h, l, c, n, n, 1.0), RISK_OK);
    v[2] = out[n - 1] * out[n - 1];
    tu_assert_status(risk_vol_yang_zhang(out, o, h, l, c, n, n - 1, 1.0), RISK_OK);
    v[3] = out[n - 1] * out[n - 1];
    tu_assert_status(risk_vol_realized(out, c, n, n - 1, 1.0), RISK_OK);
    v[4] = out[n - 1] * out[n - 1];
}

/* On 4,000 bars of known volatility, each estimator's variance is within 4% of sigma^2 (range
 * estimators; their sampling standard deviation is about 1% at this size, measured over 100
 * seeds) or 10% (close-to-close, about 2.4%). Bars with exact ranges (64 steps with bridge
 * extremes) carry no discretisation bias. With plain discrete sampling (16 steps, no bridge)
 * the range estimators fall short, the known downward bias of a sampled range. */
static void test_vol_range_unbiased_on_brownian_bars(void **state)
{
    (void)state;
    enum { N = 4000 };
    static double o[N], h[N], l[N], c[N], out[N];
    const double sigma = 0.8 / sqrt(365.0); /* 80% a year, daily bars */
    const double tol[5] = {0.04, 0.04, 0.04, 0.04, 0.10};
    const char *names[5] = {"parkinson", "garman-klass", "rogers-satchell", "yang-zhang", "close-to-close"};
    double v[5], d[5];
    brownian_bars(o, h, l, c, N, sigma, 64, 1, 42);
    whole_sample_variances(o, h, l, c, N, out, v);
    for (int i = 0; i < 5; i++) {
        double rel = v[i] / (sigma * sigma) - 1.0;
        if (!(fabs(rel) <= tol[i]))
            print_error("%s: relative error %.4f\n", names[i], rel);
        assert_true(fabs(rel) <= tol[i]);
    }
    /* the same path seen only at 16 points per bar: ranges shrink, estimates fall short */
    brownian_bars(o, h, l, c, N, sigma, 16, 0, 42);
    whole_sample_variances(o, h, l, c, N, out, d);
    for (int i = 0; i < 3; i++)
        assert_true(d[i] < (1.0 - 0.08) * sigma * sigma);
}

/* ---------------------------------------------------------------- bad input */

static void test_vol_rejects_bad_input_arrays(void **state)
{
    (void)state;
    double c[6] = {100, 101, 102, 101, 103, 104}, out[6];
    double o[6], h[6], l[6];
    for (int i = 0; i < 6; i++) {
        o[i] = c[i];
        h[i] = c[i] + 1.0;
        l[i] = c[i] - 1.0;
    }
    /* each bad closes array: non-positive, NaN, infinite */
    const double bad[] = {0.0, -1.0, NAN, INFINITY};
    for (size_t b = 0; b < 4; b++) {
        double cc[6];
        memcpy(cc, c, sizeof cc);
        cc[3] = bad[b];
        fill(out, 6, SENTINEL);
        tu_assert_status(risk_vol_ewma(out, cc, 6, 0.94, 0.0, 365.0), RISK_EINVAL);
        tu_assert_status(risk_vol_realized(out, cc, 6, 2, 365.0), RISK_EINVAL);
        tu_assert_status(risk_vol_log_returns(out, cc, 6), RISK_EINVAL);
        tu_assert_status(risk_vol_garch(out, cc, 6, 1e-5, 0.1, 0.8, 0.0, 365.0), RISK_EINVAL);
        tu_assert_status(risk_vol_garman_klass(out, o, h, l, cc, 6, 2, 365.0), RISK_EINVAL);
        tu_assert_status(risk_vol_parkinson(out, h, cc, 6, 2, 365.0), RISK_EINVAL);
        assert_untouched(out, 6);
    }
    /* bars: high < low, open or close outside [low, high] */
    for (int k = 0; k < 4; k++) {
        double hh[6], ll[6], oo[6], cc[6];
        memcpy(hh, h, sizeof hh);
        memcpy(ll, l, sizeof ll);
        memcpy(oo, o, sizeof oo);
        memcpy(cc, c, sizeof cc);
        if (k == 0)
            hh[2] = ll[2] - 0.5;
        else if (k == 1)
            oo[2] = hh[2] + 0.5;
        else if (k == 2)
            cc[4] = ll[4] - 0.5;
        else
            oo[5] = ll[5] - 0.5;
        fill(out, 6, SENTINEL);
        tu_assert_status(risk_vol_garman_klass(out, oo, hh, ll, cc, 6, 2, 365.0), RISK_EINVAL);
        tu_assert_status(risk_vol_rogers_satchell(out, oo, hh, ll, cc, 6, 2, 365.0), RISK_EINVAL);
        tu_assert_status(risk_vol_yang_zhang(out, oo, hh, ll, cc, 6, 2, 365.0), RISK_EINVAL);
        if (k == 0)
            tu_assert_status(risk_vol_parkinson(out, hh, ll, 6, 2, 365.0), RISK_EINVAL);
        assert_untouched(out, 6);
    }
    /* windows: < 2, longer than the data */
    fill(out, 6, SENTINEL);
    tu_assert_status(risk_vol_realized(out, c, 6, 1, 365.0), RISK_EINVAL);
    tu_assert_status(risk_vol_realized(out, c, 6, 6, 365.0), RISK_EINVAL); /* 6 closes give 5 returns */
    tu_assert_status(risk_vol_parkinson(out, h, l, 6, 1, 365.0), RISK_EINVAL);
    tu_assert_status(risk_vol_parkinson(out, h, l, 6, 7, 365.0), RISK_EINVAL);
    tu_assert_status(risk_vol_garman_klass(out, o, h, l, c, 6, 0, 365.0), RISK_EINVAL);
    tu_assert_status(risk_vol_rogers_satchell(out, o, h, l, c, 6, 7, 365.0), RISK_EINVAL);
    tu_assert_status(risk_vol_yang_zhang(out, o, h, l, c, 6, 6, 365.0), RISK_EINVAL); /* needs a previous close */
    tu_assert_status(risk_vol_garch(out, c, 1, 1e-5, 0.1, 0.8, 0.0, 365.0), RISK_EINVAL);
    /* lambda outside (0, 1), bad seeds, periods per year <= 0 or not finite */
    const double bad_lambda[] = {0.0, 1.0, -0.5, 1.5, NAN, INFINITY};
    for (size_t i = 0; i < 6; i++)
        tu_assert_status(risk_vol_ewma(out, c, 6, bad_lambda[i], 0.0, 365.0), RISK_EINVAL);
    const double bad_seed[] = {-1e-4, NAN, INFINITY};
    for (size_t i = 0; i < 3; i++) {
        tu_assert_status(risk_vol_ewma(out, c, 6, 0.94, bad_seed[i], 365.0), RISK_EINVAL);
        tu_assert_status(risk_vol_garch(out, c, 6, 1e-5, 0.1, 0.8, bad_seed[i], 365.0), RISK_EINVAL);
    }
    const double bad_ppy[] = {0.0, -365.0, NAN, INFINITY};
    for (size_t i = 0; i < 4; i++) {
        tu_assert_status(risk_vol_ewma(out, c, 6, 0.94, 0.0, bad_ppy[i]), RISK_EINVAL);
        tu_assert_status(risk_vol_realized(out, c, 6, 2, bad_ppy[i]), RISK_EINVAL);
        tu_assert_status(risk_vol_garch(out, c, 6, 1e-5, 0.1, 0.8, 0.0, bad_ppy[i]), RISK_EINVAL);
        tu_assert_status(risk_vol_parkinson(out, h, l, 6, 2, bad_ppy[i]), RISK_EINVAL);
        tu_assert_status(risk_vol_yang_zhang(out, o, h, l, c, 6, 2, bad_ppy[i]), RISK_EINVAL);
    }
    /* GARCH parameters: omega <= 0, alpha or beta < 0, alpha + beta >= 1, NaN */
    const double bad_garch[][3] = {{0.0, 0.1, 0.8}, {-1e-5, 0.1, 0.8}, {1e-5, -0.1, 0.8}, {1e-5, 0.1, -0.8},
                                   {1e-5, 0.3, 0.7}, {1e-5, NAN, 0.8}, {INFINITY, 0.1, 0.8}, {1e-5, 0.1, NAN}};
    for (size_t i = 0; i < sizeof bad_garch / sizeof bad_garch[0]; i++) {
        double ll = SENTINEL;
        tu_assert_status(risk_vol_garch(out, c, 6, bad_garch[i][0], bad_garch[i][1], bad_garch[i][2], 0.0, 365.0),
                         RISK_EINVAL);
        tu_assert_status(risk_vol_garch_loglik(&ll, c, 6, bad_garch[i][0], bad_garch[i][1], bad_garch[i][2]),
                         RISK_EINVAL);
        tu_assert_bits(ll, SENTINEL);
    }
    assert_untouched(out, 6);
    /* NULL arrays */
    tu_assert_status(risk_vol_ewma(NULL, c, 6, 0.94, 0.0, 365.0), RISK_ENULL);
    tu_assert_status(risk_vol_ewma(out, NULL, 6, 0.94, 0.0, 365.0), RISK_ENULL);
    tu_assert_status(risk_vol_log_returns(out, NULL, 6), RISK_ENULL);
    tu_assert_status(risk_vol_realized(NULL, c, 6, 2, 365.0), RISK_ENULL);
    tu_assert_status(risk_vol_garch(out, NULL, 6, 1e-5, 0.1, 0.8, 0.0, 365.0), RISK_ENULL);
    tu_assert_status(risk_vol_parkinson(out, h, NULL, 6, 2, 365.0), RISK_ENULL);
    tu_assert_status(risk_vol_garman_klass(out, NULL, h, l, c, 6, 2, 365.0), RISK_ENULL);
    tu_assert_status(risk_vol_rogers_satchell(out, o, h, l, NULL, 6, 2, 365.0), RISK_ENULL);
    tu_assert_status(risk_vol_yang_zhang(NULL, o, h, l, c, 6, 2, 365.0), RISK_ENULL);
    assert_untouched(out, 6);
    /* n = 0 is nothing to do for the forms that allow it */
    tu_assert_status(risk_vol_ewma(NULL, NULL, 0, 0.94, 0.0, 365.0), RISK_OK);
    tu_assert_status(risk_vol_log_returns(NULL, NULL, 0), RISK_OK);
}

static void test_vol_rejects_bad_input_garch_fit(void **state)
{
    (void)state;
    double r[20];
    for (int i = 0; i < 20; i++)
        r[i] = (i % 3 - 1) * 0.01;
    risk_vol_garch_result res = RISK_VOL_GARCH_RESULT_INIT, before;
    risk_vol_garch_options o = RISK_VOL_GARCH_OPTIONS_INIT;
    res.omega = SENTINEL;
    before = res;
    tu_assert_status(risk_vol_garch_fit(NULL, r, 20, NULL), RISK_ENULL);
    tu_assert_status(risk_vol_garch_fit(&res, NULL, 20, NULL), RISK_ENULL);
    tu_assert_status(risk_vol_garch_fit(&res, r, 9, NULL), RISK_EINVAL);
    double zeros[20] = {0};
    tu_assert_status(risk_vol_garch_fit(&res, zeros, 20, NULL), RISK_EINVAL);
    double rr[20];
    memcpy(rr, r, sizeof rr);
    rr[7] = NAN;
    tu_assert_status(risk_vol_garch_fit(&res, rr, 20, NULL), RISK_EINVAL);
    rr[7] = INFINITY;
    tu_assert_status(risk_vol_garch_fit(&res, rr, 20, NULL), RISK_EINVAL);
    o.flags = 0x80;
    tu_assert_status(risk_vol_garch_fit(&res, r, 20, &o), RISK_EINVAL);
    o = (risk_vol_garch_options)RISK_VOL_GARCH_OPTIONS_INIT;
    o.max_iterations = 0;
    tu_assert_status(risk_vol_garch_fit(&res, r, 20, &o), RISK_EINVAL);
    o = (risk_vol_garch_options)RISK_VOL_GARCH_OPTIONS_INIT;
    const double bad_tol[] = {0.0, -1e-8, 0.5, NAN};
    for (size_t i = 0; i < 4; i++) {
        o.tolerance = bad_tol[i];
        tu_assert_status(risk_vol_garch_fit(&res, r, 20, &o), RISK_EINVAL);
    }
    o = (risk_vol_garch_options)RISK_VOL_GARCH_OPTIONS_INIT;
    o.version = 99;
    tu_assert_status(risk_vol_garch_fit(&res, r, 20, &o), RISK_EVERSION);
    assert_memory_equal(&res, &before, sizeof res);
    risk_vol_garch_result wrong = RISK_VOL_GARCH_RESULT_INIT;
    wrong.version = 2;
    tu_assert_status(risk_vol_garch_fit(&wrong, r, 20, NULL), RISK_EVERSION);
    double ll = SENTINEL;
    tu_assert_status(risk_vol_garch_loglik(&ll, zeros, 20, 1e-5, 0.1, 0.8), RISK_EINVAL);
    tu_assert_status(risk_vol_garch_loglik(&ll, rr, 20, 1e-5, 0.1, 0.8), RISK_EINVAL);
    tu_assert_status(risk_vol_garch_loglik(&ll, r, 1, 1e-5, 0.1, 0.8), RISK_EINVAL);
    tu_assert_status(risk_vol_garch_loglik(NULL, r, 20, 1e-5, 0.1, 0.8), RISK_ENULL);
    tu_assert_bits(ll, SENTINEL);
}

static void test_vol_rejects_bad_input_states(void **state)
{
    (void)state;
    double v = SENTINEL;
    /* EWMA */
    risk_vol_ewma_state e, e0;
    tu_assert_status(risk_vol_ewma_init(NULL, 0.94, 0.0), RISK_ENULL);
    tu_assert_status(risk_vol_ewma_init(&e, 1.0, 0.0), RISK_EINVAL);
    tu_assert_status(risk_vol_ewma_init(&e, 0.94, -1.0), RISK_EINVAL);
    tu_assert_status(risk_vol_ewma_init(&e, 0.94, 1e-4), RISK_OK);
    tu_assert_status(risk_vol_ewma_update_price(&e, 100.0), RISK_OK);
    e0 = e;
    tu_assert_status(risk_vol_ewma_update(&e, NAN), RISK_EINVAL);
    tu_assert_status(risk_vol_ewma_update(&e, -INFINITY), RISK_EINVAL);
    tu_assert_status(risk_vol_ewma_update_price(&e, 0.0), RISK_EINVAL);
    tu_assert_status(risk_vol_ewma_update_price(&e, -5.0), RISK_EINVAL);
    tu_assert_status(risk_vol_ewma_update_price(&e, NAN), RISK_EINVAL);
    tu_assert_status(risk_vol_ewma_update(NULL, 0.01), RISK_ENULL);
    tu_assert_status(risk_vol_ewma_update_price(NULL, 1.0), RISK_ENULL);
    tu_assert_status(risk_vol_ewma_variance(&e, NULL), RISK_ENULL);
    tu_assert_status(risk_vol_ewma_vol_annual(&e, 0.0, &v), RISK_EINVAL);
    tu_assert_status(risk_vol_ewma_vol_annual(&e, NAN, &v), RISK_EINVAL);
    tu_assert_status(risk_vol_ewma_vol_annual(NULL, 365.0, &v), RISK_ENULL);
    assert_memory_equal(&e, &e0, sizeof e);
    e.version = 7;
    tu_assert_status(risk_vol_ewma_update(&e, 0.01), RISK_EVERSION);
    tu_assert_status(risk_vol_ewma_update_price(&e, 101.0), RISK_EVERSION);
    tu_assert_status(risk_vol_ewma_variance(&e, &v), RISK_EVERSION);
    tu_assert_bits(v, SENTINEL);

    /* realised */
    double ring[4];
    risk_vol_realized_state r, r0;
    tu_assert_status(risk_vol_realized_init(NULL, ring, 4, 4), RISK_ENULL);
    tu_assert_status(risk_vol_realized_init(&r, NULL, 4, 4), RISK_ENULL);
    tu_assert_status(risk_vol_realized_init(&r, ring, 4, 1), RISK_EINVAL);
    tu_assert_status(risk_vol_realized_init(&r, ring, 3, 4), RISK_EBUFFER);
    tu_assert_status(risk_vol_realized_init(&r, ring, 4, 4), RISK_OK);
    tu_assert_status(risk_vol_realized_update(&r, 0.01), RISK_OK);
    r0 = r;
    tu_assert_status(risk_vol_realized_update(&r, NAN), RISK_EINVAL);
    tu_assert_status(risk_vol_realized_update_price(&r, 0.0), RISK_EINVAL);
    tu_assert_status(risk_vol_realized_update_price(&r, INFINITY), RISK_EINVAL);
    tu_assert_status(risk_vol_realized_variance(&r, &v), RISK_ESTATE);
    tu_assert_status(risk_vol_realized_vol_annual(&r, 365.0, NULL), RISK_ENULL);
    assert_memory_equal(&r, &r0, sizeof r);
    r.version = 0;
    tu_assert_status(risk_vol_realized_update(&r, 0.01), RISK_EVERSION);
    tu_assert_status(risk_vol_realized_vol_annual(&r, 365.0, &v), RISK_EVERSION);

    /* GARCH */
    risk_vol_garch_state g, g0;
    tu_assert_status(risk_vol_garch_init(NULL, 1e-5, 0.1, 0.8, 1e-4), RISK_ENULL);
    tu_assert_status(risk_vol_garch_init(&g, 1e-5, 0.5, 0.5, 1e-4), RISK_EINVAL);
    tu_assert_status(risk_vol_garch_init(&g, 1e-5, 0.1, 0.8, 0.0), RISK_EINVAL);
    tu_assert_status(risk_vol_garch_init(&g, 1e-5, 0.1, 0.8, NAN), RISK_EINVAL);
    tu_assert_status(risk_vol_garch_init(&g, 1e-5, 0.1, 0.8, 1e-4), RISK_OK);
    g0 = g;
    tu_assert_status(risk_vol_garch_update(&g, INFINITY), RISK_EINVAL);
    tu_assert_status(risk_vol_garch_update_price(&g, -1.0), RISK_EINVAL);
    tu_assert_status(risk_vol_garch_forecast(&v, NULL, &g, 0), RISK_EINVAL);
    tu_assert_status(risk_vol_garch_forecast(NULL, NULL, &g, 3), RISK_ENULL);
    tu_assert_status(risk_vol_garch_forecast(&v, NULL, NULL, 3), RISK_ENULL);
    tu_assert_status(risk_vol_garch_vol_annual(&g, -1.0, &v), RISK_EINVAL);
    assert_memory_equal(&g, &g0, sizeof g);
    g.version = 3;
    tu_assert_status(risk_vol_garch_update(&g, 0.01), RISK_EVERSION);
    tu_assert_status(risk_vol_garch_forecast(&v, NULL, &g, 3), RISK_EVERSION);
    tu_assert_status(risk_vol_garch_variance(&g, &v), RISK_EVERSION);
    tu_assert_bits(v, SENTINEL);

    /* range */
    double rring[RISK_VOL_RANGE_RING_LEN(3)];
    risk_vol_range_state s, s0;
    tu_assert_status(risk_vol_range_init(NULL, RISK_VOL_PARKINSON, rring, 9, 3), RISK_ENULL);
    tu_assert_status(risk_vol_range_init(&s, RISK_VOL_PARKINSON, NULL, 9, 3), RISK_ENULL);
    tu_assert_status(risk_vol_range_init(&s, 0, rring, 9, 3), RISK_EINVAL);
    tu_assert_status(risk_vol_range_init(&s, 5, rring, 9, 3), RISK_EINVAL);
    tu_assert_status(risk_vol_range_init(&s, RISK_VOL_YANG_ZHANG, rring, 9, 1), RISK_EINVAL);
    tu_assert_status(risk_vol_range_init(&s, RISK_VOL_YANG_ZHANG, rring, 8, 3), RISK_EBUFFER);
    tu_assert_status(risk_vol_range_init(&s, RISK_VOL_YANG_ZHANG, rring, 9, 3), RISK_OK);
    tu_assert_status(risk_vol_range_update(&s, 100.0, 101.0, 99.0, 100.5), RISK_OK);
    s0 = s;
    tu_assert_status(risk_vol_range_update(&s, 100.0, 99.0, 101.0, 100.0), RISK_EINVAL);  /* high < low */
    tu_assert_status(risk_vol_range_update(&s, 102.0, 101.0, 99.0, 100.0), RISK_EINVAL);  /* open > high */
    tu_assert_status(risk_vol_range_update(&s, 100.0, 101.0, 99.0, 98.0), RISK_EINVAL);   /* close < low */
    tu_assert_status(risk_vol_range_update(&s, 0.0, 101.0, 0.0, 100.0), RISK_EINVAL);     /* not positive */
    tu_assert_status(risk_vol_range_update(&s, NAN, 101.0, 99.0, 100.0), RISK_EINVAL);
    tu_assert_status(risk_vol_range_update(&s, 100.0, INFINITY, 99.0, 100.0), RISK_EINVAL);
    tu_assert_status(risk_vol_range_update(NULL, 100.0, 101.0, 99.0, 100.0), RISK_ENULL);
    tu_assert_status(risk_vol_range_variance(&s, &v), RISK_ESTATE);
    assert_memory_equal(&s, &s0, sizeof s);
    s.version = 2;
    tu_assert_status(risk_vol_range_update(&s, 100.0, 101.0, 99.0, 100.5), RISK_EVERSION);
    tu_assert_status(risk_vol_range_vol_annual(&s, 365.0, &v), RISK_EVERSION);
    tu_assert_bits(v, SENTINEL);
}


/* Issue 9 defect 7: eleven ordinary returns gave a fit with alpha + beta == 1.0, which
 * risk_vol_garch_init() and risk_vol_garch_loglik() then refused, and an infinite (here
 * negative) long-run variance; a tiny tolerance did the same under variance targeting. The fit
 * keeps alpha + beta <= 1 - RISK_VOL_GARCH_PERSISTENCE_MARGIN. (Returns found by a random search
 * against 0.1.0.) */
static void test_vol_garch_fit_is_accepted_by_init_and_loglik(void **state)
{
    (void)state;
    static const double r[11] = {0.021758753988779498, -0.015870051824427234, 0.02262094214214987,
                                 0.021441782625132137, 0.015887916398182472, -0.012210436175675335,
                                 0.026704810334697744, 0.023753350392800455, -0.0068533265203485835,
                                 -0.0052047114703826182, 0.0013413099066081013};
    for (uint32_t flags = 0; flags <= RISK_VOL_GARCH_VARIANCE_TARGETING; flags++) {
        for (int tiny = 0; tiny < 2; tiny++) {
            risk_vol_garch_options o = RISK_VOL_GARCH_OPTIONS_INIT;
            o.flags = flags;
            if (tiny) {
                o.tolerance = 1e-300;
                o.max_iterations = 10000;
            }
            risk_vol_garch_result res = RISK_VOL_GARCH_RESULT_INIT;
            tu_assert_status(risk_vol_garch_fit(&res, r, 11, &o), RISK_OK);
            assert_true(res.alpha + res.beta <= 1.0 - RISK_VOL_GARCH_PERSISTENCE_MARGIN);
            assert_true(res.omega > 0.0 && isfinite(res.long_run_variance) && res.long_run_variance > 0.0);
            assert_true(isfinite(res.variance_next) && isfinite(res.log_likelihood));
            risk_vol_garch_state st;
            tu_assert_status(risk_vol_garch_init(&st, res.omega, res.alpha, res.beta, res.variance_next), RISK_OK);
            double ll = 0;
            tu_assert_status(risk_vol_garch_loglik(&ll, r, 11, res.omega, res.alpha, res.beta), RISK_OK);
            tu_assert_bits(ll, res.log_likelihood);
            double v = 0, cum = 0;
            tu_assert_status(risk_vol_garch_forecast(&v, &cum, &st, 1000000u), RISK_OK);
            assert_true(isfinite(v) && isfinite(cum));
        }
    }
}

/* Closes of {100, 5e-324, 100} gave infinite log returns, an infinite EWMA and a realised
 * volatility of 0. Prices outside [RISK_PRICE_MIN, RISK_PRICE_MAX], returns above
 * RISK_LOG_RETURN_MAX and variances above RISK_VARIANCE_MAX are EINVAL in every estimator, and
 * outputs and states are left as they were; at the edges every output is finite. */
static void test_vol_refuses_inputs_outside_the_domain(void **state)
{
    (void)state;
    const double bad[3] = {100.0, 5e-324, 100.0};
    const double big[3] = {100.0, 1e300, 100.0};
    double out[3] = {SENTINEL, SENTINEL, SENTINEL};
    const double *sets[2] = {bad, big};
    for (int k = 0; k < 2; k++) {
        const double *c = sets[k];
        tu_assert_status(risk_vol_log_returns(out, c, 3), RISK_EINVAL);
        tu_assert_status(risk_vol_ewma(out, c, 3, 0.94, 0.0, 365.0), RISK_EINVAL);
        tu_assert_status(risk_vol_realized(out, c, 3, 2, 365.0), RISK_EINVAL);
        tu_assert_status(risk_vol_garch(out, c, 3, 1e-5, 0.1, 0.8, 0.0, 365.0), RISK_EINVAL);
        const double hi[3] = {100.0, 100.0, 100.0};
        tu_assert_status(risk_vol_parkinson(out, hi, c, 3, 2, 365.0), RISK_EINVAL);
        tu_assert_status(risk_vol_garman_klass(out, c, hi, c, c, 3, 2, 365.0), RISK_EINVAL);
        assert_untouched(out, 3);
    }
    risk_vol_ewma_state ew;
    tu_assert_status(risk_vol_ewma_init(&ew, 0.94, 0.0), RISK_OK);
    tu_assert_status(risk_vol_ewma_update_price(&ew, 100.0), RISK_OK);
    tu_assert_status(risk_vol_ewma_update_price(&ew, 5e-324), RISK_EINVAL);
    tu_assert_status(risk_vol_ewma_update(&ew, nextafter(RISK_LOG_RETURN_MAX, INFINITY)), RISK_EINVAL);
    assert_true(ew.count == 0 && ew.last_price == 100.0);
    tu_assert_status(risk_vol_ewma_init(&ew, 0.94, 1e300), RISK_EINVAL);
    risk_vol_garch_state gs;
    tu_assert_status(risk_vol_garch_init(&gs, 1e-5, 0.1, 0.8, 1e-4), RISK_OK);
    tu_assert_status(risk_vol_garch_update(&gs, -65.0), RISK_EINVAL);
    tu_assert_status(risk_vol_garch_update_price(&gs, 1e13), RISK_EINVAL);
    tu_assert_status(risk_vol_garch_init(&gs, 1e300, 0.1, 0.8, 1e-4), RISK_EINVAL);
    double rr[12];
    for (int i = 0; i < 12; i++)
        rr[i] = (i % 3 - 1) * 0.01;
    rr[5] = 100.0;
    risk_vol_garch_result res = RISK_VOL_GARCH_RESULT_INIT;
    tu_assert_status(risk_vol_garch_fit(&res, rr, 12, NULL), RISK_EINVAL);
    double ll = 0;
    tu_assert_status(risk_vol_garch_loglik(&ll, rr, 12, 1e-5, 0.1, 0.8), RISK_EINVAL);

    /* the edges: the extreme prices alternate, every return is +-ln(1e24) */
    const double edge[4] = {RISK_PRICE_MIN, RISK_PRICE_MAX, RISK_PRICE_MIN, RISK_PRICE_MAX};
    double o4[4];
    tu_assert_status(risk_vol_log_returns(o4, edge, 4), RISK_OK);
    tu_assert_rel(o4[1], log(1e24), 1e-15);
    tu_assert_status(risk_vol_ewma(o4, edge, 4, 0.94, RISK_VARIANCE_MAX, RISK_PERIODS_PER_YEAR_MAX), RISK_OK);
    for (int i = 1; i < 4; i++)
        assert_true(isfinite(o4[i]) && o4[i] > 0.0);
    tu_assert_status(risk_vol_realized(o4, edge, 4, 2, RISK_PERIODS_PER_YEAR_MAX), RISK_OK);
    assert_true(isfinite(o4[3]) && o4[3] > 0.0);
    tu_assert_status(risk_vol_garch(o4, edge, 4, RISK_VARIANCE_MAX, 0.1, 0.8, RISK_VARIANCE_MAX,
                                    RISK_PERIODS_PER_YEAR_MAX), RISK_OK);
    for (int i = 1; i < 4; i++)
        assert_true(isfinite(o4[i]) && o4[i] > 0.0);
    tu_assert_status(risk_vol_ewma(o4, edge, 4, 0.94, 0.0, nextafter(RISK_PERIODS_PER_YEAR_MAX, INFINITY)),
                     RISK_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vol_ewma_hand_recursion),
        cmocka_unit_test(test_vol_ewma_stream_matches_batch_bitwise),
        cmocka_unit_test(test_vol_realized_hand_computation),
        cmocka_unit_test(test_vol_realized_stream_matches_batch_bitwise),
        cmocka_unit_test(test_vol_log_returns_in_place),
        cmocka_unit_test(test_vol_garch_fit_recovers_parameters),
        cmocka_unit_test(test_vol_garch_loglik_is_a_maximum),
        cmocka_unit_test(test_vol_garch_variance_targeting),
        cmocka_unit_test(test_vol_garch_boundary_has_no_standard_errors),
        cmocka_unit_test(test_vol_garch_forecasts_converge_to_long_run),
        cmocka_unit_test(test_vol_garch_stream_matches_batch_bitwise),
        cmocka_unit_test(test_vol_range_hand_bars),
        cmocka_unit_test(test_vol_range_stream_matches_batch_bitwise),
        cmocka_unit_test(test_vol_range_unbiased_on_brownian_bars),
        cmocka_unit_test(test_vol_rejects_bad_input_arrays),
        cmocka_unit_test(test_vol_rejects_bad_input_garch_fit),
        cmocka_unit_test(test_vol_rejects_bad_input_states),
        cmocka_unit_test(test_vol_garch_fit_is_accepted_by_init_and_loglik),
        cmocka_unit_test(test_vol_refuses_inputs_outside_the_domain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
