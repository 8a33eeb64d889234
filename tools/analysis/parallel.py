"""The analysis pass on several cores: consecutive parts of a trace scanned apart, then merged.

A plain NetTrace V4/V5 file splits at sequence points (where the runtime has flushed every
thread and the stack ids restart), so each part decodes on its own given the metadata defined
before it. The first part is scanned here while worker processes scan the others; each worker
returns what its pass kept: its stacks in first-use order, the CPU tally, the allocation rows,
the counts, and the few events meant for the other analyses (contention, GC, symbols), each
with its place among the stacks. Merging in file order interns the stacks and replays the
events in the order a single pass meets them, so the analysis is the same as one pass's.
"""

from __future__ import annotations

import os
import threading
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from operator import itemgetter
from pathlib import Path

from tools.analysis.allocations import AllocationCollector
from tools.analysis.awaits import AwaitCollector
from tools.analysis.contention import ContentionCollector
from tools.analysis.cpu_tally import CpuTally
from tools.analysis.gc import GCCollector
from tools.analysis.source import (
    SAMPLE_KEYS,
    SYMBOL_KEYS,
    AnyHandler,
    Key,
    Local,
    Progress,
    Rows,
    TraceScan,
)
from tools.analysis.threadpool import ThreadPoolCollector
from tools.nettrace.model import Event, ReadStats, TraceFormatError
from tools.nettrace.payloads import RUNTIME, TPL
from tools.nettrace.reader import Window, block_layout

PARALLEL_FROM_BYTES = 16 << 20
"""Below this a trace reads faster in one process than the workers take to start."""
MIN_PART_BYTES = 4 << 20
MAX_PART_BYTES = 16 << 20
"""Parts stay this small whatever the trace's size, so a worker's memory (and what it sends
back) stays flat as traces grow."""


class Collectors:
    """The analyses that need more than samples, fed by the pass through handlers."""

    def __init__(self, scan: TraceScan) -> None:
        info = scan.info
        self.allocs = AllocationCollector(info.pointer_size)
        self.locks = ContentionCollector(scan.stacks, info.pointer_size, info.qpc_frequency)
        self.gcs = GCCollector(info.pointer_size)
        self.awaits = AwaitCollector(scan.stacks, info.pointer_size)
        self.pool = ThreadPoolCollector(info.pointer_size)

    def handlers(self) -> dict[Key, AnyHandler]:
        """(provider, event id) → callback."""
        return {
            (RUNTIME, 10): Rows(self.allocs.on_tick),
            (RUNTIME, 81): self.locks.on_contention_start,
            (RUNTIME, 91): self.locks.on_contention_stop,
            (RUNTIME, 301): self.locks.on_wait_start,
            (RUNTIME, 302): self.locks.on_wait_stop,
            (RUNTIME, 1): self.gcs.on_start,
            (RUNTIME, 2): self.gcs.on_end,
            (RUNTIME, 9): self.gcs.on_suspend,
            (RUNTIME, 3): self.gcs.on_restart,
            (RUNTIME, 50): self.pool.on_worker_start,
            (RUNTIME, 55): self.pool.on_adjustment,
            (TPL, 10): Local(self.awaits.on_begin),
            (TPL, 11): Local(self.awaits.on_end),
        }


@dataclass
class Part:
    """What the scan of one later part kept (it crosses the process boundary)."""

    stacks: list[tuple[int, ...]]
    deferred: list[tuple[int, Event]]
    allocations: AllocationCollector
    awaits: AwaitCollector
    cpu: CpuTally | None
    counts: Counter[Key]
    first_ts: int | None
    last_ts: int | None
    stats: ReadStats
    error: str | None


def default_workers(path: Path) -> int:
    """Processes worth using for ``path``: one per core for big traces, else one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        big = path.stat().st_size >= PARALLEL_FROM_BYTES
    except OSError:
        return 1  # the read itself reports the problem
    return max(1, cores or 1) if big else 1


def plan(path: Path, workers: int) -> list[Window]:
    """Windows of about equal size cut at sequence points, at least one per worker and none
    over ``MAX_PART_BYTES`` where the sequence points allow ([] when the file cannot split)."""
    if workers < 2:
        return []
    try:
        blocks = block_layout(path)
    except (TraceFormatError, OSError):
        return []
    if not blocks:
        return []
    size = blocks[-1].end
    parts = max(workers, -(-size // MAX_PART_BYTES))
    parts = min(parts, size // max(1, MIN_PART_BYTES))
    points = [b.end for b in blocks if b.kind == "SPBlock" and b is not blocks[-1]]
    cuts: list[int] = []
    for k in range(1, parts):
        best = _nearest(points, size * k // parts)
        if best is not None and (not cuts or best > cuts[-1]):
            cuts.append(best)
    if not cuts:
        return []
    metadata = [b.start for b in blocks if b.kind == "MetadataBlock"]
    starts: list[int | None] = [None, *cuts]
    stops: list[int | None] = [*cuts, None]
    return [
        Window(start, stop, tuple(m for m in metadata if start is not None and m < start))
        for start, stop in zip(starts, stops, strict=True)
    ]


def _nearest(points: list[int], target: int) -> int | None:
    """The point nearest ``target`` in a sorted list (None when empty)."""
    i = bisect_left(points, target)
    near = points[max(0, i - 1) : i + 1]
    return min(near, key=lambda point: abs(point - target)) if near else None


def scan_part(path: str, window: Window) -> Part:
    """Scans one later part of the trace (run in a worker process)."""
    try:
        scan, collectors = scan_window(Path(path), window, defer_events=True)
    except TraceFormatError as exc:  # corrupt at the part's start: the parts before stand
        empty = AllocationCollector()
        awaits = AwaitCollector(None, 8)
        return Part([()], [], empty, awaits, None, Counter(), None, None, ReadStats(), str(exc))
    return Part(
        scan.stacks.stacks,
        scan.deferred,
        collectors.allocs,
        collectors.awaits,
        scan.cpu,
        scan.counts,
        scan.first_ts,
        scan.last_ts,
        scan.stats,
        scan.error,
    )


def merge(scan: TraceScan, collectors: Collectors, part: Part) -> None:
    """Adds a later part to the scan of the parts before it, as one pass would have."""
    intern, stacks = scan.stacks.intern, part.stacks
    ids = [0] * len(stacks)
    done = 1  # stack 0 is the empty stack everywhere
    # Events between two new stacks are replayed together (the part's stacks are interned
    # first, in between, where the single pass met them).
    for interned, run in groupby(part.deferred, key=itemgetter(0)):
        for i in range(done, interned):
            ids[i] = intern(stacks[i])
        done = max(done, interned)
        scan.replay(ev for _, ev in run)
    for i in range(done, len(stacks)):
        ids[i] = intern(stacks[i])
    collectors.allocs.merge(part.allocations, ids)
    collectors.awaits.merge(part.awaits, ids)
    if scan.cpu is not None and part.cpu is not None:
        scan.cpu.merge(part.cpu, ids)
    scan.counts.update(part.counts)
    if part.first_ts is not None and part.last_ts is not None:
        scan.first_ts = (
            part.first_ts if scan.first_ts is None else min(scan.first_ts, part.first_ts)
        )
        scan.last_ts = part.last_ts if scan.last_ts is None else max(scan.last_ts, part.last_ts)
    _add_stats(scan.stats, part.stats)
    scan.error = part.error


def _add_stats(stats: ReadStats, later: ReadStats) -> None:
    stats.events += later.events
    stats.stacks += later.stacks
    for kind, n in later.blocks.items():
        if kind != "Trace":  # every part reads the header
            stats.blocks[kind] = stats.blocks.get(kind, 0) + n
    if later.bytes_read:
        stats.bytes_read = later.bytes_read
    stats.truncated, stats.truncated_at = later.truncated, later.truncated_at


def scan_in_parts(
    path: Path, windows: list[Window], workers: int, progress: Progress | None
) -> tuple[TraceScan, Collectors]:
    """The first window scanned here, the others by ``workers`` processes, merged in order.

    At most one part per worker is queued or waiting to be merged, so memory stays bounded.
    """
    later = deque(windows[1:])
    queued: deque[tuple[Window, Future[Part] | None]] = deque()
    with _pool(workers) as pool:

        def fill() -> None:
            while later and len(queued) < workers:
                window = later.popleft()
                queued.append((window, _submit(pool, path, window)))

        fill()
        scan, collectors = scan_window(path, windows[0], progress)
        while queued and scan.error is None:  # one pass stops at the first corrupt record
            window, future = queued.popleft()
            merge(scan, collectors, _result(future, path, window))
            fill()
            if progress is not None:
                progress(scan.stats.bytes_read)
    return scan, collectors


def scan_window(
    path: Path,
    window: Window | None,
    progress: Progress | None = None,
    *,
    defer_events: bool = False,
) -> tuple[TraceScan, Collectors]:
    """Scans one window (None: the whole trace) with every analysis attached."""
    built: list[Collectors] = []

    def setup(scan: TraceScan) -> dict[Key, AnyHandler]:
        built.append(Collectors(scan))
        return built[0].handlers()

    scan = TraceScan.run(
        path,
        SAMPLE_KEYS | SYMBOL_KEYS,
        setup=setup,
        count_all=True,
        progress=progress,
        fold_samples=True,
        window=window,
        defer_events=defer_events,
    )
    return scan, built[0]


@contextmanager
def _pool(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    # Where processes cannot start, the parts are scanned here, one by one.
    try:
        pool = ProcessPoolExecutor(workers, mp_context=_start_method())
    except (OSError, NotImplementedError, ImportError):
        yield None
        return
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_method() -> BaseContext:
    # Forking a single-threaded process is safe and skips the imports; with other threads
    # about (an MCP server, a progress ticker) only a fresh interpreter is.
    if "fork" in get_all_start_methods() and threading.active_count() == 1:
        return get_context("fork")
    return get_context("spawn")


def _submit(pool: ProcessPoolExecutor | None, path: Path, window: Window) -> Future[Part] | None:
    if pool is None:
        return None
    try:
        return pool.submit(scan_part, str(path), window)
    except (OSError, RuntimeError, BrokenProcessPool):
        return None


def _result(future: Future[Part] | None, path: Path, window: Window) -> Part:
    if future is not None:
        try:
            return future.result()
        except (OSError, BrokenProcessPool):
            pass  # a worker died (killed, out of memory): scan its part here instead
    return scan_part(str(path), window)
