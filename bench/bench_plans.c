/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cost of a liquidation plan (risk_account_liquidation_plan) against the cost of evaluating the
 * same account (risk_account_evaluate), in the same run.
 *
 * Book: liquidatable cross accounts (one-way) with 1, 8 or 64 linear perpetual positions on
 * distinct underlyings, 3-tier schedules, entries at the mark, no account bankrupt. Policy:
 * 0.1 % liquidator fee, 0.05 % insurance fee, fills at the mark; every plan is partial. Two
 * scenarios:
 *   - "step-down" (Binance, Bybit: back to maintenance): buffer 0, USDT balance 90-99 % of the
 *     MM (health factor 0.90-0.99): the plan closes a part of one or two positions;
 *   - "deep" (Drift's 2 % buffer on top of MMRs of 0.4-1 %): balance 50-95 % of the MM: the
 *     target needs most positions closed, the hardest case for the search.
 * Fixed seed. Prints ns per account for both calls, their ratio (target: a plan costs at most
 * 20 evaluations), the mean number of actions, and `result` lines for scripts.
 * A third case, "liquidate", liquidates a whole book (accounts / 4 of them, 1-4 positions on 8
 * underlyings, entries 3 % around the mark, balances 0.3-2.5 x the MM, no insurance fund: about
 * half the book is liquidated, most close-outs deleverage against the rest) twice from the same
 * seed: plan + apply account by account in creation order, then risk_engine_liquidate_all. Prints
 * ns per account of each against one evaluation sweep of the book (the batch's target: a bounded
 * ratio, whatever the book's size; account by account the ratio grows with it).
 * BENCH_PLANS_NO_LOOP=1 skips the account-by-account run (e.g. under callgrind).
 * Usage: bench_plans [accounts] [rounds] [positions] [scenario] (positions, scenario: only that
 * book size and scenario, e.g. to count instructions under callgrind).
 */
#include "bench_util.h"

#include <string.h>

#define N_UNDERLYINGS 64
#define MAX_ACTIONS 256

typedef struct scenario {
    const char *name;
    double buffer, health_lo, health_hi;
} scenario;

static const scenario scenarios[] = {{"step-down", 0.0, 0.90, 0.99}, {"deep", 0.02, 0.50, 0.95}};

static void book_build(bench_book *b, size_t n_accounts, uint32_t n_positions, const scenario *sc)
{
    bench_market m;
    bench_market_new(&m, N_UNDERLYINGS);
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.buffer = sc->buffer;
    pol.fee = 0.001;
    pol.insurance_fee = 0.0005;
    CHECK(risk_engine_set_liquidation_policy(m.engine, &pol));
    bench_book_alloc(b, &m, n_accounts);
    for (size_t k = 0; k < n_accounts; k++) {
        risk_account *a;
        CHECK(risk_account_new(&a, b->engine, k + 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY));
        (void)bench_open_positions(a, &m, n_positions, RISK_MARGIN_CROSS, 1);
        risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
        CHECK(risk_account_evaluate(a, &s));
        CHECK(risk_basket_set_balance(risk_account_basket(a), m.usdt,
                                      (double)(long long)(s.maintenance_margin * (sc->health_lo + (sc->health_hi - sc->health_lo) * bench_rnd()) * 1e6) / 1e6));
        b->accounts[k] = a;
    }
}

/* Best of `rounds` sweeps of each call over every account, in ns per account. */
static void measure(const bench_book *b, int rounds, double *eval_ns, double *plan_ns, double *actions)
{
    static risk_liquidation_action acts[MAX_ACTIONS];
    double best_eval = 1e30, best_plan = 1e30, sink = 0.0;
    size_t n_actions = 0;
    for (int r = 0; r < rounds; r++) {
        double t_eval = bench_evaluate_sweep(b, &sink);
        double t1 = bench_now_s();
        n_actions = 0;
        for (size_t k = 0; k < b->n; k++) {
            risk_liquidation_plan plan = RISK_LIQUIDATION_PLAN_INIT;
            size_t count;
            CHECK(risk_account_liquidation_plan(b->accounts[k], &plan, acts, MAX_ACTIONS, &count));
            if (plan.outcome != RISK_PLAN_PARTIAL) {
                fprintf(stderr, "account %zu: outcome %u, not a partial plan\n", k, plan.outcome);
                exit(1);
            }
            n_actions += count;
        }
        bench_keep_best(&best_eval, t_eval);
        bench_keep_best(&best_plan, bench_now_s() - t1);
    }
    bench_use(sink);
    *eval_ns = 1e9 * best_eval / (double)b->n;
    *plan_ns = 1e9 * best_plan / (double)b->n;
    *actions = (double)n_actions / (double)b->n;
}

/* The "liquidate" book: see the header. */
static void liquidate_book(bench_book *b, size_t n)
{
    bench_market m;
    bench_market_new(&m, 8);
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.fee = 0.001;
    pol.insurance_fee = 0.0005;
    CHECK(risk_engine_set_liquidation_policy(m.engine, &pol));
    bench_book_alloc(b, &m, n);
    for (size_t k = 0; k < n; k++) {
        risk_account *a;
        CHECK(risk_account_new(&a, b->engine, k + 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY));
        (void)bench_open_positions(a, &m, 1 + (uint32_t)(4.0 * bench_rnd()) % 4, RISK_MARGIN_CROSS, 0);
        risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
        CHECK(risk_account_evaluate(a, &s));
        double f = 0.3 + 2.2 * bench_rnd();
        CHECK(risk_basket_set_balance(risk_account_basket(a), m.usdt,
                                      (double)(long long)(s.maintenance_margin * f * 1e6) / 1e6 + 1.0));
        b->accounts[k] = a;
    }
}

/* Plan + apply account by account, as the CLI did; returns seconds, counts plans and actions. */
static double liquidate_loop(const bench_book *b, size_t *plans, size_t *actions)
{
    size_t cap = MAX_ACTIONS;
    risk_liquidation_action *acts = malloc(cap * sizeof *acts);
    double t0 = bench_now_s();
    *plans = *actions = 0;
    for (size_t k = 0; k < b->n; k++) {
        risk_liquidation_plan plan = RISK_LIQUIDATION_PLAN_INIT;
        size_t count = 0;
        int rc = risk_account_liquidation_plan(b->accounts[k], &plan, acts, cap, &count);
        if (rc == RISK_EBUFFER) {
            cap = count;
            acts = realloc(acts, cap * sizeof *acts);
            plan = (risk_liquidation_plan)RISK_LIQUIDATION_PLAN_INIT;
            rc = risk_account_liquidation_plan(b->accounts[k], &plan, acts, cap, &count);
        }
        CHECK(rc);
        if (plan.outcome == RISK_PLAN_NONE)
            continue;
        CHECK(risk_account_apply_plan(b->accounts[k], &plan, acts, plan.n_actions));
        ++*plans;
        *actions += plan.n_actions;
    }
    double took = bench_now_s() - t0;
    free(acts);
    return took;
}

static void liquidate_case(size_t n, int with_loop)
{
    bench_book a, b;
    double sink = 0.0;
    bench_seed();
    liquidate_book(&a, n);
    double sweep = 1e30;
    for (int r = 0; r < 3; r++)
        bench_keep_best(&sweep, bench_evaluate_sweep(&a, &sink));
    bench_use(sink);
    size_t plans = 0, actions = 0;
    double loop = with_loop ? liquidate_loop(&a, &plans, &actions) : 0.0;
    bench_seed();
    liquidate_book(&b, n);
    risk_liquidate_all_result res = RISK_LIQUIDATE_ALL_RESULT_INIT;
    double t0 = bench_now_s();
    CHECK(risk_engine_liquidate_all(b.engine, NULL, &res));
    double batch = bench_now_s() - t0;
    if (with_loop && (res.n_plans != plans || res.n_actions != actions)) {
        fprintf(stderr, "liquidate: the batch made %llu plans, %llu actions; the loop %zu, %zu\n",
                (unsigned long long)res.n_plans, (unsigned long long)res.n_actions, plans, actions);
        exit(1);
    }
    double ns = 1e9 / (double)n;
    printf("liquidate: %zu accounts, %llu plans (%llu close-outs), %llu actions; evaluate %.1f ns/account\n", n,
           (unsigned long long)res.n_plans, (unsigned long long)res.n_close_outs, (unsigned long long)res.n_actions,
           sweep * ns);
    if (with_loop)
        printf("  plan + apply per account %12.1f ns/account %8.1fx evaluate\n", loop * ns, loop / sweep);
    printf("  risk_engine_liquidate_all %12.1f ns/account %8.1fx evaluate\n", batch * ns, batch / sweep);
    printf("result liquidate_%zu_evaluate_ns %.6g\nresult liquidate_%zu_batch_ns %.6g\nresult liquidate_%zu_batch_ratio "
           "%.6g\n", n, sweep * ns, n, batch * ns, n, batch / sweep);
    if (with_loop)
        printf("result liquidate_%zu_loop_ns %.6g\nresult liquidate_%zu_loop_ratio %.6g\n", n, loop * ns, n,
               loop / sweep);
    bench_book_free(&a);
    bench_book_free(&b);
}

int main(int argc, char **argv)
{
    size_t n_accounts = 20000;
    int rounds = 3;
    unsigned only;
    const char *only_scenario = argc > 4 ? argv[4] : NULL;
    if (!bench_args(argc > 4 ? 4 : argc, argv, "bench_plans [accounts > 0] [rounds > 0] [positions] [scenario]",
                    &n_accounts, &rounds, &only))
        return 2;
    const uint32_t sizes[] = {1, 8, 64};
    printf("liquidation plans vs evaluation, %zu liquidatable accounts (%zu with 64 positions), best of %d rounds\n",
           n_accounts, n_accounts / 8 ? n_accounts / 8 : 1, rounds);
    printf("%-10s %9s %14s %14s %8s %9s\n", "scenario", "positions", "evaluate ns", "plan ns", "ratio", "actions");
    for (size_t c = 0; c < sizeof scenarios / sizeof *scenarios; c++)
        for (size_t s = 0; s < 3; s++) {
            const scenario *sc = &scenarios[c];
            if ((only && sizes[s] != only) || (only_scenario && strcmp(only_scenario, sc->name) != 0))
                continue;
            bench_book b;
            bench_seed();
            size_t n = sizes[s] == 64 ? (n_accounts / 8 ? n_accounts / 8 : 1) : n_accounts;
            book_build(&b, n, sizes[s], sc);
            double e_ns, p_ns, actions;
            measure(&b, rounds, &e_ns, &p_ns, &actions);
            printf("%-10s %9u %14.1f %14.1f %7.1fx %9.2f\n", sc->name, sizes[s], e_ns, p_ns, p_ns / e_ns, actions);
            printf("result %s_%u_evaluate_ns %.6g\nresult %s_%u_plan_ns %.6g\nresult %s_%u_ratio %.6g\n", sc->name,
                   sizes[s], e_ns, sc->name, sizes[s], p_ns, sc->name, sizes[s], p_ns / e_ns);
            bench_book_free(&b);
        }
    if (!only && (!only_scenario || strcmp(only_scenario, "liquidate") == 0))
        liquidate_case(n_accounts / 4 ? n_accounts / 4 : 1, getenv("BENCH_PLANS_NO_LOOP") == NULL);
    return 0;
}
