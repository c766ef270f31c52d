/* SPDX-License-Identifier: Apache-2.0 */
/* The position arena: engine-wide chunks of position slots as structure of arrays, from which
 * each account takes one contiguous range (see internal.h). Accounts created and filled in
 * order sit one after another, so a batch sweep streams through memory. */
#include "core/internal.h"

#include <string.h>

static uint32_t range_class(uint32_t cap)
{
    uint32_t c = 0;
    while ((1u << c) < cap)
        c++;
    return c;
}

/* Bytes of one slot across all arrays. */
#define SLOT_BYTES (5 * sizeof(double) + sizeof(risk_position *) + 2 * sizeof(uint32_t))

static risk__pos_chunk *chunk_new(risk_engine *e, uint32_t slots, uint32_t dedicated)
{
    size_t header = (sizeof(risk__pos_chunk) + 63) & ~(size_t)63;
    size_t bytes = header + (size_t)slots * SLOT_BYTES;
    unsigned char *mem = risk__malloc(e, bytes);
    if (!mem)
        return NULL;
    risk__pos_chunk *c = (risk__pos_chunk *)mem;
    memset(c, 0, sizeof *c);
    c->qty = (double *)(mem + header);
    c->entry = c->qty + slots;
    c->im_rate = c->entry + slots;
    c->iso_margin = c->im_rate + slots;
    c->fund_last = c->iso_margin + slots;
    memset(c->fund_last, 0, (size_t)slots * sizeof *c->fund_last); /* a restored position reads 0 */
    c->handles = (risk_position **)(c->fund_last + slots);
    c->inst = (uint32_t *)(c->handles + slots);
    c->pflags = c->inst + slots;
    c->slots = slots;
    c->dedicated = dedicated;
    c->bytes = bytes;
    c->next = e->chunks;
    if (e->chunks)
        e->chunks->prev = c;
    e->chunks = c;
    e->chunk_bytes += bytes;
    return c;
}

static void chunk_free(risk_engine *e, risk__pos_chunk *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        e->chunks = c->next;
    if (c->next)
        c->next->prev = c->prev;
    e->chunk_bytes -= c->bytes;
    risk__free(e, c);
}

/* The free-list link lives in the freed range's first slot: handles[] holds the next chunk,
 * inst[] the next base. */
static void free_push(risk_engine *e, risk__pos_chunk *c, uint32_t base, uint32_t cap)
{
    risk__range *head = &e->free_ranges[range_class(cap)];
    c->handles[base] = (risk_position *)(void *)head->chunk;
    c->inst[base] = head->base;
    head->chunk = c;
    head->base = base;
    head->cap = cap;
}

static int free_pop(risk_engine *e, uint32_t cap, risk__range *out)
{
    risk__range *head = &e->free_ranges[range_class(cap)];
    if (!head->chunk)
        return 0;
    out->chunk = head->chunk;
    out->base = head->base;
    out->cap = cap;
    risk__pos_chunk *next = (risk__pos_chunk *)(void *)head->chunk->handles[head->base];
    uint32_t next_base = head->chunk->inst[head->base];
    head->chunk = next;
    head->base = next_base;
    return 1;
}

/* Hands the unused tail of the bump chunk to the free lists before a new chunk takes over. */
static void retire_bump(risk_engine *e)
{
    risk__pos_chunk *c = e->bump;
    if (!c)
        return;
    while (c->used < c->slots) {
        uint32_t piece = 1;
        while (piece * 2 <= c->slots - c->used && (c->used % (piece * 2)) == 0)
            piece *= 2;
        free_push(e, c, c->used, piece);
        c->used += piece;
    }
}

int risk__arena_alloc(risk_engine *e, uint32_t cap, risk__range *out)
{
    if (free_pop(e, cap, out))
        return RISK_OK;
    if (cap > RISK__CHUNK_MAX_SLOTS) {
        risk__pos_chunk *c = chunk_new(e, cap, 1);
        if (!c)
            return RISK_ENOMEM;
        c->used = cap;
        out->chunk = c;
        out->base = 0;
        out->cap = cap;
        return RISK_OK;
    }
    risk__pos_chunk *b = e->bump;
    if (!b || b->slots - b->used < cap) {
        uint32_t slots = b ? 2 * b->slots : RISK__CHUNK_MIN_SLOTS;
        if (slots > RISK__CHUNK_MAX_SLOTS)
            slots = RISK__CHUNK_MAX_SLOTS;
        if (slots < cap)
            slots = cap;
        risk__pos_chunk *c = chunk_new(e, slots, 0);
        if (!c)
            return RISK_ENOMEM;
        retire_bump(e);
        e->bump = b = c;
    }
    out->chunk = b;
    out->base = b->used;
    out->cap = cap;
    b->used += cap;
    return RISK_OK;
}

int risk__arena_extend(risk_engine *e, risk__range *r, uint32_t cap)
{
    risk__pos_chunk *b = e->bump;
    if (r->chunk != b || r->base + r->cap != b->used || r->base + cap > b->slots)
        return 0;
    b->used = r->base + cap;
    r->cap = cap;
    return 1;
}

void risk__arena_release(risk_engine *e, risk__range *r)
{
    risk__pos_chunk *c = r->chunk;
    if (!c)
        return;
    if (c->dedicated)
        chunk_free(e, c);
    else if (c == e->bump && r->base + r->cap == c->used)
        c->used = r->base; /* the tail goes back to the bump mark */
    else
        free_push(e, c, r->base, r->cap);
    r->chunk = NULL;
    r->base = r->cap = 0;
}

void risk__arena_destroy(risk_engine *e)
{
    while (e->chunks)
        chunk_free(e, e->chunks);
    e->bump = NULL;
    memset(e->free_ranges, 0, sizeof e->free_ranges);
}

int risk__arena_reserve(risk_engine *e, uint32_t slots)
{
    if (slots == 0)
        return RISK_OK;
    risk__pos_chunk *c = chunk_new(e, slots, 0);
    if (!c)
        return RISK_ENOMEM;
    risk__memory_hint(c->qty, (size_t)slots * SLOT_BYTES);
    retire_bump(e);
    e->bump = c;
    return RISK_OK;
}
