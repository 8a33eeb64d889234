"""The hang verdict: exactly one answer to "is there a deadlock?", never without its evidence.

In order of certainty: a lock-order deadlock (a cycle of threads each waiting for a lock the
next one owns, from ContentionStart v2 owner ids), sync-over-async starvation (thread-pool
threads blocked in task waits while the pool injects threads), an async hang (awaits begun and
never ended while their method stopped making progress, or while progress was seen to stop),
a stall without evidence (progress stopped, or a lock wait covered most of the window, but
nothing above explains it: then the one collection that would tell), or no hang (with what
was checked). A healthy trace never gets a hang: every hang kind needs its own evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.analysis.contention import ContentionCollector
from tools.analysis.hang_evidence import (
    Locate,
    blocked_pool_sites,
    cycle_hops,
    link_locations,
    method_label,
    snapshot_lock_threads,
    snapshot_pool_sites,
    snapshot_summary,
    tpl_blocked_pool_sites,
)
from tools.analysis.hang_models import (
    AwaitGroup,
    AwaitSection,
    BlockedPoolSite,
    CycleHop,
    HangVerdict,
    StallInfo,
    ThreadPoolSection,
)
from tools.analysis.results import DeadlockSection
from tools.stacks.model import Snapshot

HUNG_AWAIT_MIN_S = 1.0
HUNG_AWAIT_SHARE = 0.25
"""An open await counts when older than max(1 s, a quarter of the window)."""
MIN_BLOCKED_POOL_THREADS = 2
LONG_POOL_WAIT_MS = 1000.0
MIN_POOL_GROWTH = 2
STUCK_LOCK_SHARE = 0.5
"""A lock wait left open for half the window is a stall even without a cycle."""
PRESET_HANG = (
    "trace again with preset `hang` while it happens (TplEventSource task waits, lock owners, "
    "thread-pool growth)"
)
DUMP = "`dotnet-dump collect -p PID`"


@dataclass
class HangInputs:
    """What the trace analysis found, for the verdict."""

    deadlock: DeadlockSection
    locks: ContentionCollector
    awaits: AwaitSection
    pool: ThreadPoolSection
    frames: list[tuple[str, ...]]
    first_ts: int
    last_ts: int
    qpc_frequency: int
    target_prefix: str
    contention_collected: bool

    @property
    def window_s(self) -> float:
        """Seconds from the first to the last event."""
        return max((self.last_ts - self.first_ts) / self.qpc_frequency, 0.0)


def judge_hang(
    inputs: HangInputs,
    snapshot: Snapshot | None = None,
    stall: StallInfo | None = None,
    locate: Locate | None = None,
) -> HangVerdict:
    """The one verdict, with its evidence (``locate`` adds file:line where it can)."""
    for decide in (_lock_cycle, _sync_over_async, _async_hang, _stall):
        verdict = decide(inputs, snapshot, stall, locate)
        if verdict is not None:
            break
    else:
        verdict = _no_hang(inputs, snapshot, stall)
    verdict.snapshot, verdict.stall = snapshot, stall
    return verdict


def _lock_cycle(
    inputs: HangInputs, snapshot: Snapshot | None, stall: StallInfo | None, locate: Locate | None
) -> HangVerdict | None:
    cycles = [e for e in inputs.deadlock.evidence if e.kind == "cycle"]
    if not cycles:
        return None
    hops = cycle_hops(cycles[0].threads, inputs.locks.locks.open, inputs.frames,
                      inputs.target_prefix)  # fmt: skip
    link_locations(hops, [], locate)
    evidence = [_hop_line(h, hops) for h in hops]
    evidence.append("none of them left its wait before the trace ended (ContentionStart v2 owners)")
    in_lock = snapshot_lock_threads(snapshot)
    if snapshot is not None:
        still = [h.thread_id for h in hops if h.thread_id in in_lock]
        evidence.append(
            f"confirmed by the stack snapshot: threads {', '.join(map(str, still))} still in "
            "Monitor.Enter"
            if still
            else f"not confirmed by the stack snapshot: {snapshot_summary(snapshot)}"
        )
    threads = " and ".join(str(h.thread_id) for h in hops)
    return HangVerdict(
        kind="lock_order_deadlock",
        headline=f"Lock-order deadlock: threads {threads} each wait for a lock the other holds.",
        evidence=evidence,
        cycle=hops,
    )


def _sync_over_async(
    inputs: HangInputs, snapshot: Snapshot | None, stall: StallInfo | None, locate: Locate | None
) -> HangVerdict | None:
    ns_per_tick = 1e9 / inputs.qpc_frequency
    sites = blocked_pool_sites(
        inputs.locks.waits, inputs.frames, inputs.last_ts, ns_per_tick, inputs.target_prefix
    )
    sites += tpl_blocked_pool_sites(inputs.awaits) + snapshot_pool_sites(snapshot)
    blocked = max(_blocked_threads(sites, source) for source in ("waithandle", "tpl", "snapshot"))
    long_waits = sum(s.waits for s in sites if s.max_ms >= LONG_POOL_WAIT_MS)
    # Short waits add up too: when pool threads sit in task waits two at a time on average,
    # the pool is short of workers even if each wait ends quickly and progress goes on.
    blocked_s = sum(s.total_ms for s in sites) / 1000
    on_average = blocked_s / inputs.window_s if inputs.window_s else 0.0
    pool = inputs.pool
    injections = pool.starvation + pool.cooperative_blocking
    growth = (pool.workers_max or 0) - (pool.workers_first or 0)
    if max(blocked, long_waits, on_average) < MIN_BLOCKED_POOL_THREADS:
        return None
    if injections < 1 and growth < MIN_POOL_GROWTH:
        return None
    sites = _one_per_caller(sites)
    link_locations([], sites, locate)
    evidence = [_pool_site_line(s) for s in sites[:6]]
    evidence.append(_pool_line(pool))
    if stall is not None:
        evidence.append(
            f"progress stalled: {_stall_text(stall)}"
            if stall.detected
            else "progress kept growing during the trace, while the pool added threads"
        )
    longest = max(s.max_ms for s in sites) / 1000
    if blocked >= MIN_BLOCKED_POOL_THREADS:
        what = f"{blocked} thread-pool threads block in task waits"
    elif long_waits >= MIN_BLOCKED_POOL_THREADS:
        what = (
            f"thread-pool threads blocked {long_waits:,} times in task waits (up to "
            f"{longest:.1f} s)"
        )
    else:
        what = (
            f"thread-pool threads spent {blocked_s:,.1f} s of a {inputs.window_s:.1f} s window "
            f"blocked in task waits ({on_average:.1f} at a time on average, each wait up to "
            f"{longest:.2f} s)"
        )
    return HangVerdict(
        kind="sync_over_async_starvation",
        headline=f"Sync-over-async starvation: {what} while the work they wait for needs pool "
        "threads.",
        evidence=evidence,
        blocked_pool=sites,
    )


def _async_hang(
    inputs: HangInputs, snapshot: Snapshot | None, stall: StallInfo | None, locate: Locate | None
) -> HangVerdict | None:
    hung = _hung_awaits(inputs, stall)
    if not hung:
        return None
    for group in hung:
        group.location = group.location or (locate(group.method) if locate else None)
    evidence = [_await_line(g) for g in hung[:6]]
    if stall is not None and stall.detected:
        evidence.append(f"progress stalled: {_stall_text(stall)}")
    if snapshot is not None:
        evidence.append(f"no thread waits for them: {snapshot_summary(snapshot)}")
    innermost = next((g for g in hung if g.innermost), hung[0])
    total = sum(g.count for g in hung)
    return HangVerdict(
        kind="async_hang",
        headline=f"Async hang: {_plural(total, 'await')} never completed; the innermost waits in "
        f"{method_label(innermost.method)} for {innermost.oldest_s:.1f} s (no thread is blocked).",
        evidence=evidence,
        awaits=hung,
    )


def _hung_awaits(inputs: HangInputs, stall: StallInfo | None) -> list[AwaitGroup]:
    min_age = max(HUNG_AWAIT_MIN_S, HUNG_AWAIT_SHARE * inputs.window_s)
    old = [
        g
        for g in inputs.awaits.groups
        if g.behavior == "await" and g.oldest_s >= min_age and not g.progressed_after
    ]
    # A chain whose method was making progress, then stopped: the whole chain hangs, its
    # innermost await included even when that method completed nothing in the window.
    stuck_chains = {g.chain for g in old if g.active_before}
    if stuck_chains:
        return [g for g in old if g.chain in stuck_chains]
    return old if stall is not None and stall.detected else []


def _stall(
    inputs: HangInputs, snapshot: Snapshot | None, stall: StallInfo | None, locate: Locate | None
) -> HangVerdict | None:
    stuck_locks = [e for e in inputs.deadlock.evidence if e.kind == "unfinished_contention"]
    stalled = stall is not None and stall.detected
    if not stalled and not stuck_locks:
        return None
    seen = [f"progress stalled: {_stall_text(stall)}"] if stall and stalled else []
    seen += [e.message for e in stuck_locks[:3]]
    if snapshot is not None:
        seen.append(snapshot_summary(snapshot))
    open_awaits = [g for g in inputs.awaits.groups if g.behavior == "await"]
    if open_awaits:
        seen.append(
            f"{sum(g.count for g in open_awaits)} awaits open at the end, the oldest "
            f"{max(g.oldest_s for g in open_awaits):.1f} s, but their methods kept completing "
            "others or began before the window"
        )
    return HangVerdict(
        kind="stall_without_evidence",
        headline="A stall without evidence of its cause in this trace.",
        evidence=seen,
        next_collection=_next_collection(inputs, snapshot, bool(stuck_locks)),
    )


def _next_collection(inputs: HangInputs, snapshot: Snapshot | None, stuck_lock: bool) -> str:
    in_lock = snapshot is not None and snapshot.blocked_by_kind.get("lock", 0) > 0
    if not inputs.awaits.collected:
        return PRESET_HANG + "."
    if snapshot is None:
        return "a stack snapshot (stack_snapshot) while it is stalled: which threads block where."
    if in_lock or stuck_lock:
        return f"a memory dump ({DUMP}, then `syncblk`): the owner of each lock waited for."
    return (
        f"a memory dump ({DUMP}, then `dumpasync`): the awaits pending since before the trace "
        "began, which no trace can show."
    )


def _no_hang(inputs: HangInputs, snapshot: Snapshot | None, stall: StallInfo | None) -> HangVerdict:
    checked = []
    locks = inputs.locks.locks
    if inputs.contention_collected:
        events, _, longest = locks.totals()
        slowest = f" (the longest {longest:.1f} ms)" if events else ""
        checked.append(f"no lock-order cycle among {events} lock waits{slowest}")
    if inputs.awaits.collected:
        oldest = max((g.oldest_s for g in inputs.awaits.groups), default=0.0)
        checked.append(
            f"{inputs.awaits.ended:,} of {inputs.awaits.begun:,} task waits ended and none is "
            f"stuck ({inputs.awaits.open} open at the end, the oldest {oldest:.1f} s)"
        )
    if inputs.pool.collected:
        checked.append(_pool_line(inputs.pool))
    if stall is not None and not stall.detected:
        checked.append("progress kept growing during the trace")
    if snapshot is not None:
        checked.append(snapshot_summary(snapshot))
    if not (inputs.contention_collected or inputs.awaits.collected or inputs.pool.collected):
        headline = (
            "No hang seen, but this trace cannot show one: it holds no lock, wait, task-wait or "
            f"thread-pool events; {PRESET_HANG} to be sure."
        )
    else:
        missing = "" if inputs.awaits.collected else (
            f" — but this trace holds no task-wait events: {PRESET_HANG} to be sure."
        )  # fmt: skip
        headline = f"No hang: no lock cycle, no stuck await, no starved thread pool{missing}"
    return HangVerdict(
        kind="no_hang",
        headline=headline,
        evidence=checked or ["the trace holds no lock, wait, task-wait or thread-pool events"],
        checked=checked,
    )


def _hop_line(hop: CycleHop, hops: list[CycleHop]) -> str:
    held = [h.waits_for_lock for h in hops if h.owner_thread_id == hop.thread_id]
    line = (
        f"thread {hop.thread_id} waits for lock {hop.waits_for_lock} (owned by thread "
        f"{hop.owner_thread_id}) in {_at(hop.waiting_frame, hop.waiting_location)}"
    )
    if held and hop.holding_frames:
        located = list(zip(hop.holding_frames, hop.holding_locations or [None] * 9, strict=False))
        took = _at(*located[0])
        callers = ", ".join(_at(*pair) for pair in located[1:])
        line += f"; it holds lock {held[0]}, taken in {took}" + (
            f" or a caller ({callers})" if callers else ""
        )
    return line


def _one_per_caller(sites: list[BlockedPoolSite]) -> list[BlockedPoolSite]:
    """One site per calling frame: what each source saw, merged (the most threads blocked at
    once, the waits completed, the longest wait); the snapshot's count stays apart as the
    confirmation it is."""
    merged: dict[str, BlockedPoolSite] = {}
    for site in sites:
        if site.source == "snapshot":
            continue
        seen = merged.get(site.caller)
        if seen is None:
            merged[site.caller] = site.model_copy()
            continue
        seen.open_threads = max(seen.open_threads, site.open_threads)
        seen.waits += site.waits
        seen.total_ms += site.total_ms
        seen.max_ms = max(seen.max_ms, site.max_ms)
        if site.blocked_in != "a blocking task wait" and seen.blocked_in == "a blocking task wait":
            seen.blocked_in = site.blocked_in
        seen.source = f"{seen.source}+{site.source}"
    ordered = sorted(merged.values(), key=lambda s: (-s.open_threads, -s.waits))
    return ordered + [s for s in sites if s.source == "snapshot"]


def _blocked_threads(sites: list[BlockedPoolSite], source: str) -> int:
    return sum(s.open_threads for s in sites if s.source == source)


def _pool_site_line(site: BlockedPoolSite) -> str:
    where = _at(site.caller, site.location)
    if site.source == "snapshot":
        return (
            f"confirmed by the stack snapshot: {site.open_threads} pool threads blocked in "
            f"{site.blocked_in} at {where}"
        )
    if not site.open_threads:
        return (
            f"{site.waits:,} waits of pool threads in {site.blocked_in} at {where}, "
            f"{site.total_ms / 1000:,.1f} s in total, the longest {site.max_ms / 1000:.2f} s, none "
            f"still blocked when the trace ended ({site.source})"
        )
    done = f", {site.waits:,} completed waits" if site.waits else ""
    return (
        f"{site.open_threads} pool threads blocked in {site.blocked_in} at {where}{done}, the "
        f"longest {site.max_ms / 1000:.1f} s ({site.source})"
    )


def _pool_line(pool: ThreadPoolSection) -> str:
    if not pool.collected:
        return "the thread pool's growth was not recorded (runtime Threading keyword)"
    when = f", the first {pool.first_injection_s:.1f} s in" if pool.first_injection_s else ""
    return (
        f"the thread pool grew from {pool.workers_first} to {pool.workers_max} workers: "
        f"{pool.starvation} Starvation and {pool.cooperative_blocking} CooperativeBlocking "
        f"injections{when}"
    )


def _await_line(group: AwaitGroup) -> str:
    role = "innermost: awaits a task nothing completes" if group.innermost else "awaits the above"
    before = ", after completing others" if group.active_before else ""
    return (
        f"{_plural(group.count, 'await')} in {_at(group.method, group.location)} open for up to "
        f"{group.oldest_s:.1f} s ({role}{before})"
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _stall_text(stall: StallInfo | None) -> str:
    if stall is None:
        return ""
    parts = [stall.detail] if stall.detail else []
    if stall.last_count is not None:
        parts.append(f"count stuck at {stall.last_count:,}")
    if stall.stalled_for_s is not None:
        parts.append(f"for {stall.stalled_for_s:.0f} s")
    if stall.since_s is not None:
        parts.append(f"from {stall.since_s:.1f} s into the trace")
    return ", ".join(parts) or f"reported by {stall.source}"


def _at(frame: str | None, location: str | None) -> str:
    name = method_label(frame) if frame else "?"
    quoted = f"`` {name} ``" if "`" in name else f"`{name}`"
    return quoted + (f" ({location})" if location else "")
