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
 *  3. a bad options struct is refused without touching the data.
 */
#include <risk.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int sealed = (data[0] & 1) == 0;
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
    if (rc != RISK_OK) {
        FZ_ASSERT(e == NULL, "failed read (%s) handed out an engine", risk_errname(rc));
        FZ_ASSERT(rc == RISK_ECORRUPT || rc == RISK_EVERSION || rc == RISK_ENOMEM, "read: unexpected %s (%s)",
                  risk_errname(rc), msg);
        FZ_ASSERT(msg[0] != '\0', "failed read without a message");
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
    free(w1);
    free(w2);
    risk_engine_free(twin);
    risk_engine_free(e);
    free(d);
    return 0;
}
