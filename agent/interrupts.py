"""SIGINT, SIGTERM and SIGHUP end a run the same way: children stopped, transcript closed.

Python's default turns SIGINT into :class:`KeyboardInterrupt` but lets SIGTERM and SIGHUP kill
the process on the spot, leaving the child process groups (which run in their own sessions and
so never see the signal) running and the transcript without its end record. :class:`SignalGuard`
turns all three into :class:`Interrupted`, a :class:`KeyboardInterrupt`, so every ``finally`` and
``except KeyboardInterrupt`` on the way out runs (the run writes its end record); the command
line then stops whatever child is left and exits with 128 + the signal number.

Only the first signal raises: the unwinding it starts (each child group gets SIGTERM and a short
grace) is not cut short by the next one. A second signal stops every child at once with SIGKILL
and exits immediately, for a user who does not want to wait.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from tools.process import LIVE_GROUPS, defer_interrupt, stop_all_process_groups

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""The signals that end a run: Ctrl+C, ``kill``/``timeout``/``docker stop``, a closed terminal."""


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread when one of :data:`HANDLED_SIGNALS` arrives.

    Attributes:
        signum: the signal number.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """The shell convention for a death by this signal: 128 + its number."""
        return 128 + self.signum


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal number (130 for a plain Ctrl+C :class:`KeyboardInterrupt`)."""
    if isinstance(interrupt, Interrupted):
        return interrupt.exit_status
    return 128 + signal.SIGINT


class SignalGuard:
    """Installs the handlers for the duration of a ``with`` block (main thread only).

    Args:
        force_exit: how to leave at once on a second signal (``os._exit`` in production).
    """

    def __init__(self, *, force_exit: Callable[[int], Any] = os._exit) -> None:
        self._force_exit = force_exit
        self._previous: dict[int, Any] = {}
        self.received: list[int] = []

    def __enter__(self) -> SignalGuard:
        if threading.current_thread() is threading.main_thread():
            for sig in HANDLED_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if len(self.received) > 1:
            # Asked twice: no more grace periods. Nothing may outlive this program.
            LIVE_GROUPS.kill_running()
            stop_all_process_groups(grace_s=0.0)
            self._force_exit(128 + signum)
            return
        interrupt = Interrupted(signum)
        if not defer_interrupt(interrupt):
            raise interrupt


def find_interrupt(error: BaseException) -> KeyboardInterrupt | None:
    """The :class:`KeyboardInterrupt` that ``error`` is or carries (task groups wrap it)."""
    if isinstance(error, KeyboardInterrupt):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = find_interrupt(inner)
            if found is not None:
                return found
    return None
