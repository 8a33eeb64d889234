"""`pta analyze`, `pta compare` and the analyze_trace tool, as a user and the model see them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import main
from tools.analyze_tool import AnalyzeTraceArgs, analyze_trace
from tools.base import ToolContext
from tools.catalog import default_registry

GOLDEN = "pyroscope-dotnet-5.0-SampleProfiler-single-thread"
CONTRACT = {
    "trace": {"format", "pointer_size", "pid", "duration_s", "events", "truncated"},
    "cpu": {"samples", "managed_samples", "external_samples", "top_self", "top_inclusive"},
    "allocations": {"ticks", "bytes", "by_type"},
    "contention": {"events", "total_ms", "max_ms", "top"},
    "deadlock": {"suspected", "evidence"},
}


def test_analyze_json_has_the_contract_keys(
    traces_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json prints one document with every contract key; top lists honour --top."""
    status = main(
        ["analyze", str(traces_dir / "filtrace-net10-wait.nettrace"), "--json", "--top", "3"]
    )
    doc = json.loads(capsys.readouterr().out)
    assert status == 0
    for section, keys in CONTRACT.items():
        assert keys <= set(doc[section]), section
    assert doc["events_by_provider"]["Microsoft-Windows-DotNETRuntime"]["301"] == 604
    assert len(doc["cpu"]["top_self"]) == 3
    assert {"name", "percent", "samples"} <= set(doc["cpu"]["top_self"][0])
    assert {"gc", "threads", "notes"} <= set(doc)


def test_analyze_markdown_has_four_sections_in_order(
    traces_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default report has the four sections in order; missing CPU data names the preset."""
    assert main(["analyze", str(traces_dir / "filtrace-net10-alloc.nettrace")]) == 0
    out = capsys.readouterr().out
    heads = [
        "## Hot Paths & CPU Time",
        "## Allocations",
        "## Contention & Deadlocks",
        "## Recommendations",
    ]
    positions = [out.index(h) for h in heads]
    assert positions == sorted(positions)
    cpu_part = out[positions[0] : positions[1]]
    assert "Not collected" in cpu_part and "Microsoft-DotNETCore-SampleProfiler" in cpu_part
    assert "System.Byte[]" in out[positions[1] : positions[2]]


def test_analyze_folded_matches_pyroscope(
    traces_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--folded --managed-only prints pyroscope's managed-only golden lines."""
    trace = str(traces_dir / f"{GOLDEN}.golden.nettrace")
    assert main(["analyze", trace, "--folded", "--managed-only"]) == 0
    expected = (traces_dir / f"{GOLDEN}-managed-only.txt").read_text().splitlines()
    assert capsys.readouterr().out.splitlines() == sorted(expected)


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Missing and empty files, and --managed-only without --folded, are one-line errors (2)."""
    empty = tmp_path / "empty.nettrace"
    empty.write_bytes(b"")
    for argv in (
        ["analyze", str(tmp_path / "missing.nettrace")],
        ["analyze", str(empty)],
        ["analyze", str(empty), "--managed-only"],
        ["compare", str(empty), str(empty)],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("pta ")


def test_compare_reports_grown_methods(
    traces_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Comparing the contention trace with the wait trace shows WaitOne's share grew."""
    base = str(traces_dir / "filtrace-net10-contention.nettrace")
    new = str(traces_dir / "filtrace-net10-wait.nettrace")
    assert main(["compare", base, new, "--json", "--top", "5"]) == 0
    doc = json.loads(capsys.readouterr().out)
    grown = {d["name"]: d["delta"] for d in doc["self_grew"]}
    assert grown["System.Private.CoreLib!System.Threading.WaitHandle.WaitOne(int32)"] > 40
    assert len(doc["self_grew"]) <= 5
    assert doc["contention_ms"][0] > doc["contention_ms"][1] == 0


def test_pta_analyze_subprocess(traces_dir: Path, tmp_path: Path) -> None:
    """The installed entry point prints JSON (exit 0) and rejects a non-trace with one line (2)."""
    trace = traces_dir / "filtrace-net10-contention.nettrace"
    ok = subprocess.run(
        [sys.executable, "-m", "agent.cli", "analyze", str(trace), "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert ok.returncode == 0
    assert json.loads(ok.stdout)["contention"]["events"] == 197
    junk = tmp_path / "notes.txt"
    junk.write_text("not a trace\n")
    bad = subprocess.run(
        [sys.executable, "-m", "agent.cli", "analyze", str(junk), "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and str(junk) in bad.stderr


def test_tool_resolves_relative_paths_and_stays_small(traces_dir: Path, tmp_path: Path) -> None:
    """analyze_trace reads a repo-relative path and answers within the tool result budget."""
    (tmp_path / "traces").mkdir()
    shutil.copy(traces_dir / "filtrace-net10-wait.nettrace", tmp_path / "traces" / "w.nettrace")
    ctx = ToolContext(repo=tmp_path)
    outcome = default_registry().dispatch("analyze_trace", {"trace_path": "traces/w.nettrace"}, ctx)
    assert not outcome.is_error and not outcome.cut
    doc = json.loads(outcome.text)
    assert set(CONTRACT) | {"events_by_provider", "gc"} <= set(doc)
    assert len(doc["cpu"]["top_self"]) <= 15
    assert all(len(s["frames"]) <= 12 for s in doc["allocations"]["by_site"])


def test_tool_errors_name_the_file(tmp_path: Path) -> None:
    """A missing file and a non-trace file are is_error results naming the path."""
    (tmp_path / "x.txt").write_text("hello")
    ctx = ToolContext(repo=tmp_path)
    registry = default_registry()
    missing = registry.dispatch("analyze_trace", {"trace_path": "nope.nettrace"}, ctx)
    assert missing.is_error and "nope.nettrace" in missing.text
    junk = registry.dispatch("analyze_trace", {"trace_path": "x.txt"}, ctx)
    assert junk.is_error and "x.txt" in junk.text
    too_many = registry.dispatch("analyze_trace", {"trace_path": "x.txt", "top": 51}, ctx)
    assert too_many.is_error


def test_tool_uses_messages_from_the_run_state(traces_dir: Path) -> None:
    """Without a messages argument the tool takes trace_collect's message count from ctx.state."""
    ctx = ToolContext(repo=traces_dir, state={"messages": 1000})
    outcome = default_registry().dispatch(
        "analyze_trace", {"trace_path": "filtrace-net10-alloc.nettrace", "top": 3}, ctx
    )
    doc = json.loads(outcome.text)
    assert doc["allocations"]["messages"] == 1000
    assert doc["allocations"]["by_site"][0]["classification"] is not None


def test_analyze_trace_takes_the_target_prefix_from_the_repo_config(
    tmp_path: Path, traces_dir: Path
) -> None:
    """A target that is not Dekaf: its own namespace prefix counts as the target's share."""
    (tmp_path / ".perf-trace-analyzer.toml").write_text('target_prefix = "NoNativeStacks."\n')
    trace = str(traces_dir / "perfview-only_managed_samples.nettrace.zip")
    result = analyze_trace(AnalyzeTraceArgs(trace_path=trace), ToolContext(repo=tmp_path))
    assert result.cpu.share.target == 100.0


def test_the_hot_path_flags_name_the_member_not_a_prefix_of_it(tmp_path: Path) -> None:
    """A thread pool running continuations (``Task.RunContinuations``, 18 % of a real npgsql
    trace) is not ``Task.Run``; ``Task.Run`` itself and a lock's slow path are flagged."""
    from tools.analysis.analyze import analyze_trace_file
    from tools.analysis.markdown import render_markdown
    from tools.analysis.synthetic import SyntheticTrace

    core = "System.Private.CoreLib!System.Threading."
    leaves = {
        f"{core}Tasks.Task.RunContinuations(class System.Object)": 60,
        f"{core}Tasks.Task.Run(class System.Action)": 25,
        f"{core}Monitor.Enter_Slowpath(class System.Object)": 15,
    }
    trace = tmp_path / "flags.nettrace"
    with SyntheticTrace(trace) as writer:
        ts = 0
        for leaf, samples in leaves.items():
            for _ in range(samples):
                ts += 10_000
                writer.sample(1, ts, ("App!App.Program.Main(class System.String[])", leaf))
    report = render_markdown(analyze_trace_file(trace, target_prefix="App."))
    flags = next(line for line in report.splitlines() if line.startswith("Unexpected"))
    assert "RunContinuations" not in flags
    assert "Task.Run (`System.Threading.Tasks.Task.Run(class System.Action)`, 25.0 %)" in flags
    assert "lock (`System.Threading.Monitor.Enter_Slowpath(class System.Object)`, 15.0 %)" in flags
