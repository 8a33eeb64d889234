"""GC counts by generation and pause times (GCSuspendEEBegin → GCRestartEEEnd).

A suspension that contains a GCStart is that GC's pause; suspensions without one (the sample
profiler suspends the runtime at every sampling round) are counted apart. The few GC events are
kept and sorted at the end because different threads write them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tools.analysis.results import GCSection, GenerationStat
from tools.nettrace.model import Event
from tools.nettrace.payloads import GCStart, decode

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
        """GCSuspendEEBegin: a pause begins."""
        self.events.append((ev.timestamp, _SUSPEND, -1, -1))

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
        suspended_at: int | None = None
        gen_in_pause: int | None = None
        ends = 0
        for ts, kind, depth, reason in sorted(self.events, key=lambda e: (e[0], e[1])):
            if kind == _START:
                counts[depth] += 1
                reasons[GC_REASONS.get(reason, str(reason))] += 1
                if suspended_at is not None and gen_in_pause is None:
                    gen_in_pause = depth
            elif kind == _END:
                ends += 1
            elif kind == _SUSPEND:
                suspended_at, gen_in_pause = ts, None
            elif suspended_at is not None:
                pause = (ts - suspended_at) * ms_per_tick
                (pauses.setdefault(gen_in_pause, []) if gen_in_pause is not None else other).append(
                    pause
                )
                suspended_at = None
        return _section(counts, reasons, pauses, other, ends)


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
