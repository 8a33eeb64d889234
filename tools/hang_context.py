"""What analyze_trace adds for the hang verdict: the run's snapshot and stall, source links,
and the verdict cut to fit a tool result.

Kept apart from the analyze_trace tool so that the tool only calls these four functions.
"""

from __future__ import annotations

from pathlib import Path

from tools.analysis.hang_evidence import Locate, method_label
from tools.analysis.hang_models import AwaitSection, HangVerdict, StallInfo
from tools.base import ToolContext
from tools.errors import ToolError
from tools.stack_snapshot import SNAPSHOT_STATE_KEY
from tools.stacks.model import Snapshot

STALL_STATE_KEY = "stall"
"""``ctx.state`` key of the stall trace_collect saw (a StallInfo or its dict)."""
LINE_CHARS = 320
KEPT = 4
"""Rows kept of each verdict table."""


def hang_context(ctx: ToolContext, path: Path) -> tuple[Snapshot | None, StallInfo | None]:
    """The snapshot stack_snapshot (or trace_collect) took, and the stall trace_collect saw
    when it wrote this very trace (``ctx.state["last_trace"]``)."""
    snapshot = ctx.state.get(SNAPSHOT_STATE_KEY)
    stall = ctx.state.get(STALL_STATE_KEY)
    if isinstance(stall, dict):
        stall = StallInfo.model_validate(stall)
    same_run = ctx.state.get("last_trace") == str(path)
    return (
        snapshot if isinstance(snapshot, Snapshot) else None,
        stall if isinstance(stall, StallInfo) and same_run else None,
    )


def verdict_locator(ctx: ToolContext) -> Locate | None:
    """frame -> file:line for the verdict's frames; None when the repo has no C# sources."""
    from tools.source.find_source import get_index
    from tools.source.locate import locator

    try:
        return locator(get_index(ctx))
    except (ToolError, OSError, ValueError):
        return None


def compact_awaits(section: AwaitSection) -> AwaitSection:
    """The open-wait groups without their stacks (the verdict keeps the one that matters)."""
    cut = section.model_copy(deep=True)
    cut.groups = cut.groups[:KEPT]
    for group in cut.groups:
        group.method, group.stack = method_label(group.method), []
    return cut


def compact_verdict(verdict: HangVerdict | None) -> HangVerdict | None:
    """The verdict with its evidence lines and tables cut: one stack kept (the innermost
    await's, nearest frames first); the snapshot and stall are already in the evidence lines
    and the snapshot's full groups stay in its saved file. Frames are named as the report names
    them, never cut inside: the model passes them to find_source."""
    if verdict is None:
        return None
    cut = verdict.model_copy(deep=True)
    cut.evidence = [_line(text) for text in cut.evidence[:6]]
    cut.awaits = cut.awaits[:KEPT]
    for index, group in enumerate(cut.awaits):
        group.method = method_label(group.method)
        group.stack = [method_label(f) for f in group.stack[:3]] if index == 0 else []
    cut.blocked_pool = cut.blocked_pool[: KEPT - 1]
    for site in cut.blocked_pool:
        site.caller = method_label(site.caller)
    for hop in cut.cycle:
        hop.holding_frames = [method_label(f) for f in hop.holding_frames[:2]]
        hop.holding_locations = hop.holding_locations[:2]
    cut.snapshot = cut.stall = None
    cut.checked = []  # the same lines as the evidence of a no-hang verdict
    return cut


def _line(text: str) -> str:
    return text if len(text) <= LINE_CHARS else text[: LINE_CHARS - 1] + "…"
