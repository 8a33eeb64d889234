"""The thread pool's growth and why: ThreadPoolWorkerThread* events (runtime Threading keyword).

ThreadPoolWorkerThreadAdjustmentAdjustment (id 55) gives each new worker-thread goal and its
reason; reason 6 (Starvation) is the gate thread forcing a thread in because queued work made
no progress, reason 8 (CooperativeBlocking, .NET 8+) a thread added because pool threads block
in task waits (dotnet/runtime PortableThreadPool.HillClimbing ``StateOrTransition``).
ThreadPoolWorkerThreadStart (id 50) carries the active worker count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.analysis.hang_models import ThreadPoolSection
from tools.nettrace.model import Event
from tools.nettrace.payloads import ThreadPoolAdjustment, ThreadPoolWorkers, decode

REASON_STARVATION, REASON_COOPERATIVE_BLOCKING = 6, 8
MAX_KEPT = 20_000
"""Adjustments kept (a few per second; bounded whatever the trace's length)."""


@dataclass
class ThreadPoolCollector:
    """Handlers for the worker-thread events of the pass."""

    pointer_size: int
    adjustments: list[tuple[int, int, int]] = field(default_factory=list)
    started: list[tuple[int, int]] = field(default_factory=list)

    def on_adjustment(self, ev: Event) -> None:
        """Adjustment: (timestamp, new worker count, reason)."""
        adj = decode(ev.provider, ev.event_id, ev.version, ev.payload, self.pointer_size)
        if isinstance(adj, ThreadPoolAdjustment) and adj.new_worker_count is not None:
            if len(self.adjustments) < MAX_KEPT:
                self.adjustments.append((ev.timestamp, adj.new_worker_count, adj.reason or 0))

    def on_worker_start(self, ev: Event) -> None:
        """WorkerThreadStart: (timestamp, active workers)."""
        workers = decode(ev.provider, ev.event_id, ev.version, ev.payload, self.pointer_size)
        if isinstance(workers, ThreadPoolWorkers) and workers.active is not None:
            if len(self.started) < MAX_KEPT:
                self.started.append((ev.timestamp, workers.active))

    def summarize(self, first_ts: int | None, qpc_frequency: int) -> ThreadPoolSection:
        """Counts by reason, the worker goal at the start, end and peak, first injection time."""
        if not self.adjustments and not self.started:
            return ThreadPoolSection()
        adjustments = sorted(self.adjustments)
        counts = [n for _, n, _ in adjustments] + [n for _, n in sorted(self.started)]
        injected = [
            ts
            for ts, _, reason in adjustments
            if reason in (REASON_STARVATION, REASON_COOPERATIVE_BLOCKING)
        ]
        first_injection = None
        if injected and first_ts is not None and qpc_frequency > 0:
            first_injection = round((injected[0] - first_ts) / qpc_frequency, 3)
        return ThreadPoolSection(
            collected=True,
            adjustments=len(adjustments),
            starvation=sum(1 for _, _, r in adjustments if r == REASON_STARVATION),
            cooperative_blocking=sum(
                1 for _, _, r in adjustments if r == REASON_COOPERATIVE_BLOCKING
            ),
            workers_first=adjustments[0][1] if adjustments else None,
            workers_last=adjustments[-1][1] if adjustments else None,
            workers_max=max(counts) if counts else None,
            threads_started=len(self.started),
            first_injection_s=first_injection,
        )
