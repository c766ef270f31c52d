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
    /* pending funding (rates/funding.c, docs/rates.md 8.4): one branch per account, off the
     * sweep; an engine whose funding indices never moved evaluates as before, bit for bit */
    if (e->funding_active)
        risk__funding_values_add(a, out);
    /* Drift's unrealised-PnL weights (rates/upnl_weight.c, docs/rates.md 8.3): likewise */
    if (e->n_upnl_weighted)
        risk__upnl_weight_values_add(a, out);
    if (a->margin_mode == RISK_MARGIN_PORTFOLIO) /* IM and MM from the portfolio model (portfolio/pm.c) */
        risk__pm_account_values(a, out);
}

/* The summary's fields and state from the account's (quantized) sums; nonfinite: one of the nine
 * sums is not finite. The one place both evaluation paths (risk__account_summary_fill and the
 * sweep's summary_fill_fast) derive ratios and state from them, so they give the same bits. */
static inline void summary_set(const risk_account *a, const risk__account_values *v, double equity, double coll,
                               double upnl, double c_init, double c_maint, double r_init, double r_maint,
                               double liab, double iso, int nonfinite, risk_account_summary *out)
{
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
    if (nonfinite || isnan(hf) || isnan(out->available) || (owes && equity <= 0.0))
        out->state = RISK_STATE_BANKRUPT;
    else if (hf < 1.0 || v->n_isolated_liquidatable)
        out->state = RISK_STATE_LIQUIDATABLE;
    else if (hf < a->engine->margin_call_health)
        out->state = RISK_STATE_MARGIN_CALL;
    else
        out->state = RISK_STATE_HEALTHY;
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
    /* Inside the input domain every money field is finite. Should one ever not be (a bug, or a
     * book loaded past the domain by other means), the account is not healthy: it is reported
     * bankrupt, the state that stops everything, never healthy with NaN equity. */
    int nonfinite = !isfinite(equity) || !isfinite(c_init) || !isfinite(c_maint) || !isfinite(r_init) ||
                    !isfinite(r_maint) || !isfinite(coll) || !isfinite(liab) || !isfinite(upnl) || !isfinite(iso);
    summary_set(a, v, equity, coll, upnl, c_init, c_maint, r_init, r_maint, liab, iso, nonfinite, out);
}

static void evaluate_one(const risk_account *a, risk_account_summary *out)
{
    risk__account_values v;
    risk__account_values_compute(a, &v);
    risk__account_summary_fill(a, &v, out);
}

/* ------------------------------------------------------------ the sweep's fast path */

/* risk__basket_values_compute for balances of plain assets (no value tiers, no size scaling):
 * the same sums in the same order (sign 1 and tiered quantity = the balance). Returns nonzero,
 * the sums then unusable, when a balance is of an asset that is not plain. */
static uint32_t basket_values_plain(const risk_basket *b, const risk__asset *assets, risk__basket_values *out)
{
    uint32_t general = 0;
    risk__basket_values v = {0, 0, 0, 0, 0, 0, 0, b->n};
    for (uint32_t i = 0; i < b->n; i++) {
        const risk__asset *as = &assets[b->asset[i]];
        general |= (as->tiers != NULL) | as->size_scaled;
        double amount = risk__balance_of(as, b->amount[i]);
        v.net_value += amount * as->price;
        if (amount > 0.0) {
            double value = as->price * amount;
            v.collateral_value += value;
            v.collateral_init += value * as->weight_init;
            v.collateral_maint += value * as->weight_maint;
        } else {
            double liab = -amount * as->price;
            v.liabilities += liab;
            v.liabilities_init += liab * as->liab_weight_init;
            v.liabilities_maint += liab * as->liab_weight_maint;
        }
    }
    *out = v;
    return general;
}

#if defined(__GNUC__)
#define SWEEP_INLINE static inline __attribute__((always_inline))
#else
#define SWEEP_INLINE static inline
#endif

/* The fast path's sums over an account's positions, in risk__account_values_compute's order. */
typedef struct fast_sums {
    double upnl, gross, cross_upnl, cross_im, cross_mm, isolated;
    uint32_t n_iso_liq;
} fast_sums;

/* One linear position at the mark into the sums: tier (mmr, cum, tier IM rate) already chosen. */
SWEEP_INLINE void fast_position_add(fast_sums *S, double q, double cs, double mark, double entry,
                                    double settle_price, double mmr, double cum, double tier_rate,
                                    double user_rate, uint32_t pflags, double iso_margin)
{
    double notional = fabs(q) * cs * mark;
    double upnl = q * cs * (mark - entry);
    double mm = notional * mmr - cum;
    double im = notional * (user_rate > tier_rate ? user_rate : tier_rate);
    double upnl_v = upnl * settle_price;
    S->upnl += upnl_v;
    S->gross += notional * settle_price;
    if (pflags & RISK__PF_ISOLATED) {
        S->isolated += iso_margin * settle_price;
        S->n_iso_liq += iso_margin + upnl < mm;
    } else {
        S->cross_upnl += upnl_v;
        S->cross_im += im * settle_price;
        S->cross_mm += mm * settle_price;
    }
}

/* The account's values from the sums and the basket's (the fast path's write-out). */
SWEEP_INLINE void fast_values_set(risk__account_values *out, const fast_sums *S, const risk__basket_values *v)
{
    out->basket = *v;
    out->upnl = S->upnl;
    out->cross_upnl = S->cross_upnl;
    out->cross_im = S->cross_im;
    out->cross_mm = S->cross_mm;
    out->isolated_margin = S->isolated;
    out->gross_notional = S->gross;
    out->n_isolated_liquidatable = S->n_iso_liq;
}

/* The common account (linear perpetuals and futures margined at the mark, cross or isolated,
 * schedules of at most RISK__SWEEP_CAPS tiers, balances of assets without value tiers or size
 * scaling, no account feature in sweep_generic) evaluated by risk__account_values_compute's
 * arithmetic in its order, so bit for bit the same values, with the work the general loop
 * carries for every position left out: no option, inverse or size-premium code in the loop (so
 * that the accumulators stay in registers), the tier by a branch-free search of the schedule's
 * padded caps, the basket without its tier and size-scaling code. Returns 0, having written
 * nothing, when the account is not one: the caller takes the generic path. Eligibility is read
 * from state that every mutation keeps current: the account's sweep_generic bits and, per
 * position and balance, in->general (inverse, entry-margined, size premium, option) and the
 * asset's tiers and size scaling, so that a change to an instrument or an asset needs no walk
 * over its holders. docs/performance.md, "The sweep's fast path". */
static int account_values_fast(const risk_account *a, risk__account_values *out)
{
    if (a->sweep_generic)
        return 0;
    const risk_engine *e = a->engine;
    const risk__asset *assets = e->assets;
    const risk__instrument *instruments = e->instruments;
    const double *qty = a->qty, *entry = a->entry, *im_rate = a->im_rate, *iso_margin = a->iso_margin;
    const uint32_t *inst = a->inst, *pflags = a->pflags;
    fast_sums S = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0};
    uint32_t general = 0;
    for (uint32_t i = 0, n = a->n_pos; i < n; i++) {
        const risk__instrument *in = &instruments[inst[i]];
        const risk__schedule *s = &in->schedule;
        general |= in->general | (s->caps == NULL);
        double q = qty[i], cs = in->contract_size, mark = in->mark;
        uint32_t t = s->caps ? risk__schedule_tier_fast(s->caps, fabs(q) * cs * mark) : 0;
        fast_position_add(&S, q, cs, mark, entry[i], assets[in->settle].price, s->tiers[t].mmr, s->tiers[t].cum,
                          s->im_rate[t], im_rate[i], pflags[i], iso_margin[i]);
    }
    risk__basket_values v;
    general |= basket_values_plain(&a->basket, assets, &v);
    if (general)
        return 0;
    fast_values_set(out, &S, &v);
    return 1;
}

/* What a batch sweep reads of an instrument for every position, gathered once per sweep into a
 * table on the worker's stack (so nothing is allocated and concurrent sweeps share nothing):
 * one 64-byte line per instrument at a power-of-two stride, instead of the instrument's record
 * and its settle asset's. `generic`: the instrument is not on the fast path. */
typedef struct sweep_inst {
    double mark, contract_size, settle_price;
    const double *caps;
    const risk_margin_tier *tiers;
    const double *im_rate;
    uint32_t generic, pad;
    double pad2;
} sweep_inst;

#define SWEEP_TABLE_MAX 128 /* engines with more instruments sweep without a table */

/* Caps for a table entry whose instrument is not on the fast path (or has more than 16 tiers):
 * the search then gives tier 0, which exists in every schedule, and the account is sent to the
 * generic path by the entry's `generic` anyway. */
static const double no_caps[RISK__SWEEP_CAPS] = {INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY,
                                                 INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY,
                                                 INFINITY, INFINITY, INFINITY, INFINITY};

/* Fills the table; returns the number of entries (0: no table, the engine has more instruments
 * than SWEEP_TABLE_MAX) and in *max_tiers the most tiers of a fast-path schedule. */
static uint32_t sweep_table_fill(const risk_engine *e, sweep_inst *table, uint32_t *max_tiers)
{
    uint32_t n = e->n_instruments;
    *max_tiers = 0;
    if (n > SWEEP_TABLE_MAX)
        return 0;
    for (uint32_t k = 0; k < n; k++) {
        const risk__instrument *in = &e->instruments[k];
        sweep_inst *t = &table[k];
        t->mark = in->mark;
        t->contract_size = in->contract_size;
        t->settle_price = e->assets[in->settle].price;
        t->generic = in->general | (in->schedule.caps == NULL);
        t->caps = t->generic ? no_caps : in->schedule.caps;
        t->tiers = in->schedule.tiers;
        t->im_rate = in->schedule.im_rate;
        t->pad = 0;
        t->pad2 = 0.0;
        if (!t->generic && in->schedule.n_tiers > *max_tiers)
            *max_tiers = in->schedule.n_tiers;
    }
    return n;
}

/* The tier for the table loop: the 4-step search of the 16 padded caps, or, when no schedule in
 * the table has more than 4 tiers (caps[3] and on are then +inf), the same search's last two
 * steps over the first 4: the same count. */
static inline uint32_t table_tier(const double *caps, double notional, int upto4)
{
    if (upto4) {
        uint32_t b = caps[1] < notional ? 2u : 0u;
        return b + (caps[b] < notional ? 1u : 0u);
    }
    return risk__schedule_tier_fast(caps, notional);
}

/* account_values_fast reading the sweep's table: the same arithmetic on the same numbers in the
 * same order. Returns 0, having written nothing, when the account is not a common one. upto4:
 * see table_tier (a constant at each call, so that each variant is compiled without the test). */
SWEEP_INLINE int account_values_table(const risk_account *a, const sweep_inst *table, int upto4,
                                      risk__account_values *out)
{
    if (a->sweep_generic)
        return 0;
    const double *qty = a->qty, *entry = a->entry, *im_rate = a->im_rate, *iso_margin = a->iso_margin;
    const uint32_t *inst = a->inst, *pflags = a->pflags;
    fast_sums S = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0};
    uint32_t general = 0;
    for (uint32_t i = 0, n = a->n_pos; i < n; i++) {
        const sweep_inst *in = &table[inst[i]];
        general |= in->generic;
        double q = qty[i], cs = in->contract_size, mark = in->mark;
        uint32_t t = table_tier(in->caps, fabs(q) * cs * mark, upto4);
        fast_position_add(&S, q, cs, mark, entry[i], in->settle_price, in->tiers[t].mmr, in->tiers[t].cum,
                          in->im_rate[t], im_rate[i], pflags[i], iso_margin[i]);
    }
    risk__basket_values v;
    general |= basket_values_plain(&a->basket, a->engine->assets, &v);
    if (general)
        return 0;
    fast_values_set(out, &S, &v);
    return 1;
}

/* risk__quantize, bit for bit, for a value that is often 0 or equal to one quantized just
 * before in the same direction: quantize(+-0) is +0 and equal values quantize alike, so both
 * skip the arithmetic and its division. */
static inline double quantize_as(double value, double scale, int up, double prev, double prev_q)
{
    if (value == 0.0)
        return 0.0;
    if (value == prev)
        return prev_q;
    return risk__quantize(value, scale, up);
}

/* risk__account_summary_fill with fewer quantizations: in the common account equity, the
 * initial and the maintenance collateral are the same number (weights 1, no isolated margin),
 * and liabilities and isolated margin are 0. The same fields, bit for bit. */
static void summary_fill_fast(const risk_account *a, const risk__account_values *v, risk_account_summary *out)
{
    const risk_engine *e = a->engine;
    if ((e->flags & RISK_ENGINE_NO_QUANTIZE) || e->valuation == RISK_ID_NONE) {
        risk__account_summary_fill(a, v, out);
        return;
    }
    double equity = v->basket.net_value + v->upnl + v->isolated_margin;
    double c_init = v->basket.collateral_init + v->cross_upnl;
    double c_maint = v->basket.collateral_maint + v->cross_upnl;
    double r_init = v->basket.liabilities_init + v->cross_im;
    double r_maint = v->basket.liabilities_maint + v->cross_mm;
    double coll = v->basket.collateral_value, liab = v->basket.liabilities;
    double upnl = v->upnl, iso = v->isolated_margin;
    double s = risk__asset_scale(&e->assets[e->valuation]);
    double q_equity = risk__quantize(equity, s, 0);
    double q_c_init = quantize_as(c_init, s, 0, equity, q_equity);
    double q_c_maint = quantize_as(c_maint, s, 0, c_init, q_c_init);
    double q_coll = quantize_as(coll, s, 0, c_maint, q_c_maint);
    double q_upnl = quantize_as(upnl, s, 0, equity, q_equity);
    double q_iso = quantize_as(iso, s, 0, 0.0, 0.0);
    double q_r_init = quantize_as(r_init, s, 1, 0.0, 0.0);
    double q_r_maint = quantize_as(r_maint, s, 1, r_init, q_r_init);
    double q_liab = quantize_as(liab, s, 1, 0.0, 0.0);
    equity = q_equity;
    c_init = q_c_init;
    c_maint = q_c_maint;
    coll = q_coll;
    upnl = q_upnl;
    iso = q_iso;
    r_init = q_r_init;
    r_maint = q_r_maint;
    liab = q_liab;
    /* any of the nine not finite, as the generic path's nine isfinite() tests: x * 0 is +-0 for
     * a finite x and NaN for an infinite or NaN one, and a sum of zeros is never NaN */
    double nonfinite = equity * 0.0 + c_init * 0.0 + c_maint * 0.0 + r_init * 0.0 + r_maint * 0.0 + coll * 0.0 +
                       liab * 0.0 + upnl * 0.0 + iso * 0.0;
    summary_set(a, v, equity, coll, upnl, c_init, c_maint, r_init, r_maint, liab, iso, isnan(nonfinite), out);
}

/* One account's summary: the fast path when the account is a common one and the engine does
 * not ask for the generic path (RISK_ENGINE_GENERIC_SWEEP), else the generic path. With a
 * sweep's table (not NULL; max_tiers from sweep_table_fill) the fast path reads it. */
static void evaluate_fast_or_generic(const risk_account *a, const sweep_inst *table, uint32_t max_tiers,
                                     risk_account_summary *out)
{
    risk__account_values v;
    const risk_engine *e = a->engine;
    /* pending funding, Drift's PnL weights and portfolio margin are terms of the generic path
     * only (risk__account_values_compute): accounts using them are evaluated there */
    if (e->funding_active || e->n_upnl_weighted || a->margin_mode == RISK_MARGIN_PORTFOLIO) {
        evaluate_one(a, out);
        return;
    }
    if (table && (max_tiers <= 4 ? account_values_table(a, table, 1, &v) : account_values_table(a, table, 0, &v))) {
        summary_fill_fast(a, &v, out);
        return;
    }
    if (!(e->flags & RISK_ENGINE_GENERIC_SWEEP) && account_values_fast(a, &v)) {
        summary_fill_fast(a, &v, out);
        return;
    }
    evaluate_one(a, out);
}

void risk__account_summary_sweep(const risk_account *a, risk_account_summary *out)
{
    evaluate_fast_or_generic(a, NULL, 0, out);
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
    evaluate_fast_or_generic(a, NULL, 0, out);
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
    _Alignas(64) sweep_inst table[SWEEP_TABLE_MAX];
    uint32_t max_tiers = 0;
    int use_table = !(c->engine->flags & RISK_ENGINE_GENERIC_SWEEP) && sweep_table_fill(c->engine, table, &max_tiers);
    for (size_t s = c->slot_begin; s < c->slot_end; s++) {
        const risk_account *a = accounts[s];
        if (!a)
            continue;
        c->summaries[k].version = RISK_ACCOUNT_SUMMARY_VERSION;
        evaluate_fast_or_generic(a, use_table ? table : NULL, max_tiers, &c->summaries[k]);
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
