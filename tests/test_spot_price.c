/* SPDX-License-Identifier: Apache-2.0 */
/* test_spot_price.c: the liquidation price of a spot balance (risk_account_spot_liquidation_price):
 * hand-computed collateral, debt and collateral-plus-perp cases, the shared move with the position
 * liquidation prices, the cases without a price, bad arguments, and equity = MM at the price on
 * random accounts. */
#include "test_util.h"

#include <math.h>
#include <string.h>

static const risk_margin_tier flat_tiers[] = {{1e12, 0.005, 100.0, 0, 0}};
static const risk_margin_tier btc_tiers[] = {{100000.0, 0.004, 125.0, 0, 0}, {1000000.0, 0.01, 50.0, 0, 0},
                                             {1e12, 0.025, 20.0, 0, 0}};

typedef struct env {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdt, btc, eth;
    uint32_t btcusdt, ethusdt, btcusd, btciso;
} env;

static void env_init(env *v, uint32_t flags)
{
    tu_alloc_init(&v->a);
    v->e = tu_engine(&v->a, flags);
    v->usdt = tu_asset(v->e, "USDT", 1.0, 6);
    v->btc = tu_asset_w(v->e, "BTC", 50000.0, 8, 0.9, 0.95, 1.1, 1.05);
    v->eth = tu_asset_w(v->e, "ETH", 3000.0, 8, 0.8, 0.9, 1.2, 1.1);
    v->btcusdt = tu_linear(v->e, "BTCUSDT", v->btc, v->usdt, 1.0, 0.001, 0.1, 50000.0, btc_tiers, 3);
    v->ethusdt = tu_linear(v->e, "ETHUSDT", v->eth, v->usdt, 1.0, 0.01, 0.01, 3000.0, flat_tiers, 1);
    v->btcusd = tu_inverse(v->e, "BTCUSD", v->btc, 100.0, 1.0, 0.5, 50000.0, flat_tiers, 1);
    v->btciso = tu_linear(v->e, "BTCISO", v->btc, v->usdt, 1.0, 0.001, 0.1, 50000.0, flat_tiers, 1);
}

static double spot_lp(const risk_account *acc, uint32_t asset)
{
    double p = -1.0;
    tu_assert_status(risk_account_spot_liquidation_price(acc, asset, &p), RISK_OK);
    return p;
}

/* Collateral against a debt: 1 BTC (maint weight 0.95) against 30,000 USDT borrowed.
 * 50,000 k x 0.95 = 30,000 -> P = 30,000 / 0.95 = 31,578.947... (Aave's HF = 1 price). */
static void test_spot_price_collateral_against_debt(void **state)
{
    (void)state;
    env v;
    env_init(&v, RISK_ENGINE_NO_QUANTIZE);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, v.btc, 1.0);
    tu_balance(acc, v.usdt, -30000.0);
    tu_assert_rel(spot_lp(acc, v.btc), 30000.0 / 0.95, 1e-14);
    assert_true(isnan(spot_lp(acc, v.usdt))); /* the valuation asset does not move */
    /* At that price the health factor is 1. */
    tu_price(v.e, v.btc, 30000.0 / 0.95);
    tu_assert_rel(tu_eval(acc).health_factor, 1.0, 1e-14);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* A borrowed asset is liquidated by a rise: 40,000 USDT against 10 ETH borrowed (maint liability
 * weight 1.1): 40,000 = 10 x 3,000 k x 1.1 -> P = 40,000 / 11 = 3,636.36... */
static void test_spot_price_borrow_rises(void **state)
{
    (void)state;
    env v;
    env_init(&v, RISK_ENGINE_NO_QUANTIZE);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, v.usdt, 40000.0);
    tu_balance(acc, v.eth, -10.0);
    tu_assert_rel(spot_lp(acc, v.eth), 40000.0 / 11.0, 1e-14);
    assert_true(isnan(spot_lp(acc, v.btc))); /* BTC moves nothing in this account */
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* 1 BTC of collateral (0.95) and a BTCUSDT long 1 @ 50,000 (MMR 0.4 % in its first tier), no
 * USDT. Both move: f(k) = 47,500 k + 50,000 (k - 1) - 200 k = 97,300 k - 50,000 -> k =
 * 50,000 / 97,300, P = 25,693.73 (Drift's spotLiquidationPrice: oracle - free collateral /
 * (0.95 + (1 - 0.004)) = 50,000 - 47,300 / 1.946 gives the same). Had the BTC price moved
 * alone, the pool would reach MM only at 200 / 0.95 = 210.53. The long's own liquidation price
 * is the same move: mark x k. */
static void test_spot_price_moves_the_instruments_on_the_asset(void **state)
{
    (void)state;
    env v;
    env_init(&v, RISK_ENGINE_NO_QUANTIZE);
    risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, v.btc, 1.0);
    (void)tu_open_simple(acc, v.btcusdt, 1.0, 50000.0);
    double k = 50000.0 / 97300.0;
    double p = spot_lp(acc, v.btc);
    tu_assert_rel(p, 50000.0 * k, 1e-14);
    tu_assert_rel(p, 50000.0 - 47300.0 / 1.946, 1e-13);
    risk_position_result r = tu_result_of(acc, v.btcusdt, RISK_SIDE_LONG);
    tu_assert_rel(r.liquidation_price_raw, 50000.0 * k, 1e-14);
    /* An isolated position is not in the cross pool: adding one changes nothing. */
    (void)tu_open(acc, v.btcusd, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, -100.0, 50000.0, 0.01);
    tu_assert_bits(spot_lp(acc, v.btc), p);
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* No price: a balance that cannot sink the pool, and bad arguments (nothing written then). */
static void test_spot_price_none_and_errors(void **state)
{
    (void)state;
    env v;
    env_init(&v, 0);
    risk_account *acc = tu_account(v.e, 7, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    assert_true(isnan(spot_lp(acc, v.btc))); /* empty account */
    tu_balance(acc, v.btc, 2.0);
    assert_true(isnan(spot_lp(acc, v.btc))); /* collateral with nothing required */
    tu_balance(acc, v.usdt, 1000.0);
    (void)tu_open_simple(acc, v.ethusdt, -1.0, 3000.0);
    assert_true(isnan(spot_lp(acc, v.btc))); /* BTC only adds: 95,000 k + 1,000 >= 15 for all k > 0 */
    double p = 123.0;
    tu_assert_status(risk_account_spot_liquidation_price(acc, 99, &p), RISK_ENOTFOUND);
    tu_assert_bits(p, 123.0);
    tu_assert_errmsg(risk_account_errmsg(acc));
    tu_assert_status(risk_account_spot_liquidation_price(acc, v.btc, NULL), RISK_ENULL);
    tu_assert_status(risk_account_spot_liquidation_price(NULL, v.btc, &p), RISK_ENULL);
    /* ETH, not held, through the short alone: f(k) = 1,000 + 95,000 - 3,000 (k - 1) - 15 k
     * -> k = 99,000 / 3,015 */
    tu_assert_rel(spot_lp(acc, v.eth), 3000.0 * 99000.0 / 3015.0, 1e-13);
    assert_string_equal(risk_account_errmsg(acc), "");
    risk_account_free(acc);
    risk_engine_free(v.e);
}

/* Equity = MM at the returned price, on random accounts: with the asset at P and every mark on it
 * scaled by P / price, C_maint - R_maint of the cross pool is 0 (to rounding of the sums), for
 * collateral, debts, linear (tiered) and inverse cross positions, with an isolated position
 * beside them that must not count. */
static void test_spot_price_property_equity_equals_mm(void **state)
{
    (void)state;
    tu_rng rng;
    tu_rng_seed(&rng, 20261202);
    unsigned checked = 0, none = 0;
    for (int trial = 0; trial < 400; trial++) {
        env v;
        env_init(&v, RISK_ENGINE_NO_QUANTIZE);
        risk_account *acc = tu_account(v.e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(acc, v.usdt, tu_rng_range(&rng, -20000.0, 60000.0));
        if (tu_rng_unit(&rng) < 0.7)
            tu_balance(acc, v.btc, tu_rng_range(&rng, -1.0, 2.0));
        if (tu_rng_unit(&rng) < 0.7)
            tu_balance(acc, v.eth, tu_rng_range(&rng, -10.0, 20.0));
        int q;
        if (tu_rng_unit(&rng) < 0.7 && (q = tu_rng_int(&rng, -30000, 30000)) != 0)
            (void)tu_open_simple(acc, v.btcusdt, 0.001 * q, tu_rng_range(&rng, 40000.0, 60000.0));
        if (tu_rng_unit(&rng) < 0.5 && (q = tu_rng_int(&rng, -3000, 3000)) != 0)
            (void)tu_open_simple(acc, v.ethusdt, 0.01 * q, tu_rng_range(&rng, 2500.0, 3500.0));
        if (tu_rng_unit(&rng) < 0.5 && (q = tu_rng_int(&rng, -5000, 5000)) != 0)
            (void)tu_open_simple(acc, v.btcusd, (double)q, tu_rng_range(&rng, 40000.0, 60000.0));
        /* Isolated short far from its MM: it must stay out of the cross pool at every price. */
        if (tu_rng_unit(&rng) < 0.3)
            (void)tu_open(acc, v.btciso, RISK_SIDE_BOTH, RISK_MARGIN_ISOLATED, 0.5, 50000.0, 100.0);
        uint32_t assets[2] = {v.btc, v.eth};
        for (int j = 0; j < 2; j++) {
            uint32_t u = assets[j];
            double p0 = u == v.btc ? 50000.0 : 3000.0;
            double p = spot_lp(acc, u);
            if (isnan(p)) {
                none++;
                continue;
            }
            assert_true(p > 0.0);
            double k = p / p0;
            tu_price(v.e, u, p);
            double marks[4] = {50000.0, 3000.0, 50000.0, 50000.0};
            uint32_t ins[4] = {v.btcusdt, v.ethusdt, v.btcusd, v.btciso};
            for (int m = 0; m < 4; m++)
                if ((m == 1) == (u == v.eth))
                    tu_mark(v.e, ins[m], marks[m] * k);
            risk_account_summary s = tu_eval(acc);
            double scale = fabs(s.collateral_maint) + s.maintenance_margin + s.liabilities + s.collateral_value +
                           fabs(s.unrealized_pnl) + 1.0;
            if (fabs(s.collateral_maint - s.maintenance_margin) > 1e-11 * scale)
                print_error("trial %d asset %u: P %.17g C %.17g R %.17g\n", trial, u, p, s.collateral_maint,
                            s.maintenance_margin);
            tu_assert_near(s.collateral_maint - s.maintenance_margin, 0.0, 1e-11 * scale);
            checked++;
            tu_price(v.e, u, p0); /* back */
            for (int m = 0; m < 4; m++)
                tu_mark(v.e, ins[m], marks[m]);
        }
        risk_account_free(acc);
        risk_engine_free(v.e);
    }
    assert_true(checked > 300); /* most random accounts have a price for at least one asset */
    assert_true(none > 20);     /* and some have none */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spot_price_collateral_against_debt),
        cmocka_unit_test(test_spot_price_borrow_rises),
        cmocka_unit_test(test_spot_price_moves_the_instruments_on_the_asset),
        cmocka_unit_test(test_spot_price_none_and_errors),
        cmocka_unit_test(test_spot_price_property_equity_equals_mm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
