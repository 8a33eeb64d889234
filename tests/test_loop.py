"""The agent loop: every stop reason's behaviour, the repeated-failure breaker, max turns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from agent.loop import CLEARED_RESULT_TEXT, run
from agent.model import ModelError, ModelTurn, text_block, tool_use_block
from agent.scripted import ScriptedModel, call, say
from agent.state import AgentState, RunResult
from tools.base import Tool, ToolContext, ToolRegistry
from tools.errors import ToolError


class ProbeArgs(BaseModel):
    """Input of the probe tool."""

    model_config = ConfigDict(extra="forbid")
    value: str = Field(description="What to probe.")


class ProbeResult(BaseModel):
    """Output of the probe tool."""

    seen: str


RAN: list[str] = []


def probe(args: ProbeArgs, ctx: ToolContext) -> ProbeResult:
    """Probe a value; 'bad' fails."""
    RAN.append(args.value)
    if args.value == "bad":
        raise ToolError("probe failed: 'bad' is not allowed")
    return ProbeResult(seen=args.value)


@pytest.fixture(autouse=True)
def _reset() -> None:
    RAN.clear()


def _run(steps: list[Any], tmp_path: Path, max_turns: int = 10) -> tuple[RunResult, ScriptedModel]:
    model = ScriptedModel(steps)
    result = run(
        AgentState.start("system", "question"),
        model=model,
        tools=ToolRegistry([Tool.from_function(probe)]),
        ctx=ToolContext(repo=tmp_path),
        max_turns=max_turns,
    )
    return result, model


def test_end_turn_returns_the_text(tmp_path: Path) -> None:
    """end_turn ends the run with the turn's text as the answer."""
    result, model = _run([say("the answer")], tmp_path)
    assert (result.status, result.final_text, result.stop_reason) == (
        "ok",
        "the answer",
        "end_turn",
    )
    model.assert_complete()


def test_stop_sequence_is_a_normal_end(tmp_path: Path) -> None:
    """stop_sequence ends like end_turn."""
    result, _ = _run([say("cut here", "stop_sequence")], tmp_path)
    assert result.status == "ok" and result.final_text == "cut here"


def test_all_tool_results_of_a_turn_go_in_one_user_message(tmp_path: Path) -> None:
    """Two tool_use blocks are answered by one user message with two results, in order."""
    turn = ModelTurn(
        [
            tool_use_block("t1", "probe", {"value": "a"}),
            tool_use_block("t2", "probe", {"value": "bad"}),
        ],
        "tool_use",
    )
    result, model = _run([turn, say("done")], tmp_path)
    reply = model.calls[1]["messages"][-1]
    assert reply["role"] == "user"
    assert [(b["tool_use_id"], b.get("is_error", False)) for b in reply["content"]] == [
        ("t1", False),
        ("t2", True),
    ]
    assert model.calls[1]["messages"][-2] == {"role": "assistant", "content": turn.content}
    assert [c.name for c in result.tool_calls] == ["probe", "probe"]


def test_third_identical_failing_call_is_not_run(tmp_path: Path) -> None:
    """After two identical failures the same call is refused with advice to change approach."""
    bad = {"value": "bad"}
    steps = [call("probe", bad, id_=f"t{i}") for i in range(3)] + [say("gave up")]
    result, model = _run(steps, tmp_path)
    assert RAN == ["bad", "bad"]
    refused = model.calls[3]["messages"][-1]["content"][0]
    assert (
        refused["is_error"] is True and "change the arguments or the approach" in refused["content"]
    )
    assert [c.executed for c in result.tool_calls] == [True, True, False]


def test_different_input_is_not_blocked_by_the_breaker(tmp_path: Path) -> None:
    """Only identical calls are refused; a changed argument runs."""
    steps = [call("probe", {"value": "bad"}, id_=f"t{i}") for i in range(2)]
    steps += [call("probe", {"value": "good"}), say("ok")]
    result, _ = _run(steps, tmp_path)
    assert RAN == ["bad", "bad", "good"] and result.status == "ok"


def test_max_turns_fails_the_run(tmp_path: Path) -> None:
    """A model that never stops calling tools is stopped after max_turns model calls."""
    steps = [call("probe", {"value": str(i)}, id_=f"t{i}") for i in range(3)]
    result, model = _run(steps, tmp_path, max_turns=3)
    assert result.status == "failed" and "max turns" in (result.error or "")
    assert result.turns == 3
    model.assert_complete()


def test_max_tokens_continues_and_keeps_the_text(tmp_path: Path) -> None:
    """A cut reply is kept, the model is asked to continue, and the parts are joined."""
    result, model = _run([say("## Hot Paths", "max_tokens"), say(" & CPU Time\nx")], tmp_path)
    assert result.status == "ok" and result.final_text == "## Hot Paths & CPU Time\nx"
    nudge = model.calls[1]["messages"][-1]
    assert nudge["role"] == "user" and "cut off" in nudge["content"][-1]["text"]


def test_max_tokens_with_a_cut_tool_call_answers_it_without_running(tmp_path: Path) -> None:
    """A tool_use cut by max_tokens gets an is_error result and is not executed."""
    cut = ModelTurn([tool_use_block("t1", "probe", {"value": "half"})], "max_tokens")
    result, model = _run([cut, say("done")], tmp_path)
    assert RAN == []
    answer = model.calls[1]["messages"][-1]["content"]
    assert answer[0]["tool_use_id"] == "t1" and answer[0]["is_error"] is True
    assert result.status == "ok"


def test_pause_turn_is_sent_back_unchanged(tmp_path: Path) -> None:
    """pause_turn: the paused assistant turn is the last message of the next request; the
    answer is the whole assistant turn (the paused part and its continuation)."""
    paused = ModelTurn([text_block("searching… ")], "pause_turn")
    result, model = _run([paused, say("resumed")], tmp_path)
    assert model.calls[1]["messages"][-1] == {"role": "assistant", "content": paused.content}
    assert result.status == "ok" and result.final_text == "searching… resumed"


def _roles(messages: list[dict[str, Any]]) -> list[str]:
    return [m["role"] for m in messages]


def test_consecutive_pause_turns_never_send_two_assistant_messages_in_a_row(
    tmp_path: Path,
) -> None:
    """pause, pause, tool_use, end: every request alternates user and assistant; the paused
    parts and the tool call form one assistant message, answered by one user message."""
    first = ModelTurn([text_block("looking ")], "pause_turn")
    second = ModelTurn([text_block("still looking ")], "pause_turn")
    steps = [first, second, call("probe", {"value": "a"}, id_="t1"), say("done")]
    result, model = _run(steps, tmp_path)
    assert result.status == "ok" and RAN == ["a"]
    for sent in model.calls:
        roles = _roles(sent["messages"])
        assert all(a != b for a, b in zip(roles, roles[1:], strict=False)), roles
    assert _roles(model.calls[2]["messages"]) == ["user", "assistant"]
    assert model.calls[2]["messages"][-1]["content"] == [*first.content, *second.content]
    last = model.calls[3]["messages"]
    assert _roles(last) == ["user", "assistant", "user"]
    assert [b["type"] for b in last[1]["content"]] == ["text", "text", "tool_use"]


@pytest.mark.parametrize("bad_input", [["a", "b"], "value=a", 7])
def test_a_tool_input_that_is_not_an_object_is_an_error_the_model_can_fix(
    tmp_path: Path, bad_input: Any
) -> None:
    """tool_use input as a JSON array, string or number: not run, an is_error result says to
    send an object, the history carries {} (the API accepts it), and the model's next,
    corrected call runs."""
    bad = ModelTurn([tool_use_block("t1", "probe", bad_input)], "tool_use")
    result, model = _run([bad, call("probe", {"value": "a"}, id_="t2"), say("ok")], tmp_path)
    assert result.status == "ok" and RAN == ["a"]
    history = model.calls[1]["messages"]
    assert history[1]["content"][0]["input"] == {}
    [answer] = history[2]["content"]
    assert answer["is_error"] and "must be a JSON object" in answer["content"]
    assert result.tool_calls[0].executed is False


def test_refusal_runs_no_tool_and_fails(tmp_path: Path) -> None:
    """refusal: the run fails and no tool_use of that turn is executed."""
    turn = ModelTurn(
        [text_block("I can't help."), tool_use_block("t1", "probe", {"value": "x"})], "refusal"
    )
    result, _ = _run([turn], tmp_path)
    assert RAN == [] and result.status == "failed" and result.stop_reason == "refusal"
    assert "I can't help." in (result.error or "")


def test_context_window_exceeded_clears_old_results_then_retries(tmp_path: Path) -> None:
    """Old tool results are blanked and the call is retried; nothing left to clear fails."""
    steps = [
        call("probe", {"value": "a"}, id_="t1"),
        call("probe", {"value": "b"}, id_="t2"),
        ModelTurn([], "model_context_window_exceeded"),
        say("final"),
    ]
    result, model = _run(steps, tmp_path)
    assert result.status == "ok"
    retried = model.calls[3]["messages"]
    assert retried[2]["content"][0]["content"] == CLEARED_RESULT_TEXT
    assert retried[-1]["content"][0]["content"] == '{"seen":"b"}'
    result, _ = _run([ModelTurn([], "model_context_window_exceeded")], tmp_path)
    assert result.status == "failed" and "context window" in (result.error or "")


def test_unknown_stop_reason_fails_clearly(tmp_path: Path) -> None:
    """A stop reason this version does not know ends the run with its name."""
    result, _ = _run([ModelTurn([text_block("?")], "compaction")], tmp_path)
    assert result.status == "failed" and "'compaction'" in (result.error or "")


def test_model_error_fails_the_run(tmp_path: Path) -> None:
    """A ModelError (API down after retries) is a failed result, not an exception."""
    result, _ = _run([ModelError("The Anthropic API is overloaded")], tmp_path)
    assert result.status == "failed" and result.error == "The Anthropic API is overloaded"


def test_an_empty_ending_is_asked_once_for_the_report(tmp_path: Path) -> None:
    """end_turn without text after tools: one request for the report, then the answer."""
    steps = [call("probe", {"value": "a"}), ModelTurn([], "end_turn"), say("the report")]
    result, model = _run(steps, tmp_path)
    assert result.status == "ok" and result.final_text == "the report"
    last = model.calls[2]["messages"][-1]
    assert last["role"] == "user" and last["content"][0]["type"] == "tool_result"
    assert "Write the final report now" in last["content"][-1]["text"]
    result, _ = _run([ModelTurn([], "end_turn"), ModelTurn([], "end_turn")], tmp_path)
    assert result.status == "failed" and result.error == "The model gave no final answer."
