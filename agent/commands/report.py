"""`pta report`: open the latest saved report."""

from __future__ import annotations

import argparse

from agent.commands._unavailable import register_placeholder


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `report` command."""
    register_placeholder(subparsers, "report", "open the latest saved report")
