/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_optimise: the borrowing-cost optimiser (risk_account_optimise, include/risk/optimise.h)
 * on an account with 10 candidate assets, against one evaluation (risk_account_evaluate) of the
 * same account in the same run. docs/rates.md section 10.6.
 *
 * The account: USDT, 3 more stablecoins and 6 volatile assets (3 with 3 value tiers each), rate
 * models on 4 of them (Aave, Comet, Drift, flat), 8 balances (2 debts) and 2 perpetual positions.
 * The question: 25,000 of cash from any stablecoin plus 20,000 of IM and 8,000 of MM for a new
 * position, floors 1.25 (init) and 1.5 (maint), an LTV buffer of 0.1; every asset may be posted,
 * withdrawn and borrowed within caps. Calls: [calls] (default 20,000) optimisations, best of
 * [rounds] (default 5); the evaluation loop makes 100 times as many calls.
 */
#include "bench_util.h"

#include <math.h>

#define N_ASSETS 10

int main(int argc, char **argv)
{
    size_t calls = 20000;
    int rounds = 5;
    if (!bench_args(argc, argv, "bench_optimise [calls] [rounds]", &calls, &rounds, NULL))
        return 2;
    if (calls > 200000) /* make bench passes the same arguments to every benchmark (book sizes) */
        calls = 200000;
    risk_engine *e = NULL;
    risk_engine_options eo = RISK_ENGINE_OPTIONS_INIT;
    CHECK(risk_engine_new(&e, &eo));
    static const char *sym[N_ASSETS] = {"USDT", "USDC", "DAI", "FDUSD", "BTC", "ETH", "SOL", "BNB", "XRP", "DOGE"};
    static const double price[N_ASSETS] = {1.0, 1.0, 1.0, 1.0, 50000.0, 2500.0, 150.0, 600.0, 0.6, 0.15};
    uint32_t id[N_ASSETS];
    risk_value_tier tiers[3][3] = {{{10.0, 1.0}, {50.0, 0.95}, {INFINITY, 0.9}},
                                   {{100.0, 1.0}, {500.0, 0.9}, {INFINITY, 0.8}},
                                   {{2000.0, 0.95}, {10000.0, 0.9}, {INFINITY, 0.7}}};
    for (int k = 0; k < N_ASSETS; k++) {
        risk_asset_spec s = RISK_ASSET_SPEC_INIT;
        s.symbol = sym[k];
        s.price = price[k];
        s.decimals = k < 4 ? 6 : 8;
        s.weight_init = k < 4 ? 0.95 : 0.8 - 0.02 * k;
        s.weight_maint = s.weight_init + 0.05;
        s.liab_weight_init = k < 4 ? 1.0 : 1.1;
        s.liab_weight_maint = k < 4 ? 1.0 : 1.05;
        if (k >= 4 && k < 7) {
            s.value_tiers = tiers[k - 4];
            s.n_value_tiers = 3;
        }
        CHECK(risk_engine_add_asset(e, &s, &id[k]));
    }
    CHECK(risk_engine_set_valuation_asset(e, id[0]));
    risk_rate_model m = RISK_RATE_MODEL_INIT;
    m.kind = RISK_RATE_MODEL_AAVE;
    m.aave_optimal_usage = 0.8, m.aave_slope1 = 0.04, m.aave_slope2 = 0.75, m.reserve_factor = 0.1;
    CHECK(risk_engine_set_rate_model(e, id[0], &m));
    m = (risk_rate_model)RISK_RATE_MODEL_INIT;
    m.kind = RISK_RATE_MODEL_COMET;
    m.comet_supply_kink = m.comet_borrow_kink = 0.8;
    m.comet_supply_slope_low = 0.04, m.comet_supply_slope_high = 0.4;
    m.comet_borrow_base = 0.01, m.comet_borrow_slope_low = 0.05, m.comet_borrow_slope_high = 0.3;
    CHECK(risk_engine_set_rate_model(e, id[1], &m));
    m = (risk_rate_model)RISK_RATE_MODEL_INIT;
    m.kind = RISK_RATE_MODEL_DRIFT;
    m.drift_optimal_utilisation = 0.7, m.drift_optimal_rate = 0.1, m.drift_max_rate = 5.0;
    CHECK(risk_engine_set_rate_model(e, id[4], &m));
    m = (risk_rate_model)RISK_RATE_MODEL_INIT;
    m.kind = RISK_RATE_MODEL_FLAT;
    m.flat_borrow_hourly = 0.00001;
    CHECK(risk_engine_set_rate_model(e, id[5], &m));
    risk_rate_pool pool = RISK_RATE_POOL_INIT;
    pool.supply = 1e8, pool.borrow = 6e7, pool.updated_unix_s = 1764633600;
    for (int k = 0; k < 6; k++)
        if (k == 0 || k == 1 || k == 4 || k == 5)
            CHECK(risk_engine_set_rate_pool(e, id[k], &pool));
    risk_margin_tier mt[3] = {{50000.0, 0.004, 125.0, 0.0, 0u}, {250000.0, 0.005, 100.0, 0.0, 0u},
                              {1e9, 0.01, 50.0, 0.0, 0u}};
    uint32_t inst[2];
    for (int k = 0; k < 2; k++) {
        risk_instrument_spec s = RISK_INSTRUMENT_SPEC_INIT;
        s.symbol = k ? "ETHUSDT" : "BTCUSDT";
        s.kind = RISK_KIND_PERPETUAL;
        s.underlying = id[4 + k];
        s.settle = id[0];
        s.contract_size = 1.0;
        s.lot_size = 0.001;
        s.tick_size = 0.01;
        s.mark = price[4 + k];
        s.tiers = mt;
        s.n_tiers = 3;
        CHECK(risk_engine_add_instrument(e, &s, &inst[k]));
    }
    risk_account *acc = NULL;
    CHECK(risk_account_new(&acc, e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY));
    risk_basket *b = risk_account_basket(acc);
    static const double bal[N_ASSETS] = {-20000.0, 15000.0, 5000.0, 0.0, 3.0, 20.0, 300.0, 0.0, -5000.0, 100000.0};
    for (int k = 0; k < N_ASSETS; k++)
        CHECK(risk_basket_set_balance(b, id[k], bal[k]));
    risk_position *pos = NULL;
    risk_position_spec ps = RISK_POSITION_SPEC_INIT;
    ps.instrument = inst[0], ps.qty = 1.5, ps.entry = 48000.0;
    CHECK(risk_account_open_position(acc, &ps, &pos));
    ps.instrument = inst[1], ps.qty = -10.0, ps.entry = 2600.0;
    CHECK(risk_account_open_position(acc, &ps, &pos));

    risk_optimise_asset cand[N_ASSETS];
    for (int k = 0; k < N_ASSETS; k++) {
        risk_optimise_asset c = RISK_OPTIMISE_ASSET_INIT;
        c.asset = id[k];
        double units = 200000.0 / price[k]; /* 200,000 of value either way */
        c.post_max = units;
        c.withdraw_max = units;
        c.borrow_max = units / 2.0;
        c.outside_annual = k < 4 ? 0.03 : 0.01;
        if (k < 4)
            c.flags |= RISK_OPTIMISE_CASH;
        if (k != 0 && k != 1 && k != 4 && k != 5) { /* no rate model: the venue's quote */
            c.flags |= RISK_OPTIMISE_RATES_GIVEN;
            c.borrow_annual = 0.05 + 0.01 * k;
            c.supply_annual = 0.02 + 0.002 * k;
        }
        cand[k] = c;
    }
    risk_optimise_spec sp = RISK_OPTIMISE_SPEC_INIT;
    sp.flags = RISK_OPTIMISE_LTV_BUFFER;
    sp.ltv_buffer_min = 0.1;
    sp.health_init_min = 1.25;
    sp.health_maint_min = 1.5;
    sp.im_value = 20000.0;
    sp.mm_value = 8000.0;
    sp.cash_value = 25000.0;

    printf("librisk %s borrowing-cost optimiser benchmark\n", risk_version_string());
    printf("account: %d candidate assets (3 tiered, 4 with rate models), 2 positions; %zu calls, best of %d rounds\n",
           N_ASSETS, calls, rounds);
    risk_optimise_result r = RISK_OPTIMISE_RESULT_INIT;
    risk_optimise_move mv[N_ASSETS];
    double best_opt = INFINITY, best_eval = INFINITY, sink = 0.0;
    for (int round = 0; round < rounds; round++) {
        double t0 = bench_now_s();
        for (size_t i = 0; i < calls; i++) {
            r = (risk_optimise_result)RISK_OPTIMISE_RESULT_INIT;
            for (int k = 0; k < N_ASSETS; k++)
                mv[k] = (risk_optimise_move)RISK_OPTIMISE_MOVE_INIT;
            CHECK(risk_account_optimise(acc, &sp, cand, N_ASSETS, &r, mv));
            sink += r.cost_horizon;
        }
        bench_keep_best(&best_opt, (bench_now_s() - t0) / (double)calls);
        size_t n_eval = calls * 100;
        risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
        t0 = bench_now_s();
        for (size_t i = 0; i < n_eval; i++) {
            CHECK(risk_account_evaluate(acc, &s));
            sink += s.equity;
        }
        bench_keep_best(&best_eval, (bench_now_s() - t0) / (double)n_eval);
    }
    bench_use(sink);
    if (r.outcome != RISK_OPTIMISE_OPTIMAL || !(r.duality_gap <= 1e-9 * (1.0 + fabs(r.cost_horizon))) ||
        r.health_init < 1.25 * (1.0 - 1e-12) || r.health_maint < 1.5 * (1.0 - 1e-12)) {
        fprintf(stderr, "bench_optimise: the plan is not certified optimal (outcome %u, gap %g)\n", r.outcome,
                r.duality_gap);
        return 1;
    }
    printf("\nplan: cost %.2f a year (current mix %.2f), %u simplex steps, duality gap %.3g\n", r.cost_annual,
           r.baseline_cost_annual, r.iterations, r.duality_gap);
    printf("optimise, 10 assets:        %10.3f us\n", best_opt * 1e6);
    printf("one account evaluation:     %10.3f us\n", best_eval * 1e6);
    printf("optimise / evaluation:      %10.1f\n", best_opt / best_eval);
    printf("result optimise_us %.3f\n", best_opt * 1e6);
    printf("result evaluate_us %.4f\n", best_eval * 1e6);
    printf("result optimise_over_evaluate %.1f\n", best_opt / best_eval);
    printf("result iterations %u\n", r.iterations);
    risk_account_free(acc);
    risk_engine_free(e);
    return 0;
}
