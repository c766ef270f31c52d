/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/vol.h
 * @brief Volatility estimators: realised, EWMA, GARCH(1,1) and range (OHLC) estimators.
 * @defgroup vol Volatility estimators
 * @{
 *
 * Formulas, derivations and sources: docs/volatility.md, section 1.
 *
 * @par Naming
 * - `risk_vol_<estimator>(out, inputs..., n, parameters...)`: the array form (TA-Lib style).
 *   It reads @p n rows of input and writes @p n values to @p out, NaN where the estimator has
 *   no value yet; it never allocates. @p out may not overlap the inputs.
 * - `risk_vol_<estimator>_state`: the streaming state of an estimator, a caller-owned versioned
 *   struct; `risk_vol_<estimator>_init()` sets it up, `risk_vol_<estimator>_update()` folds in
 *   one log return, `risk_vol_<estimator>_update_price()` one price (the first only primes),
 *   `risk_vol_<estimator>_variance()` and `risk_vol_<estimator>_vol_annual()` read it. Each
 *   update is O(1) and allocation-free.
 *
 * @par Conventions
 * - Returns are log returns of closes, r_t = ln(C_t / C_(t-1)); row 0 has no return.
 * - The value at row t uses data up to and including row t.
 * - Variances are per period (per row); a volatility is annualised as
 *   sqrt(variance x periods_per_year), a fraction (0.6 = 60%). Crypto trades every day:
 *   ::RISK_VOL_PERIODS_DAILY (365) for daily bars, ::RISK_VOL_PERIODS_HOURLY (8,760) for hourly.
 *
 * @par Errors
 * These functions have no engine, so there is no error message: the status says it all.
 * ::RISK_ENULL for a NULL pointer; ::RISK_EINVAL for a NaN or infinite input, or one outside the
 * input domain (docs/errors.md "Input domain"): a price outside [::RISK_PRICE_MIN, ::RISK_PRICE_MAX]
 * (so closes of {100, 5e-324, 100} are refused, not turned into an infinite return), a log return
 * above ::RISK_LOG_RETURN_MAX in magnitude, a variance above ::RISK_VARIANCE_MAX, periods per year
 * above ::RISK_PERIODS_PER_YEAR_MAX; a bar with high < low or open/close outside [low, high], a window < 2 or longer than
 * the data, lambda outside (0, 1), periods_per_year <= 0; ::RISK_EVERSION for a state or struct
 * of unknown version. A failed call leaves its outputs and states untouched.
 *
 * @par Thread safety
 * Every function is reentrant: it touches only its arguments. A state is used by one thread at
 * a time.
 */
#ifndef RISK_VOL_H
#define RISK_VOL_H

#include "risk/common.h"

RISK_BEGIN_DECLS

/** Periods per year of daily bars on a market that trades every day. */
#define RISK_VOL_PERIODS_DAILY 365.0
/** Periods per year of hourly bars on a market that trades around the clock. */
#define RISK_VOL_PERIODS_HOURLY 8760.0
/** RiskMetrics' decay factor for daily data (RiskMetrics Technical Document, 1996, section 5.3.2). */
#define RISK_VOL_EWMA_LAMBDA_DEFAULT 0.94
/** risk_vol_garch_fit() keeps alpha + beta <= 1 - this margin, so that its result is always
 *  accepted by risk_vol_garch_init() and risk_vol_garch_loglik() and the long-run variance
 *  omega / (1 - alpha - beta) is finite (at most 1e6 x omega). */
#define RISK_VOL_GARCH_PERSISTENCE_MARGIN 1e-6

/* ---------------------------------------------------------------- EWMA (RiskMetrics) */

/** Version of ::risk_vol_ewma_state this header describes. */
#define RISK_VOL_EWMA_STATE_VERSION 1

/**
 * @brief Streaming EWMA variance, s2_t = lambda s2_(t-1) + (1 - lambda) r_t^2 (zero mean).
 *
 * Set up with risk_vol_ewma_init() (or ::RISK_VOL_EWMA_STATE_INIT, which is
 * risk_vol_ewma_init(lambda 0.94, seed 0)). The fields may be read; write them only through the
 * functions. With a seed of 0 the first return seeds the recursion: s2_1 = r_1^2.
 */
typedef struct risk_vol_ewma_state {
    uint32_t version;  /**< ::RISK_VOL_EWMA_STATE_VERSION. */
    uint32_t reserved; /**< 0. */
    double lambda;     /**< Decay factor in (0, 1). */
    double variance;   /**< Current per-period variance s2_t (the seed while count is 0). */
    double last_price; /**< Last price given to risk_vol_ewma_update_price(); 0 until one is. */
    uint64_t count;    /**< Number of returns folded in. */
} risk_vol_ewma_state;

/** A state with lambda 0.94, no seed, no price and no return. */
#define RISK_VOL_EWMA_STATE_INIT {RISK_VOL_EWMA_STATE_VERSION, 0u, RISK_VOL_EWMA_LAMBDA_DEFAULT, 0.0, 0.0, 0u}

/**
 * @brief Sets up an EWMA state.
 * @param[out] out The state; every field is written.
 * @param[in] lambda Decay factor in (0, 1); ::RISK_VOL_EWMA_LAMBDA_DEFAULT is RiskMetrics' daily value.
 * @param[in] seed_variance Per-period variance s2_0, in [0, ::RISK_VARIANCE_MAX]; 0 seeds with the first
 *            squared return (s2_1 = r_1^2).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p out is NULL.
 * @retval RISK_EINVAL @p lambda outside (0, 1), or @p seed_variance negative, NaN or above ::RISK_VARIANCE_MAX.
 * @par Thread safety
 * Writes @p out only.
 */
RISK_API RISK_NODISCARD int risk_vol_ewma_init(risk_vol_ewma_state *out, double lambda, double seed_variance);

/**
 * @brief Folds one log return into an EWMA state: s2 = lambda s2 + (1 - lambda) r^2.
 * @param[in,out] state The state.
 * @param[in] log_return r = ln(P_t / P_(t-1)), |r| <= ::RISK_LOG_RETURN_MAX.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p state is NULL.
 * @retval RISK_EVERSION Unknown state version.
 * @retval RISK_EINVAL @p log_return NaN or above ::RISK_LOG_RETURN_MAX in magnitude.
 * @par Thread safety
 * Writes @p state only.
 */
RISK_API RISK_NODISCARD int risk_vol_ewma_update(risk_vol_ewma_state *state, double log_return);

/**
 * @brief Folds one price into an EWMA state: the first price only primes, each later one folds
 *        in the log return from the previous price.
 * @param[in,out] state The state.
 * @param[in] price Price in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX].
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p state is NULL.
 * @retval RISK_EVERSION Unknown state version.
 * @retval RISK_EINVAL @p price outside [::RISK_PRICE_MIN, ::RISK_PRICE_MAX] or NaN.
 * @par Thread safety
 * Writes @p state only.
 */
RISK_API RISK_NODISCARD int risk_vol_ewma_update_price(risk_vol_ewma_state *state, double price);

/**
 * @brief Current per-period EWMA variance s2_t.
 * @param[in] state The state.
 * @param[out] variance_out The variance, >= 0.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown state version.
 * @retval RISK_ESTATE No value yet: no seed and no return folded in.
 * @par Thread safety
 * Reads @p state only.
 */
RISK_API RISK_NODISCARD int risk_vol_ewma_variance(const risk_vol_ewma_state *state, double *variance_out);

/**
 * @brief Current EWMA volatility, annualised: sqrt(s2_t x periods_per_year).
 * @param[in] state The state.
 * @param[in] periods_per_year Periods (rows) per year, in (0, ::RISK_PERIODS_PER_YEAR_MAX] (365 daily, 8,760 hourly).
 * @param[out] vol_out Annualised volatility, a fraction (0.6 = 60%).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown state version.
 * @retval RISK_EINVAL @p periods_per_year <= 0, NaN or above ::RISK_PERIODS_PER_YEAR_MAX.
 * @retval RISK_ESTATE No value yet: no seed and no return folded in.
 * @par Thread safety
 * Reads @p state only.
 */
RISK_API RISK_NODISCARD int risk_vol_ewma_vol_annual(const risk_vol_ewma_state *state, double periods_per_year,
                                                     double *vol_out);

/**
 * @brief EWMA volatility over a series of closes, annualised (array form).
 *
 * out[0] is NaN (no return); out[t] = sqrt(s2_t x periods_per_year) for t >= 1, where s2_t is
 * the state of risk_vol_ewma_update() after the returns r_1..r_t (bitwise the same numbers).
 * @param[out] out @p n values.
 * @param[in] close @p n closes, each in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX].
 * @param[in] n Number of rows (0 does nothing).
 * @param[in] lambda Decay factor in (0, 1).
 * @param[in] seed_variance s2_0 per period, in [0, ::RISK_VARIANCE_MAX]; 0 seeds with r_1^2.
 * @param[in] periods_per_year Rows per year, in (0, ::RISK_PERIODS_PER_YEAR_MAX].
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p out or @p close is NULL while @p n > 0.
 * @retval RISK_EINVAL A close outside [::RISK_PRICE_MIN, ::RISK_PRICE_MAX], or a parameter out of range.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_vol_ewma(double *out, const double *close, size_t n, double lambda,
                                          double seed_variance, double periods_per_year);

/* ---------------------------------------------------------------- log returns, close-to-close */

/**
 * @brief Log returns of a series of closes: out[0] = NaN, out[t] = ln(close[t] / close[t-1]).
 * @param[out] out @p n values (may be @p close itself: the update runs backwards in place).
 * @param[in] close @p n closes, each in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX].
 * @param[in] n Number of rows (0 does nothing).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p out or @p close is NULL while @p n > 0.
 * @retval RISK_EINVAL A close outside [::RISK_PRICE_MIN, ::RISK_PRICE_MAX].
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_vol_log_returns(double *out, const double *close, size_t n);

/**
 * @brief Close-to-close realised volatility over a rolling window, annualised (array form).
 *
 * The value at row t is the sample standard deviation (mean removed, divisor window - 1) of
 * the @p window returns r_(t-window+1)..r_t, times sqrt(periods_per_year): rows 0..window-1
 * are NaN.
 * @param[out] out @p n values.
 * @param[in] close @p n closes, each in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX].
 * @param[in] n Number of rows, > @p window.
 * @param[in] window Returns per window, >= 2.
 * @param[in] periods_per_year Rows per year, in (0, ::RISK_PERIODS_PER_YEAR_MAX].
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL array.
 * @retval RISK_EINVAL A close outside [::RISK_PRICE_MIN, ::RISK_PRICE_MAX], @p window < 2 or >= @p n, or
 *         @p periods_per_year out of range.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_vol_realized(double *out, const double *close, size_t n, size_t window,
                                              double periods_per_year);

/** Version of ::risk_vol_realized_state this header describes. */
#define RISK_VOL_REALIZED_STATE_VERSION 1

/**
 * @brief Streaming close-to-close realised variance over the last @p window returns.
 *
 * Keeps running sums of r and r^2 over a caller-provided ring of the window's returns (so an
 * update is O(1)); the sums are recomputed from the ring once per @p window updates, which
 * bounds rounding drift. Set up with risk_vol_realized_init(); read the fields, never write them.
 */
typedef struct risk_vol_realized_state {
    uint32_t version;   /**< ::RISK_VOL_REALIZED_STATE_VERSION. */
    uint32_t reserved;  /**< 0. */
    double *ring;       /**< Caller's buffer of at least @ref window doubles (borrowed). */
    size_t window;      /**< Returns per window, >= 2. */
    size_t head;        /**< Next ring slot to write. */
    uint64_t count;     /**< Returns folded in. */
    double sum;         /**< Sum of the returns in the window. */
    double sum_sq;      /**< Sum of their squares. */
    double last_price;  /**< Last price given to risk_vol_realized_update_price(); 0 until one is. */
} risk_vol_realized_state;

/**
 * @brief Sets up a realised-variance state.
 * @param[out] out The state; every field is written.
 * @param[in] ring Buffer of @p ring_capacity doubles the state uses as its window; it must stay
 *            valid, and untouched by the caller, while the state is used. The state does not free it.
 * @param[in] ring_capacity Length of @p ring, >= @p window.
 * @param[in] window Returns per window, >= 2.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p out or @p ring is NULL.
 * @retval RISK_EINVAL @p window < 2.
 * @retval RISK_EBUFFER @p ring_capacity < @p window.
 * @par Thread safety
 * Writes @p out only.
 */
RISK_API RISK_NODISCARD int risk_vol_realized_init(risk_vol_realized_state *out, double *ring, size_t ring_capacity,
                                                   size_t window);

/**
 * @brief Folds one log return into a realised-variance state (the oldest leaves a full window).
 * @param[in,out] state The state.
 * @param[in] log_return |r| <= ::RISK_LOG_RETURN_MAX.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p state is NULL.
 * @retval RISK_EVERSION Unknown state version.
 * @retval RISK_EINVAL @p log_return NaN or above ::RISK_LOG_RETURN_MAX in magnitude.
 * @par Thread safety
 * Writes @p state and its ring only.
 */
RISK_API RISK_NODISCARD int risk_vol_realized_update(risk_vol_realized_state *state, double log_return);

/**
 * @brief Folds one price into a realised-variance state: the first only primes.
 * @param[in,out] state The state.
 * @param[in] price In [::RISK_PRICE_MIN, ::RISK_PRICE_MAX].
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p state is NULL.
 * @retval RISK_EVERSION Unknown state version.
 * @retval RISK_EINVAL @p price outside [::RISK_PRICE_MIN, ::RISK_PRICE_MAX] or NaN.
 * @par Thread safety
 * Writes @p state and its ring only.
 */
RISK_API RISK_NODISCARD int risk_vol_realized_update_price(risk_vol_realized_state *state, double price);

/**
 * @brief Per-period sample variance of the last @p window returns (divisor window - 1).
 * @param[in] state The state.
 * @param[out] variance_out The variance, >= 0.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown state version.
 * @retval RISK_ESTATE Fewer than @p window returns so far.
 * @par Thread safety
 * Reads @p state only.
 */
RISK_API RISK_NODISCARD int risk_vol_realized_variance(const risk_vol_realized_state *state, double *variance_out);

/**
 * @brief Realised volatility, annualised: sqrt(variance x periods_per_year).
 * @param[in] state The state.
 * @param[in] periods_per_year Rows per year, in (0, ::RISK_PERIODS_PER_YEAR_MAX].
 * @param[out] vol_out Annualised volatility, a fraction.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown state version.
 * @retval RISK_EINVAL @p periods_per_year out of range.
 * @retval RISK_ESTATE Fewer than @p window returns so far.
 * @par Thread safety
 * Reads @p state only.
 */
RISK_API RISK_NODISCARD int risk_vol_realized_vol_annual(const risk_vol_realized_state *state, double periods_per_year,
                                                         double *vol_out);

/* ---------------------------------------------------------------- GARCH(1,1) */

/** Version of ::risk_vol_garch_state this header describes. */
#define RISK_VOL_GARCH_STATE_VERSION 1

/**
 * @brief Streaming GARCH(1,1) variance: s2_(t+1) = omega + alpha r_t^2 + beta s2_t (zero mean).
 *
 * @ref variance is always the forecast for the next period, s2_(t+1|t), made with the returns
 * up to t (the same timing as the EWMA state). Set up with risk_vol_garch_init(), typically
 * from a fit: risk_vol_garch_init(&s, fit.omega, fit.alpha, fit.beta, fit.variance_next).
 */
typedef struct risk_vol_garch_state {
    uint32_t version;  /**< ::RISK_VOL_GARCH_STATE_VERSION. */
    uint32_t reserved; /**< 0. */
    double omega;      /**< > 0, per-period variance units. */
    double alpha;      /**< >= 0. */
    double beta;       /**< >= 0, alpha + beta < 1. */
    double variance;   /**< s2_(t+1|t), the variance of the next period's return. */
    double last_price; /**< Last price given to risk_vol_garch_update_price(); 0 until one is. */
    uint64_t count;    /**< Returns folded in. */
} risk_vol_garch_state;

/**
 * @brief Sets up a GARCH(1,1) state.
 * @param[out] out The state; every field is written.
 * @param[in] omega Constant, in (0, ::RISK_VARIANCE_MAX] (per-period variance).
 * @param[in] alpha Weight of the last squared return, finite and >= 0.
 * @param[in] beta Weight of the last variance, finite and >= 0, with alpha + beta < 1.
 * @param[in] variance The variance of the next return, in (0, ::RISK_VARIANCE_MAX]: a fit's variance_next,
 *            or the long-run variance omega / (1 - alpha - beta).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p out is NULL.
 * @retval RISK_EINVAL A parameter out of range, NaN or infinite.
 * @par Thread safety
 * Writes @p out only.
 */
RISK_API RISK_NODISCARD int risk_vol_garch_init(risk_vol_garch_state *out, double omega, double alpha, double beta,
                                                double variance);

/**
 * @brief Folds one log return into a GARCH state: variance = omega + alpha r^2 + beta variance.
 * @param[in,out] state The state.
 * @param[in] log_return |r| <= ::RISK_LOG_RETURN_MAX.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p state is NULL.
 * @retval RISK_EVERSION Unknown state version.
 * @retval RISK_EINVAL @p log_return NaN or above ::RISK_LOG_RETURN_MAX in magnitude.
 * @par Thread safety
 * Writes @p state only.
 */
RISK_API RISK_NODISCARD int risk_vol_garch_update(risk_vol_garch_state *state, double log_return);

/**
 * @brief Folds one price into a GARCH state: the first only primes.
 * @param[in,out] state The state.
 * @param[in] price In [::RISK_PRICE_MIN, ::RISK_PRICE_MAX].
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p state is NULL.
 * @retval RISK_EVERSION Unknown state version.
 * @retval RISK_EINVAL @p price outside [::RISK_PRICE_MIN, ::RISK_PRICE_MAX] or NaN.
 * @par Thread safety
 * Writes @p state only.
 */
RISK_API RISK_NODISCARD int risk_vol_garch_update_price(risk_vol_garch_state *state, double price);

/**
 * @brief The state's variance of the next return, s2_(t+1|t), per period.
 * @param[in] state The state.
 * @param[out] variance_out The variance, > 0.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown state version.
 * @par Thread safety
 * Reads @p state only.
 */
RISK_API RISK_NODISCARD int risk_vol_garch_variance(const risk_vol_garch_state *state, double *variance_out);

/**
 * @brief The state's volatility of the next return, annualised: sqrt(s2_(t+1|t) x periods_per_year).
 * @param[in] state The state.
 * @param[in] periods_per_year Rows per year, in (0, ::RISK_PERIODS_PER_YEAR_MAX].
 * @param[out] vol_out Annualised volatility, a fraction.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown state version.
 * @retval RISK_EINVAL @p periods_per_year out of range.
 * @par Thread safety
 * Reads @p state only.
 */
RISK_API RISK_NODISCARD int risk_vol_garch_vol_annual(const risk_vol_garch_state *state, double periods_per_year,
                                                      double *vol_out);

/**
 * @brief GARCH(1,1) variance forecast @p horizon periods ahead, and the variance of the sum of
 *        the next @p horizon returns.
 *
 * With phi = alpha + beta, V_L = omega / (1 - phi) and s2_(t+1) the state's variance:
 * E_t[s2_(t+k)] = V_L + phi^(k-1) (s2_(t+1) - V_L), and
 * sum_(k=1..h) E_t[s2_(t+k)] = h V_L + (s2_(t+1) - V_L) (1 - phi^h) / (1 - phi).
 * @param[out] variance_out E_t[s2_(t+horizon)], per period; may be NULL.
 * @param[out] cumulative_out Variance of r_(t+1) + ... + r_(t+horizon); may be NULL.
 * @param[in] state The state (its parameters and variance).
 * @param[in] horizon Periods ahead, >= 1 (1 gives the state's variance).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p state is NULL, or both outputs are.
 * @retval RISK_EVERSION Unknown state version.
 * @retval RISK_EINVAL @p horizon is 0.
 * @par Thread safety
 * Reads @p state only.
 */
RISK_API RISK_NODISCARD int risk_vol_garch_forecast(double *variance_out, double *cumulative_out,
                                                    const risk_vol_garch_state *state, uint32_t horizon);

/**
 * @brief GARCH(1,1) conditional volatility over a series of closes, annualised (array form).
 *
 * out[0] is NaN; out[t] = sqrt(s2_(t+1|t) x periods_per_year) for t >= 1, the variance after
 * folding in r_1..r_t from s2_1 = @p seed_variance (risk_vol_garch_update() gives the same bits).
 * @param[out] out @p n values.
 * @param[in] close @p n closes, each in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX].
 * @param[in] n Number of rows, >= 2.
 * @param[in] omega Finite and > 0.
 * @param[in] alpha Finite and >= 0.
 * @param[in] beta Finite and >= 0, alpha + beta < 1.
 * @param[in] seed_variance s2_1, in [0, ::RISK_VARIANCE_MAX]; 0 for the mean of the squared returns
 *            (1/(n-1)) sum r_t^2, the start risk_vol_garch_fit() uses, so a fit's in-sample path
 *            (the long-run variance omega / (1 - alpha - beta) when every return is 0).
 * @param[in] periods_per_year Rows per year, in (0, ::RISK_PERIODS_PER_YEAR_MAX].
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL array.
 * @retval RISK_EINVAL A close outside [::RISK_PRICE_MIN, ::RISK_PRICE_MAX], @p n < 2, or a parameter out of range.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_vol_garch(double *out, const double *close, size_t n, double omega, double alpha,
                                           double beta, double seed_variance, double periods_per_year);

/**
 * @brief Gaussian log-likelihood of returns under GARCH(1,1) parameters.
 *
 * L = -1/2 sum_(t=1..n) [ln(2 pi) + ln s2_t + r_t^2 / s2_t], with s2_1 the mean of the squared
 * returns and s2_(t+1) = omega + alpha r_t^2 + beta s2_t: the function risk_vol_garch_fit() maximises.
 * @param[out] loglik_out The log-likelihood.
 * @param[in] returns @p n log returns, each at most ::RISK_LOG_RETURN_MAX in magnitude, not all zero.
 * @param[in] n Number of returns, >= 2.
 * @param[in] omega Finite and > 0.
 * @param[in] alpha Finite and >= 0.
 * @param[in] beta Finite and >= 0, alpha + beta < 1.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL pointer.
 * @retval RISK_EINVAL A return NaN or above ::RISK_LOG_RETURN_MAX in magnitude, all returns zero, @p n < 2, or a parameter out of range.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_vol_garch_loglik(double *loglik_out, const double *returns, size_t n, double omega,
                                                  double alpha, double beta);

/** Version of ::risk_vol_garch_options this header describes. */
#define RISK_VOL_GARCH_OPTIONS_VERSION 1
/** GARCH fit flag: variance targeting, omega = V (1 - alpha - beta) with V the mean squared return. */
#define RISK_VOL_GARCH_VARIANCE_TARGETING 0x1u

/** @brief Options of risk_vol_garch_fit(). Initialise with ::RISK_VOL_GARCH_OPTIONS_INIT. */
typedef struct risk_vol_garch_options {
    uint32_t version;        /**< ::RISK_VOL_GARCH_OPTIONS_VERSION. */
    uint32_t flags;          /**< 0 or ::RISK_VOL_GARCH_VARIANCE_TARGETING. */
    uint32_t max_iterations; /**< Quasi-Newton iterations, 1..10000; default 200. */
    uint32_t reserved;       /**< 0. */
    double tolerance;        /**< Stop when every gradient component of the mean log-likelihood
                                  (per unconstrained parameter) is below this, in (0, 1e-2]; default 1e-8. */
} risk_vol_garch_options;

/** Default GARCH fit options: no variance targeting, 200 iterations, tolerance 1e-8. */
#define RISK_VOL_GARCH_OPTIONS_INIT {RISK_VOL_GARCH_OPTIONS_VERSION, 0u, 200u, 0u, 1e-8}

/** Version of ::risk_vol_garch_result this header describes. */
#define RISK_VOL_GARCH_RESULT_VERSION 1

/**
 * @brief A GARCH(1,1) fit. Initialise with ::RISK_VOL_GARCH_RESULT_INIT before the call.
 *
 * Standard errors come from the numerical Hessian H of the log-likelihood at the optimum (in
 * omega, alpha, beta): se_* from (-H)^-1 (plain, valid when returns are conditionally
 * Gaussian), se_robust_* from the Bollerslev-Wooldridge sandwich H^-1 J H^-1, J the sum of the
 * outer products of the per-return scores (valid under fat tails). Under variance targeting
 * H is over (alpha, beta) only and the omega errors follow by the delta method, treating V as
 * known. NaN when H is not negative definite: an optimum on the boundary, such as alpha near 0
 * on returns without volatility clustering (beta is then not identified).
 */
typedef struct risk_vol_garch_result {
    uint32_t version;         /**< ::RISK_VOL_GARCH_RESULT_VERSION (set by the caller). */
    uint32_t flags;           /**< The options' flags. */
    uint32_t converged;       /**< 1 when the gradient tolerance was met, 0 at the iteration limit. */
    uint32_t iterations;      /**< Quasi-Newton iterations used. */
    size_t n;                 /**< Number of returns. */
    double omega;             /**< Constant, per-period variance. */
    double alpha;             /**< ARCH weight, >= 0. */
    double beta;              /**< GARCH weight, >= 0; alpha + beta <= 1 - ::RISK_VOL_GARCH_PERSISTENCE_MARGIN. */
    double se_omega;          /**< Standard error of omega (plain). */
    double se_alpha;          /**< Standard error of alpha (plain). */
    double se_beta;           /**< Standard error of beta (plain). */
    double se_robust_omega;   /**< Standard error of omega (sandwich). */
    double se_robust_alpha;   /**< Standard error of alpha (sandwich). */
    double se_robust_beta;    /**< Standard error of beta (sandwich). */
    double log_likelihood;    /**< Gaussian log-likelihood at the optimum (risk_vol_garch_loglik()). */
    double long_run_variance; /**< V_L = omega / (1 - alpha - beta), per period; finite. */
    double sample_variance;   /**< V = (1/n) sum r_t^2, also s2_1. */
    double variance_next;     /**< s2_(n+1|n): the variance of the return after the sample. */
} risk_vol_garch_result;

/** A result ready for risk_vol_garch_fit(): version set, everything else 0. */
#define RISK_VOL_GARCH_RESULT_INIT {RISK_VOL_GARCH_RESULT_VERSION, 0u, 0u, 0u, 0u, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, \
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}

/**
 * @brief Fits GARCH(1,1) by Gaussian (quasi) maximum likelihood.
 *
 * Maximises risk_vol_garch_loglik() with BFGS over unconstrained parameters: omega = V e^u,
 * alpha = e^a / (1 + e^a + e^b), beta = e^b / (1 + e^a + e^b), which keeps omega > 0,
 * alpha, beta > 0 and alpha + beta < 1; the gradient is exact (the recursion differentiated).
 * In floating point e^a / D + e^b / D rounds to 1.0 once 1 / D underflows next to them, so the
 * map is held to alpha + beta <= 1 - ::RISK_VOL_GARCH_PERSISTENCE_MARGIN (alpha and beta scaled
 * down together) and omega to [1e-12 V, ::RISK_VARIANCE_MAX]: every fit is accepted by
 * risk_vol_garch_init() and risk_vol_garch_loglik(), and its long-run variance is finite.
 * The best of a few starting points seeds the search. No allocation.
 * @param[out] out The fit; its version must be set (::RISK_VOL_GARCH_RESULT_INIT).
 * @param[in] returns @p n log returns, each at most ::RISK_LOG_RETURN_MAX in magnitude (zero mean is assumed: subtract a mean first if it matters).
 * @param[in] n Number of returns, >= 10.
 * @param[in] options NULL for the defaults, or ::RISK_VOL_GARCH_OPTIONS_INIT then changed.
 * @retval RISK_OK Done (check converged).
 * @retval RISK_ENULL @p out or @p returns is NULL.
 * @retval RISK_EVERSION Unknown version of @p out or @p options.
 * @retval RISK_EINVAL A return NaN or above ::RISK_LOG_RETURN_MAX in magnitude, all returns zero, @p n < 10, or an option out of range.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_vol_garch_fit(risk_vol_garch_result *out, const double *returns, size_t n,
                                               const risk_vol_garch_options *options);

/* ---------------------------------------------------------------- range (OHLC) estimators */

/**
 * @brief Parkinson volatility over a rolling window of bars, annualised (array form).
 *
 * Per bar (ln(H/L))^2 / (4 ln 2); the value at row t is the mean over bars t-window+1..t, times
 * periods_per_year, square-rooted. Rows 0..window-2 are NaN.
 * @param[out] out @p n values.
 * @param[in] high @p n highs, in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX].
 * @param[in] low @p n lows, in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX] and <= high.
 * @param[in] n Number of bars, >= @p window.
 * @param[in] window Bars per window, >= 2.
 * @param[in] periods_per_year Bars per year, in (0, ::RISK_PERIODS_PER_YEAR_MAX].
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL array.
 * @retval RISK_EINVAL A bad bar, @p window < 2 or > @p n, or @p periods_per_year out of range.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_vol_parkinson(double *out, const double *high, const double *low, size_t n,
                                               size_t window, double periods_per_year);

/**
 * @brief Garman-Klass volatility over a rolling window of bars, annualised (array form).
 *
 * Per bar 1/2 (ln(H/L))^2 - (2 ln 2 - 1) (ln(C/O))^2; mean over the window as risk_vol_parkinson().
 * @param[out] out @p n values; rows 0..window-2 are NaN.
 * @param[in] open @p n opens.
 * @param[in] high @p n highs.
 * @param[in] low @p n lows.
 * @param[in] close @p n closes. Every price in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX], low <= open, close <= high.
 * @param[in] n Number of bars, >= @p window.
 * @param[in] window Bars per window, >= 2.
 * @param[in] periods_per_year Bars per year, in (0, ::RISK_PERIODS_PER_YEAR_MAX].
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL array.
 * @retval RISK_EINVAL A bad bar, @p window < 2 or > @p n, or @p periods_per_year out of range.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_vol_garman_klass(double *out, const double *open, const double *high,
                                                  const double *low, const double *close, size_t n, size_t window,
                                                  double periods_per_year);

/**
 * @brief Rogers-Satchell volatility over a rolling window of bars, annualised (array form).
 *
 * Per bar ln(H/C) ln(H/O) + ln(L/C) ln(L/O); mean over the window as risk_vol_parkinson().
 * @param[out] out @p n values; rows 0..window-2 are NaN.
 * @param[in] open @p n opens.
 * @param[in] high @p n highs.
 * @param[in] low @p n lows.
 * @param[in] close @p n closes. Every price in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX], low <= open, close <= high.
 * @param[in] n Number of bars, >= @p window.
 * @param[in] window Bars per window, >= 2.
 * @param[in] periods_per_year Bars per year, in (0, ::RISK_PERIODS_PER_YEAR_MAX].
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL array.
 * @retval RISK_EINVAL A bad bar, @p window < 2 or > @p n, or @p periods_per_year out of range.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_vol_rogers_satchell(double *out, const double *open, const double *high,
                                                     const double *low, const double *close, size_t n, size_t window,
                                                     double periods_per_year);

/**
 * @brief Yang-Zhang volatility over a rolling window of bars, annualised (array form).
 *
 * Over the @p window bars t-window+1..t: s2_o the sample variance of the overnight returns
 * ln(O_i / C_(i-1)), s2_c that of the open-to-close returns ln(C_i / O_i) (both with divisor
 * window - 1), s2_rs the mean Rogers-Satchell term, and s2 = s2_o + k s2_c + (1 - k) s2_rs with
 * k = 0.34 / (1.34 + (window + 1) / (window - 1)). Bar 0 has no previous close, so rows
 * 0..window-1 are NaN.
 * @param[out] out @p n values.
 * @param[in] open @p n opens.
 * @param[in] high @p n highs.
 * @param[in] low @p n lows.
 * @param[in] close @p n closes. Every price in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX], low <= open, close <= high.
 * @param[in] n Number of bars, > @p window.
 * @param[in] window Bars per window, >= 2.
 * @param[in] periods_per_year Bars per year, in (0, ::RISK_PERIODS_PER_YEAR_MAX].
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL array.
 * @retval RISK_EINVAL A bad bar, @p window < 2 or >= @p n, or @p periods_per_year out of range.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_vol_yang_zhang(double *out, const double *open, const double *high,
                                                const double *low, const double *close, size_t n, size_t window,
                                                double periods_per_year);

/** Range method: Parkinson. */
#define RISK_VOL_PARKINSON 1u
/** Range method: Garman-Klass. */
#define RISK_VOL_GARMAN_KLASS 2u
/** Range method: Rogers-Satchell. */
#define RISK_VOL_ROGERS_SATCHELL 3u
/** Range method: Yang-Zhang. */
#define RISK_VOL_YANG_ZHANG 4u
/** Ring length (doubles) a range state needs for a window of @p window bars, for any method. */
#define RISK_VOL_RANGE_RING_LEN(window) (3u * (size_t)(window))

/** Version of ::risk_vol_range_state this header describes. */
#define RISK_VOL_RANGE_STATE_VERSION 1

/**
 * @brief Streaming range estimator over the last @p window bars (any of the four methods).
 *
 * Keeps running sums over a caller-provided ring (::RISK_VOL_RANGE_RING_LEN doubles), so an
 * update is O(1); they are recomputed from the ring once per @p window bars. Gives the same
 * values as the array forms. Set up with risk_vol_range_init(); read the fields, never write them.
 */
typedef struct risk_vol_range_state {
    uint32_t version;   /**< ::RISK_VOL_RANGE_STATE_VERSION. */
    uint32_t method;    /**< ::RISK_VOL_PARKINSON, ::RISK_VOL_GARMAN_KLASS, ::RISK_VOL_ROGERS_SATCHELL or ::RISK_VOL_YANG_ZHANG. */
    double *ring;       /**< Caller's buffer of at least 3 x @ref window doubles (borrowed). */
    size_t window;      /**< Bars per window, >= 2. */
    size_t head;        /**< Next ring slot (bar) to write. */
    uint64_t count;     /**< Bars folded in (Yang-Zhang: bars with a previous close). */
    double sum[5];      /**< Running sums over the window (method-specific). */
    double last_close;  /**< Close of the last bar; 0 before the first. */
} risk_vol_range_state;

/**
 * @brief Sets up a range-estimator state.
 * @param[out] out The state; every field is written.
 * @param[in] method ::RISK_VOL_PARKINSON, ::RISK_VOL_GARMAN_KLASS, ::RISK_VOL_ROGERS_SATCHELL or ::RISK_VOL_YANG_ZHANG.
 * @param[in] ring Buffer of @p ring_capacity doubles (borrowed, as for risk_vol_realized_init()).
 * @param[in] ring_capacity Length of @p ring, >= RISK_VOL_RANGE_RING_LEN(window).
 * @param[in] window Bars per window, >= 2.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p out or @p ring is NULL.
 * @retval RISK_EINVAL Unknown method, or @p window < 2.
 * @retval RISK_EBUFFER @p ring_capacity too small.
 * @par Thread safety
 * Writes @p out only.
 */
RISK_API RISK_NODISCARD int risk_vol_range_init(risk_vol_range_state *out, uint32_t method, double *ring,
                                                size_t ring_capacity, size_t window);

/**
 * @brief Folds one OHLC bar into a range state (Yang-Zhang: the first bar only gives its close).
 * @param[in,out] state The state.
 * @param[in] open Open.
 * @param[in] high High.
 * @param[in] low Low.
 * @param[in] close Close. Every price in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX], low <= open, close <= high.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p state is NULL.
 * @retval RISK_EVERSION Unknown state version.
 * @retval RISK_EINVAL A bad bar.
 * @par Thread safety
 * Writes @p state and its ring only.
 */
RISK_API RISK_NODISCARD int risk_vol_range_update(risk_vol_range_state *state, double open, double high, double low,
                                                  double close);

/**
 * @brief Per-period variance of the range estimator over the last @p window bars.
 * @param[in] state The state.
 * @param[out] variance_out The variance, >= 0.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown state version.
 * @retval RISK_ESTATE Fewer than @p window bars so far.
 * @par Thread safety
 * Reads @p state only.
 */
RISK_API RISK_NODISCARD int risk_vol_range_variance(const risk_vol_range_state *state, double *variance_out);

/**
 * @brief Range-estimator volatility, annualised: sqrt(variance x periods_per_year).
 * @param[in] state The state.
 * @param[in] periods_per_year Bars per year, in (0, ::RISK_PERIODS_PER_YEAR_MAX].
 * @param[out] vol_out Annualised volatility, a fraction.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown state version.
 * @retval RISK_EINVAL @p periods_per_year out of range.
 * @retval RISK_ESTATE Fewer than @p window bars so far.
 * @par Thread safety
 * Reads @p state only.
 */
RISK_API RISK_NODISCARD int risk_vol_range_vol_annual(const risk_vol_range_state *state, double periods_per_year,
                                                      double *vol_out);

RISK_END_DECLS

/** @} */
#endif /* RISK_VOL_H */
