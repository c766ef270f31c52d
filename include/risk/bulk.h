/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/bulk.h
 * @brief Books at scale: loading accounts, balances, leverages and positions from columns, and
 *        evaluating into caller-provided columns.
 * @defgroup bulk Bulk loading and columnar results
 * @{
 *
 * An exchange loads its book from a database at start-up: millions of rows of accounts,
 * balances and positions. The calls here take those rows as structure of arrays (one array per
 * column, row i across them) and apply them in one call each, with the same domain rules as the
 * single calls (risk_account_new(), risk_basket_set_balance(), risk_account_set_leverage(),
 * risk_account_open_position()). Each call is all or nothing: the first bad row gives the
 * status the single call would give, a message in risk_engine_errmsg() that starts with the
 * row's index (`"row 17: ..."`), and no change to the engine or any account.
 *
 * Rows refer to accounts by their external id. Rows of one account need not be contiguous, but
 * contiguous rows cost one id lookup per run rather than one per row.
 *
 * The column outputs write each chosen result field straight into a caller array (one pointer
 * per field, NULL to skip it), so a host language gets numpy or array columns without a copy
 * out of an array of structs. They are bit-identical to risk_engine_evaluate_all() and
 * risk_account_position_results().
 *
 * @par Thread safety
 * The loading calls mutate the engine; the column outputs only read it (as
 * risk_engine_evaluate_all()).
 */
#ifndef RISK_BULK_H
#define RISK_BULK_H

#include "risk/common.h"

RISK_BEGIN_DECLS

/* ---------------------------------------------------------------- types */

/** Version of ::risk_position_columns this header describes. */
#define RISK_POSITION_COLUMNS_VERSION 1

/**
 * @brief Positions to open, as columns: row i opens the position
 *        {instruments[i], sides[i], margin_modes[i], qty[i], entry[i], isolated_margin[i]}
 *        in account account_ids[i], as risk_account_open_position() would.
 *
 * Initialise with ::RISK_POSITION_COLUMNS_INIT. Optional columns may be NULL: every row then
 * takes the default given for the field.
 */
typedef struct risk_position_columns {
    uint32_t version;                /**< ::RISK_POSITION_COLUMNS_VERSION. */
    const uint64_t *account_ids;     /**< External account ids (required). */
    const uint32_t *instruments;     /**< Instrument ids (required). */
    const uint32_t *sides;           /**< ::RISK_SIDE_BOTH (one-way), ::RISK_SIDE_LONG or ::RISK_SIDE_SHORT (hedge); NULL: all ::RISK_SIDE_BOTH. */
    const uint32_t *margin_modes;    /**< ::RISK_MARGIN_DEFAULT, ::RISK_MARGIN_CROSS or ::RISK_MARGIN_ISOLATED; NULL: all ::RISK_MARGIN_DEFAULT. In a ::RISK_MARGIN_PORTFOLIO account only ::RISK_MARGIN_DEFAULT, with no isolated margin (else RISK_EINVAL, as risk_account_open_position()). */
    const double *qty;               /**< Contracts, as risk_position_spec::qty (required). */
    const double *entry;             /**< Average entry prices in quote, as risk_position_spec::entry (required). */
    const double *isolated_margin;   /**< Isolated margin in the settle asset, as risk_position_spec::isolated_margin; NULL: all 0. */
} risk_position_columns;

/** Default position columns: every pointer NULL. */
#define RISK_POSITION_COLUMNS_INIT {RISK_POSITION_COLUMNS_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL}

/** Version of ::risk_summary_columns this header describes. */
#define RISK_SUMMARY_COLUMNS_VERSION 1

/**
 * @brief Where risk_engine_evaluate_columns() writes each field of every account's
 *        ::risk_account_summary: element k of each non-NULL array is the k-th account (creation
 *        order). NULL skips the field. Initialise with ::RISK_SUMMARY_COLUMNS_INIT.
 */
typedef struct risk_summary_columns {
    uint32_t version;            /**< ::RISK_SUMMARY_COLUMNS_VERSION. */
    uint64_t *ids;               /**< External account ids. */
    uint32_t *state;             /**< ::RISK_STATE_HEALTHY ... ::RISK_STATE_BANKRUPT. */
    double *equity;              /**< risk_account_summary::equity. */
    double *collateral_value;    /**< risk_account_summary::collateral_value. */
    double *unrealized_pnl;      /**< risk_account_summary::unrealized_pnl. */
    double *initial_margin;      /**< risk_account_summary::initial_margin. */
    double *maintenance_margin;  /**< risk_account_summary::maintenance_margin. */
    double *available;           /**< risk_account_summary::available. */
    double *health_factor;       /**< risk_account_summary::health_factor. */
    double *margin_ratio;        /**< risk_account_summary::margin_ratio. */
    double *ltv;                 /**< risk_account_summary::ltv. */
    double *ltv_buffer;          /**< risk_account_summary::ltv_buffer. */
    double *leverage;            /**< risk_account_summary::leverage. */
    double *collateral_init;     /**< risk_account_summary::collateral_init. */
    double *collateral_maint;    /**< risk_account_summary::collateral_maint. */
    double *liabilities;         /**< risk_account_summary::liabilities. */
    double *isolated_margin;     /**< risk_account_summary::isolated_margin. */
    uint32_t *n_positions;       /**< risk_account_summary::n_positions. */
    uint32_t *n_isolated_liquidatable; /**< risk_account_summary::n_isolated_liquidatable. */
} risk_summary_columns;

/** Default summary columns: every field skipped. */
#define RISK_SUMMARY_COLUMNS_INIT {RISK_SUMMARY_COLUMNS_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}

/** Version of ::risk_position_result_columns this header describes. */
#define RISK_POSITION_RESULT_COLUMNS_VERSION 1

/**
 * @brief Where risk_engine_position_results_columns() writes each field of every position's
 *        ::risk_position_result: one row per position, accounts in creation order and each
 *        account's positions in position order. NULL skips the field. Initialise with
 *        ::RISK_POSITION_RESULT_COLUMNS_INIT.
 */
typedef struct risk_position_result_columns {
    uint32_t version;             /**< ::RISK_POSITION_RESULT_COLUMNS_VERSION. */
    uint64_t *account_ids;        /**< External id of the position's account. */
    uint32_t *account_index;      /**< Index of the position's account in creation order (the row of risk_engine_evaluate_columns()). */
    uint32_t *instrument;         /**< risk_position_result::instrument. */
    uint32_t *side;               /**< risk_position_result::side. */
    uint32_t *leg;                /**< ::RISK_SIDE_BOTH in one-way mode, the hedge leg otherwise (risk_position_leg()). */
    uint32_t *margin_mode;        /**< risk_position_result::margin_mode. */
    uint32_t *flags;              /**< risk_position_result::flags. */
    uint32_t *tier;               /**< risk_position_result::tier. */
    double *qty;                  /**< risk_position_result::qty. */
    double *entry;                /**< risk_position_result::entry. */
    double *mark;                 /**< risk_position_result::mark. */
    double *notional;             /**< risk_position_result::notional. */
    double *unrealized_pnl;       /**< risk_position_result::unrealized_pnl. */
    double *initial_margin;       /**< risk_position_result::initial_margin. */
    double *maintenance_margin;   /**< risk_position_result::maintenance_margin. */
    double *isolated_margin;      /**< risk_position_result::isolated_margin. */
    double *liquidation_price;    /**< risk_position_result::liquidation_price (NaN when none). */
    double *bankruptcy_price;     /**< risk_position_result::bankruptcy_price (NaN when none). */
    double *liquidation_price_raw;/**< risk_position_result::liquidation_price_raw. */
    double *bankruptcy_price_raw; /**< risk_position_result::bankruptcy_price_raw. */
} risk_position_result_columns;

/** Default position result columns: every field skipped. */
#define RISK_POSITION_RESULT_COLUMNS_INIT {RISK_POSITION_RESULT_COLUMNS_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, \
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}

/* ---------------------------------------------------------------- loading */

/**
 * @brief Creates @p n accounts, as @p n calls of risk_account_new() would, all or none.
 *
 * The accounts are owned by the engine, as a restored snapshot's are (risk/snapshot.h): they
 * are found with risk_engine_find_account() and risk_engine_accounts(), freed with the engine,
 * and a caller who wants one to outlive its engine reference takes it over with
 * risk_account_adopt(). Creation order is row order.
 * @param[in] engine The engine.
 * @param[in] account_ids @p n external ids, unique in the engine and among the rows.
 * @param[in] margin_modes @p n of ::RISK_MARGIN_CROSS, ::RISK_MARGIN_ISOLATED or ::RISK_MARGIN_PORTFOLIO
 *            (docs/portfolio-margin.md); NULL: all cross.
 * @param[in] position_modes @p n of ::RISK_POSITION_ONE_WAY or ::RISK_POSITION_HEDGE; NULL: all one-way.
 * @param[in] n Rows (0 is a no-op).
 * @param[out] accounts_out Optional array of @p n handles (borrowed: owned by the engine until
 *             adopted); may be NULL.
 * @retval RISK_OK Created.
 * @retval RISK_ENULL NULL engine, or NULL account_ids with n > 0.
 * @retval RISK_EINVAL An unknown mode (row named; nothing created).
 * @retval RISK_EDUPLICATE An id already in the engine or repeated in the rows (row named; nothing created).
 * @retval RISK_ENOMEM Out of memory (nothing created).
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_add_accounts(risk_engine *engine, const uint64_t *account_ids,
                                                     const uint32_t *margin_modes, const uint32_t *position_modes,
                                                     size_t n, risk_account **accounts_out);

/**
 * @brief Sets balances of accounts' baskets, as @p n calls of risk_basket_set_balance() in row
 *        order would (a later row for the same account and asset wins), all or none.
 * @param[in] engine The engine.
 * @param[in] account_ids @p n external account ids.
 * @param[in] assets @p n asset ids.
 * @param[in] amounts @p n balances in asset units: finite, within 2^53 quanta of the asset
 *            (::RISK_AMOUNT_QUANTA_MAX); negative is a debt, 0 removes the balance.
 * @param[in] n Rows (0 is a no-op).
 * @retval RISK_OK Set.
 * @retval RISK_ENULL NULL engine, or a NULL array with n > 0.
 * @retval RISK_ENOTFOUND An unknown account or asset (row named; nothing set).
 * @retval RISK_EINVAL An amount not finite or beyond 2^53 quanta (row named; nothing set).
 * @retval RISK_ENOMEM Out of memory (nothing set).
 * @par Thread safety
 * Mutates the engine's accounts.
 */
RISK_API RISK_NODISCARD int risk_engine_set_balances(risk_engine *engine, const uint64_t *account_ids,
                                                     const uint32_t *assets, const double *amounts, size_t n);

/**
 * @brief Sets user leverages, as @p n calls of risk_account_set_leverage() in row order would,
 *        all or none.
 * @param[in] engine The engine.
 * @param[in] account_ids @p n external account ids.
 * @param[in] instruments @p n instrument ids.
 * @param[in] leverages @p n leverages: finite, >= 1 and at most the schedule's highest max leverage.
 * @param[in] n Rows (0 is a no-op).
 * @retval RISK_OK Set.
 * @retval RISK_ENULL NULL engine, or a NULL array with n > 0.
 * @retval RISK_ENOTFOUND An unknown account or instrument (row named; nothing set).
 * @retval RISK_EINVAL A leverage not finite or < 1 (row named; nothing set).
 * @retval RISK_ELEVERAGE A leverage above the schedule's highest max leverage (row named; nothing set).
 * @retval RISK_ENOMEM Out of memory (nothing set).
 * @par Thread safety
 * Mutates the engine's accounts.
 */
RISK_API RISK_NODISCARD int risk_engine_set_leverages(risk_engine *engine, const uint64_t *account_ids,
                                                      const uint32_t *instruments, const double *leverages, size_t n);

/**
 * @brief Opens positions, as @p n calls of risk_account_open_position() (without handles) in
 *        row order would, all or none.
 *
 * Each row is checked against the account as the rows before it left it, so two rows opening
 * the same instrument and leg of one account are a duplicate, as two single calls would be.
 * @param[in] engine The engine.
 * @param[in] columns The rows' columns (::RISK_POSITION_COLUMNS_INIT, then set the arrays).
 * @param[in] n Rows (0 is a no-op).
 * @retval RISK_OK Opened.
 * @retval RISK_ENULL NULL engine or columns, or a required column NULL with n > 0.
 * @retval RISK_EVERSION Unknown columns version.
 * @retval RISK_ENOTFOUND An unknown account or instrument (row named; nothing opened).
 * @retval RISK_EINVAL, RISK_ELOT, RISK_ESTATE, RISK_EDUPLICATE, RISK_ELIMIT A row that
 *         risk_account_open_position() refuses, with its status (row named; nothing opened).
 * @retval RISK_ENOMEM Out of memory (nothing opened).
 * @par Thread safety
 * Mutates the engine's accounts.
 */
RISK_API RISK_NODISCARD int risk_engine_open_positions(risk_engine *engine, const risk_position_columns *columns,
                                                       size_t n);

/* ---------------------------------------------------------------- columnar results */

/**
 * @brief Evaluates every account of the engine into caller columns: the fields of
 *        risk_engine_evaluate_all(), bit for bit, one array per field.
 * @param[in] engine The engine.
 * @param[in] columns Where to write (::RISK_SUMMARY_COLUMNS_INIT, then set the wanted arrays);
 *            each non-NULL array has @p capacity elements.
 * @param[in] capacity Length of every non-NULL array.
 * @param[in] threads Worker threads, 1..256 (0 means 1); the answer is the same for any count.
 * @param[out] count_out Number of accounts (written also on ::RISK_EBUFFER).
 * @retval RISK_OK Evaluated.
 * @retval RISK_ENULL NULL engine, columns or count_out.
 * @retval RISK_EVERSION Unknown columns version.
 * @retval RISK_EBUFFER @p capacity < number of accounts; *count_out tells the need.
 * @retval RISK_EINVAL threads > 256.
 * @retval RISK_ETHREAD A worker could not be started (nothing reported).
 * @par Thread safety
 * Reads the engine and its accounts; no other thread may mutate them meanwhile.
 */
RISK_API RISK_NODISCARD int risk_engine_evaluate_columns(const risk_engine *engine,
                                                         const risk_summary_columns *columns, size_t capacity,
                                                         uint32_t threads, size_t *count_out);

/**
 * @brief Per-position results of every account (notional, PnL, IM, MM, liquidation and
 *        bankruptcy prices, ...) into caller columns: the fields of
 *        risk_account_position_results(), bit for bit, one array per field.
 * @param[in] engine The engine.
 * @param[in] columns Where to write (::RISK_POSITION_RESULT_COLUMNS_INIT, then set the wanted
 *            arrays); each non-NULL array has @p capacity elements.
 * @param[in] capacity Length of every non-NULL array (0 with every array NULL asks for the count).
 * @param[in] threads Worker threads, 1..256 (0 means 1); the answer is the same for any count.
 * @param[out] count_out Number of positions of all accounts (written also on ::RISK_EBUFFER).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine, columns or count_out.
 * @retval RISK_EVERSION Unknown columns version.
 * @retval RISK_EBUFFER @p capacity < number of positions; *count_out tells the need.
 * @retval RISK_EINVAL threads > 256.
 * @retval RISK_ETHREAD A worker could not be started (nothing reported).
 * @par Thread safety
 * Reads the engine and its accounts; no other thread may mutate them meanwhile.
 */
RISK_API RISK_NODISCARD int risk_engine_position_results_columns(const risk_engine *engine,
                                                                 const risk_position_result_columns *columns,
                                                                 size_t capacity, uint32_t threads,
                                                                 size_t *count_out);

/* ---------------------------------------------------------------- result columns as text */

/** Version of ::risk_text_column this header describes. */
#define RISK_TEXT_COLUMN_VERSION 1
/** Most columns in one risk_text_rows() call. */
#define RISK_TEXT_COLUMNS_MAX 64
/** Most bytes a ::RISK_TEXT_GRID or ::RISK_TEXT_SHORTEST number takes ("-1.2345678901234567e-308"). */
#define RISK_TEXT_NUMBER_MAX 24

/** ::risk_text_column kind: a double on a decimal grid, as Python's `repr(round(x, d) + 0.0)`
 *  ("null" for NaN and infinities). */
#define RISK_TEXT_GRID 1
/** ::risk_text_column kind: a double as Python's `repr(x + 0.0)`, the shortest decimal that
 *  reads back as x ("null" for NaN and infinities). */
#define RISK_TEXT_SHORTEST 2
/** ::risk_text_column kind: a uint64_t in decimal. */
#define RISK_TEXT_UINT 3
/** ::risk_text_column kind: a uint32_t index into the column's labels, whose text is written. */
#define RISK_TEXT_LABEL 4
/** ::risk_text_column kind: a uint32_t count of items taken in turn from the column's items,
 *  written as a list: open, the items with separators between them, close; or the empty text
 *  for a count of 0. */
#define RISK_TEXT_LIST 5

/**
 * @brief One column of text rows written by risk_text_rows(): where its values are and how
 *        they are written. Initialise with ::RISK_TEXT_COLUMN_INIT.
 */
typedef struct risk_text_column {
    uint32_t version;               /**< ::RISK_TEXT_COLUMN_VERSION. */
    uint32_t kind;                  /**< ::RISK_TEXT_GRID ... ::RISK_TEXT_LIST. */
    const void *values;             /**< One per row: double (GRID, SHORTEST), uint64_t (UINT), uint32_t (LABEL index, LIST count). */
    int32_t decimals;               /**< GRID: decimal places (0..22) of every row, when @c keys is NULL. */
    const uint32_t *keys;           /**< GRID: per row an index into @c decimals_of (NULL: @c decimals for all). */
    const int32_t *decimals_of;     /**< GRID: @c n_keys decimal places (0..22), chosen by @c keys. */
    uint32_t n_keys;                /**< Length of @c decimals_of (GRID) or @c labels (LABEL; at least 4 for LIST). */
    const char *const *labels;      /**< LABEL: the texts; LIST: open, separator, close, empty. NUL-terminated. */
    const char *items;              /**< LIST: the items' text (not NUL-terminated). */
    const uint64_t *item_offsets;   /**< LIST: @c n_items + 1 offsets into @c items: item k is [offsets[k], offsets[k+1]). */
    size_t n_items;                 /**< LIST: items available (the counts of the rows add up to at most this). */
} risk_text_column;

/** A column with every field zero or NULL (set @c kind and the fields it uses). */
#define RISK_TEXT_COLUMN_INIT {RISK_TEXT_COLUMN_VERSION, 0, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, 0}

/**
 * @brief Writes rows of text from columns: each row is pieces[0], column 0's value,
 *        pieces[1], ..., column n-1's value, pieces[n]; rows one after another.
 *
 * Pure formatting into the caller's buffer, no I/O and no allocation: with the pieces of a JSON
 * object and one column per field it writes JSON records (JSON Lines, or a document's items),
 * with ::RISK_TEXT_LIST a nested list whose items are the rows of an earlier call (pass its
 * @p row_offsets as the item offsets). Numbers are written as Python's `repr` writes them:
 * a value on a grid of d decimal places is a whole number of 10^-d quanta, rounded half-even
 * from the exact double, and printed as that integer with its decimal point (fixed notation for
 * exponents -4..15, else as `1.5e-05`); other doubles as the shortest decimal that reads back.
 * Whole rows are written: when the buffer is full the call stops before the row that does not
 * fit and returns ::RISK_EBUFFER; the caller writes out what it got and calls again for the
 * rest (advancing every values pointer by *rows_out rows, and each LIST column's counts,
 * and its item offsets by the items those rows used).
 * @param[in] pieces @p n_columns + 1 NUL-terminated texts around the columns.
 * @param[in] columns @p n_columns columns (at most ::RISK_TEXT_COLUMNS_MAX).
 * @param[in] n_columns Number of columns.
 * @param[in] n_rows Rows to write.
 * @param[out] out Where to write (not NUL-terminated).
 * @param[in] capacity Bytes available at @p out. A row takes at most the length of its pieces
 *            plus ::RISK_TEXT_NUMBER_MAX per number (20 per UINT), its labels and its lists.
 * @param[out] rows_out Whole rows written.
 * @param[out] bytes_out Bytes written.
 * @param[out] row_offsets NULL, or @p n_rows + 1 elements: 0, then the end of each row written.
 * @retval RISK_OK Every row written.
 * @retval RISK_EBUFFER The buffer filled first; *rows_out and *bytes_out tell what was written.
 * @retval RISK_ENULL NULL pieces, a NULL piece, columns, rows_out, bytes_out, or a column's
 *         values, labels, label, items or item offsets that its kind needs.
 * @retval RISK_EVERSION A column of unknown version.
 * @retval RISK_EINVAL Unknown kind, more than ::RISK_TEXT_COLUMNS_MAX columns, decimals out of
 *         0..22, a key or label index out of range, LIST counts beyond @c n_items or item
 *         offsets going backwards (checked before anything is written).
 * @par Thread safety
 * Reads only its arguments; always safe.
 */
RISK_API RISK_NODISCARD int risk_text_rows(const char *const *pieces, const risk_text_column *columns,
                                           size_t n_columns, size_t n_rows, char *out, size_t capacity,
                                           size_t *rows_out, size_t *bytes_out, uint64_t *row_offsets);

RISK_END_DECLS

/** @} */
#endif /* RISK_BULK_H */
