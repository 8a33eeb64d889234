"""The ``analyze_trace`` tool: the native trace analysis, as a compact summary for the model."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tools.analysis.analyze import analyze_trace_file
from tools.analysis.results import TraceAnalysis
from tools.base import RESULT_TEXT_MAX_CHARS, Tool, ToolContext
from tools.errors import ToolError
from tools.hang_context import compact_awaits, compact_verdict, hang_context, verdict_locator
from tools.nettrace.model import TraceFormatError

STACK_FRAMES = 5
FRAME_CHARS = 80
SITES = 3
THREADS = 5
SOURCE_LINKS = 15
"""Most frame -> file:line links in one result."""
SOURCE_RECOMMENDATIONS = 6
"""Most source-linked recommendations in one result."""
FIT_CHARS = RESULT_TEXT_MAX_CHARS - 1_500
"""What the analysis may take of a result, leaving room for source links added after it."""


class AnalyzeTraceArgs(BaseModel):
    """Input of analyze_trace."""

    model_config = ConfigDict(extra="forbid")

    trace_path: str = Field(
        description="The .nettrace file (or a .zip holding one); relative paths are resolved "
        "against the target repository."
    )
    top: int = Field(default=15, ge=1, le=50, description="Length of each top list (1-50).")
    messages: int | None = Field(
        default=None,
        ge=1,
        description="Messages produced/consumed in the traced phase, to tell per-message from "
        "per-batch allocations (defaults to what trace_collect reported).",
    )
    target_prefix: str | None = Field(
        default=None, description="Namespace prefix of the code under study (default 'Dekaf.')."
    )


class SourceRecommendation(BaseModel):
    """One measured finding tied to the line to change and the target's rule."""

    location: str = Field(description="file:line in the repository.")
    kind: str = Field(description="cpu, allocation, contention or deadlock.")
    rule: str = Field(description="The rule id the change follows.")
    text: str = Field(description="What to change and why, with the numbers.")
    rule_source: str = Field(description="Where the target states the rule (CLAUDE.md line).")


class AnalyzeTraceResult(TraceAnalysis):
    """A bounded summary of the analysis (top lists and stacks cut), with source links."""

    source_links: dict[str, str] = Field(
        default_factory=dict,
        description="Target frames (as cut in this result) -> file:line in the repository.",
    )
    source_recommendations: list[SourceRecommendation] = Field(
        default_factory=list,
        description="Changes at concrete lines backed by this trace's evidence, strongest first.",
    )


def _frame(name: str) -> str:
    return name if len(name) <= FRAME_CHARS else name[: FRAME_CHARS - 1] + "…"


def _stack(frames: list[str]) -> list[str]:
    return [_frame(f) for f in frames[-STACK_FRAMES:]]


def compact(analysis: TraceAnalysis, top: int) -> AnalyzeTraceResult:
    """Cuts an analysis down to what fits a tool result (a few thousand tokens): the top lists
    and stacks first, then, while the JSON is still over the cap, the least telling parts."""
    result = _cut(analysis, top)
    for trim in _TRIMS:
        if len(result.model_dump_json(exclude_none=True)) <= FIT_CHARS:
            break
        trim(result)
    return result


def _cut(analysis: TraceAnalysis, top: int) -> AnalyzeTraceResult:
    cpu = analysis.cpu.model_copy(deep=True)
    cpu.top_self = cpu.top_self[:top]
    cpu.top_self_managed = cpu.top_self_managed[: min(top, 5)]
    cpu.top_inclusive = cpu.top_inclusive[: min(top, 10)]
    for stat in cpu.top_self + cpu.top_self_managed + cpu.top_inclusive:
        stat.name = _frame(stat.name)
    allocs = analysis.allocations.model_copy(deep=True)
    allocs.by_type = allocs.by_type[: min(top, 10)]
    allocs.by_site = allocs.by_site[: min(top, SITES)]
    for site in allocs.by_site:
        site.frames = _stack(site.frames)
    locks = analysis.contention.model_copy(deep=True)
    for section in (locks, locks.waits):
        section.top = section.top[: min(top, SITES)]
        for wait in section.top:
            wait.frames = _stack(wait.frames)
    deadlock = analysis.deadlock.model_copy(deep=True)
    deadlock.evidence = deadlock.evidence[:SITES]
    for evidence in deadlock.evidence:
        evidence.stacks = [_stack(s) for s in evidence.stacks]
    return AnalyzeTraceResult(
        trace=analysis.trace,
        events_by_provider=analysis.events_by_provider,
        cpu=cpu,
        allocations=allocs,
        contention=locks,
        deadlock=deadlock,
        gc=analysis.gc,
        awaits=compact_awaits(analysis.awaits),
        thread_pool=analysis.thread_pool,
        hang_verdict=compact_verdict(analysis.hang_verdict),
        threads=analysis.threads[:THREADS],
        notes=analysis.notes,
    )


def _fewer_wait_frames(result: AnalyzeTraceResult) -> None:
    for section in (result.contention, result.contention.waits):
        for site in section.top:
            site.frames = site.frames[-2:]
    for evidence in result.deadlock.evidence:
        evidence.stacks = [stack[-2:] for stack in evidence.stacks]


def _fewer_methods(result: AnalyzeTraceResult) -> None:
    result.cpu.top_inclusive = result.cpu.top_inclusive[:5]
    result.cpu.top_self = result.cpu.top_self[:8]
    result.threads = result.threads[:3]


def _fewer_sites(result: AnalyzeTraceResult) -> None:
    result.contention.top = result.contention.top[:2]
    result.contention.waits.top = result.contention.waits.top[:2]
    result.allocations.by_site = result.allocations.by_site[:2]


_TRIMS = (_fewer_wait_frames, _fewer_methods, _fewer_sites)
"""Applied in order while a result is over :data:`FIT_CHARS` (the hang verdict stays whole)."""


def analyze_trace(args: AnalyzeTraceArgs, ctx: ToolContext) -> AnalyzeTraceResult:
    """Analyse a .nettrace file natively: hot methods (self/inclusive, Dekaf vs runtime vs
    native share), allocations by type and stack (per-message vs per-batch), lock contention
    and wait durations, GC pauses, and one hang verdict with its evidence (lock-order deadlock,
    async hang, sync-over-async starvation, stall without evidence, or no hang).

    Use it on the trace trace_collect wrote (its trace_path) or any .nettrace the user names.
    The result is a summary: top lists are cut to `top` and stacks to the 12 frames nearest
    the leaf; frame names are `module!Namespace.Type.Method(args)`, ready for find_source.
    `hang_verdict` answers "is there a deadlock/hang?" with its evidence (lock-order deadlock,
    async hang, sync-over-async starvation, stall without evidence, or no hang), using the
    stack snapshot and stall of the same run when there were any.
    """
    path = Path(args.trace_path).expanduser()
    if not path.is_absolute():
        path = ctx.repo / path
    if not path.is_file():
        raise ToolError(f"Trace file not found: {path}")
    messages = args.messages or ctx.state.get("messages")
    size = path.stat().st_size

    def progress(done: int) -> None:
        ctx.progress(f"analysing {path.name}: {done / 1e6:.0f} MB read", done, size)

    snapshot, stall = hang_context(ctx, path)
    try:
        analysis = analyze_trace_file(
            path,
            top=args.top,
            messages=messages if isinstance(messages, int) and messages > 0 else None,
            target_prefix=args.target_prefix or "Dekaf.",
            progress=progress,
            snapshot=snapshot,
            stall=stall,
            locate=verdict_locator(ctx),
        )
    except TraceFormatError as exc:
        raise ToolError(f"{path} is not a readable trace: {exc}") from None
    result = compact(analysis, args.top)
    link_to_source(result, analysis, ctx, args.target_prefix or "Dekaf.")
    return result


def link_to_source(
    result: AnalyzeTraceResult, analysis: TraceAnalysis, ctx: ToolContext, target_prefix: str
) -> None:
    """Adds file:line links and line-level recommendations when the repo holds C# sources.

    Linking is a bonus on top of the numbers: when it fails, the analysis still stands and a
    note says why.
    """
    from tools.source.find_source import get_index
    from tools.source.recommend import link_and_recommend

    try:
        index = get_index(ctx)
        if not index.files:
            return
        findings = link_and_recommend(
            analysis.model_dump(mode="json"),
            ctx.repo,
            target_prefix=target_prefix,
            index=index,
            max_recommendations=SOURCE_RECOMMENDATIONS,
        )
    except (ToolError, OSError, ValueError) as exc:
        result.notes.append(f"Findings were not linked to source: {exc}")
        return
    links = list(findings.links.items())[:SOURCE_LINKS]
    result.source_links = {_frame(name): link.location for name, link in links}
    result.source_recommendations = [
        SourceRecommendation(
            location=f"{rec.file}:{rec.line}",
            kind=rec.kind,
            rule=rec.rule,
            text=rec.text,
            rule_source=rec.rule_source,
        )
        for rec in findings.recommendations
    ]


ANALYZE_TRACE_TOOL = Tool.from_function(analyze_trace, long_running=True)
