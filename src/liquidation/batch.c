/* SPDX-License-Identifier: Apache-2.0 */
/* risk_engine_liquidate_all: the plan of every liquidatable account, in engine (creation) order,
 * each applied before the next is made; what plan + apply account by account give, bit for bit,
 * but linear in the book.
 *
 * Account by account, every close-out that deleverages rebuilds the ADL queue of each of its
 * positions by scoring every account of the engine and sorting (risk__adl_queue), and every
 * socialised loss walks every account three times. Inside the batch nobody else changes the
 * engine, and an applied plan changes only its account and its counterparties (ADL, backstop,
 * socialised), while marks and prices stay put. So the queues of every (instrument, side) are
 * built once, and after each plan only the accounts it touched are scored again and moved in
 * them. A score is a function of its account and the market only (risk__adl_score), so an
 * untouched account keeps the score the scan would give it, and the queues hold exactly the
 * entries the scan would find, in the same total order (docs/liquidation.md section 6.1).
 *
 * A queue is an ordered list of blocks of at most BLOCK_MAX entries: a change costs a binary
 * search over the blocks, one in a block and a move of at most BLOCK_MAX entries. */
#include "liquidation/liquidation.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK_MAX 128u

typedef struct entry {
    risk_adl_entry e;
    size_t slot; /* the account's engine slot */
} entry;

typedef struct block {
    uint32_t n, cap;
    entry v[];
} block;

typedef struct list {
    block **b;
    size_t nb, capb;
} list;

typedef struct held { /* an account's entries in the queues, as last scored */
    risk_adl_entry *e;
    uint32_t n;
} held;

struct risk__liq_index {
    const risk_engine *e;
    list *lists; /* 2 per instrument: long, short */
    size_t n_lists;
    held *held;  /* per engine slot */
    size_t n_slots;
};

static size_t list_of(uint32_t instrument, uint32_t side)
{
    return 2u * (size_t)instrument + (side == RISK_SIDE_SHORT);
}

static int order(const risk_adl_entry *x, const risk_adl_entry *y)
{
    return risk__adl_entry_order(x, y);
}

/* The block that holds or would hold x: the first whose last entry is not before x, else the last. */
static size_t block_for(const list *l, const risk_adl_entry *x)
{
    size_t lo = 0, hi = l->nb;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const block *b = l->b[mid];
        if (order(&b->v[b->n - 1].e, x) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < l->nb ? lo : l->nb - 1;
}

/* The first position in b whose entry is not before x. */
static uint32_t lower_bound(const block *b, const risk_adl_entry *x)
{
    uint32_t lo = 0, hi = b->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (order(&b->v[mid].e, x) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static block *block_new(const risk_engine *e, uint32_t cap)
{
    block *b = risk__malloc(e, sizeof *b + cap * sizeof(entry));
    if (b) {
        b->n = 0;
        b->cap = cap;
    }
    return b;
}

/* Room for one more block pointer at position at. */
static int list_open(const risk_engine *e, list *l, size_t at)
{
    if (l->nb == l->capb) {
        size_t cap = l->capb ? 2 * l->capb : 4;
        block **g = risk__realloc(e, l->b, cap * sizeof *g);
        if (!g)
            return RISK_ENOMEM;
        l->b = g;
        l->capb = cap;
    }
    memmove(&l->b[at + 1], &l->b[at], (l->nb - at) * sizeof *l->b);
    l->nb++;
    return RISK_OK;
}

static int list_insert(const risk_engine *e, list *l, const entry *x)
{
    if (l->nb == 0) {
        block *b = block_new(e, 4);
        if (!b || list_open(e, l, 0)) {
            risk__free(e, b);
            return RISK_ENOMEM;
        }
        l->b[0] = b;
        b->v[0] = *x;
        b->n = 1;
        return RISK_OK;
    }
    size_t k = block_for(l, &x->e);
    block *b = l->b[k];
    if (b->n == b->cap && b->cap < BLOCK_MAX) {
        uint32_t cap = 2 * b->cap < BLOCK_MAX ? 2 * b->cap : BLOCK_MAX;
        block *g = risk__realloc(e, b, sizeof *g + cap * sizeof(entry));
        if (!g)
            return RISK_ENOMEM;
        g->cap = cap;
        l->b[k] = b = g;
    }
    if (b->n == b->cap) { /* full: split in two halves */
        block *r = block_new(e, BLOCK_MAX);
        if (!r || list_open(e, l, k + 1)) {
            risk__free(e, r);
            return RISK_ENOMEM;
        }
        uint32_t half = b->n / 2;
        r->n = b->n - half;
        memcpy(r->v, &b->v[half], r->n * sizeof(entry));
        b->n = half;
        l->b[k + 1] = r;
        if (order(&b->v[b->n - 1].e, &x->e) < 0)
            b = r;
    }
    uint32_t at = lower_bound(b, &x->e);
    memmove(&b->v[at + 1], &b->v[at], (b->n - at) * sizeof(entry));
    b->v[at] = *x;
    b->n++;
    return RISK_OK;
}

/* Removes the entry equal to x (it is there: the index holds what it last scored). */
static void list_remove(const risk_engine *e, list *l, const risk_adl_entry *x)
{
    size_t k = block_for(l, x);
    block *b = l->b[k];
    uint32_t at = lower_bound(b, x);
    memmove(&b->v[at], &b->v[at + 1], (b->n - at - 1) * sizeof(entry));
    if (--b->n == 0) {
        risk__free(e, b);
        memmove(&l->b[k], &l->b[k + 1], (l->nb - k - 1) * sizeof *l->b);
        l->nb--;
    }
}

static void index_free(risk__liq_index *x)
{
    const risk_engine *e = x->e;
    for (size_t i = 0; x->lists && i < x->n_lists; i++) {
        for (size_t k = 0; k < x->lists[i].nb; k++)
            risk__free(e, x->lists[i].b[k]);
        risk__free(e, x->lists[i].b);
    }
    for (size_t s = 0; x->held && s < x->n_slots; s++)
        risk__free(e, x->held[s].e);
    risk__free(e, x->lists);
    risk__free(e, x->held);
}

/* The account's entries as the scan scores them now: one per position with a side. */
static int score_account(const risk__liq_index *x, const risk_account *a, held *h)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < a->n_pos; i++)
        n += a->qty[i] != 0.0;
    h->n = 0;
    h->e = NULL;
    if (n == 0)
        return RISK_OK;
    h->e = risk__malloc(x->e, n * sizeof *h->e);
    if (!h->e)
        return RISK_ENOMEM;
    double equity = risk__adl_equity(a);
    for (uint32_t i = 0; i < a->n_pos; i++)
        if (a->qty[i] != 0.0)
            risk__adl_score(a, i, a->qty[i] > 0.0 ? RISK_SIDE_LONG : RISK_SIDE_SHORT, equity, &h->e[h->n++]);
    return RISK_OK;
}

static int by_list_then_order(const void *p, const void *q)
{
    const entry *x = p, *y = q;
    size_t lx = list_of(x->e.instrument, x->e.side), ly = list_of(y->e.instrument, y->e.side);
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return order(&x->e, &y->e);
}

/* Every account scored, every queue sorted once and cut into half-full blocks. */
static int index_build(risk__liq_index *x, const risk_engine *e)
{
    memset(x, 0, sizeof *x);
    x->e = e;
    x->n_lists = 2 * (size_t)e->n_instruments;
    x->n_slots = e->n_account_slots;
    x->lists = risk__calloc(e, x->n_lists ? x->n_lists : 1, sizeof *x->lists);
    x->held = risk__calloc(e, x->n_slots ? x->n_slots : 1, sizeof *x->held);
    if (!x->lists || !x->held)
        return RISK_ENOMEM;
    size_t total = 0;
    for (size_t s = 0; s < x->n_slots; s++) {
        const risk_account *a = e->accounts[s];
        if (a && score_account(x, a, &x->held[s]))
            return RISK_ENOMEM;
        total += x->held[s].n;
    }
    entry *all = risk__malloc(e, (total ? total : 1) * sizeof *all);
    if (!all)
        return RISK_ENOMEM;
    size_t m = 0;
    for (size_t s = 0; s < x->n_slots; s++)
        for (uint32_t k = 0; k < x->held[s].n; k++) {
            all[m].e = x->held[s].e[k];
            all[m++].slot = s;
        }
    qsort(all, total, sizeof *all, by_list_then_order);
    int rc = RISK_OK;
    for (size_t i = 0; i < total && !rc;) {
        list *l = &x->lists[list_of(all[i].e.instrument, all[i].e.side)];
        uint32_t n = 0;
        while (i + n < total && n < BLOCK_MAX / 2 && &x->lists[list_of(all[i + n].e.instrument, all[i + n].e.side)] == l)
            n++;
        block *b = block_new(e, n < 4 ? 4 : (n < BLOCK_MAX / 2 ? n : BLOCK_MAX));
        if (!b || list_open(e, l, l->nb)) {
            risk__free(e, b);
            rc = RISK_ENOMEM;
            break;
        }
        memcpy(b->v, &all[i], n * sizeof *all);
        b->n = n;
        l->b[l->nb - 1] = b;
        i += n;
    }
    risk__free(e, all);
    return rc;
}

/* After a plan: the account in slot s scored again and moved in its queues. */
static int index_touch(risk__liq_index *x, size_t s)
{
    const risk_account *a = x->e->accounts[s];
    held now;
    if (score_account(x, a, &now))
        return RISK_ENOMEM;
    held *h = &x->held[s];
    for (uint32_t k = 0; k < h->n; k++)
        list_remove(x->e, &x->lists[list_of(h->e[k].instrument, h->e[k].side)], &h->e[k]);
    risk__free(x->e, h->e);
    *h = now;
    for (uint32_t k = 0; k < h->n; k++) {
        entry en = {h->e[k], s};
        if (list_insert(x->e, &x->lists[list_of(h->e[k].instrument, h->e[k].side)], &en)) {
            h->n = k; /* the rest are not in the queues: the batch stops */
            return RISK_ENOMEM;
        }
    }
    return RISK_OK;
}

const risk_adl_entry *risk__liq_first(const risk__liq_index *x, uint32_t instrument, uint32_t side,
                                      risk__liq_cursor *c)
{
    c->x = x;
    c->list = list_of(instrument, side);
    c->block = 0;
    c->pos = 0;
    const list *l = &x->lists[c->list];
    return l->nb ? &l->b[0]->v[0].e : NULL;
}

const risk_adl_entry *risk__liq_next(risk__liq_cursor *c)
{
    const list *l = &c->x->lists[c->list];
    if (++c->pos == l->b[c->block]->n) {
        c->pos = 0;
        if (++c->block == l->nb)
            return NULL;
    }
    return &l->b[c->block]->v[c->pos].e;
}

static int slot_order(const void *p, const void *q)
{
    size_t a = *(const size_t *)p, b = *(const size_t *)q;
    return a < b ? -1 : a > b;
}

int risk__liq_holders(const risk__liq_index *x, uint32_t instrument, uint32_t side, size_t **out, size_t *n_out)
{
    const list *l = &x->lists[list_of(instrument, side)];
    size_t n = 0;
    for (size_t k = 0; k < l->nb; k++)
        n += l->b[k]->n;
    *out = NULL;
    *n_out = 0;
    if (n == 0)
        return RISK_OK;
    size_t *s = risk__malloc(x->e, n * sizeof *s);
    if (!s)
        return RISK_ENOMEM;
    size_t m = 0;
    for (size_t k = 0; k < l->nb; k++)
        for (uint32_t j = 0; j < l->b[k]->n; j++)
            s[m++] = l->b[k]->v[j].slot;
    qsort(s, n, sizeof *s, slot_order);
    m = 0;
    for (size_t k = 0; k < n; k++)
        if (m == 0 || s[m - 1] != s[k])
            s[m++] = s[k];
    *out = s;
    *n_out = m;
    return RISK_OK;
}

/* ------------------------------------------------------------ the batch */

#define FAILE(code, ...) risk__fail(e, &e->errmsg, code, __VA_ARGS__)

static int counterparty_action(uint32_t type)
{
    return type == RISK_ACTION_ADL || type == RISK_ACTION_BACKSTOP || type == RISK_ACTION_SOCIALIZE;
}

RISK_API int risk_engine_liquidate_all(risk_engine *engine, const risk_liquidate_all_options *options,
                                       risk_liquidate_all_result *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    if (!out)
        return FAILE(RISK_ENULL, "out is NULL");
    if (out->version != RISK_LIQUIDATE_ALL_RESULT_VERSION)
        return FAILE(RISK_EVERSION, "result version %u is not %d", out->version, RISK_LIQUIDATE_ALL_RESULT_VERSION);
    if (options && options->version != RISK_LIQUIDATE_ALL_OPTIONS_VERSION)
        return FAILE(RISK_EVERSION, "options version %u is not %d", options->version,
                     RISK_LIQUIDATE_ALL_OPTIONS_VERSION);
    risk_liquidate_all_fn on_plan = options ? options->on_plan : NULL;
    void *user = options ? options->user : NULL;

    risk_liquidate_all_result res = RISK_LIQUIDATE_ALL_RESULT_INIT;
    risk__liq_index x;
    risk_liquidation_action *acts = NULL;
    size_t cap = 0;
    uint32_t *mark = NULL; /* per slot: the number (gen) of the plan that last touched it */
    uint32_t gen = 0;
    int rc = index_build(&x, e);
    if (rc == RISK_OK && !(mark = risk__calloc(e, x.n_slots ? x.n_slots : 1, sizeof *mark)))
        rc = RISK_ENOMEM;
    if (rc) {
        index_free(&x);
        risk__free(e, mark);
        *out = res;
        return FAILE(RISK_ENOMEM, "liquidate_all: out of memory for the ADL queues");
    }
    const char *what = NULL;
    const risk_account *failed = NULL;
    for (size_t s = 0; s < x.n_slots && rc == RISK_OK; s++) {
        risk_account *a = e->accounts[s];
        if (!a)
            continue;
        risk_liquidation_plan plan;
        rc = risk__liquidation_plan_into(a, &x, &plan, &acts, &cap);
        if (rc) {
            what = "planning";
            res.failed_account = a->id;
            failed = a;
            break;
        }
        if (plan.outcome == RISK_PLAN_NONE)
            continue;
        res.n_plans++;
        res.n_actions += plan.n_actions;
        res.n_close_outs += plan.outcome == RISK_PLAN_CLOSE_OUT;
        rc = risk_account_apply_plan(a, &plan, acts, plan.n_actions);
        if (rc) {
            what = "applying";
            res.failed_account = a->id;
            failed = a;
            break;
        }
        res.n_applied++;
        /* the accounts the plan changed, each scored again once */
        if (++gen == 0) { /* after 2^32 plans: marks start again */
            memset(mark, 0, x.n_slots * sizeof *mark);
            gen = 1;
        }
        if (plan.n_actions) {
            mark[s] = gen;
            rc = index_touch(&x, s);
        }
        for (size_t k = 0; k < plan.n_actions && rc == RISK_OK; k++) {
            if (!counterparty_action(acts[k].type))
                continue;
            risk_account *c = NULL;
            if (risk_engine_find_account(e, acts[k].counterparty, &c) != RISK_OK || mark[c->engine_slot] == gen)
                continue;
            mark[c->engine_slot] = gen;
            rc = index_touch(&x, c->engine_slot);
        }
        if (rc) {
            what = "indexing";
            res.failed_account = a->id;
            failed = a;
            break;
        }
        if (on_plan && (rc = on_plan(user, &plan, acts, plan.n_actions)) != RISK_OK) {
            what = "the callback stopped";
            res.failed_account = a->id;
            failed = a;
            break;
        }
    }
    index_free(&x);
    risk__free(e, mark);
    risk__free(e, acts);
    *out = res;
    if (rc) {
        const risk_account *fa = failed;
        return FAILE(rc, "liquidate_all: %s the plan of account %llu: %s", what,
                     (unsigned long long)res.failed_account,
                     fa && risk_account_errmsg(fa) ? risk_account_errmsg(fa) : "failed");
    }
    risk__clear(&e->errmsg);
    return RISK_OK;
}
