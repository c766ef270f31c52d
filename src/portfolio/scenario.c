/* SPDX-License-Identifier: Apache-2.0 */
/* Scenario revaluation (docs/stress.md, "Scenario revaluation"): an account revalued under a
 * batch of market moves without being changed.
 *
 * Contract: the P&L of a scenario is bit for bit E_s - E_0, where E_s is the equity that
 * risk_account_evaluate() reports after the moved prices and marks have been set. So every
 * value here is computed with the same arithmetic, in the same order, as core/evaluate.c and
 * core/basket.c: each per-scenario accumulator receives its terms in position order and then in
 * balance order, exactly as the evaluation's scalar accumulators do. Only the loop nest differs:
 * positions outer, scenarios inner, so that each position is read once for the batch and the
 * inner loop streams over the moved marks of its instrument.
 *
 * Each instrument kind revalues through one function: revalue_future for perpetuals and dated
 * futures, revalue_option for options (repriced at the moved underlying and volatility by
 * option_marks when the tables are built). */
#include "portfolio/scenario.h"
#include "margin/schedule.h"

#include <stdio.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------ validation */

static int vol_params_check(const risk_engine *e, char **err, const risk_scenarios *sc)
{
    if (sc->vol_mode != RISK_VOL_MOVE_ABSOLUTE && sc->vol_mode != RISK_VOL_MOVE_RELATIVE)
        return risk__fail(e, err, RISK_EINVAL, "scenarios: vol_mode %u is neither absolute (0) nor relative (1)",
                          sc->vol_mode);
    int rc = risk__check_range(e, err, "scenarios", "vol_term_days", sc->vol_term_days, 0.0, 36500.0);
    if (!rc && sc->vol_term_days == 0.0)
        rc = risk__fail(e, err, RISK_EINVAL, "scenarios: vol_term_days must be above 0");
    if (!rc)
        rc = risk__check_range(e, err, "scenarios", "vol_term_power_short", sc->vol_term_power_short, 0.0, 4.0);
    if (!rc)
        rc = risk__check_range(e, err, "scenarios", "vol_term_power_long", sc->vol_term_power_long, 0.0, 4.0);
    return rc;
}

/* Shape and numbers of a batch, without an engine (n_assets is checked by the caller). */
static int shape_check(const risk_engine *e, char **err, const risk_scenarios *sc)
{
    if (sc->version != RISK_SCENARIOS_VERSION)
        return risk__fail(e, err, RISK_EVERSION, "scenarios version %u is not %d", sc->version,
                          RISK_SCENARIOS_VERSION);
    if (sc->n_scenarios < 1 || sc->n_scenarios > RISK_SCENARIOS_MAX)
        return risk__fail(e, err, RISK_EINVAL, "scenarios: n_scenarios %zu outside [1, %u]", sc->n_scenarios,
                          RISK_SCENARIOS_MAX);
    if (sc->n_assets && !sc->price_moves)
        return risk__fail(e, err, RISK_ENULL, "scenarios: price_moves is NULL with n_assets %zu", sc->n_assets);
    return vol_params_check(e, err, sc);
}

int risk__scenarios_check(const risk_engine *e, char **err, const risk_scenarios *sc)
{
    if (!sc)
        return risk__fail(e, err, RISK_ENULL, "scenarios is NULL");
    int rc = shape_check(e, err, sc);
    if (rc)
        return rc;
    if (sc->n_assets > e->n_assets)
        return risk__fail(e, err, RISK_EINVAL, "scenarios: n_assets %zu above the engine's %u assets", sc->n_assets,
                          e->n_assets);
    size_t S = sc->n_scenarios, A = sc->n_assets;
    for (size_t s = 0; s < S; s++) {
        for (size_t a = 0; a < A; a++) {
            double m = sc->price_moves[s * A + a];
            if (!(m > -1.0) || !isfinite(m))
                return risk__fail(e, err, RISK_EINVAL, "scenario %zu: price move %s of %s must be finite and above -1",
                                  s, RISK__NUM(m), e->assets[a].symbol);
            if (a == e->valuation && m != 0.0)
                return risk__fail(e, err, RISK_EINVAL,
                                  "scenario %zu: the valuation asset %s cannot move (move %s); its price is 1", s,
                                  e->assets[a].symbol, RISK__NUM(m));
            if (sc->vol_moves) {
                double v = sc->vol_moves[s * A + a];
                if (!(fabs(v) <= RISK_VOL_MOVE_MAX))
                    return risk__fail(e, err, RISK_EINVAL, "scenario %zu: vol move %s of %s outside +-%s", s,
                                      RISK__NUM(v), e->assets[a].symbol, RISK__NUM(RISK_VOL_MOVE_MAX));
            }
        }
        if (sc->weights && !(sc->weights[s] >= 0.0 && sc->weights[s] <= 1.0))
            return risk__fail(e, err, RISK_EINVAL, "scenario %zu: weight %s outside [0, 1]", s,
                              RISK__NUM(sc->weights[s]));
    }
    return RISK_OK;
}

/* ------------------------------------------------------------ tables */

/* The term-structure factor t = (vol_term_days / DTE)^p of a batch for an expiry: it depends on
 * the expiry only, so an option's scenarios share it (one pow per option, not per scenario). */
static double term_factor(const risk_scenarios *sc, double days_to_expiry)
{
    double p = days_to_expiry < sc->vol_term_days ? sc->vol_term_power_short : sc->vol_term_power_long;
    return p == 0.0 || !(days_to_expiry > 0.0) ? 1.0 : pow(sc->vol_term_days / days_to_expiry, p);
}

/* The moved volatility of a scenario with the term factor t of its expiry, on checked inputs. */
static double moved_vol_t(const risk_scenarios *sc, size_t s, uint32_t asset, double vol, double t)
{
    double m = sc->vol_moves && asset < sc->n_assets ? sc->vol_moves[s * sc->n_assets + asset] : 0.0;
    if (m == 0.0) /* exactly: a scenario without a vol move prices at the vol evaluation uses */
        return vol > 0.0 ? vol : 0.0;
    double v = sc->vol_mode == RISK_VOL_MOVE_ABSOLUTE ? vol + m * t : vol * (1.0 + m * t);
    return v > 0.0 ? v : 0.0;
}

/* The moved volatility of a scenario, on checked inputs (risk_scenario_vol checks them first). */
static double moved_vol(const risk_scenarios *sc, size_t s, uint32_t asset, double vol, double days_to_expiry)
{
    return moved_vol_t(sc, s, asset, vol, term_factor(sc, days_to_expiry));
}

/* The volatility an option's mark is priced at in scenario s: its mark volatility moved as
 * option_marks moves it (the term factor of its expiry), for risk__pm_scen_margins. */
double risk__scen_moved_mark_vol(const risk_engine *e, const risk_scenarios *sc, size_t s, const risk__instrument *in)
{
    double dte = (double)(in->expiry_unix_s - e->now_unix_s) / 86400.0;
    return moved_vol_t(sc, s, in->underlying, in->mark_vol, term_factor(sc, dte));
}

/* The marks of an option under each scenario: repriced by Black-76 at the moved underlying
 * price U' (risk__option_underlying_price's arithmetic on the moved prices) and the moved
 * volatility (the mark vol, or the vol its given mark implies: sticky strike). Without a vol
 * move, an option marked from a vol gets the bits the engine computes after the same price
 * moves; a given mark is repriced at its implied vol, where the engine would keep it until the
 * caller sets a new one (docs/stress.md). A settled option, or one whose mark implies no vol,
 * keeps its mark. The underlying's price rows are already built. */
static int option_marks(const risk_engine *e, char **err, const risk_scenarios *sc, const risk__scen_tables *t,
                        const risk__instrument *in, double *row)
{
    size_t S = t->n_s;
    double vol = in->settled ? NAN : risk__option_vol(in, e->now_unix_s);
    double dte = (double)(in->expiry_unix_s - e->now_unix_s) / 86400.0, tf = term_factor(sc, dte);
    const double *pu = t->price + (size_t)in->underlying * S, *ps = t->price + (size_t)in->settle * S;
    for (size_t s = 0; s < S; s++) {
        if (isnan(vol)) {
            row[s] = in->mark;
            continue;
        }
        double U = in->inverse ? pu[s] : pu[s] / ps[s], v = moved_vol_t(sc, s, in->underlying, vol, tf);
        /* nothing moved: the mark itself (a given mark's implied vol reprices it only to ~1e-13) */
        row[s] = U == in->opt_under && v == vol ? in->mark : risk__option_mark_at(in, U, v, e->now_unix_s);
        if (!(row[s] >= 0.0) || !isfinite(row[s]))
            return risk__fail(e, err, RISK_EINVAL, "%s: scenario %zu prices the option at %s", in->symbol, s,
                              RISK__NUM(row[s]));
    }
    return RISK_OK;
}

int risk__scen_tables_build(const risk_engine *e, char **err, const risk_scenarios *sc, risk__scen_tables *t)
{
    return risk__scen_tables_build_for(e, err, sc, NULL, t);
}

int risk__scen_tables_build_for(const risk_engine *e, char **err, const risk_scenarios *sc, const risk_account *only,
                                risk__scen_tables *t)
{
    size_t S = sc->n_scenarios, A = sc->n_assets, NA = e->n_assets, NI = e->n_instruments;
    memset(t, 0, sizeof *t);
    size_t cells = (NA + NI) * S;
    if (cells / S != NA + NI || cells > SIZE_MAX / sizeof(double) - 2 * NI)
        return risk__fail(e, err, RISK_ENOMEM, "scenario tables of %zu x %zu cells do not fit", NA + NI, S);
    cells += 2 * NI;
    double *block = cells ? risk__malloc(e, cells * sizeof(double)) : NULL;
    if (cells && !block)
        return risk__fail(e, err, RISK_ENOMEM, "out of memory for the scenario tables (%zu x %zu)", NA + NI, S);
    t->n_s = S;
    t->block = block;
    t->price = block;
    t->mark = block + NA * S;
    t->mark_lo = t->mark + NI * S;
    t->mark_hi = t->mark_lo + NI;
    t->weights = sc->weights;
    /* f = 1 + m: the double nearest the sum; p' = p x f, one rounded product. A caller who sets
     * price x (1 + m) with risk_engine_set_asset_price gets the same double. */
    for (size_t a = 0; a < NA; a++) {
        double p = e->assets[a].price;
        double *row = t->price + a * S;
        for (size_t s = 0; s < S; s++) {
            double f = a < A ? 1.0 + sc->price_moves[s * A + a] : 1.0;
            row[s] = p * f;
            if (!risk__price_in_domain(row[s])) {
                char what[64];
                snprintf(what, sizeof what, "moved price in scenario %zu", s);
                int rc = risk__check_price(e, err, e->assets[a].symbol, what, row[s]);
                risk__scen_tables_release(e, t);
                return rc;
            }
        }
    }
    if (only) { /* the rows of the instruments the account holds: NaN marks the others, unread */
        for (size_t i = 0; i < NI; i++)
            t->mark[i * S] = NAN;
        for (uint32_t k = 0; k < only->n_pos; k++)
            t->mark[(size_t)only->inst[k] * S] = 0.0;
    }
    for (size_t i = 0; i < NI; i++) {
        const risk__instrument *in = &e->instruments[i];
        uint32_t u = in->underlying;
        double *row = t->mark + i * S;
        if (only && isnan(row[0]))
            continue;
        if (in->kind == RISK_KIND_OPTION) {
            int rc = option_marks(e, err, sc, t, in, row);
            if (rc) {
                risk__scen_tables_release(e, t);
                return rc;
            }
            t->mark_lo[i] = t->mark_hi[i] = row[0];
            continue;
        }
        for (size_t s = 0; s < S; s++) {
            double f = u < A ? 1.0 + sc->price_moves[s * A + u] : 1.0;
            row[s] = in->mark * f;
        }
        for (size_t s = 0; s < S; s++) {
            double ticks = row[s] / in->tick_size;
            if (!risk__price_in_domain(row[s]) || nearbyint(ticks) < 1.0 || ticks > RISK__TICKS_MAX) {
                char what[64];
                snprintf(what, sizeof what, "moved mark in scenario %zu", s);
                int rc = risk__check_instrument_price(e, err, in, what, row[s], 0);
                risk__scen_tables_release(e, t);
                return rc ? rc : RISK_EINTERNAL;
            }
        }
        double lo = row[0], hi = row[0];
        for (size_t s = 1; s < S; s++) {
            lo = row[s] < lo ? row[s] : lo;
            hi = row[s] > hi ? row[s] : hi;
        }
        t->mark_lo[i] = lo;
        t->mark_hi[i] = hi;
    }
    return RISK_OK;
}

void risk__scen_tables_release(const risk_engine *e, risk__scen_tables *t)
{
    risk__free(e, t->block);
    t->block = NULL;
    t->price = t->mark = t->mark_lo = t->mark_hi = NULL;
}

#define ACC_DOUBLES 13 /* the sums, zeroed per account */
#define OUT_DOUBLES 3  /* equity, health factor, quantized R_maint (risk__scen_states) */
#define ACC_BYTES_PER_SCENARIO ((ACC_DOUBLES + OUT_DOUBLES) * sizeof(double) + 2 * sizeof(uint32_t))

int risk__scen_acc_init(const risk_engine *e, size_t S, risk__scen_acc *acc)
{
    memset(acc, 0, sizeof *acc);
    if (S > SIZE_MAX / ACC_BYTES_PER_SCENARIO)
        return RISK_ENOMEM;
    size_t bytes = S * ACC_BYTES_PER_SCENARIO;
    double *b = risk__malloc(e, bytes ? bytes : 1);
    if (!b)
        return RISK_ENOMEM;
    acc->block = b;
    double **fields[ACC_DOUBLES + OUT_DOUBLES] = {
        &acc->upnl,       &acc->cross_upnl, &acc->cross_im,  &acc->cross_mm,   &acc->iso, &acc->gross,
        &acc->coll_value, &acc->coll_init,  &acc->coll_maint, &acc->liab,      &acc->liab_init,
        &acc->liab_maint, &acc->net,        &acc->equity,    &acc->health,     &acc->r_maint};
    for (size_t k = 0; k < ACC_DOUBLES + OUT_DOUBLES; k++)
        *fields[k] = b + k * S;
    acc->n_iso_liq = (uint32_t *)(b + (ACC_DOUBLES + OUT_DOUBLES) * S);
    acc->state = acc->n_iso_liq + S;
    return RISK_OK;
}

void risk__scen_acc_release(const risk_engine *e, risk__scen_acc *acc)
{
    risk__free(e, acc->block);
    acc->block = NULL;
}

/* ------------------------------------------------------------ revaluation, one function per kind */

/* One position's values in scenario s into the sums, as risk__account_values_compute adds them. */
static inline void accumulate(const risk__scen_acc *restrict acc, size_t s, const risk__position_values *pv,
                              double sp, uint32_t pflags, double iso_margin)
{
    acc->upnl[s] += pv->upnl * sp;
    acc->gross[s] += pv->notional * sp;
    if (pflags & RISK__PF_ISOLATED) {
        acc->iso[s] += iso_margin * sp;
        acc->n_iso_liq[s] += iso_margin + pv->upnl < pv->mm;
    } else {
        acc->cross_upnl[s] += pv->upnl * sp;
        acc->cross_im[s] += pv->im * sp;
        acc->cross_mm[s] += pv->mm * sp;
    }
}

/* A linear cross position whose notional stays in one tier over the whole batch (its tier at
 * the lowest and at the highest moved mark agree, and the notional is monotone in the mark):
 * the tier's numbers are constants, so two scenarios go through one SSE2 lane pair. Packed IEEE
 * operations give each lane the scalar operation's bits, in the same order, so the sums are
 * the scalar loop's bit for bit. With_gross: also the gross notional (summaries need it; the
 * states do not). */
static inline void linear_one_tier(size_t S, const double *restrict mark, const double *restrict settle, double aq,
                                   double qc, double entry, double mr, double cu, double ra,
                                   const risk__scen_acc *restrict acc, int with_gross)
{
    double *restrict upnl_sum = acc->upnl, *restrict gross = acc->gross, *restrict cross_upnl = acc->cross_upnl,
                     *restrict cross_im = acc->cross_im, *restrict cross_mm = acc->cross_mm;
    size_t s = 0;
#if defined(__SSE2__)
    __m128d vaq = _mm_set1_pd(aq), vqc = _mm_set1_pd(qc), ventry = _mm_set1_pd(entry), vmr = _mm_set1_pd(mr),
            vcu = _mm_set1_pd(cu), vra = _mm_set1_pd(ra);
    for (; s + 2 <= S; s += 2) {
        __m128d m = _mm_loadu_pd(mark + s), sp = _mm_loadu_pd(settle + s);
        __m128d notional = _mm_mul_pd(vaq, m);
        __m128d upnl_v = _mm_mul_pd(_mm_mul_pd(vqc, _mm_sub_pd(m, ventry)), sp);
        _mm_storeu_pd(upnl_sum + s, _mm_add_pd(_mm_loadu_pd(upnl_sum + s), upnl_v));
        if (with_gross)
            _mm_storeu_pd(gross + s, _mm_add_pd(_mm_loadu_pd(gross + s), _mm_mul_pd(notional, sp)));
        _mm_storeu_pd(cross_upnl + s, _mm_add_pd(_mm_loadu_pd(cross_upnl + s), upnl_v));
        _mm_storeu_pd(cross_im + s,
                      _mm_add_pd(_mm_loadu_pd(cross_im + s), _mm_mul_pd(_mm_mul_pd(notional, vra), sp)));
        _mm_storeu_pd(cross_mm + s, _mm_add_pd(_mm_loadu_pd(cross_mm + s),
                                               _mm_mul_pd(_mm_sub_pd(_mm_mul_pd(notional, vmr), vcu), sp)));
    }
#endif
    for (; s < S; s++) {
        double m = mark[s], sp = settle[s];
        double notional = aq * m;
        double upnl_v = qc * (m - entry) * sp;
        upnl_sum[s] += upnl_v;
        if (with_gross)
            gross[s] += notional * sp;
        cross_upnl[s] += upnl_v;
        cross_im[s] += notional * ra * sp;
        cross_mm[s] += (notional * mr - cu) * sp;
    }
}

/* Perpetuals and dated futures (linear or inverse, margined at the mark or at entry, cross or
 * isolated). The same arithmetic as risk__account_values_compute, term for term. */
static void revalue_future(const risk__instrument *in, double q, double entry, double imr, uint32_t pflags,
                           double iso_margin, const double *restrict mark, const double *restrict settle, size_t S,
                           double mark_lo, double mark_hi, const risk__scen_acc *restrict acc)
{
    double *restrict upnl_sum = acc->upnl, *restrict gross = acc->gross;
    if (!in->general && !(pflags & RISK__PF_ISOLATED)) {
        /* linear, margined at the mark, cross: evaluate.c's fast path */
        double cs = in->contract_size;
        const risk__schedule *sch = &in->schedule;
        double *restrict cross_upnl = acc->cross_upnl, *restrict cross_im = acc->cross_im,
                         *restrict cross_mm = acc->cross_mm;
        double aq = fabs(q) * cs, qc = q * cs;
        uint32_t t_lo = risk__schedule_tier(sch, aq * mark_lo);
        if (t_lo == risk__schedule_tier(sch, aq * mark_hi)) { /* x -> aq x is monotone: one tier */
            double mr = sch->tiers[t_lo].mmr, cu = sch->tiers[t_lo].cum, ra = risk__schedule_im_rate(sch, t_lo, imr);
            if (acc->lean)
                linear_one_tier(S, mark, settle, aq, qc, entry, mr, cu, ra, acc, 0);
            else
                linear_one_tier(S, mark, settle, aq, qc, entry, mr, cu, ra, acc, 1);
            return;
        }
        if (sch->n_tiers <= 4) {
            /* Up to four tiers (most published schedules' first tiers; every bench book): the
             * tier's numbers copied to the stack, padded to four (missing caps infinite), and
             * the tier counted over three caps, free of branches a scenario sweep crossing tier
             * edges would mispredict. The same tier (caps strictly increase), so the same
             * numbers and the same bits. */
            uint32_t nt = sch->n_tiers;
            double cap[3], mmr[4], cum[4], rate[4];
            for (uint32_t k = 0; k < 4; k++) {
                uint32_t j = k < nt ? k : nt - 1;
                mmr[k] = sch->tiers[j].mmr;
                cum[k] = sch->tiers[j].cum;
                rate[k] = risk__schedule_im_rate(sch, j, imr);
            }
            for (uint32_t k = 0; k < 3; k++)
                cap[k] = k + 1 < nt ? sch->tiers[k].notional_cap : INFINITY;
            for (size_t s = 0; s < S; s++) {
                double m = mark[s], sp = settle[s];
                double notional = aq * m;
                double upnl = qc * (m - entry);
                /* the tier: caps below the notional, counted (setcc, no branch) */
                uint32_t t = (uint32_t)(notional > cap[0]) + (uint32_t)(notional > cap[1]) +
                             (uint32_t)(notional > cap[2]);
                double mr = mmr[t], cu = cum[t], ra = rate[t];
                double upnl_v = upnl * sp;
                upnl_sum[s] += upnl_v;
                gross[s] += notional * sp;
                cross_upnl[s] += upnl_v;
                cross_im[s] += notional * ra * sp;
                cross_mm[s] += (notional * mr - cu) * sp;
            }
            return;
        }
        for (size_t s = 0; s < S; s++) {
            double m = mark[s], sp = settle[s];
            double notional = fabs(q) * cs * m;
            double upnl = q * cs * (m - entry);
            uint32_t t = risk__schedule_tier(sch, notional);
            double upnl_v = upnl * sp;
            upnl_sum[s] += upnl_v;
            gross[s] += notional * sp;
            cross_upnl[s] += upnl_v;
            cross_im[s] += notional * risk__schedule_im_rate(sch, t, imr) * sp;
            cross_mm[s] += (notional * sch->tiers[t].mmr - sch->tiers[t].cum) * sp;
        }
        return;
    }
    for (size_t s = 0; s < S; s++) {
        risk__position_values pv;
        risk__position_values_at(in, mark[s], q, entry, imr, &pv);
        accumulate(acc, s, &pv, settle[s], pflags, iso_margin);
    }
}

/* Options: at the moved premium (the tables' mark row) and the moved underlying price, as
 * evaluation values them (risk__option_values_at). */
static void revalue_option(const risk__instrument *in, double q, uint32_t pflags,
                           double iso_margin, const double *restrict mark, const double *restrict settle,
                           const risk__scen_tables *t, const risk__scen_acc *restrict acc)
{
    size_t S = t->n_s;
    const double *pu = t->price + (size_t)in->underlying * S;
    for (size_t s = 0; s < S; s++) {
        risk__position_values pv;
        double U = in->inverse ? pu[s] : pu[s] / settle[s];
        risk__option_values_at(in, U, mark[s], q, &pv);
        accumulate(acc, s, &pv, settle[s], pflags, iso_margin);
    }
}

/* One balance of the basket at the moved prices of its asset: risk__basket_entry_add with
 * sign 1 (1 x y is y exactly). The weights are the asset's (risk__asset_weights); with size
 * scaling they depend on the venue-wide totals' value, so on the moved price, per scenario. */
static void revalue_balance(const risk__asset *a, double amount, const double *restrict price, size_t S,
                            const risk__scen_acc *restrict acc)
{
    double *restrict net = acc->net;
    if (amount > 0.0) {
        double tq = risk__tiered_qty(a, amount);
        double wi = a->weight_init, wm = a->weight_maint;
        double *restrict cv = acc->coll_value, *restrict ci = acc->coll_init, *restrict cm = acc->coll_maint;
        for (size_t s = 0; s < S; s++) {
            double p = price[s];
            net[s] += amount * p;
            double w_init = wi, w_maint = wm;
            if (a->size_scaled)
                risk__size_weights_at(a, amount, p, &w_init, &w_maint);
            double value = p * tq;
            cv[s] += value;
            ci[s] += value * w_init;
            cm[s] += value * w_maint;
        }
    } else {
        double lwi = a->liab_weight_init, lwm = a->liab_weight_maint;
        double *restrict l = acc->liab, *restrict li = acc->liab_init, *restrict lm = acc->liab_maint;
        for (size_t s = 0; s < S; s++) {
            double p = price[s];
            net[s] += amount * p;
            double w_init = lwi, w_maint = lwm;
            if (a->size_scaled)
                risk__size_weights_at(a, amount, p, &w_init, &w_maint);
            double liab = -amount * p;
            l[s] += liab;
            li[s] += liab * w_init;
            lm[s] += liab * w_maint;
        }
    }
}

void risk__scen_revalue(const risk_account *a, const risk__scen_tables *t, risk__scen_acc *acc)
{
    const risk_engine *e = a->engine;
    size_t S = t->n_s;
    memset(acc->block, 0, S * ACC_DOUBLES * sizeof(double));
    memset(acc->n_iso_liq, 0, S * sizeof(uint32_t));
    for (uint32_t i = 0, n = a->n_pos; i < n; i++) {
        const risk__instrument *in = &e->instruments[a->inst[i]];
        const double *mark = t->mark + (size_t)a->inst[i] * S;
        const double *settle = t->price + (size_t)in->settle * S;
        switch (in->kind) {
        case RISK_KIND_OPTION:
            revalue_option(in, a->qty[i], a->pflags[i], a->iso_margin[i], mark, settle, t, acc);
            break;
        case RISK_KIND_PERPETUAL:
        case RISK_KIND_FUTURE:
        default:
            revalue_future(in, a->qty[i], a->entry[i], a->im_rate[i], a->pflags[i], a->iso_margin[i], mark, settle,
                           S, t->mark_lo[a->inst[i]], t->mark_hi[a->inst[i]], acc);
            break;
        }
    }
    const risk_basket *b = &a->basket;
    for (uint32_t k = 0; k < b->n; k++) {
        const risk__asset *as = &e->assets[b->asset[k]];
        revalue_balance(as, risk__balance_of(as, b->amount[k]), t->price + (size_t)b->asset[k] * S, S, acc);
    }
    if (e->funding_active) /* pending funding, as risk__funding_values_add counts it */
        for (uint32_t i = 0, n = a->n_pos; i < n; i++) {
            double got = risk__funding_pending(a, i);
            if (got == 0.0)
                continue;
            const risk__instrument *in = &e->instruments[a->inst[i]];
            const double *settle = t->price + (size_t)in->settle * S;
            const double *mark = t->mark + (size_t)a->inst[i] * S;
            int iso = (a->pflags[i] & RISK__PF_ISOLATED) != 0;
            for (size_t s = 0; s < S; s++) {
                double v = got * settle[s];
                if (iso) { /* in the margin, and its liquidatable test, as evaluation counts it */
                    risk__position_values pv;
                    risk__position_values_at(in, mark[s], a->qty[i], a->entry[i], a->im_rate[i], &pv);
                    double m = a->iso_margin[i];
                    acc->n_iso_liq[s] -= m + pv.upnl < pv.mm;
                    acc->n_iso_liq[s] += (m + got) + pv.upnl < pv.mm;
                    acc->iso[s] += v;
                } else {
                    acc->upnl[s] += v;
                    acc->cross_upnl[s] += v;
                }
            }
        }
    if (e->n_upnl_weighted) /* Drift's unrealised-PnL weights, as risk__upnl_weight_values_add */
        for (uint32_t i = 0, n = a->n_pos; i < n; i++) {
            const risk__instrument *in = &e->instruments[a->inst[i]];
            if (!in->upnl_weighted || (a->pflags[i] & RISK__PF_ISOLATED))
                continue;
            const double *mark = t->mark + (size_t)a->inst[i] * S;
            const double *settle = t->price + (size_t)in->settle * S;
            double got = e->funding_active ? risk__funding_pending(a, i) : 0.0;
            for (size_t s = 0; s < S; s++) {
                risk__position_values pv;
                risk__position_values_at(in, mark[s], a->qty[i], a->entry[i], a->im_rate[i], &pv);
                double ci, cm;
                risk__upnl_cut(in, pv.upnl + got, &ci, &cm);
                if (ci != 0.0)
                    acc->coll_init[s] -= ci * settle[s];
                if (cm != 0.0)
                    acc->coll_maint[s] -= cm * settle[s];
            }
        }
}

void risk__scen_values(const risk__scen_acc *acc, size_t s, uint32_t n_assets, risk__account_values *out)
{
    out->basket.collateral_value = acc->coll_value[s];
    out->basket.collateral_init = acc->coll_init[s];
    out->basket.collateral_maint = acc->coll_maint[s];
    out->basket.liabilities = acc->liab[s];
    out->basket.liabilities_init = acc->liab_init[s];
    out->basket.liabilities_maint = acc->liab_maint[s];
    out->basket.net_value = acc->net[s];
    out->basket.n_assets = n_assets;
    out->upnl = acc->upnl[s];
    out->cross_upnl = acc->cross_upnl[s];
    out->cross_im = acc->cross_im[s];
    out->cross_mm = acc->cross_mm[s];
    out->isolated_margin = acc->iso[s];
    out->gross_notional = acc->gross[s];
    out->n_isolated_liquidatable = acc->n_iso_liq[s];
}

/* ------------------------------------------------------------ public API */

RISK_API int risk_account_scenario_pnl(const risk_account *account, const risk_scenarios *scenarios, double *pnl_out,
                                       risk_account_summary *summaries_out)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = (risk_account *)account; /* the message buffer is not account state */
    const risk_engine *e = a->engine;
    if (!pnl_out)
        return risk__fail(e, &a->errmsg, RISK_ENULL, "pnl_out is NULL");
    int rc = risk__scenarios_check(e, &a->errmsg, scenarios);
    if (rc)
        return rc;
    if (summaries_out && summaries_out[0].version != RISK_ACCOUNT_SUMMARY_VERSION)
        return risk__fail(e, &a->errmsg, RISK_EVERSION, "account summary version %u is not %d",
                          summaries_out[0].version, RISK_ACCOUNT_SUMMARY_VERSION);
    risk__scen_tables t;
    if ((rc = risk__scen_tables_build(e, &a->errmsg, scenarios, &t)))
        return rc;
    risk__scen_acc acc;
    if (risk__scen_acc_init(e, t.n_s, &acc)) {
        risk__scen_tables_release(e, &t);
        return risk__fail(e, &a->errmsg, RISK_ENOMEM, "out of memory for %zu scenario accumulators", t.n_s);
    }
    risk__account_values v0;
    risk_account_summary base = RISK_ACCOUNT_SUMMARY_INIT;
    risk__account_values_compute(a, &v0);
    risk__account_summary_fill(a, &v0, &base);
    risk__scen_revalue(a, &t, &acc);
    if (a->margin_mode == RISK_MARGIN_PORTFOLIO) /* IM and MM from the portfolio model at each scenario */
        risk__pm_scen_margins(a, scenarios, &t, &acc);
    if (!summaries_out) {
        risk__scen_ctx ctx;
        risk__scen_ctx_init(e, &ctx);
        risk__scen_states(&ctx, a->n_pos, &acc, t.n_s);
    }
    for (size_t s = 0; s < t.n_s; s++) {
        double equity;
        if (summaries_out) {
            risk__account_values v;
            risk_account_summary sum = RISK_ACCOUNT_SUMMARY_INIT;
            risk__scen_values(&acc, s, a->basket.n, &v);
            risk__account_summary_fill(a, &v, &sum);
            summaries_out[s] = sum;
            equity = sum.equity;
        } else {
            equity = acc.equity[s]; /* risk__scen_states, below the loop's first pass */
        }
        double pnl = equity - base.equity;
        pnl_out[s] = t.weights ? t.weights[s] * pnl : pnl;
    }
    risk__scen_acc_release(e, &acc);
    risk__scen_tables_release(e, &t);
    risk__clear(&a->errmsg);
    return RISK_OK;
}

RISK_API int risk_scenario_vol(double *out, const risk_scenarios *scenarios, size_t scenario, uint32_t asset,
                               double vol_annual, double days_to_expiry)
{
    if (!out || !scenarios)
        return RISK_ENULL;
    /* a pure function: no handle keeps a message, so the checks are shape_check's without text */
    const risk_scenarios *sc = scenarios;
    if (sc->version != RISK_SCENARIOS_VERSION)
        return RISK_EVERSION;
    int rc = RISK_OK;
    if ((sc->vol_mode != RISK_VOL_MOVE_ABSOLUTE && sc->vol_mode != RISK_VOL_MOVE_RELATIVE) ||
        !(sc->vol_term_days > 0.0 && sc->vol_term_days <= 36500.0) ||
        !(sc->vol_term_power_short >= 0.0 && sc->vol_term_power_short <= 4.0) ||
        !(sc->vol_term_power_long >= 0.0 && sc->vol_term_power_long <= 4.0) || sc->n_scenarios < 1 ||
        sc->n_scenarios > RISK_SCENARIOS_MAX)
        rc = RISK_EINVAL;
    if (!rc && scenario >= scenarios->n_scenarios)
        rc = RISK_EINVAL;
    if (!rc && !(vol_annual >= 0.0 && vol_annual <= RISK_VOL_ANNUAL_MAX))
        rc = RISK_EINVAL;
    if (!rc && !(days_to_expiry > 0.0 && days_to_expiry <= 36500.0))
        rc = RISK_EINVAL;
    double m = 0.0;
    if (!rc && scenarios->vol_moves && asset < scenarios->n_assets) {
        m = scenarios->vol_moves[scenario * scenarios->n_assets + asset];
        if (!(fabs(m) <= RISK_VOL_MOVE_MAX))
            rc = RISK_EINVAL;
    }
    if (rc)
        return rc;
    *out = moved_vol(scenarios, scenario, asset, vol_annual, days_to_expiry);
    return RISK_OK;
}
