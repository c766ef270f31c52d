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
#include "margin/schedule.h"

#include <stdio.h>

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

void risk__funding_split(const risk_account *a, uint32_t slot, double pay, double *margin, double *wallet)
{
    double take = 0.0;
    if (a->pflags[slot] & RISK__PF_ISOLATED) /* a credit goes to the margin whole */
        take = pay < a->iso_margin[slot] ? pay : a->iso_margin[slot];
    *margin = -take;
    *wallet = take - pay;
}

/* Posts a payment of slot i (> 0: paid) to the ledger, split as risk__funding_split says. */
static void post(risk_account *a, uint32_t slot, uint32_t settle, double pay)
{
    double margin, wallet;
    risk__account_changed(a);
    risk__funding_split(a, slot, pay, &margin, &wallet);
    if (a->pflags[slot] & RISK__PF_ISOLATED)
        a->iso_margin[slot] += margin;
    if (wallet != 0.0)
        risk__basket_add_unchecked(&a->basket, settle, wallet);
}

/* The payment of each slot of an account (> 0: paid; 0: the slot pays nothing). */
typedef double (*pay_fn)(const risk_account *a, uint32_t slot, const void *ctx);

/* RISK_OK when posting pay(a, i) for every slot of a, in slot order, keeps each isolated margin
 * and settle balance it reaches in the amount domain (docs/errors.md section 4); else the
 * failure, in *err, naming the account. A balance is checked once, after all its slots' payments,
 * summed in the order post() adds them. Quadratic in the account's positions: settlement is not
 * on a hot path, and an account holds few settle assets. */
static int postings_check(const risk_engine *e, char **err, const risk_account *a, pay_fn pay, const void *ctx)
{
    char what[128];
    for (uint32_t i = 0; i < a->n_pos; i++) {
        double p = pay(a, i, ctx), margin, wallet;
        if (p == 0.0)
            continue;
        const risk__instrument *in = &e->instruments[a->inst[i]];
        const risk__asset *settle = &e->assets[in->settle];
        risk__funding_split(a, i, p, &margin, &wallet);
        int rc;
        if (a->pflags[i] & RISK__PF_ISOLATED) {
            snprintf(what, sizeof what, "account %llu: the %s isolated margin after funding would be",
                     (unsigned long long)a->id, in->symbol);
            if ((rc = risk__check_amount(e, err, settle, what, a->iso_margin[i] + margin)))
                return rc;
        }
        uint32_t j = 0; /* an earlier slot paying into the same balance checked it already */
        while (j < i && !(e->instruments[a->inst[j]].settle == in->settle && pay(a, j, ctx) != 0.0))
            j++;
        if (j < i)
            continue;
        double balance = risk__basket_amount(&a->basket, in->settle) + wallet;
        for (j = i + 1; j < a->n_pos; j++) {
            double q;
            if (e->instruments[a->inst[j]].settle != in->settle || (q = pay(a, j, ctx)) == 0.0)
                continue;
            risk__funding_split(a, j, q, &margin, &wallet);
            balance += wallet;
        }
        snprintf(what, sizeof what, "account %llu: the settle balance after funding would be",
                 (unsigned long long)a->id);
        if ((rc = risk__check_amount(e, err, settle, what, balance)))
            return rc;
    }
    return RISK_OK;
}

/* risk_engine_settle_funding's payments: one rate at one price to every position of one
 * instrument. */
typedef struct engine_pay {
    const risk_engine *e;
    const risk__instrument *in;
    uint32_t instrument;
    double rate, price;
} engine_pay;

static double engine_payment(const risk_account *a, uint32_t slot, const void *ctx)
{
    const engine_pay *c = ctx;
    if (a->inst[slot] != c->instrument || a->qty[slot] == 0.0)
        return 0.0;
    return against_account(c->e, c->in, payment(c->in, a->qty[slot], c->rate, c->price));
}

/* risk_account_settle_funding's payments: every position's pending funding. */
static double pending_payment(const risk_account *a, uint32_t slot, const void *ctx)
{
    (void)ctx;
    if (a->engine->instruments[a->inst[slot]].kind != RISK_KIND_PERPETUAL)
        return 0.0;
    return -risk__funding_pending(a, slot);
}

RISK_API int risk_engine_settle_funding(risk_engine *engine, uint32_t instrument, double rate, double price,
                                        risk_funding_result *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    int rc;
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
    if (price != 0.0 && (rc = risk__check_price(e, &e->errmsg, in->symbol, "funding price", price)))
        return rc;
    double p = price > 0.0 ? price : in->mark;
    /* one pass before anything is paid: every balance a payment reaches stays in the domain, and
     * has room wherever a payment may reach it (reserved room is not visible state) */
    const engine_pay ctx = {e, in, instrument, rate, p};
    for (size_t s = 0; s < e->n_account_slots; s++) {
        risk_account *a = e->accounts[s];
        if (!a)
            continue;
        if ((rc = postings_check(e, &e->errmsg, a, engine_payment, &ctx)))
            return rc;
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
            post(a, i, in->settle, pay);
        }
    }
    if (out)
        *out = r;
    risk__clear(&e->errmsg);
    return RISK_OK;
}

/* ------------------------------------------------------------ cumulative funding (Drift) */
/* docs/rates.md 8.4. Each perpetual keeps Drift's two cumulative funding indices (per contract,
 * in the settle asset), one per side; each position the index of its side when it last settled.
 * Accrual moves the indices only (O(1)); a position's pending funding -q x (I - last) counts in
 * every evaluation of its account and becomes balance when the account settles or the position
 * fills. */

void risk__funding_bind(risk_account *a)
{
    if (!a->fund_last && a->range.chunk)
        a->fund_last = a->range.chunk->fund_last + a->range.base;
}

double risk__funding_pending(const risk_account *a, uint32_t slot)
{
    const risk_engine *e = a->engine;
    const risk__instrument *in = &e->instruments[a->inst[slot]];
    double q = a->qty[slot];
    double d = risk__funding_index(in, q) - (a->fund_last ? a->fund_last[slot] : 0.0);
    if (d == 0.0 || q == 0.0)
        return 0.0;
    /* what the position pays, rounded against the account like risk_engine_settle_funding */
    double pay = against_account(e, in, q * d);
    return pay == 0.0 ? 0.0 : -pay;
}

void risk__funding_settle_slot(risk_account *a, uint32_t slot)
{
    risk__account_changed(a);
    risk__funding_bind(a);
    if (!a->fund_last)
        return; /* no range: no position */
    const risk__instrument *in = &a->engine->instruments[a->inst[slot]];
    double got = risk__funding_pending(a, slot);
    a->fund_last[slot] = risk__funding_index(in, a->qty[slot]);
    if (got == 0.0)
        return;
    post(a, slot, in->settle, -got); /* as risk_engine_settle_funding: the margin first */
}

void risk__funding_values_add(const risk_account *a, risk__account_values *v)
{
    const risk_engine *e = a->engine;
    for (uint32_t i = 0; i < a->n_pos; i++) {
        double got = risk__funding_pending(a, i);
        if (got == 0.0)
            continue;
        const risk__instrument *in = &e->instruments[a->inst[i]];
        double ps = e->assets[in->settle].price, got_v = got * ps;
        if (a->pflags[i] & RISK__PF_ISOLATED) {
            /* counted in the position's margin, which pays it first */
            risk__position_values pv;
            risk__position_values_compute(in, a->qty[i], a->entry[i], a->im_rate[i], &pv);
            double m = a->iso_margin[i];
            v->n_isolated_liquidatable -= m + pv.upnl < pv.mm;
            v->n_isolated_liquidatable += (m + got) + pv.upnl < pv.mm;
            v->isolated_margin += got_v;
        } else {
            v->upnl += got_v;
            v->cross_upnl += got_v;
        }
    }
}

RISK_API int risk_engine_accrue_funding(risk_engine *engine, uint32_t instrument, double rate_long,
                                        double rate_short, double price, int64_t time_unix_s)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    risk__instrument *in = &e->instruments[instrument];
    if (in->kind != RISK_KIND_PERPETUAL)
        return risk__fail(e, &e->errmsg, RISK_ESTATE, "%s is not a perpetual: no funding", in->symbol);
    if (!(isfinite(rate_long) && fabs(rate_long) <= 1.0) || !(isfinite(rate_short) && fabs(rate_short) <= 1.0))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "funding rates must be finite and within [-1, 1]");
    if (!(isfinite(price) && price >= 0.0))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "price must be finite and >= 0 (0: the mark)");
    int rc;
    if (price != 0.0 && (rc = risk__check_price(e, &e->errmsg, in->symbol, "funding price", price)))
        return rc;
    if (time_unix_s < in->fund_time_unix_s)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "funding time %lld is before the last accrual's %lld",
                          (long long)time_unix_s, (long long)in->fund_time_unix_s);
    double p = price > 0.0 ? price : in->mark;
    /* one contract's payment, as risk_engine_settle_funding's payment() for q = 1 */
    double il = in->fund_index_long + payment(in, 1.0, rate_long, p);
    double is = in->fund_index_short + payment(in, 1.0, rate_short, p);
    /* bounded like a notional, so that q x (I - last) stays finite for any position of the
     * domain (2^53 lots x 1e12 x 2e30 < 1e59) */
    if (!(fabs(il) <= RISK_NOTIONAL_MAX && fabs(is) <= RISK_NOTIONAL_MAX))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: the funding index would leave [-%s, %s]", in->symbol,
                          RISK__NUM(RISK_NOTIONAL_MAX), RISK__NUM(RISK_NOTIONAL_MAX));
    in->fund_index_long = il;
    in->fund_index_short = is;
    in->fund_time_unix_s = time_unix_s;
    if (il != 0.0 || is != 0.0)
        e->funding_active = 1;
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_funding_index(const risk_engine *engine, uint32_t instrument, double *long_out,
                                       double *short_out, int64_t *time_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message buffer is not engine state */
    if (!long_out || !short_out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "long_out or short_out is NULL");
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    const risk__instrument *in = &e->instruments[instrument];
    *long_out = in->fund_index_long;
    *short_out = in->fund_index_short;
    if (time_out)
        *time_out = in->fund_time_unix_s;
    return RISK_OK;
}

RISK_API int risk_account_funding_pending(const risk_account *account, uint32_t asset, double *out)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = (risk_account *)account; /* the message buffer is not account state */
    const risk_engine *e = a->engine;
    if (!out)
        return risk__fail(e, &a->errmsg, RISK_ENULL, "out is NULL");
    if (asset >= e->n_assets)
        return risk__fail(e, &a->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    double sum = 0.0;
    if (e->funding_active)
        for (uint32_t i = 0; i < a->n_pos; i++)
            if (e->instruments[a->inst[i]].settle == asset)
                sum += risk__funding_pending(a, i);
    *out = sum;
    return RISK_OK;
}

RISK_API int risk_account_settle_funding(risk_account *account, risk_funding_result *out)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = account;
    const risk_engine *e = a->engine;
    if (out && out->version != RISK_FUNDING_RESULT_VERSION)
        return risk__fail(e, &a->errmsg, RISK_EVERSION, "funding result version %u is not %d", out->version,
                          RISK_FUNDING_RESULT_VERSION);
    risk_funding_result r = {RISK_FUNDING_RESULT_VERSION, RISK_ID_NONE, 0, 0.0, 0.0, 0.0};
    if (e->funding_active) {
        int rc = postings_check(e, &a->errmsg, a, pending_payment, NULL);
        if (rc)
            return rc;
        /* room for every settle balance a payment may reach, all at once: nothing is paid before
         * all fit (one reservation per asset would count room for one new balance each time,
         * and positions settled in two assets the basket lacks would overflow it) */
        uint32_t missing = 0;
        for (uint32_t i = 0; i < a->n_pos; i++) {
            uint32_t settle = e->instruments[a->inst[i]].settle;
            if (risk__funding_pending(a, i) == 0.0 || risk__basket_holds(&a->basket, settle))
                continue;
            uint32_t j = 0; /* counted already for an earlier position? */
            while (j < i && !(e->instruments[a->inst[j]].settle == settle && risk__funding_pending(a, j) != 0.0))
                j++;
            missing += j == i;
        }
        if (missing && risk__basket_reserve_n(&a->basket, missing))
            return risk__fail(e, &a->errmsg, RISK_ENOMEM, "out of memory for a settle balance");
        for (uint32_t i = 0; i < a->n_pos; i++) {
            if (e->instruments[a->inst[i]].kind != RISK_KIND_PERPETUAL)
                continue;
            double got = risk__funding_pending(a, i);
            risk__funding_settle_slot(a, i);
            if (got == 0.0)
                continue;
            r.n_positions++;
            if (got < 0.0)
                r.paid -= got;
            else
                r.received += got;
        }
    }
    if (out)
        *out = r;
    risk__clear(&a->errmsg);
    return RISK_OK;
}
