"""Lock contention (ContentionStart/Stop) and wait-handle waits (WaitHandleWaitStart/Stop).

Start and Stop of one wait are written by the waiting thread itself, so they pair up per
thread in file order. The duration is ContentionStop_V1's DurationNs when present, otherwise
Stop minus Start. Waits still open when the trace ends are kept for the deadlock analysis.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from tools.analysis.cpu import classify_frame
from tools.analysis.results import ContentionSection, WaitSection, WaitSite
from tools.analysis.stacks import StackInterner
from tools.nettrace.model import Event
from tools.nettrace.payloads import ContentionStart, ContentionStop, decode
from tools.nettrace.symbols import frame_method

SITE_FRAMES = 12
LONGEST_KEPT = 32


@dataclass(frozen=True, slots=True)
class OpenWait:
    """A wait that started and (so far) has not stopped."""

    thread_id: int
    timestamp: int
    stack_id: int
    lock_id: int | None = None
    owner_thread_id: int | None = None


@dataclass(frozen=True, slots=True)
class FinishedWait:
    """A completed wait, kept for the longest ones only."""

    thread_id: int
    timestamp: int
    duration_ns: float
    stack_id: int


@dataclass
class _Site:
    events: int = 0
    total_ns: float = 0.0
    max_ns: float = 0.0
    owners: set[int] = field(default_factory=set)


@dataclass
class WaitTracker:
    """Pairs start/stop events of one kind per thread and aggregates them by start stack."""

    ns_per_tick: float
    open: dict[int, OpenWait] = field(default_factory=dict)
    sites: defaultdict[int, _Site] = field(default_factory=lambda: defaultdict(_Site))
    longest: list[FinishedWait] = field(default_factory=list)
    unmatched_stops: int = 0

    def start(self, wait: OpenWait) -> None:
        """A thread began waiting (a nested start replaces the open one)."""
        self.open[wait.thread_id] = wait

    def stop(self, thread_id: int, timestamp: int, duration_ns: float | None) -> None:
        """A thread stopped waiting; records the duration against the start stack."""
        began = self.open.pop(thread_id, None)
        if began is None:
            self.unmatched_stops += 1
            return
        if duration_ns is None or duration_ns < 0:
            duration_ns = (timestamp - began.timestamp) * self.ns_per_tick
        site = self.sites[began.stack_id]
        site.events += 1
        site.total_ns += duration_ns
        site.max_ns = max(site.max_ns, duration_ns)
        if began.owner_thread_id:
            site.owners.add(began.owner_thread_id)
        self._keep_longest(FinishedWait(thread_id, began.timestamp, duration_ns, began.stack_id))

    def _keep_longest(self, wait: FinishedWait) -> None:
        self.longest.append(wait)
        if len(self.longest) > 2 * LONGEST_KEPT:
            self.longest.sort(key=lambda w: -w.duration_ns)
            del self.longest[LONGEST_KEPT:]

    def totals(self) -> tuple[int, float, float]:
        """(completed waits, total ms, max ms)."""
        events = sum(s.events for s in self.sites.values())
        total = sum(s.total_ns for s in self.sites.values()) / 1e6
        longest = max((s.max_ns for s in self.sites.values()), default=0.0) / 1e6
        return events, round(total, 3), round(longest, 3)

    def top_sites(self, frames: list[tuple[str, ...]], top: int, prefix: str) -> list[WaitSite]:
        """Sites by total wait time, stacks cut to the 12 frames nearest the leaf."""
        ranked = sorted(self.sites.items(), key=lambda kv: -kv[1].total_ns)[:top]
        return [
            WaitSite(
                frames=list(frames[sid][-SITE_FRAMES:]),
                site=site_name(frames[sid], prefix),
                events=s.events,
                total_ms=round(s.total_ns / 1e6, 3),
                max_ms=round(s.max_ns / 1e6, 3),
                owner_threads=sorted(s.owners)[:8],
            )
            for sid, s in ranked
        ]


def site_name(stack: tuple[str, ...], prefix: str) -> str:
    """The deepest target-code frame, else the deepest non-runtime frame (the lock's caller)."""
    for frame in reversed(stack):
        if prefix and frame_method(frame).startswith(prefix):
            return frame
    for frame in reversed(stack):
        if classify_frame(frame, prefix) == "other_managed":
            return frame
    return stack[-1] if stack else "(no managed frames)"


class ContentionCollector:
    """Handlers for the contention and wait-handle events of the pass."""

    def __init__(self, stacks: StackInterner, pointer_size: int, qpc_frequency: int) -> None:
        self.stacks = stacks
        self.pointer_size = pointer_size
        ns = 1e9 / qpc_frequency if qpc_frequency else 0.0
        self.locks = WaitTracker(ns)
        self.waits = WaitTracker(ns)

    def on_contention_start(self, ev: Event) -> None:
        """ContentionStart: the waiting thread and, from v2, the lock and its owner."""
        start = decode(ev.provider, ev.event_id, ev.version, ev.payload, self.pointer_size)
        lock_id = owner = None
        if isinstance(start, ContentionStart):
            lock_id, owner = start.lock_id, start.lock_owner_thread_id
        sid = self.stacks.intern(ev.stack)
        self.locks.start(OpenWait(ev.thread_id, ev.timestamp, sid, lock_id, owner))

    def on_contention_stop(self, ev: Event) -> None:
        """ContentionStop: v1 carries DurationNs."""
        stop = decode(ev.provider, ev.event_id, ev.version, ev.payload, self.pointer_size)
        duration = stop.duration_ns if isinstance(stop, ContentionStop) else None
        self.locks.stop(ev.thread_id, ev.timestamp, duration)

    def on_wait_start(self, ev: Event) -> None:
        """WaitHandleWaitStart: the stack where the wait began."""
        sid = self.stacks.intern(ev.stack)
        self.waits.start(OpenWait(ev.thread_id, ev.timestamp, sid))

    def on_wait_stop(self, ev: Event) -> None:
        """WaitHandleWaitStop."""
        self.waits.stop(ev.thread_id, ev.timestamp, None)

    def summarize(
        self, frames: list[tuple[str, ...]], *, top: int = 20, target_prefix: str = "Dekaf."
    ) -> ContentionSection:
        """The contention section with the waits sub-section."""
        events, total, longest = self.locks.totals()
        w_events, w_total, w_longest = self.waits.totals()
        waits = WaitSection(
            events=w_events,
            total_ms=w_total,
            max_ms=w_longest,
            unfinished=len(self.waits.open),
            top=self.waits.top_sites(frames, top, target_prefix),
        )
        return ContentionSection(
            collected=bool(events or self.locks.open or w_events or self.waits.open),
            events=events,
            total_ms=total,
            max_ms=longest,
            unfinished=len(self.locks.open),
            top=self.locks.top_sites(frames, top, target_prefix),
            waits=waits,
        )
