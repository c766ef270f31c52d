/**
 * @file risk/margin.h
 * @brief Margin schedules: tiers with derived deductions, IM and MM of a notional.
 * @defgroup margin Margin schedules
 * @{
 *
 * A schedule is a list of notional tiers with marginal maintenance rates. The deduction
 * (Binance `cum`, Bybit "MM deduction") is derived by cum_1 = 0,
 * cum_t = cum_(t-1) + cap_(t-1) x (mmr_t - mmr_(t-1)), which makes MM(N) = N x mmr_t - cum_t
 * continuous and non-decreasing in N. A tier that gives its cum keeps it as published.
 */
#ifndef RISK_MARGIN_H
#define RISK_MARGIN_H

#include "risk/common.h"
#include "risk/engine.h"

RISK_BEGIN_DECLS

/**
 * @brief An instrument's schedule with every tier's cum filled in (derived or as published).
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[out] out Array of @p capacity tiers (cum_given reports whether cum was published).
 * @param[in] capacity Length of @p out (0 to ask for the count).
 * @param[out] count_out Number of tiers (also on ::RISK_EBUFFER).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine or count_out, or NULL out with capacity > 0.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EBUFFER @p capacity too small.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_instrument_tiers(const risk_engine *engine, uint32_t instrument,
                                                         risk_margin_tier *out, size_t capacity, size_t *count_out);

/**
 * @brief IM and MM of a notional under an instrument's schedule.
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[in] notional Notional in the settle asset, finite and >= 0.
 * @param[in] leverage User leverage (>= 1 and <= the schedule's maximum), or 0 for the tier's maximum.
 * @param[out] im_out Initial margin, notional / min(leverage, tier max leverage); may be NULL.
 * @param[out] mm_out Maintenance margin, notional x mmr - cum; may be NULL.
 * @param[out] tier_out 0-based tier index; may be NULL.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL Notional or leverage out of range.
 * @retval RISK_ELEVERAGE Leverage above the schedule's maximum.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_instrument_margin(const risk_engine *engine, uint32_t instrument, double notional,
                                                          double leverage, double *im_out, double *mm_out, uint32_t *tier_out);

RISK_END_DECLS

/** @} */
#endif /* RISK_MARGIN_H */
