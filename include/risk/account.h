/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/account.h
 * @brief Accounts: margin and position mode, basket, positions, leverage; evaluation.
 * @defgroup account Account
 * @{
 *
 * An account belongs to one engine and carries an external `uint64_t` id that is unique
 * within it. Its basket is the cross wallet; isolated positions carry their own margin.
 *
 * Cross pool: C_init/C_maint = weighted collateral + unrealised PnL of cross positions;
 * R_init/R_maint = weighted liabilities + IM/MM of cross positions. health_factor =
 * C_maint / R_maint. Isolated position: liquidatable when margin + PnL < MM; its surplus does
 * not help the cross pool. See docs/formulas.md for every definition and its source.
 */
#ifndef RISK_ACCOUNT_H
#define RISK_ACCOUNT_H

#include "risk/common.h"

RISK_BEGIN_DECLS

/** Margin mode: the account's default (positions only). */
#define RISK_MARGIN_DEFAULT 0u
/** Margin mode: cross (shared pool). */
#define RISK_MARGIN_CROSS 1u
/** Margin mode: isolated (the position's own margin). */
#define RISK_MARGIN_ISOLATED 2u
/** Margin mode (accounts only): portfolio margin. The account's IM and MM come from the engine's
 * portfolio-margin model (risk/portfolio.h, risk_engine_set_portfolio_margin()) instead of the sum
 * of its positions' margins; its positions are all in the portfolio (none isolated). */
#define RISK_MARGIN_PORTFOLIO 3u

/** Position mode: one position per instrument, signed quantity. */
#define RISK_POSITION_ONE_WAY 0u
/** Position mode: a long and a short leg per instrument. */
#define RISK_POSITION_HEDGE 1u

/** Side: one-way position (sign of the quantity gives the direction). */
#define RISK_SIDE_BOTH 0u
/** Side: long (hedge leg, or a one-way position with quantity > 0). */
#define RISK_SIDE_LONG 1u
/** Side: short (hedge leg, or a one-way position with quantity < 0). */
#define RISK_SIDE_SHORT 2u
/** Order side: buy (adds to a long, reduces a short). */
#define RISK_ORDER_BUY 1u
/** Order side: sell (adds to a short, reduces a long). */
#define RISK_ORDER_SELL 2u

/** Account state: health factor >= margin-call health and every isolated position above MM. */
#define RISK_STATE_HEALTHY 0u
/** Account state: 1 <= health factor < margin-call health. */
#define RISK_STATE_MARGIN_CALL 1u
/** Account state: health factor < 1, or an isolated position under its MM. */
#define RISK_STATE_LIQUIDATABLE 2u
/** Account state: equity <= 0 while it owes something or holds positions; also any summary
 *  whose money fields are not all finite or whose ratios hold a NaN (cannot happen inside the
 *  input domain of docs/errors.md; never reported as healthy). */
#define RISK_STATE_BANKRUPT 3u

/** Version of ::risk_account_summary this header describes. */
#define RISK_ACCOUNT_SUMMARY_VERSION 1

/**
 * @brief An account's health. Money in the valuation asset. Initialise with ::RISK_ACCOUNT_SUMMARY_INIT.
 *
 * Quantized unless the engine has ::RISK_ENGINE_NO_QUANTIZE: collateral and equity down,
 * requirements up, to the valuation asset's decimals; ratios are computed from the quantized
 * values.
 */
typedef struct risk_account_summary {
    uint32_t version;           /**< ::RISK_ACCOUNT_SUMMARY_VERSION, set by the caller. */
    uint32_t state;             /**< ::RISK_STATE_HEALTHY ... ::RISK_STATE_BANKRUPT. */
    double equity;              /**< Net worth: sum of balance x price + all unrealised PnL + isolated margins. */
    double collateral_value;    /**< Positive balances after value tiers, before weights. */
    double unrealized_pnl;      /**< Unrealised PnL of all positions. */
    double initial_margin;      /**< R_init: weighted liabilities (initial) + IM of cross positions. */
    double maintenance_margin;  /**< R_maint: weighted liabilities (maintenance) + MM of cross positions. */
    double available;           /**< C_init - R_init (free collateral; negative when short of IM). */
    double health_factor;       /**< C_maint / R_maint; INFINITY when nothing is required. */
    double margin_ratio;        /**< R_maint / C_maint; INFINITY when C_maint <= 0 and R_maint > 0; 0 when nothing is required. */
    double ltv;                 /**< liabilities / collateral_value; 0 without liabilities; INFINITY with liabilities and no collateral. */
    double ltv_buffer;          /**< (C_init - liabilities) / collateral_value; 0 when collateral_value is 0 and the numerator is 0, else +-INFINITY. */
    double leverage;            /**< Sum of |notional| in V / equity; INFINITY when equity <= 0 with positions; 0 without positions. */
    double collateral_init;     /**< C_init. */
    double collateral_maint;    /**< C_maint. */
    double liabilities;         /**< Negative balances at their prices, unweighted. */
    double isolated_margin;     /**< Sum of isolated margins, in V. */
    uint32_t n_positions;       /**< Open positions (hedge legs count one each). */
    uint32_t n_isolated_liquidatable; /**< Isolated positions under their MM. */
} risk_account_summary;

/** Initialiser for ::risk_account_summary. */
#define RISK_ACCOUNT_SUMMARY_INIT {RISK_ACCOUNT_SUMMARY_VERSION, 0u, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0u, 0u}

/** Position-result flag: a liquidation price exists. */
#define RISK_RESULT_HAS_LIQUIDATION_PRICE 0x1u
/** Position-result flag: a bankruptcy price exists. */
#define RISK_RESULT_HAS_BANKRUPTCY_PRICE 0x2u
/** Position-result flag: the position's margin pool is under its MM now. */
#define RISK_RESULT_LIQUIDATABLE 0x4u

/** Position-result flag (version 2): a liquidation price below the current price exists (liquidation_price_below). */
#define RISK_RESULT_HAS_LIQUIDATION_BELOW 0x8u
/** Position-result flag (version 2): a liquidation price above the current price exists (liquidation_price_above). */
#define RISK_RESULT_HAS_LIQUIDATION_ABOVE 0x10u
/** Position-result flag (version 2): the pool holds an option with no implied volatility at its mark
 *  (below intrinsic or past expiry), so its liquidation and bankruptcy prices were not solved (NaN). */
#define RISK_RESULT_UNSOLVED 0x20u

/** Version of ::risk_position_result this header describes (version 1, without the Greeks and the two-sided liquidation prices, is still accepted). */
#define RISK_POSITION_RESULT_VERSION 2

/**
 * @brief Per-position results. Money in the instrument's settle asset; prices in quote.
 *
 * Liquidation price: the mark at which the position's margin pool (cross, or its isolated
 * margin) reaches its MM exactly, when every price of the underlying (its instruments' marks and
 * the asset's own collateral price) moves by one ratio. Bankruptcy price: where the pool's
 * unweighted equity reaches 0. Rounded to the tick against the account (up when the pool gains
 * as the price rises, as a long does; down otherwise), so hedge legs sharing a cross pool share
 * one price; the unrounded roots are kept too. Absent prices are NaN with their flag clear.
 * Unless the engine has ::RISK_ENGINE_NO_QUANTIZE, unrealized_pnl is rounded down and the
 * margins up to the settle asset's decimals; the notional is not rounded.
 */
typedef struct risk_position_result {
    uint32_t version;           /**< ::RISK_POSITION_RESULT_VERSION, set by the caller in element 0. */
    uint32_t instrument;        /**< Instrument id. */
    uint32_t side;              /**< ::RISK_SIDE_LONG or ::RISK_SIDE_SHORT (direction of the quantity). */
    uint32_t margin_mode;       /**< ::RISK_MARGIN_CROSS or ::RISK_MARGIN_ISOLATED. */
    uint32_t flags;             /**< ::RISK_RESULT_HAS_LIQUIDATION_PRICE and friends. */
    uint32_t tier;              /**< Index of the margin tier in force (0-based). */
    double qty;                 /**< Signed quantity in contracts. */
    double entry;               /**< Average entry price. */
    double mark;                /**< Current mark. */
    double notional;            /**< |qty| x contract size x mark (linear) or |qty| x contract size / mark (inverse). */
    double unrealized_pnl;      /**< qty x cs x (mark - entry), or qty x cs x (1/entry - 1/mark) for inverse. */
    double initial_margin;      /**< notional / min(user leverage, tier max leverage), at the margin price (computed as notional x (1 / leverage), within an ulp). */
    double maintenance_margin;  /**< notional x mmr - cum of the tier, at the margin price. */
    double isolated_margin;     /**< Isolated margin (0 under cross). */
    double liquidation_price;   /**< Rounded to the tick against the account; NaN when none. */
    double bankruptcy_price;    /**< Rounded to the tick against the account; NaN when none. */
    double liquidation_price_raw; /**< The unrounded root; NaN when none. */
    double bankruptcy_price_raw;  /**< The unrounded root; NaN when none. */
    /* version 2 */
    double delta;               /**< Exposure to the underlying in underlying units: q x cs (linear future), q x cs / mark (inverse future), q x cs x the option's delta per unit of U (options; premium-adjusted for coin-settled ones, as Deribit shows it). */
    double gamma;               /**< Options: q x cs x d(delta)/dU; others 0. */
    double vega;                /**< Options: q x cs x d(mark)/d(vol), per unit of vol (1.0 = 100 vol points); others 0. */
    double theta;               /**< Options: q x cs x -d(mark)/dT, per year; others 0. */
    double mark_vol;            /**< Options: the mark implied volatility used (set, or implied from the mark); NaN for others or when none exists. */
    double value;               /**< Options: q x cs x mark, the position's mark value counted in equity (premium convention); futures: the unrealized PnL. Settle asset. */
    double underlying_price;    /**< Options: U, the underlying's price in quote that liquidation prices are given in; futures: the mark. */
    double liquidation_price_below; /**< Nearest liquidation price below the current one (options: of the underlying), rounded against the account; NaN when none. */
    double liquidation_price_above; /**< Nearest liquidation price above the current one, rounded against the account; NaN when none. */
} risk_position_result;

/** Initialiser for ::risk_position_result. */
#define RISK_POSITION_RESULT_INIT {RISK_POSITION_RESULT_VERSION, 0u, 0u, 0u, 0u, 0u, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
    0, 0, 0, 0, 0, 0, 0, 0, 0}

/** Version of ::risk_position_spec this header describes. */
#define RISK_POSITION_SPEC_VERSION 1

/**
 * @brief A position to open (or load from a ledger). Initialise with ::RISK_POSITION_SPEC_INIT.
 *
 * One-way mode: side ::RISK_SIDE_BOTH and a signed qty. Hedge mode: side ::RISK_SIDE_LONG or
 * ::RISK_SIDE_SHORT and qty > 0. The entry is an average, so it need not be on the tick.
 */
typedef struct risk_position_spec {
    uint32_t version;        /**< ::RISK_POSITION_SPEC_VERSION. */
    uint32_t instrument;     /**< Instrument id. */
    uint32_t side;           /**< ::RISK_SIDE_BOTH (one-way), ::RISK_SIDE_LONG or ::RISK_SIDE_SHORT (hedge). */
    uint32_t margin_mode;    /**< ::RISK_MARGIN_DEFAULT (the account's), ::RISK_MARGIN_CROSS or ::RISK_MARGIN_ISOLATED. */
    double qty;              /**< Contracts, a whole number of lots, 1 to 2^53 (::RISK_LOTS_MAX) lots in magnitude. */
    double entry;            /**< Average entry price in quote, in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX], at least one tick and at most 2^52 ticks (need not be on the tick). */
    double isolated_margin;  /**< Isolated: margin in the settle asset, >= 0 and at most 2^53 quanta of it (::RISK_AMOUNT_QUANTA_MAX); cross: must be 0. */
} risk_position_spec;

/** Initialiser for ::risk_position_spec. */
#define RISK_POSITION_SPEC_INIT {RISK_POSITION_SPEC_VERSION, RISK_ID_NONE, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 0, 0, 0}

/* ---------------------------------------------------------------- lifecycle */

/**
 * @brief Creates an account in an engine.
 * @param[out] out The account; NULL on failure.
 * @param[in] engine The engine (kept alive by the account).
 * @param[in] account_id External id, unique in the engine.
 * @param[in] margin_mode ::RISK_MARGIN_CROSS or ::RISK_MARGIN_ISOLATED (default for its positions), or
 *            ::RISK_MARGIN_PORTFOLIO (IM and MM from the engine's portfolio-margin model).
 * @param[in] position_mode ::RISK_POSITION_ONE_WAY or ::RISK_POSITION_HEDGE.
 * @retval RISK_OK Created.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EINVAL Unknown mode.
 * @retval RISK_EDUPLICATE The id is taken.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_account_new(risk_account **out, risk_engine *engine, uint64_t account_id,
                                             uint32_t margin_mode, uint32_t position_mode);

/**
 * @brief Frees an account, its basket and its positions (their handles become invalid). NULL is a no-op.
 * @param[in] account The account or NULL.
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API void risk_account_free(risk_account *account);

/* ---------------------------------------------------------------- configuration */

/**
 * @brief Sets the user leverage for one instrument.
 *
 * IM = notional / min(leverage, max leverage of the tier in force). Without a setting, the
 * tier's maximum applies.
 * @param[in] account The account.
 * @param[in] instrument Instrument id.
 * @param[in] leverage Finite, >= 1 and <= the schedule's highest max leverage (itself at most ::RISK_LEVERAGE_MAX).
 * @retval RISK_OK Set.
 * @retval RISK_ENULL NULL account.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL Not finite or < 1.
 * @retval RISK_ELEVERAGE Above the schedule's highest max leverage.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Mutates the account.
 */
RISK_API RISK_NODISCARD int risk_account_set_leverage(risk_account *account, uint32_t instrument, double leverage);

/**
 * @brief The user leverage for an instrument (0 when unset: the tier's maximum applies).
 * @param[in] account The account.
 * @param[in] instrument Instrument id.
 * @param[out] out The leverage or 0.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @par Thread safety
 * Reads the account.
 */
RISK_API RISK_NODISCARD int risk_account_leverage(const risk_account *account, uint32_t instrument, double *out);

/**
 * @brief The account's basket (its cross wallet).
 * @param[in] account The account, or NULL.
 * @return The basket, owned by the account and valid as long as it; NULL for a NULL account.
 * @par Thread safety
 * Reads the account.
 */
RISK_API risk_basket *risk_account_basket(risk_account *account);

/* ---------------------------------------------------------------- operations */

/**
 * @brief Opens a position (or loads one from a ledger).
 * @param[in] account The account.
 * @param[in] spec The position.
 * @param[out] pos_out The position handle, owned by the account; may be NULL (no handle is
 *             made then: a book loaded without handles costs no memory for them).
 * @retval RISK_OK Opened.
 * @retval RISK_ENULL NULL account or spec.
 * @retval RISK_EVERSION Unknown spec version.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL qty 0, not finite or above 2^53 lots; entry outside [::RISK_PRICE_MIN, ::RISK_PRICE_MAX], below one tick or above 2^52 ticks; isolated margin negative, not finite, above 2^53 quanta, or non-zero under cross; unknown side or mode.
 * @retval RISK_ELOT qty not a whole number of lots.
 * @retval RISK_ESTATE Side does not fit the position mode (hedge legs need LONG/SHORT with qty > 0; one-way needs BOTH).
 * @retval RISK_EDUPLICATE The instrument (one-way) or leg (hedge) already has a position.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Mutates the account.
 */
RISK_API RISK_NODISCARD int risk_account_open_position(risk_account *account, const risk_position_spec *spec, risk_position **pos_out);

/**
 * @brief Evaluates the account's health.
 * @param[in] account The account.
 * @param[in,out] out Summary with `version` set by the caller.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown summary version.
 * @par Thread safety
 * Reads the account and its engine; never allocates.
 */
RISK_API RISK_NODISCARD int risk_account_evaluate(const risk_account *account, risk_account_summary *out);

/**
 * @brief Per-position results, with liquidation and bankruptcy prices, in position order.
 * @param[in] account The account.
 * @param[in,out] out Array of @p capacity results; `out[0].version` gives the layout of all.
 * @param[in] capacity Length of @p out (may be 0 to ask for the count).
 * @param[out] count_out Number of positions (also on ::RISK_EBUFFER).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL account or count_out, or NULL out with capacity > 0.
 * @retval RISK_EBUFFER @p capacity too small; *count_out tells the need.
 * @retval RISK_EVERSION Unknown result version.
 * @par Thread safety
 * Reads the account and its engine; never allocates.
 */
RISK_API RISK_NODISCARD int risk_account_position_results(const risk_account *account, risk_position_result *out,
                                                          size_t capacity, size_t *count_out);

/* ---------------------------------------------------------------- introspection */

/**
 * @brief The account's external id.
 * @param[in] account The account; NULL gives 0.
 * @return The id.
 * @par Thread safety
 * Reads the account.
 */
RISK_API uint64_t risk_account_id(const risk_account *account);

/**
 * @brief The account's default margin mode.
 * @param[in] account The account; NULL gives ::RISK_ID_NONE.
 * @return ::RISK_MARGIN_CROSS, ::RISK_MARGIN_ISOLATED or ::RISK_MARGIN_PORTFOLIO.
 * @par Thread safety
 * Reads the account.
 */
RISK_API uint32_t risk_account_margin_mode(const risk_account *account);

/**
 * @brief The account's position mode.
 * @param[in] account The account; NULL gives ::RISK_ID_NONE.
 * @return ::RISK_POSITION_ONE_WAY or ::RISK_POSITION_HEDGE.
 * @par Thread safety
 * Reads the account.
 */
RISK_API uint32_t risk_account_position_mode(const risk_account *account);

/**
 * @brief Number of open positions.
 * @param[in] account The account; NULL gives 0.
 * @return The count.
 * @par Thread safety
 * Reads the account.
 */
RISK_API size_t risk_account_position_count(const risk_account *account);

/**
 * @brief The i-th open position, in position order (opening order; a closed one leaves no gap).
 * @param[in] account The account.
 * @param[in] index 0 .. count - 1.
 * @param[out] out The handle (owned by the account; made on the first request for this
 *             position, then the same pointer until the position closes).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_ENOTFOUND index out of range.
 * @retval RISK_ENOMEM Out of memory for the handle.
 * @par Thread safety
 * Reads the account.
 */
RISK_API RISK_NODISCARD int risk_account_position_at(const risk_account *account, size_t index, risk_position **out);

/**
 * @brief Finds the position of an instrument and side.
 * @param[in] account The account.
 * @param[in] instrument Instrument id.
 * @param[in] side ::RISK_SIDE_BOTH in one-way mode, ::RISK_SIDE_LONG or ::RISK_SIDE_SHORT in hedge mode.
 * @param[out] out The handle (owned by the account; made on the first request for this
 *             position, then the same pointer until the position closes).
 * @retval RISK_OK Found.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_ENOTFOUND No such position.
 * @retval RISK_ESTATE Side does not fit the position mode.
 * @retval RISK_ENOMEM Out of memory for the handle.
 * @par Thread safety
 * Reads the account.
 */
RISK_API RISK_NODISCARD int risk_account_find_position(const risk_account *account, uint32_t instrument, uint32_t side,
                                                       risk_position **out);

/**
 * @brief The account's last error message.
 * @param[in] account The account, or NULL.
 * @return Text owned by the account, valid until its next call; "" when none; never NULL.
 * @par Thread safety
 * As for the account.
 */
RISK_API const char *risk_account_errmsg(const risk_account *account);

RISK_END_DECLS

/** @} */
#endif /* RISK_ACCOUNT_H */
