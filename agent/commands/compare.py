"""`pta compare`: two traces, two sets of traces, or two git revisions traced alike."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from agent.commands.analyze import check_trace, fail, positive_int, read_progress

if TYPE_CHECKING:
    from tools.analysis.results import TraceAnalysis

EPILOG = """\
examples:
  pta compare before.nettrace after.nettrace              raw deltas of two traces
  pta compare a1.nettrace a2.nettrace a3.nettrace --vs b1.nettrace b2.nettrace b3.nettrace
  pta compare --rev main --repo ~/src/Dekaf               main against HEAD, 3+3 runs
  pta compare --rev v1.4.0..feature --repeat 5 --scenario producer
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `compare` command."""
    parser = subparsers.add_parser(
        "compare",
        help="before/after: two traces, sets of traces (--vs) or git revisions (--rev)",
        description="BASE NEW: methods whose share of samples grew, new or grown allocation "
        "types and sites, new or longer lock waits (raw deltas). BASE… --vs NEW…: the same "
        "with significance (bootstrap intervals over the traces of each side; verdict per "
        "method). --rev BASE[..HEAD]: checks out both revisions in git worktrees, builds and "
        "traces each the same way, alternating A B A B, and reports the significant changes.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("traces", nargs="*", help="BASE NEW, or the base traces with --vs")
    parser.add_argument("--vs", nargs="+", metavar="TRACE", help="the new side's traces")
    parser.add_argument(
        "--rev",
        metavar="BASE[..HEAD]",
        help="compare git revisions (HEAD defaults to the working tree's HEAD commit; BASE a "
        "branch, tag, commit or 'merge-base')",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--top", type=positive_int, default=15, help="length of each list (15)")
    parser.add_argument(
        "--target-prefix",
        help="namespace prefix of the code under study (default: target_prefix of the --repo's "
        ".perf-trace-analyzer.toml, else 'Dekaf.')",
    )
    revisions = parser.add_argument_group("with --rev")
    revisions.add_argument(
        "--repo", type=Path, default=Path.cwd(), help="the git repository (current folder)"
    )
    revisions.add_argument("--scenario", help="ONE stress scenario (default: the config's)")
    revisions.add_argument(
        "--preset", choices=("cpu", "alloc", "contention", "all"), default="all",
        help="trace providers (all: CPU, allocations and lock waits)",
    )  # fmt: skip
    revisions.add_argument("--message-size", type=positive_int, help="message size in bytes")
    revisions.add_argument(
        "--trace-seconds", type=positive_int, default=8, help="trace window of each run (8 s)"
    )
    revisions.add_argument(
        "--repeat", type=positive_int, default=3, help="runs per revision, alternated (3)"
    )
    revisions.add_argument("--seed", type=int, help="seed of the bootstrap's random numbers")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Runs `pta compare`."""
    if args.rev is not None:
        if args.traces or args.vs:
            return _usage("--rev compares revisions: give no trace files with it")
        return _run_revisions(args)
    if args.vs:
        if not args.traces:
            return _usage("give the base traces before --vs")
        return _run_sets(args)
    if len(args.traces) != 2:
        return _usage("give BASE NEW, or base traces --vs new traces, or --rev BASE[..HEAD]")
    return _run_pair(args)


def _usage(message: str) -> int:
    print(f"pta compare: {message}", file=sys.stderr)
    return 2


def _analyze(path: str, prefix: str) -> TraceAnalysis:
    from tools.analysis.analyze import analyze_trace_file
    from tools.analysis.compare import DEEP_TOP

    with read_progress(path) as progress:
        return analyze_trace_file(path, top=DEEP_TOP, target_prefix=prefix, progress=progress)


def _analyze_all(paths: list[str], prefix: str) -> list[TraceAnalysis] | int:
    from tools.nettrace.model import TraceFormatError

    analyses = []
    for path in paths:
        status = check_trace("compare", path)
        if status is not None:
            return status
        try:
            analyses.append(_analyze(path, prefix))
        except (TraceFormatError, OSError, ValueError) as exc:
            return fail("compare", path, exc)
    return analyses


def _prefix(args: argparse.Namespace) -> str:
    """--target-prefix, else the --repo's (or the current folder's) config, else Dekaf's."""
    from tools.errors import ToolError
    from tools.target_config import load_target_config

    if args.target_prefix:
        return str(args.target_prefix)
    try:
        return load_target_config(args.repo).target_prefix
    except ToolError:
        return "Dekaf."


def _run_pair(args: argparse.Namespace) -> int:
    # Imported here so that `pta --help` and other commands do not pay for the analysis stack.
    from tools.analysis.compare import compare, render_comparison

    analyses = _analyze_all(args.traces, _prefix(args))
    if isinstance(analyses, int):
        return analyses
    result = compare(analyses[0], analyses[1], top=args.top)
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
    else:
        sys.stdout.write(render_comparison(result))
    return 0


def _run_sets(args: argparse.Namespace) -> int:
    from tools.analysis.run_measures import measure_run
    from tools.analysis.significance import DEFAULT_SEED, compare_runs
    from tools.analysis.significance_report import ReportContext, render_significance

    prefix = _prefix(args)
    sides = []
    for side, paths in (("A", args.traces), ("B", args.vs)):
        analyses = _analyze_all(paths, prefix)
        if isinstance(analyses, int):
            return analyses
        sides.append([measure_run(a, label=f"{side}{i}") for i, a in enumerate(analyses, 1)])
    seed = DEFAULT_SEED if args.seed is None else args.seed
    significance = compare_runs(sides[0], sides[1], seed=seed)
    if args.json:
        print(json.dumps(significance.model_dump(mode="json"), ensure_ascii=False))
        return 0
    ctx = ReportContext(base=_side_name(args.traces), new=_side_name(args.vs))
    sys.stdout.write(render_significance(significance, ctx))
    return 0


def _side_name(paths: list[str]) -> str:
    if len(paths) == 1:
        return f"`{Path(paths[0]).name}`"
    return f"`{Path(paths[0]).name}` … ({len(paths)} traces)"


def _run_revisions(args: argparse.Namespace) -> int:
    from tools.analysis.significance import DEFAULT_SEED
    from tools.base import ToolContext
    from tools.compare_revisions import CompareRevisionsArgs, compare_revisions
    from tools.errors import ToolError
    from tools.git_revisions import split_range

    try:
        base, head = split_range(args.rev)
        tool_args = CompareRevisionsArgs(
            base=base, head=head, scenario=args.scenario, preset=args.preset,
            message_size=args.message_size, trace_seconds=args.trace_seconds,
            repeat=args.repeat, seed=DEFAULT_SEED if args.seed is None else args.seed,
        )  # fmt: skip
    except (ToolError, ValueError) as exc:
        return _usage(str(exc))
    # Ctrl-C (and SIGTERM, SIGHUP) unwind through compare_revisions like any command (see
    # agent/interrupts.py): its finally removes the worktrees, then main() stops the children.
    ctx = ToolContext(repo=args.repo.resolve(), progress=_progress)
    try:
        result = compare_revisions(tool_args, ctx)
    except ToolError as exc:
        print(f"pta compare: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(result.model_dump_json())
    else:
        sys.stdout.write(result.report_markdown)
        print(f"\nReport: {result.report_path}\nAll metrics: {result.json_path}", file=sys.stderr)
    return 0


def _progress(message: str, done: float | None, total: float | None) -> None:
    if done is None:  # step changes only; the per-second tracing ticks would flood stderr
        print(f"pta compare: {message}", file=sys.stderr, flush=True)
