"""`pta analyze`: analyse a .nettrace file natively (no .NET SDK, no model)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.analysis.results import TraceAnalysis
    from tools.source.findings import SourceLinkedFindings
    from tools.source.symbol_index import SymbolIndex

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
        "--target-prefix",
        help="namespace prefix of the code under study (default: target_prefix of the repo's "
        ".perf-trace-analyzer.toml with --repo, else 'Dekaf.')",
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        help="processes reading the trace (default: one per core for .nettrace files of 16 MB "
        "and more; 1 reads in this process); the result is the same",
    )
    parser.add_argument(
        "--repo",
        type=Path,
        help="the target repository: link hot methods, allocation and lock sites to file:line "
        "and recommend changes at those lines",
    )
    parser.add_argument(
        "--snapshot",
        type=Path,
        help="a saved `dotnet-stack report` of the traced process (stack_snapshot's file or "
        "the stress tool's watchdog capture): the hang verdict reads it too",
    )
    parser.add_argument(
        "--format",
        choices=("markdown", "html"),
        default="markdown",
        help="html: write a self-contained page (flame graph, tables, recommendations) plus "
        "speedscope and folded-stack files, and print their paths",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for --format html files (default: <repo>/.perf-trace-analyzer/reports, "
        "else beside the trace)",
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
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn

    columns = (SpinnerColumn(), TextColumn("reading"), BarColumn(), DownloadColumn())
    # No refresh thread: the bar redraws on each update, and a process without other threads
    # may fork its trace-reading workers (faster to start than fresh interpreters).
    console = Console(stderr=True)
    with Progress(*columns, console=console, transient=True, auto_refresh=False) as bar:
        task = bar.add_task("read", total=size)
        yield lambda done: bar.update(task, completed=done, refresh=True)


def usage_error(args: argparse.Namespace) -> str | None:
    """The message for an option combination that makes no sense, else None."""
    if args.managed_only and not args.folded:
        return "--managed-only needs --folded"
    if args.format == "html" and (args.json or args.folded):
        return "--format html cannot be combined with --json or --folded"
    if args.repo is not None and not args.repo.is_dir():
        return f"--repo {args.repo}: not a folder"
    if args.snapshot is not None and not args.snapshot.is_file():
        return f"--snapshot {args.snapshot}: no such file"
    return None


def run(args: argparse.Namespace) -> int:
    """Runs `pta analyze`."""
    # Imported here so that `pta --help` and other commands do not pay for the analysis stack.
    from tools.errors import ToolError
    from tools.nettrace.model import TraceFormatError

    problem = usage_error(args)
    if problem:
        print(f"pta analyze: {problem}", file=sys.stderr)
        return 2
    status = check_trace("analyze", args.trace)
    if status is not None:
        return status
    try:
        args.target_prefix = target_prefix(args)
    except ToolError as exc:
        print(f"pta analyze: {exc}", file=sys.stderr)
        return 2
    try:
        if args.folded:
            return print_folded(args)
        if args.format == "html":
            return write_html(args)
        index = repo_index(args)
        analysis = analyse(args, index)
        findings = link_to_source(args, analysis, index)
    except (TraceFormatError, OSError, ValueError, ToolError) as exc:
        return fail("analyze", args.trace, exc)
    if args.json:
        data = analysis.model_dump(mode="json")
        data["source"] = findings.to_dict()
        print(json.dumps(data, ensure_ascii=False))
    else:
        from tools.analysis.markdown import render_markdown

        sys.stdout.write(render_markdown(analysis, findings))
    return 0


def target_prefix(args: argparse.Namespace) -> str:
    """``--target-prefix``, else the repo's ``.perf-trace-analyzer.toml``, else ``Dekaf.``."""
    if args.target_prefix:
        return str(args.target_prefix)
    if args.repo is None:
        return "Dekaf."
    from tools.target_config import load_target_config

    return load_target_config(args.repo).target_prefix


def print_folded(args: argparse.Namespace) -> int:
    """`--folded`: one `frame;…;leaf ns` line per distinct stack."""
    from tools.analysis.folded import folded_stacks, format_folded

    lines = folded_stacks(args.trace, managed_only=args.managed_only)
    sys.stdout.write(format_folded(lines))
    return 0


def repo_index(args: argparse.Namespace) -> SymbolIndex | None:
    """With `--repo`: the C# symbol index of the target (built once, used twice)."""
    if args.repo is None:
        return None
    from tools.source.symbol_index import build_index

    return build_index(args.repo.resolve())


def analyse(args: argparse.Namespace, index: SymbolIndex | None = None) -> TraceAnalysis:
    """The one-pass analysis, with a progress bar for big files."""
    from tools.analysis.analyze import analyze_trace_file
    from tools.source.locate import locator
    from tools.stack_snapshot import load_snapshot

    locate = locator(index)
    snapshot = None
    if args.snapshot is not None:
        snapshot = load_snapshot(args.snapshot, target_prefix=args.target_prefix, locate=locate)
    with read_progress(args.trace) as progress:
        return analyze_trace_file(
            args.trace,
            top=args.top,
            messages=args.messages,
            target_prefix=args.target_prefix,
            progress=progress,
            workers=args.jobs,
            snapshot=snapshot,
            locate=locate,
        )


def link_to_source(
    args: argparse.Namespace, analysis: TraceAnalysis, index: SymbolIndex | None = None
) -> SourceLinkedFindings:
    """The findings every format renders: with `--repo` linked to file:line (through the index
    built once for the analysis), else from the trace alone."""
    from tools.source.recommend import recommend

    data = analysis.model_dump(mode="json")
    repo = args.repo.resolve() if args.repo is not None else None
    return recommend(data, repo, target_prefix=args.target_prefix, index=index)


def write_html(args: argparse.Namespace) -> int:
    """`--format html`: the page, speedscope and folded files; their paths on stdout."""
    from tools.report_html.bundle import report_for_trace

    trace = Path(args.trace)
    out = args.out or (
        args.repo / ".perf-trace-analyzer" / "reports" if args.repo else trace.parent
    )
    bundle, _ = report_for_trace(
        trace,
        out,
        repo=args.repo.resolve() if args.repo else None,
        target_prefix=args.target_prefix,
        messages=args.messages,
    )
    for path in (bundle.html, bundle.speedscope, bundle.folded):
        if path is not None:
            print(path)
    if bundle.note:
        print(bundle.note, file=sys.stderr)
    return 0
