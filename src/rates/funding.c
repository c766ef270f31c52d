/* SPDX-License-Identifier: Apache-2.0 */
/* Funding of perpetuals (include/risk/rates.h, docs/rates.md section 8): Binance's funding rate
 * from the premium index and the interest rate, Drift's from its mark and oracle TWAPs, and the
 * settlement of a funding rate (computed
 * here or fed by the caller) to every position of an instrument at a funding time.
 *
 * Payment of a position of q contracts (signed, long > 0), contract size cs, at price P:
 *   linear:  q x cs x P x rate      in the settle (quote) asset
 *   inverse: q x cs / P x rate      in the settle (base) asset
 * paid by the position when > 0 (longs pay a positive rate), received when < 0. A cross
 * position's payment moves its account's settle balance; an isolated one's its isolated
 * margin, and what the margin cannot pay comes from the settle balance. Unless the engine leaves
 * results unquantized, what is paid is rounded up and what is received down, to the settle
 * asset's quantum (against the account): the remainder is the venue's. */
#include "core/internal.h"

RISK_API int risk_funding_rate_binance(double *out, double premium_index, double interest_rate, double clamp,
                                       double cap)
{
    if (!out)
        return RISK_ENULL;
    if (!isfinite(premium_index) || !isfinite(interest_rate) || !(clamp >= 0.0 && isfinite(clamp)) ||
        !(cap >= 0.0 && isfinite(cap)))
        return RISK_EINVAL;
    double d = interest_rate - premium_index;
    d = d > clamp ? clamp : (d < -clamp ? -clamp : d);
    double f = premium_index + d;
    if (cap > 0.0)
        f = f > cap ? cap : (f < -cap ? -cap : f);
    *out = f;
    return RISK_OK;
}

RISK_API int risk_funding_rate_drift(double *out, double mark_twap, double oracle_twap, double period_s,
                                     double max_divergence_divisor, double offset_denominator,
                                     double dead_zone_denominator)
{
    if (!out)
        return RISK_ENULL;
    if (!(isfinite(mark_twap) && mark_twap > 0.0 && isfinite(oracle_twap) && oracle_twap > 0.0) ||
        !(isfinite(period_s) && period_s > 0.0) || !(isfinite(max_divergence_divisor) && max_divergence_divisor > 0.0) ||
        !(isfinite(offset_denominator) && offset_denominator >= 0.0) ||
        !(isfinite(dead_zone_denominator) && dead_zone_denominator >= 0.0))
        return RISK_EINVAL;
    /* controller/funding.rs update_funding_rate: spread = mark TWAP - oracle TWAP, plus the
     * offset |oracle| / offset_denominator; within the dead zone |spread| <= |oracle| /
     * dead_zone_denominator only the offset; clamped to |oracle| / max divergence divisor (the
     * contract tier's: 33 for A and B, 20 for C, 10 otherwise); per period, the day's rate
     * divided by the periods in a day (24 h / max(1 h, period), a whole number). */
    double spread = mark_twap - oracle_twap;
    double offset = offset_denominator > 0.0 ? oracle_twap / offset_denominator : 0.0;
    int dead = dead_zone_denominator > 0.0 && fabs(spread) <= oracle_twap / dead_zone_denominator;
    double s = dead ? offset : spread + offset;
    double cap = oracle_twap / max_divergence_divisor;
    s = s > cap ? cap : (s < -cap ? -cap : s);
    double periods = floor(86400.0 / (period_s > 3600.0 ? period_s : 3600.0));
    *out = s / periods / oracle_twap;
    return RISK_OK;
}

/* The payment of slot i (paid > 0), before quantization. */
static double payment(const risk__instrument *in, double qty, double rate, double price)
{
    double size = qty * in->contract_size;
    return rate * (in->inverse ? size / price : size * price);
}

static double against_account(const risk_engine *e, const risk__instrument *in, double pay)
{
    if (e->flags & RISK_ENGINE_NO_QUANTIZE)
        return pay;
    /* up, whatever the sign: a charge grows, a credit shrinks */
    return risk__quantize(pay, risk__asset_scale(&e->assets[in->settle]), 1);
}

RISK_API int risk_engine_settle_funding(risk_engine *engine, uint32_t instrument, double rate, double price,
                                        risk_funding_result *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    const risk__instrument *in = &e->instruments[instrument];
    if (in->kind != RISK_KIND_PERPETUAL)
        return risk__fail(e, &e->errmsg, RISK_ESTATE, "%s is not a perpetual: no funding", in->symbol);
    if (!(isfinite(rate) && fabs(rate) <= 1.0))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "funding rate must be finite and within [-1, 1]");
    if (!(isfinite(price) && price >= 0.0))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "price must be finite and >= 0 (0: the mark)");
    if (out && out->version != RISK_FUNDING_RESULT_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "funding result version %u is not %d", out->version,
                          RISK_FUNDING_RESULT_VERSION);
    double p = price > 0.0 ? price : in->mark;
    /* room for the settle balance wherever a payment may reach it: nothing is paid before all fit */
    for (size_t s = 0; s < e->n_account_slots; s++) {
        risk_account *a = e->accounts[s];
        if (!a)
            continue;
        for (uint32_t i = 0; i < a->n_pos; i++)
            if (a->inst[i] == instrument && a->qty[i] != 0.0 && risk__basket_reserve(&a->basket, in->settle))
                return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for a settle balance");
    }
    risk_funding_result r = {RISK_FUNDING_RESULT_VERSION, instrument, 0, 0.0, 0.0, 0.0};
    r.rate = rate;
    for (size_t s = 0; s < e->n_account_slots; s++) {
        risk_account *a = e->accounts[s];
        if (!a)
            continue;
        for (uint32_t i = 0; i < a->n_pos; i++) {
            if (a->inst[i] != instrument || a->qty[i] == 0.0)
                continue;
            double pay = against_account(e, in, payment(in, a->qty[i], rate, p));
            if (pay == 0.0)
                continue;
            r.n_positions++;
            if (pay > 0.0)
                r.paid += pay;
            else
                r.received -= pay;
            double from_basket = pay;
            if (a->pflags[i] & RISK__PF_ISOLATED) {
                double take = pay < a->iso_margin[i] ? pay : a->iso_margin[i]; /* a credit goes to the margin */
                a->iso_margin[i] -= take;
                from_basket = pay - take;
            }
            if (from_basket != 0.0)
                risk__basket_add_unchecked(&a->basket, in->settle, -from_basket);
        }
    }
    if (out)
        *out = r;
    risk__clear(&e->errmsg);
    return RISK_OK;
}
