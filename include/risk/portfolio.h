/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/portfolio.h
 * @brief Scenarios and scenario revaluation: an account revalued under a batch of market moves.
 * @defgroup portfolio Scenarios
 * @{
 *
 * A scenario moves asset prices by relative amounts and, for option instruments, implied
 * volatilities; it carries a weight (the dampener of an extended risk-matrix scenario).
 * risk_account_scenario_pnl() revalues an account under every scenario of a batch without
 * changing it: the P&L of scenario s is bit for bit the change of the account's equity that
 * risk_account_evaluate() would report after the moves had been applied with
 * risk_engine_set_asset_price() and risk_engine_set_mark() (docs/stress.md, "Scenario
 * revaluation"). This is the primitive of stress tests (risk/stress.h), VaR and portfolio margin.
 *
 * A move m of asset a multiplies by f = 1 + m (the double nearest the sum, then one rounded
 * product): the asset's price (p' = p x f: collateral, debts and settle-asset conversions
 * follow it) and the mark of every instrument whose underlying is a (M' = M x f).
 *
 * @par Thread safety
 * Reads the engine and the account; any number of threads may revalue distinct or the same
 * accounts while no thread mutates the engine.
 */
#ifndef RISK_PORTFOLIO_H
#define RISK_PORTFOLIO_H

#include "risk/common.h"

RISK_BEGIN_DECLS

struct risk_account_summary;

/** Volatility moves are absolute: sigma' = max(sigma + m x t, 0) (m in annualised vol, 0.05 = 5 vol points). */
#define RISK_VOL_MOVE_ABSOLUTE 0u
/** Volatility moves are relative: sigma' = max(sigma x (1 + m x t), 0). */
#define RISK_VOL_MOVE_RELATIVE 1u

/** Largest number of scenarios in one batch (2^24). */
#define RISK_SCENARIOS_MAX 16777216u
/** Largest |volatility move| accepted (absolute in annualised vol, or relative). */
#define RISK_VOL_MOVE_MAX 100.0

/** Version of ::risk_scenarios this header describes. */
#define RISK_SCENARIOS_VERSION 1

/**
 * @brief A batch of scenarios. Initialise with ::RISK_SCENARIOS_INIT, then set the fields.
 *
 * Moves are given per asset id, as a row-major matrix of @ref n_scenarios rows and
 * @ref n_assets columns (column a is asset id a; assets with ids at or above n_assets do not
 * move). The valuation asset's column must be 0 (its price is 1 by definition).
 *
 * Volatility moves apply to the implied volatility of option instruments on the asset (none
 * until options are instruments: they are validated and then change no value), scaled by the
 * term structure t = (vol_term_days / DTE)^p of Deribit's risk matrix (research
 * cex-anchors 3.4), with p = @ref vol_term_power_short when DTE < vol_term_days and
 * @ref vol_term_power_long otherwise; see risk_scenario_vol().
 */
typedef struct risk_scenarios {
    uint32_t version;           /**< ::RISK_SCENARIOS_VERSION. */
    uint32_t vol_mode;          /**< ::RISK_VOL_MOVE_ABSOLUTE or ::RISK_VOL_MOVE_RELATIVE. */
    size_t n_scenarios;         /**< Rows, 1..::RISK_SCENARIOS_MAX. */
    size_t n_assets;            /**< Columns, 0..the engine's asset count. */
    const double *price_moves;  /**< n_scenarios x n_assets relative moves, each finite and > -1, such that the moved prices and marks stay in their domain (as for risk_engine_set_asset_price() and risk_engine_set_mark()); may be NULL when n_assets is 0. */
    const double *vol_moves;    /**< NULL (no volatility move), or n_scenarios x n_assets moves, each finite with |m| <= ::RISK_VOL_MOVE_MAX. */
    const double *weights;      /**< NULL (every weight 1), or n_scenarios weights in [0, 1]: P&L is reported times its weight. */
    double vol_term_days;       /**< Reference days to expiry of the term structure, in (0, 36500]; default 30. */
    double vol_term_power_short;/**< p below the reference, in [0, 4]; default 0 (flat). Deribit: 0.30. */
    double vol_term_power_long; /**< p at or above the reference, in [0, 4]; default 0 (flat). Deribit: 0.13. */
} risk_scenarios;

/** Default scenario batch: relative volatility moves, flat term structure; counts and arrays unset. */
#define RISK_SCENARIOS_INIT {RISK_SCENARIOS_VERSION, RISK_VOL_MOVE_RELATIVE, 0, 0, NULL, NULL, NULL, 30.0, 0.0, 0.0}

/**
 * @brief Revalues an account under a batch of scenarios, without changing it.
 *
 * For scenario s, with E_0 the equity risk_account_evaluate() reports now and E_s the equity it
 * would report after the moves: pnl_out[s] = w_s x (E_s - E_0), where w_s is the scenario's
 * weight (exactly E_s - E_0 for weight 1, so a scenario of zero moves gives exactly 0).
 * Everything is revalued: every position at its moved mark (futures re-tiered at the moved
 * notional, isolated positions checked against their moved MM), every balance at its moved
 * price with its collateral weight, value tiers and liability weight. With @p summaries_out,
 * the full summary after each scenario (equity, health, state, IM, MM, ...; not weighted).
 * Each position and balance is read once for the whole batch.
 * @param[in] account The account.
 * @param[in] scenarios The batch.
 * @param[out] pnl_out n_scenarios P&L values in the valuation asset.
 * @param[out] summaries_out NULL, or n_scenarios summaries (the `version` of element 0 is read for all).
 * @retval RISK_OK Revalued.
 * @retval RISK_ENULL NULL account, scenarios or pnl_out, or a NULL array the counts require.
 * @retval RISK_EVERSION Unknown scenarios or summary version.
 * @retval RISK_EINVAL A count, move, weight, term-structure parameter or mode outside its
 *         domain; a moved price or mark outside its domain; a move of the valuation asset
 *         (the message names the scenario and the asset or instrument).
 * @retval RISK_ENOMEM Out of memory (scratch of about 150 bytes per scenario).
 * @par Thread safety
 * Reads the engine and the account.
 */
RISK_API RISK_NODISCARD int risk_account_scenario_pnl(const risk_account *account, const risk_scenarios *scenarios,
                                                      double *pnl_out, struct risk_account_summary *summaries_out);

/**
 * @brief An implied volatility after one scenario's volatility move for an asset.
 *
 * t = (vol_term_days / days_to_expiry)^p (p as in ::risk_scenarios); absolute:
 * max(vol + m x t, 0); relative: max(vol x (1 + m x t), 0). Deribit's risk-matrix vol-up leg
 * is the relative form with m = volRangeUp (0.5 for BTC), p = 0.30 below 30 days and 0.13 from
 * 30 days (research cex-anchors 3.4); its floor minVolForShockUp is the caller's.
 * @param[out] out The moved volatility (annualised).
 * @param[in] scenarios The batch (validated as by risk_account_scenario_pnl(), moved prices excepted).
 * @param[in] scenario Row, < n_scenarios.
 * @param[in] asset Column (asset id); an asset at or beyond n_assets, or a NULL vol_moves, does not move.
 * @param[in] vol_annual Volatility before the move, in [0, ::RISK_VOL_ANNUAL_MAX].
 * @param[in] days_to_expiry Days to expiry, in (0, 36500].
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL out or scenarios.
 * @retval RISK_EVERSION Unknown scenarios version.
 * @retval RISK_EINVAL An argument outside its domain.
 * @par Thread safety
 * Always safe.
 */
RISK_API RISK_NODISCARD int risk_scenario_vol(double *out, const risk_scenarios *scenarios, size_t scenario,
                                              uint32_t asset, double vol_annual, double days_to_expiry);

RISK_END_DECLS

/** @} */
#endif /* RISK_PORTFOLIO_H */
