/* SPDX-License-Identifier: Apache-2.0 */
/* Log returns and close-to-close realised volatility, streaming and array forms.
 * Formulas: docs/volatility.md, section 1. */
#include "vol/vol.h"

int risk__vol_closes_ok(const double *close, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!risk__vol_price_ok(close[i]))
            return 0;
    return 1;
}

int risk_vol_log_returns(double *out, const double *close, size_t n)
{
    if (n == 0)
        return RISK_OK;
    if (!out || !close)
        return RISK_ENULL;
    if (!risk__vol_closes_ok(close, n))
        return RISK_EINVAL;
    for (size_t t = n - 1; t > 0; t--) /* backwards, so out may be close */
        out[t] = log(close[t] / close[t - 1]);
    out[0] = NAN;
    return RISK_OK;
}

/* Row i of the rolling window is the return r_(i) (rows start at 1). */
static void return_row(const void *ctx, size_t i, double *values)
{
    const double *close = ctx;
    values[0] = log(close[i] / close[i - 1]);
}

int risk_vol_realized(double *out, const double *close, size_t n, size_t window, double periods_per_year)
{
    if (!out || !close)
        return RISK_ENULL;
    if (window < 2 || window >= n || !risk__vol_ppy_ok(periods_per_year) || !risk__vol_closes_ok(close, n))
        return RISK_EINVAL;
    risk__roll_batch(RISK__ROLL_RETURNS, out, n, 1, window, periods_per_year, return_row, close);
    return RISK_OK;
}

int risk_vol_realized_init(risk_vol_realized_state *out, double *ring, size_t ring_capacity, size_t window)
{
    if (!out || !ring)
        return RISK_ENULL;
    if (window < 2)
        return RISK_EINVAL;
    if (ring_capacity < window)
        return RISK_EBUFFER;
    out->version = RISK_VOL_REALIZED_STATE_VERSION;
    out->reserved = 0;
    out->ring = ring;
    out->window = window;
    out->head = 0;
    out->count = 0;
    out->sum = 0.0;
    out->sum_sq = 0.0;
    out->last_price = 0.0;
    return RISK_OK;
}

static void realized_push(risk_vol_realized_state *s, double r)
{
    double sum[RISK__ROLL_MAX_TERMS] = {s->sum, s->sum_sq};
    risk__roll_push(RISK__ROLL_RETURNS, s->ring, s->window, &s->head, &s->count, sum, &r);
    s->sum = sum[0];
    s->sum_sq = sum[1];
}

int risk_vol_realized_update(risk_vol_realized_state *state, double log_return)
{
    int rc = RISK__VOL_STATE_CHECK(state, RISK_VOL_REALIZED_STATE_VERSION);
    if (rc != RISK_OK)
        return rc;
    if (!risk__vol_return_ok(log_return))
        return RISK_EINVAL;
    realized_push(state, log_return);
    return RISK_OK;
}

int risk_vol_realized_update_price(risk_vol_realized_state *state, double price)
{
    int rc = RISK__VOL_STATE_CHECK(state, RISK_VOL_REALIZED_STATE_VERSION);
    if (rc == RISK_OK && !risk__vol_price_ok(price))
        rc = RISK_EINVAL;
    if (rc == RISK_OK && state->last_price > 0.0) /* the first price only primes */
        rc = risk_vol_realized_update(state, log(price / state->last_price));
    if (rc == RISK_OK)
        state->last_price = price;
    return rc;
}

int risk_vol_realized_variance(const risk_vol_realized_state *state, double *variance_out)
{
    int rc = variance_out ? RISK__VOL_STATE_CHECK(state, RISK_VOL_REALIZED_STATE_VERSION) : RISK_ENULL;
    if (rc != RISK_OK)
        return rc;
    if (state->count < state->window)
        return RISK_ESTATE;
    double sum[RISK__ROLL_MAX_TERMS] = {state->sum, state->sum_sq};
    *variance_out = risk__roll_variance(RISK__ROLL_RETURNS, sum, state->window);
    return RISK_OK;
}

int risk_vol_realized_vol_annual(const risk_vol_realized_state *state, double periods_per_year, double *vol_out)
{
    double v = 0.0;
    if (!vol_out)
        return RISK_ENULL;
    int rc = risk_vol_realized_variance(state, &v);
    return risk__vol_annualise(rc, v, periods_per_year, vol_out);
}
