/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/var.h
 * @brief Value-at-Risk and Expected Shortfall over P&L or return vectors, and VaR back-tests.
 * @defgroup var Value-at-Risk and Expected Shortfall
 * @{
 *
 * Formulas, definitions and sources: docs/var.md.
 *
 * @par Conventions
 * - A P&L vector holds one profit (> 0) or loss (< 0) per scenario, in one currency. The loss
 *   of a scenario is L = -P&L. VaR and ES are reported as losses: a positive number is a loss,
 *   in the P&L's currency.
 * - A level alpha is the confidence: 0.99 for a 99 % VaR, 0.975 for the Basel FRTB ES.
 * - Returns and risk-factor moves are per period (a row); a horizon is a number of periods.
 *   The parametric and Monte Carlo functions scale the covariance by the horizon (sqrt-time for
 *   volatilities); historical methods take P&L vectors already on the horizon (docs/var.md 2.4).
 * - Matrices are row-major: element (i, j) of a k x k matrix is m[i * k + j]; a scenario matrix
 *   of n scenarios and k factors is n rows of k.
 * - Nothing allocates: functions that need room take a caller's @p work buffer and its length,
 *   named by a `RISK_VAR_*_WORK` macro.
 *
 * @par Errors
 * These functions have no engine: the status says it all. ::RISK_ENULL for a NULL pointer;
 * ::RISK_EINVAL for a NaN or infinite input, a P&L above ::RISK_NOTIONAL_MAX in magnitude, a
 * return above ::RISK_LOG_RETURN_MAX in magnitude, a level outside (0, 1), or a matrix that is
 * not symmetric positive semi-definite; ::RISK_EBUFFER for a work buffer too small;
 * ::RISK_EVERSION for a struct of unknown version. A failed call writes nothing.
 *
 * @par Thread safety
 * Every function is reentrant: it touches only its arguments.
 */
#ifndef RISK_VAR_H
#define RISK_VAR_H

#include "risk/common.h"

RISK_BEGIN_DECLS

/** Basel FRTB's VaR confidence for back-testing (BCBS d457, MAR99): 99 %. */
#define RISK_VAR_LEVEL_DEFAULT 0.99
/** Basel FRTB's Expected Shortfall confidence (BCBS d457, MAR33.3): 97.5 %. */
#define RISK_VAR_ES_LEVEL_DEFAULT 0.975
/** Largest number of risk factors of the matrix functions (a k x k matrix stays small). */
#define RISK_VAR_FACTORS_MAX 4096u
/** Largest Monte Carlo Student-t degrees of freedom (beyond it the t is the normal to 1e-6). */
#define RISK_VAR_DOF_MAX 1e6

/* ---------------------------------------------------------------- result */

/** Version of ::risk_var_result this header describes. */
#define RISK_VAR_RESULT_VERSION 1

/** @brief A VaR and an ES. Initialise with ::RISK_VAR_RESULT_INIT before the call. */
typedef struct risk_var_result {
    uint32_t version;  /**< ::RISK_VAR_RESULT_VERSION (set by the caller). */
    uint32_t reserved; /**< 0. */
    size_t n;          /**< Scenarios used (0 for the parametric functions). */
    double var_level;  /**< The VaR's confidence alpha. */
    double es_level;   /**< The ES's confidence beta. */
    double var;        /**< VaR at var_level, a loss (> 0 is a loss). */
    double es;         /**< ES at es_level, a loss; es >= the VaR at es_level. */
    double mean;       /**< Mean P&L (historical: of the scenarios; parametric: of the model). */
    double stdev;      /**< Standard deviation of the P&L (historical: divisor n). */
} risk_var_result;

/** A result ready for a call: version set, everything else 0. */
#define RISK_VAR_RESULT_INIT {RISK_VAR_RESULT_VERSION, 0u, 0u, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}

/* ---------------------------------------------------------------- historical simulation */

/** Doubles of work risk_var_historical() needs for @p n scenarios. */
#define RISK_VAR_HISTORICAL_WORK(n) ((size_t)(n))

/**
 * @brief Historical-simulation VaR and ES of a P&L vector.
 *
 * Sort the losses L = -P&L in decreasing order, L(1) >= ... >= L(n), and let m = n (1 - alpha)
 * be the tail's size in observations (rounded to the nearest integer when within 1e-9 of it,
 * so that decimal levels keep their decimal meaning), k = floor(m). Then
 * VaR_alpha = L(k + 1), the empirical alpha-quantile of the loss (the smallest l with
 * F_n(l) >= alpha: numpy's `quantile(method="inverted_cdf")`), and
 * ES_beta = [L(1) + ... + L(k) + (m - k) L(k + 1)] / m (Acerbi and Tasche 2002: the tail mean
 * with the fractional observation). When m < 1 both are L(1), the worst loss. Sums run from the
 * largest loss down, so the result is the same bits for any order of the input.
 * @param[out] out The result; its version must be set (::RISK_VAR_RESULT_INIT).
 * @param[in] pnl @p n P&L values, each finite and at most ::RISK_NOTIONAL_MAX in magnitude.
 * @param[in] n Number of scenarios, >= 1.
 * @param[in] var_level VaR confidence alpha, in (0, 1).
 * @param[in] es_level ES confidence beta, in (0, 1).
 * @param[in] work Room for RISK_VAR_HISTORICAL_WORK(n) doubles (overwritten; may not overlap @p pnl).
 * @param[in] work_len Length of @p work in doubles.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown version of @p out.
 * @retval RISK_EINVAL @p n is 0, a P&L out of the domain, or a level outside (0, 1).
 * @retval RISK_EBUFFER @p work_len too small.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_var_historical(risk_var_result *out, const double *pnl, size_t n, double var_level,
                                                double es_level, double *work, size_t work_len);

/**
 * @brief Merges the P&L vectors of several books or shards: out[s] = sum over j of pnl[j][s].
 *
 * The book's VaR is the VaR of the merged vector, never the sum of the books' VaRs. The sum runs
 * over j = 0, 1, ..., @p books - 1 in that order, from 0.0, so a merge is the same bits whatever
 * the machine; merging the same vectors in the same order gives the same vector.
 * @param[out] out @p n values; may be one of the inputs (each scenario is read before it is written).
 * @param[in] pnl @p books pointers to @p n P&L values each, finite and at most
 *            ::RISK_NOTIONAL_MAX in magnitude.
 * @param[in] books Number of vectors, >= 1.
 * @param[in] n Scenarios per vector (0 does nothing).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EINVAL @p books is 0, a value out of the domain, or a sum above ::RISK_NOTIONAL_MAX.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_var_pnl_merge(double *out, const double *const *pnl, size_t books, size_t n);

/**
 * @brief P&L of a delta(-gamma) portfolio under factor moves: a P&L vector from exposures.
 *
 * For scenario s with moves x_s (row s of @p moves): P&L_s = sum_i delta_i x_si
 * + 1/2 sum_ij gamma_ij x_si x_sj (the second term only with @p gamma). With moves as returns,
 * delta_i is the cash delta (value change per unit return: position value for a linear
 * position) and gamma_ij the cash gamma.
 * @param[out] out @p n values (may not overlap the inputs).
 * @param[in] moves @p n x @p k factor moves, each at most ::RISK_LOG_RETURN_MAX in magnitude.
 * @param[in] n Number of scenarios (0 does nothing).
 * @param[in] k Number of factors, 1..::RISK_VAR_FACTORS_MAX.
 * @param[in] delta @p k cash deltas, each at most ::RISK_NOTIONAL_MAX in magnitude.
 * @param[in] gamma NULL, or @p k x @p k cash gammas, symmetric, each at most ::RISK_NOTIONAL_MAX in magnitude.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p out, @p moves or @p delta NULL while @p n > 0.
 * @retval RISK_EINVAL A value out of the domain, @p gamma not symmetric, or @p k out of range.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_var_pnl_delta_gamma(double *out, const double *moves, size_t n, size_t k,
                                                     const double *delta, const double *gamma);

/* ---------------------------------------------------------------- filtered historical simulation */

/** FHS filter: RiskMetrics EWMA variance (risk_vol_ewma_update()). */
#define RISK_VAR_FILTER_EWMA 1u
/** FHS filter: GARCH(1,1) variance (risk_vol_garch_update()), typically from risk_vol_garch_fit(). */
#define RISK_VAR_FILTER_GARCH 2u

/** Version of ::risk_var_filter this header describes. */
#define RISK_VAR_FILTER_VERSION 1

/** @brief The volatility model of filtered historical simulation. Initialise with ::RISK_VAR_FILTER_INIT. */
typedef struct risk_var_filter {
    uint32_t version;     /**< ::RISK_VAR_FILTER_VERSION. */
    uint32_t model;       /**< ::RISK_VAR_FILTER_EWMA or ::RISK_VAR_FILTER_GARCH. */
    double lambda;        /**< EWMA decay, in (0, 1); default ::RISK_VOL_EWMA_LAMBDA_DEFAULT (0.94). */
    double omega;         /**< GARCH constant, > 0 (per-period variance). */
    double alpha;         /**< GARCH weight of the last squared return, >= 0. */
    double beta;          /**< GARCH weight of the last variance, >= 0, alpha + beta < 1. */
    double seed_variance; /**< Variance forecast of the first return, in [0, ::RISK_VARIANCE_MAX];
                               0 takes the mean squared return of the sample (as risk_vol_garch_fit() does). */
} risk_var_filter;

/** EWMA with lambda 0.94, seeded with the mean squared return. */
#define RISK_VAR_FILTER_INIT {RISK_VAR_FILTER_VERSION, RISK_VAR_FILTER_EWMA, 0.94, 0.0, 0.0, 0.0, 0.0}

/**
 * @brief Filtered historical simulation: returns devolatilised and re-scaled to today's volatility.
 *
 * With s2_t the model's variance forecast of return t made before it (s2_1 the seed; EWMA
 * s2_(t+1) = lambda s2_t + (1 - lambda) r_t^2, GARCH s2_(t+1) = omega + alpha r_t^2 + beta s2_t,
 * through the library's streaming estimators) and s2_(n+1) the forecast after the last return
 * ("today"), out[t] = r_t sqrt(s2_(n+1)) / sqrt(s2_t): the historical standardised residuals
 * carried to the current volatility (Barone-Adesi, Giannopoulos and Vosper 1999; Eurex Prisma's
 * market-risk component). Build P&L from them (risk_var_pnl_delta_gamma()) and take
 * risk_var_historical().
 * @param[out] out @p n filtered returns (may not overlap @p returns).
 * @param[out] sigma_now_out NULL, or sqrt(s2_(n+1)), today's per-period volatility.
 * @param[in] returns @p n log returns, each at most ::RISK_LOG_RETURN_MAX in magnitude.
 * @param[in] n Number of returns, >= 2.
 * @param[in] filter The model; NULL for ::RISK_VAR_FILTER_INIT.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p out or @p returns NULL.
 * @retval RISK_EVERSION Unknown version of @p filter.
 * @retval RISK_EINVAL A return out of the domain, @p n < 2, a parameter out of range, all
 *         returns zero with no seed, or a variance forecast that underflows to 0.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_var_fhs_returns(double *out, double *sigma_now_out, const double *returns, size_t n,
                                                 const risk_var_filter *filter);

/* ---------------------------------------------------------------- parametric */

/**
 * @brief Delta-normal VaR and ES: the P&L is delta' x with x ~ N(0, h Sigma).
 *
 * sigma_P = sqrt(h delta' Sigma delta); VaR = z_alpha sigma_P, ES = sigma_P phi(z_beta) / (1 - beta),
 * z = N^-1 (Wichura's AS 241, relative error below 1e-15), phi the normal density; mean 0.
 * @param[out] out The result; its version must be set.
 * @param[in] delta @p k cash deltas, each finite and at most ::RISK_NOTIONAL_MAX in magnitude.
 * @param[in] cov @p k x @p k covariance of the per-period factor moves, symmetric, each entry
 *            finite and at most ::RISK_VARIANCE_MAX in magnitude.
 * @param[in] k Number of factors, 1..::RISK_VAR_FACTORS_MAX.
 * @param[in] var_level alpha in (0, 1).
 * @param[in] es_level beta in (0, 1).
 * @param[in] horizon_periods h, in (0, 1e6]: the covariance scales by h (sqrt-time on sigma).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown version of @p out.
 * @retval RISK_EINVAL A value out of the domain, an asymmetric @p cov, or delta' Sigma delta < 0.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_var_delta_normal(risk_var_result *out, const double *delta, const double *cov,
                                                  size_t k, double var_level, double es_level,
                                                  double horizon_periods);

/** Doubles of work risk_var_delta_gamma() needs for @p k factors: 2 k^2 + 2 k. */
#define RISK_VAR_DELTA_GAMMA_WORK(k) (2u * (size_t)(k) * (size_t)(k) + 2u * (size_t)(k))

/**
 * @brief Delta-gamma VaR and ES by moment matching and the Cornish-Fisher expansion.
 *
 * P&L = delta' x + 1/2 x' Gamma x with x ~ N(0, S), S = h Sigma. Its cumulants are exact
 * (A = Gamma S): mean = tr(A)/2, variance = delta' S delta + tr(A^2)/2,
 * k3 = 3 delta' S Gamma S delta + tr(A^3), k4 = 12 delta' S Gamma S Gamma S delta + 3 tr(A^4).
 * The loss quantile is the Cornish-Fisher expansion in the loss's skewness s and excess
 * kurtosis e: w(z) = z + (z^2 - 1) s/6 + (z^3 - 3 z) e/24 - (2 z^3 - 5 z) s^2/36,
 * VaR = -mean + stdev w(z_alpha); ES is the tail mean of that quantile function,
 * 1/(1 - beta) x integral of VaR_u over u in (beta, 1), in closed form:
 * ES = -mean + stdev phi(z_beta) / (1 - beta) [1 + z s/6 + (z^2 - 1) e/24 - (2 z^2 - 1) s^2/36]
 * (docs/var.md 3.2). With Gamma = 0 both are those of risk_var_delta_normal().
 * The expansion is a fit: it is not monotone for |s| beyond about 0.7 (docs/var.md).
 * @param[out] out The result; its version must be set.
 * @param[in] delta @p k cash deltas.
 * @param[in] gamma @p k x @p k cash gammas, symmetric.
 * @param[in] cov @p k x @p k covariance of the per-period factor moves, symmetric.
 * @param[in] k Number of factors, 1..::RISK_VAR_FACTORS_MAX.
 * @param[in] var_level alpha in (0, 1).
 * @param[in] es_level beta in (0, 1).
 * @param[in] horizon_periods h, in (0, 1e6].
 * @param[in] work Room for RISK_VAR_DELTA_GAMMA_WORK(k) doubles (overwritten).
 * @param[in] work_len Length of @p work.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown version of @p out.
 * @retval RISK_EINVAL A value out of the domain, an asymmetric matrix, a zero or negative P&L variance.
 * @retval RISK_EBUFFER @p work_len too small.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_var_delta_gamma(risk_var_result *out, const double *delta, const double *gamma,
                                                 const double *cov, size_t k, double var_level, double es_level,
                                                 double horizon_periods, double *work, size_t work_len);

/**
 * @brief Inverse of the standard normal distribution function, N^-1(p) (Wichura's AS 241, PPND16).
 * @param[in] p Probability in (0, 1).
 * @param[out] z_out z with N(z) = p; relative error below 1e-15.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL @p z_out is NULL.
 * @retval RISK_EINVAL @p p outside (0, 1) or NaN.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_var_norm_quantile(double p, double *z_out);

/* ---------------------------------------------------------------- Monte Carlo */

/**
 * @brief EWMA covariance of factor moves (RiskMetrics): S_t = lambda S_(t-1) + (1 - lambda) r_t r_t'.
 *
 * S_1 = r_1 r_1' (the first outer product seeds, as risk_vol_ewma() with seed 0), so the
 * diagonal is bit for bit the variance of risk_vol_ewma_update() on each column.
 * @param[out] out @p k x @p k covariance after the @p n rows.
 * @param[in] returns @p n x @p k log returns, each at most ::RISK_LOG_RETURN_MAX in magnitude.
 * @param[in] n Number of rows, >= 1.
 * @param[in] k Number of factors, 1..::RISK_VAR_FACTORS_MAX.
 * @param[in] lambda Decay in (0, 1).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EINVAL A value out of the domain or a parameter out of range.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_var_ewma_cov(double *out, const double *returns, size_t n, size_t k, double lambda);

/** Monte Carlo shocks: multivariate normal. */
#define RISK_VAR_MC_NORMAL 1u
/** Monte Carlo shocks: multivariate Student t (one chi-square per scenario), scaled to the covariance. */
#define RISK_VAR_MC_STUDENT_T 2u

/** Version of ::risk_var_mc_options this header describes. */
#define RISK_VAR_MC_OPTIONS_VERSION 1

/** @brief Options of risk_var_mc_scenarios(). Initialise with ::RISK_VAR_MC_OPTIONS_INIT. */
typedef struct risk_var_mc_options {
    uint32_t version;       /**< ::RISK_VAR_MC_OPTIONS_VERSION. */
    uint32_t distribution;  /**< ::RISK_VAR_MC_NORMAL or ::RISK_VAR_MC_STUDENT_T. */
    uint64_t seed;          /**< Seed of the generator (any value; splitmix64 expands it). */
    double dof;             /**< Student-t degrees of freedom nu, in (2, ::RISK_VAR_DOF_MAX]; default 4. */
    double horizon_periods; /**< h in (0, 1e6]: shocks have covariance h Sigma. Default 1. */
} risk_var_mc_options;

/** Normal shocks, seed 1, nu 4 (used only by the t), horizon 1. */
#define RISK_VAR_MC_OPTIONS_INIT {RISK_VAR_MC_OPTIONS_VERSION, RISK_VAR_MC_NORMAL, 1u, 4.0, 1.0}

/** Doubles of work risk_var_mc_scenarios() needs for @p k factors: k^2 (the Cholesky factor). */
#define RISK_VAR_MC_WORK(k) ((size_t)(k) * (size_t)(k))

/**
 * @brief Correlated Monte Carlo factor moves, reproducible bit for bit from a seed.
 *
 * Sigma = C C' (Cholesky; a zero pivot, from a singular but positive semi-definite Sigma, gives
 * a zero column). Per scenario s, in order: k standard normals z (Marsaglia's polar method on
 * xoshiro256** uniforms (x >> 11) 2^-53, the generator's state seeded by splitmix64 from
 * @p seed; the polar method's second variate is used next); for the t one Gamma(nu/2) variate
 * G (Marsaglia and Tsang 2000, on the same stream) and W = 2G ~ chi-square(nu). Row s is
 * sqrt(h) C z, times sqrt((nu - 2) / W) for the t, so every row has covariance h Sigma.
 * @param[out] out @p n x @p k moves.
 * @param[in] cov @p k x @p k per-period covariance, symmetric positive semi-definite, entries
 *            at most ::RISK_VARIANCE_MAX in magnitude.
 * @param[in] k Number of factors, 1..::RISK_VAR_FACTORS_MAX.
 * @param[in] n Number of scenarios (0 does nothing).
 * @param[in] options NULL for ::RISK_VAR_MC_OPTIONS_INIT.
 * @param[in] work Room for RISK_VAR_MC_WORK(k) doubles (overwritten).
 * @param[in] work_len Length of @p work.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown version of @p options.
 * @retval RISK_EINVAL A value out of the domain, @p cov asymmetric or not positive semi-definite,
 *         or an option out of range.
 * @retval RISK_EBUFFER @p work_len too small.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_var_mc_scenarios(double *out, const double *cov, size_t k, size_t n,
                                                  const risk_var_mc_options *options, double *work,
                                                  size_t work_len);

/* ---------------------------------------------------------------- back-tests */

/** Version of ::risk_var_backtest_result this header describes. */
#define RISK_VAR_BACKTEST_RESULT_VERSION 1

/**
 * @brief Kupiec and Christoffersen back-test of a VaR series. Initialise with
 *        ::RISK_VAR_BACKTEST_RESULT_INIT.
 *
 * A breach (exception) at t is a loss -pnl_t above var_t. With x breaches in n days and
 * p = 1 - alpha: Kupiec's (1995) proportion of failures
 * LR_pof = -2 ln[(1-p)^(n-x) p^x] + 2 ln[(1-x/n)^(n-x) (x/n)^x] ~ chi-square(1);
 * Christoffersen's (1998) independence LR_ind = -2 ln[(1-pi)^(n00+n10) pi^(n01+n11)]
 * + 2 ln[(1-pi01)^n00 pi01^n01 (1-pi11)^n10 pi11^n11] ~ chi-square(1) over the transitions
 * n_ij (state i followed by j; pi01 = n01/(n00+n01), pi11 = n11/(n10+n11), pi the breach rate of
 * the transitions); conditional coverage LR_cc = LR_pof + LR_ind ~ chi-square(2). 0 ln 0 = 0.
 * p-values: P(chi2_1 > x) = erfc(sqrt(x/2)), P(chi2_2 > x) = exp(-x/2).
 */
typedef struct risk_var_backtest_result {
    uint32_t version;   /**< ::RISK_VAR_BACKTEST_RESULT_VERSION (set by the caller). */
    uint32_t reserved;  /**< 0. */
    size_t n;           /**< Days with a VaR (rows where var is NaN are left out). */
    size_t breaches;    /**< x: days with a loss above the VaR. */
    size_t n00;         /**< Transitions no breach -> no breach. */
    size_t n01;         /**< Transitions no breach -> breach. */
    size_t n10;         /**< Transitions breach -> no breach. */
    size_t n11;         /**< Transitions breach -> breach. */
    double level;       /**< alpha. */
    double breach_rate; /**< x / n. */
    double lr_pof;      /**< Kupiec's LR. */
    double p_pof;       /**< Its p-value. */
    double lr_ind;      /**< Christoffersen's independence LR. */
    double p_ind;       /**< Its p-value. */
    double lr_cc;       /**< Conditional coverage LR = lr_pof + lr_ind. */
    double p_cc;        /**< Its p-value (2 degrees of freedom). */
} risk_var_backtest_result;

/** A result ready for risk_var_backtest(): version set, everything else 0. */
#define RISK_VAR_BACKTEST_RESULT_INIT {RISK_VAR_BACKTEST_RESULT_VERSION, 0u, 0u, 0u, 0u, 0u, 0u, 0u, \
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}

/**
 * @brief Back-tests a VaR series against realised P&L (Kupiec, Christoffersen).
 *
 * Rows where @p var is NaN (no forecast yet) are left out; the remaining rows are taken as
 * consecutive days for the transitions.
 * @param[out] out The result; its version must be set.
 * @param[in] pnl @p n realised P&L values, finite, at most ::RISK_NOTIONAL_MAX in magnitude.
 * @param[in] var @p n VaR forecasts for the same days (made before each), losses; NaN = none.
 *            Otherwise finite and at most ::RISK_NOTIONAL_MAX in magnitude.
 * @param[in] n Number of rows.
 * @param[in] var_level alpha in (0, 1).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL argument.
 * @retval RISK_EVERSION Unknown version of @p out.
 * @retval RISK_EINVAL A value out of the domain, a level outside (0, 1), or fewer than 2 rows with a VaR.
 * @par Thread safety
 * Reentrant.
 */
RISK_API RISK_NODISCARD int risk_var_backtest(risk_var_backtest_result *out, const double *pnl, const double *var,
                                              size_t n, double var_level);

RISK_END_DECLS

/** @} */
#endif /* RISK_VAR_H */
