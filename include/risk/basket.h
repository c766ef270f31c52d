/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/basket.h
 * @brief Collateral baskets: signed balances by asset, valued under the engine's prices.
 * @defgroup basket Collateral basket
 * @{
 *
 * A basket holds one signed balance per asset (negative = borrowed). It lives alone (a lending
 * desk valuing a loan) or inside an account (risk_account_basket()).
 *
 * For a positive balance b of asset a at price p: value = p x sum over value tiers of
 * (quantity in the tier x ratio); weighted init/maint value = value x weight_init/maint.
 * For a negative balance: liability = |b| x p; weighted = liability x liab_weight_init/maint.
 */
#ifndef RISK_BASKET_H
#define RISK_BASKET_H

#include "risk/common.h"

RISK_BEGIN_DECLS

/** Version of ::risk_basket_summary this header describes. */
#define RISK_BASKET_SUMMARY_VERSION 1

/**
 * @brief A basket's value. All money in the valuation asset. Initialise with ::RISK_BASKET_SUMMARY_INIT.
 *
 * Quantized unless the engine has ::RISK_ENGINE_NO_QUANTIZE: values down, liabilities up.
 */
typedef struct risk_basket_summary {
    uint32_t version;          /**< ::RISK_BASKET_SUMMARY_VERSION, set by the caller. */
    uint32_t n_assets;         /**< Number of non-zero balances. */
    double collateral_value;   /**< Positive balances after value tiers, before weights. */
    double collateral_init;    /**< Positive balances after tiers and initial weights. */
    double collateral_maint;   /**< Positive balances after tiers and maintenance weights. */
    double liabilities;        /**< Negative balances at their prices, unweighted. */
    double liabilities_init;   /**< Liabilities after initial liability weights. */
    double liabilities_maint;  /**< Liabilities after maintenance liability weights. */
    double net_value;          /**< Sum of balance x price, unweighted, untiered. */
    double ltv;                /**< liabilities / collateral_value; 0 with no liabilities; INFINITY with liabilities and no collateral. */
    double health_factor;      /**< collateral_maint / liabilities_maint (Aave's health factor); INFINITY with no liabilities. */
} risk_basket_summary;

/** Initialiser for ::risk_basket_summary. */
#define RISK_BASKET_SUMMARY_INIT {RISK_BASKET_SUMMARY_VERSION, 0u, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/**
 * @brief Creates a standalone basket.
 * @param[out] out The basket; NULL on failure.
 * @param[in] engine Engine whose assets and prices value it (kept alive by the basket).
 * @retval RISK_OK Created.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Mutates the engine (reference count).
 */
RISK_API RISK_NODISCARD int risk_basket_new(risk_basket **out, risk_engine *engine);

/**
 * @brief Frees a standalone basket. NULL, and baskets owned by an account, are ignored.
 * @param[in] basket The basket or NULL.
 * @par Thread safety
 * As for its engine.
 */
RISK_API void risk_basket_free(risk_basket *basket);

/**
 * @brief Sets an asset's balance (negative = borrowed; 0 removes it).
 * @param[in] basket The basket.
 * @param[in] asset Asset id.
 * @param[in] amount Balance in asset units, |amount| at most 2^53 quanta of 10^-min(decimals, 8) (::RISK_AMOUNT_QUANTA_MAX; 9,007,199,254.740992 USDT at 6 decimals).
 * @retval RISK_OK Set.
 * @retval RISK_ENULL NULL basket.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EINVAL Not finite, or above 2^53 quanta in magnitude.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Mutates the basket.
 */
RISK_API RISK_NODISCARD int risk_basket_set_balance(risk_basket *basket, uint32_t asset, double amount);

/**
 * @brief Adds a signed amount to an asset's balance.
 * @param[in] basket The basket.
 * @param[in] asset Asset id.
 * @param[in] delta Amount in asset units; the delta and the balance after it each at most 2^53 quanta in magnitude, as for risk_basket_set_balance().
 * @retval RISK_OK Added.
 * @retval RISK_ENULL NULL basket.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EINVAL Not finite, or the delta or the balance after it above 2^53 quanta in magnitude.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Mutates the basket.
 */
RISK_API RISK_NODISCARD int risk_basket_add_balance(risk_basket *basket, uint32_t asset, double delta);

/**
 * @brief An asset's balance (0 when none is held).
 * @param[in] basket The basket.
 * @param[in] asset Asset id.
 * @param[out] out The balance.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @par Thread safety
 * Reads the basket.
 */
RISK_API RISK_NODISCARD int risk_basket_balance(const risk_basket *basket, uint32_t asset, double *out);

/**
 * @brief Values the basket under the engine's current prices.
 * @param[in] basket The basket.
 * @param[in,out] out Summary with `version` set by the caller.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown summary version.
 * @par Thread safety
 * Reads the basket and its engine.
 */
RISK_API RISK_NODISCARD int risk_basket_evaluate(const risk_basket *basket, risk_basket_summary *out);

/**
 * @brief The basket's last error message.
 * @param[in] basket The basket, or NULL.
 * @return Text owned by the basket, valid until its next call; "" when none; never NULL.
 * @par Thread safety
 * As for the basket.
 */
RISK_API const char *risk_basket_errmsg(const risk_basket *basket);

RISK_END_DECLS

/** @} */
#endif /* RISK_BASKET_H */
