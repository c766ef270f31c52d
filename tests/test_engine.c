/* SPDX-License-Identifier: Apache-2.0 */
/* test_engine.c: engine lifecycle, asset and instrument registry, market data, lookups,
 * batch evaluation, bad input and out-of-memory paths. */
#include "test_util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const risk_margin_tier one_tier[] = {{1e9, 0.005, 100.0, 0.0, 0}};

/* ================================================================== lifecycle */

static void test_engine_new_with_defaults(void **state)
{
    (void)state;
    risk_engine *e = NULL;
    tu_assert_status(risk_engine_new(&e, NULL), RISK_OK);
    assert_non_null(e);
    uint32_t v = 0;
    tu_assert_status(risk_engine_valuation_asset(e, &v), RISK_OK);
    assert_int_equal(v, RISK_ID_NONE);
    size_t n = 99;
    tu_assert_status(risk_engine_account_count(e, &n), RISK_OK);
    assert_int_equal(n, 0);
    assert_string_equal(risk_engine_errmsg(e), "");
    risk_engine_free(e);
    risk_engine_free(NULL); /* no-op */
}

static void test_engine_new_with_test_allocator_frees_everything(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    assert_true(a.live_blocks > 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 50000.0, one_tier, 1);
    risk_account *acc = tu_account(e, 7, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdt, 1000.0);
    risk_account_free(acc);
    risk_engine_free(e);
    assert_int_equal(a.live_blocks, 0);
    assert_int_equal(a.live_bytes, 0);
}

static void test_engine_new_rejects_null_out(void **state)
{
    (void)state;
    tu_assert_status(risk_engine_new(NULL, NULL), RISK_ENULL);
    risk_engine_options o = RISK_ENGINE_OPTIONS_INIT;
    tu_assert_status(risk_engine_new(NULL, &o), RISK_ENULL);
}

static void test_engine_new_rejects_wrong_version(void **state)
{
    (void)state;
    const uint32_t versions[] = {0u, RISK_ENGINE_OPTIONS_VERSION + 1u, 0xFFFFFFFFu};
    for (size_t i = 0; i < 3; i++) {
        risk_engine_options o = RISK_ENGINE_OPTIONS_INIT;
        o.version = versions[i];
        risk_engine *e = (risk_engine *)&o; /* junk: must become NULL */
        tu_assert_status(risk_engine_new(&e, &o), RISK_EVERSION);
        assert_null(e);
    }
}

static void test_engine_new_rejects_half_set_allocator(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_allocator full = tu_allocator(&a);
    for (int mask = 1; mask < 7; mask++) {
        risk_engine_options o = RISK_ENGINE_OPTIONS_INIT;
        o.allocator.ctx = &a;
        if (mask & 1)
            o.allocator.malloc_fn = full.malloc_fn;
        if (mask & 2)
            o.allocator.realloc_fn = full.realloc_fn;
        if (mask & 4)
            o.allocator.free_fn = full.free_fn;
        risk_engine *e = NULL;
        tu_assert_status(risk_engine_new(&e, &o), RISK_EINVAL);
        assert_null(e);
    }
    assert_int_equal(a.calls, 0);
}

static void test_engine_new_rejects_unknown_flags(void **state)
{
    (void)state;
    risk_engine_options o = RISK_ENGINE_OPTIONS_INIT;
    o.flags = 0x8u;
    risk_engine *e = (risk_engine *)&o;
    tu_assert_status(risk_engine_new(&e, &o), RISK_EINVAL);
    assert_null(e);
    o.flags = RISK_ENGINE_NO_QUANTIZE;
    tu_assert_status(risk_engine_new(&e, &o), RISK_OK);
    risk_engine_free(e);
}

static void test_engine_new_rejects_bad_margin_call_health(void **state)
{
    (void)state;
    const double bad[] = {0.0, 0.999, -1.0, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        risk_engine_options o = RISK_ENGINE_OPTIONS_INIT;
        o.margin_call_health = bad[i];
        risk_engine *e = NULL;
        tu_assert_status(risk_engine_new(&e, &o), RISK_EINVAL);
        assert_null(e);
    }
    risk_engine_options o = RISK_ENGINE_OPTIONS_INIT;
    o.margin_call_health = 1.0;
    risk_engine *e = NULL;
    tu_assert_status(risk_engine_new(&e, &o), RISK_OK);
    risk_engine_free(e);
}

typedef struct {
    tu_alloc *a;
    risk_engine *e;
    int rc;
} oom_new_fx;

static void *oom_new_setup(tu_alloc *a)
{
    oom_new_fx *f = test_calloc(1, sizeof *f);
    f->a = a;
    return f;
}

static int oom_new_op(void *p)
{
    oom_new_fx *f = p;
    risk_engine_options o = RISK_ENGINE_OPTIONS_INIT;
    o.allocator = tu_allocator(f->a);
    f->e = (risk_engine *)f; /* junk */
    return risk_engine_new(&f->e, &o);
}

static void oom_new_failed(void *p)
{
    oom_new_fx *f = p;
    assert_null(f->e);
    assert_int_equal(f->a->live_blocks, 0);
}

static void oom_new_ok(void *p)
{
    oom_new_fx *f = p;
    assert_non_null(f->e);
    (void)tu_asset(f->e, "USDT", 1.0, 6);
}

static void oom_new_teardown(void *p)
{
    oom_new_fx *f = p;
    if (f->e != NULL && f->e != (risk_engine *)f)
        risk_engine_free(f->e);
    test_free(f);
}

static void test_engine_new_out_of_memory(void **state)
{
    (void)state;
    tu_oom_case c = {oom_new_setup, oom_new_op, oom_new_failed, oom_new_ok, oom_new_teardown};
    unsigned n = tu_oom_walk(&c);
    assert_true(n >= 1);
}

/* Freeing the engine first is safe: its accounts and baskets keep it alive. */
static void test_engine_freed_before_children_is_safe(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    uint32_t inst = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 50000.0, one_tier, 1);
    risk_account *acc1 = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_account *acc2 = tu_account(e, 2, RISK_MARGIN_ISOLATED, RISK_POSITION_HEDGE);
    risk_basket *b = NULL;
    tu_assert_status(risk_basket_new(&b, e), RISK_OK);
    tu_balance(acc1, usdt, 10000.0);
    risk_position *p = tu_open_simple(acc1, inst, 0.1, 50000.0);
    tu_assert_status(risk_basket_set_balance(b, btc, 2.0), RISK_OK);

    risk_engine_free(e);
    assert_true(a.live_blocks > 0);

    /* Children still work. */
    risk_account_summary s = tu_eval(acc1);
    tu_assert_near(s.equity, 10000.0, 1e-6);
    tu_assert_status(risk_position_adjust(p, 0.1, 50000.0), RISK_OK);
    risk_basket_summary bs = tu_basket_eval(b);
    tu_assert_near(bs.collateral_value, 100000.0, 1e-6);
    tu_assert_status(risk_basket_add_balance(b, btc, 1.0), RISK_OK);

    risk_account_free(acc2);
    risk_basket_free(b);
    assert_true(a.live_blocks > 0);
    risk_account_free(acc1); /* the last child: the engine goes with it */
    assert_int_equal(a.live_blocks, 0);
}

static void test_engine_freed_after_children(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    (void)tu_asset(e, "USDT", 1.0, 6);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_basket *b = NULL;
    tu_assert_status(risk_basket_new(&b, e), RISK_OK);
    risk_basket_free(b);
    risk_account_free(acc);
    size_t n = 9;
    tu_assert_status(risk_engine_account_count(e, &n), RISK_OK);
    assert_int_equal(n, 0);
    risk_engine_free(e);
    assert_int_equal(a.live_blocks, 0);
}

/* ================================================================== assets */

static void test_engine_add_asset_dense_ids_and_lookup(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t v = 0;
    tu_assert_status(risk_engine_valuation_asset(e, &v), RISK_OK);
    assert_int_equal(v, RISK_ID_NONE);
    tu_assert_status(risk_engine_set_valuation_asset(e, 0), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_engine_errmsg(e));

    assert_int_equal(tu_asset(e, "USDT", 1.0, 6), 0);
    assert_int_equal(tu_asset(e, "BTC", 50000.0, 8), 1);
    risk_asset_spec s = RISK_ASSET_SPEC_INIT;
    s.symbol = "ETH";
    s.price = 3000.0;
    tu_assert_status(risk_engine_add_asset(e, &s, NULL), RISK_OK); /* id_out may be NULL */

    uint32_t id = 99;
    tu_assert_status(risk_engine_find_asset(e, "ETH", &id), RISK_OK);
    assert_int_equal(id, 2);
    tu_assert_status(risk_engine_find_asset(e, "BTC", &id), RISK_OK);
    assert_int_equal(id, 1);
    double p = 0;
    tu_assert_status(risk_engine_asset_price(e, 1, &p), RISK_OK);
    tu_assert_bits(p, 50000.0);
    tu_assert_status(risk_engine_valuation_asset(e, &v), RISK_OK);
    assert_int_equal(v, 0); /* the first asset registered */

    /* The symbol is copied. */
    char sym[8] = "SOL";
    s.symbol = sym;
    s.price = 150.0;
    tu_assert_status(risk_engine_add_asset(e, &s, &id), RISK_OK);
    strcpy(sym, "XXX");
    tu_assert_status(risk_engine_find_asset(e, "SOL", &id), RISK_OK);
    assert_int_equal(id, 3);
    tu_assert_status(risk_engine_find_asset(e, "XXX", &id), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_engine_errmsg(e));

    /* Symbols are case-sensitive, 31 bytes are fine. */
    s.symbol = "usdt";
    tu_assert_status(risk_engine_add_asset(e, &s, &id), RISK_OK);
    s.symbol = "A234567890123456789012345678901"; /* 31 bytes */
    tu_assert_status(risk_engine_add_asset(e, &s, &id), RISK_OK);
    assert_int_equal(id, 5);
    risk_engine_free(e);
}

static const risk_value_tier good_vt[] = {{10.0, 0.98}, {20.0, 0.95}, {INFINITY, 0.5}};
static const risk_value_tier vt_equal[] = {{10.0, 0.98}, {10.0, 0.95}};
static const risk_value_tier vt_down[] = {{20.0, 0.98}, {10.0, 0.95}};
static const risk_value_tier vt_ratio_hi[] = {{10.0, 1.01}};
static const risk_value_tier vt_ratio_lo[] = {{10.0, -0.01}};
static const risk_value_tier vt_ratio_nan[] = {{10.0, NAN}};
static const risk_value_tier vt_bound_nan[] = {{NAN, 0.9}, {10.0, 0.5}};
static const risk_value_tier vt_bound_neg[] = {{-1.0, 0.9}};
static risk_value_tier vt_many[65];

/* Case i of bad asset specs: fills *s (from a good spec), returns the expected status,
 * *alt an acceptable alternative (or -1); returns -1 after the last case. */
static int bad_asset_case(int i, risk_asset_spec *s, int *alt, const char **what)
{
    risk_asset_spec good = RISK_ASSET_SPEC_INIT;
    good.symbol = "NEW";
    good.price = 10.0;
    good.decimals = 8;
    good.weight_init = 0.8;
    good.weight_maint = 0.9;
    good.liab_weight_init = 1.2;
    good.liab_weight_maint = 1.1;
    *s = good;
    *alt = -1;
    switch (i) {
    case 0: *what = "version 0"; s->version = 0; return RISK_EVERSION;
    case 1: *what = "version 2"; s->version = RISK_ASSET_SPEC_VERSION + 1; return RISK_EVERSION;
    case 2: *what = "symbol NULL"; s->symbol = NULL; return RISK_ENULL;
    case 3: *what = "symbol empty"; s->symbol = ""; return RISK_EINVAL;
    case 4: *what = "symbol 32 bytes"; s->symbol = "A2345678901234567890123456789012"; return RISK_EINVAL;
    case 5: *what = "duplicate"; s->symbol = "USDT"; return RISK_EDUPLICATE;
    case 6: *what = "price 0"; s->price = 0.0; return RISK_EINVAL;
    case 7: *what = "price < 0"; s->price = -1.0; return RISK_EINVAL;
    case 8: *what = "price NaN"; s->price = NAN; return RISK_EINVAL;
    case 9: *what = "price Inf"; s->price = INFINITY; return RISK_EINVAL;
    case 10: *what = "decimals 19"; s->decimals = 19; return RISK_EINVAL;
    case 11: *what = "weight_init > weight_maint"; s->weight_init = 0.95; return RISK_EINVAL;
    case 12: *what = "weight_maint > 1"; s->weight_maint = 1.1; return RISK_EINVAL;
    case 13: *what = "weight_init < 0"; s->weight_init = -0.1; return RISK_EINVAL;
    case 14: *what = "weight_maint NaN"; s->weight_maint = NAN; return RISK_EINVAL;
    case 15: *what = "weight_init NaN"; s->weight_init = NAN; return RISK_EINVAL;
    case 16: *what = "liab_weight_maint < 1"; s->liab_weight_maint = 0.9; s->liab_weight_init = 1.0; return RISK_EINVAL;
    case 17: *what = "liab_weight_init < liab_weight_maint"; s->liab_weight_init = 1.05; return RISK_EINVAL;
    case 18: *what = "liab_weight_init NaN"; s->liab_weight_init = NAN; return RISK_EINVAL;
    case 19: *what = "liab_weight_init Inf"; s->liab_weight_init = INFINITY; return RISK_EINVAL;
    case 20: *what = "value tiers equal"; s->value_tiers = vt_equal; s->n_value_tiers = 2; return RISK_ETIERS;
    case 21: *what = "value tiers down"; s->value_tiers = vt_down; s->n_value_tiers = 2; return RISK_ETIERS;
    case 22: *what = "ratio > 1"; s->value_tiers = vt_ratio_hi; s->n_value_tiers = 1; return RISK_ETIERS;
    case 23: *what = "ratio < 0"; s->value_tiers = vt_ratio_lo; s->n_value_tiers = 1; return RISK_ETIERS;
    case 24: *what = "ratio NaN"; s->value_tiers = vt_ratio_nan; s->n_value_tiers = 1; *alt = RISK_EINVAL; return RISK_ETIERS;
    case 25: *what = "65 value tiers"; s->value_tiers = vt_many; s->n_value_tiers = 65; *alt = RISK_EINVAL; return RISK_ETIERS;
    case 26: *what = "value tiers NULL, n 2"; s->value_tiers = NULL; s->n_value_tiers = 2; *alt = RISK_EINVAL; return RISK_ENULL;
    case 27: *what = "value tier bound NaN"; s->value_tiers = vt_bound_nan; s->n_value_tiers = 2; *alt = RISK_EINVAL; return RISK_ETIERS;
    case 28: *what = "value tier bound < 0"; s->value_tiers = vt_bound_neg; s->n_value_tiers = 1; *alt = RISK_EINVAL; return RISK_ETIERS;
    case 29: *what = "decimals huge"; s->decimals = 0xFFFFFFFFu; return RISK_EINVAL;
    default: return -1;
    }
}

static void test_engine_add_asset_rejects_bad_input(void **state)
{
    (void)state;
    for (int k = 0; k < 65; k++) {
        vt_many[k].up_to_qty = (double)(k + 1);
        vt_many[k].ratio = 0.5;
    }
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    (void)tu_asset(e, "USDT", 1.0, 6);
    (void)tu_asset(e, "BTC", 50000.0, 8);

    /* NULL handles. */
    risk_asset_spec s = RISK_ASSET_SPEC_INIT;
    s.symbol = "NEW";
    s.price = 1.0;
    uint32_t id = 1234;
    tu_assert_status(risk_engine_add_asset(NULL, &s, &id), RISK_ENULL);
    tu_engine_snap snap;
    tu_engine_snap_take(e, &snap);
    tu_assert_status(risk_engine_add_asset(e, NULL, &id), RISK_ENULL);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_engine_snap_check(e, &snap, 0);

    int alt;
    const char *what = "";
    for (int i = 0;; i++) {
        int want = bad_asset_case(i, &s, &alt, &what);
        if (want < 0)
            break;
        tu_engine_snap_take(e, &snap);
        int rc = risk_engine_add_asset(e, &s, &id);
        if (rc != want && rc != alt)
            print_error("case %d (%s)\n", i, what);
        assert_true(rc == want || rc == alt);
        tu_assert_errmsg(risk_engine_errmsg(e));
        tu_engine_snap_check(e, &snap, 0);
        uint32_t found = 0;
        if (s.symbol != NULL && strcmp(s.symbol, "USDT") != 0)
            tu_assert_status(risk_engine_find_asset(e, s.symbol, &found), RISK_ENOTFOUND);
    }
    /* Nothing was registered: the next good asset takes the next dense id. */
    bad_asset_case(1000, &s, &alt, &what);
    s.value_tiers = good_vt;
    s.n_value_tiers = 3; /* INFINITY allowed on the last tier */
    tu_assert_status(risk_engine_add_asset(e, &s, &id), RISK_OK);
    assert_int_equal(id, 2);
    risk_engine_free(e);
}

static void test_engine_add_asset_weight_edges_accepted(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    (void)tu_asset(e, "USDT", 1.0, 0);
    (void)tu_asset_w(e, "ZERO", 1.0, 18, 0.0, 0.0, 1.0, 1.0);   /* weight 0, decimals 18 */
    (void)tu_asset_w(e, "ONE", 1.0, 8, 1.0, 1.0, 1.0, 1.0);
    (void)tu_asset_w(e, "LIAB", 1.0, 8, 0.5, 0.5, 2.0, 2.0);
    risk_engine_free(e);
}

typedef struct {
    tu_alloc *a;
    risk_engine *e;
    tu_engine_snap snap;
    uint32_t id;
} eng_fx;

static void *oom_asset_setup(tu_alloc *a)
{
    eng_fx *f = test_calloc(1, sizeof *f);
    f->a = a;
    f->e = tu_engine(a, 0);
    (void)tu_asset(f->e, "USDT", 1.0, 6);
    tu_engine_snap_take(f->e, &f->snap);
    return f;
}

static int oom_asset_op(void *p)
{
    eng_fx *f = p;
    risk_asset_spec s = RISK_ASSET_SPEC_INIT;
    s.symbol = "BTC";
    s.price = 50000.0;
    s.value_tiers = good_vt;
    s.n_value_tiers = 3;
    f->id = 777;
    return risk_engine_add_asset(f->e, &s, &f->id);
}

static void oom_asset_failed(void *p)
{
    eng_fx *f = p;
    tu_assert_errmsg(risk_engine_errmsg(f->e));
    tu_engine_snap_check(f->e, &f->snap, 0);
    uint32_t id;
    tu_assert_status(risk_engine_find_asset(f->e, "BTC", &id), RISK_ENOTFOUND);
}

static void oom_asset_ok(void *p)
{
    eng_fx *f = p;
    assert_int_equal(f->id, 1);
    uint32_t id = 9;
    tu_assert_status(risk_engine_find_asset(f->e, "BTC", &id), RISK_OK);
    assert_int_equal(id, 1);
}

static void eng_fx_teardown(void *p)
{
    eng_fx *f = p;
    risk_engine_free(f->e);
    test_free(f);
}

static void test_engine_add_asset_out_of_memory(void **state)
{
    (void)state;
    tu_oom_case c = {oom_asset_setup, oom_asset_op, oom_asset_failed, oom_asset_ok, eng_fx_teardown};
    unsigned n = tu_oom_walk(&c);
    assert_true(n >= 1);
}

/* Registering many assets and instruments in a row, walked through every allocation: the
 * registrations before the failing one stand, the failing one left no trace. */
static int oom_grow_n;

static void *oom_grow_setup(tu_alloc *a)
{
    eng_fx *f = test_calloc(1, sizeof *f);
    f->a = a;
    f->e = tu_engine(a, 0);
    (void)tu_asset(f->e, "USDT", 1.0, 6);
    return f;
}

static int oom_grow_op(void *p)
{
    eng_fx *f = p;
    char sym[16];
    static const risk_value_tier vt[] = {{1.0, 0.9}, {2.0, 0.8}};
    oom_grow_n = 0;
    for (int i = 0; i < 40; i++) {
        risk_asset_spec s = RISK_ASSET_SPEC_INIT;
        snprintf(sym, sizeof sym, "A%d", i);
        s.symbol = sym;
        s.price = 1.0 + i;
        s.value_tiers = i % 2 ? vt : NULL;
        s.n_value_tiers = i % 2 ? 2 : 0;
        int rc = risk_engine_add_asset(f->e, &s, NULL);
        if (rc != RISK_OK)
            return rc;
        risk_instrument_spec is = tu_linear_spec(sym, (uint32_t)i + 1, 0, 1.0, 1.0, 0.01, 10.0, one_tier, 1);
        rc = risk_engine_add_instrument(f->e, &is, NULL);
        if (rc != RISK_OK)
            return rc;
        oom_grow_n++;
    }
    return RISK_OK;
}

static void oom_grow_failed(void *p)
{
    eng_fx *f = p;
    tu_assert_errmsg(risk_engine_errmsg(f->e));
    tu_engine_snap snap;
    tu_engine_snap_take(f->e, &snap);
    /* Assets 0..n (USDT plus the completed pairs, perhaps one more asset) and n instruments. */
    assert_int_equal(snap.n_instruments, (size_t)oom_grow_n);
    assert_true(snap.n_assets == (size_t)oom_grow_n + 1 || snap.n_assets == (size_t)oom_grow_n + 2);
    for (size_t i = 1; i < snap.n_assets; i++)
        tu_assert_bits(snap.prices[i], (double)i);
    char sym[16];
    uint32_t id;
    snprintf(sym, sizeof sym, "A%d", (int)snap.n_assets - 1);
    tu_assert_status(risk_engine_find_asset(f->e, sym, &id), RISK_ENOTFOUND);
}

static void test_engine_registry_growth_out_of_memory(void **state)
{
    (void)state;
    tu_oom_case c = {oom_grow_setup, oom_grow_op, oom_grow_failed, NULL, eng_fx_teardown};
    assert_true(tu_oom_walk(&c) >= 40);
}

/* Many assets: the registry grows (realloc paths) and keeps every entry. */
static void test_engine_add_many_assets(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    char sym[16];
    for (int i = 0; i < 300; i++) {
        snprintf(sym, sizeof sym, "A%d", i);
        assert_int_equal(tu_asset(e, sym, i == 0 ? 1.0 : (double)i, 8), (uint32_t)i);
    }
    for (int i = 0; i < 300; i++) {
        snprintf(sym, sizeof sym, "A%d", i);
        uint32_t id = 0;
        tu_assert_status(risk_engine_find_asset(e, sym, &id), RISK_OK);
        assert_int_equal(id, (uint32_t)i);
        double p = 0;
        tu_assert_status(risk_engine_asset_price(e, id, &p), RISK_OK);
        tu_assert_bits(p, i == 0 ? 1.0 : (double)i);
    }
    risk_engine_free(e);
}

/* ================================================================== instruments */

static void test_engine_add_instrument_linear_inverse_future(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    assert_int_equal(tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 50000.0, one_tier, 1), 0);
    assert_int_equal(tu_inverse(e, "BTCUSD", btc, 100.0, 1.0, 0.5, 50010.0, one_tier, 1), 1);
    risk_instrument_spec fs = tu_linear_spec("BTCUSDT_0628", btc, usdt, 1.0, 0.001, 0.1, 50500.0, one_tier, 1);
    fs.kind = RISK_KIND_FUTURE;
    fs.expiry_unix_s = 1719561600; /* 2024-06-28T08:00:00Z */
    fs.mm_price = RISK_MM_PRICE_ENTRY;
    assert_int_equal(tu_instrument(e, &fs), 2);

    uint32_t id = 9;
    tu_assert_status(risk_engine_find_instrument(e, "BTCUSD", &id), RISK_OK);
    assert_int_equal(id, 1);
    tu_assert_status(risk_engine_find_instrument(e, "BTCUSDT_0628", &id), RISK_OK);
    assert_int_equal(id, 2);
    tu_assert_status(risk_engine_find_instrument(e, "ETHUSDT", &id), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_engine_errmsg(e));
    /* Instruments and assets have separate namespaces. */
    tu_assert_status(risk_engine_find_instrument(e, "BTC", &id), RISK_ENOTFOUND);
    double m = 0;
    tu_assert_status(risk_engine_mark(e, 1, &m), RISK_OK);
    tu_assert_bits(m, 50010.0);
    tu_assert_status(risk_engine_mark(e, 2, &m), RISK_OK);
    tu_assert_bits(m, 50500.0);
    risk_engine_free(e);
}

/* The last tier's cap is ignored (unbounded): the faults sit in earlier tiers. */
static const risk_margin_tier t_equal[] = {{1000, 0.01, 50, 0, 0}, {1000, 0.02, 20, 0, 0}, {5000, 0.03, 10, 0, 0}};
static const risk_margin_tier t_down[] = {{2000, 0.01, 50, 0, 0}, {1000, 0.02, 20, 0, 0}, {5000, 0.03, 10, 0, 0}};
static const risk_margin_tier t_last_cap_free[] = {{2000, 0.01, 50, 0, 0}, {1000, 0.02, 20, 0, 0}};
static const risk_margin_tier t_mmr1[] = {{1000, 1.0, 50, 0, 0}};
static const risk_margin_tier t_mmr_neg[] = {{1000, -0.01, 50, 0, 0}};
static const risk_margin_tier t_mmr_nan[] = {{1000, NAN, 50, 0, 0}};
static const risk_margin_tier t_lev_lo[] = {{1000, 0.01, 0.5, 0, 0}};
static const risk_margin_tier t_lev_up[] = {{1000, 0.01, 20, 0, 0}, {2000, 0.02, 50, 0, 0}};
static const risk_margin_tier t_cum_neg[] = {{1000, 0.01, 50, 0, 0}, {2000, 0.02, 20, -5.0, 1}};
static const risk_margin_tier t_cap_nan[] = {{NAN, 0.01, 50, 0, 0}, {2000, 0.02, 20, 0, 0}};
static const risk_margin_tier t_lev_nan[] = {{1000, 0.01, NAN, 0, 0}};
static const risk_margin_tier t_cum_nan[] = {{1000, 0.01, 50, 0, 0}, {2000, 0.02, 20, NAN, 1}};
static const risk_margin_tier t_cap_neg[] = {{-1000, 0.01, 50, 0, 0}, {2000, 0.02, 20, 0, 0}};
static risk_margin_tier t_many[65];

static int bad_instrument_case(int i, risk_instrument_spec *s, int *alt, const char **what)
{
    /* assets: 0 USDT, 1 BTC, 2 ETH */
    *s = tu_linear_spec("NEWPERP", 1, 0, 1.0, 0.001, 0.1, 50000.0, one_tier, 1);
    *alt = -1;
    switch (i) {
    case 0: *what = "version 0"; s->version = 0; return RISK_EVERSION;
    case 1: *what = "version 2"; s->version = RISK_INSTRUMENT_SPEC_VERSION + 1; return RISK_EVERSION;
    case 2: *what = "symbol NULL"; s->symbol = NULL; return RISK_ENULL;
    case 3: *what = "symbol empty"; s->symbol = ""; return RISK_EINVAL;
    case 4: *what = "symbol 32 bytes"; s->symbol = "P2345678901234567890123456789012"; return RISK_EINVAL;
    case 5: *what = "duplicate"; s->symbol = "BTCUSDT"; return RISK_EDUPLICATE;
    case 6: *what = "tiers NULL"; s->tiers = NULL; return RISK_ENULL;
    case 7: *what = "unknown underlying"; s->underlying = 17; return RISK_ENOTFOUND;
    case 8: *what = "unknown settle"; s->settle = 17; return RISK_ENOTFOUND;
    case 9: *what = "underlying NONE"; s->underlying = RISK_ID_NONE; return RISK_ENOTFOUND;
    case 10: *what = "inverse settled elsewhere"; s->inverse = 1; return RISK_EINVAL;
    case 11: *what = "linear settled in underlying"; s->settle = 1; return RISK_EINVAL;
    case 12: *what = "inverse 2"; s->inverse = 2; return RISK_EINVAL;
    case 13: *what = "mm_price 2"; s->mm_price = 2; return RISK_EINVAL;
    case 14: *what = "kind 0"; s->kind = 0; return RISK_EINVAL;
    case 15: *what = "kind 4"; s->kind = 4; return RISK_EINVAL; /* 3 is RISK_KIND_OPTION */
    case 16: *what = "future without expiry"; s->kind = RISK_KIND_FUTURE; s->expiry_unix_s = 0; return RISK_EINVAL;
    case 17: *what = "future negative expiry"; s->kind = RISK_KIND_FUTURE; s->expiry_unix_s = -5; return RISK_EINVAL;
    case 18: *what = "perpetual with expiry"; s->expiry_unix_s = 1719561600; return RISK_EINVAL;
    case 19: *what = "contract size 0"; s->contract_size = 0.0; return RISK_EINVAL;
    case 20: *what = "contract size < 0"; s->contract_size = -1.0; return RISK_EINVAL;
    case 21: *what = "contract size NaN"; s->contract_size = NAN; return RISK_EINVAL;
    case 22: *what = "lot 0"; s->lot_size = 0.0; return RISK_EINVAL;
    case 23: *what = "lot NaN"; s->lot_size = NAN; return RISK_EINVAL;
    case 24: *what = "lot Inf"; s->lot_size = INFINITY; return RISK_EINVAL;
    case 25: *what = "tick 0"; s->tick_size = 0.0; return RISK_EINVAL;
    case 26: *what = "tick < 0"; s->tick_size = -0.1; return RISK_EINVAL;
    case 27: *what = "tick Inf"; s->tick_size = INFINITY; return RISK_EINVAL;
    case 28: *what = "mark 0"; s->mark = 0.0; return RISK_EINVAL;
    case 29: *what = "mark < 0"; s->mark = -50000.0; return RISK_EINVAL;
    case 30: *what = "mark NaN"; s->mark = NAN; return RISK_EINVAL;
    case 31: *what = "mark Inf"; s->mark = INFINITY; return RISK_EINVAL;
    case 32: *what = "no tiers"; s->n_tiers = 0; *alt = RISK_EINVAL; return RISK_ETIERS;
    case 33: *what = "65 tiers"; s->tiers = t_many; s->n_tiers = 65; *alt = RISK_EINVAL; return RISK_ETIERS;
    case 34: *what = "caps equal"; s->tiers = t_equal; s->n_tiers = 3; return RISK_ETIERS;
    case 35: *what = "caps down"; s->tiers = t_down; s->n_tiers = 3; return RISK_ETIERS;
    case 36: *what = "mmr 1"; s->tiers = t_mmr1; s->n_tiers = 1; return RISK_ETIERS;
    case 37: *what = "mmr < 0"; s->tiers = t_mmr_neg; s->n_tiers = 1; return RISK_ETIERS;
    case 38: *what = "mmr NaN"; s->tiers = t_mmr_nan; s->n_tiers = 1; *alt = RISK_EINVAL; return RISK_ETIERS;
    case 39: *what = "max leverage < 1"; s->tiers = t_lev_lo; s->n_tiers = 1; return RISK_ETIERS;
    case 40: *what = "max leverage rising"; s->tiers = t_lev_up; s->n_tiers = 2; return RISK_ETIERS;
    case 41: *what = "given cum negative"; s->tiers = t_cum_neg; s->n_tiers = 2; return RISK_ETIERS;
    case 42: *what = "cap NaN"; s->tiers = t_cap_nan; s->n_tiers = 2; *alt = RISK_EINVAL; return RISK_ETIERS;
    case 43: *what = "inverse linear-style settle"; s->inverse = 1; s->settle = 2; s->underlying = 1; return RISK_EINVAL;
    case 44: *what = "max leverage NaN"; s->tiers = t_lev_nan; s->n_tiers = 1; *alt = RISK_EINVAL; return RISK_ETIERS;
    case 45: *what = "given cum NaN"; s->tiers = t_cum_nan; s->n_tiers = 2; *alt = RISK_EINVAL; return RISK_ETIERS;
    case 46: *what = "cap negative"; s->tiers = t_cap_neg; s->n_tiers = 2; *alt = RISK_EINVAL; return RISK_ETIERS;
    case 47: *what = "lot < 0"; s->lot_size = -0.001; return RISK_EINVAL;
    case 48: *what = "contract size Inf"; s->contract_size = INFINITY; return RISK_EINVAL;
    case 49: *what = "settle NONE"; s->settle = RISK_ID_NONE; return RISK_ENOTFOUND;
    default: return -1;
    }
}

static void test_engine_add_instrument_rejects_bad_input(void **state)
{
    (void)state;
    for (int k = 0; k < 65; k++)
        t_many[k] = tu_tier(1000.0 * (k + 1), 0.001 * (k + 1) / 10.0, 100.0);
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    (void)tu_asset(e, "ETH", 3000.0, 8);
    (void)tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 50000.0, one_tier, 1);

    risk_instrument_spec s;
    int alt;
    const char *what = "";
    uint32_t id = 4242;
    bad_instrument_case(1000, &s, &alt, &what);
    tu_assert_status(risk_engine_add_instrument(NULL, &s, &id), RISK_ENULL);
    tu_engine_snap snap;
    tu_engine_snap_take(e, &snap);
    tu_assert_status(risk_engine_add_instrument(e, NULL, &id), RISK_ENULL);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_engine_snap_check(e, &snap, 0);

    for (int i = 0;; i++) {
        int want = bad_instrument_case(i, &s, &alt, &what);
        if (want < 0)
            break;
        tu_engine_snap_take(e, &snap);
        int rc = risk_engine_add_instrument(e, &s, &id);
        if (rc != want && rc != alt)
            print_error("case %d (%s): got %s\n", i, what, risk_errname(rc));
        assert_true(rc == want || rc == alt);
        tu_assert_errmsg(risk_engine_errmsg(e));
        tu_engine_snap_check(e, &snap, 0);
    }
    bad_instrument_case(1000, &s, &alt, &what);
    tu_assert_status(risk_engine_add_instrument(e, &s, &id), RISK_OK);
    assert_int_equal(id, 1);
    /* The last tier's cap is not a bound: any value is accepted. */
    s.symbol = "LASTCAP";
    s.tiers = t_last_cap_free;
    s.n_tiers = 2;
    tu_assert_status(risk_engine_add_instrument(e, &s, &id), RISK_OK);
    assert_int_equal(id, 2);
    risk_engine_free(e);
}

static void test_engine_add_instrument_tiers_copied(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    risk_margin_tier t[2] = {tu_tier(50000, 0.004, 125), tu_tier(250000, 0.005, 100)};
    char sym[16] = "BTCUSDT";
    risk_instrument_spec s = tu_linear_spec(sym, btc, usdt, 1.0, 0.001, 0.1, 50000.0, t, 2);
    uint32_t id = tu_instrument(e, &s);
    t[0].mmr = 0.5;
    t[1].notional_cap = 1.0;
    strcpy(sym, "ZZZ");
    risk_margin_tier got[2];
    size_t n = 0;
    tu_assert_status(risk_engine_instrument_tiers(e, id, got, 2, &n), RISK_OK);
    assert_int_equal(n, 2);
    tu_assert_bits(got[0].mmr, 0.004);
    tu_assert_bits(got[0].notional_cap, 50000.0);
    tu_assert_bits(got[1].mmr, 0.005);
    tu_assert_bits(got[1].max_leverage, 100.0);
    uint32_t found = 9;
    tu_assert_status(risk_engine_find_instrument(e, "BTCUSDT", &found), RISK_OK);
    assert_int_equal(found, id);
    risk_engine_free(e);
}

static void *oom_instrument_setup(tu_alloc *a)
{
    eng_fx *f = test_calloc(1, sizeof *f);
    f->a = a;
    f->e = tu_engine(a, 0);
    uint32_t usdt = tu_asset(f->e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(f->e, "BTC", 50000.0, 8);
    (void)tu_linear(f->e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 50000.0, one_tier, 1);
    tu_engine_snap_take(f->e, &f->snap);
    return f;
}

static int oom_instrument_op(void *p)
{
    eng_fx *f = p;
    static const risk_margin_tier t[3] = {
        {50000, 0.004, 125, 0, 0}, {250000, 0.005, 100, 0, 0}, {1000000, 0.01, 50, 1300.0, 1}};
    risk_instrument_spec s = tu_inverse_spec("BTCUSD", 1, 100.0, 1.0, 0.5, 50000.0, t, 3);
    f->id = 777;
    return risk_engine_add_instrument(f->e, &s, &f->id);
}

static void oom_instrument_failed(void *p)
{
    eng_fx *f = p;
    tu_assert_errmsg(risk_engine_errmsg(f->e));
    tu_engine_snap_check(f->e, &f->snap, 0);
    uint32_t id;
    tu_assert_status(risk_engine_find_instrument(f->e, "BTCUSD", &id), RISK_ENOTFOUND);
}

static void oom_instrument_ok(void *p)
{
    eng_fx *f = p;
    assert_int_equal(f->id, 1);
    size_t n = 0;
    risk_margin_tier t[3];
    tu_assert_status(risk_engine_instrument_tiers(f->e, 1, t, 3, &n), RISK_OK);
    assert_int_equal(n, 3);
    tu_assert_near(t[1].cum, 50.0, 1e-9);
}

static void test_engine_add_instrument_out_of_memory(void **state)
{
    (void)state;
    tu_oom_case c = {oom_instrument_setup, oom_instrument_op, oom_instrument_failed, oom_instrument_ok,
                     eng_fx_teardown};
    unsigned n = tu_oom_walk(&c);
    assert_true(n >= 1);
}

/* ================================================================== valuation asset */

static void test_engine_valuation_asset_default_and_set(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, RISK_ENGINE_NO_QUANTIZE);
    uint32_t usd = tu_asset(e, "USD", 1.0, 2);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    uint32_t v = 9;
    tu_assert_status(risk_engine_valuation_asset(e, &v), RISK_OK);
    assert_int_equal(v, usd);

    /* The valuation asset's price stays 1. */
    tu_engine_snap snap;
    tu_engine_snap_take(e, &snap);
    tu_assert_status(risk_engine_set_asset_price(e, usd, 1.01), RISK_EINVAL);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_engine_snap_check(e, &snap, 0);

    /* Only an asset priced at 1 can become V. */
    tu_assert_status(risk_engine_set_valuation_asset(e, btc), RISK_EINVAL);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_engine_snap_check(e, &snap, 0);
    tu_assert_status(risk_engine_set_valuation_asset(e, 99), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_engine_snap_check(e, &snap, 0);
    tu_assert_status(risk_engine_set_valuation_asset(NULL, usdt), RISK_ENULL);

    tu_assert_status(risk_engine_set_valuation_asset(e, usdt), RISK_OK);
    tu_assert_status(risk_engine_valuation_asset(e, &v), RISK_OK);
    assert_int_equal(v, usdt);
    /* Now USD may move and USDT may not. */
    tu_price(e, usd, 0.999);
    tu_assert_status(risk_engine_set_asset_price(e, usdt, 1.001), RISK_EINVAL);

    /* Summaries are in the new V. */
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usd, 1000.0);
    tu_balance(acc, btc, 0.01);
    risk_account_summary s = tu_eval(acc);
    tu_assert_rel(s.collateral_value, 999.0 + 500.0, 1e-14);
    tu_assert_rel(s.equity, 1499.0, 1e-14);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* ================================================================== market data */

static void test_engine_set_asset_price_rejects_bad_input(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    const double bad[] = {0.0, -0.0, -1.0, NAN, -NAN, INFINITY, -INFINITY};
    tu_engine_snap snap;
    tu_engine_snap_take(e, &snap);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_assert_status(risk_engine_set_asset_price(e, btc, bad[i]), RISK_EINVAL);
        tu_assert_errmsg(risk_engine_errmsg(e));
        tu_engine_snap_check(e, &snap, 0);
    }
    tu_assert_status(risk_engine_set_asset_price(e, 2, 5.0), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_assert_status(risk_engine_set_asset_price(e, RISK_ID_NONE, 5.0), RISK_ENOTFOUND);
    tu_assert_status(risk_engine_set_asset_price(NULL, btc, 5.0), RISK_ENULL);
    tu_assert_status(risk_engine_set_asset_price(e, usdt, 2.0), RISK_EINVAL);
    tu_engine_snap_check(e, &snap, 0);
    tu_assert_status(risk_engine_set_asset_price(e, usdt, 1.0), RISK_OK);
    tu_price(e, btc, 51234.5);
    double p = 0;
    tu_assert_status(risk_engine_asset_price(e, btc, &p), RISK_OK);
    tu_assert_bits(p, 51234.5);
    tu_assert_status(risk_engine_asset_price(e, btc, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_asset_price(NULL, btc, &p), RISK_ENULL);
    tu_assert_status(risk_engine_asset_price(e, 5, &p), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_engine_errmsg(e));
    risk_engine_free(e);
}

static void test_engine_set_asset_prices_all_or_none(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    (void)tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    uint32_t eth = tu_asset(e, "ETH", 3000.0, 8);
    uint32_t sol = tu_asset(e, "SOL", 150.0, 8);

    uint32_t ids[3] = {btc, eth, sol};
    double ok[3] = {51000.0, 3100.0, 155.0};
    tu_assert_status(risk_engine_set_asset_prices(e, ids, ok, 3), RISK_OK);
    double p = 0;
    tu_assert_status(risk_engine_asset_price(e, sol, &p), RISK_OK);
    tu_assert_bits(p, 155.0);

    tu_engine_snap snap;
    tu_engine_snap_take(e, &snap);
    double bad_last[3] = {52000.0, 3200.0, NAN};
    tu_assert_status(risk_engine_set_asset_prices(e, ids, bad_last, 3), RISK_EINVAL);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_engine_snap_check(e, &snap, 0);
    double bad_mid[3] = {52000.0, -1.0, 160.0};
    tu_assert_status(risk_engine_set_asset_prices(e, ids, bad_mid, 3), RISK_EINVAL);
    tu_engine_snap_check(e, &snap, 0);
    uint32_t ids_unknown[3] = {btc, eth, 44};
    tu_assert_status(risk_engine_set_asset_prices(e, ids_unknown, ok, 3), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_engine_snap_check(e, &snap, 0);
    uint32_t ids_v[2] = {btc, 0};
    double v_bad[2] = {60000.0, 2.0};
    tu_assert_status(risk_engine_set_asset_prices(e, ids_v, v_bad, 2), RISK_EINVAL);
    tu_engine_snap_check(e, &snap, 0);
    tu_assert_status(risk_engine_set_asset_prices(e, NULL, ok, 3), RISK_ENULL);
    tu_assert_status(risk_engine_set_asset_prices(e, ids, NULL, 3), RISK_ENULL);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_assert_status(risk_engine_set_asset_prices(NULL, ids, ok, 3), RISK_ENULL);
    tu_engine_snap_check(e, &snap, 0);
    tu_assert_status(risk_engine_set_asset_prices(e, NULL, NULL, 0), RISK_OK);
    tu_engine_snap_check(e, &snap, 0);
    /* A repeated id: the last one wins. */
    uint32_t rep[2] = {btc, btc};
    double rp[2] = {1.0, 2.0};
    tu_assert_status(risk_engine_set_asset_prices(e, rep, rp, 2), RISK_OK);
    tu_assert_status(risk_engine_asset_price(e, btc, &p), RISK_OK);
    tu_assert_bits(p, 2.0);
    risk_engine_free(e);
}

static void test_engine_set_mark_rejects_bad_input(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    uint32_t i0 = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 50000.0, one_tier, 1);
    uint32_t i1 = tu_inverse(e, "BTCUSD", btc, 100.0, 1.0, 0.5, 50000.0, one_tier, 1);
    const double bad[] = {0.0, -1.0, NAN, INFINITY, -INFINITY};
    tu_engine_snap snap;
    tu_engine_snap_take(e, &snap);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_assert_status(risk_engine_set_mark(e, i0, bad[i]), RISK_EINVAL);
        tu_assert_errmsg(risk_engine_errmsg(e));
        tu_engine_snap_check(e, &snap, 0);
    }
    tu_assert_status(risk_engine_set_mark(e, 2, 1.0), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_assert_status(risk_engine_set_mark(NULL, i0, 1.0), RISK_ENULL);
    tu_engine_snap_check(e, &snap, 0);
    /* A mark need not be on the tick. */
    tu_mark(e, i0, 50000.0123);
    double m = 0;
    tu_assert_status(risk_engine_mark(e, i0, &m), RISK_OK);
    tu_assert_bits(m, 50000.0123);
    tu_assert_status(risk_engine_mark(e, i0, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_mark(e, 9, &m), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_engine_errmsg(e));

    /* Batch: all or none. */
    uint32_t ids[2] = {i0, i1};
    double ok[2] = {51000.0, 51010.0};
    tu_assert_status(risk_engine_set_marks(e, ids, ok, 2), RISK_OK);
    tu_assert_status(risk_engine_mark(e, i1, &m), RISK_OK);
    tu_assert_bits(m, 51010.0);
    tu_engine_snap_take(e, &snap);
    double badb[2] = {52000.0, 0.0};
    tu_assert_status(risk_engine_set_marks(e, ids, badb, 2), RISK_EINVAL);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_engine_snap_check(e, &snap, 0);
    uint32_t idu[2] = {i0, 12};
    tu_assert_status(risk_engine_set_marks(e, idu, ok, 2), RISK_ENOTFOUND);
    tu_engine_snap_check(e, &snap, 0);
    tu_assert_status(risk_engine_set_marks(e, NULL, ok, 2), RISK_ENULL);
    tu_assert_status(risk_engine_set_marks(e, ids, NULL, 2), RISK_ENULL);
    tu_assert_status(risk_engine_set_marks(NULL, ids, ok, 2), RISK_ENULL);
    tu_assert_status(risk_engine_set_marks(e, NULL, NULL, 0), RISK_OK);
    tu_engine_snap_check(e, &snap, 0);
    risk_engine_free(e);
}

/* ================================================================== margin-call threshold */

/* A basket with HF 1.3: 1 WETH @ 2,000 at maint weight 0.65 against 1,000 USDC debt. */
static risk_account *hf13_account(risk_engine *e)
{
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    uint32_t weth = tu_asset_w(e, "WETH", 2000.0, 8, 0.6, 0.65, 1.0, 1.0);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, weth, 1.0);
    tu_balance(acc, usdc, -1000.0);
    return acc;
}

static void test_engine_margin_call_health_threshold(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    risk_account *acc = hf13_account(e);
    risk_account_summary s = tu_eval(acc);
    tu_assert_rel(s.health_factor, 1.3, 1e-12);
    assert_int_equal(s.state, RISK_STATE_HEALTHY); /* default threshold 1.2 */

    tu_assert_status(risk_engine_set_margin_call_health(e, 1.5), RISK_OK);
    s = tu_eval(acc);
    assert_int_equal(s.state, RISK_STATE_MARGIN_CALL);

    const double bad[] = {0.99, 0.0, -2.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_assert_status(risk_engine_set_margin_call_health(e, bad[i]), RISK_EINVAL);
        tu_assert_errmsg(risk_engine_errmsg(e));
        s = tu_eval(acc);
        assert_int_equal(s.state, RISK_STATE_MARGIN_CALL); /* unchanged */
    }
    tu_assert_status(risk_engine_set_margin_call_health(NULL, 1.5), RISK_ENULL);
    tu_assert_status(risk_engine_set_margin_call_health(e, 1.0), RISK_OK);
    s = tu_eval(acc);
    assert_int_equal(s.state, RISK_STATE_HEALTHY);
    risk_account_free(acc);
    risk_engine_free(e);

    /* Through the options. */
    risk_engine_options o = RISK_ENGINE_OPTIONS_INIT;
    o.allocator = tu_allocator(&a);
    o.margin_call_health = 1.31;
    tu_assert_status(risk_engine_new(&e, &o), RISK_OK);
    acc = hf13_account(e);
    s = tu_eval(acc);
    assert_int_equal(s.state, RISK_STATE_MARGIN_CALL);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* ================================================================== lookups */

static void test_engine_lookups_reject_bad_input(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    (void)tu_asset(e, "USDT", 1.0, 6);
    risk_account *acc = tu_account(e, 42, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    uint32_t id = 0;
    risk_account *found = NULL;
    size_t n = 0;

    tu_assert_status(risk_engine_find_asset(NULL, "USDT", &id), RISK_ENULL);
    tu_assert_status(risk_engine_find_asset(e, NULL, &id), RISK_ENULL);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_assert_status(risk_engine_find_asset(e, "USDT", NULL), RISK_ENULL);
    tu_assert_status(risk_engine_find_asset(e, "", &id), RISK_ENOTFOUND);
    tu_assert_status(risk_engine_find_instrument(NULL, "X", &id), RISK_ENULL);
    tu_assert_status(risk_engine_find_instrument(e, NULL, &id), RISK_ENULL);
    tu_assert_status(risk_engine_find_instrument(e, "X", NULL), RISK_ENULL);
    tu_assert_status(risk_engine_find_account(NULL, 42, &found), RISK_ENULL);
    tu_assert_status(risk_engine_find_account(e, 42, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_find_account(e, 43, &found), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_assert_status(risk_engine_find_account(e, 42, &found), RISK_OK);
    assert_ptr_equal(found, acc);
    tu_assert_status(risk_engine_valuation_asset(NULL, &id), RISK_ENULL);
    tu_assert_status(risk_engine_valuation_asset(e, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_account_count(NULL, &n), RISK_ENULL);
    tu_assert_status(risk_engine_account_count(e, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_memory_bytes(NULL, &n), RISK_ENULL);
    tu_assert_status(risk_engine_memory_bytes(e, NULL), RISK_ENULL);
    double m;
    tu_assert_status(risk_engine_mark(NULL, 0, &m), RISK_ENULL);
    risk_account_free(acc);
    tu_assert_status(risk_engine_find_account(e, 42, &found), RISK_ENOTFOUND);
    risk_engine_free(e);
}

static void test_engine_account_registry(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    (void)tu_asset(e, "USDT", 1.0, 6);
    risk_account *accs[200];
    for (int i = 0; i < 200; i++)
        accs[i] = tu_account(e, (uint64_t)i * 7919u + 3u, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    size_t n = 0;
    tu_assert_status(risk_engine_account_count(e, &n), RISK_OK);
    assert_int_equal(n, 200);
    for (int i = 0; i < 200; i += 2)
        risk_account_free(accs[i]);
    tu_assert_status(risk_engine_account_count(e, &n), RISK_OK);
    assert_int_equal(n, 100);
    for (int i = 0; i < 200; i++) {
        risk_account *f = NULL;
        int rc = risk_engine_find_account(e, (uint64_t)i * 7919u + 3u, &f);
        if (i % 2 == 0) {
            tu_assert_status(rc, RISK_ENOTFOUND);
        } else {
            tu_assert_status(rc, RISK_OK);
            assert_ptr_equal(f, accs[i]);
            assert_int_equal(risk_account_id(f), (uint64_t)i * 7919u + 3u);
        }
    }
    /* A freed id can be reused. */
    accs[0] = tu_account(e, 3u, RISK_MARGIN_ISOLATED, RISK_POSITION_HEDGE);
    tu_assert_status(risk_engine_account_count(e, &n), RISK_OK);
    assert_int_equal(n, 101);
    risk_account_free(accs[0]);
    for (int i = 1; i < 200; i += 2)
        risk_account_free(accs[i]);
    tu_assert_status(risk_engine_account_count(e, &n), RISK_OK);
    assert_int_equal(n, 0);
    risk_engine_free(e);
    assert_int_equal(a.live_blocks, 0);
}

/* Random creation and destruction of accounts: lookups, the count and the creation order of
 * risk_engine_evaluate_all follow a shadow list. */
static void test_engine_account_registry_churn(void **state)
{
    (void)state;
    enum { MAXA = 300 };
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    risk_account *live[MAXA];
    uint64_t live_id[MAXA];
    size_t n = 0;
    uint64_t next_id = 1;
    tu_rng r;
    tu_rng_seed(&r, 0xC0FFEEull);
    risk_account_summary *sums = test_calloc(MAXA, sizeof *sums);
    uint64_t *ids = test_calloc(MAXA, sizeof *ids);
    for (int step = 0; step < 3000; step++) {
        if (n < MAXA && (n == 0 || tu_rng_unit(&r) < 0.55)) {
            /* Ids collide in their low bits on purpose (open addressing). */
            uint64_t id = (next_id++ << 20) | (uint64_t)(step % 4);
            live[n] = tu_account(e, id, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
            tu_balance(live[n], usdt, (double)(id % 1000) + 1.0);
            live_id[n++] = id;
        } else {
            size_t k = (size_t)tu_rng_int(&r, 0, (int)n - 1);
            risk_account_free(live[k]);
            memmove(&live[k], &live[k + 1], (n - k - 1) * sizeof live[0]);
            memmove(&live_id[k], &live_id[k + 1], (n - k - 1) * sizeof live_id[0]);
            n--;
        }
        if (step % 100 == 0 || step == 2999) {
            size_t count = 0;
            tu_assert_status(risk_engine_account_count(e, &count), RISK_OK);
            assert_int_equal(count, n);
            for (size_t k = 0; k < n; k++) {
                risk_account *f = NULL;
                tu_assert_status(risk_engine_find_account(e, live_id[k], &f), RISK_OK);
                assert_ptr_equal(f, live[k]);
            }
            for (size_t k = 0; k < MAXA; k++)
                sums[k].version = RISK_ACCOUNT_SUMMARY_VERSION;
            tu_assert_status(risk_engine_evaluate_all(e, sums, ids, MAXA, 2, &count), RISK_OK);
            assert_int_equal(count, n);
            for (size_t k = 0; k < n; k++) {
                assert_int_equal(ids[k], live_id[k]); /* creation order */
                tu_assert_near(sums[k].equity, (double)(live_id[k] % 1000) + 1.0, 1e-9);
            }
        }
    }
    for (size_t k = 0; k < n; k++)
        risk_account_free(live[k]);
    test_free(sums);
    test_free(ids);
    risk_engine_free(e);
    assert_int_equal(a.live_blocks, 0);
}

/* ================================================================== memory accounting */

static void test_engine_memory_bytes_matches_allocator(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    size_t m0 = 0, m1 = 0, m2 = 0, m3 = 0;
    tu_assert_status(risk_engine_memory_bytes(e, &m0), RISK_OK);
    assert_int_equal(m0, a.live_bytes);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    uint32_t inst = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 50000.0, one_tier, 1);
    tu_assert_status(risk_engine_memory_bytes(e, &m1), RISK_OK);
    assert_true(m1 > m0);
    assert_int_equal(m1, a.live_bytes);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdt, 100.0);
    (void)tu_open_simple(acc, inst, 0.5, 50000.0);
    risk_basket *b = NULL;
    tu_assert_status(risk_basket_new(&b, e), RISK_OK);
    tu_assert_status(risk_basket_set_balance(b, btc, 1.0), RISK_OK);
    tu_assert_status(risk_engine_memory_bytes(e, &m2), RISK_OK);
    assert_true(m2 > m1);
    assert_int_equal(m2, a.live_bytes);
    risk_basket_free(b);
    risk_account_free(acc);
    tu_assert_status(risk_engine_memory_bytes(e, &m3), RISK_OK);
    assert_true(m3 < m2);
    assert_int_equal(m3, a.live_bytes);
    risk_engine_free(e);
}

/* ================================================================== batch evaluation */

static void test_engine_evaluate_all_order_and_buffer(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    risk_account *accs[5];
    const uint64_t ids[5] = {50, 10, 40, 20, 30};
    for (int i = 0; i < 5; i++) {
        accs[i] = tu_account(e, ids[i], RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(accs[i], usdt, 100.0 * (i + 1));
    }
    risk_account_free(accs[2]); /* leaves no gap */

    risk_account_summary sums[8];
    uint64_t got_ids[8];
    size_t count = 0;
    for (int i = 0; i < 8; i++) {
        risk_account_summary z = RISK_ACCOUNT_SUMMARY_INIT;
        sums[i] = z;
    }
    /* Too small: RISK_EBUFFER with the count, nothing else. */
    tu_assert_status(risk_engine_evaluate_all(e, sums, got_ids, 3, 1, &count), RISK_EBUFFER);
    assert_int_equal(count, 4);
    tu_assert_errmsg(risk_engine_errmsg(e));
    count = 0;
    tu_assert_status(risk_engine_evaluate_all(e, sums, got_ids, 8, 0, &count), RISK_OK);
    assert_int_equal(count, 4);
    const uint64_t want_ids[4] = {50, 10, 20, 30};
    const double want_eq[4] = {100.0, 200.0, 400.0, 500.0};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(got_ids[i], want_ids[i]);
        tu_assert_near(sums[i].equity, want_eq[i], 1e-9);
        risk_account *f = NULL;
        tu_assert_status(risk_engine_find_account(e, got_ids[i], &f), RISK_OK);
        risk_account_summary one = tu_eval(f);
        assert_memory_equal(&one, &sums[i], sizeof one);
    }
    /* ids_out may be NULL. */
    tu_assert_status(risk_engine_evaluate_all(e, sums, NULL, 4, 2, &count), RISK_OK);
    assert_int_equal(count, 4);

    /* Bad input. */
    tu_assert_status(risk_engine_evaluate_all(NULL, sums, got_ids, 8, 1, &count), RISK_ENULL);
    tu_assert_status(risk_engine_evaluate_all(e, NULL, got_ids, 8, 1, &count), RISK_ENULL);
    tu_assert_status(risk_engine_evaluate_all(e, sums, got_ids, 8, 1, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_evaluate_all(e, sums, got_ids, 8, 257, &count), RISK_EINVAL);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_assert_status(risk_engine_evaluate_all(e, sums, got_ids, 8, 256, &count), RISK_OK);
    sums[0].version = 0;
    tu_assert_status(risk_engine_evaluate_all(e, sums, got_ids, 8, 1, &count), RISK_EVERSION);
    tu_assert_errmsg(risk_engine_errmsg(e));
    sums[0].version = RISK_ACCOUNT_SUMMARY_VERSION + 1;
    tu_assert_status(risk_engine_evaluate_all(e, sums, got_ids, 8, 1, &count), RISK_EVERSION);

    for (int i = 0; i < 5; i++)
        if (i != 2)
            risk_account_free(accs[i]);
    /* No accounts. */
    sums[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
    count = 99;
    tu_assert_status(risk_engine_evaluate_all(e, sums, got_ids, 8, 4, &count), RISK_OK);
    assert_int_equal(count, 0);
    risk_engine_free(e);
}

/* Evaluation never allocates: with every allocation refused, it still answers. */
static void test_engine_evaluate_all_never_allocates(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    uint32_t inst = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 0.001, 0.1, 50000.0, one_tier, 1);
    risk_account *accs[10];
    for (int i = 0; i < 10; i++) {
        accs[i] = tu_account(e, (uint64_t)i + 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(accs[i], usdt, 1000.0 + i);
        (void)tu_open_simple(accs[i], inst, 0.01 * (i + 1), 49000.0);
    }
    risk_account_summary sums[10];
    for (int i = 0; i < 10; i++) {
        risk_account_summary z = RISK_ACCOUNT_SUMMARY_INIT;
        sums[i] = z;
    }
    size_t count = 0;
    uint64_t calls = a.calls;
    tu_alloc_arm_all(&a);
    tu_assert_status(risk_engine_evaluate_all(e, sums, NULL, 10, 1, &count), RISK_OK);
    risk_account_summary s = tu_eval(accs[3]);
    risk_position_result r[2];
    size_t nr = tu_results(accs[3], r, 2);
    tu_alloc_disarm(&a);
    assert_int_equal(a.calls, calls); /* not even attempted */
    assert_int_equal(count, 10);
    assert_int_equal(nr, 1);
    assert_memory_equal(&s, &sums[3], sizeof s);
    for (int i = 0; i < 10; i++)
        risk_account_free(accs[i]);
    risk_engine_free(e);
}


/* Issue 9 section 2: every number the registry and the market-data setters take is in the
 * domain of docs/errors.md; the edge is accepted, the next double refused (nothing changes). */
static void test_engine_refuses_inputs_outside_the_domain(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    const double up = INFINITY, down = -INFINITY;
    /* asset prices */
    risk_asset_spec as = RISK_ASSET_SPEC_INIT;
    as.symbol = "X";
    const double bad_prices[] = {1e-300, nextafter(RISK_PRICE_MIN, down), nextafter(RISK_PRICE_MAX, up), 1e300, DBL_MAX};
    for (size_t i = 0; i < sizeof bad_prices / sizeof bad_prices[0]; i++) {
        as.price = bad_prices[i];
        tu_assert_status(risk_engine_add_asset(e, &as, NULL), RISK_EINVAL);
        assert_non_null(strstr(risk_engine_errmsg(e), "price"));
    }
    as.price = RISK_PRICE_MIN;
    tu_assert_status(risk_engine_add_asset(e, &as, NULL), RISK_OK);
    as.symbol = "Y";
    as.price = RISK_PRICE_MAX;
    uint32_t y;
    tu_assert_status(risk_engine_add_asset(e, &as, &y), RISK_OK);
    tu_assert_status(risk_engine_set_asset_price(e, y, nextafter(RISK_PRICE_MAX, up)), RISK_EINVAL);
    assert_string_equal(risk_engine_errmsg(e), "Y: price 1000000000000.0001 outside [1e-12, 1000000000000]");
    tu_assert_status(risk_engine_set_asset_price(e, y, 1e-300), RISK_EINVAL);
    double px = 0;
    tu_assert_status(risk_engine_asset_price(e, y, &px), RISK_OK);
    assert_true(px == RISK_PRICE_MAX);
    /* value-tier bounds: at most the asset's 2^53 quanta, or INFINITY last */
    risk_value_tier vt[2] = {{RISK_AMOUNT_QUANTA_MAX / 1e8 * 2.0, 1.0}, {INFINITY, 0.5}};
    as.symbol = "Z";
    as.price = 1.0;
    as.value_tiers = vt;
    as.n_value_tiers = 2;
    tu_assert_status(risk_engine_add_asset(e, &as, NULL), RISK_ETIERS);
    vt[0].up_to_qty = RISK_AMOUNT_QUANTA_MAX / 1e8;
    tu_assert_status(risk_engine_add_asset(e, &as, NULL), RISK_OK);

    /* instrument sizes, marks and tiers */
    risk_margin_tier tiers[2] = {tu_tier(1e6, 0.01, 50.0), tu_tier(0.0, 0.02, 25.0)};
    risk_instrument_spec is = tu_linear_spec("P", y, usdt, 1.0, 0.001, 0.1, 100.0, tiers, 2);
    const double bad_sizes[] = {1e-300, nextafter(RISK_SIZE_MIN, down), nextafter(RISK_SIZE_MAX, up), 1e300};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        risk_instrument_spec t = is;
        t.contract_size = bad_sizes[i];
        tu_assert_status(risk_engine_add_instrument(e, &t, NULL), RISK_EINVAL);
        assert_non_null(strstr(risk_engine_errmsg(e), "contract_size"));
        t = is;
        t.lot_size = bad_sizes[i];
        tu_assert_status(risk_engine_add_instrument(e, &t, NULL), RISK_EINVAL);
        t = is;
        t.tick_size = bad_sizes[i];
        tu_assert_status(risk_engine_add_instrument(e, &t, NULL), RISK_EINVAL);
    }
    risk_instrument_spec t = is;
    t.mark = 0.01; /* below one tick 0.1 */
    tu_assert_status(risk_engine_add_instrument(e, &t, NULL), RISK_EINVAL);
    assert_string_equal(risk_engine_errmsg(e), "P: mark 0.01 is below one tick 0.1");
    t.mark = 1e13;
    tu_assert_status(risk_engine_add_instrument(e, &t, NULL), RISK_EINVAL);
    t = is;
    tiers[0].notional_cap = 2e30;
    tu_assert_status(risk_engine_add_instrument(e, &t, NULL), RISK_ETIERS);
    tiers[0].notional_cap = 1e6;
    tiers[0].mmr = 1e-300;
    tu_assert_status(risk_engine_add_instrument(e, &t, NULL), RISK_ETIERS);
    tiers[0].mmr = 0.01;
    tiers[0].max_leverage = 1e7;
    tu_assert_status(risk_engine_add_instrument(e, &t, NULL), RISK_ETIERS);
    tiers[0].max_leverage = 50.0;
    tiers[1].cum_given = 1;
    tiers[1].cum = 1e31;
    tu_assert_status(risk_engine_add_instrument(e, &t, NULL), RISK_ETIERS);
    tiers[1].cum_given = 0;
    uint32_t p;
    tu_assert_status(risk_engine_add_instrument(e, &t, &p), RISK_OK);
    tu_assert_status(risk_engine_set_mark(e, p, 1e-300), RISK_EINVAL);
    tu_assert_status(risk_engine_set_mark(e, p, 0.05), RISK_EINVAL);
    tu_assert_status(risk_engine_set_mark(e, p, 1e300), RISK_EINVAL);
    tu_assert_status(risk_engine_set_mark(e, p, 0.1), RISK_OK);
    tu_assert_status(risk_engine_set_mark(e, p, RISK_PRICE_MAX), RISK_OK);
    double im = 0, mm = 0;
    tu_assert_status(risk_engine_instrument_margin(e, p, 1.1e30, 0.0, &im, &mm, NULL), RISK_EINVAL);
    tu_assert_status(risk_engine_instrument_margin(e, p, RISK_NOTIONAL_MAX, 0.0, &im, &mm, NULL), RISK_OK);
    assert_true(isfinite(im) && isfinite(mm));
    risk_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_new_with_defaults),
        cmocka_unit_test(test_engine_new_with_test_allocator_frees_everything),
        cmocka_unit_test(test_engine_new_rejects_null_out),
        cmocka_unit_test(test_engine_new_rejects_wrong_version),
        cmocka_unit_test(test_engine_new_rejects_half_set_allocator),
        cmocka_unit_test(test_engine_new_rejects_unknown_flags),
        cmocka_unit_test(test_engine_new_rejects_bad_margin_call_health),
        cmocka_unit_test(test_engine_new_out_of_memory),
        cmocka_unit_test(test_engine_freed_before_children_is_safe),
        cmocka_unit_test(test_engine_freed_after_children),
        cmocka_unit_test(test_engine_add_asset_dense_ids_and_lookup),
        cmocka_unit_test(test_engine_add_asset_rejects_bad_input),
        cmocka_unit_test(test_engine_add_asset_weight_edges_accepted),
        cmocka_unit_test(test_engine_add_asset_out_of_memory),
        cmocka_unit_test(test_engine_add_many_assets),
        cmocka_unit_test(test_engine_registry_growth_out_of_memory),
        cmocka_unit_test(test_engine_add_instrument_linear_inverse_future),
        cmocka_unit_test(test_engine_add_instrument_rejects_bad_input),
        cmocka_unit_test(test_engine_add_instrument_tiers_copied),
        cmocka_unit_test(test_engine_add_instrument_out_of_memory),
        cmocka_unit_test(test_engine_valuation_asset_default_and_set),
        cmocka_unit_test(test_engine_set_asset_price_rejects_bad_input),
        cmocka_unit_test(test_engine_set_asset_prices_all_or_none),
        cmocka_unit_test(test_engine_set_mark_rejects_bad_input),
        cmocka_unit_test(test_engine_margin_call_health_threshold),
        cmocka_unit_test(test_engine_lookups_reject_bad_input),
        cmocka_unit_test(test_engine_account_registry),
        cmocka_unit_test(test_engine_account_registry_churn),
        cmocka_unit_test(test_engine_memory_bytes_matches_allocator),
        cmocka_unit_test(test_engine_evaluate_all_order_and_buffer),
        cmocka_unit_test(test_engine_evaluate_all_never_allocates),
        cmocka_unit_test(test_engine_refuses_inputs_outside_the_domain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
