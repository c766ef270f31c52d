/* SPDX-License-Identifier: Apache-2.0 */
/* GARCH(1,1): streaming variance, forecasts, the in-sample path, the Gaussian log-likelihood
 * and its maximum (BFGS over an unconstrained reparameterisation, exact gradient), with plain
 * and sandwich standard errors from a numerical Hessian. Formulas and derivations:
 * docs/volatility.md, section 1. */
#include "vol/vol.h"

#define LOG_2PI 1.8378770664093454836

static int params_ok(double omega, double alpha, double beta)
{
    return omega > 0.0 && omega <= RISK_VARIANCE_MAX && alpha >= 0.0 && beta >= 0.0 && alpha + beta < 1.0;
}

/* ---------------------------------------------------------------- streaming */

int risk_vol_garch_init(risk_vol_garch_state *out, double omega, double alpha, double beta, double variance)
{
    if (!out)
        return RISK_ENULL;
    if (!params_ok(omega, alpha, beta) || !(variance > 0.0) || !risk__vol_variance_ok(variance))
        return RISK_EINVAL;
    out->version = RISK_VOL_GARCH_STATE_VERSION;
    out->reserved = 0;
    out->omega = omega;
    out->alpha = alpha;
    out->beta = beta;
    out->variance = variance;
    out->last_price = 0.0;
    out->count = 0;
    return RISK_OK;
}

static inline double garch_step(double omega, double alpha, double beta, double s2, double r)
{
    return omega + alpha * (r * r) + beta * s2;
}

int risk_vol_garch_update(risk_vol_garch_state *state, double log_return)
{
    int rc = RISK__VOL_STATE_CHECK(state, RISK_VOL_GARCH_STATE_VERSION);
    if (rc != RISK_OK)
        return rc;
    if (!risk__vol_return_ok(log_return))
        return RISK_EINVAL;
    state->variance = garch_step(state->omega, state->alpha, state->beta, state->variance, log_return);
    state->count++;
    return RISK_OK;
}

int risk_vol_garch_update_price(risk_vol_garch_state *state, double price)
{
    int rc = RISK__VOL_STATE_CHECK(state, RISK_VOL_GARCH_STATE_VERSION);
    if (rc == RISK_OK && !risk__vol_price_ok(price))
        rc = RISK_EINVAL;
    if (rc == RISK_OK && state->last_price > 0.0) /* the first price only primes */
        rc = risk_vol_garch_update(state, log(price / state->last_price));
    if (rc == RISK_OK)
        state->last_price = price;
    return rc;
}

int risk_vol_garch_variance(const risk_vol_garch_state *state, double *variance_out)
{
    int rc = variance_out ? RISK__VOL_STATE_CHECK(state, RISK_VOL_GARCH_STATE_VERSION) : RISK_ENULL;
    if (rc != RISK_OK)
        return rc;
    *variance_out = state->variance;
    return RISK_OK;
}

int risk_vol_garch_vol_annual(const risk_vol_garch_state *state, double periods_per_year, double *vol_out)
{
    double v = 0.0;
    if (!vol_out)
        return RISK_ENULL;
    int rc = risk_vol_garch_variance(state, &v);
    return risk__vol_annualise(rc, v, periods_per_year, vol_out);
}

int risk_vol_garch_forecast(double *variance_out, double *cumulative_out, const risk_vol_garch_state *state,
                            uint32_t horizon)
{
    int rc = variance_out || cumulative_out ? RISK__VOL_STATE_CHECK(state, RISK_VOL_GARCH_STATE_VERSION) : RISK_ENULL;
    if (rc != RISK_OK)
        return rc;
    if (horizon == 0)
        return RISK_EINVAL;
    double phi = state->alpha + state->beta;
    double vl = state->omega / (1.0 - phi);
    double gap = state->variance - vl;
    double h = (double)horizon;
    double phi_h1 = pow(phi, h - 1.0); /* phi^(h-1); pow(0, 0) = 1 */
    if (variance_out)
        *variance_out = vl + phi_h1 * gap;
    if (cumulative_out)
        *cumulative_out = h * vl + gap * ((1.0 - phi_h1 * phi) / (1.0 - phi));
    return RISK_OK;
}

/* ---------------------------------------------------------------- in-sample path */

int risk_vol_garch(double *out, const double *close, size_t n, double omega, double alpha, double beta,
                   double seed_variance, double periods_per_year)
{
    if (!out || !close)
        return RISK_ENULL;
    if (n < 2 || !params_ok(omega, alpha, beta) || !risk__vol_variance_ok(seed_variance) ||
        !risk__vol_ppy_ok(periods_per_year) || !risk__vol_closes_ok(close, n))
        return RISK_EINVAL;
    double s2 = seed_variance;
    if (s2 == 0.0) {
        for (size_t t = 1; t < n; t++) {
            double r = log(close[t] / close[t - 1]);
            s2 += r * r;
        }
        s2 /= (double)(n - 1);
    }
    if (!(s2 > 0.0)) /* constant prices and no seed: nothing to start from */
        s2 = omega / (1.0 - alpha - beta);
    out[0] = NAN;
    for (size_t t = 1; t < n; t++) {
        s2 = garch_step(omega, alpha, beta, s2, log(close[t] / close[t - 1]));
        out[t] = sqrt(s2 * periods_per_year);
    }
    return RISK_OK;
}

/* ---------------------------------------------------------------- likelihood */

/* Mean squared return (the start s2_1 and the variance-targeting V); 0 when a return is not
 * finite or all are zero. */
static double mean_square(const double *r, size_t n)
{
    double s = 0.0;
    for (size_t t = 0; t < n; t++) {
        if (!isfinite(r[t]))
            return 0.0;
        s += r[t] * r[t];
    }
    s /= (double)n;
    return isfinite(s) ? s : 0.0;
}

/* Log-likelihood L at (omega, alpha, beta) from s2_1 = v1. With grad: dL/d(omega, alpha, beta),
 * from the recursion d s2_(t+1) = (1, r_t^2, s2_t) + beta d s2_t, d s2_1 = 0. With opg: adds
 * the outer products of the per-return scores (row-major 3x3). */
static double loglik(const double *r, size_t n, double v1, double omega, double alpha, double beta, double *grad,
                     double *opg)
{
    double s2 = v1, ll = 0.0;
    double d0 = 0.0, d1 = 0.0, d2 = 0.0, g0 = 0.0, g1 = 0.0, g2 = 0.0;
    for (size_t t = 0; t < n; t++) {
        double r2 = r[t] * r[t];
        double z = r2 / s2;
        ll += log(s2) + z;
        if (grad) {
            double w = -0.5 * (1.0 - z) / s2; /* dL_t / d s2_t */
            g0 += w * d0;
            g1 += w * d1;
            g2 += w * d2;
            if (opg) {
                double sc[3] = {w * d0, w * d1, w * d2};
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++)
                        opg[3 * i + j] += sc[i] * sc[j];
            }
            d0 = 1.0 + beta * d0;
            d1 = r2 + beta * d1;
            d2 = s2 + beta * d2;
        }
        s2 = omega + alpha * r2 + beta * s2;
    }
    if (grad) {
        grad[0] = g0;
        grad[1] = g1;
        grad[2] = g2;
    }
    return -0.5 * ((double)n * LOG_2PI + ll);
}

int risk_vol_garch_loglik(double *loglik_out, const double *returns, size_t n, double omega, double alpha,
                          double beta)
{
    if (!loglik_out || !returns)
        return RISK_ENULL;
    if (n < 2 || !params_ok(omega, alpha, beta) || !risk__vol_returns_ok(returns, n))
        return RISK_EINVAL;
    double v = mean_square(returns, n);
    if (!(v > 0.0))
        return RISK_EINVAL;
    *loglik_out = loglik(returns, n, v, omega, alpha, beta, NULL, NULL);
    return RISK_OK;
}

/* ---------------------------------------------------------------- fit */

/* The problem: returns, V, and whether omega is targeted. Parameters are handled in two
 * coordinates: natural p = (omega / V, alpha, beta), or (alpha, beta) under targeting, where
 * the standard errors are computed; and unconstrained x = (u, a, b), or (a, b), where BFGS runs:
 * omega / V = e^u (targeting: 1 - alpha - beta), alpha = e^a / D, beta = e^b / D,
 * D = 1 + e^a + e^b. */
typedef struct fit_problem {
    const double *r;
    size_t n;
    double v;
    int target;
    int k; /* number of free parameters: 3, or 2 under targeting */
} fit_problem;

typedef struct garch_point {
    double omega, alpha, beta;
} garch_point;

/* L and its gradient in natural coordinates p (length k) at a point. */
static double eval_natural(const fit_problem *fp, const garch_point *q, double *gp, double *opg)
{
    double g[3];
    double ll = loglik(fp->r, fp->n, fp->v, q->omega, q->alpha, q->beta, gp ? g : NULL, opg);
    if (gp) {
        if (fp->target) { /* omega = V (1 - alpha - beta) */
            gp[0] = g[1] - fp->v * g[0];
            gp[1] = g[2] - fp->v * g[0];
        } else {
            gp[0] = fp->v * g[0];
            gp[1] = g[1];
            gp[2] = g[2];
        }
    }
    return ll;
}

static garch_point point_of_natural(const fit_problem *fp, const double *p)
{
    garch_point q;
    if (fp->target) {
        q.alpha = p[0];
        q.beta = p[1];
        q.omega = fp->v * (1.0 - p[0] - p[1]);
    } else {
        q.omega = fp->v * p[0];
        q.alpha = p[1];
        q.beta = p[2];
    }
    return q;
}

static garch_point point_of_x(const fit_problem *fp, const double *x)
{
    const double *ab = fp->target ? x : x + 1;
    double m = ab[0] > ab[1] ? ab[0] : ab[1];
    if (m < 0.0)
        m = 0.0;
    double e0 = exp(-m), ea = exp(ab[0] - m), eb = exp(ab[1] - m);
    double d = e0 + ea + eb;
    garch_point q;
    q.alpha = ea / d;
    q.beta = eb / d;
    /* Keep alpha + beta at most 1 - RISK_VOL_GARCH_PERSISTENCE_MARGIN: e0 / d underflows next to
     * ea / d + eb / d, which then rounds to 1.0 (eleven ordinary returns gave a fit that
     * risk_vol_garch_init() refused, and an infinite long-run variance). */
    double persistence = q.alpha + q.beta, most = 1.0 - RISK_VOL_GARCH_PERSISTENCE_MARGIN;
    if (persistence > most) {
        q.alpha *= most / persistence;
        q.beta *= most / persistence;
    }
    if (fp->target) {
        double slack = 1.0 - q.alpha - q.beta;
        q.omega = fp->v * (e0 / d > slack ? e0 / d : slack);
    } else { /* omega in [1e-12 V, RISK_VARIANCE_MAX]: > 0, and what risk_vol_garch_init() takes */
        double lo = -27.631021115928547, hi = log(RISK_VARIANCE_MAX / fp->v); /* ln(1e-12); >= 0 */
        double u = x[0] < lo ? lo : x[0] > hi ? hi : x[0];
        q.omega = fp->v * exp(u);
        if (q.omega > RISK_VARIANCE_MAX) /* exp and log round */
            q.omega = RISK_VARIANCE_MAX;
    }
    return q;
}

/* f(x) = -L / n and its gradient in x. Returns +inf where L is not finite. */
static double objective(const fit_problem *fp, const double *x, double *gx)
{
    garch_point q = point_of_x(fp, x);
    double gp[3];
    double ll = eval_natural(fp, &q, gp, NULL);
    double scale = -1.0 / (double)fp->n;
    const double *gab = fp->target ? gp : gp + 1;
    double a = q.alpha, b = q.beta;
    double ga = gab[0] * a * (1.0 - a) - gab[1] * a * b;
    double gb = gab[1] * b * (1.0 - b) - gab[0] * a * b;
    if (fp->target) {
        gx[0] = scale * ga;
        gx[1] = scale * gb;
    } else {
        gx[0] = scale * gp[0] * (q.omega / fp->v); /* d(omega/V)/du = omega/V */
        gx[1] = scale * ga;
        gx[2] = scale * gb;
    }
    return isfinite(ll) ? scale * ll : INFINITY;
}

static double max_abs(const double *v, int k)
{
    double m = 0.0;
    for (int i = 0; i < k; i++)
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

/* BFGS with a backtracking (Armijo) line search; x is updated in place. */
static void bfgs(const fit_problem *fp, double *x, uint32_t max_iter, double tol, uint32_t *iterations,
                 uint32_t *converged)
{
    int k = fp->k;
    double h[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}; /* inverse Hessian approximation */
    double g[3], gn[3], xn[3], p[3], s[3], y[3];
    double f = objective(fp, x, g);
    uint32_t it = 0;
    *converged = 0;
    for (; it < max_iter; it++) {
        if (max_abs(g, k) < tol) {
            *converged = 1;
            break;
        }
        double slope = 0.0;
        for (int i = 0; i < k; i++) {
            p[i] = 0.0;
            for (int j = 0; j < k; j++)
                p[i] -= h[3 * i + j] * g[j];
            slope += p[i] * g[i];
        }
        if (!(slope < 0.0)) { /* not a descent direction: restart from steepest descent */
            for (int i = 0; i < k; i++) {
                for (int j = 0; j < k; j++)
                    h[3 * i + j] = i == j;
                p[i] = -g[i];
            }
            slope = 0.0;
            for (int i = 0; i < k; i++)
                slope += p[i] * g[i];
        }
        double step = 1.0, fn = INFINITY;
        int accepted = 0;
        for (int ls = 0; ls < 50; ls++, step *= 0.5) {
            for (int i = 0; i < k; i++)
                xn[i] = x[i] + step * p[i];
            fn = objective(fp, xn, gn);
            if (fn <= f + 1e-4 * step * slope) {
                accepted = 1;
                break;
            }
        }
        if (!accepted) /* no decrease within rounding: as close as the arithmetic allows */
            break;
        double sy = 0.0, yy = 0.0;
        for (int i = 0; i < k; i++) {
            s[i] = xn[i] - x[i];
            y[i] = gn[i] - g[i];
            sy += s[i] * y[i];
            yy += y[i] * y[i];
            x[i] = xn[i];
            g[i] = gn[i];
        }
        f = fn;
        if (sy > 1e-300 * yy && sy > 0.0) {
            if (it == 0) /* scale the first guess (Nocedal and Wright, eq. 6.20) */
                for (int i = 0; i < k; i++)
                    h[4 * i] = sy / yy;
            double hy[3], yhy = 0.0;
            for (int i = 0; i < k; i++) {
                hy[i] = 0.0;
                for (int j = 0; j < k; j++)
                    hy[i] += h[3 * i + j] * y[j];
                yhy += y[i] * hy[i];
            }
            double rho = 1.0 / sy;
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++)
                    h[3 * i + j] += rho * ((1.0 + rho * yhy) * s[i] * s[j] - hy[i] * s[j] - s[i] * hy[j]);
        }
    }
    if (max_abs(g, k) < tol)
        *converged = 1;
    *iterations = it;
}

/* Inverse of a symmetric positive definite k x k matrix (k <= 3) by Cholesky; 0 if not SPD. */
static int spd_inverse(const double *a, int k, double *inv)
{
    double l[9] = {0};
    for (int j = 0; j < k; j++) {
        double d = a[3 * j + j];
        for (int m = 0; m < j; m++)
            d -= l[3 * j + m] * l[3 * j + m];
        if (!(d > 0.0))
            return 0;
        l[3 * j + j] = sqrt(d);
        for (int i = j + 1; i < k; i++) {
            double v = a[3 * i + j];
            for (int m = 0; m < j; m++)
                v -= l[3 * i + m] * l[3 * j + m];
            l[3 * i + j] = v / l[3 * j + j];
        }
    }
    /* inv = L^-T L^-1: solve column by column */
    for (int c = 0; c < k; c++) {
        double z[3];
        for (int i = 0; i < k; i++) { /* L z = e_c */
            double v = i == c;
            for (int m = 0; m < i; m++)
                v -= l[3 * i + m] * z[m];
            z[i] = v / l[3 * i + i];
        }
        for (int i = k - 1; i >= 0; i--) { /* L^T x = z */
            double v = z[i];
            for (int m = i + 1; m < k; m++)
                v -= l[3 * m + i] * inv[3 * m + c];
            inv[3 * i + c] = v / l[3 * i + i];
        }
    }
    return 1;
}

/* Standard errors in natural coordinates: -H by central differences of the exact gradient,
 * then (-H)^-1 (plain) and (-H)^-1 J (-H)^-1 (sandwich). se and se_robust get k entries,
 * NaN when -H is not positive definite. */
static void standard_errors(const fit_problem *fp, const double *p, double *se, double *se_robust)
{
    int k = fp->k;
    double neg_h[9] = {0}, cov[9], opg[9] = {0}, gp[3], gm[3], pp[3];
    garch_point q0 = point_of_natural(fp, p);
    double slack = 1.0 - q0.alpha - q0.beta;
    for (int j = 0; j < k; j++) {
        double step = 1e-5 * (fabs(p[j]) > 1e-3 ? fabs(p[j]) : 1e-3);
        if (step > 0.5 * p[j] && p[j] > 0.0) /* stay inside alpha, beta >= 0, omega > 0 */
            step = 0.5 * p[j];
        if (step > 0.25 * slack) /* and alpha + beta < 1 */
            step = 0.25 * slack;
        for (int i = 0; i < k; i++)
            pp[i] = p[i];
        pp[j] = p[j] + step;
        garch_point qp = point_of_natural(fp, pp);
        eval_natural(fp, &qp, gp, NULL);
        pp[j] = p[j] - step;
        garch_point qm = point_of_natural(fp, pp);
        eval_natural(fp, &qm, gm, NULL);
        for (int i = 0; i < k; i++)
            neg_h[3 * i + j] = -(gp[i] - gm[i]) / (2.0 * step);
    }
    for (int i = 0; i < k; i++)
        for (int j = 0; j < i; j++)
            neg_h[3 * i + j] = neg_h[3 * j + i] = 0.5 * (neg_h[3 * i + j] + neg_h[3 * j + i]);
    for (int i = 0; i < 3; i++)
        se[i] = se_robust[i] = NAN;
    if (!spd_inverse(neg_h, k, cov))
        return;
    /* scores in natural coordinates: the outer products in (omega, alpha, beta), mapped */
    double opg3[9] = {0}, g3[3];
    loglik(fp->r, fp->n, fp->v, q0.omega, q0.alpha, q0.beta, g3, opg3);
    double t[9] = {0}; /* d(omega, alpha, beta)/dp, rows: natural coordinates */
    if (fp->target) {
        t[0] = -fp->v, t[1] = 1.0;               /* alpha row */
        t[3] = -fp->v, t[5] = 1.0;               /* beta row */
    } else {
        t[0] = fp->v, t[4] = 1.0, t[8] = 1.0;
    }
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    opg[3 * i + j] += t[3 * i + a] * opg3[3 * a + b] * t[3 * j + b];
    for (int i = 0; i < k; i++) {
        se[i] = sqrt(cov[3 * i + i]);
        double v = 0.0;
        for (int a = 0; a < k; a++)
            for (int b = 0; b < k; b++)
                v += cov[3 * i + a] * opg[3 * a + b] * cov[3 * b + i];
        se_robust[i] = sqrt(v);
    }
    if (fp->target) { /* omega = V (1 - alpha - beta): delta method, V known */
        double var_sum = cov[0] + cov[4] + 2.0 * cov[1];
        double rv = 0.0;
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++) {
                double ca = cov[3 * 0 + a] + cov[3 * 1 + a], cb = cov[3 * 0 + b] + cov[3 * 1 + b];
                rv += ca * opg[3 * a + b] * cb;
            }
        se[2] = fp->v * sqrt(var_sum > 0.0 ? var_sum : 0.0);
        se_robust[2] = fp->v * sqrt(rv > 0.0 ? rv : 0.0);
    }
}

int risk_vol_garch_fit(risk_vol_garch_result *out, const double *returns, size_t n,
                       const risk_vol_garch_options *options)
{
    static const risk_vol_garch_options defaults = RISK_VOL_GARCH_OPTIONS_INIT;
    if (!out || !returns)
        return RISK_ENULL;
    if (out->version != RISK_VOL_GARCH_RESULT_VERSION)
        return RISK_EVERSION;
    if (!options)
        options = &defaults;
    if (options->version != RISK_VOL_GARCH_OPTIONS_VERSION)
        return RISK_EVERSION;
    if ((options->flags & ~RISK_VOL_GARCH_VARIANCE_TARGETING) || options->max_iterations < 1 ||
        options->max_iterations > 10000 || !(options->tolerance > 0.0) || !(options->tolerance <= 1e-2) || n < 10 ||
        !risk__vol_returns_ok(returns, n))
        return RISK_EINVAL;
    double v = mean_square(returns, n);
    if (!(v > 0.0))
        return RISK_EINVAL;

    fit_problem fp = {returns, n, v, (options->flags & RISK_VOL_GARCH_VARIANCE_TARGETING) != 0, 0};
    fp.k = fp.target ? 2 : 3;
    /* starting points (alpha, beta), omega = V (1 - alpha - beta): the best seeds the search */
    static const double starts[][2] = {{0.05, 0.90}, {0.10, 0.80}, {0.03, 0.95}, {0.20, 0.60}, {0.10, 0.40}};
    double x[3] = {0}, best = INFINITY, g[3];
    for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
        double slack = 1.0 - starts[s][0] - starts[s][1];
        double xs[3], *ab = fp.target ? xs : xs + 1;
        if (!fp.target)
            xs[0] = log(slack);
        ab[0] = log(starts[s][0] / slack);
        ab[1] = log(starts[s][1] / slack);
        double f = objective(&fp, xs, g);
        if (f < best) {
            best = f;
            for (int i = 0; i < 3; i++)
                x[i] = xs[i];
        }
    }
    uint32_t iterations = 0, converged = 0;
    bfgs(&fp, x, options->max_iterations, options->tolerance, &iterations, &converged);

    garch_point q = point_of_x(&fp, x);
    double p[3], se[3], ser[3];
    if (fp.target) {
        p[0] = q.alpha, p[1] = q.beta;
    } else {
        p[0] = q.omega / v, p[1] = q.alpha, p[2] = q.beta;
    }
    standard_errors(&fp, p, se, ser);

    double s2 = v;
    for (size_t t = 0; t < n; t++)
        s2 = garch_step(q.omega, q.alpha, q.beta, s2, returns[t]);

    out->flags = options->flags;
    out->converged = converged;
    out->iterations = iterations;
    out->n = n;
    out->omega = q.omega;
    out->alpha = q.alpha;
    out->beta = q.beta;
    if (fp.target) {
        out->se_alpha = se[0], out->se_beta = se[1], out->se_omega = se[2];
        out->se_robust_alpha = ser[0], out->se_robust_beta = ser[1], out->se_robust_omega = ser[2];
    } else {
        out->se_omega = v * se[0], out->se_alpha = se[1], out->se_beta = se[2];
        out->se_robust_omega = v * ser[0], out->se_robust_alpha = ser[1], out->se_robust_beta = ser[2];
    }
    out->log_likelihood = loglik(returns, n, v, q.omega, q.alpha, q.beta, NULL, NULL);
    out->long_run_variance = q.omega / (1.0 - q.alpha - q.beta);
    out->sample_variance = v;
    out->variance_next = s2;
    return RISK_OK;
}
