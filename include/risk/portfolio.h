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

/* ------------------------------------------------------------------ portfolio margin */

/** Portfolio-margin model: the Deribit / Paradex risk matrix (research cex-anchors 3.4). */
#define RISK_PM_RISK_MATRIX 0u
/** Portfolio-margin model: OKX, MMR = max[max(MR1, MR2, MR6) + MR3 + MR4 + MR5, MR7] (cex-anchors 4.1). */
#define RISK_PM_OKX 1u
/** Portfolio-margin model: CME SPAN-style 16 scenarios (cex-anchors 5.1). */
#define RISK_PM_SPAN 2u

/** Largest number of extended (extreme) moves of a portfolio-margin model. */
#define RISK_PM_EXTENDED_MAX 16
/** Largest number of price steps on each side of a portfolio-margin grid. */
#define RISK_PM_STEPS_MAX 64

/** Version of ::risk_portfolio_margin_params this header describes. */
#define RISK_PORTFOLIO_MARGIN_PARAMS_VERSION 1

/**
 * @brief A portfolio-margin model and its parameters. Initialise with ::RISK_PORTFOLIO_MARGIN_PARAMS_INIT.
 *
 * All three models are parameter sets on one engine (docs/portfolio-margin.md): for each risk
 * unit (one per underlying asset: the perpetuals, dated futures and options on it, linear or
 * inverse, and the account's balance of the asset itself) a grid of scenarios that move that
 * underlying only is revalued with risk_account_scenario_pnl()'s revaluation:
 * - the core grid: price moves k x price_range / price_steps for k = 0, +1, -1, ..., +N, -N,
 *   each with the volatility moved up (+vol_up), unchanged (when vol_same is 1) and down
 *   (-vol_down), in vol_mode, with the term structure (vol_term_days / DTE)^p;
 * - the extended moves, each with the vol-up move when extended_vol_up is 1, weighted by
 *   extended_weight, or by min(1, price_range / |move|) (the Paradex dampener) when
 *   extended_weight is 0.
 * The unit's loss L is the largest weighted loss (0 when every scenario gains). Per model:
 * - risk matrix: MM_u = max(L, D_min) + delta shock + roll shock + option contingencies, with
 *   D_min = (min_delta_net |net delta| + min_delta_hedged x hedged delta) x U;
 * - OKX: MR1 = L over the core grid, MR6 = L over the extended moves, MR4 = basis_rate x
 *   hedged delta x U, MR7 = min_charge_rate x gross delta x U (MR2, MR3, MR5 are 0: not
 *   modelled); MM_u = max[max(MR1, MR2, MR6) + MR3 + MR4 + MR5, MR7];
 * - SPAN: MM_u = max(short-option minimum, scanning risk L) (SPAN's 16 scenarios: price_steps 3,
 *   vol_same 0, extended moves +-2 x price scan range at weight 0.35).
 * MM = the sum over units, in the valuation asset; IM = MM x im_multiplier.
 *
 * The defaults (::RISK_PORTFOLIO_MARGIN_PARAMS_INIT) are Deribit's BTC risk matrix: R = 16 % in 4
 * steps, vol up 50 % / down 25 % relative with p = 0.30 below 30 days and 0.13 from 30 days,
 * extended moves -66 %, -33 %, +50 %, +100 %, +200 %, +300 %, +400 %, +500 % at vol up weighted
 * R / |move| (35 scenarios a unit), delta shock and roll shock 1 %, IM = 1.3 x MM (Deribit's
 * multiplier is not published: a design choice, docs/portfolio-margin.md).
 */
typedef struct risk_portfolio_margin_params {
    uint32_t version;           /**< ::RISK_PORTFOLIO_MARGIN_PARAMS_VERSION. */
    uint32_t model;             /**< ::RISK_PM_RISK_MATRIX, ::RISK_PM_OKX or ::RISK_PM_SPAN. */
    double price_range;         /**< R, the largest relative move of the core grid, in (0, 0.95]. Deribit BTC 0.16; OKX MR1 0.12; SPAN: the price scan range over the price. */
    uint32_t price_steps;       /**< N, steps on each side of the core grid, 1..::RISK_PM_STEPS_MAX. */
    uint32_t vol_same;          /**< 1: the core grid has a vol-unchanged leg (Deribit), 0: up and down only (Paradex, SPAN). */
    uint32_t vol_mode;          /**< ::RISK_VOL_MOVE_RELATIVE or ::RISK_VOL_MOVE_ABSOLUTE (SPAN's volatility scan range). */
    uint32_t extended_vol_up;   /**< 1: extended moves with the vol-up move (Deribit), 0: vol unchanged (SPAN). */
    double vol_up;              /**< Vol-up move, in [0, ::RISK_VOL_MOVE_MAX]. */
    double vol_down;            /**< Vol-down move (the vol falls by it), in [0, ::RISK_VOL_MOVE_MAX]. */
    double vol_term_days;       /**< Reference days of the term structure, in (0, 36500]. */
    double vol_term_power_short;/**< p below the reference, in [0, 4]. */
    double vol_term_power_long; /**< p at or above the reference, in [0, 4]. */
    double extended_moves[RISK_PM_EXTENDED_MAX]; /**< Extended relative moves, each finite, in (-1, 10], non-zero. */
    uint32_t n_extended;        /**< Extended moves used, 0..::RISK_PM_EXTENDED_MAX. */
    uint32_t reserved;          /**< 0. */
    double extended_weight;     /**< Weight of the extended moves in [0, 1]; 0: min(1, R / |move|). SPAN: 0.35. */
    double delta_shock;         /**< Risk matrix: add-on rate on |net delta| x U, in [0, 1]. W17: 0.006. */
    double roll_shock;          /**< Risk matrix: add-on rate on the calendar-hedged futures delta x U, in [0, 1]. W16: 0.01. */
    double min_delta_net;       /**< Risk matrix: minimum-delta rate on |net delta|, in [0, 1]. Paradex 0.02. */
    double min_delta_hedged;    /**< Risk matrix: minimum-delta rate on the hedged delta, in [0, 1]. Paradex 0.01. */
    double short_option_rate;   /**< Risk matrix: contingency per net short option contract per strike, x U, in [0, 1] (old Deribit 0.01); SPAN: the short-option minimum per short contract, x U. */
    double option_gross_rate;   /**< Risk matrix: contingency on every option contract, x U, in [0, 1] (earlier Deribit 0.01). */
    double basis_rate;          /**< OKX MR4: rate on the hedged delta x U, in [0, 1]. */
    double min_charge_rate;     /**< OKX MR7: rate on the gross delta x U, in [0, 1]. */
    double im_multiplier;       /**< IM = MM x im_multiplier, in [1, 100]. Paradex 2. */
} risk_portfolio_margin_params;

/** Deribit BTC risk-matrix defaults (see ::risk_portfolio_margin_params). */
#define RISK_PORTFOLIO_MARGIN_PARAMS_INIT {RISK_PORTFOLIO_MARGIN_PARAMS_VERSION, RISK_PM_RISK_MATRIX, 0.16, 4u, 1u, \
    RISK_VOL_MOVE_RELATIVE, 1u, 0.5, 0.25, 30.0, 0.30, 0.13, \
    {-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 0, 0, 0, 0, 0, 0, 0, 0}, 8u, 0u, 0.0, 0.01, 0.01, 0.0, 0.0, 0.0, \
    0.0, 0.0, 0.0, 1.3}

/** Version of ::risk_portfolio_margin_unit this header describes. */
#define RISK_PORTFOLIO_MARGIN_UNIT_VERSION 1

/** @brief One risk unit's portfolio margin. Money in the valuation asset, deltas in underlying units. */
typedef struct risk_portfolio_margin_unit {
    uint32_t version;           /**< ::RISK_PORTFOLIO_MARGIN_UNIT_VERSION, set by the caller (element 0 is read). */
    uint32_t underlying;        /**< Asset id of the underlying. */
    uint32_t n_positions;       /**< Positions in the unit. */
    uint32_t worst_scenario;    /**< Index in the unit's grid (risk_portfolio_margin_grid()) of the largest weighted loss. */
    double worst_loss;          /**< L: the largest weighted loss, >= 0. */
    double worst_price_move;    /**< Its relative price move. */
    double worst_vol_move;      /**< Its vol move (0: unchanged). */
    double worst_weight;        /**< Its weight. */
    double underlying_price;    /**< U, the underlying's price in the valuation asset. */
    double net_delta;           /**< Net delta: positions and the balance of the underlying. */
    double hedged_delta;        /**< min(sum of positive deltas, sum of |negative deltas|). */
    double gross_delta;         /**< Sum of |deltas|. */
    double addons;              /**< Risk matrix: delta shock + roll shock + option contingencies; SPAN: 0. */
    double minimum;             /**< Risk matrix: D_min; SPAN: the short-option minimum; OKX: MR7. */
    double mr[7];               /**< OKX: MR1..MR7 (mr[0] is MR1); other models: 0. */
    double maintenance_margin;  /**< MM_u. */
} risk_portfolio_margin_unit;

/** Version of ::risk_portfolio_margin_result this header describes. */
#define RISK_PORTFOLIO_MARGIN_RESULT_VERSION 1

/** @brief An account's portfolio margin. Money in the valuation asset. */
typedef struct risk_portfolio_margin_result {
    uint32_t version;           /**< ::RISK_PORTFOLIO_MARGIN_RESULT_VERSION, set by the caller. */
    uint32_t model;             /**< The model used. */
    double initial_margin;      /**< IM = MM x im_multiplier, rounded up to the valuation asset's quantum. */
    double maintenance_margin;  /**< MM = the sum of the units' MM, rounded up likewise. */
    uint32_t n_units;           /**< Risk units (underlyings with a position). */
    uint32_t worst_unit;        /**< Underlying asset id of the unit with the largest loss; ::RISK_ID_NONE without units. */
    uint32_t worst_scenario;    /**< That unit's worst scenario (index in its grid). */
    uint32_t reserved;          /**< 0. */
    double worst_loss;          /**< That loss (>= 0). */
    double worst_price_move;    /**< Its relative price move. */
    double worst_vol_move;      /**< Its vol move. */
} risk_portfolio_margin_result;

/** Initialiser for ::risk_portfolio_margin_result. */
#define RISK_PORTFOLIO_MARGIN_RESULT_INIT {RISK_PORTFOLIO_MARGIN_RESULT_VERSION, 0u, 0, 0, 0u, 0u, 0u, 0u, 0, 0, 0}

/**
 * @brief Sets the engine's portfolio-margin model, used by every ::RISK_MARGIN_PORTFOLIO account.
 *
 * Until set, the engine uses ::RISK_PORTFOLIO_MARGIN_PARAMS_INIT.
 * @param[in] engine The engine.
 * @param[in] params The model and parameters (copied), each in the range its field documents.
 * @retval RISK_OK Set.
 * @retval RISK_ENULL NULL engine or params.
 * @retval RISK_EVERSION Unknown params version.
 * @retval RISK_EINVAL A model, count or parameter outside its domain (NaN, inf, negative).
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_portfolio_margin(risk_engine *engine,
                                                             const risk_portfolio_margin_params *params);

/**
 * @brief The engine's portfolio-margin model.
 * @param[out] out The parameters in force (the defaults until set).
 * @param[in] engine The engine.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_portfolio_margin(risk_portfolio_margin_params *out, const risk_engine *engine);

/**
 * @brief The scenario grid of one risk unit under a model: relative price moves, vol moves, weights.
 *
 * Order: the core grid k = 0, +1, -1, ..., +N, -N (price move k R / N), each with vol up,
 * [unchanged,] down; then the extended moves in the given order. 35 for the defaults, 16 for SPAN.
 * @param[out] price_moves NULL, or capacity relative price moves.
 * @param[out] vol_moves NULL, or capacity vol moves (in the model's vol_mode, before the term structure).
 * @param[out] weights NULL, or capacity weights in [0, 1].
 * @param[in] capacity Room in each non-NULL array.
 * @param[in] params The model (validated).
 * @param[out] count_out The grid's size (set also when capacity is too small).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL params or count_out.
 * @retval RISK_EVERSION Unknown params version.
 * @retval RISK_EINVAL A parameter outside its domain.
 * @retval RISK_EBUFFER capacity below the grid's size.
 * @par Thread safety
 * Always safe.
 */
RISK_API RISK_NODISCARD int risk_portfolio_margin_grid(double *price_moves, double *vol_moves, double *weights,
                                                       size_t capacity, const risk_portfolio_margin_params *params,
                                                       size_t *count_out);

/**
 * @brief An account's portfolio margin, its worst scenario and its loss, and per risk unit figures.
 *
 * Computed for any account (whatever its margin mode), without changing it, with the model
 * @p params or, when NULL, the engine's. For a ::RISK_MARGIN_PORTFOLIO account, the IM and MM of
 * risk_account_evaluate() are result.initial_margin and result.maintenance_margin plus the
 * weighted liabilities. Each scenario is revalued as risk_account_scenario_pnl() does.
 * @param[out] out The result.
 * @param[out] units NULL, or room for @p capacity units (in the order of their underlyings' asset ids).
 * @param[in] capacity Room in @p units.
 * @param[in] account The account.
 * @param[in] params NULL (the engine's model) or a model.
 * @retval RISK_OK Done (out->n_units units; at most capacity of them written).
 * @retval RISK_ENULL NULL account or out, or units NULL with capacity > 0.
 * @retval RISK_EVERSION Unknown result, unit or params version.
 * @retval RISK_EINVAL A parameter outside its domain, or a moved price or mark outside its domain.
 * @retval RISK_ENOMEM Out of memory (scratch of about 200 bytes per scenario plus 8 bytes per
 *         scenario per asset and instrument of the engine).
 * @par Thread safety
 * Reads the engine and the account.
 */
RISK_API RISK_NODISCARD int risk_account_portfolio_margin(risk_portfolio_margin_result *out,
                                                          risk_portfolio_margin_unit *units, size_t capacity,
                                                          const risk_account *account,
                                                          const risk_portfolio_margin_params *params);

/**
 * @brief The portfolio margin of every ::RISK_MARGIN_PORTFOLIO account of an engine, in creation order.
 *
 * The same results as risk_account_portfolio_margin() on each (bit for bit), computed faster: the
 * moved marks of each underlying's grid depend on the market and the model only, so they are
 * priced once for the batch instead of once per account (docs/portfolio-margin.md section 9).
 * @param[out] results_out capacity results (element 0's version is read for all); without per-unit figures.
 * @param[out] ids_out NULL, or capacity account ids, in the order of the results.
 * @param[in] capacity Room in the outputs.
 * @param[in] engine The engine.
 * @param[in] params NULL (the engine's model) or a model.
 * @param[out] count_out The number of portfolio accounts (set also when capacity is too small).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or count_out, or results_out NULL with capacity > 0.
 * @retval RISK_EVERSION Unknown result or params version.
 * @retval RISK_EINVAL A parameter outside its domain, or a moved price or mark of an underlying a
 *         portfolio account holds outside its domain (no result is then valid).
 * @retval RISK_EBUFFER capacity below the number of portfolio accounts.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Reads the engine and its accounts.
 */
RISK_API RISK_NODISCARD int risk_engine_portfolio_margin_all(risk_portfolio_margin_result *results_out,
                                                             uint64_t *ids_out, size_t capacity,
                                                             const risk_engine *engine,
                                                             const risk_portfolio_margin_params *params,
                                                             size_t *count_out);

/**
 * @brief OKX's aggregation of one risk unit: max[max(MR1, MR2, MR6) + MR3 + MR4 + MR5, MR7].
 * @param[out] out The unit's MMR.
 * @param[in] mr MR1..MR7 (mr[0] is MR1), each finite and >= 0.
 * @param[in] n 7.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EINVAL n is not 7, or a component is negative, NaN or infinite.
 * @par Thread safety
 * Always safe.
 */
RISK_API RISK_NODISCARD int risk_portfolio_okx_mmr(double *out, const double *mr, size_t n);

RISK_END_DECLS

/** @} */
#endif /* RISK_PORTFOLIO_H */
