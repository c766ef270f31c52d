/* SPDX-License-Identifier: Apache-2.0 */
/* Engine snapshots: writer, reader, files (format: docs/snapshot.md).
 *
 * A snapshot is a 64-byte header, a table of sections (id, CRC-32C, offset, length), then the
 * sections ENGINE, ASSETS, INSTRUMENTS, LIQUIDATION and ACCOUNTS, back to back. Every number is
 * little-endian; doubles are their IEEE-754 bits, so a restored engine computes bit for bit
 * what the original did.
 *
 * The writer runs its emitters twice: once counting (sizes, so that a buffer call can answer
 * RISK_EBUFFER and the header can be laid out), once writing, into the caller's buffer or
 * through a staging buffer into a temporary file. Each section's CRC is taken over the bytes
 * as they leave the staging buffer.
 *
 * The reader checks the magic, the header's CRC, the format version, the section table and
 * every section's CRC, then builds a new engine, validating each value against the range its
 * setter accepts (a snapshot with valid checksums may still have been crafted), and hands the
 * engine out only when all of it is in. A failure frees whatever was built. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* MAP_POPULATE, MADV_HUGEPAGE, MADV_POPULATE_READ */
#endif
#include "snapshot/snapshot.h"
#include "liquidation/liquidation.h"
#include "margin/scaling.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER_FIXED 64u
#define SECTION_ENTRY 24u
#define N_SECTIONS 5u
#define HEADER_BYTES (HEADER_FIXED + N_SECTIONS * SECTION_ENTRY)
#define SYMBOL_BYTES 32u
#define ACCOUNT_FIXED 32u
/* A file is written in whole multiples of WRITE_ALIGN at offsets that are multiples of it, from a
 * staging buffer of twice that (sink_drain): the page cache then holds the file in 2 MiB folios
 * where the file system has large folios (ext4, xfs, tmpfs on Linux 6.x), and a reader's
 * mapping takes one entry per 2 MiB instead of 512 (docs/snapshot.md, "The file's pages"). */
#define WRITE_ALIGN ((size_t)2 << 20)
#define STAGING_BYTES (2 * WRITE_ALIGN)
#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD 16u
#endif

enum { SEC_ENGINE = 1, SEC_ASSETS, SEC_INSTRUMENTS, SEC_LIQUIDATION, SEC_ACCOUNTS };
static const char *const SECTION_NAMES[] = {"", "ENGINE", "ASSETS", "INSTRUMENTS", "LIQUIDATION", "ACCOUNTS"};

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_LE 1 /* arrays move with memcpy */
#else
#define HOST_LE 0
#endif

/* ================================================================ little-endian scalars */

static void st32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void st64(unsigned char *p, uint64_t v)
{
    st32(p, (uint32_t)v);
    st32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t ld32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t ld64(const unsigned char *p)
{
    return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static uint64_t f64_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static double bits_f64(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* ================================================================ writer */

typedef struct sink {
    unsigned char *buf; /* NULL: counting only */
    size_t cap, pos;    /* staging (file) or whole (buffer) capacity, bytes used */
    size_t crc_from;    /* bytes of buf before it are in crc */
    uint64_t total;     /* bytes emitted so far */
    uint32_t crc;       /* of the current section */
    int fd;             /* >= 0: flush buf to this file */
    int err;            /* errno of a failed write */
} sink;

static void sink_crc_catch_up(sink *s)
{
    if (s->buf && s->pos > s->crc_from)
        s->crc = risk__crc32c(s->crc, s->buf + s->crc_from, s->pos - s->crc_from);
    s->crc_from = s->pos;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno ? errno : EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void sink_flush(sink *s)
{
    sink_crc_catch_up(s);
    if (s->fd >= 0 && !s->err && s->pos)
        s->err = write_all(s->fd, s->buf, s->pos);
    s->pos = s->crc_from = 0;
}

/* File mode: writes the staged bytes' whole WRITE_ALIGN pieces (the file's bytes so far are a
 * multiple of it) and moves the rest, fewer than WRITE_ALIGN, to the buffer's front. */
static void sink_drain(sink *s)
{
    sink_crc_catch_up(s);
    size_t whole = s->pos / WRITE_ALIGN * WRITE_ALIGN;
    if (!s->err && whole)
        s->err = write_all(s->fd, s->buf, whole);
    memmove(s->buf, s->buf + whole, s->pos - whole);
    s->pos -= whole;
    s->crc_from = s->pos;
}

/* Room for n bytes at buf + pos (n <= WRITE_ALIGN in file mode: a drain leaves more than that);
 * NULL while counting. */
static unsigned char *sink_room(sink *s, size_t n)
{
    s->total += n;
    if (!s->buf)
        return NULL;
    if (s->fd >= 0 && s->cap - s->pos < n)
        sink_drain(s);
    unsigned char *p = s->buf + s->pos;
    s->pos += n;
    return p;
}

static void put32(sink *s, uint32_t v)
{
    unsigned char *p = sink_room(s, 4);
    if (p)
        st32(p, v);
}

static void put64(sink *s, uint64_t v)
{
    unsigned char *p = sink_room(s, 8);
    if (p)
        st64(p, v);
}

static void putf(sink *s, double x)
{
    put64(s, f64_bits(x));
}

static void put_bytes(sink *s, const void *data, size_t n)
{
    const unsigned char *d = data;
    while (n) {
        size_t k = s->fd >= 0 && n > WRITE_ALIGN ? WRITE_ALIGN : n;
        unsigned char *p = sink_room(s, k);
        if (p)
            memcpy(p, d, k);
        d += k;
        n -= k;
    }
}

static void put32s(sink *s, const uint32_t *a, uint32_t n)
{
#if HOST_LE
    put_bytes(s, a, (size_t)n * 4);
#else
    for (uint32_t i = 0; i < n; i++)
        put32(s, a[i]);
#endif
}

static void putfs(sink *s, const double *a, uint32_t n)
{
#if HOST_LE
    put_bytes(s, a, (size_t)n * 8);
#else
    for (uint32_t i = 0; i < n; i++)
        putf(s, a[i]);
#endif
}

static void put_symbol(sink *s, const char *symbol)
{
    unsigned char b[SYMBOL_BYTES];
    memset(b, 0, sizeof b);
    memcpy(b, symbol, strlen(symbol)); /* at most 31 bytes: the NUL stays */
    put_bytes(s, b, sizeof b);
}

static void put_policy(sink *s, const risk_liquidation_policy *p)
{
    put32(s, p->exit_target);
    put32(s, p->price_model);
    putf(s, p->buffer);
    putf(s, p->fee);
    putf(s, p->insurance_fee);
    putf(s, p->penalty);
    putf(s, p->close_factor);
    putf(s, p->full_close_health);
    putf(s, p->bonus);
    putf(s, p->protocol_share);
    putf(s, p->min_notional);
    put32(s, p->deficit);
    put32(s, p->has_backstop);
    put64(s, p->backstop_account);
}

static void put_tier(sink *s, const risk_margin_tier *t)
{
    putf(s, t->notional_cap);
    putf(s, t->mmr);
    putf(s, t->max_leverage);
    putf(s, t->cum);
    put32(s, t->cum_given);
    put32(s, 0);
}

/* Format 3: the engine's portfolio-margin model (risk_engine_set_portfolio_margin), 296 bytes: a
 * set flag (0: the defaults are in force and the fields are the defaults), then every field of
 * risk_portfolio_margin_params in order. */
static void emit_portfolio_margin(sink *s, const risk_engine *e)
{
    risk_portfolio_margin_params p = RISK_PORTFOLIO_MARGIN_PARAMS_INIT;
    if (e->pm)
        p = *e->pm;
    put32(s, e->pm != NULL);
    put32(s, 0);
    put32(s, p.version);
    put32(s, p.model);
    putf(s, p.price_range);
    put32(s, p.price_steps);
    put32(s, p.vol_same);
    put32(s, p.vol_mode);
    put32(s, p.extended_vol_up);
    putf(s, p.vol_up);
    putf(s, p.vol_down);
    putf(s, p.vol_term_days);
    putf(s, p.vol_term_power_short);
    putf(s, p.vol_term_power_long);
    for (uint32_t k = 0; k < RISK_PM_EXTENDED_MAX; k++)
        putf(s, p.extended_moves[k]);
    put32(s, p.n_extended);
    put32(s, p.reserved);
    putf(s, p.extended_weight);
    putf(s, p.delta_shock);
    putf(s, p.roll_shock);
    putf(s, p.min_delta_net);
    putf(s, p.min_delta_hedged);
    putf(s, p.short_option_rate);
    putf(s, p.option_gross_rate);
    putf(s, p.basis_rate);
    putf(s, p.min_charge_rate);
    putf(s, p.im_multiplier);
}

static void emit_engine(sink *s, const risk_engine *e)
{
    put32(s, e->flags);
    put32(s, e->valuation);
    putf(s, e->margin_call_health);
    put32(s, e->n_assets);
    put32(s, e->n_instruments);
    put64(s, (uint64_t)e->now_unix_s); /* format 3: the engine's time (risk_engine_set_time), 0 when unset */
    emit_portfolio_margin(s, e);
}

static void emit_vol(sink *s, const risk__asset_vol *v)
{
    put32(s, v->has_live);
    put32(s, v->has_time);
    put32(s, v->first_scaled);
    putf(s, v->ewma.lambda);
    putf(s, v->ewma.variance);
    putf(s, v->ewma.last_price);
    put64(s, v->ewma.count);
    putf(s, v->periods_per_year);
    putf(s, v->stressed_set);
    putf(s, v->floor_set);
    putf(s, v->max_live);
    putf(s, v->sum_r2);
    put64(s, v->n_returns);
    putf(s, v->release);
    put64(s, (uint64_t)v->last_time);
}

/* The fields of risk_rate_model after kind, accrual and reserved, in the header's order: the
 * rates block of an asset record carries them in this order (docs/snapshot.md). */
#define RATE_MODEL_PARAMS(X)                                                                                        \
    X(reserve_factor) X(aave_optimal_usage) X(aave_base_variable) X(aave_slope1) X(aave_slope2)                     \
    X(aave_stable_slope1) X(aave_stable_slope2) X(aave_base_stable_offset) X(aave_excess_stable_offset)            \
    X(aave_optimal_stable_ratio) X(comet_supply_kink) X(comet_supply_base) X(comet_supply_slope_low)               \
    X(comet_supply_slope_high) X(comet_borrow_kink) X(comet_borrow_base) X(comet_borrow_slope_low)                 \
    X(comet_borrow_slope_high) X(drift_optimal_utilisation) X(drift_optimal_rate) X(drift_max_rate)                \
    X(drift_min_rate) X(flat_borrow_hourly) X(flat_supply_hourly)
#define RATE_MODEL_N_PARAMS 24u
#define RATES_BLOCK (2 * 8 + 4 * 4 + RATE_MODEL_N_PARAMS * 8 + 5 * 8 + 8)

/* Format 2: an asset's rate model, pool and indices (1 and the block), or 0 when it has no model. */
static void emit_rates(sink *s, const risk__asset *a)
{
    risk__rates_state st;
    if (!risk__rates_state_get(a, &st)) {
        put32(s, 0);
        return;
    }
    put32(s, 1);
    putf(s, a->index_pos);
    putf(s, a->index_neg);
    put32(s, st.model.kind);
    put32(s, st.model.accrual);
    put32(s, st.model.reserved);
    put32(s, st.started);
#define PUT_PARAM(f) putf(s, st.model.f);
    RATE_MODEL_PARAMS(PUT_PARAM)
#undef PUT_PARAM
    putf(s, st.scaled_supply);
    putf(s, st.scaled_borrow);
    putf(s, st.stable_borrow);
    putf(s, st.stable_rate);
    putf(s, st.reserves);
    put64(s, (uint64_t)st.updated);
}

/* Format 2: an asset's size scaling (margin/size.c): 1 and the five numbers of
 * risk_size_scaling when any has other bits than +0 (venue totals included), else 0. */
#define SIZE_BLOCK (5 * 8)
static void emit_size(sink *s, const risk__asset *a)
{
    int any = (f64_bits(a->imf) | f64_bits(a->deposit_scale_start) | f64_bits(a->borrow_scale_start) |
               f64_bits(a->venue_deposits) | f64_bits(a->venue_borrows)) != 0;
    put32(s, (uint32_t)any);
    if (!any)
        return;
    putf(s, a->imf);
    putf(s, a->deposit_scale_start);
    putf(s, a->borrow_scale_start);
    putf(s, a->venue_deposits);
    putf(s, a->venue_borrows);
}

static void emit_assets(sink *s, const risk_engine *e)
{
    for (uint32_t i = 0; i < e->n_assets; i++) {
        const risk__asset *a = &e->assets[i];
        put_symbol(s, a->symbol);
        put32(s, a->decimals);
        put32(s, a->n_tiers);
        putf(s, a->price);
        putf(s, a->weight_init);
        putf(s, a->weight_maint);
        putf(s, a->liab_weight_init);
        putf(s, a->liab_weight_maint);
        for (uint32_t t = 0; t < a->n_tiers; t++) {
            putf(s, a->tiers[t].up_to_qty);
            putf(s, a->tiers[t].ratio);
        }
        const risk__asset_vol *v = a->vol;
        put32(s, v != NULL);
        if (v)
            emit_vol(s, v);
        emit_rates(s, a);
        emit_size(s, a);
    }
}

/* Format 3: an instrument's funding state (rates/funding.c, docs/rates.md 8.2-8.4): the two
 * cumulative funding indices and the time of the last accrual, then Drift's unrealised-PnL
 * weights (rates/upnl_weight.c, 8.3) as the getter reports them (1, 1, 0 when off) and the flag. */
#define FUNDING_BLOCK (6 * 8 + 2 * 4)
static void emit_funding(sink *s, const risk__instrument *in)
{
    putf(s, in->fund_index_long);
    putf(s, in->fund_index_short);
    put64(s, (uint64_t)in->fund_time_unix_s);
    putf(s, in->upnl_weighted ? in->upnl_w_init : 1.0);
    putf(s, in->upnl_weighted ? in->upnl_w_maint : 1.0);
    putf(s, in->upnl_weighted ? in->upnl_imf : 0.0);
    put32(s, in->upnl_weighted);
    put32(s, 0);
}

static void emit_instruments(sink *s, const risk_engine *e)
{
    for (uint32_t i = 0; i < e->n_instruments; i++) {
        const risk__instrument *in = &e->instruments[i];
        const risk__scaling *sc = in->scaling;
        int option = in->kind == RISK_KIND_OPTION;
        put_symbol(s, in->symbol);
        put32(s, in->kind);
        put32(s, in->inverse);
        put32(s, in->mm_price);
        put32(s, in->underlying);
        put32(s, in->settle);
        put32(s, in->kind == RISK_KIND_OPTION ? 0 : in->schedule.n_tiers);
        put64(s, (uint64_t)in->expiry_unix_s);
        putf(s, in->contract_size);
        putf(s, in->lot_size);
        putf(s, in->tick_size);
        putf(s, in->mark);
        /* an option carries no margin tiers (its one-tier schedule is a constant of the engine) */
        uint32_t n_tiers = option ? 0 : in->schedule.n_tiers;
        const risk_margin_tier *base = sc ? sc->base : in->schedule.tiers;
        for (uint32_t t = 0; t < n_tiers; t++)
            put_tier(s, &base[t]);
        /* format 3: the underlying's tick (every kind keeps one), then an option's own fields */
        putf(s, in->underlying_tick);
        if (option) {
            putf(s, in->strike);
            put32(s, in->opt_w > 0.0 ? (uint32_t)RISK_OPTION_CALL : (uint32_t)RISK_OPTION_PUT);
            put32(s, in->settled);
            putf(s, in->mark_vol);
            putf(s, in->carry_rate);
        }
        /* trading terms (docs/orders.md): fees, the fee-inclusive liquidation price, the size limit */
        put32(s, in->liq_with_fee);
        put32(s, 0);
        putf(s, in->maker_fee);
        putf(s, in->taker_fee);
        putf(s, in->max_notional);
        /* format 2: the size premium on its margin rates (risk_size_premium, margin/size.c) */
        putf(s, in->imf);
        putf(s, in->imf_base_share);
        emit_funding(s, in);
        put32(s, sc != NULL);
        if (!sc)
            continue;
        const risk_margin_scaling *p = &sc->params;
        put32(s, p->mode);
        put32(s, p->vol_floor);
        putf(s, p->reference_vol_annual);
        putf(s, p->min_factor);
        putf(s, p->max_factor);
        putf(s, p->z);
        putf(s, p->horizon_days);
        putf(s, p->days_per_year);
        putf(s, p->buffer);
        putf(s, p->stress_weight);
        putf(s, p->max_daily_change);
        putf(s, sc->factor);
        put64(s, (uint64_t)sc->time);
        put32(s, sc->has_time);
        put32(s, sc->next);
    }
}

static void emit_liquidation(sink *s, const risk_engine *e)
{
    const struct risk__liquidation *l = e->liq;
    put_policy(s, risk__engine_policy(e));
    uint32_t n_over = 0;
    for (uint32_t i = 0; l && i < l->n_overrides; i++)
        n_over += l->has_override[i] != 0;
    put32(s, n_over);
    for (uint32_t i = 0; l && i < l->n_overrides; i++)
        if (l->has_override[i]) {
            put32(s, i);
            put_policy(s, &l->overrides[i]);
        }
    put32(s, e->n_assets); /* one fund per asset, zeros where none was touched */
    for (uint32_t i = 0; i < e->n_assets; i++) {
        const risk__fund *f = risk__fund_of(e, i);
        risk__fund zero = {0, 0, 0, 0};
        if (!f)
            f = &zero;
        putf(s, f->balance);
        putf(s, f->deposits);
        putf(s, f->contributions);
        putf(s, f->draws);
    }
    /* format 3: zeros to a multiple of 8 bytes from the start of the snapshot, so that ACCOUNTS
     * and every array of doubles in it are 8-byte aligned (a mapped file is used in place) */
    static const unsigned char zeros[8];
    put_bytes(s, zeros, (size_t)((8 - s->total % 8) % 8));
}

static void emit_accounts(sink *s, const risk_engine *e)
{
    put64(s, e->n_accounts);
    uint32_t levs_inst[64];
    double levs_value[64];
    for (size_t k = 0; k < e->n_account_slots; k++) {
        const risk_account *a = e->accounts[k];
        if (!a)
            continue;
        put64(s, a->id);
        put32(s, a->margin_mode);
        put32(s, a->position_mode);
        put32(s, a->basket.n);
        put32(s, a->n_levs);
        put32(s, a->n_pos);
        put32(s, 0);
        put32s(s, a->basket.asset, a->basket.n);
        /* the stored scaled amounts (rates/): with the assets' indices (ASSETS) they give each
         * balance bit for bit, and accrual after a restore moves them as it would have */
        putfs(s, a->basket.amount, a->basket.n);
        for (uint32_t i = 0; i < a->n_levs; i += 64) { /* the list is an array of pairs: split it */
            uint32_t m = a->n_levs - i < 64 ? a->n_levs - i : 64;
            for (uint32_t j = 0; j < m; j++)
                levs_inst[j] = a->levs[i + j].instrument;
            put32s(s, levs_inst, m);
        }
        for (uint32_t i = 0; i < a->n_levs; i += 64) {
            uint32_t m = a->n_levs - i < 64 ? a->n_levs - i : 64;
            for (uint32_t j = 0; j < m; j++)
                levs_value[j] = a->levs[i + j].leverage;
            putfs(s, levs_value, m);
        }
        if ((a->basket.n + a->n_levs) & 1) /* format 3: the positions' arrays 8-byte aligned */
            put32(s, 0);
        put32s(s, a->inst, a->n_pos);
        for (uint32_t i = 0; i < a->n_pos; i++) /* the file's flags: leg and isolated */
            put32(s, a->pflags[i] & (RISK__PF_LEG_MASK | RISK__PF_ISOLATED));
        putfs(s, a->qty, a->n_pos);
        putfs(s, a->entry, a->n_pos);
        putfs(s, a->iso_margin, a->n_pos);
        /* format 3: the funding index each position last settled at (all 0 when the account
         * holds no column yet: restored from format 1 or 2 and never bound) */
        if (a->fund_last) {
            putfs(s, a->fund_last, a->n_pos);
        } else {
            static const double zeros[64];
            for (uint32_t i = 0; i < a->n_pos; i += 64)
                putfs(s, zeros, a->n_pos - i < 64 ? a->n_pos - i : 64);
        }
    }
}

typedef struct section_info {
    uint32_t id, crc;
    uint64_t offset, length;
} section_info;

/* Emits every section after a header-sized gap, recording the table. */
static void emit_all(sink *s, const risk_engine *e, section_info *table)
{
    static void (*const emitters[N_SECTIONS])(sink *, const risk_engine *) = {
        emit_engine, emit_assets, emit_instruments, emit_liquidation, emit_accounts};
    unsigned char zero[HEADER_BYTES];
    memset(zero, 0, sizeof zero);
    put_bytes(s, zero, sizeof zero);
    for (uint32_t k = 0; k < N_SECTIONS; k++) {
        sink_crc_catch_up(s);
        s->crc = 0;
        table[k].id = k + 1;
        table[k].offset = s->total;
        emitters[k](s, e);
        sink_crc_catch_up(s);
        table[k].crc = s->crc;
        table[k].length = s->total - table[k].offset;
    }
}

static void header_fill(unsigned char *h, const section_info *table, uint64_t total)
{
    memset(h, 0, HEADER_BYTES);
    memcpy(h, RISK_SNAPSHOT_MAGIC, RISK_SNAPSHOT_MAGIC_LEN);
    st32(h + 8, RISK_SNAPSHOT_FORMAT_VERSION);
    st32(h + 12, HEADER_BYTES);
    st32(h + 16, risk_version_number());
    st32(h + 20, N_SECTIONS);
    st64(h + 24, total);
    for (uint32_t k = 0; k < N_SECTIONS; k++) {
        unsigned char *t = h + HEADER_FIXED + k * SECTION_ENTRY;
        st32(t, table[k].id);
        st32(t + 4, table[k].crc);
        st64(t + 8, table[k].offset);
        st64(t + 16, table[k].length);
    }
    uint32_t crc = risk__crc32c(0, h, 60);
    crc = risk__crc32c(crc, h + HEADER_FIXED, HEADER_BYTES - HEADER_FIXED);
    st32(h + 60, crc);
}

static uint64_t snapshot_size(const risk_engine *e)
{
    sink count;
    memset(&count, 0, sizeof count);
    count.fd = -1;
    section_info table[N_SECTIONS];
    emit_all(&count, e, table);
    return count.total;
}

RISK_API int risk_engine_snapshot_write(const risk_engine *engine, void *out, size_t capacity, size_t *size_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message buffer is not engine state */
    if (!size_out || (!out && capacity))
        return risk__fail(e, &e->errmsg, RISK_ENULL, "size_out is NULL, or out is NULL with capacity > 0");
    uint64_t size = snapshot_size(e);
    if (size > SIZE_MAX)
        return risk__fail(e, &e->errmsg, RISK_ENOMEM, "a snapshot of %llu bytes does not fit in memory",
                          (unsigned long long)size);
    *size_out = (size_t)size;
    if (capacity < size)
        return risk__fail(e, &e->errmsg, RISK_EBUFFER, "the snapshot needs %llu bytes, capacity %zu",
                          (unsigned long long)size, capacity);
    sink s;
    memset(&s, 0, sizeof s);
    s.buf = out;
    s.cap = capacity;
    s.fd = -1;
    section_info table[N_SECTIONS];
    emit_all(&s, e, table);
    header_fill(out, table, size);
    risk__clear(&e->errmsg);
    return RISK_OK;
}

/* ---------------------------------------------------------------- files */

static int io_fail(risk_engine *e, int err, const char *what, const char *path)
{
    return risk__fail(e, &e->errmsg, RISK_EIO, "%s %.120s: %s", what, path, strerror(err));
}

/* Opens the directory holding path, for its fsync. */
static int open_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (slash == path)
        return open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    size_t n = (size_t)(slash - path);
    char dir[4096];
    if (n >= sizeof dir) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

RISK_API int risk_engine_snapshot_write_file(const risk_engine *engine, const char *path)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine;
    if (!path)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "path is NULL");
    size_t plen = strlen(path);
    if (plen == 0)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "path is empty");
    if (plen > 4000)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "path longer than 4000 bytes");
    uint64_t size = snapshot_size(e);
    unsigned char *staging = risk__malloc(e, STAGING_BYTES);
    if (!staging)
        return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for the write buffer");

    /* a fresh temporary name beside the target: PATH.tmp.PID.N */
    char tmp[4096 + 64];
    int fd = -1;
    for (unsigned n = 0; n < 1000 && fd < 0; n++) {
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), n);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int err = errno;
        risk__free(e, staging);
        return io_fail(e, err, "cannot create a temporary file beside", path);
    }
    sink s;
    memset(&s, 0, sizeof s);
    s.buf = staging;
    s.cap = STAGING_BYTES;
    s.fd = fd;
    section_info table[N_SECTIONS];
    emit_all(&s, e, table);
    sink_flush(&s);
    int err = s.err;
    const char *what = "cannot write";
    if (!err && s.total != size) {
        risk__free(e, staging);
        close(fd);
        unlink(tmp);
        return risk__fail(e, &e->errmsg, RISK_EINTERNAL, "snapshot size changed while writing");
    }
    if (!err) {
        header_fill(staging, table, size);
        ssize_t w;
        do
            w = pwrite(fd, staging, HEADER_BYTES, 0);
        while (w < 0 && errno == EINTR);
        if (w != (ssize_t)HEADER_BYTES)
            err = w < 0 ? errno : EIO;
    }
    risk__free(e, staging);
    if (!err && fsync(fd) != 0) {
        err = errno;
        what = "cannot fsync";
    }
    if (close(fd) != 0 && !err) {
        err = errno;
        what = "cannot close";
    }
    if (!err && rename(tmp, path) != 0) {
        err = errno;
        what = "cannot rename the temporary file over";
    }
    if (err) {
        unlink(tmp);
        return io_fail(e, err, what, what[7] == 'r' ? path : tmp); /* "cannot rename ..." names the target */
    }
    int dfd = open_parent_dir(path);
    if (dfd < 0)
        return io_fail(e, errno, "cannot open the directory of", path);
    int rc = fsync(dfd);
    err = errno;
    close(dfd);
    if (rc != 0 && err != EINVAL) /* some file systems cannot sync a directory: nothing more to do there */
        return io_fail(e, err, "cannot fsync the directory of", path);
    risk__clear(&e->errmsg);
    return RISK_OK;
}

/* ================================================================ reader */

typedef struct reader {
    risk_engine *e;                  /* being built; NULL before */
    const risk_snapshot_options *o;
    const unsigned char *p, *end;    /* the current section */
    const unsigned char *base;       /* the snapshot's first byte (alignment of format 3) */
    const char *section;
    uint32_t *stamp;                 /* per asset, per instrument x leg: duplicate checks */
    /* RISK_SNAPSHOT_PARALLEL: a helper thread sums the ACCOUNTS section and fills the id map while
     * this one builds the accounts (read_accounts); verify() leaves that section's checksum to it */
    int parallel;
    int accounts_crc_pending;        /* 1 while the ACCOUNTS checksum has not been compared */
    uint32_t accounts_crc;           /* the table's */
    const unsigned char *accounts_at;
    size_t accounts_len;
    uint64_t appended;               /* parallel: records appended to the registry so far */
    size_t n_stamp;
    uint32_t version;                /* format version of the snapshot being read */
    size_t levs_used;                /* entries of the engine's levs_block handed out */
    int in_place;                    /* the data is a private writable mapping the engine keeps */
    size_t slots_used;               /* in place: positions handed out of the side blocks */
} reader;

/* ================================================================ a snapshot used in place */

/* A format-3 file mapped privately (copy-on-write), whose per-account position arrays (instrument
 * ids, flags, quantities, entries, isolated margins: the engine's own layout, 8-byte aligned)
 * restored accounts use where they lie, with the two arrays the file has not (IM rates, handle
 * slots) in side blocks of zero pages. An account that grows past its positions moves to the
 * arena as any account does (core/account.c, positions_reserve); one that changes a position
 * writes its own copy of that page. */
typedef struct risk__snap_storage {
    void *map;           /* set once the read succeeded; munmap'd with the engine */
    size_t map_bytes;
    double *im_rate;     /* one per position of the file, zero unless a leverage is set */
    risk_position **handles;
    size_t slots;
} risk__snap_storage;

void risk__snap_storage_free(risk_engine *e)
{
    risk__snap_storage *st = e->snap_storage;
    if (!st)
        return;
    if (st->map)
        munmap(st->map, st->map_bytes);
    risk__free(e, st->im_rate);
    risk__free(e, st->handles);
    risk__free(e, st);
    e->snap_storage = NULL;
}

size_t risk__snap_storage_bytes(const risk_engine *e)
{
    const risk__snap_storage *st = e->snap_storage;
    return st ? sizeof *st + st->map_bytes + st->slots * (sizeof *st->im_rate + sizeof *st->handles) : 0;
}

static int bad(reader *r, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int bad(reader *r, int code, const char *fmt, ...)
{
    const risk_snapshot_options *o = r->o;
    if (o->errmsg_out && o->errmsg_capacity) {
        int n = 0;
        if (r->section)
            n = snprintf(o->errmsg_out, o->errmsg_capacity, "snapshot section %s: ", r->section);
        if (n >= 0 && (size_t)n < o->errmsg_capacity) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(o->errmsg_out + n, o->errmsg_capacity - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return code;
}

/* A section's bytes do not match its checksum (the message has no section prefix: it is about
 * the file, not a record). */
static int checksum_mismatch(reader *r, uint32_t section_id)
{
    r->section = NULL;
    return bad(r, RISK_ECORRUPT, "section %s: checksum mismatch", SECTION_NAMES[section_id]);
}

/* A setter of the engine being built refused a value: the snapshot is corrupt (or memory ran out). */
static int refused(reader *r, int rc, const char *what, uint32_t index)
{
    if (rc == RISK_ENOMEM)
        return bad(r, RISK_ENOMEM, "out of memory");
    return bad(r, RISK_ECORRUPT, "%s %u: %s", what, index, risk_engine_errmsg(r->e));
}

static int need(reader *r, uint64_t n)
{
    if ((uint64_t)(r->end - r->p) < n)
        return bad(r, RISK_ECORRUPT, "truncated (%llu bytes needed, %llu left)", (unsigned long long)n,
                   (unsigned long long)(r->end - r->p));
    return RISK_OK;
}

/* Unchecked reads: the caller has called need(). */
static uint32_t g32(reader *r)
{
    uint32_t v = ld32(r->p);
    r->p += 4;
    return v;
}

static uint64_t g64(reader *r)
{
    uint64_t v = ld64(r->p);
    r->p += 8;
    return v;
}

static double gf(reader *r)
{
    return bits_f64(g64(r));
}

static void g32s(reader *r, uint32_t *out, uint32_t n)
{
#if HOST_LE
    memcpy(out, r->p, (size_t)n * 4);
    r->p += (size_t)n * 4;
#else
    for (uint32_t i = 0; i < n; i++)
        out[i] = g32(r);
#endif
}

static void gfs(reader *r, double *out, uint32_t n)
{
#if HOST_LE
    memcpy(out, r->p, (size_t)n * 8);
    r->p += (size_t)n * 8;
#else
    for (uint32_t i = 0; i < n; i++)
        out[i] = gf(r);
#endif
}

/* A symbol field: 1..31 bytes, NUL, zero padding. */
static int g_symbol(reader *r, char *out, const char *what, uint32_t index)
{
    const unsigned char *b = r->p;
    r->p += SYMBOL_BYTES;
    size_t len = 0;
    while (len < SYMBOL_BYTES && b[len])
        len++;
    if (len == 0 || len >= SYMBOL_BYTES)
        return bad(r, RISK_ECORRUPT, "%s %u: symbol not 1..31 bytes", what, index);
    for (size_t i = len; i < SYMBOL_BYTES; i++)
        if (b[i])
            return bad(r, RISK_ECORRUPT, "%s %u: symbol padding not zero", what, index);
    memcpy(out, b, len + 1);
    return RISK_OK;
}

static int finite_nonneg(double x)
{
    return isfinite(x) && x >= 0.0;
}

static int section_end(reader *r)
{
    if (r->p != r->end)
        return bad(r, RISK_ECORRUPT, "%llu bytes past its last record", (unsigned long long)(r->end - r->p));
    return RISK_OK;
}

#define PM_BLOCK_BYTES 296u

/* Reads emit_portfolio_margin's block (the caller checked its length) into *p; returns the set flag
 * (any value: the caller refuses what is not 0 or 1). */
static uint32_t read_portfolio_margin(reader *r, risk_portfolio_margin_params *p)
{
    uint32_t set = g32(r);
    p->reserved = g32(r); /* the pad: read into a field the setter requires to be 0 */
    uint32_t pad = p->reserved;
    p->version = g32(r);
    p->model = g32(r);
    p->price_range = gf(r);
    p->price_steps = g32(r);
    p->vol_same = g32(r);
    p->vol_mode = g32(r);
    p->extended_vol_up = g32(r);
    p->vol_up = gf(r);
    p->vol_down = gf(r);
    p->vol_term_days = gf(r);
    p->vol_term_power_short = gf(r);
    p->vol_term_power_long = gf(r);
    for (uint32_t k = 0; k < RISK_PM_EXTENDED_MAX; k++)
        p->extended_moves[k] = gf(r);
    p->n_extended = g32(r);
    p->reserved = g32(r) | pad;
    p->extended_weight = gf(r);
    p->delta_shock = gf(r);
    p->roll_shock = gf(r);
    p->min_delta_net = gf(r);
    p->min_delta_hedged = gf(r);
    p->short_option_rate = gf(r);
    p->option_gross_rate = gf(r);
    p->basis_rate = gf(r);
    p->min_charge_rate = gf(r);
    p->im_multiplier = gf(r);
    return set;
}

static int read_engine(reader *r, uint32_t *valuation, uint32_t *n_assets, uint32_t *n_instruments)
{
    int rc = need(r, r->version >= 3 ? 32 + PM_BLOCK_BYTES : 24);
    if (rc)
        return rc;
    risk_engine_options eo = RISK_ENGINE_OPTIONS_INIT;
    eo.allocator = r->o->allocator;
    eo.flags = g32(r);
    *valuation = g32(r);
    eo.margin_call_health = gf(r);
    *n_assets = g32(r);
    *n_instruments = g32(r);
    int64_t now = r->version >= 3 ? (int64_t)g64(r) : 0; /* format 3: the engine's time, 0 when unset */
    risk_portfolio_margin_params pm = RISK_PORTFOLIO_MARGIN_PARAMS_INIT;
    uint32_t pm_set = 0;
    if (r->version >= 3)
        pm_set = read_portfolio_margin(r, &pm);
    if ((rc = section_end(r)))
        return rc;
    rc = risk_engine_new(&r->e, &eo);
    if (rc == RISK_ENOMEM)
        return bad(r, rc, "out of memory");
    if (rc)
        return bad(r, RISK_ECORRUPT, "flags 0x%x or margin-call health %s out of range", eo.flags,
                   RISK__NUM(eo.margin_call_health));
    /* the time first: options registered later must expire after it (read_option) */
    if (now != 0 && risk_engine_set_time(r->e, now) != RISK_OK)
        return bad(r, RISK_ECORRUPT, "engine time %lld out of range", (long long)now);
    if (pm_set > 1)
        return bad(r, RISK_ECORRUPT, "portfolio-margin flag %u is neither 0 nor 1", pm_set);
    if (pm_set) { /* the setter checks every field */
        rc = risk_engine_set_portfolio_margin(r->e, &pm);
        if (rc == RISK_ENOMEM)
            return bad(r, rc, "out of memory");
        if (rc)
            return bad(r, RISK_ECORRUPT, "portfolio-margin parameters out of range: %s", risk_engine_errmsg(r->e));
    } else {
        risk_portfolio_margin_params d = RISK_PORTFOLIO_MARGIN_PARAMS_INIT;
        if (memcmp(&pm, &d, sizeof pm) != 0) /* unset: the defaults, bit for bit */
            return bad(r, RISK_ECORRUPT, "portfolio-margin parameters given with the flag unset");
    }
    return RISK_OK;
}

static int read_vol(reader *r, uint32_t asset)
{
    int rc = need(r, 4);
    if (rc)
        return rc;
    if (!g32(r))
        return RISK_OK;
    if ((rc = need(r, 12 + 12 * 8)))
        return rc;
    risk__asset_vol *v = risk__malloc(r->e, sizeof *v);
    if (!v)
        return bad(r, RISK_ENOMEM, "out of memory");
    memset(v, 0, sizeof *v);
    r->e->assets[asset].vol = v; /* freed with the engine from now on */
    v->has_live = g32(r);
    v->has_time = g32(r);
    v->first_scaled = g32(r);
    v->ewma.version = RISK_VOL_EWMA_STATE_VERSION;
    v->ewma.lambda = gf(r);
    v->ewma.variance = gf(r);
    v->ewma.last_price = gf(r);
    v->ewma.count = g64(r);
    v->periods_per_year = gf(r);
    v->stressed_set = gf(r);
    v->floor_set = gf(r);
    v->max_live = gf(r);
    v->sum_r2 = gf(r);
    v->n_returns = g64(r);
    v->release = gf(r);
    v->last_time = (int64_t)g64(r);
    int ok = v->has_live <= 1 && v->has_time <= 1 && v->ewma.lambda > 0.0 && v->ewma.lambda < 1.0 &&
             finite_nonneg(v->ewma.variance) && finite_nonneg(v->ewma.last_price) && isfinite(v->periods_per_year) &&
             v->periods_per_year > 0.0 && finite_nonneg(v->stressed_set) && finite_nonneg(v->floor_set) &&
             finite_nonneg(v->max_live) && finite_nonneg(v->sum_r2) && v->release >= 0.0 && v->release <= 1.0;
    if (!ok)
        return bad(r, RISK_ECORRUPT, "asset %u: volatility state out of range", asset);
    return RISK_OK;
}

/* Format 2: the rates block of asset `asset` (its flag first). */
static int read_rates(reader *r, uint32_t asset)
{
    int rc = need(r, 4);
    if (rc)
        return rc;
    uint32_t has = g32(r);
    if (has > 1)
        return bad(r, RISK_ECORRUPT, "asset %u: rates flag %u", asset, has);
    if (!has)
        return RISK_OK; /* no model: the indices stay 1, as risk_engine_add_asset left them */
    if ((rc = need(r, RATES_BLOCK)))
        return rc;
    risk__rates_state st;
    risk_rate_model init = RISK_RATE_MODEL_INIT;
    st.model = init;
    double index_pos = gf(r), index_neg = gf(r);
    st.model.kind = g32(r);
    st.model.accrual = g32(r);
    st.model.reserved = g32(r);
    st.started = g32(r);
#define GET_PARAM(f) st.model.f = gf(r);
    RATE_MODEL_PARAMS(GET_PARAM)
#undef GET_PARAM
    st.scaled_supply = gf(r);
    st.scaled_borrow = gf(r);
    st.stable_borrow = gf(r);
    st.stable_rate = gf(r);
    st.reserves = gf(r);
    st.updated = (int64_t)g64(r);
    if ((rc = risk__rates_state_restore(r->e, asset, &st, index_pos, index_neg)))
        return refused(r, rc, "rates of asset", asset);
    return RISK_OK;
}

/* Format 2: the size-scaling block of asset `asset` (its flag first), through the setter. */
static int read_size(reader *r, uint32_t asset)
{
    int rc = need(r, 4);
    if (rc)
        return rc;
    uint32_t has = g32(r);
    if (has > 1)
        return bad(r, RISK_ECORRUPT, "asset %u: size-scaling flag %u", asset, has);
    if (!has)
        return RISK_OK;
    if ((rc = need(r, SIZE_BLOCK)))
        return rc;
    risk_size_scaling sz = RISK_SIZE_SCALING_INIT;
    sz.imf = gf(r);
    sz.deposit_scale_start = gf(r);
    sz.borrow_scale_start = gf(r);
    sz.venue_deposits = gf(r);
    sz.venue_borrows = gf(r);
    if ((f64_bits(sz.imf) | f64_bits(sz.deposit_scale_start) | f64_bits(sz.borrow_scale_start) |
         f64_bits(sz.venue_deposits) | f64_bits(sz.venue_borrows)) == 0)
        return bad(r, RISK_ECORRUPT, "asset %u: size-scaling block of zeros (the flag says none)", asset);
    if ((rc = risk_engine_set_asset_size_scaling(r->e, asset, &sz)))
        return refused(r, rc, "size scaling of asset", asset);
    return RISK_OK;
}

static int read_assets(reader *r, uint32_t n_assets, uint32_t valuation)
{
    risk_value_tier tiers[RISK__MAX_TIERS];
    for (uint32_t i = 0; i < n_assets; i++) {
        char symbol[SYMBOL_BYTES];
        int rc = need(r, SYMBOL_BYTES + 8 + 5 * 8);
        if (rc || (rc = g_symbol(r, symbol, "asset", i)))
            return rc;
        risk_asset_spec spec = RISK_ASSET_SPEC_INIT;
        spec.symbol = symbol;
        spec.decimals = g32(r);
        uint32_t n_tiers = g32(r);
        spec.price = gf(r);
        spec.weight_init = gf(r);
        spec.weight_maint = gf(r);
        spec.liab_weight_init = gf(r);
        spec.liab_weight_maint = gf(r);
        if (n_tiers > RISK__MAX_TIERS)
            return bad(r, RISK_ECORRUPT, "asset %u: %u value tiers", i, n_tiers);
        if ((rc = need(r, (uint64_t)n_tiers * 16)))
            return rc;
        for (uint32_t t = 0; t < n_tiers; t++) {
            tiers[t].up_to_qty = gf(r);
            tiers[t].ratio = gf(r);
        }
        spec.value_tiers = n_tiers ? tiers : NULL;
        spec.n_value_tiers = n_tiers;
        if ((rc = risk_engine_add_asset(r->e, &spec, NULL)))
            return refused(r, rc, "asset", i);
        if ((rc = read_vol(r, i)) || (r->version >= 2 && ((rc = read_rates(r, i)) || (rc = read_size(r, i)))))
            return rc;
    }
    if (valuation != RISK_ID_NONE && (valuation >= n_assets || r->e->assets[valuation].price != 1.0))
        return bad(r, RISK_ECORRUPT, "valuation asset %u unknown or not priced 1", valuation);
    r->e->valuation = valuation;
    return section_end(r);
}

static int read_scaling(reader *r, uint32_t id, uint32_t *next_out)
{
    int rc = need(r, 4);
    if (rc)
        return rc;
    if (!g32(r)) {
        *next_out = RISK_ID_NONE;
        return RISK_OK;
    }
    if ((rc = need(r, 8 + 10 * 8 + 8 + 8)))
        return rc;
    risk_margin_scaling p = RISK_MARGIN_SCALING_INIT;
    p.mode = g32(r);
    p.vol_floor = g32(r);
    p.reference_vol_annual = gf(r);
    p.min_factor = gf(r);
    p.max_factor = gf(r);
    p.z = gf(r);
    p.horizon_days = gf(r);
    p.days_per_year = gf(r);
    p.buffer = gf(r);
    p.stress_weight = gf(r);
    p.max_daily_change = gf(r);
    double factor = gf(r);
    int64_t time = (int64_t)g64(r);
    uint32_t has_time = g32(r);
    uint32_t next = g32(r);
    risk_engine *e = r->e;
    risk__instrument *in = &e->instruments[id];
    if (!e->assets[in->underlying].vol)
        return bad(r, RISK_ECORRUPT, "instrument %u: scaled, but its underlying has no volatility state", id);
    if (p.mode == RISK_SCALING_OFF)
        return bad(r, RISK_ECORRUPT, "instrument %u: scaling block with mode off", id);
    /* the setter validates and links the block; the list and the factor are then put back as written */
    uint32_t first = e->assets[in->underlying].vol->first_scaled;
    if ((rc = risk_engine_set_instrument_scaling(e, id, &p)))
        return refused(r, rc, "instrument", id);
    e->assets[in->underlying].vol->first_scaled = first;
    if (!(isfinite(factor) && factor > 0.0) || has_time > 1)
        return bad(r, RISK_ECORRUPT, "instrument %u: scaling factor or time flag out of range", id);
    in->scaling->factor = factor;
    in->scaling->time = time;
    in->scaling->has_time = has_time;
    in->scaling->next = RISK_ID_NONE;
    *next_out = next;
    return RISK_OK;
}

/* Puts back each asset's list of scaled instruments as written, after checking that the lists
 * hold every scaled instrument once, each under its own underlying. */
static int relink_scaled(reader *r, const uint32_t *next)
{
    risk_engine *e = r->e;
    uint32_t n_scaled = 0, n_listed = 0;
    for (uint32_t i = 0; i < e->n_instruments; i++)
        n_scaled += e->instruments[i].scaling != NULL;
    for (uint32_t a = 0; a < e->n_assets; a++) {
        const risk__asset_vol *v = e->assets[a].vol;
        if (!v)
            continue;
        for (uint32_t id = v->first_scaled; id != RISK_ID_NONE; id = next[id]) {
            if (id >= e->n_instruments || !e->instruments[id].scaling || e->instruments[id].underlying != a ||
                ++n_listed > n_scaled)
                return bad(r, RISK_ECORRUPT, "asset %u: list of scaled instruments broken at %u", a, id);
        }
    }
    if (n_listed != n_scaled)
        return bad(r, RISK_ECORRUPT, "%u scaled instruments, %u listed", n_scaled, n_listed);
    for (uint32_t i = 0; i < e->n_instruments; i++) {
        risk__instrument *in = &e->instruments[i];
        if (!in->scaling)
            continue;
        in->scaling->next = next[i];
        risk__scaling_write_effective(in, in->scaling->factor);
    }
    return RISK_OK;
}

/* Format 3: the underlying's tick and, for an option, its fields (strike, type, settled flag,
 * mark volatility, carry rate), then the registration. The engine's time is already set; an
 * option expired at it (expiry <= time) registers with the clock a second before its expiry,
 * as when it was listed, and the clock goes back at once. Then the option is put back as it
 * was: a settled one with its settlement value as mark; a vol-marked one with the mark written,
 * which must be the engine's own price of it (to a relative 1e-9, for another host's libm). */
static int read_instrument_v3(reader *r, uint32_t i, risk_instrument_spec *spec)
{
    risk_engine *e = r->e;
    int rc = need(r, 8);
    if (rc)
        return rc;
    spec->underlying_tick = gf(r);
    int option = spec->kind == RISK_KIND_OPTION;
    uint32_t settled = 0;
    double mark = spec->mark, vol = 0.0;
    if (option) {
        if ((rc = need(r, 32)))
            return rc;
        spec->strike = gf(r);
        spec->option_type = (int32_t)g32(r);
        settled = g32(r);
        vol = gf(r);
        spec->carry_rate = gf(r);
        if (settled > 1 || (settled && (f64_bits(vol) != 0 || !(isfinite(mark) && mark >= 0.0 && mark <= RISK_PRICE_MAX))))
            return bad(r, RISK_ECORRUPT, "instrument %u: settled flag %u, mark vol or settlement value out of range", i,
                       settled);
        /* a settled option's mark (its settlement value, 0 when worthless) is not a price the
         * setter takes: register it vol-marked and put the value back below */
        spec->mark_vol = settled ? 1.0 : vol;
    }
    int64_t now = e->now_unix_s;
    if (option && spec->expiry_unix_s <= now && spec->expiry_unix_s > 1)
        e->now_unix_s = spec->expiry_unix_s - 1;
    rc = risk_engine_add_instrument(e, spec, NULL);
    e->now_unix_s = now;
    if (rc)
        return refused(r, rc, "instrument", i);
    if (!option)
        return RISK_OK;
    risk__instrument *in = &e->instruments[i];
    if (settled) {
        in->settled = 1;
        in->mark_vol = 0.0;
    } else if (vol > 0.0) {
        double m = risk__option_mark_at(in, in->opt_under, vol, now);
        if (!(isnan(m) && isnan(mark)) && !(isfinite(mark) && mark >= 0.0 && fabs(mark - m) <= 1e-9 * fabs(m)))
            return bad(r, RISK_ECORRUPT, "instrument %u: mark %s is not the price %s of its mark vol", i,
                       RISK__NUM(mark), RISK__NUM(m));
    }
    in->mark = mark;
    return RISK_OK;
}

/* Format 3: instrument i's funding block (emit_funding). The indices and time must be ones
 * risk_engine_accrue_funding can leave (finite, within RISK_NOTIONAL_MAX, time >= 0; all 0
 * unless a perpetual); the weights go through risk_engine_set_instrument_upnl_weight, and a
 * flag of 0 carries the getter's defaults exactly. */
static int read_funding(reader *r, uint32_t i)
{
    int rc = need(r, FUNDING_BLOCK);
    if (rc)
        return rc;
    risk_engine *e = r->e;
    risk__instrument *in = &e->instruments[i];
    double il = gf(r), is = gf(r);
    int64_t t = (int64_t)g64(r);
    double wi = gf(r), wm = gf(r), imf = gf(r);
    uint32_t weighted = g32(r), zero = g32(r);
    int perp = in->kind == RISK_KIND_PERPETUAL;
    if (!(isfinite(il) && isfinite(is) && fabs(il) <= RISK_NOTIONAL_MAX && fabs(is) <= RISK_NOTIONAL_MAX && t >= 0) ||
        (!perp && (f64_bits(il) | f64_bits(is) | (uint64_t)t) != 0))
        return bad(r, RISK_ECORRUPT, "instrument %u: funding index or time out of range", i);
    if (weighted > 1 || zero != 0 ||
        (!weighted && (f64_bits(wi) != f64_bits(1.0) || f64_bits(wm) != f64_bits(1.0) || f64_bits(imf) != 0)))
        return bad(r, RISK_ECORRUPT, "instrument %u: unrealised-PnL weight flag %u, reserved %u or weights off "
                   "but not 1, 1, 0", i, weighted, zero);
    if (weighted) {
        if ((rc = risk_engine_set_instrument_upnl_weight(e, i, wi, wm, imf)))
            return refused(r, rc, "unrealised-PnL weights of instrument", i);
        if (!in->upnl_weighted)
            return bad(r, RISK_ECORRUPT, "instrument %u: unrealised-PnL weights on, but 1, 1, 0 (off)", i);
    }
    in->fund_index_long = il;
    in->fund_index_short = is;
    in->fund_time_unix_s = t;
    if (il != 0.0 || is != 0.0)
        e->funding_active = 1;
    return RISK_OK;
}

static int read_instruments(reader *r, uint32_t n_instruments)
{
    risk_engine *e = r->e;
    risk_margin_tier tiers[RISK__MAX_TIERS];
    uint32_t *next = NULL;
    if (n_instruments && (uint64_t)(r->end - r->p) / 128 < n_instruments)
        return bad(r, RISK_ECORRUPT, "%u instruments cannot fit in %llu bytes", n_instruments,
                   (unsigned long long)(r->end - r->p));
    if (n_instruments && !(next = risk__malloc(e, n_instruments * sizeof *next)))
        return bad(r, RISK_ENOMEM, "out of memory");
    int rc = RISK_OK;
    for (uint32_t i = 0; i < n_instruments && !rc; i++) {
        char symbol[SYMBOL_BYTES];
        if ((rc = need(r, SYMBOL_BYTES + 6 * 4 + 5 * 8)) || (rc = g_symbol(r, symbol, "instrument", i)))
            break;
        risk_instrument_spec spec = RISK_INSTRUMENT_SPEC_INIT;
        spec.symbol = symbol;
        spec.kind = g32(r);
        spec.inverse = g32(r);
        spec.mm_price = g32(r);
        spec.underlying = g32(r);
        spec.settle = g32(r);
        uint32_t n_tiers = g32(r);
        spec.expiry_unix_s = (int64_t)g64(r);
        spec.contract_size = gf(r);
        spec.lot_size = gf(r);
        spec.tick_size = gf(r);
        spec.mark = gf(r);
        int option = spec.kind == RISK_KIND_OPTION;
        if (option && r->version < 3) {
            rc = bad(r, RISK_ECORRUPT, "instrument %u: an option in format %u", i, r->version);
            break;
        }
        if (option ? n_tiers != 0 : n_tiers == 0 || n_tiers > RISK__MAX_TIERS) {
            rc = bad(r, RISK_ECORRUPT, "instrument %u: %u margin tiers", i, n_tiers);
            break;
        }
        if ((rc = need(r, (uint64_t)n_tiers * 40)))
            break;
        for (uint32_t t = 0; t < n_tiers; t++) {
            tiers[t].notional_cap = gf(r);
            tiers[t].mmr = gf(r);
            tiers[t].max_leverage = gf(r);
            tiers[t].cum = gf(r);
            tiers[t].cum_given = g32(r);
            if (g32(r) != 0) {
                rc = bad(r, RISK_ECORRUPT, "instrument %u: tier %u: reserved not 0", i, t);
                break;
            }
        }
        if (rc)
            break;
        spec.tiers = n_tiers ? tiers : NULL;
        spec.n_tiers = n_tiers;
        if (r->version >= 3)
            rc = read_instrument_v3(r, i, &spec);
        else
            if ((rc = risk_engine_add_instrument(e, &spec, NULL)))
                rc = refused(r, rc, "instrument", i);
        if (rc)
            break;
        if ((rc = need(r, 2 * 4 + 3 * 8)))
            break;
        risk_instrument_fees fees = RISK_INSTRUMENT_FEES_INIT;
        fees.liquidation_price_with_fee = g32(r);
        if (g32(r) != 0) {
            rc = bad(r, RISK_ECORRUPT, "instrument %u: trading terms: reserved not 0", i);
            break;
        }
        fees.maker_fee = gf(r);
        fees.taker_fee = gf(r);
        fees.max_notional = gf(r);
        if ((rc = risk_engine_set_instrument_fees(e, i, &fees))) {
            rc = refused(r, rc, "trading terms of instrument", i);
            break;
        }
        if (r->version >= 2) {
            if ((rc = need(r, 2 * 8)))
                break;
            risk_size_premium sp = RISK_SIZE_PREMIUM_INIT;
            sp.imf = gf(r);
            sp.base_share = gf(r);
            if (option && (f64_bits(sp.imf) | f64_bits(sp.base_share)) == 0)
                ; /* an option takes no size premium: the setter refuses even "off" */
            else if ((rc = risk_engine_set_instrument_size_premium(e, i, &sp))) {
                rc = refused(r, rc, "size premium of instrument", i);
                break;
            }
        }
        if (r->version >= 3 && (rc = read_funding(r, i)))
            break;
        rc = read_scaling(r, i, &next[i]);
    }
    if (!rc)
        rc = relink_scaled(r, next);
    risk__free(e, next);
    return rc ? rc : section_end(r);
}

static int read_policy(reader *r, risk_liquidation_policy *p)
{
    int rc = need(r, 2 * 4 + 9 * 8 + 2 * 4 + 8);
    if (rc)
        return rc;
    risk_liquidation_policy d = RISK_LIQUIDATION_POLICY_INIT;
    *p = d;
    p->exit_target = g32(r);
    p->price_model = g32(r);
    p->buffer = gf(r);
    p->fee = gf(r);
    p->insurance_fee = gf(r);
    p->penalty = gf(r);
    p->close_factor = gf(r);
    p->full_close_health = gf(r);
    p->bonus = gf(r);
    p->protocol_share = gf(r);
    p->min_notional = gf(r);
    p->deficit = g32(r);
    p->has_backstop = g32(r);
    p->backstop_account = g64(r);
    return RISK_OK;
}

static int read_liquidation(reader *r)
{
    risk_engine *e = r->e;
    risk_liquidation_policy p;
    int rc = read_policy(r, &p);
    if (rc)
        return rc;
    if ((rc = risk_engine_set_liquidation_policy(e, &p)))
        return refused(r, rc, "policy", 0);
    if ((rc = need(r, 4)))
        return rc;
    uint32_t n_over = g32(r);
    int64_t prev = -1;
    for (uint32_t k = 0; k < n_over; k++) {
        if ((rc = need(r, 4)))
            return rc;
        uint32_t id = g32(r);
        if ((int64_t)id <= prev || id >= e->n_instruments)
            return bad(r, RISK_ECORRUPT, "override %u: instrument %u out of order or unknown", k, id);
        prev = id;
        if ((rc = read_policy(r, &p)))
            return rc;
        if ((rc = risk_engine_set_instrument_liquidation_policy(e, id, &p)))
            return refused(r, rc, "override of instrument", id);
    }
    if ((rc = need(r, 4)))
        return rc;
    uint32_t n_funds = g32(r);
    if (n_funds != e->n_assets)
        return bad(r, RISK_ECORRUPT, "%u funds for %u assets", n_funds, e->n_assets);
    if ((rc = need(r, (uint64_t)n_funds * 32)))
        return rc;
    for (uint32_t i = 0; i < n_funds; i++) {
        risk__fund f;
        f.balance = gf(r);
        f.deposits = gf(r);
        f.contributions = gf(r);
        f.draws = gf(r);
        if (!isfinite(f.balance) || !isfinite(f.deposits) || !isfinite(f.contributions) || !isfinite(f.draws))
            return bad(r, RISK_ECORRUPT, "fund of asset %u not finite", i);
        if (f.balance == 0.0 && f.deposits == 0.0 && f.contributions == 0.0 && f.draws == 0.0 &&
            !risk__fund_of(e, i))
            continue;
        if (risk__funds_reserve(e))
            return bad(r, RISK_ENOMEM, "out of memory");
        *risk__fund_at(e, i) = f;
    }
    if (r->version >= 3) { /* zeros to a multiple of 8 bytes from the snapshot's start */
        size_t pad = (size_t)((8 - (uint64_t)(r->p - r->base) % 8) % 8);
        if ((rc = need(r, pad)))
            return rc;
        for (size_t k = 0; k < pad; k++)
            if (*r->p++ != 0)
                return bad(r, RISK_ECORRUPT, "alignment padding not zero");
    }
    return section_end(r);
}

static uint32_t pow2_at_least(uint32_t n)
{
    uint32_t c = 1;
    while (c < n)
        c *= 2;
    return c;
}

/* Bytes of an account record with nb balances, nl leverages and np positions. */
static uint64_t record_bytes(uint32_t version, uint64_t nb, uint64_t nl, uint64_t np)
{
    return ACCOUNT_FIXED + 12 * (nb + nl) + (version >= 3 ? 4 * ((nb + nl) & 1) + 40 * np : 32 * np);
}

/* The bytes of the record at q by its counts, or 0 when it cannot be one (its fixed part or the
 * whole record past end, more positions than an account holds): the walks that look only at the
 * records' fixed parts stop there, and read_account says what is wrong. */
static uint64_t record_span(uint32_t version, const unsigned char *q, const unsigned char *end)
{
    if ((size_t)(end - q) < ACCOUNT_FIXED)
        return 0;
    uint64_t np = ld32(q + 24), len = record_bytes(version, ld32(q + 16), ld32(q + 20), np);
    return np > RISK__MAX_POSITIONS || len > (uint64_t)(end - q) ? 0 : len;
}

/* One account record (its fixed part already checked to be there). */
static int read_account(reader *r, uint64_t index)
{
    risk_engine *e = r->e;
    uint64_t id = g64(r);
    uint32_t margin_mode = g32(r), position_mode = g32(r);
    uint32_t n_bal = g32(r), n_lev = g32(r), n_pos = g32(r);
    if (g32(r) != 0)
        return bad(r, RISK_ECORRUPT, "account %llu: reserved not 0", (unsigned long long)id);
    if ((margin_mode != RISK_MARGIN_CROSS && margin_mode != RISK_MARGIN_ISOLATED && margin_mode != RISK_MARGIN_PORTFOLIO) ||
        (position_mode != RISK_POSITION_ONE_WAY && position_mode != RISK_POSITION_HEDGE))
        return bad(r, RISK_ECORRUPT, "account %llu: unknown margin or position mode", (unsigned long long)id);
    if (n_bal > e->n_assets || n_lev > e->n_instruments || n_pos > RISK__MAX_POSITIONS)
        return bad(r, RISK_ECORRUPT, "account %llu: %u balances, %u leverages, %u positions", (unsigned long long)id,
                   n_bal, n_lev, n_pos);
    int rc = need(r, record_bytes(r->version, n_bal, n_lev, n_pos) - ACCOUNT_FIXED);
    if (rc)
        return rc;

    risk_account *a = &e->account_block[index]; /* zeroed by the caller */
    a->in_block = RISK__IN_BLOCK_STRUCT;
    a->engine = e;
    a->id = id;
    a->margin_mode = margin_mode;
    a->position_mode = position_mode;
    a->engine_owned = 1;
    risk__basket_init(&a->basket, e, a);
    if (r->parallel) { /* the helper indexes the ids (read_accounts) */
        risk__engine_append_account(e, a);
        r->appended = index + 1;
    } else if (risk__engine_attach_account(e, a) != RISK_OK) /* room was reserved: only a duplicate id fails */
        return bad(r, RISK_ECORRUPT, "account %llu appears twice", (unsigned long long)id);
    /* from here the account is the engine's: a failure frees it with the engine */
    uint32_t stamp = (uint32_t)index + 1;
    uint32_t *seen_asset = r->stamp, *seen_inst = r->stamp + e->n_assets, *seen_pos = seen_inst + e->n_instruments;

    risk_basket *b = &a->basket;
    if (n_bal > b->cap && risk__basket_reserve_n(b, n_bal))
        return bad(r, RISK_ENOMEM, "out of memory");
    g32s(r, b->asset, n_bal);
    gfs(r, b->amount, n_bal);
    b->n = n_bal;
    for (uint32_t i = 0; i < n_bal; i++) {
        uint32_t as = b->asset[i];
        double x = b->amount[i];
        if (as >= e->n_assets || seen_asset[as] == stamp || !isfinite(x) || x == 0.0)
            return bad(r, RISK_ECORRUPT, "account %llu: balance %u (asset %u) unknown, repeated, zero or not finite",
                       (unsigned long long)id, i, as);
        seen_asset[as] = stamp;
    }

    if (n_lev) {
        /* from the block the first pass sized (a malformed record stopped that count early) */
        if (n_lev > e->levs_block_n - r->levs_used)
            return bad(r, RISK_ECORRUPT, "account %llu: %u leverages past the section's count", (unsigned long long)id,
                       n_lev);
        a->levs = e->levs_block + r->levs_used;
        r->levs_used += n_lev;
        a->in_block |= RISK__IN_BLOCK_LEVS;
        a->cap_levs = n_lev;
        const unsigned char *ids = r->p, *vals = r->p + 4 * (size_t)n_lev;
        for (uint32_t i = 0; i < n_lev; i++) {
            uint32_t inst = ld32(ids + 4 * (size_t)i);
            double lev = bits_f64(ld64(vals + 8 * (size_t)i));
            if (inst >= e->n_instruments || seen_inst[inst] == stamp || !isfinite(lev) || lev < 1.0 ||
                lev > e->instruments[inst].schedule.max_leverage)
                return bad(r, RISK_ECORRUPT, "account %llu: leverage %u (instrument %u) unknown, repeated or out of range",
                           (unsigned long long)id, i, inst);
            seen_inst[inst] = stamp;
            a->levs[i].instrument = inst;
            a->levs[i].leverage = lev;
            a->n_levs = i + 1;
        }
        r->p += 12 * (size_t)n_lev;
    }
    if (r->version >= 3 && ((n_bal + n_lev) & 1) && g32(r) != 0)
        return bad(r, RISK_ECORRUPT, "account %llu: alignment padding not zero", (unsigned long long)id);

    if (n_pos && r->in_place) {
        risk__snap_storage *st = e->snap_storage;
        if (n_pos > st->slots - r->slots_used || (uintptr_t)r->p % 8 != 0) /* aligned by the format's padding */
            return bad(r, RISK_ECORRUPT, "account %llu: %u positions past the section's count or unaligned",
                       (unsigned long long)id, n_pos);
        /* the record is 8-byte aligned (format 3): its arrays are the engine's, where they lie */
        unsigned char *at = (unsigned char *)(uintptr_t)r->p;
        a->inst = (uint32_t *)(void *)at;
        a->pflags = (uint32_t *)(void *)(at + 4 * (size_t)n_pos);
        a->qty = (double *)(void *)(at + 8 * (size_t)n_pos);
        a->entry = a->qty + n_pos;
        a->iso_margin = a->entry + n_pos;
        a->fund_last = a->iso_margin + n_pos; /* format 3: in the file too, so funding settles in place */
        a->im_rate = st->im_rate + r->slots_used; /* zero pages */
        a->handles = st->handles + r->slots_used;
        a->in_block |= RISK__IN_BLOCK_NO_HANDLES; /* all NULL, untouched: freeing need not read them */
        r->slots_used += n_pos;
        a->cap_pos = n_pos; /* no room: a new position moves them to the arena */
        r->p += 40 * (size_t)n_pos;
    } else if (n_pos) {
        if (risk__arena_alloc(e, pow2_at_least(n_pos), &a->range))
            return bad(r, RISK_ENOMEM, "out of memory");
        const risk__range *rg = &a->range;
        risk__pos_chunk *c = rg->chunk;
        a->qty = c->qty + rg->base;
        a->entry = c->entry + rg->base;
        a->im_rate = c->im_rate + rg->base;
        a->iso_margin = c->iso_margin + rg->base;
        a->fund_last = c->fund_last + rg->base;
        a->handles = c->handles + rg->base;
        a->inst = c->inst + rg->base;
        a->pflags = c->pflags + rg->base;
        a->cap_pos = rg->cap;
        g32s(r, a->inst, n_pos);
        g32s(r, a->pflags, n_pos);
        gfs(r, a->qty, n_pos);
        gfs(r, a->entry, n_pos);
        gfs(r, a->iso_margin, n_pos);
        if (r->version >= 3)
            gfs(r, a->fund_last, n_pos);
        else /* formats 1 and 2 held no funding state: every position starts at index 0 */
            memset(a->fund_last, 0, n_pos * sizeof *a->fund_last);
        memset(a->handles, 0, n_pos * sizeof *a->handles);
    }
    if (n_pos) {
        uint32_t hedge = position_mode == RISK_POSITION_HEDGE;
        for (uint32_t i = 0; i < n_pos; i++) {
            uint32_t inst = a->inst[i], fl = a->pflags[i], leg = fl & RISK__PF_LEG_MASK;
            double q = a->qty[i], en = a->entry[i], iso = a->iso_margin[i], fund = a->fund_last[i];
            /* the index a position last settled at is one its instrument's index held: within
             * accrual's bound RISK_NOTIONAL_MAX (so q x index is finite), and 0 unless a
             * perpetual (no accrual); the kind is looked up only for a non-zero index, the rare
             * case */
            int fund_ok = fabs(fund) <= RISK_NOTIONAL_MAX &&
                          (fund == 0.0 || (inst < e->n_instruments && e->instruments[inst].kind == RISK_KIND_PERPETUAL));
            int ok = fund_ok && inst < e->n_instruments && (fl & ~(RISK__PF_LEG_MASK | RISK__PF_ISOLATED)) == 0 &&
                     leg <= RISK_SIDE_SHORT && (leg != RISK_SIDE_BOTH) == hedge && isfinite(q) && q != 0.0 &&
                     (leg != RISK_SIDE_LONG || q > 0.0) && (leg != RISK_SIDE_SHORT || q < 0.0) && isfinite(en) &&
                     en > 0.0 && isfinite(iso) && ((fl & RISK__PF_ISOLATED) || iso == 0.0);
            if (!ok)
                return bad(r, RISK_ECORRUPT, "account %llu: position %u out of range", (unsigned long long)id, i);
            uint32_t *seen = &seen_pos[(size_t)inst * 3 + leg];
            if (*seen == stamp)
                return bad(r, RISK_ECORRUPT, "account %llu: position %u repeats a leg", (unsigned long long)id, i);
            *seen = stamp;
            if (fund != 0.0)
                e->funding_active = 1; /* as accrual left it: evaluation adds pending funding */
            double rate = 0.0;
            for (uint32_t k = 0; k < a->n_levs; k++)
                if (a->levs[k].instrument == inst) {
                    rate = 1.0 / a->levs[k].leverage;
                    break;
                }
            if (rate != 0.0 || !r->in_place) /* in place: the block is zero already */
                a->im_rate[i] = rate;
        }
        a->n_pos = n_pos;
    }
    return RISK_OK;
}

/* The helper thread of a parallel read: the id map, the ids read from the records' fixed parts
 * (walked as the first pass walks them), then the ACCOUNTS section's checksum. It reads the section
 * and writes only the id map (risk__engine_index_account), while the reading thread builds the
 * accounts and writes the rest. */
typedef struct accounts_helper {
    risk_engine *e;
    const unsigned char *section, *records, *end; /* the whole section; its first record; its end */
    uint64_t n;
    uint32_t version;
    uint32_t crc;    /* out: the section's CRC-32C */
    uint64_t dup;    /* out: the first record whose id an earlier one has, or UINT64_MAX */
    uint64_t dup_id;
} accounts_helper;

#define HELPER_AHEAD 16u /* records whose id-map slots are fetched ahead of their insert */

static void *accounts_help(void *arg)
{
    accounts_helper *h = arg;
    risk_engine *e = h->e;
    h->dup = UINT64_MAX;
    uint64_t ring[HELPER_AHEAD], walked = 0;
    const unsigned char *q = h->records;
    for (uint64_t k = 0; k < h->n; k++) {
        for (; walked < h->n && walked < k + HELPER_AHEAD; walked++) {
            uint64_t len = record_span(h->version, q, h->end);
            if (!len)
                break; /* malformed: the build stops at or before this record and says why */
            ring[walked % HELPER_AHEAD] = ld64(q);
            risk__engine_prefetch_id(e, ld64(q));
            q += len;
        }
        if (k == walked)
            break;
        uint64_t id = ring[k % HELPER_AHEAD];
        if (risk__engine_index_account(e, id, &e->account_block[k]) != RISK_OK) {
            h->dup = k;
            h->dup_id = id;
            break;
        }
    }
    /* the checksum last: the walk above reads the records' first lines while the reading
     * thread's first pass reads the same ones, rather than streaming the whole section against it */
    h->crc = risk__crc32c(0, h->section, (size_t)(h->end - h->section));
    return NULL;
}

/* The build ended with rc: the helper's findings come first where a sequential read finds them
 * first, so that a parallel read refuses a snapshot with the status and message a sequential one
 * gives. A sequential read compares every checksum before reading anything, and finds a repeated id
 * when it attaches that record, after its counts and modes and before its arrays are checked: so a
 * repeat wins if its record was appended (r->appended) before the build stopped. */
static int accounts_settle(reader *r, const accounts_helper *h, int rc)
{
    r->accounts_crc_pending = 0;
    if (h->crc != r->accounts_crc) /* verify() would have said so before anything was read */
        return checksum_mismatch(r, SEC_ACCOUNTS);
    if (h->dup != UINT64_MAX && h->dup < r->appended)
        return bad(r, RISK_ECORRUPT, "account %llu appears twice", (unsigned long long)h->dup_id);
    return rc;
}

/* The accounts' records after their count: n account structs are in e->account_block. */
static int build_accounts(reader *r, uint64_t n)
{
    risk_engine *e = r->e;
    int rc;
    /* Memory for every account in a few large blocks, populated up front (risk__memory_hint): the
     * positions in one arena chunk sized by a first pass over the records' counts (a malformed
     * record stops the count; the second pass reports it). */
    uint64_t slots = 0, levs = 0, positions = 0;
    const unsigned char *q = r->p;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t len = record_span(r->version, q, r->end);
        if (!len)
            break;
        uint64_t nl = ld32(q + 20), np = ld32(q + 24);
        if (nl > e->n_instruments)
            break;
        if (np && np <= RISK__CHUNK_MAX_SLOTS) /* larger ranges get dedicated chunks */
            slots += pow2_at_least((uint32_t)np);
        positions += np;
        levs += nl;
        q += len;
    }
    if (r->in_place) {
        /* positions stay in the file; their IM rates and handle slots come from zero pages
         * (positions <= bytes / 32: the blocks never exceed what the data describes) */
        risk__snap_storage *st = risk__calloc(e, 1, sizeof *st);
        if (!st)
            return bad(r, RISK_ENOMEM, "out of memory");
        e->snap_storage = st; /* freed with the engine from now on */
        if (positions) {
            st->im_rate = risk__calloc(e, (size_t)positions, sizeof *st->im_rate);
            st->handles = risk__calloc(e, (size_t)positions, sizeof *st->handles);
            if (!st->im_rate || !st->handles)
                return bad(r, RISK_ENOMEM, "out of memory");
            st->slots = (size_t)positions;
            /* leverages write IM rates all over the block: fault it in at once, in huge pages,
             * rather than 4 KiB at a time (the handle slots stay untouched zero pages) */
            if (levs)
                risk__memory_hint(st->im_rate, (size_t)positions * sizeof *st->im_rate);
        }
    } else if (slots > UINT32_MAX / 2 || risk__arena_reserve(e, (uint32_t)slots)) {
        return bad(r, RISK_ENOMEM, "out of memory");
    }
    /* every leverage list in one block too: a malloc per account would fault in the heap 4 KiB
     * at a time (levs <= bytes / 12, so the block never exceeds what the data describes) */
    if (levs) {
        e->levs_block = risk__malloc(e, (size_t)levs * sizeof *e->levs_block);
        if (!e->levs_block)
            return bad(r, RISK_ENOMEM, "out of memory");
        risk__memory_hint(e->levs_block, (size_t)levs * sizeof *e->levs_block);
        e->levs_block_n = (size_t)levs;
    }
    r->n_stamp = (size_t)e->n_assets + (size_t)e->n_instruments * 4;
    if (r->n_stamp) {
        r->stamp = risk__malloc(e, r->n_stamp * sizeof *r->stamp);
        if (!r->stamp)
            return bad(r, RISK_ENOMEM, "out of memory");
        memset(r->stamp, 0, r->n_stamp * sizeof *r->stamp);
    }
    /* a second cursor runs PREFETCH_AHEAD records ahead, bringing their first lines in and
     * fetching the id map's slots early (sequential reads: the inserts are random accesses into a
     * map larger than the caches) */
    const unsigned char *ahead = r->p;
    uint64_t k_ahead = 0;
    for (uint64_t k = 0; k < n; k++) {
        for (; k_ahead < n && k_ahead < k + PREFETCH_AHEAD; k_ahead++) {
            uint64_t len = record_span(r->version, ahead, r->end);
            if (!len) {
                k_ahead = n; /* malformed: the reader will say so */
                break;
            }
            if (!r->parallel)
                risk__engine_prefetch_id(e, ld64(ahead));
            ahead += len;
        }
        if ((rc = need(r, ACCOUNT_FIXED)) || (rc = read_account(r, k)))
            return rc;
    }
    return section_end(r);
}

static int read_accounts(reader *r)
{
    risk_engine *e = r->e;
    int rc = need(r, 8);
    if (rc)
        return rc;
    uint64_t n = g64(r);
    if (n > (uint64_t)(r->end - r->p) / ACCOUNT_FIXED || n >= UINT32_MAX)
        return bad(r, RISK_ECORRUPT, "%llu accounts cannot fit in %llu bytes", (unsigned long long)n,
                   (unsigned long long)(r->end - r->p));
    if (n && risk__engine_reserve_accounts(e, (size_t)n))
        return bad(r, RISK_ENOMEM, "out of memory");
    /* the account structs in one block, before the helper starts: it maps ids to them */
    if (n) {
        e->account_block = risk__calloc(e, (size_t)n, sizeof *e->account_block);
        if (!e->account_block)
            return bad(r, RISK_ENOMEM, "out of memory");
        risk__memory_hint(e->account_block, (size_t)n * sizeof *e->account_block);
        e->account_block_n = (size_t)n;
    }
    if (!r->parallel)
        return build_accounts(r, n);
    /* the helper sums the section and fills the id map meanwhile; when no thread can be made, its
     * work is done here after the build (the same result) */
    accounts_helper h = {e, r->accounts_at, r->p, r->accounts_at + r->accounts_len, n, r->version, 0, UINT64_MAX, 0};
    pthread_t helper;
    int helping = pthread_create(&helper, NULL, accounts_help, &h) == 0;
    rc = build_accounts(r, n);
    if (helping)
        pthread_join(helper, NULL); /* on every path: the helper writes into the engine */
    else
        accounts_help(&h);
    return accounts_settle(r, &h, rc);
}

/* Checks the header, the table and every checksum; fills the sections' bounds. */
static int verify(reader *r, const unsigned char *d, size_t size, section_info *table)
{
    if (size < HEADER_FIXED || memcmp(d, RISK_SNAPSHOT_MAGIC, RISK_SNAPSHOT_MAGIC_LEN) != 0)
        return bad(r, RISK_ECORRUPT, size < HEADER_FIXED ? "not a snapshot: %zu bytes" : "not a snapshot: bad magic (%zu bytes)",
                   size);
    uint32_t header_bytes = ld32(d + 12), n_sections = ld32(d + 20);
    if (n_sections > 64 || header_bytes != HEADER_FIXED + n_sections * SECTION_ENTRY)
        return bad(r, RISK_ECORRUPT, "header: %u sections in %u bytes", n_sections, header_bytes);
    if (header_bytes > size)
        return bad(r, RISK_ECORRUPT, "truncated in the header: %zu bytes", size);
    uint32_t crc = risk__crc32c(0, d, 60);
    crc = risk__crc32c(crc, d + HEADER_FIXED, header_bytes - HEADER_FIXED);
    if (crc != ld32(d + 60))
        return bad(r, RISK_ECORRUPT, "header checksum mismatch");
    uint32_t version = ld32(d + 8);
    if (version < 1 || version > RISK_SNAPSHOT_FORMAT_VERSION)
        return bad(r, RISK_EVERSION, "format version %u (library %u.%u.%u), this library reads versions 1 to %d",
                   version, ld32(d + 16) / 10000, ld32(d + 16) / 100 % 100, ld32(d + 16) % 100,
                   RISK_SNAPSHOT_FORMAT_VERSION);
    r->version = version;
    uint64_t total = ld64(d + 24);
    if (total != size)
        return bad(r, RISK_ECORRUPT, "%s: %zu bytes, the header says %llu", total > size ? "truncated" : "trailing bytes",
                   size, (unsigned long long)total);
    for (uint32_t k = 32; k < 60; k++) /* flags and reserved bytes */
        if (d[k] != 0)
            return bad(r, RISK_ECORRUPT, "header: unknown flags or reserved bytes set");
    if (n_sections != N_SECTIONS)
        return bad(r, RISK_ECORRUPT, "%u sections, version %u has %u", n_sections, version, N_SECTIONS);
    uint64_t at = header_bytes;
    for (uint32_t k = 0; k < N_SECTIONS; k++) {
        const unsigned char *t = d + HEADER_FIXED + k * SECTION_ENTRY;
        table[k].id = ld32(t);
        table[k].crc = ld32(t + 4);
        table[k].offset = ld64(t + 8);
        table[k].length = ld64(t + 16);
        if (table[k].id != k + 1 || table[k].offset != at || table[k].length > total - at)
            return bad(r, RISK_ECORRUPT, "section table entry %u out of place", k);
        at += table[k].length;
    }
    if (at != total)
        return bad(r, RISK_ECORRUPT, "sections end at %llu of %llu bytes", (unsigned long long)at,
                   (unsigned long long)total);
    const section_info *acc = &table[N_SECTIONS - 1];
    r->accounts_at = d + acc->offset;
    r->accounts_len = (size_t)acc->length;
    r->accounts_crc = acc->crc;
    r->accounts_crc_pending = r->parallel; /* parallel: read_accounts' helper sums it */
    for (uint32_t k = 0; k < N_SECTIONS - (r->parallel ? 1u : 0u); k++)
        if (risk__crc32c(0, d + table[k].offset, (size_t)table[k].length) != table[k].crc)
            return checksum_mismatch(r, k + 1);
    return RISK_OK;
}

static int options_check(const risk_snapshot_options *o)
{
    if (o->version != RISK_SNAPSHOT_OPTIONS_VERSION)
        return RISK_EVERSION;
    const risk_allocator *al = &o->allocator;
    int n_set = (al->malloc_fn != NULL) + (al->realloc_fn != NULL) + (al->free_fn != NULL);
    if ((n_set != 0 && n_set != 3) || (o->flags & ~(RISK_SNAPSHOT_MAP_IN_PLACE | RISK_SNAPSHOT_PARALLEL)) != 0)
        return RISK_EINVAL;
    return RISK_OK;
}

static int read_all(reader *r, const unsigned char *d, size_t size)
{
    section_info table[N_SECTIONS];
    int rc = verify(r, d, size, table);
    if (rc)
        return rc;
    uint32_t valuation = 0, n_assets = 0, n_instruments = 0;
    for (uint32_t k = 0; k < N_SECTIONS && !rc; k++) {
        r->base = d;
        r->p = d + table[k].offset;
        r->end = r->p + table[k].length;
        r->section = SECTION_NAMES[k + 1];
        switch (k + 1) {
        case SEC_ENGINE:
            rc = read_engine(r, &valuation, &n_assets, &n_instruments);
            break;
        case SEC_ASSETS:
            rc = read_assets(r, n_assets, valuation);
            break;
        case SEC_INSTRUMENTS:
            rc = read_instruments(r, n_instruments);
            break;
        case SEC_LIQUIDATION:
            rc = read_liquidation(r);
            break;
        default:
            rc = read_accounts(r);
            break;
        }
    }
    /* parallel, failed before the helper compared the ACCOUNTS checksum: a damaged section is
     * reported as such first, as verify() reports it before reading anything */
    if (rc && r->accounts_crc_pending && risk__crc32c(0, r->accounts_at, r->accounts_len) != r->accounts_crc)
        rc = checksum_mismatch(r, SEC_ACCOUNTS);
    r->section = NULL;
    return rc;
}

/* The read; map_bytes > 0: data is a private writable mapping of that many bytes, which a
 * format-3 snapshot's engine keeps and uses in place (*kept set to 1 then). */
static int read_snapshot(risk_engine **out, const void *data, size_t size, const risk_snapshot_options *options,
                         size_t map_bytes, int *kept)
{
    if (!out)
        return RISK_ENULL;
    *out = NULL;
    risk_snapshot_options defaults = RISK_SNAPSHOT_OPTIONS_INIT;
    const risk_snapshot_options *o = options ? options : &defaults;
    reader r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.in_place = HOST_LE && map_bytes > 0 && size >= 12 && ld32((const unsigned char *)data + 8) >= 3;
    r.parallel = o->version == RISK_SNAPSHOT_OPTIONS_VERSION && (o->flags & RISK_SNAPSHOT_PARALLEL) != 0;
    if (o->version == RISK_SNAPSHOT_OPTIONS_VERSION && o->errmsg_out && o->errmsg_capacity)
        o->errmsg_out[0] = '\0';
    int rc = options_check(o);
    if (rc)
        return o->version == RISK_SNAPSHOT_OPTIONS_VERSION ? bad(&r, rc, "options: allocator half set or an unknown flag")
                                                           : rc;
    if (!data && size)
        return bad(&r, RISK_ENULL, "data is NULL");
    rc = read_all(&r, data, size);
    if (r.e) {
        risk__free(r.e, r.stamp);
        if (rc) {
            risk_engine_free(r.e);
            return rc;
        }
        risk__clear(&r.e->errmsg);
        if (r.in_place && r.e->snap_storage) {
            r.e->snap_storage->map = (void *)(uintptr_t)data;
            r.e->snap_storage->map_bytes = map_bytes;
            *kept = 1;
        }
        *out = r.e;
    }
    return rc;
}

RISK_API int risk_engine_snapshot_read(risk_engine **out, const void *data, size_t size,
                                       const risk_snapshot_options *options)
{
    int kept = 0;
    return read_snapshot(out, data, size, options, 0, &kept);
}

/* The file mapped read-only and privately, its pages populated up front. Where Linux has it, the
 * mapping is advised huge first (MADV_HUGEPAGE, then MADV_POPULATE_READ): a file not yet in the
 * page cache is then read in 2 MiB folios, which the mapping takes whole, as it takes a file the
 * writer left in them (WRITE_ALIGN). A file in 4 KiB pages costs a page-table entry, and on
 * some hypervisors a fault, per 4 KiB: the first touch of a 374 MB file took 150-300 ms on the
 * benchmark's VM, against 30-40 ms in 2 MiB folios (docs/performance.md, "The file's pages"). */
static void *map_snapshot(int fd, size_t size)
{
#if defined(MADV_HUGEPAGE) && defined(MADV_POPULATE_READ)
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
        (void)madvise(map, size, MADV_HUGEPAGE);         /* advice: refused, the pages come as they are */
        (void)madvise(map, size, MADV_POPULATE_READ); /* likewise: unpopulated pages fault on first use */
    }
    return map;
#else
    int flags = MAP_PRIVATE;
#ifdef MAP_POPULATE
    flags |= MAP_POPULATE;
#endif
    return mmap(NULL, size, PROT_READ, flags, fd, 0);
#endif
}

RISK_API int risk_engine_snapshot_read_file(risk_engine **out, const char *path, const risk_snapshot_options *options)
{
    if (!out)
        return RISK_ENULL;
    *out = NULL;
    risk_snapshot_options defaults = RISK_SNAPSHOT_OPTIONS_INIT;
    const risk_snapshot_options *o = options ? options : &defaults;
    reader r;
    memset(&r, 0, sizeof r);
    r.o = o;
    int rc = options_check(o);
    if (rc)
        return rc;
    if (!path)
        return bad(&r, RISK_ENULL, "path is NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bad(&r, RISK_EIO, "cannot open %.200s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return bad(&r, RISK_EIO, "cannot stat %.200s: %s", path, strerror(err));
    }
    if (S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size <= SIZE_MAX) {
        size_t size = (size_t)st.st_size;
        void *map = map_snapshot(fd, size);
        if (map != MAP_FAILED) {
            close(fd);
            /* in place: writable, privately (populated read-only first, so that no page is
             * copied until an account writes to it) */
            size_t in_place = (o->flags & RISK_SNAPSHOT_MAP_IN_PLACE) && mprotect(map, size, PROT_READ | PROT_WRITE) == 0
                                  ? size
                                  : 0;
            int kept = 0;
            rc = read_snapshot(out, map, size, o, in_place, &kept);
            if (!kept)
                munmap(map, size);
            return rc;
        }
    }
    /* not mappable (a pipe, an empty file, ...): read it through the allocator */
    risk_engine boot; /* an allocator carrier */
    memset(&boot, 0, sizeof boot);
    boot.alloc = o->allocator;
    size_t cap = 1u << 16, len = 0;
    unsigned char *buf = risk__malloc(&boot, cap);
    int err = 0;
    while (buf) {
        if (len == cap) {
            unsigned char *grown = cap <= SIZE_MAX / 2 ? risk__realloc(&boot, buf, cap * 2) : NULL;
            if (!grown) {
                risk__free(&boot, buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            err = errno;
            break;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    if (!buf)
        return bad(&r, RISK_ENOMEM, "out of memory reading %.200s", path);
    if (err) {
        risk__free(&boot, buf);
        return bad(&r, RISK_EIO, "cannot read %.200s: %s", path, strerror(err));
    }
    rc = risk_engine_snapshot_read(out, buf, len, o);
    risk__free(&boot, buf);
    return rc;
}

/* ================================================================ accounts of an engine */

RISK_API int risk_engine_accounts(const risk_engine *engine, risk_account **out, size_t capacity, size_t *count_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine;
    if (!count_out || (!out && capacity))
        return risk__fail(e, &e->errmsg, RISK_ENULL, "count_out is NULL, or out is NULL with capacity > 0");
    *count_out = e->n_accounts;
    if (capacity < e->n_accounts)
        return risk__fail(e, &e->errmsg, RISK_EBUFFER, "the engine has %zu accounts, capacity %zu", e->n_accounts,
                          capacity);
    size_t w = 0;
    for (size_t k = 0; k < e->n_account_slots; k++)
        if (e->accounts[k])
            out[w++] = e->accounts[k];
    return RISK_OK;
}

RISK_API int risk_account_adopt(risk_account *account)
{
    if (!account)
        return RISK_ENULL;
    if (!account->engine_owned)
        return risk__fail(account->engine, &account->errmsg, RISK_ESTATE,
                          "account %llu is already the caller's", (unsigned long long)account->id);
    account->engine_owned = 0;
    risk__engine_retain(account->engine);
    risk__clear(&account->errmsg);
    return RISK_OK;
}

RISK_API int risk_account_engine_owned(const risk_account *account, uint32_t *out)
{
    if (!account || !out)
        return RISK_ENULL;
    *out = account->engine_owned;
    return RISK_OK;
}
