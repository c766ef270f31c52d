/* SPDX-License-Identifier: Apache-2.0 */
/* Scenario revaluation internals, shared by risk_account_scenario_pnl (portfolio/scenario.c) and
 * the engine-wide stress test (stress/stress.c). Formulas: docs/stress.md. */
#ifndef RISK_PORTFOLIO_SCENARIO_H
#define RISK_PORTFOLIO_SCENARIO_H

#include "core/internal.h"

/* Moved market data of a batch of S scenarios, laid out asset-major and instrument-major so that
 * the inner (scenario) loop of a position or a balance reads a contiguous row:
 * price[a * S + s] = p_a x f_as, mark[i * S + s] = M_i x f_(u_i)s, f_as = 1 + m_sa. */
typedef struct risk__scen_tables {
    size_t n_s;
    double *price;         /* n_assets(engine) x S */
    double *mark;          /* n_instruments x S */
    const double *weights; /* NULL: all 1 */
    void *block;
} risk__scen_tables;

/* Per-scenario accumulators (structure of arrays, S each): the sums of risk__account_values. */
typedef struct risk__scen_acc {
    double *upnl, *cross_upnl, *cross_im, *cross_mm, *iso, *gross;
    double *coll_value, *coll_init, *coll_maint, *liab, *liab_init, *liab_maint, *net;
    uint32_t *n_iso_liq;
    void *block;
} risk__scen_acc;

/* Validates a batch against the engine: RISK_ENULL, RISK_EVERSION, RISK_EINVAL (message in *err). */
int risk__scenarios_check(const risk_engine *e, char **err, const risk_scenarios *sc);
/* Builds the tables of a validated batch; RISK_EINVAL (a moved price or mark outside its domain,
 * message in *err) or RISK_ENOMEM. */
int risk__scen_tables_build(const risk_engine *e, char **err, const risk_scenarios *sc, risk__scen_tables *t);
void risk__scen_tables_release(const risk_engine *e, risk__scen_tables *t);
int risk__scen_acc_init(const risk_engine *e, size_t n_s, risk__scen_acc *acc); /* RISK_ENOMEM */
void risk__scen_acc_release(const risk_engine *e, risk__scen_acc *acc);
/* Revalues an account under every scenario: positions outer, scenarios inner, into acc (reset
 * first). Then risk__scen_values(acc, s) gives the risk__account_values of scenario s. */
void risk__scen_revalue(const risk_account *a, const risk__scen_tables *t, risk__scen_acc *acc);
void risk__scen_values(const risk__scen_acc *acc, size_t s, uint32_t n_assets, risk__account_values *out);
/* Equity, health factor and state of scenario s, as risk__account_summary_fill gives them. */
void risk__scen_state(const risk_account *a, const risk__scen_acc *acc, size_t s, double *equity_out,
                      double *health_out, uint32_t *state_out);

#endif /* RISK_PORTFOLIO_SCENARIO_H */
