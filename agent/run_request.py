"""One request, end to end: the single entry point every way in reuses (CLI, batch, MCP).

It picks the model (Claude with a key, else the offline playbook planner), renders the system
prompt with the memory index and the target's CLAUDE.md, runs the loop while writing the
transcript line by line, and saves the report (Markdown + JSON) under
``<repo>/.perf-trace-analyzer/reports/``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from rich.console import Console

import prompts
from agent.docker_env import docker_from_env
from agent.failures import CallFact, missing_data_sentences
from agent.loop import run
from agent.model import Effort, ModelClient
from agent.planner import PlaybookPlanner
from agent.progress import ConsoleObserver, FanOut, TranscriptObserver
from agent.report import REPORT_HEADINGS, complete_sections, split_sections
from agent.state import AgentState, LoopObserver, RunResult, ToolCallRecord
from memory import (
    MEMORY_INDEX_MAX_CHARS,
    MEMORY_INDEX_MAX_LINES,
    MemoryStore,
    TranscriptWriter,
    atomic_write,
    sessions_dir,
)
from tools.base import ToolContext, ToolRegistry
from tools.catalog import default_registry
from tools.errors import ToolError
from tools.memory_tools import RUNNING_TRANSCRIPT_KEY
from tools.process import run_process
from tools.source.rules import rules_from_text
from tools.target_config import TargetConfig, load_target_config

CLAUDE_MD_MAX_CHARS = 12_000
"""How much of the target repository's CLAUDE.md goes into the system prompt."""


class ToolCallSummary(BaseModel):
    """One tool call of a run."""

    name: str
    input: dict[str, Any]
    is_error: bool
    duration_s: float
    executed: bool = True


class RunOutcome(BaseModel):
    """Everything a caller needs about one finished request.

    ``status`` is ``"ok"`` when a report was produced, ``"failed"`` when the run ended without
    one (API error after retries, max turns, refusal); ``error`` then says why.
    """

    status: Literal["ok", "failed"]
    request: str
    model: str
    offline: bool
    report_markdown: str = ""
    report_path: Path | None = None
    json_path: Path | None = None
    sections: dict[str, str] = Field(default_factory=dict)
    not_collected: list[str] = Field(default_factory=list)
    tool_calls: list[ToolCallSummary] = Field(default_factory=list)
    trace_paths: list[str] = Field(default_factory=list)
    usage: dict[str, int] = Field(default_factory=dict)
    cost_usd: float | None = None
    duration_s: float = 0.0
    turns: int = 0
    error: str | None = None
    transcript_path: Path | None = None
    html_path: Path | None = None
    speedscope_path: Path | None = None
    folded_path: Path | None = None


def run_request(
    request: str,
    *,
    repo: Path,
    offline: bool = False,
    model_name: str | None = None,
    max_turns: int = 30,
    ctx: ToolContext | None = None,
    model: ModelClient | None = None,
    registry: ToolRegistry | None = None,
    console: Console | None = None,
    effort: Effort | None = None,
) -> RunOutcome:
    """Investigates ``request`` on ``repo`` and returns the outcome (never raises for API errors).

    Args:
        request: the user's question in plain language.
        repo: the target repository.
        offline: use the playbook planner even when an API key is set.
        model_name: the Claude model (else ``PTA_MODEL``, else the newest Opus).
        max_turns: most model calls before the run fails.
        ctx: the tool context (built with the real process runner and Docker when None).
        model: a ready model (tests, batch); overrides ``offline`` and ``model_name``.
        registry: the tools (``default_registry()`` when None).
        console: where progress goes (a stderr console); None for no progress output.
        effort: Claude's effort level; None leaves the model's default (the planner ignores it).
    """
    started = time.monotonic()
    repo = repo.resolve()
    chosen = model or choose_model(offline=offline, model_name=model_name, repo=repo, effort=effort)
    is_offline = isinstance(chosen, PlaybookPlanner)
    screen = ConsoleObserver(console) if console is not None else None
    if screen is not None and is_offline:
        screen.note("Using the offline playbook planner (no ANTHROPIC_API_KEY, or --offline).")
    ctx = ctx or build_context(repo, screen)
    with TranscriptWriter(sessions_dir(repo)) as transcript:
        ctx.state[RUNNING_TRANSCRIPT_KEY] = str(transcript.path)  # searches skip this run's own
        observers: list[LoopObserver] = [TranscriptObserver(transcript)]
        observers += [screen] if screen is not None else []
        transcript.write("request", request=request, model=chosen.name, repo=str(repo))
        try:
            result = run(
                AgentState.start(system_prompt(repo), request),
                model=chosen,
                tools=registry or default_registry(),
                ctx=ctx,
                max_turns=max_turns,
                observer=FanOut(*observers),
            )
        except KeyboardInterrupt:
            # Tell a running tool to stop and keep a record of how the run ended.
            ctx.cancel.set()
            if screen is not None:
                screen.stop()
            transcript.write("end", status="interrupted")
            raise
        outcome = _outcome(request, repo, chosen, is_offline, result, started)
        outcome.transcript_path = transcript.path
        if outcome.status == "ok":
            _save_report(outcome, repo, ctx)
        transcript.write(
            "end",
            status=outcome.status,
            error=outcome.error,
            usage=outcome.usage,
            cost_usd=outcome.cost_usd,
            report_path=outcome.report_path,
        )
    return outcome


def choose_model(
    *, offline: bool, model_name: str | None, repo: Path, effort: Effort | None = None
) -> ModelClient:
    """Claude when a key is set and not offline; the playbook planner otherwise.

    ``effort`` goes to Claude as ``output_config.effort``; None leaves the model's default.
    """
    if offline or not os.environ.get("ANTHROPIC_API_KEY"):
        config = _target_config(repo)
        return PlaybookPlanner(
            repo=repo,
            target_prefix=config.target_prefix,
            needs_kafka=config.needs_kafka,
            default_scenario=config.scenario,
            trace_seconds=config.trace_seconds,
        )
    # Imported here: the SDK takes seconds to import and offline runs never need it.
    from agent.claude import ClaudeModel, make_client, newest_opus_model

    name = model_name or os.environ.get("PTA_MODEL") or newest_opus_model()
    return ClaudeModel(make_client(), model=name, effort=effort)


def build_context(repo: Path, screen: ConsoleObserver | None) -> ToolContext:
    """The real tool context: the process runner, Docker on demand, progress to the screen."""
    ctx = ToolContext(repo=repo, runner=run_process, docker_factory=docker_from_env)
    if screen is not None:
        ctx.progress = screen.progress
    return ctx


def system_prompt(repo: Path) -> list[str]:
    """The system prompt for ``repo`` in two parts: the static instructions, the same for every
    run and so cached across runs, then this run's part (repository, date, the target's rules
    from its CLAUDE.md or the defaults, MEMORY.md), which changes with every memory edit."""
    store = MemoryStore.for_repo(repo)
    index = store.index()
    claude_md = ""
    claude_path = repo / "CLAUDE.md"
    if claude_path.is_file():
        claude_md = claude_path.read_text(encoding="utf-8", errors="replace")
        if len(claude_md) > CLAUDE_MD_MAX_CHARS:
            claude_md = claude_md[:CLAUDE_MD_MAX_CHARS] + "\n[CLAUDE.md cut here; read it for more]"
    per_run = prompts.render(
        "system_run",
        repo=str(repo),
        today=dt.date.today().isoformat(),
        memory_root=str(store.root),
        memory_index=index.text,
        memory_truncated=index.truncated,
        memory_total_lines=index.total_lines,
        memory_shown_lines=len(index.text.splitlines()),
        memory_max_lines=MEMORY_INDEX_MAX_LINES,
        memory_max_chars=f"{MEMORY_INDEX_MAX_CHARS:,}",
        claude_md=claude_md,
        claude_md_states_rules=bool(claude_md and rules_from_text(claude_md, "CLAUDE.md")),
        needs_kafka=_target_config(repo).needs_kafka,
    )
    return [prompts.render("system"), per_run]


def _target_config(repo: Path) -> TargetConfig:
    try:
        return load_target_config(repo)
    except ToolError:
        return TargetConfig()  # an invalid config is reported by the first tool that reads it


def _outcome(
    request: str,
    repo: Path,
    model: ModelClient,
    offline: bool,
    result: RunResult,
    started: float,
) -> RunOutcome:
    facts = [CallFact(c.name, c.is_error, c.text) for c in result.tool_calls]
    not_collected = missing_data_sentences(facts)
    outcome = RunOutcome(
        status=result.status,
        request=request,
        model=model.name,
        offline=offline,
        not_collected=not_collected,
        tool_calls=[_summary(c) for c in result.tool_calls],
        trace_paths=_trace_paths(result.tool_calls),
        usage=result.usage.as_dict(),
        cost_usd=model.cost_usd(result.usage),
        turns=result.turns,
        error=result.error,
    )
    if result.status == "ok":
        body = complete_sections(result.final_text)
        outcome.sections = split_sections(body)
        outcome.report_markdown = prompts.render(
            "report",
            request=request,
            repo=str(repo),
            model=model.name,
            date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            trace_paths=outcome.trace_paths,
            not_collected=not_collected,
            body=body,
        )
    outcome.duration_s = round(time.monotonic() - started, 3)
    return outcome


def _summary(call: ToolCallRecord) -> ToolCallSummary:
    return ToolCallSummary(
        name=call.name,
        input=call.input,
        is_error=call.is_error,
        duration_s=round(call.duration_s, 3),
        executed=call.executed,
    )


def _trace_paths(calls: list[ToolCallRecord]) -> list[str]:
    paths: list[str] = []
    for call in calls:
        found: Any = None
        if call.name == "trace_collect" and not call.is_error:
            try:
                found = json.loads(call.text).get("trace_path")
            except (json.JSONDecodeError, AttributeError):
                found = None
        elif call.name == "analyze_trace":
            found = call.input.get("trace_path")
        if isinstance(found, str) and found and found not in paths:
            paths.append(found)
    return paths


def _save_report(outcome: RunOutcome, repo: Path, ctx: ToolContext) -> None:
    folder = repo / ".perf-trace-analyzer" / "reports"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^a-z0-9]+", "-", outcome.request.lower()).strip("-")[:40] or "report"
    base = folder / f"{stamp}-{slug}"
    outcome.report_path = base.with_suffix(".md")
    outcome.json_path = base.with_suffix(".json")
    atomic_write(outcome.report_path, outcome.report_markdown)
    _save_visual_report(outcome, repo, ctx, base)
    atomic_write(outcome.json_path, outcome.model_dump_json(indent=2) + "\n")


def _save_visual_report(outcome: RunOutcome, repo: Path, ctx: ToolContext, base: Path) -> None:
    """The HTML page, speedscope and folded files of the run's last trace, beside the report.

    A trace the analysis cannot read leaves the Markdown report standing; the failure is noted
    in the report's JSON instead of failing a run that already answered.
    """
    trace = _last_readable_trace(outcome.trace_paths, repo)
    if trace is None:
        return
    from tools.report_html.bundle import report_for_trace
    from tools.target_config import load_target_config

    try:
        target_prefix = load_target_config(repo).target_prefix
        bundle, _ = report_for_trace(
            trace,
            base.parent,
            repo=repo,
            target_prefix=target_prefix,
            messages=ctx.state.get("messages"),
            stem=base.name,
            title=f"perf-trace-analyzer — {outcome.request}",
        )
    except Exception as exc:  # the Markdown answer stands even when the page cannot be drawn
        outcome.not_collected.append(f"The HTML report could not be written: {exc}")
        return
    outcome.html_path = bundle.html
    outcome.speedscope_path = bundle.speedscope
    outcome.folded_path = bundle.folded
    if bundle.note:
        outcome.not_collected.append(bundle.note)


def _last_readable_trace(trace_paths: list[str], repo: Path) -> Path | None:
    for raw in reversed(trace_paths):
        path = Path(raw) if Path(raw).is_absolute() else repo / raw
        if path.is_file() and path.stat().st_size > 0:
            return path
    return None


__all__ = ["REPORT_HEADINGS", "RunOutcome", "ToolCallSummary", "choose_model", "run_request"]
