/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/alloc.h
 * @brief The allocator hook an engine and all its children allocate through.
 * @defgroup alloc Allocator hook
 * @{
 */
#ifndef RISK_ALLOC_H
#define RISK_ALLOC_H

#include "risk/common.h"

RISK_BEGIN_DECLS

/**
 * @brief Memory functions for one engine and everything it owns.
 *
 * All three NULL means the C library's malloc, realloc and free. Either all three are set or
 * none. `realloc_fn` follows C's realloc: a NULL pointer allocates; on failure it returns NULL
 * and leaves the block untouched. The library never passes size 0. If handles of one engine
 * are used from several threads (evaluation of distinct accounts), the functions must be
 * thread-safe; evaluation itself never allocates.
 */
typedef struct risk_allocator {
    /** Allocates @p size bytes; NULL on failure. */
    void *(*malloc_fn)(void *ctx, size_t size);
    /** Resizes a block; NULL on failure, the old block intact. */
    void *(*realloc_fn)(void *ctx, void *ptr, size_t size);
    /** Frees a block (never called with NULL). */
    void (*free_fn)(void *ctx, void *ptr);
    /** Passed to each function unchanged. */
    void *ctx;
} risk_allocator;

RISK_END_DECLS

/** @} */
#endif /* RISK_ALLOC_H */
