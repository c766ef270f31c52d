/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_var.c: libFuzzer harness for the VaR/ES functions of risk/var.h (docs/fuzzing.md,
 * docs/var.md).
 *
 * The input chooses a function, its vectors and its parameters: raw doubles (any bit pattern,
 * NaN, infinities, subnormals, values beyond the domain) and edge values, or ordinary ones (P&L
 * on a grid, returns of a few percent, levels k/256, covariances built as A A'). The library's
 * own domain checks are exercised in full (no clipping of large values). Checked:
 *
 *  1. no crash, no out-of-bounds access, no undefined behaviour, no hang on any input;
 *  2. a call that fails leaves its outputs as they were (result structs and arrays);
 *  3. a call that succeeds gives finite numbers; historical ES >= VaR at the same level, and
 *     the VaR is one of the scenario losses; merged vectors are the ordered sums; Monte Carlo
 *     repeats bit for bit with the same seed; back-test transitions add up to the days - 1 and
 *     p-values lie in [0, 1].
 */
#include <risk.h>

#include "fuzz_util.h"

#define MAX_N 128
#define MAX_K 4
#define CANARY 1234.5

static double value(fz_reader *r, int ordinary, double step)
{
    if (ordinary)
        return (double)(int16_t)fz_u16(r) * step;
    uint8_t how = fz_u8(r);
    return how < 128 ? fz_edge(r) : fz_raw_double(r);
}

static double level(fz_reader *r)
{
    uint8_t how = fz_u8(r);
    if (how < 230)
        return ((double)fz_u8(r) + 0.5) / 256.0;
    return fz_edge(r);
}

static void fill(double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = CANARY;
}

static void untouched(const double *x, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        FZ_ASSERT(x[i] == CANARY, "%s failed but wrote [%zu] = %g", what, i, x[i]);
}

static void fz_historical(fz_reader *r, const double *x, size_t n)
{
    double a = level(r), b = fz_u8(r) % 2 ? a : level(r), work[MAX_N];
    risk_var_result res = RISK_VAR_RESULT_INIT, before;
    res.var = CANARY;
    before = res;
    int rc = risk_var_historical(&res, x, n, a, b, work, fz_u8(r) % 8 ? MAX_N : n / 2);
    if (rc != RISK_OK) {
        FZ_ASSERT(memcmp(&res, &before, sizeof res) == 0, "historical failed (%d) but wrote the result", rc);
        return;
    }
    FZ_ASSERT(isfinite(res.var) && isfinite(res.es) && isfinite(res.mean) && isfinite(res.stdev),
              "historical: var %g es %g", res.var, res.es);
    if (a == b)
        FZ_ASSERT(res.es >= res.var, "historical: es %g < var %g at %g", res.es, res.var, a);
    int found = 0;
    for (size_t i = 0; i < n && !found; i++)
        found = 0.0 - x[i] == res.var;
    FZ_ASSERT(found, "historical: var %g is not one of the losses", res.var);
}

static void fz_merge(fz_reader *r, const double *x, size_t n, int ordinary)
{
    double y[MAX_N], out[MAX_N];
    for (size_t i = 0; i < n; i++)
        y[i] = value(r, ordinary, 0.01);
    const double *v[3] = {x, y, x};
    size_t books = 1 + fz_pick(r, 3);
    fill(out, MAX_N);
    int rc = risk_var_pnl_merge(out, v, books, n);
    if (rc != RISK_OK) {
        untouched(out, MAX_N, "merge");
        return;
    }
    for (size_t s = 0; s < n; s++) {
        double want = 0.0;
        for (size_t j = 0; j < books; j++)
            want += v[j][s];
        FZ_ASSERT(out[s] == want, "merge[%zu]: %g != %g", s, out[s], want);
    }
    untouched(out + n, MAX_N - n, "merge (beyond n)");
}

static void fz_fhs(fz_reader *r, const double *x, size_t n, int ordinary)
{
    risk_var_filter f = RISK_VAR_FILTER_INIT;
    double ret[MAX_N], out[MAX_N], sigma = CANARY;
    for (size_t i = 0; i < n; i++)
        ret[i] = ordinary ? x[i] * 1e-4 : x[i];
    if (fz_u8(r) % 2) {
        f.model = RISK_VAR_FILTER_GARCH;
        f.omega = ordinary ? 1e-6 : value(r, 0, 0);
        f.alpha = ordinary ? 0.05 + 0.2 * level(r) : value(r, 0, 0);
        f.beta = ordinary ? 0.7 * level(r) : value(r, 0, 0);
    } else if (!ordinary) {
        f.lambda = value(r, 0, 0);
    }
    if (fz_u8(r) % 4 == 0)
        f.seed_variance = ordinary ? 1e-4 : value(r, 0, 0);
    fill(out, n);
    int rc = risk_var_fhs_returns(out, &sigma, ret, n, &f);
    if (rc != RISK_OK) {
        untouched(out, n, "fhs");
        FZ_ASSERT(sigma == CANARY, "fhs failed but wrote sigma");
        return;
    }
    FZ_ASSERT(isfinite(sigma) && sigma > 0.0, "fhs: sigma %g", sigma);
    for (size_t i = 0; i < n; i++)
        FZ_ASSERT(isfinite(out[i]), "fhs: out[%zu] = %g", i, out[i]);
}

/* k x k covariance: A A' (ordinary) or raw entries. */
static void covariance(fz_reader *r, double *cov, size_t k, int ordinary)
{
    if (ordinary) {
        double a[MAX_K * MAX_K];
        for (size_t i = 0; i < k * k; i++)
            a[i] = (double)(int8_t)fz_u8(r) * 1e-3;
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < k; j++) {
                double s = 0.0;
                for (size_t p = 0; p < k; p++)
                    s += a[i * k + p] * a[j * k + p];
                cov[i * k + j] = s;
            }
        return;
    }
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j <= i; j++)
            cov[i * k + j] = cov[j * k + i] = value(r, 0, 0);
    if (fz_u8(r) % 8 == 0)
        cov[k - 1] = value(r, 0, 0); /* maybe asymmetric */
}

static void fz_parametric(fz_reader *r, int ordinary)
{
    size_t k = 1 + fz_pick(r, MAX_K);
    double delta[MAX_K], gamma[MAX_K * MAX_K], cov[MAX_K * MAX_K], work[RISK_VAR_DELTA_GAMMA_WORK(MAX_K)];
    for (size_t i = 0; i < k; i++)
        delta[i] = value(r, ordinary, 100.0);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j <= i; j++)
            gamma[i * k + j] = gamma[j * k + i] = value(r, ordinary, 10.0);
    covariance(r, cov, k, ordinary);
    double a = level(r), b = fz_u8(r) % 2 ? a : level(r);
    double h = ordinary ? 1.0 + fz_u8(r) : value(r, 0, 0);
    risk_var_result res = RISK_VAR_RESULT_INIT, before;
    res.var = CANARY;
    before = res;
    int rc = risk_var_delta_normal(&res, delta, cov, k, a, b, h);
    if (rc != RISK_OK) {
        FZ_ASSERT(memcmp(&res, &before, sizeof res) == 0, "delta_normal failed but wrote");
    } else {
        FZ_ASSERT(isfinite(res.var) && isfinite(res.es) && res.stdev >= 0.0, "delta_normal: %g %g", res.var, res.es);
        if (a == b && a >= 0.5)
            FZ_ASSERT(res.es >= res.var, "delta_normal: es %g < var %g", res.es, res.var);
    }
    res = before;
    rc = risk_var_delta_gamma(&res, delta, gamma, cov, k, a, b, h, work, RISK_VAR_DELTA_GAMMA_WORK(k));
    if (rc != RISK_OK)
        FZ_ASSERT(memcmp(&res, &before, sizeof res) == 0, "delta_gamma failed but wrote");
    else
        FZ_ASSERT(isfinite(res.var) && isfinite(res.es) && isfinite(res.mean) && res.stdev > 0.0,
                  "delta_gamma: %g %g", res.var, res.es);
}

static void fz_mc(fz_reader *r, int ordinary)
{
    size_t k = 1 + fz_pick(r, MAX_K), n = fz_pick(r, 32);
    double cov[MAX_K * MAX_K], work[MAX_K * MAX_K], x[32 * MAX_K], y[32 * MAX_K];
    covariance(r, cov, k, ordinary);
    risk_var_mc_options o = RISK_VAR_MC_OPTIONS_INIT;
    o.seed = fz_u64(r);
    if (fz_u8(r) % 2) {
        o.distribution = RISK_VAR_MC_STUDENT_T;
        o.dof = ordinary ? 2.5 + fz_u8(r) : value(r, 0, 0);
    }
    if (fz_u8(r) % 4 == 0)
        o.horizon_periods = value(r, 0, 0);
    fill(x, 32 * MAX_K);
    int rc = risk_var_mc_scenarios(x, cov, k, n, &o, work, MAX_K * MAX_K);
    if (rc != RISK_OK) {
        untouched(x, 32 * MAX_K, "mc");
        return;
    }
    for (size_t i = 0; i < n * k; i++)
        FZ_ASSERT(isfinite(x[i]), "mc: x[%zu] = %g", i, x[i]);
    untouched(x + n * k, 32 * MAX_K - n * k, "mc (beyond n k)");
    FZ_ASSERT(risk_var_mc_scenarios(y, cov, k, n, &o, work, MAX_K * MAX_K) == RISK_OK, "mc: second run failed");
    FZ_ASSERT(memcmp(x, y, n * k * sizeof *x) == 0, "mc: the same seed gave other bits");
}

static void fz_backtest(fz_reader *r, const double *x, size_t n, int ordinary)
{
    double v[MAX_N];
    for (size_t i = 0; i < n; i++)
        v[i] = fz_u8(r) % 16 == 0 ? NAN : value(r, ordinary, 0.01);
    risk_var_backtest_result res = RISK_VAR_BACKTEST_RESULT_INIT, before;
    res.lr_pof = CANARY;
    before = res;
    int rc = risk_var_backtest(&res, x, v, n, level(r));
    if (rc != RISK_OK) {
        FZ_ASSERT(memcmp(&res, &before, sizeof res) == 0, "backtest failed but wrote");
        return;
    }
    FZ_ASSERT(res.n00 + res.n01 + res.n10 + res.n11 + 1 == res.n, "backtest: transitions do not add up");
    FZ_ASSERT(res.breaches <= res.n, "backtest: %zu breaches in %zu days", res.breaches, res.n);
    FZ_ASSERT(res.lr_pof >= 0.0 && res.lr_ind >= 0.0 && isfinite(res.lr_cc), "backtest: LR");
    FZ_ASSERT(res.p_pof >= 0.0 && res.p_pof <= 1.0 && res.p_ind >= 0.0 && res.p_ind <= 1.0 && res.p_cc >= 0.0 &&
                  res.p_cc <= 1.0,
              "backtest: p-values %g %g %g", res.p_pof, res.p_ind, res.p_cc);
}

static void fz_delta_gamma_pnl(fz_reader *r, const double *x, size_t n, int ordinary)
{
    size_t k = 1 + fz_pick(r, MAX_K), rows = n / k;
    double delta[MAX_K], gamma[MAX_K * MAX_K], moves[MAX_N], out[MAX_N];
    for (size_t i = 0; i < rows * k; i++)
        moves[i] = ordinary ? x[i] * 1e-4 : x[i];
    for (size_t i = 0; i < k; i++)
        delta[i] = value(r, ordinary, 100.0);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j <= i; j++)
            gamma[i * k + j] = gamma[j * k + i] = value(r, ordinary, 10.0);
    fill(out, MAX_N);
    int rc = risk_var_pnl_delta_gamma(out, moves, rows, k, delta, fz_u8(r) % 2 ? gamma : NULL);
    if (rc != RISK_OK) {
        untouched(out, MAX_N, "pnl_delta_gamma");
        return;
    }
    for (size_t i = 0; i < rows; i++)
        FZ_ASSERT(isfinite(out[i]), "pnl_delta_gamma: out[%zu] = %g", i, out[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size, 0};
    double x[MAX_N];
    while (fz_more(&r)) {
        uint32_t what = fz_pick(&r, 7);
        int ordinary = fz_u8(&r) % 4 != 0;
        size_t n = fz_u8(&r) % (MAX_N + 1);
        for (size_t i = 0; i < n; i++)
            x[i] = value(&r, ordinary, 0.01);
        switch (what) {
        case 0:
            fz_historical(&r, x, n);
            break;
        case 1:
            fz_merge(&r, x, n, ordinary);
            break;
        case 2:
            fz_fhs(&r, x, n, ordinary);
            break;
        case 3:
            fz_parametric(&r, ordinary);
            break;
        case 4:
            fz_mc(&r, ordinary);
            break;
        case 5:
            fz_backtest(&r, x, n, ordinary);
            break;
        default:
            fz_delta_gamma_pnl(&r, x, n, ordinary);
            break;
        }
    }
    return 0;
}
