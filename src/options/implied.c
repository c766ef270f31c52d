/* SPDX-License-Identifier: Apache-2.0 */
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
 *     would leave it), until a step is below 1e-4 relative (order 4: the error after it is
 *     below an ulp); at most RISK__IV_MAX_STEPS steps; in the middle region, once the Newton
 *     step is below 2e-3 s, a last step of order 5 instead (the series reversion of b's Taylor
 *     polynomial with b''''), which saves the evaluation the order-4 test would need;
 *   - advance a block of 32 options one step at a time, so that the steps of independent
 *     options overlap in the processor.
 */
#include "risk/options.h"
#include "risk/status.h"

#include "options/options.h"

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
#define FIXED_POINT_STEPS 2
#define STOP_STEP 1e-4
#define STOP_STEP5 2e-3
#define LAST_TERM 1e-12

/* The solver's state for one option. The solver advances a block of options one step at a
 * time, so that the independent steps of different options overlap in the processor (each
 * step is a chain of dependent divisions and transcendental calls). */
typedef struct iv_state {
    double s, lo, hi;   /* iterate and bracket */
    double a, eh, beta; /* |x|, e^(a/2), target */
    double bmax_beta, inv_ln_beta;
    int region, done;
} iv_state;

/* Region, initial guess and bracket for b(a, s) = beta, 0 < beta < b_max = e^(-a/2). */
static void iv_start(iv_state *st, double beta, double a, double eh)
{
    const double bmax = 1.0 / eh;
    const double sc = sqrt(2.0 * a);
    /* b(s_c) = e^(-a/2)/2 - e^(a/2) N(-s_c) (h + t = 0 there) = (e^(-a/2) - e^(a/2) erfc(sqrt a))/2;
     * it only steers the guess. */
    const double bc = a > 0.0 ? 0.5 * (bmax - eh * erfc(sqrt(a))) : 0.0;
    const double vc = INV_SQRT_2PI * bmax; /* v(h, t) at s_c: h = -t, h^2 + t^2 = a */
    const double bmax_beta = bmax - beta;
    const double s_tangent = sc + (beta - bc) / vc;
    double s;
    int region;
    /* The lower region needs |h| >= 2 at the root, s <= a/2, where b(a, a/2) ~ v(-2, a/4) (a/2)
     * Y'(-2) < 0.0085 a: above 0.01 a the fixed point below is not tried. */
    if (beta < 0.5 * bc && beta < 0.01 * a) {
        region = LOWER;
        /* For t < |h| the series of black.c gives b ~ v(h, t) 2t Y'(h), so
         * a^2/(2 s^2) = -ln beta - s^2/8 + ln(s Y'(h) / sqrt(2 pi)), solved by fixed point
         * from s = a / sqrt(-2 ln beta), with Y'(h) ~ 1 / (h^2 + c|h| + 1) (within 10%):
         * ln b moves by h^2 per unit of ln s, so the guess of s is within ~0.1/h^2. No
         * solution, or one with |h| < 2: near the money, where the tangent is better. */
        double lb = log(beta);
        s = a / sqrt(-2.0 * lb);
        for (int k = 0; k < FIXED_POINT_STEPS; k++) {
            double ah = a / s;
            double yp = 1.0 / (ah * ah + 0.9 / (1.0 + 0.25 * ah) * ah + 1.0);
            double e = -lb - 0.125 * s * s + log(s * yp * INV_SQRT_2PI);
            if (!(e > 0.0)) {
                s = INFINITY;
                break;
            }
            s = a / sqrt(2.0 * e);
            if (a < 2.0 * s) /* |h| < 2: near the money */
                break;
        }
        if (!(a >= 2.0 * s)) {
            region = MIDDLE;
            s = s_tangent;
        }
    } else if (bmax_beta < 0.5 * (bmax - bc)) {
        region = UPPER;
        /* b_max - b ~ (e^(-a/2) + e^(a/2)) N(-s/2) for large s */
        double p = bmax_beta / (bmax + eh);
        s = p < 0.5 ? -2.0 * norm_inv_rough(p) : sc;
        if (s < sc)
            s = sc;
    } else {
        region = MIDDLE;
        s = s_tangent;
        /* Near s_c, b(s_c + d) = b_c + v_c (d - d^3/6 + c4 d^4/24 + ...): b'' = 0 there,
         * b'''/b' = -1 and b''''/b' = 12 a^2 / s_c^5. Two Newton steps on that quartic from
         * the tangent's d put the guess within ~1e-4 for |d| < s_c/2, so that one Householder
         * step is often the last. */
        double d0 = s_tangent - sc;
        if (fabs(d0) < 0.5 * sc && fabs(d0) < 1.0) {
            double c4 = 12.0 * a * a / (sc * sc * sc * sc * sc) / 24.0, d = d0;
            for (int k = 0; k < 2; k++) {
                double fd = d - d * d * d / 6.0 + c4 * d * d * d * d - d0;
                double dfd = 1.0 - 0.5 * d * d + 4.0 * c4 * d * d * d;
                d -= fd / dfd;
            }
            s = sc + d;
        }
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
    st->s = s;
    st->lo = lo;
    st->hi = hi;
    st->a = a;
    st->eh = eh;
    st->beta = beta;
    st->bmax_beta = bmax_beta;
    st->inv_ln_beta = region == LOWER ? 1.0 / log(beta) : 0.0;
    st->region = region;
    st->done = 0;
}

/* One Householder(3) step (or a bisection when the step would leave the bracket); sets done
 * when converged. */
static void iv_step(iv_state *st)
{
    const double a = st->a, eh = st->eh, beta = st->beta, bmax_beta = st->bmax_beta;
    const double inv_ln_beta = st->inv_ln_beta;
    const int region = st->region;
    double s = st->s, lo = st->lo, hi = st->hi;
    const double inv_s = 1.0 / s, h = -a * inv_s, t = 0.5 * s;
    const double h2s = h * h * inv_s; /* h^2 / s */
    const double b2 = h2s - 0.5 * t;
    const double b3 = b2 * b2 - 3.0 * h2s * inv_s - 0.25;
    double v, nu, h2, h3, g;
    if (region == UPPER) {
        double c = risk__black_complement_v(a, s, eh, &v); /* b_max - b(s) */
        double u = v / c;
        g = log(bmax_beta / c);
        nu = -g / u;
        h2 = u + b2;
        h3 = 2.0 * u * u + 3.0 * u * b2 + b3;
        if (c > bmax_beta)
            lo = s;
        else
            hi = s;
    } else {
        double b = risk__black_bv(a, s, eh, &v);
        if (b < beta)
            lo = s;
        else
            hi = s;
        g = b - beta;
        if (region == LOWER) {
            double L = log(b), iL = 1.0 / L, q = v / b;
            double r2 = q * (L + 2.0) * iL;
            nu = (iL - inv_ln_beta) * L * L * (b / v);
            h2 = b2 - r2;
            h3 = 2.0 * q * q * (L * L + 3.0 * L + 3.0) * iL * iL - 3.0 * r2 * b2 + b3;
        } else {
            nu = -g / v;
            h2 = b2;
            h3 = b3;
            if (fabs(nu) <= STOP_STEP5 * s) {
                /* Close to the root: the series reversion of the Taylor polynomial of b to
                 * fourth order in nu (an order-5 step), with b''''/b' = 3 B2 B3 - 2 B2^3 +
                 * 12 h^2/s^3, is the last step when its own last term is below 1e-12 s (the
                 * next one, O(nu^5), is then below an ulp; measured, docs/options.md 3). */
                const double b4 = 3.0 * b2 * b3 - 2.0 * b2 * b2 * b2 + 12.0 * h2s * inv_s * inv_s;
                const double c2 = -0.5 * b2, c3 = 0.5 * b2 * b2 - b3 / 6.0;
                const double c4 = -0.625 * b2 * b2 * b2 + (5.0 / 12.0) * b2 * b3 - b4 / 24.0;
                const double nu2 = nu * nu;
                if (fabs(c4) * nu2 * nu2 <= LAST_TERM * s) {
                    st->s = s + nu * (1.0 + nu * (c2 + nu * (c3 + nu * c4)));
                    st->done = 1;
                    return;
                }
            }
        }
    }
    if (g == 0.0 || nu == 0.0) {
        st->s = s;
        st->done = 1;
        return;
    }
    double ds = nu * (1.0 + 0.5 * h2 * nu) / (1.0 + nu * (h2 + h3 * nu / 6.0));
    /* Householder(3) converges with order 4: after a step of relative size e below 1e-4,
     * the error is about K e^4 with K below 0.2 (measured), under 1e-16 relative. */
    if (fabs(ds) <= STOP_STEP * s) {
        st->s = s + ds;
        st->done = 1;
        return;
    }
    double next = s + ds;
    if (!(next > lo && next < hi) || !isfinite(ds))
        next = isfinite(hi) ? 0.5 * (lo + hi) : 2.0 * s;
    st->s = next;
    st->lo = lo;
    st->hi = hi;
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
    enum { BLOCK = 32 };
    iv_state st[BLOCK];
    size_t idx[BLOCK];
    for (size_t start = 0; start < n; start += BLOCK) {
        const size_t end = n - start < BLOCK ? n : start + BLOCK;
        size_t m = 0;
        for (size_t i = start; i < end; i++) {
            const double f = in->forward[i], k = in->strike[i], T = in->years[i];
            const double r = in->rate != NULL ? in->rate[i] : 0.0;
            const double w = (double)in->type[i];
            const double disc = r != 0.0 ? exp(-r * T) : 1.0;
            const double value = coin ? price[i] * f : price[i];
            const double undisc = value / disc;
            const double x = risk__log_moneyness(f, k), a = fabs(x);
            const double intrinsic = w * x > 0.0 ? w * (f - k) : 0.0;
            const double otm = undisc - intrinsic;
            const double sf = sqrt(f), sk = sqrt(k);
            const double eh = f > k ? sf / sk : sk / sf; /* e^(a/2) */
            const double beta = otm / (sf * sk);
            int32_t status = RISK_OPTION_IV_OK;
            double vol = 0.0;
            if (otm < 0.0) {
                status = RISK_OPTION_IV_BELOW_INTRINSIC;
                vol = NAN;
            } else if (undisc >= (w > 0.0 ? f : k) || beta * eh >= 1.0) {
                status = RISK_OPTION_IV_ABOVE_MAXIMUM;
                vol = NAN;
            } else if (beta > 0.0) {
                iv_start(&st[m], beta, a, eh);
                idx[m++] = i;
            }
            vol_out[i] = vol;
            if (status_out)
                status_out[i] = status;
        }
        for (int step = 0; step < RISK__IV_MAX_STEPS; step++) {
            int active = 0;
            for (size_t j = 0; j < m; j++)
                if (!st[j].done) {
                    iv_step(&st[j]);
                    active = 1;
                }
            if (!active)
                break;
        }
        for (size_t j = 0; j < m; j++)
            vol_out[idx[j]] = st[j].s / sqrt(in->years[idx[j]]);
    }
    return RISK_OK;
}
