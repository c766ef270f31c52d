/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/common.h
 * @brief Export macros, attributes and the opaque handle types shared by every public header.
 * @defgroup common Common definitions
 * @{
 *
 * Every other public header includes this one. It declares nothing callable: only the
 * `RISK_API` export macro, the `RISK_NODISCARD` attribute, the C++ guards and the opaque handles.
 */
#ifndef RISK_COMMON_H
#define RISK_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32) && !defined(RISK_STATIC)
#  if defined(RISK_BUILDING_LIBRARY)
#    define RISK_API __declspec(dllexport)
#  else
#    define RISK_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
/** Marks a declaration as part of the exported ABI. */
#  define RISK_API __attribute__((visibility("default")))
#else
#  define RISK_API
#endif

#if !defined(RISK_NO_NODISCARD) && (defined(__GNUC__) || defined(__clang__))
/** A status that must not be ignored (define `RISK_NO_NODISCARD` to silence). */
#  define RISK_NODISCARD __attribute__((warn_unused_result))
#else
#  define RISK_NODISCARD
#endif

#ifdef __cplusplus
/** Opens the `extern "C"` block in C++. */
#  define RISK_BEGIN_DECLS extern "C" {
/** Closes the `extern "C"` block in C++. */
#  define RISK_END_DECLS }
#else
#  define RISK_BEGIN_DECLS
#  define RISK_END_DECLS
#endif

RISK_BEGIN_DECLS

/** Opaque engine: allocator, asset and instrument registry, market data, accounts. */
typedef struct risk_engine risk_engine;
/** Opaque collateral basket: signed balances by asset. */
typedef struct risk_basket risk_basket;
/** Opaque account: margin and position mode, basket, positions, leverage settings. */
typedef struct risk_account risk_account;
/** Opaque position, owned by its account. */
typedef struct risk_position risk_position;

/** Value of a `uint32_t` asset or instrument id that names nothing. */
#define RISK_ID_NONE UINT32_MAX

/**
 * @name Input domain
 * Bounds every numeric input is checked against (docs/errors.md, "Input domain"). Inside them
 * every intermediate of an evaluation stays finite with hundreds of orders of magnitude to spare
 * and amounts stay exact to their quantum; outside them a call returns ::RISK_EINVAL (or the
 * fitting code) and changes nothing.
 * @{
 */
/** Smallest price: asset prices, marks, entries, fill and order prices, volatility inputs. */
#define RISK_PRICE_MIN 1e-12
/** Largest price (in its quote, or in the valuation asset). */
#define RISK_PRICE_MAX 1e12
/** Smallest contract, lot or tick size. */
#define RISK_SIZE_MIN 1e-12
/** Largest contract, lot or tick size. */
#define RISK_SIZE_MAX 1e12
/** Largest |amount| of an asset in quanta (2^53); a quantum is 10^-min(decimals, 8) of the asset. */
#define RISK_AMOUNT_QUANTA_MAX 9007199254740992.0
/** Decimals above this count as this many for ::RISK_AMOUNT_QUANTA_MAX (18-decimal tokens hold 9.007e7 units). */
#define RISK_AMOUNT_DECIMALS_CAP 8
/** Largest position, in lots (2^53): every whole count of lots is a double. */
#define RISK_LOTS_MAX 9007199254740992.0
/** Largest notional bound, deduction or limit in a settle asset or V (tier caps, cum, max_notional, min_notional). */
#define RISK_NOTIONAL_MAX 1e30
/** Largest leverage (user setting or a tier's maximum). */
#define RISK_LEVERAGE_MAX 1e6
/** Smallest non-zero maintenance margin rate of a tier. */
#define RISK_MMR_MIN 1e-8
/** Largest volatility-scaling factor (min_factor, max_factor; the smallest is its reciprocal). */
#define RISK_SCALING_FACTOR_MAX 1e6
/** Largest annualised volatility accepted as a parameter (10,000 %). */
#define RISK_VOL_ANNUAL_MAX 100.0
/** Largest |log return| (two prices in the domain are at most ln(1e24) = 55.3 apart). */
#define RISK_LOG_RETURN_MAX 64.0
/** Largest variance per period (::RISK_LOG_RETURN_MAX squared). */
#define RISK_VARIANCE_MAX 4096.0
/** Largest periods per year (one per second is 3.2e7). */
#define RISK_PERIODS_PER_YEAR_MAX 1e9
/** @} */

RISK_END_DECLS

/** @} */
#endif /* RISK_COMMON_H */
