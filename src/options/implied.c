/* implied.c: implied Black-76 volatility to full double precision.
 *
 * Method (docs/options.md, section 3), after P. Jaeckel, "Let's Be Rational", Wilmott
 * (January 2015) 40-53, reimplemented from the paper's mathematics:
 *   - reduce to the normalised out-of-the-money price beta = (P/D - intrinsic) / sqrt(F K) of
 *     a = |ln(F/K)|; beta lies in (0, b_max), b_max = e^(-a/2);
 *   - split the range of beta at the inflection point s_c = sqrt(2a) of b(s) (where the vega
 *     is largest): below it ("lower") the objective is 1/ln b(s) - 1/ln beta, near it
 *     ("middle") b(s) - beta, above it ("upper") ln((b_max - beta) / (b_max - b(s))), each
 *     nearly linear in s where it is used;
 *   - start from a closed-form guess in each region (an asymptotic expansion of b for small s,
 *     the tangent at s_c, the normal tail for large s) and take Householder steps of third
 *     order with the exact derivatives db/ds = v, b''/b' = h^2/s - s/4,
 *     b'''/b' = (b''/b')^2 - 3 h^2/s^2 - 1/4, kept inside a bracket (bisection when a step
 *     would leave it), until the step is below 4 ulp; at most RISK__IV_MAX_STEPS steps.
 */
#include "risk/options.h"
#include "risk/status.h"

#include "options/options.h"

#include <float.h>
#include <math.h>

#define INV_SQRT_2PI 0.39894228040143267793994605993438186847585863116493
#define RISK__IV_MAX_STEPS 12

/* Rough inverse of N in the lower tail (A&S 26.2.23, |error| < 4.5e-4), p in (0, 0.5]. */
static double norm_inv_rough(double p)
{
    double q = sqrt(-2.0 * log(p));
    return -(q - (2.515517 + q * (0.802853 + q * 0.010328)) / (1.0 + q * (1.432788 + q * (0.189269 + q * 0.001308))));
}

enum { LOWER, MIDDLE, UPPER };
#ifndef LOWER_FRACTION
#define LOWER_FRACTION 0.5
#endif
#ifndef LOWER_H
#define LOWER_H 2.0
#endif
#ifndef UPPER_FRACTION
#define UPPER_FRACTION 0.5
#endif

/* Normalised volatility s with b(a, s) = beta, 0 < beta < b_max = e^(-a/2). */
static double implied_s(double beta, double a, int *steps_out)
{
    const double bmax = exp(-0.5 * a);
    const double sc = sqrt(2.0 * a);
    const double bc = a > 0.0 ? risk__black_b(a, sc) : 0.0;
    const double vc = INV_SQRT_2PI * bmax; /* v(h, t) at s_c: h = -t, h^2 + t^2 = a */
    const double bmax_beta = bmax - beta;
    double s;
    int region;
    double s_tangent = sc + (beta - bc) / vc;
    if (beta < LOWER_FRACTION * bc) {
        region = LOWER;
        /* For t < |h| the series of black.c gives b ~ v(h, t) 2t Y'(h), so
         * a^2/(2 s^2) = -ln beta - s^2/8 + ln(s Y'(h) / sqrt(2 pi)), solved by fixed point
         * from s = a / sqrt(-2 ln beta), with Y'(h) ~ 1 / (h^2 + c|h| + 1) (c fitted at
         * |h| = 1, 2, 4 to within 10%): ln b moves by h^2 per unit of ln s, so the guess of s
         * is within ~0.1/h^2. */
        double lb = log(beta);
        s = a / sqrt(-2.0 * lb);
        for (int k = 0; k < 4; k++) {
            double ah = a / s;
            double yp = 1.0 / (ah * ah + 0.9 / (1.0 + 0.25 * ah) * ah + 1.0);
            double e = -lb - 0.125 * s * s + log(s * yp * INV_SQRT_2PI);
            if (!(e > 0.0)) { /* no root at |h| > 0: near the money */
                s = INFINITY;
                break;
            }
            s = a / sqrt(2.0 * e);
        }
        if (!(a >= LOWER_H * s)) {
            region = MIDDLE;
            s = s_tangent;
        }
    } else if (bmax_beta < UPPER_FRACTION * (bmax - bc)) {
        region = UPPER;
        double p = bmax_beta / (bmax + 1.0 / bmax);
        s = p < 0.5 ? -2.0 * norm_inv_rough(p) : sc;
        if (s < sc)
            s = sc;
    } else {
        region = MIDDLE;
        s = s_tangent;
        if (s < 0.6 * sc)
            s = 0.6 * sc;
    }
    double lo = 0.0, hi = INFINITY;
    if (a > 0.0) {
        if (beta < bc)
            hi = sc;
        else
            lo = sc;
    }
    if (!(s > lo && s < hi))
        s = isfinite(hi) ? 0.5 * (lo + hi) : (lo > 0.0 ? 2.0 * lo : 1.0);
    const double inv_ln_beta = region == LOWER ? 1.0 / log(beta) : 0.0;
    int step = 0;
    for (; step < RISK__IV_MAX_STEPS; step++) {
        double h = -a / s, t = 0.5 * s;
        double v = INV_SQRT_2PI * exp(-0.5 * (h * h + t * t));
        double b2 = h * h / s - 0.5 * t;
        double b3 = b2 * b2 - 3.0 * h * h / (s * s) - 0.25;
        double nu, h2, h3, b;
        if (region == UPPER) {
            double c = risk__black_b_complement(a, s); /* b_max - b(s) */
            b = bmax - c;
            double u = v / c;
            nu = -log(bmax_beta / c) / u;
            h2 = u + b2;
            h3 = 2.0 * u * u + 3.0 * u * b2 + b3;
            if (c > bmax_beta)
                lo = s;
            else
                hi = s;
        } else {
            b = risk__black_b(a, s);
            if (b < beta)
                lo = s;
            else
                hi = s;
            if (region == LOWER) {
                double L = log(b), q = v / b;
                nu = (1.0 / L - inv_ln_beta) * L * L / q;
                h2 = -q * (L + 2.0) / L + b2;
                h3 = 2.0 * q * q * (L * L + 3.0 * L + 3.0) / (L * L) - 3.0 * q * (L + 2.0) / L * b2 + b3;
            } else {
                nu = (beta - b) / v;
                h2 = b2;
                h3 = b3;
            }
        }
        if (b == beta || nu == 0.0) {
            step++;
            break;
        }
        double ds = nu * (1.0 + 0.5 * h2 * nu) / (1.0 + nu * (h2 + h3 * nu / 6.0));
        /* Householder(3) converges with order 4: after a step of relative size 1e-9 the
         * error is far below an ulp (and b itself is only accurate to ~1e-15). */
        if (fabs(ds) <= 1e-9 * s) {
            s += ds;
            step++;
            break;
        }
        double next = s + ds;
        if (!(next > lo && next < hi) || !isfinite(ds))
            next = isfinite(hi) ? 0.5 * (lo + hi) : 2.0 * s;
        s = next;
    }
    if (steps_out)
        *steps_out = step;
    return s;
}

int risk_option_implied_vol(double *vol_out, int32_t *status_out, const risk_option_batch *in, const double *price,
                            size_t n)
{
    int rc = risk__option_check_batch(in, n, 0);
    if (rc != RISK_OK)
        return rc;
    if (n == 0)
        return RISK_OK;
    if (vol_out == NULL || price == NULL)
        return RISK_ENULL;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(price[i]) || price[i] < 0.0)
            return RISK_EINVAL;
    const int coin = in->premium == RISK_OPTION_PREMIUM_COIN;
    for (size_t i = 0; i < n; i++) {
        const double f = in->forward[i], k = in->strike[i], T = in->years[i];
        const double r = in->rate != NULL ? in->rate[i] : 0.0;
        const double w = (double)in->type[i];
        const double disc = r != 0.0 ? exp(-r * T) : 1.0;
        const double value = coin ? price[i] * f : price[i];
        const double undisc = value / disc;
        const double x = risk__log_moneyness(f, k), a = fabs(x);
        const double intrinsic = w * x > 0.0 ? w * (f - k) : 0.0;
        const double otm = undisc - intrinsic;
        const double root_fk = sqrt(f) * sqrt(k);
        const double beta = otm / root_fk;
        int32_t st = RISK_OPTION_IV_OK;
        double vol;
        if (otm < 0.0) {
            st = RISK_OPTION_IV_BELOW_INTRINSIC;
            vol = NAN;
        } else if (undisc >= (w > 0.0 ? f : k) || beta >= exp(-0.5 * a)) {
            st = RISK_OPTION_IV_ABOVE_MAXIMUM;
            vol = NAN;
        } else if (beta == 0.0) {
            vol = 0.0;
        } else {
            vol = implied_s(beta, a, NULL) / sqrt(T);
        }
        vol_out[i] = vol;
        if (status_out)
            status_out[i] = st;
    }
    return RISK_OK;
}
