"""Links an analysis to the target's source and turns it into concrete recommendations.

``link_and_recommend`` takes the ``pta analyze --json`` dict (tools.analysis.results) and the
target repo, maps the hot, allocating and contended target frames to ``file:line`` and names the
change to make at which line, citing the rule of the target (its CLAUDE.md) it follows::

    findings = link_and_recommend(analysis, Path("~/src/Dekaf").expanduser())
    for rec in findings.recommendations:
        print(rec.text)   # "RecordAccumulator.cs:36 allocates `byte[]` per message …"

Pure: it reads only ``*.cs`` files and CLAUDE.md inside ``repo`` and returns data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.source.advice import significant_wait, trace_advice
from tools.source.alloc_sites import allocation_line, allocation_rule
from tools.source.analysis_json import (
    frames,
    rows,
    section,
    short_type,
    site_frames,
    strip_module,
)
from tools.source.find_source import FOUND_SCORE, resolve
from tools.source.findings import Recommendation, SourceLink, SourceLinkedFindings
from tools.source.frames import parse_frame
from tools.source.guidelines import Finding, deliberate, scan_symbol
from tools.source.rules import RULES_BY_ID, RuleSet, load_rules
from tools.source.symbol_index import Symbol, SymbolIndex, build_index
from tools.source.syntax import comments, flat
from tools.source.trace_evidence import TraceEvidence

HOT_SELF_PERCENT = 1.0
"""Target methods with at least this share of self CPU are scanned for rule breaches."""
CPU_RULES = frozenset(RULES_BY_ID) - {"lock", "blocking-wait", "configure-await"}
"""Rules CPU samples can back: a lock or a blocking wait is advised on with contention or
deadlock evidence, never because the method is merely hot."""
MAX_FINDINGS_PER_METHOD = 4

__all__ = [
    "Recommendation",
    "SourceLink",
    "SourceLinkedFindings",
    "link_and_recommend",
    "recommend",
]


def recommend(
    analysis: dict[str, Any],
    repo: Path | None,
    *,
    target_prefix: str = "Dekaf.",
    index: SymbolIndex | None = None,
) -> SourceLinkedFindings:
    """The findings every report renders: source-linked changes when ``repo`` is given, and
    advice from the trace alone for evidence no linked change covers; ranked by impact."""
    if repo is None:
        rules = load_rules(Path("/nonexistent"))
        advice = trace_advice(analysis, rules, target_prefix, set())
        return SourceLinkedFindings(recommendations=_ranked(advice), rules_source=rules.source)
    return link_and_recommend(analysis, repo, target_prefix=target_prefix, index=index)


def link_and_recommend(
    analysis: dict[str, Any],
    repo: Path,
    *,
    target_prefix: str = "Dekaf.",
    index: SymbolIndex | None = None,
    max_recommendations: int | None = None,
) -> SourceLinkedFindings:
    """Links an analysis's target frames to source and recommends changes at their lines.

    Only library code is recommended on (tests, benchmarks, tools and samples are linked and
    labelled). A rule whose text bans a construct per message is cited only where the analysis
    measured per-message allocation in that method; per-batch sites are left alone.

    Args:
        analysis: the ``pta analyze --json`` dict (``cpu``, ``allocations``, ``contention``,
            ``deadlock``); missing or empty sections are skipped.
        repo: the target repository (only its ``*.cs`` files and CLAUDE.md are read).
        target_prefix: namespace prefix of the code under study.
        index: a prebuilt symbol index of ``repo`` (built when None).
        max_recommendations: most recommendations returned (all when None).

    Returns:
        The links (frame -> file:line) and the recommendations, largest measured impact first.
    """
    ctx = _Linker(index or build_index(repo), load_rules(repo), target_prefix, analysis)
    ctx.per_message = ctx.per_message_methods(section(analysis, "allocations"))
    recs = [
        *ctx.allocations(section(analysis, "allocations")),
        *ctx.contention(section(analysis, "contention")),
        *ctx.deadlocks(section(analysis, "deadlock"), section(analysis, "hang_verdict")),
        *ctx.cpu(section(analysis, "cpu")),
    ]
    # With the source at hand, evidence the linker could not tie to a line stays a note: advice
    # without a line to change is not a change. Only a suspected deadlock is always said.
    advice = trace_advice(analysis, ctx.rules, target_prefix, ctx.covered)
    recs += [a for a in advice if a.kind == "deadlock"]
    out = SourceLinkedFindings(rules_source=ctx.rules.source, notes=ctx.notes)
    out.recommendations = _ranked(recs)[:max_recommendations]
    out.links = {name: link for name, link in ctx.links.items() if link is not None}
    missing = sorted(name for name, link in ctx.links.items() if link is None)
    if missing:
        out.notes.insert(0, f"{len(missing)} target frame(s) not found in source: {missing[:5]}")
    return out


def _ranked(recs: list[Recommendation]) -> list[Recommendation]:
    """Largest measured impact first; one recommendation per (file, line, rule)."""
    seen: set[tuple[str, int, str]] = set()
    out: list[Recommendation] = []
    for rec in sorted(recs, key=lambda r: -r.impact):
        key = (rec.file, rec.line, rec.rule) if rec.file else ("", len(out), rec.text)
        if key not in seen:
            seen.add(key)
            out.append(rec)
    return out


@dataclass
class _Linker:
    index: SymbolIndex
    rules: RuleSet
    prefix: str
    analysis: dict[str, Any]
    links: dict[str, SourceLink | None] = field(default_factory=dict)
    symbols: dict[str, Symbol | None] = field(default_factory=dict)
    per_message: set[Symbol] = field(default_factory=set)
    covered: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    def is_target(self, frame: str) -> bool:
        return strip_module(frame).startswith(self.prefix)

    def symbol(self, frame: str) -> Symbol | None:
        """The declaration of a target frame (cached), recording its link."""
        if frame in self.symbols:
            return self.symbols[frame]
        ref = parse_frame(frame)
        matches = resolve(self.index, ref) if ref else []
        best = matches[0].symbol if matches and matches[0].score >= FOUND_SCORE else None
        self.symbols[frame] = best
        self.links[frame] = (
            SourceLink(
                best.file,
                best.start_line,
                best.end_line,
                best.signature,
                self.index.category(best.file),
            )
            if best
            else None
        )
        return best

    def library(self, symbol: Symbol) -> bool:
        return self.index.category(symbol.file) == "library"

    def deepest_target(self, frames: Iterable[str]) -> tuple[str, Symbol] | None:
        """The leaf-most target frame (frames root first) that maps to source."""
        for frame in reversed(list(frames)):
            if self.is_target(frame):
                symbol = self.symbol(frame)
                if symbol is not None:
                    return frame, symbol
        return None

    def per_message_methods(self, allocs: dict[str, Any]) -> set[Symbol]:
        """Methods where the analysis measured per-message allocation."""
        found = set()
        for site in rows(allocs, "by_site", "by_stack", "top_sites"):
            if site.get("classification") == "per-message":
                target = self.deepest_target(site_frames(site))
                if target is not None:
                    found.add(target[1])
        return found

    def cpu(self, cpu: dict[str, Any]) -> list[Recommendation]:
        for row in rows(cpu, "top_inclusive", "top_self_managed"):
            if self.is_target(str(row.get("name", ""))):
                self.symbol(str(row["name"]))
        for row in rows(cpu, "lock_spin"):  # linked for the report's table, not advised on
            self.symbol(str(row.get("site", "")))
        recs: list[Recommendation] = []
        scanned: set[Symbol] = set()
        measured = TraceEvidence.of(self.analysis)
        for row in rows(cpu, "top_self"):
            name = str(row.get("name", ""))
            percent = float(row.get("percent", 0.0))
            if not self.is_target(name) or percent < HOT_SELF_PERCENT:
                continue
            symbol = self.symbol(name)
            if symbol is None or symbol in scanned or not self.library(symbol):
                continue
            scanned.add(symbol)
            evidence = f"{percent:.1f} % of CPU samples (self)"
            findings = [
                f
                for f in scan_symbol(self.index, symbol, self.rules, evidence=measured)
                if self._backed(f.rule, symbol) and not f.discounted
            ]
            recs += [
                self._from_finding(f, symbol, evidence, "cpu", percent)
                for f in findings[:MAX_FINDINGS_PER_METHOD]
            ]
        return recs

    def _backed(self, rule_id: str, symbol: Symbol) -> bool:
        """A per-message rule needs per-message allocation measured in that very method."""
        if rule_id not in CPU_RULES:
            return False
        return rule_id not in self.rules.per_message or symbol in self.per_message

    def allocations(self, allocs: dict[str, Any]) -> list[Recommendation]:
        recs: list[Recommendation] = []
        for site in rows(allocs, "by_site", "by_stack", "top_sites"):
            found = self.deepest_target(site_frames(site))
            if found is None or not self.library(found[1]):
                continue
            frame, symbol = found
            types = [str(t) for t in site.get("types") or [site.get("type", "object")]]
            at = allocation_line(self.index, symbol, types[0])
            where = f"{_short(symbol.file)}:{symbol.start_line} {symbol.signature}"
            if at is None:
                self.notes.append(
                    f"{where}: no expression in its body allocates {types[0]} per call (setup, lazy"
                    " initialisation and pool fallbacks excluded)"
                )
                continue
            line, rule_id = at
            if deliberate(comments(self.index.files[symbol.file].tree), line):
                self.notes.append(f"{where}: line {line} documents its allocation as deliberate")
                continue
            per_message = site.get("classification") == "per-message"
            if rule_id in self.rules.per_message and not per_message:
                how = site.get("classification") or "not classified (give the message count)"
                self.notes.append(f"{where} allocates {types[0]}: {how}, no per-message rule cited")
                continue
            self.covered.add(frame)
            recs.append(self._allocation(symbol, site, types[0], line, rule_id))
        return recs

    def contention(self, section: dict[str, Any]) -> list[Recommendation]:
        recs: list[Recommendation] = []
        waits = section.get("waits") if isinstance(section.get("waits"), dict) else {}
        sites = [*rows(section, "top"), *rows(waits or {}, "top")]
        total = float(section.get("total_ms", 0.0)) + float((waits or {}).get("total_ms", 0.0))
        total = total or sum(float(s.get("total_ms", 0.0)) for s in sites)
        for site in sites:
            found = self.deepest_target(frames(site))
            if found is None or not self.library(found[1]):
                continue
            ms, most = float(site.get("total_ms", 0)), float(site.get("max_ms", 0))
            evidence = (
                f"{site.get('events', 0)} contended wait(s), {ms:.1f} ms total, max {most:.1f} ms"
            )
            if not significant_wait(ms, self.analysis):
                self.notes.append(f"{site.get('site', found[0])}: {evidence}: too little to act on")
                continue
            share = 100.0 * ms / total if total else 0.0
            found_recs = self._method_rule(
                found[1], ("lock", "blocking-wait"), evidence, "contention", share
            )
            if found_recs:
                self.covered.add(str(site.get("site", found[0])))
            recs += found_recs
        return recs

    def deadlocks(self, section: dict[str, Any], verdict: dict[str, Any]) -> list[Recommendation]:
        cycle = list(rows(verdict, "cycle"))
        if verdict.get("kind") == "lock_order_deadlock" and cycle:
            return self.lock_order(cycle)
        recs: list[Recommendation] = []
        for item in rows(section, "evidence"):
            for stack in item.get("stacks") or []:
                found = self.deepest_target(stack)
                if found is None or not self.library(found[1]):
                    continue
                evidence = str(item.get("message", "blocked thread"))[:160]
                rules = ("blocking-wait", "lock", "configure-await")
                recs += self._method_rule(found[1], rules, evidence, "deadlock", 100.0)
        if recs:
            self.covered.add("")
        return recs

    def lock_order(self, cycle: list[dict[str, Any]]) -> list[Recommendation]:
        """A lock-order deadlock: at each cycle thread's waiting frame, the lock it takes while
        holding the one the other thread waits for. The threads queued behind the cycle are its
        consequence, not a change to make."""
        recs: list[Recommendation] = []
        for hop in cycle:
            found = self.deepest_target([str(hop.get("waiting_frame") or "")])
            if found is None or not self.library(found[1]):
                continue
            symbol = found[1]
            evidence = (
                f"thread {hop.get('thread_id')} waits here for lock {hop.get('waits_for_lock')} "
                f"held by thread {hop.get('owner_thread_id')}, which waits for a lock thread "
                f"{hop.get('thread_id')} holds"
            )
            scanned = scan_symbol(self.index, symbol, self.rules, measured=True)
            locks = [f for f in scanned if f.rule == "lock"]
            if not locks:
                self.notes.append(f"{_short(symbol.file)}:{symbol.start_line}: {evidence}")
                continue
            taken = min(locks, key=lambda f: f.line)
            rule = RULES_BY_ID["lock-order"]
            text = (
                f"{_short(taken.file)}:{taken.line} `{taken.text[:60]}` in "
                f"{symbol.signature.split('(')[0]} ({evidence}) — {rule.fix}; "
                f"{self._cite('lock-order')}"
            )
            self.covered.add("")
            recs.append(
                self._rec(text, taken.file, taken.line, "lock-order", "deadlock", evidence, 100.0)
            )
        return recs

    def _method_rule(
        self, symbol: Symbol, rule_ids: tuple[str, ...], evidence: str, kind: str, impact: float
    ) -> list[Recommendation]:
        scanned = scan_symbol(self.index, symbol, self.rules, measured=True)
        findings = [f for f in scanned if f.rule in rule_ids]
        findings.sort(key=lambda f: (rule_ids.index(f.rule), f.line))
        if not findings:
            self.notes.append(
                f"{_short(symbol.file)}:{symbol.start_line} {symbol.signature}: the trace waits "
                f"there ({evidence}) but its body shows no {'/'.join(rule_ids[:2])} the code does"
                " not document as deliberate"
            )
        return [self._from_finding(f, symbol, evidence, kind, impact) for f in findings[:2]]

    def _from_finding(
        self, finding: Finding, symbol: Symbol, evidence: str, kind: str, impact: float
    ) -> Recommendation:
        rule = RULES_BY_ID[finding.rule]
        method = symbol.signature.split("(")[0]
        text = (
            f"{_short(finding.file)}:{finding.line} {rule.title} in {method} ({evidence}): "
            f"`{finding.text[:90]}` — {rule.fix}; {finding.rule_source}"
        )
        return self._rec(text, finding.file, finding.line, finding.rule, kind, evidence, impact)

    def _allocation(
        self, symbol: Symbol, site: dict[str, Any], type_name: str, line: int, rule_id: str
    ) -> Recommendation:
        how = " per message" if site.get("classification") == "per-message" else ""
        percent = float(site.get("percent", 0))
        evidence = f"{int(site.get('bytes', 0)):,} sampled bytes, {percent:.1f} %"
        if site.get("bytes_per_message") is not None:
            evidence += f", {float(site['bytes_per_message']):.1f} B/message"
        returns = symbol.node.child_by_field_name("returns") if symbol.node else None
        fix = allocation_rule(type_name, rule_id, returns=flat(returns))
        text = (
            f"{_short(symbol.file)}:{line} allocates `{short_type(type_name)}`{how} in "
            f"{symbol.signature.split('(')[0]} ({evidence}) — {fix}; {self._cite(rule_id)}"
        )
        return self._rec(text, symbol.file, line, rule_id, "allocation", evidence, percent)

    def _cite(self, rule_id: str) -> str:
        return self.rules.citations.get(rule_id) or f"general .NET guidance ({rule_id})"

    def _rec(
        self, text: str, file: str, line: int, rule: str, kind: str, evidence: str, impact: float
    ) -> Recommendation:
        excerpt = excerpt_lines(self.index, file, line)
        cite = self._cite(rule)
        return Recommendation(text, file, line, rule, cite, kind, evidence, excerpt, impact)


def excerpt_lines(index: SymbolIndex, file: str, line: int, *, context: int = 2) -> str:
    """Numbered lines around ``line``; the line itself is marked with ``>``."""
    lines = index.files[file].lines
    first, last = max(1, line - context), min(len(lines), line + context)
    width = len(str(last))
    return "\n".join(
        f"{'>' if n == line else ' '} {n:>{width}} | {lines[n - 1]}" for n in range(first, last + 1)
    )


def _short(path: str) -> str:
    return path.rsplit("/", 1)[-1]
