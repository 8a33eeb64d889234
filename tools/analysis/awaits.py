"""Task waits begun and never ended: TplEventSource TaskWaitBegin / TaskWaitEnd (preset hang).

TaskWaitBegin (id 10, v3) is written where a wait starts: by an async method's awaiter when
it registers its continuation (behavior 2, an await) or by a thread blocking in Task.Wait /
.Result / GetAwaiter().GetResult() (behavior 1). Its stack shows the awaiting method.
TaskWaitEnd (id 11) is written when that continuation runs (or the blocking wait returns), on
whatever thread runs it; both carry the awaited task's id (dotnet/runtime TaskAwaiter.cs
``OutputWaitEtwEvents``, Task.cs ``InternalWaitCore``). Events of different threads are not
in time order in the file, so an End can be read before its Begin: waits pair up by counting
per task id, not by order. Only waits that begin while the session is on are seen: the
runtime writes the Begin when the continuation is registered, and only if the provider is on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tools.analysis.hang_models import AwaitGroup, AwaitSection
from tools.analysis.stacks import StackInterner
from tools.nettrace.model import Event
from tools.nettrace.payloads import TaskWaitBegin, TaskWaitEnd, decode
from tools.stacks.blocking import is_runtime, on_thread_pool

BEHAVIOR_BLOCKING, BEHAVIOR_AWAIT = 1, 2
"""TplEventSource.TaskWaitBehavior: Synchronous (a blocking wait), Asynchronous (an await)."""

_PLUMBING = (
    "System.Diagnostics.Tracing.",
    "System.Threading.Tasks.TplEventSource",
    "System.Runtime.CompilerServices.",
    "System.Threading.Tasks.Task.",
    "System.Threading.ExecutionContext",
)
"""Frames between the event and the awaiting method (the event writer, awaiters, builders)."""


@dataclass(slots=True)
class PendingWait:
    """A wait begun and not (yet) ended."""

    timestamp: int
    thread_id: int
    stack_id: int
    behavior: int
    task_id: int
    continuation_id: int


@dataclass(slots=True)
class CompletedStats:
    """Waits begun at one stack that did end: how many, and when the first and last began."""

    count: int = 0
    first_begin: int = 0
    last_begin: int = 0

    def add(self, timestamp: int) -> None:
        """Counts one completed wait that began at ``timestamp``."""
        if self.count == 0 or timestamp < self.first_begin:
            self.first_begin = timestamp
        self.last_begin = max(self.last_begin, timestamp)
        self.count += 1


@dataclass
class AwaitCollector:
    """Pairs TaskWaitBegin/End per awaited task id; keeps what stayed open and per-stack stats.

    Pairing does not depend on the order events are read in, so a part of the trace scanned
    apart pairs its own events and :meth:`merge` adds it to the parts before it.
    """

    stacks: StackInterner | None
    pointer_size: int
    pending: dict[int, list[PendingWait]] = field(default_factory=dict)
    early_ends: Counter[int] = field(default_factory=Counter)
    completed: dict[int, CompletedStats] = field(default_factory=dict)
    begins: int = 0
    ends: int = 0

    def on_begin(self, ev: Event) -> None:
        """TaskWaitBegin: pending until an End of the same task id is read."""
        begin = decode(ev.provider, ev.event_id, ev.version, ev.payload, self.pointer_size)
        if not isinstance(begin, TaskWaitBegin) or begin.task_id is None:
            return
        self.begins += 1
        assert self.stacks is not None, "a merged-only collector reads no events"
        sid = self.stacks.intern(ev.stack)
        if self.early_ends[begin.task_id]:
            self.early_ends[begin.task_id] -= 1
            self._completed(sid, ev.timestamp)
            return
        wait = PendingWait(
            ev.timestamp,
            ev.thread_id,
            sid,
            begin.behavior or 0,
            begin.task_id,
            begin.continue_with_task_id or 0,
        )
        self.pending.setdefault(begin.task_id, []).append(wait)

    def on_end(self, ev: Event) -> None:
        """TaskWaitEnd: ends the oldest pending wait on that task (or waits for its Begin)."""
        end = decode(ev.provider, ev.event_id, ev.version, ev.payload, self.pointer_size)
        if not isinstance(end, TaskWaitEnd) or end.task_id is None:
            return
        self.ends += 1
        waits = self.pending.get(end.task_id)
        if not waits:
            self.early_ends[end.task_id] += 1
            return
        wait = waits.pop(0)
        if not waits:
            del self.pending[end.task_id]
        self._completed(wait.stack_id, wait.timestamp)

    def merge(self, later: AwaitCollector, ids: list[int]) -> None:
        """Adds the collector of a later part (its stack ids mapped through ``ids``).

        Ends the later part read without their Begin end the oldest waits still pending here
        (a Begin is never after a sequence point its End precedes, so never in a later part).
        """
        for task_id, count in later.early_ends.items():
            for _ in range(count):
                waits = self.pending.get(task_id)
                if not waits:
                    self.early_ends[task_id] += 1
                    continue
                wait = waits.pop(0)
                if not waits:
                    del self.pending[task_id]
                self._completed(wait.stack_id, wait.timestamp)
        for task_id, waits in later.pending.items():
            for wait in waits:
                wait.stack_id = ids[wait.stack_id]
            self.pending.setdefault(task_id, []).extend(waits)
        for stack_id, stats in later.completed.items():
            mine = self.completed.get(ids[stack_id])
            if mine is None:
                self.completed[ids[stack_id]] = stats
            else:
                mine.count += stats.count
                mine.first_begin = min(mine.first_begin, stats.first_begin)
                mine.last_begin = max(mine.last_begin, stats.last_begin)
        self.begins += later.begins
        self.ends += later.ends

    def __getstate__(self) -> dict[str, object]:
        """Pickled without the interner (a part's stacks travel on their own)."""
        return {**self.__dict__, "stacks": None}

    def _completed(self, stack_id: int, began: int) -> None:
        stats = self.completed.get(stack_id)
        if stats is None:
            stats = self.completed[stack_id] = CompletedStats()
        stats.add(began)

    def open_waits(self) -> list[PendingWait]:
        """Waits still open at the end of the trace, oldest first."""
        waits = [w for group in self.pending.values() for w in group]
        return sorted(waits, key=lambda w: w.timestamp)


def awaiting_frame(leaf_first: tuple[str, ...] | list[str], target_prefix: str) -> str:
    """The method that waits: the nearest target frame, else the nearest program frame, else
    the first frame past the event-writing and awaiter plumbing."""
    for frame in leaf_first:
        if target_prefix and frame.split("!", 1)[-1].startswith(target_prefix):
            return frame
    for frame in leaf_first:
        if not is_runtime(frame, target_prefix):
            return frame
    for frame in leaf_first:
        if not frame.split("!", 1)[-1].startswith(_PLUMBING):
            return frame
    return leaf_first[-1] if leaf_first else "(no managed frames)"


MIN_REPORTED_AGE_S = 0.1
"""Open waits younger than this at the end of the trace are in flight, not reported."""
MAX_GROUPS = 10
STACK_FRAMES = 8


@dataclass
class _Group:
    waits: list[PendingWait] = field(default_factory=list)
    stack_ids: set[int] = field(default_factory=set)


def summarize_awaits(
    collector: AwaitCollector,
    frames: list[tuple[str, ...]],
    last_ts: int | None,
    qpc_frequency: int,
    target_prefix: str,
) -> AwaitSection:
    """Open waits grouped by the waiting method (and whether they await or block), innermost
    of an await chain first, then oldest first; with what each method completed around them."""
    if not collector.begins and not collector.ends:
        return AwaitSection()
    section = AwaitSection(collected=True, begun=collector.begins, ended=collector.ends)
    waits = collector.open_waits()
    section.open = len(waits)
    if last_ts is None or qpc_frequency <= 0:
        return section
    method_tasks = {w.continuation_id for w in waits if w.continuation_id}
    chains = _chains(waits)
    groups: dict[tuple[str, int], _Group] = {}
    for wait in waits:
        method = awaiting_frame(frames[wait.stack_id][::-1], target_prefix)
        group = groups.setdefault((method, wait.behavior), _Group())
        group.waits.append(wait)
    method_stacks: dict[str, set[int]] = {}
    for sid in collector.completed:
        method = awaiting_frame(frames[sid][::-1], target_prefix)
        method_stacks.setdefault(method, set()).add(sid)
    built = [
        _summary(key, group, collector, frames, method_stacks, method_tasks, last_ts,
                 qpc_frequency).model_copy(update={"chain": chains[id(group.waits[0])]})
        for key, group in groups.items()
    ]  # fmt: skip
    built = [g for g in built if g.oldest_s >= MIN_REPORTED_AGE_S]
    built.sort(key=lambda g: (not g.innermost, -g.oldest_s, -g.count))
    section.groups = built[:MAX_GROUPS]
    return section


def _chains(waits: list[PendingWait]) -> dict[int, int]:
    """id(wait) -> chain number: waits joined when one awaits the task of the other's method."""
    parent = list(range(len(waits)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_method_task: dict[int, int] = {}
    for i, wait in enumerate(waits):
        if wait.continuation_id:
            by_method_task.setdefault(wait.continuation_id, i)
    for i, wait in enumerate(waits):
        j = by_method_task.get(wait.task_id)
        if j is not None:
            parent[root(i)] = root(j)
    numbers: dict[int, int] = {}
    return {id(w): numbers.setdefault(root(i), len(numbers) + 1) for i, w in enumerate(waits)}


def _summary(
    key: tuple[str, int],
    group: _Group,
    collector: AwaitCollector,
    frames: list[tuple[str, ...]],
    method_stacks: dict[str, set[int]],
    method_tasks: set[int],
    last_ts: int,
    qpc_frequency: int,
) -> AwaitGroup:
    method, behavior = key
    oldest = group.waits[0]  # open_waits() is oldest first
    stats = [collector.completed[sid] for sid in method_stacks.get(method, ())]
    leaf_first = frames[oldest.stack_id][::-1]
    start = leaf_first.index(method) if method in leaf_first else 0
    return AwaitGroup(
        method=method,
        behavior="blocking" if behavior == BEHAVIOR_BLOCKING else "await",
        count=len(group.waits),
        oldest_s=round((last_ts - oldest.timestamp) / qpc_frequency, 3),
        pool_threads=sum(
            1
            for w in group.waits
            if behavior == BEHAVIOR_BLOCKING and on_thread_pool(frames[w.stack_id])
        ),
        innermost=any(w.task_id not in method_tasks for w in group.waits),
        completed=sum(s.count for s in stats),
        active_before=any(s.first_begin < oldest.timestamp for s in stats),
        progressed_after=any(s.last_begin > oldest.timestamp for s in stats),
        stack=list(leaf_first[start : start + STACK_FRAMES]),
    )
