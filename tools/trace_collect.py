"""trace_collect: run the built stress tool, attach dotnet-trace at the measured phase, stop it.

The stress tool's `--duration` is in whole minutes and `--scenario all` runs a dozen scenarios,
so we run one scenario for the shortest duration that covers warm-up plus the trace window,
attach `dotnet-trace collect --process-id <pid> --duration 00:00:00:SS` on the marker line, and
stop the stress tool's whole process group as soon as the trace is written.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.base import Tool, ToolContext
from tools.dotnet_trace import ensure_dotnet_trace, tool_env
from tools.errors import ToolError
from tools.process import RunningProcess, spawn_process
from tools.providers import Preset, providers_for
from tools.stress_output import ProgressLine, ResourcesLine, StressOutput
from tools.target_config import TargetConfig, load_target_config
from tools.trace_files import prune_traces, trace_file_name

KNOWN_SCENARIOS = (
    "producer", "producer-idempotent", "producer-acks-all", "producer-async",
    "producer-async-idempotent", "producer-transactional", "producer-roundtrip-steady",
    "consumer", "consumer-batch", "consumer-raw", "consumer-raw-batch", "soak", "all",
)  # fmt: skip
"""Scenarios of the Dekaf stress tool (2026-08); its `--help` is preferred when readable."""

STRESS_OPTIONS: dict[str, str] = {
    "partitions": r"^\d{1,4}$",
    "linger-ms": r"^\d{1,6}$",
    "batch-size": r"^\d{1,10}$",
    "compression": r"^(none|gzip|lz4|snappy|zstd)$",
    "seed-messages": r"^\d{1,10}$",
    "brokers": r"^\d{1,2}$",
}
"""Extra stress flags the model may set (without `--`) and the values each accepts."""

WARMUP_ALLOWANCE_S = 45
"""Warm-up and setup time the stress duration must cover in addition to the trace window."""
MIN_TRACE_BYTES = 8 * 1024
CRASH_GRACE_S = 20.0
HELP_TIMEOUT_S = 20.0
MAX_PROGRESS_LINES = 12
WAIT_FOR_EXIT_SLACK_S = 180
"""With wait_for_exit: time beyond --duration for the final phase (results, disposal)."""


class TraceCollectArgs(BaseModel):
    """Input of trace_collect."""

    model_config = ConfigDict(extra="forbid")

    preset: Preset = Field(
        default="cpu",
        description="cpu (samples), alloc (GC allocation ticks), contention (lock waits), all "
        "(CPU + GC + contention + waits), hang (CPU + locks + waits + thread pool + task "
        "awaits; costly, only for hang/deadlock questions).",
    )
    providers: str | None = Field(
        default=None,
        description="Custom providers 'Name[:0xKeywords[:Level]],…'; overrides preset.",
    )
    scenario: str = Field(
        default="producer",
        pattern=r"^[a-z][a-z0-9-]{0,40}$",
        description="ONE stress scenario (producer, consumer, …); 'all' runs ~12 in a row.",
    )
    client: Literal["dekaf", "confluent"] = Field(
        default="dekaf", description="Client library to run."
    )
    message_size: int = Field(
        default=1000, ge=1, le=10_000_000, description="Message size in bytes."
    )
    trace_seconds: int = Field(default=15, ge=1, le=120, description="Trace window in SECONDS.")
    run_minutes: int | None = Field(
        default=None,
        ge=1,
        le=60,
        description="Stress --duration in whole MINUTES; default: just long enough for warm-up "
        "plus the trace window. The tool is stopped once the trace is written anyway.",
    )
    stress_options: dict[str, str] = Field(
        default_factory=dict,
        description="Extra stress flags without '--': partitions, linger-ms, batch-size, "
        "compression, seed-messages, brokers.",
    )
    wait_for_exit: bool = Field(
        default=False,
        description="Keep the stress tool running to the end of its --duration (for its final "
        "numbers and correctness verdict) instead of stopping it once the trace is written.",
    )

    @field_validator("stress_options")
    @classmethod
    def _allowed_options(cls, value: dict[str, str]) -> dict[str, str]:
        for key, option in value.items():
            pattern = STRESS_OPTIONS.get(key)
            if pattern is None:
                raise ValueError(f"{key!r} is not allowed; allowed: {', '.join(STRESS_OPTIONS)}")
            if not re.match(pattern, option):
                raise ValueError(f"value {option!r} for {key!r} does not match {pattern}")
        return value


class TraceCollectResult(BaseModel):
    """The trace written and what the stress tool reported while it was recorded."""

    trace_path: str = Field(description="The .nettrace file; pass it to the analysis tools.")
    size_bytes: int = Field(description="Trace size.")
    providers: str = Field(description="The --providers value used.")
    trace_seconds: int = Field(description="Requested trace window in seconds.")
    window_s: float = Field(description="Measured time dotnet-trace ran.")
    partial: bool = Field(description="The trace was cut short (crash or overrun); still readable.")
    messages: int | None = Field(description="Messages estimated for the trace window.")
    msg_per_s: float | None = Field(description="Latest average throughput of the stress tool.")
    progress: list[ProgressLine] = Field(description="Parsed Progress lines (newest kept).")
    resources: list[ResourcesLine] = Field(description="Parsed Initial/Final Resources lines.")
    stress_exit_code: int | None = Field(
        description="Exit status if the stress tool ended by itself; None when we stopped it."
    )
    stress_command: str = Field(description="The stress tool command line, to reproduce.")
    warnings: list[str] = Field(description="Things the user should know.")
    collect_output: str = Field(description="Tail of dotnet-trace collect's output.")


@dataclass
class _Plan:
    stress_argv: list[str]
    env: dict[str, str]
    providers: str
    trace_file: Path
    minutes: int
    notes: list[str] = field(default_factory=list)


@dataclass
class _Session:
    window_s: float = 0.0
    crashed: bool = False
    overran: bool = False
    collect_exit: int | None = None
    collect_tail: str = ""


def trace_collect(args: TraceCollectArgs, ctx: ToolContext) -> TraceCollectResult:
    """Trace the built stress tool: run ONE scenario, attach dotnet-trace for trace_seconds.
    Starts the stress executable with KAFKA_BOOTSTRAP_SERVERS from start_kafka, waits for its
    measured phase, records `trace_seconds` seconds with the chosen providers and stops it.
    Returns the trace path (for analyze_trace), throughput numbers and warnings.
    """
    config = load_target_config(ctx.repo)
    plan = _plan(args, ctx, config)
    dotnet_trace = ensure_dotnet_trace(ctx, plan.notes)
    ctx.progress(f"starting {' '.join(plan.stress_argv[1:])}", None, None)
    stress = spawn_process(plan.stress_argv, cwd=ctx.repo, env=plan.env)
    output = StressOutput()
    try:
        _wait_for_marker(stress, output, ctx, config)
        session = _record(stress, output, ctx, config, plan, dotnet_trace, args.trace_seconds)
        if args.wait_for_exit:
            _run_to_the_end(stress, output, ctx, plan.minutes)
        exit_code = stress.poll()
    finally:
        stress.kill_group()
    return _result(args, ctx, config, plan, output, session, exit_code, stress)


def _plan(args: TraceCollectArgs, ctx: ToolContext, config: TargetConfig) -> _Plan:
    providers = providers_for(args.preset, args.providers)
    executable = Path(ctx.state.get("executable") or config.executable_path(ctx.repo))
    if not executable.is_file():
        raise ToolError(
            f"the stress executable {str(executable)!r} does not exist; run the build tool first"
        )
    notes: list[str] = []
    _check_scenario(args.scenario, executable, ctx, notes)
    if args.scenario == "all":
        notes.append("scenario 'all' runs about 12 scenarios in a row; the trace covers the first")
    bootstrap = ctx.state.get("bootstrap")
    if not bootstrap:
        bootstrap = config.bootstrap_address()
        notes.append(f"start_kafka was not run in this session; using Kafka at {bootstrap}")
    minutes = max(args.run_minutes or 1, math.ceil((WARMUP_ALLOWANCE_S + args.trace_seconds) / 60))
    argv = [str(executable), "--scenario", args.scenario, "--client", args.client]
    argv += ["--message-size", str(args.message_size), "--duration", str(minutes)]
    for key, value in sorted(args.stress_options.items()):
        argv += [f"--{key}", value]
    env = {**tool_env(), "KAFKA_BOOTSTRAP_SERVERS": str(bootstrap)}
    name = trace_file_name(args.scenario, args.client, "custom" if args.providers else args.preset)
    trace_file = ctx.work_dir / "traces" / name
    trace_file.parent.mkdir(parents=True, exist_ok=True)
    return _Plan(argv, env, providers, trace_file, minutes, notes)


def _check_scenario(scenario: str, executable: Path, ctx: ToolContext, notes: list[str]) -> None:
    try:
        result = ctx.runner(
            [str(executable), "--help"], cwd=ctx.repo, timeout=HELP_TIMEOUT_S, env=tool_env()
        )
        help_text = result.output_tail if "scenario" in result.output_tail.lower() else ""
    except ToolError:
        help_text = ""
    if help_text:
        if re.search(rf"(?<![\w-]){re.escape(scenario)}(?![\w-])", help_text):
            return
        raise ToolError(
            f"scenario {scenario!r} is not offered by the stress tool:\n{help_text[-2000:]}"
        )
    if scenario not in KNOWN_SCENARIOS:
        raise ToolError(f"unknown scenario {scenario!r}; known: {', '.join(KNOWN_SCENARIOS)}")
    notes.append("the stress tool's --help was not readable; checked the scenario against a list")


def _wait_for_marker(
    stress: RunningProcess, output: StressOutput, ctx: ToolContext, config: TargetConfig
) -> None:
    ctx.progress("waiting for the measured phase (warm-up, seeding)", None, None)
    deadline = time.monotonic() + config.marker_timeout_s
    for line in stress.lines(deadline=deadline, cancel=ctx.cancel):
        if output.feed(line):
            return
    if ctx.cancel.is_set():
        raise ToolError("trace_collect was cancelled before the measured phase")
    # Output ended (the tool exited: collect its status) or the deadline passed (still running).
    code = stress.poll() if time.monotonic() >= deadline else stress.wait(2.0)
    stress.kill_group()
    tail = stress.output_tail()[-3000:]
    if code is None:
        raise ToolError(
            f"the stress tool printed no measured-phase marker within {config.marker_timeout_s} s; "
            f"no trace was taken. Output tail:\n{tail}"
        )
    raise ToolError(
        f"the stress tool exited with status {code} before its measured phase; no trace was "
        f"taken. Output tail:\n{tail}"
    )


def _run_to_the_end(
    stress: RunningProcess, output: StressOutput, ctx: ToolContext, minutes: int
) -> None:
    """Reads the stress tool's output until it exits by itself (bounded by its duration)."""
    deadline = time.monotonic() + minutes * 60 + WAIT_FOR_EXIT_SLACK_S
    ctx.progress(f"waiting for the stress tool to finish its {minutes} min", None, None)
    for line in stress.lines(deadline=deadline, cancel=ctx.cancel):
        output.feed(line)
    if ctx.cancel.is_set():
        raise ToolError("trace_collect was cancelled; the processes were stopped")
    stress.wait(max(deadline - time.monotonic(), 0))


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"00:{hours:02d}:{minutes:02d}:{secs:02d}"


def _record(
    stress: RunningProcess,
    output: StressOutput,
    ctx: ToolContext,
    config: TargetConfig,
    plan: _Plan,
    dotnet_trace: str,
    seconds: int,
) -> _Session:
    argv = [dotnet_trace, "collect", "--process-id", str(stress.pid), "--providers"]
    argv += [plan.providers, "--duration", _duration(seconds), "-o", str(plan.trace_file)]
    ctx.progress(f"tracing pid {stress.pid} for {seconds} s", 0, seconds)
    collect = spawn_process(argv, cwd=ctx.repo, env=plan.env)
    session = _Session()
    started = time.monotonic()
    deadline = started + seconds + config.collect_grace_s
    try:
        while collect.poll() is None:
            for line in stress.lines(deadline=time.monotonic() + 0.2, cancel=ctx.cancel):
                output.feed(line)
            if ctx.cancel.is_set():
                raise ToolError("trace_collect was cancelled; the processes were stopped")
            if not session.crashed and stress.poll() is not None:
                session.crashed = True
                deadline = min(deadline, time.monotonic() + CRASH_GRACE_S)
            if time.monotonic() > deadline:
                session.overran = True
                break
            elapsed = time.monotonic() - started
            ctx.progress("tracing", min(elapsed, seconds), seconds)
    finally:
        collect.kill_group()
    session.window_s = round(time.monotonic() - started, 2)
    session.collect_exit = collect.poll() if not session.overran else None
    session.collect_tail = collect.output_tail()[-1500:]
    for line in stress.lines(deadline=time.monotonic() + 0.3):
        output.feed(line)
    return session


def _result(
    args: TraceCollectArgs,
    ctx: ToolContext,
    config: TargetConfig,
    plan: _Plan,
    output: StressOutput,
    session: _Session,
    exit_code: int | None,
    stress: RunningProcess,
) -> TraceCollectResult:
    trace = plan.trace_file
    if not trace.is_file() or trace.stat().st_size == 0:
        raise ToolError(
            f"dotnet-trace wrote no trace (exit {session.collect_exit}, stress tool exit "
            f"{exit_code}). dotnet-trace output:\n{session.collect_tail}\n"
            f"Stress tool output tail:\n{stress.output_tail()[-1500:]}"
        )
    notes = plan.notes + _warnings(session, output, exit_code, trace)
    removed = prune_traces(trace.parent, keep=trace, max_bytes=config.trace_retention_mb << 20)
    if removed:
        notes.append(f"trace retention: removed {', '.join(removed)} (oldest first)")
    msg_per_s = output.latest_msg_per_s
    messages = round(msg_per_s * min(session.window_s, args.trace_seconds)) if msg_per_s else None
    ctx.state["last_trace"] = str(trace)
    ctx.state["messages"] = messages
    return TraceCollectResult(
        trace_path=str(trace),
        size_bytes=trace.stat().st_size,
        providers=plan.providers,
        trace_seconds=args.trace_seconds,
        window_s=session.window_s,
        partial=session.crashed or session.overran or session.collect_exit not in (0, None),
        messages=messages,
        msg_per_s=msg_per_s,
        progress=output.progress[-MAX_PROGRESS_LINES:],
        resources=output.resources[-4:],
        stress_exit_code=exit_code,
        stress_command=" ".join(plan.stress_argv),
        warnings=notes,
        collect_output=session.collect_tail,
    )


def _warnings(
    session: _Session, output: StressOutput, exit_code: int | None, trace: Path
) -> list[str]:
    notes = []
    if session.crashed:
        notes.append(
            f"the stress tool exited (status {exit_code}) during the trace: the trace is partial "
            "but can still be analysed"
        )
    if session.overran:
        notes.append("dotnet-trace overran its window and was killed: the trace is partial")
    if output.correctness_failure:
        notes.append("the stress tool reported CORRECTNESS FAILURES DETECTED")
    size = trace.stat().st_size
    if size < MIN_TRACE_BYTES:
        notes.append(
            f"the trace is only {size} bytes: lengthen trace_seconds (or check the providers)"
        )
    if output.latest_msg_per_s is None:
        notes.append("no Progress line arrived during the trace, so no message count")
    return notes


TRACE_COLLECT_TOOL = Tool.from_function(trace_collect, long_running=True)
