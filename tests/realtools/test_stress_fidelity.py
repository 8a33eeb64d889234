"""trace_collect against what the Dekaf stress tool really does (thomhurst/Dekaf at b294b56):
every scenario's marker, its own length option, culture-formatted numbers, Monitor lines, the
progress watchdog, --output, and the options that break or silently change a run."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools.catalog import default_registry
from tools.errors import ToolError
from tools.stress_output import StressOutput
from tools.trace_collect import trace_collect
from tools.trace_collect_models import TraceCollectArgs

FAKES = Path(__file__).resolve().parents[1] / "fakes"

BOOTSTRAP = "127.0.0.1:19092"

SOAK_MARKER = "  Running mixed Dekaf soak for 1 minutes at 5,000 msg/s..."
ROUNDTRIP_MARKER = (
    "  Producing sequenced messages with Dekaf for up to 60s (log budget 4.00 GiB)..."
)


def _collect(repo: Path, make_ctx: Callable[..., Any], **args: Any) -> Any:
    ctx = make_ctx(repo, bootstrap=BOOTSTRAP)
    return trace_collect(TraceCollectArgs(**args), ctx)


def _stress_argv(fakes: Any) -> list[str]:
    [stress] = [c for c in fakes.calls("stress") if "--help" not in c["argv"]]
    argv: list[str] = stress["argv"]
    return argv


def _value(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


@pytest.mark.parametrize(
    ("line", "family"),
    [
        ("  Running Dekaf producer stress test for 1 minutes...", "stress-test"),
        ("  Running Confluent acks-all producer stress test for 1 minutes...", "stress-test"),
        (SOAK_MARKER, "soak"),
        (ROUNDTRIP_MARKER, "roundtrip"),
    ],
)
def test_every_scenario_family_has_its_marker(line: str, family: str) -> None:
    """The verbatim measured-phase lines of each scenario family start the trace."""
    output = StressOutput()
    assert output.feed(line) and output.marker_family == family


def test_soak_is_traced_at_its_own_marker(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """soak prints 'Running mixed Dekaf soak for …': traced, with throughput from its samples."""
    result = _collect(built_repo, make_ctx, scenario="soak", trace_seconds=30)
    argv = _stress_argv(fakes)
    assert _value(argv, "--scenario") == "soak" and _value(argv, "--resource-sample-seconds") == "5"
    assert fakes.calls("dotnet-trace") and result.size_bytes == fakes.trace.stat().st_size
    assert result.msg_per_s == 5000


def test_roundtrip_gets_its_length_in_seconds(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """producer-roundtrip-steady runs --roundtrip-steady-seconds (window + margin), not minutes,
    and prints 'Producing sequenced messages …' instead of the generic marker."""
    result = _collect(built_repo, make_ctx, scenario="producer-roundtrip-steady", trace_seconds=20)
    argv = _stress_argv(fakes)
    assert _value(argv, "--roundtrip-steady-seconds") == "35" and _value(argv, "--duration") == "1"
    [collect] = fakes.calls("dotnet-trace")
    assert _value(collect["argv"], "--duration") == "00:00:00:20"
    assert not result.partial and result.progress and result.msg_per_s


def _run_fake_stress(tmp_path: Path, env: dict[str, str]) -> list[str]:
    """The fake stress tool's output lines for a short producer run (no trace_collect)."""
    argv = [sys.executable, str(FAKES / "fake_stress.py"), "--scenario", "producer"]
    argv += ["--client", "dekaf", "--duration", "1", "--output", str(tmp_path / "out")]
    fast = {"PTA_FAKE_TIME_SCALE": "0.02", "PTA_FAKE_PROGRESS_S": "0.05"}
    full_env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP, **fast, **env}
    done = subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def test_numbers_printed_in_a_german_culture_still_parse(tmp_path: Path) -> None:
    """Should invariant culture not apply, `1.234.567` and `182,4` are read correctly."""
    lines = _run_fake_stress(tmp_path, {"LANG": "de_DE.UTF-8"})
    assert any("WorkingSet=182,4MB" in line for line in lines)
    output = StressOutput()
    for line in lines:
        output.feed(line)
    assert output.resources[0].working_set_mb == 182.4
    assert output.completed_msg_per_s == 1_450_000
    assert 1_000_000 < output.progress[-1].avg_msg_per_s < 2_000_000


def test_the_stress_tool_runs_with_invariant_culture(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under LANG=de_DE the run still prints invariant numbers: the tool gets
    DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1."""
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    result = _collect(built_repo, make_ctx)
    assert 1_000_000 < (result.msg_per_s or 0) < 2_000_000
    assert all(r.working_set_mb == 182.4 for r in result.resources if r.phase != "Final")


def test_monitor_lines_of_the_measured_phase_are_kept(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """`Monitor Resources:` every 5 s: the result holds Initial and the newest Monitor lines
    (Final never comes because the tool is stopped after the trace)."""
    result = _collect(built_repo, make_ctx)
    phases = [r.phase for r in result.resources]
    assert phases[0] == "Initial" and "Monitor" in phases and "Final" not in phases
    assert len(phases) <= 7
    monitors = [r for r in result.resources if r.phase == "Monitor"]
    assert monitors[-1].gc_counts[0] >= monitors[0].gc_counts[0] and monitors[0].clock


def test_results_and_watchdog_captures_stay_in_the_work_folder(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stall: the watchdog's stderr line is a warning, its capture path is returned, and both
    --output and the capture are under the run's work folder (never <repo>/results)."""
    monkeypatch.setenv("PTA_FAKE_STRESS_MODE", "stall")
    result = _collect(built_repo, make_ctx, trace_seconds=60)
    out = Path(result.stress_output_dir)
    assert out.is_relative_to(built_repo / ".perf-trace-analyzer")
    assert _value(_stress_argv(fakes), "--output") == str(out)
    assert any(w.startswith("PROGRESS WATCHDOG: Dekaf producer made no message") for w in
               result.warnings)  # fmt: skip
    [capture] = result.watchdog_captures
    assert Path(capture).parent == out / "watchdog" and capture.endswith("-stall-stacks.txt")
    assert not (built_repo / "results").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"stress_options": {"brokers": "3"}}, "'brokers' is not allowed"),
        ({"stress_options": {"compression": "gzip"}}, "does not match"),
        ({"stress_options": {"partitions": "3\n"}}, "does not match"),
        ({"run_minutes": 6}, "run_minutes=6 keeps the stress tool busy"),
        ({"scenario": "all"}, "Pick ONE scenario"),
    ],
)
def test_options_that_break_or_bloat_a_run_are_refused(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], args: dict[str, Any], message: str
) -> None:
    """--brokers (exits before the marker), gzip (silently none), a trailing newline, long runs
    and scenario all: refused before anything runs, saying why."""
    outcome = default_registry().dispatch("trace_collect", args, make_ctx(built_repo))
    assert outcome.is_error and message in outcome.text
    assert fakes.calls("stress") == [] and fakes.calls("dotnet-trace") == []


def test_long_runs_pass_when_confirmed() -> None:
    """confirm_long_run: true is the way to ask for them on purpose."""
    args = TraceCollectArgs(scenario="all", run_minutes=15, confirm_long_run=True)
    assert args.scenario == "all" and args.run_minutes == 15
    assert TraceCollectArgs(stress_options={"compression": "zstd"}).stress_options


def test_soak_for_the_confluent_client_is_refused(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """soak has no Confluent run: the tool would exit with 'No stress scenario matched'."""
    with pytest.raises(ToolError, match="client 'dekaf' only"):
        _collect(built_repo, make_ctx, scenario="soak", client="confluent")
    assert fakes.calls("stress") == []
