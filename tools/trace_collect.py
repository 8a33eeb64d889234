"""trace_collect: run the built stress tool, attach dotnet-trace at the measured phase, stop it.

The stress tool's `--duration` is in whole minutes (its timer starts at the measured-phase
marker) and `--scenario all` runs a dozen scenarios, so we run one scenario for
`ceil(trace_seconds / 60)` minutes, attach `dotnet-trace collect --process-id <pid> --duration
00:00:00:SS` on the marker line, and stop the stress tool's whole process group as soon as the
trace is written. The stress tool writes its results (and its watchdog's stack captures) under
the run's work folder, and runs with invariant culture so its numbers parse.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from tools.analysis.hang_models import StallInfo
from tools.base import Tool, ToolContext
from tools.build import refuse_stale_executable
from tools.collect_log import CollectLog
from tools.dotnet_trace import ensure_dotnet_trace, tool_env
from tools.errors import ToolError
from tools.process import RunningProcess, spawn_process
from tools.providers import providers_for
from tools.stack_snapshot import PID_STATE_KEY
from tools.stacks.model import Snapshot
from tools.stall import StallWatch, snapshot_if_stalled
from tools.stress_output import StressOutput
from tools.stress_plan import (
    check_scenario,
    stress_argv,
    stress_minutes,
)
from tools.target_config import TargetConfig, load_target_config
from tools.trace_collect_models import TraceCollectArgs, TraceCollectResult
from tools.trace_files import prune_traces, trace_file_name

STRESS_ENV = {"DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1"}
"""The stress tool formats numbers with the machine's culture (`{:N0}`); invariant parses."""
MIN_TRACE_BYTES = 8 * 1024
CRASH_GRACE_S = 20.0
MAX_PROGRESS_LINES = 12
MAX_CAPTURES = 12
WAIT_FOR_EXIT_SLACK_S = 180
"""With wait_for_exit: time beyond --duration for the final phase (results, disposal)."""


@dataclass
class _Plan:
    stress_argv: list[str]
    env: dict[str, str]
    providers: str
    trace_file: Path
    minutes: int
    output_dir: Path
    notes: list[str] = field(default_factory=list)


@dataclass
class _Session:
    window_s: float = 0.0
    marker_wait_s: float = 0.0
    stall: StallInfo = field(default_factory=lambda: StallInfo(detected=False))
    snapshot: Snapshot | None = None
    crashed: bool = False
    overran: bool = False
    collect_exit: int | None = None
    collect_log: CollectLog = field(default_factory=CollectLog)


def trace_collect(args: TraceCollectArgs, ctx: ToolContext) -> TraceCollectResult:
    """Trace the built stress tool: run ONE scenario, attach dotnet-trace for trace_seconds.
    Starts the stress executable with KAFKA_BOOTSTRAP_SERVERS from start_kafka, waits for its
    measured phase, records `trace_seconds` seconds with the chosen providers and stops it.
    Call it after build (and start_kafka when the target needs Kafka), never for a trace that
    already exists (analyze that). Returns the trace path (for analyze_trace), throughput
    numbers, warnings and, when progress stalled, since when and every thread's stack.
    """
    config = load_target_config(ctx.repo)
    plan = _plan(args, ctx, config)
    dotnet_trace = ensure_dotnet_trace(ctx, plan.notes)
    ctx.progress(f"starting {' '.join(plan.stress_argv[1:])}", None, None)
    stress = spawn_process(plan.stress_argv, cwd=ctx.repo, env={**plan.env, **STRESS_ENV})
    output = StressOutput()
    ctx.state[PID_STATE_KEY] = stress.pid
    try:
        _wait_for_marker(stress, output, ctx, config)
        marker_wait_s = round(time.monotonic() - stress.started, 2)
        session = _record(stress, output, ctx, config, plan, dotnet_trace, args.trace_seconds)
        session.marker_wait_s = marker_wait_s
        session.snapshot = snapshot_if_stalled(session.stall, stress, ctx, plan.notes)
        if args.wait_for_exit:
            _run_to_the_end(stress, output, ctx, plan.minutes)
        exit_code = stress.poll()
    finally:
        stress.kill_group()
        ctx.state.pop(PID_STATE_KEY, None)
    return _result(args, ctx, config, plan, output, session, exit_code, stress)


def _plan(args: TraceCollectArgs, ctx: ToolContext, config: TargetConfig) -> _Plan:
    providers = providers_for(args.preset, args.providers)
    executable = Path(ctx.state.get("executable") or config.executable_path(ctx.repo))
    refuse_stale_executable(ctx, executable)
    if not executable.is_file():
        raise ToolError(
            f"the stress executable {str(executable)!r} does not exist; run the build tool first"
        )
    notes: list[str] = []
    check_scenario(args.scenario, args.client, executable, ctx, notes)
    if args.scenario == "all":
        notes.append("scenario 'all' runs about 12 scenarios in a row; the trace covers the first")
    env = tool_env()
    if config.needs_kafka:
        env["KAFKA_BOOTSTRAP_SERVERS"] = _bootstrap(ctx, config, notes)
    minutes = stress_minutes(args.trace_seconds, args.run_minutes)
    name = trace_file_name(args.scenario, args.client, "custom" if args.providers else args.preset)
    trace_file = ctx.work_dir / "traces" / name
    trace_file.parent.mkdir(parents=True, exist_ok=True)
    # The stress tool writes results and its watchdog's captures under --output (default
    # ./results, Program.cs:142-143, 1140): keep them in the run's work folder instead.
    output_dir = ctx.work_dir / "stress-results" / trace_file.stem
    argv = stress_argv(
        str(executable),
        scenario=args.scenario,
        client=args.client,
        message_size=args.message_size,
        minutes=minutes,
        trace_seconds=args.trace_seconds,
        options=args.stress_options,
        output_dir=str(output_dir),
    )
    return _Plan(argv, env, providers, trace_file, minutes, output_dir, notes)


def _bootstrap(ctx: ToolContext, config: TargetConfig, notes: list[str]) -> str:
    bootstrap = ctx.state.get("bootstrap")
    if not bootstrap:
        bootstrap = config.bootstrap_address()
        notes.append(f"start_kafka was not run in this session; using Kafka at {bootstrap}")
    return str(bootstrap)


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
    watch = StallWatch(started)
    deadline = started + seconds + config.collect_grace_s
    try:
        while collect.poll() is None:
            _drain(collect, session.collect_log)
            for line in stress.lines(deadline=time.monotonic() + 0.2, cancel=ctx.cancel):
                output.feed(line)
            watch.observe(output, time.monotonic())
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
    _drain(collect, session.collect_log)
    for line in stress.lines(deadline=time.monotonic() + 0.3):
        output.feed(line)
    watch.observe(output, time.monotonic())
    session.stall = watch.stall(output, time.monotonic())
    return session


def _drain(collect: RunningProcess, log: CollectLog) -> None:
    """Moves the output collect has printed so far into ``log`` (never waits long)."""
    for line in collect.lines(deadline=time.monotonic() + 0.01):
        log.feed(line)


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
            f"{exit_code}). dotnet-trace output:\n{session.collect_log.text()}\n"
            f"Stress tool output tail:\n{stress.output_tail()[-1500:]}"
        )
    captures = _watchdog_captures(plan.output_dir)
    notes = plan.notes + _warnings(session, output, exit_code, trace) + output.watchdog
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
        stall=session.stall,
        snapshot=session.snapshot,
        marker_wait_s=session.marker_wait_s,
        partial=session.crashed or session.overran or session.collect_exit not in (0, None),
        messages=messages,
        msg_per_s=msg_per_s,
        progress=output.progress[-MAX_PROGRESS_LINES:],
        resources=output.resource_summary(),
        stress_exit_code=exit_code,
        stress_command=" ".join(plan.stress_argv),
        stress_output_dir=str(plan.output_dir),
        watchdog_captures=captures,
        warnings=notes,
        collect_output=session.collect_log.text(),
    )


def _watchdog_captures(output_dir: Path) -> list[str]:
    """Files the progress watchdog wrote under `<output>/watchdog/` (ProgressWatchdog.cs:125)."""
    folder = output_dir / "watchdog"
    if not folder.is_dir():
        return []
    return sorted(str(path) for path in folder.iterdir() if path.is_file())[:MAX_CAPTURES]


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
