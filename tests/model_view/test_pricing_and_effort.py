"""Cost and model settings: published prices, --effort through `pta ask`, thinking round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from agent.claude import ClaudeModel, newest_opus_model
from agent.cli import main
from agent.commands import ask
from agent.model import Usage
from agent.pricing import PRICES, cost_usd, price_for
from tests.model_view.conftest import tool_results
from tests.test_claude_adapter import FakeApi, ok

REPORT = [{"type": "text", "text": "## Hot Paths & CPU Time\nnone"}]


def test_the_default_model_is_priced_as_published() -> None:
    """Opus 5.5 (the SDK's newest Opus): $4 in, $20 out, $5 cache write, $0.20 cache hit."""
    assert newest_opus_model() == "claude-opus-5-5"
    usage = Usage(input_tokens=15_800, output_tokens=2_000, cache_read_tokens=40_000,
                  cache_write_tokens=9_000)  # fmt: skip
    expected = (15_800 * 4 + 2_000 * 20 + 40_000 * 0.20 + 9_000 * 5) / 1e6
    assert cost_usd("claude-opus-5-5", usage) == pytest.approx(expected)


def test_every_model_the_sdk_names_has_its_price_or_none() -> None:
    """Dated ids take their model's price; an id never borrows a neighbour's (5 vs 5-5)."""
    assert price_for("claude-opus-5") == PRICES["claude-opus-5"]
    assert price_for("claude-opus-5-5-20261001") == PRICES["claude-opus-5-5"]
    assert price_for("claude-haiku-4-5-20251001") == PRICES["claude-haiku-4-5"]
    assert price_for("claude-sonnet-4-20250514") == PRICES["claude-sonnet-4"]
    assert price_for("claude-mythos-preview") is None


def _client(api: FakeApi) -> anthropic.Anthropic:
    http = anthropic.DefaultHttpxClient(transport=httpx2.MockTransport(api))
    return anthropic.Anthropic(api_key="k", max_retries=0, http_client=http)


@pytest.mark.parametrize("effort", [None, "high"])
def test_effort_reaches_the_api_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, effort: str | None
) -> None:
    """`pta ask --effort high` sends output_config.effort; without it the API's default holds."""
    api = FakeApi([ok(REPORT, "end_turn")])
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.setattr("agent.claude.make_client", lambda: _client(api))
    argv = ["ask", "is flush slow?", "--repo", str(tmp_path), "--quiet"]
    assert main(argv + (["--effort", effort] if effort else [])) == 0
    [body] = api.bodies
    if effort is None:
        assert "output_config" not in body
    else:
        assert body["output_config"] == {"effort": "high"}


def test_an_unknown_effort_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """argparse refuses a level the API does not know, with the choices."""
    assert main(["ask", "q", "--effort", "extreme"]) == 2  # main turns argparse's exit into 2
    assert "invalid choice: 'extreme'" in capsys.readouterr().err
    assert ask.EXAMPLES.count("--effort") == 1


def _thinking_then_tool() -> httpx2.Response:
    """A streamed turn: a thinking block with its signature, then a tool_use (real SSE shape)."""
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-opus-5-5",
               "content": [], "stop_reason": None, "stop_sequence": None,
               "usage": {"input_tokens": 10, "output_tokens": 1}}  # fmt: skip
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0,
         "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "thinking_delta", "thinking": "Memory first."}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "signature_delta", "signature": "c2lnbmF0dXJl"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1,
         "content_block": {"type": "tool_use", "id": "toolu_1", "name": "read_memory",
                           "input": {}}},
        {"type": "content_block_delta", "index": 1,
         "delta": {"type": "input_json_delta", "partial_json": "{}"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
         "usage": {"output_tokens": 5}},
        {"type": "message_stop"},
    ]  # fmt: skip
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()
    return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})


def test_thinking_blocks_go_back_to_the_api_as_they_came(tmp_path: Path) -> None:
    """With an effort set, the thinking block and its signature are resent unchanged."""
    from agent.run_request import run_request
    from tools.catalog import default_registry

    api = FakeApi([_thinking_then_tool(), ok(REPORT, "end_turn")])
    model = ClaudeModel(_client(api), model="claude-opus-5-5", effort="medium")
    outcome = run_request("is flush slow?", repo=tmp_path, model=model,
                          registry=default_registry())  # fmt: skip
    assert outcome.status == "ok"
    assistant = api.bodies[1]["messages"][-2]
    assert assistant["content"][0] == {
        "type": "thinking", "thinking": "Memory first.", "signature": "c2lnbmF0dXJl"
    }  # fmt: skip
    assert [b["tool_use_id"] for b in tool_results(api.bodies[1])] == ["toolu_1"]
    assert api.bodies[1]["output_config"] == {"effort": "medium"}
