/* SPDX-License-Identifier: Apache-2.0 */
/* The input domain (docs/errors.md, "Input domain"): the checks every public entry point runs
 * on its numbers before it changes anything. Each failure names the field, the value and the
 * bound. The bounds are the RISK_*_MIN/MAX constants of include/risk/common.h. */
#include "core/internal.h"

int risk__price_in_domain(double price)
{
    return price >= RISK_PRICE_MIN && price <= RISK_PRICE_MAX; /* false for NaN */
}

double risk__amount_max(const risk__asset *a)
{
    static const double POW10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
    uint32_t d = a->decimals < RISK_AMOUNT_DECIMALS_CAP ? a->decimals : RISK_AMOUNT_DECIMALS_CAP;
    return RISK_AMOUNT_QUANTA_MAX / POW10[d];
}

int risk__amount_in_domain(const risk__asset *a, double amount)
{
    return fabs(amount) <= risk__amount_max(a); /* false for NaN */
}

int risk__check_price(const risk_engine *e, char **err, const char *who, const char *what, double price)
{
    if (risk__price_in_domain(price))
        return RISK_OK;
    return risk__fail(e, err, RISK_EINVAL, "%s: %s %s outside [%s, %s]", who, what, RISK__NUM(price),
                      RISK__NUM(RISK_PRICE_MIN), RISK__NUM(RISK_PRICE_MAX));
}

int risk__check_amount(const risk_engine *e, char **err, const risk__asset *a, const char *what, double amount)
{
    if (risk__amount_in_domain(a, amount))
        return RISK_OK;
    return risk__fail(e, err, RISK_EINVAL, "%s %s of %s outside +-%s (2^53 quanta)", what, RISK__NUM(amount),
                      a->symbol, RISK__NUM(risk__amount_max(a)));
}

int risk__check_range(const risk_engine *e, char **err, const char *who, const char *what, double v, double lo,
                      double hi)
{
    if (v >= lo && v <= hi)
        return RISK_OK;
    return risk__fail(e, err, RISK_EINVAL, "%s: %s %s outside [%s, %s]", who, what, RISK__NUM(v), RISK__NUM(lo),
                      RISK__NUM(hi));
}

int risk__check_qty(const risk_engine *e, char **err, const risk__instrument *in, const char *what, double qty)
{
    if (!isfinite(qty) || qty == 0.0)
        return risk__fail(e, err, RISK_EINVAL, "%s: %s %s must be finite and non-zero", in->symbol, what,
                          RISK__NUM(qty));
    if (!risk__lots_in_domain(qty, in->lot_size))
        return risk__fail(e, err, RISK_EINVAL, "%s: %s %s is more than 2^53 lots of %s", in->symbol, what,
                          RISK__NUM(qty), RISK__NUM(in->lot_size));
    if (!risk__is_whole_multiple(qty, in->lot_size))
        return risk__fail(e, err, RISK_ELOT, "%s: %s %s is not a whole number of lots (lot %s)", in->symbol, what,
                          RISK__NUM(qty), RISK__NUM(in->lot_size));
    if (nearbyint(fabs(qty) / in->lot_size) < 1.0) /* 1e-300 at lot 1 is "0 lots", within the noise */
        return risk__fail(e, err, RISK_ELOT, "%s: %s %s is less than one lot (lot %s)", in->symbol, what,
                          RISK__NUM(qty), RISK__NUM(in->lot_size));
    return RISK_OK;
}

int risk__check_instrument_price(const risk_engine *e, char **err, const risk__instrument *in, const char *what,
                                 double price, int on_tick)
{
    int rc = risk__check_price(e, err, in->symbol, what, price);
    if (rc)
        return rc;
    if (on_tick && !risk__is_whole_multiple(price, in->tick_size))
        return risk__fail(e, err, RISK_ETICK, "%s: %s %s is off the tick %s", in->symbol, what, RISK__NUM(price),
                          RISK__NUM(in->tick_size));
    double ticks = price / in->tick_size;
    if (nearbyint(ticks) < 1.0)
        return risk__fail(e, err, on_tick ? RISK_ETICK : RISK_EINVAL, "%s: %s %s is below one tick %s", in->symbol,
                          what, RISK__NUM(price), RISK__NUM(in->tick_size));
    if (ticks > RISK__TICKS_MAX)
        return risk__fail(e, err, RISK_EINVAL, "%s: %s %s is more than 2^52 ticks of %s", in->symbol, what,
                          RISK__NUM(price), RISK__NUM(in->tick_size));
    return RISK_OK;
}
