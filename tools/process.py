"""The one way this project runs a subprocess.

Every process: a fixed argv list (never a shell), standard input closed (a tool that waits for
Enter or reads stdin gets EOF instead of hanging), its own process group (so a timeout kills the
whole tree, e.g. ``dotnet`` and the build servers it spawns), a timeout, and only the tail of
its output kept. A missing executable becomes a :class:`ToolError` with an install hint.

Because each child runs in its own session, a Ctrl+C or a SIGTERM aimed at this program never
reaches it. Every started group is therefore kept in :data:`LIVE_GROUPS` until it has been
stopped, so the program's signal handling can stop them all (:func:`stop_all_process_groups`).
"""

from __future__ import annotations

import atexit
import collections
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tools.errors import ToolError

OUTPUT_TAIL_LINES = 200
"""How many trailing output lines a result keeps (errors are at the end)."""

KILL_GRACE_S = 3.0
"""Time between SIGTERM and SIGKILL to a process group."""

EXIT_DRAIN_S = 0.5
"""After the main process exits, how long to keep reading output its children may still hold."""

INSTALL_HINTS: dict[str, str] = {
    "dotnet": "Install the .NET SDK (https://dot.net/download) and make sure `dotnet` is on PATH.",
    "dotnet-trace": (
        "Install it with `dotnet tool install --global dotnet-trace` and add "
        "~/.dotnet/tools to PATH."
    ),
    "dotnet-stack": (
        "Install it with `dotnet tool install --global dotnet-stack` and add "
        "~/.dotnet/tools to PATH."
    ),
    "docker": "Install Docker Engine or Docker Desktop and start it.",
}


class ExecutableNotFound(ToolError):
    """Raised when argv[0] is not on PATH; the message carries the install hint."""

    def __init__(self, executable: str) -> None:
        hint = INSTALL_HINTS.get(Path(executable).name, "Install it and make sure it is on PATH.")
        super().__init__(f"{executable!r} was not found on PATH. {hint}")
        self.executable = executable


@dataclass(frozen=True)
class ProcessResult:
    """How a finished (or killed) process ended.

    Attributes:
        argv: the command that ran.
        exit_code: its exit status (negative for a signal), None if it never exited by itself.
        output_tail: the last lines of stdout and stderr, interleaved as written.
        duration_s: wall time.
        timed_out: killed because the timeout expired.
        cancelled: killed because the caller cancelled.
    """

    argv: tuple[str, ...]
    exit_code: int | None
    output_tail: str
    duration_s: float
    timed_out: bool = False
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        """Exited by itself with status 0."""
        return self.exit_code == 0 and not self.timed_out and not self.cancelled


class ProcessRunner(Protocol):
    """Runs a process to completion (injected into tools; tests pass fakes)."""

    def __call__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        timeout: float,
        env: Mapping[str, str] | None = None,
        on_line: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> ProcessResult: ...


def resolve_executable(name: str, env: Mapping[str, str] | None = None) -> str:
    """The full path of ``name`` on PATH (of ``env`` when given), or :class:`ExecutableNotFound`."""
    path = (env or os.environ).get("PATH")
    found = shutil.which(name, path=path)
    if found is None:
        raise ExecutableNotFound(name)
    return found


class _LiveGroups:
    """The process groups this program started and has not stopped yet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[int, RunningProcess] = {}

    def add(self, process: RunningProcess) -> None:
        with self._lock:
            self._live[process.pid] = process

    def discard(self, process: RunningProcess) -> None:
        with self._lock:
            self._live.pop(process.pid, None)

    def pids(self) -> list[int]:
        """The leaders' pids, oldest first."""
        with self._lock:
            return list(self._live)

    def stop_all(self, grace_s: float) -> int:
        """SIGTERM to every group, SIGKILL to what is left after ``grace_s``; how many groups."""
        with self._lock:
            live = list(self._live.values())
        for process in live:
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in live:
            process.wait(deadline - time.monotonic())
        for process in live:
            _signal_group(process.pid, signal.SIGKILL)  # stragglers and the group's children
            process.wait(0.5)
            self.discard(process)
        return len(live)

    def kill_running(self) -> None:
        """SIGKILL to the groups whose leader still runs (the last resort at interpreter exit)."""
        with self._lock:
            live = [p for p in self._live.values() if p.poll() is None]
        for process in live:
            _signal_group(process.pid, signal.SIGKILL)


LIVE_GROUPS = _LiveGroups()
"""Every process group started through this module and not yet stopped."""

atexit.register(LIVE_GROUPS.kill_running)


def stop_all_process_groups(grace_s: float = KILL_GRACE_S) -> int:
    """Stops every child process group still running (signal handling); returns their count."""
    return LIVE_GROUPS.stop_all(grace_s)


class _SpawnShield:
    """Holds back an interrupt that arrives while the main thread starts a child.

    Between ``fork`` and the moment the child is in :data:`LIVE_GROUPS`, an exception raised
    by a signal handler would leave a child nobody knows to stop. The handler asks
    :func:`defer_interrupt` first; the interrupt is raised once the child is registered.
    """

    def __init__(self) -> None:
        self.active = False
        self.pending: BaseException | None = None

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self.active = True

    def __exit__(self, *exc: object) -> None:
        if not self.active:
            return
        self.active = False
        pending, self.pending = self.pending, None
        if pending is not None:
            raise pending


_SHIELD = _SpawnShield()


def defer_interrupt(interrupt: BaseException) -> bool:
    """For a signal handler: True when ``interrupt`` was kept to be raised once the child
    being started is registered; False when the handler should raise it now."""
    if not _SHIELD.active:
        return False
    _SHIELD.pending = _SHIELD.pending or interrupt
    return True


class RunningProcess:
    """A started process whose output lines can be read as they come.

    Use :func:`spawn_process` to create one. Lines are read by a background thread; the last
    :data:`OUTPUT_TAIL_LINES` are kept.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        tail_lines: int = OUTPUT_TAIL_LINES,
    ) -> None:
        self.argv = tuple(argv)
        executable = resolve_executable(self.argv[0], env)
        self.started = time.monotonic()
        self._tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._exited_at: float | None = None
        try:
            with _SHIELD:
                self._popen = subprocess.Popen(  # noqa: S603 - fixed argv list, never a shell
                    [executable, *self.argv[1:]],
                    cwd=cwd,
                    env=dict(env) if env is not None else None,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                LIVE_GROUPS.add(self)
        except BaseException:
            if hasattr(self, "_popen"):  # interrupted once registered: nobody else can stop it
                self.kill_group()
                self._popen.stdout.close()  # type: ignore[union-attr]  # a pipe, never None
            raise
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        """The OS process id."""
        return self._popen.pid

    def _read(self) -> None:
        stream = self._popen.stdout
        assert stream is not None
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            self._tail.append(line)
            self._lines.put(line)
        stream.close()
        self._lines.put(None)

    def lines(self, *, deadline: float, cancel: threading.Event | None = None) -> Iterator[str]:
        """Yields output lines until the stream ends, the monotonic ``deadline`` or a cancel."""
        while True:
            if cancel is not None and cancel.is_set():
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                line = self._lines.get(timeout=min(remaining, 0.2))
            except queue.Empty:
                if self._exited_and_drained():
                    return
                continue
            if line is None:
                self._lines.put(None)  # later callers see the end too
                return
            yield line

    def _exited_and_drained(self) -> bool:
        # A child that inherited stdout (an MSBuild node, a build server) keeps the pipe open
        # after the main process exits; EOF may never come, so the exit itself ends the read.
        if self._popen.poll() is None:
            return False
        if self._exited_at is None:
            self._exited_at = time.monotonic()
        return time.monotonic() - self._exited_at > EXIT_DRAIN_S and self._lines.empty()

    def poll(self) -> int | None:
        """The exit status, or None while running."""
        return self._popen.poll()

    def wait(self, timeout: float) -> int | None:
        """Waits up to ``timeout`` seconds; returns the exit status or None."""
        try:
            return self._popen.wait(timeout=max(timeout, 0))
        except subprocess.TimeoutExpired:
            return None

    def kill_group(self, grace_s: float = KILL_GRACE_S) -> None:
        """Stops the whole process group: SIGTERM, then SIGKILL after ``grace_s``."""
        if self._popen.poll() is None:
            _signal_group(self._popen.pid, signal.SIGTERM)
            if self.wait(grace_s) is None:
                _signal_group(self._popen.pid, signal.SIGKILL)
                self.wait(grace_s)
        _signal_group(self._popen.pid, signal.SIGKILL)  # leftovers of the group
        if self._popen.poll() is not None:
            LIVE_GROUPS.discard(self)

    def output_tail(self) -> str:
        """The last kept output lines."""
        self._reader.join(timeout=1.0)
        return "\n".join(self._tail)

    def result(self, *, timed_out: bool = False, cancelled: bool = False) -> ProcessResult:
        """A :class:`ProcessResult` for the process as it is now."""
        return ProcessResult(
            self.argv,
            self._popen.poll(),
            self.output_tail(),
            time.monotonic() - self.started,
            timed_out=timed_out,
            cancelled=cancelled,
        )


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def spawn_process(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None
) -> RunningProcess:
    """Starts a process in its own group with stdin closed; see :class:`RunningProcess`."""
    return RunningProcess(argv, cwd=cwd, env=env)


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> ProcessResult:
    """Runs ``argv`` to completion or until ``timeout`` / ``cancel``; kills its group then.

    Raises:
        ExecutableNotFound: argv[0] is not on PATH.
    """
    process = spawn_process(argv, cwd=cwd, env=env)
    try:
        deadline = process.started + timeout
        for line in process.lines(deadline=deadline, cancel=cancel):
            if on_line is not None:
                on_line(line)
        cancelled = cancel is not None and cancel.is_set()
        finished = not cancelled and process.wait(deadline - time.monotonic()) is not None
    finally:
        # Also on Ctrl+C or a signal: the child runs in its own session and would live on.
        process.kill_group()  # reaps background children the process left in its group too
    if not finished:
        return process.result(timed_out=not cancelled, cancelled=cancelled)
    return process.result()
