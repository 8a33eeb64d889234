"""`pta compare`: compare two traces: what got hotter, new allocations or contention."""

from __future__ import annotations

import argparse

from agent.commands._unavailable import register_placeholder


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `compare` command."""
    register_placeholder(
        subparsers, "compare", "compare two traces: what got hotter, new allocations or contention"
    )
