"""convert_speedscope: a speedscope file for the user, a compact summary for the model.

`dotnet-trace convert <file> --format Speedscope -o <out>` when the SDK tool is there, else the
native writer; either way the JSON stays on disk and only a bounded summary is returned.
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
from tools.nettrace.model import TraceFormatError
from tools.trace_report import resolve_trace

CONVERT_TIMEOUT_S = 300


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
    """``<work>/speedscope/<trace stem>.speedscope.json``: under the run's work folder, never
    beside an input trace that may lie outside the repository (dotnet-trace's own naming)."""
    folder = ctx.work_dir / "speedscope"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / Path(trace.name).with_suffix(".speedscope.json").name


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
    executable = find_dotnet_trace()
    note = "dotnet-trace is not installed; written natively"
    if executable is not None:
        # dotnet-trace replaces the extension of -o with ".speedscope.json" itself.
        target = str(out.with_name(out.name.removesuffix(".speedscope.json") + ".json"))
        argv = [executable, "convert", str(trace), "--format", "Speedscope", "-o", target]
        ctx.progress(f"dotnet-trace convert {trace.name} --format Speedscope", None, None)
        out.unlink(missing_ok=True)
        result = ctx.runner(
            argv, cwd=ctx.repo, timeout=CONVERT_TIMEOUT_S, env=tool_env(), cancel=ctx.cancel
        )
        if result.ok and out.is_file():
            return _result(out, "dotnet-trace", args.top, None)
        if ctx.cancel.is_set():
            raise ToolError("convert_speedscope was cancelled")
        tail = " | ".join(result.output_tail.strip().splitlines()[-3:])
        note = f"dotnet-trace convert exited {result.exit_code} ({tail}); written natively"
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
    return _result(out, "native", args.top, note)


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
