/* SPDX-License-Identifier: Apache-2.0 */
/* VaR and ES (include/risk/var.h): historical simulation and its definition, the P&L merge,
 * filtered historical simulation against a hand recursion, delta-normal against the closed
 * form, delta-gamma cumulants, Monte Carlo reproducibility and moments, back-test counts and
 * statistics, and the input domain. Independent checks against numpy/scipy live in
 * tests/python/test_var.py. Formulas: docs/var.md. */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_MAX 1000

/* splitmix64 for test data (not the library's generator) */
static uint64_t tstate = 12345;
static double tuniform(void)
{
    uint64_t z = (tstate += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

static risk_var_result hs(const double *pnl, size_t n, double a, double b)
{
    static double work[N_MAX];
    risk_var_result r = RISK_VAR_RESULT_INIT;
    tu_assert_status(risk_var_historical(&r, pnl, n, a, b, work, N_MAX), RISK_OK);
    return r;
}

/* Losses 1..250: m = 2.5 at 99 % (VaR = L(3) = 248, ES = (250 + 249 + 0.5 x 248) / 2.5 = 249.2)
 * and m = 6.25 at 97.5 % (ES = (250 + ... + 245 + 0.25 x 244) / 6.25 = 247.36). */
static void test_var_historical_definition(void **state)
{
    (void)state;
    double pnl[250];
    for (int i = 0; i < 250; i++)
        pnl[i] = -(double)(i + 1);
    risk_var_result r = hs(pnl, 250, 0.99, 0.975);
    tu_assert_bits(r.var, 248.0);
    tu_assert_rel(r.es, 247.36, 1e-15);
    assert_int_equal(r.n, 250);
    tu_assert_bits(r.mean, -125.5);
    r = hs(pnl, 250, 0.99, 0.99);
    tu_assert_rel(r.es, 249.2, 1e-15);
    /* any order of the input: the same bits */
    double shuffled[250];
    memcpy(shuffled, pnl, sizeof pnl);
    for (int i = 249; i > 0; i--) {
        int j = (int)(tuniform() * (i + 1));
        double t = shuffled[i];
        shuffled[i] = shuffled[j];
        shuffled[j] = t;
    }
    risk_var_result s = hs(shuffled, 250, 0.99, 0.99);
    tu_assert_bits(s.var, r.var);
    tu_assert_bits(s.es, r.es);
    tu_assert_bits(s.mean, r.mean);
    tu_assert_bits(s.stdev, r.stdev);
}

/* 10 x (1 - 0.9) is 0.99999999999999978 in doubles: the tail is snapped to 1 observation, so
 * the 90 % VaR of losses 1..10 is L(2) = 9 (the decimal definition), and ES = L(1) = 10. */
static void test_var_historical_tail_snaps_to_integers(void **state)
{
    (void)state;
    double pnl[10];
    for (int i = 0; i < 10; i++)
        pnl[i] = -(double)(i + 1);
    risk_var_result r = hs(pnl, 10, 0.9, 0.9);
    tu_assert_bits(r.var, 9.0);
    tu_assert_bits(r.es, 10.0);
    /* m < 1: both are the worst loss */
    r = hs(pnl, 10, 0.99, 0.99);
    tu_assert_bits(r.var, 10.0);
    tu_assert_bits(r.es, 10.0);
    /* n = 1 */
    r = hs(pnl, 1, 0.99, 0.975);
    tu_assert_bits(r.var, 1.0);
    tu_assert_bits(r.es, 1.0);
}

/* ES >= VaR at the same level, and both rise with the level, on random fat-tailed P&L. */
static void test_var_historical_es_at_least_var(void **state)
{
    (void)state;
    static double pnl[N_MAX];
    for (int trial = 0; trial < 50; trial++) {
        size_t n = 1 + (size_t)(tuniform() * (N_MAX - 1));
        for (size_t i = 0; i < n; i++) {
            double u = tuniform();
            pnl[i] = (u < 0.5 ? -1.0 : 1.0) * pow(tuniform() + 1e-12, -0.4); /* Pareto tails */
        }
        double prev_var = -INFINITY, prev_es = -INFINITY;
        for (int l = 0; l < 6; l++) {
            double level = (double[]){0.5, 0.9, 0.95, 0.975, 0.99, 0.999}[l];
            risk_var_result r = hs(pnl, n, level, level);
            assert_true(r.es >= r.var);
            assert_true(r.var >= prev_var);
            assert_true(r.es >= prev_es);
            prev_var = r.var;
            prev_es = r.es;
        }
    }
}

static void test_var_historical_domain(void **state)
{
    (void)state;
    double pnl[4] = {1, -2, 3, -4}, work[4];
    risk_var_result r = RISK_VAR_RESULT_INIT, before;
    r.var = 7.0;
    before = r;
    tu_assert_status(risk_var_historical(NULL, pnl, 4, 0.99, 0.975, work, 4), RISK_ENULL);
    tu_assert_status(risk_var_historical(&r, NULL, 4, 0.99, 0.975, work, 4), RISK_ENULL);
    tu_assert_status(risk_var_historical(&r, pnl, 4, 0.99, 0.975, NULL, 4), RISK_ENULL);
    tu_assert_status(risk_var_historical(&r, pnl, 0, 0.99, 0.975, work, 4), RISK_EINVAL);
    tu_assert_status(risk_var_historical(&r, pnl, 4, 1.0, 0.975, work, 4), RISK_EINVAL);
    tu_assert_status(risk_var_historical(&r, pnl, 4, 0.99, 0.0, work, 4), RISK_EINVAL);
    tu_assert_status(risk_var_historical(&r, pnl, 4, NAN, 0.975, work, 4), RISK_EINVAL);
    tu_assert_status(risk_var_historical(&r, pnl, 4, 0.99, 0.975, work, 3), RISK_EBUFFER);
    double bad[3] = {NAN, INFINITY, 2e30};
    for (int i = 0; i < 3; i++) {
        double p[4] = {1, 2, 3, 4};
        p[2] = bad[i];
        tu_assert_status(risk_var_historical(&r, p, 4, 0.99, 0.975, work, 4), RISK_EINVAL);
    }
    assert_memory_equal(&r, &before, sizeof r);
    risk_var_result v = RISK_VAR_RESULT_INIT;
    v.version = 2;
    tu_assert_status(risk_var_historical(&v, pnl, 4, 0.99, 0.975, work, 4), RISK_EVERSION);
}

/* The book's VaR from the merged vector: a long and a short of the same size hedge to 0, while
 * the sum of their VaRs is twice the VaR of one. The merge runs in book order, from 0.0. */
static void test_var_merge_book_from_vectors(void **state)
{
    (void)state;
    enum { N = 500 };
    static double a[N], b[N], c[N], out[N];
    for (int s = 0; s < N; s++) {
        a[s] = 1000.0 * (tuniform() - 0.5);
        b[s] = -a[s];
        c[s] = 10.0 * (tuniform() - 0.5);
    }
    const double *v2[2] = {a, b};
    tu_assert_status(risk_var_pnl_merge(out, v2, 2, N), RISK_OK);
    for (int s = 0; s < N; s++)
        tu_assert_bits(out[s], 0.0);
    risk_var_result ra = hs(a, N, 0.99, 0.975), rb = hs(b, N, 0.99, 0.975), rm = hs(out, N, 0.99, 0.975);
    assert_true(ra.var > 0 && rb.var > 0);
    tu_assert_bits(rm.var, 0.0);
    /* three books: the fixed order (((0 + a) + b) + c) */
    const double *v3[3] = {a, c, b};
    tu_assert_status(risk_var_pnl_merge(out, v3, 3, N), RISK_OK);
    for (int s = 0; s < N; s++)
        tu_assert_bits(out[s], ((0.0 + a[s]) + c[s]) + b[s]);
    /* in place: out is the first input */
    static double a2[N];
    memcpy(a2, a, sizeof a);
    const double *v3b[3] = {a2, c, b};
    tu_assert_status(risk_var_pnl_merge(a2, v3b, 3, N), RISK_OK);
    assert_memory_equal(a2, out, sizeof out);
    /* shards: (a + c) then b equals the one-engine merge when the order is kept */
    static double ac[N], two[N];
    const double *s1[2] = {a, c};
    tu_assert_status(risk_var_pnl_merge(ac, s1, 2, N), RISK_OK);
    const double *s2[2] = {ac, b};
    tu_assert_status(risk_var_pnl_merge(two, s2, 2, N), RISK_OK);
    assert_memory_equal(two, out, sizeof out);
    /* domain: an overflowing sum is refused and nothing is written */
    double big1[2] = {9e29, 1}, big2[2] = {9e29, 1}, o[2] = {5, 5};
    const double *vb[2] = {big1, big2};
    tu_assert_status(risk_var_pnl_merge(o, vb, 2, 2), RISK_EINVAL);
    tu_assert_bits(o[0], 5.0);
    tu_assert_bits(o[1], 5.0);
    tu_assert_status(risk_var_pnl_merge(o, vb, 0, 2), RISK_EINVAL);
    tu_assert_status(risk_var_pnl_merge(NULL, vb, 2, 2), RISK_ENULL);
    const double *vn[2] = {big1, NULL};
    tu_assert_status(risk_var_pnl_merge(o, vn, 2, 2), RISK_ENULL);
}

static void test_var_pnl_delta_gamma_hand(void **state)
{
    (void)state;
    double moves[2 * 2] = {0.1, -0.2, -0.05, 0.03};
    double delta[2] = {1000.0, 500.0}, gamma[4] = {200.0, 50.0, 50.0, -100.0}, out[2];
    tu_assert_status(risk_var_pnl_delta_gamma(out, moves, 2, 2, delta, NULL), RISK_OK);
    tu_assert_rel(out[0], 1000.0 * 0.1 + 500.0 * -0.2, 1e-15);
    tu_assert_status(risk_var_pnl_delta_gamma(out, moves, 2, 2, delta, gamma), RISK_OK);
    double x = 0.1, y = -0.2;
    tu_assert_rel(out[0], 1000 * x + 500 * y + 0.5 * (200 * x * x + 2 * 50 * x * y - 100 * y * y), 1e-14);
    double asym[4] = {200.0, 50.0, 51.0, -100.0};
    tu_assert_status(risk_var_pnl_delta_gamma(out, moves, 2, 2, delta, asym), RISK_EINVAL);
    moves[3] = NAN;
    tu_assert_status(risk_var_pnl_delta_gamma(out, moves, 2, 2, delta, gamma), RISK_EINVAL);
    tu_assert_status(risk_var_pnl_delta_gamma(out, moves, 2, 0, delta, gamma), RISK_EINVAL);
}

/* FHS against a hand recursion: out[t] = r_t sigma_(n+1) / sigma_t. */
static void test_var_fhs_hand_recursion(void **state)
{
    (void)state;
    enum { N = 300 };
    double r[N], out[N], sigma_now = 0;
    for (int t = 0; t < N; t++)
        r[t] = 0.03 * (tuniform() - 0.5) * (t > 200 ? 4.0 : 1.0);
    /* EWMA, seeded with the mean square */
    double ms = 0;
    for (int t = 0; t < N; t++)
        ms += r[t] * r[t];
    ms /= N;
    double s2[N + 1];
    s2[0] = ms;
    for (int t = 0; t < N; t++)
        s2[t + 1] = 0.94 * s2[t] + (1.0 - 0.94) * (r[t] * r[t]);
    tu_assert_status(risk_var_fhs_returns(out, &sigma_now, r, N, NULL), RISK_OK);
    tu_assert_bits(sigma_now, sqrt(s2[N]));
    for (int t = 0; t < N; t++)
        tu_assert_bits(out[t], r[t] * (sqrt(s2[N]) / sqrt(s2[t])));
    /* GARCH with a given seed */
    risk_var_filter f = RISK_VAR_FILTER_INIT;
    f.model = RISK_VAR_FILTER_GARCH;
    f.omega = 2e-6;
    f.alpha = 0.08;
    f.beta = 0.9;
    f.seed_variance = 1e-4;
    s2[0] = 1e-4;
    for (int t = 0; t < N; t++)
        s2[t + 1] = 2e-6 + 0.08 * (r[t] * r[t]) + 0.9 * s2[t];
    tu_assert_status(risk_var_fhs_returns(out, &sigma_now, r, N, &f), RISK_OK);
    tu_assert_bits(sigma_now, sqrt(s2[N]));
    for (int t = 0; t < N; t++)
        tu_assert_rel(out[t], r[t] * (sqrt(s2[N]) / sqrt(s2[t])), 1e-15);
    /* the filtered returns carry today's volatility: the last window is the stressed one, so
     * the calm days are scaled up */
    assert_true(fabs(out[10]) >= fabs(r[10]));
    /* domain */
    double zeros[5] = {0}, o5[5] = {7, 7, 7, 7, 7};
    tu_assert_status(risk_var_fhs_returns(o5, NULL, zeros, 5, NULL), RISK_EINVAL);
    tu_assert_bits(o5[0], 7.0);
    tu_assert_status(risk_var_fhs_returns(out, NULL, r, 1, NULL), RISK_EINVAL);
    f.alpha = 0.2; /* alpha + beta >= 1 */
    tu_assert_status(risk_var_fhs_returns(out, NULL, r, N, &f), RISK_EINVAL);
    f = (risk_var_filter)RISK_VAR_FILTER_INIT;
    f.lambda = 1.0;
    tu_assert_status(risk_var_fhs_returns(out, NULL, r, N, &f), RISK_EINVAL);
    f = (risk_var_filter)RISK_VAR_FILTER_INIT;
    f.version = 9;
    tu_assert_status(risk_var_fhs_returns(out, NULL, r, N, &f), RISK_EVERSION);
    r[3] = 65.0;
    tu_assert_status(risk_var_fhs_returns(out, NULL, r, N, NULL), RISK_EINVAL);
}

/* AS 241 at published points (scipy.stats.norm.ppf gives the same to the last digit). */
static void test_var_norm_quantile(void **state)
{
    (void)state;
    double z;
    tu_assert_status(risk_var_norm_quantile(0.5, &z), RISK_OK);
    tu_assert_bits(z, 0.0);
    tu_assert_status(risk_var_norm_quantile(0.99, &z), RISK_OK);
    tu_assert_rel(z, 2.3263478740408408, 1e-15);
    tu_assert_status(risk_var_norm_quantile(0.975, &z), RISK_OK);
    tu_assert_rel(z, 1.959963984540054, 1e-15);
    tu_assert_status(risk_var_norm_quantile(1e-10, &z), RISK_OK);
    tu_assert_rel(z, -6.361340902404056, 1e-15);
    tu_assert_status(risk_var_norm_quantile(0.999999, &z), RISK_OK);
    tu_assert_rel(z, 4.753424308817087, 1e-14);
    tu_assert_status(risk_var_norm_quantile(1.0, &z), RISK_EINVAL);
    tu_assert_status(risk_var_norm_quantile(NAN, &z), RISK_EINVAL);
    tu_assert_status(risk_var_norm_quantile(0.5, NULL), RISK_ENULL);
}

/* Closed form: VaR = z sigma, ES = sigma phi(z_b)/(1 - b). $1m of BTC at 2 % daily vol:
 * sigma = 20,000; VaR99 = 46,526.957..., ES97.5 = 46,756.056... (scipy); 10 days: x sqrt(10). */
static void test_var_delta_normal_closed_form(void **state)
{
    (void)state;
    double delta[1] = {1e6}, cov[1] = {0.0004};
    risk_var_result r = RISK_VAR_RESULT_INIT;
    tu_assert_status(risk_var_delta_normal(&r, delta, cov, 1, 0.99, 0.975, 1.0), RISK_OK);
    tu_assert_rel(r.stdev, 20000.0, 1e-15);
    tu_assert_rel(r.var, 46526.95748081682, 1e-14);
    tu_assert_rel(r.es, 46756.055844028306, 1e-14);
    assert_true(r.es > r.var);
    tu_assert_status(risk_var_delta_normal(&r, delta, cov, 1, 0.99, 0.975, 10.0), RISK_OK);
    tu_assert_rel(r.var, 46526.95748081682 * sqrt(10.0), 1e-14);
    /* two factors: sigma^2 = d' S d */
    double d2[2] = {3e5, -1e5}, c2[4] = {0.0004, 0.0003, 0.0003, 0.0009};
    tu_assert_status(risk_var_delta_normal(&r, d2, c2, 2, 0.99, 0.99, 1.0), RISK_OK);
    double q = 9e10 * 0.0004 + 2 * 3e5 * -1e5 * 0.0003 + 1e10 * 0.0009;
    tu_assert_rel(r.stdev, sqrt(q), 1e-15);
    /* domain: asymmetric, negative diagonal, not PSD along delta */
    double bad[4] = {0.0004, 0.0003, 0.0002, 0.0009};
    tu_assert_status(risk_var_delta_normal(&r, d2, bad, 2, 0.99, 0.99, 1.0), RISK_EINVAL);
    double npsd[4] = {0.0001, 0.001, 0.001, 0.0001};
    double d11[2] = {1, -1};
    tu_assert_status(risk_var_delta_normal(&r, d11, npsd, 2, 0.99, 0.99, 1.0), RISK_EINVAL);
    tu_assert_status(risk_var_delta_normal(&r, delta, cov, 1, 0.99, 0.99, 0.0), RISK_EINVAL);
    tu_assert_status(risk_var_delta_normal(&r, delta, cov, 0, 0.99, 0.99, 1.0), RISK_EINVAL);
}

/* Delta-gamma: with Gamma = 0 it is delta-normal; a pure gamma position is a scaled chi-square(1)
 * (mean g s2/2, sd |g| s2/sqrt 2, loss skewness -sqrt 8 for g > 0, excess kurtosis 12). */
static void test_var_delta_gamma_moments(void **state)
{
    (void)state;
    double work[RISK_VAR_DELTA_GAMMA_WORK(2)];
    double d2[2] = {3e5, -1e5}, c2[4] = {0.0004, 0.0003, 0.0003, 0.0009}, g0[4] = {0};
    risk_var_result dn = RISK_VAR_RESULT_INIT, dg = RISK_VAR_RESULT_INIT;
    tu_assert_status(risk_var_delta_normal(&dn, d2, c2, 2, 0.99, 0.975, 5.0), RISK_OK);
    tu_assert_status(risk_var_delta_gamma(&dg, d2, g0, c2, 2, 0.99, 0.975, 5.0, work, 12), RISK_OK);
    tu_assert_rel(dg.var, dn.var, 1e-14);
    tu_assert_rel(dg.es, dn.es, 1e-14);
    tu_assert_bits(dg.mean, 0.0);
    /* one factor, pure gamma g = 1e6 (a long straddle's convexity), s2 = 0.0004 */
    double d1[1] = {0.0}, g1[1] = {1e6}, c1[1] = {0.0004};
    tu_assert_status(risk_var_delta_gamma(&dg, d1, g1, c1, 1, 0.99, 0.975, 1.0, work, 4), RISK_OK);
    tu_assert_rel(dg.mean, 0.5 * 1e6 * 0.0004, 1e-15);
    tu_assert_rel(dg.stdev, 1e6 * 0.0004 / sqrt(2.0), 1e-15);
    /* a long-gamma position loses at most nothing: its Cornish-Fisher VaR is small next to its sd */
    assert_true(dg.var < dg.stdev);
    tu_assert_status(risk_var_delta_gamma(&dg, d1, g1, c1, 1, 0.99, 0.975, 1.0, work, 3), RISK_EBUFFER);
    double gz[1] = {0.0};
    tu_assert_status(risk_var_delta_gamma(&dg, d1, gz, c1, 1, 0.99, 0.975, 1.0, work, 4), RISK_EINVAL);
}

/* The EWMA covariance's diagonal is bit for bit the vol module's EWMA variance. */
static void test_var_ewma_cov_matches_vol_ewma(void **state)
{
    (void)state;
    enum { N = 200, K = 3 };
    double r[N * K], cov[K * K];
    for (int i = 0; i < N * K; i++)
        r[i] = 0.05 * (tuniform() - 0.5);
    tu_assert_status(risk_var_ewma_cov(cov, r, N, K, 0.94), RISK_OK);
    for (int j = 0; j < K; j++) {
        risk_vol_ewma_state s;
        tu_assert_status(risk_vol_ewma_init(&s, 0.94, 0.0), RISK_OK);
        for (int t = 0; t < N; t++)
            tu_assert_status(risk_vol_ewma_update(&s, r[t * K + j]), RISK_OK);
        tu_assert_bits(cov[j * K + j], s.variance);
    }
    tu_assert_bits(cov[0 * K + 1], cov[1 * K + 0]);
    tu_assert_status(risk_var_ewma_cov(cov, r, 0, K, 0.94), RISK_EINVAL);
    tu_assert_status(risk_var_ewma_cov(cov, r, N, K, 1.0), RISK_EINVAL);
}

/* Monte Carlo: the same seed gives the same bits; the sample covariance is the model's; the t
 * has the same covariance and fatter tails; a singular PSD covariance works, a non-PSD one not. */
static void test_var_mc_reproducible_and_moments(void **state)
{
    (void)state;
    enum { N = 100000, K = 2 };
    double *x = malloc(sizeof(double) * N * K), *y = malloc(sizeof(double) * N * K);
    assert_non_null(x);
    assert_non_null(y);
    double cov[4] = {0.0004, 0.00018, 0.00018, 0.0009}, work[4];
    risk_var_mc_options o = RISK_VAR_MC_OPTIONS_INIT;
    o.seed = 42;
    o.horizon_periods = 4.0;
    tu_assert_status(risk_var_mc_scenarios(x, cov, K, N, &o, work, 4), RISK_OK);
    tu_assert_status(risk_var_mc_scenarios(y, cov, K, N, &o, work, 4), RISK_OK);
    assert_memory_equal(x, y, sizeof(double) * N * K);
    /* a prefix of a longer run is the shorter run */
    tu_assert_status(risk_var_mc_scenarios(y, cov, K, 1000, &o, work, 4), RISK_OK);
    assert_memory_equal(x, y, sizeof(double) * 1000 * K);
    o.seed = 43;
    tu_assert_status(risk_var_mc_scenarios(y, cov, K, N, &o, work, 4), RISK_OK);
    assert_true(memcmp(x, y, sizeof(double) * N * K) != 0);
    double s00 = 0, s01 = 0, s11 = 0, m4 = 0;
    for (int s = 0; s < N; s++) {
        s00 += x[s * K] * x[s * K];
        s01 += x[s * K] * x[s * K + 1];
        s11 += x[s * K + 1] * x[s * K + 1];
    }
    /* sampling error of a variance estimate ~ sqrt(2/N) = 0.45 %: 3 % is over 6 sd */
    tu_assert_rel(s00 / N, 4.0 * 0.0004, 0.03);
    tu_assert_rel(s11 / N, 4.0 * 0.0009, 0.03);
    tu_assert_rel(s01 / N, 4.0 * 0.00018, 0.05);
    o.distribution = RISK_VAR_MC_STUDENT_T;
    o.dof = 8.0;
    o.horizon_periods = 1.0;
    tu_assert_status(risk_var_mc_scenarios(y, cov, K, N, &o, work, 4), RISK_OK);
    s00 = 0;
    for (int s = 0; s < N; s++) {
        s00 += y[s * K] * y[s * K];
        m4 += pow(y[s * K], 4);
    }
    tu_assert_rel(s00 / N, 0.0004, 0.04);
    /* excess kurtosis of t(8): 6/(8-4) = 1.5, so m4/var^2 = 4.5 (normal: 3) */
    double kurt = (m4 / N) / ((s00 / N) * (s00 / N));
    assert_true(kurt > 3.8 && kurt < 5.5);
    /* singular but PSD: perfectly correlated factors give a zero second column */
    double sing[4] = {0.0004, 0.0004, 0.0004, 0.0004};
    o = (risk_var_mc_options)RISK_VAR_MC_OPTIONS_INIT;
    tu_assert_status(risk_var_mc_scenarios(y, sing, K, 100, &o, work, 4), RISK_OK);
    for (int s = 0; s < 100; s++)
        tu_assert_bits(y[s * K], y[s * K + 1]);
    double npsd[4] = {0.0004, 0.001, 0.001, 0.0004};
    tu_assert_status(risk_var_mc_scenarios(y, npsd, K, 100, &o, work, 4), RISK_EINVAL);
    tu_assert_status(risk_var_mc_scenarios(y, cov, K, 100, &o, work, 3), RISK_EBUFFER);
    o.distribution = RISK_VAR_MC_STUDENT_T;
    o.dof = 2.0;
    tu_assert_status(risk_var_mc_scenarios(y, cov, K, 100, &o, work, 4), RISK_EINVAL);
    o = (risk_var_mc_options)RISK_VAR_MC_OPTIONS_INIT;
    o.version = 0;
    tu_assert_status(risk_var_mc_scenarios(y, cov, K, 100, &o, work, 4), RISK_EVERSION);
    free(x);
    free(y);
}

/* Back-test counts on a hand sequence, breaches at days 2, 3 and 7 of 10 (0-based):
 * states 0 0 1 1 0 0 0 1 0 0: n00 = 4, n01 = 2, n10 = 2, n11 = 1. */
static void test_var_backtest_hand(void **state)
{
    (void)state;
    double pnl[12], var[12];
    int breach[10] = {0, 0, 1, 1, 0, 0, 0, 1, 0, 0};
    for (int i = 0; i < 10; i++) {
        var[i] = 1.0;
        pnl[i] = breach[i] ? -1.5 : -1.0; /* a loss equal to the VaR is not a breach */
    }
    risk_var_backtest_result r = RISK_VAR_BACKTEST_RESULT_INIT;
    tu_assert_status(risk_var_backtest(&r, pnl, var, 10, 0.9), RISK_OK);
    assert_int_equal(r.n, 10);
    assert_int_equal(r.breaches, 3);
    assert_int_equal(r.n00, 4);
    assert_int_equal(r.n01, 2);
    assert_int_equal(r.n10, 2);
    assert_int_equal(r.n11, 1);
    /* Kupiec: -2 [7 ln 0.9 + 3 ln 0.1] + 2 [7 ln 0.7 + 3 ln 0.3] */
    double lr = -2.0 * (7 * log(0.9) + 3 * log(0.1)) + 2.0 * (7 * log(0.7) + 3 * log(0.3));
    tu_assert_rel(r.lr_pof, lr, 1e-14);
    tu_assert_rel(r.p_pof, erfc(sqrt(lr / 2)), 1e-14);
    /* Christoffersen: pi = 3/9, pi01 = 2/6, pi11 = 1/3 */
    double li = -2.0 * (6 * log(6.0 / 9) + 3 * log(3.0 / 9)) +
                2.0 * (4 * log(4.0 / 6) + 2 * log(2.0 / 6) + 2 * log(2.0 / 3) + 1 * log(1.0 / 3));
    tu_assert_near(r.lr_ind, li > 0 ? li : 0, 1e-13);
    tu_assert_rel(r.lr_cc, r.lr_pof + r.lr_ind, 1e-15);
    tu_assert_rel(r.p_cc, exp(-r.lr_cc / 2), 1e-15);
    /* NaN VaR rows are left out */
    pnl[10] = -100;
    var[10] = NAN;
    pnl[11] = -1.0;
    var[11] = 1.0;
    risk_var_backtest_result r2 = RISK_VAR_BACKTEST_RESULT_INIT;
    tu_assert_status(risk_var_backtest(&r2, pnl, var, 12, 0.9), RISK_OK);
    assert_int_equal(r2.n, 11);
    assert_int_equal(r2.breaches, 3);
    assert_int_equal(r2.n00, 5);
    /* exactly the expected rate: LR_pof = 0, p = 1 */
    for (int i = 0; i < 10; i++)
        pnl[i] = i == 4 ? -2.0 : 0.0;
    tu_assert_status(risk_var_backtest(&r, pnl, var, 10, 0.9), RISK_OK);
    tu_assert_near(r.lr_pof, 0.0, 1e-13);
    tu_assert_near(r.p_pof, 1.0, 1e-6);
    /* a level below 2^-53: 1 - (1 - alpha) is 0 in doubles, the statistics stay finite (fuzz_var) */
    tu_assert_status(risk_var_backtest(&r, pnl, var, 10, 1e-300), RISK_OK);
    assert_true(isfinite(r.lr_pof) && isfinite(r.lr_cc) && r.lr_pof > 1000.0);
    tu_assert_bits(r.p_pof, 0.0);
    /* domain */
    var[0] = INFINITY;
    tu_assert_status(risk_var_backtest(&r, pnl, var, 10, 0.9), RISK_EINVAL);
    var[0] = 1.0;
    tu_assert_status(risk_var_backtest(&r, pnl, var, 1, 0.9), RISK_EINVAL);
    tu_assert_status(risk_var_backtest(&r, pnl, var, 10, 1.5), RISK_EINVAL);
    r.version = 3;
    tu_assert_status(risk_var_backtest(&r, pnl, var, 10, 0.9), RISK_EVERSION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_var_historical_definition),
        cmocka_unit_test(test_var_historical_tail_snaps_to_integers),
        cmocka_unit_test(test_var_historical_es_at_least_var),
        cmocka_unit_test(test_var_historical_domain),
        cmocka_unit_test(test_var_merge_book_from_vectors),
        cmocka_unit_test(test_var_pnl_delta_gamma_hand),
        cmocka_unit_test(test_var_fhs_hand_recursion),
        cmocka_unit_test(test_var_norm_quantile),
        cmocka_unit_test(test_var_delta_normal_closed_form),
        cmocka_unit_test(test_var_delta_gamma_moments),
        cmocka_unit_test(test_var_ewma_cov_matches_vol_ewma),
        cmocka_unit_test(test_var_mc_reproducible_and_moments),
        cmocka_unit_test(test_var_backtest_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
