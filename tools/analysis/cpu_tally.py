"""CPU sample figures folded in during the pass, one sequence-point region at a time.

The reader appends a region's samples to per-thread columns, as it does for a ``SampleStore``;
at each sequence point (the runtime has flushed every thread's events by then) and at the end of
the pass, :meth:`CpuTally.fold` sorts each thread's region by time, credits its intervals with
TraceEvent's rule (nettrace-format.md §12: an interval goes to the sample that starts it) and
drops the region. Memory therefore stays at one region's samples whatever the trace's length.
Time is summed in integer clock ticks, so the totals do not depend on the order of the sums.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
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
    """One thread's running figures: its last sample (the open interval) and its totals."""

    last_ts: int | None = None
    last_sid: int = 0
    last_kind: int = 0
    cpu_ticks: int = 0
    blocked_ticks: int = 0
    managed: int = 0
    external: int = 0


class CpuTally:
    """Samples per stack, thread time per stack and per thread, folded region by region.

    Attributes:
        region: the current region's samples (what the reader appends to).
        total: managed + external samples per stack id.
        managed: managed samples per stack id.
        threads: per thread, in first-sample order, its clock.
        late: samples that arrived after a later sample of their thread had been folded (the
            regions overlapped in time); they are counted but open no interval.
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
            clock = self.threads.get(tid)
            if clock is None:
                clock = self.threads[tid] = ThreadClock()
            self._fold_thread(clock, *records.time_ordered())
        self.region = SampleStore()

    def _fold_thread(
        self, clock: ThreadClock, stamps: list[int], sids: list[int], kinds: bytes
    ) -> None:
        if KIND_ALLOC in kinds:  # allocation ticks are not CPU samples here
            keep = kinds.translate(_IS_NOT_ALLOC)
            stamps, sids = list(compress(stamps, keep)), list(compress(sids, keep))
            kinds = bytes(compress(kinds, keep))
        self.total.update(compress(sids, kinds.translate(_IS_SAMPLE)))
        self.managed.update(compress(sids, kinds.translate(_IS_MANAGED)))
        clock.managed += kinds.count(KIND_MANAGED)
        clock.external += kinds.count(KIND_EXTERNAL)
        # Intervals run between samples after the session start, from the thread's open one.
        first = bisect_right(stamps, self._sync)
        if clock.last_ts is not None:
            on_time = bisect_left(stamps, clock.last_ts, first)
            self.late += on_time - first
            first = on_time
        if first == len(stamps):
            return
        starts, start_sids, start_kinds = stamps[first:], sids[first:], kinds[first:]
        if clock.last_ts is not None:
            starts.insert(0, clock.last_ts)
            start_sids.insert(0, clock.last_sid)
            start_kinds = bytes((clock.last_kind,)) + start_kinds
        weights = list(map(sub, starts[1:], starts))
        self._credit(start_sids, weights)
        credited_kinds = start_kinds[: len(weights)]
        clock.cpu_ticks += sum(compress(weights, credited_kinds.translate(_IS_MANAGED)))
        clock.blocked_ticks += sum(compress(weights, credited_kinds.translate(_IS_NOT_MANAGED)))
        clock.last_ts, clock.last_sid, clock.last_kind = starts[-1], start_sids[-1], start_kinds[-1]

    def _credit(self, sids: list[int], weights: list[int]) -> None:
        credited = sids[: len(weights)]
        ticks = self._ticks
        if credited:
            top = max(credited)
            if top >= len(ticks):
                ticks.extend([0] * (top + 1 - len(ticks)))
        for sid, weight in zip(credited, weights, strict=True):
            ticks[sid] += weight
        self._credited.update(credited)

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
