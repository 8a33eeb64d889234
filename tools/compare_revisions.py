"""compare_revisions: "did my change make it slower?" answered by tracing BASE and HEAD alike.

Both revisions are checked out aside (``git worktree add --detach`` under
``<repo>/.perf-trace-analyzer/revisions/<run>/``), built once each in Release, then traced in
turn A B A B … with the same scenario, preset, message size and window, so that drift of a
shared machine hits both sides alike. The traces are kept in the run folder; the worktrees are
removed whatever happens. The comparison and its report are written beside the traces.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.analysis.analyze import analyze_trace_file
from tools.analysis.compare import DEEP_TOP
from tools.analysis.run_measures import RunMeasures, measure_run
from tools.analysis.significance import DEFAULT_SEED, MetricChange, compare_runs
from tools.analysis.significance_report import ReportContext, render_significance, verdict_line
from tools.base import Tool, ToolContext
from tools.build import BuildArgs, build
from tools.errors import ToolError
from tools.git_revisions import (
    Commit,
    Revision,
    check_revision,
    commits_touching,
    ignore_folder,
    is_dirty,
    resolve,
    worktrees,
)
from tools.providers import Preset
from tools.revision_sources import source_links
from tools.target_config import CONFIG_FILE_NAME, TargetConfig, load_target_config
from tools.trace_collect import trace_collect
from tools.trace_collect_models import TraceCollectArgs

MAX_SHOWN = 8
"""Significant changes returned to the model (all of them are in the JSON file)."""


class CompareRevisionsArgs(BaseModel):
    """Input of compare_revisions."""

    model_config = ConfigDict(extra="forbid")

    base: str = Field(
        max_length=200,
        description="The revision before the change: a branch (main), tag, commit id, HEAD~1, "
        "main@{yesterday}, or 'merge-base' (where HEAD left the main branch).",
    )
    head: str = Field(
        default="HEAD",
        max_length=200,
        description="The revision after the change; default the working tree's HEAD commit "
        "(uncommitted changes are not included).",
    )
    scenario: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9-]{0,40}$",
        description="ONE stress scenario; default the target config's scenario.",
    )
    preset: Preset = Field(
        default="all",
        description="Trace providers: 'all' compares CPU, allocations and lock waits; 'cpu', "
        "'alloc' or 'contention' trace less.",
    )
    message_size: int | None = Field(
        default=None, ge=1, le=10_000_000, description="Message size in bytes (config default)."
    )
    trace_seconds: int = Field(
        default=8, ge=2, le=60, description="Trace window of each run in SECONDS."
    )
    repeat: int = Field(
        default=3, ge=1, le=10, description="Runs per revision, alternated A B A B …"
    )
    seed: int = Field(default=DEFAULT_SEED, description="Seed of the bootstrap's random numbers.")

    @field_validator("base", "head")
    @classmethod
    def _a_revision(cls, value: str) -> str:
        try:
            return check_revision(value)
        except ToolError as exc:
            raise ValueError(str(exc)) from None


class RunRecord(BaseModel):
    """One traced run."""

    label: str = Field(description="A1, B1, A2, … in the order they ran.")
    revision: str = Field(description="The commit traced.")
    trace_path: str
    msg_per_s: float | None
    messages: int | None
    warnings: list[str]


class CompareRevisionsResult(BaseModel):
    """The verdict, the significant changes and where everything was written."""

    verdict: str = Field(description="The report's first line: the answer to the question.")
    base: str = Field(description="BASE: commit id and subject.")
    head: str = Field(description="HEAD: commit id and subject.")
    significant: list[MetricChange] = Field(description="Regressions and improvements.")
    compared_metrics: int = Field(description="Metrics compared (all are in json_path).")
    runs: list[RunRecord]
    commits: list[Commit] = Field(description="Commits in BASE..HEAD touching changed files.")
    report_markdown: str
    report_path: str
    json_path: str
    duration_s: float
    notes: list[str]


@dataclass
class _Side:
    label: str
    revision: Revision
    ctx: ToolContext
    measures: list[RunMeasures] = field(default_factory=list)


def compare_revisions(args: CompareRevisionsArgs, ctx: ToolContext) -> CompareRevisionsResult:
    """Answer "did my change make it slower / allocate more?" by measuring both revisions.
    Builds BASE and HEAD of the repository in separate git worktrees (the user's working tree
    is never touched), traces each `repeat` times alternately (A B A B) with the same scenario,
    preset and window, and returns the verdict line, the significant changes (CPU share per
    method, allocation bytes per message per site and type, lock waits per site, throughput;
    bootstrap intervals), the changed methods' source at both revisions and the commits in
    BASE..HEAD that touched them. Use it for questions about a change over time ("since
    yesterday", "slower than main", "did it regress"); it takes two builds plus 2·repeat traces
    (minutes). Do not use it for one revision (build + trace_collect + analyze_trace) or for
    existing trace files.
    """
    started = time.monotonic()
    config = load_target_config(ctx.repo)
    head = resolve(ctx, args.head)
    base = resolve(ctx, args.base, head=head.sha)
    if base.sha == head.sha:
        raise ToolError(f"{args.base!r} and {args.head!r} are the same commit {head.short}")
    notes = ["the working tree has uncommitted changes; they are not compared"]
    notes = notes if is_dirty(ctx) else []
    ignore_folder(ctx.work_dir)
    run_dir = (
        ctx.work_dir
        / "revisions"
        / (f"{time.strftime('%Y%m%d-%H%M%S')}-{base.short[:7]}-{head.short[:7]}")
    )
    with worktrees(ctx, run_dir / "worktrees", [base, head]) as paths:
        sides = [_side(label, rev, path, ctx) for label, rev, path in
                 zip(("A", "B"), (base, head), paths, strict=True)]  # fmt: skip
        _build_all(sides, ctx)
        runs = _trace_alternately(sides, args, config, run_dir, ctx)
        significance = compare_runs(sides[0].measures, sides[1].measures, seed=args.seed)
        links = source_links(significance, config.target_prefix, sides[0].ctx, sides[1].ctx)
    files = sorted({loc.file for link in links for loc in (link.base, link.head) if loc})
    commits = commits_touching(ctx, base, head, files)
    report_ctx = ReportContext(
        base=f"BASE `{base.short}` ({args.base})",
        new=f"HEAD `{head.short}` ({args.head})",
        setup=f"Scenario `{_scenario(args, config)}`, preset `{args.preset}`, "
        f"{args.trace_seconds} s windows, runs alternated {' '.join(r.label for r in runs)}.",
        links=links, base_ref=base.short, head_ref=head.short,
        commits=[f"- `{c.sha}` {c.date} {c.author}: {c.subject} ({', '.join(c.files)})"
                 for c in commits],
        notes=notes + [w for r in runs for w in r.warnings],
    )  # fmt: skip
    markdown = render_significance(significance, report_ctx)
    result = CompareRevisionsResult(
        verdict=verdict_line(significance, report_ctx),
        base=f"{base.short} {base.subject}",
        head=f"{head.short} {head.subject}",
        significant=significance.significant()[:MAX_SHOWN],
        compared_metrics=len(significance.changes),
        runs=runs,
        commits=commits,
        report_markdown=markdown,
        report_path=str(run_dir / "report.md"),
        json_path=str(run_dir / "comparison.json"),
        duration_s=round(time.monotonic() - started, 1),
        notes=notes,
    )
    (run_dir / "report.md").write_text(markdown, encoding="utf-8")
    document = {
        "result": result.model_dump(mode="json"),
        "significance": significance.model_dump(mode="json"),
    }
    (run_dir / "comparison.json").write_text(_json(document), encoding="utf-8")
    return result


def _side(label: str, revision: Revision, path: Path, ctx: ToolContext) -> _Side:
    """A context over the worktree; it is traced the way the user's config says (same both)."""
    config_file = ctx.repo / CONFIG_FILE_NAME
    if config_file.is_file():
        shutil.copyfile(config_file, path / CONFIG_FILE_NAME)

    def progress(message: str, done: float | None, total: float | None) -> None:
        ctx.progress(f"[{label} {revision.short[:7]}] {message}", done, total)

    side_ctx = ToolContext(repo=path, runner=ctx.runner, progress=progress, cancel=ctx.cancel)
    return _Side(label, revision, side_ctx)


def _build_all(sides: list[_Side], ctx: ToolContext) -> None:
    """Builds every side once; a side that does not build fails the run with its errors."""
    failures = []
    for side in sides:
        _check_cancel(ctx)
        try:
            build(BuildArgs(), side.ctx)
        except ToolError as exc:
            _check_cancel(ctx)
            rev = f"{side.revision.spec} ({side.revision.short})"
            failures.append(f"{rev} does not build. {exc}")
    if failures:
        raise ToolError("\n\n".join(failures))


def _trace_alternately(
    sides: list[_Side],
    args: CompareRevisionsArgs,
    config: TargetConfig,
    run_dir: Path,
    ctx: ToolContext,
) -> list[RunRecord]:
    collect = TraceCollectArgs(
        preset=args.preset,
        scenario=_scenario(args, config),
        message_size=args.message_size or config.message_size,
        trace_seconds=args.trace_seconds,
    )
    traces = run_dir / "traces"
    traces.mkdir(parents=True, exist_ok=True)
    records = []
    for number in range(1, args.repeat + 1):
        for side in sides:
            _check_cancel(ctx)
            label = f"{side.label}{number}"
            collected = trace_collect(collect, side.ctx)
            kept = traces / f"{label}-{side.revision.short[:7]}.nettrace"
            shutil.move(collected.trace_path, kept)
            side.ctx.progress(f"analysing {kept.name}", None, None)
            analysis = analyze_trace_file(
                kept, top=DEEP_TOP, messages=collected.messages, target_prefix=config.target_prefix
            )
            side.measures.append(measure_run(
                analysis, label=label, msg_per_s=collected.msg_per_s, messages=collected.messages
            ))  # fmt: skip
            records.append(RunRecord(
                label=label, revision=side.revision.short, trace_path=str(kept),
                msg_per_s=collected.msg_per_s, messages=collected.messages,
                warnings=[f"{label}: {w}" for w in collected.warnings],
            ))  # fmt: skip
    return records


def _scenario(args: CompareRevisionsArgs, config: TargetConfig) -> str:
    return args.scenario or config.scenario


def _check_cancel(ctx: ToolContext) -> None:
    if ctx.cancel.is_set():
        raise ToolError("compare_revisions was cancelled; its worktrees were removed")


def _json(document: object) -> str:
    return json.dumps(document, ensure_ascii=False, indent=1)


COMPARE_REVISIONS_TOOL = Tool.from_function(
    compare_revisions,
    long_running=True,
    cut_hint="every metric is in the file at json_path; the report is at report_path",
)
