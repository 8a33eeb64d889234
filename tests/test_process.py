"""The one process runner: group kill on timeout, stdin closed, missing executable, tail, cancel."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from tools.errors import ToolError
from tools.process import OUTPUT_TAIL_LINES, ExecutableNotFound, run_process

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
