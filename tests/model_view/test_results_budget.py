"""Results cut by structure: what the model receives is valid JSON within the budget, always.

Through the real SDK path (the Claude adapter over a fake Messages API, as the model sees the
tool_result) and through the real MCP client (structured content, what Claude Code shows).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from pydantic import BaseModel, ConfigDict, Field

from agent.loop import run
from agent.mcp_server import build_server
from agent.state import AgentState
from tests.model_view.conftest import tool_results, tool_use
from tests.test_claude_adapter import FakeApi, claude, ok
from tools.analyze_result import short_frame
from tools.base import RESULT_TEXT_MAX_CHARS, Tool, ToolContext, ToolRegistry
from tools.catalog import default_registry
from tools.source.frames import parse_frame


def _analysis_seen_by_claude(repo: Path, trace: Path, **args: Any) -> dict[str, Any]:
    """Runs one analyze_trace call through the Claude adapter; returns what the model got."""
    api = FakeApi(
        [
            ok([tool_use("toolu_1", "analyze_trace", {"trace_path": str(trace), **args})],
               "tool_use"),
            ok([{"type": "text", "text": "## Hot Paths & CPU Time\nx"}], "end_turn"),
        ]
    )  # fmt: skip
    result = run(
        AgentState.start("s", "what is hot?"),
        model=claude(api),
        tools=default_registry(),
        ctx=ToolContext(repo=repo),
        max_turns=3,
    )
    assert result.status == "ok"
    [block] = tool_results(api.bodies[1])
    assert "is_error" not in block, block["content"]
    text = block["content"]
    assert len(text) <= RESULT_TEXT_MAX_CHARS
    data: dict[str, Any] = json.loads(text)  # never cut inside the JSON
    return data


def test_a_wide_trace_at_top_50_reaches_the_model_as_valid_json(
    tmp_path: Path, wide_trace: Path
) -> None:
    """Fewer rows instead of a cut text: the note says how many and which argument shows more."""
    data = _analysis_seen_by_claude(tmp_path, wide_trace, top=50)
    assert list(data)[:2] == ["summary", "left_out"]
    assert data["summary"][0].startswith("CPU: ")
    rows = len(data["cpu"]["top_self"])
    assert 1 <= rows < 50
    assert f"Top lists hold {rows} rows, not the 50 asked for" in data["left_out"][0]
    assert "detail=" in data["left_out"][0] and ".txt" not in json.dumps(data["left_out"])
    assert all(isinstance(n, int) for n in data["events_by_provider"].values())
    assert "event_ids" not in data and "managed_share" not in data["cpu"]


def test_frame_names_keep_the_method_find_source_needs(tmp_path: Path, wide_trace: Path) -> None:
    """No module prefix, no argument list, never a name chopped mid-word."""
    data = _analysis_seen_by_claude(tmp_path, wide_trace, top=5)
    names = [row["name"] for row in data["cpu"]["top_self"]]
    names += [f for site in data["allocations"]["by_site"] for f in site["frames"]]
    assert names and not any("!" in n or "(" in n or "…" in n for n in names)
    for name in names:
        if name.startswith("Dekaf."):
            ref = parse_frame(name)
            assert ref is not None and ref.method.startswith("AppendRecordWithHeadersAsync")
    assert short_frame("A!N.T.M(int32)") == "N.T.M" and short_frame("Thread (12)") == "Thread (12)"


def test_detail_shows_one_section_deeper_and_the_event_ids_on_request(
    tmp_path: Path, wide_trace: Path
) -> None:
    """detail='allocations': 12-frame stacks, others totals only; detail='events': id counts."""
    deep = _analysis_seen_by_claude(tmp_path, wide_trace, detail="allocations", top=4)
    assert max(len(s["frames"]) for s in deep["allocations"]["by_site"]) == 12
    assert deep["cpu"]["top_self"] == [] and deep["cpu"]["samples"] > 0
    assert any("detail='summary'" in note for note in deep["left_out"])
    events = _analysis_seen_by_claude(tmp_path, wide_trace, detail="events", top=3)
    assert events["event_ids"]["Microsoft-DotNETCore-SampleProfiler"]["0"] > 0


def _mcp_call(server: Any, name: str, args: dict[str, Any]) -> Any:
    found: list[Any] = []

    async def main() -> None:
        async with Client(server) as client:
            found.append(await client.call_tool(name, args))

    anyio.run(main)
    return found[0]


def test_mcp_structured_content_has_the_same_budget(tmp_path: Path, wide_trace: Path) -> None:
    """Claude Code shows structured content: it is the cut JSON, equal to the text."""
    server = build_server(default_registry(), lambda: ToolContext(repo=tmp_path))
    result = _mcp_call(server, "analyze_trace", {"trace_path": str(wide_trace), "top": 50})
    assert not result.is_error
    structured = result.structured_content
    assert len(json.dumps(structured, separators=(",", ":"))) <= RESULT_TEXT_MAX_CHARS
    text = json.loads(result.content[0].text)
    assert text["cpu"]["top_self"] == structured["cpu"]["top_self"]
    assert text["left_out"] == structured["left_out"]


class ManyArgs(BaseModel):
    """Input of the test tool."""

    model_config = ConfigDict(extra="forbid")
    count: int = Field(description="How many rows.")


class ManyResult(BaseModel):
    """A result too big for its budget."""

    total: int = Field(description="Rows made.")
    rows: list[str] = Field(description="The rows, strongest first.")


def many(args: ManyArgs, ctx: ToolContext) -> ManyResult:
    """Return many rows (test tool)."""
    return ManyResult(total=args.count, rows=[f"row {i} " + "x" * 80 for i in range(args.count)])


def test_any_tool_cut_over_mcp_still_matches_its_output_schema(tmp_path: Path) -> None:
    """The MCP client validates structured content against the schema: a cut result passes."""
    tool = Tool.from_function(many, cut_hint="Call many with a smaller count.")
    server = build_server(ToolRegistry([tool]), lambda: ToolContext(repo=tmp_path))
    result = _mcp_call(server, "many", {"count": 2000})
    assert not result.is_error
    structured = result.structured_content
    assert structured["total"] == 2000 and 1 <= len(structured["rows"]) < 2000
    assert structured["rows"][0].startswith("row 0 ")
    assert "Call many with a smaller count." in structured["left_out"][0]
    assert len(json.dumps(structured, separators=(",", ":"))) <= RESULT_TEXT_MAX_CHARS
