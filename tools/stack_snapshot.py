"""stack_snapshot: every managed thread's stack of a running .NET process, grouped and read.

Runs `dotnet-stack report --process-id PID` (installed on demand, like dotnet-trace), keeps
the whole report under ``.perf-trace-analyzer/snapshots/`` and returns the threads grouped by
identical stacks with their blocking calls named and target frames linked to source.
``take_snapshot`` is the same without the tool wrapper, for trace_collect to call on a stall
before it stops the stress tool.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tools.base import Tool, ToolContext
from tools.dotnet_trace import ensure_global_tool, tool_env
from tools.errors import ToolError
from tools.process import ProcessResult
from tools.source.locate import locator
from tools.stacks.groups import Locate, build_snapshot
from tools.stacks.model import Snapshot
from tools.stacks.report import parse_report
from tools.target_config import load_target_config

SNAPSHOT_TIMEOUT_S = 120
"""dotnet-stack's rundown takes seconds on big processes; a suspended runtime never answers."""
PID_STATE_KEY = "stress_pid"
"""``ctx.state`` key of the running stress process (set by trace_collect)."""
SNAPSHOT_STATE_KEY = "snapshot"
"""``ctx.state`` key where the latest :class:`Snapshot` is kept for analyze_trace's verdict."""
MAX_REPORT_LINES = 200_000


class StackSnapshotArgs(BaseModel):
    """Input of stack_snapshot."""

    model_config = ConfigDict(extra="forbid")

    pid: int | None = Field(
        default=None,
        ge=1,
        description="Process id; default: the stress process trace_collect is running.",
    )
    max_groups: int = Field(
        default=12, ge=1, le=40, description="Most stack groups returned (1-40)."
    )
    max_frames: int = Field(
        default=12, ge=3, le=40, description="Most frames per group, from the leaf (3-40)."
    )


def stack_snapshot(args: StackSnapshotArgs, ctx: ToolContext) -> Snapshot:
    """Take a stack snapshot of every managed thread of the running stress process (or of
    pid) with `dotnet-stack report`, installed on demand. Use it while progress is stalled, to
    see which threads are blocked and where. Not for a hang that blocks no thread (an await
    that never completes: trace with preset hang and use analyze_trace) nor for CPU or
    allocation questions. The result groups threads with identical stacks (counts, thread
    ids), names each group's blocking call (lock, Monitor.Wait, WaitHandle,
    Task.Wait/.Result/GetAwaiter().GetResult(), SemaphoreSlim.Wait, Thread.Join/Sleep) and
    links its first target frame to file:line; analyze_trace then uses it for its verdict.
    """
    pid = args.pid or ctx.state.get(PID_STATE_KEY)
    if not isinstance(pid, int) or pid <= 0:
        raise ToolError(
            "no process to snapshot: give pid, or run trace_collect (its stress process is "
            "snapshotted while it runs)"
        )
    return take_snapshot(pid, ctx, max_groups=args.max_groups, max_frames=args.max_frames)


def take_snapshot(
    pid: int, ctx: ToolContext, *, max_groups: int = 12, max_frames: int = 12
) -> Snapshot:
    """`dotnet-stack report` of ``pid``, grouped; kept in ``ctx.state["snapshot"]`` too.

    Raises:
        ToolError: dotnet-stack is missing and cannot be installed, the process is not a
            running .NET process, or the report holds no thread.
    """
    notes: list[str] = []
    executable = ensure_global_tool("dotnet-stack", ctx, notes)
    ctx.progress(f"dotnet-stack report --process-id {pid}", None, None)
    lines: list[str] = []

    def keep(line: str) -> None:
        if len(lines) < MAX_REPORT_LINES:
            lines.append(line)

    result = ctx.runner(
        [executable, "report", "--process-id", str(pid)],
        cwd=ctx.repo,
        timeout=SNAPSHOT_TIMEOUT_S,
        env=tool_env(),
        on_line=keep,
        cancel=ctx.cancel,
    )
    text = "\n".join(lines) if lines else result.output_tail
    report = parse_report(text)
    if not result.ok or not report.threads:
        raise ToolError(_failure(pid, result, text))
    raw_path = _save(ctx, pid, text)
    snapshot = build_snapshot(
        report,
        pid=pid,
        target_prefix=load_target_config(ctx.repo).target_prefix,
        locate=_locate(ctx),
        max_groups=max_groups,
        max_frames=max_frames,
    )
    snapshot.raw_path = str(raw_path)
    snapshot.notes = notes + snapshot.notes
    ctx.state[SNAPSHOT_STATE_KEY] = snapshot
    return snapshot


def load_snapshot(
    path: Path, *, pid: int = 0, target_prefix: str = "Dekaf.", locate: Locate | None = None
) -> Snapshot:
    """A saved `dotnet-stack report` (ours, or the stress tool's watchdog capture), grouped.

    Raises:
        ToolError: the file cannot be read or holds no ``Thread (…):`` block.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ToolError(f"cannot read the stack snapshot {str(path)!r}: {exc}") from exc
    report = parse_report(text)
    if not report.threads:
        raise ToolError(f"{str(path)!r} holds no dotnet-stack thread stacks")
    written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    snapshot = build_snapshot(
        report, pid=pid, target_prefix=target_prefix, locate=locate, taken_at=written
    )
    snapshot.raw_path = str(path)
    return snapshot


def _failure(pid: int, result: ProcessResult, text: str) -> str:
    errors = [line.strip() for line in text.splitlines() if line.strip().startswith("[ERROR]")]
    if result.timed_out:
        why = f"dotnet-stack did not answer within {SNAPSHOT_TIMEOUT_S} s"
    elif errors:
        why = errors[0][:600]
    else:
        why = f"dotnet-stack exited {result.exit_code} without thread stacks"
    return (
        f"no stack snapshot of process {pid}: {why}. The process must be a running .NET "
        "process of this user (has it exited?)."
    )


def _save(ctx: ToolContext, pid: int, text: str) -> Path:
    folder = ctx.work_dir / "snapshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"stacks-{pid}-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _locate(ctx: ToolContext) -> Locate | None:
    """Source links are a bonus: without an index (no C# files, no repo) frames stay unlinked."""
    from tools.source.find_source import get_index

    try:
        return locator(get_index(ctx))
    except (ToolError, OSError, ValueError):
        return None


STACK_SNAPSHOT_TOOL = Tool.from_function(stack_snapshot, long_running=True)
