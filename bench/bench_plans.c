/*
 * Cost of a liquidation plan (risk_account_liquidation_plan) against the cost of evaluating the
 * same account (risk_account_evaluate), in the same run.
 *
 * Book: liquidatable cross accounts (one-way) with 1, 8 or 64 linear perpetual positions on
 * distinct underlyings, 3-tier schedules, entries at the mark and a USDT balance of 30-90 % of
 * the maintenance margin (health factor 0.5-0.95, none bankrupt). Policy: 2 % buffer, 0.1 %
 * liquidator fee, 0.05 % insurance fee, fills at the mark: every plan is a partial liquidation. Fixed seed. Prints ns per account for
 * both calls, their ratio (target: a plan costs at most 20 evaluations), the mean number of
 * actions, and `result` lines for scripts. Usage: bench_plans [accounts] [rounds] [positions]
 * (positions: only that book size, e.g. to count instructions under callgrind).
 */
#include <risk.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N_UNDERLYINGS 64
#define MAX_ACTIONS 256

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static double rnd(void) /* xorshift64*, uniform in [0, 1) */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545f4914f6cdd1dULL) >> 11) * (1.0 / 9007199254740992.0);
}

#define CHECK(call)                                                                             \
    do {                                                                                        \
        int rc_ = (call);                                                                       \
        if (rc_ != RISK_OK) {                                                                   \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, risk_errname(rc_)); \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

typedef struct book {
    risk_engine *engine;
    risk_account **accounts;
    size_t n;
} book;

static void book_build(book *b, size_t n_accounts, uint32_t n_positions)
{
    CHECK(risk_engine_new(&b->engine, NULL));
    risk_asset_spec as = RISK_ASSET_SPEC_INIT;
    uint32_t usdt, inst[N_UNDERLYINGS];
    as.symbol = "USDT";
    as.price = 1.0;
    as.decimals = 6;
    CHECK(risk_engine_add_asset(b->engine, &as, &usdt));
    const risk_margin_tier tiers[] = {{50000, 0.004, 125, 0, 0}, {250000, 0.005, 100, 0, 0}, {1e9, 0.01, 50, 0, 0}};
    for (uint32_t u = 0; u < N_UNDERLYINGS; u++) {
        char sym[16], isym[24];
        snprintf(sym, sizeof sym, "C%u", u);
        snprintf(isym, sizeof isym, "C%uUSDT", u);
        uint32_t asset;
        as.symbol = sym;
        as.price = 10.0 * (u + 1);
        as.decimals = 8;
        CHECK(risk_engine_add_asset(b->engine, &as, &asset));
        risk_instrument_spec is = RISK_INSTRUMENT_SPEC_INIT;
        is.symbol = isym;
        is.underlying = asset;
        is.settle = usdt;
        is.lot_size = 0.001;
        is.tick_size = 0.001;
        is.mark = as.price;
        is.tiers = tiers;
        is.n_tiers = 3;
        CHECK(risk_engine_add_instrument(b->engine, &is, &inst[u]));
    }
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    pol.buffer = 0.02;
    pol.fee = 0.001;
    pol.insurance_fee = 0.0005;
    CHECK(risk_engine_set_liquidation_policy(b->engine, &pol));
    b->n = n_accounts;
    b->accounts = malloc(n_accounts * sizeof *b->accounts);
    if (!b->accounts)
        exit(1);
    for (size_t k = 0; k < n_accounts; k++) {
        risk_account *a;
        CHECK(risk_account_new(&a, b->engine, k + 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY));
        for (uint32_t p = 0; p < n_positions; p++) {
            double mark = 10.0 * (p + 1);
            double notional = 100.0 * (1.0 + 999.0 * rnd()); /* 100 .. 100k USDT */
            double lots = (double)(long long)(notional / mark / 0.001) + 1.0;
            risk_position_spec ps = RISK_POSITION_SPEC_INIT;
            ps.instrument = inst[p];
            ps.qty = (rnd() < 0.5 ? -1.0 : 1.0) * lots * 0.001;
            ps.entry = mark;
            CHECK(risk_account_open_position(a, &ps, NULL));
        }
        risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
        CHECK(risk_account_evaluate(a, &s));
        CHECK(risk_basket_set_balance(risk_account_basket(a), usdt,
                                      (double)(long long)(s.maintenance_margin * (0.5 + 0.45 * rnd()) * 1e6) / 1e6));
        b->accounts[k] = a;
    }
}

static void book_free(book *b)
{
    for (size_t k = 0; k < b->n; k++)
        risk_account_free(b->accounts[k]);
    free(b->accounts);
    risk_engine_free(b->engine);
}

/* Best of `rounds` sweeps of each call over every account, in ns per account. */
static void measure(const book *b, int rounds, double *eval_ns, double *plan_ns, double *actions)
{
    static risk_liquidation_action acts[MAX_ACTIONS];
    double best_eval = 1e30, best_plan = 1e30, sink = 0.0;
    size_t n_actions = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = now_s();
        for (size_t k = 0; k < b->n; k++) {
            risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
            CHECK(risk_account_evaluate(b->accounts[k], &s));
            sink += s.equity;
        }
        double t1 = now_s();
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
        double t2 = now_s();
        if (t1 - t0 < best_eval)
            best_eval = t1 - t0;
        if (t2 - t1 < best_plan)
            best_plan = t2 - t1;
    }
    if (sink == 12345.678) /* keeps the evaluations alive */
        printf("%g\n", sink);
    *eval_ns = 1e9 * best_eval / (double)b->n;
    *plan_ns = 1e9 * best_plan / (double)b->n;
    *actions = (double)n_actions / (double)b->n;
}

int main(int argc, char **argv)
{
    size_t n_accounts = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 20000;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    unsigned only = argc > 3 ? (unsigned)atoi(argv[3]) : 0;
    if (n_accounts == 0 || rounds <= 0) {
        fprintf(stderr, "usage: bench_plans [accounts > 0] [rounds > 0]\n");
        return 2;
    }
    const uint32_t sizes[] = {1, 8, 64};
    printf("liquidation plans vs evaluation, %zu liquidatable accounts (%zu with 64 positions), best of %d rounds\n",
           n_accounts, n_accounts / 8 ? n_accounts / 8 : 1, rounds);
    printf("%9s %14s %14s %8s %9s\n", "positions", "evaluate ns", "plan ns", "ratio", "actions");
    for (size_t s = 0; s < 3; s++) {
        if (only && sizes[s] != only)
            continue;
        book b;
        rng_state = 0x9e3779b97f4a7c15ULL;
        size_t n = sizes[s] == 64 ? (n_accounts / 8 ? n_accounts / 8 : 1) : n_accounts;
        book_build(&b, n, sizes[s]);
        double e_ns, p_ns, actions;
        measure(&b, rounds, &e_ns, &p_ns, &actions);
        printf("%9u %14.1f %14.1f %7.1fx %9.2f\n", sizes[s], e_ns, p_ns, p_ns / e_ns, actions);
        printf("result plan_%u_evaluate_ns %.6g\nresult plan_%u_ns %.6g\nresult plan_%u_ratio %.6g\n", sizes[s], e_ns,
               sizes[s], p_ns, sizes[s], p_ns / e_ns);
        book_free(&b);
    }
    return 0;
}
