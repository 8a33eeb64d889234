"""Shared helpers of the fake executables (argv log, time scale, the repository root)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

REPO_ROOT = Path(__file__).resolve().parents[2]
FAKES_DIR = Path(__file__).resolve().parent


def record_argv(program: str) -> None:
    """Appends the program, its argv, pid and Kafka address to $PTA_FAKE_ARGV_LOG, if set."""
    log = os.environ.get("PTA_FAKE_ARGV_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as stream:
            record = {
                "program": program,
                "argv": sys.argv[1:],
                "pid": os.getpid(),
                "kafka": os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
            }
            stream.write(json.dumps(record) + "\n")


class _DotnetConsole:
    """A text stream whose writes to a closed pipe are dropped instead of raising."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def console_like_dotnet() -> None:
    """Makes output to a reader that went away vanish, as the .NET console does.

    dotnet/runtime src/libraries/System.Console/src/System/ConsolePal.Unix.cs, ``Write``: on
    EPIPE "Broken pipe... simply pretend we were successful". A real dotnet, dotnet-trace or
    stress tool whose parent died keeps running; without this the fake would die at its next
    line of output and hide the orphan.
    """
    sys.stdout = _DotnetConsole(sys.stdout)  # type: ignore[assignment]
    sys.stderr = _DotnetConsole(sys.stderr)  # type: ignore[assignment]


def scaled_sleep(seconds: float) -> None:
    """Sleeps ``seconds`` times $PTA_FAKE_TIME_SCALE (tests run real durations faster)."""
    time.sleep(seconds * float(os.environ.get("PTA_FAKE_TIME_SCALE", "1")))


def option(argv: list[str], *names: str, default: str | None = None) -> str | None:
    """The value after the first of ``names`` in ``argv`` (case-insensitive), else default."""
    lowered = [arg.lower() for arg in argv]
    for name in names:
        if name.lower() in lowered:
            index = lowered.index(name.lower())
            if index + 1 < len(argv):
                return argv[index + 1]
    return default
