"""The Claude adapter through the real anthropic SDK over an httpx2 MockTransport (SSE)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from agent.claude import ClaudeModel, newest_opus_model
from agent.loop import run
from agent.model import ModelTurn, Usage
from agent.pricing import cost_usd
from agent.run_request import run_request
from agent.state import AgentState
from memory import memory_root, read_transcript
from tools.base import Tool, ToolContext, ToolRegistry
from tools.memory_tools import READ_MEMORY_TOOL, WRITE_MEMORY_TOOL
from tools.placeholders import placeholder_tool

Handler = Callable[[httpx2.Request], httpx2.Response]


def _sse(events: list[dict[str, Any]]) -> bytes:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


def sse_reply(blocks: list[dict[str, Any]], stop_reason: str, *, usage: dict[str, int]) -> bytes:
    """A streamed Messages API reply carrying ``blocks``, as the real API sends it."""
    start_usage = {"input_tokens": usage.get("input_tokens", 0), "output_tokens": 1}
    start_usage["cache_read_input_tokens"] = usage.get("cache_read", 0)
    start_usage["cache_creation_input_tokens"] = usage.get("cache_write", 0)
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-opus-5-5",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": start_usage,
    }
    events: list[dict[str, Any]] = [{"type": "message_start", "message": message}]
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            start = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        events += [
            {"type": "content_block_start", "index": index, "content_block": start},
            {"type": "content_block_delta", "index": index, "delta": delta},
            {"type": "content_block_stop", "index": index},
        ]
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": usage.get("output_tokens", 0)},
        }
    )
    events.append({"type": "message_stop"})
    return _sse(events)


def ok(blocks: list[dict[str, Any]], stop_reason: str, **usage: int) -> httpx2.Response:
    body = sse_reply(blocks, stop_reason, usage=usage)
    return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})


def error(status: int, kind: str, headers: dict[str, str] | None = None) -> httpx2.Response:
    body = {"type": "error", "error": {"type": kind, "message": f"{kind} (test)"}}
    return httpx2.Response(status, json=body, headers=headers or {})


class FakeApi:
    """Answers each POST /v1/messages with the next scripted response and keeps the bodies."""

    def __init__(self, responses: list[httpx2.Response]) -> None:
        self.responses = responses
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/v1/messages"
        self.bodies.append(json.loads(request.content))
        if not self.responses:
            raise AssertionError("unexpected extra API call")
        return self.responses.pop(0)


def claude(api: FakeApi, waits: list[float] | None = None, **kwargs: Any) -> ClaudeModel:
    """A ClaudeModel whose SDK client talks to ``api`` and whose sleeps are recorded."""
    http = anthropic.DefaultHttpxClient(transport=httpx2.MockTransport(api))
    client = anthropic.Anthropic(api_key="test-key", max_retries=0, http_client=http)
    recorded = waits if waits is not None else []
    return ClaudeModel(client, model="claude-opus-5-5", sleep=recorded.append, **kwargs)


class Heard:
    """Records streamed text and retries."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.retries: list[tuple[int, int, float, str]] = []

    def on_text(self, delta: str) -> None:
        self.text.append(delta)

    def on_retry(self, attempt: int, max_attempts: int, wait_s: float, reason: str) -> None:
        self.retries.append((attempt, max_attempts, wait_s, reason))

    def on_turn(self, number: int, turn: ModelTurn) -> None:
        pass

    def on_tool_start(self, name: str, input_: dict[str, Any]) -> None:
        pass

    def on_tool_end(self, record: Any) -> None:
        pass


def _registry() -> ToolRegistry:
    broken: Tool = placeholder_tool("build", "Build the stress tool.")
    return ToolRegistry([READ_MEMORY_TOOL, WRITE_MEMORY_TOOL, broken])


def test_newest_opus_comes_from_the_sdk_model_list() -> None:
    """The default model is the highest-numbered undated Opus id in anthropic.types.Model."""
    assert newest_opus_model() == "claude-opus-5-5"


def test_scripted_conversation_sends_well_formed_requests(tmp_path: Path) -> None:
    """tool_use -> tool_result -> tool_use -> end_turn, asserted on the bodies the SDK sent."""
    note = {"path": "MEMORY.md", "mode": "append", "content": "- flush is fine"}
    api = FakeApi(
        [
            ok(
                [
                    {"type": "text", "text": "Reading memory."},
                    {"type": "tool_use", "id": "toolu_a", "name": "read_memory", "input": {}},
                    {"type": "tool_use", "id": "toolu_b", "name": "build", "input": {}},
                ],
                "tool_use",
                input_tokens=100,
                output_tokens=20,
                cache_write=1000,
            ),
            ok(
                [{"type": "tool_use", "id": "toolu_c", "name": "write_memory", "input": note}],
                "tool_use",
                input_tokens=50,
                output_tokens=10,
                cache_read=1000,
            ),
            ok([{"type": "text", "text": "## Hot Paths & CPU Time\nnone"}], "end_turn"),
        ]
    )
    heard = Heard()
    result = run(
        AgentState.start("SYSTEM PROMPT", "is flush slow?"),
        model=claude(api),
        tools=_registry(),
        ctx=ToolContext(repo=tmp_path),
        max_turns=5,
        observer=heard,
    )
    assert result.status == "ok" and result.final_text == "## Hot Paths & CPU Time\nnone"
    first, second, third = api.bodies
    assert [t["name"] for t in first["tools"]] == ["read_memory", "write_memory", "build"]
    assert first["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in first["tools"][0]
    assert first["system"] == [
        {"type": "text", "text": "SYSTEM PROMPT", "cache_control": {"type": "ephemeral"}}
    ]
    assert first["stream"] is True and first["model"] == "claude-opus-5-5"
    results = second["messages"][-1]
    assert results["role"] == "user"
    assert [b["tool_use_id"] for b in results["content"]] == ["toolu_a", "toolu_b"]
    assert [b.get("is_error", False) for b in results["content"]] == [False, True]
    assert "not available yet" in results["content"][1]["content"]
    assert second["messages"][-2]["content"][1]["id"] == "toolu_a"
    assert [b["tool_use_id"] for b in third["messages"][-1]["content"]] == ["toolu_c"]
    assert third["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert (memory_root(tmp_path) / "MEMORY.md").read_text() == "- flush is fine\n"
    assert "Reading memory." in "".join(heard.text)
    assert result.usage == Usage(150, 30, 1000, 1000)


def test_rate_limit_then_overload_then_success_is_retried_as_configured(tmp_path: Path) -> None:
    """429 waits the retry-after seconds, 529 backs off exponentially; the run succeeds."""
    api = FakeApi(
        [
            error(429, "rate_limit_error", {"retry-after": "7"}),
            error(529, "overloaded_error"),
            ok([{"type": "text", "text": "done"}], "end_turn"),
        ]
    )
    waits: list[float] = []
    heard = Heard()
    model = claude(api, waits, wait_initial_s=2.0, max_attempts=4)
    result = run(
        AgentState.start("s", "q"),
        model=model,
        tools=_registry(),
        ctx=ToolContext(repo=tmp_path),
        max_turns=2,
        observer=heard,
    )
    assert result.status == "ok" and len(api.bodies) == 3
    assert waits[0] == 7.0
    assert 4.0 <= waits[1] <= 5.0  # second attempt: 2 s doubled, plus up to 1 s jitter
    assert [(r[0], r[1], r[3]) for r in heard.retries] == [
        (1, 4, "HTTP 429 rate_limit_error"),
        (2, 4, "HTTP 529 overloaded_error"),
    ]


def test_retries_are_recorded_in_the_transcript(tmp_path: Path) -> None:
    """run_request writes each retry to the session transcript as it happens."""
    api = FakeApi(
        [
            error(429, "rate_limit_error", {"retry-after": "1"}),
            error(529, "overloaded_error"),
            ok([{"type": "text", "text": "## Hot Paths & CPU Time\nx"}], "end_turn"),
        ]
    )
    outcome = run_request("why slow?", repo=tmp_path, model=claude(api), registry=_registry())
    assert outcome.status == "ok"
    assert outcome.transcript_path is not None
    events = read_transcript(Path(outcome.transcript_path))
    retries = [e for e in events if e["event"] == "retry"]
    assert [(e["attempt"], e["reason"]) for e in retries] == [
        (1, "HTTP 429 rate_limit_error"),
        (2, "HTTP 529 overloaded_error"),
    ]
    assert events[0]["event"] == "request" and events[-1]["event"] == "end"


def test_persistent_overload_fails_clearly_and_leaves_memory_alone(tmp_path: Path) -> None:
    """Every attempt 529: the run fails with a message naming the overload; memory untouched."""
    memory = memory_root(tmp_path)
    memory.mkdir(parents=True)
    (memory / "MEMORY.md").write_text("- known fact\n")
    before = {p.name: p.read_bytes() for p in memory.iterdir()}
    api = FakeApi([error(529, "overloaded_error") for _ in range(3)])
    outcome = run_request(
        "is there a deadlock?",
        repo=tmp_path,
        model=claude(api, max_attempts=3),
        registry=_registry(),
    )
    assert outcome.status == "failed"
    assert outcome.error is not None and "after 3 attempts" in outcome.error
    assert "overloaded" in outcome.error
    assert {p.name: p.read_bytes() for p in memory.iterdir()} == before


def test_bad_key_is_not_retried(tmp_path: Path) -> None:
    """401 fails at once with advice to check ANTHROPIC_API_KEY."""
    api = FakeApi([error(401, "authentication_error")])
    waits: list[float] = []
    result = run(
        AgentState.start("s", "q"),
        model=claude(api, waits),
        tools=_registry(),
        ctx=ToolContext(repo=tmp_path),
        max_turns=2,
    )
    assert result.status == "failed" and "ANTHROPIC_API_KEY" in (result.error or "")
    assert waits == [] and len(api.bodies) == 1


def test_overload_in_the_middle_of_a_stream_is_retried(tmp_path: Path) -> None:
    """An SSE `error` event (overloaded) after a 200 is retried like a 529."""
    broken = _sse([{"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}])
    api = FakeApi(
        [
            httpx2.Response(200, content=broken, headers={"content-type": "text/event-stream"}),
            ok([{"type": "text", "text": "fine"}], "end_turn"),
        ]
    )
    result = run(
        AgentState.start("s", "q"),
        model=claude(api),
        tools=_registry(),
        ctx=ToolContext(repo=tmp_path),
        max_turns=2,
    )
    assert result.status == "ok" and result.final_text == "fine"


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-opus-5-5", 4 + 20 + 5 + 0.20),  # cache hits at 0.05x input
        ("claude-sonnet-4-6", 3 + 15 + 3.75 + 0.30),
        ("claude-opus-4-1-20250805", 15 + 75 + 18.75 + 1.50),
    ],
)
def test_cost_prices_cache_writes_and_reads(model: str, expected: float) -> None:
    """Each model's published input, output, cache-write and cache-hit prices (1 M tokens each)."""
    usage = Usage(1_000_000, 1_000_000, 1_000_000, 1_000_000)
    assert cost_usd(model, usage) == pytest.approx(expected)


def test_unknown_family_has_no_made_up_price() -> None:
    """A model outside the price table costs "unknown" (None), never a guess."""
    assert cost_usd("claude-mythos-preview", Usage(10, 10)) is None  # no published price
    assert cost_usd("claude-opus-6", Usage(10, 10)) is None  # a family name is not a price


# --- issue 13: a stream that cannot be read is retried; odd shapes never crash the run -------


def _stream(body: str) -> httpx2.Response:
    return httpx2.Response(
        200, content=body.encode(), headers={"content-type": "text/event-stream"}
    )


MALFORMED = {
    "bad SSE data line": 'event: message_start\ndata: {"type": "message_start", "mess\n\n',
    "message_start without an object": _sse(
        [{"type": "message_start", "message": "oops"}]
    ).decode(),
    "message_start without usage": _sse(
        [
            {"type": "message_start", "message": {"id": "m", "type": "message", "content": []}},
            {"type": "message_stop"},
        ]  # fmt: skip
    ).decode(),
    "delta before message_start": _sse(
        [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}}]
    ).decode(),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_stream_that_cannot_be_read_is_retried(tmp_path: Path, body: str) -> None:
    """A malformed SSE data line or an event of the wrong shape: a visible retry, then the
    run goes on with the next (good) reply; no traceback."""
    api = FakeApi([_stream(body), ok([{"type": "text", "text": "fine"}], "end_turn")])
    waits: list[float] = []
    heard = Heard()
    result = run(
        AgentState.start("s", "q"),
        model=claude(api, waits, max_attempts=3),
        tools=_registry(),
        ctx=ToolContext(repo=tmp_path),
        max_turns=2,
        observer=heard,
    )
    assert result.status == "ok" and result.final_text == "fine"
    assert len(api.bodies) == 2 and len(waits) == 1
    assert [r[3].split(":")[0] for r in heard.retries] == ["malformed stream"]


def test_a_stream_that_never_becomes_readable_fails_the_run_in_one_sentence(
    tmp_path: Path,
) -> None:
    """Every attempt malformed: the run fails with a plain error naming the attempts."""
    api = FakeApi([_stream(MALFORMED["bad SSE data line"]) for _ in range(3)])
    result = run(
        AgentState.start("s", "q"),
        model=claude(api, max_attempts=3),
        tools=_registry(),
        ctx=ToolContext(repo=tmp_path),
        max_turns=2,
    )
    assert result.status == "failed" and len(api.bodies) == 3
    assert "could not be read 3 times in a row" in (result.error or "")


@pytest.mark.parametrize("bad_input", [[1, 2], "MEMORY.md"])
def test_tool_input_that_is_not_an_object_comes_back_as_an_error(
    tmp_path: Path, bad_input: Any
) -> None:
    """A tool_use whose streamed input is a JSON array or string: the tool does not run, the
    next request answers it with is_error and sends the call back with input {} (a shape the
    API accepts), and the model's corrected call works."""
    api = FakeApi(
        [
            ok(
                [{"type": "tool_use", "id": "toolu_x", "name": "read_memory", "input": bad_input}],
                "tool_use",
            ),  # fmt: skip
            ok(
                [{"type": "tool_use", "id": "toolu_y", "name": "read_memory", "input": {}}],
                "tool_use",
            ),  # fmt: skip
            ok([{"type": "text", "text": "done"}], "end_turn"),
        ]
    )
    result = run(
        AgentState.start("s", "q"),
        model=claude(api),
        tools=_registry(),
        ctx=ToolContext(repo=tmp_path),
        max_turns=4,
    )
    assert result.status == "ok"
    second = api.bodies[1]["messages"]
    assert second[1]["content"][0]["input"] == {}
    answer = second[2]["content"][0]
    assert answer["is_error"] is True and "must be a JSON object" in answer["content"]
    assert [c.executed for c in result.tool_calls] == [False, True]
