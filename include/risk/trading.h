/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/trading.h
 * @brief An instrument's trading terms: maker and taker fees, fee-inclusive liquidation
 *        prices, and the largest position the instrument allows.
 * @defgroup trading Trading terms (fees and position-size limit)
 * @{
 *
 * Every instrument starts with no fees and no size limit, so every number computed without
 * these calls stays exactly as it was. The terms act where an order or a close is priced:
 * - what-if fills (risk_account_whatif(), risk_account_max_order_qty()) charge the taker fee to
 *   the settle balance; resting orders (risk_account_orders_summary()) the maker fee;
 * - with `liquidation_price_with_fee`, liquidation and bankruptcy prices include the taker fee
 *   of closing the position at that price (Bybit, Gate, OKX);
 * - with a `max_notional`, a fill that would leave a position above it is refused with
 *   ::RISK_ELIMIT and max order size stops under it.
 * Ledger calls (risk_account_open_position(), risk_position_adjust()) post no fee: the caller
 * books the fees it charged on the basket. See docs/orders.md.
 */
#ifndef RISK_TRADING_H
#define RISK_TRADING_H

#include "risk/common.h"
#include "risk/engine.h"

RISK_BEGIN_DECLS

/** Version of ::risk_instrument_fees this header describes. */
#define RISK_INSTRUMENT_FEES_VERSION 1

/** Largest fee rate accepted, as a fraction of the notional (10 %). */
#define RISK_FEE_RATE_MAX 0.1

/**
 * @brief An instrument's trading terms. Initialise with ::RISK_INSTRUMENT_FEES_INIT.
 *
 * Fee rates are fractions of the filled notional (0.0005 = 5 bps), in [0, ::RISK_FEE_RATE_MAX]:
 * no venue charges more than a fraction of a percent, so a rate above 10 % is a unit mistake
 * (basis points or percent given as a fraction). Negative maker rates (rebates) are refused:
 * librisk charges the maker fee only on resting orders, where a rebate would make an order
 * look cheaper than no order. The fee of a fill is in the settle asset: rate x |qty| x cs x
 * price (linear) or rate x |qty| x cs / price (inverse).
 */
typedef struct risk_instrument_fees {
    uint32_t version;                    /**< ::RISK_INSTRUMENT_FEES_VERSION. */
    uint32_t liquidation_price_with_fee; /**< 1: liquidation and bankruptcy prices include the taker fee of closing at that price (Bybit, Gate, OKX); 0 (default): they do not (Binance). */
    double maker_fee;                    /**< Maker fee rate, in [0, 0.1]; default 0. */
    double taker_fee;                    /**< Taker fee rate, in [0, 0.1]; default 0. */
    double max_notional;                 /**< Largest position margin notional (the notional the tiers are chosen by, in the settle asset), in (0, ::RISK_NOTIONAL_MAX]; 0 (default) or INFINITY for no limit (read back as 0). */
} risk_instrument_fees;

/** Default terms: no fees, prices without fees, no size limit. */
#define RISK_INSTRUMENT_FEES_INIT {RISK_INSTRUMENT_FEES_VERSION, 0u, 0.0, 0.0, 0.0}

/**
 * @brief Sets an instrument's fees, fee-inclusive liquidation prices and size limit.
 *
 * Takes effect for every later call: what-if and max order size charge the new fees, and
 * position results solve prices with or without the closing fee. Positions already above a new
 * `max_notional` stay; only fills that would grow them are refused.
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[in] fees The terms (copied), or NULL for the defaults (::RISK_INSTRUMENT_FEES_INIT).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_EVERSION Unknown version.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL A fee rate NaN, negative or above ::RISK_FEE_RATE_MAX;
 *         liquidation_price_with_fee not 0 or 1; max_notional NaN or < 0. Nothing changed.
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_instrument_fees(risk_engine *engine, uint32_t instrument,
                                                            const risk_instrument_fees *fees);

/**
 * @brief An instrument's trading terms.
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[in,out] out Terms with `version` set by the caller (::RISK_INSTRUMENT_FEES_INIT); written only on success.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or out.
 * @retval RISK_EVERSION Unknown version in out.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_instrument_fees(const risk_engine *engine, uint32_t instrument,
                                                        risk_instrument_fees *out);

/** Liquidity of a fill: the taker fee (orders that take liquidity; what-if and max order size). */
#define RISK_FEE_TAKER 0u
/** Liquidity of a fill: the maker fee (resting orders). */
#define RISK_FEE_MAKER 1u

/**
 * @brief The fee the engine charges for a fill, as what-if fills charge it.
 *
 * rate x |qty| x contract_size x price (linear, and every option: its premium is per unit in
 * the settle asset) or rate x |qty| x contract_size / price (inverse futures), in the settle asset, rounded up to the settle asset's quantum (unless the engine
 * has ::RISK_ENGINE_NO_QUANTIZE). A caller that books fills with risk_position_adjust() posts
 * this amount with risk_basket_add_balance(basket, settle, -fee) before the fill to reproduce a
 * what-if exactly.
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[in] liquidity ::RISK_FEE_TAKER or ::RISK_FEE_MAKER.
 * @param[in] qty_contracts Filled contracts, at most 2^53 lots in magnitude (the sign is ignored).
 * @param[in] price_quote Fill price in quote, in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX]; an option's premium may also be 0.
 * @param[out] fee_out The fee in the settle asset, >= 0; written only on success.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or fee_out.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL Unknown liquidity; qty not finite; price not finite, < 0, or 0 for a future.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_fill_fee(const risk_engine *engine, uint32_t instrument, uint32_t liquidity,
                                                 double qty_contracts, double price_quote, double *fee_out);

RISK_END_DECLS

/** @} */
#endif /* RISK_TRADING_H */
