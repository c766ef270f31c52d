/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_snapshot.c - snapshot load throughput against reading the same file (issue 9, section 4).
 *
 * Builds, through the public API, the book shape of bench_evaluate: USDT and ten underlyings with
 * linear perpetuals, N accounts (default 10^6; cross, one-way) each with a USDT balance and 8
 * positions in whole lots, every fourth account with a user leverage on two instruments. Writes
 * its snapshot with risk_engine_snapshot_write_file() into $TMPDIR (default /tmp), then times,
 * interleaved round by round (best of ROUNDS after a warm-up; the file is in the page cache):
 *   - cat:  read(2) of the file in 128 KiB pieces into one reused buffer (what `cat file >
 *           /dev/null` does);
 *   - read: read(2) of the whole file into one buffer (allocated once, reused);
 *   - load: risk_engine_snapshot_read_file(): map, verify every CRC-32C, rebuild the engine with
 *           every account (the engine's free is not timed);
 *   - load in place: the same with RISK_SNAPSHOT_MAP_IN_PLACE: the accounts' positions stay in
 *           the mapped file (private, copy-on-write) instead of being copied into the arena;
 *   - both again with RISK_SNAPSHOT_PARALLEL: a helper thread checks the accounts section and
 *           fills the id map while the calling thread builds the accounts;
 *   - the verification alone: the same read of a copy whose last byte is flipped, which maps the
 *     file, computes every checksum and is refused before anything is built;
 *   - fresh memory: obtaining and writing once as many fresh bytes as the restored engine holds
 *     (risk_engine_memory_bytes), with the huge-page advice the loader gives its blocks. No
 *     loader that builds this engine can beat verification + fresh memory, so
 *     cat / (verify + fresh) bounds load / cat for the engine's present memory layout.
 * It prints the throughputs, the ratios load/cat and load/read (target: load >= 50 % of cat),
 * the file's bytes per account, and checks that the restored engine evaluates every account
 * bit-identically to the original (risk_engine_evaluate_all, memcmp).
 *
 * Usage: bench_snapshot [accounts [rounds]]    (defaults 1000000 and 5)
 * Lines starting with "result " are stable key/value pairs for scripts.
 * Exit status: 0 when the check passes, 1 otherwise.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE */
#endif

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "risk.h"

#include "bench_util.h"

#define POSITIONS 8
#define UNDERLYINGS 10

static double time_read(const char *path, unsigned char *buf, size_t size)
{
    double t0 = bench_now_s();
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        exit(1);
    size_t total = 0;
    while (total < size) {
        ssize_t got = read(fd, buf + total, size - total);
        if (got <= 0)
            exit(1);
        total += (size_t)got;
    }
    close(fd);
    return bench_now_s() - t0;
}

/* Reading a copy whose last byte is flipped: mapping plus every checksum, refused before anything
 * is built (the verification share of a load). */
static double time_verify(const char *path)
{
    risk_engine *none = NULL;
    double t0 = bench_now_s();
    int rc = risk_engine_snapshot_read_file(&none, path, NULL);
    double t = bench_now_s() - t0;
    if (rc != RISK_ECORRUPT)
        exit(1);
    return t;
}

/* Fresh memory of the restored engine's size, written once (not with zeros, which nothing could
 * skip anyway: the kernel zeroes every fresh page first), advised to huge pages as the loader's
 * large blocks are (risk__memory_hint). The free is not timed. */
static double time_fresh(size_t bytes)
{
    double t0 = bench_now_s();
    unsigned char *p = malloc(bytes);
    if (!p)
        exit(1);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#endif
    memset(p, 1, bytes);
    double t = bench_now_s() - t0;
    bench_use((double)p[bytes / 2]);
    free(p);
    return t;
}

static double time_load(const char *path, risk_engine **out, uint32_t flags)
{
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.flags = flags;
    double t0 = bench_now_s();
    CHECK(risk_engine_snapshot_read_file(out, path, &o));
    return bench_now_s() - t0;
}

int main(int argc, char **argv)
{
    size_t n = 1000000;
    int rounds = 5;
    if (!bench_args(argc, argv, "bench_snapshot [accounts [rounds]]", &n, &rounds, NULL))
        return 2;

    bench_market m;
    bench_market_new(&m, UNDERLYINGS);
    bench_book b;
    bench_book_alloc(&b, &m, n);
    bench_seed();
    double t_build = bench_now_s();
    for (size_t k = 0; k < n; k++) {
        CHECK(risk_account_new(&b.accounts[k], m.engine, 1000000 + 7 * (uint64_t)k, RISK_MARGIN_CROSS,
                               RISK_POSITION_ONE_WAY));
        double gross = bench_open_positions(b.accounts[k], &m, POSITIONS, RISK_MARGIN_CROSS, 0);
        CHECK(risk_basket_set_balance(risk_account_basket(b.accounts[k]), m.usdt, gross * (0.005 + 0.05 * bench_rnd())));
        if (k % 4 == 0) {
            CHECK(risk_account_set_leverage(b.accounts[k], m.inst[0], 10.0));
            CHECK(risk_account_set_leverage(b.accounts[k], m.inst[1], 20.0));
        }
    }
    t_build = bench_now_s() - t_build;

    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/librisk-bench-%ld.snap", dir && *dir ? dir : "/tmp", (long)getpid());
    double t_write = bench_now_s();
    CHECK(risk_engine_snapshot_write_file(m.engine, path));
    t_write = bench_now_s() - t_write;
    struct stat st;
    if (stat(path, &st) != 0)
        return 1;
    size_t size = (size_t)st.st_size;

    unsigned char *chunk = malloc(BENCH_CAT_CHUNK), *whole = malloc(size);
    if (!chunk || !whole)
        return 1;
    memset(whole, 0, size); /* fault the buffer in once: the rounds time the copy, not the first touch */
    char bad_path[4200];
    snprintf(bad_path, sizeof bad_path, "%s.flipped", path);
    {
        size_t got = 0;
        time_read(path, whole, size);
        whole[size - 1] ^= 1;
        FILE *f = fopen(bad_path, "wb");
        if (!f || (got = fwrite(whole, 1, size, f)) != size || fclose(f) != 0)
            return 1;
    }
    double best_verify = 1e30, best_fresh = 1e30;
    size_t engine_bytes = 0;
    double best_cat = 1e30, best_read = 1e30, best_load = 1e30, best_inplace = 1e30;
    double best_par = 1e30, best_inplace_par = 1e30;
    size_t bytes = 0;
    risk_engine *restored = NULL, *mapped = NULL, *par = NULL, *mapped_par = NULL;
    for (int r = 0; r <= rounds; r++) { /* round 0 warms up */
        double tc = bench_cat_s(path, chunk, &bytes);
        double tr = time_read(path, whole, size);
        if (restored)
            risk_engine_free(restored);
        double tl = time_load(path, &restored, 0);
        if (mapped)
            risk_engine_free(mapped);
        double ti = time_load(path, &mapped, RISK_SNAPSHOT_MAP_IN_PLACE);
        if (par)
            risk_engine_free(par);
        double tp = time_load(path, &par, RISK_SNAPSHOT_PARALLEL);
        if (mapped_par)
            risk_engine_free(mapped_par);
        double tip = time_load(path, &mapped_par, RISK_SNAPSHOT_MAP_IN_PLACE | RISK_SNAPSHOT_PARALLEL);
        double tv = time_verify(bad_path);
        CHECK(risk_engine_memory_bytes(restored, &engine_bytes));
        double tf = time_fresh(engine_bytes);
        if (r == 0 || bytes != size)
            continue;
        bench_keep_best(&best_verify, tv);
        bench_keep_best(&best_fresh, tf);
        bench_keep_best(&best_cat, tc);
        bench_keep_best(&best_read, tr);
        bench_keep_best(&best_load, tl);
        bench_keep_best(&best_inplace, ti);
        bench_keep_best(&best_par, tp);
        bench_keep_best(&best_inplace_par, tip);
    }

    /* the restored engine evaluates every account bit for bit as the original does */
    risk_account_summary *s1 = calloc(n, sizeof *s1), *s2 = calloc(n, sizeof *s2);
    uint64_t *i1 = calloc(n, sizeof *i1), *i2 = calloc(n, sizeof *i2);
    if (!s1 || !s2 || !i1 || !i2)
        return 1;
    s1[0].version = s2[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
    size_t c1 = 0, c2 = 0;
    CHECK(risk_engine_evaluate_all(m.engine, s1, i1, n, 2, &c1));
    CHECK(risk_engine_evaluate_all(restored, s2, i2, n, 2, &c2));
    int same = c1 == c2 && c1 == n && memcmp(s1, s2, n * sizeof *s1) == 0 && memcmp(i1, i2, n * sizeof *i1) == 0;
    memset(s2, 0, n * sizeof *s2);
    s2[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
    CHECK(risk_engine_evaluate_all(mapped, s2, i2, n, 2, &c2));
    same = same && c1 == c2 && memcmp(s1, s2, n * sizeof *s1) == 0 && memcmp(i1, i2, n * sizeof *i1) == 0;
    risk_engine *parallel_ones[2] = {par, mapped_par};
    for (int k = 0; k < 2; k++) {
        memset(s2, 0, n * sizeof *s2);
        s2[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
        CHECK(risk_engine_evaluate_all(parallel_ones[k], s2, i2, n, 2, &c2));
        same = same && c1 == c2 && memcmp(s1, s2, n * sizeof *s1) == 0 && memcmp(i1, i2, n * sizeof *i1) == 0;
    }

    double gb = 1e-9 * (double)size;
    printf("snapshot of %zu accounts x %d positions: %zu bytes (%.1f B per account), built in %.2f s, written "
           "(fsync'd) in %.3f s\n",
           n, POSITIONS, size, (double)size / (double)n, t_build, t_write);
    printf("best of %d rounds, file in the page cache:\n", rounds);
    printf("  cat  (read(2), 128 KiB pieces)   %8.3f s  %6.2f GB/s\n", best_cat, gb / best_cat);
    printf("  read (read(2), whole file)       %8.3f s  %6.2f GB/s\n", best_read, gb / best_read);
    printf("  load (risk_engine_snapshot_read_file) %3.3f s  %6.2f GB/s  (%.0f ns per account)\n", best_load,
           gb / best_load, 1e9 * best_load / (double)n);
    printf("  load in place (RISK_SNAPSHOT_MAP_IN_PLACE) %3.3f s  %6.2f GB/s  (%.0f ns per account)\n", best_inplace,
           gb / best_inplace, 1e9 * best_inplace / (double)n);
    printf("  load on two threads (RISK_SNAPSHOT_PARALLEL) %3.3f s  %6.2f GB/s\n", best_par, gb / best_par);
    printf("  load in place on two threads (MAP_IN_PLACE | PARALLEL) %3.3f s  %6.2f GB/s  (%.0f ns per account)\n",
           best_inplace_par, gb / best_inplace_par, 1e9 * best_inplace_par / (double)n);
    printf("    of which mapping and checksums   %8.3f s  %6.2f GB/s  (a copy with its last byte flipped: refused)\n",
           best_verify, gb / best_verify);
    printf("  fresh memory of the engine's size   %8.3f s  %6.2f GB/s  (%zu bytes: %.2fx the file)\n", best_fresh,
           1e-9 * (double)engine_bytes / best_fresh, engine_bytes, (double)engine_bytes / (double)size);
    double best_any = best_load;
    bench_keep_best(&best_any, best_inplace);
    bench_keep_best(&best_any, best_par);
    bench_keep_best(&best_any, best_inplace_par);
    printf("  load / cat = %.2f   load / read = %.2f   in place: load / cat = %.2f   in place on two threads: %.2f   "
           "(target: load / cat >= 0.50: %s)\n",
           best_cat / best_load, best_read / best_load, best_cat / best_inplace, best_cat / best_inplace_par,
           best_cat / best_any >= 0.5 ? "met" : "NOT met");
    printf("  bound for this engine layout: cat / (verify + fresh memory) = %.2f\n",
           best_cat / (best_verify + best_fresh));
    printf("  restored engines (copied, in place, each on one and two threads): %s\n", same ? "every summary bit-identical" : "SUMMARIES DIFFER");
    printf("result accounts %zu\n", n);
    printf("result snapshot_bytes %zu\n", size);
    printf("result bytes_per_account %.1f\n", (double)size / (double)n);
    printf("result write_s %.4f\n", t_write);
    printf("result cat_gbps %.3f\n", gb / best_cat);
    printf("result read_gbps %.3f\n", gb / best_read);
    printf("result load_gbps %.3f\n", gb / best_load);
    printf("result verify_s %.4f\n", best_verify);
    printf("result load_s %.4f\n", best_load);
    printf("result load_over_cat %.3f\n", best_cat / best_load);
    printf("result load_in_place_s %.4f\n", best_inplace);
    printf("result load_in_place_over_cat %.3f\n", best_cat / best_inplace);
    printf("result load_parallel_s %.4f\n", best_par);
    printf("result load_parallel_over_cat %.3f\n", best_cat / best_par);
    printf("result load_in_place_parallel_s %.4f\n", best_inplace_par);
    printf("result load_in_place_parallel_over_cat %.3f\n", best_cat / best_inplace_par);
    printf("result load_over_read %.3f\n", best_read / best_load);
    printf("result engine_bytes %zu\n", engine_bytes);
    printf("result fresh_s %.4f\n", best_fresh);
    printf("result bound_over_cat %.3f\n", best_cat / (best_verify + best_fresh));

    unlink(bad_path);
    if (!getenv("BENCH_KEEP_SNAPSHOT"))
        unlink(path);
    else
        printf("kept %s\n", path);
    free(chunk);
    free(whole);
    free(s1);
    free(s2);
    free(i1);
    free(i2);
    risk_engine_free(restored);
    risk_engine_free(mapped);
    risk_engine_free(par);
    risk_engine_free(mapped_par);
    bench_book_free(&b);
    return same ? 0 : 1;
}
