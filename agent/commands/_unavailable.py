"""A placeholder for commands whose issue has not landed: a clear message, exit status 2."""

from __future__ import annotations

import argparse
import sys


def not_yet_available(name: str) -> argparse.Namespace:
    """Defaults for a sub-parser whose command is not built yet."""

    def run(args: argparse.Namespace) -> int:
        print(f"pta {name}: not yet available in this version.", file=sys.stderr)
        return 2

    return argparse.Namespace(run=run)


def register_placeholder(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
) -> None:
    """Registers ``name`` as a command that says it is not yet available."""
    parser = subparsers.add_parser(name, help=f"{help_text} (not yet available)")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(**vars(not_yet_available(name)))
