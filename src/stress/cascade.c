/* SPDX-License-Identifier: Apache-2.0 */
/* Liquidation cascades and insurance-fund adequacy (docs/stress.md, "Liquidation cascades" and
 * "Insurance-fund adequacy").
 *
 * The cascade drives the engine only through the public calls a venue would make: set prices and
 * marks, evaluate, plan, apply. Rounds visit accounts in creation order and apply each plan
 * before the next account is looked at, so the run is deterministic and every plan is made
 * against the state it is applied to. Cover 2 and fund survival are reductions over
 * risk_engine_stress(); the survival's scenarios come from risk_var_mc_scenarios(). */
#include "liquidation/liquidation.h"
#include "portfolio/scenario.h"
#include "risk/cascade.h"
#include "risk/stress.h"

#include <string.h>

#define FAILE(code, ...) risk__fail(e, &e->errmsg, code, __VA_ARGS__)

/* ------------------------------------------------------------ shared */

static double fund_value(const risk_engine *e)
{
    double v = 0.0;
    for (uint32_t a = 0; a < e->n_assets; a++) {
        const risk__fund *f = risk__fund_of(e, a);
        if (f && f->balance != 0.0)
            v += f->balance * e->assets[a].price;
    }
    return v;
}

/* Sum over accounts, in creation order, of max(-equity, 0). */
static int bad_debt(const risk_engine *e, double *out)
{
    double sum = 0.0;
    for (size_t k = 0; k < e->n_account_slots; k++) {
        const risk_account *a = e->accounts[k];
        if (!a)
            continue;
        risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
        int rc = risk_account_evaluate(a, &s);
        if (rc)
            return rc;
        if (s.equity < 0.0)
            sum -= s.equity;
    }
    *out = sum;
    return RISK_OK;
}

/* ------------------------------------------------------------ validation */

static int impact_check(risk_engine *e, const risk_impact *m, size_t i)
{
    if (m->version != RISK_IMPACT_VERSION)
        return FAILE(RISK_EVERSION, "cascade: impact %zu version %u is not %d", i, m->version, RISK_IMPACT_VERSION);
    switch (m->model) {
    case RISK_IMPACT_NONE:
        return RISK_OK;
    case RISK_IMPACT_SQRT: {
        int rc = risk__check_range(e, &e->errmsg, "cascade impact", "y", m->y, 0.0, 10.0);
        if (!rc)
            rc = risk__check_range(e, &e->errmsg, "cascade impact", "sigma", m->sigma, 0.0, 10.0);
        if (!rc)
            rc = risk__check_range(e, &e->errmsg, "cascade impact", "volume", m->volume, 0.0, RISK_NOTIONAL_MAX);
        if (!rc && !(m->volume > 0.0))
            rc = FAILE(RISK_EINVAL, "cascade: impact %zu volume must be above 0", i);
        return rc;
    }
    case RISK_IMPACT_LINEAR: {
        int rc = risk__check_range(e, &e->errmsg, "cascade impact", "depth", m->depth, 0.0, RISK_NOTIONAL_MAX);
        if (!rc && !(m->depth > 0.0))
            rc = FAILE(RISK_EINVAL, "cascade: impact %zu depth must be above 0", i);
        return rc;
    }
    default:
        return FAILE(RISK_EINVAL, "cascade: impact %zu model %u is not none (0), sqrt (1) or linear (2)", i, m->model);
    }
}

static int options_check(risk_engine *e, const risk_cascade_options *o)
{
    if (o->version != RISK_CASCADE_OPTIONS_VERSION)
        return FAILE(RISK_EVERSION, "cascade options version %u is not %d", o->version, RISK_CASCADE_OPTIONS_VERSION);
    if (o->max_rounds < 1 || o->max_rounds > RISK_CASCADE_ROUNDS_MAX)
        return FAILE(RISK_EINVAL, "cascade: max_rounds %u outside [1, %u]", o->max_rounds, RISK_CASCADE_ROUNDS_MAX);
    if (o->n_steps < 1 || o->n_steps > RISK_SCENARIOS_MAX)
        return FAILE(RISK_EINVAL, "cascade: n_steps %zu outside [1, %u]", o->n_steps, RISK_SCENARIOS_MAX);
    if (o->n_assets > e->n_assets)
        return FAILE(RISK_EINVAL, "cascade: n_assets %zu above the engine's %u assets", o->n_assets, e->n_assets);
    if (o->n_assets && !o->shocks)
        return FAILE(RISK_ENULL, "cascade: shocks is NULL with n_assets %zu", o->n_assets);
    if (o->n_impact > e->n_instruments)
        return FAILE(RISK_EINVAL, "cascade: n_impact %zu above the engine's %u instruments", o->n_impact,
                     e->n_instruments);
    if (o->n_impact && !o->impact)
        return FAILE(RISK_ENULL, "cascade: impact is NULL with n_impact %zu", o->n_impact);
    for (size_t t = 0; t < o->n_steps; t++)
        for (size_t a = 0; a < o->n_assets; a++) {
            double m = o->shocks[t * o->n_assets + a];
            if (!isfinite(m) || !(m > -1.0))
                return FAILE(RISK_EINVAL, "cascade: shock of %s in step %zu is %s, not finite and above -1",
                             e->assets[a].symbol, t, RISK__NUM(m));
            if (a == e->valuation && m != 0.0)
                return FAILE(RISK_EINVAL, "cascade: step %zu moves the valuation asset %s", t, e->assets[a].symbol);
        }
    for (size_t i = 0; i < o->n_impact; i++) {
        int rc = impact_check(e, &o->impact[i], i);
        if (rc)
            return rc;
    }
    return RISK_OK;
}

/* ------------------------------------------------------------ moving the market */

/* The asset's price and the marks of the perpetuals and futures on it times f. A mark goes on
 * its nearest tick, at least one tick and at most 2^52 ticks; a price into the price domain.
 * Options follow through the engine's repricing on the price update. */
static int move_asset(risk_engine *e, uint32_t u, double f)
{
    if (f == 1.0 || u == e->valuation)
        return RISK_OK;
    double p = e->assets[u].price * f;
    p = p < RISK_PRICE_MIN ? RISK_PRICE_MIN : p > RISK_PRICE_MAX ? RISK_PRICE_MAX : p;
    int rc = risk_engine_set_asset_price(e, u, p);
    for (uint32_t i = 0; i < e->n_instruments && !rc; i++) {
        const risk__instrument *in = &e->instruments[i];
        if (in->underlying != u || in->kind == RISK_KIND_OPTION || in->settled)
            continue;
        double ticks = nearbyint(in->mark * f / in->tick_size);
        ticks = ticks < 1.0 ? 1.0 : ticks > RISK__TICKS_MAX ? RISK__TICKS_MAX : ticks;
        double m = ticks * in->tick_size;
        if (m > RISK_PRICE_MAX)
            m = floor(RISK_PRICE_MAX / in->tick_size) * in->tick_size;
        rc = risk_engine_set_mark(e, i, m);
    }
    return rc;
}

/* The impact law: the log move of an instrument's mark for a net market flow q (contracts,
 * buys > 0) since the start of the step. */
static double impact_law(const risk_impact *m, double q)
{
    if (q == 0.0)
        return 0.0;
    switch (m->model) {
    case RISK_IMPACT_SQRT:
        return (q > 0.0 ? 1.0 : -1.0) * m->y * m->sigma * sqrt(fabs(q) / m->volume);
    case RISK_IMPACT_LINEAR:
        return 0.01 * q / m->depth;
    default:
        return 0.0;
    }
}

/* A round's log move: the law at the step's flow after the round less the law before it, so the
 * rounds of a step together move the mark by the law of the step's whole flow (one metaorder). */
static double impact_move(const risk_impact *m, double before, double q)
{
    if (q == 0.0)
        return 0.0;
    return impact_law(m, before + q) - impact_law(m, before);
}

/* ------------------------------------------------------------ one plan's flows */

/* Value in the settle asset of q contracts at price x. */
static double contract_value(const risk__instrument *in, double q, double x)
{
    return in->inverse ? q * in->contract_size / x : q * in->contract_size * x;
}

static void account_plan(const risk_engine *e, const risk_liquidation_plan *p, const risk_liquidation_action *acts,
                         risk_cascade_round *r, double *flow)
{
    for (size_t k = 0; k < p->n_actions; k++) {
        const risk_liquidation_action *x = &acts[k];
        double pa = x->asset < e->n_assets ? e->assets[x->asset].price : 0.0;
        switch (x->type) {
        case RISK_ACTION_REDUCE: {
            const risk__instrument *in = &e->instruments[x->instrument];
            double v = contract_value(in, x->qty, x->price) * pa;
            r->market_volume += v;
            flow[x->instrument] += x->side == RISK_ORDER_BUY ? x->qty : -x->qty;
            /* the liquidator takes the position over at x->price: worth it at the mark */
            double gain = in->inverse ? x->qty * in->contract_size * (1.0 / x->price - 1.0 / in->mark)
                                      : x->qty * in->contract_size * (in->mark - x->price);
            if (x->side == RISK_ORDER_BUY)
                gain = -gain;
            r->liquidator_gain += (gain + x->fee) * pa;
            r->fund_paid_in += x->insurance_fee * pa;
            break;
        }
        case RISK_ACTION_ADL:
            r->adl_volume += contract_value(&e->instruments[x->instrument], x->qty, x->price) * pa;
            r->n_adl_fills++;
            break;
        case RISK_ACTION_BACKSTOP:
            r->backstop_volume += contract_value(&e->instruments[x->instrument], x->qty, x->price) * pa;
            r->n_backstop_fills++;
            break;
        case RISK_ACTION_SEIZE: {
            double pd = e->assets[x->repay_asset].price;
            r->liquidator_gain += (x->amount - x->protocol_fee) * pa - x->repay_amount * pd;
            r->fund_paid_in += x->protocol_fee * pa;
            break;
        }
        case RISK_ACTION_INSURANCE:
            if (x->amount > 0.0)
                r->fund_paid_in += x->amount * pa;
            else
                r->fund_drawn -= x->amount * pa;
            break;
        case RISK_ACTION_SOCIALIZE:
            r->socialized += x->amount * pa;
            break;
        default:
            break;
        }
    }
    r->n_liquidated++;
    if (p->outcome == RISK_PLAN_CLOSE_OUT) {
        r->n_close_outs++;
        r->uncovered += p->uncovered;
    }
}

static void totals_add(risk_cascade_round *t, const risk_cascade_round *r)
{
    t->n_liquidated += r->n_liquidated;
    t->n_close_outs += r->n_close_outs;
    t->n_adl_fills += r->n_adl_fills;
    t->n_backstop_fills += r->n_backstop_fills;
    t->market_volume += r->market_volume;
    t->adl_volume += r->adl_volume;
    t->backstop_volume += r->backstop_volume;
    t->fund_drawn += r->fund_drawn;
    t->fund_paid_in += r->fund_paid_in;
    t->socialized += r->socialized;
    t->uncovered += r->uncovered;
    t->liquidator_gain += r->liquidator_gain;
}

/* ------------------------------------------------------------ the cascade */

typedef struct cascade_run {
    risk_engine *e;
    const risk_cascade_options *o;
    double *flow, *cum, *move; /* per instrument: the round's flow, the step's flow; per asset */
} cascade_run;

typedef struct round_acc {
    const risk_engine *e;
    risk_cascade_round *r;
    double *flow;
} round_acc;

/* Accounts one applied plan: marks and prices are those it ran at (applying moves neither). */
static int on_plan(void *user, const risk_liquidation_plan *p, const risk_liquidation_action *acts, size_t n)
{
    round_acc *ra = user;
    if (p->outcome != RISK_PLAN_NONE && n)
        account_plan(ra->e, p, acts, ra->r, ra->flow);
    return RISK_OK;
}

/* Plans every liquidatable account of the engine in creation order and applies each at once:
 * risk_engine_liquidate_all, which gives what plan + apply account by account give, bit for bit,
 * without rebuilding an ADL queue per close-out. */
static int liquidate_round(cascade_run *run, risk_cascade_round *r)
{
    round_acc ra = {run->e, r, run->flow};
    risk_liquidate_all_options o = RISK_LIQUIDATE_ALL_OPTIONS_INIT;
    o.on_plan = on_plan;
    o.user = &ra;
    risk_liquidate_all_result res = RISK_LIQUIDATE_ALL_RESULT_INIT;
    return risk_engine_liquidate_all(run->e, &o, &res);
}

/* Moves every underlying by the impact of the round's flows; returns whether anything moved. */
static int apply_impact(cascade_run *run, int *moved)
{
    risk_engine *e = run->e;
    const risk_cascade_options *o = run->o;
    memset(run->move, 0, e->n_assets * sizeof *run->move);
    *moved = 0;
    for (size_t i = 0; i < o->n_impact; i++) {
        const risk__instrument *in = &e->instruments[i];
        if (in->kind == RISK_KIND_OPTION || in->underlying == e->valuation)
            continue;
        run->move[in->underlying] += impact_move(&o->impact[i], run->cum[i], run->flow[i]);
    }
    for (size_t i = 0; i < e->n_instruments; i++)
        run->cum[i] += run->flow[i];
    for (uint32_t u = 0; u < e->n_assets; u++) {
        if (run->move[u] == 0.0)
            continue;
        double f = exp(run->move[u]);
        if (f == 1.0)
            continue;
        *moved = 1;
        int rc = move_asset(e, u, f);
        if (rc)
            return rc;
    }
    return RISK_OK;
}

static void record(const risk_engine *e, const risk_cascade_round *r, const double *marks, const double *flow,
                   risk_cascade_round *rounds, double *marks_out, double *flow_out, size_t slot)
{
    size_t NI = e->n_instruments;
    if (rounds) {
        uint32_t v = rounds[0].version;
        rounds[slot] = *r;
        rounds[slot].version = v;
    }
    if (marks_out && NI)
        memcpy(marks_out + slot * NI, marks, NI * sizeof *marks);
    if (flow_out && NI)
        memcpy(flow_out + slot * NI, flow, NI * sizeof *flow);
}

RISK_API int risk_engine_cascade(risk_engine *engine, const risk_cascade_options *options, risk_cascade_round *totals,
                                 risk_cascade_round *rounds, double *marks_out, double *flow_out, size_t capacity,
                                 size_t *count_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    if (!options || !totals || !count_out)
        return FAILE(RISK_ENULL, "cascade: options, totals or count_out is NULL");
    int rc = options_check(e, options);
    if (rc)
        return rc;
    if (totals->version != RISK_CASCADE_ROUND_VERSION)
        return FAILE(RISK_EVERSION, "cascade totals version %u is not %d", totals->version, RISK_CASCADE_ROUND_VERSION);
    if (rounds && capacity && rounds[0].version != RISK_CASCADE_ROUND_VERSION)
        return FAILE(RISK_EVERSION, "cascade round version %u is not %d", rounds[0].version,
                     RISK_CASCADE_ROUND_VERSION);
    size_t NI = e->n_instruments, NA = e->n_assets;
    cascade_run run = {e, options, NULL, NULL, NULL};
    double *block = risk__malloc(e, (3 * NI + NA + 1) * sizeof(double));
    if (!block) {
        return FAILE(RISK_ENOMEM, "cascade: out of memory for %zu instruments", NI);
    }
    double *marks = block;
    run.flow = block + NI;
    run.cum = block + 2 * NI;
    run.move = block + 3 * NI;

    risk_cascade_round tot = RISK_CASCADE_ROUND_INIT;
    size_t n_rec = 0;
    const size_t A = options->n_assets;
    for (size_t t = 0; t < options->n_steps && !rc; t++) {
        for (uint32_t a = 0; a < A && !rc; a++)
            rc = move_asset(e, a, 1.0 + options->shocks[t * A + a]);
        tot.step = (uint32_t)(t + 1);
        memset(run.cum, 0, NI * sizeof *run.cum);
        for (uint32_t r = 0; r < options->max_rounds && !rc; r++) {
            risk_cascade_round rr = RISK_CASCADE_ROUND_INIT;
            rr.step = (uint32_t)t;
            rr.round = r;
            for (size_t i = 0; i < NI; i++)
                marks[i] = e->instruments[i].mark;
            memset(run.flow, 0, NI * sizeof *run.flow);
            rc = liquidate_round(&run, &rr);
            if (!rc)
                rc = bad_debt(e, &rr.bad_debt);
            rr.fund_after = fund_value(e);
            if (rr.n_liquidated)
                tot.round++;
            if (rr.n_liquidated && r + 1 == options->max_rounds)
                rr.capped = tot.capped = 1;
            if (rr.n_liquidated || r == 0) {
                if (n_rec < capacity)
                    record(e, &rr, marks, run.flow, rounds, marks_out, flow_out, n_rec);
                n_rec++;
            }
            totals_add(&tot, &rr);
            tot.fund_after = rr.fund_after;
            tot.bad_debt = rr.bad_debt;
            if (options->progress && !rc)
                options->progress(options->progress_user, &rr, options->n_steps);
            if (rc || !rr.n_liquidated)
                break;
            int moved = 0;
            rc = apply_impact(&run, &moved);
        }
    }
    risk__free(e, block);
    tot.version = totals->version;
    *totals = tot;
    *count_out = n_rec;
    if (!rc)
        risk__clear(&e->errmsg);
    return rc;
}

/* ------------------------------------------------------------ Cover 2 */

#define COVER_DOUBLES_MAX ((size_t)4 << 20) /* equities held at a time: 32 MiB */

static int better(double d, uint64_t id, double d2, uint64_t id2)
{
    return d > d2 || (d == d2 && id < id2);
}

static void cover_of(risk_cover2 *c, const double *equity, size_t stride, const uint64_t *ids, size_t n, double scale,
                     double total)
{
    risk_cover2 r = RISK_COVER2_INIT;
    for (size_t k = 0; k < n; k++) {
        double eq = equity[k * stride];
        if (!(eq < 0.0))
            continue;
        double d = nearbyint(-eq * scale) / scale;
        if (!(d > 0.0))
            continue;
        r.n_deficit++;
        uint64_t id = ids[k];
        for (uint32_t j = 0; j < 3; j++) {
            if (j < r.n_top && !better(d, id, r.top_deficit[j], r.top_ids[j]))
                continue;
            for (uint32_t m = 2; m > j; m--) {
                r.top_deficit[m] = r.top_deficit[m - 1];
                r.top_ids[m] = r.top_ids[m - 1];
            }
            r.top_deficit[j] = d;
            r.top_ids[j] = id;
            if (r.n_top < 3)
                r.n_top++;
            break;
        }
    }
    r.cover1 = r.top_deficit[0];
    r.cover2 = r.top_deficit[0] + r.top_deficit[1];
    r.emir = r.top_deficit[1] + r.top_deficit[2] > r.cover1 ? r.top_deficit[1] + r.top_deficit[2] : r.cover1;
    r.total_deficit = total;
    r.version = c->version;
    *c = r;
}

static risk_scenarios sub_batch(const risk_scenarios *sc, size_t s0, size_t n)
{
    risk_scenarios sub = *sc;
    sub.n_scenarios = n;
    if (sc->price_moves)
        sub.price_moves = sc->price_moves + s0 * sc->n_assets;
    if (sc->vol_moves)
        sub.vol_moves = sc->vol_moves + s0 * sc->n_assets;
    if (sc->weights)
        sub.weights = sc->weights + s0;
    return sub;
}

RISK_API int risk_engine_cover2(const risk_engine *engine, const risk_scenarios *scenarios, risk_cover2 *out,
                                uint32_t threads)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message buffer is not engine state */
    if (!scenarios || !out)
        return FAILE(RISK_ENULL, "cover2: scenarios or out is NULL");
    if (out[0].version != RISK_COVER2_VERSION)
        return FAILE(RISK_EVERSION, "cover2 result version %u is not %d", out[0].version, RISK_COVER2_VERSION);
    int rc = risk__scenarios_check(e, &e->errmsg, scenarios);
    if (rc)
        return rc;
    size_t N = e->n_accounts, S = scenarios->n_scenarios;
    size_t chunk = COVER_DOUBLES_MAX / (N ? N : 1);
    if (chunk < 1)
        chunk = 1;
    if (chunk > S)
        chunk = S;
    double *equity = risk__malloc(e, (N ? N : 1) * chunk * sizeof *equity);
    uint64_t *ids = risk__malloc(e, (N ? N : 1) * sizeof *ids);
    risk_stress_scenario *book = risk__malloc(e, chunk * sizeof *book);
    risk_cover2 *res = risk__malloc(e, S * sizeof *res);
    if (!equity || !ids || !book || !res) {
        rc = FAILE(RISK_ENOMEM, "cover2: out of memory for %zu accounts x %zu scenarios", N, chunk);
        goto done;
    }
    double scale = e->valuation == RISK_ID_NONE ? 1.0 : risk__asset_scale(&e->assets[e->valuation]);
    for (size_t s0 = 0; s0 < S && !rc; s0 += chunk) {
        size_t c = S - s0 < chunk ? S - s0 : chunk;
        risk_scenarios sub = sub_batch(scenarios, s0, c);
        book[0] = (risk_stress_scenario)RISK_STRESS_SCENARIO_INIT;
        size_t count = 0;
        rc = risk_engine_stress(e, &sub, book, NULL, equity, NULL, NULL, ids, N, threads, &count);
        for (size_t s = 0; s < c && !rc; s++) {
            res[s0 + s].version = RISK_COVER2_VERSION;
            cover_of(&res[s0 + s], equity + s, c, ids, count, scale, book[s].deficit);
        }
    }
    if (!rc) {
        uint32_t v = out[0].version;
        for (size_t s = 0; s < S; s++) {
            out[s] = res[s];
            out[s].version = v;
        }
        risk__clear(&e->errmsg);
    }
done:
    risk__free(e, equity);
    risk__free(e, ids);
    risk__free(e, book);
    risk__free(e, res);
    return rc;
}

/* ------------------------------------------------------------ fund survival */

#define SURVIVAL_CHUNK 4096u

RISK_API int risk_engine_fund_survival(const risk_engine *engine, const uint32_t *assets, const double *cov, size_t k,
                                       size_t n, const risk_var_mc_options *mc, double fund, double level,
                                       uint32_t threads, risk_fund_survival *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine;
    if (!assets || !cov || !out)
        return FAILE(RISK_ENULL, "fund survival: assets, cov or out is NULL");
    if (out->version != RISK_FUND_SURVIVAL_VERSION)
        return FAILE(RISK_EVERSION, "fund survival result version %u is not %d", out->version,
                     RISK_FUND_SURVIVAL_VERSION);
    if (k < 1 || k > RISK_VAR_FACTORS_MAX || k > e->n_assets)
        return FAILE(RISK_EINVAL, "fund survival: k %zu outside [1, min(%u, %u assets)]", k, RISK_VAR_FACTORS_MAX,
                     e->n_assets);
    if (n < 1 || n > RISK_SCENARIOS_MAX)
        return FAILE(RISK_EINVAL, "fund survival: n %zu outside [1, %u]", n, RISK_SCENARIOS_MAX);
    int rc = risk__check_range(e, &e->errmsg, "fund survival", "fund", fund, 0.0, RISK_NOTIONAL_MAX);
    if (rc)
        return rc;
    if (!(level > 0.0 && level < 1.0))
        return FAILE(RISK_EINVAL, "fund survival: level %s outside (0, 1)", RISK__NUM(level));
    for (size_t j = 0; j < k; j++) {
        if (assets[j] >= e->n_assets)
            return FAILE(RISK_ENOTFOUND, "fund survival: unknown asset %u", assets[j]);
        if (assets[j] == e->valuation)
            return FAILE(RISK_EINVAL, "fund survival: asset %s is the valuation asset", e->assets[assets[j]].symbol);
        for (size_t m = 0; m < j; m++)
            if (assets[m] == assets[j])
                return FAILE(RISK_EINVAL, "fund survival: asset %s given twice", e->assets[assets[j]].symbol);
    }
    size_t NA = e->n_assets, chunk = n < SURVIVAL_CHUNK ? n : SURVIVAL_CHUNK;
    double *x = risk__malloc(e, n * k * sizeof *x);
    double *work = risk__malloc(e, (RISK_VAR_MC_WORK(k) > n ? RISK_VAR_MC_WORK(k) : n) * sizeof *work);
    double *deficit = risk__malloc(e, n * sizeof *deficit);
    double *moves = risk__malloc(e, chunk * NA * sizeof *moves);
    risk_stress_scenario *book = risk__malloc(e, chunk * sizeof *book);
    if (!x || !work || !deficit || !moves || !book) {
        rc = FAILE(RISK_ENOMEM, "fund survival: out of memory for %zu scenarios", n);
        goto done;
    }
    rc = risk_var_mc_scenarios(x, cov, k, n, mc, work, RISK_VAR_MC_WORK(k));
    if (rc) {
        rc = FAILE(rc, "fund survival: the Monte Carlo generator refused the covariance or options (risk_var_mc_scenarios)");
        goto done;
    }
    for (size_t s0 = 0; s0 < n && !rc; s0 += chunk) {
        size_t c = n - s0 < chunk ? n - s0 : chunk;
        memset(moves, 0, c * NA * sizeof *moves);
        for (size_t s = 0; s < c; s++)
            for (size_t j = 0; j < k; j++)
                moves[s * NA + assets[j]] = expm1(x[(s0 + s) * k + j]);
        risk_scenarios sc = RISK_SCENARIOS_INIT;
        sc.n_scenarios = c;
        sc.n_assets = NA;
        sc.price_moves = moves;
        book[0] = (risk_stress_scenario)RISK_STRESS_SCENARIO_INIT;
        size_t count = 0;
        rc = risk_engine_stress(e, &sc, book, NULL, NULL, NULL, NULL, NULL, 0, threads, &count);
        for (size_t s = 0; s < c && !rc; s++)
            deficit[s0 + s] = book[s].deficit;
    }
    if (rc)
        goto done;
    risk_fund_survival r = RISK_FUND_SURVIVAL_INIT;
    double sum = 0.0;
    for (size_t s = 0; s < n; s++) {
        r.n_survived += deficit[s] <= fund;
        sum += deficit[s];
        if (deficit[s] > r.deficit_max)
            r.deficit_max = deficit[s];
        deficit[s] = -deficit[s]; /* a P&L vector: the loss is the deficit */
    }
    r.n = n;
    r.fund = fund;
    r.survival = (double)r.n_survived / (double)n;
    r.std_error = sqrt(r.survival * (1.0 - r.survival) / (double)n);
    r.level = level;
    r.deficit_mean = sum / (double)n;
    risk_var_result v = RISK_VAR_RESULT_INIT;
    rc = risk_var_historical(&v, deficit, n, level, level, work, n);
    if (rc) {
        rc = FAILE(rc, "fund survival: deficit quantile");
        goto done;
    }
    r.fund_needed = v.var > 0.0 ? v.var : 0.0;
    r.deficit_es = v.es > 0.0 ? v.es : 0.0;
    *out = r;
    risk__clear(&e->errmsg);
done:
    risk__free(e, x);
    risk__free(e, work);
    risk__free(e, deficit);
    risk__free(e, moves);
    risk__free(e, book);
    return rc;
}
