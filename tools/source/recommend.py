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

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tools.source.alloc_sites import allocation_line, allocation_rule
from tools.source.find_source import FOUND_SCORE, resolve
from tools.source.frames import parse_frame
from tools.source.guidelines import Finding, scan_symbol
from tools.source.rules import RULES_BY_ID, RuleSet, load_rules
from tools.source.symbol_index import Symbol, SymbolIndex, build_index

HOT_SELF_PERCENT = 1.0
"""Target methods with at least this share of self CPU are scanned for rule breaches."""
MAX_FINDINGS_PER_METHOD = 4


@dataclass(frozen=True)
class SourceLink:
    """Where a frame's method is: ``file:line`` (``end_line`` closes it)."""

    file: str
    line: int
    end_line: int
    signature: str

    @property
    def location(self) -> str:
        """``path/File.cs:line``."""
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Recommendation:
    """One concrete change at one line, and the rule it follows.

    Attributes:
        text: the recommendation as the report prints it.
        file: path relative to the repo root.
        line: the line to change.
        rule: rule id (``alloc-in-loop``, ``lock``, …).
        rule_source: where the target states the rule (``CLAUDE.md:7: …``).
        kind: what evidence led here: ``cpu``, ``allocation``, ``contention`` or ``deadlock``.
        evidence: the numbers behind it (percent, bytes, waits).
        excerpt: numbered source lines around ``line`` (the line marked with ``>``).
    """

    text: str
    file: str
    line: int
    rule: str
    rule_source: str
    kind: str
    evidence: str
    excerpt: str


@dataclass
class SourceLinkedFindings:
    """Frame links and recommendations for one analysis.

    Attributes:
        links: frame name (as in the analysis) -> its source location.
        recommendations: concrete changes, strongest evidence first.
        rules_source: ``CLAUDE.md`` or the default rules' name.
        notes: what could not be linked, for the report's reader.
    """

    links: dict[str, SourceLink] = field(default_factory=dict)
    recommendations: list[Recommendation] = field(default_factory=list)
    rules_source: str = ""
    notes: list[str] = field(default_factory=list)

    def location(self, frame: str) -> str | None:
        """``file:line`` of a frame name, or None when not linked."""
        link = self.links.get(frame)
        return link.location if link else None

    def markdown_lines(self, *, excerpts: bool = True) -> list[str]:
        """The recommendations as Markdown bullets (with fenced source excerpts).

        For the report's "Recommendations" section; empty when there is nothing to say.
        """
        lines: list[str] = []
        for rec in self.recommendations:
            lines.append(
                f"- **`{rec.file}:{rec.line}`** ({rec.kind}, rule `{rec.rule}`): {rec.text}"
            )
            if excerpts and rec.excerpt:
                lines += ["", "  ```csharp", *(f"  {x}" for x in rec.excerpt.splitlines()), "  ```"]
        return lines

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``links`` values carry ``location``)."""
        links = {k: {**asdict(v), "location": v.location} for k, v in self.links.items()}
        return {
            "links": links,
            "recommendations": [asdict(r) for r in self.recommendations],
            "rules_source": self.rules_source,
            "notes": list(self.notes),
        }


def link_and_recommend(
    analysis: dict[str, Any],
    repo: Path,
    *,
    target_prefix: str = "Dekaf.",
    index: SymbolIndex | None = None,
    max_recommendations: int = 15,
) -> SourceLinkedFindings:
    """Links an analysis's target frames to source and recommends changes at their lines.

    Args:
        analysis: the ``pta analyze --json`` dict (``cpu``, ``allocations``, ``contention``,
            ``deadlock``); missing or empty sections are skipped.
        repo: the target repository (only its ``*.cs`` files and CLAUDE.md are read).
        target_prefix: namespace prefix of the code under study.
        index: a prebuilt symbol index of ``repo`` (built when None).
        max_recommendations: most recommendations returned.

    Returns:
        The links (frame -> file:line) and the recommendations, strongest evidence first.
    """
    ctx = _Linker(index or build_index(repo), load_rules(repo), target_prefix)
    out = SourceLinkedFindings(rules_source=ctx.rules.source)
    recs: list[Recommendation] = []
    # Measured evidence (allocations, waits, blocked threads) outranks a rule breach that is
    # merely visible in a hot method's text, and wins when both point at the same line.
    recs += ctx.allocations(_section(analysis, "allocations"))
    recs += ctx.contention(_section(analysis, "contention"))
    recs += ctx.deadlocks(_section(analysis, "deadlock"))
    recs += ctx.cpu(_section(analysis, "cpu"))
    out.recommendations = _dedupe(recs)[:max_recommendations]
    out.links = {name: link for name, link in ctx.links.items() if link is not None}
    missing = sorted(name for name, link in ctx.links.items() if link is None)
    if missing:
        out.notes.append(f"{len(missing)} target frame(s) not found in source: {missing[:5]}")
    return out


def _section(analysis: dict[str, Any], key: str) -> dict[str, Any]:
    value = analysis.get(key)
    return value if isinstance(value, dict) else {}


def strip_module(frame: str) -> str:
    """``Dekaf!Dekaf.X.Y(int32)`` -> ``Dekaf.X.Y(int32)``."""
    bang = frame.find("!")
    paren = frame.find("(")
    return frame[bang + 1 :] if bang >= 0 and (paren < 0 or bang < paren) else frame


@dataclass
class _Linker:
    index: SymbolIndex
    rules: RuleSet
    prefix: str
    links: dict[str, SourceLink | None] = field(default_factory=dict)
    symbols: dict[str, Symbol | None] = field(default_factory=dict)

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
            SourceLink(best.file, best.start_line, best.end_line, best.signature) if best else None
        )
        return best

    def deepest_target(self, frames: Iterable[str]) -> tuple[str, Symbol] | None:
        """The leaf-most target frame (frames root first) that maps to source."""
        for frame in reversed(list(frames)):
            if self.is_target(frame):
                symbol = self.symbol(frame)
                if symbol is not None:
                    return frame, symbol
        return None

    def cpu(self, cpu: dict[str, Any]) -> list[Recommendation]:
        for row in _rows(cpu, "top_inclusive", "top_self_managed"):
            if self.is_target(str(row.get("name", ""))):
                self.symbol(str(row["name"]))
        recs: list[Recommendation] = []
        scanned: set[Symbol] = set()
        for row in _rows(cpu, "top_self"):
            name = str(row.get("name", ""))
            percent = float(row.get("percent", 0.0))
            if not self.is_target(name) or percent < HOT_SELF_PERCENT:
                continue
            symbol = self.symbol(name)
            if symbol is None or symbol in scanned:
                continue
            scanned.add(symbol)
            evidence = f"{percent:.1f} % of CPU samples (self)"
            findings = scan_symbol(self.index, symbol, self.rules)[:MAX_FINDINGS_PER_METHOD]
            recs += [self._from_finding(f, symbol, evidence, "cpu") for f in findings]
        return recs

    def allocations(self, allocs: dict[str, Any]) -> list[Recommendation]:
        recs: list[Recommendation] = []
        for site in _rows(allocs, "by_site", "by_stack", "top_sites"):
            frames = _frames(site)
            target = site.get("target_frame")
            found = self.deepest_target([*frames, *([target] if target else [])])
            if found is None:
                continue
            _, symbol = found
            types = [str(t) for t in site.get("types") or [site.get("type", "object")]]
            line, rule_id = allocation_line(self.index, symbol, types[0])
            recs.append(self._allocation(symbol, site, types[0], line, rule_id))
        return recs

    def contention(self, section: dict[str, Any]) -> list[Recommendation]:
        recs: list[Recommendation] = []
        waits = section.get("waits") if isinstance(section.get("waits"), dict) else {}
        for site in [*_rows(section, "top"), *_rows(waits or {}, "top")]:
            found = self.deepest_target(_frames(site))
            if found is None:
                continue
            _, symbol = found
            total, most = float(site.get("total_ms", 0)), float(site.get("max_ms", 0))
            events = site.get("events", 0)
            evidence = f"{events} contended wait(s), {total:.1f} ms total, max {most:.1f} ms"
            recs += self._method_rule(symbol, ("lock", "blocking-wait"), evidence, "contention")
        return recs

    def deadlocks(self, section: dict[str, Any]) -> list[Recommendation]:
        recs: list[Recommendation] = []
        for item in _rows(section, "evidence"):
            for stack in item.get("stacks") or []:
                found = self.deepest_target(stack)
                if found is None:
                    continue
                evidence = str(item.get("message", "blocked thread"))[:160]
                rules = ("blocking-wait", "lock", "configure-await")
                recs += self._method_rule(found[1], rules, evidence, "deadlock")
        return recs

    def _method_rule(
        self, symbol: Symbol, rule_ids: tuple[str, ...], evidence: str, kind: str
    ) -> list[Recommendation]:
        findings = [f for f in scan_symbol(self.index, symbol, self.rules) if f.rule in rule_ids]
        findings.sort(key=lambda f: (rule_ids.index(f.rule), f.line))
        if findings:
            return [self._from_finding(f, symbol, evidence, kind) for f in findings[:2]]
        rule = RULES_BY_ID[rule_ids[0]]
        text = (
            f"{_short(symbol.file)}:{symbol.start_line} {symbol.signature} is where the trace "
            f"waits ({evidence}); no {rule.title} is visible in its body, so look at what it "
            f"calls — {rule.fix}; {self._cite(rule.id)}"
        )
        return [self._rec(text, symbol.file, symbol.start_line, rule.id, kind, evidence)]

    def _from_finding(
        self, finding: Finding, symbol: Symbol, evidence: str, kind: str
    ) -> Recommendation:
        rule = RULES_BY_ID[finding.rule]
        method = symbol.signature.split("(")[0]
        text = (
            f"{_short(finding.file)}:{finding.line} {rule.title} in {method} ({evidence}): "
            f"`{finding.text[:90]}` — {rule.fix}; {finding.rule_source}"
        )
        return self._rec(text, finding.file, finding.line, finding.rule, kind, evidence)

    def _allocation(
        self, symbol: Symbol, site: dict[str, Any], type_name: str, line: int, rule_id: str
    ) -> Recommendation:
        short_type = _short_type(type_name)
        per = site.get("classification")
        how = " per message" if per == "per-message" else ""
        evidence = (
            f"{int(site.get('bytes', 0)):,} sampled bytes, {float(site.get('percent', 0)):.1f} %"
        )
        if site.get("bytes_per_message") is not None:
            evidence += f", {float(site['bytes_per_message']):.1f} B/message"
        fix = allocation_rule(type_name, rule_id)
        text = (
            f"{_short(symbol.file)}:{line} allocates `{short_type}`{how} in "
            f"{symbol.signature.split('(')[0]} ({evidence}) — {fix}; {self._cite(rule_id)}"
        )
        return self._rec(text, symbol.file, line, rule_id, "allocation", evidence)

    def _cite(self, rule_id: str) -> str:
        return self.rules.citations.get(rule_id) or f"general .NET guidance ({rule_id})"

    def _rec(
        self, text: str, file: str, line: int, rule: str, kind: str, evidence: str
    ) -> Recommendation:
        excerpt = excerpt_lines(self.index, file, line)
        return Recommendation(text, file, line, rule, self._cite(rule), kind, evidence, excerpt)


def excerpt_lines(index: SymbolIndex, file: str, line: int, *, context: int = 2) -> str:
    """Numbered lines around ``line``; the line itself is marked with ``>``."""
    lines = index.files[file].text.splitlines()
    first, last = max(1, line - context), min(len(lines), line + context)
    width = len(str(last))
    return "\n".join(
        f"{'>' if n == line else ' '} {n:>{width}} | {lines[n - 1]}" for n in range(first, last + 1)
    )


def _rows(section: dict[str, Any], *keys: str) -> Iterator[dict[str, Any]]:
    for key in keys:
        for row in section.get(key) or []:
            if isinstance(row, dict):
                yield row


def _frames(site: dict[str, Any]) -> list[str]:
    for key in ("frames", "stack", "stacks"):
        value = site.get(key)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
    return []


def _dedupe(recs: list[Recommendation]) -> list[Recommendation]:
    seen: set[tuple[str, int, str]] = set()
    out = []
    for rec in recs:
        key = (rec.file, rec.line, rec.rule)
        if key not in seen:
            seen.add(key)
            out.append(rec)
    return out


def _short(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _short_type(type_name: str) -> str:
    aliases = {"System.Byte[]": "byte[]", "System.String": "string", "System.Object": "object"}
    return aliases.get(type_name, type_name.rsplit(".", 1)[-1])
