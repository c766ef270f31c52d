/* SPDX-License-Identifier: Apache-2.0 */
/* Leveraged tokens: a constant-leverage product over a price path (include/risk/rates.h,
 * docs/rates.md section 9). Array in, array out, like the volatility estimators: every input
 * is checked before anything is written. */
#include <math.h>
#include <stdint.h>

#include "core/internal.h"
#include "risk/rates.h"
#include "risk/status.h"

static int spec_ok(const risk_levtoken_spec *s)
{
    double L = s->leverage;
    if (!(isfinite(L) && L != 0.0 && fabs(L) <= RISK_LEVTOKEN_LEVERAGE_MAX))
        return 0;
    if (s->band_low != 0.0 || s->band_high != 0.0) {
        /* both of L's sign, around L; NaN fails every comparison */
        if (!(s->band_low <= L && L <= s->band_high))
            return 0;
        if (L > 0.0 ? !(s->band_low > 0.0 && isfinite(s->band_high)) : !(s->band_high < 0.0 && isfinite(s->band_low)))
            return 0;
    }
    if (!(s->fee_annual >= 0.0 && s->fee_annual <= 1.0))
        return 0;
    if (!(s->borrow_annual >= 0.0 && s->borrow_annual <= 10.0))
        return 0;
    if (!(s->rebalance_cost >= 0.0 && s->rebalance_cost <= 0.05 && s->rebalance_cost * fabs(L) <= 0.5))
        return 0;
    if (!(s->periods_per_year > 0.0 && s->periods_per_year <= RISK_PERIODS_PER_YEAR_MAX))
        return 0;
    if (!(s->nav0 > 0.0 && s->nav0 <= 1e15))
        return 0;
    return 1;
}

RISK_API int risk_levtoken_simulate(double *nav_out, double *leverage_out, double *traded_out,
                                    risk_levtoken_result *result_out, const double *price, const double *funding,
                                    size_t n, const risk_levtoken_spec *spec)
{
    if (!nav_out || !price || !spec)
        return RISK_ENULL;
    if (spec->version != RISK_LEVTOKEN_SPEC_VERSION)
        return RISK_EVERSION;
    if (result_out && result_out->version != RISK_LEVTOKEN_RESULT_VERSION)
        return RISK_EVERSION;
    if (n == 0 || !spec_ok(spec))
        return RISK_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!risk__price_in_domain(price[i]))
            return RISK_EINVAL;
        if (funding && i > 0 && !(funding[i] >= -1.0 && funding[i] <= 1.0))
            return RISK_EINVAL;
    }

    const double L = spec->leverage, c = spec->rebalance_cost;
    const double fee_step = spec->fee_annual / spec->periods_per_year;
    const double borrow_step = spec->borrow_annual / spec->periods_per_year;
    const int band = spec->band_low != 0.0 || spec->band_high != 0.0;
    risk_levtoken_result r = RISK_LEVTOKEN_RESULT_INIT;
    double N = spec->nav0, E = L * N;
    nav_out[0] = N;
    if (leverage_out)
        leverage_out[0] = L;
    if (traded_out)
        traded_out[0] = E;
    size_t i = 1;
    for (; i < n; i++) {
        const double g = price[i] / price[i - 1];
        const double gain = E * (g - 1.0);
        const double fee = N * fee_step;
        const double borrowed = E > 0.0 ? (E > N ? E - N : 0.0) : -E;
        const double borrow = borrowed * borrow_step;
        const double fund = funding ? funding[i] * E : 0.0;
        r.pnl += gain;
        r.fees_paid += fee;
        r.borrow_paid += borrow;
        r.funding_paid += fund;
        N = N + gain - fee - borrow - fund;
        E = E * g;
        if (!(N > 0.0)) { /* wiped out: the holders lose everything, the rest is a shortfall */
            r.shortfall = -N;
            r.wiped_out_at = i;
            break;
        }
        double traded = 0.0;
        const double lev = E / N;
        if ((spec->rebalance_every && i % spec->rebalance_every == 0) ||
            (band && (lev < spec->band_low || lev > spec->band_high))) {
            const double d0 = L * N - E;
            if (d0 != 0.0) {
                /* N' = N - c |L N' - E|: with s the sign of the trade (unchanged by the cost,
                 * since L N' - E = d0 / (1 + c s L)), N' = (N + c s E) / (1 + c s L). */
                const double s = d0 > 0.0 ? 1.0 : -1.0;
                const double N1 = c > 0.0 ? (N + c * s * E) / (1.0 + c * s * L) : N;
                traded = L * N1 - E;
                r.rebalance_costs += N - N1;
                r.turnover += fabs(traded);
                r.n_rebalances++;
                N = N1;
                E = L * N1;
            }
        }
        nav_out[i] = N;
        if (leverage_out)
            leverage_out[i] = E / N;
        if (traded_out)
            traded_out[i] = traded;
    }
    if (i < n) { /* wiped out at step i */
        for (size_t k = i; k < n; k++) {
            nav_out[k] = 0.0;
            if (leverage_out)
                leverage_out[k] = 0.0;
            if (traded_out)
                traded_out[k] = 0.0;
        }
        N = 0.0;
    }
    r.nav_final = N;
    if (result_out)
        *result_out = r;
    return RISK_OK;
}
