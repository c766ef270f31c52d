/* SPDX-License-Identifier: Apache-2.0 */
/* Liquidation and bankruptcy prices.
 *
 * Moving the underlying u by a factor k (every mark of an instrument on u and u's own price
 * scale by k, all else held), the pool's margin surplus f(k) = C_maint - R_maint (cross) or
 * m + upnl - MM (isolated) is affine in k while every position stays in its margin tier, for
 * linear and inverse contracts alike once values are taken in V (docs/formulas.md derives each
 * term). Tier edges cut the k axis into segments; the liquidation factor is the first root met
 * walking away from k = 1 in each direction, and the bankruptcy factor the same for the pool's
 * unweighted equity (no tiers). When both directions have a root, the pool's net exposure to u
 * picks one: a net long is liquidated by a fall (or, already under water, rescued by a rise). */
#include "margin/schedule.h"

#include <string.h>

#define POOL_MOVING_MAX 64

typedef struct pool {
    const risk_account *a;
    uint32_t u;        /* the underlying asset that moves */
    uint32_t isolated; /* 1: the pool is position `slot` alone */
    uint32_t slot;
    uint32_t bankrupt; /* 1: unweighted equity, no margin */
    /* The terms that do not move with u (other underlyings, other balances) are summed once
     * per solve: with them cached, each segment visits only the moving terms. */
    uint32_t fixed_state; /* FIXED_NONE, FIXED_ONLY (summing them) or FIXED_CACHED */
    double fixed;
    /* With the fixed part cached: the positions that move, when they fit in the list. */
    uint32_t n_moving, moving_listed;
    uint32_t moving[POOL_MOVING_MAX];
} pool;

#define FIXED_NONE 0u
#define FIXED_ONLY 1u
#define FIXED_CACHED 2u

/* Whether a term moves with the factor k: skipped when summing the fixed part, and when the
 * fixed part is cached. */
static int term_skipped(const pool *P, int moves)
{
    return P->fixed_state == FIXED_ONLY ? moves : P->fixed_state == FIXED_CACHED ? !moves : 0;
}

static int in_pool(const pool *P, uint32_t i)
{
    int iso = (P->a->pflags[i] & RISK__PF_ISOLATED) != 0;
    return P->isolated ? i == P->slot : !iso;
}

/* Notional the tier is chosen by, at factor k. */
static double margin_notional_at(const risk__instrument *in, double qty, double entry, double k_mark)
{
    double size = fabs(qty) * in->contract_size;
    if (in->mm_price == RISK_MM_PRICE_ENTRY)
        return in->inverse ? size / entry : size * entry;
    double mark = in->mark * k_mark;
    return in->inverse ? size / mark : size * mark;
}

/* f(k) = *a0 + *b1 k with every position's tier taken at factor k_tier. */
static void pool_coeffs(const pool *P, double k_tier, double *a0, double *b1)
{
    const risk_account *acct = P->a;
    const risk_engine *e = acct->engine;
    double A = 0.0, B = 0.0;
    int listed = P->fixed_state == FIXED_CACHED && P->moving_listed;
    uint32_t n = listed ? P->n_moving : acct->n_pos;
    for (uint32_t j_pos = 0; j_pos < n; j_pos++) {
        uint32_t i = listed ? P->moving[j_pos] : j_pos;
        if (!in_pool(P, i))
            continue;
        const risk__instrument *in = &e->instruments[acct->inst[i]];
        int um = in->underlying == P->u, us = in->settle == P->u;
        if (term_skipped(P, um || us))
            continue;
        double q = acct->qty[i], E = acct->entry[i], M = in->mark, cs = in->contract_size;
        double ps = e->assets[in->settle].price;
        double mmr = 0.0, cum = 0.0, Nm = 0.0;
        if (!P->bankrupt) {
            Nm = margin_notional_at(in, q, E, um ? k_tier : 1.0);
            uint32_t t = risk__schedule_tier(&in->schedule, Nm);
            mmr = in->schedule.tiers[t].mmr;
            cum = in->schedule.tiers[t].cum;
        }
        int entry_priced = in->mm_price == RISK_MM_PRICE_ENTRY;
        /* the taker fee of closing at factor k, when the instrument's prices include it: rate x
         * notional at the mark M k (linear: B; inverse: 1/(M k) in the underlying, which is
         * worth p k: A; held mark: fixed) */
        double fee_rate = in->liq_with_fee ? in->taker_fee : 0.0;
        if (fee_rate != 0.0 && um) {
            if (in->inverse)
                A -= fee_rate * fabs(q) * cs * ps / M;
            else
                B -= fee_rate * fabs(q) * cs * M * ps;
        }
        if (!in->inverse && um) { /* upnl = q cs (M k - E) ps; MM = (|q| cs M k mmr - cum) ps */
            A -= q * cs * E * ps;
            B += q * cs * M * ps;
            if (!P->bankrupt) {
                if (entry_priced)
                    A -= (Nm * mmr - cum) * ps;
                else {
                    B -= fabs(q) * cs * M * mmr * ps;
                    A += cum * ps;
                }
            }
        } else if (in->inverse && um) { /* upnl = q cs (p k / E - p / M); MM = |q| cs mmr p / M - cum p k */
            B += q * cs * ps / E;
            A -= q * cs * ps / M;
            if (!P->bankrupt) {
                if (entry_priced)
                    B -= (Nm * mmr - cum) * ps;
                else {
                    A -= fabs(q) * cs * mmr * ps / M;
                    B += cum * ps;
                }
            }
        } else { /* mark held: value in the settle asset is fixed, its price may move */
            double upnl = in->inverse ? q * cs * (1.0 / E - 1.0 / M) : q * cs * (M - E);
            double fee = fee_rate * fabs(q) * cs * (in->inverse ? 1.0 / M : M);
            double surplus = (upnl - (Nm * mmr - cum) - fee) * ps;
            if (us)
                B += surplus;
            else
                A += surplus;
        }
        if (P->isolated) {
            double m = acct->iso_margin[i] * ps;
            if (us)
                B += m;
            else
                A += m;
        }
    }
    if (!P->isolated) {
        const risk_basket *bk = &acct->basket;
        for (uint32_t j = 0; j < bk->n; j++) {
            if (term_skipped(P, bk->asset[j] == P->u))
                continue;
            const risk__asset *as = &e->assets[bk->asset[j]];
            double x = risk__balance_of(as, bk->amount[j]), v;
            if (P->bankrupt)
                v = x * as->price;
            else {
                double w_init, w_maint; /* size-scaled maintenance weights do not move with the price */
                risk__asset_weights(as, x, &w_init, &w_maint);
                v = x > 0.0 ? as->price * risk__tiered_qty(as, x) * w_maint : x * as->price * w_maint;
            }
            if (bk->asset[j] == P->u)
                B += v;
            else
                A += v;
        }
    }
    if (P->fixed_state == FIXED_CACHED)
        A += P->fixed;
    *a0 = A;
    *b1 = B;
}

/* Sums the fixed terms once and lists the moving positions; later pool_coeffs calls add the
 * cached sum and visit only the listed positions. */
static void pool_cache_fixed(pool *P)
{
    double A, B;
    P->fixed_state = FIXED_ONLY;
    pool_coeffs(P, 1.0, &A, &B);
    P->fixed = A; /* B is 0: nothing fixed moves with k */
    const risk_account *acct = P->a;
    const risk__instrument *instruments = acct->engine->instruments;
    P->n_moving = 0;
    P->moving_listed = 1;
    for (uint32_t i = 0; i < acct->n_pos; i++) {
        const risk__instrument *in = &instruments[acct->inst[i]];
        if (!in_pool(P, i) || (in->underlying != P->u && in->settle != P->u))
            continue;
        if (P->n_moving == POOL_MOVING_MAX) {
            P->moving_listed = 0; /* too many: pool_coeffs scans every position */
            break;
        }
        P->moving[P->n_moving++] = i;
    }
    P->fixed_state = FIXED_CACHED;
}

/* The nearest factor beyond k (up or down) at which a pool position changes tier; 0 or
 * INFINITY when there is none. */
static double next_edge(const pool *P, double k, int up)
{
    double best = up ? INFINITY : 0.0;
    if (P->bankrupt)
        return best;
    const risk_account *acct = P->a;
    const risk_engine *e = acct->engine;
    int listed = P->fixed_state == FIXED_CACHED && P->moving_listed;
    uint32_t n = listed ? P->n_moving : acct->n_pos;
    for (uint32_t j_pos = 0; j_pos < n; j_pos++) {
        uint32_t i = listed ? P->moving[j_pos] : j_pos;
        if (!in_pool(P, i))
            continue;
        const risk__instrument *in = &e->instruments[acct->inst[i]];
        if (in->underlying != P->u || in->mm_price == RISK_MM_PRICE_ENTRY)
            continue;
        double size = fabs(acct->qty[i]) * in->contract_size;
        for (uint32_t t = 0; t + 1 < in->schedule.n_tiers; t++) {
            double cap = in->schedule.tiers[t].notional_cap;
            double edge = in->inverse ? size / (in->mark * cap) : cap / (size * in->mark);
            if (up ? (edge > k && edge < best) : (edge < k && edge > best))
                best = edge;
        }
    }
    return best;
}

/* Walks away from k = 1 until f changes sign relative to f(1) (f(1) >= 0: first k with f < 0 ...
 * reaching 0; f(1) < 0: first k with f >= 0). Returns 1 with the root and the slope there. */
static int walk(const pool *P, int up, int above, double *root, double *slope)
{
    double lo = 1.0;
    for (;;) {
        double edge = next_edge(P, lo, up);
        double mid = up ? (isinf(edge) ? 2.0 * lo : 0.5 * (lo + edge)) : 0.5 * (lo + edge);
        double A, B;
        pool_coeffs(P, mid, &A, &B);
        double f_near = A + B * lo;
        double f_far = isinf(edge) ? (B > 0.0 ? INFINITY : B < 0.0 ? -INFINITY : A) : A + B * edge;
        int crosses = above ? (f_near >= 0.0 && f_far < 0.0) || f_near == 0.0 : f_far >= 0.0;
        if (crosses && B != 0.0) {
            double k = -A / B;
            double k_lo = up ? lo : edge, k_hi = up ? edge : lo;
            if (k < k_lo)
                k = k_lo;
            if (k > k_hi)
                k = k_hi;
            if (!(k > 0.0) || isinf(k))
                return 0;
            *root = k;
            *slope = B;
            return 1;
        }
        if (isinf(edge) || edge <= 0.0)
            return 0;
        lo = edge;
    }
}

/* Solves for the factor; returns 1 and sets *k and *round_up when a root exists. */
static int pool_solve(const pool *P, double *k, int *round_up)
{
    double A, B;
    pool_coeffs(P, 1.0, &A, &B);
    int above = A + B >= 0.0;
    double k_up = 0, s_up = 0, k_dn = 0, s_dn = 0;
    int has_up = walk(P, 1, above, &k_up, &s_up);
    int has_dn = walk(P, 0, above, &k_dn, &s_dn);
    if (!has_up && !has_dn)
        return 0;
    int take_up = has_up && !has_dn;
    if (has_up && has_dn) { /* net exposure: slope of the unweighted equity */
        pool eq = *P;
        eq.bankrupt = 1;
        eq.fixed_state = FIXED_NONE;
        double ea, eb;
        pool_coeffs(&eq, 1.0, &ea, &eb);
        int net_long = eb >= 0.0;
        take_up = above ? !net_long : net_long;
    }
    *k = take_up ? k_up : k_dn;
    *round_up = (take_up ? s_up : s_dn) > 0.0; /* surplus rises with price: a long's price goes up */
    return 1;
}

void risk__pool_factors_solve(const risk_account *a, uint32_t underlying, uint32_t isolated_slot,
                              risk__pool_factors *out)
{
    memset(out, 0, sizeof *out);
    out->underlying = underlying;
    out->isolated_slot = isolated_slot;
    pool P;
    memset(&P, 0, sizeof P);
    P.a = a;
    P.u = underlying;
    P.isolated = isolated_slot != RISK_ID_NONE;
    P.slot = isolated_slot;
    double A, B, k;
    int up;
    pool_cache_fixed(&P);
    pool_coeffs(&P, 1.0, &A, &B);
    out->liquidatable = A + B < 0.0;
    if (pool_solve(&P, &k, &up)) {
        out->has_liquidation = 1;
        out->liquidation_k = k;
        out->liquidation_up = (uint32_t)up;
    }
    P.bankrupt = 1;
    P.fixed_state = FIXED_NONE;
    pool_cache_fixed(&P);
    if (pool_solve(&P, &k, &up)) {
        out->has_bankruptcy = 1;
        out->bankruptcy_k = k;
        out->bankruptcy_up = (uint32_t)up;
    }
}

void risk__position_result_fill(const risk_account *a, uint32_t slot, const risk__pool_factors *f,
                                risk_position_result *out)
{
    const risk_engine *e = a->engine;
    const risk__instrument *in = &e->instruments[a->inst[slot]];
    risk__position_values pv;
    risk__position_values_compute(in, a->qty[slot], a->entry[slot], a->im_rate[slot], &pv);
    int isolated = (a->pflags[slot] & RISK__PF_ISOLATED) != 0;

    uint32_t version = out->version;
    memset(out, 0, sizeof *out);
    out->version = version;
    out->instrument = a->inst[slot];
    out->side = a->qty[slot] > 0.0 ? RISK_SIDE_LONG : RISK_SIDE_SHORT;
    out->margin_mode = isolated ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS;
    out->tier = pv.tier;
    out->qty = a->qty[slot];
    out->entry = a->entry[slot];
    out->mark = in->mark;
    out->notional = pv.notional;
    out->unrealized_pnl = pv.upnl;
    out->initial_margin = pv.im;
    out->maintenance_margin = pv.mm;
    out->isolated_margin = a->iso_margin[slot];
    if (!(e->flags & RISK_ENGINE_NO_QUANTIZE)) {
        double s = risk__asset_scale(&e->assets[in->settle]);
        out->unrealized_pnl = risk__quantize(pv.upnl, s, 0);
        out->initial_margin = risk__quantize(pv.im, s, 1);
        out->maintenance_margin = risk__quantize(pv.mm, s, 1);
    }
    if (f->liquidatable)
        out->flags |= RISK_RESULT_LIQUIDATABLE;
    out->liquidation_price = out->bankruptcy_price = NAN;
    out->liquidation_price_raw = out->bankruptcy_price_raw = NAN;
    if (f->has_liquidation) { /* the position's own mark is on the pool's underlying */
        out->flags |= RISK_RESULT_HAS_LIQUIDATION_PRICE;
        out->liquidation_price_raw = in->mark * f->liquidation_k;
        out->liquidation_price = risk__round_to_step(out->liquidation_price_raw, in->tick_size, (int)f->liquidation_up);
    }
    if (f->has_bankruptcy) {
        out->flags |= RISK_RESULT_HAS_BANKRUPTCY_PRICE;
        out->bankruptcy_price_raw = in->mark * f->bankruptcy_k;
        out->bankruptcy_price = risk__round_to_step(out->bankruptcy_price_raw, in->tick_size, (int)f->bankruptcy_up);
    }
}
