/* SPDX-License-Identifier: Apache-2.0 */
/* test_snapshot.c: engine snapshots (issue 9, section 4; docs/snapshot.md).
 * Round trips on a random book (every summary, position result and liquidation plan equal,
 * compared with memcmp), the byte layout against an independent reading of the spec, refusal of
 * every truncation and every bit flip of a small snapshot, crafted values, versions, files
 * (atomic replace, no temporary left), account ownership, and out-of-memory walks. */
#include "test_util.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ACTIONS 256
#define MAX_RESULTS 16

/* ------------------------------------------------------------------ an independent reading of the format */

static uint32_t ref_crc32c(const unsigned char *p, size_t n) /* bitwise, straight from the polynomial */
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
    }
    return ~c;
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void wr64(unsigned char *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

/* Recomputes every section's CRC and the header's: a crafted snapshot that passes the checksums. */
static void reseal(unsigned char *d)
{
    uint32_t n = rd32(d + 20), header = rd32(d + 12);
    for (uint32_t k = 0; k < n; k++) {
        unsigned char *t = d + 64 + 24 * k;
        wr32(t + 4, ref_crc32c(d + rd64(t + 8), (size_t)rd64(t + 16)));
    }
    unsigned char tmp[64 + 24 * 16];
    memcpy(tmp, d, 60);
    memcpy(tmp + 60, d + 64, header - 64);
    wr32(d + 60, ref_crc32c(tmp, 60 + header - 64));
}

/* Offset of section k (1-based id). */
static size_t section_at(const unsigned char *d, uint32_t id)
{
    return (size_t)rd64(d + 64 + 24 * (id - 1) + 8);
}

/* Format 3, the account record at offset rec: where its positions start (after the 32-byte fixed
 * part, 12 bytes per balance and leverage and the padding to 8), and where the next record starts
 * (40 bytes per position). */
static size_t record_positions_at(const unsigned char *d, size_t rec)
{
    size_t nbl = (size_t)rd32(d + rec + 16) + rd32(d + rec + 20);
    return rec + 32 + 12 * nbl + 4 * (nbl & 1);
}

static size_t record_end(const unsigned char *d, size_t rec)
{
    return record_positions_at(d, rec) + 40 * (size_t)rd32(d + rec + 24);
}

/* ------------------------------------------------------------------ a random book */

typedef struct book {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdt, btc, eth, sol, doge, inst[7];
    uint32_t usdc, opt[7], n_opt; /* book_add_options */
    risk_account *accs[400];
    size_t n;
} book;

static void book_build(book *b, size_t n_accounts, uint64_t seed)
{
    tu_alloc_init(&b->a);
    b->e = tu_engine(&b->a, 0);
    risk_engine *e = b->e;
    b->usdt = tu_asset(e, "USDT", 1.0, 6);
    risk_value_tier vt[2] = {{5.0, 0.98}, {20.0, 0.9}};
    risk_asset_spec as = RISK_ASSET_SPEC_INIT;
    as.symbol = "BTC";
    as.price = 30000.0;
    as.weight_init = 0.9;
    as.weight_maint = 0.95;
    as.liab_weight_init = 1.1;
    as.liab_weight_maint = 1.05;
    as.value_tiers = vt;
    as.n_value_tiers = 2;
    tu_assert_status(risk_engine_add_asset(e, &as, &b->btc), RISK_OK);
    b->eth = tu_asset_w(e, "ETH", 2000.0, 8, 0.85, 0.9, 1.15, 1.1);
    b->sol = tu_asset(e, "SOL", 100.0, 8);
    b->doge = tu_asset(e, "DOGE", 0.1, 8);
    risk_margin_tier t[3] = {tu_tier(50000.0, 0.01, 50.0), tu_tier(250000.0, 0.025, 20.0), tu_tier(1e15, 0.05, 10.0)};
    risk_margin_tier tc[2] = {tu_tier(100000.0, 0.005, 100.0), tu_tier_cum(1e12, 0.01, 50.0, 400.0)};
    const char *syms[4] = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT"};
    const uint32_t und[4] = {b->btc, b->eth, b->sol, b->doge};
    const double lots[4] = {0.001, 0.01, 0.1, 100.0}, ticks[4] = {0.1, 0.01, 0.001, 0.00001};
    const double marks[4] = {30000.0, 2000.0, 100.0, 0.1};
    for (int i = 0; i < 4; i++)
        b->inst[i] = tu_linear(e, syms[i], und[i], b->usdt, 1.0, lots[i], ticks[i], marks[i], t, 3);
    b->inst[4] = tu_inverse(e, "BTCUSD", b->btc, 100.0, 1.0, 0.5, 30000.0, t, 3);
    risk_instrument_spec fs = tu_linear_spec("ETHUSDT-0327", b->eth, b->usdt, 1.0, 0.01, 0.01, 2010.0, tc, 2);
    fs.kind = RISK_KIND_FUTURE;
    fs.expiry_unix_s = 1774598400;
    fs.mm_price = RISK_MM_PRICE_ENTRY;
    b->inst[5] = tu_instrument(e, &fs);
    b->inst[6] = tu_linear(e, "SOLETH", b->sol, b->eth, 1.0, 0.1, 0.0001, 0.05, t, 3);
    /* trading terms: fees, a size limit, fee-inclusive liquidation prices on the inverse */
    risk_instrument_fees fees = RISK_INSTRUMENT_FEES_INIT;
    fees.maker_fee = 0.0002;
    fees.taker_fee = 0.0005;
    fees.max_notional = 5e7;
    tu_assert_status(risk_engine_set_instrument_fees(e, b->inst[0], &fees), RISK_OK);
    fees.max_notional = 0.0;
    fees.liquidation_price_with_fee = 1;
    tu_assert_status(risk_engine_set_instrument_fees(e, b->inst[4], &fees), RISK_OK);

    /* volatility state and scaling: two scaled instruments on BTC, one on ETH */
    risk_asset_vol_params vp = RISK_ASSET_VOL_PARAMS_INIT;
    vp.seed_vol_annual = 0.5;
    tu_assert_status(risk_engine_set_asset_vol_params(e, b->btc, &vp), RISK_OK);
    double px = 30000.0;
    for (int k = 0; k < 30; k++) {
        px *= 1.0 + 0.02 * sin(0.7 * k + 0.3);
        tu_assert_status(risk_engine_feed_asset_price(e, b->btc, px, 1700000000 + 86400 * k), RISK_OK);
    }
    tu_assert_status(risk_engine_set_asset_vol(e, b->eth, 0.8, 1700000000), RISK_OK);
    tu_assert_status(risk_engine_set_asset_stressed_vol(e, b->eth, 1.2), RISK_OK);
    tu_assert_status(risk_engine_set_asset_floor_vol(e, b->btc, 0.3), RISK_OK);
    risk_margin_scaling sc = RISK_MARGIN_SCALING_INIT;
    sc.mode = RISK_SCALING_TIERS;
    sc.reference_vol_annual = 0.4;
    sc.buffer = 0.25;
    sc.max_daily_change = 0.5;
    sc.vol_floor = 1;
    tu_assert_status(risk_engine_set_instrument_scaling(e, b->inst[0], &sc), RISK_OK);
    tu_assert_status(risk_engine_set_instrument_scaling(e, b->inst[4], &sc), RISK_OK);
    risk_margin_scaling var = RISK_MARGIN_SCALING_INIT;
    var.mode = RISK_SCALING_VAR;
    var.stress_weight = 0.5;
    var.max_factor = 6.0;
    tu_assert_status(risk_engine_set_instrument_scaling(e, b->inst[1], &var), RISK_OK);
    tu_assert_status(risk_engine_feed_asset_price(e, b->btc, px * 0.9, 1700000000 + 86400 * 31), RISK_OK);
    tu_assert_status(risk_engine_set_asset_buffer_release(e, b->btc, 0.5), RISK_OK);

    /* liquidation policy, an override, funds, a backstop */
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.fee = 0.005;
    pol.insurance_fee = 0.0025;
    pol.has_backstop = 1;
    pol.backstop_account = 7;
    tu_assert_status(risk_engine_set_liquidation_policy(e, &pol), RISK_OK);
    risk_liquidation_policy ov = RISK_LIQUIDATION_POLICY_INIT;
    ov.price_model = RISK_PRICE_PENALTY;
    ov.penalty = 0.2;
    ov.min_notional = 50.0;
    tu_assert_status(risk_engine_set_instrument_liquidation_policy(e, b->inst[2], &ov), RISK_OK);
    tu_assert_status(risk_engine_insurance_fund_deposit(e, b->usdt, 2e5), RISK_OK);
    tu_assert_status(risk_engine_insurance_fund_deposit(e, b->btc, 3.0), RISK_OK);
    tu_assert_status(risk_engine_set_margin_call_health(e, 1.3), RISK_OK);

    tu_rng r;
    tu_rng_seed(&r, seed);
    b->n = 0;
    for (size_t i = 0; i < n_accounts; i++) {
        uint64_t id = i == 0 ? 7 : 1000 + 3 * i;
        int hedge = tu_rng_int(&r, 0, 3) == 0;
        uint32_t mode = tu_rng_int(&r, 0, 4) == 0 ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS;
        risk_account *acc = tu_account(e, id, mode, hedge ? RISK_POSITION_HEDGE : RISK_POSITION_ONE_WAY);
        b->accs[b->n++] = acc;
        if (i == 0) {
            tu_balance(acc, b->usdt, 1e9);
            continue;
        }
        if (tu_rng_int(&r, 0, 3) == 0) { /* a loan against BTC and ETH */
            tu_balance(acc, b->btc, tu_rng_range(&r, 0.1, 8.0));
            tu_balance(acc, b->eth, tu_rng_range(&r, 0.0, 5.0) + 0.5);
            tu_balance(acc, b->usdt, -floor(tu_rng_range(&r, 1000.0, 100000.0)));
        } else {
            tu_balance(acc, b->usdt, tu_rng_range(&r, 200.0, 20000.0));
            if (tu_rng_int(&r, 0, 2) == 0)
                tu_balance(acc, b->doge, tu_rng_range(&r, 100.0, 50000.0));
            if (tu_rng_int(&r, 0, 2) == 0)
                tu_balance(acc, b->sol, tu_rng_range(&r, 1.0, 50.0));
        }
        for (int k = 0; k < 7; k++)
            if (tu_rng_int(&r, 0, 3) == 0)
                tu_leverage(acc, b->inst[k], (double)tu_rng_int(&r, 1, 10));
        int n = tu_rng_int(&r, 0, 6);
        static const double ilots[7] = {0.001, 0.01, 0.1, 100.0, 1.0, 0.01, 0.1};
        static const double imarks[7] = {30000.0, 2000.0, 100.0, 0.1, 30000.0, 2010.0, 0.05};
        static const double iticks[7] = {0.1, 0.01, 0.001, 0.00001, 0.5, 0.01, 0.0001};
        for (int k = 0; k < n; k++) {
            int j = tu_rng_int(&r, 0, 6);
            double notional = tu_rng_range(&r, 500.0, 80000.0);
            double size = j == 4 ? notional / 100.0 : j == 6 ? notional / 100.0 : notional / imarks[j];
            double qty = floor(size / ilots[j]) * ilots[j];
            if (qty <= 0.0)
                continue;
            int short_side = tu_rng_int(&r, 0, 1);
            uint32_t side = hedge ? (short_side ? RISK_SIDE_SHORT : RISK_SIDE_LONG) : RISK_SIDE_BOTH;
            risk_position *existing = NULL;
            if (risk_account_find_position(acc, b->inst[j], side, &existing) == RISK_OK)
                continue;
            double entry = floor(imarks[j] * tu_rng_range(&r, 0.97, 1.03) / iticks[j]) * iticks[j];
            uint32_t pm = tu_rng_int(&r, 0, 4) == 0 ? RISK_MARGIN_ISOLATED : RISK_MARGIN_DEFAULT;
            int iso = pm == RISK_MARGIN_ISOLATED || (pm == RISK_MARGIN_DEFAULT && mode == RISK_MARGIN_ISOLATED);
            double margin = iso ? (j == 4 ? qty * 100.0 / entry : j == 6 ? qty * entry : qty * entry) * 0.05 : 0.0;
            (void)tu_open(acc, b->inst[j], side, pm, hedge ? qty : (short_side ? -qty : qty), entry, margin);
        }
    }
    /* holes in the creation order, and a market move that leaves some accounts liquidatable */
    for (size_t i = 5; i < b->n; i += 37) {
        risk_account_free(b->accs[i]);
        b->accs[i] = NULL;
    }
    tu_mark(e, b->inst[0], 28500.0);
    tu_mark(e, b->inst[1], 2100.0);
    tu_mark(e, b->inst[4], 28500.0);
    tu_price(e, b->btc, 28600.0);
    tu_price(e, b->eth, 2090.0);
}

/* Interest-rate models, pools, accrual, pool transfers and funding on the book (rates/): USDT
 * under Aave v3's test strategy, BTC under Comet's, ETH flat (Binance W9), SOL under Drift's
 * (the parameters of tests/test_rates.c), pools loaded (two with indices above 1), 40 days of accrual
 * with deposits and borrows through the pools between, and a funding settlement on BTCUSDT. */
static void book_add_rates(book *b)
{
    risk_engine *e = b->e;
    risk_rate_model aave = RISK_RATE_MODEL_INIT;
    aave.kind = RISK_RATE_MODEL_AAVE;
    aave.reserve_factor = 0.10;
    aave.aave_optimal_usage = 0.80;
    aave.aave_slope1 = 0.04;
    aave.aave_slope2 = 0.75;
    aave.aave_stable_slope1 = 0.02;
    aave.aave_stable_slope2 = 0.75;
    aave.aave_base_stable_offset = 0.02;
    aave.aave_excess_stable_offset = 0.05;
    aave.aave_optimal_stable_ratio = 0.20;
    risk_rate_model comet = RISK_RATE_MODEL_INIT;
    comet.kind = RISK_RATE_MODEL_COMET;
    comet.comet_supply_kink = 0.8;
    comet.comet_supply_slope_low = 0.04;
    comet.comet_supply_slope_high = 0.4;
    comet.comet_borrow_kink = 0.8;
    comet.comet_borrow_base = 0.01;
    comet.comet_borrow_slope_low = 0.05;
    comet.comet_borrow_slope_high = 0.3;
    risk_rate_model flat = RISK_RATE_MODEL_INIT;
    flat.kind = RISK_RATE_MODEL_FLAT;
    flat.flat_borrow_hourly = 0.00001;
    flat.flat_supply_hourly = 0.000005;
    risk_rate_model drift = RISK_RATE_MODEL_INIT;
    drift.kind = RISK_RATE_MODEL_DRIFT;
    drift.drift_optimal_utilisation = 0.7;
    drift.drift_optimal_rate = 0.10;
    drift.drift_max_rate = 5.0;
    drift.reserve_factor = 0.1;
    drift.accrual = RISK_ACCRUAL_LINEAR;
    tu_assert_status(risk_engine_set_rate_model(e, b->usdt, &aave), RISK_OK);
    tu_assert_status(risk_engine_set_rate_model(e, b->btc, &comet), RISK_OK);
    tu_assert_status(risk_engine_set_rate_model(e, b->eth, &flat), RISK_OK);
    tu_assert_status(risk_engine_set_rate_model(e, b->sol, &drift), RISK_OK);
    const int64_t t0 = 1700000000;
    risk_rate_pool pool = RISK_RATE_POOL_INIT;
    pool.supply = 5e7;
    pool.borrow = 3.6e7;
    pool.stable_borrow = 2e6;
    pool.stable_rate_annual = 0.07;
    pool.reserves = 12345.678;
    pool.supply_index = 1.0234567;
    pool.borrow_index = 1.0456789;
    pool.updated_unix_s = t0;
    tu_assert_status(risk_engine_set_rate_pool(e, b->usdt, &pool), RISK_OK);
    risk_rate_pool bp = RISK_RATE_POOL_INIT;
    bp.supply = 900.0;
    bp.borrow = 650.0;
    bp.supply_index = 1.01;
    bp.borrow_index = 1.03;
    bp.updated_unix_s = t0;
    tu_assert_status(risk_engine_set_rate_pool(e, b->btc, &bp), RISK_OK);
    risk_rate_pool ep = RISK_RATE_POOL_INIT; /* indices 1 */
    ep.supply = 500.0;
    ep.updated_unix_s = t0;
    tu_assert_status(risk_engine_set_rate_pool(e, b->eth, &ep), RISK_OK);
    /* SOL's empty pool starts its clock at the first accrual */
    tu_assert_status(risk_engine_accrue(e, t0 + 86400 * 10), RISK_OK);
    for (size_t i = 0; i < b->n; i++) { /* deposits and borrows through the pools */
        if (!b->accs[i])
            continue;
        risk_basket *bk = risk_account_basket(b->accs[i]);
        if (i % 3 == 1)
            tu_assert_status(risk_basket_pool_transfer(bk, b->usdt, -250.0 - (double)i), RISK_OK);
        if (i % 4 == 2)
            tu_assert_status(risk_basket_pool_transfer(bk, b->btc, 0.125), RISK_OK);
        if (i % 5 == 3) {
            tu_assert_status(risk_basket_pool_transfer(bk, b->eth, 2.0), RISK_OK);
            tu_assert_status(risk_basket_pool_transfer(bk, b->eth, -2.5), RISK_OK);
        }
    }
    tu_assert_status(risk_engine_accrue(e, t0 + 86400 * 40 + 3599), RISK_OK);
    risk_funding_result fr = RISK_FUNDING_RESULT_INIT;
    tu_assert_status(risk_engine_settle_funding(e, b->inst[0], 0.0001, 0.0, &fr), RISK_OK);
}

/* Size-scaled weights (margin/size.c): Drift's IMF on BTC with a deposit-scaled initial
 * weight, Mango's borrow scaling on USDT, and venue totals alone (scaling off) on SOL. */
static void book_add_size(book *b)
{
    risk_size_scaling z = RISK_SIZE_SCALING_INIT;
    z.imf = 0.0005;
    z.deposit_scale_start = 2e7;
    z.venue_deposits = 900.0;
    tu_assert_status(risk_engine_set_asset_size_scaling(b->e, b->btc, &z), RISK_OK);
    risk_size_scaling u = RISK_SIZE_SCALING_INIT;
    u.borrow_scale_start = 1e7;
    u.venue_borrows = 3e7;
    tu_assert_status(risk_engine_set_asset_size_scaling(b->e, b->usdt, &u), RISK_OK);
    risk_size_scaling t = RISK_SIZE_SCALING_INIT;
    t.venue_deposits = 1e6;
    tu_assert_status(risk_engine_set_asset_size_scaling(b->e, b->sol, &t), RISK_OK);
    /* size premiums on margin rates: Drift's base share on BTCUSDT, FTX's IMF on ETHUSDT */
    risk_size_premium p = RISK_SIZE_PREMIUM_INIT;
    p.imf = 0.002;
    tu_assert_status(risk_engine_set_instrument_size_premium(b->e, b->inst[0], &p), RISK_OK);
    p.imf = 0.001;
    p.base_share = 0.0;
    tu_assert_status(risk_engine_set_instrument_size_premium(b->e, b->inst[1], &p), RISK_OK);
}

/* Options on the book (options/instrument.c; docs/options.md, sections 6 to 8): the engine's
 * time, a USDC asset, coin-settled (Deribit) and USDC/USDT-settled options, calls and puts, marks
 * priced from a mark vol (with a carry rate) and marks given, one settled at expiry and two
 * expired but not settled (one vol-marked, one marked by hand), held long and short, beside
 * futures, by accounts of which one is liquidatable. */
#define OPT_NOW 1703462400 /* 2023-12-25T00:00:00Z */
#define OPT_DAY 86400

static uint32_t book_option(book *b, const char *sym, uint32_t settle, int32_t type, double strike, double mark,
                            double vol, int64_t expiry)
{
    risk_instrument_spec s = RISK_INSTRUMENT_SPEC_INIT;
    s.kind = RISK_KIND_OPTION;
    s.symbol = sym;
    s.underlying = strstr(sym, "ETH") ? b->eth : b->btc;
    s.settle = settle;
    s.inverse = settle == s.underlying;
    s.expiry_unix_s = expiry;
    s.contract_size = 1.0;
    s.lot_size = s.inverse ? 0.1 : 0.01;
    s.tick_size = s.inverse ? 0.0001 : settle == b->usdc ? 5.0 : 0.1;
    s.mark = mark;
    s.mark_vol = vol;
    s.carry_rate = vol > 0.0 ? 0.02 : 0.0;
    s.strike = strike;
    s.option_type = type;
    s.underlying_tick = s.inverse ? 0.5 : 0.01;
    return b->opt[b->n_opt++] = tu_instrument(b->e, &s);
}

static void book_add_options(book *b)
{
    risk_engine *e = b->e;
    tu_assert_status(risk_engine_set_time(e, OPT_NOW), RISK_OK);
    b->usdc = tu_asset(e, "USDC", 1.0, 6);
    b->n_opt = 0;
    const int64_t m1 = OPT_NOW + 30 * OPT_DAY, d1 = OPT_NOW + OPT_DAY;
    uint32_t c0 = book_option(b, "BTC-C-30000", b->btc, RISK_OPTION_CALL, 30000.0, 0.0, 0.6, m1);
    uint32_t p1 = book_option(b, "BTC-P-26000", b->btc, RISK_OPTION_PUT, 26000.0, 0.0105, 0.0, m1);
    uint32_t c2 = book_option(b, "BTC-C-30000-USDC", b->usdc, RISK_OPTION_CALL, 30000.0, 0.0, 0.55, m1);
    uint32_t p3 = book_option(b, "ETH-P-2000-USDT", b->usdt, RISK_OPTION_PUT, 2000.0, 61.2, 0.0, OPT_NOW + 7 * OPT_DAY);
    uint32_t c4 = book_option(b, "BTC-C-28000-1D", b->btc, RISK_OPTION_CALL, 28000.0, 0.05, 0.0, d1);
    uint32_t c5 = book_option(b, "BTC-C-28500-1D", b->btc, RISK_OPTION_CALL, 28500.0, 0.0, 0.7, d1);
    uint32_t p6 = book_option(b, "ETH-P-2100-1D", b->usdt, RISK_OPTION_PUT, 2100.0, 35.0, 0.0, d1);
    risk_account *a = tu_account(e, 900001, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, b->btc, 2.0);
    tu_open_simple(a, c0, -1.0, 0.02);
    tu_open_simple(a, p1, 0.5, 0.01);
    tu_open_simple(a, c5, -0.3, 0.03);
    tu_open_simple(a, b->inst[4], 100.0, 28600.0); /* BTCUSD inverse perpetual beside */
    risk_account *c = tu_account(e, 900002, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(c, b->usdc, 50000.0);
    tu_balance(c, b->usdt, 10000.0);
    tu_open_simple(c, c2, -0.5, 500.0);
    tu_open_simple(c, b->inst[0], 0.1, 28500.0);
    risk_account *d = tu_account(e, 900003, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(d, b->usdt, 20000.0);
    tu_open_simple(d, p3, -2.0, 60.0);
    tu_open_simple(d, p6, 1.0, 35.0);
    tu_open_simple(d, b->inst[1], -1.5, 2090.0);
    risk_account *f = tu_account(e, 900004, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(f, b->btc, 0.5);
    tu_open_simple(f, c4, 1.0, 0.05);
    risk_account *g = tu_account(e, 900005, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY); /* liquidatable */
    tu_balance(g, b->btc, 0.3);
    tu_open_simple(g, c0, -3.0, 0.02);
    tu_open_simple(g, c4, -0.5, 0.05);
    risk_account *accs[5] = {a, c, d, f, g};
    for (int k = 0; k < 5; k++)
        b->accs[b->n++] = accs[k];
    /* a day and an hour on: the one-day options expire; one is settled, two are left as they are */
    tu_assert_status(risk_engine_set_time(e, d1 + 3600), RISK_OK);
    size_t n = 0;
    tu_assert_status(risk_engine_settle_expired(e, c4, 29000.0, &n), RISK_OK);
    assert_int_equal(n, 2);
    tu_assert_status(risk_engine_set_mark(e, p6, 30.0), RISK_OK);
    tu_price(e, b->btc, 28750.0); /* vol-marked options repriced */
    tu_assert_status(risk_engine_set_mark_vol(e, c2, 0.5), RISK_OK);
}

/* Funding state on the book (rates/funding.c, rates/upnl_weight.c; docs/rates.md 8.2-8.4):
 * Drift's unrealised-PnL weights on BTCUSDT (init 0.5 with an IMF, maint 0.95) and on the ETH
 * future (0.9, 1); cumulative funding accrued on BTCUSDT, ETHUSDT and the inverse BTCUSD, both
 * sides, twice; between the two accruals every third account adds a lot to its first perpetual
 * position, which settles its pending funding and moves its last index. So positions hold
 * different last indices, pending funding of both signs, cross and isolated. */
#define FUND_T0 1700003600
static unsigned book_add_funding(book *b)
{
    risk_engine *e = b->e;
    tu_assert_status(risk_engine_set_instrument_upnl_weight(e, b->inst[0], 0.5, 0.95, 0.0005), RISK_OK);
    tu_assert_status(risk_engine_set_instrument_upnl_weight(e, b->inst[5], 0.9, 1.0, 0.0), RISK_OK);
    const uint32_t perps[3] = {b->inst[0], b->inst[1], b->inst[4]};
    for (int k = 0; k < 3; k++)
        tu_assert_status(risk_engine_accrue_funding(e, perps[k], 0.0001 * (k + 1), -0.00008, 0.0, FUND_T0), RISK_OK);
    unsigned moved = 0;
    for (size_t i = 0; i < b->n; i += 3) {
        risk_account *acc = b->accs[i];
        risk_position *p = NULL;
        for (size_t j = 0; acc && j < risk_account_position_count(acc); j++) {
            tu_assert_status(risk_account_position_at(acc, j, &p), RISK_OK);
            uint32_t in = risk_position_instrument(p);
            int k = in == perps[0] ? 0 : in == perps[1] ? 1 : in == perps[2] ? 2 : -1;
            if (k < 0)
                continue;
            static const double lots[3] = {0.001, 0.01, 1.0};
            double q = risk_position_qty(p), m = 0.0;
            tu_assert_status(risk_engine_mark(e, in, &m), RISK_OK);
            if (risk_position_adjust(p, q > 0.0 ? lots[k] : -lots[k], m) == RISK_OK)
                moved++;
            break;
        }
    }
    for (int k = 0; k < 3; k++)
        tu_assert_status(risk_engine_accrue_funding(e, perps[k], -0.00005, 0.00012 / (k + 1), 0.0, FUND_T0 + 28800),
                         RISK_OK);
    return moved;
}

static void book_free(book *b)
{
    for (size_t i = 0; i < b->n; i++)
        risk_account_free(b->accs[i]);
    risk_engine_free(b->e);
    assert_int_equal(b->a.live_blocks, 0);
}

static unsigned char *snapshot_of(const risk_engine *e, size_t *size)
{
    tu_assert_status(risk_engine_snapshot_write(e, NULL, 0, size), RISK_EBUFFER);
    unsigned char *buf = malloc(*size);
    assert_non_null(buf);
    size_t again = 0;
    tu_assert_status(risk_engine_snapshot_write(e, buf, *size, &again), RISK_OK);
    assert_int_equal(again, *size);
    return buf;
}

typedef struct plan_out {
    risk_liquidation_plan plan;
    risk_liquidation_action acts[MAX_ACTIONS];
    size_t n;
    int rc;
} plan_out;

static void plan_of(const risk_account *acc, plan_out *p)
{
    memset(p, 0, sizeof *p);
    risk_liquidation_plan init = RISK_LIQUIDATION_PLAN_INIT;
    p->plan = init;
    p->rc = risk_account_liquidation_plan(acc, &p->plan, p->acts, MAX_ACTIONS, &p->n);
}

/* Every result of acc and of twin is bit for bit the same. Returns 1 when the account is liquidatable. */
static int assert_same_account(const risk_account *acc, const risk_account *twin)
{
    assert_true(risk_account_id(acc) == risk_account_id(twin));
    assert_int_equal(risk_account_margin_mode(acc), risk_account_margin_mode(twin));
    assert_int_equal(risk_account_position_mode(acc), risk_account_position_mode(twin));
    assert_int_equal(risk_account_position_count(acc), risk_account_position_count(twin));
    risk_account_summary s1, s2;
    memset(&s1, 0, sizeof s1);
    memset(&s2, 0, sizeof s2);
    s1.version = s2.version = RISK_ACCOUNT_SUMMARY_VERSION;
    tu_assert_status(risk_account_evaluate(acc, &s1), RISK_OK);
    tu_assert_status(risk_account_evaluate(twin, &s2), RISK_OK);
    assert_memory_equal(&s1, &s2, sizeof s1);
    risk_position_result r1[MAX_RESULTS], r2[MAX_RESULTS];
    memset(r1, 0, sizeof r1);
    memset(r2, 0, sizeof r2);
    r1[0].version = r2[0].version = RISK_POSITION_RESULT_VERSION;
    size_t n1 = 0, n2 = 0;
    tu_assert_status(risk_account_position_results(acc, r1, MAX_RESULTS, &n1), RISK_OK);
    tu_assert_status(risk_account_position_results(twin, r2, MAX_RESULTS, &n2), RISK_OK);
    assert_int_equal(n1, n2);
    assert_memory_equal(r1, r2, n1 * sizeof r1[0]);
    /* balances as stored (scaled by the interest indices) and what they cost or earn */
    const risk_basket *b1 = risk_account_basket((risk_account *)acc), *b2 = risk_account_basket((risk_account *)twin);
    for (uint32_t k = 0; k < 5; k++) {
        double x1 = 0.0, x2 = 0.0;
        tu_assert_status(risk_basket_scaled_balance(b1, k, &x1), RISK_OK);
        tu_assert_status(risk_basket_scaled_balance(b2, k, &x2), RISK_OK);
        tu_assert_bits(x1, x2);
    }
    /* pending funding per asset (docs/rates.md 8.4) */
    for (uint32_t k = 0;; k++) {
        double f1 = 1.0, f2 = 2.0;
        int rc = risk_account_funding_pending(acc, k, &f1);
        tu_assert_status(risk_account_funding_pending(twin, k, &f2), rc);
        if (rc == RISK_ENOTFOUND)
            break;
        tu_assert_status(rc, RISK_OK);
        tu_assert_bits(f1, f2);
    }
    risk_rate_cost c1[5], c2[5];
    memset(c1, 0, sizeof c1);
    memset(c2, 0, sizeof c2);
    for (int k = 0; k < 5; k++)
        c1[k].version = c2[k].version = RISK_RATE_COST_VERSION;
    size_t nc1 = 0, nc2 = 0;
    tu_assert_status(risk_basket_rate_costs(b1, 30 * 86400.0, c1, 5, &nc1), RISK_OK);
    tu_assert_status(risk_basket_rate_costs(b2, 30 * 86400.0, c2, 5, &nc2), RISK_OK);
    assert_int_equal(nc1, nc2);
    assert_memory_equal(c1, c2, nc1 * sizeof c1[0]);
    /* scenario P&L: BTC and ETH moved both ways, volatilities shocked (options revalued) */
    static const double moves[4 * 3] = {0.0, -0.1, 0.05, 0.0, 0.1, -0.05, 0.0, -0.3, -0.3, 0.0, 0.2, 0.0};
    static const double vols[4 * 3] = {0.0, 0.5, 0.2, 0.0, -0.3, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, -0.5};
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = 4;
    sc.n_assets = 3;
    sc.price_moves = moves;
    sc.vol_moves = vols;
    sc.vol_term_power_short = 0.3;
    double pnl1[4], pnl2[4];
    risk_account_summary ss1[4], ss2[4];
    memset(ss1, 0, sizeof ss1);
    memset(ss2, 0, sizeof ss2);
    ss1[0].version = ss2[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
    int src = risk_account_scenario_pnl(acc, &sc, pnl1, ss1);
    tu_assert_status(risk_account_scenario_pnl(twin, &sc, pnl2, ss2), src);
    if (src == RISK_OK) {
        assert_memory_equal(pnl1, pnl2, sizeof pnl1);
        assert_memory_equal(ss1, ss2, sizeof ss1);
    }
    static plan_out p1, p2;
    plan_of(acc, &p1);
    plan_of(twin, &p2);
    assert_int_equal(p1.rc, p2.rc);
    assert_int_equal(p1.n, p2.n);
    assert_memory_equal(&p1.plan, &p2.plan, sizeof p1.plan);
    assert_memory_equal(p1.acts, p2.acts, p1.n * sizeof p1.acts[0]);
    return p1.rc == RISK_OK && p1.plan.outcome != RISK_PLAN_NONE;
}

/* Every account, the engine's registry, market data, volatility and liquidation state agree. */
static unsigned assert_same_engine(const risk_engine *e, const risk_engine *twin)
{
    size_t n1 = 0, n2 = 0;
    tu_assert_status(risk_engine_account_count(e, &n1), RISK_OK);
    tu_assert_status(risk_engine_account_count(twin, &n2), RISK_OK);
    assert_int_equal(n1, n2);
    risk_account **l1 = calloc(n1 + 1, sizeof *l1), **l2 = calloc(n2 + 1, sizeof *l2);
    tu_assert_status(risk_engine_accounts(e, l1, n1, &n1), RISK_OK);
    tu_assert_status(risk_engine_accounts(twin, l2, n2, &n2), RISK_OK);
    unsigned liquidatable = 0;
    for (size_t i = 0; i < n1; i++) {
        risk_account *found = NULL;
        tu_assert_status(risk_engine_find_account(twin, risk_account_id(l1[i]), &found), RISK_OK);
        assert_ptr_equal(found, l2[i]); /* the same creation order */
        liquidatable += (unsigned)assert_same_account(l1[i], l2[i]);
    }
    risk_account_summary *a1 = calloc(n1 + 1, sizeof *a1), *a2 = calloc(n1 + 1, sizeof *a2);
    uint64_t *i1 = calloc(n1 + 1, sizeof *i1), *i2 = calloc(n1 + 1, sizeof *i2);
    a1[0].version = a2[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
    size_t c1 = 0, c2 = 0;
    tu_assert_status(risk_engine_evaluate_all(e, a1, i1, n1, 2, &c1), RISK_OK);
    tu_assert_status(risk_engine_evaluate_all(twin, a2, i2, n1, 1, &c2), RISK_OK);
    assert_memory_equal(a1, a2, n1 * sizeof *a1);
    assert_memory_equal(i1, i2, n1 * sizeof *i1);
    free(a1);
    free(a2);
    free(i1);
    free(i2);
    free(l1);
    free(l2);
    int64_t now1 = -1, now2 = -2;
    tu_assert_status(risk_engine_time(e, &now1), RISK_OK);
    tu_assert_status(risk_engine_time(twin, &now2), RISK_OK);
    assert_true(now1 == now2);
    uint32_t v1, v2;
    tu_assert_status(risk_engine_valuation_asset(e, &v1), RISK_OK);
    tu_assert_status(risk_engine_valuation_asset(twin, &v2), RISK_OK);
    assert_int_equal(v1, v2);
    size_t na1 = 0, na2 = 0, ni1 = 0, ni2 = 0;
    tu_assert_status(risk_engine_asset_count(e, &na1), RISK_OK);
    tu_assert_status(risk_engine_asset_count(twin, &na2), RISK_OK);
    tu_assert_status(risk_engine_instrument_count(e, &ni1), RISK_OK);
    tu_assert_status(risk_engine_instrument_count(twin, &ni2), RISK_OK);
    assert_int_equal(na1, na2);
    assert_int_equal(ni1, ni2);
    for (uint32_t i = 0; i < na1; i++) {
        risk_asset_spec s1 = RISK_ASSET_SPEC_INIT, s2 = RISK_ASSET_SPEC_INIT;
        tu_assert_status(risk_engine_asset_spec(e, i, &s1), RISK_OK);
        tu_assert_status(risk_engine_asset_spec(twin, i, &s2), RISK_OK);
        assert_string_equal(s1.symbol, s2.symbol);
        assert_int_equal(s1.decimals, s2.decimals);
        tu_assert_bits(s1.price, s2.price);
        tu_assert_bits(s1.weight_init, s2.weight_init);
        tu_assert_bits(s1.liab_weight_maint, s2.liab_weight_maint);
        assert_int_equal(s1.n_value_tiers, s2.n_value_tiers);
        if (s1.n_value_tiers)
            assert_memory_equal(s1.value_tiers, s2.value_tiers, s1.n_value_tiers * sizeof *s1.value_tiers);
    }
    for (uint32_t i = 0; i < ni1; i++) {
        risk_instrument_spec s1 = RISK_INSTRUMENT_SPEC_INIT, s2 = RISK_INSTRUMENT_SPEC_INIT;
        tu_assert_status(risk_engine_instrument_spec(e, i, &s1), RISK_OK);
        tu_assert_status(risk_engine_instrument_spec(twin, i, &s2), RISK_OK);
        assert_string_equal(s1.symbol, s2.symbol);
        assert_int_equal(s1.kind, s2.kind);
        assert_int_equal(s1.underlying, s2.underlying);
        assert_int_equal(s1.settle, s2.settle);
        assert_int_equal(s1.inverse, s2.inverse);
        assert_int_equal(s1.mm_price, s2.mm_price);
        assert_true(s1.expiry_unix_s == s2.expiry_unix_s);
        tu_assert_bits(s1.lot_size, s2.lot_size);
        tu_assert_bits(s1.tick_size, s2.tick_size);
        tu_assert_bits(s1.contract_size, s2.contract_size);
        tu_assert_bits(s1.mark, s2.mark);
        assert_int_equal(s1.n_tiers, s2.n_tiers);
        /* format 3: options' fields, every instrument's underlying tick, the mark vol in force */
        tu_assert_bits(s1.strike, s2.strike);
        assert_int_equal(s1.option_type, s2.option_type);
        tu_assert_bits(s1.mark_vol, s2.mark_vol);
        tu_assert_bits(s1.carry_rate, s2.carry_rate);
        tu_assert_bits(s1.underlying_tick, s2.underlying_tick);
        { /* funding indices, their clock, unrealised-PnL weights (format 3) */
            double lo1, lo2, sh1, sh2, w1[3], w2[3];
            int64_t t1 = -1, t2 = -2;
            tu_assert_status(risk_engine_funding_index(e, i, &lo1, &sh1, &t1), RISK_OK);
            tu_assert_status(risk_engine_funding_index(twin, i, &lo2, &sh2, &t2), RISK_OK);
            tu_assert_bits(lo1, lo2);
            tu_assert_bits(sh1, sh2);
            assert_true(t1 == t2);
            tu_assert_status(risk_engine_instrument_upnl_weight(e, i, &w1[0], &w1[1], &w1[2]), RISK_OK);
            tu_assert_status(risk_engine_instrument_upnl_weight(twin, i, &w2[0], &w2[1], &w2[2]), RISK_OK);
            assert_memory_equal(w1, w2, sizeof w1);
        }
        if (s1.kind == RISK_KIND_OPTION) {
            double mv1 = 0.0, mv2 = 0.0;
            tu_assert_status(risk_engine_mark_vol(e, i, &mv1), RISK_OK);
            tu_assert_status(risk_engine_mark_vol(twin, i, &mv2), RISK_OK);
            tu_assert_bits(mv1, mv2);
        }
        for (size_t t = 0; t < s1.n_tiers; t++) {
            tu_assert_bits(s1.tiers[t].mmr, s2.tiers[t].mmr);
            tu_assert_bits(s1.tiers[t].cum, s2.tiers[t].cum);
            tu_assert_bits(s1.tiers[t].notional_cap, s2.tiers[t].notional_cap);
        }
    }
    risk_asset_spec bad = RISK_ASSET_SPEC_INIT;
    tu_assert_status(risk_engine_asset_spec(twin, (uint32_t)na1, &bad), RISK_ENOTFOUND);
    bad.version = 99;
    tu_assert_status(risk_engine_asset_spec(twin, 0, &bad), RISK_EVERSION);
    for (uint32_t i = 0; i < 7; i++) {
        risk_margin_factor f1 = RISK_MARGIN_FACTOR_INIT, f2 = RISK_MARGIN_FACTOR_INIT;
        if (risk_engine_instrument_factor(e, i, &f1) != RISK_OK)
            break;
        tu_assert_status(risk_engine_instrument_factor(twin, i, &f2), RISK_OK);
        assert_memory_equal(&f1, &f2, sizeof f1);
        risk_margin_tier t1[64], t2[64];
        size_t k1 = 0, k2 = 0;
        memset(t1, 0, sizeof t1);
        memset(t2, 0, sizeof t2);
        tu_assert_status(risk_engine_instrument_tiers(e, i, t1, 64, &k1), RISK_OK);
        tu_assert_status(risk_engine_instrument_tiers(twin, i, t2, 64, &k2), RISK_OK);
        assert_int_equal(k1, k2);
        for (size_t t = 0; t < k1; t++) { /* field by field: the struct has padding */
            tu_assert_bits(t1[t].notional_cap, t2[t].notional_cap);
            tu_assert_bits(t1[t].mmr, t2[t].mmr);
            tu_assert_bits(t1[t].max_leverage, t2[t].max_leverage);
            tu_assert_bits(t1[t].cum, t2[t].cum);
            assert_int_equal(t1[t].cum_given, t2[t].cum_given);
        }
        risk_size_premium sp1 = RISK_SIZE_PREMIUM_INIT, sp2 = RISK_SIZE_PREMIUM_INIT;
        tu_assert_status(risk_engine_instrument_size_premium(e, i, &sp1), RISK_OK);
        tu_assert_status(risk_engine_instrument_size_premium(twin, i, &sp2), RISK_OK);
        assert_memory_equal(&sp1, &sp2, sizeof sp1);
        risk_liquidation_policy p1 = RISK_LIQUIDATION_POLICY_INIT, p2 = RISK_LIQUIDATION_POLICY_INIT;
        tu_assert_status(risk_engine_instrument_liquidation_policy(e, i, &p1), RISK_OK);
        tu_assert_status(risk_engine_instrument_liquidation_policy(twin, i, &p2), RISK_OK);
        assert_memory_equal(&p1, &p2, sizeof p1);
    }
    for (uint32_t i = 0; i < 5; i++) {
        risk_asset_vol_state s1 = RISK_ASSET_VOL_STATE_INIT, s2 = RISK_ASSET_VOL_STATE_INIT;
        if (risk_engine_asset_vol(e, i, &s1) != RISK_OK)
            break;
        tu_assert_status(risk_engine_asset_vol(twin, i, &s2), RISK_OK);
        assert_memory_equal(&s1, &s2, sizeof s1);
        risk_insurance_fund f1 = RISK_INSURANCE_FUND_INIT, f2 = RISK_INSURANCE_FUND_INIT;
        tu_assert_status(risk_engine_insurance_fund(e, i, &f1), RISK_OK);
        tu_assert_status(risk_engine_insurance_fund(twin, i, &f2), RISK_OK);
        assert_memory_equal(&f1, &f2, sizeof f1);
    }
    for (uint32_t i = 0; i < na1; i++) { /* size scaling, rate models, pools (indices, clock), rates now */
        risk_size_scaling z1 = RISK_SIZE_SCALING_INIT, z2 = RISK_SIZE_SCALING_INIT;
        tu_assert_status(risk_engine_asset_size_scaling(e, i, &z1), RISK_OK);
        tu_assert_status(risk_engine_asset_size_scaling(twin, i, &z2), RISK_OK);
        assert_memory_equal(&z1, &z2, sizeof z1);
        risk_rate_model m1 = RISK_RATE_MODEL_INIT, m2 = RISK_RATE_MODEL_INIT;
        tu_assert_status(risk_engine_rate_model(e, i, &m1), RISK_OK);
        tu_assert_status(risk_engine_rate_model(twin, i, &m2), RISK_OK);
        assert_memory_equal(&m1, &m2, sizeof m1);
        risk_rate_pool q1 = RISK_RATE_POOL_INIT, q2 = RISK_RATE_POOL_INIT;
        int rc = risk_engine_rate_pool(e, i, &q1);
        tu_assert_status(risk_engine_rate_pool(twin, i, &q2), rc);
        assert_memory_equal(&q1, &q2, sizeof q1);
        risk_rates r1 = RISK_RATES_INIT, r2 = RISK_RATES_INIT;
        rc = risk_engine_rates(e, i, &r1);
        tu_assert_status(risk_engine_rates(twin, i, &r2), rc);
        assert_memory_equal(&r1, &r2, sizeof r1);
    }
    return liquidatable;
}

/* ------------------------------------------------------------------ round trips */

static void test_snapshot_round_trip_random_book(void **state)
{
    (void)state;
    static book b;
    book_build(&b, 300, 0x5eed0009u);
    /* apply a few plans first: fund contributions and draws, closed positions, backstop takeovers */
    unsigned applied = 0;
    for (size_t i = 1; i < b.n && applied < 10; i++) {
        if (!b.accs[i])
            continue;
        static plan_out p;
        plan_of(b.accs[i], &p);
        if (p.rc == RISK_OK && p.plan.outcome != RISK_PLAN_NONE &&
            risk_account_apply_plan(b.accs[i], &p.plan, p.acts, p.n) == RISK_OK)
            applied++;
    }
    size_t size = 0;
    unsigned char *snap = snapshot_of(b.e, &size);
    tu_alloc ta;
    tu_alloc_init(&ta);
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.allocator = tu_allocator(&ta);
    risk_engine *twin = NULL;
    tu_assert_status(risk_engine_snapshot_read(&twin, snap, size, &o), RISK_OK);
    assert_non_null(twin);
    unsigned liquidatable = assert_same_engine(b.e, twin);
    for (uint32_t i = 0; i < 7; i++) { /* the trading terms came back */
        risk_instrument_fees f1 = RISK_INSTRUMENT_FEES_INIT, f2 = RISK_INSTRUMENT_FEES_INIT;
        tu_assert_status(risk_engine_instrument_fees(b.e, b.inst[i], &f1), RISK_OK);
        tu_assert_status(risk_engine_instrument_fees(twin, b.inst[i], &f2), RISK_OK);
        assert_memory_equal(&f1, &f2, sizeof f1);
    }
    print_message("random book: %zu bytes, %u plans applied before, %u liquidatable accounts compared\n", size,
                  applied, liquidatable);
    assert_true(liquidatable > 5);
    /* the restored engine writes the same bytes */
    size_t size2 = 0;
    unsigned char *snap2 = snapshot_of(twin, &size2);
    assert_int_equal(size, size2);
    assert_memory_equal(snap, snap2, size);
    /* and keeps working: a price move and plans applied on both give the same state */
    tu_mark(b.e, b.inst[2], 90.0);
    tu_mark(twin, b.inst[2], 90.0);
    risk_account *acc1 = NULL, *acc2 = NULL;
    for (size_t i = 1; i < b.n; i++) {
        if (!b.accs[i])
            continue;
        acc1 = b.accs[i];
        tu_assert_status(risk_engine_find_account(twin, risk_account_id(acc1), &acc2), RISK_OK);
        static plan_out p1, p2;
        plan_of(acc1, &p1);
        plan_of(acc2, &p2);
        if (p1.rc == RISK_OK && p1.plan.outcome != RISK_PLAN_NONE) {
            tu_assert_status(risk_account_apply_plan(acc1, &p1.plan, p1.acts, p1.n), RISK_OK);
            tu_assert_status(risk_account_apply_plan(acc2, &p2.plan, p2.acts, p2.n), RISK_OK);
        }
    }
    assert_same_engine(b.e, twin);
    free(snap);
    free(snap2);
    risk_engine_free(twin); /* frees its accounts too */
    assert_int_equal(ta.live_blocks, 0);
    book_free(&b);
}

static void test_snapshot_empty_engine_round_trips(void **state)
{
    (void)state;
    risk_engine *e = NULL;
    tu_assert_status(risk_engine_new(&e, NULL), RISK_OK);
    size_t size = 0;
    unsigned char *snap = snapshot_of(e, &size);
    risk_engine *twin = NULL;
    tu_assert_status(risk_engine_snapshot_read(&twin, snap, size, NULL), RISK_OK);
    uint32_t v = 0;
    tu_assert_status(risk_engine_valuation_asset(twin, &v), RISK_OK);
    assert_int_equal(v, RISK_ID_NONE);
    size_t n = 1;
    tu_assert_status(risk_engine_account_count(twin, &n), RISK_OK);
    assert_int_equal(n, 0);
    risk_engine_free(twin);
    risk_engine_free(e);
    free(snap);
}

/* Engine flags and the margin-call health come back; accounts without positions too. */
static void test_snapshot_keeps_engine_options(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, RISK_ENGINE_NO_QUANTIZE);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), eur = tu_asset(e, "EUR", 1.0, 2);
    tu_assert_status(risk_engine_set_valuation_asset(e, eur), RISK_OK);
    tu_assert_status(risk_engine_set_margin_call_health(e, 1.75), RISK_OK);
    risk_account *acc = tu_account(e, 42, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdt, 1.0 / 3.0);
    size_t size = 0;
    unsigned char *snap = snapshot_of(e, &size);
    risk_engine *twin = NULL;
    tu_assert_status(risk_engine_snapshot_read(&twin, snap, size, NULL), RISK_OK);
    uint32_t v = 0;
    tu_assert_status(risk_engine_valuation_asset(twin, &v), RISK_OK);
    assert_int_equal(v, eur);
    risk_account *t = NULL;
    tu_assert_status(risk_engine_find_account(twin, 42, &t), RISK_OK);
    risk_account_summary s = tu_eval(t), s0 = tu_eval(acc);
    tu_assert_bits(s.equity, s0.equity); /* unquantized: 1/3 exactly as before */
    assert_memory_equal(&s, &s0, sizeof s);
    assert_true(s.state == s0.state);
    risk_engine_free(twin);
    risk_account_free(acc);
    risk_engine_free(e);
    free(snap);
}

/* Format 3: an engine with options (coin- and USDC/USDT-settled, calls and puts, marks from a
 * vol and given, one settled, two expired unsettled) comes back bit for bit: summaries, position
 * results with their Greeks, plans, scenario P&L, the engine's time; it writes the same bytes and
 * goes on as the original: time passes, prices move, the expired options are settled, plans apply. */
static void test_snapshot_round_trip_options(void **state)
{
    (void)state;
    static book b;
    book_build(&b, 60, 0x0971u);
    book_add_rates(&b);
    book_add_options(&b);
    size_t size = 0;
    unsigned char *d = snapshot_of(b.e, &size);
    tu_alloc ta;
    tu_alloc_init(&ta);
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.allocator = tu_allocator(&ta);
    risk_engine *twin = NULL;
    tu_assert_status(risk_engine_snapshot_read(&twin, d, size, &o), RISK_OK);
    unsigned liquidatable = assert_same_engine(b.e, twin);
    assert_true(liquidatable > 0);
    /* the option positions are there, with Greeks, on both sides */
    risk_account *g = NULL;
    tu_assert_status(risk_engine_find_account(twin, 900005, &g), RISK_OK);
    risk_position_result r[4];
    memset(r, 0, sizeof r);
    r[0].version = RISK_POSITION_RESULT_VERSION;
    size_t nr = 0;
    tu_assert_status(risk_account_position_results(g, r, 4, &nr), RISK_OK);
    assert_int_equal(nr, 1); /* the settled option's position went at settlement */
    assert_true(r[0].delta < 0.0 && r[0].gamma < 0.0 && isfinite(r[0].vega));
    { /* its scenario P&L (compared bit for bit above) is a real revaluation */
        static const double up[3] = {0.0, 0.1, 0.0}, vol_up[3] = {0.0, 0.5, 0.0};
        risk_scenarios sc = RISK_SCENARIOS_INIT;
        sc.n_scenarios = 1;
        sc.n_assets = 3;
        sc.price_moves = up;
        sc.vol_moves = vol_up;
        double pnl = 0.0;
        tu_assert_status(risk_account_scenario_pnl(g, &sc, &pnl, NULL), RISK_OK);
        assert_true(pnl < 0.0); /* short calls lose when BTC and its vol rise */
    }
    size_t size2 = 0;
    unsigned char *d2 = snapshot_of(twin, &size2);
    assert_int_equal(size, size2);
    assert_memory_equal(d, d2, size);
    free(d2);
    /* the same future on both */
    risk_engine *both[2] = {b.e, twin};
    for (int k = 0; k < 2; k++) {
        size_t n = 0;
        tu_assert_status(risk_engine_settle_expired(both[k], b.opt[5], 28900.0, &n), RISK_OK);
        assert_int_equal(n, 1);
        tu_assert_status(risk_engine_set_time(both[k], OPT_NOW + 10 * OPT_DAY), RISK_OK);
        tu_price(both[k], b.btc, 27100.0);
        tu_price(both[k], b.eth, 1990.0);
        tu_assert_status(risk_engine_set_mark(both[k], b.opt[1], 0.0201), RISK_OK);
    }
    assert_same_engine(b.e, twin);
    risk_account *g1 = NULL;
    tu_assert_status(risk_engine_find_account(b.e, 900005, &g1), RISK_OK);
    static plan_out p1, p2;
    plan_of(g1, &p1);
    plan_of(g, &p2);
    tu_assert_status(p1.rc, RISK_OK);
    assert_true(p1.plan.outcome != RISK_PLAN_NONE);
    tu_assert_status(risk_account_apply_plan(g1, &p1.plan, p1.acts, p1.n), RISK_OK);
    tu_assert_status(risk_account_apply_plan(g, &p2.plan, p2.acts, p2.n), RISK_OK);
    assert_same_engine(b.e, twin);
    risk_engine_free(twin);
    assert_int_equal(ta.live_blocks, 0);
    free(d);
    book_free(&b);
}

/* Rate models, pools and indices come back bit for bit, and the restored engine keeps going as
 * the original does: accrual, funding and pool transfers after the restore give the same bits. */
static void test_snapshot_round_trip_rates_and_funding(void **state)
{
    (void)state;
    static book b;
    book_build(&b, 90, 21);
    book_add_rates(&b);
    book_add_size(&b);
    size_t size = 0;
    unsigned char *d = snapshot_of(b.e, &size);
    risk_engine *twin = NULL;
    tu_assert_status(risk_engine_snapshot_read(&twin, d, size, NULL), RISK_OK);
    risk_rate_pool q = RISK_RATE_POOL_INIT;
    tu_assert_status(risk_engine_rate_pool(twin, b.usdt, &q), RISK_OK);
    assert_true(q.supply_index > 1.0234567 && q.borrow_index > 1.0456789 && q.started == 1);
    assert_true(assert_same_engine(b.e, twin) > 0);
    /* the same bytes again from the restored engine */
    size_t size2 = 0;
    unsigned char *d2 = snapshot_of(twin, &size2);
    assert_int_equal(size, size2);
    assert_memory_equal(d, d2, size);
    free(d2);
    /* ... and the same future: 30 days of accrual, funding both ways, a borrow through a pool */
    const int64_t later = 1700000000 + 86400 * 70;
    tu_assert_status(risk_engine_accrue(b.e, later), RISK_OK);
    tu_assert_status(risk_engine_accrue(twin, later), RISK_OK);
    risk_funding_result f1 = RISK_FUNDING_RESULT_INIT, f2 = RISK_FUNDING_RESULT_INIT;
    tu_assert_status(risk_engine_settle_funding(b.e, b.inst[1], -0.00025, 0.0, &f1), RISK_OK);
    tu_assert_status(risk_engine_settle_funding(twin, b.inst[1], -0.00025, 0.0, &f2), RISK_OK);
    assert_memory_equal(&f1, &f2, sizeof f1);
    assert_true(f1.n_positions > 0);
    risk_account *a2 = NULL;
    tu_assert_status(risk_engine_find_account(twin, 7, &a2), RISK_OK);
    tu_assert_status(risk_basket_pool_transfer(risk_account_basket(b.accs[0]), b.usdt, -1234.5), RISK_OK);
    tu_assert_status(risk_basket_pool_transfer(risk_account_basket(a2), b.usdt, -1234.5), RISK_OK);
    tu_assert_status(risk_engine_accrue(b.e, later + 86400), RISK_OK);
    tu_assert_status(risk_engine_accrue(twin, later + 86400), RISK_OK);
    assert_same_engine(b.e, twin);
    risk_engine_free(twin);
    free(d);
    book_free(&b);
}

/* Restored accounts keep their leverage lists in one engine block: setting one more (one by one
 * or through the bulk setter) moves the list out of it, and freeing, adopting or growing any of
 * them leaves the block alone (ASan and the counting allocator check the frees). */
static void test_snapshot_restored_leverage_lists_grow_and_free(void **state)
{
    (void)state;
    static book b;
    book_build(&b, 40, 5);
    size_t size = 0;
    unsigned char *d = snapshot_of(b.e, &size);
    tu_alloc ta;
    tu_alloc_init(&ta);
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.allocator = tu_allocator(&ta);
    risk_engine *twin = NULL;
    tu_assert_status(risk_engine_snapshot_read(&twin, d, size, &o), RISK_OK);
    size_t n = 0;
    tu_assert_status(risk_engine_account_count(twin, &n), RISK_OK);
    risk_account **l = calloc(n, sizeof *l);
    tu_assert_status(risk_engine_accounts(twin, l, n, &n), RISK_OK);
    unsigned grown = 0, adopted = 0, freed = 0;
    for (size_t i = 0; i < n; i++) {
        double before[7];
        uint32_t k_set = 7;
        for (uint32_t k = 0; k < 7; k++) {
            before[k] = 0.0;
            if (risk_account_leverage(l[i], b.inst[k], &before[k]) != RISK_OK)
                before[k] = 0.0;
            if (before[k] == 0.0 && k_set == 7)
                k_set = k;
        }
        if (k_set < 7 && i % 2 == 0) { /* one more setting: the list leaves the block */
            tu_assert_status(risk_account_set_leverage(l[i], b.inst[k_set], 3.0), RISK_OK);
            grown++;
            for (uint32_t k = 0; k < 7; k++) {
                double now = 0.0;
                if (risk_account_leverage(l[i], b.inst[k], &now) != RISK_OK)
                    now = 0.0;
                tu_assert_bits(now, k == k_set ? 3.0 : before[k]);
            }
        }
        if (k_set < 7 && i % 2 == 1) { /* the same through the bulk setter (core/bulk.c) */
            uint64_t id = risk_account_id(l[i]);
            uint32_t inst = b.inst[k_set];
            double lev = 4.0;
            tu_assert_status(risk_engine_set_leverages(twin, &id, &inst, &lev, 1), RISK_OK);
            double now = 0.0;
            tu_assert_status(risk_account_leverage(l[i], inst, &now), RISK_OK);
            tu_assert_bits(now, 4.0);
            grown++;
        }
        if (i % 3 == 0) {
            tu_assert_status(risk_account_adopt(l[i]), RISK_OK);
            adopted++;
        } else if (i % 3 == 1) {
            risk_account_free(l[i]);
            l[i] = NULL;
            freed++;
        }
    }
    assert_true(grown > 5 && adopted > 5 && freed > 5);
    size_t bytes = 0;
    tu_assert_status(risk_engine_memory_bytes(twin, &bytes), RISK_OK);
    assert_true(bytes > 0);
    risk_engine_free(twin);
    for (size_t i = 0; i < n; i += 3) /* the adopted ones hold the engine until the last goes */
        risk_account_free(l[i]);
    assert_int_equal(ta.live_blocks, 0);
    free(l);
    free(d);
    book_free(&b);
}

/* Format 3 pads ACCOUNTS to start at a multiple of 8 and each account record whose balances and
 * leverages are odd in number by 4 bytes, so that every array of doubles is 8-byte aligned:
 * checks the alignment and returns the padding bytes of the accounts. */
static size_t account_padding(const unsigned char *d, size_t *positions)
{
    *positions = 0;
    size_t at = section_at(d, 5);
    assert_int_equal(at % 8, 0);
    uint64_t n = rd64(d + at);
    size_t pad = 0;
    at += 8;
    for (uint64_t k = 0; k < n; k++) {
        uint32_t nb = rd32(d + at + 16), nl = rd32(d + at + 20), np = rd32(d + at + 24);
        size_t odd = (nb + nl) & 1;
        assert_int_equal((at + 32 + 12 * (size_t)(nb + nl) + 4 * odd) % 8, 0);
        pad += 4 * odd;
        *positions += np;
        at = record_end(d, at);
    }
    return pad;
}

/* A snapshot of format 1 (tests/data/snapshot-v1.snap, written by the format-1 writer of
 * librisk 67463b1 from book_build(12, 99), which has no rate models) still reads, into the
 * engine that book_build makes today; written again it is the format-2 snapshot of that engine. */
static void test_snapshot_reads_format_1(void **state)
{
    (void)state;
    FILE *f = fopen("tests/data/snapshot-v1.snap", "rb");
    assert_non_null(f);
    static unsigned char v1[16384];
    size_t n = fread(v1, 1, sizeof v1, f);
    fclose(f);
    assert_true(n > 64 && n < sizeof v1);
    assert_int_equal(rd32(v1 + 8), 1);
    risk_engine *old = NULL;
    tu_assert_status(risk_engine_snapshot_read(&old, v1, n, NULL), RISK_OK);
    static book b;
    book_build(&b, 12, 99);
    assert_same_engine(b.e, old);
    size_t s1 = 0, s2 = 0;
    unsigned char *d1 = snapshot_of(b.e, &s1), *d2 = snapshot_of(old, &s2);
    assert_int_equal(rd32(d2 + 8), RISK_SNAPSHOT_FORMAT_VERSION);
    assert_int_equal(s1, s2);
    assert_memory_equal(d1, d2, s1);
    /* format 2 adds a rates flag and a size-scaling flag (0) per asset, a size premium per
     * instrument; format 3 the engine's time, an underlying tick per instrument and alignment */
    /* ... and its funding block per instrument and last funding index per position, and the
     * engine's portfolio-margin block (296 bytes) */
    size_t positions = 0, pad = account_padding(d1, &positions);
    size_t grown = s1 - n - (5 * 8 + 7 * 16 + 8 + 7 * 8) - 7 * 56 - 8 * positions - pad - 296;
    assert_true(grown < 8); /* LIQUIDATION's padding */
    free(d1);
    free(d2);
    risk_engine_free(old);
    book_free(&b);
}

/* A snapshot of format 2 (tests/data/snapshot-v2.snap, written by the format-2 writer of
 * librisk 12729ab from book_build(12, 99) with book_add_rates and book_add_size) still reads,
 * rates, pools and size scaling included, into the engine those make today; written again it
 * is the format-3 snapshot of that engine, 8 bytes of engine time and 8 of underlying tick per
 * instrument longer. */
static void test_snapshot_reads_format_2(void **state)
{
    (void)state;
    FILE *f = fopen("tests/data/snapshot-v2.snap", "rb");
    assert_non_null(f);
    static unsigned char v2[16384];
    size_t n = fread(v2, 1, sizeof v2, f);
    fclose(f);
    assert_true(n > 64 && n < sizeof v2);
    assert_int_equal(rd32(v2 + 8), 2);
    risk_engine *old = NULL;
    tu_assert_status(risk_engine_snapshot_read(&old, v2, n, NULL), RISK_OK);
    static book b;
    book_build(&b, 12, 99);
    book_add_rates(&b);
    book_add_size(&b);
    assert_same_engine(b.e, old);
    size_t s1 = 0, s2 = 0;
    unsigned char *d1 = snapshot_of(b.e, &s1), *d2 = snapshot_of(old, &s2);
    assert_int_equal(rd32(d2 + 8), 3);
    assert_int_equal(s1, s2);
    assert_memory_equal(d1, d2, s1);
    size_t positions = 0, pad = account_padding(d1, &positions);
    size_t grown = s1 - n - (8 + 7 * 8) - 7 * 56 - 8 * positions - pad - 296; /* 296: portfolio margin */
    assert_true(grown < 8);
    free(d1);
    free(d2);
    risk_engine_free(old);
    book_free(&b);
}

/* ------------------------------------------------------------------ the byte layout */

static void test_snapshot_layout_matches_the_spec(void **state)
{
    (void)state;
    static book b;
    book_build(&b, 20, 11);
    size_t size = 0;
    unsigned char *d = snapshot_of(b.e, &size);
    assert_memory_equal(d, "\x89LRSNAP\n", 8);
    assert_int_equal(rd32(d + 8), RISK_SNAPSHOT_FORMAT_VERSION);
    assert_int_equal(rd32(d + 12), 64 + 5 * 24);
    assert_int_equal(rd32(d + 16), risk_version_number());
    assert_int_equal(rd32(d + 20), 5);
    assert_true(rd64(d + 24) == size);
    for (int k = 32; k < 60; k++)
        assert_int_equal(d[k], 0);
    unsigned char tmp[60 + 5 * 24];
    memcpy(tmp, d, 60);
    memcpy(tmp + 60, d + 64, 5 * 24);
    assert_int_equal(rd32(d + 60), ref_crc32c(tmp, sizeof tmp));
    uint64_t at = 64 + 5 * 24;
    for (uint32_t k = 0; k < 5; k++) {
        const unsigned char *t = d + 64 + 24 * k;
        assert_int_equal(rd32(t), k + 1);
        assert_true(rd64(t + 8) == at);
        assert_int_equal(rd32(t + 4), ref_crc32c(d + at, (size_t)rd64(t + 16)));
        at += rd64(t + 16);
    }
    assert_true(at == size);
    /* ENGINE: flags, valuation, margin-call health, counts */
    const unsigned char *en = d + section_at(d, 1);
    assert_int_equal(rd32(en), 0);
    assert_int_equal(rd32(en + 4), b.usdt);
    uint64_t mch = rd64(en + 8);
    double x;
    memcpy(&x, &mch, sizeof x);
    tu_assert_bits(x, 1.3);
    assert_int_equal(rd32(en + 16), 5);
    assert_int_equal(rd32(en + 20), 7);
    /* ASSETS: the first record is USDT, 6 decimals, price 1 */
    const unsigned char *as = d + section_at(d, 2);
    assert_string_equal((const char *)as, "USDT");
    assert_int_equal(rd32(as + 32), 6);
    uint64_t one = rd64(as + 40);
    memcpy(&x, &one, sizeof x);
    tu_assert_bits(x, 1.0);
    /* ACCOUNTS: the count, then the first account (the backstop, id 7, one USDT balance) */
    const unsigned char *ac = d + section_at(d, 5);
    size_t n = 0;
    tu_assert_status(risk_engine_account_count(b.e, &n), RISK_OK);
    assert_true(rd64(ac) == n);
    assert_true(rd64(ac + 8) == 7);
    assert_int_equal(rd32(ac + 24), 1); /* balances */
    assert_int_equal(rd32(ac + 40), b.usdt);
    free(d);
    book_free(&b);
}

/* ------------------------------------------------------------------ refusals */

/* A small snapshot: 3 accounts with positions, scaling, funds, rate models and pools, size
 * scaling, and the options of book_add_options with their 5 accounts. */
static unsigned char *small_snapshot(book *b, size_t *size)
{
    book_build(b, 4, 3);
    book_add_rates(b);
    book_add_size(b);
    book_add_options(b);
    (void)book_add_funding(b);
    return snapshot_of(b->e, size);
}

static void expect_refused(const unsigned char *d, size_t size, int want)
{
    tu_alloc ta;
    tu_alloc_init(&ta);
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.allocator = tu_allocator(&ta);
    char msg[256];
    o.errmsg_out = msg;
    o.errmsg_capacity = sizeof msg;
    risk_engine *out = (risk_engine *)(uintptr_t)1;
    int rc = risk_engine_snapshot_read(&out, d, size, &o);
    if (rc != want)
        print_error("size %zu: %s (%s)\n", size, risk_errname(rc), msg);
    tu_assert_status(rc, want);
    assert_null(out);
    assert_true(strlen(msg) > 0);
    assert_int_equal(ta.live_blocks, 0); /* nothing half loaded, nothing left behind */
    /* a parallel read refuses it with the same status and message */
    char par_msg[256];
    o.errmsg_out = par_msg;
    o.errmsg_capacity = sizeof par_msg;
    o.flags = RISK_SNAPSHOT_PARALLEL;
    out = (risk_engine *)(uintptr_t)1;
    tu_assert_status(risk_engine_snapshot_read(&out, d, size, &o), rc);
    assert_null(out);
    if (strcmp(par_msg, msg) != 0)
        print_error("parallel: \"%s\", sequential: \"%s\"\n", par_msg, msg);
    assert_string_equal(par_msg, msg);
    assert_int_equal(ta.live_blocks, 0);
}

/* One value written over a snapshot: `width` bytes (4 or 8) at `at`. */
typedef struct crafted {
    size_t at;
    int width;
    uint64_t value;
} crafted;

/* Each case written over a copy of d, resealed (so that the checksums pass), is refused as
 * corrupt and leaves nothing behind. */
static void expect_each_refused(const unsigned char *d, size_t size, const crafted *cases, size_t n)
{
    unsigned char *w = malloc(size);
    assert_non_null(w);
    for (size_t k = 0; k < n; k++) {
        memcpy(w, d, size);
        if (cases[k].width == 4)
            wr32(w + cases[k].at, (uint32_t)cases[k].value);
        else
            wr64(w + cases[k].at, cases[k].value);
        reseal(w);
        expect_refused(w, size, RISK_ECORRUPT);
    }
    free(w);
}

/* A parallel read (RISK_SNAPSHOT_PARALLEL) finds a repeated account id on its helper thread and
 * everything else on the reading one; it must still report what a sequential read reports first.
 * Two writes per case, resealed: expect_refused compares the two reads' statuses and messages. */
static void test_snapshot_parallel_read_reports_as_sequential(void **state)
{
    (void)state;
    static book b;
    size_t size = 0;
    unsigned char *d = small_snapshot(&b, &size);
    size_t rec[3];
    rec[0] = section_at(d, 5) + 8;
    for (int k = 1; k < 3; k++)
        rec[k] = record_end(d, rec[k - 1]);
    assert_true(rd32(d + rec[1] + 16) > 0); /* the second account has a balance */
    const struct {
        crafted w[2];
        const char *says; /* what the message names */
    } cases[] = {
        /* a repeat found at its record's attach comes before its balances are checked */
        {{{rec[1], 8, rd64(d + rec[0])}, {rec[1] + 32, 4, 99}}, "appears twice"},
        /* ... and after its modes */
        {{{rec[1], 8, rd64(d + rec[0])}, {rec[1] + 8, 4, 7}}, "unknown margin or position mode"},
        /* an earlier record's error comes before a later repeat */
        {{{rec[2], 8, rd64(d + rec[0])}, {rec[1] + 8, 4, 7}}, "unknown margin or position mode"},
        {{{rec[2], 8, rd64(d + rec[1])}, {rec[1] + 32, 4, 99}}, "balance 0 (asset 99)"},
        /* a later record's error comes after an earlier repeat */
        {{{rec[1], 8, rd64(d + rec[0])}, {rec[2] + 8, 4, 7}}, "appears twice"},
    };
    unsigned char *w = malloc(size);
    assert_non_null(w);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memcpy(w, d, size);
        for (int j = 0; j < 2; j++)
            if (cases[k].w[j].width == 4)
                wr32(w + cases[k].w[j].at, (uint32_t)cases[k].w[j].value);
            else
                wr64(w + cases[k].w[j].at, cases[k].w[j].value);
        reseal(w);
        expect_refused(w, size, RISK_ECORRUPT);
        char msg[256];
        risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
        o.flags = RISK_SNAPSHOT_PARALLEL;
        o.errmsg_out = msg;
        o.errmsg_capacity = sizeof msg;
        risk_engine *out = NULL;
        tu_assert_status(risk_engine_snapshot_read(&out, w, size, &o), RISK_ECORRUPT);
        if (!strstr(msg, cases[k].says))
            print_error("case %zu: \"%s\"\n", k, msg);
        assert_non_null(strstr(msg, cases[k].says));
    }
    free(w);
    free(d);
    book_free(&b);
}

static void test_snapshot_refuses_every_truncation(void **state)
{
    (void)state;
    static book b;
    size_t size = 0;
    unsigned char *d = small_snapshot(&b, &size);
    for (size_t len = 0; len < size; len++) {
        unsigned char *cut = malloc(len + 1); /* exactly len bytes readable (ASan checks the reader) */
        memcpy(cut, d, len);
        expect_refused(cut, len, RISK_ECORRUPT);
        free(cut);
    }
    /* one byte too many is refused as well */
    unsigned char *longer = malloc(size + 1);
    memcpy(longer, d, size);
    longer[size] = 0;
    expect_refused(longer, size + 1, RISK_ECORRUPT);
    free(longer);
    print_message("%zu truncations refused\n", size + 1);
    free(d);
    book_free(&b);
}

static void test_snapshot_refuses_every_bit_flip(void **state)
{
    (void)state;
    static book b;
    size_t size = 0;
    unsigned char *d = small_snapshot(&b, &size);
    for (size_t i = 0; i < size; i++)
        for (int bit = 0; bit < 8; bit++) {
            d[i] ^= (unsigned char)(1u << bit);
            expect_refused(d, size, RISK_ECORRUPT);
            d[i] ^= (unsigned char)(1u << bit);
        }
    print_message("%zu bit flips refused\n", size * 8);
    risk_engine *ok = NULL;
    tu_assert_status(risk_engine_snapshot_read(&ok, d, size, NULL), RISK_OK);
    risk_engine_free(ok);
    free(d);
    book_free(&b);
}

static void test_snapshot_refuses_other_format_versions(void **state)
{
    (void)state;
    static book b;
    size_t size = 0;
    unsigned char *d = small_snapshot(&b, &size);
    wr32(d + 8, RISK_SNAPSHOT_FORMAT_VERSION + 1); /* a well-formed snapshot of a later format */
    reseal(d);
    expect_refused(d, size, RISK_EVERSION);
    wr32(d + 8, 0);
    reseal(d);
    expect_refused(d, size, RISK_EVERSION);
    wr32(d + 8, 1); /* format 3 bytes labelled 1 or 2 (sealed again): the new fields break the layout */
    reseal(d);
    expect_refused(d, size, RISK_ECORRUPT);
    wr32(d + 8, 2);
    reseal(d);
    expect_refused(d, size, RISK_ECORRUPT);
    wr32(d + 8, RISK_SNAPSHOT_FORMAT_VERSION);
    reseal(d);
    risk_engine *ok = NULL;
    tu_assert_status(risk_engine_snapshot_read(&ok, d, size, NULL), RISK_OK);
    risk_engine_free(ok);
    d[0] = '{'; /* a JSON book is not a snapshot */
    expect_refused(d, size, RISK_ECORRUPT);
    free(d);
    book_free(&b);
}

/* A crafted rates or size-scaling block behind valid checksums is refused, with the asset named. */
static void test_snapshot_refuses_crafted_rates(void **state)
{
    (void)state;
    static book b;
    size_t size = 0;
    unsigned char *d = small_snapshot(&b, &size);
    unsigned char *w = malloc(size);
    size_t usdt = section_at(d, 2); /* USDT: 80 bytes of record, no tiers, no volatility state */
    size_t rb = usdt + 84;          /* its rates flag, then the block */
    assert_int_equal(rd32(d + usdt + 80), 0);
    assert_int_equal(rd32(d + rb), 1);
    assert_int_equal(rd32(d + rb + 20), RISK_RATE_MODEL_AAVE);
    assert_int_equal(rd32(d + rb + 276), 1); /* USDT's size scaling: borrow-scaled */
    {                                         /* BTCUSDT's size premium after its underlying tick and trading terms */
        uint64_t bits = rd64(d + section_at(d, 3) + 256);
        double imf;
        memcpy(&imf, &bits, sizeof imf);
        tu_assert_bits(imf, 0.002);
    }
    {                                         /* its five numbers zeroed: the flag would say none */
        memcpy(w, d, size);
        memset(w + rb + 280, 0, 40);
        reseal(w);
        expect_refused(w, size, RISK_ECORRUPT);
    }
    crafted cases[] = {
        {rb, 4, 2},                                /* rates flag not 0 or 1 */
        {rb + 4, 8, 0},                            /* supply index 0 */
        {rb + 12, 8, 0x7ff0000000000000ull},       /* borrow index +inf */
        {rb + 20, 4, 9},                           /* unknown model kind */
        {rb + 24, 4, 7},                           /* unknown accrual rule */
        {rb + 32, 4, 2},                           /* started not 0 or 1 */
        {rb + 36, 8, 0x3ff0000000000000ull},       /* reserve factor 1 */
        {rb + 44, 8, 0},                           /* Aave optimal usage 0 */
        {rb + 36 + 24 * 8 + 16, 8, 0xbff0000000000000ull}, /* stable borrow -1 */
        {rb + 36 + 24 * 8 + 32, 8, 0x7ff8000000000000ull}, /* reserves NaN */
        {rb + 276, 4, 2},                          /* size-scaling flag not 0 or 1 */
        {rb + 280, 8, 0x4000000000000000ull},      /* imf 2 (above RISK_IMF_MAX) */
        {rb + 296, 8, 0xbff0000000000000ull},      /* borrow_scale_start -1 */
        {rb + 312, 8, 0x7ff0000000000000ull},      /* venue borrows +inf */
        {section_at(d, 3) + 256, 8, 0x4000000000000000ull}, /* BTCUSDT's size premium imf 2 */
        {section_at(d, 3) + 264, 8, 0x3ff8000000000000ull}, /* its base share 1.5 */
    };
    expect_each_refused(d, size, cases, sizeof cases / sizeof cases[0]);
    char msg[256];
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.errmsg_out = msg;
    o.errmsg_capacity = sizeof msg;
    memcpy(w, d, size);
    wr64(w + rb + 4, 0);
    reseal(w);
    risk_engine *none = NULL;
    tu_assert_status(risk_engine_snapshot_read(&none, w, size, &o), RISK_ECORRUPT);
    assert_null(none);
    assert_non_null(strstr(msg, "section ASSETS: rates of asset 0"));
    free(w);
    free(d);
    book_free(&b);
}

/* Values out of range behind valid checksums (a crafted file) are refused too. */
static void test_snapshot_refuses_crafted_values(void **state)
{
    (void)state;
    static book b;
    size_t size = 0;
    unsigned char *d = small_snapshot(&b, &size);
    unsigned char *w = malloc(size);
    size_t ac = section_at(d, 5) + 8; /* the first account record: the backstop, id 7 */
    size_t rec = ac, pos = 0;
    uint32_t np = 0;
    for (uint64_t k = 0; k < rd64(d + section_at(d, 5)) && !np; k++) { /* the first account with positions */
        np = rd32(d + rec + 24);
        pos = record_positions_at(d, rec); /* its positions: instrument ids first */
        rec = record_end(d, rec);
    }
    assert_true(np > 0);
    size_t odd_pad = 0; /* the padding of the first record with an odd number of balances and leverages */
    for (size_t at = ac, k = 0; k < rd64(d + section_at(d, 5)) && !odd_pad; k++) {
        uint32_t nb = rd32(d + at + 16), nl = rd32(d + at + 20);
        if ((nb + nl) & 1)
            odd_pad = at + 32 + 12 * (size_t)(nb + nl);
        at = record_end(d, at);
    }
    assert_true(odd_pad > 0);
    crafted cases[] = {
        {section_at(d, 1), 4, 8},                  /* unknown engine flag */
        {section_at(d, 1) + 4, 4, 3},              /* valuation asset priced 2000 */
        {section_at(d, 2) + 32, 4, 19},            /* decimals above 18 */
        {ac, 8, 1000 + 3 * 1},                     /* the first account's id repeats the second's */
        {ac + 8, 4, 7},                            /* unknown margin mode */
        {ac + 16, 4, 200},                         /* more balances than assets */
        {ac + 32, 4, 99},                          /* balance of an unknown asset */
        {pos, 4, 99},                              /* position on an unknown instrument */
        {pos + 4 * (size_t)np, 4, 0x10},           /* unknown position flag */
        {pos + 8 * (size_t)np, 8, 0x7ff8000000000000ull}, /* NaN quantity */
        {pos + 8 * (size_t)np, 8, 0},              /* zero quantity */
        {pos + 16 * (size_t)np, 8, 0xbff0000000000000ull}, /* entry -1 */
        {section_at(d, 5), 8, 1000000},            /* more accounts than bytes */
        {odd_pad, 4, 1},                           /* alignment padding not zero (format 3) */
    };
    expect_each_refused(d, size, cases, sizeof cases / sizeof cases[0]);
    free(w);
    free(d);
    book_free(&b);
}

/* Walks the INSTRUMENTS section as docs/snapshot.md lays it out (format 3): the offset of
 * instrument `id`'s record, and of its option block (0 for another kind). */
static size_t instrument_record(const unsigned char *d, uint32_t id, size_t *option_block)
{
    size_t at = section_at(d, 3);
    for (uint32_t k = 0;; k++) {
        uint32_t kind = rd32(d + at + 32), n_tiers = rd32(d + at + 52);
        size_t opt = at + 96 + 40 * (size_t)n_tiers + 8;
        if (k == id) {
            *option_block = kind == RISK_KIND_OPTION ? opt : 0;
            return at;
        }
        at = opt + (kind == RISK_KIND_OPTION ? 32 : 0) + 32 + 16 + 56;
        at += 4 + (rd32(d + at) ? 104 : 0);
    }
}

/* Option fields out of range behind valid checksums are refused, the instrument named. */
static void test_snapshot_refuses_crafted_options(void **state)
{
    (void)state;
    static book b;
    size_t size = 0;
    unsigned char *d = small_snapshot(&b, &size);
    unsigned char *w = malloc(size);
    size_t ob[7], rec[7];
    for (uint32_t k = 0; k < 7; k++)
        rec[k] = instrument_record(d, b.opt[k], &ob[k]);
    assert_int_equal(ob[0] - rec[0], 96 + 8);
    {
        uint64_t bits = rd64(d + ob[0]);
        double strike;
        memcpy(&strike, &bits, sizeof strike);
        tu_assert_bits(strike, 30000.0);
        assert_int_equal(rd32(d + ob[1] + 8), (uint32_t)RISK_OPTION_PUT);
        assert_int_equal(rd32(d + ob[4] + 12), 1); /* settled */
        assert_int_equal(rd32(d + ob[5] + 12), 0); /* expired, not settled */
    }
    uint64_t mark0 = rd64(d + rec[0] + 88);
    crafted cases[] = {
        {section_at(d, 1) + 24, 8, 0},                      /* no engine time, but options */
        {section_at(d, 1) + 24, 8, (1ull << 53) + 1},       /* engine time out of range */
        {rec[0] + 52, 4, 1},                                /* an option with a margin tier */
        {rec[0] + 36, 4, 0},                                /* made linear, yet settled in its underlying */
        {ob[0], 8, 0x7ff8000000000000ull},                  /* strike NaN */
        {ob[0] + 8, 4, 0},                                  /* neither call nor put */
        {ob[0] + 12, 4, 2},                                 /* settled flag 2 */
        {ob[0] + 16, 8, 0x4026000000000000ull},             /* mark vol 11 */
        {ob[0] + 24, 8, 0x4000000000000000ull},             /* carry rate 2 */
        {rec[0] + 88, 8, mark0 + (1ull << 40)},             /* a mark that is not the price of its vol */
        {rec[1] + 88, 8, 0},                                /* a given mark of 0 (below one tick) */
        {ob[4] + 16, 8, 0x3fe0000000000000ull},             /* settled, yet vol-marked */
        {rec[4] + 88, 8, 0xbff0000000000000ull},            /* settlement value -1 */
        {ob[1] + 32 + 32, 8, 0x3f50624dd2f1a9fcull},        /* a size premium on an option */
        {rec[0] + 32, 4, RISK_KIND_FUTURE},                 /* an option's fields on a future */
    };
    expect_each_refused(d, size, cases, sizeof cases / sizeof cases[0]);
    char msg[256];
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.errmsg_out = msg;
    o.errmsg_capacity = sizeof msg;
    memcpy(w, d, size);
    wr64(w + rec[0] + 88, mark0 + (1ull << 40));
    reseal(w);
    risk_engine *none = NULL;
    tu_assert_status(risk_engine_snapshot_read(&none, w, size, &o), RISK_ECORRUPT);
    assert_non_null(strstr(msg, "section INSTRUMENTS: instrument 7: mark"));
    free(w);
    free(d);
    book_free(&b);
}

/* Funding state out of range behind valid checksums is refused (format 3): indices, their clock,
 * the unrealised-PnL weights and their flag, and positions' last indices. */
static size_t funding_block(const unsigned char *d, uint32_t id)
{
    size_t ob = 0, at = instrument_record(d, id, &ob);
    uint32_t n_tiers = rd32(d + at + 52);
    return at + 96 + 40 * (size_t)n_tiers + 8 + (ob ? 32 : 0) + 32 + 16;
}

static void test_snapshot_refuses_crafted_funding(void **state)
{
    (void)state;
    static book b;
    size_t size = 0;
    unsigned char *d = small_snapshot(&b, &size);
    unsigned char *w = malloc(size);
    size_t f0 = funding_block(d, b.inst[0]), f2 = funding_block(d, b.inst[2]), f5 = funding_block(d, b.inst[5]);
    size_t fo = funding_block(d, b.opt[0]);
    { /* the layout as docs/snapshot.md gives it: BTCUSDT's index moved, its weights on */
        uint64_t bits = rd64(d + f0 + 24);
        double wi;
        memcpy(&wi, &bits, sizeof wi);
        tu_assert_bits(wi, 0.5);
        assert_int_equal(rd32(d + f0 + 48), 1);
        assert_true(rd64(d + f0) != 0 && rd64(d + f0 + 16) == FUND_T0 + 28800);
        assert_int_equal(rd32(d + f2 + 48), 0);
        assert_true(rd64(d + f5) == 0 && rd64(d + fo) == 0);
    }
    /* a position on a perpetual and one on another kind: their last funding index */
    size_t at = section_at(d, 5) + 8, perp_last = 0, other_last = 0;
    for (uint64_t k = 0; k < rd64(d + section_at(d, 5)); k++) {
        uint32_t np = rd32(d + at + 24);
        size_t pos = record_positions_at(d, at);
        for (uint32_t i = 0; i < np; i++) {
            uint32_t in = rd32(d + pos + 4 * (size_t)i);
            size_t last = pos + 32 * (size_t)np + 8 * (size_t)i;
            if ((in == b.inst[0] || in == b.inst[1] || in == b.inst[4]) && !perp_last)
                perp_last = last;
            if ((in == b.inst[5] || in >= b.opt[0]) && !other_last)
                other_last = last;
        }
        at = record_end(d, at);
    }
    assert_true(perp_last && other_last);
    crafted cases[] = {
        {f0, 8, 0x7ff8000000000000ull},          /* long index NaN */
        {f0 + 8, 8, 0x7ff0000000000000ull},      /* short index +inf */
        {f0, 8, 0x46293e5939a08cebull},          /* the next double beyond accrual's bound 1e30 */
        {perp_last, 8, 0xc6293e5939a08cebull},   /* a position's last index beyond it, negative */
        {f0 + 16, 8, (uint64_t)-1},              /* funding time before 1970 */
        {f5, 8, 0x3ff0000000000000ull},          /* an index on a future (no accrual) */
        {fo + 8, 8, 0x3ff0000000000000ull},      /* an index on an option */
        {f5 + 16, 8, 5},                         /* a funding time on a future */
        {f0 + 48, 4, 2},                         /* weights flag 2 */
        {f0 + 52, 4, 1},                         /* reserved not 0 */
        {f0 + 24, 8, 0x3fefae147ae147aeull},     /* w_init 0.99 above w_maint 0.95 */
        {f0 + 40, 8, 0x7ff8000000000000ull},     /* imf NaN */
        {f2 + 24, 8, 0x3fe0000000000000ull},     /* weights off, yet w_init 0.5 */
        {f2 + 48, 4, 1},                         /* weights on, yet 1, 1, 0 */
        {fo + 48, 4, 1},                         /* weights on an option (1, 1, 0 too) */
        {perp_last, 8, 0x7ff8000000000000ull},   /* a position's last index NaN */
        {other_last, 8, 0x3ff0000000000000ull},  /* a last index on a future or an option */
    };
    expect_each_refused(d, size, cases, sizeof cases / sizeof cases[0]);
    { /* the bound itself, an index and a last index of exactly +-1e30, is taken */
        memcpy(w, d, size);
        wr64(w + f0, 0x46293e5939a08ceaull);
        wr64(w + perp_last, 0xc6293e5939a08ceaull);
        reseal(w);
        risk_engine *edge = NULL;
        tu_assert_status(risk_engine_snapshot_read(&edge, w, size, NULL), RISK_OK);
        double lo = 0.0, sh = 0.0;
        tu_assert_status(risk_engine_funding_index(edge, b.inst[0], &lo, &sh, NULL), RISK_OK);
        tu_assert_bits(lo, RISK_NOTIONAL_MAX);
        risk_engine_free(edge);
    }
    char msg[256];
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.errmsg_out = msg;
    o.errmsg_capacity = sizeof msg;
    memcpy(w, d, size);
    wr64(w + f0, 0x7ff8000000000000ull);
    reseal(w);
    risk_engine *none = NULL;
    tu_assert_status(risk_engine_snapshot_read(&none, w, size, &o), RISK_ECORRUPT);
    assert_non_null(strstr(msg, "section INSTRUMENTS: instrument 0: funding index"));
    free(w);
    free(d);
    book_free(&b);
}

/* The engine's portfolio-margin model is in the ENGINE section (format 3): an engine with a SPAN
 * model and a portfolio account reads back with the same model and the same summaries, and
 * writes the same bytes; an engine with none writes the flag 0 and the defaults; a flag that is
 * neither 0 nor 1, parameters given with the flag unset, and parameters the setter refuses are
 * refused. */
static void test_snapshot_portfolio_margin(void **state)
{
    (void)state;
    static book b;
    book_build(&b, 4, 5);
    size_t size = 0;
    unsigned char *d = snapshot_of(b.e, &size);
    size_t pm = section_at(d, 1) + 32; /* after flags, valuation, health, counts and time */
    assert_int_equal(rd32(d + pm), 0);
    risk_engine *twin = NULL;
    tu_assert_status(risk_engine_snapshot_read(&twin, d, size, NULL), RISK_OK);
    risk_portfolio_margin_params want = RISK_PORTFOLIO_MARGIN_PARAMS_INIT, got;
    tu_assert_status(risk_engine_portfolio_margin(&got, twin), RISK_OK);
    assert_memory_equal(&got, &want, sizeof got);
    risk_engine_free(twin);
    free(d);

    want.model = RISK_PM_SPAN;
    want.price_range = 0.2;
    want.im_multiplier = 2.0;
    want.extended_weight = 0.35;
    tu_assert_status(risk_engine_set_portfolio_margin(b.e, &want), RISK_OK);
    risk_account *acc = tu_account(b.e, 900001, RISK_MARGIN_PORTFOLIO, RISK_POSITION_ONE_WAY);
    tu_balance(acc, b.usdt, 50000.0);
    (void)tu_open_simple(acc, b.inst[0], 0.5, 30000.0);
    b.accs[b.n++] = acc;
    d = snapshot_of(b.e, &size);
    assert_int_equal(rd32(d + pm), 1);
    twin = NULL;
    tu_assert_status(risk_engine_snapshot_read(&twin, d, size, NULL), RISK_OK);
    tu_assert_status(risk_engine_portfolio_margin(&got, twin), RISK_OK);
    assert_memory_equal(&got, &want, sizeof got);
    assert_same_engine(b.e, twin);
    risk_account *back = NULL;
    tu_assert_status(risk_engine_find_account(twin, 900001, &back), RISK_OK);
    assert_int_equal(risk_account_margin_mode(back), RISK_MARGIN_PORTFOLIO);
    risk_account_summary s1 = tu_eval(acc), s2 = tu_eval(back);
    assert_memory_equal(&s1, &s2, sizeof s1);
    size_t size2 = 0;
    unsigned char *d2 = snapshot_of(twin, &size2);
    assert_int_equal(size2, size);
    assert_memory_equal(d2, d, size);
    free(d2);
    risk_engine_free(twin);

    unsigned char *w = malloc(size);
    crafted cases[] = {
        {pm, 4, 2},                           /* flag 2 */
        {pm + 4, 4, 1},                       /* pad not 0 */
        {pm + 16, 8, 0x3fee666666666667ull},  /* price range one ulp above 0.95 */
        {pm + 12, 4, 7},                      /* unknown model */
        {pm + 16, 8, 0x7ff8000000000000ull},  /* price range NaN */
    };
    expect_each_refused(d, size, cases, sizeof cases / sizeof cases[0]);
    memcpy(w, d, size); /* the flag unset, the fields not the defaults */
    wr32(w + pm, 0);
    reseal(w);
    expect_refused(w, size, RISK_ECORRUPT);
    free(w);
    free(d);
    book_free(&b);
}

static void test_snapshot_null_and_bad_arguments(void **state)
{
    (void)state;
    risk_engine *e = NULL;
    tu_assert_status(risk_engine_new(&e, NULL), RISK_OK);
    size_t size = 0;
    tu_assert_status(risk_engine_snapshot_write(NULL, NULL, 0, &size), RISK_ENULL);
    tu_assert_status(risk_engine_snapshot_write(e, NULL, 0, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_snapshot_write(e, NULL, 10, &size), RISK_ENULL);
    unsigned char small[8];
    tu_assert_status(risk_engine_snapshot_write(e, small, sizeof small, &size), RISK_EBUFFER);
    assert_true(size > sizeof small);
    tu_assert_errmsg(risk_engine_errmsg(e));
    unsigned char *snap = snapshot_of(e, &size);
    risk_engine *out = NULL;
    tu_assert_status(risk_engine_snapshot_read(NULL, snap, size, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_snapshot_read(&out, NULL, 5, NULL), RISK_ENULL);
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.version = 99;
    tu_assert_status(risk_engine_snapshot_read(&out, snap, size, &o), RISK_EVERSION);
    risk_snapshot_options half = RISK_SNAPSHOT_OPTIONS_INIT;
    half.allocator.malloc_fn = tu_allocator(NULL).malloc_fn;
    tu_assert_status(risk_engine_snapshot_read(&out, snap, size, &half), RISK_EINVAL);
    risk_snapshot_options flags = RISK_SNAPSHOT_OPTIONS_INIT;
    flags.flags = 4; /* unknown (1 and 2 are RISK_SNAPSHOT_MAP_IN_PLACE and RISK_SNAPSHOT_PARALLEL) */
    tu_assert_status(risk_engine_snapshot_read(&out, snap, size, &flags), RISK_EINVAL);
    assert_null(out);
    tu_assert_status(risk_engine_snapshot_write_file(NULL, "x"), RISK_ENULL);
    tu_assert_status(risk_engine_snapshot_write_file(e, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_snapshot_write_file(e, ""), RISK_EINVAL);
    tu_assert_status(risk_engine_snapshot_read_file(NULL, "x", NULL), RISK_ENULL);
    tu_assert_status(risk_engine_snapshot_read_file(&out, NULL, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_accounts(NULL, NULL, 0, &size), RISK_ENULL);
    tu_assert_status(risk_engine_accounts(e, NULL, 0, NULL), RISK_ENULL);
    tu_assert_status(risk_account_adopt(NULL), RISK_ENULL);
    uint32_t owned = 0;
    tu_assert_status(risk_account_engine_owned(NULL, &owned), RISK_ENULL);
    free(snap);
    risk_engine_free(e);
}

/* ------------------------------------------------------------------ files */

static char tmp_dir[256];

static void make_tmp_dir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/librisk-snap-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(tmp_dir));
}

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL)
        if (strcmp(ent->d_name, ".") && strcmp(ent->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* The file at path holds exactly the size bytes of snap. */
static void assert_file_holds(const char *path, const unsigned char *snap, size_t size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *file = malloc(size + 1);
    assert_non_null(file);
    assert_int_equal(fread(file, 1, size + 1, f), size);
    fclose(f);
    assert_memory_equal(file, snap, size);
    free(file);
}

static void test_snapshot_file_round_trip_and_atomic_replace(void **state)
{
    (void)state;
    static book b;
    book_build(&b, 60, 5);
    make_tmp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/engine.snap", tmp_dir);
    tu_assert_status(risk_engine_snapshot_write_file(b.e, path), RISK_OK);
    assert_int_equal(dir_entries(tmp_dir), 1); /* no temporary left */
    /* the file holds exactly the buffer snapshot */
    size_t size = 0;
    unsigned char *snap = snapshot_of(b.e, &size);
    assert_file_holds(path, snap, size);
    tu_alloc ta;
    tu_alloc_init(&ta);
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.allocator = tu_allocator(&ta);
    risk_engine *twin = NULL;
    tu_assert_status(risk_engine_snapshot_read_file(&twin, path, &o), RISK_OK);
    assert_same_engine(b.e, twin);
    /* replace the file with a later state: the reader sees the new one */
    tu_mark(b.e, b.inst[3], 0.08);
    tu_assert_status(risk_engine_snapshot_write_file(b.e, path), RISK_OK);
    assert_int_equal(dir_entries(tmp_dir), 1);
    risk_engine *later = NULL;
    tu_assert_status(risk_engine_snapshot_read_file(&later, path, &o), RISK_OK);
    double m = 0.0;
    tu_assert_status(risk_engine_mark(later, b.inst[3], &m), RISK_OK);
    tu_assert_bits(m, 0.08);
    assert_same_engine(b.e, later);
    risk_engine_free(later);
    risk_engine_free(twin);
    assert_int_equal(ta.live_blocks, 0);
    /* a directory that does not exist: RISK_EIO, nothing written */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/missing/engine.snap", tmp_dir);
    tu_assert_status(risk_engine_snapshot_write_file(b.e, bad), RISK_EIO);
    tu_assert_errmsg(risk_engine_errmsg(b.e));
    risk_engine *none = NULL;
    char msg[256];
    risk_snapshot_options om = RISK_SNAPSHOT_OPTIONS_INIT;
    om.errmsg_out = msg;
    om.errmsg_capacity = sizeof msg;
    tu_assert_status(risk_engine_snapshot_read_file(&none, bad, &om), RISK_EIO);
    assert_non_null(strstr(msg, "missing"));
    /* a file that is not a snapshot */
    char book_path[600];
    snprintf(book_path, sizeof book_path, "%s/book.json", tmp_dir);
    FILE *f = fopen(book_path, "w");
    fputs("{\"format\": \"librisk-book/1\"}\n", f);
    fclose(f);
    tu_assert_status(risk_engine_snapshot_read_file(&none, book_path, &om), RISK_ECORRUPT);
    /* an empty file, read through the fallback path */
    f = fopen(book_path, "w");
    fclose(f);
    tu_assert_status(risk_engine_snapshot_read_file(&none, book_path, &om), RISK_ECORRUPT);
    assert_null(none);
    unlink(book_path);
    unlink(path);
    rmdir(tmp_dir);
    free(snap);
    book_free(&b);
}

/* A file of several of the writer's 2 MiB pieces (it writes whole multiples of 2 MiB and moves
 * the rest of its 4 MiB staging buffer to the front, records straddling the pieces): the same
 * bytes as the buffer snapshot, and an engine that reads back as the original, mapped and in
 * place. */
static void test_snapshot_large_file_equals_buffer(void **state)
{
    (void)state;
    static book b;
    book_build(&b, 200, 11);
    /* and 50,000 plain accounts: a USDT balance, BTCUSDT and ETHUSDT positions (about 6.4 MB) */
    enum { MORE = 50000 };
    risk_account **more = malloc(MORE * sizeof *more);
    assert_non_null(more);
    for (uint32_t k = 0; k < MORE; k++) {
        more[k] = tu_account(b.e, 1000000 + k, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(more[k], b.usdt, 1000.0 + k);
        (void)tu_open(more[k], b.inst[0], RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 0.001 * (1 + k % 50), 28000.0 + k % 900,
                      0.0);
        (void)tu_open(more[k], b.inst[1], RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, -0.01 * (1 + k % 70), 2050.0 + k % 90,
                      0.0);
    }
    make_tmp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/large.snap", tmp_dir);
    tu_assert_status(risk_engine_snapshot_write_file(b.e, path), RISK_OK);
    size_t size = 0;
    unsigned char *snap = snapshot_of(b.e, &size);
    assert_true(size > ((size_t)6 << 20)); /* at least two drains and a tail */
    assert_file_holds(path, snap, size);
    /* read back (mapped and copied, or in place; on one thread or two): the restored engine's
     * snapshot is the same bytes, and every account is found by its id */
    for (uint32_t flags = 0; flags < 4; flags++) {
        risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
        o.flags = flags; /* RISK_SNAPSHOT_MAP_IN_PLACE 1, RISK_SNAPSHOT_PARALLEL 2 */
        risk_engine *twin = NULL;
        tu_assert_status(risk_engine_snapshot_read_file(&twin, path, &o), RISK_OK);
        size_t twin_size = 0;
        unsigned char *again = snapshot_of(twin, &twin_size);
        assert_int_equal(twin_size, size);
        assert_memory_equal(again, snap, size);
        for (uint32_t k = 0; k < MORE; k++) {
            risk_account *a = NULL;
            tu_assert_status(risk_engine_find_account(twin, 1000000 + k, &a), RISK_OK);
            assert_true(risk_account_id(a) == 1000000 + k);
        }
        free(again);
        risk_engine_free(twin);
    }
    free(snap);
    unlink(path);
    rmdir(tmp_dir);
    for (uint32_t k = 0; k < MORE; k++)
        risk_account_free(more[k]);
    free(more);
    book_free(&b);
}

/* One change to an account, made the same way on the original and on the restored one. */
static int mutate_account(book *b, risk_engine *e, risk_account *acc, size_t k)
{
    int rc = RISK_OK;
    risk_position *p = NULL;
    size_t n = risk_account_position_count(acc);
    switch (k % 4) {
    case 0: /* a position more: the positions move out of the file to the arena */
        if (risk_account_position_mode(acc) == RISK_POSITION_ONE_WAY &&
            risk_account_find_position(acc, b->inst[0], RISK_SIDE_BOTH, &p) != RISK_OK)
            tu_open(acc, b->inst[0], RISK_SIDE_BOTH, RISK_MARGIN_CROSS, 0.01, 28500.0, 0.0);
        break;
    case 1: /* the first position closed at its instrument's mark: the rest shift in place */
        if (n && risk_account_position_at(acc, 0, &p) == RISK_OK) {
            uint32_t in = risk_position_instrument(p);
            double m = 0.0;
            tu_assert_status(risk_engine_mark(e, in, &m), RISK_OK);
            rc = risk_position_close(p, m); /* may be refused (a mark off the tick, a settled option) */
        }
        break;
    case 2: /* a leverage set: the IM rates of its positions written */
        if (n && risk_account_position_at(acc, 0, &p) == RISK_OK) {
            rc = risk_account_set_leverage(acc, risk_position_instrument(p), 2.0); /* may be refused (an option) */
        }
        break;
    default: /* a balance changed (the account header, not the file) */
        tu_balance(acc, b->usdt, 12345.0);
        break;
    }
    return rc;
}

/* RISK_SNAPSHOT_MAP_IN_PLACE: the restored accounts' positions are the mapped file's arrays. The
 * engine is the same bit for bit, changes (positions opened, closed, leverages, plans,
 * settlement) give the same results as on the original, the file on disk never changes (a
 * private mapping), and the mapping lives until the last adopted account goes. */
static void test_snapshot_file_in_place(void **state)
{
    (void)state;
    static book b;
    book_build(&b, 80, 0x1e5u);
    book_add_rates(&b);
    book_add_options(&b);
    make_tmp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/engine.snap", tmp_dir);
    tu_assert_status(risk_engine_snapshot_write_file(b.e, path), RISK_OK);
    size_t size = 0;
    unsigned char *snap = snapshot_of(b.e, &size);
    tu_alloc ta;
    tu_alloc_init(&ta);
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.allocator = tu_allocator(&ta);
    o.flags = RISK_SNAPSHOT_MAP_IN_PLACE;
    risk_engine *twin = NULL;
    tu_assert_status(risk_engine_snapshot_read_file(&twin, path, &o), RISK_OK);
    assert_true(assert_same_engine(b.e, twin) > 0);
    size_t mem = 0;
    tu_assert_status(risk_engine_memory_bytes(twin, &mem), RISK_OK);
    assert_true(mem > size); /* the mapping is counted */
    size_t size2 = 0;
    unsigned char *again = snapshot_of(twin, &size2);
    assert_int_equal(size, size2);
    assert_memory_equal(snap, again, size);
    free(again);
    /* the same changes on both */
    size_t n = 0;
    tu_assert_status(risk_engine_account_count(twin, &n), RISK_OK);
    risk_account **l = calloc(n, sizeof *l);
    tu_assert_status(risk_engine_accounts(twin, l, n, &n), RISK_OK);
    size_t changed = 0;
    for (size_t k = 0; k < n; k++) {
        risk_account *orig = NULL;
        tu_assert_status(risk_engine_find_account(b.e, risk_account_id(l[k]), &orig), RISK_OK);
        int rc = mutate_account(&b, b.e, orig, k);
        tu_assert_status(mutate_account(&b, twin, l[k], k), rc);
        changed += rc == RISK_OK;
    }
    assert_true(changed > n / 2);
    assert_same_engine(b.e, twin);
    risk_engine *both[2] = {b.e, twin};
    for (int k = 0; k < 2; k++) {
        size_t settled = 0;
        tu_assert_status(risk_engine_settle_expired(both[k], b.opt[5], 28900.0, &settled), RISK_OK);
        tu_price(both[k], b.btc, 26500.0);
    }
    for (size_t k = 0; k < n; k++) {
        risk_account *orig = NULL;
        tu_assert_status(risk_engine_find_account(b.e, risk_account_id(l[k]), &orig), RISK_OK);
        static plan_out p1, p2;
        plan_of(orig, &p1);
        plan_of(l[k], &p2);
        if (p1.rc == RISK_OK && p1.plan.outcome != RISK_PLAN_NONE) {
            tu_assert_status(risk_account_apply_plan(orig, &p1.plan, p1.acts, p1.n), RISK_OK);
            tu_assert_status(risk_account_apply_plan(l[k], &p2.plan, p2.acts, p2.n), RISK_OK);
        }
    }
    assert_same_engine(b.e, twin);
    /* the file is as written */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *file = malloc(size + 1);
    assert_int_equal(fread(file, 1, size + 1, f), size);
    fclose(f);
    assert_memory_equal(file, snap, size);
    free(file);
    /* an adopted account keeps the engine, and its mapping, alive */
    risk_account *kept = l[n - 1];
    risk_account_summary before = tu_eval(kept);
    tu_assert_status(risk_account_adopt(kept), RISK_OK);
    risk_engine_free(twin);
    risk_account_summary after = tu_eval(kept);
    assert_memory_equal(&before, &after, sizeof before);
    risk_account_free(kept);
    assert_int_equal(ta.live_blocks, 0);
    free(l);
    /* a format-2 file is read by copying, the flag notwithstanding */
    FILE *v2 = fopen("tests/data/snapshot-v2.snap", "rb");
    assert_non_null(v2);
    static unsigned char buf[16384];
    size_t nv2 = fread(buf, 1, sizeof buf, v2);
    fclose(v2);
    f = fopen(path, "wb");
    assert_int_equal(fwrite(buf, 1, nv2, f), nv2);
    fclose(f);
    risk_engine *old = NULL;
    tu_assert_status(risk_engine_snapshot_read_file(&old, path, &o), RISK_OK);
    risk_engine_free(old);
    assert_int_equal(ta.live_blocks, 0);
    unlink(path);
    rmdir(tmp_dir);
    free(snap);
    book_free(&b);
}

/* Funding state round trips (format 3): the funding indices and their clock, Drift's
 * unrealised-PnL weights and every position's last index come back, copying and in place,
 * bit for bit (summaries, position results, plans, pending funding), and the restored engines
 * write the same bytes. Then the same future on the original and both twins: funding accrues
 * again, every perpetual position is reduced by a lot (a fill settles its pending funding
 * first: in place, fund_last is the file's column, so nothing is lost), every account settles,
 * and the balances and results agree bit for bit. */
static void test_snapshot_round_trip_funding(void **state)
{
    (void)state;
    static book b;
    book_build(&b, 90, 0xf0d1u);
    book_add_rates(&b);
    book_add_size(&b);
    book_add_options(&b);
    assert_true(book_add_funding(&b) > 5);
    size_t size = 0;
    unsigned char *snap = snapshot_of(b.e, &size);
    make_tmp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/funding.snap", tmp_dir);
    tu_assert_status(risk_engine_snapshot_write_file(b.e, path), RISK_OK);
    tu_alloc ta;
    tu_alloc_init(&ta);
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.allocator = tu_allocator(&ta);
    risk_engine *twin[2] = {NULL, NULL};
    tu_assert_status(risk_engine_snapshot_read(&twin[0], snap, size, &o), RISK_OK);
    o.flags = RISK_SNAPSHOT_MAP_IN_PLACE;
    tu_assert_status(risk_engine_snapshot_read_file(&twin[1], path, &o), RISK_OK);
    size_t mem = 0;
    tu_assert_status(risk_engine_memory_bytes(twin[1], &mem), RISK_OK);
    assert_true(mem > size); /* really in place: the mapping is counted */
    for (int t = 0; t < 2; t++) {
        assert_true(assert_same_engine(b.e, twin[t]) > 0);
        size_t size2 = 0;
        unsigned char *again = snapshot_of(twin[t], &size2);
        assert_int_equal(size, size2);
        assert_memory_equal(snap, again, size);
        free(again);
    }
    /* there is funding to lose: pending on many accounts, of both signs */
    unsigned paying = 0, receiving = 0;
    for (size_t i = 0; i < b.n; i++) {
        double f = 0.0;
        if (b.accs[i] && risk_account_funding_pending(b.accs[i], b.usdt, &f) == RISK_OK)
            paying += f < 0.0, receiving += f > 0.0;
    }
    assert_true(paying > 3 && receiving > 3);
    /* the same future on all three */
    risk_engine *all[3] = {b.e, twin[0], twin[1]};
    const uint32_t perps[3] = {b.inst[0], b.inst[1], b.inst[4]};
    static const double lots[3] = {0.001, 0.01, 1.0};
    for (int k = 0; k < 3; k++)
        for (int t = 0; t < 3; t++)
            tu_assert_status(risk_engine_accrue_funding(all[t], perps[k], 0.0002, -0.0001, 0.0, FUND_T0 + 57600),
                             RISK_OK);
    unsigned reduced = 0;
    for (size_t i = 0; i < b.n; i++) {
        if (!b.accs[i])
            continue;
        risk_account *acc[3] = {b.accs[i], NULL, NULL};
        for (int t = 1; t < 3; t++)
            tu_assert_status(risk_engine_find_account(all[t], risk_account_id(b.accs[i]), &acc[t]), RISK_OK);
        for (size_t j = 0; j < risk_account_position_count(acc[0]); j++) {
            risk_position *p = NULL;
            tu_assert_status(risk_account_position_at(acc[0], j, &p), RISK_OK);
            uint32_t in = risk_position_instrument(p);
            int k = in == perps[0] ? 0 : in == perps[1] ? 1 : in == perps[2] ? 2 : -1;
            double q = risk_position_qty(p), m = 0.0;
            if (k < 0 || fabs(q) <= lots[k] * 1.5)
                continue;
            tu_assert_status(risk_engine_mark(b.e, in, &m), RISK_OK);
            int rc = risk_position_adjust(p, q > 0.0 ? -lots[k] : lots[k], m);
            for (int t = 1; t < 3; t++) {
                risk_position *pt = NULL;
                tu_assert_status(risk_account_position_at(acc[t], j, &pt), RISK_OK);
                tu_assert_status(risk_position_adjust(pt, q > 0.0 ? -lots[k] : lots[k], m), rc);
            }
            reduced += rc == RISK_OK;
        }
        assert_same_account(acc[0], acc[1]);
        assert_same_account(acc[0], acc[2]);
    }
    assert_true(reduced > 10);
    for (size_t i = 0; i < b.n; i++) {
        if (!b.accs[i])
            continue;
        risk_funding_result r[3];
        for (int t = 0; t < 3; t++) {
            risk_account *acc = b.accs[i];
            if (t)
                tu_assert_status(risk_engine_find_account(all[t], risk_account_id(b.accs[i]), &acc), RISK_OK);
            risk_funding_result init = RISK_FUNDING_RESULT_INIT;
            r[t] = init;
            tu_assert_status(risk_account_settle_funding(acc, &r[t]), RISK_OK);
        }
        assert_memory_equal(&r[0], &r[1], sizeof r[0]);
        assert_memory_equal(&r[0], &r[2], sizeof r[0]);
    }
    for (int t = 1; t < 3; t++)
        assert_same_engine(b.e, all[t]);
    for (int t = 1; t < 3; t++)
        risk_engine_free(all[t]);
    assert_int_equal(ta.live_blocks, 0);
    unlink(path);
    rmdir(tmp_dir);
    free(snap);
    book_free(&b);
}

/* ------------------------------------------------------------------ ownership */

static void test_snapshot_accounts_are_the_engines_until_adopted(void **state)
{
    (void)state;
    static book b;
    book_build(&b, 12, 9);
    size_t size = 0;
    unsigned char *snap = snapshot_of(b.e, &size);
    tu_alloc ta;
    tu_alloc_init(&ta);
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.allocator = tu_allocator(&ta);
    risk_engine *twin = NULL;
    tu_assert_status(risk_engine_snapshot_read(&twin, snap, size, &o), RISK_OK);
    size_t n = 0;
    tu_assert_status(risk_engine_accounts(twin, NULL, 0, &n), RISK_EBUFFER);
    assert_int_equal(n, 11); /* 12 made, one freed by the builder */
    risk_account *list[11];
    tu_assert_status(risk_engine_accounts(twin, list, 11, &n), RISK_OK);
    uint32_t owned = 0;
    tu_assert_status(risk_account_engine_owned(list[3], &owned), RISK_OK);
    assert_int_equal(owned, 1);
    tu_assert_status(risk_account_engine_owned(b.accs[3], &owned), RISK_OK);
    assert_int_equal(owned, 0);
    tu_assert_status(risk_account_adopt(b.accs[3]), RISK_ESTATE);
    /* adopt one, free another, then drop the engine: the adopted account keeps it alive */
    risk_account *kept = list[3];
    tu_assert_status(risk_account_adopt(kept), RISK_OK);
    tu_assert_status(risk_account_adopt(kept), RISK_ESTATE);
    uint64_t gone_id = risk_account_id(list[4]);
    risk_account_free(list[4]);
    risk_account *found = NULL;
    tu_assert_status(risk_engine_find_account(twin, gone_id, &found), RISK_ENOTFOUND);
    tu_assert_status(risk_engine_account_count(twin, &n), RISK_OK);
    assert_int_equal(n, 10);
    risk_account_summary before = tu_eval(kept);
    risk_engine_free(twin);
    assert_true(ta.live_blocks > 0);
    risk_account_summary after = tu_eval(kept); /* the engine and its other accounts are still there */
    assert_memory_equal(&before, &after, sizeof before);
    risk_account_free(kept); /* the last reference: everything goes */
    assert_int_equal(ta.live_blocks, 0);
    free(snap);
    book_free(&b);
}

/* ------------------------------------------------------------------ out of memory */

typedef struct oom_fx {
    unsigned char *snap;
    size_t size;
    risk_allocator al;
    risk_engine *out;
} oom_fx;

static unsigned char *oom_snap;
static size_t oom_size;

static void *oom_setup(tu_alloc *a)
{
    oom_fx *fx = calloc(1, sizeof *fx);
    fx->snap = oom_snap;
    fx->size = oom_size;
    fx->al = tu_allocator(a);
    return fx;
}

static int oom_read(void *p)
{
    oom_fx *fx = p;
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.allocator = fx->al;
    return risk_engine_snapshot_read(&fx->out, fx->snap, fx->size, &o);
}

static void oom_failed(void *p)
{
    assert_null(((oom_fx *)p)->out);
}

static void oom_ok(void *p)
{
    assert_non_null(((oom_fx *)p)->out);
}

static void oom_teardown(void *p)
{
    oom_fx *fx = p;
    risk_engine_free(fx->out);
    free(fx);
}

static void test_snapshot_read_out_of_memory_walk(void **state)
{
    (void)state;
    static book b;
    book_build(&b, 6, 21);
    book_add_rates(&b); /* rate models are allocated on the way too */
    oom_snap = snapshot_of(b.e, &oom_size);
    tu_oom_case c = {oom_setup, oom_read, oom_failed, oom_ok, oom_teardown};
    unsigned n = tu_oom_walk(&c);
    print_message("read: %u allocations walked\n", n);
    assert_true(n > 10);
    free(oom_snap);
    book_free(&b);
}

/* The same walk through a file read in place (options included): every failure unmaps the
 * file and frees the side blocks (ASan and the counting allocator check it). */
static char oom_path[600];

static int oom_read_in_place(void *p)
{
    oom_fx *fx = p;
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.allocator = fx->al;
    o.flags = RISK_SNAPSHOT_MAP_IN_PLACE;
    return risk_engine_snapshot_read_file(&fx->out, oom_path, &o);
}

static void test_snapshot_read_in_place_out_of_memory_walk(void **state)
{
    (void)state;
    static book b;
    book_build(&b, 6, 21);
    book_add_options(&b);
    make_tmp_dir();
    snprintf(oom_path, sizeof oom_path, "%s/oom.snap", tmp_dir);
    tu_assert_status(risk_engine_snapshot_write_file(b.e, oom_path), RISK_OK);
    tu_oom_case c = {oom_setup, oom_read_in_place, oom_failed, oom_ok, oom_teardown};
    unsigned n = tu_oom_walk(&c);
    print_message("read in place: %u allocations walked\n", n);
    assert_true(n > 10);
    unlink(oom_path);
    rmdir(tmp_dir);
    book_free(&b);
}

typedef struct oom_wfx {
    book b;
    char path[512];
} oom_wfx;

static void *oom_wsetup(tu_alloc *a)
{
    oom_wfx *fx = calloc(1, sizeof *fx);
    fx->b.a = *a; /* not used: the book keeps its own accounting */
    tu_alloc_init(&fx->b.a);
    fx->b.e = tu_engine(a, 0);
    uint32_t usdt = tu_asset(fx->b.e, "USDT", 1.0, 6);
    risk_account *acc = tu_account(fx->b.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, usdt, 10.0);
    fx->b.accs[0] = acc;
    fx->b.n = 1;
    snprintf(fx->path, sizeof fx->path, "%s/oom.snap", tmp_dir);
    return fx;
}

static int oom_write(void *p)
{
    oom_wfx *fx = p;
    return risk_engine_snapshot_write_file(fx->b.e, fx->path);
}

static void oom_wfailed(void *p)
{
    oom_wfx *fx = p;
    assert_int_equal(dir_entries(tmp_dir), 0);
    (void)fx;
}

static void oom_wteardown(void *p)
{
    oom_wfx *fx = p;
    risk_account_free(fx->b.accs[0]);
    risk_engine_free(fx->b.e);
    unlink(fx->path);
    free(fx);
}

static void test_snapshot_write_file_out_of_memory_walk(void **state)
{
    (void)state;
    make_tmp_dir();
    tu_oom_case c = {oom_wsetup, oom_write, oom_wfailed, NULL, oom_wteardown};
    unsigned n = tu_oom_walk(&c);
    assert_true(n >= 1);
    rmdir(tmp_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_round_trip_random_book),
        cmocka_unit_test(test_snapshot_empty_engine_round_trips),
        cmocka_unit_test(test_snapshot_keeps_engine_options),
        cmocka_unit_test(test_snapshot_layout_matches_the_spec),
        cmocka_unit_test(test_snapshot_parallel_read_reports_as_sequential),
        cmocka_unit_test(test_snapshot_refuses_every_truncation),
        cmocka_unit_test(test_snapshot_refuses_every_bit_flip),
        cmocka_unit_test(test_snapshot_refuses_other_format_versions),
        cmocka_unit_test(test_snapshot_round_trip_rates_and_funding),
        cmocka_unit_test(test_snapshot_reads_format_1),
        cmocka_unit_test(test_snapshot_reads_format_2),
        cmocka_unit_test(test_snapshot_round_trip_options),
        cmocka_unit_test(test_snapshot_restored_leverage_lists_grow_and_free),
        cmocka_unit_test(test_snapshot_refuses_crafted_rates),
        cmocka_unit_test(test_snapshot_refuses_crafted_values),
        cmocka_unit_test(test_snapshot_refuses_crafted_options),
        cmocka_unit_test(test_snapshot_refuses_crafted_funding),
        cmocka_unit_test(test_snapshot_portfolio_margin),
        cmocka_unit_test(test_snapshot_null_and_bad_arguments),
        cmocka_unit_test(test_snapshot_file_round_trip_and_atomic_replace),
        cmocka_unit_test(test_snapshot_large_file_equals_buffer),
        cmocka_unit_test(test_snapshot_file_in_place),
        cmocka_unit_test(test_snapshot_round_trip_funding),
        cmocka_unit_test(test_snapshot_accounts_are_the_engines_until_adopted),
        cmocka_unit_test(test_snapshot_read_out_of_memory_walk),
        cmocka_unit_test(test_snapshot_read_in_place_out_of_memory_walk),
        cmocka_unit_test(test_snapshot_write_file_out_of_memory_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
