"""Run transcripts: one JSONL file per run, written line by line as the run goes.

Each line is one event (the request, a model turn, a tool call, a retry, the end). Writing
and flushing every line at once means a crash or Ctrl+C keeps everything that happened up to
that moment.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

TRANSCRIPT_TEXT_MAX_CHARS = 4_000
"""Longest text (tool result, model text) kept per transcript field."""


class TranscriptWriter:
    """Appends events to ``<folder>/<timestamp>-<pid>.jsonl``.

    Args:
        folder: the sessions folder (created when needed).
        clock: returns the wall time in seconds (injectable for tests).
    """

    def __init__(self, folder: Path, *, clock: Any = time.time) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(clock()))
        self.path = folder / f"{stamp}-{os.getpid()}-{time.monotonic_ns() % 100000}.jsonl"
        self._clock = clock
        self._handle: IO[str] | None = self.path.open("a", encoding="utf-8")
        self._ended = False

    def write(self, event: str, **fields: Any) -> None:
        """Appends one event line and flushes it to disk."""
        if self._handle is None:
            return
        self._ended = self._ended or event == "end"
        record = {"ts": round(self._clock(), 3), "event": event}
        record.update({key: _bounded(value) for key, value in fields.items()})
        self._handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._handle.flush()

    def close(self) -> None:
        """Closes the file; later writes are ignored."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> TranscriptWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and not self._ended:
            # Whatever ended the run (a signal while the report was being saved, a crash),
            # the transcript says so instead of stopping mid-story.
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            self.write("end", status=status, error=f"{type(exc).__name__}: {exc}")
        self.close()


def read_transcript(path: Path) -> list[dict[str, Any]]:
    """The events of one transcript (lines that do not parse are skipped)."""
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def _bounded(value: Any) -> Any:
    if isinstance(value, str) and len(value) > TRANSCRIPT_TEXT_MAX_CHARS:
        return value[:TRANSCRIPT_TEXT_MAX_CHARS] + f"… [{len(value)} characters]"
    if isinstance(value, list):
        return [_bounded(item) for item in value]
    if isinstance(value, dict):
        return {key: _bounded(item) for key, item in value.items()}
    return value
