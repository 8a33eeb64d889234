"""Threads grouped by identical stacks (parallel-stacks style) and read for blocking calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from tools.stacks.blocking import (
    find_blocking,
    first_target_frame,
    on_thread_pool,
    runtime_only,
)
from tools.stacks.model import Snapshot, StackGroup
from tools.stacks.report import StackReport, ThreadStack

MAX_THREAD_IDS = 16
FRAME_CHARS = 160
"""Longer frame names are cut (generic instantiations can run to kilobytes)."""

Locate = Callable[[str], str | None]
"""frame name -> ``file:line`` in the target repository, or None."""


def build_snapshot(
    report: StackReport,
    *,
    pid: int,
    target_prefix: str,
    locate: Locate | None = None,
    max_groups: int = 12,
    max_frames: int = 12,
    taken_at: datetime | None = None,
) -> Snapshot:
    """Groups the threads of ``report``, recognises blocking calls, links target frames.

    Groups of program threads in a blocking call come first (most threads first), then
    threads on CPU, then the rest; runtime-only threads (idle pool workers, timer, gate) last.
    """
    by_stack: dict[tuple[str, ...], list[ThreadStack]] = {}
    for thread in report.threads:
        by_stack.setdefault((thread.state, *thread.frames), []).append(thread)
    groups = [_group(threads, target_prefix, locate, max_frames) for threads in by_stack.values()]
    groups.sort(key=_order)
    kinds: Counter[str] = Counter()
    for group in groups:
        if group.state == "blocked" and group.block_kind:
            kinds[group.block_kind] += group.count
    when = taken_at or datetime.now(UTC)
    return Snapshot(
        pid=pid,
        taken_at=when.isoformat(timespec="seconds"),
        threads=len(report.threads),
        blocked_threads=sum(kinds.values()),
        blocked_by_kind=dict(kinds.most_common()),
        running_threads=sum(g.count for g in groups if g.state == "running"),
        groups=groups[:max_groups],
        groups_cut=max(len(groups) - max_groups, 0),
        notes=list(report.comments),
    )


def _group(
    threads: list[ThreadStack], prefix: str, locate: Locate | None, max_frames: int
) -> StackGroup:
    first = threads[0]
    frames = first.frames
    blocked = find_blocking(frames, prefix)
    idle = runtime_only(frames, prefix)
    target = first_target_frame(frames, prefix)
    if idle:
        state = "idle"
    elif blocked is not None:
        state = "blocked"
    elif first.state == "cpu":
        state = "running"
    else:
        state = "waiting"
    shown = [_cut(f) for f in frames[:max_frames]]
    return StackGroup(
        count=len(threads),
        thread_ids=[t.thread_id for t in threads[:MAX_THREAD_IDS]],
        state=state,
        blocked_in=blocked.label if blocked and not idle else None,
        block_kind=blocked.kind if blocked and not idle else None,
        caller_frame=_cut(blocked.caller_frame) if blocked and blocked.caller_frame else None,
        target_frame=_cut(target) if target else None,
        location=locate(target) if locate and target else None,
        thread_pool=on_thread_pool(frames),
        frames=shown,
        frames_cut=max(len(frames) - max_frames, 0),
    )


_STATE_ORDER = {"blocked": 0, "running": 1, "waiting": 2, "idle": 3}


def _order(group: StackGroup) -> tuple[int, int, str]:
    return (_STATE_ORDER.get(group.state, 4), -group.count, group.frames[0] if group.frames else "")


def _cut(frame: str) -> str:
    return frame if len(frame) <= FRAME_CHARS else frame[: FRAME_CHARS - 1] + "…"
