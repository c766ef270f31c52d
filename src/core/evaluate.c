/* SPDX-License-Identifier: Apache-2.0 */
/* Account evaluation: position values -> cross and isolated pools -> health summary.
 * The hot path (risk__account_values_compute) reads the account's arrays in order, never
 * allocates and sums in a fixed order, so results are bit-identical for any thread count. */
#include "margin/schedule.h"

#include <pthread.h>
#include <string.h>

void risk__account_values_compute(const risk_account *a, risk__account_values *out)
{
    const risk_engine *e = a->engine;
    const risk__asset *assets = e->assets;
    const risk__instrument *instruments = e->instruments;
    const double *qty = a->qty, *entry = a->entry, *im_rate = a->im_rate;
    const uint32_t *inst = a->inst, *pflags = a->pflags;
    /* scalar accumulators, so that the compiler keeps them in registers */
    double upnl_sum = 0.0, gross = 0.0, cross_upnl = 0.0, cross_im = 0.0, cross_mm = 0.0, isolated = 0.0;
    uint32_t n_iso_liq = 0;
    for (uint32_t i = 0, n = a->n_pos; i < n; i++) {
        const risk__instrument *in = &instruments[inst[i]];
        double settle_price = assets[in->settle].price;
        if (!in->general && !(pflags[i] & RISK__PF_ISOLATED)) {
            /* linear, margined at the mark, cross: the bulk of a book. The same arithmetic in
             * the same order as risk__position_values_compute, so results are bit-identical. */
            double q = qty[i], cs = in->contract_size, mark = in->mark;
            double notional = fabs(q) * cs * mark;
            double upnl = q * cs * (mark - entry[i]);
            const risk__schedule *s = &in->schedule;
            uint32_t t = risk__schedule_tier(s, notional);
            double upnl_v = upnl * settle_price;
            upnl_sum += upnl_v;
            gross += notional * settle_price;
            cross_upnl += upnl_v;
            cross_im += notional * risk__schedule_im_rate(s, t, im_rate[i]) * settle_price;
            cross_mm += (notional * s->tiers[t].mmr - s->tiers[t].cum) * settle_price;
            continue;
        }
        risk__position_values pv;
        risk__position_values_compute(in, qty[i], entry[i], im_rate[i], &pv);
        upnl_sum += pv.upnl * settle_price;
        gross += pv.notional * settle_price;
        if (pflags[i] & RISK__PF_ISOLATED) {
            double m = a->iso_margin[i];
            isolated += m * settle_price;
            n_iso_liq += m + pv.upnl < pv.mm;
        } else {
            cross_upnl += pv.upnl * settle_price;
            cross_im += pv.im * settle_price;
            cross_mm += pv.mm * settle_price;
        }
    }
    risk__basket_values_compute(&a->basket, &out->basket);
    out->upnl = upnl_sum;
    out->cross_upnl = cross_upnl;
    out->cross_im = cross_im;
    out->cross_mm = cross_mm;
    out->isolated_margin = isolated;
    out->gross_notional = gross;
    out->n_isolated_liquidatable = n_iso_liq;
}

void risk__account_summary_fill(const risk_account *a, const risk__account_values *v, risk_account_summary *out)
{
    const risk_engine *e = a->engine;
    double equity = v->basket.net_value + v->upnl + v->isolated_margin;
    double c_init = v->basket.collateral_init + v->cross_upnl;
    double c_maint = v->basket.collateral_maint + v->cross_upnl;
    double r_init = v->basket.liabilities_init + v->cross_im;
    double r_maint = v->basket.liabilities_maint + v->cross_mm;
    double coll = v->basket.collateral_value, liab = v->basket.liabilities;
    double upnl = v->upnl, iso = v->isolated_margin;
    if (!(e->flags & RISK_ENGINE_NO_QUANTIZE) && e->valuation != RISK_ID_NONE) {
        double s = risk__asset_scale(&e->assets[e->valuation]);
        equity = risk__quantize(equity, s, 0); /* what the account has: down */
        c_init = risk__quantize(c_init, s, 0);
        c_maint = risk__quantize(c_maint, s, 0);
        coll = risk__quantize(coll, s, 0);
        upnl = risk__quantize(upnl, s, 0);
        iso = risk__quantize(iso, s, 0);
        r_init = risk__quantize(r_init, s, 1); /* what it owes or needs: up */
        r_maint = risk__quantize(r_maint, s, 1);
        liab = risk__quantize(liab, s, 1);
    }
    double hf = r_maint > 0.0 ? c_maint / r_maint : INFINITY;
    double buffer = c_init - liab;
    out->equity = equity;
    out->collateral_value = coll;
    out->unrealized_pnl = upnl;
    out->initial_margin = r_init;
    out->maintenance_margin = r_maint;
    out->available = c_init - r_init;
    out->health_factor = hf;
    out->margin_ratio = r_maint > 0.0 ? (c_maint > 0.0 ? r_maint / c_maint : INFINITY) : 0.0;
    if (coll > 0.0) {
        out->ltv = liab / coll;
        out->ltv_buffer = buffer / coll;
    } else {
        out->ltv = liab > 0.0 ? INFINITY : 0.0;
        out->ltv_buffer = buffer == 0.0 ? 0.0 : copysign(INFINITY, buffer);
    }
    out->leverage = v->gross_notional > 0.0 ? (equity > 0.0 ? v->gross_notional / equity : INFINITY) : 0.0;
    out->collateral_init = c_init;
    out->collateral_maint = c_maint;
    out->liabilities = liab;
    out->isolated_margin = iso;
    out->n_positions = a->n_pos;
    out->n_isolated_liquidatable = v->n_isolated_liquidatable;
    int owes = a->n_pos > 0 || v->basket.liabilities > 0.0;
    /* Inside the input domain every money field is finite. Should one ever not be (a bug, or a
     * book loaded past the domain by other means), the account is not healthy: it is reported
     * bankrupt, the state that stops everything, never healthy with NaN equity. */
    int broken = !isfinite(equity) || !isfinite(c_init) || !isfinite(c_maint) || !isfinite(r_init) ||
                 !isfinite(r_maint) || !isfinite(coll) || !isfinite(liab) || !isfinite(upnl) || !isfinite(iso) ||
                 isnan(hf) || isnan(out->available);
    if (broken || (owes && equity <= 0.0))
        out->state = RISK_STATE_BANKRUPT;
    else if (hf < 1.0 || v->n_isolated_liquidatable)
        out->state = RISK_STATE_LIQUIDATABLE;
    else if (hf < e->margin_call_health)
        out->state = RISK_STATE_MARGIN_CALL;
    else
        out->state = RISK_STATE_HEALTHY;
}

static void evaluate_one(const risk_account *a, risk_account_summary *out)
{
    risk__account_values v;
    risk__account_values_compute(a, &v);
    risk__account_summary_fill(a, &v, out);
}

RISK_API int risk_account_evaluate(const risk_account *account, risk_account_summary *out)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = (risk_account *)account; /* the message buffer is not account state */
    if (!out)
        return risk__fail(a->engine, &a->errmsg, RISK_ENULL, "out is NULL");
    if (out->version != RISK_ACCOUNT_SUMMARY_VERSION)
        return risk__fail(a->engine, &a->errmsg, RISK_EVERSION, "account summary version %u is not %d",
                          out->version, RISK_ACCOUNT_SUMMARY_VERSION);
    evaluate_one(a, out);
    return RISK_OK;
}

RISK_API int risk_account_position_results(const risk_account *account, risk_position_result *out, size_t capacity,
                                           size_t *count_out)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = (risk_account *)account;
    if (!count_out || (!out && capacity))
        return risk__fail(a->engine, &a->errmsg, RISK_ENULL, "count_out is NULL, or out is NULL with capacity > 0");
    *count_out = a->n_pos;
    if (capacity < a->n_pos)
        return risk__fail(a->engine, &a->errmsg, RISK_EBUFFER, "%u positions, capacity %zu", a->n_pos, capacity);
    uint32_t version = a->n_pos ? out[0].version : RISK_POSITION_RESULT_VERSION;
    if (version != RISK_POSITION_RESULT_VERSION && version != 1)
        return risk__fail(a->engine, &a->errmsg, RISK_EVERSION, "position result version %u is not 1 or %d",
                          out[0].version, RISK_POSITION_RESULT_VERSION);
    /* element 0's version gives every element's size: version 1 ends before `delta` */
    size_t size = version == 1 ? offsetof(risk_position_result, delta) : sizeof(risk_position_result);
    unsigned char *dst = (unsigned char *)out;
    risk__pool_cache cache;
    cache.n_cross = 0;
    for (uint32_t i = 0; i < a->n_pos; i++) {
        const risk__pool_factors *f = risk__pool_factors_for(a, i, &cache);
        risk_position_result r;
        r.version = version;
        risk__position_result_fill(a, i, f, &r);
        memcpy(dst + i * size, &r, size);
    }
    return RISK_OK;
}

/* ------------------------------------------------------------ batch */

typedef struct batch_chunk {
    const risk_engine *engine;
    size_t slot_begin, slot_end; /* range of engine account slots */
    size_t out_begin;            /* index of the chunk's first live account in the outputs */
    risk_account_summary *summaries;
    uint64_t *ids;
} batch_chunk;

static void *batch_run(void *arg)
{
    const batch_chunk *c = arg;
    risk_account *const *accounts = c->engine->accounts;
    size_t k = c->out_begin;
    for (size_t s = c->slot_begin; s < c->slot_end; s++) {
        const risk_account *a = accounts[s];
        if (!a)
            continue;
        c->summaries[k].version = RISK_ACCOUNT_SUMMARY_VERSION;
        evaluate_one(a, &c->summaries[k]);
        if (c->ids)
            c->ids[k] = a->id;
        k++;
    }
    return NULL;
}

#define BATCH_MAX_THREADS 256

RISK_API int risk_engine_evaluate_all(const risk_engine *engine, risk_account_summary *summaries_out,
                                      uint64_t *ids_out, size_t capacity, uint32_t threads, size_t *count_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message buffer is not engine state */
    if (!summaries_out || !count_out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "summaries_out or count_out is NULL");
    *count_out = e->n_accounts;
    if (capacity < e->n_accounts)
        return risk__fail(e, &e->errmsg, RISK_EBUFFER, "%zu accounts, capacity %zu", e->n_accounts, capacity);
    if (e->n_accounts && summaries_out[0].version != RISK_ACCOUNT_SUMMARY_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "account summary version %u is not %d",
                          summaries_out[0].version, RISK_ACCOUNT_SUMMARY_VERSION);
    if (threads > BATCH_MAX_THREADS)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "threads %u above %d", threads, BATCH_MAX_THREADS);
    if (threads == 0)
        threads = 1;
    if ((size_t)threads > e->n_account_slots / 1024 + 1) /* small books are not worth a thread */
        threads = (uint32_t)(e->n_account_slots / 1024 + 1);

    batch_chunk chunks[BATCH_MAX_THREADS];
    size_t live_before = 0;
    for (uint32_t t = 0; t < threads; t++) {
        batch_chunk *c = &chunks[t];
        c->engine = e;
        c->slot_begin = e->n_account_slots * t / threads;
        c->slot_end = e->n_account_slots * (t + 1) / threads;
        c->out_begin = live_before;
        c->summaries = summaries_out;
        c->ids = ids_out;
        for (size_t s = c->slot_begin; s < c->slot_end; s++)
            live_before += e->accounts[s] != NULL;
    }
    pthread_t tids[BATCH_MAX_THREADS];
    uint32_t started = 0;
    int rc = RISK_OK;
    for (uint32_t t = 1; t < threads; t++) {
        if (pthread_create(&tids[t], NULL, batch_run, &chunks[t]) != 0) {
            rc = RISK_ETHREAD;
            break;
        }
        started = t;
    }
    if (rc == RISK_OK)
        batch_run(&chunks[0]);
    for (uint32_t t = 1; t <= started; t++)
        pthread_join(tids[t], NULL);
    if (rc)
        return risk__fail(e, &e->errmsg, rc, "could not start %u worker threads", threads - 1);
    return RISK_OK;
}
