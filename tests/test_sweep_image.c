/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sweep_image.c: risk_engine_evaluate_all (and risk_engine_evaluate_columns) against
 * risk_account_evaluate, bit for bit, after long random sequences of mutations through the public
 * API between sweeps.
 *
 * RISK_ENGINE_SWEEP_IMAGE keeps a sweep image: a cached, tiled copy of every account's positions
 * and balances, rebuilt only for the accounts marked as changed (src/core/sweep_image.c). A mutation
 * path that forgets to mark its account leaves a stale image, and the sweep then reports the
 * account as it was. Every engine of this suite is made with the flag (some also with
 * RISK_ENGINE_NO_QUANTIZE), and each round applies 1 to 10 mutations drawn from every public way
 * an account's evaluation can change:
 * - positions opened, filled up, down, to zero (removed) and through zero, closed; leverage,
 *   isolated margin; balances set, added, taken to zero, in a second and third asset;
 * - marks and prices one at a time, in batches and through the tick tracker; funding accrued,
 *   settled per account and engine-wide; interest accrued, pools reloaded with new indices,
 *   pool transfers;
 * - liquidation plans applied (ADL, backstop and socialised counterparties), the book liquidated,
 *   a cascade;
 * - accounts freed (alone, in runs, most of the book, which makes the engine compact its slots)
 *   and created (alone, in bulk, engine-owned and adopted); bulk balances, leverages, positions;
 * - volatility scaling (set, fed returns and prices), size premiums, unrealised-PnL weights,
 *   size-scaled assets, the margin-call health, the valuation asset, the portfolio-margin model,
 *   the engine's clock, an option's volatility and expiry; instruments and assets registered
 *   while accounts hold positions (past 16 instruments the AVX-512 kernel gathers); and the
 *   engine replaced by one restored from its snapshot (from memory, or a file mapped in place).
 * After each round:
 * - risk_engine_evaluate_all, 1 and 2 threads (2 only count past 1024 slots: one test has more),
 *   with ids_out over initialised summaries and without over garbage, and
 *   risk_engine_evaluate_columns, must give risk_account_evaluate's summary of every account
 *   (memcmp), and ids_out must list exactly the live accounts, in creation order;
 * - risk_account_evaluate must give what it gives on an engine restored from a snapshot of this
 *   one: it shares the sweep's fast path (evaluate_fast_or_generic), so an image read there would
 *   go stale on both sides of the first comparison; a restored engine has nothing stale.
 * A mismatch names the seed, the round, the account, the last mutations of the engine and the
 * last of that account (bulk rows and liquidation counterparties included), so that the path
 * that forgot its mark shows. Both kernels run (RISK_SWEEP_SIMD=avx512 and off), and the test
 * requires every mutation it draws to have applied, accounts of more than 8 positions (which the
 * image does not take), liquidations, and every account state.
 *
 * Before the image lands the flag is 0: the same test runs on the plain sweep, which it must
 * pass as well.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

#define T0 1700000000 /* 2023-11-14 22:13:20 UTC: every clock of the test starts here */
#define MAX_INST 40
#define MAX_ASSETS 12
#define RING 24
#define HIST 6
#define FAIL_MAX 12288 /* bytes of a failure's message */

/* ------------------------------------------------------------------ mutation kinds */

#define MUTATIONS(X)                                                                                                   \
    X(open) X(fill_increase) X(fill_reduce) X(fill_to_zero) X(fill_flip) X(close) X(leverage) X(isolated_margin)       \
    X(balance_set) X(balance_add) X(balance_to_zero) X(mark) X(marks) X(price) X(prices) X(funding_accrue)            \
    X(funding_settle_account) X(funding_settle_engine) X(liquidation_plan) X(liquidate_all) X(free) X(free_run)       \
    X(new_account) X(bulk_add_accounts) X(adopt) X(bulk_balances) X(bulk_leverages) X(bulk_open) X(interest_accrue)   \
    X(rate_pool) X(pool_transfer) X(asset_vol) X(instrument_scaling) X(size_premium) X(upnl_weight)                   \
    X(asset_size_scaling) X(margin_call_health) X(valuation_asset) X(portfolio_params) X(tick_apply) X(engine_time)   \
    X(option_vol) X(add_instrument) X(add_asset) X(cascade) X(settle_expired) X(mass_free) X(mass_new)                \
    X(grow_instruments) X(snapshot_restore)

#define AS_ENUM(name) M_##name,
#define AS_NAME(name) #name,
enum { MUTATIONS(AS_ENUM) M_COUNT };
static const char *const mutation_names[M_COUNT] = {MUTATIONS(AS_NAME)};

/* Features of a seed's book. */
#define F_INVERSE 0x1u     /* an inverse perpetual (settled in BTC) */
#define F_USDC 0x2u        /* a perpetual settled in USDC, priced != 1 */
#define F_FUTURE 0x4u      /* a dated future */
#define F_OPTION 0x8u      /* a vol-marked option, expired and settled two thirds of the way */
#define F_RATES 0x10u      /* rate models on USDC and BTC: interest accrues */
#define F_SCALING 0x20u    /* volatility-scaled schedules */
#define F_PORTFOLIO 0x40u  /* some portfolio-margin accounts */
#define F_TICK 0x80u       /* a tick tracker, through which marks move too */
#define F_BACKSTOP 0x100u  /* a backstop account takes over what ADL does not */
#define F_SOCIALIZE 0x200u /* deficits socialised */
#define F_VALUATION 0x400u /* a second price-1 asset (2 decimals) the valuation switches to and back */
#define F_SNAPSHOT 0x800u  /* half way, the engine is replaced by one restored from its snapshot */
#define F_MASS 0x1000u     /* a third of the way, 70 % of the book is freed (the slots compact), then refilled */
#define F_UNIT 0x2000u     /* linear USDT perpetuals of contract size 1 only (the kernel's unit variant) */
#define F_GROW 0x4000u     /* a quarter of the way, instruments are added past 16 (the kernel starts to gather) */
#define F_MAPPED 0x8000u   /* the snapshot restore reads a file mapped in place (positions in the mapping) */

typedef struct seed_cfg {
    uint64_t seed;
    uint32_t flags;   /* engine flags besides RISK_ENGINE_SWEEP_IMAGE: 0 or RISK_ENGINE_NO_QUANTIZE */
    int accounts;     /* accounts at the start */
    int rounds;       /* rounds of mutations, each followed by the check */
    int extra_inst;   /* linear perpetuals beyond the basic ones */
    int max_pos;      /* most positions an account is built with */
    uint32_t features;
} seed_cfg;

typedef struct inst_info {
    uint32_t underlying, settle;
    double cs, lot, tick, base; /* base: the mark the random walk returns to */
    int inverse, option;
} inst_info;

typedef struct asset_info {
    double base, quantum, lo, hi; /* amounts drawn as 10^U(lo, hi) units */
    int stable;
} asset_info;

typedef struct mut_rec {
    int round;
    uint32_t kind;
    uint64_t account; /* 0: an engine-wide mutation */
    int64_t what;     /* instrument, asset, count... (-1: none) */
    int rc;
} mut_rec;

/* Counts over a test (all its seeds). */
typedef struct stats {
    uint64_t tried[M_COUNT], ok[M_COUNT];
    int enabled[M_COUNT];
    uint64_t checks, summaries, over8, liquidated_actions, states[4];
    uint32_t most_positions;
} stats;

typedef struct world {
    const seed_cfg *cfg;
    stats *st;
    tu_alloc al[2]; /* the engine's allocator; the other one for the engine restored from its snapshot */
    int al_cur;
    risk_engine *e;
    risk_tick *tick;
    tu_rng r;
    int round;
    uint32_t n_assets, usdt, usdc, btc, eth, sol, usd1;
    asset_info asset[MAX_ASSETS];
    uint32_t n_inst, option;
    inst_info inst[MAX_INST];
    int option_settled;
    /* the one instrument with a size premium, the one with PnL weights, the one size-scaled asset
     * (RISK_ID_NONE: none): one at a time, so that the book is often all on the fast path (a
     * premium makes an instrument generic, PnL weights take the AVX-512 kernel off) */
    uint32_t premium_inst, upnl_inst, scaled_asset;
    int weights[M_COUNT];
    int weight_total;
    /* the live accounts, in the engine's (creation) order */
    risk_account **acc;
    uint64_t *ids;
    size_t n_acc, cap_acc;
    uint64_t next_id, backstop;
    int64_t now, engine_time, expiry;
    /* accounts liquidatable or bankrupt at the last check */
    uint64_t *liq;
    size_t n_liq;
    /* the check's buffers */
    size_t cap_chk;
    risk_account_summary *ref, *out;
    uint64_t *ids_out;
    double *col;     /* 15 columns of cap_chk */
    uint32_t *ucol;  /* 3 columns of cap_chk */
    uint64_t *idcol;
    mut_rec ring[RING];
    uint64_t n_notes;
    /* each account's own last mutations (bulk rows and liquidation counterparties included),
     * indexed by account id */
    mut_rec (*hist)[HIST];
    uint8_t *hist_n;
    size_t cap_hist;
    tu_alloc al_ref; /* the allocator of the engine restored from a snapshot for the cross-check */
    char fail[FAIL_MAX];
} world;

static double on_step(double x, double step)
{
    return round(x / step) * step;
}

static int chance(world *w, int one_in)
{
    return tu_rng_int(&w->r, 0, one_in - 1) == 0;
}

/* ------------------------------------------------------------------ the ring of mutations */

/* Appends to the history of account id. */
static void hist(world *w, uint64_t id, uint32_t kind, int64_t what, int rc)
{
    if (id >= w->next_id)
        return; /* not one of the test's accounts (a bulk row naming an unknown one) */
    if (id >= w->cap_hist) {
        size_t cap = 2 * id + 1024;
        mut_rec(*h)[HIST] = test_calloc(cap, sizeof *h);
        uint8_t *n = test_calloc(cap, 1);
        if (w->cap_hist) {
            memcpy(h, w->hist, w->cap_hist * sizeof *h);
            memcpy(n, w->hist_n, w->cap_hist);
        }
        test_free(w->hist);
        test_free(w->hist_n);
        w->hist = h;
        w->hist_n = n;
        w->cap_hist = cap;
    }
    mut_rec *m = &w->hist[id][w->hist_n[id]++ % HIST];
    if (w->hist_n[id] == 2 * HIST)
        w->hist_n[id] = HIST; /* keeps counting modulo HIST, remembering that it wrapped */
    *m = (mut_rec){w->round, kind, id, what, rc};
}

static void note(world *w, uint32_t kind, uint64_t account, int64_t what, int rc)
{
    if (account)
        hist(w, account, kind, what, rc);
    mut_rec *m = &w->ring[w->n_notes++ % RING];
    m->round = w->round;
    m->kind = kind;
    m->account = account;
    m->what = what;
    m->rc = rc;
    w->st->tried[kind]++;
    w->st->ok[kind] += rc == RISK_OK;
}

static size_t rec_print(const mut_rec *m, char *buf, size_t cap)
{
    int len = snprintf(buf, cap, "  round %d %-22s account %-8llu what %-6lld -> %s\n", m->round,
                       mutation_names[m->kind], (unsigned long long)m->account, (long long)m->what,
                       risk_errname(m->rc));
    return len < 0 ? 0 : (size_t)len < cap ? (size_t)len : cap;
}

/* The last mutations of the engine, then those of account `id` (0: none). */
static size_t ring_print(const world *w, uint64_t id, char *buf, size_t cap)
{
    size_t len = 0;
    uint64_t first = w->n_notes > RING ? w->n_notes - RING : 0;
    len += (size_t)snprintf(buf + len, cap - len, "last %u mutations (oldest first):\n",
                            (unsigned)(w->n_notes - first));
    for (uint64_t k = first; k < w->n_notes && len < cap; k++)
        len += rec_print(&w->ring[k % RING], buf + len, cap - len);
    if (id && id < w->cap_hist && len < cap) {
        unsigned n = w->hist_n[id], wrapped = n >= HIST;
        len += (size_t)snprintf(buf + len, cap - len,
                                "last mutations of account %llu (oldest first; bulk rows and liquidation "
                                "counterparties included, a counterparty's `what` the liquidated account):\n",
                                (unsigned long long)id);
        for (unsigned k = wrapped ? n % HIST : 0, c = 0; c < (wrapped ? HIST : n) && len < cap; k = (k + 1) % HIST, c++)
            len += rec_print(&w->hist[id][k], buf + len, cap - len);
    }
    return len < cap ? len : cap;
}

/* ------------------------------------------------------------------ the live accounts */

static void list_add(world *w, risk_account *a)
{
    if (w->n_acc == w->cap_acc) {
        size_t cap = w->cap_acc ? 2 * w->cap_acc : 256;
        risk_account **acc = test_malloc(cap * sizeof *acc);
        uint64_t *ids = test_malloc(cap * sizeof *ids);
        if (w->n_acc) {
            memcpy(acc, w->acc, w->n_acc * sizeof *acc);
            memcpy(ids, w->ids, w->n_acc * sizeof *ids);
        }
        test_free(w->acc);
        test_free(w->ids);
        w->acc = acc;
        w->ids = ids;
        w->cap_acc = cap;
    }
    w->acc[w->n_acc] = a;
    w->ids[w->n_acc++] = risk_account_id(a);
}

static void list_remove_at(world *w, size_t k)
{
    memmove(&w->acc[k], &w->acc[k + 1], (w->n_acc - k - 1) * sizeof *w->acc);
    memmove(&w->ids[k], &w->ids[k + 1], (w->n_acc - k - 1) * sizeof *w->ids);
    w->n_acc--;
}

/* Frees the k-th live account (the backstop stays). Returns 1 when freed. */
static int free_at(world *w, size_t k)
{
    if (w->ids[k] == w->backstop)
        return 0;
    risk_account_free(w->acc[k]);
    list_remove_at(w, k);
    return 1;
}

/* A random live account (its index in *k), or NULL when none. */
static risk_account *pick(world *w, size_t *k)
{
    if (!w->n_acc)
        return NULL;
    size_t i = (size_t)tu_rng_int(&w->r, 0, (int)w->n_acc - 1);
    if (k)
        *k = i;
    return w->acc[i];
}

static double mark_of(world *w, uint32_t inst)
{
    double m = 0.0;
    tu_assert_status(risk_engine_mark(w->e, inst, &m), RISK_OK);
    return m;
}

static double price_of(world *w, uint32_t asset)
{
    double p = 0.0;
    tu_assert_status(risk_engine_asset_price(w->e, asset, &p), RISK_OK);
    return p;
}

static uint32_t valuation_of(world *w)
{
    uint32_t v = RISK_ID_NONE;
    tu_assert_status(risk_engine_valuation_asset(w->e, &v), RISK_OK);
    return v;
}

/* ------------------------------------------------------------------ random inputs */

/* A random walk that returns to `base`, now and then a jump to between half and one and a half
 * times it, on the step. */
static double moved(world *w, double cur, double base, double step)
{
    double f = chance(w, 7) ? pow(2.0, tu_rng_range(&w->r, -1.0, 0.585)) * base / cur
                            : exp(0.3 * log(base / cur) + tu_rng_range(&w->r, -0.03, 0.03));
    return fmax(step, on_step(cur * f, step));
}

static double random_amount(world *w, uint32_t asset)
{
    const asset_info *as = &w->asset[asset];
    double v = pow(10.0, tu_rng_range(&w->r, as->lo, as->hi));
    if (chance(w, 8))
        v = -v / 10.0;
    return on_step(v, as->quantum);
}

/* A collateral asset for a balance: mostly USDT. */
static uint32_t random_asset(world *w)
{
    if (tu_rng_int(&w->r, 0, 2))
        return w->usdt;
    return (uint32_t)tu_rng_int(&w->r, 0, (int)w->n_assets - 1);
}

static uint32_t random_inst(world *w)
{
    return (uint32_t)tu_rng_int(&w->r, 0, (int)w->n_inst - 1);
}

static uint32_t random_leg(world *w, uint32_t position_mode)
{
    if (position_mode != RISK_POSITION_HEDGE)
        return RISK_SIDE_BOTH;
    return chance(w, 2) ? RISK_SIDE_LONG : RISK_SIDE_SHORT;
}

/* A position of `inst` on `leg` for an account of margin mode `mm`: 1 to 3000 lots, entry within
 * 15 % of the mark, isolated one time in five (four in five in an isolated account) with up to
 * 40 % of the notional as margin. */
static risk_position_spec random_spec(world *w, uint32_t mm, uint32_t inst, uint32_t leg)
{
    const inst_info *in = &w->inst[inst];
    risk_position_spec p = RISK_POSITION_SPEC_INIT;
    p.instrument = inst;
    p.side = leg;
    double lots = floor(pow(10.0, tu_rng_range(&w->r, 0.0, 3.5)));
    double sign = leg == RISK_SIDE_BOTH && chance(w, 2) ? -1.0 : 1.0;
    p.qty = sign * lots * in->lot;
    p.entry = fmax(in->tick, on_step(mark_of(w, inst) * tu_rng_range(&w->r, 0.85, 1.15), in->tick));
    if (mm == RISK_MARGIN_PORTFOLIO)
        return p;
    int iso;
    if (mm == RISK_MARGIN_ISOLATED) {
        iso = !chance(w, 5);
        if (!iso)
            p.margin_mode = RISK_MARGIN_CROSS;
    } else {
        iso = chance(w, 5);
        if (iso)
            p.margin_mode = RISK_MARGIN_ISOLATED;
    }
    if (iso) {
        double notional = in->inverse ? lots * in->lot * in->cs / p.entry : lots * in->lot * in->cs * p.entry;
        p.isolated_margin = on_step(notional * tu_rng_range(&w->r, 0.0, 0.4), w->asset[in->settle].quantum);
    }
    return p;
}

static void random_modes(world *w, uint32_t *mm, uint32_t *pm)
{
    *pm = chance(w, 3) ? RISK_POSITION_HEDGE : RISK_POSITION_ONE_WAY;
    if ((w->cfg->features & F_PORTFOLIO) && chance(w, 25))
        *mm = RISK_MARGIN_PORTFOLIO;
    else
        *mm = chance(w, 5) ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS;
}

static int random_npos(world *w)
{
    return chance(w, 7) ? tu_rng_int(&w->r, 9, w->cfg->max_pos) : tu_rng_int(&w->r, 0, 6);
}

/* Balances (USDT mostly, a second and third asset for some) and positions for a new account. */
static void fill_account(world *w, risk_account *a)
{
    risk_basket *b = risk_account_basket(a);
    int rc = risk_basket_set_balance(b, w->usdt, random_amount(w, w->usdt));
    int n_more = chance(w, 3) ? tu_rng_int(&w->r, 1, 2) : 0;
    for (int k = 0; k < n_more; k++) {
        uint32_t as = (uint32_t)tu_rng_int(&w->r, 0, (int)w->n_assets - 1);
        rc |= risk_basket_set_balance(b, as, random_amount(w, as));
    }
    uint32_t mm = risk_account_margin_mode(a), pm = risk_account_position_mode(a);
    uint32_t n_legs = w->n_inst * (pm == RISK_POSITION_HEDGE ? 2u : 1u);
    uint32_t order[2 * MAX_INST];
    for (uint32_t k = 0; k < n_legs; k++)
        order[k] = k;
    for (uint32_t k = n_legs - 1; k > 0; k--) {
        uint32_t j = (uint32_t)tu_rng_int(&w->r, 0, (int)k), x = order[k];
        order[k] = order[j];
        order[j] = x;
    }
    int want = random_npos(w), opened = 0;
    for (uint32_t k = 0; k < n_legs && opened < want; k++) {
        uint32_t inst = order[k] % w->n_inst;
        uint32_t leg = pm == RISK_POSITION_HEDGE ? (order[k] < w->n_inst ? RISK_SIDE_LONG : RISK_SIDE_SHORT)
                                                 : RISK_SIDE_BOTH;
        risk_position_spec p = random_spec(w, mm, inst, leg);
        if (risk_account_open_position(a, &p, NULL) == RISK_OK)
            opened++;
        if (chance(w, 4))
            rc |= risk_account_set_leverage(a, inst, floor(tu_rng_range(&w->r, 1.0, 40.0)));
    }
    (void)rc; /* refusals (a leverage above the schedule's) are part of the game */
}

static risk_account *new_account(world *w)
{
    uint32_t mm, pm;
    random_modes(w, &mm, &pm);
    risk_account *a = NULL;
    int rc = risk_account_new(&a, w->e, w->next_id++, mm, pm);
    note(w, M_new_account, w->next_id - 1, -1, rc);
    if (rc != RISK_OK)
        return NULL;
    list_add(w, a);
    fill_account(w, a);
    return a;
}

/* ------------------------------------------------------------------ the book */

static size_t random_tiers(world *w, risk_margin_tier *t, size_t n, double first)
{
    double cap = first, mmr = tu_rng_range(&w->r, 0.004, 0.01), lev = floor(tu_rng_range(&w->r, 50.0, 125.0));
    for (size_t k = 0; k < n; k++) {
        t[k] = tu_tier(cap, mmr, lev);
        cap = round(cap * tu_rng_range(&w->r, 2.0, 6.0));
        mmr += tu_rng_range(&w->r, 0.002, 0.02);
        lev = fmax(1.0, floor(lev / tu_rng_range(&w->r, 1.2, 2.0)));
    }
    return n;
}

static uint32_t add_asset(world *w, const char *sym, double price, uint32_t decimals, double wi, double wm,
                          double lwi, double lwm, double lo, double hi, int stable)
{
    uint32_t id = tu_asset_w(w->e, sym, price, decimals, wi, wm, lwi, lwm);
    assert_true(id < MAX_ASSETS);
    w->asset[id] = (asset_info){price, pow(10.0, -(double)decimals), lo, hi, stable};
    w->n_assets = id + 1;
    return id;
}

static void add_inst(world *w, const risk_instrument_spec *s, int option)
{
    uint32_t id = tu_instrument(w->e, s);
    assert_true(id < MAX_INST);
    double mark = s->mark;
    if (option) {
        mark = 0.0;
        tu_assert_status(risk_engine_mark(w->e, id, &mark), RISK_OK);
    }
    w->inst[id] = (inst_info){s->underlying, s->settle, s->contract_size, s->lot_size, s->tick_size, mark,
                              (int)s->inverse, option};
    w->n_inst = id + 1;
}

/* A linear perpetual on `und` (price p) of contract size cs: about 6 to 60 of the settle asset a lot. */
static void add_linear(world *w, const char *sym, uint32_t und, uint32_t settle, double cs, double p)
{
    double lot = pow(10.0, round(log10(20.0 / (cs * p))));
    double tick = pow(10.0, floor(log10(p)) - 5.0);
    double mark = fmax(tick, on_step(p * tu_rng_range(&w->r, 0.97, 1.03), tick));
    risk_margin_tier t[5];
    size_t n = random_tiers(w, t, (size_t)tu_rng_int(&w->r, 3, 5), on_step(tu_rng_range(&w->r, 1e4, 6e4), 1.0));
    risk_instrument_spec s = tu_linear_spec(sym, und, settle, cs, lot, tick, mark, t, n);
    add_inst(w, &s, 0);
}

/* A linear USDT perpetual registered while accounts hold positions (the engine's arrays grow). */
static uint32_t add_random_instrument(world *w)
{
    const uint32_t coins[3] = {w->btc, w->eth, w->sol};
    uint32_t und = coins[tu_rng_int(&w->r, 0, 2)];
    char sym[32];
    snprintf(sym, sizeof sym, "N%uUSDT", w->n_inst);
    add_linear(w, sym, und, w->usdt, (w->cfg->features & F_UNIT) || chance(w, 2) ? 1.0 : 0.1, price_of(w, und));
    return w->n_inst - 1;
}

static void set_weights(world *w)
{
    static const int base[M_COUNT] = {
        [M_open] = 60, [M_fill_increase] = 50, [M_fill_reduce] = 50, [M_fill_to_zero] = 30, [M_fill_flip] = 25,
        [M_close] = 25, [M_leverage] = 35, [M_isolated_margin] = 30, [M_balance_set] = 35, [M_balance_add] = 40,
        [M_balance_to_zero] = 15, [M_mark] = 45, [M_marks] = 15, [M_price] = 25, [M_prices] = 10,
        [M_funding_accrue] = 15, [M_funding_settle_account] = 15, [M_funding_settle_engine] = 5,
        [M_liquidation_plan] = 25, [M_liquidate_all] = 2, [M_free] = 15, [M_free_run] = 3, [M_new_account] = 18,
        [M_bulk_add_accounts] = 4, [M_adopt] = 3, [M_bulk_balances] = 10, [M_bulk_leverages] = 8, [M_bulk_open] = 10,
        [M_interest_accrue] = 10, [M_rate_pool] = 3, [M_pool_transfer] = 10, [M_asset_vol] = 6,
        [M_instrument_scaling] = 3, [M_size_premium] = 4, [M_upnl_weight] = 4, [M_asset_size_scaling] = 4,
        [M_margin_call_health] = 3, [M_valuation_asset] = 2, [M_portfolio_params] = 2, [M_tick_apply] = 8,
        [M_engine_time] = 3, [M_option_vol] = 2, [M_add_instrument] = 1, [M_add_asset] = 1, [M_cascade] = 1,
    };
    uint32_t f = w->cfg->features;
    w->weight_total = 0;
    for (int k = 0; k < M_COUNT; k++) {
        int wt = base[k];
        if ((k == M_interest_accrue || k == M_rate_pool || k == M_pool_transfer) && !(f & F_RATES))
            wt = 0;
        if ((k == M_asset_vol || k == M_instrument_scaling) && !(f & F_SCALING))
            wt = 0;
        if (k == M_valuation_asset && !(f & F_VALUATION))
            wt = 0;
        if (k == M_portfolio_params && !(f & F_PORTFOLIO))
            wt = 0;
        if (k == M_tick_apply && !(f & F_TICK))
            wt = 0;
        if ((k == M_engine_time || k == M_option_vol) && !(f & F_OPTION))
            wt = 0;
        w->weights[k] = wt;
        w->weight_total += wt;
        if (wt)
            w->st->enabled[k] = 1;
    }
    if (f & F_OPTION)
        w->st->enabled[M_settle_expired] = 1;
    if (f & F_MASS)
        w->st->enabled[M_mass_free] = w->st->enabled[M_mass_new] = 1;
    if (f & F_SNAPSHOT)
        w->st->enabled[M_snapshot_restore] = 1;
    if (f & F_GROW)
        w->st->enabled[M_grow_instruments] = 1;
}

static void build(world *w, const seed_cfg *cfg, stats *st)
{
    memset(w, 0, sizeof *w);
    w->cfg = cfg;
    w->st = st;
    tu_rng_seed(&w->r, cfg->seed);
    tu_alloc_init(&w->al[0]);
    tu_alloc_init(&w->al[1]);
    w->e = tu_engine(&w->al[0], RISK_ENGINE_SWEEP_IMAGE | cfg->flags);
    w->now = w->engine_time = T0;
    w->option = w->usd1 = w->premium_inst = w->upnl_inst = w->scaled_asset = RISK_ID_NONE;
    w->next_id = 1000;
    uint32_t f = cfg->features;
    set_weights(w);

    /* assets: USDT (price 1, 6 decimals) the valuation asset, USDC priced != 1, coins with
     * weights below 1, and maybe a second price-1 asset of 2 decimals */
    w->usdt = add_asset(w, "USDT", 1.0, 6, 1.0, 1.0, 1.0, 1.0, 1.0, 6.0, 1);
    tu_assert_status(risk_engine_set_valuation_asset(w->e, w->usdt), RISK_OK);
    w->usdc = add_asset(w, "USDC", 0.9998, 6, 0.95, 0.98, 1.05, 1.02, 1.0, 5.5, 1);
    w->btc = add_asset(w, "BTC", on_step(tu_rng_range(&w->r, 25000.0, 60000.0), 0.01), 8, 0.9, 0.95, 1.1, 1.05,
                       -3.0, 1.0, 0);
    w->eth = add_asset(w, "ETH", on_step(tu_rng_range(&w->r, 1500.0, 4000.0), 0.01), 8, 0.8, 0.9, 1.15, 1.08,
                       -2.0, 2.0, 0);
    w->sol = add_asset(w, "SOL", on_step(tu_rng_range(&w->r, 20.0, 200.0), 0.001), 8, 1.0, 1.0, 1.0, 1.0, -1.0,
                       3.0, 0);
    if (f & F_VALUATION)
        w->usd1 = add_asset(w, "USD1", 1.0, 2, 1.0, 1.0, 1.0, 1.0, 0.0, 5.0, 1);

    /* instruments: linear perpetuals of contract sizes 1 and not 1 on each coin */
    const uint32_t und[3] = {w->btc, w->eth, w->sol};
    const char *const names[3] = {"BTC", "ETH", "SOL"};
    const double odd_cs[3] = {0.01, 0.1, 10.0};
    char sym[32];
    for (int k = 0; k < 3; k++) {
        snprintf(sym, sizeof sym, "%sUSDT", names[k]);
        add_linear(w, sym, und[k], w->usdt, 1.0, w->asset[und[k]].base);
        snprintf(sym, sizeof sym, "%sUSDT-CS", names[k]);
        add_linear(w, sym, und[k], w->usdt, (f & F_UNIT) ? 1.0 : odd_cs[k], w->asset[und[k]].base);
    }
    for (int k = 0; k < cfg->extra_inst; k++) {
        snprintf(sym, sizeof sym, "X%d%sUSDT", k, names[k % 3]);
        add_linear(w, sym, und[k % 3], w->usdt, (f & F_UNIT) || k % 2 ? 1.0 : odd_cs[k % 3], w->asset[und[k % 3]].base);
    }
    if (f & F_USDC)
        add_linear(w, "BTCUSDC", w->btc, w->usdc, 0.01, w->asset[w->btc].base);
    if (f & F_INVERSE) {
        risk_margin_tier t[5];
        size_t n = random_tiers(w, t, (size_t)tu_rng_int(&w->r, 3, 5), tu_rng_range(&w->r, 1.0, 5.0));
        double mark = on_step(w->asset[w->btc].base, 0.5);
        risk_instrument_spec s = tu_inverse_spec("BTCUSD", w->btc, 100.0, 1.0, 0.5, mark, t, n);
        add_inst(w, &s, 0);
    }
    if (f & F_FUTURE) {
        risk_margin_tier t[5];
        size_t n = random_tiers(w, t, 4, 2e4);
        double p = w->asset[w->eth].base;
        risk_instrument_spec s =
            tu_linear_spec("ETHUSDT-FUT", w->eth, w->usdt, 1.0, 0.01, 0.01, on_step(p, 0.01), t, n);
        s.kind = RISK_KIND_FUTURE;
        s.expiry_unix_s = T0 + 90 * 86400;
        add_inst(w, &s, 0);
    }
    if (f & F_OPTION) {
        tu_assert_status(risk_engine_set_time(w->e, T0), RISK_OK);
        w->expiry = T0 + 20 * 86400;
        risk_instrument_spec s = RISK_INSTRUMENT_SPEC_INIT;
        s.kind = RISK_KIND_OPTION;
        s.symbol = "BTC-C";
        s.underlying = w->btc;
        s.settle = w->usdt;
        s.expiry_unix_s = w->expiry;
        s.contract_size = 1.0;
        s.lot_size = 0.01;
        s.tick_size = 0.5;
        s.strike = on_step(w->asset[w->btc].base * 1.05, 100.0);
        s.option_type = RISK_OPTION_CALL;
        s.mark_vol = 0.6;
        s.underlying_tick = 0.1;
        add_inst(w, &s, 1);
        w->option = w->n_inst - 1;
    }
    if (f & F_SCALING) {
        risk_margin_scaling sc = RISK_MARGIN_SCALING_INIT;
        sc.mode = RISK_SCALING_TIERS;
        sc.reference_vol_annual = 0.6;
        sc.min_factor = 0.5;
        sc.max_factor = 3.0;
        for (uint32_t i = 0; i < w->n_inst; i++)
            if (w->inst[i].underlying == w->btc && !w->inst[i].option)
                tu_assert_status(risk_engine_set_instrument_scaling(w->e, i, &sc), RISK_OK);
        tu_assert_status(risk_engine_set_asset_vol(w->e, w->btc, 0.8, w->now), RISK_OK);
    }
    if (f & F_RATES) {
        risk_rate_model m = RISK_RATE_MODEL_INIT;
        m.kind = RISK_RATE_MODEL_FLAT;
        m.flat_borrow_hourly = 2e-5;
        m.flat_supply_hourly = 1e-5;
        tu_assert_status(risk_engine_set_rate_model(w->e, w->usdc, &m), RISK_OK);
        m.accrual = RISK_ACCRUAL_CONTINUOUS;
        m.flat_borrow_hourly = 1e-5;
        m.flat_supply_hourly = 4e-6;
        tu_assert_status(risk_engine_set_rate_model(w->e, w->btc, &m), RISK_OK);
        risk_rate_pool p = RISK_RATE_POOL_INIT;
        p.supply = 1e9;
        p.updated_unix_s = T0;
        tu_assert_status(risk_engine_set_rate_pool(w->e, w->usdc, &p), RISK_OK);
        p.supply = 1e5;
        tu_assert_status(risk_engine_set_rate_pool(w->e, w->btc, &p), RISK_OK);
    }
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.fee = 0.005;
    pol.insurance_fee = 0.0025;
    pol.deficit = (f & F_SOCIALIZE) ? RISK_DEFICIT_SOCIALIZE : RISK_DEFICIT_REPORT;
    if (f & F_BACKSTOP) {
        w->backstop = 1;
        pol.has_backstop = 1;
        pol.backstop_account = 1;
        risk_account *b = tu_account(w->e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(b, w->usdt, 1e9);
        list_add(w, b);
    }
    tu_assert_status(risk_engine_set_liquidation_policy(w->e, &pol), RISK_OK);
    tu_assert_status(risk_engine_insurance_fund_deposit(w->e, w->usdt, 1e5), RISK_OK);
    tu_assert_status(risk_engine_insurance_fund_deposit(w->e, w->btc, 2.0), RISK_OK);

    for (int k = 0; k < cfg->accounts; k++)
        (void)new_account(w);
    if (f & F_TICK)
        tu_assert_status(risk_tick_new(&w->tick, w->e), RISK_OK);
}

static void teardown(world *w)
{
    risk_tick_free(w->tick);
    w->tick = NULL;
    for (size_t k = 0; k < w->n_acc; k++)
        risk_account_free(w->acc[k]);
    w->n_acc = 0;
    risk_engine_free(w->e);
    w->e = NULL;
    test_free(w->acc);
    test_free(w->ids);
    test_free(w->liq);
    test_free(w->ref);
    test_free(w->out);
    test_free(w->ids_out);
    test_free(w->col);
    test_free(w->ucol);
    test_free(w->idcol);
    test_free(w->hist);
    test_free(w->hist_n);
    w->hist = NULL;
    w->hist_n = NULL;
    w->cap_hist = 0;
    w->acc = NULL;
    w->ids = w->liq = w->ids_out = w->idcol = NULL;
    w->ref = w->out = NULL;
    w->col = NULL;
    w->ucol = NULL;
    w->cap_acc = w->cap_chk = 0;
}

/* ------------------------------------------------------------------ the check */

static const char *field_differing(const risk_account_summary *a, const risk_account_summary *b)
{
#define FIELD(f)                                                                                                       \
    if (memcmp(&a->f, &b->f, sizeof a->f) != 0)                                                                        \
        return #f;
    FIELD(version) FIELD(state) FIELD(equity) FIELD(collateral_value) FIELD(unrealized_pnl) FIELD(initial_margin)
    FIELD(maintenance_margin) FIELD(available) FIELD(health_factor) FIELD(margin_ratio) FIELD(ltv) FIELD(ltv_buffer)
    FIELD(leverage) FIELD(collateral_init) FIELD(collateral_maint) FIELD(liabilities) FIELD(isolated_margin)
    FIELD(n_positions) FIELD(n_isolated_liquidatable)
#undef FIELD
    return "(none)";
}

static int fail_summary(world *w, const char *what, const char *reference, size_t k,
                        const risk_account_summary *got, const risk_account_summary *want)
{
    size_t len = (size_t)snprintf(
        w->fail, sizeof w->fail,
        "seed %llu round %d (RISK_SWEEP_SIMD=%s): %s differs from %s for account %llu "
        "(%zu of %zu, %zu positions): first field %s; got state %u equity %.17g mm %.17g im %.17g hf %.17g "
        "n_positions %u; want state %u equity %.17g mm %.17g im %.17g hf %.17g n_positions %u\n",
        (unsigned long long)w->cfg->seed, w->round, getenv("RISK_SWEEP_SIMD") ? getenv("RISK_SWEEP_SIMD") : "-",
        what, reference, (unsigned long long)w->ids[k], k, w->n_acc, risk_account_position_count(w->acc[k]),
        field_differing(got, want), got->state, got->equity, got->maintenance_margin, got->initial_margin,
        got->health_factor, got->n_positions, want->state, want->equity, want->maintenance_margin,
        want->initial_margin, want->health_factor, want->n_positions);
    if (len < sizeof w->fail)
        ring_print(w, w->ids[k], w->fail + len, sizeof w->fail - len);
    return 1;
}

static int fail_text(world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail_text(world *w, const char *fmt, ...)
{
    size_t len = (size_t)snprintf(w->fail, sizeof w->fail, "seed %llu round %d: ", (unsigned long long)w->cfg->seed,
                                  w->round);
    va_list ap;
    va_start(ap, fmt);
    len += (size_t)vsnprintf(w->fail + len, sizeof w->fail - len, fmt, ap);
    va_end(ap);
    if (len < sizeof w->fail)
        len += (size_t)snprintf(w->fail + len, sizeof w->fail - len, "\n");
    if (len < sizeof w->fail)
        ring_print(w, 0, w->fail + len, sizeof w->fail - len);
    return 1;
}

static void check_buffers(world *w, size_t n)
{
    if (n <= w->cap_chk && w->ref)
        return;
    test_free(w->ref);
    test_free(w->out);
    test_free(w->ids_out);
    test_free(w->col);
    test_free(w->ucol);
    test_free(w->idcol);
    w->cap_chk = 2 * n + 64;
    w->ref = test_malloc(w->cap_chk * sizeof *w->ref);
    w->out = test_malloc(w->cap_chk * sizeof *w->out);
    w->ids_out = test_malloc(w->cap_chk * sizeof *w->ids_out);
    w->col = test_malloc(15 * w->cap_chk * sizeof *w->col);
    w->ucol = test_malloc(3 * w->cap_chk * sizeof *w->ucol);
    w->idcol = test_malloc(w->cap_chk * sizeof *w->idcol);
}

/* risk_account_evaluate against an engine restored from a snapshot of this one (w->ref holds the
 * evaluations): risk_account_evaluate shares the sweep's fast path (evaluate_fast_or_generic), so
 * a stale state read there would make the sweep and its reference agree; a restored engine has
 * nothing stale. 0 when they agree, else 1 with the message in w->fail. */
static int check_restored(world *w)
{
    size_t size = 0, n = 0;
    tu_assert_status(risk_engine_snapshot_write(w->e, NULL, 0, &size), RISK_EBUFFER);
    void *buf = test_malloc(size);
    tu_assert_status(risk_engine_snapshot_write(w->e, buf, size, &size), RISK_OK);
    tu_alloc_init(&w->al_ref);
    risk_snapshot_options so = RISK_SNAPSHOT_OPTIONS_INIT;
    so.allocator = tu_allocator(&w->al_ref);
    risk_engine *e2 = NULL;
    tu_assert_status(risk_engine_snapshot_read(&e2, buf, size, &so), RISK_OK);
    test_free(buf);
    int rc = risk_engine_accounts(e2, NULL, 0, &n);
    tu_assert_status(rc, n ? RISK_EBUFFER : RISK_OK);
    risk_account **all = test_malloc((n + 1) * sizeof *all);
    tu_assert_status(risk_engine_accounts(e2, all, n, &n), RISK_OK);
    int bad = 0;
    if (n != w->n_acc)
        bad = fail_text(w, "the engine restored from a snapshot has %zu accounts, the test holds %zu", n, w->n_acc);
    for (size_t k = 0; k < n && !bad; k++) {
        risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
        tu_assert_status(risk_account_evaluate(all[k], &s), RISK_OK);
        if (risk_account_id(all[k]) != w->ids[k])
            bad = fail_text(w, "the restored engine's account %zu is %llu, the test's %llu", k,
                            (unsigned long long)risk_account_id(all[k]), (unsigned long long)w->ids[k]);
        else if (memcmp(&s, &w->ref[k], sizeof s) != 0)
            bad = fail_summary(w, "risk_account_evaluate",
                               "risk_account_evaluate on an engine restored from a snapshot of this one (this "
                               "engine's evaluation read stale state, or the snapshot misses some)",
                               k, &w->ref[k], &s);
    }
    test_free(all);
    risk_engine_free(e2); /* and its accounts, which it owns */
    return bad;
}

/* The sweep against risk_account_evaluate on every live account; 0 when they agree, else 1 with
 * the message in w->fail. */
static int check(world *w)
{
    size_t n = w->n_acc, count = 0;
    check_buffers(w, n);
    w->st->checks++;
    tu_assert_status(risk_engine_account_count(w->e, &count), RISK_OK);
    if (count != n)
        return fail_text(w, "the engine counts %zu accounts, the test holds %zu", count, n);
    w->n_liq = 0;
    test_free(w->liq);
    w->liq = test_malloc((n + 1) * sizeof *w->liq);
    for (size_t k = 0; k < n; k++) {
        risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
        int rc = risk_account_evaluate(w->acc[k], &s);
        if (rc != RISK_OK)
            return fail_text(w, "risk_account_evaluate of account %llu: %s", (unsigned long long)w->ids[k],
                             risk_errname(rc));
        w->ref[k] = s;
        w->st->states[s.state & 3u]++;
        if (s.state >= RISK_STATE_LIQUIDATABLE)
            w->liq[w->n_liq++] = w->ids[k];
        if (s.n_positions > 8)
            w->st->over8++;
        if (s.n_positions > w->st->most_positions)
            w->st->most_positions = s.n_positions;
    }
    w->st->summaries += n;
    /* 1 and 2 threads (more than one only past 1024 slots: the engine caps the threads by the
     * book), with ids_out over zeroed summaries, without over garbage */
    static const struct {
        uint32_t threads;
        int ids, garbage;
        const char *name;
    } variants[4] = {{1, 1, 0, "evaluate_all(1 thread, ids_out)"},
                     {2, 1, 0, "evaluate_all(2 threads, ids_out)"},
                     {1, 0, 1, "evaluate_all(1 thread, no ids_out)"},
                     {2, 0, 1, "evaluate_all(2 threads, no ids_out)"}};
    for (int v = 0; v < 4; v++) {
        if (variants[v].garbage) {
            memset(w->out, 0xa5, w->cap_chk * sizeof *w->out);
            w->out[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
        } else {
            for (size_t k = 0; k < w->cap_chk; k++)
                w->out[k] = (risk_account_summary)RISK_ACCOUNT_SUMMARY_INIT;
        }
        memset(w->ids_out, 0xff, w->cap_chk * sizeof *w->ids_out);
        count = 0;
        int rc = risk_engine_evaluate_all(w->e, w->out, variants[v].ids ? w->ids_out : NULL, w->cap_chk,
                                          variants[v].threads, &count);
        if (rc != RISK_OK || count != n)
            return fail_text(w, "%s: %s, %zu accounts for %zu", variants[v].name, risk_errname(rc), count, n);
        for (size_t k = 0; variants[v].ids && k < n; k++)
            if (w->ids_out[k] != w->ids[k])
                return fail_text(w, "%s: ids_out[%zu] is %llu, the live account there (creation order) is %llu",
                                 variants[v].name, k, (unsigned long long)w->ids_out[k],
                                 (unsigned long long)w->ids[k]);
        for (size_t k = 0; k < n; k++)
            if (memcmp(&w->out[k], &w->ref[k], sizeof w->ref[k]) != 0)
                return fail_summary(w, variants[v].name, "risk_account_evaluate", k, &w->out[k], &w->ref[k]);
    }
    /* the column call sweeps through the same paths */
    risk_summary_columns c = RISK_SUMMARY_COLUMNS_INIT;
    double **fields[15] = {&c.equity, &c.collateral_value, &c.unrealized_pnl, &c.initial_margin,
                           &c.maintenance_margin, &c.available, &c.health_factor, &c.margin_ratio,
                           &c.ltv, &c.ltv_buffer, &c.leverage, &c.collateral_init,
                           &c.collateral_maint, &c.liabilities, &c.isolated_margin};
    for (int f = 0; f < 15; f++)
        *fields[f] = w->col + (size_t)f * w->cap_chk;
    c.state = w->ucol;
    c.n_positions = w->ucol + w->cap_chk;
    c.n_isolated_liquidatable = w->ucol + 2 * w->cap_chk;
    c.ids = w->idcol;
    uint32_t threads = (uint32_t)(w->round & 1) + 1;
    int rc = risk_engine_evaluate_columns(w->e, &c, w->cap_chk, threads, &count);
    if (rc != RISK_OK || count != n)
        return fail_text(w, "evaluate_columns: %s, %zu accounts for %zu", risk_errname(rc), count, n);
    for (size_t k = 0; k < n; k++) {
        if (c.ids[k] != w->ids[k])
            return fail_text(w, "evaluate_columns ids[%zu] is %llu, the live account there is %llu", k,
                             (unsigned long long)c.ids[k], (unsigned long long)w->ids[k]);
        risk_account_summary s = {RISK_ACCOUNT_SUMMARY_VERSION, c.state[k], c.equity[k], c.collateral_value[k],
                                  c.unrealized_pnl[k], c.initial_margin[k], c.maintenance_margin[k],
                                  c.available[k], c.health_factor[k], c.margin_ratio[k], c.ltv[k],
                                  c.ltv_buffer[k], c.leverage[k], c.collateral_init[k], c.collateral_maint[k],
                                  c.liabilities[k], c.isolated_margin[k], c.n_positions[k],
                                  c.n_isolated_liquidatable[k]};
        if (memcmp(&s, &w->ref[k], sizeof s) != 0)
            return fail_summary(w, threads == 1 ? "evaluate_columns(1 thread)" : "evaluate_columns(2 threads)",
                                "risk_account_evaluate", k, &s, &w->ref[k]);
    }
    return check_restored(w);
    return 0;
}

/* ------------------------------------------------------------------ mutations */

/* A random position of a random account: its handle, or NULL (no account or no position). Up to
 * eight accounts are tried for one with a position (isolated: an isolated one, one_way: in one-way
 * mode); one time in eight any position does (the call is then refused: a cross position has no
 * isolated margin, a hedge leg cannot cross zero). */
static risk_position *pick_position(world *w, risk_account **acc_out, int isolated, int one_way)
{
    risk_account *a = NULL;
    risk_position *h = NULL;
    int picky = !chance(w, 8);
    for (int tries = 0; tries < 8 && !h; tries++) {
        a = pick(w, NULL);
        if (!a)
            break;
        size_t n = risk_account_position_count(a);
        if (!n || (picky && one_way && risk_account_position_mode(a) != RISK_POSITION_ONE_WAY))
            continue;
        size_t first = (size_t)tu_rng_int(&w->r, 0, (int)n - 1);
        for (size_t j = 0; j < n && !h; j++) {
            risk_position *x = NULL;
            if (risk_account_position_at(a, (first + j) % n, &x) != RISK_OK)
                break;
            if (!picky || !isolated || risk_position_margin_mode(x) == RISK_MARGIN_ISOLATED)
                h = x;
        }
    }
    *acc_out = a;
    return h;
}

static double fill_price(world *w, uint32_t inst)
{
    const inst_info *in = &w->inst[inst];
    return fmax(in->tick, on_step(mark_of(w, inst) * tu_rng_range(&w->r, 0.95, 1.05), in->tick));
}

static void mutate_fill(world *w, uint32_t kind)
{
    risk_account *a = NULL;
    risk_position *h = pick_position(w, &a, 0, kind == M_fill_flip);
    if (!h) {
        if (a)
            note(w, kind, risk_account_id(a), -1, RISK_ENOTFOUND);
        return;
    }
    uint64_t id = risk_account_id(a);
    uint32_t inst = risk_position_instrument(h);
    const inst_info *in = &w->inst[inst];
    double q = risk_position_qty(h), dir = q > 0.0 ? 1.0 : -1.0;
    double held = round(fabs(q) / in->lot);
    double price = fill_price(w, inst), delta = 0.0;
    int rc;
    switch (kind) {
    case M_fill_increase:
        delta = dir * floor(pow(10.0, tu_rng_range(&w->r, 0.0, 3.0))) * in->lot;
        break;
    case M_fill_reduce:
        delta = held > 1.0 ? -dir * (double)tu_rng_int(&w->r, 1, (int)fmin(held - 1.0, 1e9)) * in->lot : -q;
        break;
    case M_fill_to_zero:
        delta = -q;
        break;
    case M_fill_flip:
        delta = -q - dir * floor(pow(10.0, tu_rng_range(&w->r, 0.0, 3.0))) * in->lot;
        break;
    default:
        break;
    }
    if (kind == M_close)
        rc = risk_position_close(h, price);
    else
        rc = risk_position_adjust(h, delta, price);
    note(w, kind, id, inst, rc);
}

static void mutate_balance(world *w, uint32_t kind)
{
    risk_account *a = pick(w, NULL);
    if (!a)
        return;
    risk_basket *b = risk_account_basket(a);
    uint64_t id = risk_account_id(a);
    if (kind == M_balance_to_zero) {
        uint32_t held[MAX_ASSETS], n = 0;
        for (uint32_t as = 0; as < w->n_assets; as++) {
            double bal = 0.0;
            tu_assert_status(risk_basket_balance(b, as, &bal), RISK_OK);
            if (bal != 0.0)
                held[n++] = as;
        }
        if (!n) {
            note(w, kind, id, -1, RISK_ENOTFOUND);
            return;
        }
        uint32_t as = held[tu_rng_int(&w->r, 0, (int)n - 1)];
        double bal = 0.0;
        tu_assert_status(risk_basket_balance(b, as, &bal), RISK_OK);
        note(w, kind, id, as,
             chance(w, 2) ? risk_basket_set_balance(b, as, 0.0) : risk_basket_add_balance(b, as, -bal));
        return;
    }
    uint32_t as = random_asset(w);
    double amount = random_amount(w, as);
    if (kind == M_balance_set)
        note(w, kind, id, as, risk_basket_set_balance(b, as, amount));
    else
        note(w, kind, id, as, risk_basket_add_balance(b, as, chance(w, 3) ? -fabs(amount) / 2.0 : amount));
}

static double new_mark(world *w, uint32_t inst)
{
    return moved(w, mark_of(w, inst), w->inst[inst].base, w->inst[inst].tick);
}

/* A coin's or a stable asset's next price, or NAN for the valuation asset. */
static double new_price(world *w, uint32_t asset)
{
    if (asset == valuation_of(w))
        return NAN;
    const asset_info *as = &w->asset[asset];
    if (as->stable)
        return on_step(as->base * tu_rng_range(&w->r, 0.995, 1.005), 1e-4);
    return moved(w, price_of(w, asset), as->base, 1e-6);
}

static uint32_t random_coin(world *w)
{
    const uint32_t coins[3] = {w->btc, w->eth, w->sol};
    return coins[tu_rng_int(&w->r, 0, 2)];
}

static void mutate_liquidation(world *w)
{
    risk_account *a = NULL;
    if (w->n_liq && !chance(w, 8))
        if (risk_engine_find_account(w->e, w->liq[tu_rng_int(&w->r, 0, (int)w->n_liq - 1)], &a) != RISK_OK)
            a = NULL; /* freed since the check */
    if (!a)
        a = pick(w, NULL);
    if (!a)
        return;
    risk_liquidation_plan plan = RISK_LIQUIDATION_PLAN_INIT;
    size_t need = 0;
    int rc = risk_account_liquidation_plan(a, &plan, NULL, 0, &need);
    risk_liquidation_action *acts = NULL;
    if (rc == RISK_EBUFFER && need) {
        acts = test_malloc(need * sizeof *acts);
        rc = risk_account_liquidation_plan(a, &plan, acts, need, &need);
    }
    if (rc == RISK_OK)
        rc = risk_account_apply_plan(a, &plan, acts, plan.n_actions);
    if (rc == RISK_OK)
        w->st->liquidated_actions += plan.n_actions;
    note(w, M_liquidation_plan, risk_account_id(a), (int64_t)plan.n_actions, rc);
    for (size_t k = 0; rc == RISK_OK && k < plan.n_actions; k++)
        if (acts[k].counterparty)
            hist(w, acts[k].counterparty, M_liquidation_plan, (int64_t)plan.account_id, rc);
    test_free(acts);
}

static void mutate_bulk_add(world *w)
{
    enum { MAXN = 24 };
    uint64_t ids[MAXN];
    uint32_t mm[MAXN], pm[MAXN];
    risk_account *made[MAXN];
    size_t n = (size_t)tu_rng_int(&w->r, 3, MAXN);
    for (size_t k = 0; k < n; k++) {
        ids[k] = w->next_id++;
        random_modes(w, &mm[k], &pm[k]);
    }
    int rc = risk_engine_add_accounts(w->e, ids, mm, pm, n, made);
    note(w, M_bulk_add_accounts, 0, (int64_t)n, rc);
    if (rc != RISK_OK)
        return;
    for (size_t k = 0; k < n; k++)
        hist(w, ids[k], M_bulk_add_accounts, (int64_t)k, rc);
    for (size_t k = 0; k < n; k++) {
        list_add(w, made[k]);
        if (chance(w, 2))
            note(w, M_adopt, ids[k], -1, risk_account_adopt(made[k])); /* the others stay engine-owned */
    }
    /* their balances and positions through the bulk calls */
    uint64_t bid[2 * MAXN];
    uint32_t bas[2 * MAXN];
    double bam[2 * MAXN];
    size_t nb = 0;
    for (size_t k = 0; k < n; k++) {
        bid[nb] = ids[k];
        bas[nb] = w->usdt;
        bam[nb++] = random_amount(w, w->usdt);
        if (chance(w, 3)) {
            bid[nb] = ids[k];
            bas[nb] = random_asset(w);
            bam[nb] = random_amount(w, bas[nb]);
            nb++;
        }
    }
    int rc_b = risk_engine_set_balances(w->e, bid, bas, bam, nb);
    note(w, M_bulk_balances, 0, (int64_t)nb, rc_b);
    for (size_t k = 0; k < nb; k++)
        hist(w, bid[k], M_bulk_balances, (int64_t)k, rc_b);
    enum { MAXP = 4 * MAXN };
    uint64_t pid[MAXP];
    uint32_t pin[MAXP], psd[MAXP], pmm[MAXP];
    double pq[MAXP], pe[MAXP], pim[MAXP];
    size_t np = 0;
    for (size_t k = 0; k < n; k++) {
        int want = tu_rng_int(&w->r, 0, 4);
        for (int j = 0; j < want && np < MAXP; j++) {
            /* distinct legs: instrument j of a random rotation, long legs in hedge mode */
            uint32_t inst = (uint32_t)((k + (size_t)j * 3u) % w->n_inst);
            if (inst == w->option && w->option_settled)
                continue;
            risk_position_spec s =
                random_spec(w, mm[k], inst, pm[k] == RISK_POSITION_HEDGE ? RISK_SIDE_LONG : RISK_SIDE_BOTH);
            pid[np] = ids[k];
            pin[np] = s.instrument;
            psd[np] = s.side;
            pmm[np] = s.margin_mode;
            pq[np] = s.qty;
            pe[np] = s.entry;
            pim[np++] = s.isolated_margin;
        }
    }
    risk_position_columns c = RISK_POSITION_COLUMNS_INIT;
    c.account_ids = pid;
    c.instruments = pin;
    c.sides = psd;
    c.margin_modes = pmm;
    c.qty = pq;
    c.entry = pe;
    c.isolated_margin = pim;
    int rc_p = risk_engine_open_positions(w->e, &c, np);
    note(w, M_bulk_open, 0, (int64_t)np, rc_p);
    for (size_t k = 0; k < np; k++)
        hist(w, pid[k], M_bulk_open, (int64_t)k, rc_p);
}

static void mutate_bulk(world *w, uint32_t kind)
{
    enum { MAXR = 8 };
    uint64_t ids[MAXR];
    uint32_t x[MAXR], side[MAXR], mmode[MAXR];
    double v[MAXR], qty[MAXR], entry[MAXR], im[MAXR];
    size_t n = (size_t)tu_rng_int(&w->r, 1, MAXR);
    if (!w->n_acc)
        return;
    for (size_t k = 0; k < n; k++) {
        size_t i = 0;
        risk_account *a = pick(w, &i);
        ids[k] = w->ids[i];
        if (kind == M_bulk_balances) {
            x[k] = random_asset(w);
            v[k] = chance(w, 6) ? 0.0 : random_amount(w, x[k]);
        } else if (kind == M_bulk_leverages) {
            x[k] = random_inst(w);
            v[k] = floor(tu_rng_range(&w->r, 1.0, 60.0));
        } else {
            uint32_t inst = random_inst(w);
            risk_position_spec s = random_spec(w, risk_account_margin_mode(a), inst,
                                               random_leg(w, risk_account_position_mode(a)));
            x[k] = inst;
            side[k] = s.side;
            mmode[k] = s.margin_mode;
            qty[k] = s.qty;
            entry[k] = s.entry;
            im[k] = s.isolated_margin;
        }
    }
    if (chance(w, 12)) /* an unknown account: all or nothing, so nothing */
        ids[n - 1] = 999999999;
    int rc;
    if (kind == M_bulk_balances) {
        rc = risk_engine_set_balances(w->e, ids, x, v, n);
    } else if (kind == M_bulk_leverages) {
        rc = risk_engine_set_leverages(w->e, ids, x, v, n);
    } else {
        risk_position_columns c = RISK_POSITION_COLUMNS_INIT;
        c.account_ids = ids;
        c.instruments = x;
        c.sides = side;
        c.margin_modes = mmode;
        c.qty = qty;
        c.entry = entry;
        c.isolated_margin = im;
        rc = risk_engine_open_positions(w->e, &c, n);
    }
    note(w, kind, 0, (int64_t)n, rc);
    for (size_t k = 0; k < n; k++)
        hist(w, ids[k], kind, (int64_t)k, rc);
}

static void mutate_free_run(world *w, uint32_t kind, size_t len)
{
    if (!w->n_acc)
        return;
    size_t start = (size_t)tu_rng_int(&w->r, 0, (int)w->n_acc - 1), freed = 0;
    uint64_t first = w->ids[start];
    while (freed < len && start < w->n_acc)
        if (free_at(w, start))
            freed++;
        else
            start++;
    note(w, kind, first, (int64_t)freed, RISK_OK);
}

static void mutate_engine(world *w, uint32_t kind)
{
    int rc = RISK_OK;
    int64_t what = -1;
    switch (kind) {
    case M_mark: {
        uint32_t i = random_inst(w);
        what = i;
        rc = risk_engine_set_mark(w->e, i, new_mark(w, i));
        break;
    }
    case M_marks: {
        uint32_t ids[MAX_INST];
        double m[MAX_INST];
        size_t n = 0;
        for (uint32_t i = 0; i < w->n_inst; i++)
            if (chance(w, 2)) {
                ids[n] = i;
                m[n++] = new_mark(w, i);
            }
        what = (int64_t)n;
        rc = risk_engine_set_marks(w->e, ids, m, n);
        break;
    }
    case M_price: {
        uint32_t as = (uint32_t)tu_rng_int(&w->r, 0, (int)w->n_assets - 1);
        double p = new_price(w, as);
        what = as;
        rc = isnan(p) ? RISK_EINVAL : risk_engine_set_asset_price(w->e, as, p);
        break;
    }
    case M_prices: {
        uint32_t ids[MAX_ASSETS];
        double p[MAX_ASSETS];
        size_t n = 0;
        for (uint32_t as = 0; as < w->n_assets; as++) {
            double x = new_price(w, as);
            if (!isnan(x) && chance(w, 2)) {
                ids[n] = as;
                p[n++] = x;
            }
        }
        what = (int64_t)n;
        rc = risk_engine_set_asset_prices(w->e, ids, p, n);
        break;
    }
    case M_funding_accrue: {
        uint32_t i = random_inst(w);
        double rl = tu_rng_range(&w->r, -0.001, 0.001);
        double rs = chance(w, 2) ? rl : tu_rng_range(&w->r, -0.001, 0.001);
        w->now += 3600;
        what = i;
        rc = risk_engine_accrue_funding(w->e, i, rl, rs, chance(w, 3) ? fill_price(w, i) : 0.0, w->now);
        break;
    }
    case M_funding_settle_engine: {
        uint32_t i = random_inst(w);
        risk_funding_result fr = RISK_FUNDING_RESULT_INIT;
        what = i;
        rc = risk_engine_settle_funding(w->e, i, tu_rng_range(&w->r, -0.0005, 0.0005), 0.0, &fr);
        break;
    }
    case M_liquidate_all: {
        risk_liquidate_all_result res = RISK_LIQUIDATE_ALL_RESULT_INIT;
        rc = risk_engine_liquidate_all(w->e, NULL, &res);
        what = (int64_t)res.n_applied;
        w->st->liquidated_actions += res.n_actions;
        break;
    }
    case M_interest_accrue:
        w->now += 3600 * tu_rng_int(&w->r, 1, 48);
        rc = risk_engine_accrue(w->e, w->now);
        break;
    case M_rate_pool: {
        uint32_t as = chance(w, 2) ? w->usdc : w->btc;
        risk_rate_pool p = RISK_RATE_POOL_INIT;
        what = as;
        rc = risk_engine_rate_pool(w->e, as, &p);
        if (rc == RISK_OK) { /* a venue's reserve data: new indices revalue every holder at once */
            p.supply_index *= 1.0 + tu_rng_range(&w->r, 0.0, 2e-3);
            p.borrow_index *= 1.0 + tu_rng_range(&w->r, 0.0, 4e-3);
            rc = risk_engine_set_rate_pool(w->e, as, &p);
        }
        break;
    }
    case M_asset_vol: /* the scaled instruments' factor moves: a volatility set, a return or a price fed */
        w->now += 3600;
        what = tu_rng_int(&w->r, 0, 2);
        if (what == 0)
            rc = risk_engine_set_asset_vol(w->e, w->btc, tu_rng_range(&w->r, 0.2, 1.6), w->now);
        else if (what == 1)
            rc = risk_engine_feed_asset_return(w->e, w->btc, tu_rng_range(&w->r, -0.15, 0.15), w->now);
        else
            rc = risk_engine_feed_asset_price(w->e, w->btc, price_of(w, w->btc) * tu_rng_range(&w->r, 0.85, 1.15),
                                              w->now);
        break;
    case M_option_vol:
        what = w->option;
        rc = risk_engine_set_mark_vol(w->e, w->option, tu_rng_range(&w->r, 0.3, 1.2));
        break;
    case M_add_instrument:
        if (w->n_inst >= MAX_INST)
            return;
        what = add_random_instrument(w);
        break;
    case M_add_asset: {
        if (w->n_assets >= MAX_ASSETS)
            return;
        char sym[16];
        snprintf(sym, sizeof sym, "A%u", w->n_assets);
        double p = on_step(pow(10.0, tu_rng_range(&w->r, -1.0, 3.0)), 1e-4);
        double wm = tu_rng_range(&w->r, 0.5, 1.0), lw = tu_rng_range(&w->r, 1.0, 1.2);
        what = add_asset(w, sym, p, 8, wm * tu_rng_range(&w->r, 0.7, 1.0), wm, lw * 1.05, lw, 1.0 - log10(p),
                         5.0 - log10(p), 0);
        break;
    }
    case M_instrument_scaling: {
        uint32_t i = random_inst(w);
        risk_margin_scaling sc = RISK_MARGIN_SCALING_INIT;
        sc.mode = RISK_SCALING_TIERS;
        sc.reference_vol_annual = tu_rng_range(&w->r, 0.4, 1.0);
        sc.min_factor = 0.5;
        sc.max_factor = 3.0;
        what = i;
        rc = risk_engine_set_instrument_scaling(w->e, i, chance(w, 2) ? &sc : NULL);
        break;
    }
    case M_size_premium: { /* on for one instrument (off for the one before), or off */
        risk_size_premium sp = RISK_SIZE_PREMIUM_INIT;
        sp.imf = tu_rng_range(&w->r, 0.0005, 0.005);
        sp.base_share = tu_rng_range(&w->r, 0.0, 1.0);
        uint32_t i = random_inst(w), was = w->premium_inst;
        if (was != RISK_ID_NONE && (chance(w, 2) || was != i)) {
            rc = risk_engine_set_instrument_size_premium(w->e, was, NULL);
            note(w, kind, 0, was, rc);
            w->premium_inst = RISK_ID_NONE;
            if (chance(w, 2))
                return;
        }
        what = i;
        rc = risk_engine_set_instrument_size_premium(w->e, i, &sp);
        if (rc == RISK_OK)
            w->premium_inst = i;
        break;
    }
    case M_upnl_weight: { /* on for one instrument, or off: while on, the AVX-512 kernel stays off */
        uint32_t i = random_inst(w), was = w->upnl_inst;
        if (was != RISK_ID_NONE) {
            what = was;
            rc = risk_engine_set_instrument_upnl_weight(w->e, was, 1.0, 1.0, 0.0);
            w->upnl_inst = RISK_ID_NONE;
        } else {
            double wm = tu_rng_range(&w->r, 0.5, 1.0);
            what = i;
            rc = risk_engine_set_instrument_upnl_weight(w->e, i, wm * tu_rng_range(&w->r, 0.5, 1.0), wm,
                                                        tu_rng_range(&w->r, 0.0, 0.01));
            if (rc == RISK_OK)
                w->upnl_inst = i;
        }
        break;
    }
    case M_asset_size_scaling: { /* on for one asset (off for the one before), or off */
        uint32_t as = (uint32_t)tu_rng_int(&w->r, 0, (int)w->n_assets - 1), was = w->scaled_asset;
        risk_size_scaling sc = RISK_SIZE_SCALING_INIT;
        sc.imf = tu_rng_range(&w->r, 0.0005, 0.01);
        if (was != RISK_ID_NONE && (chance(w, 2) || was != as)) {
            rc = risk_engine_set_asset_size_scaling(w->e, was, NULL);
            note(w, kind, 0, was, rc);
            w->scaled_asset = RISK_ID_NONE;
            if (chance(w, 2))
                return;
        }
        what = as;
        rc = risk_engine_set_asset_size_scaling(w->e, as, &sc);
        if (rc == RISK_OK)
            w->scaled_asset = as;
        break;
    }
    case M_margin_call_health:
        rc = risk_engine_set_margin_call_health(w->e, tu_rng_range(&w->r, 1.0, 1.6));
        break;
    case M_valuation_asset: {
        uint32_t to = valuation_of(w) == w->usdt ? w->usd1 : w->usdt;
        what = to;
        rc = risk_engine_set_asset_price(w->e, to, 1.0);
        if (rc == RISK_OK)
            rc = risk_engine_set_valuation_asset(w->e, to);
        break;
    }
    case M_portfolio_params: {
        risk_portfolio_margin_params p;
        rc = risk_engine_portfolio_margin(&p, w->e);
        if (rc == RISK_OK) {
            p.im_multiplier = tu_rng_range(&w->r, 1.1, 2.5);
            rc = risk_engine_set_portfolio_margin(w->e, &p);
        }
        break;
    }
    case M_tick_apply: {
        uint32_t ids[2] = {random_inst(w), random_inst(w)};
        double m[2];
        m[0] = new_mark(w, ids[0]);
        m[1] = ids[1] == ids[0] ? m[0] : new_mark(w, ids[1]);
        uint32_t as = random_coin(w);
        double p = new_price(w, as);
        size_t changes = 0;
        what = ids[0];
        rc = risk_tick_apply(w->tick, ids, m, (size_t)tu_rng_int(&w->r, 1, 2), &as, &p, (size_t)chance(w, 2),
                             &changes);
        break;
    }
    case M_engine_time:
        if (w->option_settled)
            return;
        w->engine_time = w->engine_time + 3600 * tu_rng_int(&w->r, 1, 6);
        if (w->engine_time >= w->expiry)
            w->engine_time = w->expiry - 1;
        rc = risk_engine_set_time(w->e, w->engine_time);
        break;
    case M_cascade: {
        double shocks[MAX_ASSETS];
        uint32_t v = valuation_of(w);
        for (uint32_t as = 0; as < w->n_assets; as++)
            shocks[as] = as == v || w->asset[as].stable ? 0.0 : tu_rng_range(&w->r, -0.2, 0.05);
        risk_cascade_options co = RISK_CASCADE_OPTIONS_INIT;
        co.max_rounds = 3;
        co.n_steps = 1;
        co.n_assets = w->n_assets;
        co.shocks = shocks;
        risk_cascade_round totals = RISK_CASCADE_ROUND_INIT;
        size_t count = 0;
        rc = risk_engine_cascade(w->e, &co, &totals, NULL, NULL, NULL, 0, &count);
        what = (int64_t)totals.n_liquidated;
        break;
    }
    default:
        fail_msg("not an engine mutation: %s", mutation_names[kind]);
    }
    note(w, kind, 0, what, rc);
}

static void mutate(world *w, uint32_t kind)
{
    switch (kind) {
    case M_open: {
        risk_account *a = pick(w, NULL);
        if (!a)
            return;
        uint32_t inst = random_inst(w);
        risk_position_spec s =
            random_spec(w, risk_account_margin_mode(a), inst, random_leg(w, risk_account_position_mode(a)));
        risk_position *h = NULL;
        note(w, kind, risk_account_id(a), inst, risk_account_open_position(a, &s, chance(w, 2) ? &h : NULL));
        return;
    }
    case M_fill_increase:
    case M_fill_reduce:
    case M_fill_to_zero:
    case M_fill_flip:
    case M_close:
        mutate_fill(w, kind);
        return;
    case M_leverage: {
        risk_account *a = pick(w, NULL);
        if (!a)
            return;
        uint32_t inst = random_inst(w);
        double lev = chance(w, 4) ? tu_rng_range(&w->r, 1.0, 20.0) : floor(tu_rng_range(&w->r, 1.0, 130.0));
        note(w, kind, risk_account_id(a), inst, risk_account_set_leverage(a, inst, lev));
        return;
    }
    case M_isolated_margin: {
        risk_account *a = NULL;
        risk_position *h = pick_position(w, &a, 1, 0);
        if (!h)
            return;
        uint32_t inst = risk_position_instrument(h);
        double m = risk_position_isolated_margin(h);
        double want = chance(w, 6) ? 0.0
                                   : on_step((m > 0.0 ? m : 100.0 / w->asset[w->inst[inst].settle].base) *
                                                 tu_rng_range(&w->r, 0.3, 2.0),
                                             w->asset[w->inst[inst].settle].quantum);
        note(w, kind, risk_account_id(a), inst, risk_position_set_isolated_margin(h, want));
        return;
    }
    case M_balance_set:
    case M_balance_add:
    case M_balance_to_zero:
        mutate_balance(w, kind);
        return;
    case M_funding_settle_account: {
        risk_account *a = pick(w, NULL);
        if (!a)
            return;
        risk_funding_result fr = RISK_FUNDING_RESULT_INIT;
        note(w, kind, risk_account_id(a), -1, risk_account_settle_funding(a, chance(w, 2) ? &fr : NULL));
        return;
    }
    case M_liquidation_plan:
        mutate_liquidation(w);
        return;
    case M_free: {
        size_t k = 0;
        if (!pick(w, &k))
            return;
        uint64_t id = w->ids[k];
        note(w, kind, id, -1, free_at(w, k) ? RISK_OK : RISK_ESTATE);
        return;
    }
    case M_free_run:
        mutate_free_run(w, kind, (size_t)tu_rng_int(&w->r, 5, 40));
        return;
    case M_new_account:
        (void)new_account(w);
        return;
    case M_bulk_add_accounts:
        mutate_bulk_add(w);
        return;
    case M_adopt: {
        risk_account *a = pick(w, NULL);
        if (a)
            note(w, kind, risk_account_id(a), -1, risk_account_adopt(a));
        return;
    }
    case M_bulk_balances:
    case M_bulk_leverages:
    case M_bulk_open:
        mutate_bulk(w, kind);
        return;
    case M_pool_transfer: {
        risk_account *a = pick(w, NULL);
        if (!a)
            return;
        uint32_t as = chance(w, 2) ? w->usdc : w->btc;
        double d = on_step(tu_rng_range(&w->r, -1.0, 1.0) * (as == w->btc ? 0.5 : 2000.0), w->asset[as].quantum);
        note(w, kind, risk_account_id(a), as, risk_basket_pool_transfer(risk_account_basket(a), as, d));
        return;
    }
    default:
        mutate_engine(w, kind);
    }
}

static uint32_t draw(world *w)
{
    int x = tu_rng_int(&w->r, 0, w->weight_total - 1);
    for (uint32_t k = 0; k < M_COUNT; k++) {
        x -= w->weights[k];
        if (x < 0)
            return k;
    }
    return M_open;
}

/* ------------------------------------------------------------------ scheduled events */

/* 70 % of the book freed: holes everywhere, and past half the slots the engine compacts them. */
static void mass_free(world *w)
{
    size_t before = w->n_acc;
    for (size_t k = 0; k < w->n_acc;)
        if (tu_rng_int(&w->r, 0, 9) < 7 && free_at(w, k))
            continue;
        else
            k++;
    note(w, M_mass_free, 0, (int64_t)(before - w->n_acc), RISK_OK);
}

static void mass_new(world *w)
{
    size_t before = w->n_acc;
    while (w->n_acc < (size_t)w->cfg->accounts)
        (void)new_account(w);
    note(w, M_mass_new, 0, (int64_t)(w->n_acc - before), RISK_OK);
}

/* Instruments added until there are 17: past 16 the AVX-512 kernel looks instrument fields up by
 * gathers, and the engine keeps a sweep scratch. */
static void grow_instruments(world *w)
{
    uint32_t before = w->n_inst;
    while (w->n_inst <= 16)
        (void)add_random_instrument(w);
    note(w, M_grow_instruments, 0, (int64_t)(w->n_inst - before), RISK_OK);
}

static void settle_option(world *w)
{
    w->engine_time = w->expiry;
    int rc = risk_engine_set_time(w->e, w->engine_time);
    size_t n = 0;
    if (rc == RISK_OK)
        rc = risk_engine_settle_expired(w->e, w->option, on_step(price_of(w, w->btc), 0.1), &n);
    w->option_settled = 1;
    note(w, M_settle_expired, 0, (int64_t)n, rc);
}

/* The engine replaced by one restored from its snapshot (its accounts engine-owned, half of them
 * adopted), the old one freed. F_MAPPED: through a file read with RISK_SNAPSHOT_MAP_IN_PLACE, so
 * that the restored accounts' positions lie in the mapping (the file is unlinked at once: the
 * mapping stays). */
static void snapshot_restore(world *w)
{
    int next = 1 - w->al_cur;
    assert_int_equal(w->al[next].live_blocks, 0);
    tu_alloc_init(&w->al[next]);
    risk_snapshot_options so = RISK_SNAPSHOT_OPTIONS_INIT;
    so.allocator = tu_allocator(&w->al[next]);
    risk_engine *e2 = NULL;
    if (w->cfg->features & F_MAPPED) {
        char dir[256], path[300];
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/librisk-img-XXXXXX", base && *base ? base : "/tmp");
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/engine.snap", dir);
        tu_assert_status(risk_engine_snapshot_write_file(w->e, path), RISK_OK);
        so.flags = RISK_SNAPSHOT_MAP_IN_PLACE;
        tu_assert_status(risk_engine_snapshot_read_file(&e2, path, &so), RISK_OK);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
    } else {
        size_t size = 0;
        tu_assert_status(risk_engine_snapshot_write(w->e, NULL, 0, &size), RISK_EBUFFER);
        void *buf = test_malloc(size);
        tu_assert_status(risk_engine_snapshot_write(w->e, buf, size, &size), RISK_OK);
        tu_assert_status(risk_engine_snapshot_read(&e2, buf, size, &so), RISK_OK);
        test_free(buf);
    }
    risk_tick_free(w->tick);
    w->tick = NULL;
    size_t n_old = w->n_acc;
    for (size_t k = 0; k < w->n_acc; k++)
        risk_account_free(w->acc[k]);
    risk_engine_free(w->e);
    w->e = e2;
    w->al_cur = next;
    size_t n = 0;
    int rc = risk_engine_accounts(e2, NULL, 0, &n);
    tu_assert_status(rc, n ? RISK_EBUFFER : RISK_OK);
    assert_int_equal(n, n_old);
    risk_account **all = test_malloc((n + 1) * sizeof *all);
    tu_assert_status(risk_engine_accounts(e2, all, n, &n), RISK_OK);
    w->n_acc = 0;
    for (size_t k = 0; k < n; k++) {
        list_add(w, all[k]);
        if (chance(w, 2))
            tu_assert_status(risk_account_adopt(all[k]), RISK_OK);
    }
    test_free(all);
    if (w->cfg->features & F_TICK)
        tu_assert_status(risk_tick_new(&w->tick, w->e), RISK_OK);
    note(w, M_snapshot_restore, 0, (int64_t)n, RISK_OK);
}

/* ------------------------------------------------------------------ running seeds */

/* Runs one seed: the check after the build and after every round. Returns 0, or 1 with the
 * message in w->fail (everything freed either way). */
static int run_seed(const seed_cfg *cfg, stats *st, char *msg, size_t cap)
{
    world *w = test_malloc(sizeof *w);
    build(w, cfg, st);
    int bad = check(w);
    for (int round = 1; round <= cfg->rounds && !bad; round++) {
        w->round = round;
        if ((cfg->features & F_MASS) && round == cfg->rounds / 3) {
            mass_free(w);
            bad = check(w);
            if (bad)
                break;
            mass_new(w);
        }
        if ((cfg->features & F_GROW) && round == cfg->rounds / 4)
            grow_instruments(w);
        if ((cfg->features & F_SNAPSHOT) && round == cfg->rounds / 2)
            snapshot_restore(w);
        if ((cfg->features & F_OPTION) && round == 2 * cfg->rounds / 3)
            settle_option(w);
        int n = tu_rng_int(&w->r, 1, 10);
        for (int k = 0; k < n; k++)
            mutate(w, draw(w));
        bad = check(w);
    }
    if (bad) {
        size_t len = strlen(w->fail);
        len = len < cap ? len : cap - 1;
        memcpy(msg, w->fail, len);
        msg[len] = '\0';
    }
    teardown(w);
    test_free(w);
    return bad;
}

/* print_error line by line: cmocka formats a message into a buffer of its own, which cuts a
 * long one short */
static void print_lines(const char *msg)
{
    while (*msg) {
        const char *end = strchr(msg, '\n');
        int len = end ? (int)(end - msg) : (int)strlen(msg);
        print_error("%.*s\n", len, msg);
        msg += len + (end != NULL);
    }
}

static void run_seeds(const seed_cfg *cfgs, size_t n, const char *label)
{
    stats *st = test_calloc(1, sizeof *st);
    char *msg = test_malloc(FAIL_MAX);
    int bad = 0;
    for (size_t k = 0; k < n && !bad; k++)
        bad = run_seed(&cfgs[k], st, msg, FAIL_MAX);
    if (bad) {
        print_lines(msg);
        test_free(msg);
        test_free(st);
        fail_msg("%s: a sweep disagrees with its reference (above)", label);
    }
    test_free(msg);
    /* the test does what it says: every mutation it draws has applied at least once, accounts
     * of more than 8 positions were swept, plans acted, and every state was reached */
    char line[4096];
    size_t len = (size_t)snprintf(line, sizeof line, "%s: %llu checks, %llu summaries, most positions %u; ok/tried:",
                                  label, (unsigned long long)st->checks, (unsigned long long)st->summaries,
                                  st->most_positions);
    for (int k = 0; k < M_COUNT && len < sizeof line; k++)
        if (st->enabled[k])
            len += (size_t)snprintf(line + len, sizeof line - len, " %s %llu/%llu", mutation_names[k],
                                    (unsigned long long)st->ok[k], (unsigned long long)st->tried[k]);
    print_message("%s\n", line);
    stats s = *st;
    test_free(st);
    for (int k = 0; k < M_COUNT; k++)
        if (s.enabled[k] && s.ok[k] == 0)
            fail_msg("%s: mutation %s never applied (%llu tries)", label, mutation_names[k],
                     (unsigned long long)s.tried[k]);
    assert_true(s.over8 > 0);
    assert_true(s.liquidated_actions > 0);
    for (int k = 0; k < 4; k++)
        assert_true(s.states[k] > 0);
}

/* ------------------------------------------------------------------ tests */

/* Quantized engines: a USDT book with an inverse perpetual, a future, a backstop and a tick
 * tracker; a book with a USDC-settled perpetual, interest, volatility scaling, socialised
 * deficits, the valuation asset switching, restored from its snapshot half way; a book with an
 * option settled on expiry and portfolio-margin accounts, 70 % of it freed a third of the way. */
static void test_sweep_image_random_mutations_quantized(void **state)
{
    (void)state;
    static const seed_cfg cfgs[] = {
        {1, 0u, 240, 300, 0, 12, F_INVERSE | F_FUTURE | F_BACKSTOP | F_TICK | F_MASS | F_GROW},
        {2, 0u, 300, 300, 0, 12, F_USDC | F_RATES | F_SCALING | F_SOCIALIZE | F_VALUATION | F_SNAPSHOT},
        {3, 0u, 260, 300, 0, 12, F_OPTION | F_PORTFOLIO | F_INVERSE | F_MASS | F_SNAPSHOT | F_MAPPED | F_BACKSTOP},
    };
    run_seeds(cfgs, sizeof cfgs / sizeof cfgs[0], "quantized");
}

/* The same without quantization (RISK_ENGINE_NO_QUANTIZE); books of contract size 1 only (the
 * kernel's variant without contract sizes), and of USDT-settled linear instruments only (its
 * variant without settle prices). */
static void test_sweep_image_random_mutations_unquantized(void **state)
{
    (void)state;
    static const seed_cfg cfgs[] = {
        {11, RISK_ENGINE_NO_QUANTIZE, 280, 300, 0, 12,
         F_INVERSE | F_USDC | F_RATES | F_BACKSTOP | F_SOCIALIZE | F_MASS | F_TICK},
        {12, RISK_ENGINE_NO_QUANTIZE, 240, 300, 0, 12, F_UNIT | F_SCALING | F_SNAPSHOT | F_VALUATION},
        {13, 0u, 220, 300, 0, 12, F_UNIT | F_BACKSTOP | F_MASS | F_GROW},
        {14, 0u, 220, 300, 0, 12, F_FUTURE | F_BACKSTOP | F_RATES | F_MASS},
    };
    run_seeds(cfgs, sizeof cfgs / sizeof cfgs[0], "unquantized and unit");
}

/* Engines of more than 16 instruments (the AVX-512 kernel gathers instrument fields rather than
 * permuting them), one of them settled in USDT only, and accounts of up to 17 positions (two
 * vectors, and the scalar path past 16). */
static void test_sweep_image_random_mutations_many_instruments(void **state)
{
    (void)state;
    static const seed_cfg cfgs[] = {
        {21, 0u, 300, 300, 14, 17, F_INVERSE | F_USDC | F_BACKSTOP | F_RATES | F_MASS},
        {22, RISK_ENGINE_NO_QUANTIZE, 260, 300, 12, 17, F_OPTION | F_SCALING | F_SNAPSHOT | F_MAPPED | F_SOCIALIZE},
        {23, 0u, 240, 300, 14, 17, F_BACKSTOP | F_SCALING | F_TICK},
    };
    run_seeds(cfgs, sizeof cfgs / sizeof cfgs[0], "many instruments");
}

/* A book of more than 1024 slots, so that 2 threads are 2 threads (the engine runs one thread
 * per 1024 slots at most). */
static void test_sweep_image_random_mutations_two_threads(void **state)
{
    (void)state;
    static const seed_cfg cfgs[] = {
        {31, 0u, 1150, 300, 4, 12,
         F_INVERSE | F_USDC | F_FUTURE | F_RATES | F_SCALING | F_BACKSTOP | F_SOCIALIZE | F_SNAPSHOT | F_TICK},
    };
    run_seeds(cfgs, sizeof cfgs / sizeof cfgs[0], "two threads");
}

/* Runs of freed accounts: whole groups of 8 slots emptied, partial groups, the first and last
 * slots; then survivors mutated, accounts added back (after the holes), the book thinned until
 * the engine compacts its slots, refilled, emptied, refilled. The check after each step. */
static void free_runs(uint32_t flags, uint64_t seed)
{
    static seed_cfg cfg;
    cfg = (seed_cfg){seed, flags, 2100, 0, 2, 12, F_INVERSE | F_USDC | F_BACKSTOP};
    stats *st = test_calloc(1, sizeof *st);
    world *w = test_malloc(sizeof *w);
    build(w, &cfg, st);
    int bad = check(w);
    /* 1. by slot (creation order, nothing freed yet): groups g % 4 == 0 emptied, == 1 three of
     * eight freed, == 2 the first freed, == 3 kept; and the last 20 */
    if (!bad) {
        w->round = 1;
        size_t n0 = w->n_acc;
        uint64_t *doomed = test_malloc(n0 * sizeof *doomed);
        size_t nd = 0;
        for (size_t s = 0; s < n0; s++) {
            size_t g = s / 8, j = s % 8;
            int go = g % 4 == 0 || (g % 4 == 1 && (j == 1 || j == 4 || j == 6)) || (g % 4 == 2 && j == 0) ||
                     s + 20 >= n0;
            if (go)
                doomed[nd++] = w->ids[s];
        }
        for (size_t d = 0, k = 0; d < nd; d++) {
            while (w->ids[k] != doomed[d])
                k++;
            if (!free_at(w, k))
                k++;
        }
        test_free(doomed);
        note(w, M_free_run, 0, (int64_t)(n0 - w->n_acc), RISK_OK);
        bad = check(w);
    }
    /* 2. the survivors next to the holes mutated */
    static const uint32_t local[] = {M_open, M_fill_increase, M_fill_reduce, M_fill_to_zero, M_fill_flip,
                                     M_close, M_leverage, M_isolated_margin, M_balance_set, M_balance_add,
                                     M_balance_to_zero, M_funding_settle_account};
    for (int k = 0; k < 300 && !bad; k++)
        mutate(w, local[tu_rng_int(&w->r, 0, (int)(sizeof local / sizeof local[0]) - 1)]);
    if (!bad) {
        w->round = 2;
        bad = check(w);
    }
    /* 3. accounts added back: they take new slots after the holes */
    if (!bad) {
        w->round = 3;
        for (int k = 0; k < 400; k++)
            (void)new_account(w);
        bad = check(w);
    }
    /* 4. two in three freed: past half the slots empty, the engine compacts them */
    if (!bad) {
        w->round = 4;
        size_t before = w->n_acc;
        for (size_t k = 0, i = 0; k < w->n_acc; i++)
            if (i % 3 != 0 && free_at(w, k))
                continue;
            else
                k++;
        note(w, M_mass_free, 0, (int64_t)(before - w->n_acc), RISK_OK);
        bad = check(w);
    }
    /* 5. refilled, mutated */
    if (!bad) {
        w->round = 5;
        for (int k = 0; k < 600; k++)
            (void)new_account(w);
        for (int k = 0; k < 200; k++)
            mutate(w, local[tu_rng_int(&w->r, 0, (int)(sizeof local / sizeof local[0]) - 1)]);
        bad = check(w);
    }
    /* 6. all but the last five freed (from the front); then all, the backstop too */
    if (!bad) {
        w->round = 6;
        for (size_t k = 0; w->n_acc > 5 && k < w->n_acc;)
            if (!free_at(w, k))
                k++;
        bad = check(w);
    }
    if (!bad) {
        w->round = 7;
        w->backstop = 0;
        while (w->n_acc)
            (void)free_at(w, 0);
        bad = check(w);
    }
    /* 7. and refilled from nothing */
    if (!bad) {
        w->round = 8;
        for (int k = 0; k < 1100; k++)
            (void)new_account(w);
        bad = check(w);
    }
    char *msg = NULL;
    if (bad) {
        msg = test_malloc(sizeof w->fail);
        memcpy(msg, w->fail, sizeof w->fail);
    }
    uint64_t over8 = st->over8;
    teardown(w);
    test_free(w);
    test_free(st);
    if (msg) {
        print_lines(msg);
        test_free(msg);
        fail_msg("free runs: a sweep disagrees with its reference (above)");
    }
    assert_true(over8 > 0);
}

static void test_sweep_image_free_runs_and_refill(void **state)
{
    (void)state;
    free_runs(0u, 41);
    free_runs(RISK_ENGINE_NO_QUANTIZE, 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_image_random_mutations_quantized),
        cmocka_unit_test(test_sweep_image_random_mutations_unquantized),
        cmocka_unit_test(test_sweep_image_random_mutations_many_instruments),
        cmocka_unit_test(test_sweep_image_random_mutations_two_threads),
        cmocka_unit_test(test_sweep_image_free_runs_and_refill),
    };
    /* Both kernels of the sweep, as tests/test_sweep.c runs them: AVX-512 where the CPU has it
     * (the library's choice), and none (the scalar table path, what other CPUs run). */
    static const char *const caps[] = {"avx512", "off"};
    int failed = 0;
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        if (setenv("RISK_SWEEP_SIMD", caps[c], 1) != 0)
            return 1;
        failed += cmocka_run_group_tests_name(caps[c], tests, NULL, NULL);
    }
    unsetenv("RISK_SWEEP_SIMD");
    return failed;
}
