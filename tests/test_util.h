/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_util.h: shared helpers of the librisk cmocka suites.
 *
 * - An allocator built on cmocka's test_malloc/test_realloc/test_free, so that every test is a
 *   leak check, which can also be armed to fail the N-th allocation (out-of-memory paths).
 * - Builders for engines, assets, instruments, accounts and positions that assert success.
 * - Snapshots of engines, accounts and baskets to assert that a failed call changed nothing.
 * - Floating-point comparison helpers and a deterministic random generator.
 */
#ifndef LIBRISK_TEST_UTIL_H
#define LIBRISK_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "risk.h"

/* ------------------------------------------------------------------ allocator */

/** Allocation accounting and failure injection for one engine. */
typedef struct tu_alloc {
    size_t live_bytes;   /**< Bytes requested from us and not yet freed. */
    size_t live_blocks;  /**< Blocks not yet freed. */
    uint64_t calls;      /**< malloc and realloc calls so far (failed ones included). */
    int64_t fail_at;     /**< Index (in calls) of the allocation that fails; -1: none. */
    int fail_rest;       /**< 1: every allocation from fail_at on fails. */
    uint64_t failures;   /**< Allocations refused so far. */
} tu_alloc;

/** Resets the accounting: nothing live, nothing armed. */
void tu_alloc_init(tu_alloc *a);
/** The risk_allocator that allocates through cmocka's test_malloc and accounts into @p a. */
risk_allocator tu_allocator(tu_alloc *a);
/** Fails the @p n-th allocation from now (0 = the very next), only that one. */
void tu_alloc_arm(tu_alloc *a, uint64_t n);
/** Fails every allocation from now on. */
void tu_alloc_arm_all(tu_alloc *a);
/** No further failures. */
void tu_alloc_disarm(tu_alloc *a);

/* ------------------------------------------------------------------ published fixtures */

/** Binance BTCUSDT leverage brackets (historical), W5 in research/cex-anchors.md
 *  (https://gist.github.com/highfestiva/b71e76f51eed84d56c1be8ebbcc286b5); cum derived. */
extern const risk_margin_tier tu_binance_btcusdt[];
#define TU_BINANCE_BTCUSDT_TIERS 10
/** Registers a linear perpetual on those brackets: contract 1, lot 0.001, tick 0.1. */
uint32_t tu_binance_btcusdt_perp(risk_engine *e, const char *symbol, uint32_t btc, uint32_t usdt, double mark);

/* ------------------------------------------------------------------ builders (assert success) */

/** New engine with flags and the test allocator @p a (which must outlive the engine). */
risk_engine *tu_engine(tu_alloc *a, uint32_t flags);
/** Registers an asset with weights 1 and no tiers. */
uint32_t tu_asset(risk_engine *e, const char *symbol, double price, uint32_t decimals);
/** Registers an asset with the given weights. */
uint32_t tu_asset_w(risk_engine *e, const char *symbol, double price, uint32_t decimals, double weight_init,
                    double weight_maint, double liab_weight_init, double liab_weight_maint);
/** A margin tier with derived cum. */
risk_margin_tier tu_tier(double cap, double mmr, double max_leverage);
/** A margin tier with a published cum. */
risk_margin_tier tu_tier_cum(double cap, double mmr, double max_leverage, double cum);
/** A spec for a linear perpetual (mm at the mark). */
risk_instrument_spec tu_linear_spec(const char *symbol, uint32_t underlying, uint32_t settle, double contract_size,
                                    double lot, double tick, double mark, const risk_margin_tier *tiers, size_t n);
/** A spec for an inverse perpetual (settle = underlying). */
risk_instrument_spec tu_inverse_spec(const char *symbol, uint32_t underlying, double contract_size, double lot,
                                     double tick, double mark, const risk_margin_tier *tiers, size_t n);
/** Registers an instrument from a spec. */
uint32_t tu_instrument(risk_engine *e, const risk_instrument_spec *spec);
/** Registers a linear perpetual. */
uint32_t tu_linear(risk_engine *e, const char *symbol, uint32_t underlying, uint32_t settle, double contract_size,
                   double lot, double tick, double mark, const risk_margin_tier *tiers, size_t n);
/** Registers an inverse perpetual. */
uint32_t tu_inverse(risk_engine *e, const char *symbol, uint32_t underlying, double contract_size, double lot,
                    double tick, double mark, const risk_margin_tier *tiers, size_t n);
/** New account. */
risk_account *tu_account(risk_engine *e, uint64_t id, uint32_t margin_mode, uint32_t position_mode);
/** Opens a position (side RISK_SIDE_BOTH for one-way, mode RISK_MARGIN_DEFAULT for the account's). */
risk_position *tu_open(risk_account *acc, uint32_t instrument, uint32_t side, uint32_t margin_mode, double qty,
                       double entry, double isolated_margin);
/** One-way cross position with the account's default mode. */
risk_position *tu_open_simple(risk_account *acc, uint32_t instrument, double qty, double entry);
/** Sets a balance in the account's basket. */
void tu_balance(risk_account *acc, uint32_t asset, double amount);
/** Sets a user leverage. */
void tu_leverage(risk_account *acc, uint32_t instrument, double leverage);
/** Sets a mark. */
void tu_mark(risk_engine *e, uint32_t instrument, double mark);
/** Sets an asset price. */
void tu_price(risk_engine *e, uint32_t asset, double price);
/** Evaluates an account. */
risk_account_summary tu_eval(const risk_account *acc);
/** Per-position results into @p out (capacity @p cap); returns the count. */
size_t tu_results(const risk_account *acc, risk_position_result *out, size_t cap);
/** The result of the position on @p instrument with direction @p side (LONG/SHORT). Fails if absent. */
risk_position_result tu_result_of(const risk_account *acc, uint32_t instrument, uint32_t side);
/** Evaluates a basket. */
risk_basket_summary tu_basket_eval(const risk_basket *b);

/* ------------------------------------------------------------------ comparisons */

void tu_assert_near_impl(double got, double want, double tol, const char *expr, const char *file, int line);
void tu_assert_rel_impl(double got, double want, double rel, const char *expr, const char *file, int line);
void tu_assert_bits_impl(double got, double want, const char *expr, const char *file, int line);
void tu_assert_errmsg_impl(const char *msg, const char *expr, const char *file, int line);

/** |got - want| <= tol (infinities must match exactly; NaN fails). */
#define tu_assert_near(got, want, tol) tu_assert_near_impl((got), (want), (tol), #got, __FILE__, __LINE__)
/** |got - want| <= rel * max(|want|, tiny) (infinities must match). */
#define tu_assert_rel(got, want, rel) tu_assert_rel_impl((got), (want), (rel), #got, __FILE__, __LINE__)
/** Bitwise identical doubles (NaN equals NaN of the same bits). */
#define tu_assert_bits(got, want) tu_assert_bits_impl((got), (want), #got, __FILE__, __LINE__)
/** A non-NULL, non-empty error message. */
#define tu_assert_errmsg(msg) tu_assert_errmsg_impl((msg), #msg, __FILE__, __LINE__)
/** A status equal to an expected one, printed by name on failure. */
#define tu_assert_status(got, want) tu_assert_status_impl((got), (want), #got, __FILE__, __LINE__)
void tu_assert_status_impl(int got, int want, const char *expr, const char *file, int line);

/* ------------------------------------------------------------------ snapshots */

#define TU_MAX_IDS 64
#define TU_MAX_POS 64

/** What an engine shows through its getters. */
typedef struct tu_engine_snap {
    size_t memory_bytes;
    size_t n_accounts;
    uint32_t valuation;
    size_t n_assets;
    size_t n_instruments;
    double prices[TU_MAX_IDS];
    double marks[TU_MAX_IDS];
    size_t n_tiers[TU_MAX_IDS];
} tu_engine_snap;

void tu_engine_snap_take(const risk_engine *e, tu_engine_snap *s);
/** Asserts the engine still matches; @p with_memory also compares risk_engine_memory_bytes. */
void tu_engine_snap_check(const risk_engine *e, const tu_engine_snap *s, int with_memory);

/** What a basket shows. */
typedef struct tu_basket_snap {
    size_t n_assets;
    double balances[TU_MAX_IDS];
    risk_basket_summary summary;
} tu_basket_snap;

void tu_basket_snap_take(const risk_basket *b, size_t n_assets, tu_basket_snap *s);
void tu_basket_snap_check(const risk_basket *b, const tu_basket_snap *s);

/** One position as its getters show it. */
typedef struct tu_pos_snap {
    uint32_t instrument, side, leg, margin_mode;
    double qty, entry, isolated_margin;
} tu_pos_snap;

/** What an account shows. */
typedef struct tu_account_snap {
    size_t n_positions;
    tu_pos_snap pos[TU_MAX_POS];
    size_t n_instruments;
    double leverage[TU_MAX_IDS];
    tu_basket_snap basket;
    risk_account_summary summary;
    uint64_t id;
    uint32_t margin_mode, position_mode;
} tu_account_snap;

/** @p n_assets and @p n_instruments: how many ids to read (0..n-1). */
void tu_account_snap_take(risk_account *acc, size_t n_assets, size_t n_instruments, tu_account_snap *s);
void tu_account_snap_check(risk_account *acc, const tu_account_snap *s);

/* ------------------------------------------------------------------ out-of-memory walk */

/**
 * An operation to walk through its out-of-memory paths. For n = 0, 1, 2, ...: setup() builds a
 * fresh fixture with the allocator it is given (disarmed), the walker arms it to fail the n-th
 * allocation from then on, runs op(); if op() fails it must return RISK_ENOMEM, and
 * check_failed() asserts the state is unchanged; teardown() frees everything (the cmocka
 * allocator then checks nothing leaked). The walk ends at the first success (check_ok()).
 */
typedef struct tu_oom_case {
    void *(*setup)(tu_alloc *a);
    int (*op)(void *fx);
    void (*check_failed)(void *fx);
    void (*check_ok)(void *fx);
    void (*teardown)(void *fx);
} tu_oom_case;

/** Runs the walk; returns the number of failed attempts (allocations on the op's path). */
unsigned tu_oom_walk(const tu_oom_case *c);

/* ------------------------------------------------------------------ random numbers */

typedef struct tu_rng {
    uint64_t s;
} tu_rng;

void tu_rng_seed(tu_rng *r, uint64_t seed);
uint64_t tu_rng_u64(tu_rng *r);
/** Uniform in [0, 1). */
double tu_rng_unit(tu_rng *r);
/** Uniform in [lo, hi). */
double tu_rng_range(tu_rng *r, double lo, double hi);
/** Uniform integer in [lo, hi]. */
int tu_rng_int(tu_rng *r, int lo, int hi);

#endif /* LIBRISK_TEST_UTIL_H */
