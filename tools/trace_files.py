"""Names and retention of the traces under `<repo>/.perf-trace-analyzer/traces/`."""

from __future__ import annotations

import time
from pathlib import Path

from tools.base import ToolContext
from tools.errors import ToolError


def trace_file_name(scenario: str, client: str, preset: str) -> str:
    """A sortable, unique-enough file name: `<scenario>-<client>-<preset>-<stamp>.nettrace`."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{scenario}-{client}-{preset}-{stamp}-{time.monotonic_ns() % 1000:03d}.nettrace"


def prune_traces(folder: Path, *, keep: Path, max_bytes: int) -> list[str]:
    """Removes the oldest files in ``folder`` until it holds at most ``max_bytes``.

    ``keep`` (the trace just written) is never removed. Returns the removed file names.
    """
    files = [p for p in folder.iterdir() if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    removed = []
    for path in sorted(files, key=lambda p: p.stat().st_mtime):
        if total <= max_bytes:
            break
        if path.resolve() == keep.resolve():
            continue
        total -= path.stat().st_size
        path.unlink(missing_ok=True)
        removed.append(path.name)
    return removed


def resolve_trace_path(ctx: ToolContext, trace_path: str) -> Path:
    """The trace file ``trace_path`` names (relative paths: the repository), or a ToolError
    naming the resolved path and the traces that do exist under the run's work folder."""
    path = Path(trace_path).expanduser()
    if not path.is_absolute():
        path = ctx.repo / path
    if path.is_file():
        return path
    raise ToolError(f"Trace file not found: {path}. {known_traces(ctx)}")


def known_traces(ctx: ToolContext, limit: int = 8) -> str:
    """A sentence naming the newest traces under the work folder, or saying there are none."""
    folder = ctx.work_dir / "traces"
    found = sorted(
        (p for p in folder.glob("*.nettrace") if p.is_file()) if folder.is_dir() else [],
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    if not found:
        return f"No traces exist under {folder} yet: call trace_collect to record one."
    names = ", ".join(str(p.relative_to(ctx.repo)) for p in found[:limit])
    more = f" and {len(found) - limit} older" if len(found) > limit else ""
    return f"Traces under {folder} (newest first): {names}{more}."
