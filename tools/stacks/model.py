"""The stack snapshot as tools and the hang verdict see it (JSON contract: add, never rename)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class StackGroup(BaseModel):
    """Threads with identical stacks, parallel-stacks style."""

    count: int = Field(description="Threads with this exact stack.")
    thread_ids: list[int] = Field(description="Their OS thread ids (at most 16 listed).")
    state: str = Field(description="blocked, running (on CPU), waiting (native) or idle (runtime).")
    blocked_in: str | None = Field(
        default=None, description="The blocking call, e.g. 'Monitor.Enter (lock)'."
    )
    block_kind: str | None = Field(
        default=None,
        description="lock, monitor_wait, wait_handle, semaphore, task_wait, task_result, "
        "get_result, join or sleep.",
    )
    caller_frame: str | None = Field(
        default=None, description="The program frame that made the blocking call."
    )
    target_frame: str | None = Field(
        default=None, description="The target-code frame nearest the leaf."
    )
    location: str | None = Field(
        default=None, description="file:line of target_frame in the repository."
    )
    thread_pool: bool = Field(default=False, description="The threads are thread-pool workers.")
    frames: list[str] = Field(description="The stack, LEAF FIRST (cut; see frames_cut).")
    frames_cut: int = Field(default=0, description="Frames left out nearest the root.")


class Snapshot(BaseModel):
    """Every managed thread's stack at one moment, grouped (from `dotnet-stack report`)."""

    pid: int = Field(description="The process the stacks were taken from.")
    taken_at: str = Field(description="When (UTC, ISO 8601).")
    threads: int = Field(
        description="Managed threads reported (threads with no managed frame "
        "are never reported by dotnet-stack)."
    )
    blocked_threads: int = Field(
        description="Threads of the program (not the runtime's own) in a blocking call."
    )
    blocked_by_kind: dict[str, int] = Field(
        default_factory=dict, description="Blocked threads by block_kind."
    )
    running_threads: int = Field(default=0, description="Threads on CPU in managed code.")
    groups: list[StackGroup] = Field(description="Stack groups, blocked program threads first.")
    groups_cut: int = Field(default=0, description="Groups left out of this result.")
    raw_path: str | None = Field(default=None, description="The full report text, saved.")
    notes: list[str] = Field(default_factory=list, description="What the user should know.")
