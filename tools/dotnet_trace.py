"""Finding (and, once per run, installing) the `dotnet-trace` global tool."""

from __future__ import annotations

import os
from pathlib import Path

from tools.base import ToolContext
from tools.errors import ToolError
from tools.process import INSTALL_HINTS, ExecutableNotFound, resolve_executable

INSTALL_ARGV = ("dotnet", "tool", "install", "--global", "dotnet-trace")
INSTALL_TIMEOUT_S = 300
_ATTEMPTED = "dotnet_trace_install_attempted"


def tool_env() -> dict[str, str]:
    """The environment with ~/.dotnet/tools on PATH (where global tools land)."""
    env = dict(os.environ)
    tools_dir = Path.home() / ".dotnet" / "tools"
    env["PATH"] = os.pathsep.join(p for p in (env.get("PATH", ""), str(tools_dir)) if p)
    env.setdefault("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
    env.setdefault("DOTNET_NOLOGO", "1")
    return env


def find_dotnet_trace() -> str | None:
    """The full path of dotnet-trace (PATH or ~/.dotnet/tools), or None."""
    try:
        return resolve_executable("dotnet-trace", tool_env())
    except ExecutableNotFound:
        return None


def ensure_dotnet_trace(ctx: ToolContext, notes: list[str]) -> str:
    """dotnet-trace's path; when missing, `dotnet tool install --global dotnet-trace` once a run.

    The install attempt and its result are appended to ``notes``.

    Raises:
        ToolError: still missing (the install failed, was tried before, or dotnet is missing).
    """
    found = find_dotnet_trace()
    if found is not None:
        return found
    if ctx.state.get(_ATTEMPTED):
        raise ToolError(f"dotnet-trace is not installed (install already tried). {_hint()}")
    ctx.state[_ATTEMPTED] = True
    ctx.progress("dotnet-trace missing: dotnet tool install --global dotnet-trace", None, None)
    try:
        result = ctx.runner(
            list(INSTALL_ARGV), cwd=ctx.repo, timeout=INSTALL_TIMEOUT_S, env=tool_env()
        )
    except ExecutableNotFound as exc:
        raise ToolError(f"dotnet-trace is not installed and cannot be installed: {exc}") from exc
    last = result.output_tail.strip().splitlines()[-1:] or ["(no output)"]
    notes.append(
        f"dotnet-trace was missing; `{' '.join(INSTALL_ARGV)}` exited {result.exit_code}: {last[0]}"
    )
    found = find_dotnet_trace()
    if found is None:
        raise ToolError(
            f"dotnet-trace is not installed; `{' '.join(INSTALL_ARGV)}` exited "
            f"{result.exit_code}:\n{result.output_tail[-1500:]}\n{_hint()}"
        )
    return found


def _hint() -> str:
    return INSTALL_HINTS["dotnet-trace"]
