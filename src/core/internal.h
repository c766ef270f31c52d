/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal structures shared by the library's translation units. Never installed.
 * Data flows one way: market data (engine) -> position values -> collateral and PnL
 * (basket, account) -> margin requirements (margin/) -> health -> liquidation prices
 * (liquidation/).
 */
#ifndef RISK_INTERNAL_H
#define RISK_INTERNAL_H

#include "risk.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>

#define RISK__SYMBOL_MAX 31
#define RISK__MAX_TIERS 64
#define RISK__ERRMSG_LEN 192
#define RISK__MAX_POSITIONS (1u << 30) /* per account: arena ranges double up to this */

/* Position flag bits (risk_account.pflags). */
#define RISK__PF_LEG_MASK 0x3u  /* RISK_SIDE_BOTH / LONG / SHORT */
#define RISK__PF_ISOLATED 0x4u
#define RISK__PF_CLOSED 0x8u    /* closed by a deferred fill, until risk__account_compact */

typedef struct risk__asset {
    char symbol[RISK__SYMBOL_MAX + 1];
    uint32_t decimals;
    double price;
    /* Interest indices (rates/): a basket holds a balance of this asset as a scaled amount s,
     * worth s x index_pos when s > 0 (a deposit) and s x index_neg when s < 0 (a debt); see
     * risk__balance_of. Both are exactly 1 for an asset without a rate model, so that s is the
     * balance bit for bit. Accrual moves the indices only: O(assets), not O(accounts). */
    double index_pos, index_neg;
    double weight_init, weight_maint, liab_weight_init, liab_weight_maint;
    risk_value_tier *tiers; /* NULL when untiered */
    uint32_t n_tiers;
    struct risk__asset_vol *vol; /* volatility state (margin/scaling.c); NULL until first used */
    struct risk__rates *rates;   /* rate model and pool (rates/rates.c); NULL without a model */
    /* size-scaled weights (margin/size.c): size_scaled 0 and the rest 0 when off */
    uint32_t size_scaled;
    double imf;                                      /* Drift IMF factor on this asset's balances */
    double deposit_scale_start, borrow_scale_start;  /* venue-wide values where init scaling starts */
    double venue_deposits, venue_borrows;            /* venue-wide totals, in asset units */
} risk__asset;

/* The balance (asset units) of a stored scaled amount, and the scaled amount that stores a
 * balance. Every reader of risk_basket.amount[] goes through risk__balance_of: the stored
 * numbers are scaled amounts, equal to balances only while the asset's indices are 1. */
static inline double risk__balance_of(const risk__asset *a, double scaled)
{
    return scaled * (scaled > 0.0 ? a->index_pos : a->index_neg);
}
static inline double risk__scaled_of(const risk__asset *a, double balance)
{
    return balance / (balance > 0.0 ? a->index_pos : a->index_neg);
}

/* A margin schedule with every cum filled in; caps of all but the last tier bound notional. */
#define RISK__SWEEP_CAPS 16 /* tiers a schedule may have for the sweep's branch-free tier lookup */
typedef struct risk__schedule {
    risk_margin_tier *tiers;
    double *im_rate;     /* per tier: 1 / max_leverage (shares the tiers' block) */
    /* RISK__SWEEP_CAPS caps for risk__schedule_tier_fast (shares the block): caps[k] is tier
     * k's cap for k < n_tiers - 1, +inf from there on; NULL when n_tiers > RISK__SWEEP_CAPS */
    double *caps;
    uint32_t n_tiers;
    double max_leverage; /* highest max leverage of any tier (the first) */
} risk__schedule;

typedef struct risk__instrument {
    /* read for every position evaluated: kept together at the front */
    double mark, contract_size;
    risk__schedule schedule;
    uint32_t settle;
    uint32_t general; /* 1: inverse or margined at entry, so not on evaluation's linear fast path */
    uint32_t kind, inverse, mm_price, underlying;
    int64_t expiry_unix_s;
    double lot_size, tick_size;
    char symbol[RISK__SYMBOL_MAX + 1];
    struct risk__scaling *scaling; /* volatility scaling and base schedule (margin/scaling.c); NULL when off */
    /* trading terms (orders/fees.c); all 0 until set: no fees, no limit */
    double maker_fee, taker_fee;
    double max_notional;      /* largest margin notional of a position; 0: none */
    uint32_t liq_with_fee;    /* 1: liquidation and bankruptcy prices include the closing taker fee */
    /* size premium (margin/size.c): margin rates max(r, base_share r + imf sqrt(S)), at most 1;
     * imf 0 when off (an instrument with it leaves evaluation's linear fast path) */
    double imf, imf_base_share;
    /* options (RISK_KIND_OPTION; options/instrument.c). `mark` is the premium per underlying
     * unit in the settle asset; opt_under is U, the underlying's price in quote, kept in step
     * with asset prices so that evaluation reads it like the mark. */
    double strike, opt_w;     /* opt_w: +1 call, -1 put */
    double mark_vol;          /* > 0: the engine prices the mark from it; 0: the mark is given */
    double carry_rate;        /* forward F = U e^(carry_rate T) */
    double underlying_tick;
    double opt_under;
    uint32_t settled;         /* 1: settled by risk_engine_settle_expired */
    /* cumulative funding per contract, in the settle asset (rates/funding.c, docs/rates.md 8.4):
     * Drift's cumulative_funding_rate_long / _short. Both 0 until risk_engine_accrue_funding. */
    double fund_index_long, fund_index_short;
    int64_t fund_time_unix_s;
    /* Drift's unrealised-PnL asset weights (rates/upnl_weight.c, docs/rates.md 8.3): a cross
     * position's positive PnL counts in C_init at min(w_init, 1.1 / (1 + imf sqrt(P))) and in
     * C_maint at w_maint. upnl_weighted 0 (and the weights 1, imf 0) when off. */
    double upnl_w_init, upnl_w_maint, upnl_imf;
    uint32_t upnl_weighted;
} risk__instrument;

/* Position storage: chunks of slots laid out as structure of arrays. Each account owns one
 * contiguous range of a chunk, so a batch sweep reads every hot field as a stream. Ranges have
 * power-of-two capacities; freed ones go on a free list per capacity (the link is kept in the
 * freed range itself, so releasing never allocates). Chunks live until the engine goes, except
 * a dedicated chunk made for one large range, which goes with it. */
#define RISK__CHUNK_MIN_SLOTS 64u
#define RISK__CHUNK_MAX_SLOTS 4096u
#define RISK__RANGE_CLASSES 32

typedef struct risk__pos_chunk {
    struct risk__pos_chunk *next, *prev; /* every chunk of the engine */
    double *qty, *entry, *im_rate, *iso_margin;
    double *fund_last; /* funding index each position last settled at (zeroed with the chunk) */
    risk_position **handles; /* NULL until a caller asks for the position's handle */
    uint32_t *inst, *pflags;
    uint32_t slots, used; /* capacity and bump mark */
    uint32_t dedicated;
    size_t bytes;
} risk__pos_chunk;

typedef struct risk__range {
    risk__pos_chunk *chunk; /* NULL: no range */
    uint32_t base, cap;
} risk__range;

/* Open-addressing map from external account id to account (linear probing, backward-shift delete). */
typedef struct risk__idmap {
    uint64_t *keys;
    risk_account **vals; /* NULL marks an empty slot */
    size_t cap, n;       /* cap is 0 or a power of two */
} risk__idmap;

struct risk_engine {
    risk_allocator alloc;
    uint32_t flags;
    uint32_t user_freed;
    size_t refs;         /* 1 for the user until risk_engine_free, plus one per child */
    double margin_call_health;
    uint32_t valuation;  /* RISK_ID_NONE until the first asset */
    risk__asset *assets;
    uint32_t n_assets, cap_assets;
    risk__instrument *instruments;
    uint32_t n_instruments, cap_instruments;
    risk_account **accounts; /* creation order; NULL where one was freed (compacted lazily) */
    size_t n_account_slots, cap_account_slots, n_accounts;
    risk__idmap ids;
    size_t standalone_basket_bytes; /* accounts' memory is counted by walking them */
    risk__pos_chunk *chunks, *bump; /* all chunks; the one ranges are carved from */
    risk__range free_ranges[RISK__RANGE_CLASSES]; /* heads, by log2 of the capacity */
    int64_t now_unix_s;  /* risk_engine_set_time; 0 until set */
    uint32_t n_options;  /* option instruments: price updates refresh them only when > 0 */
    size_t chunk_bytes;
    struct risk__liquidation *liq; /* policy, overrides, insurance funds; NULL until first set */
    risk_account *account_block;   /* restored accounts' structs, in one block (snapshot/); NULL when none */
    size_t account_block_n;
    struct risk__leverage *levs_block; /* restored accounts' leverage lists, in one block; NULL when none */
    uint32_t n_upnl_weighted; /* instruments with unrealised-PnL weights on (rates/upnl_weight.c) */
    uint32_t funding_active; /* 1 once risk_engine_accrue_funding moved an index: evaluation adds pending funding */
    size_t levs_block_n;
    struct risk__snap_storage *snap_storage; /* a snapshot file mapped in place (snapshot/), whose position
                                              * arrays restored accounts use; NULL when none */
    /* The sweep's tables for engines of more than 16 instruments (core/evaluate.c, "the engine's
     * sweep scratch"): reserved when instruments are added, borrowed by one sweep call at a time
     * (sweep_scratch_busy), so that sweeps never allocate. NULL: not needed, or not allocated. */
    void *sweep_scratch;
    uint32_t sweep_scratch_n, sweep_scratch_nt; /* instruments and tiers it has room for */
    atomic_int sweep_scratch_busy;
    void *bulk_blocks;        /* bulk-created accounts' structs (core/bulk.c): a list of blocks, each
                               * starting with the link to the next; freed with the engine */
    size_t bulk_block_bytes;
    char *errmsg;
    risk_portfolio_margin_params *pm; /* portfolio-margin model (portfolio/pm.c); NULL: the defaults */
    struct risk_tick *tick; /* the tick tracker (core/tick.c), NULL when none */
    struct risk__sweep_image *image; /* RISK_ENGINE_SWEEP_IMAGE (core/sweep_image.c), NULL when off */
};

#define RISK__BASKET_INLINE 2 /* balances held in the basket itself before a heap block */

struct risk_basket {
    /* what an evaluation reads first (48 B), so that an account's sweep fields share its first
     * two cache lines (struct risk_account) */
    uint32_t *asset;     /* the inline arrays, or one heap block: amounts then asset ids */
    double *amount;      /* SCALED amounts (risk__balance_of gives the balance), see risk__asset */
    uint32_t n, cap;
    uint32_t inline_asset[RISK__BASKET_INLINE];
    double inline_amount[RISK__BASKET_INLINE];
    risk_engine *engine;
    risk_account *owner; /* NULL when standalone */
    char *errmsg;        /* standalone: allocated with the basket; owned: allocated on first error */
};

/* A position handle: made on demand, it names a slot of its account, which updates the slot
 * when positions before it close. */
struct risk_position {
    risk_account *account;
    uint32_t slot;
};

/* One user-leverage setting. */
typedef struct risk__leverage {
    uint32_t instrument;
    double leverage;
} risk__leverage;

/* risk_account.sweep_generic bits: a feature of the account that the sweep's fast path
 * (core/evaluate.c, risk__account_values_fast) does not compute, so that the account is
 * evaluated on the generic path. A helper adding a per-account or per-position feature that
 * changes the evaluation sets a bit while the feature is active on the account and clears it
 * when it is not; per-instrument and per-asset features need no bit (the fast path checks
 * in->general and the assets' tiers and size scaling for every position and balance). */
#define RISK__SWEEP_GENERIC_ANY 0x1u /* set by a caller that wants the generic path (none today) */

struct risk_account {
    /* Read by every evaluation, in the order of the sweep's reads (core/evaluate.c): the first
     * 64 bytes hold what decides the path and every position column but iso_margin, the next
     * 48 the basket's balances, so that a sweep touches two lines of the struct (three when the
     * struct is not line-aligned) instead of four. */
    uint32_t n_pos;
    uint32_t sweep_generic; /* RISK__SWEEP_GENERIC_* bits; 0: the fast path applies */
    uint64_t id;
    /* Positions in opening order, views into the account's arena range. im_rate is
     * 1 / user leverage (0 when unset); iso_margin is in the settle asset (0 under cross). */
    double *qty, *entry, *im_rate;
    uint32_t *inst, *pflags;
    uint32_t margin_mode, cap_pos;
    risk_basket basket;
    double *iso_margin;
    risk_engine *engine;
    /* cold */
    risk_position **handles;
    risk__range range;
    uint32_t position_mode;
    size_t engine_slot;
    risk__leverage *levs;
    uint32_t n_levs, cap_levs;
    uint32_t engine_owned; /* 1: restored from a snapshot and not adopted: holds no engine reference,
                            * freed with the engine (see risk/snapshot.h) */
    uint32_t in_block;     /* RISK__IN_BLOCK_* bits: the struct, or its leverage list, lives in one of
                            * the engine's blocks for restored accounts (snapshot/), which go with
                            * the engine: freeing the account leaves them there */
    char *errmsg;
    /* The funding index (of its side) each position last settled at (rates/funding.c): a view
     * into the arena range like qty, or into a snapshot mapped in place (format 3 carries it).
     * NULL reads as all 0 (an account without positions): risk__funding_bind gives it the
     * range's column. */
    double *fund_last;
};

/* Software prefetch of an account ahead of its evaluation (the batch sweep's sweep_prefetch,
 * core/evaluate.c; the tick's run queue, core/tick.c): no hardware prefetcher follows the chain
 * from a slot to its struct to its columns. Nothing is fetched that an evaluation does not read.
 * Always inlined: gcc takes a function made only of prefetches for one without effect and drops
 * the call. */
#if defined(__GNUC__)
#define RISK__PREFETCH(p) __builtin_prefetch(p)
#define RISK__ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define RISK__PREFETCH(p) ((void)(p))
#define RISK__ALWAYS_INLINE static inline
#endif

/* The struct's lines an evaluation reads first: its first 112 bytes, which need not start a line. */
RISK__ALWAYS_INLINE void risk__prefetch_account(const risk_account *a)
{
    const char *f = (const char *)a;
    RISK__PREFETCH(f);
    RISK__PREFETCH(f + 64);
    RISK__PREFETCH(f + 111);
}

/* The five position columns every evaluation reads (their second lines too past 8 positions:
 * the sweep's AVX-512 path reads up to 16 at once). The struct must have arrived. */
RISK__ALWAYS_INLINE void risk__prefetch_columns(const risk_account *a)
{
    if (!a->n_pos)
        return;
    RISK__PREFETCH(a->qty);
    RISK__PREFETCH(a->entry);
    RISK__PREFETCH(a->im_rate);
    RISK__PREFETCH(a->inst);
    RISK__PREFETCH(a->pflags);
    if (a->n_pos > 8) {
        RISK__PREFETCH(a->qty + 8);
        RISK__PREFETCH(a->entry + 8);
        RISK__PREFETCH(a->im_rate + 8);
        RISK__PREFETCH(a->inst + 8);
        RISK__PREFETCH(a->pflags + 8);
    }
}

#define RISK__IN_BLOCK_STRUCT 1u /* the account struct is in risk_engine.account_block */
#define RISK__IN_BLOCK_LEVS 2u   /* its levs are in risk_engine.levs_block (cap_levs = n_levs) */
/* Its handle slots are a snapshot's zero block (in place, snapshot/) and no handle was made since:
 * every slot is NULL, and reading them would fault the untouched block in page by page (10^6
 * restored accounts took longer to free than to load). Cleared where a handle is stored. */
#define RISK__IN_BLOCK_NO_HANDLES 4u

/* Whether freeing or counting the account's position handles must read its handle slots: not
 * without positions, nor while the slots are a restored snapshot's untouched zero block. */
RISK__ALWAYS_INLINE int risk__account_has_handle_slots(const risk_account *a)
{
    return a->n_pos && !(a->in_block & RISK__IN_BLOCK_NO_HANDLES);
}

/* ---- allocation and errors (core/alloc.c) */
void *risk__malloc(const risk_engine *e, size_t size);
/* n x size bytes, zeroed (NULL on overflow or without memory). */
void *risk__calloc(const risk_engine *e, size_t n, size_t size);
void *risk__realloc(const risk_engine *e, void *ptr, size_t size);
void risk__free(const risk_engine *e, void *ptr);
/* Records a message in *slot (allocated lazily through the engine) and returns code. */
int risk__fail(const risk_engine *e, char **slot, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
void risk__clear(char **slot);
const char *risk__msg(const char *slot);
int risk__is_whole_multiple(double value, double step);
/* 1 when |qty| is at most 2^53 lots: beyond, lot counts k and k + 1 are the same double, so
 * lot arithmetic (and the planner's searches) cannot step by one lot. */
int risk__lots_in_domain(double qty, double lot);
/* n steps as the double nearest the decimal n x step (0.001 x 2115 -> 2.115). */
double risk__steps_to_value(double n, double step);
double risk__round_to_step(double value, double step, int up);

/* Rounds n to a whole number, up or down, snapping values within rounding noise (4 ulps, at
 * most 1/16) of one: down is floor(n + tol), up is ceil(n - tol). Written with integer conversion and no
 * library call (floor() and ceil() are calls on baseline x86-64), because quantization runs
 * for every account evaluated. Needs |n| < 2^52. */
static inline double risk__whole_against(double n, int up)
{
    double an = fabs(n);
    double tol = 8.9e-16 * (an > 1.0 ? an : 1.0);
    /* past ~7e13 quanta 4 ulps reach 1/16 of a quantum; beyond that, snapping would round "up"
     * below the exact value (2e9 USDT of debt read 1,999,999,999.999999) */
    tol = tol < 0.0625 ? tol : 0.0625;
    double x = up ? n - tol : n + tol;
    double t = (double)(int64_t)x; /* toward zero */
    return up ? (t < x ? t + 1.0 : t) : (t > x ? t - 1.0 : t);
}

/* Rounds value to a multiple of 1 / quantum_scale: up (requirements, debts) or down
 * (collateral, equity). Values too large or not finite are returned as they are. */
static inline double risk__quantize(double value, double quantum_scale, int up)
{
    double n = value * quantum_scale;
    if (!(fabs(n) < 4503599627370496.0)) /* 2^52: already as coarse as the quantum */
        return value;
    return risk__whole_against(n, up) / quantum_scale;
}

/* ---- the input domain (core/domain.c; docs/errors.md, "Input domain") */
#define RISK__TICKS_MAX 4503599627370496.0 /* 2^52: tick rounding (risk__round_to_step) works below it */
int risk__price_in_domain(double price); /* finite, in [RISK_PRICE_MIN, RISK_PRICE_MAX] */
/* Largest |amount| of the asset: 2^53 quanta of 10^-min(decimals, 8). */
double risk__amount_max(const risk__asset *a);
int risk__amount_in_domain(const risk__asset *a, double amount);
/* RISK_EINVAL (message in *err, naming who, what, the value and the bound) unless in the domain. */
int risk__check_price(const risk_engine *e, char **err, const char *who, const char *what, double price);
int risk__check_amount(const risk_engine *e, char **err, const risk__asset *a, const char *what, double amount);
int risk__check_range(const risk_engine *e, char **err, const char *who, const char *what, double v, double lo,
                      double hi);
/* A quantity of contracts: finite, at most 2^53 lots (RISK_EINVAL), a whole number of lots (RISK_ELOT),
 * at least one lot (RISK_ELOT). */
int risk__check_qty(const risk_engine *e, char **err, const risk__instrument *in, const char *what, double qty);
/* A price of an instrument: in the price domain, at least one tick and at most 2^52 ticks;
 * on_tick: also a whole number of ticks (RISK_ETICK, and below one tick is RISK_ETICK too). */
int risk__check_instrument_price(const risk_engine *e, char **err, const risk__instrument *in, const char *what,
                                 double price, int on_tick);

/* ---- numbers in messages (core/numfmt.c) */
/* Writes the shortest decimal (at most 17 significant digits, %g style) that reads back as x,
 * so a message shows 0.0005 for the double nearest 0.0005 and 13.945300000000001 for the one
 * just above 13.9453: exact, without the noise of %.17g. "nan", "inf", "-inf" when not finite.
 * Returns buf. */
const char *risk__fmt_double(char *buf, size_t size, double x);
#define RISK__NUM_LEN 32
/* risk__fmt_double into a buffer that lives until the end of the enclosing block, for one
 * argument of a message: risk__fail(..., "qty %s", RISK__NUM(qty)). */
#define RISK__NUM(x) risk__fmt_double((char[RISK__NUM_LEN]){0}, RISK__NUM_LEN, (x))

/* ---- engine internals (core/engine.c) */
void risk__engine_retain(risk_engine *e);
void risk__engine_release(risk_engine *e);
int risk__engine_attach_account(risk_engine *e, risk_account *a);
/* The two halves of attaching, for a restore that does them on two threads (snapshot/): after
 * risk__engine_reserve_accounts, index puts the id into the id map (RISK_EDUPLICATE when it is
 * there already, nothing put) and append puts the account in the registry. Each touches only its
 * own fields of the engine, so the two may run at once on different threads. */
int risk__engine_index_account(risk_engine *e, uint64_t account_id, risk_account *a);
void risk__engine_append_account(risk_engine *e, risk_account *a);
void risk__engine_detach_account(risk_engine *e, risk_account *a);
/* risk_engine_set_asset_prices' checks alone: RISK_OK when every price would be taken, else its
 * status and message, with nothing changed (risk_tick_apply checks before it sets any mark) */
int risk__engine_check_prices(risk_engine *e, const uint32_t *assets, const double *prices, size_t n);
/* Room for n more accounts in the registry and the id map, so that attaching them cannot fail. */
int risk__engine_reserve_accounts(risk_engine *e, size_t n); /* RISK_ENOMEM */
/* Prefetches the id map's slot of an account id (a restore inserts ids it has read ahead). */
void risk__engine_prefetch_id(const risk_engine *e, uint64_t account_id);
double risk__asset_scale(const risk__asset *a); /* 10^decimals */
/* The account with this external id, or NULL (no message). */
risk_account *risk__engine_account_lookup(const risk_engine *e, uint64_t account_id);
/* Undoes the last risk__engine_attach_account (a bulk call rolling back): the last account slot
 * and its id go; the account itself is the caller's to free. */
void risk__engine_pop_account(risk_engine *e);


/* Hints that a fresh block of n bytes is about to be written in full: on Linux, backs its 2 MiB
 * aligned interior with transparent huge pages and populates it in one call (MADV_HUGEPAGE,
 * MADV_POPULATE_WRITE), which on virtual machines is many times cheaper than one page fault
 * per 4 KiB. Advisory only: blocks below 4 MiB and any error are ignored. */
void risk__memory_hint(void *p, size_t n);

/* ---- position arena (core/arena.c) */
int risk__arena_alloc(risk_engine *e, uint32_t cap, risk__range *out); /* RISK_ENOMEM */
int risk__arena_extend(risk_engine *e, risk__range *r, uint32_t cap);  /* 1 when grown in place */
void risk__arena_release(risk_engine *e, risk__range *r);
void risk__arena_destroy(risk_engine *e);
/* A fresh chunk of `slots` slots becomes the one ranges are carved from (a restore sizes it for
 * every position it will hold). RISK_ENOMEM. */
int risk__arena_reserve(risk_engine *e, uint32_t slots);

/* ---- basket internals (core/basket.c) */
void risk__basket_init(risk_basket *b, risk_engine *e, risk_account *owner);
void risk__basket_release(risk_basket *b);
size_t risk__basket_heap_bytes(const risk_basket *b);
int risk__basket_reserve(risk_basket *b, uint32_t asset); /* room for one more asset, RISK_ENOMEM */
int risk__basket_reserve_n(risk_basket *b, uint32_t extra); /* room for `extra` more assets, RISK_ENOMEM */
double risk__basket_amount(const risk_basket *b, uint32_t asset); /* the balance; 0 when not held */
int risk__basket_holds(const risk_basket *b, uint32_t asset);     /* 1: a balance of the asset is in it */
/* Adds delta (asset units) to the balance: the stored scaled amount becomes the scaled amount
 * of (balance + delta), so that it is the plain sum while the indices are 1. */
void risk__basket_add_unchecked(risk_basket *b, uint32_t asset, double delta);
/* Sets the balance as risk_basket_set_balance does (0 removes it), room reserved (risk__basket_reserve). */
void risk__basket_set_unchecked(risk_basket *b, uint32_t asset, double amount);
double risk__tiered_qty(const risk__asset *a, double qty);

/* Unquantized sums over a basket, in V. */
typedef struct risk__basket_values {
    double collateral_value, collateral_init, collateral_maint;
    double liabilities, liabilities_init, liabilities_maint;
    double net_value;
    uint32_t n_assets;
} risk__basket_values;
void risk__basket_values_compute(const risk_basket *b, risk__basket_values *out);
/* Adds sign x (what one balance contributes) to *v: the body of risk__basket_values_compute,
 * shared with incremental updates (sign -1 takes a balance out). */
/* The weights of one balance (x > 0: collateral weights; x < 0: liability weights) once its
 * asset's size scaling applies (margin/size.c, docs/formulas.md "Size-scaled weights"). A
 * balance's weights depend on the balance and venue-wide totals, never on the account's other
 * balances, so the incremental updates below stay exact. */
void risk__size_weights(const risk__asset *a, double x, double *init, double *maint);
/* The same at a given price of the asset (scenario revaluation, src/portfolio/): the venue-wide
 * totals are valued at it. risk__size_weights is this at the asset's price. */
void risk__size_weights_at(const risk__asset *a, double x, double price, double *init, double *maint);
static inline void risk__asset_weights(const risk__asset *a, double x, double *init, double *maint)
{
    if (x > 0.0) {
        *init = a->weight_init;
        *maint = a->weight_maint;
    } else {
        *init = a->liab_weight_init;
        *maint = a->liab_weight_maint;
    }
    if (a->size_scaled)
        risk__size_weights(a, x, init, maint);
}

static inline void risk__basket_entry_add(const risk__asset *a, double amount, double sign, risk__basket_values *v)
{
    v->net_value += sign * (amount * a->price);
    double w_init, w_maint;
    risk__asset_weights(a, amount, &w_init, &w_maint);
    if (amount > 0.0) {
        double value = a->price * risk__tiered_qty(a, amount);
        v->collateral_value += sign * value;
        v->collateral_init += sign * (value * w_init);
        v->collateral_maint += sign * (value * w_maint);
    } else {
        double liab = -amount * a->price;
        v->liabilities += sign * liab;
        v->liabilities_init += sign * (liab * w_init);
        v->liabilities_maint += sign * (liab * w_maint);
    }
}

/* ---- interest rates (rates/rates.c) */
void risk__rates_destroy(risk_engine *e);
size_t risk__rates_bytes(const risk_engine *e);
/* An asset's rate model and pool as the engine holds them (snapshot/snapshot.c): the model as
 * set (accrual unresolved), the pool's sums of scaled amounts, its stable debt and average
 * stable rate, reserves, clock. The indices stay in risk__asset. */
typedef struct risk__rates_state {
    risk_rate_model model;
    uint32_t started;
    double scaled_supply, scaled_borrow, stable_borrow, stable_rate, reserves;
    int64_t updated;
} risk__rates_state;
/* 1 and *out filled when the asset has a rate model, else 0. */
int risk__rates_state_get(const risk__asset *a, risk__rates_state *out);
/* Gives the asset the model (validated as by risk_engine_set_rate_model) and the pool state and
 * indices as they were held: RISK_OK, RISK_EINVAL (message in e's errmsg) or RISK_ENOMEM. */
int risk__rates_state_restore(risk_engine *e, uint32_t asset, const risk__rates_state *s, double index_pos,
                              double index_neg);

/* ---- pending funding (rates/funding.c; docs/rates.md 8.4) */
/* The funding a position would receive (> 0) or pay (< 0) if settled now, in its settle asset:
 * -q x (I - last), I the instrument's index of the position's side, rounded against the account
 * as a settlement rounds it (paid up, received down) unless the engine leaves results
 * unquantized. 0 for a position of an instrument whose indices never moved. */
double risk__funding_pending(const risk_account *a, uint32_t slot);
/* Gives an account without a fund_last column its range's (all 0), when it has a range. */
void risk__funding_bind(risk_account *a);
/* The index a new position of sign q starts at on the instrument. */
static inline double risk__funding_index(const risk__instrument *in, double q)
{
    return q > 0.0 ? in->fund_index_long : in->fund_index_short;
}
/* Settles slot i's pending funding (its settle balance entry reserved by the caller: the
 * isolated margin pays first, the rest from the settle balance) and sets its last index to the
 * index of its side now. Never fails. */
void risk__funding_settle_slot(risk_account *a, uint32_t slot);
/* How a payment of slot i (> 0: the position pays) reaches the ledger: an isolated margin pays
 * first (a credit goes to it whole), the settle balance the rest. *margin and *wallet get what
 * each gains (what risk__funding_settle_slot and risk_engine_settle_funding post). */
void risk__funding_split(const risk_account *a, uint32_t slot, double pay, double *margin, double *wallet);

/* ---- margin schedules (margin/schedule.c) */
int risk__schedule_build(const risk_engine *e, char **err, risk__schedule *out, const risk_margin_tier *tiers, size_t n);
void risk__schedule_release(const risk_engine *e, risk__schedule *s);
/* Tier lookup and position values are inline, in margin/schedule.h: they run per position. */

/* ---- volatility-scaled margin (margin/scaling.c) */
/* Frees every asset's volatility state and every instrument's scaling block. */
void risk__scaling_destroy(risk_engine *e);
/* Bytes held by those blocks (for risk_engine_memory_bytes). */
size_t risk__scaling_bytes(const risk_engine *e);
/* The instrument's base (calibrated, unscaled) tiers. */
const risk_margin_tier *risk__instrument_base_tiers(const risk__instrument *in);

/* ---- snapshot storage (snapshot/snapshot.c) */
/* Releases the engine's mapped snapshot and its side blocks (after its accounts), and counts them. */
void risk__snap_storage_free(risk_engine *e);
size_t risk__snap_storage_bytes(const risk_engine *e);

/* ---- accounts (core/account.c) */
/* Frees an account's memory (handles, leverage list, message, basket, the account) without
 * detaching it from the engine or releasing the engine: for engine-owned accounts while the
 * engine is destroyed. The positions' arena range goes with the arena. */
void risk__account_destroy(risk_account *a);

/* ---- fills (core/account.c) */
/* The slot of the account's position on (instrument, leg), or -1. */
int risk__position_find(const risk_account *a, uint32_t instrument, uint32_t leg);
/* PnL realised by closing `closed` contracts (> 0) of a position of sign `dir` at `price`. */
double risk__realised_pnl(const risk__instrument *in, double dir, double closed, double entry, double price);
/* Applies a validated fill of `delta` contracts at `price` to slot i (lots and ticks already
 * checked): averages the entry on an increase, posts the realised PnL (rounded down to the
 * settle asset's quantum) on a reduction, removes the slot when it closes. A reduction needs a
 * basket entry for the settle asset, reserved before anything changes; the only failure is
 * RISK_ENOMEM (or RISK_ESTATE for a hedge leg crossing zero), with nothing changed. */
int risk__account_fill(risk_account *a, uint32_t i, double delta, double price);
/* The same, except that a fill closing the position marks the slot RISK__PF_CLOSED (qty 0)
 * instead of removing it, so that a batch of fills moves no memory; risk__account_compact then
 * removes the marked slots in one pass, keeping the order of the others. The state after the
 * compaction is the one the immediate fills would have left. */
int risk__account_fill_deferred(risk_account *a, uint32_t i, double delta, double price);
void risk__account_compact(risk_account *a);
/* Room for `extra` more positions (RISK_ENOMEM), so that risk__account_take cannot fail. */
int risk__account_reserve_positions(risk_account *a, uint32_t extra);
/* A position taken over (a liquidation backstop): a fill of `delta` at `price` on the slot of
 * (instrument, leg), or a new cross position when there is none. RISK_ENOMEM without room. */
int risk__account_take(risk_account *a, uint32_t instrument, uint32_t leg, double delta, double price);

/* The checks of risk_account_open_position on a spec (version included), against the account's
 * current positions; the message goes to *err. */
int risk__position_check(risk_account *a, char **err, const risk_position_spec *spec);
/* Appends a checked position without a handle (room reserved: risk__account_reserve_positions);
 * returns its slot. */
uint32_t risk__position_append(risk_account *a, const risk_position_spec *spec);

/* ---- trading terms (orders/fees.c) */
/* The fee of filling |qty| contracts at `price`, in the settle asset: rate x |qty| x cs x price
 * (linear) or rate x |qty| x cs / price (inverse), rounded up to the settle quantum unless the
 * engine leaves results unquantized. 0 when the rate is 0. */
double risk__fill_fee(const risk_engine *e, const risk__instrument *in, double rate, double qty, double price);
/* RISK_ELIMIT (recorded in *err) when a fill taking position (qty0, entry0) to (qty1, entry1)
 * grows it (more contracts, or a flip) to a margin notional above the instrument's
 * max_notional; RISK_OK otherwise (no limit, a reduction, or within it). */
int risk__notional_limit_check(const risk_engine *e, char **err, const risk__instrument *in, double qty0,
                               double qty1, double entry1);

/* ---- shadow accounts (core/shadow.c) */
/* A scratch copy of an account's positions and balances, in one block, that what-if and
 * liquidation planning change and evaluate without touching the account. Fills go through
 * risk__account_fill, so a shadow moves exactly as the account would; its basket has room for
 * every asset of the engine, so fills never allocate. origin[i] is the account slot that
 * shadow slot i started as (RISK_ID_NONE for an appended position). */
typedef struct risk__shadow {
    risk_account acct;
    uint32_t *origin;
    void *block;
} risk__shadow;
int risk__shadow_init(risk__shadow *s, const risk_account *a, uint32_t extra_positions); /* RISK_ENOMEM */
void risk__shadow_reset(risk__shadow *s, const risk_account *a); /* back to the account's state */
void risk__shadow_release(risk__shadow *s);
/* risk__account_fill on the shadow, keeping origin[] in step; never allocates. */
int risk__shadow_fill(risk__shadow *s, uint32_t slot, double delta, double price);
/* Appends a position (what-if), room permitting; returns its shadow slot. */
uint32_t risk__shadow_append(risk__shadow *s, uint32_t instrument, uint32_t pflags, double qty, double entry,
                             double im_rate);

/* ---- account evaluation (core/evaluate.c) */
typedef struct risk__account_values {
    risk__basket_values basket;
    double upnl, cross_upnl, cross_im, cross_mm, isolated_margin, gross_notional;
    uint32_t n_isolated_liquidatable;
} risk__account_values;
void risk__account_values_compute(const risk_account *a, risk__account_values *out);
void risk__account_summary_fill(const risk_account *a, const risk__account_values *v, risk_account_summary *out);
/* Adds every position's pending funding to the account's values (cross: unrealised PnL; isolated:
 * the position's margin, and its liquidatable flag) when the engine's funding is active. The
 * one funding hook of evaluation, called after the sweep so that the sweep stays as it was. */
void risk__funding_values_add(const risk_account *a, risk__account_values *v);
/* Drift's discount of positive unrealised PnL (rates/upnl_weight.c, docs/rates.md 8.3): the part of
 * a cross position's positive PnL (with its pending funding, settle asset units) that C_init and
 * C_maint do not count, per unit (1 - weight), for PnL P: *cut_init = P (1 - w_i(P)), *cut_maint =
 * P (1 - w_m). Both 0 when P <= 0 or the instrument has no weights. */
void risk__upnl_cut(const risk__instrument *in, double pnl, double *cut_init, double *cut_maint);
/* Takes every weighted cross position's cut (in V) out of v's collateral_init and
 * collateral_maint, the sums that C_init and C_maint add the PnL to; called after the sweep when
 * the engine has weighted instruments. */
void risk__upnl_weight_values_add(const risk_account *a, risk__account_values *v);
/* One account's summary as risk_account_evaluate gives it: the sweep's fast path for a common
 * account (unless the engine has RISK_ENGINE_GENERIC_SWEEP), else the two calls above; the
 * same bits either way (tests/test_sweep.c). */
void risk__account_summary_sweep(const risk_account *a, risk_account_summary *out);
/* The live accounts of the engine's slots [slot_begin, slot_end) evaluated as
 * risk_engine_evaluate_all evaluates them (the same bits: the instrument tables filled once, the
 * AVX-512 path eight accounts at a time where it applies, the position columns prefetched ahead;
 * core/evaluate.c), handed to sink in blocks of at most RISK__SWEEP_BLOCK, in slot order, with
 * their summaries (on the sweep's stack: copy what is needed). One thread; no allocation. */
#define RISK__SWEEP_BLOCK 64
typedef void (*risk__sweep_sink)(void *user, const risk_account *const *accounts,
                                 const risk_account_summary *summaries, size_t n);
typedef struct risk__sweep_shared risk__sweep_shared;
void risk__sweep_slots(const risk_engine *e, const risk__sweep_shared *shared, size_t slot_begin, size_t slot_end,
                       risk__sweep_sink sink, void *user);
/* The instrument tables of one sweep call, filled once from the engine's sweep scratch for its
 * workers to share (stream: as risk_engine_evaluate_all's outputs); NULL when the engine needs
 * none (at most 16 instruments), has none, or another call holds it: each worker then fills its
 * own. Give it back with risk__sweep_shared_return (NULL is a no-op). */
const risk__sweep_shared *risk__sweep_shared_borrow(const risk_engine *e, int stream);
void risk__sweep_shared_return(const risk_engine *e, const risk__sweep_shared *shared);
/* Sizes the engine's sweep scratch for its instruments (after adding one); without memory it
 * stays as it was and sweeps do without (slower, the same bits). */
void risk__sweep_scratch_reserve(risk_engine *e);
size_t risk__sweep_scratch_bytes(const risk_engine *e);
/* ---- portfolio margin (portfolio/pm.c): a RISK_MARGIN_PORTFOLIO account's cross IM and MM are
 * its portfolio margin (+inf when it cannot be computed: out of memory, a scenario outside the
 * price domain) */
void risk__pm_account_values(const risk_account *a, risk__account_values *v);
/* The sum over the account's risk units of their worst weighted scenario loss (V), under the
 * engine's model; NaN when it cannot be computed. Liquidation plans rank reductions by it. */
double risk__pm_worst_loss(const risk_account *a);
/* A portfolio account's liquidation factors on out->underlying (liquidatable, has_liquidation,
 * below / above, unsolved), with the portfolio MM at each trial price; the bankruptcy factors
 * are left as they are. Called by risk__pool_factors_solve (liquidation/price.c). */
struct risk__pool_factors;
void risk__pm_pool_factors(const risk_account *a, struct risk__pool_factors *out);
void risk__pm_free(risk_engine *e);

/* ---- options as instruments (options/instrument.c; docs/options.md, sections 6 to 8) */
#define RISK__YEAR_S 31536000.0 /* ACT/365 */
/* U: the underlying's price in the option's quote (the settle asset for a linear option, the
 * valuation asset for a coin-settled one), from the engine's asset prices. */
double risk__option_underlying_price(const risk_engine *e, const risk__instrument *in);
/* The option's value per underlying unit, in its settle asset (the mark's units), at underlying
 * price U (quote) and annual volatility vol, at time now_unix_s: Black-76 on F = U e^(carry T),
 * undiscounted, coin premium V / F for an inverse option; the intrinsic value at or after the
 * expiry, or with vol 0. This is the one revaluation function: evaluation, the liquidation-price
 * solver and scenario revaluation (risk_account_scenario_pnl) price options through it. */
double risk__option_mark_at(const risk__instrument *in, double underlying_price, double vol, int64_t now_unix_s);
/* The vol a revaluation uses: mark_vol when the engine prices the mark, else the one implied by
 * the given mark at U and now (NaN when none exists). */
double risk__option_vol(const risk__instrument *in, int64_t now_unix_s);
/* Reprices vol-marked options and refreshes every option's U from the engine's prices. */
void risk__options_refresh(risk_engine *e);
/* Per-contract-unit Greeks (in the premium's units) of an option at U: delta and gamma per unit
 * of U, vega per unit of vol, theta per year. NaN when vol is NaN. */
void risk__option_greeks(const risk__instrument *in, double underlying_price, double vol, int64_t now_unix_s,
                         double *delta, double *gamma, double *vega, double *theta);

/* Standard (Deribit) option margin per underlying unit of a SHORT option, in the settle asset,
 * at underlying price U and option mark m (docs/options.md, section 7):
 *   coin-settled: IM = max(0.15 - OTM/U, 0.10) + m, MM = 0.075 + m (call),
 *                 MM = max(0.075, 0.075 m) + m and IM = max(IM, MM) (put);
 *   linear: the 0.15, 0.10 and 0.075 terms times U (OTM in quote). A long's IM = MM = m
 * (risk__option_values_at). */
static inline void risk__option_unit_margin(const risk__instrument *in, double U, double m, double *im, double *mm)
{
    double otm = in->opt_w > 0.0 ? in->strike - U : U - in->strike;
    otm = otm > 0.0 ? otm : 0.0;
    double scale = in->inverse ? 1.0 : U; /* the rates are per unit of U, in coins */
    double a = 0.15 * scale - (in->inverse ? otm / U : otm), floor = 0.10 * scale;
    double i = (a > floor ? a : floor) + m;
    double base = 0.075 * scale, mmv;
    if (in->opt_w > 0.0) {
        mmv = base + m;
    } else {
        double b2 = 0.075 * m;
        mmv = (base > b2 ? base : b2) + m;
        i = i > mmv ? i : mmv;
    }
    *im = i;
    *mm = mmv;
}

/* ---- tick tracker hooks (core/tick.c): an account's change marks it for the next apply */
void risk__tick_mark(struct risk_tick *t, const risk_account *a);
void risk__tick_account_added(struct risk_tick *t, risk_account *a);
void risk__tick_account_removed(struct risk_tick *t, const risk_account *a);
/* The sweep's vector kernel on this CPU under RISK_SWEEP_SIMD (core/evaluate.c): "avx512" or
 * "off"; tests/test_sweep.c checks that each cap it runs under takes effect */
const char *risk__sweep_simd_isa(void);
/* The instrument count past which an engine keeps a sweep scratch: 16 with the AVX-512 kernel
 * compiled, 128 without (core/evaluate.c, SCRATCH_FROM); for tests/test_sweep.c */
uint32_t risk__sweep_scratch_from(void);
/* The counters risk_tick_stats_get reports (kept incrementally), counted again by a walk of every
 * slot and key: tests/test_tick.c checks the two agree */
void risk__tick_walk_counts(const struct risk_tick *t, uint64_t *accounts_out, uint64_t *band_entries_out);

/* ---- the sweep image (core/sweep_image.c, RISK_ENGINE_SWEEP_IMAGE): a copy of the accounts'
 * positions and balances in tiles of RISK__TILE_LANES consecutive account slots, lane l holding
 * slot 8 t + l and its position j at [j][l], so that risk_engine_evaluate_all reads one stream and
 * evaluates eight accounts per vector without transposing (core/evaluate.c, tile_run). A tile is
 * rebuilt from its accounts by the first sweep after one of them changed (risk__account_changed). */
#define RISK__TILE_LANES 8
#define RISK__TILE_DEPTH 8 /* positions a lane holds: accounts of more are evaluated on their own */
typedef struct risk__tile {
    /* the header: what the sweep reads of every lane */
    int64_t n_pos[RISK__TILE_LANES];
    uint64_t id[RISK__TILE_LANES];
    double bal_amount[RISK__BASKET_INLINE][RISK__TILE_LANES]; /* [i][l]: lane l's balance i, scaled */
    uint32_t bal_asset[RISK__BASKET_INLINE][RISK__TILE_LANES];
    uint32_t n_bal[RISK__TILE_LANES];
    uint32_t lanes;   /* bit l: lane l holds an account the tile evaluates */
    uint32_t live;    /* bit l: slot 8 t + l holds an account (in lanes or not) */
    uint32_t depth;   /* the most positions of a lane in lanes */
    const risk_account *acc[RISK__TILE_LANES];
    /* the positions: [j][l] is position j of lane l */
    _Alignas(64) double qty[RISK__TILE_DEPTH][RISK__TILE_LANES];
    double entry[RISK__TILE_DEPTH][RISK__TILE_LANES];
    double im_rate[RISK__TILE_DEPTH][RISK__TILE_LANES];
    uint32_t inst[RISK__TILE_DEPTH][RISK__TILE_LANES];
    uint32_t pflags[RISK__TILE_DEPTH][RISK__TILE_LANES];
    double iso_margin[RISK__TILE_DEPTH][RISK__TILE_LANES];
    double fund_last[RISK__TILE_DEPTH][RISK__TILE_LANES];
} risk__tile;

typedef struct risk__sweep_image {
    risk__tile *tiles;    /* cap_tiles, 64-byte aligned in block */
    void *block;
    uint8_t *dirty;       /* per tile: 1 until rebuilt from its accounts */
    size_t cap_tiles;     /* covers the engine's account slots unless broken */
    uint32_t broken;      /* 1: the image could not grow: sweeps go without it until it can */
    atomic_int busy;      /* held by the sweep that reads and rebuilds it */
} risk__sweep_image;

int risk__image_new(risk_engine *e);
void risk__image_free(risk_engine *e);
size_t risk__image_bytes(const risk_engine *e);
void risk__image_reserve(risk_engine *e); /* after the account slots grew: cover them, or break */
void risk__image_touch_all(risk_engine *e);
/* The image of one sweep call, or NULL when off, broken or borrowed by another sweep. */
risk__sweep_image *risk__image_borrow(const risk_engine *e);
void risk__image_return(risk__sweep_image *im);
/* Rebuilds tile t from the engine's slots 8 t .. 8 t + 7 and clears its mark. */
void risk__image_tile_fill(const risk_engine *e, risk__sweep_image *im, size_t t);

static inline void risk__image_touch_slot(risk_engine *e, size_t slot)
{
    risk__sweep_image *im = e->image;
    if (im && slot / RISK__TILE_LANES < im->cap_tiles)
        im->dirty[slot / RISK__TILE_LANES] = 1;
}

/* An account's evaluation inputs changed (positions, balances, leverage, isolated margin,
 * funding indices): its tick tracker entry and its tile of the sweep image are marked, to be
 * brought up to date by the next tick apply or sweep. Every call that changes them calls this
 * (anywhere in the call: neither runs during a mutation). The what-if and planning copies of an
 * account (core/shadow.c) change too, inside calls that only read the engine and may run on
 * several threads at once: they mark nothing, which both checks see by the account's address
 * (the tracker's map holds only the engine's accounts; a copy is not in its slot). */
static inline void risk__account_changed(const risk_account *a)
{
    if (!a)
        return;
    const risk_engine *e = a->engine;
    if (e->tick)
        risk__tick_mark(e->tick, a);
    if (e->image && a->engine_slot < e->n_account_slots && e->accounts[a->engine_slot] == a)
        risk__image_touch_slot((risk_engine *)e, a->engine_slot);
}

/* ---- liquidation state (liquidation/policy.c) */
void risk__liquidation_free(risk_engine *e);
size_t risk__liquidation_bytes(const risk_engine *e);

/* ---- liquidation and bankruptcy prices (liquidation/price.c) */
/* The first k away from 1 (up or down, k x step per try, within [k_min, k_max]) at which f(ctx, k)
 * changes sign from f1 = f(ctx, 1), bisected to a relative width of 1e-13: 1 with the first point
 * past the root and whether f rises there; 0 when none in the bracket; -1 when f is NaN at a
 * grid point. The scan of pools holding options (price.c) and of portfolio accounts (pm.c). */
int risk__scan_sign_change(double (*f)(void *ctx, double k), void *ctx, int up, double f1, double step,
                           double k_min, double k_max, double *root, int *rising);

/* Where one margin pool (an account's cross pool, or one isolated position) reaches its MM and
 * its zero equity, as factors k on the prices of one underlying. */
typedef struct risk__pool_factors {
    uint32_t underlying;
    uint32_t isolated_slot; /* RISK_ID_NONE for the cross pool */
    uint32_t liquidatable;  /* surplus over MM below 0 now */
    uint32_t has_liquidation, liquidation_up, has_bankruptcy, bankruptcy_up; /* *_up: round up */
    double liquidation_k, bankruptcy_k;
    /* both sides' nearest liquidation factors (below and above k = 1), *_up: round up */
    uint32_t has_below, below_up, has_above, above_up;
    double below_k, above_k;
    uint32_t has_options; /* the pool holds an option on the underlying: f(k) solved numerically */
    uint32_t unsolved;    /* an option of the pool has no volatility to reprice with: no prices */
} risk__pool_factors;

void risk__pool_factors_solve(const risk_account *a, uint32_t underlying, uint32_t isolated_slot,
                              risk__pool_factors *out);
/* The pool factors of each position of one account, the cross pool's solved once per underlying
 * (they depend only on it) in a fixed cache, since results never allocate; an account with more
 * underlyings than the cache re-solves. Set n_cross to 0, then call risk__pool_factors_for for
 * slots in any order; a result points into the cache until the next call. */
#define RISK__POOL_CACHE 64
/* The account's cross pool indexed once per call (price.c), so that each underlying's solve
 * visits its own positions only: every term's held value and their sum, the positions chained
 * per asset (by underlying, and by settle asset when it differs), and the cache entry of each
 * solved underlying. Off (n_pos 0) past RISK__POOL_INDEX_MAX positions. */
#define RISK__POOL_INDEX_MAX 256
#define RISK__POOL_INDEX_HASH 512 /* a power of 2, at least twice the assets of MAX positions */
typedef struct risk__pool_index {
    uint32_t n_pos;
    double sum[2], comp[2]; /* [0]: at margin, [1]: unweighted; Neumaier sum and compensation */
    uint32_t key[RISK__POOL_INDEX_HASH]; /* asset id, RISK_ID_NONE when empty */
    uint32_t head_u[RISK__POOL_INDEX_HASH], head_s[RISK__POOL_INDEX_HASH], cached[RISK__POOL_INDEX_HASH];
    uint32_t next_u[RISK__POOL_INDEX_MAX], next_s[RISK__POOL_INDEX_MAX], moving[RISK__POOL_INDEX_MAX];
    double held[2][RISK__POOL_INDEX_MAX];
} risk__pool_index;
typedef struct risk__pool_cache {
    risk__pool_factors cross[RISK__POOL_CACHE];
    risk__pool_factors own; /* an isolated position's, or a cross one past the cache */
    uint32_t n_cross;
    risk__pool_index index; /* built on the first cross solve (n_cross 0) */
} risk__pool_cache;
const risk__pool_factors *risk__pool_factors_for(const risk_account *a, uint32_t slot, risk__pool_cache *cache);
/* Fills one position's result from its values and its pool's factors. */
void risk__position_result_fill(const risk_account *a, uint32_t slot, const risk__pool_factors *f,
                                risk_position_result *out);

#endif /* RISK_INTERNAL_H */
