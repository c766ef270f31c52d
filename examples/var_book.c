/* SPDX-License-Identifier: Apache-2.0 */
/* var_book.c: a book's 99 % VaR and 97.5 % ES from its accounts' Monte Carlo P&L vectors
 * (docs/var.md): an EWMA covariance of BTC and ETH returns, 20,000 correlated Student-t(4)
 * scenarios, each account's P&L from its cash deltas, the book's vector as their merge, and the
 * historical VaR/ES of each vector. The book's VaR is not the sum of the accounts' VaRs.
 * Build: cc -std=c99 var_book.c $(pkg-config --cflags --libs librisk) */
#include <risk.h>
#include <stdio.h>
#include <stdlib.h>

#define N 20000
#define K 2

#define CHECK(call) do { int rc_ = (call); if (rc_ != RISK_OK) { \
    fprintf(stderr, "%s: %s\n", #call, risk_errname(rc_)); goto done; } } while (0)

int main(void)
{
    /* 60 days of BTC and ETH daily log returns (a stylised history: ETH moves 1.3x BTC plus noise) */
    double returns[60 * K], cov[K * K], chol[K * K];
    for (int t = 0; t < 60; t++) {
        double btc = 0.03 * ((t * 37 % 23) / 11.0 - 1.0);
        returns[t * K] = btc;
        returns[t * K + 1] = 1.3 * btc + 0.01 * ((t * 17 % 13) / 6.0 - 1.0);
    }
    double *moves = malloc(sizeof(double) * N * K), *pnl = malloc(sizeof(double) * 3 * N);
    double *work = malloc(sizeof(double) * N);
    int status = 1;
    if (!moves || !pnl || !work)
        goto done;
    CHECK(risk_var_ewma_cov(cov, returns, 60, K, 0.94));

    risk_var_mc_options mc = RISK_VAR_MC_OPTIONS_INIT;
    mc.distribution = RISK_VAR_MC_STUDENT_T;
    mc.dof = 4.0;
    mc.seed = 2026;
    CHECK(risk_var_mc_scenarios(moves, cov, K, N, &mc, chol, K * K));

    /* account 1: long $2m BTC; account 2: short $1m BTC, long $1.5m ETH (cash deltas) */
    const double delta1[K] = {2e6, 0.0}, delta2[K] = {-1e6, 1.5e6};
    double *pnl1 = pnl, *pnl2 = pnl + N, *book = pnl + 2 * N;
    CHECK(risk_var_pnl_delta_gamma(pnl1, moves, N, K, delta1, NULL));
    CHECK(risk_var_pnl_delta_gamma(pnl2, moves, N, K, delta2, NULL));
    const double *parts[2] = {pnl1, pnl2};
    CHECK(risk_var_pnl_merge(book, parts, 2, N));

    risk_var_result r1 = RISK_VAR_RESULT_INIT, r2 = RISK_VAR_RESULT_INIT, rb = RISK_VAR_RESULT_INIT;
    CHECK(risk_var_historical(&r1, pnl1, N, RISK_VAR_LEVEL_DEFAULT, RISK_VAR_ES_LEVEL_DEFAULT, work, N));
    CHECK(risk_var_historical(&r2, pnl2, N, RISK_VAR_LEVEL_DEFAULT, RISK_VAR_ES_LEVEL_DEFAULT, work, N));
    CHECK(risk_var_historical(&rb, book, N, RISK_VAR_LEVEL_DEFAULT, RISK_VAR_ES_LEVEL_DEFAULT, work, N));
    printf("1-day, %d Student-t(4) scenarios    VaR 99%%      ES 97.5%%\n", N);
    printf("account 1 (long BTC)             %12.2f %12.2f\n", r1.var, r1.es);
    printf("account 2 (short BTC, long ETH)  %12.2f %12.2f\n", r2.var, r2.es);
    printf("book (merged P&L vector)         %12.2f %12.2f\n", rb.var, rb.es);
    printf("sum of the accounts' figures     %12.2f %12.2f\n", r1.var + r2.var, r1.es + r2.es);
    if (!(rb.es <= r1.es + r2.es) || !(rb.es >= rb.var))
        goto done; /* ES is sub-additive, and ES >= VaR at these levels here */
    status = 0;
done:
    free(moves);
    free(pnl);
    free(work);
    return status;
}
