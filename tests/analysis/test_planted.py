"""Planted scenarios written with the nettrace writer: the analyses must find what was planted."""

from __future__ import annotations

from pathlib import Path

from tools.analysis.analyze import analyze_trace_file
from tools.analysis.synthetic import SyntheticTrace

MS = 10_000  # ticks per millisecond at the writer's default 10 MHz clock
MAIN = "StressHost!StressHost.Program.Main(class System.String[])"
HOT = "Dekaf!Dekaf.Producer.RecordAccumulator.TryAppend(int32)"
COLD = "Dekaf!Dekaf.Producer.BrokerSender.SendLoopAsync()"
BCL = "System.Private.CoreLib!System.Threading.Monitor.Enter(class System.Object)"
PRODUCE = "Dekaf!Dekaf.Producer.KafkaProducer`2.ProduceAsync(!0,!1)"
SEAL = "Dekaf!Dekaf.Producer.RecordAccumulator.SealBatchesAsync()"
ALLOC = "System.Private.CoreLib!System.GC.AllocateNewArray(int32)"


def test_hot_method_at_sixty_percent_leads_top_self(tmp_path: Path) -> None:
    """A method holding 60 % of the samples is first in top_self with about 60 %."""
    path = tmp_path / "hot.nettrace"
    with SyntheticTrace(path) as trace:
        for i in range(1000):
            leaf = HOT if i % 5 < 3 else (COLD if i % 5 == 3 else BCL)
            trace.sample(7, (i + 1) * MS, (MAIN, leaf))
    cpu = analyze_trace_file(path).cpu
    assert cpu.top_self[0].name == HOT
    assert cpu.top_self[0].percent == 60.0 and cpu.top_self[0].samples == 600
    assert cpu.share.target == 80.0 and cpu.share.runtime == 20.0
    assert cpu.target_inclusive_percent == 80.0


def test_per_message_allocation_site_is_called_out(tmp_path: Path) -> None:
    """A 64-byte object per message is a per-message site; a 16 KB buffer per batch is not."""
    path = tmp_path / "alloc.nettrace"
    messages = 10_000
    with SyntheticTrace(path) as trace:
        for i in range(8):  # 8 ticks × 80,000 B = 64 B per message
            trace.allocation(
                3, (i + 1) * MS, (MAIN, PRODUCE, ALLOC), "Dekaf.Producer.ProduceRequest", 80_000, 64
            )
        for i in range(2):  # 160 KB of 16 KB buffers over 10,000 messages = 16 B per message
            trace.allocation(4, (i + 1) * MS, (MAIN, SEAL, ALLOC), "System.Byte[]", 80_000, 16_384)
    allocs = analyze_trace_file(path, messages=messages).allocations
    per_message = [s for s in allocs.by_site if s.classification == "per-message"]
    assert len(per_message) == 1
    site = per_message[0]
    assert site.types == ["Dekaf.Producer.ProduceRequest"]
    assert site.target_frame == PRODUCE and site.frames[-2:] == [PRODUCE, ALLOC]
    assert site.bytes_per_message == 64.0
    batch = next(s for s in allocs.by_site if s.target_frame == SEAL)
    assert batch.classification == "per-batch-or-rarer"
    assert allocs.by_type[0].type == "Dekaf.Producer.ProduceRequest"
    assert allocs.per_message_sites == 1


def test_two_threads_waiting_on_each_others_lock_is_a_suspected_deadlock(tmp_path: Path) -> None:
    """Threads 10 and 20 each wait for a lock the other owns until the end: a suspected cycle."""
    path = tmp_path / "deadlock.nettrace"
    a_stack = (MAIN, "Dekaf!Dekaf.Producer.KafkaProducer`2.FlushAsync()", BCL)
    b_stack = (MAIN, "Dekaf!Dekaf.Producer.BrokerSender.ProcessCompletedResponses()", BCL)
    with SyntheticTrace(path) as trace:
        trace.sample(1, 1 * MS, (MAIN,))
        trace.contention(10, 5 * MS, a_stack, lock_id=0xA000, owner=20)
        trace.contention(20, 6 * MS, b_stack, lock_id=0xB000, owner=10)
        for i in range(2, 500):
            trace.sample(1, i * MS, (MAIN, COLD))
    analysis = analyze_trace_file(path)
    assert analysis.deadlock.suspected
    cycle = next(e for e in analysis.deadlock.evidence if e.kind == "cycle")
    assert sorted(cycle.threads) == [10, 20]
    assert sorted(s[-2] for s in cycle.stacks) == sorted([a_stack[-2], b_stack[-2]])
    assert "suspected" in cycle.message.lower()
    assert analysis.contention.unfinished == 2


def test_finished_short_contention_is_not_a_deadlock(tmp_path: Path) -> None:
    """Contention that starts and stops quickly is reported with its duration, not as a deadlock."""
    path = tmp_path / "busy.nettrace"
    with SyntheticTrace(path) as trace:
        for i in range(100):
            trace.contention(10, (2 * i + 1) * MS, (MAIN, HOT, BCL), lock_id=0xA000, owner=20)
            trace.contention_stop(10, (2 * i + 1) * MS + 500, 50_000.0)
    analysis = analyze_trace_file(path)
    assert not analysis.deadlock.suspected
    assert analysis.contention.events == 100
    assert analysis.contention.total_ms == 5.0 and analysis.contention.max_ms == 0.05
    assert analysis.contention.top[0].site == HOT
    assert analysis.contention.top[0].owner_threads == [20]


def test_v6_trace_gives_the_same_hot_method(tmp_path: Path) -> None:
    """The same planted CPU profile written as NetTrace V6 analyses to the same top method."""
    path = tmp_path / "hot-v6.nettrace"
    with SyntheticTrace(path, version=6, block_size=2_000) as trace:
        for i in range(500):
            trace.sample(7 + i % 2, (i + 1) * MS, (MAIN, HOT if i % 5 < 3 else COLD))
    analysis = analyze_trace_file(path)
    assert analysis.trace.format == "nettrace-v6"
    assert analysis.cpu.top_self[0].name == HOT and analysis.cpu.top_self[0].percent == 60.0
    assert {t.thread_id for t in analysis.threads} == {7, 8}


def test_truncated_trace_is_analysed_with_a_note(traces_dir: Path, tmp_path: Path) -> None:
    """A trace cut at 60 % still analyses: truncated is set and a note says so."""
    data = (traces_dir / "filtrace-net10-wait.nettrace").read_bytes()
    cut = tmp_path / "cut.nettrace"
    cut.write_bytes(data[: len(data) * 6 // 10])
    analysis = analyze_trace_file(cut)
    assert analysis.trace.truncated
    assert analysis.cpu.samples > 0
    assert any("truncated" in note for note in analysis.notes)


def test_corrupt_record_keeps_what_came_before(traces_dir: Path, tmp_path: Path) -> None:
    """Bytes smashed in the middle stop the read there; the events before it are analysed."""
    data = bytearray((traces_dir / "filtrace-net10-contention.nettrace").read_bytes())
    data[300_000:300_400] = b"\xff" * 400
    broken = tmp_path / "broken.nettrace"
    broken.write_bytes(bytes(data))
    analysis = analyze_trace_file(broken)
    assert analysis.trace.truncated and 0 < analysis.trace.events < 5206
    assert any("corrupt record" in note for note in analysis.notes)


def test_regions_that_overlap_in_time_are_noted(tmp_path: Path) -> None:
    """A thread whose clock steps back across sequence points: the note says the open
    intervals there were left out, and every sample is still counted."""
    path = tmp_path / "overlap.nettrace"
    with SyntheticTrace(path, block_size=2000, sequence_point_every=1) as trace:
        for i in range(400):
            ts = (i % 200 + 1) * MS  # the second half repeats the first half's times
            trace.sample(7, ts, (MAIN, HOT))
    analysis = analyze_trace_file(path, workers=1)
    assert analysis.cpu.samples == 400
    assert any("left out of thread time" in note for note in analysis.notes)
