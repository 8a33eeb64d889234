"""Which blocking call a thread's stack is in, read the way an expert reads a stack.

A blocked thread's leaf frames are the runtime's plumbing (``Monitor.Wait`` under
``ManualResetEventSlim.Wait`` under ``Task.InternalWait`` …); what matters is the blocking API
the program called, the runtime frame nearest to the program's own code, and the program's
frame that called it. The same reading serves ``dotnet-stack report`` stacks and the stacks of
trace events (both name frames ``module!Namespace.Type.Method(args)``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tools.analysis.cpu import classify_frame
from tools.nettrace.symbols import UNKNOWN_FRAME, frame_method

BlockKind = Literal[
    "lock", "monitor_wait", "wait_handle", "semaphore", "task_wait", "task_result",
    "get_result", "join", "sleep",
]  # fmt: skip
"""Blocking calls recognised, from a lock to a sleep."""

TASK_WAIT_KINDS: frozenset[str] = frozenset({"task_wait", "task_result", "get_result"})
"""Blocking on a task: on a thread-pool thread, the mark of sync-over-async."""

LABELS: dict[str, str] = {
    "lock": "Monitor.Enter (lock)",
    "monitor_wait": "Monitor.Wait",
    "wait_handle": "a WaitHandle wait",
    "semaphore": "SemaphoreSlim.Wait()",
    "task_wait": "Task.Wait()",
    "task_result": "Task.Result",
    "get_result": "GetAwaiter().GetResult()",
    "join": "Thread.Join()",
    "sleep": "Thread.Sleep()",
}
"""How the report names each kind."""

_API_PATTERNS: tuple[tuple[str, BlockKind], ...] = (
    (r"System\.Threading\.Monitor\.(Reliable|Try)?Enter(_Slowpath)?$", "lock"),
    (r"System\.Threading\.Lock\.(Enter\w*|TryEnterSlow)$", "lock"),
    (r"System\.Threading\.Monitor\.Wait$", "monitor_wait"),
    (
        r"System\.Threading\.WaitHandle\.(WaitOne\w*|WaitAny|WaitAll|WaitMultiple\w*)$",
        "wait_handle",
    ),
    (r"System\.Threading\.ManualResetEventSlim\.Wait$", "wait_handle"),
    (
        r"System\.Threading\.SemaphoreSlim\.(Wait|WaitCore|WaitUntilCountOrTimeout)$",
        "semaphore",
    ),
    (r"System\.Threading\.Tasks\.Task\.(Wait|WaitAll|WaitAny|InternalWait\w*)$", "task_wait"),
    (r"System\.Threading\.Tasks\.Task\.SpinThenBlockingWait$", "task_wait"),
    (r"System\.Threading\.Tasks\.(Value)?Task`1\.(GetResultCore|get_Result)$", "task_result"),
    (
        r"System\.Runtime\.CompilerServices\.(Configured)?(Value)?Task(Awaiter|Awaitable)\S*"
        r"\.(GetResult|HandleNonSuccessAndDebuggerNotification|ValidateEnd)$",
        "get_result",
    ),
    (r"System\.Threading\.Thread\.Join$", "join"),
    (r"System\.Threading\.Thread\.Sleep$", "sleep"),
)
"""The blocking APIs by ``Namespace.Type.Method`` (generic instantiations removed)."""
_APIS = [(re.compile(pattern), kind) for pattern, kind in _API_PATTERNS]

_INSTANTIATION = re.compile(r"\[[^\[\]]*\]")
_POOL_FRAMES = ("System.Threading.ThreadPoolWorkQueue.Dispatch", "WorkerThread.WorkerThreadStart")


@dataclass(frozen=True)
class Blocked:
    """The blocking call found in a stack.

    Attributes:
        kind: which blocking API.
        api_frame: the runtime frame of that API (the one nearest the caller).
        caller_frame: the program's frame that made the call (None: runtime-only stack).
    """

    kind: BlockKind
    api_frame: str
    caller_frame: str | None

    @property
    def label(self) -> str:
        """The API as the report names it."""
        return LABELS[self.kind]


def plain_method(frame: str) -> str:
    """``Namespace.Type.Method`` of a frame: module, arguments and generic instantiations cut."""
    method = frame_method(frame).split("(", 1)[0]
    while "[" in method:
        cut = _INSTANTIATION.sub("", method)
        if cut == method:
            break
        method = cut
    return method


def api_kind(frame: str) -> BlockKind | None:
    """The blocking API a single frame belongs to, or None."""
    method = plain_method(frame)
    for pattern, kind in _APIS:
        if pattern.match(method):
            return kind
    return None


def is_runtime(frame: str, target_prefix: str) -> bool:
    """A frame of the .NET runtime/BCL (or unresolved), not of the program."""
    return frame == UNKNOWN_FRAME or classify_frame(frame, target_prefix) == "runtime"


def find_blocking(leaf_first: Sequence[str], target_prefix: str) -> Blocked | None:
    """The blocking call of a stack given LEAF FIRST, or None when it is in none.

    Walks from the leaf through the runtime frames up to the first program frame and keeps
    the last blocking API met: ``GetAwaiter().GetResult()`` rather than the ``Monitor.Wait``
    it ends in.
    """
    found: tuple[BlockKind, str] | None = None
    for frame in leaf_first:
        if not is_runtime(frame, target_prefix):
            return Blocked(found[0], found[1], frame) if found else None
        kind = api_kind(frame)
        if kind is not None:
            found = (kind, frame)
    return Blocked(found[0], found[1], None) if found else None


def on_thread_pool(leaf_first: Sequence[str]) -> bool:
    """Whether the stack runs on a thread-pool worker (its root is the pool's dispatch loop)."""
    return any(any(p in frame for p in _POOL_FRAMES) for frame in leaf_first)


def runtime_only(leaf_first: Sequence[str], target_prefix: str) -> bool:
    """A stack without a single program frame: an idle pool worker, the timer or gate thread."""
    return all(is_runtime(frame, target_prefix) for frame in leaf_first)


def first_target_frame(leaf_first: Sequence[str], target_prefix: str) -> str | None:
    """The target frame nearest the leaf (the code under study that is waiting or running)."""
    for frame in leaf_first:
        if target_prefix and frame_method(frame).startswith(target_prefix):
            return frame
    return None
