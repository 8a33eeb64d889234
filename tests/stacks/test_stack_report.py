"""dotnet-stack report output, parsed and grouped the way an expert reads it.

Every input here is real `dotnet-stack report -p PID` output captured on this machine from tiny
programs that hang on purpose (tests/fixtures/stacks/*.facts.md say what each seeded and how).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.stacks.blocking import find_blocking
from tools.stacks.groups import Locate, build_snapshot
from tools.stacks.model import Snapshot
from tools.stacks.report import parse_report

STACKS = Path(__file__).resolve().parents[1] / "fixtures" / "stacks"
PREFIX = "HangLab."
CORELIB = "System.Private.CoreLib!System."
CT = "value class System.Threading.CancellationToken"


def snapshot(
    name: str, *, locate: Locate | None = None, max_groups: int = 12, max_frames: int = 12
) -> Snapshot:
    text = (STACKS / f"{name}.txt").read_text(encoding="utf-8")
    return build_snapshot(
        parse_report(text),
        pid=4242,
        target_prefix=PREFIX,
        locate=locate,
        max_groups=max_groups,
        max_frames=max_frames,
    )


def test_threads_frames_and_leaf_state_are_read_leaf_first() -> None:
    """Thread ids (hex), frames leaf first, and the pseudo frame read as the thread's state."""
    report = parse_report((STACKS / "deadlock.txt").read_text())
    assert [t.thread_id for t in report.threads] == [0x7A53, 0x7A5C, 0x7A5D, 0x7A5E]
    main = report.threads[0]
    assert main.state == "native"
    assert main.frames[0] == "System.Private.CoreLib!System.Threading.Thread.Join(int32)"
    assert main.frames[-1] == "hanglab!HangLab.Program.Main(class System.String[])"
    running = parse_report((STACKS / "healthy.txt").read_text()).threads
    assert [t.state for t in running].count("cpu") == 4
    assert all(
        "CPU_TIME" not in f and "[Native Frames]" not in f for t in running for f in t.frames
    )


def test_lock_order_deadlock_shows_both_threads_in_monitor_enter() -> None:
    """The two transfer threads are blocked in a lock, called from LockOrder.Transfer."""
    snap = snapshot("deadlock")
    assert snap.threads == 4
    assert snap.blocked_by_kind == {"lock": 2, "join": 1, "sleep": 1}
    locks = [g for g in snap.groups if g.block_kind == "lock"]
    assert [g.count for g in locks] == [1, 1]  # different lambdas at the root: two groups
    assert {g.caller_frame for g in locks} == {
        "hanglab!HangLab.LockOrder.Transfer(class HangLab.Account,class HangLab.Account,int32)"
    }
    assert all(g.blocked_in == "Monitor.Enter (lock)" for g in locks)


def test_result_wait_and_runtime_threads_are_told_apart() -> None:
    """`.Result` and `.Wait()` are named as such; the pool's idle worker and gate are idle."""
    snap = snapshot("result")
    by_caller = {g.caller_frame: g for g in snap.groups if g.state == "blocked"}
    assert by_caller["hanglab!HangLab.BlockOnResult.Fetch()"].blocked_in == "Task.Result"
    wait = by_caller["hanglab!HangLab.BlockOnResult.WaitTask()"]
    assert wait.blocked_in == "Task.Wait()" and wait.thread_pool
    run = by_caller["hanglab!HangLab.BlockOnResult.Run()"]
    assert run.block_kind == "wait_handle"  # ManualResetEventSlim.Wait
    idle = [g for g in snap.groups if g.state == "idle"]
    assert sum(g.count for g in idle) == 2 and snap.groups[-1].state == "idle"


def test_identical_stacks_are_one_group_with_a_count() -> None:
    """Three threads in SemaphoreSlim.Wait at the same place: one group of three."""
    snap = snapshot("semaphore")
    first = snap.groups[0]
    assert (first.count, first.blocked_in) == (3, "SemaphoreSlim.Wait()")
    assert first.caller_frame == "hanglab!HangLab.SemaphoreWait.Acquire()"
    assert len(first.thread_ids) == 3


def test_sync_over_async_pool_threads_blocked_in_get_result() -> None:
    """Dozens of pool threads blocked in GetAwaiter().GetResult() from Flush, grouped."""
    snap = snapshot("sync-over-async")
    blocked = [g for g in snap.groups if g.block_kind == "get_result"]
    assert sum(g.count for g in blocked) == snap.blocked_by_kind["get_result"] >= 20
    assert all(g.thread_pool for g in blocked)
    assert {g.caller_frame for g in blocked} == {"hanglab!HangLab.SyncOverAsync.Flush()"}
    assert snap.groups[0].count == max(g.count for g in snap.groups)


def test_async_hang_blocks_no_worker_thread() -> None:
    """Awaits that never complete hold no thread: only Main (GetResult) and the reporter wait."""
    snap = snapshot("async-hang")
    assert snap.blocked_by_kind == {"get_result": 1, "sleep": 1}
    main = next(g for g in snap.groups if g.block_kind == "get_result")
    assert main.caller_frame == "hanglab!HangLab.Program.Main(class System.String[])"
    assert not any(g.thread_pool and g.state == "blocked" for g in snap.groups)


def test_threads_with_few_or_no_named_managed_frames() -> None:
    """Native threads entering managed code: one-frame stacks, a DynamicMethod frame, and no
    entry at all for the thread whose managed stack was empty (the runtime never samples it)."""
    snap = snapshot("native")
    assert (
        snap.threads == 5
    )  # 6 threads ran managed code; the pthread back in native code is absent
    dynamic = next(g for g in snap.groups if g.frames[0].startswith("Anonymously Hosted"))
    assert dynamic.frames == ["Anonymously Hosted DynamicMethods Assembly!dynamicClass.Callback()"]
    assert (dynamic.state, dynamic.blocked_in, dynamic.target_frame) == ("waiting", None, None)
    blocker = next(g for g in snap.groups if g.target_frame and "Blocker" in g.target_frame)
    assert blocker.state == "waiting" and len(blocker.frames) == 1


def test_target_frames_are_linked_through_the_locator() -> None:
    """The first target frame of each group gets the file:line the locator gives."""
    transfer = (
        "hanglab!HangLab.LockOrder.Transfer(class HangLab.Account,class HangLab.Account,int32)"
    )
    where = {transfer: "src/LockOrder.cs:61"}
    snap = snapshot("deadlock", locate=where.get)
    locks = [g for g in snap.groups if g.block_kind == "lock"]
    assert {g.location for g in locks} == {"src/LockOrder.cs:61"}


def test_bounds_cut_groups_and_frames_and_say_so() -> None:
    """max_groups and max_frames bound the result; what was cut is counted."""
    snap = snapshot("sync-over-async", max_groups=2, max_frames=3)
    assert len(snap.groups) == 2 and snap.groups_cut >= 1
    assert all(len(g.frames) <= 3 for g in snap.groups)
    assert snap.groups[0].frames_cut > 0


def test_comment_lines_become_notes_and_garbage_gives_no_threads() -> None:
    """The slow-rundown comment dotnet-stack prints is kept; text without threads is empty."""
    comment = (
        "# Sufficiently large applications can cause this reportCommand to take non-trivial "
        "amounts of time\n"
    )
    report = parse_report(comment + (STACKS / "semaphore.txt").read_text())
    assert report.comments[0].startswith("Sufficiently large applications")
    assert len(report.threads) == 5
    assert parse_report("[ERROR] No process with ID 999999 is currently running.").threads == ()


@pytest.mark.parametrize(
    ("frames", "label", "caller"),
    [
        (
            [
                f"{CORELIB}Threading.Monitor.Wait(class System.Object,int32)",
                f"{CORELIB}Threading.ManualResetEventSlim.Wait(int32,{CT})",
                f"{CORELIB}Runtime.CompilerServices.TaskAwaiter.HandleNonSuccessAndDebuggerNotification"
                "(class System.Threading.Tasks.Task,value class ConfigureAwaitOptions)",
                "Dekaf!Dekaf.Producer.KafkaProducer`2[System.__Canon,System.__Canon].Flush()",
            ],
            "GetAwaiter().GetResult()",
            "Dekaf!Dekaf.Producer.KafkaProducer`2[System.__Canon,System.__Canon].Flush()",
        ),
        (
            [
                f"{CORELIB}Threading.Lock.EnterAndGetCurrentThreadId()",
                "Dekaf!Dekaf.X.Y()",
            ],
            "Monitor.Enter (lock)",
            "Dekaf!Dekaf.X.Y()",
        ),
        (
            [
                f"{CORELIB}Threading.Tasks.Task.WaitAsync(value class System.TimeSpan)",
                "Dekaf!Dekaf.X.Y()",
            ],
            None,
            None,
        ),
    ],
)
def test_blocking_call_is_the_api_nearest_the_program(
    frames: list[str], label: str | None, caller: str | None
) -> None:
    """The outermost blocking API before the program's frame names the wait; WaitAsync is none."""
    found = find_blocking(frames, "Dekaf.")
    assert (found.label if found else None, found.caller_frame if found else None) == (
        label,
        caller,
    )
