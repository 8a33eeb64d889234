"""`pta batch`: run many requests from a file, one result line each."""

from __future__ import annotations

import argparse

from agent.commands._unavailable import register_placeholder


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `batch` command."""
    register_placeholder(subparsers, "batch", "run many requests from a file, one result line each")
