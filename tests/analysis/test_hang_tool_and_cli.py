"""The hang verdict through the ways in: the analyze_trace tool (with the run's snapshot and
stall), `pta analyze --snapshot`, and the planner (hang preset, snapshot on a stall, report)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from agent.cli import main
from agent.loop import run
from agent.planner import PlaybookPlanner
from agent.state import AgentState
from tools.analysis.analyze import analyze_trace_file
from tools.analyze_result import View, compact
from tools.base import RESULT_TEXT_MAX_CHARS, Tool, ToolContext, ToolRegistry
from tools.catalog import default_registry
from tools.memory_tools import READ_MEMORY_TOOL, WRITE_MEMORY_TOOL
from tools.stack_snapshot import load_snapshot

HANG = Path(__file__).resolve().parents[1] / "fixtures" / "hang"
ASYNC_TRACE = HANG / "flushlab-async-hang.nettrace.zip"
ASYNC_STACKS = HANG / "flushlab-async-hang.stacks.txt"


def test_tool_uses_the_runs_snapshot_and_stall(tmp_path: Path) -> None:
    """analyze_trace reads the snapshot stack_snapshot kept and the stall trace_collect saw for
    this very trace; the verdict cites both and the result stays within the cap."""
    ctx = ToolContext(repo=tmp_path)
    ctx.state["snapshot"] = load_snapshot(ASYNC_STACKS, target_prefix="FlushLab.")
    ctx.state["stall"] = {"detected": True, "last_count": 340535, "detail": "progress stopped"}
    ctx.state["last_trace"] = str(ASYNC_TRACE)
    args = {"trace_path": str(ASYNC_TRACE), "target_prefix": "FlushLab."}
    outcome = default_registry().dispatch("analyze_trace", args, ctx)
    assert not outcome.is_error and len(outcome.text) <= RESULT_TEXT_MAX_CHARS
    verdict = json.loads(outcome.text)["hang_verdict"]
    assert verdict["kind"] == "async_hang"
    assert "progress stalled: progress stopped, count stuck at 340,535" in verdict["evidence"]
    assert any(
        e.startswith("no thread waits for them: the stack snapshot") for e in verdict["evidence"]
    )


def test_tool_ignores_a_stall_of_another_trace(tmp_path: Path) -> None:
    """A stall reported for a different trace is not evidence about this one."""
    ctx = ToolContext(repo=tmp_path)
    ctx.state["stall"] = {"detected": True, "detail": "progress stopped"}
    ctx.state["last_trace"] = str(tmp_path / "other.nettrace")
    args = {"trace_path": str(HANG / "flushlab-healthy.nettrace.zip"), "target_prefix": "FlushLab."}
    outcome = default_registry().dispatch("analyze_trace", args, ctx)
    assert json.loads(outcome.text)["hang_verdict"]["kind"] == "no_hang"


def test_pta_analyze_with_a_snapshot_file(capsys: pytest.CaptureFixture[str]) -> None:
    """`pta analyze TRACE --snapshot STACKS`: the verdict is confirmed by the saved stacks."""
    trace = HANG / "flushlab-deadlock.nettrace.zip"
    stacks = HANG / "flushlab-deadlock.stacks.txt"
    code = main(["analyze", str(trace), "--snapshot", str(stacks), "--target-prefix", "FlushLab."])
    out = capsys.readouterr().out
    assert code == 0
    section = out.split("## Contention & Deadlocks")[1].split("## Recommendations")[0]
    assert "**Verdict: lock-order deadlock.**" in section
    assert "confirmed by the stack snapshot: threads" in section
    assert (
        "| thread | waits for lock | owned by | waiting in | holding (taken in or above) |"
        in section
    )


def test_pta_analyze_refuses_a_missing_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --snapshot file that does not exist is a usage error (exit 2), named."""
    code = main(["analyze", str(ASYNC_TRACE), "--snapshot", str(tmp_path / "none.txt")])
    assert code == 2 and "--snapshot" in capsys.readouterr().err


class Free(BaseModel):
    """Any fields (fake tool input and output)."""

    model_config = ConfigDict(extra="allow")


def _fake(name: str, answer: dict[str, Any]) -> Tool:
    def function(args: Free, ctx: ToolContext) -> Free:
        return Free(**answer)

    return Tool(name, f"Fake {name}.", Free, Free, function)


def _investigate(tmp_path: Path, collected: dict[str, Any]) -> Any:
    analysis = analyze_trace_file(ASYNC_TRACE, target_prefix="Dekaf.")
    answers = {
        "start_kafka": {"bootstrap": "localhost:9092"},
        "build": {"ok": True},
        "trace_collect": collected,
        "stack_snapshot": {"pid": 42, "threads": 6, "groups": []},
        "analyze_trace": compact(analysis, View(15, "summary")).model_dump(mode="json"),
        "find_source": {"found": False, "candidates": []},
    }
    registry = ToolRegistry(
        [READ_MEMORY_TOOL, WRITE_MEMORY_TOOL, *(_fake(n, a) for n, a in answers.items())]
    )
    planner = PlaybookPlanner(repo=tmp_path, today=lambda: dt.date(2026, 12, 4))
    return run(
        AgentState.start("system", "is there a deadlock in flush?"),
        model=planner,
        tools=registry,
        ctx=ToolContext(repo=tmp_path),
        max_turns=20,
    )


@pytest.mark.parametrize(
    ("collected", "snapshot"),
    [
        ({"trace_path": "t.nettrace"}, False),
        ({"trace_path": "t.nettrace", "stall": {"detected": False}}, False),
        ({"trace_path": "t.nettrace", "stall": {"detected": True}}, True),
        ({"trace_path": "t.nettrace", "stall": {"detected": True}, "snapshot": {"pid": 1}}, False),
    ],
)
def test_planner_snapshots_only_on_a_stall_without_one(
    tmp_path: Path, collected: dict[str, Any], snapshot: bool
) -> None:
    """Hang questions trace with preset hang; stack_snapshot runs only after a reported stall
    that trace_collect did not already snapshot, and before the analysis."""
    result = _investigate(tmp_path, collected)
    names = [c.name for c in result.tool_calls]
    assert result.tool_calls[names.index("trace_collect")].input["preset"] == "hang"
    assert ("stack_snapshot" in names) == snapshot
    if snapshot:
        assert names.index("stack_snapshot") == names.index("trace_collect") + 1
        assert names.index("analyze_trace") == names.index("stack_snapshot") + 1


def test_planner_report_states_the_verdict(tmp_path: Path) -> None:
    """The offline report's Contention & Deadlocks section carries the verdict and its table."""
    report = _investigate(tmp_path, {"trace_path": "t.nettrace"}).final_text
    section = report.split("## Contention & Deadlocks")[1].split("## Recommendations")[0]
    assert "**Verdict: async hang.** Async hang: 2 awaits never completed" in section
    assert "| `FlushLab.Producer.MessageProducer+<FlushAsync>d__17.MoveNext()` | 1 |" in section


@pytest.mark.parametrize(
    "name", ["hanglab-deadlock", "hanglab-sync-over-async", "flushlab-sync-over-async"]
)
def test_tool_result_stays_whole_json_with_the_verdict(name: str, tmp_path: Path) -> None:
    """Busy traces are trimmed (stacks, then top lists) until the JSON fits the result cap,
    so the model and the planner always get the whole verdict, never a cut document."""
    ctx = ToolContext(repo=tmp_path)
    args = {"trace_path": str(HANG / f"{name}.nettrace.zip")}
    outcome = default_registry().dispatch("analyze_trace", args, ctx)
    assert not outcome.is_error and len(outcome.text) <= RESULT_TEXT_MAX_CHARS
    assert json.loads(outcome.text)["hang_verdict"]["kind"] != "no_hang"


def test_the_verdict_in_the_tool_result_names_frames_find_source_resolves() -> None:
    """The model reads the blocked call site in analyze_trace's result and asks find_source
    for it: the name is whole (no module, no argument list, never cut) and resolves."""
    sample = Path(__file__).resolve().parents[2] / "examples" / "flushlab"
    ctx = ToolContext(repo=sample)
    args = {"trace_path": str(HANG / "flushlab-sync-over-async.nettrace.zip")}
    outcome = default_registry().dispatch("analyze_trace", args, ctx)
    [site, *_] = json.loads(outcome.text)["hang_verdict"]["blocked_pool"]
    assert site["caller"] == "FlushLab.Producer.MessageProducer.ProduceBlocking()"
    found = default_registry().dispatch("find_source", {"symbol": site["caller"]}, ctx)
    assert not found.is_error
    assert "src/FlushLab/Producer/MessageProducer.cs" in found.text
