"""`pta kafka`: manage the Kafka broker the tool started (stop)."""

from __future__ import annotations

import argparse

from agent.commands._unavailable import register_placeholder


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `kafka` command."""
    register_placeholder(subparsers, "kafka", "manage the Kafka broker the tool started (stop)")
