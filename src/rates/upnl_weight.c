/* SPDX-License-Identifier: Apache-2.0 */
/* Drift's unrealised-PnL asset weight (include/risk/rates.h, docs/rates.md 8.3; research
 * defi-anchors.md 2.1 and D3). drift-labs/protocol-v2 state/perp_market.rs
 * `get_unrealized_asset_weight` and math/margin.rs `calculate_perp_position_value_and_pnl`: a perp
 * position's PnL (with its unsettled funding) counts in full when negative; when positive, at the
 * market's unrealized_pnl_initial_asset_weight, size-discounted by
 * `calculate_size_discount_asset_weight` with unrealized_pnl_imf_factor,
 *     w_init(P) = min(w_init, 1.1 / (1 + imf sqrt(P))),
 * for the initial margin type, and at unrealized_pnl_maintenance_asset_weight for maintenance.
 * Drift computes in integers (weights to 1e-4, truncated); this is the real-number formula. The
 * imbalance scaling (unrealized_pnl_max_imbalance) and the $100 cap of positive PnL for the
 * initial margin of some markets are not modelled. */
#include "margin/schedule.h"

void risk__upnl_cut(const risk__instrument *in, double pnl, double *cut_init, double *cut_maint)
{
    *cut_init = *cut_maint = 0.0;
    if (!in->upnl_weighted || !(pnl > 0.0))
        return;
    double wi = in->upnl_w_init;
    if (in->upnl_imf > 0.0) {
        double discount = 1.1 / (1.0 + in->upnl_imf * sqrt(pnl));
        wi = wi < discount ? wi : discount;
    }
    *cut_init = pnl * (1.0 - wi);
    *cut_maint = pnl * (1.0 - in->upnl_w_maint);
}

void risk__upnl_weight_values_add(const risk_account *a, risk__account_values *v)
{
    const risk_engine *e = a->engine;
    double ci = 0.0, cm = 0.0;
    for (uint32_t i = 0; i < a->n_pos; i++) {
        const risk__instrument *in = &e->instruments[a->inst[i]];
        if (!in->upnl_weighted || (a->pflags[i] & RISK__PF_ISOLATED))
            continue;
        risk__position_values pv;
        risk__position_values_compute(in, a->qty[i], a->entry[i], a->im_rate[i], &pv);
        double pnl = pv.upnl + (e->funding_active ? risk__funding_pending(a, i) : 0.0);
        double di, dm;
        risk__upnl_cut(in, pnl, &di, &dm);
        double ps = e->assets[in->settle].price;
        ci += di * ps;
        cm += dm * ps;
    }
    if (ci != 0.0)
        v->basket.collateral_init -= ci;
    if (cm != 0.0)
        v->basket.collateral_maint -= cm;
}

RISK_API int risk_engine_set_instrument_upnl_weight(risk_engine *engine, uint32_t instrument, double weight_init,
                                                    double weight_maint, double imf)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    risk__instrument *in = &e->instruments[instrument];
    if (in->kind == RISK_KIND_OPTION)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: unrealised-PnL weights apply to perpetuals and futures",
                          in->symbol);
    int rc;
    if ((rc = risk__check_range(e, &e->errmsg, in->symbol, "upnl weight_init", weight_init, 0.0, 1.0)) ||
        (rc = risk__check_range(e, &e->errmsg, in->symbol, "upnl weight_maint", weight_maint, 0.0, 1.0)) ||
        (rc = risk__check_range(e, &e->errmsg, in->symbol, "upnl imf", imf, 0.0, RISK_IMF_MAX)))
        return rc;
    if (weight_init > weight_maint)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: upnl weight_init %s above weight_maint %s", in->symbol,
                          RISK__NUM(weight_init), RISK__NUM(weight_maint));
    uint32_t on = weight_init != 1.0 || weight_maint != 1.0 || imf != 0.0;
    e->n_upnl_weighted = e->n_upnl_weighted - in->upnl_weighted + on;
    in->upnl_weighted = on;
    in->upnl_w_init = on ? weight_init : 1.0;
    in->upnl_w_maint = on ? weight_maint : 1.0;
    in->upnl_imf = on ? imf : 0.0;
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_instrument_upnl_weight(const risk_engine *engine, uint32_t instrument, double *weight_init,
                                                double *weight_maint, double *imf)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message slot only */
    if (!weight_init || !weight_maint || !imf)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "an output is NULL");
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    const risk__instrument *in = &e->instruments[instrument];
    *weight_init = in->upnl_weighted ? in->upnl_w_init : 1.0;
    *weight_maint = in->upnl_weighted ? in->upnl_w_maint : 1.0;
    *imf = in->upnl_weighted ? in->upnl_imf : 0.0;
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_upnl_weight(double *init_out, double *maint_out, double pnl, double weight_init,
                              double weight_maint, double imf)
{
    if (!init_out || !maint_out)
        return RISK_ENULL;
    if (!(isfinite(pnl) && weight_init >= 0.0 && weight_init <= weight_maint && weight_maint <= 1.0 && imf >= 0.0 &&
          imf <= RISK_IMF_MAX))
        return RISK_EINVAL;
    if (!(pnl > 0.0)) {
        *init_out = 1.0;
        *maint_out = 1.0;
        return RISK_OK;
    }
    double wi = weight_init;
    if (imf > 0.0) {
        double discount = 1.1 / (1.0 + imf * sqrt(pnl));
        wi = wi < discount ? wi : discount;
    }
    *init_out = wi;
    *maint_out = weight_maint;
    return RISK_OK;
}
