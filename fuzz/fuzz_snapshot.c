/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_snapshot.c: libFuzzer harness for the snapshot reader (docs/snapshot.md, docs/fuzzing.md).
 *
 * The first input byte picks how the rest is read: even, its checksums are sealed first (each
 * section's CRC-32C and the header's are recomputed from the table, as a crafted file would
 * carry them), so that mutations reach every value check behind the checksums; odd, the bytes
 * are read as they are (the checksums must catch them). For every input the harness checks:
 *
 *  1. the reader returns a status and never crashes, hangs or leaks (ASan, LeakSanitizer), and
 *     on failure hands out no engine (out stays NULL);
 *  2. an engine it accepts is consistent: written again it gives a snapshot that reads back and
 *     writes the same bytes again (the format is canonical after one round), and every account
 *     evaluates (risk_engine_evaluate_all) to the same bits with one and with two threads;
 *  3. a bad options struct is refused without touching the data;
 *  4. when the first byte's bit 1 is set, the same bytes are also read from a file
 *     (risk_engine_snapshot_read_file, through a memfd): mapped and copied, and mapped in place
 *     (RISK_SNAPSHOT_MAP_IN_PLACE, whose reader validates the positions where they lie). Both
 *     must give the buffer read's status, and an engine that evaluates consistently and writes
 *     the same bytes as the buffer read's engine;
 *  5. when its bit 2 is set, the buffer is also read with RISK_SNAPSHOT_PARALLEL (a helper thread
 *     checks the ACCOUNTS section and fills the id map): the same status and message, and an
 *     engine that writes the same bytes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <risk.h>

#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_util.h"

static uint32_t crc32c(uint32_t crc, const unsigned char *p, size_t n)
{
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            table[i] = c;
        }
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Recomputes every checksum the table describes, where the table fits in the data. */
static void seal(unsigned char *d, size_t size)
{
    if (size < 64)
        return;
    uint32_t n = rd32(d + 20);
    if (n > 64 || 64 + (size_t)n * 24 > size)
        return;
    for (uint32_t k = 0; k < n; k++) {
        unsigned char *t = d + 64 + 24 * (size_t)k;
        uint64_t off = rd64(t + 8), len = rd64(t + 16);
        if (off <= size && len <= size - off)
            wr32(t + 4, crc32c(0, d + off, (size_t)len));
    }
    uint32_t crc = crc32c(0, d, 60);
    wr32(d + 60, crc32c(crc, d + 64, (size_t)n * 24));
}

static unsigned char *write_all(const risk_engine *e, size_t *size)
{
    FZ_ASSERT(risk_engine_snapshot_write(e, NULL, 0, size) == RISK_EBUFFER, "size query");
    unsigned char *buf = malloc(*size ? *size : 1);
    FZ_ASSERT(buf != NULL, "out of memory");
    size_t again = 0;
    int rc = risk_engine_snapshot_write(e, buf, *size, &again);
    FZ_ASSERT(rc == RISK_OK && again == *size, "write: %s", risk_errname(rc));
    return buf;
}

static void check_evaluation(const risk_engine *e)
{
    size_t n = 0;
    FZ_ASSERT(risk_engine_account_count(e, &n) == RISK_OK, "account count");
    if (n == 0 || n > 4096)
        return;
    risk_account_summary *s1 = calloc(n, sizeof *s1), *s2 = calloc(n, sizeof *s2);
    uint64_t *i1 = calloc(n, sizeof *i1), *i2 = calloc(n, sizeof *i2);
    FZ_ASSERT(s1 && s2 && i1 && i2, "out of memory");
    s1[0].version = s2[0].version = RISK_ACCOUNT_SUMMARY_VERSION;
    size_t c1 = 0, c2 = 0;
    int rc1 = risk_engine_evaluate_all(e, s1, i1, n, 1, &c1);
    int rc2 = risk_engine_evaluate_all(e, s2, i2, n, 2, &c2);
    FZ_ASSERT(rc1 == rc2, "evaluate_all: %s with one thread, %s with two", risk_errname(rc1), risk_errname(rc2));
    if (rc1 == RISK_OK)
        FZ_ASSERT(c1 == c2 && memcmp(s1, s2, n * sizeof *s1) == 0 && memcmp(i1, i2, n * sizeof *i1) == 0,
                  "evaluate_all differs between one and two threads");
    free(s1);
    free(s2);
    free(i1);
    free(i2);
}

/* Reads the n bytes d through a file, mapped (in_place 0: copied out of the mapping; 1: the
 * positions used where they lie), and checks it against the buffer read: the same status and,
 * on success, an engine that evaluates consistently and writes the bytes w (of s bytes). */
static void check_file_read(const unsigned char *d, size_t n, int want_rc, const unsigned char *w, size_t s,
                            int in_place)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_snapshot", 0);
        FZ_ASSERT(fd >= 0, "memfd_create");
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    FZ_ASSERT(ftruncate(fd, 0) == 0 && (n == 0 || pwrite(fd, d, n, 0) == (ssize_t)n), "memfd write");
    char msg[256];
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.errmsg_out = msg;
    o.errmsg_capacity = sizeof msg;
    o.flags = in_place ? RISK_SNAPSHOT_MAP_IN_PLACE : 0;
    risk_engine *e = (risk_engine *)(uintptr_t)1;
    int rc = risk_engine_snapshot_read_file(&e, path, &o);
    FZ_ASSERT(rc == want_rc, "file read%s: %s (%s), the buffer read: %s", in_place ? " in place" : "",
              risk_errname(rc), rc ? msg : "", risk_errname(want_rc));
    if (rc != RISK_OK) {
        FZ_ASSERT(e == NULL, "failed file read handed out an engine");
        return;
    }
    check_evaluation(e);
    size_t s2 = 0;
    unsigned char *w2 = write_all(e, &s2);
    FZ_ASSERT(s2 == s && memcmp(w2, w, s) == 0, "the file read%s's engine writes other bytes (%zu, %zu)",
              in_place ? " in place" : "", s2, s);
    free(w2);
    risk_engine_free(e); /* the mapping goes with it, before the file is rewritten */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int sealed = (data[0] & 1) == 0, through_file = (data[0] & 2) != 0;
    size_t n = size - 1;
    unsigned char *d = malloc(n ? n : 1);
    FZ_ASSERT(d != NULL, "out of memory");
    memcpy(d, data + 1, n);
    if (sealed)
        seal(d, n);

    risk_snapshot_options bad = RISK_SNAPSHOT_OPTIONS_INIT;
    bad.flags = 0x80000000u; /* an unknown flag */
    risk_engine *e = (risk_engine *)(uintptr_t)1;
    FZ_ASSERT(risk_engine_snapshot_read(&e, d, n, &bad) == RISK_EINVAL && e == NULL, "bad options taken");

    char msg[256];
    risk_snapshot_options o = RISK_SNAPSHOT_OPTIONS_INIT;
    o.errmsg_out = msg;
    o.errmsg_capacity = sizeof msg;
    e = (risk_engine *)(uintptr_t)1;
    int rc = risk_engine_snapshot_read(&e, d, n, &o);
    if (data[0] & 4) { /* the same read on two threads: the same answer, the same message */
        char par_msg[256];
        risk_snapshot_options par = o;
        par.errmsg_out = par_msg;
        par.errmsg_capacity = sizeof par_msg;
        par.flags = RISK_SNAPSHOT_PARALLEL;
        risk_engine *pe = (risk_engine *)(uintptr_t)1;
        int prc = risk_engine_snapshot_read(&pe, d, n, &par);
        FZ_ASSERT(prc == rc, "parallel read: %s (%s), sequential: %s", risk_errname(prc), prc ? par_msg : "",
                  risk_errname(rc));
        FZ_ASSERT(rc == RISK_OK || (pe == NULL && strcmp(par_msg, msg) == 0), "parallel read: \"%s\", sequential: \"%s\"",
                  par_msg, msg);
        if (rc == RISK_OK) {
            size_t ps = 0, ss = 0;
            unsigned char *pw = write_all(pe, &ps), *sw = write_all(e, &ss);
            FZ_ASSERT(ps == ss && memcmp(pw, sw, ps) == 0, "the parallel read's engine writes other bytes");
            free(pw);
            free(sw);
            risk_engine_free(pe);
        }
    }
    if (rc != RISK_OK) {
        FZ_ASSERT(e == NULL, "failed read (%s) handed out an engine", risk_errname(rc));
        FZ_ASSERT(rc == RISK_ECORRUPT || rc == RISK_EVERSION || rc == RISK_ENOMEM, "read: unexpected %s (%s)",
                  risk_errname(rc), msg);
        FZ_ASSERT(msg[0] != '\0', "failed read without a message");
        if (through_file && n > 0) /* an empty file takes the reader's fallback path: RISK_ECORRUPT too */
            for (int in_place = 0; in_place < 2; in_place++)
                check_file_read(d, n, rc, NULL, 0, in_place);
        free(d);
        return 0;
    }
    FZ_ASSERT(e != NULL, "read OK without an engine");
    check_evaluation(e);
    size_t s1 = 0, s2 = 0;
    unsigned char *w1 = write_all(e, &s1);
    risk_engine *twin = NULL;
    rc = risk_engine_snapshot_read(&twin, w1, s1, &o);
    FZ_ASSERT(rc == RISK_OK, "a snapshot the library wrote does not read back: %s (%s)", risk_errname(rc), msg);
    unsigned char *w2 = write_all(twin, &s2);
    FZ_ASSERT(s1 == s2 && memcmp(w1, w2, s1) == 0, "a restored engine writes other bytes (%zu, %zu)", s1, s2);
    if (through_file)
        for (int in_place = 0; in_place < 2; in_place++)
            check_file_read(d, n, RISK_OK, w1, s1, in_place);
    free(w1);
    free(w2);
    risk_engine_free(twin);
    risk_engine_free(e);
    free(d);
    return 0;
}
