"""Typed tool records, the registry and the one dispatcher that turns every failure into data.

A tool is a plain function ``fn(args: SomeArgs, ctx: ToolContext) -> SomeResult`` where
``SomeArgs`` and ``SomeResult`` are pydantic models. The function's docstring (first paragraph)
is the description the model reads. The registry turns the records into Anthropic tool
definitions and MCP tools; :meth:`ToolRegistry.dispatch` validates input and maps unknown tools,
validation errors, :class:`ToolError` and unexpected exceptions to ``is_error`` outcomes.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from pydantic import BaseModel, ValidationError

from tools.errors import ToolError
from tools.process import ProcessRunner, run_process

log = logging.getLogger(__name__)

TOOL_NAME_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,64}")
"""Tool names the Anthropic API (and Claude Code's ``mcp__server__tool`` names) accept."""

RESULT_TEXT_MAX_CHARS = 12_000
"""Cap on the text of one tool result the model sees (about 3,000 tokens)."""


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
        artifacts_dir: where full results that were cut for the model are saved.
    """

    repo: Path
    runner: ProcessRunner = run_process
    docker_factory: Callable[[], Any] | None = None
    progress: ProgressCallback = _no_progress
    cancel: threading.Event = field(default_factory=threading.Event)
    state: dict[str, Any] = field(default_factory=dict)
    artifacts_dir: Path | None = None

    @property
    def work_dir(self) -> Path:
        """The per-repository folder for our own files (traces, reports, sessions)."""
        return self.repo / ".perf-trace-analyzer"


ToolFunction = Callable[[Any, ToolContext], BaseModel]


@dataclass(frozen=True)
class Tool:
    """One typed tool: name, description for the model, input and output models, function."""

    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    function: ToolFunction
    long_running: bool = False

    @classmethod
    def from_function(
        cls, function: ToolFunction, *, name: str | None = None, long_running: bool = False
    ) -> Tool:
        """Builds a record from ``fn(args: Model, ctx: ToolContext) -> Output``."""
        hints = get_type_hints(function)
        params = list(inspect.signature(function).parameters)
        if len(params) != 2:
            raise TypeError(f"tool {function.__name__!r} must take (args, ctx)")
        input_model = hints[params[0]]
        output_model = hints["return"]
        doc = inspect.getdoc(function) or ""
        description = doc.split("\n\n")[0].replace("\n", " ").strip()
        tool_name = name or function.__name__
        if not TOOL_NAME_PATTERN.fullmatch(tool_name):
            raise ValueError(f"invalid tool name {tool_name!r}")
        if not description:
            raise ValueError(f"tool {tool_name!r} needs a docstring for the model")
        return cls(tool_name, description, input_model, output_model, function, long_running)

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
        text: the (capped) text the model sees.
        is_error: whether the call failed.
        output: the validated output model on success.
        full_text_path: where the uncut text was saved when ``text`` was capped.
        duration_s: wall time of the call.
    """

    tool_name: str
    text: str
    is_error: bool
    output: BaseModel | None = None
    full_text_path: Path | None = None
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
        self,
        name: str,
        raw_input: Mapping[str, Any] | None,
        ctx: ToolContext,
        *,
        max_chars: int = RESULT_TEXT_MAX_CHARS,
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
            return ToolOutcome(name, text, True, duration_s=time.monotonic() - started)
        try:
            output = tool.function(args, ctx)
        except ToolError as exc:
            return _outcome(name, str(exc), True, None, ctx, max_chars, started)
        except Exception as exc:  # a tool bug must not end the run: the model sees it
            log.exception("tool %s failed", name)
            return _outcome(
                name, f"Tool {name!r} failed: {exc!r}", True, None, ctx, max_chars, started
            )
        text = output.model_dump_json(exclude_none=True)
        return _outcome(name, text, False, output, ctx, max_chars, started)


def _outcome(
    name: str,
    text: str,
    is_error: bool,
    output: BaseModel | None,
    ctx: ToolContext,
    max_chars: int,
    started: float,
) -> ToolOutcome:
    spill_dir = ctx.artifacts_dir or ctx.work_dir / "tool-results"
    capped, path = cap_text(text, max_chars=max_chars, spill_dir=spill_dir, stem=name)
    return ToolOutcome(name, capped, is_error, output, path, time.monotonic() - started)


def _validation_summary(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "(input)"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def cap_text(
    text: str, *, max_chars: int, spill_dir: Path | None = None, stem: str = "result"
) -> tuple[str, Path | None]:
    """Keeps the head and tail of ``text`` within ``max_chars``; saves the whole text to a file.

    Returns the capped text (with a marker naming the saved file) and the file path, or the
    text unchanged and None when it already fits.
    """
    if len(text) <= max_chars:
        return text, None
    path: Path | None = None
    if spill_dir is not None:
        spill_dir.mkdir(parents=True, exist_ok=True)
        path = spill_dir / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns()}.txt"
        path.write_text(text, encoding="utf-8")
    where = f" full text saved to {path}" if path else ""
    marker = f"\n… [{len(text) - max_chars} characters cut;{where}] …\n"
    keep = max(max_chars - len(marker), 0)
    head = keep * 2 // 3
    tail = keep - head
    return text[:head] + marker + (text[-tail:] if tail else ""), path


def to_json(value: Any) -> str:
    """Compact JSON for tool texts (keys kept in insertion order)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
