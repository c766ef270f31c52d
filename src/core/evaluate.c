/* SPDX-License-Identifier: Apache-2.0 */
/* Account evaluation: position values -> cross and isolated pools -> health summary.
 * The hot path (risk__account_values_compute) reads the account's arrays in order, never
 * allocates and sums in a fixed order, so results are bit-identical for any thread count. */
#include "margin/schedule.h"

#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdlib.h>
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

#if defined(__GNUC__)
#define SWEEP_INLINE static inline __attribute__((always_inline))
#else
#define SWEEP_INLINE static inline
#endif

/* risk__basket_values_compute for balances of plain assets (no value tiers, no size scaling):
 * the same sums in the same order (sign 1 and tiered quantity = the balance). Returns nonzero,
 * the sums then unusable, when a balance is of an asset that is not plain. */
SWEEP_INLINE uint32_t basket_values_plain(const risk_basket *b, const risk__asset *assets, risk__basket_values *out)
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


/* The fast path's sums over an account's positions, in risk__account_values_compute's order. */
typedef struct fast_sums {
    double upnl, gross, cross_upnl, cross_im, cross_mm, isolated;
    uint32_t n_iso_liq;
} fast_sums;

/* One linear position at the mark into the sums: tier (mmr, cum, tier IM rate) already chosen. */
SWEEP_INLINE void fast_position_add(fast_sums *S, double notional, double upnl, double settle_price, double mmr,
                                    double cum, double tier_rate, double user_rate, uint32_t pflags,
                                    double iso_margin)
{
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

/* An inverse perpetual or future margined at the mark, without a size premium, with a schedule
 * the branch-free tier search takes: `general` for the evaluation loop, but on the sweep's fast
 * paths (account_values_fast, the table path and the AVX-512 path), which evaluate it with
 * risk__position_values_at's inverse arithmetic (fast_notional_upnl). */
static inline int risk__inverse_fast(const risk__instrument *in)
{
    return in->inverse && in->kind != RISK_KIND_OPTION && in->mm_price == RISK_MM_PRICE_MARK && in->imf == 0.0 &&
           in->schedule.caps != NULL;
}

/* A position's notional and PnL at the mark M, in risk__position_values_at's order: linear
 * |q| cs M and q cs (M - E), inverse |q| cs / M and q cs (1/E - 1/M). */
SWEEP_INLINE void fast_notional_upnl(int inverse, double q, double cs, double mark, double entry, double *notional,
                                     double *upnl)
{
    if (inverse) {
        *notional = fabs(q) * cs / mark;
        *upnl = q * cs * (1.0 / entry - 1.0 / mark);
    } else {
        *notional = fabs(q) * cs * mark;
        *upnl = q * cs * (mark - entry);
    }
}

/* The common account (linear perpetuals and futures margined at the mark, cross or isolated,
 * schedules of at most RISK__SWEEP_CAPS tiers, balances of assets without value tiers or size
 * scaling, no account feature in sweep_generic) evaluated by risk__account_values_compute's
 * arithmetic in its order, so bit for bit the same values, with the work the general loop
 * carries for every position left out: no option or size-premium code in the loop (so that the
 * accumulators stay in registers; inverse contracts margined at the mark are in it,
 * risk__inverse_fast), the tier by a branch-free search of the schedule's
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
        general |= (in->general && !risk__inverse_fast(in)) | (s->caps == NULL);
        double notional, upnl;
        fast_notional_upnl(in->inverse, qty[i], in->contract_size, in->mark, entry[i], &notional, &upnl);
        uint32_t t = s->caps ? risk__schedule_tier_fast(s->caps, notional) : 0;
        fast_position_add(&S, notional, upnl, assets[in->settle].price, s->tiers[t].mmr, s->tiers[t].cum,
                          s->im_rate[t], im_rate[i], pflags[i], iso_margin[i]);
    }
    risk__basket_values v;
    general |= basket_values_plain(&a->basket, assets, &v);
    if (general)
        return 0;
    fast_values_set(out, &S, &v);
    if (e->funding_active) /* pending funding after the sums, as risk__account_values_compute adds it */
        risk__funding_values_add(a, out);
    return 1;
}

/* What a batch sweep reads of an instrument for every position, gathered once per sweep into a
 * table on the worker's stack (so nothing is allocated and concurrent sweeps share nothing), or,
 * for more than SWEEP_TABLE_MAX instruments, into the engine's sweep scratch (below):
 * one 64-byte line per instrument at a power-of-two stride, instead of the instrument's record
 * and its settle asset's. `generic`: the instrument is not on the fast path. */
typedef struct sweep_inst {
    double mark, contract_size, settle_price;
    const double *caps;
    const risk_margin_tier *tiers;
    const double *im_rate;
    uint32_t generic, inverse; /* inverse: an inverse contract on the fast path (risk__inverse_fast) */
    double pad2;
} sweep_inst;

#define SWEEP_TABLE_MAX 128 /* entries on a worker's stack; larger engines use the engine's scratch */

/* Caps for a table entry whose instrument is not on the fast path (or has more than 16 tiers):
 * the search then gives tier 0, which exists in every schedule, and the account is sent to the
 * generic path by the entry's `generic` anyway. */
static const double no_caps[RISK__SWEEP_CAPS] = {INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY,
                                                 INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY,
                                                 INFINITY, INFINITY, INFINITY, INFINITY};

/* Fills the table (room for e->n_instruments entries); returns the number of entries and in
 * *max_tiers the most tiers of a fast-path schedule. */
static uint32_t sweep_table_fill(const risk_engine *e, sweep_inst *table, uint32_t *max_tiers)
{
    uint32_t n = e->n_instruments;
    *max_tiers = 0;
    for (uint32_t k = 0; k < n; k++) {
        const risk__instrument *in = &e->instruments[k];
        sweep_inst *t = &table[k];
        t->mark = in->mark;
        t->contract_size = in->contract_size;
        t->settle_price = e->assets[in->settle].price;
        t->inverse = (uint32_t)risk__inverse_fast(in);
        t->generic = (in->general && !t->inverse) | (in->schedule.caps == NULL);
        t->caps = t->generic ? no_caps : in->schedule.caps;
        t->tiers = in->schedule.tiers;
        t->im_rate = in->schedule.im_rate;
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
        double notional, upnl;
        fast_notional_upnl((int)in->inverse, qty[i], in->contract_size, in->mark, entry[i], &notional, &upnl);
        uint32_t t = table_tier(in->caps, notional, upto4);
        fast_position_add(&S, notional, upnl, in->settle_price, in->tiers[t].mmr, in->tiers[t].cum,
                          in->im_rate[t], im_rate[i], pflags[i], iso_margin[i]);
    }
    risk__basket_values v;
    general |= basket_values_plain(&a->basket, a->engine->assets, &v);
    if (general)
        return 0;
    fast_values_set(out, &S, &v);
    if (a->engine->funding_active) /* pending funding after the sums, as risk__account_values_compute adds it */
        risk__funding_values_add(a, out);
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
    /* Drift's PnL weights and portfolio margin are terms of the generic path only
     * (risk__account_values_compute): accounts using them are evaluated there; pending funding
     * is added on every path after the positions' sums (risk__funding_values_add) */
    if (e->n_upnl_weighted || a->margin_mode == RISK_MARGIN_PORTFOLIO) {
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

/* ------------------------------------------------------------ the sweep's AVX-512 path */

/* Eight common accounts at a time on x86-64 CPUs with AVX-512F (checked at run time with
 * __builtin_cpu_supports; every other CPU, and every other build target, takes the scalar table
 * path above, which gives the same bits). The same arithmetic as account_values_table and
 * summary_fill_fast, operation by operation, in the same order per account:
 * - positions: one account's positions in the lanes of one vector (two for 9 to 16), instrument fields
 *   and tier data looked up from 16-entry in-register tables (vpermt2pd) instead of loaded
 *   through pointers, or, in engines of more than 16 instruments, gathered (vgatherqpd) from
 *   arrays of one entry per instrument; the tier by counting the caps below the notional (the
 *   generic loop's count); masked-out and other-margin lanes give -0.0, the exact identity of
 *   IEEE addition;
 * - sums: the six per-position vectors of eight accounts transposed (8 x 8), then added
 *   position by position, so each account's sums run in position order, as the scalar loop's;
 * - summary: the nine quantizations, five ratios and the state of eight accounts in the lanes of
 *   one vector each (lanes that take the other branch are masked, divisions included, so no lane
 *   computes what the scalar code does not), written out by two 8 x 8 transposes.
 * Used by the batch sweeps (risk_engine_evaluate_all, risk_engine_evaluate_columns) whatever the
 * number of instruments; accounts with more than 16 positions, or not common, go to the scalar
 * paths. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(RISK_NO_SIMD)
#define SWEEP_SIMD 1
#include <immintrin.h>

#define SIMD_INSTS 16 /* instruments a SIMD sweep looks up by permutes: two 8-lane registers per field */
#define SIMD_UNIT_SETTLE 1 /* every instrument of the table: settle price 1, on the fast path */
#define SIMD_UNIT_CS 2     /* and contract size 1 */
/* Summaries of books above this size are written around the caches (non-temporal stores of
 * whole lines: 8 summaries are 17 lines), which saves reading each line before writing it; a
 * smaller output may still be in cache when the caller reads it, and is written normally. */
#define SIMD_STREAM_BYTES (16.0 * 1048576.0)

/* Per-instrument fields and per-tier data, [tier][instrument], 16 entries each. */
typedef struct simd_table {
    _Alignas(64) double mark[SIMD_INSTS];
    double cs[SIMD_INSTS], settle[SIMD_INSTS], generic[SIMD_INSTS];
    double inverse[SIMD_INSTS]; /* 1.0: an inverse contract (risk__inverse_fast) */
    /* funding: the longs' and shorts' indices, and the settle asset's quantization scale */
    double fund_long[SIMD_INSTS], fund_short[SIMD_INSTS], fund_scale[SIMD_INSTS];
    double caps[RISK__SWEEP_CAPS - 1][SIMD_INSTS]; /* caps[k]: tier k's cap (+inf from n_tiers - 1 on) */
    double mmr[RISK__SWEEP_CAPS][SIMD_INSTS], cum[RISK__SWEEP_CAPS][SIMD_INSTS];
    double imr[RISK__SWEEP_CAPS][SIMD_INSTS];
    /* Per-asset fields for the tile kernel's balances (engines of at most SIMD_INSTS assets,
     * assets16): price, the interest indices, the four weights, and 1.0 for a plain asset (no
     * value tiers, no size scaling) */
    double a_price[SIMD_INSTS], a_ipos[SIMD_INSTS], a_ineg[SIMD_INSTS], a_wi[SIMD_INSTS], a_wm[SIMD_INSTS];
    double a_lwi[SIMD_INSTS], a_lwm[SIMD_INSTS], a_plain[SIMD_INSTS];
    int assets16;
    uint32_t n_tiers; /* most tiers of a fast-path schedule (at least 1) */
    int quantize;
    int stream; /* write whole groups' summaries with non-temporal stores (SIMD_STREAM_BYTES) */
    int unit;   /* SIMD_UNIT_* bits: settle price 1 and on the fast path, contract size 1 too */
    int any_inverse; /* some instrument is an inverse contract on the path: inverse lanes are looked up */
    int funding;       /* the engine's funding indices moved: pending funding is added (simd_pending) */
    int fund_quantize; /* pending funding is rounded against the account (no RISK_ENGINE_NO_QUANTIZE) */
    double scale, margin_call_health;
    /* Engines of more than SIMD_INSTS instruments: the same fields as arrays of n entries in one
     * allocated block (NULL otherwise), looked up by gathers; tier t's entries at t x n. */
    double *g;
    const double *g_mark, *g_cs, *g_settle, *g_generic, *g_inverse, *g_caps, *g_mmr, *g_cum, *g_imr;
    const double *g_fund_long, *g_fund_short, *g_fund_scale;
    uint32_t n;
} simd_table;

/* Doubles per instrument of the gather arrays for schedules of at most nt tiers. */
static size_t simd_gather_per(uint32_t nt)
{
    return 8 + (size_t)(nt - 1) + 3 * (size_t)nt;
}

/* Instrument k's funding fields: its sides' indices, and its settle asset's scale, by which a
 * position's pending funding is rounded (rates/funding.c, against_account) */
static void simd_funding_fields(const risk_engine *e, uint32_t k, double *lo, double *sh, double *scale)
{
    const risk__instrument *in = &e->instruments[k];
    *lo = in->fund_index_long;
    *sh = in->fund_index_short;
    *scale = risk__asset_scale(&e->assets[in->settle]);
}

/* The gather arrays of an engine of more than SIMD_INSTS instruments, from the scalar table,
 * into g (n x simd_gather_per(nt) doubles: the engine's sweep scratch). */
static void simd_gather_fill(const risk_engine *e, const sweep_inst *table, uint32_t n, uint32_t nt, simd_table *st,
                             double *g)
{
    st->g = g;
    st->n = n;
    double *mark = g, *cs = g + n, *settle = g + 2 * (size_t)n, *generic = g + 3 * (size_t)n;
    double *inverse = g + 4 * (size_t)n, *fund_long = g + 5 * (size_t)n, *fund_short = g + 6 * (size_t)n;
    double *fund_scale = g + 7 * (size_t)n;
    double *caps = g + 8 * (size_t)n, *mmr = caps + (size_t)(nt - 1) * n, *cum = mmr + (size_t)nt * n;
    double *imr = cum + (size_t)nt * n;
    for (uint32_t k = 0; k < n; k++) {
        const sweep_inst *t = &table[k];
        const risk__schedule *s = &e->instruments[k].schedule;
        mark[k] = t->mark;
        cs[k] = t->contract_size;
        settle[k] = t->settle_price;
        generic[k] = t->generic ? 1.0 : 0.0;
        inverse[k] = t->inverse ? 1.0 : 0.0;
        simd_funding_fields(e, k, &fund_long[k], &fund_short[k], &fund_scale[k]);
        for (uint32_t j = 0; j + 1 < nt; j++)
            caps[(size_t)j * n + k] = t->caps[j];
        for (uint32_t j = 0; j < nt; j++) {
            uint32_t tj = j < s->n_tiers ? j : s->n_tiers - 1; /* past its last tier: never chosen */
            mmr[(size_t)j * n + k] = s->tiers[tj].mmr;
            cum[(size_t)j * n + k] = s->tiers[tj].cum;
            imr[(size_t)j * n + k] = s->im_rate[tj];
        }
    }
    st->g_mark = mark;
    st->g_cs = cs;
    st->g_settle = settle;
    st->g_generic = generic;
    st->g_inverse = inverse;
    st->g_fund_long = fund_long;
    st->g_fund_short = fund_short;
    st->g_fund_scale = fund_scale;
    st->g_caps = caps;
    st->g_mmr = mmr;
    st->g_cum = cum;
    st->g_imr = imr;
}

/* Whether the AVX-512 kernel runs: the CPU has AVX-512F and the environment variable
 * RISK_SWEEP_SIMD does not cap it ("off", or any value but "avx512": the scalar table path for
 * every account), as RISK_STRESS_SIMD caps the stress kernels. Both give the same bits;
 * tests/test_sweep.c runs each, so that the path of CPUs without AVX-512 is tested on this one. */
static int simd_avx512(void)
{
    const char *cap = getenv("RISK_SWEEP_SIMD");
    if (cap && strcmp(cap, "avx512") != 0)
        return 0;
    __builtin_cpu_init(); /* idempotent; needed should a sweep run before the constructors */
    return __builtin_cpu_supports("avx512f");
}

const char *risk__sweep_simd_isa(void)
{
    return simd_avx512() ? "avx512" : "off";
}

/* Fills the table from the sweep's scalar table (filled, n entries, max_tiers); returns 0 when
 * the engine does not qualify or the AVX-512 kernel does not run (simd_avx512), or when it has
 * more than SIMD_INSTS instruments and g (room for the gather arrays, see simd_gather_fill) is
 * NULL. */
static int simd_table_fill(const risk_engine *e, const sweep_inst *table, uint32_t n, uint32_t max_tiers,
                           simd_table *st, double *g)
{
    st->g = NULL;
    if (n == 0 || max_tiers > RISK__SWEEP_CAPS || e->n_upnl_weighted)
        return 0;
    if (!simd_avx512())
        return 0;
    uint32_t nt = max_tiers ? max_tiers : 1;
    int settle1 = 1, cs1 = 1;
    st->any_inverse = 0;
    for (uint32_t k = 0; k < n; k++) {
        st->any_inverse |= (int)table[k].inverse;
        /* the unit variants have no inverse lanes: a coin priced at exactly 1 keeps them off too */
        settle1 &= table[k].settle_price == 1.0 && !table[k].generic && !table[k].inverse;
        cs1 &= table[k].contract_size == 1.0;
    }
    st->unit = settle1 ? SIMD_UNIT_SETTLE | (cs1 ? SIMD_UNIT_CS : 0) : 0;
    if (n > SIMD_INSTS) {
        if (!g)
            return 0;
        simd_gather_fill(e, table, n, nt, st, g);
    }
    for (uint32_t k = 0; n <= SIMD_INSTS && k < SIMD_INSTS; k++) {
        const sweep_inst *t = &table[k < n ? k : 0]; /* entries past n: copies of entry 0, never read */
        const risk__schedule *s = &e->instruments[k < n ? k : 0].schedule;
        st->mark[k] = t->mark;
        st->cs[k] = t->contract_size;
        st->settle[k] = t->settle_price;
        st->generic[k] = t->generic ? 1.0 : 0.0;
        st->inverse[k] = t->inverse ? 1.0 : 0.0;
        simd_funding_fields(e, k < n ? k : 0, &st->fund_long[k], &st->fund_short[k], &st->fund_scale[k]);
        for (uint32_t j = 0; j + 1 < nt; j++)
            st->caps[j][k] = t->caps[j];
        for (uint32_t j = 0; j < nt; j++) {
            uint32_t tj = j < s->n_tiers ? j : s->n_tiers - 1; /* past its last tier: never chosen */
            st->mmr[j][k] = s->tiers[tj].mmr;
            st->cum[j][k] = s->tiers[tj].cum;
            st->imr[j][k] = s->im_rate[tj];
        }
    }
    st->n_tiers = nt;
    st->assets16 = e->n_assets <= SIMD_INSTS;
    for (uint32_t k = 0; st->assets16 && k < SIMD_INSTS; k++) {
        const risk__asset *as = &e->assets[k < e->n_assets ? k : 0]; /* past n: copies, never read */
        st->a_price[k] = as->price;
        st->a_ipos[k] = as->index_pos;
        st->a_ineg[k] = as->index_neg;
        st->a_wi[k] = as->weight_init;
        st->a_wm[k] = as->weight_maint;
        st->a_lwi[k] = as->liab_weight_init;
        st->a_lwm[k] = as->liab_weight_maint;
        st->a_plain[k] = (as->tiers == NULL && !as->size_scaled) ? 1.0 : 0.0;
    }
    st->quantize = !(e->flags & RISK_ENGINE_NO_QUANTIZE) && e->valuation != RISK_ID_NONE;
    st->scale = st->quantize ? risk__asset_scale(&e->assets[e->valuation]) : 1.0;
    st->margin_call_health = e->margin_call_health;
    st->funding = (int)e->funding_active;
    st->fund_quantize = !(e->flags & RISK_ENGINE_NO_QUANTIZE);
    st->stream = (double)e->n_accounts * (double)sizeof(risk_account_summary) >= SIMD_STREAM_BYTES;
    return 1;
}

/* An account the SIMD path takes (it may still turn out not common: simd_accounts8 says so):
 * up to 16 positions, in one or two vectors. */
static inline int simd_candidate(const risk_account *a)
{
    return !a->sweep_generic && a->n_pos <= 16 && a->margin_mode != RISK_MARGIN_PORTFOLIO;
}

#define SIMD_FN static __attribute__((target("avx512f")))
#define SIMD_INL static inline __attribute__((always_inline, target("avx512f")))

SIMD_INL __m512d simd_lookup(const double *t16, __m512i idx)
{
    return _mm512_permutex2var_pd(_mm512_load_pd(t16), idx, _mm512_load_pd(t16 + 8));
}

/* An instrument field for the instruments idx: from the 16-entry table t16 by permutes, or
 * (gather, a constant at each call) from the n-entry array tn */
SIMD_INL __m512d simd_field(const double *t16, const double *tn, __m512i idx, const int gather)
{
    return gather ? _mm512_i64gather_pd(idx, tn, 8) : simd_lookup(t16, idx);
}

/* r[i] lane j -> r[j] lane i */
SIMD_INL void simd_transpose8(__m512d r[8])
{
    __m512d t0 = _mm512_unpacklo_pd(r[0], r[1]), t1 = _mm512_unpackhi_pd(r[0], r[1]);
    __m512d t2 = _mm512_unpacklo_pd(r[2], r[3]), t3 = _mm512_unpackhi_pd(r[2], r[3]);
    __m512d t4 = _mm512_unpacklo_pd(r[4], r[5]), t5 = _mm512_unpackhi_pd(r[4], r[5]);
    __m512d t6 = _mm512_unpacklo_pd(r[6], r[7]), t7 = _mm512_unpackhi_pd(r[6], r[7]);
    __m512d u0 = _mm512_shuffle_f64x2(t0, t2, 0x88), u1 = _mm512_shuffle_f64x2(t0, t2, 0xdd);
    __m512d u2 = _mm512_shuffle_f64x2(t1, t3, 0x88), u3 = _mm512_shuffle_f64x2(t1, t3, 0xdd);
    __m512d u4 = _mm512_shuffle_f64x2(t4, t6, 0x88), u5 = _mm512_shuffle_f64x2(t4, t6, 0xdd);
    __m512d u6 = _mm512_shuffle_f64x2(t5, t7, 0x88), u7 = _mm512_shuffle_f64x2(t5, t7, 0xdd);
    r[0] = _mm512_shuffle_f64x2(u0, u4, 0x88);
    r[4] = _mm512_shuffle_f64x2(u0, u4, 0xdd);
    r[2] = _mm512_shuffle_f64x2(u1, u5, 0x88);
    r[6] = _mm512_shuffle_f64x2(u1, u5, 0xdd);
    r[1] = _mm512_shuffle_f64x2(u2, u6, 0x88);
    r[5] = _mm512_shuffle_f64x2(u2, u6, 0xdd);
    r[3] = _mm512_shuffle_f64x2(u3, u7, 0x88);
    r[7] = _mm512_shuffle_f64x2(u3, u7, 0xdd);
}

/* risk__quantize lane by lane: the same operations (the truncation by roundscale, then + 0.0
 * so that (-1, 0) gives +0 as the integer conversion does), the division only in the lanes
 * below 2^52 quanta, the others returned as they are. */
SIMD_INL __m512d simd_quantize(__m512d v, __m512d s, int up)
{
    const __m512d one = _mm512_set1_pd(1.0);
    __m512d n = _mm512_mul_pd(v, s);
    __m512d an = _mm512_abs_pd(n);
    __mmask8 in = _mm512_cmp_pd_mask(an, _mm512_set1_pd(4503599627370496.0), _CMP_LT_OQ);
    __m512d tol = _mm512_mul_pd(_mm512_set1_pd(8.9e-16), _mm512_max_pd(an, one));
    tol = _mm512_min_pd(tol, _mm512_set1_pd(0.0625));
    __m512d x = up ? _mm512_sub_pd(n, tol) : _mm512_add_pd(n, tol);
    __m512d t = _mm512_add_pd(_mm512_roundscale_pd(x, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC), _mm512_setzero_pd());
    __m512d w = up ? _mm512_mask_add_pd(t, _mm512_cmp_pd_mask(t, x, _CMP_LT_OQ), t, one)
                   : _mm512_mask_sub_pd(t, _mm512_cmp_pd_mask(t, x, _CMP_GT_OQ), t, one);
    return _mm512_mask_div_pd(v, in, w, s);
}

/* quantize_as across accounts: when every lane is 0 or equal to the lane of a value quantized
 * just before in the same direction, its quantization without the arithmetic (and division) */
SIMD_INL __m512d simd_quantize_as(__m512d v, __m512d s, int up, __m512d prev, __m512d prev_q)
{
    __mmask8 same = _mm512_cmp_pd_mask(v, prev, _CMP_EQ_OQ);
    __mmask8 zero = _mm512_cmp_pd_mask(v, _mm512_setzero_pd(), _CMP_EQ_OQ);
    if ((__mmask8)(same | zero) != 0xff)
        return simd_quantize(v, s, up);
    return _mm512_maskz_mov_pd(same, prev_q); /* quantize(+-0) is +0 */
}

SIMD_INL __mmask8 simd_finite(__m512d x)
{
    return _mm512_cmp_pd_mask(_mm512_abs_pd(x), _mm512_set1_pd(INFINITY), _CMP_LT_OQ);
}

/* x * y, or x where every y is 1.0 (unit): x * 1.0 is x, bit for bit, for every x */
SIMD_INL __m512d simd_mul_unit(__m512d x, __m512d y, int unit)
{
    return unit ? x : _mm512_mul_pd(x, y);
}

/* p + base, without arithmetic on the NULL columns of an account with no positions (base 0) */
#define SIMD_AT(p, base) ((base) ? (p) + (base) : (p))

/* The pending funding of up to 8 positions (mask m), risk__funding_pending lane by lane: d = the
 * index of the position's side (q > 0: longs') - the index it last settled at, the payment q d
 * rounded up in its settle asset (against the account) unless the engine does not quantize, and
 * -payment received. fund_last: the indices the lanes last settled at (NULL: all 0). *due gets the
 * lanes whose pending funding is not 0 (the others give +0). */
SIMD_INL __m512d simd_pending(const simd_table *st, const double *fund_last, __mmask8 m, __m512d q, __m512i idx,
                              const int gather, __mmask8 *due)
{
    const __m512d zero = _mm512_setzero_pd();
    __m512d last = fund_last ? _mm512_maskz_loadu_pd(m, fund_last) : zero;
    __mmask8 longs = _mm512_cmp_pd_mask(q, zero, _CMP_GT_OQ);
    __m512d index = _mm512_mask_mov_pd(simd_field(st->fund_short, st->g_fund_short, idx, gather), longs,
                                       simd_field(st->fund_long, st->g_fund_long, idx, gather));
    __m512d d = _mm512_sub_pd(index, last);
    __mmask8 live = _mm512_mask_cmp_pd_mask(m, d, zero, _CMP_NEQ_UQ) & _mm512_cmp_pd_mask(q, zero, _CMP_NEQ_UQ);
    if (!live) {
        *due = 0;
        return zero;
    }
    __m512d pay = _mm512_mul_pd(q, d);
    if (st->fund_quantize)
        pay = simd_quantize(pay, simd_field(st->fund_scale, st->g_fund_scale, idx, gather), 1);
    *due = live & _mm512_cmp_pd_mask(pay, zero, _CMP_NEQ_UQ);
    /* -pay by its sign bit, exactly as the scalar negation */
    return _mm512_castsi512_pd(_mm512_maskz_xor_epi64(*due, _mm512_castpd_si512(pay), _mm512_set1_epi64(INT64_MIN)));
}

/* The values of up to 8 positions in the lanes of m (the positions of one account, or position j
 * of eight accounts): the six sums' terms (PnL, gross, cross PnL, IM, MM, isolated margin; -0.0 in
 * the lanes a sum does not take) and, with funding, the pending funding of cross and of isolated
 * positions. */
typedef struct simd_pos {
    __m512d term[6];
    __m512d fund_cross, fund_iso; /* set only when st->funding */
    __mmask8 iso_lanes;           /* the isolated positions */
    __mmask8 liq;                 /* the isolated positions liquidatable by themselves */
    __mmask8 generic;             /* the lanes whose instrument is not on the SIMD path */
} simd_pos;

/* The positions' values from their columns: q, entry, user IM rate, instrument and flags in the
 * lanes of m; *iso_margin + base and *fund_last + base are the lanes' isolated margins and funding
 * indices (*fund_last NULL: all 0), read through the pointers only when a lane needs them, so that
 * an account's sweep does not touch the struct's line that holds them. */
SIMD_INL void simd_position_values(const simd_table *st, __mmask8 m, __m512d q, __m512d entry, __m512d ur,
                                   __m512i idx, __m512i fl, const double *const *iso_margin,
                                   const double *const *fund_last,
                                   uint32_t base, const int unit, const int gather, double (*pv)[8][8], uint32_t i,
                                   simd_pos *P)
{
    const __m512d negz = _mm512_set1_pd(-0.0);
    const __m512i iso_bit = _mm512_set1_epi64(RISK__PF_ISOLATED);
    const uint32_t nt = st->n_tiers;
    const int u_sp = unit & SIMD_UNIT_SETTLE, u_cs = unit & SIMD_UNIT_CS;
    P->generic = u_sp ? 0
                      : _mm512_mask_cmp_pd_mask(m, simd_field(st->generic, st->g_generic, idx, gather),
                                                _mm512_setzero_pd(), _CMP_NEQ_UQ);
    __m512d mark = simd_field(st->mark, st->g_mark, idx, gather);
    __m512d cs = u_cs ? _mm512_set1_pd(1.0) : simd_field(st->cs, st->g_cs, idx, gather);
    __m512d sp = u_sp ? _mm512_set1_pd(1.0) : simd_field(st->settle, st->g_settle, idx, gather);
    __m512d size = simd_mul_unit(_mm512_abs_pd(q), cs, u_cs), qcs = simd_mul_unit(q, cs, u_cs);
    __m512d notional = _mm512_mul_pd(size, mark);
    __m512d upnl = _mm512_mul_pd(qcs, _mm512_sub_pd(mark, entry));
    if (!u_sp && st->any_inverse) { /* inverse lanes (none where settle prices are all 1): size / M, q cs (1/E - 1/M) */
        __mmask8 inv = _mm512_mask_cmp_pd_mask(m, simd_field(st->inverse, st->g_inverse, idx, gather),
                                               _mm512_setzero_pd(), _CMP_NEQ_UQ);
        if (inv) {
            const __m512d one = _mm512_set1_pd(1.0);
            notional = _mm512_mask_div_pd(notional, inv, size, mark);
            __m512d d = _mm512_sub_pd(_mm512_maskz_div_pd(inv, one, entry), _mm512_maskz_div_pd(inv, one, mark));
            upnl = _mm512_mask_mul_pd(upnl, inv, qcs, d);
        }
    }
    __m512d mmr, cum, tr;
    if (gather) { /* the tier first (the same count), then one gather per field */
        __m512i tier = _mm512_setzero_si512();
        for (uint32_t t = 1; t < nt; t++) {
            __m512d cap = _mm512_i64gather_pd(idx, st->g_caps + (size_t)(t - 1) * st->n, 8);
            __mmask8 above = _mm512_cmp_pd_mask(cap, notional, _CMP_LT_OQ);
            if (t >= 3 && !above) /* caps increase: none above a later one either */
                break;
            tier = _mm512_mask_mov_epi64(tier, above, _mm512_set1_epi64(t));
        }
        __m512i at = _mm512_add_epi64(idx, _mm512_mul_epu32(tier, _mm512_set1_epi64(st->n)));
        mmr = _mm512_i64gather_pd(at, st->g_mmr, 8);
        cum = _mm512_i64gather_pd(at, st->g_cum, 8);
        tr = _mm512_i64gather_pd(at, st->g_imr, 8);
    } else {
        mmr = simd_lookup(st->mmr[0], idx);
        cum = simd_lookup(st->cum[0], idx);
        tr = simd_lookup(st->imr[0], idx);
        for (uint32_t t = 1; t < nt; t++) { /* tier t when cap t - 1 is below the notional */
            __mmask8 above = _mm512_cmp_pd_mask(simd_lookup(st->caps[t - 1], idx), notional, _CMP_LT_OQ);
            if (t >= 3 && !above) /* caps increase: none above a later one either */
                break;
            mmr = _mm512_mask_mov_pd(mmr, above, simd_lookup(st->mmr[t], idx));
            cum = _mm512_mask_mov_pd(cum, above, simd_lookup(st->cum[t], idx));
            tr = _mm512_mask_mov_pd(tr, above, simd_lookup(st->imr[t], idx));
        }
    }
    __m512d mm = _mm512_sub_pd(_mm512_mul_pd(notional, mmr), cum);
    __m512d im = _mm512_mul_pd(notional, _mm512_max_pd(ur, tr)); /* ur > tr ? ur : tr */
    __m512d upnl_v = simd_mul_unit(upnl, sp, u_sp);
    __mmask8 iso = _mm512_mask_test_epi64_mask(m, fl, iso_bit), cross = m & (__mmask8)~iso;
    /* only with an isolated lane: AMD's masked loads read the whole line whatever the mask */
    __m512d iso_m = iso ? _mm512_maskz_loadu_pd(iso, SIMD_AT(*iso_margin, base)) : _mm512_setzero_pd();
    P->iso_lanes = iso;
    __m512d iso_liq = iso_m; /* the isolated margin the position's own test sees */
    if (st->funding) { /* pending funding, added after the positions' sums (simd_sum_from) */
        __mmask8 due = 0;
        __m512d got = simd_pending(st, *fund_last ? SIMD_AT(*fund_last, base) : NULL, m, q, idx, gather, &due);
        __m512d got_v = simd_mul_unit(got, sp, u_sp);
        P->fund_cross = _mm512_mask_mov_pd(negz, due & cross, got_v);
        P->fund_iso = _mm512_mask_mov_pd(negz, due & iso, got_v);
        if (pv) {
            _mm512_store_pd(pv[6][i], P->fund_cross);
            _mm512_store_pd(pv[7][i], P->fund_iso);
        }
        iso_liq = _mm512_mask_add_pd(iso_m, due & iso, iso_m, got); /* (m + got) + upnl < mm */
    }
    P->liq = _mm512_mask_cmp_pd_mask(iso, _mm512_add_pd(iso_liq, upnl), mm, _CMP_LT_OQ);
    P->term[0] = _mm512_mask_mov_pd(negz, m, upnl_v);
    P->term[1] = _mm512_mask_mov_pd(negz, m, simd_mul_unit(notional, sp, u_sp));
    P->term[2] = _mm512_mask_mov_pd(negz, cross, upnl_v);
    P->term[3] = _mm512_mask_mov_pd(negz, cross, simd_mul_unit(im, sp, u_sp));
    P->term[4] = _mm512_mask_mov_pd(negz, cross, simd_mul_unit(mm, sp, u_sp));
    P->term[5] = _mm512_mask_mov_pd(negz, iso, simd_mul_unit(iso_m, sp, u_sp));
    if (pv) { /* an account's positions: stored for the transposed sums (simd_sums) */
        _mm512_store_pd(pv[0][i], P->term[0]);
        _mm512_store_pd(pv[1][i], P->term[1]);
        _mm512_store_pd(pv[2][i], P->term[2]);
        _mm512_store_pd(pv[3][i], P->term[3]);
        _mm512_store_pd(pv[4][i], P->term[4]);
        _mm512_store_pd(pv[5][i], P->term[5]);
    }
}

/* Up to 8 positions of an account, from slot base (mask m of the slots that exist), into the six
 * per-position vectors pv[k] (and, with funding, pv[6] and pv[7]) of account i. Returns the mask
 * of the isolated positions liquidatable by themselves; *iso_out gets the isolated lanes and
 * *general 1 when a position's instrument is not on the SIMD path. */
SIMD_INL __mmask8 simd_positions8(const simd_table *st, const risk_account *a, uint32_t base, __mmask8 m,
                                  double (*pv)[8][8], uint32_t i, __mmask8 *iso_out, uint32_t *general,
                                  const int unit, const int gather)
{
    __m512d q = _mm512_maskz_loadu_pd(m, SIMD_AT(a->qty, base));
    __m512d entry = _mm512_maskz_loadu_pd(m, SIMD_AT(a->entry, base));
    __m512d ur = _mm512_maskz_loadu_pd(m, SIMD_AT(a->im_rate, base));
    __m512i idx =
        _mm512_cvtepu32_epi64(_mm512_castsi512_si256(_mm512_maskz_loadu_epi32((__mmask16)m, SIMD_AT(a->inst, base))));
    __m512i fl =
        _mm512_cvtepu32_epi64(_mm512_castsi512_si256(_mm512_maskz_loadu_epi32((__mmask16)m, SIMD_AT(a->pflags, base))));
    simd_pos P;
    simd_position_values(st, m, q, entry, ur, idx, fl, (const double *const *)&a->iso_margin,
                         (const double *const *)&a->fund_last, base, unit, gather, pv, i, &P);
    if (P.generic)
        *general = 1;
    *iso_out = P.iso_lanes;
    return P.liq;
}

/* start plus the terms of one per-position vector of eight accounts (pv: positions 0-7; pv_hi:
 * 8-15, when hi is set): transposed (8 x 8) so that the lanes are the accounts, then added
 * position by position after start, so each account's terms run in position order, as the
 * scalar loop's. -0.0 terms (positions an account does not have, or that a sum does not take)
 * are the exact identity. */
SIMD_INL __m512d simd_add_positions(double (*pv)[8], __m512d s)
{
    __m512d r[8];
    for (int i = 0; i < 8; i++)
        r[i] = _mm512_load_pd(pv[i]);
    simd_transpose8(r);
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
        s = _mm512_add_pd(s, r[j]);
    return s;
}

SIMD_INL __m512d simd_sum_from(double (*pv)[8], double (*pv_hi)[8], int hi, __m512d start)
{
    __m512d s = simd_add_positions(pv, start);
    return hi ? simd_add_positions(pv_hi, s) : s;
}

/* The sums of the six per-position vectors of eight accounts, each from +0 (simd_sum_from). */
SIMD_INL void simd_sums(double (*pv)[8][8], double (*pv_hi)[8][8], int hi, __mmask8 any_iso, __m512d *sum)
{
    sum[2] = _mm512_setzero_pd();
    sum[5] = _mm512_setzero_pd();
    for (int k = 0; k < 6; k++)
        if (any_iso || (k != 2 && k != 5))
            sum[k] = simd_sum_from(pv[k], pv_hi[k], hi, _mm512_setzero_pd());
}

/* The basket values of eight accounts, lane by lane (basket_values_plain's seven sums). */
typedef struct simd_baskets {
    _Alignas(64) double net[8];
    _Alignas(64) double coll[8];
    _Alignas(64) double ci[8];
    _Alignas(64) double cm[8];
    _Alignas(64) double liab[8];
    _Alignas(64) double li[8];
    _Alignas(64) double lm[8];
} simd_baskets;

/* Lane i of B: basket b's values (b NULL: an idle lane, all 0). Returns 1 when a balance is of
 * an asset that is not plain (the lane is then not evaluated here). */
SIMD_INL uint32_t simd_basket_put(simd_baskets *B, uint32_t i, const risk_basket *b, const risk__asset *assets)
{
    risk__basket_values bv = {0, 0, 0, 0, 0, 0, 0, 0};
    uint32_t general = b ? basket_values_plain(b, assets, &bv) : 0;
    B->net[i] = bv.net_value;
    B->coll[i] = bv.collateral_value;
    B->ci[i] = bv.collateral_init;
    B->cm[i] = bv.collateral_maint;
    B->liab[i] = bv.liabilities;
    B->li[i] = bv.liabilities_init;
    B->lm[i] = bv.liabilities_maint;
    return general;
}

/* Lanes `one` of B from their one balance each (asset ids ai_row, scaled amounts sc_row; engines
 * of at most SIMD_INSTS assets): basket_values_plain's operations on one balance, each sum +0.0
 * plus its term (so a -0.0 term gives +0.0 as there). The other lanes of B are kept. Returns the
 * lanes of `one` holding a balance of an asset that is not plain. */
SIMD_INL __mmask8 simd_baskets_one(const simd_table *st, __mmask8 one, const uint32_t *ai_row, const double *sc_row,
                                   simd_baskets *B)
{
    const __m512d zero = _mm512_setzero_pd();
    __m512i ai = _mm512_cvtepu32_epi64(_mm256_load_si256((const __m256i *)(const void *)ai_row));
    __m512d sc = _mm512_load_pd(sc_row);
    __mmask8 general = one & _mm512_cmp_pd_mask(simd_lookup(st->a_plain, ai), zero, _CMP_EQ_OQ);
    __m512d price = simd_lookup(st->a_price, ai);
    __mmask8 dep = _mm512_cmp_pd_mask(sc, zero, _CMP_GT_OQ); /* risk__balance_of: scaled > 0 */
    __m512d amount = _mm512_mul_pd(sc, _mm512_mask_mov_pd(simd_lookup(st->a_ineg, ai), dep, simd_lookup(st->a_ipos, ai)));
    __mmask8 pos = _mm512_cmp_pd_mask(amount, zero, _CMP_GT_OQ), neg = one & (__mmask8)~pos;
    __m512d value = _mm512_mul_pd(price, amount);
    /* -amount x price, the negation by the sign bit as the scalar one */
    __m512d liab = _mm512_mul_pd(
        _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(amount), _mm512_set1_epi64(INT64_MIN))), price);
    _mm512_store_pd(B->net, _mm512_mask_add_pd(_mm512_load_pd(B->net), one, zero, _mm512_mul_pd(amount, price)));
    _mm512_store_pd(B->coll, _mm512_mask_mov_pd(_mm512_load_pd(B->coll), one, _mm512_maskz_add_pd(pos, zero, value)));
    _mm512_store_pd(B->ci, _mm512_mask_mov_pd(_mm512_load_pd(B->ci), one,
                                             _mm512_maskz_add_pd(pos, zero, _mm512_mul_pd(value, simd_lookup(st->a_wi, ai)))));
    _mm512_store_pd(B->cm, _mm512_mask_mov_pd(_mm512_load_pd(B->cm), one,
                                             _mm512_maskz_add_pd(pos, zero, _mm512_mul_pd(value, simd_lookup(st->a_wm, ai)))));
    _mm512_store_pd(B->liab, _mm512_mask_mov_pd(_mm512_load_pd(B->liab), one, _mm512_maskz_add_pd(neg, zero, liab)));
    _mm512_store_pd(B->li, _mm512_mask_mov_pd(_mm512_load_pd(B->li), one,
                                             _mm512_maskz_add_pd(neg, zero, _mm512_mul_pd(liab, simd_lookup(st->a_lwi, ai)))));
    _mm512_store_pd(B->lm, _mm512_mask_mov_pd(_mm512_load_pd(B->lm), one,
                                             _mm512_maskz_add_pd(neg, zero, _mm512_mul_pd(liab, simd_lookup(st->a_lwm, ai)))));
    return general;
}

/* The summaries of eight accounts from their sums and basket values (lane i: account i), written
 * to out[i] for i < n but for the lanes of general, which are the caller's to fill; returns
 * general. When the eight summaries are consecutive, start a line and the book is large
 * (st->stream), they are built in L1 and streamed out. */
SIMD_INL uint32_t simd_summary8(const simd_table *st, __m512d upnl, __m512d gross, __m512d cross_upnl, __m512d iso,
                                __m512d im_sum, __m512d mm_sum, const simd_baskets *B, const int64_t *npos,
                                const int64_t *niso, uint32_t n, risk_account_summary *const *out, uint32_t general)
{
    __m512d liab_raw = _mm512_load_pd(B->liab);
    __m512d equity = _mm512_add_pd(_mm512_add_pd(_mm512_load_pd(B->net), upnl), iso);
    __m512d c_init = _mm512_add_pd(_mm512_load_pd(B->ci), cross_upnl);
    __m512d c_maint = _mm512_add_pd(_mm512_load_pd(B->cm), cross_upnl);
    __m512d r_init = _mm512_add_pd(_mm512_load_pd(B->li), im_sum);
    __m512d r_maint = _mm512_add_pd(_mm512_load_pd(B->lm), mm_sum);
    __m512d coll = _mm512_load_pd(B->coll), liab = liab_raw;
    if (st->quantize) {
        __m512d s = _mm512_set1_pd(st->scale);
        const __m512d z = _mm512_setzero_pd();
        __m512d q_equity = simd_quantize(equity, s, 0);
        __m512d q_c_init = simd_quantize_as(c_init, s, 0, equity, q_equity);
        __m512d q_c_maint = simd_quantize_as(c_maint, s, 0, c_init, q_c_init);
        __m512d q_coll = simd_quantize_as(coll, s, 0, c_maint, q_c_maint);
        __m512d q_upnl = simd_quantize_as(upnl, s, 0, equity, q_equity);
        __m512d q_iso = simd_quantize_as(iso, s, 0, z, z);
        __m512d q_r_init = simd_quantize_as(r_init, s, 1, z, z);
        __m512d q_r_maint = simd_quantize_as(r_maint, s, 1, r_init, q_r_init);
        __m512d q_liab = simd_quantize_as(liab, s, 1, z, z);
        equity = q_equity;
        c_init = q_c_init;
        c_maint = q_c_maint;
        coll = q_coll;
        upnl = q_upnl;
        iso = q_iso;
        r_init = q_r_init;
        r_maint = q_r_maint;
        liab = q_liab;
    }
    __mmask8 finite = simd_finite(equity) & simd_finite(c_init) & simd_finite(c_maint) & simd_finite(r_init) &
                      simd_finite(r_maint) & simd_finite(coll) & simd_finite(liab) & simd_finite(upnl) &
                      simd_finite(iso);
    /* summary_set, lane by lane */
    const __m512d zero = _mm512_setzero_pd(), inf = _mm512_set1_pd(INFINITY);
    __mmask8 rm_pos = _mm512_cmp_pd_mask(r_maint, zero, _CMP_GT_OQ);
    __mmask8 cm_pos = _mm512_cmp_pd_mask(c_maint, zero, _CMP_GT_OQ);
    __mmask8 coll_pos = _mm512_cmp_pd_mask(coll, zero, _CMP_GT_OQ);
    __m512d hf = _mm512_mask_div_pd(inf, rm_pos, c_maint, r_maint);
    __m512d buffer = _mm512_sub_pd(c_init, liab);
    __m512d available = _mm512_sub_pd(c_init, r_init);
    __m512d mr = _mm512_maskz_mov_pd(rm_pos, _mm512_mask_div_pd(inf, cm_pos, r_maint, c_maint));
    __m512d ltv = _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(liab, zero, _CMP_GT_OQ), inf);
    ltv = _mm512_mask_div_pd(ltv, coll_pos, liab, coll);
    __m512i sign = _mm512_and_si512(_mm512_castpd_si512(buffer), _mm512_set1_epi64(INT64_MIN));
    __m512d signed_inf = _mm512_castsi512_pd(_mm512_or_si512(sign, _mm512_castpd_si512(inf)));
    __m512d ltvb = _mm512_mask_mov_pd(signed_inf, _mm512_cmp_pd_mask(buffer, zero, _CMP_EQ_OQ), zero);
    ltvb = _mm512_mask_div_pd(ltvb, coll_pos, buffer, coll);
    __m512d lev = _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(gross, zero, _CMP_GT_OQ),
                                      _mm512_mask_div_pd(inf, _mm512_cmp_pd_mask(equity, zero, _CMP_GT_OQ), gross, equity));
    __m512i np = _mm512_load_si512(npos), ni = _mm512_load_si512(niso);
    __mmask8 owes = _mm512_cmp_epi64_mask(np, _mm512_setzero_si512(), _MM_CMPINT_NE) |
                    _mm512_cmp_pd_mask(liab_raw, zero, _CMP_GT_OQ);
    __mmask8 bankrupt = (__mmask8)~finite | _mm512_cmp_pd_mask(hf, hf, _CMP_UNORD_Q) |
                        _mm512_cmp_pd_mask(available, available, _CMP_UNORD_Q) |
                        (owes & _mm512_cmp_pd_mask(equity, zero, _CMP_LE_OQ));
    __mmask8 liquidatable = _mm512_cmp_pd_mask(hf, _mm512_set1_pd(1.0), _CMP_LT_OQ) |
                            _mm512_cmp_epi64_mask(ni, _mm512_setzero_si512(), _MM_CMPINT_NE);
    __mmask8 call = _mm512_cmp_pd_mask(hf, _mm512_set1_pd(st->margin_call_health), _CMP_LT_OQ);
    __m512i state = _mm512_maskz_mov_epi64(call, _mm512_set1_epi64(RISK_STATE_MARGIN_CALL));
    state = _mm512_mask_mov_epi64(state, liquidatable, _mm512_set1_epi64(RISK_STATE_LIQUIDATABLE));
    state = _mm512_mask_mov_epi64(state, bankrupt, _mm512_set1_epi64(RISK_STATE_BANKRUPT));
    /* the 17 words of each summary: version | state << 32, 15 doubles, n_positions | n_iso << 32 */
    __m512d w0 = _mm512_castsi512_pd(
        _mm512_or_si512(_mm512_slli_epi64(state, 32), _mm512_set1_epi64(RISK_ACCOUNT_SUMMARY_VERSION)));
    __m512d lo[8] = {w0, equity, coll, upnl, r_init, r_maint, available, hf};
    __m512d hi[8] = {mr, ltv, ltvb, lev, c_init, c_maint, liab, iso};
    _Alignas(64) int64_t last[8];
    _mm512_store_si512(last, _mm512_or_si512(np, _mm512_slli_epi64(ni, 32)));
    simd_transpose8(lo);
    simd_transpose8(hi);
    int whole = st->stream && n == 8 && !general && ((uintptr_t)out[0] & 63u) == 0;
    for (uint32_t i = 1; whole && i < 8; i++)
        whole = out[i] == out[0] + i;
    if (whole) { /* eight consecutive summaries = 17 aligned lines: built in L1, streamed out */
        _Alignas(64) unsigned char buf[8 * sizeof(risk_account_summary)];
        for (uint32_t i = 0; i < 8; i++) {
            unsigned char *o = buf + i * sizeof(risk_account_summary);
            _mm512_storeu_pd(o, lo[i]);
            _mm512_storeu_pd(o + 64, hi[i]);
            memcpy(o + 128, &last[i], 8);
        }
        double *dst = (double *)(void *)out[0];
        for (uint32_t l = 0; l < sizeof buf / 64; l++)
            _mm512_stream_pd(dst + 8 * l, _mm512_load_pd((const double *)(const void *)(buf + 64 * l)));
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (general & (1u << i))
            continue;
        unsigned char *o = (unsigned char *)out[i];
        _mm512_storeu_pd(o, lo[i]);
        _mm512_storeu_pd(o + 64, hi[i]);
        memcpy(o + 128, &last[i], 8);
    }
    return general;
}

/* Evaluates acc[0..n) (n <= 8, candidates) into out[0..n). Returns the mask of the accounts it
 * did not evaluate (not common: a generic instrument or a balance of a tiered or size-scaled
 * asset); their summaries are untouched, the caller's to fill. unit (a constant at each call):
 * SIMD_UNIT_* bits, what is 1 for every instrument of the table, so that the lookups and
 * products by it are left out (the same bits); gather: the instrument fields come from the
 * gather arrays (more than SIMD_INSTS instruments); two: an account of the group has 9 to 16
 * positions (a second vector each). All three are constants at each call. */
SIMD_INL uint32_t simd_accounts8_body(const simd_table *st, const risk__asset *assets,
                                      const risk_account *const *acc, uint32_t n, risk_account_summary *const *out,
                                      const int unit, const int gather, const int two)
{
    /* [sum][account][position]: the six sums, then pending funding of cross and of isolated
     * positions (st->funding) */
    _Alignas(64) double pv[8][8][8];
    _Alignas(64) double pv_hi[8][8][8]; /* positions 8-15, when an account of the group has them */
    const int nk = st->funding ? 8 : 6;
    simd_baskets B;
    _Alignas(64) int64_t npos[8], niso[8];
    uint32_t general = 0;
    __mmask8 any_iso = 0;
    for (uint32_t i = 0; i < 8; i++) {
        if (i >= n) {
            for (int k = 0; k < nk; k++) {
                _mm512_store_pd(pv[k][i], _mm512_setzero_pd());
                if (two)
                    _mm512_store_pd(pv_hi[k][i], _mm512_setzero_pd());
            }
            simd_basket_put(&B, i, NULL, assets);
            npos[i] = niso[i] = 0;
            continue;
        }
        const risk_account *a = acc[i];
        uint32_t np = a->n_pos, gen = 0;
        __mmask8 iso;
        __mmask8 m = (__mmask8)(!two || np < 8 ? (1u << np) - 1u : 0xffu);
        int liq = __builtin_popcount(simd_positions8(st, a, 0, m, pv, i, &iso, &gen, unit, gather));
        any_iso |= iso;
        if (two && np > 8) {
            liq += __builtin_popcount(
                simd_positions8(st, a, 8, (__mmask8)((1u << (np - 8)) - 1u), pv_hi, i, &iso, &gen, unit, gather));
            any_iso |= iso;
        } else if (two) {
            for (int k = 0; k < nk; k++)
                _mm512_store_pd(pv_hi[k][i], _mm512_set1_pd(-0.0));
        }
        general |= gen << i;
        npos[i] = np;
        niso[i] = liq;
        general |= simd_basket_put(&B, i, &a->basket, assets) << i; /* (in vector lanes: no gain here) */
    }
    /* Without an isolated position in the group the cross PnL is the PnL, term by term (the
     * same bits), and the isolated margin +0 (a sum of -0.0 terms from +0.0): two transposes
     * fewer. */
    __m512d sum[6];
    simd_sums(pv, pv_hi, two, any_iso, sum);
    __m512d upnl = sum[0], gross = sum[1], cross_upnl = any_iso ? sum[2] : sum[0], iso = sum[5];
    if (st->funding) { /* pending funding after the positions' sums, position by position, as
                        * risk__funding_values_add adds it */
        upnl = simd_sum_from(pv[6], pv_hi[6], two, upnl);
        cross_upnl = simd_sum_from(pv[6], pv_hi[6], two, cross_upnl);
        iso = simd_sum_from(pv[7], pv_hi[7], two, iso);
    }
    return simd_summary8(st, upnl, gross, cross_upnl, iso, sum[3], sum[4], &B, npos, niso, n, out, general);
}
/* The variants: what is 1 for every instrument (unit), lookups by permutes or gathers, and
 * accounts of up to 8 positions or of up to 16 (two vectors) in the group */
typedef uint32_t (*simd_variant_fn)(const simd_table *, const risk__asset *, const risk_account *const *, uint32_t,
                                    risk_account_summary *const *);
#define SIMD_VARIANT(name, unit, gather, two)                                                             \
    SIMD_FN uint32_t name(const simd_table *st, const risk__asset *assets, const risk_account *const *acc, \
                          uint32_t n, risk_account_summary *const *out)                                   \
    {                                                                                                     \
        return simd_accounts8_body(st, assets, acc, n, out, unit, gather, two);                           \
    }
SIMD_VARIANT(simd_accounts8, 0, 0, 0)
SIMD_VARIANT(simd_accounts8_settle1, SIMD_UNIT_SETTLE, 0, 0)
SIMD_VARIANT(simd_accounts8_unit, SIMD_UNIT_SETTLE | SIMD_UNIT_CS, 0, 0)
SIMD_VARIANT(simd_accounts8_g, 0, 1, 0)
SIMD_VARIANT(simd_accounts8_settle1_g, SIMD_UNIT_SETTLE, 1, 0)
SIMD_VARIANT(simd_accounts8_unit_g, SIMD_UNIT_SETTLE | SIMD_UNIT_CS, 1, 0)
SIMD_VARIANT(simd_accounts16, 0, 0, 1)
SIMD_VARIANT(simd_accounts16_settle1, SIMD_UNIT_SETTLE, 0, 1)
SIMD_VARIANT(simd_accounts16_unit, SIMD_UNIT_SETTLE | SIMD_UNIT_CS, 0, 1)
SIMD_VARIANT(simd_accounts16_g, 0, 1, 1)
SIMD_VARIANT(simd_accounts16_settle1_g, SIMD_UNIT_SETTLE, 1, 1)
SIMD_VARIANT(simd_accounts16_unit_g, SIMD_UNIT_SETTLE | SIMD_UNIT_CS, 1, 1)
#undef SIMD_VARIANT

/* [two][gather][unit: 0, settle 1, settle and contract size 1] */
static const simd_variant_fn simd_variants[2][2][3] = {
    {{simd_accounts8, simd_accounts8_settle1, simd_accounts8_unit},
     {simd_accounts8_g, simd_accounts8_settle1_g, simd_accounts8_unit_g}},
    {{simd_accounts16, simd_accounts16_settle1, simd_accounts16_unit},
     {simd_accounts16_g, simd_accounts16_settle1_g, simd_accounts16_unit_g}}};

SIMD_FN void simd_fence(void)
{
    _mm_sfence();
}

/* A group of candidates (two: one of them has more than 8 positions): the SIMD path, then the
 * generic path for those it did not take. */
static void simd_group_run(const simd_table *st, const risk_account *const *group, uint32_t n,
                           risk_account_summary *const *out, int two)
{
    const risk__asset *assets = group[0]->engine->assets;
    int unit = st->unit == (SIMD_UNIT_SETTLE | SIMD_UNIT_CS) ? 2 : st->unit == SIMD_UNIT_SETTLE ? 1 : 0;
    uint32_t rest = simd_variants[two != 0][st->g != NULL][unit](st, assets, group, n, out);
    for (uint32_t i = 0; rest; i++, rest >>= 1)
        if (rest & 1u) {
            out[i]->version = RISK_ACCOUNT_SUMMARY_VERSION;
            evaluate_one(group[i], out[i]);
        }
}

/* ---- the sweep image's tiles (RISK_ENGINE_SWEEP_IMAGE, core/sweep_image.c) */

/* The tile's balances into B: lanes of one balance by simd_baskets_one, the others (two
 * balances, none, or more than SIMD_INSTS assets) lane by lane through basket_values_plain.
 * Returns the lanes holding a balance of an asset that is not plain. */
SIMD_INL __mmask8 tile_baskets(const simd_table *st, const risk__asset *assets, const risk__tile *T, __mmask8 lanes,
                               simd_baskets *B)
{
    __m512i nb = _mm512_cvtepu32_epi64(_mm256_load_si256((const __m256i *)(const void *)T->n_bal));
    __mmask8 one = st->assets16 ? _mm512_mask_cmp_epi64_mask(lanes, nb, _mm512_set1_epi64(1), _MM_CMPINT_EQ) : 0;
    __mmask8 general = 0;
    for (uint32_t l = 0; l < 8; l++) {
        if (one & (1u << l))
            continue;
        /* the lane's balances as a basket: basket_values_plain reads these three */
        uint32_t asset[RISK__BASKET_INLINE];
        double amount[RISK__BASKET_INLINE];
        for (uint32_t i = 0; i < RISK__BASKET_INLINE; i++) {
            asset[i] = T->bal_asset[i][l];
            amount[i] = T->bal_amount[i][l];
        }
        risk_basket b;
        b.n = T->n_bal[l];
        b.asset = asset;
        b.amount = amount;
        general |= (__mmask8)(simd_basket_put(B, l, lanes & (1u << l) ? &b : NULL, assets) << l);
    }
    return one ? general | simd_baskets_one(st, one, T->bal_asset[0], T->bal_amount[0], B) : general;
}

/* One tile: its lanes (accounts) in the vector's lanes, position j of each from row j, so that
 * each sum runs position by position from +0.0 as the scalar loop's and no transpose is needed
 * (rows past a lane's positions give -0.0, the identity). o[l]: lane l's summary (every lane's
 * pointer valid). Returns the lanes of T->lanes it did not evaluate (a generic instrument or a
 * balance of a tiered or size-scaled asset), whose summaries are untouched. unit and gather as
 * for simd_accounts8_body. */
SIMD_INL uint32_t tile_body(const simd_table *st, const risk__asset *assets, const risk__tile *T,
                            risk_account_summary *const *o, const int unit, const int gather)
{
    const __mmask8 lanes = (__mmask8)T->lanes;
    const __m512i np = _mm512_load_si512(T->n_pos); /* 0 outside lanes */
    const uint32_t depth = T->depth;
    __m512d sum[6];
    for (int k = 0; k < 6; k++)
        sum[k] = _mm512_setzero_pd();
    _Alignas(64) double fr[2][RISK__TILE_DEPTH][8]; /* pending funding of cross / isolated positions */
    __m512i n_liq = _mm512_setzero_si512();
    __mmask8 general = 0;
    for (uint32_t j = 0; j < depth; j++) {
        __mmask8 m = _mm512_cmp_epi64_mask(np, _mm512_set1_epi64(j), _MM_CMPINT_GT);
        __m512d q = _mm512_maskz_load_pd(m, T->qty[j]);
        __m512d entry = _mm512_maskz_load_pd(m, T->entry[j]);
        __m512d ur = _mm512_maskz_load_pd(m, T->im_rate[j]);
        __m512i idx = _mm512_cvtepu32_epi64(_mm256_load_si256((const __m256i *)(const void *)T->inst[j]));
        __m512i fl = _mm512_cvtepu32_epi64(_mm256_load_si256((const __m256i *)(const void *)T->pflags[j]));
        const double *iso_row = T->iso_margin[j], *fund_row = T->fund_last[j];
        simd_pos P;
        simd_position_values(st, m, q, entry, ur, idx, fl, &iso_row, &fund_row, 0, unit, gather, NULL, 0, &P);
        general |= P.generic;
        sum[0] = _mm512_add_pd(sum[0], P.term[0]);
        sum[1] = _mm512_add_pd(sum[1], P.term[1]);
        sum[2] = _mm512_add_pd(sum[2], P.term[2]);
        sum[3] = _mm512_add_pd(sum[3], P.term[3]);
        sum[4] = _mm512_add_pd(sum[4], P.term[4]);
        sum[5] = _mm512_add_pd(sum[5], P.term[5]);
        if (st->funding) {
            _mm512_store_pd(fr[0][j], P.fund_cross);
            _mm512_store_pd(fr[1][j], P.fund_iso);
        }
        n_liq = _mm512_mask_add_epi64(n_liq, P.liq, n_liq, _mm512_set1_epi64(1));
    }
    __m512d upnl = sum[0], cross_upnl = sum[2], iso = sum[5];
    if (st->funding) { /* pending funding after the positions' sums, position by position */
        for (uint32_t j = 0; j < depth; j++)
            upnl = _mm512_add_pd(upnl, _mm512_load_pd(fr[0][j]));
        for (uint32_t j = 0; j < depth; j++)
            cross_upnl = _mm512_add_pd(cross_upnl, _mm512_load_pd(fr[0][j]));
        for (uint32_t j = 0; j < depth; j++)
            iso = _mm512_add_pd(iso, _mm512_load_pd(fr[1][j]));
    }
    simd_baskets B;
    _Alignas(64) int64_t niso[8];
    _mm512_store_si512(niso, n_liq);
    general |= tile_baskets(st, assets, T, lanes, &B);
    general &= lanes;
    simd_summary8(st, upnl, sum[1], cross_upnl, iso, sum[3], sum[4], &B, T->n_pos, niso, 8, o,
                  (uint32_t)(general | (__mmask8)~lanes));
    return general;
}

typedef uint32_t (*tile_variant_fn)(const simd_table *, const risk__asset *, const risk__tile *,
                                    risk_account_summary *const *);
#define TILE_VARIANT(name, unit, gather)                                                                    \
    SIMD_FN uint32_t name(const simd_table *st, const risk__asset *assets, const risk__tile *T,               \
                          risk_account_summary *const *o)                                                   \
    {                                                                                                       \
        return tile_body(st, assets, T, o, unit, gather);                                                   \
    }
TILE_VARIANT(tile_run, 0, 0)
TILE_VARIANT(tile_run_settle1, SIMD_UNIT_SETTLE, 0)
TILE_VARIANT(tile_run_unit, SIMD_UNIT_SETTLE | SIMD_UNIT_CS, 0)
TILE_VARIANT(tile_run_g, 0, 1)
TILE_VARIANT(tile_run_settle1_g, SIMD_UNIT_SETTLE, 1)
TILE_VARIANT(tile_run_unit_g, SIMD_UNIT_SETTLE | SIMD_UNIT_CS, 1)
#undef TILE_VARIANT

/* [gather][unit: 0, settle 1, settle and contract size 1] */
static const tile_variant_fn tile_variants[2][3] = {{tile_run, tile_run_settle1, tile_run_unit},
                                                    {tile_run_g, tile_run_settle1_g, tile_run_unit_g}};

static tile_variant_fn tile_variant(const simd_table *st)
{
    int unit = st->unit == (SIMD_UNIT_SETTLE | SIMD_UNIT_CS) ? 2 : st->unit == SIMD_UNIT_SETTLE ? 1 : 0;
    return tile_variants[st->g != NULL][unit];
}
#else
#define SWEEP_SIMD 0
const char *risk__sweep_simd_isa(void)
{
    return "off";
}
#endif /* SWEEP_SIMD */

/* ------------------------------------------------------------ batch */

typedef struct batch_chunk {
    const risk_engine *engine;
    size_t slot_begin, slot_end; /* range of engine account slots */
    size_t out_begin;            /* index of the chunk's first live account in the outputs */
    risk_account_summary *summaries;
    uint64_t *ids;
    const risk__sweep_shared *shared; /* the call's tables, or NULL: each worker fills its own */
    risk__sweep_image *image;         /* the engine's sweep image, borrowed by the call, or NULL;
                                       * slot_begin is then a multiple of RISK__TILE_LANES */
} batch_chunk;

/* Software prefetch, two stages ahead of the sweep at slot s: the struct lines of the account
 * PF_STRUCT_AHEAD slots on (what decides its path and points to its columns: the first 112 bytes,
 * internal.h), and the position columns of the account PF_COLUMNS_AHEAD slots on, whose struct
 * arrived meanwhile. The hardware prefetchers follow the registry, but not the chain from a slot
 * to its struct to its columns: with it a 10^6-account sweep ran 1.4x faster on a quiet machine
 * (docs/performance.md, "Prefetching"). Nothing is read that the sweep would not read. Always
 * inlined: gcc 12 takes a function made only of prefetches for one without effect and drops the
 * call. */
#define PF_STRUCT_AHEAD 16
#define PF_COLUMNS_AHEAD 8
SWEEP_INLINE void sweep_prefetch(risk_account *const *accounts, size_t s, size_t end)
{
    if (s + PF_STRUCT_AHEAD < end && accounts[s + PF_STRUCT_AHEAD])
        risk__prefetch_account(accounts[s + PF_STRUCT_AHEAD]);
    if (s + PF_COLUMNS_AHEAD < end && accounts[s + PF_COLUMNS_AHEAD])
        risk__prefetch_columns(accounts[s + PF_COLUMNS_AHEAD]);
}

/* ---- the engine's sweep scratch: the tables of engines of more than SIMD_INSTS instruments
 *
 * An engine of more than 16 instruments needs tables larger than a worker's stack should hold
 * (the AVX-512 path's gather arrays, and the scalar table beyond SWEEP_TABLE_MAX entries), and a
 * sweep never allocates (risk/alloc.h). So the engine keeps one block for them, sized when
 * instruments are added (risk__sweep_scratch_reserve), and one call at a time borrows it
 * (risk__sweep_shared_borrow: an atomic flag), fills it once and lends it to its workers, which
 * only read it. A concurrent call that finds it taken, or an engine whose block could not be
 * allocated, fills its tables on each worker's stack as before (up to SWEEP_TABLE_MAX entries,
 * scalar only) or sweeps without a table: the same bits on every path, only slower. */
struct risk__sweep_shared {
    sweep_inst *table;
    uint32_t n_table, max_tiers;
    int use_simd;
#if SWEEP_SIMD
    simd_table st;
#endif
};

#define SCRATCH_HEAD ((sizeof(struct risk__sweep_shared) + 63) & ~(size_t)63)
/* engines of more instruments keep a scratch: the AVX-512 path's gather arrays from 17, the
 * scalar table from SWEEP_TABLE_MAX + 1 where the path is not compiled */
#if SWEEP_SIMD
#define SCRATCH_FROM SIMD_INSTS
#else
#define SCRATCH_FROM SWEEP_TABLE_MAX
#endif

uint32_t risk__sweep_scratch_from(void)
{
    return SCRATCH_FROM;
}

/* Bytes of scratch for n instruments whose fast-path schedules have at most nt tiers. */
static size_t scratch_bytes(uint32_t n, uint32_t nt)
{
    size_t bytes = 63 + SCRATCH_HEAD + (size_t)n * sizeof(sweep_inst); /* 63: to align the head to 64 */
#if SWEEP_SIMD
    bytes += (size_t)n * simd_gather_per(nt ? nt : 1) * sizeof(double);
#else
    (void)nt;
#endif
    return bytes;
}

void risk__sweep_scratch_reserve(risk_engine *e)
{
    uint32_t n = e->n_instruments, nt = e->sweep_scratch ? e->sweep_scratch_nt : 1;
    if (n <= SCRATCH_FROM)
        return;
    /* the most tiers a fast-path schedule may have: the block's and the new instrument's, or, the
     * first time (or after a failed reservation), every instrument's; schedules keep their number
     * of tiers, so adding n instruments costs O(n), not O(n^2) */
    for (uint32_t k = e->sweep_scratch ? n - 1 : 0; k < n; k++) {
        uint32_t t = e->instruments[k].schedule.n_tiers;
        if (t <= RISK__SWEEP_CAPS && t > nt)
            nt = t;
    }
    if (e->sweep_scratch && e->sweep_scratch_n >= n && e->sweep_scratch_nt >= nt)
        return;
    /* room for the instrument array's capacity, so that adding instruments reallocates rarely */
    uint32_t room = e->cap_instruments > n ? e->cap_instruments : n;
    void *block = risk__malloc(e, scratch_bytes(room, nt));
    if (!block)
        return; /* sweeps go without it: slower, the same bits */
    risk__free(e, e->sweep_scratch);
    e->sweep_scratch = block;
    e->sweep_scratch_n = room;
    e->sweep_scratch_nt = nt;
}

size_t risk__sweep_scratch_bytes(const risk_engine *e)
{
    return e->sweep_scratch ? scratch_bytes(e->sweep_scratch_n, e->sweep_scratch_nt) : 0;
}

const risk__sweep_shared *risk__sweep_shared_borrow(const risk_engine *e, int stream)
{
    /* no block, or one too small (a reservation that found no memory keeps the old block) */
    if (!e->sweep_scratch || e->n_instruments <= SCRATCH_FROM || e->n_instruments > e->sweep_scratch_n ||
        (e->flags & RISK_ENGINE_GENERIC_SWEEP))
        return NULL;
    risk_engine *m = (risk_engine *)e; /* the flag and the scratch are not engine state */
    int free_flag = 0;
    if (!atomic_compare_exchange_strong(&m->sweep_scratch_busy, &free_flag, 1))
        return NULL;
    struct risk__sweep_shared *sh = (struct risk__sweep_shared *)(((uintptr_t)m->sweep_scratch + 63) & ~(uintptr_t)63);
    sh->table = (sweep_inst *)(void *)((unsigned char *)sh + SCRATCH_HEAD);
    sh->n_table = sweep_table_fill(e, sh->table, &sh->max_tiers);
    sh->use_simd = 0;
#if SWEEP_SIMD
    double *g = (double *)(void *)(sh->table + e->sweep_scratch_n);
    sh->st.g = NULL;
    /* a schedule of more tiers than reserved for cannot be (the reservation counts them all) */
    if (sh->max_tiers <= e->sweep_scratch_nt)
        sh->use_simd = simd_table_fill(e, sh->table, sh->n_table, sh->max_tiers, &sh->st, g);
    if (sh->use_simd && !stream)
        sh->st.stream = 0;
#else
    (void)stream;
#endif
    return sh;
}

void risk__sweep_shared_return(const risk_engine *e, const risk__sweep_shared *sh)
{
    if (sh)
        atomic_store(&((risk_engine *)e)->sweep_scratch_busy, 0);
}

/* One sweep's state for one thread: the instrument tables (its own, filled once, or the call's
 * shared ones) and the group of SIMD candidates waiting for eight (src/core/evaluate.c). On the
 * caller's stack (about 17 KiB), so nothing is allocated. */
typedef struct sweep_state {
    const sweep_inst *table;
    uint32_t max_tiers;
    int use_table;
    _Alignas(64) sweep_inst table_own[SWEEP_TABLE_MAX];
#if SWEEP_SIMD
    const simd_table *st;
    int use_simd;
    _Alignas(64) simd_table st_own;
    const risk_account *group[8];
    risk_account_summary *group_out[8];
    uint32_t n_group;
    int group_two; /* an account of the group has more than 8 positions */
#endif
} sweep_state;

/* stream: the outputs are the caller's large array (risk_engine_evaluate_all), which the SIMD path
 * may write around the caches; 0 for outputs the caller reads at once. sh: the call's shared
 * tables, or NULL to fill the worker's own. */
static void sweep_begin(sweep_state *S, const risk_engine *e, const risk__sweep_shared *sh, int stream)
{
    S->max_tiers = 0;
    S->table = S->table_own;
    uint32_t n_table = 0;
#if SWEEP_SIMD
    S->st = &S->st_own;
    S->use_simd = 0;
    S->n_group = 0;
    S->group_two = 0;
#endif
    if (sh) {
        S->table = sh->table;
        S->max_tiers = sh->max_tiers;
        S->use_table = sh->n_table != 0;
#if SWEEP_SIMD
        S->st = &sh->st;
        S->use_simd = sh->use_simd;
#endif
        return;
    }
    if (!(e->flags & RISK_ENGINE_GENERIC_SWEEP) && e->n_instruments <= SWEEP_TABLE_MAX)
        n_table = sweep_table_fill(e, S->table_own, &S->max_tiers);
    S->use_table = n_table != 0;
#if SWEEP_SIMD
    S->use_simd = S->use_table && simd_table_fill(e, S->table_own, n_table, S->max_tiers, &S->st_own, NULL);
    if (S->use_simd && !stream)
        S->st_own.stream = 0;
#else
    (void)stream;
#endif
}

/* Evaluates a into *out (the version written too), now or when its group of eight is full. */
SWEEP_INLINE void sweep_account(sweep_state *S, const risk_account *a, risk_account_summary *out)
{
#if SWEEP_SIMD
    if (S->use_simd && simd_candidate(a)) { /* the SIMD path writes the whole summary, version too */
        S->group[S->n_group] = a;
        S->group_out[S->n_group++] = out;
        S->group_two |= a->n_pos > 8;
        /* when streaming, groups end where the summaries' lines do, so that the next one can be
         * written in whole lines */
        if (S->n_group == 8 || (S->st->stream && ((uintptr_t)(out + 1) & 63u) == 0)) {
            simd_group_run(S->st, S->group, S->n_group, S->group_out, S->group_two);
            S->n_group = 0;
            S->group_two = 0;
        }
        return;
    }
#endif
    out->version = RISK_ACCOUNT_SUMMARY_VERSION;
    evaluate_fast_or_generic(a, S->use_table ? S->table : NULL, S->max_tiers, out);
}

/* Evaluates what is still waiting: every summary is written when it returns. */
static void sweep_end(sweep_state *S)
{
#if SWEEP_SIMD
    if (S->n_group)
        simd_group_run(S->st, S->group, S->n_group, S->group_out, S->group_two);
    S->n_group = 0;
    S->group_two = 0;
    if (S->use_simd && S->st->stream)
        simd_fence(); /* the streamed lines are visible before the call returns */
#else
    (void)S;
#endif
}

#if SWEEP_SIMD
/* Software prefetch of the tile PF_TILE_AHEAD on: its header and the rows every sweep reads. */
#define PF_TILE_AHEAD 4
SWEEP_INLINE void tile_prefetch(const risk__tile *T, int funding)
{
    const char *p = (const char *)T;
    for (size_t b = 0; b < offsetof(risk__tile, iso_margin); b += 64)
        RISK__PREFETCH(p + b);
    if (funding)
        for (size_t b = offsetof(risk__tile, fund_last); b < sizeof *T; b += 64)
            RISK__PREFETCH(p + b);
}

/* batch_run over the image's tiles: each marked tile rebuilt from its accounts first, then
 * evaluated eight lanes at a time (tile_body); the live slots a tile does not take (more than
 * RISK__TILE_DEPTH positions, ...) and the lanes it did not evaluate go the ways batch_run's
 * accounts go, so the summaries are the same bits. */
static void batch_run_tiles(const batch_chunk *c, sweep_state *S)
{
    const risk_engine *e = c->engine;
    risk__sweep_image *im = c->image;
    const tile_variant_fn run = tile_variant(S->st);
    const int funding = S->st->funding;
    size_t k = c->out_begin;
    size_t t_end = (c->slot_end + RISK__TILE_LANES - 1) / RISK__TILE_LANES;
    risk_account_summary spare; /* the output of lanes without an account: never written */
    for (size_t t = c->slot_begin / RISK__TILE_LANES; t < t_end; t++) {
        /* the accounts of marked tiles ahead, as sweep_prefetch does for accounts: their structs
         * two tiles on, their columns one on */
        if (t + 2 < t_end && im->dirty[t + 2])
            for (size_t s = (t + 2) * RISK__TILE_LANES; s < (t + 3) * RISK__TILE_LANES && s < e->n_account_slots; s++)
                if (e->accounts[s])
                    risk__prefetch_account(e->accounts[s]);
        if (t + 1 < t_end && im->dirty[t + 1])
            for (size_t s = (t + 1) * RISK__TILE_LANES; s < (t + 2) * RISK__TILE_LANES && s < e->n_account_slots; s++)
                if (e->accounts[s])
                    risk__prefetch_columns(e->accounts[s]);
        if (im->dirty[t])
            risk__image_tile_fill(e, im, t);
        if (t + PF_TILE_AHEAD < t_end)
            tile_prefetch(&im->tiles[t + PF_TILE_AHEAD], funding);
        const risk__tile *T = &im->tiles[t];
        risk_account_summary *o[RISK__TILE_LANES];
        for (uint32_t l = 0; l < RISK__TILE_LANES; l++) {
            if (!(T->live & (1u << l))) {
                o[l] = &spare;
                continue;
            }
            if (c->ids)
                c->ids[k] = T->id[l];
            o[l] = &c->summaries[k++];
        }
        uint32_t rest = T->lanes ? run(S->st, e->assets, T, o) : 0;
        uint32_t own = T->live & ~T->lanes; /* accounts the tile does not take */
        for (uint32_t l = 0; rest | own; l++, rest >>= 1, own >>= 1) {
            if (rest & 1u) {
                o[l]->version = RISK_ACCOUNT_SUMMARY_VERSION;
                evaluate_one(T->acc[l], o[l]);
            } else if (own & 1u) {
                sweep_account(S, T->acc[l], o[l]);
            }
        }
    }
}
#endif

static void *batch_run(void *arg)
{
    const batch_chunk *c = arg;
    risk_account *const *accounts = c->engine->accounts;
    size_t k = c->out_begin;
    sweep_state S;
    sweep_begin(&S, c->engine, c->shared, 1);
#if SWEEP_SIMD
    if (c->image && S.use_simd) {
        batch_run_tiles(c, &S);
        sweep_end(&S);
        return NULL;
    }
#endif
    for (size_t s = c->slot_begin; s < c->slot_end; s++) {
        const risk_account *a = accounts[s];
        if (!a)
            continue;
        sweep_prefetch(accounts, s, c->slot_end);
        if (c->ids)
            c->ids[k] = a->id;
        sweep_account(&S, a, &c->summaries[k++]);
    }
    sweep_end(&S);
    return NULL;
}

void risk__sweep_slots(const risk_engine *e, const risk__sweep_shared *sh, size_t slot_begin, size_t slot_end,
                       risk__sweep_sink sink, void *user)
{
    risk_account *const *accounts = e->accounts;
    const risk_account *block[RISK__SWEEP_BLOCK];
    _Alignas(64) risk_account_summary out[RISK__SWEEP_BLOCK];
    size_t n = 0;
    sweep_state S;
    sweep_begin(&S, e, sh, 0);
    for (size_t s = slot_begin; s < slot_end; s++) {
        const risk_account *a = accounts[s];
        if (!a)
            continue;
        sweep_prefetch(accounts, s, slot_end);
        block[n] = a;
        sweep_account(&S, a, &out[n]);
        if (++n == RISK__SWEEP_BLOCK) {
            sweep_end(&S);
            sink(user, block, out, n);
            n = 0;
        }
    }
    sweep_end(&S);
    if (n)
        sink(user, block, out, n);
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
    const risk__sweep_shared *shared = risk__sweep_shared_borrow(e, 1);
#if SWEEP_SIMD
    risk__sweep_image *image = risk__image_borrow(e);
#else
    risk__sweep_image *image = NULL;
#endif
    /* with the image, chunks start on a tile: a tile is rebuilt and evaluated by one worker */
    size_t align = image ? RISK__TILE_LANES : 1;
    size_t live_before = 0;
    for (uint32_t t = 0; t < threads; t++) {
        batch_chunk *c = &chunks[t];
        c->engine = e;
        c->image = image;
        c->slot_begin = e->n_account_slots * t / threads / align * align;
        c->slot_end = t + 1 < threads ? e->n_account_slots * (t + 1) / threads / align * align : e->n_account_slots;
        c->out_begin = live_before;
        c->summaries = summaries_out;
        c->ids = ids_out;
        c->shared = shared;
        for (size_t s = c->slot_begin; t + 1 < threads && s < c->slot_end; s++) /* not the last chunk's */
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
    risk__sweep_shared_return(e, shared);
    risk__image_return(image);
    if (rc)
        return risk__fail(e, &e->errmsg, rc, "could not start %u worker threads", threads - 1);
    return RISK_OK;
}
