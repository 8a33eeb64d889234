"""run_request: model choice, the saved report and JSON, transcripts, missing-data sentences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from agent.claude import ClaudeModel
from agent.planner import PlaybookPlanner
from agent.report import MISSING_SECTION_TEXT, REPORT_HEADINGS
from agent.run_request import choose_model, run_request
from agent.scripted import ScriptedModel, call, say
from memory import read_transcript
from tools.base import Tool, ToolContext, ToolRegistry
from tools.errors import ToolError


class Free(BaseModel):
    """Any fields."""

    model_config = ConfigDict(extra="allow")


def collect(args: Free, ctx: ToolContext) -> Free:
    """Pretend to collect a trace."""
    return Free(trace_path="traces/t1.nettrace", messages=10)


def build(args: Free, ctx: ToolContext) -> Free:
    """Fail like a machine without the .NET SDK."""
    raise ToolError("'dotnet' was not found on PATH. Install the .NET SDK.")


def interrupt(args: Free, ctx: ToolContext) -> Free:
    """Behave like Ctrl+C during a long tool."""
    raise KeyboardInterrupt


REGISTRY = ToolRegistry(
    [
        Tool.from_function(collect, name="trace_collect"),
        Tool.from_function(build),
        Tool.from_function(interrupt),
    ]
)

REPORT = "\n".join(f"## {h}\nfinding {i}" for i, h in enumerate(REPORT_HEADINGS))


def test_no_key_means_the_planner_and_a_key_means_claude(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ANTHROPIC_API_KEY (or offline) the planner runs; with it, Claude with PTA_MODEL."""
    assert isinstance(choose_model(offline=False, model_name=None, repo=Path()), PlaybookPlanner)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.setenv("PTA_MODEL", "claude-sonnet-5-5")
    chosen = choose_model(offline=False, model_name=None, repo=Path())
    assert isinstance(chosen, ClaudeModel) and chosen.name == "claude-sonnet-5-5"
    assert choose_model(offline=False, model_name="claude-haiku-5-5", repo=Path()).name == (
        "claude-haiku-5-5"
    )
    assert isinstance(choose_model(offline=True, model_name=None, repo=Path()), PlaybookPlanner)


def test_report_is_saved_with_sections_traces_and_failures(tmp_path: Path) -> None:
    """Markdown and JSON land in reports/; sections split; the failed build is one sentence."""
    model = ScriptedModel([call("build"), call("trace_collect"), say(REPORT)], name="scripted")
    outcome = run_request("is flush slow?", repo=tmp_path, model=model, registry=REGISTRY)
    assert outcome.status == "ok"
    assert outcome.sections == {h: f"finding {i}" for i, h in enumerate(REPORT_HEADINGS)}
    assert outcome.trace_paths == ["traces/t1.nettrace"]
    assert outcome.not_collected == [
        "The stress-test tool was not built: the .NET SDK (`dotnet`) is not installed on this "
        "machine."
    ]
    assert outcome.report_path is not None and outcome.json_path is not None
    assert outcome.report_path.parent == tmp_path / ".perf-trace-analyzer" / "reports"
    assert outcome.report_path.read_text() == outcome.report_markdown
    saved = json.loads(outcome.json_path.read_text())
    assert saved["tool_calls"][0] == {
        "name": "build", "input": {}, "is_error": True, "duration_s": saved["tool_calls"][0][
            "duration_s"], "executed": True,
    }  # fmt: skip
    assert saved["model"] == "scripted" and saved["cost_usd"] == 0.0


def test_a_report_missing_sections_gets_them_marked(tmp_path: Path) -> None:
    """A model that forgets sections still yields all four, the missing ones saying so."""
    outcome = run_request(
        "q", repo=tmp_path, model=ScriptedModel([say("## Allocations\nnone")]), registry=REGISTRY
    )
    assert list(outcome.sections) == list(REPORT_HEADINGS)
    assert outcome.sections["Recommendations"] == MISSING_SECTION_TEXT


def test_transcript_is_written_line_by_line(tmp_path: Path) -> None:
    """The transcript holds the request, each turn, each tool call and the end."""
    model = ScriptedModel([call("trace_collect"), say(REPORT)])
    outcome = run_request("q", repo=tmp_path, model=model, registry=REGISTRY)
    assert outcome.transcript_path is not None
    events = [e["event"] for e in read_transcript(outcome.transcript_path)]
    assert events == ["request", "turn", "tool_call", "turn", "end"]


def test_ctrl_c_cancels_the_tool_and_keeps_the_transcript(tmp_path: Path) -> None:
    """Ctrl+C propagates, sets ctx.cancel, and the transcript ends with 'interrupted'."""
    ctx = ToolContext(repo=tmp_path)
    model = ScriptedModel([call("interrupt")])
    with pytest.raises(KeyboardInterrupt):
        run_request("q", repo=tmp_path, model=model, registry=REGISTRY, ctx=ctx)
    assert ctx.cancel.is_set()
    [path] = (tmp_path / ".perf-trace-analyzer" / "sessions").glob("*.jsonl")
    assert read_transcript(path)[-1] == {"ts": read_transcript(path)[-1]["ts"],
                                         "event": "end", "status": "interrupted"}  # fmt: skip


def test_max_turns_is_a_failed_run_without_a_report(tmp_path: Path) -> None:
    """Running out of turns fails the run and saves no report."""
    model = ScriptedModel([call("trace_collect", id_=f"t{i}") for i in range(2)])
    outcome = run_request("q", repo=tmp_path, model=model, registry=REGISTRY, max_turns=2)
    assert outcome.status == "failed" and "max turns" in (outcome.error or "")
    assert outcome.report_path is None and outcome.report_markdown == ""
