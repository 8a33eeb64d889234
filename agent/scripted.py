"""A scripted model for tests and examples: it returns prepared turns in order.

Each step is a :class:`~agent.model.ModelTurn` or a callable that builds one from the
messages so far (to answer with something a tool returned). It records every call, fails on
an unexpected extra call, and :meth:`ScriptedModel.assert_complete` fails when steps are left.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from agent.model import (
    Message,
    ModelError,
    ModelListener,
    ModelTurn,
    SystemPrompt,
    Usage,
    text_block,
)

Step = ModelTurn | Callable[[list[Message]], ModelTurn] | ModelError


class ScriptedModel:
    """A ModelClient that plays back ``steps`` (a :class:`ModelError` step is raised)."""

    def __init__(self, steps: Sequence[Step], *, name: str = "scripted") -> None:
        self._steps = list(steps)
        self._name = name
        self.calls: list[dict[str, Any]] = []

    @property
    def name(self) -> str:
        """The model name."""
        return self._name

    def create(
        self,
        *,
        system: SystemPrompt,
        messages: list[Message],
        tools: list[dict[str, Any]],
        listener: ModelListener,
    ) -> ModelTurn:
        """Returns the next scripted turn; records the request as it was at call time."""
        self.calls.append({"system": system, "messages": copy.deepcopy(messages), "tools": tools})
        if not self._steps:
            raise AssertionError(f"unexpected model call #{len(self.calls)}: script exhausted")
        step = self._steps.pop(0)
        if isinstance(step, ModelError):
            raise step
        turn = step(messages) if callable(step) else step
        if turn.text():
            listener.on_text(turn.text())
        return turn

    def cost_usd(self, usage: Usage) -> float | None:
        """Scripted turns cost nothing."""
        return 0.0

    def assert_complete(self) -> None:
        """Fails when scripted steps were not consumed."""
        assert not self._steps, f"{len(self._steps)} scripted step(s) not used"


def say(text: str, stop_reason: str = "end_turn") -> ModelTurn:
    """A turn with one text block."""
    return ModelTurn([text_block(text)], stop_reason)


def call(name: str, input_: dict[str, Any] | None = None, *, id_: str | None = None) -> ModelTurn:
    """A turn with one tool call."""
    block = {"type": "tool_use", "id": id_ or f"toolu_{name}", "name": name, "input": input_ or {}}
    return ModelTurn([block], "tool_use")
