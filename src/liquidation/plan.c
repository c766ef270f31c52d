/* SPDX-License-Identifier: Apache-2.0 */
/* Liquidation plans: the smallest set of actions that brings an account to the exit target.
 *
 * Every trial is made on a shadow of the account and evaluated with the account's own
 * evaluation, so the numbers a plan promises are the numbers the account reports once the
 * plan is applied. The search for a minimal quantity uses that surplus is piecewise affine in
 * the quantity closed (one piece per margin tier): interpolation lands on the answer within a
 * piece, one probe a unit below confirms it, and bisection steps guard the non-affine cases
 * (collateral tiers, rounding). docs/liquidation.md gives the algorithm and its sources. */
#include "liquidation/liquidation.h"
#include "margin/schedule.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_SMALL_ACTIONS 16
#define PLAN_SMALL_POSITIONS 64

typedef struct planner {
    const risk_account *a;
    const risk_engine *e;
    const risk_liquidation_policy *pol; /* the engine's: exit target and loan fields */
    const risk__liq_index *idx; /* a batch's ADL queues and holders; NULL: scan the engine */
    risk__shadow base;  /* the account after the actions fixed so far */
    risk__shadow work;  /* base plus one trial */
    risk_liquidation_action *acts;
    size_t n, cap;
    double *price;      /* execution price per account slot */
    double tnc, tmmr;   /* cross pool at the start, in V: net collateral and MM (dYdX's TNC, TMMR) */
    double v_scale;     /* 10^decimals of V; 0 when not quantizing */
    int limited;        /* the close factor stopped a repayment short of the target */
    int full_factor;    /* repay debts in full whatever the close factor (is the target reachable at all?) */
    double fund_drawn, socialized; /* a close-out's insurance draws and socialised losses, V */
    int nomem;
    int work_ready;     /* the work shadow is made on first use: the incremental path needs none */
    int base_known;     /* base_v and base_extra hold the base shadow's values as it is now */
    risk__account_values base_v;
    double base_extra;
    /* small accounts plan without allocating beyond the one shadow */
    risk_liquidation_action acts_small[PLAN_SMALL_ACTIONS];
    double price_small[PLAN_SMALL_POSITIONS];
    uint32_t slots_small[PLAN_SMALL_POSITIONS];
} planner;

/* ------------------------------------------------------------ small helpers */

static double scale_of(const risk_engine *e, uint32_t asset)
{
    return risk__asset_scale(&e->assets[asset]);
}

/* Money rounded to an asset's quantum, against the account unless `up` says otherwise. */
static double money(const planner *p, uint32_t asset, double v, int up)
{
    if (p->e->flags & RISK_ENGINE_NO_QUANTIZE)
        return v;
    return risk__quantize(v, scale_of(p->e, asset), up);
}

/* Money in V rounded to its quantum. */
static double v_money(const planner *p, double v, int up)
{
    return p->v_scale > 0.0 ? risk__quantize(v, p->v_scale, up) : v;
}

static void push(planner *p, const risk_liquidation_action *act)
{
    if (p->n == p->cap) { /* the first actions live in the planner; past them, the heap */
        size_t cap = 2 * p->cap;
        risk_liquidation_action *grown = p->acts == p->acts_small ? risk__malloc(p->e, cap * sizeof *grown)
                                                                  : risk__realloc(p->e, p->acts, cap * sizeof *grown);
        if (!grown) {
            p->nomem = 1;
            return;
        }
        if (p->acts == p->acts_small)
            memcpy(grown, p->acts_small, p->n * sizeof *grown);
        p->acts = grown;
        p->cap = cap;
    }
    p->acts[p->n++] = *act;
}

static void action_init(risk_liquidation_action *act, uint32_t type)
{
    memset(act, 0, sizeof *act);
    act->version = RISK_LIQUIDATION_ACTION_VERSION;
    act->type = type;
    act->instrument = RISK_ID_NONE;
    act->repay_asset = RISK_ID_NONE;
}

/* An ADL or backstop action: qty of position i of a closed against the counterparty's account
 * at price (sell: the account sells), settled in the asset settle. */
static void counterparty_close(risk_liquidation_action *act, uint32_t type, const risk_account *a, uint32_t i,
                               int sell, uint32_t settle, uint64_t counterparty, double qty, double price)
{
    action_init(act, type);
    act->instrument = a->inst[i];
    act->side = sell ? RISK_ORDER_SELL : RISK_ORDER_BUY;
    act->leg = a->pflags[i] & RISK__PF_LEG_MASK;
    act->asset = settle;
    act->counterparty = counterparty;
    act->qty = qty;
    act->price = price;
}

/* Notional of qty contracts at price, in the settle asset. */
static double notional_at(const risk__instrument *in, double qty, double price)
{
    double size = qty * in->contract_size;
    return in->inverse ? size / price : size * price;
}

/* ------------------------------------------------------------ evaluation of targets */

static void summarize(const risk_account *acct, risk__account_values *v, risk_account_summary *s)
{
    risk__account_values_compute(acct, v);
    risk__account_summary_fill(acct, v, s);
}

/* The buffer term of one cross position, in V. */
static double position_extra(const planner *p, uint32_t instrument, double notional_v)
{
    return risk__instrument_policy(p->e, instrument)->buffer * notional_v;
}

/* How far the cross pool is above the exit target, in V (>= 0: reached), from an account's
 * values and the buffer term of its cross positions (`extra`, unquantized). */
static double surplus_of(const planner *p, const risk__account_values *v, double extra)
{
    /* C and R as the summary has them (collateral_maint and maintenance_margin, or the initial
     * pair): quantized down and up to V's quantum */
    int initial = p->pol->exit_target == RISK_EXIT_INITIAL;
    double c = (initial ? v->basket.collateral_init : v->basket.collateral_maint) + v->cross_upnl;
    double r = initial ? v->basket.liabilities_init + v->cross_im : v->basket.liabilities_maint + v->cross_mm;
    if (!initial)
        extra += p->pol->buffer * v->basket.liabilities;
    else
        extra = 0.0;
    if (p->v_scale <= 0.0)
        return c - r - extra;
    c = risk__quantize(c, p->v_scale, 0);
    r = risk__quantize(r, p->v_scale, 1);
    extra = risk__quantize(extra, p->v_scale, 1);
    /* whole quanta: the difference of quantized values, without the float noise of subtracting */
    return nearbyint((c - r - extra) * p->v_scale) / p->v_scale;
}

/* The buffer term of an account's cross positions, in V. */
static double cross_extra(const planner *p, const risk_account *acct)
{
    const risk_engine *e = p->e;
    double extra = 0.0;
    if (p->pol->exit_target == RISK_EXIT_INITIAL)
        return 0.0;
    for (uint32_t i = 0; i < acct->n_pos; i++) {
        if (acct->pflags[i] & RISK__PF_ISOLATED)
            continue;
        const risk__instrument *in = &e->instruments[acct->inst[i]];
        risk__position_values pv;
        risk__position_values_compute(in, acct->qty[i], acct->entry[i], acct->im_rate[i], &pv);
        extra += position_extra(p, acct->inst[i], pv.notional * e->assets[in->settle].price);
    }
    return extra;
}

/* How far the cross pool is above the exit target, in V (>= 0: reached). */
static double cross_surplus(const planner *p, const risk_account *acct)
{
    risk__account_values v;
    risk__account_values_compute(acct, &v);
    return surplus_of(p, &v, cross_extra(p, acct));
}

/* How far an isolated position is above its exit target, in its settle asset; INFINITY once closed. */
static double isolated_surplus(const planner *p, const risk_account *acct, int i)
{
    if (i < 0)
        return INFINITY;
    const risk__instrument *in = &p->e->instruments[acct->inst[i]];
    risk__position_values pv;
    risk__position_values_compute(in, acct->qty[i], acct->entry[i], acct->im_rate[i], &pv);
    double held = acct->iso_margin[i] + pv.upnl;
    if (p->pol->exit_target == RISK_EXIT_INITIAL)
        return held - pv.im;
    return held - pv.mm - risk__instrument_policy(p->e, acct->inst[i])->buffer * pv.notional;
}

static int isolated_liquidatable(const risk_account *acct, uint32_t i, const risk__instrument *in)
{
    risk__position_values pv;
    risk__position_values_compute(in, acct->qty[i], acct->entry[i], acct->im_rate[i], &pv);
    return acct->iso_margin[i] + pv.upnl < pv.mm;
}

/* ------------------------------------------------------------ execution prices */

/* A plan's price kept where risk_account_apply_plan takes it: at least one tick, at most the
 * price domain's top and 2^52 ticks (an inverse bankruptcy price can run to infinity as the
 * loss nears the position's whole value); on the tick. */
static double plan_price_in_domain(const risk__instrument *in, double price)
{
    double top = fmin(RISK_PRICE_MAX, 4503599627370496.0 * in->tick_size);
    if (!(price > 0.0))
        return in->tick_size;
    return price > top ? risk__round_to_step(top, in->tick_size, 0) : price;
}

/* Where slot i is closed: the mark, or dYdX's fillable price
 * mark -/+ clamp(1 - TNC/TMMR, 0, 1) x penalty x MM per contract, never past the position's
 * bankruptcy price mark -/+ (TNC/TMMR) x MM per contract while TNC > 0. On the tick, against
 * the account. */
static double exec_price(const planner *p, uint32_t i)
{
    const risk_account *a = p->a;
    const risk__instrument *in = &p->e->instruments[a->inst[i]];
    const risk_liquidation_policy *pol = risk__instrument_policy(p->e, a->inst[i]);
    int sell = a->qty[i] > 0.0;
    double mark = in->mark, price = mark;
    if (pol->price_model == RISK_PRICE_PENALTY) {
        double sp = p->e->assets[in->settle].price;
        risk__position_values pv;
        risk__position_values_compute(in, a->qty[i], a->entry[i], a->im_rate[i], &pv);
        double tnc = p->tnc, tmmr = p->tmmr;
        if (a->pflags[i] & RISK__PF_ISOLATED) {
            tnc = (a->iso_margin[i] + pv.upnl) * sp;
            tmmr = pv.mm * sp;
        }
        double mm_per_contract = pv.mm * sp / fabs(a->qty[i]); /* V */
        double share = tmmr > 0.0 ? tnc / tmmr : 0.0;
        double abr = 1.0 - share;
        abr = abr < 0.0 ? 0.0 : abr > 1.0 ? 1.0 : abr;
        double off = abr * pol->penalty * mm_per_contract;
        if (tnc > 0.0 && tmmr > 0.0 && share * mm_per_contract < off)
            off = share * mm_per_contract;
        double d = off / sp / in->contract_size; /* settle asset per contract-size unit */
        if (in->inverse)
            price = sell ? 1.0 / (1.0 / mark + d) : (1.0 / mark > d ? 1.0 / (1.0 / mark - d) : mark * 1e6);
        else
            price = sell ? mark - d : mark + d;
    }
    price = risk__round_to_step(price, in->tick_size, !sell);
    return plan_price_in_domain(in, price);
}

/* ------------------------------------------------------------ reduce actions */

/* The liquidator's and the fund's fees for closing qty at price, in the settle asset, rounded up. */
static void reduce_fees(const planner *p, const risk__instrument *in, const risk_liquidation_policy *pol, double qty,
                        double price, double *fee, double *insurance_fee)
{
    double notional = notional_at(in, qty, price);
    *fee = money(p, in->settle, pol->fee * notional, 1);
    *insurance_fee = money(p, in->settle, pol->insurance_fee * notional, 1);
}

static void reduce_fill(const planner *p, const risk_account *acct, int slot, double qty, double price,
                        risk_liquidation_action *act)
{
    const risk__instrument *in = &p->e->instruments[acct->inst[slot]];
    const risk_liquidation_policy *pol = risk__instrument_policy(p->e, acct->inst[slot]);
    action_init(act, RISK_ACTION_REDUCE);
    act->instrument = acct->inst[slot];
    act->side = acct->qty[slot] > 0.0 ? RISK_ORDER_SELL : RISK_ORDER_BUY;
    act->leg = acct->pflags[slot] & RISK__PF_LEG_MASK;
    act->asset = in->settle;
    act->qty = qty;
    act->price = price;
    reduce_fees(p, in, pol, qty, price, &act->fee, &act->insurance_fee);
}

/* A trial: base plus closing k lots (all of them from k = lots) of one position. */
typedef struct reduce_trial {
    uint32_t instrument, leg, isolated;
    double lot, lots, price;
    double min_notional;
    risk_liquidation_action act; /* the action of the last trial */
} reduce_trial;

static double qty_of(const reduce_trial *t, double k)
{
    return k >= t->lots ? t->lots * t->lot : k * t->lot;
}

/* The work shadow, made on first use; NULL (and nomem set) without memory. */
static risk__shadow *work_of(planner *p)
{
    if (!p->work_ready) {
        if (risk__shadow_init(&p->work, p->a, 0)) {
            p->nomem = 1;
            return NULL;
        }
        p->work_ready = 1;
    }
    return &p->work;
}

static double try_reduce(planner *p, reduce_trial *t, double k)
{
    if (!work_of(p))
        return 0.0;
    risk__shadow_reset(&p->work, &p->base.acct);
    risk_account *w = &p->work.acct;
    risk_liquidation_action probe;
    action_init(&probe, RISK_ACTION_REDUCE);
    probe.instrument = t->instrument;
    probe.leg = t->leg;
    int slot = risk__action_slot(w, &probe);
    const risk__instrument *in = &p->e->instruments[t->instrument];
    double qty = qty_of(t, k);
    /* a remainder under the minimum notional goes too */
    if (k < t->lots && notional_at(in, (t->lots - k) * t->lot, in->mark) < t->min_notional)
        qty = t->lots * t->lot;
    reduce_fill(p, w, slot, qty, t->price, &t->act);
    (void)risk__action_execute(w, &t->act);
    if (t->isolated)
        return isolated_surplus(p, w, risk__action_slot(w, &probe));
    return cross_surplus(p, w);
}

typedef double (*trial_fn)(planner *p, void *trial, double k);

static double trial_reduce(planner *p, void *t, double k)
{
    return try_reduce(p, t, k);
}

/* The least k in (lo, hi] with f(k) >= 0, given f(lo) < 0 <= f(hi). Interpolation lands on
 * the answer when f is affine between lo and hi; a probe one unit to the other side confirms
 * it; every third step bisects, so a non-affine f still converges in O(log(hi - lo)). */
static double least_units(planner *p, trial_fn f, void *trial, double lo, double f_lo, double hi, double f_hi,
                          double *f_out)
{
    int step = 0;
    double probe = -1.0;
    /* positions hold at most 2^53 lots (the API's domain), so k and k + 1 differ; the cap on
     * steps bounds the search even if that ever failed: 3 x 64 bisections cover any double */
    while (hi - lo > 1.0 && step < 256) {
        double k;
        if (probe >= 0.0) {
            k = probe;
        } else if (step % 3 == 2) {
            k = floor(lo + (hi - lo) / 2.0);
        } else {
            double t = -f_lo / (f_hi - f_lo);
            k = ceil(lo + t * (hi - lo));
            if (!(k > lo))
                k = lo + 1.0;
            if (!(k < hi))
                k = hi - 1.0;
        }
        if (!(k > lo && k < hi)) /* no whole count strictly between: hi is the answer */
            break;
        int probing = probe >= 0.0;
        probe = -1.0;
        double fk = f(p, trial, k);
        if (fk >= 0.0) {
            hi = k;
            f_hi = fk;
            if (!probing && hi - lo > 1.0)
                probe = hi - 1.0;
        } else {
            lo = k;
            f_lo = fk;
            if (!probing && hi - lo > 1.0)
                probe = lo + 1.0;
        }
        step++;
    }
    if (f_out)
        *f_out = f_hi;
    return hi;
}

static void commit(planner *p, const risk_liquidation_action *act)
{
    push(p, act);
    if (p->work_ready) /* else a trial failed for memory: nomem is set */
        risk__shadow_reset(&p->base, &p->work.acct);
    p->base_known = 0;
}

static void reduce_trial_init(const planner *p, uint32_t slot, reduce_trial *t)
{
    const risk_account *a = p->a;
    const risk__instrument *in = &p->e->instruments[a->inst[slot]];
    t->instrument = a->inst[slot];
    t->leg = a->pflags[slot] & RISK__PF_LEG_MASK;
    t->isolated = (a->pflags[slot] & RISK__PF_ISOLATED) != 0;
    t->lot = in->lot_size;
    t->lots = floor(fabs(a->qty[slot]) / in->lot_size + 0.5);
    t->price = p->price[slot];
    t->min_notional = risk__instrument_policy(p->e, a->inst[slot])->min_notional;
}

/* Isolated positions under their MM, in slot order: each reduced to its own target. */
static void plan_isolated(planner *p)
{
    const risk_account *a = p->a;
    for (uint32_t i = 0; i < a->n_pos && !p->nomem; i++) {
        const risk__instrument *in = &p->e->instruments[a->inst[i]];
        if (!(a->pflags[i] & RISK__PF_ISOLATED) || !isolated_liquidatable(a, i, in))
            continue;
        reduce_trial t;
        reduce_trial_init(p, i, &t);
        double k = t.lots;
        if (t.lots > 1.0) {
            double f_most = try_reduce(p, &t, t.lots - 1.0);
            if (f_most >= 0.0) {
                double f_none = isolated_surplus(p, &p->base.acct, risk__action_slot(&p->base.acct, &t.act));
                k = least_units(p, trial_reduce, &t, 0.0, f_none, t.lots - 1.0, f_most, NULL);
            }
        }
        (void)try_reduce(p, &t, k);
        commit(p, &t.act);
    }
}

/* Cross positions in the order they are reduced: MM in V, largest first; ties by instrument, leg. */
typedef struct ranked {
    double mm;
    uint32_t instrument, leg, slot;
} ranked;

static int ranked_order(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    if (a->mm != b->mm)
        return a->mm > b->mm ? -1 : 1;
    if (a->instrument != b->instrument)
        return a->instrument < b->instrument ? -1 : 1;
    return a->leg < b->leg ? -1 : a->leg > b->leg;
}

/* Shell sort: qsort would allocate for a few dozen positions. Deterministic: ranked_order is a
 * total order. */
static void sort_ranked(ranked *r, uint32_t n)
{
    static const uint32_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1}; /* Ciura's shell-sort gaps */
    for (size_t g = 0; g < sizeof gaps / sizeof *gaps; g++) {
        uint32_t gap = gaps[g];
        for (uint32_t i = gap; i < n; i++) {
            ranked x = r[i];
            uint32_t j = i;
            for (; j >= gap && ranked_order(&r[j - gap], &x) > 0; j -= gap)
                r[j] = r[j - gap];
            r[j] = x;
        }
    }
}

/* Replays every action with action j closing k lots instead (0: without it); the cross surplus. */
typedef struct replay_trial {
    size_t j;
    reduce_trial rt;
} replay_trial;

static double try_replay(planner *p, void *vt, double k)
{
    replay_trial *t = vt;
    if (!work_of(p))
        return 0.0;
    risk__shadow_reset(&p->work, p->a);
    risk_account *w = &p->work.acct;
    for (size_t m = 0; m < p->n; m++) {
        if (m != t->j) {
            (void)risk__action_execute(w, &p->acts[m]);
            continue;
        }
        if (k <= 0.0)
            continue;
        int slot = risk__action_slot(w, &p->acts[m]);
        reduce_fill(p, w, slot, qty_of(&t->rt, k), t->rt.price, &t->rt.act);
        (void)risk__action_execute(w, &t->rt.act);
    }
    return cross_surplus(p, w);
}

static void rebuild_base(planner *p)
{
    p->base_known = 0;
    risk__shadow_reset(&p->base, p->a);
    (void)risk__actions_execute(&p->base.acct, p->acts, p->n);
}

/* Earlier full closes, each cut to the least that still reaches the target with every other
 * action in place; one pass suffices because cutting one only lowers the surplus the others see. */
static void minimize_full_closes(planner *p, size_t first, size_t last)
{
    for (size_t j = first; j < last && !p->nomem; j++) {
        replay_trial t;
        t.j = j;
        const risk__instrument *in = &p->e->instruments[p->acts[j].instrument];
        t.rt.instrument = p->acts[j].instrument;
        t.rt.leg = p->acts[j].leg;
        t.rt.isolated = 0;
        t.rt.lot = in->lot_size;
        t.rt.lots = floor(p->acts[j].qty / in->lot_size + 0.5);
        t.rt.price = p->acts[j].price;
        t.rt.min_notional = 0.0;
        double f_all = try_replay(p, &t, t.rt.lots);
        double f_none = try_replay(p, &t, 0.0);
        if (f_none >= 0.0) { /* not needed at all: drop it */
            memmove(&p->acts[j], &p->acts[j + 1], (p->n - j - 1) * sizeof *p->acts);
            p->n--;
            last--;
            j--;
            continue;
        }
        double k = least_units(p, try_replay, &t, 0.0, f_none, t.rt.lots, f_all, NULL);
        double remainder = notional_at(in, (t.rt.lots - k) * t.rt.lot, in->mark);
        if (k < t.rt.lots && remainder >= risk__instrument_policy(p->e, t.rt.instrument)->min_notional) {
            (void)try_replay(p, &t, k);
            p->acts[j] = t.rt.act;
        }
    }
    rebuild_base(p);
}

/* Portfolio accounts (docs/portfolio-margin.md, "Liquidation plans"): the position whose full
 * close most lowers the worst-scenario loss per unit of notional (V) goes first; the key is that
 * lowering, L(account) - L(account without it), over its notional. */
static void portfolio_rank(planner *p, ranked *order, uint32_t n)
{
    const risk_account *a = p->a;
    double base = risk__pm_worst_loss(a);
    if (!work_of(p))
        return;
    risk_account *w = &p->work.acct;
    for (uint32_t r = 0; r < n; r++) {
        uint32_t i = order[r].slot;
        const risk__instrument *in = &p->e->instruments[a->inst[i]];
        risk__position_values pv;
        risk__position_values_compute(in, a->qty[i], a->entry[i], a->im_rate[i], &pv);
        risk__shadow_reset(&p->work, a);
        w->qty[i] = 0.0; /* without the position: a slot of no contracts adds nothing */
        double lower = base - risk__pm_worst_loss(w);
        double notional = pv.notional * p->e->assets[in->settle].price;
        double key = notional > 0.0 ? lower / notional : 0.0;
        order[r].mm = isfinite(key) ? key : -INFINITY;
    }
}

/* The cross pool's positions, reduced in rank order until the target is reached. */
static double plan_cross_positions(planner *p, double surplus)
{
    const risk_account *a = p->a;
    ranked *order = risk__malloc(p->e, (a->n_pos ? a->n_pos : 1) * sizeof *order);
    if (!order) {
        p->nomem = 1;
        return surplus;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < a->n_pos; i++) {
        if (a->pflags[i] & RISK__PF_ISOLATED)
            continue;
        const risk__instrument *in = &p->e->instruments[a->inst[i]];
        risk__position_values pv;
        risk__position_values_compute(in, a->qty[i], a->entry[i], a->im_rate[i], &pv);
        order[n++] = (ranked){pv.mm * p->e->assets[in->settle].price, a->inst[i], a->pflags[i] & RISK__PF_LEG_MASK, i};
    }
    if (a->margin_mode == RISK_MARGIN_PORTFOLIO)
        portfolio_rank(p, order, n);
    sort_ranked(order, n);
    size_t first = p->n;
    for (uint32_t r = 0; r < n && surplus < 0.0 && !p->nomem; r++) {
        reduce_trial t;
        reduce_trial_init(p, order[r].slot, &t);
        double f_all = try_reduce(p, &t, t.lots);
        if (!(f_all > surplus)) /* closing it does not help (fees above its margin): leave it */
            continue;
        if (f_all < 0.0) {
            commit(p, &t.act);
            surplus = f_all;
            continue;
        }
        double k = least_units(p, trial_reduce, &t, 0.0, surplus, t.lots, f_all, NULL);
        surplus = try_reduce(p, &t, k);
        commit(p, &t.act);
    }
    risk__free(p->e, order);
    if (surplus >= 0.0 && p->n - first > 1) {
        minimize_full_closes(p, first, p->n - 1);
        surplus = cross_surplus(p, &p->base.acct);
    }
    return surplus;
}

/* ------------------------------------------------------------ the cross phase, incrementally
 *
 * A trial changes one position, so instead of evaluating the whole account again it updates the
 * committed sums by that position's contribution (the values evaluation would add for it) and
 * recomputes only the basket. The result is the evaluation's up to the order of summation; the
 * plan is then replayed and evaluated in full, and if that ever disagrees the exact search above
 * (plan_cross_positions) decides instead. */

struct contrib;
typedef struct fast_pool {
    risk__account_values v; /* the committed state's sums */
    double extra;           /* buffer term of its cross positions, V */
    double *qty;            /* per base slot: quantity left */
    double *act_delta;      /* per base slot: its action's change to the settle balance */
    double *price;          /* per base slot: execution price */
    const risk_liquidation_policy **pol; /* per base slot: its instrument's policy */
    struct contrib *now;    /* per base slot: its contribution as committed */
    size_t *act_index;      /* per base slot: its action in p->acts, or SIZE_MAX */
    double *amount;         /* per asset: the committed balance */
    risk__basket_values basket; /* the committed basket's values */
    /* the last trial, which fast_commit reuses when it commits that very trial */
    uint32_t last_slot;
    double last_lots, last_closed, last_left, last_delta, last_fee, last_insurance_fee;
} fast_pool;

typedef struct contrib {
    double upnl, im, mm, notional, extra;
} contrib;

/* Moves one position's contribution in a set of sums (and the buffer term) from `was` to `now`. */
static void contrib_shift(risk__account_values *v, double *extra, const contrib *was, const contrib *now)
{
    v->upnl += now->upnl - was->upnl;
    v->cross_upnl += now->upnl - was->upnl;
    v->cross_im += now->im - was->im;
    v->cross_mm += now->mm - was->mm;
    v->gross_notional += now->notional - was->notional;
    *extra += now->extra - was->extra;
}

/* The trial part of fast_surplus: closing `lots` of slot i, against the committed state. */
static void fast_change(planner *p, fast_pool *f, uint32_t i, double lots);

static void contrib_of(const planner *p, const risk_account *acct, uint32_t i, double qty, contrib *c)
{
    if (qty == 0.0) { /* closed: contributes nothing (tier 0 has no deduction) */
        memset(c, 0, sizeof *c);
        return;
    }
    const risk__instrument *in = &p->e->instruments[acct->inst[i]];
    double sp = p->e->assets[in->settle].price;
    risk__position_values pv;
    risk__position_values_compute(in, qty, acct->entry[i], acct->im_rate[i], &pv);
    c->upnl = pv.upnl * sp;
    c->im = pv.im * sp;
    c->mm = pv.mm * sp;
    c->notional = pv.notional * sp;
    c->extra = p->pol->exit_target == RISK_EXIT_INITIAL ? 0.0 : position_extra(p, acct->inst[i], c->notional);
}

/* Closing `lots` of base slot i in total: the contracts closed, the quantity left, and the
 * settle-balance change (realised PnL as the account posts it, less the fees). */
static void fast_action(planner *p, const fast_pool *f, uint32_t i, double lots, double *closed_out, double *left_out,
                        double *delta_out, double *fee_out, double *insurance_fee_out)
{
    const risk_account *b = &p->base.acct;
    const risk__instrument *in = &p->e->instruments[b->inst[i]];
    const risk_liquidation_policy *pol = f->pol[i];
    double held = fabs(b->qty[i]);
    double total = floor(held / in->lot_size + 0.5);
    double closed = lots >= total ? held : lots * in->lot_size;
    if (lots < total && notional_at(in, (total - lots) * in->lot_size, in->mark) < pol->min_notional)
        closed = held;
    double fee, insurance_fee;
    reduce_fees(p, in, pol, closed, f->price[i], &fee, &insurance_fee);
    double pnl = risk__realised_pnl(in, risk__dir(b->qty[i]), closed, b->entry[i], f->price[i]);
    *closed_out = closed;
    *fee_out = fee;
    *insurance_fee_out = insurance_fee;
    *left_out = closed >= held ? 0.0 : b->qty[i] - risk__dir(b->qty[i]) * closed;
    *delta_out = money(p, in->settle, pnl, 0) - fee - insurance_fee;
}

/* The surplus with base slot i closed by `lots` in total (others as committed); i = RISK_ID_NONE
 * for the committed state itself. */
static double fast_surplus(planner *p, fast_pool *f, uint32_t i, double lots)
{
    const risk_account *b = &p->base.acct;
    risk__account_values v = f->v;
    double extra = f->extra, settle_delta = 0.0;
    uint32_t settle = RISK_ID_NONE;
    if (i != RISK_ID_NONE) {
        fast_change(p, f, i, lots);
        contrib now;
        contrib_of(p, b, i, f->last_left, &now);
        contrib_shift(&v, &extra, &f->now[i], &now);
        settle = p->e->instruments[b->inst[i]].settle;
        settle_delta = f->last_delta - f->act_delta[i];
    }
    v.basket = f->basket;
    if (settle != RISK_ID_NONE && settle_delta != 0.0) {
        const risk__asset *sa = &p->e->assets[settle];
        risk__basket_entry_add(sa, f->amount[settle], -1.0, &v.basket);
        risk__basket_entry_add(sa, f->amount[settle] + settle_delta, 1.0, &v.basket);
    }
    return surplus_of(p, &v, extra);
}

static double fast_trial(planner *p, void *vt, double lots);

typedef struct fast_trial_ctx {
    fast_pool *f;
    uint32_t slot;
} fast_trial_ctx;

static double fast_trial(planner *p, void *vt, double lots)
{
    fast_trial_ctx *t = vt;
    return fast_surplus(p, t->f, t->slot, lots);
}

static void fast_change(planner *p, fast_pool *f, uint32_t i, double lots)
{
    if (f->last_slot == i && f->last_lots == lots)
        return;
    fast_action(p, f, i, lots, &f->last_closed, &f->last_left, &f->last_delta, &f->last_fee,
                &f->last_insurance_fee);
    f->last_slot = i;
    f->last_lots = lots;
}

/* Makes closing `lots` of base slot i the committed action for it (added or replaced). */
static void fast_commit(planner *p, fast_pool *f, uint32_t i, double lots)
{
    const risk_account *b = &p->base.acct;
    fast_change(p, f, i, lots);
    risk_liquidation_action act; /* reduce_fill's action, from the trial's numbers */
    action_init(&act, RISK_ACTION_REDUCE);
    act.instrument = b->inst[i];
    act.side = b->qty[i] > 0.0 ? RISK_ORDER_SELL : RISK_ORDER_BUY;
    act.leg = b->pflags[i] & RISK__PF_LEG_MASK;
    act.asset = p->e->instruments[b->inst[i]].settle;
    act.qty = f->last_closed;
    act.price = f->price[i];
    act.fee = f->last_fee;
    act.insurance_fee = f->last_insurance_fee;
    double left = f->last_left, delta = f->last_delta;
    f->last_slot = RISK_ID_NONE; /* the committed state moves: the cached trial is relative to it */
    contrib now;
    contrib_of(p, b, i, left, &now);
    contrib_shift(&f->v, &f->extra, &f->now[i], &now);
    f->now[i] = now;
    f->qty[i] = left;
    const risk__asset *sa = &p->e->assets[act.asset];
    risk__basket_entry_add(sa, f->amount[act.asset], -1.0, &f->basket);
    f->amount[act.asset] += delta - f->act_delta[i];
    risk__basket_entry_add(sa, f->amount[act.asset], 1.0, &f->basket);
    f->act_delta[i] = delta;
    if (f->act_index[i] == SIZE_MAX) {
        f->act_index[i] = p->n;
        push(p, &act);
    } else {
        p->acts[f->act_index[i]] = act;
    }
}

/* The heavier weight a size-scaled settle asset can put on a balance within `moved` of `amount`:
 * the liability weight grows with the debt, so it is largest at the largest debt reachable. */
static double size_scaled_weight_bound(const risk__asset *a, double amount, double moved, int initial)
{
    double w_init, w_maint;
    risk__asset_weights(a, -(fabs(amount) + moved), &w_init, &w_maint);
    return initial ? w_init : w_maint;
}

/* 1 when keeping the last lot of closed base slot i open would surely miss the target, from an
 * upper bound on the surplus that would leave (so no trial is needed): the lot's MM (or IM) and
 * buffer come back, its PnL at most returns to the pool in full, its settle-balance change is
 * weighted at most by the heavier of the asset's weights plus the buffer, and each rounding
 * (three of V, three of the settle asset) goes the wrong way. */
static int last_lot_needed(const planner *p, const fast_pool *f, uint32_t i, double surplus)
{
    const risk_account *b = &p->base.acct;
    const risk__instrument *in = &p->e->instruments[b->inst[i]];
    const risk__asset *settle = &p->e->assets[in->settle];
    const risk_liquidation_policy *pol = f->pol[i];
    int initial = p->pol->exit_target == RISK_EXIT_INITIAL;
    double dir = risk__dir(b->qty[i]), sp = settle->price;
    contrib one;
    contrib_of(p, b, i, dir * in->lot_size, &one);
    double notional = notional_at(in, in->lot_size, f->price[i]);
    double settle_quantum = (p->e->flags & RISK_ENGINE_NO_QUANTIZE) ? 0.0 : 1.0 / risk__asset_scale(settle);
    double moved = fabs(risk__realised_pnl(in, dir, in->lot_size, b->entry[i], f->price[i])) +
                   (pol->fee + pol->insurance_fee) * notional + 3.0 * settle_quantum;
    double w = initial ? fmax(settle->weight_init, settle->liab_weight_init)
                       : fmax(settle->weight_maint, settle->liab_weight_maint) + p->pol->buffer;
    if (settle->size_scaled) /* the marginal weight of a size-scaled debt: d(y l(y))/dy <= 2 l(y) */
        w = 2.0 * fmax(w, size_scaled_weight_bound(settle, f->amount[in->settle], moved, initial));
    double slack = p->v_scale > 0.0 ? 3.0 / p->v_scale : 0.0;
    double bound = surplus + fabs(one.upnl) + moved * sp * w - (initial ? one.im : one.mm + one.extra) + slack;
    return bound < 0.0;
}

/* Returns 1 and leaves the cross actions in p->acts when the incremental search reached the
 * target and the full evaluation of the replayed plan agrees; 0 otherwise (actions removed). */
static int plan_cross_fast(planner *p, double surplus)
{
    const risk_account *b = &p->base.acct;
    const risk_engine *e = p->e;
    uint32_t n = b->n_pos;
    size_t first = p->n;
    size_t bytes = (size_t)(n ? n : 1) * (3 * sizeof(double) + sizeof(contrib) + sizeof(size_t) +
                                          sizeof(void *) + sizeof(ranked)) +
                   (size_t)e->n_assets * sizeof(double);
    /* on the stack for accounts of up to 64 positions and 64 assets */
    _Alignas(16) unsigned char small[64 * (3 * sizeof(double) + sizeof(contrib) + sizeof(size_t) + sizeof(void *) +
                                            sizeof(ranked)) + 64 * sizeof(double)];
    void *block = bytes <= sizeof small ? (void *)small : risk__malloc(e, bytes);
    if (!block) {
        p->nomem = 1;
        return 0;
    }
    fast_pool f;
    f.qty = block;
    f.act_delta = f.qty + (n ? n : 1);
    f.price = f.act_delta + (n ? n : 1);
    f.amount = f.price + (n ? n : 1);
    f.now = (contrib *)(f.amount + e->n_assets);
    f.act_index = (size_t *)(f.now + (n ? n : 1));
    f.pol = (const risk_liquidation_policy **)(f.act_index + (n ? n : 1));
    ranked *order = (ranked *)(f.pol + (n ? n : 1));
    f.last_slot = RISK_ID_NONE;
    f.v = p->base_v; /* the caller made them known */
    f.basket = f.v.basket;
    f.extra = p->base_extra;
    memset(f.amount, 0, e->n_assets * sizeof *f.amount);
    for (uint32_t k = 0; k < b->basket.n; k++)
        f.amount[b->basket.asset[k]] = risk__balance_of(&e->assets[b->basket.asset[k]], b->basket.amount[k]);
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        f.qty[i] = b->qty[i];
        f.act_delta[i] = 0.0;
        f.act_index[i] = SIZE_MAX;
        if (b->pflags[i] & RISK__PF_ISOLATED)
            continue;
        f.pol[i] = risk__instrument_policy(e, b->inst[i]);
        if (first == 0) { /* nothing committed yet: the base is the account, slot for slot */
            f.price[i] = p->price[i];
        } else {
            risk_liquidation_action key;
            action_init(&key, RISK_ACTION_REDUCE);
            key.instrument = b->inst[i];
            key.leg = b->pflags[i] & RISK__PF_LEG_MASK;
            f.price[i] = p->price[risk__action_slot(p->a, &key)];
        }
        contrib_of(p, b, i, b->qty[i], &f.now[i]);
        order[m++] = (ranked){f.now[i].mm, b->inst[i], b->pflags[i] & RISK__PF_LEG_MASK, i};
    }
    sort_ranked(order, m);

    /* greedy: whole positions in rank order, the last one cut to the least that reaches the target */
    uint32_t last = RISK_ID_NONE;
    for (uint32_t r = 0; r < m && surplus < 0.0 && !p->nomem; r++) {
        uint32_t i = order[r].slot;
        const risk__instrument *in = &e->instruments[b->inst[i]];
        double lots = floor(fabs(b->qty[i]) / in->lot_size + 0.5);
        double f_all = fast_surplus(p, &f, i, lots);
        if (!(f_all > surplus))
            continue;
        double k = lots, f_k = f_all;
        if (f_all >= 0.0) {
            fast_trial_ctx t = {&f, i};
            k = least_units(p, fast_trial, &t, 0.0, surplus, lots, f_all, &f_k);
        }
        fast_commit(p, &f, i, k);
        surplus = f_k;
        last = i;
    }
    /* earlier whole closes: each cut to the least that still reaches the target */
    for (uint32_t r = 0; r < m && surplus >= 0.0 && !p->nomem; r++) {
        uint32_t i = order[r].slot;
        if (i == last || f.act_index[i] == SIZE_MAX)
            continue;
        const risk__instrument *in = &e->instruments[b->inst[i]];
        double lots = floor(p->acts[f.act_index[i]].qty / in->lot_size + 0.5);
        if (lots < 1.0 || last_lot_needed(p, &f, i, surplus) || fast_surplus(p, &f, i, lots - 1.0) < 0.0)
            continue; /* minimal already: the common case */
        fast_trial_ctx t = {&f, i};
        double f_none = fast_surplus(p, &f, i, 0.0);
        double k = 0.0, f_k = f_none; /* not needed at all: a zero reduce is dropped below */
        if (f_none < 0.0)
            k = least_units(p, fast_trial, &t, 0.0, f_none, lots, surplus, &f_k);
        fast_commit(p, &f, i, k);
        surplus = f_k;
    }
    if (block != small)
        risk__free(e, block);
    /* drop cut-to-nothing actions, then check the plan on the account itself */
    size_t w = first;
    for (size_t k = first; k < p->n; k++)
        if (p->acts[k].qty > 0.0)
            p->acts[w++] = p->acts[k];
    p->n = w;
    if (p->nomem)
        return 0;
    rebuild_base(p);
    risk__account_values_compute(&p->base.acct, &p->base_v);
    p->base_known = 1;
    if (surplus >= 0.0 && surplus_of(p, &p->base_v, cross_extra(p, &p->base.acct)) >= 0.0)
        return 1;
    p->n = first;
    rebuild_base(p);
    return 0;
}

/* ------------------------------------------------------------ seizing collateral for debts */

typedef struct seize_trial {
    uint32_t debt, coll;
    double owed;           /* the whole debt */
    double units_owed;     /* units that repay it all: the last one repays exactly what is left */
    double units_max;      /* repayment units (debt quanta) allowed */
    double units_all_coll; /* units at which all the collateral is taken */
    double held;           /* collateral held */
    double unit;           /* one debt quantum */
    double scale;          /* 1 / unit when quantizing, else 0 */
    risk_liquidation_action act;
} seize_trial;

static void seize_fill(const planner *p, seize_trial *t, double k)
{
    const risk_engine *e = p->e;
    double bonus = p->pol->bonus;
    double pd = e->assets[t->debt].price, pc = e->assets[t->coll].price;
    /* k quanta: k / 10^decimals is the nearest double to the decimal amount, k x quantum is not */
    double repay = t->scale > 0.0 ? k / t->scale : k * t->unit, amount;
    if (k >= t->units_owed) /* the debt in full: exactly, leaving no float dust of debt behind */
        repay = t->owed;
    if (k >= t->units_all_coll) {
        amount = t->held;
    } else {
        amount = money(p, t->coll, repay * pd / pc * (1.0 + bonus), 1);
        if (amount > t->held)
            amount = t->held;
    }
    action_init(&t->act, RISK_ACTION_SEIZE);
    t->act.asset = t->coll;
    t->act.repay_asset = t->debt;
    t->act.amount = amount;
    t->act.repay_amount = repay;
    t->act.bonus = money(p, t->coll, amount - amount / (1.0 + bonus), 0);
    t->act.protocol_fee = money(p, t->coll, t->act.bonus * p->pol->protocol_share, 0);
}

static double try_seize(planner *p, void *vt, double k)
{
    seize_trial *t = vt;
    if (!work_of(p))
        return 0.0;
    risk__shadow_reset(&p->work, &p->base.acct);
    seize_fill(p, t, k);
    (void)risk__action_execute(&p->work.acct, &t->act);
    return cross_surplus(p, &p->work.acct);
}

typedef struct balance_rank {
    double value;
    uint32_t asset;
} balance_rank;

static int balance_order(const void *x, const void *y)
{
    const balance_rank *a = x, *b = y;
    if (a->value != b->value)
        return a->value > b->value ? -1 : 1;
    return a->asset < b->asset ? -1 : a->asset > b->asset;
}

/* Balances of one sign of the base shadow, largest value first. */
static uint32_t balances_ranked(const planner *p, int debts, balance_rank *out)
{
    const risk_basket *b = &p->base.acct.basket;
    uint32_t n = 0;
    for (uint32_t i = 0; i < b->n; i++)
        if (debts ? b->amount[i] < 0.0 : b->amount[i] > 0.0)
            out[n++] = (balance_rank){fabs(risk__balance_of(&p->e->assets[b->asset[i]], b->amount[i])) *
                                          p->e->assets[b->asset[i]].price,
                                      b->asset[i]};
    qsort(out, n, sizeof *out, balance_order);
    return n;
}

/* Debts repaid with collateral. `minimal`: stop at the exit target, and cap each debt at the
 * close factor; otherwise (a close-out) repay everything collateral allows. */
static double plan_seizes(planner *p, double surplus, double health_now, int minimal)
{
    const risk_engine *e = p->e;
    balance_rank *debts = risk__malloc(e, 2 * (e->n_assets ? e->n_assets : 1) * sizeof *debts);
    if (!debts) {
        p->nomem = 1;
        return surplus;
    }
    balance_rank *colls = debts + e->n_assets;
    double factor = !minimal || p->full_factor || health_now <= p->pol->full_close_health ? 1.0 : p->pol->close_factor;
    uint32_t nd = balances_ranked(p, 1, debts);
    for (uint32_t d = 0; d < nd && !p->nomem && (!minimal || surplus < 0.0); d++) {
        uint32_t debt = debts[d].asset;
        double unit = (e->flags & RISK_ENGINE_NO_QUANTIZE) ? 0.0 : 1.0 / scale_of(e, debt);
        double owed = -risk__basket_amount(&p->base.acct.basket, debt);
        double allowed = owed * factor;
        uint32_t nc = balances_ranked(p, 0, colls);
        for (uint32_t c = 0; c < nc && !p->nomem && (!minimal || surplus < 0.0) && allowed > 0.0; c++) {
            if (colls[c].asset == debt)
                continue;
            seize_trial t;
            t.debt = debt;
            t.coll = colls[c].asset;
            t.held = risk__basket_amount(&p->base.acct.basket, t.coll);
            double pd = e->assets[debt].price, pc = e->assets[t.coll].price;
            double by_coll = t.held * pc / (pd * (1.0 + p->pol->bonus));
            /* units: debt quanta, or a millionth of the allowance without quantization */
            t.unit = unit > 0.0 ? unit : allowed / 1e6;
            t.scale = unit > 0.0 ? scale_of(e, debt) : 0.0;
            t.owed = -risk__basket_amount(&p->base.acct.basket, debt);
            t.units_owed = ceil(t.owed / t.unit - 1e-9);
            double units_allowed = allowed >= t.owed ? t.units_owed : floor(allowed / t.unit + 1e-9);
            t.units_all_coll = floor(by_coll / t.unit + 1e-9);
            t.units_max = units_allowed < t.units_all_coll ? units_allowed : t.units_all_coll;
            if (t.units_max < 1.0)
                continue;
            double f_max = try_seize(p, &t, t.units_max);
            if (minimal && !(f_max > surplus))
                continue;
            double k = t.units_max;
            if (minimal && f_max >= 0.0) {
                k = least_units(p, try_seize, &t, 0.0, surplus, t.units_max, f_max, NULL);
                f_max = try_seize(p, &t, k);
            } else if (minimal && units_allowed < t.units_all_coll && factor < 1.0) {
                p->limited = 1; /* Aave: the close factor caps one liquidation call */
            }
            commit(p, &t.act);
            surplus = f_max;
            allowed -= t.act.repay_amount;
        }
    }
    risk__free(e, debts);
    return surplus;
}

/* ------------------------------------------------------------ before a close-out: positions whose proceeds repay debts
 *
 * The cross phase skips a position whose close alone lowers the surplus (an inverse long realising
 * coin into a balance weighted below 1), and never touches a healthy isolated position. Either may
 * still reach the target once its proceeds repay a debt: closing the inverse long and repaying the
 * loan with the coin, or releasing an isolated leg's margin into the wallet. So before closing an
 * account out, such positions are tried, each followed by the repayments it makes possible. */

typedef struct then_seize_trial {
    reduce_trial rt;
    double health;      /* health factor before the plan, for the close factor */
} then_seize_trial;

/* The cross surplus after closing k lots of the trial's position, then repaying debts with
 * collateral as far as needed; the plan is left as it was. */
static double try_then_seize(planner *p, void *vt, double k)
{
    then_seize_trial *t = vt;
    size_t n0 = p->n;
    int limited = p->limited;
    double f = try_reduce(p, &t->rt, k);
    if (p->nomem) /* no work shadow: no trial to commit */
        return 0.0;
    commit(p, &t->rt.act);
    if (f < 0.0)
        f = plan_seizes(p, f, t->health, 1);
    p->n = n0;
    p->limited = limited;
    rebuild_base(p);
    return f;
}

/* Closes positions of the account (slots, in order) as far as needed, each followed by the
 * repayments its proceeds allow; the last one cut to the least lots that reach the target. */
static double plan_then_seize(planner *p, double surplus, double health, const uint32_t *slots, uint32_t n)
{
    for (uint32_t r = 0; r < n && surplus < 0.0 && !p->nomem && !p->limited; r++) {
        then_seize_trial t;
        reduce_trial_init(p, slots[r], &t.rt);
        t.rt.isolated = 0; /* judged by the cross pool, which the proceeds join */
        t.health = health;
        double f_all = try_then_seize(p, &t, t.rt.lots);
        if (!(f_all > surplus))
            continue;
        double k = t.rt.lots;
        if (f_all >= 0.0)
            k = least_units(p, try_then_seize, &t, 0.0, surplus, t.rt.lots, f_all, NULL);
        surplus = try_reduce(p, &t.rt, k);
        if (p->nomem)
            break;
        commit(p, &t.rt.act);
        if (surplus < 0.0)
            surplus = plan_seizes(p, surplus, health, 1);
    }
    return surplus;
}

/* A trial of the minimisation below: the reduce actions with action j closing k lots (0: none),
 * then the repayments they allow, planned afresh. */
typedef struct recut_trial {
    size_t j, n_reduce;
    double health;
    risk_liquidation_action keep; /* action j as committed */
    reduce_trial rt;
} recut_trial;

static double try_recut(planner *p, void *vt, double k)
{
    recut_trial *t = vt;
    int limited = p->limited;
    if (k > 0.0) { /* the committed action with k lots: its side, leg and price stay, its fees follow */
        const risk__instrument *in = &p->e->instruments[t->keep.instrument];
        t->rt.act = t->keep;
        t->rt.act.qty = qty_of(&t->rt, k);
        reduce_fees(p, in, risk__instrument_policy(p->e, t->keep.instrument), t->rt.act.qty, t->rt.price,
                    &t->rt.act.fee, &t->rt.act.insurance_fee);
        p->acts[t->j] = t->rt.act;
    } else {
        p->acts[t->j].qty = 0.0; /* skipped by the replay below */
    }
    risk__shadow_reset(&p->base, p->a);
    for (size_t m = 0; m < t->n_reduce; m++)
        if (p->acts[m].qty > 0.0)
            (void)risk__action_execute(&p->base.acct, &p->acts[m]);
    p->base_known = 0;
    double f = cross_surplus(p, &p->base.acct);
    if (f < 0.0)
        f = plan_seizes(p, f, t->health, 1);
    p->n = t->n_reduce;
    p->acts[t->j] = t->keep;
    p->limited = limited;
    return f;
}

/* Once positions followed by repayments reached the target, the reduces before them (from
 * `first` on: the cross phase and the releases) may no longer all be needed: each is cut, in
 * order, to the least that still reaches the target with the others in place and the repayments
 * planned afresh after them. Repayments are dropped and planned again at the end. */
static double minimize_with_seizes(planner *p, size_t first, double health)
{
    size_t w = 0; /* the seizes go: they are planned again after the reduces */
    for (size_t k = 0; k < p->n; k++)
        if (p->acts[k].type == RISK_ACTION_REDUCE)
            p->acts[w++] = p->acts[k];
    p->n = w;
    for (size_t j = first; j < p->n && !p->nomem; j++) {
        recut_trial t;
        t.j = j;
        t.n_reduce = p->n;
        t.health = health;
        t.keep = p->acts[j];
        const risk__instrument *in = &p->e->instruments[t.keep.instrument];
        t.rt.instrument = t.keep.instrument;
        t.rt.leg = t.keep.leg;
        t.rt.isolated = 0;
        t.rt.lot = in->lot_size;
        t.rt.lots = floor(t.keep.qty / in->lot_size + 0.5);
        t.rt.price = t.keep.price;
        t.rt.min_notional = 0.0;
        if (t.rt.lots < 1.0 || try_recut(p, &t, t.rt.lots - 1.0) < 0.0)
            continue; /* minimal already */
        double f_none = try_recut(p, &t, 0.0);
        if (f_none >= 0.0) { /* not needed at all */
            memmove(&p->acts[j], &p->acts[j + 1], (p->n - j - 1) * sizeof *p->acts);
            p->n--;
            j--;
            continue;
        }
        double f_all = try_recut(p, &t, t.rt.lots);
        double k = least_units(p, try_recut, &t, 0.0, f_none, t.rt.lots, f_all, NULL);
        double remainder = notional_at(in, (t.rt.lots - k) * t.rt.lot, in->mark);
        if (k < t.rt.lots && remainder >= risk__instrument_policy(p->e, t.rt.instrument)->min_notional) {
            (void)try_recut(p, &t, k);
            p->acts[j] = t.rt.act;
        }
    }
    rebuild_base(p);
    double f = cross_surplus(p, &p->base.acct);
    if (f < 0.0)
        f = plan_seizes(p, f, health, 1);
    return f;
}

/* Positions no reduce of the plan touches, ranked. Cross (`isolated` 0): the ones the cross
 * phase skipped, in its order (MM in V, largest first). Isolated: the healthy legs, largest
 * equity (margin + PnL, in V) first, so that releasing them touches the fewest. Ties by
 * instrument and leg. */
static uint32_t untouched_ranked(planner *p, int isolated, uint32_t *out)
{
    const risk_account *a = p->a;
    ranked *order = risk__malloc(p->e, (a->n_pos ? a->n_pos : 1) * sizeof *order);
    if (!order) {
        p->nomem = 1;
        return 0;
    }
    uint32_t n = 0, m = 0;
    for (uint32_t i = 0; i < a->n_pos; i++) {
        const risk__instrument *in = &p->e->instruments[a->inst[i]];
        if (((a->pflags[i] & RISK__PF_ISOLATED) != 0) != isolated || (isolated && isolated_liquidatable(a, i, in)))
            continue;
        risk__position_values pv;
        risk__position_values_compute(in, a->qty[i], a->entry[i], a->im_rate[i], &pv);
        double key = isolated ? a->iso_margin[i] + pv.upnl : pv.mm;
        order[n++] = (ranked){key * p->e->assets[in->settle].price, a->inst[i], a->pflags[i] & RISK__PF_LEG_MASK, i};
    }
    sort_ranked(order, n);
    for (uint32_t r = 0; r < n; r++) {
        int touched = 0;
        for (size_t k = 0; k < p->n && !touched; k++)
            touched = p->acts[k].type == RISK_ACTION_REDUCE && p->acts[k].instrument == order[r].instrument &&
                      p->acts[k].leg == order[r].leg;
        if (!touched)
            out[m++] = order[r].slot;
    }
    risk__free(p->e, order);
    return m;
}

/* ------------------------------------------------------------ close-out, fund and ADL */

static double equity_v(const risk_account *acct)
{
    risk__account_values v;
    risk__account_values_compute(acct, &v);
    return v.basket.net_value + v.upnl + v.isolated_margin;
}

/* Insurance draws for the account's negative balances, as far as each fund goes; returns the
 * part (in V) no fund covered. With `all_or_none`, draws nothing unless every fund suffices. */
static double draw_funds(planner *p, int all_or_none, int *covered)
{
    const risk_basket *b = &p->base.acct.basket;
    double uncovered = 0.0;
    *covered = 1;
    for (uint32_t i = 0; i < b->n; i++) {
        if (b->amount[i] >= 0.0)
            continue;
        const risk__fund *f = risk__fund_of(p->e, b->asset[i]);
        if ((f ? f->balance : 0.0) < -risk__balance_of(&p->e->assets[b->asset[i]], b->amount[i]))
            *covered = 0;
    }
    if (all_or_none && !*covered)
        return 0.0;
    uint32_t n = b->n;
    uint32_t *assets = risk__malloc(p->e, (n ? n : 1) * sizeof *assets);
    double *need = risk__malloc(p->e, (n ? n : 1) * sizeof *need);
    if (!assets || !need) {
        risk__free(p->e, assets);
        risk__free(p->e, need);
        p->nomem = 1;
        return 0.0;
    }
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++)
        if (b->amount[i] < 0.0) {
            assets[m] = b->asset[i];
            need[m++] = -risk__balance_of(&p->e->assets[b->asset[i]], b->amount[i]);
        }
    for (uint32_t i = 0; i < m; i++) {
        const risk__fund *f = risk__fund_of(p->e, assets[i]);
        double have = f ? f->balance : 0.0;
        double draw = need[i] < have ? need[i] : have;
        uncovered += (need[i] - draw) * p->e->assets[assets[i]].price;
        if (draw > 0.0) {
            risk_liquidation_action act;
            action_init(&act, RISK_ACTION_INSURANCE);
            act.asset = assets[i];
            act.amount = -draw;
            push(p, &act);
            (void)risk__action_execute(&p->base.acct, &act);
            p->fund_drawn += draw * p->e->assets[assets[i]].price;
        }
    }
    risk__free(p->e, assets);
    risk__free(p->e, need);
    return uncovered;
}

/* Every position closed at its execution price. Fees are cut so that they never take the
 * account's equity below zero (dYdX and Drift cap the insurance take the same way). */
static void close_positions(planner *p)
{
    const risk_account *a = p->a;
    double equity = equity_v(a);
    for (uint32_t i = 0; i < a->n_pos && !p->nomem; i++) {
        const risk__instrument *in = &p->e->instruments[a->inst[i]];
        double sp = p->e->assets[in->settle].price, q = fabs(a->qty[i]), dir = risk__dir(a->qty[i]);
        double price = p->price[i];
        equity += (risk__realised_pnl(in, dir, q, a->entry[i], price) -
                   risk__realised_pnl(in, dir, q, a->entry[i], in->mark)) * sp;
        risk_liquidation_action act;
        reduce_fill(p, a, (int)i, q, price, &act);
        double room = equity > 0.0 ? money(p, in->settle, equity / sp, 0) : 0.0;
        act.fee = act.fee < room ? act.fee : room;
        room -= act.fee;
        act.insurance_fee = act.insurance_fee < room ? act.insurance_fee : room;
        equity -= (act.fee + act.insurance_fee) * sp;
        push(p, &act);
    }
    rebuild_base(p);
}

/* The account's losses are shared among its positions by MM in V (dYdX's bankruptcy-price
 * allocation), or by notional when nothing is required: the totals, and one position's share. */
typedef struct loss_totals {
    double mm, notional;
} loss_totals;

static void loss_totals_of(const planner *p, loss_totals *t)
{
    const risk_account *a = p->a;
    t->mm = t->notional = 0.0;
    for (uint32_t i = 0; i < a->n_pos; i++) {
        const risk__instrument *in = &p->e->instruments[a->inst[i]];
        risk__position_values pv;
        risk__position_values_compute(in, a->qty[i], a->entry[i], a->im_rate[i], &pv);
        t->mm += pv.mm * p->e->assets[in->settle].price;
        t->notional += pv.notional * p->e->assets[in->settle].price;
    }
}

static double loss_share(const loss_totals *t, const risk__position_values *pv, double settle_price)
{
    return t->mm > 0.0 ? pv->mm * settle_price / t->mm : pv->notional * settle_price / t->notional;
}

/* One ADL fill of position i against a queue entry, at the bankruptcy price; returns what is left. */
static double adl_fill(planner *p, uint32_t i, int sell, double price, const risk_adl_entry *x, double left)
{
    const risk_account *a = p->a;
    const risk__instrument *in = &p->e->instruments[a->inst[i]];
    double take = fabs(x->qty) < left ? fabs(x->qty) : left;
    risk_liquidation_action act;
    counterparty_close(&act, RISK_ACTION_ADL, a, i, sell, in->settle, x->account_id, take, price);
    push(p, &act);
    /* on the lot grid: the difference of two on-grid doubles can fall off it */
    return risk__steps_to_value(nearbyint((left - take) / in->lot_size), in->lot_size);
}

/* Auto-deleveraging: each position goes to the opposite side's queue at its bankruptcy price,
 * the equity shared out by MM (dYdX's allocation), so the account ends at zero equity. Prices
 * go on the tick in the account's favour, as Bybit publishes (W14). What the queue cannot take
 * goes to the backstop account at the same price, or to the market without one: a bankrupt
 * position never stays open. */
static void deleverage(planner *p)
{
    const risk_account *a = p->a;
    const risk_engine *e = p->e;
    double equity = equity_v(a);
    loss_totals totals;
    loss_totals_of(p, &totals);
    for (uint32_t i = 0; i < a->n_pos && !p->nomem; i++) {
        const risk__instrument *in = &e->instruments[a->inst[i]];
        double sp = e->assets[in->settle].price, q = fabs(a->qty[i]), dir = risk__dir(a->qty[i]);
        risk__position_values pv;
        risk__position_values_compute(in, a->qty[i], a->entry[i], a->im_rate[i], &pv);
        double w = loss_share(&totals, &pv, sp);
        double gain = -equity * w / sp / (dir * q * in->contract_size); /* settle per contract-size unit */
        double price = in->inverse ? (1.0 / in->mark - gain > 0.0 ? 1.0 / (1.0 / in->mark - gain) : in->mark * 1e6)
                                   : in->mark + gain;
        int sell = dir > 0.0;
        price = plan_price_in_domain(in, risk__round_to_step(price, in->tick_size, sell));
        double left = q;
        uint32_t side = sell ? RISK_SIDE_SHORT : RISK_SIDE_LONG;
        if (p->idx) { /* a batch: the queue kept up to date, read as far as needed */
            risk__liq_cursor cur;
            for (const risk_adl_entry *x = risk__liq_first(p->idx, a->inst[i], side, &cur); x && left > 0.0;
                 x = risk__liq_next(&cur))
                if (x->account_id != a->id)
                    left = adl_fill(p, i, sell, price, x, left);
        } else {
            risk_adl_entry *queue;
            size_t nq;
            if (risk__adl_queue(e, a->inst[i], side, a, &queue, &nq)) {
                p->nomem = 1;
                return;
            }
            for (size_t c = 0; c < nq && left > 0.0; c++)
                left = adl_fill(p, i, sell, price, &queue[c], left);
            risk__free(e, queue);
        }
        if (!(left > 0.5 * in->lot_size))
            continue;
        /* no counterparty for the rest: the backstop takes it over at the bankruptcy price, or,
         * without one, the market (the liquidator) at the execution price, without fees */
        risk_account *backstop = risk__backstop_of(e, a);
        risk_liquidation_action act;
        if (backstop) {
            counterparty_close(&act, RISK_ACTION_BACKSTOP, a, i, sell, in->settle, backstop->id, left, price);
        } else {
            reduce_fill(p, a, (int)i, left, p->price[i], &act);
            act.fee = act.insurance_fee = 0.0;
        }
        push(p, &act);
    }
    rebuild_base(p);
}

/* Socialised loss (Deribit, Drift): what is still owed is shared among the account's
 * instruments by MM (as the bankruptcy prices share equity), and each share among the opposite
 * side's positions with positive PnL, pro rata to that PnL and at most all of it, paid in the
 * instrument's settle asset. Opposite positions held in other shards are out of reach: their
 * part stays uncovered. */
static void socialize(planner *p)
{
    const risk_account *a = p->a;
    const risk_engine *e = p->e;
    risk__account_values v;
    risk__account_values_compute(&p->base.acct, &v);
    double owed = v.basket.liabilities - v.basket.collateral_value; /* V, net of what collateral remains */
    if (!(owed > 0.0) || a->n_pos == 0)
        return;
    loss_totals totals;
    loss_totals_of(p, &totals);
    for (uint32_t i = 0; i < a->n_pos && !p->nomem; i++) {
        const risk__instrument *in = &e->instruments[a->inst[i]];
        double sp = e->assets[in->settle].price, dir = risk__dir(a->qty[i]);
        risk__position_values pv;
        risk__position_values_compute(in, a->qty[i], a->entry[i], a->im_rate[i], &pv);
        double share = owed * loss_share(&totals, &pv, sp);
        double profits = 0.0, floors = 0.0; /* the opposite side's positive PnL, the pays rounded down */
        double quantum = (e->flags & RISK_ENGINE_NO_QUANTIZE) ? 0.0 : 1.0 / scale_of(e, in->settle);
        double extra = 0.0; /* quanta the rounding down left over, handed out one each in engine order */
        /* the accounts to visit, in engine order: every slot, or a batch's holders of the
         * opposite side (the only accounts the passes below find anything in) */
        size_t *holders = NULL, n_visit = e->n_account_slots;
        if (p->idx && risk__liq_holders(p->idx, a->inst[i], dir > 0.0 ? RISK_SIDE_SHORT : RISK_SIDE_LONG, &holders,
                                        &n_visit)) {
            p->nomem = 1;
            return;
        }
        for (int pass = 0; pass < 3 && !p->nomem; pass++) {
            for (size_t t = 0; t < n_visit; t++) {
                const risk_account *c = e->accounts[p->idx ? holders[t] : t];
                if (!c || c == a)
                    continue;
                for (uint32_t j = 0; j < c->n_pos; j++) {
                    if (c->inst[j] != a->inst[i] || risk__dir(c->qty[j]) == dir)
                        continue;
                    risk__position_values cv;
                    risk__position_values_compute(in, c->qty[j], c->entry[j], c->im_rate[j], &cv);
                    if (!(cv.upnl > 0.0))
                        continue;
                    if (pass == 0) {
                        profits += cv.upnl;
                        continue;
                    }
                    double pay = share / sp * cv.upnl / profits;
                    pay = money(p, in->settle, pay < cv.upnl ? pay : cv.upnl, 0);
                    if (pass == 1) {
                        floors += pay;
                        continue;
                    }
                    if (extra > 0.5 && pay + quantum <= cv.upnl) {
                        pay += quantum;
                        extra -= 1.0;
                    }
                    if (!(pay > 0.0))
                        continue;
                    risk_liquidation_action act;
                    action_init(&act, RISK_ACTION_SOCIALIZE);
                    act.instrument = a->inst[i];
                    act.asset = in->settle;
                    act.counterparty = c->id;
                    act.amount = pay;
                    push(p, &act);
                    (void)risk__action_execute(&p->base.acct, &act);
                    p->socialized += pay * sp;
                }
            }
            if (!(profits > 0.0))
                break;
            if (pass == 1 && quantum > 0.0) {
                double target = money(p, in->settle, share / sp, 1);
                extra = nearbyint((target - floors) / quantum);
            }
        }
        risk__free(e, holders);
    }
}

/* Close-out: every position closed in the market, debts repaid as far as collateral goes, the
 * rest drawn from the fund. When the funds cannot cover that: with RISK_DEFICIT_SOCIALIZE the
 * fund pays what it can and the opposite side's profits the rest; otherwise the positions go at
 * bankruptcy prices to ADL counterparties, then the backstop, then the market, and the funds pay
 * what is still owed as far as they go. What remains is `uncovered`. */
static void close_out(planner *p, risk_liquidation_plan *plan)
{
    p->n = 0;
    p->fund_drawn = p->socialized = 0.0;
    rebuild_base(p);
    close_positions(p);
    (void)plan_seizes(p, -1.0, 0.0, 0);
    double after = equity_v(&p->base.acct);
    plan->deficit = after < 0.0 ? v_money(p, -after, 1) : 0.0;
    int covered;
    (void)draw_funds(p, p->pol->deficit != RISK_DEFICIT_SOCIALIZE, &covered);
    if (!covered && !p->nomem && p->pol->deficit == RISK_DEFICIT_SOCIALIZE) {
        /* Deribit, Drift: the fund pays what it can, the opposite side's profits the rest */
        socialize(p);
        (void)plan_seizes(p, -1.0, 0.0, 0);
    } else if (!covered && !p->nomem) {
        /* Binance, Bybit: the funds cannot cover the market close-out: deleverage at bankruptcy
         * prices instead, the backstop taking what no counterparty can */
        p->n = 0;
        p->fund_drawn = 0.0;
        rebuild_base(p);
        deleverage(p);
        (void)plan_seizes(p, -1.0, 0.0, 0);
        (void)draw_funds(p, 0, &covered);
    }
    if (p->nomem)
        return;
    risk_account_summary s;
    risk__account_values v;
    summarize(&p->base.acct, &v, &s);
    plan->uncovered = s.liabilities;
    plan->fund_drawn = v_money(p, p->fund_drawn, 0);
    plan->socialized = v_money(p, p->socialized, 0);
}

/* ------------------------------------------------------------ the plan */

/* What made the account liquidatable: the first isolated position under its MM, else the cross
 * pool's largest requirement, a position (MM in V) or a debt (maint-weighted liability in V). */
static void plan_trigger(const planner *p, const risk_account_summary *s0, risk_liquidation_plan *plan)
{
    const risk_account *a = p->a;
    const risk_engine *e = p->e;
    plan->trigger = (s0->health_factor < 1.0 ? RISK_TRIGGER_CROSS : 0u) |
                    (s0->n_isolated_liquidatable ? RISK_TRIGGER_ISOLATED : 0u) |
                    (s0->state == RISK_STATE_BANKRUPT ? RISK_TRIGGER_BANKRUPT : 0u);
    plan->trigger_instrument = RISK_ID_NONE;
    plan->trigger_leg = 0;
    plan->trigger_asset = RISK_ID_NONE;
    double largest = 0.0;
    for (uint32_t i = 0; i < a->n_pos; i++) {
        const risk__instrument *in = &e->instruments[a->inst[i]];
        int isolated = (a->pflags[i] & RISK__PF_ISOLATED) != 0;
        if (isolated && (plan->trigger & RISK_TRIGGER_ISOLATED) && isolated_liquidatable(a, i, in)) {
            plan->trigger_instrument = a->inst[i];
            plan->trigger_leg = a->pflags[i] & RISK__PF_LEG_MASK;
            return;
        }
        if (isolated || (plan->trigger & RISK_TRIGGER_ISOLATED))
            continue;
        risk__position_values pv;
        risk__position_values_compute(in, a->qty[i], a->entry[i], a->im_rate[i], &pv);
        double mm = pv.mm * e->assets[in->settle].price;
        if (mm > largest) {
            largest = mm;
            plan->trigger_instrument = a->inst[i];
            plan->trigger_leg = a->pflags[i] & RISK__PF_LEG_MASK;
        }
    }
    if (plan->trigger & RISK_TRIGGER_ISOLATED)
        return;
    for (uint32_t k = 0; k < a->basket.n; k++) {
        const risk__asset *as = &e->assets[a->basket.asset[k]];
        double x = risk__balance_of(as, a->basket.amount[k]), w_init, w_maint;
        risk__asset_weights(as, x, &w_init, &w_maint);
        double liab = -x * as->price * w_maint;
        if (a->basket.amount[k] < 0.0 && liab > largest) {
            largest = liab;
            plan->trigger_asset = a->basket.asset[k];
            plan->trigger_instrument = RISK_ID_NONE;
            plan->trigger_leg = 0;
        }
    }
}

/* The partial phases: isolated positions under their MM, then, if the cross pool triggered, its
 * positions, debts, skipped positions and healthy isolated positions followed by the repayments
 * their proceeds allow. Returns the cross pool's surplus over the target (>= 0: reached). */
static double plan_partial(planner *p, double health_before)
{
    plan_isolated(p);
    size_t first_cross = p->n;
    if (p->nomem)
        return 0.0;
    if (!p->base_known)
        risk__account_values_compute(&p->base.acct, &p->base_v);
    p->base_known = 1;
    if (!(health_before < 1.0)) {
        /* an isolated position closed with less than nothing left puts the loss beyond its
         * margin into the wallet (the core's accounting): if that makes the cross pool
         * liquidatable, the plan goes on with it rather than leave it so */
        risk_account_summary s;
        risk__account_summary_fill(&p->base.acct, &p->base_v, &s);
        if (!(s.health_factor < 1.0))
            return 0.0;
        health_before = s.health_factor;
    }
    p->base_extra = cross_extra(p, &p->base.acct);
    double surplus = surplus_of(p, &p->base_v, p->base_extra);
    /* portfolio accounts: the requirement is not a sum over positions, so no incremental path */
    if (surplus < 0.0 && p->a->margin_mode != RISK_MARGIN_PORTFOLIO && plan_cross_fast(p, surplus))
        surplus = 0.0; /* reached: checked on the replayed plan */
    else if (surplus < 0.0)
        surplus = plan_cross_positions(p, surplus);
    if (surplus < 0.0)
        surplus = plan_seizes(p, surplus, health_before, 1);
    if (surplus < 0.0 && !p->limited && !p->nomem) {
        uint32_t *slots = p->a->n_pos <= PLAN_SMALL_POSITIONS ? p->slots_small
                                                              : risk__malloc(p->e, p->a->n_pos * sizeof *slots);
        if (!slots) {
            p->nomem = 1;
            return surplus;
        }
        uint32_t n = untouched_ranked(p, 0, slots);
        surplus = plan_then_seize(p, surplus, health_before, slots, n);
        if (surplus < 0.0 && !p->limited && !p->nomem) {
            n = untouched_ranked(p, 1, slots);
            surplus = plan_then_seize(p, surplus, health_before, slots, n);
        }
        if (surplus >= 0.0 && !p->nomem)
            surplus = minimize_with_seizes(p, first_cross, health_before);
        if (slots != p->slots_small)
            risk__free(p->e, slots);
    }
    p->base_known = 0;
    return surplus;
}

/* 1 when the target is out of reach even with every debt repayable in full: a plan limited by
 * the close factor would only walk the account down, so it is closed out instead. */
static int unreachable_at_full_factor(const planner *p, double health_before, int *nomem)
{
    planner q;
    memset(&q, 0, sizeof q);
    q.a = p->a;
    q.e = p->e;
    q.pol = p->pol;
    q.idx = p->idx;
    q.acts = q.acts_small;
    q.cap = PLAN_SMALL_ACTIONS;
    q.v_scale = p->v_scale;
    q.price = p->price;
    q.tnc = p->tnc;
    q.tmmr = p->tmmr;
    q.full_factor = 1;
    double surplus = -1.0;
    if (risk__shadow_init(&q.base, q.a, 0) == RISK_OK) {
        risk__account_values_compute(q.a, &q.base_v);
        q.base_known = 1;
        surplus = plan_partial(&q, health_before);
        risk__shadow_release(&q.base);
    } else {
        q.nomem = 1;
    }
    if (q.work_ready)
        risk__shadow_release(&q.work);
    if (q.acts != q.acts_small)
        risk__free(q.e, q.acts);
    *nomem = q.nomem;
    return surplus < 0.0;
}

static int plan_make(planner *p, risk_liquidation_plan *plan)
{
    const risk_account *a = p->a;
    risk__account_values v;
    risk_account_summary s0;
    summarize(a, &v, &s0);
    plan->account_id = a->id;
    plan->health_before = s0.health_factor;
    plan->equity_before = s0.equity;
    plan->deficit = 0.0;
    plan->uncovered = 0.0;
    plan->fund_drawn = 0.0;
    plan->socialized = 0.0;
    p->tnc = (v.basket.net_value + v.cross_upnl);
    p->tmmr = v.cross_mm;
    if (s0.state != RISK_STATE_LIQUIDATABLE && s0.state != RISK_STATE_BANKRUPT) {
        plan->outcome = RISK_PLAN_NONE;
        plan->trigger = 0;
        plan->trigger_instrument = plan->trigger_asset = RISK_ID_NONE;
        plan->trigger_leg = 0;
        plan->health_after = s0.health_factor;
        plan->equity_after = s0.equity;
        return RISK_OK;
    }
    plan_trigger(p, &s0, plan);
    if (risk__shadow_init(&p->base, a, 0))
        return RISK_ENOMEM;
    p->base_v = v; /* the base is the account until an action is committed */
    p->base_known = 1;
    p->price = a->n_pos <= PLAN_SMALL_POSITIONS ? p->price_small : risk__malloc(p->e, a->n_pos * sizeof *p->price);
    if (!p->price)
        return RISK_ENOMEM;
    for (uint32_t i = 0; i < a->n_pos; i++)
        p->price[i] = exec_price(p, i);

    plan->outcome = RISK_PLAN_PARTIAL;
    int close = s0.state == RISK_STATE_BANKRUPT;
    if (!close) {
        double surplus = plan_partial(p, s0.health_factor);
        if (surplus < 0.0 && p->limited && !p->nomem) {
            int nomem = 0;
            close = unreachable_at_full_factor(p, s0.health_factor, &nomem);
            p->nomem |= nomem;
            if (!close)
                plan->outcome = RISK_PLAN_LIMITED;
        } else if (surplus < 0.0) {
            close = 1;
        }
    }
    if (close && !p->nomem) {
        plan->outcome = RISK_PLAN_CLOSE_OUT;
        close_out(p, plan);
    }
    if (p->nomem)
        return RISK_ENOMEM;
    risk_account_summary after;
    if (p->base_known)
        risk__account_summary_fill(&p->base.acct, &p->base_v, &after);
    else
        summarize(&p->base.acct, &v, &after);
    plan->health_after = after.health_factor;
    plan->equity_after = after.equity;
    return RISK_OK;
}

/* Makes a's plan into *plan with the planner p (a batch's index x, NULL: scan the engine) and
 * releases the planner's scratch state; its actions (p->acts, which is p->acts_small when they
 * fit there) are the caller's to copy out and, when allocated, free. */
static int plan_run(planner *p, const risk_account *a, const risk__liq_index *x, risk_liquidation_plan *plan)
{
    const risk_engine *e = a->engine;
    memset(p, 0, sizeof *p);
    p->a = a;
    p->e = e;
    p->pol = risk__engine_policy(e);
    p->idx = x;
    p->acts = p->acts_small;
    p->cap = PLAN_SMALL_ACTIONS;
    if (!(e->flags & RISK_ENGINE_NO_QUANTIZE) && e->valuation != RISK_ID_NONE)
        p->v_scale = scale_of(e, e->valuation);
    int rc = plan_make(p, plan);
    if (p->base.block)
        risk__shadow_release(&p->base);
    if (p->work_ready)
        risk__shadow_release(&p->work);
    if (p->price != p->price_small)
        risk__free(e, p->price);
    return rc;
}

RISK_API int risk_account_liquidation_plan(const risk_account *account, risk_liquidation_plan *plan_out,
                                           risk_liquidation_action *actions_out, size_t capacity, size_t *count_out)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = (risk_account *)account; /* the message is not account state */
    const risk_engine *e = a->engine;
    if (!plan_out || (!actions_out && capacity))
        return risk__fail(e, &a->errmsg, RISK_ENULL, "plan_out or actions_out is NULL");
    if (plan_out->version != RISK_LIQUIDATION_PLAN_VERSION && plan_out->version != 1)
        return risk__fail(e, &a->errmsg, RISK_EVERSION, "plan version %u is not 1 or %d", plan_out->version,
                          RISK_LIQUIDATION_PLAN_VERSION);
    planner p;
    risk_liquidation_plan plan = RISK_LIQUIDATION_PLAN_INIT;
    int rc = plan_run(&p, a, NULL, &plan);
    if (p.acts == p.acts_small)
        p.acts = NULL; /* nothing to free below */
    if (rc) {
        risk__free(e, p.acts);
        return risk__fail(e, &a->errmsg, rc, "out of memory making the plan");
    }
    if (count_out)
        *count_out = p.n;
    if (p.n > capacity) {
        risk__free(e, p.acts);
        return risk__fail(e, &a->errmsg, RISK_EBUFFER, "the plan has %zu actions, room for %zu", p.n, capacity);
    }
    if (p.n)
        memcpy(actions_out, p.acts ? p.acts : p.acts_small, p.n * sizeof *p.acts);
    risk__free(e, p.acts);
    plan.n_actions = p.n;
    plan.version = plan_out->version; /* a version 1 caller gets the version 1 fields only */
    memcpy(plan_out, &plan, plan.version == 1 ? offsetof(risk_liquidation_plan, trigger) : sizeof plan);
    risk__clear(&a->errmsg);
    return RISK_OK;
}

int risk__liquidation_plan_into(const risk_account *a, const risk__liq_index *x, risk_liquidation_plan *plan,
                                risk_liquidation_action **buf, size_t *cap)
{
    const risk_engine *e = a->engine;
    planner p;
    risk_liquidation_plan made = RISK_LIQUIDATION_PLAN_INIT;
    int rc = plan_run(&p, a, x, &made);
    if (rc == RISK_OK && p.n > *cap) {
        risk_liquidation_action *grown = risk__realloc(e, *buf, p.n * sizeof *grown);
        if (grown) {
            *buf = grown;
            *cap = p.n;
        } else {
            rc = RISK_ENOMEM;
        }
    }
    if (rc == RISK_OK && p.n)
        memcpy(*buf, p.acts, p.n * sizeof *p.acts);
    if (p.acts != p.acts_small)
        risk__free(e, p.acts);
    if (rc)
        return rc;
    made.n_actions = p.n;
    *plan = made;
    return RISK_OK;
}
