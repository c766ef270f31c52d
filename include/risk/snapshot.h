/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/snapshot.h
 * @brief Engine snapshots: the whole engine in a versioned, little-endian, checksummed format,
 *        to a caller's buffer or to a file that a crash never leaves torn.
 * @defgroup snapshot Snapshots
 * @{
 *
 * A snapshot holds everything an engine computes from: the registry (assets with their weights
 * and value tiers, instruments with their specs and margin schedules), asset prices and
 * instrument marks, the valuation asset, the engine's flags and margin-call health, every
 * account (id, margin and position mode, balances in order, user leverages, positions with
 * their entries, isolated margins and flags), the liquidation policy and its per-instrument
 * overrides, the insurance funds, each asset's volatility state and each instrument's
 * volatility-scaling parameters and state, each asset's interest-rate model, lending pool and
 * interest indices (balances are kept as the scaled amounts the indices multiply) and size
 * scaling (risk_engine_set_asset_size_scaling), each instrument's size premium
 * (risk_engine_set_instrument_size_premium), the engine's time (risk_engine_set_time) and option
 * instruments (strike, call or put, mark volatility or given mark, carry rate, underlying tick,
 * settled flag and settlement value; docs/options.md), cumulative funding (each perpetual's
 * funding indices and accrual time, each position's last index: risk_engine_accrue_funding) and
 * unrealised-PnL weights (risk_engine_set_instrument_upnl_weight). An engine
 * restored from it gives bit-identical results: every account summary, position result,
 * liquidation plan, borrowing cost and pending funding, and accrues interest and accrues and
 * settles funding as the original would. The format is specified in docs/snapshot.md; this
 * library writes format 3 and reads formats 1 to 3 (a format-1 snapshot has no rate state;
 * formats 1 and 2 have no options, no engine time and no funding state).
 *
 * Not in a snapshot: the allocator hook (the reader gives one), error messages, position
 * handles (made again on demand), standalone baskets (they belong to their creator, not to the
 * engine) and the memory layout (restored accounts are packed, so risk_engine_memory_bytes()
 * may differ).
 *
 * @par Who owns restored accounts
 * Accounts of a restored engine are owned by the engine: they are found with
 * risk_engine_find_account() or listed with risk_engine_accounts(), and freed with the engine,
 * so that risk_engine_free() alone releases everything. A caller that wants an account to
 * outlive its own engine reference takes it over with risk_account_adopt(): from then on the
 * account holds the engine alive, like one made with risk_account_new(), and the caller frees
 * it with risk_account_free(). risk_account_free() on an account the engine owns frees it at
 * once (it is then gone from the engine). Destroying an engine while adopted accounts are alive
 * stays safe: the engine lives until the last of them is freed, and its own accounts with it.
 */
#ifndef RISK_SNAPSHOT_H
#define RISK_SNAPSHOT_H

#include "risk/common.h"
#include "risk/alloc.h"

RISK_BEGIN_DECLS

/* ---------------------------------------------------------------- types */

/** Format version this library writes; it reads every version from 1 up to this one (docs/snapshot.md). */
#define RISK_SNAPSHOT_FORMAT_VERSION 3
/** Length of the magic that opens every snapshot. */
#define RISK_SNAPSHOT_MAGIC_LEN 8
/** The magic: bytes 0x89 'L' 'R' 'S' 'N' 'A' 'P' 0x0A (a binary first byte, then a line end). */
#define RISK_SNAPSHOT_MAGIC "\x89LRSNAP\n"

/** Version of ::risk_snapshot_options this header describes. */
#define RISK_SNAPSHOT_OPTIONS_VERSION 1

/**
 * risk_snapshot_options flag: risk_engine_snapshot_read_file() of a format-3 file on a
 * little-endian host keeps the file mapped (private, copy-on-write) and the restored accounts'
 * positions use their arrays where they lie in it, instead of copying them into fresh memory
 * (docs/snapshot.md, "Speed"). The mapping goes with the engine. The file must then not be
 * truncated or rewritten in place while the engine lives (risk_engine_snapshot_write_file()
 * replaces a file by renaming a new one over it, which is safe). Ignored by
 * risk_engine_snapshot_read() and for other files, which are read by copying.
 */
#define RISK_SNAPSHOT_MAP_IN_PLACE 1u

/**
 * risk_snapshot_options flag: the read may use one helper thread, which computes the accounts
 * section's checksum and fills the account-id map while the calling thread builds the accounts
 * (docs/snapshot.md, "Two threads"). The restored engine, the status and the message of a refused
 * snapshot are the same as without it; if no thread can be made, the read does the helper's work
 * itself. The thread ends before the call returns.
 */
#define RISK_SNAPSHOT_PARALLEL 2u

/** @brief How to restore an engine. Initialise with ::RISK_SNAPSHOT_OPTIONS_INIT. */
typedef struct risk_snapshot_options {
    uint32_t version;         /**< ::RISK_SNAPSHOT_OPTIONS_VERSION. */
    uint32_t flags;           /**< 0, or ::RISK_SNAPSHOT_MAP_IN_PLACE and ::RISK_SNAPSHOT_PARALLEL or'ed. */
    risk_allocator allocator; /**< Memory hook of the restored engine (and of the read itself); all NULL for the C library. */
    char *errmsg_out;         /**< Optional buffer receiving the message of a failed read (NUL-terminated, truncated to fit); NULL for none. */
    size_t errmsg_capacity;   /**< Bytes of @ref errmsg_out. */
} risk_snapshot_options;

/** Default options: the C library's allocator, no message buffer. */
#define RISK_SNAPSHOT_OPTIONS_INIT {RISK_SNAPSHOT_OPTIONS_VERSION, 0u, {NULL, NULL, NULL, NULL}, NULL, 0}

/* ---------------------------------------------------------------- operations */

/**
 * @brief Writes a snapshot of the engine into a caller's buffer.
 *
 * Call with @p capacity 0 (and @p out NULL) to learn the size: ::RISK_EBUFFER with
 * *@p size_out set. The bytes are the same on every host (little-endian throughout).
 * @param[in] engine The engine.
 * @param[out] out Buffer of @p capacity bytes; may be NULL when @p capacity is 0.
 * @param[in] capacity Bytes available at @p out.
 * @param[out] size_out Bytes of the snapshot (written also on ::RISK_EBUFFER).
 * @retval RISK_OK Written: the first *@p size_out bytes of @p out.
 * @retval RISK_ENULL NULL engine or size_out, or NULL out with capacity > 0.
 * @retval RISK_EBUFFER @p capacity is below *@p size_out; nothing written.
 * @par Thread safety
 * Reads the engine and its accounts; no other thread may mutate them meanwhile.
 */
RISK_API RISK_NODISCARD int risk_engine_snapshot_write(const risk_engine *engine, void *out, size_t capacity,
                                                       size_t *size_out);

/**
 * @brief Restores an engine from a snapshot in memory.
 *
 * Every byte is checked before the engine is handed out: the magic, the header's and each
 * section's CRC-32C, the format version, every count against the bytes there are, every id,
 * mode, flag and number against the range its setter accepts. On failure nothing is returned
 * and nothing is left allocated.
 * @param[out] out The restored engine; NULL on failure. Its accounts are owned by it (see the
 *             top of this header).
 * @param[in] data The snapshot.
 * @param[in] size Its bytes.
 * @param[in] options NULL for the defaults, or options initialised with ::RISK_SNAPSHOT_OPTIONS_INIT.
 * @retval RISK_OK Restored.
 * @retval RISK_ENULL NULL out, or NULL data with size > 0.
 * @retval RISK_EVERSION Unknown options version, or a snapshot of another format version (intact, but not readable by this library).
 * @retval RISK_EINVAL Options: allocator half set or an unknown flag.
 * @retval RISK_ECORRUPT Not a snapshot, truncated, a checksum mismatch, or a value out of range.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Always safe (it makes a new engine).
 */
RISK_API RISK_NODISCARD int risk_engine_snapshot_read(risk_engine **out, const void *data, size_t size,
                                                      const risk_snapshot_options *options);

/**
 * @brief Writes a snapshot of the engine to a file, atomically.
 *
 * The snapshot goes to a new temporary file in the same directory (`PATH.tmp.PID.N`), which
 * is fsync'd, renamed over @p path, after which the directory is fsync'd: a crash at any point
 * leaves either the old file or the new one at @p path, never a torn one. On failure the
 * temporary file is removed and @p path is untouched.
 * @param[in] engine The engine.
 * @param[in] path The file to write (created with mode 0644 before the umask, or replaced).
 * @retval RISK_OK Written and durable.
 * @retval RISK_ENULL NULL engine or path.
 * @retval RISK_EINVAL Empty path.
 * @retval RISK_EIO A system call failed (the engine's message names it and its errno).
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Reads the engine and its accounts; no other thread may mutate them meanwhile.
 */
RISK_API RISK_NODISCARD int risk_engine_snapshot_write_file(const risk_engine *engine, const char *path);

/**
 * @brief Restores an engine from a snapshot file (as risk_engine_snapshot_read(); the file is
 *        mapped, or read when it cannot be mapped).
 * @param[out] out The restored engine; NULL on failure.
 * @param[in] path The file.
 * @param[in] options NULL for the defaults, or options initialised with ::RISK_SNAPSHOT_OPTIONS_INIT.
 * @retval RISK_OK Restored.
 * @retval RISK_ENULL NULL out or path.
 * @retval RISK_EVERSION Unknown options version, or another format version.
 * @retval RISK_EINVAL Options: allocator half set or an unknown flag.
 * @retval RISK_EIO The file could not be opened or read.
 * @retval RISK_ECORRUPT Not a snapshot, truncated, a checksum mismatch, or a value out of range.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Always safe (it makes a new engine).
 */
RISK_API RISK_NODISCARD int risk_engine_snapshot_read_file(risk_engine **out, const char *path,
                                                           const risk_snapshot_options *options);

/* ---------------------------------------------------------------- accounts of an engine */

/**
 * @brief Lists the engine's accounts in creation order (a restored engine: the order they had).
 * @param[in] engine The engine.
 * @param[out] out Array of @p capacity account handles (borrowed: owned by the engine for a
 *             restored account not adopted, else by whoever created or adopted it); may be NULL
 *             when @p capacity is 0.
 * @param[in] capacity Length of @p out.
 * @param[out] count_out Number of accounts (written also on ::RISK_EBUFFER).
 * @retval RISK_OK Listed.
 * @retval RISK_ENULL NULL engine or count_out, or NULL out with capacity > 0.
 * @retval RISK_EBUFFER @p capacity is below the number of accounts; *count_out tells the need.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_accounts(const risk_engine *engine, risk_account **out, size_t capacity,
                                                 size_t *count_out);

/**
 * @brief Takes over an account its engine owns (one restored from a snapshot): the caller now
 *        owns it and frees it with risk_account_free(); it keeps the engine alive until then.
 * @param[in] account An engine-owned account.
 * @retval RISK_OK Adopted.
 * @retval RISK_ENULL NULL account.
 * @retval RISK_ESTATE The account is already the caller's (made with risk_account_new() or adopted before).
 * @par Thread safety
 * Mutates the account and its engine's reference count.
 */
RISK_API RISK_NODISCARD int risk_account_adopt(risk_account *account);

/**
 * @brief Whether the account is owned by its engine (restored and not adopted).
 * @param[in] account The account.
 * @param[out] out 1 when the engine owns it, 0 when the caller does.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL A NULL argument.
 * @par Thread safety
 * Reads the account.
 */
RISK_API RISK_NODISCARD int risk_account_engine_owned(const risk_account *account, uint32_t *out);

RISK_END_DECLS

/** @} */
#endif /* RISK_SNAPSHOT_H */
