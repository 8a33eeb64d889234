"""`pta mcp`: the real MCP client lists and calls our typed tools, in process and over stdio."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from pydantic import BaseModel, ConfigDict, Field

from agent.mcp_server import build_server
from tools.base import RESULT_TEXT_MAX_CHARS, Tool, ToolContext, ToolRegistry
from tools.catalog import default_registry
from tools.errors import ToolError

CONTRACT_KEYS = {
    "trace",
    "events_by_provider",
    "cpu",
    "allocations",
    "contention",
    "deadlock",
    "gc",
}
TRACE_NAME = "filtrace-net10-contention.nettrace"


class SleepArgs(BaseModel):
    """Input of the test tool that runs a real child process."""

    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(description="How long the child sleeps.")
    pid_file: str = Field(description="Where the child writes its pid.")
    fail: bool = Field(False, description="Raise a ToolError instead of sleeping.")


class SleepResult(BaseModel):
    """Output of the test tool."""

    exit_code: int | None = Field(description="The child's exit status.")
    cancelled: bool = Field(description="Whether the runner saw a cancellation.")


def make_sleep_tool(results: list[SleepResult]) -> Tool:
    """A long tool like build/trace_collect: progress, then a child process via the runner."""

    def sleep_child(args: SleepArgs, ctx: ToolContext) -> SleepResult:
        """Sleep in a child process (test tool)."""
        if args.fail:
            raise ToolError("sleep_child refused on purpose")
        ctx.progress("starting the child", 0, 1)
        code = f"import os,time;open({args.pid_file!r},'w').write(str(os.getpid()));"
        code += f"time.sleep({args.seconds})"
        done = ctx.runner(
            [sys.executable, "-c", code], cwd=ctx.repo, timeout=120, cancel=ctx.cancel
        )
        result = SleepResult(exit_code=done.exit_code, cancelled=done.cancelled)
        results.append(result)
        return result

    return Tool.from_function(sleep_child, long_running=True)


class NoteArgs(BaseModel):
    """Input of the state test tool."""

    model_config = ConfigDict(extra="forbid")
    value: str | None = Field(None, description="Value to store; none reads it.")


class NoteResult(BaseModel):
    """Output of the state test tool."""

    value: str | None = Field(description="The stored value.")


def note(args: NoteArgs, ctx: ToolContext) -> NoteResult:
    """Store or read a note in ctx.state (test tool)."""
    if args.value is not None:
        ctx.state["note"] = args.value
    return NoteResult(value=ctx.state.get("note"))


def run_client(server: Any, body: Callable[[Client], Awaitable[None]], **kwargs: Any) -> None:
    """Connects the real MCP client to ``server`` and runs ``body`` with it."""

    async def main() -> None:
        async with Client(server, **kwargs) as client:
            await body(client)

    anyio.run(main)


def stdio_params(pta_argv: list[str], repo: Path) -> StdioServerParameters:
    """How an MCP client starts `pta mcp` for ``repo`` as a subprocess."""
    return StdioServerParameters(
        command=pta_argv[0], args=[*pta_argv[1:], "mcp", "--repo", str(repo)]
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty target repository."""
    path = tmp_path / "repo"
    path.mkdir()
    return path


@pytest.fixture
def trace_in_repo(traces_dir: Path, repo: Path) -> Path:
    """A real contention trace copied into the repository (relative path ``traces/…``)."""
    (repo / "traces").mkdir()
    return Path(shutil.copy(traces_dir / TRACE_NAME, repo / "traces" / TRACE_NAME))


def test_tools_list_matches_the_registry(repo: Path) -> None:
    """Every registry tool is listed with its name, description and input/output schemas."""
    registry = default_registry()
    server = build_server(registry, lambda: ToolContext(repo=repo))

    async def body(client: Client) -> None:
        listed = (await client.list_tools()).tools
        assert [t.name for t in listed] == registry.names()
        for mcp_tool, tool in zip(listed, registry, strict=True):
            assert mcp_tool.description == tool.description
            assert mcp_tool.input_schema == tool.input_schema()
            assert mcp_tool.output_schema == tool.output_schema()

    run_client(server, body)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_structured_result_and_errors_stay_errors(repo: Path, mode: str) -> None:
    """A success carries structured content; a ToolError, bad arguments, unknown tool: is_error."""
    results: list[SleepResult] = []
    server = build_server(ToolRegistry([make_sleep_tool(results)]), lambda: ToolContext(repo))
    pid_file = str(repo / "pid")

    async def body(client: Client) -> None:
        ok = await client.call_tool("sleep_child", {"seconds": 0, "pid_file": pid_file})
        assert not ok.is_error
        assert ok.structured_content == {"exit_code": 0, "cancelled": False}
        assert json.loads(ok.content[0].text) == ok.structured_content  # type: ignore[union-attr]
        refused = await client.call_tool(
            "sleep_child", {"seconds": 0, "pid_file": "x", "fail": True}
        )
        assert refused.is_error and "refused on purpose" in _text(refused)
        invalid = await client.call_tool("sleep_child", {"seconds": "soon", "pid_file": "x"})
        assert invalid.is_error and "Invalid arguments" in _text(invalid)
        unknown = await client.call_tool("no_such_tool", {})
        assert unknown.is_error and "not found" in _text(unknown)

    run_client(server, body, mode=mode)
    assert len(results) == 1


def test_progress_and_heartbeat_reach_the_client(repo: Path) -> None:
    """The tool's own progress and the keep-alive heartbeat arrive as increasing notifications."""
    server = build_server(
        ToolRegistry([make_sleep_tool([])]), lambda: ToolContext(repo), heartbeat_s=0.2
    )
    seen: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, message))

    async def body(client: Client) -> None:
        args = {"seconds": 1.2, "pid_file": str(repo / "pid")}
        result = await client.call_tool("sleep_child", args, progress_callback=on_progress)
        assert not result.is_error

    run_client(server, body, mode="legacy")
    messages = [m or "" for _, m in seen]
    assert any("starting the child" in m for m in messages)
    assert sum("sleep_child running for" in m for m in messages) >= 2
    values = [p for p, _ in seen]
    assert values == sorted(values) and len(set(values)) == len(values)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_cancellation_kills_the_child_process(repo: Path, mode: str) -> None:
    """Cancelling a call sets ctx.cancel: the runner kills the child and the tool ends quickly."""
    results: list[SleepResult] = []
    server = build_server(ToolRegistry([make_sleep_tool(results)]), lambda: ToolContext(repo))
    pid_file = repo / "pid"

    async def body(client: Client) -> None:
        with anyio.move_on_after(1.5) as scope:
            await client.call_tool("sleep_child", {"seconds": 60, "pid_file": str(pid_file)})
        assert scope.cancelled_caught

    started = time.monotonic()
    run_client(server, body, mode=mode)
    while not results and time.monotonic() - started < 15:
        time.sleep(0.05)
    assert time.monotonic() - started < 15
    assert results and results[0].cancelled
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_state_is_shared_between_calls(repo: Path) -> None:
    """Facts one call leaves in ctx.state (bootstrap, executable) are seen by the next call."""

    server = build_server(ToolRegistry([Tool.from_function(note)]), lambda: ToolContext(repo))

    async def body(client: Client) -> None:
        await client.call_tool("note", {"value": "localhost:9092"})
        again = await client.call_tool("note", {})
        assert again.structured_content == {"value": "localhost:9092"}

    run_client(server, body)


def test_memory_tools_in_process(repo: Path) -> None:
    """write_memory then read_memory (read and search) through the in-process client."""
    server = build_server(default_registry(), lambda: ToolContext(repo=repo))
    run_client(server, lambda client: _memory_calls(client, repo))


def test_analyze_trace_in_process(repo: Path, trace_in_repo: Path) -> None:
    """analyze_trace on a real trace through the in-process client: the contract keys, bounded."""
    server = build_server(default_registry(), lambda: ToolContext(repo=repo))
    run_client(server, lambda client: _analysis_call(client, repo, trace_in_repo))


def test_tools_over_stdio(repo: Path, trace_in_repo: Path, pta_argv: list[str]) -> None:
    """`pta mcp --repo` as a subprocess: the tool list, memory calls, analyze_trace on a trace."""

    async def body(client: Client) -> None:
        names = [t.name for t in (await client.list_tools()).tools]
        assert names == default_registry().names()
        await _memory_calls(client, repo)
        await _analysis_call(client, repo, trace_in_repo)

    run_client(stdio_params(pta_argv, repo), body)


def test_stdout_carries_only_the_protocol(repo: Path, pta_argv: list[str]) -> None:
    """Over a raw pipe, every line `pta mcp` writes to stdout is a JSON-RPC message."""
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": _init_params()},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "build"}},
    ]
    with subprocess.Popen(
        [*pta_argv, "mcp", "--repo", str(repo)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            by_id = _exchange(process, requests, wanted={1, 2, 3})
        finally:
            process.kill()
    assert by_id[1]["result"]["serverInfo"]["name"] == "perf-trace-analyzer"
    assert len(by_id[2]["result"]["tools"]) == len(default_registry())
    # A failing tool is a result with isError, not a protocol error. The empty repository has
    # no stress project: with the real SDK on PATH the build fails (MSB1009), without it
    # `dotnet` is missing; either way the build is an error, never a success.
    assert "result" in by_id[3]
    assert by_id[3]["result"]["isError"] is True


def _exchange(
    process: subprocess.Popen[str], requests: list[dict[str, Any]], wanted: set[int]
) -> dict[int, dict[str, Any]]:
    """Writes the requests, then reads stdout until every wanted id answered (90 s at most)."""
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("".join(json.dumps(r) + "\n" for r in requests))
    process.stdin.flush()
    by_id: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + 90
    while not wanted <= by_id.keys():
        ready, _, _ = select.select([process.stdout], [], [], max(deadline - time.monotonic(), 0))
        assert ready, f"no answer for ids {wanted - by_id.keys()} within 90 s"
        line = process.stdout.readline()
        assert line, "pta mcp closed stdout early"
        message = json.loads(line)  # anything but JSON-RPC on stdout fails here
        assert message.get("jsonrpc") == "2.0"
        if "id" in message:
            by_id[message["id"]] = message
    return by_id


async def _memory_calls(client: Client, repo: Path) -> None:
    written = await client.call_tool(
        "write_memory",
        {"path": "contention.md", "mode": "create", "content": "# Contention\n- lock in Flush\n"},
    )
    assert not written.is_error, _text(written)
    assert written.structured_content is not None
    assert written.structured_content["lines"] == 2
    assert {"path", "lines", "message"} <= written.structured_content.keys()
    memory_dir = repo / ".claude" / "agent-memory" / "perf-trace-analyzer"
    assert "lock in Flush" in (memory_dir / "contention.md").read_text(encoding="utf-8")
    read = await client.call_tool("read_memory", {"path": "contention.md"})
    assert not read.is_error and read.structured_content is not None
    assert "lock in Flush" in read.structured_content["content"]
    found = await client.call_tool("read_memory", {"query": "Flush"})
    assert found.structured_content and found.structured_content["matches"]
    escape = await client.call_tool("write_memory", {"path": "../x.md", "mode": "create"})
    assert escape.is_error and not (repo / ".claude" / "agent-memory" / "x.md").exists()


async def _analysis_call(client: Client, repo: Path, trace: Path) -> None:
    relative = str(trace.relative_to(repo))
    analysis = await client.call_tool("analyze_trace", {"trace_path": relative, "top": 5})
    assert not analysis.is_error, _text(analysis)
    assert analysis.structured_content is not None
    assert CONTRACT_KEYS <= analysis.structured_content.keys()
    assert len(_text(analysis)) <= RESULT_TEXT_MAX_CHARS
    assert len(json.dumps(analysis.structured_content)) < 100_000  # far below 25k tokens
    missing = await client.call_tool("analyze_trace", {"trace_path": "traces/missing.nettrace"})
    assert missing.is_error


def _text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


def _init_params() -> dict[str, Any]:
    return {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw-test", "version": "0"},
    }
