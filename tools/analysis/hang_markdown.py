"""The hang verdict as Markdown, for the Contention & Deadlocks section of every report."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from tools.analysis.hang_evidence import method_label
from tools.analysis.hang_models import AwaitGroup, BlockedPoolSite, CycleHop, HangVerdict
from tools.stacks.model import Snapshot

TITLES = {
    "lock_order_deadlock": "lock-order deadlock",
    "async_hang": "async hang",
    "sync_over_async_starvation": "sync-over-async starvation",
    "stall_without_evidence": "stall without evidence",
    "no_hang": "no hang",
}
SNAPSHOT_ROWS = 6
NAME_MAX = 90


def verdict_from_json(data: Any) -> HangVerdict | None:
    """The verdict in an ``analyze_trace`` JSON result, or None when absent or unreadable."""
    if not isinstance(data, dict):
        return None
    try:
        return HangVerdict.model_validate(data)
    except ValidationError:
        return None


def verdict_lines(verdict: HangVerdict) -> list[str]:
    """The verdict, its evidence and (per kind) the table an expert would look at."""
    lines = [f"**Verdict: {TITLES[verdict.kind]}.** {verdict.headline}", ""]
    lines += [f"- {_escape(line)}" for line in verdict.evidence]
    if verdict.next_collection:
        lines += [f"- **The one collection that would tell:** {verdict.next_collection}"]
    lines.append("")
    if verdict.cycle:
        lines += _cycle_table(verdict.cycle)
    if verdict.awaits:
        lines += _await_table(verdict.awaits)
    if verdict.blocked_pool:
        lines += _pool_table(verdict.blocked_pool)
    if verdict.snapshot is not None and verdict.kind != "no_hang":
        lines += _snapshot_table(verdict.snapshot)
    return lines


def _cycle_table(hops: list[CycleHop]) -> list[str]:
    rows = [
        "| thread | waits for lock | owned by | waiting in | holding (taken in or above) |",
        "|---|---|---|---|---|",
    ]
    for hop in hops:
        holding = ", ".join(
            _named(frame, location)
            for frame, location in zip(
                hop.holding_frames, hop.holding_locations or [None] * 9, strict=False
            )
        )
        rows.append(
            f"| {hop.thread_id} | {hop.waits_for_lock} | {hop.owner_thread_id} | "
            f"{_named(hop.waiting_frame, hop.waiting_location)} | {holding or '—'} |"
        )
    return rows + [""]


def _await_table(groups: list[AwaitGroup]) -> list[str]:
    rows = [
        "| awaiting method | open | oldest s | chain | completed in window |",
        "|---|---|---|---|---|",
    ]
    for group in groups:
        chain = "innermost" if group.innermost else "outer"
        rows.append(
            f"| {_named(group.method, group.location)} | {group.count} | {group.oldest_s:.1f} | "
            f"{chain} | {group.completed} |"
        )
    return rows + [""]


def _pool_table(sites: list[BlockedPoolSite]) -> list[str]:
    rows = [
        "| blocking call site | blocked in | threads blocked | completed waits | blocked s "
        "| longest s | seen by |",
        "|---|---|---|---|---|---|---|",
    ]
    for site in sites[:8]:
        rows.append(
            f"| {_named(site.caller, site.location)} | {site.blocked_in} | {site.open_threads} | "
            f"{site.waits} | {site.total_ms / 1000:.1f} | {site.max_ms / 1000:.2f} | "
            f"{site.source} |"
        )
    return rows + [""]


def _snapshot_table(snapshot: Snapshot) -> list[str]:
    rows = [
        f"Stack snapshot ({f'pid {snapshot.pid}, ' if snapshot.pid else ''}{snapshot.taken_at}, "
        f"{snapshot.threads} threads):",
        "",
        "| threads | state | blocked in | at |",
        "|---|---|---|---|",
    ]
    for group in snapshot.groups[:SNAPSHOT_ROWS]:
        where = (
            group.caller_frame or group.target_frame or (group.frames[0] if group.frames else "")
        )
        rows.append(
            f"| {group.count} | {group.state} | {group.blocked_in or '—'} | "
            f"{_named(where, group.location)} |"
        )
    return rows + [""]


def _named(frame: str | None, location: str | None) -> str:
    if not frame:
        return "—"
    name = method_label(frame)
    if len(name) > NAME_MAX:
        name = name[: NAME_MAX - 1] + "…"
    text = f"`` {name} ``" if "`" in name else f"`{name}`"
    return _escape(text) + (f" ({location})" if location else "")


def _escape(text: str) -> str:
    return text.replace("|", "\\|")
