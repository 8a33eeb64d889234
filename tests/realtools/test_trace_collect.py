"""trace_collect end to end with the fake stress tool and the fake dotnet-trace on PATH."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools.catalog import default_registry
from tools.collect_log import CollectLog
from tools.errors import ToolError
from tools.trace_collect import trace_collect
from tools.trace_collect_models import TraceCollectArgs

BOOTSTRAP = "127.0.0.1:19092"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def _collect(repo: Path, make_ctx: Callable[..., Any], **args: Any) -> Any:
    ctx = make_ctx(repo, bootstrap=BOOTSTRAP)
    return trace_collect(TraceCollectArgs(**args), ctx), ctx


def test_attaches_at_the_marker_and_stops_the_stress_tool(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """The real argv: --process-id of the stress tool, 15 s window, 1 minute, one scenario."""
    result, ctx = _collect(built_repo, make_ctx)
    [stress] = [c for c in fakes.calls("stress") if "--help" not in c["argv"]]
    [collect] = fakes.calls("dotnet-trace")
    argv = collect["argv"]
    assert argv[:2] == ["collect", "--process-id"] and argv[2] == str(stress["pid"])
    assert argv[argv.index("--duration") + 1] == "00:00:00:15"
    assert argv[argv.index("--providers") + 1] == "Microsoft-DotNETCore-SampleProfiler"
    assert stress["argv"][stress["argv"].index("--duration") + 1] == "1"
    assert stress["argv"][stress["argv"].index("--scenario") + 1] == "producer"
    assert stress["kafka"] == BOOTSTRAP
    assert all("--interactive" not in c["argv"] for c in fakes.calls("dotnet-trace"))
    trace = Path(result.trace_path)
    assert trace.parent == built_repo / ".perf-trace-analyzer" / "traces"
    assert result.size_bytes == fakes.trace.stat().st_size and not result.partial
    assert result.progress and result.msg_per_s and result.messages
    assert result.stress_exit_code is None  # we stopped it; it did not run its minute
    assert 0 < result.marker_wait_s < result.window_s + 60  # warm-up is timed apart from tracing
    assert not _alive(stress["pid"])
    assert ctx.state["last_trace"] == str(trace) and ctx.state["messages"] == result.messages


def test_crash_during_the_trace_returns_a_partial_trace(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stress tool dies mid-trace: the trace written so far is returned, marked partial."""
    monkeypatch.setenv("PTA_FAKE_STRESS_MODE", "crash")
    monkeypatch.setenv("PTA_FAKE_TIME_SCALE", "0.1")  # a 1.5 s window
    monkeypatch.setenv("PTA_FAKE_CRASH_AFTER_S", "0.9")
    result, _ = _collect(built_repo, make_ctx)
    assert result.partial and result.stress_exit_code == 134
    assert Path(result.trace_path).stat().st_size > 0
    assert any("partial" in w for w in result.warnings)


def test_exit_before_the_marker_reports_the_output_tail(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No measured phase: the error carries the exit status and output; no trace taken."""
    monkeypatch.setenv("PTA_FAKE_STRESS_MODE", "exit-early")
    with pytest.raises(ToolError, match="exited with status 1") as caught:
        _collect(built_repo, make_ctx)
    assert "Leader not available" in str(caught.value)
    assert fakes.calls("dotnet-trace") == []


def test_no_marker_within_the_deadline_kills_the_stress_tool(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stress tool that never reaches its measured phase is stopped at marker_timeout_s."""
    monkeypatch.setenv("PTA_FAKE_STRESS_MODE", "no-marker")
    (built_repo / ".perf-trace-analyzer.toml").write_text("marker_timeout_s = 1\n")
    started = time.monotonic()
    with pytest.raises(ToolError, match="no measured-phase marker"):
        _collect(built_repo, make_ctx)
    assert time.monotonic() - started < 15
    [stress] = [c for c in fakes.calls("stress") if "--help" not in c["argv"]]
    assert not _alive(stress["pid"])


def test_collect_overrunning_its_window_is_killed_and_partial(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """dotnet-trace hanging past window + grace: killed, the streamed part returned partial."""
    monkeypatch.setenv("PTA_FAKE_TRACE_MODE", "hang")
    (built_repo / ".perf-trace-analyzer.toml").write_text("collect_grace_s = 1\n")
    started = time.monotonic()
    result, _ = _collect(built_repo, make_ctx, trace_seconds=1)
    assert time.monotonic() - started < 20
    assert result.partial and 0 < result.size_bytes < fakes.trace.stat().st_size


def test_a_fake_reading_stdin_forever_does_not_hang(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """dotnet-trace reading standard input gets EOF (stdin closed) and the trace completes."""
    monkeypatch.setenv("PTA_FAKE_TRACE_MODE", "stdin")
    result, _ = _collect(built_repo, make_ctx)
    assert not result.partial and result.size_bytes == fakes.trace.stat().st_size


def test_tiny_trace_warns_to_lengthen_the_window(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trace of a few KB comes back with a warning to lengthen trace_seconds."""
    monkeypatch.setenv("PTA_FAKE_TRACE_MODE", "tiny")
    result, _ = _collect(built_repo, make_ctx)
    assert any("lengthen trace_seconds" in w for w in result.warnings)


def test_missing_dotnet_trace_is_installed_once(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """dotnet-trace absent: `dotnet tool install --global dotnet-trace` runs, result reported."""
    fakes.remove("dotnet-trace")
    result, _ = _collect(built_repo, make_ctx)
    installs = fakes.calls("dotnet")
    assert [c["argv"] for c in installs] == [["tool", "install", "--global", "dotnet-trace"]]
    assert any("successfully installed" in w for w in result.warnings)


def test_failed_install_is_reported(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The install fails: a clear error with dotnet's output; the stress tool never starts."""
    fakes.remove("dotnet-trace")
    monkeypatch.setenv("PTA_FAKE_TOOL_INSTALL", "fail")
    with pytest.raises(ToolError, match="failed to install"):
        _collect(built_repo, make_ctx)
    assert [c for c in fakes.calls("stress") if "--help" not in c["argv"]] == []


def test_long_window_lengthens_the_stress_duration(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """The stress timer starts at the marker: 120 s of trace need --duration 2, window 00:02:00."""
    os.environ["PTA_FAKE_TIME_SCALE"] = "0.002"  # monkeypatch (fixture) restores it after
    result, _ = _collect(
        built_repo, make_ctx, trace_seconds=120, stress_options={"partitions": "3"}
    )
    [stress] = [c for c in fakes.calls("stress") if "--help" not in c["argv"]]
    assert stress["argv"][stress["argv"].index("--duration") + 1] == "2"
    assert stress["argv"][stress["argv"].index("--partitions") + 1] == "3"
    [collect] = fakes.calls("dotnet-trace")
    assert collect["argv"][collect["argv"].index("--duration") + 1] == "00:00:02:00"
    assert result.trace_seconds == 120


@pytest.mark.parametrize(("seconds", "minutes"), [(1, "1"), (60, "1"), (61, "2"), (119, "2")])
def test_stress_minutes_are_the_trace_window_rounded_up(
    built_repo: Path,
    fakes: Any,
    make_ctx: Callable[..., Any],
    seconds: int,
    minutes: str,
) -> None:
    """No warm-up allowance: --duration is ceil(trace_seconds / 60), at least 1."""
    os.environ["PTA_FAKE_TIME_SCALE"] = "0.002"  # monkeypatch (fixture) restores it after
    _collect(built_repo, make_ctx, trace_seconds=seconds)
    [stress] = [c for c in fakes.calls("stress") if "--help" not in c["argv"]]
    assert stress["argv"][stress["argv"].index("--duration") + 1] == minutes


def test_invalid_inputs_are_refused_before_anything_runs(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """Unknown flags, a 121 s window, bad providers and unknown scenarios never run a process."""
    registry = default_registry()
    ctx = make_ctx(built_repo, bootstrap=BOOTSTRAP)
    bad = [
        {"stress_options": {"output": "/etc"}},
        {"stress_options": {"partitions": "3; rm -rf /"}},
        {"trace_seconds": 121},
        {"providers": "Microsoft-Windows-DotNETRuntime:4000"},
        {"scenario": "producer --duration 15"},
    ]
    for args in bad:
        assert registry.dispatch("trace_collect", args, ctx).is_error, args
    with pytest.raises(ToolError, match="not offered by the stress tool"):
        trace_collect(TraceCollectArgs(scenario="producer-turbo"), ctx)
    assert [c for c in fakes.calls("stress") if "--help" not in c["argv"]] == []
    assert fakes.calls("dotnet-trace") == []


def test_custom_providers_are_passed_through(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """A validated custom list replaces the preset verbatim."""
    providers = "Microsoft-Windows-DotNETRuntime:0x4000:4,Microsoft-DotNETCore-SampleProfiler"
    result, _ = _collect(built_repo, make_ctx, providers=providers)
    [collect] = fakes.calls("dotnet-trace")
    assert collect["argv"][collect["argv"].index("--providers") + 1] == providers
    assert result.providers == providers and "-custom-" in Path(result.trace_path).name


def test_old_traces_beyond_the_budget_are_removed_oldest_first(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """Retention: over trace_retention_mb, the oldest traces go and the result names them."""
    (built_repo / ".perf-trace-analyzer.toml").write_text("trace_retention_mb = 3\n")
    traces = built_repo / ".perf-trace-analyzer" / "traces"
    traces.mkdir(parents=True)
    for age, name in enumerate(["new.nettrace", "old.nettrace"]):
        path = traces / name
        path.write_bytes(b"x" * 700_000)
        os.utime(path, (time.time() - 1000 * (age + 1),) * 2)
    result, _ = _collect(built_repo, make_ctx)
    assert not (traces / "old.nettrace").exists() and (traces / "new.nettrace").exists()
    assert any("old.nettrace" in w and "new.nettrace" not in w for w in result.warnings)
    assert Path(result.trace_path).exists()


def test_cancel_stops_everything(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ctx.cancel set while waiting for the marker: the run ends and the stress tool is killed."""
    monkeypatch.setenv("PTA_FAKE_STRESS_MODE", "no-marker")
    ctx = make_ctx(built_repo, bootstrap=BOOTSTRAP)
    threading.Timer(0.5, ctx.cancel.set).start()
    with pytest.raises(ToolError, match="cancelled"):
        trace_collect(TraceCollectArgs(), ctx)
    [stress] = [c for c in fakes.calls("stress") if "--help" not in c["argv"]]
    assert not _alive(stress["pid"])


def test_unbuilt_stress_tool_asks_for_a_build(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """No executable yet: an error pointing at the build tool."""
    with pytest.raises(ToolError, match="run the build tool first"):
        _collect(repo, make_ctx)


def test_waiting_for_exit_keeps_the_final_numbers(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """Asked to, the run goes to the end of --duration: exit status 0 and the Completed rate."""
    result, _ = _collect(built_repo, make_ctx, wait_for_exit=True)
    assert result.stress_exit_code == 0 and not result.partial
    phases = [r.phase for r in result.resources]
    assert phases[0] == "Initial" and phases[-1] == "Final" and "Monitor" in phases
    assert result.msg_per_s is not None and result.messages
    [saved] = Path(result.stress_output_dir).glob("stress-test-results-dekaf-producer-*.json")
    assert saved.is_file()


def test_scenarios_fall_back_to_the_known_list_without_help(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No readable --help: a known scenario runs (with a note), an unknown one is refused."""
    monkeypatch.setenv("PTA_FAKE_STRESS_HELP", "none")
    with pytest.raises(ToolError, match="unknown scenario 'producer-turbo'"):
        _collect(built_repo, make_ctx, scenario="producer-turbo")
    result, _ = _collect(built_repo, make_ctx, scenario="consumer")
    assert any("checked the scenario against a list" in w for w in result.warnings)


def test_progress_is_reported_while_waiting_and_tracing(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """The caller (CLI spinner, MCP progress) hears about the warm-up and the trace window."""
    ctx = make_ctx(built_repo, bootstrap=BOOTSTRAP)
    seen: list[tuple[str, float | None, float | None]] = []
    ctx.progress = lambda message, done, total: seen.append((message, done, total))
    trace_collect(TraceCollectArgs(), ctx)
    messages = [message for message, _, _ in seen]
    assert any("measured phase" in m for m in messages)
    assert any(m.startswith("tracing") and total == 15 for m, _, total in seen)


def test_a_target_without_kafka_gets_no_bootstrap_address(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """needs_kafka = false: the stress tool runs without KAFKA_BOOTSTRAP_SERVERS, no Kafka note."""
    monkeypatch.setenv("PTA_FAKE_STRESS_BROKERLESS", "1")
    config = built_repo / ".perf-trace-analyzer.toml"
    config.write_text(config.read_text() + "needs_kafka = false\n")
    ctx = make_ctx(built_repo)
    ctx.state.pop("bootstrap", None)
    result = trace_collect(TraceCollectArgs(trace_seconds=1), ctx)
    [stress] = [c for c in fakes.calls("stress") if "--help" not in c["argv"]]
    assert stress["kafka"] is None
    assert not any("Kafka" in warning for warning in result.warnings)


def test_a_long_rundown_does_not_crowd_out_collect_output(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """'Stopping the trace…' every 100 ms of rundown comes back once, with its count, after the
    provider table; the output stays short."""
    monkeypatch.setenv("PTA_FAKE_RUNDOWN_S", "1.5")
    result, _ = _collect(built_repo, make_ctx)
    lines = result.collect_output.splitlines()
    [stopping] = [line for line in lines if line.startswith("Stopping the trace.")]
    assert re.fullmatch(r".*being traced\. \(×(\d+)\)", stopping)
    assert int(stopping.rsplit("×", 1)[1].rstrip(")")) >= 10
    assert lines[0].startswith("Provider Name") and "Trace completed." in lines
    assert len(result.collect_output) < 1500


def test_collect_errors_reach_the_model(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """dotnet-trace failing to attach: the error names its [ERROR] line (exit 2, no trace)."""
    monkeypatch.setenv("PTA_FAKE_TRACE_MODE", "fail")
    with pytest.raises(ToolError, match=r"(?s)exit 2.*\[ERROR\] System.ArgumentException"):
        _collect(built_repo, make_ctx)


def test_collect_log_keeps_errors_among_thousands_of_repeats() -> None:
    """Collapsing is by consecutive repeats; an [ERROR] line survives any amount of noise."""
    log = CollectLog()
    for line in ["", "Provider Name  Keywords", "A  0x1  Informational(4)  --providers", ""]:
        log.feed(line)
    for index in range(3000):
        log.feed("Stopping the trace. This may take several minutes")
        if index == 5:
            log.feed("[ERROR] System.IO.IOException: broken pipe")
        log.feed(f"noise {index}" if index % 1000 == 0 else "Stopping the trace. This may take")
    text = log.text()
    assert "[ERROR] System.IO.IOException: broken pipe" in text
    assert text.startswith("Provider Name") and len(text.splitlines()) < 80
