"""The model behind the loop: a Protocol both Claude and the offline planner implement.

Messages and content blocks are the Messages API's JSON shapes (plain dicts), so the history
the loop keeps can be sent to the API as is and saved in a transcript as is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Block = dict[str, Any]
"""One content block in the API's JSON shape (``text``, ``tool_use``, ``tool_result`` …)."""

Message = dict[str, Any]
"""One message: ``{"role": "user" | "assistant", "content": [Block, …]}``."""

Effort = Literal["low", "medium", "high", "xhigh", "max"]
"""How much effort the model puts into a reply (the Messages API's ``output_config.effort``)."""

EFFORTS: tuple[Effort, ...] = ("low", "medium", "high", "xhigh", "max")
"""Every effort level, in order (the pinned SDK's ``OutputConfigParam``)."""

SystemPrompt = str | list[str]
"""The system prompt, or its parts in order: the static instructions first (the same for every
run, so a cache breakpoint after them serves later runs), then the per-run part."""


class ModelError(Exception):
    """The model could not be called (API error after retries, bad credentials)."""


@dataclass
class Usage:
    """Tokens used by one call or summed over a run."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def add(self, other: Usage) -> None:
        """Adds ``other`` to this sum."""
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens

    def as_dict(self) -> dict[str, int]:
        """The four counters by name (for JSON output)."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
        }


@dataclass
class ModelTurn:
    """One assistant turn: its content blocks, why it stopped, what it cost.

    Attributes:
        content: the assistant's blocks in API shape.
        stop_reason: one of the API's stop reasons (``end_turn``, ``tool_use`` …).
        usage: the tokens of this call.
    """

    content: list[Block]
    stop_reason: str | None
    usage: Usage = field(default_factory=Usage)

    def tool_uses(self) -> list[Block]:
        """The ``tool_use`` blocks, in order."""
        return [block for block in self.content if block.get("type") == "tool_use"]

    def text(self) -> str:
        """The text blocks joined."""
        return "".join(b.get("text", "") for b in self.content if b.get("type") == "text")


class ModelListener(Protocol):
    """What a model adapter reports while it works (streamed text, retries)."""

    def on_text(self, delta: str) -> None:
        """A piece of the model's text as it streams."""

    def on_retry(self, attempt: int, max_attempts: int, wait_s: float, reason: str) -> None:
        """A failed call will be retried after ``wait_s`` seconds."""


class ModelClient(Protocol):
    """A model that produces the next assistant turn for a conversation."""

    @property
    def name(self) -> str:
        """The model name shown to the user and saved with the report."""
        ...

    def create(
        self,
        *,
        system: SystemPrompt,
        messages: list[Message],
        tools: list[dict[str, Any]],
        listener: ModelListener,
    ) -> ModelTurn:
        """Returns the next assistant turn; raises :class:`ModelError` when it cannot."""
        ...

    def cost_usd(self, usage: Usage) -> float | None:
        """The price of ``usage`` in US dollars (None when unknown)."""
        ...


class SilentListener:
    """A listener that ignores everything (tests, batch runs)."""

    def on_text(self, delta: str) -> None:
        """Ignores streamed text."""

    def on_retry(self, attempt: int, max_attempts: int, wait_s: float, reason: str) -> None:
        """Ignores retries."""


def text_block(text: str) -> Block:
    """A text content block."""
    return {"type": "text", "text": text}


def tool_use_block(id_: str, name: str, input_: dict[str, Any]) -> Block:
    """A tool_use content block."""
    return {"type": "tool_use", "id": id_, "name": name, "input": input_}
