"""CPU: sample counts, the thread-time model, top methods, and who owns the time.

The thread-time model is TraceEvent's (nettrace-format.md §12): per thread, in time order, the
interval between two consecutive samples is credited to the stack of the sample that STARTS it,
as CPU time when that sample was Managed and as time outside managed code otherwise; a thread's
first sample starts the clock, the last interval is never emitted. ``stack_samples`` feeds the
speedscope writer and the HTML flame graph; ``summarize_cpu`` builds the report section.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from tools.analysis.cpu_tally import CpuTally
from tools.analysis.model import StackSample
from tools.analysis.results import CodeShare, CpuSection, LockSpin, MethodStat, ThreadStat
from tools.analysis.source import ALLOC_KEYS, SAMPLE_KEYS, SYMBOL_KEYS, TraceScan
from tools.analysis.stacks import (
    KIND_ALLOC,
    KIND_MANAGED,
    SampleStore,
)
from tools.nettrace.symbols import UNKNOWN_FRAME, frame_method, method_test

CALLERS_KEPT = 60
CALLEES_KEPT = 24
"""Callers (target methods) and callees per caller kept in ``CpuSection.callees``."""
_BUILDERS = (
    "System.Runtime.CompilerServices.AsyncMethodBuilderCore",
    "System.Runtime.CompilerServices.AsyncTaskMethodBuilder",
    "System.Runtime.CompilerServices.AsyncValueTaskMethodBuilder",
    "System.Runtime.CompilerServices.AsyncVoidMethodBuilder",
    "System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder",
)
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
    return samples_of(sample_scan(path))


def sample_scan(path: str | Path) -> TraceScan:
    """One pass keeping every CPU sample and allocation tick (``stack_samples``, folded stacks).

    Raises:
        TraceFormatError: the file is not a readable trace.
    """
    return TraceScan.run(
        Path(path), SAMPLE_KEYS | ALLOC_KEYS | SYMBOL_KEYS, with_alloc_samples=True
    )


MAX_EVENTED_EVENTS = 2_000_000
"""The most open/close events a TraceEvent-shaped speedscope file gets (~50 MB of JSON, some
seconds to write): beyond it the evented form grows to gigabytes (every sample reopens most of
its frames), which is the very thing a tool must never do to its user's disk."""


def evented_events(scan: TraceScan) -> int:
    """An upper bound of the open/close events the speedscope file of a :func:`sample_scan`
    would hold (two per frame of every sample, its pseudo leaf included)."""
    uses = Counter(chain.from_iterable(r.stack_ids for r in scan.samples.threads.values()))
    stacks = scan.stacks.stacks
    return 2 * sum(n * (len(stacks[sid]) + 1) for sid, n in uses.items())


def samples_of(scan: TraceScan) -> Iterator[StackSample]:
    """:func:`stack_samples` of a :func:`sample_scan`."""
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
    tally: _Tally, frames: list[tuple[str, ...]], prefix: str, is_target: Callable[[str], bool]
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
        if prefix and any(is_target(f) for f in stack):
            with_target += n
    total = sum(tally.total.values())
    return _share(everything), _share(managed), _pct(with_target, total)


def _callees(
    tally: _Tally, frames: list[tuple[str, ...]], is_target: Callable[[str], bool]
) -> dict[str, dict[str, int]]:
    """Samples under each direct call of each target method (a pair counted once a stack)."""
    under: dict[str, Counter[str]] = {}
    is_builder = method_test(lambda method: method.startswith(_BUILDERS) and ".Start" in method)
    for sid, n in tally.total.items():
        stack = frames[sid]
        # The pair skips the async builder's ``Start`` frames: where the JIT inlined an async
        # method's stub, its state machine's ``MoveNext`` is the call to name.
        calls = [f for f in stack if not is_builder(f)]
        pairs = {
            (caller, callee)
            for caller, callee in zip(calls, calls[1:], strict=False)
            if is_target(caller)
        }
        for caller, callee in pairs:
            under.setdefault(caller, Counter())[callee] += n
    callers = sorted(under, key=lambda c: (-sum(under[c].values()), c))[:CALLERS_KEPT]
    return {c: dict(ranked(under[c])[:CALLEES_KEPT]) for c in callers}


def ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    """Most first, ties by name: the same order whatever order the parts of a trace were
    tallied in (``most_common`` keeps insertion order among ties)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


LOCK_ACQUIRE = (
    "System.Threading.Monitor.Enter",
    "System.Threading.Monitor.ReliableEnter",
    "System.Threading.Monitor.TryEnter",
    "System.Threading.Lock.Enter",
    "System.Threading.Lock.TryEnter",
)
"""Methods on a lock's acquire path: ``Monitor.Enter`` and its slow path, ``Lock``'s."""
ACQUIRE_DEPTH = 6
"""How far from the leaf an acquire frame may sit (spin helpers run below it)."""
LOCK_SPIN_ROWS = 10


def _lock_spin(
    tally: _Tally,
    frames: list[tuple[str, ...]],
    is_target: Callable[[str], bool],
    managed_total: int,
) -> list[LockSpin]:
    """On-CPU samples inside a lock's acquire path, by the target frame that asked (with what
    it called on the way most often)."""
    acquiring = method_test(lambda method: method.startswith(LOCK_ACQUIRE))
    spin: Counter[str] = Counter()
    via: dict[str, Counter[str]] = {}
    for sid, n in tally.managed.items():
        stack = frames[sid]
        near_leaf = range(len(stack) - 1, max(-1, len(stack) - 1 - ACQUIRE_DEPTH), -1)
        at = next((i for i in near_leaf if acquiring(stack[i])), None)
        if at is None:
            continue
        site = next((i for i in range(at - 1, -1, -1) if is_target(stack[i])), None)
        if site is not None:
            spin[stack[site]] += n
            via.setdefault(stack[site], Counter())[stack[site + 1]] += n
    return [
        LockSpin(site=site, via=ranked(via[site])[0][0], samples=n, percent=_pct(n, managed_total))
        for site, n in ranked(spin)[:LOCK_SPIN_ROWS]
    ]


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def _share(counts: Counter[str]) -> CodeShare:
    whole = sum(counts.values())
    return CodeShare(**{key: _pct(value, whole) for key, value in counts.items()})


def summarize_cpu(
    samples: CpuTally,
    frames: list[tuple[str, ...]],
    frequency: int,
    *,
    top: int = 20,
    target_prefix: str = "Dekaf.",
) -> tuple[CpuSection, list[ThreadStat]]:
    """The CPU section and per-thread statistics from the folded ThreadSamples."""
    tally = _Tally(samples.total, samples.managed, samples.time_ms(frequency))
    total = sum(tally.total.values())
    managed_total = sum(tally.managed.values())
    top_self, top_managed, top_incl = _method_tables(tally, frames, total, top)
    # One cache of which frames are the target's, for every pass over the stacks.
    is_target = method_test(lambda method: method.startswith(target_prefix))
    share, managed_share, target_incl = _shares(tally, frames, target_prefix, is_target)
    section = CpuSection(
        collected=total > 0,
        samples=total,
        managed_samples=managed_total,
        external_samples=total - managed_total,
        sampled_threads=sum(1 for c in samples.threads.values() if c.managed + c.external),
        top_self=top_self,
        top_self_managed=top_managed,
        top_inclusive=top_incl,
        share=share,
        managed_share=managed_share,
        target_prefix=target_prefix,
        target_inclusive_percent=target_incl,
        callees=_callees(tally, frames, is_target) if target_prefix else {},
        lock_spin=_lock_spin(tally, frames, is_target, managed_total) if target_prefix else [],
    )
    return section, _thread_stats(samples, samples.thread_ms(frequency))


def _thread_stats(samples: CpuTally, times: dict[int, tuple[float, float]]) -> list[ThreadStat]:
    stats = []
    for tid, clock in samples.threads.items():
        n = clock.managed + clock.external
        if n:
            stats.append(
                ThreadStat(
                    thread_id=tid,
                    samples=n,
                    managed_samples=clock.managed,
                    external_samples=clock.external,
                    cpu_ms=round(times[tid][0], 3),
                    blocked_ms=round(times[tid][1], 3),
                )
            )
    return sorted(stats, key=lambda s: -s.samples)
