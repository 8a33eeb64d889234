"""`pta report open`: print (and optionally open) the newest saved HTML report."""

from __future__ import annotations

import argparse
import sys
import webbrowser
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `report` command with its `open` action."""
    parser = subparsers.add_parser(
        "report",
        help="find the newest saved HTML report",
        description="Reports (HTML with a flame graph, folded stacks, speedscope) are saved "
        "under <repo>/.perf-trace-analyzer/. `pta report open` prints the newest one's path.",
    )
    actions = parser.add_subparsers(dest="report_action", metavar="ACTION")
    action = actions.add_parser("open", help="print the path of the newest HTML report")
    action.add_argument(
        "--repo", type=Path, default=Path.cwd(), help="the target repository (default: cwd)"
    )
    action.add_argument(
        "--browser", action="store_true", help="also open it in the default web browser"
    )
    parser.set_defaults(run=execute)


def execute(args: argparse.Namespace) -> int:
    """Prints the newest report's path; 1 when there is none, 2 without an action."""
    from tools.report_html import find_latest_report

    if getattr(args, "report_action", None) != "open":
        print("pta report: give an action: open [--repo PATH] [--browser]", file=sys.stderr)
        return 2
    repo = args.repo.expanduser().resolve()
    latest = find_latest_report(repo)
    if latest is None:
        print(
            f"pta report: no HTML report under {repo / '.perf-trace-analyzer'}; "
            "run `pta analyze TRACE --format html` or `pta ask …` first.",
            file=sys.stderr,
        )
        return 1
    print(latest)
    if args.browser:
        webbrowser.open(latest.as_uri())
    return 0
