"""`pta install-claude --check`: is the Claude Code setup of a repository complete and working?

Checks the agent file (present, frontmatter parses as YAML with the expected fields and tool
names), ``.mcp.json`` (valid JSON with our server entry whose command exists), and that the
configured command really starts an MCP server that lists the tools the agent file names.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import yaml
from mcp import Client, StdioServerParameters

from agent.claude_install import (
    AGENT_NAME,
    AGENT_RELATIVE,
    MCP_RELATIVE,
    MEMORY_TOOLS,
    SERVER_NAME,
    is_generated,
    mcp_tool_names,
)
from tools.base import ToolRegistry

SERVER_START_TIMEOUT_S = 60.0
"""How long the configured MCP server may take to start and list its tools."""

_FRONTMATTER_RE = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)


@dataclass(frozen=True)
class Check:
    """One verified fact: what was checked, whether it holds, and the detail a user needs."""

    name: str
    ok: bool
    detail: str


def parse_frontmatter(text: str) -> dict[str, Any]:
    """The YAML frontmatter of a Markdown agent file as a mapping.

    Raises:
        ValueError: there is no frontmatter block, or it is not a YAML mapping.
    """
    match = _FRONTMATTER_RE.match(text)
    if match is None:
        raise ValueError("no YAML frontmatter between --- lines at the top")
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ValueError(f"frontmatter is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("frontmatter is not a YAML mapping")
    return data


def check_install(repo: Path, registry: ToolRegistry) -> list[Check]:
    """Every check of the setup in ``repo``, in order; later checks are skipped when blocked.

    The server entry is the one the agent file defines inline, else the ``.mcp.json`` one.
    """
    checks = [_check_agent_file(repo, registry)]
    scoped = _scoped_entry(repo)
    entry_check, entry = _check_entry(scoped) if scoped is not None else _check_mcp_json(repo)
    checks.append(entry_check)
    if entry is not None:
        checks.append(_check_server(entry, registry))
    return checks


def _check_agent_file(repo: Path, registry: ToolRegistry) -> Check:
    path = repo / AGENT_RELATIVE
    name = f"agent file {AGENT_RELATIVE}"
    if not path.is_file():
        return Check(name, False, "missing: run `pta install-claude`")
    text = path.read_text(encoding="utf-8")
    try:
        meta = parse_frontmatter(text)
    except ValueError as exc:
        return Check(name, False, str(exc))
    problems = _frontmatter_problems(meta, registry)
    if problems:
        return Check(name, False, "; ".join(problems))
    edited = "" if is_generated(text) else " (edited by hand)"
    return Check(name, True, f"frontmatter ok, {len(registry) + len(MEMORY_TOOLS)} tools{edited}")


def _frontmatter_problems(meta: dict[str, Any], registry: ToolRegistry) -> list[str]:
    expected = {"name": AGENT_NAME, "model": "opus", "memory": "project"}
    problems = [
        f"{key} is {meta.get(key)!r}, expected {value!r}"
        for key, value in expected.items()
        if meta.get(key) != value
    ]
    if not isinstance(meta.get("description"), str) or not meta["description"].strip():
        problems.append("description is missing")
    tools = {t.strip() for t in str(meta.get("tools", "")).split(",") if t.strip()}
    missing = [t for t in [*mcp_tool_names(registry), *MEMORY_TOOLS] if t not in tools]
    if missing:
        problems.append(f"tools lacks {', '.join(missing)}")
    return problems


def _scoped_entry(repo: Path) -> dict[str, Any] | None:
    """Our server as the agent file's ``mcpServers`` defines it inline, or None."""
    try:
        meta = parse_frontmatter((repo / AGENT_RELATIVE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    servers = meta.get("mcpServers")
    for item in servers if isinstance(servers, list) else []:
        if isinstance(item, dict) and isinstance(item.get(SERVER_NAME), dict):
            entry: dict[str, Any] = item[SERVER_NAME]
            return entry
    return None


def _check_entry(entry: dict[str, Any]) -> tuple[Check, dict[str, Any] | None]:
    name = f"agent-scoped MCP server {SERVER_NAME!r}"
    command = entry.get("command")
    if not isinstance(command, str) or shutil.which(command) is None:
        return Check(name, False, f"command {command!r} is not an executable"), None
    args = entry.get("args", [])
    return Check(name, True, " ".join([command, *map(str, args)])), entry


def _check_mcp_json(repo: Path) -> tuple[Check, dict[str, Any] | None]:
    path = repo / MCP_RELATIVE
    name = f"{MCP_RELATIVE} entry {SERVER_NAME!r}"
    if not path.is_file():
        return Check(name, False, "missing: run `pta install-claude`"), None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        return Check(name, False, f"not valid JSON: {exc}"), None
    servers = document.get("mcpServers") if isinstance(document, dict) else None
    entry = servers.get(SERVER_NAME) if isinstance(servers, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("command"), str):
        return Check(name, False, "no server entry with a command"), None
    command = entry["command"]
    if shutil.which(command) is None:
        return Check(name, False, f"command {command!r} is not an executable"), None
    args = entry.get("args", [])
    return Check(name, True, " ".join([command, *map(str, args)])), entry


def _check_server(entry: dict[str, Any], registry: ToolRegistry) -> Check:
    name = "MCP server starts and lists its tools"
    params = StdioServerParameters(
        command=entry["command"],
        args=[str(a) for a in entry.get("args", [])],
        env={str(k): str(v) for k, v in entry.get("env", {}).items()} or None,
    )
    try:
        listed = anyio.run(_list_tool_names, params)
    except Exception as exc:  # any failure to start or talk is what the check reports
        return Check(name, False, f"{type(exc).__name__}: {exc}")
    missing = [n for n in registry.names() if n not in listed]
    if missing:
        return Check(name, False, f"server lacks tools: {', '.join(missing)}")
    return Check(name, True, f"{len(listed)} tools listed")


async def _list_tool_names(params: StdioServerParameters) -> list[str]:
    with anyio.fail_after(SERVER_START_TIMEOUT_S):
        async with Client(params) as client:
            return [tool.name for tool in (await client.list_tools()).tools]
