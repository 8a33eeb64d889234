"""The one process runner: group kill on timeout, stdin closed, missing executable, tail, cancel,
and no child left running when the program is interrupted."""

from __future__ import annotations

import _thread
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agent.interrupts import Interrupted, SignalGuard
from tools.errors import ToolError
from tools.process import (
    LIVE_GROUPS,
    OUTPUT_TAIL_LINES,
    ExecutableNotFound,
    run_process,
    spawn_process,
    stop_all_process_groups,
)

PY = sys.executable


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def test_timeout_kills_the_whole_group_including_a_grandchild(tmp_path: Path) -> None:
    """A child that spawns a grandchild sleeping forever: both die at the timeout."""
    pid_file = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(3600)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "print('spawned', flush=True)\n"
        "time.sleep(3600)\n"
    )
    started = time.monotonic()
    result = run_process([PY, "-c", script], cwd=tmp_path, timeout=1.5)
    assert result.timed_out and not result.ok
    assert time.monotonic() - started < 10
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_stdin_is_closed_so_a_reader_returns_at_once(tmp_path: Path) -> None:
    """A child that reads all of stdin gets EOF instead of waiting for a human."""
    script = "import sys; data = sys.stdin.read(); print('read', len(data))"
    started = time.monotonic()
    result = run_process([PY, "-c", script], cwd=tmp_path, timeout=30)
    assert result.ok
    assert "read 0" in result.output_tail
    assert time.monotonic() - started < 10


def test_missing_executable_is_a_tool_error_with_the_install_hint(tmp_path: Path) -> None:
    """`dotnet` absent from PATH: ExecutableNotFound (a ToolError) naming how to install it."""
    with pytest.raises(ExecutableNotFound) as caught:
        run_process(["dotnet", "--version"], cwd=tmp_path, timeout=5, env={"PATH": str(tmp_path)})
    assert isinstance(caught.value, ToolError)
    assert "dot.net/download" in str(caught.value)


def test_only_the_tail_of_a_long_output_is_kept(tmp_path: Path) -> None:
    """1000 lines printed: the result keeps the last lines (errors are at the end)."""
    script = "for i in range(1000): print(f'line {i}')"
    seen: list[str] = []
    result = run_process([PY, "-c", script], cwd=tmp_path, timeout=30, on_line=seen.append)
    lines = result.output_tail.splitlines()
    assert len(lines) == OUTPUT_TAIL_LINES
    assert lines[-1] == "line 999" and "line 0" not in lines
    assert len(seen) == 1000


def test_cancel_event_stops_a_running_process(tmp_path: Path) -> None:
    """Setting the cancel event ends a long process promptly, marked cancelled."""
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    result = run_process(
        [PY, "-c", "import time; time.sleep(3600)"], cwd=tmp_path, timeout=60, cancel=cancel
    )
    assert result.cancelled and not result.timed_out and not result.ok
    assert time.monotonic() - started < 10


def test_exit_status_is_reported(tmp_path: Path) -> None:
    """A failing command keeps its status and output."""
    result = run_process(
        [PY, "-c", "import sys; print('boom'); sys.exit(3)"], cwd=tmp_path, timeout=30
    )
    assert result.exit_code == 3 and not result.ok
    assert "boom" in result.output_tail


def _wait_dead(pid: int, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


def _grandchild_script(pid_file: Path) -> str:
    return (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(3600)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "print('spawned', flush=True)\n"
        "time.sleep(3600)\n"
    )


def test_ctrl_c_during_run_process_stops_the_whole_group(tmp_path: Path) -> None:
    """KeyboardInterrupt while waiting on a child (in its own session, so Ctrl+C never reaches
    it): the child and its grandchild are stopped before the interrupt propagates."""
    pid_file = tmp_path / "grandchild.pid"
    seen: list[str] = []

    def interrupt_once_spawned(line: str) -> None:
        seen.append(line)
        _thread.interrupt_main()

    with pytest.raises(KeyboardInterrupt):
        run_process(
            [PY, "-c", _grandchild_script(pid_file)],
            cwd=tmp_path,
            timeout=60,
            on_line=interrupt_once_spawned,
        )
    assert seen == ["spawned"]
    assert _wait_dead(int(pid_file.read_text()))
    assert LIVE_GROUPS.pids() == []


def test_stop_all_process_groups_stops_every_running_child(tmp_path: Path) -> None:
    """What the signal handling calls: every group started and not yet stopped gets stopped."""
    first = spawn_process([PY, "-c", "import time; time.sleep(3600)"], cwd=tmp_path)
    pid_file = tmp_path / "grandchild.pid"
    second = spawn_process([PY, "-c", _grandchild_script(pid_file)], cwd=tmp_path)
    for _ in second.lines(deadline=time.monotonic() + 10):
        break
    assert set(LIVE_GROUPS.pids()) >= {first.pid, second.pid}
    assert stop_all_process_groups(grace_s=1.0) >= 2
    for pid in (first.pid, second.pid, int(pid_file.read_text())):
        assert _wait_dead(pid), pid
    assert LIVE_GROUPS.pids() == []


def test_a_signal_during_the_start_of_a_child_is_held_until_it_can_be_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM delivered the instant Popen returns (before the child is known to anyone): the
    interrupt waits until the child is registered, then the child is stopped, not orphaned."""
    started: list[int] = []
    real_popen = subprocess.Popen

    def popen_then_signal(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        child = real_popen(*args, **kwargs)
        started.append(child.pid)
        signal.raise_signal(signal.SIGTERM)  # the handler runs before this function returns
        return child

    monkeypatch.setattr(subprocess, "Popen", popen_then_signal)
    with SignalGuard(), pytest.raises(Interrupted) as caught:
        spawn_process([PY, "-c", "import time; time.sleep(3600)"], cwd=tmp_path)
    assert caught.value.exit_status == 143
    assert _wait_dead(started[0])
    assert LIVE_GROUPS.pids() == []


def test_a_second_signal_kills_every_child_at_once_and_exits(tmp_path: Path) -> None:
    """The first signal unwinds gracefully; a second one (an impatient user) SIGKILLs every
    child group still running and leaves at once with 128 + the signal."""
    exits: list[int] = []
    child = spawn_process([PY, "-c", "import time; time.sleep(3600)"], cwd=tmp_path)
    with SignalGuard(force_exit=exits.append), pytest.raises(Interrupted):
        try:
            signal.raise_signal(signal.SIGINT)
        finally:
            signal.raise_signal(signal.SIGHUP)  # arrives while the first one unwinds
    assert exits == [129]
    assert _wait_dead(child.pid)
    assert LIVE_GROUPS.pids() == []
