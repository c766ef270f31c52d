/* SPDX-License-Identifier: Apache-2.0 */
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
 * Usage: bench_whatif [accounts] [rounds] [positions] (positions: only that book size, cross
 * and isolated, e.g. to count instructions under callgrind).
 */
#include "bench_util.h"

#include <math.h>

#define N_UNDERLYINGS 64

typedef struct book {
    bench_book bk;
    risk_order *orders; /* one per account */
} book;

static void book_build(book *b, size_t n_accounts, uint32_t n_positions, uint32_t margin_mode)
{
    bench_market m;
    bench_market_new(&m, N_UNDERLYINGS);
    bench_book_alloc(&b->bk, &m, n_accounts);
    b->orders = malloc(n_accounts * sizeof *b->orders);
    if (!b->orders)
        exit(1);
    for (size_t k = 0; k < n_accounts; k++) {
        risk_account *a;
        CHECK(risk_account_new(&a, m.engine, k + 1, margin_mode, RISK_POSITION_ONE_WAY));
        double gross = bench_open_positions(a, &m, n_positions, margin_mode, 0);
        CHECK(risk_basket_set_balance(risk_account_basket(a), m.usdt, gross * (0.02 + 0.08 * bench_rnd())));
        b->bk.accounts[k] = a;
        uint32_t p = (uint32_t)(bench_rnd() * n_positions);
        risk_order o = RISK_ORDER_INIT;
        o.instrument = m.inst[p];
        o.side = bench_rnd() < 0.5 ? RISK_ORDER_BUY : RISK_ORDER_SELL;
        o.qty = 0.01;
        double mark = 10.0 * (p + 1);
        o.price = bench_rnd() < 0.5 ? 0.0 : nearbyint(mark * (o.side == RISK_ORDER_BUY ? 1.01 : 0.99) / 0.001) * 0.001;
        b->orders[k] = o;
    }
}

static void book_free(book *b)
{
    free(b->orders);
    bench_book_free(&b->bk);
}

/* Best of `rounds` sweeps of each call over every account, in ns per account. */
static void measure(const book *b, int rounds, double ns[3])
{
    double best[3] = {1e30, 1e30, 1e30}, sink = 0.0;
    for (int r = 0; r < rounds; r++) {
        double took[3], t[3];
        took[0] = bench_evaluate_sweep(&b->bk, &sink);
        t[0] = bench_now_s();
        for (size_t k = 0; k < b->bk.n; k++) {
            risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
            CHECK(risk_account_whatif(b->bk.accounts[k], &b->orders[k], &s));
            sink += s.available;
        }
        t[1] = bench_now_s();
        for (size_t k = 0; k < b->bk.n; k++) {
            const risk_order *o = &b->orders[k];
            double q;
            CHECK(risk_account_max_order_qty(b->bk.accounts[k], o->instrument, o->side, o->leg, o->price, &q));
            sink += q;
        }
        t[2] = bench_now_s();
        took[1] = t[1] - t[0];
        took[2] = t[2] - t[1];
        for (int i = 0; i < 3; i++)
            bench_keep_best(&best[i], took[i]);
    }
    bench_use(sink);
    for (int i = 0; i < 3; i++)
        ns[i] = 1e9 * best[i] / (double)b->bk.n;
}

/* On every 97th account: what-if of the max order keeps available >= 0 (or it is the documented
 * no-worse reduction), one lot more does not. */
static int verify(const book *b)
{
    for (size_t k = 0; k < b->bk.n; k += 97) {
        risk_order o = b->orders[k];
        double q;
        CHECK(risk_account_max_order_qty(b->bk.accounts[k], o.instrument, o.side, o.leg, o.price, &q));
        if (isinf(q))
            continue;
        risk_account_summary now = RISK_ACCOUNT_SUMMARY_INIT, at = RISK_ACCOUNT_SUMMARY_INIT,
                             over = RISK_ACCOUNT_SUMMARY_INIT;
        CHECK(risk_account_evaluate(b->bk.accounts[k], &now));
        double threshold = 0.0;
        if (q > 0.0) {
            o.qty = q;
            CHECK(risk_account_whatif(b->bk.accounts[k], &o, &at));
        } else {
            at = now;
        }
        if (at.available < 0.0)
            threshold = now.available; /* nothing restores it: no worse than now */
        o.qty = (nearbyint(q / 0.001) + 1.0) * 0.001; /* one lot more, as n x lot (see whatif.h) */
        CHECK(risk_account_whatif(b->bk.accounts[k], &o, &over));
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
    size_t n_accounts = 20000;
    int rounds = 5;
    unsigned only;
    if (!bench_args(argc, argv, "bench_whatif [accounts > 0] [rounds > 0] [positions]", &n_accounts, &rounds, &only))
        return 2;
    const uint32_t sizes[] = {1, 8, 64};
    const uint32_t modes[] = {RISK_MARGIN_CROSS, RISK_MARGIN_ISOLATED};
    printf("what-if and max order size vs evaluation, %zu accounts, best of %d rounds\n", n_accounts, rounds);
    printf("%-9s %9s %12s %12s %8s %13s %8s\n", "margin", "positions", "evaluate ns", "what-if ns", "ratio",
           "max-order ns", "ratio");
    int ok = 1;
    for (size_t m = 0; m < 2; m++)
        for (size_t s = 0; s < 3; s++) {
            if (only && sizes[s] != only)
                continue;
            book b;
            bench_seed();
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
