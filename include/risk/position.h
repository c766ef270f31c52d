/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/position.h
 * @brief Positions: owned by their account, valid until closed or the account is freed.
 * @defgroup position Position
 * @{
 *
 * Errors of position calls are recorded on the owning account (risk_account_errmsg()).
 */
#ifndef RISK_POSITION_H
#define RISK_POSITION_H

#include "risk/common.h"

RISK_BEGIN_DECLS

/**
 * @brief Applies a fill to a position: @p qty_delta contracts at @p price.
 *
 * Increasing the position moves the entry to the size-weighted average (harmonic for
 * inverse). Reducing it realises PnL into the position's pool: the account basket's settle
 * asset (cross) or its isolated margin (isolated, which may go negative). Realised PnL is a
 * ledger posting: it is rounded down to the settle asset's decimals (values within float noise
 * of a quantum snap to it), whatever the engine's quantization flag. A one-way position may flip through zero:
 * the remainder opens at @p price. A hedge leg may not cross zero. Reaching exactly zero closes
 * the position: the handle is freed and any isolated margin returns to the basket.
 * @param[in] position The position.
 * @param[in] qty_delta_contracts Signed contracts (buy > 0), whole lots, 1 to 2^53 lots in magnitude; the position after the fill at most 2^53 lots.
 * @param[in] price_quote Fill price, in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX], on the instrument's tick and at least one tick.
 * @retval RISK_OK Applied.
 * @retval RISK_ENULL NULL position.
 * @retval RISK_EINVAL Zero, NaN or infinite input; price outside the price domain or an entry below one tick; a position, settle balance or isolated margin after the fill outside the domain (2^53 lots, 2^53 quanta).
 * @retval RISK_ELOT qty not whole lots.
 * @retval RISK_ETICK price off the tick.
 * @retval RISK_ESTATE A hedge leg would cross zero.
 * @retval RISK_ENOMEM Out of memory (the basket needed a new balance).
 * @par Thread safety
 * Mutates the account.
 */
RISK_API RISK_NODISCARD int risk_position_adjust(risk_position *position, double qty_delta_contracts, double price_quote);

/**
 * @brief Closes a position at @p price: realises its PnL and frees the handle.
 * @param[in] position The position.
 * @param[in] price_quote Fill price, in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX], on the tick and at least one tick.
 * @retval RISK_OK Closed (the handle is gone).
 * @retval RISK_ENULL NULL position.
 * @retval RISK_EINVAL Price outside the price domain; the settle balance after the realised PnL above 2^53 quanta.
 * @retval RISK_ETICK price off the tick.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Mutates the account.
 */
RISK_API RISK_NODISCARD int risk_position_close(risk_position *position, double price_quote);

/**
 * @brief Sets an isolated position's margin (in the settle asset), moving the difference from or to the basket.
 * @param[in] position The position.
 * @param[in] margin New isolated margin in the settle asset, >= 0 and at most 2^53 quanta of it; the settle balance after paying the difference must stay within 2^53 quanta too.
 * @retval RISK_OK Set.
 * @retval RISK_ENULL NULL position.
 * @retval RISK_EINVAL Negative, not finite or above 2^53 quanta; or the settle balance after the move above 2^53 quanta in magnitude.
 * @retval RISK_ESTATE The position is cross.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Mutates the account.
 */
RISK_API RISK_NODISCARD int risk_position_set_isolated_margin(risk_position *position, double margin);

/**
 * @brief The position's instrument id.
 * @param[in] position The position; NULL gives ::RISK_ID_NONE.
 * @return Instrument id.
 * @par Thread safety
 * Reads the account.
 */
RISK_API uint32_t risk_position_instrument(const risk_position *position);

/**
 * @brief The position's side: ::RISK_SIDE_LONG or ::RISK_SIDE_SHORT (the direction of its quantity).
 * @param[in] position The position; NULL gives ::RISK_ID_NONE.
 * @return The side.
 * @par Thread safety
 * Reads the account.
 */
RISK_API uint32_t risk_position_side(const risk_position *position);

/**
 * @brief The position's leg: ::RISK_SIDE_BOTH in one-way mode, the hedge leg otherwise.
 * @param[in] position The position; NULL gives ::RISK_ID_NONE.
 * @return The leg.
 * @par Thread safety
 * Reads the account.
 */
RISK_API uint32_t risk_position_leg(const risk_position *position);

/**
 * @brief Signed quantity in contracts.
 * @param[in] position The position; NULL gives NaN.
 * @return Contracts (long > 0).
 * @par Thread safety
 * Reads the account.
 */
RISK_API double risk_position_qty(const risk_position *position);

/**
 * @brief Average entry price in quote.
 * @param[in] position The position; NULL gives NaN.
 * @return The entry.
 * @par Thread safety
 * Reads the account.
 */
RISK_API double risk_position_entry(const risk_position *position);

/**
 * @brief Isolated margin in the settle asset (0 under cross).
 * @param[in] position The position; NULL gives NaN.
 * @return The margin.
 * @par Thread safety
 * Reads the account.
 */
RISK_API double risk_position_isolated_margin(const risk_position *position);

/**
 * @brief The position's margin mode.
 * @param[in] position The position; NULL gives ::RISK_ID_NONE.
 * @return ::RISK_MARGIN_CROSS or ::RISK_MARGIN_ISOLATED.
 * @par Thread safety
 * Reads the account.
 */
RISK_API uint32_t risk_position_margin_mode(const risk_position *position);

/**
 * @brief The account that owns the position.
 * @param[in] position The position; NULL gives NULL.
 * @return The account.
 * @par Thread safety
 * Reads the account.
 */
RISK_API risk_account *risk_position_account(const risk_position *position);

RISK_END_DECLS

/** @} */
#endif /* RISK_POSITION_H */
