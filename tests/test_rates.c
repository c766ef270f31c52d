/* SPDX-License-Identifier: Apache-2.0 */
/* test_rates.c: interest-rate models (Aave v3, Compound v3, Drift, flat hourly), pools and
 * accrual, scaled balances feeding valuation, borrowing costs, invariants on random sequences,
 * funding rates and their settlement, bad input and out-of-memory paths. Formulas and sources: docs/rates.md. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define YEAR_S 31536000.0
#define T0 1704115200 /* 2024-01-01 13:20:00 UTC */

/* ------------------------------------------------------------------ fixtures */

/* Aave v3 test market rateStrategyStableTwo (research/defi-anchors.md A1; aave-v3-core
 * test-suites/rate-strategy.spec.ts, parameters from @aave/deploy-v3): U_opt 80 %, base 0,
 * slopes 4 % / 75 %, stable slopes 2 % / 75 %, base stable offset 2 %, excess stable offset 5 %,
 * optimal stable ratio 20 %, reserve factor 10 %. */
static risk_rate_model aave_a1(void)
{
    risk_rate_model m = RISK_RATE_MODEL_INIT;
    m.kind = RISK_RATE_MODEL_AAVE;
    m.reserve_factor = 0.10;
    m.aave_optimal_usage = 0.80;
    m.aave_base_variable = 0.0;
    m.aave_slope1 = 0.04;
    m.aave_slope2 = 0.75;
    m.aave_stable_slope1 = 0.02;
    m.aave_stable_slope2 = 0.75;
    m.aave_base_stable_offset = 0.02;
    m.aave_excess_stable_offset = 0.05;
    m.aave_optimal_stable_ratio = 0.20;
    return m;
}

/* Comet test/interest-rate-test.ts (research/defi-anchors.md C2): kinks 80 %; supply 0 / 4 % /
 * 40 %; borrow 1 % / 5 % / 30 %. */
static risk_rate_model comet_c2(void)
{
    risk_rate_model m = RISK_RATE_MODEL_INIT;
    m.kind = RISK_RATE_MODEL_COMET;
    m.comet_supply_kink = 0.8;
    m.comet_supply_base = 0.0;
    m.comet_supply_slope_low = 0.04;
    m.comet_supply_slope_high = 0.4;
    m.comet_borrow_kink = 0.8;
    m.comet_borrow_base = 0.01;
    m.comet_borrow_slope_low = 0.05;
    m.comet_borrow_slope_high = 0.3;
    return m;
}

/* Drift controller/spot_balance/tests.rs (research/defi-anchors.md D9 a): optimal 70 %, optimal
 * rate 10 %, max 500 %. */
static risk_rate_model drift_d9(void)
{
    risk_rate_model m = RISK_RATE_MODEL_INIT;
    m.kind = RISK_RATE_MODEL_DRIFT;
    m.drift_optimal_utilisation = 0.7;
    m.drift_optimal_rate = 0.10;
    m.drift_max_rate = 5.0;
    m.reserve_factor = 0.1;
    return m;
}

/* Binance cross margin, W9: 0.001 %/h. */
static risk_rate_model flat_w9(void)
{
    risk_rate_model m = RISK_RATE_MODEL_INIT;
    m.kind = RISK_RATE_MODEL_FLAT;
    m.flat_borrow_hourly = 0.00001;
    m.flat_supply_hourly = 0.000005;
    return m;
}

static risk_rates rates_of(const risk_rate_model *m, double u, double su, double share, double sr)
{
    risk_rates r = RISK_RATES_INIT;
    tu_assert_status(risk_rate_model_rates(&r, m, u, su, share, sr), RISK_OK);
    return r;
}

static risk_basket *new_basket(risk_engine *e)
{
    risk_basket *b = NULL;
    tu_assert_status(risk_basket_new(&b, e), RISK_OK);
    return b;
}

static void move(risk_basket *b, uint32_t asset, double delta)
{
    int rc = risk_basket_pool_transfer(b, asset, delta);
    if (rc != RISK_OK)
        print_error("pool_transfer: %s\n", risk_basket_errmsg(b));
    tu_assert_status(rc, RISK_OK);
}

static double bal(const risk_basket *b, uint32_t asset)
{
    double x = 0.0;
    tu_assert_status(risk_basket_balance(b, asset, &x), RISK_OK);
    return x;
}

static risk_rate_pool pool_of(const risk_engine *e, uint32_t asset)
{
    risk_rate_pool p = RISK_RATE_POOL_INIT;
    tu_assert_status(risk_engine_rate_pool(e, asset, &p), RISK_OK);
    return p;
}

static void set_model(risk_engine *e, uint32_t asset, const risk_rate_model *m)
{
    int rc = risk_engine_set_rate_model(e, asset, m);
    if (rc != RISK_OK)
        print_error("set_rate_model: %s\n", risk_engine_errmsg(e));
    tu_assert_status(rc, RISK_OK);
}

/* ================================================================== rate curves */

/* Aave A1: https://github.com/aave/aave-v3-core/blob/master/test-suites/rate-strategy.spec.ts */
static void test_rates_aave_a1_vectors(void **state)
{
    (void)state;
    risk_rate_model m = aave_a1();
    risk_rates r = rates_of(&m, 0.0, 0.0, 0.0, 0.0); /* empty reserve */
    tu_assert_near(r.borrow_annual, 0.0, 1e-15);
    tu_assert_near(r.stable_borrow_annual, 0.06, 1e-15);
    tu_assert_near(r.supply_annual, 0.0, 1e-15);
    r = rates_of(&m, 0.8, 0.8, 0.0, 0.0); /* optimal usage */
    tu_assert_near(r.borrow_annual, 0.04, 1e-15);
    tu_assert_near(r.stable_borrow_annual, 0.08, 1e-15);
    tu_assert_near(r.supply_annual, 0.04 * 0.8 * 0.9, 1e-15); /* 2.88 % */
    tu_assert_near(r.supply_annual, 0.0288, 1e-15);
    r = rates_of(&m, 1.0, 1.0, 0.0, 0.0); /* full */
    tu_assert_near(r.borrow_annual, 0.79, 1e-15);
    tu_assert_near(r.stable_borrow_annual, 0.83, 1e-15);
    tu_assert_near(r.supply_annual, 0.711, 1e-15);
    r = rates_of(&m, 1.0, 1.0, 0.5, 0.10); /* half the debt stable at 10 % */
    tu_assert_near(r.average_borrow_annual, 0.445, 1e-15);
    tu_assert_near(r.supply_annual, 0.4005, 1e-15);
    tu_assert_near(r.stable_borrow_annual, 0.83 + 0.05 * (0.5 - 0.2) / 0.8, 1e-15); /* 84.875 % */
    tu_assert_near(r.stable_borrow_annual, 0.84875, 1e-15);
    r = rates_of(&m, 0.8, 0.5, 0.0, 0.0); /* 80 % borrow usage, 50 % supply usage (unbacked) */
    tu_assert_near(r.supply_annual, 0.018, 1e-15);
    r = rates_of(&m, 0.008, 0.008, 0.0, 0.0);
    tu_assert_near(r.borrow_annual, 0.0004, 1e-16);
    tu_assert_near(r.supply_annual, 0.0004 * 0.008 * 0.9, 1e-18);
}

/* Comet C2: https://github.com/compound-finance/comet/blob/main/test/interest-rate-test.ts
 * (tolerance there: 1e8 wei per year = 1e-10). */
static void test_rates_comet_c2_vectors(void **state)
{
    (void)state;
    risk_rate_model m = comet_c2();
    risk_rates r = rates_of(&m, 0.1, 0.1, 0.0, 0.0);
    tu_assert_near(r.supply_annual, 0.004, 1e-10);
    tu_assert_near(r.borrow_annual, 0.015, 1e-10);
    r = rates_of(&m, 0.9, 0.9, 0.0, 0.0);
    tu_assert_near(r.supply_annual, 0.072, 1e-10);
    tu_assert_near(r.borrow_annual, 0.08, 1e-10);
    r = rates_of(&m, 0.0, 0.0, 0.0, 0.0);
    tu_assert_near(r.supply_annual, 0.0, 1e-10);
    tu_assert_near(r.borrow_annual, 0.01, 1e-10);
    tu_assert_near(r.average_borrow_annual, r.borrow_annual, 0.0);
    tu_assert_near(r.stable_borrow_annual, 0.0, 0.0);
}

/* Drift D9 (a): https://github.com/drift-labs/protocol-v2 controller/spot_balance/tests.rs:
 * exactly 10 % at 70 %, 500 % at 100 %, monotone, convex, 5 slope changes in 0.5 % steps; the
 * intermediate points are derived from the curve (defi-anchors.md D9). */
static void test_rates_drift_multi_kink(void **state)
{
    (void)state;
    risk_rate_model m = drift_d9();
    const double u[] = {0.0, 0.35, 0.7, 0.85, 0.9, 0.95, 0.99, 0.995, 1.0};
    const double want[] = {0.0, 0.05, 0.10, 0.345, 0.835, 1.57, 2.55, 3.775, 5.0};
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        risk_rates r = rates_of(&m, u[i], u[i], 0.0, 0.0);
        tu_assert_near(r.borrow_annual, want[i], 1e-12);
        tu_assert_near(r.supply_annual, want[i] * u[i] * 0.9, 1e-12); /* deposit rate x (1 - IF factor) */
    }
    double prev_rate = 0.0, prev_slope = NAN;
    int changes = 0;
    for (int i = 0; i <= 200; i++) {
        double x = i * 0.005;
        double rate = rates_of(&m, x, x, 0.0, 0.0).borrow_annual;
        if (i > 0) {
            double slope = (rate - prev_rate) / 0.005;
            assert_true(slope >= 0.0); /* monotone */
            if (i > 1) {
                assert_true(slope >= prev_slope - 1e-9); /* convex */
                changes += fabs(slope - prev_slope) > 1e-6;
            }
            prev_slope = slope;
        }
        prev_rate = rate;
    }
    assert_int_equal(changes, 5);
    m.drift_min_rate = 0.02; /* the floor */
    tu_assert_near(rates_of(&m, 0.1, 0.1, 0.0, 0.0).borrow_annual, 0.02, 0.0);
}

/* ================================================================== accrual */

/* Aave's accrual (MathUtils.sol): linear supply index, three-term compounded borrow index. */
static void test_rates_aave_accrual_factors(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    risk_rate_model m = aave_a1();
    set_model(e, usdc, &m);
    risk_basket *lender = new_basket(e), *borrower = new_basket(e);
    tu_assert_status(risk_engine_accrue(e, T0), RISK_OK); /* starts the clock */
    move(lender, usdc, 1000000.0);
    move(borrower, usdc, -800000.0); /* U = 80 %: variable 4 %, liquidity 2.88 % */
    risk_rates r = RISK_RATES_INIT;
    tu_assert_status(risk_engine_rates(e, usdc, &r), RISK_OK);
    tu_assert_near(r.utilisation, 0.8, 1e-15);
    tu_assert_near(r.borrow_annual, 0.04, 1e-15);
    tu_assert_status(risk_engine_accrue(e, T0 + (int64_t)YEAR_S), RISK_OK);
    risk_rate_pool p = pool_of(e, usdc);
    tu_assert_rel(p.supply_index, 1.0288, 1e-15);
    /* MathUtils.calculateCompoundedInterest(4e25 ray, 31536000 s) in exact ray integers (the
     * Python suite re-implements WadRayMath): 1040810454360354976037888000 / 1e27. Its
     * basePowerThree is truncated to 2 ray units (2.03), hence 1.04081045 where the untruncated
     * three terms give 1.04081067 and exp(0.04) 1.04081077. */
    tu_assert_rel(p.borrow_index, 1.040810454360354976, 4e-16);
    tu_assert_rel(bal(borrower, usdc), -800000.0 * p.borrow_index, 1e-15);
    tu_assert_rel(bal(lender, usdc), 1000000.0 * 1.0288, 1e-15);
    /* reserves = interest paid - interest earned */
    tu_assert_near(p.reserves, 800000.0 * (p.borrow_index - 1.0) - 1000000.0 * (p.supply_index - 1.0), 1e-6);
    risk_basket_free(lender);
    risk_basket_free(borrower);
    risk_engine_free(e);
}

/* Comet accrueInternal: index x (1 + per-second rate x elapsed); continuous as an option. */
static void test_rates_comet_and_continuous_accrual(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    uint32_t dai = tu_asset(e, "DAI", 1.0, 6);
    risk_rate_model m = comet_c2();
    set_model(e, usdc, &m);
    m.accrual = RISK_ACCRUAL_CONTINUOUS;
    set_model(e, dai, &m);
    risk_basket *lender = new_basket(e), *borrower = new_basket(e);
    tu_assert_status(risk_engine_accrue(e, T0), RISK_OK);
    move(lender, usdc, 1000.0);
    move(borrower, usdc, -900.0); /* U 90 %: supply 7.2 %, borrow 8 % */
    move(lender, dai, 1000.0);
    move(borrower, dai, -900.0);
    tu_assert_status(risk_engine_accrue(e, T0 + 86400), RISK_OK);
    risk_rate_pool p = pool_of(e, usdc);
    tu_assert_rel(p.supply_index, 1.0 + 0.072 * 86400.0 / YEAR_S, 1e-15);
    tu_assert_rel(p.borrow_index, 1.0 + 0.08 * 86400.0 / YEAR_S, 1e-15);
    risk_rate_pool q = pool_of(e, dai);
    tu_assert_rel(q.supply_index, exp(0.072 * 86400.0 / YEAR_S), 1e-15);
    tu_assert_rel(q.borrow_index, exp(0.08 * 86400.0 / YEAR_S), 1e-15);
    /* two steps of Comet compound: (1 + r t)^2 > 1 + 2 r t */
    tu_assert_status(risk_engine_accrue(e, T0 + 2 * 86400), RISK_OK);
    p = pool_of(e, usdc);
    assert_true(p.borrow_index > 1.0 + 0.08 * 2 * 86400.0 / YEAR_S);
    risk_basket_free(lender);
    risk_basket_free(borrower);
    risk_engine_free(e);
}

/* Binance W9: 1,000 USDC at 0.001 %/h borrowed at 13:20, repaid at 14:15: 2 hours, 0.02 USDC.
 * https://binance.com/en/support/faq/binance-cross-margin-trading-guide-360041505471 */
static void test_rates_binance_w9_hourly(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    risk_rate_model m = flat_w9();
    set_model(e, usdc, &m);
    risk_basket *lender = new_basket(e), *borrower = new_basket(e);
    tu_assert_status(risk_engine_accrue(e, T0), RISK_OK);
    move(lender, usdc, 100000.0);
    move(borrower, usdc, -1000.0); /* 13:20: the first hour is charged at once */
    tu_assert_near(bal(borrower, usdc), -1000.01, 1e-9);
    tu_assert_status(risk_engine_accrue(e, T0 + 39 * 60), RISK_OK); /* 13:59: no hour passed */
    tu_assert_near(bal(borrower, usdc), -1000.01, 1e-9);
    tu_assert_status(risk_engine_accrue(e, T0 + 55 * 60), RISK_OK); /* 14:15: 14:00 passed */
    double interest = -bal(borrower, usdc) - 1000.0;
    /* 0.02 within 1e-7 (the second hour is charged on 1,000.01: compounding) */
    tu_assert_near(interest, 0.02, 1.5e-7);
    tu_assert_near(interest, 1000.0 * (1.00001 * 1.00001 - 1.0), 1e-10);
    /* the cost over the next hour, projected */
    risk_rate_cost c = RISK_RATE_COST_INIT;
    size_t n = 0;
    tu_assert_status(risk_basket_rate_costs(borrower, 3600.0, &c, 1, &n), RISK_OK);
    assert_int_equal(n, 1);
    tu_assert_near(c.cost_horizon, 1000.0200001 * 0.00001, 1e-10);
    tu_assert_near(c.rate_annual, 0.00001 * 8760.0, 1e-15);
    /* repaying the whole debt clears the balance exactly */
    move(borrower, usdc, -bal(borrower, usdc));
    tu_assert_bits(bal(borrower, usdc), 0.0);
    risk_rate_pool p = pool_of(e, usdc);
    tu_assert_near(p.borrow, 0.0, 1e-9);
    risk_basket_free(lender);
    risk_basket_free(borrower);
    risk_engine_free(e);
}

/* ================================================================== valuation */

typedef struct book {
    risk_engine *e;
    risk_account *acc;
    uint32_t usdt, btc, perp;
} book;

static void book_new(book *b, tu_alloc *a)
{
    b->e = tu_engine(a, 0);
    b->usdt = tu_asset_w(b->e, "USDT", 1.0, 6, 1.0, 1.0, 1.05, 1.02);
    b->btc = tu_asset_w(b->e, "BTC", 50000.0, 8, 0.9, 0.95, 1.1, 1.05);
    b->perp = tu_binance_btcusdt_perp(b->e, "BTCUSDT", b->btc, b->usdt, 50000.0);
    b->acc = tu_account(b->e, 7, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
}

/* A debt accrued through the indices values exactly as the same balance set directly: the
 * summary, liquidation prices, max order and liquidation plan are bit for bit the same. */
static void test_rates_scaled_balances_feed_valuation(void **state)
{
    (void)state;
    tu_alloc a1, a2;
    tu_alloc_init(&a1);
    tu_alloc_init(&a2);
    book x, y;
    book_new(&x, &a1);
    book_new(&y, &a2);
    risk_rate_model m = aave_a1();
    set_model(x.e, x.usdt, &m);
    tu_assert_status(risk_engine_accrue(x.e, T0), RISK_OK);
    risk_basket *lender = new_basket(x.e);
    move(lender, x.usdt, 100000.0);
    risk_basket *bx = risk_account_basket(x.acc);
    move(bx, x.usdt, -60000.0);
    tu_balance(x.acc, x.btc, 1.5);
    tu_open_simple(x.acc, x.perp, 0.5, 48000.0);
    tu_assert_status(risk_engine_accrue(x.e, T0 + (int64_t)YEAR_S), RISK_OK);
    double debt = bal(bx, x.usdt);
    assert_true(debt < -60000.0 * 1.01);
    tu_balance(y.acc, y.usdt, debt);
    tu_balance(y.acc, y.btc, 1.5);
    tu_open_simple(y.acc, y.perp, 0.5, 48000.0);
    for (int round = 0; round < 2; round++) {
        risk_account_summary sx = tu_eval(x.acc), sy = tu_eval(y.acc);
        tu_assert_bits(sx.equity, sy.equity);
        tu_assert_bits(sx.liabilities, sy.liabilities);
        tu_assert_bits(sx.maintenance_margin, sy.maintenance_margin);
        tu_assert_bits(sx.initial_margin, sy.initial_margin);
        tu_assert_bits(sx.health_factor, sy.health_factor);
        tu_assert_bits(sx.available, sy.available);
        risk_position_result rx = tu_result_of(x.acc, x.perp, RISK_SIDE_LONG);
        risk_position_result ry = tu_result_of(y.acc, y.perp, RISK_SIDE_LONG);
        tu_assert_bits(rx.liquidation_price, ry.liquidation_price);
        tu_assert_bits(rx.bankruptcy_price, ry.bankruptcy_price);
        double qx = 0.0, qy = 0.0;
        tu_assert_status(risk_account_max_order_qty(x.acc, x.perp, RISK_SIDE_LONG, RISK_SIDE_BOTH, 0.0, &qx), RISK_OK);
        tu_assert_status(risk_account_max_order_qty(y.acc, y.perp, RISK_SIDE_LONG, RISK_SIDE_BOTH, 0.0, &qy), RISK_OK);
        tu_assert_bits(qx, qy);
        risk_liquidation_plan px = RISK_LIQUIDATION_PLAN_INIT, py = RISK_LIQUIDATION_PLAN_INIT;
        risk_liquidation_action ax[16], ay[16];
        size_t nx = 0, ny = 0;
        tu_assert_status(risk_account_liquidation_plan(x.acc, &px, ax, 16, &nx), RISK_OK);
        tu_assert_status(risk_account_liquidation_plan(y.acc, &py, ay, 16, &ny), RISK_OK);
        assert_int_equal(nx, ny);
        assert_int_equal(px.outcome, py.outcome);
        tu_assert_bits(px.health_after, py.health_after);
        tu_assert_bits(px.equity_after, py.equity_after);
        for (size_t k = 0; k < nx; k++) {
            assert_int_equal(ax[k].type, ay[k].type);
            tu_assert_bits(ax[k].qty, ay[k].qty);
            tu_assert_bits(ax[k].amount, ay[k].amount);
        }
        if (round == 0) { /* then liquidatable: BTC falls */
            tu_price(x.e, x.btc, 30000.0);
            tu_price(y.e, y.btc, 30000.0);
            tu_mark(x.e, x.perp, 30000.0);
            tu_mark(y.e, y.perp, 30000.0);
        } else {
            assert_true(nx > 0);
        }
    }
    risk_basket_free(lender);
    risk_account_free(x.acc);
    risk_account_free(y.acc);
    risk_engine_free(x.e);
    risk_engine_free(y.e);
}

/* Without a rate model nothing changes: the stored amount is the balance, bit for bit. */
static void test_rates_no_model_scaled_is_balance(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    risk_basket *b = new_basket(e);
    tu_assert_status(risk_basket_set_balance(b, usdt, -123.456789), RISK_OK);
    double s = 0.0;
    tu_assert_status(risk_basket_scaled_balance(b, usdt, &s), RISK_OK);
    tu_assert_bits(s, -123.456789);
    tu_assert_status(risk_engine_accrue(e, T0), RISK_OK); /* nothing to accrue */
    tu_assert_bits(bal(b, usdt), -123.456789);
    risk_rate_model none = RISK_RATE_MODEL_INIT;
    tu_assert_status(risk_engine_rate_model(e, usdt, &none), RISK_OK);
    assert_int_equal(none.kind, RISK_RATE_MODEL_NONE);
    risk_rate_pool p = RISK_RATE_POOL_INIT;
    tu_assert_status(risk_engine_rate_pool(e, usdt, &p), RISK_ESTATE);
    tu_assert_status(risk_basket_pool_transfer(b, usdt, 1.0), RISK_ESTATE);
    tu_assert_errmsg(risk_basket_errmsg(b));
    tu_assert_bits(bal(b, usdt), -123.456789);
    risk_basket_free(b);
    risk_engine_free(e);
}

/* ================================================================== costs */

static void test_rates_borrow_costs(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    book x;
    book_new(&x, &a);
    risk_rate_model m = aave_a1();
    set_model(x.e, x.usdt, &m);
    risk_rate_model c = comet_c2();
    set_model(x.e, x.btc, &c);
    tu_assert_status(risk_engine_accrue(x.e, T0), RISK_OK);
    risk_basket *lender = new_basket(x.e);
    move(lender, x.usdt, 100000.0);
    move(lender, x.btc, 10.0);
    risk_basket *b = risk_account_basket(x.acc);
    move(b, x.btc, 2.0);         /* deposit: earns */
    move(b, x.usdt, -80000.0);   /* U 80 %: pays 4 % */
    risk_basket *other = new_basket(x.e);
    move(other, x.btc, -0.4);    /* BTC U = 0.4 / 12 */
    size_t n = 99;
    tu_assert_status(risk_basket_rate_costs(b, YEAR_S, NULL, 0, &n), RISK_EBUFFER);
    assert_int_equal(n, 2);
    risk_rate_cost out[2] = {RISK_RATE_COST_INIT, RISK_RATE_COST_INIT};
    tu_assert_status(risk_basket_rate_costs(b, YEAR_S, out, 1, &n), RISK_EBUFFER);
    tu_assert_errmsg(risk_basket_errmsg(b));
    tu_assert_status(risk_basket_rate_costs(b, YEAR_S, out, 2, &n), RISK_OK);
    assert_int_equal(out[0].asset, x.btc);
    assert_int_equal(out[1].asset, x.usdt);
    double u_btc = 0.4 / 12.0;
    double r_btc = 0.04 * u_btc;
    tu_assert_rel(out[0].rate_annual, r_btc, 1e-14);
    tu_assert_rel(out[0].cost_annual, -2.0 * r_btc, 1e-14); /* earned: negative */
    tu_assert_rel(out[0].cost_horizon, -2.0 * r_btc, 1e-14); /* linear over one step */
    tu_assert_rel(out[0].cost_annual_value, -2.0 * r_btc * 50000.0, 1e-14);
    tu_assert_rel(out[1].rate_annual, 0.04, 1e-15);
    tu_assert_rel(out[1].cost_annual, 3200.0, 1e-14);
    tu_assert_rel(out[1].cost_horizon, 80000.0 * 0.040810454360354976, 1e-13); /* Aave-compounded */
    /* the projection equals the accrual it projects */
    tu_assert_status(risk_engine_accrue(x.e, T0 + (int64_t)YEAR_S), RISK_OK);
    tu_assert_rel(-bal(b, x.usdt) - 80000.0, out[1].cost_horizon, 1e-11);
    tu_assert_status(risk_basket_rate_costs(b, -1.0, out, 2, &n), RISK_EINVAL);
    out[0].version = 99;
    tu_assert_status(risk_basket_rate_costs(b, 0.0, out, 2, &n), RISK_EVERSION);
    tu_assert_status(risk_basket_rate_costs(b, 0.0, out, 2, NULL), RISK_ENULL);
    risk_basket_free(lender);
    risk_basket_free(other);
    risk_account_free(x.acc);
    risk_engine_free(x.e);
}

/* ================================================================== invariants */

/* Random deposits, withdrawals, borrows, repays and accruals on N baskets (fixed seed): after
 * every step, the pool's borrow = sum of debts and its supply = sum of deposits (within quanta),
 * and supply + reserves - borrow = the cash the moves brought in (no interest created or lost). */
static void run_invariants(const risk_rate_model *m, uint64_t seed)
{
    enum { N = 12, STEPS = 3000 };
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    set_model(e, usdc, m);
    risk_basket *b[N];
    for (int i = 0; i < N; i++)
        b[i] = new_basket(e);
    tu_rng rng;
    tu_rng_seed(&rng, seed);
    int64_t now = T0;
    tu_assert_status(risk_engine_accrue(e, now), RISK_OK);
    double cash = 0.0;
    int refused = 0;
    for (int step = 0; step < STEPS; step++) {
        int op = tu_rng_int(&rng, 0, 9);
        if (op == 0) {
            now += tu_rng_int(&rng, 0, 86400 * 3);
            tu_assert_status(risk_engine_accrue(e, now), RISK_OK);
        } else {
            int i = tu_rng_int(&rng, 0, N - 1);
            double have = bal(b[i], usdc);
            double delta;
            switch (op % 4) {
            case 0: /* repay or withdraw all */
                delta = -have;
                break;
            case 1: /* deposit */
                delta = (double)tu_rng_int(&rng, 1, 1000000) / 100.0;
                break;
            default: /* withdraw or borrow */
                delta = -(double)tu_rng_int(&rng, 1, 1000000) / 100.0;
                break;
            }
            risk_rate_pool before = pool_of(e, usdc);
            int rc = risk_basket_pool_transfer(b[i], usdc, delta);
            if (rc == RISK_ELIMIT) { /* beyond the pool's cash: nothing changed */
                refused++;
                risk_rate_pool after = pool_of(e, usdc);
                assert_memory_equal(&before, &after, sizeof before);
                tu_assert_bits(bal(b[i], usdc), have);
                continue;
            }
            tu_assert_status(rc, RISK_OK);
            cash += delta;
        }
        double deposits = 0.0, debts = 0.0;
        for (int i = 0; i < N; i++) {
            double x = bal(b[i], usdc);
            if (x > 0.0)
                deposits += x;
            else
                debts -= x;
        }
        risk_rate_pool p = pool_of(e, usdc);
        double tol = 1e-6 * (1.0 + (deposits + debts) * 1e-9); /* a quantum, and 1e-15 per unit moved */
        tu_assert_near(p.borrow, debts, tol);
        tu_assert_near(p.supply, deposits, tol);
        tu_assert_near(p.supply + p.reserves - p.borrow - p.stable_borrow, cash, tol + fabs(cash) * 1e-12);
        assert_true(p.supply + p.reserves - p.borrow > -1e-6); /* no overdraft */
    }
    assert_true(refused > 0); /* the cash limit was exercised */
    risk_rate_pool p = pool_of(e, usdc);
    assert_true(p.borrow_index > 1.0);
    for (int i = 0; i < N; i++)
        risk_basket_free(b[i]);
    risk_engine_free(e);
}

static void test_rates_invariants_random(void **state)
{
    (void)state;
    risk_rate_model m = aave_a1();
    run_invariants(&m, 1);
    m = comet_c2();
    run_invariants(&m, 2);
    m.accrual = RISK_ACCRUAL_CONTINUOUS;
    run_invariants(&m, 3);
    m = drift_d9();
    run_invariants(&m, 4);
    m = flat_w9();
    run_invariants(&m, 5);
}

/* Reserves are what debts paid minus what deposits earned, for Aave with stable debt too. */
static void test_rates_aave_stable_pool(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t dai = tu_asset(e, "DAI", 1.0, 6);
    risk_rate_model m = aave_a1();
    set_model(e, dai, &m);
    risk_rate_pool p = RISK_RATE_POOL_INIT;
    p.supply = 1000.0;
    p.borrow = 500.0;
    p.stable_borrow = 500.0;
    p.stable_rate_annual = 0.10;
    p.updated_unix_s = T0;
    tu_assert_status(risk_engine_set_rate_pool(e, dai, &p), RISK_OK);
    risk_rates r = RISK_RATES_INIT;
    tu_assert_status(risk_engine_rates(e, dai, &r), RISK_OK); /* A1 mixed: U 100 %, half stable */
    tu_assert_near(r.average_borrow_annual, 0.445, 1e-15);
    tu_assert_near(r.supply_annual, 0.4005, 1e-15);
    tu_assert_near(r.stable_borrow_annual, 0.84875, 1e-15);
    tu_assert_status(risk_engine_accrue(e, T0 + 3600), RISK_OK);
    risk_rate_pool q = pool_of(e, dai);
    double cash0 = 1000.0 - 1000.0;
    tu_assert_near(q.supply + q.reserves - q.borrow - q.stable_borrow, cash0, 1e-9);
    assert_true(q.stable_borrow > 500.0 && q.reserves > 0.0);
    risk_engine_free(e);
}

/* ================================================================== bad input */

static void test_rates_bad_input_changes_nothing(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    risk_rate_model good = aave_a1();
    set_model(e, usdc, &good);
    risk_rate_model c = comet_c2();
    set_model(e, btc, &c);
    risk_basket *lender = new_basket(e), *b = new_basket(e);
    tu_assert_status(risk_engine_accrue(e, T0), RISK_OK);
    move(lender, usdc, 1000.0);
    move(b, usdc, -500.0);
    move(lender, btc, 1.0);
    tu_assert_status(risk_engine_accrue(e, T0 + 100), RISK_OK);
    risk_rate_pool p0 = pool_of(e, usdc), q0 = pool_of(e, btc);
    double b0 = bal(b, usdc);
    size_t mem0 = 0, mem1 = 0;
    tu_assert_status(risk_engine_set_rate_model(e, 99, &good), RISK_ENOTFOUND); /* (the message's buffer) */
    tu_assert_status(risk_engine_memory_bytes(e, &mem0), RISK_OK);

    /* models */
    risk_rate_model m = good;
    m.aave_slope2 = NAN;
    tu_assert_status(risk_engine_set_rate_model(e, usdc, &m), RISK_EINVAL);
    tu_assert_errmsg(risk_engine_errmsg(e));
    m = good;
    m.aave_slope1 = -0.01;
    tu_assert_status(risk_engine_set_rate_model(e, usdc, &m), RISK_EINVAL);
    m = good;
    m.aave_optimal_usage = 1.0;
    tu_assert_status(risk_engine_set_rate_model(e, usdc, &m), RISK_EINVAL);
    m = good;
    m.reserve_factor = 1.0;
    tu_assert_status(risk_engine_set_rate_model(e, usdc, &m), RISK_EINVAL);
    m = good;
    m.kind = 77;
    tu_assert_status(risk_engine_set_rate_model(e, usdc, &m), RISK_EINVAL);
    m = good;
    m.accrual = 77;
    tu_assert_status(risk_engine_set_rate_model(e, usdc, &m), RISK_EINVAL);
    m = good;
    m.version = 0;
    tu_assert_status(risk_engine_set_rate_model(e, usdc, &m), RISK_EVERSION);
    m = comet_c2();
    m.comet_borrow_kink = 1.5;
    tu_assert_status(risk_engine_set_rate_model(e, usdc, &m), RISK_EINVAL);
    m = drift_d9();
    m.drift_optimal_utilisation = 0.9;
    tu_assert_status(risk_engine_set_rate_model(e, usdc, &m), RISK_EINVAL);
    m = drift_d9();
    m.drift_max_rate = 0.05;
    tu_assert_status(risk_engine_set_rate_model(e, usdc, &m), RISK_EINVAL);
    tu_assert_status(risk_engine_set_rate_model(e, 99, &good), RISK_ENOTFOUND);
    tu_assert_status(risk_engine_set_rate_model(e, usdc, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_set_rate_model(NULL, usdc, &good), RISK_ENULL);
    risk_rate_model got = RISK_RATE_MODEL_INIT;
    tu_assert_status(risk_engine_rate_model(e, usdc, &got), RISK_OK);
    assert_memory_equal(&got, &good, sizeof got);

    /* the pure function */
    risk_rates r = RISK_RATES_INIT;
    tu_assert_status(risk_rate_model_rates(&r, &good, 1.1, 0.5, 0.0, 0.0), RISK_EINVAL);
    tu_assert_status(risk_rate_model_rates(&r, &good, 0.5, 0.6, 0.0, 0.0), RISK_EINVAL);
    tu_assert_status(risk_rate_model_rates(&r, &good, NAN, 0.0, 0.0, 0.0), RISK_EINVAL);
    tu_assert_status(risk_rate_model_rates(&r, &good, 0.5, 0.5, 2.0, 0.0), RISK_EINVAL);
    tu_assert_status(risk_rate_model_rates(NULL, &good, 0.5, 0.5, 0.0, 0.0), RISK_ENULL);
    r.version = 5;
    tu_assert_status(risk_rate_model_rates(&r, &good, 0.5, 0.5, 0.0, 0.0), RISK_EVERSION);

    /* pools */
    risk_rate_pool bad = p0;
    bad.supply = -1.0;
    tu_assert_status(risk_engine_set_rate_pool(e, usdc, &bad), RISK_EINVAL);
    bad = p0;
    bad.borrow_index = 0.0;
    tu_assert_status(risk_engine_set_rate_pool(e, usdc, &bad), RISK_EINVAL);
    bad = p0;
    bad.reserves = INFINITY;
    tu_assert_status(risk_engine_set_rate_pool(e, usdc, &bad), RISK_EINVAL);
    bad = p0;
    bad.version = 3;
    tu_assert_status(risk_engine_set_rate_pool(e, usdc, &bad), RISK_EVERSION);
    risk_rate_pool out = RISK_RATE_POOL_INIT;
    out.version = 3;
    tu_assert_status(risk_engine_rate_pool(e, usdc, &out), RISK_EVERSION);

    /* accrual back in time: refused before any pool moves (BTC would have accrued) */
    tu_assert_status(risk_engine_accrue(e, T0 + 50), RISK_EINVAL);
    tu_assert_errmsg(risk_engine_errmsg(e));
    /* transfers */
    tu_assert_status(risk_basket_pool_transfer(b, usdc, NAN), RISK_EINVAL);
    tu_assert_status(risk_basket_pool_transfer(b, usdc, -1e6), RISK_ELIMIT); /* beyond the cash */
    tu_assert_errmsg(risk_basket_errmsg(b));
    tu_assert_status(risk_basket_pool_transfer(b, 99, 1.0), RISK_ENOTFOUND);
    tu_assert_status(risk_basket_pool_transfer(NULL, usdc, 1.0), RISK_ENULL);
    tu_assert_status(risk_basket_pool_transfer(b, usdc, -1e308), RISK_EINVAL); /* outside the amount domain */
    tu_assert_status(risk_basket_pool_transfer(b, usdc, 1e308), RISK_EINVAL); /* outside the amount domain */
    tu_assert_status(risk_basket_pool_transfer(b, usdc, 1e10), RISK_EINVAL);  /* 2^53 quanta of USDC: 9.007e9 */

    risk_rate_pool p1 = pool_of(e, usdc), q1 = pool_of(e, btc);
    assert_memory_equal(&p0, &p1, sizeof p0);
    assert_memory_equal(&q0, &q1, sizeof q0);
    tu_assert_bits(bal(b, usdc), b0);
    tu_assert_status(risk_engine_memory_bytes(e, &mem1), RISK_OK);
    assert_int_equal(mem0, mem1);
    risk_basket_free(lender);
    risk_basket_free(b);
    risk_engine_free(e);
}

/* ================================================================== out of memory */

typedef struct oom_fx {
    risk_engine *e;
    risk_basket *b, *lender;
    uint32_t usdc, other[3];
} oom_fx;

static void *oom_setup(tu_alloc *a)
{
    oom_fx *f = test_malloc(sizeof *f);
    f->e = tu_engine(a, 0);
    f->usdc = tu_asset(f->e, "USDC", 1.0, 6);
    for (int i = 0; i < 3; i++) {
        char sym[8];
        snprintf(sym, sizeof sym, "A%d", i);
        f->other[i] = tu_asset(f->e, sym, 2.0, 6);
    }
    f->b = new_basket(f->e);
    f->lender = NULL;
    return f;
}

static void oom_teardown(void *p)
{
    oom_fx *f = p;
    risk_basket_free(f->b);
    risk_basket_free(f->lender);
    risk_engine_free(f->e);
    test_free(f);
}

static int oom_model_op(void *p)
{
    oom_fx *f = p;
    risk_rate_model m = aave_a1();
    return risk_engine_set_rate_model(f->e, f->usdc, &m);
}

static void oom_model_failed(void *p)
{
    oom_fx *f = p;
    risk_rate_model m = RISK_RATE_MODEL_INIT;
    tu_assert_status(risk_engine_rate_model(f->e, f->usdc, &m), RISK_OK);
    assert_int_equal(m.kind, RISK_RATE_MODEL_NONE);
    risk_rate_pool pool = RISK_RATE_POOL_INIT;
    tu_assert_status(risk_engine_rate_pool(f->e, f->usdc, &pool), RISK_ESTATE);
}

static void oom_model_ok(void *p)
{
    oom_fx *f = p;
    risk_rate_pool pool = pool_of(f->e, f->usdc);
    tu_assert_bits(pool.supply_index, 1.0);
}

/* A deposit that grows the basket past its inline room. */
static void *oom_move_setup(tu_alloc *a)
{
    oom_fx *f = oom_setup(a);
    risk_rate_model m = comet_c2();
    set_model(f->e, f->usdc, &m);
    tu_assert_status(risk_engine_accrue(f->e, T0), RISK_OK);
    for (int i = 0; i < 2; i++)
        tu_assert_status(risk_basket_set_balance(f->b, f->other[i], 1.0), RISK_OK);
    return f;
}

static int oom_move_op(void *p)
{
    oom_fx *f = p;
    return risk_basket_pool_transfer(f->b, f->usdc, 250.0);
}

static void oom_move_failed(void *p)
{
    oom_fx *f = p;
    tu_assert_bits(bal(f->b, f->usdc), 0.0);
    risk_rate_pool pool = pool_of(f->e, f->usdc);
    tu_assert_bits(pool.supply, 0.0);
    tu_assert_bits(bal(f->b, f->other[1]), 1.0);
}

static void oom_move_ok(void *p)
{
    oom_fx *f = p;
    tu_assert_bits(bal(f->b, f->usdc), 250.0);
    tu_assert_bits(pool_of(f->e, f->usdc).supply, 250.0);
}

static void test_rates_out_of_memory(void **state)
{
    (void)state;
    tu_oom_case c = {oom_setup, oom_model_op, oom_model_failed, oom_model_ok, oom_teardown};
    assert_true(tu_oom_walk(&c) >= 1);
    tu_oom_case d = {oom_move_setup, oom_move_op, oom_move_failed, oom_move_ok, oom_teardown};
    assert_true(tu_oom_walk(&d) >= 1);
}

/* RISK_RATE_MODEL_NONE stops accrual: no interest for the time it is off. */
static void test_rates_model_none_stops_accrual(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdc = tu_asset(e, "USDC", 1.0, 6);
    risk_rate_model m = comet_c2();
    set_model(e, usdc, &m);
    risk_basket *lender = new_basket(e), *b = new_basket(e);
    tu_assert_status(risk_engine_accrue(e, T0), RISK_OK);
    move(lender, usdc, 1000.0);
    move(b, usdc, -100.0);
    risk_rate_model off = RISK_RATE_MODEL_INIT;
    set_model(e, usdc, &off);
    tu_assert_status(risk_engine_accrue(e, T0 + 86400), RISK_OK);
    tu_assert_bits(bal(b, usdc), -100.0);
    set_model(e, usdc, &m);
    tu_assert_status(risk_engine_accrue(e, T0 + 2 * 86400), RISK_OK); /* one day, not two */
    tu_assert_rel(bal(b, usdc), -100.0 * (1.0 + (0.01 + 0.05 * 0.1) * 86400.0 / YEAR_S), 1e-15);
    risk_basket_free(lender);
    risk_basket_free(b);
    risk_engine_free(e);
}

/* ================================================================== funding */

/* Binance funding: F = P + clamp(I - P, -0.05 %, 0.05 %), I = 0.01 % per 8 h (research/
 * cex-anchors.md 1.7, https://www.binance.com/en/square/post/588537); values derived. */
static void test_rates_funding_binance_formula(void **state)
{
    (void)state;
    const double I = 0.0001, c = 0.0005;
    const double P[] = {0.0003, 0.00005, 0.001, -0.001, -0.0002, 0.0};
    const double want[] = {0.0001, 0.0001, 0.0005, -0.0005, 0.0001, 0.0001};
    for (size_t i = 0; i < sizeof P / sizeof P[0]; i++) {
        double f = NAN;
        tu_assert_status(risk_funding_rate_binance(&f, P[i], I, c, 0.0), RISK_OK);
        tu_assert_near(f, want[i], 1e-18);
    }
    double f = 0.0;
    tu_assert_status(risk_funding_rate_binance(&f, 0.01, I, c, 0.003), RISK_OK); /* capped */
    tu_assert_near(f, 0.003, 0.0);
    tu_assert_status(risk_funding_rate_binance(&f, -0.01, I, c, 0.003), RISK_OK);
    tu_assert_near(f, -0.003, 0.0);
    tu_assert_status(risk_funding_rate_binance(NULL, 0.0, I, c, 0.0), RISK_ENULL);
    tu_assert_status(risk_funding_rate_binance(&f, NAN, I, c, 0.0), RISK_EINVAL);
    tu_assert_status(risk_funding_rate_binance(&f, 0.0, I, -c, 0.0), RISK_EINVAL);
    tu_assert_status(risk_funding_rate_binance(&f, 0.0, I, c, -1.0), RISK_EINVAL);
}

/* Drift D8 (protocol-v2 math/funding/tests.rs max_funding_rates; defi-anchors.md 3.1): oracle
 * TWAP $49: the default tier's largest spread is $4.90 (49 / 10), tier B's $1.484848 (49 / 33).
 * The rest is derived from the formula (controller/funding.rs). */
static void test_rates_funding_drift_formula(void **state)
{
    (void)state;
    double f = 0.0;
    /* a mark far above: clamped; hourly funding is the day's spread / 24 */
    tu_assert_status(risk_funding_rate_drift(&f, 100.0, 49.0, 3600.0, 10.0, 0.0, 0.0), RISK_OK);
    tu_assert_rel(f * 49.0 * 24.0, 4.9, 1e-15);
    tu_assert_status(risk_funding_rate_drift(&f, 100.0, 49.0, 3600.0, 33.0, 0.0, 0.0), RISK_OK);
    tu_assert_rel(f * 49.0 * 24.0, 1.484848484848485, 1e-15);
    tu_assert_status(risk_funding_rate_drift(&f, 1.0, 49.0, 3600.0, 33.0, 0.0, 0.0), RISK_OK); /* far below */
    tu_assert_rel(f * 49.0 * 24.0, -1.484848484848485, 1e-15);
    /* inside the clamp, with the 5000 offset: (101 - 100 + 0.02) / 24 per hour, / 100 */
    tu_assert_status(risk_funding_rate_drift(&f, 101.0, 100.0, 3600.0, 10.0, 5000.0, 0.0), RISK_OK);
    tu_assert_rel(f, 1.02 / 24.0 / 100.0, 1e-15);
    /* the offset alone is 7.3 %/year with hourly funding (365 x 24 x 1/5000 / 24) */
    tu_assert_status(risk_funding_rate_drift(&f, 100.0, 100.0, 3600.0, 10.0, 5000.0, 0.0), RISK_OK);
    tu_assert_rel(f * 24.0 * 365.0, 0.073, 1e-14);
    /* dead zone 0.05 %: a spread of 0.04 counts as 0 */
    tu_assert_status(risk_funding_rate_drift(&f, 100.04, 100.0, 3600.0, 10.0, 3333.0, 2000.0), RISK_OK);
    tu_assert_rel(f, 100.0 / 3333.0 / 24.0 / 100.0, 1e-15);
    /* 8-hour periods: the day's spread / 3 */
    tu_assert_status(risk_funding_rate_drift(&f, 101.0, 100.0, 8.0 * 3600.0, 10.0, 0.0, 0.0), RISK_OK);
    tu_assert_rel(f, 1.0 / 3.0 / 100.0, 1e-15);
    tu_assert_status(risk_funding_rate_drift(NULL, 101.0, 100.0, 3600.0, 10.0, 0.0, 0.0), RISK_ENULL);
    tu_assert_status(risk_funding_rate_drift(&f, 0.0, 100.0, 3600.0, 10.0, 0.0, 0.0), RISK_EINVAL);
    tu_assert_status(risk_funding_rate_drift(&f, 101.0, 100.0, 0.0, 10.0, 0.0, 0.0), RISK_EINVAL);
    tu_assert_status(risk_funding_rate_drift(&f, 101.0, 100.0, 3600.0, 0.0, 0.0, 0.0), RISK_EINVAL);
    tu_assert_status(risk_funding_rate_drift(&f, 101.0, 100.0, 3600.0, 10.0, -1.0, 0.0), RISK_EINVAL);
}

static double iso_margin_of(risk_account *acc, uint32_t inst, uint32_t side)
{
    risk_position *p = NULL;
    tu_assert_status(risk_account_find_position(acc, inst, side, &p), RISK_OK);
    return risk_position_isolated_margin(p);
}

/* Longs pay, shorts receive a positive rate: cross from the settle balance, isolated from the
 * margin (then the balance), hedge legs each by their sign, inverse in the base coin. */
static void test_rates_funding_settlement(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e = tu_engine(&al, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), btc = tu_asset(e, "BTC", 50000.0, 8);
    uint32_t perp = tu_binance_btcusdt_perp(e, "BTCUSDT", btc, usdt, 50000.0);
    risk_margin_tier t[1] = {tu_tier(1e9, 0.005, 100)};
    uint32_t inv = tu_inverse(e, "BTCUSD", btc, 100.0, 1.0, 0.5, 50000.0, t, 1);
    risk_account *a = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_account *b = tu_account(e, 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_account *c = tu_account(e, 3, RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY);
    risk_account *d = tu_account(e, 4, RISK_MARGIN_CROSS, RISK_POSITION_HEDGE);
    tu_balance(a, usdt, 10000.0);
    tu_open_simple(a, perp, 0.5, 48000.0);
    tu_open_simple(a, inv, 10.0, 50000.0); /* 10 contracts of 100 USD */
    tu_balance(b, usdt, 10000.0);
    tu_open_simple(b, perp, -0.5, 52000.0);
    tu_open(c, perp, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, 0.2, 50000.0, 1000.0);
    tu_open(d, perp, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, 0.1, 50000.0, 0.0);
    tu_open(d, perp, RISK_SIDE_SHORT, RISK_MARGIN_DEFAULT, 0.3, 50000.0, 0.0);
    risk_funding_result r = RISK_FUNDING_RESULT_INIT;
    tu_assert_status(risk_engine_settle_funding(e, perp, 0.0001, 0.0, &r), RISK_OK);
    assert_int_equal(r.n_positions, 5);
    tu_assert_near(r.paid, 2.5 + 1.0 + 0.5, 1e-9);
    tu_assert_near(r.received, 2.5 + 1.5, 1e-9);
    tu_assert_near(bal(risk_account_basket(a), usdt), 9997.5, 1e-9);
    tu_assert_near(bal(risk_account_basket(b), usdt), 10002.5, 1e-9);
    tu_assert_near(iso_margin_of(c, perp, RISK_SIDE_BOTH), 999.0, 1e-9);
    tu_assert_bits(bal(risk_account_basket(c), usdt), 0.0);
    tu_assert_near(bal(risk_account_basket(d), usdt), 1.0, 1e-9); /* -0.5 + 1.5 */
    /* inverse: 10 x 100 / 50,000 x 0.0001 = 2e-6 BTC, at a price given */
    tu_assert_status(risk_engine_settle_funding(e, inv, 0.0001, 50000.0, NULL), RISK_OK);
    tu_assert_near(bal(risk_account_basket(a), btc), -2e-6, 1e-15);
    /* quantized against the account: 3.075e-6 paid as 4e-6, received as 3e-6 */
    tu_assert_status(risk_engine_settle_funding(e, perp, 1.23e-10, 0.0, &r), RISK_OK);
    tu_assert_near(bal(risk_account_basket(a), usdt), 9997.5 - 4e-6, 1e-9);
    tu_assert_near(bal(risk_account_basket(b), usdt), 10002.5 + 3e-6, 1e-9);
    /* an isolated margin too small: the rest from the settle balance */
    tu_assert_status(risk_engine_settle_funding(e, perp, 0.1, 0.0, &r), RISK_OK); /* pays 1,000 */
    tu_assert_bits(iso_margin_of(c, perp, RISK_SIDE_BOTH), 0.0);
    tu_assert_near(bal(risk_account_basket(c), usdt), -(1000.0 - (999.0 - 0.000002)), 1e-9); /* 1.23e-6 paid as 2e-6 */
    risk_account_free(a);
    risk_account_free(b);
    risk_account_free(c);
    risk_account_free(d);
    risk_engine_free(e);
}

static void test_rates_funding_bad_input_changes_nothing(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e = tu_engine(&al, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6), btc = tu_asset(e, "BTC", 50000.0, 8);
    uint32_t perp = tu_binance_btcusdt_perp(e, "BTCUSDT", btc, usdt, 50000.0);
    risk_instrument_spec fs = tu_linear_spec("BTC0327", btc, usdt, 1.0, 0.001, 0.1, 50000.0, tu_binance_btcusdt,
                                             TU_BINANCE_BTCUSDT_TIERS);
    fs.kind = RISK_KIND_FUTURE;
    fs.expiry_unix_s = 1900000000;
    uint32_t fut = tu_instrument(e, &fs);
    risk_account *a = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(a, usdt, 100.0);
    tu_open_simple(a, perp, 0.5, 48000.0);
    tu_open_simple(a, fut, 0.5, 48000.0);
    risk_funding_result r = RISK_FUNDING_RESULT_INIT;
    tu_assert_status(risk_engine_settle_funding(e, fut, 0.0001, 0.0, &r), RISK_ESTATE);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_assert_status(risk_engine_settle_funding(e, 99, 0.0001, 0.0, &r), RISK_ENOTFOUND);
    tu_assert_status(risk_engine_settle_funding(e, perp, NAN, 0.0, &r), RISK_EINVAL);
    tu_assert_status(risk_engine_settle_funding(e, perp, 1.5, 0.0, &r), RISK_EINVAL);
    tu_assert_status(risk_engine_settle_funding(e, perp, 0.0001, -1.0, &r), RISK_EINVAL);
    tu_assert_status(risk_engine_settle_funding(NULL, perp, 0.0001, 0.0, &r), RISK_ENULL);
    r.version = 9;
    tu_assert_status(risk_engine_settle_funding(e, perp, 0.0001, 0.0, &r), RISK_EVERSION);
    tu_assert_bits(bal(risk_account_basket(a), usdt), 100.0);
    risk_account_free(a);
    risk_engine_free(e);
}

typedef struct fund_fx {
    risk_engine *e;
    risk_account *a;
    uint32_t usdt, perp;
} fund_fx;

static void *oom_fund_setup(tu_alloc *al)
{
    fund_fx *f = test_malloc(sizeof *f);
    f->e = tu_engine(al, 0);
    f->usdt = tu_asset(f->e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(f->e, "BTC", 50000.0, 8);
    uint32_t eth = tu_asset(f->e, "ETH", 3000.0, 8);
    f->perp = tu_binance_btcusdt_perp(f->e, "BTCUSDT", btc, f->usdt, 50000.0);
    f->a = tu_account(f->e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(f->a, btc, 1.0); /* two balances: the settle one needs a heap block */
    tu_balance(f->a, eth, 1.0);
    tu_open_simple(f->a, f->perp, -0.5, 50000.0);
    return f;
}

static int oom_fund_op(void *p)
{
    fund_fx *f = p;
    return risk_engine_settle_funding(f->e, f->perp, 0.0001, 0.0, NULL);
}

static void oom_fund_failed(void *p)
{
    fund_fx *f = p;
    tu_assert_bits(bal(risk_account_basket(f->a), f->usdt), 0.0);
}

static void oom_fund_ok(void *p)
{
    fund_fx *f = p;
    tu_assert_near(bal(risk_account_basket(f->a), f->usdt), 2.5, 1e-9);
}

static void oom_fund_teardown(void *p)
{
    fund_fx *f = p;
    risk_account_free(f->a);
    risk_engine_free(f->e);
    test_free(f);
}

static void test_rates_funding_out_of_memory(void **state)
{
    (void)state;
    tu_oom_case c = {oom_fund_setup, oom_fund_op, oom_fund_failed, oom_fund_ok, oom_fund_teardown};
    assert_true(tu_oom_walk(&c) >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rates_aave_a1_vectors),
        cmocka_unit_test(test_rates_comet_c2_vectors),
        cmocka_unit_test(test_rates_drift_multi_kink),
        cmocka_unit_test(test_rates_aave_accrual_factors),
        cmocka_unit_test(test_rates_comet_and_continuous_accrual),
        cmocka_unit_test(test_rates_binance_w9_hourly),
        cmocka_unit_test(test_rates_scaled_balances_feed_valuation),
        cmocka_unit_test(test_rates_no_model_scaled_is_balance),
        cmocka_unit_test(test_rates_borrow_costs),
        cmocka_unit_test(test_rates_invariants_random),
        cmocka_unit_test(test_rates_aave_stable_pool),
        cmocka_unit_test(test_rates_bad_input_changes_nothing),
        cmocka_unit_test(test_rates_out_of_memory),
        cmocka_unit_test(test_rates_model_none_stops_accrual),
        cmocka_unit_test(test_rates_funding_binance_formula),
        cmocka_unit_test(test_rates_funding_drift_formula),
        cmocka_unit_test(test_rates_funding_settlement),
        cmocka_unit_test(test_rates_funding_bad_input_changes_nothing),
        cmocka_unit_test(test_rates_funding_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
