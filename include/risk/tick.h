/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/tick.h
 * @brief The tick path: apply a batch of marks and prices, get the accounts whose state changed.
 * @defgroup tick Tick path
 * @{
 *
 * A ::risk_tick tracker keeps every account's state (healthy, margin call, liquidatable,
 * bankrupt) current across price ticks while re-evaluating only the accounts a tick can have
 * changed. It holds, per mark (instrument) and per asset price, the accounts exposed to it, each
 * with a guard band around the price at the account's last evaluation. A band is conservative
 * by construction: while every price the account is exposed to stays inside its band, no
 * threshold of the account (maintenance, margin call, zero equity, each isolated pool) can be
 * crossed, so its state cannot change (docs/tick.md states the bound and proves it). A tick
 * re-evaluates the accounts whose band it crossed, with risk_account_evaluate(), and rebuilds
 * their bands at the new prices.
 *
 * Changes of an account (fills, positions opened or closed, balances) mark it for
 * re-evaluation at the next risk_tick_apply() automatically, as do new and freed accounts.
 * Changes the tracker cannot see must be followed by risk_tick_rebuild(): prices set other than
 * through risk_tick_apply(), the valuation asset, the margin-call health, schedules, volatility
 * scaling, interest accrual, funding settlement, the engine's clock (option expiry). Accounts
 * holding options are re-evaluated at every apply (no band is claimed for them).
 */
#ifndef RISK_TICK_H
#define RISK_TICK_H

#include "risk/common.h"
#include "risk/account.h"

RISK_BEGIN_DECLS

/** A tick tracker (opaque). */
typedef struct risk_tick risk_tick;

/** Version of ::risk_tick_change this header describes. */
#define RISK_TICK_CHANGE_VERSION 1

/**
 * @brief One account whose state changed. Initialise with ::RISK_TICK_CHANGE_INIT.
 */
typedef struct risk_tick_change {
    uint32_t version;             /**< ::RISK_TICK_CHANGE_VERSION. */
    uint32_t old_state;           /**< State before the apply, ::RISK_STATE_HEALTHY ... ::RISK_STATE_BANKRUPT. */
    uint32_t new_state;           /**< State after it (equals summary.state). */
    uint32_t reserved;            /**< 0. */
    uint64_t account_id;          /**< The account's id. */
    risk_account_summary summary; /**< risk_account_evaluate() of the account after the apply, bit for bit. */
} risk_tick_change;

/** Initialiser for ::risk_tick_change. */
#define RISK_TICK_CHANGE_INIT {RISK_TICK_CHANGE_VERSION, 0u, 0u, 0u, 0u, RISK_ACCOUNT_SUMMARY_INIT}

/** Version of ::risk_tick_stats this header describes. */
#define RISK_TICK_STATS_VERSION 1

/**
 * @brief Counters of a tracker. Initialise with ::RISK_TICK_STATS_INIT.
 */
typedef struct risk_tick_stats {
    uint32_t version;          /**< ::RISK_TICK_STATS_VERSION. */
    uint32_t reserved;         /**< 0. */
    uint64_t accounts;         /**< Accounts tracked. */
    uint64_t evaluated;        /**< Accounts re-evaluated by the last apply or rebuild. */
    uint64_t changed;          /**< Accounts whose state the last apply or rebuild changed. */
    uint64_t in_state[4];      /**< Accounts in each state, indexed by ::RISK_STATE_HEALTHY ... ::RISK_STATE_BANKRUPT. */
    uint64_t always;           /**< Accounts re-evaluated at every apply (options, or no memory for their bands). */
    uint64_t band_entries;     /**< Band entries held (live and stale), two per account and exposed price. */
} risk_tick_stats;

/** Initialiser for ::risk_tick_stats. */
#define RISK_TICK_STATS_INIT {RISK_TICK_STATS_VERSION, 0u, 0u, 0u, 0u, {0u, 0u, 0u, 0u}, 0u, 0u}

/**
 * @brief Creates the tracker of an engine: evaluates every account and builds its bands.
 * @param[out] out       The tracker; NULL on failure.
 * @param engine         The engine; the tracker keeps it alive (risk_engine_free() before
 *                       risk_tick_free() is safe). One tracker per engine.
 * @retval RISK_OK       Created.
 * @retval RISK_ENULL    @p out or @p engine is NULL.
 * @retval RISK_ESTATE   The engine already has a tracker.
 * @retval RISK_ENOMEM   Out of memory (nothing created).
 * @par Thread safety
 * Not thread-safe with respect to the engine: no other call on the engine or its accounts may run
 * concurrently. Afterwards, account changes notify the tracker (see the file comment).
 */
RISK_API RISK_NODISCARD int risk_tick_new(risk_tick **out, risk_engine *engine);

/**
 * @brief Frees a tracker and detaches it from its engine. NULL is a no-op.
 * @param tick           The tracker.
 * @par Thread safety
 * As risk_tick_new().
 */
RISK_API void risk_tick_free(risk_tick *tick);

/**
 * @brief Applies a batch of marks and asset prices and re-evaluates the accounts it can have changed.
 *
 * Sets the marks as risk_engine_set_marks() and the prices as risk_engine_set_asset_prices()
 * would (every input is validated first: a rejected batch changes nothing), then re-evaluates
 * the accounts marked by account changes since the last call and the accounts whose guard band
 * on a moved price the new price left. The accounts whose state changed are read with
 * risk_tick_changes() until the next apply or rebuild.
 * @param tick           The tracker.
 * @param instruments    Instrument ids of the marks (may be NULL when @p n_marks is 0).
 * @param marks          New marks, in quote per unit, in the price domain (see risk_engine_set_mark()).
 * @param n_marks        Number of marks, >= 0.
 * @param assets         Asset ids of the prices (may be NULL when @p n_prices is 0).
 * @param prices         New prices in the valuation asset, in the price domain.
 * @param n_prices       Number of prices, >= 0.
 * @param[out] n_changes_out Number of accounts whose state changed.
 * @retval RISK_OK       Applied.
 * @retval RISK_ENULL    @p tick, @p n_changes_out, or an array with a non-zero count is NULL.
 * @retval RISK_ENOTFOUND An unknown instrument or asset (nothing changed).
 * @retval RISK_EINVAL   A mark or price refused by the engine setters (nothing changed).
 * @retval RISK_ENOMEM   The prices are applied but a change could not be recorded: the
 *                       account stays marked and is reported by the next apply.
 * @par Thread safety
 * As risk_tick_new().
 */
RISK_API RISK_NODISCARD int risk_tick_apply(risk_tick *tick, const uint32_t *instruments, const double *marks,
                                            size_t n_marks, const uint32_t *assets, const double *prices,
                                            size_t n_prices, size_t *n_changes_out);

/**
 * @brief Re-evaluates every account and rebuilds every band (after changes the tracker cannot see).
 * @param tick           The tracker.
 * @param[out] n_changes_out Number of accounts whose state changed since they were last evaluated.
 * @retval RISK_OK       Rebuilt.
 * @retval RISK_ENULL    @p tick or @p n_changes_out is NULL.
 * @retval RISK_ENOMEM   As for risk_tick_apply().
 * @par Thread safety
 * As risk_tick_new().
 */
RISK_API RISK_NODISCARD int risk_tick_rebuild(risk_tick *tick, size_t *n_changes_out);

/**
 * @brief Copies the changes of the last apply or rebuild, in the order the accounts were re-evaluated.
 * @param tick           The tracker.
 * @param[out] out       Room for @p capacity changes; element 0's version must be ::RISK_TICK_CHANGE_VERSION.
 * @param capacity       Elements in @p out, >= 0.
 * @param[out] count_out Number of changes (also when @p capacity is short).
 * @retval RISK_OK       Copied.
 * @retval RISK_ENULL    @p tick or @p count_out is NULL, or @p out is NULL with @p capacity > 0.
 * @retval RISK_EBUFFER  @p capacity is below the count (nothing copied).
 * @retval RISK_EVERSION Element 0 has another version.
 * @par Thread safety
 * Reads the tracker; safe concurrently with other readers.
 */
RISK_API RISK_NODISCARD int risk_tick_changes(const risk_tick *tick, risk_tick_change *out, size_t capacity,
                                              size_t *count_out);

/**
 * @brief The tracker's counters.
 * @param tick           The tracker.
 * @param[out] out       Counters; out->version must be ::RISK_TICK_STATS_VERSION.
 * @retval RISK_OK       Filled.
 * @retval RISK_ENULL    @p tick or @p out is NULL.
 * @retval RISK_EVERSION Another version.
 * @par Thread safety
 * Reads the tracker; safe concurrently with other readers.
 */
RISK_API RISK_NODISCARD int risk_tick_stats_get(const risk_tick *tick, risk_tick_stats *out);

/**
 * @brief The tracked state of an account (as of the last apply or rebuild).
 * @param tick           The tracker.
 * @param account        An account of the tracker's engine.
 * @param[out] state_out ::RISK_STATE_HEALTHY ... ::RISK_STATE_BANKRUPT.
 * @retval RISK_OK       Filled.
 * @retval RISK_ENULL    An argument is NULL.
 * @retval RISK_ENOTFOUND The account is not tracked yet (created since the last apply) or belongs to another engine.
 * @par Thread safety
 * Reads the tracker; safe concurrently with other readers.
 */
RISK_API RISK_NODISCARD int risk_tick_state(const risk_tick *tick, const risk_account *account, uint32_t *state_out);

/**
 * @brief The message of the tracker's last failed call, or "" (never NULL; "" for NULL).
 * @param tick           The tracker.
 * @return A string owned by the tracker, valid until its next call.
 * @par Thread safety
 * As risk_tick_new().
 */
RISK_API const char *risk_tick_errmsg(const risk_tick *tick);

RISK_END_DECLS

/** @} */

#endif /* RISK_TICK_H */
