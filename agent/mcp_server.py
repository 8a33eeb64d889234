"""The MCP server: every tool of a registry, served over MCP (stdio) for Claude Code.

The server is built from a :class:`~tools.base.ToolRegistry` and a factory for the
:class:`~tools.base.ToolContext`, so Claude Code (or any MCP client) calls exactly the typed
tools the CLI agent uses: same names, descriptions and input schemas, the pydantic output
models as structured output. Every call goes through :meth:`ToolRegistry.dispatch`, so a
failing tool is an ``isError`` result, never a protocol error.

Tools are blocking, so each call runs in a worker thread. The thread's ``ctx.progress`` sends
MCP progress notifications, a heartbeat notification goes out every ``heartbeat_s`` while the
tool runs (clients reset their ~60 s request timeout on progress), and an MCP cancellation
sets ``ctx.cancel`` so the process runner kills the tool's processes.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
import mcp_types as types
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.stdio import stdio_server

from tools.base import ToolContext, ToolOutcome, ToolRegistry

log = logging.getLogger(__name__)

SERVER_NAME = "perf-trace-analyzer"
"""The server's name; Claude Code names its tools ``mcp__perf-trace-analyzer__<tool>``."""

HEARTBEAT_S = 10.0
"""Interval of the keep-alive progress notification while a tool runs."""

CANCEL_GRACE_S = 15.0
"""How long a cancelled call waits for its tool to stop (the runner kills the process group)."""

INSTRUCTIONS = (
    "Typed tools of perf-trace-analyzer, an expert .NET performance engineer: start Kafka, "
    "build the stress tests, trace them with dotnet-trace, analyse traces natively (CPU, "
    "allocations, contention, deadlocks), map frames to C# source, check hot-path rules, and "
    "read/write the project memory. Results are bounded; long tools report progress."
)

ContextFactory = Callable[[], ToolContext]
"""Builds the context shared by the calls of one server (its ``state`` carries facts)."""


def server_version() -> str:
    """The installed perf-trace-analyzer version (``0`` when not installed)."""
    try:
        return importlib.metadata.version("perf-trace-analyzer")
    except importlib.metadata.PackageNotFoundError:
        return "0"


def mcp_tools(registry: ToolRegistry) -> list[types.Tool]:
    """The registry's tools as MCP tool definitions (input and output schemas included)."""
    return [
        types.Tool(
            name=tool.name,
            description=tool.description,
            input_schema=tool.input_schema(),
            output_schema=tool.output_schema(),
        )
        for tool in registry
    ]


def call_result(outcome: ToolOutcome) -> types.CallToolResult:
    """An MCP result for one dispatched call: the text and, on success, the same JSON object.

    Both carry what the model sees, cut to the result budget: Claude Code hands the model
    the structured content (and drops the text), other clients the text.
    """
    content: list[types.ContentBlock] = [types.TextContent(type="text", text=outcome.text)]
    if outcome.is_error or outcome.structured is None:
        return types.CallToolResult(content=content, is_error=True)
    return types.CallToolResult(
        content=content, structured_content=outcome.structured, is_error=False
    )


class _ProgressSender:
    """Sends the progress notifications of one call with a strictly increasing value."""

    def __init__(self, rctx: ServerRequestContext[Any], tool_name: str) -> None:
        self._rctx = rctx
        self._tool_name = tool_name
        self._count = 0
        self._started = time.monotonic()
        self.last_message = ""

    async def send(self, message: str, done: float | None, total: float | None) -> None:
        """One notification; ``done/total`` go into the message (the value only ever grows)."""
        self.last_message = message
        if done is not None:
            message = f"{message} ({done:g}/{total:g})" if total else f"{message} ({done:g})"
        await self._notify(message)

    async def heartbeat(self, interval_s: float) -> None:
        """Sends a keep-alive notification every ``interval_s`` until cancelled."""
        while True:
            await anyio.sleep(interval_s)
            elapsed = time.monotonic() - self._started
            note = f": {self.last_message}" if self.last_message else ""
            await self._notify(f"{self._tool_name} running for {elapsed:.0f} s{note}")

    async def _notify(self, message: str) -> None:
        # Only the event loop runs this (tool threads come through from_thread), so the
        # counter needs no lock. A lost notification (closed connection) never fails a call.
        self._count += 1
        try:
            await self._rctx.session.report_progress(self._count, None, message)
        except Exception:
            log.debug("progress notification not sent", exc_info=True)


def _thread_progress(
    sender: _ProgressSender, token: anyio.lowlevel.EventLoopToken
) -> Callable[[str, float | None, float | None], None]:
    """A ``ctx.progress`` callable for the tool's thread that never fails the tool."""

    def progress(message: str, done: float | None, total: float | None) -> None:
        try:
            anyio.from_thread.run(sender.send, message, done, total, token=token)
        except Exception:  # a lost progress notification must not fail the tool
            log.debug("progress notification dropped", exc_info=True)

    return progress


class ToolServer:
    """The registry served over MCP; one shared context per server (one client on stdio).

    Attributes:
        registry: the tools offered.
        context: the base context; each call gets a copy with its own progress and cancel.
        heartbeat_s: interval of the keep-alive progress notification.
    """

    def __init__(
        self, registry: ToolRegistry, context_factory: ContextFactory, *, heartbeat_s: float
    ) -> None:
        self.registry = registry
        self.context = context_factory()
        self.heartbeat_s = heartbeat_s

    async def list_tools(
        self, rctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        """``tools/list``: every tool, in registry order, on one page."""
        return types.ListToolsResult(tools=mcp_tools(self.registry))

    async def call_tool(
        self, rctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        """``tools/call``: dispatches in a worker thread with progress and cancellation."""
        sender = _ProgressSender(rctx, params.name)
        ctx = dataclasses.replace(
            self.context,
            progress=_thread_progress(sender, anyio.lowlevel.current_token()),
            cancel=threading.Event(),
        )
        outcome = await self._run(params.name, params.arguments or {}, ctx, sender)
        return call_result(outcome)

    async def _run(
        self, name: str, arguments: Mapping[str, Any], ctx: ToolContext, sender: _ProgressSender
    ) -> ToolOutcome:
        # A thread of our own rather than an anyio worker: it always starts, so a cancelled
        # call can wait for it to stop (an abandoned anyio worker may never run at all).
        done = anyio.Event()
        outcomes: list[ToolOutcome] = []
        token = anyio.lowlevel.current_token()

        def work() -> None:
            try:
                if not ctx.cancel.is_set():
                    outcomes.append(self.registry.dispatch(name, arguments, ctx))
            finally:
                try:
                    anyio.from_thread.run_sync(done.set, token=token)
                except Exception:  # the server is shutting down: nobody waits any more
                    log.debug("tool %s finished after the server stopped", name)

        thread = threading.Thread(target=work, name=f"pta-tool-{name}", daemon=True)
        async with anyio.create_task_group() as group:
            group.start_soon(sender.heartbeat, self.heartbeat_s)
            thread.start()
            try:
                await done.wait()
            except anyio.get_cancelled_exc_class():
                await _stop_cancelled(name, ctx, thread)
                raise
            group.cancel_scope.cancel()
        return outcomes[0]


async def _stop_cancelled(name: str, ctx: ToolContext, thread: threading.Thread) -> None:
    """Tells the tool to stop (its runner kills the processes) and waits for it, shielded."""
    log.info("tool %s cancelled by the client; stopping it", name)
    ctx.cancel.set()
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(thread.join, CANCEL_GRACE_S)
    if thread.is_alive():
        log.warning("tool %s did not stop within %.0f s of its cancellation", name, CANCEL_GRACE_S)


def build_server(
    registry: ToolRegistry,
    context_factory: ContextFactory,
    *,
    heartbeat_s: float = HEARTBEAT_S,
) -> Server[Any]:
    """A low-level MCP server offering every tool of ``registry``.

    Args:
        registry: the tools (``tools.catalog.default_registry()`` in production).
        context_factory: builds the context the calls share (repo, runner, state).
        heartbeat_s: interval of the keep-alive progress notification.
    """
    tools = ToolServer(registry, context_factory, heartbeat_s=heartbeat_s)
    return Server(
        SERVER_NAME,
        version=server_version(),
        instructions=INSTRUCTIONS,
        on_list_tools=tools.list_tools,
        on_call_tool=tools.call_tool,
    )


async def serve_stdio(server: Server[Any]) -> None:
    """Serves ``server`` on standard input/output until the client closes the connection.

    While serving, the stdio transport points file descriptor 1 at stderr, so stray prints of
    libraries or child processes never corrupt the protocol stream.
    """
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
