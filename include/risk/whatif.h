/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/whatif.h
 * @brief What-if fills, the largest order an account can afford, and margin for resting orders.
 * @defgroup whatif What-if and max order size
 * @{
 *
 * An order buys or sells whole lots of one instrument at a price on the tick (or at the mark).
 * Applied to an account it is exactly the fill the account would take:
 * - one-way mode (leg ::RISK_SIDE_BOTH): risk_position_adjust() by +qty (buy) or -qty (sell) on
 *   the instrument's position, which averages the entry on an increase, realises PnL on a
 *   reduction and flips the position when the order is larger than it; without a position,
 *   risk_account_open_position() with the signed qty and entry = price;
 * - hedge mode (leg ::RISK_SIDE_LONG or ::RISK_SIDE_SHORT): a buy adds to the long leg and
 *   reduces the short leg, a sell the reverse; a leg is opened as risk_account_open_position()
 *   would, and never reduced past zero;
 * - a new position takes the account's margin mode and its user leverage for the instrument;
 * - an isolated position that the fill leaves open is topped up from the wallet (the settle
 *   balance) to its initial margin when its isolated margin is below it, exactly as
 *   risk_position_set_isolated_margin(position, initial_margin) would, with the initial margin
 *   of risk_account_position_results() (rounded up to the settle asset's quantum). Nothing is
 *   moved otherwise: a reduction leaves the margin (and its realised PnL) on the position.
 *
 * The summaries are bit-identical to what risk_account_evaluate() reports after doing the same
 * calls on the account. See docs/whatif.md for the semantics, the max-order algorithm and the
 * resting-order rule with its sources.
 */
#ifndef RISK_WHATIF_H
#define RISK_WHATIF_H

#include "risk/common.h"
#include "risk/account.h"

RISK_BEGIN_DECLS

/** Version of ::risk_order this header describes. */
#define RISK_ORDER_VERSION 1

/**
 * @brief A hypothetical or resting order. Initialise with ::RISK_ORDER_INIT.
 */
typedef struct risk_order {
    uint32_t version;    /**< ::RISK_ORDER_VERSION. */
    uint32_t instrument; /**< Instrument id. */
    uint32_t side;       /**< ::RISK_ORDER_BUY or ::RISK_ORDER_SELL. */
    uint32_t leg;        /**< ::RISK_SIDE_BOTH in one-way mode; the hedge leg traded (::RISK_SIDE_LONG or ::RISK_SIDE_SHORT) in hedge mode. */
    double qty;          /**< Contracts, > 0, a whole number of lots, at least one lot; the position after the order at most 2^53 lots. */
    double price;        /**< Fill price in quote, in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX], on the tick and at least one tick; or 0 for the current mark (used as it is, even off the tick). */
} risk_order;

/** Initialiser for ::risk_order: a buy of nothing on no instrument (set instrument and qty). */
#define RISK_ORDER_INIT {RISK_ORDER_VERSION, RISK_ID_NONE, RISK_ORDER_BUY, RISK_SIDE_BOTH, 0, 0}

/**
 * @brief The account's summary after a hypothetical fill, without changing the account.
 *
 * Bit-identical to risk_account_evaluate() after doing the fill for real (see the file
 * description for the calls it stands for).
 * @param[in] account The account.
 * @param[in] order The order, filled in full at its price.
 * @param[in,out] summary_out Summary with `version` set by the caller; written only on success.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown order or summary version.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL Unknown side; qty not finite or <= 0; price not finite, < 0 or outside the price domain; a position after the order above 2^53 lots; a new position past the account's limit.
 * @retval RISK_ELOT qty not a whole number of lots.
 * @retval RISK_ETICK price off the tick.
 * @retval RISK_ESTATE Leg does not fit the position mode, or a hedge leg would be reduced past zero (or reduced while absent); the instrument is a settled option.
 * @retval RISK_ENOMEM Out of memory for the scratch copy.
 * @par Thread safety
 * Reads the account and its engine; allocates one scratch block through the engine's
 * allocator (which must then be thread-safe for concurrent calls on distinct accounts).
 */
RISK_API RISK_NODISCARD int risk_account_whatif(const risk_account *account, const risk_order *order,
                                                risk_account_summary *summary_out);

/**
 * @brief The largest whole-lot quantity of an order that keeps `available >= 0` after the fill.
 *
 * With g(n) the `available` of risk_account_whatif() for qty = n x lot_size: *qty_out =
 * n x lot_size for the largest n with g(n) >= 0, so that g(n + 1) < 0 (exact to one lot,
 * honouring tier step-ups, user leverage, realised PnL, the one-way flip and isolated top-ups;
 * one lot more means (n + 1) x lot_size, which at a notional exactly on a tier cap may round
 * differently from *qty_out + lot_size). When the
 * account is already short of initial margin (available < 0) and no quantity restores it, the
 * answer is the largest purely reducing quantity that leaves available no lower than now
 * (g(n) >= g(0), n at most the position), and 0 when every lot makes it worse. In hedge mode a
 * reducing order is capped at the leg. INFINITY when available never falls below the threshold
 * (an order priced so far through the mark that each lot's unrealised gain exceeds its initial
 * margin in every tier), or only past 2^40 lots.
 * @param[in] account The account.
 * @param[in] instrument Instrument id.
 * @param[in] side ::RISK_ORDER_BUY or ::RISK_ORDER_SELL.
 * @param[in] leg ::RISK_SIDE_BOTH (one-way) or the hedge leg traded.
 * @param[in] price Fill price in quote (in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX], on the tick, at least one tick), or 0 for the mark.
 * @param[out] qty_out Contracts, a whole number of lots, >= 0, or INFINITY; written only on success.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL Unknown side; price not finite, < 0 or outside the price domain.
 * @retval RISK_ETICK price off the tick.
 * Options: the same answer, found by a search on whole lots with risk_account_whatif() as the
 * oracle (O(log n) what-ifs; docs/whatif.md); so are accounts in the portfolio margin mode,
 * whose available margin is concave in the order's lots.
 * @retval RISK_ESTATE Leg does not fit the position mode; or the instrument is a settled option.
 * @retval RISK_ENOMEM Out of memory for the terms block (only accounts with more than 64
 *         positions and balances after the traded one), or for an option's scratch copy.
 * @par Thread safety
 * Reads the account and its engine; allocates through the engine's allocator only for the
 * large accounts above and for options (which must then be thread-safe for concurrent calls on
 * distinct accounts).
 */
RISK_API RISK_NODISCARD int risk_account_max_order_qty(const risk_account *account, uint32_t instrument,
                                                       uint32_t side, uint32_t leg, double price,
                                                       double *qty_out);

/**
 * @brief The account's summary with its resting orders, under the worse of bids or asks filling.
 *
 * Per instrument, as Drift (worst-case base: position plus open bids or minus open asks,
 * whichever is larger) and Mango (minimum of the bids-execute and asks-execute cases): the
 * instrument's buy orders all fill, or its sell orders all fill, whichever leaves the lower
 * `available` when done alone on the account (a tie counts the buys). The summary is the
 * account after every instrument's worse side filled, in the order given; each order fills at
 * its own price. No per-order charge is added.
 * @param[in] account The account.
 * @param[in] orders Array of @p n_orders orders (each as for risk_account_whatif()); may be NULL when n_orders is 0.
 * @param[in] n_orders Number of orders.
 * @param[in,out] summary_out Summary with `version` set by the caller; written only on success.
 * @param[out] fills_out NULL, or @p n_orders flags: 1 where the order fills in the worse case, 0 where not; written only on success.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL account or summary_out, or NULL orders with n_orders > 0.
 * @retval RISK_EVERSION Unknown order or summary version.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL, RISK_ELOT, RISK_ETICK, RISK_ESTATE As for risk_account_whatif() (for a hedge leg, the orders of one side together).
 * @retval RISK_ENOMEM Out of memory for the scratch copy.
 * @par Thread safety
 * As risk_account_whatif().
 */
RISK_API RISK_NODISCARD int risk_account_orders_summary(const risk_account *account, const risk_order *orders,
                                                        size_t n_orders, risk_account_summary *summary_out,
                                                        uint32_t *fills_out);

RISK_END_DECLS

/** @} */
#endif /* RISK_WHATIF_H */
