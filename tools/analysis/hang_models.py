"""Results of the hang analysis (JSON contract of ``pta analyze --json``: add, never rename)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tools.stacks.model import Snapshot

VerdictKind = Literal[
    "lock_order_deadlock",
    "async_hang",
    "sync_over_async_starvation",
    "stall_without_evidence",
    "no_hang",
]
"""The five answers to "is there a deadlock?"."""


class StallInfo(BaseModel):
    """Progress stopped while the trace was recorded (set by trace_collect)."""

    detected: bool = Field(description="Whether progress stopped.")
    since_s: float | None = Field(
        default=None, description="Seconds into the trace window when progress stopped."
    )
    stalled_for_s: float | None = Field(default=None, description="How long it stayed stopped.")
    last_count: int | None = Field(default=None, description="The progress count it stopped at.")
    source: str = Field(default="progress", description="progress (count stopped) or watchdog.")
    detail: str = Field(default="", description="What was seen, in words.")


class AwaitGroup(BaseModel):
    """Task waits still open at the end of the trace, begun in one method."""

    method: str = Field(description="The awaiting (or blocking) method frame.")
    location: str | None = Field(default=None, description="file:line of method.")
    behavior: Literal["await", "blocking"] = Field(description="An await, or Wait/Result.")
    count: int = Field(description="Open waits.")
    oldest_s: float = Field(description="Age of the oldest at the end of the trace, seconds.")
    pool_threads: int = Field(default=0, description="Blocking waits on thread-pool threads.")
    innermost: bool = Field(
        default=False,
        description="Awaits a task that no open await belongs to (a TaskCompletionSource, "
        "timer or I/O): where the chain of waiting methods ends.",
    )
    chain: int = Field(
        default=0,
        description="Open waits linked through task ids (one awaits the other's method) share "
        "a chain number.",
    )
    completed: int = Field(default=0, description="Waits begun in this method that ended.")
    active_before: bool = Field(
        default=False,
        description="Waits in this method begun before the oldest open one did end (it was "
        "making progress).",
    )
    progressed_after: bool = Field(
        default=False,
        description="Waits in this method begun after the oldest open one did end (other "
        "callers still get through).",
    )
    stack: list[str] = Field(default_factory=list, description="One open wait's stack, leaf first.")


class AwaitSection(BaseModel):
    """TaskWaitBegin/End pairs (TplEventSource, preset hang)."""

    collected: bool = False
    begun: int = 0
    ended: int = 0
    open: int = 0
    groups: list[AwaitGroup] = Field(default_factory=list)


class BlockedPoolSite(BaseModel):
    """Thread-pool threads blocked in a task wait (sync over async) at one call site."""

    caller: str = Field(description="The program frame that blocks.")
    location: str | None = None
    blocked_in: str = Field(description="Task.Wait(), Task.Result or GetAwaiter().GetResult().")
    open_threads: int = Field(description="Threads still blocked there at the end of the trace.")
    waits: int = Field(description="Completed waits there.")
    total_ms: float = Field(default=0.0, description="The completed waits' time summed, ms.")
    max_ms: float = Field(description="The longest completed or open wait, ms.")
    source: str = Field(description="waithandle (WaitHandleWait events), tpl or snapshot.")


class ThreadPoolSection(BaseModel):
    """ThreadPoolWorkerThread* events: the pool's size over the trace and why it changed."""

    collected: bool = False
    adjustments: int = 0
    starvation: int = Field(default=0, description="Adjustments with reason Starvation (6).")
    cooperative_blocking: int = Field(
        default=0,
        description="Adjustments with reason CooperativeBlocking (8): threads added "
        "because pool threads blocked in task waits (.NET 8+).",
    )
    workers_first: int | None = None
    workers_last: int | None = None
    workers_max: int | None = None
    threads_started: int = 0
    first_injection_s: float | None = Field(
        default=None, description="Seconds into the trace of the first Starvation/blocking one."
    )


class CycleHop(BaseModel):
    """One thread of a lock-order cycle."""

    thread_id: int
    waits_for_lock: str = Field(description="Lock id (hex).")
    owner_thread_id: int
    waiting_frame: str | None = Field(description="Where it waits (the frame taking the lock).")
    waiting_location: str | None = None
    holding_frames: list[str] = Field(
        default_factory=list,
        description="The waiting frame and its callers: one of them took the lock it holds.",
    )
    holding_locations: list[str | None] = Field(default_factory=list)


class HangVerdict(BaseModel):
    """Exactly one answer to "is there a deadlock / hang?", always with its evidence."""

    kind: VerdictKind
    headline: str = Field(description="The answer in one sentence.")
    evidence: list[str] = Field(description="What the trace (and snapshot) showed, with numbers.")
    cycle: list[CycleHop] = Field(default_factory=list)
    awaits: list[AwaitGroup] = Field(default_factory=list)
    blocked_pool: list[BlockedPoolSite] = Field(default_factory=list)
    next_collection: str | None = Field(
        default=None, description="The one collection that would tell (stall without evidence)."
    )
    checked: list[str] = Field(
        default_factory=list, description="What was looked at and found clean (no hang)."
    )
    snapshot: Snapshot | None = Field(default=None, description="The stack snapshot used.")
    stall: StallInfo | None = Field(default=None, description="The stall report used.")
