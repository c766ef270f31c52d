/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk/engine.h
 * @brief The engine: allocator, asset and instrument registry, market data, batch evaluation.
 * @defgroup engine Engine
 * @{
 *
 * An engine values everything in one valuation asset V (the asset chosen with
 * risk_engine_set_valuation_asset(), by default the first asset registered with price 1). Asset prices are
 * in V per unit of the asset; instrument marks are in the instrument's quote (its settle asset
 * for linear instruments, USD-like quote for inverse ones) per unit of the underlying.
 *
 * @par Thread safety
 * An engine and its children are used by one thread at a time. Evaluation calls only read the
 * engine, so any number of threads may evaluate distinct accounts while no thread mutates it.
 */
#ifndef RISK_ENGINE_H
#define RISK_ENGINE_H

#include "risk/common.h"
#include "risk/alloc.h"

RISK_BEGIN_DECLS

struct risk_account_summary;

/* ---------------------------------------------------------------- types */

/** Version of ::risk_engine_options this header describes. */
#define RISK_ENGINE_OPTIONS_VERSION 1
/** Engine flag: leave results unquantized (for tests against exact references). */
#define RISK_ENGINE_NO_QUANTIZE 0x1u
/** Engine flag: evaluate every account on the generic (reference) path, never on the sweep's
 *  fast path for common accounts. Results are the same bit for bit either way (the fast path is
 *  tested against this one); the flag exists for differential tests and diagnosis. */
#define RISK_ENGINE_GENERIC_SWEEP 0x2u
/** Engine flag: keep a sweep image, a copy of every account's positions and balances laid out in
 *  tiles of eight accounts, from which risk_engine_evaluate_all() evaluates eight accounts per
 *  vector in one stream through memory (1.5-1.6x faster on the AVX-512 path for books of 8
 *  positions an account). It costs about 440 bytes per account slot (3,520 per tile of eight,
 *  whatever the accounts hold), counted by risk_engine_memory_bytes(). Results are the same bit
 *  for bit with or without it. Changes to an account mark its tile, which the next
 *  risk_engine_evaluate_all() rebuilds; accounts the image does not take (more than 8
 *  positions, more than 2 balances, portfolio margin) and CPUs without AVX-512 are evaluated
 *  as without the flag. See docs/performance.md, "The sweep image". */
#define RISK_ENGINE_SWEEP_IMAGE 0x4u

/** @brief Options for risk_engine_new(). Initialise with ::RISK_ENGINE_OPTIONS_INIT. */
typedef struct risk_engine_options {
    uint32_t version;          /**< ::RISK_ENGINE_OPTIONS_VERSION. */
    uint32_t flags;            /**< 0, or any of ::RISK_ENGINE_NO_QUANTIZE, ::RISK_ENGINE_GENERIC_SWEEP and
                                    ::RISK_ENGINE_SWEEP_IMAGE. */
    risk_allocator allocator;  /**< Memory hook; all NULL for the C library. */
    double margin_call_health; /**< Health factor under which an account is in margin call; >= 1, default 1.2. */
} risk_engine_options;

/** Default engine options. */
#define RISK_ENGINE_OPTIONS_INIT {RISK_ENGINE_OPTIONS_VERSION, 0u, {NULL, NULL, NULL, NULL}, 1.2}

/** @brief One quantity tier of an asset's collateral value ratio (Bybit's tiered CVR). */
typedef struct risk_value_tier {
    double up_to_qty; /**< Inclusive upper bound of the tier in asset units, at most 2^53 quanta of the asset; INFINITY allowed on the last tier. */
    double ratio;     /**< Fraction of the value counted for quantity in this tier, in [0, 1]. */
} risk_value_tier;

/** Version of ::risk_asset_spec this header describes. */
#define RISK_ASSET_SPEC_VERSION 1

/**
 * @brief An asset to register. Initialise with ::RISK_ASSET_SPEC_INIT, then set the fields.
 *
 * Weights must satisfy 0 <= weight_init <= weight_maint <= 1 and
 * 1 <= liab_weight_maint <= liab_weight_init. Value tiers have strictly increasing bounds;
 * quantity above the last bound counts at ratio 0.
 */
typedef struct risk_asset_spec {
    uint32_t version;        /**< ::RISK_ASSET_SPEC_VERSION. */
    uint32_t decimals;       /**< Decimals of the asset's quantum (USDT 6, BTC 8), at most 18. */
    const char *symbol;      /**< Unique symbol, 1..31 bytes, copied. */
    double price;            /**< Price in the valuation asset, in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX]. */
    double weight_init;      /**< Collateral weight for initial margin, default 1. */
    double weight_maint;     /**< Collateral weight for maintenance margin, default 1. */
    double liab_weight_init; /**< Liability weight for initial margin, default 1. */
    double liab_weight_maint;/**< Liability weight for maintenance margin, default 1. */
    const risk_value_tier *value_tiers; /**< Optional tiers (copied); NULL for ratio 1 throughout. */
    size_t n_value_tiers;    /**< Number of value tiers, at most 64. */
} risk_asset_spec;

/** Default asset spec: 8 decimals, all weights 1, no tiers, price unset (must be given). */
#define RISK_ASSET_SPEC_INIT {RISK_ASSET_SPEC_VERSION, 8u, NULL, 0.0, 1.0, 1.0, 1.0, 1.0, NULL, 0}

/**
 * @brief One notional tier of a margin schedule (Binance's leverage bracket, Bybit's risk limit).
 *
 * MM(N) = N x mmr - cum for N in the tier, IM = N / min(user leverage, max_leverage).
 * cum is derived, cum_t = cum_(t-1) + cap_(t-1) x (mmr_t - mmr_(t-1)), unless `cum_given`.
 */
typedef struct risk_margin_tier {
    double notional_cap; /**< Inclusive upper bound of notional in the settle asset, at most ::RISK_NOTIONAL_MAX (1e30); the last tier's is ignored (unbounded). */
    double mmr;          /**< Maintenance margin rate in this tier: 0, or in [::RISK_MMR_MIN, 1). */
    double max_leverage; /**< Maximum leverage in this tier, in [1, ::RISK_LEVERAGE_MAX]. */
    double cum;          /**< Maintenance deduction in the settle asset, in [0, ::RISK_NOTIONAL_MAX], used when cum_given is 1. */
    uint32_t cum_given;  /**< 1: use @ref cum as published; 0: derive it. */
} risk_margin_tier;

/** Instrument kind: perpetual swap. */
#define RISK_KIND_PERPETUAL 1u
/** Instrument kind: dated future. */
#define RISK_KIND_FUTURE 2u
/** Instrument kind: European option on the underlying asset (needs ::risk_instrument_spec version 2; docs/options.md, section 6). */
#define RISK_KIND_OPTION 3u

/** Margin valuation price: the mark (default; Binance). */
#define RISK_MM_PRICE_MARK 0u
/** Margin valuation price: the entry price (Bybit USDT contracts). */
#define RISK_MM_PRICE_ENTRY 1u

/** Version of ::risk_instrument_spec this header describes (version 1, without the option fields, is still accepted). */
#define RISK_INSTRUMENT_SPEC_VERSION 2

/**
 * @brief A perpetual, dated future or option to register. Initialise with ::RISK_INSTRUMENT_SPEC_INIT.
 *
 * Linear: notional and PnL in the settle asset (which must differ from the underlying).
 * Inverse: contracts are quote-currency face value (contract_size in quote), notional and PnL
 * in the underlying, and the settle asset must be the underlying.
 *
 * Options (::RISK_KIND_OPTION, version 2): European, on the underlying asset, expiring at
 * `expiry_unix_s`, which must be after the engine's time (risk_engine_set_time(), set first).
 * `contract_size` is in underlying units for options, linear or inverse. The mark is the premium
 * per unit of the underlying in the settle asset: coins for a coin-settled (inverse) option
 * (Deribit BTC options), quote for a linear one (USDC options); it is given as a price (`mark`,
 * `mark_vol` 0), or as a mark implied volatility (`mark_vol` > 0, `mark` ignored) from which the
 * engine prices it with Black-76 on the forward F = U e^(carry_rate T), U the underlying's price
 * in quote, T = (expiry - engine time) / 365 days, undiscounted. Options take no margin tiers:
 * they are margined by the standard option rule (docs/options.md, section 7).
 */
typedef struct risk_instrument_spec {
    uint32_t version;        /**< ::RISK_INSTRUMENT_SPEC_VERSION. */
    uint32_t kind;           /**< ::RISK_KIND_PERPETUAL or ::RISK_KIND_FUTURE. */
    const char *symbol;      /**< Unique symbol, 1..31 bytes, copied. */
    uint32_t underlying;     /**< Asset id of the underlying. */
    uint32_t settle;         /**< Asset id of the settle (margin) asset. */
    uint32_t inverse;        /**< 0 linear, 1 inverse. */
    uint32_t mm_price;       /**< ::RISK_MM_PRICE_MARK or ::RISK_MM_PRICE_ENTRY. */
    int64_t expiry_unix_s;   /**< Futures: expiry in seconds since 1970-01-01 UTC, > 0; perpetuals: 0. */
    double contract_size;    /**< Underlying units per contract (linear) or quote per contract (inverse), in [::RISK_SIZE_MIN, ::RISK_SIZE_MAX]. */
    double lot_size;         /**< Quantity step in contracts, in [::RISK_SIZE_MIN, ::RISK_SIZE_MAX]. */
    double tick_size;        /**< Price step in quote, in [::RISK_SIZE_MIN, ::RISK_SIZE_MAX]. */
    double mark;             /**< Initial mark price in quote per underlying unit, as for risk_engine_set_mark(). */
    const risk_margin_tier *tiers; /**< Margin schedule (copied), caps strictly increasing; options: NULL and 0. */
    size_t n_tiers;          /**< Number of tiers, 1..64 (options: 0). */
    /* version 2 */
    double strike;           /**< Options: strike in quote per underlying unit, in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX]; others: 0. */
    int32_t option_type;     /**< Options: ::RISK_OPTION_CALL (1) or ::RISK_OPTION_PUT (-1); others: 0. */
    uint32_t reserved;       /**< 0. */
    double mark_vol;         /**< Options: mark implied volatility (annual fraction, in (0, 10]) from which the engine prices the mark, or 0 when the mark is given as a price; others: 0. */
    double carry_rate;       /**< Options: carry rate of the forward, continuously compounded, in [-1, 1] (0: the forward is the underlying's price); others: 0. */
    double underlying_tick;  /**< Options: price step of the underlying in quote, for liquidation prices reported in the underlying, in [::RISK_SIZE_MIN, ::RISK_SIZE_MAX]; default 0.01. */
} risk_instrument_spec;

/** Default instrument spec: linear perpetual, contract 1, lot and tick 1, MM at the mark; symbol, assets, mark and tiers must be given. */
#define RISK_INSTRUMENT_SPEC_INIT {RISK_INSTRUMENT_SPEC_VERSION, RISK_KIND_PERPETUAL, NULL, \
    RISK_ID_NONE, RISK_ID_NONE, 0u, RISK_MM_PRICE_MARK, 0, 1.0, 1.0, 1.0, 0.0, NULL, 0, 0.0, 0, 0u, 0.0, 0.0, 0.01}

/* ---------------------------------------------------------------- lifecycle */

/**
 * @brief Creates an engine.
 * @param[out] out The new engine; NULL on failure.
 * @param[in] options NULL for the defaults, or options initialised with ::RISK_ENGINE_OPTIONS_INIT.
 * @retval RISK_OK Created.
 * @retval RISK_ENULL @p out is NULL.
 * @retval RISK_EVERSION Unknown options version.
 * @retval RISK_EINVAL Allocator half set, or margin_call_health < 1 or not finite.
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Always safe.
 */
RISK_API RISK_NODISCARD int risk_engine_new(risk_engine **out, const risk_engine_options *options);

/**
 * @brief Releases the caller's reference to an engine.
 *
 * Accounts and standalone baskets keep the engine alive: it is freed when its last child is
 * freed, so children may be freed before or after. NULL is a no-op. After this call the
 * handle must not be used, except through its surviving children.
 * @param[in] engine The engine, or NULL.
 * @par Thread safety
 * Not while any other call uses the engine or its children.
 */
RISK_API void risk_engine_free(risk_engine *engine);

/* ---------------------------------------------------------------- configuration */

/**
 * @brief Registers an asset.
 * @param[in] engine The engine.
 * @param[in] spec The asset (copied).
 * @param[out] id_out Its id (dense, from 0 in registration order); may be NULL.
 * @retval RISK_OK Registered.
 * @retval RISK_ENULL NULL engine or spec or symbol.
 * @retval RISK_EVERSION Unknown spec version.
 * @retval RISK_EINVAL Price (outside [::RISK_PRICE_MIN, ::RISK_PRICE_MAX]), weight or decimals out of range; symbol empty or too long.
 * @retval RISK_EDUPLICATE The symbol is taken.
 * @retval RISK_ETIERS Value tiers not increasing, a finite bound above 2^53 quanta, or a ratio outside [0, 1].
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_add_asset(risk_engine *engine, const risk_asset_spec *spec, uint32_t *id_out);

/**
 * @brief Registers an instrument.
 * @param[in] engine The engine.
 * @param[in] spec The instrument (copied, with its tiers).
 * @param[out] id_out Its id (dense, from 0 in registration order); may be NULL.
 * @retval RISK_OK Registered.
 * @retval RISK_ENULL NULL engine, spec, symbol or tiers.
 * @retval RISK_EVERSION Unknown spec version.
 * @retval RISK_EINVAL Sizes (outside [::RISK_SIZE_MIN, ::RISK_SIZE_MAX]), mark (as for risk_engine_set_mark()), kind, expiry or flags out of range; inverse not settled in its underlying; linear settled in its underlying.
 * @retval RISK_ENOTFOUND Unknown underlying or settle asset.
 * @retval RISK_EDUPLICATE The symbol is taken.
 * @retval RISK_ETIERS Caps not strictly increasing or above ::RISK_NOTIONAL_MAX, mmr outside {0} and [::RISK_MMR_MIN, 1), max leverage outside [1, ::RISK_LEVERAGE_MAX] or rising with size, or a given cum outside [0, ::RISK_NOTIONAL_MAX].
 * @retval RISK_ENOMEM Out of memory.
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_add_instrument(risk_engine *engine, const risk_instrument_spec *spec, uint32_t *id_out);

/**
 * @brief Chooses the valuation asset V. Its price must be 1 and stays 1.
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @retval RISK_OK Chosen.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EINVAL Its price is not 1.
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_valuation_asset(risk_engine *engine, uint32_t asset);

/**
 * @brief Sets the health factor under which an account is in margin call.
 * @param[in] engine The engine.
 * @param[in] health Threshold, finite and >= 1 (default 1.2).
 * @retval RISK_OK Set.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_EINVAL Out of range.
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_margin_call_health(risk_engine *engine, double health);

/* ---------------------------------------------------------------- market data */

/**
 * @brief Sets an asset's price in the valuation asset.
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @param[in] price Price in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX] (1e-12 to 1e12); the valuation asset accepts only 1.
 * @retval RISK_OK Set.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @retval RISK_EINVAL Price outside [::RISK_PRICE_MIN, ::RISK_PRICE_MAX] or NaN, or not 1 for the valuation asset.
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_asset_price(risk_engine *engine, uint32_t asset, double price);

/**
 * @brief Sets several asset prices at once: all or none.
 * @param[in] engine The engine.
 * @param[in] assets @p n asset ids.
 * @param[in] prices @p n prices, as for risk_engine_set_asset_price().
 * @param[in] n Count (0 is a no-op).
 * @retval RISK_OK All set.
 * @retval RISK_ENULL NULL engine, or NULL arrays with n > 0.
 * @retval RISK_ENOTFOUND An unknown asset (nothing set).
 * @retval RISK_EINVAL A bad price (nothing set).
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_asset_prices(risk_engine *engine, const uint32_t *assets, const double *prices, size_t n);

/**
 * @brief Sets an instrument's mark price (need not be on the tick).
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[in] mark Mark price in quote per underlying unit, in [::RISK_PRICE_MIN, ::RISK_PRICE_MAX], at least one tick and at most 2^52 ticks.
 * @retval RISK_OK Set.
 * @retval RISK_ENULL NULL engine.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @retval RISK_EINVAL Mark outside [::RISK_PRICE_MIN, ::RISK_PRICE_MAX] or NaN, below one tick or above 2^52 ticks.
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_mark(risk_engine *engine, uint32_t instrument, double mark);

/**
 * @brief Sets several marks at once: all or none.
 * @param[in] engine The engine.
 * @param[in] instruments @p n instrument ids.
 * @param[in] marks @p n marks, as for risk_engine_set_mark().
 * @param[in] n Count (0 is a no-op).
 * @retval RISK_OK All set.
 * @retval RISK_ENULL NULL engine, or NULL arrays with n > 0.
 * @retval RISK_ENOTFOUND An unknown instrument (nothing set).
 * @retval RISK_EINVAL A bad mark (nothing set).
 * @par Thread safety
 * Mutates the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_set_marks(risk_engine *engine, const uint32_t *instruments, const double *marks, size_t n);

/* ---------------------------------------------------------------- operations */

/**
 * @brief Evaluates every account of the engine into caller arrays.
 *
 * Accounts come in creation order (freed ones leave no gap). The answer is bit-identical for
 * any thread count. Nothing is allocated except the worker threads.
 * @param[in] engine The engine.
 * @param[out] summaries_out Array of @p capacity summaries; each element's `version` must be
 *             set (the library reads `summaries_out[0].version` for all of them).
 * @param[out] ids_out Optional array of @p capacity external account ids; may be NULL.
 * @param[in] capacity Length of the arrays.
 * @param[in] threads Worker threads, 1..256 (0 means 1).
 * @param[out] count_out Number of accounts (written also on ::RISK_EBUFFER).
 * @retval RISK_OK Evaluated.
 * @retval RISK_ENULL NULL engine, summaries_out or count_out.
 * @retval RISK_EBUFFER @p capacity < number of accounts; *count_out tells the need.
 * @retval RISK_EVERSION Unknown summary version.
 * @retval RISK_EINVAL threads > 256.
 * @retval RISK_ETHREAD A worker could not be started (nothing reported).
 * @par Thread safety
 * Reads the engine and its accounts; no other thread may mutate them meanwhile.
 */
RISK_API RISK_NODISCARD int risk_engine_evaluate_all(const risk_engine *engine, struct risk_account_summary *summaries_out,
                                                     uint64_t *ids_out, size_t capacity, uint32_t threads, size_t *count_out);

/* ---------------------------------------------------------------- introspection */

/**
 * @brief Looks up an asset by symbol.
 * @param[in] engine The engine.
 * @param[in] symbol The symbol.
 * @param[out] out The asset id.
 * @retval RISK_OK Found.
 * @retval RISK_ENULL A NULL argument.
 * @retval RISK_ENOTFOUND No such asset.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_find_asset(const risk_engine *engine, const char *symbol, uint32_t *out);

/**
 * @brief Looks up an instrument by symbol.
 * @param[in] engine The engine.
 * @param[in] symbol The symbol.
 * @param[out] out The instrument id.
 * @retval RISK_OK Found.
 * @retval RISK_ENULL A NULL argument.
 * @retval RISK_ENOTFOUND No such instrument.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_find_instrument(const risk_engine *engine, const char *symbol, uint32_t *out);

/**
 * @brief Looks up an account by its external id.
 * @param[in] engine The engine.
 * @param[in] account_id External id.
 * @param[out] out The account (borrowed; owned by whoever created it).
 * @retval RISK_OK Found.
 * @retval RISK_ENULL A NULL argument.
 * @retval RISK_ENOTFOUND No such account.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_find_account(const risk_engine *engine, uint64_t account_id, risk_account **out);

/**
 * @brief An asset's current price in the valuation asset.
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @param[out] out The price.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL A NULL argument.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_asset_price(const risk_engine *engine, uint32_t asset, double *out);

/**
 * @brief An instrument's current mark price.
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[out] out The mark.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL A NULL argument.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_mark(const risk_engine *engine, uint32_t instrument, double *out);

/**
 * @brief The valuation asset's id.
 * @param[in] engine The engine.
 * @param[out] out Its id, or ::RISK_ID_NONE before any asset is registered.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL A NULL argument.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_valuation_asset(const risk_engine *engine, uint32_t *out);

/**
 * @brief Number of accounts alive in the engine.
 * @param[in] engine The engine.
 * @param[out] out The count.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL A NULL argument.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_account_count(const risk_engine *engine, size_t *out);

/**
 * @brief Number of assets registered (ids 0 .. count-1).
 * @param[in] engine The engine.
 * @param[out] out The count.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL A NULL argument.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_asset_count(const risk_engine *engine, size_t *out);

/**
 * @brief Number of instruments registered (ids 0 .. count-1).
 * @param[in] engine The engine.
 * @param[out] out The count.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL A NULL argument.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_instrument_count(const risk_engine *engine, size_t *out);

/**
 * @brief An asset as registered, with its current price: what risk_engine_add_asset() would
 *        need to register it again (for an engine restored from a snapshot, whose registry the
 *        caller did not build).
 * @param[in] engine The engine.
 * @param[in] asset Asset id.
 * @param[in,out] out Its `version` set by the caller to ::RISK_ASSET_SPEC_VERSION; on success
 *             every field is written. `symbol` and `value_tiers` point into the engine (borrowed:
 *             valid until the engine is freed).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL A NULL argument.
 * @retval RISK_EVERSION Unknown spec version.
 * @retval RISK_ENOTFOUND Unknown asset.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_asset_spec(const risk_engine *engine, uint32_t asset, risk_asset_spec *out);

/**
 * @brief An instrument as registered, with its current mark and its base (unscaled) margin
 *        schedule, cum filled in and the last cap infinite.
 * @param[in] engine The engine.
 * @param[in] instrument Instrument id.
 * @param[in,out] out Its `version` set by the caller to ::RISK_INSTRUMENT_SPEC_VERSION; on
 *             success every field is written. `symbol` and `tiers` point into the engine
 *             (borrowed: valid until the engine is freed or the instrument's scaling changes).
 * @retval RISK_OK Done.
 * @retval RISK_ENULL A NULL argument.
 * @retval RISK_EVERSION Unknown spec version.
 * @retval RISK_ENOTFOUND Unknown instrument.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_instrument_spec(const risk_engine *engine, uint32_t instrument,
                                                        risk_instrument_spec *out);

/**
 * @brief Bytes the engine currently holds through its allocator (registry, accounts, positions).
 * @param[in] engine The engine.
 * @param[out] out Bytes requested from the allocator and not yet freed.
 * @retval RISK_OK Done.
 * @retval RISK_ENULL A NULL argument.
 * @par Thread safety
 * Reads the engine.
 */
RISK_API RISK_NODISCARD int risk_engine_memory_bytes(const risk_engine *engine, size_t *out);

/**
 * @brief The engine's last error message.
 * @param[in] engine The engine, or NULL.
 * @return Text owned by the engine, valid until its next call; "" when none; never NULL.
 * @par Thread safety
 * As for the engine.
 */
RISK_API const char *risk_engine_errmsg(const risk_engine *engine);

RISK_END_DECLS

/** @} */
#endif /* RISK_ENGINE_H */
