"""Finding (and, once per run, installing) the .NET diagnostics global tools.

`dotnet-trace` records traces and `dotnet-stack` takes stack snapshots; both are installed
with `dotnet tool install --global NAME` into ~/.dotnet/tools when missing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from tools.base import ToolContext
from tools.errors import ToolError
from tools.process import INSTALL_HINTS, ExecutableNotFound, resolve_executable

GlobalTool = Literal["dotnet-trace", "dotnet-stack"]
"""The diagnostics tools this project runs."""

INSTALL_ARGV = ("dotnet", "tool", "install", "--global", "dotnet-trace")
INSTALL_TIMEOUT_S = 300


def install_argv(name: GlobalTool) -> tuple[str, ...]:
    """`dotnet tool install --global NAME`."""
    return ("dotnet", "tool", "install", "--global", name)


def tool_env() -> dict[str, str]:
    """The environment with ~/.dotnet/tools on PATH (where global tools land)."""
    env = dict(os.environ)
    tools_dir = Path.home() / ".dotnet" / "tools"
    env["PATH"] = os.pathsep.join(p for p in (env.get("PATH", ""), str(tools_dir)) if p)
    env.setdefault("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
    env.setdefault("DOTNET_NOLOGO", "1")
    return env


def find_global_tool(name: GlobalTool) -> str | None:
    """The full path of ``name`` (PATH or ~/.dotnet/tools), or None."""
    try:
        return resolve_executable(name, tool_env())
    except ExecutableNotFound:
        return None


def find_dotnet_trace() -> str | None:
    """The full path of dotnet-trace (PATH or ~/.dotnet/tools), or None."""
    return find_global_tool("dotnet-trace")


def ensure_global_tool(name: GlobalTool, ctx: ToolContext, notes: list[str]) -> str:
    """``name``'s path; when missing, `dotnet tool install --global NAME` once a run.

    The install attempt and its result are appended to ``notes``.

    Raises:
        ToolError: still missing (the install failed, was tried before, or dotnet is missing).
    """
    found = find_global_tool(name)
    if found is not None:
        return found
    attempted = f"{name.replace('-', '_')}_install_attempted"
    if ctx.state.get(attempted):
        raise ToolError(f"{name} is not installed (install already tried). {_hint(name)}")
    ctx.state[attempted] = True
    argv = install_argv(name)
    ctx.progress(f"{name} missing: {' '.join(argv)}", None, None)
    try:
        result = ctx.runner(list(argv), cwd=ctx.repo, timeout=INSTALL_TIMEOUT_S, env=tool_env())
    except ExecutableNotFound as exc:
        raise ToolError(f"{name} is not installed and cannot be installed: {exc}") from exc
    last = result.output_tail.strip().splitlines()[-1:] or ["(no output)"]
    notes.append(f"{name} was missing; `{' '.join(argv)}` exited {result.exit_code}: {last[0]}")
    found = find_global_tool(name)
    if found is None:
        raise ToolError(
            f"{name} is not installed; `{' '.join(argv)}` exited "
            f"{result.exit_code}:\n{result.output_tail[-1500:]}\n{_hint(name)}"
        )
    return found


def ensure_dotnet_trace(ctx: ToolContext, notes: list[str]) -> str:
    """dotnet-trace's path, installed once a run when missing (see :func:`ensure_global_tool`)."""
    return ensure_global_tool("dotnet-trace", ctx, notes)


def _hint(name: GlobalTool) -> str:
    return INSTALL_HINTS[name]
