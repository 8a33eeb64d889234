"""stack_snapshot on a real running .NET process, and its failures as the model sees them.

The real tier builds a tiny C# program that deadlocks on two locks and snapshots it with the
real dotnet-stack (skipped only where `dotnet` is absent). The fake tier uses the fake dotnet
and dotnet-stack (tests/fakes) for the install-on-demand and error paths.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.base import ToolContext
from tools.catalog import default_registry
from tools.stacks.model import Snapshot

FAKES = Path(__file__).resolve().parents[1] / "fakes"
REAL_HOME = Path.home()  # read at import, before the autouse fixture points HOME elsewhere
REAL_TOOLS = REAL_HOME / ".dotnet" / "tools"

DEADLOCK_PROGRAM = """
namespace Snap;

public static class Program
{
    static readonly object First = new();
    static readonly object Second = new();
    static readonly Barrier BothHoldOne = new(2);

    public static void Main()
    {
        var a = new Thread(() => Transfer(First, Second)) { IsBackground = true };
        var b = new Thread(() => Transfer(Second, First)) { IsBackground = true };
        a.Start();
        b.Start();
        Console.WriteLine("both threads started");
        a.Join();
    }

    static void Transfer(object from, object to)
    {
        lock (from)
        {
            BothHoldOne.SignalAndWait();
            TakeSecond(to);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(
        System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static void TakeSecond(object to)
    {
        lock (to) { Console.WriteLine("never"); }
    }
}
"""
PROJECT = """<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
  </PropertyGroup>
</Project>
"""


@pytest.fixture(scope="session")
def deadlock_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny deadlocking program, built once with the real SDK."""
    if shutil.which("dotnet") is None:
        pytest.skip("the .NET SDK (dotnet) is not installed on this machine")
    folder = tmp_path_factory.mktemp("snapprog")
    (folder / "Snap.csproj").write_text(PROJECT)
    (folder / "Program.cs").write_text(DEADLOCK_PROGRAM)
    env = {**os.environ, "HOME": str(REAL_HOME), "DOTNET_CLI_TELEMETRY_OPTOUT": "1"}
    build = subprocess.run(
        ["dotnet", "build", "-c", "Release", "-o", str(folder / "out")],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert build.returncode == 0, build.stdout[-3000:]
    return folder / "out" / "Snap"


@pytest.fixture
def running_deadlock(deadlock_exe: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [str(deadlock_exe)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "HOME": str(REAL_HOME)},
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "both threads started"
    try:
        yield process
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


def test_real_snapshot_of_a_lock_order_deadlock(
    running_deadlock: subprocess.Popen[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both threads show up blocked in Monitor.Enter, called from TakeSecond, one group each;
    the whole report is saved and the snapshot kept for analyze_trace."""
    monkeypatch.setenv("PATH", f"{os.environ['PATH']}{os.pathsep}{REAL_TOOLS}")
    (tmp_path / ".perf-trace-analyzer.toml").write_text('target_prefix = "Snap."\n')
    ctx = ToolContext(repo=tmp_path)
    ctx.state["stress_pid"] = running_deadlock.pid
    for _ in range(20):  # the threads reach Monitor.Enter a moment after they start
        outcome = default_registry().dispatch("stack_snapshot", {}, ctx)
        assert not outcome.is_error, outcome.text
        assert isinstance(outcome.output, Snapshot)
        if outcome.output.blocked_by_kind.get("lock") == 2:
            break
        time.sleep(0.2)
    snap = outcome.output
    assert snap.pid == running_deadlock.pid and snap.blocked_by_kind["lock"] == 2
    locks = [g for g in snap.groups if g.block_kind == "lock"]
    assert {g.caller_frame for g in locks} == {"Snap!Snap.Program.TakeSecond(class System.Object)"}
    assert all(g.target_frame == g.caller_frame and not g.thread_pool for g in locks)
    assert snap.raw_path and "Monitor.Enter" in Path(snap.raw_path).read_text()
    assert ctx.state["snapshot"] is snap


@pytest.fixture
def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH = the fake dotnet (which can 'install' the fake dotnet-stack) + this python."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "dotnet").symlink_to(FAKES / "fake_dotnet.py")
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}")
    monkeypatch.setenv("PTA_FAKE_ARGV_LOG", str(tmp_path / "argv.jsonl"))
    return bin_dir


def test_missing_dotnet_stack_is_installed_once_and_used(fake_tools: Path, tmp_path: Path) -> None:
    """No dotnet-stack: `dotnet tool install --global dotnet-stack`, then the report is read."""
    ctx = ToolContext(repo=tmp_path)
    outcome = default_registry().dispatch("stack_snapshot", {"pid": os.getpid()}, ctx)
    assert not outcome.is_error, outcome.text
    log = (tmp_path / "argv.jsonl").read_text()
    assert '"argv": ["tool", "install", "--global", "dotnet-stack"]' in log
    assert isinstance(outcome.output, Snapshot)
    assert "dotnet-stack was missing" in outcome.output.notes[0]
    assert outcome.output.blocked_by_kind["lock"] == 2


def test_a_process_that_is_gone_is_an_error_naming_it(fake_tools: Path, tmp_path: Path) -> None:
    """dotnet-stack's own [ERROR] line reaches the model; no snapshot is kept."""
    (fake_tools / "dotnet-stack").symlink_to(FAKES / "fake_dotnet_stack.py")
    ctx = ToolContext(repo=tmp_path)
    outcome = default_registry().dispatch("stack_snapshot", {"pid": 4_000_000}, ctx)
    assert outcome.is_error
    assert "No process with ID 4000000 is currently running" in outcome.text
    assert "snapshot" not in ctx.state


def test_without_a_pid_or_a_stress_process_the_model_is_told_what_to_do(tmp_path: Path) -> None:
    """No pid and no trace_collect run: an error that says to give pid or run trace_collect."""
    outcome = default_registry().dispatch("stack_snapshot", {}, ToolContext(repo=tmp_path))
    assert outcome.is_error and "run trace_collect" in outcome.text
