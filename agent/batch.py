"""`pta batch`: many requests in order, one shared broker and build, one result line each.

A request file holds one request a line: plain text, or a JSON object ``{"prompt": …,
"scenario": …, "client": …, "preset": …}``; blank lines and ``#`` comments are skipped. The
requests share one :class:`~tools.base.ToolContext`, so the broker address and the built
executable found by the first request are reused by the next ones (a successful build is not
repeated). Each finished request appends one JSON line to the results file, flushed and
fsynced at once, so an interrupted batch keeps what it finished; ``resume`` skips requests
whose last line says ``ok``, and skips (and reports) lines a crash cut or garbled.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from tools.base import Tool, ToolContext, ToolRegistry

OPTION_KEYS = ("scenario", "client", "preset")
"""Per-request options of a JSONL request; they fix the matching trace_collect inputs."""

Status = Literal["ok", "failed"]


@dataclass(frozen=True)
class BatchRequest:
    """One request of the file.

    Attributes:
        key: identifies the request across runs (its content and which repeat of it it is).
        line: its line number in the file (1-based).
        prompt: the question.
        options: the explicit scenario/client/preset, when given.
        error: why the line is not a valid request (it then fails without running).
    """

    key: str
    line: int
    prompt: str
    options: dict[str, str]
    error: str | None = None

    def request_text(self) -> str:
        """The text the model sees: the prompt, then the explicit options (one line)."""
        if not self.options:
            return self.prompt
        given = ", ".join(f"{name} {value}" for name, value in self.options.items())
        return f"{self.prompt} (trace_collect options fixed by the batch: {given})"


@dataclass(frozen=True)
class BatchResult:
    """The outcome of one request, as written to the results file."""

    key: str
    line: int
    request: dict[str, Any]
    status: Status
    report_path: str | None
    trace_paths: list[str]
    duration_s: float
    usage: dict[str, int]
    cost_usd: float | None
    error: str | None
    model: str | None = None

    def to_json(self) -> str:
        """One compact JSON line."""
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False)


def parse_requests(lines: Iterable[str]) -> list[BatchRequest]:
    """The requests of a file's lines; an invalid line becomes a request carrying its error."""
    requests: list[BatchRequest] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        prompt, options, error = _parse_line(text)
        canonical = json.dumps({"prompt": prompt, **options}, sort_keys=True) if not error else text
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
        seen[digest] = seen.get(digest, 0) + 1
        key = f"{digest}-{seen[digest]}"
        requests.append(BatchRequest(key, number, prompt, options, error))
    return requests


def _parse_line(text: str) -> tuple[str, dict[str, str], str | None]:
    if not text.startswith("{"):
        return text, {}, None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return text, {}, f"not valid JSON: {exc}"
    if not isinstance(data, dict):
        return text, {}, "a JSON request must be an object"
    unknown = sorted(set(data) - {"prompt", *OPTION_KEYS})
    prompt = data.get("prompt")
    if unknown:
        return str(prompt or text), {}, f"unknown keys {unknown}; allowed: prompt, {OPTION_KEYS}"
    if not isinstance(prompt, str) or not prompt.strip():
        return text, {}, 'a JSON request needs a non-empty "prompt"'
    options = {k: data[k] for k in OPTION_KEYS if data.get(k) is not None}
    bad = [k for k, v in options.items() if not isinstance(v, str)]
    if bad:
        return prompt.strip(), {}, f"options must be strings: {bad}"
    return prompt.strip(), options, None


def validate_options(request: BatchRequest, registry: ToolRegistry) -> str | None:
    """Why the request's options are not valid trace_collect inputs (None when they are)."""
    tool = registry.get("trace_collect")
    if not request.options or tool is None:
        return None
    try:
        tool.input_model.model_validate(request.options)
    except ValidationError as exc:
        where = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors(include_url=False))
        return f"invalid options ({where})"
    return None


def with_options(registry: ToolRegistry, options: dict[str, str]) -> ToolRegistry:
    """The registry whose trace_collect always uses the request's explicit options."""
    if not options:
        return registry
    return ToolRegistry(
        _forced(tool, options) if tool.name == "trace_collect" else tool for tool in registry
    )


def _forced(tool: Tool, options: dict[str, str]) -> Tool:
    original = tool.function

    def forced(args: BaseModel, ctx: ToolContext) -> BaseModel:
        merged = type(args).model_validate({**args.model_dump(exclude_unset=True), **options})
        return original(merged, ctx)

    return dataclasses.replace(tool, function=forced)


def reuse_builds(registry: ToolRegistry) -> ToolRegistry:
    """The registry whose build reuses an earlier successful build with the same inputs."""
    tool = registry.get("build")
    if tool is None:
        return registry
    original = tool.function
    done: dict[str, BaseModel] = {}

    def build_once(args: BaseModel, ctx: ToolContext) -> BaseModel:
        key = args.model_dump_json()
        cached = done.get(key)
        if cached is not None and ctx.state.get("executable") == getattr(cached, "executable", 0):
            ctx.progress("reusing this batch's earlier build", None, None)
            return cached
        result = original(args, ctx)
        if getattr(result, "ok", False):
            done[key] = result
        return result

    reused = dataclasses.replace(tool, function=build_once)
    return ToolRegistry(reused if t.name == "build" else t for t in registry)


@dataclass(frozen=True)
class ResultsScan:
    """What ``--resume`` found in an earlier results file.

    Attributes:
        finished: keys of the requests whose last line says ``ok``.
        skipped: one sentence per line that could not be read (cut by a crash, not UTF-8,
            not a result); those requests run again.
    """

    finished: set[str]
    skipped: list[str]


def scan_results(path: Path) -> ResultsScan:
    """Reads an earlier results file line by line; unreadable lines are skipped and reported."""
    last: dict[str, str] = {}
    skipped: list[str] = []
    if not path.is_file():
        return ResultsScan(set(), [])
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # empty when the file ends with a newline, as every whole write does
    if tail:
        skipped.append(
            f"the last line of {path.name} was cut by an interrupted write ({len(tail)} bytes); "
            "it is dropped and its request runs again"
        )
    for number, raw in enumerate(lines, start=1):
        record = _result_record(raw)
        if record is None:
            skipped.append(f"line {number} of {path.name} is not a result line; skipped")
            continue
        last[record["key"]] = str(record.get("status"))
    return ResultsScan({key for key, status in last.items() if status == "ok"}, skipped)


def _result_record(raw: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if isinstance(record, dict) and isinstance(record.get("key"), str):
        return record
    return None


class ResultsFile:
    """Appends result lines durably: one ``write`` call per whole line, fsynced at once.

    A crash can then cut at most the line being written. When appending to a file whose last
    line was cut that way, the fragment is removed first, so the next line starts on a line of
    its own instead of gluing onto it (which lost both).
    """

    def __init__(self, path: Path, *, append: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        self._fd = os.open(path, flags if append else flags | os.O_TRUNC, 0o666)
        self.dropped_bytes = _drop_cut_line(self._fd) if append else 0

    def write(self, result: BatchResult) -> None:
        """Writes one line and forces it to disk."""
        data = memoryview((result.to_json() + "\n").encode("utf-8"))
        while data:
            data = data[os.write(self._fd, data) :]
        os.fsync(self._fd)

    def close(self) -> None:
        """Closes the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _drop_cut_line(fd: int) -> int:
    """Truncates the file after its last newline; how many bytes of a cut line went."""
    size = os.fstat(fd).st_size
    keep = size
    while keep > 0:
        start = max(keep - 4096, 0)
        chunk = os.pread(fd, keep - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            break
        keep = start
    if keep < size:
        os.ftruncate(fd, keep)
        os.fsync(fd)
    return size - keep


RunOne = Callable[[BatchRequest, ToolRegistry], BatchResult]
"""Runs one valid request with the registry prepared for it."""


def run_batch(
    requests: list[BatchRequest],
    registry: ToolRegistry,
    run_one: RunOne,
    results: ResultsFile,
    *,
    skip: set[str],
    continue_on_error: bool,
) -> Iterator[tuple[BatchRequest, BatchResult | None]]:
    """Runs the requests in order; yields each with its result (None when skipped as done).

    Stops after the first failure unless ``continue_on_error``.
    """
    shared = reuse_builds(registry)
    for request in requests:
        if request.key in skip:
            yield request, None
            continue
        started = time.monotonic()
        problem = request.error or validate_options(request, shared)
        if problem is not None:
            result = failed(request, problem, time.monotonic() - started)
        else:
            result = run_one(request, with_options(shared, request.options))
        results.write(result)
        yield request, result
        if result.status != "ok" and not continue_on_error:
            return


def failed(request: BatchRequest, error: str, duration_s: float) -> BatchResult:
    """The result of a request that could not run."""
    return BatchResult(
        key=request.key,
        line=request.line,
        request=request_record(request),
        status="failed",
        report_path=None,
        trace_paths=[],
        duration_s=round(duration_s, 3),
        usage={},
        cost_usd=None,
        error=error,
    )


def request_record(request: BatchRequest) -> dict[str, Any]:
    """The request as given (prompt and options), for the results file."""
    return {"prompt": request.prompt, **request.options}
