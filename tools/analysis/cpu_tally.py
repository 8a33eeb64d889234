"""CPU sample figures folded in during the pass, one sequence-point region at a time.

The reader appends a region's samples to per-thread columns, as it does for a ``SampleStore``;
at each sequence point (the runtime has flushed every thread's events by then) and at the end of
the pass, :meth:`CpuTally.fold` sorts each thread's region by time, credits its intervals with
TraceEvent's rule (nettrace-format.md §12: an interval goes to the sample that starts it) and
drops the region. Memory therefore stays at one region's samples whatever the trace's length.
Time is summed in integer clock ticks, so the totals do not depend on the order of the sums.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import compress
from operator import sub

from tools.analysis.stacks import KIND_ALLOC, KIND_EXTERNAL, KIND_MANAGED, SampleStore

Append = Callable[[int], None]


def _kind_mask(*kinds: int) -> bytes:
    """A ``bytes.translate`` table mapping the given kinds to 1 and every other byte to 0."""
    return bytes(1 if i in kinds else 0 for i in range(256))


_IS_SAMPLE = _kind_mask(KIND_MANAGED, KIND_EXTERNAL)
_IS_MANAGED = _kind_mask(KIND_MANAGED)
_IS_NOT_MANAGED = bytes(0 if i == KIND_MANAGED else 1 for i in range(256))
_IS_NOT_ALLOC = bytes(0 if i == KIND_ALLOC else 1 for i in range(256))


@dataclass(slots=True)
class ThreadClock:
    """One thread's figures: its first and last interval samples and its totals.

    ``first_ts`` is the first sample after the session start (where the thread's intervals
    begin); ``last_*`` is the last one, whose interval stays open until a later sample.
    """

    first_ts: int | None = None
    last_ts: int | None = None
    last_sid: int = 0
    last_kind: int = 0
    cpu_ticks: int = 0
    blocked_ticks: int = 0
    managed: int = 0
    external: int = 0


class CpuTally:
    """Samples per stack, thread time per stack and per thread, folded region by region.

    Each region's intervals are credited on their own; between regions, a thread's open
    interval runs to its first sample of the next region. Tallies of consecutive parts of a
    trace therefore :meth:`merge` into exactly the tally of the whole.

    Attributes:
        region: the current region's samples (what the reader appends to).
        total: managed + external samples per stack id.
        managed: managed samples per stack id.
        threads: per thread, in first-sample order, its clock.
        late: region starts that were older than the thread's last sample of the region before
            (regions overlapping in time); the open interval is dropped there.
    """

    def __init__(self, sync_qpc: int) -> None:
        self.region = SampleStore()
        self.total: Counter[int] = Counter()
        self.managed: Counter[int] = Counter()
        self.threads: dict[int, ThreadClock] = {}
        self.late = 0
        self._sync = sync_qpc
        self._ticks: list[int] = []
        self._credited: set[int] = set()

    @classmethod
    def of(cls, store: SampleStore, sync_qpc: int) -> CpuTally:
        """The figures of samples already collected in one store."""
        tally = cls(sync_qpc)
        tally.region = store
        tally.fold()
        return tally

    def appenders(self, thread_id: int) -> tuple[Append, Append, Append]:
        """The reader's appenders for one thread (see ``SampleStore.appenders``)."""
        return self.region.appenders(thread_id)

    def fold(self) -> None:
        """Credits the current region's samples and starts an empty region."""
        for tid, records in self.region.threads.items():
            part = self._fold_thread(*records.time_ordered())
            clock = self.threads.get(tid)
            if clock is None:
                self.threads[tid] = part
            else:
                self._stitch(clock, part)
        self.region = SampleStore()

    def merge(self, later: CpuTally, stack_ids: list[int]) -> None:
        """Adds the tally of the part of the trace that follows this one.

        Args:
            later: the following part's tally (its regions all come after this one's).
            stack_ids: ``later``'s stack ids mapped to this tally's (index = its id).
        """
        ids = stack_ids.__getitem__
        self.total.update({ids(sid): n for sid, n in later.total.items()})
        self.managed.update({ids(sid): n for sid, n in later.managed.items()})
        self.late += later.late
        for sid in later._credited:
            self._add_ticks(ids(sid), later._ticks[sid])
        for tid, part in later.threads.items():
            part.last_sid = ids(part.last_sid)
            clock = self.threads.get(tid)
            if clock is None:
                self.threads[tid] = part
            else:
                self._stitch(clock, part)

    def _stitch(self, clock: ThreadClock, part: ThreadClock) -> None:
        """Appends a later part's figures of one thread to ``clock``."""
        clock.managed += part.managed
        clock.external += part.external
        clock.cpu_ticks += part.cpu_ticks
        clock.blocked_ticks += part.blocked_ticks
        if part.first_ts is None:
            return
        if clock.last_ts is not None:
            if part.first_ts >= clock.last_ts:  # the open interval ends at the part's start
                weight = part.first_ts - clock.last_ts
                self._add_ticks(clock.last_sid, weight)
                if clock.last_kind == KIND_MANAGED:
                    clock.cpu_ticks += weight
                else:
                    clock.blocked_ticks += weight
            else:
                self.late += 1
        else:
            clock.first_ts = part.first_ts
        clock.last_ts, clock.last_sid, clock.last_kind = part.last_ts, part.last_sid, part.last_kind

    def _fold_thread(self, stamps: list[int], sids: list[int], kinds: bytes) -> ThreadClock:
        """One thread's figures for one region, its intervals credited."""
        if KIND_ALLOC in kinds:  # allocation ticks are not CPU samples here
            keep = kinds.translate(_IS_NOT_ALLOC)
            stamps, sids = list(compress(stamps, keep)), list(compress(sids, keep))
            kinds = bytes(compress(kinds, keep))
        self.total.update(compress(sids, kinds.translate(_IS_SAMPLE)))
        self.managed.update(compress(sids, kinds.translate(_IS_MANAGED)))
        part = ThreadClock(managed=kinds.count(KIND_MANAGED), external=kinds.count(KIND_EXTERNAL))
        first = bisect_right(stamps, self._sync)  # intervals start after the session start
        if first == len(stamps):
            return part
        starts, start_sids, start_kinds = stamps[first:], sids[first:], kinds[first:]
        weights = list(map(sub, starts[1:], starts))
        self._credit(start_sids, weights)
        credited_kinds = start_kinds[: len(weights)]
        part.cpu_ticks = sum(compress(weights, credited_kinds.translate(_IS_MANAGED)))
        part.blocked_ticks = sum(compress(weights, credited_kinds.translate(_IS_NOT_MANAGED)))
        part.first_ts = starts[0]
        part.last_ts, part.last_sid, part.last_kind = starts[-1], start_sids[-1], start_kinds[-1]
        return part

    def _credit(self, sids: list[int], weights: list[int]) -> None:
        credited = sids[: len(weights)]
        if credited:
            self._grow(max(credited))
        ticks = self._ticks
        for sid, weight in zip(credited, weights, strict=True):
            ticks[sid] += weight
        self._credited.update(credited)

    def _add_ticks(self, sid: int, weight: int) -> None:
        self._grow(sid)
        self._ticks[sid] += weight
        self._credited.add(sid)

    def _grow(self, sid: int) -> None:
        ticks = self._ticks
        if sid >= len(ticks):
            ticks.extend([0] * (sid + 1 - len(ticks)))

    def time_ms(self, frequency: int) -> dict[int, float]:
        """Thread time per stack id (ms), for the stacks that started an interval."""
        scale = 1000.0 / frequency
        return {sid: self._ticks[sid] * scale for sid in self._credited}

    def thread_ms(self, frequency: int) -> dict[int, tuple[float, float]]:
        """(CPU, blocked) ms per thread."""
        scale = 1000.0 / frequency
        return {
            tid: (c.cpu_ticks * scale, c.blocked_ticks * scale) for tid, c in self.threads.items()
        }
