"""`pta ask`: ask a performance question; Claude (or the offline planner) investigates."""

from __future__ import annotations

import argparse

from agent.commands._unavailable import register_placeholder


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `ask` command."""
    register_placeholder(
        subparsers,
        "ask",
        "ask a performance question; Claude (or the offline planner) investigates",
    )
