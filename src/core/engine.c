/* SPDX-License-Identifier: Apache-2.0 */
/* Engine: lifecycle and reference count, asset and instrument registry, market data,
 * the account registry (creation order plus an id map), lookups. */
#include "core/internal.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ lifecycle */

RISK_API int risk_engine_new(risk_engine **out, const risk_engine_options *options)
{
    if (!out)
        return RISK_ENULL;
    *out = NULL;
    risk_engine_options defaults = RISK_ENGINE_OPTIONS_INIT;
    const risk_engine_options *o = options ? options : &defaults;
    if (o->version != RISK_ENGINE_OPTIONS_VERSION)
        return RISK_EVERSION;
    const risk_allocator *al = &o->allocator;
    int n_set = (al->malloc_fn != NULL) + (al->realloc_fn != NULL) + (al->free_fn != NULL);
    if (n_set != 0 && n_set != 3)
        return RISK_EINVAL;
    if (!isfinite(o->margin_call_health) || o->margin_call_health < 1.0)
        return RISK_EINVAL;
    if (o->flags & ~(uint32_t)(RISK_ENGINE_NO_QUANTIZE | RISK_ENGINE_GENERIC_SWEEP | RISK_ENGINE_SWEEP_IMAGE))
        return RISK_EINVAL;
    risk_engine boot;
    memset(&boot, 0, sizeof boot);
    boot.alloc = *al;
    risk_engine *e = risk__malloc(&boot, sizeof *e);
    if (!e)
        return RISK_ENOMEM;
    *e = boot;
    e->flags = o->flags;
    e->refs = 1;
    e->margin_call_health = o->margin_call_health;
    e->valuation = RISK_ID_NONE;
    if ((o->flags & RISK_ENGINE_SWEEP_IMAGE) && risk__image_new(e) != RISK_OK) {
        risk__free(e, e);
        return RISK_ENOMEM;
    }
    *out = e;
    return RISK_OK;
}

static void engine_destroy(risk_engine *e)
{
    /* The accounts still registered are those the engine owns (restored from a snapshot and
     * never adopted): every other account holds a reference, so none is left by now. */
    for (size_t s = 0; s < e->n_account_slots; s++)
        if (e->accounts[s])
            risk__account_destroy(e->accounts[s]);
    risk__free(e, e->account_block);
    risk__free(e, e->levs_block);
    risk__free(e, e->sweep_scratch);
    risk__image_free(e);
    risk__snap_storage_free(e);
    while (e->bulk_blocks) {
        void *next = *(void **)e->bulk_blocks;
        risk__free(e, e->bulk_blocks);
        e->bulk_blocks = next;
    }
    risk__scaling_destroy(e);
    risk__rates_destroy(e);
    for (uint32_t i = 0; i < e->n_assets; i++)
        risk__free(e, e->assets[i].tiers);
    for (uint32_t i = 0; i < e->n_instruments; i++)
        risk__schedule_release(e, &e->instruments[i].schedule);
    risk__arena_destroy(e);
    risk__liquidation_free(e);
    risk__pm_free(e);
    risk__free(e, e->assets);
    risk__free(e, e->instruments);
    risk__free(e, e->accounts);
    risk__free(e, e->ids.keys);
    risk__free(e, e->ids.vals);
    risk__free(e, e->errmsg);
    risk_allocator al = e->alloc;
    risk_engine boot;
    memset(&boot, 0, sizeof boot);
    boot.alloc = al;
    risk__free(&boot, e);
}

void risk__engine_retain(risk_engine *e)
{
    e->refs++;
}

void risk__engine_release(risk_engine *e)
{
    if (--e->refs == 0)
        engine_destroy(e);
}

RISK_API void risk_engine_free(risk_engine *engine)
{
    if (!engine || engine->user_freed)
        return;
    engine->user_freed = 1;
    risk__engine_release(engine);
}

double risk__asset_scale(const risk__asset *a)
{
    static const double POW10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
                                   1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};
    return POW10[a->decimals];
}

/* ------------------------------------------------------------ registry */

static int symbol_check(const risk_engine *e, char **err, const char *symbol, const char *what)
{
    if (!symbol)
        return risk__fail(e, err, RISK_ENULL, "%s symbol is NULL", what);
    size_t len = strlen(symbol);
    if (len == 0 || len > RISK__SYMBOL_MAX)
        return risk__fail(e, err, RISK_EINVAL, "%s symbol must be 1..%d bytes", what, RISK__SYMBOL_MAX);
    return RISK_OK;
}

static int find_asset(const risk_engine *e, const char *symbol, uint32_t *out)
{
    for (uint32_t i = 0; i < e->n_assets; i++)
        if (strcmp(e->assets[i].symbol, symbol) == 0) {
            *out = i;
            return 1;
        }
    return 0;
}

static int find_instrument(const risk_engine *e, const char *symbol, uint32_t *out)
{
    for (uint32_t i = 0; i < e->n_instruments; i++)
        if (strcmp(e->instruments[i].symbol, symbol) == 0) {
            *out = i;
            return 1;
        }
    return 0;
}

static int value_tiers_check(risk_engine *e, const risk_asset_spec *s)
{
    if (s->n_value_tiers == 0)
        return RISK_OK;
    if (!s->value_tiers)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "asset %s: value_tiers is NULL with n_value_tiers %zu",
                          s->symbol, s->n_value_tiers);
    if (s->n_value_tiers > RISK__MAX_TIERS)
        return risk__fail(e, &e->errmsg, RISK_ETIERS, "asset %s: more than %d value tiers", s->symbol,
                          RISK__MAX_TIERS);
    risk__asset shape; /* for the amount bound, which depends on the decimals only */
    shape.decimals = s->decimals;
    double prev = 0.0;
    for (size_t i = 0; i < s->n_value_tiers; i++) {
        const risk_value_tier *t = &s->value_tiers[i];
        if (isnan(t->up_to_qty) || !(t->up_to_qty > prev) || (isinf(t->up_to_qty) && i + 1 != s->n_value_tiers))
            return risk__fail(e, &e->errmsg, RISK_ETIERS,
                              "asset %s: value tier %zu up_to_qty must exceed the previous bound", s->symbol, i);
        if (isfinite(t->up_to_qty) && !risk__amount_in_domain(&shape, t->up_to_qty))
            return risk__fail(e, &e->errmsg, RISK_ETIERS, "asset %s: value tier %zu up_to_qty %s above %s (2^53 quanta)",
                              s->symbol, i, RISK__NUM(t->up_to_qty), RISK__NUM(risk__amount_max(&shape)));
        if (!isfinite(t->ratio) || t->ratio < 0.0 || t->ratio > 1.0)
            return risk__fail(e, &e->errmsg, RISK_ETIERS, "asset %s: value tier %zu ratio must be in [0, 1]",
                              s->symbol, i);
        prev = t->up_to_qty;
    }
    return RISK_OK;
}

RISK_API int risk_engine_add_asset(risk_engine *engine, const risk_asset_spec *spec, uint32_t *id_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    if (!spec)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "asset spec is NULL");
    if (spec->version != RISK_ASSET_SPEC_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "asset spec version %u is not %d", spec->version,
                          RISK_ASSET_SPEC_VERSION);
    int rc = symbol_check(e, &e->errmsg, spec->symbol, "asset");
    if (rc)
        return rc;
    uint32_t dup;
    if (find_asset(e, spec->symbol, &dup))
        return risk__fail(e, &e->errmsg, RISK_EDUPLICATE, "asset %s is already registered", spec->symbol);
    if (spec->decimals > 18)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "asset %s: decimals %u above 18", spec->symbol, spec->decimals);
    if (!risk__price_in_domain(spec->price))
        return risk__check_price(e, &e->errmsg, spec->symbol, "price", spec->price);
    if (!isfinite(spec->weight_init) || !isfinite(spec->weight_maint) || spec->weight_init < 0.0 ||
        spec->weight_init > spec->weight_maint || spec->weight_maint > 1.0)
        return risk__fail(e, &e->errmsg, RISK_EINVAL,
                          "asset %s: weights need 0 <= weight_init <= weight_maint <= 1", spec->symbol);
    if (!isfinite(spec->liab_weight_init) || !isfinite(spec->liab_weight_maint) || spec->liab_weight_maint < 1.0 ||
        spec->liab_weight_init < spec->liab_weight_maint)
        return risk__fail(e, &e->errmsg, RISK_EINVAL,
                          "asset %s: liability weights need 1 <= liab_weight_maint <= liab_weight_init", spec->symbol);
    rc = value_tiers_check(e, spec);
    if (rc)
        return rc;
    if (e->n_assets == RISK_ID_NONE - 1)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "too many assets");

    risk_value_tier *tiers = NULL;
    if (spec->n_value_tiers) {
        tiers = risk__malloc(e, spec->n_value_tiers * sizeof *tiers);
        if (!tiers)
            return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for value tiers");
        memcpy(tiers, spec->value_tiers, spec->n_value_tiers * sizeof *tiers);
    }
    if (e->n_assets == e->cap_assets) {
        uint32_t cap = e->cap_assets ? 2 * e->cap_assets : 8;
        risk__asset *grown = risk__realloc(e, e->assets, cap * sizeof *grown);
        if (!grown) {
            risk__free(e, tiers);
            return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for assets");
        }
        e->assets = grown;
        e->cap_assets = cap;
    }
    risk__asset *a = &e->assets[e->n_assets];
    memset(a, 0, sizeof *a);
    strcpy(a->symbol, spec->symbol);
    a->decimals = spec->decimals;
    a->price = spec->price;
    a->index_pos = a->index_neg = 1.0; /* no rate model: scaled amounts are balances */
    a->weight_init = spec->weight_init;
    a->weight_maint = spec->weight_maint;
    a->liab_weight_init = spec->liab_weight_init;
    a->liab_weight_maint = spec->liab_weight_maint;
    a->tiers = tiers;
    a->n_tiers = (uint32_t)spec->n_value_tiers;
    if (e->valuation == RISK_ID_NONE && spec->price == 1.0)
        e->valuation = e->n_assets; /* default V: the first asset priced 1 */
    if (id_out)
        *id_out = e->n_assets;
    e->n_assets++;
    risk__clear(&e->errmsg);
    return RISK_OK;
}

/* Bytes of an instrument spec of a given version: version 1 ends before `strike`. */
static size_t instrument_spec_size(uint32_t version)
{
    return version == 1 ? offsetof(risk_instrument_spec, strike) : sizeof(risk_instrument_spec);
}

/* The option fields of a spec (version 2): RISK_OK or the status, with the message. */
static int option_spec_check(risk_engine *e, const risk_instrument_spec *spec)
{
    const char *sym = spec->symbol;
    int rc;
    if (spec->reserved)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "instrument %s: reserved must be 0", sym);
    if (spec->kind != RISK_KIND_OPTION) {
        if (spec->strike != 0.0 || spec->option_type != 0 || spec->mark_vol != 0.0 || spec->carry_rate != 0.0)
            return risk__fail(e, &e->errmsg, RISK_EINVAL,
                              "instrument %s: strike, option_type, mark_vol and carry_rate are for options only", sym);
        return RISK_OK;
    }
    if (e->now_unix_s <= 0)
        return risk__fail(e, &e->errmsg, RISK_ESTATE,
                          "instrument %s: an option needs the engine's time (risk_engine_set_time) first", sym);
    if (spec->expiry_unix_s <= e->now_unix_s)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "instrument %s: expiry %lld is not after the engine's time %lld",
                          sym, (long long)spec->expiry_unix_s, (long long)e->now_unix_s);
    if (spec->option_type != RISK_OPTION_CALL && spec->option_type != RISK_OPTION_PUT)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "instrument %s: option_type %d is not 1 (call) or -1 (put)", sym,
                          (int)spec->option_type);
    if ((rc = risk__check_price(e, &e->errmsg, sym, "strike", spec->strike)))
        return rc;
    if (!(spec->mark_vol == 0.0 || (spec->mark_vol > 0.0 && spec->mark_vol <= 10.0)))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "instrument %s: mark_vol %s is not 0 or in (0, 10]", sym,
                          RISK__NUM(spec->mark_vol));
    if ((rc = risk__check_range(e, &e->errmsg, sym, "carry_rate", spec->carry_rate, -1.0, 1.0)) ||
        (rc = risk__check_range(e, &e->errmsg, sym, "underlying_tick", spec->underlying_tick, RISK_SIZE_MIN,
                                RISK_SIZE_MAX)))
        return rc;
    if (spec->mm_price != RISK_MM_PRICE_MARK)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "instrument %s: an option is margined at its mark", sym);
    if (spec->n_tiers || spec->tiers)
        return risk__fail(e, &e->errmsg, RISK_ETIERS,
                          "instrument %s: an option takes no margin tiers (standard option margin)", sym);
    return RISK_OK;
}

/* The one-tier schedule an option carries so that code reading schedules finds one: mmr 0,
 * leverage 1; the option's margin is the standard option rule, not this. */
static const risk_margin_tier option_tier = {INFINITY, 0.0, 1.0, 0.0, 0u};

RISK_API int risk_engine_add_instrument(risk_engine *engine, const risk_instrument_spec *spec_in, uint32_t *id_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    if (!spec_in)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "instrument spec is NULL");
    if (spec_in->version != RISK_INSTRUMENT_SPEC_VERSION && spec_in->version != 1)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "instrument spec version %u is not 1 or %d", spec_in->version,
                          RISK_INSTRUMENT_SPEC_VERSION);
    /* the caller's spec as the current version: fields a version 1 caller cannot set keep their defaults */
    risk_instrument_spec upgraded = RISK_INSTRUMENT_SPEC_INIT;
    memcpy(&upgraded, spec_in, instrument_spec_size(spec_in->version));
    upgraded.version = RISK_INSTRUMENT_SPEC_VERSION;
    const risk_instrument_spec *spec = &upgraded;
    int option = spec->kind == RISK_KIND_OPTION;
    if (option && spec_in->version == 1)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "instrument spec version 1 has no option fields: use version %d",
                          RISK_INSTRUMENT_SPEC_VERSION);
    int rc = symbol_check(e, &e->errmsg, spec->symbol, "instrument");
    if (rc)
        return rc;
    const char *sym = spec->symbol;
    uint32_t dup;
    if (find_instrument(e, sym, &dup))
        return risk__fail(e, &e->errmsg, RISK_EDUPLICATE, "instrument %s is already registered", sym);
    if (spec->kind != RISK_KIND_PERPETUAL && spec->kind != RISK_KIND_FUTURE && !option)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "instrument %s: unknown kind %u", sym, spec->kind);
    if (spec->kind == RISK_KIND_FUTURE && spec->expiry_unix_s <= 0)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "instrument %s: a future needs an expiry > 0", sym);
    if (spec->kind == RISK_KIND_PERPETUAL && spec->expiry_unix_s != 0)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "instrument %s: a perpetual has no expiry", sym);
    if (spec->inverse > 1)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "instrument %s: inverse must be 0 or 1", sym);
    if (spec->mm_price != RISK_MM_PRICE_MARK && spec->mm_price != RISK_MM_PRICE_ENTRY)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "instrument %s: unknown mm_price %u", sym, spec->mm_price);
    if (spec->underlying >= e->n_assets)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "instrument %s: unknown underlying asset %u", sym,
                          spec->underlying);
    if (spec->settle >= e->n_assets)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "instrument %s: unknown settle asset %u", sym, spec->settle);
    if (spec->inverse && spec->settle != spec->underlying)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "instrument %s: an inverse contract settles in its underlying",
                          sym);
    if (!spec->inverse && spec->settle == spec->underlying)
        return risk__fail(e, &e->errmsg, RISK_EINVAL,
                          "instrument %s: a linear contract settled in its own underlying is not supported", sym);
    if ((rc = risk__check_range(e, &e->errmsg, sym, "contract_size", spec->contract_size, RISK_SIZE_MIN, RISK_SIZE_MAX)) ||
        (rc = risk__check_range(e, &e->errmsg, sym, "lot_size", spec->lot_size, RISK_SIZE_MIN, RISK_SIZE_MAX)) ||
        (rc = risk__check_range(e, &e->errmsg, sym, "tick_size", spec->tick_size, RISK_SIZE_MIN, RISK_SIZE_MAX)))
        return rc;
    risk__instrument shape; /* the grid the mark is checked against */
    memset(&shape, 0, sizeof shape);
    memcpy(shape.symbol, sym, strlen(sym) + 1);
    shape.tick_size = spec->tick_size;
    if ((rc = option_spec_check(e, spec)))
        return rc;
    if (!(option && spec->mark_vol > 0.0) && (rc = risk__check_instrument_price(e, &e->errmsg, &shape, "mark", spec->mark, 0)))
        return rc;
    if (!option && spec->n_tiers == 0)
        return risk__fail(e, &e->errmsg, RISK_ETIERS, "instrument %s: the margin schedule has no tiers", sym);
    if (!option && !spec->tiers)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "instrument %s: tiers is NULL", sym);
    if (e->n_instruments == RISK_ID_NONE - 1)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "too many instruments");

    risk__schedule sched;
    rc = option ? risk__schedule_build(e, &e->errmsg, &sched, &option_tier, 1)
                : risk__schedule_build(e, &e->errmsg, &sched, spec->tiers, spec->n_tiers);
    if (rc) {
        /* prefix the instrument to the schedule's message */
        char buf[RISK__ERRMSG_LEN];
        snprintf(buf, sizeof buf, "%s", risk__msg(e->errmsg));
        return risk__fail(e, &e->errmsg, rc, "instrument %s: %s", sym, buf);
    }
    if (e->n_instruments == e->cap_instruments) {
        uint32_t cap = e->cap_instruments ? 2 * e->cap_instruments : 8;
        risk__instrument *grown = risk__realloc(e, e->instruments, cap * sizeof *grown);
        if (!grown) {
            risk__schedule_release(e, &sched);
            return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for instruments");
        }
        e->instruments = grown;
        e->cap_instruments = cap;
    }
    risk__instrument *in = &e->instruments[e->n_instruments];
    memset(in, 0, sizeof *in);
    strcpy(in->symbol, sym);
    in->kind = spec->kind;
    in->inverse = spec->inverse;
    in->mm_price = spec->mm_price;
    in->general = spec->inverse || spec->mm_price == RISK_MM_PRICE_ENTRY;
    in->underlying = spec->underlying;
    in->settle = spec->settle;
    in->expiry_unix_s = spec->expiry_unix_s;
    in->contract_size = spec->contract_size;
    in->lot_size = spec->lot_size;
    in->tick_size = spec->tick_size;
    in->mark = spec->mark;
    in->schedule = sched;
    if (option) {
        in->general = 1;
        in->strike = spec->strike;
        in->opt_w = spec->option_type == RISK_OPTION_CALL ? 1.0 : -1.0;
        in->mark_vol = spec->mark_vol;
        in->carry_rate = spec->carry_rate;
        in->underlying_tick = spec->underlying_tick;
        in->opt_under = risk__option_underlying_price(e, in);
        if (in->mark_vol > 0.0)
            in->mark = risk__option_mark_at(in, in->opt_under, in->mark_vol, e->now_unix_s);
        e->n_options++;
    } else {
        in->underlying_tick = spec->underlying_tick;
    }
    if (id_out)
        *id_out = e->n_instruments;
    e->n_instruments++;
    risk__sweep_scratch_reserve(e); /* may fail: sweeps then go without it (the same bits) */
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_set_valuation_asset(risk_engine *engine, uint32_t asset)
{
    if (!engine)
        return RISK_ENULL;
    if (asset >= engine->n_assets)
        return risk__fail(engine, &engine->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    if (engine->assets[asset].price != 1.0)
        return risk__fail(engine, &engine->errmsg, RISK_EINVAL,
                          "asset %s has price %s: the valuation asset's price must be 1",
                          engine->assets[asset].symbol, RISK__NUM(engine->assets[asset].price));
    engine->valuation = asset;
    risk__clear(&engine->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_set_margin_call_health(risk_engine *engine, double health)
{
    if (!engine)
        return RISK_ENULL;
    if (!isfinite(health) || health < 1.0)
        return risk__fail(engine, &engine->errmsg, RISK_EINVAL, "margin-call health must be finite and >= 1");
    engine->margin_call_health = health;
    risk__clear(&engine->errmsg);
    return RISK_OK;
}

/* ------------------------------------------------------------ market data */

static int price_check(risk_engine *e, uint32_t asset, double price)
{
    if (asset >= e->n_assets)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    if (!risk__price_in_domain(price))
        return risk__check_price(e, &e->errmsg, e->assets[asset].symbol, "price", price);
    if (asset == e->valuation && price != 1.0)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "asset %s is the valuation asset: its price stays 1",
                          e->assets[asset].symbol);
    return RISK_OK;
}

RISK_API int risk_engine_set_asset_price(risk_engine *engine, uint32_t asset, double price)
{
    if (!engine)
        return RISK_ENULL;
    int rc = price_check(engine, asset, price);
    if (rc)
        return rc;
    engine->assets[asset].price = price;
    risk__options_refresh(engine);
    risk__clear(&engine->errmsg);
    return RISK_OK;
}

int risk__engine_check_prices(risk_engine *e, const uint32_t *assets, const double *prices, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = price_check(e, assets[i], prices[i]);
        if (rc)
            return rc;
    }
    return RISK_OK;
}

RISK_API int risk_engine_set_asset_prices(risk_engine *engine, const uint32_t *assets, const double *prices, size_t n)
{
    if (!engine)
        return RISK_ENULL;
    if (n && (!assets || !prices))
        return risk__fail(engine, &engine->errmsg, RISK_ENULL, "assets or prices is NULL");
    int rc = risk__engine_check_prices(engine, assets, prices, n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        engine->assets[assets[i]].price = prices[i];
    risk__options_refresh(engine);
    risk__clear(&engine->errmsg);
    return RISK_OK;
}

static int mark_check(risk_engine *e, uint32_t instrument, double mark)
{
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    if (e->instruments[instrument].settled)
        return risk__fail(e, &e->errmsg, RISK_ESTATE, "%s is settled", e->instruments[instrument].symbol);
    return risk__check_instrument_price(e, &e->errmsg, &e->instruments[instrument], "mark", mark, 0);
}

/* A mark given as a price: an option's mark volatility no longer prices it. */
static void mark_set(risk_engine *e, uint32_t instrument, double mark)
{
    risk__instrument *in = &e->instruments[instrument];
    in->mark = mark;
    in->mark_vol = 0.0;
}

RISK_API int risk_engine_set_mark(risk_engine *engine, uint32_t instrument, double mark)
{
    if (!engine)
        return RISK_ENULL;
    int rc = mark_check(engine, instrument, mark);
    if (rc)
        return rc;
    mark_set(engine, instrument, mark);
    risk__clear(&engine->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_set_marks(risk_engine *engine, const uint32_t *instruments, const double *marks, size_t n)
{
    if (!engine)
        return RISK_ENULL;
    if (n && (!instruments || !marks))
        return risk__fail(engine, &engine->errmsg, RISK_ENULL, "instruments or marks is NULL");
    for (size_t i = 0; i < n; i++) {
        int rc = mark_check(engine, instruments[i], marks[i]);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < n; i++)
        mark_set(engine, instruments[i], marks[i]);
    risk__clear(&engine->errmsg);
    return RISK_OK;
}

/* ------------------------------------------------------------ account registry */

static size_t idmap_hash(uint64_t key, size_t mask)
{
    key ^= key >> 33; /* murmur3 finaliser */
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    key *= 0xc4ceb9fe1a85ec53ULL;
    key ^= key >> 33;
    return (size_t)key & mask;
}

/* The slot of key, or the empty slot that ends its probe run (where it would go). cap > 0. */
static size_t idmap_slot(const risk__idmap *m, uint64_t key)
{
    size_t mask = m->cap - 1, i = idmap_hash(key, mask);
    while (m->vals[i] && m->keys[i] != key)
        i = (i + 1) & mask;
    return i;
}

static risk_account *idmap_get(const risk__idmap *m, uint64_t key)
{
    return m->cap ? m->vals[idmap_slot(m, key)] : NULL;
}

/* Stores key in its empty slot i (from idmap_slot; room reserved). */
static void idmap_put_at(risk__idmap *m, size_t i, uint64_t key, risk_account *val)
{
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
}

static void idmap_put_unchecked(risk__idmap *m, uint64_t key, risk_account *val)
{
    idmap_put_at(m, idmap_slot(m, key), key, val);
}

/* Keeps the load at most one half, so that one more insert always finds room. */
static int idmap_reserve(const risk_engine *e, risk__idmap *m)
{
    if (2 * (m->n + 1) <= m->cap)
        return RISK_OK;
    size_t cap = m->cap ? 2 * m->cap : 64;
    risk__idmap grown = {NULL, NULL, cap, 0};
    grown.keys = risk__malloc(e, cap * sizeof *grown.keys);
    grown.vals = risk__malloc(e, cap * sizeof *grown.vals);
    if (!grown.keys || !grown.vals) {
        risk__free(e, grown.keys);
        risk__free(e, grown.vals);
        return RISK_ENOMEM;
    }
    memset(grown.vals, 0, cap * sizeof *grown.vals);
    for (size_t i = 0; i < m->cap; i++)
        if (m->vals[i])
            idmap_put_unchecked(&grown, m->keys[i], m->vals[i]);
    risk__free(e, m->keys);
    risk__free(e, m->vals);
    *m = grown;
    return RISK_OK;
}

static void idmap_remove(risk__idmap *m, uint64_t key)
{
    size_t mask = m->cap - 1, i = idmap_slot(m, key);
    if (!m->vals[i])
        return;
    /* backward-shift deletion keeps probe chains intact without tombstones */
    size_t j = i;
    for (;;) {
        m->vals[i] = NULL;
        for (;;) {
            j = (j + 1) & mask;
            if (!m->vals[j]) {
                m->n--;
                return;
            }
            size_t home = idmap_hash(m->keys[j], mask);
            if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
                continue;
            break;
        }
        m->keys[i] = m->keys[j];
        m->vals[i] = m->vals[j];
        i = j;
    }
}

int risk__engine_index_account(risk_engine *e, uint64_t account_id, risk_account *a)
{
    /* the check and the insert in one probe (room was reserved) */
    size_t i = idmap_slot(&e->ids, account_id);
    if (e->ids.vals[i])
        return RISK_EDUPLICATE;
    idmap_put_at(&e->ids, i, account_id, a);
    return RISK_OK;
}

void risk__engine_append_account(risk_engine *e, risk_account *a)
{
    a->engine_slot = e->n_account_slots;
    e->accounts[e->n_account_slots++] = a;
    e->n_accounts++;
    risk__image_touch_slot(e, a->engine_slot);
    if (e->tick)
        risk__tick_account_added(e->tick, a);
}

int risk__engine_attach_account(risk_engine *e, risk_account *a)
{
    if (idmap_get(&e->ids, a->id))
        return RISK_EDUPLICATE;
    if (idmap_reserve(e, &e->ids))
        return RISK_ENOMEM;
    if (e->n_account_slots == e->cap_account_slots) {
        size_t cap = e->cap_account_slots ? 2 * e->cap_account_slots : 64;
        risk_account **grown = risk__realloc(e, e->accounts, cap * sizeof *grown);
        if (!grown)
            return RISK_ENOMEM;
        e->accounts = grown;
        e->cap_account_slots = cap;
        risk__image_reserve(e);
    }
    idmap_put_unchecked(&e->ids, a->id, a);
    risk__engine_append_account(e, a);
    return RISK_OK;
}

int risk__engine_reserve_accounts(risk_engine *e, size_t n)
{
    size_t want = e->ids.n + n;
    if (want > SIZE_MAX / 4)
        return RISK_ENOMEM;
    if (2 * want > e->ids.cap) {
        size_t cap = e->ids.cap ? e->ids.cap : 64;
        while (cap < 2 * want)
            cap *= 2;
        risk__idmap grown = {NULL, NULL, cap, 0};
        grown.keys = risk__malloc(e, cap * sizeof *grown.keys);
        grown.vals = risk__calloc(e, cap, sizeof *grown.vals);
        if (!grown.keys || !grown.vals) {
            risk__free(e, grown.keys);
            risk__free(e, grown.vals);
            return RISK_ENOMEM;
        }
        risk__memory_hint(grown.keys, cap * sizeof *grown.keys);
        risk__memory_hint(grown.vals, cap * sizeof *grown.vals);
        for (size_t i = 0; i < e->ids.cap; i++)
            if (e->ids.vals[i])
                idmap_put_unchecked(&grown, e->ids.keys[i], e->ids.vals[i]);
        risk__free(e, e->ids.keys);
        risk__free(e, e->ids.vals);
        e->ids = grown;
    }
    if (e->n_account_slots + n > e->cap_account_slots) {
        size_t cap = e->n_account_slots + n;
        risk_account **grown = risk__realloc(e, e->accounts, cap * sizeof *grown);
        if (!grown)
            return RISK_ENOMEM;
        risk__memory_hint(grown, cap * sizeof *grown); /* 8 MB for 10^6 accounts: huge pages, faulted up front */
        e->accounts = grown;
        e->cap_account_slots = cap;
        risk__image_reserve(e);
    }
    return RISK_OK;
}

risk_account *risk__engine_account_lookup(const risk_engine *e, uint64_t account_id)
{
    return idmap_get(&e->ids, account_id);
}

void risk__engine_pop_account(risk_engine *e)
{
    risk_account *a = e->accounts[--e->n_account_slots];
    risk__image_touch_slot(e, e->n_account_slots);
    if (e->tick)
        risk__tick_account_removed(e->tick, a);
    idmap_remove(&e->ids, a->id);
    e->n_accounts--;
}

void risk__engine_prefetch_id(const risk_engine *e, uint64_t account_id)
{
#if defined(__GNUC__) || defined(__clang__)
    if (e->ids.cap) {
        size_t i = idmap_hash(account_id, e->ids.cap - 1);
        __builtin_prefetch(&e->ids.vals[i], 1);
        __builtin_prefetch(&e->ids.keys[i], 1);
    }
#else
    (void)e;
    (void)account_id;
#endif
}

void risk__engine_detach_account(risk_engine *e, risk_account *a)
{
    if (e->tick)
        risk__tick_account_removed(e->tick, a);
    idmap_remove(&e->ids, a->id);
    e->accounts[a->engine_slot] = NULL;
    risk__image_touch_slot(e, a->engine_slot);
    e->n_accounts--;
    if (e->n_account_slots > 2 * e->n_accounts + 64) { /* compact: amortised O(1) per free */
        size_t w = 0;
        for (size_t r = 0; r < e->n_account_slots; r++)
            if (e->accounts[r]) {
                e->accounts[r]->engine_slot = w;
                e->accounts[w++] = e->accounts[r];
            }
        e->n_account_slots = w;
        risk__image_touch_all(e); /* every account may have moved to another tile */
    }
}

/* ------------------------------------------------------------ introspection */

RISK_API int risk_engine_find_asset(const risk_engine *engine, const char *symbol, uint32_t *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message buffer is not part of the engine's state */
    if (!symbol || !out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "symbol or out is NULL");
    if (!find_asset(e, symbol, out))
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "no asset %.40s", symbol);
    return RISK_OK;
}

RISK_API int risk_engine_find_instrument(const risk_engine *engine, const char *symbol, uint32_t *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine;
    if (!symbol || !out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "symbol or out is NULL");
    if (!find_instrument(e, symbol, out))
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "no instrument %.40s", symbol);
    return RISK_OK;
}

RISK_API int risk_engine_find_account(const risk_engine *engine, uint64_t account_id, risk_account **out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine;
    if (!out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "out is NULL");
    risk_account *a = idmap_get(&e->ids, account_id);
    if (!a)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "no account %llu", (unsigned long long)account_id);
    *out = a;
    return RISK_OK;
}

RISK_API int risk_engine_asset_price(const risk_engine *engine, uint32_t asset, double *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine;
    if (!out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "out is NULL");
    if (asset >= e->n_assets)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    *out = e->assets[asset].price;
    return RISK_OK;
}

RISK_API int risk_engine_mark(const risk_engine *engine, uint32_t instrument, double *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine;
    if (!out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "out is NULL");
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    *out = e->instruments[instrument].mark;
    return RISK_OK;
}

RISK_API int risk_engine_valuation_asset(const risk_engine *engine, uint32_t *out)
{
    if (!engine || !out)
        return RISK_ENULL;
    *out = engine->valuation;
    return RISK_OK;
}

RISK_API int risk_engine_account_count(const risk_engine *engine, size_t *out)
{
    if (!engine || !out)
        return RISK_ENULL;
    *out = engine->n_accounts;
    return RISK_OK;
}

RISK_API int risk_engine_asset_count(const risk_engine *engine, size_t *out)
{
    if (!engine || !out)
        return RISK_ENULL;
    *out = engine->n_assets;
    return RISK_OK;
}

RISK_API int risk_engine_instrument_count(const risk_engine *engine, size_t *out)
{
    if (!engine || !out)
        return RISK_ENULL;
    *out = engine->n_instruments;
    return RISK_OK;
}

RISK_API int risk_engine_asset_spec(const risk_engine *engine, uint32_t asset, risk_asset_spec *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message buffer is not engine state */
    if (!out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "out is NULL");
    if (out->version != RISK_ASSET_SPEC_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "asset spec version %u is not %d", out->version,
                          RISK_ASSET_SPEC_VERSION);
    if (asset >= e->n_assets)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    const risk__asset *a = &e->assets[asset];
    out->decimals = a->decimals;
    out->symbol = a->symbol;
    out->price = a->price;
    out->weight_init = a->weight_init;
    out->weight_maint = a->weight_maint;
    out->liab_weight_init = a->liab_weight_init;
    out->liab_weight_maint = a->liab_weight_maint;
    out->value_tiers = a->tiers;
    out->n_value_tiers = a->n_tiers;
    return RISK_OK;
}

RISK_API int risk_engine_instrument_spec(const risk_engine *engine, uint32_t instrument, risk_instrument_spec *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine;
    if (!out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "out is NULL");
    if (out->version != RISK_INSTRUMENT_SPEC_VERSION && out->version != 1)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "instrument spec version %u is not 1 or %d", out->version,
                          RISK_INSTRUMENT_SPEC_VERSION);
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    const risk__instrument *in = &e->instruments[instrument];
    risk_instrument_spec full = RISK_INSTRUMENT_SPEC_INIT;
    if (in->kind == RISK_KIND_OPTION) {
        full.strike = in->strike;
        full.option_type = in->opt_w > 0.0 ? RISK_OPTION_CALL : RISK_OPTION_PUT;
        full.mark_vol = in->mark_vol;
        full.carry_rate = in->carry_rate;
    }
    full.underlying_tick = in->underlying_tick;
    uint32_t version = out->version;
    size_t size = instrument_spec_size(version);
    memcpy(out, &full, size); /* a version 1 caller's struct is not written past its size */
    out->version = version;
    out->kind = in->kind;
    out->symbol = in->symbol;
    out->underlying = in->underlying;
    out->settle = in->settle;
    out->inverse = in->inverse;
    out->mm_price = in->mm_price;
    out->expiry_unix_s = in->expiry_unix_s;
    out->contract_size = in->contract_size;
    out->lot_size = in->lot_size;
    out->tick_size = in->tick_size;
    out->mark = in->mark;
    out->tiers = in->kind == RISK_KIND_OPTION ? NULL : risk__instrument_base_tiers(in);
    out->n_tiers = in->kind == RISK_KIND_OPTION ? 0 : in->schedule.n_tiers;
    return RISK_OK;
}

static size_t errmsg_bytes(const char *m)
{
    return m ? RISK__ERRMSG_LEN : 0;
}

RISK_API int risk_engine_memory_bytes(const risk_engine *engine, size_t *out)
{
    if (!engine || !out)
        return RISK_ENULL;
    const risk_engine *e = engine;
    size_t bytes = sizeof *e + errmsg_bytes(e->errmsg) + e->standalone_basket_bytes + e->chunk_bytes;
    bytes += e->cap_assets * sizeof *e->assets;
    for (uint32_t i = 0; i < e->n_assets; i++)
        bytes += e->assets[i].n_tiers * sizeof(risk_value_tier);
    bytes += e->cap_instruments * sizeof *e->instruments;
    for (uint32_t i = 0; i < e->n_instruments; i++)
        bytes += e->instruments[i].schedule.n_tiers * (sizeof(risk_margin_tier) + sizeof(double)) +
                 (e->instruments[i].schedule.caps ? RISK__SWEEP_CAPS * sizeof(double) : 0);
    bytes += risk__scaling_bytes(e) + risk__rates_bytes(e) + e->account_block_n * sizeof *e->account_block +
             e->levs_block_n * sizeof *e->levs_block + e->bulk_block_bytes + risk__snap_storage_bytes(e) +
             risk__sweep_scratch_bytes(e) + risk__image_bytes(e);
    bytes += e->cap_account_slots * sizeof *e->accounts + risk__liquidation_bytes(e);
    bytes += e->ids.cap * (sizeof *e->ids.keys + sizeof *e->ids.vals);
    for (size_t s = 0; s < e->n_account_slots; s++) {
        const risk_account *a = e->accounts[s];
        if (!a)
            continue;
        bytes += (a->in_block & RISK__IN_BLOCK_STRUCT ? 0 : sizeof *a) + errmsg_bytes(a->errmsg) +
                 errmsg_bytes(a->basket.errmsg);
        bytes += risk__basket_heap_bytes(&a->basket);
        if (risk__account_has_handle_slots(a))
            for (uint32_t i = 0; i < a->n_pos; i++) /* positions themselves are in the arena's chunks */
                bytes += a->handles[i] ? sizeof(risk_position) : 0;
        bytes += a->in_block & RISK__IN_BLOCK_LEVS ? 0 : (size_t)a->cap_levs * sizeof *a->levs;
    }
    *out = bytes;
    return RISK_OK;
}

RISK_API const char *risk_engine_errmsg(const risk_engine *engine)
{
    return engine ? risk__msg(engine->errmsg) : "";
}
