/*
 * Cost of a what-if fill (risk_account_whatif) and of a max-order query
 * (risk_account_max_order_qty) against the cost of evaluating the same account
 * (risk_account_evaluate), in the same run.
 *
 * Book: accounts (one-way) with 1, 8 or 64 linear perpetual positions on distinct underlyings,
 * 3-tier schedules, a USDT balance of 2-10 % of the gross notional; cross, then every position
 * isolated. Each account gets one order on one of its instruments (buy or sell, at the mark or
 * 1 % through it): a what-if of 10 lots and a max-order query. Fixed seed. Prints ns per
 * account for the three calls and the ratios to one evaluation, and `result` lines for scripts;
 * checks on a sample that the max order fits and one lot more does not (exit 1 otherwise).
 * Usage: bench_whatif [accounts] [rounds].
 */
#include <risk.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N_UNDERLYINGS 64

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
    risk_order *orders;
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
    b->orders = malloc(n_accounts * sizeof *b->orders);
    if (!b->accounts || !b->orders)
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
        uint32_t p = (uint32_t)(rnd() * n_positions);
        risk_order o = RISK_ORDER_INIT;
        o.instrument = inst[p];
        o.side = rnd() < 0.5 ? RISK_ORDER_BUY : RISK_ORDER_SELL;
        o.qty = 0.01;
        double mark = 10.0 * (p + 1);
        o.price = rnd() < 0.5 ? 0.0 : nearbyint(mark * (o.side == RISK_ORDER_BUY ? 1.01 : 0.99) / 0.001) * 0.001;
        b->orders[k] = o;
    }
}

static void book_free(book *b)
{
    for (size_t k = 0; k < b->n; k++)
        risk_account_free(b->accounts[k]);
    free(b->accounts);
    free(b->orders);
    risk_engine_free(b->engine);
}

/* Best of `rounds` sweeps of each call over every account, in ns per account. */
static void measure(const book *b, int rounds, double ns[3])
{
    double best[3] = {1e30, 1e30, 1e30}, sink = 0.0;
    for (int r = 0; r < rounds; r++) {
        double t[4];
        t[0] = now_s();
        for (size_t k = 0; k < b->n; k++) {
            risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
            CHECK(risk_account_evaluate(b->accounts[k], &s));
            sink += s.equity;
        }
        t[1] = now_s();
        for (size_t k = 0; k < b->n; k++) {
            risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
            CHECK(risk_account_whatif(b->accounts[k], &b->orders[k], &s));
            sink += s.available;
        }
        t[2] = now_s();
        for (size_t k = 0; k < b->n; k++) {
            const risk_order *o = &b->orders[k];
            double q;
            CHECK(risk_account_max_order_qty(b->accounts[k], o->instrument, o->side, o->leg, o->price, &q));
            sink += q;
        }
        t[3] = now_s();
        for (int i = 0; i < 3; i++)
            if (t[i + 1] - t[i] < best[i])
                best[i] = t[i + 1] - t[i];
    }
    if (sink == 12345.678) /* keeps the calls alive */
        printf("%g\n", sink);
    for (int i = 0; i < 3; i++)
        ns[i] = 1e9 * best[i] / (double)b->n;
}

/* On every 97th account: what-if of the max order keeps available >= 0 (or it is the documented
 * no-worse reduction), one lot more does not. */
static int verify(const book *b)
{
    for (size_t k = 0; k < b->n; k += 97) {
        risk_order o = b->orders[k];
        double q;
        CHECK(risk_account_max_order_qty(b->accounts[k], o.instrument, o.side, o.leg, o.price, &q));
        if (isinf(q))
            continue;
        risk_account_summary now = RISK_ACCOUNT_SUMMARY_INIT, at = RISK_ACCOUNT_SUMMARY_INIT,
                             over = RISK_ACCOUNT_SUMMARY_INIT;
        CHECK(risk_account_evaluate(b->accounts[k], &now));
        double threshold = 0.0;
        if (q > 0.0) {
            o.qty = q;
            CHECK(risk_account_whatif(b->accounts[k], &o, &at));
        } else {
            at = now;
        }
        if (at.available < 0.0)
            threshold = now.available; /* nothing restores it: no worse than now */
        o.qty = (nearbyint(q / 0.001) + 1.0) * 0.001; /* one lot more, as n x lot (see whatif.h) */
        CHECK(risk_account_whatif(b->accounts[k], &o, &over));
        if (at.available < threshold || (over.available >= threshold && threshold == 0.0)) {
            fprintf(stderr, "account %zu: max order %.17g gives %.17g, one lot more %.17g\n", k, q, at.available,
                    over.available);
            return 0;
        }
    }
    return 1;
}

int main(int argc, char **argv)
{
    size_t n_accounts = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 20000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (n_accounts == 0 || rounds <= 0) {
        fprintf(stderr, "usage: bench_whatif [accounts > 0] [rounds > 0]\n");
        return 2;
    }
    const uint32_t sizes[] = {1, 8, 64};
    const uint32_t modes[] = {RISK_MARGIN_CROSS, RISK_MARGIN_ISOLATED};
    printf("what-if and max order size vs evaluation, %zu accounts, best of %d rounds\n", n_accounts, rounds);
    printf("%-9s %9s %12s %12s %8s %13s %8s\n", "margin", "positions", "evaluate ns", "what-if ns", "ratio",
           "max-order ns", "ratio");
    int ok = 1;
    for (size_t m = 0; m < 2; m++)
        for (size_t s = 0; s < 3; s++) {
            book b;
            rng_state = 0x9e3779b97f4a7c15ULL;
            book_build(&b, n_accounts, sizes[s], modes[m]);
            double ns[3];
            measure(&b, rounds, ns);
            ok &= verify(&b);
            const char *mode = modes[m] == RISK_MARGIN_CROSS ? "cross" : "isolated";
            printf("%-9s %9u %12.1f %12.1f %7.1fx %13.1f %7.1fx\n", mode, sizes[s], ns[0], ns[1], ns[1] / ns[0],
                   ns[2], ns[2] / ns[0]);
            printf("result %s_%u_evaluate_ns %.6g\nresult %s_%u_whatif_ns %.6g\nresult %s_%u_whatif_ratio %.6g\n"
                   "result %s_%u_max_order_ns %.6g\nresult %s_%u_max_order_ratio %.6g\n",
                   mode, sizes[s], ns[0], mode, sizes[s], ns[1], mode, sizes[s], ns[1] / ns[0], mode, sizes[s], ns[2],
                   mode, sizes[s], ns[2] / ns[0]);
            book_free(&b);
        }
    if (!ok) {
        fprintf(stderr, "bench_whatif: a max order failed its check\n");
        return 1;
    }
    return 0;
}
