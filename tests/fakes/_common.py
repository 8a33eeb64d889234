"""Shared helpers of the fake executables (argv log, time scale, the repository root)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

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
