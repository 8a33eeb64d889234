"""The ``pta`` / ``perf-trace-analyzer`` command line: one sub-command module per way in."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from agent.commands import COMMAND_MODULES

DESCRIPTION = """\
perf-trace-analyzer: an expert .NET performance engineer on the command line.
It starts Kafka, builds the stress tests, traces them with dotnet-trace, analyses the
trace and reports hot paths, allocations, contention/deadlocks and recommendations.
"""

EPILOG = """\
examples:
  pta ask "is there a deadlock in flush?" --repo ~/src/Dekaf
  pta analyze trace.nettrace --json
  pta compare before.nettrace after.nettrace
  pta memory show --repo ~/src/Dekaf
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="pta",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; returns the exit status (0 ok, 1 run failed, 2 usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
