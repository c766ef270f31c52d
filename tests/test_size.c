/* SPDX-License-Identifier: Apache-2.0 */
/* test_size.c: size-scaled collateral and liability weights (docs/formulas.md, "Size-scaled
 * weights"), pinned to Drift v2's and Mango v4's own tests (../shared/research/defi-anchors.md
 * D1, D2, M1 cases 10 and 11), and their effect on summaries, what-if and liquidation plans. */
#include "test_util.h"

#include <math.h>
#include <string.h>

static void set_scaling(risk_engine *e, uint32_t asset, double imf, double dep_start, double bor_start,
                        double deposits, double borrows)
{
    risk_size_scaling s = RISK_SIZE_SCALING_INIT;
    s.imf = imf;
    s.deposit_scale_start = dep_start;
    s.borrow_scale_start = bor_start;
    s.venue_deposits = deposits;
    s.venue_borrows = borrows;
    tu_assert_status(risk_engine_set_asset_size_scaling(e, asset, &s), RISK_OK);
}

static void weights(const risk_engine *e, uint32_t asset, double balance, double *wi, double *wm)
{
    tu_assert_status(risk_engine_asset_weights(e, asset, balance, wi, wm), RISK_OK);
}

/* Drift's weights are integers of 1e-4 (SPOT_WEIGHT_PRECISION), truncated. */
static long drift_int(double w)
{
    return (long)floor(w * 1e4 + 1e-9);
}

/* D1 (drift-labs/protocol-v2 programs/drift/src/math/margin/tests.rs spot_market_asset_weight):
 * a USDC-like token, 1,000 tokens, IAW 0.9, ILW 1.1. Asset weight min(0.9, 1.1 / (1 + imf
 * sqrt(S))), liability weight max(1.1, 0.88 + imf sqrt(S)). */
static void test_size_drift_d1(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t tok = tu_asset_w(e, "TOK", 1.0, 6, 0.9, 0.9, 1.1, 1.1);
    double wi, wm;

    weights(e, tok, 1000.0, &wi, &wm); /* imf 0: the static weights, exactly */
    assert_true(wi == 0.9 && wm == 0.9);
    weights(e, tok, -1000.0, &wi, &wm);
    assert_true(wi == 1.1 && wm == 1.1);

    set_scaling(e, tok, 1e-5, 0, 0, 0, 0); /* imf_factor 10 */
    weights(e, tok, 1000.0, &wi, &wm);
    assert_int_equal(drift_int(wi), 9000);
    weights(e, tok, -1000.0, &wi, &wm);
    assert_int_equal(drift_int(wi), 11000);
    weights(e, tok, 1e9, &wi, &wm); /* 1e9 tokens: 1.1 / (1 + 1e-5 x 31,622.8) */
    assert_int_equal(drift_int(wi), 8357);
    tu_assert_near(wi, 1.1 / (1.0 + 1e-5 * sqrt(1e9)), 1e-15);

    set_scaling(e, tok, 0.01, 0, 0, 0, 0); /* imf_factor 10,000 */
    weights(e, tok, 1000.0, &wi, &wm);
    assert_int_equal(drift_int(wi), 8357);
    assert_int_equal(drift_int(wm), 8357);
    weights(e, tok, -1000.0, &wi, &wm);
    assert_int_equal(drift_int(wi), 11962);
    tu_assert_near(wi, 0.88 + 0.01 * sqrt(1000.0), 1e-15);

    set_scaling(e, tok, 0.1, 0, 0, 0, 0); /* imf_factor 100,000 */
    weights(e, tok, 1000.0, &wi, &wm);
    assert_int_equal(drift_int(wi), 2642);
    weights(e, tok, -1000.0, &wi, &wm);
    assert_int_equal(drift_int(wi), 40422);

    /* the second market: IAW 0.15, MAW 0.75, 100,000 tokens at 0.5: both become 0.0337 */
    uint32_t two = tu_asset_w(e, "TWO", 0.5, 6, 0.15, 0.75, 1.5, 1.25);
    weights(e, two, 1e5, &wi, &wm);
    assert_int_equal(drift_int(wi), 1500);
    assert_int_equal(drift_int(wm), 7500);
    set_scaling(e, two, 0.1, 0, 0, 0, 0);
    weights(e, two, 1e5, &wi, &wm);
    assert_int_equal(drift_int(wi), 337);
    assert_int_equal(drift_int(wm), 337);
    /* the liability premium keeps init >= maint: max(1.5, 1.2 + 31.6) >= max(1.25, 1.0 + 31.6) */
    weights(e, two, -1e5, &wi, &wm);
    tu_assert_near(wi, 1.2 + 0.1 * sqrt(1e5), 1e-13);
    tu_assert_near(wm, 1.0 + 0.1 * sqrt(1e5), 1e-13);
    risk_engine_free(e);
}

/* D2 (spot_market_scale_initial_asset_weight): IAW 0.9, scale start $500,000, SOL $25. */
static void test_size_drift_d2_deposit_scaling(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t sol = tu_asset_w(e, "SOL", 25.0, 9, 0.9, 0.95, 1.1, 1.05);
    const double deposits[4] = {1.0, 20000.0, 40000.0, 60000.0}, want[4] = {0.9, 0.9, 0.45, 0.3};
    for (int k = 0; k < 4; k++) {
        set_scaling(e, sol, 0, 500000.0, 0, deposits[k], 0);
        double wi, wm;
        weights(e, sol, 10.0, &wi, &wm);
        tu_assert_near(wi, want[k], 1e-15);
        assert_true(wm == 0.95); /* maintenance is not scaled */
    }
    risk_engine_free(e);
}

/* Mango v4 health/cache.rs test_health1 cases 10 and 11 (defi-anchors M1): three tokens at 1, 5
 * and 10 with init weight offsets 0.2, 0.5, 0.5. Case 10: 100 of each deposited, venue deposits
 * 100 / 1,500 / 10,000 against starts 1,000 / 5,000 / 10,000 (values) gives init health
 * 80 + 250 x 5,000/7,500 + 500 x 10,000/100,000 = 296.667. Case 11: 100 of each borrowed, venue
 * borrows the same, gives -(120 + 750 x 1.5 + 1,500 x 10) = -16,245. */
static void test_size_mango_m1_cases_10_11(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t t1 = tu_asset_w(e, "T1", 1.0, 6, 0.8, 0.9, 1.2, 1.1);
    uint32_t t2 = tu_asset_w(e, "T2", 5.0, 6, 0.5, 0.7, 1.5, 1.3);
    uint32_t t3 = tu_asset_w(e, "T3", 10.0, 6, 0.5, 0.7, 1.5, 1.3);
    const uint32_t ids[3] = {t1, t2, t3};
    const double venue[3] = {100.0, 1500.0, 10000.0}, start[3] = {1000.0, 5000.0, 10000.0};
    for (int k = 0; k < 3; k++)
        set_scaling(e, ids[k], 0, start[k], start[k], venue[k], venue[k]);

    risk_basket *b = NULL;
    tu_assert_status(risk_basket_new(&b, e), RISK_OK);
    for (int k = 0; k < 3; k++)
        tu_assert_status(risk_basket_set_balance(b, ids[k], 100.0), RISK_OK);
    risk_basket_summary s = RISK_BASKET_SUMMARY_INIT;
    tu_assert_status(risk_basket_evaluate(b, &s), RISK_OK);
    /* summaries are quantized to 6 decimals, collateral down: 296.666666 */
    tu_assert_near(s.collateral_init - s.liabilities_init, 80.0 + 250.0 * 5000.0 / 7500.0 + 50.0, 1e-6);
    tu_assert_near(s.collateral_maint, 90.0 + 350.0 + 700.0, 1e-9); /* maintenance unscaled */

    for (int k = 0; k < 3; k++)
        tu_assert_status(risk_basket_set_balance(b, ids[k], -100.0), RISK_OK);
    tu_assert_status(risk_basket_evaluate(b, &s), RISK_OK);
    tu_assert_near(s.collateral_init - s.liabilities_init, -16245.0, 1e-9);
    tu_assert_near(s.liabilities_maint, 110.0 + 650.0 + 1300.0, 1e-9);
    risk_basket_free(b);
    risk_engine_free(e);
}

/* An account on size-scaled weights: the summary is the formula's, a what-if of a deposit sees
 * the discount deepen, and a liquidation plan on a debt whose weight grows with its size reaches
 * its target when applied. SOL 1,000 at 100 (IAW 0.8, MAW 0.9) against a USDC debt (MLW 1.1),
 * imf 0.001 on both. */
static void test_size_account_summary_and_plan(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdc = tu_asset_w(e, "USDC", 1.0, 6, 1.0, 1.0, 1.2, 1.1);
    uint32_t sol = tu_asset_w(e, "SOL", 100.0, 9, 0.8, 0.9, 1.2, 1.1);
    set_scaling(e, usdc, 0.001, 0, 0, 0, 0);
    set_scaling(e, sol, 0.001, 0, 0, 0, 0);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_balance(acc, sol, 1000.0);
    tu_balance(acc, usdc, -70000.0);
    risk_account_summary s = tu_eval(acc);
    double sol_w = fmin(0.9, 1.1 / (1.0 + 0.001 * sqrt(1000.0)));  /* 0.9: the discount 1.066 does not bind */
    double usdc_w = fmax(1.1, 0.8 * 1.1 + 0.001 * sqrt(70000.0)); /* 0.88 + 0.2646 = 1.1446 */
    tu_assert_near(s.collateral_maint, 100000.0 * sol_w, 1e-6);
    tu_assert_near(s.maintenance_margin, 70000.0 * usdc_w, 1e-6);
    assert_true(usdc_w > 1.1); /* the premium binds */
    tu_assert_near(s.health_factor, 100000.0 * 0.9 / (70000.0 * usdc_w), 1e-6);

    /* the price falls to 85: HF = 76,500 / 80,122 < 1: liquidatable; the plan sells SOL for USDC
     * (a seize) and the account ends at or above the target */
    tu_assert_status(risk_engine_set_asset_price(e, sol, 85.0), RISK_OK);
    s = tu_eval(acc);
    assert_int_equal(s.state, RISK_STATE_LIQUIDATABLE);
    risk_liquidation_plan plan = RISK_LIQUIDATION_PLAN_INIT;
    risk_liquidation_action acts[16];
    size_t n = 0;
    tu_assert_status(risk_account_liquidation_plan(acc, &plan, acts, 16, &n), RISK_OK);
    assert_true(n > 0);
    tu_assert_status(risk_account_apply_plan(acc, &plan, acts, n), RISK_OK);
    risk_account_summary after = tu_eval(acc);
    assert_true(after.state != RISK_STATE_LIQUIDATABLE && after.state != RISK_STATE_BANKRUPT);
    tu_assert_near(after.health_factor, plan.health_after, 1e-9);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* Bad input changes nothing; NULL or all-zero turns scaling off and the weights are the static
 * ones bit for bit. */
static void test_size_bad_input_and_off(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t tok = tu_asset_w(e, "TOK", 2.0, 6, 0.9, 0.95, 1.1, 1.05);
    set_scaling(e, tok, 0.01, 100.0, 200.0, 1000.0, 3000.0);
    risk_size_scaling s = RISK_SIZE_SCALING_INIT, got = RISK_SIZE_SCALING_INIT;
    const double bad[] = {NAN, INFINITY, -1e-9, 1.5};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        s.imf = bad[k];
        tu_assert_status(risk_engine_set_asset_size_scaling(e, tok, &s), RISK_EINVAL);
        assert_true(strlen(risk_engine_errmsg(e)) > 0);
    }
    s.imf = 0.0;
    s.venue_deposits = -1.0;
    tu_assert_status(risk_engine_set_asset_size_scaling(e, tok, &s), RISK_EINVAL);
    s.venue_deposits = 0.0;
    s.reserved = 1;
    tu_assert_status(risk_engine_set_asset_size_scaling(e, tok, &s), RISK_EINVAL);
    s.reserved = 0;
    s.version = 99;
    tu_assert_status(risk_engine_set_asset_size_scaling(e, tok, &s), RISK_EVERSION);
    s.version = RISK_SIZE_SCALING_VERSION;
    tu_assert_status(risk_engine_set_asset_size_scaling(e, 77, &s), RISK_ENOTFOUND);
    tu_assert_status(risk_engine_set_asset_size_scaling(NULL, tok, &s), RISK_ENULL);
    tu_assert_status(risk_engine_asset_size_scaling(e, tok, NULL), RISK_ENULL);
    tu_assert_status(risk_engine_asset_size_scaling(e, tok, &got), RISK_OK);
    assert_true(got.imf == 0.01 && got.deposit_scale_start == 100.0 && got.borrow_scale_start == 200.0 &&
                got.venue_deposits == 1000.0 && got.venue_borrows == 3000.0);

    double wi, wm;
    tu_assert_status(risk_engine_asset_weights(e, tok, 0.0, &wi, &wm), RISK_EINVAL);
    tu_assert_status(risk_engine_asset_weights(e, tok, NAN, &wi, &wm), RISK_EINVAL);
    tu_assert_status(risk_engine_asset_weights(e, tok, 1e300, &wi, &wm), RISK_EINVAL);
    weights(e, tok, 10.0, &wi, &wm); /* deposits 2,000 > 100: init x 0.05; discount 1.1/1.0316 */
    tu_assert_near(wi, fmin(0.9 * 100.0 / 2000.0, 1.1 / (1.0 + 0.01 * sqrt(10.0))), 1e-15);
    tu_assert_near(wm, fmin(0.95, 1.1 / (1.0 + 0.01 * sqrt(10.0))), 1e-15);
    weights(e, tok, -10.0, &wi, &wm); /* borrows 6,000 > 200: init x 30 */
    tu_assert_near(wi, 1.1 * 30.0, 1e-13);
    tu_assert_near(wm, 1.05, 1e-15);

    tu_assert_status(risk_engine_set_asset_size_scaling(e, tok, NULL), RISK_OK);
    weights(e, tok, 10.0, &wi, &wm);
    assert_true(wi == 0.9 && wm == 0.95);
    weights(e, tok, -10.0, &wi, &wm);
    assert_true(wi == 1.1 && wm == 1.05);
    risk_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_drift_d1),
        cmocka_unit_test(test_size_drift_d2_deposit_scaling),
        cmocka_unit_test(test_size_mango_m1_cases_10_11),
        cmocka_unit_test(test_size_account_summary_and_plan),
        cmocka_unit_test(test_size_bad_input_and_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
