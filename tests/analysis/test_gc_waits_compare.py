"""GC pauses, wait-handle waits, deadlock cycles and trace comparison on planted traces."""

from __future__ import annotations

import struct
from pathlib import Path

from tools.analysis.analyze import analyze_trace_file
from tools.analysis.compare import compare
from tools.analysis.deadlock import find_cycles
from tools.analysis.markdown import render_markdown
from tools.analysis.synthetic import SyntheticTrace, gc_end_v1, gc_start_v2
from tools.nettrace.payloads import RUNTIME

MS = 10_000
MAIN = "Host!Host.Program.Main(class System.String[])"
SEND = "Dekaf!Dekaf.Producer.BrokerSender.SendLoopAsync()"
FLUSH = "Dekaf!Dekaf.Producer.KafkaProducer`2.FlushAsync()"
WAIT = "System.Private.CoreLib!System.Threading.WaitHandle.WaitOne(int32)"
SUSPEND = struct.pack("<IIH", 1, 1, 9)  # reason SuspendForGC
SAMPLER_SUSPEND = struct.pack("<IIH", 0, 1, 9)  # reason SuspendOther: the sample profiler's
RESTART = struct.pack("<H", 9)


def test_gc_pause_belongs_to_the_gc_inside_the_suspension(tmp_path: Path) -> None:
    """Suspend→GCStart(gen1)→restart is a gen1 pause; a suspension without a GC is counted apart."""
    path = tmp_path / "gc.nettrace"
    with SyntheticTrace(path) as trace:
        trace.event(RUNTIME, 9, 1, 5, 10 * MS, SUSPEND)
        trace.event(RUNTIME, 1, 2, 5, 10 * MS + 100, gc_start_v2(1, 1))
        trace.event(RUNTIME, 2, 1, 5, 12 * MS, gc_end_v1(1, 1))
        trace.event(RUNTIME, 3, 1, 5, 13 * MS, RESTART)
        trace.event(RUNTIME, 9, 1, 5, 20 * MS, SAMPLER_SUSPEND)
        trace.event(RUNTIME, 3, 1, 5, 20 * MS + 5_000, RESTART)
    gc = analyze_trace_file(path).gc
    assert gc.count == 1 and gc.ends == 1
    assert [(g.generation, g.count, g.pause_ms_total) for g in gc.by_generation] == [(1, 1, 3.0)]
    assert gc.suspensions == 1 and gc.suspension_ms_total == 0.5
    assert gc.reasons == {"AllocSmall": 1}


def test_a_sampler_suspension_inside_a_gc_pause_does_not_cut_it(tmp_path: Path) -> None:
    """As recorded on .NET 10 with SampleProfiler + GC keywords: the GC's suspension begins,
    a sampling round's restart lands before GCStart (other thread), then the GC runs. The pause
    runs from the GC's suspension to the restart after GCEnd (TraceEvent's figure)."""
    path = tmp_path / "gc.nettrace"
    with SyntheticTrace(path) as trace:
        trace.event(RUNTIME, 9, 1, 5, 10 * MS, SUSPEND)
        trace.event(RUNTIME, 3, 1, 6, 10 * MS + 300, RESTART)
        trace.event(RUNTIME, 9, 1, 6, 11 * MS, SAMPLER_SUSPEND)
        trace.event(RUNTIME, 3, 1, 6, 11 * MS + 100, RESTART)
        trace.event(RUNTIME, 1, 2, 5, 12 * MS, gc_start_v2(1, 0))
        trace.event(RUNTIME, 2, 1, 5, 13 * MS, gc_end_v1(1, 0))
        trace.event(RUNTIME, 3, 1, 5, 14 * MS, RESTART)
    gc = analyze_trace_file(path).gc
    assert [(g.generation, g.pause_ms_total) for g in gc.by_generation] == [(0, 4.0)]
    assert gc.suspensions == 1 and gc.suspension_ms_total == 0.01


def _wait_start(trace: SyntheticTrace, tid: int, ts: int) -> None:
    trace.event(RUNTIME, 301, 0, tid, ts, struct.pack("<BQH", 0, 0x1234, 9), (MAIN, FLUSH, WAIT))


def test_wait_left_open_for_most_of_the_trace_is_suspected(tmp_path: Path) -> None:
    """A wait that never stops and covers 90 % of the window is evidence; short waits pair up.
    The report lists it under the hang verdict as a long wait, not a hang by itself (a thread
    waiting on an event may be idle, and this trace cannot tell)."""
    path = tmp_path / "wait.nettrace"
    with SyntheticTrace(path) as trace:
        for i in range(10):
            _wait_start(trace, 3, (i + 1) * MS)
            trace.event(RUNTIME, 302, 0, 3, (i + 1) * MS + 2_000, RESTART)
        _wait_start(trace, 4, 20 * MS)
        for i in range(200):
            trace.sample(1, (i + 1) * MS, (MAIN, SEND))
    analysis = analyze_trace_file(path)
    waits = analysis.contention.waits
    assert (waits.events, waits.unfinished, waits.max_ms) == (10, 1, 0.2)
    assert analysis.deadlock.suspected
    evidence = analysis.deadlock.evidence[0]
    assert evidence.kind == "unfinished_wait" and evidence.threads == [4]
    assert evidence.stacks[0][-2:] == [FLUSH, WAIT]
    report = render_markdown(analysis)
    assert "**Verdict: no hang.**" in report and "this trace holds no task-wait events" in report
    assert "Other long waits (1; not a hang by themselves)" in report
    assert "- thread 4 entered a wait 180.0 ms before the trace ended" in report
    assert "`` Dekaf.Producer.KafkaProducer`2.FlushAsync() ``" in report  # backtick-safe span


def test_find_cycles() -> None:
    """Waiter→owner edges: a 3-cycle is found once; chains without a cycle give nothing."""
    assert find_cycles({1: 2, 2: 3, 3: 1, 4: 1}) == [[1, 2, 3]]
    assert find_cycles({1: 2, 2: 3}) == []
    assert find_cycles({}) == []


def _run(path: Path, alloc_type: str, lock_ns: float) -> None:
    with SyntheticTrace(path) as trace:
        for i in range(100):
            trace.sample(1, (i + 1) * MS, (MAIN, SEND) if i % 2 else (MAIN, FLUSH))
        trace.allocation(1, 5 * MS, (MAIN, SEND), alloc_type, 100_000, 64)
        trace.allocation(1, 6 * MS, (MAIN, FLUSH), "System.Byte[]", 100_000, 1024)
        trace.contention(2, 7 * MS, (MAIN, FLUSH), lock_id=0xA, owner=1)
        trace.contention_stop(2, 8 * MS, lock_ns)


def test_compare_finds_new_allocations_and_longer_locks(tmp_path: Path) -> None:
    """A new allocation type/site and a 10× longer lock wait show up in the comparison."""
    _run(tmp_path / "base.nettrace", "System.Byte[]", 10_000.0)
    _run(tmp_path / "new.nettrace", "Dekaf.Producer.ProducerRecord", 100_000.0)
    base = analyze_trace_file(tmp_path / "base.nettrace", top=50)
    new = analyze_trace_file(tmp_path / "new.nettrace", top=50)
    result = compare(base, new)
    assert [d.name for d in result.allocation_types if d.is_new] == [
        "Dekaf.Producer.ProducerRecord"
    ]
    assert any(d.is_new and SEND in d.name for d in result.allocation_sites)
    lock = result.contention[0]
    assert (lock.site, lock.is_new) == (FLUSH, False)
    assert (lock.base_max_ms, lock.new_max_ms) == (0.01, 0.1)
    assert result.self_grew == []  # same CPU profile in both
