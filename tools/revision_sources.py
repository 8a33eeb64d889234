"""The changed methods of a before/after comparison, found in the source of both revisions."""

from __future__ import annotations

from tools.analysis.significance import MetricChange, Significance
from tools.analysis.significance_report import SourceLink, SourceLocation
from tools.base import ToolContext
from tools.errors import ToolError
from tools.source.find_source import FindSourceArgs, find_source

MAX_LINKS = 8
"""Changed methods looked up in source (the most significant first)."""


def changed_frame(change: MetricChange) -> str | None:
    """The method a change is about (an allocation site's frame; None for throughput, types)."""
    if change.family in ("throughput", "alloc_type"):
        return None
    if change.family == "alloc_site":
        return change.name.rpartition(" [")[0] or None
    return change.name


def source_links(
    significance: Significance, target_prefix: str, base: ToolContext, head: ToolContext
) -> list[SourceLink]:
    """Each significantly changed target method with its declaration at BASE and at HEAD."""
    frames: list[str] = []
    for change in significance.significant():
        frame = changed_frame(change)
        if frame and target_prefix in frame and frame not in frames:
            frames.append(frame)
    return [
        SourceLink(name=frame, base=_locate(frame, base), head=_locate(frame, head))
        for frame in frames[:MAX_LINKS]
    ]


def _locate(frame: str, ctx: ToolContext) -> SourceLocation | None:
    try:
        found = find_source(FindSourceArgs(symbol=frame[:2000], max_lines=5), ctx)
    except ToolError:
        return None
    if not found.found or not found.candidates:
        return None
    best = found.candidates[0]
    return SourceLocation(file=best.file, start_line=best.start_line, end_line=best.end_line)
