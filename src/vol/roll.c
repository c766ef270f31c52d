/* SPDX-License-Identifier: Apache-2.0 */
/* Rolling-window sums shared by the realised and range estimators, streaming and array forms
 * (see vol/vol.h). */
#include "vol/vol.h"

#include <string.h>

size_t risk__roll_stride(uint32_t kind)
{
    return kind == RISK__ROLL_YZ ? 3u : 1u;
}

static size_t roll_terms(uint32_t kind, const double *v, double *t)
{
    switch (kind) {
    case RISK__ROLL_RETURNS:
        t[0] = v[0];
        t[1] = v[0] * v[0];
        return 2;
    case RISK__ROLL_YZ:
        t[0] = v[0];
        t[1] = v[0] * v[0];
        t[2] = v[1];
        t[3] = v[1] * v[1];
        t[4] = v[2];
        return 5;
    default:
        t[0] = v[0];
        return 1;
    }
}

/* Sample variance (divisor w - 1) from the sum and the sum of squares, never below 0. */
static double sample_variance(double s, double s2, double w)
{
    double v = (s2 - s * s / w) / (w - 1.0);
    return v > 0.0 ? v : 0.0;
}

double risk__roll_variance(uint32_t kind, const double *sum, size_t window)
{
    double w = (double)window;
    switch (kind) {
    case RISK__ROLL_RETURNS:
        return sample_variance(sum[0], sum[1], w);
    case RISK__ROLL_YZ: {
        double k = 0.34 / (1.34 + (w + 1.0) / (w - 1.0));
        double rs = sum[4] / w;
        double v = sample_variance(sum[0], sum[1], w) + k * sample_variance(sum[2], sum[3], w) + (1.0 - k) * rs;
        return v > 0.0 ? v : 0.0;
    }
    default: {
        double v = sum[0] / w;
        return v > 0.0 ? v : 0.0;
    }
    }
}

/* Adds one row's terms, minus the dropped row's when the window is full (drop NULL otherwise). */
static void roll_add(uint32_t kind, double *sum, const double *add, const double *drop)
{
    double ta[RISK__ROLL_MAX_TERMS], td[RISK__ROLL_MAX_TERMS];
    size_t nt = roll_terms(kind, add, ta);
    if (drop) {
        roll_terms(kind, drop, td);
        for (size_t j = 0; j < nt; j++)
            sum[j] = (sum[j] + ta[j]) - td[j];
    } else {
        for (size_t j = 0; j < nt; j++)
            sum[j] += ta[j];
    }
}

/* Recomputes the sums from the window's rows, oldest first. */
static void roll_resync_begin(double *sum)
{
    for (size_t j = 0; j < RISK__ROLL_MAX_TERMS; j++)
        sum[j] = 0.0;
}

void risk__roll_push(uint32_t kind, double *ring, size_t window, size_t *head, uint64_t *count, double *sum,
                     const double *values)
{
    size_t stride = risk__roll_stride(kind);
    double *slot = ring + *head * stride;
    roll_add(kind, sum, values, *count >= window ? slot : NULL);
    memcpy(slot, values, stride * sizeof *slot);
    *head = *head + 1 == window ? 0 : *head + 1;
    (*count)++;
    if (*head == 0) { /* count is a multiple of the window: the ring holds it oldest first */
        roll_resync_begin(sum);
        for (size_t i = 0; i < window; i++)
            roll_add(kind, sum, ring + i * stride, NULL);
    }
}

void risk__roll_batch(uint32_t kind, double *out, size_t n, size_t first, size_t window, double ppy,
                      risk__roll_row_fn row, const void *ctx)
{
    double sum[RISK__ROLL_MAX_TERMS] = {0};
    double add[RISK__ROLL_MAX_STRIDE], drop[RISK__ROLL_MAX_STRIDE];
    uint64_t count = 0;
    for (size_t i = 0; i < first && i < n; i++)
        out[i] = NAN;
    for (size_t i = first; i < n; i++) {
        row(ctx, i, add);
        if (count >= window) {
            row(ctx, i - window, drop);
            roll_add(kind, sum, add, drop);
        } else {
            roll_add(kind, sum, add, NULL);
        }
        count++;
        if (count % window == 0) {
            roll_resync_begin(sum);
            for (size_t j = i + 1 - window; j <= i; j++) {
                row(ctx, j, add);
                roll_add(kind, sum, add, NULL);
            }
        }
        out[i] = count >= window ? sqrt(risk__roll_variance(kind, sum, window) * ppy) : NAN;
    }
}
