/* SPDX-License-Identifier: Apache-2.0 */
/* black.c: Black-76 prices and Greeks of European options on a forward, spot and coin premium,
 * and forwards from an index or a future. Formulas and the accuracy argument: docs/options.md,
 * sections 1 and 2.
 *
 * The normal CDF is N(z) = erfc(-z/sqrt 2)/2 with the C library's erfc (glibc: within a few ulp
 * over the whole range, relative accuracy in the lower tail), and the scaled Mills ratio
 * Y(z) = N(z)/phi(z) = sqrt(pi/2) erfcx(-z/sqrt 2) with erfcx(w) from Cody's rational Chebyshev
 * approximations for w >= 0.46875 (no exponential) and erfc(w) exp(w^2) below, the square split
 * exactly (fma) so that exp sees the exact w^2.
 *
 * The out-of-the-money normalised price b = v [Y(h+t) - Y(h-t)] is evaluated in one of three
 * regions, so that no difference loses more than about 20 x eps (h = -|x|/s, t = s/2):
 *   I   t < (|h| + 1.25) / 20: the difference is a Taylor series in t about h with positive
 *       terms, Y(h+t) - Y(h-t) = 2 sum_(k odd) Y^(k)(h) t^k / k!, the derivatives from
 *       Y' = 1 + z Y, Y^(k+1) = z Y^(k) + k Y^(k-1): forwards for h >= -6, and for h < -6 as
 *       Y^(k) = Y^(k-1) k / K_(k+1) with the continued fraction K_n = |h| + n / K_(n+1)
 *       (Laplace's fraction for the Mills ratio), which has no cancellation;
 *   II  h + t > 0: b = e^(-a/2) N(h+t) - e^(a/2) N(h-t) directly (the first term dominates);
 *   III otherwise: b = v [Y(h+t) - Y(h-t)] with both arguments <= 0 (no underflow, no overflow).
 */
#include "risk/options.h"
#include "risk/status.h"

#include "options/options.h"

#include <math.h>

#define SQRT1_2 0.70710678118654752440084436210484903928483593768847
#define INV_SQRT_2PI 0.39894228040143267793994605993438186847585863116493
#define SQRT_PI_2 1.25331413731550025120788264240552262650349337030496
#define INV_SQRT_PI 0.56418958354775628694807945156077258584405062932900

/* ---------------------------------------------------------------- normal functions */

/* exp(a^2) with a^2 = hi + lo split exactly. */
static double exp_square(double a)
{
    double hi = a * a;
    double lo = fma(a, a, -hi);
    return exp(hi) * (1.0 + lo);
}

/* W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23
 * (1969) 631-637, as tabulated by Kennedy and Gentle, Statistical Computing (1980) 90-92:
 * erfcx(w) = P2(w)/Q2(w) on [0.46875, 4] and (1/sqrt(pi) + z P3(z)/Q3(z)) / w, z = 1/w^2, above 4.
 * Measured against libquadmath: 7.2e-16 relative at most over [0.46875, 50]. */
static const double CODY_P2[8] = {3.004592610201616005e2, 4.519189537118729422e2, 3.393208167343436870e2,
                                  1.529892850469404039e2, 4.316222722205673530e1, 7.211758250883093659,
                                  5.641955174789739711e-1, -1.368648573827167067e-7};
static const double CODY_Q2[8] = {3.004592609569832933e2, 7.909509253278980272e2, 9.313540948506096211e2,
                                  6.389802644656311665e2, 2.775854447439876434e2, 7.700015293522947295e1,
                                  1.278272731962942351e1, 1.0};
static const double CODY_P3[5] = {-2.99610707703542174e-3, -4.94730910623250734e-2, -2.26956593539686930e-1,
                                  -2.78661308609647788e-1, -2.23192459734184686e-2};
static const double CODY_Q3[5] = {1.06209230528467918e-2, 1.91308926107829841e-1, 1.05167510706793207,
                                  1.98733201817135256, 1.0};

/* erfcx(w) = exp(w^2) erfc(w) for w >= 0. */
static double erfcx_pos(double w)
{
    if (w < 0.46875)
        return erfc(w) * exp_square(w);
    if (w <= 4.0) {
        double p = CODY_P2[7], q = CODY_Q2[7];
        for (int j = 6; j >= 0; j--) {
            p = p * w + CODY_P2[j];
            q = q * w + CODY_Q2[j];
        }
        return p / q;
    }
    double z = 1.0 / (w * w), p = CODY_P3[4], q = CODY_Q3[4];
    for (int j = 3; j >= 0; j--) {
        p = p * z + CODY_P3[j];
        q = q * z + CODY_Q3[j];
    }
    return (INV_SQRT_PI + z * p / q) / w;
}

/* Y(z) = N(z) / phi(z) for z <= 0. */
static double mills_neg(double z)
{
    return SQRT_PI_2 * erfcx_pos(-z * SQRT1_2);
}

double risk__norm_cdf(double z)
{
    return 0.5 * erfc(-z * SQRT1_2);
}

double risk__log_moneyness(double f, double k)
{
    if (f >= 0.5 * k && f <= 2.0 * k)
        return log1p((f - k) / k); /* f - k is exact here (Sterbenz) */
    return log(f / k);
}

/* Y(h+t) - Y(h-t) by its Taylor series in t about h (region I), h <= 0. */
static double mills_difference_series(double h, double t)
{
    enum { KMAX = 13 };
    double y[KMAX + 1];
    y[0] = mills_neg(h);
    if (h >= -6.0) {
        y[1] = 1.0 + h * y[0];
        for (int k = 1; k < KMAX; k++)
            y[k + 1] = h * y[k] + (double)k * y[k - 1];
    } else {
        /* K_n = |h| + n / K_(n+1) from n = N down, started at the fixed point of
         * K = |h| + N / K; ratio y_k / y_(k-1) = k / K_(k+1). A start error shrinks by
         * n / K_n^2 ~ n / h^2 per step: N = 15 + 900 / h^2 terms reach full precision at
         * h = -6 (tested against __float128 for -40 < h < -6). */
        double ah = -h;
        int top = KMAX + 2 + (int)(900.0 / (ah * ah));
        double kn = 0.5 * (ah + sqrt(ah * ah + 4.0 * (double)(top + 1)));
        double kk[KMAX + 2];
        for (int n = top; n >= 2; n--) {
            kn = ah + (double)n / kn;
            if (n <= KMAX + 1)
                kk[n] = kn;
        }
        for (int k = 1; k <= KMAX; k++)
            y[k] = y[k - 1] * (double)k / kk[k + 1];
    }
    double t2 = t * t, sum = 0.0, term = t;
    /* sum over odd k of y_k t^k / k!, smallest terms first */
    double terms[(KMAX + 1) / 2];
    for (int j = 0, k = 1; k <= KMAX; k += 2, j++) {
        terms[j] = y[k] * term;
        term *= t2 / (double)((k + 1) * (k + 2));
    }
    for (int j = (KMAX + 1) / 2 - 1; j >= 0; j--)
        sum += terms[j];
    return 2.0 * sum;
}

static int series_region(double h, double t)
{
    return t * 20.0 < 1.25 - h;
}

void risk__black_normalised(risk__black_norm *out, double a, double s, double eh)
{
    const double h = -a / s, t = 0.5 * s;
    const double v = INV_SQRT_2PI * exp(-0.5 * (h * h + t * t));
    out->v = v;
    if (series_region(h, t)) {
        out->b = v * mills_difference_series(h, t);
        out->n_hi = risk__norm_cdf(h + t);
        out->n_lo = risk__norm_cdf(h - t);
    } else if (h + t > 0.0) {
        double hi = risk__norm_cdf(h + t), lo = risk__norm_cdf(h - t);
        out->b = hi / eh - eh * lo;
        out->n_hi = hi;
        out->n_lo = lo;
    } else {
        double yp = mills_neg(h + t), ym = mills_neg(h - t);
        out->b = v * (yp - ym);
        out->n_hi = yp * v * eh;
        out->n_lo = ym * v / eh;
    }
}

double risk__black_bv(double a, double s, double eh, double *v_out)
{
    const double h = -a / s, t = 0.5 * s;
    const double v = INV_SQRT_2PI * exp(-0.5 * (h * h + t * t));
    *v_out = v;
    if (series_region(h, t))
        return v * mills_difference_series(h, t);
    if (h + t > 0.0)
        return risk__norm_cdf(h + t) / eh - eh * risk__norm_cdf(h - t);
    return v * (mills_neg(h + t) - mills_neg(h - t));
}

double risk__black_complement_v(double a, double s, double eh, double *v_out)
{
    const double h = -a / s, t = 0.5 * s;
    const double v = INV_SQRT_2PI * exp(-0.5 * (h * h + t * t));
    *v_out = v;
    if (h + t >= 0.0)
        return v * (mills_neg(-h - t) + mills_neg(h - t));
    return risk__norm_cdf(-h - t) / eh + eh * risk__norm_cdf(h - t);
}

/* ---------------------------------------------------------------- validation */

static int positive_finite(double x)
{
    return isfinite(x) && x > 0.0;
}

static int check_batch(const risk_option_batch *in, size_t n, int need_vol)
{
    if (in == NULL)
        return RISK_ENULL;
    if (in->version != RISK_OPTION_BATCH_VERSION)
        return RISK_EVERSION;
    if (in->premium != RISK_OPTION_PREMIUM_SPOT && in->premium != RISK_OPTION_PREMIUM_COIN)
        return RISK_EINVAL;
    if (n == 0)
        return RISK_OK;
    if (in->type == NULL || in->forward == NULL || in->strike == NULL || in->years == NULL ||
        (need_vol && in->vol == NULL))
        return RISK_ENULL;
    for (size_t i = 0; i < n; i++) {
        if (in->type[i] != RISK_OPTION_CALL && in->type[i] != RISK_OPTION_PUT)
            return RISK_EINVAL;
        if (!positive_finite(in->forward[i]) || !positive_finite(in->strike[i]) || !positive_finite(in->years[i]))
            return RISK_EINVAL;
        if (need_vol && !positive_finite(in->vol[i]))
            return RISK_EINVAL;
        if (in->rate != NULL && !isfinite(in->rate[i]))
            return RISK_EINVAL;
    }
    return RISK_OK;
}

int risk__option_check_batch(const risk_option_batch *in, size_t n, int need_vol)
{
    return check_batch(in, n, need_vol);
}

/* ---------------------------------------------------------------- pricing */

int risk_option_black(const risk_option_greeks *out, const risk_option_batch *in, size_t n)
{
    if (out == NULL)
        return RISK_ENULL;
    if (out->version != RISK_OPTION_GREEKS_VERSION)
        return RISK_EVERSION;
    int rc = check_batch(in, n, 1);
    if (rc != RISK_OK)
        return rc;
    const int coin = in->premium == RISK_OPTION_PREMIUM_COIN;
    for (size_t i = 0; i < n; i++) {
        const double f = in->forward[i], k = in->strike[i], T = in->years[i], sigma = in->vol[i];
        const double r = in->rate != NULL ? in->rate[i] : 0.0;
        const double w = (double)in->type[i];
        const double sqrt_t = sqrt(T), s = sigma * sqrt_t;
        const double x = risk__log_moneyness(f, k), a = fabs(x);
        const double disc = r != 0.0 ? exp(-r * T) : 1.0;
        risk__black_norm nb;
        const double sf = sqrt(f), sk = sqrt(k), root_fk = sf * sk;
        const double eh = f > k ? sf / sk : sk / sf; /* e^(a/2) */
        risk__black_normalised(&nb, a, s, eh);
        /* In the money (w x > 0): intrinsic + the out-of-the-money option of the other type. */
        const int itm = w * x > 0.0;
        double undisc = root_fk * nb.b;
        if (itm)
            undisc += w * (f - k);
        const double value = disc * undisc;
        /* N(w d1) and N(w d2): see docs/options.md 2.3. */
        double n_f, n_k;
        if (x <= 0.0 ? w > 0.0 : w < 0.0) { /* out of the money, or at the money */
            n_f = w > 0.0 ? nb.n_hi : nb.n_lo;
            n_k = w > 0.0 ? nb.n_lo : nb.n_hi;
        } else {
            n_f = w > 0.0 ? 1.0 - nb.n_lo : 1.0 - nb.n_hi;
            n_k = w > 0.0 ? 1.0 - nb.n_hi : 1.0 - nb.n_lo;
        }
        const double xs = x / s, d1 = xs + 0.5 * s, d2 = xs - 0.5 * s;
        const double fphi = root_fk * nb.v;          /* F phi(d1) = K phi(d2) */
        const double vega = disc * fphi * sqrt_t;
        const double decay = disc * fphi * sigma / (2.0 * sqrt_t);
        if (!coin) {
            if (out->price)
                out->price[i] = value;
            if (out->delta)
                out->delta[i] = w * disc * n_f;
            if (out->gamma)
                out->gamma[i] = disc * fphi / (f * f * s);
            if (out->vega)
                out->vega[i] = vega;
            if (out->theta)
                out->theta[i] = r * value - decay;
            if (out->rho)
                out->rho[i] = -T * value;
            if (out->vanna)
                out->vanna[i] = -disc * fphi * d2 / (f * sigma);
            if (out->volga)
                out->volga[i] = vega * d1 * d2 / sigma;
        } else {
            const double c = value / f;
            if (out->price)
                out->price[i] = c;
            if (out->delta)
                out->delta[i] = w * disc * (k / f) * n_k;
            if (out->gamma)
                out->gamma[i] = disc * (fphi / s - w * k * n_k) / (f * f);
            if (out->vega)
                out->vega[i] = vega / f;
            if (out->theta)
                out->theta[i] = (r * value - decay) / f;
            if (out->rho)
                out->rho[i] = -T * c;
            if (out->vanna)
                out->vanna[i] = -disc * fphi * d1 / (f * sigma);
            if (out->volga)
                out->volga[i] = vega * d1 * d2 / (sigma * f);
        }
    }
    return RISK_OK;
}

/* ---------------------------------------------------------------- forwards */

int risk_option_forward(double *out, const double *index, const double *rate, const double *years, size_t n)
{
    if (n == 0)
        return RISK_OK;
    if (out == NULL || index == NULL || rate == NULL || years == NULL)
        return RISK_ENULL;
    for (size_t i = 0; i < n; i++) {
        if (!positive_finite(index[i]) || !isfinite(rate[i]) || !isfinite(years[i]) || years[i] < 0.0)
            return RISK_EINVAL;
        if (!isfinite(index[i] * exp(rate[i] * years[i])))
            return RISK_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = index[i] * exp(rate[i] * years[i]);
    return RISK_OK;
}

static double forward_from_future(double index, double mark, double tf, double t)
{
    if (t == tf)
        return mark;
    return index * exp(log(mark / index) * (t / tf));
}

int risk_option_forward_from_future(double *out, const double *index, const double *future_mark,
                                    const double *future_years, const double *years, size_t n)
{
    if (n == 0)
        return RISK_OK;
    if (out == NULL || index == NULL || future_mark == NULL || future_years == NULL || years == NULL)
        return RISK_ENULL;
    for (size_t i = 0; i < n; i++) {
        if (!positive_finite(index[i]) || !positive_finite(future_mark[i]) || !positive_finite(future_years[i]) ||
            !isfinite(years[i]) || years[i] < 0.0)
            return RISK_EINVAL;
        if (!positive_finite(forward_from_future(index[i], future_mark[i], future_years[i], years[i])))
            return RISK_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = forward_from_future(index[i], future_mark[i], future_years[i], years[i]);
    return RISK_OK;
}
