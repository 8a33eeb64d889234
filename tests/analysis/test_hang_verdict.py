"""The hang verdict on real traces of programs that hang on purpose, and on a healthy one.

Fixtures (tests/fixtures/hang/*.facts.md say what each seeded and the exact commands): traces
recorded here with the real dotnet-trace and the `hang` preset, each with the dotnet-stack
report of the same process taken right after the trace.
"""

from __future__ import annotations

import re
import struct
import zipfile
from functools import cache
from pathlib import Path

import pytest

from tools.analysis import analyze as analyze_module
from tools.analysis import parallel
from tools.analysis.analyze import analyze_trace_file
from tools.analysis.awaits import AwaitCollector
from tools.analysis.hang import HangInputs, judge_hang
from tools.analysis.hang_models import AwaitSection, HangVerdict, StallInfo
from tools.analysis.markdown import render_markdown
from tools.analysis.results import TraceAnalysis
from tools.analysis.stacks import StackInterner
from tools.nettrace.model import Event, EventMetadata
from tools.nettrace.payloads import TPL
from tools.stack_snapshot import load_snapshot
from tools.stacks.model import Snapshot

HANG = Path(__file__).resolve().parents[1] / "fixtures" / "hang"
STACKS = Path(__file__).resolve().parents[1] / "fixtures" / "stacks"
PREFIX = "HangLab."
STALLED = StallInfo(detected=True, since_s=3.0, last_count=2867, detail="progress stopped")


def snapshot_of(path: Path) -> Snapshot:
    return load_snapshot(path, target_prefix=PREFIX)


@cache
def analysed(name: str, stacks: str | None = None, stall: bool | None = None) -> TraceAnalysis:
    """The analysis of hanglab-<name>, with a snapshot file and a stall report if asked."""
    snapshot = snapshot_of(HANG / stacks if "/" not in stacks else Path(stacks)) if stacks else None
    info = None if stall is None else (STALLED if stall else StallInfo(detected=False))
    return analyze_trace_file(
        HANG / f"hanglab-{name}.nettrace.zip",
        target_prefix=PREFIX,
        snapshot=snapshot,
        stall=info,
    )


def verdict(name: str, stacks: str | None = None, stall: bool | None = None) -> HangVerdict:
    found = analysed(name, stacks, stall).hang_verdict
    assert found is not None
    return found


def test_lock_order_deadlock_names_the_cycle_and_where_each_thread_waits() -> None:
    """Two threads, each waiting for the lock the other owns, in LockOrder.Transfer."""
    found = verdict("deadlock")
    assert found.kind == "lock_order_deadlock"
    first, second = found.cycle
    assert (first.owner_thread_id, second.owner_thread_id) == (second.thread_id, first.thread_id)
    assert first.waits_for_lock != second.waits_for_lock
    assert {h.waiting_frame for h in found.cycle} == {
        "hanglab!HangLab.LockOrder.Transfer(class HangLab.Account,class HangLab.Account,int32)"
    }
    assert all("HangLab.LockOrder.Loop" in h.holding_frames[1] for h in found.cycle)
    assert f"threads {first.thread_id} and {second.thread_id}" in found.headline


def test_the_snapshot_confirms_the_deadlocked_threads() -> None:
    """The dotnet-stack report of the same process still shows both threads in Monitor.Enter."""
    found = verdict("deadlock", "hanglab-deadlock.stacks.txt")
    ids = ", ".join(str(h.thread_id) for h in found.cycle)
    assert (
        f"confirmed by the stack snapshot: threads {ids} still in Monitor.Enter" in found.evidence
    )


def test_async_hang_reports_the_awaits_that_never_ended_innermost_first() -> None:
    """12 awaits open ~5.8 s in three methods; the innermost awaits a TaskCompletionSource."""
    found = verdict("async-hang")
    assert found.kind == "async_hang"
    methods = [g.method.split("!")[-1] for g in found.awaits]
    assert methods[0] == "HangLab.AsyncHang+<WaitForDeliveryAsync>d__7.MoveNext()"
    assert set(methods[1:]) == {
        "HangLab.AsyncHang+<FlushAsync>d__6.MoveNext()",
        "HangLab.AsyncHang+<ProduceLoop>d__5.MoveNext()",
    }
    assert [g.count for g in found.awaits] == [4, 4, 4]
    assert [g.innermost for g in found.awaits] == [True, False, False]
    assert all(5.0 < g.oldest_s < 6.5 and g.active_before for g in found.awaits)
    assert "12 awaits never completed" in found.headline and not found.blocked_pool


def test_async_hang_with_the_snapshot_says_no_thread_waits() -> None:
    """The snapshot backs the verdict: no worker thread is blocked, only Main and the reporter."""
    found = verdict("async-hang", "hanglab-async-hang.stacks.txt", stall=True)
    assert found.kind == "async_hang"
    assert any(e.startswith("no thread waits for them: the stack snapshot") for e in found.evidence)
    assert any("count stuck at 2,867" in e for e in found.evidence)


def test_sync_over_async_names_the_blocked_pool_threads_and_the_pool_growth() -> None:
    """Dozens of pool threads in GetResult at Flush; the pool grew by CooperativeBlocking."""
    analysis = analysed("sync-over-async", "hanglab-sync-over-async.stacks.txt")
    found = analysis.hang_verdict
    assert found is not None and found.kind == "sync_over_async_starvation"
    traced = found.blocked_pool[0]
    assert traced.source == "waithandle+tpl"  # WaitHandleWait events and TPL blocking waits
    assert traced.caller == "hanglab!HangLab.SyncOverAsync.Flush()"
    assert traced.blocked_in == "GetAwaiter().GetResult()" and traced.open_threads >= 40
    pool = analysis.thread_pool
    assert (
        pool.cooperative_blocking >= 20
        and (pool.workers_max or 0) - (pool.workers_first or 0) >= 30
    )
    assert any(e.startswith("confirmed by the stack snapshot: ") for e in found.evidence)
    assert any("CooperativeBlocking injections" in e for e in found.evidence)


@pytest.mark.parametrize("stall", [None, False])
def test_healthy_is_never_a_hang(stall: bool | None) -> None:
    """The busy control: every await ends, no cycle, no pool injection; the verdict says so."""
    found = verdict("healthy", "hanglab-healthy.stacks.txt", stall=stall)
    assert found.kind == "no_hang" and found.headline.startswith("No hang")
    assert any("task waits ended and none is stuck" in line for line in found.checked)
    assert ("progress kept growing during the trace" in found.checked) == (stall is False)
    markdown = render_markdown(analysed("healthy", "hanglab-healthy.stacks.txt", stall))
    section = markdown.split("## Contention & Deadlocks", 1)[1].split("## Recommendations")[0]
    assert "**Verdict: no hang.**" in section
    assert "suspected" not in section.lower() and "deadlock:" not in section.lower()


def test_a_stall_without_task_wait_events_asks_for_the_hang_preset(traces_dir: Path) -> None:
    """A stall reported on a trace without TPL events: no cause claimed, the preset to use."""
    analysis = analyze_trace_file(traces_dir / "filtrace-net10-wait.nettrace", stall=STALLED)
    found = analysis.hang_verdict
    assert found is not None and found.kind == "stall_without_evidence"
    assert (
        found.evidence[0]
        == "progress stalled: progress stopped, count stuck at 2,867, from 3.0 s into the trace"
    )
    assert found.next_collection is not None and "preset `hang`" in found.next_collection


@pytest.mark.parametrize(
    ("stacks", "tells"),
    [
        (None, "a stack snapshot (stack_snapshot)"),
        ("hanglab-healthy.stacks.txt", "`dumpasync`"),
        (str(STACKS / "deadlock.txt"), "`syncblk`"),
    ],
)
def test_the_one_collection_that_would_tell_follows_what_is_missing(
    stacks: str | None, tells: str
) -> None:
    """Stall reported on a trace with task waits: no snapshot -> take one; a snapshot without
    blocked locks -> a dump for dumpasync; threads in locks -> a dump for syncblk."""
    found = verdict("healthy", stacks, stall=True)
    assert found.kind == "stall_without_evidence"
    assert found.next_collection is not None and tells in found.next_collection


def test_a_snapshot_of_another_process_is_not_used() -> None:
    """Stacks taken from a different pid say nothing about this trace."""
    snapshot = snapshot_of(HANG / "hanglab-deadlock.stacks.txt").model_copy(update={"pid": 1})
    analysis = analyze_trace_file(
        HANG / "hanglab-deadlock.nettrace.zip", target_prefix=PREFIX, snapshot=snapshot
    )
    assert analysis.hang_verdict is not None and analysis.hang_verdict.snapshot is None


def test_markdown_states_the_verdict_with_evidence_and_table() -> None:
    """The Contention & Deadlocks section leads with the verdict, its evidence and its table."""
    section = render_markdown(analysed("async-hang")).split("## Contention & Deadlocks")[1]
    assert "**Verdict: async hang.** Async hang: 12 awaits never completed" in section
    assert "| awaiting method | open | oldest s | chain | completed in window |" in section
    assert "| `HangLab.AsyncHang+<WaitForDeliveryAsync>d__7.MoveNext()` | 4 |" in section


def _event(event_id: int, payload: bytes, timestamp: int, stack: tuple[int, ...]) -> Event:
    name = "TaskWaitBegin" if event_id == 10 else "TaskWaitEnd"
    meta = EventMetadata(event_id, TPL, event_id, name, 3 if event_id == 10 else 0)
    return Event(meta, 0, 7, 7, 0, timestamp, stack, payload)


def test_an_end_read_before_its_begin_still_closes_the_wait() -> None:
    """Threads write to their own buffers: the End of an await can come first in the file."""
    collector = AwaitCollector(StackInterner(), 8)
    end = _event(11, struct.pack("<3i", 1, 0, 42), 200, ())
    begin = _event(10, struct.pack("<5i", 1, 0, 42, 2, 43), 100, (0x1000,))
    collector.on_end(end)
    collector.on_begin(begin)
    collector.on_begin(_event(10, struct.pack("<5i", 1, 0, 77, 2, 78), 150, (0x1000,)))
    assert [w.task_id for w in collector.open_waits()] == [77]
    assert collector.completed[1].count == 1


@pytest.mark.parametrize("name", ["sync-over-async", "async-hang"])
def test_awaits_pair_across_parts_read_by_workers(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read in three parts by worker processes, the waits, the pool and the verdict are the
    one pass's (waits begun in one part and ended in another included)."""
    monkeypatch.setattr(parallel, "MIN_PART_BYTES", 0)
    with zipfile.ZipFile(HANG / f"hanglab-{name}.nettrace.zip") as archive:
        path = Path(archive.extract(f"hanglab-{name}.nettrace", tmp_path))
    assert len(parallel.plan(path, 3)) == 3
    one = analyze_trace_file(path, target_prefix=PREFIX, workers=1)
    parts = analyze_trace_file(path, target_prefix=PREFIX, workers=3)
    assert parts.awaits == one.awaits and parts.thread_pool == one.thread_pool
    assert parts.hang_verdict == one.hang_verdict
    assert one.awaits.ended > 1000


FLUSHLAB = {
    "deadlock": "lock_order_deadlock",
    "async-hang": "async_hang",
    "sync-over-async": "sync_over_async_starvation",
    "healthy": "no_hang",
}


@cache
def flushlab(name: str) -> HangVerdict:
    """The verdict on the sample target's trace, with its snapshot."""
    snapshot = load_snapshot(HANG / f"flushlab-{name}.stacks.txt", target_prefix="FlushLab.")
    analysis = analyze_trace_file(
        HANG / f"flushlab-{name}.nettrace.zip", target_prefix="FlushLab.", snapshot=snapshot
    )
    assert analysis.hang_verdict is not None
    return analysis.hang_verdict


@pytest.mark.parametrize(("scenario", "kind"), FLUSHLAB.items())
def test_sample_target_scenarios_get_their_verdict(scenario: str, kind: str) -> None:
    """FlushLab's four scenarios, traced from the stress tool's marker: one verdict each."""
    assert flushlab(scenario).kind == kind


def test_sample_target_deadlock_is_flush_against_the_sender() -> None:
    """The flush path waits in SenderLoop.WakeForFlush under SealAllUnderBatchLock while the
    sender waits in RecordAccumulator.SealFromOutside: each holds what the other wants."""
    found = flushlab("deadlock")
    waiting = {h.waiting_frame.split("!")[-1].split("(")[0] for h in found.cycle if h.waiting_frame}
    assert waiting == {
        "FlushLab.Producer.SenderLoop.WakeForFlush",
        "FlushLab.Producer.RecordAccumulator.SealFromOutside",
    }
    assert any("confirmed by the stack snapshot" in e for e in found.evidence)


def test_sample_target_async_hang_is_the_flush_awaiting_a_lost_waiter() -> None:
    """The innermost open await is MessageProducer.FlushAsync; its caller loop awaits it."""
    found = flushlab("async-hang")
    innermost = found.awaits[0]
    assert innermost.innermost and innermost.method.endswith(
        "FlushLab.Producer.MessageProducer+<FlushAsync>d__17.MoveNext()"
    )
    assert innermost.oldest_s > 5 and innermost.completed == 0
    assert any(e.startswith("no thread waits for them") for e in found.evidence)


def test_sample_target_starvation_blocks_in_produce_blocking() -> None:
    """Pool threads block in GetResult under MessageProducer.ProduceBlocking; the pool grows."""
    found = flushlab("sync-over-async")
    site = found.blocked_pool[0]
    assert "FlushLab.Producer.MessageProducer.ProduceBlocking(" in site.caller
    assert site.blocked_in == "GetAwaiter().GetResult()" and site.open_threads >= 10
    assert any("CooperativeBlocking injections" in e for e in found.evidence)


def test_a_cpu_only_trace_says_it_cannot_show_a_hang(traces_dir: Path) -> None:
    """Samples alone: no hang claimed, and the verdict says this trace could not show one."""
    analysis = analyze_trace_file(traces_dir / "perfview-only_managed_samples.nettrace.zip")
    found = analysis.hang_verdict
    assert found is not None and found.kind == "no_hang"
    assert found.headline.startswith("No hang seen, but this trace cannot show one")
    assert "preset `hang`" in found.headline


def _inputs_without_open_waits(name: str, monkeypatch: pytest.MonkeyPatch) -> HangInputs:
    """The verdict's inputs for flushlab-<name> without the waits still open at its end: what
    a window that closes between waits records (seen on a loaded CI machine, where the pool
    kept up and no thread was blocked at the last event)."""
    captured: list[HangInputs] = []

    def capture(inputs: HangInputs, *args: object, **kwargs: object) -> HangVerdict:
        captured.append(inputs)
        return HangVerdict(kind="no_hang", headline="", evidence=[])

    monkeypatch.setattr(analyze_module, "judge_hang", capture)
    analyze_trace_file(HANG / f"flushlab-{name}.nettrace.zip", target_prefix="FlushLab.")
    [inputs] = captured
    inputs.locks.waits.open.clear()
    inputs.awaits = AwaitSection(collected=True)
    return inputs


def test_short_blocking_waits_that_add_up_are_still_starvation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No pool thread blocked at the last event, none for a second, yet pool threads sat in
    GetResult many at a time while the pool injected threads: the verdict still names it,
    with the blocked time it adds up to."""
    inputs = _inputs_without_open_waits("sync-over-async", monkeypatch)
    found = judge_hang(inputs, stall=StallInfo(detected=False))
    assert found.kind == "sync_over_async_starvation"
    site = found.blocked_pool[0]
    assert "MessageProducer.ProduceBlocking(" in site.caller and site.open_threads == 0
    assert site.max_ms < 1000 and site.total_ms > 2 * 1000 * inputs.window_s
    assert re.search(
        r"thread-pool threads spent [\d,.]+ s of a [\d.]+ s window blocked in task waits "
        r"\(\d+\.\d at a time on average",
        found.headline,
    )
    assert "progress kept growing during the trace, while the pool added threads" in found.evidence


def test_the_healthy_control_without_open_waits_is_still_no_hang(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control's pool threads do not sit in task waits: closing its waits changes nothing."""
    inputs = _inputs_without_open_waits("healthy", monkeypatch)
    assert judge_hang(inputs).kind == "no_hang"
