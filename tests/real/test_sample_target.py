"""The whole pipeline for real: `pta ask --offline` on the sample target, one run per scenario.

Each run builds the copy with the real SDK (`dotnet build -c Release`), starts the stress tool,
attaches the real dotnet-trace at the measured-phase marker for a few seconds, analyses the
trace natively and writes the report; the test reads the report as a user would.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.real.conftest import AskRun, copy_sample
from tests.real.seeded import SEEDS, false_findings, missing_evidence
from tools.base import ToolContext
from tools.dotnet_trace import find_dotnet_trace
from tools.process import run_process
from tools.speedscope_tool import ConvertSpeedscopeArgs, convert_speedscope
from tools.trace_report import TraceReportArgs, trace_report_piped


class Investigations:
    """Each scenario investigated once per session; later tests reuse the run and its trace."""

    def __init__(self, ask: Callable[..., AskRun], repo: Path, home: Path) -> None:
        self.ask, self.repo, self.home = ask, repo, home
        self.runs: dict[str, AskRun] = {}
        self.dotnet_trace_before: bool | None = None

    def run(self, scenario: str) -> AskRun:
        if scenario not in self.runs:
            if self.dotnet_trace_before is None:
                self.dotnet_trace_before = (
                    self.home / ".dotnet" / "tools" / "dotnet-trace"
                ).exists()
            self.runs[scenario] = self.ask(SEEDS[scenario].question, self.repo)
        return self.runs[scenario]


_INVESTIGATIONS: dict[str, Investigations] = {}


@pytest.fixture
def investigations(
    ask: Callable[..., AskRun], sample_repo: Path, real_home: Path
) -> Investigations:
    key = str(sample_repo)
    if key not in _INVESTIGATIONS:
        _INVESTIGATIONS[key] = Investigations(ask, sample_repo, real_home)
    return _INVESTIGATIONS[key]


@pytest.mark.parametrize("scenario", list(SEEDS))
def test_the_seeded_problem_is_in_the_report(scenario: str, investigations: Investigations) -> None:
    """Found with its evidence, nothing invented, the trace kept, nothing left running."""
    seed = SEEDS[scenario]
    run = investigations.run(scenario)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.document["status"] == "ok"
    names = [c["name"] for c in run.document["tool_calls"]]
    assert "start_kafka" not in names, "the sample target needs no Kafka"
    assert "Kafka was not needed" in run.document["report_markdown"]
    [trace] = run.document["trace_paths"]
    assert Path(trace).stat().st_size > 8 * 1024
    assert not run.survivors
    assert false_findings(seed, run.sections) == []
    missing = missing_evidence(seed, run.sections)
    if missing and seed.pending:
        pytest.xfail(f"{seed.pending}; missing: {missing}")
    assert missing == [], run.document["report_markdown"]


def test_the_product_installed_dotnet_trace_itself(investigations: Investigations) -> None:
    """A HOME without dotnet-trace: the first investigation installs it and traces with it."""
    investigations.run("hot")
    assert investigations.dotnet_trace_before is False
    installed = investigations.home / ".dotnet" / "tools" / "dotnet-trace"
    assert installed.exists() and find_dotnet_trace() == str(installed)


def test_real_dotnet_trace_report_and_convert_on_a_real_trace(
    investigations: Investigations, sample_repo: Path, real_env: dict[str, str]
) -> None:
    """trace_report_piped and convert_speedscope run the real dotnet-trace and parse its output."""
    [trace] = investigations.run("hot").document["trace_paths"]
    ctx = ToolContext(repo=sample_repo, runner=run_process)
    report = trace_report_piped(TraceReportArgs(trace_path=trace, top=5), ctx)
    assert report.source == "dotnet-trace"
    assert any("Crc32Naive.Compute" in row.name for row in report.rows[:3])
    converted = convert_speedscope(ConvertSpeedscopeArgs(trace_path=trace), ctx)
    assert converted.source == "dotnet-trace"
    assert any("Crc32Naive.Compute" in frame.name for frame in converted.top_self[:3])
    assert not list(Path(trace).parent.glob("*.etlx")), "dotnet-trace's .etlx files are removed"


def test_a_compile_error_stops_the_run_before_any_trace(
    ask: Callable[..., AskRun], tmp_path: Path
) -> None:
    """The real compiler's error at file:line leads the report; no trace is taken."""
    repo = copy_sample(tmp_path / "broken")
    source = repo / "src" / "FlushLab" / "Producer" / "RecordAccumulator.cs"
    text = source.read_text()
    line_number = text.count("\n") + 1  # the appended line
    source.write_text(text + "internal static class Broken { static int Value() => ; }\n")
    run = ask("where does the CPU time go in the hot scenario?", repo)
    report = run.document.get("report_markdown", "")
    assert f"`src/FlushLab/Producer/RecordAccumulator.cs:{line_number}`: CS1525" in report
    assert report.index("CS1525") < report.index("## Hot Paths")
    assert run.document.get("trace_paths") == []
    assert not (repo / ".perf-trace-analyzer" / "traces").exists() or not list(
        (repo / ".perf-trace-analyzer" / "traces").glob("*.nettrace")
    )
    assert "trace_collect" not in [c["name"] for c in run.document.get("tool_calls", [])]
