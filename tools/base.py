"""Typed tool records, the registry and the one dispatcher that turns every failure into data.

A tool is a plain function ``fn(args: SomeArgs, ctx: ToolContext) -> SomeResult`` where
``SomeArgs`` and ``SomeResult`` are pydantic models. The function's docstring (first paragraph)
is the description the model reads. The registry turns the records into Anthropic tool
definitions and MCP tools; :meth:`ToolRegistry.dispatch` validates input and maps unknown tools,
validation errors, :class:`ToolError` and unexpected exceptions to ``is_error`` outcomes.

Every result the model sees fits one budget, on every path (Messages API text, MCP text and
structured content): a success is JSON shortened by structure (:mod:`tools.budget`), an error
is text kept from its start, where tools put what matters.
"""

from __future__ import annotations

import inspect
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from pydantic import BaseModel, ValidationError

from tools.budget import drop_none, fit_json, to_json
from tools.errors import ToolError
from tools.process import ProcessRunner, run_process

log = logging.getLogger(__name__)

TOOL_NAME_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,64}")
"""Tool names the Anthropic API (and Claude Code's ``mcp__server__tool`` names) accept."""

RESULT_TEXT_MAX_CHARS = 12_000
"""Budget of one tool result the model sees, in characters (about 3,000 tokens)."""

DEFAULT_CUT_HINT = "Ask for fewer rows (a smaller `top`) or a narrower question to see the rest."
"""What a cut result says when its tool names no better way to get the rest."""


ProgressCallback = Callable[[str, float | None, float | None], None]
"""``progress(message, done, total)``: reports progress of a long tool (CLI spinner, MCP)."""


def _no_progress(message: str, done: float | None, total: float | None) -> None:
    """Default progress sink: progress is optional for a tool's caller."""


@dataclass
class ToolContext:
    """What a tool may touch, injected by the composition root (CLI, MCP server, tests).

    Attributes:
        repo: the target repository (the .NET solution being profiled).
        runner: the one process runner every subprocess goes through.
        docker_factory: builds a Docker SDK client on demand (``docker.from_env`` in production).
        progress: reports progress of long tools.
        cancel: set when the caller (an MCP client, Ctrl+C) cancels the running tool.
        state: facts one tool leaves for the next in a run (bootstrap address, last trace).
        max_result_chars: the budget of one tool result (tools that shorten their own
            results smartly read it; the dispatcher enforces it for every tool).
    """

    repo: Path
    runner: ProcessRunner = run_process
    docker_factory: Callable[[], Any] | None = None
    progress: ProgressCallback = _no_progress
    cancel: threading.Event = field(default_factory=threading.Event)
    state: dict[str, Any] = field(default_factory=dict)
    max_result_chars: int = RESULT_TEXT_MAX_CHARS

    @property
    def work_dir(self) -> Path:
        """The per-repository folder for our own files (traces, reports, sessions)."""
        return self.repo / ".perf-trace-analyzer"


ToolFunction = Callable[[Any, ToolContext], BaseModel]


@dataclass(frozen=True)
class Tool:
    """One typed tool: name, description for the model, input and output models, function.

    ``cut_hint`` tells the model how to get what a result cut to its budget left out (an
    argument of this tool, in its own terms).
    """

    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    function: ToolFunction
    long_running: bool = False
    cut_hint: str = DEFAULT_CUT_HINT

    @classmethod
    def from_function(
        cls,
        function: ToolFunction,
        *,
        name: str | None = None,
        long_running: bool = False,
        cut_hint: str = DEFAULT_CUT_HINT,
    ) -> Tool:
        """Builds a record from ``fn(args: Model, ctx: ToolContext) -> Output``.

        The description is the whole docstring, its lines joined (the model reads all of it).
        """
        hints = get_type_hints(function)
        params = list(inspect.signature(function).parameters)
        if len(params) != 2:
            raise TypeError(f"tool {function.__name__!r} must take (args, ctx)")
        input_model = hints[params[0]]
        output_model = hints["return"]
        doc = inspect.getdoc(function) or ""
        description = " ".join(doc.split())
        tool_name = name or function.__name__
        if not TOOL_NAME_PATTERN.fullmatch(tool_name):
            raise ValueError(f"invalid tool name {tool_name!r}")
        if not description:
            raise ValueError(f"tool {tool_name!r} needs a docstring for the model")
        return cls(
            tool_name, description, input_model, output_model, function, long_running, cut_hint
        )

    def input_schema(self) -> dict[str, Any]:
        """The JSON schema of the input model, titles stripped (they only cost tokens)."""
        schema: dict[str, Any] = _strip_titles(self.input_model.model_json_schema())
        return schema

    def output_schema(self) -> dict[str, Any]:
        """The JSON schema of the output model (MCP structured output)."""
        schema: dict[str, Any] = _strip_titles(self.output_model.model_json_schema())
        return schema


def _strip_titles(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            key: _strip_titles(value)
            for key, value in schema.items()
            if not (key == "title" and isinstance(value, str))
        }
    if isinstance(schema, list):
        return [_strip_titles(item) for item in schema]
    return schema


@dataclass(frozen=True)
class ToolOutcome:
    """The result of one dispatched call, as the loop and the MCP server need it.

    Attributes:
        tool_name: the name the model asked for.
        text: the text the model sees, within the budget (JSON on success).
        is_error: whether the call failed.
        output: the tool's own output model on success (uncut, for code, never for the model).
        structured: on success, the JSON object the model sees (``text`` parsed, nulls kept),
            as MCP's structured content.
        cut: whether the result was shortened to fit the budget.
        duration_s: wall time of the call.
    """

    tool_name: str
    text: str
    is_error: bool
    output: BaseModel | None = None
    structured: dict[str, Any] | None = None
    cut: bool = False
    duration_s: float = 0.0


class ToolRegistry:
    """The set of tools one agent (or MCP server) offers, in a stable order."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        """Adds a tool; names must be unique."""
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name!r} registered twice")
        self._tools[tool.name] = tool

    def __iter__(self) -> Any:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        """Tool names in registration order."""
        return list(self._tools)

    def get(self, name: str) -> Tool | None:
        """The tool called ``name``, or None."""
        return self._tools.get(name)

    def anthropic_definitions(self) -> list[dict[str, Any]]:
        """Tool definitions for the Messages API ``tools`` parameter."""
        return [
            {"name": t.name, "description": t.description, "input_schema": t.input_schema()}
            for t in self._tools.values()
        ]

    def dispatch(
        self, name: str, raw_input: Mapping[str, Any] | None, ctx: ToolContext
    ) -> ToolOutcome:
        """Runs one call; every failure becomes an ``is_error`` outcome, never an exception."""
        started = time.monotonic()
        tool = self._tools.get(name)
        if tool is None:
            known = ", ".join(self._tools)
            return ToolOutcome(name, f"Tool {name!r} not found. Known tools: {known}.", True)
        try:
            args = tool.input_model.model_validate(dict(raw_input or {}))
        except ValidationError as exc:
            text = (
                f"Invalid arguments for {name!r}: {_validation_summary(exc)}. "
                "Fix the arguments and try again."
            )
            return _error(name, text, ctx, started)
        try:
            output = tool.function(args, ctx)
        except ToolError as exc:
            return _error(name, str(exc), ctx, started)
        except Exception as exc:  # a tool bug must not end the run: the model sees it
            log.exception("tool %s failed", name)
            return _error(name, f"Tool {name!r} failed: {exc!r}", ctx, started)
        return _success(tool, output, ctx, started)


def _success(tool: Tool, output: BaseModel, ctx: ToolContext, started: float) -> ToolOutcome:
    data = output.model_dump(mode="json", by_alias=True)
    fitted, cut = fit_json(data, ctx.max_result_chars, hint=tool.cut_hint)
    text = to_json(drop_none(fitted))
    elapsed = time.monotonic() - started
    return ToolOutcome(tool.name, text, False, output, fitted, cut, elapsed)


def _error(name: str, text: str, ctx: ToolContext, started: float) -> ToolOutcome:
    capped = cap_error_text(text, max_chars=ctx.max_result_chars)
    return ToolOutcome(name, capped, True, duration_s=time.monotonic() - started)


def _validation_summary(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "(input)"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def cap_error_text(text: str, *, max_chars: int) -> str:
    """``text`` within ``max_chars``, kept from its start (tools put what matters first).

    Whole lines are kept; a note says how many lines were left out.
    """
    if len(text) <= max_chars:
        return text
    lines = text.splitlines()
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > max_chars - 80:
            break
        kept.append(line)
        used += len(line) + 1
    if not kept:  # one enormous line: keep its start
        kept, lines = [text[: max_chars - 80]], [text]
    return "\n".join(kept) + f"\n… ({len(lines) - len(kept)} more lines left out)"
