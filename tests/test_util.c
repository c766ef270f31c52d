/* SPDX-License-Identifier: Apache-2.0 */
/* test_util.c: shared helpers of the librisk cmocka suites (see test_util.h). */
#include "test_util.h"

#include <math.h>
#include <string.h>

/* ================================================================== allocator */

/* Each block carries a header with its size, so that live bytes can be accounted exactly. */
#define TU_HDR 16u

void tu_alloc_init(tu_alloc *a)
{
    memset(a, 0, sizeof *a);
    a->fail_at = -1;
}

static int tu_should_fail(tu_alloc *a)
{
    uint64_t idx = a->calls++;
    if (a->fail_at < 0)
        return 0;
    if (idx == (uint64_t)a->fail_at || (a->fail_rest && idx >= (uint64_t)a->fail_at)) {
        a->failures++;
        return 1;
    }
    return 0;
}

static void *tu_malloc_fn(void *ctx, size_t size)
{
    tu_alloc *a = ctx;
    assert_non_null(a);
    assert_true(size > 0); /* the library never passes 0 */
    if (tu_should_fail(a))
        return NULL;
    unsigned char *blk = test_malloc(size + TU_HDR);
    if (blk == NULL)
        return NULL;
    memcpy(blk, &size, sizeof size);
    a->live_bytes += size;
    a->live_blocks++;
    return blk + TU_HDR;
}

static void *tu_realloc_fn(void *ctx, void *ptr, size_t size)
{
    tu_alloc *a = ctx;
    assert_non_null(a);
    assert_true(size > 0);
    if (ptr == NULL)
        return tu_malloc_fn(ctx, size);
    if (tu_should_fail(a))
        return NULL; /* the old block stays intact */
    unsigned char *old = (unsigned char *)ptr - TU_HDR;
    size_t old_size;
    memcpy(&old_size, old, sizeof old_size);
    unsigned char *blk = test_realloc(old, size + TU_HDR);
    if (blk == NULL)
        return NULL;
    memcpy(blk, &size, sizeof size);
    a->live_bytes = a->live_bytes - old_size + size;
    return blk + TU_HDR;
}

static void tu_free_fn(void *ctx, void *ptr)
{
    tu_alloc *a = ctx;
    assert_non_null(a);
    assert_non_null(ptr); /* never called with NULL */
    unsigned char *blk = (unsigned char *)ptr - TU_HDR;
    size_t size;
    memcpy(&size, blk, sizeof size);
    assert_true(a->live_blocks > 0);
    assert_true(a->live_bytes >= size);
    a->live_bytes -= size;
    a->live_blocks--;
    test_free(blk);
}

risk_allocator tu_allocator(tu_alloc *a)
{
    risk_allocator al;
    al.malloc_fn = tu_malloc_fn;
    al.realloc_fn = tu_realloc_fn;
    al.free_fn = tu_free_fn;
    al.ctx = a;
    return al;
}

void tu_alloc_arm(tu_alloc *a, uint64_t n)
{
    a->fail_at = (int64_t)(a->calls + n);
    a->fail_rest = 0;
}

void tu_alloc_arm_all(tu_alloc *a)
{
    a->fail_at = (int64_t)a->calls;
    a->fail_rest = 1;
}

void tu_alloc_disarm(tu_alloc *a)
{
    a->fail_at = -1;
    a->fail_rest = 0;
}

/* ================================================================== comparisons */

static const char *tu_name(int code)
{
    return risk_errname(code);
}

void tu_assert_status_impl(int got, int want, const char *expr, const char *file, int line)
{
    if (got != want) {
        print_error("%s: got %d (%s), want %d (%s)\n", expr, got, tu_name(got), want, tu_name(want));
        _fail(file, line);
    }
}

void tu_assert_near_impl(double got, double want, double tol, const char *expr, const char *file, int line)
{
    int ok;
    if (isnan(got) || isnan(want))
        ok = 0;
    else if (isinf(want) || isinf(got))
        ok = (got == want);
    else
        ok = fabs(got - want) <= tol;
    if (!ok) {
        print_error("%s = %.17g, want %.17g (tolerance %.3g, diff %.3g)\n", expr, got, want, tol, got - want);
        _fail(file, line);
    }
}

void tu_assert_rel_impl(double got, double want, double rel, const char *expr, const char *file, int line)
{
    int ok;
    if (isnan(got) || isnan(want))
        ok = 0;
    else if (isinf(want) || isinf(got))
        ok = (got == want);
    else {
        double scale = fabs(want) > 1e-300 ? fabs(want) : 1e-300;
        ok = fabs(got - want) <= rel * scale;
    }
    if (!ok) {
        print_error("%s = %.17g, want %.17g (relative tolerance %.3g, rel diff %.3g)\n", expr, got, want, rel,
                    want != 0 ? (got - want) / want : got - want);
        _fail(file, line);
    }
}

void tu_assert_bits_impl(double got, double want, const char *expr, const char *file, int line)
{
    if (memcmp(&got, &want, sizeof got) != 0) {
        print_error("%s = %.17g, want bit-identical %.17g\n", expr, got, want);
        _fail(file, line);
    }
}

void tu_assert_errmsg_impl(const char *msg, const char *expr, const char *file, int line)
{
    if (msg == NULL || msg[0] == '\0') {
        print_error("%s: expected a non-empty error message, got %s\n", expr, msg == NULL ? "NULL" : "\"\"");
        _fail(file, line);
    }
}

/* ================================================================== builders */

const risk_margin_tier tu_binance_btcusdt[TU_BINANCE_BTCUSDT_TIERS] = {
    {50000.0, 0.004, 125.0, 0, 0},      {250000.0, 0.005, 100.0, 0, 0},    {1000000.0, 0.01, 50.0, 0, 0},
    {10000000.0, 0.025, 20.0, 0, 0},    {20000000.0, 0.05, 10.0, 0, 0},    {50000000.0, 0.10, 5.0, 0, 0},
    {100000000.0, 0.125, 4.0, 0, 0},    {200000000.0, 0.15, 3.0, 0, 0},    {300000000.0, 0.25, 2.0, 0, 0},
    {500000000.0, 0.50, 1.0, 0, 0},
};

uint32_t tu_binance_btcusdt_perp(risk_engine *e, const char *symbol, uint32_t btc, uint32_t usdt, double mark)
{
    return tu_linear(e, symbol, btc, usdt, 1.0, 0.001, 0.1, mark, tu_binance_btcusdt, TU_BINANCE_BTCUSDT_TIERS);
}

risk_engine *tu_engine(tu_alloc *a, uint32_t flags)
{
    risk_engine_options o = RISK_ENGINE_OPTIONS_INIT;
    o.flags = flags;
    o.allocator = tu_allocator(a);
    risk_engine *e = NULL;
    tu_assert_status(risk_engine_new(&e, &o), RISK_OK);
    assert_non_null(e);
    return e;
}

uint32_t tu_asset_w(risk_engine *e, const char *symbol, double price, uint32_t decimals, double weight_init,
                    double weight_maint, double liab_weight_init, double liab_weight_maint)
{
    risk_asset_spec s = RISK_ASSET_SPEC_INIT;
    s.symbol = symbol;
    s.price = price;
    s.decimals = decimals;
    s.weight_init = weight_init;
    s.weight_maint = weight_maint;
    s.liab_weight_init = liab_weight_init;
    s.liab_weight_maint = liab_weight_maint;
    uint32_t id = RISK_ID_NONE;
    int rc = risk_engine_add_asset(e, &s, &id);
    if (rc != RISK_OK)
        print_error("add_asset %s: %s\n", symbol, risk_engine_errmsg(e));
    tu_assert_status(rc, RISK_OK);
    assert_int_not_equal(id, RISK_ID_NONE);
    return id;
}

uint32_t tu_asset(risk_engine *e, const char *symbol, double price, uint32_t decimals)
{
    return tu_asset_w(e, symbol, price, decimals, 1.0, 1.0, 1.0, 1.0);
}

risk_margin_tier tu_tier(double cap, double mmr, double max_leverage)
{
    risk_margin_tier t;
    memset(&t, 0, sizeof t);
    t.notional_cap = cap;
    t.mmr = mmr;
    t.max_leverage = max_leverage;
    t.cum = 0.0;
    t.cum_given = 0;
    return t;
}

risk_margin_tier tu_tier_cum(double cap, double mmr, double max_leverage, double cum)
{
    risk_margin_tier t = tu_tier(cap, mmr, max_leverage);
    t.cum = cum;
    t.cum_given = 1;
    return t;
}

risk_instrument_spec tu_linear_spec(const char *symbol, uint32_t underlying, uint32_t settle, double contract_size,
                                    double lot, double tick, double mark, const risk_margin_tier *tiers, size_t n)
{
    risk_instrument_spec s = RISK_INSTRUMENT_SPEC_INIT;
    s.symbol = symbol;
    s.underlying = underlying;
    s.settle = settle;
    s.inverse = 0;
    s.contract_size = contract_size;
    s.lot_size = lot;
    s.tick_size = tick;
    s.mark = mark;
    s.tiers = tiers;
    s.n_tiers = n;
    return s;
}

risk_instrument_spec tu_inverse_spec(const char *symbol, uint32_t underlying, double contract_size, double lot,
                                     double tick, double mark, const risk_margin_tier *tiers, size_t n)
{
    risk_instrument_spec s = tu_linear_spec(symbol, underlying, underlying, contract_size, lot, tick, mark, tiers, n);
    s.inverse = 1;
    return s;
}

uint32_t tu_instrument(risk_engine *e, const risk_instrument_spec *spec)
{
    uint32_t id = RISK_ID_NONE;
    int rc = risk_engine_add_instrument(e, spec, &id);
    if (rc != RISK_OK)
        print_error("add_instrument %s: %s\n", spec->symbol ? spec->symbol : "(null)", risk_engine_errmsg(e));
    tu_assert_status(rc, RISK_OK);
    assert_int_not_equal(id, RISK_ID_NONE);
    return id;
}

uint32_t tu_linear(risk_engine *e, const char *symbol, uint32_t underlying, uint32_t settle, double contract_size,
                   double lot, double tick, double mark, const risk_margin_tier *tiers, size_t n)
{
    risk_instrument_spec s = tu_linear_spec(symbol, underlying, settle, contract_size, lot, tick, mark, tiers, n);
    return tu_instrument(e, &s);
}

uint32_t tu_inverse(risk_engine *e, const char *symbol, uint32_t underlying, double contract_size, double lot,
                    double tick, double mark, const risk_margin_tier *tiers, size_t n)
{
    risk_instrument_spec s = tu_inverse_spec(symbol, underlying, contract_size, lot, tick, mark, tiers, n);
    return tu_instrument(e, &s);
}

risk_account *tu_account(risk_engine *e, uint64_t id, uint32_t margin_mode, uint32_t position_mode)
{
    risk_account *acc = NULL;
    int rc = risk_account_new(&acc, e, id, margin_mode, position_mode);
    if (rc != RISK_OK)
        print_error("account_new: %s\n", risk_engine_errmsg(e));
    tu_assert_status(rc, RISK_OK);
    assert_non_null(acc);
    return acc;
}

risk_position *tu_open(risk_account *acc, uint32_t instrument, uint32_t side, uint32_t margin_mode, double qty,
                       double entry, double isolated_margin)
{
    risk_position_spec s = RISK_POSITION_SPEC_INIT;
    s.instrument = instrument;
    s.side = side;
    s.margin_mode = margin_mode;
    s.qty = qty;
    s.entry = entry;
    s.isolated_margin = isolated_margin;
    risk_position *p = NULL;
    int rc = risk_account_open_position(acc, &s, &p);
    if (rc != RISK_OK)
        print_error("open_position: %s\n", risk_account_errmsg(acc));
    tu_assert_status(rc, RISK_OK);
    assert_non_null(p);
    return p;
}

risk_position *tu_open_simple(risk_account *acc, uint32_t instrument, double qty, double entry)
{
    return tu_open(acc, instrument, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, qty, entry, 0.0);
}

void tu_balance(risk_account *acc, uint32_t asset, double amount)
{
    risk_basket *b = risk_account_basket(acc);
    assert_non_null(b);
    int rc = risk_basket_set_balance(b, asset, amount);
    if (rc != RISK_OK)
        print_error("set_balance: %s\n", risk_basket_errmsg(b));
    tu_assert_status(rc, RISK_OK);
}

void tu_leverage(risk_account *acc, uint32_t instrument, double leverage)
{
    int rc = risk_account_set_leverage(acc, instrument, leverage);
    if (rc != RISK_OK)
        print_error("set_leverage: %s\n", risk_account_errmsg(acc));
    tu_assert_status(rc, RISK_OK);
}

void tu_mark(risk_engine *e, uint32_t instrument, double mark)
{
    int rc = risk_engine_set_mark(e, instrument, mark);
    if (rc != RISK_OK)
        print_error("set_mark %.17g: %s\n", mark, risk_engine_errmsg(e));
    tu_assert_status(rc, RISK_OK);
}

void tu_price(risk_engine *e, uint32_t asset, double price)
{
    int rc = risk_engine_set_asset_price(e, asset, price);
    if (rc != RISK_OK)
        print_error("set_asset_price %.17g: %s\n", price, risk_engine_errmsg(e));
    tu_assert_status(rc, RISK_OK);
}

risk_account_summary tu_eval(const risk_account *acc)
{
    risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
    tu_assert_status(risk_account_evaluate(acc, &s), RISK_OK);
    return s;
}

size_t tu_results(const risk_account *acc, risk_position_result *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < cap; i++) {
        risk_position_result r = RISK_POSITION_RESULT_INIT;
        out[i] = r;
    }
    tu_assert_status(risk_account_position_results(acc, out, cap, &n), RISK_OK);
    assert_true(n <= cap);
    return n;
}

risk_position_result tu_result_of(const risk_account *acc, uint32_t instrument, uint32_t side)
{
    risk_position_result r[TU_MAX_POS];
    size_t n = tu_results(acc, r, TU_MAX_POS);
    for (size_t i = 0; i < n; i++)
        if (r[i].instrument == instrument && r[i].side == side)
            return r[i];
    print_error("no position result for instrument %u side %u\n", (unsigned)instrument, (unsigned)side);
    fail();
    return r[0];
}

risk_basket_summary tu_basket_eval(const risk_basket *b)
{
    risk_basket_summary s = RISK_BASKET_SUMMARY_INIT;
    tu_assert_status(risk_basket_evaluate(b, &s), RISK_OK);
    return s;
}

/* ================================================================== snapshots */

void tu_engine_snap_take(const risk_engine *e, tu_engine_snap *s)
{
    memset(s, 0, sizeof *s);
    tu_assert_status(risk_engine_memory_bytes(e, &s->memory_bytes), RISK_OK);
    tu_assert_status(risk_engine_account_count(e, &s->n_accounts), RISK_OK);
    tu_assert_status(risk_engine_valuation_asset(e, &s->valuation), RISK_OK);
    size_t i;
    for (i = 0; i < TU_MAX_IDS; i++) {
        double p = 0;
        if (risk_engine_asset_price(e, (uint32_t)i, &p) != RISK_OK)
            break;
        s->prices[i] = p;
    }
    s->n_assets = i;
    for (i = 0; i < TU_MAX_IDS; i++) {
        double m = 0;
        if (risk_engine_mark(e, (uint32_t)i, &m) != RISK_OK)
            break;
        s->marks[i] = m;
        size_t nt = 0;
        int rc = risk_engine_instrument_tiers(e, (uint32_t)i, NULL, 0, &nt);
        assert_true(rc == RISK_OK || rc == RISK_EBUFFER);
        s->n_tiers[i] = nt;
    }
    s->n_instruments = i;
}

void tu_engine_snap_check(const risk_engine *e, const tu_engine_snap *s, int with_memory)
{
    tu_engine_snap now;
    tu_engine_snap_take(e, &now);
    if (!with_memory)
        now.memory_bytes = s->memory_bytes;
    assert_int_equal(now.n_accounts, s->n_accounts);
    assert_int_equal(now.valuation, s->valuation);
    assert_int_equal(now.n_assets, s->n_assets);
    assert_int_equal(now.n_instruments, s->n_instruments);
    for (size_t i = 0; i < s->n_assets; i++)
        tu_assert_bits(now.prices[i], s->prices[i]);
    for (size_t i = 0; i < s->n_instruments; i++) {
        tu_assert_bits(now.marks[i], s->marks[i]);
        assert_int_equal(now.n_tiers[i], s->n_tiers[i]);
    }
    assert_int_equal(now.memory_bytes, s->memory_bytes);
}

void tu_basket_snap_take(const risk_basket *b, size_t n_assets, tu_basket_snap *s)
{
    memset(s, 0, sizeof *s);
    assert_true(n_assets <= TU_MAX_IDS);
    s->n_assets = n_assets;
    for (size_t i = 0; i < n_assets; i++)
        tu_assert_status(risk_basket_balance(b, (uint32_t)i, &s->balances[i]), RISK_OK);
    s->summary = tu_basket_eval(b);
}

void tu_basket_snap_check(const risk_basket *b, const tu_basket_snap *s)
{
    tu_basket_snap now;
    tu_basket_snap_take(b, s->n_assets, &now);
    for (size_t i = 0; i < s->n_assets; i++)
        tu_assert_bits(now.balances[i], s->balances[i]);
    assert_memory_equal(&now.summary, &s->summary, sizeof now.summary);
}

void tu_account_snap_take(risk_account *acc, size_t n_assets, size_t n_instruments, tu_account_snap *s)
{
    memset(s, 0, sizeof *s);
    s->id = risk_account_id(acc);
    s->margin_mode = risk_account_margin_mode(acc);
    s->position_mode = risk_account_position_mode(acc);
    s->n_positions = risk_account_position_count(acc);
    assert_true(s->n_positions <= TU_MAX_POS);
    for (size_t i = 0; i < s->n_positions; i++) {
        risk_position *p = NULL;
        tu_assert_status(risk_account_position_at(acc, i, &p), RISK_OK);
        assert_non_null(p);
        s->pos[i].instrument = risk_position_instrument(p);
        s->pos[i].side = risk_position_side(p);
        s->pos[i].leg = risk_position_leg(p);
        s->pos[i].margin_mode = risk_position_margin_mode(p);
        s->pos[i].qty = risk_position_qty(p);
        s->pos[i].entry = risk_position_entry(p);
        s->pos[i].isolated_margin = risk_position_isolated_margin(p);
    }
    assert_true(n_instruments <= TU_MAX_IDS);
    s->n_instruments = n_instruments;
    for (size_t i = 0; i < n_instruments; i++)
        tu_assert_status(risk_account_leverage(acc, (uint32_t)i, &s->leverage[i]), RISK_OK);
    tu_basket_snap_take(risk_account_basket(acc), n_assets, &s->basket);
    s->summary = tu_eval(acc);
}

void tu_account_snap_check(risk_account *acc, const tu_account_snap *s)
{
    tu_account_snap now;
    tu_account_snap_take(acc, s->basket.n_assets, s->n_instruments, &now);
    assert_int_equal(now.id, s->id);
    assert_int_equal(now.margin_mode, s->margin_mode);
    assert_int_equal(now.position_mode, s->position_mode);
    assert_int_equal(now.n_positions, s->n_positions);
    for (size_t i = 0; i < s->n_positions; i++) {
        assert_int_equal(now.pos[i].instrument, s->pos[i].instrument);
        assert_int_equal(now.pos[i].side, s->pos[i].side);
        assert_int_equal(now.pos[i].leg, s->pos[i].leg);
        assert_int_equal(now.pos[i].margin_mode, s->pos[i].margin_mode);
        tu_assert_bits(now.pos[i].qty, s->pos[i].qty);
        tu_assert_bits(now.pos[i].entry, s->pos[i].entry);
        tu_assert_bits(now.pos[i].isolated_margin, s->pos[i].isolated_margin);
    }
    for (size_t i = 0; i < s->n_instruments; i++)
        tu_assert_bits(now.leverage[i], s->leverage[i]);
    for (size_t i = 0; i < s->basket.n_assets; i++)
        tu_assert_bits(now.basket.balances[i], s->basket.balances[i]);
    assert_memory_equal(&now.basket.summary, &s->basket.summary, sizeof now.basket.summary);
    assert_memory_equal(&now.summary, &s->summary, sizeof now.summary);
}

/* ================================================================== OOM walk */

unsigned tu_oom_walk(const tu_oom_case *c)
{
    unsigned failed_attempts = 0;
    for (uint64_t n = 0; n < 100000; n++) {
        tu_alloc a;
        tu_alloc_init(&a);
        void *fx = c->setup(&a);
        tu_alloc_arm(&a, n);
        int rc = c->op(fx);
        uint64_t refused = a.failures;
        tu_alloc_disarm(&a);
        if (rc == RISK_OK) {
            if (c->check_ok)
                c->check_ok(fx);
            c->teardown(fx);
            if (a.live_blocks != 0) {
                print_error("OOM walk, n=%u: %u blocks leaked after success\n", (unsigned)n, (unsigned)a.live_blocks);
                fail();
            }
            if (refused == 0)
                return failed_attempts; /* the armed allocation was never reached: done */
            continue;                   /* it survived a refused allocation: keep walking */
        }
        if (rc != RISK_ENOMEM)
            print_error("OOM walk, n=%u: status %s\n", (unsigned)n, risk_errname(rc));
        tu_assert_status(rc, RISK_ENOMEM);
        if (refused == 0) {
            print_error("OOM walk, n=%u: RISK_ENOMEM without a refused allocation\n", (unsigned)n);
            fail();
        }
        failed_attempts++;
        if (c->check_failed)
            c->check_failed(fx);
        c->teardown(fx);
        if (a.live_blocks != 0) {
            print_error("OOM walk, n=%u: %u blocks leaked after failure\n", (unsigned)n, (unsigned)a.live_blocks);
            fail();
        }
    }
    fail_msg("OOM walk did not terminate");
    return failed_attempts;
}

/* ================================================================== random numbers */

void tu_rng_seed(tu_rng *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9E3779B97F4A7C15ull;
}

uint64_t tu_rng_u64(tu_rng *r)
{
    /* splitmix64 */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double tu_rng_unit(tu_rng *r)
{
    return (double)(tu_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

double tu_rng_range(tu_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * tu_rng_unit(r);
}

int tu_rng_int(tu_rng *r, int lo, int hi)
{
    return lo + (int)(tu_rng_u64(r) % (uint64_t)(hi - lo + 1));
}
