/* SPDX-License-Identifier: Apache-2.0 */
/* test_volmargin.c: volatility-scaled margin schedules and anti-procyclicality
 * (include/risk/margin.h, src/margin/scaling.c; docs/volatility.md sections 2 and 3):
 * continuity of the scaled schedule at every tier edge, MM = f x MM_base, factor bounds, the
 * rate cap over a sequence of updates, each anti-procyclicality option binding exactly when it
 * should, the VaR-style single tier, the engine's EWMA against include/risk/vol.h, scaling off
 * = the schedule as registered, bad input, out-of-memory walks, memory accounting. */
#include "test_util.h"

#include <float.h>
#include <math.h>
#include <string.h>


#define DAY 86400

typedef struct {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdt, btc, eth;
} env;

static void env_init(env *v, uint32_t flags)
{
    tu_alloc_init(&v->a);
    v->e = tu_engine(&v->a, flags);
    v->usdt = tu_asset(v->e, "USDT", 1.0, 6);
    v->btc = tu_asset(v->e, "BTC", 50000.0, 8);
    v->eth = tu_asset(v->e, "ETH", 3000.0, 8);
}

static uint32_t btcusdt(env *v)
{
    return tu_binance_btcusdt_perp(v->e, "BTCUSDT", v->btc, v->usdt, 50000.0);
}

/* TIERS scaling at a reference with factor bounds; everything else at its default. */
static risk_margin_scaling tiers_scaling(double reference, double min_factor, double max_factor)
{
    risk_margin_scaling s = RISK_MARGIN_SCALING_INIT;
    s.mode = RISK_SCALING_TIERS;
    s.reference_vol_annual = reference;
    s.min_factor = min_factor;
    s.max_factor = max_factor;
    return s;
}

static void scale(risk_engine *e, uint32_t inst, const risk_margin_scaling *s)
{
    int rc = risk_engine_set_instrument_scaling(e, inst, s);
    if (rc != RISK_OK)
        print_error("set_instrument_scaling: %s\n", risk_engine_errmsg(e));
    tu_assert_status(rc, RISK_OK);
}

static void set_vol(risk_engine *e, uint32_t asset, double vol, int64_t t)
{
    int rc = risk_engine_set_asset_vol(e, asset, vol, t);
    if (rc != RISK_OK)
        print_error("set_asset_vol %.17g: %s\n", vol, risk_engine_errmsg(e));
    tu_assert_status(rc, RISK_OK);
}

static void feed_return(risk_engine *e, uint32_t asset, double r, int64_t t)
{
    int rc = risk_engine_feed_asset_return(e, asset, r, t);
    if (rc != RISK_OK)
        print_error("feed_asset_return %.17g: %s\n", r, risk_engine_errmsg(e));
    tu_assert_status(rc, RISK_OK);
}

static risk_margin_factor factor_of(const risk_engine *e, uint32_t inst)
{
    risk_margin_factor f = RISK_MARGIN_FACTOR_INIT;
    tu_assert_status(risk_engine_instrument_factor(e, inst, &f), RISK_OK);
    return f;
}

static risk_asset_vol_state vol_of(const risk_engine *e, uint32_t asset)
{
    risk_asset_vol_state s = RISK_ASSET_VOL_STATE_INIT;
    tu_assert_status(risk_engine_asset_vol(e, asset, &s), RISK_OK);
    return s;
}

static size_t tiers_of(const risk_engine *e, uint32_t inst, risk_margin_tier *out)
{
    size_t n = 0;
    tu_assert_status(risk_engine_instrument_tiers(e, inst, out, 64, &n), RISK_OK);
    return n;
}

static size_t base_tiers_of(const risk_engine *e, uint32_t inst, risk_margin_tier *out)
{
    size_t n = 0;
    tu_assert_status(risk_engine_instrument_base_tiers(e, inst, out, 64, &n), RISK_OK);
    return n;
}

static void mm_im(const risk_engine *e, uint32_t inst, double notional, double leverage, double *mm, double *im)
{
    tu_assert_status(risk_engine_instrument_margin(e, inst, notional, leverage, im, mm, NULL), RISK_OK);
}

static void assert_tiers_equal(const risk_margin_tier *got, const risk_margin_tier *want, size_t n)
{
    for (size_t t = 0; t < n; t++) {
        tu_assert_bits(got[t].notional_cap, want[t].notional_cap);
        tu_assert_bits(got[t].mmr, want[t].mmr);
        tu_assert_bits(got[t].max_leverage, want[t].max_leverage);
        tu_assert_bits(got[t].cum, want[t].cum);
        assert_int_equal(got[t].cum_given, want[t].cum_given);
    }
}

/* Everything the scaling API shows about an engine, to assert that a failed call changed nothing. */
#define SNAP_IDS 4
typedef struct {
    tu_engine_snap engine;
    risk_margin_tier tiers[SNAP_IDS][64], base[SNAP_IDS][64];
    size_t n_tiers[SNAP_IDS];
    risk_margin_factor factor[SNAP_IDS];
    risk_margin_scaling scaling[SNAP_IDS];
    risk_asset_vol_state vol[SNAP_IDS];
    size_t n_inst, n_assets;
} vsnap;

static void vsnap_take(const risk_engine *e, size_t n_assets, size_t n_inst, vsnap *s)
{
    memset(s, 0, sizeof *s);
    tu_engine_snap_take(e, &s->engine);
    s->n_inst = n_inst;
    s->n_assets = n_assets;
    for (size_t i = 0; i < n_inst; i++) {
        s->n_tiers[i] = tiers_of(e, (uint32_t)i, s->tiers[i]);
        (void)base_tiers_of(e, (uint32_t)i, s->base[i]);
        s->factor[i] = factor_of(e, (uint32_t)i);
        tu_assert_status(risk_engine_instrument_scaling(e, (uint32_t)i, &s->scaling[i]), RISK_OK);
    }
    for (size_t i = 0; i < n_assets; i++)
        s->vol[i] = vol_of(e, (uint32_t)i);
}

static void vsnap_check(const risk_engine *e, const vsnap *s, int with_memory)
{
    vsnap now;
    vsnap_take(e, s->n_assets, s->n_inst, &now);
    tu_engine_snap_check(e, &s->engine, with_memory);
    for (size_t i = 0; i < s->n_inst; i++) {
        assert_int_equal(now.n_tiers[i], s->n_tiers[i]);
        assert_tiers_equal(now.tiers[i], s->tiers[i], s->n_tiers[i]);
        assert_tiers_equal(now.base[i], s->base[i], s->n_tiers[i]);
        assert_memory_equal(&now.factor[i], &s->factor[i], sizeof now.factor[i]);
        assert_memory_equal(&now.scaling[i], &s->scaling[i], sizeof now.scaling[i]);
    }
    for (size_t i = 0; i < s->n_assets; i++)
        assert_memory_equal(&now.vol[i], &s->vol[i], sizeof now.vol[i]);
}

/* ------------------------------------------------------------------ off by default */

/* An instrument without scaling keeps its schedule whatever its underlying's volatility does,
 * and an account on it evaluates bit for bit as before; turning scaling on and then off again
 * restores the registered schedule exactly. */
static void test_volmargin_off_is_the_registered_schedule(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    uint32_t inst = btcusdt(&v);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, v.usdt, 200000.0);
    (void)tu_open_simple(acc, inst, 30.0, 48000.0);
    risk_account_summary before = tu_eval(acc);
    risk_margin_tier reg[64], got[64], base[64];
    size_t n = tiers_of(v.e, inst, reg);
    assert_int_equal(n, TU_BINANCE_BTCUSDT_TIERS);

    risk_margin_factor f = factor_of(v.e, inst);
    assert_int_equal(f.mode, RISK_SCALING_OFF);
    tu_assert_bits(f.factor, 1.0);
    assert_true(isnan(f.vol_annual));
    risk_margin_scaling sc;
    tu_assert_status(risk_engine_instrument_scaling(v.e, inst, &sc), RISK_OK);
    assert_int_equal(sc.mode, RISK_SCALING_OFF);

    set_vol(v.e, v.btc, 2.5, 100);
    feed_return(v.e, v.btc, -0.3, 200);
    assert_int_equal(tiers_of(v.e, inst, got), n);
    assert_tiers_equal(got, reg, n);
    risk_account_summary after = tu_eval(acc);
    assert_memory_equal(&after, &before, sizeof after);

    /* On (factor far from 1), then off: exactly the registered schedule again. */
    risk_margin_scaling on = tiers_scaling(0.5, 0.1, 10.0);
    scale(v.e, inst, &on);
    (void)tiers_of(v.e, inst, got);
    assert_true(got[0].mmr > reg[0].mmr);
    assert_int_equal(base_tiers_of(v.e, inst, base), n);
    assert_tiers_equal(base, reg, n);
    risk_account_summary scaled = tu_eval(acc);
    assert_true(scaled.maintenance_margin > before.maintenance_margin);
    tu_assert_status(risk_engine_set_instrument_scaling(v.e, inst, NULL), RISK_OK);
    (void)tiers_of(v.e, inst, got);
    assert_tiers_equal(got, reg, n);
    after = tu_eval(acc);
    assert_memory_equal(&after, &before, sizeof after);
    /* mode OFF turns it off as NULL does; and off when already off is a no-op */
    scale(v.e, inst, &on);
    risk_margin_scaling off = RISK_MARGIN_SCALING_INIT;
    scale(v.e, inst, &off);
    scale(v.e, inst, &off);
    (void)tiers_of(v.e, inst, got);
    assert_tiers_equal(got, reg, n);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* A factor of exactly 1 leaves the effective schedule bit-identical to the base. */
static void test_volmargin_factor_one_is_identity(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    const risk_margin_tier t[] = {tu_tier(10000.0, 0.01, 50.0), tu_tier_cum(1e6, 0.02, 25.0, 150.0),
                                  tu_tier(1e9, 0.05, 10.0)};
    uint32_t inst = tu_linear(v.e, "X", v.btc, v.usdt, 1.0, 0.001, 0.1, 50000.0, t, 3);
    risk_margin_tier reg[64], got[64];
    size_t n = tiers_of(v.e, inst, reg);
    risk_margin_scaling s = tiers_scaling(0.5, 1.0, 4.0);
    scale(v.e, inst, &s); /* no volatility yet: ratio 1 */
    tu_assert_bits(factor_of(v.e, inst).factor, 1.0);
    (void)tiers_of(v.e, inst, got);
    assert_tiers_equal(got, reg, n);
    set_vol(v.e, v.btc, 0.1, 0); /* ratio 0.2, clamped up to min_factor 1 */
    tu_assert_bits(factor_of(v.e, inst).factor, 1.0);
    (void)tiers_of(v.e, inst, got);
    assert_tiers_equal(got, reg, n);
    risk_engine_free(v.e);
}

/* ------------------------------------------------------------------ the scaled schedule */

/* MM is continuous at every tier edge at many random factors (fixed seed), including factors
 * at which rates reach the cap of 1; MM' = f x MM_base while no MM rate is capped, and
 * IM' = N x min(1, f / L_t); a published deduction keeps its published jump, scaled by f. */
static void test_volmargin_mm_continuous_at_every_edge(void **state)
{
    (void)state;
    env v;
    env_init(&v, RISK_ENGINE_NO_QUANTIZE);
    uint32_t bin = btcusdt(&v);
    /* a published cum consistent with the recursion (0 + 10,000 x 0.01 = 100), then a published jump of 40 */
    const risk_margin_tier pub[] = {tu_tier(10000.0, 0.01, 50.0), tu_tier_cum(1e6, 0.02, 25.0, 100.0),
                                    tu_tier_cum(5e6, 0.04, 12.5, 20100.0 + 40.0), tu_tier(1e9, 0.08, 5.0)};
    uint32_t pi = tu_linear(v.e, "PUB", v.btc, v.usdt, 1.0, 0.001, 0.1, 50000.0, pub, 4);
    risk_margin_scaling s = tiers_scaling(0.5, 0.01, 100.0);
    scale(v.e, bin, &s);
    scale(v.e, pi, &s);
    tu_rng rng;
    tu_rng_seed(&rng, 20240404);
    const uint32_t insts[] = {bin, pi};
    for (int k = 0; k < 400; k++) {
        double target = exp(tu_rng_range(&rng, log(0.05), log(40.0)));
        set_vol(v.e, v.btc, 0.5 * target, k);
        for (size_t ii = 0; ii < 2; ii++) {
            uint32_t inst = insts[ii];
            risk_margin_tier base[64], eff[64];
            size_t n = base_tiers_of(v.e, inst, base);
            assert_int_equal(tiers_of(v.e, inst, eff), n);
            double f = factor_of(v.e, inst).factor;
            tu_assert_rel(f, target, 1e-14);
            int capped = f * base[n - 1].mmr >= 1.0;
            for (size_t t = 0; t < n; t++) {
                assert_true(eff[t].mmr <= 1.0 && eff[t].mmr >= 0.0);
                tu_assert_bits(eff[t].notional_cap, base[t].notional_cap);
                if (t > 0)
                    assert_true(eff[t].mmr >= eff[t - 1].mmr);
            }
            for (size_t t = 0; t + 1 < n; t++) {
                double cap = base[t].notional_cap;
                double left = cap * eff[t].mmr - eff[t].cum;
                double right = cap * eff[t + 1].mmr - eff[t + 1].cum;
                double jump_base = (cap * base[t + 1].mmr - base[t + 1].cum) - (cap * base[t].mmr - base[t].cum);
                tu_assert_near(right - left, f * jump_base, 1e-9 * (1.0 + fabs(left)));
                /* through the API: MM just above the edge is MM at the edge plus at most the slope x ulp */
                double mm_at, mm_above, im;
                mm_im(v.e, inst, cap, 0.0, &mm_at, &im);
                mm_im(v.e, inst, nextafter(cap, INFINITY), 0.0, &mm_above, &im);
                tu_assert_near(mm_above - mm_at, f * jump_base, 1e-9 * (1.0 + fabs(mm_at)));
            }
            for (int j = 0; j < 20; j++) {
                double N = exp(tu_rng_range(&rng, log(100.0), log(2e9)));
                double mm, im, mm0, im0;
                mm_im(v.e, inst, N, 0.0, &mm, &im);
                assert_true(mm <= N * (1.0 + 1e-15) && im <= N * (1.0 + 1e-15));
                /* the base schedule's values, from the base tiers; IM's rate is capped at 1 tier by tier */
                size_t t = 0;
                while (t + 1 < n && N > base[t].notional_cap)
                    t++;
                im0 = N / base[t].max_leverage;
                tu_assert_rel(im, f / base[t].max_leverage < 1.0 ? f * im0 : N, 1e-14);
                if (capped)
                    continue;
                mm0 = N * base[t].mmr - base[t].cum;
                tu_assert_rel(mm, f * mm0, 1e-12);
            }
        }
    }
    risk_engine_free(v.e);
}

/* MM stays non-decreasing in the notional under scaling, with capped rates too. */
static void test_volmargin_mm_monotone_in_size(void **state)
{
    (void)state;
    env v;
    env_init(&v, RISK_ENGINE_NO_QUANTIZE);
    uint32_t inst = btcusdt(&v);
    risk_margin_scaling s = tiers_scaling(0.5, 0.01, 100.0);
    scale(v.e, inst, &s);
    const double factors[] = {0.3, 1.0, 3.7, 9.0, 60.0};
    for (size_t k = 0; k < sizeof factors / sizeof factors[0]; k++) {
        set_vol(v.e, v.btc, 0.5 * factors[k], 0);
        double prev = -1.0;
        for (double N = 1000.0; N < 1e10; N *= 1.07) {
            double mm, im;
            mm_im(v.e, inst, N, 0.0, &mm, &im);
            assert_true(mm >= prev - 1e-6 * prev);
            prev = mm;
        }
    }
    risk_engine_free(v.e);
}

/* The factor is clamp(vol / reference, min_factor, max_factor), exactly, at random volatilities. */
static void test_volmargin_factor_bounds_hold(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    uint32_t inst = btcusdt(&v);
    risk_margin_scaling s = tiers_scaling(0.6, 0.75, 2.5);
    scale(v.e, inst, &s);
    tu_rng rng;
    tu_rng_seed(&rng, 7);
    int low = 0, high = 0, inside = 0;
    for (int k = 0; k < 2000; k++) {
        double vol = tu_rng_range(&rng, 0.0, 2.5);
        set_vol(v.e, v.btc, vol, k);
        double live = vol_of(v.e, v.btc).live_vol_annual;
        tu_assert_rel(live, vol, 1e-15);
        risk_margin_factor f = factor_of(v.e, inst);
        double ratio = live / 0.6;
        double want = ratio < 0.75 ? 0.75 : ratio > 2.5 ? 2.5 : ratio;
        tu_assert_bits(f.factor, want);
        tu_assert_bits(f.target, want);
        tu_assert_bits(f.vol_annual, live);
        assert_true(f.factor >= 0.75 && f.factor <= 2.5);
        low += ratio < 0.75;
        high += ratio > 2.5;
        inside += ratio >= 0.75 && ratio <= 2.5;
    }
    assert_true(low > 100 && high > 100 && inside > 100); /* every branch was exercised */
    risk_engine_free(v.e);
}

/* Under a rate cap a configuration call may lower the factor at once but not raise it: a buffer
 * released in stress lowers margin now, and neither it nor another instrument's release on the
 * same asset lets the market's rise jump the cap (found by the back-test, docs/volatility.md 4). */
static void test_volmargin_configuration_calls_do_not_lift_the_cap(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    uint32_t capped = btcusdt(&v);
    uint32_t buffered = tu_binance_btcusdt_perp(v.e, "BTCUSDT-B", v.btc, v.usdt, 50000.0);
    risk_margin_scaling s = tiers_scaling(0.5, 0.5, 4.0);
    s.max_daily_change = 0.2;
    scale(v.e, capped, &s);
    s.buffer = 0.25;
    scale(v.e, buffered, &s);
    int64_t t = 1600000000;
    set_vol(v.e, v.btc, 0.5, t); /* first stamp: targets 1 and 1.25 at once */
    tu_assert_rel(factor_of(v.e, capped).factor, 1.0, 1e-15);
    tu_assert_rel(factor_of(v.e, buffered).factor, 1.25, 1e-15);
    set_vol(v.e, v.btc, 1.5, t + DAY); /* stress: targets 3 and 3.75, each capped at +20 % */
    tu_assert_rel(factor_of(v.e, capped).factor, 1.2, 1e-15);
    tu_assert_rel(factor_of(v.e, buffered).factor, 1.5, 1e-15);
    tu_assert_status(risk_engine_set_asset_buffer_release(v.e, v.btc, 1.0), RISK_OK);
    tu_assert_rel(factor_of(v.e, capped).factor, 1.2, 1e-15);   /* not lifted to 3 */
    tu_assert_rel(factor_of(v.e, buffered).factor, 1.5, 1e-15); /* target 3 > 1.5: held */
    tu_assert_rel(factor_of(v.e, buffered).target, 3.0, 1e-15);
    set_vol(v.e, v.btc, 0.55, t + 2 * DAY); /* calm: targets 1.1 (released buffer) */
    tu_assert_rel(factor_of(v.e, buffered).factor, 1.2, 1e-15); /* -20 % a day from 1.5 */
    tu_assert_status(risk_engine_set_asset_buffer_release(v.e, v.btc, 0.0), RISK_OK);
    tu_assert_rel(factor_of(v.e, buffered).factor, 1.2, 1e-15); /* restoring it raises the target (1.375): waits */
    risk_margin_scaling lower = s;
    lower.reference_vol_annual = 1.1; /* a configuration that lowers the target applies at once */
    scale(v.e, buffered, &lower);
    tu_assert_rel(factor_of(v.e, buffered).factor, 0.55 / 1.1 * 1.25, 1e-15);
    risk_engine_free(v.e);
}

/* The rate cap: over a sequence of stamped updates the factor moves from its previous value by
 * at most max_daily_change x elapsed days (relative), reaches the target whenever the band
 * allows, and stays within the factor bounds. */
static void test_volmargin_rate_cap_holds_over_updates(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    uint32_t inst = btcusdt(&v);
    risk_margin_scaling s = tiers_scaling(0.5, 0.5, 3.0);
    s.max_daily_change = 0.2;
    scale(v.e, inst, &s);
    tu_rng rng;
    tu_rng_seed(&rng, 99);
    int64_t t = 1600000000;
    set_vol(v.e, v.btc, 0.5, t); /* first stamp: the factor jumps to its target (1) */
    double prev = factor_of(v.e, inst).factor;
    tu_assert_rel(prev, 1.0, 1e-15);
    int capped = 0, free_moves = 0;
    for (int k = 0; k < 3000; k++) {
        int64_t dt = tu_rng_int(&rng, 0, 48 * 3600);
        t += dt;
        double vol = tu_rng_unit(&rng) < 0.1 ? tu_rng_range(&rng, 0.05, 3.0) : 0.5 * prev * tu_rng_range(&rng, 0.9, 1.1);
        set_vol(v.e, v.btc, vol, t);
        risk_margin_factor f = factor_of(v.e, inst);
        double move = 0.2 * ((double)dt / DAY);
        double lo = prev * (move < 1.0 ? 1.0 - move : 0.0), hi = prev * (1.0 + move);
        assert_true(f.factor >= 0.5 && f.factor <= 3.0);
        assert_true(f.target >= 0.5 && f.target <= 3.0);
        if (f.target >= lo && f.target <= hi) {
            tu_assert_bits(f.factor, f.target);
            free_moves++;
        } else {
            tu_assert_bits(f.factor, f.target < lo ? lo : hi);
            capped++;
        }
        prev = f.factor;
    }
    assert_true(capped > 100 && free_moves > 100);
    /* A stamp equal to the last one moves nothing; a configuration call applies the target at once. */
    set_vol(v.e, v.btc, 1.4, t);
    double held = factor_of(v.e, inst).factor;
    set_vol(v.e, v.btc, 0.1, t);
    tu_assert_bits(factor_of(v.e, inst).factor, held);
    s.max_daily_change = 0.1;
    scale(v.e, inst, &s);
    tu_assert_bits(factor_of(v.e, inst).factor, 0.5); /* 0.1 / 0.5 = 0.2, clamped to 0.5 */
    /* and counting restarts from the last stamp: one day later it may rise 10 % */
    set_vol(v.e, v.btc, 1.5, t + DAY);
    tu_assert_rel(factor_of(v.e, inst).factor, 0.55, 1e-15);
    risk_engine_free(v.e);
}

/* Time stamps span the whole int64 range: the elapsed time is taken in double precision. */
static void test_volmargin_extreme_time_stamps(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    uint32_t inst = btcusdt(&v);
    risk_margin_scaling s = tiers_scaling(0.5, 0.5, 3.0);
    s.max_daily_change = 0.1;
    scale(v.e, inst, &s);
    set_vol(v.e, v.btc, 0.5, INT64_MIN);
    set_vol(v.e, v.btc, 1.5, INT64_MIN); /* no time elapsed: held */
    tu_assert_rel(factor_of(v.e, inst).factor, 1.0, 1e-15);
    set_vol(v.e, v.btc, 1.5, INT64_MAX); /* ~2e14 days later: the target */
    tu_assert_rel(factor_of(v.e, inst).factor, 3.0, 1e-15);
    assert_int_equal(vol_of(v.e, v.btc).last_time_s, INT64_MAX);
    risk_engine_free(v.e);
}

/* ------------------------------------------------------------------ anti-procyclicality */

/* (b) stressed weight: vol = w x stressed + (1 - w) x live, with the stressed volatility as set,
 * else the highest live volatility observed. */
static void test_volmargin_stress_weight_binds(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    uint32_t inst = btcusdt(&v);
    risk_margin_scaling s = tiers_scaling(0.5, 0.1, 10.0);
    scale(v.e, inst, &s);
    set_vol(v.e, v.btc, 1.0, 0);
    set_vol(v.e, v.btc, 0.4, 1);
    risk_margin_factor f = factor_of(v.e, inst);
    tu_assert_rel(f.vol_annual, 0.4, 1e-15); /* option off: the live volatility */
    risk_asset_vol_state st = vol_of(v.e, v.btc);
    tu_assert_rel(st.stressed_vol_annual, 1.0, 1e-15); /* the highest observed */
    assert_int_equal(st.flags & RISK_ASSET_VOL_STRESSED_SET, 0);

    s.stress_weight = 0.25;
    scale(v.e, inst, &s);
    f = factor_of(v.e, inst);
    tu_assert_rel(f.vol_annual, 0.25 * 1.0 + 0.75 * 0.4, 1e-15);
    tu_assert_rel(f.factor, 0.55 / 0.5, 1e-15);
    /* set directly: that value, above or below the live volatility */
    tu_assert_status(risk_engine_set_asset_stressed_vol(v.e, v.btc, 1.2), RISK_OK);
    tu_assert_rel(factor_of(v.e, inst).vol_annual, 0.25 * 1.2 + 0.75 * 0.4, 1e-15);
    assert_int_equal(vol_of(v.e, v.btc).flags & RISK_ASSET_VOL_STRESSED_SET, RISK_ASSET_VOL_STRESSED_SET);
    tu_assert_status(risk_engine_set_asset_stressed_vol(v.e, v.btc, 0.2), RISK_OK);
    tu_assert_rel(factor_of(v.e, inst).vol_annual, 0.25 * 0.2 + 0.75 * 0.4, 1e-15);
    s.stress_weight = 1.0;
    scale(v.e, inst, &s);
    tu_assert_rel(factor_of(v.e, inst).vol_annual, 0.2, 1e-15);
    /* back to the highest observed */
    tu_assert_status(risk_engine_set_asset_stressed_vol(v.e, v.btc, 0.0), RISK_OK);
    tu_assert_rel(factor_of(v.e, inst).vol_annual, 1.0, 1e-15);
    set_vol(v.e, v.btc, 1.6, 2); /* a new high is observed */
    tu_assert_rel(factor_of(v.e, inst).vol_annual, 1.6, 1e-15);
    risk_engine_free(v.e);
}

/* (c) floor: binds exactly when the live volatility is below the long-run one; the long-run
 * volatility is as set, else sqrt(mean r^2 x periods_per_year) over every fed return.
 * Hand computation for r = 0.01, -0.02, 0.03, -0.04 (lambda 0.94, 365 periods):
 *   EWMA: s2 = 1e-4, 1.18e-4, 1.6492e-4, 2.510248e-4 -> live = sqrt(2.510248e-4 x 365) = 0.30269465
 *   long run: mean r^2 = 30e-4 / 4 = 7.5e-4 -> sqrt(7.5e-4 x 365) = 0.52321124 */
static void test_volmargin_floor_binds_when_live_is_below(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    uint32_t inst = btcusdt(&v);
    risk_margin_scaling s = tiers_scaling(0.5, 0.1, 10.0);
    s.vol_floor = 1;
    scale(v.e, inst, &s);
    const double r[] = {0.01, -0.02, 0.03, -0.04};
    for (int i = 0; i < 4; i++)
        feed_return(v.e, v.btc, r[i], i);
    risk_asset_vol_state st = vol_of(v.e, v.btc);
    tu_assert_rel(st.live_vol_annual, 0.3026946514228489, 1e-14);
    tu_assert_rel(st.floor_vol_annual, 0.5232112384114087, 1e-14);
    assert_int_equal(st.n_returns, 4);
    risk_margin_factor f = factor_of(v.e, inst);
    tu_assert_bits(f.vol_annual, st.floor_vol_annual); /* binds */
    /* a directly set floor below the live volatility does not bind; above, it does */
    tu_assert_status(risk_engine_set_asset_floor_vol(v.e, v.btc, 0.25), RISK_OK);
    tu_assert_bits(factor_of(v.e, inst).vol_annual, st.live_vol_annual);
    tu_assert_status(risk_engine_set_asset_floor_vol(v.e, v.btc, 0.8), RISK_OK);
    tu_assert_bits(factor_of(v.e, inst).vol_annual, 0.8);
    tu_assert_rel(factor_of(v.e, inst).factor, 1.6, 1e-15);
    /* live above the floor: the live volatility */
    set_vol(v.e, v.btc, 0.9, 10);
    tu_assert_rel(factor_of(v.e, inst).vol_annual, 0.9, 1e-15);
    /* option off: never */
    set_vol(v.e, v.btc, 0.3, 11);
    s.vol_floor = 0;
    scale(v.e, inst, &s);
    tu_assert_rel(factor_of(v.e, inst).vol_annual, 0.3, 1e-15);
    /* without a long-run volatility the floor has nothing to bind with */
    tu_assert_status(risk_engine_set_asset_floor_vol(v.e, v.btc, 0.0), RISK_OK);
    tu_assert_status(risk_engine_set_asset_vol_params(v.e, v.btc, NULL), RISK_OK);
    assert_true(isnan(vol_of(v.e, v.btc).floor_vol_annual));
    s.vol_floor = 1;
    scale(v.e, inst, &s);
    set_vol(v.e, v.btc, 0.3, 12);
    tu_assert_rel(factor_of(v.e, inst).vol_annual, 0.3, 1e-15);
    risk_engine_free(v.e);
}

/* (a) buffer: the ratio times 1 + b x (1 - released); released by an explicit call; the bounds
 * apply after it. */
static void test_volmargin_buffer_and_release(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    uint32_t inst = btcusdt(&v);
    risk_margin_scaling s = tiers_scaling(0.5, 0.5, 4.0);
    s.buffer = 0.25;
    scale(v.e, inst, &s);
    tu_assert_bits(factor_of(v.e, inst).factor, 1.25); /* no volatility yet: the calibrated schedule, buffered */
    set_vol(v.e, v.btc, 0.6, 0);
    double ratio = vol_of(v.e, v.btc).live_vol_annual / 0.5;
    tu_assert_bits(factor_of(v.e, inst).factor, ratio * 1.25);
    tu_assert_status(risk_engine_set_asset_buffer_release(v.e, v.btc, 1.0), RISK_OK);
    tu_assert_bits(factor_of(v.e, inst).factor, ratio);
    tu_assert_status(risk_engine_set_asset_buffer_release(v.e, v.btc, 0.5), RISK_OK);
    tu_assert_bits(factor_of(v.e, inst).factor, ratio * 1.125);
    tu_assert_bits(vol_of(v.e, v.btc).buffer_release, 0.5);
    tu_assert_status(risk_engine_set_asset_buffer_release(v.e, v.btc, 0.0), RISK_OK);
    set_vol(v.e, v.btc, 1.75, 1); /* ratio 3.5, buffered 4.375: the bound wins */
    tu_assert_bits(factor_of(v.e, inst).factor, 4.0);
    risk_engine_free(v.e);
}

/* The documented order: stressed weight, then floor, then ratio, buffer, bounds. With live 0.4,
 * stressed 1.0 (w 0.5), floor 0.9, buffer 0.5, reference 0.5, max 2.5:
 * weighted 0.7 -> floored 0.9 -> ratio 1.8 -> buffered 2.7 -> bounded 2.5. (Flooring before
 * weighting would give 0.95, and buffering after the bounds 3.75.) */
static void test_volmargin_options_combine_in_order(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    uint32_t inst = btcusdt(&v);
    risk_margin_scaling s = tiers_scaling(0.5, 0.5, 2.5);
    s.stress_weight = 0.5;
    s.vol_floor = 1;
    s.buffer = 0.5;
    scale(v.e, inst, &s);
    tu_assert_status(risk_engine_set_asset_stressed_vol(v.e, v.btc, 1.0), RISK_OK);
    tu_assert_status(risk_engine_set_asset_floor_vol(v.e, v.btc, 0.9), RISK_OK);
    set_vol(v.e, v.btc, 0.4, 0);
    risk_margin_factor f = factor_of(v.e, inst);
    tu_assert_bits(f.vol_annual, 0.9);
    tu_assert_bits(f.factor, 2.5);
    s.max_factor = 10.0;
    scale(v.e, inst, &s);
    tu_assert_rel(factor_of(v.e, inst).factor, 2.7, 1e-15);
    risk_engine_free(v.e);
}

/* ------------------------------------------------------------------ VaR-style margin */

/* One tier at mmr 1 %, 50x, VaR mode z 2.326, 3 days of a 365-day year, vol 80 %:
 * rate = 2.326 x 0.8 x sqrt(3 / 365) = 1.8608 x 0.0906597 = 0.1686995 (hand computation);
 * IM keeps the base ratio IM/MM = (1/50) / 1 % = 2. */
static void test_volmargin_var_single_tier(void **state)
{
    (void)state;
    env v;
    env_init(&v, RISK_ENGINE_NO_QUANTIZE);
    const risk_margin_tier t[] = {tu_tier(1e9, 0.01, 50.0)};
    uint32_t inst = tu_linear(v.e, "BTC-VAR", v.btc, v.usdt, 1.0, 0.001, 0.1, 50000.0, t, 1);
    risk_margin_scaling s = RISK_MARGIN_SCALING_INIT;
    s.mode = RISK_SCALING_VAR;
    s.horizon_days = 3.0;
    s.min_factor = 0.01;
    s.max_factor = 100.0;
    tu_assert_bits(s.z, 2.326);
    tu_assert_bits(s.days_per_year, 365.0);
    scale(v.e, inst, &s);
    set_vol(v.e, v.btc, 0.8, 0);
    risk_margin_tier eff[64];
    (void)tiers_of(v.e, inst, eff);
    tu_assert_rel(eff[0].mmr, 0.16869953772135024, 1e-14);
    tu_assert_rel(eff[0].max_leverage, 1.0 / (2.0 * 0.16869953772135024), 1e-14);
    risk_margin_factor f = factor_of(v.e, inst);
    tu_assert_rel(f.reference_vol_annual, 0.01 / (2.326 * sqrt(3.0 / 365.0)), 1e-15);
    double mm, im;
    mm_im(v.e, inst, 10000.0, 0.0, &mm, &im);
    tu_assert_rel(mm, 1686.9953772135024, 1e-14);
    tu_assert_rel(im, 2.0 * 1686.9953772135024, 1e-14);
    /* an account holding 0.2 BTC at 50,000 (notional 10,000) needs the same */
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, v.usdt, 5000.0);
    (void)tu_open_simple(acc, inst, 0.2, 50000.0);
    risk_account_summary sum = tu_eval(acc);
    tu_assert_rel(sum.maintenance_margin, 1686.9953772135024, 1e-14);
    /* a first tier with mmr 0 has no VaR reference */
    const risk_margin_tier zero[] = {tu_tier(1e9, 0.0, 50.0)};
    uint32_t z = tu_linear(v.e, "ZERO", v.btc, v.usdt, 1.0, 0.001, 0.1, 50000.0, zero, 1);
    tu_assert_status(risk_engine_set_instrument_scaling(v.e, z, &s), RISK_EINVAL);
    tu_assert_errmsg(risk_engine_errmsg(v.e));
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* ------------------------------------------------------------------ accounts */

/* An account's requirements follow the factor: MM(N) = f x MM_base(N) per position, the
 * unscaled instrument unchanged, and IM = N x max(1 / user leverage, f / L_t). */
static void test_volmargin_account_requirements_follow_factor(void **state)
{
    (void)state;
    env v;
    env_init(&v, RISK_ENGINE_NO_QUANTIZE);
    uint32_t bi = btcusdt(&v);
    const risk_margin_tier et[] = {tu_tier(100000.0, 0.005, 100.0), tu_tier(1e9, 0.01, 50.0)};
    uint32_t ei = tu_linear(v.e, "ETHUSDT", v.eth, v.usdt, 1.0, 0.01, 0.01, 3000.0, et, 2);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, v.usdt, 500000.0);
    (void)tu_open_simple(acc, bi, 30.0, 48000.0);   /* 1.5M: tier 3 */
    (void)tu_open_simple(acc, ei, -100.0, 3100.0);  /* 300k: tier 1 */
    risk_position_result b0 = tu_result_of(acc, bi, RISK_SIDE_LONG);
    risk_position_result e0 = tu_result_of(acc, ei, RISK_SIDE_SHORT);
    risk_account_summary s0 = tu_eval(acc);
    risk_margin_scaling s = tiers_scaling(0.5, 0.1, 10.0);
    scale(v.e, bi, &s);
    const double vols[] = {0.9, 0.35, 1.5, 0.5};
    for (size_t k = 0; k < sizeof vols / sizeof vols[0]; k++) {
        set_vol(v.e, v.btc, vols[k], (int64_t)k);
        set_vol(v.e, v.eth, 3.0 * vols[k], (int64_t)k); /* ETHUSDT is not scaled */
        double f = factor_of(v.e, bi).factor;
        tu_assert_rel(f, vols[k] / 0.5, 1e-15);
        risk_position_result b = tu_result_of(acc, bi, RISK_SIDE_LONG);
        risk_position_result e = tu_result_of(acc, ei, RISK_SIDE_SHORT);
        assert_int_equal(b.tier, b0.tier);
        tu_assert_rel(b.maintenance_margin, f * b0.maintenance_margin, 1e-13);
        tu_assert_rel(b.initial_margin, f * b0.initial_margin, 1e-14);
        tu_assert_bits(e.maintenance_margin, e0.maintenance_margin);
        tu_assert_bits(e.initial_margin, e0.initial_margin);
        risk_account_summary sk = tu_eval(acc);
        tu_assert_rel(sk.maintenance_margin, e0.maintenance_margin + f * b0.maintenance_margin, 1e-13);
        tu_assert_rel(sk.initial_margin, e0.initial_margin + f * b0.initial_margin, 1e-13);
        tu_assert_bits(sk.equity, s0.equity);
    }
    /* User leverage 10 in tier 3 (base max 20x): IM rate max(0.1, f / 20). */
    tu_leverage(acc, bi, 10.0);
    set_vol(v.e, v.btc, 0.9, 10); /* f 1.8: f / 20 = 0.09 < 0.1, the user's rate binds */
    tu_assert_rel(tu_result_of(acc, bi, RISK_SIDE_LONG).initial_margin, 0.1 * b0.notional, 1e-14);
    set_vol(v.e, v.btc, 1.5, 11); /* f 3: 0.15, the tier's rate binds */
    tu_assert_rel(tu_result_of(acc, bi, RISK_SIDE_LONG).initial_margin, 3.0 / 20.0 * b0.notional, 1e-14);
    /* User leverage is checked against the base schedule: 125x stays valid at any factor. */
    tu_leverage(acc, bi, 125.0);
    tu_assert_status(risk_account_set_leverage(acc, bi, 126.0), RISK_ELEVERAGE);
    /* Scaling off: the account is as it was (leverage aside). */
    tu_leverage(acc, bi, 20.0);
    tu_assert_status(risk_engine_set_instrument_scaling(v.e, bi, NULL), RISK_OK);
    risk_position_result b = tu_result_of(acc, bi, RISK_SIDE_LONG);
    tu_assert_bits(b.maintenance_margin, b0.maintenance_margin);
    tu_assert_bits(b.initial_margin, b0.initial_margin);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* Several instruments on one underlying all rescale on its updates, and only they; the list
 * survives turning instruments off in any position. */
static void test_volmargin_every_instrument_on_the_underlying(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    const risk_margin_tier t[] = {tu_tier(1e6, 0.01, 50.0), tu_tier(1e9, 0.02, 25.0)};
    uint32_t ids[4];
    ids[0] = tu_linear(v.e, "B0", v.btc, v.usdt, 1.0, 0.001, 0.1, 50000.0, t, 2);
    ids[1] = tu_linear(v.e, "B1", v.btc, v.usdt, 1.0, 0.001, 0.1, 50000.0, t, 2);
    ids[2] = tu_linear(v.e, "B2", v.btc, v.usdt, 1.0, 0.001, 0.1, 50000.0, t, 2);
    ids[3] = tu_linear(v.e, "E0", v.eth, v.usdt, 1.0, 0.001, 0.1, 3000.0, t, 2);
    risk_margin_scaling s = tiers_scaling(0.5, 0.1, 10.0);
    for (int i = 0; i < 4; i++)
        scale(v.e, ids[i], &s);
    set_vol(v.e, v.btc, 1.0, 0);
    for (int i = 0; i < 3; i++)
        tu_assert_rel(factor_of(v.e, ids[i]).factor, 2.0, 1e-15);
    tu_assert_bits(factor_of(v.e, ids[3]).factor, 1.0);
    tu_assert_status(risk_engine_set_instrument_scaling(v.e, ids[1], NULL), RISK_OK); /* middle */
    set_vol(v.e, v.btc, 1.5, 1);
    tu_assert_rel(factor_of(v.e, ids[0]).factor, 3.0, 1e-15);
    tu_assert_bits(factor_of(v.e, ids[1]).factor, 1.0);
    tu_assert_rel(factor_of(v.e, ids[2]).factor, 3.0, 1e-15);
    tu_assert_status(risk_engine_set_instrument_scaling(v.e, ids[2], NULL), RISK_OK); /* head */
    tu_assert_status(risk_engine_set_instrument_scaling(v.e, ids[0], NULL), RISK_OK); /* tail */
    scale(v.e, ids[1], &s);
    set_vol(v.e, v.btc, 0.25, 2);
    tu_assert_rel(factor_of(v.e, ids[1]).factor, 0.5, 1e-15);
    tu_assert_bits(factor_of(v.e, ids[0]).factor, 1.0);
    tu_assert_bits(factor_of(v.e, ids[2]).factor, 1.0);
    risk_engine_free(v.e);
}

/* ------------------------------------------------------------------ the engine's volatility state */

/* Fed returns and prices go through include/risk/vol.h's EWMA: the same numbers, bit for bit;
 * the first price only primes; a set volatility continues the recursion; parameters restart it. */
static void test_volmargin_ewma_state_matches_vol_h(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    risk_asset_vol_state st = vol_of(v.e, v.btc);
    assert_true(isnan(st.live_vol_annual) && isnan(st.stressed_vol_annual) && isnan(st.floor_vol_annual));
    tu_assert_bits(st.lambda, 0.94);
    tu_assert_bits(st.periods_per_year, 365.0);
    assert_int_equal(st.flags, 0);

    risk_asset_vol_params p = RISK_ASSET_VOL_PARAMS_INIT;
    p.lambda = 0.97;
    p.periods_per_year = 8760.0;
    tu_assert_status(risk_engine_set_asset_vol_params(v.e, v.btc, &p), RISK_OK);
    risk_vol_ewma_state ref;
    tu_assert_status(risk_vol_ewma_init(&ref, 0.97, 0.0), RISK_OK);
    const double prices[] = {100.0, 101.5, 99.0, 99.7, 103.2, 102.0};
    for (int i = 0; i < 6; i++) {
        tu_assert_status(risk_engine_feed_asset_price(v.e, v.btc, prices[i], 3600 * i), RISK_OK);
        tu_assert_status(risk_vol_ewma_update_price(&ref, prices[i]), RISK_OK);
        st = vol_of(v.e, v.btc);
        assert_int_equal(st.n_returns, (uint64_t)i);
        if (i == 0) {
            assert_true(isnan(st.live_vol_annual));
            continue;
        }
        double want;
        tu_assert_status(risk_vol_ewma_vol_annual(&ref, 8760.0, &want), RISK_OK);
        tu_assert_bits(st.live_vol_annual, want);
        assert_int_equal(st.last_time_s, 3600 * i);
        assert_true(st.flags & RISK_ASSET_VOL_HAS_TIME);
    }
    /* a set volatility: the next return continues from vol^2 / periods */
    set_vol(v.e, v.btc, 0.6, 30000);
    feed_return(v.e, v.btc, 0.01, 30001);
    double s2 = 0.97 * (0.6 * 0.6 / 8760.0) + (1.0 - 0.97) * (0.01 * 0.01);
    tu_assert_rel(vol_of(v.e, v.btc).live_vol_annual, sqrt(s2 * 8760.0), 1e-15);
    /* parameters restart the estimate from the seed; the seed counts as observed */
    p.seed_vol_annual = 0.45;
    tu_assert_status(risk_engine_set_asset_vol_params(v.e, v.btc, &p), RISK_OK);
    st = vol_of(v.e, v.btc);
    tu_assert_rel(st.live_vol_annual, 0.45, 1e-15);
    tu_assert_rel(st.stressed_vol_annual, 0.45, 1e-15);
    assert_true(isnan(st.floor_vol_annual));
    assert_int_equal(st.n_returns, 0);
    assert_int_equal(st.last_time_s, 30001); /* kept */
    feed_return(v.e, v.btc, -0.02, 30002);
    s2 = 0.97 * (0.45 * 0.45 / 8760.0) + (1.0 - 0.97) * (0.02 * 0.02);
    tu_assert_rel(vol_of(v.e, v.btc).live_vol_annual, sqrt(s2 * 8760.0), 1e-15);
    tu_assert_rel(vol_of(v.e, v.btc).floor_vol_annual, sqrt(0.0004 * 8760.0), 1e-15);
    /* the last price is kept: the next price feeds a return from it */
    tu_assert_status(risk_engine_feed_asset_price(v.e, v.btc, 104.0, 30003), RISK_OK);
    assert_int_equal(vol_of(v.e, v.btc).n_returns, 2);
    risk_engine_free(v.e);
}

/* ------------------------------------------------------------------ bad input */

static void expect_rejected(risk_engine *e, int rc, int want, const vsnap *snap, int line)
{
    if (rc != want)
        print_error("case at line %d\n", line);
    tu_assert_status(rc, want);
    if (want != RISK_ENULL)
        tu_assert_errmsg(risk_engine_errmsg(e));
    vsnap_check(e, snap, 1);
}

#define REJECT(call, want) expect_rejected(v.e, (call), (want), &snap, __LINE__)

static void test_volmargin_bad_input_changes_nothing(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    uint32_t inst = btcusdt(&v);
    const risk_margin_tier one[] = {tu_tier(1e9, 0.01, 50.0)};
    (void)tu_linear(v.e, "ETHUSDT", v.eth, v.usdt, 1.0, 0.001, 0.1, 3000.0, one, 1);
    risk_margin_scaling good = tiers_scaling(0.5, 0.5, 3.0);
    good.max_daily_change = 0.5;
    scale(v.e, inst, &good);
    set_vol(v.e, v.btc, 0.8, 1000);
    /* an error message slot exists from here on, so the memory must not move at all */
    tu_assert_status(risk_engine_set_asset_vol(v.e, 99, 0.5, 0), RISK_ENOTFOUND);
    vsnap snap;
    vsnap_take(v.e, 3, 2, &snap);

    const double bad_vol[] = {NAN, INFINITY, -INFINITY, -0.1};
    for (size_t i = 0; i < sizeof bad_vol / sizeof bad_vol[0]; i++) {
        REJECT(risk_engine_set_asset_vol(v.e, v.btc, bad_vol[i], 2000), RISK_EINVAL);
        REJECT(risk_engine_feed_asset_return(v.e, v.btc, i == 3 ? NAN : bad_vol[i], 2000), RISK_EINVAL);
        REJECT(risk_engine_feed_asset_price(v.e, v.btc, bad_vol[i], 2000), RISK_EINVAL);
        REJECT(risk_engine_set_asset_stressed_vol(v.e, v.btc, bad_vol[i]), RISK_EINVAL);
        REJECT(risk_engine_set_asset_floor_vol(v.e, v.btc, bad_vol[i]), RISK_EINVAL);
        REJECT(risk_engine_set_asset_buffer_release(v.e, v.btc, bad_vol[i]), RISK_EINVAL);
    }
    REJECT(risk_engine_feed_asset_price(v.e, v.btc, 0.0, 2000), RISK_EINVAL);
    REJECT(risk_engine_set_asset_buffer_release(v.e, v.btc, 1.5), RISK_EINVAL);
    /* time going backwards */
    REJECT(risk_engine_set_asset_vol(v.e, v.btc, 0.5, 999), RISK_EINVAL);
    REJECT(risk_engine_feed_asset_return(v.e, v.btc, 0.01, 999), RISK_EINVAL);
    REJECT(risk_engine_feed_asset_price(v.e, v.btc, 100.0, -5), RISK_EINVAL);
    /* unknown ids */
    REJECT(risk_engine_set_asset_vol(v.e, 3, 0.5, 2000), RISK_ENOTFOUND);
    REJECT(risk_engine_feed_asset_return(v.e, RISK_ID_NONE, 0.01, 2000), RISK_ENOTFOUND);
    REJECT(risk_engine_feed_asset_price(v.e, 3, 100.0, 2000), RISK_ENOTFOUND);
    REJECT(risk_engine_set_asset_stressed_vol(v.e, 3, 0.5), RISK_ENOTFOUND);
    REJECT(risk_engine_set_asset_floor_vol(v.e, 3, 0.5), RISK_ENOTFOUND);
    REJECT(risk_engine_set_asset_buffer_release(v.e, 3, 0.5), RISK_ENOTFOUND);
    REJECT(risk_engine_set_asset_vol_params(v.e, 3, NULL), RISK_ENOTFOUND);
    REJECT(risk_engine_set_instrument_scaling(v.e, 2, &good), RISK_ENOTFOUND);
    REJECT(risk_engine_set_instrument_scaling(v.e, RISK_ID_NONE, NULL), RISK_ENOTFOUND);
    risk_margin_scaling gs;
    risk_margin_factor gf = RISK_MARGIN_FACTOR_INIT;
    risk_asset_vol_state gv = RISK_ASSET_VOL_STATE_INIT;
    risk_margin_tier gt[64];
    size_t gn;
    REJECT(risk_engine_instrument_scaling(v.e, 2, &gs), RISK_ENOTFOUND);
    REJECT(risk_engine_instrument_factor(v.e, 2, &gf), RISK_ENOTFOUND);
    REJECT(risk_engine_instrument_base_tiers(v.e, 2, gt, 64, &gn), RISK_ENOTFOUND);
    REJECT(risk_engine_asset_vol(v.e, 3, &gv), RISK_ENOTFOUND);
    /* NULLs and versions */
    REJECT(risk_engine_set_asset_vol(NULL, v.btc, 0.5, 2000), RISK_ENULL);
    REJECT(risk_engine_set_instrument_scaling(NULL, inst, &good), RISK_ENULL);
    REJECT(risk_engine_instrument_scaling(v.e, inst, NULL), RISK_ENULL);
    REJECT(risk_engine_instrument_factor(v.e, inst, NULL), RISK_ENULL);
    REJECT(risk_engine_asset_vol(v.e, v.btc, NULL), RISK_ENULL);
    REJECT(risk_engine_instrument_base_tiers(v.e, inst, NULL, 4, &gn), RISK_ENULL);
    REJECT(risk_engine_instrument_base_tiers(v.e, inst, gt, 64, NULL), RISK_ENULL);
    REJECT(risk_engine_instrument_base_tiers(v.e, inst, gt, 3, &gn), RISK_EBUFFER);
    assert_int_equal(gn, TU_BINANCE_BTCUSDT_TIERS);
    gf.version = 99;
    REJECT(risk_engine_instrument_factor(v.e, inst, &gf), RISK_EVERSION);
    gv.version = 0;
    REJECT(risk_engine_asset_vol(v.e, v.btc, &gv), RISK_EVERSION);
    risk_margin_scaling bs = good;
    bs.version = 2;
    REJECT(risk_engine_set_instrument_scaling(v.e, inst, &bs), RISK_EVERSION);
    risk_asset_vol_params bp = RISK_ASSET_VOL_PARAMS_INIT;
    bp.version = 0;
    REJECT(risk_engine_set_asset_vol_params(v.e, v.btc, &bp), RISK_EVERSION);
    /* volatility parameters */
    const double bad_lambda[] = {0.0, 1.0, -0.5, 1.5, NAN};
    for (size_t i = 0; i < sizeof bad_lambda / sizeof bad_lambda[0]; i++) {
        bp = (risk_asset_vol_params)RISK_ASSET_VOL_PARAMS_INIT;
        bp.lambda = bad_lambda[i];
        REJECT(risk_engine_set_asset_vol_params(v.e, v.btc, &bp), RISK_EINVAL);
    }
    bp = (risk_asset_vol_params)RISK_ASSET_VOL_PARAMS_INIT;
    bp.periods_per_year = 0.0;
    REJECT(risk_engine_set_asset_vol_params(v.e, v.btc, &bp), RISK_EINVAL);
    bp.periods_per_year = INFINITY;
    REJECT(risk_engine_set_asset_vol_params(v.e, v.btc, &bp), RISK_EINVAL);
    bp = (risk_asset_vol_params)RISK_ASSET_VOL_PARAMS_INIT;
    bp.seed_vol_annual = -0.1;
    REJECT(risk_engine_set_asset_vol_params(v.e, v.btc, &bp), RISK_EINVAL);
    bp.seed_vol_annual = NAN;
    REJECT(risk_engine_set_asset_vol_params(v.e, v.btc, &bp), RISK_EINVAL);
    bp = (risk_asset_vol_params)RISK_ASSET_VOL_PARAMS_INIT;
    bp.reserved = 1;
    REJECT(risk_engine_set_asset_vol_params(v.e, v.btc, &bp), RISK_EINVAL);
    /* scaling parameters */
    struct {
        int field;
        double value;
    } cases[] = {
        {0, 0.0},   {0, -0.5}, {0, NAN},  {0, INFINITY}, /* reference */
        {1, 0.0},   {1, -1.0}, {1, NAN},  {1, 3.5},      /* min factor (3.5 > max 3) */
        {2, 0.4},   {2, NAN},  {2, INFINITY},            /* max factor (0.4 < min 0.5) */
        {3, 0.1},   {3, 0.24}, {3, -0.25}, {3, NAN}, {3, INFINITY}, /* buffer */
        {4, 0.2},   {4, 1.5},  {4, -0.5}, {4, NAN},      /* stress weight */
        {5, -0.1},  {5, NAN},  {5, INFINITY},            /* rate cap */
        {6, 2.0},                                          /* vol_floor */
        {7, 1.0},                                          /* reserved */
        {8, 7.0},                                          /* mode */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bs = good;
        double x = cases[i].value;
        switch (cases[i].field) {
        case 0: bs.reference_vol_annual = x; break;
        case 1: bs.min_factor = x; break;
        case 2: bs.max_factor = x; break;
        case 3: bs.buffer = x; break;
        case 4: bs.stress_weight = x; break;
        case 5: bs.max_daily_change = x; break;
        case 6: bs.vol_floor = (uint32_t)x; break;
        case 7: bs.reserved = (uint32_t)x; break;
        default: bs.mode = (uint32_t)x; break;
        }
        if (cases[i].field == 0 || cases[i].field == 1) /* a fresh instrument too: nothing allocated */
            REJECT(risk_engine_set_instrument_scaling(v.e, 1, &bs), RISK_EINVAL);
        REJECT(risk_engine_set_instrument_scaling(v.e, inst, &bs), RISK_EINVAL);
    }
    const double bad_var[] = {0.0, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_var / sizeof bad_var[0]; i++)
        for (int field = 0; field < 3; field++) {
            bs = good;
            bs.mode = RISK_SCALING_VAR;
            if (field == 0)
                bs.z = bad_var[i];
            else if (field == 1)
                bs.horizon_days = bad_var[i];
            else
                bs.days_per_year = bad_var[i];
            REJECT(risk_engine_set_instrument_scaling(v.e, inst, &bs), RISK_EINVAL);
        }
    /* the limits themselves are accepted */
    bs = good;
    bs.buffer = 0.25;
    bs.stress_weight = 0.25;
    bs.min_factor = bs.max_factor = 3.0;
    scale(v.e, inst, &bs);
    bs.stress_weight = 1.0;
    scale(v.e, inst, &bs);
    tu_assert_status(risk_engine_set_asset_vol(v.e, v.btc, 0.8, 1000), RISK_OK); /* equal stamps are fine */
    tu_assert_status(risk_engine_set_asset_vol(v.e, v.btc, 0.0, 1000), RISK_OK); /* vol 0 is a value */
    tu_assert_status(risk_engine_set_asset_buffer_release(v.e, v.btc, 1.0), RISK_OK);
    risk_engine_free(v.e);
}

/* ------------------------------------------------------------------ memory */

typedef struct {
    tu_alloc *a;
    risk_engine *e;
    uint32_t btc, inst;
    vsnap snap;
} oom_fx;

static void *oom_setup(tu_alloc *a)
{
    oom_fx *f = test_malloc(sizeof *f);
    memset(f, 0, sizeof *f);
    f->a = a;
    f->e = tu_engine(a, 0);
    (void)tu_asset(f->e, "USDT", 1.0, 6);
    f->btc = tu_asset(f->e, "BTC", 50000.0, 8);
    f->inst = tu_binance_btcusdt_perp(f->e, "BTCUSDT", f->btc, 0, 50000.0);
    uint32_t id;
    tu_assert_status(risk_engine_find_asset(f->e, "NONE", &id), RISK_ENOTFOUND); /* the message slot */
    vsnap_take(f->e, 2, 1, &f->snap);
    return f;
}

static void oom_failed(void *p)
{
    oom_fx *f = p;
    tu_assert_errmsg(risk_engine_errmsg(f->e));
    vsnap_check(f->e, &f->snap, 1);
}

static void oom_teardown(void *p)
{
    oom_fx *f = p;
    risk_engine_free(f->e);
    test_free(f);
}

static int oom_scale_op(void *p)
{
    oom_fx *f = p;
    risk_margin_scaling s = tiers_scaling(0.5, 0.5, 3.0);
    return risk_engine_set_instrument_scaling(f->e, f->inst, &s);
}

static void oom_scale_ok(void *p)
{
    oom_fx *f = p;
    assert_int_equal(factor_of(f->e, f->inst).mode, RISK_SCALING_TIERS);
    set_vol(f->e, f->btc, 1.0, 0);
    tu_assert_rel(factor_of(f->e, f->inst).factor, 2.0, 1e-15);
}

static int oom_feed_op(void *p)
{
    oom_fx *f = p;
    return risk_engine_feed_asset_return(f->e, f->btc, 0.05, 10);
}

static void oom_feed_ok(void *p)
{
    oom_fx *f = p;
    tu_assert_rel(vol_of(f->e, f->btc).live_vol_annual, 0.05 * sqrt(365.0), 1e-15);
}

static void test_volmargin_out_of_memory(void **state)
{
    (void)state;
    tu_oom_case scale_case = {oom_setup, oom_scale_op, oom_failed, oom_scale_ok, oom_teardown};
    unsigned n = tu_oom_walk(&scale_case);
    assert_int_equal(n, 2); /* the asset's state, then the instrument's block */
    tu_oom_case feed_case = {oom_setup, oom_feed_op, oom_failed, oom_feed_ok, oom_teardown};
    n = tu_oom_walk(&feed_case);
    assert_int_equal(n, 1);
}

/* risk_engine_memory_bytes counts the volatility blocks exactly; freeing the engine frees them. */
static void test_volmargin_memory_bytes_match_allocator(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    uint32_t inst = btcusdt(&v);
    size_t m = 0;
    uint32_t id;
    tu_assert_status(risk_engine_find_asset(v.e, "NONE", &id), RISK_ENOTFOUND); /* message slot */
    tu_assert_status(risk_engine_memory_bytes(v.e, &m), RISK_OK);
    assert_int_equal(m, v.a.live_bytes);
    risk_margin_scaling s = tiers_scaling(0.5, 0.5, 3.0);
    scale(v.e, inst, &s);
    tu_assert_status(risk_engine_memory_bytes(v.e, &m), RISK_OK);
    assert_int_equal(m, v.a.live_bytes);
    feed_return(v.e, v.eth, 0.01, 0);
    tu_assert_status(risk_engine_memory_bytes(v.e, &m), RISK_OK);
    assert_int_equal(m, v.a.live_bytes);
    tu_assert_status(risk_engine_set_instrument_scaling(v.e, inst, NULL), RISK_OK);
    tu_assert_status(risk_engine_memory_bytes(v.e, &m), RISK_OK);
    assert_int_equal(m, v.a.live_bytes);
    scale(v.e, inst, &s); /* left on: freed with the engine (the allocator checks leaks) */
    risk_engine_free(v.e);
    assert_int_equal(v.a.live_blocks, 0);
}


/* Issue 9 defect 5: volatility scaling with min = max = 1e300 or DBL_MAX gave MM 9.5e285 or
 * NaN (cum x factor and cap x excess overflowed). Factors are in [1e-6, 1e6], volatilities at
 * most RISK_VOL_ANNUAL_MAX, returns at most RISK_LOG_RETURN_MAX; at the edge the margin of the
 * largest position is finite. */
static void test_volmargin_refuses_parameters_outside_the_domain(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    uint32_t inst = btcusdt(&v);
    const double huge[] = {1e300, DBL_MAX, nextafter(RISK_SCALING_FACTOR_MAX, INFINITY)};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        risk_margin_scaling s = tiers_scaling(0.6, huge[i], huge[i]);
        tu_assert_status(risk_engine_set_instrument_scaling(v.e, inst, &s), RISK_EINVAL);
        assert_non_null(strstr(risk_engine_errmsg(v.e), "min_factor"));
    }
    risk_margin_scaling s = tiers_scaling(0.6, 1.0, nextafter(RISK_SCALING_FACTOR_MAX, INFINITY));
    tu_assert_status(risk_engine_set_instrument_scaling(v.e, inst, &s), RISK_EINVAL);
    assert_non_null(strstr(risk_engine_errmsg(v.e), "max_factor"));
    s = tiers_scaling(1e300, 1.0, 4.0);
    tu_assert_status(risk_engine_set_instrument_scaling(v.e, inst, &s), RISK_EINVAL);
    tu_assert_status(risk_engine_set_asset_vol(v.e, v.btc, 1e300, 0), RISK_EINVAL);
    tu_assert_status(risk_engine_set_asset_vol(v.e, v.btc, nextafter(RISK_VOL_ANNUAL_MAX, INFINITY), 0), RISK_EINVAL);
    tu_assert_status(risk_engine_feed_asset_return(v.e, v.btc, 65.0, 0), RISK_EINVAL);
    tu_assert_status(risk_engine_feed_asset_price(v.e, v.btc, 5e-324, 0), RISK_EINVAL);
    tu_assert_status(risk_engine_set_asset_stressed_vol(v.e, v.btc, 1e300), RISK_EINVAL);

    /* the edge: factor 1e6 on the largest vol; the margin of a large position is finite */
    s = tiers_scaling(1e-4, RISK_SCALING_FACTOR_MAX, RISK_SCALING_FACTOR_MAX);
    scale(v.e, inst, &s);
    set_vol(v.e, v.btc, RISK_VOL_ANNUAL_MAX, 0);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, v.usdt, 1e9);
    (void)tu_open_simple(acc, inst, 1e12, 50000.0);
    risk_account_summary sum = tu_eval(acc);
    assert_true(isfinite(sum.maintenance_margin) && isfinite(sum.initial_margin) && isfinite(sum.equity));
    assert_true(sum.maintenance_margin <= 1e12 * 50000.0 * (1.0 + 1e-12)); /* the rate is capped at 1 */
    assert_int_equal(sum.state, RISK_STATE_LIQUIDATABLE);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_volmargin_off_is_the_registered_schedule),
        cmocka_unit_test(test_volmargin_factor_one_is_identity),
        cmocka_unit_test(test_volmargin_mm_continuous_at_every_edge),
        cmocka_unit_test(test_volmargin_mm_monotone_in_size),
        cmocka_unit_test(test_volmargin_factor_bounds_hold),
        cmocka_unit_test(test_volmargin_rate_cap_holds_over_updates),
        cmocka_unit_test(test_volmargin_configuration_calls_do_not_lift_the_cap),
        cmocka_unit_test(test_volmargin_extreme_time_stamps),
        cmocka_unit_test(test_volmargin_stress_weight_binds),
        cmocka_unit_test(test_volmargin_floor_binds_when_live_is_below),
        cmocka_unit_test(test_volmargin_buffer_and_release),
        cmocka_unit_test(test_volmargin_options_combine_in_order),
        cmocka_unit_test(test_volmargin_var_single_tier),
        cmocka_unit_test(test_volmargin_account_requirements_follow_factor),
        cmocka_unit_test(test_volmargin_every_instrument_on_the_underlying),
        cmocka_unit_test(test_volmargin_ewma_state_matches_vol_h),
        cmocka_unit_test(test_volmargin_bad_input_changes_nothing),
        cmocka_unit_test(test_volmargin_out_of_memory),
        cmocka_unit_test(test_volmargin_memory_bytes_match_allocator),
        cmocka_unit_test(test_volmargin_refuses_parameters_outside_the_domain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
