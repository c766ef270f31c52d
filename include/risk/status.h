/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/status.h
 * @brief Status codes and their text.
 * @defgroup status Status codes
 * @{
 *
 * Every fallible call returns `int`: `RISK_OK` (0) or one of the positive codes below. Codes
 * are stable numbers, never renumbered, grouped by family: 1-99 caller misuse, 100-199 market
 * data, 200-299 resources, 900 and above internal. A failed call changes nothing. The handle
 * the call was made on keeps a message with the detail (`risk_engine_errmsg`,
 * `risk_account_errmsg`, `risk_basket_errmsg`).
 */
#ifndef RISK_STATUS_H
#define RISK_STATUS_H

#include "risk/common.h"

RISK_BEGIN_DECLS

/** Success. */
#define RISK_OK 0
/** A required handle or output pointer was NULL. */
#define RISK_ENULL 1
/** An argument is out of its valid range, NaN or infinite. */
#define RISK_EINVAL 2
/** An asset, instrument, account or position id names nothing. */
#define RISK_ENOTFOUND 3
/** A symbol, account id or position leg already exists. */
#define RISK_EDUPLICATE 4
/** A quantity is not a whole number of lots. */
#define RISK_ELOT 5
/** A price is not a whole number of ticks. */
#define RISK_ETICK 6
/** A user leverage is above the schedule's highest maximum leverage. */
#define RISK_ELEVERAGE 7
/** Margin or value tiers are not strictly increasing, too many (more than 64), or a tier field is out of range. */
#define RISK_ETIERS 8
/** The call does not fit the object's state or mode (hedge leg in one-way mode, ...). */
#define RISK_ESTATE 9
/** A versioned struct carries a version this library does not know. */
#define RISK_EVERSION 10
/** An output array is too small; the needed length is reported. */
#define RISK_EBUFFER 11
/** Handles of two different engines were mixed. */
#define RISK_EENGINE 12
/** A fill would leave a position above its instrument's maximum notional (risk_engine_set_instrument_fees()). */
#define RISK_ELIMIT 13
/** A snapshot is truncated, fails its checksum or is not a snapshot. */
#define RISK_ECORRUPT 14
/** A price needed by the calculation is missing or not positive. */
#define RISK_ENOPRICE 100
/** Memory allocation failed. */
#define RISK_ENOMEM 200
/** A worker thread could not be started. */
#define RISK_ETHREAD 201
/** A file could not be opened, read, written, synced or renamed (the message names the errno). */
#define RISK_EIO 202
/** An internal invariant failed: a bug in librisk. */
#define RISK_EINTERNAL 900

/**
 * @brief English description of a status code.
 * @param[in] code Any int, known or not.
 * @return A static string; never NULL (unknown codes get "unknown status").
 * @par Thread safety
 * Always safe.
 */
RISK_API const char *risk_strerror(int code);

/**
 * @brief Name of a status code's constant, such as "RISK_EINVAL".
 * @param[in] code Any int, known or not.
 * @return A static string; never NULL ("RISK_UNKNOWN" for unknown codes).
 * @par Thread safety
 * Always safe.
 */
RISK_API const char *risk_errname(int code);

RISK_END_DECLS

/** @} */
#endif /* RISK_STATUS_H */
