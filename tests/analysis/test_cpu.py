"""The CPU thread-time model (TraceEvent rule) and stack_samples on real traces."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tools.analysis.cpu import classify_frame, stack_samples, thread_time_intervals
from tools.analysis.cpu_tally import CpuTally
from tools.analysis.stacks import (
    KIND_ALLOC,
    KIND_ERROR,
    KIND_EXTERNAL,
    KIND_MANAGED,
    SampleStore,
)


def test_interval_goes_to_the_sample_that_starts_it() -> None:
    """Managed→external→managed: each gap is credited to the earlier sample's stack and state."""
    store = SampleStore()
    store.add(7, 1000, 1, KIND_MANAGED)
    store.add(7, 3000, 2, KIND_EXTERNAL)
    store.add(7, 7000, 3, KIND_MANAGED)
    intervals = list(thread_time_intervals(store, 0, 1_000_000))
    assert [(i.start_ms, i.weight_ms, i.stack_id, i.managed) for i in intervals] == [
        (1.0, 2.0, 1, True),
        (3.0, 4.0, 2, False),
    ]


def test_samples_out_of_file_order_are_sorted_per_thread() -> None:
    """Per-thread time order decides the intervals, not file order; threads stay separate."""
    store = SampleStore()
    store.add(1, 3000, 2, KIND_MANAGED)
    store.add(2, 1500, 9, KIND_MANAGED)
    store.add(1, 1000, 1, KIND_MANAGED)
    intervals = list(thread_time_intervals(store, 0, 1_000_000))
    assert [(i.thread_id, i.stack_id, i.weight_ms) for i in intervals] == [(1, 1, 2.0)]


def test_allocation_ticks_count_as_cpu_only_when_asked() -> None:
    """TraceEvent feeds allocation ticks in as on-CPU samples; the CPU section does not."""
    store = SampleStore()
    store.add(1, 1000, 1, KIND_EXTERNAL)
    store.add(1, 2000, 2, KIND_ALLOC)
    store.add(1, 4000, 3, KIND_EXTERNAL)
    plain = list(thread_time_intervals(store, 0, 1_000_000))
    with_alloc = list(thread_time_intervals(store, 0, 1_000_000, include_alloc=True))
    assert [(i.stack_id, i.weight_ms, i.managed) for i in plain] == [(1, 3.0, False)]
    assert [(i.stack_id, i.managed) for i in with_alloc] == [(1, False), (2, True)]


def test_stack_samples_perfview_leaves(traces_dir: Path) -> None:
    """The perfview CPU trace's leaves are FindByte (~5004) and InnerLoop (~2419), root first."""
    samples = list(stack_samples(traces_dir / "perfview-only_managed_samples.nettrace.zip"))
    leaves = Counter(s.frames[-1].split("!")[1].split("(")[0] for s in samples)
    assert abs(leaves["NoNativeStacks.Program.FindByte"] - 5004) <= 2
    assert abs(leaves["NoNativeStacks.Program.InnerLoop"] - 2419) <= 2
    assert all(s.managed and s.weight_ms > 0 for s in samples)
    assert samples[0].frames[0].startswith("NoNativeStacks!NoNativeStacks.Program.Main(")
    assert 9_500 < sum(s.weight_ms for s in samples) < 11_000


def test_stack_samples_wait_trace_leaf(traces_dir: Path) -> None:
    """The wait trace's commonest leaf is WaitHandle.WaitOne(int32), mostly outside managed code."""
    samples = list(stack_samples(traces_dir / "filtrace-net10-wait.nettrace"))
    leaf, _ = Counter(s.frames[-1] for s in samples if s.frames).most_common(1)[0]
    assert leaf == "System.Private.CoreLib!System.Threading.WaitHandle.WaitOne(int32)"
    assert any(not s.managed for s in samples) and any(s.managed for s in samples)


def test_classify_frame() -> None:
    """Target prefix, BCL/runtime, other managed code and unknown frames are told apart."""
    assert (
        classify_frame("Dekaf!Dekaf.Producer.RecordAccumulator.TryAppend()", "Dekaf.") == "target"
    )
    assert classify_frame("System.Private.CoreLib!System.String.Concat()", "Dekaf.") == "runtime"
    assert classify_frame("app!Example.Program.Work(int32)", "Dekaf.") == "other_managed"
    assert classify_frame("?!?", "Dekaf.") == "unresolved"


_ROWS = st.lists(
    st.tuples(
        st.sampled_from([5, 6]),
        st.integers(0, 40_000),
        st.integers(0, 4),
        st.sampled_from([KIND_ERROR, KIND_EXTERNAL, KIND_MANAGED, KIND_ALLOC]),
    ),
    max_size=60,
)
_SYNC, _FREQ = 7_000, 3_000_000  # samples before the session start open no interval


def _store(rows: list[tuple[int, int, int, int]]) -> SampleStore:
    store = SampleStore()
    for tid, ts, sid, kind in rows:
        store.add(tid, ts, sid, kind)
    return store


def _figures(tally: CpuTally) -> tuple[object, ...]:
    return (
        tally.time_ms(_FREQ),
        tally.thread_ms(_FREQ),
        tally.total,
        tally.managed,
        [(tid, c.managed, c.external) for tid, c in tally.threads.items()],
    )


@settings(max_examples=60, deadline=None)
@given(rows=_ROWS)
def test_folded_thread_time_equals_the_interval_model(
    rows: list[tuple[int, int, int, int]],
) -> None:
    """Per-stack and per-thread CPU/blocked time equal the interval model's (float rounding)."""
    store = _store(rows)
    by_stack: defaultdict[int, float] = defaultdict(float)
    by_thread: dict[int, tuple[float, float]] = {}
    for iv in thread_time_intervals(store, _SYNC, _FREQ):
        by_stack[iv.stack_id] += iv.weight_ms
        cpu, blocked = by_thread.get(iv.thread_id, (0.0, 0.0))
        by_thread[iv.thread_id] = (
            (cpu + iv.weight_ms, blocked) if iv.managed else (cpu, blocked + iv.weight_ms)
        )
    tally = CpuTally.of(store, _SYNC)
    folded = tally.time_ms(_FREQ)
    assert folded.keys() == by_stack.keys()
    assert all(math.isclose(folded[k], v, rel_tol=1e-9, abs_tol=1e-9) for k, v in by_stack.items())
    threads = tally.thread_ms(_FREQ)
    for tid, (cpu, blocked) in by_thread.items():
        assert math.isclose(threads[tid][0], cpu, abs_tol=1e-9)
        assert math.isclose(threads[tid][1], blocked, abs_tol=1e-9)
    samples = [r for r in rows if r[3] in (KIND_MANAGED, KIND_EXTERNAL)]
    assert sum(tally.total.values()) == len(samples)
    assert sum(tally.managed.values()) == sum(1 for r in samples if r[3] == KIND_MANAGED)


@settings(max_examples=60, deadline=None)
@given(rows=_ROWS, cuts=st.lists(st.integers(0, 40_000), max_size=4), data=st.data())
def test_folding_region_by_region_gives_the_same_figures(
    rows: list[tuple[int, int, int, int]], cuts: list[int], data: st.DataObject
) -> None:
    """Regions that follow each other in time (sequence points) fold to the one-pass figures,
    whatever the row order inside each region."""
    # Two samples of one thread at the same instant have no order but the file's; a shuffled
    # region may swap them (a zero-length interval moves between their stacks), so ties are out.
    assume(len({(tid, ts) for tid, ts, _, _ in rows}) == len(rows))
    whole = CpuTally.of(_store(rows), _SYNC)
    tally = CpuTally(_SYNC)
    bounds = [-1, *sorted(cuts), 40_001]
    for low, high in zip(bounds, bounds[1:], strict=False):
        region = [r for r in rows if low < r[1] <= high]
        for tid, ts, sid, kind in data.draw(st.permutations(region)):
            tally.region.add(tid, ts, sid, kind)
        tally.fold()
    assert tally.late == 0
    # Thread order follows the first sample of each thread, which regions may change.
    assert _figures(tally)[:4] == _figures(whole)[:4]
    assert sorted(_figures(tally)[4]) == sorted(_figures(whole)[4])  # type: ignore[type-var]


def test_a_region_older_than_the_open_interval_drops_it() -> None:
    """A region starting before its thread's last sample (overlap) is counted as late; the
    open interval is dropped there and the region's own intervals still count."""
    tally = CpuTally(0)
    for ts in (1000, 2000, 3000):
        tally.region.add(1, ts, 1, KIND_MANAGED)
    tally.fold()
    tally.region.add(1, 2500, 2, KIND_MANAGED)  # before 3000: the regions overlap
    tally.region.add(1, 4000, 3, KIND_MANAGED)
    tally.fold()
    assert tally.late == 1
    assert tally.time_ms(1_000_000) == {1: 2.0, 2: 1.5}
    assert tally.total == {1: 3, 2: 1, 3: 1}


@settings(max_examples=60, deadline=None)
@given(rows=_ROWS, cut=st.integers(0, 40_000))
def test_tallies_of_consecutive_parts_merge_into_the_whole(
    rows: list[tuple[int, int, int, int]], cut: int
) -> None:
    """Two parts of a trace tallied apart (stack ids of their own) merge into the one-pass
    tally: what the parallel reader relies on."""
    rows = sorted(rows, key=lambda r: r[1])  # file order: the early part's rows come first
    whole = CpuTally.of(_store(rows), _SYNC)
    early = CpuTally.of(_store([r for r in rows if r[1] <= cut]), _SYNC)
    # The later part numbers its stacks its own way: 10 + old id, mapped back on merge.
    later = CpuTally.of(_store([(t, ts, 10 + s, k) for t, ts, s, k in rows if ts > cut]), _SYNC)
    early.merge(later, [0] * 10 + list(range(5)))
    assert _figures(early)[:4] == _figures(whole)[:4]
    assert early.late == whole.late == 0
    assert list(early.threads) == list(whole.threads)
