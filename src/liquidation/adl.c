/* SPDX-License-Identifier: Apache-2.0 */
/* Auto-deleveraging queues: Binance's score over the positions on one side of an instrument, and
 * the merge of the queues of several engines (shards). */
#include "liquidation/liquidation.h"
#include "margin/schedule.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The ranking's total order (scores are never NaN): score descending, account id, leg. */
int risk__adl_entry_order(const void *x, const void *y)
{
    const risk_adl_entry *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->account_id != b->account_id)
        return a->account_id < b->account_id ? -1 : 1;
    return a->leg < b->leg ? -1 : a->leg > b->leg;
}

/* Bytes of a version 1 entry: the fields before `instrument`. */
#define ADL_ENTRY_V1_SIZE offsetof(risk_adl_entry, instrument)

/* Scores one position. equity_v is the account's equity in V (used for cross positions). */
void risk__adl_score(const risk_account *a, uint32_t i, uint32_t side, double equity_v, risk_adl_entry *out)
{
    const risk_engine *e = a->engine;
    const risk__instrument *in = &e->instruments[a->inst[i]];
    double sp = e->assets[in->settle].price;
    risk__position_values pv;
    risk__position_values_compute(in, a->qty[i], a->entry[i], a->im_rate[i], &pv);
    double size = fabs(a->qty[i]) * in->contract_size;
    double entry_value = in->inverse ? size / a->entry[i] : size * a->entry[i]; /* settle asset */
    double backing = (a->pflags[i] & RISK__PF_ISOLATED) ? (a->iso_margin[i] + pv.upnl) * sp : equity_v;
    out->version = RISK_ADL_ENTRY_VERSION;
    out->instrument = a->inst[i];
    out->side = side;
    out->leg = a->pflags[i] & RISK__PF_LEG_MASK;
    out->account_id = a->id;
    out->qty = a->qty[i];
    out->pnl_pct = pv.upnl / entry_value;
    if (backing > 0.0) {
        out->effective_leverage = pv.notional * sp / backing;
        out->score = out->pnl_pct >= 0.0 ? out->pnl_pct * out->effective_leverage
                                         : out->pnl_pct / out->effective_leverage;
    } else { /* nothing backs it: last in the queue */
        out->effective_leverage = INFINITY;
        out->score = -INFINITY;
    }
}

double risk__adl_equity(const risk_account *a)
{
    risk__account_values v;
    risk__account_values_compute(a, &v);
    return v.basket.net_value + v.upnl + v.isolated_margin;
}

int risk__adl_queue(const risk_engine *e, uint32_t instrument, uint32_t side, const risk_account *exclude,
                    risk_adl_entry **out, size_t *n_out)
{
    size_t n = 0;
    for (size_t s = 0; s < e->n_account_slots; s++) {
        const risk_account *a = e->accounts[s];
        if (!a || a == exclude)
            continue;
        for (uint32_t i = 0; i < a->n_pos; i++)
            n += a->inst[i] == instrument && (side == RISK_SIDE_LONG ? a->qty[i] > 0.0 : a->qty[i] < 0.0);
    }
    risk_adl_entry *q = risk__malloc(e, (n ? n : 1) * sizeof *q);
    if (!q)
        return RISK_ENOMEM;
    size_t k = 0;
    for (size_t s = 0; s < e->n_account_slots; s++) {
        const risk_account *a = e->accounts[s];
        if (!a || a == exclude)
            continue;
        double equity = NAN;
        for (uint32_t i = 0; i < a->n_pos; i++) {
            if (a->inst[i] != instrument || !(side == RISK_SIDE_LONG ? a->qty[i] > 0.0 : a->qty[i] < 0.0))
                continue;
            if (isnan(equity)) /* one evaluation per account */
                equity = risk__adl_equity(a);
            risk__adl_score(a, i, side, equity, &q[k++]);
        }
    }
    qsort(q, n, sizeof *q, risk__adl_entry_order);
    *out = q;
    *n_out = n;
    return RISK_OK;
}

RISK_API int risk_engine_adl_ranking(const risk_engine *engine, uint32_t instrument, uint32_t side,
                                     risk_adl_entry *out, size_t capacity, size_t *count_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message is not engine state */
    if (!count_out || (!out && capacity))
        return risk__fail(e, &e->errmsg, RISK_ENULL, "count_out or out is NULL");
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    if (side != RISK_SIDE_LONG && side != RISK_SIDE_SHORT)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "side %u is neither long nor short", side);
    uint32_t version = capacity ? out[0].version : RISK_ADL_ENTRY_VERSION;
    if (version != 1u && version != RISK_ADL_ENTRY_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "ADL entry version %u is neither 1 nor %d", version,
                          RISK_ADL_ENTRY_VERSION);
    risk_adl_entry *q;
    size_t n;
    if (risk__adl_queue(e, instrument, side, NULL, &q, &n))
        return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for the ADL queue");
    *count_out = n;
    if (n > capacity) {
        risk__free(e, q);
        return risk__fail(e, &e->errmsg, RISK_EBUFFER, "%zu positions, room for %zu", n, capacity);
    }
    if (version == RISK_ADL_ENTRY_VERSION) {
        if (n)
            memcpy(out, q, n * sizeof *q);
    } else { /* version 1: the shorter layout, element by element */
        unsigned char *dst = (unsigned char *)out;
        for (size_t i = 0; i < n; i++) {
            q[i].version = 1u;
            memcpy(dst + i * ADL_ENTRY_V1_SIZE, &q[i], ADL_ENTRY_V1_SIZE);
        }
    }
    risk__free(e, q);
    risk__clear(&e->errmsg);
    return RISK_OK;
}

/* ------------------------------------------------------------ merging shards */

RISK_API int risk_adl_merge(risk_adl_entry *out, size_t capacity, const risk_adl_entry *const *queues,
                            const size_t *counts, size_t k, size_t *count_out)
{
    if (!count_out || (!out && capacity) || (k && (!queues || !counts)))
        return RISK_ENULL;
    if (k > RISK_ADL_MERGE_MAX_QUEUES)
        return RISK_EINVAL;
    /* Check every queue first: nothing is written but *count_out until all is known good. */
    size_t total = 0;
    const risk_adl_entry *first = NULL;
    for (size_t j = 0; j < k; j++) {
        const risk_adl_entry *qj = queues[j];
        if (counts[j] && !qj)
            return RISK_ENULL;
        for (size_t i = 0; i < counts[j]; i++) {
            const risk_adl_entry *x = &qj[i];
            if (x->version != RISK_ADL_ENTRY_VERSION)
                return RISK_EVERSION;
            if (isnan(x->score))
                return RISK_EINVAL;
            if (!first)
                first = x;
            else if (x->instrument != first->instrument || x->side != first->side)
                return RISK_EINVAL;
            if (i && risk__adl_entry_order(&qj[i - 1], x) >= 0) /* out of order, or a position twice */
                return RISK_EINVAL;
        }
        if (counts[j] > SIZE_MAX - total)
            return RISK_EINVAL;
        total += counts[j];
    }
    *count_out = total;
    if (total > capacity)
        return RISK_EBUFFER;
    /* The merge proper, twice: a dry run finds a position held twice across queues (two equal
     * heads) before anything is written, then the second run writes. Cursors live on the stack:
     * no allocator is at hand, hence the cap on k. */
    size_t cur[RISK_ADL_MERGE_MAX_QUEUES];
    for (int write = 0; write < 2; write++) {
        memset(cur, 0, k * sizeof cur[0]);
        for (size_t t = 0; t < total; t++) {
            size_t best = k;
            for (size_t j = 0; j < k; j++) {
                if (cur[j] == counts[j])
                    continue;
                if (best == k) {
                    best = j;
                    continue;
                }
                int c = risk__adl_entry_order(&queues[j][cur[j]], &queues[best][cur[best]]);
                if (c == 0)
                    return RISK_EINVAL; /* only in the dry run: the write run meets the same heads */
                if (c < 0)
                    best = j;
            }
            if (write)
                out[t] = queues[best][cur[best]];
            cur[best]++;
        }
    }
    return RISK_OK;
}
