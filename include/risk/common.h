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

RISK_END_DECLS

/** @} */
#endif /* RISK_COMMON_H */
