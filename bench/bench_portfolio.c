/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_portfolio.c - portfolio margin of an option book (issue 10, section 5).
 *
 * An engine with USD (6 decimals) and BTC at 50,000, a perpetual and 4 dated futures, and 50
 * options (5 expiries of 7 to 180 days x 5 strikes x call/put, priced by the engine from mark
 * vols); each account holds all 55 positions (random signed sizes) and USD. Timed, single
 * thread, best of rounds, in the same run:
 * - risk_account_portfolio_margin() under the default Deribit risk matrix (one risk unit,
 *   35 scenarios: 9 prices x 3 vols + 8 extended moves), us per account (target < 50 us);
 * - risk_engine_portfolio_margin_all(): the same results for every portfolio account, each
 *   underlying's grid priced once for the batch;
 * - risk_account_evaluate() of the same accounts in portfolio mode (the margin and the rest);
 * - risk_account_scenario_pnl() of the same 35 scenarios (the primitive alone);
 * - risk_account_evaluate() of the same book in cross mode (standard margin), the baseline.
 * Checks that the portfolio summaries' MM and the batch's results equal the single call's.
 *
 * Usage: bench_portfolio [accounts [rounds]]    (defaults 2000, 5)
 */
#include "bench_util.h"

#include <math.h>
#include <string.h>

#define N_FUT 5
#define N_OPT 50

int main(int argc, char **argv)
{
    size_t n = 2000;
    int rounds = 5;
    if (!bench_args(argc, argv, "bench_portfolio [accounts [rounds]]", &n, &rounds, NULL))
        return 2;
    if (n > 100000)
        n = 100000;
    risk_engine *e;
    CHECK(risk_engine_new(&e, NULL));
    uint32_t usd, btc;
    risk_asset_spec as = RISK_ASSET_SPEC_INIT;
    as.symbol = "USD";
    as.price = 1.0;
    as.decimals = 6;
    CHECK(risk_engine_add_asset(e, &as, &usd));
    as.symbol = "BTC";
    as.price = 50000.0;
    as.decimals = 8;
    CHECK(risk_engine_add_asset(e, &as, &btc));
    const int64_t now = 1767225600;
    CHECK(risk_engine_set_time(e, now));
    uint32_t inst[N_FUT + N_OPT];
    risk_margin_tier tiers[3] = {{250000.0, 0.005, 100.0, 0.0, 0u}, {2500000.0, 0.01, 50.0, 0.0, 0u},
                                 {1e12, 0.02, 25.0, 0.0, 0u}};
    char sym[32];
    for (int k = 0; k < N_FUT; k++) {
        risk_instrument_spec s = RISK_INSTRUMENT_SPEC_INIT;
        snprintf(sym, sizeof sym, "BTC-F%d", k);
        s.symbol = sym;
        s.underlying = btc;
        s.settle = usd;
        s.lot_size = 0.001;
        s.tick_size = 0.5;
        s.mark = 50000.0 + 100.0 * k;
        s.tiers = tiers;
        s.n_tiers = 3;
        if (k) {
            s.kind = RISK_KIND_FUTURE;
            s.expiry_unix_s = now + (int64_t)k * 30 * 86400;
        }
        CHECK(risk_engine_add_instrument(e, &s, &inst[k]));
    }
    const int days[5] = {7, 30, 60, 90, 180};
    const double strikes[5] = {40000, 45000, 50000, 55000, 60000};
    for (int k = 0; k < N_OPT; k++) {
        int x = k / 10, y = (k / 2) % 5, put = k % 2;
        risk_instrument_spec s = RISK_INSTRUMENT_SPEC_INIT;
        snprintf(sym, sizeof sym, "BTC-%dD-%.0f-%c", days[x], strikes[y], put ? 'P' : 'C');
        s.kind = RISK_KIND_OPTION;
        s.symbol = sym;
        s.underlying = btc;
        s.settle = usd;
        s.expiry_unix_s = now + (int64_t)days[x] * 86400;
        s.contract_size = 0.1;
        s.lot_size = 1.0;
        s.tick_size = 0.01;
        s.strike = strikes[y];
        s.option_type = put ? RISK_OPTION_PUT : RISK_OPTION_CALL;
        s.mark_vol = 0.5 + 0.02 * y + 0.01 * x;
        CHECK(risk_engine_add_instrument(e, &s, &inst[N_FUT + k]));
    }
    risk_account **pf = malloc(n * sizeof *pf), **cr = malloc(n * sizeof *cr);
    if (!pf || !cr)
        return 1;
    bench_seed();
    for (size_t a = 0; a < n; a++) {
        CHECK(risk_account_new(&pf[a], e, 2 * a + 1, RISK_MARGIN_PORTFOLIO, RISK_POSITION_ONE_WAY));
        CHECK(risk_account_new(&cr[a], e, 2 * a + 2, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY));
        CHECK(risk_basket_set_balance(risk_account_basket(pf[a]), usd, 1e6));
        CHECK(risk_basket_set_balance(risk_account_basket(cr[a]), usd, 1e6));
        for (int k = 0; k < N_FUT + N_OPT; k++) {
            risk_position_spec ps = RISK_POSITION_SPEC_INIT;
            ps.instrument = inst[k];
            double mark;
            CHECK(risk_engine_mark(e, inst[k], &mark));
            double lots = 1.0 + floor(20.0 * bench_rnd());
            ps.qty = (bench_rnd() < 0.5 ? -1.0 : 1.0) * lots * (k < N_FUT ? 0.001 : 1.0);
            double tick = k < N_FUT ? 0.5 : 0.01;
            ps.entry = fmax(tick, nearbyint(mark / tick) * tick);
            risk_position *pos;
            CHECK(risk_account_open_position(pf[a], &ps, &pos));
            CHECK(risk_account_open_position(cr[a], &ps, &pos));
        }
    }
    /* the same 35 scenarios for the primitive alone */
    risk_portfolio_margin_params p = RISK_PORTFOLIO_MARGIN_PARAMS_INIT;
    double gm[64], gv[64], gw[64], moves[64 * 2], vols[64 * 2], pnl[64];
    size_t K;
    CHECK(risk_portfolio_margin_grid(gm, gv, gw, 64, &p, &K));
    memset(moves, 0, sizeof moves);
    memset(vols, 0, sizeof vols);
    for (size_t k = 0; k < K; k++) {
        moves[k * 2 + btc] = gm[k];
        vols[k * 2 + btc] = gv[k];
    }
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = K;
    sc.n_assets = 2;
    sc.price_moves = moves;
    sc.vol_moves = vols;
    sc.weights = gw;
    sc.vol_term_power_short = p.vol_term_power_short;
    sc.vol_term_power_long = p.vol_term_power_long;

    risk_portfolio_margin_result *batch = malloc(n * sizeof *batch);
    if (!batch)
        return 1;
    double best_all = INFINITY;
    double best_pm = INFINITY, best_eval_pf = INFINITY, best_pnl = INFINITY, best_eval_cr = INFINITY, sink = 0.0;
    int bad = 0;
    for (int r = 0; r < rounds; r++) {
        double t = bench_now_s();
        for (size_t a = 0; a < n; a++) {
            risk_portfolio_margin_result res = RISK_PORTFOLIO_MARGIN_RESULT_INIT;
            CHECK(risk_account_portfolio_margin(&res, NULL, 0, pf[a], NULL));
            sink += res.maintenance_margin;
        }
        bench_keep_best(&best_pm, bench_now_s() - t);
        t = bench_now_s();
        size_t cnt = 0;
        batch[0].version = RISK_PORTFOLIO_MARGIN_RESULT_VERSION;
        CHECK(risk_engine_portfolio_margin_all(batch, NULL, n, e, NULL, &cnt));
        bench_keep_best(&best_all, bench_now_s() - t);
        sink += batch[cnt - 1].maintenance_margin;
        t = bench_now_s();
        for (size_t a = 0; a < n; a++) {
            risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
            CHECK(risk_account_evaluate(pf[a], &s));
            sink += s.maintenance_margin;
        }
        bench_keep_best(&best_eval_pf, bench_now_s() - t);
        t = bench_now_s();
        for (size_t a = 0; a < n; a++) {
            CHECK(risk_account_scenario_pnl(pf[a], &sc, pnl, NULL));
            sink += pnl[0];
        }
        bench_keep_best(&best_pnl, bench_now_s() - t);
        t = bench_now_s();
        for (size_t a = 0; a < n; a++) {
            risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
            CHECK(risk_account_evaluate(cr[a], &s));
            sink += s.maintenance_margin;
        }
        bench_keep_best(&best_eval_cr, bench_now_s() - t);
    }
    for (size_t a = 0; a < n && a < 100; a++) {
        risk_portfolio_margin_result res = RISK_PORTFOLIO_MARGIN_RESULT_INIT;
        risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
        CHECK(risk_account_portfolio_margin(&res, NULL, 0, pf[a], NULL));
        CHECK(risk_account_evaluate(pf[a], &s));
        bad += s.maintenance_margin != res.maintenance_margin;
        bad += batch[a].maintenance_margin != res.maintenance_margin || batch[a].worst_loss != res.worst_loss;
    }
    bench_use(sink);
    double us = 1e6 / (double)n;
    printf("bench_portfolio: %zu accounts x %d positions (%d futures, %d options), %zu scenarios a unit, best of %d\n",
           n, N_FUT + N_OPT, N_FUT, N_OPT, K, rounds);
    printf("  portfolio margin (risk_account_portfolio_margin)  %8.2f us/account\n", best_pm * us);
    printf("  portfolio margin, engine batch (_all)            %8.2f us/account\n", best_all * us);
    printf("  evaluate, portfolio mode                         %8.2f us/account\n", best_eval_pf * us);
    printf("  scenario P&L, same %zu scenarios (primitive)      %8.2f us/account\n", K, best_pnl * us);
    printf("  evaluate, cross mode (standard margin, baseline) %8.2f us/account\n", best_eval_cr * us);
    printf("result portfolio_margin_us %.3f\n", best_pm * us);
    printf("result portfolio_margin_batch_us %.3f\n", best_all * us);
    printf("result portfolio_evaluate_us %.3f\n", best_eval_pf * us);
    printf("result scenario_pnl_us %.3f\n", best_pnl * us);
    printf("result cross_evaluate_us %.3f\n", best_eval_cr * us);
    printf("result portfolio_vs_cross_ratio %.2f\n", best_pm / best_eval_cr);
    printf("result portfolio_margin_target_met %d\n", best_pm * us < 50.0);
    printf("result portfolio_margin_batch_target_met %d\n", best_all * us < 50.0);
    for (size_t a = 0; a < n; a++) {
        risk_account_free(pf[a]);
        risk_account_free(cr[a]);
    }
    free(pf);
    free(cr);
    free(batch);
    risk_engine_free(e);
    if (bad) {
        fprintf(stderr, "bench_portfolio: %d summaries disagree with the portfolio margin\n", bad);
        return 1;
    }
    return 0;
}
