/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/rates.h
 * @brief Interest-rate models, lending pools and the accrual of interest, per asset.
 * @defgroup rates Interest rates and accrual
 * @{
 *
 * An asset may carry a rate model: a curve giving the borrow and supply rates from the
 * utilisation of its lending pool (Aave v3 two-slope with its stable rate, Compound v3 kinks,
 * Drift's multi-kink curve, or a flat hourly rate as CEX margin lending charges). The engine
 * keeps, per such asset, a pool (total supply, total borrow, reserves) and two indices, one for
 * deposits and one for debts. Every basket holds its balance of the asset as a scaled amount
 * s: the balance is s x supply index when s > 0 and s x borrow index when s < 0. Accrual over a
 * time step (::risk_engine_accrue) moves the indices only, so it costs O(assets) whatever the
 * number of accounts, and every valuation (basket, account summary, liquidation prices and
 * plans, what-if, max order) sees the accrued balances at once.
 *
 * Funding of perpetuals: Binance's and Drift's funding rates and the settlement of a funding rate
 * to every position of an instrument (::risk_engine_settle_funding).
 *
 * Leveraged tokens: a constant-leverage product simulated over a price path
 * (::risk_levtoken_simulate).
 *
 * Rates are fractions per year of 365 days (31,536,000 s, the year of Aave, Compound and Drift)
 * unless a name says otherwise. Formulas, derivations and sources: docs/rates.md.
 */
#ifndef RISK_RATES_H
#define RISK_RATES_H

#include "risk/common.h"

RISK_BEGIN_DECLS

/** @name Rate model kinds (::risk_rate_model.kind) */
/** @{ */
/** No model: the asset bears no interest (its indices stay where they are). */
#define RISK_RATE_MODEL_NONE 0u
/** Aave v3 DefaultReserveInterestRateStrategy: two-slope variable rate, stable rate, reserve factor. */
#define RISK_RATE_MODEL_AAVE 1u
/** Compound v3 (Comet): separate supply and borrow curves, each with one kink. */
#define RISK_RATE_MODEL_COMET 2u
/** Drift protocol v2: linear to the optimal rate, then six weighted kinks to the maximum, a floor. */
#define RISK_RATE_MODEL_DRIFT 3u
/** A flat hourly rate (CEX margin lending), independent of utilisation. */
#define RISK_RATE_MODEL_FLAT 4u
/** @} */

/** @name Accrual (compounding) rules (::risk_rate_model.accrual) */
/** @{ */
/** The model's own: Aave for ::RISK_RATE_MODEL_AAVE, linear for Comet and Drift, hourly for flat. */
#define RISK_ACCRUAL_DEFAULT 0u
/** Aave v3: supply index x (1 + r dt / Y); borrow index x the three-term Taylor expansion of
 *  (1 + r / Y)^dt (MathUtils.calculateCompoundedInterest). */
#define RISK_ACCRUAL_AAVE 1u
/** Both indices x (1 + r dt / Y): per-second rate times the step (Comet accrueInternal, Drift). */
#define RISK_ACCRUAL_LINEAR 2u
/** Both indices x exp(r dt / Y): continuous compounding. */
#define RISK_ACCRUAL_CONTINUOUS 3u
/** Whole hours: each UTC hour boundary passed multiplies by (1 + hourly rate), and a new
 *  borrow is charged its first hour when it is taken (Binance: every started hour is charged). */
#define RISK_ACCRUAL_HOURLY 4u
/** @} */

/** Seconds in the rate year (365 days), as in Aave's SECONDS_PER_YEAR, Comet and Drift. */
#define RISK_RATE_YEAR_S 31536000.0

/** Version of ::risk_rate_model this header describes. */
#define RISK_RATE_MODEL_VERSION 1

/**
 * @brief An interest-rate model. Initialise with ::RISK_RATE_MODEL_INIT, set `kind` and the
 * fields of that kind; the others are ignored. Rates are annual fractions (0.04 = 4 %/year)
 * unless the name says hourly; utilisations and ratios are fractions of 1. Every field must be
 * finite and >= 0.
 */
typedef struct risk_rate_model {
    uint32_t version;          /**< ::RISK_RATE_MODEL_VERSION, set by the caller. */
    uint32_t kind;             /**< RISK_RATE_MODEL_*. */
    uint32_t accrual;          /**< RISK_ACCRUAL_*; ::RISK_ACCRUAL_DEFAULT picks the model's own. */
    uint32_t reserved;         /**< 0. */
    double reserve_factor;     /**< Aave reserve factor, Drift insurance-fund factor: share of the interest kept by the venue, in [0, 1). Comet and flat ignore it. */
    /* Aave v3 (DefaultReserveInterestRateStrategy) */
    double aave_optimal_usage;        /**< U_opt, in (0, 1). */
    double aave_base_variable;        /**< Variable rate at U = 0. */
    double aave_slope1;               /**< Variable slope up to U_opt (rate added at U_opt). */
    double aave_slope2;               /**< Variable slope above U_opt (rate added from U_opt to 1). */
    double aave_stable_slope1;        /**< Stable slope up to U_opt. */
    double aave_stable_slope2;        /**< Stable slope above U_opt. */
    double aave_base_stable_offset;   /**< Stable rate at U = 0 is aave_slope1 + this. */
    double aave_excess_stable_offset; /**< Added in full when all debt is stable. */
    double aave_optimal_stable_ratio; /**< Stable share of the debt above which the excess offset applies, in [0, 1). */
    /* Compound v3 (Comet): rate = base + low x min(U, kink) + high x max(U - kink, 0) */
    double comet_supply_kink;         /**< Supply curve kink, in (0, 1]. */
    double comet_supply_base;         /**< Supply rate at U = 0. */
    double comet_supply_slope_low;    /**< Supply rate per unit of U below the kink. */
    double comet_supply_slope_high;   /**< Supply rate per unit of U above the kink. */
    double comet_borrow_kink;         /**< Borrow curve kink, in (0, 1]. */
    double comet_borrow_base;         /**< Borrow rate at U = 0. */
    double comet_borrow_slope_low;    /**< Borrow rate per unit of U below the kink. */
    double comet_borrow_slope_high;   /**< Borrow rate per unit of U above the kink. */
    /* Drift protocol v2 (math/spot_balance.rs calculate_borrow_rate) */
    double drift_optimal_utilisation; /**< Optimal utilisation, in (0, 0.85): the kinks are at 85, 90, 95, 99, 99.5 %. */
    double drift_optimal_rate;        /**< Borrow rate at the optimal utilisation. */
    double drift_max_rate;            /**< Borrow rate at U = 1, >= drift_optimal_rate. */
    double drift_min_rate;            /**< Floor of the borrow rate. */
    /* flat (CEX margin lending) */
    double flat_borrow_hourly;        /**< Borrow rate per hour (Binance W9: 0.00001 = 0.001 %/h). */
    double flat_supply_hourly;        /**< Rate per hour paid to deposits (0 when deposits earn nothing). */
} risk_rate_model;

/** Initialiser for ::risk_rate_model: kind none, every parameter 0. */
#define RISK_RATE_MODEL_INIT \
    {RISK_RATE_MODEL_VERSION, RISK_RATE_MODEL_NONE, RISK_ACCRUAL_DEFAULT, 0u, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/** Version of ::risk_rates this header describes. */
#define RISK_RATES_VERSION 1

/** @brief The rates of a model at one utilisation. Initialise with ::RISK_RATES_INIT. */
typedef struct risk_rates {
    uint32_t version;              /**< ::RISK_RATES_VERSION, set by the caller. */
    uint32_t reserved;             /**< 0. */
    double utilisation;            /**< Borrow usage the rates were taken at, in [0, 1]. */
    double borrow_annual;          /**< Variable borrow rate (flat: hourly x 8760). */
    double supply_annual;          /**< Rate deposits earn (Aave's liquidity rate; flat: hourly x 8760). */
    double stable_borrow_annual;   /**< Aave: the stable rate a new stable borrow gets; 0 for other models. */
    double average_borrow_annual;  /**< Aave: variable and stable debt weighted by amount; borrow_annual for other models. */
} risk_rates;

/** Initialiser for ::risk_rates. */
#define RISK_RATES_INIT {RISK_RATES_VERSION, 0u, 0, 0, 0, 0, 0}

/** Version of ::risk_rate_pool this header describes. */
#define RISK_RATE_POOL_VERSION 1

/**
 * @brief The lending pool of an asset, in asset units. Initialise with ::RISK_RATE_POOL_INIT.
 *
 * Identity kept by every call: cash = supply + reserves - borrow - stable_borrow (the pool's
 * available liquidity). Utilisation: Aave (borrow + stable_borrow) / (supply + reserves);
 * Comet, Drift and flat borrow / supply (1 with borrows and no supply, 0 when both are 0).
 */
typedef struct risk_rate_pool {
    uint32_t version;           /**< ::RISK_RATE_POOL_VERSION, set by the caller. */
    uint32_t started;           /**< Read: 1 once the pool has a time (set, or a first accrual). Ignored when set: the pool is given a time. */
    double supply;              /**< Total deposits (sum of positive scaled amounts x supply_index), >= 0. */
    double borrow;              /**< Total variable debt (sum of |negative scaled amounts| x borrow_index), >= 0. */
    double stable_borrow;       /**< Aave total stable debt, >= 0 (pool level only: accounts hold variable debt). */
    double stable_rate_annual;  /**< Aave average stable rate of that debt, >= 0. */
    double reserves;            /**< The venue's share of the interest (Aave treasury, Comet reserves); any sign. */
    double supply_index;        /**< Deposit index, finite and > 0 (1 at the start). */
    double borrow_index;        /**< Debt index, finite and > 0 (1 at the start). */
    int64_t updated_unix_s;     /**< Time of the last accrual, Unix seconds. */
} risk_rate_pool;

/** Initialiser for ::risk_rate_pool: empty, indices 1, time 0. */
#define RISK_RATE_POOL_INIT {RISK_RATE_POOL_VERSION, 0u, 0, 0, 0, 0, 0, 1.0, 1.0, 0}

/** Version of ::risk_rate_cost this header describes. */
#define RISK_RATE_COST_VERSION 1

/**
 * @brief What one balance of a rate-bearing asset costs (> 0) or earns (< 0). Initialise with
 * ::RISK_RATE_COST_INIT. Amounts in asset units unless the name ends in `_value` (valuation
 * asset at the current price). Projections hold today's rates for the whole horizon and
 * compound as the asset's accrual rule does. Not quantized.
 */
typedef struct risk_rate_cost {
    uint32_t version;           /**< ::RISK_RATE_COST_VERSION, set by the caller. */
    uint32_t asset;             /**< Asset id. */
    double balance;             /**< Signed balance now (negative = debt). */
    double rate_annual;         /**< The rate it pays (debt: borrow rate) or earns (deposit: supply rate). */
    double cost_annual;         /**< Interest per year at that rate, without compounding: -balance x rate. */
    double cost_horizon;        /**< Interest over the horizon: -(balance x (index factor - 1)). */
    double cost_annual_value;   /**< cost_annual x price. */
    double cost_horizon_value;  /**< cost_horizon x price. */
} risk_rate_cost;

/** Initialiser for ::risk_rate_cost. */
#define RISK_RATE_COST_INIT {RISK_RATE_COST_VERSION, 0u, 0, 0, 0, 0, 0, 0}

/**
 * @brief The rates of a model at a given utilisation (no engine needed).
 * @param[in,out] out Rates, `version` set by the caller.
 * @param[in] model The model (validated as by ::risk_engine_set_rate_model).
 * @param[in] utilisation Borrow usage, in [0, 1]: debt / (available liquidity + debt).
 * @param[in] supply_usage Aave's supply usage in [0, utilisation]: debt / (available + unbacked +
 *            debt); pass `utilisation` when nothing is unbacked. Other models ignore it.
 * @param[in] stable_share Aave: stable debt / total debt, in [0, 1]; 0 for other models.
 * @param[in] stable_rate_annual Aave: average rate of the stable debt, >= 0.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown version of out or model.
 * @retval RISK_EINVAL Bad model, or an input out of range or not finite.
 * @par Thread safety
 * Pure.
 */
RISK_API RISK_NODISCARD int risk_rate_model_rates(risk_rates *out, const risk_rate_model *model, double utilisation,
                                                  double supply_usage, double stable_share, double stable_rate_annual);

/**
 * @brief Gives an asset a rate model, or replaces it (the pool and indices stay).
 *
 * A new pool starts empty with indices 1 and no time: the first ::risk_engine_accrue gives it
 * one. ::RISK_RATE_MODEL_NONE stops accrual; indices and balances stay as they are.
 * @param[in,out] engine The engine.
 * @param[in] asset Asset id.
 * @param[in] model The model: kind known, every field finite and >= 0, reserve_factor < 1,
 *            utilisations and kinks in their ranges (see ::risk_rate_model).
 * @retval RISK_OK Set.
 * @retval RISK_ENULL NULL engine or model.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EVERSION Unknown model version.
 * @retval RISK_EINVAL Bad model (the message names the field).
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Writes the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_rate_model(risk_engine *engine, uint32_t asset, const risk_rate_model *model);

/**
 * @brief An asset's rate model (kind ::RISK_RATE_MODEL_NONE when it has none).
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @param[in,out] out The model, `version` set by the caller.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EVERSION Unknown version of out.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_rate_model(const risk_engine *engine, uint32_t asset, risk_rate_model *out);

/**
 * @brief Loads an asset's pool (for instance a venue's reserve data) and starts its clock.
 *
 * Every basket's balance of the asset becomes its scaled amount x the new index of its sign:
 * changing an index revalues every holder at once.
 * @param[in,out] engine The engine.
 * @param[in] asset Asset id; it must have a rate model.
 * @param[in] pool The pool: amounts finite and >= 0 (reserves any finite value), indices
 *            finite and > 0.
 * @retval RISK_OK Set.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_ESTATE The asset has no rate model.
 * @retval RISK_EVERSION Unknown pool version.
 * @retval RISK_EINVAL A field out of range.
 * @par Thread safety
 * Writes the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_rate_pool(risk_engine *engine, uint32_t asset, const risk_rate_pool *pool);

/**
 * @brief An asset's pool now (as of its last accrual).
 * @param[in] engine The engine.
 * @param[in] asset Asset id; it must have a rate model.
 * @param[in,out] out The pool, `version` set by the caller.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_ESTATE The asset has no rate model.
 * @retval RISK_EVERSION Unknown version of out.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_rate_pool(const risk_engine *engine, uint32_t asset, risk_rate_pool *out);

/**
 * @brief An asset's rates at its pool's utilisation now.
 * @param[in] engine The engine.
 * @param[in] asset Asset id; it must have a rate model.
 * @param[in,out] out The rates, `version` set by the caller.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_ESTATE The asset has no rate model.
 * @retval RISK_EVERSION Unknown version of out.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_rates(const risk_engine *engine, uint32_t asset, risk_rates *out);

/**
 * @brief Accrues interest on every rate-bearing asset up to `now_unix_s`: O(assets).
 *
 * For each asset with a model and a started pool, the rates at the pool's utilisation (held
 * over the step) move the indices by the accrual rule; the pool's supply and borrow follow
 * their indices, its stable debt compounds at its average rate, and reserves take the
 * difference (interest paid minus interest earned), so that supply + reserves - borrow -
 * stable borrow (the cash) does not change. A pool without a time takes `now_unix_s`.
 * @param[in,out] engine The engine.
 * @param[in] now_unix_s Time, Unix seconds, not before any pool's last accrual.
 * @retval RISK_OK Done (also when no asset has a model).
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_EINVAL Time before a pool's last accrual, or an index would overflow.
 * @par Thread safety
 * Writes the engine: no evaluation may run meanwhile.
 */
RISK_API RISK_NODISCARD int risk_engine_accrue(risk_engine *engine, int64_t now_unix_s);

/**
 * @brief Moves a balance of a rate-bearing asset through its pool: deposit or repay
 * (`delta` > 0), withdraw or borrow (`delta` < 0).
 *
 * The balance changes by `delta` as with ::risk_basket_add_balance, and the pool's supply,
 * borrow and cash follow (cash by `delta`). Under ::RISK_ACCRUAL_HOURLY the debt a borrow adds
 * is charged its first hour at once (to reserves). Call ::risk_engine_accrue first so that the
 * move lands at today's indices. Other balance changes (::risk_basket_set_balance, fills,
 * liquidation) do not move the pool.
 * @param[in,out] basket The basket (standalone or an account's).
 * @param[in] asset Asset id; it must have a rate model.
 * @param[in] delta Amount in asset units, finite.
 * @retval RISK_OK Moved.
 * @retval RISK_ENULL NULL basket.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_ESTATE The asset has no rate model.
 * @retval RISK_EINVAL Not finite, or the balance would overflow.
 * @retval RISK_ELIMIT A withdrawal or borrow beyond the pool's cash.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Writes the basket and the engine.
 */
RISK_API RISK_NODISCARD int risk_basket_pool_transfer(risk_basket *basket, uint32_t asset, double delta);

/**
 * @brief The scaled amount a basket stores for an asset (the balance divided by the index of
 * its sign; the balance itself for an asset whose indices are 1).
 * @param[in] basket The basket.
 * @param[in] asset Asset id.
 * @param[out] out Scaled amount (0 when not held).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @par Thread safety
 * Reads the basket.
 */
RISK_API RISK_NODISCARD int risk_basket_scaled_balance(const risk_basket *basket, uint32_t asset, double *out);

/**
 * @brief What a basket's rate-bearing balances cost now and over a horizon, one entry per
 * asset with a rate model and a non-zero balance, in the basket's order.
 * @param[in] basket The basket (for an account: risk_account_basket()).
 * @param[in] horizon_s Horizon in seconds, finite and >= 0.
 * @param[in,out] out Array of `capacity` entries, each with `version` set by the caller; NULL
 *            when capacity is 0 (to count).
 * @param[in] capacity Entries in out.
 * @param[out] n_out Number of entries the basket has (also when out is too small).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL basket or n_out, or NULL out with capacity > 0.
 * @retval RISK_EINVAL Horizon not finite or negative.
 * @retval RISK_EVERSION Unknown version in out.
 * @retval RISK_EBUFFER capacity < *n_out (nothing written).
 * @par Thread safety
 * Reads the basket and its engine.
 */
RISK_API RISK_NODISCARD int risk_basket_rate_costs(const risk_basket *basket, double horizon_s, risk_rate_cost *out,
                                                   size_t capacity, size_t *n_out);


/* ---------------------------------------------------------------- funding of perpetuals */

/**
 * @brief Binance's funding rate: F = P + clamp(I - P, -clamp, +clamp), then clamp(F, -cap, cap).
 *
 * Source: Binance futures funding (research/cex-anchors.md 1.7): P the premium index (the
 * interval's time-weighted average), I the interest rate (0.0001 per 8 h), clamp 0.0005.
 * Payment = position notional x F, longs pay when F > 0 (::risk_engine_settle_funding).
 * @param[out] out The funding rate for the interval, a fraction.
 * @param[in] premium_index Premium index P, a fraction, finite.
 * @param[in] interest_rate Interest rate I per funding interval, a fraction, finite.
 * @param[in] clamp Bound on |I - P|, >= 0 (Binance 0.0005).
 * @param[in] cap Bound on |F|, >= 0; 0 for none (Binance: a multiple of the maintenance margin rate).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL out.
 * @retval RISK_EINVAL An input not finite, or clamp or cap negative.
 * @par Thread safety
 * Pure.
 */
RISK_API RISK_NODISCARD int risk_funding_rate_binance(double *out, double premium_index, double interest_rate,
                                                      double clamp, double cap);

/**
 * @brief Drift's funding rate per funding period, as a fraction of the oracle TWAP.
 *
 * Source: drift-labs/protocol-v2 `controller/funding.rs` (`update_funding_rate`) and
 * `state/perp_market.rs` (`get_max_price_divergence_for_funding_rate`), research/defi-anchors.md
 * 2.1 and D8: spread = mark_twap - oracle_twap + oracle_twap / offset_denominator (only the
 * offset when |mark_twap - oracle_twap| <= oracle_twap / dead_zone_denominator), clamped to
 * +/- oracle_twap / max_divergence_divisor, divided by the periods in a day
 * (floor(24 h / max(1 h, period))). Drift's rate in quote per base is `*out` x oracle_twap:
 * settle it with ::risk_engine_settle_funding at price = oracle_twap. The constants changed
 * between Drift versions, hence parameters: offset_denominator 5000 (7.3 %/year for hourly
 * funding) then 3333 (10.95 %), dead zone 2000 (0.05 %) from the later version, 0 for none.
 * @param[out] out Rate per period, a fraction (> 0: longs pay).
 * @param[in] mark_twap Mark price TWAP, quote per base, finite and > 0.
 * @param[in] oracle_twap Oracle price TWAP, quote per base, finite and > 0.
 * @param[in] period_s Funding period in seconds, > 0 (Drift: 3600).
 * @param[in] max_divergence_divisor The contract tier's divisor, > 0 (33 tiers A and B, 20 C, 10 others).
 * @param[in] offset_denominator >= 0; 0: no offset.
 * @param[in] dead_zone_denominator >= 0; 0: no dead zone.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL out.
 * @retval RISK_EINVAL An input out of range or not finite.
 * @par Thread safety
 * Pure.
 */
RISK_API RISK_NODISCARD int risk_funding_rate_drift(double *out, double mark_twap, double oracle_twap, double period_s,
                                                    double max_divergence_divisor, double offset_denominator,
                                                    double dead_zone_denominator);

/** Version of ::risk_funding_result this header describes. */
#define RISK_FUNDING_RESULT_VERSION 1

/** @brief What one funding settlement moved. Initialise with ::RISK_FUNDING_RESULT_INIT. */
typedef struct risk_funding_result {
    uint32_t version;        /**< ::RISK_FUNDING_RESULT_VERSION, set by the caller. */
    uint32_t instrument;     /**< The instrument settled. */
    uint64_t n_positions;    /**< Positions that paid or received a non-zero amount. */
    double rate;             /**< The rate settled. */
    double paid;             /**< Sum paid by positions, settle asset, >= 0 (rounded up per position). */
    double received;         /**< Sum received by positions, settle asset, >= 0 (rounded down per position). */
} risk_funding_result;

/** Initialiser for ::risk_funding_result. */
#define RISK_FUNDING_RESULT_INIT {RISK_FUNDING_RESULT_VERSION, 0u, 0u, 0, 0, 0}

/**
 * @brief Settles a funding rate to every position of a perpetual, at a funding time.
 *
 * Each position of q contracts (long > 0) pays rate x q x cs x price (linear, in the settle
 * asset) or rate x q x cs / price (inverse, in the settle asset, the base coin): longs pay and
 * shorts receive when the rate is positive. A cross position's payment moves its account's
 * settle balance; an isolated position's its isolated margin (what the margin cannot pay comes
 * from the settle balance). Quantized against the account unless the engine has
 * ::RISK_ENGINE_NO_QUANTIZE: paid rounded up, received rounded down. Every balance and isolated
 * margin a payment reaches must stay within the amount domain (docs/errors.md section 4), or
 * nothing is paid. O(accounts of the engine).
 * @param[in,out] engine The engine.
 * @param[in] instrument A perpetual.
 * @param[in] rate Funding rate for the interval, a fraction in [-1, 1] (from
 *            ::risk_funding_rate_binance or fed by the caller).
 * @param[in] price Price the position values are taken at (quote per base), in
 *            [::RISK_PRICE_MIN, ::RISK_PRICE_MAX], or 0 for the instrument's mark (Binance: the
 *            mark price).
 * @param[in,out] out What moved (`version` set by the caller), or NULL.
 * @retval RISK_OK Settled.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_ESTATE Not a perpetual.
 * @retval RISK_EINVAL Rate or price out of range, or a payment would take an account's settle
 *         balance or an isolated margin beyond 2^53 quanta (the message names the account;
 *         nothing settled).
 * @retval RISK_EVERSION Unknown version in out.
 * @retval RISK_ENOMEM Out of memory (nothing settled).
 * @par Thread safety
 * Writes the engine and its accounts.
 */
RISK_API RISK_NODISCARD int risk_engine_settle_funding(risk_engine *engine, uint32_t instrument, double rate,
                                                       double price, risk_funding_result *out);

/**
 * @brief Advances a perpetual's cumulative funding indices by one funding period (Drift's
 *        cumulative funding rate), touching no account: O(1).
 *
 * Each side's index, per contract in the settle asset, grows by rate x cs x price (linear) or
 * rate x cs / price (inverse), the payment ::risk_engine_settle_funding makes for one contract.
 * A position of q contracts then has pending funding -q x (I - last), I the index of its side and
 * last the one it last settled at (set when it opens, fills or settles): longs pay when the rate
 * is positive. Pending funding counts in every evaluation of the account (summary, what-if, max
 * order, liquidation prices and plans, scenario P&L) as unrealised PnL of a cross position or as
 * margin of an isolated one, rounded against the account as a settlement would round it, and
 * becomes balance with ::risk_account_settle_funding or any fill of the position. Drift keeps one
 * index per side because it may cap the receiving side's rate (defi-anchors.md D8): pass the same
 * rate twice otherwise. docs/rates.md 8.4.
 * @param[in,out] engine The engine.
 * @param[in] instrument A perpetual.
 * @param[in] rate_long Funding rate paid by longs for the period, a fraction in [-1, 1].
 * @param[in] rate_short Funding rate received by shorts for the period, a fraction in [-1, 1].
 * @param[in] price Price the contract is valued at (quote per base), in [::RISK_PRICE_MIN,
 *            ::RISK_PRICE_MAX], or 0 for the instrument's mark.
 * @param[in] time_unix_s Funding time, Unix seconds, not before the last accrual's (recorded).
 * @retval RISK_OK Accrued.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_ESTATE Not a perpetual.
 * @retval RISK_EINVAL A rate, the price or the time out of range, or an index leaving
 *         [-::RISK_NOTIONAL_MAX, ::RISK_NOTIONAL_MAX], which keeps every position's pending
 *         funding finite (nothing changed). Pending funding may exceed what a balance can hold:
 *         it is counted in evaluations, and settling it is refused (::risk_account_settle_funding).
 * @par Thread safety
 * Writes the engine; no evaluation of its accounts may run concurrently.
 */
RISK_API RISK_NODISCARD int risk_engine_accrue_funding(risk_engine *engine, uint32_t instrument, double rate_long,
                                                       double rate_short, double price, int64_t time_unix_s);

/**
 * @brief A perpetual's cumulative funding indices and the time of their last accrual.
 * @param[in] engine The engine.
 * @param[in] instrument An instrument (0 and 0 for one that never accrued).
 * @param[out] long_out Longs' index, per contract, settle asset.
 * @param[out] short_out Shorts' index, per contract, settle asset.
 * @param[out] time_out Unix seconds of the last accrual (0 before any), or NULL.
 * @retval RISK_OK Filled.
 * @retval RISK_ENULL NULL engine, long_out or short_out.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_funding_index(const risk_engine *engine, uint32_t instrument,
                                                      double *long_out, double *short_out, int64_t *time_out);

/**
 * @brief The funding an account's positions settled in one asset would receive (> 0) or pay
 *        (< 0) if settled now: the sum of their pending funding, as evaluation counts it.
 * @param[in] account The account.
 * @param[in] asset The settle asset.
 * @param[out] out Pending funding, asset units (each position's rounded against the account).
 * @retval RISK_OK Filled.
 * @retval RISK_ENULL NULL account or out.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @par Thread safety
 * Reads the account and its engine.
 */
RISK_API RISK_NODISCARD int risk_account_funding_pending(const risk_account *account, uint32_t asset, double *out);

/**
 * @brief Settles an account's pending funding (::risk_engine_accrue_funding) into balances.
 *
 * Each position's pending funding moves its settle balance (a cross position) or its isolated
 * margin (then the settle balance for what the margin cannot pay), as ::risk_engine_settle_funding
 * moves them, and its last index becomes the index of its side. The account's equity is unchanged
 * (pending funding already counted, rounded as settled). A fill of a position settles its
 * pending funding first and is refused like this call. O(positions of the account).
 * @param[in,out] account The account.
 * @param[in,out] out What moved (`instrument` RISK_ID_NONE, `rate` 0; `version` set by the
 *                caller), or NULL.
 * @retval RISK_OK Settled.
 * @retval RISK_ENULL NULL account.
 * @retval RISK_EINVAL Settling would take a settle balance or an isolated margin beyond 2^53
 *         quanta (docs/errors.md section 4; nothing settled).
 * @retval RISK_EVERSION Unknown version in out.
 * @retval RISK_ENOMEM Out of memory for a settle balance (nothing settled).
 * @par Thread safety
 * Writes the account.
 */
RISK_API RISK_NODISCARD int risk_account_settle_funding(risk_account *account, risk_funding_result *out);

/* ---------------------------------------------------------------- Drift's unrealised-PnL weight */

/**
 * @brief Drift's unrealised-PnL asset weights of a positive PnL P (research defi-anchors.md D3):
 *        initial min(weight_init, 1.1 / (1 + imf sqrt(P))), maintenance weight_maint; 1 and 1
 *        when P <= 0 (losses count in full).
 *
 * Source: drift-labs/protocol-v2 `state/perp_market.rs` `get_unrealized_asset_weight` with
 * `math/margin.rs` `calculate_size_discount_asset_weight` (real numbers; Drift truncates the
 * weight to 1e-4). docs/rates.md 8.3.
 * @param[out] init_out Initial weight, in [0, 1].
 * @param[out] maint_out Maintenance weight, in [0, 1].
 * @param[in] pnl Unrealised PnL, settle asset units (Drift: quote), finite.
 * @param[in] weight_init Initial weight in [0, weight_maint].
 * @param[in] weight_maint Maintenance weight in [weight_init, 1].
 * @param[in] imf Size-discount factor in [0, ::RISK_IMF_MAX] (Drift's unrealized_pnl_imf_factor / 1e6).
 * @retval RISK_OK Filled.
 * @retval RISK_ENULL NULL output.
 * @retval RISK_EINVAL An input out of range.
 * @par Thread safety
 * Pure function.
 */
RISK_API RISK_NODISCARD int risk_upnl_weight(double *init_out, double *maint_out, double pnl, double weight_init,
                                             double weight_maint, double imf);

/**
 * @brief Counts a perpetual's or future's positive unrealised PnL at Drift's unrealised-PnL
 *        weights in the margin of cross positions (off by default).
 *
 * A cross position's PnL P (with its pending funding, section 8.2 of docs/rates.md) counts in
 * C_init at the initial weight of ::risk_upnl_weight and in C_maint at the maintenance weight
 * when P > 0, in full when P <= 0; equity is unchanged (Drift's total collateral, not its net
 * value). Every evaluation carries it (summary, what-if, max order, liquidation prices, plans,
 * scenario P&L). Weights 1, 1 and imf 0 switch it off: the instrument then evaluates bit for bit
 * as without. Isolated positions are not weighted.
 * @param[in,out] engine The engine.
 * @param[in] instrument A perpetual or dated future.
 * @param[in] weight_init Initial weight in [0, weight_maint] (Drift: unrealized_pnl_initial_asset_weight / 1e4).
 * @param[in] weight_maint Maintenance weight in [weight_init, 1] (unrealized_pnl_maintenance_asset_weight / 1e4).
 * @param[in] imf Size-discount factor of the initial weight, in [0, ::RISK_IMF_MAX] (unrealized_pnl_imf_factor / 1e6).
 * @retval RISK_OK Set.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL An option, or a weight or imf out of range (nothing changed).
 * @par Thread safety
 * Writes the engine; no evaluation of its accounts may run concurrently.
 */
RISK_API RISK_NODISCARD int risk_engine_set_instrument_upnl_weight(risk_engine *engine, uint32_t instrument,
                                                                   double weight_init, double weight_maint,
                                                                   double imf);

/**
 * @brief An instrument's unrealised-PnL weights (1, 1, 0 when off).
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[out] weight_init Initial weight.
 * @param[out] weight_maint Maintenance weight.
 * @param[out] imf Size-discount factor.
 * @retval RISK_OK Filled.
 * @retval RISK_ENULL NULL engine or output.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_instrument_upnl_weight(const risk_engine *engine, uint32_t instrument,
                                                               double *weight_init, double *weight_maint,
                                                               double *imf);

/* ---------------------------------------------------------------- leveraged tokens */

/** Largest |target leverage| of ::risk_levtoken_spec. */
#define RISK_LEVTOKEN_LEVERAGE_MAX 20.0

/** Version of ::risk_levtoken_spec this header describes. */
#define RISK_LEVTOKEN_SPEC_VERSION 1

/**
 * @brief A constant-leverage product (leveraged token): target leverage, when it rebalances, and
 * what it costs. Initialise with ::RISK_LEVTOKEN_SPEC_INIT.
 *
 * The token holds an exposure E (value of the underlying held, signed: short when < 0) against
 * its net asset value N; leverage = E / N. Rates are fractions; per-year rates are charged
 * `rate / periods_per_year` per step. docs/rates.md section 9 gives the accounting.
 */
typedef struct risk_levtoken_spec {
    uint32_t version;         /**< ::RISK_LEVTOKEN_SPEC_VERSION, set by the caller. */
    uint32_t rebalance_every; /**< Rebalance at every step i with i % rebalance_every == 0; 0: no time-based rebalance. */
    double leverage;          /**< Target leverage L, in [-::RISK_LEVTOKEN_LEVERAGE_MAX, ::RISK_LEVTOKEN_LEVERAGE_MAX], not 0 (< 0: an inverse token). */
    double band_low;          /**< Rebalance when the leverage falls below this; with band_high both 0 for no band, else band_low <= L <= band_high, both of L's sign and not 0. */
    double band_high;         /**< Rebalance when the leverage rises above this (see band_low). */
    double fee_annual;        /**< Management fee, fraction of NAV per year, in [0, 1]. */
    double borrow_annual;     /**< Borrowing cost per year on what the token borrows (E - N when E > N > 0; |E| for a short token), in [0, 10]. */
    double rebalance_cost;    /**< Cost per unit of notional traded at a rebalance (fees, slippage), in [0, 0.05], with rebalance_cost x |L| <= 0.5. */
    double periods_per_year;  /**< Steps of the price path per year, in (0, ::RISK_PERIODS_PER_YEAR_MAX]. */
    double nav0;              /**< NAV at step 0, in (0, 1e15]. */
} risk_levtoken_spec;

/** Initialiser for ::risk_levtoken_spec: leverage 1, no band, no time rebalance, no costs, daily steps (365 a year), NAV 1. */
#define RISK_LEVTOKEN_SPEC_INIT {RISK_LEVTOKEN_SPEC_VERSION, 0u, 1.0, 0, 0, 0, 0, 0, 365.0, 1.0}

/** Version of ::risk_levtoken_result this header describes. */
#define RISK_LEVTOKEN_RESULT_VERSION 1

/** @brief Totals of a leveraged-token simulation. Initialise with ::RISK_LEVTOKEN_RESULT_INIT. */
typedef struct risk_levtoken_result {
    uint32_t version;        /**< ::RISK_LEVTOKEN_RESULT_VERSION, set by the caller. */
    uint32_t reserved;       /**< 0. */
    uint64_t n_rebalances;   /**< Rebalances after step 0 (the initial purchase of L x nav0 is not counted). */
    uint64_t wiped_out_at;   /**< First step whose NAV fell to 0 or below (NAV 0 from there on); 0 when it never did. */
    double nav_final;        /**< NAV at the last step. */
    double pnl;              /**< Sum of E x (price ratio - 1) over the steps: the exposure's gains and losses. */
    double fees_paid;        /**< Management fee paid, NAV units. */
    double funding_paid;     /**< Funding paid on the exposure (< 0: received), NAV units. */
    double borrow_paid;      /**< Borrowing cost paid, NAV units. */
    double rebalance_costs;  /**< Costs of the rebalance trades, NAV units. */
    double turnover;         /**< Sum of |notional traded| at rebalances after step 0, NAV units. */
    double shortfall;        /**< Loss beyond a NAV of 0 at the wipe-out step (not borne by holders), >= 0. */
} risk_levtoken_result;

/** Initialiser for ::risk_levtoken_result. */
#define RISK_LEVTOKEN_RESULT_INIT {RISK_LEVTOKEN_RESULT_VERSION, 0u, 0u, 0u, 0, 0, 0, 0, 0, 0, 0, 0}

/**
 * @brief Simulates a leveraged token over a price path (array form): NAV, leverage and
 * rebalance trades at every step.
 *
 * Step 0 buys the exposure E = L x nav0. At each step i >= 1, with g = price[i] / price[i-1]
 * and E, N the exposure and NAV after step i-1: the token gains E (g - 1) and pays the fee
 * N x fee_annual / periods_per_year, the borrowing cost B x borrow_annual / periods_per_year (B
 * = max(E - N, 0) for E > 0, |E| for E < 0) and the funding funding[i] x E; the exposure becomes
 * E g. If the NAV is then <= 0 the token is wiped out (NAV 0 from step i on). Otherwise it
 * rebalances when i is a multiple of rebalance_every or the leverage E / N is outside
 * [band_low, band_high]: it trades d to E' = L N' where N' = N - rebalance_cost |d| (solved in
 * closed form). Identity (tested): nav_final = nav0 + pnl - fees_paid - funding_paid -
 * borrow_paid - rebalance_costs + shortfall. Continuous rebalancing gives NAV = nav0 (S/S0)^L
 * exp(-(L^2 - L) sigma^2 t / 2) without costs (docs/rates.md section 9).
 * @param[out] nav_out @p n NAVs (nav_out[0] = nav0).
 * @param[out] leverage_out @p n leverages E / N after each step's rebalance (0 once wiped out), or NULL.
 * @param[out] traded_out @p n signed notionals traded at each step (0 without a rebalance; traded_out[0] = L x nav0), or NULL.
 * @param[out] result_out Totals (`version` set by the caller), or NULL.
 * @param[in] price @p n prices, each in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX].
 * @param[in] funding @p n funding rates per step on the exposure (longs pay when > 0), each in [-1, 1]; funding[0] is not used; NULL for none.
 * @param[in] n Number of steps, >= 1.
 * @param[in] spec The product.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p nav_out, @p price or @p spec is NULL.
 * @retval RISK_EVERSION Unknown version in @p spec or @p result_out.
 * @retval RISK_EINVAL @p n is 0, a price or funding rate out of its domain, or a field of @p spec out of range.
 * @par Thread safety
 * Reentrant. A failed call writes no output.
 */
RISK_API RISK_NODISCARD int risk_levtoken_simulate(double *nav_out, double *leverage_out, double *traded_out,
                                                   risk_levtoken_result *result_out, const double *price,
                                                   const double *funding, size_t n, const risk_levtoken_spec *spec);

RISK_END_DECLS

/** @} */
#endif /* RISK_RATES_H */
