/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/cascade.h
 * @brief Liquidation cascades (a shock pushed through the book's liquidations and a market-impact
 *        model, round after round) and insurance-fund adequacy (Cover 2, Monte Carlo survival).
 * @defgroup cascade Liquidation cascades and fund adequacy
 * @{
 *
 * risk_engine_cascade() moves the market by an exogenous shock (one step, or a path of several),
 * then repeats rounds: every liquidatable account, in creation order, gets its liquidation plan
 * (risk_account_liquidation_plan()) which is applied at once (risk_account_apply_plan()); the
 * contracts the round sold or bought in the market move the marks through a per-instrument
 * impact model; the next round looks again, until a round liquidates nothing or a round cap.
 * It MUTATES the engine it is given: run it on a copy (a snapshot round trip, risk/snapshot.h,
 * or a rebuilt book) when the book must be kept.
 *
 * risk_engine_cover2() and risk_engine_fund_survival() only read the engine: the deficits the
 * largest defaulters would leave under each scenario (CCP "Cover 2", PFMI 4.4 and EMIR
 * Art. 43), and the share of Monte Carlo scenarios whose book deficit a fund covers.
 *
 * Formulas, sources and what is left out: docs/stress.md, "Liquidation cascades" and
 * "Insurance-fund adequacy".
 */
#ifndef RISK_CASCADE_H
#define RISK_CASCADE_H

#include "risk/common.h"
#include "risk/engine.h"
#include "risk/portfolio.h"
#include "risk/var.h"

RISK_BEGIN_DECLS

/** Impact model: the instrument's liquidation flow does not move its mark. */
#define RISK_IMPACT_NONE 0u
/** Impact model: square-root law, log move I(Q) = sign(Q) x Y x sigma x sqrt(|Q| / V) for a net flow Q (Almgren et al. 2005, Bouchaud et al. 2018). */
#define RISK_IMPACT_SQRT 1u
/** Impact model: linear order-book depth, log move I(Q) = 0.01 x Q / depth (depth = contracts resting within 1 % of the mark). */
#define RISK_IMPACT_LINEAR 2u

/** Version of ::risk_impact this header describes. */
#define RISK_IMPACT_VERSION 1

/**
 * @brief The market-impact model of one instrument. Initialise with ::RISK_IMPACT_INIT.
 *
 * Q is a net market flow on the instrument in contracts (buys > 0, sells < 0): the reduce
 * actions of the plans applied (ADL and backstop fills do not reach the market), summed over the
 * rounds of a step. docs/stress.md gives the laws, their sources and the defaults' calibration.
 */
typedef struct risk_impact {
    uint32_t version;  /**< ::RISK_IMPACT_VERSION. */
    uint32_t model;    /**< ::RISK_IMPACT_NONE, ::RISK_IMPACT_SQRT or ::RISK_IMPACT_LINEAR. */
    double y;          /**< Square root: the prefactor Y, in [0, 10]; default 0.7 (Toth et al. 2011 report Y of order 1, 0.5-1). */
    double sigma;      /**< Square root: daily volatility as a fraction, in [0, 10]; default 0.04. */
    double volume;     /**< Square root: daily traded volume V in contracts, > 0 and <= ::RISK_NOTIONAL_MAX. */
    double depth;      /**< Linear: contracts resting within 1 % of the mark on the side hit, > 0 and <= ::RISK_NOTIONAL_MAX. */
} risk_impact;

/** Initialiser for ::risk_impact: no impact (the square-root defaults filled in for when the model is set). */
#define RISK_IMPACT_INIT {RISK_IMPACT_VERSION, RISK_IMPACT_NONE, 0.7, 0.04, 1.0, 1.0}

/** Most rounds per step of a cascade. */
#define RISK_CASCADE_ROUNDS_MAX 100000u

struct risk_cascade_round; /* defined below */

/**
 * @brief Progress of a cascade: called after every round (risk_cascade_options::progress).
 *
 * @param[in] user risk_cascade_options::progress_user, as given.
 * @param[in] round The round just run (valid during the call only): its step, its number within
 *            the step and what it liquidated, as the round records report it.
 * @param[in] n_steps The shock path's steps (risk_cascade_options::n_steps), so that a caller can
 *            show "step t of n".
 *
 * Observational: the callback must not use the engine or its accounts (the cascade is between
 * rounds and holds them), and it cannot stop the run. It runs on the calling thread.
 */
typedef void (*risk_cascade_progress_fn)(void *user, const struct risk_cascade_round *round, size_t n_steps);

/** Version of ::risk_cascade_options this header describes. */
#define RISK_CASCADE_OPTIONS_VERSION 1

/**
 * @brief What a cascade runs. Initialise with ::RISK_CASCADE_OPTIONS_INIT, then set the fields.
 *
 * The shock is a path of @ref n_steps steps: step t multiplies the price of asset a, and the
 * mark of every perpetual or future whose underlying is a, by 1 + shocks[t x n_assets + a]
 * (the moves are relative to the prices the step finds, impact included; options follow their
 * underlying through the engine's pricing). One step is an instantaneous shock.
 */
typedef struct risk_cascade_options {
    uint32_t version;           /**< ::RISK_CASCADE_OPTIONS_VERSION. */
    uint32_t max_rounds;        /**< Rounds per step, 1..::RISK_CASCADE_ROUNDS_MAX; default 100. */
    size_t n_steps;             /**< Rows of @ref shocks, 1..::RISK_SCENARIOS_MAX. */
    size_t n_assets;            /**< Columns of @ref shocks, 0..the engine's asset count (assets beyond do not move). */
    const double *shocks;       /**< n_steps x n_assets relative moves, each finite and > -1; the valuation asset's column 0. May be NULL when n_assets is 0. */
    const risk_impact *impact;  /**< NULL (no impact anywhere), or @ref n_impact models, element i for instrument id i. */
    size_t n_impact;            /**< Length of @ref impact, 0..the engine's instrument count (instruments beyond have no impact). */
    risk_cascade_progress_fn progress; /**< NULL, or called after every round (for progress on a long run). */
    void *progress_user;        /**< Passed to @ref progress as it is. */
} risk_cascade_options;

/** Initialiser for ::risk_cascade_options: 100 rounds per step, no shock rows set yet. */
#define RISK_CASCADE_OPTIONS_INIT {RISK_CASCADE_OPTIONS_VERSION, 100u, 0, 0, NULL, NULL, 0, NULL, NULL}

/** Version of ::risk_cascade_round this header describes. */
#define RISK_CASCADE_ROUND_VERSION 1

/**
 * @brief One round of a cascade, or the totals of all of them. Money in the valuation asset V,
 *        valued at the prices of the round.
 */
typedef struct risk_cascade_round {
    uint32_t version;         /**< ::RISK_CASCADE_ROUND_VERSION, set by the caller (element 0 of an array gives all). */
    uint32_t step;            /**< The shock step (0-based); totals: number of steps. */
    uint32_t round;           /**< Round within the step, 0 right after the step's shock; totals: rounds that liquidated something. */
    uint32_t capped;          /**< 1: this was the step's last allowed round (max_rounds) and it still liquidated, so the step was cut short (totals: any step was). */
    uint64_t n_liquidated;    /**< Plans applied (accounts liquidated in the round). */
    uint64_t n_close_outs;    /**< Of those, close-outs (::RISK_PLAN_CLOSE_OUT). */
    uint64_t n_adl_fills;     /**< ADL actions applied. */
    uint64_t n_backstop_fills;/**< Backstop takeovers (backstop actions) applied. */
    double market_volume;     /**< Notional sold or bought in the market by reduce actions, sum of |q| x contract value at the execution price (>= 0). */
    double adl_volume;        /**< Notional deleveraged against counterparties at bankruptcy prices (>= 0). */
    double backstop_volume;   /**< Notional taken over by the backstop account (>= 0). */
    double fund_drawn;        /**< Insurance-fund draws (>= 0). */
    double fund_paid_in;      /**< Paid into the funds: insurance fees, protocol fees, positive insurance actions (>= 0). */
    double socialized;        /**< Losses socialised to the opposite side (>= 0). */
    double uncovered;         /**< Deficits of the round's close-outs left on the accounts (>= 0). */
    double liquidator_gain;   /**< Liquidators' gains: fees, plus the value at the mark of what they bought or sold at the execution price, plus seized collateral less the debt repaid. */
    double fund_after;        /**< The insurance funds after the round, sum over assets of balance x price. */
    double bad_debt;          /**< After the round: sum over accounts of max(-equity, 0). */
} risk_cascade_round;

/** Initialiser for ::risk_cascade_round. */
#define RISK_CASCADE_ROUND_INIT {RISK_CASCADE_ROUND_VERSION, 0u, 0u, 0u, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/**
 * @brief Runs a liquidation cascade on the engine, mutating it.
 *
 * For each step of the shock path: move the prices and marks (a mark goes on the nearest tick,
 * at least one tick; a price stays in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX]), then rounds: every
 * account in creation order that is liquidatable or bankrupt gets its plan, applied at once when
 * it has actions (so later accounts of the round see earlier plans' ADL fills and fund draws);
 * the round's net market flow q_i per instrument gives a log move r_i = I_i(Q_i + q_i) - I_i(Q_i)
 * by the instrument's impact law I_i, where Q_i is the flow of the step's earlier rounds (so the
 * rounds of a step together move the mark by I_i of the step's whole flow, as one metaorder; the
 * impact is permanent across steps), and each underlying asset u (not the valuation asset) moves
 * by exp(sum of r_i over the instruments on u): its price and the marks of every perpetual and
 * future on it. Option flows move nothing. A round that
 * applies no plan ends the step; so does the round cap (`capped`). Rounds are recorded in
 * order; a round that applies no plan is recorded only when it is round 0 of its step, so the
 * price path has every step.
 *
 * Deterministic: the same engine and options give the same engine and the same records.
 * @param[in,out] engine The engine (mutated: prices, marks, accounts, funds).
 * @param[in] options The shock path, impact models and round cap.
 * @param[out] totals Sums over all rounds (counts and money), the funds and bad debt at the end;
 *             `step` = steps run, `round` = rounds that liquidated something.
 * @param[out] rounds NULL, or @p capacity records (version of element 0 read for all).
 * @param[out] marks_out NULL, or @p capacity x (instrument count) marks at which each recorded
 *             round ran (after its step's shock and earlier rounds' impact).
 * @param[out] flow_out NULL, or @p capacity x (instrument count) net market flows Q in contracts
 *             of each recorded round (buys > 0).
 * @param[in] capacity Records the arrays hold. Records beyond it are counted and not stored.
 * @param[out] count_out Records of the whole run (may exceed @p capacity).
 * @retval RISK_OK Done (also when records were left out for want of capacity).
 * @retval RISK_ENULL NULL engine, options, totals or count_out; NULL shocks with n_assets > 0;
 *         NULL impact with n_impact > 0.
 * @retval RISK_EVERSION Unknown options, impact or result version.
 * @retval RISK_EINVAL A count, shock or impact parameter outside its domain, or a move of the
 *         valuation asset (nothing changed).
 * @retval RISK_ENOMEM Out of memory. Before the first step nothing changed; later the engine
 *         holds the rounds run so far and @p totals reports them.
 * @par Thread safety
 * Writes the engine and its accounts: no concurrent use of either.
 */
RISK_API RISK_NODISCARD int risk_engine_cascade(risk_engine *engine, const risk_cascade_options *options,
                                                risk_cascade_round *totals, risk_cascade_round *rounds,
                                                double *marks_out, double *flow_out, size_t capacity,
                                                size_t *count_out);

/** Version of ::risk_cover2 this header describes. */
#define RISK_COVER2_VERSION 1

/**
 * @brief The largest defaulters' deficits under one scenario. Money in the valuation asset V.
 *
 * An account's deficit under a scenario is max(-equity after the scenario, 0): the stress loss
 * beyond everything it holds (its margin), which a default leaves to the insurance fund
 * (a CCP's uncollateralised stress exposure). Accounts ranked by deficit, largest first, ties by
 * smaller id; each deficit in whole quanta of V.
 */
typedef struct risk_cover2 {
    uint32_t version;      /**< ::RISK_COVER2_VERSION, set by the caller in element 0. */
    uint32_t n_top;        /**< Entries used in @ref top_ids (accounts with a deficit, at most 3). */
    uint64_t top_ids[3];   /**< Ids of the three largest deficits. */
    double top_deficit[3]; /**< Their deficits (>= 0), largest first. */
    double cover1;         /**< The largest deficit. */
    double cover2;         /**< The two largest together (PFMI 4.4: the two participants with the largest exposure). */
    double emir;           /**< max(largest, second + third) (EMIR Art. 43(2)). */
    double total_deficit;  /**< All accounts' deficits. */
    uint64_t n_deficit;    /**< Accounts with a deficit. */
} risk_cover2;

/** Initialiser for ::risk_cover2. */
#define RISK_COVER2_INIT {RISK_COVER2_VERSION, 0u, {0, 0, 0}, {0, 0, 0}, 0, 0, 0, 0, 0}

/**
 * @brief Cover 1, Cover 2 and the EMIR figure under each scenario of a batch.
 *
 * The fund needed is the largest @ref risk_cover2.cover2 over the batch (stress scenarios and
 * historical episodes alike: each is a row). Equities after each scenario are those of
 * risk_engine_stress(), bit for bit.
 * @param[in] engine The engine.
 * @param[in] scenarios The batch (validated as by risk_account_scenario_pnl()).
 * @param[out] out n_scenarios results.
 * @param[in] threads Worker threads, 1..256 (0 means 1); the result is the same for any count.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine, scenarios or out.
 * @retval RISK_EVERSION Unknown scenarios or result version.
 * @retval RISK_EINVAL threads > 256, or a scenario outside its domain.
 * @retval RISK_ENOMEM Out of memory (at most about 32 MiB of equities at a time).
 * @retval RISK_ETHREAD A worker could not be started.
 * @par Thread safety
 * Reads the engine and its accounts.
 */
RISK_API RISK_NODISCARD int risk_engine_cover2(const risk_engine *engine, const risk_scenarios *scenarios,
                                               risk_cover2 *out, uint32_t threads);

/** Version of ::risk_fund_survival this header describes. */
#define RISK_FUND_SURVIVAL_VERSION 1

/** @brief The insurance fund against Monte Carlo scenarios. Money in V. Initialise with ::RISK_FUND_SURVIVAL_INIT. */
typedef struct risk_fund_survival {
    uint32_t version;      /**< ::RISK_FUND_SURVIVAL_VERSION, set by the caller. */
    uint32_t reserved;     /**< 0. */
    uint64_t n;            /**< Scenarios. */
    uint64_t n_survived;   /**< Scenarios whose book deficit is at most the fund. */
    double fund;           /**< The fund tested. */
    double survival;       /**< n_survived / n. */
    double std_error;      /**< Binomial standard error sqrt(p (1 - p) / n). */
    double level;          /**< The confidence of @ref fund_needed. */
    double fund_needed;    /**< The empirical @ref level quantile of the book deficit (risk_var_historical()'s VaR of -deficit): the smallest fund that survives that share. */
    double deficit_es;     /**< Mean of the deficit beyond that quantile (the ES at @ref level). */
    double deficit_mean;   /**< Mean book deficit. */
    double deficit_max;    /**< Largest book deficit. */
} risk_fund_survival;

/** Initialiser for ::risk_fund_survival. */
#define RISK_FUND_SURVIVAL_INIT {RISK_FUND_SURVIVAL_VERSION, 0u, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/**
 * @brief Survival probability of an insurance fund under correlated Monte Carlo scenarios.
 *
 * The scenarios are risk_var_mc_scenarios()'s (the same generator, seed and options): k factor
 * log returns x for the assets @p assets, each applied as a relative move exp(x) - 1 to its
 * asset (and so to the marks on it). Scenario s's book deficit is risk_engine_stress()'s
 * `deficit` (sum over accounts of max(-equity after, 0)); the fund survives s when it is at
 * most @p fund.
 * @param[in] engine The engine.
 * @param[in] assets @p k distinct asset ids, none the valuation asset.
 * @param[in] cov @p k x @p k per-period covariance of the log returns (as risk_var_ewma_cov() gives).
 * @param[in] k Factors, 1..::RISK_VAR_FACTORS_MAX and at most the engine's asset count.
 * @param[in] n Scenarios, 1..::RISK_SCENARIOS_MAX.
 * @param[in] mc NULL for ::RISK_VAR_MC_OPTIONS_INIT (seed, distribution, horizon).
 * @param[in] fund The fund in V, finite, in [0, ::RISK_NOTIONAL_MAX].
 * @param[in] level Confidence of the fund needed, in (0, 1) (0.99 for a 99 % fund).
 * @param[in] threads Worker threads, 1..256 (0 means 1); the result is the same for any count.
 * @param[out] out The result.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL NULL engine, assets, cov or out.
 * @retval RISK_ENOTFOUND An unknown asset id.
 * @retval RISK_EVERSION Unknown option or result version.
 * @retval RISK_EINVAL A count, fund or level out of range, a repeated asset or the valuation
 *         asset, a covariance risk_var_mc_scenarios() refuses, or a scenario that moves a price
 *         or mark out of its domain.
 * @retval RISK_ENOMEM Out of memory (n x (k + engine assets) doubles).
 * @retval RISK_ETHREAD A worker could not be started.
 * @par Thread safety
 * Reads the engine and its accounts.
 */
RISK_API RISK_NODISCARD int risk_engine_fund_survival(const risk_engine *engine, const uint32_t *assets,
                                                      const double *cov, size_t k, size_t n,
                                                      const risk_var_mc_options *mc, double fund, double level,
                                                      uint32_t threads, risk_fund_survival *out);

RISK_END_DECLS

/** @} */
#endif /* RISK_CASCADE_H */
