/* SPDX-License-Identifier: Apache-2.0 */
/* Applying a liquidation plan: every action is checked on a shadow of the account first, memory
 * for every balance and fund it touches is reserved, and only then is anything changed. The
 * planner replays plans through the same risk__actions_execute, so a plan's health after is what
 * the account reports once the plan is applied. */
#include "liquidation/liquidation.h"

#include <string.h>

int risk__action_slot(const risk_account *a, const risk_liquidation_action *act)
{
    return risk__position_find(a, act->instrument, act->leg);
}

static int execute(risk_account *a, const risk_liquidation_action *act, int defer)
{
    switch (act->type) {
    case RISK_ACTION_REDUCE:
    case RISK_ACTION_ADL:
    case RISK_ACTION_BACKSTOP: {
        int i = risk__action_slot(a, act);
        if (i < 0)
            return RISK_ENOTFOUND;
        double delta = act->side == RISK_ORDER_BUY ? act->qty : -act->qty;
        int rc = defer ? risk__account_fill_deferred(a, (uint32_t)i, delta, act->price)
                       : risk__account_fill(a, (uint32_t)i, delta, act->price);
        if (rc)
            return rc;
        if (act->type == RISK_ACTION_REDUCE)
            risk__basket_add_unchecked(&a->basket, act->asset, -(act->fee + act->insurance_fee));
        return RISK_OK;
    }
    case RISK_ACTION_SEIZE:
        risk__basket_add_unchecked(&a->basket, act->asset, -act->amount);
        risk__basket_add_unchecked(&a->basket, act->repay_asset, act->repay_amount);
        return RISK_OK;
    case RISK_ACTION_INSURANCE:
        risk__basket_add_unchecked(&a->basket, act->asset, -act->amount);
        return RISK_OK;
    case RISK_ACTION_SOCIALIZE:
        risk__basket_add_unchecked(&a->basket, act->asset, act->amount);
        return RISK_OK;
    default:
        return RISK_EINVAL;
    }
}

int risk__action_execute(risk_account *a, const risk_liquidation_action *act)
{
    return execute(a, act, 0);
}

int risk__actions_execute(risk_account *a, const risk_liquidation_action *acts, size_t n)
{
    int rc = RISK_OK;
    for (size_t k = 0; k < n && rc == RISK_OK; k++)
        rc = execute(a, &acts[k], 1);
    risk__account_compact(a);
    return rc;
}

/* ------------------------------------------------------------ validation */

static int money_ok(double v)
{
    return isfinite(v) && v >= 0.0;
}

static risk_account *account_by_id(const risk_engine *e, uint64_t id)
{
    risk_account *c = NULL;
    return risk_engine_find_account(e, id, &c) == RISK_OK ? c : NULL;
}

/* The position of an ADL counterparty that takes the other side of `act`. */
static int counterparty_slot(const risk_account *c, const risk_liquidation_action *act)
{
    uint32_t leg = act->leg == RISK_SIDE_BOTH ? RISK_SIDE_BOTH
                                               : (act->leg == RISK_SIDE_LONG ? RISK_SIDE_SHORT : RISK_SIDE_LONG);
    if (c->position_mode == RISK_POSITION_HEDGE && leg == RISK_SIDE_BOTH)
        leg = act->side == RISK_ORDER_SELL ? RISK_SIDE_SHORT : RISK_SIDE_LONG;
    if (c->position_mode != RISK_POSITION_HEDGE)
        leg = RISK_SIDE_BOTH;
    risk_liquidation_action probe = *act;
    probe.leg = leg;
    return risk__action_slot(c, &probe);
}

/* The leg of the backstop's position that takes over the liquidated one: the same direction. */
uint32_t risk__backstop_leg(const risk_account *backstop, const risk_liquidation_action *act)
{
    if (backstop->position_mode != RISK_POSITION_HEDGE)
        return RISK_SIDE_BOTH;
    return act->side == RISK_ORDER_SELL ? RISK_SIDE_LONG : RISK_SIDE_SHORT;
}

risk_account *risk__backstop_of(const risk_engine *e, const risk_account *a)
{
    const risk_liquidation_policy *pol = risk__engine_policy(e);
    if (!pol->has_backstop)
        return NULL;
    risk_account *b = account_by_id(e, pol->backstop_account);
    return b == a ? NULL : b;
}

typedef struct apply_check {
    risk_account *a;
    risk_engine *e;
    double *fund_delta; /* per asset, over the actions checked so far */
    uint32_t backstop_new; /* positions the backstop account opens */
} apply_check;

#define FAIL(code, ...) risk__fail(ck->e, &ck->a->errmsg, code, __VA_ARGS__)

static int check_trade(apply_check *ck, risk_account *sh, const risk_liquidation_action *acts, size_t k)
{
    const risk_liquidation_action *act = &acts[k];
    const risk_engine *e = ck->e;
    if (act->instrument >= e->n_instruments)
        return FAIL(RISK_ENOTFOUND, "action %zu: unknown instrument %u", k, act->instrument);
    const risk__instrument *in = &e->instruments[act->instrument];
    if (act->side != RISK_ORDER_BUY && act->side != RISK_ORDER_SELL)
        return FAIL(RISK_EINVAL, "action %zu: side %u is neither buy nor sell", k, act->side);
    if (act->asset != in->settle)
        return FAIL(RISK_EINVAL, "action %zu: asset %u is not %s's settle asset", k, act->asset, in->symbol);
    if (!(act->qty > 0.0) || !isfinite(act->qty) || !(act->price > 0.0) || !isfinite(act->price))
        return FAIL(RISK_EINVAL, "action %zu: qty and price must be finite and > 0", k);
    if (!money_ok(act->fee) || !money_ok(act->insurance_fee))
        return FAIL(RISK_EINVAL, "action %zu: fees must be finite and >= 0", k);
    if (!risk__is_whole_multiple(act->qty, in->lot_size))
        return FAIL(RISK_ELOT, "action %zu: qty %s is not a whole number of lots of %s", k, RISK__NUM(act->qty), in->symbol);
    if (!risk__is_whole_multiple(act->price, in->tick_size))
        return FAIL(RISK_ETICK, "action %zu: price %s is off %s's tick", k, RISK__NUM(act->price), in->symbol);
    /* the input domain (docs/errors.md 4): at least one lot and one tick (1e-300 was "0 lots" or
     * "0 ticks", a whole multiple); at most 2^52 ticks, so a posting stays finite. The upper
     * price bound of the domain is not applied: a penalty price may lie above a mark at it. */
    if (nearbyint(act->qty / in->lot_size) < 1.0)
        return FAIL(RISK_ELOT, "action %zu: qty %s is less than one lot of %s", k, RISK__NUM(act->qty), in->symbol);
    if (nearbyint(act->price / in->tick_size) < 1.0)
        return FAIL(RISK_ETICK, "action %zu: price %s is below one tick of %s", k, RISK__NUM(act->price), in->symbol);
    if (act->price / in->tick_size > RISK__TICKS_MAX)
        return FAIL(RISK_EINVAL, "action %zu: price %s is more than 2^52 ticks of %s", k, RISK__NUM(act->price),
                    in->symbol);
    int i = risk__action_slot(sh, act);
    if (i < 0)
        return FAIL(RISK_ENOTFOUND, "action %zu: no %s position on leg %u", k, in->symbol, act->leg);
    double q = sh->qty[i];
    if ((q > 0.0) != (act->side == RISK_ORDER_SELL) || act->qty > fabs(q) * (1.0 + 1e-12))
        return FAIL(RISK_ESTATE, "action %zu: %s %s of %s does not reduce the position of %s", k,
                    act->side == RISK_ORDER_SELL ? "selling" : "buying", RISK__NUM(act->qty), in->symbol, RISK__NUM(q));
    if (act->type == RISK_ACTION_ADL) {
        risk_account *c = account_by_id(e, act->counterparty);
        if (!c || c == ck->a)
            return FAIL(RISK_ENOTFOUND, "action %zu: unknown ADL counterparty %llu", k,
                        (unsigned long long)act->counterparty);
        int j = counterparty_slot(c, act);
        double held = j < 0 ? 0.0 : c->qty[j];
        int opposite = act->side == RISK_ORDER_SELL ? held < 0.0 : held > 0.0;
        double taken = 0.0; /* earlier fills against the same position */
        for (size_t m = 0; m < k; m++)
            if (acts[m].type == RISK_ACTION_ADL && acts[m].counterparty == act->counterparty &&
                acts[m].instrument == act->instrument)
                taken += acts[m].qty;
        if (!opposite || taken + act->qty > fabs(held) * (1.0 + 1e-12))
            return FAIL(RISK_ESTATE, "action %zu: counterparty %llu holds no opposite %s position of %s", k,
                        (unsigned long long)act->counterparty, in->symbol, RISK__NUM(taken + act->qty));
    } else if (act->type == RISK_ACTION_BACKSTOP) {
        risk_account *c = risk__backstop_of(e, ck->a);
        if (!c || c->id != act->counterparty)
            return FAIL(RISK_ENOTFOUND, "action %zu: account %llu is not the engine's backstop account", k,
                        (unsigned long long)act->counterparty);
        uint32_t leg = risk__backstop_leg(c, act);
        int opened = risk__position_find(c, act->instrument, leg) >= 0;
        for (size_t m = 0; m < k && !opened; m++) /* or an earlier fill of this plan opens it */
            opened = acts[m].type == RISK_ACTION_BACKSTOP && acts[m].instrument == act->instrument &&
                     risk__backstop_leg(c, &acts[m]) == leg;
        ck->backstop_new += !opened;
    } else {
        ck->fund_delta[act->asset] += act->insurance_fee;
    }
    return RISK_OK;
}

static int check_action(apply_check *ck, risk_account *sh, const risk_liquidation_action *acts, size_t k)
{
    const risk_liquidation_action *act = &acts[k];
    const risk_engine *e = ck->e;
    if (act->version != RISK_LIQUIDATION_ACTION_VERSION)
        return FAIL(RISK_EVERSION, "action %zu: version %u is not %d", k, act->version, RISK_LIQUIDATION_ACTION_VERSION);
    switch (act->type) {
    case RISK_ACTION_REDUCE:
    case RISK_ACTION_ADL:
    case RISK_ACTION_BACKSTOP:
        return check_trade(ck, sh, acts, k);
    case RISK_ACTION_SOCIALIZE: {
        if (act->asset >= e->n_assets)
            return FAIL(RISK_ENOTFOUND, "action %zu: unknown asset %u", k, act->asset);
        if (!isfinite(act->amount) || !(act->amount > 0.0))
            return FAIL(RISK_EINVAL, "action %zu: a socialised amount must be finite and > 0", k);
        risk_account *c = account_by_id(e, act->counterparty);
        if (!c || c == ck->a)
            return FAIL(RISK_ENOTFOUND, "action %zu: unknown counterparty %llu", k, (unsigned long long)act->counterparty);
        return RISK_OK;
    }
    case RISK_ACTION_SEIZE:
        if (act->asset >= e->n_assets || act->repay_asset >= e->n_assets || act->asset == act->repay_asset)
            return FAIL(RISK_ENOTFOUND, "action %zu: seize needs two known, different assets", k);
        if (!money_ok(act->amount) || !money_ok(act->repay_amount) || !money_ok(act->bonus) ||
            !money_ok(act->protocol_fee) || act->protocol_fee > act->bonus || act->bonus > act->amount)
            return FAIL(RISK_EINVAL, "action %zu: seize amounts must be finite, >= 0, protocol fee <= bonus <= amount", k);
        if (risk__basket_amount(&sh->basket, act->asset) < act->amount)
            return FAIL(RISK_ESTATE, "action %zu: the account holds less than %s %s", k, RISK__NUM(act->amount),
                        e->assets[act->asset].symbol);
        if (-risk__basket_amount(&sh->basket, act->repay_asset) < act->repay_amount * (1.0 - 1e-12))
            return FAIL(RISK_ESTATE, "action %zu: the account owes less than %s %s", k, RISK__NUM(act->repay_amount),
                        e->assets[act->repay_asset].symbol);
        ck->fund_delta[act->asset] += act->protocol_fee;
        return RISK_OK;
    case RISK_ACTION_INSURANCE: {
        if (act->asset >= e->n_assets)
            return FAIL(RISK_ENOTFOUND, "action %zu: unknown asset %u", k, act->asset);
        if (!isfinite(act->amount) || act->amount == 0.0)
            return FAIL(RISK_EINVAL, "action %zu: insurance amount must be finite and non-zero", k);
        if (act->amount > 0.0 && risk__basket_amount(&sh->basket, act->asset) < act->amount)
            return FAIL(RISK_ESTATE, "action %zu: the account holds less than %s %s", k, RISK__NUM(act->amount),
                        e->assets[act->asset].symbol);
        const risk__fund *f = risk__fund_of(e, act->asset);
        double fund = (f ? f->balance : 0.0) + ck->fund_delta[act->asset];
        if (act->amount < 0.0 && fund + act->amount < 0.0)
            return FAIL(RISK_ESTATE, "action %zu: the %s insurance fund holds %s, less than the draw %s", k,
                        e->assets[act->asset].symbol, RISK__NUM(fund), RISK__NUM(-act->amount));
        ck->fund_delta[act->asset] += act->amount;
        return RISK_OK;
    }
    default:
        return FAIL(RISK_EINVAL, "action %zu: unknown type %u", k, act->type);
    }
}

/* Distinct assets of the account's basket the actions may create, beyond those it holds. */
static uint32_t new_assets(const risk_account *a, const risk_liquidation_action *acts, size_t n, uint32_t *seen)
{
    uint32_t count = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t ids[2] = {acts[k].asset, acts[k].type == RISK_ACTION_SEIZE ? acts[k].repay_asset : RISK_ID_NONE};
        for (int t = 0; t < 2; t++) {
            uint32_t id = ids[t];
            if (id == RISK_ID_NONE || seen[id])
                continue;
            seen[id] = 1;
            count += risk__basket_amount(&a->basket, id) == 0.0;
        }
    }
    return count;
}

static int is_counterparty_action(uint32_t type)
{
    return type == RISK_ACTION_ADL || type == RISK_ACTION_BACKSTOP || type == RISK_ACTION_SOCIALIZE;
}

/* Orders counterparty actions by counterparty id, then by position in the plan. */
static int by_counterparty(const void *x, const void *y, const risk_liquidation_action *acts)
{
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    if (acts[i].counterparty != acts[j].counterparty)
        return acts[i].counterparty < acts[j].counterparty ? -1 : 1;
    return i < j ? -1 : i > j;
}

/* Sorts idx[0..n) with by_counterparty (a merge sort: qsort has no context argument in C11). */
static void sort_by_counterparty(size_t *idx, size_t *tmp, size_t n, const risk_liquidation_action *acts)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_by_counterparty(idx, tmp, h, acts);
    sort_by_counterparty(idx + h, tmp, n - h, acts);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = by_counterparty(&idx[i], &idx[j], acts) <= 0 ? idx[i++] : idx[j++];
    while (i < h)
        tmp[k++] = idx[i++];
    while (j < n)
        tmp[k++] = idx[j++];
    memcpy(idx, tmp, n * sizeof *idx);
}

/* Reserves, for each counterparty the plan names, room for the distinct assets its basket may
 * gain over all the actions naming it (one slot per action was not enough when ADL fills in two
 * settle assets, or an ADL fill and a socialised loss, land on the same account: found by
 * fuzz_api), and the backstop's new positions. The actions are grouped by counterparty with one
 * sort: a socialised loss names thousands of counterparties, and a scan of the plan per
 * counterparty made that quadratic in the plan. */
static int reserve_counterparties(risk_account *a, const risk_liquidation_action *acts, size_t n, uint32_t *seen,
                                  uint32_t backstop_new)
{
    risk_engine *e = a->engine;
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        m += is_counterparty_action(acts[k].type);
    if (m == 0)
        return RISK_OK;
    size_t *idx = risk__malloc(e, 2 * m * sizeof *idx);
    if (!idx)
        return RISK_ENOMEM;
    m = 0;
    for (size_t k = 0; k < n; k++)
        if (is_counterparty_action(acts[k].type))
            idx[m++] = k;
    sort_by_counterparty(idx, idx + m, m, acts);
    int rc = RISK_OK;
    risk_account *backstop = risk__backstop_of(e, a);
    for (size_t g = 0; g < m && rc == RISK_OK;) {
        size_t end = g + 1;
        while (end < m && acts[idx[end]].counterparty == acts[idx[g]].counterparty)
            end++;
        risk_account *c = account_by_id(e, acts[idx[g]].counterparty);
        uint32_t count = 0;
        for (size_t t = g; t < end; t++) {
            uint32_t id = acts[idx[t]].asset;
            if (seen[id])
                continue;
            seen[id] = 1;
            count += risk__basket_amount(&c->basket, id) == 0.0;
        }
        for (size_t t = g; t < end; t++)
            seen[acts[idx[t]].asset] = 0;
        if (risk__basket_reserve_n(&c->basket, count) ||
            (backstop_new && c == backstop && risk__account_reserve_positions(c, backstop_new)))
            rc = RISK_ENOMEM;
        g = end;
    }
    risk__free(e, idx);
    return rc;
}

RISK_API int risk_account_apply_plan(risk_account *account, const risk_liquidation_plan *plan,
                                     const risk_liquidation_action *actions, size_t n)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = account;
    risk_engine *e = a->engine;
    if (!plan || (!actions && n))
        return risk__fail(e, &a->errmsg, RISK_ENULL, "plan or actions is NULL");
    if (plan->version != RISK_LIQUIDATION_PLAN_VERSION && plan->version != 1)
        return risk__fail(e, &a->errmsg, RISK_EVERSION, "plan version %u is not 1 or %d", plan->version,
                          RISK_LIQUIDATION_PLAN_VERSION);
    if (plan->account_id != a->id)
        return risk__fail(e, &a->errmsg, RISK_EINVAL, "the plan is for account %llu, not %llu",
                          (unsigned long long)plan->account_id, (unsigned long long)a->id);
    if (plan->n_actions != n)
        return risk__fail(e, &a->errmsg, RISK_EINVAL, "n %zu differs from the plan's %zu actions", n, plan->n_actions);
    if (n == 0) {
        risk__clear(&a->errmsg);
        return RISK_OK;
    }

    /* 1. check every action on a shadow, in order */
    risk__shadow sh;
    double *fund_delta = risk__malloc(e, e->n_assets * (sizeof(double) + sizeof(uint32_t)));
    if (!fund_delta || risk__shadow_init(&sh, a, 0)) {
        risk__free(e, fund_delta);
        return risk__fail(e, &a->errmsg, RISK_ENOMEM, "out of memory checking the plan");
    }
    uint32_t *seen = (uint32_t *)(fund_delta + e->n_assets);
    memset(fund_delta, 0, e->n_assets * sizeof *fund_delta);
    memset(seen, 0, e->n_assets * sizeof *seen);
    apply_check ck = {a, e, fund_delta, 0};
    int rc = RISK_OK;
    for (size_t k = 0; k < n && rc == RISK_OK; k++) {
        rc = check_action(&ck, &sh.acct, actions, k);
        if (rc == RISK_OK && (rc = risk__action_execute(&sh.acct, &actions[k])) != RISK_OK)
            rc = risk__fail(e, &a->errmsg, RISK_ESTATE, "action %zu cannot be applied", k);
    }
    risk__shadow_release(&sh);

    /* 2. reserve: the account's new balances, the counterparties' settle balances, the funds */
    if (rc == RISK_OK && (risk__basket_reserve_n(&a->basket, new_assets(a, actions, n, seen)) || risk__funds_reserve(e)))
        rc = risk__fail(e, &a->errmsg, RISK_ENOMEM, "out of memory applying the plan");
    if (rc == RISK_OK) {
        memset(seen, 0, e->n_assets * sizeof *seen);
        if (reserve_counterparties(a, actions, n, seen, ck.backstop_new))
            rc = risk__fail(e, &a->errmsg, RISK_ENOMEM, "out of memory applying the plan");
    }
    risk__free(e, fund_delta);
    if (rc)
        return rc;

    /* 3. apply: nothing below can fail. The account's actions go as one batch, as the planner
     * replays them; then the counterparties and the funds. */
    (void)risk__actions_execute(a, actions, n);
    for (size_t k = 0; k < n; k++) {
        const risk_liquidation_action *act = &actions[k];
        if (act->type == RISK_ACTION_ADL) {
            risk_account *c = account_by_id(e, act->counterparty);
            int j = counterparty_slot(c, act);
            (void)risk__account_fill(c, (uint32_t)j, act->side == RISK_ORDER_SELL ? act->qty : -act->qty, act->price);
            continue;
        }
        if (act->type == RISK_ACTION_BACKSTOP) { /* the backstop takes the liquidated side */
            risk_account *c = account_by_id(e, act->counterparty);
            (void)risk__account_take(c, act->instrument, risk__backstop_leg(c, act),
                                     act->side == RISK_ORDER_SELL ? act->qty : -act->qty, act->price);
            continue;
        }
        if (act->type == RISK_ACTION_SOCIALIZE) {
            risk_account *c = account_by_id(e, act->counterparty);
            risk__basket_add_unchecked(&c->basket, act->asset, -act->amount);
            continue;
        }
        double in = act->type == RISK_ACTION_REDUCE ? act->insurance_fee
                    : act->type == RISK_ACTION_SEIZE ? act->protocol_fee
                                                     : act->amount;
        if (in == 0.0)
            continue;
        risk__fund *f = risk__fund_at(e, act->asset);
        f->balance += in;
        if (in > 0.0)
            f->contributions += in;
        else
            f->draws -= in;
        if (f->balance < 0.0) /* float noise of a draw of the whole fund */
            f->balance = 0.0;
    }
    risk__clear(&a->errmsg);
    return RISK_OK;
}
