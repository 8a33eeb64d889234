"""`pta doctor`: check every prerequisite and print the fix for each."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agent.docker_env import docker_from_env


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `doctor` command."""
    parser = subparsers.add_parser(
        "doctor",
        help="check every prerequisite and print the fix for each",
        description=(
            "Checks dotnet, dotnet-trace, the Docker daemon, the Kafka broker, the stress "
            "project and its build; one line each with the fix. Exit 0 when all are met."
        ),
    )
    parser.add_argument(
        "--repo", type=Path, default=Path.cwd(), help="the target repository (default: .)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Prints one line per check; 0 when every check passed, 1 otherwise."""
    # Imported here: the checks pull in the Docker SDK, which is slow to import.
    from tools.doctor import run_checks

    repo = Path(args.repo).expanduser().resolve()
    if not repo.is_dir():
        print(f"pta doctor: repository {repo} is not a directory", file=sys.stderr)
        return 2
    checks = run_checks(repo, docker_factory=docker_from_env)
    if args.json:
        print(json.dumps({"ok": all(c.ok for c in checks), "checks": [vars(c) for c in checks]}))
    else:
        for check in checks:
            print(check.line())
    return 0 if all(check.ok for check in checks) else 1
