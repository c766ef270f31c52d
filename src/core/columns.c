/* SPDX-License-Identifier: Apache-2.0 */
/* Columnar results (risk/bulk.h): every account's summary and every position's result written
 * field by field into caller arrays. Accounts are evaluated by the same internal calls as
 * risk_engine_evaluate_all() (risk__sweep_slots: blocks of 64 summaries on the stack, the SIMD
 * path included) and risk_account_position_results(), whose chosen fields are then stored:
 * bit-identical by construction, and the block stays in L1, so the cost over the
 * struct-returning calls is the stores alone. */
#include "core/internal.h"

#include <pthread.h>
#include <string.h>

#define COLUMNS_MAX_THREADS 256

typedef struct col_chunk {
    const risk_engine *engine;
    size_t slot_begin, slot_end; /* range of engine account slots */
    size_t out_begin;            /* first output row of the chunk's accounts */
    size_t pos_begin;            /* first output row of the chunk's positions */
    const risk_summary_columns *sc;
    const risk_position_result_columns *pc;
    const risk__sweep_shared *shared; /* the call's sweep tables, or NULL: each worker fills its own */
} col_chunk;

static void summary_store(const risk_summary_columns *c, size_t k, uint64_t id, const risk_account_summary *s)
{
    if (c->ids)
        c->ids[k] = id;
    if (c->state)
        c->state[k] = s->state;
    if (c->equity)
        c->equity[k] = s->equity;
    if (c->collateral_value)
        c->collateral_value[k] = s->collateral_value;
    if (c->unrealized_pnl)
        c->unrealized_pnl[k] = s->unrealized_pnl;
    if (c->initial_margin)
        c->initial_margin[k] = s->initial_margin;
    if (c->maintenance_margin)
        c->maintenance_margin[k] = s->maintenance_margin;
    if (c->available)
        c->available[k] = s->available;
    if (c->health_factor)
        c->health_factor[k] = s->health_factor;
    if (c->margin_ratio)
        c->margin_ratio[k] = s->margin_ratio;
    if (c->ltv)
        c->ltv[k] = s->ltv;
    if (c->ltv_buffer)
        c->ltv_buffer[k] = s->ltv_buffer;
    if (c->leverage)
        c->leverage[k] = s->leverage;
    if (c->collateral_init)
        c->collateral_init[k] = s->collateral_init;
    if (c->collateral_maint)
        c->collateral_maint[k] = s->collateral_maint;
    if (c->liabilities)
        c->liabilities[k] = s->liabilities;
    if (c->isolated_margin)
        c->isolated_margin[k] = s->isolated_margin;
    if (c->n_positions)
        c->n_positions[k] = s->n_positions;
    if (c->n_isolated_liquidatable)
        c->n_isolated_liquidatable[k] = s->n_isolated_liquidatable;
}

typedef struct summary_sink_ctx {
    const risk_summary_columns *sc;
    size_t k; /* next output row */
} summary_sink_ctx;

static void summary_sink(void *user, const risk_account *const *accounts, const risk_account_summary *summaries,
                         size_t n)
{
    summary_sink_ctx *ctx = user;
    for (size_t i = 0; i < n; i++)
        summary_store(ctx->sc, ctx->k++, accounts[i]->id, &summaries[i]);
}

static void *summary_run(void *arg)
{
    const col_chunk *ch = arg;
    summary_sink_ctx ctx = {ch->sc, ch->out_begin};
    risk__sweep_slots(ch->engine, ch->shared, ch->slot_begin, ch->slot_end, summary_sink, &ctx);
    return NULL;
}

static void result_store(const risk_position_result_columns *c, size_t k, const risk_account *a, uint32_t index,
                         uint32_t slot, const risk_position_result *r)
{
    if (c->account_ids)
        c->account_ids[k] = a->id;
    if (c->account_index)
        c->account_index[k] = index;
    if (c->instrument)
        c->instrument[k] = r->instrument;
    if (c->side)
        c->side[k] = r->side;
    if (c->leg)
        c->leg[k] = a->pflags[slot] & RISK__PF_LEG_MASK;
    if (c->margin_mode)
        c->margin_mode[k] = r->margin_mode;
    if (c->flags)
        c->flags[k] = r->flags;
    if (c->tier)
        c->tier[k] = r->tier;
    if (c->qty)
        c->qty[k] = r->qty;
    if (c->entry)
        c->entry[k] = r->entry;
    if (c->mark)
        c->mark[k] = r->mark;
    if (c->notional)
        c->notional[k] = r->notional;
    if (c->unrealized_pnl)
        c->unrealized_pnl[k] = r->unrealized_pnl;
    if (c->initial_margin)
        c->initial_margin[k] = r->initial_margin;
    if (c->maintenance_margin)
        c->maintenance_margin[k] = r->maintenance_margin;
    if (c->isolated_margin)
        c->isolated_margin[k] = r->isolated_margin;
    if (c->liquidation_price)
        c->liquidation_price[k] = r->liquidation_price;
    if (c->bankruptcy_price)
        c->bankruptcy_price[k] = r->bankruptcy_price;
    if (c->liquidation_price_raw)
        c->liquidation_price_raw[k] = r->liquidation_price_raw;
    if (c->bankruptcy_price_raw)
        c->bankruptcy_price_raw[k] = r->bankruptcy_price_raw;
}

/* One account's positions, as risk_account_position_results computes them (the cross pool's
 * factors solved once per underlying, in a fixed cache). */
static size_t account_results(const risk_position_result_columns *c, size_t k, const risk_account *a, uint32_t index)
{
    risk__pool_cache cache;
    cache.n_cross = 0;
    for (uint32_t i = 0; i < a->n_pos; i++) {
        risk_position_result r = RISK_POSITION_RESULT_INIT;
        risk__position_result_fill(a, i, risk__pool_factors_for(a, i, &cache), &r);
        result_store(c, k++, a, index, i, &r);
    }
    return k;
}

static void *results_run(void *arg)
{
    const col_chunk *ch = arg;
    risk_account *const *accounts = ch->engine->accounts;
    size_t k = ch->pos_begin, index = ch->out_begin;
    for (size_t s = ch->slot_begin; s < ch->slot_end; s++) {
        const risk_account *a = accounts[s];
        if (!a)
            continue;
        k = account_results(ch->pc, k, a, (uint32_t)index++);
    }
    return NULL;
}

/* Splits the account slots over the threads and runs fn on each chunk. */
static int run_chunks(risk_engine *e, uint32_t threads, const risk_summary_columns *sc,
                      const risk_position_result_columns *pc, void *(*fn)(void *))
{
    if (threads == 0)
        threads = 1;
    if ((size_t)threads > e->n_account_slots / 1024 + 1) /* small books are not worth a thread */
        threads = (uint32_t)(e->n_account_slots / 1024 + 1);
    col_chunk chunks[COLUMNS_MAX_THREADS];
    /* the summaries' sweep shares its instrument tables (engines of over 16 instruments) */
    const risk__sweep_shared *shared = sc ? risk__sweep_shared_borrow(e, 0) : NULL;
    size_t live_before = 0, pos_before = 0;
    for (uint32_t t = 0; t < threads; t++) {
        col_chunk *c = &chunks[t];
        c->engine = e;
        c->slot_begin = e->n_account_slots * t / threads;
        c->slot_end = e->n_account_slots * (t + 1) / threads;
        c->out_begin = live_before;
        c->pos_begin = pos_before;
        c->sc = sc;
        c->pc = pc;
        c->shared = shared;
        for (size_t s = c->slot_begin; s < c->slot_end; s++) {
            const risk_account *a = e->accounts[s];
            if (a) {
                live_before++;
                pos_before += a->n_pos;
            }
        }
    }
    pthread_t tids[COLUMNS_MAX_THREADS];
    uint32_t started = 0;
    int rc = RISK_OK;
    for (uint32_t t = 1; t < threads; t++) {
        if (pthread_create(&tids[t], NULL, fn, &chunks[t]) != 0) {
            rc = RISK_ETHREAD;
            break;
        }
        started = t;
    }
    if (rc == RISK_OK)
        fn(&chunks[0]);
    for (uint32_t t = 1; t <= started; t++)
        pthread_join(tids[t], NULL);
    risk__sweep_shared_return(e, shared);
    if (rc)
        return risk__fail(e, &e->errmsg, rc, "could not start %u worker threads", threads - 1);
    return RISK_OK;
}

RISK_API int risk_engine_evaluate_columns(const risk_engine *engine, const risk_summary_columns *columns,
                                          size_t capacity, uint32_t threads, size_t *count_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message buffer is not engine state */
    if (!columns || !count_out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "columns or count_out is NULL");
    if (columns->version != RISK_SUMMARY_COLUMNS_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "summary columns version %u is not %d", columns->version,
                          RISK_SUMMARY_COLUMNS_VERSION);
    *count_out = e->n_accounts;
    if (capacity < e->n_accounts)
        return risk__fail(e, &e->errmsg, RISK_EBUFFER, "%zu accounts, capacity %zu", e->n_accounts, capacity);
    if (threads > COLUMNS_MAX_THREADS)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "threads %u above %d", threads, COLUMNS_MAX_THREADS);
    return run_chunks(e, threads, columns, NULL, summary_run);
}

RISK_API int risk_engine_position_results_columns(const risk_engine *engine,
                                                  const risk_position_result_columns *columns, size_t capacity,
                                                  uint32_t threads, size_t *count_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine;
    if (!columns || !count_out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "columns or count_out is NULL");
    if (columns->version != RISK_POSITION_RESULT_COLUMNS_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "position result columns version %u is not %d",
                          columns->version, RISK_POSITION_RESULT_COLUMNS_VERSION);
    size_t total = 0;
    for (size_t s = 0; s < e->n_account_slots; s++)
        if (e->accounts[s])
            total += e->accounts[s]->n_pos;
    *count_out = total;
    if (capacity < total)
        return risk__fail(e, &e->errmsg, RISK_EBUFFER, "%zu positions, capacity %zu", total, capacity);
    if (threads > COLUMNS_MAX_THREADS)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "threads %u above %d", threads, COLUMNS_MAX_THREADS);
    return run_chunks(e, threads, NULL, columns, results_run);
}
