"""The before/after report: the verdict on its first line, then the four report sections.

Only significant changes are shown; every compared metric (with its interval and the per-run
values) is in the JSON beside the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from tools.analysis.markdown import code, short
from tools.analysis.run_measures import Family
from tools.analysis.significance import MetricChange, Significance

FAMILY_WORDS: dict[Family, str] = {
    "throughput": "throughput",
    "cpu_self": "CPU share (self)",
    "cpu_inclusive": "CPU share (inclusive)",
    "alloc_site": "allocation at",
    "alloc_type": "allocation of",
    "lock_waits": "lock waits at",
    "lock_time": "lock wait time at",
}
MAX_ROWS = 12
ONE_RUN_NOTE = (
    "one run on a side: run-to-run variation cannot be measured, so the intervals rest on "
    "sampling noise alone and are too narrow; compare 3 runs per side"
)


class SourceLocation(BaseModel):
    """Where a method is declared at one revision."""

    file: str = Field(description="Path relative to the repository root.")
    start_line: int
    end_line: int

    def text(self) -> str:
        """``file:start-end``."""
        return f"{self.file}:{self.start_line}-{self.end_line}"


class SourceLink(BaseModel):
    """A changed method's source at both revisions (None: not found there)."""

    name: str = Field(description="The frame as the trace names it.")
    base: SourceLocation | None
    head: SourceLocation | None


@dataclass
class ReportContext:
    """What the report names besides the numbers.

    Attributes:
        base: the base side as printed (`` `def5678` (main)`` or a trace file).
        new: the new side as printed.
        setup: how the runs were made (scenario, preset, window), '' for trace files.
        links: changed methods' source at both revisions.
        base_ref, head_ref: the revisions' short ids (for the links), '' for trace files.
        commits: Markdown lines, one per commit between BASE and HEAD touching those files.
        notes: anything else the reader must know.
    """

    base: str
    new: str
    setup: str = ""
    links: list[SourceLink] = field(default_factory=list)
    base_ref: str = ""
    head_ref: str = ""
    commits: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def verdict_line(sig: Significance, ctx: ReportContext) -> str:
    """The report's first line: the answer to "did it get slower / allocate more?"."""
    runs = f"{sig.base_runs}+{sig.new_runs} runs"
    regressions = sig.regressions()
    significant = sig.significant()
    if regressions:
        top = _headline(regressions)
        more = len(regressions) - 1
        also = f"; {more} more regression{'s' if more != 1 else ''} below" if more else ""
        return (
            f"**Regression** in {ctx.new} against {ctx.base}: {describe(top, ctx)}, "
            f"significant over {runs}{also}."
        )
    if significant:
        top = _headline(significant)
        return (
            f"**Improvement** in {ctx.new} against {ctx.base}, no regression: "
            f"{describe(top, ctx)}, significant over {runs}."
        )
    return (
        f"**No significant change** in {ctx.new} against {ctx.base} over {runs} "
        f"({len(sig.changes)} metrics compared: CPU per method, allocations, lock waits"
        f"{', throughput' if _has(sig, 'throughput') else ''})."
    )


def _headline(changes: list[MetricChange]) -> MetricChange:
    """The largest change that names code (a method or site), else the largest."""
    return next((c for c in changes if c.family not in ("alloc_type", "throughput")), changes[0])


def describe(change: MetricChange, ctx: ReportContext) -> str:
    """One change in words: ``RecordAccumulator.EncodeRecord`` allocates 1,032 B/msg more."""
    amount = f"{_number(abs(change.delta))} {change.unit}"
    more = "more" if change.delta > 0 else "less"
    where = _where(change.name, ctx)
    if change.family == "throughput":
        word = "lower" if change.delta < 0 else "higher"
        return f"throughput {_number(abs(change.delta))} msg/s {word} ({_percent(change)})"
    if change.family in ("cpu_self", "cpu_inclusive"):
        kind = "self" if change.family == "cpu_self" else "inclusive"
        return f"{where} takes {amount} {more} ({kind}; {_number(change.base)} → " \
               f"{_number(change.new)} %)"  # fmt: skip
    if change.family == "alloc_site":
        frame, kind = split_site(change.name)
        return f"{_where(frame, ctx)} allocates {amount} {more} ({kind})"
    if change.family == "alloc_type":
        return f"{code(change.name)} is allocated {amount} {more}"
    return f"{where}: {FAMILY_WORDS[change.family].removesuffix(' at')} {amount} {more}"


def render_significance(sig: Significance, ctx: ReportContext) -> str:
    """The whole Markdown report."""
    out = [verdict_line(sig, ctx), ""]
    if ctx.setup:
        out += [ctx.setup, ""]
    out += _throughput(sig)
    out += _section("Hot Paths & CPU Time", sig, ("cpu_self", "cpu_inclusive"), ctx)
    out += _section("Allocations", sig, ("alloc_site", "alloc_type"), ctx)
    out += _section("Contention & Deadlocks", sig, ("lock_waits", "lock_time"), ctx)
    out += _where_to_look(sig, ctx)
    notes = list(ctx.notes)
    if min(sig.base_runs, sig.new_runs) < 2:
        notes.append(ONE_RUN_NOTE)
    if notes:
        out += ["", "Notes:", *[f"- {n}" for n in notes]]
    return "\n".join(out).rstrip() + "\n"


def _throughput(sig: Significance) -> list[str]:
    found = [c for c in sig.changes if c.family == "throughput"]
    if not found:
        return ["Throughput: not measured (trace files carry no message rate).", ""]
    c = found[0]
    runs = (
        ", ".join(_number(v) for v in c.base_runs)
        + " → "
        + ", ".join(_number(v) for v in c.new_runs)
    )
    interval = f", 95 % CI {_ci(c)}" if c.ci_low is not None else ""
    return [f"Throughput (msg/s per run): {runs}; {_percent(c)}{interval}: **{c.verdict}**.", ""]


def _section(
    heading: str, sig: Significance, families: tuple[Family, ...], ctx: ReportContext
) -> list[str]:
    out = [f"## {heading}", ""]
    compared = [c for c in sig.changes if c.family in families]
    shown = [c for c in sig.significant() if c.family in families][:MAX_ROWS]
    if not compared:
        return [*out, "Nothing measured on either side (the `all` preset traces CPU, "
                "allocations and lock waits).", ""]  # fmt: skip
    if not shown:
        count = len(compared)
        return [*out, f"No significant change ({count} compared; all in the JSON).", ""]
    out += [
        f"| what | base | new | change | 95 % CI (simultaneous, z = {sig.z:.2f}) | verdict |",
        "|---|---:|---:|---:|---|---|",
    ]
    for c in shown:
        out.append(
            f"| {FAMILY_WORDS[c.family]} {_name(c)} | {_number(c.base)} | {_number(c.new)} | "
            f"{_signed(c.delta)} {c.unit} | {_ci(c)} | **{c.verdict}** |"
        )
    rest = len(compared) - len(shown)
    return [*out, "", f"{rest} other metrics: no significant change (in the JSON).", ""]


def _where_to_look(sig: Significance, ctx: ReportContext) -> list[str]:
    out = ["## Recommendations", ""]
    if not sig.significant():
        return [*out, "Nothing to act on: no change is larger than the noise between runs."]
    if ctx.links:
        out.append("Start with the changed methods, at both revisions:")
        for link in ctx.links:
            base = link.base.text() if link.base else "not in this revision"
            head = link.head.text() if link.head else "not in this revision"
            out.append(
                f"- {code(method(link.name))}: {base} at {ctx.base_ref} → {head} at {ctx.head_ref}"
            )
        out.append("")
    if ctx.base_ref:
        if ctx.commits:
            out += ["Commits between BASE and HEAD that touched those files:", *ctx.commits]
        else:
            out.append("No commit between BASE and HEAD touched those files (a caller changed).")
    return out


def _where(frame: str, ctx: ReportContext) -> str:
    for link in ctx.links:
        if link.name == frame and link.head is not None:
            return f"{code(method(frame))} (`{link.head.file}:{link.head.start_line}`)"
    return code(method(frame))


def _name(c: MetricChange) -> str:
    if c.family == "alloc_site":
        frame, kind = split_site(c.name)
        return f"{code(method(frame))} ({kind})"
    if c.family == "alloc_type":
        return code(c.name)
    return code(method(c.name))


def split_site(name: str) -> tuple[str, str]:
    """``frame [Type]`` → (frame, Type)."""
    frame, _, kind = name.rpartition(" [")
    return frame, kind.removesuffix("]")


def method(frame: str) -> str:
    """``Namespace.Type.Method`` of a frame: no module, no parameter list."""
    return short(frame).split("(", 1)[0]


def _has(sig: Significance, family: Family) -> bool:
    return any(c.family == family for c in sig.changes)


def _ci(c: MetricChange) -> str:
    if c.ci_low is None or c.ci_high is None:
        return "—"
    return f"[{_signed(c.ci_low)}, {_signed(c.ci_high)}]"


def _percent(c: MetricChange) -> str:
    return "new" if c.relative is None else f"{c.relative * 100:+.1f} %"


def _signed(value: float) -> str:
    return ("+" if value > 0 else "−" if value < 0 else "") + _number(abs(value))


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
