"""`pta analyze`: analyse a .nettrace file natively (no .NET SDK, no model)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn

from tools.analysis.analyze import analyze_trace_file
from tools.analysis.folded import folded_stacks, format_folded
from tools.analysis.markdown import render_markdown
from tools.nettrace.model import TraceFormatError

BIG_FILE_BYTES = 20_000_000
"""Files larger than this get a progress bar on stderr."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `analyze` command."""
    parser = subparsers.add_parser(
        "analyze",
        help="analyse a .nettrace file natively (no .NET SDK, no model)",
        description="Analyse a .nettrace/.netperf file (or a .zip holding one): hot paths, "
        "allocations, contention/deadlocks, GC. Markdown by default.",
    )
    parser.add_argument("trace", help="the trace file")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--top", type=positive_int, default=20, help="length of top lists (20)")
    parser.add_argument(
        "--folded", action="store_true", help="print folded stacks (frame;…;leaf ns) instead"
    )
    parser.add_argument(
        "--managed-only", action="store_true", help="with --folded: count only managed time"
    )
    parser.add_argument(
        "--messages", type=positive_int, help="messages in the traced run (per-message allocations)"
    )
    parser.add_argument(
        "--target-prefix", default="Dekaf.", help="namespace prefix of the code under study"
    )
    parser.set_defaults(run=run)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def fail(command: str, path: str, problem: object) -> int:
    """Prints the one-line error for an unreadable trace; exit status 2."""
    text = " ".join(str(problem).split())
    print(f"pta {command}: {path}: {text}", file=sys.stderr)
    return 2


def check_trace(command: str, path: str) -> int | None:
    """None when ``path`` is a non-empty file, else the exit status after the error line."""
    file = Path(path)
    if not file.exists():
        return fail(command, path, "no such file")
    if not file.is_file():
        return fail(command, path, "not a file")
    if file.stat().st_size == 0:
        return fail(command, path, "empty file, not a trace")
    return None


@contextmanager
def read_progress(path: str) -> Iterator[Callable[[int], None] | None]:
    """A stderr progress bar (MB read) for big files; None for small ones."""
    size = Path(path).stat().st_size
    if size < BIG_FILE_BYTES:
        yield None
        return
    columns = (SpinnerColumn(), TextColumn("reading"), BarColumn(), DownloadColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("read", total=size)
        yield lambda done: bar.update(task, completed=done)


def run(args: argparse.Namespace) -> int:
    """Runs `pta analyze`."""
    if args.managed_only and not args.folded:
        print("pta analyze: --managed-only needs --folded", file=sys.stderr)
        return 2
    status = check_trace("analyze", args.trace)
    if status is not None:
        return status
    try:
        if args.folded:
            lines = folded_stacks(args.trace, managed_only=args.managed_only)
            sys.stdout.write(format_folded(lines))
            return 0
        with read_progress(args.trace) as progress:
            analysis = analyze_trace_file(
                args.trace,
                top=args.top,
                messages=args.messages,
                target_prefix=args.target_prefix,
                progress=progress,
            )
    except (TraceFormatError, OSError, ValueError) as exc:
        return fail("analyze", args.trace, exc)
    if args.json:
        print(json.dumps(analysis.model_dump(mode="json"), ensure_ascii=False))
    else:
        sys.stdout.write(render_markdown(analysis))
    return 0
