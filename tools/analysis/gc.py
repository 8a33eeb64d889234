"""GC counts by generation and pause times (GCSuspendEEBegin → GCRestartEEEnd).

A GC's pause runs from the suspension begun *for a GC* (SuspendEEBegin reason SuspendForGC or
SuspendForGCPrep) before its GCStart to the first RestartEEEnd after its GCEnd, as TraceEvent's
GC statistics count it. Other suspensions (the sample profiler suspends the runtime at every
sampling round) are counted apart, and their begin/end events, which interleave with a GC's
from other threads, never cut a GC's pause short. The few GC events are kept and sorted at the
end because different threads write them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tools.analysis.results import GCSection, GenerationStat
from tools.nettrace.model import Event
from tools.nettrace.payloads import GCStart, GCSuspendEEBegin, decode

GC_REASONS = {
    0: "AllocSmall",
    1: "Induced",
    2: "LowMemory",
    3: "Empty",
    4: "AllocLarge",
    5: "OutOfSpaceSOH",
    6: "OutOfSpaceLOH",
    7: "InducedNotForced",
    8: "Internal",
    9: "InducedLowMemory",
    10: "InducedCompacting",
    11: "LowMemoryHost",
    12: "PMFullGC",
    13: "LowMemoryHostBlocking",
}
_START, _END, _SUSPEND, _RESTART = range(4)
_GC_SUSPENSIONS = (1, 6)
"""SuspendEEBegin reasons SuspendForGC and SuspendForGCPrep (runtime's SUSPEND_REASON)."""


@dataclass
class GCCollector:
    """Keeps (timestamp, kind, generation, reason) of GC events during the pass."""

    pointer_size: int = 8
    events: list[tuple[int, int, int, int]] = field(default_factory=list)

    def on_start(self, ev: Event) -> None:
        """GCStart: generation (depth) and reason."""
        start = decode(ev.provider, ev.event_id, ev.version, ev.payload, self.pointer_size)
        depth = reason = -1
        if isinstance(start, GCStart):
            depth = start.depth if start.depth is not None else -1
            reason = start.reason if start.reason is not None else -1
        self.events.append((ev.timestamp, _START, depth, reason))

    def on_end(self, ev: Event) -> None:
        """GCEnd."""
        self.events.append((ev.timestamp, _END, -1, -1))

    def on_suspend(self, ev: Event) -> None:
        """GCSuspendEEBegin: a pause begins, with its reason (-1 when unreadable: a GC's)."""
        begin = decode(ev.provider, ev.event_id, ev.version, ev.payload, self.pointer_size)
        reason = begin.reason if isinstance(begin, GCSuspendEEBegin) else None
        self.events.append((ev.timestamp, _SUSPEND, -1, -1 if reason is None else reason))

    def on_restart(self, ev: Event) -> None:
        """GCRestartEEEnd: a pause ends."""
        self.events.append((ev.timestamp, _RESTART, -1, -1))

    def summarize(self, qpc_frequency: int) -> GCSection:
        """Counts by generation, pauses attributed to the GC they contain."""
        ms_per_tick = 1000.0 / qpc_frequency if qpc_frequency else 0.0
        counts: Counter[int] = Counter()
        reasons: Counter[str] = Counter()
        pauses: dict[int, list[float]] = {}
        other: list[float] = []
        pausing = _Pauses()
        ends = 0
        for ts, kind, depth, reason in sorted(self.events, key=lambda e: (e[0], e[1])):
            if kind == _START:
                counts[depth] += 1
                reasons[GC_REASONS.get(reason, str(reason))] += 1
                pausing.gc_started(ts, depth)
            elif kind == _END:
                ends += 1
                pausing.gc_ended = pausing.gc is not None
            elif kind == _SUSPEND:
                pausing.suspended(ts, reason)
            else:
                pausing.restarted(ts, ms_per_tick, pauses, other)
        return _section(counts, reasons, pauses, other, ends)


@dataclass
class _Pauses:
    """The suspension a GC's pause began with, the GC in flight, and a non-GC suspension."""

    gc_suspended_at: int | None = None
    other_suspended_at: int | None = None
    gc: tuple[int, int] | None = None
    """(generation, when its pause began) of the GC in flight."""
    gc_ended: bool = False

    def suspended(self, ts: int, reason: int) -> None:
        if reason in _GC_SUSPENSIONS or reason < 0:
            self.gc_suspended_at = ts
        else:
            self.other_suspended_at = ts

    def gc_started(self, ts: int, depth: int) -> None:
        began = self.gc_suspended_at if self.gc_suspended_at is not None else ts
        self.gc, self.gc_ended, self.gc_suspended_at = (depth, began), False, None

    def restarted(
        self, ts: int, ms_per_tick: float, pauses: dict[int, list[float]], other: list[float]
    ) -> None:
        if self.gc is not None and self.gc_ended:
            depth, began = self.gc
            pauses.setdefault(depth, []).append((ts - began) * ms_per_tick)
            self.gc, self.gc_ended = None, False
        elif self.gc is None and self.other_suspended_at is not None:
            other.append((ts - self.other_suspended_at) * ms_per_tick)
            self.other_suspended_at = None


def _section(
    counts: Counter[int],
    reasons: Counter[str],
    pauses: dict[int, list[float]],
    other: list[float],
    ends: int,
) -> GCSection:
    gens = [
        GenerationStat(
            generation=gen,
            count=counts[gen],
            pause_ms_total=round(sum(pauses.get(gen, [])), 3),
            pause_ms_max=round(max(pauses.get(gen, [0.0])), 3),
        )
        for gen in sorted(counts)
    ]
    all_pauses = [p for ps in pauses.values() for p in ps]
    return GCSection(
        collected=bool(counts or other),
        count=sum(counts.values()),
        ends=ends,
        total_pause_ms=round(sum(all_pauses), 3),
        max_pause_ms=round(max(all_pauses, default=0.0), 3),
        by_generation=gens,
        reasons=dict(reasons.most_common()),
        suspensions=len(other),
        suspension_ms_total=round(sum(other), 3),
    )
