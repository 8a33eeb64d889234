"""The pieces of hang evidence, gathered from the trace's collectors and the stack snapshot.

Each function reads one kind of evidence and returns it ready for the verdict
(:mod:`tools.analysis.hang`): the threads of a lock cycle with where they wait and what they
hold, thread-pool threads blocked in task waits, and what a stack snapshot adds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tools.analysis.contention import OpenWait, WaitTracker
from tools.analysis.hang_models import AwaitSection, BlockedPoolSite, CycleHop
from tools.stacks.blocking import LABELS, TASK_WAIT_KINDS, find_blocking, is_runtime, on_thread_pool
from tools.stacks.model import Snapshot

Locate = Callable[[str], str | None]
HOLDING_FRAMES = 3
"""Program frames kept from the waiting frame up (one of them took the lock the thread holds)."""


def method_label(frame: str) -> str:
    """The method without module and argument list (file:line tells overloads apart): how the
    verdict names a frame in its lines, its tables and the tool result alike."""
    method = frame.split("!", 1)[-1]
    return method.split("(", 1)[0] + "()" if "(" in method else method


def cycle_hops(
    cycle: list[int],
    open_locks: dict[int, OpenWait],
    frames: list[tuple[str, ...]],
    target_prefix: str,
) -> list[CycleHop]:
    """Each thread of a waiter -> owner cycle: the lock it waits for, where, and its callers."""
    hops = []
    for thread in cycle:
        wait = open_locks[thread]
        leaf_first = frames[wait.stack_id][::-1]
        blocked = find_blocking(leaf_first, target_prefix)
        waiting = blocked.caller_frame if blocked else None
        program = [f for f in leaf_first if not is_runtime(f, target_prefix)]
        above = program[program.index(waiting) :] if waiting in program else program
        hops.append(
            CycleHop(
                thread_id=thread,
                waits_for_lock=f"0x{wait.lock_id or 0:x}",
                owner_thread_id=wait.owner_thread_id or 0,
                waiting_frame=waiting,
                holding_frames=above[:HOLDING_FRAMES],
            )
        )
    return hops


@dataclass
class _PoolSite:
    open_threads: int = 0
    waits: int = 0
    total_ns: float = 0.0
    max_ns: float = 0.0


def blocked_pool_sites(
    waits: WaitTracker,
    frames: list[tuple[str, ...]],
    last_ts: int,
    ns_per_tick: float,
    target_prefix: str,
) -> list[BlockedPoolSite]:
    """WaitHandleWait waits (.NET 9+) on thread-pool threads inside a task wait, by call site."""
    sites: dict[tuple[str, str], _PoolSite] = {}

    def site_of(stack_id: int) -> _PoolSite | None:
        leaf_first = frames[stack_id][::-1]
        blocked = find_blocking(leaf_first, target_prefix)
        if blocked is None or blocked.kind not in TASK_WAIT_KINDS:
            return None
        if not on_thread_pool(leaf_first) or blocked.caller_frame is None:
            return None
        return sites.setdefault((blocked.caller_frame, blocked.label), _PoolSite())

    for stack_id, done in waits.sites.items():
        site = site_of(stack_id)
        if site is not None:
            site.waits += done.events
            site.total_ns += done.total_ns
            site.max_ns = max(site.max_ns, done.max_ns)
    for wait in waits.open.values():
        site = site_of(wait.stack_id)
        if site is not None:
            site.open_threads += 1
            site.max_ns = max(site.max_ns, (last_ts - wait.timestamp) * ns_per_tick)
    found = [
        BlockedPoolSite(
            caller=caller,
            blocked_in=label,
            open_threads=site.open_threads,
            waits=site.waits,
            total_ms=round(site.total_ns / 1e6, 3),
            max_ms=round(site.max_ns / 1e6, 3),
            source="waithandle",
        )
        for (caller, label), site in sites.items()
    ]
    return sorted(found, key=lambda s: (-s.open_threads, -s.max_ms))


def tpl_blocked_pool_sites(awaits: AwaitSection) -> list[BlockedPoolSite]:
    """Blocking task waits (Wait/Result/GetResult) still open on pool threads, from TPL events."""
    return [
        BlockedPoolSite(
            caller=group.method,
            blocked_in="a blocking task wait",
            open_threads=group.pool_threads,
            waits=0,
            max_ms=round(group.oldest_s * 1000, 3),
            source="tpl",
        )
        for group in awaits.groups
        if group.behavior == "blocking" and group.pool_threads
    ]


def snapshot_pool_sites(snapshot: Snapshot | None) -> list[BlockedPoolSite]:
    """Pool threads the stack snapshot shows blocked in a task wait, by call site."""
    if snapshot is None:
        return []
    sites: dict[tuple[str, str], BlockedPoolSite] = {}
    for group in snapshot.groups:
        if not group.thread_pool or group.block_kind not in TASK_WAIT_KINDS:
            continue
        caller = group.caller_frame or (group.frames[0] if group.frames else "?")
        label = group.blocked_in or LABELS.get(group.block_kind or "", "?")
        site = sites.setdefault(
            (caller, label),
            BlockedPoolSite(
                caller=caller,
                location=group.location,
                blocked_in=label,
                open_threads=0,
                waits=0,
                max_ms=0.0,
                source="snapshot",
            ),
        )
        site.open_threads += group.count
    return list(sites.values())


def snapshot_lock_threads(snapshot: Snapshot | None) -> dict[int, str]:
    """Thread id -> the frame taking the lock, for threads the snapshot shows in a lock."""
    if snapshot is None:
        return {}
    return {
        thread: group.caller_frame or "?"
        for group in snapshot.groups
        if group.block_kind == "lock"
        for thread in group.thread_ids
    }


def snapshot_summary(snapshot: Snapshot) -> str:
    """One sentence: what the snapshot's program threads were doing."""
    kinds = ", ".join(f"{n} in {LABELS.get(k, k)}" for k, n in snapshot.blocked_by_kind.items())
    blocked = f"{snapshot.blocked_threads} blocked ({kinds})" if kinds else "none blocked"
    of = f" of pid {snapshot.pid}" if snapshot.pid else ""
    return (
        f"the stack snapshot{of} ({snapshot.taken_at}) shows {snapshot.threads} managed "
        f"threads: {blocked}, {snapshot.running_threads} on CPU"
    )


def link_locations(
    hops: list[CycleHop], sites: list[BlockedPoolSite], locate: Locate | None
) -> None:
    """Fills the file:line fields of cycle hops and pool sites (in place)."""
    if locate is None:
        return
    for hop in hops:
        hop.waiting_location = locate(hop.waiting_frame) if hop.waiting_frame else None
        hop.holding_locations = [locate(f) for f in hop.holding_frames]
    for site in sites:
        site.location = site.location or locate(site.caller)
