"""Parser of `dotnet-stack report -p PID` output: one stack per managed thread.

The real output (dotnet/diagnostics ``src/Tools/dotnet-stack/ReportCommand.cs``, PrintStack)
is, per thread, a ``Thread (0x2FC7):`` line, then the frames LEAF FIRST, two spaces in, then a
blank line. The leaf pseudo frame says what the thread was doing when it was sampled:
``[Native Frames]`` (TraceEvent's UNMANAGED_CODE_TIME: native code, blocked or waiting) or
``CPU_TIME`` (running managed code). A thread whose stack has no managed frame at all is not
sampled by the runtime and never printed. Slow rundowns add a ``# Sufficiently large
applications …`` comment line; error text goes to standard error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ThreadState = Literal["native", "cpu", "unknown"]
"""What the leaf pseudo frame said: in native code (blocked/waiting), running managed code."""

_THREAD = re.compile(r"Thread \((0x[0-9A-Fa-f]+|\d+)\):\s*")
_PSEUDO: dict[str, ThreadState] = {"[Native Frames]": "native", "CPU_TIME": "cpu"}


@dataclass(frozen=True)
class ThreadStack:
    """One thread of a report.

    Attributes:
        thread_id: the OS thread id.
        frames: managed frames, LEAF FIRST, as ``module!Namespace.Type.Method(args)``.
        state: the leaf pseudo frame's meaning.
    """

    thread_id: int
    frames: tuple[str, ...]
    state: ThreadState


@dataclass(frozen=True)
class StackReport:
    """A parsed report: the threads in printed order and the comment lines."""

    threads: tuple[ThreadStack, ...]
    comments: tuple[str, ...]


def parse_report(text: str) -> StackReport:
    """Reads `dotnet-stack report` output; lines outside a thread block are comments or ignored.

    Never raises: text that holds no ``Thread (…):`` line gives a report without threads.
    """
    threads: list[ThreadStack] = []
    comments: list[str] = []
    current: int | None = None
    frames: list[str] = []
    state: ThreadState = "unknown"
    for raw in text.splitlines():
        line = raw.rstrip()
        match = _THREAD.fullmatch(line)
        if match:
            if current is not None:
                threads.append(ThreadStack(current, tuple(frames), state))
            current, frames, state = int(match.group(1), 0), [], "unknown"
        elif current is not None and line.startswith("  ") and line.strip():
            frame = line.strip()
            if frame in _PSEUDO and not frames:
                state = _PSEUDO[frame]
            elif frame not in _PSEUDO:
                frames.append(frame)
        elif line.startswith("#"):
            comments.append(line.lstrip("# ").strip())
    if current is not None:
        threads.append(ThreadStack(current, tuple(frames), state))
    return StackReport(tuple(threads), tuple(comments))
