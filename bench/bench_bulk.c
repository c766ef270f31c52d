/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_bulk: loading a book from columns (risk/bulk.h) against the single calls, and the
 * columnar results against the struct-returning calls.
 *
 * The book is bench_evaluate's shape: 10^6 cross one-way accounts (default), each with a USDT
 * balance and 8 positions on 8 linear perpetuals, drawn once into columns (as a loader reads them
 * from a database). Each round builds two fresh engines from the same columns:
 *   single  risk_account_new, risk_basket_set_balance, risk_account_open_position per row;
 *   bulk    risk_engine_add_accounts, risk_engine_set_balances, risk_engine_open_positions;
 * and times each step. Then, on the bulk engine:
 *   evaluate_all          risk_engine_evaluate_all into an array of summaries (1 thread);
 *   evaluate_columns      risk_engine_evaluate_columns with every field (1 thread);
 *   position_results      risk_account_position_results for every account;
 *   position_columns      risk_engine_position_results_columns with every field.
 * Checks: both engines give bit-identical summaries; the columns equal the structs bit for bit.
 *
 * usage: bench_bulk [accounts] [rounds]
 */
#include "bench_util.h"

#include <string.h>

#define N_POS 8

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

int main(int argc, char **argv)
{
    size_t n = 1000000;
    int rounds = 3;
    if (!bench_args(argc, argv, "bench_bulk [accounts] [rounds]", &n, &rounds, NULL))
        return 2;
    size_t np = n * N_POS;
    uint64_t *acc_id = malloc(n * sizeof *acc_id), *pos_acc = malloc(np * sizeof *pos_acc);
    uint32_t *bal_asset = malloc(n * sizeof *bal_asset), *pos_inst = malloc(np * sizeof *pos_inst);
    double *bal = malloc(n * sizeof *bal), *qty = malloc(np * sizeof *qty), *entry = malloc(np * sizeof *entry);
    if (!acc_id || !pos_acc || !bal_asset || !pos_inst || !bal || !qty || !entry)
        return 1;
    bench_market m0;
    bench_market_new(&m0, N_POS);
    bench_seed();
    for (size_t k = 0; k < n; k++) {
        acc_id[k] = 1000003ULL * k + 17; /* sparse ids, as a database's */
        double gross = 0.0;
        for (uint32_t p = 0; p < N_POS; p++) {
            size_t i = k * N_POS + p;
            double mark = 10.0 * (p + 1);
            double notional = 100.0 * (1.0 + 999.0 * bench_rnd());
            double lots = (double)(long long)(notional / mark / 0.001) + 1.0;
            pos_acc[i] = acc_id[k];
            pos_inst[i] = m0.inst[p];
            qty[i] = (bench_rnd() < 0.5 ? -1.0 : 1.0) * lots * 0.001;
            entry[i] = mark * (0.97 + 0.06 * bench_rnd());
            gross += lots * 0.001 * mark;
        }
        bal_asset[k] = m0.usdt;
        bal[k] = (double)(long long)(gross * (0.005 + 0.05 * bench_rnd()) * 1e6) / 1e6;
    }
    risk_engine_free(m0.engine);

    double best_single[4] = {1e9, 1e9, 1e9, 1e9}, best_bulk[4] = {1e9, 1e9, 1e9, 1e9};
    double best_eval_all = 1e9, best_eval_cols = 1e9, best_results = 1e9, best_result_cols = 1e9;
    risk_account_summary *sums = malloc(n * sizeof *sums);
    double *cols = malloc(15 * n * sizeof *cols);
    uint64_t *cid = malloc(n * sizeof *cid);
    uint32_t *cu = malloc(3 * n * sizeof *cu);
    double *pd = malloc(12 * np * sizeof *pd);
    uint32_t *pu = malloc(7 * np * sizeof *pu);
    uint64_t *pid = malloc(np * sizeof *pid);
    risk_account **accs = malloc(n * sizeof *accs);
    risk_position_result *res = malloc(N_POS * sizeof *res);
    if (!sums || !cols || !cid || !cu || !pd || !pu || !pid || !accs || !res)
        return 1;
    int ok = 1;
    double sink = 0.0;
    for (int r = 0; r < rounds; r++) {
        /* single calls */
        bench_market ms, mb;
        bench_market_new(&ms, N_POS);
        double t0 = bench_now_s();
        for (size_t k = 0; k < n; k++)
            CHECK(risk_account_new(&accs[k], ms.engine, acc_id[k], RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY));
        double t1 = bench_now_s();
        for (size_t k = 0; k < n; k++)
            CHECK(risk_basket_set_balance(risk_account_basket(accs[k]), bal_asset[k], bal[k]));
        double t2 = bench_now_s();
        for (size_t i = 0; i < np; i++) {
            risk_position_spec ps = RISK_POSITION_SPEC_INIT;
            ps.instrument = pos_inst[i];
            ps.qty = qty[i];
            ps.entry = entry[i];
            CHECK(risk_account_open_position(accs[i / N_POS], &ps, NULL));
        }
        double t3 = bench_now_s();
        bench_keep_best(&best_single[0], t1 - t0);
        bench_keep_best(&best_single[1], t2 - t1);
        bench_keep_best(&best_single[2], t3 - t2);
        bench_keep_best(&best_single[3], t3 - t0);

        /* bulk calls */
        bench_market_new(&mb, N_POS);
        t0 = bench_now_s();
        CHECK(risk_engine_add_accounts(mb.engine, acc_id, NULL, NULL, n, NULL));
        t1 = bench_now_s();
        CHECK(risk_engine_set_balances(mb.engine, acc_id, bal_asset, bal, n));
        t2 = bench_now_s();
        risk_position_columns pc = RISK_POSITION_COLUMNS_INIT;
        pc.account_ids = pos_acc;
        pc.instruments = pos_inst;
        pc.qty = qty;
        pc.entry = entry;
        CHECK(risk_engine_open_positions(mb.engine, &pc, np));
        t3 = bench_now_s();
        bench_keep_best(&best_bulk[0], t1 - t0);
        bench_keep_best(&best_bulk[1], t2 - t1);
        bench_keep_best(&best_bulk[2], t3 - t2);
        bench_keep_best(&best_bulk[3], t3 - t0);

        /* the two engines agree bit for bit */
        size_t count = 0;
        sums[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
        for (size_t k = 0; k < n; k += 9973) {
            risk_account *b = NULL;
            CHECK(risk_engine_find_account(mb.engine, acc_id[k], &b));
            risk_account_summary x = RISK_ACCOUNT_SUMMARY_INIT, y = RISK_ACCOUNT_SUMMARY_INIT;
            CHECK(risk_account_evaluate(accs[k], &x));
            CHECK(risk_account_evaluate(b, &y));
            ok &= memcmp(&x, &y, sizeof x) == 0;
        }
        for (size_t k = 0; k < n; k++)
            risk_account_free(accs[k]);
        risk_engine_free(ms.engine);

        /* struct results against columns */
        t0 = bench_now_s();
        CHECK(risk_engine_evaluate_all(mb.engine, sums, NULL, n, 1, &count));
        t1 = bench_now_s();
        risk_summary_columns sc = RISK_SUMMARY_COLUMNS_INIT;
        sc.ids = cid;
        sc.state = cu;
        sc.n_positions = cu + n;
        sc.n_isolated_liquidatable = cu + 2 * n;
        double **f[15] = {&sc.equity, &sc.collateral_value, &sc.unrealized_pnl, &sc.initial_margin,
                          &sc.maintenance_margin, &sc.available, &sc.health_factor, &sc.margin_ratio, &sc.ltv,
                          &sc.ltv_buffer, &sc.leverage, &sc.collateral_init, &sc.collateral_maint, &sc.liabilities,
                          &sc.isolated_margin};
        for (int j = 0; j < 15; j++)
            *f[j] = cols + (size_t)j * n;
        CHECK(risk_engine_evaluate_columns(mb.engine, &sc, n, 1, &count));
        t2 = bench_now_s();
        bench_keep_best(&best_eval_all, t1 - t0);
        bench_keep_best(&best_eval_cols, t2 - t1);
        for (size_t k = 0; k < n; k++)
            ok &= same_bits(sc.equity[k], sums[k].equity) && same_bits(sc.maintenance_margin[k],
                                                                         sums[k].maintenance_margin) &&
                  sc.state[k] == sums[k].state && same_bits(sc.health_factor[k], sums[k].health_factor);

        CHECK(risk_engine_accounts(mb.engine, accs, n, &count));
        t0 = bench_now_s();
        for (size_t k = 0; k < n; k++) {
            size_t c = 0;
            res[0].version = RISK_POSITION_RESULT_VERSION;
            CHECK(risk_account_position_results(accs[k], res, N_POS, &c));
            sink += res[0].liquidation_price_raw;
        }
        t1 = bench_now_s();
        risk_position_result_columns rc = RISK_POSITION_RESULT_COLUMNS_INIT;
        rc.account_ids = pid;
        rc.account_index = pu;
        rc.instrument = pu + np;
        rc.side = pu + 2 * np;
        rc.leg = pu + 3 * np;
        rc.margin_mode = pu + 4 * np;
        rc.flags = pu + 5 * np;
        rc.tier = pu + 6 * np;
        double **g[12] = {&rc.qty, &rc.entry, &rc.mark, &rc.notional, &rc.unrealized_pnl, &rc.initial_margin,
                          &rc.maintenance_margin, &rc.isolated_margin, &rc.liquidation_price, &rc.bankruptcy_price,
                          &rc.liquidation_price_raw, &rc.bankruptcy_price_raw};
        for (int j = 0; j < 12; j++)
            *g[j] = pd + (size_t)j * np;
        CHECK(risk_engine_position_results_columns(mb.engine, &rc, np, 1, &count));
        t2 = bench_now_s();
        bench_keep_best(&best_results, t1 - t0);
        bench_keep_best(&best_result_cols, t2 - t1);
        ok &= count == np;
        {
            size_t c = 0;
            size_t k = n / 2;
            res[0].version = RISK_POSITION_RESULT_VERSION;
            CHECK(risk_account_position_results(accs[k], res, N_POS, &c));
            for (size_t j = 0; j < c; j++) {
                size_t row = k * N_POS + j;
                ok &= same_bits(rc.liquidation_price[row], res[j].liquidation_price) &&
                      same_bits(rc.bankruptcy_price[row], res[j].bankruptcy_price) &&
                      same_bits(rc.maintenance_margin[row], res[j].maintenance_margin) && rc.account_ids[row] == acc_id[k];
            }
        }
        risk_engine_free(mb.engine);
    }
    bench_use(sink);

    printf("book: %zu accounts x %d positions (%zu rows of positions), best of %d rounds\n", n, N_POS, np, rounds);
    printf("%-22s %10s %10s %8s\n", "step", "single s", "bulk s", "ratio");
    const char *names[4] = {"accounts", "balances", "positions", "whole book"};
    for (int j = 0; j < 4; j++)
        printf("%-22s %10.3f %10.3f %7.1fx\n", names[j], best_single[j], best_bulk[j], best_single[j] / best_bulk[j]);
    printf("bulk positions: %.1f M rows/s; whole book: %.1f M positions/s (single calls %.1f M/s)\n",
           np / best_bulk[2] / 1e6, np / best_bulk[3] / 1e6, np / best_single[3] / 1e6);
    printf("evaluate_all %.3f s, evaluate_columns (all 19 fields) %.3f s: %.2fx\n", best_eval_all, best_eval_cols,
           best_eval_cols / best_eval_all);
    printf("position_results loop %.3f s, position_results_columns (all 20 fields) %.3f s: %.2fx\n", best_results,
           best_result_cols, best_result_cols / best_results);
    printf("result bulk_positions_per_s %.0f\n", np / best_bulk[2]);
    printf("result bulk_book_positions_per_s %.0f\n", np / best_bulk[3]);
    printf("result single_book_positions_per_s %.0f\n", np / best_single[3]);
    printf("result bulk_speedup_book %.2f\n", best_single[3] / best_bulk[3]);
    printf("result bulk_speedup_positions %.2f\n", best_single[2] / best_bulk[2]);
    printf("result evaluate_columns_over_evaluate_all %.3f\n", best_eval_cols / best_eval_all);
    printf("result position_columns_over_position_results %.3f\n", best_result_cols / best_results);
    printf("result checks %s\n", ok ? "ok" : "FAILED");
    free(acc_id);
    free(pos_acc);
    free(bal_asset);
    free(pos_inst);
    free(bal);
    free(qty);
    free(entry);
    free(sums);
    free(cols);
    free(cid);
    free(cu);
    free(pd);
    free(pu);
    free(pid);
    free(accs);
    free(res);
    return ok ? 0 : 1;
}
