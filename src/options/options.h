/* SPDX-License-Identifier: Apache-2.0 */
/* options.h (internal): the normalised Black function shared by pricing and implied volatility.
 *
 * Notation (docs/options.md, section 2): x = ln(F/K), s = sigma sqrt(T), a = |x|,
 * h = -a/s <= 0, t = s/2. The out-of-the-money normalised Black price is
 *
 *     b(a, s) = e^(-a/2) N(h + t) - e^(a/2) N(h - t) = v(h, t) [Y(h + t) - Y(h - t)],
 *     v(h, t) = exp(-(h^2 + t^2)/2) / sqrt(2 pi)   (= db/ds, the normalised vega),
 *     Y(z)    = N(z) / phi(z)                      (a Mills ratio).
 *
 * The undiscounted price of an out-of-the-money option is sqrt(F K) b(a, s).
 */
#ifndef RISK_SRC_OPTIONS_H
#define RISK_SRC_OPTIONS_H

#include <stddef.h>

/* The normalised out-of-the-money Black value and what the Greeks need. */
typedef struct risk__black_norm {
    double b;    /* b(a, s) >= 0 */
    double v;    /* v(h, t) = db/ds >= 0 */
    double n_hi; /* N(h + t) */
    double n_lo; /* N(h - t) */
} risk__black_norm;

/* b, v, N(h+t), N(h-t) for a = |x| >= 0 and s > 0 (finite); eh = e^(a/2) (the larger of
 * sqrt(F)/sqrt(K) and its inverse: cheaper than exp). */
void risk__black_normalised(risk__black_norm *out, double a, double s, double eh);

/* b(a, s), and v(h, t) into *v_out. */
double risk__black_bv(double a, double s, double eh, double *v_out);

/* b_max - b(a, s) = e^(-a/2) N(-h-t) + e^(a/2) N(h-t) (no cancellation), and v into *v_out. */
double risk__black_complement_v(double a, double s, double eh, double *v_out);

/* N(z), accurate in both tails (erfc-based). */
double risk__norm_cdf(double z);

/* x = ln(F/K), computed as log1p((F-K)/K) near the money (F - K exact there). */
double risk__log_moneyness(double f, double k);

/* Validates a batch (and its vol array when need_vol): RISK_OK or the status to return. */
struct risk_option_batch;
int risk__option_check_batch(const struct risk_option_batch *in, size_t n, int need_vol);

#endif /* RISK_SRC_OPTIONS_H */
