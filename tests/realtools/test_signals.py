"""SIGINT, SIGTERM and SIGHUP at random moments of `pta ask`, `pta batch` and `pta mcp` over the
fake dotnet / dotnet-trace / stress tool: no child survives, the transcript ends with its end
record, and the exit status is 128 + the signal number."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PTA = str(Path(sys.executable).parent / "pta")
REQUEST = "where does the producer spend its CPU?"
SEED = int(os.environ.get("PTA_SIGNAL_SEED", str(time.time_ns() % 10_000)))
"""Seed of the random moments; printed in a failure so the run can be repeated."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return not stat.read_text().rsplit(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False


def _start(argv: list[str], cwd: Path) -> subprocess.Popen[str]:
    # Its own session, like a shell's foreground job: a Ctrl+C reaches `pta` and nothing else
    # (its children run in sessions of their own).
    return subprocess.Popen(
        [PTA, *argv],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _deliver(process: subprocess.Popen[str], sig: signal.Signals) -> None:
    if sig == signal.SIGINT:
        os.killpg(process.pid, sig)  # what the terminal does on Ctrl+C
    else:
        process.send_signal(sig)


def _wait_for(condition: Callable[[], bool], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _outcome(process: subprocess.Popen[str], fakes: Any) -> tuple[int, list[int], str]:
    _, stderr = process.communicate(timeout=30)
    status = process.returncode
    pids = [call["pid"] for program in ("dotnet", "dotnet-trace", "stress")
            for call in fakes.calls(program)]  # fmt: skip
    survivors = [pid for pid in pids if not _wait_for(lambda pid=pid: not _alive(pid), 1.0)]
    for pid in survivors:  # leave nothing running on the machine, then fail
        os.kill(pid, signal.SIGKILL)
    return status, survivors, stderr


def _last_event(repo: Path) -> dict[str, Any]:
    [transcript] = (repo / ".perf-trace-analyzer" / "sessions").glob("*.jsonl")
    event: dict[str, Any] = json.loads(transcript.read_text().splitlines()[-1])
    return event


EXPECTED_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_the_build_stops_dotnet_build(
    repo: Path,
    fakes: Any,
    kafka_stub: Callable[..., Any],
    sig: signal.Signals,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The signal arrives while `dotnet build` runs (a 60 s fake build): it does not outlive
    `pta`, the transcript's last record is the end, the status is 128 + the signal."""
    monkeypatch.setenv("PTA_FAKE_TIME_SCALE", "30")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_stub().bootstrap)
    process = _start(["ask", REQUEST, "--offline", "--repo", str(repo)], repo)
    assert _wait_for(lambda: bool(fakes.calls("dotnet")), 30), "dotnet build never started"
    time.sleep(0.3)
    _deliver(process, sig)
    status, survivors, stderr = _outcome(process, fakes)
    assert survivors == [], stderr
    assert status == EXPECTED_STATUS[sig], stderr
    assert f"interrupted ({sig.name})" in stderr
    end = _last_event(repo)
    assert (end["event"], end["status"]) == ("end", "interrupted")


@pytest.mark.parametrize("command", ["ask", "batch"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_at_a_random_moment_leaves_no_child_running(
    repo: Path,
    fakes: Any,
    kafka_stub: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    command: str,
    sig: signal.Signals,
) -> None:
    """Build, stress tool, dotnet-trace: whichever runs when the signal lands is stopped."""
    moment = random.Random(f"{SEED}-{command}-{sig.name}").uniform(0.0, 4.0)
    monkeypatch.setenv("PTA_FAKE_TIME_SCALE", "0.5")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_stub().bootstrap)
    if command == "ask":
        argv = ["ask", REQUEST, "--offline", "--repo", str(repo)]
    else:
        requests = tmp_path / "requests.txt"
        requests.write_text(f"{REQUEST}\nis the consumer slow?\n")
        argv = ["batch", str(requests), "--offline", "--repo", str(repo)]
        argv += ["--out", str(tmp_path / "results.jsonl"), "--continue-on-error"]
    process = _start(argv, repo)
    assert _wait_for(lambda: bool(fakes.calls("dotnet")), 30), "no child ever started"
    time.sleep(moment)
    running = process.poll() is None
    _deliver(process, sig)
    status, survivors, stderr = _outcome(process, fakes)
    where = f"seed {SEED}, signal {moment:.2f} s after the first child"
    assert survivors == [], f"{where}: {stderr}"
    if running:
        assert status == EXPECTED_STATUS[sig], f"{where}: {stderr}"
        assert _last_event(repo)["event"] == "end", where


def test_sigterm_to_the_mcp_server_stops_a_running_build(repo: Path, fakes: Any) -> None:
    """`pta mcp` killed with SIGTERM in the middle of a build call: the build dies with it."""
    from mcp import Client, StdioServerParameters

    env = {**os.environ, "PTA_FAKE_TIME_SCALE": "30"}
    params = StdioServerParameters(command=PTA, args=["mcp", "--repo", str(repo)], env=env)
    outcome: dict[str, Any] = {}

    async def body() -> None:
        import anyio

        async with Client(params) as client:
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "build", {})
                started = await anyio.to_thread.run_sync(
                    lambda: _wait_for(lambda: bool(fakes.calls("dotnet")), 30)
                )
                outcome["started"] = started
                server = _server_pid(fakes.calls("dotnet")[0]["pid"]) if started else None
                outcome["server"] = server
                if server is not None:
                    os.kill(server, signal.SIGTERM)
                    outcome["gone"] = await anyio.to_thread.run_sync(
                        lambda: _wait_for(lambda: not _alive(server), 20)
                    )
                group.cancel_scope.cancel()

    import anyio

    try:
        anyio.run(body)
    except Exception:  # the client sees its server vanish; only the processes matter here
        pass
    assert outcome.get("started") and outcome.get("server") and outcome.get("gone"), outcome
    [build] = fakes.calls("dotnet")
    assert _wait_for(lambda: not _alive(build["pid"]), 5)


def _server_pid(child: int) -> int | None:
    """The `pta mcp` process: the parent of the build it started."""
    try:
        return int(Path(f"/proc/{child}/stat").read_text().rsplit(") ", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
