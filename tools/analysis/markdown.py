"""The four-section Markdown report (design.md §6) from a ``TraceAnalysis``.

Every number comes from the analysis; a section whose data the trace does not hold says so and
names the dotnet-trace providers that collect it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.analysis.analyze import PRESETS
from tools.analysis.hang_markdown import verdict_lines
from tools.analysis.results import LockSpin, MethodStat, TraceAnalysis, WaitSite
from tools.nettrace.symbols import frame_method
from tools.source.findings import PRINTED_RECOMMENDATIONS, recommendation_dict

if TYPE_CHECKING:
    from tools.source.findings import SourceLinkedFindings

NAME_MAX = 110
SUSPICIOUS = {
    "System.Linq.": "LINQ",
    "System.Threading.Tasks.Task.Run": "Task.Run",
    "System.String.Format": "string formatting",
    "System.String.Concat": "string concatenation",
    "System.Runtime.CompilerServices.CastHelpers": "casts/boxing",
    "System.Threading.Monitor.Enter": "lock",
    "System.Exception": "exceptions",
}


def code(text: str) -> str:
    """An inline code span that survives backticks in generic names (``List`1``)."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def short(frame: str) -> str:
    """The method part of a frame, cut to a table-friendly length, pipes escaped."""
    name = frame_method(frame)
    if len(name) > NAME_MAX:
        name = name[: NAME_MAX - 1] + "…"
    return name.replace("|", "\\|")


def named(frame: str, links: Mapping[str, str]) -> str:
    """A frame as an inline code span, with its ``file:line`` when it is linked to source."""
    where = links.get(frame)
    return code(short(frame)) + (f" ({where})" if where else "")


def render_markdown(analysis: TraceAnalysis, findings: SourceLinkedFindings | None = None) -> str:
    """The whole report: heading, the four sections in order, notes.

    With ``findings`` (from ``tools.source.recommend.recommend``), target frames carry their
    ``file:line`` (labelled when not library code) and the Recommendations section prints the
    strongest of them; without, the advice from the trace alone.
    """
    links = findings.labels() if findings else {}
    trace = analysis.trace
    lines = [
        f"# Trace analysis: {Path(trace.path).name}",
        "",
        f"{trace.format}, pid {trace.pid}, {trace.duration_s:.3f} s of events, "
        f"{trace.events:,} events" + (" (TRUNCATED trace)" if trace.truncated else "") + ".",
        "",
    ]
    lines += _cpu(analysis, links) + _allocations(analysis, links)
    lines += _contention(analysis, links) + _recommendations(analysis, findings)
    notes = [n for n in analysis.notes if "collect with" not in n]  # sections already say so
    if notes:
        lines += ["", "### Notes", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines).rstrip() + "\n"


def _missing(what: str, preset: str) -> list[str]:
    return [
        f"Not collected: this trace has no {what}. "
        f"Collect it with `dotnet-trace collect {preset}`.",
        "",
    ]


def _method_table(
    title: str, stats: list[MethodStat], links: Mapping[str, str], limit: int = 10
) -> list[str]:
    if not stats:
        return []
    rows = [
        f"**{title}**",
        "",
        "| # | method | % | samples | managed | thread ms |",
        "|---|---|---|---|---|---|",
    ]
    for i, s in enumerate(stats[:limit], 1):
        rows.append(
            f"| {i} | {named(s.name, links)} | {s.percent:.2f} | {s.samples} | "
            f"{s.managed_samples} | {s.time_ms:.1f} |"
        )
    return rows + [""]


def _cpu(a: TraceAnalysis, links: Mapping[str, str]) -> list[str]:
    cpu = a.cpu
    out = ["## Hot Paths & CPU Time", ""]
    if not cpu.collected:
        return out + _missing("CPU samples (SampleProfiler)", PRESETS["cpu"])
    share, managed = cpu.share, cpu.managed_share
    out += [
        f"{cpu.samples:,} samples on {cpu.sampled_threads} thread(s): {cpu.managed_samples:,} in "
        f"managed code (on CPU), {cpu.external_samples:,} outside it (native, blocked or waiting).",
        "",
        f"All samples by leaf: target (`{cpu.target_prefix}*`) {share.target:.1f} %, "
        f".NET runtime/BCL {share.runtime:.1f} %, other managed {share.other_managed:.1f} %, "
        f"native/external {share.native_external:.1f} %, unresolved {share.unresolved:.1f} %. "
        f"Managed samples only: target {managed.target:.1f} %, runtime/BCL "
        f"{managed.runtime:.1f} %. Target code is on the stack in "
        f"{cpu.target_inclusive_percent:.1f} % of samples.",
        "",
    ]
    out += _method_table("Top methods by self samples (all samples)", cpu.top_self, links)
    out += _method_table(
        "Top methods by self samples (managed, on CPU)", cpu.top_self_managed, links
    )
    out += _method_table("Top methods by inclusive samples", cpu.top_inclusive, links)
    flagged = _suspicious(cpu.top_self_managed + cpu.top_inclusive)
    if flagged:
        out += ["Unexpected on hot paths: " + "; ".join(flagged) + ".", ""]
    return out


def _suspicious(stats: list[MethodStat]) -> list[str]:
    found: dict[str, str] = {}
    for s in stats:
        method = frame_method(s.name)
        for prefix, what in SUSPICIOUS.items():
            if _names(method, prefix) and s.percent >= 1.0:
                found.setdefault(method, f"{what} ({code(short(s.name))}, {s.percent:.1f} %)")
    return list(found.values())[:6]


def _names(method: str, prefix: str) -> bool:
    """Whether ``method`` is in the namespace or type ``prefix`` ends with, or is the member it
    names (``Task.Run`` and its generic forms, not ``Task.RunContinuations``; ``Monitor.Enter``
    and its ``Enter_Slowpath``)."""
    if not method.startswith(prefix):
        return False
    return prefix.endswith(".") or method[len(prefix) : len(prefix) + 1] in (
        "",
        "(",
        "[",
        "`",
        "_",
        ".",
    )


def _allocations(a: TraceAnalysis, links: Mapping[str, str]) -> list[str]:
    al, gc = a.allocations, a.gc
    out = ["## Allocations", ""]
    if gc.count:
        gens = ", ".join(
            f"gen{g.generation} ×{g.count} ({g.pause_ms_total:.1f} ms paused)"
            for g in gc.by_generation
        )
        out += [f"GCs: {gc.count} ({gens}); max pause {gc.max_pause_ms:.2f} ms.", ""]
    if not al.collected:
        return out + _missing("allocation ticks (GCAllocationTick)", PRESETS["allocations"])
    out += [f"{al.ticks:,} allocation ticks, ≈{al.bytes / 1e6:,.1f} MB sampled allocation."]
    if al.messages:
        out += [
            f"{al.messages:,} messages: ≈{al.bytes_per_message:,.1f} B/message; "
            f"{al.per_message_sites} site(s) allocate per message "
            + ("(hot path NOT allocation-free)." if al.per_message_sites else "(none per message).")
        ]
    out += ["", "| type | MB | ticks | % |", "|---|---|---|---|"]
    out += [
        f"| {code(t.type)} | {t.bytes / 1e6:.2f} | {t.ticks} | {t.percent:.1f} |"
        for t in al.by_type[:10]
    ]
    out += [
        "",
        "| allocating frame (target / leaf) | types | MB | % | per message |",
        "|---|---|---|---|---|",
    ]
    for s in al.by_site[:10]:
        where = s.target_frame or (s.frames[-1] if s.frames else "(no stack)")
        per = f"{s.bytes_per_message:.1f} B ({s.classification})" if s.classification else "—"
        types = ", ".join(code(t) for t in s.types[:3])
        out.append(
            f"| {named(where, links)} | {types} | {s.bytes / 1e6:.2f} | {s.percent:.1f} | {per} |"
        )
    return out + [""]


def _site_rows(sites: list[WaitSite], links: Mapping[str, str]) -> list[str]:
    rows = ["| site | events | total ms | max ms | owners |", "|---|---|---|---|---|"]
    for s in sites[:10]:
        owners = ", ".join(str(t) for t in s.owner_threads) or "—"
        rows.append(
            f"| {named(s.site, links)} | {s.events} | {s.total_ms:.3f} | {s.max_ms:.3f} "
            f"| {owners} |"
        )
    return rows + [""]


def lock_spin_lines(spin: Sequence[LockSpin], links: Mapping[str, str]) -> list[str]:
    """On-CPU time in locks' acquire paths, which contention events do not record (the
    offline planner's report says it with these lines too)."""
    if not spin:
        return []
    total = sum(r.samples for r in spin)
    share = sum(r.percent for r in spin)
    out = [
        f"Spinning to take locks: {total:,} on-CPU samples ({share:.1f} % of managed samples) "
        "in lock acquire paths at the sites below, by the target code that asked; contention "
        "events count only the waits that ended up blocking.",
        "",
        "| site | via | samples | % managed |",
        "|---|---|---|---|",
    ]
    for r in spin:
        out.append(
            f"| {named(r.site, links)} | {code(short(r.via))} | {r.samples} | {r.percent:.2f} |"
        )
    return out + [""]


def _contention(a: TraceAnalysis, links: Mapping[str, str]) -> list[str]:
    c, d = a.contention, a.deadlock
    out = ["## Contention & Deadlocks", ""]
    if not c.collected:
        out += _missing(
            "contention or wait events", f"{PRESETS['contention']} (waits: {PRESETS['waits']})"
        )
    else:
        out += [
            f"Lock contention: {c.events} waits, {c.total_ms:.3f} ms in total, longest "
            f"{c.max_ms:.3f} ms, {c.unfinished} still waiting at the end of the trace.",
            "",
        ]
        out += _site_rows(c.top, links) if c.top else []
    out += lock_spin_lines(a.cpu.lock_spin, links)
    if c.collected:
        w = c.waits
        if w.events or w.unfinished:
            out += [
                f"Wait handles: {w.events} waits, {w.total_ms:.3f} ms, longest {w.max_ms:.3f} ms, "
                f"{w.unfinished} unfinished.",
                "",
            ]
            out += _site_rows(w.top, links)
    if a.hang_verdict is not None:
        out += verdict_lines(a.hang_verdict)
        others = [e for e in d.evidence if e.kind != "cycle"]
        if others:
            out += [f"Other long waits ({len(others)}; not a hang by themselves):", ""]
            others = [e.model_copy(update={"message": _plain(e.message)}) for e in others[:3]]
    elif d.suspected:
        out += ["**Deadlock suspected** (from the trace alone):", ""]
        others = d.evidence
    else:
        others = d.evidence
        if c.collected:
            out += [
                "No deadlock suspected: no lock cycle and no wait left open for most of the trace.",
                "",
            ]
    for e in others:
        out.append(f"- {e.message}")
        for stack in e.stacks:
            out.append(
                "  - stack (leaf last): " + " → ".join(f"{code(short(f))}" for f in stack[-6:])
            )
    return out + ([""] if others else [])


def _plain(message: str) -> str:
    """An observation without the word that would contradict the verdict above it."""
    return message.removeprefix("Suspected: ").removeprefix("Suspected deadlock: ")


def _recommendations(a: TraceAnalysis, findings: SourceLinkedFindings | None) -> list[str]:
    if findings is None:
        from tools.source.recommend import recommend

        findings = recommend(a.model_dump(mode="json"), None, target_prefix=a.cpu.target_prefix)
    recs = [recommendation_dict(r) for r in findings.recommendations]
    out = ["## Recommendations", "", *recommendation_lines(recs, rules=findings.rules_source)]
    if not findings.links:
        out += [
            "No source linked: give `--repo` (or use `find_source`) for the exact file:line.",
            "",
        ]
    return out


def recommendation_lines(
    recs: Sequence[Mapping[str, Any]], *, rules: str = "", excerpts: bool = True
) -> list[str]:
    """The Recommendations section's body, the same for every Markdown report.

    Args:
        recs: recommendations as JSON dicts (``location``, ``kind``, ``rule``, ``text``,
            ``excerpt``), strongest measured impact first; the first few are printed.
        rules: where the rules come from (``CLAUDE.md``), named once.
        excerpts: print each recommendation's source excerpt.
    """
    if not recs:
        return [
            "Nothing in this trace points at a concrete change; collect the missing data "
            "(see above) or a longer trace under load, and give `--repo` to link it to source.",
            "",
        ]
    shown = list(recs[:PRINTED_RECOMMENDATIONS])
    cited = f" (rules: {rules})" if rules else ""
    lines = [f"Ranked by measured impact{cited}:", ""]
    for i, rec in enumerate(shown, 1):
        where = f"**`{rec.get('location')}`** " if rec.get("location") else ""
        lines.append(
            f"{i}. {where}({rec.get('kind')}, rule `{rec.get('rule')}`): {rec.get('text')}"
        )
        excerpt = str(rec.get("excerpt") or "")
        if excerpts and excerpt:
            lines += ["", "   ```csharp", *(f"   {x}" for x in excerpt.splitlines()), "   ```"]
    if len(recs) > len(shown):
        lines += ["", f"{len(recs) - len(shown)} more in the JSON output (`--json`)."]
    return lines + [""]
