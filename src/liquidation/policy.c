/* SPDX-License-Identifier: Apache-2.0 */
/* Liquidation policy (engine-wide, overridable per instrument) and the engine's insurance funds. */
#include "liquidation/liquidation.h"

#include <stddef.h>
#include <string.h>

static const risk_liquidation_policy default_policy = RISK_LIQUIDATION_POLICY_INIT;

/* The engine's message slot: the message is not engine state, so reads may set it. */
static char **msg_slot(const risk_engine *e)
{
    return &((risk_engine *)e)->errmsg;
}

const risk_liquidation_policy *risk__engine_policy(const risk_engine *e)
{
    return e->liq ? &e->liq->policy : &default_policy;
}

const risk_liquidation_policy *risk__instrument_policy(const risk_engine *e, uint32_t instrument)
{
    const struct risk__liquidation *l = e->liq;
    if (l && instrument < l->n_overrides && l->has_override[instrument])
        return &l->overrides[instrument];
    return risk__engine_policy(e);
}

static int state_ensure(risk_engine *e)
{
    if (e->liq)
        return RISK_OK;
    struct risk__liquidation *l = risk__malloc(e, sizeof *l);
    if (!l)
        return RISK_ENOMEM;
    memset(l, 0, sizeof *l);
    l->policy = default_policy;
    e->liq = l;
    return RISK_OK;
}

void risk__liquidation_free(risk_engine *e)
{
    struct risk__liquidation *l = e->liq;
    if (!l)
        return;
    risk__free(e, l->overrides);
    risk__free(e, l->has_override);
    risk__free(e, l->funds);
    risk__free(e, l);
    e->liq = NULL;
}

size_t risk__liquidation_bytes(const risk_engine *e)
{
    const struct risk__liquidation *l = e->liq;
    if (!l)
        return 0;
    return sizeof *l + l->n_overrides * (sizeof *l->overrides + 1) + l->n_funds * sizeof *l->funds;
}

static int check_unit(const risk_engine *e, double v, double lo, double hi, int hi_open, const char *name)
{
    if (!isfinite(v) || v < lo || v > hi || (hi_open && v == hi))
        return risk__fail(e, msg_slot(e), RISK_EINVAL, "liquidation policy: %s %s not in [%g, %g%s", name, RISK__NUM(v),
                          lo, hi, hi_open ? ")" : "]");
    return RISK_OK;
}

/* Bytes of a policy of a given version: version 1 ends before `deficit`. */
static size_t policy_size(uint32_t version)
{
    return version == 1 ? offsetof(risk_liquidation_policy, deficit) : sizeof(risk_liquidation_policy);
}

/* The caller's policy as the current version: fields a version 1 caller cannot set keep their defaults. */
static void policy_upgrade(const risk_liquidation_policy *in, risk_liquidation_policy *out)
{
    *out = default_policy;
    memcpy(out, in, policy_size(in->version));
    out->version = RISK_LIQUIDATION_POLICY_VERSION;
}

static int policy_check(const risk_engine *e, const risk_liquidation_policy *p)
{
    if (p->version != RISK_LIQUIDATION_POLICY_VERSION && p->version != 1)
        return risk__fail(e, msg_slot(e), RISK_EVERSION, "liquidation policy version %u is not 1 or %d", p->version,
                          RISK_LIQUIDATION_POLICY_VERSION);
    if (p->exit_target > RISK_EXIT_INITIAL)
        return risk__fail(e, msg_slot(e), RISK_EINVAL, "liquidation policy: unknown exit target %u",
                          p->exit_target);
    if (p->price_model > RISK_PRICE_PENALTY)
        return risk__fail(e, msg_slot(e), RISK_EINVAL, "liquidation policy: unknown price model %u",
                          p->price_model);
    if (p->reserved)
        return risk__fail(e, msg_slot(e), RISK_EINVAL, "liquidation policy: reserved must be 0");
    int rc;
    if ((rc = check_unit(e, p->buffer, 0.0, 1.0, 1, "buffer (the exit target may not be below the trigger)")) ||
        (rc = check_unit(e, p->fee, 0.0, 1.0, 1, "fee")) ||
        (rc = check_unit(e, p->insurance_fee, 0.0, 1.0, 1, "insurance_fee")) ||
        (rc = check_unit(e, p->penalty, 0.0, 1.0, 0, "penalty")) ||
        (rc = check_unit(e, p->full_close_health, 0.0, 1.0, 0, "full_close_health")) ||
        (rc = check_unit(e, p->bonus, 0.0, 1.0, 1, "bonus")) ||
        (rc = check_unit(e, p->protocol_share, 0.0, 1.0, 0, "protocol_share")))
        return rc;
    if (!isfinite(p->close_factor) || p->close_factor <= 0.0 || p->close_factor > 1.0)
        return risk__fail(e, msg_slot(e), RISK_EINVAL, "liquidation policy: close_factor %s not in (0, 1]",
                          RISK__NUM(p->close_factor));
    if (!(p->min_notional >= 0.0 && p->min_notional <= RISK_NOTIONAL_MAX))
        return risk__fail(e, msg_slot(e), RISK_EINVAL, "liquidation policy: min_notional %s not in [0, %s]",
                          RISK__NUM(p->min_notional), RISK__NUM(RISK_NOTIONAL_MAX));
    if (p->version >= 2 && p->deficit > RISK_DEFICIT_SOCIALIZE)
        return risk__fail(e, msg_slot(e), RISK_EINVAL, "liquidation policy: unknown deficit handling %u", p->deficit);
    if (p->version >= 2 && p->has_backstop > 1)
        return risk__fail(e, msg_slot(e), RISK_EINVAL, "liquidation policy: has_backstop must be 0 or 1");
    return RISK_OK;
}

RISK_API int risk_engine_set_liquidation_policy(risk_engine *engine, const risk_liquidation_policy *policy)
{
    if (!engine)
        return RISK_ENULL;
    if (!policy)
        return risk__fail(engine, &engine->errmsg, RISK_ENULL, "policy is NULL");
    int rc = policy_check(engine, policy);
    if (rc)
        return rc;
    if (state_ensure(engine))
        return risk__fail(engine, &engine->errmsg, RISK_ENOMEM, "out of memory for the liquidation policy");
    policy_upgrade(policy, &engine->liq->policy);
    risk__clear(&engine->errmsg);
    return RISK_OK;
}

static int policy_out_check(const risk_engine *e, const risk_liquidation_policy *out)
{
    if (!out)
        return risk__fail(e, msg_slot(e), RISK_ENULL, "out is NULL");
    if (out->version != RISK_LIQUIDATION_POLICY_VERSION && out->version != 1)
        return risk__fail(e, msg_slot(e), RISK_EVERSION, "liquidation policy version %u is not 1 or %d",
                          out->version, RISK_LIQUIDATION_POLICY_VERSION);
    return RISK_OK;
}

/* Writes the fields of out's version only. */
static void policy_out(const risk_liquidation_policy *p, risk_liquidation_policy *out)
{
    uint32_t version = out->version;
    memcpy(out, p, policy_size(version));
    out->version = version;
}

RISK_API int risk_engine_liquidation_policy(const risk_engine *engine, risk_liquidation_policy *out)
{
    if (!engine)
        return RISK_ENULL;
    int rc = policy_out_check(engine, out);
    if (rc)
        return rc;
    policy_out(risk__engine_policy(engine), out);
    return RISK_OK;
}

static int instrument_check(const risk_engine *e, uint32_t instrument)
{
    if (instrument >= e->n_instruments)
        return risk__fail(e, msg_slot(e), RISK_ENOTFOUND, "unknown instrument %u", instrument);
    return RISK_OK;
}

RISK_API int risk_engine_set_instrument_liquidation_policy(risk_engine *engine, uint32_t instrument,
                                                           const risk_liquidation_policy *policy)
{
    if (!engine)
        return RISK_ENULL;
    int rc = instrument_check(engine, instrument);
    if (rc || (policy && (rc = policy_check(engine, policy))))
        return rc;
    struct risk__liquidation *l = engine->liq;
    if (!policy) {
        if (l && instrument < l->n_overrides)
            l->has_override[instrument] = 0;
        risk__clear(&engine->errmsg);
        return RISK_OK;
    }
    if (state_ensure(engine))
        return risk__fail(engine, &engine->errmsg, RISK_ENOMEM, "out of memory for the liquidation policy");
    l = engine->liq;
    if (instrument >= l->n_overrides) {
        uint32_t n = engine->n_instruments;
        risk_liquidation_policy *ov = risk__malloc(engine, n * sizeof *ov);
        unsigned char *has = risk__malloc(engine, n);
        if (!ov || !has) {
            risk__free(engine, ov);
            risk__free(engine, has);
            return risk__fail(engine, &engine->errmsg, RISK_ENOMEM, "out of memory for the liquidation policy");
        }
        memset(has, 0, n);
        if (l->n_overrides) {
            memcpy(ov, l->overrides, l->n_overrides * sizeof *ov);
            memcpy(has, l->has_override, l->n_overrides);
        }
        risk__free(engine, l->overrides);
        risk__free(engine, l->has_override);
        l->overrides = ov;
        l->has_override = has;
        l->n_overrides = n;
    }
    policy_upgrade(policy, &l->overrides[instrument]);
    l->has_override[instrument] = 1;
    risk__clear(&engine->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_instrument_liquidation_policy(const risk_engine *engine, uint32_t instrument,
                                                       risk_liquidation_policy *out)
{
    if (!engine)
        return RISK_ENULL;
    int rc = policy_out_check(engine, out);
    if (rc || (rc = instrument_check(engine, instrument)))
        return rc;
    policy_out(risk__instrument_policy(engine, instrument), out);
    return RISK_OK;
}

/* ------------------------------------------------------------ insurance funds */

const risk__fund *risk__fund_of(const risk_engine *e, uint32_t asset)
{
    const struct risk__liquidation *l = e->liq;
    return l && asset < l->n_funds ? &l->funds[asset] : NULL;
}

int risk__funds_reserve(risk_engine *e)
{
    if (state_ensure(e))
        return RISK_ENOMEM;
    struct risk__liquidation *l = e->liq;
    if (l->n_funds >= e->n_assets)
        return RISK_OK;
    risk__fund *f = risk__realloc(e, l->funds, e->n_assets * sizeof *f);
    if (!f)
        return RISK_ENOMEM;
    memset(f + l->n_funds, 0, (e->n_assets - l->n_funds) * sizeof *f);
    l->funds = f;
    l->n_funds = e->n_assets;
    return RISK_OK;
}

risk__fund *risk__fund_at(risk_engine *e, uint32_t asset)
{
    return &e->liq->funds[asset];
}

static int asset_check(const risk_engine *e, uint32_t asset)
{
    if (asset >= e->n_assets)
        return risk__fail(e, msg_slot(e), RISK_ENOTFOUND, "unknown asset %u", asset);
    return RISK_OK;
}

RISK_API int risk_engine_insurance_fund_deposit(risk_engine *engine, uint32_t asset, double amount)
{
    if (!engine)
        return RISK_ENULL;
    int rc = asset_check(engine, asset);
    if (rc)
        return rc;
    if (!isfinite(amount) || amount < 0.0)
        return risk__fail(engine, &engine->errmsg, RISK_EINVAL, "insurance fund deposit %s must be finite and >= 0",
                          RISK__NUM(amount));
    const risk__fund *now = risk__fund_of(engine, asset);
    if ((rc = risk__check_amount(engine, &engine->errmsg, &engine->assets[asset], "the insurance fund after the deposit would be",
                                 (now ? now->balance : 0.0) + amount)))
        return rc;
    if (risk__funds_reserve(engine))
        return risk__fail(engine, &engine->errmsg, RISK_ENOMEM, "out of memory for the insurance fund");
    risk__fund *f = risk__fund_at(engine, asset);
    f->balance += amount;
    f->deposits += amount;
    risk__clear(&engine->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_insurance_fund(const risk_engine *engine, uint32_t asset, risk_insurance_fund *out)
{
    if (!engine)
        return RISK_ENULL;
    if (!out)
        return risk__fail(engine, msg_slot(engine), RISK_ENULL, "out is NULL");
    if (out->version != RISK_INSURANCE_FUND_VERSION)
        return risk__fail(engine, msg_slot(engine), RISK_EVERSION, "insurance fund version %u is not %d",
                          out->version, RISK_INSURANCE_FUND_VERSION);
    int rc = asset_check(engine, asset);
    if (rc)
        return rc;
    const risk__fund *f = risk__fund_of(engine, asset);
    out->asset = asset;
    out->balance = f ? f->balance : 0.0;
    out->deposits = f ? f->deposits : 0.0;
    out->contributions = f ? f->contributions : 0.0;
    out->draws = f ? f->draws : 0.0;
    return RISK_OK;
}
