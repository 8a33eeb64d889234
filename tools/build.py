"""build: `dotnet build <stress project> -c Release`, compiler errors first, then the log tail."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.base import Tool, ToolContext
from tools.errors import ToolError
from tools.process import ProcessResult
from tools.target_config import inside_repo, load_target_config

MAX_ERRORS = 20
"""Most compiler errors listed (the first ones; later errors often follow from them)."""
LOG_TAIL_CHARS = 1500
FAILURE_TAIL_LINES = 12
SUCCESS_TAIL_LINES = 6

_ERROR = re.compile(
    r"\s*(?P<file>[^\s(][^(]*?)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>[A-Z]+\d+): "
    r"(?P<message>.*?)(?: \[[^\]]+\])?\s*"
)
_TOOL_ERROR = re.compile(r"\s*(?P<file>[^:]+?) : error (?P<code>[A-Z]+\d+): (?P<message>.*?)\s*")
"""``MSBUILD : error MSB1009: Project file does not exist.`` (no source position)."""
_WARNING = re.compile(r"\): warning [A-Z]+\d+: ")
_WARNING_SUMMARY = re.compile(r"^\s*(\d+) Warning\(s\)|with (\d+) warning\(s\)", re.IGNORECASE)

BUILD_ENV = {
    "MSBUILDDISABLENODEREUSE": "1",
    "DOTNET_CLI_TELEMETRY_OPTOUT": "1",
    "DOTNET_NOLOGO": "1",
    "DOTNET_SKIP_FIRST_TIME_EXPERIENCE": "1",
    "DOTNET_CLI_UI_LANGUAGE": "en",
}
"""No build server may outlive the build and keep our output pipe open; MSBuild's summary
lines (`Build succeeded.`, `N Warning(s)`) are localised otherwise (`N Warnung(en)` under
LANG=de_DE with SDK 10.0.401), and the summary is what the warning count is read from."""


class BuildArgs(BaseModel):
    """Input of build."""

    model_config = ConfigDict(extra="forbid")

    project: str | None = Field(
        default=None,
        description="Project folder or .csproj relative to the repo; default from the target "
        "config (tools/Dekaf.StressTests).",
    )
    configuration: Literal["Release", "Debug"] = Field(
        default="Release", description="Build configuration; profile Release builds."
    )
    timeout_s: int = Field(
        default=900, ge=30, le=3600, description="Seconds before the build is killed."
    )


class CompilerError(BaseModel):
    """One `error CS…` line of the build output."""

    file: str = Field(description="Source file as the compiler printed it.")
    line: int = Field(description="1-based line (0 when the error has no source position).")
    code: str = Field(description="Diagnostic id, e.g. CS1002.")
    message: str = Field(description="The compiler's message.")


class BuildResult(BaseModel):
    """A build that succeeded (a failed build is a tool error, never a result)."""

    ok: bool = Field(default=True, description="Always true: a failed build is a tool error.")
    duration_s: float = Field(description="Wall time of the build.")
    warnings: int = Field(description="Warning count.")
    executable: str | None = Field(
        default=None, description="The built stress executable, for trace_collect."
    )
    log_tail: str = Field(description="The last lines of the build output.")
    note: str | None = Field(default=None, description="Something to check before tracing.")


class _BuildLog:
    """Collects errors and warnings from every line (the runner keeps only the tail)."""

    def __init__(self) -> None:
        self.errors: dict[tuple[str, int, str, str], CompilerError] = {}
        self.warning_lines: set[str] = set()
        self.warning_summary: int | None = None

    def feed(self, line: str) -> None:
        if match := _ERROR.fullmatch(line) or _TOOL_ERROR.fullmatch(line):
            position = match.groupdict().get("line") or 0
            key = (match["file"], int(position), match["code"], match["message"])
            # MSBuild repeats every error in its summary; keep the first of each.
            if key not in self.errors and len(self.errors) < MAX_ERRORS:
                self.errors[key] = CompilerError(
                    file=key[0], line=key[1], code=key[2], message=key[3]
                )
        elif _WARNING.search(line):
            self.warning_lines.add(line.strip())
        elif match := _WARNING_SUMMARY.search(line):
            self.warning_summary = int(match.group(1) or match.group(2))

    @property
    def warnings(self) -> int:
        if self.warning_summary is not None:
            return self.warning_summary
        return len(self.warning_lines)


def build(args: BuildArgs, ctx: ToolContext) -> BuildResult:
    """Build the stress-test project with `dotnet build <project> -c Release` before tracing.
    Use it once per run before trace_collect, and again after the code changed; analysing an
    existing .nettrace needs no build. A failed build is an error whose text lists each
    compiler error once (file:line, code, message) and the end of the log: fix those, do not
    trace. On success it returns the duration, the warning count and the built executable.
    """
    config = load_target_config(ctx.repo)
    project = inside_repo(ctx.repo, args.project or config.stress_project)
    argv = ["dotnet", "build", str(project), "-c", args.configuration, "-nodeReuse:false"]
    env = {**os.environ, **BUILD_ENV}
    log = _BuildLog()
    ctx.progress(f"dotnet build {project.name} -c {args.configuration}", None, None)
    started = time.monotonic()
    result = ctx.runner(
        argv, cwd=ctx.repo, timeout=args.timeout_s, env=env, on_line=log.feed, cancel=ctx.cancel
    )
    duration = round(time.monotonic() - started, 2)
    if not result.ok:
        ctx.state[FAILED_BUILD_KEY] = FailedBuild(time.time(), _summary(result, log, ctx))
        raise ToolError(failure_text(result, log, ctx, timeout_s=args.timeout_s))
    stress_build = args.project is None or args.project == config.stress_project
    path = config.executable_path(ctx.repo, args.configuration)
    executable = str(path) if stress_build and path.is_file() else None
    if executable is not None:
        ctx.state["executable"] = executable
        ctx.state.pop(FAILED_BUILD_KEY, None)
    note = None
    if stress_build and executable is None:
        note = (
            f"the build succeeded but the stress executable is not at {path}; set "
            "stress_executable in .perf-trace-analyzer.toml before calling trace_collect"
        )
    return BuildResult(
        duration_s=duration,
        warnings=log.warnings,
        executable=executable,
        log_tail=_tail_without_diagnostics(result.output_tail, SUCCESS_TAIL_LINES),
        note=note,
    )


@dataclass(frozen=True)
class FailedBuild:
    """The last failed build of this run, as trace_collect checks it."""

    finished_at: float
    summary: str


FAILED_BUILD_KEY = "failed_build"
"""``ctx.state`` key of the last failed build (removed when the stress project builds)."""


def refuse_stale_executable(ctx: ToolContext, executable: Path) -> None:
    """Refuses to trace when this run's last build failed or ``executable`` predates it.

    A failed build leaves the previous binary in place: tracing it would measure code that is
    not the code on disk, without a word. A successful stress-project build clears the mark.

    Raises:
        ToolError: saying which build failed and what to call instead.
    """
    failed = ctx.state.get(FAILED_BUILD_KEY)
    if not isinstance(failed, FailedBuild):
        return
    # lstat: a link the build (re)creates counts from its own time, not its target's.
    built_at = executable.lstat().st_mtime if executable.is_file() else None
    when = time.strftime("%H:%M:%S", time.localtime(failed.finished_at))
    if built_at is None or built_at <= failed.finished_at:
        raise ToolError(
            f"Not traced: the build at {when} failed: {failed.summary}, so {executable} "
            "is missing or older than that build and does not hold the current code. Fix the "
            "compiler errors, then call build again; call trace_collect once build succeeds."
        )
    raise ToolError(
        f"Not traced: this run's last build (at {when}) failed: {failed.summary}. "
        f"{executable} was written after it, outside this run; call build so that the "
        "trace measures code this run built."
    )


def failure_text(result: ProcessResult, log: _BuildLog, ctx: ToolContext, *, timeout_s: int) -> str:
    """The tool error of a failed build: the compiler errors first, once each, then the log."""
    count = len(log.errors)
    if result.timed_out:
        head = (
            f"The build did not finish within timeout_s={timeout_s} s and was stopped; call "
            "build again with a larger timeout_s."
        )
    elif result.cancelled:
        head = "The build was cancelled before it finished; nothing was built."
    elif count == 0:
        head = (
            f"The build failed: dotnet build exited {result.exit_code} without a compiler "
            "error line; the end of its log says why."
        )
    else:
        plural = "s" if count > 1 else ""
        head = (
            f"The build failed with {count} error{plural}, so nothing was traced: "
            "fix the cause, then call build again."
        )
        if any(e.code == "MSB1009" for e in log.errors.values()):
            head += (
                " The project does not exist: give build a `project` (a folder or .csproj "
                "relative to the repository) or set stress_project in .perf-trace-analyzer.toml."
            )
    lines = [head]
    lines += [f"- {_where(e, ctx)}: {e.code}: {e.message}" for e in log.errors.values()]
    if count == MAX_ERRORS:
        lines.append(f"(only the first {MAX_ERRORS} errors are listed)")
    tail = _tail_without_diagnostics(result.output_tail, FAILURE_TAIL_LINES)
    if tail:
        lines += ["End of the build log (error and warning lines left out):", tail]
    return "\n".join(lines)


def _summary(result: ProcessResult, log: _BuildLog, ctx: ToolContext) -> str:
    """A few words on how the build failed, for trace_collect's refusal."""
    if result.timed_out:
        return "stopped at its timeout"
    if result.cancelled:
        return "cancelled"
    if not log.errors:
        return f"exit {result.exit_code}"
    first = next(iter(log.errors.values()))
    more = f" and {len(log.errors) - 1} more" if len(log.errors) > 1 else ""
    return f"{first.code} at {_where(first, ctx)}{more}"


def _where(error: CompilerError, ctx: ToolContext) -> str:
    path = Path(error.file)
    if path.is_absolute() and path.is_relative_to(ctx.repo):
        path = path.relative_to(ctx.repo)
    return f"{path.as_posix()}:{error.line}" if error.line else path.as_posix()


def _tail_without_diagnostics(output: str, max_lines: int) -> str:
    """The last lines of ``output`` without the error and warning lines listed elsewhere."""
    kept = [
        line.rstrip()
        for line in output.splitlines()
        if line.strip()
        and not (_ERROR.match(line) or _TOOL_ERROR.match(line) or _WARNING.search(line))
    ]
    return "\n".join(kept[-max_lines:])[-LOG_TAIL_CHARS:]


BUILD_TOOL = Tool.from_function(build, long_running=True)
