/* SPDX-License-Identifier: Apache-2.0 */
/* instrument.c: options as instruments. The engine's clock, marks priced from a mark implied
 * volatility, the one revaluation function (risk__option_mark_at), per-position Greeks, and the
 * settlement of expired options. Formulas and conventions: docs/options.md, sections 6 to 8.
 *
 * An option's `mark` is its premium per underlying unit in the settle asset (coins for a
 * coin-settled option, quote for a linear one); its U (`opt_under`) is the underlying's price in
 * quote, refreshed whenever an asset price, the time or a mark volatility changes, so that
 * evaluation reads both like a future's mark and never prices an option itself. */
#include "core/internal.h"
#include "options/options.h"

#include <string.h>

double risk__option_underlying_price(const risk_engine *e, const risk__instrument *in)
{
    double u = e->assets[in->underlying].price;
    return in->inverse ? u : u / e->assets[in->settle].price;
}

static double years_to(const risk__instrument *in, int64_t now_unix_s)
{
    return (double)(in->expiry_unix_s - now_unix_s) / RISK__YEAR_S;
}

static double intrinsic(const risk__instrument *in, double U)
{
    double x = in->opt_w * (U - in->strike);
    x = x > 0.0 ? x : 0.0;
    return in->inverse ? x / U : x;
}

/* One option of the instrument at (U, vol, T > 0): the batch form of the pricing library. */
static void black_one(const risk__instrument *in, double U, double vol, double T, double *price,
                      double *delta, double *gamma, double *vega, double *theta)
{
    int32_t type = in->opt_w > 0.0 ? RISK_OPTION_CALL : RISK_OPTION_PUT;
    double F = U * exp(in->carry_rate * T), K = in->strike;
    risk_option_batch b = RISK_OPTION_BATCH_INIT;
    b.premium = in->inverse ? RISK_OPTION_PREMIUM_COIN : RISK_OPTION_PREMIUM_SPOT;
    b.type = &type;
    b.forward = &F;
    b.strike = &K;
    b.years = &T;
    b.vol = &vol;
    risk_option_greeks g = RISK_OPTION_GREEKS_INIT;
    g.price = price;
    g.delta = delta;
    g.gamma = gamma;
    g.vega = vega;
    g.theta = theta;
    if (risk_option_black(&g, &b, 1) != RISK_OK) { /* outside the pricing domain (F overflowed) */
        double *outs[5] = {price, delta, gamma, vega, theta};
        for (int k = 0; k < 5; k++)
            if (outs[k])
                *outs[k] = NAN;
    }
}

double risk__option_mark_at(const risk__instrument *in, double underlying_price, double vol, int64_t now_unix_s)
{
    double T = years_to(in, now_unix_s);
    if (!(underlying_price > 0.0) || isinf(underlying_price))
        return NAN;
    if (T <= 0.0 || vol == 0.0)
        return intrinsic(in, underlying_price);
    if (!(vol > 0.0) || isinf(vol))
        return NAN;
    double p;
    black_one(in, underlying_price, vol, T, &p, NULL, NULL, NULL, NULL);
    return p;
}

double risk__option_vol(const risk__instrument *in, int64_t now_unix_s)
{
    if (in->mark_vol > 0.0)
        return in->mark_vol;
    double T = years_to(in, now_unix_s);
    if (T <= 0.0 || in->settled)
        return NAN;
    int32_t type = in->opt_w > 0.0 ? RISK_OPTION_CALL : RISK_OPTION_PUT;
    double U = in->opt_under, F = U * exp(in->carry_rate * T), K = in->strike, price = in->mark, vol;
    risk_option_batch b = RISK_OPTION_BATCH_INIT;
    b.premium = in->inverse ? RISK_OPTION_PREMIUM_COIN : RISK_OPTION_PREMIUM_SPOT;
    b.type = &type;
    b.forward = &F;
    b.strike = &K;
    b.years = &T;
    if (risk_option_implied_vol(&vol, NULL, &b, &price, 1) != RISK_OK)
        return NAN;
    return vol;
}

void risk__option_greeks(const risk__instrument *in, double underlying_price, double vol, int64_t now_unix_s,
                         double *delta, double *gamma, double *vega, double *theta)
{
    double T = years_to(in, now_unix_s);
    if (T <= 0.0 || in->settled) { /* at or past the expiry: the intrinsic value's slope */
        int itm = in->opt_w * (underlying_price - in->strike) > 0.0;
        /* linear: w; coin: U dc/dU of c = w (U - K) / U, i.e. w K / U */
        *delta = !itm ? 0.0 : in->inverse ? in->opt_w * in->strike / underlying_price : in->opt_w;
        *gamma = *vega = *theta = 0.0;
        return;
    }
    if (!(vol > 0.0) || isinf(vol)) {
        *delta = *gamma = *vega = *theta = NAN;
        return;
    }
    double p, d, g, v, th;
    black_one(in, underlying_price, vol, T, &p, &d, &g, &v, &th);
    double dF = exp(in->carry_rate * T); /* dF/dU */
    *delta = d * dF;
    *gamma = g * dF * dF;
    *vega = v;
    *theta = th;
}

void risk__options_refresh(risk_engine *e)
{
    if (!e->n_options)
        return;
    for (uint32_t i = 0; i < e->n_instruments; i++) {
        risk__instrument *in = &e->instruments[i];
        if (in->kind != RISK_KIND_OPTION)
            continue;
        in->opt_under = risk__option_underlying_price(e, in);
        if (in->mark_vol > 0.0 && !in->settled)
            in->mark = risk__option_mark_at(in, in->opt_under, in->mark_vol, e->now_unix_s);
    }
}

/* ------------------------------------------------------------ public calls */

RISK_API int risk_engine_set_time(risk_engine *engine, int64_t now_unix_s)
{
    if (!engine)
        return RISK_ENULL;
    if (now_unix_s < 1 || now_unix_s > (INT64_C(1) << 53))
        return risk__fail(engine, &engine->errmsg, RISK_EINVAL, "time %lld not in [1, 2^53]", (long long)now_unix_s);
    engine->now_unix_s = now_unix_s;
    risk__options_refresh(engine);
    risk__clear(&engine->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_time(const risk_engine *engine, int64_t *out)
{
    if (!engine)
        return RISK_ENULL;
    if (!out)
        return risk__fail(engine, &((risk_engine *)engine)->errmsg, RISK_ENULL, "out is NULL");
    *out = engine->now_unix_s;
    return RISK_OK;
}

static int option_get(risk_engine *e, uint32_t instrument, risk__instrument **out)
{
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    risk__instrument *in = &e->instruments[instrument];
    if (in->kind != RISK_KIND_OPTION)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "instrument %s is not an option", in->symbol);
    *out = in;
    return RISK_OK;
}

RISK_API int risk_engine_set_mark_vol(risk_engine *engine, uint32_t instrument, double vol_annual)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    risk__instrument *in = NULL;
    int rc = option_get(e, instrument, &in);
    if (rc)
        return rc;
    if (!(vol_annual > 0.0 && vol_annual <= 10.0))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: mark vol %s not in (0, 10]", in->symbol,
                          RISK__NUM(vol_annual));
    if (in->settled)
        return risk__fail(e, &e->errmsg, RISK_ESTATE, "%s is settled", in->symbol);
    in->mark_vol = vol_annual;
    in->opt_under = risk__option_underlying_price(e, in);
    in->mark = risk__option_mark_at(in, in->opt_under, vol_annual, e->now_unix_s);
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_mark_vol(const risk_engine *engine, uint32_t instrument, double *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message buffer is not engine state */
    if (!out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "out is NULL");
    risk__instrument *in = NULL;
    int rc = option_get(e, instrument, &in);
    if (rc)
        return rc;
    *out = risk__option_vol(in, e->now_unix_s);
    return RISK_OK;
}

/* What a position of q contracts receives at settlement (pays when negative), rounded down to the
 * settle quantum: a ledger posting, against the account. */
static double settlement_cash(const risk_engine *e, const risk__instrument *in, double q, double value)
{
    return risk__quantize(q * in->contract_size * value, risk__asset_scale(&e->assets[in->settle]), 0);
}

RISK_API int risk_engine_settle_expired(risk_engine *engine, uint32_t instrument, double settlement_price_quote,
                                        size_t *count_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    risk__instrument *in = NULL;
    int rc = option_get(e, instrument, &in);
    if (rc)
        return rc;
    if ((rc = risk__check_price(e, &e->errmsg, in->symbol, "settlement price", settlement_price_quote)))
        return rc;
    if (in->settled)
        return risk__fail(e, &e->errmsg, RISK_ESTATE, "%s is already settled", in->symbol);
    if (e->now_unix_s < in->expiry_unix_s)
        return risk__fail(e, &e->errmsg, RISK_ESTATE, "%s expires at %lld, after the engine's time %lld", in->symbol,
                          (long long)in->expiry_unix_s, (long long)e->now_unix_s);
    double value = intrinsic(in, settlement_price_quote);
    const risk__asset *settle = &e->assets[in->settle];
    /* validate and reserve everything first: a failed call changes nothing */
    size_t count = 0;
    for (size_t s = 0; s < e->n_account_slots; s++) {
        risk_account *a = e->accounts[s];
        if (!a)
            continue;
        double wallet = risk__basket_amount(&a->basket, in->settle), gained = 0.0;
        int holds = 0;
        for (uint32_t i = 0; i < a->n_pos; i++) {
            if (a->inst[i] != instrument)
                continue;
            holds = 1;
            count++;
            gained += settlement_cash(e, in, a->qty[i], value) + a->iso_margin[i];
        }
        if (!holds)
            continue;
        if ((rc = risk__check_amount(e, &e->errmsg, settle, "a settle balance after settlement would be",
                                     wallet + gained)))
            return rc;
        if (risk__basket_reserve(&a->basket, in->settle))
            return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for a settle balance");
    }
    for (size_t s = 0; s < e->n_account_slots; s++) {
        risk_account *a = e->accounts[s];
        if (!a)
            continue;
        int any = 0;
        for (uint32_t i = 0; i < a->n_pos; i++) {
            if (a->inst[i] != instrument)
                continue;
            double cash = settlement_cash(e, in, a->qty[i], value) + a->iso_margin[i];
            risk__basket_add_unchecked(&a->basket, in->settle, cash);
            a->qty[i] = 0.0;
            a->iso_margin[i] = 0.0;
            a->pflags[i] |= RISK__PF_CLOSED;
            any = 1;
        }
        if (any)
            risk__account_compact(a);
    }
    in->settled = 1;
    in->mark_vol = 0.0;
    in->mark = value;
    in->opt_under = risk__option_underlying_price(e, in);
    if (count_out)
        *count_out = count;
    risk__clear(&e->errmsg);
    return RISK_OK;
}
