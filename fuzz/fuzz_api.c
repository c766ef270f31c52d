/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_api.c: libFuzzer harness for API call sequences (docs/fuzzing.md).
 *
 * The input decodes to an engine (three assets, three instruments whose parameters come partly
 * from the input), three accounts (cross one-way, isolated one-way, cross hedge) and then a
 * sequence of calls: balances, positions, fills, closes, isolated margin, marks, prices, user
 * leverage, fees, liquidation policy, insurance fund, what-if, max order, liquidation plans and
 * their application, batch evaluation. After every call the harness checks:
 *
 *  1. a failed call changes nothing: a digest of every observable state (summaries, positions,
 *     balances, leverage, prices, marks, funds, fees, policy) is equal before and after;
 *  2. read-only calls (what-if, max order, plans, batch evaluation) change nothing either;
 *  3. no NaN in a summary returned with RISK_OK, nor in a position result's money fields;
 *  4. the state agrees with the summary (docs/formulas.md section 6): bankrupt iff it holds a
 *     position or a liability (a negative balance, even one below the quantum that the summary's
 *     rounded `liabilities` shows as 0) and equity <= 0, liquidatable iff
 *     health factor < 1 or an isolated position is under its MM, margin call below the engine's
 *     margin-call health, healthy otherwise;
 *  5. every position's quantity is a whole number of lots;
 *  6. a plan the engine makes applies to its own account (RISK_OK), and evaluating afterwards
 *     gives the plan's health_after and equity_after;
 *  7. a what-if summary is bit-identical to the summary after doing the fill for real
 *     (risk_position_adjust / risk_account_open_position, plus the isolated top-up);
 *  8. the largest order from risk_account_max_order_qty is whole lots and leaves available >= 0;
 *  9. risk_engine_evaluate_all gives, for any thread count and on either sweep kernel (half of
 *     the calls with RISK_SWEEP_SIMD=off), the same bits as evaluating each account alone; in
 *     engines made with RISK_ENGINE_SWEEP_IMAGE (a set-up byte's second bit) that includes the
 *     image's tiles, which every mutation before the call must have marked.
 *
 * The fourth instrument is a coin-settled option (fixed terms, so that the bytes a setup reads
 * are the futures' as before); the calls add the engine's time, the option's mark volatility and
 * its settlement at expiry.
 *
 * The fourth account is a portfolio account (RISK_MARGIN_PORTFOLIO, docs/portfolio-margin.md):
 * every invariant above applies to it as it stands, and one more call sets the engine's
 * portfolio-margin model from the input (valid sets of the three models, or one field out of its
 * domain: a failed set changes nothing, the params are part of the digest) or reads it
 * (risk_account_portfolio_margin and risk_engine_portfolio_margin_all: read-only, a documented
 * status, IM >= MM >= 0 and not NaN, the batch equal to each account's call bit for bit).
 */
#include <risk.h>

#include "fuzz_util.h"

#define N_ASSETS 3
#define N_INSTRUMENTS 4 /* three futures and an option (the last) */
#define N_FUTURES 3
#define OPT_NOW 1767225600 /* 2026-01-01T00:00:00Z */
#define MAX_ACCOUNTS 4
#define MAX_OPS 64
#define MAX_ACTIONS 64

typedef struct world {
    risk_engine *engine;
    risk_account *acc[MAX_ACCOUNTS];
    uint64_t ids[MAX_ACCOUNTS];
    size_t n_acc;
    uint32_t asset[N_ASSETS];
    uint32_t ins[N_INSTRUMENTS];
    double lot[N_INSTRUMENTS];
    double tick[N_INSTRUMENTS];
    double margin_call_health;
    risk_tick *tracker; /* a tick tracker, made by the first tick op (op_tick) */
    int tick_stale;  /* an op the tracker cannot see ran since its last rebuild (risk/tick.h) */
} world;

/* ------------------------------------------------------------------ state digest */

typedef struct digest {
    uint64_t h;
} digest;

static void dg_bytes(digest *d, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        d->h ^= b[i];
        d->h *= 1099511628211ull;
    }
}

static void dg_u64(digest *d, uint64_t x)
{
    dg_bytes(d, &x, sizeof x);
}

static void dg_double(digest *d, double x)
{
    if (isnan(x))
        x = NAN; /* one NaN */
    dg_bytes(d, &x, sizeof x);
}

static void dg_summary(digest *d, const risk_account_summary *s)
{
    dg_u64(d, s->state);
    const double f[] = {s->equity, s->collateral_value, s->unrealized_pnl, s->initial_margin, s->maintenance_margin,
                        s->available, s->health_factor, s->margin_ratio, s->ltv, s->ltv_buffer, s->leverage,
                        s->collateral_init, s->collateral_maint, s->liabilities, s->isolated_margin};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        dg_double(d, f[i]);
    dg_u64(d, s->n_positions);
    dg_u64(d, s->n_isolated_liquidatable);
}

static uint64_t world_digest(const world *w)
{
    digest d = {14695981039346656037ull};
    for (size_t i = 0; i < N_ASSETS; i++) {
        double p = 0.0;
        dg_u64(&d, (uint64_t)risk_engine_asset_price(w->engine, w->asset[i], &p));
        dg_double(&d, p);
        risk_insurance_fund f = RISK_INSURANCE_FUND_INIT;
        if (risk_engine_insurance_fund(w->engine, w->asset[i], &f) == RISK_OK) {
            dg_double(&d, f.balance);
            dg_double(&d, f.deposits);
            dg_double(&d, f.contributions);
            dg_double(&d, f.draws);
        }
    }
    for (size_t i = 0; i < N_INSTRUMENTS; i++) {
        double m = 0.0;
        dg_u64(&d, (uint64_t)risk_engine_mark(w->engine, w->ins[i], &m));
        dg_double(&d, m);
        risk_instrument_fees fees = RISK_INSTRUMENT_FEES_INIT;
        if (risk_engine_instrument_fees(w->engine, w->ins[i], &fees) == RISK_OK)
            dg_bytes(&d, &fees, sizeof fees);
        risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
        if (risk_engine_instrument_liquidation_policy(w->engine, w->ins[i], &pol) == RISK_OK)
            dg_bytes(&d, &pol, sizeof pol);
    }
    risk_liquidation_policy pol = RISK_LIQUIDATION_POLICY_INIT;
    if (risk_engine_liquidation_policy(w->engine, &pol) == RISK_OK)
        dg_bytes(&d, &pol, sizeof pol);
    int64_t now = 0;
    dg_u64(&d, (uint64_t)risk_engine_time(w->engine, &now));
    dg_u64(&d, (uint64_t)now);
    double vol = 0.0;
    dg_u64(&d, (uint64_t)risk_engine_mark_vol(w->engine, w->ins[N_FUTURES], &vol));
    dg_double(&d, vol);
    risk_portfolio_margin_params pmp = RISK_PORTFOLIO_MARGIN_PARAMS_INIT;
    dg_u64(&d, (uint64_t)risk_engine_portfolio_margin(&pmp, w->engine));
    dg_bytes(&d, &pmp, sizeof pmp);
    size_t n = 0;
    dg_u64(&d, (uint64_t)risk_engine_account_count(w->engine, &n));
    dg_u64(&d, n);
    for (size_t a = 0; a < w->n_acc; a++) {
        risk_account *acc = w->acc[a];
        risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
        dg_u64(&d, (uint64_t)risk_account_evaluate(acc, &s));
        dg_summary(&d, &s);
        risk_basket *b = risk_account_basket(acc);
        for (size_t i = 0; i < N_ASSETS; i++) {
            double x = 0.0;
            dg_u64(&d, (uint64_t)risk_basket_balance(b, w->asset[i], &x));
            dg_double(&d, x);
        }
        for (size_t i = 0; i < N_INSTRUMENTS; i++) {
            double lev = 0.0;
            dg_u64(&d, (uint64_t)risk_account_leverage(acc, w->ins[i], &lev));
            dg_double(&d, lev);
        }
        size_t np = risk_account_position_count(acc);
        dg_u64(&d, np);
        for (size_t i = 0; i < np; i++) {
            risk_position *p = NULL;
            if (risk_account_position_at(acc, i, &p) != RISK_OK)
                continue;
            dg_u64(&d, risk_position_instrument(p));
            dg_u64(&d, risk_position_leg(p));
            dg_u64(&d, risk_position_margin_mode(p));
            dg_double(&d, risk_position_qty(p));
            dg_double(&d, risk_position_entry(p));
            dg_double(&d, risk_position_isolated_margin(p));
        }
    }
    return d.h;
}

/* An option premium as the library posts it (risk__quantize down to 1/scale, snapping float
 * noise: core/internal.h), so that a real fill can be compared bit for bit with a what-if. */
static double premium_cash(double x, double scale)
{
    double n = x * scale, an = fabs(n);
    if (!(an < 4503599627370496.0)) /* 2^52, as risk__quantize: no conversion of a huge value */
        return x;
    double tol = 8.9e-16 * (an > 1.0 ? an : 1.0);
    tol = tol < 0.0625 ? tol : 0.0625;
    double v = n + tol, t = (double)(int64_t)v;
    return (t > v ? t - 1.0 : t) / scale;
}

/* ------------------------------------------------------------------ invariants */

static size_t ins_index(const world *w, uint32_t id)
{
    for (size_t i = 0; i < N_INSTRUMENTS; i++)
        if (w->ins[i] == id)
            return i;
    return 0;
}

/* Whether an account holds a liability as the library's state rule counts one (docs/formulas.md
 * section 6, "State": bankrupt at equity <= 0 while holding a position or a liability): a
 * negative balance whose value |balance| x price is above zero, however small. The summary's
 * `liabilities` is rounded up to the valuation asset's quantum with a snapping tolerance of a few
 * ulps, so a debt far below one quantum (-6.4e-58 BTC) reads 0 there and cannot tell. */
static int holds_liability(const world *w, const risk_account *acc)
{
    const risk_basket *b = risk_account_basket((risk_account *)acc) /* reads only */;
    for (size_t i = 0; i < N_ASSETS; i++) {
        double x = 0.0, p = 0.0;
        if (risk_basket_balance(b, w->asset[i], &x) == RISK_OK && x < 0.0 &&
            risk_engine_asset_price(w->engine, w->asset[i], &p) == RISK_OK && -x * p > 0.0)
            return 1;
    }
    return 0;
}

/* liability: 1 or 0 from holds_liability, -1 when the summary is of a state the harness cannot
 * observe (a what-if): then a debt below one quantum may make it bankrupt or not. */
static void check_summary(const world *w, const risk_account_summary *s, int liability, const char *what)
{
    const double f[] = {s->equity, s->collateral_value, s->unrealized_pnl, s->initial_margin, s->maintenance_margin,
                        s->available, s->health_factor, s->margin_ratio, s->ltv, s->ltv_buffer, s->leverage,
                        s->collateral_init, s->collateral_maint, s->liabilities, s->isolated_margin};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        FZ_ASSERT(!isnan(f[i]), "%s: summary field %zu is NaN (state %u)", what, i, s->state);
    /* a rounded liability above zero implies a liability; the converse fails below one quantum */
    FZ_ASSERT(liability != 0 || s->liabilities == 0.0, "%s: liabilities %g without a negative balance", what,
              s->liabilities);
    int owes = s->n_positions > 0 || s->liabilities > 0.0 || liability == 1;
    /* one of the nine sums not finite: bankrupt, never healthy (docs/formulas.md section 6; a
     * portfolio margin that cannot be computed is +inf, docs/portfolio-margin.md) */
    int nonfinite = !isfinite(s->equity) || !isfinite(s->collateral_init) || !isfinite(s->collateral_maint) ||
                    !isfinite(s->initial_margin) || !isfinite(s->maintenance_margin) ||
                    !isfinite(s->collateral_value) || !isfinite(s->liabilities) || !isfinite(s->unrealized_pnl) ||
                    !isfinite(s->isolated_margin);
    uint32_t want;
    if (s->state == RISK_STATE_BANKRUPT && liability < 0 && s->equity <= 0.0)
        want = RISK_STATE_BANKRUPT; /* a what-if of an account with a debt below one quantum */
    else if (nonfinite || (owes && s->equity <= 0.0))
        want = RISK_STATE_BANKRUPT;
    else if (s->health_factor < 1.0 || s->n_isolated_liquidatable)
        want = RISK_STATE_LIQUIDATABLE;
    else if (s->health_factor < w->margin_call_health)
        want = RISK_STATE_MARGIN_CALL;
    else
        want = RISK_STATE_HEALTHY;
    FZ_ASSERT(s->state == want, "%s: state %u but equity %g, hf %g, isolated liquidatable %u, liability %d: expected %u",
              what, s->state, s->equity, s->health_factor, s->n_isolated_liquidatable, liability, want);
    if (s->state == RISK_STATE_HEALTHY)
        FZ_ASSERT(isfinite(s->equity), "%s: healthy with equity %g", what, s->equity);
}

static void check_account(const world *w, const risk_account *acc, const char *what)
{
    risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
    int rc = risk_account_evaluate(acc, &s);
    if (rc == RISK_OK)
        check_summary(w, &s, holds_liability(w, acc), what);
    risk_position_result r[16];
    r[0].version = RISK_POSITION_RESULT_VERSION;
    size_t n = 0;
    if (risk_account_position_results(acc, r, 16, &n) != RISK_OK)
        return;
    for (size_t i = 0; i < n && i < 16; i++) {
        const double f[] = {r[i].qty, r[i].entry, r[i].mark, r[i].notional, r[i].unrealized_pnl, r[i].initial_margin,
                            r[i].maintenance_margin, r[i].isolated_margin};
        for (size_t j = 0; j < sizeof f / sizeof f[0]; j++)
            FZ_ASSERT(!isnan(f[j]), "%s: position result %zu field %zu is NaN", what, i, j);
        double lot = w->lot[ins_index(w, r[i].instrument)];
        double k = r[i].qty / lot;
        FZ_ASSERT(fabs(k - nearbyint(k)) <= 1e-6 * fmax(1.0, fabs(k)) || fabs(k) > 9007199254740992.0,
                  "%s: position qty %.17g is not a whole number of lots (%.17g)", what, r[i].qty, lot);
    }
}

static void check_all(const world *w, const char *what)
{
    for (size_t a = 0; a < w->n_acc; a++)
        check_account(w, w->acc[a], what);
}

/* A failed call must change nothing; read-only calls must change nothing either way. */
#define MUTATE(w, what, call)                                                                  \
    do {                                                                                       \
        uint64_t before_ = world_digest(w);                                                    \
        int rc_ = (call);                                                                      \
        if (rc_ != RISK_OK)                                                                    \
            FZ_ASSERT(world_digest(w) == before_, "%s failed (%s) but changed the state", what, \
                      risk_errname(rc_));                                                      \
        else                                                                                   \
            check_all(w, what);                                                                \
    } while (0)

/* ------------------------------------------------------------------ set-up */

static int setup(world *w, fz_reader *r)
{
    memset(w, 0, sizeof *w);
    risk_engine_options opt = RISK_ENGINE_OPTIONS_INIT;
    uint8_t flags = fz_u8(r);
    if (flags & 1)
        opt.flags |= RISK_ENGINE_NO_QUANTIZE;
    if (flags & 2) /* the sweep image: evaluate_all reads tiles that every mutation must keep current */
        opt.flags |= RISK_ENGINE_SWEEP_IMAGE;
    opt.margin_call_health = 1.0 + fz_u8(r) / 128.0;
    w->margin_call_health = opt.margin_call_health;
    if (risk_engine_new(&w->engine, &opt) != RISK_OK)
        return -1;

    risk_asset_spec as = RISK_ASSET_SPEC_INIT;
    as.symbol = "USDT"; as.decimals = 6; as.price = 1.0;
    if (risk_engine_add_asset(w->engine, &as, &w->asset[0]) != RISK_OK)
        return -1;
    as = (risk_asset_spec)RISK_ASSET_SPEC_INIT;
    as.symbol = "BTC"; as.decimals = 8; as.price = 50000.0;
    as.weight_init = 0.95; as.weight_maint = 0.975; as.liab_weight_init = 1.05; as.liab_weight_maint = 1.02;
    static const risk_value_tier vt[] = {{10.0, 1.0}, {INFINITY, 0.9}};
    as.value_tiers = vt; as.n_value_tiers = 2;
    if (risk_engine_add_asset(w->engine, &as, &w->asset[1]) != RISK_OK)
        return -1;
    as = (risk_asset_spec)RISK_ASSET_SPEC_INIT;
    as.symbol = "ETH"; as.decimals = 8; as.price = 2664.06;
    as.weight_init = 0.9; as.weight_maint = 0.95;
    if (risk_engine_add_asset(w->engine, &as, &w->asset[2]) != RISK_OK)
        return -1;

    static const double lots[] = {0.001, 1.0, 0.01, 1e-9, 0.5};
    static const double ticks[] = {0.1, 0.5, 0.01, 1.0, 0.05};
    const risk_margin_tier tiers[] = {
        {50000.0, 0.004, 125.0, 0.0, 0}, {250000.0, 0.005, 100.0, 0.0, 0}, {1e300, 0.01, 50.0, 0.0, 0},
    };
    const char *sym[N_FUTURES] = {"BTCUSDT", "ETHUSD", "BTC-FUT"};
    int idle = 0;
    for (size_t i = 0; i < N_FUTURES; i++) {
        risk_instrument_spec is = RISK_INSTRUMENT_SPEC_INIT;
        is.symbol = sym[i];
        is.underlying = i == 1 ? w->asset[2] : w->asset[1];
        is.settle = i == 1 ? w->asset[2] : w->asset[0];
        is.inverse = i == 1;
        is.contract_size = i == 1 ? 10.0 : 1.0;
        is.lot_size = lots[fz_pick(r, 5)];
        is.tick_size = ticks[fz_pick(r, 5)];
        is.mark = i == 1 ? 2664.0 : 50000.0;
        uint8_t mode = fz_u8(r);
        is.mm_price = mode & 1 ? RISK_MM_PRICE_ENTRY : RISK_MM_PRICE_MARK;
        idle |= i == 0 && (mode & 2); /* bit 1 of the first: an engine of many instruments, below */
        if (i == 2) {
            is.kind = RISK_KIND_FUTURE;
            is.expiry_unix_s = 1782460800; /* 2026-06-26 08:00 UTC */
        }
        is.tiers = tiers;
        is.n_tiers = 1 + fz_pick(r, 3);
        if (risk_engine_add_instrument(w->engine, &is, &w->ins[i]) != RISK_OK)
            return -1;
        w->lot[i] = is.lot_size;
        w->tick[i] = is.tick_size;
    }
    if (risk_engine_set_time(w->engine, OPT_NOW) != RISK_OK)
        return -1;
    risk_instrument_spec os = RISK_INSTRUMENT_SPEC_INIT; /* Deribit's BTC call: coin-settled, W28 */
    os.kind = RISK_KIND_OPTION;
    os.symbol = "BTC-55000-C";
    os.underlying = os.settle = w->asset[1];
    os.inverse = 1;
    os.expiry_unix_s = OPT_NOW + 30 * 86400;
    os.lot_size = 0.1;
    os.tick_size = 0.0001;
    os.mark = 0.01;
    os.strike = 55000.0;
    os.option_type = RISK_OPTION_CALL;
    os.underlying_tick = 0.5;
    if (risk_engine_add_instrument(w->engine, &os, &w->ins[N_FUTURES]) != RISK_OK)
        return -1;
    w->lot[N_FUTURES] = os.lot_size;
    w->tick[N_FUTURES] = os.tick_size;
    /* 14 instruments nobody holds: 18 in all, so that batch sweeps gather instrument fields from
     * the engine's sweep scratch instead of permuting 16-entry tables (core/evaluate.c) */
    for (int k = 0; idle && k < 14; k++) {
        char isym[24];
        snprintf(isym, sizeof isym, "IDLE%dUSDT", k);
        risk_instrument_spec is = RISK_INSTRUMENT_SPEC_INIT;
        is.symbol = isym;
        is.underlying = w->asset[1];
        is.settle = w->asset[0];
        is.lot_size = 0.001;
        is.tick_size = 0.1;
        is.mark = 100.0 + k;
        is.tiers = tiers;
        is.n_tiers = 2;
        if (risk_engine_add_instrument(w->engine, &is, NULL) != RISK_OK)
            return -1;
    }
    static const uint32_t modes[][2] = {
        {RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY},
        {RISK_MARGIN_ISOLATED, RISK_POSITION_ONE_WAY},
        {RISK_MARGIN_CROSS, RISK_POSITION_HEDGE},
        {RISK_MARGIN_PORTFOLIO, RISK_POSITION_ONE_WAY},
    };
    w->n_acc = 4;
    for (size_t a = 0; a < w->n_acc; a++) {
        w->ids[a] = a + 1;
        if (risk_account_new(&w->acc[a], w->engine, w->ids[a], modes[a][0], modes[a][1]) != RISK_OK)
            return -1;
        if (risk_basket_set_balance(risk_account_basket(w->acc[a]), w->asset[0], 10000.0) != RISK_OK)
            return -1;
    }
    return 0;
}

static void teardown(world *w)
{
    for (size_t a = 0; a < MAX_ACCOUNTS; a++)
        risk_account_free(w->acc[a]);
    risk_engine_free(w->engine);
    risk_tick_free(w->tracker); /* after the engine: the tracker keeps it alive */
}

/* ------------------------------------------------------------------ operations */

static risk_account *pick_account(world *w, fz_reader *r, size_t *idx)
{
    size_t i = fz_pick(r, (uint32_t)w->n_acc);
    if (idx)
        *idx = i;
    return w->acc[i];
}

static risk_position *pick_position(world *w, fz_reader *r, risk_account **acc_out)
{
    risk_account *acc = pick_account(w, r, NULL);
    size_t n = risk_account_position_count(acc);
    *acc_out = acc;
    if (n == 0)
        return NULL;
    risk_position *p = NULL;
    if (risk_account_position_at(acc, fz_pick(r, (uint32_t)n), &p) != RISK_OK)
        return NULL;
    return p;
}

static uint32_t leg_for(const risk_account *acc, fz_reader *r)
{
    if (risk_account_position_mode(acc) == RISK_POSITION_HEDGE)
        return fz_u8(r) & 1 ? RISK_SIDE_SHORT : RISK_SIDE_LONG;
    return RISK_SIDE_BOTH;
}

/* Invariant 7: the what-if summary equals the summary after the real fill. */
static void op_whatif(world *w, fz_reader *r)
{
    risk_account *acc = pick_account(w, r, NULL);
    size_t ii = fz_pick(r, N_INSTRUMENTS);
    risk_order o = RISK_ORDER_INIT;
    o.instrument = w->ins[ii];
    o.side = fz_u8(r) & 1 ? RISK_ORDER_SELL : RISK_ORDER_BUY;
    o.leg = leg_for(acc, r);
    o.qty = fz_pos_grid(r, w->lot[ii]);
    o.price = fz_pos_grid(r, w->tick[ii] * 100.0);
    risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
    uint64_t before = world_digest(w);
    int rc = risk_account_whatif(acc, &o, &s);
    FZ_ASSERT(world_digest(w) == before, "whatif changed the state (%s)", risk_errname(rc));
    if (rc != RISK_OK)
        return;
    check_summary(w, &s, -1, "whatif");

    /* Now the real fill. */
    double delta = o.side == RISK_ORDER_BUY ? o.qty : -o.qty;
    double fill_price = o.price;
    if (fill_price == 0.0 && risk_engine_mark(w->engine, o.instrument, &fill_price) != RISK_OK)
        return;
    if (o.price == 0.0 && !(fill_price >= w->tick[ii]))
        return; /* an option's mark below one tick (worthless): what-if values it there, no fill trades there */
    /* the taker fee first, from the settle balance (docs/whatif.md) */
    double fee = 0.0;
    FZ_ASSERT(risk_engine_fill_fee(w->engine, o.instrument, RISK_FEE_TAKER, o.qty, fill_price, &fee) == RISK_OK,
              "fill_fee refused an order what-if took (qty %.17g at %.17g: %s)", o.qty, fill_price,
              risk_engine_errmsg(w->engine));
    risk_position *p = NULL;
    int frc = risk_account_find_position(acc, o.instrument, o.leg, &p);
    uint32_t settle = ii == 1 ? w->asset[2] : ii == N_FUTURES ? w->asset[1] : w->asset[0];
    if (fee != 0.0 && (frc == RISK_OK || frc == RISK_ENOTFOUND)) {
        int brc = risk_basket_add_balance(risk_account_basket(acc), settle, -fee);
        FZ_ASSERT(brc == RISK_OK, "paying the fee %g refused: %s", fee, risk_errname(brc));
    }
    if (frc == RISK_OK) {
        frc = risk_position_adjust(p, delta, fill_price);
        if (frc == RISK_OK) {
            /* the adjust may have closed the handle: look it up again */
            if (risk_account_find_position(acc, o.instrument, o.leg, &p) != RISK_OK)
                p = NULL;
        }
    } else if (frc == RISK_ENOTFOUND) {
        risk_position_spec ps = RISK_POSITION_SPEC_INIT;
        ps.instrument = o.instrument;
        ps.side = o.leg;
        ps.qty = o.leg == RISK_SIDE_BOTH ? delta : o.qty;
        ps.entry = fill_price;
        if (o.leg != RISK_SIDE_BOTH && (o.leg == RISK_SIDE_LONG) != (o.side == RISK_ORDER_BUY))
            return; /* reducing an absent leg: what-if said OK? then it is a finding below */
        frc = risk_account_open_position(acc, &ps, &p);
        if (frc == RISK_OK && ii == N_FUTURES) { /* a new option position pays its premium (a fill would) */
            int brc = risk_basket_add_balance(risk_account_basket(acc), settle, premium_cash(-delta * fill_price, 1e8));
            FZ_ASSERT(brc == RISK_OK, "paying the premium refused: %s", risk_errname(brc));
        }
    }
    if (frc == RISK_ETICK && o.price == 0.0)
        return; /* at the mark, off the tick: what-if takes it as it is, a fill cannot */
    FZ_ASSERT(frc == RISK_OK, "whatif accepted an order the real fill refuses (%s: %s)", risk_errname(frc),
              risk_account_errmsg(acc));
    if (p && risk_position_margin_mode(p) == RISK_MARGIN_ISOLATED) {
        risk_position_result res[16];
        res[0].version = RISK_POSITION_RESULT_VERSION;
        size_t n = 0;
        if (risk_account_position_results(acc, res, 16, &n) == RISK_OK) {
            for (size_t i = 0; i < n && i < 16; i++) {
                if (res[i].instrument == o.instrument && res[i].margin_mode == RISK_MARGIN_ISOLATED &&
                    (o.leg == RISK_SIDE_BOTH || (o.leg == RISK_SIDE_LONG) == (res[i].qty > 0)) &&
                    res[i].isolated_margin < res[i].initial_margin) {
                    int trc = risk_position_set_isolated_margin(p, res[i].initial_margin);
                    FZ_ASSERT(trc == RISK_OK, "isolated top-up after a fill refused: %s", risk_account_errmsg(acc));
                }
            }
        }
    }
    risk_account_summary real = RISK_ACCOUNT_SUMMARY_INIT;
    FZ_ASSERT(risk_account_evaluate(acc, &real) == RISK_OK, "evaluate after a fill failed");
    FZ_ASSERT(memcmp(&real, &s, sizeof s) == 0,
              "whatif differs from the real fill: equity %.17g vs %.17g, available %.17g vs %.17g, "
              "mm %.17g vs %.17g, state %u vs %u",
              s.equity, real.equity, s.available, real.available, s.maintenance_margin, real.maintenance_margin,
              s.state, real.state);
    check_all(w, "fill after whatif");
}

/* Invariant 8. */
static void op_max_order(world *w, fz_reader *r)
{
    risk_account *acc = pick_account(w, r, NULL);
    size_t ii = fz_pick(r, N_INSTRUMENTS);
    uint32_t side = fz_u8(r) & 1 ? RISK_ORDER_SELL : RISK_ORDER_BUY;
    uint32_t leg = leg_for(acc, r);
    double price = fz_u8(r) & 1 ? 0.0 : fz_pos_grid(r, w->tick[ii] * 100.0);
    double q = -1.0;
    uint64_t before = world_digest(w);
    int rc = risk_account_max_order_qty(acc, w->ins[ii], side, leg, price, &q);
    FZ_ASSERT(world_digest(w) == before, "max_order_qty changed the state (%s)", risk_errname(rc));
    if (rc != RISK_OK)
        return;
    FZ_ASSERT(q >= 0.0, "max order qty %g", q);
    if (isinf(q))
        return; /* documented: available never falls below the threshold */
    double k = q / w->lot[ii];
    FZ_ASSERT(fabs(k - nearbyint(k)) <= 1e-6 * fmax(1.0, k), "max order qty %.17g is not whole lots of %g", q,
              w->lot[ii]);
    risk_account_summary now = RISK_ACCOUNT_SUMMARY_INIT;
    if (risk_account_evaluate(acc, &now) != RISK_OK)
        return;
    risk_order o = RISK_ORDER_INIT;
    o.instrument = w->ins[ii];
    o.side = side;
    o.leg = leg;
    o.price = price;
    risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
    if (q > 0.0) {
        o.qty = q;
        if (risk_account_whatif(acc, &o, &s) == RISK_OK)
            FZ_ASSERT(s.available >= 0.0 || s.available >= now.available,
                      "max order %.17g leaves available %.17g (now %.17g)", q, s.available, now.available);
    }
    if (now.available >= 0.0 && k < 1e12) {
        o.qty = (nearbyint(k) + 1.0) * w->lot[ii]; /* one lot more, as documented */
        if (risk_account_whatif(acc, &o, &s) == RISK_OK)
            FZ_ASSERT(s.available < 0.0, "max order %.17g, but one lot more leaves available %.17g", q, s.available);
    }
}

/* Invariant 6. */
static void op_plan(world *w, fz_reader *r)
{
    risk_account *acc = pick_account(w, r, NULL);
    risk_liquidation_plan plan = RISK_LIQUIDATION_PLAN_INIT;
    risk_liquidation_action act[MAX_ACTIONS];
    size_t n = 0;
    uint64_t before = world_digest(w);
    int rc = risk_account_liquidation_plan(acc, &plan, act, MAX_ACTIONS, &n);
    FZ_ASSERT(world_digest(w) == before, "liquidation_plan changed the state (%s)", risk_errname(rc));
    if (rc != RISK_OK)
        return;
    FZ_ASSERT(!isnan(plan.health_before) && !isnan(plan.health_after) && !isnan(plan.equity_before) &&
                  !isnan(plan.equity_after),
              "plan with NaN: hf %g -> %g, equity %g -> %g", plan.health_before, plan.health_after,
              plan.equity_before, plan.equity_after);
    if (n == 0 || !(fz_u8(r) & 3))
        return;
    int arc = risk_account_apply_plan(acc, &plan, act, n);
    if (arc != RISK_OK) {
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "action %zu: type %u instrument %u side %u leg %u asset %u qty %.17g price %.17g "
                    "amount %.17g repay %.17g\n", i, act[i].type, act[i].instrument, act[i].side, act[i].leg,
                    act[i].asset, act[i].qty, act[i].price, act[i].amount, act[i].repay_amount);
        risk_position_result res[16];
        res[0].version = RISK_POSITION_RESULT_VERSION;
        size_t np = 0;
        if (risk_account_position_results(acc, res, 16, &np) == RISK_OK)
            for (size_t i = 0; i < np && i < 16; i++)
                fprintf(stderr, "position %zu: instrument %u qty %.17g entry %.17g mark %.17g mode %u iso %.17g "
                        "liq %.17g bankr %.17g\n", i, res[i].instrument, res[i].qty, res[i].entry, res[i].mark,
                        res[i].margin_mode, res[i].isolated_margin, res[i].liquidation_price,
                        res[i].bankruptcy_price);
    }
    FZ_ASSERT(arc == RISK_OK, "a plan (outcome %u, %zu actions) does not apply to its own account: %s: %s",
              plan.outcome, n, risk_errname(arc), risk_account_errmsg(acc));
    check_all(w, "apply_plan");
    risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
    FZ_ASSERT(risk_account_evaluate(acc, &s) == RISK_OK, "evaluate after apply failed");
    FZ_ASSERT(s.health_factor == plan.health_after || (isinf(s.health_factor) && isinf(plan.health_after)),
              "after apply: health %.17g, plan said %.17g (outcome %u)", s.health_factor, plan.health_after,
              plan.outcome);
    FZ_ASSERT(s.equity == plan.equity_after, "after apply: equity %.17g, plan said %.17g (outcome %u)", s.equity,
              plan.equity_after, plan.outcome);
}

/* Invariant 9. */
/* Scenario revaluation and the book stress test on the evaluated book (no input consumed, so
 * the corpora keep their meaning): the zero scenario, every other asset -50 % and +100 %. A move
 * may take a mark below one tick (RISK_EINVAL, nothing written); otherwise the engine's
 * per-account results equal the account call's bit for bit, the zero scenario gives P&L 0 and
 * the evaluated state, and nothing changes. */
static void op_stress(world *w, uint32_t threads, const risk_account_summary *evaluated)
{
    enum { S = 3 };
    size_t na = 0;
    FZ_ASSERT(risk_engine_asset_count(w->engine, &na) == RISK_OK && na <= 8, "asset count");
    uint32_t v = RISK_ID_NONE;
    FZ_ASSERT(risk_engine_valuation_asset(w->engine, &v) == RISK_OK, "valuation asset");
    double moves[S * 8] = {0};
    for (size_t a = 0; a < na; a++)
        if (a != v) {
            moves[1 * na + a] = -0.5;
            moves[2 * na + a] = 1.0;
        }
    risk_scenarios sc = RISK_SCENARIOS_INIT;
    sc.n_scenarios = S;
    sc.n_assets = na;
    sc.price_moves = moves;
    risk_stress_scenario book[S];
    book[0].version = RISK_STRESS_SCENARIO_VERSION;
    double pnl[MAX_ACCOUNTS * S], eq[MAX_ACCOUNTS * S], hf[MAX_ACCOUNTS * S];
    uint32_t st[MAX_ACCOUNTS * S];
    uint64_t ids[MAX_ACCOUNTS];
    size_t n = 0;
    uint64_t before = world_digest(w);
    int rc = risk_engine_stress(w->engine, &sc, book, pnl, eq, hf, st, ids, MAX_ACCOUNTS, threads, &n);
    FZ_ASSERT(world_digest(w) == before, "stress changed the state");
    FZ_ASSERT(rc == RISK_OK || rc == RISK_EINVAL, "stress: %s", risk_errname(rc));
    for (size_t i = 0; i < w->n_acc; i++) {
        double one[S];
        risk_account_summary sums[S];
        sums[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
        int rc1 = risk_account_scenario_pnl(w->acc[i], &sc, one, sums);
        FZ_ASSERT(rc1 == rc, "scenario_pnl %s, stress %s", risk_errname(rc1), risk_errname(rc));
        if (rc)
            continue;
        FZ_ASSERT(ids[i] == w->ids[i], "stress order");
        FZ_ASSERT(one[0] == 0.0 && sums[0].state == evaluated[i].state, "zero scenario");
        for (size_t s = 0; s < S; s++) {
            FZ_ASSERT(memcmp(&one[s], &pnl[i * S + s], sizeof one[s]) == 0, "stress P&L differs");
            FZ_ASSERT(memcmp(&sums[s].equity, &eq[i * S + s], sizeof eq[0]) == 0, "stress equity differs");
            FZ_ASSERT(sums[s].state == st[i * S + s], "stress state differs");
        }
    }
    FZ_ASSERT(world_digest(w) == before, "scenario_pnl changed the state");
    if (rc == RISK_OK)
        for (size_t s = 0; s < S; s++)
            FZ_ASSERT(book[s].n_accounts == w->n_acc && book[s].loss >= 0.0 && book[s].deficit >= 0.0, "book");
}

static void op_evaluate_all(world *w, fz_reader *r)
{
    risk_account_summary s[MAX_ACCOUNTS];
    uint64_t ids[MAX_ACCOUNTS];
    for (size_t i = 0; i < MAX_ACCOUNTS; i++)
        s[i] = (risk_account_summary)RISK_ACCOUNT_SUMMARY_INIT;
    size_t n = 0;
    uint32_t threads = fz_pick(r, 5);
    uint64_t before = world_digest(w);
    /* half of the sweeps on the scalar table path (the kernel of CPUs without AVX-512), chosen by
     * a bit of the state's digest, so that the input's decoding stays as it was */
    int scalar = (int)(before >> 17 & 1);
    if (scalar)
        FZ_ASSERT(setenv("RISK_SWEEP_SIMD", "off", 1) == 0, "setenv");
    int rc = risk_engine_evaluate_all(w->engine, s, ids, MAX_ACCOUNTS, threads, &n);
    if (scalar)
        unsetenv("RISK_SWEEP_SIMD");
    FZ_ASSERT(world_digest(w) == before, "evaluate_all changed the state");
    FZ_ASSERT(rc == RISK_OK, "evaluate_all: %s", risk_errname(rc));
    FZ_ASSERT(n == w->n_acc, "evaluate_all counted %zu accounts, %zu exist", n, w->n_acc);
    for (size_t i = 0; i < n; i++) {
        risk_account_summary one = RISK_ACCOUNT_SUMMARY_INIT;
        FZ_ASSERT(ids[i] == w->ids[i], "evaluate_all order");
        FZ_ASSERT(risk_account_evaluate(w->acc[i], &one) == RISK_OK, "evaluate");
        FZ_ASSERT(memcmp(&one, &s[i], sizeof one) == 0, "evaluate_all (%u threads) differs from evaluate", threads);
        check_summary(w, &s[i], holds_liability(w, w->acc[i]), "evaluate_all");
    }
    op_stress(w, threads, s);
}

/* The borrowing-cost optimiser (include/risk/optimise.h): read-only, a documented status, and
 * every optimal answer certified (no duality gap beyond rounding, floors met). */
static void op_optimise(world *w, fz_reader *r)
{
    if (!w->n_acc)
        return;
    risk_account *acc = w->acc[fz_pick(r, (uint32_t)w->n_acc)];
    risk_optimise_spec sp = RISK_OPTIMISE_SPEC_INIT;
    sp.mode = fz_pick(r, 3); /* 2: an unknown mode */
    sp.flags = fz_pick(r, 3);
    sp.horizon_s = fz_u8(r) & 1 ? 31536000.0 : fz_pos_grid(r, 3600.0);
    sp.health_init_min = 1.0 + fz_frac(r);
    sp.health_maint_min = 1.0 + fz_frac(r);
    sp.ltv_buffer_min = fz_frac(r) - 0.5;
    sp.im_value = fz_u8(r) & 1 ? 0.0 : fz_pos_grid(r, 10.0);
    sp.mm_value = fz_u8(r) & 1 ? 0.0 : fz_pos_grid(r, 5.0);
    sp.cash_value = fz_u8(r) & 1 ? 0.0 : fz_pos_grid(r, 10.0);
    sp.budget_value = fz_grid(r, 10.0);
    risk_optimise_asset c[N_ASSETS];
    risk_optimise_move mv[N_ASSETS];
    size_t n = fz_pick(r, N_ASSETS + 1);
    for (size_t k = 0; k < n; k++) {
        c[k] = (risk_optimise_asset)RISK_OPTIMISE_ASSET_INIT;
        c[k].asset = w->asset[fz_pick(r, N_ASSETS)];
        c[k].flags = fz_pick(r, 4);
        c[k].post_max = fz_pos_grid(r, 0.01);
        c[k].withdraw_max = fz_pos_grid(r, 0.01);
        c[k].borrow_max = fz_u8(r) & 1 ? 0.0 : fz_pos_grid(r, 0.01);
        c[k].outside_annual = fz_frac(r) / 4.0;
        c[k].borrow_annual = fz_frac(r);
        c[k].supply_annual = c[k].borrow_annual * fz_frac(r);
        mv[k] = (risk_optimise_move)RISK_OPTIMISE_MOVE_INIT;
    }
    risk_optimise_result res = RISK_OPTIMISE_RESULT_INIT;
    uint64_t before = world_digest(w);
    int rc = risk_account_optimise(acc, &sp, c, n, &res, mv);
    FZ_ASSERT(world_digest(w) == before, "optimise changed the state");
    FZ_ASSERT(rc == RISK_OK || rc == RISK_EINVAL || rc == RISK_ENOPRICE, "optimise: %s (%s)", risk_errname(rc),
              risk_account_errmsg(acc));
    if (rc == RISK_OK && res.outcome == RISK_OPTIMISE_OPTIMAL) {
        FZ_ASSERT(res.duality_gap <= 1e-7 * (1.0 + fabs(res.cost_horizon)), "optimise: duality gap %g on cost %g",
                  res.duality_gap, res.cost_horizon);
        FZ_ASSERT(res.health_init >= sp.health_init_min * (1.0 - 1e-7), "optimise: health_init %g below %g",
                  res.health_init, sp.health_init_min);
        FZ_ASSERT(res.health_maint >= sp.health_maint_min * (1.0 - 1e-7), "optimise: health_maint %g below %g",
                  res.health_maint, sp.health_maint_min);
    }
}

static void op_policy(world *w, fz_reader *r)
{
    risk_liquidation_policy p = RISK_LIQUIDATION_POLICY_INIT;
    p.exit_target = fz_pick(r, 3);
    p.buffer = fz_frac(r);
    p.fee = fz_frac(r) / 8.0;
    p.insurance_fee = fz_frac(r) / 8.0;
    p.price_model = fz_pick(r, 3);
    p.penalty = fz_frac(r);
    p.close_factor = fz_u8(r) & 1 ? 1.0 : fz_frac(r);
    p.full_close_health = fz_frac(r);
    p.bonus = fz_frac(r) / 4.0;
    p.protocol_share = fz_frac(r);
    p.min_notional = fz_u8(r) & 1 ? 0.0 : fz_pos_grid(r, 10.0);
    p.deficit = fz_pick(r, 3);
    p.has_backstop = fz_u8(r) & 1;
    p.backstop_account = 1 + fz_pick(r, 4);
    if (fz_u8(r) & 1)
        MUTATE(w, "set_liquidation_policy", risk_engine_set_liquidation_policy(w->engine, &p));
    else
        MUTATE(w, "set_instrument_liquidation_policy",
               risk_engine_set_instrument_liquidation_policy(w->engine, w->ins[fz_pick(r, N_INSTRUMENTS)],
                                                             fz_u8(r) & 1 ? NULL : &p));
}

/* The portfolio-margin model: set from the input (one of the three models' shapes, then maybe
 * one field out of its domain), or read (single account, engine batch). */
static void op_portfolio(world *w, fz_reader *r)
{
    risk_portfolio_margin_params p = RISK_PORTFOLIO_MARGIN_PARAMS_INIT;
    uint8_t how = fz_u8(r);
    if (how & 1) {
        p.model = fz_pick(r, 3);
        p.price_range = 0.01 + 0.94 * (fz_u8(r) / 255.0);
        p.price_steps = 1 + fz_pick(r, 6);
        p.vol_same = fz_u8(r) & 1;
        p.vol_mode = fz_u8(r) & 1 ? RISK_VOL_MOVE_RELATIVE : RISK_VOL_MOVE_ABSOLUTE;
        p.extended_vol_up = fz_u8(r) & 1;
        p.vol_up = fz_u8(r) / 255.0;
        p.vol_down = fz_u8(r) / 510.0;
        p.n_extended = fz_pick(r, RISK_PM_EXTENDED_MAX + 1);
        for (uint32_t k = 0; k < p.n_extended; k++) {
            double m = -0.95 + 5.0 * (fz_u8(r) / 255.0);
            p.extended_moves[k] = m == 0.0 ? 0.5 : m;
        }
        p.extended_weight = fz_u8(r) & 1 ? 0.0 : fz_u8(r) / 255.0;
        p.delta_shock = fz_u8(r) / 2550.0;
        p.min_delta_net = fz_u8(r) / 2550.0;
        p.min_delta_hedged = fz_u8(r) / 2550.0;
        p.short_option_rate = fz_u8(r) / 2550.0;
        p.basis_rate = fz_u8(r) / 2550.0;
        p.min_charge_rate = fz_u8(r) / 2550.0;
        p.im_multiplier = 1.0 + fz_u8(r) / 64.0;
        if (!(fz_u8(r) & 3)) { /* one field out of its domain, or an edge value */
            switch (fz_pick(r, 8)) {
            case 0: p.price_range = fz_edge(r); break;
            case 1: p.price_steps = fz_u8(r) + 60u; break;
            case 2: p.vol_up = fz_edge(r); break;
            case 3: p.n_extended = 17u; break;
            case 4: p.extended_moves[0] = fz_edge(r); p.n_extended = p.n_extended ? p.n_extended : 1u; break;
            case 5: p.im_multiplier = fz_edge(r); break;
            case 6: p.model = 3u + fz_u8(r); break;
            default: p.version = 0u; break;
            }
        }
        MUTATE(w, "set_portfolio_margin", risk_engine_set_portfolio_margin(w->engine, fz_u8(r) == 255 ? NULL : &p));
        return;
    }
    risk_portfolio_margin_result one[MAX_ACCOUNTS], all[MAX_ACCOUNTS];
    risk_portfolio_margin_unit units[N_ASSETS];
    uint64_t ids[MAX_ACCOUNTS];
    int rcs[MAX_ACCOUNTS];
    uint64_t before = world_digest(w);
    size_t n = 0, k = 0;
    for (size_t a = 0; a < w->n_acc; a++) {
        one[a] = (risk_portfolio_margin_result)RISK_PORTFOLIO_MARGIN_RESULT_INIT;
        units[0].version = RISK_PORTFOLIO_MARGIN_UNIT_VERSION;
        rcs[a] = risk_account_portfolio_margin(&one[a], units, N_ASSETS, w->acc[a], NULL);
        FZ_ASSERT(rcs[a] == RISK_OK || rcs[a] == RISK_EINVAL || rcs[a] == RISK_ENOMEM, "portfolio_margin: %s",
                  risk_errname(rcs[a]));
        if (rcs[a] == RISK_OK) {
            const risk_portfolio_margin_result *x = &one[a];
            FZ_ASSERT(x->maintenance_margin >= 0.0 && x->initial_margin >= x->maintenance_margin,
                      "portfolio margin: MM %.17g, IM %.17g", x->maintenance_margin, x->initial_margin);
            FZ_ASSERT(x->worst_loss >= 0.0 && x->n_units <= N_ASSETS, "portfolio margin: worst loss %.17g, %u units",
                      x->worst_loss, x->n_units);
            double sum = 0.0;
            for (uint32_t u = 0; u < x->n_units; u++) {
                FZ_ASSERT(units[u].maintenance_margin >= 0.0, "unit MM %.17g", units[u].maintenance_margin);
                sum += units[u].maintenance_margin;
            }
            FZ_ASSERT(!isnan(sum), "units' MM sum NaN");
        }
    }
    for (size_t a = 0; a < MAX_ACCOUNTS; a++)
        all[a] = (risk_portfolio_margin_result)RISK_PORTFOLIO_MARGIN_RESULT_INIT;
    int rc = risk_engine_portfolio_margin_all(all, ids, MAX_ACCOUNTS, w->engine, NULL, &n);
    FZ_ASSERT(world_digest(w) == before, "portfolio margin reads changed the state");
    FZ_ASSERT(rc == RISK_OK || rc == RISK_EINVAL || rc == RISK_ENOMEM, "portfolio_margin_all: %s", risk_errname(rc));
    if (rc != RISK_OK)
        return;
    for (size_t a = 0; a < w->n_acc; a++) {
        if (risk_account_margin_mode(w->acc[a]) != RISK_MARGIN_PORTFOLIO)
            continue;
        FZ_ASSERT(k < n && ids[k] == w->ids[a], "portfolio_margin_all: account order");
        FZ_ASSERT(rcs[a] == RISK_OK, "the batch succeeded, the account's call did not (%s)", risk_errname(rcs[a]));
        FZ_ASSERT(memcmp(&all[k], &one[a], sizeof one[a]) == 0,
                  "portfolio_margin_all differs from the account's call: MM %.17g vs %.17g", all[k].maintenance_margin,
                  one[a].maintenance_margin);
        k++;
    }
    FZ_ASSERT(k == n, "portfolio_margin_all counted %zu accounts, %zu are portfolio accounts", n, k);
}

/* The tick path (risk/tick.h): a batch of marks and prices through risk_tick_apply, after a
 * rebuild when an op the tracker cannot see ran since the last one (its documented contract).
 * Invariants: a refused batch changes nothing; after an apply or a rebuild every account's
 * tracked state is its state by risk_account_evaluate, and each reported change carries the
 * account's evaluation bit for bit, its old state the one tracked before. */
static void op_tick(world *w, fz_reader *r)
{
    if (!w->tracker) {
        int rc = risk_tick_new(&w->tracker, w->engine);
        FZ_ASSERT(rc == RISK_OK, "tick_new: %s", risk_errname(rc));
        w->tick_stale = 0;
    }
    uint32_t before[MAX_ACCOUNTS];
    size_t n_changes = 0;
    if (w->tick_stale || !(fz_u8(r) & 15)) {
        int rc = risk_tick_rebuild(w->tracker, &n_changes);
        FZ_ASSERT(rc == RISK_OK, "tick_rebuild: %s", risk_errname(rc));
        w->tick_stale = 0;
    }
    for (size_t a = 0; a < MAX_ACCOUNTS; a++) {
        int rc = risk_tick_state(w->tracker, w->acc[a], &before[a]);
        FZ_ASSERT(rc == RISK_OK, "tick_state: %s", risk_errname(rc));
    }
    uint32_t ins[N_INSTRUMENTS], assets[N_ASSETS];
    double marks[N_INSTRUMENTS], prices[N_ASSETS];
    size_t n_marks = fz_pick(r, N_INSTRUMENTS + 1), n_prices = fz_pick(r, N_ASSETS);
    for (size_t i = 0; i < n_marks; i++) {
        size_t k = fz_pick(r, N_INSTRUMENTS);
        ins[i] = w->ins[k];
        /* mostly a small move of the present mark (inside or just past a band), else anything */
        double mark = 0.0;
        int known = risk_engine_mark(w->engine, w->ins[k], &mark) == RISK_OK && mark > 0.0;
        uint8_t how = fz_u8(r);
        marks[i] = known && (how & 3) ? mark * (1.0 + ((double)fz_u8(r) - 128.0) / (how & 1 ? 12800.0 : 256.0))
                                      : fz_pos_grid(r, w->tick[k] * 10.0);
    }
    for (size_t i = 0; i < n_prices; i++) {
        assets[i] = w->asset[1 + fz_pick(r, N_ASSETS - 1)];
        prices[i] = fz_pos_grid(r, 1.0);
    }
    uint64_t digest_before = world_digest(w);
    int rc = risk_tick_apply(w->tracker, ins, marks, n_marks, assets, prices, n_prices, &n_changes);
    if (rc != RISK_OK) {
        FZ_ASSERT(rc != RISK_ENOMEM, "tick_apply: out of memory");
        FZ_ASSERT(world_digest(w) == digest_before, "tick_apply failed (%s) but changed the state", risk_errname(rc));
        for (size_t a = 0; a < MAX_ACCOUNTS; a++) {
            uint32_t st = 0;
            FZ_ASSERT(risk_tick_state(w->tracker, w->acc[a], &st) == RISK_OK && st == before[a],
                      "tick_apply failed (%s) but changed a tracked state", risk_errname(rc));
        }
        return;
    }
    check_all(w, "tick_apply");
    risk_tick_change changes[MAX_ACCOUNTS];
    for (size_t c = 0; c < MAX_ACCOUNTS; c++)
        changes[c] = (risk_tick_change)RISK_TICK_CHANGE_INIT;
    size_t count = 0;
    rc = risk_tick_changes(w->tracker, changes, MAX_ACCOUNTS, &count);
    FZ_ASSERT(rc == RISK_OK && count == n_changes, "tick_changes: %s, %zu of %zu", risk_errname(rc), count,
              n_changes);
    for (size_t a = 0; a < MAX_ACCOUNTS; a++) {
        risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
        FZ_ASSERT(risk_account_evaluate(w->acc[a], &s) == RISK_OK, "evaluate after tick_apply");
        uint32_t st = 0;
        FZ_ASSERT(risk_tick_state(w->tracker, w->acc[a], &st) == RISK_OK, "tick_state after apply");
        FZ_ASSERT(st == s.state, "account %zu: tracked state %u, evaluated %u after tick_apply", a, st, s.state);
        size_t seen = 0;
        for (size_t c = 0; c < count; c++) {
            if (changes[c].account_id != w->ids[a])
                continue;
            seen++;
            FZ_ASSERT(memcmp(&changes[c].summary, &s, sizeof s) == 0 && changes[c].new_state == s.state &&
                          changes[c].old_state == before[a] && changes[c].old_state != changes[c].new_state,
                      "account %zu: tick change differs from its evaluation", a);
        }
        FZ_ASSERT(seen == (st != before[a]), "account %zu: %zu changes reported, state %u -> %u", a, seen,
                  before[a], st);
    }
}

static void run_op(world *w, fz_reader *r)
{
    uint8_t op = fz_pick(r, 24);
    risk_account *acc = NULL;
    risk_position *p = NULL;
    size_t ii, ai;
    switch (op) {
    case 0:
    case 1: {
        acc = pick_account(w, r, NULL);
        ai = fz_pick(r, N_ASSETS);
        double x = fz_grid(r, ai == 0 ? 100.0 : 0.01);
        risk_basket *b = risk_account_basket(acc);
        if (op == 0)
            MUTATE(w, "set_balance", risk_basket_set_balance(b, w->asset[ai], x));
        else
            MUTATE(w, "add_balance", risk_basket_add_balance(b, w->asset[ai], x));
        break;
    }
    case 2:
    case 3: {
        acc = pick_account(w, r, NULL);
        ii = fz_pick(r, N_INSTRUMENTS);
        risk_position_spec ps = RISK_POSITION_SPEC_INIT;
        ps.instrument = w->ins[ii];
        ps.side = leg_for(acc, r);
        if (!(fz_u8(r) & 7))
            ps.side = fz_pick(r, 4);
        ps.margin_mode = fz_pick(r, 4);
        ps.qty = fz_grid(r, w->lot[ii]);
        if (ps.side != RISK_SIDE_BOTH)
            ps.qty = fabs(ps.qty);
        ps.entry = fz_pos_grid(r, w->tick[ii] * 100.0);
        uint32_t mode = ps.margin_mode ? ps.margin_mode : risk_account_margin_mode(acc);
        ps.isolated_margin = mode == RISK_MARGIN_ISOLATED ? fz_pos_grid(r, 10.0) : 0.0;
        if (op == 2) {
            MUTATE(w, "open_position", risk_account_open_position(acc, &ps, NULL));
        } else { /* the same row through the bulk call (risk/bulk.h): same rules, all or nothing */
            uint64_t id = risk_account_id(acc);
            risk_position_columns pc = RISK_POSITION_COLUMNS_INIT;
            pc.account_ids = &id;
            pc.instruments = &ps.instrument;
            pc.sides = &ps.side;
            pc.margin_modes = &ps.margin_mode;
            pc.qty = &ps.qty;
            pc.entry = &ps.entry;
            pc.isolated_margin = &ps.isolated_margin;
            MUTATE(w, "open_positions", risk_engine_open_positions(w->engine, &pc, 1));
        }
        break;
    }
    case 4:
    case 5:
        p = pick_position(w, r, &acc);
        if (p) {
            ii = ins_index(w, risk_position_instrument(p));
            double q = fz_grid(r, w->lot[ii]);
            double px = fz_pos_grid(r, w->tick[ii] * 100.0);
            MUTATE(w, "position_adjust", risk_position_adjust(p, q, px));
        }
        break;
    case 6:
        p = pick_position(w, r, &acc);
        if (p) {
            ii = ins_index(w, risk_position_instrument(p));
            MUTATE(w, "position_close", risk_position_close(p, fz_pos_grid(r, w->tick[ii] * 100.0)));
        }
        break;
    case 7:
        p = pick_position(w, r, &acc);
        if (p)
            MUTATE(w, "set_isolated_margin", risk_position_set_isolated_margin(p, fz_grid(r, 10.0)));
        break;
    case 8:
        ii = fz_pick(r, N_INSTRUMENTS);
        MUTATE(w, "set_mark", risk_engine_set_mark(w->engine, w->ins[ii], fz_pos_grid(r, w->tick[ii] * 10.0)));
        break;
    case 9: {
        ai = 1 + fz_pick(r, N_ASSETS - 1);
        MUTATE(w, "set_asset_price", risk_engine_set_asset_price(w->engine, w->asset[ai], fz_pos_grid(r, 1.0)));
        break;
    }
    case 10: {
        double marks[N_INSTRUMENTS];
        for (size_t i = 0; i < N_INSTRUMENTS; i++)
            marks[i] = fz_pos_grid(r, w->tick[i] * 10.0);
        MUTATE(w, "set_marks", risk_engine_set_marks(w->engine, w->ins, marks, N_INSTRUMENTS));
        break;
    }
    case 11:
        acc = pick_account(w, r, NULL);
        ii = fz_pick(r, N_INSTRUMENTS);
        MUTATE(w, "set_leverage", risk_account_set_leverage(acc, w->ins[ii], fz_pos_grid(r, 0.5)));
        break;
    case 12:
    case 13:
        op_whatif(w, r);
        break;
    case 14:
        op_max_order(w, r);
        break;
    case 15:
    case 16:
        op_plan(w, r);
        break;
    case 17:
        if (fz_u8(r) & 1)
            op_evaluate_all(w, r);
        else
            op_optimise(w, r);
        break;
    case 18:
        if (fz_u8(r) & 1) {
            op_policy(w, r);
        } else {
            ai = fz_pick(r, N_ASSETS);
            MUTATE(w, "insurance_fund_deposit",
                   risk_engine_insurance_fund_deposit(w->engine, w->asset[ai], fz_grid(r, 100.0)));
        }
        break;
    case 19: {
        risk_instrument_fees f = RISK_INSTRUMENT_FEES_INIT;
        ii = fz_pick(r, N_INSTRUMENTS);
        f.liquidation_price_with_fee = fz_pick(r, 3);
        f.maker_fee = fz_frac(r) / 16.0;
        f.taker_fee = fz_frac(r) / 16.0;
        f.max_notional = fz_u8(r) & 1 ? 0.0 : fz_pos_grid(r, 1000.0);
        MUTATE(w, "set_instrument_fees", risk_engine_set_instrument_fees(w->engine, w->ins[ii], &f));
        break;
    }
    case 20: { /* the clock (up to 60 days on, past the option's expiry), or a mark volatility */
        if (fz_u8(r) & 1) {
            /* fz_frac may give an edge value (inf, NaN, 1e300): converting those to an integer
             * is undefined, so the clock takes a plain fraction of 60 days */
            int64_t t = OPT_NOW + (int64_t)((double)fz_u8(r) / 255.0 * 60.0 * 86400.0);
            MUTATE(w, "set_time", risk_engine_set_time(w->engine, fz_u8(r) & 7 ? t : -t));
        } else {
            ii = fz_pick(r, N_INSTRUMENTS);
            double vol = fz_u8(r) & 7 ? 0.05 + 2.0 * fz_frac(r) : fz_grid(r, 1.0);
            MUTATE(w, "set_mark_vol", risk_engine_set_mark_vol(w->engine, w->ins[ii], vol));
        }
        break;
    }
    case 21: { /* settlement (refused before the expiry, and once settled) */
        size_t n = 0;
        ii = fz_u8(r) & 7 ? N_FUTURES : fz_pick(r, N_INSTRUMENTS);
        MUTATE(w, "settle_expired",
               risk_engine_settle_expired(w->engine, w->ins[ii], fz_pos_grid(r, 1000.0), &n));
        break;
    }
    case 22:
        op_portfolio(w, r);
        break;
    case 23:
        op_tick(w, r);
        break;
    }
    /* what the tick tracker cannot see (risk/tick.h): prices set past it, fees, policies, the
     * clock, volatilities, settlement, portfolio parameters; account changes it sees itself */
    if ((op >= 8 && op <= 10) || (op >= 17 && op <= 22))
        w->tick_stale = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size, 0};
    world w;
    if (setup(&w, &r) != 0) {
        teardown(&w);
        return 0;
    }
    check_all(&w, "setup");
    for (int i = 0; i < MAX_OPS && fz_more(&r); i++)
        run_op(&w, &r);
    teardown(&w);
    return 0;
}
