/* SPDX-License-Identifier: Apache-2.0 */
/* test_bulk.c: bulk loading from columns (accounts, balances, leverages, positions) against the
 * single calls, all-or-nothing failures naming the row, out-of-memory paths, and the columnar
 * results bit for bit against risk_engine_evaluate_all and risk_account_position_results. */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const risk_margin_tier tiers3[] = {
    {50000.0, 0.004, 125.0, 0.0, 0}, {250000.0, 0.005, 100.0, 0.0, 0}, {1e12, 0.01, 50.0, 0.0, 0}};

/* The market: USDT (valuation), BTC, ETH; BTCUSDT and ETHUSDT linear, BTCUSD inverse. */
typedef struct market {
    uint32_t usdt, btc, eth;
    uint32_t btcusdt, ethusdt, btcusd;
} market;

static void market_build(risk_engine *e, market *m)
{
    m->usdt = tu_asset(e, "USDT", 1.0, 6);
    m->btc = tu_asset_w(e, "BTC", 50000.0, 8, 0.95, 0.975, 1.05, 1.02);
    m->eth = tu_asset(e, "ETH", 3000.0, 8);
    m->btcusdt = tu_linear(e, "BTCUSDT", m->btc, m->usdt, 1.0, 0.001, 0.1, 50000.0, tiers3, 3);
    m->ethusdt = tu_linear(e, "ETHUSDT", m->eth, m->usdt, 1.0, 0.01, 0.01, 3000.0, tiers3, 3);
    m->btcusd = tu_inverse(e, "BTCUSD", m->btc, 100.0, 1.0, 0.5, 50000.0, tiers3, 3);
}

/* A random book as rows. Accounts: even ids one-way cross, odd ids hedge, every fifth
 * isolated. Rows of an account are contiguous except the last balance row of each account,
 * which comes at the end (rows need not be contiguous). */
#define BOOK_MAX 4096
typedef struct book {
    size_t n_acc, n_bal, n_lev, n_pos;
    uint64_t acc_id[BOOK_MAX];
    uint32_t acc_mm[BOOK_MAX], acc_pm[BOOK_MAX];
    uint64_t bal_acc[BOOK_MAX];
    uint32_t bal_asset[BOOK_MAX];
    double bal_amount[BOOK_MAX];
    uint64_t lev_acc[BOOK_MAX];
    uint32_t lev_inst[BOOK_MAX];
    double lev[BOOK_MAX];
    uint64_t pos_acc[BOOK_MAX];
    uint32_t pos_inst[BOOK_MAX], pos_side[BOOK_MAX], pos_mm[BOOK_MAX];
    double pos_qty[BOOK_MAX], pos_entry[BOOK_MAX], pos_iso[BOOK_MAX];
} book;

static void book_make(book *b, const market *m, size_t n_accounts, uint64_t seed)
{
    memset(b, 0, sizeof *b);
    tu_rng r;
    tu_rng_seed(&r, seed);
    size_t late = 0;
    uint64_t late_acc[BOOK_MAX];
    for (size_t k = 0; k < n_accounts; k++) {
        uint64_t id = 1000 + 7 * k;
        int hedge = k % 2 == 1, iso = k % 5 == 0;
        b->acc_id[b->n_acc] = id;
        b->acc_mm[b->n_acc] = iso ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS;
        b->acc_pm[b->n_acc] = hedge ? RISK_POSITION_HEDGE : RISK_POSITION_ONE_WAY;
        b->n_acc++;
        b->bal_acc[b->n_bal] = id;
        b->bal_asset[b->n_bal] = m->usdt;
        b->bal_amount[b->n_bal++] = round(tu_rng_range(&r, 100.0, 50000.0) * 1e6) / 1e6;
        if (k % 3 == 0) {
            b->bal_acc[b->n_bal] = id;
            b->bal_asset[b->n_bal] = m->eth;
            b->bal_amount[b->n_bal++] = (k % 6 == 0 ? -1.0 : 1.0) * round(tu_rng_range(&r, 0.1, 3.0) * 1e8) / 1e8;
        }
        late_acc[late++] = id;
        if (k % 4 == 0) {
            b->lev_acc[b->n_lev] = id;
            b->lev_inst[b->n_lev] = m->btcusdt;
            b->lev[b->n_lev++] = 20.0;
        }
        uint32_t insts[3] = {m->btcusdt, m->ethusdt, m->btcusd};
        double lots[3] = {0.001, 0.01, 1.0}, marks[3] = {50000.0, 3000.0, 50000.0};
        for (int j = 0; j < 3; j++) {
            if (tu_rng_unit(&r) < 0.3)
                continue;
            double lots_n = (double)tu_rng_int(&r, 1, 2000);
            int legs = hedge ? 1 + (tu_rng_unit(&r) < 0.5) : 1;
            for (int leg = 0; leg < legs; leg++) {
                size_t p = b->n_pos++;
                b->pos_acc[p] = id;
                b->pos_inst[p] = insts[j];
                b->pos_mm[p] = RISK_MARGIN_DEFAULT;
                double q = lots_n * lots[j];
                b->pos_qty[p] = q;
                if (hedge)
                    b->pos_side[p] = leg == 0 ? RISK_SIDE_LONG : RISK_SIDE_SHORT;
                else {
                    b->pos_side[p] = RISK_SIDE_BOTH;
                    if (tu_rng_unit(&r) < 0.5)
                        b->pos_qty[p] = -q;
                }
                b->pos_entry[p] = marks[j] * tu_rng_range(&r, 0.97, 1.03);
                b->pos_iso[p] = iso ? round(tu_rng_range(&r, 0.02, 0.2) * q * (j == 2 ? 100.0 / marks[j] : marks[j]) * 1e6) / 1e6 : 0.0;
                if (j == 2 && iso)
                    b->pos_iso[p] = round(b->pos_iso[p] * 1e2) / 1e2;
            }
        }
    }
    for (size_t k = 0; k < late; k++) { /* non-contiguous: a second row for the account, later */
        b->bal_acc[b->n_bal] = late_acc[k];
        b->bal_asset[b->n_bal] = m->btc;
        b->bal_amount[b->n_bal++] = round(tu_rng_range(&r, 0.0, 0.05) * 1e8) / 1e8 + 1e-8;
    }
}

static void book_load_single(risk_engine *e, const book *b, risk_account **accs)
{
    for (size_t i = 0; i < b->n_acc; i++)
        accs[i] = tu_account(e, b->acc_id[i], b->acc_mm[i], b->acc_pm[i]);
    for (size_t i = 0; i < b->n_bal; i++) {
        risk_account *a = NULL;
        tu_assert_status(risk_engine_find_account(e, b->bal_acc[i], &a), RISK_OK);
        tu_balance(a, b->bal_asset[i], b->bal_amount[i]);
    }
    for (size_t i = 0; i < b->n_lev; i++) {
        risk_account *a = NULL;
        tu_assert_status(risk_engine_find_account(e, b->lev_acc[i], &a), RISK_OK);
        tu_leverage(a, b->lev_inst[i], b->lev[i]);
    }
    for (size_t i = 0; i < b->n_pos; i++) {
        risk_account *a = NULL;
        tu_assert_status(risk_engine_find_account(e, b->pos_acc[i], &a), RISK_OK);
        tu_open(a, b->pos_inst[i], b->pos_side[i], b->pos_mm[i], b->pos_qty[i], b->pos_entry[i], b->pos_iso[i]);
    }
}

static risk_position_columns book_position_columns(const book *b)
{
    risk_position_columns c = RISK_POSITION_COLUMNS_INIT;
    c.account_ids = b->pos_acc;
    c.instruments = b->pos_inst;
    c.sides = b->pos_side;
    c.margin_modes = b->pos_mm;
    c.qty = b->pos_qty;
    c.entry = b->pos_entry;
    c.isolated_margin = b->pos_iso;
    return c;
}

static void book_load_bulk(risk_engine *e, const book *b)
{
    tu_assert_status(risk_engine_add_accounts(e, b->acc_id, b->acc_mm, b->acc_pm, b->n_acc, NULL), RISK_OK);
    tu_assert_status(risk_engine_set_balances(e, b->bal_acc, b->bal_asset, b->bal_amount, b->n_bal), RISK_OK);
    tu_assert_status(risk_engine_set_leverages(e, b->lev_acc, b->lev_inst, b->lev, b->n_lev), RISK_OK);
    risk_position_columns c = book_position_columns(b);
    tu_assert_status(risk_engine_open_positions(e, &c, b->n_pos), RISK_OK);
}

static void assert_summaries_identical(const risk_account_summary *x, const risk_account_summary *y)
{
    assert_int_equal(x->state, y->state);
    tu_assert_bits(x->equity, y->equity);
    tu_assert_bits(x->collateral_value, y->collateral_value);
    tu_assert_bits(x->unrealized_pnl, y->unrealized_pnl);
    tu_assert_bits(x->initial_margin, y->initial_margin);
    tu_assert_bits(x->maintenance_margin, y->maintenance_margin);
    tu_assert_bits(x->available, y->available);
    tu_assert_bits(x->health_factor, y->health_factor);
    tu_assert_bits(x->margin_ratio, y->margin_ratio);
    tu_assert_bits(x->ltv, y->ltv);
    tu_assert_bits(x->ltv_buffer, y->ltv_buffer);
    tu_assert_bits(x->leverage, y->leverage);
    tu_assert_bits(x->collateral_init, y->collateral_init);
    tu_assert_bits(x->collateral_maint, y->collateral_maint);
    tu_assert_bits(x->liabilities, y->liabilities);
    tu_assert_bits(x->isolated_margin, y->isolated_margin);
    assert_int_equal(x->n_positions, y->n_positions);
    assert_int_equal(x->n_isolated_liquidatable, y->n_isolated_liquidatable);
}

static void assert_results_identical(const risk_position_result *x, const risk_position_result *y)
{
    assert_int_equal(x->instrument, y->instrument);
    assert_int_equal(x->side, y->side);
    assert_int_equal(x->margin_mode, y->margin_mode);
    assert_int_equal(x->flags, y->flags);
    assert_int_equal(x->tier, y->tier);
    tu_assert_bits(x->qty, y->qty);
    tu_assert_bits(x->entry, y->entry);
    tu_assert_bits(x->mark, y->mark);
    tu_assert_bits(x->notional, y->notional);
    tu_assert_bits(x->unrealized_pnl, y->unrealized_pnl);
    tu_assert_bits(x->initial_margin, y->initial_margin);
    tu_assert_bits(x->maintenance_margin, y->maintenance_margin);
    tu_assert_bits(x->isolated_margin, y->isolated_margin);
    tu_assert_bits(x->liquidation_price, y->liquidation_price);
    tu_assert_bits(x->bankruptcy_price, y->bankruptcy_price);
    tu_assert_bits(x->liquidation_price_raw, y->liquidation_price_raw);
    tu_assert_bits(x->bankruptcy_price_raw, y->bankruptcy_price_raw);
}

/* Every account's summary and results of two engines are bit-identical (same creation order). */
static void assert_engines_identical(const risk_engine *x, const risk_engine *y)
{
    size_t nx = 0, ny = 0;
    tu_assert_status(risk_engine_account_count(x, &nx), RISK_OK);
    tu_assert_status(risk_engine_account_count(y, &ny), RISK_OK);
    assert_int_equal(nx, ny);
    risk_account **ax = calloc(nx + 1, sizeof *ax), **ay = calloc(ny + 1, sizeof *ay);
    tu_assert_status(risk_engine_accounts(x, ax, nx, &nx), RISK_OK);
    tu_assert_status(risk_engine_accounts(y, ay, ny, &ny), RISK_OK);
    for (size_t i = 0; i < nx; i++) {
        assert_int_equal(risk_account_id(ax[i]), risk_account_id(ay[i]));
        risk_account_summary sx = tu_eval(ax[i]), sy = tu_eval(ay[i]);
        assert_summaries_identical(&sx, &sy);
        risk_position_result rx[16], ry[16];
        size_t cx = tu_results(ax[i], rx, 16), cy = tu_results(ay[i], ry, 16);
        assert_int_equal(cx, cy);
        for (size_t k = 0; k < cx; k++)
            assert_results_identical(&rx[k], &ry[k]);
    }
    free(ax);
    free(ay);
}

/* ================================================================== equivalence */

static void test_bulk_load_matches_single_calls(void **state)
{
    (void)state;
    static book b;
    tu_alloc a1, a2;
    tu_alloc_init(&a1);
    tu_alloc_init(&a2);
    risk_engine *e1 = tu_engine(&a1, 0), *e2 = tu_engine(&a2, 0);
    market m1, m2;
    market_build(e1, &m1);
    market_build(e2, &m2);
    book_make(&b, &m1, 300, 42);
    assert_true(b.n_pos > 300);
    static risk_account *accs[BOOK_MAX];
    book_load_single(e1, &b, accs);
    book_load_bulk(e2, &b);
    assert_engines_identical(e1, e2);
    /* and after a market move, including the liquidation prices of every pool */
    tu_mark(e1, m1.btcusdt, 46000.0);
    tu_mark(e2, m2.btcusdt, 46000.0);
    tu_price(e1, m1.btc, 46000.0);
    tu_price(e2, m2.btc, 46000.0);
    assert_engines_identical(e1, e2);
    /* bulk accounts are the engine's: found, freed with it, adoptable */
    risk_account *found = NULL;
    tu_assert_status(risk_engine_find_account(e2, b.acc_id[3], &found), RISK_OK);
    uint32_t owned = 0;
    tu_assert_status(risk_account_engine_owned(found, &owned), RISK_OK);
    assert_int_equal(owned, 1);
    tu_assert_status(risk_account_adopt(found), RISK_OK);
    for (size_t i = 0; i < b.n_acc; i++)
        risk_account_free(accs[i]);
    risk_engine_free(e1);
    risk_engine_free(e2); /* the adopted account keeps the engine alive */
    assert_true(a2.live_blocks > 0);
    risk_account_free(found);
    assert_int_equal(a1.live_blocks, 0);
    assert_int_equal(a2.live_blocks, 0);
}

static void test_bulk_accounts_out_and_defaults(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e = tu_engine(&al, 0);
    market m;
    market_build(e, &m);
    uint64_t ids[3] = {5, 6, 7};
    risk_account *out[3] = {NULL, NULL, NULL};
    tu_assert_status(risk_engine_add_accounts(e, ids, NULL, NULL, 3, out), RISK_OK);
    for (int i = 0; i < 3; i++) {
        assert_non_null(out[i]);
        assert_int_equal(risk_account_id(out[i]), ids[i]);
        assert_int_equal(risk_account_margin_mode(out[i]), RISK_MARGIN_CROSS);
        assert_int_equal(risk_account_position_mode(out[i]), RISK_POSITION_ONE_WAY);
    }
    tu_assert_status(risk_engine_add_accounts(e, NULL, NULL, NULL, 0, NULL), RISK_OK); /* no-op */
    /* optional position columns default to one-way, the account's margin mode, no isolated margin */
    uint32_t inst = m.btcusdt;
    double qty = 0.5, entry = 50000.0;
    risk_position_columns c = RISK_POSITION_COLUMNS_INIT;
    c.account_ids = &ids[1];
    c.instruments = &inst;
    c.qty = &qty;
    c.entry = &entry;
    tu_assert_status(risk_engine_open_positions(e, &c, 1), RISK_OK);
    assert_int_equal(risk_account_position_count(out[1]), 1);
    risk_position_result r = tu_result_of(out[1], inst, RISK_SIDE_LONG);
    assert_int_equal(r.margin_mode, RISK_MARGIN_CROSS);
    tu_assert_bits(r.qty, 0.5);
    size_t n = 0;
    tu_assert_status(risk_engine_account_count(e, &n), RISK_OK);
    assert_int_equal(n, 3);
    risk_engine_free(e);
    assert_int_equal(al.live_blocks, 0);
}

/* ================================================================== bad rows */

typedef struct fixture {
    tu_alloc al;
    risk_engine *e;
    market m;
    risk_account *acc; /* id 1, one-way cross, 10,000 USDT, 0.5 BTCUSDT */
    risk_account *hedge; /* id 2 */
} fixture;

static void fixture_build(fixture *f)
{
    tu_alloc_init(&f->al);
    f->e = tu_engine(&f->al, 0);
    market_build(f->e, &f->m);
    f->acc = tu_account(f->e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    f->hedge = tu_account(f->e, 2, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    tu_balance(f->acc, f->m.usdt, 10000.0);
    tu_open_simple(f->acc, f->m.btcusdt, 0.5, 49000.0);
}

static void fixture_free(fixture *f)
{
    risk_account_free(f->acc);
    risk_account_free(f->hedge);
    risk_engine_free(f->e);
    assert_int_equal(f->al.live_blocks, 0);
}

/* The message names the row first. */
static void assert_row_named(const risk_engine *e, const char *row)
{
    const char *msg = risk_engine_errmsg(e);
    assert_true(strncmp(msg, row, strlen(row)) == 0);
}

static void test_bulk_add_accounts_bad_rows_change_nothing(void **state)
{
    (void)state;
    fixture f;
    fixture_build(&f);
    tu_engine_snap es;
    tu_engine_snap_take(f.e, &es);
    uint64_t ids[4] = {10, 11, 1, 12}; /* row 2: id 1 exists */
    tu_assert_status(risk_engine_add_accounts(f.e, ids, NULL, NULL, 4, NULL), RISK_EDUPLICATE);
    assert_row_named(f.e, "row 2 (account 1)");
    tu_engine_snap_check(f.e, &es, 0); /* capacity may have grown */
    uint64_t dup[4] = {10, 11, 12, 11}; /* row 3 repeats row 1 */
    risk_account *out[4];
    tu_assert_status(risk_engine_add_accounts(f.e, dup, NULL, NULL, 4, out), RISK_EDUPLICATE);
    assert_row_named(f.e, "row 3 (account 11)");
    assert_null(out[0]);
    tu_engine_snap_check(f.e, &es, 0); /* capacity may have grown */
    risk_account *none = NULL;
    tu_assert_status(risk_engine_find_account(f.e, 10, &none), RISK_ENOTFOUND);
    uint32_t mm[2] = {RISK_MARGIN_CROSS, 7};
    tu_assert_status(risk_engine_add_accounts(f.e, ids, mm, NULL, 2, NULL), RISK_EINVAL);
    assert_row_named(f.e, "row 1 (account 11)");
    uint32_t pm[2] = {RISK_POSITION_HEDGE, 9};
    tu_assert_status(risk_engine_add_accounts(f.e, ids, NULL, pm, 2, NULL), RISK_EINVAL);
    tu_assert_status(risk_engine_add_accounts(f.e, NULL, NULL, NULL, 2, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_add_accounts(NULL, ids, NULL, NULL, 2, NULL), RISK_ENULL);
    tu_engine_snap_check(f.e, &es, 0); /* capacity may have grown */
    fixture_free(&f);
}

/* Portfolio accounts (RISK_MARGIN_PORTFOLIO, docs/portfolio-margin.md) load in bulk as
 * risk_account_new() makes them: the same mode, their positions all in the portfolio (a row
 * opening one isolated, cross, or with an isolated margin is refused, row named, nothing
 * changed), and the same summary bit for bit as a twin built with the single calls. */
static void test_bulk_portfolio_accounts(void **state)
{
    (void)state;
    fixture f;
    fixture_build(&f);
    uint64_t ids[3] = {10, 11, 12};
    uint32_t mm[3] = {RISK_MARGIN_PORTFOLIO, RISK_MARGIN_CROSS, RISK_MARGIN_PORTFOLIO};
    uint32_t pmode[3] = {RISK_POSITION_ONE_WAY, RISK_POSITION_ONE_WAY, RISK_POSITION_HEDGE};
    risk_account *out[3];
    tu_assert_status(risk_engine_add_accounts(f.e, ids, mm, pmode, 3, out), RISK_OK);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(risk_account_margin_mode(out[k]), mm[k]);
        assert_int_equal(risk_account_position_mode(out[k]), pmode[k]);
    }
    risk_account *twin = tu_account(f.e, 20, RISK_MARGIN_PORTFOLIO, RISK_POSITION_ONE_WAY);
    uint64_t bacc[2] = {10, 20};
    uint32_t basset[2] = {f.m.usdt, f.m.usdt};
    double bamt[2] = {20000.0, 20000.0};
    tu_assert_status(risk_engine_set_balances(f.e, bacc, basset, bamt, 2), RISK_OK);
    /* rows: account 10 gets two positions in bulk, in the account's mode (RISK_MARGIN_DEFAULT) */
    uint64_t acc[2] = {10, 10};
    uint32_t inst[2] = {f.m.btcusdt, f.m.ethusdt};
    uint32_t modes[2] = {RISK_MARGIN_DEFAULT, RISK_MARGIN_DEFAULT};
    double qty[2] = {0.5, -4.0}, entry[2] = {50000.0, 3000.0}, iso[2] = {0.0, 0.0};
    risk_position_columns c = RISK_POSITION_COLUMNS_INIT;
    c.account_ids = acc;
    c.instruments = inst;
    c.margin_modes = modes;
    c.qty = qty;
    c.entry = entry;
    c.isolated_margin = iso;
    tu_account_snap s10;
    tu_account_snap_take(out[0], 3, 3, &s10);
    /* refused rows: isolated, explicit cross, an isolated margin, a position mode "portfolio" */
    const uint32_t bad_mode[4] = {RISK_MARGIN_ISOLATED, RISK_MARGIN_CROSS, RISK_MARGIN_DEFAULT, RISK_MARGIN_PORTFOLIO};
    const double bad_iso[4] = {100.0, 0.0, 100.0, 0.0};
    for (int k = 0; k < 4; k++) {
        modes[1] = bad_mode[k];
        iso[1] = bad_iso[k];
        tu_assert_status(risk_engine_open_positions(f.e, &c, 2), RISK_EINVAL);
        assert_row_named(f.e, "row 1 (account 10): ETHUSDT");
        tu_account_snap_check(out[0], &s10);
    }
    modes[1] = RISK_MARGIN_DEFAULT;
    iso[1] = 0.0;
    tu_assert_status(risk_engine_open_positions(f.e, &c, 2), RISK_OK);
    (void)tu_open_simple(twin, f.m.btcusdt, 0.5, 50000.0);
    (void)tu_open_simple(twin, f.m.ethusdt, -4.0, 3000.0);
    risk_account_summary sb = tu_eval(out[0]), st = tu_eval(twin);
    assert_memory_equal(&sb, &st, sizeof sb);
    risk_portfolio_margin_result rb = RISK_PORTFOLIO_MARGIN_RESULT_INIT, rt = RISK_PORTFOLIO_MARGIN_RESULT_INIT;
    tu_assert_status(risk_account_portfolio_margin(&rb, NULL, 0, out[0], NULL), RISK_OK);
    tu_assert_status(risk_account_portfolio_margin(&rt, NULL, 0, twin, NULL), RISK_OK);
    assert_memory_equal(&rb, &rt, sizeof rb);
    assert_int_equal(rb.n_units, 2);
    tu_assert_bits(sb.maintenance_margin, rb.maintenance_margin); /* the portfolio requirement */
    risk_account_free(twin);
    fixture_free(&f);
}

static void test_bulk_set_balances_bad_rows_change_nothing(void **state)
{
    (void)state;
    fixture f;
    fixture_build(&f);
    tu_account_snap s1, s2;
    tu_account_snap_take(f.acc, 3, 3, &s1);
    tu_account_snap_take(f.hedge, 3, 3, &s2);
    uint64_t acc[3] = {1, 2, 1};
    uint32_t assets[3] = {f.m.btc, f.m.usdt, f.m.eth};
    double amounts[3] = {1.0, 500.0, NAN};
    tu_assert_status(risk_engine_set_balances(f.e, acc, assets, amounts, 3), RISK_EINVAL);
    assert_row_named(f.e, "row 2 (account 1)");
    amounts[2] = 1e9; /* beyond 2^53 quanta of ETH (8 decimals: 9.007e7) */
    tu_assert_status(risk_engine_set_balances(f.e, acc, assets, amounts, 3), RISK_EINVAL);
    assert_row_named(f.e, "row 2 (account 1)");
    amounts[2] = 2.0;
    assets[1] = 99;
    tu_assert_status(risk_engine_set_balances(f.e, acc, assets, amounts, 3), RISK_ENOTFOUND);
    assert_row_named(f.e, "row 1 (account 2)");
    assets[1] = f.m.usdt;
    acc[1] = 77;
    tu_assert_status(risk_engine_set_balances(f.e, acc, assets, amounts, 3), RISK_ENOTFOUND);
    assert_row_named(f.e, "row 1: no account 77");
    tu_assert_status(risk_engine_set_balances(f.e, acc, NULL, amounts, 3), RISK_ENULL);
    tu_account_snap_check(f.acc, &s1);
    tu_account_snap_check(f.hedge, &s2);
    /* good rows: set, and a later row for the same asset wins; 0 removes */
    acc[1] = 1;
    assets[1] = f.m.btc;
    amounts[1] = 0.25;
    tu_assert_status(risk_engine_set_balances(f.e, acc, assets, amounts, 3), RISK_OK);
    risk_basket *b = risk_account_basket(f.acc);
    double x = 0;
    tu_assert_status(risk_basket_balance(b, f.m.btc, &x), RISK_OK);
    tu_assert_bits(x, 0.25);
    tu_assert_status(risk_basket_balance(b, f.m.eth, &x), RISK_OK);
    tu_assert_bits(x, 2.0);
    uint64_t one = 1;
    uint32_t usdt = f.m.usdt;
    double zero = 0.0;
    tu_assert_status(risk_engine_set_balances(f.e, &one, &usdt, &zero, 1), RISK_OK);
    tu_assert_status(risk_basket_balance(b, f.m.usdt, &x), RISK_OK);
    tu_assert_bits(x, 0.0);
    fixture_free(&f);
}

static void test_bulk_set_leverages_bad_rows_change_nothing(void **state)
{
    (void)state;
    fixture f;
    fixture_build(&f);
    tu_account_snap s1;
    tu_account_snap_take(f.acc, 3, 3, &s1);
    uint64_t acc[2] = {1, 1};
    uint32_t inst[2] = {f.m.ethusdt, f.m.btcusdt};
    double lev[2] = {10.0, 126.0};
    tu_assert_status(risk_engine_set_leverages(f.e, acc, inst, lev, 2), RISK_ELEVERAGE);
    assert_row_named(f.e, "row 1 (account 1)");
    lev[1] = 0.5;
    tu_assert_status(risk_engine_set_leverages(f.e, acc, inst, lev, 2), RISK_EINVAL);
    inst[1] = 42;
    tu_assert_status(risk_engine_set_leverages(f.e, acc, inst, lev, 2), RISK_ENOTFOUND);
    tu_account_snap_check(f.acc, &s1);
    /* good rows update the IM rate of an open position, as the single call does */
    inst[1] = f.m.btcusdt;
    lev[1] = 10.0;
    tu_assert_status(risk_engine_set_leverages(f.e, acc, inst, lev, 2), RISK_OK);
    double got = 0;
    tu_assert_status(risk_account_leverage(f.acc, f.m.btcusdt, &got), RISK_OK);
    tu_assert_bits(got, 10.0);
    risk_position_result r = tu_result_of(f.acc, f.m.btcusdt, RISK_SIDE_LONG);
    tu_assert_near(r.initial_margin, 0.5 * 50000.0 / 10.0, 1e-6);
    fixture_free(&f);
}

static void test_bulk_open_positions_bad_rows_change_nothing(void **state)
{
    (void)state;
    fixture f;
    fixture_build(&f);
    tu_account_snap s1, s2;
    tu_account_snap_take(f.acc, 3, 3, &s1);
    tu_account_snap_take(f.hedge, 3, 3, &s2);
    uint64_t acc[4] = {2, 2, 1, 1};
    uint32_t inst[4] = {f.m.btcusdt, f.m.btcusdt, f.m.ethusdt, f.m.btcusd};
    uint32_t side[4] = {RISK_SIDE_LONG, RISK_SIDE_SHORT, RISK_SIDE_BOTH, RISK_SIDE_BOTH};
    double qty[4] = {0.1, 0.2, -3.0, 10.5}; /* row 3: BTCUSD lots are whole contracts */
    double entry[4] = {50000.0, 50100.0, 3000.0, 50000.0};
    risk_position_columns c = RISK_POSITION_COLUMNS_INIT;
    c.account_ids = acc;
    c.instruments = inst;
    c.sides = side;
    c.qty = qty;
    c.entry = entry;
    tu_assert_status(risk_engine_open_positions(f.e, &c, 4), RISK_ELOT);
    assert_row_named(f.e, "row 3 (account 1): BTCUSD");
    tu_account_snap_check(f.acc, &s1);
    tu_account_snap_check(f.hedge, &s2);
    qty[3] = 10.0;
    inst[1] = f.m.btcusdt;
    side[1] = RISK_SIDE_LONG; /* row 1 repeats row 0's leg */
    tu_assert_status(risk_engine_open_positions(f.e, &c, 4), RISK_EDUPLICATE);
    assert_row_named(f.e, "row 1 (account 2)");
    tu_account_snap_check(f.acc, &s1);
    tu_account_snap_check(f.hedge, &s2);
    side[1] = RISK_SIDE_SHORT;
    inst[2] = f.m.btcusdt; /* account 1 already holds BTCUSDT */
    tu_assert_status(risk_engine_open_positions(f.e, &c, 4), RISK_EDUPLICATE);
    assert_row_named(f.e, "row 2 (account 1)");
    inst[2] = f.m.ethusdt;
    side[0] = RISK_SIDE_BOTH; /* hedge account */
    tu_assert_status(risk_engine_open_positions(f.e, &c, 4), RISK_ESTATE);
    assert_row_named(f.e, "row 0 (account 2)");
    side[0] = RISK_SIDE_LONG;
    entry[2] = NAN;
    tu_assert_status(risk_engine_open_positions(f.e, &c, 4), RISK_EINVAL);
    entry[2] = 3000.0;
    acc[3] = 404;
    tu_assert_status(risk_engine_open_positions(f.e, &c, 4), RISK_ENOTFOUND);
    assert_row_named(f.e, "row 3: no account 404");
    acc[3] = 1;
    c.version = 99;
    tu_assert_status(risk_engine_open_positions(f.e, &c, 4), RISK_EVERSION);
    c.version = RISK_POSITION_COLUMNS_VERSION;
    c.qty = NULL;
    tu_assert_status(risk_engine_open_positions(f.e, &c, 4), RISK_ENULL);
    tu_assert_status(risk_engine_open_positions(f.e, NULL, 4), RISK_ENULL);
    tu_account_snap_check(f.acc, &s1);
    tu_account_snap_check(f.hedge, &s2);
    c.qty = qty;
    tu_assert_status(risk_engine_open_positions(f.e, &c, 4), RISK_OK);
    assert_int_equal(risk_account_position_count(f.acc), 3);
    assert_int_equal(risk_account_position_count(f.hedge), 2);
    fixture_free(&f);
}

/* ================================================================== out of memory */

typedef struct oom_fx {
    fixture f;
    tu_account_snap s1;
    tu_engine_snap es;
    uint64_t ids[6];
    uint32_t modes[6], assets[6], inst[6], side[6];
    double amounts[6], qty[6], entry[6];
} oom_fx;

static void *oom_setup(tu_alloc *a)
{
    oom_fx *x = calloc(1, sizeof *x);
    x->f.e = tu_engine(a, 0);
    market_build(x->f.e, &x->f.m);
    x->f.acc = tu_account(x->f.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    x->f.hedge = tu_account(x->f.e, 2, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    tu_balance(x->f.acc, x->f.m.usdt, 10000.0);
    tu_account_snap_take(x->f.acc, 3, 3, &x->s1);
    tu_engine_snap_take(x->f.e, &x->es);
    for (int i = 0; i < 6; i++) {
        x->ids[i] = 100 + (uint64_t)i;
        x->modes[i] = RISK_MARGIN_CROSS;
    }
    return x;
}

static void oom_teardown(void *p)
{
    oom_fx *x = p;
    risk_account_free(x->f.acc);
    risk_account_free(x->f.hedge);
    risk_engine_free(x->f.e);
    free(x);
}

static int oom_accounts(void *p)
{
    oom_fx *x = p;
    return risk_engine_add_accounts(x->f.e, x->ids, x->modes, NULL, 6, NULL);
}

static void oom_accounts_failed(void *p)
{
    oom_fx *x = p;
    size_t n = 0;
    tu_assert_status(risk_engine_account_count(x->f.e, &n), RISK_OK);
    assert_int_equal(n, 2);
    risk_account *a = NULL;
    tu_assert_status(risk_engine_find_account(x->f.e, 100, &a), RISK_ENOTFOUND);
}

static void oom_accounts_ok(void *p)
{
    oom_fx *x = p;
    size_t n = 0;
    tu_assert_status(risk_engine_account_count(x->f.e, &n), RISK_OK);
    assert_int_equal(n, 8);
}

static int oom_balances(void *p)
{
    oom_fx *x = p;
    uint64_t acc[6] = {1, 1, 1, 2, 2, 1};
    uint32_t as[6] = {x->f.m.btc, x->f.m.eth, x->f.m.usdt, x->f.m.eth, x->f.m.btc, x->f.m.btc};
    double am[6] = {1.0, 2.0, 5.0, -1.0, 0.5, 0.75};
    return risk_engine_set_balances(x->f.e, acc, as, am, 6);
}

static void oom_balances_failed(void *p)
{
    oom_fx *x = p;
    tu_account_snap_check(x->f.acc, &x->s1);
}

static void oom_balances_ok(void *p)
{
    oom_fx *x = p;
    double v = 0;
    tu_assert_status(risk_basket_balance(risk_account_basket(x->f.acc), x->f.m.btc, &v), RISK_OK);
    tu_assert_bits(v, 0.75);
}

static int oom_leverages(void *p)
{
    oom_fx *x = p;
    uint64_t acc[4] = {1, 1, 1, 2};
    uint32_t in[4] = {x->f.m.btcusdt, x->f.m.ethusdt, x->f.m.btcusd, x->f.m.btcusdt};
    double lev[4] = {10.0, 20.0, 5.0, 3.0};
    return risk_engine_set_leverages(x->f.e, acc, in, lev, 4);
}

static void oom_leverages_ok(void *p)
{
    oom_fx *x = p;
    double v = 0;
    tu_assert_status(risk_account_leverage(x->f.acc, x->f.m.btcusd, &v), RISK_OK);
    tu_assert_bits(v, 5.0);
}

static int oom_positions(void *p)
{
    oom_fx *x = p;
    uint64_t acc[5] = {1, 1, 2, 2, 1};
    uint32_t in[5] = {x->f.m.btcusdt, x->f.m.ethusdt, x->f.m.btcusdt, x->f.m.btcusdt, x->f.m.btcusd};
    uint32_t sd[5] = {RISK_SIDE_BOTH, RISK_SIDE_BOTH, RISK_SIDE_LONG, RISK_SIDE_SHORT, RISK_SIDE_BOTH};
    double q[5] = {0.1, -1.0, 0.2, 0.3, 100.0}, en[5] = {50000.0, 3000.0, 50000.0, 50000.0, 50000.0};
    risk_position_columns c = RISK_POSITION_COLUMNS_INIT;
    c.account_ids = acc;
    c.instruments = in;
    c.sides = sd;
    c.qty = q;
    c.entry = en;
    return risk_engine_open_positions(x->f.e, &c, 5);
}

static void oom_positions_failed(void *p)
{
    oom_fx *x = p;
    tu_account_snap_check(x->f.acc, &x->s1);
    assert_int_equal(risk_account_position_count(x->f.hedge), 0);
}

static void oom_positions_ok(void *p)
{
    oom_fx *x = p;
    assert_int_equal(risk_account_position_count(x->f.acc), 3);
    assert_int_equal(risk_account_position_count(x->f.hedge), 2);
}

static void test_bulk_out_of_memory_changes_nothing(void **state)
{
    (void)state;
    tu_oom_case cases[4] = {
        {oom_setup, oom_accounts, oom_accounts_failed, oom_accounts_ok, oom_teardown},
        {oom_setup, oom_balances, oom_balances_failed, oom_balances_ok, oom_teardown},
        {oom_setup, oom_leverages, oom_balances_failed, oom_leverages_ok, oom_teardown},
        {oom_setup, oom_positions, oom_positions_failed, oom_positions_ok, oom_teardown},
    };
    for (int i = 0; i < 4; i++)
        assert_true(tu_oom_walk(&cases[i]) > 0);
}

/* ================================================================== columns */

static void test_bulk_columns_bit_identical_to_structs(void **state)
{
    (void)state;
    static book b;
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e = tu_engine(&al, 0);
    market m;
    market_build(e, &m);
    book_make(&b, &m, 1500, 7); /* enough accounts for two threads (1,024 a thread) */
    book_load_bulk(e, &b);
    tu_mark(e, m.ethusdt, 2800.0);
    size_t n = b.n_acc;
    risk_account_summary *s = calloc(n, sizeof *s);
    uint64_t *ids = calloc(n, sizeof *ids);
    s[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
    size_t count = 0;
    tu_assert_status(risk_engine_evaluate_all(e, s, ids, n, 1, &count), RISK_OK);
    assert_int_equal(count, n);
    double *cols = calloc(16 * n, sizeof *cols);
    uint64_t *cid = calloc(n, sizeof *cid);
    uint32_t *cu = calloc(3 * n, sizeof *cu);
    for (uint32_t threads = 1; threads <= 2; threads++) {
        risk_summary_columns c = RISK_SUMMARY_COLUMNS_INIT;
        c.ids = cid;
        c.state = cu;
        c.n_positions = cu + n;
        c.n_isolated_liquidatable = cu + 2 * n;
        double **f[15] = {&c.equity, &c.collateral_value, &c.unrealized_pnl, &c.initial_margin,
                          &c.maintenance_margin, &c.available, &c.health_factor, &c.margin_ratio, &c.ltv,
                          &c.ltv_buffer, &c.leverage, &c.collateral_init, &c.collateral_maint, &c.liabilities,
                          &c.isolated_margin};
        for (int k = 0; k < 15; k++)
            *f[k] = cols + (size_t)k * n;
        count = 0;
        tu_assert_status(risk_engine_evaluate_columns(e, &c, n, threads, &count), RISK_OK);
        assert_int_equal(count, n);
        for (size_t i = 0; i < n; i++) {
            risk_account_summary t = RISK_ACCOUNT_SUMMARY_INIT;
            assert_int_equal(cid[i], ids[i]);
            t.state = c.state[i];
            t.equity = c.equity[i];
            t.collateral_value = c.collateral_value[i];
            t.unrealized_pnl = c.unrealized_pnl[i];
            t.initial_margin = c.initial_margin[i];
            t.maintenance_margin = c.maintenance_margin[i];
            t.available = c.available[i];
            t.health_factor = c.health_factor[i];
            t.margin_ratio = c.margin_ratio[i];
            t.ltv = c.ltv[i];
            t.ltv_buffer = c.ltv_buffer[i];
            t.leverage = c.leverage[i];
            t.collateral_init = c.collateral_init[i];
            t.collateral_maint = c.collateral_maint[i];
            t.liabilities = c.liabilities[i];
            t.isolated_margin = c.isolated_margin[i];
            t.n_positions = c.n_positions[i];
            t.n_isolated_liquidatable = c.n_isolated_liquidatable[i];
            assert_summaries_identical(&t, &s[i]);
        }
    }
    /* only some columns: the others are left alone */
    risk_summary_columns only = RISK_SUMMARY_COLUMNS_INIT;
    memset(cols, 0, n * sizeof *cols);
    only.maintenance_margin = cols;
    tu_assert_status(risk_engine_evaluate_columns(e, &only, n, 1, &count), RISK_OK);
    for (size_t i = 0; i < n; i++)
        tu_assert_bits(cols[i], s[i].maintenance_margin);
    tu_assert_status(risk_engine_evaluate_columns(e, &only, n - 1, 1, &count), RISK_EBUFFER);
    assert_int_equal(count, n);
    tu_assert_status(risk_engine_evaluate_columns(e, &only, n, 257, &count), RISK_EINVAL);
    tu_assert_status(risk_engine_evaluate_columns(e, NULL, n, 1, &count), RISK_ENULL);
    tu_assert_status(risk_engine_evaluate_columns(e, &only, n, 1, NULL), RISK_ENULL);
    only.version = 2;
    tu_assert_status(risk_engine_evaluate_columns(e, &only, n, 1, &count), RISK_EVERSION);

    /* per-position results of every account */
    risk_position_result_columns pc = RISK_POSITION_RESULT_COLUMNS_INIT;
    size_t np = 0;
    tu_assert_status(risk_engine_position_results_columns(e, &pc, 0, 1, &np), RISK_EBUFFER);
    assert_int_equal(np, b.n_pos);
    double *pd = calloc(12 * np, sizeof *pd);
    uint32_t *pu = calloc(7 * np, sizeof *pu);
    uint64_t *pid = calloc(np, sizeof *pid);
    risk_account **accs = calloc(n, sizeof *accs);
    tu_assert_status(risk_engine_accounts(e, accs, n, &count), RISK_OK);
    for (uint32_t threads = 1; threads <= 2; threads++) {
        pc.account_ids = pid;
        pc.account_index = pu;
        pc.instrument = pu + np;
        pc.side = pu + 2 * np;
        pc.leg = pu + 3 * np;
        pc.margin_mode = pu + 4 * np;
        pc.flags = pu + 5 * np;
        pc.tier = pu + 6 * np;
        double **f[12] = {&pc.qty, &pc.entry, &pc.mark, &pc.notional, &pc.unrealized_pnl, &pc.initial_margin,
                          &pc.maintenance_margin, &pc.isolated_margin, &pc.liquidation_price, &pc.bankruptcy_price,
                          &pc.liquidation_price_raw, &pc.bankruptcy_price_raw};
        for (int k = 0; k < 12; k++)
            *f[k] = pd + (size_t)k * np;
        tu_assert_status(risk_engine_position_results_columns(e, &pc, np, threads, &count), RISK_OK);
        assert_int_equal(count, np);
        size_t row = 0;
        for (size_t i = 0; i < n; i++) {
            risk_position_result r[16];
            size_t k = tu_results(accs[i], r, 16);
            for (size_t j = 0; j < k; j++, row++) {
                assert_int_equal(pid[row], risk_account_id(accs[i]));
                assert_int_equal(pc.account_index[row], i);
                risk_position_result t = RISK_POSITION_RESULT_INIT;
                t.instrument = pc.instrument[row];
                t.side = pc.side[row];
                t.margin_mode = pc.margin_mode[row];
                t.flags = pc.flags[row];
                t.tier = pc.tier[row];
                t.qty = pc.qty[row];
                t.entry = pc.entry[row];
                t.mark = pc.mark[row];
                t.notional = pc.notional[row];
                t.unrealized_pnl = pc.unrealized_pnl[row];
                t.initial_margin = pc.initial_margin[row];
                t.maintenance_margin = pc.maintenance_margin[row];
                t.isolated_margin = pc.isolated_margin[row];
                t.liquidation_price = pc.liquidation_price[row];
                t.bankruptcy_price = pc.bankruptcy_price[row];
                t.liquidation_price_raw = pc.liquidation_price_raw[row];
                t.bankruptcy_price_raw = pc.bankruptcy_price_raw[row];
                assert_results_identical(&t, &r[j]);
                risk_position *h = NULL;
                tu_assert_status(risk_account_position_at(accs[i], j, &h), RISK_OK);
                assert_int_equal(pc.leg[row], risk_position_leg(h));
            }
        }
        assert_int_equal(row, np);
    }
    pc.version = 0;
    tu_assert_status(risk_engine_position_results_columns(e, &pc, np, 1, &count), RISK_EVERSION);
    tu_assert_status(risk_engine_position_results_columns(e, NULL, np, 1, &count), RISK_ENULL);
    free(accs);
    free(pd);
    free(pu);
    free(pid);
    free(cols);
    free(cid);
    free(cu);
    free(s);
    free(ids);
    risk_engine_free(e);
    assert_int_equal(al.live_blocks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bulk_load_matches_single_calls),
        cmocka_unit_test(test_bulk_accounts_out_and_defaults),
        cmocka_unit_test(test_bulk_add_accounts_bad_rows_change_nothing),
        cmocka_unit_test(test_bulk_portfolio_accounts),
        cmocka_unit_test(test_bulk_set_balances_bad_rows_change_nothing),
        cmocka_unit_test(test_bulk_set_leverages_bad_rows_change_nothing),
        cmocka_unit_test(test_bulk_open_positions_bad_rows_change_nothing),
        cmocka_unit_test(test_bulk_out_of_memory_changes_nothing),
        cmocka_unit_test(test_bulk_columns_bit_identical_to_structs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
