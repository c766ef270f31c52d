/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/margin.h
 * @brief Margin schedules: tiers with derived deductions, IM and MM of a notional.
 * @defgroup margin Margin schedules
 * @{
 *
 * A schedule is a list of notional tiers with marginal maintenance rates. The deduction
 * (Binance `cum`, Bybit "MM deduction") is derived by cum_1 = 0,
 * cum_t = cum_(t-1) + cap_(t-1) x (mmr_t - mmr_(t-1)), which makes MM(N) = N x mmr_t - cum_t
 * continuous and non-decreasing in N. A tier that gives its cum keeps it as published.
 */
#ifndef RISK_MARGIN_H
#define RISK_MARGIN_H

#include "risk/common.h"
#include "risk/engine.h"

RISK_BEGIN_DECLS

/**
 * @brief An instrument's schedule with every tier's cum filled in (derived or as published).
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[out] out Array of @p capacity tiers (cum_given reports whether cum was published).
 * @param[in] capacity Length of @p out (0 to ask for the count).
 * @param[out] count_out Number of tiers (also on ::RISK_EBUFFER).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or count_out, or NULL out with capacity > 0.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EBUFFER @p capacity too small.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_instrument_tiers(const risk_engine *engine, uint32_t instrument,
                                                         risk_margin_tier *out, size_t capacity, size_t *count_out);

/**
 * @brief IM and MM of a notional under an instrument's schedule.
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[in] notional Notional in the settle asset, in [0, ::RISK_NOTIONAL_MAX].
 * @param[in] leverage User leverage (>= 1 and <= the schedule's maximum), or 0 for the tier's maximum.
 * @param[out] im_out Initial margin, notional / min(leverage, tier max leverage); may be NULL.
 * @param[out] mm_out Maintenance margin, notional x mmr - cum; may be NULL.
 * @param[out] tier_out 0-based tier index; may be NULL.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL Notional or leverage out of range.
 * @retval RISK_ELEVERAGE Leverage above the schedule's maximum.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_instrument_margin(const risk_engine *engine, uint32_t instrument, double notional,
                                                          double leverage, double *im_out, double *mm_out, uint32_t *tier_out);

/* ---------------------------------------------------------------- volatility-scaled margin */

/**
 * @name Volatility-scaled margin and anti-procyclicality
 *
 * An instrument's tier schedule is calibrated at a reference volatility. With scaling on, the
 * engine keeps that calibrated (base) schedule aside and writes into the schedule evaluation
 * reads the EFFECTIVE schedule for a factor f: every tier's rate becomes min(1, f x mmr_t)
 * and min(1, f / max_leverage_t), with the deductions recomputed by the cum recursion, so MM
 * stays continuous and, while no rate reaches 1, MM'(N) = f x MM(N) and IM'(N) = f x IM(N).
 * The effective schedule is rewritten only when the volatility state of the underlying or the
 * instrument's scaling changes; evaluation costs the same with scaling on or off.
 *
 * The factor in force, in this order (docs/volatility.md, sections 2 and 3):
 * 1. sigma = the live volatility of the underlying (set, or an EWMA of fed returns);
 * 2. stressed weight w (anti-procyclicality option b): sigma = w x stressed + (1 - w) x sigma;
 * 3. floor (option c): sigma = max(sigma, long-run volatility);
 * 4. ratio = sigma / reference (::RISK_SCALING_VAR: reference = mmr_1 / (z sqrt(h / D)));
 *    1 while the underlying has no volatility yet;
 * 5. buffer b (option a): ratio x (1 + b x (1 - released fraction));
 * 6. clamp to [min_factor, max_factor]: the target;
 * 7. rate cap c (option d): on an update stamped t, the factor moves from its value f0 at the
 *    previous stamped update t0 to the target, but no further than
 *    [f0 x max(0, 1 - c x d), f0 x (1 + c x d)] with d = (t - t0) / 86400 days.
 * Configuration calls (scaling, volatility parameters, stressed and floor volatilities, buffer
 * release) apply the new target at once, except that under a rate cap (once the instrument has
 * a stamped update) they may only lower the factor: a rise waits for the next stamped update
 * and moves under the cap.
 * @{
 */

/** Scaling mode: off; the instrument's schedule is the one it was registered with. */
#define RISK_SCALING_OFF 0u
/** Scaling mode: every tier scales by clamp(vol / reference_vol_annual, min_factor, max_factor). */
#define RISK_SCALING_TIERS 1u
/** Scaling mode: VaR-style; the first tier's MM rate is z x vol x sqrt(horizon_days / days_per_year), the other tiers follow in proportion. */
#define RISK_SCALING_VAR 2u

/** Version of ::risk_margin_scaling this header describes. */
#define RISK_MARGIN_SCALING_VERSION 1

/**
 * @brief Volatility scaling of an instrument's schedule, with the anti-procyclicality options.
 *        Initialise with ::RISK_MARGIN_SCALING_INIT, then set the mode and its fields.
 *
 * Options (a) to (d) are off at 0. EU RTS 153/2013 Art. 28 asks for at least one of (a), (b)
 * and (c); (d) limits how fast margins move.
 */
typedef struct risk_margin_scaling {
    uint32_t version;            /**< ::RISK_MARGIN_SCALING_VERSION. */
    uint32_t mode;               /**< ::RISK_SCALING_OFF, ::RISK_SCALING_TIERS or ::RISK_SCALING_VAR. */
    double reference_vol_annual; /**< TIERS: annualised volatility the schedule is calibrated at, in [1e-4, ::RISK_VOL_ANNUAL_MAX] (0.6 = 60 %). */
    double min_factor;           /**< Lowest factor, in [1 / ::RISK_SCALING_FACTOR_MAX, ::RISK_SCALING_FACTOR_MAX] (1e-6 to 1e6); default 1 (never below the calibrated schedule). */
    double max_factor;           /**< Highest factor, >= min_factor and <= ::RISK_SCALING_FACTOR_MAX; default 4. */
    double z;                    /**< VAR: quantile multiplier, in [0.001, 100]; default 2.326 (one-sided 99 %). */
    double horizon_days;         /**< VAR: margin period of risk in days, in [1e-6, 3660]; default 1. */
    double days_per_year;        /**< VAR: days in the volatility's year, in [1, 366]; default 365 (crypto trades every day). */
    double buffer;               /**< (a) Buffer on the margin: 0 (off) or in [0.25, ::RISK_SCALING_FACTOR_MAX]. */
    double stress_weight;        /**< (b) Weight of the stressed volatility: 0 (off) or in [0.25, 1]. */
    double max_daily_change;     /**< (d) Largest relative move of the factor per day: 0 (off) or in (0, ::RISK_SCALING_FACTOR_MAX]. */
    uint32_t vol_floor;          /**< (c) 1: the volatility is floored at the underlying's long-run volatility; 0: off. */
    uint32_t reserved;           /**< 0. */
} risk_margin_scaling;

/** Default scaling: mode off; factor bounds [1, 4]; VaR at z 2.326 over 1 day of a 365-day year; no anti-procyclicality option. */
#define RISK_MARGIN_SCALING_INIT {RISK_MARGIN_SCALING_VERSION, RISK_SCALING_OFF, 0.0, 1.0, 4.0, 2.326, 1.0, 365.0, \
    0.0, 0.0, 0.0, 0u, 0u}

/** Version of ::risk_asset_vol_params this header describes. */
#define RISK_ASSET_VOL_PARAMS_VERSION 1

/**
 * @brief How an asset's live volatility is estimated from fed returns (RiskMetrics EWMA,
 *        include/risk/vol.h). Initialise with ::RISK_ASSET_VOL_PARAMS_INIT.
 */
typedef struct risk_asset_vol_params {
    uint32_t version;        /**< ::RISK_ASSET_VOL_PARAMS_VERSION. */
    uint32_t reserved;       /**< 0. */
    double lambda;           /**< EWMA decay factor in (0, 1); default 0.94 (RiskMetrics, daily). */
    double periods_per_year; /**< Periods of the fed returns per year, finite and > 0; default 365 (daily). */
    double seed_vol_annual;  /**< Annualised volatility the EWMA starts from, finite and >= 0; 0: the first return seeds it. */
} risk_asset_vol_params;

/** Default volatility parameters: lambda 0.94, 365 periods per year, no seed. */
#define RISK_ASSET_VOL_PARAMS_INIT {RISK_ASSET_VOL_PARAMS_VERSION, 0u, 0.94, 365.0, 0.0}

/** Version of ::risk_asset_vol_state this header describes. */
#define RISK_ASSET_VOL_STATE_VERSION 1

/** Asset volatility flag: the stressed volatility was set directly (else: the highest live volatility observed). */
#define RISK_ASSET_VOL_STRESSED_SET 0x1u
/** Asset volatility flag: the long-run volatility was set directly (else: estimated from every fed return). */
#define RISK_ASSET_VOL_FLOOR_SET 0x2u
/** Asset volatility flag: an update with a time stamp has been made (last_time_s is meaningful). */
#define RISK_ASSET_VOL_HAS_TIME 0x4u

/**
 * @brief An asset's volatility state. Annualised fractions; NaN where there is no value yet.
 *        Set `version` (::RISK_ASSET_VOL_STATE_INIT) before the call.
 */
typedef struct risk_asset_vol_state {
    uint32_t version;           /**< ::RISK_ASSET_VOL_STATE_VERSION, set by the caller. */
    uint32_t flags;             /**< ::RISK_ASSET_VOL_STRESSED_SET, ::RISK_ASSET_VOL_FLOOR_SET, ::RISK_ASSET_VOL_HAS_TIME. */
    double live_vol_annual;     /**< Live volatility: sqrt(EWMA variance x periods_per_year), or as last set. */
    double stressed_vol_annual; /**< Stressed volatility: as set, else the highest live volatility observed. */
    double floor_vol_annual;    /**< Long-run volatility: as set, else sqrt(mean of r^2 over every fed return x periods_per_year). */
    double buffer_release;      /**< Fraction of the buffers released, in [0, 1]. */
    double lambda;              /**< EWMA decay factor in force. */
    double periods_per_year;    /**< Periods per year in force. */
    int64_t last_time_s;        /**< Time stamp of the last update (seconds), when ::RISK_ASSET_VOL_HAS_TIME. */
    uint64_t n_returns;         /**< Returns fed since the parameters were last set. */
} risk_asset_vol_state;

/** Output initialiser for ::risk_asset_vol_state. */
#define RISK_ASSET_VOL_STATE_INIT {RISK_ASSET_VOL_STATE_VERSION, 0u, 0, 0, 0, 0, 0, 0, 0, 0u}

/** Version of ::risk_margin_factor this header describes. */
#define RISK_MARGIN_FACTOR_VERSION 1

/**
 * @brief Where an instrument's scaling stands. Set `version` (::RISK_MARGIN_FACTOR_INIT) before
 *        the call.
 */
typedef struct risk_margin_factor {
    uint32_t version;            /**< ::RISK_MARGIN_FACTOR_VERSION, set by the caller. */
    uint32_t mode;               /**< The instrument's scaling mode (::RISK_SCALING_OFF: factor 1, the rest NaN). */
    double factor;               /**< Factor in force: the effective schedule is the base scaled by it. */
    double target;               /**< Factor the current state asks for (steps 1-6); differs from factor while the rate cap binds. */
    double vol_annual;           /**< Volatility after the stressed weight and the floor (steps 1-3); NaN while the underlying has none. */
    double reference_vol_annual; /**< Reference volatility (derived in ::RISK_SCALING_VAR). */
} risk_margin_factor;

/** Output initialiser for ::risk_margin_factor. */
#define RISK_MARGIN_FACTOR_INIT {RISK_MARGIN_FACTOR_VERSION, 0u, 0, 0, 0, 0}

/**
 * @brief Turns an instrument's volatility scaling on, changes it, or turns it off.
 *
 * On: the schedule the instrument was registered with becomes its base schedule
 * (risk_engine_instrument_base_tiers()) and the effective schedule is written for the current
 * target factor at once. Off (NULL or ::RISK_SCALING_OFF): the base schedule is restored
 * exactly. User leverage is still checked against the base schedule's highest maximum; the
 * effective tier's rate applies when it is higher (IM = N x max(1 / user leverage, f / L_t)).
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[in] scaling The scaling (copied), or NULL to turn it off.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_EVERSION Unknown scaling version.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL Unknown mode; reference <= 0 (TIERS); z, horizon or days per year <= 0,
 *         or a first tier with mmr 0 (VAR); min_factor <= 0 or > max_factor; buffer neither 0 nor >= 0.25;
 *         stress_weight outside {0} and [0.25, 1]; max_daily_change < 0; vol_floor not 0 or 1;
 *         reserved not 0; any number not finite. Nothing changed.
 * @retval RISK_ENOMEM Out of memory (nothing changed).
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_instrument_scaling(risk_engine *engine, uint32_t instrument,
                                                               const risk_margin_scaling *scaling);

/**
 * @brief An instrument's scaling parameters.
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[out] out The parameters (::RISK_MARGIN_SCALING_INIT with mode off when scaling is off).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or out.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_instrument_scaling(const risk_engine *engine, uint32_t instrument,
                                                           risk_margin_scaling *out);

/**
 * @brief An instrument's current factor, target factor and the volatility behind them.
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[out] out The state; its `version` must be set.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or out.
 * @retval RISK_EVERSION Unknown @p out version.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_instrument_factor(const risk_engine *engine, uint32_t instrument,
                                                          risk_margin_factor *out);

/**
 * @brief An instrument's base (calibrated) schedule, as registered, every cum filled in.
 *
 * Equal to risk_engine_instrument_tiers() while scaling is off or the factor is 1.
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[out] out Array of @p capacity tiers.
 * @param[in] capacity Length of @p out (0 to ask for the count).
 * @param[out] count_out Number of tiers (also on ::RISK_EBUFFER).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or count_out, or NULL out with capacity > 0.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EBUFFER @p capacity too small.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_instrument_base_tiers(const risk_engine *engine, uint32_t instrument,
                                                              risk_margin_tier *out, size_t capacity,
                                                              size_t *count_out);

/**
 * @brief Sets how an asset's live volatility is estimated, and restarts its estimate.
 *
 * The EWMA restarts from the seed, the long-run estimate and the highest observed volatility
 * from nothing (the seed counts as observed); directly set stressed and long-run volatilities,
 * the buffer release and the last time stamp are kept. Instruments on the asset are rescaled
 * at once.
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @param[in] params The parameters (copied); NULL for ::RISK_ASSET_VOL_PARAMS_INIT.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_EVERSION Unknown params version.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EINVAL lambda outside (0, 1), periods_per_year <= 0, seed < 0, a number not finite, reserved not 0.
 * @retval RISK_ENOMEM Out of memory (nothing changed).
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_asset_vol_params(risk_engine *engine, uint32_t asset,
                                                             const risk_asset_vol_params *params);

/**
 * @brief Sets an asset's live volatility directly (a GARCH forecast, an implied volatility).
 *
 * The EWMA variance becomes vol^2 / periods_per_year, so later returns continue from it. The
 * instruments on the asset are rescaled under the rate cap.
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @param[in] vol_annual Annualised volatility, in [0, ::RISK_VOL_ANNUAL_MAX] (0.6 = 60 %).
 * @param[in] time_s Time stamp in seconds, not before the asset's last one.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EINVAL @p vol_annual negative or not finite; @p time_s before the last time stamp.
 * @retval RISK_ENOMEM Out of memory (nothing changed).
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_asset_vol(risk_engine *engine, uint32_t asset, double vol_annual,
                                                      int64_t time_s);

/**
 * @brief Feeds one log return of an asset: updates its EWMA and long-run estimate, then
 *        rescales the instruments on it under the rate cap.
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @param[in] log_return r = ln(P_t / P_(t-1)) over one period of the asset's parameters, |r| <= ::RISK_LOG_RETURN_MAX.
 * @param[in] time_s Time stamp in seconds, not before the asset's last one.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EINVAL @p log_return not finite; @p time_s before the last time stamp.
 * @retval RISK_ENOMEM Out of memory (nothing changed).
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_feed_asset_return(risk_engine *engine, uint32_t asset, double log_return,
                                                          int64_t time_s);

/**
 * @brief Feeds one price of an asset (a close, one per period): the first only primes, each
 *        later one feeds the log return from the previous one as risk_engine_feed_asset_return().
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @param[in] price Price in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX] (any unit, the same for every price fed).
 * @param[in] time_s Time stamp in seconds, not before the asset's last one.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EINVAL @p price not positive or not finite; @p time_s before the last time stamp.
 * @retval RISK_ENOMEM Out of memory (nothing changed).
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_feed_asset_price(risk_engine *engine, uint32_t asset, double price,
                                                         int64_t time_s);

/**
 * @brief Sets an asset's stressed volatility (anti-procyclicality option b), or goes back to
 *        the highest live volatility observed. Instruments on the asset are rescaled at once
 *        (under a rate cap: lowered at once, raised only by later stamped updates).
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @param[in] vol_annual Annualised volatility, in (0, ::RISK_VOL_ANNUAL_MAX]; 0 for the highest observed.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EINVAL Negative or not finite.
 * @retval RISK_ENOMEM Out of memory (nothing changed).
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_asset_stressed_vol(risk_engine *engine, uint32_t asset,
                                                               double vol_annual);

/**
 * @brief Sets an asset's long-run volatility, the floor of option c (the volatility over a
 *        10-year lookback), or goes back to the estimate from every fed return. Instruments on
 *        the asset are rescaled at once (under a rate cap: lowered at once, raised only by later
 *        stamped updates).
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @param[in] vol_annual Annualised volatility, in (0, ::RISK_VOL_ANNUAL_MAX]; 0 for the estimate from fed returns.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EINVAL Negative or not finite.
 * @retval RISK_ENOMEM Out of memory (nothing changed).
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_asset_floor_vol(risk_engine *engine, uint32_t asset, double vol_annual);

/**
 * @brief Marks stress on an asset: releases a fraction of the buffer (option a) of every
 *        instrument on it, or restores it (0). Instruments on the asset are rescaled at once
 *        (under a rate cap: lowered at once, raised only by later stamped updates).
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @param[in] fraction Released fraction in [0, 1]: the buffer in force is buffer x (1 - fraction).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EINVAL Outside [0, 1] or not finite.
 * @retval RISK_ENOMEM Out of memory (nothing changed).
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_asset_buffer_release(risk_engine *engine, uint32_t asset,
                                                                 double fraction);

/**
 * @brief An asset's volatility state.
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @param[out] out The state; its `version` must be set. An asset never given volatility
 *             data reports NaN volatilities, no flag, the default parameters.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or out.
 * @retval RISK_EVERSION Unknown @p out version.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_asset_vol(const risk_engine *engine, uint32_t asset,
                                                  risk_asset_vol_state *out);

/** @} */

/**
 * @name Size-scaled collateral and liability weights
 * The venues' answer to concentration (docs/formulas.md, "Size-scaled weights"): a large
 * balance counts for less as collateral and for more as a debt (Drift's IMF size premium and
 * discount), and a venue-wide pile of deposits or borrows scales the initial weights (Drift's
 * scaled initial asset weight, Mango v4's deposit and borrow scaling). A balance's weights
 * depend on the balance and the venue-wide totals the caller sets, never on the account's other
 * balances. They feed account summaries, what-if, max order, liquidation prices and plans as
 * the static weights do.
 * @{
 */

/** Version of ::risk_size_scaling this header describes. */
#define RISK_SIZE_SCALING_VERSION 1

/** Largest IMF factor (Drift's IMF precision 1e6 caps imf_factor at 1e6, i.e. 1.0). */
#define RISK_IMF_MAX 1.0

/** Largest factor the borrow scaling may put on an initial liability weight. */
#define RISK_BORROW_SCALE_MAX 1e6

/**
 * @brief An asset's size scaling. Initialise with ::RISK_SIZE_SCALING_INIT (everything off).
 *
 * With S the balance in asset units, w0 a static weight, and D and B the venue-wide deposit
 * and borrow values (units x price):
 * - collateral weights (init and maint): min(w0, 1.1 / (1 + imf sqrt(S))) (Drift
 *   `calculate_size_discount_asset_weight`), the initial one first scaled by
 *   start / D when D > deposit_scale_start > 0;
 * - liability weights (init and maint): max(w0, 0.8 w0 + imf sqrt(S)) (Drift
 *   `calculate_size_premium_liability_weight`), the initial one then scaled by
 *   min(B / start, ::RISK_BORROW_SCALE_MAX) when B > borrow_scale_start > 0 (Mango v4).
 */
typedef struct risk_size_scaling {
    uint32_t version;           /**< ::RISK_SIZE_SCALING_VERSION. */
    uint32_t reserved;          /**< 0. */
    double imf;                 /**< IMF factor in [0, ::RISK_IMF_MAX]; 0: no size premium or discount. */
    double deposit_scale_start; /**< Venue-wide deposit value where the initial asset weight starts to scale down; 0: off. */
    double borrow_scale_start;  /**< Venue-wide borrow value where the initial liability weight starts to scale up; 0: off. */
    double venue_deposits;      /**< Venue-wide deposits of the asset, in asset units (>= 0). */
    double venue_borrows;       /**< Venue-wide borrows of the asset, in asset units (>= 0). */
} risk_size_scaling;

/** Initialiser: every scaling off. */
#define RISK_SIZE_SCALING_INIT {RISK_SIZE_SCALING_VERSION, 0u, 0.0, 0.0, 0.0, 0.0, 0.0}

/**
 * @brief Sets (or turns off) an asset's size scaling.
 *
 * Venue-wide totals change as the venue trades: call again with new `venue_deposits` and
 * `venue_borrows` when they move (an engine holding one shard of a venue's accounts cannot sum
 * them itself). D and B use the asset's price at evaluation time.
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @param[in] scaling The scaling (copied); NULL or all zero turns it off.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_EVERSION Unknown @p scaling version.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EINVAL A number not finite or negative, imf above ::RISK_IMF_MAX, a start or
 *         total above ::RISK_NOTIONAL_MAX, reserved not 0 (nothing changed).
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_asset_size_scaling(risk_engine *engine, uint32_t asset,
                                                               const risk_size_scaling *scaling);

/**
 * @brief An asset's size scaling (::RISK_SIZE_SCALING_INIT values when off).
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @param[out] out The scaling; its `version` must be set.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or out.
 * @retval RISK_EVERSION Unknown @p out version.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_asset_size_scaling(const risk_engine *engine, uint32_t asset,
                                                           risk_size_scaling *out);

/** Version of ::risk_size_premium this header describes. */
#define RISK_SIZE_PREMIUM_VERSION 1

/**
 * @brief An instrument's size premium on its margin rates. Initialise with
 *        ::RISK_SIZE_PREMIUM_INIT (off, Drift's base share).
 *
 * With S = |qty| x contract_size (base units for a linear contract, the contract's unit for an
 * inverse one) and r a rate of the schedule's tier (MMR, and the IM rate 1 / max leverage):
 * r' = min(max(r, base_share x r + imf x sqrt(S)), 1), before the user's leverage is applied
 * (IM rate = max(1 / user leverage, r')). Drift v2's perp margin ratio has base_share 0.8
 * (`calculate_size_premium_liability_weight`); FTX's IMF has base_share 0 (IMF = max(base IMF,
 * imf x sqrt(size)), capped at fully funded). The tier's deduction (cum) is kept.
 */
typedef struct risk_size_premium {
    uint32_t version;  /**< ::RISK_SIZE_PREMIUM_VERSION. */
    uint32_t reserved; /**< 0. */
    double imf;        /**< IMF factor in [0, ::RISK_IMF_MAX]; 0: off. */
    double base_share; /**< Share of the schedule's rate kept under the premium, in [0, 1]: 0.8 (Drift), 0 (FTX). */
} risk_size_premium;

/** Initialiser: off, with Drift's base share 0.8. */
#define RISK_SIZE_PREMIUM_INIT {RISK_SIZE_PREMIUM_VERSION, 0u, 0.0, 0.8}

/**
 * @brief Sets (or turns off) an instrument's size premium on its margin rates.
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[in] premium The premium (copied); NULL or imf 0 turns it off.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_EVERSION Unknown @p premium version.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL imf outside [0, ::RISK_IMF_MAX], base_share outside [0, 1], not finite, reserved not 0, or an option instrument (nothing changed).
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_instrument_size_premium(risk_engine *engine, uint32_t instrument,
                                                                    const risk_size_premium *premium);

/**
 * @brief An instrument's size premium (imf 0 when off).
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[out] out The premium; its `version` must be set.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or out.
 * @retval RISK_EVERSION Unknown @p out version.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_instrument_size_premium(const risk_engine *engine, uint32_t instrument,
                                                                risk_size_premium *out);

/**
 * @brief The weights of one balance of an asset after its size scaling, as evaluation uses them.
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @param[in] balance The balance in asset units (> 0: collateral weights; < 0: liability weights).
 * @param[out] init_out Initial weight (may be NULL).
 * @param[out] maint_out Maintenance weight (may be NULL).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EINVAL @p balance 0, not finite, or outside the asset's amount domain.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_asset_weights(const risk_engine *engine, uint32_t asset, double balance,
                                                      double *init_out, double *maint_out);

/** @} */

RISK_END_DECLS

/** @} */
#endif /* RISK_MARGIN_H */
