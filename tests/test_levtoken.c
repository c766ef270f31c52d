/* SPDX-License-Identifier: Apache-2.0 */
/* test_levtoken.c: the leveraged-token simulator (risk_levtoken_simulate, docs/rates.md section
 * 9): exact compounding prod(1 + L r_i) when it rebalances every step without costs, the closed
 * form of continuous rebalancing on a simulated GBM path, a hand-worked account of fees, borrowing,
 * funding and rebalance costs, the band, wipe-out, and bad input (nothing written). */
#include "test_util.h"

#include <math.h>
#include <string.h>

#define SENTINEL (-12345.0)

static double gauss(tu_rng *r)
{
    double u1 = 1.0 - tu_rng_unit(r); /* (0, 1] */
    double u2 = tu_rng_unit(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* GBM path: n prices from 100, log step (mu - sigma^2/2) dt + sigma sqrt(dt) Z; returns the
 * realised quadratic variation sum of squared log steps. */
static double gbm(double *price, size_t n, double mu, double sigma, double dt, uint64_t seed)
{
    tu_rng g;
    tu_rng_seed(&g, seed);
    double qv = 0.0;
    price[0] = 100.0;
    for (size_t i = 1; i < n; i++) {
        double x = (mu - 0.5 * sigma * sigma) * dt + sigma * sqrt(dt) * gauss(&g);
        qv += x * x;
        price[i] = price[i - 1] * exp(x);
    }
    return qv;
}

#define GBM_N 100001
static double g_price[GBM_N], g_nav[GBM_N];

static void test_levtoken_every_step_without_costs_is_the_product(void **state)
{
    (void)state;
    enum { N = 1000 };
    static double price[N], nav[N], lev[N], traded[N];
    gbm(price, N, 0.0, 0.9, 1.0 / 365.0, 7);
    const double Ls[] = {3.0, 2.0, 0.5, -1.0, -3.0};
    for (size_t k = 0; k < sizeof Ls / sizeof Ls[0]; k++) {
        risk_levtoken_spec spec = RISK_LEVTOKEN_SPEC_INIT;
        spec.leverage = Ls[k];
        spec.rebalance_every = 1;
        risk_levtoken_result r = RISK_LEVTOKEN_RESULT_INIT;
        tu_assert_status(risk_levtoken_simulate(nav, lev, traded, &r, price, NULL, N, &spec), RISK_OK);
        double prod = 1.0;
        for (size_t i = 1; i < N; i++) {
            prod *= 1.0 + Ls[k] * (price[i] / price[i - 1] - 1.0);
            /* n steps of a few roundings each: 1e-12 relative over 1,000 steps */
            tu_assert_rel(nav[i], prod, 1e-12);
            tu_assert_rel(lev[i], Ls[k], 1e-12);
        }
        assert_int_equal(r.wiped_out_at, 0);
        assert_int_equal(r.n_rebalances, N - 1);
        tu_assert_bits(r.nav_final, nav[N - 1]);
        tu_assert_bits(traded[0], Ls[k]);
        tu_assert_near(1.0 + r.pnl, r.nav_final, 1e-12); /* no costs: NAV = nav0 + PnL (absolute: NAV may end near 0) */
    }
}

static void test_levtoken_continuous_rebalancing_matches_the_closed_form(void **state)
{
    (void)state;
    /* One year of 100,000 steps, sigma 80 %/year, L = 3, rebalanced every step, no costs.
     * Pathwise: ln NAV_T = L ln(S_T/S_0) - (L^2 - L)/2 QV + sum of (L/6 - L^2/2 + L^3/3) x^3
     * + O(x^4) terms, x the log steps (docs/rates.md 9.2); with x ~ sigma sqrt(dt) = 0.0025 the
     * cubic sum has standard deviation 5 sqrt(15 n) (sigma sqrt(dt))^3 = 1e-4 and the quartic
     * terms add about n sigma^4 dt^2 x 25 = 1e-4: tolerance 1e-3. Against sigma^2 t instead of the
     * realised QV, the QV's sampling error (standard deviation sigma^2 sqrt(2 dt t) = 0.0029,
     * times (L^2 - L)/2 = 3) dominates: tolerance 4 standard deviations, 0.035 in ln NAV. */
    const double sigma = 0.8, mu = 0.05, T = 1.0, L = 3.0;
    const double dt = T / (GBM_N - 1);
    double qv = gbm(g_price, GBM_N, mu, sigma, dt, 20261202);
    risk_levtoken_spec spec = RISK_LEVTOKEN_SPEC_INIT;
    spec.leverage = L;
    spec.rebalance_every = 1;
    spec.periods_per_year = 1.0 / dt;
    risk_levtoken_result r = RISK_LEVTOKEN_RESULT_INIT;
    tu_assert_status(risk_levtoken_simulate(g_nav, NULL, NULL, &r, g_price, NULL, GBM_N, &spec), RISK_OK);
    double ratio = g_price[GBM_N - 1] / g_price[0];
    double pathwise = pow(ratio, L) * exp(-(L * L - L) * qv / 2.0);
    double closed = pow(ratio, L) * exp(-(L * L - L) * sigma * sigma * T / 2.0);
    assert_true(fabs(log(r.nav_final / pathwise)) < 1e-3);
    assert_true(fabs(log(r.nav_final / closed)) < 0.035);
    /* the decay is real: the token ends below L x the underlying's log return would say */
    assert_true(r.nav_final < pow(ratio, L));
}

static void test_levtoken_fees_funding_and_costs_hand_worked(void **state)
{
    (void)state;
    /* nav0 100, L 2, prices 100, 110, 99; fee 36.5 %/year and borrow 365 %/year over 365 steps a
     * year (0.1 % and 1 % a step), funding +0.05 % then -0.02 %, cost 0.1 % of the notional.
     * Step 1: E = 200 gains 20; fee 0.1, borrowed 100 costs 1, funding 0.1: N = 118.8, E = 220;
     * rebalance up: N' = (118.8 + 0.001 x 220) / 1.002 = 118.78243512974052, trade 17.5648...
     * Step 2 (same rules): from a Python recomputation of the formulas in docs/rates.md 9.1. */
    const double price[3] = {100.0, 110.0, 99.0}, funding[3] = {0.0, 0.0005, -0.0002};
    double nav[3], lev[3], traded[3];
    risk_levtoken_spec spec = RISK_LEVTOKEN_SPEC_INIT;
    spec.leverage = 2.0;
    spec.rebalance_every = 1;
    spec.fee_annual = 0.365;
    spec.borrow_annual = 3.65;
    spec.rebalance_cost = 0.001;
    spec.nav0 = 100.0;
    risk_levtoken_result r = RISK_LEVTOKEN_RESULT_INIT;
    tu_assert_status(risk_levtoken_simulate(nav, lev, traded, &r, price, funding, 3, &spec), RISK_OK);
    tu_assert_rel(nav[1], 119.02 / 1.002, 1e-14);
    tu_assert_rel(traded[1], 2.0 * 119.02 / 1.002 - 220.0, 1e-12);
    tu_assert_rel(nav[2], 93.74052696210788, 1e-13);
    tu_assert_rel(traded[2], -26.327329309317236, 1e-12);
    tu_assert_rel(r.pnl, -3.7564870259480863, 1e-12);
    tu_assert_rel(r.fees_paid, 0.21878243512974055, 1e-13);
    tu_assert_rel(r.borrow_paid, 2.1878243512974054, 1e-13);
    tu_assert_rel(r.funding_paid, 0.05248702594810378, 1e-12);
    tu_assert_rel(r.rebalance_costs, 0.04389219956878776, 1e-11);
    tu_assert_rel(r.turnover, 43.892199568798304, 1e-12);
    assert_int_equal(r.n_rebalances, 2);
    tu_assert_rel(lev[2], 2.0, 1e-15);
    /* the identity: every unit of NAV is accounted for */
    double acc = spec.nav0 + r.pnl - r.fees_paid - r.borrow_paid - r.funding_paid - r.rebalance_costs + r.shortfall;
    tu_assert_near(acc, r.nav_final, 1e-12);
    /* each rebalance cost is c x |trade| */
    tu_assert_rel(r.rebalance_costs, 0.001 * r.turnover, 1e-12);
}

static void test_levtoken_band_keeps_the_leverage_inside(void **state)
{
    (void)state;
    enum { N = 2000 };
    static double price[N], nav[N], lev[N], traded[N];
    gbm(price, N, 0.0, 0.8, 1.0 / 365.0, 99);
    risk_levtoken_spec spec = RISK_LEVTOKEN_SPEC_INIT;
    spec.leverage = 3.0;
    spec.band_low = 2.5;
    spec.band_high = 3.5;
    risk_levtoken_result r = RISK_LEVTOKEN_RESULT_INIT;
    tu_assert_status(risk_levtoken_simulate(nav, lev, traded, &r, price, NULL, N, &spec), RISK_OK);
    uint64_t count = 0;
    for (size_t i = 1; i < N; i++) {
        assert_true(lev[i] >= 2.5 && lev[i] <= 3.5);
        if (traded[i] != 0.0) {
            count++;
            tu_assert_rel(lev[i], 3.0, 1e-14);
        } else {
            tu_assert_rel(nav[i], nav[i - 1] * (1.0 + lev[i - 1] * (price[i] / price[i - 1] - 1.0)), 1e-14);
        }
    }
    assert_int_equal(count, r.n_rebalances);
    assert_true(r.n_rebalances > 10 && r.n_rebalances < N / 2);
    /* no band and no schedule: bought once and held (over 100 steps, before the path falls far
     * enough to wipe a held 3x position out) */
    spec.band_low = spec.band_high = 0.0;
    tu_assert_status(risk_levtoken_simulate(nav, lev, traded, &r, price, NULL, 100, &spec), RISK_OK);
    assert_int_equal(r.n_rebalances, 0);
    assert_int_equal(r.wiped_out_at, 0);
    tu_assert_rel(r.nav_final, 1.0 + 3.0 * (price[99] / price[0] - 1.0), 1e-12);
}

static void test_levtoken_wipe_out(void **state)
{
    (void)state;
    const double price[4] = {100.0, 60.0, 80.0, 90.0};
    double nav[4], lev[4], traded[4];
    risk_levtoken_spec spec = RISK_LEVTOKEN_SPEC_INIT;
    spec.leverage = 3.0;
    spec.rebalance_every = 1;
    risk_levtoken_result r = RISK_LEVTOKEN_RESULT_INIT;
    tu_assert_status(risk_levtoken_simulate(nav, lev, traded, &r, price, NULL, 4, &spec), RISK_OK);
    assert_int_equal(r.wiped_out_at, 1);
    tu_assert_rel(r.shortfall, 0.2, 1e-14); /* 1 + 3 x (-0.4) = -0.2 */
    for (size_t i = 1; i < 4; i++) {
        tu_assert_bits(nav[i], 0.0);
        tu_assert_bits(lev[i], 0.0);
    }
    tu_assert_bits(r.nav_final, 0.0);
}

static void test_levtoken_rejects_bad_input_and_writes_nothing(void **state)
{
    (void)state;
    double price[3] = {100.0, 101.0, 99.0}, funding[3] = {0.0, 0.001, 0.0};
    double nav[3], lev[3];
    risk_levtoken_spec ok = RISK_LEVTOKEN_SPEC_INIT;
    ok.leverage = 3.0;
    risk_levtoken_result r = RISK_LEVTOKEN_RESULT_INIT;
    tu_assert_status(risk_levtoken_simulate(NULL, NULL, NULL, NULL, price, NULL, 3, &ok), RISK_ENULL);
    tu_assert_status(risk_levtoken_simulate(nav, NULL, NULL, NULL, NULL, NULL, 3, &ok), RISK_ENULL);
    tu_assert_status(risk_levtoken_simulate(nav, NULL, NULL, NULL, price, NULL, 3, NULL), RISK_ENULL);
    risk_levtoken_result badr = r;
    badr.version = 99;
    tu_assert_status(risk_levtoken_simulate(nav, NULL, NULL, &badr, price, NULL, 3, &ok), RISK_EVERSION);
    struct {
        const char *what;
        risk_levtoken_spec spec;
    } cases[16];
    size_t nc = 0;
#define CASE(field, value)                                                                                  \
    do {                                                                                                    \
        cases[nc].what = #field " = " #value;                                                                \
        cases[nc].spec = ok;                                                                                \
        cases[nc].spec.field = (value);                                                                     \
        nc++;                                                                                               \
    } while (0)
    CASE(leverage, 0.0);
    CASE(leverage, 20.5);
    CASE(leverage, -20.5);
    CASE(leverage, NAN);
    CASE(band_low, 3.5);  /* band_low > L with band_high 0 */
    CASE(band_high, 2.0); /* L outside [0, 2] */
    CASE(fee_annual, -0.01);
    CASE(fee_annual, 1.5);
    CASE(borrow_annual, INFINITY);
    CASE(rebalance_cost, 0.2);
    CASE(rebalance_cost, NAN);
    CASE(periods_per_year, 0.0);
    CASE(nav0, 0.0);
    CASE(nav0, NAN);
#undef CASE
    for (size_t k = 0; k < nc; k++) {
        for (size_t i = 0; i < 3; i++)
            nav[i] = lev[i] = SENTINEL;
        r.nav_final = SENTINEL;
        int rc = risk_levtoken_simulate(nav, lev, NULL, &r, price, NULL, 3, &cases[k].spec);
        if (rc != RISK_EINVAL)
            fail_msg("%s: status %d", cases[k].what, rc);
        for (size_t i = 0; i < 3; i++)
            assert_true(nav[i] == SENTINEL && lev[i] == SENTINEL);
        assert_true(r.nav_final == SENTINEL);
    }
    /* a short token's band is negative; a band of the wrong sign is refused */
    risk_levtoken_spec s = ok;
    s.leverage = -2.0;
    s.band_low = -2.5;
    s.band_high = -1.5;
    tu_assert_status(risk_levtoken_simulate(nav, NULL, NULL, NULL, price, NULL, 3, &s), RISK_OK);
    s.band_high = 1.5;
    tu_assert_status(risk_levtoken_simulate(nav, NULL, NULL, NULL, price, NULL, 3, &s), RISK_EINVAL);
    /* cost x |L| above 0.5 */
    s = ok;
    s.leverage = 15.0;
    s.rebalance_cost = 0.04;
    tu_assert_status(risk_levtoken_simulate(nav, NULL, NULL, NULL, price, NULL, 3, &s), RISK_EINVAL);
    /* inputs */
    tu_assert_status(risk_levtoken_simulate(nav, NULL, NULL, NULL, price, NULL, 0, &ok), RISK_EINVAL);
    s = ok;
    s.version = 2;
    tu_assert_status(risk_levtoken_simulate(nav, NULL, NULL, NULL, price, NULL, 3, &s), RISK_EVERSION);
    nav[2] = SENTINEL;
    price[2] = NAN;
    tu_assert_status(risk_levtoken_simulate(nav, NULL, NULL, NULL, price, NULL, 3, &ok), RISK_EINVAL);
    price[2] = 0.0;
    tu_assert_status(risk_levtoken_simulate(nav, NULL, NULL, NULL, price, NULL, 3, &ok), RISK_EINVAL);
    price[2] = 99.0;
    funding[2] = 1.5;
    tu_assert_status(risk_levtoken_simulate(nav, NULL, NULL, NULL, price, funding, 3, &ok), RISK_EINVAL);
    funding[2] = NAN;
    tu_assert_status(risk_levtoken_simulate(nav, NULL, NULL, NULL, price, funding, 3, &ok), RISK_EINVAL);
    assert_true(nav[2] == SENTINEL);
    funding[0] = NAN; /* funding[0] is not used */
    funding[2] = 0.0;
    tu_assert_status(risk_levtoken_simulate(nav, NULL, NULL, NULL, price, funding, 3, &ok), RISK_OK);
    /* one step: just nav0 */
    tu_assert_status(risk_levtoken_simulate(nav, NULL, NULL, &r, price, NULL, 1, &ok), RISK_OK);
    tu_assert_bits(r.nav_final, 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levtoken_every_step_without_costs_is_the_product),
        cmocka_unit_test(test_levtoken_continuous_rebalancing_matches_the_closed_form),
        cmocka_unit_test(test_levtoken_fees_funding_and_costs_hand_worked),
        cmocka_unit_test(test_levtoken_band_keeps_the_leverage_inside),
        cmocka_unit_test(test_levtoken_wipe_out),
        cmocka_unit_test(test_levtoken_rejects_bad_input_and_writes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
