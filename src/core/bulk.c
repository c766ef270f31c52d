/* SPDX-License-Identifier: Apache-2.0 */
/* Bulk loading (risk/bulk.h): accounts, balances, leverages and positions from columns, each
 * call all or nothing with the single calls' domain rules.
 *
 * Two ways to be all or nothing. Rows whose checks do not depend on earlier rows (balances,
 * leverages) are all checked first; then the memory every row needs is reserved (growing a
 * capacity changes no result); then they are applied, which cannot fail. Rows whose checks do
 * depend on earlier rows (a duplicate account id, a second position on one leg) are checked and
 * applied one by one, and undone in reverse on the first failure: an account is the last one
 * attached, a position the last one appended, so undoing is exact. */
#include "core/internal.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Prefixes the message a check left in e->errmsg with the row and its account. */
static int row_fail(risk_engine *e, int rc, size_t row, uint64_t account_id)
{
    char msg[RISK__ERRMSG_LEN];
    snprintf(msg, sizeof msg, "%s", risk__msg(e->errmsg));
    return risk__fail(e, &e->errmsg, rc, "row %zu (account %llu): %s", row, (unsigned long long)account_id, msg);
}

/* The account of row i, looked up once per run of equal ids. */
typedef struct row_accounts {
    const risk_engine *e;
    const uint64_t *ids;
    size_t n;
    risk_account *a;
    uint64_t id;
} row_accounts;

#define PREFETCH_AHEAD 16

static risk_account *account_of(row_accounts *r, size_t i)
{
    if (!r->a || r->ids[i] != r->id) {
        if (i + PREFETCH_AHEAD < r->n) /* the id map is larger than the caches: fetch ahead */
            risk__engine_prefetch_id(r->e, r->ids[i + PREFETCH_AHEAD]);
        r->id = r->ids[i];
        r->a = risk__engine_account_lookup(r->e, r->id);
    }
    return r->a;
}

/* Rows per account slot, for reserving before applying; NULL when out of memory. */
static uint32_t *slot_counts(risk_engine *e)
{
    size_t bytes = (e->n_account_slots ? e->n_account_slots : 1) * sizeof(uint32_t);
    uint32_t *c = risk__malloc(e, bytes);
    if (c)
        memset(c, 0, bytes);
    return c;
}

/* ------------------------------------------------------------ accounts */

RISK_API int risk_engine_add_accounts(risk_engine *engine, const uint64_t *account_ids, const uint32_t *margin_modes,
                                      const uint32_t *position_modes, size_t n, risk_account **accounts_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    if (n == 0) {
        risk__clear(&e->errmsg);
        return RISK_OK;
    }
    if (!account_ids)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "account_ids is NULL");
    for (size_t i = 0; i < n; i++) {
        uint32_t mm = margin_modes ? margin_modes[i] : RISK_MARGIN_CROSS;
        uint32_t pm = position_modes ? position_modes[i] : RISK_POSITION_ONE_WAY;
        if (mm != RISK_MARGIN_CROSS && mm != RISK_MARGIN_ISOLATED && mm != RISK_MARGIN_PORTFOLIO)
            return risk__fail(e, &e->errmsg, RISK_EINVAL, "row %zu (account %llu): unknown margin mode %u", i,
                              (unsigned long long)account_ids[i], mm);
        if (pm != RISK_POSITION_ONE_WAY && pm != RISK_POSITION_HEDGE)
            return risk__fail(e, &e->errmsg, RISK_EINVAL, "row %zu (account %llu): unknown position mode %u", i,
                              (unsigned long long)account_ids[i], pm);
    }
    /* the structs in one block (populated up front), linked into the engine on success */
    size_t head = (sizeof(void *) + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) * _Alignof(max_align_t);
    if (n > (SIZE_MAX - head) / sizeof(risk_account) || risk__engine_reserve_accounts(e, n))
        return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for %zu accounts", n);
    size_t bytes = head + n * sizeof(risk_account);
    unsigned char *block = risk__malloc(e, bytes);
    if (!block)
        return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for %zu accounts", n);
    risk__memory_hint(block, bytes);
    risk_account *structs = (risk_account *)(block + head);
    memset(structs, 0, n * sizeof *structs);
    size_t i;
    for (i = 0; i < n; i++) {
        uint64_t id = account_ids[i];
        if (i + PREFETCH_AHEAD < n)
            risk__engine_prefetch_id(e, account_ids[i + PREFETCH_AHEAD]);
        risk_account *a = &structs[i];
        a->engine = e;
        a->id = id;
        a->margin_mode = margin_modes ? margin_modes[i] : RISK_MARGIN_CROSS;
        a->position_mode = position_modes ? position_modes[i] : RISK_POSITION_ONE_WAY;
        a->engine_owned = 1; /* as a restored account: no engine reference, freed with the engine */
        a->in_block = RISK__IN_BLOCK_STRUCT; /* the struct goes with the block */
        risk__basket_init(&a->basket, e, a);
        if (risk__engine_attach_account(e, a) != RISK_OK) /* room was reserved: only a duplicate fails */
            break;
        if (accounts_out)
            accounts_out[i] = a;
    }
    if (i == n) {
        *(void **)block = e->bulk_blocks;
        e->bulk_blocks = block;
        e->bulk_block_bytes += bytes;
        risk__clear(&e->errmsg);
        return RISK_OK;
    }
    for (size_t k = i; k-- > 0;) /* undo, newest first */
        risk__engine_pop_account(e);
    risk__free(e, block);
    if (accounts_out)
        memset(accounts_out, 0, n * sizeof *accounts_out);
    return risk__fail(e, &e->errmsg, RISK_EDUPLICATE, "row %zu (account %llu): account %llu already exists", i,
                      (unsigned long long)account_ids[i], (unsigned long long)account_ids[i]);
}

/* A set call's working arrays: each row's account (looked up once) and a zeroed count per engine
 * account slot. RISK_ENOMEM with the message set, nothing allocated. */
static int rows_begin(risk_engine *e, size_t n, const char *what, risk_account ***rows, uint32_t **counts)
{
    *rows = n > SIZE_MAX / sizeof **rows ? NULL : risk__malloc(e, n * sizeof **rows);
    *counts = slot_counts(e);
    if (*rows && *counts)
        return RISK_OK;
    risk__free(e, *rows);
    risk__free(e, *counts);
    return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for %zu %s", n, what);
}

static int no_account(risk_engine *e, size_t row, uint64_t id)
{
    return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "row %zu: no account %llu", row,
                      (unsigned long long)id);
}

/* ------------------------------------------------------------ balances */

RISK_API int risk_engine_set_balances(risk_engine *engine, const uint64_t *account_ids, const uint32_t *assets,
                                      const double *amounts, size_t n)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    if (n == 0) {
        risk__clear(&e->errmsg);
        return RISK_OK;
    }
    if (!account_ids || !assets || !amounts)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "account_ids, assets or amounts is NULL");
    risk_account **rows;
    uint32_t *counts;
    if (rows_begin(e, n, "balances", &rows, &counts))
        return RISK_ENOMEM;
    row_accounts r = {e, account_ids, n, NULL, 0};
    int rc = RISK_OK;
    for (size_t i = 0; i < n && !rc; i++) { /* checks, as risk_basket_set_balance makes them */
        if (!(rows[i] = account_of(&r, i))) {
            rc = no_account(e, i, account_ids[i]);
            break;
        }
        counts[rows[i]->engine_slot]++;
        if (assets[i] >= e->n_assets)
            rc = risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown asset %u", assets[i]);
        else if (!isfinite(amounts[i]))
            rc = risk__fail(e, &e->errmsg, RISK_EINVAL, "balance for %s must be finite", e->assets[assets[i]].symbol);
        else
            rc = risk__check_amount(e, &e->errmsg, &e->assets[assets[i]], "balance", amounts[i]);
        if (rc)
            rc = row_fail(e, rc, i, account_ids[i]);
    }
    for (size_t i = 0; i < n && !rc; i++) { /* room for every row's balance, before any is set */
        uint32_t *c = &counts[rows[i]->engine_slot];
        if (!*c)
            continue;
        uint32_t extra = *c < e->n_assets ? *c : e->n_assets;
        *c = 0;
        if (risk__basket_reserve_n(&rows[i]->basket, extra))
            rc = risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for %zu balances", n);
    }
    risk__free(e, counts);
    if (!rc) {
        for (size_t i = 0; i < n; i++)
            risk__basket_set_unchecked(&rows[i]->basket, assets[i], amounts[i]);
        risk__clear(&e->errmsg);
    }
    risk__free(e, rows);
    return rc;
}

/* ------------------------------------------------------------ leverages */

RISK_API int risk_engine_set_leverages(risk_engine *engine, const uint64_t *account_ids, const uint32_t *instruments,
                                       const double *leverages, size_t n)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    if (n == 0) {
        risk__clear(&e->errmsg);
        return RISK_OK;
    }
    if (!account_ids || !instruments || !leverages)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "account_ids, instruments or leverages is NULL");
    risk_account **rows;
    uint32_t *counts;
    if (rows_begin(e, n, "leverages", &rows, &counts))
        return RISK_ENOMEM;
    row_accounts r = {e, account_ids, n, NULL, 0};
    int rc = RISK_OK;
    for (size_t i = 0; i < n && !rc; i++) { /* checks, as risk_account_set_leverage makes them */
        if (!(rows[i] = account_of(&r, i))) {
            rc = no_account(e, i, account_ids[i]);
            break;
        }
        counts[rows[i]->engine_slot]++;
        double lev = leverages[i];
        if (instruments[i] >= e->n_instruments) {
            rc = risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instruments[i]);
        } else {
            const risk__instrument *in = &e->instruments[instruments[i]];
            if (!isfinite(lev) || lev < 1.0)
                rc = risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: leverage must be finite and >= 1", in->symbol);
            else if (lev > in->schedule.max_leverage)
                rc = risk__fail(e, &e->errmsg, RISK_ELEVERAGE, "%s: leverage %s above the schedule's maximum %s",
                                in->symbol, RISK__NUM(lev), RISK__NUM(in->schedule.max_leverage));
        }
        if (rc)
            rc = row_fail(e, rc, i, account_ids[i]);
    }
    for (size_t i = 0; i < n && !rc; i++) { /* room for every row's setting, before any is made */
        risk_account *a = rows[i];
        uint32_t *c = &counts[a->engine_slot];
        if (!*c)
            continue;
        uint32_t extra = *c < e->n_instruments ? *c : e->n_instruments;
        *c = 0;
        if (a->n_levs + extra > a->cap_levs) {
            uint32_t cap = a->n_levs + extra;
            risk__leverage *grown;
            if (a->in_block & RISK__IN_BLOCK_LEVS) { /* a restored list leaves the engine's block (snapshot/) */
                grown = risk__malloc(e, cap * sizeof *grown);
                if (grown)
                    memcpy(grown, a->levs, a->n_levs * sizeof *grown);
            } else {
                grown = risk__realloc(e, a->levs, cap * sizeof *grown);
            }
            if (!grown) {
                rc = risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for %zu leverages", n);
                break;
            }
            a->in_block &= ~RISK__IN_BLOCK_LEVS;
            a->levs = grown;
            a->cap_levs = cap;
        }
    }
    risk__free(e, counts);
    for (size_t i = 0; i < n && !rc; i++) { /* as risk_account_set_leverage */
        risk_account *a = rows[i];
        uint32_t inst = instruments[i];
        risk__leverage *l = NULL;
        for (uint32_t k = 0; k < a->n_levs && !l; k++)
            if (a->levs[k].instrument == inst)
                l = &a->levs[k];
        if (!l) {
            l = &a->levs[a->n_levs++];
            l->instrument = inst;
        }
        l->leverage = leverages[i];
        for (uint32_t k = 0; k < a->n_pos; k++) /* positions cache their instrument's IM rate */
            if (a->inst[k] == inst)
                a->im_rate[k] = 1.0 / leverages[i];
        risk__account_changed(a);
    }
    if (!rc)
        risk__clear(&e->errmsg);
    risk__free(e, rows);
    return rc;
}

/* ------------------------------------------------------------ positions */

RISK_API int risk_engine_open_positions(risk_engine *engine, const risk_position_columns *columns, size_t n)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    if (!columns)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "columns is NULL");
    const risk_position_columns *c = columns;
    if (c->version != RISK_POSITION_COLUMNS_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "position columns version %u is not %d", c->version,
                          RISK_POSITION_COLUMNS_VERSION);
    if (n == 0) {
        risk__clear(&e->errmsg);
        return RISK_OK;
    }
    if (!c->account_ids || !c->instruments || !c->qty || !c->entry)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "account_ids, instruments, qty or entry is NULL");
    /* A large load gets its positions' memory in one chunk, populated up front (as a snapshot
     * restore does): room for each run of rows, rounded to the arena's power-of-two ranges. */
    if (n >= 65536) {
        uint64_t slots = 0;
        for (size_t i = 0, run; i < n; i += run) {
            for (run = 1; i + run < n && c->account_ids[i + run] == c->account_ids[i];)
                run++;
            uint64_t cap = 1;
            while (cap < run)
                cap *= 2;
            if (cap <= RISK__CHUNK_MAX_SLOTS) /* larger ranges get dedicated chunks */
                slots += cap;
        }
        if (slots > UINT32_MAX / 2 || risk__arena_reserve(e, (uint32_t)slots))
            return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for %zu positions", n);
    }
    row_accounts r = {e, c->account_ids, n, NULL, 0};
    risk_position_spec spec = RISK_POSITION_SPEC_INIT;
    int rc = RISK_OK;
    size_t i;
    for (i = 0; i < n; i++) {
        uint64_t id = c->account_ids[i];
        if (!r.a || id != r.id) { /* a new run of rows: room for all of them */
            if (!account_of(&r, i)) {
                rc = no_account(e, i, id);
                break;
            }
            size_t run = 1;
            while (i + run < n && c->account_ids[i + run] == id)
                run++;
            size_t room = RISK__MAX_POSITIONS - (r.a->n_pos < RISK__MAX_POSITIONS ? r.a->n_pos : RISK__MAX_POSITIONS);
            if (run > room)
                run = room; /* the check refuses the rows beyond */
            if (risk__account_reserve_positions(r.a, (uint32_t)run)) {
                rc = risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for %zu positions", n);
                break;
            }
        }
        spec.instrument = c->instruments[i];
        spec.side = c->sides ? c->sides[i] : RISK_SIDE_BOTH;
        spec.margin_mode = c->margin_modes ? c->margin_modes[i] : RISK_MARGIN_DEFAULT;
        spec.qty = c->qty[i];
        spec.entry = c->entry[i];
        spec.isolated_margin = c->isolated_margin ? c->isolated_margin[i] : 0.0;
        if ((rc = risk__position_check(r.a, &e->errmsg, &spec))) {
            rc = row_fail(e, rc, i, id);
            break;
        }
        risk__position_append(r.a, &spec);
    }
    if (rc == RISK_OK) {
        risk__clear(&e->errmsg);
        return RISK_OK;
    }
    r.a = NULL;
    for (size_t k = i; k-- > 0;) /* undo, newest first: each row appended one position */
        account_of(&r, k)->n_pos--;
    return rc;
}
