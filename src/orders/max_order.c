/* SPDX-License-Identifier: Apache-2.0 */
/* Max order size.
 *
 * g(n), the `available` after a fill of n lots, is piecewise affine in n. Within
 * one region (reducing the position, the exact close, growing a new or flipped position) the
 * target position's margin notional is affine in n (entries average linearly, in 1/E for inverse
 * contracts), so tier edges cut each region into pieces where the tier is fixed; the reducing
 * region is also cut where the settle balance crosses 0 or a value-tier bound (the weights
 * change there). A model computes g without evaluating the account: the account's sums split at
 * the target position and the settle balance, plus those two filled by the account's own fill
 * code on a one-slot copy, added in the evaluation's order, so the model is g bit for bit.
 * Regions are searched from the top, each built only when the one above has no answer. In a
 * growing region where g only falls (every tier's IM slope above the PnL slope, or an isolated
 * position) the answer is predicted from the region's line and the tier rates and confirmed by
 * g(n) >= T > g(n + 1); otherwise, or when the confirmation fails, the pieces are searched: the
 * answer is the end of the first piece whose end is feasible, or the root inside the first
 * piece whose start is (a falling region binary-searched over its pieces). docs/whatif.md has
 * the derivation. */
#include "orders/orders.h"

#define N_CAP 1099511627776.0 /* 2^40 lots: a feasible quantity this large is reported as INFINITY */
#define MAX_CUTS 192
#define CONFIRM_STEPS 16
#define TERMS_ON_STACK 64 /* (upnl, IM) or (C, R) pairs after the target: more go in one block */
#define MEMO 8

/* The target position alone with the settle balance: a one-slot shadow moved by the same fill
 * code as the account. It points into itself: it lives in the model, set up once in place. */
typedef struct probe {
    risk__shadow sh;
    double qty, entry, im_rate, iso, amount, fund_last;
    uint32_t inst, pflags, origin, asset;
    risk_position *handle;
} probe;

/* g(n), bit for bit as the evaluation of the filled account computes it. The evaluation sums
 * cross PnL and IM over the positions in their order, and C_init and R_init over the balances in
 * theirs (core/evaluate.c); a fill changes only the target position's terms (kept in its slot,
 * removed on a close, appended when new) and the settle balance's (likewise). So the model keeps
 * the sums before those two terms, the terms after them, and adds the probe's terms in between:
 * the same additions in the same order, without re-evaluating the account. */
typedef struct model {
    const risk_account *a;
    risk__order_ctx o;
    const risk__asset *settle;
    double lot, ps;          /* lot size; settle asset price in V */
    double scale;            /* valuation asset's 10^decimals; 0 when results are not quantized */
    double im_rate;          /* the target's user IM rate (0: the tier's) */
    int isolated;            /* the target position is (or opens) isolated */
    double pre_upnl, pre_im; /* cross positions before the target's slot (all for a new one), in V */
    double pre_c, pre_r;     /* C_init and R_init of the balances before the settle one (all without one) */
    const double *suf;       /* (upnl, IM) per cross position after the target's slot, then (C, R) per
                                balance after the settle one; -0.0 where a balance adds nothing */
    uint32_t n_suf_pos, n_suf_bal;
    double *block;           /* the terms when they do not fit on the stack, else NULL */
    double last_bal, last_c, last_r; /* the settle balance's terms, for the last balance seen */
    /* the target position and settle balance now, which the probe is reset to */
    double q0, e0, im_rate0, iso0, b0;
    uint32_t pflags0;
    /* pending funding (docs/rates.md 8.4): the other cross positions', in V (added after the
     * sums, as evaluation adds it after its sweep), and the target's last index now */
    double fund_other, fund_last0;
    double cut_other; /* Drift's unrealised-PnL discount of the other cross positions, in V (docs/rates.md 8.3) */
    probe p;
    /* the last few values of available, by n (searches come back to piece ends and to n + 1) */
    double memo_n[MEMO], memo_avail[MEMO];
    unsigned memo_next;
    double stack_terms[2 * TERMS_ON_STACK];
} model;

typedef struct point {
    double avail;  /* available, quantized as the summary is */
    double upnl_v; /* the target's unrealised PnL in V when it is cross, else 0 */
    double mn;     /* the target's margin notional, 0 once closed */
    double bal;    /* the settle balance */
    double iso;    /* the target's isolated margin (0 when cross or closed) */
    uint32_t tier;
} point;

/* What one balance adds to C_init and R_init, by the evaluation's own code; -0.0 (which adds
 * nothing, exactly) for the sum it does not touch. */
static void balance_terms(const risk__asset *as, double amount, double *c, double *r)
{
    risk__basket_values v = {0, 0, 0, 0, 0, 0, 0, 0};
    v.collateral_init = v.liabilities_init = -0.0;
    risk__basket_entry_add(as, amount, 1.0, &v);
    *c = v.collateral_init;
    *r = v.liabilities_init;
}

/* The model after n lots: the probe filled, the target's values in *pt; with `full`, also g(n)
 * (pt->avail) by the evaluation's additions. Without, only what the pieces need (NAN). */
static void model_eval(model *M, double n, point *pt, int full)
{
    probe *p = &M->p;
    risk_account *pa = &p->sh.acct;
    pa->n_pos = M->o.slot >= 0;
    p->qty = M->q0;
    p->entry = M->e0;
    p->im_rate = M->im_rate0;
    p->iso = M->iso0;
    p->pflags = M->pflags0;
    p->fund_last = M->fund_last0;
    pa->basket.n = M->b0 != 0.0; /* (inst, asset and origin are never moved) */
    p->amount = M->b0;
    risk__position_values pv;
    int open = pa->n_pos != 0;
    if (n > 0.0)
        open = risk__order_fill(&p->sh, M->o.slot >= 0 ? 0 : -1, &M->o, n * M->lot, &pv) >= 0;
    else if (open)
        risk__position_values_compute(M->o.in, p->qty, p->entry, p->im_rate, &pv);
    int cross = open && !(p->pflags & RISK__PF_ISOLATED);
    pt->mn = open ? pv.margin_notional : 0.0;
    pt->tier = open ? pv.tier : 0;
    pt->iso = open ? p->iso : 0.0;
    pt->upnl_v = cross ? pv.upnl * M->ps : 0.0;
    pt->bal = pa->basket.n ? risk__balance_of(M->settle, p->amount) : 0.0; /* p->amount is scaled */
    pt->avail = NAN;
    if (!full)
        return;
    double u = M->pre_upnl, im = M->pre_im, c = M->pre_c, r = M->pre_r;
    if (cross) { /* the evaluation's terms: upnl x settle price, IM x settle price */
        u += pt->upnl_v;
        im += pv.im * M->ps;
    }
    double fund = M->fund_other, own = 0.0;
    if (cross && n == 0.0 && M->a->engine->funding_active) /* a fill settles the target's */
        own = risk__funding_pending(pa, 0);
    fund += own * M->ps;
    double cut = M->cut_other;
    if (cross && M->o.in->upnl_weighted) { /* with the weights: exact to rounding, not bit for bit */
        double ci, cm;
        risk__upnl_cut(M->o.in, pv.upnl + own, &ci, &cm);
        cut += ci * M->ps;
    }
    const double *t = M->suf;
    for (uint32_t k = 0; k < M->n_suf_pos; k++, t += 2) {
        u += t[0];
        im += t[1];
    }
    if (pt->bal != M->last_bal) { /* (a fill often leaves the balance as the last one left it) */
        M->last_bal = pt->bal;
        balance_terms(M->settle, pt->bal, &M->last_c, &M->last_r);
    }
    c += M->last_c;
    r += M->last_r;
    for (uint32_t k = 0; k < M->n_suf_bal; k++, t += 2) {
        c += t[0];
        r += t[1];
    }
    if (fund != 0.0) /* with pending funding: exact to the rounding of the sums, not bit for bit */
        u += fund;
    if (cut != 0.0)
        c -= cut;
    c += u; /* C_init = collateral_init + cross PnL; R_init = liabilities_init + cross IM */
    r += im;
    if (M->scale > 0.0) {
        c = risk__quantize(c, M->scale, 0);
        r = risk__quantize(r, M->scale, 1);
    }
    pt->avail = c - r;
}

static void memo_put(model *M, double n, double avail)
{
    unsigned k = M->memo_next++ % MEMO;
    M->memo_n[k] = n;
    M->memo_avail[k] = avail;
}

static double model_avail(model *M, double n)
{
    for (unsigned k = 0; k < MEMO; k++)
        if (M->memo_n[k] == n)
            return M->memo_avail[k];
    point pt;
    model_eval(M, n, &pt, 1);
    memo_put(M, n, pt.avail);
    return pt.avail;
}

/* Splits the account's sums at the target position and the settle balance (RISK_ENOMEM when the
 * terms after them need a block and there is no memory). */
static int model_init(model *M, const risk_account *a, const risk__order_ctx *o)
{
    const risk_engine *e = a->engine;
    M->a = a;
    M->o = *o;
    M->settle = &e->assets[o->in->settle];
    M->lot = o->in->lot_size;
    M->ps = M->settle->price;
    M->scale = 0.0;
    if (!(e->flags & RISK_ENGINE_NO_QUANTIZE) && e->valuation != RISK_ID_NONE)
        M->scale = risk__asset_scale(&e->assets[e->valuation]);
    M->q0 = M->e0 = M->im_rate0 = M->iso0 = M->b0 = M->fund_other = M->fund_last0 = M->cut_other = 0.0;
    M->pflags0 = 0;
    uint32_t first_after = a->n_pos; /* the first position after the target's slot */
    if (o->slot >= 0) {
        uint32_t i = (uint32_t)o->slot;
        M->q0 = a->qty[i];
        M->e0 = a->entry[i];
        M->im_rate0 = M->im_rate = a->im_rate[i];
        M->iso0 = a->iso_margin[i];
        M->fund_last0 = a->fund_last ? a->fund_last[i] : 0.0;
        M->pflags0 = a->pflags[i];
        M->isolated = (a->pflags[i] & RISK__PF_ISOLATED) != 0;
        first_after = i + 1;
    } else {
        M->im_rate = risk__user_im_rate(a, o->instrument);
        M->isolated = a->margin_mode == RISK_MARGIN_ISOLATED;
    }
    const risk_basket *bk = &a->basket;
    uint32_t js = bk->n; /* the settle balance's index (n: none) */
    for (uint32_t j = 0; j < bk->n && js == bk->n; j++)
        if (bk->asset[j] == o->in->settle)
            js = j;
    uint32_t bal_after = js < bk->n ? js + 1 : bk->n;
    size_t n_terms = (size_t)(a->n_pos - first_after) + (bk->n - bal_after);
    double *terms = M->stack_terms;
    M->block = NULL;
    if (n_terms > TERMS_ON_STACK && !(terms = M->block = risk__malloc(e, 2 * n_terms * sizeof *terms)))
        return RISK_ENOMEM;
    M->suf = terms;
    M->pre_upnl = M->pre_im = 0.0;
    M->n_suf_pos = M->n_suf_bal = 0;
    for (uint32_t i = 0; i < a->n_pos; i++) {
        if ((int)i == o->slot || (a->pflags[i] & RISK__PF_ISOLATED))
            continue;
        const risk__instrument *in = &e->instruments[a->inst[i]];
        double sp = e->assets[in->settle].price; /* the evaluation's terms, as in model_eval */
        risk__position_values pv;
        risk__position_values_compute(in, a->qty[i], a->entry[i], a->im_rate[i], &pv);
        double upnl_v = pv.upnl * sp, im_v = pv.im * sp;
        double got = e->funding_active ? risk__funding_pending(a, i) : 0.0;
        M->fund_other += got * sp;
        if (in->upnl_weighted) {
            double ci, cm;
            risk__upnl_cut(in, pv.upnl + got, &ci, &cm);
            M->cut_other += ci * sp;
        }
        if (i < first_after) {
            M->pre_upnl += upnl_v;
            M->pre_im += im_v;
        } else {
            terms[0] = upnl_v;
            terms[1] = im_v;
            terms += 2;
            M->n_suf_pos++;
        }
    }
    risk__basket_values pre = {0, 0, 0, 0, 0, 0, 0, 0};
    for (uint32_t j = 0; j < js; j++)
        risk__basket_entry_add(&e->assets[bk->asset[j]], risk__balance_of(&e->assets[bk->asset[j]], bk->amount[j]), 1.0,
                               &pre);
    M->pre_c = pre.collateral_init;
    M->pre_r = pre.liabilities_init;
    if (js < bk->n)
        M->b0 = bk->amount[js];
    for (uint32_t j = bal_after; j < bk->n; j++, terms += 2, M->n_suf_bal++)
        balance_terms(&e->assets[bk->asset[j]], risk__balance_of(&e->assets[bk->asset[j]], bk->amount[j]), &terms[0],
                      &terms[1]);
    /* the probe: the account's header over one-slot arrays, one balance */
    probe *p = &M->p;
    risk_account *pa = &p->sh.acct;
    *pa = *a;
    pa->errmsg = NULL;
    pa->qty = &p->qty;
    pa->entry = &p->entry;
    pa->im_rate = &p->im_rate;
    pa->iso_margin = &p->iso;
    pa->fund_last = &p->fund_last;
    pa->inst = &p->inst;
    pa->pflags = &p->pflags;
    pa->handles = &p->handle;
    pa->cap_pos = 1;
    p->handle = NULL;
    p->sh.origin = &p->origin;
    p->sh.block = NULL;
    pa->basket.owner = pa;
    pa->basket.errmsg = NULL;
    pa->basket.asset = &p->asset;
    pa->basket.amount = &p->amount;
    pa->basket.cap = 1;
    for (unsigned k = 0; k < MEMO; k++)
        M->memo_n[k] = -1.0;
    M->memo_next = 0;
    M->last_bal = NAN;
    p->inst = o->instrument;
    p->asset = o->in->settle;
    p->origin = 0;
    return RISK_OK;
}

static void model_release(model *M)
{
    risk__free(M->a->engine, M->block);
    risk__free(M->a->engine, M->p.sh.acct.errmsg); /* set only if a fill failed, which validation rules out */
}

/* Pieces of n (in lots) over which the model is affine and, in a monotone region, falling. */
typedef struct piece {
    double lo, hi;
    uint32_t region;
    uint32_t monotone;
} piece;

#define REGION_REDUCE 0u
#define REGION_CLOSE 1u
#define REGION_GROW 2u
#define MAX_PIECES 400

/* floor(x) without the library call it is on baseline x86-64: whole below 2^52 by conversion,
 * x itself beyond (already whole, infinite or NaN). */
static double floor_lots(double x)
{
    if (!(fabs(x) < 4503599627370496.0))
        return x;
    double t = (double)(int64_t)x; /* toward zero */
    return t > x ? t - 1.0 : t;
}

static void add_cut(double *cuts, size_t *n, double c, double lo, double hi)
{
    if (c >= lo && c < hi && *n < MAX_CUTS)
        cuts[(*n)++] = c;
}

/* Whether n lots leave the target's margin notional at or below `cap` (in the tier of the cap
 * or a lower one), by the arithmetic of the fill and of the evaluation: the fill leaves
 * qty = q0 + delta, and at the mark the notional needs nothing else. Only for an instrument
 * margined at the mark (at the entry, only the model knows). */
static int at_or_below_cap(const model *M, double n, double cap)
{
    const risk__instrument *in = M->o.in;
    risk__position_values pv;
    risk__position_values_compute(in, M->q0 + M->o.dir * (n * M->lot), in->mark, M->im_rate, &pv);
    return !(pv.margin_notional > cap);
}

/* Whether n is on the near side of a cap: at or below it when the notional rises with n, above
 * it when it falls. */
static int near_side(const model *M, double n, double cap, int rising)
{
    return at_or_below_cap(M, n, cap) == rising;
}

/* The last n of [lo - 1, hi] on the near side of a tier cap (margined at the mark; lo - 1 counts
 * as near): lo - 1 when lo is already past it, hi when the whole region is near. Galloping out
 * from the estimate c (the notional's slope puts the cap there, but for rounding), then
 * bisecting, on the notional itself. */
static double tier_cut(const model *M, double c, double cap, int rising, double lo, double hi)
{
    if (!(c >= lo)) /* (NaN too) */
        c = lo;
    if (c > hi)
        c = hi;
    double a, b, step = 1.0; /* near(a), not near(b) */
    if (near_side(M, c, cap, rising)) {
        for (a = c, b = a + step; b <= hi && near_side(M, b, cap, rising); b = a + step) {
            a = b;
            step *= 2.0;
        }
        if (b > hi + 1.0)
            b = hi + 1.0;
    } else {
        for (b = c, a = b - step; a >= lo && !near_side(M, a, cap, rising); a = b - step) {
            b = a;
            step *= 2.0;
        }
        if (a < lo - 1.0)
            a = lo - 1.0;
    }
    while (b - a > 1.0) {
        double m = floor_lots(0.5 * (a + b));
        if (near_side(M, m, cap, rising))
            a = m;
        else
            b = m;
    }
    return a;
}

/* A region's line: the model at its first lot, and per lot the slopes of the target's margin
 * notional and of its cross PnL in V. */
typedef struct line {
    point p0;
    double s_mn, s_upnl;
} line;

/* Appends the pieces of region [lo, hi] to out[*np] and sets *ln (when hi > lo and the region is
 * not the close). Returns whether g only falls in it.
 *
 * The slopes come from the model at lo and at hi. A growing region margined at the mark needs
 * no model at hi when it is plainly falling: its line runs back to lo - 1, the position held
 * now (when adding) or none (when opening, or at the close before a flip), so one lot gives the
 * slopes; and its tier cuts are found on the notional itself, whatever the slopes' rounding. */
static uint32_t region_pieces(model *M, uint32_t kind, double lo, double hi, piece *out, size_t *np, line *ln)
{
    double cuts[MAX_CUTS];
    size_t nc = 0;
    uint32_t monotone = 0;
    if (hi > lo && kind != REGION_CLOSE) {
        const point *p0 = &ln->p0;
        model_eval(M, lo, &ln->p0, 1);
        memo_put(M, lo, p0->avail);
        const risk__schedule *sch = &M->o.in->schedule;
        double rate = risk__schedule_im_rate(sch, p0->tier, M->im_rate) * M->ps; /* the cheapest tier's */
        int at_mark = M->o.in->mm_price != RISK_MM_PRICE_ENTRY, sloped = 0;
        if (kind == REGION_GROW && at_mark && M->o.fee_rate == 0.0) { /* (a fee moves the balance too) */
            double mn_a = 0.0, upnl_a = 0.0;
            if (lo == 1.0 && M->o.slot >= 0) {
                risk__position_values pv;
                risk__position_values_compute(M->o.in, M->q0, M->e0, M->im_rate0, &pv);
                mn_a = pv.margin_notional;
                upnl_a = M->isolated ? 0.0 : pv.upnl * M->ps;
            }
            ln->s_mn = p0->mn - mn_a;
            ln->s_upnl = p0->upnl_v - upnl_a;
            /* falling by a margin above the rounding of a one-lot difference */
            double tol = 1e-12 * (fabs(p0->upnl_v) + fabs(upnl_a) + rate * (p0->mn + mn_a));
            sloped = monotone = M->isolated || ln->s_upnl + tol < rate * ln->s_mn;
        }
        double b_slope = 0.0;
        if (!sloped) {
            point p1;
            model_eval(M, hi, &p1, 0);
            double span = hi - lo;
            ln->s_mn = (p1.mn - p0->mn) / span;
            ln->s_upnl = (p1.upnl_v - p0->upnl_v) / span;
            b_slope = (p1.bal - p0->bal) / span;
            if (kind != REGION_REDUCE) /* falling throughout when the cheapest tier's IM outgrows the PnL */
                monotone = M->isolated || ln->s_upnl <= rate * ln->s_mn;
        }
        int rising = kind != REGION_REDUCE;
        for (uint32_t k = 0; ln->s_mn != 0.0 && k + 1 < sch->n_tiers; k++) {
            double cap = sch->tiers[k].notional_cap, x = lo + (cap - p0->mn) / ln->s_mn;
            double c = rising ? floor_lots(x) : -floor_lots(-x) - 1.0;
            if (at_mark) {
                if ((p0->mn > cap) != rising) /* lo is on the near side (at or below the cap, when rising) */
                    add_cut(cuts, &nc, tier_cut(M, c, cap, rising, lo, hi), lo, hi);
            } else {
                add_cut(cuts, &nc, c, lo, hi);
            }
        }
        if (kind == REGION_REDUCE || M->o.fee_rate != 0.0) { /* the weight of the settle balance
                                                                  changes at 0 and at value tiers */
            for (uint32_t k = 0; b_slope != 0.0 && k <= M->settle->n_tiers; k++) {
                double at = k == 0 ? 0.0 : M->settle->tiers[k - 1].up_to_qty;
                if (isfinite(at))
                    add_cut(cuts, &nc, floor_lots(lo + (at - p0->bal) / b_slope), lo, hi);
            }
        }
    }
    for (size_t i = 1; i < nc; i++) /* sort (few cuts) */
        for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
            double t = cuts[j];
            cuts[j] = cuts[j - 1];
            cuts[j - 1] = t;
        }
    double start = lo;
    for (size_t i = 0; i <= nc && *np < MAX_PIECES; i++) {
        double end = i < nc ? cuts[i] : hi;
        if (end < start)
            continue; /* a repeated cut */
        out[*np].lo = start;
        out[*np].hi = end;
        out[*np].region = kind;
        out[*np].monotone = monotone;
        (*np)++;
        start = end + 1.0;
    }
    return monotone;
}

/* n, or a neighbour up to `steps` lots away, with g(n) >= T > g(n + 1) (n >= lo); -1 when none. */
static double confirm(model *M, double n, double T, double lo, unsigned steps)
{
    double f = model_avail(M, n);
    for (unsigned k = 0; k < steps && f < T && n > lo; k++)
        f = model_avail(M, n -= 1.0);
    double next = model_avail(M, n + 1.0);
    for (unsigned k = 0; k < steps && next >= T && f >= T; k++) {
        f = next;
        next = model_avail(M, (n += 1.0) + 1.0);
    }
    return f >= T && next < T ? n : -1.0;
}

/* What the wallet can pay in isolated top-ups before available falls from g(lo) to T: the
 * settle balance counts at its collateral weight while positive, at its liability weight below
 * 0 (-1: value tiers, which the prediction leaves to the search). */
static double topup_budget(const model *M, double b, double excess)
{
    const risk__asset *as = M->settle;
    if (as->tiers || as->size_scaled) /* weights that move with the balance: the search decides */
        return -1.0;
    double pos = b > 0.0 ? b : 0.0, cw = as->price * as->weight_init, lw = as->price * as->liab_weight_init;
    if (excess <= cw * pos)
        return cw > 0.0 ? excess / cw : pos;
    return pos + (excess - cw * pos) / lw;
}

/* In a falling region, g follows from its line and the tier rates: for a cross position g(lo)
 * plus the PnL slope minus the IM at each piece's rate; for an isolated one g falls only by the
 * top-ups (IM above the margin the position holds) taken from the wallet. The answer that
 * predicts, when g(m) >= T > g(m + 1) confirms it (stepping a lot either way); -1 otherwise (none
 * predicted, or not confirmed: the search decides). */
static double region_predict(model *M, const piece *pc, size_t np, const line *ln, double T)
{
    const point *p0 = &ln->p0;
    double lo = pc[0].lo, s_mn = ln->s_mn;
    if (!(pc[np - 1].hi > lo) || p0->avail < T)
        return -1.0;
    const risk__schedule *sch = &M->o.in->schedule;
    double im0 = p0->mn * risk__schedule_im_rate(sch, p0->tier, M->im_rate) * M->ps, im_cap = 0.0;
    if (M->isolated) {
        double spend = topup_budget(M, p0->bal, p0->avail - T);
        if (spend < 0.0)
            return -1.0;
        im_cap = p0->iso + spend; /* g(n) >= T while IM(n) <= im_cap */
    }
    for (size_t j = np; j-- > 0;) {
        const piece *P = &pc[j];
        double mn_lo = p0->mn + s_mn * (P->lo - lo), mn_mid = p0->mn + s_mn * (0.5 * (P->lo + P->hi) - lo);
        double rate = risk__schedule_im_rate(sch, risk__schedule_tier(sch, mn_mid), M->im_rate), m = INFINITY;
        if (M->isolated) {
            if (mn_lo * rate > im_cap)
                continue;
            if (s_mn > 0.0)
                m = P->lo + (im_cap / rate - mn_lo) / s_mn;
        } else {
            double g_lo = p0->avail + ln->s_upnl * (P->lo - lo) - (mn_lo * rate * M->ps - im0);
            if (g_lo < T)
                continue;
            double slope = ln->s_upnl - s_mn * rate * M->ps;
            if (slope < 0.0)
                m = P->lo + (g_lo - T) / -slope;
        }
        m = m < P->hi ? floor_lots(m) : P->hi;
        if (!(m >= P->lo) || m >= N_CAP)
            return -1.0;
        return confirm(M, m, T, lo, 2);
    }
    return -1.0;
}

/* With f(a) >= T > f(b), a < b: an n in [a, b) with f(n) >= T > f(n + 1), by secant steps
 * (exact in two on an affine piece) with a bisection every third step. */
static double bracket_solve(model *M, double T, double a, double fa, double b, double fb)
{
    for (unsigned k = 0; b - a > 1.0; k++) {
        double m = k % 3 == 2 ? floor_lots(0.5 * (a + b)) : a + floor_lots((fa - T) / (fa - fb) * (b - a));
        if (!(m > a))
            m = a + 1.0;
        if (m >= b)
            m = b - 1.0;
        double fm = model_avail(M, m);
        if (fm >= T) {
            a = m;
            fa = fm;
        } else {
            b = m;
            fb = fm;
        }
    }
    return a;
}

/* The largest n in the pieces with f(n) >= T, or 0 when none. */
static double pieces_search(model *M, const piece *pc, size_t np, double T)
{
    size_t j = np;
    while (j > 0) {
        const piece *P = &pc[--j];
        if (P->monotone) {
            size_t r0 = j;
            while (r0 > 0 && pc[r0 - 1].region == P->region)
                r0--;
            double f0 = model_avail(M, pc[r0].lo);
            if (f0 < T) {
                j = r0;
                continue;
            }
            size_t lo = r0, hi = j + 1; /* f(pc[lo].lo) >= T; f(pc[k].lo) < T for k >= hi */
            while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                double fm = model_avail(M, pc[mid].lo);
                if (fm >= T) {
                    lo = mid;
                    f0 = fm;
                } else {
                    hi = mid;
                }
            }
            P = &pc[lo];
            if (P->hi == P->lo)
                return P->lo;
            double fh = model_avail(M, P->hi);
            return fh >= T ? P->hi : bracket_solve(M, T, P->lo, f0, P->hi, fh);
        }
        double fh = model_avail(M, P->hi);
        if (fh >= T)
            return P->hi;
        double fl = P->lo == P->hi ? fh : model_avail(M, P->lo);
        if (fl >= T)
            return bracket_solve(M, T, P->lo, fl, P->hi, fh);
    }
    return 0.0;
}

/* Whether n lots leave the target's margin notional at or below the instrument's max_notional. */
static int within_limit(model *M, double n)
{
    point pt;
    model_eval(M, n, &pt, 0);
    return !(pt.mn > M->o.in->max_notional);
}

/* The instrument's size limit on the growing region (lo, hi]: the largest n in [lo, hi] whose
 * fill leaves the target's margin notional at or below max_notional (lo when none does). The
 * notional rises with n there (entries average linearly, in 1/E for inverse contracts), so
 * galloping out from lo + 1, then bisecting, on the notional the fill itself leaves. */
static double limit_lots(model *M, double lo, double hi)
{
    double a = lo, b = lo + 1.0, step = 1.0; /* within(a) (lo: no growth); not within(b) once found */
    while (b <= hi && within_limit(M, b)) {
        a = b;
        step *= 2.0;
        b = a + step;
    }
    if (b > hi) {
        if (a == hi || within_limit(M, hi))
            return hi;
        b = hi;
    }
    while (b - a > 1.0) {
        double m = floor_lots(0.5 * (a + b));
        if (within_limit(M, m))
            a = m;
        else
            b = m;
    }
    return a;
}

/* ------------------------------------------------------------ options */

/* Options: the what-if is the oracle. An option position's equity (its mark value) and its
 * standard margin are not affine in the notional per tier, so the model above does not apply;
 * g(n) is the `available` of the what-if for n lots, computed on one shadow reset per call, bit
 * for bit risk_account_whatif()'s. In each region (reduce 1 .. R - 1, close R, grow R + 1 ..) g
 * is concave in n in exact arithmetic: the position's value and margin are linear in its size,
 * the premium and fee move the settle balance linearly, and that balance is worth less per unit
 * the larger it is (collateral weight <= 1 <= liability weight, value tiers falling). So
 * {n : g(n) >= T} is an interval in each region, found by O(log n) what-ifs (docs/whatif.md). */
typedef struct opt_oracle {
    risk_account *a;
    risk__order_ctx o;
    risk__shadow sh;
    double memo_n[MEMO], memo_g[MEMO];
    unsigned memo_next;
} opt_oracle;

/* g(n): available after a fill of n lots (n = 0: as the account stands). */
static double opt_g(opt_oracle *O, double n)
{
    for (unsigned k = 0; k < MEMO; k++)
        if (O->memo_n[k] == n)
            return O->memo_g[k];
    risk__shadow_reset(&O->sh, O->a);
    if (n > 0.0)
        (void)risk__order_fill(&O->sh, O->o.slot, &O->o, n * O->o.in->lot_size, NULL);
    risk__account_values v;
    risk__account_values_compute(&O->sh.acct, &v);
    risk_account_summary sum = RISK_ACCOUNT_SUMMARY_INIT;
    risk__account_summary_fill(&O->sh.acct, &v, &sum);
    unsigned k = O->memo_next++ % MEMO;
    O->memo_n[k] = n;
    O->memo_g[k] = sum.available;
    return sum.available;
}

/* Whether a fill of n lots keeps the position within the instrument's max_notional (as the
 * what-if checks it); the notional only grows with n in the grow region. */
static int opt_within_limit(opt_oracle *O, double n)
{
    if (O->o.in->max_notional == 0.0)
        return 1;
    risk__shadow_reset(&O->sh, O->a);
    double q0 = O->o.slot >= 0 ? O->a->qty[O->o.slot] : 0.0;
    int i = risk__order_fill(&O->sh, O->o.slot, &O->o, n * O->o.in->lot_size, NULL);
    if (i < 0)
        return 1;
    char *msg = NULL;
    int rc = risk__notional_limit_check(O->a->engine, &msg, O->o.in, q0, O->sh.acct.qty[i], O->sh.acct.entry[i]);
    risk__free(O->a->engine, msg);
    return rc == RISK_OK;
}

/* The largest n in [lo, hi] with g(n) >= T when g is concave on [lo, hi] (feasible n form an
 * interval); lo - 1 when none. The peak is found first (the slope's sign, galloping from lo, then
 * bisecting), unless g(hi) >= T already; then the last feasible n after it, galloping from the
 * peak, then bisecting. About 4 log2(hi - lo) what-ifs at most. */
static double opt_search(opt_oracle *O, double lo, double hi, double T)
{
    if (hi < lo)
        return lo - 1.0;
    if (opt_g(O, hi) >= T)
        return hi;
    /* the peak: the first n in [lo, hi] with g(n + 1) <= g(n) (hi when none) */
    double p = lo;
    if (lo < hi && opt_g(O, lo + 1.0) > opt_g(O, lo)) {
        double a = lo, b = hi, step = 1.0; /* rising at a; the peak is in (a, b] */
        for (;;) {
            double m = a + step;
            if (m >= hi)
                break;
            if (opt_g(O, m) >= T) { /* feasible already: no need for the peak itself */
                a = m;
                b = a;
                break;
            }
            if (opt_g(O, m + 1.0) > opt_g(O, m)) {
                a = m;
                step *= 2.0;
            } else {
                b = m;
                break;
            }
        }
        while (b - a > 1.0) {
            double m = floor_lots(0.5 * (a + b));
            if (opt_g(O, m + 1.0) > opt_g(O, m))
                a = m;
            else
                b = m;
        }
        p = b;
    }
    if (opt_g(O, p) < T)
        return lo - 1.0;
    double a = p, b = hi, step = 1.0; /* g(a) >= T > g(b) */
    while (a + step < b) {
        if (opt_g(O, a + step) < T) {
            b = a + step;
            break;
        }
        a += step;
        step *= 2.0;
    }
    while (b - a > 1.0) {
        double m = floor_lots(0.5 * (a + b));
        if (opt_g(O, m) >= T)
            a = m;
        else
            b = m;
    }
    return a;
}

/* risk_account_max_order_qty for an option; *n_out in lots (INFINITY when past 2^40 lots). */
static int option_max_order(risk_account *a, const risk__order_ctx *o, double *n_out)
{
    opt_oracle O;
    O.a = a;
    O.o = *o;
    if (risk__shadow_init(&O.sh, a, 1))
        return risk__fail(a->engine, &a->errmsg, RISK_ENOMEM, "out of memory for a max-order query");
    for (unsigned k = 0; k < MEMO; k++)
        O.memo_n[k] = -1.0;
    O.memo_next = 0;
    const double lot = o->in->lot_size;
    double R = 0.0, n_max = N_CAP, T = 0.0;
    if (o->slot >= 0 && (a->qty[o->slot] > 0.0) != (o->dir > 0.0))
        R = nearbyint(fabs(a->qty[o->slot]) / lot);
    if (o->leg != RISK_SIDE_BOTH && o->dir != (o->leg == RISK_SIDE_LONG ? 1.0 : -1.0))
        n_max = R; /* a hedge leg is only reduced (0 when absent) */
    if (n_max > R && o->in->max_notional != 0.0 && !opt_within_limit(&O, n_max)) {
        double ok = R, bad = n_max, step = 1.0; /* within(ok) (R: no growth), not within(bad) */
        while (ok + step < bad && opt_within_limit(&O, ok + step)) {
            ok += step;
            step *= 2.0;
        }
        if (ok + step < bad)
            bad = ok + step;
        while (bad - ok > 1.0) {
            double m = floor_lots(0.5 * (ok + bad));
            if (opt_within_limit(&O, m))
                ok = m;
            else
                bad = m;
        }
        n_max = ok;
    }
    /* grow, then the close, then reduce: the largest feasible n overall */
    double n = n_max > R ? opt_search(&O, R + 1.0, n_max, T) : R;
    if (n < R + 1.0) {
        n = R >= 1.0 && opt_g(&O, R) >= T ? R : opt_search(&O, 1.0, R - 1.0, T);
        if (n < 1.0 && opt_g(&O, 0.0) < 0.0) { /* nothing restores it: the largest reduction that does no harm */
            T = opt_g(&O, 0.0);
            n = R >= 1.0 && opt_g(&O, R) >= T ? R : opt_search(&O, 1.0, R - 1.0, T);
        }
        if (n < 1.0)
            n = 0.0;
    }
    if (n < N_CAP) { /* concave up to the quantization of postings: check g(n) >= T > g(n + 1) where it stands */
        double limit = T < 0.0 ? R : n_max;
        for (unsigned k = 0; k < CONFIRM_STEPS && n > 0.0 && opt_g(&O, n) < T; k++)
            n -= 1.0;
        for (unsigned k = 0; k < CONFIRM_STEPS && n + 1.0 <= limit && opt_g(&O, n + 1.0) >= T; k++)
            n += 1.0;
    }
    risk__shadow_release(&O.sh);
    *n_out = n >= N_CAP ? INFINITY : n;
    return RISK_OK;
}

RISK_API int risk_account_max_order_qty(const risk_account *account, uint32_t instrument, uint32_t side,
                                        uint32_t leg, double price, double *qty_out)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = (risk_account *)account;
    if (!qty_out)
        return risk__fail(a->engine, &a->errmsg, RISK_ENULL, "qty_out is NULL");
    risk__order_ctx o;
    int rc = risk__order_resolve(a, instrument, side, leg, price, &o);
    if (rc)
        return rc;
    if (o.slot < 0 && a->n_pos >= RISK__MAX_POSITIONS)
        return risk__order_new_position_fail(a);
    /* an option's margin, and a portfolio account's scenario grid, are not affine in the notional
     * per tier: the what-if decides (available is concave in lots for both, docs/whatif.md) */
    if (o.in->kind == RISK_KIND_OPTION || a->margin_mode == RISK_MARGIN_PORTFOLIO) {
        double n = 0.0;
        if ((rc = option_max_order(a, &o, &n)))
            return rc;
        *qty_out = n * o.in->lot_size;
        risk__clear(&a->errmsg);
        return RISK_OK;
    }
    model M;
    if (model_init(&M, a, &o))
        return risk__fail(a->engine, &a->errmsg, RISK_ENOMEM, "out of memory for a max-order query");
    /* Regions in lots: reducing [1, R - 1], the close R, growing (R + 1 ...); a hedge leg stops at
     * R. Searched from the top; a region below is built only when the one above has no answer. */
    double lots_to_close = 0.0, n_max = N_CAP;
    int reduces = o.slot >= 0 && (a->qty[o.slot] > 0.0) != (o.dir > 0.0);
    if (reduces)
        lots_to_close = nearbyint(fabs(a->qty[o.slot]) / M.lot);
    if (o.leg != RISK_SIDE_BOTH && o.dir != (o.leg == RISK_SIDE_LONG ? 1.0 : -1.0))
        n_max = lots_to_close; /* a hedge leg is only reduced (0 when absent) */
    if (n_max > lots_to_close && o.in->max_notional != 0.0)
        n_max = limit_lots(&M, lots_to_close, n_max);
    piece pc[MAX_PIECES];
    line ln;
    size_t np = 0, np_grow = 0;
    double T = 0.0, limit = n_max, n = 0.0;
    int confirmed = 0; /* g(n) >= T > g(n + 1) already seen */
    if (n_max > lots_to_close) {
        uint32_t monotone = region_pieces(&M, REGION_GROW, lots_to_close + 1.0, n_max, pc, &np_grow, &ln);
        if (monotone && o.fee_rate == 0.0 && (n = region_predict(&M, pc, np_grow, &ln, T)) >= 0.0)
            confirmed = 1;
        else
            n = pieces_search(&M, pc, np_grow, T);
    }
    np = np_grow;
    if (n == 0.0) {
        if (lots_to_close >= 2.0)
            (void)region_pieces(&M, REGION_REDUCE, 1.0, lots_to_close - 1.0, pc, &np, &ln);
        if (lots_to_close >= 1.0)
            (void)region_pieces(&M, REGION_CLOSE, lots_to_close, lots_to_close, pc, &np, &ln);
        n = pieces_search(&M, pc + np_grow, np - np_grow, T);
    }
    double now;
    if (n == 0.0 && (now = model_avail(&M, 0.0)) < 0.0) { /* nothing restores it: the largest
                                                             reduction that does no harm */
        T = now;
        limit = lots_to_close;
        n = pieces_search(&M, pc + np_grow, np - np_grow, T);
    }
    if (n >= N_CAP) {
        n = INFINITY;
    } else if (!confirmed) { /* the model is the evaluation: check g(n) >= T > g(n + 1) where it stands */
        for (unsigned k = 0; k < CONFIRM_STEPS && n > 0.0 && model_avail(&M, n) < T; k++)
            n -= 1.0;
        for (unsigned k = 0; k < CONFIRM_STEPS && n + 1.0 <= limit && model_avail(&M, n + 1.0) >= T; k++)
            n += 1.0;
    }
    model_release(&M);
    *qty_out = n * M.lot;
    risk__clear(&a->errmsg);
    return RISK_OK;
}
