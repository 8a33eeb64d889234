"""CPU: sample counts, the thread-time model, top methods, and who owns the time.

The thread-time model is TraceEvent's (nettrace-format.md §12): per thread, in time order, the
interval between two consecutive samples is credited to the stack of the sample that STARTS it,
as CPU time when that sample was Managed and as time outside managed code otherwise; a thread's
first sample starts the clock, the last interval is never emitted. ``stack_samples`` feeds the
speedscope writer and the HTML flame graph; ``summarize_cpu`` builds the report section.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from functools import reduce
from itertools import chain, compress, islice, repeat
from operator import add, mul, sub
from pathlib import Path

from tools.analysis.model import StackSample
from tools.analysis.results import CodeShare, CpuSection, MethodStat, ThreadStat
from tools.analysis.source import ALLOC_KEYS, SAMPLE_KEYS, SYMBOL_KEYS, TraceScan
from tools.analysis.stacks import (
    KIND_ALLOC,
    KIND_EXTERNAL,
    KIND_MANAGED,
    SampleStore,
)
from tools.nettrace.symbols import UNKNOWN_FRAME, frame_method

RUNTIME_PREFIXES = ("System.", "Microsoft.", "Internal.", "Interop", "Windows.", "ILStubClass")
NO_STACK = "(no managed frames)"


@dataclass(frozen=True, slots=True)
class Interval:
    """One credited interval of one thread (times in ms from the session start)."""

    thread_id: int
    start_ms: float
    weight_ms: float
    stack_id: int
    managed: bool


def thread_time_intervals(
    store: SampleStore, sync_qpc: int, frequency: int, *, include_alloc: bool = False
) -> Iterator[Interval]:
    """TraceEvent's intervals; allocation ticks count as on-CPU samples when asked."""
    scale = 1000.0 / frequency
    for tid, records in store.threads.items():
        prev_t, prev_sid, prev_cpu = 0.0, 0, False
        started = False
        for ts, sid, kind in records.in_time_order():
            if kind == KIND_ALLOC and not include_alloc:
                continue
            t = (ts - sync_qpc) * scale
            if started and prev_t > 0:
                yield Interval(tid, prev_t, t - prev_t, prev_sid, prev_cpu)
            prev_t, prev_sid, prev_cpu = t, sid, kind in (KIND_MANAGED, KIND_ALLOC)
            started = True


def stack_samples(path: str | Path) -> Iterator[StackSample]:
    """Thread-time intervals of a trace as ``StackSample`` records (TraceEvent's rule).

    Each record is credited to the sample that starts its interval, weighs milliseconds, and
    names frames root first as ``module!Namespace.Type.Method(args)``. Allocation ticks take
    part as on-CPU samples, as in ``dotnet-trace convert``.

    Raises:
        TraceFormatError: the file is not a readable trace.
    """
    scan = TraceScan.run(
        Path(path), SAMPLE_KEYS | ALLOC_KEYS | SYMBOL_KEYS, with_alloc_samples=True
    )
    frames = scan.stacks.resolve(scan.symbols)
    info = scan.info
    for iv in thread_time_intervals(
        scan.samples, info.sync_time_qpc, info.qpc_frequency, include_alloc=True
    ):
        yield StackSample(iv.thread_id, iv.start_ms, iv.weight_ms, frames[iv.stack_id], iv.managed)


def classify_frame(frame: str, target_prefix: str) -> str:
    """``target``, ``runtime``, ``other_managed`` or ``unresolved`` for one frame name."""
    if frame in (UNKNOWN_FRAME, NO_STACK):
        return "unresolved"
    method = frame_method(frame)
    if target_prefix and method.startswith(target_prefix):
        return "target"
    module = frame.split("!", 1)[0] if "!" in frame else ""
    if method.startswith(RUNTIME_PREFIXES) or module.startswith(("System.", "Microsoft.")):
        return "runtime"
    return "other_managed"


@dataclass
class _Tally:
    """Per-stack-id sample counts and thread time, the basis of every CPU table."""

    total: Counter[int]
    managed: Counter[int]
    time_ms: dict[int, float]


def _kind_mask(*kinds: int) -> bytes:
    """A ``bytes.translate`` table mapping the given kinds to 1 and every other byte to 0."""
    return bytes(1 if i in kinds else 0 for i in range(256))


_IS_SAMPLE = _kind_mask(KIND_MANAGED, KIND_EXTERNAL)
_IS_MANAGED = _kind_mask(KIND_MANAGED)
_IS_NOT_MANAGED = bytes(0 if i == KIND_MANAGED else 1 for i in range(256))
_IS_NOT_ALLOC = bytes(0 if i == KIND_ALLOC else 1 for i in range(256))


def _tally(store: SampleStore, time_ms: dict[int, float]) -> _Tally:
    # One C-level Counter pass over every thread's compressed ids; keys come first-seen.
    threads = [(r.stack_ids, r.kinds.tobytes()) for r in store.threads.values()]
    total = Counter(chain.from_iterable(compress(s, k.translate(_IS_SAMPLE)) for s, k in threads))
    managed = Counter(
        chain.from_iterable(compress(s, k.translate(_IS_MANAGED)) for s, k in threads)
    )
    return _Tally(total, managed, time_ms)


def _thread_time(
    store: SampleStore, sync_qpc: int, frequency: int
) -> tuple[dict[int, float], dict[int, tuple[float, float]]]:
    """Thread time per stack id and (cpu, blocked) ms per thread, without interval objects.

    Sums run in the same order as the interval model (sample by sample, in time order), so
    the floats equal ``thread_time_intervals``'s to the last bit.
    """
    # A list indexed by stack id is the cheapest accumulator; ids are small and dense.
    size = 1 + max((max(r.stack_ids, default=0) for r in store.threads.values()), default=0)
    acc = [0.0] * size
    credited: set[int] = set()
    by_thread: dict[int, tuple[float, float]] = {}
    scale = 1000.0 / frequency
    for tid, records in store.threads.items():
        stamps, sids, kinds = records.time_ordered()
        if KIND_ALLOC in kinds:
            keep = kinds.translate(_IS_NOT_ALLOC)
            stamps, sids, kinds = (
                list(compress(stamps, keep)),
                list(compress(sids, keep)),
                bytes(compress(kinds, keep)),
            )
        times = list(map(mul, map(sub, stamps, repeat(sync_qpc)), repeat(scale)))
        first = bisect_right(times, 0.0)  # intervals start at samples after the session start
        weights = list(map(sub, islice(times, first + 1, None), islice(times, first, None)))
        end = first + len(weights)
        starts = sids[first:end]
        for sid, weight in zip(starts, weights, strict=True):
            acc[sid] += weight
        credited.update(starts)
        kinds = kinds[first:end]
        cpu = reduce(add, compress(weights, kinds.translate(_IS_MANAGED)), 0.0)
        blocked = reduce(add, compress(weights, kinds.translate(_IS_NOT_MANAGED)), 0.0)
        by_thread[tid] = (cpu, blocked)
    return {sid: acc[sid] for sid in credited}, by_thread


def _leaf(frames: tuple[str, ...]) -> str:
    return frames[-1] if frames else NO_STACK


def _method_tables(
    tally: _Tally, frames: list[tuple[str, ...]], total: int, top: int
) -> tuple[list[MethodStat], list[MethodStat], list[MethodStat]]:
    # [samples, managed samples, thread ms] per frame name, for the leaf and for any position
    self_acc: dict[str, list[float]] = {}
    incl_acc: dict[str, list[float]] = {}
    total_of, managed_of, time_of = tally.total.get, tally.managed.get, tally.time_ms.get
    for sid in set(tally.total) | set(tally.time_ms):
        stack = frames[sid]
        values = (total_of(sid, 0), managed_of(sid, 0), time_of(sid, 0.0))
        _accumulate(self_acc, (_leaf(stack),), values)
        _accumulate(incl_acc, dict.fromkeys(stack) or (NO_STACK,), values)  # each name once
    managed_total = sum(e[1] for e in self_acc.values())
    return (
        _table(self_acc, 0, total, top),
        _table(self_acc, 1, managed_total, top),
        _table(incl_acc, 0, total, top),
    )


def _accumulate(
    acc: dict[str, list[float]], names: Iterable[str], values: tuple[int, int, float]
) -> None:
    n, managed, ms = values
    get = acc.get
    for name in names:
        entry = get(name)
        if entry is None:
            acc[name] = [n, managed, ms]
        else:
            entry[0] += n
            entry[1] += managed
            entry[2] += ms


def _table(acc: dict[str, list[float]], by: int, whole: float, top: int) -> list[MethodStat]:
    """The ``top`` names by column ``by`` (0 samples, 1 managed samples)."""
    ranked = sorted(acc.items(), key=lambda kv: (-kv[1][by], kv[0]))[:top]
    return [
        MethodStat(
            name=name,
            percent=_pct(e[by], whole),
            samples=int(e[by]),
            managed_samples=int(e[1]),
            time_ms=round(e[2], 3),
        )
        for name, e in ranked
        if e[by] > 0
    ]


def _shares(
    tally: _Tally, frames: list[tuple[str, ...]], prefix: str
) -> tuple[CodeShare, CodeShare, float]:
    everything: Counter[str] = Counter()
    managed: Counter[str] = Counter()
    with_target = 0
    target_cache: dict[str, bool] = {}

    def is_target(frame: str) -> bool:
        hit = target_cache.get(frame)
        if hit is None:
            hit = target_cache[frame] = frame_method(frame).startswith(prefix)
        return hit

    for sid, n in tally.total.items():
        stack = frames[sid]
        category = classify_frame(_leaf(stack), prefix)
        external = n - tally.managed[sid]
        everything["native_external"] += external
        everything[category] += tally.managed[sid]
        managed[category] += tally.managed[sid]
        if prefix and any(is_target(f) for f in stack):
            with_target += n
    total = sum(tally.total.values())
    return _share(everything), _share(managed), _pct(with_target, total)


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def _share(counts: Counter[str]) -> CodeShare:
    whole = sum(counts.values())
    return CodeShare(**{key: _pct(value, whole) for key, value in counts.items()})


def summarize_cpu(
    store: SampleStore,
    frames: list[tuple[str, ...]],
    sync_qpc: int,
    frequency: int,
    *,
    top: int = 20,
    target_prefix: str = "Dekaf.",
) -> tuple[CpuSection, list[ThreadStat]]:
    """The CPU section and per-thread statistics from the collected ThreadSamples."""
    by_stack, by_thread = _thread_time(store, sync_qpc, frequency)
    tally = _tally(store, by_stack)
    total = sum(tally.total.values())
    managed_total = sum(tally.managed.values())
    top_self, top_managed, top_incl = _method_tables(tally, frames, total, top)
    share, managed_share, target_incl = _shares(tally, frames, target_prefix)
    section = CpuSection(
        collected=total > 0,
        samples=total,
        managed_samples=managed_total,
        external_samples=total - managed_total,
        sampled_threads=sum(1 for r in store.threads.values() if _has_samples(r.kinds)),
        top_self=top_self,
        top_self_managed=top_managed,
        top_inclusive=top_incl,
        share=share,
        managed_share=managed_share,
        target_prefix=target_prefix,
        target_inclusive_percent=target_incl,
    )
    return section, _thread_stats(store, by_thread)


def _has_samples(kinds: Container[int]) -> bool:
    return KIND_MANAGED in kinds or KIND_EXTERNAL in kinds


def _thread_stats(store: SampleStore, times: dict[int, tuple[float, float]]) -> list[ThreadStat]:
    stats = []
    for tid, records in store.threads.items():
        kinds = Counter(records.kinds)
        n = kinds[KIND_MANAGED] + kinds[KIND_EXTERNAL]
        if n:
            stats.append(
                ThreadStat(
                    thread_id=tid,
                    samples=n,
                    managed_samples=kinds[KIND_MANAGED],
                    external_samples=kinds[KIND_EXTERNAL],
                    cpu_ms=round(times.get(tid, (0.0, 0.0))[0], 3),
                    blocked_ms=round(times.get(tid, (0.0, 0.0))[1], 3),
                )
            )
    return sorted(stats, key=lambda s: -s.samples)
