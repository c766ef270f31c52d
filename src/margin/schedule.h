/* SPDX-License-Identifier: Apache-2.0 */
/* Per-position margin arithmetic, inline because evaluation runs it for every position.
 * Formulas: docs/formulas.md, "Margin schedules" and "Positions". */
#ifndef RISK_MARGIN_SCHEDULE_H
#define RISK_MARGIN_SCHEDULE_H

#include "core/internal.h"

/* Tier holding `notional` (caps inclusive; the last tier unbounded). Counts the caps below
 * the notional instead of searching: caps strictly increase, so the count is the tier, and a
 * count has no branch to mispredict when positions sit in different tiers. */
static inline uint32_t risk__schedule_tier(const risk__schedule *s, double notional)
{
    uint32_t t = 0;
    for (uint32_t k = 0; k + 1 < s->n_tiers; k++)
        t += notional > s->tiers[k].notional_cap;
    return t;
}

/* risk__schedule_tier for a schedule with caps (at most RISK__SWEEP_CAPS tiers), without a
 * loop: a branch-free binary search for the number of caps below the notional in the 16 padded
 * caps, four dependent loads and compares. The same count, so the same tier, for every notional
 * (NaN included: no compare holds, tier 0), because the caps strictly increase and the padding
 * (+inf) is never below a notional. */
static inline uint32_t risk__schedule_tier_fast(const double *caps, double notional)
{
    uint32_t b = 0;
    b += caps[b + 7] < notional ? 8u : 0u;
    b += caps[b + 3] < notional ? 4u : 0u;
    b += caps[b + 1] < notional ? 2u : 0u;
    b += caps[b] < notional ? 1u : 0u;
    return b;
}

/* Initial margin rate in force, 1 / min(user leverage, tier max leverage): the larger of the
 * user's rate (0 when unset) and the tier's. IM = notional x rate, within an ulp of
 * notional / leverage and free of a division per position. */
static inline double risk__schedule_im_rate(const risk__schedule *s, uint32_t tier, double user_im_rate)
{
    double tier_rate = s->im_rate[tier];
    return user_im_rate > tier_rate ? user_im_rate : tier_rate;
}

/* Reports n tiers into a caller's array of `capacity` (RISK_EBUFFER with the count when short):
 * the tail of risk_engine_instrument_tiers() and risk_engine_instrument_base_tiers(). */
int risk__tiers_copy_out(risk_engine *e, const risk_margin_tier *tiers, uint32_t n, risk_margin_tier *out,
                         size_t capacity, size_t *count_out);

/* A margin rate r of a position of `size` (contracts x contract size) under the instrument's size
 * premium: max(r, base_share r + imf sqrt(size)), at most 1 (docs/formulas.md 4.6). */
static inline double risk__size_premium_rate(const risk__instrument *in, double size, double r)
{
    if (!(in->imf > 0.0))
        return r;
    double premium = in->imf_base_share * r + in->imf * sqrt(size);
    return fmax(r, fmin(premium, 1.0));
}
/* Values of one position in its settle asset, at the current mark. For an option, upnl is the
 * position's mark value q x cs x mark (premium convention: the premium paid or received is in
 * the balance, docs/options.md, section 6.3), the notional |q| x cs x U (linear) or |q| x cs
 * (coin-settled), and im/mm the standard option margin. */
typedef struct risk__position_values {
    double notional, margin_notional, upnl, im, mm;
    uint32_t tier;
} risk__position_values;

/* An option position's values at underlying price `under` and premium `mark` (scenario
 * revaluation and the liquidation-price scan pass moved ones; evaluation the instrument's own). */
static inline void risk__option_values_at(const risk__instrument *in, double under, double mark, double qty,
                                          risk__position_values *out)
{
    double size = fabs(qty) * in->contract_size;
    double notional = in->inverse ? size : size * under;
    double im = mark, mm = mark; /* a long: IM = MM = its mark (Deribit, docs/options.md 7) */
    if (qty < 0.0)
        risk__option_unit_margin(in, under, mark, &im, &mm);
    out->notional = notional;
    out->margin_notional = notional;
    out->upnl = qty * in->contract_size * mark;
    out->im = size * im;
    out->mm = size * mm;
    out->tier = 0;
}

/* Values at a given mark (scenario revaluation, src/portfolio/); risk__position_values_compute is
 * this at the instrument's mark, so both give the same bits for the same mark. */
static inline void risk__position_values_at(const risk__instrument *in, double mark, double qty, double entry,
                                            double user_im_rate, risk__position_values *out)
{
    if (in->kind == RISK_KIND_OPTION) { /* `mark` is the premium; the underlying is the instrument's */
        risk__option_values_at(in, in->opt_under, mark, qty, out);
        return;
    }
    double size = fabs(qty) * in->contract_size;
    double notional, upnl, margin_notional;
    if (in->inverse) {
        notional = size / mark;
        upnl = qty * in->contract_size * (1.0 / entry - 1.0 / mark);
        margin_notional = in->mm_price == RISK_MM_PRICE_ENTRY ? size / entry : notional;
    } else {
        notional = size * mark;
        upnl = qty * in->contract_size * (mark - entry);
        margin_notional = in->mm_price == RISK_MM_PRICE_ENTRY ? size * entry : notional;
    }
    const risk__schedule *s = &in->schedule;
    uint32_t t = risk__schedule_tier(s, margin_notional);
    out->notional = notional;
    out->margin_notional = margin_notional;
    out->upnl = upnl;
    double mmr = s->tiers[t].mmr, tier_im_rate = s->im_rate[t];
    if (in->imf > 0.0) { /* the premium on the schedule's rates; the user's leverage still caps it (Drift) */
        mmr = risk__size_premium_rate(in, size, mmr);
        tier_im_rate = risk__size_premium_rate(in, size, tier_im_rate);
    }
    out->mm = margin_notional * mmr - s->tiers[t].cum;
    out->im = margin_notional * (user_im_rate > tier_im_rate ? user_im_rate : tier_im_rate);
    out->tier = t;
}

static inline void risk__position_values_compute(const risk__instrument *in, double qty, double entry,
                                                 double user_im_rate, risk__position_values *out)
{
    risk__position_values_at(in, in->mark, qty, entry, user_im_rate, out);
}

static inline void risk__option_values_compute(const risk__instrument *in, double qty, risk__position_values *out)
{
    risk__option_values_at(in, in->opt_under, in->mark, qty, out);
}

#endif /* RISK_MARGIN_SCHEDULE_H */
