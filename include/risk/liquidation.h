/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/liquidation.h
 * @brief Liquidation: policy, minimal liquidation plans, applying them, insurance fund, ADL ranking.
 * @defgroup liquidation Liquidation
 * @{
 *
 * A liquidatable account (health factor < 1, or an isolated position under its MM) gets a
 * **plan**: the smallest list of actions that brings it to the policy's exit target. Reduce
 * actions close whole lots of positions (tiers step down as Binance and Bybit do); seize actions
 * repay debts with collateral plus a bonus (Aave). Before a close-out, positions whose proceeds
 * repay debts and healthy isolated legs are tried. An account that cannot reach the target is
 * closed out and left flat; a deficit is drawn from the engine's insurance fund of the asset
 * and, when the fund cannot cover it, either the positions are auto-deleveraged against the
 * ranked opposite side at their bankruptcy prices (the backstop account, else the market, taking
 * what no counterparty takes) and the fund pays what it can, or (::RISK_DEFICIT_SOCIALIZE) the
 * fund pays what it can and the rest is socialised to the opposite side's profits.
 * risk_account_apply_plan() applies a plan all or nothing.
 *
 * Exit targets (docs/liquidation.md gives the derivations and sources):
 * - ::RISK_EXIT_BUFFER (Drift): C_maint >= R_maint + buffer x (|notional| of cross positions +
 *   liabilities), all in the valuation asset V; isolated positions: margin + PnL >= MM +
 *   buffer x |notional|.
 * - ::RISK_EXIT_INITIAL (Mango's liquidation-end health): C_init >= R_init; isolated positions:
 *   margin + PnL >= IM.
 *
 * Money in actions is in the asset named by the action (the settle asset for reduce and ADL
 * actions); quantities are in contracts, prices in quote per underlying unit.
 */
#ifndef RISK_LIQUIDATION_H
#define RISK_LIQUIDATION_H

#include "risk/common.h"
#include "risk/engine.h"
#include "risk/account.h"

RISK_BEGIN_DECLS

/** Exit target: maintenance plus a buffer fraction of notional and liabilities (Drift). */
#define RISK_EXIT_BUFFER 0u
/** Exit target: initial-weighted health >= 0, i.e. available >= 0 (Mango's liquidation end). */
#define RISK_EXIT_INITIAL 1u

/** Execution price model: liquidation orders fill at the mark. */
#define RISK_PRICE_MARK 0u
/** Execution price model: dYdX's fillable price, a penalty that grows as the account nears bankruptcy. */
#define RISK_PRICE_PENALTY 1u

/** Deficit handling: draw the insurance fund as far as it goes and report the rest in `uncovered` (default). */
#define RISK_DEFICIT_REPORT 0u
/** Deficit handling: what the fund cannot cover is socialised pro rata to the opposite side's positive PnL (Deribit, Drift). */
#define RISK_DEFICIT_SOCIALIZE 1u

/** Version of ::risk_liquidation_policy this header describes (version 1, without the backstop and deficit fields, is still accepted). */
#define RISK_LIQUIDATION_POLICY_VERSION 2

/**
 * @brief How accounts are liquidated. Initialise with ::RISK_LIQUIDATION_POLICY_INIT.
 *
 * The engine holds one; an instrument may override it (risk_engine_set_instrument_liquidation_policy()),
 * in which case the instrument's fee, insurance_fee, price_model, penalty, min_notional and buffer
 * apply to its positions. exit_target and the loan fields (close_factor, full_close_health, bonus,
 * protocol_share) are always the engine's.
 */
typedef struct risk_liquidation_policy {
    uint32_t version;          /**< ::RISK_LIQUIDATION_POLICY_VERSION. */
    uint32_t exit_target;      /**< ::RISK_EXIT_BUFFER or ::RISK_EXIT_INITIAL. */
    double buffer;             /**< Buffer fraction for ::RISK_EXIT_BUFFER, in [0, 1); default 0.02 (Drift). */
    double fee;                /**< Liquidator fee, fraction of the closed notional, in [0, 1); default 0. */
    double insurance_fee;      /**< Insurance-fund fee, fraction of the closed notional, in [0, 1); default 0. */
    uint32_t price_model;      /**< ::RISK_PRICE_MARK (default) or ::RISK_PRICE_PENALTY. */
    uint32_t reserved;         /**< 0. */
    double penalty;            /**< ::RISK_PRICE_PENALTY: fraction of a position's MM given up per contract at bankruptcy (dYdX SMMR), in [0, 1]; default 0.1. */
    double close_factor;       /**< Fraction of a debt one plan may repay, in (0, 1]; default 1 (Aave: 0.5). */
    double full_close_health;  /**< Health factor below which the close factor is 1, in [0, 1]; default 0 (Aave: 0.95). */
    double bonus;              /**< Collateral bonus of a seize, >= 0 and < 1; default 0 (Aave: 0.05). */
    double protocol_share;     /**< Share of the bonus paid to the insurance fund, in [0, 1]; default 0 (Aave: 0.1). */
    double min_notional;       /**< A reduction leaving less than this notional (settle asset) closes the position in full; in [0, ::RISK_NOTIONAL_MAX], default 0. */
    /* version 2 */
    uint32_t deficit;          /**< Engine's only: ::RISK_DEFICIT_REPORT (default) or ::RISK_DEFICIT_SOCIALIZE. */
    uint32_t has_backstop;     /**< Engine's only: 1 when @ref backstop_account takes over positions no ADL counterparty takes; default 0. */
    uint64_t backstop_account; /**< Engine's only: id of the backstop account (Hyperliquid's HLP vault, Binance's liquidation engine); must be an account of the engine when a plan needs it. */
} risk_liquidation_policy;

/** Initialiser: buffer target 2 %, no fees, fills at the mark, close factor 1, no bonus, deficits reported, no backstop. */
#define RISK_LIQUIDATION_POLICY_INIT \
    {RISK_LIQUIDATION_POLICY_VERSION, RISK_EXIT_BUFFER, 0.02, 0.0, 0.0, RISK_PRICE_MARK, 0u, 0.1, 1.0, 0.0, 0.0, 0.0, 0.0, \
     RISK_DEFICIT_REPORT, 0u, 0u}

/** Action: close part or all of a position (instrument, side, leg, qty, price, fee, insurance_fee). */
#define RISK_ACTION_REDUCE 1u
/** Action: collateral seized to repay a debt (asset, amount, repay_asset, repay_amount, bonus, protocol_fee). */
#define RISK_ACTION_SEIZE 2u
/** Action: insurance fund flow for the account (asset, amount: > 0 paid into the fund, < 0 drawn from it). */
#define RISK_ACTION_INSURANCE 3u
/** Action: auto-deleveraging fill against a counterparty at the bankruptcy price (counterparty, instrument, side, leg, qty, price). */
#define RISK_ACTION_ADL 4u
/** Action: the backstop account takes the position over at the bankruptcy price (counterparty = the backstop, instrument, side, leg, qty, price). */
#define RISK_ACTION_BACKSTOP 5u
/** Action: socialised loss, `amount` of `asset` moved from a counterparty with positive PnL on the opposite side to the account (counterparty, instrument, asset, amount). */
#define RISK_ACTION_SOCIALIZE 6u

/** Version of ::risk_liquidation_action this header describes. */
#define RISK_LIQUIDATION_ACTION_VERSION 1

/**
 * @brief One action of a liquidation plan. The plan call sets version in every element.
 *
 * Cash flows: a reduce pays `fee` to the liquidator and `insurance_fee` to the fund, both in the
 * settle asset, and hands the liquidator the contracts at `price` (its gain against the mark is
 * the account's loss). A seize takes `amount` of `asset` (bonus and protocol fee included) and
 * repays `repay_amount` of `repay_asset`; the liquidator pays the repayment and receives
 * `amount - protocol_fee`; the fund receives `protocol_fee`. An insurance action moves `amount`
 * of `asset` from the account to the fund (negative: from the fund to the account). An ADL fill
 * moves the contracts to the counterparty at `price`, without fees, reducing the counterparty's
 * opposite position. A backstop fill moves them to the backstop account at `price`, without
 * fees, adding to (or opening) its position on the liquidated side. A socialize action moves
 * `amount` of `asset` from the counterparty's balance to the account.
 */
typedef struct risk_liquidation_action {
    uint32_t version;          /**< ::RISK_LIQUIDATION_ACTION_VERSION. */
    uint32_t type;             /**< ::RISK_ACTION_REDUCE ... ::RISK_ACTION_SOCIALIZE. */
    uint32_t instrument;       /**< Reduce, ADL, backstop: instrument id; socialize: the instrument whose loss it covers; else ::RISK_ID_NONE. */
    uint32_t side;             /**< Reduce, ADL, backstop: the liquidated account's trade, ::RISK_ORDER_SELL closes a long; else 0. */
    uint32_t leg;              /**< Reduce, ADL, backstop: the position's leg (::RISK_SIDE_BOTH in one-way mode); else 0. */
    uint32_t asset;            /**< Seize: collateral asset; insurance: the fund's asset; reduce, ADL, backstop, socialize: settle asset. */
    uint32_t repay_asset;      /**< Seize: debt asset; else ::RISK_ID_NONE. */
    uint32_t reserved;         /**< 0. */
    uint64_t counterparty;     /**< ADL, backstop, socialize: the other account's id; else 0. */
    double qty;                /**< Reduce, ADL, backstop: contracts, > 0, whole lots. */
    double price;              /**< Reduce, ADL, backstop: execution price in quote, on the tick. */
    double fee;                /**< Reduce: liquidator fee in the settle asset. */
    double insurance_fee;      /**< Reduce: insurance-fund fee in the settle asset. */
    double amount;             /**< Seize: collateral taken; insurance: > 0 into the fund, < 0 out of it; socialize: > 0, paid by the counterparty. */
    double repay_amount;       /**< Seize: debt repaid. */
    double bonus;              /**< Seize: the bonus part of `amount`. */
    double protocol_fee;       /**< Seize: the protocol's share of the bonus, paid to the fund. */
} risk_liquidation_action;

/** Plan outcome: the account is not liquidatable; no actions. */
#define RISK_PLAN_NONE 0u
/** Plan outcome: partial liquidation reaching the exit target. */
#define RISK_PLAN_PARTIAL 1u
/** Plan outcome: the close factor capped the repayment before the target was reached (Aave); the target is reachable at close factor 1. */
#define RISK_PLAN_LIMITED 2u
/** Plan outcome: the target cannot be reached; every position closed (the account is flat) and debts repaid as far as collateral, the fund and socialisation allow. */
#define RISK_PLAN_CLOSE_OUT 3u

/** Trigger bit: the cross pool's health factor is below 1. */
#define RISK_TRIGGER_CROSS 1u
/** Trigger bit: an isolated position's margin + PnL is below its MM. */
#define RISK_TRIGGER_ISOLATED 2u
/** Trigger bit: the account's equity is <= 0 (bankrupt). */
#define RISK_TRIGGER_BANKRUPT 4u

/** Version of ::risk_liquidation_plan this header describes (version 1, without the trigger and deficit split, is still accepted). */
#define RISK_LIQUIDATION_PLAN_VERSION 2

/**
 * @brief A plan's header. Initialise with ::RISK_LIQUIDATION_PLAN_INIT.
 *
 * The trigger names what made the account liquidatable: the first isolated position under its
 * MM when one is; else, for the cross pool, its largest requirement, a position (trigger_instrument,
 * trigger_leg: largest MM in V) or a debt (trigger_asset: largest maintenance-weighted liability),
 * whichever is larger. The deficit of a close-out splits as
 * deficit = fund_drawn + socialized + (taken by ADL and backstop fills at bankruptcy prices) + uncovered.
 */
typedef struct risk_liquidation_plan {
    uint32_t version;          /**< ::RISK_LIQUIDATION_PLAN_VERSION (or 1), set by the caller. */
    uint32_t outcome;          /**< ::RISK_PLAN_NONE ... ::RISK_PLAN_CLOSE_OUT. */
    uint64_t account_id;       /**< The account the plan is for. */
    size_t n_actions;          /**< Number of actions. */
    double health_before;      /**< Health factor now (INFINITY when nothing is required). */
    double health_after;       /**< Health factor once the plan is applied. */
    double equity_before;      /**< Equity now, in V. */
    double equity_after;       /**< Equity once the plan is applied, in V. */
    double deficit;            /**< Close-out: what the account owes once its positions are closed in the market and collateral repays its debts, in V (>= 0). */
    double uncovered;          /**< Close-out: the negative balances left on the account after the plan, in V (>= 0): a deficit neither the fund, ADL, the backstop nor socialisation covered. */
    /* version 2 */
    uint32_t trigger;          /**< ::RISK_TRIGGER_CROSS, ::RISK_TRIGGER_ISOLATED, ::RISK_TRIGGER_BANKRUPT bits; 0 when not liquidatable. */
    uint32_t trigger_instrument; /**< The position that triggered (see above), or ::RISK_ID_NONE. */
    uint32_t trigger_leg;      /**< Its leg (::RISK_SIDE_BOTH in one-way mode); 0 when none. */
    uint32_t trigger_asset;    /**< The debt that triggered (see above), or ::RISK_ID_NONE. */
    double fund_drawn;         /**< Close-out: insurance-fund draws, in V (>= 0). */
    double socialized;         /**< Close-out: losses socialised to the opposite side, in V (>= 0). */
} risk_liquidation_plan;

/** Initialiser for ::risk_liquidation_plan. */
#define RISK_LIQUIDATION_PLAN_INIT {RISK_LIQUIDATION_PLAN_VERSION, 0u, 0u, 0u, 0, 0, 0, 0, 0, 0, 0u, RISK_ID_NONE, 0u, RISK_ID_NONE, 0, 0}

/** Version of ::risk_insurance_fund this header describes. */
#define RISK_INSURANCE_FUND_VERSION 1

/** @brief An insurance fund of one asset. Initialise with ::RISK_INSURANCE_FUND_INIT. */
typedef struct risk_insurance_fund {
    uint32_t version;          /**< ::RISK_INSURANCE_FUND_VERSION, set by the caller. */
    uint32_t asset;            /**< The fund's asset. */
    double balance;            /**< deposits + contributions - draws, never negative. */
    double deposits;           /**< Sum of risk_engine_insurance_fund_deposit() amounts. */
    double contributions;      /**< Paid in by applied plans (insurance fees, protocol fees, insurance actions > 0). */
    double draws;              /**< Paid out by applied plans (insurance actions < 0). */
} risk_insurance_fund;

/** Initialiser for ::risk_insurance_fund. */
#define RISK_INSURANCE_FUND_INIT {RISK_INSURANCE_FUND_VERSION, 0u, 0, 0, 0, 0}

/** Version of ::risk_adl_entry this header describes (1: without `instrument` and `side`). */
#define RISK_ADL_ENTRY_VERSION 2

/**
 * @brief One position in an auto-deleveraging queue.
 *
 * Binance's score: pnl_pct = (mark value - entry value) / |entry value| for the position's
 * direction; effective_leverage = |mark value| / the equity backing it (isolated: margin + PnL;
 * cross: the account's equity); score = pnl_pct x effective_leverage when pnl_pct >= 0, else
 * pnl_pct / effective_leverage. Positions whose backing equity is <= 0 rank last.
 *
 * A score depends only on the account and the market, so queues of engines holding disjoint
 * accounts (shards) merge into the queue of one engine holding them all (risk_adl_merge()).
 * Version 2 appends the instrument and side the entry was ranked in, so that a merge can check
 * its queues belong together; version 1 arrays (without them) are still filled by
 * risk_engine_adl_ranking().
 */
typedef struct risk_adl_entry {
    uint32_t version;          /**< ::RISK_ADL_ENTRY_VERSION (or 1), set by the caller in element 0. */
    uint32_t leg;              /**< The position's leg. */
    uint64_t account_id;       /**< Account id. */
    double qty;                /**< Signed contracts. */
    double pnl_pct;            /**< PnL as a fraction of the entry value. */
    double effective_leverage; /**< |mark value| / backing equity; INFINITY when that equity is <= 0. */
    double score;              /**< Ranking score, higher first. */
    uint32_t instrument;       /**< Version 2: the instrument id (an engine's own: shards that merge register their instruments in the same order). */
    uint32_t side;             /**< Version 2: the side ranked, ::RISK_SIDE_LONG or ::RISK_SIDE_SHORT. */
} risk_adl_entry;

/** Initialiser for ::risk_adl_entry. */
#define RISK_ADL_ENTRY_INIT {RISK_ADL_ENTRY_VERSION, 0u, 0u, 0, 0, 0, 0, RISK_ID_NONE, 0u}

/** Most queues one risk_adl_merge() call takes (merge more shards in two rounds). */
#define RISK_ADL_MERGE_MAX_QUEUES 1024

/**
 * @brief Sets the engine's liquidation policy.
 * @param[in,out] engine The engine.
 * @param[in] policy The policy (copied); see ::risk_liquidation_policy for ranges.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or policy.
 * @retval RISK_EVERSION Unknown policy version.
 * @retval RISK_EINVAL A field out of range (a negative buffer would put the exit target below the trigger).
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Writes the engine: no concurrent use of the engine or its accounts.
 */
RISK_API RISK_NODISCARD int risk_engine_set_liquidation_policy(risk_engine *engine, const risk_liquidation_policy *policy);

/**
 * @brief The engine's liquidation policy.
 * @param[in] engine The engine.
 * @param[out] out The policy (its version must be set by the caller).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or out.
 * @retval RISK_EVERSION Unknown version in out.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_liquidation_policy(const risk_engine *engine, risk_liquidation_policy *out);

/**
 * @brief Overrides the liquidation policy for one instrument's positions, or removes the override.
 * @param[in,out] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[in] policy The override (copied), or NULL to use the engine's policy again.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EVERSION Unknown policy version.
 * @retval RISK_EINVAL A field out of range.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Writes the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_instrument_liquidation_policy(risk_engine *engine, uint32_t instrument,
                                                                          const risk_liquidation_policy *policy);

/**
 * @brief The policy that applies to an instrument's positions (its override, else the engine's).
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[out] out The policy (its version must be set by the caller).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or out.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EVERSION Unknown version in out.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_instrument_liquidation_policy(const risk_engine *engine, uint32_t instrument,
                                                                      risk_liquidation_policy *out);

/**
 * @brief Adds to the insurance fund of an asset.
 * @param[in,out] engine The engine.
 * @param[in] asset Asset id.
 * @param[in] amount Amount in the asset, >= 0; the fund after the deposit at most 2^53 quanta of the asset (::RISK_AMOUNT_QUANTA_MAX).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EINVAL Amount not finite or negative.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Writes the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_insurance_fund_deposit(risk_engine *engine, uint32_t asset, double amount);

/**
 * @brief The insurance fund of an asset (all zero before the first deposit or plan).
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @param[out] out The fund (its version must be set by the caller).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or out.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EVERSION Unknown version in out.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_insurance_fund(const risk_engine *engine, uint32_t asset, risk_insurance_fund *out);

/**
 * @brief The liquidation plan of an account: empty when it is not liquidatable.
 *
 * Deterministic: the same account and market give the same plan. Reduce actions come first
 * (isolated positions in slot order, then cross positions by MM in V, largest first, ties by
 * instrument id and leg), then seizes (debts by value, largest first; collateral by value,
 * largest first), then skipped cross positions and healthy isolated legs followed by the
 * repayments their proceeds allow; a close-out's reduce, ADL, backstop, seize, insurance and
 * socialize actions come last (docs/liquidation.md section 5.1). Every reduce is minimal: one lot
 * less would miss the target, unless it would leave less than the policy's min_notional.
 *
 * @param[in] account The account.
 * @param[out] plan_out The plan's header (its version, 1 or ::RISK_LIQUIDATION_PLAN_VERSION, set by the caller; a version 1 header gets the version 1 fields only).
 * @param[out] actions_out Array of @p capacity actions, or NULL with capacity 0 to ask for the count.
 * @param[in] capacity Length of @p actions_out.
 * @param[out] count_out Number of actions, also on ::RISK_EBUFFER; may be NULL.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL account or plan_out, or NULL actions_out with capacity > 0.
 * @retval RISK_EVERSION Unknown plan version.
 * @retval RISK_EBUFFER @p capacity too small: *count_out is the length needed, nothing else written.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Reads the account and, for ADL counterparties, the engine's other accounts.
 */
RISK_API RISK_NODISCARD int risk_account_liquidation_plan(const risk_account *account, risk_liquidation_plan *plan_out,
                                                          risk_liquidation_action *actions_out, size_t capacity,
                                                          size_t *count_out);

/**
 * @brief Applies a plan to the account, its ADL counterparties and the engine's insurance fund, all or nothing.
 *
 * Every action is checked against the current state first (positions and balances exist and
 * suffice, quantities in whole lots, prices on the tick, fund draws covered by the fund); then
 * all of them are applied. Evaluating the account afterwards gives the plan's health_after when
 * the market has not moved.
 *
 * @param[in,out] account The account the plan was made for.
 * @param[in] plan The plan's header (account_id must match).
 * @param[in] actions The plan's actions.
 * @param[in] n Number of actions (plan->n_actions).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL account, plan, or actions with n > 0.
 * @retval RISK_EVERSION Unknown plan or action version.
 * @retval RISK_EINVAL Malformed action, or n differs from plan->n_actions, or another account's plan.
 * @retval RISK_ENOTFOUND A position, balance or counterparty the plan names does not exist, or a backstop fill names an account that is not the policy's backstop.
 * @retval RISK_ESTATE The account or a counterparty no longer holds what the action needs, or the fund cannot cover a draw.
 * @retval RISK_ELOT A quantity is not a whole number of lots.
 * @retval RISK_ETICK A price is off the tick.
 * @retval RISK_ENOMEM Out of memory (nothing changed).
 * @par Thread safety
 * Writes the account, its counterparties and the engine.
 */
RISK_API RISK_NODISCARD int risk_account_apply_plan(risk_account *account, const risk_liquidation_plan *plan,
                                                    const risk_liquidation_action *actions, size_t n);

/**
 * @brief Receives each plan risk_engine_liquidate_all() applies, right after it is applied.
 *
 * @param[in] user The options' `user` pointer.
 * @param[in] plan The plan's header (version ::RISK_LIQUIDATION_PLAN_VERSION), as
 *            risk_account_liquidation_plan() gives it.
 * @param[in] actions The plan's @p n actions, valid during the call only.
 * @param[in] n Number of actions (plan->n_actions; 0 for a plan with nothing to do).
 * @return ::RISK_OK to go on; any other value stops the batch, which returns it.
 * The callback may read the engine and its accounts (the balances after the plan), not change them.
 */
typedef int (*risk_liquidate_all_fn)(void *user, const risk_liquidation_plan *plan,
                                     const risk_liquidation_action *actions, size_t n);

/** @brief Version of ::risk_liquidate_all_options. */
#define RISK_LIQUIDATE_ALL_OPTIONS_VERSION 1

/** @brief Options of risk_engine_liquidate_all(). Initialise with ::RISK_LIQUIDATE_ALL_OPTIONS_INIT. */
typedef struct risk_liquidate_all_options {
    uint32_t version;          /**< ::RISK_LIQUIDATE_ALL_OPTIONS_VERSION, set by the caller. */
    uint32_t reserved;         /**< 0. */
    risk_liquidate_all_fn on_plan; /**< Called after each plan is applied; NULL for none. */
    void *user;                /**< Passed to @c on_plan. */
} risk_liquidate_all_options;

/** @brief Initialiser of ::risk_liquidate_all_options: no callback. */
#define RISK_LIQUIDATE_ALL_OPTIONS_INIT {RISK_LIQUIDATE_ALL_OPTIONS_VERSION, 0u, NULL, NULL}

/** @brief Version of ::risk_liquidate_all_result. */
#define RISK_LIQUIDATE_ALL_RESULT_VERSION 1

/** @brief What risk_engine_liquidate_all() did. Initialise with ::RISK_LIQUIDATE_ALL_RESULT_INIT. */
typedef struct risk_liquidate_all_result {
    uint32_t version;          /**< ::RISK_LIQUIDATE_ALL_RESULT_VERSION, set by the caller. */
    uint32_t reserved;         /**< 0. */
    uint64_t n_plans;          /**< Plans made (accounts liquidatable or bankrupt when their turn came). */
    uint64_t n_applied;        /**< Plans applied (all of them unless the call failed). */
    uint64_t n_close_outs;     /**< Plans with outcome ::RISK_PLAN_CLOSE_OUT. */
    uint64_t n_actions;        /**< Actions over all plans made. */
    uint64_t failed_account;   /**< The account whose plan failed or was stopped; UINT64_MAX when none. */
} risk_liquidate_all_result;

/** @brief Initialiser of ::risk_liquidate_all_result. */
#define RISK_LIQUIDATE_ALL_RESULT_INIT {RISK_LIQUIDATE_ALL_RESULT_VERSION, 0u, 0u, 0u, 0u, 0u, UINT64_MAX}

/**
 * @brief Liquidates the book: the plan of every liquidatable or bankrupt account, in engine
 * (creation) order, each applied before the next account is looked at.
 *
 * The result is bit for bit what calling risk_account_liquidation_plan() and
 * risk_account_apply_plan() on every account in engine order gives (same plans, same actions,
 * same balances, positions and funds after), but the cost is O(n log n) in the book, not
 * O(n^2): the ADL queues and the holders that socialised losses read are built once and, after
 * each plan, updated for the accounts that plan touched (docs/liquidation.md section 6.1).
 * Marks and prices are not moved.
 *
 * @param[in,out] engine The engine.
 * @param[in] options ::risk_liquidate_all_options, or NULL for none.
 * @param[out] out What was done, also when the call fails (its version set by the caller).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or out.
 * @retval RISK_EVERSION Unknown options or result version.
 * @retval RISK_ENOMEM Out of memory: before the first plan, nothing changed; later, the plans
 *         before out->failed_account stay applied (out->n_applied), as in the loop.
 * @retval other A status risk_account_apply_plan() returned (never for a plan just made), or the
 *         callback's non-zero return: the plans before stay applied.
 * @par Thread safety
 * Writes the engine and every account: nothing else may use them during the call. O(n log n)
 * in the positions of the book, plus the plans' own work.
 */
RISK_API RISK_NODISCARD int risk_engine_liquidate_all(risk_engine *engine, const risk_liquidate_all_options *options,
                                                      risk_liquidate_all_result *out);

/**
 * @brief The auto-deleveraging queue of one side of an instrument, highest score first.
 *
 * Ties are broken by account id, then leg, both ascending. Pass the side whose positions would
 * be deleveraged: ::RISK_SIDE_SHORT to rank the shorts that take over a liquidated long.
 *
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[in] side ::RISK_SIDE_LONG or ::RISK_SIDE_SHORT.
 * @param[out] out Array of @p capacity entries, or NULL with capacity 0 to ask for the count;
 *             `out[0].version` (1 or ::RISK_ADL_ENTRY_VERSION) gives the layout of all, and
 *             every element written carries it.
 * @param[in] capacity Length of @p out.
 * @param[out] count_out Number of positions on that side, also on ::RISK_EBUFFER.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or count_out, or NULL out with capacity > 0.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL Side not long or short.
 * @retval RISK_EVERSION Entry version neither 1 nor ::RISK_ADL_ENTRY_VERSION.
 * @retval RISK_EBUFFER @p capacity too small.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Reads the engine and its accounts.
 */
RISK_API RISK_NODISCARD int risk_engine_adl_ranking(const risk_engine *engine, uint32_t instrument, uint32_t side,
                                                    risk_adl_entry *out, size_t capacity, size_t *count_out);

/**
 * @brief The liquidation price of a spot balance: the price of @p asset, in the valuation asset
 * V, at which the account's cross pool reaches its MM (health factor 1), all other prices held.
 *
 * The asset's price and the marks of every instrument whose underlying is @p asset move by one
 * ratio, as for the position liquidation prices (::risk_position_result), so a cross position on
 * the asset has its liquidation price at the same move (Drift's spotLiquidationPrice also moves
 * the perp market that shares the spot market's oracle). Isolated positions are not in the
 * cross pool and do not count. Tiers are re-solved as for the position prices. When the pool is
 * already under its MM, the price is the one at which it is back at MM. The asset need not be
 * held: without a balance, the price is where the cross positions on it alone bring the pool to
 * MM. docs/formulas.md gives the derivation.
 *
 * Not rounded: an asset's `decimals` quantize amounts, and assets carry no price grid.
 *
 * @param[in] account The account.
 * @param[in] asset Asset id.
 * @param[out] price_out The price in V per unit of the asset, > 0; NaN when no price brings the
 *             pool to MM (the asset moves nothing that matters, a balance that cannot sink the
 *             pool, the valuation asset itself).
 * @retval RISK_OK Done (also when the price is NaN).
 * @retval RISK_ENULL NULL account or price_out.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @par Thread safety
 * Reads the account and its engine; never allocates.
 */
RISK_API RISK_NODISCARD int risk_account_spot_liquidation_price(const risk_account *account, uint32_t asset,
                                                                double *price_out);

/**
 * @brief Merges the auto-deleveraging queues of several engines (shards) into one queue.
 *
 * A k-way merge in the ranking's total order: score descending, then account id, then leg,
 * both ascending. Given the queues of one instrument and side from engines that hold disjoint
 * sets of accounts (account ids unique across them) under the same market data, the result is
 * entry for entry, bit for bit, the queue risk_engine_adl_ranking() gives for one engine holding
 * every account (docs/liquidation.md section 6). Stateless: it reads only its arguments.
 *
 * Everything is checked before anything is written: every queue is in the ranking order, no
 * score is NaN, every entry has the instrument and side of the first one, and no (account id,
 * leg) appears twice in a row of the merged order (an account held by two shards is caught when
 * its entries tie; otherwise it is the caller's to avoid).
 *
 * @param[out] out Array of @p capacity entries (version 2 layout), or NULL with capacity 0 to
 *             ask for the count. Every element written has version ::RISK_ADL_ENTRY_VERSION.
 * @param[in] capacity Length of @p out.
 * @param[in] queues @p k queues, each an array of `counts[j]` entries of version
 *             ::RISK_ADL_ENTRY_VERSION as risk_engine_adl_ranking() fills them (a queue with
 *             count 0 may be NULL).
 * @param[in] counts @p k lengths.
 * @param[in] k Number of queues, at most ::RISK_ADL_MERGE_MAX_QUEUES (0 gives an empty queue).
 * @param[out] count_out Sum of the counts, also on ::RISK_EBUFFER.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL count_out; NULL out with capacity > 0; NULL queues or counts with
 *         k > 0; a NULL queue with a count > 0.
 * @retval RISK_EVERSION An entry whose version is not ::RISK_ADL_ENTRY_VERSION.
 * @retval RISK_EINVAL A queue out of order, a NaN score, entries of different instruments or
 *         sides, one position twice, or @p k above ::RISK_ADL_MERGE_MAX_QUEUES.
 * @retval RISK_EBUFFER @p capacity below the sum of the counts (nothing written but *count_out).
 * @par Thread safety
 * Reads its arguments only; any thread. Never allocates; costs O(n k) comparisons for n
 * entries (the heads are scanned, twice: once to check, once to write).
 */
RISK_API RISK_NODISCARD int risk_adl_merge(risk_adl_entry *out, size_t capacity, const risk_adl_entry *const *queues,
                                           const size_t *counts, size_t k, size_t *count_out);

RISK_END_DECLS

/** @} */
#endif /* RISK_LIQUIDATION_H */
