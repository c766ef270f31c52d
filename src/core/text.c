/* SPDX-License-Identifier: Apache-2.0 */
/* Result columns as text rows (risk_text_rows, include/risk/bulk.h): pure formatting into a
 * caller buffer, no I/O. Numbers are written as Python's repr() writes them (shortest decimal
 * that reads back, fixed notation for exponents -4..15, else d.ddde+XX), so that a host
 * language can emit the same text as its own JSON writer. */
#include "core/internal.h"

#include "risk/bulk.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_DECIMALS_MAX 22 /* 10^22 is the largest power of ten a double holds exactly */

static const double pow10_exact[TEXT_DECIMALS_MAX + 1] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Writes the digits of v (v > 0) backwards ending at end; returns the first digit. */
static char *digits_back(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    return end;
}

/* Python's repr layout of a decimal digits (n significant digits, no leading or trailing zero,
 * n >= 1) x 10^(exp10 - n + 1), i.e. d.ddd x 10^exp10, with its sign. */
static size_t repr_layout(char *out, int negative, const char *digits, int n, int exp10)
{
    char *p = out;
    if (negative)
        *p++ = '-';
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            *p++ = '0';
            *p++ = '.';
            for (int k = -1; k > exp10; k--)
                *p++ = '0';
            memcpy(p, digits, (size_t)n);
            p += n;
        } else if (n <= exp10 + 1) {
            memcpy(p, digits, (size_t)n);
            p += n;
            for (int k = n; k <= exp10; k++)
                *p++ = '0';
            *p++ = '.';
            *p++ = '0';
        } else {
            memcpy(p, digits, (size_t)exp10 + 1);
            p += exp10 + 1;
            *p++ = '.';
            memcpy(p, digits + exp10 + 1, (size_t)(n - exp10 - 1));
            p += n - exp10 - 1;
        }
    } else {
        *p++ = digits[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, digits + 1, (size_t)n - 1);
            p += n - 1;
        }
        *p++ = 'e';
        *p++ = exp10 < 0 ? '-' : '+';
        int e = exp10 < 0 ? -exp10 : exp10;
        if (e >= 100)
            *p++ = (char)('0' + e / 100);
        *p++ = (char)('0' + e / 10 % 10);
        *p++ = (char)('0' + e % 10);
    }
    return (size_t)(p - out);
}

/* Parses "[-]d.ddde[+-]XX" (snprintf's %e) into its sign, digits and decimal exponent; returns
 * the number of digits. */
static int parse_e(const char *s, int *negative, char *digits, int *exp10)
{
    int n = 0;
    *negative = *s == '-';
    if (*negative)
        s++;
    digits[n++] = *s++;
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9')
            digits[n++] = *s++;
    }
    *exp10 = atoi(s + 1); /* s at 'e' */
    return n;
}

/* The first n of the 17 digits d17 plus one unit in the last place (a carry out of the first
 * digit raises *exp10). */
static void next_up(const char *d17, int n, char *out, int *exp10)
{
    memcpy(out, d17, (size_t)n);
    int k = n - 1;
    while (k >= 0 && out[k] == '9')
        out[k--] = '0';
    if (k < 0) { /* 99..9 -> 100..0 */
        out[0] = '1';
        (*exp10)++;
    } else {
        out[k]++;
    }
}

/* Whether the n digits x 10^(exp10 - n + 1) read back as ax (> 0). */
static int reads_back(const char *digits, int n, int exp10, double ax)
{
    uint64_t v = 0;
    for (int k = 0; k < n; k++)
        v = v * 10u + (uint64_t)(digits[k] - '0');
    int scale = exp10 - n + 1;
    if (v <= ((uint64_t)1 << 53) && scale >= -TEXT_DECIMALS_MAX && scale <= TEXT_DECIMALS_MAX) {
        /* one correctly rounded operation on two exact doubles: what strtod gives */
        double y = scale >= 0 ? (double)v * pow10_exact[scale] : (double)v / pow10_exact[-scale];
        return y == ax;
    }
    char buf[48];
    snprintf(buf, sizeof buf, "%.*se%d", n, digits, scale);
    return strtod(buf, NULL) == ax;
}

/* The shortest decimal that reads back as x (finite, nonzero), as repr() lays it out: of the
 * shortest digit strings that read back, the nearest to x (David Gay's mode 0, which repr
 * uses). At most one decimal of 15 significant digits reads back as a given normal double, so
 * when one of x's two 15-digit neighbours reads back it is the shortest form (less its
 * trailing zeros); else the nearer of the 16-digit neighbours that reads back; else the 17
 * digits (which always read back). The neighbours come from the 17 digits (one snprintf per
 * number); both are tried because x's rounding interval is lopsided at a power of two. */
static size_t shortest(char *out, double x)
{
    char buf[48], digits[24], cand[24];
    int negative, exp10, n;
    double ax = fabs(x);
    if (ax < DBL_MIN) { /* subnormal: fewer digits than 15 may be needed and enough */
        int p = 1;
        for (; p < 17; p++) {
            snprintf(buf, sizeof buf, "%.*e", p - 1, x);
            if (strtod(buf, NULL) == x)
                break;
        }
        snprintf(buf, sizeof buf, "%.*e", p - 1, x);
        n = parse_e(buf, &negative, digits, &exp10);
        while (n > 1 && digits[n - 1] == '0')
            n--;
        return repr_layout(out, negative, digits, n, exp10);
    }
    snprintf(buf, sizeof buf, "%.16e", x);
    n = parse_e(buf, &negative, digits, &exp10);
    for (int len = 15; len <= 16; len++) {
        /* the decimals of this length that may read back as x are its two neighbours, the one
         * below (the 17 digits cut) and the one above; nearest first */
        int rest = 0; /* dropped digits against a half unit: -1 below, 0 at, 1 above */
        int zero = 1;
        for (int k = len; k < 17; k++)
            if (digits[k] != '0')
                zero = 0;
        if (digits[len] != '5')
            rest = digits[len] > '5' ? 1 : -1;
        else
            for (int k = len + 1; k < 17 && rest == 0; k++)
                rest = digits[k] != '0';
        if (rest == 0) { /* the 17 digits sit on the half: the correctly rounded text decides */
            int neg2, e2;
            snprintf(buf, sizeof buf, "%.*e", len - 1, x);
            parse_e(buf, &neg2, cand, &e2);
            rest = memcmp(cand, digits, (size_t)len) != 0 || e2 != exp10 ? 1 : -1;
        }
        for (int pass = 0; pass < (zero ? 1 : 2); pass++) {
            int up = zero ? 0 : (pass == 0) == (rest > 0);
            int cexp = exp10;
            if (up)
                next_up(digits, len, cand, &cexp);
            else
                memcpy(cand, digits, (size_t)len);
            if (reads_back(cand, len, cexp, ax)) {
                int m = len;
                while (m > 1 && cand[m - 1] == '0')
                    m--;
                return repr_layout(out, negative, cand, m, cexp);
            }
        }
    }
    while (n > 1 && digits[n - 1] == '0')
        n--;
    return repr_layout(out, negative, digits, n, exp10);
}

/* repr() of the double nearest q / 10^d (|q| < 10^15, so that decimal has at most 15
 * significant digits and is its own shortest form). */
static size_t quanta(char *out, int64_t q, int d)
{
    if (q == 0) {
        memcpy(out, "0.0", 3);
        return 3;
    }
    int negative = q < 0;
    uint64_t v = negative ? (uint64_t)0 - (uint64_t)q : (uint64_t)q;
    int zeros = 0;
    while (v % 10u == 0) {
        v /= 10u;
        zeros++;
    }
    char buf[24];
    char *end = buf + sizeof buf;
    char *first = digits_back(end, v);
    int n = (int)(end - first);
    int exp10 = n - 1 + zeros - d;
    return repr_layout(out, negative, first, n, exp10);
}

/* repr(round(x, d) + 0.0) as Python prints it ("null" for NaN and infinities): the value
 * rounded half-even from its exact binary value to d decimals, then printed shortest. */
static size_t grid(char *out, double x, int d)
{
    if (!isfinite(x)) {
        memcpy(out, "null", 4);
        return 4;
    }
    double p = pow10_exact[d];
    double r = x * p;
    if (fabs(r) < 4503599627370496.0) { /* 2^52: 0.5 is a multiple of r's ulp */
        /* x * p = r + e exactly (|e| <= ulp(r) / 2); on the magnitude a = |r|, whose fraction
         * a - floor(a) is exact (Sterbenz, or a itself below 1) */
        double e = fma(x, p, -r);
        double a = fabs(r);
        double e_mag = r < 0.0 ? -e : e;
        double fl = floor(a);
        double frac = a - fl;
        double q = fl;
        if (frac > 0.5 || (frac == 0.5 && (e_mag > 0.0 || (e_mag == 0.0 && fmod(fl, 2.0) != 0.0))))
            q = fl + 1.0;
        if (r < 0.0)
            q = -q;
        if (fabs(q) < 1e15)
            return quanta(out, (int64_t)q, d);
        double y = q / p; /* both exact: the division rounds once, to the double nearest q / 10^d */
        return shortest(out, y);
    }
    /* far from the grid's scale: the exact decimal rounding of the C library, read back */
    char buf[400];
    snprintf(buf, sizeof buf, "%.*f", d, x);
    double y = strtod(buf, NULL);
    return y == 0.0 ? quanta(out, 0, d) : shortest(out, y);
}

/* repr(x + 0.0) for a finite x, "null" otherwise. */
static size_t shortest_or_null(char *out, double x)
{
    if (!isfinite(x)) {
        memcpy(out, "null", 4);
        return 4;
    }
    if (x == 0.0) {
        memcpy(out, "0.0", 3);
        return 3;
    }
    return shortest(out, x);
}

static size_t unsigned_text(char *out, uint64_t v)
{
    char buf[24];
    char *end = buf + sizeof buf;
    char *first = digits_back(end, v);
    size_t n = (size_t)(end - first);
    memcpy(out, first, n);
    return n;
}

/* Checks a column before anything is written: kind, pointers, every index in range. */
static int column_check(const risk_text_column *c, size_t n_rows)
{
    if (c->version != RISK_TEXT_COLUMN_VERSION)
        return RISK_EVERSION;
    if (!c->values && n_rows)
        return RISK_ENULL;
    switch (c->kind) {
    case RISK_TEXT_GRID:
        if (c->keys) {
            if (!c->decimals_of)
                return RISK_ENULL;
            for (uint32_t k = 0; k < c->n_keys; k++)
                if (c->decimals_of[k] < 0 || c->decimals_of[k] > TEXT_DECIMALS_MAX)
                    return RISK_EINVAL;
            for (size_t i = 0; i < n_rows; i++)
                if (c->keys[i] >= c->n_keys)
                    return RISK_EINVAL;
        } else if (c->decimals < 0 || c->decimals > TEXT_DECIMALS_MAX) {
            return RISK_EINVAL;
        }
        return RISK_OK;
    case RISK_TEXT_SHORTEST:
    case RISK_TEXT_UINT:
        return RISK_OK;
    case RISK_TEXT_LABEL: {
        if (!c->labels && c->n_keys)
            return RISK_ENULL;
        for (uint32_t k = 0; k < c->n_keys; k++)
            if (!c->labels[k])
                return RISK_ENULL;
        const uint32_t *v = c->values;
        for (size_t i = 0; i < n_rows; i++)
            if (v[i] >= c->n_keys)
                return RISK_EINVAL;
        return RISK_OK;
    }
    case RISK_TEXT_LIST: {
        if (!c->labels || c->n_keys < 4)
            return c->labels ? RISK_EINVAL : RISK_ENULL;
        for (uint32_t k = 0; k < 4; k++)
            if (!c->labels[k])
                return RISK_ENULL;
        if (c->n_items && (!c->item_offsets || !c->items))
            return RISK_ENULL;
        const uint32_t *v = c->values;
        uint64_t total = 0;
        for (size_t i = 0; i < n_rows; i++)
            total += v[i];
        if (total > c->n_items)
            return RISK_EINVAL;
        for (size_t k = 0; k < c->n_items; k++)
            if (c->item_offsets[k + 1] < c->item_offsets[k])
                return RISK_EINVAL;
        return RISK_OK;
    }
    default:
        return RISK_EINVAL;
    }
}

/* Appends len bytes if they fit. */
#define PUT(src, len)                                                                                                \
    do {                                                                                                             \
        size_t put_len_ = (len);                                                                                     \
        if (put_len_ > (size_t)(end - p))                                                                            \
            goto full;                                                                                               \
        memcpy(p, (src), put_len_);                                                                                  \
        p += put_len_;                                                                                               \
    } while (0)

int risk_text_rows(const char *const *pieces, const risk_text_column *columns, size_t n_columns, size_t n_rows,
                   char *out, size_t capacity, size_t *rows_out, size_t *bytes_out, uint64_t *row_offsets)
{
    if (!pieces || (!columns && n_columns) || (!out && capacity) || !rows_out || !bytes_out)
        return RISK_ENULL;
    if (n_columns > RISK_TEXT_COLUMNS_MAX)
        return RISK_EINVAL;
    for (size_t c = 0; c <= n_columns; c++)
        if (!pieces[c])
            return RISK_ENULL;
    for (size_t c = 0; c < n_columns; c++) {
        int rc = column_check(&columns[c], n_rows);
        if (rc != RISK_OK)
            return rc;
    }
    *rows_out = 0;
    *bytes_out = 0;
    if (row_offsets)
        row_offsets[0] = 0;
    size_t cursor[RISK_TEXT_COLUMNS_MAX] = {0}; /* next item of each list column */
    size_t piece_len[RISK_TEXT_COLUMNS_MAX + 1];
    for (size_t c = 0; c <= n_columns; c++)
        piece_len[c] = strlen(pieces[c]);
    char *p = out;
    char *const end = out + capacity;
    char num[48];
    size_t row = 0;
    for (; row < n_rows; row++) {
        char *const row_start = p;
        size_t saved[RISK_TEXT_COLUMNS_MAX];
        memcpy(saved, cursor, n_columns * sizeof saved[0]);
        for (size_t c = 0;; c++) {
            PUT(pieces[c], piece_len[c]);
            if (c == n_columns)
                break;
            const risk_text_column *col = &columns[c];
            size_t n = 0;
            switch (col->kind) {
            case RISK_TEXT_GRID: {
                int d = col->keys ? col->decimals_of[col->keys[row]] : col->decimals;
                n = grid(num, ((const double *)col->values)[row], d);
                PUT(num, n);
                break;
            }
            case RISK_TEXT_SHORTEST:
                n = shortest_or_null(num, ((const double *)col->values)[row]);
                PUT(num, n);
                break;
            case RISK_TEXT_UINT:
                n = unsigned_text(num, ((const uint64_t *)col->values)[row]);
                PUT(num, n);
                break;
            case RISK_TEXT_LABEL: {
                const char *label = col->labels[((const uint32_t *)col->values)[row]];
                PUT(label, strlen(label));
                break;
            }
            default: { /* RISK_TEXT_LIST */
                uint32_t count = ((const uint32_t *)col->values)[row];
                size_t k = cursor[c];
                if (count == 0) {
                    PUT(col->labels[3], strlen(col->labels[3]));
                    break;
                }
                PUT(col->labels[0], strlen(col->labels[0]));
                for (uint32_t j = 0; j < count; j++, k++) {
                    if (j)
                        PUT(col->labels[1], strlen(col->labels[1]));
                    PUT(col->items + col->item_offsets[k], (size_t)(col->item_offsets[k + 1] - col->item_offsets[k]));
                }
                PUT(col->labels[2], strlen(col->labels[2]));
                cursor[c] = k;
                break;
            }
            }
        }
        if (row_offsets)
            row_offsets[row + 1] = (uint64_t)(p - out);
        continue;
    full:
        p = row_start;
        memcpy(cursor, saved, n_columns * sizeof saved[0]);
        break;
    }
    *rows_out = row;
    *bytes_out = (size_t)(p - out);
    return row == n_rows ? RISK_OK : RISK_EBUFFER;
}
