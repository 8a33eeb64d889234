"""The real dotnet-trace (report and convert), and the tools that drive it, on real traces.

These pin the behaviours the tools rely on (dotnet/diagnostics ReportCommand.cs:44,
TraceFileFormatConverter.cs:50-67, seen with 10.0.750501) and check the tools against them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools.analysis.cpu import stack_samples
from tools.analysis.topn import topn_rows
from tools.json_complete import is_complete_json
from tools.process import run_process
from tools.speedscope_tool import ConvertSpeedscopeArgs, convert_speedscope
from tools.trace_report import TraceReportArgs, trace_report_piped

TRACE = "filtrace-net10-wait.nettrace"


@pytest.fixture
def their_trace(traces_dir: Path, tmp_path: Path) -> Path:
    """A real trace copied into a folder of its own (outside the repository)."""
    folder = tmp_path / "their-traces"
    folder.mkdir()
    copy = folder / TRACE
    shutil.copyfile(traces_dir / TRACE, copy)
    return copy


@pytest.fixture
def mangled_trace(their_trace: Path) -> Path:
    """The same trace with bytes flipped through its event blocks (TraceEvent throws)."""
    data = bytearray(their_trace.read_bytes())
    for offset in range(200_000, len(data) - 100_000, 9973):
        data[offset] ^= 0xFF
    path = their_trace.with_name("mangled.nettrace")
    path.write_bytes(bytes(data))
    return path


def test_real_report_leaves_an_etlx_beside_the_trace(
    real_dotnet_trace: str, their_trace: Path
) -> None:
    """What the tools work around: `report` leaves `<trace>.etlx` where the trace is."""
    result = run_process(
        [real_dotnet_trace, "report", str(their_trace), "topN", "-n", "5"],
        cwd=their_trace.parent,
        timeout=180,
    )
    assert result.ok and "Top 5 Functions (Exclusive)" in result.output_tail
    assert Path(f"{their_trace}.etlx").is_file()


def test_real_convert_says_complete_after_an_exception(
    real_dotnet_trace: str, mangled_trace: Path, tmp_path: Path
) -> None:
    """What the tools work around: exit 0 and 'Conversion complete' after TraceEvent threw."""
    out = tmp_path / "out.json"
    result = run_process(
        [real_dotnet_trace, "convert", str(mangled_trace), "--format", "Speedscope", "-o",
         str(out)],
        cwd=tmp_path,
        timeout=180,
    )  # fmt: skip
    assert result.exit_code == 0 and "Conversion complete" in result.output_tail
    assert "Exception" in result.output_tail
    written = out.with_suffix(".speedscope.json")
    assert not written.exists() or not is_complete_json(written)


def test_trace_report_piped_with_the_real_tool_leaves_nothing_behind(
    real_dotnet_trace: str, their_trace: Path, repo: Path, make_ctx: Callable[..., Any]
) -> None:
    """The real topN table comes back parsed; no .etlx beside the trace or in the work folder;
    the native table names the same five methods within a point."""
    ctx = make_ctx(repo)
    result = trace_report_piped(TraceReportArgs(trace_path=str(their_trace), top=5), ctx)
    assert result.source == "dotnet-trace" and len(result.rows) == 5
    assert result.rows[0].name == "WaitHandle.WaitOne(int32)"
    assert [p.name for p in their_trace.parent.iterdir()] == [TRACE]
    assert not list(repo.rglob("*.etlx"))
    native = topn_rows(stack_samples(their_trace), top=5, inclusive=False)
    real = {row.name: row.exclusive_percent for row in result.rows}
    for ours in native:  # the CLI cuts names at 70 characters
        assert abs(ours.exclusive_percent - real[ours.name[:70]]) < 1.0, ours.name


def test_convert_speedscope_with_the_real_tool_writes_in_the_work_folder(
    real_dotnet_trace: str, their_trace: Path, repo: Path, make_ctx: Callable[..., Any]
) -> None:
    """Real convert: a whole speedscope file under the work folder, nothing beside the trace."""
    result = convert_speedscope(ConvertSpeedscopeArgs(trace_path=str(their_trace)), make_ctx(repo))
    out = Path(result.speedscope_path)
    assert result.source == "dotnet-trace" and result.note is None
    assert out.parent == repo / ".perf-trace-analyzer" / "speedscope" and is_complete_json(out)
    assert result.top_self[0].name.endswith("WaitHandle.WaitOne(int32)")
    assert [p.name for p in their_trace.parent.iterdir()] == [TRACE]
    assert not list(repo.rglob("*.etlx"))


def test_convert_speedscope_redoes_a_failed_real_conversion_natively(
    real_dotnet_trace: str, mangled_trace: Path, repo: Path, make_ctx: Callable[..., Any]
) -> None:
    """Real convert throws on a damaged trace yet exits 0: the tool notices, writes the file
    natively from what can be read, and says why."""
    result = convert_speedscope(
        ConvertSpeedscopeArgs(trace_path=str(mangled_trace)), make_ctx(repo)
    )
    assert result.source == "native"
    assert "dotnet-trace convert said it completed but wrote no file" in (result.note or "")
    assert is_complete_json(Path(result.speedscope_path))
    assert not list(repo.rglob("*.etlx")) and not list(mangled_trace.parent.glob("*.etlx"))
