"""trace_report_piped: `dotnet-trace report <file> topN`, never waiting for a human.

The real CLI has no `--interactive`; a request for the "piped interactive" form is served by
running `report … topN` with standard input closed and a timeout. When dotnet-trace is missing
or fails, the same table comes from the native analysis and the result says so. dotnet-trace reads
the trace through a scratch link under the run's work folder, so the `.etlx` it leaves behind
never lands beside the trace (tools/trace_scratch.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.analysis.topn import NO_METHODS_WARNING, TopRow, parse_topn, topn_of_trace
from tools.base import Tool, ToolContext
from tools.dotnet_trace import find_dotnet_trace, tool_env
from tools.errors import ToolError
from tools.nettrace.model import TraceFormatError
from tools.trace_files import resolve_trace_path
from tools.trace_scratch import scratch_trace

REPORT_TIMEOUT_S = 180


class TraceReportArgs(BaseModel):
    """Input of trace_report_piped."""

    model_config = ConfigDict(extra="forbid")

    trace_path: str = Field(description="The .nettrace file (relative paths: the repo).")
    top: int = Field(default=20, ge=1, le=200, description="How many methods (topN -n).")
    inclusive: bool = Field(default=False, description="Rank by inclusive instead of self time.")


class ReportRow(BaseModel):
    """One method of the table."""

    rank: int = Field(description="1-based rank.")
    name: str = Field(description="Type.Method(args) as dotnet-trace prints it.")
    inclusive_percent: float = Field(description="Time on the stack, % of all thread time.")
    exclusive_percent: float = Field(description="Self time, % of all thread time.")


class TraceReportResult(BaseModel):
    """The topN table, parsed, and where it came from."""

    source: Literal["dotnet-trace", "native"] = Field(description="Who computed the table.")
    rows: list[ReportRow] = Field(description="The table's rows, in dotnet-trace's order.")
    note: str | None = Field(default=None, description="Why the native analysis was used.")


def resolve_trace(ctx: ToolContext, trace_path: str) -> Path:
    """An existing trace file; relative paths resolve against the repository."""
    return resolve_trace_path(ctx, trace_path)


def trace_report_piped(args: TraceReportArgs, ctx: ToolContext) -> TraceReportResult:
    """Top N methods by exclusive (or inclusive) thread time, as `dotnet-trace report <file>
    topN -n N [--inclusive]` prints them, run non-interactively (stdin closed, a timeout).
    Use it only when the user asks for dotnet-trace's own table, or to cross-check a number;
    for everything else call analyze_trace, which is faster and also covers allocations,
    contention, deadlocks and source links. Without dotnet-trace (or when it fails) the same
    table is computed natively and `note` says so. The result holds the rows: rank, name as
    dotnet-trace shortens it (Type.Method(args)), inclusive and exclusive percent.
    """
    path = resolve_trace(ctx, args.trace_path)
    executable = find_dotnet_trace()
    if executable is None:
        return _native(path, args, "dotnet-trace is not installed; computed natively")
    ctx.progress(f"dotnet-trace report {path.name} topN -n {args.top}", None, None)
    with scratch_trace(ctx.work_dir, path) as link:
        argv = [executable, "report", str(link), "topN", "-n", str(args.top)]
        if args.inclusive:
            argv.append("--inclusive")
        result = ctx.runner(
            argv, cwd=ctx.repo, timeout=REPORT_TIMEOUT_S, env=tool_env(), cancel=ctx.cancel
        )
    rows = parse_topn(result.output_tail)
    if result.ok and (rows or NO_METHODS_WARNING in result.output_tail):
        return TraceReportResult(source="dotnet-trace", rows=_rows(rows))
    if ctx.cancel.is_set():
        raise ToolError("trace_report_piped was cancelled")
    why = "timed out" if result.timed_out else f"exited {result.exit_code}"
    tail = result.output_tail.strip().splitlines()[-3:]
    return _native(path, args, f"dotnet-trace report {why} ({' | '.join(tail)}); computed natively")


def _native(path: Path, args: TraceReportArgs, note: str) -> TraceReportResult:
    try:
        rows = topn_of_trace(path, top=args.top, inclusive=args.inclusive)
    except TraceFormatError as exc:
        raise ToolError(f"{note}, but the trace cannot be read: {exc}") from exc
    return TraceReportResult(source="native", rows=_rows(rows), note=note)


def _rows(rows: list[TopRow]) -> list[ReportRow]:
    return [
        ReportRow(
            rank=row.rank,
            name=row.name,
            inclusive_percent=round(row.inclusive_percent, 2),
            exclusive_percent=round(row.exclusive_percent, 2),
        )
        for row in rows
    ]


TRACE_REPORT_TOOL = Tool.from_function(trace_report_piped, long_running=True)
