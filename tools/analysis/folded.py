"""Folded stacks (``root;…;leaf weight``) by pyroscope's rule, weights in nanoseconds.

pyroscope-io/dotnetdiag's profiler attributes time differently from TraceEvent
(nettrace-format.md §12): per thread, in time order, the time since the previous sample is
credited to the stack of the sample that ENDS the interval; it counts as managed time when the
previous sample was Managed. Ticks become nanoseconds through the integer ``10**9 // freq``.
Reproducing pyroscope's golden outputs exactly is the test of this module.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tools.analysis.cpu import NO_STACK
from tools.analysis.source import SAMPLE_KEYS, SYMBOL_KEYS, TraceScan
from tools.analysis.stacks import KIND_EXTERNAL, KIND_MANAGED, SampleStore


def pyroscope_weights(
    store: SampleStore, sync_qpc: int, frequency: int, *, managed_only: bool = False
) -> Counter[int]:
    """Nanoseconds per stack id; ``managed_only`` drops intervals begun outside managed code."""
    ns_per_tick = 10**9 // frequency if frequency > 0 else 0
    weights: Counter[int] = Counter()
    for records in store.threads.values():
        prev_rel = 0
        prev_managed = False
        started = False
        for ts, sid, kind in records.in_time_order():
            if kind not in (KIND_MANAGED, KIND_EXTERNAL):
                continue  # Error samples and allocation ticks take no part
            rel = ts - sync_qpc
            if started and prev_rel > 0 and (prev_managed or not managed_only):
                weights[sid] += (rel - prev_rel) * ns_per_tick
            prev_rel, prev_managed, started = rel, kind == KIND_MANAGED, True
    return weights


def fold(weights: Counter[int], frames: list[tuple[str, ...]]) -> list[tuple[str, int]]:
    """(``frame;…;leaf``, weight) per distinct name path, sorted by the path."""
    folded: Counter[str] = Counter()
    for sid, weight in weights.items():
        stack = frames[sid]
        folded[";".join(stack) if stack else NO_STACK] += weight
    return sorted(folded.items())


def folded_stacks(path: str | Path, *, managed_only: bool = False) -> list[tuple[str, int]]:
    """Folded stacks of a trace's CPU samples, pyroscope's attribution, weights in ns.

    Args:
        path: the trace file (``.nettrace``, ``.netperf`` or a ``.zip`` holding one).
        managed_only: count only time that began in managed code.

    Returns:
        (``root;…;leaf``, nanoseconds) pairs sorted by the stack text; frames are named
        ``module!Namespace.Type.Method(args)``.

    Raises:
        TraceFormatError: the file is not a readable trace.
    """
    return folded_of(
        TraceScan.run(Path(path), SAMPLE_KEYS | SYMBOL_KEYS), managed_only=managed_only
    )


def folded_of(scan: TraceScan, *, managed_only: bool = False) -> list[tuple[str, int]]:
    """:func:`folded_stacks` of a scan that kept the samples (allocation ticks are ignored)."""
    frames = scan.stacks.resolve(scan.symbols)
    info = scan.info
    weights = pyroscope_weights(
        scan.samples, info.sync_time_qpc, info.qpc_frequency, managed_only=managed_only
    )
    return fold(weights, frames)


def format_folded(lines: list[tuple[str, int]]) -> str:
    """The text form: one ``stack weight`` line each, newline-terminated."""
    return "".join(f"{stack} {weight}\n" for stack, weight in lines)
