/* SPDX-License-Identifier: Apache-2.0 */
/* The sweep image (RISK_ENGINE_SWEEP_IMAGE): the accounts' positions and balances copied into
 * tiles of eight consecutive account slots, position j of lane l at [j][l], which
 * risk_engine_evaluate_all reads in one stream, eight accounts to a vector (core/evaluate.c,
 * tile_run). It is a cache: every change to an account marks its tile (risk__account_changed),
 * the next sweep rebuilds the marked tiles from the accounts, and a sweep that cannot use the
 * image evaluates the accounts themselves, with the same bits. Memory grows with the engine's
 * account slots, outside any sweep, so that sweeps never allocate; docs/performance.md, "The
 * sweep image", has the layout's reasons and measurements. */
#include "core/internal.h"

#include <stddef.h>
#include <string.h>

int risk__image_new(risk_engine *e)
{
    risk__sweep_image *im = risk__calloc(e, 1, sizeof *im);
    if (!im)
        return RISK_ENOMEM;
    atomic_init(&im->busy, 0);
    e->image = im;
    risk__image_reserve(e);
    return RISK_OK;
}

void risk__image_free(risk_engine *e)
{
    risk__sweep_image *im = e->image;
    if (!im)
        return;
    risk__free(e, im->block);
    risk__free(e, im->dirty);
    risk__free(e, im);
    e->image = NULL;
}

size_t risk__image_bytes(const risk_engine *e)
{
    const risk__sweep_image *im = e->image;
    if (!im)
        return 0;
    return sizeof *im + (im->block ? im->cap_tiles * (sizeof(risk__tile) + 1) + 63 : 0);
}

void risk__image_touch_all(risk_engine *e)
{
    risk__sweep_image *im = e->image;
    if (im && im->dirty)
        memset(im->dirty, 1, im->cap_tiles);
}

void risk__image_reserve(risk_engine *e)
{
    risk__sweep_image *im = e->image;
    if (!im)
        return;
    size_t want = (e->cap_account_slots + RISK__TILE_LANES - 1) / RISK__TILE_LANES;
    if (want == 0)
        want = 1;
    if (im->block && !im->broken && im->cap_tiles >= want)
        return;
    /* a new block, every tile marked: the first sweep after it rebuilds them all (growth doubles
     * the slots, so this is amortised O(1) per account) */
    size_t cap = im->cap_tiles > want ? im->cap_tiles : want;
    void *block = NULL;
    uint8_t *dirty = NULL;
    if (cap <= (SIZE_MAX - 63) / sizeof(risk__tile)) {
        block = risk__malloc(e, cap * sizeof(risk__tile) + 63);
        dirty = risk__malloc(e, cap);
    }
    if (!block || !dirty) {
        risk__free(e, block);
        risk__free(e, dirty);
        im->broken = 1; /* sweeps go without it (the same bits); the next growth tries again */
        return;
    }
    risk__memory_hint(block, cap * sizeof(risk__tile) + 63);
    memset(dirty, 1, cap);
    risk__free(e, im->block);
    risk__free(e, im->dirty);
    im->block = block;
    im->tiles = (risk__tile *)(((uintptr_t)block + 63) & ~(uintptr_t)63);
    im->dirty = dirty;
    im->cap_tiles = cap;
    im->broken = 0;
}

risk__sweep_image *risk__image_borrow(const risk_engine *e)
{
    risk__sweep_image *im = e->image;
    if (!im || im->broken || (e->flags & RISK_ENGINE_GENERIC_SWEEP) ||
        im->cap_tiles * RISK__TILE_LANES < e->n_account_slots)
        return NULL;
    int free_flag = 0;
    if (!atomic_compare_exchange_strong(&im->busy, &free_flag, 1))
        return NULL; /* another sweep of the engine holds it: this one evaluates the accounts */
    return im;
}

void risk__image_return(risk__sweep_image *im)
{
    if (im)
        atomic_store(&im->busy, 0);
}

/* Whether account a can live in a lane (else the sweep evaluates it on its own). */
static int image_takes(const risk_account *a)
{
    return !a->sweep_generic && a->n_pos <= RISK__TILE_DEPTH && a->margin_mode != RISK_MARGIN_PORTFOLIO &&
           a->basket.n <= RISK__BASKET_INLINE;
}

void risk__image_tile_fill(const risk_engine *e, risk__sweep_image *im, size_t t)
{
    risk__tile *T = &im->tiles[t];
    /* every row zero first: the kernel masks the rows past a lane's positions, but reads whole
     * rows, which must hold numbers */
    memset(T, 0, sizeof *T);
    for (uint32_t l = 0; l < RISK__TILE_LANES; l++) {
        size_t s = t * RISK__TILE_LANES + l;
        const risk_account *a = s < e->n_account_slots ? e->accounts[s] : NULL;
        T->acc[l] = a;
        if (!a)
            continue;
        T->id[l] = a->id;
        T->live |= 1u << l;
        if (!image_takes(a))
            continue;
        T->lanes |= 1u << l;
        T->n_pos[l] = a->n_pos;
        if (a->n_pos > T->depth)
            T->depth = a->n_pos;
        for (uint32_t j = 0; j < a->n_pos; j++) {
            T->qty[j][l] = a->qty[j];
            T->entry[j][l] = a->entry[j];
            T->im_rate[j][l] = a->im_rate[j];
            T->inst[j][l] = a->inst[j];
            T->pflags[j][l] = a->pflags[j];
            T->iso_margin[j][l] = a->iso_margin[j];
            T->fund_last[j][l] = a->fund_last ? a->fund_last[j] : 0.0;
        }
        T->n_bal[l] = a->basket.n;
        for (uint32_t i = 0; i < a->basket.n; i++) {
            T->bal_asset[i][l] = a->basket.asset[i];
            T->bal_amount[i][l] = a->basket.amount[i];
        }
    }
    im->dirty[t] = 0;
}

/* The layout bench/bench_evaluate.c counts the bytes a sweep touches by (TILE_HEADER_BYTES and
 * TILE_ROW_BYTES_PER_LANE there): a change here must be made there too. */
_Static_assert(offsetof(risk__tile, qty) == 448, "the tile's header is 448 bytes");
_Static_assert(offsetof(risk__tile, iso_margin) - offsetof(risk__tile, qty) ==
                   32 * RISK__TILE_DEPTH * RISK__TILE_LANES,
               "the rows a sweep reads are 32 bytes a position");
_Static_assert(sizeof(risk__tile) % 64 == 0, "tiles start on cache lines");
