/* SPDX-License-Identifier: Apache-2.0 */
/* The tick path (risk/tick.h, docs/tick.md).
 *
 * Per price key (an instrument's mark, or an asset's price) the guard bands of the accounts
 * exposed to it are held as entries (edge, tracker slot, stamp) in log-price buckets, lower and
 * upper edges apart. A tick scans the buckets between the key's previous and new price and
 * queues the accounts whose edge it crossed; an entry whose stamp is not its account's current
 * one is stale (the account was re-evaluated since) and is dropped. A band has an up and a down
 * radius per key (directional: docs/tick.md section 2), from the account's harm bounds per
 * threshold. Re-evaluating an account bumps its stamp and appends fresh entries (a re-band
 * rewrites them in place where it can); a key is compacted when stale entries outnumber live
 * ones 3 to 1. Accounts are found by a pointer hash (tracker slot per
 * account); account changes mark their slot through risk__tick_mark (core/account.c,
 * core/basket.c, core/engine.c). */
#include "margin/schedule.h"
#include "risk/tick.h"

#include <string.h>

#define BAND_R 0.25 /* largest relative move a band covers: the bounds of docs/tick.md hold up to it */
#define KEY_ASSET 0x80000000u

#define PREFETCH(p) RISK__PREFETCH(p)
#define PF_AHEAD 8 /* bucket entries ahead whose tracker slot is prefetched (scan, compaction) */
/* The run queue's staged prefetch (queue_prefetch): queued accounts ahead of the one evaluated */
#define PF_Q_SLOT 6    /* its tracker record and stamp */
#define PF_Q_STRUCT 4  /* its account struct's first lines, its band's keys and data */
#define PF_Q_COLUMNS 2 /* its position columns */
#if defined(__GNUC__)
#define TICK_INLINE static inline __attribute__((always_inline))
#else
#define TICK_INLINE static inline
#endif

#define SLOT_QUEUED 1u  /* in the queue of the next pass */
#define SLOT_TRACKED 2u /* evaluated at least once: state is meaningful */
#define SLOT_ALWAYS 4u  /* no band: re-evaluated at every apply */
#define SLOT_LISTED 8u  /* in the always list */
#define SLOT_DIRTY 16u  /* queued by a change of the account (or no band): evaluate, never re-band */
#define SLOT_BANDED 32u /* kv and dprime hold its band: a crossing may re-band it (docs/tick.md) */

typedef struct band_entry {
    double edge;
    uint32_t slot, stamp;
} band_entry;

typedef struct bucket {
    band_entry *v;
    uint32_t n, cap;
} bucket;

/* Edges are bucketed by log-price: the bits of a positive double grow with its value, and their
 * top bits are the binary exponent and mantissa, so (bits(p) - bits(ref)) >> BUCKET_SHIFT is a
 * bucket of 2^-9 of a binade (0.14-0.27 % of the price), monotone in p and free of a log(). The
 * BUCKET_HALF buckets each side of ref cover 3 binades (ref/8 to 8 ref); the two end buckets
 * hold everything beyond. A move from `last` to p scans the buckets between. */
#define BUCKET_SHIFT 43
#define BUCKET_HALF 1536 /* 3 binades of 2^9 buckets */
#define N_BUCKETS (2 * BUCKET_HALF)

typedef struct price_key {
    bucket *lo, *hi; /* N_BUCKETS each, allocated with the first entry; lower and upper edges */
    double ref;      /* the price the buckets are centred on */
    double last;     /* the price at the tracker's last pass: valid lower edges are <= it, upper >= it */
    size_t entries;  /* entries held, live and stale */
    size_t live;     /* accounts with current entries here */
    uint64_t list_epoch; /* == the tracker's list_epoch: listed among the keys of the band being built */
    uint32_t list_at;    /* its index there */
} price_key;

/* Where key k's lower (side 0) or upper (side 1) entry was written in its bucket: a hint, valid
 * until a scan or a compaction of the bucket moves entries; checked before use. */
#define KEY_POS(s, k, side) ((s)->keys[(s)->cap_keys + 2 * (k) + (side)])

typedef struct tick_acct {
    risk_account *a; /* NULL: free slot */
    uint32_t state, stamp, flags, n_keys, cap_keys;
    uint32_t *keys; /* the price keys of its current entries (cap_keys of them), then per key the
                     * index of its lower and upper entry in their buckets when pushed (KEY_POS) */
    double *kv;     /* per key (KV): the price at evaluation P0, the sensitivities S+ and S- to a
                     * rise and a fall, the radii rho+ and rho- */
    double dprime;  /* the distance budget D' of the band (section 2 of docs/tick.md) */
    double rb;      /* the radius up to which the sensitivities hold */
} tick_acct;

struct risk_tick {
    risk_engine *e;
    tick_acct *acc;
    size_t n_acc, cap_acc;
    /* per slot, acc[slot].stamp (mirrored on every change): the liveness test of an entry reads
     * 4 bytes of a dense array (4 MB at 10^6 accounts, mostly cached) instead of the slot's line */
    uint32_t *stamps;
    size_t cap_stamps;
    uint32_t *free_slots;
    size_t n_free, cap_free;
    /* account pointer -> slot + 1 (0: empty; UINT32_MAX: deleted), open addressing */
    risk_account **map_key;
    uint32_t *map_val;
    size_t map_cap, map_used;
    price_key *keys_inst, *keys_asset;
    size_t n_keys_inst, n_keys_asset;
    uint32_t *queue;
    size_t n_queue, cap_queue;
    uint32_t *always; /* slots that were ALWAYS when listed (pruned lazily) */
    size_t n_always_list, cap_always;
    uint32_t overflow; /* a mark was lost to memory: the next pass re-evaluates every account */
    risk_tick_change *changes;
    size_t n_changes, cap_changes;
    uint64_t evaluated, in_state[4], n_always;
    /* kept where they change, so risk_tick_stats_get is O(1) (a walk of every slot and key read
     * tens of MB, and flushed the caches of the caller's next tick) */
    uint64_t n_accounts; /* slots holding an account */
    uint64_t n_entries;  /* sum of the keys' entries, live and stale */
    uint32_t *keybuf; /* scratch for an account's keys */
    size_t cap_keybuf;
    struct key_sens *sens; /* scratch: per key of the band being built, its threshold harms */
    size_t cap_sens;
    double *sbuf; /* scratch: S+ and S- per key, at two radii */
    size_t cap_sbuf;
    uint32_t *oldb; /* scratch: per key and side, the bucket of the entry a band replaces */
    size_t cap_oldb;
    uint64_t list_epoch; /* bumped per band built: marks the keys listed so far (key_list) */
    /* per instrument without a size premium: its schedule bounds (rmax, jumps, max |cum|),
     * computed at most once per pass (sb_pass == pass), so a schedule changed between applies
     * is read again */
    double *sb;        /* 3 per instrument */
    uint64_t *sb_pass; /* the pass they were computed in */
    size_t n_sb;
    uint64_t pass;
    char *errmsg;
    uint32_t retained; /* holds a reference on the engine */
};

/* ------------------------------------------------------------ growth helpers */

static int grow(const risk_engine *e, void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *g = risk__realloc(e, *p, c * size);
    if (!g)
        return -1;
    *p = g;
    *cap = c;
    return 0;
}

/* ------------------------------------------------------------ buckets */

static int64_t price_bits(double p)
{
    int64_t b;
    memcpy(&b, &p, sizeof b);
    return b;
}

static uint32_t bucket_of(const price_key *pk, double p)
{
    if (!(p > 0.0)) /* NaN too (prices are in the domain: never) */
        return 0;
    int64_t d = price_bits(p) - price_bits(pk->ref); /* arithmetic shift of a signed difference */
    int64_t b = (d >= 0 ? d >> BUCKET_SHIFT : -((-d - 1) >> BUCKET_SHIFT) - 1) + BUCKET_HALF;
    return b < 0 ? 0 : b >= N_BUCKETS ? N_BUCKETS - 1 : (uint32_t)b;
}

static int bucket_grow(const risk_engine *e, bucket *bk)
{
    uint32_t cap = bk->cap ? 2 * bk->cap : 4;
    band_entry *g = risk__realloc(e, bk->v, cap * sizeof *g);
    if (!g)
        return -1;
    bk->v = g;
    bk->cap = cap;
    return 0;
}

static inline int bucket_push(const risk_engine *e, bucket *bk, band_entry x)
{
    if (bk->n == bk->cap && bucket_grow(e, bk))
        return -1;
    bk->v[bk->n++] = x;
    return 0;
}

static int entry_live(const risk_tick *t, const band_entry *x);

/* Drops the stale entries of every bucket of the key. */
static void key_compact(risk_tick *t, price_key *pk)
{
    size_t kept = 0;
    t->n_entries -= pk->entries;
    for (int side = 0; side < 2; side++) {
        bucket *bs = side ? pk->hi : pk->lo;
        for (uint32_t b = 0; b < N_BUCKETS; b++) {
            bucket *bk = &bs[b];
            uint32_t w = 0;
            for (uint32_t r = 0; r < bk->n; r++) {
                if (r + PF_AHEAD < bk->n && bk->v[r + PF_AHEAD].slot < t->n_acc) /* read by entry_live */
                    PREFETCH(&t->stamps[bk->v[r + PF_AHEAD].slot]);
                if (entry_live(t, &bk->v[r]))
                    bk->v[w++] = bk->v[r];
            }
            bk->n = w;
            kept += w;
        }
    }
    pk->entries = kept;
    t->n_entries += kept;
}

static void key_release(const risk_engine *e, price_key *pk)
{
    for (int side = 0; side < 2; side++) {
        bucket *bs = side ? pk->hi : pk->lo;
        if (!bs)
            continue;
        for (uint32_t b = 0; b < N_BUCKETS; b++)
            risk__free(e, bs[b].v);
        risk__free(e, bs);
    }
}

/* ------------------------------------------------------------ price keys */

static price_key *key_get_slow(risk_tick *t, uint32_t key);

/* The key's record: every call but the first for a key (or after instruments or assets were
 * added) finds it allocated with its buckets, which the inline test returns at once. */
static inline price_key *key_get(risk_tick *t, uint32_t key)
{
    size_t id = key & ~KEY_ASSET;
    if (key & KEY_ASSET) {
        if (id < t->n_keys_asset && t->keys_asset[id].lo)
            return &t->keys_asset[id];
    } else if (id < t->n_keys_inst && t->keys_inst[id].lo)
        return &t->keys_inst[id];
    return key_get_slow(t, key);
}

static price_key *key_get_slow(risk_tick *t, uint32_t key)
{
    const risk_engine *e = t->e;
    price_key **arr = key & KEY_ASSET ? &t->keys_asset : &t->keys_inst;
    size_t *n = key & KEY_ASSET ? &t->n_keys_asset : &t->n_keys_inst;
    size_t id = key & ~KEY_ASSET, want = key & KEY_ASSET ? e->n_assets : e->n_instruments;
    if (id >= *n) { /* instruments or assets added since: grow to the engine's count */
        if (want <= id)
            want = id + 1;
        price_key *g = risk__realloc(e, *arr, want * sizeof *g);
        if (!g)
            return NULL;
        memset(g + *n, 0, (want - *n) * sizeof *g);
        *arr = g;
        *n = want;
    }
    price_key *pk = &(*arr)[id];
    if (!pk->lo) { /* no entries yet: follows the price */
        double p = key & KEY_ASSET ? e->assets[id].price : e->instruments[id].mark;
        pk->ref = pk->last = p;
    }
    return pk;
}

/* Allocates the key's buckets (with its first entry). */
static int key_buckets(const risk_engine *e, price_key *pk)
{
    if (pk->lo)
        return 0;
    pk->lo = risk__calloc(e, N_BUCKETS, sizeof *pk->lo);
    pk->hi = risk__calloc(e, N_BUCKETS, sizeof *pk->hi);
    if (!pk->lo || !pk->hi) {
        risk__free(e, pk->lo);
        risk__free(e, pk->hi);
        pk->lo = pk->hi = NULL;
        return -1;
    }
    return 0;
}

static double key_price(const risk_engine *e, uint32_t key)
{
    return key & KEY_ASSET ? e->assets[key & ~KEY_ASSET].price : e->instruments[key].mark;
}

/* ------------------------------------------------------------ account map */

static size_t ptr_hash(const void *p, size_t mask)
{
    uint64_t k = (uint64_t)(uintptr_t)p;
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & mask;
}

static uint32_t map_find(const risk_tick *t, const risk_account *a)
{
    if (!t->map_cap)
        return RISK_ID_NONE;
    size_t mask = t->map_cap - 1;
    for (size_t i = ptr_hash(a, mask);; i = (i + 1) & mask) {
        if (t->map_key[i] == a && t->map_val[i] != UINT32_MAX)
            return t->map_val[i] - 1;
        if (!t->map_key[i] && !t->map_val[i])
            return RISK_ID_NONE;
    }
}

static int map_put(risk_tick *t, risk_account *a, uint32_t slot)
{
    if (2 * (t->map_used + 1) > t->map_cap) {
        size_t cap = t->map_cap ? 2 * t->map_cap : 1024;
        risk_account **k = risk__calloc(t->e, cap, sizeof *k);
        uint32_t *v = risk__calloc(t->e, cap, sizeof *v);
        if (!k || !v) {
            risk__free(t->e, k);
            risk__free(t->e, v);
            return -1;
        }
        size_t used = 0;
        for (size_t i = 0; i < t->map_cap; i++)
            if (t->map_key[i] && t->map_val[i] != UINT32_MAX) {
                size_t j = ptr_hash(t->map_key[i], cap - 1);
                while (k[j])
                    j = (j + 1) & (cap - 1);
                k[j] = t->map_key[i];
                v[j] = t->map_val[i];
                used++;
            }
        risk__free(t->e, t->map_key);
        risk__free(t->e, t->map_val);
        t->map_key = k;
        t->map_val = v;
        t->map_cap = cap;
        t->map_used = used;
    }
    size_t mask = t->map_cap - 1, i = ptr_hash(a, mask);
    while (t->map_key[i])
        i = (i + 1) & mask;
    t->map_key[i] = a;
    t->map_val[i] = slot + 1;
    t->map_used++;
    return 0;
}

static void map_del(risk_tick *t, const risk_account *a)
{
    size_t mask = t->map_cap - 1;
    for (size_t i = ptr_hash(a, mask);; i = (i + 1) & mask) {
        if (t->map_key[i] == a && t->map_val[i] != UINT32_MAX) {
            t->map_val[i] = UINT32_MAX; /* tombstone: the key stays so probes continue */
            return;
        }
        if (!t->map_key[i] && !t->map_val[i])
            return;
    }
}

/* ------------------------------------------------------------ queue */

static void enqueue(risk_tick *t, uint32_t slot, int dirty)
{
    tick_acct *s = &t->acc[slot];
    if (dirty)
        s->flags |= SLOT_DIRTY;
    if (s->flags & SLOT_QUEUED)
        return;
    if (grow(t->e, (void **)&t->queue, &t->cap_queue, t->n_queue + 1, sizeof *t->queue)) {
        t->overflow = 1;
        return;
    }
    s->flags |= SLOT_QUEUED;
    t->queue[t->n_queue++] = slot;
}

static int slot_add(risk_tick *t, risk_account *a, uint32_t *slot_out)
{
    uint32_t slot;
    if (t->n_free)
        slot = t->free_slots[--t->n_free];
    else {
        if (t->n_acc >= UINT32_MAX - 1 ||
            grow(t->e, (void **)&t->acc, &t->cap_acc, t->n_acc + 1, sizeof *t->acc) ||
            grow(t->e, (void **)&t->stamps, &t->cap_stamps, t->n_acc + 1, sizeof *t->stamps))
            return -1;
        slot = (uint32_t)t->n_acc++;
        memset(&t->acc[slot], 0, sizeof t->acc[slot]);
        t->stamps[slot] = 0;
    }
    if (map_put(t, a, slot)) {
        if (grow(t->e, (void **)&t->free_slots, &t->cap_free, t->n_free + 1, sizeof *t->free_slots) == 0)
            t->free_slots[t->n_free++] = slot;
        return -1;
    }
    tick_acct *s = &t->acc[slot];
    uint32_t stamp = s->stamp;
    memset(s, 0, sizeof *s);
    s->a = a;
    s->stamp = stamp + 1;
    t->stamps[slot] = s->stamp;
    t->n_accounts++;
    *slot_out = slot;
    return 0;
}

static int entry_live(const risk_tick *t, const band_entry *x)
{
    /* a freed slot's stamp was bumped at its release: none of its entries matches it */
    return x->slot < t->n_acc && t->stamps[x->slot] == x->stamp;
}

/* Takes the account's entries out of the live counts (they become stale with the stamp). */
static void slot_release_keys(risk_tick *t, tick_acct *s)
{
    for (uint32_t k = 0; k < s->n_keys; k++) {
        price_key *pk = key_get(t, s->keys[k]);
        if (pk && pk->live)
            pk->live--;
    }
    s->n_keys = 0; /* the array is kept for the next band */
    s->flags &= ~SLOT_BANDED;
    t->stamps[s - t->acc] = ++s->stamp;
}

/* Marks the slot for re-evaluation at every apply. */
static void set_always(risk_tick *t, uint32_t slot)
{
    tick_acct *s = &t->acc[slot];
    s->flags |= SLOT_ALWAYS;
    t->n_always++;
    if (s->flags & SLOT_LISTED)
        return;
    if (grow(t->e, (void **)&t->always, &t->cap_always, t->n_always_list + 1, sizeof *t->always)) {
        t->overflow = 1; /* the next pass re-evaluates everything, this slot included */
        return;
    }
    s->flags |= SLOT_LISTED;
    t->always[t->n_always_list++] = slot;
}

/* ------------------------------------------------------------ bands (docs/tick.md) */

#define SENS_MAX 1024 /* keys per account with a band; past it the account is re-evaluated always */

/* While a band is built, per listed key (docs/tick.md section 2): for each threshold, the signed
 * value of its terms that are linear in this price (lin: the threshold moves by lin x the
 * relative move of the price, the other prices held), and bounds on the harm a rise (up) or a fall
 * (dn) of the price by a relative move delta does to it, per unit of delta, by factor class
 * (plain, times (1 + R), times (1 + R) / (1 - R)). Harm is the change of the threshold towards
 * its sign change: a fall if it is positive, a rise if it is negative. */
#define THR_C 0   /* g1 = C_maint - R_maint */
#define THR_H 1   /* g2 = C_maint - h R_maint */
#define THR_E 2   /* g3 = equity (when the account owes anything) */
#define THR_ISO 3 /* the isolated pools' own m + upnl - MM, in the settle asset, times its price */
#define N_THR 4
#define N_CLS 3
typedef struct key_sens {
    double lin[3];
    double up[N_THR][N_CLS], dn[N_THR][N_CLS];
} key_sens;

#define KV 5 /* per key of a band: P0, S+, S-, rho+, rho- */

/* Lists key once among the account's keys (at most SENS_MAX); *at is its index. A new key's
 * sensitivities start at 0. A listed key carries the band's epoch (t->list_epoch, bumped per
 * band) and its index, which spares a search among the keys listed so far. t->sens may move. */
static inline int key_list(risk_tick *t, uint32_t *n, uint32_t key, uint32_t *at)
{
    price_key *pk = key_get(t, key);
    if (!pk)
        return -1;
    if (pk->list_epoch == t->list_epoch) {
        *at = pk->list_at;
        return 0;
    }
    if (*n >= SENS_MAX || grow(t->e, (void **)&t->keybuf, &t->cap_keybuf, (size_t)*n + 1, sizeof *t->keybuf) ||
        grow(t->e, (void **)&t->sens, &t->cap_sens, (size_t)*n + 1, sizeof *t->sens))
        return -1;
    *at = *n;
    pk->list_epoch = t->list_epoch;
    pk->list_at = *n;
    memset(&t->sens[*n], 0, sizeof t->sens[*n]);
    t->keybuf[(*n)++] = key;
    return 0;
}

static inline double sign_of(double x)
{
    return x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : 0.0; /* NaN: 0 (and its D is NaN: radius 0) */
}

/* The mark part of one position for threshold thr of sign sg whose MM weight is wm: a rise of
 * the mark moves the position's upnl by +sq F and its margin notional the way nup says (+1 up,
 * -1 down, 0 margined at entry), with 0 <= MM(N') - MM(N) <= r |N' - N| (the jumps apart) when
 * N rises, and F = f delta (bounded by the factor class). The harm of a rise is
 * -sg sq F + sg wm dMM: at most (-sg sq + wm r [sg nup > 0]) F, and 0 when that is negative; a
 * fall likewise with sq and nup negated. */
static inline void mark_harm(key_sens *ks, int thr, double sg, double wm, double r, double sq, double nup,
                             double f, int cls_up, int cls_dn)
{
    if (sg == 0.0)
        return;
    double cu = -sg * sq + (sg * nup > 0.0 ? wm * r : 0.0);
    double cd = sg * sq + (-sg * nup > 0.0 ? wm * r : 0.0);
    if (cu > 0.0)
        ks->up[thr][cls_up] += cu * f;
    if (cd > 0.0)
        ks->dn[thr][cls_dn] += cd * f;
}

/* The up and down sensitivities of a listed key at the radius rb: over the thresholds, the
 * largest harm per unit of relative move, each threshold's weighted by wt = D' / D'_t <= 1 (its
 * own budget is D'_t, the band's the smallest, D'; docs/tick.md section 2). */
static inline void key_sens_at(const key_sens *ks, const double *sg, const double *wt, double rb, double *sup,
                               double *sdn)
{
    double fac[N_CLS] = {1.0, 1.0 + rb, (1.0 + rb) / (1.0 - rb)};
    double u = 0.0, d = 0.0;
    for (int k = 0; k < N_THR; k++) {
        double hu = 0.0, hd = 0.0;
        for (int c = 0; c < N_CLS; c++) {
            hu += ks->up[k][c] * fac[c];
            hd += ks->dn[k][c] * fac[c];
        }
        if (k < 3) { /* a rise moves the threshold by lin delta: harm when that goes against its sign */
            double l = -sg[k] * ks->lin[k];
            hu += l > 0.0 ? l : 0.0;
            hd += l < 0.0 ? -l : 0.0;
        }
        hu *= wt[k];
        hd *= wt[k];
        u = hu > u ? hu : u;
        d = hd > d ? hd : d;
    }
    *sup = u;
    *sdn = d;
}

/* The common radius rho0 of a band at rb (the unfavourable sides' scale: each key k gets the
 * budget rho0 max(S+_k, S-_k)), from the thresholds' distances dt (INFINITY: no such threshold)
 * less the allowance al and the jumps c0 + c1 (1 + rb): their smallest is the band's budget D'
 * (*dprime; 0 and no radius when not > 0). The keys' S+ and S- at rb into su and sd. */
static double band_radius(risk_tick *t, uint32_t n, const double *sg, const double *dt, double al, double c0,
                          double c1, double rb, double *su, double *sd, double *dprime)
{
    double cut = al + c0 + c1 * (1.0 + rb), dd = INFINITY, wt[N_THR];
    for (int k = 0; k < N_THR; k++) {
        double x = dt[k] - cut;
        dd = isnan(x) ? NAN : x < dd ? x : dd; /* a NaN stays */
    }
    if (!(dd > 0.0 && dd < INFINITY)) { /* no budget (g1 and g2 are always thresholds: finite) */
        *dprime = 0.0;
        for (uint32_t k = 0; k < n; k++)
            su[k] = sd[k] = 0.0;
        return 0.0;
    }
    for (int k = 0; k < N_THR; k++)
        wt[k] = dt[k] == INFINITY ? 0.0 : dd / (dt[k] - cut);
    double total = 0.0;
    for (uint32_t k = 0; k < n; k++) {
        key_sens_at(&t->sens[k], sg, wt, rb, &su[k], &sd[k]);
        total += su[k] > sd[k] ? su[k] : sd[k];
    }
    *dprime = dd;
    double rho = total > 0.0 ? dd / total : rb;
    rho = rho < rb ? rho : rb;
    return rho >= 0.0 ? rho : 0.0; /* NaN: 0 */
}

/* The radii of a side whose sensitivity is s, given the key's budget a (S rho <= a), within rb */
static inline double side_radius(double a, double s, double rb)
{
    if (!(s > 0.0))
        return rb;
    double r = a / s;
    return r < rb ? r : rb;
}

/* The largest maintenance rate of the schedule for a position of `size` (size premium
 * included), and the sum of its MM's jumps at the tier caps (0 for a continuous schedule). */
static void schedule_bounds(const risk__instrument *in, double size, double *rmax, double *jumps)
{
    const risk__schedule *s = &in->schedule;
    double r = 0.0, j = 0.0;
    for (uint32_t k = 0; k < s->n_tiers; k++) {
        double rk = risk__size_premium_rate(in, size, s->tiers[k].mmr);
        r = rk > r ? rk : r;
        if (k + 1 < s->n_tiers) {
            double cap = s->tiers[k].notional_cap;
            double rn = risk__size_premium_rate(in, size, s->tiers[k + 1].mmr);
            j += fabs((cap * rn - s->tiers[k + 1].cum) - (cap * rk - s->tiers[k].cum));
        }
    }
    *rmax = r;
    *jumps = j;
}

/* schedule_bounds of instrument id for a position of `size`, and max_t |cum_t| (*cmax). Without
 * a size premium (imf not > 0) none depends on the size: they are computed once per pass and
 * instrument (the same code, the same bits); with one, or if the cache cannot grow, every time. */
static void schedule_bounds_cached(risk_tick *t, uint32_t id, double size, double *rmax, double *jumps,
                                   double *cmax)
{
    const risk__instrument *in = &t->e->instruments[id];
    if (!(in->imf > 0.0)) {
        if (id >= t->n_sb) {
            size_t want = t->e->n_instruments > id ? t->e->n_instruments : (size_t)id + 1;
            double *g = risk__realloc(t->e, t->sb, 3 * want * sizeof *g);
            if (g)
                t->sb = g;
            uint64_t *gp = g ? risk__realloc(t->e, t->sb_pass, want * sizeof *gp) : NULL;
            if (gp) {
                t->sb_pass = gp;
                memset(gp + t->n_sb, 0, (want - t->n_sb) * sizeof *gp);
                t->n_sb = want;
            }
        }
        if (id < t->n_sb) {
            double *c = &t->sb[3 * (size_t)id];
            if (t->sb_pass[id] != t->pass) {
                schedule_bounds(in, size, &c[0], &c[1]);
                double m = 0.0;
                for (uint32_t k = 0; k < in->schedule.n_tiers; k++)
                    m = fabs(in->schedule.tiers[k].cum) > m ? fabs(in->schedule.tiers[k].cum) : m;
                c[2] = m;
                t->sb_pass[id] = t->pass;
            }
            *rmax = c[0];
            *jumps = c[1];
            *cmax = c[2];
            return;
        }
    }
    schedule_bounds(in, size, rmax, jumps);
    double m = 0.0;
    for (uint32_t k = 0; k < in->schedule.n_tiers; k++)
        m = fabs(in->schedule.tiers[k].cum) > m ? fabs(in->schedule.tiers[k].cum) : m;
    *cmax = m;
}


static int band_push(risk_tick *t, uint32_t slot, uint32_t n, const uint32_t *old_b, uint32_t old_stamp);

/* The buckets of the entries of the slot's band (keys[0, n), kv) into t->oldb: what band_push
 * may rewrite in place. NULL if the scratch cannot grow (then every entry is pushed). */
static uint32_t *band_old_buckets(risk_tick *t, const tick_acct *s, uint32_t n)
{
    if (grow(t->e, (void **)&t->oldb, &t->cap_oldb, 2 * (size_t)n, sizeof *t->oldb))
        return NULL;
    for (uint32_t k = 0; k < n; k++) {
        const price_key *pk = key_get(t, s->keys[k]);
        const double *kv = &s->kv[KV * k];
        t->oldb[2 * k] = pk ? bucket_of(pk, kv[0] * (1.0 - kv[4])) : UINT32_MAX;
        t->oldb[2 * k + 1] = pk ? bucket_of(pk, kv[0] * (1.0 + kv[3])) : UINT32_MAX;
    }
    return t->oldb;
}

/* Evaluates the account, records a change of state, and rebuilds its band. */
static int slot_evaluate(risk_tick *t, uint32_t slot, int report)
{
    risk_engine *e = t->e;
    tick_acct *s = &t->acc[slot];
    risk_account *a = s->a;
    risk__account_values v;
    risk__account_values_compute(a, &v);
    risk_account_summary sum;
    sum.version = RISK_ACCOUNT_SUMMARY_VERSION;
    risk__account_summary_fill(a, &v, &sum);
    t->evaluated++;
    uint32_t old = s->flags & SLOT_TRACKED ? s->state : RISK_STATE_HEALTHY;
    if (report && sum.state != old) {
        if (grow(e, (void **)&t->changes, &t->cap_changes, t->n_changes + 1, sizeof *t->changes))
            return -1; /* the state stays old: the caller re-marks the slot */
        risk_tick_change *c = &t->changes[t->n_changes++];
        c->version = RISK_TICK_CHANGE_VERSION;
        c->old_state = old;
        c->new_state = sum.state;
        c->reserved = 0;
        c->account_id = a->id;
        c->summary = sum;
    }
    if (s->flags & SLOT_TRACKED)
        t->in_state[s->state]--;
    s->state = sum.state;
    s->flags |= SLOT_TRACKED;
    t->in_state[s->state]++;

    /* the band: sensitivities per key, the distance to the nearest threshold */
    slot_release_keys(t, s);
    if (s->flags & SLOT_ALWAYS) {
        s->flags &= ~SLOT_ALWAYS; /* stays listed until the list is pruned */
        t->n_always--;
    }
    const double R = BAND_R, hc = e->margin_call_health, h = hc > 1.0 ? hc : 1.0;
    /* the thresholds at P0 and their signs: harm is a move towards the other sign */
    double c = v.basket.collateral_maint + v.cross_upnl, r = v.basket.liabilities_maint + v.cross_mm;
    double eq = v.basket.net_value + v.upnl + v.isolated_margin;
    int owes = a->n_pos > 0 || v.basket.liabilities > 0.0;
    double sg[3] = {sign_of(c - r), sign_of(c - hc * r), owes ? sign_of(eq) : 0.0};
    uint32_t n = 0, km = 0, ks = 0;
    /* the jumps of the schedules: c0 plain, c1 times (1 + R) (a settle price that moves) */
    double c0 = 0.0, c1 = 0.0, mag = 1.0, iso_min = INFINITY;
    /* a portfolio account's MM is a scenario grid, and Drift's PnL weights bend C_maint: neither has
     * the band's bound (docs/tick.md), so such accounts are re-evaluated on every apply */
    int always = a->margin_mode == RISK_MARGIN_PORTFOLIO || e->n_upnl_weighted != 0;
    t->list_epoch++; /* no key listed yet */
    for (uint32_t i = 0; i < a->n_pos && !always; i++) {
        const risk__instrument *in = &e->instruments[a->inst[i]];
        if (in->kind == RISK_KIND_OPTION) {
            always = 1;
            break;
        }
        double q = a->qty[i], E = a->entry[i], M = in->mark, size = fabs(q) * in->contract_size;
        uint32_t settle_key = in->settle == e->valuation ? RISK_ID_NONE : KEY_ASSET | in->settle;
        int sv = settle_key != RISK_ID_NONE; /* the settle price moves: the mark part has p_s' <= p_s (1 + R) */
        double ps = e->assets[in->settle].price;
        double rmax, jumps, cmax;
        schedule_bounds_cached(t, a->inst[i], size, &rmax, &jumps, &cmax);
        int at_entry = in->mm_price == RISK_MM_PRICE_ENTRY;
        double mm_rate = at_entry ? 0.0 : rmax;
        if (key_list(t, &n, a->inst[i], &km) || (sv && key_list(t, &n, settle_key, &ks))) {
            always = 1;
            break;
        }
        /* the mark part: F = size |M' - M| p_s' (linear) or size |1/M - 1/M'| p_s' (inverse), for
         * upnl and MM alike; a rise of the mark moves upnl by sign(q) F, N up (linear) or down
         * (inverse). F <= f delta with f below and the class: (1 + R) for p_s' when the settle
         * price moves; for an inverse fall |1/M - 1/M'| <= delta / (M (1 - R)) */
        double au, mn, f, nup; /* |upnl| (bit for bit: (|q| cs) |M - E| = |(q cs) (M - E)|), margin notional */
        int cls_up = sv ? 1 : 0, cls_dn;
        if (!in->inverse) {
            f = size * M * ps;
            nup = 1.0;
            cls_dn = cls_up;
            au = size * fabs(M - E);
            mn = at_entry ? size * E : size * M;
        } else {
            f = size * ps / M;
            nup = -1.0;
            cls_dn = 2;
            au = size * fabs(1.0 / E - 1.0 / M);
            mn = at_entry ? size / E : size / M;
        }
        if (at_entry)
            nup = 0.0;
        double sq = q > 0.0 ? 1.0 : q < 0.0 ? -1.0 : 0.0;
        key_sens *kms = &t->sens[km];
        /* |MM| <= N r_max + max |cum| (the rounding allowance only needs a bound); the position's
         * values themselves only when the settle price moves or the position is isolated */
        double amm = mn * rmax + cmax;
        int iso = (a->pflags[i] & RISK__PF_ISOLATED) != 0;
        if (!iso) { /* in g1 (MM weight 1), g2 (h) and the equity (no MM) */
            mark_harm(kms, THR_C, sg[THR_C], 1.0, mm_rate, sq, nup, f, cls_up, cls_dn);
            mark_harm(kms, THR_H, sg[THR_H], hc, mm_rate, sq, nup, f, cls_up, cls_dn);
        }
        mark_harm(kms, THR_E, sg[THR_E], 0.0, mm_rate, sq, nup, f, cls_up, cls_dn);
        /* pending funding (rates/funding.c): in the settle asset, in the isolated margin or in
         * the cross upnl; it does not depend on the mark */
        double got = e->funding_active ? risk__funding_pending(a, i) : 0.0;
        if (!iso && sv && got != 0.0) {
            key_sens *kss = &t->sens[ks];
            kss->lin[THR_C] += got * ps;
            kss->lin[THR_H] += got * ps;
            kss->lin[THR_E] += got * ps;
        }
        if (sv || iso) {
            risk__position_values pv;
            risk__position_values_compute(in, q, E, a->im_rate[i], &pv);
            double m = iso ? a->iso_margin[i] + got : 0.0;
            if (iso) { /* its own pool, compared in the settle asset: m + upnl - MM, times p_s at P0 */
                double g = (m + pv.upnl - pv.mm) * ps;
                iso_min = fabs(g) < iso_min ? fabs(g) : iso_min;
                /* the settle price does not enter; the mark part without p_s' (f / p_s' = p_s) */
                mark_harm(kms, THR_ISO, sign_of(g), 1.0, mm_rate, sq, nup, f, 0, in->inverse ? 2 : 0);
            }
            if (sv) { /* the settle part moves each threshold by its terms' value times delta */
                key_sens *kss = &t->sens[ks];
                double u = pv.upnl * ps, mmv = pv.mm * ps;
                if (!iso) {
                    kss->lin[THR_C] += u - mmv;
                    kss->lin[THR_H] += u - hc * mmv;
                }
                kss->lin[THR_E] += u + m * ps;
            }
            amm = fabs(pv.mm);
        }
        if (sv)
            c1 += h * jumps * ps;
        else
            c0 += h * jumps * ps;
        mag += ((in->inverse ? size / M : size * M) + amm + au + fabs(a->iso_margin[i]) + fabs(got)) * ps;
    }
    const risk_basket *bk = &a->basket;
    for (uint32_t j = 0; j < bk->n && !always; j++) {
        uint32_t id = bk->asset[j];
        const risk__asset *as = &e->assets[id];
        double x = risk__balance_of(as, bk->amount[j]), wi, wm;
        risk__asset_weights(as, x, &wi, &wm);
        double vm = x > 0.0 ? as->price * risk__tiered_qty(as, x) * wm : x * as->price * wm;
        mag += fabs(vm) + fabs(x) * as->price;
        if (id == e->valuation)
            continue;
        uint32_t kb;
        if (key_list(t, &n, KEY_ASSET | id, &kb)) {
            always = 1;
            break;
        }
        /* linear in the price: the weighted value in C_maint (g1), in C_maint or h R_maint (g2),
         * x p in the equity */
        key_sens *kbs = &t->sens[kb];
        kbs->lin[THR_C] += vm;
        kbs->lin[THR_H] += x > 0.0 ? vm : hc * vm;
        kbs->lin[THR_E] += x * as->price;
    }
    if (always) {
        set_always(t, slot);
        return 0;
    }
    if (n == 0)
        return 0; /* exposed to no price: only an account change can change it */
    /* the thresholds' distances (INFINITY: not a threshold of this account), less the same
     * allowance for quantization and rounding */
    double dt[N_THR] = {fabs(c - r), fabs(c - hc * r), owes ? fabs(eq) : INFINITY, iso_min};
    double quantum = 0.0;
    if (!(e->flags & RISK_ENGINE_NO_QUANTIZE) && e->valuation != RISK_ID_NONE)
        quantum = 1.0 / risk__asset_scale(&e->assets[e->valuation]);
    double al = 2.0 * (1.0 + h) * quantum + 1e-9 * (mag + fabs(c) + h * fabs(r) + fabs(eq));
    if (grow(e, (void **)&t->sbuf, &t->cap_sbuf, 4 * (size_t)n, sizeof *t->sbuf)) {
        set_always(t, slot);
        return 0;
    }
    double *su = t->sbuf, *sd = su + n; /* S+ and S- at R, then at 2 rho0 */
    /* the radius at R, then at twice that radius (the (1 + R) factors shrink with it): both
     * are valid bands, the one with the larger rho0 is kept */
    double dprime, dprime2;
    double rho = band_radius(t, n, sg, dt, al, c0, c1, R, su, sd, &dprime), rb = R;
    if (rho > 0.0 && 2.0 * rho < R) {
        double *su2 = sd + n, *sd2 = su2 + n;
        double rho2 = band_radius(t, n, sg, dt, al, c0, c1, 2.0 * rho, su2, sd2, &dprime2);
        if (rho2 > rho) {
            rb = 2.0 * rho;
            rho = rho2;
            su = su2;
            sd = sd2;
            dprime = dprime2;
        }
    }
    if (n > s->cap_keys) {
        uint32_t *grown = risk__realloc(e, s->keys, 3 * (size_t)n * sizeof *grown);
        double *kv = risk__realloc(e, s->kv, KV * (size_t)n * sizeof *kv);
        if (grown)
            s->keys = grown;
        if (kv)
            s->kv = kv;
        if (!grown || !kv) {
            set_always(t, slot);
            return 0;
        }
        s->cap_keys = n;
    }
    /* new entries are appended, not rewritten over the old band's (as a re-band does): the
     * evaluation moved P0, few entries stay in their bucket, and the check of the old entry is
     * a cache miss where an append mostly hits a bucket tail other accounts just wrote
     * (docs/performance.md "Tick path": 75 to 100 us a tick when tried) */
    memcpy(s->keys, t->keybuf, n * sizeof *s->keys);
    for (uint32_t k = 0; k < n; k++) {
        double *kv = &s->kv[KV * k], budget = rho * (su[k] > sd[k] ? su[k] : sd[k]);
        kv[0] = key_price(e, s->keys[k]);
        kv[1] = su[k];
        kv[2] = sd[k];
        /* no budget (D' <= 0): every side 0, the jumps and rounding alone may cross */
        kv[3] = dprime > 0.0 ? side_radius(budget, su[k], rb) : 0.0;
        kv[4] = dprime > 0.0 ? side_radius(budget, sd[k], rb) : 0.0;
    }
    s->dprime = dprime;
    s->rb = rb;
    return band_push(t, slot, n, NULL, 0);
}

/* Writes one entry of key k's side into bucket b: over the entry of the band it replaces when
 * that is still where it was written (the same bucket, the same slot, the old stamp: the
 * bucket's order does not matter), else appended. 0, or -1 out of memory. */
static inline int entry_write(risk_tick *t, tick_acct *s, price_key *pk, uint32_t k, int side, band_entry x,
                              const uint32_t *old_b, uint32_t old_stamp)
{
    uint32_t b = bucket_of(pk, x.edge);
    bucket *bk = side ? &pk->hi[b] : &pk->lo[b];
    if (old_b && old_b[2 * k + side] == b) {
        uint32_t i = KEY_POS(s, k, side);
        if (i < bk->n && bk->v[i].slot == x.slot && bk->v[i].stamp == old_stamp) {
            bk->v[i] = x;
            return 0;
        }
    }
    KEY_POS(s, k, side) = bk->n;
    if (bucket_push(t->e, bk, x))
        return -1;
    pk->entries++;
    t->n_entries++;
    return 0;
}

/* The account's entries: a lower edge at kv[0] (1 - kv[4]), an upper one at kv[0] (1 + kv[3]),
 * per key, rewriting in place those of the band it replaces (old_b: their buckets, or NULL;
 * old_stamp: their stamp) where they stay in their bucket; 0, or the account set ALWAYS. */
static int band_push(risk_tick *t, uint32_t slot, uint32_t n, const uint32_t *old_b, uint32_t old_stamp)
{
    tick_acct *s = &t->acc[slot];
    for (uint32_t k = 0; k < n; k++) {
        price_key *pk = key_get(t, s->keys[k]);
        const double *kv = &s->kv[KV * k];
        double p = kv[0];
        band_entry lo = {p * (1.0 - kv[4]), slot, s->stamp}, hi = {p * (1.0 + kv[3]), slot, s->stamp};
        if (!pk || key_buckets(t->e, pk) || entry_write(t, s, pk, k, 0, lo, old_b, old_stamp) ||
            entry_write(t, s, pk, k, 1, hi, old_b, old_stamp)) {
            s->n_keys = k + (pk != NULL);
            if (pk)
                pk->live++;
            set_always(t, slot); /* partial entries are harmless: the account is re-evaluated anyway */
            return 0;
        }
        pk->live++;
        s->n_keys = k + 1;
        if (pk->entries > 4 * pk->live + 64)
            key_compact(t, pk);
    }
    s->flags |= SLOT_BANDED;
    return 0;
}

/* A crossing without a change of the account: while the displacements d_k = P_k/P0_k - 1 from
 * the prices of its evaluation keep U = sum S(d_k) |d_k| below the budget D' (S+ for a rise,
 * S- for a fall; each |d_k| within rb), its state cannot have changed (docs/tick.md, section 2):
 * the unspent budget is shared out again, key k getting a_k = S(d_k) |d_k| + (D' - U) / n and the
 * radii rho+-_k = a_k / S+-_k, and the entries re-pushed, with no evaluation. Returns 0 when
 * re-banded, 1 when the account must be evaluated. */
static int slot_reband(risk_tick *t, uint32_t slot)
{
    tick_acct *s = &t->acc[slot];
    uint32_t n = s->n_keys;
    if (!(s->flags & SLOT_BANDED) || n == 0)
        return 1;
    double used = 0.0;
    for (uint32_t k = 0; k < n; k++) {
        const double *kv = &s->kv[KV * k];
        double dk = key_price(t->e, s->keys[k]) / kv[0] - 1.0;
        if (!(fabs(dk) <= s->rb))
            return 1;
        used += (dk > 0.0 ? kv[1] : kv[2]) * fabs(dk);
    }
    double spare = s->dprime - used;
    if (!(s->dprime > 0.0) || !(spare > 0.0))
        return 1;
    /* the keys and their data stay; the entries are renewed, in place where they stay in their
     * bucket */
    const uint32_t *old_b = band_old_buckets(t, s, n);
    uint32_t old_stamp = s->stamp;
    for (uint32_t k = 0; k < n; k++) {
        price_key *pk = key_get(t, s->keys[k]);
        if (pk && pk->live)
            pk->live--;
    }
    t->stamps[slot] = ++s->stamp;
    double share = spare / (double)n;
    for (uint32_t k = 0; k < n; k++) {
        double *kv = &s->kv[KV * k];
        double dk = key_price(t->e, s->keys[k]) / kv[0] - 1.0;
        double a = (dk > 0.0 ? kv[1] : kv[2]) * fabs(dk) + share;
        kv[3] = side_radius(a, kv[1], s->rb);
        kv[4] = side_radius(a, kv[2], s->rb);
    }
    s->n_keys = 0;
    s->flags &= ~SLOT_BANDED;
    return band_push(t, slot, n, old_b, old_stamp);
}

/* Software prefetch for the run queue at index i, in three stages, as the sweep's
 * sweep_prefetch (core/evaluate.c) does for the registry: a queued account is a chain of
 * dependent misses (tracker record -> account struct and band data -> position columns) that
 * no hardware prefetcher follows. Stage 1 fetches the record PF_Q_SLOT entries ahead; stage 2,
 * whose record arrived meanwhile, the struct's first two lines (what an evaluation reads first,
 * internal.h) and the band's keys and data (a re-band reads only these); stage 3 the position
 * columns. Nothing is read that the evaluation or re-band would not read. Always inlined: gcc
 * takes a function made only of prefetches for one without effect and drops the call. */
TICK_INLINE void queue_prefetch(const risk_tick *t, size_t i)
{
    if (i + PF_Q_SLOT < t->n_queue) {
        uint32_t slot = t->queue[i + PF_Q_SLOT];
        PREFETCH(&t->acc[slot]);
        PREFETCH(&t->stamps[slot]);
    }
    if (i + PF_Q_STRUCT < t->n_queue) {
        const tick_acct *s = &t->acc[t->queue[i + PF_Q_STRUCT]];
        if (s->a)
            risk__prefetch_account(s->a);
        if (s->kv) { /* a band's data: KV doubles a key, 5 lines for 8 keys */
            const char *kv = (const char *)s->kv;
            for (uint32_t o = 0; o < s->n_keys * KV * sizeof(double) && o < 8 * 64; o += 64)
                PREFETCH(kv + o);
            PREFETCH(s->keys);
        }
    }
    if (i + PF_Q_COLUMNS < t->n_queue) {
        const risk_account *a = t->acc[t->queue[i + PF_Q_COLUMNS]].a;
        if (a)
            risk__prefetch_columns(a);
    }
}

/* Re-evaluates the queued accounts (and, after a lost mark, every account). */
static int run_queue(risk_tick *t, int report)
{
    int rc = RISK_OK;
    t->pass++; /* the schedule bounds are read again (schedules may have changed since) */
    if (t->overflow) {
        t->overflow = 0;
        for (size_t s = 0; s < t->n_acc; s++)
            if (t->acc[s].a)
                enqueue(t, (uint32_t)s, 1);
        for (size_t k = 0; k < t->e->n_account_slots; k++) { /* accounts whose registration failed */
            risk_account *a = t->e->accounts[k];
            uint32_t slot;
            if (a && map_find(t, a) == RISK_ID_NONE && slot_add(t, a, &slot) == 0)
                enqueue(t, slot, 1);
        }
    }
    size_t w = 0;
    for (size_t i = 0; i < t->n_always_list; i++) { /* prune, and queue the ones still ALWAYS */
        uint32_t slot = t->always[i];
        tick_acct *s = &t->acc[slot];
        if (s->a && (s->flags & SLOT_ALWAYS)) {
            t->always[w++] = slot;
            enqueue(t, slot, 1);
        } else
            s->flags &= ~SLOT_LISTED;
    }
    t->n_always_list = w;
    w = 0;
    for (size_t i = 0; i < t->n_queue; i++) {
        queue_prefetch(t, i);
        uint32_t slot = t->queue[i];
        tick_acct *s = &t->acc[slot];
        s->flags &= ~SLOT_QUEUED;
        if (!s->a) { /* freed while queued: the slot is free now */
            if (!(s->flags & SLOT_LISTED) &&
                grow(t->e, (void **)&t->free_slots, &t->cap_free, t->n_free + 1, sizeof *t->free_slots) == 0)
                t->free_slots[t->n_free++] = slot;
            continue;
        }
        int dirty = (s->flags & SLOT_DIRTY) != 0;
        s->flags &= ~SLOT_DIRTY;
        if (!dirty && slot_reband(t, slot) == 0)
            continue;
        if (slot_evaluate(t, slot, report)) {
            rc = RISK_ENOMEM;
            s->flags |= SLOT_QUEUED | SLOT_DIRTY; /* kept for the next pass */
            t->queue[w++] = slot;
        }
    }
    t->n_queue = w;
    return rc;
}

/* ------------------------------------------------------------ hooks (internal.h) */

void risk__tick_mark(risk_tick *t, const risk_account *a)
{
    uint32_t slot = map_find(t, a);
    if (slot != RISK_ID_NONE) /* else a what-if or planning copy, or one whose registration failed
                                * (which set overflow) */
        enqueue(t, slot, 1);
}

void risk__tick_account_added(risk_tick *t, risk_account *a)
{
    uint32_t slot;
    if (slot_add(t, a, &slot)) {
        t->overflow = 1;
        return;
    }
    enqueue(t, slot, 1);
}

void risk__tick_account_removed(risk_tick *t, const risk_account *a)
{
    uint32_t slot = map_find(t, a);
    if (slot == RISK_ID_NONE)
        return;
    tick_acct *s = &t->acc[slot];
    slot_release_keys(t, s);
    risk__free(t->e, s->keys);
    risk__free(t->e, s->kv);
    s->keys = NULL;
    s->kv = NULL;
    s->cap_keys = 0;
    if (s->flags & SLOT_TRACKED)
        t->in_state[s->state]--;
    if (s->flags & SLOT_ALWAYS)
        t->n_always--;
    s->a = NULL;
    t->n_accounts--;
    s->flags &= SLOT_QUEUED | SLOT_LISTED; /* a queued or listed free slot is skipped there */
    map_del(t, a);
    if (!(s->flags & (SLOT_QUEUED | SLOT_LISTED)) &&
        grow(t->e, (void **)&t->free_slots, &t->cap_free, t->n_free + 1, sizeof *t->free_slots) == 0)
        t->free_slots[t->n_free++] = slot;
}

/* ------------------------------------------------------------ public */

RISK_API void risk_tick_free(risk_tick *tick)
{
    if (!tick)
        return;
    risk_engine *e = tick->e;
    for (size_t s = 0; s < tick->n_acc; s++) {
        risk__free(e, tick->acc[s].keys);
        risk__free(e, tick->acc[s].kv);
    }
    for (size_t k = 0; k < tick->n_keys_inst; k++)
        key_release(e, &tick->keys_inst[k]);
    for (size_t k = 0; k < tick->n_keys_asset; k++)
        key_release(e, &tick->keys_asset[k]);
    risk__free(e, tick->keys_inst);
    risk__free(e, tick->keys_asset);
    risk__free(e, tick->acc);
    risk__free(e, tick->stamps);
    risk__free(e, tick->free_slots);
    risk__free(e, tick->map_key);
    risk__free(e, tick->map_val);
    risk__free(e, tick->queue);
    risk__free(e, tick->always);
    risk__free(e, tick->changes);
    risk__free(e, tick->keybuf);
    risk__free(e, tick->sens);
    risk__free(e, tick->sbuf);
    risk__free(e, tick->oldb);
    risk__free(e, tick->sb);
    risk__free(e, tick->sb_pass);
    risk__free(e, tick->errmsg);
    if (e->tick == tick)
        e->tick = NULL;
    uint32_t retained = tick->retained;
    risk__free(e, tick);
    if (retained)
        risk__engine_release(e); /* may free the engine, if the user freed it already */
}

RISK_API int risk_tick_new(risk_tick **out, risk_engine *engine)
{
    if (!out || !engine) {
        if (out)
            *out = NULL;
        return RISK_ENULL;
    }
    *out = NULL;
    if (engine->tick)
        return risk__fail(engine, &engine->errmsg, RISK_ESTATE, "the engine already has a tick tracker");
    risk_tick *t = risk__calloc(engine, 1, sizeof *t);
    if (!t)
        return risk__fail(engine, &engine->errmsg, RISK_ENOMEM, "out of memory");
    t->e = engine;
    for (size_t k = 0; k < engine->n_account_slots; k++) {
        risk_account *a = engine->accounts[k];
        uint32_t slot;
        if (!a)
            continue;
        if (slot_add(t, a, &slot)) {
            risk_tick_free(t);
            return risk__fail(engine, &engine->errmsg, RISK_ENOMEM, "out of memory");
        }
        enqueue(t, slot, 1);
        if (t->overflow) {
            risk_tick_free(t);
            return risk__fail(engine, &engine->errmsg, RISK_ENOMEM, "out of memory");
        }
    }
    if (run_queue(t, 0) != RISK_OK) {
        risk_tick_free(t);
        return risk__fail(engine, &engine->errmsg, RISK_ENOMEM, "out of memory");
    }
    engine->tick = t;
    risk__engine_retain(engine);
    t->retained = 1;
    *out = t;
    risk__clear(&engine->errmsg);
    return RISK_OK;
}

/* Scans the buckets between the key's last price and p: queues the accounts whose edge p
 * crossed and drops their entries and stale ones. */
static void key_crossed(risk_tick *t, uint32_t key, double p)
{
    price_key *pk = key_get(t, key);
    if (!pk)
        return;
    double last = pk->last;
    pk->last = p;
    if (!pk->lo || p == last)
        return;
    int down = p < last;
    bucket *bs = down ? pk->lo : pk->hi;
    uint32_t b0 = bucket_of(pk, down ? p : last), b1 = bucket_of(pk, down ? last : p);
    for (uint32_t b = b0; b <= b1; b++) {
        bucket *bk = &bs[b];
        uint32_t w = 0;
        for (uint32_t r = 0; r < bk->n; r++) {
            band_entry *x = &bk->v[r];
            if (r + PF_AHEAD < bk->n && x[PF_AHEAD].slot < t->n_acc) /* its stamp, read by entry_live */
                PREFETCH(&t->stamps[x[PF_AHEAD].slot]);
            if (!entry_live(t, x)) /* stale entries in the scanned range go: they are scanned once */
                continue;
            if (down ? x->edge > p : x->edge < p) {
                enqueue(t, x->slot, 0);
                continue;
            }
            bk->v[w++] = *x;
        }
        pk->entries -= bk->n - w;
        t->n_entries -= bk->n - w;
        bk->n = w;
    }
}

/* After a rebuild every price is current: the keys follow it. */
static void keys_resync(risk_tick *t)
{
    for (size_t k = 0; k < t->n_keys_inst; k++)
        t->keys_inst[k].last = t->e->instruments[k].mark;
    for (size_t k = 0; k < t->n_keys_asset; k++)
        t->keys_asset[k].last = t->e->assets[k].price;
}

RISK_API int risk_tick_apply(risk_tick *tick, const uint32_t *instruments, const double *marks, size_t n_marks,
                             const uint32_t *assets, const double *prices, size_t n_prices, size_t *n_changes_out)
{
    if (!tick)
        return RISK_ENULL;
    risk_engine *e = tick->e;
    if (!n_changes_out || (n_marks && (!instruments || !marks)) || (n_prices && (!assets || !prices)))
        return risk__fail(e, &tick->errmsg, RISK_ENULL, "n_changes_out, or an array with a count, is NULL");
    /* the prices checked before any mark is set: setting a mark also clears an option's mark
     * volatility, which setting the old mark back (the undo this replaced) did not restore */
    int rc = risk__engine_check_prices(e, assets, prices, n_prices);
    if (rc != RISK_OK)
        return risk__fail(e, &tick->errmsg, rc, "%s", risk_engine_errmsg(e));
    rc = risk_engine_set_marks(e, instruments, marks, n_marks);
    if (rc != RISK_OK)
        return risk__fail(e, &tick->errmsg, rc, "%s", risk_engine_errmsg(e));
    rc = risk_engine_set_asset_prices(e, assets, prices, n_prices); /* checked: cannot fail */
    if (rc != RISK_OK)
        return risk__fail(e, &tick->errmsg, rc, "%s", risk_engine_errmsg(e));
    tick->n_changes = 0;
    tick->evaluated = 0;
    for (size_t i = 0; i < n_marks; i++)
        key_crossed(tick, instruments[i], key_price(e, instruments[i]));
    for (size_t i = 0; i < n_prices; i++)
        key_crossed(tick, KEY_ASSET | assets[i], key_price(e, KEY_ASSET | assets[i]));
    rc = run_queue(tick, 1);
    *n_changes_out = tick->n_changes;
    if (rc)
        return risk__fail(e, &tick->errmsg, rc, "out of memory: changes kept for the next apply");
    risk__clear(&tick->errmsg);
    return RISK_OK;
}

RISK_API int risk_tick_rebuild(risk_tick *tick, size_t *n_changes_out)
{
    if (!tick)
        return RISK_ENULL;
    if (!n_changes_out)
        return risk__fail(tick->e, &tick->errmsg, RISK_ENULL, "n_changes_out is NULL");
    tick->n_changes = 0;
    tick->evaluated = 0;
    tick->overflow = 1; /* every account */
    keys_resync(tick);
    int rc = run_queue(tick, 1);
    *n_changes_out = tick->n_changes;
    if (rc)
        return risk__fail(tick->e, &tick->errmsg, rc, "out of memory: changes kept for the next apply");
    risk__clear(&tick->errmsg);
    return RISK_OK;
}

RISK_API int risk_tick_changes(const risk_tick *tick, risk_tick_change *out, size_t capacity, size_t *count_out)
{
    if (!tick)
        return RISK_ENULL;
    risk_tick *t = (risk_tick *)tick; /* the message is not tracker state */
    if (!count_out || (!out && capacity))
        return risk__fail(t->e, &t->errmsg, RISK_ENULL, "count_out is NULL, or out is NULL with capacity > 0");
    *count_out = t->n_changes;
    if (capacity < t->n_changes)
        return risk__fail(t->e, &t->errmsg, RISK_EBUFFER, "%zu changes, capacity %zu", t->n_changes, capacity);
    if (t->n_changes && out[0].version != RISK_TICK_CHANGE_VERSION)
        return risk__fail(t->e, &t->errmsg, RISK_EVERSION, "tick change version %u is not %d", out[0].version,
                          RISK_TICK_CHANGE_VERSION);
    if (t->n_changes)
        memcpy(out, t->changes, t->n_changes * sizeof *out);
    risk__clear(&t->errmsg);
    return RISK_OK;
}

RISK_API int risk_tick_stats_get(const risk_tick *tick, risk_tick_stats *out)
{
    if (!tick)
        return RISK_ENULL;
    risk_tick *t = (risk_tick *)tick;
    if (!out)
        return risk__fail(t->e, &t->errmsg, RISK_ENULL, "out is NULL");
    if (out->version != RISK_TICK_STATS_VERSION)
        return risk__fail(t->e, &t->errmsg, RISK_EVERSION, "tick stats version %u is not %d", out->version,
                          RISK_TICK_STATS_VERSION);
    memset(out, 0, sizeof *out);
    out->version = RISK_TICK_STATS_VERSION;
    out->accounts = t->n_accounts;
    out->evaluated = t->evaluated;
    out->changed = t->n_changes;
    for (int k = 0; k < 4; k++)
        out->in_state[k] = t->in_state[k];
    out->always = t->n_always;
    out->band_entries = t->n_entries;
    risk__clear(&t->errmsg);
    return RISK_OK;
}

void risk__tick_walk_counts(const risk_tick *t, uint64_t *accounts_out, uint64_t *band_entries_out)
{
    uint64_t n = 0, entries = 0;
    for (size_t s = 0; s < t->n_acc; s++)
        n += t->acc[s].a != NULL;
    for (size_t k = 0; k < t->n_keys_inst; k++)
        entries += t->keys_inst[k].entries;
    for (size_t k = 0; k < t->n_keys_asset; k++)
        entries += t->keys_asset[k].entries;
    *accounts_out = n;
    *band_entries_out = entries;
}

RISK_API int risk_tick_state(const risk_tick *tick, const risk_account *account, uint32_t *state_out)
{
    if (!tick)
        return RISK_ENULL;
    risk_tick *t = (risk_tick *)tick;
    if (!account || !state_out)
        return risk__fail(t->e, &t->errmsg, RISK_ENULL, "account or state_out is NULL");
    uint32_t slot = map_find(t, account);
    if (slot == RISK_ID_NONE || !(t->acc[slot].flags & SLOT_TRACKED))
        return risk__fail(t->e, &t->errmsg, RISK_ENOTFOUND, "account is not tracked");
    *state_out = t->acc[slot].state;
    risk__clear(&t->errmsg);
    return RISK_OK;
}

RISK_API const char *risk_tick_errmsg(const risk_tick *tick)
{
    return tick && tick->errmsg ? tick->errmsg : "";
}
