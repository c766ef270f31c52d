/* What-if fills, max order size and margin for resting orders.
 *
 * A what-if fills a shadow copy of the account (core/shadow.c) with the account's own fill code
 * and evaluates it with the account's own evaluation, so its summary is bit-identical to the
 * account's after the same calls.
 *
 * Max order size: g(n), the `available` after a fill of n lots, is piecewise affine in n. Within
 * one region (reducing the position, the exact close, growing a new or flipped position) the
 * target position's margin notional is affine in n (entries average linearly, in 1/E for inverse
 * contracts), so tier edges cut each region into pieces where the tier is fixed; the reducing
 * region is also cut where the settle balance crosses 0 or a value-tier bound (the weights
 * change there). A cheap model evaluates g from the account's sums without the target position
 * plus the target position alone, filled with the same fill code. The pieces are searched from
 * the top: the answer is the end of the first piece whose end is feasible, or the root inside
 * the first piece whose start is; a growing region in which g only falls (every tier's IM
 * slope above the unrealised-PnL slope, or an isolated position) is binary-searched over its
 * pieces instead. Where the model lands within its noise of the threshold at n or n + 1, the
 * answer is confirmed on the shadow (g(n) >= T > g(n + 1)), stepping a lot at a time.
 * docs/whatif.md has the derivation. */
#include "margin/schedule.h"

#include <string.h>

#define N_CAP 1099511627776.0 /* 2^40 lots: a feasible quantity this large is reported as INFINITY */
#define MAX_CUTS 192
#define CONFIRM_STEPS 16
#define MEMO 8

/* A validated order, resolved against the account. */
typedef struct order_ctx {
    const risk__instrument *in;
    uint32_t instrument, leg;
    double dir;   /* +1 buy, -1 sell */
    double price; /* the fill price (the mark when the order said 0) */
    int slot;     /* the account's position on (instrument, leg), -1 when none */
} order_ctx;

static int position_slot(const risk_account *a, uint32_t instrument, uint32_t leg)
{
    for (uint32_t i = 0; i < a->n_pos; i++)
        if (a->inst[i] == instrument && (a->pflags[i] & RISK__PF_LEG_MASK) == leg)
            return (int)i;
    return -1;
}

static double user_im_rate(const risk_account *a, uint32_t instrument)
{
    for (uint32_t i = 0; i < a->n_levs; i++)
        if (a->levs[i].instrument == instrument)
            return 1.0 / a->levs[i].leverage;
    return 0.0;
}

/* Checks everything of an order but its quantity; fills *o. */
static int order_resolve(risk_account *a, uint32_t instrument, uint32_t side, uint32_t leg, double price,
                         order_ctx *o)
{
    const risk_engine *e = a->engine;
    if (instrument >= e->n_instruments)
        return risk__fail(e, &a->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    const risk__instrument *in = &e->instruments[instrument];
    if (side != RISK_ORDER_BUY && side != RISK_ORDER_SELL)
        return risk__fail(e, &a->errmsg, RISK_EINVAL, "%s: unknown order side %u", in->symbol, side);
    if (leg > RISK_SIDE_SHORT || (a->position_mode == RISK_POSITION_HEDGE) != (leg != RISK_SIDE_BOTH))
        return risk__fail(e, &a->errmsg, RISK_ESTATE, "%s: leg %u does not fit the account's position mode",
                          in->symbol, leg);
    if (!isfinite(price) || price < 0.0)
        return risk__fail(e, &a->errmsg, RISK_EINVAL, "%s: price must be finite and >= 0 (0: the mark)",
                          in->symbol);
    if (price > 0.0 && !risk__is_whole_multiple(price, in->tick_size))
        return risk__fail(e, &a->errmsg, RISK_ETICK, "%s: price %.17g is off the tick %.17g", in->symbol, price,
                          in->tick_size);
    o->in = in;
    o->instrument = instrument;
    o->leg = leg;
    o->dir = side == RISK_ORDER_BUY ? 1.0 : -1.0;
    o->price = price > 0.0 ? price : in->mark;
    o->slot = position_slot(a, instrument, leg);
    return RISK_OK;
}

/* Whether a hedge-leg fill of `qty` is impossible: reducing an absent leg, or past zero. */
static int hedge_fill_invalid(const risk_account *sa, int slot, const order_ctx *o, double qty)
{
    if (o->leg == RISK_SIDE_BOTH)
        return 0;
    double leg_dir = o->leg == RISK_SIDE_LONG ? 1.0 : -1.0;
    if (o->dir == leg_dir)
        return 0; /* adds to the leg */
    if (slot < 0)
        return 1;
    double next = sa->qty[slot] + o->dir * qty;
    return next * leg_dir < 0.0 && fabs(next) >= 0.5 * o->in->lot_size;
}

/* Tops an isolated position up to its initial margin from the settle balance, as
 * risk_position_set_isolated_margin(p, initial margin of its position result) does. */
static void isolated_top_up(risk_account *sa, uint32_t i)
{
    if (!(sa->pflags[i] & RISK__PF_ISOLATED))
        return;
    const risk_engine *e = sa->engine;
    const risk__instrument *in = &e->instruments[sa->inst[i]];
    risk__position_values pv;
    risk__position_values_compute(in, sa->qty[i], sa->entry[i], sa->im_rate[i], &pv);
    double im = pv.im;
    if (!(e->flags & RISK_ENGINE_NO_QUANTIZE))
        im = risk__quantize(im, risk__asset_scale(&e->assets[in->settle]), 1);
    if (im > sa->iso_margin[i]) {
        risk__basket_add_unchecked(&sa->basket, in->settle, sa->iso_margin[i] - im);
        sa->iso_margin[i] = im;
    }
}

/* Fills `qty` (> 0, validated, hedge legs checked) of the order on a shadow whose position on
 * the order's (instrument, leg) is at `slot` (-1: none). The shadow has room for one more
 * position and every settle balance, so this never allocates. */
static void shadow_apply(risk__shadow *s, int slot, const order_ctx *o, double qty)
{
    risk_account *sa = &s->acct;
    double delta = o->dir * qty;
    uint32_t i;
    if (slot >= 0) {
        uint32_t before = sa->n_pos;
        (void)risk__shadow_fill(s, (uint32_t)slot, delta, o->price); /* cannot fail: see above */
        if (sa->n_pos < before)
            return; /* closed: an isolated margin went back to the wallet */
        i = (uint32_t)slot;
    } else {
        uint32_t flags = o->leg | (sa->margin_mode == RISK_MARGIN_ISOLATED ? RISK__PF_ISOLATED : 0u);
        i = risk__shadow_append(s, o->instrument, flags, delta, o->price, user_im_rate(sa, o->instrument));
    }
    isolated_top_up(sa, i);
}

static void shadow_summary(const risk__shadow *s, risk_account_summary *out)
{
    risk__account_values v;
    risk__account_values_compute(&s->acct, &v);
    risk__account_summary_fill(&s->acct, &v, out);
}

static int check_summary(risk_account *a, const risk_account_summary *out)
{
    if (!out)
        return risk__fail(a->engine, &a->errmsg, RISK_ENULL, "summary_out is NULL");
    if (out->version != RISK_ACCOUNT_SUMMARY_VERSION)
        return risk__fail(a->engine, &a->errmsg, RISK_EVERSION, "account summary version %u is not %d",
                          out->version, RISK_ACCOUNT_SUMMARY_VERSION);
    return RISK_OK;
}

static int check_order(risk_account *a, const risk_order *order, order_ctx *o)
{
    const risk_engine *e = a->engine;
    if (order->version != RISK_ORDER_VERSION)
        return risk__fail(e, &a->errmsg, RISK_EVERSION, "order version %u is not %d", order->version,
                          RISK_ORDER_VERSION);
    int rc = order_resolve(a, order->instrument, order->side, order->leg, order->price, o);
    if (rc)
        return rc;
    if (!isfinite(order->qty) || order->qty <= 0.0)
        return risk__fail(e, &a->errmsg, RISK_EINVAL, "%s: order qty must be finite and > 0", o->in->symbol);
    if (!risk__is_whole_multiple(order->qty, o->in->lot_size))
        return risk__fail(e, &a->errmsg, RISK_ELOT, "%s: qty %.17g is not a whole number of lots (lot %.17g)",
                          o->in->symbol, order->qty, o->in->lot_size);
    return RISK_OK;
}

static int hedge_fail(risk_account *a, const order_ctx *o)
{
    return risk__fail(a->engine, &a->errmsg, RISK_ESTATE, "%s: the order would reduce the %s leg past zero",
                      o->in->symbol, o->leg == RISK_SIDE_LONG ? "long" : "short");
}

static int new_position_fail(risk_account *a)
{
    return risk__fail(a->engine, &a->errmsg, RISK_EINVAL, "an account holds at most %u positions",
                      RISK__MAX_POSITIONS);
}

RISK_API int risk_account_whatif(const risk_account *account, const risk_order *order,
                                 risk_account_summary *summary_out)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = (risk_account *)account; /* the message buffer is not account state */
    if (!order)
        return risk__fail(a->engine, &a->errmsg, RISK_ENULL, "order is NULL");
    int rc = check_summary(a, summary_out);
    order_ctx o;
    if (rc || (rc = check_order(a, order, &o)))
        return rc;
    if (hedge_fill_invalid(a, o.slot, &o, order->qty))
        return hedge_fail(a, &o);
    if (o.slot < 0 && a->n_pos >= RISK__MAX_POSITIONS)
        return new_position_fail(a);
    risk__shadow s;
    if (risk__shadow_init(&s, a, 1))
        return risk__fail(a->engine, &a->errmsg, RISK_ENOMEM, "out of memory for a what-if");
    shadow_apply(&s, o.slot, &o, order->qty);
    shadow_summary(&s, summary_out);
    risk__shadow_release(&s);
    risk__clear(&a->errmsg);
    return RISK_OK;
}

/* ------------------------------------------------------------ max order size */

/* The target position alone with the settle balance: a one-slot shadow on the stack, moved by
 * the same fill code as the account. It points into itself: set up in place, never copied. */
typedef struct probe {
    risk__shadow sh;
    double qty, entry, im_rate, iso, amount;
    uint32_t inst, pflags, origin, asset;
    risk_position *handle;
} probe;

/* g(n) without the account: its sums without the target position, plus the probe. */
typedef struct model {
    const risk_account *a;
    order_ctx o;
    const risk__asset *settle;
    double lot, ps;            /* lot size; settle asset price in V */
    double b0;                 /* settle balance now */
    double c_other, r_other;   /* C_init and R_init terms of the other balances, in V */
    double upnl_rest, im_rest; /* cross positions other than the target, in V */
    double im_rate;            /* the target's user IM rate (0: the tier's) */
    double scale;              /* valuation asset's 10^decimals; 0 when results are not quantized */
    double noise;              /* bound on |model - evaluation| of available (summation order) */
    int isolated;              /* the target position is (or opens) isolated */
    /* the last few values of available, by n (searches come back to piece ends and to n + 1) */
    double memo_n[MEMO], memo_avail[MEMO];
    unsigned memo_next;
} model;

typedef struct point {
    double avail;  /* available, quantized as the summary is */
    double upnl_v; /* the target's unrealised PnL in V when it is cross, else 0 */
    double mn;     /* the target's margin notional, 0 once closed */
    double bal;    /* the settle balance */
    uint32_t tier;
} point;

static void settle_terms(const risk__asset *as, double b, double *c, double *r)
{
    *c = *r = 0.0;
    if (b > 0.0)
        *c = as->price * risk__tiered_qty(as, b) * as->weight_init;
    else
        *r = -b * as->price * as->liab_weight_init;
}

static void model_eval(const model *M, double n, point *pt)
{
    const risk_account *a = M->a;
    probe p;
    risk_account *pa = &p.sh.acct;
    *pa = *a;
    pa->errmsg = NULL;
    pa->qty = &p.qty;
    pa->entry = &p.entry;
    pa->im_rate = &p.im_rate;
    pa->iso_margin = &p.iso;
    pa->inst = &p.inst;
    pa->pflags = &p.pflags;
    pa->handles = &p.handle;
    pa->cap_pos = 1;
    pa->n_pos = 0;
    p.handle = NULL;
    p.origin = 0;
    p.sh.origin = &p.origin;
    p.sh.block = NULL;
    if (M->o.slot >= 0) {
        uint32_t i = (uint32_t)M->o.slot;
        p.qty = a->qty[i];
        p.entry = a->entry[i];
        p.im_rate = a->im_rate[i];
        p.iso = a->iso_margin[i];
        p.inst = a->inst[i];
        p.pflags = a->pflags[i];
        pa->n_pos = 1;
    }
    pa->basket.owner = pa;
    pa->basket.errmsg = NULL;
    pa->basket.asset = &p.asset;
    pa->basket.amount = &p.amount;
    pa->basket.cap = 1;
    pa->basket.n = M->b0 != 0.0;
    p.asset = M->o.in->settle;
    p.amount = M->b0;
    if (n > 0.0)
        shadow_apply(&p.sh, M->o.slot >= 0 ? 0 : -1, &M->o, n * M->lot);
    double b = pa->basket.n ? p.amount : 0.0, cb, rb;
    settle_terms(M->settle, b, &cb, &rb);
    double c = M->c_other + cb + M->upnl_rest, r = M->r_other + rb + M->im_rest;
    pt->upnl_v = pt->mn = 0.0;
    pt->tier = 0;
    if (pa->n_pos) {
        risk__position_values pv;
        risk__position_values_compute(M->o.in, p.qty, p.entry, p.im_rate, &pv);
        pt->mn = pv.margin_notional;
        pt->tier = pv.tier;
        if (!(p.pflags & RISK__PF_ISOLATED)) {
            pt->upnl_v = pv.upnl * M->ps;
            c += pt->upnl_v;
            r += pv.im * M->ps;
        }
    }
    if (M->scale > 0.0) {
        c = risk__quantize(c, M->scale, 0);
        r = risk__quantize(r, M->scale, 1);
    }
    pt->avail = c - r;
    pt->bal = b;
}

static double model_avail(model *M, double n)
{
    for (unsigned k = 0; k < MEMO; k++)
        if (M->memo_n[k] == n)
            return M->memo_avail[k];
    point pt;
    model_eval(M, n, &pt);
    unsigned k = M->memo_next++ % MEMO;
    M->memo_n[k] = n;
    M->memo_avail[k] = pt.avail;
    return pt.avail;
}

/* g(0) and the model's sums, from one evaluation of the account. */
static void model_init(model *M, const risk_account *a, const order_ctx *o, double *avail_now)
{
    const risk_engine *e = a->engine;
    memset(M, 0, sizeof *M);
    for (unsigned k = 0; k < MEMO; k++)
        M->memo_n[k] = -1.0;
    M->a = a;
    M->o = *o;
    M->settle = &e->assets[o->in->settle];
    M->lot = o->in->lot_size;
    M->ps = M->settle->price;
    risk__account_values v;
    risk_account_summary now;
    risk__account_values_compute(a, &v);
    risk__account_summary_fill(a, &v, &now);
    *avail_now = now.available;
    M->upnl_rest = v.cross_upnl;
    M->im_rest = v.cross_im;
    if (o->slot >= 0) {
        uint32_t i = (uint32_t)o->slot;
        M->im_rate = a->im_rate[i];
        M->isolated = (a->pflags[i] & RISK__PF_ISOLATED) != 0;
        if (!M->isolated) {
            risk__position_values pv;
            risk__position_values_compute(o->in, a->qty[i], a->entry[i], a->im_rate[i], &pv);
            M->upnl_rest -= pv.upnl * M->ps;
            M->im_rest -= pv.im * M->ps;
        }
    } else {
        M->im_rate = user_im_rate(a, o->instrument);
        M->isolated = a->margin_mode == RISK_MARGIN_ISOLATED;
    }
    for (uint32_t j = 0; j < a->basket.n; j++)
        if (a->basket.asset[j] == o->in->settle)
            M->b0 = a->basket.amount[j];
    double cb, rb;
    settle_terms(M->settle, M->b0, &cb, &rb);
    M->c_other = v.basket.collateral_init - cb;
    M->r_other = v.basket.liabilities_init - rb;
    if (!(e->flags & RISK_ENGINE_NO_QUANTIZE) && e->valuation != RISK_ID_NONE)
        M->scale = risk__asset_scale(&e->assets[e->valuation]);
    /* The model adds the same terms as the evaluation in another order: a difference of a few
     * ulps of the magnitudes summed, which quantizing can turn into one quantum of C and one of
     * R. 1e-9 of the magnitudes is far above the ulps (and allows for PnL terms larger than the
     * notionals they come from). */
    double magnitude = v.gross_notional + v.basket.collateral_value + v.basket.liabilities + fabs(v.cross_upnl) +
                       v.cross_im + fabs(now.equity);
    M->noise = (M->scale > 0.0 ? 2.0 / M->scale : 0.0) + 1e-9 * magnitude;
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

static void add_cut(double *cuts, size_t *n, double c, double lo, double hi)
{
    if (c >= lo && c < hi && *n < MAX_CUTS)
        cuts[(*n)++] = c;
}

/* Appends the pieces of region [lo, hi] to out[*np]. */
static void region_pieces(model *M, uint32_t kind, double lo, double hi, piece *out, size_t *np)
{
    double cuts[MAX_CUTS];
    size_t nc = 0;
    uint32_t monotone = 0;
    if (hi > lo && kind != REGION_CLOSE) {
        point p0, p1;
        model_eval(M, lo, &p0);
        model_eval(M, hi, &p1);
        for (unsigned k = 0; k < 2; k++) {
            unsigned slot = M->memo_next++ % MEMO;
            M->memo_n[slot] = k ? hi : lo;
            M->memo_avail[slot] = k ? p1.avail : p0.avail;
        }
        double span = hi - lo;
        double mn_slope = (p1.mn - p0.mn) / span;
        const risk__schedule *sch = &M->o.in->schedule;
        for (uint32_t k = 0; mn_slope != 0.0 && k + 1 < sch->n_tiers; k++) {
            double x = lo + (sch->tiers[k].notional_cap - p0.mn) / mn_slope;
            add_cut(cuts, &nc, mn_slope > 0.0 ? floor(x) : ceil(x) - 1.0, lo, hi);
        }
        if (kind == REGION_REDUCE) { /* the weight of the settle balance changes at 0 and at value tiers */
            double b_slope = (p1.bal - p0.bal) / span;
            for (uint32_t k = 0; b_slope != 0.0 && k <= M->settle->n_tiers; k++) {
                double at = k == 0 ? 0.0 : M->settle->tiers[k - 1].up_to_qty;
                if (isfinite(at))
                    add_cut(cuts, &nc, floor(lo + (at - p0.bal) / b_slope), lo, hi);
            }
        } else { /* falling throughout when the cheapest tier's IM outgrows the PnL, or isolated */
            double rate = risk__schedule_im_rate(sch, p0.tier, M->im_rate);
            monotone = M->isolated || (p1.upnl_v - p0.upnl_v) / span <= rate * mn_slope * M->ps;
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
}

/* With f(a) >= T > f(b), a < b: an n in [a, b) with f(n) >= T > f(n + 1), by secant steps
 * (exact in two on an affine piece) with a bisection every third step. */
static double bracket_solve(model *M, double T, double a, double fa, double b, double fb)
{
    for (unsigned k = 0; b - a > 1.0; k++) {
        double m = k % 3 == 2 ? floor(0.5 * (a + b)) : a + floor((fa - T) / (fa - fb) * (b - a));
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

/* available after n lots, on the shadow. */
static double shadow_avail(risk__shadow *s, const risk_account *a, const order_ctx *o, double n, double lot)
{
    risk_account_summary sum;
    risk__shadow_reset(s, a);
    if (n > 0.0)
        shadow_apply(s, o->slot, o, n * lot);
    shadow_summary(s, &sum);
    return sum.available;
}

RISK_API int risk_account_max_order_qty(const risk_account *account, uint32_t instrument, uint32_t side,
                                        uint32_t leg, double price, double *qty_out)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = (risk_account *)account;
    if (!qty_out)
        return risk__fail(a->engine, &a->errmsg, RISK_ENULL, "qty_out is NULL");
    order_ctx o;
    int rc = order_resolve(a, instrument, side, leg, price, &o);
    if (rc)
        return rc;
    if (o.slot < 0 && a->n_pos >= RISK__MAX_POSITIONS)
        return new_position_fail(a);
    model M;
    double now;
    model_init(&M, a, &o, &now);
    /* Regions in lots: reducing [1, R - 1], the close R, growing (R + 1 ...); a hedge leg stops at R. */
    double lots_to_close = 0.0, n_max = N_CAP;
    int reduces = o.slot >= 0 && (a->qty[o.slot] > 0.0) != (o.dir > 0.0);
    if (reduces)
        lots_to_close = nearbyint(fabs(a->qty[o.slot]) / M.lot);
    if (o.leg != RISK_SIDE_BOTH && o.dir != (o.leg == RISK_SIDE_LONG ? 1.0 : -1.0))
        n_max = lots_to_close; /* a hedge leg is only reduced (0 when absent) */
    piece pc[MAX_PIECES];
    size_t np = 0, np_reducing;
    if (lots_to_close >= 2.0)
        region_pieces(&M, REGION_REDUCE, 1.0, lots_to_close - 1.0, pc, &np);
    if (lots_to_close >= 1.0)
        region_pieces(&M, REGION_CLOSE, lots_to_close, lots_to_close, pc, &np);
    np_reducing = np;
    if (n_max > lots_to_close)
        region_pieces(&M, REGION_GROW, lots_to_close + 1.0, n_max, pc, &np);

    double T = 0.0, limit = n_max;
    double n = pieces_search(&M, pc, np, T);
    if (n == 0.0 && now < 0.0) { /* nothing restores it: the largest reduction that does no harm */
        T = now;
        limit = lots_to_close;
        n = pieces_search(&M, pc, np_reducing, T);
    }
    if (n >= N_CAP) {
        *qty_out = INFINITY;
        risk__clear(&a->errmsg);
        return RISK_OK;
    }
    /* Confirm on the shadow when the model is within its noise of the threshold at n or n + 1
     * (the evaluation sums in another order), stepping a lot at a time. */
    int near_n = n > 0.0 && model_avail(&M, n) < T + M.noise;
    int near_next = n + 1.0 <= limit && model_avail(&M, n + 1.0) >= T - M.noise;
    if (near_n || near_next) {
        risk__shadow s;
        if (risk__shadow_init(&s, a, 1))
            return risk__fail(a->engine, &a->errmsg, RISK_ENOMEM, "out of memory for a what-if");
        for (unsigned k = 0; k < CONFIRM_STEPS && n > 0.0 && shadow_avail(&s, a, &o, n, M.lot) < T; k++)
            n -= 1.0;
        for (unsigned k = 0; k < CONFIRM_STEPS && n + 1.0 <= limit && shadow_avail(&s, a, &o, n + 1.0, M.lot) >= T;
             k++)
            n += 1.0;
        risk__shadow_release(&s);
    }
    *qty_out = n * M.lot;
    risk__clear(&a->errmsg);
    return RISK_OK;
}

/* ------------------------------------------------------------ resting orders */

/* Fills, on a reset shadow, the orders of `instrument` (every instrument when RISK_ID_NONE) that
 * `pick` selects: those of one side, or those flagged in `flags`. */
static int shadow_apply_orders(risk__shadow *s, risk_account *a, const risk_order *orders, size_t n,
                               uint32_t instrument, uint32_t side, const unsigned char *flags)
{
    risk__shadow_reset(s, a);
    for (size_t j = 0; j < n; j++) {
        const risk_order *r = &orders[j];
        if (flags ? !flags[j] : r->instrument != instrument || r->side != side)
            continue;
        order_ctx o;
        (void)order_resolve(a, r->instrument, r->side, r->leg, r->price, &o); /* checked already */
        int slot = position_slot(&s->acct, o.instrument, o.leg);
        if (hedge_fill_invalid(&s->acct, slot, &o, r->qty))
            return hedge_fail(a, &o);
        shadow_apply(s, slot, &o, r->qty);
    }
    return RISK_OK;
}

#define FLAGS_ON_STACK 64

RISK_API int risk_account_orders_summary(const risk_account *account, const risk_order *orders, size_t n_orders,
                                         risk_account_summary *summary_out, uint32_t *fills_out)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = (risk_account *)account;
    const risk_engine *e = a->engine;
    if (!orders && n_orders)
        return risk__fail(e, &a->errmsg, RISK_ENULL, "orders is NULL");
    int rc = check_summary(a, summary_out);
    if (rc)
        return rc;
    order_ctx o;
    for (size_t k = 0; k < n_orders; k++)
        if ((rc = check_order(a, &orders[k], &o)))
            return rc;
    if (n_orders > RISK__MAX_POSITIONS)
        return risk__fail(e, &a->errmsg, RISK_EINVAL, "at most %u orders", RISK__MAX_POSITIONS);
    unsigned char stack_flags[FLAGS_ON_STACK];
    unsigned char *fills = n_orders <= FLAGS_ON_STACK ? stack_flags : risk__malloc(e, n_orders);
    risk__shadow s;
    if (!fills || risk__shadow_init(&s, a, (uint32_t)n_orders)) {
        if (fills != stack_flags)
            risk__free(e, fills);
        return risk__fail(e, &a->errmsg, RISK_ENOMEM, "out of memory for a what-if");
    }
    risk_account_summary summary;
    summary.version = RISK_ACCOUNT_SUMMARY_VERSION;
    /* Each instrument's worse side, alone on the account (decided at its first order). */
    for (size_t k = 0; k < n_orders && rc == RISK_OK; k++) {
        size_t first = 0;
        while (orders[first].instrument != orders[k].instrument)
            first++;
        if (first != k)
            continue;
        double avail[2];
        for (uint32_t side = RISK_ORDER_BUY; side <= RISK_ORDER_SELL && rc == RISK_OK; side++) {
            rc = shadow_apply_orders(&s, a, orders, n_orders, orders[k].instrument, side, NULL);
            shadow_summary(&s, &summary);
            avail[side - 1] = summary.available;
        }
        uint32_t worse = avail[1] < avail[0] ? RISK_ORDER_SELL : RISK_ORDER_BUY;
        for (size_t j = k; j < n_orders; j++)
            if (orders[j].instrument == orders[k].instrument)
                fills[j] = orders[j].side == worse;
    }
    /* Every instrument's worse side together. */
    if (rc == RISK_OK && (rc = shadow_apply_orders(&s, a, orders, n_orders, RISK_ID_NONE, 0, fills)) == RISK_OK)
        shadow_summary(&s, &summary);
    risk__shadow_release(&s);
    if (rc == RISK_OK) {
        *summary_out = summary;
        for (size_t j = 0; fills_out && j < n_orders; j++)
            fills_out[j] = fills[j];
        risk__clear(&a->errmsg);
    }
    if (fills != stack_flags)
        risk__free(e, fills);
    return rc;
}
