/* SPDX-License-Identifier: Apache-2.0 */
/* Tiered margin schedules (Binance leverage brackets, Bybit risk limits, Hyperliquid tiers).
 *
 * MM(N) = N x mmr_t - cum_t in the tier t holding N (caps inclusive, the last tier unbounded),
 * with cum_1 = 0 and cum_t = cum_(t-1) + cap_(t-1) x (mmr_t - mmr_(t-1)): the progressive
 * schedule sum_k mmr_k x |[cap_(k-1), cap_k] intersect [0, N]|, continuous and convex in N.
 * IM = N / min(user leverage, max leverage of the tier). See docs/formulas.md. */
#include "margin/schedule.h"

#include <string.h>

int risk__schedule_build(const risk_engine *e, char **err, risk__schedule *out, const risk_margin_tier *tiers,
                         size_t n)
{
    if (n == 0 || n > RISK__MAX_TIERS)
        return risk__fail(e, err, RISK_ETIERS, "a schedule needs 1..%d tiers, got %zu", RISK__MAX_TIERS, n);
    for (size_t t = 0; t < n; t++) {
        const risk_margin_tier *x = &tiers[t];
        if (t + 1 < n && (!isfinite(x->notional_cap) || x->notional_cap <= 0.0 ||
                          (t > 0 && !(x->notional_cap > tiers[t - 1].notional_cap))))
            return risk__fail(e, err, RISK_ETIERS, "tier %zu: notional_cap must be finite and above the previous", t);
        if (t + 1 < n && x->notional_cap > RISK_NOTIONAL_MAX)
            return risk__fail(e, err, RISK_ETIERS, "tier %zu: notional_cap %s above %s", t, RISK__NUM(x->notional_cap),
                              RISK__NUM(RISK_NOTIONAL_MAX));
        if (!isfinite(x->mmr) || x->mmr < 0.0 || x->mmr >= 1.0)
            return risk__fail(e, err, RISK_ETIERS, "tier %zu: mmr must be in [0, 1)", t);
        if (x->mmr != 0.0 && x->mmr < RISK_MMR_MIN)
            return risk__fail(e, err, RISK_ETIERS, "tier %zu: mmr %s is neither 0 nor at least %s", t, RISK__NUM(x->mmr),
                              RISK__NUM(RISK_MMR_MIN));
        if (t > 0 && x->mmr < tiers[t - 1].mmr)
            return risk__fail(e, err, RISK_ETIERS, "tier %zu: mmr falls with size", t);
        if (!isfinite(x->max_leverage) || x->max_leverage < 1.0)
            return risk__fail(e, err, RISK_ETIERS, "tier %zu: max_leverage must be finite and >= 1", t);
        if (x->max_leverage > RISK_LEVERAGE_MAX)
            return risk__fail(e, err, RISK_ETIERS, "tier %zu: max_leverage %s above %s", t, RISK__NUM(x->max_leverage),
                              RISK__NUM(RISK_LEVERAGE_MAX));
        if (t > 0 && x->max_leverage > tiers[t - 1].max_leverage)
            return risk__fail(e, err, RISK_ETIERS, "tier %zu: max_leverage rises with size", t);
        if (x->cum_given > 1)
            return risk__fail(e, err, RISK_ETIERS, "tier %zu: cum_given must be 0 or 1", t);
        if (x->cum_given && (!isfinite(x->cum) || x->cum < 0.0))
            return risk__fail(e, err, RISK_ETIERS, "tier %zu: a given cum must be finite and >= 0", t);
        if (x->cum_given && x->cum > RISK_NOTIONAL_MAX)
            return risk__fail(e, err, RISK_ETIERS, "tier %zu: cum %s above %s", t, RISK__NUM(x->cum),
                              RISK__NUM(RISK_NOTIONAL_MAX));
    }
    size_t n_caps = n <= RISK__SWEEP_CAPS ? RISK__SWEEP_CAPS : 0;
    risk_margin_tier *copy = risk__malloc(e, n * (sizeof *copy + sizeof(double)) + n_caps * sizeof(double));
    if (!copy)
        return risk__fail(e, err, RISK_ENOMEM, "out of memory for margin tiers");
    memcpy(copy, tiers, n * sizeof *copy);
    double *im_rate = (double *)(copy + n);
    double *caps = n_caps ? im_rate + n : NULL;
    for (size_t k = 0; k < n_caps; k++) /* caps of all but the last tier, then +inf */
        caps[k] = k + 1 < n ? copy[k].notional_cap : INFINITY;
    for (size_t t = 0; t < n; t++)
        im_rate[t] = 1.0 / copy[t].max_leverage;
    for (size_t t = 0; t < n; t++) {
        if (copy[t].cum_given)
            continue;
        copy[t].cum = t == 0 ? 0.0 : copy[t - 1].cum + copy[t - 1].notional_cap * (copy[t].mmr - copy[t - 1].mmr);
    }
    copy[n - 1].notional_cap = INFINITY;
    out->tiers = copy;
    out->im_rate = im_rate;
    out->caps = caps;
    out->n_tiers = (uint32_t)n;
    out->max_leverage = copy[0].max_leverage;
    return RISK_OK;
}

void risk__schedule_release(const risk_engine *e, risk__schedule *s)
{
    risk__free(e, s->tiers);
    s->tiers = NULL;
    s->n_tiers = 0;
}

/* ------------------------------------------------------------ public queries */

RISK_API int risk_engine_instrument_tiers(const risk_engine *engine, uint32_t instrument, risk_margin_tier *out,
                                          size_t capacity, size_t *count_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message buffer is not engine state */
    if (!count_out || (!out && capacity))
        return risk__fail(e, &e->errmsg, RISK_ENULL, "count_out is NULL, or out is NULL with capacity > 0");
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    const risk__schedule *s = &e->instruments[instrument].schedule;
    return risk__tiers_copy_out(e, s->tiers, s->n_tiers, out, capacity, count_out);
}

int risk__tiers_copy_out(risk_engine *e, const risk_margin_tier *tiers, uint32_t n, risk_margin_tier *out,
                         size_t capacity, size_t *count_out)
{
    *count_out = n;
    if (capacity < n)
        return risk__fail(e, &e->errmsg, RISK_EBUFFER, "the schedule has %u tiers, capacity %zu", n, capacity);
    memcpy(out, tiers, n * sizeof *out);
    return RISK_OK;
}

RISK_API int risk_engine_instrument_margin(const risk_engine *engine, uint32_t instrument, double notional,
                                           double leverage, double *im_out, double *mm_out, uint32_t *tier_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine;
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    if (!(notional >= 0.0 && notional <= RISK_NOTIONAL_MAX))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "notional %s outside [0, %s]", RISK__NUM(notional),
                          RISK__NUM(RISK_NOTIONAL_MAX));
    const risk__schedule *s = &e->instruments[instrument].schedule;
    if (!isfinite(leverage) || (leverage != 0.0 && leverage < 1.0))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "leverage must be 0 or finite and >= 1");
    /* (above RISK_LEVERAGE_MAX it is above every schedule's maximum: RISK_ELEVERAGE below) */
    if (leverage > s->max_leverage)
        return risk__fail(e, &e->errmsg, RISK_ELEVERAGE, "leverage %s above the schedule's maximum %s",
                          RISK__NUM(leverage), RISK__NUM(s->max_leverage));
    uint32_t t = risk__schedule_tier(s, notional);
    if (im_out)
        *im_out = notional * risk__schedule_im_rate(s, t, leverage > 0.0 ? 1.0 / leverage : 0.0);
    if (mm_out)
        *mm_out = notional * s->tiers[t].mmr - s->tiers[t].cum;
    if (tier_out)
        *tier_out = t;
    return RISK_OK;
}
