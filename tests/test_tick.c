/* SPDX-License-Identifier: Apache-2.0 */
/* test_tick.c: the tick path (risk/tick.h) against a full sweep. A book of accounts near their
 * thresholds (cross and isolated, linear, inverse and a linear contract settled in BTC, tiered
 * schedules, balances in USDT and BTC, some borrowed) takes 10,000 random ticks: small moves,
 * jumps, several marks and prices at once, with fills, new positions and balance changes in
 * between. After every tick risk_engine_evaluate_all() gives the transitions a full sweep sees;
 * the tracker must report exactly those (account, old state, new state) and, bit for bit, the
 * same summaries, while re-evaluating fewer accounts than the sweep. */
#include "test_util.h"

#include <math.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

/* core/tick.c, internal (linked from lib/librisk.a): the tracker's counters counted by a walk */
void risk__tick_walk_counts(const struct risk_tick *t, uint64_t *accounts_out, uint64_t *band_entries_out);

#define N_ACCOUNTS 300
#define N_TICKS 10000

typedef struct book {
    tu_alloc al;
    risk_engine *e;
    uint32_t usdt, btc, eth, sol;
    uint32_t inst[5];
    double tick[5], lot[5];
    double base_mark[5], base_price[4];
    uint32_t asset_ids[3];
    risk_account *acc[N_ACCOUNTS];
} book;

static double on_tick(double p, double tick)
{
    double r = round(p / tick) * tick;
    return r < tick ? tick : r;
}

/* variant 0: the mixed book above. Variant 1, for the directional bands (docs/tick.md 2): a
 * margin-call health of 3 and a size premium on SOLUSDT and BTCUSD (MM rates up to ~0.6, so
 * h r_max > 1 and a favourable move of the mark can still raise h MM faster than upnl),
 * 1-2 positions per account (more of them inverse), and each account's USDT balance set so that it
 * starts within +-4 % of its liquidation or margin-call threshold (some past it), or, for
 * isolated accounts, a USDT debt that puts its equity near 0: net longs and
 * net shorts, healthy, in margin call and liquidatable, cross and isolated; then funding accrued on
 * BTCUSD and ETHBTC, so that pending funding is in the values. */
static void book_init(book *b, tu_rng *rng, int variant)
{
    tu_alloc_init(&b->al);
    b->e = tu_engine(&b->al, 0);
    if (variant)
        tu_assert_status(risk_engine_set_margin_call_health(b->e, 3.0), RISK_OK);
    b->usdt = tu_asset(b->e, "USDT", 1.0, 6);
    b->btc = tu_asset_w(b->e, "BTC", 50000.0, 8, 0.9, 0.95, 1.1, 1.05);
    b->eth = tu_asset(b->e, "ETH", 3000.0, 8);
    b->sol = tu_asset(b->e, "SOL", 100.0, 8);
    b->asset_ids[0] = b->btc, b->asset_ids[1] = b->eth, b->asset_ids[2] = b->sol;
    b->base_price[0] = 50000.0, b->base_price[1] = 3000.0, b->base_price[2] = 100.0;
    const risk_margin_tier t3[] = {tu_tier(100000.0, 0.005, 100.0), tu_tier(1000000.0, 0.01, 50.0),
                                   tu_tier(1e12, 0.025, 20.0)};
    const risk_margin_tier t1[] = {tu_tier(1e12, 0.01, 50.0)};
    b->inst[0] = tu_linear(b->e, "BTCUSDT", b->btc, b->usdt, 1.0, 0.001, 0.1, 50010.0, t3, 3);
    b->inst[1] = tu_linear(b->e, "ETHUSDT", b->eth, b->usdt, 1.0, 0.01, 0.01, 3001.0, t3, 3);
    b->inst[2] = tu_linear(b->e, "SOLUSDT", b->sol, b->usdt, 1.0, 0.1, 0.001, 100.05, t1, 1);
    /* book 1: one tier (its premium rates would leave jumps at the caps, which zero the bands) */
    b->inst[3] = variant ? tu_inverse(b->e, "BTCUSD", b->btc, 100.0, 1.0, 0.5, 49990.0, t1, 1)
                         : tu_inverse(b->e, "BTCUSD", b->btc, 100.0, 1.0, 0.5, 49990.0, t3, 3);
    b->inst[4] = tu_linear(b->e, "ETHBTC", b->eth, b->btc, 1.0, 0.01, 0.00001, 0.06, t1, 1);
    const double ticks[5] = {0.1, 0.01, 0.001, 0.5, 0.00001}, lots[5] = {0.001, 0.01, 0.1, 1.0, 0.01};
    const double marks[5] = {50010.0, 3001.0, 100.05, 49990.0, 0.06};
    for (int i = 0; i < 5; i++)
        b->tick[i] = ticks[i], b->lot[i] = lots[i], b->base_mark[i] = marks[i];
    if (variant) {
        risk_size_premium prem = RISK_SIZE_PREMIUM_INIT;
        prem.imf = 0.01; /* SOL: S = 10-4,000 SOL, MM rates up to 0.63 */
        tu_assert_status(risk_engine_set_instrument_size_premium(b->e, b->inst[2], &prem), RISK_OK);
        prem.imf = 0.001; /* BTCUSD: S = 10^3-4 10^5 USD, up to 0.63 */
        tu_assert_status(risk_engine_set_instrument_size_premium(b->e, b->inst[3], &prem), RISK_OK);
    }
    for (int k = 0; k < N_ACCOUNTS; k++) {
        uint32_t mode = tu_rng_unit(rng) < 0.25 ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS;
        risk_account *a = tu_account(b->e, (uint64_t)k + 1, mode, RISK_POSITION_ONE_WAY);
        int n = variant ? tu_rng_int(rng, 1, 2) : tu_rng_int(rng, 1, 4);
        double gross = 0.0;
        int used[5] = {0};
        for (int p = 0; p < n; p++) {
            int j = variant && tu_rng_unit(rng) < 0.6 ? 2 + tu_rng_int(rng, 0, 1) : tu_rng_int(rng, 0, 4);
            if (used[j])
                continue;
            used[j] = 1;
            double value = tu_rng_range(rng, 1000.0, 400000.0); /* USDT */
            double units = j == 3 ? value / 100.0 : j == 4 ? value / (3000.0 * lots[4]) * 1.0
                                                            : value / marks[j] / lots[j];
            double lots_n = floor(units) + 1.0;
            double qty = (tu_rng_unit(rng) < 0.5 ? -1.0 : 1.0) * lots_n * lots[j];
            double entry = on_tick(marks[j] * tu_rng_range(rng, 0.97, 1.03), ticks[j]);
            double margin = 0.0;
            if (mode == RISK_MARGIN_ISOLATED) /* 1.5-6 % of the value, in the settle asset */
                margin = floor(tu_rng_range(rng, 0.015, 0.06) * (j == 3 ? value / 50000.0 * 1e8
                                                                 : j == 4 ? value / 50000.0 * 1e8
                                                                          : value * 1e6)) /
                         (j == 3 || j == 4 ? 1e8 : 1e6);
            (void)tu_open(a, b->inst[j], RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, qty, entry, margin);
            gross += value;
        }
        if (!variant)
            tu_balance(a, b->usdt, floor(gross * tu_rng_range(rng, 0.008, 0.08)));
        if (tu_rng_unit(rng) < 0.3) /* BTC collateral or a BTC debt */
            tu_balance(a, b->btc, floor(tu_rng_range(rng, -0.3, 0.6) * gross / 50000.0 * 1e6) / 1e6);
        if (variant) { /* C_maint = k MM (1 + eps), k = 1 or 3, with the USDT balance */
            risk_account_summary s0 = tu_eval(a);
            double k_thr = tu_rng_unit(rng) < 0.5 ? 1.0 : 3.0;
            double want = k_thr * s0.maintenance_margin * (1.0 + tu_rng_range(rng, -0.04, 0.04));
            double bal = floor(want - s0.collateral_maint);
            if (bal > 0.0)
                tu_balance(a, b->usdt, bal);
            else if (mode == RISK_MARGIN_ISOLATED && tu_rng_unit(rng) < 0.6) {
                /* a USDT debt that leaves the equity within +-4 % of its size around 0 (the
                 * bankruptcy threshold, which BTC moves reach through coin-settled pools) */
                double e0 = tu_eval(a).equity;
                if (e0 > 0.0)
                    tu_balance(a, b->usdt, floor(-e0 * (1.0 + tu_rng_range(rng, -0.04, 0.04))));
            }
        }
        b->acc[k] = a;
    }
    if (variant) { /* pending funding on the coin-settled contracts: in the isolated margins, the
                    * cross upnl, and through the BTC price */
        tu_assert_status(risk_engine_accrue_funding(b->e, b->inst[3], 0.004, 0.004, 0.0, 1000), RISK_OK);
        tu_assert_status(risk_engine_accrue_funding(b->e, b->inst[4], -0.003, -0.003, 0.0, 1000), RISK_OK);
    }
}

static void book_free(book *b)
{
    for (int k = 0; k < N_ACCOUNTS; k++)
        risk_account_free(b->acc[k]);
    risk_engine_free(b->e);
}

static void sweep(const book *b, risk_account_summary *s, uint64_t *ids)
{
    size_t n = 0;
    s[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
    tu_assert_status(risk_engine_evaluate_all(b->e, s, ids, N_ACCOUNTS, 1, &n), RISK_OK);
    assert_int_equal(n, N_ACCOUNTS);
}

/* A fill, a new position or a balance change on a random account. */
static void random_change(book *b, tu_rng *rng)
{
    risk_account *a = b->acc[tu_rng_int(rng, 0, N_ACCOUNTS - 1)];
    int kind = tu_rng_int(rng, 0, 2);
    int rc;
    if (kind == 0 && risk_account_position_count(a) > 0) {
        risk_position *p = NULL;
        rc = risk_account_position_at(a, 0, &p);
        tu_assert_status(rc, RISK_OK);
        uint32_t inst = risk_position_instrument(p);
        int j = 0;
        while (b->inst[j] != inst)
            j++;
        double mark = 0.0;
        tu_assert_status(risk_engine_mark(b->e, inst, &mark), RISK_OK);
        double lots = (double)tu_rng_int(rng, 1, 50) * b->lot[j] * (tu_rng_unit(rng) < 0.5 ? -1.0 : 1.0);
        rc = risk_position_adjust(p, lots, mark); /* may be refused (closing past zero...): then nothing */
        (void)rc;
    } else if (kind == 1) {
        int j = tu_rng_int(rng, 0, 2);
        double mark = 0.0;
        tu_assert_status(risk_engine_mark(b->e, b->inst[j], &mark), RISK_OK);
        risk_position_spec ps = RISK_POSITION_SPEC_INIT;
        ps.instrument = b->inst[j];
        ps.qty = (double)tu_rng_int(rng, 1, 100) * b->lot[j];
        ps.entry = mark;
        ps.isolated_margin = risk_account_margin_mode(a) == RISK_MARGIN_ISOLATED ? floor(ps.qty * mark * 0.05) : 0.0;
        rc = risk_account_open_position(a, &ps, NULL); /* refused when already open: nothing */
        (void)rc;
    } else {
        rc = risk_basket_add_balance(risk_account_basket(a), b->usdt, floor(tu_rng_range(rng, -2000.0, 2000.0)));
        (void)rc;
    }
}

/* n_ticks random ticks on the book of `variant`, each checked against a full sweep; returns
 * nothing, fails the test on the first difference. */
static void run_book(int variant, uint64_t seed, int n_ticks, uint64_t min_transitions)
{
    tu_rng rng;
    tu_rng_seed(&rng, seed);
    static book b;
    book_init(&b, &rng, variant);
    risk_tick *t = NULL;
    tu_assert_status(risk_tick_new(&t, b.e), RISK_OK);
    risk_tick *t2 = NULL;
    tu_assert_status(risk_tick_new(&t2, b.e), RISK_ESTATE); /* one per engine */
    assert_null(t2);
    static risk_account_summary prev[N_ACCOUNTS], now[N_ACCOUNTS];
    static uint64_t ids[N_ACCOUNTS];
    static risk_tick_change ch[N_ACCOUNTS];
    sweep(&b, prev, ids);
    for (int k = 0; k < N_ACCOUNTS; k++) {
        uint32_t st = 9;
        tu_assert_status(risk_tick_state(t, b.acc[k], &st), RISK_OK);
        assert_int_equal(st, prev[k].state);
    }
    uint64_t evaluated = 0, transitions = 0;
    double marks[5], prices[3];
    for (int i = 0; i < 5; i++)
        marks[i] = b.base_mark[i];
    for (int i = 0; i < 3; i++)
        prices[i] = b.base_price[i];
    for (int tk = 0; tk < n_ticks; tk++) {
        if (tk % 20 == 7) /* changes between ticks */
            for (int c = tu_rng_int(&rng, 1, 3); c > 0; c--)
                random_change(&b, &rng);
        uint32_t mi[5], ai[3];
        double mv[5], av[3];
        size_t nm = 0, na = 0;
        int kind = tu_rng_int(&rng, 0, 9); /* 0-6 small, 7-8 jump, 9 everything at once */
        int n_keys = kind == 9 ? 8 : tu_rng_int(&rng, 1, 3);
        for (int q = 0; q < n_keys; q++) {
            int key = kind == 9 ? q : tu_rng_int(&rng, 0, 7);
            double r = kind <= 6 ? tu_rng_range(&rng, -0.003, 0.003) : tu_rng_range(&rng, -0.08, 0.08);
            if (key < 5) {
                int dup = 0;
                for (size_t z = 0; z < nm; z++)
                    dup |= mi[z] == b.inst[key];
                if (dup)
                    continue;
                double m = marks[key] * (1.0 + r);
                if (m > b.base_mark[key] * 1.5 || m < b.base_mark[key] / 1.5) /* mean reversion */
                    m = b.base_mark[key] * tu_rng_range(&rng, 0.95, 1.05);
                marks[key] = on_tick(m, b.tick[key]);
                mi[nm] = b.inst[key];
                mv[nm++] = marks[key];
            } else {
                int j = key - 5, dup = 0;
                for (size_t z = 0; z < na; z++)
                    dup |= ai[z] == b.asset_ids[j];
                if (dup)
                    continue;
                double p = prices[j] * (1.0 + r);
                if (p > b.base_price[j] * 1.5 || p < b.base_price[j] / 1.5)
                    p = b.base_price[j] * tu_rng_range(&rng, 0.95, 1.05);
                prices[j] = p;
                ai[na] = b.asset_ids[j];
                av[na++] = p;
            }
        }
        size_t n_changes = 0;
        tu_assert_status(risk_tick_apply(t, mi, mv, nm, ai, av, na, &n_changes), RISK_OK);
        sweep(&b, now, ids);
        size_t n_ch = 0;
        ch[0].version = RISK_TICK_CHANGE_VERSION;
        tu_assert_status(risk_tick_changes(t, ch, N_ACCOUNTS, &n_ch), RISK_OK);
        assert_int_equal(n_ch, n_changes);
        size_t want = 0;
        for (int k = 0; k < N_ACCOUNTS; k++) {
            if (now[k].state == prev[k].state)
                continue;
            want++;
            size_t f = 0;
            while (f < n_ch && ch[f].account_id != ids[k])
                f++;
            if (f == n_ch)
                fail_msg("tick %d: account %llu went %u -> %u, not reported", tk, (unsigned long long)ids[k],
                         prev[k].state, now[k].state);
            assert_int_equal(ch[f].old_state, prev[k].state);
            assert_int_equal(ch[f].new_state, now[k].state);
            assert_memory_equal(&ch[f].summary, &now[k], sizeof now[k]);
        }
        assert_int_equal(n_ch, want); /* nothing reported that did not change */
        transitions += want;
        risk_tick_stats st = RISK_TICK_STATS_INIT;
        tu_assert_status(risk_tick_stats_get(t, &st), RISK_OK);
        assert_int_equal(st.accounts, N_ACCOUNTS);
        uint64_t walk_accounts = 0, walk_entries = 0; /* the O(1) counters against a walk */
        risk__tick_walk_counts(t, &walk_accounts, &walk_entries);
        assert_int_equal(st.accounts, walk_accounts);
        assert_int_equal(st.band_entries, walk_entries);
        evaluated += st.evaluated;
        memcpy(prev, now, sizeof prev);
    }
    print_message("tick (book %d): %llu transitions, %.1f accounts evaluated per tick of %d\n", variant,
                  (unsigned long long)transitions, (double)evaluated / n_ticks, N_ACCOUNTS);
    /* it saw transitions, and touched fewer accounts than sweeping would, on a book kept near its
     * thresholds by 8 % jumps (bench_tick measures the saving on a realistic book) */
    assert_true(transitions > min_transitions);
    assert_true(evaluated < (uint64_t)n_ticks * N_ACCOUNTS / 2);
    risk_tick_free(t);
    book_free(&b);
}

static void test_tick_matches_full_sweep(void **state)
{
    (void)state;
    run_book(0, 0x71c4ULL, N_TICKS, 200);
}

/* The directional bands on the book built for them (book_init variant 1): accounts in margin
 * call and liquidatable ones recovering (their thresholds of different signs), h r_max > 1, net
 * shorts, inverse and isolated positions. */
static void test_tick_directional_bands(void **state)
{
    (void)state;
    run_book(1, 0xd1ecULL, N_TICKS, 200);
}

/* Bad input changes nothing; a rejected price undoes the batch's marks. */
static void test_tick_bad_input(void **state)
{
    (void)state;
    tu_rng rng;
    tu_rng_seed(&rng, 5);
    static book b;
    book_init(&b, &rng, 0);
    risk_tick *t = NULL;
    tu_assert_status(risk_tick_new(NULL, b.e), RISK_ENULL);
    tu_assert_status(risk_tick_new(&t, NULL), RISK_ENULL);
    tu_assert_status(risk_tick_new(&t, b.e), RISK_OK);
    size_t n = 0;
    uint32_t inst = b.inst[0], bad_asset = 999;
    double mark = 51000.0, price = 51000.0, m0 = 0.0;
    tu_assert_status(risk_tick_apply(NULL, &inst, &mark, 1, NULL, NULL, 0, &n), RISK_ENULL);
    tu_assert_status(risk_tick_apply(t, &inst, &mark, 1, NULL, NULL, 0, NULL), RISK_ENULL);
    tu_assert_status(risk_tick_apply(t, NULL, &mark, 1, NULL, NULL, 0, &n), RISK_ENULL);
    tu_assert_status(risk_tick_apply(t, &inst, &mark, 1, &bad_asset, &price, 1, &n), RISK_ENOTFOUND);
    tu_assert_status(risk_engine_mark(b.e, inst, &m0), RISK_OK);
    tu_assert_bits(m0, 50010.0);
    assert_true(strlen(risk_tick_errmsg(t)) > 0);
    double nan_mark = NAN;
    tu_assert_status(risk_tick_apply(t, &inst, &nan_mark, 1, NULL, NULL, 0, &n), RISK_EINVAL);
    risk_tick_change c = RISK_TICK_CHANGE_INIT;
    c.version = 7;
    tu_assert_status(risk_tick_apply(t, &inst, &mark, 1, NULL, NULL, 0, &n), RISK_OK);
    size_t cnt = 0;
    if (n)
        tu_assert_status(risk_tick_changes(t, &c, 1, &cnt), n > 1 ? RISK_EBUFFER : RISK_EVERSION);
    tu_assert_status(risk_tick_changes(t, NULL, 0, &cnt), n ? RISK_EBUFFER : RISK_OK);
    risk_tick_stats st = RISK_TICK_STATS_INIT;
    st.version = 0;
    tu_assert_status(risk_tick_stats_get(t, &st), RISK_EVERSION);
    uint32_t s = 0;
    tu_assert_status(risk_tick_state(t, NULL, &s), RISK_ENULL);
    /* a freed account leaves the tracker; a new one joins at the next apply */
    risk_account_free(b.acc[0]);
    b.acc[0] = tu_account(b.e, 100000, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    tu_assert_status(risk_tick_state(t, b.acc[0], &s), RISK_ENOTFOUND);
    tu_assert_status(risk_tick_rebuild(t, &n), RISK_OK);
    tu_assert_status(risk_tick_state(t, b.acc[0], &s), RISK_OK);
    risk_tick_stats cnt_st = RISK_TICK_STATS_INIT;
    tu_assert_status(risk_tick_stats_get(t, &cnt_st), RISK_OK);
    uint64_t walk_accounts = 0, walk_entries = 0; /* a freed and a new account: the counters follow */
    risk__tick_walk_counts(t, &walk_accounts, &walk_entries);
    assert_int_equal(cnt_st.accounts, walk_accounts);
    assert_int_equal(cnt_st.accounts, N_ACCOUNTS);
    assert_int_equal(cnt_st.band_entries, walk_entries);
    assert_int_equal(s, RISK_STATE_HEALTHY);
    tu_assert_status(risk_tick_stats_get(t, &(risk_tick_stats)RISK_TICK_STATS_INIT), RISK_OK);
    risk_tick_free(t);
    risk_tick_free(NULL);
    assert_string_equal(risk_tick_errmsg(NULL), "");
    book_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tick_matches_full_sweep),
        cmocka_unit_test(test_tick_directional_bands),
        cmocka_unit_test(test_tick_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
