"""The ``pta`` / ``perf-trace-analyzer`` command line: one sub-command module per way in."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Sequence

from agent.commands import COMMAND_MODULES
from agent.interrupts import SignalGuard, exit_status, find_interrupt
from tools.process import stop_all_process_groups

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
  pta compare --rev main --repo ~/src/Dekaf
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
    """Runs one command; returns the exit status (0 ok, 1 run failed, 2 usage error).

    SIGINT, SIGTERM and SIGHUP end any command the same way: the run unwinds (its transcript
    gets its end record), every child process group still running is stopped, and the status
    is 128 + the signal number (130, 143, 129).
    """
    with SignalGuard():
        try:
            return _run_command(argv)
        except BaseException as error:
            interrupt = find_interrupt(error)
            if interrupt is None:
                raise
            status = _stop_children(interrupt)
    if _blocking_threads():
        # A library thread left blocked (the MCP server's reader of standard input) would keep
        # the interrupted program alive forever; our children are stopped, nothing is pending.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(status)
    return status


def _stop_children(interrupt: KeyboardInterrupt) -> int:
    stopped = stop_all_process_groups()
    name = signal.Signals(exit_status(interrupt) - 128).name
    detail = f"; stopped {stopped} child process group(s)" if stopped else ""
    print(f"interrupted ({name}){detail}", file=sys.stderr)
    return exit_status(interrupt)


def _blocking_threads() -> list[threading.Thread]:
    """Threads the interpreter would wait for at exit (not daemons, still running)."""
    main = threading.main_thread()
    return [t for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()]


def _run_command(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
