"""Observers of a run: progress on the terminal (stderr, via rich) and the JSONL transcript."""

from __future__ import annotations

import json
import threading
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.status import Status

from agent.model import ModelTurn
from agent.state import LoopObserver, ToolCallRecord
from memory import TranscriptWriter

KEY_ARGUMENTS = (
    "path",
    "query",
    "mode",
    "preset",
    "scenario",
    "trace_seconds",
    "run_minutes",
    "trace_path",
    "project",
    "symbol",
    "bootstrap",
)
"""Input fields shown on the progress line of a tool call (the rest is in the transcript)."""


def describe_input(input_: dict[str, Any]) -> str:
    """The key arguments of a call, short, for one progress line."""
    parts = []
    for key in KEY_ARGUMENTS:
        if key in input_ and input_[key] not in (None, "", {}):
            value = json.dumps(input_[key], ensure_ascii=False) if key != "path" else input_[key]
            value = str(value)
            parts.append(f"{key}={value if len(value) <= 60 else value[:57] + '...'}")
    return " ".join(parts)


class ConsoleObserver:
    """Shows each tool call with its key arguments and time, a spinner while it runs,
    the model's streamed text (dim) and retry lines. Writes to the console given (stderr).

    Args:
        console: a rich console writing to stderr.
        stream_text: whether to echo the model's text as it streams.
    """

    def __init__(self, console: Console, *, stream_text: bool = True) -> None:
        self.console = console
        self.stream_text = stream_text
        self._status: Status | None = None
        self._lock = threading.Lock()
        self._at_line_start = True

    def on_text(self, delta: str) -> None:
        """Echoes streamed model text."""
        if self.stream_text and delta:
            self.console.print(delta, end="", style="dim", markup=False, highlight=False)
            self._at_line_start = delta.endswith("\n")

    def on_retry(self, attempt: int, max_attempts: int, wait_s: float, reason: str) -> None:
        """Prints the visible retry line."""
        self._newline()
        self.console.print(
            f"[yellow]model call failed ({reason}); retrying in {wait_s:.1f} s "
            f"(attempt {attempt + 1}/{max_attempts})[/yellow]",
            highlight=False,
        )

    def on_turn(self, number: int, turn: ModelTurn) -> None:
        """Ends the streamed text of a turn with a newline."""
        self._newline()

    def on_tool_start(self, name: str, input_: dict[str, Any]) -> None:
        """Starts the spinner for a tool call."""
        self._newline()
        label = escape(f"{name} {describe_input(input_)}".strip())
        with self._lock:
            self._status = self.console.status(f"[bold]{label}[/bold] …", spinner="dots")
            self._status.start()

    def stop(self) -> None:
        """Stops the spinner (a tool ended, or the run was interrupted)."""
        with self._lock:
            if self._status is not None:
                self._status.stop()
                self._status = None

    def on_tool_end(self, record: ToolCallRecord) -> None:
        """Stops the spinner and prints the outcome line."""
        self.stop()
        mark = "[red]✗[/red]" if record.is_error else "[green]✓[/green]"
        label = escape(f"{record.name} {describe_input(record.input)}".strip())
        detail = ""
        if record.is_error:
            first = record.text.strip().splitlines()[0] if record.text.strip() else ""
            detail = f" — {first if len(first) <= 200 else first[:199] + '…'}"
        self.console.print(f"{mark} {label} ({record.duration_s:.1f} s)", end="", highlight=False)
        self.console.print(detail, markup=False, highlight=False, soft_wrap=True)

    def progress(self, message: str, done: float | None, total: float | None) -> None:
        """A long tool's progress: updates the spinner text."""
        with self._lock:
            if self._status is not None:
                suffix = f" {done:.0f}/{total:.0f}" if done is not None and total else ""
                self._status.update(f"[bold]{escape(message)}[/bold]{suffix} …")

    def note(self, text: str) -> None:
        """Prints one line of information."""
        self._newline()
        self.console.print(text, highlight=False)

    def _newline(self) -> None:
        if not self._at_line_start:
            self.console.print()
            self._at_line_start = True


class TranscriptObserver:
    """Writes every model turn, tool call and retry to the run's transcript as it happens."""

    def __init__(self, writer: TranscriptWriter) -> None:
        self.writer = writer

    def on_text(self, delta: str) -> None:
        """Streamed text is saved with its whole turn instead."""

    def on_retry(self, attempt: int, max_attempts: int, wait_s: float, reason: str) -> None:
        """Saves the retry."""
        self.writer.write(
            "retry", attempt=attempt, max_attempts=max_attempts, wait_s=wait_s, reason=reason
        )

    def on_turn(self, number: int, turn: ModelTurn) -> None:
        """Saves the assistant turn."""
        self.writer.write(
            "turn",
            number=number,
            stop_reason=turn.stop_reason,
            content=turn.content,
            usage=turn.usage.as_dict(),
        )

    def on_tool_start(self, name: str, input_: dict[str, Any]) -> None:
        """Nothing: the call is saved when it ends, with its result."""

    def on_tool_end(self, record: ToolCallRecord) -> None:
        """Saves the call and its (capped) result."""
        self.writer.write(
            "tool_call",
            name=record.name,
            input=record.input,
            is_error=record.is_error,
            executed=record.executed,
            duration_s=round(record.duration_s, 3),
            text=record.text,
        )


class FanOut:
    """Passes every event to several observers in order."""

    def __init__(self, *observers: LoopObserver) -> None:
        self.observers = observers

    def on_text(self, delta: str) -> None:
        """Forwards streamed text."""
        for observer in self.observers:
            observer.on_text(delta)

    def on_retry(self, attempt: int, max_attempts: int, wait_s: float, reason: str) -> None:
        """Forwards a retry."""
        for observer in self.observers:
            observer.on_retry(attempt, max_attempts, wait_s, reason)

    def on_turn(self, number: int, turn: ModelTurn) -> None:
        """Forwards a turn."""
        for observer in self.observers:
            observer.on_turn(number, turn)

    def on_tool_start(self, name: str, input_: dict[str, Any]) -> None:
        """Forwards a tool start."""
        for observer in self.observers:
            observer.on_tool_start(name, input_)

    def on_tool_end(self, record: ToolCallRecord) -> None:
        """Forwards a tool end."""
        for observer in self.observers:
            observer.on_tool_end(record)
