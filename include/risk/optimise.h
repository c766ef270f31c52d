/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/optimise.h
 * @brief Borrowing-cost optimisation: the cheapest mix of collateral to post and assets to
 * borrow for a target, solved exactly as a linear programme.
 * @defgroup optimise Borrowing-cost optimisation
 * @{
 *
 * Given an account, a list of candidate assets (what may be posted from outside, withdrawn or
 * borrowed, with caps) and a target (an extra initial and maintenance requirement, as a new
 * position brings, and/or cash to take out of the account), ::risk_account_optimise finds the
 * final balances that minimise the interest cost over a horizon (debts' borrow interest minus
 * deposits' supply yield, plus the yield forgone outside on what is posted) subject to
 * C_init >= h_init x R_init, C_maint >= h_maint x R_maint, an optional LTV buffer and the caps.
 * The reverse question (::RISK_OPTIMISE_MAX_SIZE): the largest multiple of the target a budget
 * of interest can carry.
 *
 * Model (docs/rates.md section 10): rates are taken at each pool's utilisation now (the plan's
 * own borrowing does not move them); each balance's cost is linear on its side of 0 and its
 * collateral contribution is concave piecewise linear (value tiers); so the problem is a linear
 * programme over segment variables, solved by a bounded-variable simplex with Bland's rule. The
 * result carries the optimality certificate: duals of every constraint and the duality gap.
 */
#ifndef RISK_OPTIMISE_H
#define RISK_OPTIMISE_H

#include "risk/common.h"

RISK_BEGIN_DECLS

/** @name Candidate flags (::risk_optimise_asset.flags) */
/** @{ */
/** The asset may deliver the target's cash: every unit it leaves the account counts at its price. */
#define RISK_OPTIMISE_CASH 0x1u
/** Use ::risk_optimise_asset.borrow_annual and supply_annual (simple interest over the horizon)
 *  instead of the engine's rate model at the pool's utilisation now. */
#define RISK_OPTIMISE_RATES_GIVEN 0x2u
/** Utilisation feedback (docs/rates.md 10.9): the plan's debt of this asset moves its pool's
 *  utilisation, so a debt d costs d x r_b(U(d)) a year (simple interest over the horizon), U(d)
 *  the pool's borrow usage with the account's debt d in place of its debt now; the cost is
 *  taken as its chords between the curve's kinks, each stretch in 32 equal chords (an upper bound,
 *  exact at the chords' ends, above the exact cost by at most rho h^2 / 4 for a stretch where the
 *  rate rises by rho per unit of debt and a chord of h units). Needs the engine's rate model and
 *  pool; not with ::RISK_OPTIMISE_RATES_GIVEN. */
#define RISK_OPTIMISE_UTILISATION 0x4u
/** @} */

/** Version of ::risk_optimise_asset this header describes. */
#define RISK_OPTIMISE_ASSET_VERSION 1

/**
 * @brief One asset the plan may move. Initialise with ::RISK_OPTIMISE_ASSET_INIT.
 *
 * The plan's final balance b' of the asset lies in [max(b - withdraw_max, -borrow_max),
 * b + post_max], b the balance now. Amounts in asset units, each finite, >= 0 and at most 2^53
 * quanta (as balances); rates annual fractions in [0, 10].
 */
typedef struct risk_optimise_asset {
    uint32_t version;      /**< ::RISK_OPTIMISE_ASSET_VERSION, set by the caller. */
    uint32_t asset;        /**< Asset id; at most once in a list. */
    uint32_t flags;        /**< ::RISK_OPTIMISE_CASH, ::RISK_OPTIMISE_RATES_GIVEN. */
    uint32_t reserved;     /**< 0. */
    double post_max;       /**< Units that may be posted from outside (what the owner holds there). */
    double withdraw_max;   /**< Units that may leave the account (withdrawn, or delivered as cash, or borrowed out). */
    double borrow_max;     /**< Largest debt the plan may leave (a venue limit or the pool's cash). */
    double outside_annual; /**< Yield the asset earns outside the account: forgone on what is posted, earned on what leaves. */
    double borrow_annual;  /**< With ::RISK_OPTIMISE_RATES_GIVEN: borrow rate. */
    double supply_annual;  /**< With ::RISK_OPTIMISE_RATES_GIVEN: supply rate, <= borrow_annual. */
} risk_optimise_asset;

/** Initialiser for ::risk_optimise_asset: nothing may move. */
#define RISK_OPTIMISE_ASSET_INIT {RISK_OPTIMISE_ASSET_VERSION, 0u, 0u, 0u, 0, 0, 0, 0, 0, 0}

/** @name Modes (::risk_optimise_spec.mode) */
/** @{ */
/** The cheapest plan that carries the target once. */
#define RISK_OPTIMISE_MIN_COST 0u
/** The largest multiple s of the target whose cheapest plan costs at most budget_value. */
#define RISK_OPTIMISE_MAX_SIZE 1u
/** @} */

/** Spec flag: require ltv_buffer >= ::risk_optimise_spec.ltv_buffer_min after the plan. */
#define RISK_OPTIMISE_LTV_BUFFER 0x1u

/** Version of ::risk_optimise_spec this header describes. */
#define RISK_OPTIMISE_SPEC_VERSION 1

/**
 * @brief The question. Initialise with ::RISK_OPTIMISE_SPEC_INIT. Money in the valuation asset.
 */
typedef struct risk_optimise_spec {
    uint32_t version;        /**< ::RISK_OPTIMISE_SPEC_VERSION, set by the caller. */
    uint32_t mode;           /**< ::RISK_OPTIMISE_MIN_COST or ::RISK_OPTIMISE_MAX_SIZE. */
    uint32_t flags;          /**< ::RISK_OPTIMISE_LTV_BUFFER or 0. */
    uint32_t reserved;       /**< 0. */
    double horizon_s;        /**< Horizon of the cost, seconds, in [1, 315,360,000] (10 years). */
    double health_init_min;  /**< Floor of C_init / (R_init + im_value), in [1, 1e6]. */
    double health_maint_min; /**< Floor of C_maint / (R_maint + mm_value), in [1, 1e6]. */
    double ltv_buffer_min;   /**< With ::RISK_OPTIMISE_LTV_BUFFER: floor of (C_init - liabilities) / collateral_value, in [-1, 1]. */
    double im_value;         /**< Extra initial requirement of the target (a new position's IM): 0 or in [1e-9, 1e18]; per unit of size in ::RISK_OPTIMISE_MAX_SIZE. */
    double mm_value;         /**< Extra maintenance requirement: 0 or in [1e-9, 1e18]; per unit of size likewise. */
    double cash_value;       /**< Cash the target takes out of the account through ::RISK_OPTIMISE_CASH assets: 0 or in [1e-9, 1e18]; per unit of size likewise. */
    double budget_value;     /**< ::RISK_OPTIMISE_MAX_SIZE: largest cost over the horizon, finite. */
} risk_optimise_spec;

/** Initialiser for ::risk_optimise_spec: minimum cost over one year, floors 1, no target. */
#define RISK_OPTIMISE_SPEC_INIT \
    {RISK_OPTIMISE_SPEC_VERSION, RISK_OPTIMISE_MIN_COST, 0u, 0u, 31536000.0, 1.0, 1.0, 0, 0, 0, 0, 0}

/** @name Outcomes (::risk_optimise_result.outcome) */
/** @{ */
/** An optimal plan was found (its certificate is in the result). */
#define RISK_OPTIMISE_OPTIMAL 0u
/** No plan within the caps meets the floors and the target (MAX_SIZE: not even size 0 within the budget). */
#define RISK_OPTIMISE_INFEASIBLE 1u
/** @} */

/** Version of ::risk_optimise_result this header describes. */
#define RISK_OPTIMISE_RESULT_VERSION 1

/**
 * @brief The plan's totals and its certificate. Money in the valuation asset, unquantized.
 * Initialise with ::RISK_OPTIMISE_RESULT_INIT.
 *
 * Costs cover every balance of the account that bears interest (candidates or not) plus the
 * outside yield term of the candidates' moves. The baseline is the account's current mix: no
 * move except the cash, drawn from the ::RISK_OPTIMISE_CASH candidates in list order, each as
 * far as its bounds allow.
 */
typedef struct risk_optimise_result {
    uint32_t version;            /**< ::RISK_OPTIMISE_RESULT_VERSION, set by the caller. */
    uint32_t outcome;            /**< ::RISK_OPTIMISE_OPTIMAL or ::RISK_OPTIMISE_INFEASIBLE. */
    uint32_t iterations;         /**< Simplex pivots and bound flips, both phases. */
    uint32_t baseline_feasible;  /**< 1 when the baseline meets the floors, the caps and the cash. */
    double size;                 /**< Multiple of the target carried: 1 in MIN_COST, the largest in MAX_SIZE. */
    double cost_horizon;         /**< The plan's cost over the horizon (the objective). */
    double cost_annual;          /**< The same balances' cost per year at today's rates, no compounding. */
    double baseline_cost_horizon;/**< The baseline's cost over the horizon. */
    double baseline_cost_annual; /**< The baseline's cost per year. */
    double saving_horizon;       /**< baseline_cost_horizon - cost_horizon (MIN_COST with a feasible baseline; else 0). */
    double health_init;          /**< C_init / (R_init + size x im_value) after the plan; INFINITY with nothing required (a requirement of at most 1e-10 V, the solver's tolerance). */
    double health_maint;         /**< C_maint / (R_maint + size x mm_value) after the plan; INFINITY likewise. */
    double ltv_buffer;           /**< (C_init - liabilities) / collateral_value after the plan (as the account summary). */
    double dual_health_init;     /**< Shadow price of the initial health row (objective per unit of C_init - h R_init). */
    double dual_health_maint;    /**< Shadow price of the maintenance health row. */
    double dual_ltv;             /**< Shadow price of the LTV buffer row (0 when off). */
    double dual_cash;            /**< Shadow price of the cash row: cost of one more unit of cash (0 without cash). */
    double dual_budget;          /**< MAX_SIZE: shadow price of the budget row (size per unit of budget). */
    double duality_gap;          /**< |primal - dual objective| of the LP: 0 up to rounding at an optimum. */
    double dual_infeasibility;   /**< Largest wrong-signed reduced cost, scaled: 0 up to rounding at an optimum. */
} risk_optimise_result;

/** Initialiser for ::risk_optimise_result. */
#define RISK_OPTIMISE_RESULT_INIT \
    {RISK_OPTIMISE_RESULT_VERSION, 0u, 0u, 0u, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/** Version of ::risk_optimise_move this header describes. */
#define RISK_OPTIMISE_MOVE_VERSION 1

/**
 * @brief What the plan does with one candidate asset. Amounts in asset units. Initialise with
 * ::RISK_OPTIMISE_MOVE_INIT.
 */
typedef struct risk_optimise_move {
    uint32_t version;          /**< ::RISK_OPTIMISE_MOVE_VERSION, set by the caller. */
    uint32_t asset;            /**< Asset id (the candidate's). */
    double balance_before;     /**< Balance now. */
    double balance_after;      /**< The plan's balance (the LP's, unrounded). */
    double delta;              /**< balance_after - balance_before: > 0 posted, < 0 taken out. */
    double delta_grid;         /**< delta on the asset's quantum, rounded toward more balance (more posted, less taken), within the bounds. */
    double borrowed;           /**< New debt: max(0, -balance_after) - max(0, -balance_before) (negative: repaid). */
    double rate_annual;        /**< Rate of the balance after: borrow rate for a debt, supply rate otherwise. */
    double cost_annual_value;  /**< The balance after's interest per year, V (> 0 paid, < 0 earned). */
    double cost_horizon_value; /**< Its cost over the horizon plus the outside term of the move, V. */
} risk_optimise_move;

/** Initialiser for ::risk_optimise_move. */
#define RISK_OPTIMISE_MOVE_INIT {RISK_OPTIMISE_MOVE_VERSION, 0u, 0, 0, 0, 0, 0, 0, 0, 0}

/**
 * @brief The cheapest plan for a target, or the largest target a budget carries; exact for
 * the model of docs/rates.md section 10.
 *
 * Changes nothing: the account keeps its balances; apply the moves with
 * ::risk_basket_add_balance or ::risk_basket_pool_transfer. Allocates scratch memory through
 * the engine's allocator and frees it before returning.
 * @param[in] account The account (its basket, cross positions and their margins).
 * @param[in] spec The question (`version` set).
 * @param[in] assets Candidates, `n_assets` entries (`version` set); NULL when n_assets is 0.
 * @param[in] n_assets Number of candidates, at most the engine's number of assets.
 * @param[in,out] out Totals and certificate (`version` set by the caller).
 * @param[in,out] moves_out `n_assets` moves in candidate order (each `version` set), or NULL.
 * @retval RISK_OK Solved: see out->outcome (an infeasible target is an outcome, not an error).
 * @retval RISK_ENULL NULL account, spec or out, or NULL assets with n_assets > 0.
 * @retval RISK_EVERSION Unknown version of spec, an asset, out or a move.
 * @retval RISK_ENOTFOUND A candidate names no asset.
 * @retval RISK_EINVAL A field out of range, NaN or infinite, a duplicate candidate, a candidate
 *         whose supply yield over the horizon exceeds its borrow cost, an LTV buffer floor above
 *         the initial weight of a tiered candidate (either would make the model non-convex and
 *         the LP inexact), MAX_SIZE without a target, or cash without a ::RISK_OPTIMISE_CASH
 *         candidate (the message names the field).
 * @retval RISK_ENOPRICE A candidate's price is outside the price domain.
 * @retval RISK_ENOMEM Out of memory.
 * @retval RISK_EINTERNAL The simplex did not certify its answer (a bug).
 * @par Thread safety
 * Reads the account and its engine.
 */
RISK_API RISK_NODISCARD int risk_account_optimise(const risk_account *account, const risk_optimise_spec *spec,
                                                  const risk_optimise_asset *assets, size_t n_assets,
                                                  risk_optimise_result *out, risk_optimise_move *moves_out);

RISK_END_DECLS

/** @} */
#endif /* RISK_OPTIMISE_H */
