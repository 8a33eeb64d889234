"""The playbook planner: routing by words, the expert's order, skipping, the report, memory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from agent.loop import run
from agent.planner import PlaybookPlanner, route
from agent.state import AgentState, RunResult
from memory import memory_root
from tools.base import Tool, ToolContext, ToolRegistry
from tools.errors import ToolError
from tools.memory_tools import READ_MEMORY_TOOL, WRITE_MEMORY_TOOL


class Free(BaseModel):
    """Any fields (fake tool input and output)."""

    model_config = ConfigDict(extra="allow")


ANALYSIS: dict[str, Any] = {
    "trace": {"duration_s": 15.0},
    "cpu": {
        "samples": 1000,
        "managed_samples": 900,
        "top_self": [
            {
                "name": "System.Private.CoreLib!System.Threading.Monitor.Wait()",
                "percent": 41.0,
                "samples": 410,
            },
            {
                "name": "Dekaf!Dekaf.Producer.RecordAccumulator.FlushAsync()",
                "percent": 22.5,
                "samples": 225,
            },
        ],
    },
    "contention": {
        "events": 12,
        "total_ms": 5400.0,
        "max_ms": 2000.0,
        "top": [
            {
                "site": "Dekaf!Dekaf.Producer.RecordAccumulator.FlushAsync()",
                "events": 12,
                "total_ms": 5400.0,
                "max_ms": 2000.0,
                "frames": ["a", "b"],
            }
        ],
    },
    "deadlock": {"suspected": True, "evidence": ["thread 7 waits on lock held by thread 9"]},
}


def fake(name: str, answer: Callable[[dict[str, Any]], dict[str, Any]] | str) -> Tool:
    """A tool called ``name`` that answers with a dict, or fails with the given text."""

    def function(args: Free, ctx: ToolContext) -> Free:
        if isinstance(answer, str):
            raise ToolError(answer)
        return Free(**answer(args.model_dump()))

    return Tool(name, f"Fake {name}.", Free, Free, function)


def tools(**overrides: Any) -> ToolRegistry:
    answers: dict[str, Any] = {
        "start_kafka": lambda a: {"bootstrap": "localhost:9092", "how": "existing"},
        "build": lambda a: {"ok": True, "executable": "bin/Dekaf.StressTests"},
        "trace_collect": lambda a: {"trace_path": "traces/run.nettrace", "messages": 150000},
        "analyze_trace": lambda a: ANALYSIS,
        "find_source": lambda a: {
            "found": True,
            "candidates": [
                {"file": "src/RecordAccumulator.cs", "start_line": 120, "end_line": 160}
            ],
        },
        "check_guidelines": lambda a: {
            "findings": [
                {
                    "rule": "no-locks",
                    "file": "src/RecordAccumulator.cs",
                    "line": 131,
                    "text": "lock (_gate)",
                    "why": "no per-message locks",
                }
            ],
        },
    }
    answers.update(overrides)
    fakes = [fake(name, answer) for name, answer in answers.items()]
    return ToolRegistry([READ_MEMORY_TOOL, WRITE_MEMORY_TOOL, *fakes])


def investigate(request: str, tmp_path: Path, registry: ToolRegistry) -> RunResult:
    planner = PlaybookPlanner(repo=tmp_path, today=lambda: dt.date(2026, 11, 26))
    return run(
        AgentState.start("system", request),
        model=planner,
        tools=registry,
        ctx=ToolContext(repo=tmp_path),
        max_turns=20,
    )


@pytest.mark.parametrize(
    ("request_text", "preset", "scenario"),
    [
        ("is there a deadlock in flush?", "hang", "producer"),
        ("the consumer hangs after a minute", "hang", "consumer"),
        ("is there lock contention when producing?", "all", "producer"),
        ("does the producer allocate per message?", "alloc", "producer"),
        ("GC pauses in consume batch", "alloc", "consumer"),
        ("why is the consumer-batch scenario slow?", "cpu", "consumer-batch"),
        ("where does the CPU time go?", "cpu", "producer"),
    ],
)
def test_routing_by_words(request_text: str, preset: str, scenario: str) -> None:
    """Deadlock/hang -> hang, locks -> all (contention + CPU), alloc/GC -> alloc, slow -> cpu."""
    routed = route(request_text)
    assert (routed.preset, routed.scenario) == (preset, scenario)
    assert routed.scenario != "all"


def test_expert_order_and_the_collect_arguments(tmp_path: Path) -> None:
    """Memory, Kafka, build, a short one-scenario trace, analysis, source, rules, memory."""
    result = investigate("is there a deadlock in flush?", tmp_path, tools())
    assert [c.name for c in result.tool_calls] == [
        "read_memory", "start_kafka", "build", "trace_collect", "analyze_trace",
        "find_source", "check_guidelines", "write_memory", "write_memory",
    ]  # fmt: skip
    collect = result.tool_calls[3].input
    assert collect == {"preset": "hang", "scenario": "producer", "trace_seconds": 15,
                       "run_minutes": 1}  # fmt: skip
    assert result.tool_calls[4].input == {"trace_path": "traces/run.nettrace", "messages": 150000}
    assert result.tool_calls[5].input == {"symbol": "Dekaf.Producer.RecordAccumulator.FlushAsync()"}


def test_report_is_built_from_the_results(tmp_path: Path) -> None:
    """The four sections carry the analysis numbers, the suspected deadlock and the finding."""
    report = investigate("is there a deadlock in flush?", tmp_path, tools()).final_text
    headings = [line for line in report.splitlines() if line.startswith("## ")]
    assert headings == ["## Hot Paths & CPU Time", "## Allocations",
                        "## Contention & Deadlocks", "## Recommendations"]  # fmt: skip
    assert "`System.Private.CoreLib!System.Threading.Monitor.Wait()` | 41.0 | 410" in report
    assert "`src/RecordAccumulator.cs:120-160`" in report
    assert "12 lock waits, 5400.0 ms in total, the longest 2000.0 ms" in report
    assert "- `Dekaf!Dekaf.Producer.RecordAccumulator.FlushAsync()`: 12 waits, 5400.0 ms" in report
    recommendations = report.split("## Recommendations", 1)[1]
    assert "(12 waits, 5400.0 ms): shorten the locked region" in recommendations
    assert "A deadlock is suspected" in recommendations and "thread 7 waits" in report
    # One voice: the same renderer as `pta analyze` (numbered, ranked, rule cited).
    assert recommendations.split("\n1. ", 1)[1].startswith("(contention, rule `lock`)")


def test_memory_gets_a_dated_line_and_an_index_link(tmp_path: Path) -> None:
    """What was learned is appended to the topic file and linked from MEMORY.md once."""
    investigate("is there a deadlock in flush?", tmp_path, tools())
    root = memory_root(tmp_path)
    topic = (root / "contention.md").read_text()
    assert topic.startswith("- 2026-11-26 (producer, preset hang, 15 s trace): ")
    assert "deadlock suspected" in topic
    index = (root / "MEMORY.md").read_text()
    assert (
        index == "- [contention.md](contention.md): lock waits and deadlock checks per scenario\n"
    )
    result = investigate("is there a deadlock in flush?", tmp_path, tools())
    assert [c.name for c in result.tool_calls].count("write_memory") == 1
    assert (root / "MEMORY.md").read_text() == index


def test_a_named_trace_file_is_analysed_without_collecting(tmp_path: Path) -> None:
    """A request naming a .nettrace skips Kafka, build and collect."""
    result = investigate("what is hot in traces/old-run.nettrace?", tmp_path, tools())
    names = [c.name for c in result.tool_calls]
    assert names[:2] == ["read_memory", "analyze_trace"]
    assert not {"start_kafka", "build", "trace_collect"} & set(names)
    assert result.tool_calls[1].input == {"trace_path": "traces/old-run.nettrace"}


def test_failed_build_skips_what_depends_on_it_and_says_why(tmp_path: Path) -> None:
    """No dotnet: no collect, no analysis, no memory note; the report says why in a sentence."""
    registry = tools(build="'dotnet' was not found on PATH. Install the .NET SDK.")
    result = investigate("is flush slow?", tmp_path, registry)
    assert [c.name for c in result.tool_calls] == ["read_memory", "start_kafka", "build"]
    assert result.status == "ok"
    assert (
        "No trace was collected: the .NET SDK (`dotnet`) is not installed on this machine."
        in result.final_text
    )
    assert not (memory_root(tmp_path) / "hot-paths.md").exists()


def test_alloc_question_on_a_trace_without_allocations_says_how_to_collect(tmp_path: Path) -> None:
    """A cpu-preset trace has no allocations: the section says which preset collects them."""
    result = investigate("where does the CPU time go?", tmp_path, tools())
    assert "this trace holds no allocation events. Ask about allocations (preset `alloc`)" in (
        result.final_text
    )
    assert result.tool_calls[3].input["preset"] == "cpu"


def test_remember_is_saved_at_once_without_an_investigation(tmp_path: Path) -> None:
    """ "remember X" appends a dated line to MEMORY.md and runs nothing else."""
    result = investigate("Remember that FlushAsync must never take the gate lock.", tmp_path,
                         tools())  # fmt: skip
    assert [c.name for c in result.tool_calls] == ["write_memory"]
    index = (memory_root(tmp_path) / "MEMORY.md").read_text()
    assert index == "- 2026-11-26: FlushAsync must never take the gate lock\n"
    assert result.final_text.startswith("Remembered in MEMORY.md: FlushAsync must never")


def test_forget_removes_the_matching_memory_lines(tmp_path: Path) -> None:
    """ "forget X" finds the lines with X in memory files and removes exactly those."""
    root = memory_root(tmp_path)
    root.mkdir(parents=True)
    (root / "MEMORY.md").write_text("- keep this\n- linger 5 ms is best\n")
    (root / "hot-paths.md").write_text("- a\n- LINGER 5 ms is best for flush\n- b\n")
    result = investigate("forget linger 5 ms", tmp_path, tools())
    assert [c.name for c in result.tool_calls] == ["read_memory", "write_memory", "write_memory"]
    assert (root / "MEMORY.md").read_text() == "- keep this\n"
    assert (root / "hot-paths.md").read_text() == "- a\n- b\n"
    assert result.final_text.startswith("Removed 2 memory line(s) matching 'linger 5 ms'.")


@pytest.mark.parametrize(
    ("request_text", "scenario"),
    [
        ("is there a deadlock in flush in the async-hang scenario?", "async-hang"),
        ("where does the CPU go? scenario: hot", "hot"),
        ("is there a deadlock in flush?", "deadlock"),
    ],
)
def test_a_named_scenario_wins_else_the_target_default(request_text: str, scenario: str) -> None:
    """The sample target's scenarios are not Dekaf's: a request names one or gets the default."""
    assert route(request_text, default_scenario="deadlock").scenario == scenario


def test_a_target_without_kafka_skips_start_kafka_and_says_so(tmp_path: Path) -> None:
    """needs_kafka = false: no start_kafka call, the trace waits on the build only."""
    planner = PlaybookPlanner(
        repo=tmp_path, needs_kafka=False, default_scenario="lock", trace_seconds=6
    )
    result = run(
        AgentState.start("system", "is there lock contention?"),
        model=planner,
        tools=tools(),
        ctx=ToolContext(repo=tmp_path),
        max_turns=20,
    )
    names = [c.name for c in result.tool_calls]
    assert "start_kafka" not in names and names[:3] == ["read_memory", "build", "trace_collect"]
    assert result.tool_calls[2].input["scenario"] == "lock"
    assert result.tool_calls[2].input["trace_seconds"] == 6
    assert "Kafka was not needed" in result.final_text.split("\n## ")[0]
