/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/options.h
 * @brief European options on a forward: Black-76 price, Greeks and implied volatility.
 * @defgroup options Option pricing (Black-76)
 * @{
 *
 * Formulas, derivations, conventions and sources: docs/options.md.
 *
 * @par Array in, array out
 * Like the volatility estimators (TA-Lib style): the inputs are a ::risk_option_batch of
 * parallel arrays (struct of arrays) and a count @p n; the outputs are caller-allocated arrays
 * of @p n doubles. One call computes every output whose pointer is not NULL (the NULL pointers
 * are the mask). No call allocates; no call keeps a pointer.
 *
 * @par Model
 * Black (1976): the forward F is lognormal with volatility sigma, the premium is paid now and
 * discounted at the continuously compounded rate r over the time to expiry T (years):
 * price = D w (F N(w d1) - K N(w d2)), D = e^(-rT), d1,2 = ln(F/K)/(sigma sqrt T) +- sigma sqrt(T)/2,
 * w = +1 call, -1 put.
 *
 * @par Premium conventions
 * - ::RISK_OPTION_PREMIUM_SPOT (linear, USD-style): values in quote currency per unit of the
 *   underlying; delta = dV/dF.
 * - ::RISK_OPTION_PREMIUM_COIN (inverse, Deribit BTC options): the premium is paid in the
 *   underlying, c = V / F coins per option on one coin; delta is Deribit's premium-adjusted delta
 *   F dc/dF = dV/dF - c (coins), gamma and vanna are its derivatives in F and sigma, and vega,
 *   theta, rho, volga are the derivatives of c.
 *
 * @par Units of the Greeks
 * delta per unit of F; gamma per unit of F squared; vega, vanna and volga per unit of sigma
 * (1.0 = 100 vol points: divide by 100 for "per vol point"); theta per year of calendar time
 * (divide by 365 for a day), with F held fixed; rho per unit of r (F held fixed).
 *
 * @par Errors
 * These functions have no engine and no message: the status says it all. ::RISK_ENULL for a
 * NULL batch, NULL input array or NULL output where one is required; ::RISK_EVERSION for a
 * struct of unknown version; ::RISK_EINVAL for a bad input (forward, strike, years or vol not
 * finite and > 0, rate not finite, type not ±1, premium unknown, a price NaN or negative). Every
 * input is validated before any output is written: a failed call writes nothing.
 *
 * @par Thread safety
 * Every function is reentrant: it reads its inputs and writes its outputs only.
 */
#ifndef RISK_OPTIONS_H
#define RISK_OPTIONS_H

#include "risk/common.h"

RISK_BEGIN_DECLS

/** Option type: a call. */
#define RISK_OPTION_CALL 1
/** Option type: a put. */
#define RISK_OPTION_PUT (-1)

/** Premium in the quote currency (linear options; USDC/USDT-settled). */
#define RISK_OPTION_PREMIUM_SPOT 0u
/** Premium in the underlying coin (inverse options, Deribit BTC and ETH options). */
#define RISK_OPTION_PREMIUM_COIN 1u

/** Per-element implied-volatility status: solved (the volatility is finite and >= 0). */
#define RISK_OPTION_IV_OK 0
/** Per-element implied-volatility status: the price is below the intrinsic value (NaN written). */
#define RISK_OPTION_IV_BELOW_INTRINSIC 1
/** Per-element implied-volatility status: the price is at or above the no-arbitrage maximum
 *  (D F for a call, D K for a put; NaN written). */
#define RISK_OPTION_IV_ABOVE_MAXIMUM 2

/** Version of ::risk_option_batch this header describes. */
#define RISK_OPTION_BATCH_VERSION 1

/**
 * @brief A batch of European options on a forward, as parallel arrays (struct of arrays).
 *
 * Every array holds the batch's count of elements (the @p n of the call). The struct borrows
 * the arrays; the library never keeps the pointers.
 */
typedef struct risk_option_batch {
    uint32_t version;       /**< ::RISK_OPTION_BATCH_VERSION. */
    uint32_t premium;       /**< ::RISK_OPTION_PREMIUM_SPOT or ::RISK_OPTION_PREMIUM_COIN, for the whole batch. */
    const int32_t *type;    /**< ::RISK_OPTION_CALL (1) or ::RISK_OPTION_PUT (-1). */
    const double *forward;  /**< Forward F of the underlying to the expiry, quote per unit, finite and > 0. */
    const double *strike;   /**< Strike K, quote per unit, finite and > 0. */
    const double *years;    /**< Time to expiry T in years (ACT/365 for crypto), finite and > 0. */
    const double *vol;      /**< Volatility sigma, annual, a fraction (0.6 = 60%), finite and > 0;
                                 not read by risk_option_implied_vol(). */
    const double *rate;     /**< Discount rate r of the premium, continuously compounded, finite;
                                 NULL means 0 for every element (Deribit's convention). */
} risk_option_batch;

/** A batch with no arrays, spot premium. */
#define RISK_OPTION_BATCH_INIT {RISK_OPTION_BATCH_VERSION, RISK_OPTION_PREMIUM_SPOT, NULL, NULL, NULL, NULL, NULL, NULL}

/** Version of ::risk_option_greeks this header describes. */
#define RISK_OPTION_GREEKS_VERSION 1

/**
 * @brief Where risk_option_black() writes: one caller array of @p n doubles per output, or NULL
 *        to skip that output (the mask).
 *
 * The arrays may not overlap each other or the inputs.
 */
typedef struct risk_option_greeks {
    uint32_t version;  /**< ::RISK_OPTION_GREEKS_VERSION. */
    uint32_t reserved; /**< 0. */
    double *price;     /**< Premium: V (spot) or c = V / F (coin). */
    double *delta;     /**< dV/dF (spot); premium-adjusted F dc/dF = dV/dF - c (coin). */
    double *gamma;     /**< d(delta)/dF. */
    double *vega;      /**< d(price)/d(sigma). */
    double *theta;     /**< -d(price)/dT per year, F fixed. */
    double *rho;       /**< d(price)/dr, F fixed: -T x price. */
    double *vanna;     /**< d(delta)/d(sigma). */
    double *volga;     /**< d2(price)/d(sigma)2 (vomma). */
} risk_option_greeks;

/** Outputs all NULL (nothing computed). */
#define RISK_OPTION_GREEKS_INIT {RISK_OPTION_GREEKS_VERSION, 0u, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}

/**
 * @brief Black-76 price and Greeks of a batch of European options (array form).
 *
 * For element i, writes out->price[i], out->delta[i], ... for each output array that is not
 * NULL. The normalised price is computed in the out-of-the-money orientation (an in-the-money
 * option is its intrinsic value plus the out-of-the-money option, so put-call parity holds to
 * rounding) with an erfc-based normal CDF and a series where the two Black terms cancel
 * (docs/options.md, section 2): relative error below 1e-13 on the tested grid.
 * @param[in] out Output arrays (NULL pointers are skipped).
 * @param[in] in The options: @p n elements in each of its arrays (rate may be NULL).
 * @param[in] n Number of options (0 does nothing).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p out or @p in is NULL, or an input array other than rate is NULL while @p n > 0.
 * @retval RISK_EVERSION @p out or @p in has an unknown version.
 * @retval RISK_EINVAL An element's forward, strike, years or vol is not finite and > 0, its rate
 *         is not finite, its type is not ±1, or the premium convention is unknown.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_option_black(const risk_option_greeks *out, const risk_option_batch *in, size_t n);

/**
 * @brief Implied Black-76 volatility of a batch of option prices (array form).
 *
 * For element i, the volatility sigma at which the Black-76 price of the option described by
 * @p in (its vol array is not read) equals price[i], to full double precision. Prices are in
 * the batch's premium convention (coins per option for ::RISK_OPTION_PREMIUM_COIN). A price
 * equal to the discounted intrinsic value gives 0; a price below it, or at or above the upper
 * bound (D F for a call, D K for a put), gives NaN and a per-element status.
 * Method: normalised Black function, a closed-form initial guess per region, and Householder
 * steps of third order on a transformed objective (Jaeckel, "Let's Be Rational", 2015); the
 * iteration count is bounded (docs/options.md, section 3).
 * @param[out] vol_out @p n volatilities (annual fractions), NaN where none exists.
 * @param[out] status_out @p n statuses (::RISK_OPTION_IV_OK, ::RISK_OPTION_IV_BELOW_INTRINSIC,
 *             ::RISK_OPTION_IV_ABOVE_MAXIMUM), or NULL.
 * @param[in] in The options (vol may be NULL; it is not read).
 * @param[in] price @p n option prices, finite and >= 0.
 * @param[in] n Number of options (0 does nothing).
 * @retval RISK_OK Done (some elements may have no volatility: see @p status_out).
 * @retval RISK_ENULL A required pointer is NULL while @p n > 0.
 * @retval RISK_EVERSION @p in has an unknown version.
 * @retval RISK_EINVAL Bad forward, strike, years, rate, type or premium, or a price NaN,
 *         infinite or negative.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_option_implied_vol(double *vol_out, int32_t *status_out, const risk_option_batch *in,
                                                    const double *price, size_t n);

/**
 * @brief Forwards from an index (spot) price and a carry rate: out[i] = index[i] e^(rate[i] years[i]).
 *
 * The carry rate is the interest rate less the yield of the underlying (for crypto, the
 * annualised basis); docs/options.md, section 1.3.
 * @param[out] out @p n forwards (may be @p index itself).
 * @param[in] index @p n index prices, finite and > 0.
 * @param[in] rate @p n carry rates, continuously compounded, finite.
 * @param[in] years @p n times to expiry in years, finite and >= 0.
 * @param[in] n Number of rows (0 does nothing).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL A NULL array while @p n > 0.
 * @retval RISK_EINVAL An input out of range, or a forward that overflows.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_option_forward(double *out, const double *index, const double *rate,
                                                const double *years, size_t n);

/**
 * @brief Forwards to an option's expiry from a future's mark price:
 *        out[i] = index[i] (future_mark[i] / index[i])^(years[i] / future_years[i]).
 *
 * The future's implied carry rate ln(mark / index) / T_future is applied over the option's T
 * (the forward is the future's mark itself when the expiries coincide).
 * @param[out] out @p n forwards.
 * @param[in] index @p n index prices, finite and > 0.
 * @param[in] future_mark @p n future mark prices, finite and > 0.
 * @param[in] future_years @p n times to the future's expiry in years, finite and > 0.
 * @param[in] years @p n times to the option's expiry in years, finite and >= 0.
 * @param[in] n Number of rows (0 does nothing).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL A NULL array while @p n > 0.
 * @retval RISK_EINVAL An input out of range, or a forward that overflows.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_option_forward_from_future(double *out, const double *index,
                                                            const double *future_mark, const double *future_years,
                                                            const double *years, size_t n);

/* ---------------------------------------------------------------- options as instruments */

/**
 * @brief Sets the engine's time, which option instruments are priced and expired against.
 *
 * Vol-marked options (::risk_instrument_spec `mark_vol` > 0) are repriced at once, at their
 * intrinsic value once the time is at or past their expiry; an option with a given mark keeps it
 * (the caller marks an expired option, e.g. at its intrinsic value) until
 * risk_engine_settle_expired() settles it. The time may move either way (a what-if in the past).
 * @param[in] engine The engine.
 * @param[in] now_unix_s Seconds since 1970-01-01 UTC, in [1, 2^53].
 * @retval RISK_OK Set.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_EINVAL Out of range.
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_time(risk_engine *engine, int64_t now_unix_s);

/**
 * @brief The engine's time.
 * @param[in] engine The engine.
 * @param[out] out Seconds since 1970-01-01 UTC; 0 until risk_engine_set_time().
 * @retval RISK_OK Done.
 * @retval RISK_ENULL A NULL argument.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_time(const risk_engine *engine, int64_t *out);

/**
 * @brief Sets an option's mark implied volatility: from now on the engine prices its mark
 *        (Black-76 on the forward, docs/options.md, section 6.2), until risk_engine_set_mark()
 *        gives a price again.
 * @param[in] engine The engine.
 * @param[in] instrument An option instrument.
 * @param[in] vol_annual Annual volatility, a fraction, in (0, 10].
 * @retval RISK_OK Set and the mark repriced.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL Not an option, or the volatility out of range (NaN, infinite, <= 0, > 10).
 * @retval RISK_ESTATE The option is settled.
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_mark_vol(risk_engine *engine, uint32_t instrument, double vol_annual);

/**
 * @brief The mark implied volatility of an option: the one set, or the one implied by its
 *        given mark price at the engine's time and the underlying's price.
 * @param[in] engine The engine.
 * @param[in] instrument An option instrument.
 * @param[out] out The volatility (annual fraction); NaN when the mark admits none (below the
 *             intrinsic value, at or above the no-arbitrage maximum, or the option expired).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL A NULL argument.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL Not an option.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_mark_vol(const risk_engine *engine, uint32_t instrument, double *out);

/**
 * @brief Settles an expired option at its settlement price: every position on it, in every
 *        account of the engine, closes at the intrinsic value, paid into the settle asset.
 *
 * The intrinsic value per underlying unit is max(w (S - K), 0) in quote (linear) or
 * max(w (S - K), 0) / S coins (inverse), w = +1 call, -1 put; a position of q contracts
 * receives q x contract_size x that (a short pays), rounded down to the settle asset's
 * quantum for the receiver. Isolated margin returns to the basket. The positions' handles are
 * freed, as by risk_position_close(): they must not be used afterwards. The option's mark becomes the
 * intrinsic value and the instrument is marked settled: positions on it can no longer be opened.
 * All or nothing: every balance is checked and reserved before any position changes.
 * @param[in] engine The engine.
 * @param[in] instrument An option instrument whose expiry is at or before the engine's time.
 * @param[in] settlement_price_quote The settlement (delivery) price of the underlying in quote,
 *            in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX] (Deribit: the 30-minute TWAP of the index).
 * @param[out] count_out Positions settled; may be NULL.
 * @retval RISK_OK Settled (count 0 when no account held the option).
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL Not an option, or the price outside the domain, or a balance after
 *         settlement outside it (2^53 quanta).
 * @retval RISK_ESTATE Not expired at the engine's time, or already settled.
 * @retval RISK_ENOMEM Out of memory (nothing changed).
 * @par Thread safety
 * Mutates the engine and every account holding the option.
 */
RISK_API RISK_NODISCARD int risk_engine_settle_expired(risk_engine *engine, uint32_t instrument,
                                                       double settlement_price_quote, size_t *count_out);

RISK_END_DECLS

/** @} */
#endif /* RISK_OPTIONS_H */
