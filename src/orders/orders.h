/* SPDX-License-Identifier: Apache-2.0 */
/* Order checks shared by what-if and resting orders (orders/whatif.c) and max order size
 * (orders/max_order.c). Internal: never installed. */
#ifndef RISK_ORDERS_INTERNAL_H
#define RISK_ORDERS_INTERNAL_H

#include "margin/schedule.h"

/* A validated order, resolved against the account. */
typedef struct risk__order_ctx {
    const risk__instrument *in;
    uint32_t instrument, leg;
    double dir;   /* +1 buy, -1 sell */
    double price; /* the fill price (the mark when the order said 0) */
    int slot;     /* the account's position on (instrument, leg), -1 when none */
    double fee_rate; /* charged on the fill's notional: the taker fee (resting orders: the maker fee) */
} risk__order_ctx;

/* 1 / the account's user leverage for the instrument, 0 when it has none (the tier's applies). */
double risk__user_im_rate(const risk_account *a, uint32_t instrument);
/* Checks everything of an order but its quantity; fills *o. A failure is recorded on the account. */
int risk__order_resolve(risk_account *a, uint32_t instrument, uint32_t side, uint32_t leg, double price,
                        risk__order_ctx *o);
/* Fills `qty` (> 0, validated, hedge legs checked) of the order on a shadow whose position on
 * the order's (instrument, leg) is at `slot` (-1: none); see orders/whatif.c. Returns the
 * position's slot, -1 when the fill closed it. */
int risk__order_fill(risk__shadow *s, int slot, const risk__order_ctx *o, double qty, risk__position_values *pv);
/* Records "an account holds at most ... positions" (RISK_EINVAL) on the account. */
int risk__order_new_position_fail(risk_account *a);

#endif /* RISK_ORDERS_INTERNAL_H */
