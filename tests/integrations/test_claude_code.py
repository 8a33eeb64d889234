"""The real Claude Code CLI accepts what `pta install-claude` writes.

`claude mcp list` must start our server from `.mcp.json` (the fallback install) and report it
connected, and Claude Code's own validator must accept the agent file with its agent-scoped
server. The npm package is installed once into a
cache outside the repository (``PTA_CLAUDE_CODE_DIR``, default ``/tmp/pta-claude-code``);
the tests skip, saying why, when npm is missing or the install fails.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from agent.cli import main
from tests.test_claude_adapter import sse_reply
from tools.catalog import default_registry

CACHE_DIR = Path(os.environ.get("PTA_CLAUDE_CODE_DIR", "/tmp/pta-claude-code"))
NPM_INSTALL_TIMEOUT_S = 240
PACKAGE = "@anthropic-ai/claude-code"
QUIET_ENV = {
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
}


def _working(binary: Path) -> bool:
    if not binary.exists():
        return False
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and "Claude Code" in done.stdout


@pytest.fixture(scope="session")
def claude_cli() -> Path:
    """The `claude` executable, installed from npm into the cache on first use."""
    binary = CACHE_DIR / "node_modules" / ".bin" / "claude"
    npm = shutil.which("npm")
    if npm is None and not _working(binary):
        pytest.skip(f"npm is not on PATH, so {PACKAGE} cannot be installed")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with (CACHE_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test runs install once
        if not _working(binary):
            assert npm is not None
            argv = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(CACHE_DIR), PACKAGE]
            try:
                done = subprocess.run(
                    argv, capture_output=True, text=True, timeout=NPM_INSTALL_TIMEOUT_S, check=False
                )
            except subprocess.TimeoutExpired:
                pytest.skip(f"npm install {PACKAGE} took over {NPM_INSTALL_TIMEOUT_S} s")
            if not _working(binary):
                pytest.skip(f"npm install {PACKAGE} failed: {(done.stdout + done.stderr)[-500:]}")
    return binary


def _claude(
    claude_cli: Path, *args: str, cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {"HOME": os.environ["HOME"], "PATH": os.environ.get("PATH", ""), **QUIET_ENV}
    env.update(extra_env or {})
    return subprocess.run(
        [str(claude_cli), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def installed_repo(tmp_path: Path) -> Path:
    """A repository after `pta install-claude`, trusted in the test HOME's `.claude.json`."""
    repo = (tmp_path / "repo").resolve()
    repo.mkdir()
    assert main(["install-claude", "--repo", str(repo)]) == 0
    trust = {"hasTrustDialogAccepted": True, "enableAllProjectMcpServers": True}
    settings = {"projects": {str(repo): trust}}
    home = Path(os.environ["HOME"])
    (home / ".claude.json").write_text(json.dumps(settings), encoding="utf-8")
    return repo


def test_claude_mcp_list_connects_to_pta_mcp(claude_cli: Path, installed_repo: Path) -> None:
    """With the .mcp.json fallback, `claude mcp list` shows `perf-trace-analyzer: … ✔ Connected`."""
    assert main(["install-claude", "--repo", str(installed_repo), "--mcp-json"]) == 0
    done = _claude(claude_cli, "mcp", "list", cwd=installed_repo)
    assert done.returncode == 0, done.stderr
    [line] = [ln for ln in done.stdout.splitlines() if ln.startswith("perf-trace-analyzer:")]
    assert "✔ Connected" in line, done.stdout
    assert f"mcp --repo {installed_repo}" in line


def test_claude_code_validates_the_agent_file(
    claude_cli: Path, installed_repo: Path, tmp_path: Path
) -> None:
    """Claude Code's strict validator accepts our agent file (with its inline, agent-scoped
    MCP server) and rejects a broken copy."""
    plugin = tmp_path / "plugin"
    (plugin / ".claude-plugin").mkdir(parents=True)
    (plugin / "agents").mkdir()
    manifest = {
        "name": "pta-check",
        "version": "0.0.1",
        "description": "agent file check",
        "author": {"name": "perf-trace-analyzer tests"},
    }
    (plugin / ".claude-plugin" / "plugin.json").write_text(json.dumps(manifest))
    agent = installed_repo / ".claude" / "agents" / "perf-trace-analyzer.md"
    assert '\nmcpServers:\n  - {"perf-trace-analyzer": ' in agent.read_text(encoding="utf-8")
    copy = Path(shutil.copy(agent, plugin / "agents" / agent.name))
    done = _claude(claude_cli, "plugin", "validate", "--strict", str(plugin), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    copy.write_text(copy.read_text(encoding="utf-8").replace("model: opus", 'model: "'))
    broken = _claude(claude_cli, "plugin", "validate", "--strict", str(plugin), cwd=tmp_path)
    assert broken.returncode == 1 and "perf-trace-analyzer.md" in broken.stdout


class _MessagesApi(BaseHTTPRequestHandler):
    """The Messages API as Claude Code calls it (POST /v1/messages, SSE replies, as in
    tests/test_claude_adapter.py): the main session's first turn delegates to our subagent, the
    subagent answers at once. Every request's tool names are recorded."""

    seen: ClassVar[list[tuple[bool, list[str]]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        tools = [str(t.get("name")) for t in body.get("tools", [])]
        subagent = "working as a Claude Code" in json.dumps(body.get("system", ""))
        type(self).seen.append((subagent, tools))
        last = (body.get("messages") or [{}])[-1].get("content")
        answered = isinstance(last, list) and any(b.get("type") == "tool_result" for b in last)
        delegate = next((t for t in ("Agent", "Task") if t in tools), None)
        if subagent or answered or delegate is None:
            reply = sse_reply([{"type": "text", "text": "done"}], "end_turn", usage={})
        else:
            call = {"subagent_type": "perf-trace-analyzer", "description": "probe", "prompt": "hi"}
            use = {"type": "tool_use", "id": "toolu_a1", "name": delegate, "input": call}
            reply = sse_reply([use], "tool_use", usage={})
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        self.wfile.write(reply)


def test_the_scoped_server_reaches_the_subagent_only(
    claude_cli: Path, installed_repo: Path
) -> None:
    """Real Claude Code, fake API: the main session's requests carry no perf-trace-analyzer
    tool; the subagent's request carries all of them (its MCP server started with it)."""
    _MessagesApi.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MessagesApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}"
        done = _claude(claude_cli, "-p", "use the perf-trace-analyzer agent to say hi",
                       cwd=installed_repo, extra_env={"ANTHROPIC_API_KEY": "test",
                                                      "ANTHROPIC_BASE_URL": base_url})  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stdout + done.stderr
    ours = {f"mcp__perf-trace-analyzer__{name}" for name in default_registry().names()}
    main_tools = [set(tools) for subagent, tools in _MessagesApi.seen if not subagent]
    sub_tools = [set(tools) for subagent, tools in _MessagesApi.seen if subagent]
    assert main_tools and sub_tools
    assert all(not tools & ours for tools in main_tools)
    assert all(ours <= tools for tools in sub_tools)
