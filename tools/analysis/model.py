"""Shared records between the CPU analysis and its consumers (folded stacks, speedscope, HTML)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StackSample:
    """One weighted interval of thread time, the unit every stack view is built from.

    Attributes:
        thread_id: the OS thread the time belongs to.
        time_ms: start of the interval, milliseconds from the session start.
        weight_ms: length of the interval in milliseconds.
        frames: frame names root first, e.g. ``("app!Program.Main(…)", …, "app!Leaf(int32)")``.
        managed: True for CPU time in managed code (TraceEvent's ``CPU_TIME``), False for time
            outside managed code: native, blocked or waiting (``UNMANAGED_CODE_TIME``).
    """

    thread_id: int
    time_ms: float
    weight_ms: float
    frames: tuple[str, ...]
    managed: bool
