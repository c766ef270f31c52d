/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/stress.h
 * @brief Book stress tests: every account revalued under a batch of scenarios, book-level
 *        losses, liquidations and deficits, exposure and concentration by underlying; every
 *        book-level result mergeable across shards.
 * @defgroup stress Stress tests
 * @{
 *
 * risk_engine_stress() runs risk_account_scenario_pnl() (risk/portfolio.h) over every account
 * of an engine with worker threads and reduces the results per scenario. Book sums are exact:
 * each account's value is taken in whole quanta of the valuation asset (the summary's own grid;
 * rounded to the nearest quantum when the engine leaves results unquantized or a weight is not
 * 1) and summed as an integer, so the result is the same bits for any thread count and for any
 * split of the accounts into shards merged with risk_stress_merge() (docs/stress.md, "Merge
 * rules").
 *
 * @par Thread safety
 * The engine calls only read the engine; no thread may mutate it meanwhile. The merge calls
 * touch only their arguments.
 */
#ifndef RISK_STRESS_H
#define RISK_STRESS_H

#include "risk/common.h"
#include "risk/portfolio.h"

RISK_BEGIN_DECLS

/** @brief An exact sum of money in quanta of the valuation asset: hi x 2^32 + lo quanta, 0 <= lo < 2^32. */
typedef struct risk_exact_sum {
    int64_t hi; /**< Multiples of 2^32 quanta. */
    int64_t lo; /**< Remaining quanta, in [0, 2^32). */
} risk_exact_sum;

/** Version of ::risk_stress_scenario this header describes. */
#define RISK_STRESS_SCENARIO_VERSION 1

/**
 * @brief The book's result under one scenario. Money in the valuation asset V.
 *
 * Each double is its exact sum divided by the quantum scale (10^decimals of V), rounded once.
 */
typedef struct risk_stress_scenario {
    uint32_t version;            /**< ::RISK_STRESS_SCENARIO_VERSION, set by the caller in element 0. */
    uint32_t decimals;           /**< Decimals of V (the quantum of the exact sums). */
    uint64_t n_accounts;         /**< Accounts revalued. */
    uint64_t n_liquidatable;     /**< Accounts liquidatable after the scenario (::RISK_STATE_LIQUIDATABLE). */
    uint64_t n_bankrupt;         /**< Accounts bankrupt after the scenario (::RISK_STATE_BANKRUPT). */
    uint64_t n_new_liquidatable; /**< Of those liquidatable, how many were healthy or in margin call before. */
    uint64_t n_new_bankrupt;     /**< Of those bankrupt, how many were not bankrupt before. */
    double pnl;                  /**< Sum of the accounts' weighted P&L. */
    double loss;                 /**< Sum of the accounts' weighted losses, max(-pnl, 0) each (>= 0). */
    double deficit;              /**< Sum over accounts of max(-equity after, 0): the loss beyond the accounts' equity that a close-out at the moved marks would pass to the insurance fund (>= 0). */
    risk_exact_sum pnl_sum;      /**< Exact sum behind @ref pnl. */
    risk_exact_sum loss_sum;     /**< Exact sum behind @ref loss. */
    risk_exact_sum deficit_sum;  /**< Exact sum behind @ref deficit. */
} risk_stress_scenario;

/** Initialiser for ::risk_stress_scenario. */
#define RISK_STRESS_SCENARIO_INIT {RISK_STRESS_SCENARIO_VERSION, 0u, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, {0, 0}, {0, 0}, {0, 0}}

/**
 * @brief Stress-tests every account of the engine under a batch of scenarios.
 *
 * Per account and scenario (optional arrays, account-major: element [k x n_scenarios + s] for
 * the k-th account in creation order): weighted P&L, equity, health factor and state after the
 * scenario, each bit for bit what risk_account_scenario_pnl() gives for the account. Per
 * scenario: the book result (::risk_stress_scenario). Bit-identical for any thread count.
 * @param[in] engine The engine.
 * @param[in] scenarios The batch (validated as by risk_account_scenario_pnl()).
 * @param[out] book_out n_scenarios book results (the `version` of element 0 is read for all).
 * @param[out] pnl_out NULL, or capacity x n_scenarios weighted P&L values.
 * @param[out] equity_out NULL, or capacity x n_scenarios equities after the scenario.
 * @param[out] health_out NULL, or capacity x n_scenarios health factors after the scenario.
 * @param[out] state_out NULL, or capacity x n_scenarios states after the scenario.
 * @param[out] ids_out NULL, or capacity external account ids.
 * @param[in] capacity Accounts the per-account arrays hold (ignored when all are NULL).
 * @param[in] threads Worker threads, 1..256 (0 means 1).
 * @param[out] count_out Number of accounts (written also on ::RISK_EBUFFER).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine, scenarios, book_out or count_out.
 * @retval RISK_EBUFFER A per-account array is given and @p capacity < number of accounts.
 * @retval RISK_EVERSION Unknown scenarios or result version.
 * @retval RISK_EINVAL threads > 256, or a scenario outside its domain (see risk_account_scenario_pnl()).
 * @retval RISK_ENOMEM Out of memory (tables of (assets + instruments) x n_scenarios doubles, and about 150 bytes per scenario per thread).
 * @retval RISK_ETHREAD A worker could not be started (nothing reported).
 * @par Thread safety
 * Reads the engine and its accounts.
 */
RISK_API RISK_NODISCARD int risk_engine_stress(const risk_engine *engine, const risk_scenarios *scenarios,
                                               risk_stress_scenario *book_out, double *pnl_out, double *equity_out,
                                               double *health_out, uint32_t *state_out, uint64_t *ids_out,
                                               size_t capacity, uint32_t threads, size_t *count_out);

/**
 * @brief Merges the book results of another shard into @p into, scenario by scenario.
 *
 * Counts add; exact sums add; the doubles are recomputed from the sums. Merging the shards of a
 * book in any order gives the bits that one engine holding every account gives.
 * @param[in,out] into n results (the accumulated shards).
 * @param[in] from n results of one more shard (same scenarios, same valuation decimals).
 * @param[in] n Number of scenarios.
 * @retval RISK_OK Merged.
 * @retval RISK_ENULL NULL array with n > 0.
 * @retval RISK_EVERSION Unknown version in either.
 * @retval RISK_EINVAL Different decimals, or a malformed exact sum (lo outside [0, 2^32)) (nothing merged).
 * @par Thread safety
 * Touches only its arguments.
 */
RISK_API RISK_NODISCARD int risk_stress_merge(risk_stress_scenario *into, const risk_stress_scenario *from, size_t n);

/** Most accounts kept in an exposure's largest-accounts list. */
#define RISK_EXPOSURE_TOP_MAX 16

/** Version of ::risk_exposure this header describes. */
#define RISK_EXPOSURE_VERSION 1

/**
 * @brief Exposure and concentration of the book on one underlying asset, at current prices.
 *
 * An account's exposure to underlying u is the notional in V of its positions on instruments
 * whose underlying is u (|qty| x contract size x mark, or / mark for inverse, times the settle
 * asset's price), signed by direction. Sums are exact in quanta of V (each position's notional
 * rounded to the nearest quantum).
 */
typedef struct risk_exposure {
    uint32_t version;        /**< ::RISK_EXPOSURE_VERSION, set by the caller in element 0. */
    uint32_t asset;          /**< The underlying's asset id. */
    uint32_t decimals;       /**< Decimals of V. */
    uint32_t n_top;          /**< Entries used in @ref top_ids and @ref top_gross. */
    uint64_t n_accounts;     /**< Accounts with a position on the underlying. */
    double long_notional;    /**< Sum of long notional (>= 0). */
    double short_notional;   /**< Sum of short notional (>= 0). */
    double net_notional;     /**< long - short: the book's net open interest in V. */
    double top_share;        /**< Sum of @ref top_gross / (long + short); 0 without exposure. */
    risk_exact_sum long_sum; /**< Exact sum behind @ref long_notional. */
    risk_exact_sum short_sum;/**< Exact sum behind @ref short_notional. */
    uint64_t top_ids[RISK_EXPOSURE_TOP_MAX];  /**< External ids of the accounts with the largest gross exposure (long + short notional), largest first, ties by smaller id. */
    double top_gross[RISK_EXPOSURE_TOP_MAX];  /**< Their gross exposure, in whole quanta of V. */
} risk_exposure;

/**
 * @brief Exposure and concentration of the book by underlying asset.
 * @param[in] engine The engine.
 * @param[out] out One result per asset id (0 .. asset count - 1); assets that underlie nothing
 *             report zeros.
 * @param[in] capacity Length of @p out.
 * @param[in] top_k Largest accounts to keep, 0..::RISK_EXPOSURE_TOP_MAX.
 * @param[out] count_out The engine's asset count (written also on ::RISK_EBUFFER).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine, out or count_out.
 * @retval RISK_EBUFFER @p capacity below the asset count.
 * @retval RISK_EVERSION Unknown result version.
 * @retval RISK_EINVAL top_k above ::RISK_EXPOSURE_TOP_MAX.
 * @par Thread safety
 * Reads the engine and its accounts.
 */
RISK_API RISK_NODISCARD int risk_engine_exposures(const risk_engine *engine, risk_exposure *out, size_t capacity,
                                                  uint32_t top_k, size_t *count_out);

/**
 * @brief Merges another shard's exposures into @p into, asset by asset: sums and counts add,
 *        the largest-accounts lists merge into the top_k of their union.
 * @param[in,out] into n exposures.
 * @param[in] from n exposures of one more shard (same registry, same decimals).
 * @param[in] n Number of assets.
 * @param[in] top_k Entries to keep, 0..::RISK_EXPOSURE_TOP_MAX (use the shards' own).
 * @retval RISK_OK Merged.
 * @retval RISK_ENULL NULL array with n > 0.
 * @retval RISK_EVERSION Unknown version.
 * @retval RISK_EINVAL Assets or decimals differ, top_k too large, or a malformed sum (nothing merged).
 * @par Thread safety
 * Touches only its arguments.
 */
RISK_API RISK_NODISCARD int risk_exposure_merge(risk_exposure *into, const risk_exposure *from, size_t n,
                                                uint32_t top_k);

RISK_END_DECLS

/** @} */
#endif /* RISK_STRESS_H */
