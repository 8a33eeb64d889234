"""What one agent run carries: its explicit state, how it ended, and who hears it.

:func:`agent.loop.run` mutates an :class:`AgentState` in place and returns a :class:`RunResult`;
a :class:`LoopObserver` (console progress, the transcript) hears every step.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from agent.model import Message, ModelTurn, SystemPrompt, Usage, text_block


@dataclass
class ToolCallRecord:
    """One tool call of a run, as the report and the JSON output list it."""

    name: str
    input: dict[str, Any]
    is_error: bool
    duration_s: float
    text: str
    tool_use_id: str
    executed: bool = True


@dataclass
class AgentState:
    """Everything the loop knows about one run; the loop mutates it in place.

    Attributes:
        system: the system prompt.
        messages: the conversation in API shape.
        turns: model calls made so far.
        usage: tokens summed over the run.
        tool_calls: every tool call in order.
        failures: failing-call counts by (tool, input) key.
        final_parts: pieces of the final answer (several when cut by ``max_tokens``).
        nudged_for_answer: whether the model was already asked once for a missing answer.
    """

    system: SystemPrompt
    messages: list[Message]
    turns: int = 0
    usage: Usage = field(default_factory=Usage)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    final_parts: list[str] = field(default_factory=list)
    nudged_for_answer: bool = False

    @classmethod
    def start(cls, system: SystemPrompt, request: str) -> AgentState:
        """A fresh state whose first user message is ``request``."""
        return cls(system=system, messages=[{"role": "user", "content": [text_block(request)]}])


@dataclass
class RunResult:
    """How a run ended."""

    status: Literal["ok", "failed"]
    final_text: str
    stop_reason: str | None
    error: str | None
    turns: int
    tool_calls: list[ToolCallRecord]
    usage: Usage


class LoopObserver(Protocol):
    """Hears everything the loop does (console progress, transcript)."""

    def on_text(self, delta: str) -> None:
        """Streamed model text."""

    def on_retry(self, attempt: int, max_attempts: int, wait_s: float, reason: str) -> None:
        """A model call is retried."""

    def on_turn(self, number: int, turn: ModelTurn) -> None:
        """A model turn arrived."""

    def on_tool_start(self, name: str, input_: dict[str, Any]) -> None:
        """A tool call starts."""

    def on_tool_end(self, record: ToolCallRecord) -> None:
        """A tool call ended (or was refused without running)."""


class NullObserver:
    """An observer that ignores everything."""

    def on_text(self, delta: str) -> None:
        """Ignored."""

    def on_retry(self, attempt: int, max_attempts: int, wait_s: float, reason: str) -> None:
        """Ignored."""

    def on_turn(self, number: int, turn: ModelTurn) -> None:
        """Ignored."""

    def on_tool_start(self, name: str, input_: dict[str, Any]) -> None:
        """Ignored."""

    def on_tool_end(self, record: ToolCallRecord) -> None:
        """Ignored."""
