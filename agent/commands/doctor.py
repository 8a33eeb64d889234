"""`pta doctor`: check every prerequisite and print the fix for each."""

from __future__ import annotations

import argparse

from agent.commands._unavailable import register_placeholder


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `doctor` command."""
    register_placeholder(
        subparsers, "doctor", "check every prerequisite and print the fix for each"
    )
