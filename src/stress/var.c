/* SPDX-License-Identifier: Apache-2.0 */
/* Value-at-Risk and Expected Shortfall over P&L and return vectors: historical simulation,
 * filtered historical simulation, delta-normal and delta-gamma (Cornish-Fisher), Monte Carlo
 * (xoshiro256**, polar normals, Marsaglia-Tsang gammas), the P&L merge of books, and the
 * Kupiec and Christoffersen back-tests. Formulas, derivations and sources: docs/var.md. */
#include "core/internal.h"

#include <stdlib.h>
#include <string.h>

#define INV_SQRT_2PI 0.39894228040143267794
#define HORIZON_MAX 1e6
/* A tail size n (1 - alpha) within this (relative) of an integer is that integer: 250 x
 * (1 - 0.99) is 2.5000000000000022 and 10 x (1 - 0.9) is 0.99999999999999978 in doubles. */
#define TAIL_SNAP 1e-9

/* ---------------------------------------------------------------- domain checks */

static int level_ok(double a)
{
    return a > 0.0 && a < 1.0; /* false for NaN */
}

static int pnl_ok(double x)
{
    return x >= -RISK_NOTIONAL_MAX && x <= RISK_NOTIONAL_MAX;
}

static int pnls_ok(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!pnl_ok(x[i]))
            return 0;
    return 1;
}

static int return_ok(double r)
{
    return r >= -RISK_LOG_RETURN_MAX && r <= RISK_LOG_RETURN_MAX;
}

static int factors_ok(size_t k)
{
    return k >= 1 && k <= RISK_VAR_FACTORS_MAX;
}

static int horizon_ok(double h)
{
    return h > 0.0 && h <= HORIZON_MAX;
}

/* A k x k matrix: every entry in [-bound, bound] and m[i][j] == m[j][i] exactly. */
static int symmetric_ok(const double *m, size_t k, double bound)
{
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j <= i; j++) {
            double a = m[i * k + j];
            if (!(a >= -bound && a <= bound) || a != m[j * k + i])
                return 0;
        }
    return 1;
}

/* A covariance: symmetric, bounded by RISK_VARIANCE_MAX, non-negative diagonal. */
static int cov_ok(const double *c, size_t k)
{
    if (!symmetric_ok(c, k, RISK_VARIANCE_MAX))
        return 0;
    for (size_t i = 0; i < k; i++)
        if (c[i * k + i] < 0.0)
            return 0;
    return 1;
}

static int result_version_ok(const risk_var_result *out)
{
    return out->version == RISK_VAR_RESULT_VERSION;
}

/* ---------------------------------------------------------------- normal quantile (AS 241) */

int risk_var_norm_quantile(double p, double *z_out)
{
    if (!z_out)
        return RISK_ENULL;
    if (!level_ok(p))
        return RISK_EINVAL;
    /* Wichura, M. J. (1988), Algorithm AS 241, Applied Statistics 37(3), 477-484: PPND16. */
    double q = p - 0.5, r, x;
    if (fabs(q) <= 0.425) {
        r = 0.180625 - q * q;
        double num = (((((((2.5090809287301226727e+3 * r + 3.3430575583588128105e+4) * r +
                           6.7265770927008700853e+4) * r + 4.5921953931549871457e+4) * r +
                         1.3731693765509461125e+4) * r + 1.9715909503065514427e+3) * r +
                       1.3314166789178437745e+2) * r + 3.3871328727963666080e+0) * q;
        double den = (((((((5.2264952788528545610e+3 * r + 2.8729085735721942674e+4) * r +
                           3.9307895800092710610e+4) * r + 2.1213794301586595867e+4) * r +
                         5.3941960214247511077e+3) * r + 6.8718700749205790830e+2) * r +
                       4.2313330701600911252e+1) * r + 1.0);
        *z_out = num / den;
        return RISK_OK;
    }
    r = q <= 0.0 ? p : 1.0 - p;
    r = sqrt(-log(r));
    if (r <= 5.0) {
        r -= 1.6;
        double num = (((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r +
                           2.41780725177450611770e-1) * r + 1.27045825245236838258e+0) * r +
                         3.64784832476320460504e+0) * r + 5.76949722146069140550e+0) * r +
                       4.63033784615654529590e+0) * r + 1.42343711074968357734e+0);
        double den = (((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r +
                           1.51986665636164571966e-2) * r + 1.48103976427480074590e-1) * r +
                         6.89767334985100004550e-1) * r + 1.67638483018380384940e+0) * r +
                       2.05319162663775882187e+0) * r + 1.0);
        x = num / den;
    } else {
        r -= 5.0;
        double num = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r +
                           1.24266094738807843860e-3) * r + 2.65321895265761230930e-2) * r +
                         2.96560571828504891230e-1) * r + 1.78482653991729133580e+0) * r +
                       5.46378491116411436990e+0) * r + 6.65790464350110377720e+0);
        double den = (((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r +
                           1.84631831751005468180e-5) * r + 7.86869131145613259100e-4) * r +
                         1.48753612908506148525e-2) * r + 1.36929880922735805310e-1) * r +
                       5.99832206555887937690e-1) * r + 1.0);
        x = num / den;
    }
    *z_out = q < 0.0 ? -x : x;
    return RISK_OK;
}

static double norm_quantile(double p) /* p already checked */
{
    double z = 0.0;
    if (risk_var_norm_quantile(p, &z) != RISK_OK)
        return NAN;
    return z;
}

static double norm_pdf(double z)
{
    return INV_SQRT_2PI * exp(-0.5 * z * z);
}

/* ---------------------------------------------------------------- historical simulation */

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Tail size m = n (1 - level), snapped to an integer within TAIL_SNAP. */
static double tail_size(size_t n, double level)
{
    double m = (double)n * (1.0 - level);
    double r = nearbyint(m);
    if (fabs(m - r) <= TAIL_SNAP * (m > 1.0 ? m : 1.0))
        m = r;
    return m;
}

/* VaR: L(floor(m) + 1) of the losses sorted in decreasing order. */
static double hs_var(const double *loss, size_t n, double level)
{
    double m = tail_size(n, level);
    size_t k = (size_t)floor(m);
    return loss[k < n ? k : n - 1];
}

/* ES: [L(1) + ... + L(k) + (m - k) L(k + 1)] / m, never below the VaR at the same level. */
static double hs_es(const double *loss, size_t n, double level)
{
    double m = tail_size(n, level);
    size_t k = (size_t)floor(m);
    if (k >= n)
        k = n - 1;
    double s = 0.0;
    for (size_t i = 0; i < k; i++)
        s += loss[i];
    s += (m - (double)k) * loss[k];
    double es = m > 0.0 ? s / m : loss[0];
    return es > loss[k] ? es : loss[k];
}

int risk_var_historical(risk_var_result *out, const double *pnl, size_t n, double var_level, double es_level,
                        double *work, size_t work_len)
{
    if (!out || !pnl || !work)
        return RISK_ENULL;
    if (!result_version_ok(out))
        return RISK_EVERSION;
    if (n == 0 || !level_ok(var_level) || !level_ok(es_level) || !pnls_ok(pnl, n))
        return RISK_EINVAL;
    if (work_len < RISK_VAR_HISTORICAL_WORK(n))
        return RISK_EBUFFER;
    for (size_t i = 0; i < n; i++)
        work[i] = 0.0 - pnl[i]; /* never -0 */
    qsort(work, n, sizeof *work, cmp_desc);
    /* mean and standard deviation in the sorted order: the same bits for any input order */
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += work[i];
    double mean_loss = s / (double)n, ss = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = work[i] - mean_loss;
        ss += d * d;
    }
    out->n = n;
    out->var_level = var_level;
    out->es_level = es_level;
    out->var = hs_var(work, n, var_level);
    out->es = hs_es(work, n, es_level);
    out->mean = 0.0 - mean_loss;
    out->stdev = sqrt(ss / (double)n);
    return RISK_OK;
}

int risk_var_pnl_merge(double *out, const double *const *pnl, size_t books, size_t n)
{
    if (n == 0)
        return books == 0 ? RISK_EINVAL : RISK_OK;
    if (!out || !pnl)
        return RISK_ENULL;
    if (books == 0)
        return RISK_EINVAL;
    for (size_t j = 0; j < books; j++)
        if (!pnl[j])
            return RISK_ENULL;
    for (size_t j = 0; j < books; j++)
        if (!pnls_ok(pnl[j], n))
            return RISK_EINVAL;
    /* validate every sum before the first write: out may be one of the inputs */
    for (size_t s = 0; s < n; s++) {
        double sum = 0.0;
        for (size_t j = 0; j < books; j++)
            sum += pnl[j][s];
        if (!pnl_ok(sum))
            return RISK_EINVAL;
    }
    for (size_t s = 0; s < n; s++) {
        double sum = 0.0;
        for (size_t j = 0; j < books; j++)
            sum += pnl[j][s];
        out[s] = sum;
    }
    return RISK_OK;
}

int risk_var_pnl_delta_gamma(double *out, const double *moves, size_t n, size_t k, const double *delta,
                             const double *gamma)
{
    if (!factors_ok(k))
        return RISK_EINVAL;
    if (n == 0)
        return RISK_OK;
    if (!out || !moves || !delta)
        return RISK_ENULL;
    for (size_t i = 0; i < k; i++)
        if (!pnl_ok(delta[i]))
            return RISK_EINVAL;
    if (gamma && !symmetric_ok(gamma, k, RISK_NOTIONAL_MAX))
        return RISK_EINVAL;
    for (size_t i = 0; i < n * k; i++)
        if (!return_ok(moves[i]))
            return RISK_EINVAL;
    for (size_t s = 0; s < n; s++) {
        const double *x = moves + s * k;
        double p = 0.0;
        for (size_t i = 0; i < k; i++)
            p += delta[i] * x[i];
        if (gamma) {
            double q = 0.0;
            for (size_t i = 0; i < k; i++)
                for (size_t j = 0; j < k; j++)
                    q += gamma[i * k + j] * x[i] * x[j];
            p += 0.5 * q;
        }
        out[s] = p;
    }
    return RISK_OK;
}

/* ---------------------------------------------------------------- filtered historical simulation */

/* The filter's variance forecasts, through the vol module's streaming states. */
typedef struct fhs_state {
    uint32_t model;
    risk_vol_ewma_state ewma;
    risk_vol_garch_state garch;
} fhs_state;

static int fhs_start(fhs_state *st, const risk_var_filter *f, double seed)
{
    st->model = f->model;
    if (f->model == RISK_VAR_FILTER_EWMA)
        return risk_vol_ewma_init(&st->ewma, f->lambda, seed);
    return risk_vol_garch_init(&st->garch, f->omega, f->alpha, f->beta, seed);
}

static double fhs_variance(const fhs_state *st)
{
    return st->model == RISK_VAR_FILTER_EWMA ? st->ewma.variance : st->garch.variance;
}

static int fhs_update(fhs_state *st, double r)
{
    return st->model == RISK_VAR_FILTER_EWMA ? risk_vol_ewma_update(&st->ewma, r)
                                             : risk_vol_garch_update(&st->garch, r);
}

int risk_var_fhs_returns(double *out, double *sigma_now_out, const double *returns, size_t n,
                         const risk_var_filter *filter)
{
    static const risk_var_filter defaults = RISK_VAR_FILTER_INIT;
    const risk_var_filter *f = filter ? filter : &defaults;
    if (!out || !returns)
        return RISK_ENULL;
    if (f->version != RISK_VAR_FILTER_VERSION)
        return RISK_EVERSION;
    if (n < 2 || (f->model != RISK_VAR_FILTER_EWMA && f->model != RISK_VAR_FILTER_GARCH) ||
        !(f->seed_variance >= 0.0 && f->seed_variance <= RISK_VARIANCE_MAX))
        return RISK_EINVAL;
    double ss = 0.0;
    for (size_t t = 0; t < n; t++) {
        if (!return_ok(returns[t]))
            return RISK_EINVAL;
        ss += returns[t] * returns[t];
    }
    double seed = f->seed_variance > 0.0 ? f->seed_variance : ss / (double)n;
    if (!(seed > 0.0))
        return RISK_EINVAL; /* all returns zero and no seed */
    fhs_state st;
    if (fhs_start(&st, f, seed) != RISK_OK)
        return RISK_EINVAL; /* lambda, omega, alpha, beta out of range */
    /* pass 1: every forecast positive (nothing written yet) */
    for (size_t t = 0; t < n; t++) {
        if (!(fhs_variance(&st) > 0.0) || fhs_update(&st, returns[t]) != RISK_OK)
            return RISK_EINVAL;
    }
    double now = fhs_variance(&st);
    if (!(now > 0.0) || !(now <= RISK_VARIANCE_MAX))
        return RISK_EINVAL;
    double sigma_now = sqrt(now);
    /* pass 2: the same recursion, writing */
    if (fhs_start(&st, f, seed) != RISK_OK)
        return RISK_EINTERNAL;
    for (size_t t = 0; t < n; t++) {
        out[t] = returns[t] * (sigma_now / sqrt(fhs_variance(&st)));
        if (fhs_update(&st, returns[t]) != RISK_OK)
            return RISK_EINTERNAL;
    }
    if (sigma_now_out)
        *sigma_now_out = sigma_now;
    return RISK_OK;
}

/* ---------------------------------------------------------------- parametric */

/* delta' S delta with S = cov (unscaled); the sum in row order. */
static double quad_form(const double *delta, const double *cov, size_t k, double *abs_out)
{
    double q = 0.0, a = 0.0;
    for (size_t i = 0; i < k; i++) {
        double row = 0.0, arow = 0.0;
        for (size_t j = 0; j < k; j++) {
            row += cov[i * k + j] * delta[j];
            arow += fabs(cov[i * k + j] * delta[j]);
        }
        q += delta[i] * row;
        a += fabs(delta[i]) * arow;
    }
    *abs_out = a;
    return q;
}

int risk_var_delta_normal(risk_var_result *out, const double *delta, const double *cov, size_t k, double var_level,
                          double es_level, double horizon_periods)
{
    if (!out || !delta || !cov)
        return RISK_ENULL;
    if (!result_version_ok(out))
        return RISK_EVERSION;
    if (!factors_ok(k) || !level_ok(var_level) || !level_ok(es_level) || !horizon_ok(horizon_periods) ||
        !cov_ok(cov, k))
        return RISK_EINVAL;
    for (size_t i = 0; i < k; i++)
        if (!pnl_ok(delta[i]))
            return RISK_EINVAL;
    double a = 0.0, q = quad_form(delta, cov, k, &a);
    if (q < 0.0) {
        if (q < -1e-12 * a)
            return RISK_EINVAL; /* cov is not positive semi-definite along delta */
        q = 0.0;
    }
    double sigma = sqrt(horizon_periods * q);
    double zb = norm_quantile(es_level);
    out->n = 0;
    out->var_level = var_level;
    out->es_level = es_level;
    out->var = norm_quantile(var_level) * sigma;
    out->es = sigma * norm_pdf(zb) / (1.0 - es_level);
    out->mean = 0.0;
    out->stdev = sigma;
    return RISK_OK;
}

/* Cornish-Fisher loss quantile factor w(z) for loss skewness s and excess kurtosis e. */
static double cf_w(double z, double s, double e)
{
    return z + (z * z - 1.0) * s / 6.0 + (z * z * z - 3.0 * z) * e / 24.0 - (2.0 * z * z * z - 5.0 * z) * s * s / 36.0;
}

/* Tail mean of w over (beta, 1): phi(z)/(1-beta) [1 + z s/6 + (z^2-1) e/24 - (2z^2-1) s^2/36]. */
static double cf_es_factor(double z, double beta, double s, double e)
{
    return norm_pdf(z) / (1.0 - beta) *
           (1.0 + z * s / 6.0 + (z * z - 1.0) * e / 24.0 - (2.0 * z * z - 1.0) * s * s / 36.0);
}

int risk_var_delta_gamma(risk_var_result *out, const double *delta, const double *gamma, const double *cov, size_t k,
                         double var_level, double es_level, double horizon_periods, double *work, size_t work_len)
{
    if (!out || !delta || !gamma || !cov || !work)
        return RISK_ENULL;
    if (!result_version_ok(out))
        return RISK_EVERSION;
    if (!factors_ok(k) || !level_ok(var_level) || !level_ok(es_level) || !horizon_ok(horizon_periods) ||
        !cov_ok(cov, k) || !symmetric_ok(gamma, k, RISK_NOTIONAL_MAX))
        return RISK_EINVAL;
    for (size_t i = 0; i < k; i++)
        if (!pnl_ok(delta[i]))
            return RISK_EINVAL;
    if (work_len < RISK_VAR_DELTA_GAMMA_WORK(k))
        return RISK_EBUFFER;
    const double h = horizon_periods;
    double *A = work, *A2 = work + k * k, *v = A2 + k * k, *u = v + k;
    /* A = Gamma S, S = h cov */
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            double s = 0.0;
            for (size_t p = 0; p < k; p++)
                s += gamma[i * k + p] * (h * cov[p * k + j]);
            A[i * k + j] = s;
        }
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            double s = 0.0;
            for (size_t p = 0; p < k; p++)
                s += A[i * k + p] * A[p * k + j];
            A2[i * k + j] = s;
        }
    /* v = S delta, u = Gamma v */
    for (size_t i = 0; i < k; i++) {
        double s = 0.0;
        for (size_t j = 0; j < k; j++)
            s += h * cov[i * k + j] * delta[j];
        v[i] = s;
    }
    for (size_t i = 0; i < k; i++) {
        double s = 0.0;
        for (size_t j = 0; j < k; j++)
            s += gamma[i * k + j] * v[j];
        u[i] = s;
    }
    double trA = 0.0, trA2 = 0.0, trA3 = 0.0, trA4 = 0.0, dSd = 0.0, vu = 0.0, uSu = 0.0;
    for (size_t i = 0; i < k; i++) {
        trA += A[i * k + i];
        dSd += delta[i] * v[i];
        vu += v[i] * u[i];
        double su = 0.0;
        for (size_t j = 0; j < k; j++) {
            trA2 += A[i * k + j] * A[j * k + i];
            trA3 += A2[i * k + j] * A[j * k + i];
            trA4 += A2[i * k + j] * A2[j * k + i];
            su += h * cov[i * k + j] * u[j];
        }
        uSu += u[i] * su;
    }
    double mean = 0.5 * trA;
    double var = dSd + 0.5 * trA2;
    double k3 = 3.0 * vu + trA3;
    double k4 = 12.0 * uSu + 3.0 * trA4;
    if (!(var > 0.0) || !isfinite(var) || !isfinite(k3) || !isfinite(k4))
        return RISK_EINVAL;
    double sd = sqrt(var);
    double skew_loss = -k3 / (var * sd), exkurt = k4 / (var * var);
    double za = norm_quantile(var_level), zb = norm_quantile(es_level);
    double q = -mean + sd * cf_w(za, skew_loss, exkurt);
    double es = -mean + sd * cf_es_factor(zb, es_level, skew_loss, exkurt);
    if (!isfinite(skew_loss) || !isfinite(exkurt) || !isfinite(q) || !isfinite(es))
        return RISK_EINVAL; /* moments beyond double range: exposures this large are out of the domain */
    out->n = 0;
    out->var_level = var_level;
    out->es_level = es_level;
    out->var = q;
    out->es = es;
    out->mean = mean;
    out->stdev = sd;
    return RISK_OK;
}

/* ---------------------------------------------------------------- Monte Carlo */

int risk_var_ewma_cov(double *out, const double *returns, size_t n, size_t k, double lambda)
{
    if (!out || !returns)
        return RISK_ENULL;
    if (n == 0 || !factors_ok(k) || !(lambda > 0.0 && lambda < 1.0))
        return RISK_EINVAL;
    for (size_t i = 0; i < n * k; i++)
        if (!return_ok(returns[i]))
            return RISK_EINVAL;
    /* S_1 = r_1 r_1'; S_t = lambda S_(t-1) + (1 - lambda) r_t r_t', as risk_vol_ewma's step */
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            out[i * k + j] = returns[i] * returns[j];
    for (size_t t = 1; t < n; t++) {
        const double *r = returns + t * k;
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < k; j++)
                out[i * k + j] = lambda * out[i * k + j] + (1.0 - lambda) * (r[i] * r[j]);
    }
    return RISK_OK;
}

/* xoshiro256** (Blackman and Vigna 2018), seeded by splitmix64 (Steele, Lea and Flood 2014). */
typedef struct rng {
    uint64_t s[4];
    double spare; /* the polar method's second variate */
    int has_spare;
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(rng *g)
{
    uint64_t *s = g->s;
    uint64_t result = rotl(s[1] * 5u, 7) * 9u;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void rng_seed(rng *g, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        g->s[i] = splitmix64(&x);
    g->spare = 0.0;
    g->has_spare = 0;
}

/* Uniform on [0, 1) with 53 random bits. */
static double uniform(rng *g)
{
    return (double)(xoshiro_next(g) >> 11) * 0x1.0p-53;
}

/* Marsaglia and Bray's polar method (1964): two normals per accepted pair. */
static double normal(rng *g)
{
    if (g->has_spare) {
        g->has_spare = 0;
        return g->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * uniform(g) - 1.0;
        v = 2.0 * uniform(g) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double m = sqrt(-2.0 * log(s) / s);
    g->spare = v * m;
    g->has_spare = 1;
    return u * m;
}

/* Marsaglia and Tsang (2000): Gamma(a, 1) for a >= 1. */
static double gamma_variate(rng *g, double a)
{
    double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = normal(g);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = uniform(g);
        if (u < 1.0 - 0.0331 * (x * x) * (x * x))
            return d * v;
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
            return d * v;
    }
}

/* Lower Cholesky factor of a positive semi-definite matrix into L (k x k, row-major, zeros
 * above the diagonal); a pivot within tol of 0 gives a zero column. RISK_EINVAL when not PSD. */
static int cholesky(double *L, const double *c, size_t k)
{
    double dmax = 0.0;
    for (size_t i = 0; i < k; i++)
        if (c[i * k + i] > dmax)
            dmax = c[i * k + i];
    const double tol = 1e-12 * dmax;
    memset(L, 0, k * k * sizeof *L);
    for (size_t j = 0; j < k; j++) {
        double d = c[j * k + j];
        for (size_t p = 0; p < j; p++)
            d -= L[j * k + p] * L[j * k + p];
        if (d < -tol)
            return RISK_EINVAL;
        if (d <= tol)
            continue; /* zero column */
        double ljj = sqrt(d);
        L[j * k + j] = ljj;
        for (size_t i = j + 1; i < k; i++) {
            double s = c[i * k + j];
            for (size_t p = 0; p < j; p++)
                s -= L[i * k + p] * L[j * k + p];
            L[i * k + j] = s / ljj;
        }
    }
    return RISK_OK;
}

int risk_var_mc_scenarios(double *out, const double *cov, size_t k, size_t n, const risk_var_mc_options *options,
                          double *work, size_t work_len)
{
    static const risk_var_mc_options defaults = RISK_VAR_MC_OPTIONS_INIT;
    const risk_var_mc_options *o = options ? options : &defaults;
    if (!cov || !work || (n > 0 && !out))
        return RISK_ENULL;
    if (o->version != RISK_VAR_MC_OPTIONS_VERSION)
        return RISK_EVERSION;
    if (!factors_ok(k) || !horizon_ok(o->horizon_periods) ||
        (o->distribution != RISK_VAR_MC_NORMAL && o->distribution != RISK_VAR_MC_STUDENT_T) ||
        (o->distribution == RISK_VAR_MC_STUDENT_T && !(o->dof > 2.0 && o->dof <= RISK_VAR_DOF_MAX)) ||
        !cov_ok(cov, k))
        return RISK_EINVAL;
    if (n > SIZE_MAX / k)
        return RISK_EINVAL;
    if (work_len < RISK_VAR_MC_WORK(k))
        return RISK_EBUFFER;
    int rc = cholesky(work, cov, k);
    if (rc != RISK_OK)
        return rc;
    const double *L = work;
    const double root_h = sqrt(o->horizon_periods);
    const int student = o->distribution == RISK_VAR_MC_STUDENT_T;
    rng g;
    rng_seed(&g, o->seed);
    for (size_t s = 0; s < n; s++) {
        double *x = out + s * k;
        for (size_t i = 0; i < k; i++)
            x[i] = normal(&g); /* z first, then C z in place from the last row up */
        double scale = root_h;
        if (student)
            scale *= sqrt((o->dof - 2.0) / (2.0 * gamma_variate(&g, 0.5 * o->dof)));
        for (size_t i = k; i-- > 0;) {
            double y = 0.0;
            for (size_t j = 0; j <= i; j++)
                y += L[i * k + j] * x[j];
            x[i] = scale * y;
        }
    }
    return RISK_OK;
}

/* ---------------------------------------------------------------- back-tests */

/* a ln b with 0 ln 0 = 0. */
static double xlogy(double a, double b)
{
    return a == 0.0 ? 0.0 : a * log(b);
}

/* a x ln_b with 0 x ln 0 = 0 (ln_b given: -inf allowed when a is 0). */
static double xlog(double a, double ln_b)
{
    return a == 0.0 ? 0.0 : a * ln_b;
}

int risk_var_backtest(risk_var_backtest_result *out, const double *pnl, const double *var, size_t n,
                      double var_level)
{
    if (!out || !pnl || !var)
        return RISK_ENULL;
    if (out->version != RISK_VAR_BACKTEST_RESULT_VERSION)
        return RISK_EVERSION;
    if (!level_ok(var_level) || !pnls_ok(pnl, n))
        return RISK_EINVAL;
    size_t days = 0, x = 0, t[2][2] = {{0, 0}, {0, 0}};
    int prev = -1;
    for (size_t i = 0; i < n; i++) {
        if (isnan(var[i]))
            continue;
        if (!pnl_ok(var[i]))
            return RISK_EINVAL;
        int b = -pnl[i] > var[i];
        days++;
        x += (size_t)b;
        if (prev >= 0)
            t[prev][b]++;
        prev = b;
    }
    if (days < 2)
        return RISK_EINVAL;
    const double dn = (double)days, dx = (double)x;
    /* ln(1 - p) = ln(alpha) and ln p = ln(1 - alpha) from alpha itself: 1 - (1 - alpha) rounds
     * to 0 for alpha below 2^-53, which made LR infinite (fuzz_var). For alpha >= 1/2, 1 - alpha
     * is exact (Sterbenz) and its log is taken as it is; below, log1p. */
    const double ln_1mp = log(var_level);
    const double ln_p = var_level >= 0.5 ? log(1.0 - var_level) : log1p(-var_level);
    double lr_pof = -2.0 * (xlog(dn - dx, ln_1mp) + xlog(dx, ln_p)) +
                    2.0 * (xlogy(dn - dx, 1.0 - dx / dn) + xlogy(dx, dx / dn));
    lr_pof = lr_pof > 0.0 ? lr_pof : 0.0;
    double n00 = (double)t[0][0], n01 = (double)t[0][1], n10 = (double)t[1][0], n11 = (double)t[1][1];
    double pi = (n01 + n11) / (n00 + n01 + n10 + n11);
    double pi01 = n00 + n01 > 0.0 ? n01 / (n00 + n01) : 0.0;
    double pi11 = n10 + n11 > 0.0 ? n11 / (n10 + n11) : 0.0;
    double lr_ind = -2.0 * (xlogy(n00 + n10, 1.0 - pi) + xlogy(n01 + n11, pi)) +
                    2.0 * (xlogy(n00, 1.0 - pi01) + xlogy(n01, pi01) + xlogy(n10, 1.0 - pi11) + xlogy(n11, pi11));
    lr_ind = lr_ind > 0.0 ? lr_ind : 0.0;
    double lr_cc = lr_pof + lr_ind;
    out->n = days;
    out->breaches = x;
    out->n00 = t[0][0];
    out->n01 = t[0][1];
    out->n10 = t[1][0];
    out->n11 = t[1][1];
    out->level = var_level;
    out->breach_rate = dx / dn;
    out->lr_pof = lr_pof;
    out->p_pof = erfc(sqrt(0.5 * lr_pof));
    out->lr_ind = lr_ind;
    out->p_ind = erfc(sqrt(0.5 * lr_ind));
    out->lr_cc = lr_cc;
    out->p_cc = exp(-0.5 * lr_cc);
    return RISK_OK;
}
