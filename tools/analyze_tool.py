"""The ``analyze_trace`` tool: the native trace analysis, as a bounded summary for the model."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from tools.analysis.analyze import analyze_trace_file
from tools.analysis.results import TraceAnalysis
from tools.analyze_result import (
    AnalyzeTraceResult,
    Detail,
    SourceRecommendation,
    View,
    compact,
    short_frame,
)
from tools.base import Tool, ToolContext
from tools.errors import ToolError
from tools.hang_context import hang_context, verdict_locator
from tools.nettrace.model import TraceFormatError
from tools.target_config import load_target_config
from tools.trace_files import resolve_trace_path

SOURCE_LINKS = 15
"""Most frame -> file:line links in one result."""
SOURCE_RECOMMENDATIONS = 6
"""Most source-linked recommendations in one result."""
ROW_STEPS = (12, 10, 8, 6, 5, 4, 3, 2, 1)
"""Rows per top list tried, in turn, when a result does not fit its budget."""
BUDGET_MARGIN_CHARS = 600
"""Room left in the budget for the note on what was cut."""


class AnalyzeTraceArgs(BaseModel):
    """Input of analyze_trace."""

    model_config = ConfigDict(extra="forbid")

    trace_path: str = Field(
        description="The .nettrace file (or a .zip holding one); relative paths are resolved "
        "against the target repository."
    )
    top: int = Field(
        default=15,
        ge=1,
        le=50,
        description="Rows per top list (1-50); fewer when the result would not fit its budget.",
    )
    detail: Detail = Field(
        default="summary",
        description="summary: every section, short lists, 5 frames per stack. cpu, "
        "allocations, contention or gc: that section with `top` rows and 12 frames per stack, "
        "the others as totals. events: counts per provider and event id.",
    )
    messages: int | None = Field(
        default=None,
        ge=1,
        description="Messages produced/consumed in the traced phase, to tell per-message from "
        "per-batch allocations (defaults to what trace_collect reported).",
    )
    target_prefix: str | None = Field(
        default=None,
        description="Namespace prefix of the code under study (default: the target config's, "
        "'Dekaf.' without one).",
    )


def analyze_trace(args: AnalyzeTraceArgs, ctx: ToolContext) -> AnalyzeTraceResult:
    """Analyse a .nettrace file natively and summarise it: hot methods (self and inclusive,
    target vs runtime vs native share), allocations by type and stack (per-message vs
    per-batch), lock contention and waits, GC pauses, and one hang verdict with its evidence
    (lock-order deadlock, async hang, sync-over-async starvation, stall without evidence, or no
    hang; it uses the run's stack snapshot and stall when there were any).
    Use it on the trace trace_collect wrote (its trace_path) or on any .nettrace the user
    names; it is the fastest and fullest view, so start with it. Prefer it to
    trace_report_piped (one topN table only) and to convert_speedscope (a flame-graph file
    for a person). The result starts with headline sentences, then each section: top lists
    of `top` rows (fewer when the result would overflow its budget), stacks cut to the 5
    frames nearest the leaf (12 for the section named by `detail`), frame names as
    Namespace.Type.Method, the form find_source takes; `left_out` says what was cut and which
    argument shows it.
    """
    path = resolve_trace_path(ctx, args.trace_path)
    messages = args.messages or ctx.state.get("messages")
    size = path.stat().st_size

    def progress(done: int) -> None:
        ctx.progress(f"analysing {path.name}: {done / 1e6:.0f} MB read", done, size)

    target_prefix = args.target_prefix or _configured_prefix(ctx)
    snapshot, stall = hang_context(ctx, path)
    try:
        analysis = analyze_trace_file(
            path,
            top=args.top,
            messages=messages if isinstance(messages, int) and messages > 0 else None,
            target_prefix=target_prefix,
            progress=progress,
            snapshot=snapshot,
            stall=stall,
            locate=verdict_locator(ctx),
        )
    except TraceFormatError as exc:
        raise ToolError(f"{path} is not a readable trace: {exc}") from None
    links = source_findings(analysis, ctx, target_prefix)
    return fit_result(analysis, links, args, ctx.max_result_chars - BUDGET_MARGIN_CHARS)


def fit_result(
    analysis: TraceAnalysis, links: SourceFindings, args: AnalyzeTraceArgs, budget: int
) -> AnalyzeTraceResult:
    """The richest view of ``analysis`` whose JSON fits ``budget``: fewer rows until it does."""
    steps = [args.top, *(rows for rows in ROW_STEPS if rows < args.top)]
    for rows in steps:
        result = compact(analysis, View(rows, args.detail))
        links.apply(result)
        if len(result.model_dump_json(exclude_none=True)) <= budget:
            break
    if rows < args.top:
        result.left_out.insert(
            0,
            f"Top lists hold {rows} rows, not the {args.top} asked for, to fit the result "
            "budget; call analyze_trace with detail='cpu', 'allocations' or 'contention' for "
            "more rows of one section.",
        )
    return result


@dataclass
class SourceFindings:
    """Frame -> file:line links and line-level recommendations, or a note why there are none."""

    links: dict[str, str] = field(default_factory=dict)
    recommendations: list[SourceRecommendation] = field(default_factory=list)
    note: str | None = None

    def apply(self, result: AnalyzeTraceResult) -> None:
        """Adds the links of frames the result shows, and the recommendations."""
        shown = set(_names_in(result))
        kept = [(name, where) for name, where in self.links.items() if name in shown]
        result.source_links = dict(kept[:SOURCE_LINKS])
        result.source_recommendations = list(self.recommendations)
        if self.note:
            result.notes.append(self.note)


def _configured_prefix(ctx: ToolContext) -> str:
    """The target's ``target_prefix`` (``.perf-trace-analyzer.toml``), as every way in reads it."""
    try:
        return load_target_config(ctx.repo).target_prefix
    except ToolError:
        return "Dekaf."


def source_findings(
    analysis: TraceAnalysis, ctx: ToolContext, target_prefix: str
) -> SourceFindings:
    """File:line links and the ranked recommendations (from the trace alone when the repo
    holds no C# sources).

    Linking is a bonus on top of the numbers: when it fails, the analysis still stands and a
    note says why.
    """
    from tools.source.find_source import get_index
    from tools.source.recommend import recommend
    from tools.source.trace_evidence import EVIDENCE_STATE_KEY, TraceEvidence

    data = analysis.model_dump(mode="json")
    ctx.state[EVIDENCE_STATE_KEY] = TraceEvidence.of(data)  # what check_guidelines weighs
    note = None
    try:
        index = get_index(ctx)
        repo = ctx.repo if index.files or index.pending else None
        findings = recommend(data, repo, target_prefix=target_prefix, index=index)
    except (ToolError, OSError, ValueError) as exc:
        note = f"Findings were not linked to source: {exc}"
        findings = recommend(data, None, target_prefix=target_prefix)
    return SourceFindings(
        links={short_frame(name): link.label for name, link in findings.links.items()},
        recommendations=[
            SourceRecommendation(
                location=rec.location,
                kind=rec.kind,
                rule=rec.rule,
                text=rec.text,
                rule_source=rec.rule_source,
                evidence=rec.evidence,
                impact=round(rec.impact, 2),
            )
            for rec in findings.recommendations[:SOURCE_RECOMMENDATIONS]
        ],
        note=note,
    )


def _names_in(result: AnalyzeTraceResult) -> list[str]:
    cpu = result.cpu
    names = [r.name for r in cpu.top_self + (cpu.top_self_managed or []) + cpu.top_inclusive]
    for site in result.allocations.by_site:
        names += site.frames
    for wait in result.contention.top + result.contention.waits.top:
        names += [wait.site, *wait.frames]
    return names


ANALYZE_TRACE_TOOL = Tool.from_function(
    analyze_trace,
    long_running=True,
    cut_hint="Call analyze_trace with a smaller top, or detail set to one section.",
)
