"""`pta mcp`: serve the typed tools over MCP (stdio) for Claude Code."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from agent.docker_env import docker_from_env
from tools.base import ToolContext


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `mcp` command."""
    parser = subparsers.add_parser(
        "mcp",
        help="serve the typed tools over MCP (stdio) for Claude Code",
        description=(
            "A stdio MCP server exposing every perf-trace-analyzer tool. Standard output "
            "carries only the protocol; logs go to standard error. Claude Code starts it "
            "from .mcp.json (see `pta install-claude`)."
        ),
    )
    parser.add_argument(
        "--repo",
        type=Path,
        default=Path.cwd(),
        help="the target repository (default: the current directory)",
    )
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="interval of the keep-alive progress notification while a tool runs (default 10)",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="log level on standard error (default WARNING)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serves until the client disconnects."""
    # Imported here: every `pta` start imports all command modules, and the SDK is heavy.
    import anyio

    from agent.mcp_server import build_server, serve_stdio
    from tools.catalog import default_registry

    repo = Path(args.repo).expanduser().resolve()
    if not repo.is_dir():
        print(f"pta mcp: repository {repo} is not a directory", file=sys.stderr)
        return 2
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level,
        format="pta mcp %(levelname)s %(name)s: %(message)s",
    )

    def context() -> ToolContext:
        return ToolContext(repo=repo, docker_factory=docker_from_env)

    if args.heartbeat <= 0:
        print("pta mcp: --heartbeat must be positive", file=sys.stderr)
        return 2
    server = build_server(default_registry(), context, heartbeat_s=args.heartbeat)
    anyio.run(serve_stdio, server)
    return 0
