/* SPDX-License-Identifier: Apache-2.0 */
/* test_adl.c: auto-deleveraging queues across shards: the version 2 entry (instrument and side),
 * version 1 arrays still filled, and risk_adl_merge() of the queues of three engines equal, entry
 * for entry and bit for bit, to the queue of one engine holding every account. */
#include "test_util.h"

#include <math.h>
#include <string.h>

static const risk_margin_tier tiers[] = {{50000.0, 0.004, 125.0, 0, 0}, {250000.0, 0.005, 100.0, 0, 0},
                                         {1e12, 0.01, 50.0, 0, 0}};

#define N_ACCOUNTS 48

typedef struct spec {
    uint64_t id;
    uint32_t margin_mode, position_mode;
    double wallet, qty, entry, iso_margin, hedge_short;
} spec;

/* Deterministic accounts: cross and isolated, one-way and hedge, winners and losers, ties (the
 * same position in several accounts, so that only the account id orders them) and positions with
 * nothing behind them (score -inf). */
static void make_specs(spec *s)
{
    tu_rng r;
    tu_rng_seed(&r, 8008);
    for (int i = 0; i < N_ACCOUNTS; i++) {
        spec *x = &s[i];
        x->id = 5000u + (uint64_t)((i * 37) % 101); /* unique, not in creation order */
        x->margin_mode = i % 4 == 3 ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS;
        x->position_mode = i % 5 == 2 ? RISK_POSITION_HEDGE : RISK_POSITION_ONE_WAY;
        if (i % 6 == 1) { /* a tie group: same wallet and position */
            x->wallet = 1000.0;
            x->qty = 0.5;
            x->entry = 48000.0;
        } else {
            x->wallet = i % 9 == 4 ? 0.0 : tu_rng_range(&r, 200.0, 20000.0);
            x->qty = 0.001 * tu_rng_int(&r, 1, 3000) * (tu_rng_unit(&r) < 0.5 ? -1.0 : 1.0);
            x->entry = 0.1 * tu_rng_int(&r, 400000, 600000);
        }
        x->iso_margin = x->margin_mode == RISK_MARGIN_ISOLATED ? (i % 8 == 7 ? 1.0 : tu_rng_range(&r, 100.0, 5000.0))
                                                               : 0.0;
        x->hedge_short = x->position_mode == RISK_POSITION_HEDGE ? 0.001 * tu_rng_int(&r, 1, 2000) : 0.0;
    }
}

typedef struct shard {
    tu_alloc a;
    risk_engine *e;
    uint32_t usdt, btc, btcusdt, ethusdt;
    risk_account *acc[N_ACCOUNTS];
    size_t n;
} shard;

/* An engine with the same registry and market in every shard (same ids), holding the accounts
 * i with pick(i). */
static void shard_init(shard *sh, const spec *s, int which, int n_shards, const int *home)
{
    tu_alloc_init(&sh->a);
    sh->e = tu_engine(&sh->a, 0);
    sh->usdt = tu_asset(sh->e, "USDT", 1.0, 6);
    sh->btc = tu_asset_w(sh->e, "BTC", 50000.0, 8, 0.9, 0.95, 1.05, 1.02);
    uint32_t eth = tu_asset(sh->e, "ETH", 3000.0, 8);
    sh->btcusdt = tu_linear(sh->e, "BTCUSDT", sh->btc, sh->usdt, 1.0, 0.001, 0.1, 50000.0, tiers, 3);
    sh->ethusdt = tu_linear(sh->e, "ETHUSDT", eth, sh->usdt, 1.0, 0.01, 0.01, 3000.0, tiers, 3);
    sh->n = 0;
    for (int i = 0; i < N_ACCOUNTS; i++) {
        if (n_shards > 1 && home[i] != which)
            continue;
        const spec *x = &s[i];
        risk_account *acc = tu_account(sh->e, x->id, x->margin_mode, x->position_mode);
        if (x->wallet > 0.0)
            tu_balance(acc, sh->usdt, x->wallet);
        if (i % 7 == 0)
            tu_balance(acc, sh->btc, 0.02);
        if (x->position_mode == RISK_POSITION_HEDGE) {
            (void)tu_open(acc, sh->btcusdt, RISK_SIDE_LONG, RISK_MARGIN_DEFAULT, fabs(x->qty), x->entry,
                          x->iso_margin);
            (void)tu_open(acc, sh->btcusdt, RISK_SIDE_SHORT, RISK_MARGIN_DEFAULT, x->hedge_short, x->entry + 100.0,
                          x->iso_margin);
        } else {
            (void)tu_open(acc, sh->btcusdt, RISK_SIDE_BOTH, RISK_MARGIN_DEFAULT, x->qty, x->entry, x->iso_margin);
        }
        if (i % 3 == 0) /* another instrument, which must not appear in the BTCUSDT queues */
            (void)tu_open(acc, sh->ethusdt, x->position_mode == RISK_POSITION_HEDGE ? RISK_SIDE_SHORT : RISK_SIDE_BOTH,
                          RISK_MARGIN_DEFAULT, x->position_mode == RISK_POSITION_HEDGE ? 1.0 : -1.0, 2900.0,
                          x->iso_margin);
        sh->acc[sh->n++] = acc;
    }
    tu_mark(sh->e, sh->btcusdt, 49876.5);
}

static void shard_free(shard *sh)
{
    for (size_t i = 0; i < sh->n; i++)
        risk_account_free(sh->acc[i]);
    risk_engine_free(sh->e);
}

static size_t ranking(const shard *sh, uint32_t side, risk_adl_entry *out, size_t cap)
{
    size_t n = 0;
    out[0].version = RISK_ADL_ENTRY_VERSION;
    tu_assert_status(risk_engine_adl_ranking(sh->e, sh->btcusdt, side, out, cap, &n), RISK_OK);
    return n;
}

static void assert_entry_equal(const risk_adl_entry *got, const risk_adl_entry *want)
{
    assert_int_equal(got->version, RISK_ADL_ENTRY_VERSION);
    assert_int_equal(got->account_id, want->account_id);
    assert_int_equal(got->leg, want->leg);
    assert_int_equal(got->instrument, want->instrument);
    assert_int_equal(got->side, want->side);
    tu_assert_bits(got->qty, want->qty);
    tu_assert_bits(got->pnl_pct, want->pnl_pct);
    tu_assert_bits(got->effective_leverage, want->effective_leverage);
    tu_assert_bits(got->score, want->score);
}

/* Three shards merged give the one-engine queue, for both sides. */
static void test_adl_merge_of_three_shards_equals_one_engine(void **state)
{
    (void)state;
    spec s[N_ACCOUNTS];
    make_specs(s);
    int home[N_ACCOUNTS];
    tu_rng r;
    tu_rng_seed(&r, 31337);
    for (int i = 0; i < N_ACCOUNTS; i++)
        home[i] = tu_rng_int(&r, 0, 2);
    shard all, part[3];
    shard_init(&all, s, 0, 1, home);
    for (int j = 0; j < 3; j++)
        shard_init(&part[j], s, j, 3, home);
    uint32_t sides[2] = {RISK_SIDE_LONG, RISK_SIDE_SHORT};
    for (int t = 0; t < 2; t++) {
        risk_adl_entry want[2 * N_ACCOUNTS], q[3][2 * N_ACCOUNTS], got[2 * N_ACCOUNTS];
        size_t n_want = ranking(&all, sides[t], want, 2 * N_ACCOUNTS);
        assert_true(n_want >= 15);
        const risk_adl_entry *queues[3];
        size_t counts[3], sum = 0;
        for (int j = 0; j < 3; j++) {
            counts[j] = ranking(&part[j], sides[t], q[j], 2 * N_ACCOUNTS);
            assert_true(counts[j] > 0);
            queues[j] = q[j];
            sum += counts[j];
        }
        assert_int_equal(sum, n_want);
        size_t n = 0;
        tu_assert_status(risk_adl_merge(got, 2 * N_ACCOUNTS, queues, counts, 3, &n), RISK_OK);
        assert_int_equal(n, n_want);
        int ties = 0, last = 0;
        for (size_t i = 0; i < n; i++) {
            assert_entry_equal(&got[i], &want[i]);
            assert_int_equal(got[i].side, sides[t]);
            assert_int_equal(got[i].instrument, all.btcusdt);
            if (i && got[i].score == got[i - 1].score) {
                ties++;
                assert_true(got[i].account_id > got[i - 1].account_id);
            }
            last += isinf(got[i].score) && got[i].score < 0;
        }
        if (t == 0) { /* the long side holds the tie group and positions with nothing behind them */
            assert_true(ties >= 3);
            assert_true(last >= 1);
            assert_true(isinf(got[n - 1].score) && got[n - 1].score < 0);
        }
        /* The same merge in another order of the queues, and with an empty queue added. */
        const risk_adl_entry *rev[4] = {q[2], NULL, q[0], q[1]};
        size_t rc[4] = {counts[2], 0, counts[0], counts[1]};
        tu_assert_status(risk_adl_merge(got, 2 * N_ACCOUNTS, rev, rc, 4, &n), RISK_OK);
        for (size_t i = 0; i < n; i++)
            assert_entry_equal(&got[i], &want[i]);
    }
    shard_free(&all);
    for (int j = 0; j < 3; j++)
        shard_free(&part[j]);
}

/* The version 1 layout (without instrument and side) is still filled, without overrun. */
typedef struct adl_entry_v1 {
    uint32_t version, leg;
    uint64_t account_id;
    double qty, pnl_pct, effective_leverage, score;
} adl_entry_v1;

static void test_adl_ranking_fills_version_1_arrays(void **state)
{
    (void)state;
    spec s[N_ACCOUNTS];
    make_specs(s);
    int home[N_ACCOUNTS] = {0};
    shard all;
    shard_init(&all, s, 0, 1, home);
    risk_adl_entry v2[2 * N_ACCOUNTS];
    size_t n2 = ranking(&all, RISK_SIDE_LONG, v2, 2 * N_ACCOUNTS);
    adl_entry_v1 v1[2 * N_ACCOUNTS + 1];
    memset(v1, 0xAB, sizeof v1);
    v1[0].version = 1;
    size_t n1 = 0;
    tu_assert_status(risk_engine_adl_ranking(all.e, all.btcusdt, RISK_SIDE_LONG, (risk_adl_entry *)(void *)v1, n2,
                                             &n1),
                     RISK_OK);
    assert_int_equal(n1, n2);
    for (size_t i = 0; i < n1; i++) {
        assert_int_equal(v1[i].version, 1);
        assert_int_equal(v1[i].account_id, v2[i].account_id);
        assert_int_equal(v1[i].leg, v2[i].leg);
        tu_assert_bits(v1[i].score, v2[i].score);
        tu_assert_bits(v1[i].qty, v2[i].qty);
    }
    unsigned char sentinel[sizeof v1[0]];
    memset(sentinel, 0xAB, sizeof sentinel);
    assert_memory_equal(&v1[n1], sentinel, sizeof sentinel); /* 48-byte stride: nothing beyond */
    v1[0].version = 3;
    tu_assert_status(risk_engine_adl_ranking(all.e, all.btcusdt, RISK_SIDE_LONG, (risk_adl_entry *)(void *)v1, n2,
                                             &n1),
                     RISK_EVERSION);
    shard_free(&all);
}

static risk_adl_entry entry(uint64_t id, uint32_t leg, double score)
{
    risk_adl_entry x = RISK_ADL_ENTRY_INIT;
    x.account_id = id;
    x.leg = leg;
    x.score = score;
    x.instrument = 3;
    x.side = RISK_SIDE_SHORT;
    return x;
}

/* Hand-made queues: the order, and every refusal leaving out untouched. */
static void test_adl_merge_order_and_errors(void **state)
{
    (void)state;
    risk_adl_entry a[3] = {entry(7, 0, 2.0), entry(3, 0, 1.0), entry(9, 0, -INFINITY)};
    risk_adl_entry b[3] = {entry(2, 0, 2.0), entry(4, 0, 1.0), entry(1, 0, -INFINITY)};
    risk_adl_entry c[1] = {entry(5, 0, 1.5)};
    const risk_adl_entry *qs[3] = {a, b, c};
    size_t counts[3] = {3, 3, 1};
    risk_adl_entry out[8];
    size_t n = 0;
    tu_assert_status(risk_adl_merge(out, 8, qs, counts, 3, &n), RISK_OK);
    assert_int_equal(n, 7);
    const uint64_t order[7] = {2, 7, 5, 3, 4, 1, 9}; /* score desc, then account id */
    for (int i = 0; i < 7; i++)
        assert_int_equal(out[i].account_id, order[i]);

    risk_adl_entry keep[8];
    memset(out, 0x5A, sizeof out);
    memcpy(keep, out, sizeof out);
    /* too small: the count only */
    n = 0;
    tu_assert_status(risk_adl_merge(out, 6, qs, counts, 3, &n), RISK_EBUFFER);
    assert_int_equal(n, 7);
    tu_assert_status(risk_adl_merge(NULL, 0, qs, counts, 3, &n), RISK_EBUFFER);
    /* a position in two queues */
    risk_adl_entry dup[1] = {entry(4, 0, 1.0)};
    const risk_adl_entry *qd[3] = {a, b, dup};
    size_t cd[3] = {3, 3, 1};
    tu_assert_status(risk_adl_merge(out, 8, qd, cd, 3, &n), RISK_EINVAL);
    /* a queue out of order */
    risk_adl_entry bad[2] = {entry(1, 0, 1.0), entry(2, 0, 2.0)};
    const risk_adl_entry *qb[1] = {bad};
    size_t cb[1] = {2};
    tu_assert_status(risk_adl_merge(out, 8, qb, cb, 1, &n), RISK_EINVAL);
    /* ties broken the wrong way (account id descending) */
    bad[0] = entry(2, 0, 1.0);
    bad[1] = entry(1, 0, 1.0);
    tu_assert_status(risk_adl_merge(out, 8, qb, cb, 1, &n), RISK_EINVAL);
    /* another instrument, another side, a NaN score, an old version */
    bad[0] = entry(1, 0, 2.0);
    bad[1] = entry(2, 0, 1.0);
    bad[1].instrument = 4;
    tu_assert_status(risk_adl_merge(out, 8, qb, cb, 1, &n), RISK_EINVAL);
    bad[1].instrument = 3;
    bad[1].side = RISK_SIDE_LONG;
    tu_assert_status(risk_adl_merge(out, 8, qb, cb, 1, &n), RISK_EINVAL);
    bad[1].side = RISK_SIDE_SHORT;
    bad[1].score = NAN;
    tu_assert_status(risk_adl_merge(out, 8, qb, cb, 1, &n), RISK_EINVAL);
    bad[1].score = 1.0;
    bad[1].version = 1;
    tu_assert_status(risk_adl_merge(out, 8, qb, cb, 1, &n), RISK_EVERSION);
    bad[1].version = RISK_ADL_ENTRY_VERSION;
    /* NULL arguments */
    tu_assert_status(risk_adl_merge(out, 8, qb, cb, 1, NULL), RISK_ENULL);
    tu_assert_status(risk_adl_merge(NULL, 8, qb, cb, 1, &n), RISK_ENULL);
    tu_assert_status(risk_adl_merge(out, 8, NULL, cb, 1, &n), RISK_ENULL);
    tu_assert_status(risk_adl_merge(out, 8, qb, NULL, 1, &n), RISK_ENULL);
    const risk_adl_entry *qn[1] = {NULL};
    tu_assert_status(risk_adl_merge(out, 8, qn, cb, 1, &n), RISK_ENULL);
    tu_assert_status(risk_adl_merge(out, 8, qb, cb, RISK_ADL_MERGE_MAX_QUEUES + 1, &n), RISK_EINVAL);
    assert_memory_equal(out, keep, sizeof out); /* no refusal wrote anything */
    /* nothing to merge */
    tu_assert_status(risk_adl_merge(NULL, 0, NULL, NULL, 0, &n), RISK_OK);
    assert_int_equal(n, 0);
    tu_assert_status(risk_adl_merge(out, 8, qb, cb, 1, &n), RISK_OK);
    assert_int_equal(n, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adl_merge_of_three_shards_equals_one_engine),
        cmocka_unit_test(test_adl_ranking_fills_version_1_arrays),
        cmocka_unit_test(test_adl_merge_order_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
