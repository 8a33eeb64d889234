"""`pta analyze`: analyse a .nettrace file natively (no .NET SDK, no model)."""

from __future__ import annotations

import argparse

from agent.commands._unavailable import register_placeholder


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `analyze` command."""
    register_placeholder(
        subparsers, "analyze", "analyse a .nettrace file natively (no .NET SDK, no model)"
    )
