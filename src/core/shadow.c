/* SPDX-License-Identifier: Apache-2.0 */
/* Shadow accounts: what-if and liquidation planning change a scratch copy of an account and
 * evaluate it with the same code that evaluates the account, so a plan's health after is the
 * health the account will have once the plan is applied. */
#include "core/internal.h"

#include <string.h>

static size_t block_bytes(uint32_t cap, uint32_t basket_cap)
{
    return (size_t)cap * (5 * sizeof(double) + sizeof(risk_position *) + 3 * sizeof(uint32_t)) +
           (size_t)basket_cap * (sizeof(double) + sizeof(uint32_t));
}

int risk__shadow_init(risk__shadow *s, const risk_account *a, uint32_t extra_positions)
{
    const risk_engine *e = a->engine;
    uint32_t cap = a->n_pos + extra_positions;
    uint32_t basket_cap = e->n_assets > a->basket.n ? e->n_assets : a->basket.n;
    size_t bytes = block_bytes(cap, basket_cap);
    memset(s, 0, sizeof *s);
    s->block = risk__malloc(e, bytes ? bytes : 1);
    if (!s->block)
        return RISK_ENOMEM;
    /* doubles first, then pointers, then 32-bit fields: every array stays aligned */
    risk_account *sa = &s->acct;
    *sa = *a;
    sa->errmsg = NULL;
    sa->basket.errmsg = NULL;
    sa->basket.owner = sa;
    double *d = s->block;
    sa->qty = d;
    sa->entry = d + cap;
    sa->im_rate = d + 2 * (size_t)cap;
    sa->iso_margin = d + 3 * (size_t)cap;
    sa->fund_last = d + 4 * (size_t)cap;
    sa->basket.amount = d + 5 * (size_t)cap;
    sa->handles = (risk_position **)(sa->basket.amount + basket_cap);
    uint32_t *u = (uint32_t *)(sa->handles + cap);
    sa->inst = u;
    sa->pflags = u + cap;
    s->origin = u + 2 * (size_t)cap;
    sa->basket.asset = u + 3 * (size_t)cap;
    sa->cap_pos = cap;
    sa->basket.cap = basket_cap;
    risk__shadow_reset(s, a);
    return RISK_OK;
}

void risk__shadow_reset(risk__shadow *s, const risk_account *a)
{
    risk_account *sa = &s->acct;
    uint32_t n = a->n_pos;
    sa->n_pos = n;
    if (n) {
        memcpy(sa->qty, a->qty, n * sizeof *sa->qty);
        memcpy(sa->entry, a->entry, n * sizeof *sa->entry);
        memcpy(sa->im_rate, a->im_rate, n * sizeof *sa->im_rate);
        memcpy(sa->iso_margin, a->iso_margin, n * sizeof *sa->iso_margin);
        if (a->fund_last)
            memcpy(sa->fund_last, a->fund_last, n * sizeof *sa->fund_last);
        else
            memset(sa->fund_last, 0, n * sizeof *sa->fund_last);
        memcpy(sa->inst, a->inst, n * sizeof *sa->inst);
        memcpy(sa->pflags, a->pflags, n * sizeof *sa->pflags);
    }
    for (uint32_t i = 0; i < sa->cap_pos; i++) {
        sa->handles[i] = NULL;
        s->origin[i] = i < n ? i : RISK_ID_NONE;
    }
    sa->basket.n = a->basket.n;
    if (a->basket.n) {
        memcpy(sa->basket.amount, a->basket.amount, a->basket.n * sizeof *sa->basket.amount);
        memcpy(sa->basket.asset, a->basket.asset, a->basket.n * sizeof *sa->basket.asset);
    }
}

void risk__shadow_release(risk__shadow *s)
{
    const risk_engine *e = s->acct.engine;
    risk__free(e, s->acct.errmsg); /* set only if a fill failed, which validation rules out */
    risk__free(e, s->block);
    s->block = NULL;
    s->acct.errmsg = NULL;
}

int risk__shadow_fill(risk__shadow *s, uint32_t slot, double delta, double price)
{
    uint32_t before = s->acct.n_pos;
    int rc = risk__account_fill(&s->acct, slot, delta, price);
    if (rc == RISK_OK && s->acct.n_pos < before)
        memmove(&s->origin[slot], &s->origin[slot + 1], (before - slot - 1) * sizeof *s->origin);
    return rc;
}

uint32_t risk__shadow_append(risk__shadow *s, uint32_t instrument, uint32_t pflags, double qty, double entry,
                             double im_rate)
{
    risk_account *sa = &s->acct;
    uint32_t i = sa->n_pos++;
    sa->qty[i] = qty;
    sa->entry[i] = entry;
    sa->im_rate[i] = im_rate;
    sa->iso_margin[i] = 0.0;
    sa->fund_last[i] = risk__funding_index(&sa->engine->instruments[instrument], qty);
    sa->inst[i] = instrument;
    sa->pflags[i] = pflags;
    sa->handles[i] = NULL;
    s->origin[i] = RISK_ID_NONE;
    return i;
}
