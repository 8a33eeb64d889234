"""Errors and notes tell the model what to call next, in tool names and arguments."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from agent.loop import run
from agent.state import AgentState
from tests.model_view.conftest import tool_results, tool_use
from tests.test_claude_adapter import FakeApi, claude, ok
from tools.base import ToolContext
from tools.catalog import default_registry


def test_a_missing_trace_names_the_resolved_path_and_the_traces_there(tmp_path: Path) -> None:
    """The model asked for a path that is not there: it learns where we looked, and what exists."""
    traces = tmp_path / ".perf-trace-analyzer" / "traces"
    traces.mkdir(parents=True)
    for age, name in ((60, "producer-dekaf-cpu-1.nettrace"), (0, "producer-dekaf-all-2.nettrace")):
        (traces / name).write_bytes(b"Nettrace")
        os.utime(traces / name, (time.time() - age, time.time() - age))
    api = FakeApi(
        [
            ok([tool_use("toolu_1", "analyze_trace", {"trace_path": "traces/run.nettrace"})],
               "tool_use"),
            ok([{"type": "text", "text": "done"}], "end_turn"),
        ]
    )  # fmt: skip
    run(
        AgentState.start("s", "analyse my run"),
        model=claude(api),
        tools=default_registry(),
        ctx=ToolContext(repo=tmp_path),
        max_turns=3,
    )
    [block] = tool_results(api.bodies[1])
    assert block["is_error"] is True
    text = block["content"]
    assert text.startswith(f"Trace file not found: {tmp_path / 'traces' / 'run.nettrace'}.")
    newest = ".perf-trace-analyzer/traces/producer-dekaf-all-2.nettrace"
    assert f"(newest first): {newest}, .perf-trace-analyzer/traces/producer-dekaf-cpu-1" in text


def test_no_traces_at_all_says_which_tool_records_one(tmp_path: Path) -> None:
    """With no trace yet, the error points at trace_collect, not at a command line."""
    outcome = default_registry().dispatch(
        "trace_report_piped", {"trace_path": "x.nettrace"}, ToolContext(repo=tmp_path)
    )
    assert outcome.is_error and "call trace_collect to record one" in outcome.text


def test_missing_sections_are_collected_with_a_trace_collect_preset(
    tmp_path: Path, traces_dir: Path
) -> None:
    """A CPU-only trace: the note names trace_collect's preset, never `--providers …`."""
    trace = shutil.copy(traces_dir / "perfview-only_managed_samples.nettrace.zip", tmp_path)
    outcome = default_registry().dispatch(
        "analyze_trace", {"trace_path": str(trace)}, ToolContext(repo=tmp_path)
    )
    notes = json.loads(outcome.text)["notes"]
    assert "No allocation samples in this trace: call trace_collect with preset alloc." in notes
    assert not any("--providers" in note for note in notes)


def test_the_planner_report_uses_human_units(tmp_path: Path) -> None:
    """10183603790 sampled bytes read as 10.2 GB in the Markdown; the JSON keeps the integer."""
    from tests.test_planner import ANALYSIS, investigate, tools

    analysis = {
        **ANALYSIS,
        "allocations": {
            "collected": True,
            "ticks": 1234567,
            "bytes": 10183603790,
            "by_type": [{"type": "System.Byte[]", "bytes": 10183603790, "ticks": 1234567}],
        },
    }
    result = investigate(
        "does the producer allocate?", tmp_path, tools(analyze_trace=lambda a: analysis)
    )
    assert "1,234,567 allocation samples, about 10.2 GB." in result.final_text
    assert "| `System.Byte[]` | 10.2 GB | 1,234,567 |" in result.final_text
    assert "10183603790" not in result.final_text
