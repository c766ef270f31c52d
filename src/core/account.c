/* SPDX-License-Identifier: Apache-2.0 */
/* Accounts and positions: lifecycle, user leverage, opening, fills and closing.
 * An account's positions live in one range of the engine's position arena (core/arena.c), as
 * structure of arrays, so that evaluation sweeps them in order. A position's handle is made
 * when a caller first asks for it and stays put while the range moves. */
#include "core/internal.h"

#include <string.h>

/* ------------------------------------------------------------ lifecycle */

RISK_API int risk_account_new(risk_account **out, risk_engine *engine, uint64_t account_id, uint32_t margin_mode,
                              uint32_t position_mode)
{
    if (!out)
        return RISK_ENULL;
    *out = NULL;
    if (!engine)
        return RISK_ENULL;
    if (margin_mode != RISK_MARGIN_CROSS && margin_mode != RISK_MARGIN_ISOLATED && margin_mode != RISK_MARGIN_PORTFOLIO)
        return risk__fail(engine, &engine->errmsg, RISK_EINVAL, "account %llu: unknown margin mode %u",
                          (unsigned long long)account_id, margin_mode);
    if (position_mode != RISK_POSITION_ONE_WAY && position_mode != RISK_POSITION_HEDGE)
        return risk__fail(engine, &engine->errmsg, RISK_EINVAL, "account %llu: unknown position mode %u",
                          (unsigned long long)account_id, position_mode);
    risk_account *a = risk__malloc(engine, sizeof *a);
    if (!a)
        return risk__fail(engine, &engine->errmsg, RISK_ENOMEM, "out of memory for an account");
    memset(a, 0, sizeof *a);
    a->engine = engine;
    a->id = account_id;
    a->margin_mode = margin_mode;
    a->position_mode = position_mode;
    risk__basket_init(&a->basket, engine, a);
    int rc = risk__engine_attach_account(engine, a);
    if (rc) {
        risk__free(engine, a);
        if (rc == RISK_EDUPLICATE)
            return risk__fail(engine, &engine->errmsg, rc, "account %llu already exists",
                              (unsigned long long)account_id);
        return risk__fail(engine, &engine->errmsg, rc, "out of memory registering account %llu",
                          (unsigned long long)account_id);
    }
    risk__engine_retain(engine);
    *out = a;
    return RISK_OK;
}

/* Frees what an account holds besides its positions' arena range and handles. */
static void account_release(risk_account *account)
{
    risk_engine *e = account->engine;
    if (!(account->in_block & RISK__IN_BLOCK_LEVS)) /* else the list stays in the block */
        risk__free(e, account->levs);
    risk__free(e, account->errmsg);
    risk__basket_release(&account->basket);
    if (!(account->in_block & RISK__IN_BLOCK_STRUCT)) /* else the struct stays in the block until the engine goes */
        risk__free(e, account);
}

/* Frees the account's position handles. */
static void handles_free(risk_account *a)
{
    if (risk__account_has_handle_slots(a))
        for (uint32_t i = 0; i < a->n_pos; i++)
            risk__free(a->engine, a->handles[i]);
}

void risk__account_destroy(risk_account *account)
{
    handles_free(account);
    account_release(account);
}

RISK_API void risk_account_free(risk_account *account)
{
    if (!account)
        return;
    risk_engine *e = account->engine;
    uint32_t owned_by_engine = account->engine_owned; /* such an account holds no engine reference */
    handles_free(account); /* before the range goes: a freed range keeps a link in it */
    risk__arena_release(e, &account->range);
    risk__engine_detach_account(e, account);
    account_release(account);
    if (!owned_by_engine)
        risk__engine_release(e);
}

/* ------------------------------------------------------------ configuration */

static const risk__leverage *leverage_find(const risk_account *a, uint32_t instrument)
{
    for (uint32_t i = 0; i < a->n_levs; i++)
        if (a->levs[i].instrument == instrument)
            return &a->levs[i];
    return NULL;
}

static double leverage_of(const risk_account *a, uint32_t instrument)
{
    const risk__leverage *l = leverage_find(a, instrument);
    return l ? l->leverage : 0.0;
}

RISK_API int risk_account_set_leverage(risk_account *account, uint32_t instrument, double leverage)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = account;
    const risk_engine *e = a->engine;
    if (instrument >= e->n_instruments)
        return risk__fail(e, &a->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    const risk__instrument *in = &e->instruments[instrument];
    if (!isfinite(leverage) || leverage < 1.0)
        return risk__fail(e, &a->errmsg, RISK_EINVAL, "%s: leverage must be finite and >= 1", in->symbol);
    if (leverage > in->schedule.max_leverage)
        return risk__fail(e, &a->errmsg, RISK_ELEVERAGE, "%s: leverage %s above the schedule's maximum %s",
                          in->symbol, RISK__NUM(leverage), RISK__NUM(in->schedule.max_leverage));
    risk__leverage *l = (risk__leverage *)leverage_find(a, instrument);
    if (!l) {
        if (a->n_levs == a->cap_levs) {
            uint32_t cap = a->cap_levs ? 2 * a->cap_levs : 4;
            risk__leverage *grown;
            if (a->in_block & RISK__IN_BLOCK_LEVS) { /* a restored list leaves the engine's block */
                grown = risk__malloc(e, cap * sizeof *grown);
                if (grown)
                    memcpy(grown, a->levs, a->n_levs * sizeof *grown);
            } else {
                grown = risk__realloc(e, a->levs, cap * sizeof *grown);
            }
            if (!grown)
                return risk__fail(e, &a->errmsg, RISK_ENOMEM, "out of memory for a leverage setting");
            a->in_block &= ~RISK__IN_BLOCK_LEVS;
            a->levs = grown;
            a->cap_levs = cap;
        }
        l = &a->levs[a->n_levs++];
        l->instrument = instrument;
    }
    l->leverage = leverage;
    for (uint32_t i = 0; i < a->n_pos; i++) /* positions cache their instrument's IM rate */
        if (a->inst[i] == instrument)
            a->im_rate[i] = 1.0 / leverage;
    risk__account_changed(a);
    risk__clear(&a->errmsg);
    return RISK_OK;
}

RISK_API int risk_account_leverage(const risk_account *account, uint32_t instrument, double *out)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = (risk_account *)account; /* the message buffer is not account state */
    if (!out)
        return risk__fail(a->engine, &a->errmsg, RISK_ENULL, "out is NULL");
    if (instrument >= a->engine->n_instruments)
        return risk__fail(a->engine, &a->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    *out = leverage_of(a, instrument);
    return RISK_OK;
}

RISK_API risk_basket *risk_account_basket(risk_account *account)
{
    return account ? &account->basket : NULL;
}

/* ------------------------------------------------------------ position storage */

static void bind_range(risk_account *a)
{
    const risk__range *r = &a->range;
    risk__pos_chunk *c = r->chunk;
    a->qty = c->qty + r->base;
    a->entry = c->entry + r->base;
    a->im_rate = c->im_rate + r->base;
    a->iso_margin = c->iso_margin + r->base;
    a->fund_last = c->fund_last + r->base;
    a->handles = c->handles + r->base;
    a->inst = c->inst + r->base;
    a->pflags = c->pflags + r->base;
    a->cap_pos = r->cap;
}

/* Room for one more position: grows the range in place when it ends at the arena's bump
 * mark, else moves it to a range twice the size. */
static int positions_reserve(risk_account *a)
{
    if (a->n_pos < a->cap_pos)
        return RISK_OK;
    uint32_t cap = a->cap_pos ? 2 * a->cap_pos : 1;
    while (cap & (cap - 1)) /* positions used in place in a mapped snapshot (cap_pos = n_pos) move to a power of two */
        cap += cap & (0u - cap);
    if (a->range.chunk && risk__arena_extend(a->engine, &a->range, cap)) {
        a->cap_pos = cap;
        return RISK_OK;
    }
    risk__range fresh;
    if (risk__arena_alloc(a->engine, cap, &fresh))
        return RISK_ENOMEM;
    risk__range old = a->range;
    a->range = fresh;
    double *qty = a->qty, *entry = a->entry, *im_rate = a->im_rate, *iso = a->iso_margin, *fl = a->fund_last;
    risk_position **handles = a->handles;
    uint32_t *inst = a->inst, *pflags = a->pflags;
    bind_range(a);
    if (a->n_pos) {
        memcpy(a->qty, qty, a->n_pos * sizeof *qty);
        memcpy(a->entry, entry, a->n_pos * sizeof *entry);
        memcpy(a->im_rate, im_rate, a->n_pos * sizeof *im_rate);
        memcpy(a->iso_margin, iso, a->n_pos * sizeof *iso);
        if (fl)
            memcpy(a->fund_last, fl, a->n_pos * sizeof *fl);
        else
            memset(a->fund_last, 0, a->n_pos * sizeof *fl);
        memcpy(a->handles, handles, a->n_pos * sizeof *handles);
        memcpy(a->inst, inst, a->n_pos * sizeof *inst);
        memcpy(a->pflags, pflags, a->n_pos * sizeof *pflags);
    }
    risk__arena_release(a->engine, &old);
    return RISK_OK;
}

/* Removes slot i keeping the others in order, and frees its handle. */
static void position_remove(risk_account *a, uint32_t i)
{
    risk__account_changed(a);
    risk__free(a->engine, a->handles[i]);
    uint32_t tail = a->n_pos - i - 1;
    memmove(&a->qty[i], &a->qty[i + 1], tail * sizeof *a->qty);
    memmove(&a->entry[i], &a->entry[i + 1], tail * sizeof *a->entry);
    memmove(&a->im_rate[i], &a->im_rate[i + 1], tail * sizeof *a->im_rate);
    memmove(&a->iso_margin[i], &a->iso_margin[i + 1], tail * sizeof *a->iso_margin);
    if (a->fund_last)
        memmove(&a->fund_last[i], &a->fund_last[i + 1], tail * sizeof *a->fund_last);
    memmove(&a->handles[i], &a->handles[i + 1], tail * sizeof *a->handles);
    memmove(&a->inst[i], &a->inst[i + 1], tail * sizeof *a->inst);
    memmove(&a->pflags[i], &a->pflags[i + 1], tail * sizeof *a->pflags);
    a->n_pos--;
    for (uint32_t j = i; j < a->n_pos; j++)
        if (a->handles[j])
            a->handles[j]->slot = j;
}

/* Makes h the handle of slot i: from now on the account's handle slots must be read. */
static void handle_bind(risk_account *a, uint32_t i, risk_position *h)
{
    h->account = a;
    h->slot = i;
    a->handles[i] = h;
    a->in_block &= ~RISK__IN_BLOCK_NO_HANDLES;
}

/* The handle of slot i, made on first request. */
static int handle_of(risk_account *a, uint32_t i, risk_position **out)
{
    if (!a->handles[i]) {
        risk_position *h = risk__malloc(a->engine, sizeof *h);
        if (!h)
            return risk__fail(a->engine, &a->errmsg, RISK_ENOMEM, "out of memory for a position handle");
        handle_bind(a, i, h);
    }
    *out = a->handles[i];
    return RISK_OK;
}

int risk__position_find(const risk_account *a, uint32_t instrument, uint32_t leg)
{
    for (uint32_t i = 0; i < a->n_pos; i++) /* a slot closed by a deferred fill is gone */
        if (a->inst[i] == instrument && (a->pflags[i] & (RISK__PF_LEG_MASK | RISK__PF_CLOSED)) == leg)
            return (int)i;
    return -1;
}

static const char *side_name(uint32_t side)
{
    return side == RISK_SIDE_LONG ? "long" : side == RISK_SIDE_SHORT ? "short" : "one-way";
}

int risk__position_check(risk_account *a, char **err, const risk_position_spec *spec)
{
    const risk_engine *e = a->engine;
    if (spec->version != RISK_POSITION_SPEC_VERSION)
        return risk__fail(e, err, RISK_EVERSION, "position spec version %u is not %d", spec->version,
                          RISK_POSITION_SPEC_VERSION);
    if (spec->instrument >= e->n_instruments)
        return risk__fail(e, err, RISK_ENOTFOUND, "unknown instrument %u", spec->instrument);
    const risk__instrument *in = &e->instruments[spec->instrument];
    if (spec->side > RISK_SIDE_SHORT)
        return risk__fail(e, err, RISK_EINVAL, "%s: unknown side %u", in->symbol, spec->side);
    if (spec->margin_mode > RISK_MARGIN_ISOLATED)
        return risk__fail(e, err, RISK_EINVAL, "%s: unknown margin mode %u", in->symbol, spec->margin_mode);
    if (!isfinite(spec->qty) || spec->qty == 0.0)
        return risk__fail(e, err, RISK_EINVAL, "%s: qty must be finite and non-zero", in->symbol);
    if (in->settled)
        return risk__fail(e, err, RISK_ESTATE, "%s is settled", in->symbol);
    int rc = risk__check_instrument_price(e, err, in, "entry", spec->entry, 0);
    if (rc)
        return rc;
    if (a->position_mode == RISK_POSITION_HEDGE) {
        if (spec->side == RISK_SIDE_BOTH)
            return risk__fail(e, err, RISK_ESTATE, "%s: hedge mode needs side long or short", in->symbol);
        if (spec->qty < 0.0)
            return risk__fail(e, err, RISK_ESTATE, "%s: a hedge leg's qty must be > 0", in->symbol);
    } else if (spec->side != RISK_SIDE_BOTH) {
        return risk__fail(e, err, RISK_ESTATE, "%s: one-way mode takes side BOTH and a signed qty", in->symbol);
    }
    if ((rc = risk__check_qty(e, err, in, "qty", spec->qty)))
        return rc;
    uint32_t mode = spec->margin_mode == RISK_MARGIN_DEFAULT ? a->margin_mode : spec->margin_mode;
    if (!isfinite(spec->isolated_margin) || spec->isolated_margin < 0.0)
        return risk__fail(e, err, RISK_EINVAL, "%s: isolated_margin must be finite and >= 0", in->symbol);
    if ((rc = risk__check_amount(e, err, &e->assets[in->settle], "isolated_margin", spec->isolated_margin)))
        return rc;
    if (mode == RISK_MARGIN_CROSS && spec->isolated_margin != 0.0)
        return risk__fail(e, err, RISK_EINVAL, "%s: a cross position has no isolated_margin", in->symbol);
    if (a->margin_mode == RISK_MARGIN_PORTFOLIO && (mode != RISK_MARGIN_PORTFOLIO || spec->isolated_margin != 0.0))
        return risk__fail(e, err, RISK_EINVAL, "%s: a portfolio account's positions are all in its portfolio",
                          in->symbol);
    if (risk__position_find(a, spec->instrument, spec->side) >= 0)
        return risk__fail(e, err, RISK_EDUPLICATE, "%s: the %s position already exists", in->symbol,
                          side_name(spec->side));
    if (a->n_pos >= RISK__MAX_POSITIONS)
        return risk__fail(e, err, RISK_EINVAL, "an account holds at most %u positions", RISK__MAX_POSITIONS);
    return risk__notional_limit_check(e, err, in, 0.0, spec->qty, spec->entry);
}

uint32_t risk__position_append(risk_account *a, const risk_position_spec *spec)
{
    risk__account_changed(a);
    uint32_t mode = spec->margin_mode == RISK_MARGIN_DEFAULT ? a->margin_mode : spec->margin_mode;
    uint32_t i = a->n_pos++;
    a->iso_margin[i] = mode == RISK_MARGIN_ISOLATED ? spec->isolated_margin : 0.0;
    a->qty[i] = spec->side == RISK_SIDE_SHORT ? -spec->qty : spec->qty; /* stored signed */
    a->entry[i] = spec->entry;
    double user_leverage = leverage_of(a, spec->instrument);
    a->im_rate[i] = user_leverage > 0.0 ? 1.0 / user_leverage : 0.0;
    a->handles[i] = NULL;
    a->inst[i] = spec->instrument;
    a->pflags[i] = spec->side | (mode == RISK_MARGIN_ISOLATED ? RISK__PF_ISOLATED : 0u);
    risk__funding_bind(a);
    if (a->fund_last)
        a->fund_last[i] = risk__funding_index(&a->engine->instruments[spec->instrument], a->qty[i]);
    return i;
}

RISK_API int risk_account_open_position(risk_account *account, const risk_position_spec *spec,
                                        risk_position **pos_out)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = account;
    const risk_engine *e = a->engine;
    if (!spec)
        return risk__fail(e, &a->errmsg, RISK_ENULL, "position spec is NULL");
    int rc = risk__position_check(a, &a->errmsg, spec);
    if (rc)
        return rc;

    risk_position *h = NULL;
    if (pos_out && !(h = risk__malloc(e, sizeof *h)))
        return risk__fail(e, &a->errmsg, RISK_ENOMEM, "out of memory for a position");
    if (positions_reserve(a)) {
        risk__free(e, h);
        return risk__fail(e, &a->errmsg, RISK_ENOMEM, "out of memory for a position");
    }
    uint32_t i = risk__position_append(a, spec);
    if (h)
        handle_bind(a, i, h);
    if (pos_out)
        *pos_out = h;
    risk__clear(&a->errmsg);
    return RISK_OK;
}

/* ------------------------------------------------------------ fills */

double risk__realised_pnl(const risk__instrument *in, double dir, double closed, double entry, double price)
{
    if (in->kind == RISK_KIND_OPTION) /* premium convention: closing is the premium received (paid by a short) */
        return dir * closed * in->contract_size * price;
    if (in->inverse)
        return dir * closed * in->contract_size * (1.0 / entry - 1.0 / price);
    return dir * closed * in->contract_size * (price - entry);
}

/* Size-weighted average entry; inverse contracts average 1/E (their PnL is linear in 1/P). */
static double average_entry(const risk__instrument *in, double held, double entry, double added, double price)
{
    if (in->inverse && in->kind != RISK_KIND_OPTION) /* an option's premium averages linearly */
        return (held + added) / (held / entry + added / price);
    return (held * entry + added * price) / (held + added);
}

static int fill_check(risk_account *a, const risk__instrument *in, double qty, double price)
{
    const risk_engine *e = a->engine;
    if (in->settled)
        return risk__fail(e, &a->errmsg, RISK_ESTATE, "%s is settled", in->symbol);
    if (!isfinite(qty) || !isfinite(price) || price <= 0.0)
        return risk__fail(e, &a->errmsg, RISK_EINVAL, "%s: fill qty and price must be finite, price > 0", in->symbol);
    int rc = risk__check_qty(e, &a->errmsg, in, "qty", qty);
    if (rc)
        return rc;
    return risk__check_instrument_price(e, &a->errmsg, in, "price", price, 1);
}

/* `defer`: a closing fill marks the slot closed (qty 0, RISK__PF_CLOSED) instead of removing
 * it; risk__account_compact removes every marked slot at once. */
static int fill(risk_account *a, uint32_t i, double delta, double price, int defer)
{
    risk__account_changed(a);
    const risk_engine *e = a->engine;
    const risk__instrument *in = &e->instruments[a->inst[i]];
    int isolated = (a->pflags[i] & RISK__PF_ISOLATED) != 0;
    int hedge = (a->pflags[i] & RISK__PF_LEG_MASK) != RISK_SIDE_BOTH;
    double q = a->qty[i];
    /* on the lot grid: a sum of on-grid doubles drifts off it at large counts (1e9 - 999999997.885
     * is 2.1150000095367432, not a whole number of 0.001 lots) */
    double next = risk__steps_to_value(nearbyint((q + delta) / in->lot_size), in->lot_size);
    int reduces = (q > 0.0) != (delta > 0.0);
    int crosses = reduces && fabs(delta) > fabs(q) * (1.0 + 1e-12);
    int closes = reduces && risk__is_whole_multiple(next, in->lot_size) && fabs(next) < 0.5 * in->lot_size;
    if (hedge && crosses && !closes)
        return risk__fail(e, &a->errmsg, RISK_ESTATE, "%s: a hedge leg cannot cross zero", in->symbol);
    int option = in->kind == RISK_KIND_OPTION;
    /* Drift settles a position's funding before changing it (docs/rates.md 8.4): the pending
     * funding may reach the settle balance, whatever the fill */
    double pending = e->funding_active ? risk__funding_pending(a, i) : 0.0;
    if (((reduces || option) && (!isolated || closes)) || pending != 0.0)
        if (risk__basket_reserve(&a->basket, in->settle))
            return risk__fail(e, &a->errmsg, RISK_ENOMEM, "out of memory for the settle balance");
    if (e->funding_active && in->kind == RISK_KIND_PERPETUAL)
        risk__funding_settle_slot(a, i);
    if (option) {
        /* premium convention (docs/options.md, section 6.3): every fill moves the premium, the
         * buyer pays delta x cs x price; a ledger posting, rounded down (against the account) */
        double cash = risk__quantize(-delta * in->contract_size * price, risk__asset_scale(&e->assets[in->settle]), 0);
        if (isolated)
            a->iso_margin[i] += cash;
        else
            risk__basket_add_unchecked(&a->basket, in->settle, cash);
        if (closes) {
            if (isolated)
                risk__basket_add_unchecked(&a->basket, in->settle, a->iso_margin[i]);
            if (defer) {
                a->qty[i] = 0.0;
                a->iso_margin[i] = 0.0;
                a->pflags[i] |= RISK__PF_CLOSED;
            } else {
                position_remove(a, i);
            }
        } else {
            if (!reduces)
                a->entry[i] = average_entry(in, fabs(q), a->entry[i], fabs(delta), price);
            else if (crosses)
                a->entry[i] = price;
            a->qty[i] = next;
        }
        risk__clear(&a->errmsg);
        return RISK_OK;
    }

    if (!reduces) {
        a->entry[i] = average_entry(in, fabs(q), a->entry[i], fabs(delta), price);
        a->qty[i] = next;
    } else {
        double dir = q > 0.0 ? 1.0 : -1.0;
        double closed = closes || crosses ? fabs(q) : fabs(delta);
        /* a ledger posting: rounded down to the settle asset's quantum, snapping float noise */
        double pnl = risk__quantize(risk__realised_pnl(in, dir, closed, a->entry[i], price),
                                    risk__asset_scale(&e->assets[in->settle]), 0);
        if (isolated)
            a->iso_margin[i] += pnl;
        else
            risk__basket_add_unchecked(&a->basket, in->settle, pnl);
        if (closes) {
            if (isolated) /* what is left of the isolated margin returns to the wallet */
                risk__basket_add_unchecked(&a->basket, in->settle, a->iso_margin[i]);
            if (defer) {
                a->qty[i] = 0.0;
                a->iso_margin[i] = 0.0;
                a->pflags[i] |= RISK__PF_CLOSED;
            } else {
                position_remove(a, i);
            }
        } else if (crosses) {
            a->qty[i] = next;
            a->entry[i] = price;
            if (a->fund_last) /* the other side's index from here */
                a->fund_last[i] = risk__funding_index(in, next);
        } else {
            a->qty[i] = next;
        }
    }
    risk__clear(&a->errmsg);
    return RISK_OK;
}

int risk__account_fill(risk_account *a, uint32_t i, double delta, double price)
{
    return fill(a, i, delta, price, 0);
}

int risk__account_fill_deferred(risk_account *a, uint32_t i, double delta, double price)
{
    return fill(a, i, delta, price, 1);
}

int risk__account_reserve_positions(risk_account *a, uint32_t extra)
{
    while (a->n_pos + (uint64_t)extra > a->cap_pos) {
        uint32_t n = a->n_pos;
        a->n_pos = a->cap_pos; /* positions_reserve grows when the range is full */
        int rc = positions_reserve(a);
        a->n_pos = n;
        if (rc)
            return rc;
    }
    return RISK_OK;
}

int risk__account_take(risk_account *a, uint32_t instrument, uint32_t leg, double delta, double price)
{
    int i = risk__position_find(a, instrument, leg);
    if (i >= 0)
        return risk__account_fill(a, (uint32_t)i, delta, price);
    if (risk__account_reserve_positions(a, 1))
        return RISK_ENOMEM;
    risk__account_changed(a);
    uint32_t k = a->n_pos++;
    double user_leverage = leverage_of(a, instrument);
    a->iso_margin[k] = 0.0;
    a->qty[k] = delta;
    a->entry[k] = price;
    a->im_rate[k] = user_leverage > 0.0 ? 1.0 / user_leverage : 0.0;
    a->handles[k] = NULL;
    a->inst[k] = instrument;
    a->pflags[k] = leg;
    risk__funding_bind(a);
    if (a->fund_last)
        a->fund_last[k] = risk__funding_index(&a->engine->instruments[instrument], delta);
    return RISK_OK;
}

void risk__account_compact(risk_account *a)
{
    uint32_t w = 0;
    for (uint32_t i = 0; i < a->n_pos; i++) {
        if (a->pflags[i] & RISK__PF_CLOSED) {
            risk__free(a->engine, a->handles[i]);
            continue;
        }
        if (w != i) {
            a->qty[w] = a->qty[i];
            a->entry[w] = a->entry[i];
            a->im_rate[w] = a->im_rate[i];
            a->iso_margin[w] = a->iso_margin[i];
            if (a->fund_last)
                a->fund_last[w] = a->fund_last[i];
            a->handles[w] = a->handles[i];
            a->inst[w] = a->inst[i];
            a->pflags[w] = a->pflags[i];
            if (a->handles[w])
                a->handles[w]->slot = w;
        }
        w++;
    }
    a->n_pos = w;
    risk__account_changed(a);
}

/* The balances a fill posts to stay in the domain: the position's pending funding, which the
 * fill settles first (to the isolated margin first, the rest to the settle balance), then a
 * reducing fill's realised PnL, to the settle balance (or the isolated margin, which returns to
 * the wallet when the position closes). */
static int posting_check(risk_account *a, uint32_t i, double delta, double price)
{
    const risk_engine *e = a->engine;
    const risk__instrument *in = &e->instruments[a->inst[i]];
    const risk__asset *settle = &e->assets[in->settle];
    double q = a->qty[i];
    int option = in->kind == RISK_KIND_OPTION, isolated = (a->pflags[i] & RISK__PF_ISOLATED) != 0;
    double wallet = risk__basket_amount(&a->basket, in->settle), iso = isolated ? a->iso_margin[i] : 0.0;
    int rc;
    double got = e->funding_active && in->kind == RISK_KIND_PERPETUAL ? risk__funding_pending(a, i) : 0.0;
    if (got != 0.0) {
        double to_margin, to_wallet;
        risk__funding_split(a, i, -got, &to_margin, &to_wallet);
        iso += to_margin;
        wallet += to_wallet;
        if (isolated &&
            (rc = risk__check_amount(e, &a->errmsg, settle, "the isolated margin after funding would be", iso)))
            return rc;
        if ((rc = risk__check_amount(e, &a->errmsg, settle, "the settle balance after funding would be", wallet)))
            return rc;
    }
    if ((q > 0.0) == (delta > 0.0) && !option)
        return RISK_OK;
    double closed = fabs(delta) < fabs(q) ? fabs(delta) : fabs(q);
    double pnl = option ? -delta * in->contract_size * price /* the premium of the whole fill */
                        : risk__realised_pnl(in, q > 0.0 ? 1.0 : -1.0, closed, a->entry[i], price);
    if (isolated) {
        double margin = iso + pnl;
        if ((rc = risk__check_amount(e, &a->errmsg, settle, "the isolated margin after the fill would be", margin)))
            return rc;
        if (fabs(delta) < fabs(q))
            return RISK_OK;
        return risk__check_amount(e, &a->errmsg, settle, "the settle balance after the fill would be", wallet + margin);
    }
    return risk__check_amount(e, &a->errmsg, settle, "the settle balance after the fill would be", wallet + pnl);
}

RISK_API int risk_position_adjust(risk_position *position, double qty_delta_contracts, double price_quote)
{
    if (!position)
        return RISK_ENULL;
    risk_account *a = position->account;
    const risk__instrument *in = &a->engine->instruments[a->inst[position->slot]];
    int rc = fill_check(a, in, qty_delta_contracts, price_quote);
    if (rc)
        return rc;
    if (qty_delta_contracts == 0.0)
        return risk__fail(a->engine, &a->errmsg, RISK_EINVAL, "%s: fill qty must be non-zero", in->symbol);
    double next = a->qty[position->slot] + qty_delta_contracts;
    if (!risk__lots_in_domain(qty_delta_contracts, in->lot_size) || !risk__lots_in_domain(next, in->lot_size))
        return risk__fail(a->engine, &a->errmsg, RISK_EINVAL, "%s: a fill of %s would hold more than 2^53 lots of %s",
                          in->symbol, RISK__NUM(qty_delta_contracts), RISK__NUM(in->lot_size));
    if (in->max_notional != 0.0) { /* the position after the fill, for the size limit */
        double q = a->qty[position->slot];
        double entry = (q > 0.0) == (qty_delta_contracts > 0.0)
                           ? average_entry(in, fabs(q), a->entry[position->slot], fabs(qty_delta_contracts), price_quote)
                           : price_quote; /* (a reduction, which the check lets through, or a flip) */
        if ((rc = risk__notional_limit_check(a->engine, &a->errmsg, in, q, next, entry)))
            return rc;
    }
    if ((rc = posting_check(a, position->slot, qty_delta_contracts, price_quote)))
        return rc;
    return risk__account_fill(a, position->slot, qty_delta_contracts, price_quote);
}

RISK_API int risk_position_close(risk_position *position, double price_quote)
{
    if (!position)
        return RISK_ENULL;
    risk_account *a = position->account;
    const risk__instrument *in = &a->engine->instruments[a->inst[position->slot]];
    double q = a->qty[position->slot];
    int rc = fill_check(a, in, q, price_quote);
    if (rc || (rc = posting_check(a, position->slot, -q, price_quote)))
        return rc;
    return risk__account_fill(a, position->slot, -q, price_quote);
}

RISK_API int risk_position_set_isolated_margin(risk_position *position, double margin)
{
    if (!position)
        return RISK_ENULL;
    risk_account *a = position->account;
    const risk_engine *e = a->engine;
    const risk__instrument *in = &e->instruments[a->inst[position->slot]];
    if (!(a->pflags[position->slot] & RISK__PF_ISOLATED))
        return risk__fail(e, &a->errmsg, RISK_ESTATE, "%s: the position is cross", in->symbol);
    if (!isfinite(margin) || margin < 0.0)
        return risk__fail(e, &a->errmsg, RISK_EINVAL, "%s: isolated margin must be finite and >= 0", in->symbol);
    const risk__asset *settle = &e->assets[in->settle];
    int rc = risk__check_amount(e, &a->errmsg, settle, "isolated margin", margin);
    if (rc)
        return rc;
    /* the wallet pays the difference: refused like risk_basket_add_balance refuses the same sum */
    double wallet = risk__basket_amount(&a->basket, in->settle) + (a->iso_margin[position->slot] - margin);
    if ((rc = risk__check_amount(e, &a->errmsg, settle, "the settle balance after the move would be", wallet)))
        return rc;
    if (risk__basket_reserve(&a->basket, in->settle))
        return risk__fail(e, &a->errmsg, RISK_ENOMEM, "out of memory for the settle balance");
    risk__basket_add_unchecked(&a->basket, in->settle, a->iso_margin[position->slot] - margin);
    a->iso_margin[position->slot] = margin;
    risk__account_changed(a);
    risk__clear(&a->errmsg);
    return RISK_OK;
}

/* ------------------------------------------------------------ introspection */

RISK_API uint64_t risk_account_id(const risk_account *account)
{
    if (!account)
        return 0;
    return account->id;
}

RISK_API uint32_t risk_account_margin_mode(const risk_account *account)
{
    if (!account)
        return RISK_ID_NONE;
    return account->margin_mode;
}

RISK_API uint32_t risk_account_position_mode(const risk_account *account)
{
    if (!account)
        return RISK_ID_NONE;
    return account->position_mode;
}

RISK_API size_t risk_account_position_count(const risk_account *account)
{
    if (!account)
        return 0;
    return account->n_pos;
}

RISK_API int risk_account_position_at(const risk_account *account, size_t index, risk_position **out)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = (risk_account *)account;
    if (!out)
        return risk__fail(a->engine, &a->errmsg, RISK_ENULL, "out is NULL");
    if (index >= a->n_pos)
        return risk__fail(a->engine, &a->errmsg, RISK_ENOTFOUND, "position index %zu of %u", index, a->n_pos);
    return handle_of(a, (uint32_t)index, out);
}

RISK_API int risk_account_find_position(const risk_account *account, uint32_t instrument, uint32_t side,
                                        risk_position **out)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = (risk_account *)account;
    if (!out)
        return risk__fail(a->engine, &a->errmsg, RISK_ENULL, "out is NULL");
    if (side > RISK_SIDE_SHORT || (a->position_mode == RISK_POSITION_HEDGE) != (side != RISK_SIDE_BOTH))
        return risk__fail(a->engine, &a->errmsg, RISK_ESTATE, "side %u does not fit the account's position mode",
                          side);
    int i = risk__position_find(a, instrument, side);
    if (i < 0)
        return risk__fail(a->engine, &a->errmsg, RISK_ENOTFOUND, "no %s position in instrument %u", side_name(side),
                          instrument);
    return handle_of(a, (uint32_t)i, out);
}

RISK_API const char *risk_account_errmsg(const risk_account *account)
{
    return account ? risk__msg(account->errmsg) : "";
}

RISK_API uint32_t risk_position_instrument(const risk_position *position)
{
    if (!position)
        return RISK_ID_NONE;
    return position->account->inst[position->slot];
}

RISK_API uint32_t risk_position_side(const risk_position *position)
{
    if (!position)
        return RISK_ID_NONE;
    return position->account->qty[position->slot] > 0.0 ? RISK_SIDE_LONG : RISK_SIDE_SHORT;
}

RISK_API uint32_t risk_position_leg(const risk_position *position)
{
    if (!position)
        return RISK_ID_NONE;
    return position->account->pflags[position->slot] & RISK__PF_LEG_MASK;
}

RISK_API double risk_position_qty(const risk_position *position)
{
    if (!position)
        return NAN;
    return position->account->qty[position->slot];
}

RISK_API double risk_position_entry(const risk_position *position)
{
    if (!position)
        return NAN;
    return position->account->entry[position->slot];
}

RISK_API double risk_position_isolated_margin(const risk_position *position)
{
    if (!position)
        return NAN;
    return position->account->iso_margin[position->slot];
}

RISK_API uint32_t risk_position_margin_mode(const risk_position *position)
{
    if (!position)
        return RISK_ID_NONE;
    return (position->account->pflags[position->slot] & RISK__PF_ISOLATED) ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS;
}

RISK_API risk_account *risk_position_account(const risk_position *position)
{
    if (!position)
        return NULL;
    return position->account;
}
