"""The playbook planner: an offline, deterministic model that investigates like an expert.

It implements the same :class:`~agent.model.ModelClient` protocol as Claude, without a
network. It routes the request by its words to a preset and ONE scenario, then asks for the
tools in an expert's order — read_memory, start_kafka, build, trace_collect, analyze_trace,
find_source and check_guidelines on the hottest target method, write_memory — one call per
turn, and finally writes the four-section report from the tool results it saw. When a step
fails, the steps that depend on it are skipped. It keeps no state of its own: every decision
is derived from the conversation, so the same conversation always gives the same next turn.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agent.model import (
    Message,
    ModelListener,
    ModelTurn,
    SystemPrompt,
    Usage,
    text_block,
    tool_use_block,
)
from agent.planner_memory import (
    MemoryRequest,
    forget_edits,
    hottest_target_method,
    index_link,
    learned_facts,
    memory_request,
    memory_request_report,
    topic_file,
)
from agent.planner_report import StepResult, dig, write_report
from agent.planner_revisions import compare_input, revision_question, revision_report

PLANNER_NAME = "playbook-planner (offline)"
"""The model name runs by the planner are saved under."""

TRACE_SECONDS = 15
"""The trace window the planner asks for (seconds, dotnet-trace --duration)."""

RUN_MINUTES = 1
"""The stress tool's own run time the planner asks for (minutes)."""

Preset = Literal["cpu", "alloc", "contention", "all", "hang"]

_HANG_WORDS = r"deadlock|dead-lock|hang|hung|stuck|freeze|frozen|stall|starv|never return"
_CONTENTION_WORDS = r"lock|wait|contention|blocked|blocking"
_ALLOC_WORDS = r"alloc|allocation|allocations|allocates|gc|garbage|memory|heap|boxing|bytes"
_SCENARIOS = (
    "producer-async-idempotent",
    "producer-roundtrip-steady",
    "producer-transactional",
    "producer-idempotent",
    "producer-acks-all",
    "producer-async",
    "consumer-raw-batch",
    "consumer-batch",
    "consumer-raw",
    "consumer-keyed",
    "soak",
)
_CONSUMER_WORDS = r"consumer|consume|consuming|fetch|poll|prefetch|subscribe"
_PRODUCER_WORDS = r"producer|produce|producing|flush|linger|accumulator"
_TRACE_FILE = re.compile(r"""(?:^|[\s"'`(])((?:[\w.~\-/\\]+)\.nettrace)\b""")
_NAMED_SCENARIO = re.compile(
    r"\bscenario[\s:=]+`?([a-z][a-z0-9-]{0,40})`?|`?([a-z][a-z0-9-]{0,40})`? scenario\b"
)
"""A scenario the request names: "scenario async-hang", "the `lock` scenario"."""


@dataclass(frozen=True)
class Route:
    """What the request asks for: the trace preset, the one scenario, a trace file to analyse."""

    preset: Preset
    scenario: str
    trace_file: str | None


def _has(pattern: str, text: str) -> bool:
    return re.search(rf"\b(?:{pattern})\w*", text) is not None


def route(request: str, default_scenario: str = "producer") -> Route:
    """Routes ``request`` by its words (deterministic; CPU + producer when nothing matches).

    The scenario is the one the request names ("scenario lock", "the hot scenario"), else a
    Dekaf scenario its words point to, else ``default_scenario`` (the target config's).
    """
    text = request.lower()
    alloc = _has(_ALLOC_WORDS, text)
    preset: Preset = "cpu"
    if _has(_HANG_WORDS, text):
        preset = "hang"  # locks, awaits and the pool: deadlock, async hang or starvation
    elif _has(_CONTENTION_WORDS, text):
        preset = "all"  # lock waits AND CPU samples to tell contention from O(n) work
    elif alloc:
        preset = "alloc"
    named = _NAMED_SCENARIO.search(text)
    scenario = (named.group(1) or named.group(2)) if named else None
    scenario = scenario or next((s for s in _SCENARIOS if s in text), None)
    if scenario is None and _has(_CONSUMER_WORDS, text) and not _has(_PRODUCER_WORDS, text):
        scenario = "consumer"
    scenario = scenario or default_scenario
    match = _TRACE_FILE.search(request)
    return Route(preset, scenario, match.group(1) if match else None)


@dataclass(frozen=True)
class _Step:
    key: str
    tool: str
    needs: tuple[str, ...]
    intro: str
    make_input: Callable[[dict[str, StepResult]], dict[str, Any] | None]


class PlaybookPlanner:
    """A :class:`~agent.model.ModelClient` that follows the expert's playbook offline.

    Args:
        repo: the target repository (used to resolve a named trace file).
        today: the date written into memory notes (injectable for tests).
        target_prefix: the namespace prefix of the target's own code.
        needs_kafka: False when the target runs without a broker: start_kafka is skipped.
        default_scenario: the scenario traced when the request names none.
        trace_seconds: the trace window asked of trace_collect.
    """

    def __init__(
        self,
        *,
        repo: Path | None = None,
        today: Callable[[], dt.date] = dt.date.today,
        target_prefix: str = "Dekaf.",
        needs_kafka: bool = True,
        default_scenario: str = "producer",
        trace_seconds: int = TRACE_SECONDS,
    ) -> None:
        self.repo = repo
        self.today = today
        self.target_prefix = target_prefix
        self.needs_kafka = needs_kafka
        self.default_scenario = default_scenario
        self.trace_seconds = trace_seconds

    @property
    def name(self) -> str:
        """The planner's model name."""
        return PLANNER_NAME

    def cost_usd(self, usage: Usage) -> float | None:
        """The planner runs locally: it costs nothing."""
        return 0.0

    def create(
        self,
        *,
        system: SystemPrompt,
        messages: list[Message],
        tools: list[dict[str, Any]],
        listener: ModelListener,
    ) -> ModelTurn:
        """The next step of the playbook, or the final report when every step is settled."""
        request = _first_user_text(messages)
        plan_route = route(request, self.default_scenario)
        results = _results(messages)
        available = {tool["name"] for tool in tools}
        asked = memory_request(request)
        revision = None if asked else revision_question(request)
        steps = self._memory_steps(asked, results) if asked else self._steps(plan_route)
        if revision is not None:  # "did my change make it slower?": both revisions traced
            compare = compare_input(revision, plan_route.scenario)
            intro = f"Comparing HEAD with {revision.base}: build and trace both, alternating."
            steps = [steps[0], _Step("compare_revisions", "compare_revisions", (), intro,
                                     _given(compare))]  # fmt: skip
        for index, step in enumerate(steps):
            if step.key in results or step.tool not in available:
                continue
            if any(need not in results or results[need].is_error for need in step.needs):
                continue
            step_input = step.make_input(results)
            if step_input is None:
                continue
            listener.on_text(step.intro + "\n")
            block = tool_use_block(f"toolu_plan_{index:02d}_{step.key}", step.tool, step_input)
            return ModelTurn([text_block(step.intro), block], "tool_use")
        if asked:
            report = memory_request_report(asked, results)
        elif revision is not None:
            report = revision_report(results)
        else:
            report = write_report(
                plan_route.preset,
                plan_route.scenario,
                results,
                self.target_prefix,
                kafka_needed=self.needs_kafka,
            )
        listener.on_text("Writing the report.\n")
        return ModelTurn([text_block(report)], "end_turn")

    def _steps(self, r: Route) -> list[_Step]:
        steps = [_Step("read_memory", "read_memory", (), "Reading the project memory.", _read)]
        if r.trace_file:
            analyse = _analyse_named(r.trace_file)
            steps.append(
                _Step("analyze_trace", "analyze_trace", (), "Analysing the trace.", analyse)
            )
        else:
            if self.needs_kafka:
                steps.append(
                    _Step("start_kafka", "start_kafka", (), "Making sure Kafka runs.", _empty)
                )
            steps += [
                _Step("build", "build", (), "Building the stress tool (Release).", _empty),
                _Step(
                    "trace_collect",
                    "trace_collect",
                    ("start_kafka", "build") if self.needs_kafka else ("build",),
                    f"Tracing the {r.scenario} scenario with the {r.preset} preset.",
                    lambda _: _collect_input(r, self.trace_seconds),
                ),
                _Step(
                    "stack_snapshot",
                    "stack_snapshot",
                    ("trace_collect",),
                    "Progress stalled: taking a stack snapshot of every thread.",
                    _snapshot_on_stall,
                ),
                _Step(
                    "analyze_trace",
                    "analyze_trace",
                    ("trace_collect",),
                    "Analysing the trace.",
                    _analyse_collected,
                ),
            ]
        hot = self._hot_symbol
        steps += [
            _Step("find_source", "find_source", ("analyze_trace",), "Finding the source.", hot),
            _Step(
                "check_guidelines",
                "check_guidelines",
                ("find_source",),
                "Checking the hot method against the repository's rules.",
                self._found_symbol,
            ),
            _Step(
                "write_memory_topic",
                "write_memory",
                ("analyze_trace",),
                "Saving what was learned.",
                lambda res: self._memory_note(r, res),
            ),
            _Step(
                "write_memory_index",
                "write_memory",
                ("write_memory_topic",),
                "Linking the topic from MEMORY.md.",
                lambda res: index_link(r.preset, res),
            ),
        ]
        return steps

    def _memory_steps(self, asked: MemoryRequest, results: dict[str, StepResult]) -> list[_Step]:
        if asked.kind == "remember":
            line = f"- {self.today().isoformat()}: {asked.text}"
            note = {"path": "MEMORY.md", "mode": "append", "content": line}
            return [_Step("remember", "write_memory", (), "Saving it to memory.", _given(note))]
        query = {"query": asked.text}
        steps = [_Step("forget_search", "read_memory", (), "Finding it in memory.", _given(query))]
        for number, edit in enumerate(forget_edits(results)):
            steps.append(
                _Step(
                    f"forget_edit{number}",
                    "write_memory",
                    ("forget_search",),
                    f"Removing it from {edit['path']}.",
                    _given(edit),
                )
            )
        return steps

    def _hot_symbol(self, results: dict[str, StepResult]) -> dict[str, Any] | None:
        symbol = hottest_target_method(results["analyze_trace"].data, self.target_prefix)
        return {"symbol": symbol} if symbol else None

    def _found_symbol(self, results: dict[str, StepResult]) -> dict[str, Any] | None:
        found = results["find_source"].data
        if not isinstance(found, dict) or found.get("found") is False:
            return None
        return self._hot_symbol(results)

    def _memory_note(self, r: Route, results: dict[str, StepResult]) -> dict[str, Any] | None:
        data = results["analyze_trace"].data
        facts = learned_facts(data, self.target_prefix)
        if not facts:
            return None
        where = results["trace_collect"].data if "trace_collect" in results else None
        source = f"{r.scenario}, preset {r.preset}, {self.trace_seconds} s trace"
        if r.trace_file or not isinstance(where, dict):
            source = f"trace {r.trace_file}" if r.trace_file else source
        line = f"- {self.today().isoformat()} ({source}): {'; '.join(facts)}."
        return {"path": topic_file(r.preset), "mode": "append", "content": line}


def _given(value: dict[str, Any]) -> Callable[[dict[str, StepResult]], dict[str, Any]]:
    return lambda results: value


def _read(results: dict[str, StepResult]) -> dict[str, Any]:
    return {}


def _empty(results: dict[str, StepResult]) -> dict[str, Any]:
    return {}


def _collect_input(r: Route, trace_seconds: int) -> dict[str, Any]:
    return {
        "preset": r.preset,
        "scenario": r.scenario,
        "trace_seconds": trace_seconds,
        "run_minutes": RUN_MINUTES,
    }


def _analyse_named(path: str) -> Callable[[dict[str, StepResult]], dict[str, Any]]:
    return lambda results: {"trace_path": path}


def _snapshot_on_stall(results: dict[str, StepResult]) -> dict[str, Any] | None:
    """Only when trace_collect reported a stall and brought back no snapshot of its own."""
    data = results["trace_collect"].data
    if dig(data, "stall", "detected") is not True or dig(data, "snapshot") is not None:
        return None
    return {}


def _analyse_collected(results: dict[str, StepResult]) -> dict[str, Any] | None:
    data = results["trace_collect"].data
    path = data.get("trace_path") if isinstance(data, dict) else None
    if not isinstance(path, str):
        return None
    args: dict[str, Any] = {"trace_path": path}
    if isinstance(data, dict) and isinstance(data.get("messages"), int):
        args["messages"] = data["messages"]
    return args


def _first_user_text(messages: list[Message]) -> str:
    for message in messages:
        if message["role"] == "user":
            content = message["content"]
            if isinstance(content, str):
                return content
            return "".join(b.get("text", "") for b in content if b.get("type") == "text")
    return ""


def _results(messages: list[Message]) -> dict[str, StepResult]:
    """The settled steps: tool results answering the planner's own ``toolu_plan_`` calls."""
    results: dict[str, StepResult] = {}
    for message in messages:
        if message["role"] != "user" or isinstance(message["content"], str):
            continue
        for block in message["content"]:
            use_id = str(block.get("tool_use_id", ""))
            match = re.fullmatch(r"toolu_plan_\d+_(\w+)", use_id)
            if block.get("type") == "tool_result" and match:
                text = _result_text(block.get("content"))
                results[match.group(1)] = StepResult(bool(block.get("is_error")), text, _json(text))
    return results


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None
