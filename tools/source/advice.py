"""Advice from the trace alone, for evidence no source line explains (or with no repo at hand).

The same few sentences every report used to phrase its own way: a site measured allocating
per message, a contended lock, a suspected deadlock. Each carries its numbers and the rule it
follows, and is dropped when a source-linked recommendation already covers the same evidence.
"""

from __future__ import annotations

from typing import Any

from tools.source.analysis_json import rows
from tools.source.findings import Recommendation
from tools.source.rules import RuleSet


def trace_advice(
    analysis: dict[str, Any], rules: RuleSet, prefix: str, covered: set[str]
) -> list[Recommendation]:
    """Advice from the analysis's numbers; ``covered`` holds frames already recommended on."""
    pairs = [
        *_per_message_sites(analysis, rules),
        *_locks(analysis, rules, prefix),
        *_deadlock(analysis, rules),
    ]
    return [rec for frame, rec in pairs if frame not in covered]


def _method(frame: str) -> str:
    name = frame.split("!", 1)[-1]
    return name.split("(", 1)[0]


def _advice(
    text: str, rule: str, rules: RuleSet, kind: str, evidence: str, impact: float
) -> Recommendation:
    source = rules.citations.get(rule, f"general .NET guidance ({rule})")
    return Recommendation(
        text=f"{text}; {source}",
        file="",
        line=0,
        rule=rule,
        rule_source=source,
        kind=kind,
        evidence=evidence,
        excerpt="",
        impact=impact,
    )


Advice = tuple[str, Recommendation]


def _per_message_sites(analysis: dict[str, Any], rules: RuleSet) -> list[Advice]:
    out = []
    for site in rows(analysis.get("allocations"), "by_site"):
        frame = site.get("target_frame")
        if site.get("classification") != "per-message" or not frame:
            continue
        types = ", ".join(str(t) for t in (site.get("types") or [])[:2])
        per = float(site.get("bytes_per_message") or 0.0)
        text = (
            f"`{_method(str(frame))}` allocates {types} per message (≈{per:.0f} B/message): "
            "pool or reuse it per batch"
        )
        percent = float(site.get("percent", 0.0))
        evidence = f"{per:.1f} B/message, {percent:.1f} % of sampled bytes"
        rec = _advice(text, "alloc-in-loop", rules, "allocation", evidence, percent)
        out.append((str(frame), rec))
    return out


MIN_WAIT_SHARE = 0.01
"""A lock site is worth a change once its waits add up to 1 % of the traced window: below that
(one 2 ms wait in 8 s, a once-per-batch lock briefly met) the lock costs nothing measurable."""


def significant_wait(ms: float, analysis: dict[str, Any]) -> bool:
    """Whether ``ms`` of waiting at one site is worth acting on in this trace's window."""
    trace = analysis.get("trace")
    seconds = float(trace.get("duration_s") or 0.0) if isinstance(trace, dict) else 0.0
    return seconds <= 0 or ms >= MIN_WAIT_SHARE * seconds * 1000.0


def _locks(analysis: dict[str, Any], rules: RuleSet, prefix: str) -> list[Advice]:
    section = analysis.get("contention")
    total = float(section.get("total_ms", 0.0)) if isinstance(section, dict) else 0.0
    out = []
    for site in list(rows(section, "top"))[:3]:
        frame = str(site.get("site", ""))
        if not _method(frame).startswith(prefix):
            continue
        ms, events = float(site.get("total_ms", 0.0)), site.get("events", 0)
        if not significant_wait(ms, analysis):
            continue
        text = (
            f"Lock contention at `{_method(frame)}` ({events} waits, {ms:.1f} ms): shorten the "
            "locked region or hand the work to a channel"
        )
        share = 100.0 * ms / total if total else 0.0
        evidence = f"{events} waits, {ms:.1f} ms"
        out.append((frame, _advice(text, "lock", rules, "contention", evidence, share)))
    return out


def _deadlock(analysis: dict[str, Any], rules: RuleSet) -> list[Advice]:
    section = analysis.get("deadlock")
    if not isinstance(section, dict) or section.get("suspected") is not True:
        return []
    text = (
        "A deadlock is suspected: check the lock order of the blocked threads and never block "
        "(.Result/.Wait()) on work that needs a held lock"
    )
    evidence = str(next(rows(section, "evidence"), {}).get("message", "suspected"))[:160]
    return [("", _advice(text, "blocking-wait", rules, "deadlock", evidence, 100.0))]
