/* SPDX-License-Identifier: Apache-2.0 */
/* test_properties.c: properties on random books with fixed seeds.
 *
 * - MM is continuous at every tier edge and non-decreasing in size (IM too), and equals the
 *   progressive (marginal-rate) sum of the schedule.
 * - At the unrounded liquidation price (prices of the underlying scaled by one factor on an
 *   unquantized engine) the cross pool C_maint - R_maint is 0 within 1e-9 of R_maint, and an
 *   isolated position's margin + upnl equals its MM; at the unrounded bankruptcy price the
 *   unweighted equity of the pool is 0. Cross positions on one underlying share the factor.
 * - Rounding is always against the account: on the tick grid, within one tick of the root, up
 *   when the pool loses as the price falls, down otherwise.
 * - risk_engine_evaluate_all gives bit-identical answers for 1, 2, 3 and 8 threads.
 * - At the edges of the input domain (docs/errors.md "Input domain": prices, sizes, balances
 *   and quantities at their largest and smallest) every summary and position result is finite
 *   (ratios documented as INFINITY aside, never NaN), and
 *   the next double beyond each edge is refused.
 * - Summary values are within 1e-12 (relative to the magnitude of their terms) of a __float128
 *   reference computed here from the definitions (unquantized engine; linear and inverse,
 *   MM at the mark and at the entry, cross and isolated, one-way and hedge, tiered collateral,
 *   weighted borrowing, a settle asset priced away from 1, a linear contract settled in
 *   another coin than its underlying).
 */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef __float128 q128;

#define SEED_BOOK 0x5EED0001ull
#define SEED_SCHEDULES 0x5EED0002ull
#define SEED_THREADS 0x5EED0003ull

static q128 q_abs(q128 x)
{
    return x < 0 ? -x : x;
}

/* ================================================================== random books */

#define P_MAX_TIERS 8
#define P_N_ASSETS 4
#define P_N_INST 6

typedef struct {
    uint32_t id;
    double wi, wm, lwi, lwm;
    risk_value_tier tiers[4];
    size_t n_tiers;
} passet;

typedef struct {
    uint32_t id, underlying, settle, inverse, mm_price;
    double cs, lot, tick;
    risk_margin_tier tiers[P_MAX_TIERS];
    size_t n_tiers;
} pinst;

typedef struct {
    tu_alloc a;
    risk_engine *e;
    passet assets[P_N_ASSETS];
    pinst inst[P_N_INST];
    risk_account **acc;
    size_t n_acc;
} pbook;

enum { A_USDT, A_USDC, A_BTC, A_ETH };

static void random_schedule(tu_rng *r, int coin, risk_margin_tier *t, size_t *n)
{
    static const double levs[] = {125.0, 100.0, 75.0, 50.0, 20.0};
    *n = (size_t)tu_rng_int(r, 1, 6);
    double cap = coin ? tu_rng_range(r, 0.5, 10.0) : tu_rng_range(r, 2e4, 5e5);
    double mmr = tu_rng_range(r, 0.002, 0.01);
    double lev = levs[tu_rng_int(r, 0, 4)];
    for (size_t k = 0; k < *n; k++) {
        t[k] = tu_tier(cap, mmr, lev);
        cap *= tu_rng_range(r, 1.5, 4.0);
        mmr = fmin(mmr * tu_rng_range(r, 1.1, 2.0), 0.45);
        lev = fmax(1.0, floor(lev / tu_rng_range(r, 1.2, 2.0)));
    }
}

static uint32_t add_asset_full(risk_engine *e, passet *pa, const char *sym, double price, uint32_t dec)
{
    risk_asset_spec s = RISK_ASSET_SPEC_INIT;
    s.symbol = sym;
    s.price = price;
    s.decimals = dec;
    s.weight_init = pa->wi;
    s.weight_maint = pa->wm;
    s.liab_weight_init = pa->lwi;
    s.liab_weight_maint = pa->lwm;
    s.value_tiers = pa->n_tiers ? pa->tiers : NULL;
    s.n_value_tiers = pa->n_tiers;
    tu_assert_status(risk_engine_add_asset(e, &s, &pa->id), RISK_OK);
    return pa->id;
}

static void add_inst(pbook *b, tu_rng *r, int k, const char *sym, int und, int settle, int inverse, uint32_t mm_price,
                     double cs, double lot, double tick, double mark, int coin_tiers)
{
    pinst *pi = &b->inst[k];
    pi->underlying = b->assets[und].id;
    pi->settle = b->assets[settle].id;
    pi->inverse = (uint32_t)inverse;
    pi->mm_price = mm_price;
    pi->cs = cs;
    pi->lot = lot;
    pi->tick = tick;
    random_schedule(r, coin_tiers, pi->tiers, &pi->n_tiers);
    risk_instrument_spec s = inverse ? tu_inverse_spec(sym, pi->underlying, cs, lot, tick, mark, pi->tiers, pi->n_tiers)
                                     : tu_linear_spec(sym, pi->underlying, pi->settle, cs, lot, tick, mark, pi->tiers,
                                                      pi->n_tiers);
    s.mm_price = mm_price;
    pi->id = tu_instrument(b->e, &s);
}

static double mark_of(const pbook *b, uint32_t inst)
{
    double m = 0;
    tu_assert_status(risk_engine_mark(b->e, inst, &m), RISK_OK);
    return m;
}

static double price_of(const pbook *b, uint32_t asset)
{
    double p = 0;
    tu_assert_status(risk_engine_asset_price(b->e, asset, &p), RISK_OK);
    return p;
}

/* Notional at the margin price, in the settle asset, computed as the definition says. */
static double margin_notional(const pinst *pi, double qty, double entry, double mark)
{
    double mp = pi->mm_price == RISK_MM_PRICE_ENTRY ? entry : mark;
    return pi->inverse ? fabs(qty) * pi->cs / mp : fabs(qty) * pi->cs * mp;
}

static int near_a_cap(const pinst *pi, double n)
{
    for (size_t k = 0; k + 1 < pi->n_tiers; k++)
        if (fabs(n - pi->tiers[k].notional_cap) <= 1e-9 * pi->tiers[k].notional_cap)
            return 1;
    return 0;
}

static void open_random(pbook *b, tu_rng *r, risk_account *acc, int k, uint32_t leg, uint32_t mode)
{
    const pinst *pi = &b->inst[k];
    double mark = mark_of(b, pi->id);
    for (int attempt = 0; attempt < 20; attempt++) {
        double usd = exp(tu_rng_range(r, log(1e3), log(3e6)));
        double qty;
        if (pi->inverse) {
            qty = fmax(1.0, floor(usd / pi->cs)) * pi->lot;
        } else {
            double ps = price_of(b, pi->settle);
            double lots = fmax(1.0, floor(usd / (pi->cs * mark * ps) / pi->lot));
            qty = lots * pi->lot;
        }
        double entry = mark * (1.0 + tu_rng_range(r, -0.05, 0.05));
        double n = margin_notional(pi, qty, entry, mark);
        if (near_a_cap(pi, n))
            continue;
        int isolated = mode == RISK_MARGIN_ISOLATED ||
                       (mode == RISK_MARGIN_DEFAULT && risk_account_margin_mode(acc) == RISK_MARGIN_ISOLATED);
        double margin = isolated ? n * tu_rng_range(r, 0.01, 0.3) : 0.0;
        if (leg == RISK_SIDE_BOTH && tu_rng_unit(r) < 0.5)
            qty = -qty;
        (void)tu_open(acc, pi->id, leg, mode, qty, entry, margin);
        return;
    }
}

/* Builds the same book for the same seed, whatever the flags. */
static void pbook_build(pbook *b, uint64_t seed, uint32_t flags, size_t n_acc)
{
    tu_rng r;
    tu_rng_seed(&r, seed);
    memset(b, 0, sizeof *b);
    tu_alloc_init(&b->a);
    b->e = tu_engine(&b->a, flags);

    passet *A = b->assets;
    A[A_USDT] = (passet){0, 1.0, 1.0, 1.0, 1.0, {{0, 0}}, 0};
    A[A_USDC] = (passet){0, 0.95, 0.98, 1.05, 1.02, {{0, 0}}, 0};
    A[A_BTC] = (passet){0, 0.9, 0.95, 1.1, 1.05, {{5.0, 1.0}, {20.0, 0.95}, {50.0, 0.9}}, 3};
    A[A_ETH] = (passet){0, 0.85, 0.9, 1.2, 1.1, {{0, 0}}, 0};
    add_asset_full(b->e, &A[A_USDT], "USDT", 1.0, 6);
    add_asset_full(b->e, &A[A_USDC], "USDC", 0.9995, 6);
    const double btc_px = tu_rng_range(&r, 40000.0, 70000.0);
    const double eth_px = tu_rng_range(&r, 2000.0, 4000.0);
    add_asset_full(b->e, &A[A_BTC], "BTC", btc_px, 8);
    add_asset_full(b->e, &A[A_ETH], "ETH", eth_px, 8);

    add_inst(b, &r, 0, "BTCUSDT", A_BTC, A_USDT, 0, RISK_MM_PRICE_MARK, 1.0, 0.001, 0.1,
             btc_px * (1.0 + tu_rng_range(&r, -0.02, 0.02)), 0);
    add_inst(b, &r, 1, "BTCUSDC", A_BTC, A_USDC, 0, RISK_MM_PRICE_ENTRY, 1.0, 0.001, 0.5,
             btc_px * (1.0 + tu_rng_range(&r, -0.02, 0.02)), 0);
    add_inst(b, &r, 2, "ETHUSDT", A_ETH, A_USDT, 0, RISK_MM_PRICE_MARK, 0.01, 1.0, 0.01,
             eth_px * (1.0 + tu_rng_range(&r, -0.02, 0.02)), 0);
    add_inst(b, &r, 3, "BTCUSD", A_BTC, A_BTC, 1, RISK_MM_PRICE_MARK, 100.0, 1.0, 0.5,
             btc_px * (1.0 + tu_rng_range(&r, -0.02, 0.02)), 1);
    add_inst(b, &r, 4, "ETHUSD", A_ETH, A_ETH, 1, RISK_MM_PRICE_ENTRY, 10.0, 1.0, 0.01,
             eth_px * (1.0 + tu_rng_range(&r, -0.02, 0.02)), 1);
    /* Linear, settled in another coin than its underlying: moves with ETH through its mark and
     * with BTC through its settle price. */
    add_inst(b, &r, 5, "ETHBTC", A_ETH, A_BTC, 0, RISK_MM_PRICE_MARK, 1.0, 0.01, 0.00001,
             eth_px / btc_px * (1.0 + tu_rng_range(&r, -0.02, 0.02)), 1);

    b->n_acc = n_acc;
    b->acc = test_calloc(n_acc, sizeof *b->acc);
    for (size_t i = 0; i < n_acc; i++) {
        uint32_t mm = tu_rng_unit(&r) < 0.7 ? RISK_MARGIN_CROSS : RISK_MARGIN_ISOLATED;
        uint32_t pm = tu_rng_unit(&r) < 0.6 ? RISK_POSITION_ONE_WAY : RISK_POSITION_HEDGE;
        risk_account *acc = tu_account(b->e, 1000 + i, mm, pm);
        b->acc[i] = acc;
        tu_balance(acc, A[A_USDT].id, exp(tu_rng_range(&r, log(1e2), log(2e6))));
        double u = tu_rng_unit(&r);
        if (u < 0.3)
            tu_balance(acc, A[A_BTC].id, -tu_rng_range(&r, 0.1, 3.0));
        else if (u < 0.8)
            tu_balance(acc, A[A_BTC].id, tu_rng_range(&r, 0.1, 80.0));
        u = tu_rng_unit(&r);
        if (u < 0.3)
            tu_balance(acc, A[A_ETH].id, -tu_rng_range(&r, 1.0, 20.0));
        else if (u < 0.6)
            tu_balance(acc, A[A_ETH].id, tu_rng_range(&r, 1.0, 50.0));
        u = tu_rng_unit(&r);
        if (u < 0.3)
            tu_balance(acc, A[A_USDC].id, -tu_rng_range(&r, 1e3, 1e5));
        else if (u < 0.6)
            tu_balance(acc, A[A_USDC].id, tu_rng_range(&r, 1e3, 1e5));
        for (int k = 0; k < P_N_INST; k++) {
            if (tu_rng_unit(&r) < 0.5)
                tu_leverage(acc, b->inst[k].id, (double)tu_rng_int(&r, 1, (int)b->inst[k].tiers[0].max_leverage));
            if (tu_rng_unit(&r) < 0.45)
                continue;
            uint32_t mode = RISK_MARGIN_DEFAULT;
            if (tu_rng_unit(&r) < 0.2)
                mode = mm == RISK_MARGIN_CROSS ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS;
            if (pm == RISK_POSITION_ONE_WAY) {
                open_random(b, &r, acc, k, RISK_SIDE_BOTH, mode);
            } else {
                int legs = tu_rng_int(&r, 1, 3); /* 1 long, 2 short, 3 both */
                if (legs & 1)
                    open_random(b, &r, acc, k, RISK_SIDE_LONG, mode);
                if (legs & 2)
                    open_random(b, &r, acc, k, RISK_SIDE_SHORT, mode);
            }
        }
    }
}

static void pbook_free(pbook *b)
{
    /* Free the engine first, then the accounts in a scrambled order. */
    risk_engine_free(b->e);
    for (size_t i = 0; i < b->n_acc; i += 2)
        risk_account_free(b->acc[i]);
    for (size_t i = 1; i < b->n_acc; i += 2)
        risk_account_free(b->acc[i]);
    test_free(b->acc);
    assert_int_equal(b->a.live_blocks, 0);
}

static const pinst *inst_info(const pbook *b, uint32_t id)
{
    for (int k = 0; k < P_N_INST; k++)
        if (b->inst[k].id == id)
            return &b->inst[k];
    fail_msg("unknown instrument %u", (unsigned)id);
    return NULL;
}

/* ================================================================== __float128 reference */

typedef struct {
    q128 v, s; /* value and the sum of the magnitudes of its terms */
} qv;

static void qv_add(qv *x, q128 term)
{
    x->v += term;
    x->s += q_abs(term);
}

typedef struct {
    qv equity, collateral_value, upnl, r_init, r_maint, c_init, c_maint, liab, iso, gross;
    int n_positions, n_iso_liq, has_positions;
    q128 min_iso_gap; /* smallest |m + upnl - MM| / MM over isolated positions */
} ref_summary;

static q128 tiered_qty(const passet *pa, q128 b)
{
    if (pa->n_tiers == 0)
        return b;
    q128 prev = 0, out = 0;
    for (size_t k = 0; k < pa->n_tiers; k++) {
        q128 up = (q128)pa->tiers[k].up_to_qty;
        if (b <= prev)
            break;
        q128 in = (b < up ? b : up) - prev;
        out += in * (q128)pa->tiers[k].ratio;
        prev = up;
    }
    return out; /* above the last bound: 0 */
}

static void ref_tier(const pinst *pi, q128 n, size_t *t_out, q128 *cum_out)
{
    q128 cum = 0;
    size_t t = 0;
    for (size_t k = 0;; k++) {
        if (k > 0)
            cum += (q128)pi->tiers[k - 1].notional_cap * ((q128)pi->tiers[k].mmr - (q128)pi->tiers[k - 1].mmr);
        t = k;
        if (k + 1 == pi->n_tiers || n <= (q128)pi->tiers[k].notional_cap)
            break;
    }
    *t_out = t;
    *cum_out = cum;
}

static void reference(const pbook *b, risk_account *acc, ref_summary *o)
{
    memset(o, 0, sizeof *o);
    o->min_iso_gap = 1e30;
    risk_basket *bk = risk_account_basket(acc);
    for (int k = 0; k < P_N_ASSETS; k++) {
        const passet *pa = &b->assets[k];
        double bal = 0;
        tu_assert_status(risk_basket_balance(bk, pa->id, &bal), RISK_OK);
        if (bal == 0)
            continue;
        q128 p = (q128)price_of(b, pa->id), q = (q128)bal;
        qv_add(&o->equity, q * p);
        if (bal > 0) {
            q128 v = p * tiered_qty(pa, q);
            qv_add(&o->collateral_value, v);
            qv_add(&o->c_init, v * (q128)pa->wi);
            qv_add(&o->c_maint, v * (q128)pa->wm);
        } else {
            q128 l = -q * p;
            qv_add(&o->liab, l);
            qv_add(&o->r_init, l * (q128)pa->lwi);
            qv_add(&o->r_maint, l * (q128)pa->lwm);
        }
    }
    size_t n = risk_account_position_count(acc);
    o->n_positions = (int)n;
    o->has_positions = n > 0;
    for (size_t i = 0; i < n; i++) {
        risk_position *pos = NULL;
        tu_assert_status(risk_account_position_at(acc, i, &pos), RISK_OK);
        const pinst *pi = inst_info(b, risk_position_instrument(pos));
        q128 qty = (q128)risk_position_qty(pos), e = (q128)risk_position_entry(pos);
        q128 m = (q128)mark_of(b, pi->id);
        q128 mp = pi->mm_price == RISK_MM_PRICE_ENTRY ? e : m;
        q128 cs = (q128)pi->cs, aq = q_abs(qty);
        q128 n_mark, n_mp, upnl;
        if (pi->inverse) {
            n_mark = aq * cs / m;
            n_mp = aq * cs / mp;
            upnl = qty * cs * (1 / e - 1 / m);
        } else {
            n_mark = aq * cs * m;
            n_mp = aq * cs * mp;
            upnl = qty * cs * (m - e);
        }
        size_t t;
        q128 cum;
        ref_tier(pi, n_mp, &t, &cum);
        q128 mm = n_mp * (q128)pi->tiers[t].mmr - cum;
        double ul = 0;
        tu_assert_status(risk_account_leverage(acc, pi->id, &ul), RISK_OK);
        q128 lev = (q128)pi->tiers[t].max_leverage;
        if (ul > 0 && (q128)ul < lev)
            lev = (q128)ul;
        q128 im = n_mp / lev;
        q128 ps = (q128)price_of(b, pi->settle);
        qv_add(&o->upnl, upnl * ps);
        qv_add(&o->equity, upnl * ps);
        qv_add(&o->gross, n_mark * ps);
        if (risk_position_margin_mode(pos) == RISK_MARGIN_CROSS) {
            qv_add(&o->c_init, upnl * ps);
            qv_add(&o->c_maint, upnl * ps);
            qv_add(&o->r_init, im * ps);
            qv_add(&o->r_maint, mm * ps);
        } else {
            q128 margin = (q128)risk_position_isolated_margin(pos);
            qv_add(&o->iso, margin * ps);
            qv_add(&o->equity, margin * ps);
            if (margin + upnl < mm)
                o->n_iso_liq++;
            q128 gap = q_abs(margin + upnl - mm) / mm;
            if (gap < o->min_iso_gap)
                o->min_iso_gap = gap;
        }
    }
}

/* |got - ref| <= rel x scale, the scale being at least |ref|. */
static void check_q(double got, q128 ref, q128 scale, double rel, const char *what, uint64_t id)
{
    if (scale < q_abs(ref))
        scale = q_abs(ref);
    q128 diff = q_abs((q128)got - ref);
    if (!(diff <= (q128)rel * scale)) {
        print_error("account %llu %s: got %.17g, reference %.17g (diff %.3g, scale %.3g)\n", (unsigned long long)id,
                    what, got, (double)ref, (double)diff, (double)scale);
        fail();
    }
}

/* A ratio num/den against its reference, tolerance propagated from the terms' magnitudes. */
static void check_ratio(double got, qv num, qv den, double rel, const char *what, uint64_t id)
{
    q128 r = num.v / den.v;
    q128 tol = q_abs(r) * (q128)rel * (q_abs(num.s / num.v) + q_abs(den.s / den.v) + 1);
    q128 diff = q_abs((q128)got - r);
    if (!(diff <= tol)) {
        print_error("account %llu %s: got %.17g, reference %.17g (diff %.3g, tolerance %.3g)\n",
                    (unsigned long long)id, what, got, (double)r, (double)diff, (double)tol);
        fail();
    }
}

static void test_properties_summary_matches_float128_reference(void **state)
{
    (void)state;
    pbook b;
    pbook_build(&b, SEED_BOOK, RISK_ENGINE_NO_QUANTIZE, 400);
    const double rel = 1e-12;
    int per_state[4] = {0, 0, 0, 0};
    int states_checked = 0, n_inverse = 0, n_iso = 0, n_borrow = 0, n_tiered = 0;
    for (size_t i = 0; i < b.n_acc; i++) {
        risk_account *acc = b.acc[i];
        uint64_t id = risk_account_id(acc);
        ref_summary R;
        reference(&b, acc, &R);
        risk_account_summary s = tu_eval(acc);
        assert_int_equal(s.n_positions, (uint32_t)R.n_positions);
        check_q(s.equity, R.equity.v, R.equity.s, rel, "equity", id);
        check_q(s.collateral_value, R.collateral_value.v, R.collateral_value.s, rel, "collateral_value", id);
        check_q(s.unrealized_pnl, R.upnl.v, R.upnl.s, rel, "unrealized_pnl", id);
        check_q(s.initial_margin, R.r_init.v, R.r_init.s, rel, "initial_margin", id);
        check_q(s.maintenance_margin, R.r_maint.v, R.r_maint.s, rel, "maintenance_margin", id);
        check_q(s.collateral_init, R.c_init.v, R.c_init.s, rel, "collateral_init", id);
        check_q(s.collateral_maint, R.c_maint.v, R.c_maint.s, rel, "collateral_maint", id);
        check_q(s.liabilities, R.liab.v, R.liab.s, rel, "liabilities", id);
        check_q(s.isolated_margin, R.iso.v, R.iso.s, rel, "isolated_margin", id);
        check_q(s.available, R.c_init.v - R.r_init.v, R.c_init.s + R.r_init.s, rel, "available", id);
        if (R.r_maint.v > 0) {
            check_ratio(s.health_factor, R.c_maint, R.r_maint, rel, "health_factor", id);
            if (R.c_maint.v > 0)
                check_ratio(s.margin_ratio, R.r_maint, R.c_maint, rel, "margin_ratio", id);
            else
                assert_true(isinf(s.margin_ratio) && s.margin_ratio > 0);
        } else {
            assert_true(isinf(s.health_factor) && s.health_factor > 0);
        }
        if (R.liab.v > 0) {
            check_ratio(s.ltv, R.liab, R.collateral_value, rel, "ltv", id);
            n_borrow++;
        } else {
            tu_assert_bits(s.ltv, 0.0);
        }
        qv buf = {R.c_init.v - R.liab.v, R.c_init.s + R.liab.s};
        check_ratio(s.ltv_buffer, buf, R.collateral_value, rel, "ltv_buffer", id);
        if (R.has_positions) {
            if (R.equity.v > 0)
                check_ratio(s.leverage, R.gross, R.equity, rel, "leverage", id);
            else
                assert_true(isinf(s.leverage));
        } else {
            tu_assert_bits(s.leverage, 0.0);
        }
        /* The state, away from its boundaries. */
        q128 hf = R.r_maint.v > 0 ? R.c_maint.v / R.r_maint.v : (q128)1e30;
        int near = q_abs(hf - 1) < 1e-9 || q_abs(hf - (q128)1.2) < 1e-9 || q_abs(R.equity.v) <= 1e-9 * R.equity.s ||
                   R.min_iso_gap < 1e-9;
        if (!near) {
            uint32_t want;
            if (R.equity.v <= 0 && (R.has_positions || R.liab.v > 0))
                want = RISK_STATE_BANKRUPT;
            else if (hf < 1 || R.n_iso_liq > 0)
                want = RISK_STATE_LIQUIDATABLE;
            else if (hf < (q128)1.2)
                want = RISK_STATE_MARGIN_CALL;
            else
                want = RISK_STATE_HEALTHY;
            if (s.state != want)
                print_error("account %llu: state %u, want %u\n", (unsigned long long)id, s.state, want);
            assert_int_equal(s.state, want);
            assert_int_equal(s.n_isolated_liquidatable, (uint32_t)R.n_iso_liq);
            states_checked++;
            per_state[want]++;
        }
        /* Coverage of the book. */
        risk_position_result res[TU_MAX_POS];
        size_t np = tu_results(acc, res, TU_MAX_POS);
        for (size_t k = 0; k < np; k++) {
            n_inverse += inst_info(&b, res[k].instrument)->inverse != 0;
            n_iso += res[k].margin_mode == RISK_MARGIN_ISOLATED;
        }
        double btc = 0;
        tu_assert_status(risk_basket_balance(risk_account_basket(acc), b.assets[A_BTC].id, &btc), RISK_OK);
        n_tiered += btc > 5.0;
    }
    assert_true(states_checked > 350);
    /* Every state occurs. */
    for (int k = 0; k < 4; k++)
        if (per_state[k] < 1)
            print_error("state %d: %d accounts\n", k, per_state[k]);
    for (int k = 0; k < 4; k++)
        assert_true(per_state[k] >= 1);
    assert_true(n_inverse > 50 && n_iso > 50 && n_borrow > 50 && n_tiered > 50);
    pbook_free(&b);
}

/* ================================================================== margin schedules */

static q128 progressive_mm(const risk_margin_tier *t, size_t n, q128 notional)
{
    q128 mm = 0, lo = 0;
    for (size_t k = 0; k < n; k++) {
        q128 hi = k + 1 == n ? (q128)1e300 : (q128)t[k].notional_cap;
        if (notional > lo) {
            q128 top = notional < hi ? notional : hi;
            mm += (top - lo) * (q128)t[k].mmr;
        }
        lo = hi;
    }
    return mm;
}

static void test_properties_mm_continuous_and_monotone(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_seed(&r, SEED_SCHEDULES);
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, RISK_ENGINE_NO_QUANTIZE);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    uint32_t btc = tu_asset(e, "BTC", 50000.0, 8);
    char sym[16];
    int edges = 0;
    for (int s = 0; s < 200; s++) {
        risk_margin_tier t[P_MAX_TIERS];
        size_t n;
        random_schedule(&r, s % 3 == 0, t, &n);
        snprintf(sym, sizeof sym, "S%d", s);
        uint32_t inst = tu_linear(e, sym, btc, usdt, 1.0, 0.001, 0.1, 50000.0, t, n);
        double user_lev = s % 2 ? 0.0 : (double)tu_rng_int(&r, 1, (int)t[0].max_leverage);

        /* Continuity at every tier edge. */
        for (size_t k = 0; k + 1 < n; k++) {
            double cap = t[k].notional_cap;
            double lo_mm, hi_mm, at_mm;
            tu_assert_status(risk_engine_instrument_margin(e, inst, cap * (1 - 1e-12), user_lev, NULL, &lo_mm, NULL),
                             RISK_OK);
            tu_assert_status(risk_engine_instrument_margin(e, inst, cap * (1 + 1e-12), user_lev, NULL, &hi_mm, NULL),
                             RISK_OK);
            tu_assert_status(risk_engine_instrument_margin(e, inst, cap, user_lev, NULL, &at_mm, NULL), RISK_OK);
            if (fabs(hi_mm - lo_mm) > 1e-9 * at_mm)
                print_error("schedule %d edge %zu: MM %.17g below, %.17g above\n", s, k, lo_mm, hi_mm);
            assert_true(fabs(hi_mm - lo_mm) <= 1e-9 * at_mm);
            assert_true(hi_mm >= lo_mm * (1 - 1e-12));
            edges++;
        }
        /* Non-decreasing in size, and equal to the progressive sum of marginal rates. */
        double top = t[n > 1 ? n - 2 : 0].notional_cap * 3.0;
        double prev_mm = -1, prev_im = -1;
        for (int i = 0; i <= 400; i++) {
            double notional = top * i / 400.0;
            double im, mm;
            uint32_t tier;
            tu_assert_status(risk_engine_instrument_margin(e, inst, notional, user_lev, &im, &mm, &tier), RISK_OK);
            assert_true(tier < n);
            assert_true(mm >= prev_mm * (1 - 1e-12));
            assert_true(im >= prev_im * (1 - 1e-12));
            q128 ref = progressive_mm(t, n, (q128)notional);
            check_q(mm, ref, ref, 1e-12, "MM", (uint64_t)s);
            prev_mm = mm;
            prev_im = im;
        }
    }
    assert_true(edges > 300);
    risk_engine_free(e);
}

/* ================================================================== liquidation prices */

/* Scales every price of the underlying by f (all its instruments' marks and the asset). */
typedef struct {
    double marks[P_N_INST];
    double prices[P_N_ASSETS];
} base_prices;

static void save_prices(const pbook *b, base_prices *bp)
{
    for (int k = 0; k < P_N_INST; k++)
        bp->marks[k] = mark_of(b, b->inst[k].id);
    for (int k = 0; k < P_N_ASSETS; k++)
        bp->prices[k] = price_of(b, b->assets[k].id);
}

static void scale_underlying(pbook *b, const base_prices *bp, uint32_t underlying, double f)
{
    for (int k = 0; k < P_N_INST; k++)
        if (b->inst[k].underlying == underlying)
            tu_mark(b->e, b->inst[k].id, bp->marks[k] * f);
    for (int k = 0; k < P_N_ASSETS; k++)
        if (b->assets[k].id == underlying)
            tu_price(b->e, underlying, bp->prices[k] * f);
}

static void restore_prices(pbook *b, const base_prices *bp)
{
    for (int k = 0; k < P_N_INST; k++)
        tu_mark(b->e, b->inst[k].id, bp->marks[k]);
    for (int k = 0; k < P_N_ASSETS; k++)
        tu_price(b->e, b->assets[k].id, bp->prices[k]);
}

enum { POOL_LP, POOL_BP };

/* The pool of position k at the current prices, with its scale: cross LP C_maint - R_maint
 * (scale R_maint), cross BP the unweighted cross equity, isolated LP margin + upnl - MM (scale
 * MM), isolated BP margin + upnl. */
static double pool_now(const pbook *b, risk_account *acc, size_t k, int which, double *scale)
{
    risk_position_result res[TU_MAX_POS];
    size_t n = tu_results(acc, res, TU_MAX_POS);
    assert_true(k < n);
    const risk_position_result *r = &res[k];
    if (r->margin_mode == RISK_MARGIN_ISOLATED) {
        if (which == POOL_LP) {
            *scale = r->maintenance_margin;
            return r->isolated_margin + r->unrealized_pnl - r->maintenance_margin;
        }
        *scale = r->isolated_margin + r->notional;
        return r->isolated_margin + r->unrealized_pnl;
    }
    risk_account_summary s = tu_eval(acc);
    if (which == POOL_LP) {
        *scale = s.maintenance_margin;
        return s.collateral_maint - s.maintenance_margin;
    }
    /* Cross unweighted equity: equity without the isolated positions' margins and PnL. */
    double eq = s.equity - s.isolated_margin, sc = s.collateral_value + s.liabilities;
    for (size_t i = 0; i < n; i++) {
        double ps = price_of(b, inst_info(b, res[i].instrument)->settle);
        if (res[i].margin_mode == RISK_MARGIN_ISOLATED)
            eq -= res[i].unrealized_pnl * ps;
        else
            sc += res[i].notional * ps;
    }
    *scale = sc;
    return eq;
}

typedef struct {
    int lp_checked, bp_checked, lp_iso, lp_cross, shared_checked, dir_up, dir_down;
} lp_stats;

/* Direction of a root: +1 when the pool rises with the factor (net long: round up), -1 when it
 * falls (round down), 0 when undecided. */
static int root_direction(pbook *b, const base_prices *bp, risk_account *acc, size_t k, uint32_t und, double f,
                          int which)
{
    double sc;
    scale_underlying(b, bp, und, f * (1 + 1e-7));
    double up = pool_now(b, acc, k, which, &sc);
    scale_underlying(b, bp, und, f * (1 - 1e-7));
    double down = pool_now(b, acc, k, which, &sc);
    restore_prices(b, bp);
    if (up > down && up > 0 && down < 0)
        return 1;
    if (up < down && up < 0 && down > 0)
        return -1;
    return 0;
}

/* Directions found on the unquantized book, per account and position (for the rounding test). */
typedef struct {
    signed char lp[TU_MAX_POS], bp[TU_MAX_POS];
} dirs;

static void check_liquidation_roots(pbook *b, dirs *d, lp_stats *st)
{
    base_prices bp;
    save_prices(b, &bp);
    for (size_t i = 0; i < b->n_acc; i++) {
        risk_account *acc = b->acc[i];
        uint64_t id = risk_account_id(acc);
        risk_position_result res[TU_MAX_POS];
        size_t n = tu_results(acc, res, TU_MAX_POS);
        memset(&d[i], 0, sizeof d[i]);
        for (size_t k = 0; k < n; k++) {
            const pinst *pi = inst_info(b, res[k].instrument);
            const double mark = res[k].mark;
            for (int which = POOL_LP; which <= POOL_BP; which++) {
                uint32_t flag = which == POOL_LP ? RISK_RESULT_HAS_LIQUIDATION_PRICE : RISK_RESULT_HAS_BANKRUPTCY_PRICE;
                double raw = which == POOL_LP ? res[k].liquidation_price_raw : res[k].bankruptcy_price_raw;
                if (!(res[k].flags & flag)) {
                    assert_true(isnan(raw));
                    continue;
                }
                assert_true(isfinite(raw) && raw > 0);
                double f = raw / mark;
                scale_underlying(b, &bp, pi->underlying, f);
                double scale;
                double pool = pool_now(b, acc, k, which, &scale);
                restore_prices(b, &bp);
                if (!(fabs(pool) <= 1e-9 * scale)) {
                    print_error("account %llu position %zu (%s, %s): pool %.17g at the %s %.17g (mark %.17g, "
                                "scale %.17g)\n",
                                (unsigned long long)id, k,
                                res[k].margin_mode == RISK_MARGIN_CROSS ? "cross" : "isolated",
                                pi->inverse ? "inverse" : "linear", pool, which == POOL_LP ? "LP" : "BP", raw, mark,
                                scale);
                    fail();
                }
                int dir = root_direction(b, &bp, acc, k, pi->underlying, f, which);
                if (which == POOL_LP) {
                    d[i].lp[k] = (signed char)dir;
                    st->lp_checked++;
                    if (res[k].margin_mode == RISK_MARGIN_ISOLATED)
                        st->lp_iso++;
                    else
                        st->lp_cross++;
                    st->dir_up += dir > 0;
                    st->dir_down += dir < 0;
                } else {
                    d[i].bp[k] = (signed char)dir;
                    st->bp_checked++;
                }
                /* An isolated position's direction is its side. */
                if (res[k].margin_mode == RISK_MARGIN_ISOLATED && dir != 0)
                    assert_int_equal(dir, res[k].qty > 0 ? 1 : -1);
            }
            /* Cross positions on one underlying share the factor. */
            if (res[k].margin_mode == RISK_MARGIN_CROSS && (res[k].flags & RISK_RESULT_HAS_LIQUIDATION_PRICE)) {
                for (size_t j = 0; j < k; j++) {
                    if (res[j].margin_mode != RISK_MARGIN_CROSS ||
                        inst_info(b, res[j].instrument)->underlying != pi->underlying)
                        continue;
                    assert_true(res[j].flags & RISK_RESULT_HAS_LIQUIDATION_PRICE);
                    tu_assert_rel(res[j].liquidation_price_raw / res[j].mark,
                                  res[k].liquidation_price_raw / res[k].mark, 1e-12);
                    st->shared_checked++;
                }
            }
        }
    }
}

static void test_properties_pool_is_zero_at_the_unrounded_roots(void **state)
{
    (void)state;
    pbook b;
    pbook_build(&b, SEED_BOOK, RISK_ENGINE_NO_QUANTIZE, 400);
    dirs *d = test_calloc(b.n_acc, sizeof *d);
    lp_stats st;
    memset(&st, 0, sizeof st);
    check_liquidation_roots(&b, d, &st);
    assert_true(st.lp_iso > 50);
    assert_true(st.lp_cross > 50);
    assert_true(st.bp_checked > 100);
    assert_true(st.shared_checked > 20);
    assert_true(st.dir_up > 20 && st.dir_down > 20);
    test_free(d);
    pbook_free(&b);
}

/* Rounding against the account, on the quantized engine, directions from the unquantized one. */
static void test_properties_rounding_against_the_account(void **state)
{
    (void)state;
    pbook x, q;
    pbook_build(&x, SEED_BOOK, RISK_ENGINE_NO_QUANTIZE, 400);
    pbook_build(&q, SEED_BOOK, 0, 400);
    dirs *d = test_calloc(x.n_acc, sizeof *d);
    lp_stats st;
    memset(&st, 0, sizeof st);
    check_liquidation_roots(&x, d, &st);
    int checked = 0;
    for (size_t i = 0; i < q.n_acc; i++) {
        risk_position_result res[TU_MAX_POS];
        size_t n = tu_results(q.acc[i], res, TU_MAX_POS);
        for (size_t k = 0; k < n; k++) {
            const pinst *pi = inst_info(&q, res[k].instrument);
            for (int which = POOL_LP; which <= POOL_BP; which++) {
                uint32_t flag = which == POOL_LP ? RISK_RESULT_HAS_LIQUIDATION_PRICE : RISK_RESULT_HAS_BANKRUPTCY_PRICE;
                if (!(res[k].flags & flag))
                    continue;
                double raw = which == POOL_LP ? res[k].liquidation_price_raw : res[k].bankruptcy_price_raw;
                double rounded = which == POOL_LP ? res[k].liquidation_price : res[k].bankruptcy_price;
                int dir = which == POOL_LP ? d[i].lp[k] : d[i].bp[k];
                assert_true(isfinite(rounded));
                /* On the tick grid. */
                double ticks = rounded / pi->tick;
                if (fabs(ticks - nearbyint(ticks)) > 1e-6 * fmax(1.0, fabs(ticks))) {
                    print_error("rounded %.17g is not on the %.17g tick\n", rounded, pi->tick);
                    fail();
                }
                const double eps = 1e-9 * raw;
                if (dir > 0) {
                    assert_true(rounded >= raw - eps);
                    assert_true(rounded < raw + pi->tick + eps);
                } else if (dir < 0) {
                    assert_true(rounded <= raw + eps);
                    assert_true(rounded > raw - pi->tick - eps);
                } else {
                    assert_true(fabs(rounded - raw) < pi->tick + eps);
                }
                checked++;
            }
        }
    }
    assert_true(checked > 300);
    test_free(d);
    pbook_free(&x);
    pbook_free(&q);
}

/* ================================================================== threads */

static void test_properties_evaluate_all_same_for_any_thread_count(void **state)
{
    (void)state;
    pbook b;
    pbook_build(&b, SEED_THREADS, 0, 3000);
    const uint32_t threads[] = {1, 2, 3, 8};
    risk_account_summary *out[4];
    uint64_t *ids[4];
    for (int t = 0; t < 4; t++) {
        out[t] = test_calloc(b.n_acc, sizeof **out);
        ids[t] = test_calloc(b.n_acc, sizeof **ids);
        for (size_t i = 0; i < b.n_acc; i++)
            out[t][i].version = RISK_ACCOUNT_SUMMARY_VERSION;
        size_t count = 0;
        tu_assert_status(risk_engine_evaluate_all(b.e, out[t], ids[t], b.n_acc, threads[t], &count), RISK_OK);
        assert_int_equal(count, b.n_acc);
    }
    for (int t = 1; t < 4; t++) {
        assert_memory_equal(out[t], out[0], b.n_acc * sizeof **out);
        assert_memory_equal(ids[t], ids[0], b.n_acc * sizeof **ids);
    }
    /* Same as one account at a time, in creation order. */
    for (size_t i = 0; i < b.n_acc; i++) {
        assert_int_equal(ids[0][i], risk_account_id(b.acc[i]));
        risk_account_summary s = tu_eval(b.acc[i]);
        assert_memory_equal(&s, &out[0][i], sizeof s);
    }
    /* Repeated runs are identical too. */
    size_t count = 0;
    tu_assert_status(risk_engine_evaluate_all(b.e, out[1], ids[1], b.n_acc, 2, &count), RISK_OK);
    assert_memory_equal(out[1], out[0], b.n_acc * sizeof **out);
    for (int t = 0; t < 4; t++) {
        test_free(out[t]);
        test_free(ids[t]);
    }
    pbook_free(&b);
}

/* Same book, same numbers: building it twice gives bit-identical results (determinism). */
static void test_properties_deterministic_results(void **state)
{
    (void)state;
    pbook b1, b2;
    pbook_build(&b1, SEED_BOOK, 0, 150);
    pbook_build(&b2, SEED_BOOK, 0, 150);
    for (size_t i = 0; i < b1.n_acc; i++) {
        risk_account_summary s1 = tu_eval(b1.acc[i]), s2 = tu_eval(b2.acc[i]);
        assert_memory_equal(&s1, &s2, sizeof s1);
        risk_position_result r1[TU_MAX_POS], r2[TU_MAX_POS];
        size_t n1 = tu_results(b1.acc[i], r1, TU_MAX_POS), n2 = tu_results(b2.acc[i], r2, TU_MAX_POS);
        assert_int_equal(n1, n2);
        assert_memory_equal(r1, r2, n1 * sizeof r1[0]);
    }
    pbook_free(&b1);
    pbook_free(&b2);
}


/* A value log-uniform in [lo, hi], or one of the two edges (a quarter of the time each). */
static double edge_or_between(tu_rng *g, double lo, double hi)
{
    double u = tu_rng_unit(g);
    if (u < 0.25)
        return lo;
    if (u < 0.5)
        return hi;
    return exp(tu_rng_range(g, log(lo), log(hi)));
}

static void assert_summary_finite(const risk_account_summary *s)
{
    const double money[] = {s->equity, s->collateral_value, s->unrealized_pnl, s->initial_margin,
                            s->maintenance_margin, s->available, s->collateral_init, s->collateral_maint,
                            s->liabilities, s->isolated_margin};
    for (size_t i = 0; i < sizeof money / sizeof money[0]; i++)
        if (!isfinite(money[i]))
            fail_msg("summary field %zu is %g", i, money[i]);
    const double ratios[] = {s->health_factor, s->margin_ratio, s->ltv, s->ltv_buffer, s->leverage};
    for (size_t i = 0; i < sizeof ratios / sizeof ratios[0]; i++)
        assert_false(isnan(ratios[i]));
    assert_true(s->state <= RISK_STATE_BANKRUPT);
    if (s->health_factor < 1.0)
        assert_int_not_equal(s->state, RISK_STATE_HEALTHY);
}

/* Issue 9 section 2: random books whose every number sits at, or between, the edges of the
 * domain evaluate to finite numbers; one step beyond each edge is refused. */
static void test_properties_domain_edges_give_finite_results(void **state)
{
    (void)state;
    tu_rng g;
    tu_rng_seed(&g, 909);
    for (int k = 0; k < 300; k++) {
        tu_alloc a;
        tu_alloc_init(&a);
        risk_engine *e = tu_engine(&a, k % 3 == 0 ? RISK_ENGINE_NO_QUANTIZE : 0);
        uint32_t dec_v = (uint32_t)tu_rng_int(&g, 0, 18), dec_x = (uint32_t)tu_rng_int(&g, 0, 18);
        uint32_t usd = tu_asset(e, "USD", 1.0, dec_v);
        uint32_t x = tu_asset(e, "X", edge_or_between(&g, RISK_PRICE_MIN, RISK_PRICE_MAX), dec_x);
        double cs = edge_or_between(&g, RISK_SIZE_MIN, RISK_SIZE_MAX);
        double lot = edge_or_between(&g, RISK_SIZE_MIN, RISK_SIZE_MAX);
        double tick = edge_or_between(&g, RISK_SIZE_MIN, RISK_SIZE_MAX);
        double pmin = tick > RISK_PRICE_MIN ? tick : RISK_PRICE_MIN;
        double pmax = tick * 4503599627370496.0 < RISK_PRICE_MAX ? tick * 4503599627370496.0 : RISK_PRICE_MAX;
        if (pmin > RISK_PRICE_MAX) { /* a tick above the largest price: no price fits */
            tick = RISK_PRICE_MAX;
            pmin = pmax = RISK_PRICE_MAX;
        }
        double mark = edge_or_between(&g, pmin, pmax);
        const risk_margin_tier tiers[] = {tu_tier(edge_or_between(&g, 1.0, RISK_NOTIONAL_MAX / 2), RISK_MMR_MIN, RISK_LEVERAGE_MAX),
                                          tu_tier(RISK_NOTIONAL_MAX, 0.5, 1.0)};
        uint32_t lin = tu_linear(e, "LIN", x, usd, cs, lot, tick, mark, tiers, 2);
        uint32_t inv = tu_inverse(e, "INV", x, cs, lot, tick, mark, tiers, 2);
        risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
        double max_v = RISK_AMOUNT_QUANTA_MAX / pow(10.0, dec_v < 8 ? dec_v : 8);
        double max_x = RISK_AMOUNT_QUANTA_MAX / pow(10.0, dec_x < 8 ? dec_x : 8);
        tu_balance(acc, usd, (tu_rng_unit(&g) < 0.5 ? -1.0 : 1.0) * edge_or_between(&g, 1.0, max_v));
        tu_balance(acc, x, (tu_rng_unit(&g) < 0.5 ? -1.0 : 1.0) * edge_or_between(&g, 1.0, max_x));
        for (int which = 0; which < 2; which++) {
            double lots = floor(edge_or_between(&g, 1.0, RISK_LOTS_MAX));
            double qty = lots * lot; /* within the noise of the lot grid */
            if (!(qty / lot <= RISK_LOTS_MAX))
                qty = nextafter(qty, 0.0);
            risk_position_spec spec = RISK_POSITION_SPEC_INIT;
            spec.instrument = which ? inv : lin;
            spec.qty = tu_rng_unit(&g) < 0.5 ? -qty : qty;
            spec.entry = edge_or_between(&g, pmin, pmax);
            if (tu_rng_unit(&g) < 0.5) {
                spec.margin_mode = RISK_MARGIN_ISOLATED;
                spec.isolated_margin = edge_or_between(&g, 1.0, which ? max_x : max_v);
            }
            int rc = risk_account_open_position(acc, &spec, NULL);
            if (rc == RISK_ELOT) /* lots x lot did not land within 1e-9 of the grid */
                continue;
            tu_assert_status(rc, RISK_OK);
        }
        risk_account_summary s = tu_eval(acc);
        assert_summary_finite(&s);
        risk_position_result res[2] = {RISK_POSITION_RESULT_INIT, RISK_POSITION_RESULT_INIT};
        size_t n = 0;
        tu_assert_status(risk_account_position_results(acc, res, 2, &n), RISK_OK);
        for (size_t i = 0; i < n; i++) {
            assert_true(isfinite(res[i].notional) && isfinite(res[i].unrealized_pnl));
            assert_true(isfinite(res[i].initial_margin) && isfinite(res[i].maintenance_margin));
            if (res[i].flags & RISK_RESULT_HAS_LIQUIDATION_PRICE)
                assert_false(isnan(res[i].liquidation_price));
        }
        /* one step beyond each edge of this book is refused, and nothing moves */
        tu_assert_status(risk_engine_set_mark(e, lin, nextafter(pmax, INFINITY) > RISK_PRICE_MAX
                                                         ? nextafter(RISK_PRICE_MAX, INFINITY)
                                                         : pmax * (1.0 + 1e-9) + tick),
                         RISK_EINVAL);
        tu_assert_status(risk_engine_set_asset_price(e, x, nextafter(RISK_PRICE_MIN, 0.0)), RISK_EINVAL);
        tu_assert_status(risk_basket_add_balance(risk_account_basket(acc), usd, 2.0 * max_v), RISK_EINVAL);
        risk_account_summary s2 = tu_eval(acc);
        assert_memory_equal(&s, &s2, sizeof s);
        risk_account_free(acc);
        risk_engine_free(e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_properties_summary_matches_float128_reference),
        cmocka_unit_test(test_properties_mm_continuous_and_monotone),
        cmocka_unit_test(test_properties_pool_is_zero_at_the_unrounded_roots),
        cmocka_unit_test(test_properties_rounding_against_the_account),
        cmocka_unit_test(test_properties_evaluate_all_same_for_any_thread_count),
        cmocka_unit_test(test_properties_deterministic_results),
        cmocka_unit_test(test_properties_domain_edges_give_finite_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
