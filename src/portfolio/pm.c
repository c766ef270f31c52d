/* SPDX-License-Identifier: Apache-2.0 */
/* Portfolio margin (docs/portfolio-margin.md): the Deribit / Paradex risk matrix, OKX's MR1..MR7
 * aggregation and CME SPAN-style scanning as parameter sets on one engine.
 *
 * One primitive: every scenario is revalued by the scenario revaluation of portfolio/scenario.c
 * (risk__scen_tables_build, risk__scen_revalue, risk__scen_states: what risk_account_scenario_pnl
 * runs), in one batch per account: row 0 moves nothing (the base equity, so that evaluation,
 * which calls in here, is not re-entered), then each risk unit's grid, whose rows move that
 * unit's underlying only. P&L of row s = w_s (E_s - E_0), E the quantized equity, exactly as
 * risk_account_scenario_pnl reports it. */
#include "portfolio/scenario.h"
#include "margin/schedule.h"

#include <string.h>

static const risk_portfolio_margin_params pm_defaults = RISK_PORTFOLIO_MARGIN_PARAMS_INIT;

/* ------------------------------------------------------------ parameters */

/* The first problem of a parameter set, as text (NULL when none); *code its status. */
static const char *params_problem(const risk_portfolio_margin_params *p, int *code)
{
    *code = RISK_EINVAL;
    if (!p) {
        *code = RISK_ENULL;
        return "params is NULL";
    }
    if (p->version != RISK_PORTFOLIO_MARGIN_PARAMS_VERSION) {
        *code = RISK_EVERSION;
        return "unknown params version";
    }
    if (p->model > RISK_PM_SPAN)
        return "unknown model";
    if (!(p->price_range > 0.0 && p->price_range <= 0.95))
        return "price_range outside (0, 0.95]";
    if (p->price_steps < 1 || p->price_steps > RISK_PM_STEPS_MAX)
        return "price_steps outside [1, 64]";
    if (p->vol_same > 1 || p->extended_vol_up > 1 || p->reserved != 0)
        return "vol_same and extended_vol_up must be 0 or 1, reserved 0";
    if (p->vol_mode != RISK_VOL_MOVE_ABSOLUTE && p->vol_mode != RISK_VOL_MOVE_RELATIVE)
        return "vol_mode is neither absolute (0) nor relative (1)";
    if (!(p->vol_up >= 0.0 && p->vol_up <= RISK_VOL_MOVE_MAX) || !(p->vol_down >= 0.0 && p->vol_down <= RISK_VOL_MOVE_MAX))
        return "vol_up or vol_down outside [0, 100]";
    if (!(p->vol_term_days > 0.0 && p->vol_term_days <= 36500.0))
        return "vol_term_days outside (0, 36500]";
    if (!(p->vol_term_power_short >= 0.0 && p->vol_term_power_short <= 4.0) ||
        !(p->vol_term_power_long >= 0.0 && p->vol_term_power_long <= 4.0))
        return "a vol term power outside [0, 4]";
    if (p->n_extended > RISK_PM_EXTENDED_MAX)
        return "n_extended above 16";
    for (uint32_t k = 0; k < p->n_extended; k++) {
        double m = p->extended_moves[k];
        if (!(m > -1.0 && m <= 10.0) || m == 0.0)
            return "an extended move outside (-1, 10] or 0";
    }
    const double rates[] = {p->extended_weight,   p->delta_shock,       p->roll_shock, p->min_delta_net,
                            p->min_delta_hedged,  p->short_option_rate, p->option_gross_rate, p->basis_rate,
                            p->min_charge_rate};
    for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++)
        if (!(rates[k] >= 0.0 && rates[k] <= 1.0))
            return "a weight or rate (extended_weight, delta_shock, roll_shock, min_delta_net, min_delta_hedged, "
                   "short_option_rate, option_gross_rate, basis_rate, min_charge_rate) outside [0, 1]";
    if (!(p->im_multiplier >= 1.0 && p->im_multiplier <= 100.0))
        return "im_multiplier outside [1, 100]";
    return NULL;
}

static int params_check(const risk_engine *e, char **err, const risk_portfolio_margin_params *p)
{
    int code;
    const char *problem = params_problem(p, &code);
    return problem ? risk__fail(e, err, code, "portfolio margin: %s", problem) : RISK_OK;
}

static size_t core_size(const risk_portfolio_margin_params *p)
{
    return (2u * (size_t)p->price_steps + 1u) * (2u + p->vol_same);
}

static size_t grid_size(const risk_portfolio_margin_params *p)
{
    return core_size(p) + p->n_extended;
}

/* The unit grid (docs/portfolio-margin.md, "The grid"): k = 0, +1, -1, ..., +N, -N, each with vol
 * up, [same,] down; then the extended moves. */
static void grid_fill(const risk_portfolio_margin_params *p, double *pm, double *vm, double *w)
{
    size_t r = 0;
    uint32_t N = p->price_steps;
    for (uint32_t j = 0; j <= 2 * N; j++) {
        int k = j == 0 ? 0 : (j % 2 ? (int)(j + 1) / 2 : -(int)(j / 2));
        double move = p->price_range * (double)k / (double)N;
        double vols[3] = {p->vol_up, 0.0, -p->vol_down};
        for (uint32_t l = 0; l < 3; l++) {
            if (l == 1 && !p->vol_same)
                continue;
            pm[r] = move;
            vm[r] = vols[l];
            w[r] = 1.0;
            r++;
        }
    }
    for (uint32_t k = 0; k < p->n_extended; k++) {
        double m = p->extended_moves[k];
        double d = p->price_range / fabs(m);
        pm[r] = m;
        vm[r] = p->extended_vol_up ? p->vol_up : 0.0;
        w[r] = p->extended_weight > 0.0 ? p->extended_weight : (d < 1.0 ? d : 1.0);
        r++;
    }
}

RISK_API int risk_engine_set_portfolio_margin(risk_engine *engine, const risk_portfolio_margin_params *params)
{
    if (!engine)
        return RISK_ENULL;
    int rc = params_check(engine, &engine->errmsg, params);
    if (rc)
        return rc;
    if (!engine->pm) {
        engine->pm = risk__malloc(engine, sizeof *engine->pm);
        if (!engine->pm)
            return risk__fail(engine, &engine->errmsg, RISK_ENOMEM, "out of memory for the portfolio margin params");
    }
    *engine->pm = *params;
    risk__clear(&engine->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_portfolio_margin(risk_portfolio_margin_params *out, const risk_engine *engine)
{
    if (!out || !engine)
        return RISK_ENULL;
    *out = engine->pm ? *engine->pm : pm_defaults;
    return RISK_OK;
}

void risk__pm_free(risk_engine *e)
{
    risk__free(e, e->pm);
    e->pm = NULL;
}

RISK_API int risk_portfolio_margin_grid(double *price_moves, double *vol_moves, double *weights, size_t capacity,
                                        const risk_portfolio_margin_params *params, size_t *count_out)
{
    if (!params || !count_out)
        return RISK_ENULL;
    int rc; /* a pure function: no handle keeps a message */
    if (params_problem(params, &rc))
        return rc;
    size_t K = grid_size(params);
    *count_out = K;
    if (capacity < K)
        return RISK_EBUFFER;
    double pm[(2 * RISK_PM_STEPS_MAX + 1) * 3 + RISK_PM_EXTENDED_MAX], vm[sizeof pm / sizeof pm[0]],
        w[sizeof pm / sizeof pm[0]];
    grid_fill(params, pm, vm, w);
    if (price_moves)
        memcpy(price_moves, pm, K * sizeof(double));
    if (vol_moves)
        memcpy(vol_moves, vm, K * sizeof(double));
    if (weights)
        memcpy(weights, w, K * sizeof(double));
    return RISK_OK;
}

RISK_API int risk_portfolio_okx_mmr(double *out, const double *mr, size_t n)
{
    if (!out || !mr)
        return RISK_ENULL;
    if (n != 7)
        return RISK_EINVAL;
    for (size_t k = 0; k < 7; k++)
        if (!(mr[k] >= 0.0) || isinf(mr[k]))
            return RISK_EINVAL;
    double a = mr[0] > mr[1] ? mr[0] : mr[1];
    a = a > mr[5] ? a : mr[5];
    a = a + mr[2] + mr[3] + mr[4];
    *out = a > mr[6] ? a : mr[6];
    return RISK_OK;
}

/* ------------------------------------------------------------ risk units */

/* A position's delta in underlying units: d(value in V) / d(U in V) x (U / U), i.e. the value's
 * exposure to a relative move of the underlying divided by U (docs/portfolio-margin.md,
 * "Deltas"). Linear futures: q cs; inverse futures: q cs / M (coin face value); options: q cs
 * delta (linear) or q cs (delta + m) (coin premium: the premium-adjusted delta plus the coins the
 * premium is worth); an option without a volatility counts 0. */
static double position_delta(const risk_engine *e, const risk__instrument *in, double q)
{
    if (in->kind == RISK_KIND_OPTION) {
        double vol = in->settled ? NAN : risk__option_vol(in, e->now_unix_s);
        double d, g, v, th;
        risk__option_greeks(in, in->opt_under, vol, e->now_unix_s, &d, &g, &v, &th);
        if (!isfinite(d))
            return 0.0;
        return q * in->contract_size * (in->inverse ? d + in->mark : d);
    }
    return in->inverse ? q * in->contract_size / in->mark : q * in->contract_size;
}

typedef struct pm_unit {
    uint32_t u, n_pos;
    double pos, neg, gross; /* sums of positive deltas, |negative| deltas, |deltas| */
    double roll_hedged, short_strikes, option_contracts, short_contracts;
} pm_unit;

/* min(sum of positive nets, sum of |negative| nets) of futures grouped by expiry, and the net
 * short option contracts summed over (expiry, strike) groups, for one unit. Quadratic in the
 * unit's positions: a group is summed once, at its first position. */
static void unit_groups(const risk_account *a, const double *delta, pm_unit *un)
{
    const risk_engine *e = a->engine;
    double fp = 0.0, fn = 0.0, shorts = 0.0;
    for (uint32_t i = 0; i < a->n_pos; i++) {
        const risk__instrument *in = &e->instruments[a->inst[i]];
        if (in->underlying != un->u)
            continue;
        int opt = in->kind == RISK_KIND_OPTION;
        int first = 1;
        for (uint32_t j = 0; j < i && first; j++) {
            const risk__instrument *jn = &e->instruments[a->inst[j]];
            if (jn->underlying == un->u && (jn->kind == RISK_KIND_OPTION) == opt && jn->expiry_unix_s == in->expiry_unix_s &&
                (!opt || jn->strike == in->strike))
                first = 0;
        }
        if (!first)
            continue;
        double net = 0.0;
        for (uint32_t j = i; j < a->n_pos; j++) {
            const risk__instrument *jn = &e->instruments[a->inst[j]];
            if (jn->underlying == un->u && (jn->kind == RISK_KIND_OPTION) == opt && jn->expiry_unix_s == in->expiry_unix_s &&
                (!opt || jn->strike == in->strike))
                net += opt ? a->qty[j] * jn->contract_size : delta[j];
        }
        if (opt)
            shorts += net < 0.0 ? -net : 0.0;
        else if (net > 0.0)
            fp += net;
        else
            fn -= net;
    }
    un->roll_hedged = fp < fn ? fp : fn;
    un->short_strikes = shorts;
}

/* ------------------------------------------------------------ the margin */

typedef struct pm_scratch {
    double *moves, *vols, *weights, *delta;
    double gm[(2 * RISK_PM_STEPS_MAX + 1) * 3 + RISK_PM_EXTENDED_MAX];
    double gv[(2 * RISK_PM_STEPS_MAX + 1) * 3 + RISK_PM_EXTENDED_MAX];
    double gw[(2 * RISK_PM_STEPS_MAX + 1) * 3 + RISK_PM_EXTENDED_MAX];
    pm_unit *units;
    void *block;
} pm_scratch;

/* Largest loss (>= 0) of rows [b, b + n) of a unit and its index (relative to b). */
static double worst_of(const double *pnl, size_t b, size_t n, uint32_t *idx)
{
    double worst = 0.0;
    uint32_t w = 0;
    int found = 0;
    for (size_t k = 0; k < n; k++) {
        double loss = -pnl[b + k];
        if (!found || loss > worst) {
            worst = loss;
            w = (uint32_t)k;
            found = 1;
        }
    }
    *idx = w;
    return worst > 0.0 ? worst : 0.0;
}

/* The units' figures from the P&L of the batch (row 0 the base, then K rows per unit): their MM
 * summed (returned), the sum of their worst losses in *loss_sum, the worst unit into res and
 * per-unit figures into units (up to cap). */
static double pm_units(const risk_account *a, const risk_portfolio_margin_params *p, const pm_scratch *x, uint32_t nu,
                       const double *pnl, risk_portfolio_margin_result *res, risk_portfolio_margin_unit *units,
                       size_t cap, double *loss_sum_out)
{
    const risk_engine *e = a->engine;
    size_t K = grid_size(p), KC = core_size(p);
    double mm = 0.0, worst_loss = -1.0, loss_sum = 0.0;
    for (uint32_t j = 0; j < nu; j++) {
        const pm_unit *un = &x->units[j];
        double U = e->assets[un->u].price;
        size_t b = 1 + j * K;
        uint32_t wi;
        double L = worst_of(pnl, b, K, &wi);
        double net = un->pos - un->neg, hedged = un->pos < un->neg ? un->pos : un->neg;
        double addons = 0.0, minimum = 0.0, mr[7] = {0, 0, 0, 0, 0, 0, 0}, mmu;
        switch (p->model) {
        case RISK_PM_OKX: {
            uint32_t w1, w6;
            mr[0] = worst_of(pnl, b, KC, &w1);
            mr[5] = K > KC ? worst_of(pnl, b + KC, K - KC, &w6) : 0.0;
            mr[3] = p->basis_rate * hedged * U;
            mr[6] = p->min_charge_rate * un->gross * U;
            double a1 = mr[0] > mr[1] ? mr[0] : mr[1];
            a1 = (a1 > mr[5] ? a1 : mr[5]) + mr[2] + mr[3] + mr[4];
            mmu = a1 > mr[6] ? a1 : mr[6];
            minimum = mr[6];
            break;
        }
        case RISK_PM_SPAN:
            minimum = p->short_option_rate * un->short_contracts * U;
            mmu = L > minimum ? L : minimum;
            break;
        case RISK_PM_RISK_MATRIX:
        default:
            minimum = (p->min_delta_net * fabs(net) + p->min_delta_hedged * hedged) * U;
            addons = p->delta_shock * fabs(net) * U + p->roll_shock * un->roll_hedged * U +
                     p->short_option_rate * un->short_strikes * U + p->option_gross_rate * un->option_contracts * U;
            mmu = (L > minimum ? L : minimum) + addons;
            break;
        }
        mm += mmu;
        loss_sum += L;
        if (res && L > worst_loss) {
            worst_loss = L;
            res->worst_unit = un->u;
            res->worst_scenario = wi;
            res->worst_loss = L;
            res->worst_price_move = x->gm[wi];
            res->worst_vol_move = x->gv[wi];
        }
        if (units && j < cap) {
            risk_portfolio_margin_unit *o = &units[j];
            o->version = RISK_PORTFOLIO_MARGIN_UNIT_VERSION;
            o->underlying = un->u;
            o->n_positions = un->n_pos;
            o->worst_scenario = wi;
            o->worst_loss = L;
            o->worst_price_move = x->gm[wi];
            o->worst_vol_move = x->gv[wi];
            o->worst_weight = x->gw[wi];
            o->underlying_price = U;
            o->net_delta = net;
            o->hedged_delta = hedged;
            o->gross_delta = un->gross;
            o->addons = addons;
            o->minimum = minimum;
            memcpy(o->mr, mr, sizeof mr);
            o->maintenance_margin = mmu;
        }
    }
    *loss_sum_out = loss_sum;
    return mm;
}

/* The portfolio margin of an account (unquantized MM and IM in V), per-unit figures into units
 * (up to cap) and the worst unit into res (may be NULL). RISK_EINVAL (moved prices, message in
 * *err), RISK_ENOMEM. */
static int pm_compute(const risk_account *a, const risk_portfolio_margin_params *p, char **err,
                      risk_portfolio_margin_result *res, risk_portfolio_margin_unit *units, size_t cap, double *mm_out,
                      double *im_out, double *loss_out, risk__scen_tables *const *shared)
{
    const risk_engine *e = a->engine;
    uint32_t NA = e->n_assets, n = a->n_pos;
    size_t K = grid_size(p);
    pm_scratch x;
    memset(&x, 0, sizeof x);
    /* the units: distinct underlyings of the positions, in asset-id order */
    size_t bytes_units = (size_t)(n ? n : 1) * sizeof(pm_unit);
    size_t bytes_delta = (size_t)(n ? n : 1) * sizeof(double);
    x.block = risk__malloc(e, bytes_units + bytes_delta);
    if (!x.block)
        return risk__fail(e, err, RISK_ENOMEM, "out of memory for the portfolio margin of %u positions", n);
    x.units = x.block;
    x.delta = (double *)((char *)x.block + bytes_units);
    uint32_t nu = 0;
    for (uint32_t i = 0; i < n; i++) {
        const risk__instrument *in = &e->instruments[a->inst[i]];
        x.delta[i] = position_delta(e, in, a->qty[i]);
        uint32_t j = 0;
        while (j < nu && x.units[j].u < in->underlying)
            j++;
        if (j == nu || x.units[j].u != in->underlying) {
            memmove(&x.units[j + 1], &x.units[j], (nu - j) * sizeof(pm_unit));
            memset(&x.units[j], 0, sizeof(pm_unit));
            x.units[j].u = in->underlying;
            nu++;
        }
        pm_unit *un = &x.units[j];
        double d = x.delta[i];
        un->n_pos++;
        un->pos += d > 0.0 ? d : 0.0;
        un->neg += d < 0.0 ? -d : 0.0;
        un->gross += fabs(d);
        if (in->kind == RISK_KIND_OPTION) {
            double c = fabs(a->qty[i]) * in->contract_size;
            un->option_contracts += c;
            un->short_contracts += a->qty[i] < 0.0 ? c : 0.0;
        }
    }
    for (uint32_t j = 0; j < nu; j++) {
        pm_unit *un = &x.units[j];
        double bal = un->u == e->valuation ? 0.0 : risk__basket_amount(&a->basket, un->u);
        un->pos += bal > 0.0 ? bal : 0.0;
        un->neg += bal < 0.0 ? -bal : 0.0;
        un->gross += fabs(bal);
        unit_groups(a, x.delta, un);
    }
    double mm = 0.0, loss_sum = 0.0;
    if (res) {
        res->model = p->model;
        res->n_units = nu;
        res->worst_unit = RISK_ID_NONE;
        res->worst_scenario = 0;
        res->worst_loss = 0.0;
        res->worst_price_move = res->worst_vol_move = 0.0;
    }
    if (nu == 0) {
        risk__free(e, x.block);
        *mm_out = *im_out = 0.0;
        if (loss_out)
            *loss_out = 0.0;
        return RISK_OK;
    }
    /* the batch: row 0 moves nothing, then K rows per unit */
    size_t S = 1 + (size_t)nu * K;
    if (shared) { /* an engine-wide batch: each unit's table is built once for every account */
        double *pnl = S <= SIZE_MAX / sizeof(double) ? risk__malloc(e, S * sizeof(double)) : NULL;
        risk__scen_acc acc;
        if (!pnl || risk__scen_acc_init(e, K + 1, &acc)) {
            risk__free(e, pnl);
            risk__free(e, x.block);
            return risk__fail(e, err, RISK_ENOMEM, "out of memory for %zu portfolio margin scenarios", S);
        }
        grid_fill(p, x.gm, x.gv, x.gw);
        risk__scen_ctx ctx;
        risk__scen_ctx_init(e, &ctx);
        pnl[0] = 0.0;
        for (uint32_t j = 0; j < nu; j++) {
            risk__scen_revalue(a, shared[x.units[j].u], &acc);
            risk__scen_states(&ctx, a->n_pos, &acc, K + 1);
            for (size_t k = 0; k < K; k++)
                pnl[1 + j * K + k] = x.gw[k] * (acc.equity[1 + k] - acc.equity[0]);
        }
        risk__scen_acc_release(e, &acc);
        mm = pm_units(a, p, &x, nu, pnl, res, units, cap, &loss_sum);
        risk__free(e, pnl);
        risk__free(e, x.block);
        *mm_out = mm;
        *im_out = mm * p->im_multiplier;
        if (loss_out)
            *loss_out = loss_sum;
        return RISK_OK;
    }
    size_t cells = S * NA;
    if (S > RISK_SCENARIOS_MAX || cells / S != NA || cells > SIZE_MAX / (2 * sizeof(double)) - S) {
        risk__free(e, x.block);
        return risk__fail(e, err, RISK_ENOMEM, "portfolio margin: %u units of %zu scenarios do not fit", nu, K);
    }
    double *grid = risk__calloc(e, 2 * cells + 2 * S, sizeof(double));
    if (!grid) {
        risk__free(e, x.block);
        return risk__fail(e, err, RISK_ENOMEM, "out of memory for %zu portfolio margin scenarios", S);
    }
    x.moves = grid;
    x.vols = grid + cells;
    x.weights = grid + 2 * cells;
    double *pnl = x.weights + S;
    grid_fill(p, x.gm, x.gv, x.gw);
    x.weights[0] = 1.0;
    for (uint32_t j = 0; j < nu; j++) {
        uint32_t u = x.units[j].u;
        for (size_t k = 0; k < K; k++) {
            size_t r = 1 + j * K + k;
            if (u != e->valuation) { /* the valuation asset cannot move: its unit has no price risk */
                x.moves[r * NA + u] = x.gm[k];
                x.vols[r * NA + u] = x.gv[k];
            }
            x.weights[r] = x.gw[k];
        }
    }
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.vol_mode = p->vol_mode;
    sc.n_scenarios = S;
    sc.n_assets = NA;
    sc.price_moves = x.moves;
    sc.vol_moves = x.vols;
    sc.weights = x.weights;
    sc.vol_term_days = p->vol_term_days;
    sc.vol_term_power_short = p->vol_term_power_short;
    sc.vol_term_power_long = p->vol_term_power_long;
    risk__scen_tables t;
    int rc = risk__scen_tables_build_for(e, err, &sc, a, &t);
    if (rc) {
        risk__free(e, grid);
        risk__free(e, x.block);
        return rc;
    }
    risk__scen_acc acc;
    if (risk__scen_acc_init(e, S, &acc)) {
        risk__scen_tables_release(e, &t);
        risk__free(e, grid);
        risk__free(e, x.block);
        return risk__fail(e, err, RISK_ENOMEM, "out of memory for %zu scenario accumulators", S);
    }
    risk__scen_revalue(a, &t, &acc);
    risk__scen_ctx ctx;
    risk__scen_ctx_init(e, &ctx);
    risk__scen_states(&ctx, a->n_pos, &acc, S);
    for (size_t s = 0; s < S; s++)
        pnl[s] = x.weights[s] * (acc.equity[s] - acc.equity[0]);
    risk__scen_acc_release(e, &acc);
    risk__scen_tables_release(e, &t);

    mm = pm_units(a, p, &x, nu, pnl, res, units, cap, &loss_sum);
    risk__free(e, grid);
    risk__free(e, x.block);
    *mm_out = mm;
    *im_out = mm * p->im_multiplier;
    if (loss_out)
        *loss_out = loss_sum;
    return RISK_OK;
}

void risk__pm_account_values(const risk_account *a, risk__account_values *v)
{
    const risk_engine *e = a->engine;
    char *msg = NULL; /* evaluation reports no message: a failure makes the account bankrupt */
    double mm, im;
    int rc = pm_compute(a, e->pm ? e->pm : &pm_defaults, &msg, NULL, NULL, 0, &mm, &im, NULL, NULL);
    risk__free(e, msg);
    if (rc)
        mm = im = INFINITY;
    v->cross_im = im;
    v->cross_mm = mm;
}

/* ------------------------------------------------------------ the model at moved markets */

/* A view of the engine at a moved market, and of the account on it: the view shares everything
 * with the engine, read only, but its own copies of the asset and instrument arrays, whose
 * prices and marks the caller moves as the public calls would (risk_engine_set_asset_prices,
 * risk_engine_set_marks, risk_engine_set_mark_vol, with the options' underlying prices
 * following as risk__options_refresh updates them). pm_compute and evaluation on the view read
 * the same numbers as on an engine the caller moved, so they give the same bits. */
typedef struct pm_view {
    risk_engine e;
    risk_account a;
    risk__asset *assets;
    risk__instrument *ins;
} pm_view;

static int view_init(pm_view *v, const risk_account *a) /* RISK_ENOMEM */
{
    const risk_engine *e = a->engine;
    size_t NA = e->n_assets, NI = e->n_instruments;
    v->assets = risk__malloc(e, (NA ? NA : 1) * sizeof *v->assets);
    v->ins = risk__malloc(e, (NI ? NI : 1) * sizeof *v->ins);
    if (!v->assets || !v->ins) {
        risk__free(e, v->assets);
        risk__free(e, v->ins);
        return RISK_ENOMEM;
    }
    memcpy(v->assets, e->assets, NA * sizeof *v->assets);
    memcpy(v->ins, e->instruments, NI * sizeof *v->ins);
    v->e = *e;
    v->e.assets = v->assets;
    v->e.instruments = v->ins;
    v->e.errmsg = NULL;
    v->a = *a;
    v->a.engine = &v->e;
    v->a.basket.engine = &v->e;
    v->a.errmsg = NULL;
    return RISK_OK;
}

static void view_release(const risk_engine *e, pm_view *v)
{
    risk__free(e, v->assets);
    risk__free(e, v->ins);
}

/* The model's IM and MM of the view's account (+inf when they cannot be computed). */
static void view_margins(const pm_view *v, const risk_portfolio_margin_params *p, double *im, double *mm)
{
    char *msg = NULL;
    int rc = pm_compute(&v->a, p, &msg, NULL, NULL, 0, mm, im, NULL, NULL);
    risk__free(v->a.engine, msg);
    if (rc)
        *mm = *im = INFINITY;
}

/* The portfolio margin under each scenario of a batch (docs/portfolio-margin.md, section 7): for
 * scenario s, the view's asset prices and held instruments' marks are the scenario's (the
 * tables' rows); an option priced from a mark volatility keeps being priced from it, moved as the
 * scenario moves it. */
void risk__pm_scen_margins(const risk_account *a, const risk_scenarios *sc, const risk__scen_tables *t,
                           risk__scen_acc *acc)
{
    const risk_engine *e = a->engine;
    const risk_portfolio_margin_params *p = e->pm ? e->pm : &pm_defaults;
    size_t S = t->n_s, NA = e->n_assets;
    pm_view v;
    if (view_init(&v, a)) { /* as evaluation without memory: no requirement can be shown to hold */
        for (size_t s = 0; s < S; s++)
            acc->cross_im[s] = acc->cross_mm[s] = INFINITY;
        return;
    }
    for (size_t s = 0; s < S; s++) {
        for (size_t k = 0; k < NA; k++)
            v.assets[k].price = t->price[k * S + s];
        for (uint32_t i = 0; i < a->n_pos; i++) {
            uint32_t k = a->inst[i];
            risk__instrument *in = &v.ins[k];
            const risk__instrument *orig = &e->instruments[k];
            double mark = t->mark[(size_t)k * S + s];
            if (in->kind != RISK_KIND_OPTION) {
                in->mark = mark;
                continue;
            }
            in->opt_under = risk__option_underlying_price(&v.e, in);
            if (in->settled)
                continue;
            if (orig->mark_vol > 0.0) {
                double vol = risk__scen_moved_mark_vol(e, sc, s, orig);
                in->mark_vol = vol > 0.0 ? vol : 0.0; /* a vol moved to 0: a given mark, as a caller would set */
            }
            in->mark = mark;
        }
        view_margins(&v, p, &acc->cross_im[s], &acc->cross_mm[s]);
    }
    view_release(e, &v);
}

/* ------------------------------------------------------------ liquidation prices
 * The maintenance surplus f(k) = C_maint - R_maint of a portfolio account with underlying u's
 * price and every mark on u moved by the factor k (the options on u repriced at U k with the vol
 * they price at now: sticky strike, as docs/options.md 8 does), R_maint = liabilities_maint +
 * MM_portfolio at the moved market: evaluation of the account on a view moved by k. Sign
 * changes are found on a geometric grid of PM_K_STEP over [PM_K_MIN, PM_K_MAX] walking away
 * from k = 1 and bisected to a relative width of 1e-13 (price.c's option pools do the same with
 * a finer step: each point here is a whole portfolio margin). Where the model cannot be
 * computed (a grid price out of its domain) the walk stops: no root beyond it. */
#define PM_K_STEP 1.01
#define PM_K_MIN 0.05
#define PM_K_MAX 20.0

typedef struct pm_liq {
    pm_view v;
    const risk_account *a;
    uint32_t u;
    double *vol; /* per position: the vol an option on u reprices at */
} pm_liq;

/* The view moved by k; 0 when an option on u has no vol to reprice with. */
static void liq_move(pm_liq *L, double k)
{
    const risk_engine *e = L->a->engine;
    const risk_account *a = L->a;
    L->v.assets[L->u].price = e->assets[L->u].price * k;
    for (uint32_t i = 0; i < a->n_pos; i++) {
        uint32_t id = a->inst[i];
        const risk__instrument *orig = &e->instruments[id];
        risk__instrument *in = &L->v.ins[id];
        if (orig->kind != RISK_KIND_OPTION) {
            if (orig->underlying == L->u)
                in->mark = orig->mark * k;
            continue;
        }
        in->opt_under = risk__option_underlying_price(&L->v.e, in);
        if (orig->underlying == L->u && !orig->settled)
            in->mark = risk__option_mark_at(in, in->opt_under, L->vol[i], e->now_unix_s);
    }
}

/* f(k) (see above) and the unweighted equity at k into *equity. */
static double liq_surplus(pm_liq *L, double k, double *equity)
{
    risk__account_values val;
    liq_move(L, k);
    risk__account_values_compute(&L->v.a, &val);
    if (equity)
        *equity = val.basket.net_value + val.upnl + val.isolated_margin;
    double f = (val.basket.collateral_maint + val.cross_upnl) - (val.basket.liabilities_maint + val.cross_mm);
    return isfinite(val.cross_mm) ? f : NAN;
}

static double liq_surplus_at(void *L, double k)
{
    return liq_surplus((pm_liq *)L, k, NULL);
}

/* The first k away from 1 at which f changes sign: 1 with the root (the first point past it)
 * and whether f rises there; 0 when none (or f undefined on the way). */
static int liq_scan(pm_liq *L, int up, double f1, double *root, int *rising)
{
    return risk__scan_sign_change(liq_surplus_at, L, up, f1, PM_K_STEP, PM_K_MIN, PM_K_MAX, root, rising) == 1;
}

void risk__pm_pool_factors(const risk_account *a, risk__pool_factors *out)
{
    const risk_engine *e = a->engine;
    pm_liq L;
    L.a = a;
    L.u = out->underlying;
    out->has_liquidation = out->has_below = out->has_above = 0;
    out->liquidation_k = out->below_k = out->above_k = 0.0;
    out->liquidation_up = out->below_up = out->above_up = 0;
    out->has_options = 1; /* solved numerically */
    out->unsolved = 1;
    L.vol = risk__malloc(e, (a->n_pos ? a->n_pos : 1) * sizeof(double));
    if (!L.vol || view_init(&L.v, a)) {
        risk__free(e, L.vol);
        return;
    }
    int defined = 1;
    for (uint32_t i = 0; i < a->n_pos; i++) {
        const risk__instrument *in = &e->instruments[a->inst[i]];
        L.vol[i] = in->kind == RISK_KIND_OPTION ? risk__option_vol(in, e->now_unix_s) : 0.0;
        if (in->kind == RISK_KIND_OPTION && in->underlying == L.u && isnan(L.vol[i]))
            defined = 0; /* no vol to reprice with, as price.c */
    }
    double f1 = defined ? liq_surplus(&L, 1.0, NULL) : NAN;
    if (!isnan(f1)) {
        out->unsolved = 0;
        out->liquidatable = !(f1 >= 0.0);
        double kd = 0.0, ku = 0.0;
        int rd = 0, ru = 0;
        int dn = liq_scan(&L, 0, f1, &kd, &rd), up = liq_scan(&L, 1, f1, &ku, &ru);
        out->has_below = (uint32_t)dn;
        out->below_k = kd;
        out->below_up = (uint32_t)rd;
        out->has_above = (uint32_t)up;
        out->above_k = ku;
        out->above_up = (uint32_t)ru;
        int take_up = up && !dn;
        if (up && dn) { /* net exposure: the unweighted equity's slope at k = 1, as price.c */
            double eu, ed;
            (void)liq_surplus(&L, 1.0 + 1e-6, &eu);
            (void)liq_surplus(&L, 1.0 - 1e-6, &ed);
            int net_long = eu >= ed;
            take_up = f1 >= 0.0 ? !net_long : net_long;
        }
        if (up || dn) {
            out->has_liquidation = 1;
            out->liquidation_k = take_up ? ku : kd;
            out->liquidation_up = (uint32_t)(take_up ? ru : rd);
        }
    }
    view_release(e, &L.v);
    risk__free(e, L.vol);
}

double risk__pm_worst_loss(const risk_account *a)
{
    const risk_engine *e = a->engine;
    char *msg = NULL;
    double mm, im, loss;
    int rc = pm_compute(a, e->pm ? e->pm : &pm_defaults, &msg, NULL, NULL, 0, &mm, &im, &loss, NULL);
    risk__free(e, msg);
    return rc ? NAN : loss;
}

RISK_API int risk_account_portfolio_margin(risk_portfolio_margin_result *out, risk_portfolio_margin_unit *units,
                                           size_t capacity, const risk_account *account,
                                           const risk_portfolio_margin_params *params)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = (risk_account *)account; /* the message buffer is not account state */
    const risk_engine *e = a->engine;
    if (!out || (!units && capacity))
        return risk__fail(e, &a->errmsg, RISK_ENULL, "out is NULL, or units is NULL with capacity > 0");
    if (out->version != RISK_PORTFOLIO_MARGIN_RESULT_VERSION)
        return risk__fail(e, &a->errmsg, RISK_EVERSION, "portfolio margin result version %u is not %d", out->version,
                          RISK_PORTFOLIO_MARGIN_RESULT_VERSION);
    if (units && capacity && units[0].version != RISK_PORTFOLIO_MARGIN_UNIT_VERSION)
        return risk__fail(e, &a->errmsg, RISK_EVERSION, "portfolio margin unit version %u is not %d",
                          units[0].version, RISK_PORTFOLIO_MARGIN_UNIT_VERSION);
    const risk_portfolio_margin_params *p = params ? params : e->pm ? e->pm : &pm_defaults;
    int rc = params_check(e, &a->errmsg, p);
    if (rc)
        return rc;
    risk_portfolio_margin_result r = *out;
    double mm, im;
    if ((rc = pm_compute(a, p, &a->errmsg, &r, units, capacity, &mm, &im, NULL, NULL)))
        return rc;
    if (!(e->flags & RISK_ENGINE_NO_QUANTIZE) && e->valuation != RISK_ID_NONE) {
        double s = risk__asset_scale(&e->assets[e->valuation]);
        mm = risk__quantize(mm, s, 1);
        im = risk__quantize(im, s, 1);
    }
    r.maintenance_margin = mm;
    r.initial_margin = im;
    *out = r;
    risk__clear(&a->errmsg);
    return RISK_OK;
}

/* ------------------------------------------------------------ engine-wide batch */

RISK_API int risk_engine_portfolio_margin_all(risk_portfolio_margin_result *results_out, uint64_t *ids_out,
                                              size_t capacity, const risk_engine *engine,
                                              const risk_portfolio_margin_params *params, size_t *count_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message buffer is not engine state */
    if (!count_out || (!results_out && capacity))
        return risk__fail(e, &e->errmsg, RISK_ENULL, "count_out is NULL, or results_out is NULL with capacity > 0");
    const risk_portfolio_margin_params *p = params ? params : e->pm ? e->pm : &pm_defaults;
    int rc = params_check(e, &e->errmsg, p);
    if (rc)
        return rc;
    size_t n = 0;
    uint32_t NA = e->n_assets;
    unsigned char *need = risk__calloc(e, NA ? NA : 1, 1);
    if (!need)
        return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for the portfolio margin batch");
    for (size_t k = 0; k < e->n_account_slots; k++) {
        const risk_account *a = e->accounts[k];
        if (!a || a->margin_mode != RISK_MARGIN_PORTFOLIO)
            continue;
        n++;
        for (uint32_t i = 0; i < a->n_pos; i++)
            need[e->instruments[a->inst[i]].underlying] = 1;
    }
    *count_out = n;
    if (capacity < n) {
        risk__free(e, need);
        return risk__fail(e, &e->errmsg, RISK_EBUFFER, "%zu portfolio accounts, capacity %zu", n, capacity);
    }
    if (n && results_out[0].version != RISK_PORTFOLIO_MARGIN_RESULT_VERSION) {
        risk__free(e, need);
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "portfolio margin result version %u is not %d",
                          results_out[0].version, RISK_PORTFOLIO_MARGIN_RESULT_VERSION);
    }
    /* one table per underlying held: row 0 no move, then the unit grid moving that asset only */
    size_t K = grid_size(p), S = K + 1;
    risk__scen_tables *tables = risk__calloc(e, NA ? NA : 1, sizeof *tables);
    risk__scen_tables **by_asset = risk__calloc(e, NA ? NA : 1, sizeof *by_asset);
    double *moves = risk__calloc(e, 2 * S * (NA ? NA : 1) + S, sizeof(double));
    if (!tables || !by_asset || !moves) {
        risk__free(e, tables);
        risk__free(e, by_asset);
        risk__free(e, moves);
        risk__free(e, need);
        return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for the portfolio margin batch");
    }
    double *vols = moves + S * NA, *weights = vols + S * NA;
    double gm[(2 * RISK_PM_STEPS_MAX + 1) * 3 + RISK_PM_EXTENDED_MAX], gv[sizeof gm / sizeof gm[0]],
        gw[sizeof gm / sizeof gm[0]];
    grid_fill(p, gm, gv, gw);
    weights[0] = 1.0;
    for (size_t k = 0; k < K; k++)
        weights[1 + k] = gw[k];
    for (uint32_t u = 0; u < NA && !rc; u++) {
        if (!need[u])
            continue;
        memset(moves, 0, 2 * S * NA * sizeof(double));
        if (u != e->valuation)
            for (size_t k = 0; k < K; k++) {
                moves[(1 + k) * NA + u] = gm[k];
                vols[(1 + k) * NA + u] = gv[k];
            }
        risk_scenarios sc = RISK_SCENARIOS_INIT;
        sc.vol_mode = p->vol_mode;
        sc.n_scenarios = S;
        sc.n_assets = NA;
        sc.price_moves = moves;
        sc.vol_moves = vols;
        sc.weights = weights;
        sc.vol_term_days = p->vol_term_days;
        sc.vol_term_power_short = p->vol_term_power_short;
        sc.vol_term_power_long = p->vol_term_power_long;
        if (!(rc = risk__scen_tables_build_for(e, &e->errmsg, &sc, NULL, &tables[u])))
            by_asset[u] = &tables[u];
    }
    size_t out = 0;
    double scale = !(e->flags & RISK_ENGINE_NO_QUANTIZE) && e->valuation != RISK_ID_NONE
                       ? risk__asset_scale(&e->assets[e->valuation])
                       : 0.0;
    for (size_t k = 0; k < e->n_account_slots && !rc; k++) {
        const risk_account *a = e->accounts[k];
        if (!a || a->margin_mode != RISK_MARGIN_PORTFOLIO)
            continue;
        risk_portfolio_margin_result r = RISK_PORTFOLIO_MARGIN_RESULT_INIT;
        double mm, im;
        if ((rc = pm_compute(a, p, &e->errmsg, &r, NULL, 0, &mm, &im, NULL, by_asset)))
            break;
        r.maintenance_margin = scale > 0.0 ? risk__quantize(mm, scale, 1) : mm;
        r.initial_margin = scale > 0.0 ? risk__quantize(im, scale, 1) : im;
        results_out[out] = r;
        if (ids_out)
            ids_out[out] = a->id;
        out++;
    }
    for (uint32_t u = 0; u < NA; u++)
        if (by_asset[u])
            risk__scen_tables_release(e, &tables[u]);
    risk__free(e, tables);
    risk__free(e, by_asset);
    risk__free(e, moves);
    risk__free(e, need);
    if (rc)
        return rc;
    risk__clear(&e->errmsg);
    return RISK_OK;
}
