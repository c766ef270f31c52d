/* SPDX-License-Identifier: Apache-2.0 */
/* Liquidation internals shared by policy.c, plan.c, apply.c and adl.c. */
#ifndef RISK_LIQUIDATION_INTERNAL_H
#define RISK_LIQUIDATION_INTERNAL_H

#include "core/internal.h"

typedef struct risk__fund {
    double balance, deposits, contributions, draws;
} risk__fund;

struct risk__liquidation {
    risk_liquidation_policy policy;
    risk_liquidation_policy *overrides; /* per instrument, valid where has_override */
    unsigned char *has_override;
    uint32_t n_overrides;               /* instruments covered by the two arrays */
    risk__fund *funds;                  /* per asset */
    uint32_t n_funds;
};

/* The engine's policy (the defaults before any is set). */
const risk_liquidation_policy *risk__engine_policy(const risk_engine *e);
/* The policy of an instrument's positions: its override, else the engine's. */
const risk_liquidation_policy *risk__instrument_policy(const risk_engine *e, uint32_t instrument);
/* The fund of an asset, or NULL when it has never been touched (balance 0). */
const risk__fund *risk__fund_of(const risk_engine *e, uint32_t asset);
/* Room for funds of every asset registered: called before any mutation that may add to a fund. */
int risk__funds_reserve(risk_engine *e); /* RISK_ENOMEM */
risk__fund *risk__fund_at(risk_engine *e, uint32_t asset); /* after risk__funds_reserve */

/* The position's direction: +1 long, -1 short. */
static inline double risk__dir(double qty)
{
    return qty > 0.0 ? 1.0 : -1.0;
}

/* Applies the account's side of one action to a (real or shadow) account, which must have
 * room for every balance the action touches. Returns RISK_OK, or RISK_ENOTFOUND when the
 * position is gone. */
int risk__action_execute(risk_account *a, const risk_liquidation_action *act);
/* All of a plan's actions, in order, as one batch: closed positions are removed at the end, in
 * one pass (risk__account_compact). The planner's replay and risk_account_apply_plan both use
 * it, so they leave the same state bit for bit. */
int risk__actions_execute(risk_account *a, const risk_liquidation_action *acts, size_t n);
/* The position an action reduces: slot or -1. */
int risk__action_slot(const risk_account *a, const risk_liquidation_action *act);

/* The engine's backstop account when its policy names one that exists and is not `a`; else NULL. */
risk_account *risk__backstop_of(const risk_engine *e, const risk_account *a);
/* The leg of the backstop's position that takes over the position an action closes. */
uint32_t risk__backstop_leg(const risk_account *backstop, const risk_liquidation_action *act);

/* The ADL queue of one side of an instrument, best first, without `exclude`'s positions;
 * *out is allocated through the engine (free with risk__free). */
int risk__adl_queue(const risk_engine *e, uint32_t instrument, uint32_t side, const risk_account *exclude,
                    risk_adl_entry **out, size_t *n_out); /* RISK_ENOMEM */

/* The ranking's total order (scores are never NaN): score descending, account id, leg. */
int risk__adl_entry_order(const void *x, const void *y);
/* An account's equity in V as the ADL score reads it (cross positions' backing). */
double risk__adl_equity(const risk_account *a);
/* Scores position i of an account on `side`; equity_v from risk__adl_equity. */
void risk__adl_score(const risk_account *a, uint32_t i, uint32_t side, double equity_v, risk_adl_entry *out);

/* ---- risk_engine_liquidate_all (batch.c): the engine's ADL queues kept up to date through a
 * batch of plans, so that a close-out reads its queue without scanning the engine. */
typedef struct risk__liq_index risk__liq_index;
typedef struct risk__liq_cursor {
    const risk__liq_index *x;
    size_t list, block, pos;
} risk__liq_cursor;
/* The first entry of the queue of one side of an instrument (best first), NULL when empty. */
const risk_adl_entry *risk__liq_first(const risk__liq_index *x, uint32_t instrument, uint32_t side,
                                      risk__liq_cursor *c);
/* The next entry, NULL at the end. */
const risk_adl_entry *risk__liq_next(risk__liq_cursor *c);
/* Engine slots of the accounts holding a position on `side` of the instrument, ascending and
 * distinct; *out allocated through the engine (NULL when none). */
int risk__liq_holders(const risk__liq_index *x, uint32_t instrument, uint32_t side, size_t **out,
                      size_t *n_out); /* RISK_ENOMEM */
/* The plan of account a, with ADL queues and holders read from x (NULL: scanned from the
 * engine); the actions go to *buf (grown through the engine, *cap its length). */
int risk__liquidation_plan_into(const risk_account *a, const risk__liq_index *x, risk_liquidation_plan *plan,
                                risk_liquidation_action **buf, size_t *cap); /* RISK_ENOMEM */

#endif
