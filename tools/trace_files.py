"""Names and retention of the traces under `<repo>/.perf-trace-analyzer/traces/`."""

from __future__ import annotations

import time
from pathlib import Path


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
