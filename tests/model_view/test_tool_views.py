"""What the trace tools return: one form each, from the one fast pass, and when to use which."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent.loop import run
from agent.state import AgentState
from tests.model_view.conftest import tool_results, tool_use
from tests.test_claude_adapter import FakeApi, claude, ok
from tools.analysis.cpu import stack_samples
from tools.analysis.topn import render_topn, topn_of_trace, topn_rows
from tools.analyze_result import DETAIL_FRAMES, SUMMARY_FRAMES
from tools.analyze_tool import ANALYZE_TRACE_TOOL
from tools.base import ToolContext
from tools.catalog import default_registry

MANAGED_ONLY = "perfview-only_managed_samples.nettrace.zip"


@pytest.mark.parametrize("inclusive", [False, True])
def test_the_fast_pass_gives_the_table_the_interval_by_interval_reading_gives(
    traces_dir: Path, inclusive: bool
) -> None:
    """Per-stack totals from analyze_trace's pass print the table summing every interval does."""
    trace = traces_dir / MANAGED_ONLY
    fast = topn_of_trace(trace, top=10, inclusive=inclusive)
    slow = topn_rows(stack_samples(trace), top=10, inclusive=inclusive)
    # Integer ticks summed per stack vs float milliseconds per interval: equal to 1e-9.
    assert render_topn(fast, inclusive=inclusive) == render_topn(slow, inclusive=inclusive)


def test_trace_report_piped_reaches_the_model_as_rows_only(
    tmp_path: Path, wide_trace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without dotnet-trace: the native rows once (no second copy as text), and why native."""
    monkeypatch.setenv("PATH", str(tmp_path))  # no dotnet-trace here
    monkeypatch.setattr(Path, "home", lambda: tmp_path)  # nor in ~/.dotnet/tools
    api = FakeApi(
        [
            ok([tool_use("toolu_1", "trace_report_piped",
                         {"trace_path": str(wide_trace), "top": 5})], "tool_use"),
            ok([{"type": "text", "text": "done"}], "end_turn"),
        ]
    )  # fmt: skip
    run(
        AgentState.start("s", "topN please"),
        model=claude(api),
        tools=default_registry(),
        ctx=ToolContext(repo=tmp_path),
        max_turns=3,
    )
    [block] = tool_results(api.bodies[1])
    data = json.loads(block["content"])
    assert set(data) == {"source", "rows", "note"} and data["source"] == "native"
    assert len(data["rows"]) == 5 and data["rows"][0]["rank"] == 1


def test_each_trace_tool_says_when_another_fits_better() -> None:
    """The three overlapping tools each say what only they give, and point at analyze_trace."""
    tools = {t["name"]: t["description"] for t in default_registry().anthropic_definitions()}
    assert "start with it" in tools["analyze_trace"]
    assert "Prefer it to trace_report_piped" in tools["analyze_trace"]
    assert "for everything else call analyze_trace" in tools["trace_report_piped"]
    assert "call analyze_trace" in tools["convert_speedscope"]


WHEN_NOT = re.compile(r"\b(not|only when|only|instead|skip|never)\b", re.IGNORECASE)


def test_every_tool_says_what_when_when_not_and_what_it_returns() -> None:
    """3-5 sentences each, the whole docstring: a 'use it' and a 'not / instead' part."""
    for tool in default_registry():
        sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z`])", tool.description)
        assert 3 <= len(sentences) <= 5, (tool.name, sentences)
        assert re.search(r"\b(Use it|Call it|Give|Prefer it)\b", tool.description), tool.name
        assert WHEN_NOT.search(tool.description), tool.name
        assert re.search(r"\b(result|[Rr]eturns?)\b", tool.description), tool.name


def test_analyze_trace_says_the_frame_counts_it_keeps() -> None:
    """The description names the frames per stack the code keeps (summary and detail)."""
    description = ANALYZE_TRACE_TOOL.description
    assert f"the {SUMMARY_FRAMES} frames nearest the leaf ({DETAIL_FRAMES} for" in description
