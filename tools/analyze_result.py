"""What ``analyze_trace`` returns to the model: the analysis, summary first, cut by structure.

The full :class:`~tools.analysis.results.TraceAnalysis` (the ``pta analyze --json`` contract)
holds raw event-id tables, two code-share breakdowns, repeated top lists and frame names of
hundreds of characters. The model needs less, and in its own terms: headline sentences first,
then each section with a few rows; frame names without module and argument list (the form
``find_source`` takes); one-sample rows and repeated lists left out, and a ``left_out`` note
naming every cut and the argument that shows it (``top``, ``detail``), never a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from tools.analysis.hang_models import AwaitSection, HangVerdict, ThreadPoolSection
from tools.analysis.results import (
    AllocationSection,
    CodeShare,
    ContentionSection,
    DeadlockSection,
    GCSection,
    LockSpin,
    MethodStat,
    ThreadStat,
    TraceAnalysis,
    WaitSection,
)
from tools.hang_context import compact_awaits, compact_verdict
from tools.units import human_bytes, human_count

Detail = Literal["summary", "cpu", "allocations", "contention", "gc", "events"]

SUMMARY_FRAMES = 5
"""Frames kept per stack (nearest the leaf) in the summary view."""
DETAIL_FRAMES = 12
"""Frames kept per stack in the section ``detail`` asks for."""
SUMMARY_ROWS = {"top_inclusive": 10, "by_type": 10, "by_site": 3, "waits": 3, "threads": 5}
"""Most rows per list in the summary view (``top`` may ask for fewer)."""
MANAGED_EXTRA_ROWS = 5
"""Most on-CPU managed methods listed beyond those top_self already names."""
FRAME_MAX_CHARS = 120
"""Past this length a frame name also loses its generic instantiations (``[System.__Canon]``)."""

_ARGS = re.compile(r"(?<=[\w>\]`])\(.*\)$")
_INSTANTIATION = re.compile(r"\[[^\[\]]*\]")


def short_frame(frame: str) -> str:
    """``module!Ns.Type.Method(args)`` -> ``Ns.Type.Method``: the name find_source resolves.

    Never cut inside a name: a name still longer than :data:`FRAME_MAX_CHARS` drops its generic
    instantiations, which find_source ignores anyway.
    """
    name = frame
    bang, paren = name.find("!"), name.find("(")
    if bang > 0 and (paren < 0 or bang < paren):
        name = name[bang + 1 :]
    if name != "?!?":
        name = _ARGS.sub("", name)
    previous = None
    while len(name) > FRAME_MAX_CHARS and previous != name:
        previous, name = name, _INSTANTIATION.sub("", name)
    return name or frame


class TraceInfo(BaseModel):
    """What was analysed."""

    path: str = Field(description="The trace file.")
    format: str = Field(description="Trace format.")
    duration_s: float = Field(description="Seconds from the first to the last event.")
    events: int = Field(description="Event records read.")
    size_bytes: int = Field(description="File size.")
    truncated: bool = Field(description="The trace ends early; the analysis covers what exists.")


class CpuView(BaseModel):
    """Hot paths: samples, where they landed, the top methods."""

    collected: bool
    samples: int
    managed_samples: int
    external_samples: int = Field(description="Samples outside managed code (native, blocked).")
    sampled_threads: int
    share: CodeShare = Field(description="Percent of all samples by code kind (leaf frame).")
    target_prefix: str
    target_inclusive_percent: float
    top_self: list[MethodStat] = Field(description="Methods by self samples.")
    top_self_managed: list[MethodStat] | None = Field(
        default=None,
        description="Methods hot by on-CPU managed samples that top_self does not list.",
    )
    top_inclusive: list[MethodStat] = Field(description="Methods by inclusive samples.")
    lock_spin: list[LockSpin] | None = Field(
        default=None,
        description=(
            "On-CPU samples spent acquiring locks, by the target method that asked (contention "
            "events count only waits that blocked)."
        ),
    )


class AllocationView(AllocationSection):
    """The allocations section as the model reads it: the types under each frame stay out
    (thousands of characters; check_guidelines weighs them itself)."""

    types_under: dict[str, dict[str, int]] = Field(default_factory=dict, exclude=True)


class AnalyzeTraceResult(BaseModel):
    """The analysis summary for the model: headline first, then bounded sections."""

    summary: list[str] = Field(description="The headline findings, one sentence each.")
    left_out: list[str] = Field(
        default_factory=list, description="What this result leaves out and how to see it."
    )
    trace: TraceInfo
    events_by_provider: dict[str, int] = Field(description="Events read per provider.")
    event_ids: dict[str, dict[str, int]] | None = Field(
        default=None, description="Events per provider and event id (detail='events' only)."
    )
    cpu: CpuView
    allocations: AllocationView
    contention: ContentionSection
    deadlock: DeadlockSection
    gc: GCSection
    awaits: AwaitSection = Field(
        default_factory=AwaitSection,
        description="Task awaits begun and never ended (hang preset).",
    )
    thread_pool: ThreadPoolSection = Field(
        default_factory=ThreadPoolSection, description="Thread-pool growth by adjustment reason."
    )
    hang_verdict: HangVerdict | None = Field(
        default=None, description="The one hang verdict with its evidence."
    )
    threads: list[ThreadStat]
    notes: list[str] = Field(description="What to know about the trace and the analysis.")
    source_links: dict[str, str] = Field(
        default_factory=dict, description="Target frames (as named here) -> file:line."
    )
    source_recommendations: list[SourceRecommendation] = Field(
        default_factory=list,
        description="Changes at concrete lines backed by this trace's evidence, strongest first.",
    )


class SourceRecommendation(BaseModel):
    """One measured finding tied to the line to change and the target's rule."""

    location: str = Field(description="file:line in the repository; empty: from the trace alone.")
    kind: str = Field(description="cpu, allocation, contention or deadlock.")
    rule: str = Field(description="The rule id the change follows.")
    text: str = Field(description="What to change and why, with the numbers.")
    rule_source: str = Field(description="Where the target states the rule (CLAUDE.md line).")
    evidence: str = Field(default="", description="The measured numbers behind it.")
    impact: float = Field(default=0.0, description="Measured share at the site (ranking key).")


AnalyzeTraceResult.model_rebuild()


@dataclass(frozen=True)
class View:
    """How much of each section to show: rows per top list, frames per stack."""

    rows: int
    detail: Detail

    def rows_for(self, section: str, key: str) -> int:
        """Rows of one list: all ``rows`` in the section asked for, fewer elsewhere."""
        if self.detail == section:
            return self.rows
        if self.detail != "summary":
            return 0
        return min(self.rows, SUMMARY_ROWS.get(key, self.rows))

    def frames_for(self, section: str) -> int:
        """Frames per stack in one section."""
        return DETAIL_FRAMES if self.detail == section else SUMMARY_FRAMES


def compact(analysis: TraceAnalysis, view: View) -> AnalyzeTraceResult:
    """The analysis as the model sees it in ``view`` (before any source links)."""
    left_out: list[str] = []
    result = AnalyzeTraceResult(
        summary=headline(analysis),
        left_out=left_out,
        trace=TraceInfo(**analysis.trace.model_dump(include=set(TraceInfo.model_fields))),
        events_by_provider={p: sum(ids.values()) for p, ids in analysis.events_by_provider.items()},
        event_ids=analysis.events_by_provider if view.detail == "events" else None,
        cpu=_cpu(analysis, view, left_out),
        allocations=_allocations(analysis.allocations, view),
        contention=_contention(analysis.contention, view),
        deadlock=_deadlock(analysis.deadlock, view),
        gc=analysis.gc,
        awaits=compact_awaits(analysis.awaits),
        thread_pool=analysis.thread_pool,
        hang_verdict=compact_verdict(analysis.hang_verdict),
        threads=analysis.threads[: view.rows_for("cpu", "threads")],
        notes=_notes(analysis),
    )
    if view.detail not in ("summary", "events"):
        result.left_out.append(
            f"Sections other than {view.detail} show totals only; call analyze_trace with "
            "detail='summary' for all of them."
        )
    if view.detail != "events":
        result.left_out.append(
            "events_by_provider holds totals; call analyze_trace with detail='events' for the "
            "counts per event id."
        )
    return result


def _cpu(analysis: TraceAnalysis, view: View, left_out: list[str]) -> CpuView:
    cpu = analysis.cpu
    self_rows = _methods(cpu.top_self, view.rows_for("cpu", "top_self"))
    inclusive = _methods(cpu.top_inclusive, view.rows_for("cpu", "top_inclusive"))
    shown = {row.name for row in self_rows}
    managed = [
        r for r in _methods(cpu.top_self_managed, len(cpu.top_self_managed)) if r.name not in shown
    ]
    managed = managed[: min(MANAGED_EXTRA_ROWS, view.rows_for("cpu", "top_self_managed"))]
    one_sample = sum(1 for row in cpu.top_self + cpu.top_inclusive if row.samples <= 1)
    if one_sample:
        left_out.append(f"{one_sample} method rows at one sample (noise) are left out.")
    return CpuView(
        collected=cpu.collected,
        samples=cpu.samples,
        managed_samples=cpu.managed_samples,
        external_samples=cpu.external_samples,
        sampled_threads=cpu.sampled_threads,
        share=cpu.share,
        target_prefix=cpu.target_prefix,
        target_inclusive_percent=cpu.target_inclusive_percent,
        top_self=self_rows,
        top_self_managed=managed or None,
        top_inclusive=inclusive,
        lock_spin=[
            row.model_copy(update={"site": short_frame(row.site), "via": short_frame(row.via)})
            for row in cpu.lock_spin[: view.rows_for("cpu", "top_self")]
            if row.samples > 1
        ]
        or None,
    )


def _methods(rows: list[MethodStat], limit: int) -> list[MethodStat]:
    kept = [row for row in rows if row.samples > 1][:limit]
    return [row.model_copy(update={"name": short_frame(row.name)}) for row in kept]


def _stack(frames: list[str], keep: int) -> list[str]:
    return [short_frame(frame) for frame in frames[-keep:]]


def _allocations(section: AllocationSection, view: View) -> AllocationView:
    out = AllocationView.model_validate(section.model_dump(exclude={"types_under"}))
    out.by_type = out.by_type[: view.rows_for("allocations", "by_type")]
    out.by_site = out.by_site[: view.rows_for("allocations", "by_site")]
    for site in out.by_site:
        site.frames = _stack(site.frames, view.frames_for("allocations"))
        site.target_frame = short_frame(site.target_frame) if site.target_frame else None
    return out


def _contention(section: ContentionSection, view: View) -> ContentionSection:
    out = section.model_copy(deep=True)
    for part in (out, out.waits):
        _waits(part, view)
    return out


def _waits(part: ContentionSection | WaitSection, view: View) -> None:
    part.top = part.top[: view.rows_for("contention", "waits")]
    for wait in part.top:
        wait.frames = _stack(wait.frames, view.frames_for("contention"))
        wait.site = short_frame(wait.site)


def _deadlock(section: DeadlockSection, view: View) -> DeadlockSection:
    out = section.model_copy(deep=True)
    for evidence in out.evidence:
        evidence.stacks = [_stack(s, view.frames_for("contention")) for s in evidence.stacks]
    return out


_PRESET_FOR = {
    "cpu": "No CPU samples in this trace: call trace_collect with preset cpu (or all).",
    "allocations": "No allocation samples in this trace: call trace_collect with preset alloc.",
    "contention": (
        "No lock contention or wait events in this trace: call trace_collect with preset "
        "contention (or all, which adds wait-handle waits on .NET 9+)."
    ),
}


def _notes(analysis: TraceAnalysis) -> list[str]:
    """The analysis notes, with what to collect said in tool terms instead of CLI flags."""
    notes = [note for note in analysis.notes if "--providers" not in note]
    for section, collected in (
        ("cpu", analysis.cpu.collected),
        ("allocations", analysis.allocations.collected),
        ("contention", analysis.contention.collected),
    ):
        if not collected:
            notes.append(_PRESET_FOR[section])
    return notes


def headline(analysis: TraceAnalysis) -> list[str]:
    """One sentence per section, with human units (the exact numbers are in the fields)."""
    cpu, al, locks, gc = analysis.cpu, analysis.allocations, analysis.contention, analysis.gc
    lines = []
    if cpu.collected:
        top = f"; hottest self {short_frame(cpu.top_self[0].name)} ({cpu.top_self[0].percent}%)"
        lines.append(
            f"CPU: {human_count(cpu.samples)} samples on {cpu.sampled_threads} threads over "
            f"{analysis.trace.duration_s:.1f} s, {cpu.share.target}% in "
            f"{cpu.target_prefix.rstrip('.')} code{top if cpu.top_self else ''}."
        )
    if al.collected:
        kind = f"; most by {al.by_type[0].type} ({al.by_type[0].percent}%)" if al.by_type else ""
        lines.append(
            f"Allocations: {human_count(al.ticks)} samples ≈ {human_bytes(al.bytes)}{kind}."
        )
    if locks.collected:
        lines.append(
            f"Contention: {human_count(locks.events)} lock waits, {locks.total_ms:,.1f} ms in "
            f"total, longest {locks.max_ms:,.1f} ms; {human_count(locks.waits.events)} "
            "wait-handle waits."
        )
    suspected = "suspected" if analysis.deadlock.suspected else "not suspected"
    lines.append(f"Deadlock: {suspected} ({len(analysis.deadlock.evidence)} observations).")
    if gc.collected:
        lines.append(f"GC: {gc.count} collections, {gc.total_pause_ms:,.1f} ms paused in total.")
    return lines
