"""`pta install-claude`: install the Claude Code subagent and register the MCP server."""

from __future__ import annotations

import argparse

from agent.commands._unavailable import register_placeholder


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `install-claude` command."""
    register_placeholder(
        subparsers, "install-claude", "install the Claude Code subagent and register the MCP server"
    )
