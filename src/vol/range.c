/* SPDX-License-Identifier: Apache-2.0 */
/* Range (OHLC) estimators: Parkinson, Garman-Klass, Rogers-Satchell, Yang-Zhang, streaming and
 * array forms. Formulas: docs/volatility.md, section 1. */
#include "vol/vol.h"

int risk__vol_bar_ok(double open, double high, double low, double close)
{
    return risk__vol_price_ok(open) && risk__vol_price_ok(high) && risk__vol_price_ok(low) &&
           risk__vol_price_ok(close) && low <= high && low <= open && open <= high && low <= close &&
           close <= high;
}

static double parkinson_term(double high, double low)
{
    double hl = log(high / low);
    return hl * hl / (4.0 * log(2.0));
}

static double garman_klass_term(double open, double high, double low, double close)
{
    double hl = log(high / low), co = log(close / open);
    return 0.5 * hl * hl - (2.0 * log(2.0) - 1.0) * co * co;
}

static double rogers_satchell_term(double open, double high, double low, double close)
{
    return log(high / close) * log(high / open) + log(low / close) * log(low / open);
}

/* One bar's stored values for a method (Yang-Zhang: overnight, open-to-close, RS). */
static void bar_values(uint32_t method, double prev_close, double open, double high, double low, double close,
                       double *v)
{
    switch (method) {
    case RISK_VOL_PARKINSON:
        v[0] = parkinson_term(high, low);
        break;
    case RISK_VOL_GARMAN_KLASS:
        v[0] = garman_klass_term(open, high, low, close);
        break;
    case RISK_VOL_ROGERS_SATCHELL:
        v[0] = rogers_satchell_term(open, high, low, close);
        break;
    default:
        v[0] = log(open / prev_close);
        v[1] = log(close / open);
        v[2] = rogers_satchell_term(open, high, low, close);
        break;
    }
}

static uint32_t method_kind(uint32_t method)
{
    return method == RISK_VOL_YANG_ZHANG ? RISK__ROLL_YZ : RISK__ROLL_MEAN;
}

/* ---------------------------------------------------------------- array forms */

typedef struct bars {
    uint32_t method;
    const double *open, *high, *low, *close;
} bars;

static void bar_row(const void *ctx, size_t i, double *values)
{
    const bars *b = ctx;
    if (b->method == RISK_VOL_PARKINSON)
        values[0] = parkinson_term(b->high[i], b->low[i]);
    else
        bar_values(b->method, i ? b->close[i - 1] : 0.0, b->open[i], b->high[i], b->low[i], b->close[i], values);
}

static int range_batch(uint32_t method, double *out, const double *open, const double *high, const double *low,
                       const double *close, size_t n, size_t window, double periods_per_year)
{
    int parkinson = method == RISK_VOL_PARKINSON;
    size_t first = method == RISK_VOL_YANG_ZHANG ? 1 : 0;
    if (!out || !high || !low || (!parkinson && (!open || !close)))
        return RISK_ENULL;
    if (window < 2 || window + first > n || !risk__vol_ppy_ok(periods_per_year))
        return RISK_EINVAL;
    for (size_t i = 0; i < n; i++) {
        int ok = parkinson ? risk__vol_price_ok(high[i]) && risk__vol_price_ok(low[i]) && low[i] <= high[i]
                           : risk__vol_bar_ok(open[i], high[i], low[i], close[i]);
        if (!ok)
            return RISK_EINVAL;
    }
    bars b = {method, open, high, low, close};
    risk__roll_batch(method_kind(method), out, n, first, window, periods_per_year, bar_row, &b);
    return RISK_OK;
}

int risk_vol_parkinson(double *out, const double *high, const double *low, size_t n, size_t window,
                       double periods_per_year)
{
    return range_batch(RISK_VOL_PARKINSON, out, NULL, high, low, NULL, n, window, periods_per_year);
}

int risk_vol_garman_klass(double *out, const double *open, const double *high, const double *low, const double *close,
                          size_t n, size_t window, double periods_per_year)
{
    return range_batch(RISK_VOL_GARMAN_KLASS, out, open, high, low, close, n, window, periods_per_year);
}

int risk_vol_rogers_satchell(double *out, const double *open, const double *high, const double *low,
                             const double *close, size_t n, size_t window, double periods_per_year)
{
    return range_batch(RISK_VOL_ROGERS_SATCHELL, out, open, high, low, close, n, window, periods_per_year);
}

int risk_vol_yang_zhang(double *out, const double *open, const double *high, const double *low, const double *close,
                        size_t n, size_t window, double periods_per_year)
{
    return range_batch(RISK_VOL_YANG_ZHANG, out, open, high, low, close, n, window, periods_per_year);
}

/* ---------------------------------------------------------------- streaming */

int risk_vol_range_init(risk_vol_range_state *out, uint32_t method, double *ring, size_t ring_capacity, size_t window)
{
    if (!out || !ring)
        return RISK_ENULL;
    if (method < RISK_VOL_PARKINSON || method > RISK_VOL_YANG_ZHANG || window < 2 ||
        window > SIZE_MAX / RISK__ROLL_MAX_STRIDE)
        return RISK_EINVAL;
    if (ring_capacity < RISK_VOL_RANGE_RING_LEN(window))
        return RISK_EBUFFER;
    out->version = RISK_VOL_RANGE_STATE_VERSION;
    out->method = method;
    out->ring = ring;
    out->window = window;
    out->head = 0;
    out->count = 0;
    for (size_t j = 0; j < RISK__ROLL_MAX_TERMS; j++)
        out->sum[j] = 0.0;
    out->last_close = 0.0;
    return RISK_OK;
}

int risk_vol_range_update(risk_vol_range_state *state, double open, double high, double low, double close)
{
    int rc = RISK__VOL_STATE_CHECK(state, RISK_VOL_RANGE_STATE_VERSION);
    if (rc != RISK_OK)
        return rc;
    if (!risk__vol_bar_ok(open, high, low, close))
        return RISK_EINVAL;
    if (state->method != RISK_VOL_YANG_ZHANG || state->last_close > 0.0) {
        double v[RISK__ROLL_MAX_STRIDE];
        bar_values(state->method, state->last_close, open, high, low, close, v);
        risk__roll_push(method_kind(state->method), state->ring, state->window, &state->head, &state->count,
                        state->sum, v);
    }
    state->last_close = close;
    return RISK_OK;
}

int risk_vol_range_variance(const risk_vol_range_state *state, double *variance_out)
{
    int rc = variance_out ? RISK__VOL_STATE_CHECK(state, RISK_VOL_RANGE_STATE_VERSION) : RISK_ENULL;
    if (rc != RISK_OK)
        return rc;
    if (state->count < state->window)
        return RISK_ESTATE;
    *variance_out = risk__roll_variance(method_kind(state->method), state->sum, state->window);
    return RISK_OK;
}

int risk_vol_range_vol_annual(const risk_vol_range_state *state, double periods_per_year, double *vol_out)
{
    double v = 0.0;
    if (!vol_out)
        return RISK_ENULL;
    int rc = risk_vol_range_variance(state, &v);
    return risk__vol_annualise(rc, v, periods_per_year, vol_out);
}
