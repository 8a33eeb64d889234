"""`pta batch`: run many requests from a file, one result line each."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from agent.batch import BatchRequest, BatchResult
    from tools.base import ToolContext, ToolRegistry

EXAMPLES = """\
request file (one request a line; blank lines and # comments are skipped):
  is there a deadlock in flush?
  {"prompt": "where does the consumer allocate?", "scenario": "consumer", "preset": "alloc"}

examples:
  pta batch requests.txt --repo ~/src/Dekaf --out results.jsonl
  pta batch requests.jsonl --continue-on-error --resume
  cat requests.txt | pta batch - --offline
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `batch` command."""
    parser = subparsers.add_parser(
        "batch",
        help="run many requests from a file, one result line each",
        description="Runs the requests of FILE in order, starting Kafka and building once, and "
        "writes one JSON line per finished request. Exit status 0 when every request "
        "produced a report, 1 otherwise.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="the request file, or - for standard input")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the target repository")
    parser.add_argument(
        "--out", type=Path, default=Path("results.jsonl"), help="results (default results.jsonl)"
    )
    parser.add_argument("--offline", action="store_true", help="use the offline playbook planner")
    parser.add_argument("--model", help="Claude model id (default: $PTA_MODEL, else newest Opus)")
    parser.add_argument("--max-turns", type=int, default=30, help="most model turns per request")
    parser.add_argument(
        "--continue-on-error", action="store_true", help="keep going after a failed request"
    )
    parser.add_argument(
        "--resume", action="store_true", help="skip requests whose result line says ok"
    )
    parser.add_argument("--quiet", action="store_true", help="no per-request progress on stderr")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Runs the batch; 0 when every request produced a report, 1 otherwise, 2 on misuse."""
    from rich.console import Console

    from agent.batch import ResultsFile, parse_requests, run_batch, scan_results
    from tools.catalog import default_registry

    repo = Path(args.repo).expanduser().resolve()
    lines, problem = _read_lines(args.file)
    problem = problem or _repo_problem(repo) or _out_problem(args.out)
    if problem is not None:
        print(f"pta batch: {problem}", file=sys.stderr)
        return 2
    requests = parse_requests(lines)
    console = Console(file=sys.stderr, highlight=False, soft_wrap=True, width=_width())
    scan = scan_results(args.out) if args.resume else None
    for sentence in scan.skipped if scan else []:
        console.print(f"pta batch --resume: {sentence}", markup=False)
    try:
        results = ResultsFile(args.out, append=args.resume)
    except OSError as exc:
        print(
            f"pta batch: cannot write --out {str(args.out)!r}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    skip = scan.finished if scan else set()
    ctx = _shared_context(repo, None if args.quiet else console)
    outcomes: list[tuple[BatchRequest, BatchResult | None]] = []
    try:
        runner = _runner(args, repo, ctx, None if args.quiet else console)
        for number, (request, result) in enumerate(
            run_batch(
                requests,
                default_registry(),
                runner,
                results,
                skip=skip,
                continue_on_error=args.continue_on_error,
            ),
            start=1,
        ):
            outcomes.append((request, result))
            _announce(console, number, len(requests), request, result)
    finally:
        results.close()
    _summary(console, requests, outcomes, args.out)
    done_ok = sum(1 for _, r in outcomes if r is None or r.status == "ok")
    return 0 if done_ok == len(requests) else 1


def _read_lines(name: str) -> tuple[list[str], str | None]:
    try:
        data = _stdin_bytes() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        return [], f"cannot read {name}: {exc.strerror or exc}"
    try:
        return data.decode("utf-8").splitlines(), None
    except UnicodeDecodeError as exc:
        where = "standard input" if name == "-" else name
        return [], f"{where} is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})"


def _stdin_bytes() -> bytes:
    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:  # a text stream without bytes underneath (an embedding program's)
        return sys.stdin.read().encode("utf-8", errors="surrogateescape")
    data: bytes = raw.read()
    return data


def _repo_problem(repo: Path) -> str | None:
    return None if repo.is_dir() else f"--repo {str(repo)!r} is not a directory"


def _out_problem(out: Path) -> str | None:
    if out.is_dir():
        return f"--out {str(out)!r} is a directory; give the results file's path"
    if out.exists() and not out.is_file():
        return f"--out {str(out)!r} is not a regular file"
    return None


def _shared_context(repo: Path, console: Console | None) -> ToolContext:
    from agent.progress import ConsoleObserver
    from agent.run_request import build_context

    return build_context(repo, ConsoleObserver(console) if console is not None else None)


def _runner(args: argparse.Namespace, repo: Path, ctx: ToolContext, console: Console | None) -> Any:
    from agent.batch import BatchResult, failed, request_record
    from agent.model import ModelError
    from agent.run_request import run_request

    def run_one(request: BatchRequest, registry: ToolRegistry) -> BatchResult:
        try:
            outcome = run_request(
                request.request_text(),
                repo=repo,
                offline=args.offline,
                model_name=args.model,
                max_turns=args.max_turns,
                ctx=ctx,
                registry=registry,
                console=console,
            )
        except ModelError as exc:
            return failed(request, str(exc), 0.0)
        except Exception as exc:  # one request's crash must not lose the batch: record it
            if console is not None:
                console.print_exception()
            return failed(request, f"internal error: {exc!r}", 0.0)
        return BatchResult(
            key=request.key,
            line=request.line,
            request=request_record(request),
            status=outcome.status,
            report_path=str(outcome.report_path) if outcome.report_path else None,
            trace_paths=outcome.trace_paths,
            duration_s=outcome.duration_s,
            usage=outcome.usage,
            cost_usd=outcome.cost_usd,
            error=outcome.error,
            model=outcome.model,
        )

    return run_one


def _announce(
    console: Console, number: int, total: int, request: BatchRequest, result: BatchResult | None
) -> None:
    head = f"[{number}/{total}] line {request.line}"
    if result is None:
        console.print(f"{head}: already ok in the results file, skipped (--resume)")
    elif result.status == "ok":
        console.print(f"{head}: ok, report {result.report_path}")
    else:
        console.print(f"{head}: FAILED: {result.error}")


def _summary(
    console: Console,
    requests: list[BatchRequest],
    outcomes: list[tuple[BatchRequest, BatchResult | None]],
    out: Path,
) -> None:
    from rich.table import Table

    by_key = {request.key: result for request, result in outcomes}
    table = Table(title=f"pta batch: {len(requests)} requests, results in {out}")
    for column in ("line", "request", "status", "time", "tokens in/out", "cost"):
        table.add_column(column, no_wrap=column != "request")
    table.add_column("report / error", overflow="fold")
    for request in requests:
        if request.key not in by_key:
            table.add_row(str(request.line), _short(request.prompt), "not run", "", "", "", "")
            continue
        result = by_key[request.key]
        if result is None:
            table.add_row(str(request.line), _short(request.prompt), "ok (earlier)", "", "", "", "")
            continue
        tokens = f"{result.usage.get('input_tokens', 0)}/{result.usage.get('output_tokens', 0)}"
        cost = "" if result.cost_usd is None else f"${result.cost_usd:.4f}"
        report = Path(result.report_path).name if result.report_path else ""
        detail = report if result.status == "ok" else result.error
        row = [result.status, f"{result.duration_s:.1f} s", tokens, cost, detail or ""]
        table.add_row(str(request.line), _short(request.prompt), *row)
    console.print(table)


def _width() -> int | None:
    # Not a terminal (CI logs, a pipe): rich would assume 80 columns and squeeze the table.
    return None if sys.stderr.isatty() else 140


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
