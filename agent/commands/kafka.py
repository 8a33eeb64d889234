"""`pta kafka stop`: remove the Kafka container perf-trace-analyzer started (never another)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.docker_env import docker_from_env


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `kafka` command."""
    parser = subparsers.add_parser("kafka", help="manage the Kafka broker the tool started (stop)")
    actions = parser.add_subparsers(dest="kafka_action", metavar="ACTION", required=True)
    stop = actions.add_parser(
        "stop",
        help="remove the Kafka container we started",
        description="Removes containers labelled as started by perf-trace-analyzer; a broker "
        "or container started any other way is left alone.",
    )
    stop.add_argument(
        "--repo", type=Path, default=Path.cwd(), help="the target repository (default: .)"
    )
    stop.set_defaults(run=run_stop)


def run_stop(args: argparse.Namespace) -> int:
    """Removes our containers; 0 also when there was none to remove."""
    # Imported here: the Docker SDK takes a noticeable time to import.
    from tools.base import ToolContext
    from tools.errors import ToolError
    from tools.kafka import docker_client, stop_our_kafka

    ctx = ToolContext(repo=Path(args.repo).expanduser().resolve(), docker_factory=docker_from_env)
    try:
        removed = stop_our_kafka(docker_client(ctx))
    except ToolError as exc:
        print(f"pta kafka stop: {exc}", file=sys.stderr)
        return 1
    if removed:
        print(f"removed {', '.join(removed)}")
    else:
        print("no Kafka container started by perf-trace-analyzer is present")
    return 0
