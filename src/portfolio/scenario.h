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
    double *mark_lo;       /* n_instruments: the smallest of each instrument's mark row */
    double *mark_hi;       /* n_instruments: the largest */
    const double *weights; /* NULL: all 1 */
    void *block;
} risk__scen_tables;

/* Per-scenario accumulators (structure of arrays, S each): the sums of risk__account_values. */
typedef struct risk__scen_acc {
    double *upnl, *cross_upnl, *cross_im, *cross_mm, *iso, *gross;
    double *coll_value, *coll_init, *coll_maint, *liab, *liab_init, *liab_maint, *net;
    double *equity, *health, *r_maint; /* risk__scen_states' results (r_maint: scratch) */
    uint32_t *n_iso_liq;
    uint32_t *state;
    void *block;
    int lean; /* set by a caller that reads only risk__scen_states' results: gross is not summed */
} risk__scen_acc;

/* Validates a batch against the engine: RISK_ENULL, RISK_EVERSION, RISK_EINVAL (message in *err). */
int risk__scenarios_check(const risk_engine *e, char **err, const risk_scenarios *sc);
/* Builds the tables of a validated batch; RISK_EINVAL (a moved price or mark outside its domain,
 * message in *err) or RISK_ENOMEM. */
int risk__scen_tables_build(const risk_engine *e, char **err, const risk_scenarios *sc, risk__scen_tables *t);
/* The same with only the mark rows of the instruments `only` holds (the others unset; NULL: every
 * instrument), for a revaluation of that account alone (portfolio margin). */
int risk__scen_tables_build_for(const risk_engine *e, char **err, const risk_scenarios *sc, const risk_account *only,
                                risk__scen_tables *t);
void risk__scen_tables_release(const risk_engine *e, risk__scen_tables *t);
int risk__scen_acc_init(const risk_engine *e, size_t n_s, risk__scen_acc *acc); /* RISK_ENOMEM */
void risk__scen_acc_release(const risk_engine *e, risk__scen_acc *acc);
/* Revalues an account under every scenario: positions outer, scenarios inner, into acc (reset
 * first). Then risk__scen_values(acc, s) gives the risk__account_values of scenario s. */
void risk__scen_revalue(const risk_account *a, const risk__scen_tables *t, risk__scen_acc *acc);
void risk__scen_values(const risk__scen_acc *acc, size_t s, uint32_t n_assets, risk__account_values *out);
/* An option's mark volatility (> 0) moved as scenario s of sc moves it. */
double risk__scen_moved_mark_vol(const risk_engine *e, const risk_scenarios *sc, size_t s, const risk__instrument *in);
/* A portfolio account's IM and MM under each scenario (portfolio/pm.c): acc->cross_im[s] and
 * acc->cross_mm[s] become what risk_account_evaluate() reports after scenario s's prices and
 * marks are set, bit for bit (+inf when the model cannot be computed there). acc holds the
 * account's revaluation (risk__scen_revalue) under the tables t of sc. */
void risk__pm_scen_margins(const risk_account *a, const risk_scenarios *sc, const risk__scen_tables *t,
                           risk__scen_acc *acc);
/* What the state of scenario s needs from the engine, read once per batch. */
typedef struct risk__scen_ctx {
    int quantize;
    double scale; /* 10^decimals of V */
    double margin_call_health;
} risk__scen_ctx;

static inline void risk__scen_ctx_init(const risk_engine *e, risk__scen_ctx *c)
{
    c->quantize = !(e->flags & RISK_ENGINE_NO_QUANTIZE) && e->valuation != RISK_ID_NONE;
    c->scale = c->quantize ? risk__asset_scale(&e->assets[e->valuation]) : 1.0;
    c->margin_call_health = e->margin_call_health;
}

/* The equity, health factor and state of every scenario into acc->equity, acc->health and
 * acc->state: what risk__account_summary_fill gives for them, with the same quantization and
 * the same decisions, without the other fields. Two passes, so that the quantizations' and the
 * health factors' divisions of different scenarios overlap. The summary's "broken" test (a
 * money field not finite) is the same test on the unquantized sums, since quantization keeps a
 * finite value finite and returns a non-finite one as it is; and with finite requirements
 * neither the health factor nor `available` can be NaN. */
static inline void risk__scen_states(const risk__scen_ctx *c, uint32_t n_pos, const risk__scen_acc *acc, size_t S)
{
    double *restrict eq = acc->equity, *restrict hf = acc->health, *restrict rm = acc->r_maint;
    for (size_t s = 0; s < S; s++) {
        double equity = acc->net[s] + acc->upnl[s] + acc->iso[s];
        double c_maint = acc->coll_maint[s] + acc->cross_upnl[s];
        double r_maint = acc->liab_maint[s] + acc->cross_mm[s];
        if (c->quantize) {
            equity = risk__quantize(equity, c->scale, 0);
            c_maint = risk__quantize(c_maint, c->scale, 0);
            r_maint = risk__quantize(r_maint, c->scale, 1);
        }
        eq[s] = equity;
        hf[s] = c_maint; /* C_maint until the second pass */
        rm[s] = r_maint;
    }
    for (size_t s = 0; s < S; s++) {
        double equity = eq[s], c_maint = hf[s], r_maint = rm[s];
        double h = r_maint > 0.0 ? c_maint / r_maint : INFINITY;
        double c_init = acc->coll_init[s] + acc->cross_upnl[s];
        double r_init = acc->liab_init[s] + acc->cross_im[s];
        int broken = !isfinite(equity) || !isfinite(c_init) || !isfinite(c_maint) || !isfinite(r_init) ||
                     !isfinite(r_maint) || !isfinite(acc->coll_value[s]) || !isfinite(acc->liab[s]) ||
                     !isfinite(acc->upnl[s]) || !isfinite(acc->iso[s]);
        int owes = n_pos > 0 || acc->liab[s] > 0.0;
        uint32_t state;
        if (broken || (owes && equity <= 0.0))
            state = RISK_STATE_BANKRUPT;
        else if (h < 1.0 || acc->n_iso_liq[s])
            state = RISK_STATE_LIQUIDATABLE;
        else if (h < c->margin_call_health)
            state = RISK_STATE_MARGIN_CALL;
        else
            state = RISK_STATE_HEALTHY;
        hf[s] = h;
        acc->state[s] = state;
    }
}

#endif /* RISK_PORTFOLIO_SCENARIO_H */
