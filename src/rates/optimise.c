/* SPDX-License-Identifier: Apache-2.0 */
/* Borrowing-cost optimisation (include/risk/optimise.h, docs/rates.md section 10).
 *
 * The model. Each candidate asset a has a final balance b'_a in [lo_a, hi_a]. Its contribution
 * to every quantity of the account is piecewise linear in b'_a with breakpoints at 0 and at its
 * value-tier bounds: below 0 it is a debt (liability weights, borrow interest), above 0 a
 * deposit (tier ratios x asset weights, supply yield). Cutting [lo, hi] at those points gives
 * segments; one LP variable per segment, in valuation units (z = price x units), bounded by the
 * segment's length. Rows: C_init - h_i (R_init + s im) >= 0, the same for maint, the LTV buffer
 * C_init - L - beta CV >= 0 (optional), the cash delivered = s x cash (when cash is asked), the
 * budget (MAX_SIZE). The health rows' slopes fall from one segment to the next and the cost's
 * rise (checked; see validate_convex), so filling the segments of an asset in order is never
 * worse than any other filling with the same total: the LP optimum is the model's optimum.
 *
 * The solver: a revised bounded-variable simplex with Bland's rule (smallest index enters,
 * smallest index leaves among ties), two phases with one artificial per row. There are at most
 * 5 rows, so each iteration refactors the m x m basis by Gauss-Jordan with partial pivoting and
 * recomputes the basic values from the nonbasic bounds: no drift accumulates. The certificate is
 * the Lagrangian bound L(y) = y.b + sum_j min over [l_j, u_j] of d_j x_j, a lower bound on the
 * LP's optimum for any y; at the final basis it equals the primal objective (duality gap 0). */
#include "rates/rates_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Requirements at or below this, in the valuation asset, count as none in the result's health
 * ratios: the LP's feasibility tolerance is 1e-10 of its rows' scale, which is at least 1. */
#define OPT_NONE_REQUIRED 1e-10

#define MAX_ROWS 5
#define ROW_HI 0
#define ROW_HM 1
#define ROW_LTV 2
#define ROW_CASH 3
#define ROW_BUDGET 4

#define ST_LOWER 0
#define ST_UPPER 1
#define ST_BASIC 2

#define TEN_YEARS_S (10.0 * RISK_RATE_YEAR_S)
#define FB_SUB 32 /* chords per stretch between two kinks of the rate curve */
#define FB_GRID_MAX (2 + (RISK__RATE_KINKS_MAX + 1) * FB_SUB)
#define PTS_MAX (RISK__MAX_TIERS + 2 + FB_GRID_MAX)

/* ------------------------------------------------------------------ the model */

typedef struct cand {
    const risk__asset *a;
    uint32_t id, flags;
    double price, b, lo, hi;
    double rb, rs;       /* annual borrow and supply rates */
    double gb, gs;       /* growth - 1 over the horizon of a debt and of a deposit */
    double out_h, out_a; /* outside yield over the horizon (simple) and per year */
    /* utilisation feedback (RISK_OPTIMISE_UTILISATION, docs/rates.md 10.9): a debt d costs
     * C(d) = d x r_b(U(d)) a year, U(d) = (fb_dother + d + fb_ds) / fb_denom, interpolated
     * linearly between the grid points fb_d[] (ascending debts, 0 first) */
    uint32_t fb, fb_n;
    double fb_dother, fb_ds, fb_denom, fb_years;
    risk_rate_model fb_model;
    double fb_d[FB_GRID_MAX];
} cand;

typedef struct ctx {
    const risk_engine *e;
    const risk_account *acct;
    const risk_optimise_spec *sp;
    cand *c;
    size_t n;
    int has_cash, has_ltv;
    /* the account with every candidate's balance taken out */
    double base_cinit, base_cmaint, base_rinit, base_rmaint, base_cv, base_liab;
    double base_cost_h, base_cost_a;
} ctx;

/* Everything the plan is judged by, at given candidate balances and size. */
typedef struct totals {
    double cinit, cmaint, rinit, rmaint, cv, liab; /* account quantities, V, before the target */
    double cost_h, cost_a;                         /* V */
    double delivered;                              /* cash out through CASH candidates, V */
} totals;

/* The exact annual cost of a debt d >= 0 (asset units): d x r_b(U(d)). */
static double fb_exact(const cand *c, double d)
{
    double u = (c->fb_dother + d + c->fb_ds) / c->fb_denom;
    return d * risk__rates_borrow_at(&c->fb_model, u);
}

/* The model's annual cost of a debt d: the chord of fb_exact between the grid points around d. */
static double fb_cost(const cand *c, double d)
{
    if (c->fb_n == 0 || d <= c->fb_d[0])
        return fb_exact(c, d);
    for (uint32_t i = 1; i < c->fb_n; i++)
        if (d <= c->fb_d[i]) {
            double d0 = c->fb_d[i - 1], d1 = c->fb_d[i], c0 = fb_exact(c, d0), c1 = fb_exact(c, d1);
            return d == d1 ? c1 : c0 + (c1 - c0) * ((d - d0) / (d1 - d0));
        }
    return fb_exact(c, d);
}

/* The grid: the debts from the least to the most the plan may leave, cut at the curve's kinks,
 * each stretch in FB_SUB equal chords. */
static void fb_grid(cand *c)
{
    double dlo = c->hi < 0.0 ? -c->hi : 0.0, dhi = c->lo < 0.0 ? -c->lo : 0.0;
    c->fb_n = 0;
    if (!(dhi > dlo))
        return;
    double ku[RISK__RATE_KINKS_MAX], cuts[RISK__RATE_KINKS_MAX + 2];
    uint32_t nk = risk__rates_kinks(&c->fb_model, ku), nc = 0;
    cuts[nc++] = dlo;
    for (uint32_t i = 0; i < nk; i++) {
        double d = ku[i] * c->fb_denom - c->fb_dother - c->fb_ds;
        if (d > cuts[nc - 1] && d < dhi)
            cuts[nc++] = d;
    }
    cuts[nc++] = dhi;
    for (uint32_t i = 0; i + 1 < nc; i++)
        for (uint32_t j = 0; j < FB_SUB; j++)
            c->fb_d[c->fb_n++] = cuts[i] + (cuts[i + 1] - cuts[i]) * ((double)j / FB_SUB);
    c->fb_d[c->fb_n++] = dhi;
}

static void eval_plan(const ctx *x, const double *bal, totals *t)
{
    risk__basket_values v = {0, 0, 0, 0, 0, 0, 0, 0};
    double cost_h = x->base_cost_h, cost_a = x->base_cost_a, delivered = 0.0;
    for (size_t k = 0; k < x->n; k++) {
        const cand *c = &x->c[k];
        risk__basket_entry_add(c->a, bal[k], 1.0, &v);
        double g = bal[k] < 0.0 ? c->gb : c->gs, r = bal[k] < 0.0 ? c->rb : c->rs;
        double d = bal[k] - c->b;
        if (c->fb && bal[k] < 0.0) { /* the debt's cost with utilisation feedback, simple interest */
            double ca = fb_cost(c, -bal[k]);
            cost_h += ca * c->fb_years * c->price + d * c->out_h * c->price;
            cost_a += ca * c->price + d * c->out_a * c->price;
        } else {
            cost_h += -bal[k] * g * c->price + d * c->out_h * c->price;
            cost_a += -bal[k] * r * c->price + d * c->out_a * c->price;
        }
        if (c->flags & RISK_OPTIMISE_CASH)
            delivered += -d * c->price;
    }
    t->cinit = x->base_cinit + v.collateral_init;
    t->cmaint = x->base_cmaint + v.collateral_maint;
    t->rinit = x->base_rinit + v.liabilities_init;
    t->rmaint = x->base_rmaint + v.liabilities_maint;
    t->cv = x->base_cv + v.collateral_value;
    t->liab = x->base_liab + v.liabilities;
    t->cost_h = cost_h;
    t->cost_a = cost_a;
    t->delivered = delivered;
}

/* Row values (>= 0 when met; the cash row = 0 when met) at size s. */
static void rows_of(const ctx *x, const totals *t, double s, double row[MAX_ROWS])
{
    const risk_optimise_spec *sp = x->sp;
    row[ROW_HI] = t->cinit - sp->health_init_min * (t->rinit + s * sp->im_value);
    row[ROW_HM] = t->cmaint - sp->health_maint_min * (t->rmaint + s * sp->mm_value);
    row[ROW_LTV] = x->has_ltv ? t->cinit - t->liab - sp->ltv_buffer_min * t->cv : 0.0;
    row[ROW_CASH] = x->has_cash ? t->delivered - s * sp->cash_value : 0.0;
    row[ROW_BUDGET] = sp->mode == RISK_OPTIMISE_MAX_SIZE ? sp->budget_value - t->cost_h : 0.0;
}

/* Tier ratio of quantity q > 0 (1 without tiers, 0 above the last bound). */
static double tier_ratio(const risk__asset *a, double q)
{
    if (!a->tiers)
        return 1.0;
    for (uint32_t t = 0; t < a->n_tiers; t++)
        if (q <= a->tiers[t].up_to_qty)
            return a->tiers[t].ratio;
    return 0.0;
}

/* Per unit of value (z = price x units) on a segment whose midpoint is mid: the rows' slopes
 * (ROW_HI .. ROW_BUDGET; the budget row is the cost) and the cost's. */
static void seg_slopes(const ctx *x, const cand *c, double from, double to, double row[MAX_ROWS], double *cost)
{
    double mid = from + (to - from) / 2.0;
    const risk_optimise_spec *sp = x->sp;
    const risk__asset *a = c->a;
    if (mid < 0.0) { /* a debt shrinks as the balance rises */
        row[ROW_HI] = sp->health_init_min * a->liab_weight_init;
        row[ROW_HM] = sp->health_maint_min * a->liab_weight_maint;
        row[ROW_LTV] = 1.0;
        *cost = -c->gb + c->out_h;
        if (c->fb) /* the chord's slope: the debt falls from -from to -to */
            *cost = (fb_cost(c, -to) - fb_cost(c, -from)) / (to - from) * c->fb_years + c->out_h;
    } else {
        double r = tier_ratio(a, mid);
        row[ROW_HI] = a->weight_init * r;
        row[ROW_HM] = a->weight_maint * r;
        row[ROW_LTV] = r * (a->weight_init - (x->has_ltv ? sp->ltv_buffer_min : 0.0));
        *cost = -c->gs + c->out_h;
    }
    if (!x->has_ltv)
        row[ROW_LTV] = 0.0;
    row[ROW_CASH] = (c->flags & RISK_OPTIMISE_CASH) ? -1.0 : 0.0;
    row[ROW_BUDGET] = *cost;
}

/* The breakpoints of a candidate strictly inside (lo, hi), ascending: 0 and its finite tier
 * bounds. Returns how many were written to pts (room for n_tiers + 1). */
static uint32_t breakpoints(const cand *c, double *pts)
{
    uint32_t n = 0;
    for (uint32_t i = c->fb_n; i-- > 0;) { /* debts, largest first: balances ascending */
        double b = -c->fb_d[i];
        if (b > c->lo && b < c->hi && b < 0.0)
            pts[n++] = b;
    }
    if (c->lo < 0.0 && 0.0 < c->hi)
        pts[n++] = 0.0;
    const risk__asset *a = c->a;
    for (uint32_t t = 0; a->tiers && t < a->n_tiers; t++) {
        double q = a->tiers[t].up_to_qty;
        if (isfinite(q) && q > c->lo && q < c->hi && q > 0.0)
            pts[n++] = q;
    }
    return n;
}

/* ------------------------------------------------------------------ the simplex */

typedef struct lp {
    uint32_t m, n;       /* rows; columns: structural, then m slacks, then m artificials */
    double *A;           /* column-major, m x n */
    double *c, *l, *u, *x;
    unsigned char *st;
    double b[MAX_ROWS];
    uint32_t basis[MAX_ROWS];
    double Binv[MAX_ROWS * MAX_ROWS];
    double y[MAX_ROWS];
    uint32_t iterations;
} lp;

/* Inverts the basis matrix into Binv (Gauss-Jordan, partial pivoting). 0 when singular. */
static int lp_invert(lp *p)
{
    uint32_t m = p->m;
    double M[MAX_ROWS][2 * MAX_ROWS];
    for (uint32_t i = 0; i < m; i++)
        for (uint32_t k = 0; k < m; k++) {
            M[i][k] = p->A[(size_t)p->basis[k] * m + i];
            M[i][m + k] = i == k;
        }
    for (uint32_t col = 0; col < m; col++) {
        uint32_t piv = col;
        for (uint32_t i = col + 1; i < m; i++)
            if (fabs(M[i][col]) > fabs(M[piv][col]))
                piv = i;
        if (!(fabs(M[piv][col]) > 1e-13))
            return 0;
        if (piv != col)
            for (uint32_t k = 0; k < 2 * m; k++) {
                double t = M[col][k];
                M[col][k] = M[piv][k];
                M[piv][k] = t;
            }
        double inv = 1.0 / M[col][col];
        for (uint32_t k = 0; k < 2 * m; k++)
            M[col][k] *= inv;
        for (uint32_t i = 0; i < m; i++) {
            if (i == col || M[i][col] == 0.0)
                continue;
            double f = M[i][col];
            for (uint32_t k = 0; k < 2 * m; k++)
                M[i][k] -= f * M[col][k];
        }
    }
    for (uint32_t i = 0; i < m; i++)
        for (uint32_t k = 0; k < m; k++)
            p->Binv[i * m + k] = M[i][m + k];
    return 1;
}

/* Basic values from the nonbasic ones, and the duals y = B^-T c_B. */
static void lp_update(lp *p)
{
    uint32_t m = p->m;
    double r[MAX_ROWS];
    memcpy(r, p->b, sizeof r);
    for (uint32_t j = 0; j < p->n; j++) {
        if (p->st[j] == ST_BASIC || p->x[j] == 0.0)
            continue;
        for (uint32_t i = 0; i < m; i++)
            r[i] -= p->A[(size_t)j * m + i] * p->x[j];
    }
    for (uint32_t i = 0; i < m; i++) {
        double s = 0.0;
        for (uint32_t k = 0; k < m; k++)
            s += p->Binv[i * m + k] * r[k];
        p->x[p->basis[i]] = s;
    }
    for (uint32_t i = 0; i < m; i++) {
        double s = 0.0;
        for (uint32_t k = 0; k < m; k++)
            s += p->c[p->basis[k]] * p->Binv[k * m + i];
        p->y[i] = s;
    }
}

static double lp_reduced(const lp *p, uint32_t j)
{
    double d = p->c[j];
    for (uint32_t i = 0; i < p->m; i++)
        d -= p->y[i] * p->A[(size_t)j * p->m + i];
    return d;
}

#define LP_OPTIMAL 0
#define LP_SINGULAR 1
#define LP_UNBOUNDED 2
#define LP_ITERATIONS 3

/* Minimises c.x from the current basis (primal feasible). Bland's rule throughout. */
static int lp_run(lp *p, double dtol, uint32_t max_iter)
{
    uint32_t m = p->m;
    for (;;) {
        if (!lp_invert(p))
            return LP_SINGULAR;
        lp_update(p);
        uint32_t enter = UINT32_MAX;
        double dir = 0.0;
        for (uint32_t j = 0; j < p->n; j++) {
            if (p->st[j] == ST_BASIC || !(p->l[j] < p->u[j]))
                continue;
            double d = lp_reduced(p, j);
            if (p->st[j] == ST_LOWER && d < -dtol) {
                enter = j, dir = 1.0;
                break;
            }
            if (p->st[j] == ST_UPPER && d > dtol) {
                enter = j, dir = -1.0;
                break;
            }
        }
        if (enter == UINT32_MAX)
            return LP_OPTIMAL;
        if (p->iterations++ >= max_iter)
            return LP_ITERATIONS;
        double alpha[MAX_ROWS];
        for (uint32_t i = 0; i < m; i++) {
            double s = 0.0;
            for (uint32_t k = 0; k < m; k++)
                s += p->Binv[i * m + k] * p->A[(size_t)enter * m + k];
            alpha[i] = s;
        }
        double tmin = INFINITY; /* the first basic variable to reach a bound, Bland's smallest index on ties */
        uint32_t leave = UINT32_MAX;
        int leave_up = 0;
        for (uint32_t i = 0; i < m; i++) {
            double rate = -dir * alpha[i]; /* change of basic i per unit step */
            uint32_t bv = p->basis[i];
            double lim;
            int up;
            if (rate < -1e-11) {
                lim = (p->x[bv] - p->l[bv]) / -rate;
                up = 0;
            } else if (rate > 1e-11 && isfinite(p->u[bv])) {
                lim = (p->u[bv] - p->x[bv]) / rate;
                up = 1;
            } else {
                continue;
            }
            lim = lim > 0.0 ? lim : 0.0;
            double eps = isfinite(tmin) ? 1e-12 * (1.0 + tmin) : 0.0;
            if (lim < tmin - eps || (leave != UINT32_MAX && lim <= tmin + eps && bv < p->basis[leave])) {
                tmin = lim < tmin ? lim : tmin;
                leave = i;
                leave_up = up;
            }
        }
        double flip = p->u[enter] - p->l[enter]; /* INFINITY for a column without an upper bound */
        if (leave == UINT32_MAX || flip < tmin) {
            if (!isfinite(flip))
                return LP_UNBOUNDED;
            p->st[enter] = p->st[enter] == ST_LOWER ? ST_UPPER : ST_LOWER;
            p->x[enter] = p->st[enter] == ST_LOWER ? p->l[enter] : p->u[enter];
            continue;
        }
        uint32_t out = p->basis[leave];
        p->st[out] = leave_up ? ST_UPPER : ST_LOWER;
        p->x[out] = leave_up ? p->u[out] : p->l[out];
        p->basis[leave] = enter;
        p->st[enter] = ST_BASIC;
    }
}

/* Lagrangian lower bound y.b + sum_j min over [l_j, u_j] of d_j x_j (the constant left out),
 * and the largest reduced cost that an infinite bound makes unbounded (0 at an optimum). */
static double lp_dual_bound(const lp *p, double *infeas)
{
    double L = 0.0, bad = 0.0;
    for (uint32_t i = 0; i < p->m; i++)
        L += p->y[i] * p->b[i];
    for (uint32_t j = 0; j < p->n; j++) {
        if (p->st[j] == ST_BASIC)
            continue;
        double d = lp_reduced(p, j);
        double at = d >= 0.0 ? p->l[j] : p->u[j];
        if (!isfinite(at)) {
            bad = fabs(d) > bad ? fabs(d) : bad;
            continue;
        }
        L += d * at;
    }
    *infeas = bad;
    return L;
}

/* ------------------------------------------------------------------ the problem as an LP */

typedef struct build {
    lp p;
    uint32_t n_struct;   /* segment variables, then the size variable in MAX_SIZE */
    uint32_t *seg_cand;  /* candidate of each segment variable */
    uint32_t row_of[MAX_ROWS]; /* LP row of each model row, UINT32_MAX when absent */
    double row_sign[MAX_ROWS]; /* -1: >= row (slack subtracted), +1: <= row, 0: equality */
    double obj_scale, size_scale, obj_const;
} build;

/* Builds and solves. Fills bal[] (and *size) with the optimum; returns a RISK_ status or
 * RISK_OK with *feasible. */
static int solve(const ctx *x, double fixed_size, risk_optimise_result *res, double *bal, double *size, int *feasible,
                 void *mem, size_t n_seg_max)
{
    const risk_optimise_spec *sp = x->sp;
    int max_size = sp->mode == RISK_OPTIMISE_MAX_SIZE && !(fixed_size >= 0.0);
    build B;
    memset(&B, 0, sizeof B);
    lp *p = &B.p;
    /* rows present */
    uint32_t m = 0;
    for (uint32_t r = 0; r < MAX_ROWS; r++) {
        int on = r == ROW_HI || r == ROW_HM || (r == ROW_LTV && x->has_ltv) || (r == ROW_CASH && x->has_cash) ||
                 (r == ROW_BUDGET && max_size);
        B.row_of[r] = on ? m++ : UINT32_MAX;
        B.row_sign[r] = r == ROW_CASH ? 0.0 : (r == ROW_BUDGET ? 1.0 : -1.0);
    }
    p->m = m;
    /* memory: columns = segments (+ size) + m slacks + m artificials */
    uint32_t n_cols_max = (uint32_t)n_seg_max + 1 + 2 * m;
    char *q = mem;
    p->A = (double *)q, q += sizeof(double) * (size_t)n_cols_max * m;
    p->c = (double *)q, q += sizeof(double) * n_cols_max;
    p->l = (double *)q, q += sizeof(double) * n_cols_max;
    p->u = (double *)q, q += sizeof(double) * n_cols_max;
    p->x = (double *)q, q += sizeof(double) * n_cols_max;
    double *c2 = (double *)q;
    q += sizeof(double) * n_cols_max;
    B.seg_cand = (uint32_t *)q, q += sizeof(uint32_t) * n_cols_max;
    p->st = (unsigned char *)q;
    memset(p->A, 0, sizeof(double) * (size_t)n_cols_max * m);

    /* constants: every candidate at lo, size fixed (MIN_COST: 1) or 0 (MAX_SIZE's column) */
    double *lo = bal; /* bal doubles as scratch for the lower ends */
    for (size_t k = 0; k < x->n; k++)
        lo[k] = x->c[k].lo;
    totals t0;
    eval_plan(x, lo, &t0);
    double s0 = max_size ? 0.0 : (fixed_size >= 0.0 ? fixed_size : 1.0);
    double row0[MAX_ROWS];
    rows_of(x, &t0, s0, row0);
    /* each row: sum a_j z_j (+ slack) = -row0 (>= rows: sum a z - slack = -row0, slack >= 0);
     * the budget row: sum cost_j z_j + slack = row0[BUDGET] (its value is budget - cost) */
    for (uint32_t r = 0; r < MAX_ROWS; r++) {
        if (B.row_of[r] == UINT32_MAX)
            continue;
        p->b[B.row_of[r]] = r == ROW_BUDGET ? row0[r] : -row0[r];
    }
    double pts[PTS_MAX];
    uint32_t j = 0;
    double cmax = 0.0;
    for (size_t k = 0; k < x->n; k++) {
        const cand *c = &x->c[k];
        uint32_t nb = breakpoints(c, pts);
        double from = c->lo;
        for (uint32_t s = 0; s <= nb && c->lo < c->hi; s++) {
            double to = s < nb ? pts[s] : c->hi;
            if (!(to > from))
                continue;
            double slope[MAX_ROWS], cost;
            seg_slopes(x, c, from, to, slope, &cost);
            for (uint32_t r = 0; r < MAX_ROWS; r++)
                if (B.row_of[r] != UINT32_MAX)
                    p->A[(size_t)j * m + B.row_of[r]] = slope[r];
            c2[j] = max_size ? 0.0 : cost; /* MAX_SIZE: the cost is the budget row; the objective is -size */
            cmax = fabs(cost) > cmax ? fabs(cost) : cmax;
            p->l[j] = 0.0;
            p->u[j] = (to - from) * c->price;
            B.seg_cand[j] = (uint32_t)k;
            j++;
            from = to;
        }
    }
    uint32_t n_seg = j;
    if (max_size) { /* the size column, scaled so that its coefficients are O(floors) */
        double K = sp->im_value > sp->mm_value ? sp->im_value : sp->mm_value;
        K = sp->cash_value > K ? sp->cash_value : K;
        B.size_scale = K; /* s = sigma / K */
        p->A[(size_t)j * m + B.row_of[ROW_HI]] = -sp->health_init_min * sp->im_value / K;
        p->A[(size_t)j * m + B.row_of[ROW_HM]] = -sp->health_maint_min * sp->mm_value / K;
        if (x->has_cash)
            p->A[(size_t)j * m + B.row_of[ROW_CASH]] = -sp->cash_value / K;
        c2[j] = -1.0;
        p->l[j] = 0.0;
        p->u[j] = INFINITY;
        B.seg_cand[j] = UINT32_MAX;
        j++;
    }
    B.n_struct = j;
    /* the objective, scaled to O(1) */
    B.obj_scale = max_size ? 1.0 : (cmax > 0.0 ? cmax : 1.0);
    for (uint32_t k = 0; k < B.n_struct; k++)
        c2[k] = max_size ? c2[k] : c2[k] / B.obj_scale;
    /* the budget row in MAX_SIZE holds costs: the segment costs unscaled */
    /* slacks */
    for (uint32_t r = 0; r < MAX_ROWS; r++) {
        uint32_t i = B.row_of[r];
        if (i == UINT32_MAX)
            continue;
        p->A[(size_t)j * m + i] = B.row_sign[r] != 0.0 ? B.row_sign[r] : 1.0;
        p->l[j] = 0.0;
        p->u[j] = B.row_sign[r] != 0.0 ? INFINITY : 0.0;
        c2[j] = 0.0;
        B.seg_cand[j] = UINT32_MAX;
        j++;
    }
    /* artificials: the start basis, everything else at its lower bound (0) */
    uint32_t art0 = j;
    for (uint32_t i = 0; i < m; i++) {
        p->A[(size_t)j * m + i] = p->b[i] >= 0.0 ? 1.0 : -1.0;
        p->l[j] = 0.0;
        p->u[j] = INFINITY;
        c2[j] = 0.0;
        B.seg_cand[j] = UINT32_MAX;
        p->basis[i] = j;
        j++;
    }
    p->n = j;
    for (uint32_t k = 0; k < p->n; k++) {
        p->st[k] = k >= art0 ? ST_BASIC : ST_LOWER;
        p->x[k] = 0.0;
        p->c[k] = k >= art0 ? 1.0 : 0.0;
    }
    uint32_t max_iter = 100000u + 50u * p->n;
    /* phase 1 */
    int rc = lp_run(p, 1e-12, max_iter);
    if (rc != LP_OPTIMAL)
        return RISK_EINTERNAL;
    /* infeasible when the artificials cannot reach 0; the tolerance is rounding on the row sums */
    double infeas = 0.0, bscale = 1.0;
    for (uint32_t i = 0; i < m; i++) {
        infeas += p->x[p->basis[i]] * (p->basis[i] >= art0);
        bscale += fabs(p->b[i]);
    }
    for (uint32_t k = 0; k < art0; k++)
        for (uint32_t i = 0; i < m; i++)
            bscale += fabs(p->A[(size_t)k * m + i] * p->x[k]);
    res->iterations += p->iterations;
    if (infeas > 1e-10 * bscale) {
        *feasible = 0;
        return RISK_OK;
    }
    /* phase 2: artificials fixed at 0 */
    for (uint32_t k = art0; k < p->n; k++)
        p->u[k] = 0.0;
    for (uint32_t k = 0; k < p->n; k++)
        p->c[k] = k < art0 ? c2[k] : 0.0;
    p->iterations = 0;
    rc = lp_run(p, 1e-12, max_iter);
    res->iterations += p->iterations;
    if (rc != LP_OPTIMAL)
        return RISK_EINTERNAL;
    /* certificate */
    double primal = 0.0;
    for (uint32_t k = 0; k < p->n; k++)
        primal += p->c[k] * p->x[k];
    double bad = 0.0;
    double L = lp_dual_bound(p, &bad);
    double oscale = B.obj_scale;
    res->duality_gap = fabs(primal - L) * oscale;
    res->dual_infeasibility = bad;
    /* y_i: objective per unit of row i's right-hand side, which is the requirement of a health or
     * LTV row, the cash asked, the budget: MIN_COST, cost per unit more required (>= 0); MAX_SIZE,
     * minus the size (sigma / K) per unit more */
    double yr[MAX_ROWS];
    for (uint32_t r = 0; r < MAX_ROWS; r++)
        yr[r] = B.row_of[r] == UINT32_MAX ? 0.0 : p->y[B.row_of[r]] * oscale;
    double ys = max_size ? -1.0 / B.size_scale : 1.0;
    res->dual_health_init = yr[ROW_HI] * ys + 0.0; /* + 0.0: no -0 */
    res->dual_health_maint = yr[ROW_HM] * ys + 0.0;
    res->dual_ltv = yr[ROW_LTV] * ys + 0.0;
    res->dual_cash = yr[ROW_CASH] * ys + 0.0;
    res->dual_budget = yr[ROW_BUDGET] * ys + 0.0;
    /* the plan: each candidate's total, whatever the filling (the ordered filling is no worse) */
    for (size_t k = 0; k < x->n; k++)
        bal[k] = x->c[k].lo;
    for (uint32_t k = 0; k < n_seg; k++) {
        const cand *c = &x->c[B.seg_cand[k]];
        double z = p->x[k] < 0.0 ? 0.0 : (p->x[k] > p->u[k] ? p->u[k] : p->x[k]);
        bal[B.seg_cand[k]] += z / c->price;
    }
    for (size_t k = 0; k < x->n; k++) { /* exact ends when the segments are full or empty */
        const cand *c = &x->c[k];
        bal[k] = bal[k] > c->hi ? c->hi : bal[k];
    }
    *size = max_size ? (p->x[n_seg] > 0.0 ? p->x[n_seg] / B.size_scale : 0.0) : s0;
    *feasible = 1;
    return RISK_OK;
}

/* ------------------------------------------------------------------ validation */

static int check_spec(const ctx *x)
{
    const risk_optimise_spec *sp = x->sp;
    risk_account *a = (risk_account *)x->acct;
    const risk_engine *e = x->e;
    if (sp->mode != RISK_OPTIMISE_MIN_COST && sp->mode != RISK_OPTIMISE_MAX_SIZE)
        return risk__fail(e, &a->errmsg, RISK_EINVAL, "optimise: unknown mode %u", sp->mode);
    if (sp->flags & ~RISK_OPTIMISE_LTV_BUFFER)
        return risk__fail(e, &a->errmsg, RISK_EINVAL, "optimise: unknown flags 0x%x", sp->flags);
    int rc;
    if ((rc = risk__check_range(e, &a->errmsg, "optimise", "horizon_s", sp->horizon_s, 1.0, TEN_YEARS_S)) ||
        (rc = risk__check_range(e, &a->errmsg, "optimise", "health_init_min", sp->health_init_min, 1.0, 1e6)) ||
        (rc = risk__check_range(e, &a->errmsg, "optimise", "health_maint_min", sp->health_maint_min, 1.0, 1e6)) ||
        (rc = risk__check_range(e, &a->errmsg, "optimise", "im_value", sp->im_value, 0.0, 1e18)) ||
        (rc = risk__check_range(e, &a->errmsg, "optimise", "mm_value", sp->mm_value, 0.0, 1e18)) ||
        (rc = risk__check_range(e, &a->errmsg, "optimise", "cash_value", sp->cash_value, 0.0, 1e18)))
        return rc;
    /* a target below 1e-9 of the valuation asset would make the size of MAX_SIZE overflow */
    const double *target[3] = {&sp->im_value, &sp->mm_value, &sp->cash_value};
    static const char *const name[3] = {"im_value", "mm_value", "cash_value"};
    for (int k = 0; k < 3; k++)
        if (*target[k] != 0.0 && *target[k] < 1e-9)
            return risk__fail(e, &a->errmsg, RISK_EINVAL, "optimise: %s %s is neither 0 nor >= 1e-9", name[k],
                              RISK__NUM(*target[k]));
    if ((sp->flags & RISK_OPTIMISE_LTV_BUFFER) &&
        (rc = risk__check_range(e, &a->errmsg, "optimise", "ltv_buffer_min", sp->ltv_buffer_min, -1.0, 1.0)))
        return rc;
    if (sp->mode == RISK_OPTIMISE_MAX_SIZE) {
        if ((rc = risk__check_range(e, &a->errmsg, "optimise", "budget_value", sp->budget_value, -1e18, 1e18)))
            return rc;
        if (!(sp->im_value > 0.0 || sp->mm_value > 0.0 || sp->cash_value > 0.0))
            return risk__fail(e, &a->errmsg, RISK_EINVAL,
                              "optimise: MAX_SIZE needs a target: im_value, mm_value or cash_value > 0");
    }
    return RISK_OK;
}

static int check_asset(const ctx *x, const risk_optimise_asset *in, size_t k, unsigned char *seen)
{
    risk_account *a = (risk_account *)x->acct;
    const risk_engine *e = x->e;
    char who[48];
    if (in->version != RISK_OPTIMISE_ASSET_VERSION)
        return risk__fail(e, &a->errmsg, RISK_EVERSION, "optimise: candidate %zu: version %u is not %d", k,
                          in->version, RISK_OPTIMISE_ASSET_VERSION);
    if (in->asset >= e->n_assets)
        return risk__fail(e, &a->errmsg, RISK_ENOTFOUND, "optimise: candidate %zu: unknown asset %u", k, in->asset);
    const risk__asset *as = &e->assets[in->asset];
    snprintf(who, sizeof who, "optimise %s", as->symbol);
    if (seen[in->asset])
        return risk__fail(e, &a->errmsg, RISK_EINVAL, "%s: listed twice", who);
    seen[in->asset] = 1;
    if (in->flags & ~(RISK_OPTIMISE_CASH | RISK_OPTIMISE_RATES_GIVEN | RISK_OPTIMISE_UTILISATION))
        return risk__fail(e, &a->errmsg, RISK_EINVAL, "%s: unknown flags 0x%x", who, in->flags);
    if (!risk__price_in_domain(as->price))
        return risk__fail(e, &a->errmsg, RISK_ENOPRICE, "%s: no usable price", who);
    int rc;
    if ((rc = risk__check_range(e, &a->errmsg, who, "post_max", in->post_max, 0.0, INFINITY)) ||
        (rc = risk__check_range(e, &a->errmsg, who, "withdraw_max", in->withdraw_max, 0.0, INFINITY)) ||
        (rc = risk__check_range(e, &a->errmsg, who, "borrow_max", in->borrow_max, 0.0, INFINITY)) ||
        (rc = risk__check_amount(e, &a->errmsg, as, "post_max", in->post_max)) ||
        (rc = risk__check_amount(e, &a->errmsg, as, "withdraw_max", in->withdraw_max)) ||
        (rc = risk__check_amount(e, &a->errmsg, as, "borrow_max", in->borrow_max)) ||
        (rc = risk__check_range(e, &a->errmsg, who, "outside_annual", in->outside_annual, -10.0, 10.0)))
        return rc;
    if ((in->flags & RISK_OPTIMISE_UTILISATION) && ((in->flags & RISK_OPTIMISE_RATES_GIVEN) || !as->rates))
        return risk__fail(e, &a->errmsg, RISK_EINVAL,
                          "%s: utilisation feedback needs the engine's rate model and pool (not given rates)", who);
    if (in->flags & RISK_OPTIMISE_RATES_GIVEN) {
        if ((rc = risk__check_range(e, &a->errmsg, who, "borrow_annual", in->borrow_annual, 0.0, 10.0)) ||
            (rc = risk__check_range(e, &a->errmsg, who, "supply_annual", in->supply_annual, 0.0, in->borrow_annual)))
            return rc;
    }
    return RISK_OK;
}

/* The model must be convex for the LP to be exact (docs/rates.md 10.3): along each candidate's
 * segments the health and LTV slopes may not rise and the cost slope may not fall. */
static int validate_convex(const ctx *x, const cand *c)
{
    /* size-scaled weights curve between breakpoints: the segments' slopes would not be exact */
    if (c->a->size_scaled)
        return risk__fail(x->e, &((risk_account *)x->acct)->errmsg, RISK_EINVAL,
                          "optimise %s: size-scaled weights (risk_engine_set_asset_size_scaling) are not in the "
                          "optimiser's piecewise-linear model",
                          c->a->symbol);
    double pts[PTS_MAX];
    uint32_t nb = breakpoints(c, pts);
    double prev[MAX_ROWS], prev_cost = 0.0, from = c->lo;
    int have = 0;
    for (uint32_t s = 0; s <= nb && c->lo < c->hi; s++) {
        double to = s < nb ? pts[s] : c->hi;
        if (!(to > from))
            continue;
        double row[MAX_ROWS], cost;
        seg_slopes(x, c, from, to, row, &cost);
        if (have) {
            /* chords of a linear stretch of the feedback cost (a rate floor, a flat curve) have
             * slopes equal up to rounding: a fall of an ulp or so is that, not a concave cost */
            double noise = c->fb ? 1e-12 * fabs(prev_cost) : 0.0;
            if (cost < prev_cost - noise)
                return risk__fail(x->e, &((risk_account *)x->acct)->errmsg, RISK_EINVAL,
                                  "optimise %s: its supply yield over the horizon exceeds its borrow cost: the cost "
                                  "is not convex (a netted balance cannot hold both)",
                                  c->a->symbol);
            for (uint32_t r = ROW_HI; r <= ROW_LTV; r++)
                if (row[r] > prev[r])
                    return risk__fail(x->e, &((risk_account *)x->acct)->errmsg, RISK_EINVAL,
                                      "optimise %s: %s rises along its balance (an LTV buffer above its initial "
                                      "weight with value tiers): the constraint is not concave",
                                      c->a->symbol, r == ROW_LTV ? "the LTV buffer's slope" : "a health slope");
        }
        memcpy(prev, row, sizeof prev);
        prev_cost = cost;
        have = 1;
        from = to;
    }
    return RISK_OK;
}

/* ------------------------------------------------------------------ public API */

RISK_API int risk_account_optimise(const risk_account *account, const risk_optimise_spec *spec,
                                   const risk_optimise_asset *assets, size_t n_assets, risk_optimise_result *out,
                                   risk_optimise_move *moves_out)
{
    if (!account)
        return RISK_ENULL;
    risk_account *acc = (risk_account *)account;
    const risk_engine *e = account->engine;
    if (!spec || !out || (!assets && n_assets))
        return risk__fail(e, &acc->errmsg, RISK_ENULL, "optimise: %s is NULL",
                          !spec ? "spec" : (!out ? "out" : "assets"));
    if (spec->version != RISK_OPTIMISE_SPEC_VERSION)
        return risk__fail(e, &acc->errmsg, RISK_EVERSION, "optimise: spec version %u is not %d", spec->version,
                          RISK_OPTIMISE_SPEC_VERSION);
    if (out->version != RISK_OPTIMISE_RESULT_VERSION)
        return risk__fail(e, &acc->errmsg, RISK_EVERSION, "optimise: result version %u is not %d", out->version,
                          RISK_OPTIMISE_RESULT_VERSION);
    for (size_t k = 0; moves_out && k < n_assets; k++)
        if (moves_out[k].version != RISK_OPTIMISE_MOVE_VERSION)
            return risk__fail(e, &acc->errmsg, RISK_EVERSION, "optimise: move %zu version %u is not %d", k,
                              moves_out[k].version, RISK_OPTIMISE_MOVE_VERSION);
    if (n_assets > e->n_assets)
        return risk__fail(e, &acc->errmsg, RISK_EINVAL, "optimise: %zu candidates for %u assets", n_assets,
                          e->n_assets);
    ctx x;
    memset(&x, 0, sizeof x);
    x.e = e;
    x.acct = account;
    x.sp = spec;
    x.n = n_assets;
    int rc = check_spec(&x);
    if (rc)
        return rc;
    x.has_ltv = (spec->flags & RISK_OPTIMISE_LTV_BUFFER) != 0;
    x.has_cash = spec->cash_value > 0.0;

    /* one scratch block: candidates, seen marks, balances x 3, the LP */
    size_t n_seg_max = 0;
    for (size_t k = 0; k < n_assets; k++) {
        uint32_t id = assets[k].asset;
        n_seg_max += 2 + (id < e->n_assets && e->assets[id].tiers ? e->assets[id].n_tiers : 0) +
                     ((assets[k].flags & RISK_OPTIMISE_UTILISATION) ? FB_GRID_MAX : 0);
    }
    uint32_t m = 5, n_cols = (uint32_t)n_seg_max + 1 + 2 * m;
    size_t bytes = sizeof(cand) * (n_assets ? n_assets : 1) + e->n_assets + 8 + sizeof(double) * 3 * (n_assets + 1) +
                   sizeof(double) * ((size_t)n_cols * m + 6 * (size_t)n_cols) + sizeof(uint32_t) * n_cols + n_cols +
                   64;
    void *block = risk__malloc(e, bytes);
    if (!block)
        return risk__fail(e, &acc->errmsg, RISK_ENOMEM, "optimise: out of memory");
    memset(block, 0, bytes);
    x.c = block;
    double *bal = (double *)(x.c + (n_assets ? n_assets : 1));
    double *base_bal = bal + n_assets + 1;
    double *scratch = base_bal + n_assets + 1;
    unsigned char *seen = (unsigned char *)(scratch + n_assets + 1);
    void *lpmem = (void *)(((uintptr_t)(seen + e->n_assets) + 15u) & ~(uintptr_t)15u);

    for (size_t k = 0; k < n_assets && !rc; k++)
        rc = check_asset(&x, &assets[k], k, seen);
    int any_cash = 0;
    for (size_t k = 0; k < n_assets && !rc; k++) {
        const risk_optimise_asset *in = &assets[k];
        cand *c = &x.c[k];
        c->a = &e->assets[in->asset];
        c->id = in->asset;
        c->flags = in->flags;
        c->price = c->a->price;
        c->b = risk__basket_amount(&account->basket, in->asset);
        double lo = c->b - in->withdraw_max;
        c->lo = lo > -in->borrow_max ? lo : -in->borrow_max;
        c->hi = c->b + in->post_max;
        risk__rate_outlook o;
        risk__rates_outlook(c->a, spec->horizon_s, &o);
        double years = spec->horizon_s / RISK_RATE_YEAR_S;
        if (in->flags & RISK_OPTIMISE_RATES_GIVEN) {
            c->rb = in->borrow_annual, c->rs = in->supply_annual;
            c->gb = in->borrow_annual * years, c->gs = in->supply_annual * years;
        } else {
            c->rb = o.borrow_annual, c->rs = o.supply_annual, c->gb = o.borrow_m1, c->gs = o.supply_m1;
        }
        c->out_a = in->outside_annual;
        c->out_h = in->outside_annual * years;
        if (in->flags & RISK_OPTIMISE_UTILISATION) {
            risk__rates_state st;
            (void)risk__rates_state_get(c->a, &st); /* check_asset saw the model */
            double S = st.scaled_supply * c->a->index_pos, D = st.scaled_borrow * c->a->index_neg;
            double d0 = c->b < 0.0 ? -c->b : 0.0; /* the account's own debt, in D now */
            c->fb = 1;
            c->fb_model = st.model;
            c->fb_years = years;
            c->fb_dother = D - d0 > 0.0 ? D - d0 : 0.0;
            c->fb_ds = st.model.kind == RISK_RATE_MODEL_AAVE ? st.stable_borrow : 0.0;
            c->fb_denom = st.model.kind == RISK_RATE_MODEL_AAVE ? S + st.reserves : S;
            if (!(c->fb_denom > 0.0))
                rc = risk__fail(e, &acc->errmsg, RISK_EINVAL, "optimise %s: utilisation feedback needs a pool with "
                                "deposits", c->a->symbol);
            else {
                /* the debt cannot pass the pool's cash (U = 1), where d x r would stop being convex */
                double dmax = c->fb_denom - c->fb_dother - c->fb_ds;
                dmax = dmax > 0.0 ? dmax : 0.0;
                c->lo = c->lo > -dmax ? c->lo : -dmax;
                fb_grid(c);
            }
        }
        if (!(isfinite(c->gb) && isfinite(c->gs) && isfinite(c->rb) && isfinite(c->rs)))
            rc = risk__fail(e, &acc->errmsg, RISK_EINVAL, "optimise %s: its interest over the horizon is not finite",
                            c->a->symbol);
        any_cash |= (in->flags & RISK_OPTIMISE_CASH) != 0;
    }
    if (!rc && x.has_cash && !any_cash)
        rc = risk__fail(e, &acc->errmsg, RISK_EINVAL, "optimise: cash_value > 0 but no candidate has RISK_OPTIMISE_CASH");
    for (size_t k = 0; k < n_assets && !rc; k++)
        rc = validate_convex(&x, &x.c[k]);
    if (rc) {
        risk__free(e, block);
        return rc;
    }

    /* the account without its candidates' balances */
    risk__account_values v;
    risk__account_values_compute(account, &v);
    risk__basket_values bv = v.basket;
    for (size_t k = 0; k < n_assets; k++)
        risk__basket_entry_add(x.c[k].a, x.c[k].b, -1.0, &bv);
    x.base_cinit = bv.collateral_init + v.cross_upnl;
    x.base_cmaint = bv.collateral_maint + v.cross_upnl;
    x.base_rinit = bv.liabilities_init + v.cross_im;
    x.base_rmaint = bv.liabilities_maint + v.cross_mm;
    x.base_cv = bv.collateral_value;
    x.base_liab = bv.liabilities;
    for (uint32_t i = 0; i < account->basket.n; i++) {
        uint32_t id = account->basket.asset[i];
        if (seen[id])
            continue;
        const risk__asset *as = &e->assets[id];
        double b = risk__balance_of(as, account->basket.amount[i]);
        risk__rate_outlook o;
        risk__rates_outlook(as, spec->horizon_s, &o);
        x.base_cost_h += -b * (b < 0.0 ? o.borrow_m1 : o.supply_m1) * as->price;
        x.base_cost_a += -b * (b < 0.0 ? o.borrow_annual : o.supply_annual) * as->price;
    }

    risk_optimise_result res = RISK_OPTIMISE_RESULT_INIT;
    double size = 0.0;
    int feasible = 0;
    int infeasible_box = 0;
    for (size_t k = 0; k < n_assets; k++)
        infeasible_box |= !(x.c[k].lo <= x.c[k].hi);
    if (!infeasible_box)
        rc = solve(&x, -1.0, &res, bal, &size, &feasible, lpmem, n_seg_max);
    if (!rc && feasible && spec->mode == RISK_OPTIMISE_MAX_SIZE) {
        /* the cheapest plan at the largest size (the first solve only needs one within budget) */
        risk_optimise_result r2 = res;
        double s2 = 0.0;
        int f2 = 0;
        rc = solve(&x, size, &r2, scratch, &s2, &f2, lpmem, n_seg_max);
        if (!rc && f2) {
            totals ta, tb;
            eval_plan(&x, bal, &ta);
            eval_plan(&x, scratch, &tb);
            if (tb.cost_h <= ta.cost_h)
                memcpy(bal, scratch, sizeof(double) * n_assets);
            res.iterations = r2.iterations;
        }
    }
    if (rc) {
        risk__free(e, block);
        return risk__fail(e, &acc->errmsg, rc, "optimise: the simplex did not finish (a bug)");
    }

    /* baseline: no move but the cash, drawn from the CASH candidates in order */
    double need = spec->mode == RISK_OPTIMISE_MIN_COST ? spec->cash_value : 0.0;
    for (size_t k = 0; k < n_assets; k++) {
        const cand *c = &x.c[k];
        double b = c->b;
        if (need > 0.0 && (c->flags & RISK_OPTIMISE_CASH)) {
            double room = (c->b - c->lo) * c->price;
            double take = room < need ? room : need;
            take = take > 0.0 ? take : 0.0;
            b = c->b - take / c->price;
            need -= take;
        }
        base_bal[k] = b;
    }
    totals tb;
    eval_plan(&x, base_bal, &tb);
    double rb[MAX_ROWS];
    rows_of(&x, &tb, spec->mode == RISK_OPTIMISE_MIN_COST ? 1.0 : 0.0, rb);
    double tol = 1e-9 * (1.0 + fabs(tb.cinit) + fabs(tb.rinit) + fabs(tb.cmaint) + fabs(tb.rmaint));
    int base_ok = !infeasible_box && rb[ROW_HI] >= -tol && rb[ROW_HM] >= -tol && rb[ROW_LTV] >= -tol &&
                  need <= 1e-9 * (1.0 + spec->cash_value);
    for (size_t k = 0; k < n_assets; k++)
        base_ok &= base_bal[k] >= x.c[k].lo && base_bal[k] <= x.c[k].hi;
    res.baseline_feasible = (uint32_t)base_ok;
    res.baseline_cost_horizon = tb.cost_h;
    res.baseline_cost_annual = tb.cost_a;

    if (infeasible_box || !feasible) {
        res.outcome = RISK_OPTIMISE_INFEASIBLE;
        for (size_t k = 0; k < n_assets; k++)
            bal[k] = x.c[k].b;
        size = 0.0;
    } else {
        res.outcome = RISK_OPTIMISE_OPTIMAL;
    }
    totals t;
    eval_plan(&x, bal, &t);
    res.size = size;
    res.cost_horizon = t.cost_h;
    res.cost_annual = t.cost_a;
    res.saving_horizon = res.outcome == RISK_OPTIMISE_OPTIMAL && base_ok && spec->mode == RISK_OPTIMISE_MIN_COST
                             ? tb.cost_h - t.cost_h
                             : 0.0;
    double ri = t.rinit + size * spec->im_value, rm = t.rmaint + size * spec->mm_value;
    /* A requirement within the solver's absolute tolerance (OPT_NONE_REQUIRED) is none: the LP
     * takes its row as met whatever the collateral, so its health is INFINITY rather than the
     * ratio of two numbers of rounding size (a debt of 1e-309 V against no collateral read 0). */
    res.health_init = ri > OPT_NONE_REQUIRED ? t.cinit / ri : INFINITY;
    res.health_maint = rm > OPT_NONE_REQUIRED ? t.cmaint / rm : INFINITY;
    double num = t.cinit - t.liab;
    res.ltv_buffer = t.cv > 0.0 ? num / t.cv : (num == 0.0 ? 0.0 : copysign(INFINITY, num));
    if (moves_out) {
        for (size_t k = 0; k < n_assets; k++) {
            const cand *c = &x.c[k];
            risk_optimise_move *mv = &moves_out[k];
            double scale = risk__asset_scale(c->a);
            mv->asset = c->id;
            mv->balance_before = c->b;
            mv->balance_after = bal[k];
            mv->delta = bal[k] - c->b;
            double g = risk__quantize(mv->delta, scale, 1);
            if (c->b + g > c->hi)
                g = risk__quantize(mv->delta, scale, 0);
            mv->delta_grid = g;
            mv->borrowed = (bal[k] < 0.0 ? -bal[k] : 0.0) - (c->b < 0.0 ? -c->b : 0.0);
            int debt = bal[k] < 0.0;
            mv->rate_annual = debt ? c->rb : c->rs;
            mv->cost_annual_value = -bal[k] * mv->rate_annual * c->price;
            mv->cost_horizon_value = -bal[k] * (debt ? c->gb : c->gs) * c->price + mv->delta * c->out_h * c->price;
            if (debt && c->fb) { /* the feedback model's cost: its rate is C(d) / d */
                double ca = fb_cost(c, -bal[k]);
                mv->rate_annual = ca / -bal[k];
                mv->cost_annual_value = ca * c->price;
                mv->cost_horizon_value = ca * c->fb_years * c->price + mv->delta * c->out_h * c->price;
            }
        }
    }
    res.version = out->version;
    *out = res;
    risk__free(e, block);
    risk__clear(&acc->errmsg);
    return RISK_OK;
}
