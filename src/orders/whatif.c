/* SPDX-License-Identifier: Apache-2.0 */
/* What-if fills and margin for resting orders.
 *
 * A what-if fills a shadow copy of the account (core/shadow.c) with the account's own fill code
 * and evaluates it with the account's own evaluation, so its summary is bit-identical to the
 * account's after the same calls. Resting orders: each instrument's worse side (buys or sells)
 * fills on a shadow, as Drift and Mango margin open orders. docs/whatif.md has the semantics. */
#include "orders/orders.h"

double risk__user_im_rate(const risk_account *a, uint32_t instrument)
{
    for (uint32_t i = 0; i < a->n_levs; i++)
        if (a->levs[i].instrument == instrument)
            return 1.0 / a->levs[i].leverage;
    return 0.0;
}

/* Checks everything of an order but its quantity; fills *o. */
int risk__order_resolve(risk_account *a, uint32_t instrument, uint32_t side, uint32_t leg, double price,
                        risk__order_ctx *o)
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
    int rc = price > 0.0 ? risk__check_instrument_price(e, &a->errmsg, in, "price", price, 1) : RISK_OK;
    if (rc)
        return rc;
    o->in = in;
    o->instrument = instrument;
    o->leg = leg;
    o->dir = side == RISK_ORDER_BUY ? 1.0 : -1.0;
    o->price = price > 0.0 ? price : in->mark;
    o->slot = risk__position_find(a, instrument, leg);
    o->fee_rate = in->taker_fee;
    return RISK_OK;
}

/* Whether a hedge-leg fill of `qty` is impossible: reducing an absent leg, or past zero. */
static int hedge_fill_invalid(const risk_account *sa, int slot, const risk__order_ctx *o, double qty)
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
 * risk_position_set_isolated_margin(p, initial margin of its position result) does; pv holds the
 * position's values. */
static void isolated_top_up(risk_account *sa, uint32_t i, const risk__position_values *pv)
{
    const risk_engine *e = sa->engine;
    uint32_t settle = e->instruments[sa->inst[i]].settle;
    double im = pv->im;
    if (!(e->flags & RISK_ENGINE_NO_QUANTIZE))
        im = risk__quantize(im, risk__asset_scale(&e->assets[settle]), 1);
    if (im > sa->iso_margin[i]) {
        risk__basket_add_unchecked(&sa->basket, settle, sa->iso_margin[i] - im);
        sa->iso_margin[i] = im;
    }
}

/* Fills `qty` (> 0, validated, hedge legs checked) of the order on a shadow whose position on
 * the order's (instrument, leg) is at `slot` (-1: none). The fee (o->fee_rate, 0 without fees)
 * is taken from the settle balance first, as risk_basket_add_balance(settle, -fee) would. The
 * shadow has room for one more position and every settle balance, so this never allocates.
 * Returns the position's slot, -1 when the fill closed it; *pv gets its values (when pv is not
 * NULL and it is open). */
int risk__order_fill(risk__shadow *s, int slot, const risk__order_ctx *o, double qty, risk__position_values *pv)
{
    risk_account *sa = &s->acct;
    double delta = o->dir * qty;
    uint32_t i;
    if (o->fee_rate != 0.0)
        risk__basket_add_unchecked(&sa->basket, o->in->settle,
                                   -risk__fill_fee(sa->engine, o->in, o->fee_rate, qty, o->price));
    if (slot >= 0) {
        uint32_t before = sa->n_pos;
        (void)risk__shadow_fill(s, (uint32_t)slot, delta, o->price); /* cannot fail: see above */
        if (sa->n_pos < before)
            return -1; /* closed: an isolated margin went back to the wallet */
        i = (uint32_t)slot;
    } else {
        uint32_t flags = o->leg | (sa->margin_mode == RISK_MARGIN_ISOLATED ? RISK__PF_ISOLATED : 0u);
        i = risk__shadow_append(s, o->instrument, flags, delta, o->price, risk__user_im_rate(sa, o->instrument));
        if (o->in->kind == RISK_KIND_OPTION) /* a new option position pays its premium, as a fill does */
            risk__basket_add_unchecked(&sa->basket, o->in->settle,
                                       risk__quantize(-delta * o->in->contract_size * o->price,
                                                      risk__asset_scale(&sa->engine->assets[o->in->settle]), 0));
    }
    int isolated = (sa->pflags[i] & RISK__PF_ISOLATED) != 0;
    if (pv || isolated) {
        risk__position_values own, *v = pv ? pv : &own;
        risk__position_values_compute(o->in, sa->qty[i], sa->entry[i], sa->im_rate[i], v);
        if (isolated)
            isolated_top_up(sa, i, v);
    }
    return (int)i;
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

static int check_order(risk_account *a, const risk_order *order, risk__order_ctx *o)
{
    const risk_engine *e = a->engine;
    if (order->version != RISK_ORDER_VERSION)
        return risk__fail(e, &a->errmsg, RISK_EVERSION, "order version %u is not %d", order->version,
                          RISK_ORDER_VERSION);
    int rc = risk__order_resolve(a, order->instrument, order->side, order->leg, order->price, o);
    if (rc)
        return rc;
    if (!isfinite(order->qty) || order->qty <= 0.0)
        return risk__fail(e, &a->errmsg, RISK_EINVAL, "%s: order qty must be finite and > 0", o->in->symbol);
    if ((rc = risk__check_qty(e, &a->errmsg, o->in, "order qty", order->qty)))
        return rc;
    /* the position after the order stays within 2^53 lots (selling DBL_MAX gave HF NaN, "healthy") */
    double held = o->slot >= 0 ? a->qty[o->slot] : 0.0;
    if (!risk__lots_in_domain(held + o->dir * order->qty, o->in->lot_size))
        return risk__fail(e, &a->errmsg, RISK_EINVAL, "%s: an order of %s would hold more than 2^53 lots of %s",
                          o->in->symbol, RISK__NUM(order->qty), RISK__NUM(o->in->lot_size));
    return RISK_OK;
}

static int hedge_fail(risk_account *a, const risk__order_ctx *o)
{
    return risk__fail(a->engine, &a->errmsg, RISK_ESTATE, "%s: the order would reduce the %s leg past zero",
                      o->in->symbol, o->leg == RISK_SIDE_LONG ? "long" : "short");
}

int risk__order_new_position_fail(risk_account *a)
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
    risk__order_ctx o;
    if (rc || (rc = check_order(a, order, &o)))
        return rc;
    if (hedge_fill_invalid(a, o.slot, &o, order->qty))
        return hedge_fail(a, &o);
    if (o.slot < 0 && a->n_pos >= RISK__MAX_POSITIONS)
        return risk__order_new_position_fail(a);
    risk__shadow s;
    if (risk__shadow_init(&s, a, 1))
        return risk__fail(a->engine, &a->errmsg, RISK_ENOMEM, "out of memory for a what-if");
    double q0 = o.slot >= 0 ? a->qty[o.slot] : 0.0;
    int i = risk__order_fill(&s, o.slot, &o, order->qty, NULL);
    rc = i < 0 ? RISK_OK : risk__notional_limit_check(a->engine, &a->errmsg, o.in, q0, s.acct.qty[i], s.acct.entry[i]);
    if (rc == RISK_OK) {
        /* the settle balance (fee, realised PnL) and an isolated top-up stay in the domain, as the
         * real fill and risk_position_set_isolated_margin require (found by fuzz/fuzz_api: 2e10
         * USDT of margin, a 6.9e15 USDT balance, taken by a what-if) */
        const risk__asset *settle = &a->engine->assets[o.in->settle];
        if (i >= 0 && (s.acct.pflags[i] & RISK__PF_ISOLATED))
            rc = risk__check_amount(a->engine, &a->errmsg, settle, "isolated margin after the order",
                                    s.acct.iso_margin[i]);
        if (rc == RISK_OK)
            rc = risk__check_amount(a->engine, &a->errmsg, settle, "settle balance after the order",
                                    risk__basket_amount(&s.acct.basket, o.in->settle));
    }
    if (rc == RISK_OK) {
        shadow_summary(&s, summary_out);
        risk__clear(&a->errmsg);
    }
    risk__shadow_release(&s);
    return rc;
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
        risk__order_ctx o;
        (void)risk__order_resolve(a, r->instrument, r->side, r->leg, r->price, &o); /* checked already */
        o.fee_rate = o.in->maker_fee; /* resting orders fill as makers */
        int slot = risk__position_find(&s->acct, o.instrument, o.leg);
        if (hedge_fill_invalid(&s->acct, slot, &o, r->qty))
            return hedge_fail(a, &o);
        double q0 = slot >= 0 ? s->acct.qty[slot] : 0.0;
        int i = risk__order_fill(s, slot, &o, r->qty, NULL);
        int rc = i < 0 ? RISK_OK
                       : risk__notional_limit_check(a->engine, &a->errmsg, o.in, q0, s->acct.qty[i], s->acct.entry[i]);
        if (rc)
            return rc;
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
    risk__order_ctx o;
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
