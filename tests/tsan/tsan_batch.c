/* SPDX-License-Identifier: Apache-2.0 */
/* tsan_batch.c: batch evaluation with several threads, built with -fsanitize=thread by
 * `make check-extra` (docs/fuzzing.md, docs/threading.md).
 *
 * Three kinds of concurrency the threading contract allows:
 *  - risk_engine_evaluate_all() with 2..8 worker threads over one engine (2,100 accounts: the
 *    engine gives a sweep one worker per 1,024 account slots, so 3 of them work);
 *  - several application threads calling risk_engine_evaluate_all() on one engine of more than
 *    16 instruments at once (one call borrows the engine's sweep scratch, the others do without);
 *  - several application threads evaluating distinct accounts of one engine at once
 *    (risk_account_evaluate, risk_account_position_results, risk_account_whatif,
 *    risk_account_liquidation_plan), while no thread mutates it.
 * And a snapshot of the engine read back with RISK_SNAPSHOT_PARALLEL (a helper thread fills
 * the id map and checks the accounts section while the reading thread builds the accounts).
 * All of it twice: an engine without and one with the sweep image (RISK_ENGINE_SWEEP_IMAGE),
 * whose workers rebuild and read disjoint tiles and which one of several concurrent sweeps
 * borrows. ThreadSanitizer fails the run on any data race; the program also checks that every
 * thread count gives the bit-identical summaries of one thread.
 */
#include <risk.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ACCOUNTS 2100
#define N_READERS 4

static risk_engine *engine;
static risk_account *accounts[N_ACCOUNTS];
static uint32_t usdt, btc, eth, btcusdt, ethusdt;

#define CHECK(call) do { int rc_ = (call); if (rc_ != RISK_OK) { \
    fprintf(stderr, "%s:%d: %s: %s %s\n", __FILE__, __LINE__, #call, risk_errname(rc_), risk_engine_errmsg(engine)); \
    exit(1); } } while (0)

static void build(uint32_t flags)
{
    risk_engine_options eo = RISK_ENGINE_OPTIONS_INIT;
    eo.flags = flags;
    CHECK(risk_engine_new(&engine, &eo));
    risk_asset_spec as = RISK_ASSET_SPEC_INIT;
    as.symbol = "USDT"; as.decimals = 6; as.price = 1.0;
    CHECK(risk_engine_add_asset(engine, &as, &usdt));
    as.symbol = "BTC"; as.decimals = 8; as.price = 50000.0; as.weight_init = 0.95; as.weight_maint = 0.975;
    CHECK(risk_engine_add_asset(engine, &as, &btc));
    as.symbol = "ETH"; as.price = 3000.0;
    CHECK(risk_engine_add_asset(engine, &as, &eth));
    const risk_margin_tier tiers[] = {{50000.0, 0.004, 125.0, 0.0, 0}, {250000.0, 0.005, 100.0, 0.0, 0},
                                      {1e9, 0.01, 50.0, 0.0, 0}};
    risk_instrument_spec is = RISK_INSTRUMENT_SPEC_INIT;
    is.symbol = "BTCUSDT"; is.underlying = btc; is.settle = usdt; is.lot_size = 0.001; is.tick_size = 0.1;
    is.mark = 50000.0; is.tiers = tiers; is.n_tiers = 3;
    CHECK(risk_engine_add_instrument(engine, &is, &btcusdt));
    is.symbol = "ETHUSDT"; is.underlying = eth; is.lot_size = 0.01; is.tick_size = 0.01; is.mark = 3000.0;
    CHECK(risk_engine_add_instrument(engine, &is, &ethusdt));
    uint32_t seed = 12345;
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        uint32_t mode = i % 3 == 2 ? RISK_MARGIN_ISOLATED : RISK_MARGIN_CROSS;
        CHECK(risk_account_new(&accounts[i], engine, 1000 + i, mode, RISK_POSITION_ONE_WAY));
        CHECK(risk_basket_set_balance(risk_account_basket(accounts[i]), usdt, 1000.0 + (double)(i % 97) * 50.0));
        if (i % 4 == 0)
            CHECK(risk_basket_set_balance(risk_account_basket(accounts[i]), btc, 0.01 * (double)(i % 7)));
        seed = seed * 1103515245u + 12345u;
        risk_position_spec ps = RISK_POSITION_SPEC_INIT;
        ps.instrument = btcusdt;
        ps.qty = ((double)(seed >> 16 & 0x3ff) + 1.0) * 0.001 * (seed & 1 ? 1.0 : -1.0);
        ps.entry = 45000.0 + (double)(seed >> 8 & 0xff) * 20.0;
        ps.isolated_margin = mode == RISK_MARGIN_ISOLATED ? 500.0 : 0.0;
        CHECK(risk_account_open_position(accounts[i], &ps, NULL));
        if (i % 2) {
            ps.instrument = ethusdt;
            ps.qty = ((double)(seed >> 20 & 0xff) + 1.0) * 0.01 * (seed & 2 ? 1.0 : -1.0);
            ps.entry = 2900.0 + (double)(seed >> 4 & 0xff) * 0.5;
            CHECK(risk_account_open_position(accounts[i], &ps, NULL));
        }
    }
}

static risk_account_summary one[N_ACCOUNTS];

/* An application thread sweeping the whole engine, 2 workers, against one thread's summaries. */
static void *sweeper(void *arg)
{
    static _Thread_local risk_account_summary out[N_ACCOUNTS];
    size_t *bad = arg, n = 0;
    for (int round = 0; round < 4; round++) {
        out[0] = (risk_account_summary)RISK_ACCOUNT_SUMMARY_INIT;
        CHECK(risk_engine_evaluate_all(engine, out, NULL, N_ACCOUNTS, 2, &n));
        *bad += n != N_ACCOUNTS || memcmp(out, one, sizeof out) != 0;
    }
    return NULL;
}

/* An application thread: reads its share of accounts several ways. */
static void *reader(void *arg)
{
    size_t k = (size_t)(uintptr_t)arg;
    for (int round = 0; round < 3; round++) {
        for (size_t i = k; i < N_ACCOUNTS; i += N_READERS) {
            risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
            CHECK(risk_account_evaluate(accounts[i], &s));
            risk_position_result r[4];
            r[0].version = RISK_POSITION_RESULT_VERSION;
            size_t n = 0;
            CHECK(risk_account_position_results(accounts[i], r, 4, &n));
            risk_order o = RISK_ORDER_INIT;
            o.instrument = btcusdt;
            o.qty = 0.01;
            o.price = 50000.0;
            CHECK(risk_account_whatif(accounts[i], &o, &s));
            risk_liquidation_plan plan = RISK_LIQUIDATION_PLAN_INIT;
            risk_liquidation_action act[16];
            int rc = risk_account_liquidation_plan(accounts[i], &plan, act, 16, &n);
            if (rc != RISK_OK && rc != RISK_EBUFFER)
                CHECK(rc);
        }
    }
    return NULL;
}

static int run(uint32_t flags)
{
    static risk_account_summary many[N_ACCOUNTS];
    build(flags);
    size_t n = 0;
    /* a price move that puts some accounts under water */
    CHECK(risk_engine_set_mark(engine, btcusdt, 43000.0));
    for (size_t i = 0; i < N_ACCOUNTS; i++)
        one[i] = (risk_account_summary)RISK_ACCOUNT_SUMMARY_INIT;
    CHECK(risk_engine_evaluate_all(engine, one, NULL, N_ACCOUNTS, 1, &n));
    const uint32_t counts[] = {2, 3, 4, 8};
    for (size_t t = 0; t < sizeof counts / sizeof counts[0]; t++) {
        for (int rep = 0; rep < 3; rep++) {
            for (size_t i = 0; i < N_ACCOUNTS; i++)
                many[i] = (risk_account_summary)RISK_ACCOUNT_SUMMARY_INIT;
            CHECK(risk_engine_evaluate_all(engine, many, NULL, N_ACCOUNTS, counts[t], &n));
            if (n != N_ACCOUNTS || memcmp(one, many, sizeof one) != 0) {
                fprintf(stderr, "evaluate_all with %u threads differs from 1 thread\n", counts[t]);
                return 1;
            }
        }
    }
    /* the engine written and read back with RISK_SNAPSHOT_PARALLEL (a helper thread fills the id
     * map while this one builds the accounts): the same summaries, every account found */
    size_t snap_size = 0;
    if (risk_engine_snapshot_write(engine, NULL, 0, &snap_size) != RISK_EBUFFER) {
        fprintf(stderr, "snapshot size\n");
        return 1;
    }
    unsigned char *snap = malloc(snap_size);
    risk_engine *restored = NULL;
    risk_snapshot_options so = RISK_SNAPSHOT_OPTIONS_INIT;
    so.flags = RISK_SNAPSHOT_PARALLEL;
    if (!snap || risk_engine_snapshot_write(engine, snap, snap_size, &snap_size) != RISK_OK ||
        risk_engine_snapshot_read(&restored, snap, snap_size, &so) != RISK_OK) {
        fprintf(stderr, "snapshot round trip failed\n");
        return 1;
    }
    for (size_t i = 0; i < N_ACCOUNTS; i++)
        many[i] = (risk_account_summary)RISK_ACCOUNT_SUMMARY_INIT;
    CHECK(risk_engine_evaluate_all(restored, many, NULL, N_ACCOUNTS, 2, &n));
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        risk_account *found = NULL;
        CHECK(risk_engine_find_account(restored, risk_account_id(accounts[i]), &found));
    }
    if (n != N_ACCOUNTS || memcmp(one, many, sizeof one) != 0) {
        fprintf(stderr, "the engine read back in parallel evaluates differently\n");
        return 1;
    }
    risk_engine_free(restored);
    free(snap);
    pthread_t th[N_READERS];
    for (size_t k = 0; k < N_READERS; k++)
        if (pthread_create(&th[k], NULL, reader, (void *)(uintptr_t)k) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    for (size_t k = 0; k < N_READERS; k++)
        pthread_join(th[k], NULL);
    size_t liquidatable = 0;
    for (size_t i = 0; i < N_ACCOUNTS; i++)
        liquidatable += one[i].state >= RISK_STATE_LIQUIDATABLE;
    /* 20 more instruments nobody holds: the sweep now gathers from the engine's scratch */
    const risk_margin_tier tiers[] = {{1e5, 0.01, 50.0, 0.0, 0}, {1e12, 0.02, 25.0, 0.0, 0}};
    for (int k = 0; k < 20; k++) {
        char sym[24];
        snprintf(sym, sizeof sym, "IDLE%dUSDT", k);
        risk_instrument_spec is = RISK_INSTRUMENT_SPEC_INIT;
        is.symbol = sym; is.underlying = btc; is.settle = usdt; is.lot_size = 0.001; is.tick_size = 0.1;
        is.mark = 100.0 + k; is.tiers = tiers; is.n_tiers = 2;
        CHECK(risk_engine_add_instrument(engine, &is, NULL));
    }
    pthread_t sw[N_READERS];
    size_t bad[N_READERS] = {0};
    for (size_t k = 0; k < N_READERS; k++)
        if (pthread_create(&sw[k], NULL, sweeper, &bad[k]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    for (size_t k = 0; k < N_READERS; k++) {
        pthread_join(sw[k], NULL);
        if (bad[k]) {
            fprintf(stderr, "a concurrent sweep of the 22-instrument engine differs from one thread's\n");
            return 1;
        }
    }
    printf("tsan_batch%s: %d accounts, evaluate_all with 1, 2, 3, 4, 8 threads identical (%zu liquidatable); "
           "a parallel snapshot read identical; "
           "%d reader threads; %d concurrent sweeps of a 22-instrument engine identical\n",
           flags & RISK_ENGINE_SWEEP_IMAGE ? " (sweep image)" : "", N_ACCOUNTS, liquidatable, N_READERS, N_READERS);
    for (size_t i = 0; i < N_ACCOUNTS; i++)
        risk_account_free(accounts[i]);
    risk_engine_free(engine);
    return 0;
}

int main(void)
{
    return run(0) || run(RISK_ENGINE_SWEEP_IMAGE);
}
