"""CPU: sample counts, the thread-time model, top methods, and who owns the time.

The thread-time model is TraceEvent's (nettrace-format.md §12): per thread, in time order, the
interval between two consecutive samples is credited to the stack of the sample that STARTS it,
as CPU time when that sample was Managed and as time outside managed code otherwise; a thread's
first sample starts the clock, the last interval is never emitted. ``stack_samples`` feeds the
speedscope writer and the HTML flame graph; ``summarize_cpu`` builds the report section.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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
    time_ms: defaultdict[int, float]


def _tally(store: SampleStore, intervals: list[Interval]) -> _Tally:
    total: Counter[int] = Counter()
    managed: Counter[int] = Counter()
    for records in store.threads.values():
        for sid, kind in zip(records.stack_ids, records.kinds, strict=True):
            if kind == KIND_MANAGED:
                managed[sid] += 1
                total[sid] += 1
            elif kind == KIND_EXTERNAL:
                total[sid] += 1
    time_ms: defaultdict[int, float] = defaultdict(float)
    for iv in intervals:
        time_ms[iv.stack_id] += iv.weight_ms
    return _Tally(total, managed, time_ms)


def _leaf(frames: tuple[str, ...]) -> str:
    return frames[-1] if frames else NO_STACK


def _method_tables(
    tally: _Tally, frames: list[tuple[str, ...]], total: int, top: int
) -> tuple[list[MethodStat], list[MethodStat], list[MethodStat]]:
    self_n: Counter[str] = Counter()
    self_m: Counter[str] = Counter()
    self_t: defaultdict[str, float] = defaultdict(float)
    incl_n: Counter[str] = Counter()
    incl_m: Counter[str] = Counter()
    incl_t: defaultdict[str, float] = defaultdict(float)
    for sid in set(tally.total) | set(tally.time_ms):
        stack = frames[sid]
        leaf = _leaf(stack)
        self_n[leaf] += tally.total[sid]
        self_m[leaf] += tally.managed[sid]
        self_t[leaf] += tally.time_ms[sid]
        for name in set(stack) or {NO_STACK}:
            incl_n[name] += tally.total[sid]
            incl_m[name] += tally.managed[sid]
            incl_t[name] += tally.time_ms[sid]

    def table(
        counts: Counter[str], managed: Counter[str], times: defaultdict[str, float]
    ) -> list[MethodStat]:
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        return [
            MethodStat(
                name=name,
                percent=round(100.0 * n / total, 2) if total else 0.0,
                samples=n,
                managed_samples=managed[name],
                time_ms=round(times[name], 3),
            )
            for name, n in ranked
            if n > 0
        ]

    managed_total = sum(self_m.values())
    by_managed = table(self_m, self_m, self_t)
    for stat in by_managed:
        stat.percent = round(100.0 * stat.samples / managed_total, 2) if managed_total else 0.0
    return table(self_n, self_m, self_t), by_managed, table(incl_n, incl_m, incl_t)


def _shares(
    tally: _Tally, frames: list[tuple[str, ...]], prefix: str
) -> tuple[CodeShare, CodeShare, float]:
    everything: Counter[str] = Counter()
    managed: Counter[str] = Counter()
    with_target = 0
    for sid, n in tally.total.items():
        stack = frames[sid]
        category = classify_frame(_leaf(stack), prefix)
        external = n - tally.managed[sid]
        everything["native_external"] += external
        everything[category] += tally.managed[sid]
        managed[category] += tally.managed[sid]
        if prefix and any(frame_method(f).startswith(prefix) for f in stack):
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
    intervals = list(thread_time_intervals(store, sync_qpc, frequency))
    tally = _tally(store, intervals)
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
    return section, _thread_stats(store, intervals)


def _has_samples(kinds: Iterable[int]) -> bool:
    return any(k in (KIND_MANAGED, KIND_EXTERNAL) for k in kinds)


def _thread_stats(store: SampleStore, intervals: list[Interval]) -> list[ThreadStat]:
    cpu: defaultdict[int, float] = defaultdict(float)
    blocked: defaultdict[int, float] = defaultdict(float)
    for iv in intervals:
        (cpu if iv.managed else blocked)[iv.thread_id] += iv.weight_ms
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
                    cpu_ms=round(cpu[tid], 3),
                    blocked_ms=round(blocked[tid], 3),
                )
            )
    return sorted(stats, key=lambda s: -s.samples)
