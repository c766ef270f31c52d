# SPDX-License-Identifier: Apache-2.0
"""Stress tests and book VaR of a book sharded over the workers of a Dask cluster (docs/stress.md 4.1).

An exchange shards its accounts over engines. Here each shard is a source a worker can load
into its own engine: a book document (a dict, shipped to the worker) or the path of a book
or snapshot file the worker can read. Every worker runs ``risk_engine_stress`` and
``risk_engine_exposures`` on its engine; the results are merged pairwise, in shard order, on
the cluster, by ``risk_stress_merge`` and ``risk_exposure_merge`` (exact integer sums of
quanta, so the merged book result is the one-engine result bit for bit); the per-account
results (and so the liquidation sets) concatenate in shard order. Nothing here distributes
work by itself: Dask futures (``Client.submit``) carry every call, so the same code runs on a
``LocalCluster`` and on any scheduler address.

Needs Debian's ``python3-distributed`` (``import distributed``); the rest of the bindings do not.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence, TextIO, Union

from . import ffi
from .stress import ScenarioSet, StressResult

__all__ = ["ShardError", "ShardResult", "split_book", "run_shard", "merge_shards", "stress_shards",
           "local_client", "stress_document", "available"]

#: A shard: a book document, or the path of a book or snapshot file on the workers.
ShardSource = Union[Mapping[str, Any], str]


class ShardError(Exception):
    """A shard that could not be loaded or stressed: one message naming the shard (picklable,
    so that it crosses the cluster)."""


def available() -> bool:
    """True when ``distributed`` can be imported."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def _require() -> Any:
    try:
        import distributed
    except ImportError:
        raise ShardError("--shards: Dask's distributed is not installed (Debian: apt-get install "
                         "python3-distributed; run with /usr/bin/python3)") from None
    return distributed


@dataclass
class ShardResult:
    """One shard's (or several merged shards') results, in plain picklable form: the
    ``risk_stress_scenario`` and ``risk_exposure`` arrays as bytes, and the per-account results
    (lists, in shard order then account creation order). ``base_state`` is each account's
    state before the scenarios."""
    n_scenarios: int
    stress_raw: bytes
    exposures_raw: bytes
    ids: list[int] = field(default_factory=list)
    pnl: list[list[float]] | None = None
    equity: list[list[float]] | None = None
    health_factor: list[list[float]] | None = None
    state: list[list[str]] | None = None
    base_state: list[str] = field(default_factory=list)
    shards: int = 1

    def stress_array(self) -> ctypes.Array[ffi.RiskStressScenario]:
        """A fresh copy of the book results as the C array."""
        return (ffi.RiskStressScenario * self.n_scenarios).from_buffer_copy(self.stress_raw)

    def exposures_array(self) -> ctypes.Array[ffi.RiskExposure]:
        """A fresh copy of the exposures as the C array."""
        n = len(self.exposures_raw) // ctypes.sizeof(ffi.RiskExposure)
        return (ffi.RiskExposure * n).from_buffer_copy(self.exposures_raw)

    def stress_result(self) -> StressResult:
        """The results as a :class:`librisk.stress.StressResult`."""
        return StressResult(self.stress_array(), self.n_scenarios, list(self.ids), self.pnl, self.equity,
                            self.health_factor, self.state)

    @property
    def book(self) -> list[dict[str, Any]]:
        """Per scenario: pnl, loss, deficit and the counts (as StressResult.book)."""
        return self.stress_result().book

    def book_pnl(self) -> list[float]:
        """The book's P&L vector over the scenarios (exact sums: the VaR input of the book)."""
        raw = self.stress_array()
        return [raw[s].pnl for s in range(self.n_scenarios)]


def split_book(doc: Mapping[str, Any], k: int) -> list[dict[str, Any]]:
    """The book split into ``k`` shards of contiguous accounts (sizes differing by at most one,
    the first ones larger), each with the whole registry and market data of the book."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ShardError("--shards: need a whole number >= 1, got %r" % (k,))
    accounts = doc.get("accounts")
    if not isinstance(accounts, list):
        raise ShardError("accounts: must be an array")
    n = len(accounts)
    out = []
    for i in range(k):
        shard = {key: v for key, v in doc.items() if key != "accounts"}
        shard["accounts"] = accounts[n * i // k:n * (i + 1) // k]
        out.append(shard)
    return out


def _load(source: ShardSource, name: str) -> Any:
    from . import book as _book, bulkbook, snapshot
    try:
        if isinstance(source, str):
            return snapshot.load_path(source)
        return bulkbook.load_bytes(name, json.dumps(source, allow_nan=False).encode("utf-8"))
    except _book.BookError as exc:
        raise ShardError("%s: %s" % (name, exc)) from None
    except ValueError as exc:  # a non-finite number in a document
        raise ShardError("%s: %s" % (name, exc)) from None


def run_shard(source: ShardSource, scenarios: ScenarioSet, top_k: int = 5, per_account: bool = True,
              threads: int = 1, name: str = "shard") -> ShardResult:
    """Runs on a worker: loads the shard into a fresh engine, stresses it (``threads`` worker
    threads), takes its exposures (``top_k``) and the accounts' states before the scenarios.
    ShardError on bad input."""
    from . import errors
    from .stress import exposures, stress
    loaded = _load(source, name)
    with loaded:
        eng = loaded.engine
        try:
            res = stress(eng, scenarios, threads=threads, per_account=per_account)
            ex = exposures(eng, top_k, raw=True)
            base = [a.state for a in eng.evaluate_all(threads=threads)] if per_account else []
        except errors.RiskError as exc:
            raise ShardError("%s: scenarios: %s" % (name, exc)) from None
        return ShardResult(res.n_scenarios, bytes(res.raw), bytes(ex), res.ids, res.pnl, res.equity,
                           res.health_factor, res.state, base)


def merge_shards(left: ShardResult, right: ShardResult, top_k: int = 5) -> ShardResult:
    """``right`` merged after ``left`` (neither changed): risk_stress_merge and
    risk_exposure_merge of the book results, per-account results concatenated."""
    from .stress import merge_exposures
    a = left.stress_result()
    a.merge(right.stress_result())
    ex = merge_exposures(left.exposures_array(), right.exposures_array(), top_k)

    def cat(x: list[Any] | None, y: list[Any] | None) -> list[Any] | None:
        return None if x is None or y is None else x + y
    return ShardResult(left.n_scenarios, bytes(a.raw), bytes(ex), left.ids + right.ids, cat(left.pnl, right.pnl),
                       cat(left.equity, right.equity), cat(left.health_factor, right.health_factor),
                       cat(left.state, right.state), left.base_state + right.base_state, left.shards + right.shards)


def local_client(n_workers: int = 2) -> Any:
    """A ``distributed.Client`` on a new in-process ``LocalCluster`` (threads, 1 per worker,
    no dashboard); close it (and its ``.cluster``) when done."""
    distributed = _require()
    cluster = distributed.LocalCluster(n_workers=max(1, n_workers), threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    return distributed.Client(cluster)


def stress_shards(client: Any, shards: Sequence[ShardSource], scenarios: ScenarioSet, top_k: int = 5,
                  per_account: bool = True, threads: int = 1,
                  progress: Callable[[int, int, str], None] | None = None) -> ShardResult:
    """Stresses every shard on the cluster of ``client`` (one task per shard) and merges the
    results there, pairwise in shard order (a binary tree of merge tasks); returns the merged
    :class:`ShardResult`. ``progress(done, total, label)`` is called as shards finish."""
    distributed = _require()
    if not shards:
        raise ShardError("--shards: no shard")
    futures = [client.submit(run_shard, src, scenarios, top_k, per_account, threads, "shard %d" % i, pure=False)
               for i, src in enumerate(shards)]
    level = list(futures)
    while len(level) > 1:
        nxt = [client.submit(merge_shards, level[i], level[i + 1], top_k, pure=False)
               for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    total = len(futures)
    if progress is not None:
        done = 0
        progress(0, total, "shards")
        for f in distributed.as_completed(futures):
            f.result()  # raises the shard's error, if any
            done += 1
            progress(done, total, "done" if done == total else "shards")
    result: ShardResult = level[0].result()
    return result


def stress_document(path: str, args: argparse.Namespace, stderr: TextIO = sys.stderr) -> dict[str, Any]:
    """The ``stress`` command with ``--shards K``: the book file split into K shards of
    contiguous accounts, stressed on the cluster at ``--scheduler`` (default a LocalCluster of
    min(K, 2) workers), merged; the same ``librisk-stress/1`` document as one engine gives.
    ShardError, ScenarioError or BookError on bad input."""
    from . import book as _book, stress as _stress
    from .progress import Progress
    _require()
    _stress.check_top_k(args)
    raw = _book.read_bytes(path)
    if raw.startswith(ffi.SNAPSHOT_MAGIC):
        raise ShardError("--shards: %s is a snapshot; give a JSON book (or shard snapshot files with "
                         "librisk.dask.stress_shards)" % path)
    doc = _book.read(path, raw)
    if not isinstance(doc, dict):
        raise _book.BookError("book", "must be a JSON object")
    shards = split_book(doc, args.shards)
    registry = dict(shards[0])
    registry["accounts"] = []
    with _book.load(registry) as reg:  # the registry alone: scenarios, grid and asset names
        sset = _stress.build_scenarios(reg.engine, args)
        client = Client(args.scheduler, args.shards)
        try:
            merged = stress_shards(client.client, shards, sset, args.top_k, True, args.threads,
                                   Progress(stderr, "stress", quiet=args.quiet))
        finally:
            client.close()
        base = dict(zip(merged.ids, merged.base_state))
        return _stress.document(reg.engine, reg.spec, sset, merged.stress_result(), base,
                                merged.exposures_array(), args)


class Client:
    """A ``distributed.Client`` to ``address``, or on a new LocalCluster of min(shards, 2)
    workers when ``address`` is None; :meth:`close` closes what it opened."""

    def __init__(self, address: str | None, shards: int) -> None:
        distributed = _require()
        if address:
            try:
                self.client = distributed.Client(address, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise ShardError("--scheduler: cannot reach %s: %s" % (address, exc)) from None
            self.own = False
        else:
            self.client = local_client(min(max(shards, 1), 2))
            self.own = True

    def close(self) -> None:
        cluster = getattr(self.client, "cluster", None) if self.own else None
        self.client.close()
        if cluster is not None:
            cluster.close()
