/* SPDX-License-Identifier: Apache-2.0 */
/* Book stress tests (docs/stress.md): every account revalued under a batch of scenarios with
 * worker threads, reduced per scenario into exact, mergeable sums; exposure and concentration
 * by underlying.
 *
 * Exactness: an account's contribution to a book sum is its value in whole quanta of the
 * valuation asset (an int64), and the book sum is an integer (hi x 2^32 + lo), so the order in
 * which threads or shards add does not matter: any split gives the same bits. */
#include "portfolio/scenario.h"
#include "margin/schedule.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ exact sums */

#define TWO32 4294967296.0
#define Q_MAX 4611686018427387904.0 /* 2^62: |quanta| clamped here (outside the input domain) */

/* nearbyint(x) in the default rounding mode (nearest, ties to even), without the library call
 * (one per account and scenario): below 2^52, adding and subtracting 2^52 rounds |x| to a whole
 * number by the addition's own rounding; from 2^52 on every double is whole. NaN stays NaN. */
static inline double round_nearest(double x)
{
    double ax = fabs(x);
    if (!(ax < 4503599627370496.0))
        return x;
    return copysign((ax + 4503599627370496.0) - 4503599627370496.0, x);
}

static int64_t quanta_of(double value, double scale)
{
    double n = round_nearest(value * scale);
    if (!(n == n))
        return 0; /* NaN: a broken summary, reported by its state; contributes nothing */
    if (n > Q_MAX)
        n = Q_MAX;
    if (n < -Q_MAX)
        n = -Q_MAX;
    return (int64_t)n;
}

static void xsum_add_q(risk_exact_sum *x, int64_t n)
{
    int64_t lo = (int64_t)((uint64_t)n & 0xffffffffu);
    x->hi += (n - lo) / (int64_t)4294967296LL;
    x->lo += lo;
    x->hi += x->lo >> 32; /* lo >= 0 */
    x->lo &= 0xffffffff;
}

static void xsum_merge(risk_exact_sum *into, const risk_exact_sum *from)
{
    into->hi += from->hi;
    into->lo += from->lo;
    into->hi += into->lo >> 32;
    into->lo &= 0xffffffff;
}

static double xsum_value(const risk_exact_sum *x, double scale)
{
    return ((double)x->hi * TWO32 + (double)x->lo) / scale;
}

static int xsum_ok(const risk_exact_sum *x)
{
    return x->lo >= 0 && x->lo < (int64_t)4294967296LL;
}

static double v_scale(const risk_engine *e)
{
    return e->valuation == RISK_ID_NONE ? 1.0 : risk__asset_scale(&e->assets[e->valuation]);
}

/* ------------------------------------------------------------ the vector path

   Accounts whose every position is a linear cross perpetual or future margined at the mark (the
   instrument not `general`, no unrealised-PnL weight) whose notional crosses at most three tier
   caps over the batch (today's mark included), and whose balances are in assets without
   size-scaled weights, in an account that is not a portfolio account, go through a lane kernel
   (stress/stress_lanes.h): scenarios outer, a vector of them at a time, positions inner, the sums
   in registers; then the equity, health factor and state of those scenarios and their book
   partials, without storing the sums; the account's own equity and state (the base of its P&L)
   come from one more lane holding today's prices (fast_tables_build). Each lane does, in the same
   order, the IEEE operations risk__scen_revalue and risk__scen_states do for its scenario, so
   the results are the same bits. The kernel is one source compiled at three widths: AVX-512 (8
   lanes) and AVX2 (4) clones chosen at run time on x86-64, and the baseline (2 lanes: SSE2 on
   x86-64, any other architecture's 16-byte vectors or scalar code). Other accounts take the
   scalar path. */

#define FAST_MAX_POS 64       /* larger accounts take the scalar path */
#define FAST_MAX_BAL 32
#define FAST_PAD 8            /* scenario rows (and the base lane) padded to a multiple of every width */
#define FAST_SUMS 12          /* book partials a scenario: see stress_lanes.h */
#define FAST_RAW 2048         /* accounts between two carries (fast_carry) */

typedef struct fast_pos {
    const double *mark, *settle; /* padded rows */
    double aq, qc, entry;
    /* FAST_ONE: one tier over the batch, its numbers in [0]; FAST_TWO: tiers [0] and [1] on either
     * side of cap[0]; FAST_FOUR: up to four tiers, caps cap[0..2] (+inf past the last); plus
     * FAST_UNIT when the settle asset's price is 1 in every scenario (x 1 is exact: skipped) */
    uint32_t mode;
    double cap[3], mmr[4], cum[4], rate[4];
} fast_pos;

#define FAST_ONE 0u
#define FAST_TWO 1u
#define FAST_FOUR 2u
#define FAST_UNIT 4u

typedef struct fast_bal {
    const double *price;
    double amount, tq, w_init, w_maint; /* tq: collateral only */
    uint32_t collateral;                /* amount > 0 */
} fast_bal;

typedef struct fast_fund { /* a cross position's pending funding, in position order */
    const double *settle;
    double got;
} fast_fund;

typedef struct fast_acct {
    fast_pos pos[FAST_MAX_POS];
    fast_bal bal[FAST_MAX_BAL];
    fast_fund fund[FAST_MAX_POS];
    uint32_t n_pos, n_bal, n_fund, owes_pos;
    double base_equity;         /* set by the kernel from the base lane */
    uint32_t new_liq, new_bank; /* the account is below liquidatable / not bankrupt before */
} fast_acct;

typedef struct fast_ctx {
    size_t S, S8; /* scenarios; padded to FAST_PAD */
    int quantize;
    double qscale;   /* the quantization's scale (risk__scen_ctx) */
    double vscale;   /* quanta of the book sums */
    double mch;      /* margin-call health */
    double clear_k, clear_e; /* 4 x mch and two quanta: see stress_lanes.h */
    const double *w; /* padded weights, or NULL */
} fast_ctx;

typedef struct fast_out { /* per-account rows at [k x S], or NULL */
    double *pnl, *equity, *health;
    uint32_t *state;
} fast_out;

typedef void (*fast_fn)(const fast_ctx *, fast_acct *, int64_t *, const fast_out *, size_t);

#define TWO52 4503599627370496.0
#define MAGIC 6755399441055744.0 /* 1.5 x 2^52: v + MAGIC holds the whole v (|v| < 2^51) in its low bits */

/* The lane helpers take and return vectors wider than the baseline's registers; they are always
 * inlined, so no call crosses an ABI boundary and GCC's note that the ABI would differ is moot
 * (GCC gives it at the end of the file, so it is off for the rest of the file; no function of
 * this file with external linkage takes or returns a vector). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

/* -DRISK_NO_SIMD leaves the x86 clones out here as it does the sweep's (core/evaluate.c): one
 * build switch for every hand-vectorised path; the baseline kernel stays */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(RISK_NO_SIMD)
#define FAST_X86 1
#include <immintrin.h>
#endif

#define FW 2
#define FW_NAME(x) x##_base
#define FW_TARGET
#include "stress/stress_lanes.h"

#if defined(FAST_X86)
#define FW 4
#define FW_NAME(x) x##_avx2
#define FW_TARGET __attribute__((target("avx2")))
#include "stress/stress_lanes.h"

#define FW 8
#define FW_NAME(x) x##_avx512
#define FW_TARGET __attribute__((target("avx512f,avx512dq")))
#include "stress/stress_lanes.h"
#endif

/* ------------------------------------------------------------ stress */

typedef struct part { /* one thread's per-scenario book partials */
    uint64_t n_liq, n_bank, n_new_liq, n_new_bank;
    risk_exact_sum pnl, loss, deficit;
} part;

/* The vector path's tables: the rows of risk__scen_tables padded to whole vectors (the last
 * scenario repeated; the padding lanes' results are never read), which instruments it takes,
 * and the kernel chosen for this machine. */
typedef struct fast_tables {
    fast_fn fn; /* NULL: every account takes the scalar path */
    size_t S8;
    double *price, *mark, *w;
    const double *mark_lo, *mark_hi;
    unsigned char *inst_ok; /* per instrument: the vector path takes it */
    unsigned char *unit;    /* per asset: its price is exactly 1 in every scenario */
    void *block;
} fast_tables;

/* The kernel for this CPU, capped by the environment variable RISK_STRESS_SIMD ("off": the
 * scalar path for every account; "baseline", "avx2", "avx512": at most that instruction set).
 * Every choice gives the same bits (tests/test_scenario.c runs each). */
static fast_fn fast_pick(void)
{
    const char *cap = getenv("RISK_STRESS_SIMD");
    if (cap && strcmp(cap, "off") == 0)
        return NULL;
#if defined(FAST_X86)
    __builtin_cpu_init(); /* idempotent; as the sweep's check, should a stress run before the constructors */
    int allow512 = !cap || strcmp(cap, "avx512") == 0, allow2 = allow512 || strcmp(cap, "avx2") == 0;
    if (allow512 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
        return fast_account_avx512;
    if (allow2 && __builtin_cpu_supports("avx2"))
        return fast_account_avx2;
#endif
    return fast_account_base;
}

static int fast_tables_build(const risk_engine *e, const risk__scen_tables *t, fast_tables *ft)
{
    memset(ft, 0, sizeof *ft);
    ft->fn = fast_pick();
    if (!ft->fn)
        return RISK_OK;
    /* lane S: the market as it is (the base lane), then padding */
    size_t S = t->n_s, S8 = (S + 1 + FAST_PAD - 1) / FAST_PAD * FAST_PAD, NA = e->n_assets, NI = e->n_instruments;
    size_t rows = NA + NI + 1;
    if (S8 > SIZE_MAX / sizeof(double) / (rows + 1))
        return RISK_ENOMEM;
    double *block = risk__malloc(e, (rows * S8 + 2 * NI) * sizeof(double) + NI + NA + 1);
    if (!block)
        return RISK_ENOMEM;
    ft->block = block;
    ft->S8 = S8;
    ft->price = block;
    ft->mark = block + NA * S8;
    ft->w = t->weights ? ft->mark + NI * S8 : NULL;
    double *lo = block + rows * S8, *hi = lo + NI;
    ft->mark_lo = lo;
    ft->mark_hi = hi;
    ft->inst_ok = (unsigned char *)(hi + NI);
    ft->unit = ft->inst_ok + NI;
    /* The base lane holds the prices and marks as they are, which a move of 0 gives (x (1 + 0)
     * is exact): its equity and state are the account's before any move, the bits evaluation
     * gives (the zero scenario's contract, docs/stress.md 1.4), so the vector path needs no
     * separate evaluation. Options' rows (never read by the vector path) repeat their last
     * scenario. The extreme marks take in the base lane, so the tier windows cover it. */
    for (size_t r = 0; r < NA + NI; r++) {
        const double *src = r < NA ? t->price + r * S : t->mark + (r - NA) * S;
        double *dst = block + r * S8;
        memcpy(dst, src, S * sizeof(double));
        double now = r < NA ? e->assets[r].price : e->instruments[r - NA].kind == RISK_KIND_OPTION
                                                       ? src[S - 1]
                                                       : e->instruments[r - NA].mark;
        for (size_t s = S; s < S8; s++)
            dst[s] = now;
        if (r >= NA) {
            size_t i = r - NA;
            lo[i] = now < t->mark_lo[i] ? now : t->mark_lo[i];
            hi[i] = now > t->mark_hi[i] ? now : t->mark_hi[i];
        }
    }
    if (ft->w) {
        memcpy(ft->w, t->weights, S * sizeof(double));
        for (size_t s = S; s < S8; s++)
            ft->w[s] = 0.0;
    }
    for (size_t a = 0; a < NA; a++) {
        const double *row = ft->price + a * S8;
        size_t s = 0;
        while (s < S8 && row[s] == 1.0)
            s++;
        ft->unit[a] = s == S8;
    }
    for (size_t i = 0; i < NI; i++) {
        const risk__instrument *in = &e->instruments[i];
        ft->inst_ok[i] = in->kind != RISK_KIND_OPTION && !in->general && !(e->n_upnl_weighted && in->upnl_weighted);
    }
    return RISK_OK;
}

static void fast_tables_release(const risk_engine *e, fast_tables *ft)
{
    risk__free(e, ft->block);
    ft->block = NULL;
}

/* An account's positions and balances for the vector path; 0 when it must take the scalar path
 * (a portfolio account, an isolated position, an instrument the path does not take, more than
 * four tiers spanned over the batch, a size-scaled asset, too many entries). */
static int fast_setup(const risk_engine *e, const risk_account *a, const fast_tables *ft, fast_acct *fa)
{
    if (a->margin_mode == RISK_MARGIN_PORTFOLIO || a->n_pos > FAST_MAX_POS || a->basket.n > FAST_MAX_BAL)
        return 0;
    size_t S8 = ft->S8;
    fa->n_fund = 0;
    for (uint32_t i = 0; i < a->n_pos; i++) {
        uint32_t ii = a->inst[i];
        const risk__instrument *in = &e->instruments[ii];
        if (!ft->inst_ok[ii] || (a->pflags[i] & RISK__PF_ISOLATED))
            return 0;
        const risk__schedule *sch = &in->schedule;
        fast_pos *p = &fa->pos[i];
        double q = a->qty[i], cs = in->contract_size, imr = a->im_rate[i];
        p->mark = ft->mark + (size_t)ii * S8;
        p->settle = ft->price + (size_t)in->settle * S8;
        p->aq = fabs(q) * cs;
        p->qc = q * cs;
        p->entry = a->entry[i];
        /* The tiers at the lowest and highest moved marks (revalue_future's test): the notional
         * |q| cs m is monotone in m, so every scenario's tier lies in [t_lo, t_hi], and there it
         * is t_lo plus the number of the caps t_lo .. t_hi - 1 below the notional (the caps
         * below t_lo are below every notional, those from t_hi on above). The same tier, so the
         * same numbers, as risk__schedule_tier gives. */
        uint32_t t_lo = risk__schedule_tier(sch, p->aq * ft->mark_lo[ii]);
        uint32_t t_hi = risk__schedule_tier(sch, p->aq * ft->mark_hi[ii]);
        if (t_hi - t_lo > 3)
            return 0;
        p->mode = t_hi == t_lo ? FAST_ONE : t_hi == t_lo + 1 ? FAST_TWO : FAST_FOUR;
        uint32_t nk = p->mode == FAST_FOUR ? 4 : t_hi - t_lo + 1; /* the entries the mode reads */
        for (uint32_t k = 0; k < nk; k++) {
            uint32_t j = t_lo + k < t_hi ? t_lo + k : t_hi;
            p->mmr[k] = sch->tiers[j].mmr;
            p->cum[k] = sch->tiers[j].cum;
            p->rate[k] = risk__schedule_im_rate(sch, j, imr);
        }
        for (uint32_t k = 0; k + 1 < nk; k++)
            p->cap[k] = t_lo + k < t_hi ? sch->tiers[t_lo + k].notional_cap : INFINITY;
        if (ft->unit[in->settle])
            p->mode |= FAST_UNIT;
        if (e->funding_active) { /* pending funding, added after the positions (risk__scen_revalue) */
            double got = risk__funding_pending(a, i);
            if (got != 0.0) {
                fa->fund[fa->n_fund].settle = p->settle;
                fa->fund[fa->n_fund++].got = got;
            }
        }
    }
    const risk_basket *b = &a->basket;
    for (uint32_t k = 0; k < b->n; k++) {
        const risk__asset *as = &e->assets[b->asset[k]];
        if (as->size_scaled)
            return 0;
        fast_bal *bl = &fa->bal[k];
        double amount = risk__balance_of(as, b->amount[k]);
        bl->price = ft->price + (size_t)b->asset[k] * S8;
        bl->amount = amount;
        bl->collateral = amount > 0.0;
        if (bl->collateral) {
            bl->tq = risk__tiered_qty(as, amount);
            bl->w_init = as->weight_init;
            bl->w_maint = as->weight_maint;
        } else {
            bl->tq = 0.0;
            bl->w_init = as->liab_weight_init;
            bl->w_maint = as->liab_weight_maint;
        }
    }
    fa->n_pos = a->n_pos;
    fa->n_bal = b->n;
    fa->owes_pos = a->n_pos > 0;
    return 1;
}

/* Carries the raw rows of the vector path's sums into their hi and lo rows, and the lo rows'
 * excess into hi: due every FAST_RAW accounts, long before an int64 could overflow (a raw add
 * is below 2^51 in magnitude, a lo add below 2^32). */
static void fast_carry(int64_t *sums, size_t S8)
{
    for (int pair = 0; pair < 2; pair++) /* the raw rows into hi and lo, exactly */
        for (size_t s = 0; s < S8; s++) {
            int64_t *raw = &sums[(10 + pair) * S8 + s];
            int64_t lo = (int64_t)((uint64_t)*raw & 0xffffffffu); /* *raw = hi x 2^32 + lo, lo >= 0 */
            sums[2 * pair * S8 + s] += (*raw - lo) / (int64_t)4294967296LL;
            sums[(2 * pair + 1) * S8 + s] += lo;
            *raw = 0;
        }
    for (int pair = 0; pair < 3; pair++)
        for (size_t s = 0; s < S8; s++) {
            int64_t *hi = &sums[2 * pair * S8 + s], *lo = &sums[(2 * pair + 1) * S8 + s];
            *hi += *lo >> 32;
            *lo &= 0xffffffff;
        }
}

/* hi x 2^32 + lo (lo >= 0), negated when neg, into x (exact) */
static void xsum_add_pair(risk_exact_sum *x, int64_t hi, int64_t lo, int neg)
{
    risk_exact_sum v = {hi + (lo >> 32), lo & 0xffffffff};
    if (neg) {
        v.hi = -v.hi;
        if (v.lo) {
            v.hi -= 1;
            v.lo = (int64_t)4294967296LL - v.lo;
        }
    }
    xsum_merge(x, &v);
}

/* The vector path's sums of scenario s into a thread's partial p. */
static void fast_sums_into(const int64_t *sums, size_t S8, size_t s, part *p)
{
    const int64_t *x = sums + s;
    xsum_add_pair(&p->pnl, x[0], x[S8], 0);
    xsum_add_pair(&p->loss, x[2 * S8], x[3 * S8], 1);
    xsum_add_pair(&p->deficit, x[4 * S8], x[5 * S8], 1);
    p->n_liq += (uint64_t)x[6 * S8];
    p->n_bank += (uint64_t)x[7 * S8];
    p->n_new_liq += (uint64_t)x[8 * S8];
    p->n_new_bank += (uint64_t)x[9 * S8];
}

typedef struct stress_chunk {
    const risk_engine *engine;
    const risk__scen_tables *t;
    const fast_tables *ft;
    const risk_scenarios *sc;
    risk__scen_acc acc;
    part *parts;   /* S */
    int64_t *fast; /* the vector path's sums: FAST_SUMS x S8 */
    size_t slot_begin, slot_end, out_begin, n_accounts;
    double *pnl, *equity, *health;
    uint32_t *state;
    uint64_t *ids;
    double scale;
} stress_chunk;

static void *stress_run(void *arg)
{
    stress_chunk *c = arg;
    const risk_engine *e = c->engine;
    size_t S = c->t->n_s;
    const double *w = c->t->weights;
    size_t k = c->out_begin;
    risk__scen_ctx ctx;
    risk__scen_ctx_init(e, &ctx);
    const fast_tables *ft = c->ft;
    fast_ctx fc = {S,
                   ft->S8,
                   ctx.quantize,
                   ctx.scale,
                   c->scale,
                   ctx.margin_call_health,
                   4.0 * ctx.margin_call_health,
                   ctx.quantize ? 2.0 / ctx.scale : 0.0,
                   ft->w};
    fast_out fo = {c->pnl, c->equity, c->health, c->state};
    fast_acct fa;
    uint32_t since_carry = 0;
    for (size_t slot = c->slot_begin; slot < c->slot_end; slot++) {
        const risk_account *a = e->accounts[slot];
        if (!a)
            continue;
        if (ft->fn && fast_setup(e, a, ft, &fa)) { /* the base from the base lane */
            ft->fn(&fc, &fa, c->fast, &fo, k * S);
            if (++since_carry == FAST_RAW) {
                fast_carry(c->fast, ft->S8);
                since_carry = 0;
            }
            if (c->ids)
                c->ids[k] = a->id;
            k++;
            c->n_accounts++;
            continue;
        }
        risk__account_values v0;
        risk_account_summary base = RISK_ACCOUNT_SUMMARY_INIT;
        risk__account_values_compute(a, &v0);
        risk__account_summary_fill(a, &v0, &base);
        risk__scen_revalue(a, c->t, &c->acc);
        if (a->margin_mode == RISK_MARGIN_PORTFOLIO) /* the portfolio requirement at each scenario */
            risk__pm_scen_margins(a, c->sc, c->t, &c->acc);
        risk__scen_states(&ctx, a->n_pos, &c->acc, S);
        for (size_t s = 0; s < S; s++) {
            risk_account_summary sum; /* the three fields risk__scen_states gives */
            sum.equity = c->acc.equity[s];
            sum.health_factor = c->acc.health[s];
            sum.state = c->acc.state[s];
            double pnl = sum.equity - base.equity;
            if (w)
                pnl = w[s] * pnl;
            size_t o = k * S + s;
            if (c->pnl)
                c->pnl[o] = pnl;
            if (c->equity)
                c->equity[o] = sum.equity;
            if (c->health)
                c->health[o] = sum.health_factor;
            if (c->state)
                c->state[o] = sum.state;
            part *p = &c->parts[s];
            int64_t q = quanta_of(pnl, c->scale);
            xsum_add_q(&p->pnl, q);
            if (q < 0)
                xsum_add_q(&p->loss, -q);
            if (sum.equity < 0.0)
                xsum_add_q(&p->deficit, -quanta_of(sum.equity, c->scale));
            if (sum.state == RISK_STATE_LIQUIDATABLE) {
                p->n_liq++;
                p->n_new_liq += base.state < RISK_STATE_LIQUIDATABLE;
            } else if (sum.state == RISK_STATE_BANKRUPT) {
                p->n_bank++;
                p->n_new_bank += base.state != RISK_STATE_BANKRUPT;
            }
        }
        if (c->ids)
            c->ids[k] = a->id;
        k++;
        c->n_accounts++;
    }
    if (ft->fn) {
        fast_carry(c->fast, ft->S8);
        for (size_t s = 0; s < S; s++)
            fast_sums_into(c->fast, ft->S8, s, &c->parts[s]);
    }
    return NULL;
}

#define STRESS_MAX_THREADS 256

RISK_API int risk_engine_stress(const risk_engine *engine, const risk_scenarios *scenarios,
                                risk_stress_scenario *book_out, double *pnl_out, double *equity_out,
                                double *health_out, uint32_t *state_out, uint64_t *ids_out, size_t capacity,
                                uint32_t threads, size_t *count_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message buffer is not engine state */
    if (!book_out || !count_out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "book_out or count_out is NULL");
    int rc = risk__scenarios_check(e, &e->errmsg, scenarios);
    if (rc)
        return rc;
    if (book_out[0].version != RISK_STRESS_SCENARIO_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "stress scenario result version %u is not %d",
                          book_out[0].version, RISK_STRESS_SCENARIO_VERSION);
    *count_out = e->n_accounts;
    int per_account = pnl_out || equity_out || health_out || state_out || ids_out;
    if (per_account && capacity < e->n_accounts)
        return risk__fail(e, &e->errmsg, RISK_EBUFFER, "%zu accounts, capacity %zu", e->n_accounts, capacity);
    if (threads > STRESS_MAX_THREADS)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "threads %u above %d", threads, STRESS_MAX_THREADS);
    if (threads == 0)
        threads = 1;
    if ((size_t)threads > e->n_account_slots / 64 + 1) /* a few accounts are not worth a thread */
        threads = (uint32_t)(e->n_account_slots / 64 + 1);
    size_t S = scenarios->n_scenarios;
    risk__scen_tables t;
    if ((rc = risk__scen_tables_build(e, &e->errmsg, scenarios, &t)))
        return rc;
    fast_tables ft;
    if (fast_tables_build(e, &t, &ft)) {
        risk__scen_tables_release(e, &t);
        return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for the padded scenario tables (%zu)", S);
    }
    stress_chunk chunks[STRESS_MAX_THREADS];
    part *parts = NULL;
    uint32_t made = 0;
    /* per thread: S parts, and the vector path's FAST_SUMS x S8 sums */
    size_t fast_n = ft.fn ? FAST_SUMS * ft.S8 : 0, per = S * sizeof(part) + fast_n * sizeof(int64_t);
    if (per <= SIZE_MAX / threads)
        parts = risk__malloc(e, per * threads);
    if (parts) {
        memset(parts, 0, per * threads);
        for (; made < threads; made++)
            if (risk__scen_acc_init(e, S, &chunks[made].acc))
                break;
            else
                chunks[made].acc.lean = 1; /* only risk__scen_states' results are read */
    }
    if (!parts || made < threads) {
        for (uint32_t i = 0; i < made; i++)
            risk__scen_acc_release(e, &chunks[i].acc);
        risk__free(e, parts);
        fast_tables_release(e, &ft);
        risk__scen_tables_release(e, &t);
        return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for %u x %zu scenario accumulators", threads, S);
    }
    int64_t *fast_sums = (int64_t *)(parts + (size_t)threads * S); /* part is a multiple of 8 bytes */
    size_t live_before = 0;
    double scale = v_scale(e);
    for (uint32_t i = 0; i < threads; i++) {
        stress_chunk *c = &chunks[i];
        c->engine = e;
        c->t = &t;
        c->ft = &ft;
        c->sc = scenarios;
        c->parts = parts + (size_t)i * S;
        c->fast = fast_sums + (size_t)i * fast_n;
        c->slot_begin = e->n_account_slots * i / threads;
        c->slot_end = e->n_account_slots * (i + 1) / threads;
        c->out_begin = live_before;
        c->n_accounts = 0;
        c->pnl = pnl_out;
        c->equity = equity_out;
        c->health = health_out;
        c->state = state_out;
        c->ids = ids_out;
        c->scale = scale;
        for (size_t s = c->slot_begin; s < c->slot_end; s++)
            live_before += e->accounts[s] != NULL;
    }
    pthread_t tids[STRESS_MAX_THREADS];
    uint32_t started = 0;
    for (uint32_t i = 1; i < threads; i++) {
        if (pthread_create(&tids[i], NULL, stress_run, &chunks[i]) != 0) {
            rc = RISK_ETHREAD;
            break;
        }
        started = i;
    }
    if (rc == RISK_OK)
        stress_run(&chunks[0]);
    for (uint32_t i = 1; i <= started; i++)
        pthread_join(tids[i], NULL);
    if (rc == RISK_OK) {
        uint32_t dec = e->valuation == RISK_ID_NONE ? 0u : e->assets[e->valuation].decimals;
        for (size_t s = 0; s < S; s++) {
            risk_stress_scenario r = RISK_STRESS_SCENARIO_INIT;
            r.decimals = dec;
            r.n_accounts = e->n_accounts;
            for (uint32_t i = 0; i < threads; i++) { /* exact: the order does not matter */
                const part *p = &chunks[i].parts[s];
                r.n_liquidatable += p->n_liq;
                r.n_bankrupt += p->n_bank;
                r.n_new_liquidatable += p->n_new_liq;
                r.n_new_bankrupt += p->n_new_bank;
                xsum_merge(&r.pnl_sum, &p->pnl);
                xsum_merge(&r.loss_sum, &p->loss);
                xsum_merge(&r.deficit_sum, &p->deficit);
            }
            r.pnl = xsum_value(&r.pnl_sum, scale);
            r.loss = xsum_value(&r.loss_sum, scale);
            r.deficit = xsum_value(&r.deficit_sum, scale);
            book_out[s] = r;
        }
    }
    for (uint32_t i = 0; i < threads; i++)
        risk__scen_acc_release(e, &chunks[i].acc);
    risk__free(e, parts);
    fast_tables_release(e, &ft);
    risk__scen_tables_release(e, &t);
    if (rc)
        return risk__fail(e, &e->errmsg, rc, "could not start %u worker threads", threads - 1);
    risk__clear(&e->errmsg);
    return RISK_OK;
}

static double pow10_of(uint32_t decimals)
{
    double s = 1.0;
    for (uint32_t i = 0; i < decimals; i++)
        s *= 10.0;
    return s; /* exact for decimals <= 22 */
}

RISK_API int risk_stress_merge(risk_stress_scenario *into, const risk_stress_scenario *from, size_t n)
{
    if (n && (!into || !from))
        return RISK_ENULL;
    for (size_t s = 0; s < n; s++) {
        if (into[s].version != RISK_STRESS_SCENARIO_VERSION || from[s].version != RISK_STRESS_SCENARIO_VERSION)
            return RISK_EVERSION;
        if (into[s].decimals != from[s].decimals || into[s].decimals > 18 || !xsum_ok(&into[s].pnl_sum) ||
            !xsum_ok(&from[s].pnl_sum) || !xsum_ok(&into[s].loss_sum) || !xsum_ok(&from[s].loss_sum) ||
            !xsum_ok(&into[s].deficit_sum) || !xsum_ok(&from[s].deficit_sum))
            return RISK_EINVAL;
    }
    for (size_t s = 0; s < n; s++) {
        risk_stress_scenario *r = &into[s];
        const risk_stress_scenario *f = &from[s];
        double scale = pow10_of(r->decimals);
        r->n_accounts += f->n_accounts;
        r->n_liquidatable += f->n_liquidatable;
        r->n_bankrupt += f->n_bankrupt;
        r->n_new_liquidatable += f->n_new_liquidatable;
        r->n_new_bankrupt += f->n_new_bankrupt;
        xsum_merge(&r->pnl_sum, &f->pnl_sum);
        xsum_merge(&r->loss_sum, &f->loss_sum);
        xsum_merge(&r->deficit_sum, &f->deficit_sum);
        r->pnl = xsum_value(&r->pnl_sum, scale);
        r->loss = xsum_value(&r->loss_sum, scale);
        r->deficit = xsum_value(&r->deficit_sum, scale);
    }
    return RISK_OK;
}

/* ------------------------------------------------------------ exposures */

/* Is (g1, id1) ahead of (g2, id2): larger gross first, then smaller id. */
static int top_before(double g1, uint64_t id1, double g2, uint64_t id2)
{
    return g1 > g2 || (g1 == g2 && id1 < id2);
}

static void top_insert(risk_exposure *x, uint32_t top_k, uint64_t id, double gross)
{
    if (top_k == 0)
        return;
    uint32_t n = x->n_top;
    if (n == top_k && !top_before(gross, id, x->top_gross[n - 1], x->top_ids[n - 1]))
        return;
    uint32_t i = n < top_k ? n : top_k - 1;
    while (i > 0 && top_before(gross, id, x->top_gross[i - 1], x->top_ids[i - 1])) {
        x->top_gross[i] = x->top_gross[i - 1];
        x->top_ids[i] = x->top_ids[i - 1];
        i--;
    }
    x->top_gross[i] = gross;
    x->top_ids[i] = id;
    if (n < top_k)
        x->n_top = n + 1;
}

static void exposure_finish(risk_exposure *x, double scale)
{
    x->long_notional = xsum_value(&x->long_sum, scale);
    x->short_notional = xsum_value(&x->short_sum, scale);
    risk_exact_sum net = {x->long_sum.hi - x->short_sum.hi, x->long_sum.lo - x->short_sum.lo};
    if (net.lo < 0) {
        net.lo += (int64_t)4294967296LL;
        net.hi -= 1;
    }
    x->net_notional = xsum_value(&net, scale);
    risk_exact_sum gross = x->long_sum, top = {0, 0};
    xsum_merge(&gross, &x->short_sum);
    for (uint32_t i = 0; i < x->n_top; i++)
        xsum_add_q(&top, quanta_of(x->top_gross[i], scale));
    double g = xsum_value(&gross, scale);
    x->top_share = g > 0.0 ? xsum_value(&top, scale) / g : 0.0;
}

RISK_API int risk_engine_exposures(const risk_engine *engine, risk_exposure *out, size_t capacity, uint32_t top_k,
                                   size_t *count_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine;
    if (!out || !count_out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "out or count_out is NULL");
    *count_out = e->n_assets;
    if (capacity < e->n_assets)
        return risk__fail(e, &e->errmsg, RISK_EBUFFER, "%u assets, capacity %zu", e->n_assets, capacity);
    if (e->n_assets && out[0].version != RISK_EXPOSURE_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "exposure version %u is not %d", out[0].version,
                          RISK_EXPOSURE_VERSION);
    if (top_k > RISK_EXPOSURE_TOP_MAX)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "top_k %u above %d", top_k, RISK_EXPOSURE_TOP_MAX);
    /* per account: its gross quanta on each underlying it touches, and the list of those */
    size_t na = e->n_assets;
    int64_t *gross = na ? risk__malloc(e, na * (sizeof(int64_t) + sizeof(uint32_t))) : NULL;
    if (na && !gross)
        return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for %zu exposure accumulators", na);
    uint32_t *touched = (uint32_t *)(gross + na);
    if (na)
        memset(gross, 0, na * sizeof *gross);
    double scale = v_scale(e);
    uint32_t dec = e->valuation == RISK_ID_NONE ? 0u : e->assets[e->valuation].decimals;
    for (uint32_t u = 0; u < na; u++) {
        memset(&out[u], 0, sizeof out[u]);
        out[u].version = RISK_EXPOSURE_VERSION;
        out[u].asset = u;
        out[u].decimals = dec;
    }
    for (size_t slot = 0; slot < e->n_account_slots; slot++) {
        const risk_account *a = e->accounts[slot];
        if (!a)
            continue;
        uint32_t nt = 0;
        for (uint32_t i = 0; i < a->n_pos; i++) {
            const risk__instrument *in = &e->instruments[a->inst[i]];
            risk__position_values pv;
            risk__position_values_compute(in, a->qty[i], a->entry[i], a->im_rate[i], &pv);
            int64_t q = quanta_of(pv.notional * e->assets[in->settle].price, scale);
            uint32_t u = in->underlying;
            xsum_add_q(a->qty[i] > 0.0 ? &out[u].long_sum : &out[u].short_sum, q);
            uint32_t k = 0;
            while (k < nt && touched[k] != u)
                k++;
            if (k == nt)
                touched[nt++] = u;
            gross[u] += q;
        }
        for (uint32_t k = 0; k < nt; k++) {
            uint32_t u = touched[k];
            out[u].n_accounts++;
            top_insert(&out[u], top_k, a->id, (double)gross[u] / scale);
            gross[u] = 0;
        }
    }
    risk__free(e, gross);
    for (uint32_t u = 0; u < na; u++)
        exposure_finish(&out[u], scale);
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_exposure_merge(risk_exposure *into, const risk_exposure *from, size_t n, uint32_t top_k)
{
    if (n && (!into || !from))
        return RISK_ENULL;
    if (top_k > RISK_EXPOSURE_TOP_MAX)
        return RISK_EINVAL;
    for (size_t u = 0; u < n; u++) {
        if (into[u].version != RISK_EXPOSURE_VERSION || from[u].version != RISK_EXPOSURE_VERSION)
            return RISK_EVERSION;
        if (into[u].asset != from[u].asset || into[u].decimals != from[u].decimals || into[u].decimals > 18 ||
            into[u].n_top > RISK_EXPOSURE_TOP_MAX || from[u].n_top > RISK_EXPOSURE_TOP_MAX ||
            !xsum_ok(&into[u].long_sum) || !xsum_ok(&into[u].short_sum) || !xsum_ok(&from[u].long_sum) ||
            !xsum_ok(&from[u].short_sum))
            return RISK_EINVAL;
    }
    for (size_t u = 0; u < n; u++) {
        risk_exposure *x = &into[u];
        const risk_exposure *f = &from[u];
        x->n_accounts += f->n_accounts;
        xsum_merge(&x->long_sum, &f->long_sum);
        xsum_merge(&x->short_sum, &f->short_sum);
        if (x->n_top > top_k)
            x->n_top = top_k;
        for (uint32_t i = 0; i < f->n_top; i++)
            top_insert(x, top_k, f->top_ids[i], f->top_gross[i]);
        exposure_finish(x, pow10_of(x->decimals));
    }
    return RISK_OK;
}
