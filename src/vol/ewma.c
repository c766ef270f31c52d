/* SPDX-License-Identifier: Apache-2.0 */
/* RiskMetrics EWMA variance: streaming state and array form. Formulas: docs/volatility.md,
 * section 1. */
#include "vol/vol.h"

int risk_vol_ewma_init(risk_vol_ewma_state *out, double lambda, double seed_variance)
{
    if (!out)
        return RISK_ENULL;
    if (!risk__vol_lambda_ok(lambda) || !risk__vol_variance_ok(seed_variance))
        return RISK_EINVAL;
    out->version = RISK_VOL_EWMA_STATE_VERSION;
    out->reserved = 0;
    out->lambda = lambda;
    out->variance = seed_variance;
    out->last_price = 0.0;
    out->count = 0;
    return RISK_OK;
}

int risk_vol_ewma_update(risk_vol_ewma_state *state, double log_return)
{
    int rc = RISK__VOL_STATE_CHECK(state, RISK_VOL_EWMA_STATE_VERSION);
    if (rc != RISK_OK)
        return rc;
    if (!risk__vol_return_ok(log_return))
        return RISK_EINVAL;
    state->variance = risk__vol_ewma_step(state->lambda, state->variance, state->count, log_return);
    state->count++;
    return RISK_OK;
}

int risk_vol_ewma_update_price(risk_vol_ewma_state *state, double price)
{
    int rc = RISK__VOL_STATE_CHECK(state, RISK_VOL_EWMA_STATE_VERSION);
    if (rc == RISK_OK && !risk__vol_price_ok(price))
        rc = RISK_EINVAL;
    if (rc == RISK_OK && state->last_price > 0.0) /* the first price only primes */
        rc = risk_vol_ewma_update(state, log(price / state->last_price));
    if (rc == RISK_OK)
        state->last_price = price;
    return rc;
}

int risk_vol_ewma_variance(const risk_vol_ewma_state *state, double *variance_out)
{
    int rc = variance_out ? RISK__VOL_STATE_CHECK(state, RISK_VOL_EWMA_STATE_VERSION) : RISK_ENULL;
    if (rc != RISK_OK)
        return rc;
    if (state->count == 0 && !(state->variance > 0.0))
        return RISK_ESTATE;
    *variance_out = state->variance;
    return RISK_OK;
}

int risk_vol_ewma_vol_annual(const risk_vol_ewma_state *state, double periods_per_year, double *vol_out)
{
    double v = 0.0;
    if (!vol_out)
        return RISK_ENULL;
    int rc = risk_vol_ewma_variance(state, &v);
    return risk__vol_annualise(rc, v, periods_per_year, vol_out);
}

int risk_vol_ewma(double *out, const double *close, size_t n, double lambda, double seed_variance,
                  double periods_per_year)
{
    if (n == 0)
        return RISK_OK;
    if (!out || !close)
        return RISK_ENULL;
    if (!risk__vol_lambda_ok(lambda) || !risk__vol_variance_ok(seed_variance) ||
        !risk__vol_ppy_ok(periods_per_year) || !risk__vol_closes_ok(close, n))
        return RISK_EINVAL;
    double s2 = seed_variance;
    out[0] = NAN;
    for (size_t t = 1; t < n; t++) {
        s2 = risk__vol_ewma_step(lambda, s2, t - 1, log(close[t] / close[t - 1]));
        out[t] = sqrt(s2 * periods_per_year);
    }
    return RISK_OK;
}
