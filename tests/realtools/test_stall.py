"""A stalled stress run: trace_collect notices the stopped Progress count and takes a stack
snapshot of every thread before it stops the tool; analyze_trace then reads both."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools.stall import StallWatch
from tools.stress_output import StressOutput
from tools.trace_collect import trace_collect
from tools.trace_collect_models import TraceCollectArgs

PROGRESS = "  [10:00:{:02d}] Progress: {:,} messages | instant: 5 msg/sec | avg: 5 msg/sec"


def _fed(counts: list[int]) -> tuple[StallWatch, StressOutput]:
    watch, output = StallWatch(started=100.0), StressOutput()
    for second, count in enumerate(counts):
        output.feed(PROGRESS.format(second, count))
        watch.observe(output, 100.0 + 2 * (second + 1))
    return watch, output


def test_a_count_that_comes_back_unchanged_is_a_stall() -> None:
    """Growth, then the same count twice: stalled since the first report of that count."""
    watch, output = _fed([1000, 2000, 2500, 2500, 2500])
    stall = watch.stall(output, now=112.0)
    assert stall.detected and stall.last_count == 2500
    assert stall.since_s == 6.0 and stall.stalled_for_s == 6.0
    assert "2,500 messages" in stall.detail


@pytest.mark.parametrize("counts", [[1000, 2000, 3000], [5], []])
def test_growing_or_single_counts_are_no_stall(counts: list[int]) -> None:
    """A busy run, or too few lines to tell: no stall claimed."""
    watch, output = _fed(counts)
    assert not watch.stall(output, now=120.0).detected


def test_growth_after_a_pause_clears_the_stall() -> None:
    """A count that repeats once and then grows again was slow, not stalled."""
    watch, output = _fed([1000, 1000, 3000])
    assert not watch.stall(output, now=120.0).detected


def test_the_watchdog_line_alone_is_a_stall() -> None:
    """The stress tool's own watchdog (stderr) counts too."""
    watch, output = _fed([1000])
    output.feed("PROGRESS WATCHDOG: no progress for 30s; capturing stall diagnostics in x")
    stall = watch.stall(output, now=120.0)
    assert stall.detected and stall.source == "watchdog"


def test_a_stalled_run_is_snapshotted_before_it_is_stopped(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stall mode: the result says so, dotnet-stack ran on the live stress pid, and the state
    carries the stall and the snapshot for analyze_trace."""
    (fakes.bin_dir / "dotnet-stack").symlink_to(
        Path(__file__).resolve().parents[1] / "fakes" / "fake_dotnet_stack.py"
    )
    monkeypatch.setenv("PTA_FAKE_STRESS_MODE", "stall")
    ctx = make_ctx(built_repo)
    result = trace_collect(TraceCollectArgs(trace_seconds=2), ctx)
    assert result.stall.detected and result.snapshot is not None
    [stress] = [c for c in fakes.calls("stress") if "--help" not in c["argv"]]
    [report] = fakes.calls("dotnet-stack")
    assert report["argv"] == ["report", "--process-id", str(stress["pid"])]
    assert result.snapshot.pid == stress["pid"] and result.snapshot.blocked_threads >= 2
    assert any("progress stalled" in w for w in result.warnings)
    assert ctx.state["stall"].detected and ctx.state["snapshot"] is result.snapshot
    assert "stress_pid" not in ctx.state  # the process is gone


def test_a_busy_run_takes_no_snapshot(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """Progress grows: no stall, no dotnet-stack call."""
    result = trace_collect(TraceCollectArgs(trace_seconds=2), make_ctx(built_repo))
    assert not result.stall.detected and result.snapshot is None
    assert fakes.calls("dotnet-stack") == []
