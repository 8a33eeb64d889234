"""The agent loop: one small function over an explicit state object.

Each turn the model returns an assistant turn; what happens next depends on its stop reason
(every stop reason the pinned SDK defines has a defined behaviour):

=================================  ==========================================================
stop reason                        behaviour
=================================  ==========================================================
``tool_use``                       run every ``tool_use`` block through ``ToolRegistry.dispatch``
                                   and send ALL results in ONE user message; next turn.
``end_turn``, ``stop_sequence``    the turn's text is the final answer; the run is ``ok``. An
                                   empty ending is asked once for the report;
                                   a second empty ending fails the run.
``max_tokens``                     the text so far is kept; any (possibly cut) tool calls are
                                   answered with ``is_error`` without running; the model is asked
                                   to continue more concisely; next turn.
``pause_turn``                     the paused turn is sent back unchanged so the server resumes it;
                                   the turns that continue it join that same assistant message.
``refusal``                        no tool of that turn runs; the run fails with the reason.
``model_context_window_exceeded``  the cut turn is dropped and the contents of all but the most
                                   recent tool results are cleared; retried. When there is
                                   nothing left to clear the run fails.
anything else                      the run fails, naming the unknown stop reason.
=================================  ==========================================================

A call identical (same tool, same input) to one that already failed
:data:`REPEATED_FAILURE_LIMIT` times is not run again: the model gets an ``is_error`` telling
it to change approach. After ``max_turns`` model calls the run fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from agent.model import (
    Block,
    Message,
    ModelClient,
    ModelError,
    ModelTurn,
    text_block,
)
from agent.state import AgentState, LoopObserver, NullObserver, RunResult, ToolCallRecord
from tools.base import ToolContext, ToolRegistry

REPEATED_FAILURE_LIMIT = 2
"""How often an identical call may fail before further identical calls are refused."""

CLEARED_RESULT_TEXT = "[tool result cleared to free context space]"
"""What replaces an old tool result when the context window is full."""

REPORT_NUDGE = (
    "You ended without a final answer. Write the final report now, with its four sections, "
    "from what the tools returned."
)

MAX_TOKENS_NUDGE = (
    "Your reply hit the output token limit and was cut off. Continue exactly where you "
    "stopped, more concisely; repeat any tool call that was cut off."
)


@dataclass
class _Turn:
    state: AgentState
    turn: ModelTurn
    tools: ToolRegistry
    ctx: ToolContext
    observer: LoopObserver


def run(
    state: AgentState,
    *,
    model: ModelClient,
    tools: ToolRegistry,
    ctx: ToolContext,
    max_turns: int,
    observer: LoopObserver | None = None,
) -> RunResult:
    """Drives the model until it answers, fails, or ``max_turns`` model calls were made.

    Returns:
        The :class:`RunResult`; model errors become a failed result, never an exception.
    """
    observer = observer or NullObserver()
    definitions = tools.anthropic_definitions()
    while state.turns < max_turns:
        state.turns += 1
        try:
            turn = model.create(
                system=state.system, messages=state.messages, tools=definitions, listener=observer
            )
        except ModelError as exc:
            return _result(state, "failed", None, str(exc))
        state.usage.add(turn.usage)
        observer.on_turn(state.turns, turn)
        step = _STEPS.get(turn.stop_reason or "")
        if step is None:
            return _result(state, "failed", turn.stop_reason, _unknown(turn.stop_reason))
        ended = step(_Turn(state, turn, tools, ctx, observer))
        if ended is not None:
            return ended
    error = f"The run stopped after {max_turns} model turns without a final answer (max turns)."
    return _result(state, "failed", None, error)


def _unknown(stop_reason: str | None) -> str:
    return f"The model stopped for an unknown reason ({stop_reason!r}); the run was ended."


def _result(
    state: AgentState, status: Literal["ok", "failed"], stop: str | None, error: str | None
) -> RunResult:
    text = "".join(state.final_parts).strip()
    return RunResult(status, text, stop, error, state.turns, state.tool_calls, state.usage)


def _on_tool_use(t: _Turn) -> RunResult | None:
    if not t.turn.tool_uses():
        return _on_end_turn(t)
    _add_assistant(t.state.messages, t.turn.content)
    results = [_run_tool_call(t, block) for block in t.turn.tool_uses()]
    t.state.messages.append({"role": "user", "content": results})
    return None


def _on_end_turn(t: _Turn) -> RunResult | None:
    text = _paused_text(t.state.messages) + t.turn.text()
    answer = "".join(t.state.final_parts) + text
    if not answer.strip() and not t.state.nudged_for_answer:
        # An empty ending (seen after long tool chains) gets one request for the report.
        t.state.nudged_for_answer = True
        _add_assistant(t.state.messages, t.turn.content)
        _add_user_text(t.state.messages, REPORT_NUDGE)
        return None
    _add_assistant(t.state.messages, t.turn.content)
    t.state.final_parts.append(text)
    if not answer.strip():
        return _result(t.state, "failed", t.turn.stop_reason, "The model gave no final answer.")
    return _result(t.state, "ok", t.turn.stop_reason, None)


def _add_assistant(messages: list[Message], content: list[Block]) -> None:
    """Adds an assistant turn to the history in a shape the API accepts.

    A turn that continues a paused one (``pause_turn``) joins the paused message instead of
    following it (the API refuses two assistant messages in a row), and a ``tool_use`` input
    that is not a JSON object is sent back as ``{}`` (its call is answered with an error).
    """
    if not content:
        return
    blocks = [_with_object_input(block) for block in content]
    if messages and messages[-1]["role"] == "assistant":
        messages[-1]["content"] = [*messages[-1]["content"], *blocks]
    else:
        messages.append({"role": "assistant", "content": blocks})


def _with_object_input(block: Block) -> Block:
    if block.get("type") != "tool_use" or isinstance(block.get("input"), dict):
        return block
    return {**block, "input": {}}


def _paused_text(messages: list[Message]) -> str:
    """The text of a paused assistant turn the current turn continues ("" when none)."""
    if not messages or messages[-1]["role"] != "assistant":
        return ""
    return "".join(b.get("text", "") for b in messages[-1]["content"] if b.get("type") == "text")


def _add_user_text(messages: list[Message], text: str) -> None:
    """Adds text to the last user message (the API wants user and assistant to alternate)."""
    if messages and messages[-1]["role"] == "user":
        messages[-1]["content"] = [*messages[-1]["content"], text_block(text)]
    else:
        messages.append({"role": "user", "content": [text_block(text)]})


def _on_max_tokens(t: _Turn) -> RunResult | None:
    if not t.turn.content:
        _add_user_text(t.state.messages, MAX_TOKENS_NUDGE)
        return None
    paused = _paused_text(t.state.messages)
    _add_assistant(t.state.messages, t.turn.content)
    uses = t.turn.tool_uses()
    if not uses:
        t.state.final_parts.append(paused + t.turn.text())
    refused = "Not run: your reply was cut off by the output token limit before this call ended."
    content: list[Block] = [_refuse(t, block, refused) for block in uses]
    content.append(text_block(MAX_TOKENS_NUDGE))
    t.state.messages.append({"role": "user", "content": content})
    return None


def _on_pause_turn(t: _Turn) -> RunResult | None:
    # The API resumes a paused turn when the assistant message is sent back unchanged; a turn
    # paused again continues the same assistant message.
    _add_assistant(t.state.messages, t.turn.content)
    return None


def _on_refusal(t: _Turn) -> RunResult | None:
    _add_assistant(t.state.messages, t.turn.content)
    said = t.turn.text().strip()
    error = "The model declined to continue (refusal); no tool of that turn was run."
    return _result(t.state, "failed", "refusal", f"{error} {said}".strip())


def _on_context_exceeded(t: _Turn) -> RunResult | None:
    if _clear_old_tool_results(t.state.messages) == 0:
        error = "The conversation no longer fits the model's context window."
        return _result(t.state, "failed", "model_context_window_exceeded", error)
    return None


_STEPS: dict[str, Callable[[_Turn], RunResult | None]] = {
    "tool_use": _on_tool_use,
    "end_turn": _on_end_turn,
    "stop_sequence": _on_end_turn,
    "max_tokens": _on_max_tokens,
    "pause_turn": _on_pause_turn,
    "refusal": _on_refusal,
    "model_context_window_exceeded": _on_context_exceeded,
}


def _call_key(block: Block) -> str:
    return f"{block.get('name')}:{json.dumps(block.get('input') or {}, sort_keys=True)}"


def _run_tool_call(t: _Turn, block: Block) -> Block:
    name = str(block.get("name"))
    raw = block.get("input")
    if raw is not None and not isinstance(raw, dict):
        shown = json.dumps(raw, ensure_ascii=False)
        shown = shown if len(shown) <= 200 else shown[:200] + "…"
        kind = _JSON_KINDS.get(type(raw), "not an object")
        return _refuse(
            t,
            block,
            f"Not run: the input of a tool call must be a JSON object with the fields of "
            f"{name!r}'s input schema; it was {kind}: {shown}. Call the tool again with an object.",
        )
    input_ = _input_of(block)
    key = _call_key(block)
    if t.state.failures[key] >= REPEATED_FAILURE_LIMIT:
        message = (
            f"Not run: this exact call to {name!r} already failed "
            f"{t.state.failures[key]} times with the same input. Do not repeat it: change the "
            "arguments or the approach, or report what could not be collected and why."
        )
        return _refuse(t, block, message)
    t.observer.on_tool_start(name, input_)
    outcome = t.tools.dispatch(name, input_, t.ctx)
    if outcome.is_error:
        t.state.failures[key] += 1
    record = ToolCallRecord(
        name, input_, outcome.is_error, outcome.duration_s, outcome.text, str(block.get("id"))
    )
    t.state.tool_calls.append(record)
    t.observer.on_tool_end(record)
    return _tool_result(record)


_JSON_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
}


def _input_of(block: Block) -> dict[str, Any]:
    raw = block.get("input")
    return dict(raw) if isinstance(raw, dict) else {}


def _refuse(t: _Turn, block: Block, message: str) -> Block:
    record = ToolCallRecord(
        str(block.get("name")),
        _input_of(block),
        True,
        0.0,
        message,
        str(block.get("id")),
        executed=False,
    )
    t.state.tool_calls.append(record)
    t.observer.on_tool_end(record)
    return _tool_result(record)


def _tool_result(record: ToolCallRecord) -> Block:
    block: Block = {
        "type": "tool_result",
        "tool_use_id": record.tool_use_id,
        "content": record.text,
    }
    if record.is_error:
        block["is_error"] = True
    return block


def _clear_old_tool_results(messages: list[Message]) -> int:
    """Blanks every tool result except those of the last user message; returns how many."""
    cleared = 0
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=-1)
    for index, message in enumerate(messages):
        if index == last_user or message["role"] != "user":
            continue
        for block in message["content"]:
            if block.get("type") == "tool_result" and block.get("content") != CLEARED_RESULT_TEXT:
                block["content"] = CLEARED_RESULT_TEXT
                cleared += 1
    return cleared
