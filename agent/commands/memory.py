"""`pta memory`: show, search or locate the project memory."""

from __future__ import annotations

import argparse

from agent.commands._unavailable import register_placeholder


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `memory` command."""
    register_placeholder(subparsers, "memory", "show, search or locate the project memory")
