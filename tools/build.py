"""build: `dotnet build <stress project> -c Release`, compiler errors first, then the log tail."""

from __future__ import annotations

import os
import re
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.base import Tool, ToolContext
from tools.target_config import inside_repo, load_target_config

MAX_ERRORS = 20
LOG_TAIL_CHARS = 3000

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
    """How the build went."""

    ok: bool = Field(description="True when dotnet build exited 0.")
    duration_s: float = Field(description="Wall time of the build.")
    warnings: int = Field(description="Warning count.")
    errors: list[CompilerError] = Field(description="Compiler errors, first ones first.")
    log_tail: str = Field(description="The end of the build output.")
    executable: str | None = Field(
        default=None, description="The built stress executable, if present."
    )
    exit_code: int | None = Field(default=None, description="dotnet's exit status.")
    timed_out: bool = Field(default=False, description="Killed at the timeout.")


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
    """Build the stress-test project with `dotnet build <project> -c Release`.
    Returns ok, duration, warning count, the compiler errors (file, line, code, message) first,
    then the log tail, and the path of the built stress executable for trace_collect.
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
    executable = None
    if result.ok:
        if args.project is None or args.project == config.stress_project:
            path = config.executable_path(ctx.repo, args.configuration)
            if path.is_file():
                executable = str(path)
                ctx.state["executable"] = executable
    return BuildResult(
        ok=result.ok,
        duration_s=round(time.monotonic() - started, 2),
        warnings=log.warnings,
        errors=list(log.errors.values()),
        log_tail=result.output_tail[-LOG_TAIL_CHARS:],
        executable=executable,
        exit_code=result.exit_code,
        timed_out=result.timed_out,
    )


BUILD_TOOL = Tool.from_function(build, long_running=True)
