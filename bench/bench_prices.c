/*
 * Cost of liquidation and bankruptcy prices (risk_account_position_results) against the cost
 * of evaluating the same account (risk_account_evaluate), in the same run.
 *
 * Book: 10^5 cross accounts (one-way) with 1, 8 or 32 linear perpetual positions on distinct
 * underlyings, 3-tier schedules, a USDT balance of 2-10 % of the gross notional; plus the same
 * with every position isolated. Fixed seed. Prints ns per account for both calls and their
 * ratio, and `result` lines for scripts. Usage: bench_prices [accounts] [rounds].
 */
#include <risk.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N_UNDERLYINGS 32

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

static void book_build(book *b, size_t n_accounts, uint32_t n_positions, uint32_t margin_mode)
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
    b->n = n_accounts;
    b->accounts = malloc(n_accounts * sizeof *b->accounts);
    if (!b->accounts)
        exit(1);
    for (size_t k = 0; k < n_accounts; k++) {
        risk_account *a;
        CHECK(risk_account_new(&a, b->engine, k + 1, margin_mode, RISK_POSITION_ONE_WAY));
        double gross = 0.0;
        for (uint32_t p = 0; p < n_positions; p++) {
            double mark = 10.0 * (p + 1);
            double notional = 100.0 * (1.0 + 999.0 * rnd()); /* 100 .. 100k USDT */
            double lots = (double)(long long)(notional / mark / 0.001) + 1.0;
            risk_position_spec ps = RISK_POSITION_SPEC_INIT;
            ps.instrument = inst[p];
            ps.qty = (rnd() < 0.5 ? -1.0 : 1.0) * lots * 0.001;
            ps.entry = mark * (0.97 + 0.06 * rnd());
            ps.isolated_margin = margin_mode == RISK_MARGIN_ISOLATED ? lots * 0.001 * mark * 0.05 : 0.0;
            CHECK(risk_account_open_position(a, &ps, NULL));
            gross += lots * 0.001 * mark;
        }
        CHECK(risk_basket_set_balance(risk_account_basket(a), usdt, gross * (0.02 + 0.08 * rnd())));
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
static void measure(const book *b, uint32_t n_positions, int rounds, double *eval_ns, double *prices_ns,
                    size_t *n_with_price)
{
    risk_position_result results[N_UNDERLYINGS];
    double best_eval = 1e30, best_prices = 1e30, sink = 0.0;
    size_t priced = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = now_s();
        for (size_t k = 0; k < b->n; k++) {
            risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
            CHECK(risk_account_evaluate(b->accounts[k], &s));
            sink += s.equity;
        }
        double t1 = now_s();
        priced = 0;
        for (size_t k = 0; k < b->n; k++) {
            size_t count;
            results[0].version = RISK_POSITION_RESULT_VERSION;
            CHECK(risk_account_position_results(b->accounts[k], results, n_positions, &count));
            for (size_t i = 0; i < count; i++)
                priced += (results[i].flags & RISK_RESULT_HAS_LIQUIDATION_PRICE) != 0;
        }
        double t2 = now_s();
        if (t1 - t0 < best_eval)
            best_eval = t1 - t0;
        if (t2 - t1 < best_prices)
            best_prices = t2 - t1;
    }
    if (sink == 12345.678) /* keeps the evaluations alive */
        printf("%g\n", sink);
    *eval_ns = 1e9 * best_eval / (double)b->n;
    *prices_ns = 1e9 * best_prices / (double)b->n;
    *n_with_price = priced;
}

int main(int argc, char **argv)
{
    size_t n_accounts = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 100000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (n_accounts == 0 || rounds <= 0) {
        fprintf(stderr, "usage: bench_prices [accounts > 0] [rounds > 0]\n");
        return 2;
    }
    const uint32_t sizes[] = {1, 8, 32};
    const uint32_t modes[] = {RISK_MARGIN_CROSS, RISK_MARGIN_ISOLATED};
    printf("liquidation and bankruptcy prices vs evaluation, %zu accounts, best of %d rounds\n", n_accounts,
           rounds);
    printf("%-9s %9s %14s %16s %8s %12s\n", "margin", "positions", "evaluate ns", "prices ns", "ratio",
           "with LP");
    for (size_t m = 0; m < 2; m++)
        for (size_t s = 0; s < 3; s++) {
            book b;
            rng_state = 0x9e3779b97f4a7c15ULL;
            book_build(&b, n_accounts, sizes[s], modes[m]);
            double e_ns, p_ns;
            size_t priced;
            measure(&b, sizes[s], rounds, &e_ns, &p_ns, &priced);
            const char *mode = modes[m] == RISK_MARGIN_CROSS ? "cross" : "isolated";
            printf("%-9s %9u %14.1f %16.1f %7.1fx %11.1f%%\n", mode, sizes[s], e_ns, p_ns, p_ns / e_ns,
                   100.0 * (double)priced / ((double)n_accounts * sizes[s]));
            printf("result %s_%u_evaluate_ns %.6g\nresult %s_%u_prices_ns %.6g\nresult %s_%u_ratio %.6g\n", mode,
                   sizes[s], e_ns, mode, sizes[s], p_ns, mode, sizes[s], p_ns / e_ns);
            book_free(&b);
        }
    return 0;
}
