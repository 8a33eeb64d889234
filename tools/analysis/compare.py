"""``pta compare BASE NEW``: what got hotter, which allocations and lock waits are new or grew.

Shares (percent of samples, percent of allocated bytes) are compared rather than absolute
counts, because two traces rarely cover the same length of time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from tools.analysis.analyze import analyze_trace_file
from tools.analysis.markdown import code
from tools.analysis.results import AllocationSite, MethodStat, TraceAnalysis, WaitSite
from tools.analysis.source import Progress

GREW_POINTS = 0.5
"""A share must grow by at least this many percentage points to be reported."""
DEEP_TOP = 500


class MethodDelta(BaseModel):
    """A method whose share of samples changed."""

    name: str
    base_percent: float
    new_percent: float
    delta: float


class AllocationDelta(BaseModel):
    """An allocation type or site that is new or takes a larger share of the bytes."""

    name: str
    types: list[str] = Field(default_factory=list)
    base_percent: float
    new_percent: float
    delta: float
    new_bytes: int
    is_new: bool


class ContentionDelta(BaseModel):
    """A lock-wait site that is new or waits longer."""

    site: str
    base_events: int
    new_events: int
    base_total_ms: float
    new_total_ms: float
    base_max_ms: float
    new_max_ms: float
    is_new: bool


class Comparison(BaseModel):
    """The differences between two analyses."""

    base: str
    new: str
    samples: tuple[int, int]
    allocated_bytes: tuple[int, int]
    contention_ms: tuple[float, float]
    gc_count: tuple[int, int]
    self_grew: list[MethodDelta]
    inclusive_grew: list[MethodDelta]
    allocation_types: list[AllocationDelta]
    allocation_sites: list[AllocationDelta]
    contention: list[ContentionDelta]
    deadlock: tuple[bool, bool]


def compare_files(
    base: str | Path, new: str | Path, *, top: int = 15, target_prefix: str = "Dekaf.",
    progress: Progress | None = None,
) -> Comparison:  # fmt: skip
    """Analyses both traces (deep top lists) and compares them."""
    a = analyze_trace_file(base, top=DEEP_TOP, target_prefix=target_prefix, progress=progress)
    b = analyze_trace_file(new, top=DEEP_TOP, target_prefix=target_prefix, progress=progress)
    return compare(a, b, top=top)


def compare(base: TraceAnalysis, new: TraceAnalysis, *, top: int = 15) -> Comparison:
    """The differences between two analyses, each list cut to ``top``."""
    return Comparison(
        base=base.trace.path,
        new=new.trace.path,
        samples=(base.cpu.samples, new.cpu.samples),
        allocated_bytes=(base.allocations.bytes, new.allocations.bytes),
        contention_ms=(base.contention.total_ms, new.contention.total_ms),
        gc_count=(base.gc.count, new.gc.count),
        self_grew=_methods(base.cpu.top_self, new.cpu.top_self)[:top],
        inclusive_grew=_methods(base.cpu.top_inclusive, new.cpu.top_inclusive)[:top],
        allocation_types=_types(base, new)[:top],
        allocation_sites=_sites(base.allocations.by_site, new.allocations.by_site)[:top],
        contention=_contention(base.contention.top, new.contention.top)[:top],
        deadlock=(base.deadlock.suspected, new.deadlock.suspected),
    )


def _methods(base: list[MethodStat], new: list[MethodStat]) -> list[MethodDelta]:
    before = {m.name: m.percent for m in base}
    grew = [
        MethodDelta(
            name=m.name,
            base_percent=before.get(m.name, 0.0),
            new_percent=m.percent,
            delta=round(m.percent - before.get(m.name, 0.0), 2),
        )
        for m in new
    ]
    return sorted((d for d in grew if d.delta >= GREW_POINTS), key=lambda d: -d.delta)


def _types(base: TraceAnalysis, new: TraceAnalysis) -> list[AllocationDelta]:
    before = {t.type: t.percent for t in base.allocations.by_type}
    found = []
    for t in new.allocations.by_type:
        was = before.get(t.type)
        delta = round(t.percent - (was or 0.0), 2)
        if was is None or delta >= GREW_POINTS:
            found.append(
                AllocationDelta(
                    name=t.type,
                    types=[t.type],
                    base_percent=was or 0.0,
                    new_percent=t.percent,
                    delta=delta,
                    new_bytes=t.bytes,
                    is_new=was is None,
                )
            )
    return sorted(found, key=lambda d: (not d.is_new, -d.delta))


def _site_key(site: AllocationSite) -> str:
    where = site.target_frame or (site.frames[-1] if site.frames else "(no stack)")
    return f"{where} [{site.types[0] if site.types else '?'}]"


def _sites(base: list[AllocationSite], new: list[AllocationSite]) -> list[AllocationDelta]:
    before: dict[str, float] = {}
    for s in base:
        before[_site_key(s)] = before.get(_site_key(s), 0.0) + s.percent
    merged: dict[str, AllocationDelta] = {}
    for s in new:
        key = _site_key(s)
        was = before.get(key)
        entry = merged.get(key)
        if entry is None:
            entry = merged[key] = AllocationDelta(
                name=key, types=s.types, base_percent=was or 0.0, new_percent=0.0, delta=0.0,
                new_bytes=0, is_new=was is None,
            )  # fmt: skip
        entry.new_percent = round(entry.new_percent + s.percent, 2)
        entry.new_bytes += s.bytes
        entry.delta = round(entry.new_percent - entry.base_percent, 2)
    found = [d for d in merged.values() if d.is_new or d.delta >= GREW_POINTS]
    return sorted(found, key=lambda d: (not d.is_new, -d.delta))


def _contention(base: list[WaitSite], new: list[WaitSite]) -> list[ContentionDelta]:
    before: dict[str, WaitSite] = {}
    for s in base:
        before.setdefault(s.site, s)
    found = []
    for s in new:
        was = before.get(s.site)
        longer = was is not None and (
            s.max_ms > was.max_ms * 1.1 or s.total_ms > was.total_ms * 1.1 + 0.1
        )
        if was is None or longer:
            found.append(
                ContentionDelta(
                    site=s.site,
                    base_events=was.events if was else 0,
                    new_events=s.events,
                    base_total_ms=was.total_ms if was else 0.0,
                    new_total_ms=s.total_ms,
                    base_max_ms=was.max_ms if was else 0.0,
                    new_max_ms=s.max_ms,
                    is_new=was is None,
                )
            )
    return sorted(found, key=lambda d: -(d.new_total_ms - d.base_total_ms))


def render_comparison(c: Comparison) -> str:
    """A short Markdown summary of the comparison."""
    out = [
        f"# Compare: {Path(c.base).name} → {Path(c.new).name}",
        "",
        f"Samples {c.samples[0]:,} → {c.samples[1]:,}; sampled allocation "
        f"{c.allocated_bytes[0] / 1e6:.1f} → {c.allocated_bytes[1] / 1e6:.1f} MB; lock waits "
        f"{c.contention_ms[0]:.1f} → {c.contention_ms[1]:.1f} ms; GCs {c.gc_count[0]} → "
        f"{c.gc_count[1]}; deadlock suspected {c.deadlock[0]} → {c.deadlock[1]}.",
        "",
        "## Methods whose share grew (self)",
        "",
    ]
    out += [
        f"- {code(d.name)}: {d.base_percent:.2f} % → {d.new_percent:.2f} % (+{d.delta:.2f})"
        for d in c.self_grew
    ] or ["- none"]
    out += ["", "## Methods whose share grew (inclusive)", ""]
    out += [
        f"- {code(d.name)}: {d.base_percent:.2f} % → {d.new_percent:.2f} % (+{d.delta:.2f})"
        for d in c.inclusive_grew
    ] or ["- none"]
    out += ["", "## Allocations new or grown", ""]
    for d in c.allocation_types + c.allocation_sites:
        tag = "NEW" if d.is_new else f"+{d.delta:.2f} pts"
        out.append(
            f"- {tag} {code(d.name)}: {d.new_percent:.2f} % of bytes ({d.new_bytes / 1e6:.2f} MB)"
        )
    if not (c.allocation_types or c.allocation_sites):
        out.append("- none")
    out += ["", "## Contention new or longer", ""]
    for w in c.contention:
        tag = "NEW" if w.is_new else "longer"
        out.append(
            f"- {tag} {code(w.site)}: {w.base_events} → {w.new_events} waits, total "
            f"{w.base_total_ms:.3f} → {w.new_total_ms:.3f} ms, "
            f"max {w.base_max_ms:.3f} → {w.new_max_ms:.3f} ms"
        )
    if not c.contention:
        out.append("- none")
    return "\n".join(out) + "\n"
