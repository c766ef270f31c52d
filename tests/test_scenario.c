/* SPDX-License-Identifier: Apache-2.0 */
/* test_scenario.c: scenario revaluation (risk/portfolio.h) and book stress tests (risk/stress.h).
 *
 * The contract pinned here: a scenario's P&L and summary are bit for bit what evaluation gives
 * after the moved prices and marks are actually set (risk_engine_set_asset_price,
 * risk_engine_set_mark), on random books covering every evaluation path (linear and inverse,
 * margined at the mark and at entry, perpetual and dated future, cross and isolated, one-way
 * and hedge, user leverage, value tiers, weights, size-scaled weights and size premiums, loans); a
 * zero scenario gives 0 exactly; the
 * account is not changed; engine stress results equal the per-account call for 1, 2 and 3
 * threads; shards merged equal one engine (docs/stress.md). Formulas: docs/stress.md. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define N_ASSETS 6  /* USDT BTC ETH SOL DOGE USDC */
#define N_INST 8

typedef struct rbook {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdt, usdc, assets[4], inst[N_INST];
    risk_account *acc[256];
    size_t n;
} rbook;

static const double base_marks[N_INST] = {30000.0, 2000.0, 100.0, 0.1, 30000.0, 30150.0, 2001.0, 30000.0};
static const double lots[N_INST] = {0.001, 0.01, 0.1, 100.0, 1.0, 0.001, 0.01, 0.001};
static const double ticks[N_INST] = {0.1, 0.01, 0.001, 0.00001, 0.5, 0.5, 0.01, 0.1};
/* underlying index into assets[] of each instrument */
static const int inst_under[N_INST] = {0, 1, 2, 3, 0, 0, 1, 0};

/* The registry: USDT (valuation), BTC (weights, value tiers), ETH, SOL, DOGE, USDC (a stablecoin
 * with weights). Instruments: 4 linear USDT perpetuals, an inverse BTCUSD perpetual, a BTC
 * dated future, an ETH perpetual margined at entry (Bybit), a USDC-settled BTC perpetual. */
static void rbook_registry(rbook *b, uint32_t flags)
{
    tu_alloc_init(&b->a);
    b->e = tu_engine(&b->a, flags);
    b->n = 0;
    b->usdt = tu_asset(b->e, "USDT", 1.0, 6);
    risk_value_tier vt[2] = {{1.0, 1.0}, {5.0, 0.8}};
    risk_asset_spec bs = RISK_ASSET_SPEC_INIT;
    bs.symbol = "BTC";
    bs.price = 30000.0;
    bs.weight_init = 0.9;
    bs.weight_maint = 0.95;
    bs.liab_weight_init = 1.1;
    bs.liab_weight_maint = 1.05;
    bs.value_tiers = vt;
    bs.n_value_tiers = 2;
    tu_assert_status(risk_engine_add_asset(b->e, &bs, &b->assets[0]), RISK_OK);
    const char *names[3] = {"ETH", "SOL", "DOGE"};
    const double prices[3] = {2000.0, 100.0, 0.1};
    for (int i = 0; i < 3; i++)
        b->assets[i + 1] = tu_asset_w(b->e, names[i], prices[i], 8, 0.8, 0.9, 1.2, 1.1);
    b->usdc = tu_asset_w(b->e, "USDC", 1.0, 6, 0.95, 0.98, 1.02, 1.01);
    risk_margin_tier t[3] = {tu_tier(50000.0, 0.01, 50.0), tu_tier(250000.0, 0.025, 20.0), tu_tier(1e15, 0.05, 10.0)};
    const char *syms[4] = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT"};
    for (int i = 0; i < 4; i++)
        b->inst[i] = tu_linear(b->e, syms[i], b->assets[i], b->usdt, 1.0, lots[i], ticks[i], base_marks[i], t, 3);
    b->inst[4] = tu_inverse(b->e, "BTCUSD", b->assets[0], 100.0, 1.0, 0.5, 30000.0, t, 3);
    risk_instrument_spec fut = tu_linear_spec("BTC-FUT", b->assets[0], b->usdt, 1.0, lots[5], ticks[5], base_marks[5], t, 3);
    fut.kind = RISK_KIND_FUTURE;
    fut.expiry_unix_s = 1798761600; /* 2027-01-01 */
    b->inst[5] = tu_instrument(b->e, &fut);
    risk_instrument_spec ent = tu_linear_spec("ETHUSDT-E", b->assets[1], b->usdt, 1.0, lots[6], ticks[6], base_marks[6], t, 3);
    ent.mm_price = RISK_MM_PRICE_ENTRY;
    b->inst[6] = tu_instrument(b->e, &ent);
    b->inst[7] = tu_linear(b->e, "BTCUSDC", b->assets[0], b->usdc, 1.0, lots[7], ticks[7], base_marks[7], t, 3);
    /* size-scaled weights (Drift IMF, deposit- and borrow-scaled initial weights: the venue
     * totals are valued at the moved price) and size premiums (Drift's and FTX's forms) */
    risk_size_scaling ss = RISK_SIZE_SCALING_INIT;
    ss.imf = 0.002;
    ss.deposit_scale_start = 1e6;
    ss.venue_deposits = 100.0; /* 3e6 at 30000: scaled, and more or less so as BTC moves */
    tu_assert_status(risk_engine_set_asset_size_scaling(b->e, b->assets[0], &ss), RISK_OK);
    risk_size_scaling se = RISK_SIZE_SCALING_INIT;
    se.imf = 0.2;
    tu_assert_status(risk_engine_set_asset_size_scaling(b->e, b->assets[1], &se), RISK_OK);
    risk_size_scaling su = RISK_SIZE_SCALING_INIT;
    su.imf = 0.0001;
    su.borrow_scale_start = 1e5;
    su.venue_borrows = 2e5;
    tu_assert_status(risk_engine_set_asset_size_scaling(b->e, b->usdt, &su), RISK_OK);
    risk_size_premium sp = RISK_SIZE_PREMIUM_INIT;
    sp.imf = 0.001; /* Drift: base share 0.8 */
    tu_assert_status(risk_engine_set_instrument_size_premium(b->e, b->inst[2], &sp), RISK_OK);
    sp.imf = 0.002;
    sp.base_share = 0.0; /* FTX */
    tu_assert_status(risk_engine_set_instrument_size_premium(b->e, b->inst[5], &sp), RISK_OK);
}

static risk_account *rbook_account(rbook *b, tu_rng *r, uint64_t id)
{
    int hedge = tu_rng_int(r, 0, 3) == 0;
    risk_account *acc = tu_account(b->e, id, RISK_MARGIN_CROSS, hedge ? RISK_POSITION_HEDGE : RISK_POSITION_ONE_WAY);
    if (tu_rng_int(r, 0, 3) == 0) { /* a USDT loan against BTC */
        double btc = tu_rng_range(r, 0.1, 7.0);
        tu_balance(acc, b->assets[0], btc);
        tu_balance(acc, b->usdt, -floor(btc * 30000.0 * tu_rng_range(r, 0.5, 0.8)));
    } else {
        tu_balance(acc, b->usdt, tu_rng_range(r, 200.0, 20000.0));
        if (tu_rng_int(r, 0, 2) == 0)
            tu_balance(acc, b->assets[tu_rng_int(r, 0, 3)], tu_rng_range(r, 0.01, 3.0));
        if (tu_rng_int(r, 0, 3) == 0)
            tu_balance(acc, b->usdc, tu_rng_range(r, 100.0, 5000.0));
    }
    if (tu_rng_int(r, 0, 3) == 0)
        tu_leverage(acc, b->inst[tu_rng_int(r, 0, N_INST - 1)], 5.0);
    int n = tu_rng_int(r, 0, 6);
    for (int k = 0; k < n; k++) {
        int i = tu_rng_int(r, 0, N_INST - 1);
        double notional = tu_rng_range(r, 1000.0, 400000.0);
        double size = i == 4 ? notional / 100.0 : notional / base_marks[i];
        double qty = floor(size / lots[i]) * lots[i];
        if (qty <= 0.0)
            continue;
        int short_side = tu_rng_int(r, 0, 1);
        uint32_t side = hedge ? (short_side ? RISK_SIDE_SHORT : RISK_SIDE_LONG) : RISK_SIDE_BOTH;
        risk_position *existing = NULL;
        if (risk_account_find_position(acc, b->inst[i], side, &existing) == RISK_OK)
            continue;
        double entry = floor(base_marks[i] * tu_rng_range(r, 0.97, 1.03) / ticks[i]) * ticks[i];
        uint32_t mode = tu_rng_int(r, 0, 4) == 0 ? RISK_MARGIN_ISOLATED : RISK_MARGIN_DEFAULT;
        double margin = mode == RISK_MARGIN_ISOLATED ? (i == 4 ? qty * 100.0 / entry : qty * entry) * 0.05 : 0.0;
        if (i == 4)
            margin = floor(margin * 1e8) / 1e8;
        else
            margin = floor(margin * 1e6) / 1e6;
        (void)tu_open(acc, b->inst[i], side, mode, hedge ? qty : (short_side ? -qty : qty), entry, margin);
    }
    return acc;
}

static void rbook_init(rbook *b, uint64_t seed, size_t n, uint32_t flags)
{
    rbook_registry(b, flags);
    tu_rng r;
    tu_rng_seed(&r, seed);
    for (size_t k = 0; k < n; k++)
        b->acc[b->n++] = rbook_account(b, &r, 1000 + k);
}

static void rbook_free(rbook *b)
{
    for (size_t k = 0; k < b->n; k++)
        risk_account_free(b->acc[k]);
    risk_engine_free(b->e);
    assert_int_equal(b->a.live_bytes, 0);
}

/* Random scenarios: moves of each asset in [-lo, hi]; USDT (the valuation asset) never moves;
 * row 0 is the zero scenario. */
static void random_moves(tu_rng *r, double *moves, size_t S, double range)
{
    for (size_t s = 0; s < S; s++)
        for (size_t a = 0; a < N_ASSETS; a++)
            moves[s * N_ASSETS + a] = (s == 0 || a == 0) ? 0.0 : tu_rng_range(r, -range, range);
    /* one joint crash row and one stablecoin depeg row */
    if (S > 2) {
        for (size_t a = 1; a < 5; a++)
            moves[1 * N_ASSETS + a] = -0.4;
        moves[2 * N_ASSETS + 5] = -0.12;
    }
}

static void assert_summary_bits(const risk_account_summary *got, const risk_account_summary *want)
{
    assert_int_equal(got->state, want->state);
    tu_assert_bits(got->equity, want->equity);
    tu_assert_bits(got->collateral_value, want->collateral_value);
    tu_assert_bits(got->unrealized_pnl, want->unrealized_pnl);
    tu_assert_bits(got->initial_margin, want->initial_margin);
    tu_assert_bits(got->maintenance_margin, want->maintenance_margin);
    tu_assert_bits(got->available, want->available);
    tu_assert_bits(got->health_factor, want->health_factor);
    tu_assert_bits(got->margin_ratio, want->margin_ratio);
    tu_assert_bits(got->ltv, want->ltv);
    tu_assert_bits(got->ltv_buffer, want->ltv_buffer);
    tu_assert_bits(got->leverage, want->leverage);
    tu_assert_bits(got->collateral_init, want->collateral_init);
    tu_assert_bits(got->collateral_maint, want->collateral_maint);
    tu_assert_bits(got->liabilities, want->liabilities);
    tu_assert_bits(got->isolated_margin, want->isolated_margin);
    assert_int_equal(got->n_positions, want->n_positions);
    assert_int_equal(got->n_isolated_liquidatable, want->n_isolated_liquidatable);
}

/* Sets the moved prices and marks of scenario row `moves` (the library's rule: p x (1 + m)). */
static void apply_moves(rbook *b, const double *moves, const double *p0, const double *m0)
{
    for (uint32_t a = 0; a < N_ASSETS; a++)
        tu_price(b->e, a, p0[a] * (1.0 + moves[a]));
    for (int i = 0; i < N_INST; i++) {
        uint32_t u = b->assets[inst_under[i]];
        tu_mark(b->e, b->inst[i], m0[i] * (1.0 + moves[u]));
    }
}

static void restore(rbook *b, const double *p0, const double *m0)
{
    for (uint32_t a = 0; a < N_ASSETS; a++)
        tu_price(b->e, a, p0[a]);
    for (int i = 0; i < N_INST; i++)
        tu_mark(b->e, b->inst[i], m0[i]);
}

static void read_market(rbook *b, double *p0, double *m0)
{
    for (uint32_t a = 0; a < N_ASSETS; a++)
        tu_assert_status(risk_engine_asset_price(b->e, a, &p0[a]), RISK_OK);
    for (int i = 0; i < N_INST; i++)
        tu_assert_status(risk_engine_mark(b->e, b->inst[i], &m0[i]), RISK_OK);
}

#define S_RAND 12
#define S_ODD 13 /* an odd batch: the one-tier SSE2 loop's scalar tail */

static void bit_identical_n(uint64_t seed, uint32_t flags, double range, size_t n_s, int every_state)
{
    rbook b;
    rbook_init(&b, seed, 120, flags);
    tu_rng r;
    tu_rng_seed(&r, seed ^ 0xabcdefu);
    double moves[S_ODD * N_ASSETS];
    random_moves(&r, moves, n_s, range);
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = n_s;
    sc.n_assets = N_ASSETS;
    sc.price_moves = moves;
    static double pnl[256][S_ODD];
    static risk_account_summary sums[256][S_ODD];
    risk_account_summary base[256];
    for (size_t k = 0; k < b.n; k++) {
        sums[k][0].version = RISK_ACCOUNT_SUMMARY_VERSION;
        int rc = risk_account_scenario_pnl(b.acc[k], &sc, pnl[k], sums[k]);
        if (rc)
            print_error("%s\n", risk_account_errmsg(b.acc[k]));
        tu_assert_status(rc, RISK_OK);
        base[k] = tu_eval(b.acc[k]);
        tu_assert_bits(pnl[k][0], 0.0); /* the zero scenario */
        assert_summary_bits(&sums[k][0], &base[k]);
    }
    double p0[N_ASSETS], m0[N_INST];
    read_market(&b, p0, m0);
    size_t states[4] = {0, 0, 0, 0};
    for (size_t s = 0; s < n_s; s++) {
        apply_moves(&b, &moves[s * N_ASSETS], p0, m0);
        for (size_t k = 0; k < b.n; k++) {
            risk_account_summary now = tu_eval(b.acc[k]);
            assert_summary_bits(&sums[k][s], &now);
            tu_assert_bits(pnl[k][s], now.equity - base[k].equity);
            states[now.state]++;
        }
        restore(&b, p0, m0);
    }
    /* the books reach every state, so every branch of the summary is compared */
    assert_true(states[RISK_STATE_HEALTHY] > 0);
    if (every_state)
        assert_true(states[RISK_STATE_LIQUIDATABLE] + states[RISK_STATE_BANKRUPT] > 0);
    rbook_free(&b);
}

static void bit_identical_on(uint64_t seed, uint32_t flags, double range)
{
    bit_identical_n(seed, flags, range, S_RAND, 1);
}

static void test_scenario_pnl_bit_identical_to_moving_prices(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++)
        bit_identical_on(seed, 0, 0.3);
    bit_identical_on(77, 0, 0.6);
}

static void test_scenario_pnl_bit_identical_unquantized(void **state)
{
    (void)state;
    bit_identical_on(5, RISK_ENGINE_NO_QUANTIZE, 0.3);
}

/* Odd batches, with moves small enough that nearly every linear cross position stays in its
 * margin tier over the batch (the one-tier loop, two scenarios a lane pair, and its scalar tail)
 * and large enough that many cross tier edges (the tier counted per scenario). */
static void test_scenario_pnl_bit_identical_one_tier_and_odd_batches(void **state)
{
    (void)state;
    bit_identical_n(11, 0, 0.004, S_ODD, 0);
    bit_identical_n(12, 0, 0.6, S_ODD, 1);
    bit_identical_n(13, RISK_ENGINE_NO_QUANTIZE, 0.004, S_ODD, 0);
    bit_identical_n(14, 0, 0.3, 1, 0);
}

/* The account is read, never changed: its snapshot and summary are the same after a batch. */
static void test_scenario_pnl_changes_nothing(void **state)
{
    (void)state;
    rbook b;
    rbook_init(&b, 11, 8, 0);
    double moves[4 * N_ASSETS];
    tu_rng r;
    tu_rng_seed(&r, 3);
    random_moves(&r, moves, 4, 0.5);
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = 4;
    sc.n_assets = N_ASSETS;
    sc.price_moves = moves;
    static tu_account_snap snap[8];
    for (size_t k = 0; k < b.n; k++) /* (reading leverage that is unset leaves an error message: memory) */
        tu_account_snap_take(b.acc[k], N_ASSETS, N_INST, &snap[k]);
    tu_engine_snap es;
    tu_engine_snap_take(b.e, &es); /* the first take leaves the engine an error message (memory) */
    tu_engine_snap_take(b.e, &es);
    for (size_t k = 0; k < b.n; k++) {
        double pnl[4];
        tu_assert_status(risk_account_scenario_pnl(b.acc[k], &sc, pnl, NULL), RISK_OK);
    }
    tu_engine_snap_check(b.e, &es, 1);
    for (size_t k = 0; k < b.n; k++)
        tu_account_snap_check(b.acc[k], &snap[k]);
    rbook_free(&b);
}

/* A hand-computed account: 1 BTC long BTCUSDT at 30000 (tier 1 of 3, mmr 1 %), 10000 USDT.
 * Scenario BTC -10 %: mark 27000, P&L = 1 x (27000 - 30000) = -3000 exactly; weight 0.25
 * reports -750. Scenario BTC +100 %: notional 60000 crosses the 50000 cap into tier 2 (mmr
 * 2.5 %, cum = 50000 x (0.025 - 0.01) = 750): MM = 60000 x 0.025 - 750 = 750. */
static void test_scenario_pnl_hand_example_and_weights(void **state)
{
    (void)state;
    rbook b;
    rbook_registry(&b, 0);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 10000.0);
    tu_open_simple(acc, b.inst[0], 1.0, 30000.0);
    double moves[3 * N_ASSETS] = {0};
    moves[0 * N_ASSETS + 1] = -0.1;
    moves[1 * N_ASSETS + 1] = -0.1;
    moves[2 * N_ASSETS + 1] = 1.0;
    double w[3] = {1.0, 0.25, 1.0};
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = 3;
    sc.n_assets = N_ASSETS;
    sc.price_moves = moves;
    sc.weights = w;
    double pnl[3];
    risk_account_summary sums[3];
    sums[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
    tu_assert_status(risk_account_scenario_pnl(acc, &sc, pnl, sums), RISK_OK);
    tu_assert_bits(pnl[0], -3000.0);
    tu_assert_bits(pnl[1], -750.0);
    tu_assert_bits(pnl[2], 30000.0);
    tu_assert_bits(sums[1].equity, 7000.0); /* summaries are not weighted */
    tu_assert_bits(sums[0].maintenance_margin, 270.0);
    tu_assert_bits(sums[2].maintenance_margin, 750.0);
    risk_account_free(acc);
    rbook_free(&b);
}

/* Options repriced under scenarios (Black-76 at the moved underlying and volatility): a
 * coin-settled call and a USDC-settled put on BTC, both marked from a mark vol. A price move
 * gives the bits of moving BTC's price and evaluating; a vol move the bits of setting the
 * moved mark vol and evaluating. */
static void test_scenario_pnl_reprices_options(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e = tu_engine(&al, 0);
    uint32_t usd = tu_asset(e, "USD", 1.0, 6), btc = tu_asset(e, "BTC", 50000.0, 8), usdc = tu_asset(e, "USDC", 1.0, 6);
    (void)usd;
    const int64_t now = 1767225600, expiry = now + 30 * 86400;
    tu_assert_status(risk_engine_set_time(e, now), RISK_OK);
    risk_instrument_spec c = RISK_INSTRUMENT_SPEC_INIT;
    c.kind = RISK_KIND_OPTION;
    c.symbol = "BTC-55000-C";
    c.underlying = btc;
    c.settle = btc;
    c.inverse = 1;
    c.expiry_unix_s = expiry;
    c.contract_size = 1.0;
    c.lot_size = 0.1;
    c.tick_size = 0.0001;
    c.strike = 55000.0;
    c.option_type = RISK_OPTION_CALL;
    c.mark_vol = 0.6;
    c.underlying_tick = 0.5;
    uint32_t call = tu_instrument(e, &c);
    risk_instrument_spec p = c;
    p.symbol = "BTC-45000-P-USDC";
    p.settle = usdc;
    p.inverse = 0;
    p.lot_size = 0.01;
    p.tick_size = 0.01;
    p.strike = 45000.0;
    p.option_type = RISK_OPTION_PUT;
    p.mark_vol = 0.7;
    uint32_t put = tu_instrument(e, &p);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, btc, 2.0);
    tu_balance(acc, usdc, 10000.0);
    double cm, pm;
    tu_assert_status(risk_engine_mark(e, call, &cm), RISK_OK);
    tu_assert_status(risk_engine_mark(e, put, &pm), RISK_OK);
    (void)tu_open_simple(acc, call, -1.0, nearbyint(cm / 0.0001) * 0.0001);
    (void)tu_open_simple(acc, put, 2.0, nearbyint(pm / 0.01) * 0.01);
    double e0 = tu_eval(acc).equity;

    enum { S = 4 };
    double moves[S * 3] = {0}, vols[S * 3] = {0};
    moves[0 * 3 + btc] = -0.1;
    moves[1 * 3 + btc] = 0.15;
    vols[2 * 3 + btc] = 0.2;
    moves[3 * 3 + btc] = -0.25;
    vols[3 * 3 + btc] = -0.3;
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = S;
    sc.n_assets = 3;
    sc.price_moves = moves;
    sc.vol_moves = vols;
    double pnl[S];
    risk_account_summary sums[S];
    sums[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
    tu_assert_status(risk_account_scenario_pnl(acc, &sc, pnl, sums), RISK_OK);
    for (size_t s = 0; s < S; s++) {
        double m = moves[s * 3 + btc], v = vols[s * 3 + btc];
        tu_price(e, btc, 50000.0 * (1.0 + m));
        tu_assert_status(risk_engine_set_mark_vol(e, call, 0.6 * (1.0 + v)), RISK_OK);
        tu_assert_status(risk_engine_set_mark_vol(e, put, 0.7 * (1.0 + v)), RISK_OK);
        risk_account_summary moved = tu_eval(acc);
        tu_assert_bits(sums[s].equity, moved.equity);
        tu_assert_bits(sums[s].maintenance_margin, moved.maintenance_margin);
        tu_assert_bits(pnl[s], moved.equity - e0);
        tu_price(e, btc, 50000.0);
        tu_assert_status(risk_engine_set_mark_vol(e, call, 0.6), RISK_OK);
        tu_assert_status(risk_engine_set_mark_vol(e, put, 0.7), RISK_OK);
    }
    assert_true(pnl[0] != 0.0 && pnl[2] != 0.0); /* the options moved: a short call and long puts */
    tu_assert_bits(tu_eval(acc).equity, e0);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* An option with a given mark (no mark vol) under a scenario that moves nothing keeps its mark
 * bit for bit (repricing at its implied vol would give it back only to ~1e-13: found by
 * fuzz_api); a move of its underlying reprices it at that implied vol (sticky strike). */
static void test_scenario_pnl_given_option_mark(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e = tu_engine(&al, 0);
    uint32_t usd = tu_asset(e, "USD", 1.0, 6), btc = tu_asset(e, "BTC", 50000.0, 8);
    (void)usd;
    const int64_t now = 1767225600;
    tu_assert_status(risk_engine_set_time(e, now), RISK_OK);
    risk_instrument_spec c = RISK_INSTRUMENT_SPEC_INIT;
    c.kind = RISK_KIND_OPTION;
    c.symbol = "BTC-52000-C";
    c.underlying = btc;
    c.settle = btc;
    c.inverse = 1;
    c.expiry_unix_s = now + 20 * 86400;
    c.contract_size = 1.0;
    c.lot_size = 0.1;
    c.tick_size = 0.0001;
    c.strike = 52000.0;
    c.option_type = RISK_OPTION_CALL;
    c.mark = 0.0237;
    c.underlying_tick = 0.5;
    uint32_t call = tu_instrument(e, &c);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, btc, 1.0);
    (void)tu_open_simple(acc, call, -3.0, 0.0237);
    double moves[2 * 2] = {0, 0, 0, 0.05};
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = 2;
    sc.n_assets = 2;
    sc.price_moves = moves;
    double pnl[2];
    tu_assert_status(risk_account_scenario_pnl(acc, &sc, pnl, NULL), RISK_OK);
    tu_assert_bits(pnl[0], 0.0);
    assert_true(pnl[1] < 0.0); /* a short call loses when BTC rises 5 % */
    double iv = 0.0;
    tu_assert_status(risk_engine_mark_vol(e, call, &iv), RISK_OK);
    assert_true(iv > 0.0);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Bad input: a status and a message, nothing written. */
static void test_scenario_pnl_bad_input(void **state)
{
    (void)state;
    rbook b;
    rbook_registry(&b, 0);
    risk_account *acc = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 10000.0);
    tu_open_simple(acc, b.inst[3], 1000.0, 0.1); /* DOGE: tick 0.00001 */
    double moves[N_ASSETS] = {0};
    double w = 0.5, pnl[2] = {42.0, 42.0};
    risk_scenarios ok = RISK_SCENARIOS_INIT;
    ok.n_scenarios = 1;
    ok.n_assets = N_ASSETS;
    ok.price_moves = moves;
    tu_assert_status(risk_account_scenario_pnl(NULL, &ok, pnl, NULL), RISK_ENULL);
    tu_assert_status(risk_account_scenario_pnl(acc, NULL, pnl, NULL), RISK_ENULL);
    tu_assert_status(risk_account_scenario_pnl(acc, &ok, NULL, NULL), RISK_ENULL);
    risk_account_summary bad_sum = RISK_ACCOUNT_SUMMARY_INIT;
    bad_sum.version = 99;
    tu_assert_status(risk_account_scenario_pnl(acc, &ok, pnl, &bad_sum), RISK_EVERSION);
    struct {
        int field;
        double value;
        int want;
    } cases[] = {
        {0, NAN, RISK_EINVAL},      {0, -1.0, RISK_EINVAL},    {0, -2.0, RISK_EINVAL},  {0, INFINITY, RISK_EINVAL},
        {1, 0.01, RISK_EINVAL},     /* the valuation asset */ {2, -0.9999999, RISK_EINVAL}, /* DOGE mark below a tick */
        {3, 1e13, RISK_EINVAL},     /* BTC price above 1e12 */ {4, 1.5, RISK_EINVAL},  /* weight */
        {4, NAN, RISK_EINVAL},      {5, 0.0, RISK_EINVAL},     /* n_scenarios */
        {6, 7.0, RISK_EINVAL},      /* n_assets above the engine's */ {7, 0.0, RISK_EINVAL}, /* term days */
        {8, -0.1, RISK_EINVAL},     {9, 5.0, RISK_EINVAL},     {10, 2.0, RISK_EINVAL},  /* vol mode */
        {11, NAN, RISK_EINVAL},     /* vol move */ {12, 0.0, RISK_EVERSION},         {13, 0.0, RISK_ENULL},
    };
    double vm[N_ASSETS] = {0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        risk_scenarios sc = ok;
        double mv[N_ASSETS] = {0};
        sc.price_moves = mv;
        switch (cases[c].field) {
        case 0: mv[1] = cases[c].value; break;
        case 1: mv[0] = cases[c].value; break;
        case 2: mv[4] = cases[c].value; break;
        case 3: mv[1] = cases[c].value; break;
        case 4: w = cases[c].value; sc.weights = &w; break;
        case 5: sc.n_scenarios = 0; break;
        case 6: sc.n_assets = 7; break;
        case 7: sc.vol_term_days = cases[c].value; break;
        case 8: sc.vol_term_power_short = cases[c].value; break;
        case 9: sc.vol_term_power_long = cases[c].value; break;
        case 10: sc.vol_mode = (uint32_t)cases[c].value; break;
        case 11: vm[2] = cases[c].value; sc.vol_moves = vm; break;
        case 12: sc.version = 7; break;
        case 13: sc.price_moves = NULL; break;
        }
        pnl[0] = 42.0;
        tu_assert_status(risk_account_scenario_pnl(acc, &sc, pnl, NULL), cases[c].want);
        tu_assert_errmsg(risk_account_errmsg(acc));
        tu_assert_bits(pnl[0], 42.0);
        vm[2] = 0.0;
    }
    /* a move that leaves the domain names the scenario */
    double two[2 * N_ASSETS] = {0};
    two[N_ASSETS + 4] = -0.99999995;
    risk_scenarios sc2 = ok;
    sc2.n_scenarios = 2;
    sc2.price_moves = two;
    tu_assert_status(risk_account_scenario_pnl(acc, &sc2, pnl, NULL), RISK_EINVAL);
    assert_non_null(strstr(risk_account_errmsg(acc), "scenario 1"));
    assert_non_null(strstr(risk_account_errmsg(acc), "DOGE"));
    /* n_assets 0: nothing moves; P&L 0 */
    risk_scenarios none = RISK_SCENARIOS_INIT;
    none.n_scenarios = 2;
    tu_assert_status(risk_account_scenario_pnl(acc, &none, pnl, NULL), RISK_OK);
    tu_assert_bits(pnl[0], 0.0);
    tu_assert_bits(pnl[1], 0.0);
    risk_account_free(acc);
    rbook_free(&b);
}

/* Every allocation refused in turn: RISK_ENOMEM, nothing written, no leak. */
static void test_scenario_pnl_out_of_memory(void **state)
{
    (void)state;
    rbook b;
    rbook_init(&b, 21, 4, 0);
    double moves[2 * N_ASSETS] = {0};
    moves[N_ASSETS + 1] = -0.2;
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = 2;
    sc.n_assets = N_ASSETS;
    sc.price_moves = moves;
    double want[2], pnl[2];
    tu_assert_status(risk_account_scenario_pnl(b.acc[0], &sc, want, NULL), RISK_OK);
    unsigned failures = 0;
    for (uint64_t n = 0;; n++) {
        tu_alloc_arm(&b.a, n);
        pnl[0] = pnl[1] = 42.0;
        int rc = risk_account_scenario_pnl(b.acc[0], &sc, pnl, NULL);
        tu_alloc_disarm(&b.a);
        if (rc == RISK_OK)
            break;
        tu_assert_status(rc, RISK_ENOMEM);
        tu_assert_bits(pnl[0], 42.0);
        failures++;
    }
    assert_int_equal(failures, 2); /* the tables, then the accumulators */
    tu_assert_bits(pnl[1], want[1]);
    rbook_free(&b);
}

/* The term structure of Deribit's risk matrix (research cex-anchors 3.4, BTC parameters from
 * Oreome: volRangeUp 0.5, volRangeDown 0.25; p = 0.30 below 30 days, 0.13 from 30 days).
 * sigma_up = sigma (1 + 0.5 (30/DTE)^p). The expected values are computed independently:
 * 0.6 x (1 + 0.5 x (30/7)^0.3) = 0.6 x (1 + 0.5 x 1.5474155772108131) and so on (python3's ** operator). */
static void test_scenario_vol_term_structure(void **state)
{
    (void)state;
    double vm[3] = {0.5, -0.25, 0.05};
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = 1;
    sc.n_assets = 3;
    sc.price_moves = (double[3]){0, 0, 0};
    sc.vol_moves = vm;
    sc.vol_term_power_short = 0.30;
    sc.vol_term_power_long = 0.13;
    double v;
    tu_assert_status(risk_scenario_vol(&v, &sc, 0, 0, 0.6, 7.0), RISK_OK);
    tu_assert_rel(v, 0.6 * (1.0 + 0.5 * 1.5474155772108131), 1e-15);
    tu_assert_status(risk_scenario_vol(&v, &sc, 0, 0, 0.6, 30.0), RISK_OK);
    tu_assert_rel(v, 0.9, 1e-15); /* (30/30)^p = 1 */
    tu_assert_status(risk_scenario_vol(&v, &sc, 0, 1, 0.6, 90.0), RISK_OK);
    tu_assert_rel(v, 0.6 * (1.0 - 0.25 * 0.8669104475782533), 1e-15);
    sc.vol_mode = RISK_VOL_MOVE_ABSOLUTE;
    tu_assert_status(risk_scenario_vol(&v, &sc, 0, 2, 0.6, 1.0), RISK_OK);
    tu_assert_rel(v, 0.6 + 0.05 * 2.774191114672181, 1e-15); /* 30^0.3 */
    vm[2] = -5.0;
    tu_assert_status(risk_scenario_vol(&v, &sc, 0, 2, 0.6, 1.0), RISK_OK);
    tu_assert_bits(v, 0.0); /* floored at 0 */
    tu_assert_status(risk_scenario_vol(&v, &sc, 0, 5, 0.6, 1.0), RISK_OK);
    tu_assert_bits(v, 0.6); /* an asset beyond the columns does not move */
    tu_assert_status(risk_scenario_vol(&v, &sc, 1, 0, 0.6, 1.0), RISK_EINVAL);
    tu_assert_status(risk_scenario_vol(&v, &sc, 0, 0, NAN, 1.0), RISK_EINVAL);
    tu_assert_status(risk_scenario_vol(&v, &sc, 0, 0, 0.6, 0.0), RISK_EINVAL);
    tu_assert_status(risk_scenario_vol(NULL, &sc, 0, 0, 0.6, 1.0), RISK_ENULL);
    sc.version = 2;
    tu_assert_status(risk_scenario_vol(&v, &sc, 0, 0, 0.6, 1.0), RISK_EVERSION);
}

/* ================================================================== engine stress */

typedef struct stress_out {
    risk_stress_scenario book[S_RAND];
    double pnl[256 * S_RAND], equity[256 * S_RAND], health[256 * S_RAND];
    uint32_t state[256 * S_RAND];
    uint64_t ids[256];
    size_t n;
} stress_out;

static void run_stress(const risk_engine *e, const risk_scenarios *sc, uint32_t threads, stress_out *o)
{
    o->book[0].version = RISK_STRESS_SCENARIO_VERSION;
    int rc = risk_engine_stress(e, sc, o->book, o->pnl, o->equity, o->health, o->state, o->ids, 256, threads, &o->n);
    if (rc)
        print_error("%s\n", risk_engine_errmsg(e));
    tu_assert_status(rc, RISK_OK);
}

static void assert_book_equal(const risk_stress_scenario *a, const risk_stress_scenario *b, size_t S)
{
    for (size_t s = 0; s < S; s++) {
        assert_int_equal(a[s].n_accounts, b[s].n_accounts);
        assert_int_equal(a[s].n_liquidatable, b[s].n_liquidatable);
        assert_int_equal(a[s].n_bankrupt, b[s].n_bankrupt);
        assert_int_equal(a[s].n_new_liquidatable, b[s].n_new_liquidatable);
        assert_int_equal(a[s].n_new_bankrupt, b[s].n_new_bankrupt);
        tu_assert_bits(a[s].pnl, b[s].pnl);
        tu_assert_bits(a[s].loss, b[s].loss);
        tu_assert_bits(a[s].deficit, b[s].deficit);
        assert_memory_equal(&a[s].pnl_sum, &b[s].pnl_sum, sizeof a[s].pnl_sum);
        assert_memory_equal(&a[s].loss_sum, &b[s].loss_sum, sizeof a[s].loss_sum);
        assert_memory_equal(&a[s].deficit_sum, &b[s].deficit_sum, sizeof a[s].deficit_sum);
    }
}

/* Engine stress: per-account results equal the account call bit for bit; the book results
 * equal an independent reduction (counts, and sums of whole quanta in integers); the same
 * bits for 1, 2, 3 and 7 threads. */
static void test_stress_engine_equals_accounts_any_threads(void **state)
{
    (void)state;
    rbook b;
    rbook_init(&b, 31, 200, 0);
    tu_rng r;
    tu_rng_seed(&r, 99);
    double moves[S_RAND * N_ASSETS], w[S_RAND];
    random_moves(&r, moves, S_RAND, 0.5);
    for (size_t s = 0; s < S_RAND; s++)
        w[s] = s == 3 ? 0.3 : 1.0;
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = S_RAND;
    sc.n_assets = N_ASSETS;
    sc.price_moves = moves;
    sc.weights = w;
    static stress_out one, many;
    run_stress(b.e, &sc, 1, &one);
    assert_int_equal(one.n, b.n);
    long long pnl_q[S_RAND] = {0}, loss_q[S_RAND] = {0}, def_q[S_RAND] = {0};
    uint64_t liq[S_RAND] = {0}, bank[S_RAND] = {0};
    for (size_t k = 0; k < b.n; k++) {
        assert_int_equal(one.ids[k], 1000 + k);
        double pnl[S_RAND];
        risk_account_summary sums[S_RAND];
        sums[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
        tu_assert_status(risk_account_scenario_pnl(b.acc[k], &sc, pnl, sums), RISK_OK);
        for (size_t s = 0; s < S_RAND; s++) {
            tu_assert_bits(one.pnl[k * S_RAND + s], pnl[s]);
            tu_assert_bits(one.equity[k * S_RAND + s], sums[s].equity);
            tu_assert_bits(one.health[k * S_RAND + s], sums[s].health_factor);
            assert_int_equal(one.state[k * S_RAND + s], sums[s].state);
            long long q = (long long)nearbyint(pnl[s] * 1e6); /* nearest, ties to even */
            pnl_q[s] += q;
            loss_q[s] += q < 0 ? -q : 0;
            def_q[s] += sums[s].equity < 0.0 ? -(long long)nearbyint(sums[s].equity * 1e6) : 0;
            liq[s] += sums[s].state == RISK_STATE_LIQUIDATABLE;
            bank[s] += sums[s].state == RISK_STATE_BANKRUPT;
        }
    }
    int some_loss = 0, some_liq = 0;
    for (size_t s = 0; s < S_RAND; s++) {
        tu_assert_bits(one.book[s].pnl, (double)pnl_q[s] / 1e6);
        tu_assert_bits(one.book[s].loss, (double)loss_q[s] / 1e6);
        tu_assert_bits(one.book[s].deficit, (double)def_q[s] / 1e6);
        assert_int_equal(one.book[s].n_liquidatable, liq[s]);
        assert_int_equal(one.book[s].n_bankrupt, bank[s]);
        assert_true(one.book[s].n_new_liquidatable <= liq[s]);
        assert_int_equal(one.book[s].decimals, 6);
        some_loss |= one.book[s].loss > 0.0;
        some_liq |= liq[s] > 0;
    }
    assert_true(some_loss && some_liq);
    tu_assert_bits(one.book[0].pnl, 0.0); /* the zero scenario */
    assert_int_equal(one.book[0].n_new_liquidatable + one.book[0].n_new_bankrupt, 0);
    uint32_t counts[] = {2, 3, 7};
    for (size_t c = 0; c < 3; c++) {
        memset(&many, 0xa5, sizeof many);
        run_stress(b.e, &sc, counts[c], &many);
        assert_book_equal(many.book, one.book, S_RAND);
        assert_memory_equal(many.pnl, one.pnl, b.n * S_RAND * sizeof(double));
        assert_memory_equal(many.equity, one.equity, b.n * S_RAND * sizeof(double));
        assert_memory_equal(many.health, one.health, b.n * S_RAND * sizeof(double));
        assert_memory_equal(many.state, one.state, b.n * S_RAND * sizeof(uint32_t));
        assert_memory_equal(many.ids, one.ids, b.n * sizeof(uint64_t));
    }
    rbook_free(&b);
}

/* Shards: the book's accounts split over k engines (same registry, same market), each stressed
 * alone and the results merged, equal one engine with every account, for k = 1, 2, 3. The
 * exposures merge likewise. */
static void test_stress_shards_merge_to_one_engine(void **state)
{
    (void)state;
    enum { N = 150 };
    rbook whole;
    rbook_init(&whole, 41, N, 0);
    tu_rng r;
    tu_rng_seed(&r, 7);
    double moves[S_RAND * N_ASSETS];
    random_moves(&r, moves, S_RAND, 0.5);
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = S_RAND;
    sc.n_assets = N_ASSETS;
    sc.price_moves = moves;
    static stress_out all, part;
    run_stress(whole.e, &sc, 2, &all);
    risk_exposure xall[N_ASSETS];
    size_t nx = 0;
    xall[0].version = RISK_EXPOSURE_VERSION;
    tu_assert_status(risk_engine_exposures(whole.e, xall, N_ASSETS, 5, &nx), RISK_OK);
    assert_int_equal(nx, N_ASSETS);
    for (uint32_t k = 1; k <= 3; k++) {
        risk_stress_scenario merged[S_RAND];
        risk_exposure xm[N_ASSETS];
        for (uint32_t shard = 0; shard < k; shard++) {
            /* the same random accounts, dealt round-robin: shard j holds accounts i = j mod k */
            rbook sb;
            rbook_registry(&sb, 0);
            tu_rng rr;
            tu_rng_seed(&rr, 41);
            for (size_t i = 0; i < N; i++) {
                risk_account *acc = rbook_account(&sb, &rr, 1000 + i);
                if (i % k == shard)
                    sb.acc[sb.n++] = acc;
                else
                    risk_account_free(acc);
            }
            run_stress(sb.e, &sc, shard + 1, &part);
            risk_exposure xs[N_ASSETS];
            xs[0].version = RISK_EXPOSURE_VERSION;
            tu_assert_status(risk_engine_exposures(sb.e, xs, N_ASSETS, 5, &nx), RISK_OK);
            if (shard == 0) {
                memcpy(merged, part.book, sizeof merged);
                memcpy(xm, xs, sizeof xm);
            } else {
                tu_assert_status(risk_stress_merge(merged, part.book, S_RAND), RISK_OK);
                tu_assert_status(risk_exposure_merge(xm, xs, N_ASSETS, 5), RISK_OK);
            }
            rbook_free(&sb);
        }
        assert_book_equal(merged, all.book, S_RAND);
        for (size_t u = 0; u < N_ASSETS; u++) {
            assert_int_equal(xm[u].n_accounts, xall[u].n_accounts);
            tu_assert_bits(xm[u].long_notional, xall[u].long_notional);
            tu_assert_bits(xm[u].short_notional, xall[u].short_notional);
            tu_assert_bits(xm[u].net_notional, xall[u].net_notional);
            tu_assert_bits(xm[u].top_share, xall[u].top_share);
            assert_int_equal(xm[u].n_top, xall[u].n_top);
            assert_memory_equal(xm[u].top_ids, xall[u].top_ids, xall[u].n_top * sizeof(uint64_t));
            assert_memory_equal(xm[u].top_gross, xall[u].top_gross, xall[u].n_top * sizeof(double));
        }
    }
    rbook_free(&whole);
}

/* Exposures by hand: BTC underlies BTCUSDT, BTCUSD (inverse), BTC-FUT and BTCUSDC. */
static void test_stress_exposures_by_hand(void **state)
{
    (void)state;
    rbook b;
    rbook_registry(&b, 0);
    tu_price(b.e, b.usdc, 0.99);
    risk_account *a1 = tu_account(b.e, 7, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_account *a2 = tu_account(b.e, 3, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_account *a3 = tu_account(b.e, 5, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a1, b.usdt, 1e6);
    tu_balance(a2, b.usdt, 1e6);
    tu_balance(a3, b.usdt, 1e6);
    tu_open_simple(a1, b.inst[0], 2.0, 30000.0);   /* long 60000 */
    tu_open_simple(a1, b.inst[4], -300.0, 30000.0); /* short 300 x 100 / 30000 = 1 BTC x 30000 = 30000 */
    tu_open_simple(a2, b.inst[7], -1.0, 30000.0);  /* short 30000 USDC x 0.99 = 29700 */
    tu_open_simple(a2, b.inst[1], 10.0, 2000.0);   /* ETH long 20000 */
    tu_open_simple(a3, b.inst[5], 1.0, 30150.0);   /* long 30150 */
    risk_exposure x[N_ASSETS];
    size_t n;
    x[0].version = RISK_EXPOSURE_VERSION;
    tu_assert_status(risk_engine_exposures(b.e, x, N_ASSETS, 2, &n), RISK_OK);
    const risk_exposure *btc = &x[b.assets[0]];
    assert_int_equal(btc->n_accounts, 3);
    tu_assert_bits(btc->long_notional, 90150.0);
    tu_assert_bits(btc->short_notional, 59700.0);
    tu_assert_bits(btc->net_notional, 30450.0);
    assert_int_equal(btc->n_top, 2);
    assert_int_equal(btc->top_ids[0], 7); /* gross 90000 */
    tu_assert_bits(btc->top_gross[0], 90000.0);
    assert_int_equal(btc->top_ids[1], 5); /* 30150 > 29700 */
    tu_assert_rel(btc->top_share, 120150.0 / 149850.0, 1e-15);
    tu_assert_bits(x[b.assets[1]].long_notional, 20000.0);
    assert_int_equal(x[b.usdt].n_accounts, 0);
    tu_assert_bits(x[b.usdt].top_share, 0.0);
    /* bad input */
    tu_assert_status(risk_engine_exposures(b.e, x, N_ASSETS, 17, &n), RISK_EINVAL);
    tu_assert_status(risk_engine_exposures(b.e, x, 2, 2, &n), RISK_EBUFFER);
    assert_int_equal(n, N_ASSETS);
    tu_assert_status(risk_engine_exposures(b.e, NULL, N_ASSETS, 2, &n), RISK_ENULL);
    x[0].version = 9;
    tu_assert_status(risk_engine_exposures(b.e, x, N_ASSETS, 2, &n), RISK_EVERSION);
    risk_account_free(a1);
    risk_account_free(a2);
    risk_account_free(a3);
    rbook_free(&b);
}

static void test_stress_bad_input(void **state)
{
    (void)state;
    rbook b;
    rbook_init(&b, 51, 3, 0);
    double moves[N_ASSETS] = {0};
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = 1;
    sc.n_assets = N_ASSETS;
    sc.price_moves = moves;
    risk_stress_scenario book[1] = {RISK_STRESS_SCENARIO_INIT};
    double pnl[8];
    size_t n = 0;
    tu_assert_status(risk_engine_stress(NULL, &sc, book, NULL, NULL, NULL, NULL, NULL, 0, 1, &n), RISK_ENULL);
    tu_assert_status(risk_engine_stress(b.e, NULL, book, NULL, NULL, NULL, NULL, NULL, 0, 1, &n), RISK_ENULL);
    tu_assert_status(risk_engine_stress(b.e, &sc, NULL, NULL, NULL, NULL, NULL, NULL, 0, 1, &n), RISK_ENULL);
    tu_assert_status(risk_engine_stress(b.e, &sc, book, NULL, NULL, NULL, NULL, NULL, 0, 1, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_stress(b.e, &sc, book, pnl, NULL, NULL, NULL, NULL, 2, 1, &n), RISK_EBUFFER);
    assert_int_equal(n, 3);
    tu_assert_status(risk_engine_stress(b.e, &sc, book, NULL, NULL, NULL, NULL, NULL, 0, 257, &n), RISK_EINVAL);
    moves[0] = 0.1;
    tu_assert_status(risk_engine_stress(b.e, &sc, book, NULL, NULL, NULL, NULL, NULL, 0, 1, &n), RISK_EINVAL);
    tu_assert_errmsg(risk_engine_errmsg(b.e));
    moves[0] = 0.0;
    book[0].version = 0;
    tu_assert_status(risk_engine_stress(b.e, &sc, book, NULL, NULL, NULL, NULL, NULL, 0, 1, &n), RISK_EVERSION);
    book[0].version = RISK_STRESS_SCENARIO_VERSION;
    /* book results alone (no per-account arrays) */
    tu_assert_status(risk_engine_stress(b.e, &sc, book, NULL, NULL, NULL, NULL, NULL, 0, 2, &n), RISK_OK);
    assert_int_equal(book[0].n_accounts, 3);
    /* merge refuses mismatches and changes nothing */
    risk_stress_scenario other = book[0], keep = book[0];
    other.decimals = 8;
    tu_assert_status(risk_stress_merge(book, &other, 1), RISK_EINVAL);
    other = keep;
    other.pnl_sum.lo = -1;
    tu_assert_status(risk_stress_merge(book, &other, 1), RISK_EINVAL);
    other.version = 3;
    tu_assert_status(risk_stress_merge(book, &other, 1), RISK_EVERSION);
    assert_memory_equal(&book[0], &keep, sizeof keep);
    tu_assert_status(risk_stress_merge(NULL, &other, 1), RISK_ENULL);
    tu_assert_status(risk_stress_merge(NULL, NULL, 0), RISK_OK);
    /* out of memory: each allocation refused in turn */
    unsigned failures = 0;
    for (uint64_t k = 0;; k++) {
        tu_alloc_arm(&b.a, k);
        int rc = risk_engine_stress(b.e, &sc, book, NULL, NULL, NULL, NULL, NULL, 0, 1, &n);
        tu_alloc_disarm(&b.a);
        if (rc == RISK_OK)
            break;
        tu_assert_status(rc, RISK_ENOMEM);
        failures++;
    }
    assert_true(failures >= 3);
    rbook_free(&b);
}

/* The exact sums near and across the 2^32-quanta word boundary, and negative totals. */
static void test_stress_exact_sum_carries(void **state)
{
    (void)state;
    rbook b;
    rbook_registry(&b, 0);
    /* two accounts whose P&L under BTC x 2 is +-5000 USDT = 5e9 quanta (above 2^32) */
    risk_account *x = tu_account(b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_account *y = tu_account(b.e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(x, b.usdt, 1e6);
    tu_balance(y, b.usdt, 1e6);
    tu_open_simple(x, b.inst[0], 1.0, 30000.0);
    tu_open_simple(y, b.inst[0], -0.4, 30000.0);
    double moves[N_ASSETS] = {0, 1.0, 0, 0, 0, 0};
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = 1;
    sc.n_assets = N_ASSETS;
    sc.price_moves = moves;
    risk_stress_scenario book[1] = {RISK_STRESS_SCENARIO_INIT};
    size_t n;
    tu_assert_status(risk_engine_stress(b.e, &sc, book, NULL, NULL, NULL, NULL, NULL, 0, 1, &n), RISK_OK);
    tu_assert_bits(book[0].pnl, 30000.0 - 12000.0);
    tu_assert_bits(book[0].loss, 12000.0);
    assert_true(book[0].pnl_sum.lo >= 0 && book[0].pnl_sum.lo < 4294967296LL);
    assert_int_equal(book[0].pnl_sum.hi * 4294967296LL + book[0].pnl_sum.lo, 18000000000LL);
    moves[1] = -0.5; /* +6000 and -15000: a negative total */
    tu_assert_status(risk_engine_stress(b.e, &sc, book, NULL, NULL, NULL, NULL, NULL, 0, 1, &n), RISK_OK);
    tu_assert_bits(book[0].pnl, -9000.0);
    assert_int_equal(book[0].pnl_sum.hi * 4294967296LL + book[0].pnl_sum.lo, -9000000000LL);
    risk_account_free(x);
    risk_account_free(y);
    rbook_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario_pnl_bit_identical_to_moving_prices),
        cmocka_unit_test(test_scenario_pnl_bit_identical_unquantized),
        cmocka_unit_test(test_scenario_pnl_bit_identical_one_tier_and_odd_batches),
        cmocka_unit_test(test_scenario_pnl_changes_nothing),
        cmocka_unit_test(test_scenario_pnl_hand_example_and_weights),
        cmocka_unit_test(test_scenario_pnl_reprices_options),
        cmocka_unit_test(test_scenario_pnl_given_option_mark),
        cmocka_unit_test(test_scenario_pnl_bad_input),
        cmocka_unit_test(test_scenario_pnl_out_of_memory),
        cmocka_unit_test(test_scenario_vol_term_structure),
        cmocka_unit_test(test_stress_engine_equals_accounts_any_threads),
        cmocka_unit_test(test_stress_shards_merge_to_one_engine),
        cmocka_unit_test(test_stress_exposures_by_hand),
        cmocka_unit_test(test_stress_bad_input),
        cmocka_unit_test(test_stress_exact_sum_carries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
