"""`pta ask`: ask a performance question; Claude (or the offline planner) investigates."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from agent.model import EFFORTS, ModelClient, ModelError

if TYPE_CHECKING:
    from agent.run_request import RunOutcome

EXAMPLES = """\
examples:
  pta ask "is there a deadlock in flush?" --repo ~/src/Dekaf
  pta ask -p "where does the producer allocate per message?" --json
  pta ask "analyse traces/run1.nettrace" --offline
  pta ask "why is the consumer slow?" --effort high

Without ANTHROPIC_API_KEY (or with --offline) the built-in playbook planner drives the run.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `ask` command."""
    parser = subparsers.add_parser(
        "ask",
        help="ask a performance question; Claude (or the offline planner) investigates",
        description="Investigate a performance question about a .NET repository: start Kafka, "
        "build, trace, analyse, and report in four sections.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("request", nargs="?", help="the question, in plain language")
    parser.add_argument("-p", "--prompt", help="the question (instead of the positional one)")
    parser.add_argument(
        "--repo", type=Path, default=Path.cwd(), help="the target repository (default: cwd)"
    )
    parser.add_argument("--model", help="Claude model id (default: $PTA_MODEL, else newest Opus)")
    parser.add_argument(
        "--effort",
        choices=EFFORTS,
        help="how much effort Claude puts into each reply (default: the model's own default; "
        "ignored offline)",
    )
    parser.add_argument(
        "--offline", action="store_true", help="use the offline playbook planner, no API calls"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document (report, calls, usage)"
    )
    parser.add_argument("--max-turns", type=int, default=30, help="most model turns (default 30)")
    parser.add_argument(
        "--quiet", action="store_true", help="no progress on stderr (errors are still shown)"
    )
    parser.set_defaults(run=execute)


def execute(
    args: argparse.Namespace,
    *,
    model: ModelClient | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Runs `pta ask`; returns 0 when a report was produced, 1 when the run failed, 2 on misuse."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    request, problem = _request(args)
    if problem is None and not args.repo.is_dir():
        problem = f"--repo {str(args.repo)!r} is not a directory"
    if problem is None and args.max_turns < 1:
        problem = "--max-turns must be at least 1"
    if problem is not None:
        print(f"pta ask: {problem}", file=err)
        return 2
    # Imported here so `pta --help` and the other commands start fast.
    from rich.console import Console

    from agent.run_request import run_request

    console = None if args.quiet else Console(file=err, highlight=False, soft_wrap=True)
    try:
        outcome = run_request(
            request,
            repo=args.repo,
            offline=args.offline,
            model_name=args.model,
            max_turns=args.max_turns,
            model=model,
            console=console,
            effort=args.effort,
        )
    except ModelError as exc:
        print(f"pta ask: {exc}", file=err)
        return 1
    _print(outcome, as_json=args.json, out=out, err=err)
    return 0 if outcome.status == "ok" else 1


def _request(args: argparse.Namespace) -> tuple[str, str | None]:
    if args.request and args.prompt:
        return "", "give the question once: either as an argument or with -p, not both"
    text = (args.prompt or args.request or "").strip()
    if not text:
        return "", 'a question is needed, e.g. pta ask "is there a deadlock in flush?"'
    return text, None


def _print(outcome: RunOutcome, *, as_json: bool, out: TextIO, err: TextIO) -> None:
    if as_json:
        print(outcome.model_dump_json(indent=2), file=out)
    elif outcome.status == "ok":
        print(outcome.report_markdown, file=out, end="")
    if outcome.status != "ok":
        print(f"pta ask: the run failed: {outcome.error}", file=err)
    if outcome.report_path is not None:
        print(f"report saved to {outcome.report_path} (and {outcome.json_path})", file=err)
    if outcome.html_path is not None:
        print(f"visual report (flame graph): {outcome.html_path}", file=err)
    usage = outcome.usage
    cost = "unknown" if outcome.cost_usd is None else f"${outcome.cost_usd:.4f}"
    print(
        f"{outcome.model}: {outcome.turns} turns, {len(outcome.tool_calls)} tool calls, "
        f"{usage.get('input_tokens', 0)} in / {usage.get('output_tokens', 0)} out tokens "
        f"(cache read {usage.get('cache_read_tokens', 0)}, write "
        f"{usage.get('cache_write_tokens', 0)}), cost {cost}, {outcome.duration_s:.1f} s",
        file=err,
    )
