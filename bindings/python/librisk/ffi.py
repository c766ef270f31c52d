# SPDX-License-Identifier: Apache-2.0
"""Low-level ctypes layer: the loader, the struct mirrors and every C function, declared once.

Nothing here computes risk. The classes in :mod:`librisk.core` are the intended interface; this
module is public for callers who want the raw structs (for example to reuse a
``RiskAccountSummary`` array across calls).

Loading order (first that exists wins):

1. the copy bundled in the wheel: ``librisk/_native/librisk.so.0`` beside this module (``pip
   install .`` builds and bundles it), so an installed package always loads the library it was
   built with, whatever the environment says;
2. ``$LIBRISK_LIBRARY`` (a path to the shared object; when set, the only other candidate);
3. the build tree: ``lib/librisk.so.0`` (then ``lib/librisk.so``) three directories above this
   package, i.e. ``<repo>/lib`` when running from ``<repo>/bindings/python``;
4. ``ctypes.util.find_library("risk")`` (an installed library).

The library's major version (``risk_version_number() // 10000``) must equal
:data:`VERSION_MAJOR`; otherwise :class:`LibraryError` is raised.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading

from . import errors
from typing import Any, Callable

#: Type of the array arguments and results of the batch functions: any sequence of numbers, or a
#: writable float64 buffer (``array.array('d')``, a numpy float64 array) used without a copy.
FloatBuffer = Any
#: A number, or a :data:`FloatBuffer` of them (the option functions broadcast scalars).
FloatOrBuffer = Any

__all__ = [
    "VERSION_MAJOR", "LibraryError", "lib", "library_path",
    "RiskAllocator", "RiskEngineOptions", "RiskValueTier", "RiskAssetSpec", "RiskMarginTier",
    "RiskInstrumentSpec", "RiskBasketSummary", "RiskAccountSummary", "RiskPositionSpec",
    "RiskPositionResult", "RiskLiquidationPolicy", "RiskLiquidationAction", "RiskLiquidationPlan",
    "RiskInsuranceFund", "RiskLiquidateAllOptions", "RiskLiquidateAllResult", "LiquidateAllFn", "RiskAdlEntry", "RiskOrder", "RiskVolEwmaState", "RiskVolRealizedState", "RiskVolGarchState",
    "RiskVolGarchOptions", "RiskVolGarchResult", "RiskVolRangeState",
    "RiskMarginScaling", "RiskAssetVolParams", "RiskAssetVolState", "RiskMarginFactor",
    "RiskInstrumentFees", "RiskOptionBatch", "RiskOptionGreeks", "RiskRateModel", "RiskRates", "RiskRatePool",
    "RiskRateCost", "RiskFundingResult", "RiskSizeScaling", "RiskSizePremium", "RiskVarResult", "RiskVarFilter",
    "RiskVarMcOptions", "RiskVarBacktestResult", "RiskLevtokenSpec", "RiskLevtokenResult", "RiskScenarios",
    "RiskExactSum", "RiskStressScenario", "RiskExposure",
    "RiskImpact", "RiskCascadeOptions", "RiskCascadeRound", "RiskCover2", "RiskFundSurvival",
    "RiskTickChange", "RiskTickStats",
]

# ---------------------------------------------------------------- constants (include/risk/*.h)

#: Major version these bindings were written against (RISK_VERSION_MAJOR).
VERSION_MAJOR = 0

ID_NONE = 0xFFFFFFFF                 # RISK_ID_NONE

ENGINE_OPTIONS_VERSION = 1           # RISK_ENGINE_OPTIONS_VERSION
ENGINE_NO_QUANTIZE = 0x1             # RISK_ENGINE_NO_QUANTIZE
ENGINE_SWEEP_IMAGE = 0x4             # RISK_ENGINE_SWEEP_IMAGE
ASSET_SPEC_VERSION = 1               # RISK_ASSET_SPEC_VERSION
INSTRUMENT_SPEC_VERSION = 2          # RISK_INSTRUMENT_SPEC_VERSION
BASKET_SUMMARY_VERSION = 1           # RISK_BASKET_SUMMARY_VERSION
ACCOUNT_SUMMARY_VERSION = 1          # RISK_ACCOUNT_SUMMARY_VERSION
POSITION_RESULT_VERSION = 2          # RISK_POSITION_RESULT_VERSION
POSITION_SPEC_VERSION = 1            # RISK_POSITION_SPEC_VERSION
SCENARIOS_VERSION = 1                # RISK_SCENARIOS_VERSION
SCENARIOS_MAX = 16777216             # RISK_SCENARIOS_MAX
VOL_MOVE_ABSOLUTE = 0                # RISK_VOL_MOVE_ABSOLUTE
VOL_MOVE_RELATIVE = 1                # RISK_VOL_MOVE_RELATIVE
VOL_MOVE_MAX = 100.0                 # RISK_VOL_MOVE_MAX
STRESS_SCENARIO_VERSION = 1          # RISK_STRESS_SCENARIO_VERSION
EXPOSURE_VERSION = 1                 # RISK_EXPOSURE_VERSION
EXPOSURE_TOP_MAX = 16                # RISK_EXPOSURE_TOP_MAX
POSITION_COLUMNS_VERSION = 1         # RISK_POSITION_COLUMNS_VERSION
SUMMARY_COLUMNS_VERSION = 1          # RISK_SUMMARY_COLUMNS_VERSION
POSITION_RESULT_COLUMNS_VERSION = 1  # RISK_POSITION_RESULT_COLUMNS_VERSION
IMPACT_NONE = 0                      # RISK_IMPACT_NONE
IMPACT_SQRT = 1                      # RISK_IMPACT_SQRT
IMPACT_LINEAR = 2                    # RISK_IMPACT_LINEAR
IMPACT_VERSION = 1                   # RISK_IMPACT_VERSION
CASCADE_ROUNDS_MAX = 100000          # RISK_CASCADE_ROUNDS_MAX
CASCADE_OPTIONS_VERSION = 1          # RISK_CASCADE_OPTIONS_VERSION
CASCADE_ROUND_VERSION = 1            # RISK_CASCADE_ROUND_VERSION
COVER2_VERSION = 1                   # RISK_COVER2_VERSION
FUND_SURVIVAL_VERSION = 1            # RISK_FUND_SURVIVAL_VERSION

KIND_PERPETUAL = 1                   # RISK_KIND_PERPETUAL
KIND_FUTURE = 2                      # RISK_KIND_FUTURE
KIND_OPTION = 3                      # RISK_KIND_OPTION
MM_PRICE_MARK = 0                    # RISK_MM_PRICE_MARK
MM_PRICE_ENTRY = 1                   # RISK_MM_PRICE_ENTRY

MARGIN_DEFAULT = 0                   # RISK_MARGIN_DEFAULT
MARGIN_CROSS = 1                     # RISK_MARGIN_CROSS
MARGIN_ISOLATED = 2                  # RISK_MARGIN_ISOLATED
MARGIN_PORTFOLIO = 3                 # RISK_MARGIN_PORTFOLIO
PM_RISK_MATRIX = 0                   # RISK_PM_RISK_MATRIX
PM_OKX = 1                           # RISK_PM_OKX
PM_SPAN = 2                          # RISK_PM_SPAN
PM_EXTENDED_MAX = 16                 # RISK_PM_EXTENDED_MAX
PORTFOLIO_MARGIN_PARAMS_VERSION = 1  # RISK_PORTFOLIO_MARGIN_PARAMS_VERSION
PORTFOLIO_MARGIN_UNIT_VERSION = 1    # RISK_PORTFOLIO_MARGIN_UNIT_VERSION
PORTFOLIO_MARGIN_RESULT_VERSION = 1  # RISK_PORTFOLIO_MARGIN_RESULT_VERSION
POSITION_ONE_WAY = 0                 # RISK_POSITION_ONE_WAY
POSITION_HEDGE = 1                   # RISK_POSITION_HEDGE
SIDE_BOTH = 0                        # RISK_SIDE_BOTH
SIDE_LONG = 1                        # RISK_SIDE_LONG
SIDE_SHORT = 2                       # RISK_SIDE_SHORT
ORDER_BUY = 1                        # RISK_ORDER_BUY
ORDER_SELL = 2                       # RISK_ORDER_SELL
ORDER_VERSION = 1                    # RISK_ORDER_VERSION
INSTRUMENT_FEES_VERSION = 1          # RISK_INSTRUMENT_FEES_VERSION
FEE_RATE_MAX = 0.1                   # RISK_FEE_RATE_MAX
FEE_TAKER = 0                        # RISK_FEE_TAKER
FEE_MAKER = 1                        # RISK_FEE_MAKER

EXIT_BUFFER = 0                      # RISK_EXIT_BUFFER
EXIT_INITIAL = 1                     # RISK_EXIT_INITIAL
PRICE_MARK = 0                       # RISK_PRICE_MARK
PRICE_PENALTY = 1                    # RISK_PRICE_PENALTY
LIQUIDATION_POLICY_VERSION = 2       # RISK_LIQUIDATION_POLICY_VERSION
LIQUIDATION_ACTION_VERSION = 1       # RISK_LIQUIDATION_ACTION_VERSION
LIQUIDATION_PLAN_VERSION = 2         # RISK_LIQUIDATION_PLAN_VERSION
INSURANCE_FUND_VERSION = 1           # RISK_INSURANCE_FUND_VERSION
LIQUIDATE_ALL_OPTIONS_VERSION = 1    # RISK_LIQUIDATE_ALL_OPTIONS_VERSION
LIQUIDATE_ALL_RESULT_VERSION = 1     # RISK_LIQUIDATE_ALL_RESULT_VERSION
RATE_MODEL_VERSION = 1               # RISK_RATE_MODEL_VERSION (include/risk/rates.h)
RATES_VERSION = 1                    # RISK_RATES_VERSION
RATE_POOL_VERSION = 1                # RISK_RATE_POOL_VERSION
RATE_COST_VERSION = 1                # RISK_RATE_COST_VERSION
OPTIMISE_ASSET_VERSION = 1           # RISK_OPTIMISE_ASSET_VERSION (include/risk/optimise.h)
OPTIMISE_SPEC_VERSION = 1            # RISK_OPTIMISE_SPEC_VERSION
OPTIMISE_RESULT_VERSION = 1          # RISK_OPTIMISE_RESULT_VERSION
OPTIMISE_MOVE_VERSION = 1            # RISK_OPTIMISE_MOVE_VERSION
OPTIMISE_CASH = 0x1                  # RISK_OPTIMISE_CASH
OPTIMISE_RATES_GIVEN = 0x2           # RISK_OPTIMISE_RATES_GIVEN
OPTIMISE_UTILISATION = 0x4           # RISK_OPTIMISE_UTILISATION
OPTIMISE_MIN_COST = 0                # RISK_OPTIMISE_MIN_COST
OPTIMISE_MAX_SIZE = 1                # RISK_OPTIMISE_MAX_SIZE
OPTIMISE_LTV_BUFFER = 0x1            # RISK_OPTIMISE_LTV_BUFFER
OPTIMISE_OPTIMAL = 0                 # RISK_OPTIMISE_OPTIMAL
OPTIMISE_INFEASIBLE = 1              # RISK_OPTIMISE_INFEASIBLE
RATE_MODEL_NONE = 0                  # RISK_RATE_MODEL_NONE
RATE_MODEL_AAVE = 1                  # RISK_RATE_MODEL_AAVE
RATE_MODEL_COMET = 2                 # RISK_RATE_MODEL_COMET
RATE_MODEL_DRIFT = 3                 # RISK_RATE_MODEL_DRIFT
RATE_MODEL_FLAT = 4                  # RISK_RATE_MODEL_FLAT
ACCRUAL_DEFAULT = 0                  # RISK_ACCRUAL_DEFAULT
ACCRUAL_AAVE = 1                     # RISK_ACCRUAL_AAVE
ACCRUAL_LINEAR = 2                   # RISK_ACCRUAL_LINEAR
ACCRUAL_CONTINUOUS = 3               # RISK_ACCRUAL_CONTINUOUS
ACCRUAL_HOURLY = 4                   # RISK_ACCRUAL_HOURLY
FUNDING_RESULT_VERSION = 1           # RISK_FUNDING_RESULT_VERSION
LEVTOKEN_SPEC_VERSION = 1            # RISK_LEVTOKEN_SPEC_VERSION
LEVTOKEN_RESULT_VERSION = 1          # RISK_LEVTOKEN_RESULT_VERSION
LEVTOKEN_LEVERAGE_MAX = 20.0         # RISK_LEVTOKEN_LEVERAGE_MAX
ADL_ENTRY_VERSION = 2                # RISK_ADL_ENTRY_VERSION
ADL_MERGE_MAX_QUEUES = 1024          # RISK_ADL_MERGE_MAX_QUEUES
SNAPSHOT_FORMAT_VERSION = 3          # RISK_SNAPSHOT_FORMAT_VERSION
SNAPSHOT_OPTIONS_VERSION = 1         # RISK_SNAPSHOT_OPTIONS_VERSION
SNAPSHOT_MAP_IN_PLACE = 1            # RISK_SNAPSHOT_MAP_IN_PLACE (risk_snapshot_options.flags)
SNAPSHOT_PARALLEL = 2                # RISK_SNAPSHOT_PARALLEL
SNAPSHOT_MAGIC = b"\x89LRSNAP\n"     # RISK_SNAPSHOT_MAGIC
ACTION_REDUCE = 1                    # RISK_ACTION_REDUCE
ACTION_SEIZE = 2                     # RISK_ACTION_SEIZE
ACTION_INSURANCE = 3                 # RISK_ACTION_INSURANCE
ACTION_ADL = 4                       # RISK_ACTION_ADL
ACTION_BACKSTOP = 5                  # RISK_ACTION_BACKSTOP
ACTION_SOCIALIZE = 6                 # RISK_ACTION_SOCIALIZE
DEFICIT_REPORT = 0                   # RISK_DEFICIT_REPORT
DEFICIT_SOCIALIZE = 1                # RISK_DEFICIT_SOCIALIZE
TRIGGER_CROSS = 1                    # RISK_TRIGGER_CROSS
TRIGGER_ISOLATED = 2                 # RISK_TRIGGER_ISOLATED
TRIGGER_BANKRUPT = 4                 # RISK_TRIGGER_BANKRUPT
PLAN_NONE = 0                        # RISK_PLAN_NONE
PLAN_PARTIAL = 1                     # RISK_PLAN_PARTIAL
PLAN_LIMITED = 2                     # RISK_PLAN_LIMITED
PLAN_CLOSE_OUT = 3                   # RISK_PLAN_CLOSE_OUT

STATE_HEALTHY = 0                    # RISK_STATE_HEALTHY
STATE_MARGIN_CALL = 1                # RISK_STATE_MARGIN_CALL
STATE_LIQUIDATABLE = 2               # RISK_STATE_LIQUIDATABLE
STATE_BANKRUPT = 3                   # RISK_STATE_BANKRUPT

RESULT_HAS_LIQUIDATION_PRICE = 0x1   # RISK_RESULT_HAS_LIQUIDATION_PRICE
RESULT_HAS_BANKRUPTCY_PRICE = 0x2    # RISK_RESULT_HAS_BANKRUPTCY_PRICE
RESULT_LIQUIDATABLE = 0x4            # RISK_RESULT_LIQUIDATABLE
RESULT_HAS_LIQUIDATION_BELOW = 0x8   # RISK_RESULT_HAS_LIQUIDATION_BELOW
RESULT_HAS_LIQUIDATION_ABOVE = 0x10  # RISK_RESULT_HAS_LIQUIDATION_ABOVE
RESULT_UNSOLVED = 0x20               # RISK_RESULT_UNSOLVED

SCALING_OFF = 0                      # RISK_SCALING_OFF
SCALING_TIERS = 1                    # RISK_SCALING_TIERS
SCALING_VAR = 2                      # RISK_SCALING_VAR
MARGIN_SCALING_VERSION = 1           # RISK_MARGIN_SCALING_VERSION
ASSET_VOL_PARAMS_VERSION = 1         # RISK_ASSET_VOL_PARAMS_VERSION
SIZE_SCALING_VERSION = 1             # RISK_SIZE_SCALING_VERSION
SIZE_PREMIUM_VERSION = 1             # RISK_SIZE_PREMIUM_VERSION
ASSET_VOL_STATE_VERSION = 1          # RISK_ASSET_VOL_STATE_VERSION
ASSET_VOL_STRESSED_SET = 0x1         # RISK_ASSET_VOL_STRESSED_SET
ASSET_VOL_FLOOR_SET = 0x2            # RISK_ASSET_VOL_FLOOR_SET
ASSET_VOL_HAS_TIME = 0x4             # RISK_ASSET_VOL_HAS_TIME
MARGIN_FACTOR_VERSION = 1            # RISK_MARGIN_FACTOR_VERSION

VOL_PERIODS_DAILY = 365.0            # RISK_VOL_PERIODS_DAILY
VOL_PERIODS_HOURLY = 8760.0          # RISK_VOL_PERIODS_HOURLY
VOL_EWMA_LAMBDA_DEFAULT = 0.94       # RISK_VOL_EWMA_LAMBDA_DEFAULT
VOL_EWMA_STATE_VERSION = 1           # RISK_VOL_EWMA_STATE_VERSION
VOL_REALIZED_STATE_VERSION = 1       # RISK_VOL_REALIZED_STATE_VERSION
VOL_GARCH_STATE_VERSION = 1          # RISK_VOL_GARCH_STATE_VERSION
VOL_GARCH_OPTIONS_VERSION = 1        # RISK_VOL_GARCH_OPTIONS_VERSION
VOL_GARCH_RESULT_VERSION = 1         # RISK_VOL_GARCH_RESULT_VERSION
VOL_GARCH_VARIANCE_TARGETING = 0x1   # RISK_VOL_GARCH_VARIANCE_TARGETING
VOL_RANGE_STATE_VERSION = 1          # RISK_VOL_RANGE_STATE_VERSION
VOL_PARKINSON = 1                    # RISK_VOL_PARKINSON
VOL_GARMAN_KLASS = 2                 # RISK_VOL_GARMAN_KLASS
VOL_ROGERS_SATCHELL = 3              # RISK_VOL_ROGERS_SATCHELL
VOL_YANG_ZHANG = 4                   # RISK_VOL_YANG_ZHANG

OPTION_CALL = 1                      # RISK_OPTION_CALL
OPTION_PUT = -1                      # RISK_OPTION_PUT
OPTION_PREMIUM_SPOT = 0              # RISK_OPTION_PREMIUM_SPOT
OPTION_PREMIUM_COIN = 1              # RISK_OPTION_PREMIUM_COIN
OPTION_IV_OK = 0                     # RISK_OPTION_IV_OK
OPTION_IV_BELOW_INTRINSIC = 1        # RISK_OPTION_IV_BELOW_INTRINSIC
OPTION_IV_ABOVE_MAXIMUM = 2          # RISK_OPTION_IV_ABOVE_MAXIMUM
OPTION_BATCH_VERSION = 1             # RISK_OPTION_BATCH_VERSION
OPTION_GREEKS_VERSION = 1            # RISK_OPTION_GREEKS_VERSION

VAR_LEVEL_DEFAULT = 0.99             # RISK_VAR_LEVEL_DEFAULT
VAR_ES_LEVEL_DEFAULT = 0.975         # RISK_VAR_ES_LEVEL_DEFAULT
VAR_FACTORS_MAX = 4096               # RISK_VAR_FACTORS_MAX
VAR_DOF_MAX = 1e6                    # RISK_VAR_DOF_MAX
VAR_RESULT_VERSION = 1               # RISK_VAR_RESULT_VERSION
VAR_FILTER_EWMA = 1                  # RISK_VAR_FILTER_EWMA
VAR_FILTER_GARCH = 2                 # RISK_VAR_FILTER_GARCH
VAR_FILTER_VERSION = 1               # RISK_VAR_FILTER_VERSION
VAR_MC_NORMAL = 1                    # RISK_VAR_MC_NORMAL
VAR_MC_STUDENT_T = 2                 # RISK_VAR_MC_STUDENT_T
VAR_MC_OPTIONS_VERSION = 1           # RISK_VAR_MC_OPTIONS_VERSION
VAR_BACKTEST_RESULT_VERSION = 1      # RISK_VAR_BACKTEST_RESULT_VERSION

# ---------------------------------------------------------------- opaque handles


class _Engine(ctypes.Structure):
    """Opaque ``risk_engine``."""


class _Basket(ctypes.Structure):
    """Opaque ``risk_basket``."""


class _Account(ctypes.Structure):
    """Opaque ``risk_account``."""


class _Position(ctypes.Structure):
    """Opaque ``risk_position``."""


class _Tick(ctypes.Structure):
    """Opaque ``risk_tick``."""


TickP = ctypes.POINTER(_Tick)
EngineP = ctypes.POINTER(_Engine)
BasketP = ctypes.POINTER(_Basket)
AccountP = ctypes.POINTER(_Account)
PositionP = ctypes.POINTER(_Position)

# ---------------------------------------------------------------- struct mirrors (field order as in the headers)

MallocFn = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
ReallocFn = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
FreeFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)


class RiskAllocator(ctypes.Structure):
    """``risk_allocator`` (include/risk/alloc.h)."""
    _fields_ = [
        ("malloc_fn", MallocFn),
        ("realloc_fn", ReallocFn),
        ("free_fn", FreeFn),
        ("ctx", ctypes.c_void_p),
    ]


class RiskEngineOptions(ctypes.Structure):
    """``risk_engine_options`` (include/risk/engine.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("allocator", RiskAllocator),
        ("margin_call_health", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskEngineOptions:
        """The equivalent of ``RISK_ENGINE_OPTIONS_INIT``."""
        return cls(ENGINE_OPTIONS_VERSION, 0, RiskAllocator(), 1.2)


class RiskSnapshotOptions(ctypes.Structure):
    """``risk_snapshot_options`` (include/risk/snapshot.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("allocator", RiskAllocator),
        ("errmsg_out", ctypes.c_char_p),
        ("errmsg_capacity", ctypes.c_size_t),
    ]

    @classmethod
    def init(cls) -> RiskSnapshotOptions:
        """The equivalent of ``RISK_SNAPSHOT_OPTIONS_INIT``."""
        return cls(SNAPSHOT_OPTIONS_VERSION, 0, RiskAllocator(), None, 0)


class RiskValueTier(ctypes.Structure):
    """``risk_value_tier`` (include/risk/engine.h)."""
    _fields_ = [
        ("up_to_qty", ctypes.c_double),
        ("ratio", ctypes.c_double),
    ]


class RiskAssetSpec(ctypes.Structure):
    """``risk_asset_spec`` (include/risk/engine.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("decimals", ctypes.c_uint32),
        ("symbol", ctypes.c_char_p),
        ("price", ctypes.c_double),
        ("weight_init", ctypes.c_double),
        ("weight_maint", ctypes.c_double),
        ("liab_weight_init", ctypes.c_double),
        ("liab_weight_maint", ctypes.c_double),
        ("value_tiers", ctypes.POINTER(RiskValueTier)),
        ("n_value_tiers", ctypes.c_size_t),
    ]

    @classmethod
    def init(cls) -> RiskAssetSpec:
        """The equivalent of ``RISK_ASSET_SPEC_INIT``."""
        return cls(ASSET_SPEC_VERSION, 8, None, 0.0, 1.0, 1.0, 1.0, 1.0, None, 0)


class RiskMarginTier(ctypes.Structure):
    """``risk_margin_tier`` (include/risk/engine.h)."""
    _fields_ = [
        ("notional_cap", ctypes.c_double),
        ("mmr", ctypes.c_double),
        ("max_leverage", ctypes.c_double),
        ("cum", ctypes.c_double),
        ("cum_given", ctypes.c_uint32),
    ]


class RiskInstrumentSpec(ctypes.Structure):
    """``risk_instrument_spec`` (include/risk/engine.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("kind", ctypes.c_uint32),
        ("symbol", ctypes.c_char_p),
        ("underlying", ctypes.c_uint32),
        ("settle", ctypes.c_uint32),
        ("inverse", ctypes.c_uint32),
        ("mm_price", ctypes.c_uint32),
        ("expiry_unix_s", ctypes.c_int64),
        ("contract_size", ctypes.c_double),
        ("lot_size", ctypes.c_double),
        ("tick_size", ctypes.c_double),
        ("mark", ctypes.c_double),
        ("tiers", ctypes.POINTER(RiskMarginTier)),
        ("n_tiers", ctypes.c_size_t),
        # version 2
        ("strike", ctypes.c_double),
        ("option_type", ctypes.c_int32),
        ("reserved", ctypes.c_uint32),
        ("mark_vol", ctypes.c_double),
        ("carry_rate", ctypes.c_double),
        ("underlying_tick", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskInstrumentSpec:
        """The equivalent of ``RISK_INSTRUMENT_SPEC_INIT``."""
        return cls(INSTRUMENT_SPEC_VERSION, KIND_PERPETUAL, None, ID_NONE, ID_NONE, 0,
                   MM_PRICE_MARK, 0, 1.0, 1.0, 1.0, 0.0, None, 0, 0.0, 0, 0, 0.0, 0.0, 0.01)


class RiskBasketSummary(ctypes.Structure):
    """``risk_basket_summary`` (include/risk/basket.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("n_assets", ctypes.c_uint32),
        ("collateral_value", ctypes.c_double),
        ("collateral_init", ctypes.c_double),
        ("collateral_maint", ctypes.c_double),
        ("liabilities", ctypes.c_double),
        ("liabilities_init", ctypes.c_double),
        ("liabilities_maint", ctypes.c_double),
        ("net_value", ctypes.c_double),
        ("ltv", ctypes.c_double),
        ("health_factor", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskBasketSummary:
        """The equivalent of ``RISK_BASKET_SUMMARY_INIT``."""
        return cls(version=BASKET_SUMMARY_VERSION)


class RiskAccountSummary(ctypes.Structure):
    """``risk_account_summary`` (include/risk/account.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("state", ctypes.c_uint32),
        ("equity", ctypes.c_double),
        ("collateral_value", ctypes.c_double),
        ("unrealized_pnl", ctypes.c_double),
        ("initial_margin", ctypes.c_double),
        ("maintenance_margin", ctypes.c_double),
        ("available", ctypes.c_double),
        ("health_factor", ctypes.c_double),
        ("margin_ratio", ctypes.c_double),
        ("ltv", ctypes.c_double),
        ("ltv_buffer", ctypes.c_double),
        ("leverage", ctypes.c_double),
        ("collateral_init", ctypes.c_double),
        ("collateral_maint", ctypes.c_double),
        ("liabilities", ctypes.c_double),
        ("isolated_margin", ctypes.c_double),
        ("n_positions", ctypes.c_uint32),
        ("n_isolated_liquidatable", ctypes.c_uint32),
    ]

    @classmethod
    def init(cls) -> RiskAccountSummary:
        """The equivalent of ``RISK_ACCOUNT_SUMMARY_INIT``."""
        return cls(version=ACCOUNT_SUMMARY_VERSION)


TICK_CHANGE_VERSION = 1             # RISK_TICK_CHANGE_VERSION
TICK_STATS_VERSION = 1              # RISK_TICK_STATS_VERSION


class RiskTickChange(ctypes.Structure):
    """``risk_tick_change`` (include/risk/tick.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("old_state", ctypes.c_uint32),
        ("new_state", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("account_id", ctypes.c_uint64),
        ("summary", RiskAccountSummary),
    ]


class RiskTickStats(ctypes.Structure):
    """``risk_tick_stats`` (include/risk/tick.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("accounts", ctypes.c_uint64),
        ("evaluated", ctypes.c_uint64),
        ("changed", ctypes.c_uint64),
        ("in_state", ctypes.c_uint64 * 4),
        ("always", ctypes.c_uint64),
        ("band_entries", ctypes.c_uint64),
    ]


class RiskPositionSpec(ctypes.Structure):
    """``risk_position_spec`` (include/risk/account.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("instrument", ctypes.c_uint32),
        ("side", ctypes.c_uint32),
        ("margin_mode", ctypes.c_uint32),
        ("qty", ctypes.c_double),
        ("entry", ctypes.c_double),
        ("isolated_margin", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskPositionSpec:
        """The equivalent of ``RISK_POSITION_SPEC_INIT``."""
        return cls(POSITION_SPEC_VERSION, ID_NONE, SIDE_BOTH, MARGIN_DEFAULT, 0.0, 0.0, 0.0)


class RiskPositionColumns(ctypes.Structure):
    """``risk_position_columns`` (include/risk/bulk.h): one pointer per column."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("account_ids", ctypes.c_void_p),
        ("instruments", ctypes.c_void_p),
        ("sides", ctypes.c_void_p),
        ("margin_modes", ctypes.c_void_p),
        ("qty", ctypes.c_void_p),
        ("entry", ctypes.c_void_p),
        ("isolated_margin", ctypes.c_void_p),
    ]


# (field, element type) of ``risk_summary_columns`` after its version, in order.
SUMMARY_COLUMN_FIELDS = (
    ("ids", ctypes.c_uint64), ("state", ctypes.c_uint32), ("equity", ctypes.c_double),
    ("collateral_value", ctypes.c_double), ("unrealized_pnl", ctypes.c_double), ("initial_margin", ctypes.c_double),
    ("maintenance_margin", ctypes.c_double), ("available", ctypes.c_double), ("health_factor", ctypes.c_double),
    ("margin_ratio", ctypes.c_double), ("ltv", ctypes.c_double), ("ltv_buffer", ctypes.c_double),
    ("leverage", ctypes.c_double), ("collateral_init", ctypes.c_double), ("collateral_maint", ctypes.c_double),
    ("liabilities", ctypes.c_double), ("isolated_margin", ctypes.c_double), ("n_positions", ctypes.c_uint32),
    ("n_isolated_liquidatable", ctypes.c_uint32))

# (field, element type) of ``risk_position_result_columns`` after its version, in order.
POSITION_RESULT_COLUMN_FIELDS = (
    ("account_ids", ctypes.c_uint64), ("account_index", ctypes.c_uint32), ("instrument", ctypes.c_uint32),
    ("side", ctypes.c_uint32), ("leg", ctypes.c_uint32), ("margin_mode", ctypes.c_uint32),
    ("flags", ctypes.c_uint32), ("tier", ctypes.c_uint32), ("qty", ctypes.c_double), ("entry", ctypes.c_double),
    ("mark", ctypes.c_double), ("notional", ctypes.c_double), ("unrealized_pnl", ctypes.c_double),
    ("initial_margin", ctypes.c_double), ("maintenance_margin", ctypes.c_double),
    ("isolated_margin", ctypes.c_double), ("liquidation_price", ctypes.c_double),
    ("bankruptcy_price", ctypes.c_double), ("liquidation_price_raw", ctypes.c_double),
    ("bankruptcy_price_raw", ctypes.c_double))


class RiskSummaryColumns(ctypes.Structure):
    """``risk_summary_columns`` (include/risk/bulk.h): one pointer per field, NULL to skip it."""
    _fields_ = [("version", ctypes.c_uint32)] + [(name, ctypes.c_void_p) for name, _ in SUMMARY_COLUMN_FIELDS]


class RiskPositionResultColumns(ctypes.Structure):
    """``risk_position_result_columns`` (include/risk/bulk.h): one pointer per field, NULL to skip it."""
    _fields_ = [("version", ctypes.c_uint32)] + [(name, ctypes.c_void_p)
                                                 for name, _ in POSITION_RESULT_COLUMN_FIELDS]


TEXT_COLUMN_VERSION = 1              # RISK_TEXT_COLUMN_VERSION
TEXT_GRID, TEXT_SHORTEST, TEXT_UINT, TEXT_LABEL, TEXT_LIST = 1, 2, 3, 4, 5  # RISK_TEXT_GRID ...
TEXT_NUMBER_MAX = 24                 # RISK_TEXT_NUMBER_MAX


class RiskTextColumn(ctypes.Structure):
    """``risk_text_column`` (include/risk/bulk.h): one column of :func:`risk_text_rows`."""
    _fields_ = [("version", ctypes.c_uint32), ("kind", ctypes.c_uint32), ("values", ctypes.c_void_p),
                ("decimals", ctypes.c_int32), ("keys", ctypes.c_void_p), ("decimals_of", ctypes.c_void_p),
                ("n_keys", ctypes.c_uint32), ("labels", ctypes.c_void_p), ("items", ctypes.c_void_p),
                ("item_offsets", ctypes.c_void_p), ("n_items", ctypes.c_size_t)]


class RiskPositionResult(ctypes.Structure):
    """``risk_position_result`` (include/risk/account.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("instrument", ctypes.c_uint32),
        ("side", ctypes.c_uint32),
        ("margin_mode", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("tier", ctypes.c_uint32),
        ("qty", ctypes.c_double),
        ("entry", ctypes.c_double),
        ("mark", ctypes.c_double),
        ("notional", ctypes.c_double),
        ("unrealized_pnl", ctypes.c_double),
        ("initial_margin", ctypes.c_double),
        ("maintenance_margin", ctypes.c_double),
        ("isolated_margin", ctypes.c_double),
        ("liquidation_price", ctypes.c_double),
        ("bankruptcy_price", ctypes.c_double),
        ("liquidation_price_raw", ctypes.c_double),
        ("bankruptcy_price_raw", ctypes.c_double),
        # version 2
        ("delta", ctypes.c_double),
        ("gamma", ctypes.c_double),
        ("vega", ctypes.c_double),
        ("theta", ctypes.c_double),
        ("mark_vol", ctypes.c_double),
        ("value", ctypes.c_double),
        ("underlying_price", ctypes.c_double),
        ("liquidation_price_below", ctypes.c_double),
        ("liquidation_price_above", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> Any:
        """The equivalent of ``RISK_POSITION_RESULT_INIT``."""
        return cls(version=POSITION_RESULT_VERSION)


class RiskLiquidationPolicy(ctypes.Structure):
    """``risk_liquidation_policy`` (include/risk/liquidation.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("exit_target", ctypes.c_uint32),
        ("buffer", ctypes.c_double),
        ("fee", ctypes.c_double),
        ("insurance_fee", ctypes.c_double),
        ("price_model", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("penalty", ctypes.c_double),
        ("close_factor", ctypes.c_double),
        ("full_close_health", ctypes.c_double),
        ("bonus", ctypes.c_double),
        ("protocol_share", ctypes.c_double),
        ("min_notional", ctypes.c_double),
        ("deficit", ctypes.c_uint32),
        ("has_backstop", ctypes.c_uint32),
        ("backstop_account", ctypes.c_uint64),
    ]

    @classmethod
    def init(cls) -> RiskLiquidationPolicy:
        """The equivalent of ``RISK_LIQUIDATION_POLICY_INIT``."""
        return cls(LIQUIDATION_POLICY_VERSION, EXIT_BUFFER, 0.02, 0.0, 0.0, PRICE_MARK, 0, 0.1, 1.0, 0.0, 0.0,
                   0.0, 0.0, DEFICIT_REPORT, 0, 0)


class RiskLiquidationAction(ctypes.Structure):
    """``risk_liquidation_action`` (include/risk/liquidation.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("type", ctypes.c_uint32),
        ("instrument", ctypes.c_uint32),
        ("side", ctypes.c_uint32),
        ("leg", ctypes.c_uint32),
        ("asset", ctypes.c_uint32),
        ("repay_asset", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("counterparty", ctypes.c_uint64),
        ("qty", ctypes.c_double),
        ("price", ctypes.c_double),
        ("fee", ctypes.c_double),
        ("insurance_fee", ctypes.c_double),
        ("amount", ctypes.c_double),
        ("repay_amount", ctypes.c_double),
        ("bonus", ctypes.c_double),
        ("protocol_fee", ctypes.c_double),
    ]


class RiskLiquidationPlan(ctypes.Structure):
    """``risk_liquidation_plan`` (include/risk/liquidation.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("outcome", ctypes.c_uint32),
        ("account_id", ctypes.c_uint64),
        ("n_actions", ctypes.c_size_t),
        ("health_before", ctypes.c_double),
        ("health_after", ctypes.c_double),
        ("equity_before", ctypes.c_double),
        ("equity_after", ctypes.c_double),
        ("deficit", ctypes.c_double),
        ("uncovered", ctypes.c_double),
        ("trigger", ctypes.c_uint32),
        ("trigger_instrument", ctypes.c_uint32),
        ("trigger_leg", ctypes.c_uint32),
        ("trigger_asset", ctypes.c_uint32),
        ("fund_drawn", ctypes.c_double),
        ("socialized", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskLiquidationPlan:
        """The equivalent of ``RISK_LIQUIDATION_PLAN_INIT``."""
        return cls(version=LIQUIDATION_PLAN_VERSION, trigger_instrument=ID_NONE, trigger_asset=ID_NONE)


class RiskRateModel(ctypes.Structure):
    """``risk_rate_model`` (include/risk/rates.h)."""
    _fields_ = [("version", ctypes.c_uint32), ("kind", ctypes.c_uint32), ("accrual", ctypes.c_uint32),
                ("reserved", ctypes.c_uint32)] + [(name, ctypes.c_double) for name in (
                    "reserve_factor", "aave_optimal_usage", "aave_base_variable", "aave_slope1", "aave_slope2",
                    "aave_stable_slope1", "aave_stable_slope2", "aave_base_stable_offset",
                    "aave_excess_stable_offset", "aave_optimal_stable_ratio", "comet_supply_kink",
                    "comet_supply_base", "comet_supply_slope_low", "comet_supply_slope_high", "comet_borrow_kink",
                    "comet_borrow_base", "comet_borrow_slope_low", "comet_borrow_slope_high",
                    "drift_optimal_utilisation", "drift_optimal_rate", "drift_max_rate", "drift_min_rate",
                    "flat_borrow_hourly", "flat_supply_hourly")]

    @classmethod
    def init(cls) -> RiskRateModel:
        """The equivalent of ``RISK_RATE_MODEL_INIT``."""
        return cls(version=RATE_MODEL_VERSION)


class RiskRates(ctypes.Structure):
    """``risk_rates`` (include/risk/rates.h)."""
    _fields_ = [("version", ctypes.c_uint32), ("reserved", ctypes.c_uint32), ("utilisation", ctypes.c_double),
                ("borrow_annual", ctypes.c_double), ("supply_annual", ctypes.c_double),
                ("stable_borrow_annual", ctypes.c_double), ("average_borrow_annual", ctypes.c_double)]

    @classmethod
    def init(cls) -> RiskRates:
        """The equivalent of ``RISK_RATES_INIT``."""
        return cls(version=RATES_VERSION)


class RiskRatePool(ctypes.Structure):
    """``risk_rate_pool`` (include/risk/rates.h)."""
    _fields_ = [("version", ctypes.c_uint32), ("started", ctypes.c_uint32), ("supply", ctypes.c_double),
                ("borrow", ctypes.c_double), ("stable_borrow", ctypes.c_double),
                ("stable_rate_annual", ctypes.c_double), ("reserves", ctypes.c_double),
                ("supply_index", ctypes.c_double), ("borrow_index", ctypes.c_double),
                ("updated_unix_s", ctypes.c_int64)]

    @classmethod
    def init(cls) -> RiskRatePool:
        """The equivalent of ``RISK_RATE_POOL_INIT``."""
        return cls(version=RATE_POOL_VERSION, supply_index=1.0, borrow_index=1.0)


class RiskRateCost(ctypes.Structure):
    """``risk_rate_cost`` (include/risk/rates.h)."""
    _fields_ = [("version", ctypes.c_uint32), ("asset", ctypes.c_uint32), ("balance", ctypes.c_double),
                ("rate_annual", ctypes.c_double), ("cost_annual", ctypes.c_double),
                ("cost_horizon", ctypes.c_double), ("cost_annual_value", ctypes.c_double),
                ("cost_horizon_value", ctypes.c_double)]

    @classmethod
    def init(cls) -> Any:
        """The equivalent of ``RISK_RATE_COST_INIT``."""
        return cls(version=RATE_COST_VERSION)


class RiskOptimiseAsset(ctypes.Structure):
    """``risk_optimise_asset`` (include/risk/optimise.h)."""
    _fields_ = [("version", ctypes.c_uint32), ("asset", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("reserved", ctypes.c_uint32), ("post_max", ctypes.c_double), ("withdraw_max", ctypes.c_double),
                ("borrow_max", ctypes.c_double), ("outside_annual", ctypes.c_double),
                ("borrow_annual", ctypes.c_double), ("supply_annual", ctypes.c_double)]

    @classmethod
    def init(cls) -> Any:
        """The equivalent of ``RISK_OPTIMISE_ASSET_INIT``."""
        return cls(version=OPTIMISE_ASSET_VERSION)


class RiskOptimiseSpec(ctypes.Structure):
    """``risk_optimise_spec`` (include/risk/optimise.h)."""
    _fields_ = [("version", ctypes.c_uint32), ("mode", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("reserved", ctypes.c_uint32), ("horizon_s", ctypes.c_double), ("health_init_min", ctypes.c_double),
                ("health_maint_min", ctypes.c_double), ("ltv_buffer_min", ctypes.c_double),
                ("im_value", ctypes.c_double), ("mm_value", ctypes.c_double), ("cash_value", ctypes.c_double),
                ("budget_value", ctypes.c_double)]

    @classmethod
    def init(cls) -> Any:
        """The equivalent of ``RISK_OPTIMISE_SPEC_INIT``."""
        return cls(version=OPTIMISE_SPEC_VERSION, horizon_s=31536000.0, health_init_min=1.0, health_maint_min=1.0)


class RiskOptimiseResult(ctypes.Structure):
    """``risk_optimise_result`` (include/risk/optimise.h)."""
    _fields_ = [("version", ctypes.c_uint32), ("outcome", ctypes.c_uint32), ("iterations", ctypes.c_uint32),
                ("baseline_feasible", ctypes.c_uint32)] + [
                    (name, ctypes.c_double) for name in (
                        "size", "cost_horizon", "cost_annual", "baseline_cost_horizon", "baseline_cost_annual",
                        "saving_horizon", "health_init", "health_maint", "ltv_buffer", "dual_health_init",
                        "dual_health_maint", "dual_ltv", "dual_cash", "dual_budget", "duality_gap",
                        "dual_infeasibility")]

    @classmethod
    def init(cls) -> Any:
        """The equivalent of ``RISK_OPTIMISE_RESULT_INIT``."""
        return cls(version=OPTIMISE_RESULT_VERSION)


class RiskOptimiseMove(ctypes.Structure):
    """``risk_optimise_move`` (include/risk/optimise.h)."""
    _fields_ = [("version", ctypes.c_uint32), ("asset", ctypes.c_uint32)] + [
        (name, ctypes.c_double) for name in (
            "balance_before", "balance_after", "delta", "delta_grid", "borrowed", "rate_annual",
            "cost_annual_value", "cost_horizon_value")]

    @classmethod
    def init(cls) -> Any:
        """The equivalent of ``RISK_OPTIMISE_MOVE_INIT``."""
        return cls(version=OPTIMISE_MOVE_VERSION)


class RiskFundingResult(ctypes.Structure):
    """``risk_funding_result`` (include/risk/rates.h)."""
    _fields_ = [("version", ctypes.c_uint32), ("instrument", ctypes.c_uint32), ("n_positions", ctypes.c_uint64),
                ("rate", ctypes.c_double), ("paid", ctypes.c_double), ("received", ctypes.c_double)]

    @classmethod
    def init(cls) -> RiskFundingResult:
        """The equivalent of ``RISK_FUNDING_RESULT_INIT``."""
        return cls(version=FUNDING_RESULT_VERSION)


class RiskLevtokenSpec(ctypes.Structure):
    """``risk_levtoken_spec`` (include/risk/rates.h)."""
    _fields_ = [("version", ctypes.c_uint32), ("rebalance_every", ctypes.c_uint32), ("leverage", ctypes.c_double),
                ("band_low", ctypes.c_double), ("band_high", ctypes.c_double), ("fee_annual", ctypes.c_double),
                ("borrow_annual", ctypes.c_double), ("rebalance_cost", ctypes.c_double),
                ("periods_per_year", ctypes.c_double), ("nav0", ctypes.c_double)]

    @classmethod
    def init(cls) -> RiskLevtokenSpec:
        """The equivalent of ``RISK_LEVTOKEN_SPEC_INIT``."""
        return cls(LEVTOKEN_SPEC_VERSION, 0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 365.0, 1.0)


class RiskLevtokenResult(ctypes.Structure):
    """``risk_levtoken_result`` (include/risk/rates.h)."""
    _fields_ = [("version", ctypes.c_uint32), ("reserved", ctypes.c_uint32), ("n_rebalances", ctypes.c_uint64),
                ("wiped_out_at", ctypes.c_uint64), ("nav_final", ctypes.c_double), ("pnl", ctypes.c_double),
                ("fees_paid", ctypes.c_double), ("funding_paid", ctypes.c_double), ("borrow_paid", ctypes.c_double),
                ("rebalance_costs", ctypes.c_double), ("turnover", ctypes.c_double), ("shortfall", ctypes.c_double)]

    @classmethod
    def init(cls) -> RiskLevtokenResult:
        """The equivalent of ``RISK_LEVTOKEN_RESULT_INIT``."""
        return cls(version=LEVTOKEN_RESULT_VERSION)


class RiskInsuranceFund(ctypes.Structure):
    """``risk_insurance_fund`` (include/risk/liquidation.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("asset", ctypes.c_uint32),
        ("balance", ctypes.c_double),
        ("deposits", ctypes.c_double),
        ("contributions", ctypes.c_double),
        ("draws", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskInsuranceFund:
        """The equivalent of ``RISK_INSURANCE_FUND_INIT``."""
        return cls(version=INSURANCE_FUND_VERSION)


#: ``risk_liquidate_all_fn``: (user, plan header, actions, n) -> status; called after each plan is applied.
LiquidateAllFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(RiskLiquidationPlan),
                                  ctypes.POINTER(RiskLiquidationAction), ctypes.c_size_t)


class RiskLiquidateAllOptions(ctypes.Structure):
    """``risk_liquidate_all_options`` (include/risk/liquidation.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("on_plan", LiquidateAllFn),
        ("user", ctypes.c_void_p),
    ]

    @classmethod
    def init(cls) -> RiskLiquidateAllOptions:
        """The equivalent of ``RISK_LIQUIDATE_ALL_OPTIONS_INIT``."""
        return cls(version=LIQUIDATE_ALL_OPTIONS_VERSION)


class RiskLiquidateAllResult(ctypes.Structure):
    """``risk_liquidate_all_result`` (include/risk/liquidation.h)."""
    _fields_ = [("version", ctypes.c_uint32), ("reserved", ctypes.c_uint32)] + [
        (name, ctypes.c_uint64) for name in ("n_plans", "n_applied", "n_close_outs", "n_actions", "failed_account")]

    @classmethod
    def init(cls) -> RiskLiquidateAllResult:
        """The equivalent of ``RISK_LIQUIDATE_ALL_RESULT_INIT``."""
        return cls(version=LIQUIDATE_ALL_RESULT_VERSION, failed_account=2 ** 64 - 1)


class RiskAdlEntry(ctypes.Structure):
    """``risk_adl_entry`` (include/risk/liquidation.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("leg", ctypes.c_uint32),
        ("account_id", ctypes.c_uint64),
        ("qty", ctypes.c_double),
        ("pnl_pct", ctypes.c_double),
        ("effective_leverage", ctypes.c_double),
        ("score", ctypes.c_double),
        ("instrument", ctypes.c_uint32),
        ("side", ctypes.c_uint32),
    ]


class RiskMarginScaling(ctypes.Structure):
    """``risk_margin_scaling`` (include/risk/margin.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("mode", ctypes.c_uint32),
        ("reference_vol_annual", ctypes.c_double),
        ("min_factor", ctypes.c_double),
        ("max_factor", ctypes.c_double),
        ("z", ctypes.c_double),
        ("horizon_days", ctypes.c_double),
        ("days_per_year", ctypes.c_double),
        ("buffer", ctypes.c_double),
        ("stress_weight", ctypes.c_double),
        ("max_daily_change", ctypes.c_double),
        ("vol_floor", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
    ]

    @classmethod
    def init(cls) -> RiskMarginScaling:
        """The equivalent of ``RISK_MARGIN_SCALING_INIT``."""
        return cls(MARGIN_SCALING_VERSION, SCALING_OFF, 0.0, 1.0, 4.0, 2.326, 1.0, 365.0, 0.0, 0.0, 0.0, 0, 0)


class RiskAssetVolParams(ctypes.Structure):
    """``risk_asset_vol_params`` (include/risk/margin.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("lambda", ctypes.c_double),  # a keyword: getattr(state, "lambda")
        ("periods_per_year", ctypes.c_double),
        ("seed_vol_annual", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskAssetVolParams:
        """The equivalent of ``RISK_ASSET_VOL_PARAMS_INIT``."""
        return cls(ASSET_VOL_PARAMS_VERSION, 0, 0.94, 365.0, 0.0)


class RiskSizeScaling(ctypes.Structure):
    """``risk_size_scaling`` (include/risk/margin.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("imf", ctypes.c_double),
        ("deposit_scale_start", ctypes.c_double),
        ("borrow_scale_start", ctypes.c_double),
        ("venue_deposits", ctypes.c_double),
        ("venue_borrows", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskSizeScaling:
        """The equivalent of ``RISK_SIZE_SCALING_INIT`` (every scaling off)."""
        return cls(SIZE_SCALING_VERSION, 0, 0.0, 0.0, 0.0, 0.0, 0.0)


class RiskSizePremium(ctypes.Structure):
    """``risk_size_premium`` (include/risk/margin.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("imf", ctypes.c_double),
        ("base_share", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskSizePremium:
        """The equivalent of ``RISK_SIZE_PREMIUM_INIT`` (off, Drift's base share 0.8)."""
        return cls(SIZE_PREMIUM_VERSION, 0, 0.0, 0.8)


class RiskAssetVolState(ctypes.Structure):
    """``risk_asset_vol_state`` (include/risk/margin.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("live_vol_annual", ctypes.c_double),
        ("stressed_vol_annual", ctypes.c_double),
        ("floor_vol_annual", ctypes.c_double),
        ("buffer_release", ctypes.c_double),
        ("lambda", ctypes.c_double),  # a keyword: getattr(state, "lambda")
        ("periods_per_year", ctypes.c_double),
        ("last_time_s", ctypes.c_int64),
        ("n_returns", ctypes.c_uint64),
    ]

    @classmethod
    def init(cls) -> RiskAssetVolState:
        """The equivalent of ``RISK_ASSET_VOL_STATE_INIT``."""
        return cls(version=ASSET_VOL_STATE_VERSION)


class RiskMarginFactor(ctypes.Structure):
    """``risk_margin_factor`` (include/risk/margin.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("mode", ctypes.c_uint32),
        ("factor", ctypes.c_double),
        ("target", ctypes.c_double),
        ("vol_annual", ctypes.c_double),
        ("reference_vol_annual", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskMarginFactor:
        """The equivalent of ``RISK_MARGIN_FACTOR_INIT``."""
        return cls(version=MARGIN_FACTOR_VERSION)


class RiskOrder(ctypes.Structure):
    """``risk_order`` (include/risk/whatif.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("instrument", ctypes.c_uint32),
        ("side", ctypes.c_uint32),
        ("leg", ctypes.c_uint32),
        ("qty", ctypes.c_double),
        ("price", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskOrder:
        """The equivalent of ``RISK_ORDER_INIT``."""
        return cls(ORDER_VERSION, ID_NONE, ORDER_BUY, SIDE_BOTH, 0.0, 0.0)


class RiskInstrumentFees(ctypes.Structure):
    """``risk_instrument_fees`` (include/risk/trading.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("liquidation_price_with_fee", ctypes.c_uint32),
        ("maker_fee", ctypes.c_double),
        ("taker_fee", ctypes.c_double),
        ("max_notional", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskInstrumentFees:
        """The equivalent of ``RISK_INSTRUMENT_FEES_INIT``."""
        return cls(INSTRUMENT_FEES_VERSION, 0, 0.0, 0.0, 0.0)


class RiskVolEwmaState(ctypes.Structure):
    """``risk_vol_ewma_state`` (include/risk/vol.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("lambda", ctypes.c_double),  # a keyword: getattr(state, "lambda")
        ("variance", ctypes.c_double),
        ("last_price", ctypes.c_double),
        ("count", ctypes.c_uint64),
    ]


class RiskVolRealizedState(ctypes.Structure):
    """``risk_vol_realized_state`` (include/risk/vol.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("ring", ctypes.POINTER(ctypes.c_double)),
        ("window", ctypes.c_size_t),
        ("head", ctypes.c_size_t),
        ("count", ctypes.c_uint64),
        ("sum", ctypes.c_double),
        ("sum_sq", ctypes.c_double),
        ("last_price", ctypes.c_double),
    ]


class RiskVarResult(ctypes.Structure):
    """``risk_var_result`` (include/risk/var.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("n", ctypes.c_size_t),
        ("var_level", ctypes.c_double),
        ("es_level", ctypes.c_double),
        ("var", ctypes.c_double),
        ("es", ctypes.c_double),
        ("mean", ctypes.c_double),
        ("stdev", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskVarResult:
        """The equivalent of ``RISK_VAR_RESULT_INIT``."""
        return cls(version=VAR_RESULT_VERSION)


class RiskVarFilter(ctypes.Structure):
    """``risk_var_filter`` (include/risk/var.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("model", ctypes.c_uint32),
        ("lambda", ctypes.c_double),  # a keyword: getattr(f, "lambda")
        ("omega", ctypes.c_double),
        ("alpha", ctypes.c_double),
        ("beta", ctypes.c_double),
        ("seed_variance", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskVarFilter:
        """The equivalent of ``RISK_VAR_FILTER_INIT``."""
        return cls(VAR_FILTER_VERSION, VAR_FILTER_EWMA, 0.94, 0.0, 0.0, 0.0, 0.0)


class RiskVarMcOptions(ctypes.Structure):
    """``risk_var_mc_options`` (include/risk/var.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("distribution", ctypes.c_uint32),
        ("seed", ctypes.c_uint64),
        ("dof", ctypes.c_double),
        ("horizon_periods", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskVarMcOptions:
        """The equivalent of ``RISK_VAR_MC_OPTIONS_INIT``."""
        return cls(VAR_MC_OPTIONS_VERSION, VAR_MC_NORMAL, 1, 4.0, 1.0)


class RiskVarBacktestResult(ctypes.Structure):
    """``risk_var_backtest_result`` (include/risk/var.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("n", ctypes.c_size_t),
        ("breaches", ctypes.c_size_t),
        ("n00", ctypes.c_size_t),
        ("n01", ctypes.c_size_t),
        ("n10", ctypes.c_size_t),
        ("n11", ctypes.c_size_t),
        ("level", ctypes.c_double),
        ("breach_rate", ctypes.c_double),
        ("lr_pof", ctypes.c_double),
        ("p_pof", ctypes.c_double),
        ("lr_ind", ctypes.c_double),
        ("p_ind", ctypes.c_double),
        ("lr_cc", ctypes.c_double),
        ("p_cc", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskVarBacktestResult:
        """The equivalent of ``RISK_VAR_BACKTEST_RESULT_INIT``."""
        return cls(version=VAR_BACKTEST_RESULT_VERSION)


class RiskVolGarchState(ctypes.Structure):
    """``risk_vol_garch_state`` (include/risk/vol.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("omega", ctypes.c_double),
        ("alpha", ctypes.c_double),
        ("beta", ctypes.c_double),
        ("variance", ctypes.c_double),
        ("last_price", ctypes.c_double),
        ("count", ctypes.c_uint64),
    ]


class RiskVolGarchOptions(ctypes.Structure):
    """``risk_vol_garch_options`` (include/risk/vol.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("max_iterations", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("tolerance", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskVolGarchOptions:
        """The equivalent of ``RISK_VOL_GARCH_OPTIONS_INIT``."""
        return cls(VOL_GARCH_OPTIONS_VERSION, 0, 200, 0, 1e-8)


class RiskVolGarchResult(ctypes.Structure):
    """``risk_vol_garch_result`` (include/risk/vol.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("converged", ctypes.c_uint32),
        ("iterations", ctypes.c_uint32),
        ("n", ctypes.c_size_t),
        ("omega", ctypes.c_double),
        ("alpha", ctypes.c_double),
        ("beta", ctypes.c_double),
        ("se_omega", ctypes.c_double),
        ("se_alpha", ctypes.c_double),
        ("se_beta", ctypes.c_double),
        ("se_robust_omega", ctypes.c_double),
        ("se_robust_alpha", ctypes.c_double),
        ("se_robust_beta", ctypes.c_double),
        ("log_likelihood", ctypes.c_double),
        ("long_run_variance", ctypes.c_double),
        ("sample_variance", ctypes.c_double),
        ("variance_next", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskVolGarchResult:
        """The equivalent of ``RISK_VOL_GARCH_RESULT_INIT``."""
        return cls(version=VOL_GARCH_RESULT_VERSION)


class RiskVolRangeState(ctypes.Structure):
    """``risk_vol_range_state`` (include/risk/vol.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("method", ctypes.c_uint32),
        ("ring", ctypes.POINTER(ctypes.c_double)),
        ("window", ctypes.c_size_t),
        ("head", ctypes.c_size_t),
        ("count", ctypes.c_uint64),
        ("sum", ctypes.c_double * 5),
        ("last_close", ctypes.c_double),
    ]


class RiskScenarios(ctypes.Structure):
    """``risk_scenarios`` (include/risk/portfolio.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("vol_mode", ctypes.c_uint32),
        ("n_scenarios", ctypes.c_size_t),
        ("n_assets", ctypes.c_size_t),
        ("price_moves", ctypes.POINTER(ctypes.c_double)),
        ("vol_moves", ctypes.POINTER(ctypes.c_double)),
        ("weights", ctypes.POINTER(ctypes.c_double)),
        ("vol_term_days", ctypes.c_double),
        ("vol_term_power_short", ctypes.c_double),
        ("vol_term_power_long", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskScenarios:
        """The equivalent of ``RISK_SCENARIOS_INIT``."""
        return cls(version=SCENARIOS_VERSION, vol_mode=VOL_MOVE_RELATIVE, vol_term_days=30.0)


class RiskPortfolioMarginParams(ctypes.Structure):
    """``risk_portfolio_margin_params`` (include/risk/portfolio.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("model", ctypes.c_uint32),
        ("price_range", ctypes.c_double),
        ("price_steps", ctypes.c_uint32),
        ("vol_same", ctypes.c_uint32),
        ("vol_mode", ctypes.c_uint32),
        ("extended_vol_up", ctypes.c_uint32),
        ("vol_up", ctypes.c_double),
        ("vol_down", ctypes.c_double),
        ("vol_term_days", ctypes.c_double),
        ("vol_term_power_short", ctypes.c_double),
        ("vol_term_power_long", ctypes.c_double),
        ("extended_moves", ctypes.c_double * PM_EXTENDED_MAX),
        ("n_extended", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("extended_weight", ctypes.c_double),
        ("delta_shock", ctypes.c_double),
        ("roll_shock", ctypes.c_double),
        ("min_delta_net", ctypes.c_double),
        ("min_delta_hedged", ctypes.c_double),
        ("short_option_rate", ctypes.c_double),
        ("option_gross_rate", ctypes.c_double),
        ("basis_rate", ctypes.c_double),
        ("min_charge_rate", ctypes.c_double),
        ("im_multiplier", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskPortfolioMarginParams:
        """The equivalent of ``RISK_PORTFOLIO_MARGIN_PARAMS_INIT`` (Deribit's BTC risk matrix)."""
        p = cls(version=PORTFOLIO_MARGIN_PARAMS_VERSION, model=PM_RISK_MATRIX, price_range=0.16, price_steps=4,
                vol_same=1, vol_mode=VOL_MOVE_RELATIVE, extended_vol_up=1, vol_up=0.5, vol_down=0.25,
                vol_term_days=30.0, vol_term_power_short=0.30, vol_term_power_long=0.13, n_extended=8,
                extended_weight=0.0, delta_shock=0.01, roll_shock=0.01, im_multiplier=1.3)
        for k, m in enumerate((-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0)):
            p.extended_moves[k] = m
        return p


class RiskPortfolioMarginUnit(ctypes.Structure):
    """``risk_portfolio_margin_unit`` (include/risk/portfolio.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("underlying", ctypes.c_uint32),
        ("n_positions", ctypes.c_uint32),
        ("worst_scenario", ctypes.c_uint32),
        ("worst_loss", ctypes.c_double),
        ("worst_price_move", ctypes.c_double),
        ("worst_vol_move", ctypes.c_double),
        ("worst_weight", ctypes.c_double),
        ("underlying_price", ctypes.c_double),
        ("net_delta", ctypes.c_double),
        ("hedged_delta", ctypes.c_double),
        ("gross_delta", ctypes.c_double),
        ("addons", ctypes.c_double),
        ("minimum", ctypes.c_double),
        ("mr", ctypes.c_double * 7),
        ("maintenance_margin", ctypes.c_double),
    ]


class RiskPortfolioMarginResult(ctypes.Structure):
    """``risk_portfolio_margin_result`` (include/risk/portfolio.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("model", ctypes.c_uint32),
        ("initial_margin", ctypes.c_double),
        ("maintenance_margin", ctypes.c_double),
        ("n_units", ctypes.c_uint32),
        ("worst_unit", ctypes.c_uint32),
        ("worst_scenario", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("worst_loss", ctypes.c_double),
        ("worst_price_move", ctypes.c_double),
        ("worst_vol_move", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskPortfolioMarginResult:
        """The equivalent of ``RISK_PORTFOLIO_MARGIN_RESULT_INIT``."""
        return cls(version=PORTFOLIO_MARGIN_RESULT_VERSION)


class RiskExactSum(ctypes.Structure):
    """``risk_exact_sum`` (include/risk/stress.h): hi x 2^32 + lo quanta."""
    _fields_ = [("hi", ctypes.c_int64), ("lo", ctypes.c_int64)]


class RiskStressScenario(ctypes.Structure):
    """``risk_stress_scenario`` (include/risk/stress.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("decimals", ctypes.c_uint32),
        ("n_accounts", ctypes.c_uint64),
        ("n_liquidatable", ctypes.c_uint64),
        ("n_bankrupt", ctypes.c_uint64),
        ("n_new_liquidatable", ctypes.c_uint64),
        ("n_new_bankrupt", ctypes.c_uint64),
        ("pnl", ctypes.c_double),
        ("loss", ctypes.c_double),
        ("deficit", ctypes.c_double),
        ("pnl_sum", RiskExactSum),
        ("loss_sum", RiskExactSum),
        ("deficit_sum", RiskExactSum),
    ]

    @classmethod
    def init(cls) -> RiskStressScenario:
        """The equivalent of ``RISK_STRESS_SCENARIO_INIT``."""
        return cls(version=STRESS_SCENARIO_VERSION)


class RiskExposure(ctypes.Structure):
    """``risk_exposure`` (include/risk/stress.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("asset", ctypes.c_uint32),
        ("decimals", ctypes.c_uint32),
        ("n_top", ctypes.c_uint32),
        ("n_accounts", ctypes.c_uint64),
        ("long_notional", ctypes.c_double),
        ("short_notional", ctypes.c_double),
        ("net_notional", ctypes.c_double),
        ("top_share", ctypes.c_double),
        ("long_sum", RiskExactSum),
        ("short_sum", RiskExactSum),
        ("top_ids", ctypes.c_uint64 * EXPOSURE_TOP_MAX),
        ("top_gross", ctypes.c_double * EXPOSURE_TOP_MAX),
    ]

    @classmethod
    def init(cls) -> RiskExposure:
        """The equivalent of a zeroed ``risk_exposure`` with its version set."""
        return cls(version=EXPOSURE_VERSION)


class RiskImpact(ctypes.Structure):
    """``risk_impact`` (include/risk/cascade.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("model", ctypes.c_uint32),
        ("y", ctypes.c_double),
        ("sigma", ctypes.c_double),
        ("volume", ctypes.c_double),
        ("depth", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskImpact:
        """The equivalent of ``RISK_IMPACT_INIT``."""
        return cls(IMPACT_VERSION, IMPACT_NONE, 0.7, 0.04, 1.0, 1.0)


#: ``risk_cascade_progress_fn``: (user, const risk_cascade_round *, n_steps); the round as a void
#: pointer (cast it to ``POINTER(RiskCascadeRound)``), since that struct is declared below.
CascadeProgressFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)


class RiskCascadeOptions(ctypes.Structure):
    """``risk_cascade_options`` (include/risk/cascade.h): the arrays are borrowed."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("max_rounds", ctypes.c_uint32),
        ("n_steps", ctypes.c_size_t),
        ("n_assets", ctypes.c_size_t),
        ("shocks", ctypes.POINTER(ctypes.c_double)),
        ("impact", ctypes.POINTER(RiskImpact)),
        ("n_impact", ctypes.c_size_t),
        ("progress", CascadeProgressFn),
        ("progress_user", ctypes.c_void_p),
    ]

    @classmethod
    def init(cls) -> RiskCascadeOptions:
        """The equivalent of ``RISK_CASCADE_OPTIONS_INIT``."""
        return cls(version=CASCADE_OPTIONS_VERSION, max_rounds=100)


class RiskCascadeRound(ctypes.Structure):
    """``risk_cascade_round`` (include/risk/cascade.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("step", ctypes.c_uint32),
        ("round", ctypes.c_uint32),
        ("capped", ctypes.c_uint32),
        ("n_liquidated", ctypes.c_uint64),
        ("n_close_outs", ctypes.c_uint64),
        ("n_adl_fills", ctypes.c_uint64),
        ("n_backstop_fills", ctypes.c_uint64),
        ("market_volume", ctypes.c_double),
        ("adl_volume", ctypes.c_double),
        ("backstop_volume", ctypes.c_double),
        ("fund_drawn", ctypes.c_double),
        ("fund_paid_in", ctypes.c_double),
        ("socialized", ctypes.c_double),
        ("uncovered", ctypes.c_double),
        ("liquidator_gain", ctypes.c_double),
        ("fund_after", ctypes.c_double),
        ("bad_debt", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskCascadeRound:
        """The equivalent of ``RISK_CASCADE_ROUND_INIT``."""
        return cls(version=CASCADE_ROUND_VERSION)


class RiskCover2(ctypes.Structure):
    """``risk_cover2`` (include/risk/cascade.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("n_top", ctypes.c_uint32),
        ("top_ids", ctypes.c_uint64 * 3),
        ("top_deficit", ctypes.c_double * 3),
        ("cover1", ctypes.c_double),
        ("cover2", ctypes.c_double),
        ("emir", ctypes.c_double),
        ("total_deficit", ctypes.c_double),
        ("n_deficit", ctypes.c_uint64),
    ]

    @classmethod
    def init(cls) -> RiskCover2:
        """The equivalent of ``RISK_COVER2_INIT``."""
        return cls(version=COVER2_VERSION)


class RiskFundSurvival(ctypes.Structure):
    """``risk_fund_survival`` (include/risk/cascade.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("n", ctypes.c_uint64),
        ("n_survived", ctypes.c_uint64),
        ("fund", ctypes.c_double),
        ("survival", ctypes.c_double),
        ("std_error", ctypes.c_double),
        ("level", ctypes.c_double),
        ("fund_needed", ctypes.c_double),
        ("deficit_es", ctypes.c_double),
        ("deficit_mean", ctypes.c_double),
        ("deficit_max", ctypes.c_double),
    ]

    @classmethod
    def init(cls) -> RiskFundSurvival:
        """The equivalent of ``RISK_FUND_SURVIVAL_INIT``."""
        return cls(version=FUND_SURVIVAL_VERSION)


class RiskOptionBatch(ctypes.Structure):
    """``risk_option_batch`` (include/risk/options.h): parallel input arrays, borrowed."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("premium", ctypes.c_uint32),
        ("type", ctypes.POINTER(ctypes.c_int32)),
        ("forward", ctypes.POINTER(ctypes.c_double)),
        ("strike", ctypes.POINTER(ctypes.c_double)),
        ("years", ctypes.POINTER(ctypes.c_double)),
        ("vol", ctypes.POINTER(ctypes.c_double)),
        ("rate", ctypes.POINTER(ctypes.c_double)),
    ]

    @classmethod
    def init(cls) -> RiskOptionBatch:
        """The equivalent of ``RISK_OPTION_BATCH_INIT``."""
        return cls(OPTION_BATCH_VERSION, OPTION_PREMIUM_SPOT)


class RiskOptionGreeks(ctypes.Structure):
    """``risk_option_greeks`` (include/risk/options.h): output arrays, NULL = not computed."""
    _fields_ = [("version", ctypes.c_uint32), ("reserved", ctypes.c_uint32)] + [
        (name, ctypes.POINTER(ctypes.c_double))
        for name in ("price", "delta", "gamma", "vega", "theta", "rho", "vanna", "volga")]

    @classmethod
    def init(cls) -> RiskOptionGreeks:
        """The equivalent of ``RISK_OPTION_GREEKS_INIT``."""
        return cls(OPTION_GREEKS_VERSION, 0)


# ---------------------------------------------------------------- function table

_u32 = ctypes.c_uint32
_u64 = ctypes.c_uint64
_i64 = ctypes.c_int64
_i32 = ctypes.c_int
_dbl = ctypes.c_double
_sz = ctypes.c_size_t
_P = ctypes.POINTER

# Where the message of a failed call lives: the handle kind and the argument index holding it.
#   ("engine", i)   risk_engine_errmsg(args[i])
#   ("account", i)  risk_account_errmsg(args[i])
#   ("basket", i)   risk_basket_errmsg(args[i])
#   ("tick", i)     risk_tick_errmsg(args[i])
#   ("position", i) risk_account_errmsg(risk_position_account(args[i]))
#   None            no handle: risk_strerror(code)
#
# Each entry: name -> (restype, argtypes, message source or "plain" for calls that return no status).
_FUNCTIONS = {
    # version.h
    "risk_version_string": (ctypes.c_char_p, [], "plain"),
    "risk_version_number": (_u32, [], "plain"),
    # status.h
    "risk_strerror": (ctypes.c_char_p, [_i32], "plain"),
    "risk_errname": (ctypes.c_char_p, [_i32], "plain"),
    # engine.h
    "risk_engine_new": (_i32, [_P(EngineP), _P(RiskEngineOptions)], None),
    "risk_engine_free": (None, [EngineP], "plain"),
    "risk_engine_add_asset": (_i32, [EngineP, _P(RiskAssetSpec), _P(_u32)], ("engine", 0)),
    "risk_engine_add_instrument": (_i32, [EngineP, _P(RiskInstrumentSpec), _P(_u32)], ("engine", 0)),
    "risk_engine_set_valuation_asset": (_i32, [EngineP, _u32], ("engine", 0)),
    "risk_engine_set_margin_call_health": (_i32, [EngineP, _dbl], ("engine", 0)),
    "risk_engine_set_asset_price": (_i32, [EngineP, _u32, _dbl], ("engine", 0)),
    "risk_engine_set_asset_prices": (_i32, [EngineP, _P(_u32), _P(_dbl), _sz], ("engine", 0)),
    "risk_engine_set_mark": (_i32, [EngineP, _u32, _dbl], ("engine", 0)),
    "risk_engine_set_marks": (_i32, [EngineP, _P(_u32), _P(_dbl), _sz], ("engine", 0)),
    "risk_engine_evaluate_all": (_i32, [EngineP, _P(RiskAccountSummary), _P(_u64), _sz, _u32, _P(_sz)],
                                 ("engine", 0)),
    # tick.h
    "risk_tick_new": (_i32, [_P(TickP), EngineP], ("engine", 1)),
    "risk_tick_free": (None, [TickP], "plain"),
    "risk_tick_apply": (_i32, [TickP, _P(_u32), _P(_dbl), _sz, _P(_u32), _P(_dbl), _sz, _P(_sz)], ("tick", 0)),
    "risk_tick_rebuild": (_i32, [TickP, _P(_sz)], ("tick", 0)),
    "risk_tick_changes": (_i32, [TickP, _P(RiskTickChange), _sz, _P(_sz)], ("tick", 0)),
    "risk_tick_stats_get": (_i32, [TickP, _P(RiskTickStats)], ("tick", 0)),
    "risk_tick_state": (_i32, [TickP, AccountP, _P(_u32)], ("tick", 0)),
    "risk_tick_errmsg": (ctypes.c_char_p, [TickP], "plain"),
    # bulk.h
    "risk_engine_add_accounts": (_i32, [EngineP, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, _sz,
                                        ctypes.c_void_p], ("engine", 0)),
    "risk_engine_set_balances": (_i32, [EngineP, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, _sz],
                                 ("engine", 0)),
    "risk_engine_set_leverages": (_i32, [EngineP, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, _sz],
                                  ("engine", 0)),
    "risk_engine_open_positions": (_i32, [EngineP, _P(RiskPositionColumns), _sz], ("engine", 0)),
    "risk_engine_evaluate_columns": (_i32, [EngineP, _P(RiskSummaryColumns), _sz, _u32, _P(_sz)], ("engine", 0)),
    "risk_engine_position_results_columns": (_i32, [EngineP, _P(RiskPositionResultColumns), _sz, _u32, _P(_sz)],
                                             ("engine", 0)),
    "risk_text_rows": (_i32, [ctypes.c_void_p, _P(RiskTextColumn), _sz, _sz, ctypes.c_void_p, _sz, _P(_sz), _P(_sz),
                              ctypes.c_void_p], None),
    "risk_engine_find_asset": (_i32, [EngineP, ctypes.c_char_p, _P(_u32)], ("engine", 0)),
    "risk_engine_find_instrument": (_i32, [EngineP, ctypes.c_char_p, _P(_u32)], ("engine", 0)),
    "risk_engine_find_account": (_i32, [EngineP, _u64, _P(AccountP)], ("engine", 0)),
    "risk_engine_asset_price": (_i32, [EngineP, _u32, _P(_dbl)], ("engine", 0)),
    "risk_engine_mark": (_i32, [EngineP, _u32, _P(_dbl)], ("engine", 0)),
    "risk_engine_set_time": (_i32, [EngineP, _i64], ("engine", 0)),
    "risk_engine_time": (_i32, [EngineP, _P(_i64)], ("engine", 0)),
    "risk_engine_set_mark_vol": (_i32, [EngineP, _u32, _dbl], ("engine", 0)),
    "risk_engine_mark_vol": (_i32, [EngineP, _u32, _P(_dbl)], ("engine", 0)),
    "risk_engine_settle_expired": (_i32, [EngineP, _u32, _dbl, _P(_sz)], ("engine", 0)),
    "risk_engine_valuation_asset": (_i32, [EngineP, _P(_u32)], ("engine", 0)),
    "risk_engine_account_count": (_i32, [EngineP, _P(_sz)], ("engine", 0)),
    "risk_engine_memory_bytes": (_i32, [EngineP, _P(_sz)], ("engine", 0)),
    "risk_engine_asset_count": (_i32, [EngineP, _P(_sz)], ("engine", 0)),
    "risk_engine_instrument_count": (_i32, [EngineP, _P(_sz)], ("engine", 0)),
    "risk_engine_asset_spec": (_i32, [EngineP, _u32, _P(RiskAssetSpec)], ("engine", 0)),
    "risk_engine_instrument_spec": (_i32, [EngineP, _u32, _P(RiskInstrumentSpec)], ("engine", 0)),
    "risk_engine_errmsg": (ctypes.c_char_p, [EngineP], "plain"),
    # basket.h
    "risk_basket_new": (_i32, [_P(BasketP), EngineP], ("engine", 1)),
    "risk_basket_free": (None, [BasketP], "plain"),
    "risk_basket_set_balance": (_i32, [BasketP, _u32, _dbl], ("basket", 0)),
    "risk_basket_add_balance": (_i32, [BasketP, _u32, _dbl], ("basket", 0)),
    "risk_basket_balance": (_i32, [BasketP, _u32, _P(_dbl)], ("basket", 0)),
    "risk_basket_evaluate": (_i32, [BasketP, _P(RiskBasketSummary)], ("basket", 0)),
    "risk_basket_errmsg": (ctypes.c_char_p, [BasketP], "plain"),
    # account.h
    "risk_account_new": (_i32, [_P(AccountP), EngineP, _u64, _u32, _u32], ("engine", 1)),
    "risk_account_free": (None, [AccountP], "plain"),
    "risk_account_set_leverage": (_i32, [AccountP, _u32, _dbl], ("account", 0)),
    "risk_account_leverage": (_i32, [AccountP, _u32, _P(_dbl)], ("account", 0)),
    "risk_account_basket": (BasketP, [AccountP], "plain"),
    "risk_account_open_position": (_i32, [AccountP, _P(RiskPositionSpec), _P(PositionP)], ("account", 0)),
    "risk_account_evaluate": (_i32, [AccountP, _P(RiskAccountSummary)], ("account", 0)),
    "risk_account_position_results": (_i32, [AccountP, _P(RiskPositionResult), _sz, _P(_sz)], ("account", 0)),
    "risk_account_id": (_u64, [AccountP], "plain"),
    "risk_account_margin_mode": (_u32, [AccountP], "plain"),
    "risk_account_position_mode": (_u32, [AccountP], "plain"),
    "risk_account_position_count": (_sz, [AccountP], "plain"),
    "risk_account_position_at": (_i32, [AccountP, _sz, _P(PositionP)], ("account", 0)),
    "risk_account_find_position": (_i32, [AccountP, _u32, _u32, _P(PositionP)], ("account", 0)),
    "risk_account_errmsg": (ctypes.c_char_p, [AccountP], "plain"),
    # position.h
    "risk_position_adjust": (_i32, [PositionP, _dbl, _dbl], ("position", 0)),
    "risk_position_close": (_i32, [PositionP, _dbl], ("position", 0)),
    "risk_position_set_isolated_margin": (_i32, [PositionP, _dbl], ("position", 0)),
    "risk_position_instrument": (_u32, [PositionP], "plain"),
    "risk_position_side": (_u32, [PositionP], "plain"),
    "risk_position_leg": (_u32, [PositionP], "plain"),
    "risk_position_qty": (_dbl, [PositionP], "plain"),
    "risk_position_entry": (_dbl, [PositionP], "plain"),
    "risk_position_isolated_margin": (_dbl, [PositionP], "plain"),
    "risk_position_margin_mode": (_u32, [PositionP], "plain"),
    "risk_position_account": (AccountP, [PositionP], "plain"),
    # margin.h
    "risk_engine_instrument_tiers": (_i32, [EngineP, _u32, _P(RiskMarginTier), _sz, _P(_sz)], ("engine", 0)),
    "risk_engine_instrument_margin": (_i32, [EngineP, _u32, _dbl, _dbl, _P(_dbl), _P(_dbl), _P(_u32)],
                                      ("engine", 0)),
    "risk_engine_set_instrument_scaling": (_i32, [EngineP, _u32, _P(RiskMarginScaling)], ("engine", 0)),
    "risk_engine_instrument_scaling": (_i32, [EngineP, _u32, _P(RiskMarginScaling)], ("engine", 0)),
    "risk_engine_instrument_factor": (_i32, [EngineP, _u32, _P(RiskMarginFactor)], ("engine", 0)),
    "risk_engine_instrument_base_tiers": (_i32, [EngineP, _u32, _P(RiskMarginTier), _sz, _P(_sz)], ("engine", 0)),
    "risk_engine_set_asset_vol_params": (_i32, [EngineP, _u32, _P(RiskAssetVolParams)], ("engine", 0)),
    "risk_engine_set_asset_vol": (_i32, [EngineP, _u32, _dbl, _i64], ("engine", 0)),
    "risk_engine_feed_asset_return": (_i32, [EngineP, _u32, _dbl, _i64], ("engine", 0)),
    "risk_engine_feed_asset_price": (_i32, [EngineP, _u32, _dbl, _i64], ("engine", 0)),
    "risk_engine_set_asset_stressed_vol": (_i32, [EngineP, _u32, _dbl], ("engine", 0)),
    "risk_engine_set_asset_floor_vol": (_i32, [EngineP, _u32, _dbl], ("engine", 0)),
    "risk_engine_set_asset_buffer_release": (_i32, [EngineP, _u32, _dbl], ("engine", 0)),
    "risk_engine_asset_vol": (_i32, [EngineP, _u32, _P(RiskAssetVolState)], ("engine", 0)),
    "risk_engine_set_asset_size_scaling": (_i32, [EngineP, _u32, _P(RiskSizeScaling)], ("engine", 0)),
    "risk_engine_asset_size_scaling": (_i32, [EngineP, _u32, _P(RiskSizeScaling)], ("engine", 0)),
    "risk_engine_asset_weights": (_i32, [EngineP, _u32, _dbl, _P(_dbl), _P(_dbl)], ("engine", 0)),
    "risk_engine_set_instrument_size_premium": (_i32, [EngineP, _u32, _P(RiskSizePremium)], ("engine", 0)),
    "risk_engine_instrument_size_premium": (_i32, [EngineP, _u32, _P(RiskSizePremium)], ("engine", 0)),
    # liquidation.h
    "risk_engine_set_liquidation_policy": (_i32, [EngineP, _P(RiskLiquidationPolicy)], ("engine", 0)),
    "risk_engine_liquidation_policy": (_i32, [EngineP, _P(RiskLiquidationPolicy)], ("engine", 0)),
    "risk_engine_set_instrument_liquidation_policy": (_i32, [EngineP, _u32, _P(RiskLiquidationPolicy)],
                                                      ("engine", 0)),
    "risk_engine_instrument_liquidation_policy": (_i32, [EngineP, _u32, _P(RiskLiquidationPolicy)], ("engine", 0)),
    "risk_engine_insurance_fund_deposit": (_i32, [EngineP, _u32, _dbl], ("engine", 0)),
    "risk_engine_insurance_fund": (_i32, [EngineP, _u32, _P(RiskInsuranceFund)], ("engine", 0)),
    "risk_account_liquidation_plan": (_i32, [AccountP, _P(RiskLiquidationPlan), _P(RiskLiquidationAction), _sz,
                                             _P(_sz)], ("account", 0)),
    "risk_account_apply_plan": (_i32, [AccountP, _P(RiskLiquidationPlan), _P(RiskLiquidationAction), _sz],
                                ("account", 0)),
    "risk_engine_liquidate_all": (_i32, [EngineP, _P(RiskLiquidateAllOptions), _P(RiskLiquidateAllResult)],
                                  ("engine", 0)),
    "risk_engine_adl_ranking": (_i32, [EngineP, _u32, _u32, _P(RiskAdlEntry), _sz, _P(_sz)], ("engine", 0)),
    "risk_account_spot_liquidation_price": (_i32, [AccountP, _u32, _P(_dbl)], ("account", 0)),
    "risk_adl_merge": (_i32, [_P(RiskAdlEntry), _sz, _P(_P(RiskAdlEntry)), _P(_sz), _sz, _P(_sz)], None),
    # whatif.h
    "risk_account_whatif": (_i32, [AccountP, _P(RiskOrder), _P(RiskAccountSummary)], ("account", 0)),
    "risk_account_max_order_qty": (_i32, [AccountP, _u32, _u32, _u32, _dbl, _P(_dbl)], ("account", 0)),
    "risk_account_orders_summary": (_i32, [AccountP, _P(RiskOrder), _sz, _P(RiskAccountSummary), _P(_u32)],
                                    ("account", 0)),
    # trading.h
    "risk_engine_set_instrument_fees": (_i32, [EngineP, _u32, _P(RiskInstrumentFees)], ("engine", 0)),
    "risk_engine_instrument_fees": (_i32, [EngineP, _u32, _P(RiskInstrumentFees)], ("engine", 0)),
    "risk_engine_fill_fee": (_i32, [EngineP, _u32, _u32, _dbl, _dbl, _P(_dbl)], ("engine", 0)),
    # vol.h (no handle: the status is the message)
    "risk_vol_ewma_init": (_i32, [_P(RiskVolEwmaState), _dbl, _dbl], None),
    "risk_vol_ewma_update": (_i32, [_P(RiskVolEwmaState), _dbl], None),
    "risk_vol_ewma_update_price": (_i32, [_P(RiskVolEwmaState), _dbl], None),
    "risk_vol_ewma_variance": (_i32, [_P(RiskVolEwmaState), _P(_dbl)], None),
    "risk_vol_ewma_vol_annual": (_i32, [_P(RiskVolEwmaState), _dbl, _P(_dbl)], None),
    "risk_vol_ewma": (_i32, [_P(_dbl), _P(_dbl), _sz, _dbl, _dbl, _dbl], None),
    "risk_vol_log_returns": (_i32, [_P(_dbl), _P(_dbl), _sz], None),
    "risk_vol_realized": (_i32, [_P(_dbl), _P(_dbl), _sz, _sz, _dbl], None),
    "risk_vol_realized_init": (_i32, [_P(RiskVolRealizedState), _P(_dbl), _sz, _sz], None),
    "risk_vol_realized_update": (_i32, [_P(RiskVolRealizedState), _dbl], None),
    "risk_vol_realized_update_price": (_i32, [_P(RiskVolRealizedState), _dbl], None),
    "risk_vol_realized_variance": (_i32, [_P(RiskVolRealizedState), _P(_dbl)], None),
    "risk_vol_realized_vol_annual": (_i32, [_P(RiskVolRealizedState), _dbl, _P(_dbl)], None),
    "risk_vol_garch_init": (_i32, [_P(RiskVolGarchState), _dbl, _dbl, _dbl, _dbl], None),
    "risk_vol_garch_update": (_i32, [_P(RiskVolGarchState), _dbl], None),
    "risk_vol_garch_update_price": (_i32, [_P(RiskVolGarchState), _dbl], None),
    "risk_vol_garch_variance": (_i32, [_P(RiskVolGarchState), _P(_dbl)], None),
    "risk_vol_garch_vol_annual": (_i32, [_P(RiskVolGarchState), _dbl, _P(_dbl)], None),
    "risk_vol_garch_forecast": (_i32, [_P(_dbl), _P(_dbl), _P(RiskVolGarchState), _u32], None),
    "risk_vol_garch": (_i32, [_P(_dbl), _P(_dbl), _sz, _dbl, _dbl, _dbl, _dbl, _dbl], None),
    "risk_vol_garch_loglik": (_i32, [_P(_dbl), _P(_dbl), _sz, _dbl, _dbl, _dbl], None),
    "risk_vol_garch_fit": (_i32, [_P(RiskVolGarchResult), _P(_dbl), _sz, _P(RiskVolGarchOptions)], None),
    "risk_vol_parkinson": (_i32, [_P(_dbl), _P(_dbl), _P(_dbl), _sz, _sz, _dbl], None),
    "risk_vol_garman_klass": (_i32, [_P(_dbl), _P(_dbl), _P(_dbl), _P(_dbl), _P(_dbl), _sz, _sz, _dbl], None),
    "risk_vol_rogers_satchell": (_i32, [_P(_dbl), _P(_dbl), _P(_dbl), _P(_dbl), _P(_dbl), _sz, _sz, _dbl], None),
    "risk_vol_yang_zhang": (_i32, [_P(_dbl), _P(_dbl), _P(_dbl), _P(_dbl), _P(_dbl), _sz, _sz, _dbl], None),
    "risk_vol_range_init": (_i32, [_P(RiskVolRangeState), _u32, _P(_dbl), _sz, _sz], None),
    "risk_vol_range_update": (_i32, [_P(RiskVolRangeState), _dbl, _dbl, _dbl, _dbl], None),
    "risk_vol_range_variance": (_i32, [_P(RiskVolRangeState), _P(_dbl)], None),
    "risk_vol_range_vol_annual": (_i32, [_P(RiskVolRangeState), _dbl, _P(_dbl)], None),
    # rates.h
    "risk_rate_model_rates": (_i32, [_P(RiskRates), _P(RiskRateModel), _dbl, _dbl, _dbl, _dbl], None),
    "risk_engine_set_rate_model": (_i32, [EngineP, _u32, _P(RiskRateModel)], ("engine", 0)),
    "risk_engine_rate_model": (_i32, [EngineP, _u32, _P(RiskRateModel)], ("engine", 0)),
    "risk_engine_set_rate_pool": (_i32, [EngineP, _u32, _P(RiskRatePool)], ("engine", 0)),
    "risk_engine_rate_pool": (_i32, [EngineP, _u32, _P(RiskRatePool)], ("engine", 0)),
    "risk_engine_rates": (_i32, [EngineP, _u32, _P(RiskRates)], ("engine", 0)),
    "risk_engine_accrue": (_i32, [EngineP, _i64], ("engine", 0)),
    "risk_basket_pool_transfer": (_i32, [BasketP, _u32, _dbl], ("basket", 0)),
    "risk_basket_scaled_balance": (_i32, [BasketP, _u32, _P(_dbl)], ("basket", 0)),
    "risk_basket_rate_costs": (_i32, [BasketP, _dbl, _P(RiskRateCost), _sz, _P(_sz)], ("basket", 0)),
    "risk_levtoken_simulate": (_i32, [_P(_dbl), _P(_dbl), _P(_dbl), _P(RiskLevtokenResult), _P(_dbl), _P(_dbl), _sz,
                                      _P(RiskLevtokenSpec)], None),
    "risk_funding_rate_binance": (_i32, [_P(_dbl), _dbl, _dbl, _dbl, _dbl], None),
    "risk_funding_rate_drift": (_i32, [_P(_dbl), _dbl, _dbl, _dbl, _dbl, _dbl, _dbl], None),
    "risk_engine_settle_funding": (_i32, [EngineP, _u32, _dbl, _dbl, _P(RiskFundingResult)], ("engine", 0)),
    "risk_engine_accrue_funding": (_i32, [EngineP, _u32, _dbl, _dbl, _dbl, _i64], ("engine", 0)),
    "risk_engine_funding_index": (_i32, [EngineP, _u32, _P(_dbl), _P(_dbl), _P(_i64)], ("engine", 0)),
    "risk_account_funding_pending": (_i32, [AccountP, _u32, _P(_dbl)], ("account", 0)),
    "risk_account_settle_funding": (_i32, [AccountP, _P(RiskFundingResult)], ("account", 0)),
    "risk_upnl_weight": (_i32, [_P(_dbl), _P(_dbl), _dbl, _dbl, _dbl, _dbl], None),
    "risk_engine_set_instrument_upnl_weight": (_i32, [EngineP, _u32, _dbl, _dbl, _dbl], ("engine", 0)),
    "risk_engine_instrument_upnl_weight": (_i32, [EngineP, _u32, _P(_dbl), _P(_dbl), _P(_dbl)], ("engine", 0)),
    # optimise.h
    "risk_account_optimise": (_i32, [AccountP, _P(RiskOptimiseSpec), _P(RiskOptimiseAsset), _sz,
                                     _P(RiskOptimiseResult), _P(RiskOptimiseMove)], ("account", 0)),
    # snapshot.h (the reads report through the options' message buffer: checked by the caller)
    "risk_engine_snapshot_write": (_i32, [EngineP, ctypes.c_void_p, _sz, _P(_sz)], ("engine", 0)),
    "risk_engine_snapshot_read": (_i32, [_P(EngineP), ctypes.c_void_p, _sz, _P(RiskSnapshotOptions)], "plain"),
    "risk_engine_snapshot_write_file": (_i32, [EngineP, ctypes.c_char_p], ("engine", 0)),
    "risk_engine_snapshot_read_file": (_i32, [_P(EngineP), ctypes.c_char_p, _P(RiskSnapshotOptions)], "plain"),
    "risk_engine_accounts": (_i32, [EngineP, _P(AccountP), _sz, _P(_sz)], ("engine", 0)),
    "risk_account_adopt": (_i32, [AccountP], ("account", 0)),
    "risk_account_engine_owned": (_i32, [AccountP, _P(_u32)], None),
    # portfolio.h, stress.h
    "risk_account_scenario_pnl": (_i32, [AccountP, _P(RiskScenarios), _P(_dbl), _P(RiskAccountSummary)],
                                  ("account", 0)),
    "risk_scenario_vol": (_i32, [_P(_dbl), _P(RiskScenarios), _sz, _u32, _dbl, _dbl], None),
    "risk_engine_set_portfolio_margin": (_i32, [EngineP, _P(RiskPortfolioMarginParams)], ("engine", 0)),
    "risk_engine_portfolio_margin": (_i32, [_P(RiskPortfolioMarginParams), EngineP], None),
    "risk_portfolio_margin_grid": (_i32, [_P(_dbl), _P(_dbl), _P(_dbl), _sz, _P(RiskPortfolioMarginParams), _P(_sz)],
                                   None),
    "risk_account_portfolio_margin": (_i32, [_P(RiskPortfolioMarginResult), _P(RiskPortfolioMarginUnit), _sz,
                                             AccountP, _P(RiskPortfolioMarginParams)], ("account", 3)),
    "risk_portfolio_okx_mmr": (_i32, [_P(_dbl), _P(_dbl), _sz], None),
    "risk_engine_portfolio_margin_all": (_i32, [_P(RiskPortfolioMarginResult), _P(_u64), _sz, EngineP,
                                                _P(RiskPortfolioMarginParams), _P(_sz)], ("engine", 3)),
    "risk_engine_stress": (_i32, [EngineP, _P(RiskScenarios), _P(RiskStressScenario), _P(_dbl), _P(_dbl), _P(_dbl),
                                  _P(_u32), _P(_u64), _sz, _u32, _P(_sz)], ("engine", 0)),
    "risk_stress_merge": (_i32, [_P(RiskStressScenario), _P(RiskStressScenario), _sz], None),
    "risk_engine_exposures": (_i32, [EngineP, _P(RiskExposure), _sz, _u32, _P(_sz)], ("engine", 0)),
    "risk_exposure_merge": (_i32, [_P(RiskExposure), _P(RiskExposure), _sz, _u32], None),
    # options.h (no handle: the status is the message)
    "risk_option_black": (_i32, [_P(RiskOptionGreeks), _P(RiskOptionBatch), _sz], None),
    "risk_option_implied_vol": (_i32, [_P(_dbl), _P(ctypes.c_int32), _P(RiskOptionBatch), _P(_dbl), _sz], None),
    "risk_option_forward": (_i32, [_P(_dbl), _P(_dbl), _P(_dbl), _P(_dbl), _sz], None),
    "risk_option_forward_from_future": (_i32, [_P(_dbl), _P(_dbl), _P(_dbl), _P(_dbl), _P(_dbl), _sz], None),
    # var.h (no handle: the status is the message)
    "risk_var_historical": (_i32, [_P(RiskVarResult), _P(_dbl), _sz, _dbl, _dbl, _P(_dbl), _sz], None),
    "risk_var_pnl_merge": (_i32, [_P(_dbl), _P(_P(_dbl)), _sz, _sz], None),
    "risk_var_pnl_delta_gamma": (_i32, [_P(_dbl), _P(_dbl), _sz, _sz, _P(_dbl), _P(_dbl)], None),
    "risk_var_fhs_returns": (_i32, [_P(_dbl), _P(_dbl), _P(_dbl), _sz, _P(RiskVarFilter)], None),
    "risk_var_delta_normal": (_i32, [_P(RiskVarResult), _P(_dbl), _P(_dbl), _sz, _dbl, _dbl, _dbl], None),
    "risk_var_delta_gamma": (_i32, [_P(RiskVarResult), _P(_dbl), _P(_dbl), _P(_dbl), _sz, _dbl, _dbl, _dbl,
                                    _P(_dbl), _sz], None),
    "risk_var_norm_quantile": (_i32, [_dbl, _P(_dbl)], None),
    "risk_var_ewma_cov": (_i32, [_P(_dbl), _P(_dbl), _sz, _sz, _dbl], None),
    "risk_var_mc_scenarios": (_i32, [_P(_dbl), _P(_dbl), _sz, _sz, _P(RiskVarMcOptions), _P(_dbl), _sz], None),
    "risk_var_backtest": (_i32, [_P(RiskVarBacktestResult), _P(_dbl), _P(_dbl), _sz, _dbl], None),
    # cascade.h
    "risk_engine_cascade": (_i32, [EngineP, _P(RiskCascadeOptions), _P(RiskCascadeRound), _P(RiskCascadeRound),
                                   _P(_dbl), _P(_dbl), _sz, _P(_sz)], ("engine", 0)),
    "risk_engine_cover2": (_i32, [EngineP, _P(RiskScenarios), _P(RiskCover2), _u32], ("engine", 0)),
    "risk_engine_fund_survival": (_i32, [EngineP, _P(_u32), _P(_dbl), _sz, _sz, _P(RiskVarMcOptions), _dbl, _dbl,
                                         _u32, _P(RiskFundSurvival)], ("engine", 0)),
}

#: Names of every C function the bindings declare (a test compares them with the headers).
FUNCTION_NAMES = tuple(sorted(_FUNCTIONS))


class LibraryError(ImportError):
    """The shared library could not be found, loaded, or has the wrong major version."""


class _Lib:
    """Holds the loaded CDLL and its declared functions as attributes."""

    def __init__(self, cdll: ctypes.CDLL, path: str) -> None:
        self.cdll = cdll
        self.path = path
        for name, (restype, argtypes, source) in _FUNCTIONS.items():
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                raise LibraryError("%s: missing symbol %s" % (path, name)) from None
            fn.restype = restype
            fn.argtypes = argtypes
            if source != "plain":
                fn.errcheck = self._make_errcheck(source)  # type: ignore[arg-type]  # "plain" excluded
            setattr(self, name, fn)

    def __getattr__(self, name: str) -> Any:
        # Only reached for a name that __init__ did not declare; tells type checkers that the
        # declared C functions are attributes.
        raise AttributeError("librisk: %s is not a declared C function" % name)

    def _make_errcheck(self, source: tuple[str, int] | None) -> Callable[..., Any]:
        def errcheck(result: int, func: Any, args: tuple[Any, ...]) -> int:
            if result == 0:
                return result
            raise errors.from_code(result, self._message(result, source, args))
        return errcheck

    def _message(self, code: int, source: tuple[str, int] | None, args: tuple[Any, ...]) -> str:
        msg = b""
        try:
            if source is not None:
                kind, index = source
                handle = args[index] if index < len(args) else None
                if kind == "engine":
                    msg = self.risk_engine_errmsg(handle)
                elif kind == "account":
                    msg = self.risk_account_errmsg(handle)
                elif kind == "basket":
                    msg = self.risk_basket_errmsg(handle)
                elif kind == "tick":
                    msg = self.risk_tick_errmsg(handle)
                elif kind == "position":
                    if handle:
                        msg = self.risk_account_errmsg(self.risk_position_account(handle))
        except (ctypes.ArgumentError, TypeError, ValueError):
            msg = b""
        text = (msg or b"").decode("utf-8", "replace")
        if not text:
            text = self.strerror(code)
        return text

    def strerror(self, code: int) -> str:
        """risk_strerror(code) as str."""
        return (self.risk_strerror(code) or b"").decode("utf-8", "replace")

    def errname(self, code: int) -> str:
        """risk_errname(code) as str."""
        return (self.risk_errname(code) or b"").decode("utf-8", "replace")


_lock = threading.Lock()
_loaded = None


def _candidates() -> tuple[list[str], bool]:
    here = os.path.dirname(os.path.abspath(__file__))
    bundled = os.path.join(here, "_native", "librisk.so.%d" % VERSION_MAJOR)
    if os.path.exists(bundled):
        return [bundled], True
    env = os.environ.get("LIBRISK_LIBRARY")
    if env:
        # An explicit choice is the only candidate: a wrong path must not silently fall back.
        return [env], True
    build_lib = os.path.normpath(os.path.join(here, "..", "..", "..", "lib"))
    cands = [os.path.join(build_lib, "librisk.so.%d" % VERSION_MAJOR), os.path.join(build_lib, "librisk.so")]
    cands = [c for c in cands if os.path.exists(c)]
    found = ctypes.util.find_library("risk")
    if found:
        cands.append(found)
    return cands, False


def lib() -> _Lib:
    """The loaded library (loading it on first use). Raises :class:`LibraryError`."""
    global _loaded
    if _loaded is not None:
        return _loaded
    with _lock:
        if _loaded is not None:
            return _loaded
        cands, explicit = _candidates()
        if not cands:
            raise LibraryError("librisk not found: build it with `make` (lib/librisk.so.0), install it, "
                               "or set LIBRISK_LIBRARY to its path")
        problems = []
        for path in cands:
            try:
                cdll = ctypes.CDLL(path)
            except OSError as exc:
                problems.append("%s: %s" % (path, exc))
                if explicit:
                    break
                continue
            try:
                number = cdll.risk_version_number
            except AttributeError:
                problems.append("%s: not librisk (no risk_version_number)" % path)
                continue
            number.restype = ctypes.c_uint32
            number.argtypes = []
            major = number() // 10000
            if major != VERSION_MAJOR:
                raise LibraryError("%s: librisk major version %d, these bindings need %d"
                                   % (path, major, VERSION_MAJOR))
            _loaded = _Lib(cdll, path)
            return _loaded
        raise LibraryError("cannot load librisk: " + "; ".join(problems))


def library_path() -> str:
    """Path of the loaded shared library."""
    return lib().path
