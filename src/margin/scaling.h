/* SPDX-License-Identifier: Apache-2.0 */
/* Volatility state of an asset and scaling block of an instrument (margin/scaling.c), shared
 * with the snapshot unit (snapshot/), which writes and restores them field by field. */
#ifndef RISK_MARGIN_SCALING_H
#define RISK_MARGIN_SCALING_H

#include "core/internal.h"

typedef struct risk__asset_vol {
    risk_vol_ewma_state ewma;  /* the live variance per period (V1's streaming EWMA) */
    double periods_per_year;
    double stressed_set;       /* > 0: set directly; 0: the highest live volatility observed */
    double floor_set;          /* > 0: set directly; 0: sqrt(sum_r2 / n_returns x periods_per_year) */
    double max_live;           /* highest live volatility observed, when has_live */
    double sum_r2;             /* sum of the squared returns fed since the parameters were set */
    uint64_t n_returns;
    double release;            /* released fraction of the buffers, [0, 1] */
    int64_t last_time;
    uint32_t has_live, has_time;
    uint32_t first_scaled;     /* first scaled instrument on this asset, RISK_ID_NONE for none */
} risk__asset_vol;

typedef struct risk__scaling {
    risk_margin_scaling params;
    risk_margin_tier *base;    /* n_tiers base tiers, then n_tiers base IM rates, in this block */
    double *base_im_rate;
    double factor;             /* in force */
    int64_t time;              /* of the last stamped update, when has_time */
    uint32_t has_time;
    uint32_t next;             /* next scaled instrument on the same underlying, RISK_ID_NONE at the end */
} risk__scaling;

/* Rewrites the instrument's effective schedule for factor f from its base schedule and records
 * f as the factor in force (in->scaling must be set). */
void risk__scaling_write_effective(risk__instrument *in, double f);

#endif
