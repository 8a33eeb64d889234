"""`pta mcp`: serve the typed tools over MCP (stdio) for Claude Code."""

from __future__ import annotations

import argparse

from agent.commands._unavailable import register_placeholder


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `mcp` command."""
    register_placeholder(
        subparsers, "mcp", "serve the typed tools over MCP (stdio) for Claude Code"
    )
