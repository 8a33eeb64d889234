"""trace_collect with the real dotnet-trace attached to a real .NET process that prints the
Dekaf stress tool's line shapes (tests/realtools/stress_shaped), under a German locale."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools.analysis.cpu import stack_samples
from tools.process import run_process
from tools.trace_collect import STRESS_ENV, trace_collect
from tools.trace_collect_models import TraceCollectArgs

SOURCE = Path(__file__).resolve().parent / "stress_shaped"


@pytest.fixture(scope="session")
def stress_shaped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The console app, built once per session (Release)."""
    if shutil.which("dotnet") is None:
        pytest.skip("no `dotnet` on PATH: no real .NET process can run here")
    work = tmp_path_factory.mktemp("stress_shaped")
    for name in ("StressShaped.csproj", "Program.cs"):
        shutil.copyfile(SOURCE / name, work / name)
    env = {**os.environ, "DOTNET_CLI_UI_LANGUAGE": "en", "DOTNET_NOLOGO": "1"}
    argv = ["dotnet", "build", str(work), "-c", "Release", "-o", str(work / "out")]
    built = run_process([*argv, "-nodeReuse:false"], cwd=work, timeout=600, env=env)
    assert built.ok, built.output_tail[-3000:]
    return work / "out" / "StressShaped"


def _first_lines(exe: Path, env: dict[str, str]) -> str:
    result = run_process([str(exe), "--duration", "1"], cwd=exe.parent, timeout=1.5, env=env)
    return result.output_tail


def test_invariant_culture_keeps_a_real_dotnet_process_parseable(
    stress_shaped: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """.NET formats {:F1} as 182,4 under LANG=de_DE; with trace_collect's STRESS_ENV it is 182.4."""
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    german = _first_lines(stress_shaped, dict(os.environ))
    invariant = _first_lines(stress_shaped, {**os.environ, **STRESS_ENV})
    assert "MB, Private=" in german and "MB, Private=" in invariant
    ws_german = german.split("WorkingSet=")[1].split("MB")[0]
    ws_invariant = invariant.split("WorkingSet=")[1].split("MB")[0]
    assert "," in ws_german and "." in ws_invariant


def test_real_collect_attaches_at_the_marker_and_keeps_its_output_readable(
    real_dotnet_trace: str,
    stress_shaped: Path,
    repo: Path,
    make_ctx: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real collect argv works: a readable trace with CPU samples, the real provider table
    and 'Stopping the trace…' once, numbers parsed, the process stopped afterwards."""
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    ctx = make_ctx(repo, bootstrap="127.0.0.1:9092", executable=str(stress_shaped))
    result = trace_collect(TraceCollectArgs(trace_seconds=3), ctx)
    assert not result.partial and result.size_bytes > 64 * 1024
    assert sum(1 for _ in stack_samples(result.trace_path)) > 10
    output = result.collect_output
    assert output.startswith("Provider Name") and "Microsoft-DotNETCore-SampleProfiler" in output
    assert output.count("Stopping the trace.") == 1 and output.rstrip().endswith("Trace completed.")
    assert result.msg_per_s and result.msg_per_s > 1000
    monitors = [r for r in result.resources if r.phase == "Monitor"]
    assert monitors and all(10 < r.working_set_mb < 10_000 for r in monitors)
