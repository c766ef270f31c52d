/* SPDX-License-Identifier: Apache-2.0 */
/* Interest-rate models, lending pools and accrual (include/risk/rates.h, docs/rates.md).
 *
 * Representation. Each rate-bearing asset has a pool (risk__rates) and two indices kept in the
 * asset itself (risk__asset.index_pos / index_neg, beside the price that every valuation
 * reads). A basket stores s = balance / index of its sign; the balance is s x index. Accrual
 * multiplies the indices by the growth factor of the step, so it is O(assets), and no account
 * is touched; the pool keeps the sums of the scaled amounts moved through it, so its supply and
 * borrow follow the indices too. Reserves take the difference between the interest debts pay
 * and the interest deposits earn, which keeps cash = supply + reserves - borrow - stable borrow
 * unchanged by accrual: no interest is created or lost. */
#include "rates/rates_internal.h"

#include <string.h>

typedef struct risk__rates {
    risk_rate_model model;
    uint32_t accrual;                   /* resolved RISK_ACCRUAL_* */
    uint32_t started;                   /* 1 once the pool has a time */
    double scaled_supply, scaled_borrow; /* sums of the scaled amounts moved through the pool */
    double stable_borrow, stable_rate;  /* Aave pool-level stable debt and its average rate */
    double reserves;
    int64_t updated;                    /* Unix seconds of the last accrual */
} risk__rates;

#define HOURS_PER_YEAR 8760.0

/* ------------------------------------------------------------------ models */

/* NULL when the model is acceptable, else what is wrong with it. */
static const char *model_problem(const risk_rate_model *m)
{
    const double f[] = {m->reserve_factor, m->aave_optimal_usage, m->aave_base_variable, m->aave_slope1,
                        m->aave_slope2, m->aave_stable_slope1, m->aave_stable_slope2, m->aave_base_stable_offset,
                        m->aave_excess_stable_offset, m->aave_optimal_stable_ratio, m->comet_supply_kink,
                        m->comet_supply_base, m->comet_supply_slope_low, m->comet_supply_slope_high,
                        m->comet_borrow_kink, m->comet_borrow_base, m->comet_borrow_slope_low,
                        m->comet_borrow_slope_high, m->drift_optimal_utilisation, m->drift_optimal_rate,
                        m->drift_max_rate, m->drift_min_rate, m->flat_borrow_hourly, m->flat_supply_hourly};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!isfinite(f[i]) || f[i] < 0.0)
            return "every parameter must be finite and >= 0";
    if (m->kind > RISK_RATE_MODEL_FLAT)
        return "unknown kind";
    if (m->accrual > RISK_ACCRUAL_HOURLY)
        return "unknown accrual rule";
    if (!(m->reserve_factor < 1.0))
        return "reserve_factor must be < 1";
    switch (m->kind) {
    case RISK_RATE_MODEL_AAVE:
        if (!(m->aave_optimal_usage > 0.0 && m->aave_optimal_usage < 1.0))
            return "aave_optimal_usage must be in (0, 1)";
        if (!(m->aave_optimal_stable_ratio < 1.0))
            return "aave_optimal_stable_ratio must be < 1";
        break;
    case RISK_RATE_MODEL_COMET:
        if (!(m->comet_supply_kink > 0.0 && m->comet_supply_kink <= 1.0))
            return "comet_supply_kink must be in (0, 1]";
        if (!(m->comet_borrow_kink > 0.0 && m->comet_borrow_kink <= 1.0))
            return "comet_borrow_kink must be in (0, 1]";
        break;
    case RISK_RATE_MODEL_DRIFT:
        if (!(m->drift_optimal_utilisation > 0.0 && m->drift_optimal_utilisation < 0.85))
            return "drift_optimal_utilisation must be in (0, 0.85)";
        if (m->drift_max_rate < m->drift_optimal_rate)
            return "drift_max_rate must be >= drift_optimal_rate";
        break;
    default:
        break;
    }
    return NULL;
}

static uint32_t accrual_of(const risk_rate_model *m)
{
    if (m->accrual != RISK_ACCRUAL_DEFAULT)
        return m->accrual;
    switch (m->kind) {
    case RISK_RATE_MODEL_AAVE:
        return RISK_ACCRUAL_AAVE;
    case RISK_RATE_MODEL_FLAT:
        return RISK_ACCRUAL_HOURLY;
    default:
        return RISK_ACCRUAL_LINEAR;
    }
}

/* Drift protocol v2 math/spot_balance.rs calculate_borrow_rate: linear from 0 to the optimal
 * rate at the optimal utilisation; above, the extra (max - optimal) is spread over the
 * segments ending at 85, 90, 95, 99, 99.5 and 100 % with weights 5, 10, 15, 20, 25, 25 %;
 * floored at the minimum rate. */
static double drift_borrow(const risk_rate_model *m, double u)
{
    static const double bp[6] = {0.85, 0.90, 0.95, 0.99, 0.995, 1.0};
    static const double w[6] = {0.05, 0.10, 0.15, 0.20, 0.25, 0.25};
    double uo = m->drift_optimal_utilisation, ro = m->drift_optimal_rate;
    double rate;
    if (u <= uo) {
        rate = u * (ro / uo);
    } else {
        double extra = m->drift_max_rate - ro, start = uo;
        rate = ro;
        for (int i = 0; i < 6; i++) {
            if (u <= bp[i]) {
                rate += extra * w[i] * (u - start) / (bp[i] - start);
                break;
            }
            rate += extra * w[i];
            start = bp[i];
        }
    }
    return rate > m->drift_min_rate ? rate : m->drift_min_rate;
}

/* The rates at borrow usage u, supply usage su, stable share ss with average stable rate sr. */
static void rates_at(const risk_rate_model *m, double u, double su, double ss, double sr, risk_rates *out)
{
    double borrow = 0.0, supply = 0.0, stable = 0.0, avg;
    switch (m->kind) {
    case RISK_RATE_MODEL_AAVE: {
        /* DefaultReserveInterestRateStrategy (v3.0): variable and stable rates from the borrow
         * usage; the overall rate weights variable and stable debt; the liquidity rate is the
         * overall rate x supply usage x (1 - reserve factor). */
        double uo = m->aave_optimal_usage;
        stable = m->aave_slope1 + m->aave_base_stable_offset;
        if (u > uo) {
            double excess = (u - uo) / (1.0 - uo);
            borrow = m->aave_base_variable + m->aave_slope1 + m->aave_slope2 * excess;
            stable += m->aave_stable_slope1 + m->aave_stable_slope2 * excess;
        } else {
            borrow = m->aave_base_variable + m->aave_slope1 * u / uo;
            stable += m->aave_stable_slope1 * u / uo;
        }
        if (ss > m->aave_optimal_stable_ratio)
            stable += m->aave_excess_stable_offset * (ss - m->aave_optimal_stable_ratio) /
                      (1.0 - m->aave_optimal_stable_ratio);
        avg = (1.0 - ss) * borrow + ss * sr;
        supply = avg * su * (1.0 - m->reserve_factor);
        break;
    }
    case RISK_RATE_MODEL_COMET: {
        double ks = m->comet_supply_kink, kb = m->comet_borrow_kink;
        supply = m->comet_supply_base + m->comet_supply_slope_low * (u < ks ? u : ks) +
                 (u > ks ? m->comet_supply_slope_high * (u - ks) : 0.0);
        borrow = m->comet_borrow_base + m->comet_borrow_slope_low * (u < kb ? u : kb) +
                 (u > kb ? m->comet_borrow_slope_high * (u - kb) : 0.0);
        avg = borrow;
        stable = 0.0;
        break;
    }
    case RISK_RATE_MODEL_DRIFT:
        borrow = drift_borrow(m, u);
        supply = borrow * u * (1.0 - m->reserve_factor);
        avg = borrow;
        break;
    case RISK_RATE_MODEL_FLAT:
        borrow = m->flat_borrow_hourly * HOURS_PER_YEAR;
        supply = m->flat_supply_hourly * HOURS_PER_YEAR;
        avg = borrow;
        break;
    default:
        avg = 0.0;
        break;
    }
    out->utilisation = u;
    out->borrow_annual = borrow;
    out->supply_annual = supply;
    out->stable_borrow_annual = m->kind == RISK_RATE_MODEL_AAVE ? stable : 0.0;
    out->average_borrow_annual = m->kind == RISK_RATE_MODEL_AAVE ? avg : borrow;
}

/* ------------------------------------------------------------------ accrual factors */

static double floor_div_hours(double t)
{
    return floor(t / 3600.0);
}

#define RAY 1e27

/* MathUtils.calculateCompoundedInterest (aave-v3-core) minus 1: x dt + x^2 dt (dt - 1) / 2 +
 * x^3 dt (dt - 1) (dt - 2) / 6 with x = r / Y, the binomial expansion of (1 + x)^dt cut after
 * its third term. Aave forms x^2 and x^3 as whole numbers of ray units (1e-27), truncating:
 * basePowerTwo = rayMul(rate, rate) / Y^2 and basePowerThree = rayMul(basePowerTwo, rate) / Y.
 * These two truncations are coarse (basePowerThree is a few units at 4 %/year: 2 for 3 units
 * of 2.03), so they are reproduced here in ray units; the other operations of Aave round at
 * 1e-27, below a double's precision. docs/rates.md 3.2 gives the resulting precision. */
static double aave_compounded_m1(double r, double dt)
{
    double m1 = dt - 1.0, m2 = dt > 2.0 ? dt - 2.0 : 0.0;
    double rate_ray = r * RAY;
    double p2 = floor(rate_ray * r / (RISK_RATE_YEAR_S * RISK_RATE_YEAR_S));   /* rayMul(rate, rate) / Y^2 */
    double p3 = floor(floor(p2 * r + 0.5) / RISK_RATE_YEAR_S);               /* rayMul(p2, rate) / Y */
    return r * dt / RISK_RATE_YEAR_S + (dt * m1 * p2 / 2.0) / RAY + (dt * m1 * m2 * p3 / 6.0) / RAY;
}

/* The growth factor of an index over dt seconds from t0 at annual rate r (hourly rate rh for
 * the hourly rule). `borrow` selects Aave's compounded borrow side over its linear supply side. */
static double growth(uint32_t accrual, int borrow, double r, double rh, double t0, double dt)
{
    if (dt <= 0.0)
        return 1.0;
    switch (accrual) {
    case RISK_ACCRUAL_AAVE:
        if (borrow)
            return 1.0 + aave_compounded_m1(r, dt);
        return 1.0 + r * dt / RISK_RATE_YEAR_S; /* MathUtils.calculateLinearInterest */
    case RISK_ACCRUAL_CONTINUOUS:
        return exp(r * dt / RISK_RATE_YEAR_S);
    case RISK_ACCRUAL_HOURLY: {
        double hours = floor_div_hours(t0 + dt) - floor_div_hours(t0); /* hour boundaries passed */
        return hours > 0.0 ? pow(1.0 + rh, hours) : 1.0;
    }
    default: /* linear: Comet accrueInternal, Drift update_spot_market_cumulative_interest */
        return 1.0 + r * dt / RISK_RATE_YEAR_S;
    }
}

/* growth() - 1 without the cancellation of forming 1 + small first (for costs). */
static double growth_m1(uint32_t accrual, int borrow, double r, double rh, double t0, double dt)
{
    if (dt <= 0.0)
        return 0.0;
    switch (accrual) {
    case RISK_ACCRUAL_AAVE:
        if (borrow)
            return aave_compounded_m1(r, dt);
        return r * dt / RISK_RATE_YEAR_S;
    case RISK_ACCRUAL_CONTINUOUS:
        return expm1(r * dt / RISK_RATE_YEAR_S);
    case RISK_ACCRUAL_HOURLY: {
        double hours = floor_div_hours(t0 + dt) - floor_div_hours(t0);
        return hours > 0.0 ? expm1(hours * log1p(rh)) : 0.0;
    }
    default:
        return r * dt / RISK_RATE_YEAR_S;
    }
}

/* ------------------------------------------------------------------ pools */

static double pool_supply(const risk__asset *a)
{
    return a->rates->scaled_supply * a->index_pos;
}

static double pool_borrow(const risk__asset *a)
{
    return a->rates->scaled_borrow * a->index_neg;
}

static double pool_cash(const risk__asset *a)
{
    const risk__rates *p = a->rates;
    return pool_supply(a) + p->reserves - pool_borrow(a) - p->stable_borrow;
}

static double clamp01(double x)
{
    return x > 0.0 ? (x < 1.0 ? x : 1.0) : 0.0;
}

/* The pool's rates now. */
static void pool_rates(const risk__asset *a, risk_rates *out)
{
    const risk__rates *p = a->rates;
    double s = pool_supply(a), d = pool_borrow(a), ds = p->stable_borrow;
    double u;
    if (p->model.kind == RISK_RATE_MODEL_AAVE) {
        double base = s + p->reserves; /* available liquidity + total debt */
        u = d + ds > 0.0 ? (base > 0.0 ? clamp01((d + ds) / base) : 1.0) : 0.0;
    } else {
        u = d > 0.0 ? (s > 0.0 ? clamp01(d / s) : 1.0) : 0.0;
    }
    double share = d + ds > 0.0 ? ds / (d + ds) : 0.0;
    rates_at(&p->model, u, u, share, p->stable_rate, out);
}

/* Hourly rate of the debt side (the flat model's own, else the annual rate / 8760). */
static double hourly_borrow(const risk__rates *p, const risk_rates *r)
{
    return p->model.kind == RISK_RATE_MODEL_FLAT ? p->model.flat_borrow_hourly : r->borrow_annual / HOURS_PER_YEAR;
}

static double hourly_supply(const risk__rates *p, const risk_rates *r)
{
    return p->model.kind == RISK_RATE_MODEL_FLAT ? p->model.flat_supply_hourly : r->supply_annual / HOURS_PER_YEAR;
}

void risk__rates_destroy(risk_engine *e)
{
    for (uint32_t i = 0; i < e->n_assets; i++) {
        risk__free(e, e->assets[i].rates);
        e->assets[i].rates = NULL;
    }
}

size_t risk__rates_bytes(const risk_engine *e)
{
    size_t n = 0;
    for (uint32_t i = 0; i < e->n_assets; i++)
        n += e->assets[i].rates ? sizeof(risk__rates) : 0;
    return n;
}

double risk__rates_borrow_at(const risk_rate_model *m, double u)
{
    risk_rates r;
    rates_at(m, clamp01(u), clamp01(u), 0.0, 0.0, &r);
    return r.borrow_annual;
}

uint32_t risk__rates_kinks(const risk_rate_model *m, double *u)
{
    uint32_t n = 0;
    switch (m->kind) {
    case RISK_RATE_MODEL_AAVE:
        u[n++] = m->aave_optimal_usage;
        break;
    case RISK_RATE_MODEL_COMET:
        u[n++] = m->comet_borrow_kink;
        break;
    case RISK_RATE_MODEL_DRIFT: {
        static const double bp[5] = {0.85, 0.90, 0.95, 0.99, 0.995};
        double uo = m->drift_optimal_utilisation, ro = m->drift_optimal_rate;
        if (m->drift_min_rate > 0.0 && ro > 0.0 && m->drift_min_rate * uo / ro < uo)
            u[n++] = m->drift_min_rate * uo / ro; /* where the floor stops */
        u[n++] = uo;
        for (int i = 0; i < 5; i++)
            if (bp[i] > uo)
                u[n++] = bp[i];
        break;
    }
    default:
        break;
    }
    u[n++] = 1.0; /* the clamp: the rate is constant beyond */
    return n;
}

int risk__rates_state_get(const risk__asset *a, risk__rates_state *out)
{
    const risk__rates *p = a->rates;
    if (!p)
        return 0;
    out->model = p->model;
    out->started = p->started;
    out->scaled_supply = p->scaled_supply;
    out->scaled_borrow = p->scaled_borrow;
    out->stable_borrow = p->stable_borrow;
    out->stable_rate = p->stable_rate;
    out->reserves = p->reserves;
    out->updated = p->updated;
    return 1;
}

int risk__rates_state_restore(risk_engine *e, uint32_t asset, const risk__rates_state *s, double index_pos,
                              double index_neg)
{
    /* the ranges of risk_engine_set_rate_pool, on the stored (scaled) form: the sums of scaled
     * amounts and the reserves finite (transfers may leave a sum a rounding error below 0), the
     * stable debt and rate finite and >= 0, the indices finite and > 0, the flag 0 or 1 */
    if (s->started > 1 || !isfinite(s->scaled_supply) || !isfinite(s->scaled_borrow) || !isfinite(s->reserves) ||
        !(isfinite(s->stable_borrow) && s->stable_borrow >= 0.0) || !(isfinite(s->stable_rate) && s->stable_rate >= 0.0) ||
        !(isfinite(index_pos) && index_pos > 0.0 && isfinite(index_neg) && index_neg > 0.0))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "pool of %s out of range", e->assets[asset].symbol);
    int rc = risk_engine_set_rate_model(e, asset, &s->model);
    if (rc)
        return rc;
    risk__asset *a = &e->assets[asset];
    risk__rates *p = a->rates;
    p->started = s->started;
    p->scaled_supply = s->scaled_supply;
    p->scaled_borrow = s->scaled_borrow;
    p->stable_borrow = s->stable_borrow;
    p->stable_rate = s->stable_rate;
    p->reserves = s->reserves;
    p->updated = s->updated;
    a->index_pos = index_pos;
    a->index_neg = index_neg;
    return RISK_OK;
}

void risk__rates_outlook(const risk__asset *a, double horizon_s, risk__rate_outlook *out)
{
    const risk__rates *p = a->rates;
    out->borrow_annual = out->supply_annual = out->borrow_m1 = out->supply_m1 = 0.0;
    if (!p || p->model.kind == RISK_RATE_MODEL_NONE)
        return;
    risk_rates r = RISK_RATES_INIT;
    pool_rates(a, &r);
    out->borrow_annual = r.borrow_annual;
    out->supply_annual = r.supply_annual;
    out->borrow_m1 = growth_m1(p->accrual, 1, r.borrow_annual, hourly_borrow(p, &r), (double)p->updated, horizon_s);
    out->supply_m1 = growth_m1(p->accrual, 0, r.supply_annual, hourly_supply(p, &r), (double)p->updated, horizon_s);
}

/* ------------------------------------------------------------------ public API */

RISK_API int risk_rate_model_rates(risk_rates *out, const risk_rate_model *model, double utilisation,
                                   double supply_usage, double stable_share, double stable_rate_annual)
{
    if (!out || !model)
        return RISK_ENULL;
    if (out->version != RISK_RATES_VERSION || model->version != RISK_RATE_MODEL_VERSION)
        return RISK_EVERSION;
    if (model_problem(model))
        return RISK_EINVAL;
    if (!(utilisation >= 0.0 && utilisation <= 1.0) || !(supply_usage >= 0.0 && supply_usage <= utilisation) ||
        !(stable_share >= 0.0 && stable_share <= 1.0) || !(stable_rate_annual >= 0.0 && isfinite(stable_rate_annual)))
        return RISK_EINVAL;
    rates_at(model, utilisation, supply_usage, stable_share, stable_rate_annual, out);
    return RISK_OK;
}

RISK_API int risk_engine_set_rate_model(risk_engine *engine, uint32_t asset, const risk_rate_model *model)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    if (!model)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "model is NULL");
    if (asset >= e->n_assets)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    if (model->version != RISK_RATE_MODEL_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "rate model version %u is not %d", model->version,
                          RISK_RATE_MODEL_VERSION);
    const char *why = model_problem(model);
    if (why)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "rate model of %s: %s", e->assets[asset].symbol, why);
    risk__asset *a = &e->assets[asset];
    if (!a->rates) {
        risk__rates *p = risk__malloc(e, sizeof *p);
        if (!p)
            return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for a rate model");
        memset(p, 0, sizeof *p);
        a->rates = p;
    }
    a->rates->model = *model;
    a->rates->accrual = accrual_of(model);
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_rate_model(const risk_engine *engine, uint32_t asset, risk_rate_model *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message buffer is not engine state */
    if (!out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "out is NULL");
    if (asset >= e->n_assets)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    if (out->version != RISK_RATE_MODEL_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "rate model version %u is not %d", out->version,
                          RISK_RATE_MODEL_VERSION);
    if (e->assets[asset].rates) {
        *out = e->assets[asset].rates->model;
    } else {
        risk_rate_model none = RISK_RATE_MODEL_INIT;
        *out = none;
    }
    return RISK_OK;
}

/* The asset's pool, or a recorded failure (in *code). */
static risk__asset *pooled_asset(const risk_engine *e, char **err, uint32_t asset, int *code)
{
    if (asset >= e->n_assets) {
        *code = risk__fail(e, err, RISK_ENOTFOUND, "unknown asset %u", asset);
        return NULL;
    }
    if (!e->assets[asset].rates) {
        *code = risk__fail(e, err, RISK_ESTATE, "asset %s has no rate model", e->assets[asset].symbol);
        return NULL;
    }
    return &e->assets[asset];
}

RISK_API int risk_engine_set_rate_pool(risk_engine *engine, uint32_t asset, const risk_rate_pool *pool)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    if (!pool)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "pool is NULL");
    int rc = RISK_OK;
    risk__asset *a = pooled_asset(e, &e->errmsg, asset, &rc);
    if (!a)
        return rc;
    if (pool->version != RISK_RATE_POOL_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "rate pool version %u is not %d", pool->version,
                          RISK_RATE_POOL_VERSION);
    const double nonneg[4] = {pool->supply, pool->borrow, pool->stable_borrow, pool->stable_rate_annual};
    for (int i = 0; i < 4; i++)
        if (!(isfinite(nonneg[i]) && nonneg[i] >= 0.0))
            return risk__fail(e, &e->errmsg, RISK_EINVAL,
                              "pool of %s: supply, borrow, stable_borrow and stable_rate_annual must be finite and >= 0",
                              a->symbol);
    if (!isfinite(pool->reserves))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "pool of %s: reserves must be finite", a->symbol);
    if (!(isfinite(pool->supply_index) && pool->supply_index > 0.0 && isfinite(pool->borrow_index) &&
          pool->borrow_index > 0.0))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "pool of %s: indices must be finite and > 0", a->symbol);
    risk__rates *p = a->rates;
    a->index_pos = pool->supply_index;
    a->index_neg = pool->borrow_index;
    p->scaled_supply = pool->supply / pool->supply_index;
    p->scaled_borrow = pool->borrow / pool->borrow_index;
    p->stable_borrow = pool->stable_borrow;
    p->stable_rate = pool->stable_rate_annual;
    p->reserves = pool->reserves;
    p->updated = pool->updated_unix_s;
    p->started = 1;
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_rate_pool(const risk_engine *engine, uint32_t asset, risk_rate_pool *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine;
    if (!out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "out is NULL");
    int rc = RISK_OK;
    const risk__asset *a = pooled_asset(e, &e->errmsg, asset, &rc);
    if (!a)
        return rc;
    if (out->version != RISK_RATE_POOL_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "rate pool version %u is not %d", out->version,
                          RISK_RATE_POOL_VERSION);
    const risk__rates *p = a->rates;
    out->started = p->started;
    out->supply = pool_supply(a);
    out->borrow = pool_borrow(a);
    out->stable_borrow = p->stable_borrow;
    out->stable_rate_annual = p->stable_rate;
    out->reserves = p->reserves;
    out->supply_index = a->index_pos;
    out->borrow_index = a->index_neg;
    out->updated_unix_s = p->updated;
    return RISK_OK;
}

RISK_API int risk_engine_rates(const risk_engine *engine, uint32_t asset, risk_rates *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine;
    if (!out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "out is NULL");
    int rc = RISK_OK;
    const risk__asset *a = pooled_asset(e, &e->errmsg, asset, &rc);
    if (!a)
        return rc;
    if (out->version != RISK_RATES_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "rates version %u is not %d", out->version, RISK_RATES_VERSION);
    pool_rates(a, out);
    return RISK_OK;
}

/* The step of one pool to `now`: new indices and stable debt. */
typedef struct step {
    double index_pos, index_neg, stable;
} step;

static void pool_step(const risk__asset *a, int64_t now, step *out)
{
    const risk__rates *p = a->rates;
    out->index_pos = a->index_pos;
    out->index_neg = a->index_neg;
    out->stable = p->stable_borrow;
    if (!p->started || p->model.kind == RISK_RATE_MODEL_NONE || now <= p->updated)
        return;
    risk_rates r = RISK_RATES_INIT;
    pool_rates(a, &r);
    double t0 = (double)p->updated, dt = (double)(now - p->updated);
    out->index_pos *= growth(p->accrual, 0, r.supply_annual, hourly_supply(p, &r), t0, dt);
    out->index_neg *= growth(p->accrual, 1, r.borrow_annual, hourly_borrow(p, &r), t0, dt);
    out->stable *= growth(p->accrual, 1, p->stable_rate, p->stable_rate / HOURS_PER_YEAR, t0, dt);
}

RISK_API int risk_engine_accrue(risk_engine *engine, int64_t now_unix_s)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    for (uint32_t i = 0; i < e->n_assets; i++) { /* validate every pool first */
        const risk__asset *a = &e->assets[i];
        if (!a->rates || !a->rates->started)
            continue;
        if (now_unix_s < a->rates->updated)
            return risk__fail(e, &e->errmsg, RISK_EINVAL, "accrual to %lld is before the last accrual of %s (%lld)",
                              (long long)now_unix_s, a->symbol, (long long)a->rates->updated);
        step s;
        pool_step(a, now_unix_s, &s);
        if (!(isfinite(s.index_pos) && isfinite(s.index_neg) && isfinite(s.stable) && s.index_pos > 0.0 &&
              s.index_neg > 0.0))
            return risk__fail(e, &e->errmsg, RISK_EINVAL, "accrual of %s to %lld would overflow its indices", a->symbol,
                              (long long)now_unix_s);
    }
    for (uint32_t i = 0; i < e->n_assets; i++) {
        risk__asset *a = &e->assets[i];
        risk__rates *p = a->rates;
        if (!p)
            continue;
        if (!p->started) {
            p->started = 1;
            p->updated = now_unix_s;
            continue;
        }
        step s;
        pool_step(a, now_unix_s, &s);
        double s0 = pool_supply(a), b0 = pool_borrow(a), st0 = p->stable_borrow;
        a->index_pos = s.index_pos;
        a->index_neg = s.index_neg;
        p->stable_borrow = s.stable;
        /* interest paid by debts minus interest earned by deposits: the venue's share */
        p->reserves += (pool_borrow(a) - b0) + (s.stable - st0) - (pool_supply(a) - s0);
        p->updated = now_unix_s;
    }
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_basket_pool_transfer(risk_basket *basket, uint32_t asset, double delta)
{
    if (!basket)
        return RISK_ENULL;
    risk_basket *b = basket;
    const risk_engine *e = b->engine;
    int rc = RISK_OK;
    risk__asset *a = pooled_asset(e, &b->errmsg, asset, &rc);
    if (!a)
        return rc;
    if (!isfinite(delta))
        return risk__fail(e, &b->errmsg, RISK_EINVAL, "delta for %s must be finite", a->symbol);
    risk__rates *p = a->rates;
    double a0 = risk__basket_amount(b, asset), a1 = a0 + delta;
    int rc_domain = risk__check_amount(e, &b->errmsg, a, "the balance after the transfer would be", a1);
    if (rc_domain)
        return rc_domain; /* (also a balance that would overflow) */
    double debt0 = a0 < 0.0 ? -a0 : 0.0, debt1 = a1 < 0.0 ? -a1 : 0.0, charge = 0.0;
    if (p->accrual == RISK_ACCRUAL_HOURLY && p->model.kind != RISK_RATE_MODEL_NONE && debt1 > debt0) {
        risk_rates r = RISK_RATES_INIT;
        pool_rates(a, &r);
        charge = (debt1 - debt0) * hourly_borrow(p, &r); /* the first hour, charged when borrowed */
        a1 -= charge;
    }
    double cash = pool_cash(a);
    if (delta < 0.0 && cash + delta < -0.5 / risk__asset_scale(a))
        return risk__fail(e, &b->errmsg, RISK_ELIMIT, "pool of %s has %s available, %s asked", a->symbol,
                          RISK__NUM(cash), RISK__NUM(-delta));
    if (risk__basket_reserve(b, asset))
        return risk__fail(e, &b->errmsg, RISK_ENOMEM, "out of memory for a balance");
    /* the stored scaled amount before and after */
    double s0 = 0.0;
    uint32_t i = 0;
    while (i < b->n && b->asset[i] != asset)
        i++;
    if (i < b->n)
        s0 = b->amount[i];
    double s1 = risk__scaled_of(a, a1);
    risk__account_changed(b->owner);
    if (a1 == 0.0) {
        risk__basket_add_unchecked(b, asset, -a0); /* removes it */
    } else if (i < b->n) {
        b->amount[i] = s1;
    } else {
        b->asset[b->n] = asset;
        b->amount[b->n++] = s1;
    }
    p->scaled_supply += (s1 > 0.0 ? s1 : 0.0) - (s0 > 0.0 ? s0 : 0.0);
    p->scaled_borrow += (s1 < 0.0 ? -s1 : 0.0) - (s0 < 0.0 ? -s0 : 0.0);
    p->reserves += charge;
    risk__clear(&b->errmsg);
    return RISK_OK;
}

RISK_API int risk_basket_scaled_balance(const risk_basket *basket, uint32_t asset, double *out)
{
    if (!basket)
        return RISK_ENULL;
    risk_basket *b = (risk_basket *)basket;
    if (!out)
        return risk__fail(b->engine, &b->errmsg, RISK_ENULL, "out is NULL");
    if (asset >= b->engine->n_assets)
        return risk__fail(b->engine, &b->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    *out = 0.0;
    for (uint32_t i = 0; i < b->n; i++)
        if (b->asset[i] == asset)
            *out = b->amount[i];
    return RISK_OK;
}

RISK_API int risk_basket_rate_costs(const risk_basket *basket, double horizon_s, risk_rate_cost *out,
                                    size_t capacity, size_t *n_out)
{
    if (!basket)
        return RISK_ENULL;
    risk_basket *b = (risk_basket *)basket;
    const risk_engine *e = b->engine;
    if (!n_out || (!out && capacity))
        return risk__fail(e, &b->errmsg, RISK_ENULL, "%s is NULL", n_out ? "out" : "n_out");
    if (!(isfinite(horizon_s) && horizon_s >= 0.0))
        return risk__fail(e, &b->errmsg, RISK_EINVAL, "horizon must be finite and >= 0");
    size_t n = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        const risk__asset *a = &e->assets[b->asset[i]];
        n += a->rates && a->rates->model.kind != RISK_RATE_MODEL_NONE;
    }
    *n_out = n;
    for (size_t k = 0; k < n && k < capacity; k++)
        if (out[k].version != RISK_RATE_COST_VERSION)
            return risk__fail(e, &b->errmsg, RISK_EVERSION, "rate cost version %u is not %d", out[k].version,
                              RISK_RATE_COST_VERSION);
    if (capacity < n)
        return risk__fail(e, &b->errmsg, RISK_EBUFFER, "%zu rate costs, room for %zu", n, capacity);
    size_t k = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        const risk__asset *a = &e->assets[b->asset[i]];
        const risk__rates *p = a->rates;
        if (!p || p->model.kind == RISK_RATE_MODEL_NONE)
            continue;
        risk_rates r = RISK_RATES_INIT;
        pool_rates(a, &r);
        double bal = risk__balance_of(a, b->amount[i]);
        int debt = bal < 0.0;
        double rate = debt ? r.borrow_annual : r.supply_annual;
        double rh = debt ? hourly_borrow(p, &r) : hourly_supply(p, &r);
        double g1 = growth_m1(p->accrual, debt, rate, rh, (double)p->updated, horizon_s);
        risk_rate_cost *c = &out[k++];
        c->asset = b->asset[i];
        c->balance = bal;
        c->rate_annual = rate;
        c->cost_annual = -bal * rate;
        c->cost_horizon = -bal * g1;
        c->cost_annual_value = c->cost_annual * a->price;
        c->cost_horizon_value = c->cost_horizon * a->price;
    }
    risk__clear(&b->errmsg);
    return RISK_OK;
}
