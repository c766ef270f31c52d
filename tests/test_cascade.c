/* SPDX-License-Identifier: Apache-2.0 */
/* test_cascade.c: liquidation cascades and insurance-fund adequacy (risk/cascade.h).
 *
 * Pinned here: a two-account cascade computed by hand (the second account falls only through
 * the first one's market impact; without impact it stays healthy); conservation in every round
 * of random books (the equities of all accounts, counterparties and backstop included, the funds
 * and the liquidators' gains sum to what they were, within quanta; no fund goes negative);
 * termination; determinism; zero impact = the plans applied once by hand; one call equals the
 * same cascade driven a round at a time; Cover 1/2 and EMIR by hand; fund survival against the
 * Monte Carlo scenarios of risk_var_mc_scenarios() revalued by hand. Formulas: docs/stress.md. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ the hand-checked book */

typedef struct hbook {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdt, btc, perp;
    risk_account *acc[8];
    size_t n;
} hbook;

/* USDT (6 decimals), BTC at 100; a linear BTCUSDT perpetual: contract 1, lot 1, tick 0.01,
 * MM 5 %, max leverage 10 (IM 10 %). Exit target: initial margin (available >= 0). A: long 10
 * at 100 with 60 USDT; B: long 10 at 100 with 80 USDT. */
static void hbook_init(hbook *b)
{
    tu_alloc_init(&b->a);
    b->e = tu_engine(&b->a, 0);
    b->usdt = tu_asset(b->e, "USDT", 1.0, 6);
    b->btc = tu_asset(b->e, "BTC", 100.0, 8);
    risk_margin_tier t[1] = {tu_tier(1e15, 0.05, 10.0)};
    b->perp = tu_linear(b->e, "BTCUSDT", b->btc, b->usdt, 1.0, 1.0, 0.01, 100.0, t, 1);
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.exit_target = RISK_EXIT_INITIAL;
    tu_assert_status(risk_engine_set_liquidation_policy(b->e, &pol), RISK_OK);
    const double bal[2] = {60.0, 80.0};
    b->n = 2;
    for (size_t i = 0; i < 2; i++) {
        b->acc[i] = tu_account(b->e, 1 + i, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(b->acc[i], b->usdt, bal[i]);
        tu_open_simple(b->acc[i], b->perp, 10.0, 100.0);
    }
}

static void hbook_free(hbook *b)
{
    for (size_t i = 0; i < b->n; i++)
        risk_account_free(b->acc[i]);
    risk_engine_free(b->e);
}

static double qty_of(risk_account *acc, uint32_t inst)
{
    risk_position *p = NULL;
    if (risk_account_find_position(acc, inst, RISK_SIDE_BOTH, &p) != RISK_OK)
        return 0.0;
    return risk_position_qty(p);
}

/* BTC -2 %: mark 98. A (equity 40 < MM 49) is liquidated to IM: 40 >= (10 - k) x 98 x 0.1 gives
 * k = 6 sold at 98. Linear depth 3 contracts per 1 %: log move 0.01 x (-6) / 3 = -0.02, mark
 * 98 e^-0.02 = 96.0596 -> 96.06. B (equity 80 - 39.4 = 40.6 < MM 48.03) is liquidated:
 * 40.6 >= (10 - k) x 96.06 x 0.1 gives k = 6 at 96.06; mark 96.06 e^-0.02 = 94.158 -> 94.16.
 * A (4 long, 48 USDT) is liquidatable below 352 / 3.8 = 92.63 and B (4 long, 56.36 USDT) below
 * 343.64 / 3.8 = 90.43: the cascade stops after two rounds. */
static void test_cascade_two_accounts_by_hand(void **state)
{
    (void)state;
    hbook b;
    hbook_init(&b);
    double shock[2] = {0.0, -0.02};
    risk_impact imp = RISK_IMPACT_INIT;
    imp.model = RISK_IMPACT_LINEAR;
    imp.depth = 3.0;
    risk_cascade_options o = RISK_CASCADE_OPTIONS_INIT;
    o.n_steps = 1;
    o.n_assets = 2;
    o.shocks = shock;
    o.impact = &imp;
    o.n_impact = 1;
    risk_cascade_round tot = RISK_CASCADE_ROUND_INIT, rounds[8] = {RISK_CASCADE_ROUND_INIT};
    double marks[8], flow[8];
    size_t n = 0;
    tu_assert_status(risk_engine_cascade(b.e, &o, &tot, rounds, marks, flow, 8, &n), RISK_OK);
    assert_int_equal(n, 2);
    assert_int_equal(tot.round, 2);
    assert_int_equal(tot.step, 1);
    assert_int_equal(tot.capped, 0);
    assert_int_equal(tot.n_liquidated, 2);
    assert_int_equal(rounds[0].n_liquidated, 1);
    assert_int_equal(rounds[1].n_liquidated, 1);
    assert_int_equal(rounds[1].round, 1);
    tu_assert_near(marks[0], 98.0, 1e-9);
    tu_assert_near(marks[1], 96.06, 1e-9);
    tu_assert_near(flow[0], -6.0, 0.0);
    tu_assert_near(flow[1], -6.0, 0.0);
    tu_assert_near(rounds[0].market_volume, 588.0, 1e-9);
    tu_assert_near(rounds[1].market_volume, 576.36, 1e-9);
    tu_assert_near(tot.market_volume, 1164.36, 1e-9);
    double m = 0.0;
    tu_assert_status(risk_engine_mark(b.e, b.perp, &m), RISK_OK);
    tu_assert_near(m, 94.16, 1e-9);
    double p = 0.0;
    tu_assert_status(risk_engine_asset_price(b.e, b.btc, &p), RISK_OK);
    tu_assert_rel(p, 100.0 * 0.98 * exp(-0.04), 1e-12);
    tu_assert_near(qty_of(b.acc[0], b.perp), 4.0, 0.0);
    tu_assert_near(qty_of(b.acc[1], b.perp), 4.0, 0.0);
    risk_account_summary s = tu_eval(b.acc[0]);
    tu_assert_near(s.equity, 48.0 + 4.0 * (94.16 - 100.0), 1e-6); /* 24.64 */
    s = tu_eval(b.acc[1]);
    tu_assert_near(s.equity, 56.36 + 4.0 * (94.16 - 100.0), 1e-6); /* 33.00 */
    tu_assert_near(tot.bad_debt, 0.0, 0.0);
    hbook_free(&b);

    /* Without impact B is never liquidated: one round, mark 98. */
    hbook_init(&b);
    o.impact = NULL;
    o.n_impact = 0;
    tu_assert_status(risk_engine_cascade(b.e, &o, &tot, rounds, marks, flow, 8, &n), RISK_OK);
    assert_int_equal(n, 1);
    assert_int_equal(tot.n_liquidated, 1);
    tu_assert_status(risk_engine_mark(b.e, b.perp, &m), RISK_OK);
    tu_assert_near(m, 98.0, 1e-9);
    tu_assert_near(qty_of(b.acc[1], b.perp), 10.0, 0.0);
    hbook_free(&b);
}

/* The square-root law on the same book: log move -Y sigma sqrt(|Q| / V); Y = 1, sigma = 0.05,
 * V = 150 contracts a day: A's 6 contracts move the mark by -0.05 x 0.2 = -0.01:
 * 98 e^-0.01 = 97.0249 -> 97.02, above B's 96.84: one round only. */
static void test_cascade_sqrt_impact_by_hand(void **state)
{
    (void)state;
    hbook b;
    hbook_init(&b);
    double shock[2] = {0.0, -0.02};
    risk_impact imp = RISK_IMPACT_INIT;
    imp.model = RISK_IMPACT_SQRT;
    imp.y = 1.0;
    imp.sigma = 0.05;
    imp.volume = 150.0;
    risk_cascade_options o = RISK_CASCADE_OPTIONS_INIT;
    o.n_steps = 1;
    o.n_assets = 2;
    o.shocks = shock;
    o.impact = &imp;
    o.n_impact = 1;
    risk_cascade_round tot = RISK_CASCADE_ROUND_INIT;
    size_t n = 0;
    tu_assert_status(risk_engine_cascade(b.e, &o, &tot, NULL, NULL, NULL, 0, &n), RISK_OK);
    assert_int_equal(n, 1);
    assert_int_equal(tot.n_liquidated, 1);
    double m = 0.0;
    tu_assert_status(risk_engine_mark(b.e, b.perp, &m), RISK_OK);
    tu_assert_near(m, 97.02, 1e-9);
    hbook_free(&b);
}

/* The square-root law on a step's whole flow: Y = 1, sigma = 0.05, V = 24 contracts a day. A sells
 * 6 at 98: -0.05 sqrt(6 / 24) = -0.025, mark 98 e^-0.025 = 95.5804 -> 95.58. B (equity
 * 80 - 44.2 = 35.8 < MM 47.79) sells to IM: 35.8 >= (10 - k) x 9.558 gives k = 7. The step's flow
 * is now 13: the round moves by -0.05 (sqrt(13 / 24) - sqrt(6 / 24)) = -0.011799, mark
 * 95.58 e^-0.011799 = 94.4589 -> 94.46 (a law applied to the round's 7 alone would give 93.03).
 * A (4 long, 48 USDT) holds above 92.63, B (3 long, 49.06 USDT) above 88.05: two rounds. */
static void test_cascade_sqrt_law_on_the_step_flow(void **state)
{
    (void)state;
    hbook b;
    hbook_init(&b);
    double shock[2] = {0.0, -0.02};
    risk_impact imp = RISK_IMPACT_INIT;
    imp.model = RISK_IMPACT_SQRT;
    imp.y = 1.0;
    imp.sigma = 0.05;
    imp.volume = 24.0;
    risk_cascade_options o = RISK_CASCADE_OPTIONS_INIT;
    o.n_steps = 1;
    o.n_assets = 2;
    o.shocks = shock;
    o.impact = &imp;
    o.n_impact = 1;
    risk_cascade_round tot = RISK_CASCADE_ROUND_INIT, rounds[4] = {RISK_CASCADE_ROUND_INIT};
    double marks[4], flow[4];
    size_t n = 0;
    tu_assert_status(risk_engine_cascade(b.e, &o, &tot, rounds, marks, flow, 4, &n), RISK_OK);
    assert_int_equal(n, 2);
    tu_assert_near(marks[1], 95.58, 1e-9);
    tu_assert_near(flow[0], -6.0, 0.0);
    tu_assert_near(flow[1], -7.0, 0.0);
    double m = 0.0;
    tu_assert_status(risk_engine_mark(b.e, b.perp, &m), RISK_OK);
    tu_assert_near(m, 94.46, 1e-9);
    tu_assert_near(qty_of(b.acc[1], b.perp), 3.0, 0.0);
    hbook_free(&b);
}

/* ------------------------------------------------------------------ random books */

#define R_ACC 40
#define R_INST 3

typedef struct rbook {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdt, under[2], inst[R_INST];
    risk_account *acc[R_ACC + 1];
    size_t n;
} rbook;

/* USDT; BTC at 30,000 and ETH at 2,000; BTCUSDT and ETHUSDT linear perpetuals and an inverse
 * BTCUSD. Accounts long and short at 3-40x, some holding BTC as collateral. Policy variants:
 * 0 buffer target with fees and a fund; 1 report deficits (ADL) with a backstop account and an
 * empty fund; 2 socialised deficits with a small fund. */
static void rbook_init(rbook *b, uint64_t seed, int variant)
{
    tu_alloc_init(&b->a);
    b->e = tu_engine(&b->a, 0);
    b->usdt = tu_asset(b->e, "USDT", 1.0, 6);
    b->under[0] = tu_asset_w(b->e, "BTC", 30000.0, 8, 0.9, 0.95, 1.1, 1.05);
    b->under[1] = tu_asset_w(b->e, "ETH", 2000.0, 8, 0.8, 0.9, 1.2, 1.1);
    risk_margin_tier t[3] = {tu_tier(50000.0, 0.01, 50.0), tu_tier(250000.0, 0.025, 20.0), tu_tier(1e15, 0.05, 10.0)};
    b->inst[0] = tu_linear(b->e, "BTCUSDT", b->under[0], b->usdt, 1.0, 0.001, 0.1, 30000.0, t, 3);
    b->inst[1] = tu_linear(b->e, "ETHUSDT", b->under[1], b->usdt, 1.0, 0.01, 0.01, 2000.0, t, 3);
    b->inst[2] = tu_inverse(b->e, "BTCUSD", b->under[0], 100.0, 1.0, 0.5, 30000.0, t, 3);
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    if (variant == 0) {
        pol.fee = 0.005;
        pol.insurance_fee = 0.0025;
    } else if (variant == 1) {
        pol.has_backstop = 1;
        pol.backstop_account = 999;
    } else {
        pol.deficit = RISK_DEFICIT_SOCIALIZE;
        pol.price_model = RISK_PRICE_PENALTY;
    }
    tu_rng r;
    tu_rng_seed(&r, seed);
    b->n = 0;
    for (size_t i = 0; i < R_ACC; i++) {
        risk_account *acc = tu_account(b->e, 1 + i, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        b->acc[b->n++] = acc;
        double equity = tu_rng_range(&r, 1000.0, 20000.0);
        tu_balance(acc, b->usdt, equity);
        if (tu_rng_int(&r, 0, 3) == 0)
            tu_balance(acc, b->under[0], nearbyint(tu_rng_range(&r, 0.01, 0.2) * 1e8) / 1e8);
        int npos = tu_rng_int(&r, 1, 3);
        for (int k = 0; k < npos; k++) {
            int which = tu_rng_int(&r, 0, R_INST - 1);
            uint32_t in = b->inst[which];
            risk_position *existing = NULL;
            if (risk_account_find_position(acc, in, RISK_SIDE_BOTH, &existing) == RISK_OK)
                continue;
            double lev = tu_rng_range(&r, 3.0, 40.0) / npos;
            double side = i % 3 == 2 ? -1.0 : 1.0; /* two longs in three */
            double notional = equity * lev;
            double qty;
            if (which == 0)
                qty = nearbyint(notional / 30000.0 / 0.001) * 0.001;
            else if (which == 1)
                qty = nearbyint(notional / 2000.0 / 0.01) * 0.01;
            else
                qty = nearbyint(notional / 100.0);
            if (qty <= 0.0)
                continue;
            tu_open_simple(acc, in, side * qty, which == 0 ? 30000.0 : which == 1 ? 2000.0 : 30000.0);
        }
    }
    if (variant == 1) {
        risk_account *bs = tu_account(b->e, 999, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(bs, b->usdt, 5e6);
        b->acc[b->n++] = bs;
    }
    tu_assert_status(risk_engine_set_liquidation_policy(b->e, &pol), RISK_OK);
    if (variant == 0)
        tu_assert_status(risk_engine_insurance_fund_deposit(b->e, b->usdt, 20000.0), RISK_OK);
    if (variant == 2)
        tu_assert_status(risk_engine_insurance_fund_deposit(b->e, b->usdt, 500.0), RISK_OK);
}

static void rbook_free(rbook *b)
{
    for (size_t i = 0; i < b->n; i++)
        risk_account_free(b->acc[i]);
    risk_engine_free(b->e);
}

/* Square root on BTCUSDT and BTCUSD, linear on ETHUSDT; all linear with all_linear. */
static void rbook_impact(const rbook *b, risk_impact imp[R_INST], double scale, int all_linear)
{
    for (int i = 0; i < R_INST; i++) {
        imp[i] = (risk_impact)RISK_IMPACT_INIT;
        imp[i].model = i == 1 || all_linear ? RISK_IMPACT_LINEAR : RISK_IMPACT_SQRT;
        imp[i].y = 0.7;
        imp[i].sigma = 0.04;
        imp[i].volume = (i == 0 ? 20.0 : 2000.0) / scale; /* BTC, inverse contracts of 100 USD */
        imp[i].depth = (i == 2 ? 500.0 : 50.0) / scale;
    }
    (void)b;
}

/* Sum of equities of all accounts plus the funds in V. */
static double book_value(const rbook *b, double *funds_out)
{
    double sum = 0.0;
    for (size_t i = 0; i < b->n; i++)
        sum += tu_eval(b->acc[i]).equity;
    double f = 0.0;
    size_t na = 0;
    tu_assert_status(risk_engine_asset_count(b->e, &na), RISK_OK);
    for (uint32_t a = 0; a < na; a++) {
        risk_insurance_fund fund = RISK_INSURANCE_FUND_INIT;
        tu_assert_status(risk_engine_insurance_fund(b->e, a, &fund), RISK_OK);
        assert_true(fund.balance >= 0.0);
        double p = 0.0;
        tu_assert_status(risk_engine_asset_price(b->e, a, &p), RISK_OK);
        f += fund.balance * p;
    }
    *funds_out = f;
    return sum + f;
}

typedef struct market {
    double prices[3], marks[R_INST];
} market;

static void market_take(const rbook *b, market *m)
{
    for (uint32_t a = 0; a < 3; a++)
        tu_assert_status(risk_engine_asset_price(b->e, a, &m->prices[a]), RISK_OK);
    for (uint32_t i = 0; i < R_INST; i++)
        tu_assert_status(risk_engine_mark(b->e, i, &m->marks[i]), RISK_OK);
}

static void market_set(rbook *b, const market *m)
{
    for (uint32_t a = 1; a < 3; a++)
        tu_assert_status(risk_engine_set_asset_price(b->e, a, m->prices[a]), RISK_OK);
    for (uint32_t i = 0; i < R_INST; i++)
        tu_assert_status(risk_engine_set_mark(b->e, i, m->marks[i]), RISK_OK);
}

static void shock_by_hand(rbook *b, const double *shock)
{
    market m;
    market_take(b, &m);
    for (uint32_t a = 1; a < 3; a++) {
        if (shock[a] == 0.0)
            continue;
        m.prices[a] *= 1.0 + shock[a];
        for (uint32_t i = 0; i < R_INST; i++) {
            risk_instrument_spec sp = RISK_INSTRUMENT_SPEC_INIT;
            tu_assert_status(risk_engine_instrument_spec(b->e, i, &sp), RISK_OK);
            if (sp.underlying == a)
                m.marks[i] = nearbyint(m.marks[i] * (1.0 + shock[a]) / sp.tick_size) * sp.tick_size;
        }
    }
    market_set(b, &m);
}

/* Every round, driven one at a time: the equities of all parties plus the funds plus the
 * liquidators' gains, at the marks the round ran at, are what they were before it (within a
 * quantum per account and action); no fund goes negative; the cascade ends before the cap; and
 * one call with many rounds leaves the same book (bit for bit) and the same records. The
 * impact is linear here: a call of one round is a step of its own, and only a linear law is the
 * same whether a step's flow is taken at once or round by round. */
static void test_cascade_conservation_every_round(void **state)
{
    (void)state;
    const double shocks[3][3] = {{0.0, -0.12, -0.15}, {0.0, -0.2, -0.1}, {0.0, 0.15, 0.2}};
    for (int variant = 0; variant < 3; variant++)
        for (int sh = 0; sh < 3; sh++) {
            rbook b;
            rbook_init(&b, 1000 + (uint64_t)variant * 17 + (uint64_t)sh, variant);
            risk_impact imp[R_INST];
            rbook_impact(&b, imp, 1.0, 1);
            shock_by_hand(&b, shocks[sh]);
            risk_cascade_options o = RISK_CASCADE_OPTIONS_INIT;
            o.n_steps = 1;
            o.max_rounds = 1;
            o.impact = imp;
            o.n_impact = R_INST;
            size_t rounds = 0, liquidated = 0;
            market m_round[200];
            risk_cascade_round rec[200];
            for (; rounds < 200; rounds++) {
                market before;
                market_take(&b, &before);
                double f0 = 0.0, v0 = book_value(&b, &f0);
                risk_cascade_round tot = RISK_CASCADE_ROUND_INIT;
                size_t n = 0;
                tu_assert_status(risk_engine_cascade(b.e, &o, &tot, NULL, NULL, NULL, 0, &n), RISK_OK);
                if (!tot.n_liquidated)
                    break;
                assert_int_equal(tot.capped, 1);
                liquidated += tot.n_liquidated;
                market after;
                market_take(&b, &after);
                market_set(&b, &before);
                double f1 = 0.0, v1 = book_value(&b, &f1);
                /* a quantum of V per account's equity, a quantum of the coarsest asset per action
                 * (1e-8 BTC = 3e-4 USDT at 30,000: the inverse contract settles in BTC) */
                double actions = (double)(4 * tot.n_liquidated + tot.n_adl_fills + tot.n_backstop_fills);
                double tol = 1e-6 * (double)b.n + 3.1e-4 * actions + 1e-9 * fabs(v0);
                tu_assert_near(v1 + tot.liquidator_gain, v0, tol);
                tu_assert_near(f1 - f0, tot.fund_paid_in - tot.fund_drawn, 3.1e-4 * (1.0 + actions));
                assert_true(tot.fund_after >= 0.0);
                market_set(&b, &after);
                m_round[rounds] = before;
                rec[rounds] = tot;
            }
            assert_true(rounds < 200); /* terminates */
            if (sh < 2)
                assert_true(liquidated > 0);
            double equities[R_ACC + 1];
            for (size_t i = 0; i < b.n; i++)
                equities[i] = tu_eval(b.acc[i]).equity;
            market end;
            market_take(&b, &end);
            rbook_free(&b);

            /* the same cascade in one call */
            rbook_init(&b, 1000 + (uint64_t)variant * 17 + (uint64_t)sh, variant);
            rbook_impact(&b, imp, 1.0, 1);
            double shock[3];
            memcpy(shock, shocks[sh], sizeof shock);
            o.max_rounds = 1000;
            o.n_assets = 3;
            o.shocks = shock;
            risk_cascade_round tot = RISK_CASCADE_ROUND_INIT, one[200] = {RISK_CASCADE_ROUND_INIT};
            double marks[200 * R_INST];
            size_t n = 0;
            tu_assert_status(risk_engine_cascade(b.e, &o, &tot, one, marks, NULL, 200, &n), RISK_OK);
            assert_int_equal(tot.capped, 0);
            assert_int_equal(tot.round, rounds);
            assert_int_equal(tot.n_liquidated, liquidated);
            for (size_t r = 0; r < rounds; r++) {
                assert_int_equal(one[r].n_liquidated, rec[r].n_liquidated);
                tu_assert_bits(one[r].market_volume, rec[r].market_volume);
                tu_assert_bits(one[r].liquidator_gain, rec[r].liquidator_gain);
                for (size_t i = 0; i < R_INST; i++)
                    tu_assert_bits(marks[r * R_INST + i], m_round[r].marks[i]);
            }
            for (size_t i = 0; i < b.n; i++)
                tu_assert_bits(tu_eval(b.acc[i]).equity, equities[i]);
            market fin;
            market_take(&b, &fin);
            for (size_t i = 0; i < R_INST; i++)
                tu_assert_bits(fin.marks[i], end.marks[i]);
            rbook_free(&b);
        }
}

/* Two runs of the same book and path give the same records and the same book, bit for bit; a
 * path of several steps; the round cap stops a step and says so. */
/* What the progress callback saw: every round, in order. */
typedef struct seen_rounds {
    risk_cascade_round r[128];
    size_t n, n_steps_bad;
} seen_rounds;

static void seen_round(void *user, const struct risk_cascade_round *round, size_t n_steps)
{
    seen_rounds *s = user;
    if (n_steps != 4)
        s->n_steps_bad++;
    if (s->n < 128)
        s->r[s->n] = *round;
    s->n++;
}

/* The same path twice, the second run with a progress callback: the same engine and records
 * (the callback only observes), and the callback saw every round: the recorded ones (those that
 * liquidated, and each step's round 0) in the same order with the same contents, plus each
 * step's closing round that liquidated nothing. */
static void test_cascade_deterministic_and_capped(void **state)
{
    (void)state;
    double path[4 * 3] = {0.0, -0.05, -0.05, 0.0, -0.05, -0.03, 0.0, -0.04, -0.06, 0.0, 0.02, 0.01};
    risk_cascade_round rec[2][64];
    double marks[2][64 * R_INST], flow[2][64 * R_INST], eq[2][R_ACC + 1];
    size_t n[2];
    risk_cascade_round tot[2];
    static seen_rounds seen;
    seen.n = seen.n_steps_bad = 0;
    for (int run = 0; run < 2; run++) {
        rbook b;
        rbook_init(&b, 77, 0);
        risk_impact imp[R_INST];
        rbook_impact(&b, imp, 4.0, 0);
        risk_cascade_options o = RISK_CASCADE_OPTIONS_INIT;
        o.n_steps = 4;
        o.n_assets = 3;
        o.shocks = path;
        o.impact = imp;
        o.n_impact = R_INST;
        if (run == 1) {
            o.progress = seen_round;
            o.progress_user = &seen;
        }
        tot[run] = (risk_cascade_round)RISK_CASCADE_ROUND_INIT;
        rec[run][0] = (risk_cascade_round)RISK_CASCADE_ROUND_INIT;
        tu_assert_status(risk_engine_cascade(b.e, &o, &tot[run], rec[run], marks[run], flow[run], 64, &n[run]),
                         RISK_OK);
        for (size_t i = 0; i < b.n; i++)
            eq[run][i] = tu_eval(b.acc[i]).equity;
        rbook_free(&b);
    }
    assert_int_equal(n[0], n[1]);
    assert_true(n[0] >= 4 && n[0] <= 64); /* every step recorded */
    assert_int_equal(tot[0].step, 4);
    assert_true(tot[0].n_liquidated > 0);
    assert_memory_equal(&tot[0], &tot[1], sizeof tot[0]);
    assert_memory_equal(rec[0], rec[1], n[0] * sizeof rec[0][0]);
    assert_memory_equal(marks[0], marks[1], n[0] * R_INST * sizeof(double));
    assert_memory_equal(flow[0], flow[1], n[0] * R_INST * sizeof(double));
    assert_memory_equal(eq[0], eq[1], sizeof eq[0]);
    uint32_t last_step = 0;
    for (size_t r = 0; r < n[0]; r++) {
        assert_true(rec[0][r].step >= last_step);
        last_step = rec[0][r].step;
        assert_true(rec[0][r].fund_after >= 0.0);
    }
    assert_int_equal(last_step, 3);
    assert_int_equal(seen.n_steps_bad, 0);
    assert_true(seen.n > n[0] && seen.n <= 128);
    size_t k = 0, liquidating = 0;
    for (size_t r = 0; r < seen.n; r++) {
        liquidating += seen.r[r].n_liquidated > 0;
        if (seen.r[r].n_liquidated || seen.r[r].round == 0) {
            assert_true(k < n[0]);
            assert_memory_equal(&seen.r[r], &rec[1][k], sizeof seen.r[r]);
            k++;
        }
    }
    assert_int_equal(k, n[1]);
    assert_int_equal(liquidating, tot[1].round);

    /* the cap: one round per step with a strong impact stops with capped set */
    rbook b;
    rbook_init(&b, 77, 0);
    risk_impact imp[R_INST];
    rbook_impact(&b, imp, 50.0, 0);
    risk_cascade_options o = RISK_CASCADE_OPTIONS_INIT;
    o.n_steps = 1;
    o.n_assets = 3;
    o.shocks = path + 6;
    o.impact = imp;
    o.n_impact = R_INST;
    o.max_rounds = 1;
    risk_cascade_round t = RISK_CASCADE_ROUND_INIT;
    size_t cnt = 0;
    tu_assert_status(risk_engine_cascade(b.e, &o, &t, NULL, NULL, NULL, 0, &cnt), RISK_OK);
    assert_int_equal(cnt, 1);
    assert_int_equal(t.capped, 1);
    rbook_free(&b);
}

/* Zero impact: the marks never move after the shock, so the cascade is the plans of the
 * liquidatable accounts applied by hand in creation order after the same shock, pass after pass
 * until a pass applies none (a later pass only when an earlier plan's ADL fills or socialised
 * losses made an account liquidatable); with the fund covering every deficit, one pass. */
static void test_cascade_zero_impact_is_plans_once(void **state)
{
    (void)state;
    double shock[3] = {0.0, -0.15, -0.2};
    for (int variant = 0; variant < 3; variant++) {
        rbook b;
        rbook_init(&b, 4242 + (uint64_t)variant, variant);
        if (variant == 0) { /* funds that cover every deficit, in USDT and in BTC (the inverse's settle asset) */
            tu_assert_status(risk_engine_insurance_fund_deposit(b.e, b.usdt, 1e7), RISK_OK);
            tu_assert_status(risk_engine_insurance_fund_deposit(b.e, b.under[0], 1000.0), RISK_OK);
        }
        risk_cascade_options o = RISK_CASCADE_OPTIONS_INIT;
        o.n_steps = 1;
        o.n_assets = 3;
        o.shocks = shock;
        risk_cascade_round tot = RISK_CASCADE_ROUND_INIT;
        size_t n = 0;
        tu_assert_status(risk_engine_cascade(b.e, &o, &tot, NULL, NULL, NULL, 0, &n), RISK_OK);
        if (variant == 0) {
            assert_int_equal(n, 1);
            assert_int_equal(tot.round, 1);
            assert_int_equal(tot.n_adl_fills, 0);
        }
        double eq[R_ACC + 1];
        for (size_t i = 0; i < b.n; i++)
            eq[i] = tu_eval(b.acc[i]).equity;
        rbook_free(&b);

        rbook_init(&b, 4242 + (uint64_t)variant, variant);
        if (variant == 0) { /* funds that cover every deficit, in USDT and in BTC (the inverse's settle asset) */
            tu_assert_status(risk_engine_insurance_fund_deposit(b.e, b.usdt, 1e7), RISK_OK);
            tu_assert_status(risk_engine_insurance_fund_deposit(b.e, b.under[0], 1000.0), RISK_OK);
        }
        shock_by_hand(&b, shock);
        uint64_t applied = 0, passes = 0;
        for (;;) {
            uint64_t now = 0;
            for (size_t i = 0; i < b.n; i++) {
                if (tu_eval(b.acc[i]).state < RISK_STATE_LIQUIDATABLE)
                    continue;
                risk_liquidation_plan p = RISK_LIQUIDATION_PLAN_INIT;
                risk_liquidation_action acts[256];
                size_t na = 0;
                tu_assert_status(risk_account_liquidation_plan(b.acc[i], &p, acts, 256, &na), RISK_OK);
                if (!p.n_actions)
                    continue;
                tu_assert_status(risk_account_apply_plan(b.acc[i], &p, acts, p.n_actions), RISK_OK);
                now++;
            }
            if (!now)
                break;
            applied += now;
            passes++;
        }
        assert_int_equal(tot.n_liquidated, applied);
        assert_int_equal(tot.round, passes);
        assert_true(applied > 0);
        for (size_t i = 0; i < b.n; i++)
            tu_assert_bits(tu_eval(b.acc[i]).equity, eq[i]);
        rbook_free(&b);
    }
}

static void test_cascade_bad_input_changes_nothing(void **state)
{
    (void)state;
    hbook b;
    hbook_init(&b);
    tu_engine_snap es;
    tu_engine_snap_take(b.e, &es);
    double shock[2] = {0.0, -0.5};
    risk_impact imp = RISK_IMPACT_INIT;
    risk_cascade_options o = RISK_CASCADE_OPTIONS_INIT;
    o.n_steps = 1;
    o.n_assets = 2;
    o.shocks = shock;
    o.impact = &imp;
    o.n_impact = 1;
    risk_cascade_round tot = RISK_CASCADE_ROUND_INIT;
    size_t n = 0;
    tu_assert_status(risk_engine_cascade(NULL, &o, &tot, NULL, NULL, NULL, 0, &n), RISK_ENULL);
    tu_assert_status(risk_engine_cascade(b.e, NULL, &tot, NULL, NULL, NULL, 0, &n), RISK_ENULL);
    tu_assert_status(risk_engine_cascade(b.e, &o, NULL, NULL, NULL, NULL, 0, &n), RISK_ENULL);
    tu_assert_status(risk_engine_cascade(b.e, &o, &tot, NULL, NULL, NULL, 0, NULL), RISK_ENULL);
    risk_cascade_options bad = o;
    bad.version = 99;
    tu_assert_status(risk_engine_cascade(b.e, &bad, &tot, NULL, NULL, NULL, 0, &n), RISK_EVERSION);
    bad = o;
    bad.max_rounds = 0;
    tu_assert_status(risk_engine_cascade(b.e, &bad, &tot, NULL, NULL, NULL, 0, &n), RISK_EINVAL);
    bad = o;
    bad.n_steps = 0;
    tu_assert_status(risk_engine_cascade(b.e, &bad, &tot, NULL, NULL, NULL, 0, &n), RISK_EINVAL);
    bad = o;
    bad.n_assets = 3;
    tu_assert_status(risk_engine_cascade(b.e, &bad, &tot, NULL, NULL, NULL, 0, &n), RISK_EINVAL);
    bad = o;
    bad.shocks = NULL;
    tu_assert_status(risk_engine_cascade(b.e, &bad, &tot, NULL, NULL, NULL, 0, &n), RISK_ENULL);
    const double bad_moves[4] = {-1.0, NAN, INFINITY, -2.0};
    for (int k = 0; k < 4; k++) {
        shock[1] = bad_moves[k];
        tu_assert_status(risk_engine_cascade(b.e, &o, &tot, NULL, NULL, NULL, 0, &n), RISK_EINVAL);
        tu_assert_errmsg(risk_engine_errmsg(b.e));
    }
    shock[1] = -0.5;
    shock[0] = 0.1; /* the valuation asset */
    tu_assert_status(risk_engine_cascade(b.e, &o, &tot, NULL, NULL, NULL, 0, &n), RISK_EINVAL);
    shock[0] = 0.0;
    imp.model = 7;
    tu_assert_status(risk_engine_cascade(b.e, &o, &tot, NULL, NULL, NULL, 0, &n), RISK_EINVAL);
    imp.model = RISK_IMPACT_SQRT;
    imp.volume = 0.0;
    tu_assert_status(risk_engine_cascade(b.e, &o, &tot, NULL, NULL, NULL, 0, &n), RISK_EINVAL);
    imp.volume = 1.0;
    imp.sigma = NAN;
    tu_assert_status(risk_engine_cascade(b.e, &o, &tot, NULL, NULL, NULL, 0, &n), RISK_EINVAL);
    imp.sigma = 0.04;
    imp.model = RISK_IMPACT_LINEAR;
    imp.depth = -1.0;
    tu_assert_status(risk_engine_cascade(b.e, &o, &tot, NULL, NULL, NULL, 0, &n), RISK_EINVAL);
    imp.depth = 1.0;
    imp.version = 9;
    tu_assert_status(risk_engine_cascade(b.e, &o, &tot, NULL, NULL, NULL, 0, &n), RISK_EVERSION);
    imp.version = RISK_IMPACT_VERSION;
    bad = o;
    bad.n_impact = 2;
    tu_assert_status(risk_engine_cascade(b.e, &bad, &tot, NULL, NULL, NULL, 0, &n), RISK_EINVAL);
    risk_cascade_round badtot = RISK_CASCADE_ROUND_INIT;
    badtot.version = 5;
    tu_assert_status(risk_engine_cascade(b.e, &o, &badtot, NULL, NULL, NULL, 0, &n), RISK_EVERSION);
    tu_engine_snap_check(b.e, &es, 0);
    tu_assert_near(qty_of(b.acc[0], b.perp), 10.0, 0.0);
    tu_assert_near(qty_of(b.acc[1], b.perp), 10.0, 0.0);
    hbook_free(&b);
}

/* ------------------------------------------------------------------ Cover 2 */

/* Mark 100; accounts 1..6 with 100 USDT each: longs of 10, 8, 6, 2, a short of 10, and (id 6)
 * a long of 6 again (ties with id 3). At -50 %: equities 100 - 50 q: -400, -300, -200, 0,
 * +600, -200. Cover 1 = 400, Cover 2 = 700, EMIR = max(400, 300 + 200) = 500, total 1,100,
 * four deficits, third place id 3 (the smaller id of the tie). At +30 %: the short's
 * 100 - 300 = -200 alone. At 0: nothing. */
static void test_cover2_by_hand(void **state)
{
    (void)state;
    tu_alloc al;
    tu_alloc_init(&al);
    risk_engine *e = tu_engine(&al, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 100.0, 8);
    risk_margin_tier t[1] = {tu_tier(1e15, 0.05, 10.0)};
    uint32_t perp = tu_linear(e, "BTCUSDT", btc, usdt, 1.0, 1.0, 0.01, 100.0, t, 1);
    const double q[6] = {10.0, 8.0, 6.0, 2.0, -10.0, 6.0};
    risk_account *acc[6];
    for (int i = 0; i < 6; i++) {
        acc[i] = tu_account(e, (uint64_t)i + 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(acc[i], usdt, 100.0);
        tu_open_simple(acc[i], perp, q[i], 100.0);
    }
    double moves[3 * 2] = {0.0, -0.5, 0.0, 0.3, 0.0, 0.0};
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = 3;
    sc.n_assets = 2;
    sc.price_moves = moves;
    risk_cover2 out[3] = {RISK_COVER2_INIT}, out2[3] = {RISK_COVER2_INIT};
    tu_assert_status(risk_engine_cover2(e, &sc, out, 1), RISK_OK);
    tu_assert_status(risk_engine_cover2(e, &sc, out2, 3), RISK_OK);
    assert_memory_equal(out, out2, sizeof out);
    assert_int_equal(out[0].n_top, 3);
    assert_int_equal(out[0].top_ids[0], 1);
    assert_int_equal(out[0].top_ids[1], 2);
    assert_int_equal(out[0].top_ids[2], 3);
    tu_assert_near(out[0].top_deficit[0], 400.0, 0.0);
    tu_assert_near(out[0].top_deficit[1], 300.0, 0.0);
    tu_assert_near(out[0].top_deficit[2], 200.0, 0.0);
    tu_assert_near(out[0].cover1, 400.0, 0.0);
    tu_assert_near(out[0].cover2, 700.0, 0.0);
    tu_assert_near(out[0].emir, 500.0, 0.0);
    tu_assert_near(out[0].total_deficit, 1100.0, 0.0);
    assert_int_equal(out[0].n_deficit, 4);
    assert_int_equal(out[1].n_top, 1);
    assert_int_equal(out[1].top_ids[0], 5);
    tu_assert_near(out[1].cover1, 200.0, 0.0);
    tu_assert_near(out[1].cover2, 200.0, 0.0);
    tu_assert_near(out[1].emir, 200.0, 0.0);
    assert_int_equal(out[2].n_top, 0);
    tu_assert_near(out[2].cover2, 0.0, 0.0);

    /* the same with the accounts' equities from risk_engine_stress: the top two deficits */
    risk_stress_scenario book[3] = {RISK_STRESS_SCENARIO_INIT};
    double eq[6 * 3];
    uint64_t ids[6];
    size_t cnt = 0;
    tu_assert_status(risk_engine_stress(e, &sc, book, NULL, eq, NULL, NULL, ids, 6, 1, &cnt), RISK_OK);
    tu_assert_near(out[0].total_deficit, book[0].deficit, 0.0);

    /* bad input writes nothing */
    risk_cover2 keep[3];
    memcpy(keep, out, sizeof keep);
    tu_assert_status(risk_engine_cover2(NULL, &sc, out, 1), RISK_ENULL);
    tu_assert_status(risk_engine_cover2(e, NULL, out, 1), RISK_ENULL);
    tu_assert_status(risk_engine_cover2(e, &sc, NULL, 1), RISK_ENULL);
    moves[1] = -1.5;
    tu_assert_status(risk_engine_cover2(e, &sc, out, 1), RISK_EINVAL);
    moves[1] = -0.5;
    tu_assert_status(risk_engine_cover2(e, &sc, out, 999), RISK_EINVAL);
    assert_memory_equal(keep, out, sizeof keep);
    out[0].version = 3;
    tu_assert_status(risk_engine_cover2(e, &sc, out, 1), RISK_EVERSION);
    for (int i = 0; i < 6; i++)
        risk_account_free(acc[i]);
    risk_engine_free(e);
}

/* ------------------------------------------------------------------ fund survival */

/* Survival against the generator's own scenarios, revalued here: for each row x of
 * risk_var_mc_scenarios (same seed), move BTC by exp(x) - 1, take risk_engine_stress's book
 * deficit, count those at most the fund. Also: the count moves with the fund; same for any
 * thread count; reproducible by seed. */
static void test_fund_survival_against_generator(void **state)
{
    (void)state;
    rbook b;
    rbook_init(&b, 99, 0);
    const size_t N = 300;
    double cov[4] = {0.0016, 0.0012, 0.0012, 0.0025}; /* 4 % and 5 % a period, correlation 0.6 */
    uint32_t assets[2] = {b.under[0], b.under[1]};
    risk_var_mc_options mc = RISK_VAR_MC_OPTIONS_INIT;
    mc.seed = 20221108;
    mc.distribution = RISK_VAR_MC_STUDENT_T;
    mc.horizon_periods = 4.0;
    double x[300 * 2], work[4];
    tu_assert_status(risk_var_mc_scenarios(x, cov, 2, N, &mc, work, 4), RISK_OK);
    double moves[300 * 3], deficit[300];
    for (size_t s = 0; s < N; s++) {
        moves[s * 3] = 0.0;
        moves[s * 3 + 1] = expm1(x[s * 2]);
        moves[s * 3 + 2] = expm1(x[s * 2 + 1]);
    }
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = N;
    sc.n_assets = 3;
    sc.price_moves = moves;
    risk_stress_scenario book[300];
    book[0] = (risk_stress_scenario)RISK_STRESS_SCENARIO_INIT;
    size_t cnt = 0;
    tu_assert_status(risk_engine_stress(b.e, &sc, book, NULL, NULL, NULL, NULL, NULL, 0, 1, &cnt), RISK_OK);
    double dmax = 0.0;
    for (size_t s = 0; s < N; s++) {
        deficit[s] = book[s].deficit;
        dmax = deficit[s] > dmax ? deficit[s] : dmax;
    }
    assert_true(dmax > 0.0);
    const double funds[3] = {0.0, dmax / 4.0, dmax};
    for (int f = 0; f < 3; f++) {
        uint64_t survived = 0;
        for (size_t s = 0; s < N; s++)
            survived += deficit[s] <= funds[f];
        risk_fund_survival r = RISK_FUND_SURVIVAL_INIT, r3 = RISK_FUND_SURVIVAL_INIT;
        tu_assert_status(risk_engine_fund_survival(b.e, assets, cov, 2, N, &mc, funds[f], 0.99, 1, &r), RISK_OK);
        tu_assert_status(risk_engine_fund_survival(b.e, assets, cov, 2, N, &mc, funds[f], 0.99, 3, &r3), RISK_OK);
        assert_memory_equal(&r, &r3, sizeof r);
        assert_int_equal(r.n, N);
        assert_int_equal(r.n_survived, survived);
        tu_assert_bits(r.survival, (double)survived / (double)N);
        tu_assert_near(r.deficit_max, dmax, 0.0);
        /* the 99 % fund: 300 x 0.01 = 3 scenarios in the tail, the 4th largest deficit */
        double sorted[300];
        memcpy(sorted, deficit, sizeof sorted);
        for (size_t i = 1; i < N; i++)
            for (size_t j = i; j > 0 && sorted[j] > sorted[j - 1]; j--) {
                double tmp = sorted[j];
                sorted[j] = sorted[j - 1];
                sorted[j - 1] = tmp;
            }
        tu_assert_near(r.fund_needed, sorted[3], 0.0);
        tu_assert_rel(r.deficit_es, (sorted[0] + sorted[1] + sorted[2]) / 3.0, 1e-12);
        if (f == 2)
            assert_int_equal(r.n_survived, N);
    }
    risk_fund_survival r = RISK_FUND_SURVIVAL_INIT;
    uint32_t dup[2] = {b.under[0], b.under[0]};
    tu_assert_status(risk_engine_fund_survival(b.e, dup, cov, 2, N, &mc, 0.0, 0.99, 1, &r), RISK_EINVAL);
    uint32_t val[2] = {b.usdt, b.under[0]};
    tu_assert_status(risk_engine_fund_survival(b.e, val, cov, 2, N, &mc, 0.0, 0.99, 1, &r), RISK_EINVAL);
    tu_assert_status(risk_engine_fund_survival(b.e, assets, cov, 2, N, &mc, -1.0, 0.99, 1, &r), RISK_EINVAL);
    tu_assert_status(risk_engine_fund_survival(b.e, assets, cov, 2, N, &mc, 0.0, 1.0, 1, &r), RISK_EINVAL);
    tu_assert_status(risk_engine_fund_survival(b.e, assets, cov, 2, 0, &mc, 0.0, 0.99, 1, &r), RISK_EINVAL);
    double bad_cov[4] = {0.0016, 0.01, 0.01, 0.0025}; /* not positive semi-definite */
    tu_assert_status(risk_engine_fund_survival(b.e, assets, bad_cov, 2, N, &mc, 0.0, 0.99, 1, &r), RISK_EINVAL);
    uint32_t unknown[2] = {b.under[0], 40};
    tu_assert_status(risk_engine_fund_survival(b.e, unknown, cov, 2, N, &mc, 0.0, 0.99, 1, &r), RISK_ENOTFOUND);
    assert_int_equal(r.n, 0);
    rbook_free(&b);
}

/* ------------------------------------------------------------------ out of memory */

typedef struct oomfx {
    risk_engine *e;
    risk_account *acc[6];
    uint32_t perp;
    risk_cover2 cover[2];
    risk_fund_survival surv;
    risk_cascade_round tot;
    int which; /* 0 cover2, 1 fund survival, 2 cascade */
} oomfx;

static int oom_which;

/* Six accounts on BTCUSDT at 100 (as test_cover2_by_hand), MM 5 %, IM 10 %, exit to IM. */
static void *oom_setup(tu_alloc *a)
{
    oomfx *f = test_calloc(1, sizeof *f);
    f->which = oom_which;
    f->e = tu_engine(a, 0);
    uint32_t usdt = tu_asset(f->e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(f->e, "BTC", 100.0, 8);
    risk_margin_tier t[1] = {tu_tier(1e15, 0.05, 10.0)};
    f->perp = tu_linear(f->e, "BTCUSDT", btc, usdt, 1.0, 1.0, 0.01, 100.0, t, 1);
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.exit_target = RISK_EXIT_INITIAL;
    tu_assert_status(risk_engine_set_liquidation_policy(f->e, &pol), RISK_OK);
    const double q[6] = {10.0, 8.0, 6.0, 2.0, -10.0, 6.0};
    for (int i = 0; i < 6; i++) {
        f->acc[i] = tu_account(f->e, (uint64_t)i + 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        tu_balance(f->acc[i], usdt, 100.0);
        tu_open_simple(f->acc[i], f->perp, q[i], 100.0);
    }
    for (int i = 0; i < 2; i++)
        f->cover[i] = (risk_cover2)RISK_COVER2_INIT;
    f->surv = (risk_fund_survival)RISK_FUND_SURVIVAL_INIT;
    f->tot = (risk_cascade_round)RISK_CASCADE_ROUND_INIT;
    return f;
}

static int oom_op(void *p)
{
    oomfx *f = p;
    double moves[4] = {0.0, -0.5, 0.0, 0.3};
    if (f->which == 0) {
        risk_scenarios sc = RISK_SCENARIOS_INIT;
        sc.n_scenarios = 2;
        sc.n_assets = 2;
        sc.price_moves = moves;
        return risk_engine_cover2(f->e, &sc, f->cover, 1);
    }
    if (f->which == 1) {
        uint32_t btc = 1;
        double cov = 0.04 * 0.04;
        return risk_engine_fund_survival(f->e, &btc, &cov, 1, 50, NULL, 100.0, 0.95, 1, &f->surv);
    }
    double shock[2] = {0.0, -0.08};
    risk_impact imp = RISK_IMPACT_INIT;
    imp.model = RISK_IMPACT_LINEAR;
    imp.depth = 3.0;
    risk_cascade_options o = RISK_CASCADE_OPTIONS_INIT;
    o.n_steps = 1;
    o.n_assets = 2;
    o.shocks = shock;
    o.impact = &imp;
    o.n_impact = 1;
    size_t n = 0;
    return risk_engine_cascade(f->e, &o, &f->tot, NULL, NULL, NULL, 0, &n);
}

/* A failed Cover 2 or survival call writes nothing; a failed cascade reports RISK_ENOMEM (the
 * engine holds the rounds run before it: documented). */
static void oom_check_failed(void *p)
{
    oomfx *f = p;
    if (f->which == 0)
        assert_int_equal(f->cover[0].n_top, 0);
    if (f->which == 1)
        assert_int_equal(f->surv.n, 0);
}

static void oom_check_ok(void *p)
{
    oomfx *f = p;
    if (f->which == 0)
        tu_assert_near(f->cover[0].cover2, 700.0, 0.0);
    if (f->which == 1)
        assert_int_equal(f->surv.n, 50);
    if (f->which == 2)
        assert_true(f->tot.n_liquidated > 0);
}

static void oom_teardown(void *p)
{
    oomfx *f = p;
    for (int i = 0; i < 6; i++)
        risk_account_free(f->acc[i]);
    risk_engine_free(f->e);
    test_free(f);
}

static void test_cascade_out_of_memory(void **state)
{
    (void)state;
    const tu_oom_case c = {oom_setup, oom_op, oom_check_failed, oom_check_ok, oom_teardown};
    for (oom_which = 0; oom_which < 3; oom_which++)
        assert_true(tu_oom_walk(&c) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cascade_two_accounts_by_hand),
        cmocka_unit_test(test_cascade_sqrt_impact_by_hand),
        cmocka_unit_test(test_cascade_sqrt_law_on_the_step_flow),
        cmocka_unit_test(test_cascade_conservation_every_round),
        cmocka_unit_test(test_cascade_deterministic_and_capped),
        cmocka_unit_test(test_cascade_zero_impact_is_plans_once),
        cmocka_unit_test(test_cascade_bad_input_changes_nothing),
        cmocka_unit_test(test_cover2_by_hand),
        cmocka_unit_test(test_fund_survival_against_generator),
        cmocka_unit_test(test_cascade_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
