/* SPDX-License-Identifier: Apache-2.0 */
/* Size-scaled collateral and liability weights (docs/formulas.md 2.4) and the perpetuals' size
 * premium on margin rates (4.6; the rate itself is risk__size_premium_rate in margin/schedule.h).
 * Drift v2 (programs/drift/src/math/margin.rs): a balance of S units counts as collateral at
 * min(w0, 1.1 / (1 + imf sqrt(S))) and as a debt at max(w0, 0.8 w0 + imf sqrt(S)); its initial
 * asset weight scales by start / D once the venue's deposits D pass a start value
 * (state/spot_market.rs). Mango v4 (state/bank.rs) scales the initial weights the same way on
 * deposits, and the initial liability weight by B / start on borrows. Drift computes in
 * integers (weights to 1e-4, truncated); this is the real-number formula those integers
 * approximate. */
#include "core/internal.h"

#include <math.h>

void risk__size_weights(const risk__asset *a, double x, double *init, double *maint)
{
    risk__size_weights_at(a, x, a->price, init, maint);
}

void risk__size_weights_at(const risk__asset *a, double x, double price, double *init, double *maint)
{
    double size = fabs(x), root = a->imf > 0.0 ? sqrt(size) : 0.0;
    if (x > 0.0) {
        double deposits = a->venue_deposits * price;
        if (a->deposit_scale_start > 0.0 && deposits > a->deposit_scale_start)
            *init *= a->deposit_scale_start / deposits;
        if (a->imf > 0.0) {
            double discount = 1.1 / (1.0 + a->imf * root);
            *init = fmin(*init, discount);
            *maint = fmin(*maint, discount);
        }
    } else {
        if (a->imf > 0.0) {
            *init = fmax(*init, 0.8 * *init + a->imf * root);
            *maint = fmax(*maint, 0.8 * *maint + a->imf * root);
        }
        double borrows = a->venue_borrows * price;
        if (a->borrow_scale_start > 0.0 && borrows > a->borrow_scale_start)
            *init *= fmin(borrows / a->borrow_scale_start, RISK_BORROW_SCALE_MAX);
    }
}

static int size_check(risk_engine *e, const char *sym, const char *what, double v, double hi)
{
    return risk__check_range(e, &e->errmsg, sym, what, v, 0.0, hi);
}

RISK_API int risk_engine_set_asset_size_scaling(risk_engine *engine, uint32_t asset, const risk_size_scaling *scaling)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    risk_size_scaling off = RISK_SIZE_SCALING_INIT;
    const risk_size_scaling *s = scaling ? scaling : &off;
    if (s->version != RISK_SIZE_SCALING_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "size scaling version %u is not %d", s->version,
                          RISK_SIZE_SCALING_VERSION);
    if (asset >= e->n_assets)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    const char *sym = e->assets[asset].symbol;
    int rc;
    if ((rc = size_check(e, sym, "imf", s->imf, RISK_IMF_MAX)) ||
        (rc = size_check(e, sym, "deposit_scale_start", s->deposit_scale_start, RISK_NOTIONAL_MAX)) ||
        (rc = size_check(e, sym, "borrow_scale_start", s->borrow_scale_start, RISK_NOTIONAL_MAX)) ||
        (rc = size_check(e, sym, "venue_deposits", s->venue_deposits, RISK_NOTIONAL_MAX)) ||
        (rc = size_check(e, sym, "venue_borrows", s->venue_borrows, RISK_NOTIONAL_MAX)))
        return rc;
    if (s->reserved != 0)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "reserved must be 0");
    risk__asset *a = &e->assets[asset];
    a->imf = s->imf;
    a->deposit_scale_start = s->deposit_scale_start;
    a->borrow_scale_start = s->borrow_scale_start;
    a->venue_deposits = s->venue_deposits;
    a->venue_borrows = s->venue_borrows;
    a->size_scaled = s->imf > 0.0 || s->deposit_scale_start > 0.0 || s->borrow_scale_start > 0.0;
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_asset_size_scaling(const risk_engine *engine, uint32_t asset, risk_size_scaling *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message slot only */
    if (!out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "out is NULL");
    if (out->version != RISK_SIZE_SCALING_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "size scaling version %u is not %d", out->version,
                          RISK_SIZE_SCALING_VERSION);
    if (asset >= e->n_assets)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    const risk__asset *a = &e->assets[asset];
    risk_size_scaling s = {RISK_SIZE_SCALING_VERSION, 0u, a->imf, a->deposit_scale_start, a->borrow_scale_start,
                           a->venue_deposits, a->venue_borrows};
    *out = s;
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_asset_weights(const risk_engine *engine, uint32_t asset, double balance, double *init_out,
                                       double *maint_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message slot only */
    if (asset >= e->n_assets)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    const risk__asset *a = &e->assets[asset];
    if (!isfinite(balance) || balance == 0.0)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: balance must be finite and not 0", a->symbol);
    int rc = risk__check_amount(e, &e->errmsg, a, "balance", balance);
    if (rc)
        return rc;
    double w_init, w_maint;
    risk__asset_weights(a, balance, &w_init, &w_maint);
    if (init_out)
        *init_out = w_init;
    if (maint_out)
        *maint_out = w_maint;
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_set_instrument_size_premium(risk_engine *engine, uint32_t instrument,
                                                     const risk_size_premium *premium)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    risk_size_premium off = RISK_SIZE_PREMIUM_INIT;
    const risk_size_premium *p = premium ? premium : &off;
    if (p->version != RISK_SIZE_PREMIUM_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "size premium version %u is not %d", p->version,
                          RISK_SIZE_PREMIUM_VERSION);
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    risk__instrument *in = &e->instruments[instrument];
    if (in->kind == RISK_KIND_OPTION)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: a size premium applies to perpetuals and futures, not options",
                          in->symbol);
    int rc;
    if ((rc = risk__check_range(e, &e->errmsg, in->symbol, "imf", p->imf, 0.0, RISK_IMF_MAX)) ||
        (rc = risk__check_range(e, &e->errmsg, in->symbol, "base_share", p->base_share, 0.0, 1.0)))
        return rc;
    if (p->reserved != 0)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "reserved must be 0");
    in->imf = p->imf;
    in->imf_base_share = p->base_share;
    /* a premium depends on the position's size: off evaluation's linear fast path */
    in->general = in->imf > 0.0 || in->inverse || in->mm_price == RISK_MM_PRICE_ENTRY;
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_instrument_size_premium(const risk_engine *engine, uint32_t instrument, risk_size_premium *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message slot only */
    if (!out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "out is NULL");
    if (out->version != RISK_SIZE_PREMIUM_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "size premium version %u is not %d", out->version,
                          RISK_SIZE_PREMIUM_VERSION);
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    const risk__instrument *in = &e->instruments[instrument];
    risk_size_premium p = {RISK_SIZE_PREMIUM_VERSION, 0u, in->imf, in->imf > 0.0 ? in->imf_base_share : 0.8};
    *out = p;
    risk__clear(&e->errmsg);
    return RISK_OK;
}
