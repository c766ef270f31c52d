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
 * picks one: a net long is liquidated by a fall (or, already under water, rescued by a rise).
 *
 * Cost (docs/formulas.md 7.8): a pool's terms split into the fixed part, which does not move
 * with u, and the moving positions (underlying or settle u). An isolated pool is its own
 * position. For the cross pool, risk__pool_factors_for indexes the account once per call
 * (risk__pool_index: each term's held value, summed once, and the positions of each asset), so
 * that each underlying's solve visits only its own positions: linear in the positions of the
 * account instead of quadratic. A pool of futures is then solved on a program of its moving
 * terms taken once per solve ("the lean solve" below), the same bits as pool_coeffs's walk. */
#include "margin/schedule.h"

#include <string.h>

#define POOL_MOVING_MAX 64

/* the small steps of the walks, inlined into their loops */
#if defined(__GNUC__)
#define LEAN_INLINE static inline __attribute__((always_inline))
#else
#define LEAN_INLINE static inline
#endif

typedef struct pool {
    const risk_account *a;
    uint32_t u;        /* the underlying asset that moves */
    uint32_t isolated; /* 1: the pool is position `slot` alone */
    uint32_t slot;
    uint32_t bankrupt; /* 1: unweighted equity, no margin */
    uint32_t no_basket; /* 1: the listed positions' terms only (the index's held values) */
    /* The terms that do not move with u (other underlyings, other balances) are summed once
     * per solve: with them cached, each segment visits only the moving terms. */
    uint32_t fixed_state; /* FIXED_NONE, FIXED_ONLY (summing them) or FIXED_CACHED */
    double fixed;         /* the fixed part in use: fixed_mm, or fixed_bk when bankrupt */
    double fixed_mm, fixed_bk;
    /* The positions visited: `list` (n_list of them), or every position when list is NULL. With
     * the fixed part cached, the list holds the moving positions when they fit. */
    const uint32_t *list;
    uint32_t n_list;
    /* f's coefficients at k = 1 in the current mode (c1_a + c1_b k), and the unweighted equity's
     * slope there: computed once per solve. Unweighted, the coefficients hold for every k (no
     * tiers), so the bankruptcy walks reuse them. */
    double c1_a, c1_b, eq_b;
    uint32_t own[POOL_MOVING_MAX];
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

static uint32_t pool_n_visited(const pool *P)
{
    return P->list ? P->n_list : P->a->n_pos;
}

static uint32_t pool_visited(const pool *P, uint32_t j)
{
    return P->list ? P->list[j] : j;
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
    uint32_t n = pool_n_visited(P);
    for (uint32_t j_pos = 0; j_pos < n; j_pos++) {
        uint32_t i = pool_visited(P, j_pos);
        if (!in_pool(P, i))
            continue;
        const risk__instrument *in = &e->instruments[acct->inst[i]];
        int um = in->underlying == P->u, us = in->settle == P->u;
        if (term_skipped(P, um || us))
            continue;
        double q = acct->qty[i], E = acct->entry[i], M = in->mark, cs = in->contract_size;
        double ps = e->assets[in->settle].price;
        if (e->funding_active) { /* pending funding: fixed in the settle asset (docs/rates.md 8.4) */
            double got = risk__funding_pending(acct, i) * ps;
            if (us)
                B += got;
            else
                A += got;
        }
        double mmr = 0.0, cum = 0.0, Nm = 0.0;
        if (!P->bankrupt) {
            Nm = margin_notional_at(in, q, E, um ? k_tier : 1.0);
            uint32_t t = risk__schedule_tier(&in->schedule, Nm);
            mmr = risk__size_premium_rate(in, fabs(q) * cs, in->schedule.tiers[t].mmr);
            cum = in->schedule.tiers[t].cum;
        }
        int entry_priced = in->mm_price == RISK_MM_PRICE_ENTRY;
        /* the taker fee of closing at factor k, when the instrument's prices include it: rate x
         * notional at the mark M k (linear: B; inverse: 1/(M k) in the underlying, which is
         * worth p k: A; held mark: fixed) */
        double fee_rate = in->liq_with_fee && in->kind != RISK_KIND_OPTION ? in->taker_fee : 0.0;
        if (fee_rate != 0.0 && um) {
            if (in->inverse)
                A -= fee_rate * fabs(q) * cs * ps / M;
            else
                B -= fee_rate * fabs(q) * cs * M * ps;
        }
        if (in->kind == RISK_KIND_OPTION) {
            /* an option on u is not affine in k: option_terms_at values it; one on another
             * underlying holds its value and margin, in a settle asset that may move */
            if (!um) {
                risk__position_values pv;
                risk__option_values_compute(in, q, &pv);
                double surplus = (pv.upnl - (P->bankrupt ? 0.0 : pv.mm)) * ps;
                if (us)
                    B += surplus;
                else
                    A += surplus;
            }
            if (P->isolated && !um) {
                double m = acct->iso_margin[i] * ps;
                if (us)
                    B += m;
                else
                    A += m;
            }
            continue;
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
    if (!P->isolated && !P->no_basket) {
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

/* Sums the fixed terms once, at margin (fixed_mm) and unweighted (fixed_bk), and lists the
 * moving positions; later pool_coeffs calls add the cached sum and visit only the listed
 * positions. An isolated pool visits its own position only. */
static void pool_cache_fixed(pool *P)
{
    double A, B;
    uint32_t bankrupt = P->bankrupt;
    if (P->isolated) {
        P->own[0] = P->slot;
        P->list = P->own;
        P->n_list = 1;
        const risk__instrument *in = &P->a->engine->instruments[P->a->inst[P->slot]];
        if (in->underlying == P->u || in->settle == P->u) { /* it moves: nothing is fixed (pool_coeffs: 0) */
            P->fixed_mm = P->fixed_bk = 0.0;
            P->fixed = 0.0;
            P->fixed_state = FIXED_CACHED;
            return;
        }
    } else
        P->list = NULL;
    P->fixed_state = FIXED_ONLY;
    P->bankrupt = 0;
    pool_coeffs(P, 1.0, &A, &B);
    P->fixed_mm = A; /* B is 0: nothing fixed moves with k */
    P->bankrupt = 1;
    pool_coeffs(P, 1.0, &A, &B);
    P->fixed_bk = A;
    P->bankrupt = bankrupt;
    P->fixed = bankrupt ? P->fixed_bk : P->fixed_mm;
    const risk_account *acct = P->a;
    const risk__instrument *instruments = acct->engine->instruments;
    uint32_t n = pool_n_visited(P), n_moving = 0;
    int fits = 1;
    for (uint32_t j = 0; j < n; j++) {
        uint32_t i = pool_visited(P, j);
        const risk__instrument *in = &instruments[acct->inst[i]];
        if (!in_pool(P, i) || (in->underlying != P->u && in->settle != P->u))
            continue;
        if (n_moving == POOL_MOVING_MAX) {
            fits = 0; /* too many: pool_coeffs scans every position */
            break;
        }
        P->own[n_moving++] = i;
    }
    if (fits) {
        P->list = P->own;
        P->n_list = n_moving;
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
    uint32_t n = pool_n_visited(P);
    for (uint32_t j_pos = 0; j_pos < n; j_pos++) {
        uint32_t i = pool_visited(P, j_pos);
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

/* The root of f = A + B k on the segment from lo to edge (up: lo < k < edge; down: edge < k < lo),
 * as the walks test it: 1 with the root and the slope there; 0 when the walk ends without one;
 * -1 when it goes on past the edge. */
LEAN_INLINE int segment_root(double A, double B, double lo, double edge, int up, int above, double *root,
                             double *slope)
{
    double f_near = A + B * lo;
    double f_far = isinf(edge) ? (B > 0.0 ? INFINITY : B < 0.0 ? -INFINITY : A) : A + B * edge;
    /* & and | instead of && and ||: the same truth, without a branch per compare */
    int crosses = above ? ((f_near >= 0.0) & (f_far < 0.0)) | (f_near == 0.0) : f_far >= 0.0;
    if (crosses & (B != 0.0)) {
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
    return -1;
}

/* Walks away from k = 1 until f changes sign relative to f(1) (f(1) >= 0: first k with f < 0 ...
 * reaching 0; f(1) < 0: first k with f >= 0). Returns 1 with the root and the slope there. */
/* The point of the segment from lo to edge at which the tiers are read: its middle, or 2 lo
 * when the segment runs up to infinity. */
static inline double segment_mid(double lo, double edge, int up)
{
    return up ? (isinf(edge) ? 2.0 * lo : 0.5 * (lo + edge)) : 0.5 * (lo + edge);
}

static int walk(const pool *P, int up, int above, double *root, double *slope)
{
    double lo = 1.0;
    for (;;) {
        double edge = next_edge(P, lo, up);
        double mid = segment_mid(lo, edge, up);
        double A = P->c1_a, B = P->c1_b;
        if (!P->bankrupt)
            pool_coeffs(P, mid, &A, &B);
        int found = segment_root(A, B, lo, edge, up, above, root, slope);
        if (found >= 0)
            return found;
        lo = edge;
    }
}

/* ------------------------------------------------------------ the lean solve of an affine pool
 * pool_coeffs re-reads, at each segment of a walk, every listed position's instrument, prices,
 * funding, fee rule and kind, and next_edge recomputes the tier edges. A pool of futures (no
 * option among its moving positions, no weighted PnL in the engine) whose fixed part is cached
 * is solved on a program taken from it once per solve instead: the terms pool_coeffs adds to A
 * and to B, in its order and by its expressions (a subtraction stored as the addition of the
 * negated term, the same operation in IEEE 754), where the MM terms of a position whose tier
 * moves with k are slots rewritten when the walk enters another of its tiers. The terms before
 * the first slot are summed once (the same additions in the same order), so that a segment
 * costs the tier lookups and the additions from the first slot on: the coefficients, hence every
 * root, are the same bits as pool_coeffs's. The unweighted coefficients have no slot and are
 * summed once. Pools past the program's capacity (LEAN_MAX tiered positions on one underlying,
 * LEAN_TERMS terms, LEAN_EDGES tier edges) take the general walk. */
#define LEAN_MAX 32
#define LEAN_TERMS 128
#define LEAN_EDGES 256

typedef struct lean_tiered {
    const risk__instrument *in;
    double size, M, ps; /* |q| cs, the mark, the settle asset's price */
    uint32_t inverse, tier, slot_a, slot_b;
} lean_tiered;

typedef struct lean {
    uint32_t n_a, n_b, first_a, first_b, n_tiered, n_edges;
    uint32_t summed; /* sum_a, sum_b hold the coefficients of the slots' current tiers */
    double sum_a, sum_b;
    double pre_a, pre_b; /* the sums of the terms before the first slot */
    double a_bk, b_bk;   /* the unweighted coefficients */
    double term_a[LEAN_TERMS], term_b[LEAN_TERMS];
    double edge[LEAN_EDGES];
    lean_tiered tp[LEAN_MAX];
} lean;

#define LEAN_NO_SLOT UINT32_MAX

static int lean_add(double *terms, uint32_t *n, double v)
{
    if (*n == LEAN_TERMS)
        return 0;
    terms[(*n)++] = v;
    return 1;
}

/* Writes tiered position p's MM terms in tier t into its slots (pool_coeffs's expressions). */
LEAN_INLINE void lean_tier_set(lean *L, lean_tiered *p, uint32_t t)
{
    const risk__instrument *in = p->in;
    double M = p->M, ps = p->ps;
    double mmr = risk__size_premium_rate(in, p->size, in->schedule.tiers[t].mmr);
    double cum = in->schedule.tiers[t].cum;
    if (p->inverse) { /* A -= |q| cs mmr ps / M; B += cum ps */
        L->term_a[p->slot_a] = -(p->size * mmr * ps / M);
        L->term_b[p->slot_b] = cum * ps;
    } else { /* B -= |q| cs M mmr ps; A += cum ps */
        L->term_b[p->slot_b] = -(p->size * M * mmr * ps);
        L->term_a[p->slot_a] = cum * ps;
    }
    p->tier = t;
}

/* Takes P's program; 0 when the pool is not lean (options, weighted PnL, capacity). */
static int lean_build(const pool *P, lean *L)
{
    const risk_account *acct = P->a;
    const risk_engine *e = acct->engine;
    if (P->fixed_state != FIXED_CACHED || e->n_upnl_weighted)
        return 0;
    L->n_a = L->n_b = L->n_tiered = L->n_edges = 0;
    L->first_a = L->first_b = LEAN_NO_SLOT;
    double A_bk = 0.0, B_bk = 0.0; /* pool_coeffs unweighted, summed as it goes */
    uint32_t n = pool_n_visited(P);
    for (uint32_t j_pos = 0; j_pos < n; j_pos++) {
        uint32_t i = pool_visited(P, j_pos);
        if (!in_pool(P, i))
            continue;
        const risk__instrument *in = &e->instruments[acct->inst[i]];
        int um = in->underlying == P->u, us = in->settle == P->u;
        if (!(um || us)) /* term_skipped: FIXED_CACHED visits the moving terms only */
            continue;
        if (in->kind == RISK_KIND_OPTION || L->n_a + 4 > LEAN_TERMS || L->n_b + 4 > LEAN_TERMS)
            return 0;
        double q = acct->qty[i], E = acct->entry[i], M = in->mark, cs = in->contract_size;
        double ps = e->assets[in->settle].price;
        if (e->funding_active) { /* pending funding: fixed in the settle asset */
            double got = risk__funding_pending(acct, i) * ps;
            if (us) {
                B_bk += got;
                L->term_b[L->n_b++] = got;
            } else {
                A_bk += got;
                L->term_a[L->n_a++] = got;
            }
        }
        double fee_rate = in->liq_with_fee && in->kind != RISK_KIND_OPTION ? in->taker_fee : 0.0;
        if (fee_rate != 0.0 && um) {
            if (in->inverse) {
                double fee = fee_rate * fabs(q) * cs * ps / M;
                A_bk -= fee;
                L->term_a[L->n_a++] = -fee;
            } else {
                double fee = fee_rate * fabs(q) * cs * M * ps;
                B_bk -= fee;
                L->term_b[L->n_b++] = -fee;
            }
        }
        if (!um) { /* mark held: its surplus at its tier at k = 1, into B (us) */
            double Nm = margin_notional_at(in, q, E, 1.0);
            uint32_t t = risk__schedule_tier(&in->schedule, Nm);
            double mmr = risk__size_premium_rate(in, fabs(q) * cs, in->schedule.tiers[t].mmr);
            double cum = in->schedule.tiers[t].cum;
            double upnl = in->inverse ? q * cs * (1.0 / E - 1.0 / M) : q * cs * (M - E);
            double fee = fee_rate * fabs(q) * cs * (in->inverse ? 1.0 / M : M);
            L->term_b[L->n_b++] = (upnl - (Nm * mmr - cum) - fee) * ps;
            Nm = mmr = cum = 0.0; /* unweighted: pool_coeffs leaves them 0 */
            B_bk += (upnl - (Nm * mmr - cum) - fee) * ps;
        } else {
            int entry_priced = in->mm_price == RISK_MM_PRICE_ENTRY;
            double mm_fixed = 0.0;
            if (entry_priced) { /* k does not move an entry-priced notional: one tier */
                double Nm = margin_notional_at(in, q, E, 1.0);
                uint32_t t = risk__schedule_tier(&in->schedule, Nm);
                double mmr = risk__size_premium_rate(in, fabs(q) * cs, in->schedule.tiers[t].mmr);
                double cum = in->schedule.tiers[t].cum;
                mm_fixed = (Nm * mmr - cum) * ps;
            } else if (L->n_tiered == LEAN_MAX || L->n_edges + in->schedule.n_tiers > LEAN_EDGES)
                return 0;
            lean_tiered *tp = entry_priced ? NULL : &L->tp[L->n_tiered++];
            if (!in->inverse) { /* A -= q cs E ps, B += q cs M ps, then the MM terms */
                double a_um = q * cs * E * ps, b_um = q * cs * M * ps;
                A_bk -= a_um;
                B_bk += b_um;
                L->term_a[L->n_a++] = -a_um;
                L->term_b[L->n_b++] = b_um;
                if (entry_priced)
                    L->term_a[L->n_a++] = -mm_fixed;
                else {
                    tp->slot_b = L->n_b++;
                    tp->slot_a = L->n_a++;
                }
            } else { /* B += q cs ps / E, A -= q cs ps / M, then the MM terms */
                double b_um = q * cs * ps / E, a_um = q * cs * ps / M;
                B_bk += b_um;
                A_bk -= a_um;
                L->term_b[L->n_b++] = b_um;
                L->term_a[L->n_a++] = -a_um;
                if (entry_priced)
                    L->term_b[L->n_b++] = -mm_fixed;
                else {
                    tp->slot_a = L->n_a++;
                    tp->slot_b = L->n_b++;
                }
            }
            if (tp) {
                double size = fabs(q) * cs;
                tp->in = in;
                tp->size = size;
                tp->M = M;
                tp->ps = ps;
                tp->inverse = in->inverse != 0;
                tp->tier = UINT32_MAX; /* no tier's terms yet */
                if (L->first_a == LEAN_NO_SLOT)
                    L->first_a = tp->slot_a;
                if (L->first_b == LEAN_NO_SLOT)
                    L->first_b = tp->slot_b;
                for (uint32_t t = 0; t + 1 < in->schedule.n_tiers; t++) { /* next_edge's edges */
                    double cap = in->schedule.tiers[t].notional_cap;
                    L->edge[L->n_edges++] = in->inverse ? size / (in->mark * cap) : cap / (size * in->mark);
                }
            }
        }
        if (P->isolated) {
            double m = acct->iso_margin[i] * ps;
            if (us) {
                B_bk += m;
                L->term_b[L->n_b++] = m;
            } else {
                A_bk += m;
                L->term_a[L->n_a++] = m;
            }
        }
    }
    if (!P->isolated && !P->no_basket) {
        const risk_basket *bk = &acct->basket;
        for (uint32_t j = 0; j < bk->n; j++) {
            if (bk->asset[j] != P->u)
                continue;
            const risk__asset *as = &e->assets[bk->asset[j]];
            double x = risk__balance_of(as, bk->amount[j]);
            double w_init, w_maint;
            risk__asset_weights(as, x, &w_init, &w_maint);
            B_bk += x * as->price;
            if (!lean_add(L->term_b, &L->n_b,
                          x > 0.0 ? as->price * risk__tiered_qty(as, x) * w_maint : x * as->price * w_maint))
                return 0;
        }
    }
    A_bk += P->fixed_bk;
    if (!lean_add(L->term_a, &L->n_a, P->fixed_mm))
        return 0;
    L->a_bk = A_bk;
    L->b_bk = B_bk;
    /* the terms before the first slot, summed once */
    if (L->first_a == LEAN_NO_SLOT)
        L->first_a = L->n_a;
    if (L->first_b == LEAN_NO_SLOT)
        L->first_b = L->n_b;
    double A = 0.0, B = 0.0;
    for (uint32_t j = 0; j < L->first_a; j++)
        A += L->term_a[j];
    for (uint32_t j = 0; j < L->first_b; j++)
        B += L->term_b[j];
    L->pre_a = A;
    L->pre_b = B;
    L->summed = 0;
    return 1;
}

/* The pool's sums from the held prefix and the terms after it (the tiered ones), in term order. */
LEAN_INLINE void lean_sum(lean *L)
{
    double A = L->pre_a, B = L->pre_b;
    for (uint32_t j = L->first_a; j < L->n_a; j++)
        A += L->term_a[j];
    for (uint32_t j = L->first_b; j < L->n_b; j++)
        B += L->term_b[j];
    L->sum_a = A;
    L->sum_b = B;
    L->summed = 1;
}

/* pool_coeffs at margin of the lean pool: f(k) = *a0 + *b1 k with the tiers at k_tier. The same
 * tiers give the same terms, hence the same sums: they are kept until a tier changes. */
LEAN_INLINE void lean_coeffs(lean *L, double k_tier, double *a0, double *b1)
{
    uint32_t summed = L->summed;
    for (uint32_t j = 0; j < L->n_tiered; j++) {
        lean_tiered *p = &L->tp[j];
        double mark = p->M * k_tier; /* margin_notional_at(in, q, E, k_tier) */
        uint32_t t = risk__schedule_tier(&p->in->schedule, p->inverse ? p->size / mark : p->size * mark);
        if (t != p->tier) {
            lean_tier_set(L, p, t);
            summed = 0;
        }
    }
    if (!summed)
        lean_sum(L);
    *a0 = L->sum_a;
    *b1 = L->sum_b;
}

/* next_edge over the lean pool's copied edges: the same set, so the same nearest one. */
LEAN_INLINE double lean_next_edge(const double *edges, uint32_t n_edges, double lo, int up)
{
    double edge = up ? INFINITY : 0.0;
    for (uint32_t j = 0; j < n_edges; j++) {
        double x = edges[j];
        if (up ? (x > lo && x < edge) : (x < lo && x > edge))
            edge = x;
    }
    return edge;
}

/* walk() at margin on the lean pool: lean_next_edge, then lean_coeffs at each segment. Inlined
 * into its two calls, one per direction. */
LEAN_INLINE int lean_walk(lean *L, int up, int above, double *root, double *slope)
{
    double lo = 1.0;
    if (L->n_tiered == 1) { /* one tiered position (the common pool): its tier alone moves */
        lean_tiered *p = &L->tp[0];
        const risk__schedule *sch = &p->in->schedule;
        const double *edges = L->edge;
        uint32_t n_edges = L->n_edges;
        double size = p->size, M = p->M;
        int inverse = (int)p->inverse;
        for (;;) {
            double edge = lean_next_edge(edges, n_edges, lo, up);
            double mid = segment_mid(lo, edge, up);
            double mark = M * mid; /* margin_notional_at(in, q, E, mid) */
            uint32_t t = risk__schedule_tier(sch, inverse ? size / mark : size * mark);
            if (t != p->tier || !L->summed) {
                if (t != p->tier)
                    lean_tier_set(L, p, t);
                lean_sum(L);
            }
            int found = segment_root(L->sum_a, L->sum_b, lo, edge, up, above, root, slope);
            if (found >= 0)
                return found;
            lo = edge;
        }
    }
    for (;;) {
        double edge = lean_next_edge(L->edge, L->n_edges, lo, up);
        double mid = segment_mid(lo, edge, up);
        double A, B;
        lean_coeffs(L, mid, &A, &B);
        int found = segment_root(A, B, lo, edge, up, above, root, slope);
        if (found >= 0)
            return found;
        lo = edge;
    }
}

/* ------------------------------------------------------------ pools holding options
 * An option on u makes f(k) non-linear (docs/options.md, section 8): f is evaluated exactly at
 * each k (the affine terms with their tiers at k, plus every option on u revalued by
 * risk__option_mark_at at U k with its mark volatility, its standard margin at U k), sign changes
 * are found on a geometric grid of K_STEP over [K_MIN, K_MAX] walking away from k = 1, and each
 * bracketed root is bisected to a relative width of 1e-13 (far below one tick). */
#define K_STEP 1.005
#define K_MIN 1e-3
#define K_MAX 1e3

/* A cross position whose positive PnL counts at a maintenance weight below 1 (Drift's
 * unrealised-PnL weight, docs/rates.md 8.3): f(k) then has a kink where its PnL crosses 0, and
 * the pool is solved numerically like one holding options. */
static int upnl_weighted_maint(const pool *P, uint32_t i)
{
    const risk__instrument *in = &P->a->engine->instruments[P->a->inst[i]];
    return in->upnl_weighted && in->upnl_w_maint < 1.0 && !P->isolated && in_pool(P, i);
}

static int pool_has_options(const pool *P)
{
    const risk_account *acct = P->a;
    uint32_t n = pool_n_visited(P);
    for (uint32_t j = 0; j < n; j++) {
        uint32_t i = pool_visited(P, j);
        const risk__instrument *in = &acct->engine->instruments[acct->inst[i]];
        if (in->kind == RISK_KIND_OPTION && in->underlying == P->u && in_pool(P, i))
            return 1;
        if (acct->engine->n_upnl_weighted && upnl_weighted_maint(P, i))
            return 1;
    }
    return 0;
}

/* The maintenance discount of weighted positive PnL at factor k, in V (<= 0; 0 for a bankruptcy
 * pool, which counts unweighted equity). */
static double upnl_cut_at(const pool *P, double k)
{
    const risk_account *acct = P->a;
    const risk_engine *e = acct->engine;
    double sum = 0.0;
    if (P->bankrupt || !e->n_upnl_weighted)
        return 0.0;
    for (uint32_t i = 0; i < acct->n_pos; i++) {
        if (!upnl_weighted_maint(P, i))
            continue;
        const risk__instrument *in = &e->instruments[acct->inst[i]];
        double km = in->underlying == P->u ? k : 1.0;
        double ps = e->assets[in->settle].price * (in->settle == P->u ? k : 1.0);
        risk__position_values pv;
        risk__position_values_at(in, in->mark * km, acct->qty[i], acct->entry[i], acct->im_rate[i], &pv);
        double pnl = pv.upnl + (e->funding_active ? risk__funding_pending(acct, i) : 0.0), ci, cm;
        risk__upnl_cut(in, pnl, &ci, &cm);
        sum -= cm * ps;
    }
    return sum;
}

/* The options on u of the pool at factor k, in V; NaN when one has no volatility to reprice with. */
static double option_terms_at(const pool *P, double k)
{
    const risk_account *acct = P->a;
    const risk_engine *e = acct->engine;
    double sum = 0.0;
    uint32_t n = pool_n_visited(P);
    for (uint32_t j = 0; j < n; j++) {
        uint32_t i = pool_visited(P, j);
        const risk__instrument *in = &e->instruments[acct->inst[i]];
        if (in->kind != RISK_KIND_OPTION || in->underlying != P->u || !in_pool(P, i))
            continue;
        double vol = risk__option_vol(in, e->now_unix_s);
        if (isnan(vol))
            return NAN;
        double U = in->opt_under * k;
        double m = risk__option_mark_at(in, U, vol, e->now_unix_s);
        double ps = e->assets[in->settle].price * (in->settle == P->u ? k : 1.0);
        double q = acct->qty[i], v = q * in->contract_size * m;
        if (!P->bankrupt && q < 0.0) {
            double im, mm;
            risk__option_unit_margin(in, U, m, &im, &mm);
            v -= fabs(q) * in->contract_size * mm;
        } else if (!P->bankrupt) { /* a long's MM is its mark: it supports nothing */
            v -= q * in->contract_size * m;
        }
        if (P->isolated)
            v += acct->iso_margin[i];
        sum += v * ps;
    }
    return sum;
}

static double surplus_at(const pool *P, double k)
{
    double A, B;
    pool_coeffs(P, k, &A, &B);
    return A + B * k + option_terms_at(P, k) + upnl_cut_at(P, k);
}

int risk__scan_sign_change(double (*f)(void *ctx, double k), void *ctx, int up, double f1, double step,
                           double k_min, double k_max, double *root, int *rising)
{
    double k0 = 1.0, f0 = f1;
    for (;;) {
        double k = up ? k0 * step : k0 / step;
        if (k > k_max || k < k_min)
            return 0;
        double fk = f(ctx, k);
        if (isnan(fk))
            return -1;
        if ((fk < 0.0) != (f0 < 0.0)) {
            double lo = up ? k0 : k, hi = up ? k : k0;
            double flo = up ? f0 : fk;
            for (int it = 0; it < 200 && hi - lo > 1e-13 * hi; it++) {
                double mid = 0.5 * (lo + hi), fm = f(ctx, mid);
                if ((fm < 0.0) == (flo < 0.0) && !isnan(fm))
                    lo = mid, flo = fm;
                else
                    hi = mid;
            }
            /* the root is where the sign changes: the side of the bracket that has f1's sign
             * changed; report the first point past it (hi going up, lo going down) */
            *root = up ? hi : lo;
            *rising = flo < 0.0;
            return 1;
        }
        k0 = k;
        f0 = fk;
    }
}

static double pool_surplus_at(void *P, double k)
{
    return surplus_at((const pool *)P, k);
}

typedef struct roots {
    int has_up, has_dn, up_rising, dn_rising;
    double k_up, k_dn;
} roots;

/* Both sides' roots of a pool holding options; 0 when f is not defined. */
static int pool_roots_options(const pool *P, roots *r)
{
    memset(r, 0, sizeof *r);
    double f1 = surplus_at(P, 1.0);
    if (isnan(f1))
        return 0;
    void *ctx = (void *)(uintptr_t)P; /* read only: the callback takes it back as const */
    int u = risk__scan_sign_change(pool_surplus_at, ctx, 1, f1, K_STEP, K_MIN, K_MAX, &r->k_up, &r->up_rising);
    int d = risk__scan_sign_change(pool_surplus_at, ctx, 0, f1, K_STEP, K_MIN, K_MAX, &r->k_dn, &r->dn_rising);
    if (u < 0 || d < 0)
        return 0;
    r->has_up = u == 1;
    r->has_dn = d == 1;
    return 1;
}

/* Both sides' roots of an affine (futures-only) pool. */
static void pool_roots_affine(const pool *P, roots *r)
{
    memset(r, 0, sizeof *r);
    int above = P->c1_a + P->c1_b >= 0.0;
    double s_up = 0, s_dn = 0;
    r->has_up = walk(P, 1, above, &r->k_up, &s_up);
    r->has_dn = walk(P, 0, above, &r->k_dn, &s_dn);
    r->up_rising = s_up > 0.0;
    r->dn_rising = s_dn > 0.0;
}

/* Solves for the factor; returns 1 and sets *k and *round_up when a root exists. `options`:
 * pool_has_options(P). */
static int pool_solve(const pool *P, int options, const roots *r, double *k, int *round_up)
{
    int above = P->c1_a + P->c1_b >= 0.0;
    double k_up = r->k_up, k_dn = r->k_dn;
    int has_up = r->has_up, has_dn = r->has_dn;
    if (options)
        above = surplus_at(P, 1.0) >= 0.0;
    if (!has_up && !has_dn)
        return 0;
    int take_up = has_up && !has_dn;
    if (has_up && has_dn) { /* net exposure: slope of the unweighted equity */
        int net_long;
        if (options) { /* the equity's slope at k = 1, by a central difference */
            pool eq = *P; /* the same positions, unweighted */
            eq.bankrupt = 1;
            eq.fixed = eq.fixed_bk;
            net_long = surplus_at(&eq, 1.0 + 1e-6) >= surplus_at(&eq, 1.0 - 1e-6);
        } else
            net_long = P->eq_b >= 0.0;
        take_up = above ? !net_long : net_long;
    }
    *k = take_up ? k_up : k_dn;
    *round_up = take_up ? r->up_rising : r->dn_rising; /* surplus rises with price: a long's price goes up */
    return 1;
}

/* The factor a pool's affine roots give (pool_solve without options): none, the only root, or
 * by the net exposure (the unweighted slope eq_b) when both sides have one. */
LEAN_INLINE void lean_pick(int above, double eq_b, int has_up, double k_up, int up_rising, int has_dn, double k_dn,
                           int dn_rising, uint32_t *has, double *k, uint32_t *round_up)
{
    /* in integer arithmetic: which side is random from one position to the next */
    int both = has_up & has_dn, net_long = eq_b >= 0.0;
    int take_up = (has_up & !has_dn) | (both & (above ? !net_long : net_long));
    if (!(has_up | has_dn))
        return;
    *has = 1;
    *k = take_up ? k_up : k_dn;
    *round_up = (uint32_t)(take_up ? up_rising : dn_rising);
}

/* pool_factors_solve_cached on the lean pool: the same steps (walks at margin, one segment each
 * way unweighted, pool_solve's choice) on locals. */
static void lean_factors(const pool *P, lean *L, risk__pool_factors *out)
{
    double A_bk = L->a_bk, B_bk = L->b_bk, c1_a, c1_b;
    lean_coeffs(L, 1.0, &c1_a, &c1_b);
    out->has_options = 0;
    out->unsolved = 0;
    out->liquidatable = c1_a + c1_b < 0.0;
    int above = c1_a + c1_b >= 0.0;
    double k_up = 0.0, k_dn = 0.0, s_up = 0.0, s_dn = 0.0;
    int has_up = lean_walk(L, 1, above, &k_up, &s_up);
    int has_dn = lean_walk(L, 0, above, &k_dn, &s_dn);
    out->has_below = (uint32_t)has_dn;
    out->below_k = k_dn;
    out->below_up = s_dn > 0.0;
    out->has_above = (uint32_t)has_up;
    out->above_k = k_up;
    out->above_up = s_up > 0.0;
    lean_pick(above, B_bk, has_up, k_up, s_up > 0.0, has_dn, k_dn, s_dn > 0.0, &out->has_liquidation,
              &out->liquidation_k, &out->liquidation_up);
    above = A_bk + B_bk >= 0.0; /* unweighted: no tier, one segment each way */
    k_up = k_dn = s_up = s_dn = 0.0;
    has_up = segment_root(A_bk, B_bk, 1.0, INFINITY, 1, above, &k_up, &s_up);
    has_dn = segment_root(A_bk, B_bk, 1.0, 0.0, 0, above, &k_dn, &s_dn);
    lean_pick(above, B_bk, has_up, k_up, s_up > 0.0, has_dn, k_dn, s_dn > 0.0, &out->has_bankruptcy,
              &out->bankruptcy_k, &out->bankruptcy_up);
    if (P->a->margin_mode == RISK_MARGIN_PORTFOLIO) /* liquidation by the portfolio model (portfolio/pm.c) */
        risk__pm_pool_factors(P->a, out);
}

/* Solves a pool whose fixed part is cached and whose moving positions are listed: on its lean
 * program when it has one (the same bits), else by pool_coeffs. */
static void pool_factors_solve_cached(pool *P, risk__pool_factors *out)
{
    double A_bk, B_bk, k;
    int up;
    lean lean_copy;
    if (lean_build(P, &lean_copy)) {
        lean_factors(P, &lean_copy, out);
        return;
    }
    int options = pool_has_options(P);
    out->has_options = (uint32_t)options;
    P->bankrupt = 1;
    P->fixed = P->fixed_bk;
    pool_coeffs(P, 1.0, &A_bk, &B_bk);
    P->eq_b = B_bk;
    P->bankrupt = 0;
    P->fixed = P->fixed_mm;
    pool_coeffs(P, 1.0, &P->c1_a, &P->c1_b);
    out->liquidatable = options ? !(surplus_at(P, 1.0) >= 0.0) : P->c1_a + P->c1_b < 0.0;
    roots r;
    int defined = 1;
    if (options)
        defined = pool_roots_options(P, &r);
    else
        pool_roots_affine(P, &r);
    out->unsolved = (uint32_t)!defined;
    if (defined) {
        out->has_below = (uint32_t)r.has_dn;
        out->below_k = r.k_dn;
        out->below_up = (uint32_t)r.dn_rising;
        out->has_above = (uint32_t)r.has_up;
        out->above_k = r.k_up;
        out->above_up = (uint32_t)r.up_rising;
    }
    if (defined && pool_solve(P, options, &r, &k, &up)) {
        out->has_liquidation = 1;
        out->liquidation_k = k;
        out->liquidation_up = (uint32_t)up;
    }
    P->bankrupt = 1;
    P->fixed = P->fixed_bk;
    P->c1_a = A_bk;
    P->c1_b = B_bk;
    if (options)
        defined = pool_roots_options(P, &r);
    else
        pool_roots_affine(P, &r);
    if (defined && pool_solve(P, options, &r, &k, &up)) {
        out->has_bankruptcy = 1;
        out->bankruptcy_k = k;
        out->bankruptcy_up = (uint32_t)up;
    }
    if (P->a->margin_mode == RISK_MARGIN_PORTFOLIO) /* liquidation by the portfolio model (portfolio/pm.c) */
        risk__pm_pool_factors(P->a, out);
}

static void pool_init(pool *P, const risk_account *a, uint32_t underlying, uint32_t isolated_slot)
{
    memset(P, 0, offsetof(pool, own));
    P->a = a;
    P->u = underlying;
    P->isolated = isolated_slot != RISK_ID_NONE;
    P->slot = isolated_slot;
}

void risk__pool_factors_solve(const risk_account *a, uint32_t underlying, uint32_t isolated_slot,
                              risk__pool_factors *out)
{
    memset(out, 0, sizeof *out);
    out->underlying = underlying;
    out->isolated_slot = isolated_slot;
    pool P;
    pool_init(&P, a, underlying, isolated_slot);
    pool_cache_fixed(&P);
    pool_factors_solve_cached(&P, out);
}

/* ------------------------------------------------------------ the account's index
 * Each cross term's held value h (its contribution with nothing moving: at margin and
 * unweighted) is computed once, and the sum of all of them once, compensated (Neumaier), so
 * that the fixed part for u is that sum less the h of u's moving terms, to rounding of the
 * largest term: the roots agree with a direct sum far below one tick (differential test in
 * tests/test_liquidation.c). Positions are chained per asset, by underlying and by settle. */

static uint32_t index_find(const risk__pool_index *x, uint32_t asset)
{
    uint32_t h = (asset * 2654435761u) & (RISK__POOL_INDEX_HASH - 1);
    while (x->key[h] != asset && x->key[h] != RISK_ID_NONE)
        h = (h + 1) & (RISK__POOL_INDEX_HASH - 1);
    return h;
}

static uint32_t index_slot(risk__pool_index *x, uint32_t asset)
{
    uint32_t h = index_find(x, asset);
    if (x->key[h] == RISK_ID_NONE) {
        x->key[h] = asset;
        x->head_u[h] = x->head_s[h] = x->cached[h] = RISK_ID_NONE;
    }
    return h;
}

static void neumaier_add(double *sum, double *comp, double v)
{
    double t = *sum + v;
    *comp += fabs(*sum) >= fabs(v) ? (*sum - t) + v : (v - t) + *sum;
    *sum = t;
}

/* The held value of balance j of the cross pool (bankrupt: unweighted). */
static double basket_held(const pool *P, uint32_t j)
{
    const risk_account *acct = P->a;
    const risk__asset *as = &acct->engine->assets[acct->basket.asset[j]];
    double x = risk__balance_of(as, acct->basket.amount[j]);
    if (P->bankrupt)
        return x * as->price;
    double w_init, w_maint;
    risk__asset_weights(as, x, &w_init, &w_maint);
    return x > 0.0 ? as->price * risk__tiered_qty(as, x) * w_maint : x * as->price * w_maint;
}

/* The held value of cross position i at margin and unweighted: pool_coeffs of the one position
 * with nothing moving (u none, nothing cached, no balance), by the same expressions. */
static void held_values(const risk_account *a, uint32_t i, double *mm, double *bk)
{
    const risk_engine *e = a->engine;
    const risk__instrument *in = &e->instruments[a->inst[i]];
    double q = a->qty[i], E = a->entry[i], M = in->mark, cs = in->contract_size;
    double ps = e->assets[in->settle].price;
    double A_mm = 0.0, A_bk = 0.0;
    if (e->funding_active) {
        double got = risk__funding_pending(a, i) * ps;
        A_mm += got;
        A_bk += got;
    }
    if (in->kind == RISK_KIND_OPTION) { /* held value and margin (none unweighted) */
        risk__position_values pv;
        risk__option_values_compute(in, q, &pv);
        A_mm += (pv.upnl - pv.mm) * ps;
        A_bk += (pv.upnl - 0.0) * ps;
    } else { /* mark held */
        double Nm = margin_notional_at(in, q, E, 1.0);
        uint32_t t = risk__schedule_tier(&in->schedule, Nm);
        double mmr = risk__size_premium_rate(in, fabs(q) * cs, in->schedule.tiers[t].mmr);
        double cum = in->schedule.tiers[t].cum;
        double fee_rate = in->liq_with_fee ? in->taker_fee : 0.0;
        double upnl = in->inverse ? q * cs * (1.0 / E - 1.0 / M) : q * cs * (M - E);
        double fee = fee_rate * fabs(q) * cs * (in->inverse ? 1.0 / M : M);
        A_mm += (upnl - (Nm * mmr - cum) - fee) * ps;
        Nm = mmr = cum = 0.0; /* unweighted: pool_coeffs leaves them 0 */
        A_bk += (upnl - (Nm * mmr - cum) - fee) * ps;
    }
    *mm = A_mm;
    *bk = A_bk;
}

/* Indexes the account's cross pool; leaves the index off (n_pos 0) past RISK__POOL_INDEX_MAX
 * positions, where each solve scans the account. */
static void index_build(const risk_account *a, risk__pool_index *x)
{
    x->n_pos = 0;
    if (a->n_pos == 0 || a->n_pos > RISK__POOL_INDEX_MAX)
        return;
    for (uint32_t h = 0; h < RISK__POOL_INDEX_HASH; h++)
        x->key[h] = RISK_ID_NONE;
    pool P;
    pool_init(&P, a, RISK_ID_NONE, RISK_ID_NONE); /* nothing moves: each term's held value */
    P.no_basket = 1;
    double sum[2] = {0.0, 0.0}, comp[2] = {0.0, 0.0};
    const risk__instrument *instruments = a->engine->instruments;
    for (uint32_t i = a->n_pos; i-- > 0;) { /* pushed in front: chains in slot order */
        if (a->pflags[i] & RISK__PF_ISOLATED)
            continue;
        held_values(a, i, &x->held[0][i], &x->held[1][i]);
        neumaier_add(&sum[0], &comp[0], x->held[0][i]);
        neumaier_add(&sum[1], &comp[1], x->held[1][i]);
        const risk__instrument *in = &instruments[a->inst[i]];
        uint32_t h = index_slot(x, in->underlying);
        x->next_u[i] = x->head_u[h];
        x->head_u[h] = i;
        if (in->settle != in->underlying) {
            h = index_slot(x, in->settle);
            x->next_s[i] = x->head_s[h];
            x->head_s[h] = i;
        }
    }
    for (uint32_t j = 0; j < a->basket.n; j++)
        for (uint32_t b = 0; b < 2; b++) {
            P.bankrupt = b;
            neumaier_add(&sum[b], &comp[b], basket_held(&P, j));
        }
    for (uint32_t b = 0; b < 2; b++) {
        x->sum[b] = sum[b];
        x->comp[b] = comp[b];
    }
    x->n_pos = a->n_pos;
}

/* The cross pool's factors on u from the index: u's moving positions listed in slot order, the
 * fixed part as the held sum less their held values and u's balance. */
static void index_solve(const risk_account *a, risk__pool_index *x, uint32_t u, risk__pool_factors *out)
{
    memset(out, 0, sizeof *out);
    out->underlying = u;
    out->isolated_slot = RISK_ID_NONE;
    pool P;
    pool_init(&P, a, u, RISK_ID_NONE);
    uint32_t h = index_find(x, u), n = 0;
    uint32_t iu = x->head_u[h], is = x->head_s[h];
    double moving[2] = {0.0, 0.0};
    while (iu != RISK_ID_NONE || is != RISK_ID_NONE) { /* merge the two chains */
        uint32_t i;
        if (is == RISK_ID_NONE || (iu != RISK_ID_NONE && iu < is)) {
            i = iu;
            iu = x->next_u[iu];
        } else {
            i = is;
            is = x->next_s[is];
        }
        x->moving[n++] = i;
        moving[0] += x->held[0][i];
        moving[1] += x->held[1][i];
    }
    for (uint32_t j = 0; j < a->basket.n; j++)
        if (a->basket.asset[j] == u)
            for (uint32_t b = 0; b < 2; b++) {
                P.bankrupt = b;
                moving[b] += basket_held(&P, j);
            }
    P.bankrupt = 0;
    P.fixed_mm = (x->sum[0] - moving[0]) + x->comp[0];
    P.fixed_bk = (x->sum[1] - moving[1]) + x->comp[1];
    P.fixed = P.fixed_mm;
    P.list = x->moving;
    P.n_list = n;
    P.fixed_state = FIXED_CACHED;
    pool_factors_solve_cached(&P, out);
}

const risk__pool_factors *risk__pool_factors_for(const risk_account *a, uint32_t slot, risk__pool_cache *cache)
{
    uint32_t u = a->engine->instruments[a->inst[slot]].underlying;
    if (a->pflags[slot] & RISK__PF_ISOLATED) {
        risk__pool_factors_solve(a, u, slot, &cache->own);
        return &cache->own;
    }
    risk__pool_index *x = &cache->index;
    if (cache->n_cross == 0) /* the first cross solve of the account: index it */
        index_build(a, x);
    if (x->n_pos) {
        uint32_t h = index_find(x, u);
        if (x->cached[h] != RISK_ID_NONE)
            return &cache->cross[x->cached[h]];
        risk__pool_factors *f = &cache->own;
        if (cache->n_cross < RISK__POOL_CACHE) {
            x->cached[h] = cache->n_cross;
            f = &cache->cross[cache->n_cross++];
        }
        index_solve(a, x, u, f);
        return f;
    }
    for (uint32_t c = 0; c < cache->n_cross; c++)
        if (cache->cross[c].underlying == u)
            return &cache->cross[c];
    risk__pool_factors *f = cache->n_cross < RISK__POOL_CACHE ? &cache->cross[cache->n_cross++] : &cache->own;
    risk__pool_factors_solve(a, u, RISK_ID_NONE, f);
    return f;
}

/* risk__whole_against without a branch on the fraction (the sign of a PnL, the side of a
 * root: a data-dependent branch mispredicts about every other position): the compare's 0 or 1
 * moves the truncated integer, which converts to the same whole number, the same bits (a zero
 * converts to +0, as risk__whole_against's truncation gives it). */
LEAN_INLINE double whole_against(double n, int up)
{
    double an = fabs(n);
    double tol = 8.9e-16 * (an > 1.0 ? an : 1.0);
    tol = tol < 0.0625 ? tol : 0.0625;
    double x = up ? n - tol : n + tol;
    int64_t i = (int64_t)x; /* toward zero; |x| < 2^52 + 1/16, so i +- 1 converts exactly */
    i += up ? (int64_t)((double)i < x) : -(int64_t)((double)i > x);
    return (double)i;
}

/* risk__quantize by whole_against. */
LEAN_INLINE double quantize(double value, double quantum_scale, int up)
{
    double n = value * quantum_scale;
    if (!(fabs(n) < 4503599627370496.0)) /* 2^52: already as coarse as the quantum */
        return value;
    return whole_against(n, up) / quantum_scale;
}

/* risk__round_to_step on one step for several values: the step's integral reciprocal (when it
 * has one) found once. The same bits. */
typedef struct tick_round {
    double step, inv;
    int use_inv;
} tick_round;

static void tick_round_init(tick_round *r, double step)
{
    r->step = step;
    r->inv = nearbyint(1.0 / step);
    r->use_inv = r->inv >= 1.0 && fabs(r->inv * step - 1.0) <= 1e-12;
}

LEAN_INLINE double tick_round_apply(const tick_round *r, double value, int up)
{
    double n = value / r->step;
    if (!(fabs(n) < 4503599627370496.0)) /* 2^52 */
        return value;
    double whole = whole_against(n, up);
    return r->use_inv ? whole / r->inv : whole * r->step;
}

void risk__position_result_fill(const risk_account *a, uint32_t slot, const risk__pool_factors *f,
                                risk_position_result *out)
{
    const risk_engine *e = a->engine;
    const risk__instrument *in = &e->instruments[a->inst[slot]];
    risk__position_values pv;
    risk__position_values_compute(in, a->qty[slot], a->entry[slot], a->im_rate[slot], &pv);
    int isolated = (a->pflags[slot] & RISK__PF_ISOLATED) != 0;

    uint32_t version = out->version, flags = 0;
    /* every field is written (no memset: the struct has no padding) */
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
        out->unrealized_pnl = quantize(pv.upnl, s, 0);
        out->initial_margin = quantize(pv.im, s, 1);
        out->maintenance_margin = quantize(pv.mm, s, 1);
    }
    if (f->liquidatable)
        flags |= RISK_RESULT_LIQUIDATABLE;
    out->liquidation_price = out->bankruptcy_price = NAN;
    out->liquidation_price_raw = out->bankruptcy_price_raw = NAN;
    /* a future's prices are its own mark moved by k; an option's are the underlying's price
     * (its mark is a premium), on the underlying's tick */
    int option = in->kind == RISK_KIND_OPTION;
    double ref = option ? in->opt_under : in->mark, tick = option ? in->underlying_tick : in->tick_size;
    tick_round tr = {0.0, 0.0, 0};
    if (f->has_liquidation | f->has_bankruptcy | f->has_below | f->has_above)
        tick_round_init(&tr, tick);
    if (f->has_liquidation) {
        flags |= RISK_RESULT_HAS_LIQUIDATION_PRICE;
        out->liquidation_price_raw = ref * f->liquidation_k;
        out->liquidation_price = tick_round_apply(&tr, out->liquidation_price_raw, (int)f->liquidation_up);
    }
    if (f->has_bankruptcy) {
        flags |= RISK_RESULT_HAS_BANKRUPTCY_PRICE;
        out->bankruptcy_price_raw = ref * f->bankruptcy_k;
        out->bankruptcy_price = tick_round_apply(&tr, out->bankruptcy_price_raw, (int)f->bankruptcy_up);
    }
    out->delta = out->gamma = out->vega = out->theta = out->mark_vol = 0.0;
    out->value = out->underlying_price = out->liquidation_price_below = out->liquidation_price_above = 0.0;
    if (version < 2) {
        out->flags = flags;
        return;
    }
    /* version 2: Greeks, both sides' liquidation prices */
    double size = out->qty * in->contract_size;
    out->mark_vol = NAN;
    if (option) {
        double vol = risk__option_vol(in, e->now_unix_s), d, g, v, th;
        risk__option_greeks(in, in->opt_under, vol, e->now_unix_s, &d, &g, &v, &th);
        out->mark_vol = vol;
        out->delta = size * d;
        out->gamma = size * g;
        out->vega = size * v;
        out->theta = size * th;
        out->unrealized_pnl = size * (in->mark - out->entry);
        if (!(e->flags & RISK_ENGINE_NO_QUANTIZE))
            out->unrealized_pnl = quantize(out->unrealized_pnl, risk__asset_scale(&e->assets[in->settle]), 0);
        out->value = size * in->mark;
        out->underlying_price = in->opt_under;
    } else {
        /* exposure in underlying units: q cs (linear), q cs / mark coins (inverse) */
        out->delta = in->inverse ? size / in->mark : size;
        out->value = pv.upnl;
        out->underlying_price = in->mark;
    }
    if (f->unsolved)
        flags |= RISK_RESULT_UNSOLVED;
    out->liquidation_price_below = out->liquidation_price_above = NAN;
    if (f->has_below) {
        flags |= RISK_RESULT_HAS_LIQUIDATION_BELOW;
        out->liquidation_price_below = tick_round_apply(&tr, ref * f->below_k, (int)f->below_up);
    }
    if (f->has_above) {
        flags |= RISK_RESULT_HAS_LIQUIDATION_ABOVE;
        out->liquidation_price_above = tick_round_apply(&tr, ref * f->above_k, (int)f->above_up);
    }
    out->flags = flags;
}
