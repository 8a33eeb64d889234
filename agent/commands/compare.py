"""`pta compare`: compare two traces: what got hotter, new allocations or contention."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from agent.commands.analyze import check_trace, fail, positive_int, read_progress

if TYPE_CHECKING:
    from tools.analysis.results import TraceAnalysis


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `compare` command."""
    parser = subparsers.add_parser(
        "compare",
        help="compare two traces: what got hotter, new allocations or contention",
        description="Compare BASE with NEW: methods whose share of samples grew, new or "
        "grown allocation types and sites, new or longer lock waits.",
    )
    parser.add_argument("base", help="the earlier trace")
    parser.add_argument("new", help="the later trace")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--top", type=positive_int, default=15, help="length of each list (15)")
    parser.add_argument(
        "--target-prefix", default="Dekaf.", help="namespace prefix of the code under study"
    )
    parser.set_defaults(run=run)


def _analyze(path: str, prefix: str) -> TraceAnalysis:
    from tools.analysis.analyze import analyze_trace_file
    from tools.analysis.compare import DEEP_TOP

    with read_progress(path) as progress:
        return analyze_trace_file(path, top=DEEP_TOP, target_prefix=prefix, progress=progress)


def run(args: argparse.Namespace) -> int:
    """Runs `pta compare`."""
    # Imported here so that `pta --help` and other commands do not pay for the analysis stack.
    from tools.analysis.compare import compare, render_comparison
    from tools.nettrace.model import TraceFormatError

    analyses = []
    for path in (args.base, args.new):
        status = check_trace("compare", path)
        if status is not None:
            return status
        try:
            analyses.append(_analyze(path, args.target_prefix))
        except (TraceFormatError, OSError, ValueError) as exc:
            return fail("compare", path, exc)
    result = compare(analyses[0], analyses[1], top=args.top)
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
    else:
        sys.stdout.write(render_comparison(result))
    return 0
