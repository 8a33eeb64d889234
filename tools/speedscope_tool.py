"""convert_speedscope: a speedscope file for the user, a compact summary for the model.

`dotnet-trace convert <file> --format Speedscope -o <out>` when the SDK tool is there, else the
native writer; either way the JSON stays on disk (under the run's work folder, never beside the
input trace) and only a bounded summary is returned. dotnet-trace prints "Conversion complete"
and exits 0 even after an exception, leaving a partial file or none (dotnet/diagnostics
TraceFileFormatConverter.cs:50-67): its file is used only when it is one complete JSON document,
else the native writer takes over and the result says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.analysis.speedscope import (
    FrameTime,
    ThreadTime,
    summarize_speedscope,
    write_speedscope,
)
from tools.base import Tool, ToolContext
from tools.dotnet_trace import find_dotnet_trace, tool_env
from tools.errors import ToolError
from tools.json_complete import is_complete_json
from tools.nettrace.model import TraceFormatError
from tools.process import ProcessResult
from tools.trace_report import resolve_trace
from tools.trace_scratch import scratch_trace

CONVERT_TIMEOUT_S = 300
SPEEDSCOPE_SUBDIR = "speedscope"


class ConvertSpeedscopeArgs(BaseModel):
    """Input of convert_speedscope."""

    model_config = ConfigDict(extra="forbid")

    trace_path: str = Field(description="The .nettrace file (relative paths: the repo).")
    top: int = Field(default=15, ge=1, le=100, description="Frames to list in each summary table.")


class ConvertSpeedscopeResult(BaseModel):
    """Where the speedscope file is, and what is in it."""

    speedscope_path: str = Field(description="Open it at https://www.speedscope.app.")
    source: Literal["dotnet-trace", "native"] = Field(description="Who wrote the file.")
    size_bytes: int = Field(description="File size.")
    total_ms: float = Field(description="Thread time in the file.")
    top_self: list[FrameTime] = Field(description="Frames by self time.")
    top_inclusive: list[FrameTime] = Field(description="Frames by inclusive time.")
    threads: list[ThreadTime] = Field(description="Busiest threads.")
    note: str | None = Field(default=None, description="Why the native writer was used.")


def speedscope_output(ctx: ToolContext, trace: Path) -> Path:
    """`<work folder>/speedscope/<trace name>.speedscope.json` (dotnet-trace's suffix): never
    beside an input trace that may lie outside the repository."""
    return ctx.work_dir / SPEEDSCOPE_SUBDIR / f"{trace.stem}.speedscope.json"


def convert_speedscope(args: ConvertSpeedscopeArgs, ctx: ToolContext) -> ConvertSpeedscopeResult:
    """Convert a trace to a speedscope flame-graph file for a person to open at speedscope.app.
    Use it only when the user wants a flame graph to look at; for the analysis itself call
    analyze_trace (the same hot paths, plus allocations, contention and deadlocks). It runs
    `dotnet-trace convert --format Speedscope`, or the native writer when that tool is missing
    or fails, and writes under the run's work folder. The result holds the file's path and size
    and a short summary (top frames by self and inclusive time, busiest threads), never the JSON.
    """
    trace = resolve_trace(ctx, args.trace_path)
    out = speedscope_output(ctx, trace)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    executable = find_dotnet_trace()
    note = "dotnet-trace is not installed; written natively"
    if executable is not None:
        problem = _convert_with_dotnet_trace(executable, trace, out, ctx)
        if problem is None:
            return _result(out, "dotnet-trace", args.top, None)
        if ctx.cancel.is_set():
            raise ToolError("convert_speedscope was cancelled")
        out.unlink(missing_ok=True)
        note = f"dotnet-trace convert {problem}; written natively"
    return _write_natively(trace, out, args.top, note)


def _convert_with_dotnet_trace(
    executable: str, trace: Path, out: Path, ctx: ToolContext
) -> str | None:
    """Runs `dotnet-trace convert`; None when it wrote a complete file, else what went wrong."""
    # dotnet-trace replaces the extension of -o with ".speedscope.json" itself.
    target = out.with_name(out.name.removesuffix(".speedscope.json") + ".json")
    ctx.progress(f"dotnet-trace convert {trace.name} --format Speedscope", None, None)
    with scratch_trace(ctx.work_dir, trace) as link:
        argv = [executable, "convert", str(link), "--format", "Speedscope", "-o", str(target)]
        result = ctx.runner(
            argv, cwd=ctx.repo, timeout=CONVERT_TIMEOUT_S, env=tool_env(), cancel=ctx.cancel
        )
    return _problem(result, out)


def _problem(result: ProcessResult, out: Path) -> str | None:
    tail = " | ".join(result.output_tail.strip().splitlines()[-3:])
    if not result.ok:
        return f"exited {result.exit_code} ({tail})"
    if not out.is_file():
        return f"said it completed but wrote no file ({tail})"
    if not is_complete_json(out):
        return f"wrote an incomplete file ({out.stat().st_size} bytes; {tail})"
    return None


def _write_natively(trace: Path, out: Path, top: int, note: str) -> ConvertSpeedscopeResult:
    from tools.analysis.cpu import MAX_EVENTED_EVENTS, evented_events, sample_scan, samples_of

    try:
        scan = sample_scan(trace)
    except TraceFormatError as exc:
        raise ToolError(f"{note}, but the trace cannot be read: {exc}") from exc
    events = evented_events(scan)
    if events > MAX_EVENTED_EVENTS:
        raise ToolError(
            f"{note}, but not for this trace: its speedscope file would hold about {events:,} "
            "events (gigabytes of JSON). Call analyze_trace for the hot paths instead; for a "
            "flame graph, tell the user to run `pta analyze TRACE --folded` and open the "
            "folded file in speedscope."
        )
    write_speedscope(samples_of(scan), out)
    return _result(out, "native", top, note)


def _result(
    out: Path, source: Literal["dotnet-trace", "native"], top: int, note: str | None
) -> ConvertSpeedscopeResult:
    summary = summarize_speedscope(out, top=top)
    return ConvertSpeedscopeResult(
        speedscope_path=str(out),
        source=source,
        size_bytes=out.stat().st_size,
        total_ms=summary.total_ms,
        top_self=summary.top_self,
        top_inclusive=summary.top_inclusive,
        threads=summary.threads,
        note=note,
    )


CONVERT_SPEEDSCOPE_TOOL = Tool.from_function(convert_speedscope, long_running=True)
