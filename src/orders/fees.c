/* SPDX-License-Identifier: Apache-2.0 */
/* An instrument's trading terms: maker and taker fee rates, fee-inclusive liquidation prices,
 * and the largest position notional. The fee of a fill and the size-limit check live here so
 * that the account's fills (core/account.c), what-if and max order size (orders/) agree. */
#include "core/internal.h"

double risk__fill_fee(const risk_engine *e, const risk__instrument *in, double rate, double qty, double price)
{
    if (rate == 0.0)
        return 0.0;
    double size = fabs(qty) * in->contract_size;
    /* an option's fee is on its premium, which is per unit in the settle asset also when
     * coin-settled (and may be 0: a worthless option); a future's on its notional */
    double fee = rate * (in->inverse && in->kind != RISK_KIND_OPTION ? size / price : size * price);
    if (!(e->flags & RISK_ENGINE_NO_QUANTIZE)) /* a charge: rounded up, against the account */
        fee = risk__quantize(fee, risk__asset_scale(&e->assets[in->settle]), 1);
    return fee;
}

int risk__notional_limit_check(const risk_engine *e, char **err, const risk__instrument *in, double qty0,
                               double qty1, double entry1)
{
    if (in->max_notional == 0.0)
        return RISK_OK;
    int grows = (qty1 > 0.0) != (qty0 > 0.0) || qty0 == 0.0 || fabs(qty1) > fabs(qty0);
    if (!grows || qty1 == 0.0)
        return RISK_OK;
    double size = fabs(qty1) * in->contract_size;
    double p = in->mm_price == RISK_MM_PRICE_ENTRY ? entry1 : in->mark;
    double notional = in->inverse ? size / p : size * p;
    if (!(notional > in->max_notional))
        return RISK_OK;
    return risk__fail(e, err, RISK_ELIMIT, "%s: a position of %s contracts has notional %s, above the maximum %s",
                      in->symbol, RISK__NUM(qty1), RISK__NUM(notional), RISK__NUM(in->max_notional));
}

static int rate_ok(double r)
{
    return isfinite(r) && r >= 0.0 && r <= RISK_FEE_RATE_MAX;
}

RISK_API int risk_engine_set_instrument_fees(risk_engine *engine, uint32_t instrument, const risk_instrument_fees *fees)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    const risk_instrument_fees defaults = RISK_INSTRUMENT_FEES_INIT;
    if (!fees)
        fees = &defaults;
    if (fees->version != RISK_INSTRUMENT_FEES_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "instrument fees version %u is not %d", fees->version,
                          RISK_INSTRUMENT_FEES_VERSION);
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    risk__instrument *in = &e->instruments[instrument];
    if (!rate_ok(fees->maker_fee))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: maker_fee %s must be in [0, %g] (rebates are not supported)",
                          in->symbol, RISK__NUM(fees->maker_fee), RISK_FEE_RATE_MAX);
    if (!rate_ok(fees->taker_fee))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: taker_fee %s must be in [0, %g]", in->symbol,
                          RISK__NUM(fees->taker_fee), RISK_FEE_RATE_MAX);
    if (fees->liquidation_price_with_fee > 1)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: liquidation_price_with_fee must be 0 or 1", in->symbol);
    if (isnan(fees->max_notional) || fees->max_notional < 0.0 ||
        (isfinite(fees->max_notional) && fees->max_notional > RISK_NOTIONAL_MAX))
        return risk__fail(e, &e->errmsg, RISK_EINVAL,
                          "%s: max_notional %s must be in (0, 1e30], or 0 or INFINITY for no limit", in->symbol,
                          RISK__NUM(fees->max_notional));
    in->maker_fee = fees->maker_fee;
    in->taker_fee = fees->taker_fee;
    in->liq_with_fee = fees->liquidation_price_with_fee;
    in->max_notional = isinf(fees->max_notional) ? 0.0 : fees->max_notional;
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_instrument_fees(const risk_engine *engine, uint32_t instrument, risk_instrument_fees *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message buffer is not engine state */
    if (!out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "out is NULL");
    if (out->version != RISK_INSTRUMENT_FEES_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "instrument fees version %u is not %d", out->version,
                          RISK_INSTRUMENT_FEES_VERSION);
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    const risk__instrument *in = &e->instruments[instrument];
    out->liquidation_price_with_fee = in->liq_with_fee;
    out->maker_fee = in->maker_fee;
    out->taker_fee = in->taker_fee;
    out->max_notional = in->max_notional;
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_fill_fee(const risk_engine *engine, uint32_t instrument, uint32_t liquidity,
                                  double qty_contracts, double price_quote, double *fee_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine;
    if (!fee_out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "fee_out is NULL");
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    const risk__instrument *in = &e->instruments[instrument];
    if (liquidity != RISK_FEE_TAKER && liquidity != RISK_FEE_MAKER)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: unknown liquidity %u", in->symbol, liquidity);
    int option = in->kind == RISK_KIND_OPTION; /* a premium may be 0 */
    if (!isfinite(qty_contracts) || !isfinite(price_quote) || price_quote < 0.0 || (price_quote == 0.0 && !option))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: qty must be finite, price finite and > 0 (>= 0 for an option)",
                          in->symbol);
    int rc = price_quote > 0.0 ? risk__check_price(e, &e->errmsg, in->symbol, "price", price_quote) : RISK_OK;
    if (rc)
        return rc;
    if (!risk__lots_in_domain(qty_contracts, in->lot_size))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: qty %s is more than 2^53 lots of %s", in->symbol,
                          RISK__NUM(qty_contracts), RISK__NUM(in->lot_size));
    *fee_out = risk__fill_fee(e, in, liquidity == RISK_FEE_MAKER ? in->maker_fee : in->taker_fee, qty_contracts,
                              price_quote);
    risk__clear(&e->errmsg);
    return RISK_OK;
}
