/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_vol.c: libFuzzer harness for the volatility estimators (array in / array out), their
 * streaming states and the GARCH fit (docs/fuzzing.md).
 *
 * The input chooses an estimator, its parameters and a price series: either raw doubles (any
 * bit pattern: NaN, infinities, subnormals, negatives) with parameters that may be edge values
 * too, or an ordinary series (prices between 1e-4 and 1e8, each within a factor e^2 of the
 * previous) with ordinary parameters. Checked:
 *
 *  1. no crash, no out-of-bounds access, no undefined behaviour on any input (ASan, UBSan);
 *  2. a call that fails leaves the output array as it was;
 *  3. on an ordinary series a call that succeeds gives no infinity, no negative volatility, and
 *     NaN only in the documented warm-up rows;
 *  4. the streaming states agree with the array forms (EWMA, realised, GARCH, range estimators):
 *     the same numbers, bit for bit, row by row;
 *  5. a GARCH fit that succeeds gives parameters that risk_vol_garch_init() and
 *     risk_vol_garch_loglik() accept (alpha + beta < 1), with a finite log-likelihood
 *     (FUZZ_KNOWN_GARCH_CONTRACT: issue 9 defect 7, see fuzz/findings/).
 */
#include <risk.h>

#include "fuzz_util.h"

#define MAX_N 256
#define CANARY 1234.5

static int same(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* Series: raw doubles, or an ordinary random walk. Returns n. */
static size_t series(fz_reader *r, double *x, int *ordinary)
{
    size_t n = fz_u8(r) % MAX_N;
    *ordinary = fz_u8(r) % 4 != 0;
    if (*ordinary) {
        double p = 1e-4 * pow(10.0, fz_u8(r) % 13);
        for (size_t i = 0; i < n; i++) {
            int8_t step = (int8_t)fz_u8(r);
            p *= exp((double)step / 64.0); /* at most a factor e^2 per step */
            if (p < 1e-4)
                p = 1e-4;
            if (p > 1e8)
                p = 1e8;
            x[i] = p;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            x[i] = fz_u8(r) < 128 ? fz_edge(r) : fz_raw_double(r);
    }
    return n;
}

static void fill(double *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = CANARY;
}

static void check_untouched(const double *out, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        FZ_ASSERT(out[i] == CANARY, "%s failed but wrote out[%zu] = %g", what, i, out[i]);
}

/* Rows before @p first may be NaN; later ones finite and >= 0. */
static void check_vols(const double *out, size_t n, size_t first, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (i < first && isnan(out[i]))
            continue;
        FZ_ASSERT(isfinite(out[i]) && out[i] >= 0.0, "%s: out[%zu] = %g on an ordinary series", what, i, out[i]);
    }
}

/* Parameters: ordinary ones on an ordinary series, else sometimes an edge value. */
static int g_ordinary;

static double param(fz_reader *r, double ordinary_value)
{
    return fz_u8(r) < 232 || g_ordinary ? ordinary_value : fz_edge(r);
}

static double periods(fz_reader *r)
{
    static const double t[] = {365.0, 8760.0, 252.0, 1.0, 525600.0};
    return param(r, t[fz_pick(r, 5)]);
}

static void fz_ewma(fz_reader *r, const double *close, size_t n, int ordinary)
{
    double out[MAX_N];
    double lambda = param(r, 0.5 + fz_u8(r) / 520.0);
    double seed = param(r, fz_u8(r) < 200 ? 0.0 : 1e-4);
    double ppy = periods(r);
    fill(out, n);
    int rc = risk_vol_ewma(out, close, n, lambda, seed, ppy);
    if (rc != RISK_OK) {
        check_untouched(out, n, "risk_vol_ewma");
        return;
    }
    if (ordinary)
        check_vols(out, n, 1, "risk_vol_ewma");
    if (n == 0)
        return; /* documented: 0 rows do nothing, the parameters unchecked */
    /* the streaming state, price by price */
    risk_vol_ewma_state st = RISK_VOL_EWMA_STATE_INIT;
    FZ_ASSERT(risk_vol_ewma_init(&st, lambda, seed) == RISK_OK, "ewma_init refuses what risk_vol_ewma took");
    for (size_t i = 0; i < n; i++) {
        FZ_ASSERT(risk_vol_ewma_update_price(&st, close[i]) == RISK_OK, "ewma_update_price refused row %zu: %.17g after %.17g (n %zu, lambda %g seed %g)", i, close[i], i ? close[i - 1] : 0.0, n, lambda, seed);
        if (i == 0)
            continue;
        double v = NAN;
        if (risk_vol_ewma_vol_annual(&st, ppy, &v) == RISK_OK)
            FZ_ASSERT(same(v, out[i]), "ewma row %zu: state %.17g, array %.17g", i, v, out[i]);
    }
}

static void fz_realized(fz_reader *r, const double *close, size_t n, int ordinary)
{
    double out[MAX_N];
    size_t window = fz_u8(r) % 40;
    double ppy = periods(r);
    fill(out, n);
    int rc = risk_vol_realized(out, close, n, window, ppy);
    if (rc != RISK_OK) {
        check_untouched(out, n, "risk_vol_realized");
        return;
    }
    if (ordinary)
        check_vols(out, n, window, "risk_vol_realized");
    double ring[64];
    risk_vol_realized_state st;
    FZ_ASSERT(risk_vol_realized_init(&st, ring, 64, window) == RISK_OK, "realized_init refuses window %zu", window);
    for (size_t i = 0; i < n; i++) {
        FZ_ASSERT(risk_vol_realized_update_price(&st, close[i]) == RISK_OK, "realized_update_price row %zu", i);
        double v = NAN;
        if (risk_vol_realized_vol_annual(&st, ppy, &v) == RISK_OK && i >= window)
            FZ_ASSERT(same(v, out[i]), "realized row %zu: state %.17g, array %.17g", i, v, out[i]);
    }
}

static void fz_garch(fz_reader *r, const double *close, size_t n, int ordinary)
{
    double out[MAX_N];
    double omega = param(r, (1.0 + fz_u8(r)) * 1e-7);
    double alpha = param(r, fz_u8(r) / 1024.0);
    double beta = param(r, 0.5 + fz_u8(r) / 600.0);
    double seed = param(r, 0.0);
    double ppy = periods(r);
    fill(out, n);
    int rc = risk_vol_garch(out, close, n, omega, alpha, beta, seed, ppy);
    if (rc != RISK_OK) {
        check_untouched(out, n, "risk_vol_garch");
        return;
    }
    if (ordinary)
        check_vols(out, n, 1, "risk_vol_garch");
}

static void fz_garch_fit(fz_reader *r, const double *close, size_t n, int ordinary)
{
    double ret[MAX_N];
    if (n < 2)
        return;
    if (risk_vol_log_returns(ret, close, n) != RISK_OK)
        return;
    risk_vol_garch_options opt = RISK_VOL_GARCH_OPTIONS_INIT;
    opt.flags = fz_u8(r) & 1 ? RISK_VOL_GARCH_VARIANCE_TARGETING : 0u;
    opt.max_iterations = 1 + fz_u8(r) % 60;
    risk_vol_garch_result fit = RISK_VOL_GARCH_RESULT_INIT;
    int rc = risk_vol_garch_fit(&fit, ret + 1, n - 1, &opt);
    if (rc != RISK_OK || !ordinary)
        return;
    FZ_ASSERT(isfinite(fit.omega) && isfinite(fit.alpha) && isfinite(fit.beta),
              "garch_fit: omega %g alpha %g beta %g", fit.omega, fit.alpha, fit.beta);
#ifndef FUZZ_KNOWN_GARCH_CONTRACT
    double ll = NAN;
    int lrc = risk_vol_garch_loglik(&ll, ret + 1, n - 1, fit.omega, fit.alpha, fit.beta);
    FZ_ASSERT(lrc == RISK_OK && isfinite(ll), "garch_fit gave alpha %.17g beta %.17g (sum %.17g) that loglik refuses "
              "(%s)", fit.alpha, fit.beta, fit.alpha + fit.beta, risk_errname(lrc));
#endif
}

static void fz_range(fz_reader *r, const double *close, size_t n, int ordinary)
{
    /* bars from the series: open = close[i-1], high/low around them */
    double o[MAX_N], h[MAX_N], l[MAX_N], c[MAX_N], out[MAX_N];
    uint8_t spread = fz_u8(r);
    for (size_t i = 0; i < n; i++) {
        o[i] = i ? close[i - 1] : close[i];
        c[i] = close[i];
        double hi = fmax(o[i], c[i]), lo = fmin(o[i], c[i]);
        h[i] = ordinary ? hi * (1.0 + spread / 1024.0) : (fz_u8(r) < 200 ? hi : fz_edge(r));
        l[i] = ordinary ? lo / (1.0 + spread / 2048.0) : (fz_u8(r) < 200 ? lo : fz_edge(r));
    }
    size_t window = fz_u8(r) % 40;
    double ppy = periods(r);
    uint32_t method = 1 + fz_pick(r, 4);
    int rc;
    fill(out, n);
    switch (method) {
    case RISK_VOL_PARKINSON:
        rc = risk_vol_parkinson(out, h, l, n, window, ppy);
        break;
    case RISK_VOL_GARMAN_KLASS:
        rc = risk_vol_garman_klass(out, o, h, l, c, n, window, ppy);
        break;
    case RISK_VOL_ROGERS_SATCHELL:
        rc = risk_vol_rogers_satchell(out, o, h, l, c, n, window, ppy);
        break;
    default:
        rc = risk_vol_yang_zhang(out, o, h, l, c, n, window, ppy);
        break;
    }
    if (rc != RISK_OK) {
        check_untouched(out, n, "range estimator");
        return;
    }
    if (ordinary)
        check_vols(out, n, window, "range estimator");
    double ring[3 * 40];
    risk_vol_range_state st;
    if (risk_vol_range_init(&st, method, ring, 3 * 40, window) != RISK_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        if (risk_vol_range_update(&st, o[i], h[i], l[i], c[i]) != RISK_OK)
            return;
        double v = NAN;
        if (risk_vol_range_vol_annual(&st, ppy, &v) == RISK_OK && i + 1 >= window && ordinary)
            FZ_ASSERT(isfinite(v) && v >= 0.0, "range state row %zu: %g", i, v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size, 0};
    double close[MAX_N];
    while (fz_more(&r)) {
        int ordinary = 0;
        uint32_t what = fz_pick(&r, 5);
        size_t n = series(&r, close, &ordinary);
        g_ordinary = ordinary;
        switch (what) {
        case 0:
            fz_ewma(&r, close, n, ordinary);
            break;
        case 1:
            fz_realized(&r, close, n, ordinary);
            break;
        case 2:
            fz_garch(&r, close, n, ordinary);
            break;
        case 3:
            fz_garch_fit(&r, close, n, ordinary);
            break;
        default:
            fz_range(&r, close, n, ordinary);
            break;
        }
    }
    return 0;
}
