/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_util.h: decoding fuzz input into choices and numbers, shared by the harnesses.
 *
 * The input is read as a stream of bytes; once it runs out every read returns 0, so any input
 * decodes to a finite sequence of calls. Numbers come either from a table of interesting values
 * (zero, tiny, huge, NaN, infinities, 2^53, DBL_MAX, ...) or from grids the engine accepts
 * (whole lots, prices on the tick), so that most calls succeed and reach deep states while
 * the edges are still visited.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fz_reader {
    const uint8_t *data;
    size_t size;
    size_t pos;
} fz_reader;

static inline int fz_more(const fz_reader *r)
{
    return r->pos < r->size;
}

static inline uint8_t fz_u8(fz_reader *r)
{
    return r->pos < r->size ? r->data[r->pos++] : 0;
}

static inline uint16_t fz_u16(fz_reader *r)
{
    uint16_t hi = fz_u8(r);
    return (uint16_t)((hi << 8) | fz_u8(r));
}

static inline uint32_t fz_u32(fz_reader *r)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++)
        x = (x << 8) | fz_u8(r);
    return x;
}

static inline uint64_t fz_u64(fz_reader *r)
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = (x << 8) | fz_u8(r);
    return x;
}

/* 0..n-1 (n > 0). */
static inline uint32_t fz_pick(fz_reader *r, uint32_t n)
{
    return (uint32_t)(fz_u8(r) % n);
}

/* A raw double from 8 bytes: any bit pattern, NaN payloads and subnormals included. */
static inline double fz_raw_double(fz_reader *r)
{
    uint64_t bits = fz_u64(r);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* An edge value. */
static inline double fz_edge(fz_reader *r)
{
    static const double table[] = {
        0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e-300, -1e-300, 5e-324, 1e-9, 1e9, 1e15, 1e16, 1e17,
        9007199254740992.0, 9007199254740993.0, 1e300, -1e300, 1e308, DBL_MAX, -DBL_MAX,
        NAN, INFINITY, -INFINITY, 0.001, 0.1, 100.0, 50000.0, 2664.06, 2e9,
    };
    return table[fz_pick(r, (uint32_t)(sizeof table / sizeof table[0]))];
}

/* A number on a grid of @p step: k x step with k a signed 16-bit count, or an edge value, or a
 * raw double (rarely). */
static inline double fz_grid(fz_reader *r, double step)
{
    uint8_t how = fz_u8(r);
    if (how < 200)
        return (double)(int16_t)fz_u16(r) * step;
    if (how < 245)
        return fz_edge(r);
    return fz_raw_double(r);
}

/* A positive number on a grid (count 1..65536), or an edge / raw value. */
static inline double fz_pos_grid(fz_reader *r, double step)
{
    uint8_t how = fz_u8(r);
    if (how < 210)
        return ((double)fz_u16(r) + 1.0) * step;
    if (how < 245)
        return fz_edge(r);
    return fz_raw_double(r);
}

/* A fraction-like parameter: k/256, or an edge value. */
static inline double fz_frac(fz_reader *r)
{
    uint8_t how = fz_u8(r);
    if (how < 220)
        return (double)fz_u8(r) / 256.0;
    return fz_edge(r);
}

/* Stops the run with a message naming the broken invariant (libFuzzer records the input). */
#define FZ_ASSERT(cond, ...)                                                                   \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n  ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fprintf(stderr, "\n");                                                             \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

#endif /* FUZZ_UTIL_H */
