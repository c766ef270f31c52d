/* SPDX-License-Identifier: Apache-2.0 */
/* Allocation through the engine's hook, per-handle error messages, and rounding helpers. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* madvise */
#endif
#include "core/internal.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <float.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *risk__malloc(const risk_engine *e, size_t size)
{
    return e->alloc.malloc_fn ? e->alloc.malloc_fn(e->alloc.ctx, size) : malloc(size);
}

void *risk__calloc(const risk_engine *e, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    if (!e->alloc.malloc_fn)
        return calloc(n, size); /* a large block comes as fresh zeroed pages: not written twice */
    void *p = e->alloc.malloc_fn(e->alloc.ctx, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *risk__realloc(const risk_engine *e, void *ptr, size_t size)
{
    return e->alloc.realloc_fn ? e->alloc.realloc_fn(e->alloc.ctx, ptr, size) : realloc(ptr, size);
}

void risk__free(const risk_engine *e, void *ptr)
{
    if (!ptr)
        return;
    if (e->alloc.free_fn)
        e->alloc.free_fn(e->alloc.ctx, ptr);
    else
        free(ptr);
}

int risk__fail(const risk_engine *e, char **slot, int code, const char *fmt, ...)
{
    if (!*slot)
        *slot = risk__malloc(e, RISK__ERRMSG_LEN);
    if (*slot) { /* without memory the caller still has the code and risk_strerror() */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(*slot, RISK__ERRMSG_LEN, fmt, ap);
        va_end(ap);
    }
    return code;
}

void risk__clear(char **slot)
{
    if (*slot)
        (*slot)[0] = '\0';
}

const char *risk__msg(const char *slot)
{
    return slot ? slot : "";
}

/* Whole multiple within a relative 1e-9 of the step count: quantities and prices arrive from
 * decimal text (0.001 lots, 0.1 ticks) that binary floating point cannot hold exactly. */
int risk__lots_in_domain(double qty, double lot)
{
    return fabs(qty) / lot <= 9007199254740992.0; /* 2^53: every whole count of lots is a double */
}

int risk__is_whole_multiple(double value, double step)
{
    double n = value / step;
    double r = nearbyint(n);
    return fabs(n - r) <= 1e-9 * (fabs(n) > 1.0 ? fabs(n) : 1.0);
}

/* Divides by an integral reciprocal when the step has one (0.1 -> 10), so that the result is
 * the double nearest the decimal n x step. */
double risk__steps_to_value(double n, double step)
{
    double inv = nearbyint(1.0 / step);
    if (inv >= 1.0 && fabs(inv * step - 1.0) <= 1e-12)
        return n / inv;
    return n * step;
}

double risk__round_to_step(double value, double step, int up)
{
    double n = value / step;
    if (!(fabs(n) < 4503599627370496.0)) /* 2^52 */
        return value;
    return risk__steps_to_value(risk__whole_against(n, up), step);
}


void risk__memory_hint(void *p, size_t n)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (!p || n < ((size_t)4 << 20))
        return;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + n) & ~(huge - 1);
    if (hi <= lo)
        return;
    (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#if defined(MADV_POPULATE_WRITE)
    (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#endif
#else
    (void)p;
    (void)n;
#endif
}
