/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the volatility estimators (src/vol/). Formulas: docs/volatility.md,
 * section 1. */
#ifndef RISK_VOL_INTERNAL_H
#define RISK_VOL_INTERNAL_H

#include "core/internal.h"

static inline int risk__vol_lambda_ok(double lambda)
{
    return lambda > 0.0 && lambda < 1.0;
}

/* Prices, returns, variances and periods per year in the input domain (docs/errors.md): two
 * prices in [RISK_PRICE_MIN, RISK_PRICE_MAX] are at most ln(1e24) = 55.3 apart in log, so a
 * return is at most RISK_LOG_RETURN_MAX and a squared return at most RISK_VARIANCE_MAX; sums of
 * them and their square roots stay finite. (Closes of {100, 5e-324, 100} gave infinite returns.) */
static inline int risk__vol_price_ok(double price)
{
    return price >= RISK_PRICE_MIN && price <= RISK_PRICE_MAX;
}

static inline int risk__vol_return_ok(double r)
{
    return r >= -RISK_LOG_RETURN_MAX && r <= RISK_LOG_RETURN_MAX;
}

static inline int risk__vol_variance_ok(double v)
{
    return v >= 0.0 && v <= RISK_VARIANCE_MAX;
}

static inline int risk__vol_ppy_ok(double periods_per_year)
{
    return periods_per_year > 0.0 && periods_per_year <= RISK_PERIODS_PER_YEAR_MAX;
}

/* 1 when every one of the n returns is in the domain. */
static inline int risk__vol_returns_ok(const double *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!risk__vol_return_ok(r[i]))
            return 0;
    return 1;
}

/* Status of a streaming state pointer: RISK_ENULL, RISK_EVERSION or RISK_OK. */
#define RISK__VOL_STATE_CHECK(state, want) \
    ((state) == NULL ? RISK_ENULL : (state)->version != (want) ? RISK_EVERSION : RISK_OK)

/* Tail shared by the *_vol_annual readers: rc and variance come from the state's variance
 * reader; then sqrt(variance x periods_per_year). */
static inline int risk__vol_annualise(int rc, double variance, double periods_per_year, double *vol_out)
{
    if (rc != RISK_OK)
        return rc;
    if (!risk__vol_ppy_ok(periods_per_year))
        return RISK_EINVAL;
    *vol_out = sqrt(variance * periods_per_year);
    return RISK_OK;
}

/* 1 when every one of the n closes is in the price domain. */
int risk__vol_closes_ok(const double *close, size_t n);

/* One EWMA step from s2_(t-1) after `count` returns; with no return yet and no seed (s2 = 0)
 * the first squared return is the seed, which gives s2_1 = r_1^2. */
static inline double risk__vol_ewma_step(double lambda, double s2, uint64_t count, double r)
{
    double r2 = r * r;
    if (count == 0 && s2 == 0.0)
        return r2;
    return lambda * s2 + (1.0 - lambda) * r2;
}

/* ---- rolling windows (vol/roll.c)
 *
 * A rolling window keeps sums of "terms" over the last `window` rows. Each row stores a few
 * values (its stride); its terms derive from them by kind. A push adds the new row's terms and
 * drops the oldest row's; the sums are recomputed from the window, oldest first, each time the
 * count reaches a multiple of the window, which bounds rounding drift. The streaming states keep
 * the rows in the caller's ring; the array forms recompute them from the input, through the
 * same functions, so both give the same bits. */
#define RISK__ROLL_RETURNS 0u /* 1 value r: terms r, r^2 (realised variance) */
#define RISK__ROLL_MEAN 1u    /* 1 value v: term v (Parkinson, Garman-Klass, Rogers-Satchell) */
#define RISK__ROLL_YZ 2u      /* 3 values o, c, rs: terms o, o^2, c, c^2, rs (Yang-Zhang) */
#define RISK__ROLL_MAX_TERMS 5
#define RISK__ROLL_MAX_STRIDE 3

size_t risk__roll_stride(uint32_t kind);
/* Variance per period from the sums of a full window. */
double risk__roll_variance(uint32_t kind, const double *sum, size_t window);
/* Streaming push: ring holds window rows of the kind's stride; head and count advance. */
void risk__roll_push(uint32_t kind, double *ring, size_t window, size_t *head, uint64_t *count, double *sum,
                     const double *values);

/* Values of input row i (array forms). */
typedef void (*risk__roll_row_fn)(const void *ctx, size_t i, double *values);
/* Array form: rows first..n-1 are pushed in order; out[i] = sqrt(variance x ppy) once the
 * window is full, NaN before (and for rows below first). */
void risk__roll_batch(uint32_t kind, double *out, size_t n, size_t first, size_t window, double ppy,
                      risk__roll_row_fn row, const void *ctx);

/* ---- range estimators (vol/range.c): one bar's terms */
int risk__vol_bar_ok(double open, double high, double low, double close);

#endif /* RISK_VOL_INTERNAL_H */
