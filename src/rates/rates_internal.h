/* SPDX-License-Identifier: Apache-2.0 */
/* Internal interface of the rates unit for the optimiser (src/rates/optimise.c). Never installed. */
#ifndef RISK_RATES_INTERNAL_H
#define RISK_RATES_INTERNAL_H

#include "core/internal.h"

/* An asset's rates at its pool's utilisation now and the growth - 1 of a deposit and of a debt
 * over horizon_s under its accrual rule (as risk_basket_rate_costs projects them). All 0 for an
 * asset without a rate model. */
typedef struct risk__rate_outlook {
    double borrow_annual, supply_annual; /* hourly x 8760 for the flat model */
    double borrow_m1, supply_m1;         /* growth over the horizon minus 1 */
} risk__rate_outlook;
void risk__rates_outlook(const risk__asset *a, double horizon_s, risk__rate_outlook *out);

/* The variable borrow rate of a model at utilisation u (clamped to [0, 1]), without stable debt. */
double risk__rates_borrow_at(const risk_rate_model *m, double u);
/* The utilisations in (0, 1] where the model's borrow rate changes slope, ascending (1 last: the
 * clamp); at most RISK__RATE_KINKS_MAX. */
#define RISK__RATE_KINKS_MAX 8
uint32_t risk__rates_kinks(const risk_rate_model *m, double *u);

#endif /* RISK_RATES_INTERNAL_H */
