/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/version.h
 * @brief Library version: compile-time macros and run-time queries.
 * @defgroup version Version
 * @{
 *
 * The version lives here once; the Makefile, the pkg-config file and the soname read it.
 * Check at start-up that the header you compiled against matches the library you loaded:
 * `risk_version_number() / 10000 == RISK_VERSION_MAJOR`.
 */
#ifndef RISK_VERSION_H
#define RISK_VERSION_H

#include "risk/common.h"

RISK_BEGIN_DECLS

/** Major version: changes only with an ABI break (it is the soname's number). */
#define RISK_VERSION_MAJOR 0
/** Minor version: additions. */
#define RISK_VERSION_MINOR 2
/** Patch version: fixes. */
#define RISK_VERSION_PATCH 0
/** The version as MAJOR*10000 + MINOR*100 + PATCH. */
#define RISK_VERSION_NUMBER (RISK_VERSION_MAJOR * 10000 + RISK_VERSION_MINOR * 100 + RISK_VERSION_PATCH)
/** The version as a string. */
#define RISK_VERSION_STRING "0.2.0"
/** True when the headers are at least version @p maj.@p min.@p patch. */
#define RISK_VERSION_CHECK(maj, min, patch) \
    (RISK_VERSION_NUMBER >= ((maj) * 10000 + (min) * 100 + (patch)))

/**
 * @brief The library's version string, such as "0.1.0".
 * @return A static string.
 * @par Thread safety
 * Always safe.
 */
RISK_API const char *risk_version_string(void);

/**
 * @brief The library's version number, MAJOR*10000 + MINOR*100 + PATCH.
 * @return The run-time version number.
 * @par Thread safety
 * Always safe.
 */
RISK_API uint32_t risk_version_number(void);

RISK_END_DECLS

/** @} */
#endif /* RISK_VERSION_H */
