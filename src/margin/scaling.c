/* SPDX-License-Identifier: Apache-2.0 */
/* Volatility-scaled margin schedules and anti-procyclicality (docs/volatility.md, sections 2
 * and 3).
 *
 * Each asset may hold a volatility state (risk__asset_vol): a RiskMetrics EWMA of the returns
 * fed to it (include/risk/vol.h), a long-run estimate from every fed return, the highest live
 * volatility observed, directly set stressed and long-run volatilities and the released
 * fraction of the buffers. Each scaled instrument holds its parameters and its base
 * (calibrated) schedule in a risk__scaling block; the schedule evaluation reads
 * (risk__instrument.schedule) carries the EFFECTIVE tiers for the factor in force:
 *
 *   mmr'_t = min(1, f mmr_t)     e_t = f mmr_t - mmr'_t  (what the cap at 1 removes)
 *   E_1 = 0, E_t = E_(t-1) + cap_(t-1) (e_t - e_(t-1))
 *   cum'_t = f cum_t - E_t       im'_t = min(1, f / L_t)
 *
 * which is the cum recursion run on the effective rates (so MM stays continuous, with a
 * published deduction keeping its published jump scaled by f), and is exactly f x the base
 * schedule while no rate reaches 1 (E = 0). The effective schedule is rewritten only when the
 * underlying's volatility state or the instrument's scaling changes: O(tiers) per instrument
 * on that underlying, found through a list threaded through the scaling blocks. */
#include "margin/schedule.h"
#include "margin/scaling.h"

#include <string.h>

#define SECONDS_PER_DAY 86400.0

/* ------------------------------------------------------------ the factor */

static double live_vol(const risk__asset_vol *v)
{
    return sqrt(v->ewma.variance * v->periods_per_year);
}

static double stressed_vol(const risk__asset_vol *v)
{
    return v->stressed_set > 0.0 ? v->stressed_set : v->max_live;
}

/* The long-run volatility, or NaN when neither set nor estimable. */
static double floor_vol(const risk__asset_vol *v)
{
    if (v->floor_set > 0.0)
        return v->floor_set;
    if (v->n_returns == 0)
        return NAN;
    return sqrt(v->sum_r2 / (double)v->n_returns * v->periods_per_year);
}

/* The reference volatility: given (TIERS), or the one at which the VaR rate
 * z x vol x sqrt(h / D) equals the base first tier's rate (VAR). */
static double reference_vol(const risk__scaling *sc)
{
    const risk_margin_scaling *p = &sc->params;
    if (p->mode == RISK_SCALING_VAR)
        return sc->base[0].mmr / (p->z * sqrt(p->horizon_days / p->days_per_year));
    return p->reference_vol_annual;
}

/* Steps 1-6: the target factor; *vol_out the volatility after the stressed weight and the
 * floor (NaN without a live volatility). v may be NULL. */
static double target_factor(const risk__scaling *sc, const risk__asset_vol *v, double *vol_out)
{
    const risk_margin_scaling *p = &sc->params;
    double vol = NAN, ratio = 1.0, release = v ? v->release : 0.0;
    if (v && v->has_live) {
        vol = live_vol(v);
        if (p->stress_weight > 0.0)
            vol = p->stress_weight * stressed_vol(v) + (1.0 - p->stress_weight) * vol;
        double fl = p->vol_floor ? floor_vol(v) : NAN;
        if (fl > vol) /* false for NaN: no floor */
            vol = fl;
        ratio = vol / reference_vol(sc);
    }
    double f = ratio * (1.0 + p->buffer * (1.0 - release));
    if (vol_out)
        *vol_out = vol;
    if (isnan(f)) /* cannot happen inside the domain; the conservative end if it ever does */
        return p->max_factor;
    return f < p->min_factor ? p->min_factor : f > p->max_factor ? p->max_factor : f;
}

/* Writes the effective schedule for factor f (see the top of the file). */
void risk__scaling_write_effective(risk__instrument *in, double f)
{
    risk__scaling *sc = in->scaling;
    risk__schedule *s = &in->schedule;
    double e_prev = 0.0, E = 0.0;
    for (uint32_t t = 0; t < s->n_tiers; t++) {
        const risk_margin_tier *b = &sc->base[t];
        double want = f * b->mmr;
        double mmr = want < 1.0 ? want : 1.0;
        double excess = want - mmr;
        if (t > 0)
            E += sc->base[t - 1].notional_cap * (excess - e_prev);
        e_prev = excess;
        double im = f * sc->base_im_rate[t];
        risk_margin_tier *x = &s->tiers[t];
        x->mmr = mmr;
        x->cum = f * b->cum - E;
        x->max_leverage = im < 1.0 ? b->max_leverage / f : 1.0;
        s->im_rate[t] = im < 1.0 ? im : 1.0;
    }
    sc->factor = f;
}

/* Moves one instrument's factor to its target: under the rate cap for an update stamped
 * time_s; for a configuration call (timed 0), at once, except that under a rate cap a
 * configuration call may only lower the factor: a rise waits for the next stamped update and
 * moves under the cap (so a buffer released in stress lowers margin at once, but cannot carry
 * the market's rise past the cap). `initial`: scaling has just been turned on, so there is no
 * factor to hold yet and the target applies at once. */
static void rescale_as(risk__instrument *in, const risk__asset_vol *v, int timed, int64_t time_s, int initial)
{
    risk__scaling *sc = in->scaling;
    double f = target_factor(sc, v, NULL);
    double cap = sc->params.max_daily_change;
    if (timed) {
        if (cap > 0.0 && sc->has_time) {
            double move = cap * (((double)time_s - (double)sc->time) / SECONDS_PER_DAY); /* no int64 overflow */
            double lo = sc->factor * (move < 1.0 ? 1.0 - move : 0.0);
            double hi = sc->factor * (1.0 + move);
            f = f < lo ? lo : f > hi ? hi : f;
        }
        sc->time = time_s;
        sc->has_time = 1;
    } else if (cap > 0.0 && sc->has_time && f > sc->factor && !initial) {
        f = sc->factor;
    }
    risk__scaling_write_effective(in, f);
}

static void rescale(risk__instrument *in, const risk__asset_vol *v, int timed, int64_t time_s)
{
    rescale_as(in, v, timed, time_s, 0);
}

static void rescale_asset(risk_engine *e, const risk__asset_vol *v, int timed, int64_t time_s)
{
    for (uint32_t id = v->first_scaled; id != RISK_ID_NONE; id = e->instruments[id].scaling->next)
        rescale(&e->instruments[id], v, timed, time_s);
}

/* ------------------------------------------------------------ asset state */

static void asset_vol_reset(risk__asset_vol *v, double lambda, double periods_per_year, double seed_vol)
{
    double last_price = v->ewma.last_price;
    int rc = risk_vol_ewma_init(&v->ewma, lambda, seed_vol * seed_vol / periods_per_year);
    (void)rc; /* validated by the caller: RISK_OK */
    v->ewma.last_price = last_price;
    v->periods_per_year = periods_per_year;
    v->has_live = seed_vol > 0.0;
    v->max_live = seed_vol;
    v->sum_r2 = 0.0;
    v->n_returns = 0;
}

/* The asset's volatility state, made (with the default parameters) on first use. */
static int asset_vol_get(risk_engine *e, uint32_t asset, risk__asset_vol **out)
{
    risk__asset *a = &e->assets[asset];
    if (!a->vol) {
        risk__asset_vol *v = risk__malloc(e, sizeof *v);
        if (!v)
            return risk__fail(e, &e->errmsg, RISK_ENOMEM, "out of memory for the volatility state of %s", a->symbol);
        risk_asset_vol_params d = RISK_ASSET_VOL_PARAMS_INIT;
        memset(v, 0, sizeof *v);
        asset_vol_reset(v, d.lambda, d.periods_per_year, d.seed_vol_annual);
        v->first_scaled = RISK_ID_NONE;
        a->vol = v;
    }
    *out = a->vol;
    return RISK_OK;
}

static void observe_live(risk__asset_vol *v)
{
    double vol = live_vol(v);
    if (!v->has_live || vol > v->max_live)
        v->max_live = vol;
    v->has_live = 1;
}

/* Checks an asset id and a time stamp for a stamped update. */
static int stamp_check(risk_engine *e, uint32_t asset, int64_t time_s)
{
    if (asset >= e->n_assets)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    const risk__asset_vol *v = e->assets[asset].vol;
    if (v && v->has_time && time_s < v->last_time)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "asset %s: time %lld is before the last update %lld",
                          e->assets[asset].symbol, (long long)time_s, (long long)v->last_time);
    return RISK_OK;
}

/* Folds a validated return into the state (no rescale). */
static void fold_return(risk__asset_vol *v, double r)
{
    int rc = risk_vol_ewma_update(&v->ewma, r);
    (void)rc; /* r finite, state valid: RISK_OK */
    v->sum_r2 += r * r;
    v->n_returns++;
    observe_live(v);
}

/* The kinds of stamped update. */
enum { UPDATE_VOL, UPDATE_RETURN, UPDATE_PRICE };

/* A stamped update of an asset's live volatility: validates, folds it in, rescales the
 * instruments on the asset under the rate cap. */
static int stamped_update(risk_engine *e, uint32_t asset, int kind, double x, int64_t time_s)
{
    static const char *const rule[] = {"vol_annual must be finite and >= 0", "log_return must be finite",
                                       "price must be finite and > 0"};
    if (!e)
        return RISK_ENULL;
    int rc = stamp_check(e, asset, time_s);
    if (rc)
        return rc;
    int ok = isfinite(x) && (kind == UPDATE_RETURN || x > 0.0 || (kind == UPDATE_VOL && x == 0.0));
    if (!ok)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "asset %s: %s", e->assets[asset].symbol, rule[kind]);
    const char *sym = e->assets[asset].symbol;
    if (kind == UPDATE_VOL)
        rc = risk__check_range(e, &e->errmsg, sym, "vol_annual", x, 0.0, RISK_VOL_ANNUAL_MAX);
    else if (kind == UPDATE_RETURN)
        rc = risk__check_range(e, &e->errmsg, sym, "log_return", x, -RISK_LOG_RETURN_MAX, RISK_LOG_RETURN_MAX);
    else
        rc = risk__check_price(e, &e->errmsg, sym, "price", x);
    if (rc)
        return rc;
    risk__asset_vol *v;
    rc = asset_vol_get(e, asset, &v);
    if (rc)
        return rc;
    if (kind == UPDATE_VOL) {
        v->ewma.variance = x * x / v->periods_per_year;
        if (v->ewma.count == 0)
            v->ewma.count = 1; /* a value now: the next return continues the recursion, it does not seed it */
        observe_live(v);
    } else if (kind == UPDATE_RETURN) {
        fold_return(v, x);
    } else {
        if (v->ewma.last_price > 0.0)
            fold_return(v, log(x / v->ewma.last_price));
        v->ewma.last_price = x;
    }
    v->last_time = time_s;
    v->has_time = 1;
    rescale_asset(e, v, 1, time_s);
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_set_asset_vol_params(risk_engine *engine, uint32_t asset, const risk_asset_vol_params *params)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    risk_asset_vol_params defaults = RISK_ASSET_VOL_PARAMS_INIT;
    const risk_asset_vol_params *p = params ? params : &defaults;
    if (p->version != RISK_ASSET_VOL_PARAMS_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "volatility params version %u is not %d", p->version,
                          RISK_ASSET_VOL_PARAMS_VERSION);
    if (asset >= e->n_assets)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    if (!(p->lambda > 0.0 && p->lambda < 1.0))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "lambda must be in (0, 1)");
    if (!isfinite(p->periods_per_year) || !(p->periods_per_year > 0.0))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "periods_per_year must be finite and > 0");
    if (!isfinite(p->seed_vol_annual) || p->seed_vol_annual < 0.0)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "seed_vol_annual must be finite and >= 0");
    const char *sym = e->assets[asset].symbol;
    int bad;
    if ((bad = risk__check_range(e, &e->errmsg, sym, "periods_per_year", p->periods_per_year, 1.0,
                                 RISK_PERIODS_PER_YEAR_MAX)) ||
        (bad = risk__check_range(e, &e->errmsg, sym, "seed_vol_annual", p->seed_vol_annual, 0.0, RISK_VOL_ANNUAL_MAX)))
        return bad;
    if (p->seed_vol_annual * p->seed_vol_annual / p->periods_per_year > RISK_VARIANCE_MAX)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: seed_vol_annual %s over %s periods a year is a variance above %s",
                          sym, RISK__NUM(p->seed_vol_annual), RISK__NUM(p->periods_per_year),
                          RISK__NUM(RISK_VARIANCE_MAX));
    if (p->reserved != 0)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "reserved must be 0");
    risk__asset_vol *v;
    int rc = asset_vol_get(e, asset, &v);
    if (rc)
        return rc;
    asset_vol_reset(v, p->lambda, p->periods_per_year, p->seed_vol_annual);
    rescale_asset(e, v, 0, 0);
    risk__clear(&e->errmsg);
    return RISK_OK;
}

RISK_API int risk_engine_set_asset_vol(risk_engine *engine, uint32_t asset, double vol_annual, int64_t time_s)
{
    return stamped_update(engine, asset, UPDATE_VOL, vol_annual, time_s);
}

RISK_API int risk_engine_feed_asset_return(risk_engine *engine, uint32_t asset, double log_return, int64_t time_s)
{
    return stamped_update(engine, asset, UPDATE_RETURN, log_return, time_s);
}

RISK_API int risk_engine_feed_asset_price(risk_engine *engine, uint32_t asset, double price, int64_t time_s)
{
    return stamped_update(engine, asset, UPDATE_PRICE, price, time_s);
}

/* The asset's configuration values other than the estimator's parameters. */
enum { CONFIG_STRESSED, CONFIG_FLOOR, CONFIG_RELEASE };

/* Sets one configuration value (validated by the caller) and rescales at once. */
static int asset_config(risk_engine *e, uint32_t asset, int which, double value)
{
    risk__asset_vol *v;
    int rc = asset_vol_get(e, asset, &v);
    if (rc)
        return rc;
    if (which == CONFIG_STRESSED)
        v->stressed_set = value;
    else if (which == CONFIG_FLOOR)
        v->floor_set = value;
    else
        v->release = value;
    rescale_asset(e, v, 0, 0);
    risk__clear(&e->errmsg);
    return RISK_OK;
}

/* A stressed or long-run volatility to set: finite and >= 0 (0: back to the estimate). */
static int vol_config(risk_engine *e, uint32_t asset, int which, double vol)
{
    if (asset >= e->n_assets)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    if (!isfinite(vol) || vol < 0.0)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "asset %s: the %s volatility must be finite and >= 0",
                          e->assets[asset].symbol, which == CONFIG_STRESSED ? "stressed" : "long-run");
    int rc = risk__check_range(e, &e->errmsg, e->assets[asset].symbol,
                               which == CONFIG_STRESSED ? "stressed vol_annual" : "long-run vol_annual", vol, 0.0,
                               RISK_VOL_ANNUAL_MAX);
    if (rc)
        return rc;
    return asset_config(e, asset, which, vol);
}

RISK_API int risk_engine_set_asset_stressed_vol(risk_engine *engine, uint32_t asset, double vol_annual)
{
    return engine ? vol_config(engine, asset, CONFIG_STRESSED, vol_annual) : RISK_ENULL;
}

RISK_API int risk_engine_set_asset_floor_vol(risk_engine *engine, uint32_t asset, double vol_annual)
{
    return engine ? vol_config(engine, asset, CONFIG_FLOOR, vol_annual) : RISK_ENULL;
}

RISK_API int risk_engine_set_asset_buffer_release(risk_engine *engine, uint32_t asset, double fraction)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    if (asset >= e->n_assets)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    if (!(fraction >= 0.0 && fraction <= 1.0))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "asset %s: the released fraction must be in [0, 1]",
                          e->assets[asset].symbol);
    return asset_config(e, asset, CONFIG_RELEASE, fraction);
}

RISK_API int risk_engine_asset_vol(const risk_engine *engine, uint32_t asset, risk_asset_vol_state *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message buffer is not engine state */
    if (!out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "out is NULL");
    if (out->version != RISK_ASSET_VOL_STATE_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "volatility state version %u is not %d", out->version,
                          RISK_ASSET_VOL_STATE_VERSION);
    if (asset >= e->n_assets)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    const risk__asset_vol *v = e->assets[asset].vol;
    risk_asset_vol_state s = RISK_ASSET_VOL_STATE_INIT;
    risk_asset_vol_params d = RISK_ASSET_VOL_PARAMS_INIT;
    s.live_vol_annual = s.stressed_vol_annual = s.floor_vol_annual = NAN;
    s.lambda = d.lambda;
    s.periods_per_year = d.periods_per_year;
    if (v) {
        s.flags = (v->stressed_set > 0.0 ? RISK_ASSET_VOL_STRESSED_SET : 0u) |
                  (v->floor_set > 0.0 ? RISK_ASSET_VOL_FLOOR_SET : 0u) | (v->has_time ? RISK_ASSET_VOL_HAS_TIME : 0u);
        if (v->has_live)
            s.live_vol_annual = live_vol(v);
        if (v->has_live || v->stressed_set > 0.0)
            s.stressed_vol_annual = stressed_vol(v);
        s.floor_vol_annual = floor_vol(v);
        s.buffer_release = v->release;
        s.lambda = v->ewma.lambda;
        s.periods_per_year = v->periods_per_year;
        s.last_time_s = v->last_time;
        s.n_returns = v->n_returns;
    }
    *out = s;
    return RISK_OK;
}

/* ------------------------------------------------------------ instrument scaling */

static int scaling_check(risk_engine *e, const risk__instrument *in, const risk_margin_scaling *p)
{
    const char *sym = in->symbol;
    if (p->mode != RISK_SCALING_OFF && p->mode != RISK_SCALING_TIERS && p->mode != RISK_SCALING_VAR)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: unknown scaling mode %u", sym, p->mode);
    if (p->mode == RISK_SCALING_OFF)
        return RISK_OK;
    if (p->mode == RISK_SCALING_TIERS && (!isfinite(p->reference_vol_annual) || !(p->reference_vol_annual > 0.0)))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: reference_vol_annual must be finite and > 0", sym);
    if (p->mode == RISK_SCALING_VAR) {
        if (!isfinite(p->z) || !(p->z > 0.0) || !isfinite(p->horizon_days) || !(p->horizon_days > 0.0) ||
            !isfinite(p->days_per_year) || !(p->days_per_year > 0.0))
            return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: z, horizon_days and days_per_year must be finite and > 0",
                              sym);
        const risk_margin_tier *first = in->scaling ? &in->scaling->base[0] : &in->schedule.tiers[0];
        if (!(first->mmr > 0.0))
            return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: VaR scaling needs a first tier with mmr > 0", sym);
    }
    if (!isfinite(p->min_factor) || !(p->min_factor > 0.0) || !isfinite(p->max_factor) ||
        !(p->max_factor >= p->min_factor))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: factors need 0 < min_factor <= max_factor, finite", sym);
    /* min = max = 1e300 gave MM 9.5e285 or NaN: cum x factor and cap x excess overflowed */
    int rc;
    if ((rc = risk__check_range(e, &e->errmsg, sym, "min_factor", p->min_factor, 1.0 / RISK_SCALING_FACTOR_MAX,
                                RISK_SCALING_FACTOR_MAX)) ||
        (rc = risk__check_range(e, &e->errmsg, sym, "max_factor", p->max_factor, 1.0 / RISK_SCALING_FACTOR_MAX,
                                RISK_SCALING_FACTOR_MAX)))
        return rc;
    if (p->mode == RISK_SCALING_TIERS &&
        (rc = risk__check_range(e, &e->errmsg, sym, "reference_vol_annual", p->reference_vol_annual, 1e-4,
                                RISK_VOL_ANNUAL_MAX)))
        return rc;
    if (p->mode == RISK_SCALING_VAR &&
        ((rc = risk__check_range(e, &e->errmsg, sym, "z", p->z, 1e-3, 100.0)) ||
         (rc = risk__check_range(e, &e->errmsg, sym, "horizon_days", p->horizon_days, 1e-6, 3660.0)) ||
         (rc = risk__check_range(e, &e->errmsg, sym, "days_per_year", p->days_per_year, 1.0, 366.0))))
        return rc;
    if (p->buffer > RISK_SCALING_FACTOR_MAX)
        return risk__check_range(e, &e->errmsg, sym, "buffer", p->buffer, 0.0, RISK_SCALING_FACTOR_MAX);
    if (p->max_daily_change > RISK_SCALING_FACTOR_MAX)
        return risk__check_range(e, &e->errmsg, sym, "max_daily_change", p->max_daily_change, 0.0,
                                 RISK_SCALING_FACTOR_MAX);
    if (!isfinite(p->buffer) || (p->buffer != 0.0 && !(p->buffer >= 0.25)))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: buffer must be 0 (off) or finite and >= 0.25", sym);
    if (p->stress_weight != 0.0 && !(p->stress_weight >= 0.25 && p->stress_weight <= 1.0))
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: stress_weight must be 0 (off) or in [0.25, 1]", sym);
    if (!isfinite(p->max_daily_change) || p->max_daily_change < 0.0)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: max_daily_change must be 0 (off) or finite and > 0", sym);
    if (p->vol_floor > 1)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: vol_floor must be 0 or 1", sym);
    if (p->reserved != 0)
        return risk__fail(e, &e->errmsg, RISK_EINVAL, "%s: reserved must be 0", sym);
    return RISK_OK;
}

static size_t scaling_bytes(uint32_t n_tiers)
{
    return sizeof(risk__scaling) + n_tiers * (sizeof(risk_margin_tier) + sizeof(double));
}

/* Restores the base schedule, unlinks the block from its asset's list and frees it. */
static void scaling_off(risk_engine *e, uint32_t id)
{
    risk__instrument *in = &e->instruments[id];
    risk__scaling *sc = in->scaling;
    risk__schedule *s = &in->schedule;
    memcpy(s->tiers, sc->base, s->n_tiers * sizeof *s->tiers);
    memcpy(s->im_rate, sc->base_im_rate, s->n_tiers * sizeof *s->im_rate);
    uint32_t *link = &e->assets[in->underlying].vol->first_scaled;
    while (*link != id)
        link = &e->instruments[*link].scaling->next;
    *link = sc->next;
    risk__free(e, sc);
    in->scaling = NULL;
}

RISK_API int risk_engine_set_instrument_scaling(risk_engine *engine, uint32_t instrument,
                                                const risk_margin_scaling *scaling)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = engine;
    if (scaling && scaling->version != RISK_MARGIN_SCALING_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "scaling version %u is not %d", scaling->version,
                          RISK_MARGIN_SCALING_VERSION);
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    risk__instrument *in = &e->instruments[instrument];
    if (!scaling || scaling->mode == RISK_SCALING_OFF) {
        if (in->scaling)
            scaling_off(e, instrument);
        risk__clear(&e->errmsg);
        return RISK_OK;
    }
    int rc = scaling_check(e, in, scaling);
    if (rc)
        return rc;
    risk__asset *under = &e->assets[in->underlying];
    int had_vol = under->vol != NULL;
    risk__asset_vol *v;
    rc = asset_vol_get(e, in->underlying, &v); /* it holds the list of scaled instruments */
    if (rc)
        return rc;
    risk__scaling *sc = in->scaling;
    if (!sc) {
        uint32_t n = in->schedule.n_tiers;
        sc = risk__malloc(e, scaling_bytes(n));
        if (!sc) {
            if (!had_vol) {
                risk__free(e, under->vol);
                under->vol = NULL;
            }
            return risk__fail(e, &e->errmsg, RISK_ENOMEM, "%s: out of memory for the scaling", in->symbol);
        }
        memset(sc, 0, sizeof *sc);
        sc->base = (risk_margin_tier *)(sc + 1);
        sc->base_im_rate = (double *)(sc->base + n);
        memcpy(sc->base, in->schedule.tiers, n * sizeof *sc->base);
        memcpy(sc->base_im_rate, in->schedule.im_rate, n * sizeof *sc->base_im_rate);
        sc->factor = 1.0;
        sc->time = v->last_time; /* the rate cap counts from the asset's last update */
        sc->has_time = v->has_time;
        sc->next = v->first_scaled;
        v->first_scaled = instrument;
        in->scaling = sc;
    }
    int initial = sc->params.mode == RISK_SCALING_OFF; /* just made (an instrument scaled off has none) */
    sc->params = *scaling;
    rescale_as(in, v, 0, 0, initial);
    risk__clear(&e->errmsg);
    return RISK_OK;
}

/* The checks an instrument query starts with (the engine is not NULL). */
static int query_check(risk_engine *e, const void *out, uint32_t instrument)
{
    if (!out)
        return risk__fail(e, &e->errmsg, RISK_ENULL, "out is NULL");
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    return RISK_OK;
}

RISK_API int risk_engine_instrument_scaling(const risk_engine *engine, uint32_t instrument, risk_margin_scaling *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine; /* the message buffer is not engine state */
    int rc = query_check(e, out, instrument);
    if (rc)
        return rc;
    const risk__scaling *sc = e->instruments[instrument].scaling;
    risk_margin_scaling off = RISK_MARGIN_SCALING_INIT;
    *out = sc ? sc->params : off;
    return RISK_OK;
}

RISK_API int risk_engine_instrument_factor(const risk_engine *engine, uint32_t instrument, risk_margin_factor *out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine;
    int rc = query_check(e, out, instrument);
    if (rc)
        return rc;
    if (out->version != RISK_MARGIN_FACTOR_VERSION)
        return risk__fail(e, &e->errmsg, RISK_EVERSION, "factor version %u is not %d", out->version,
                          RISK_MARGIN_FACTOR_VERSION);
    const risk__instrument *in = &e->instruments[instrument];
    const risk__scaling *sc = in->scaling;
    risk_margin_factor r = RISK_MARGIN_FACTOR_INIT;
    r.factor = r.target = 1.0;
    r.vol_annual = r.reference_vol_annual = NAN;
    if (sc) {
        r.mode = sc->params.mode;
        r.factor = sc->factor;
        r.target = target_factor(sc, e->assets[in->underlying].vol, &r.vol_annual);
        r.reference_vol_annual = reference_vol(sc);
    }
    *out = r;
    return RISK_OK;
}

RISK_API int risk_engine_instrument_base_tiers(const risk_engine *engine, uint32_t instrument, risk_margin_tier *out,
                                               size_t capacity, size_t *count_out)
{
    if (!engine)
        return RISK_ENULL;
    risk_engine *e = (risk_engine *)engine;
    if (!count_out || (!out && capacity))
        return risk__fail(e, &e->errmsg, RISK_ENULL, "count_out is NULL, or out is NULL with capacity > 0");
    if (instrument >= e->n_instruments)
        return risk__fail(e, &e->errmsg, RISK_ENOTFOUND, "unknown instrument %u", instrument);
    const risk__instrument *in = &e->instruments[instrument];
    const risk_margin_tier *base = in->scaling ? in->scaling->base : in->schedule.tiers;
    return risk__tiers_copy_out(e, base, in->schedule.n_tiers, out, capacity, count_out);
}

/* ------------------------------------------------------------ engine lifetime */

void risk__scaling_destroy(risk_engine *e)
{
    for (uint32_t i = 0; i < e->n_instruments; i++) {
        risk__free(e, e->instruments[i].scaling);
        e->instruments[i].scaling = NULL;
    }
    for (uint32_t i = 0; i < e->n_assets; i++) {
        risk__free(e, e->assets[i].vol);
        e->assets[i].vol = NULL;
    }
}

size_t risk__scaling_bytes(const risk_engine *e)
{
    size_t bytes = 0;
    for (uint32_t i = 0; i < e->n_instruments; i++)
        if (e->instruments[i].scaling)
            bytes += scaling_bytes(e->instruments[i].schedule.n_tiers);
    for (uint32_t i = 0; i < e->n_assets; i++)
        if (e->assets[i].vol)
            bytes += sizeof(risk__asset_vol);
    return bytes;
}

const risk_margin_tier *risk__instrument_base_tiers(const risk__instrument *in)
{
    return in->scaling ? in->scaling->base : in->schedule.tiers;
}
