/* SPDX-License-Identifier: Apache-2.0 */
/* Collateral baskets: signed balances by asset, valued with the engine's prices, value tiers
 * and weights. Positive balance: value = p x sum over tiers of (qty in tier x ratio), quantity
 * above the last bound at ratio 0 (Bybit's tiered collateral value ratio); weighted by
 * weight_init/maint. Negative balance: liability = |b| x p, weighted by liab_weight_init/maint.
 * Amounts are stored scaled by the asset's interest index of their sign (risk__balance_of), so
 * that accrual moves indices, not balances; the API reads and writes balances. */
#include "core/internal.h"

#include <string.h>

void risk__basket_init(risk_basket *b, risk_engine *e, risk_account *owner)
{
    memset(b, 0, sizeof *b);
    b->engine = e;
    b->owner = owner;
    b->asset = b->inline_asset; /* the common one or two balances need no allocation */
    b->amount = b->inline_amount;
    b->cap = RISK__BASKET_INLINE;
}

/* Bytes of a heap block holding cap balances: amounts, then asset ids. */
static size_t block_bytes(uint32_t cap)
{
    return (size_t)cap * (sizeof(double) + sizeof(uint32_t));
}

size_t risk__basket_heap_bytes(const risk_basket *b)
{
    return b->amount == b->inline_amount ? 0 : block_bytes(b->cap);
}

void risk__basket_release(risk_basket *b)
{
    if (b->amount != b->inline_amount)
        risk__free(b->engine, b->amount); /* asset ids share the block */
    if (b->owner) /* a standalone basket's message lives in its own allocation */
        risk__free(b->engine, b->errmsg);
    b->asset = b->inline_asset;
    b->amount = b->inline_amount;
    b->errmsg = NULL;
    b->n = 0;
    b->cap = RISK__BASKET_INLINE;
}

static int basket_index(const risk_basket *b, uint32_t asset)
{
    for (uint32_t i = 0; i < b->n; i++)
        if (b->asset[i] == asset)
            return (int)i;
    return -1;
}

int risk__basket_holds(const risk_basket *b, uint32_t asset)
{
    return basket_index(b, asset) >= 0;
}

double risk__basket_amount(const risk_basket *b, uint32_t asset)
{
    int i = basket_index(b, asset);
    return i >= 0 ? risk__balance_of(&b->engine->assets[asset], b->amount[i]) : 0.0;
}

int risk__basket_reserve(risk_basket *b, uint32_t asset)
{
    return basket_index(b, asset) >= 0 ? RISK_OK : risk__basket_reserve_n(b, 1);
}

int risk__basket_reserve_n(risk_basket *b, uint32_t extra)
{
    if (b->n + extra <= b->cap)
        return RISK_OK;
    uint32_t cap = b->cap ? 2 * b->cap : 2;
    if (cap < b->n + extra)
        cap = b->n + extra;
    /* one block: amounts (8-aligned) first, then asset ids */
    void *block = risk__malloc(b->engine, block_bytes(cap));
    if (!block)
        return RISK_ENOMEM;
    double *amount = block;
    uint32_t *ids = (uint32_t *)(amount + cap);
    if (b->n) {
        memcpy(amount, b->amount, b->n * sizeof *amount);
        memcpy(ids, b->asset, b->n * sizeof *ids);
    }
    size_t old_bytes = risk__basket_heap_bytes(b);
    if (b->amount != b->inline_amount)
        risk__free(b->engine, b->amount);
    if (!b->owner)
        b->engine->standalone_basket_bytes += block_bytes(cap) - old_bytes;
    b->amount = amount;
    b->asset = ids;
    b->cap = cap;
    return RISK_OK;
}

void risk__basket_add_unchecked(risk_basket *b, uint32_t asset, double delta)
{
    risk__account_changed(b->owner);
    int i = basket_index(b, asset);
    if (i < 0) {
        if (delta == 0.0)
            return;
        i = (int)b->n++;
        b->asset[i] = asset;
        b->amount[i] = 0.0;
    }
    const risk__asset *as = &b->engine->assets[asset];
    b->amount[i] = risk__scaled_of(as, risk__balance_of(as, b->amount[i]) + delta);
    if (b->amount[i] == 0.0) { /* keep order: balances are summed in insertion order */
        memmove(&b->amount[i], &b->amount[i + 1], (b->n - (uint32_t)i - 1) * sizeof *b->amount);
        memmove(&b->asset[i], &b->asset[i + 1], (b->n - (uint32_t)i - 1) * sizeof *b->asset);
        b->n--;
    }
}

void risk__basket_set_unchecked(risk_basket *b, uint32_t asset, double amount)
{
    risk__account_changed(b->owner);
    int i = basket_index(b, asset);
    if (i >= 0 && amount != 0.0)
        b->amount[i] = risk__scaled_of(&b->engine->assets[asset], amount);
    else if (i >= 0)
        risk__basket_add_unchecked(b, asset, -risk__basket_amount(b, asset)); /* removes it */
    else
        risk__basket_add_unchecked(b, asset, amount);
}

double risk__tiered_qty(const risk__asset *a, double qty)
{
    if (!a->tiers)
        return qty;
    double counted = 0.0, lower = 0.0;
    for (uint32_t t = 0; t < a->n_tiers && qty > lower; t++) {
        double upper = a->tiers[t].up_to_qty;
        double in_tier = (qty < upper ? qty : upper) - lower;
        counted += in_tier * a->tiers[t].ratio;
        lower = upper;
    }
    return counted; /* quantity above the last bound counts at 0 */
}

void risk__basket_values_compute(const risk_basket *b, risk__basket_values *out)
{
    const risk__asset *assets = b->engine->assets;
    risk__basket_values v = {0, 0, 0, 0, 0, 0, 0, b->n};
    for (uint32_t i = 0; i < b->n; i++) {
        const risk__asset *as = &assets[b->asset[i]];
        risk__basket_entry_add(as, risk__balance_of(as, b->amount[i]), 1.0, &v);
    }
    *out = v;
}

/* ------------------------------------------------------------ public API */

RISK_API int risk_basket_new(risk_basket **out, risk_engine *engine)
{
    if (!out)
        return RISK_ENULL;
    *out = NULL;
    if (!engine)
        return RISK_ENULL;
    risk_basket *b = risk__malloc(engine, sizeof *b + RISK__ERRMSG_LEN);
    if (!b)
        return risk__fail(engine, &engine->errmsg, RISK_ENOMEM, "out of memory for a basket");
    risk__basket_init(b, engine, NULL);
    b->errmsg = (char *)(b + 1);
    b->errmsg[0] = '\0';
    engine->standalone_basket_bytes += sizeof *b + RISK__ERRMSG_LEN;
    risk__engine_retain(engine);
    *out = b;
    return RISK_OK;
}

RISK_API void risk_basket_free(risk_basket *basket)
{
    if (!basket || basket->owner)
        return;
    risk_engine *e = basket->engine;
    e->standalone_basket_bytes -= sizeof *basket + RISK__ERRMSG_LEN + risk__basket_heap_bytes(basket);
    risk__basket_release(basket);
    risk__free(e, basket);
    risk__engine_release(e);
}

static int balance_check(risk_basket *b, uint32_t asset, double amount, const char *what)
{
    if (asset >= b->engine->n_assets)
        return risk__fail(b->engine, &b->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    if (!isfinite(amount))
        return risk__fail(b->engine, &b->errmsg, RISK_EINVAL, "%s for %s must be finite", what,
                          b->engine->assets[asset].symbol);
    return risk__check_amount(b->engine, &b->errmsg, &b->engine->assets[asset], what, amount);
}

RISK_API int risk_basket_set_balance(risk_basket *basket, uint32_t asset, double amount)
{
    if (!basket)
        return RISK_ENULL;
    int rc = balance_check(basket, asset, amount, "balance");
    if (rc)
        return rc;
    if (risk__basket_reserve(basket, asset))
        return risk__fail(basket->engine, &basket->errmsg, RISK_ENOMEM, "out of memory for a balance");
    risk__basket_set_unchecked(basket, asset, amount);
    risk__clear(&basket->errmsg);
    return RISK_OK;
}

RISK_API int risk_basket_add_balance(risk_basket *basket, uint32_t asset, double delta)
{
    if (!basket)
        return RISK_ENULL;
    int rc = balance_check(basket, asset, delta, "delta");
    if (rc)
        return rc;
    double sum = risk__basket_amount(basket, asset) + delta;
    if ((rc = risk__check_amount(basket->engine, &basket->errmsg, &basket->engine->assets[asset],
                                 "the balance after the delta would be", sum)))
        return rc;
    if (risk__basket_reserve(basket, asset))
        return risk__fail(basket->engine, &basket->errmsg, RISK_ENOMEM, "out of memory for a balance");
    risk__basket_add_unchecked(basket, asset, delta);
    risk__clear(&basket->errmsg);
    return RISK_OK;
}

RISK_API int risk_basket_balance(const risk_basket *basket, uint32_t asset, double *out)
{
    if (!basket)
        return RISK_ENULL;
    risk_basket *b = (risk_basket *)basket; /* the message buffer is not basket state */
    if (!out)
        return risk__fail(b->engine, &b->errmsg, RISK_ENULL, "out is NULL");
    if (asset >= b->engine->n_assets)
        return risk__fail(b->engine, &b->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    *out = risk__basket_amount(b, asset);
    return RISK_OK;
}

RISK_API int risk_basket_evaluate(const risk_basket *basket, risk_basket_summary *out)
{
    if (!basket)
        return RISK_ENULL;
    risk_basket *b = (risk_basket *)basket;
    if (!out)
        return risk__fail(b->engine, &b->errmsg, RISK_ENULL, "out is NULL");
    if (out->version != RISK_BASKET_SUMMARY_VERSION)
        return risk__fail(b->engine, &b->errmsg, RISK_EVERSION, "basket summary version %u is not %d", out->version,
                          RISK_BASKET_SUMMARY_VERSION);
    risk__basket_values v;
    risk__basket_values_compute(b, &v);
    const risk_engine *e = b->engine;
    if (!(e->flags & RISK_ENGINE_NO_QUANTIZE) && e->valuation != RISK_ID_NONE) {
        double scale = risk__asset_scale(&e->assets[e->valuation]);
        v.collateral_value = risk__quantize(v.collateral_value, scale, 0);
        v.collateral_init = risk__quantize(v.collateral_init, scale, 0);
        v.collateral_maint = risk__quantize(v.collateral_maint, scale, 0);
        v.net_value = risk__quantize(v.net_value, scale, 0);
        v.liabilities = risk__quantize(v.liabilities, scale, 1);
        v.liabilities_init = risk__quantize(v.liabilities_init, scale, 1);
        v.liabilities_maint = risk__quantize(v.liabilities_maint, scale, 1);
    }
    out->n_assets = v.n_assets;
    out->collateral_value = v.collateral_value;
    out->collateral_init = v.collateral_init;
    out->collateral_maint = v.collateral_maint;
    out->liabilities = v.liabilities;
    out->liabilities_init = v.liabilities_init;
    out->liabilities_maint = v.liabilities_maint;
    out->net_value = v.net_value;
    out->ltv = v.liabilities > 0.0 ? (v.collateral_value > 0.0 ? v.liabilities / v.collateral_value : INFINITY) : 0.0;
    out->health_factor = v.liabilities_maint > 0.0 ? v.collateral_maint / v.liabilities_maint : INFINITY;
    risk__clear(&b->errmsg);
    return RISK_OK;
}

RISK_API const char *risk_basket_errmsg(const risk_basket *basket)
{
    return basket ? risk__msg(basket->errmsg) : "";
}
