"""trace_report_piped and the native topN table (nettrace-format.md §15)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools import trace_report
from tools.analysis.model import StackSample
from tools.analysis.topn import (
    TopRow,
    format_function,
    format_percent,
    parse_topn,
    render_topn,
    topn_rows,
)
from tools.trace_report import TraceReportArgs, trace_report_piped

REAL_VERBOSE_SAMPLE = (
    "Top 5 Functions (Exclusive)                                                  "
    "Inclusive           Exclusive           \n"
    "1.                                                                           "
    "58.33%              58.33%              \n"
    "2. ManualResetEventSlim.Wait(int32,value class System.Threading.Cancellat    "
    "8.33%               8.33%               \n"
    "   ionToken)                                            \n"
    "3. WaitHandle.WaitOneNoCheck(int32)                                          "
    "8.33%               8.33%               \n"
)
"""dotnet/diagnostics issue #2994 (verbatim, -v): a blank name and a wrapped one."""


def _sample(frames: tuple[str, ...], weight: float, tid: int = 1, managed: bool = True) -> Any:
    return StackSample(tid, 0.0, weight, frames, managed)


def test_rendering_matches_the_real_cli_layout() -> None:
    """Header and rows are byte-identical to dotnet-trace's (widths 77/70/20, trailing spaces)."""
    rows = [
        TopRow(1, "", 58.33, 58.33),
        TopRow(2, "ManualResetEventSlim.Wait(int32,value class System.Threading.CancellationToken)",
               8.33, 8.33),
        TopRow(3, "WaitHandle.WaitOneNoCheck(int32)", 8.33, 8.33),
    ]  # fmt: skip
    lines = render_topn(rows, inclusive=False).splitlines()
    real = REAL_VERBOSE_SAMPLE.splitlines()
    assert lines[1:] == [real[1], real[2], real[4]]
    assert lines[0] == real[0].replace("Top 5", "Top 3")


def test_two_digit_ranks_shift_the_columns_like_the_cli() -> None:
    """With 10 rows the rank column is one wider (`1.  EventName…`, PR #5644)."""
    rows = [TopRow(i, f"M{i}", 1.0, 1.0) for i in range(1, 11)]
    rows[0] = TopRow(1, "EventName: Universal.Events/cswitch", 98.08, 98.08)
    lines = render_topn(rows, inclusive=False).splitlines()
    assert lines[0].startswith("Top 10 Functions (Exclusive)" + " " * 49 + " Inclusive")
    assert lines[1] == (
        "1.  EventName: Universal.Events/cswitch" + " " * 35 + "    "
        "98.08%              98.08%              "
    )
    assert lines[10].startswith("10. M10 ")


def test_function_names_are_shortened_with_the_cli_quirks() -> None:
    """Type.Method(args); dots in generic arguments split too; ?!? is Missing Symbol."""
    assert (
        format_function("System.Private.CoreLib!System.Threading.WaitHandle.WaitOne(int32)")
        == "WaitHandle.WaitOne(int32)"
    )
    assert format_function("m!Ns.Type`1[System.__Canon].M(int32)") == "__Canon].M(int32)"
    assert format_function("?!?") == "Missing Symbol"
    assert format_function("(Non-Activities)") == "(Non-Activities)"
    assert [format_percent(v) for v in (100.0, 58.333, 0.0, 5.1)] == [
        "100%",
        "58.33%",
        "0%",
        "5.1%",
    ]


def test_native_table_folds_time_frames_and_skips_process_names() -> None:
    """CPU_TIME/Thread frames fold into callers; names containing Process/ROOT are skipped."""
    samples = [
        _sample(("app!N.A.Main()", "app!N.A.Hot(int32)"), 6.0),
        _sample(("app!N.A.Main()", "app!N.A.Hot(int32)", "app!N.A.Leaf()"), 2.0, tid=2),
        _sample(("app!N.A.Main()", "app!N.A.ProcessRequest()"), 2.0, managed=False),
    ]
    rows = topn_rows(samples, top=5, inclusive=False)
    assert [(r.name, r.exclusive_percent, r.inclusive_percent) for r in rows[:2]] == [
        ("A.Hot(int32)", 60.0, 80.0),
        ("A.Leaf()", 20.0, 20.0),
    ]
    assert all("Process" not in r.name and "CPU_TIME" not in r.name for r in rows)
    inclusive = topn_rows(samples, top=3, inclusive=True)
    assert [r.name for r in inclusive] == ["(Non-Activities)", "Threads", "A.Main()"]
    assert inclusive[0].inclusive_percent == 100.0


def test_parsing_reads_back_what_the_cli_prints() -> None:
    """Rows parsed from real output (blank names included) and from our own rendering."""
    parsed = parse_topn(REAL_VERBOSE_SAMPLE)
    assert [(r.rank, r.name, r.exclusive_percent) for r in parsed] == [
        (1, "", 58.33),
        (2, "ManualResetEventSlim.Wait(int32,value class System.Threading.Cancellat", 8.33),
        (3, "WaitHandle.WaitOneNoCheck(int32)", 8.33),
    ]
    rows = [TopRow(1, "A.B(int32, string)", 12.5, 3.25)]
    assert parse_topn(render_topn(rows, inclusive=True)) == rows
    assert parse_topn("1.  A.B()   12,5%   3,25%") == [TopRow(1, "A.B()", 12.5, 3.25)]


def _report(ctx: Any, trace: Path, **args: Any) -> Any:
    return trace_report_piped(TraceReportArgs(trace_path=str(trace), **args), ctx)


def test_report_runs_dotnet_trace_non_interactively(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """`report <file> topN -n 20`: no --interactive, rows parsed, source dotnet-trace."""
    result = _report(make_ctx(repo), fakes.trace)
    [call] = fakes.calls("dotnet-trace")
    link = Path(call["argv"][1])
    assert call["argv"] == ["report", str(link), "topN", "-n", "20"]
    assert link.name == fakes.trace.name
    assert link.parent.parent == repo / ".perf-trace-analyzer" / "scratch"
    assert not link.parent.exists()  # the scratch folder is gone after the run
    assert result.source == "dotnet-trace" and len(result.rows) == 20
    assert result.rows[0].name == "WaitHandle.WaitOne(int32)"
    assert "text" not in result.model_dump()  # one form: the rows, not the table twice


def test_native_fallback_gives_the_same_table(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """Without dotnet-trace the native analysis produces the same rows, and says so."""
    with_cli = _report(make_ctx(repo), fakes.trace, top=8, inclusive=True)
    fakes.remove("dotnet-trace")
    native = _report(make_ctx(repo), fakes.trace, top=8, inclusive=True)
    assert native.source == "native" and "not installed" in (native.note or "")
    for ours, theirs in zip(native.rows, with_cli.rows, strict=True):
        # The CLI cuts names at 70 characters; the native rows keep them whole. The native
        # table comes from analyze_trace's pass, which leaves the trace's few allocation ticks
        # out of thread time: a few hundredths of a point apart.
        assert ours.name.startswith(theirs.name) and ours.rank == theirs.rank
        assert abs(ours.inclusive_percent - theirs.inclusive_percent) < 0.1
        assert abs(ours.exclusive_percent - theirs.exclusive_percent) < 0.1


@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_failing_or_hanging_cli_falls_back_to_native(
    repo: Path,
    fakes: Any,
    make_ctx: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    """dotnet-trace erroring or hanging (killed at the timeout): the native table is returned."""
    monkeypatch.setenv("PTA_FAKE_TRACE_MODE", mode)
    monkeypatch.setattr(trace_report, "REPORT_TIMEOUT_S", 1.5)
    result = _report(make_ctx(repo), fakes.trace, top=5)
    assert result.source == "native" and len(result.rows) == 5
    assert ("timed out" if mode == "hang" else "exited 1") in (result.note or "")


def test_stdin_reading_cli_does_not_hang(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dotnet-trace that reads stdin to its end gets EOF at once (stdin is closed)."""
    monkeypatch.setenv("PTA_FAKE_TRACE_MODE", "stdin")
    assert _report(make_ctx(repo), fakes.trace, top=3).source == "dotnet-trace"


def test_report_leaves_no_etlx_anywhere(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """dotnet-trace report leaves `<trace>.etlx` beside what it reads (ReportCommand.cs:44): it
    reads a scratch link under the work folder, removed afterwards; the trace's folder stays
    as it was."""
    folder = repo.parent / "their-traces"
    folder.mkdir()
    trace = folder / "run.nettrace"
    trace.write_bytes(fakes.trace.read_bytes())
    result = _report(make_ctx(repo), trace, top=3)
    assert result.source == "dotnet-trace"
    assert [p.name for p in folder.iterdir()] == ["run.nettrace"]
    assert not list((repo / ".perf-trace-analyzer").rglob("*.etlx"))
    assert not list((repo / ".perf-trace-analyzer" / "scratch").iterdir())
