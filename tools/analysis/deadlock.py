"""Deadlock suspicion from what the trace shows, and never more.

Evidence kinds: a cycle of threads each waiting on a lock the next one owns (ContentionStart_V2
``LockOwnerThreadID``), a lock or wait entered and not left before the trace ended after
covering a large part of the window, and completed waits that covered most of the window
(a stall, reported but not by itself a deadlock).
"""

from __future__ import annotations

from tools.analysis.contention import ContentionCollector, OpenWait, WaitTracker
from tools.analysis.results import DeadlockEvidence, DeadlockSection
from tools.stacks.blocking import runtime_only

UNFINISHED_SHARE = 0.5
"""An open wait is suspicious when it covers at least this share of the trace window."""
LONG_WAIT_SHARE = 0.8
MIN_SUSPICIOUS_NS = 10e6
STACK_FRAMES = 12


def find_cycles(edges: dict[int, int]) -> list[list[int]]:
    """Cycles in a waiter → owner graph (each waiter has at most one owner)."""
    cycles: list[list[int]] = []
    seen: set[int] = set()
    for start in sorted(edges):
        path: list[int] = []
        node: int | None = start
        while node is not None and node not in seen and node not in path:
            path.append(node)
            node = edges.get(node)
        if node is not None and node in path:
            cycles.append(path[path.index(node) :])
        seen.update(path)
    return cycles


def assess(
    collector: ContentionCollector,
    frames: list[tuple[str, ...]],
    window: tuple[int, int] | None,
    qpc_frequency: int,
) -> DeadlockSection:
    """Suspected deadlocks with the evidence; ``window`` is (first, last) event timestamps."""
    if window is None or qpc_frequency <= 0:
        return DeadlockSection()
    ns_per_tick = 1e9 / qpc_frequency
    window_ns = max((window[1] - window[0]) * ns_per_tick, 1.0)
    evidence = _cycles(collector.locks.open, frames)
    in_cycle = {t for e in evidence for t in e.threads}
    for kind, tracker in (("contention", collector.locks), ("wait", collector.waits)):
        evidence += _unfinished(kind, tracker, frames, window, ns_per_tick, window_ns, in_cycle)
    suspected = bool(evidence)
    for tracker, kind in ((collector.locks, "lock contention"), (collector.waits, "wait")):
        evidence += _long_waits(kind, tracker, frames, window_ns)
    return DeadlockSection(suspected=suspected, evidence=evidence)


def _stack(frames: list[tuple[str, ...]], sid: int) -> list[str]:
    return list(frames[sid][-STACK_FRAMES:])


def _cycles(
    open_locks: dict[int, OpenWait], frames: list[tuple[str, ...]]
) -> list[DeadlockEvidence]:
    edges = {t: w.owner_thread_id for t, w in open_locks.items() if w.owner_thread_id}
    found = []
    for cycle in find_cycles(edges):
        hops = ", ".join(
            f"thread {t} waits for lock 0x{open_locks[t].lock_id or 0:x} owned by thread {edges[t]}"
            for t in cycle
        )
        found.append(
            DeadlockEvidence(
                kind="cycle",
                threads=cycle,
                message=f"Suspected deadlock: {hops}; none of them left the wait before the "
                "trace ended.",
                stacks=[_stack(frames, open_locks[t].stack_id) for t in cycle],
            )
        )
    return found


def _unfinished(
    kind: str,
    tracker: WaitTracker,
    frames: list[tuple[str, ...]],
    window: tuple[int, int],
    ns_per_tick: float,
    window_ns: float,
    skip: set[int],
) -> list[DeadlockEvidence]:
    found = []
    for tid, wait in sorted(tracker.open.items()):
        open_ns = (window[1] - wait.timestamp) * ns_per_tick
        if tid in skip or open_ns < max(UNFINISHED_SHARE * window_ns, MIN_SUSPICIOUS_NS):
            continue
        if runtime_only(frames[wait.stack_id], ""):
            continue  # the runtime's own idle waits (timer, thread-pool gate): never a deadlock
        owner = f" (lock owner: thread {wait.owner_thread_id})" if wait.owner_thread_id else ""
        found.append(
            DeadlockEvidence(
                kind=f"unfinished_{kind}",
                threads=[tid],
                message=f"Suspected: thread {tid} entered a {kind} {open_ns / 1e6:.1f} ms before "
                f"the trace ended ({100 * open_ns / window_ns:.0f}% of the window) and never "
                f"left it{owner}.",
                stacks=[_stack(frames, wait.stack_id)],
            )
        )
    return found


def _long_waits(
    kind: str, tracker: WaitTracker, frames: list[tuple[str, ...]], window_ns: float
) -> list[DeadlockEvidence]:
    found = []
    for wait in sorted(tracker.longest, key=lambda w: -w.duration_ns)[:5]:
        if wait.duration_ns < max(LONG_WAIT_SHARE * window_ns, MIN_SUSPICIOUS_NS):
            break
        found.append(
            DeadlockEvidence(
                kind="long_wait",
                threads=[wait.thread_id],
                message=f"Thread {wait.thread_id} spent {wait.duration_ns / 1e6:.1f} ms "
                f"({100 * wait.duration_ns / window_ns:.0f}% of the window) in one {kind}; it "
                "did finish, so this is a stall, not a deadlock by itself.",
                stacks=[_stack(frames, wait.stack_id)],
            )
        )
    return found
