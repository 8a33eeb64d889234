"""The findings of one analysis, as every report renders them: links and ranked recommendations.

Computed once (``tools.source.recommend.recommend``) and rendered by one module per format:
Markdown (``tools.analysis.markdown``, for ``pta analyze`` and the offline planner's report)
and the HTML page (``tools.report_html.render``). Recommendations are ranked by measured
impact; a report prints the first :data:`PRINTED_RECOMMENDATIONS`, the JSON carries them all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PRINTED_RECOMMENDATIONS = 5
"""Recommendations a report prints (the strongest by measured impact); the JSON has all."""


@dataclass(frozen=True)
class SourceLink:
    """Where a frame's method is: ``file:line`` (``end_line`` closes it), and which part of
    the repository (library, test, benchmark, tool, sample) holds it."""

    file: str
    line: int
    end_line: int
    signature: str
    category: str = "library"

    @property
    def location(self) -> str:
        """``path/File.cs:line``."""
        return f"{self.file}:{self.line}"

    @property
    def label(self) -> str:
        """``path/File.cs:line``, with the part of the repo when it is not library code."""
        suffix = "" if self.category == "library" else f", {self.category} code"
        return f"{self.location}{suffix}"


@dataclass(frozen=True)
class Recommendation:
    """One concrete change, the measured evidence for it, and the rule it follows.

    Attributes:
        text: the recommendation as reports print it.
        file: path relative to the repo root ("" when the trace alone says it).
        line: the line to change (0 when there is no line).
        rule: rule id (``alloc-in-loop``, ``lock``, …).
        rule_source: where the target states the rule (``CLAUDE.md:7: …``).
        kind: what evidence led here: ``cpu``, ``allocation``, ``contention`` or ``deadlock``.
        evidence: the numbers behind it (percent, bytes, waits).
        excerpt: numbered source lines around ``line`` (the line marked with ``>``).
        impact: the measured share at that site (percent of CPU samples, of sampled bytes, of
            lock-wait time; 100 for a suspected deadlock), the ranking key.
    """

    text: str
    file: str
    line: int
    rule: str
    rule_source: str
    kind: str
    evidence: str
    excerpt: str
    impact: float = 0.0

    @property
    def location(self) -> str:
        """``file:line``, or "" for advice from the trace alone."""
        return f"{self.file}:{self.line}" if self.file else ""


@dataclass
class SourceLinkedFindings:
    """Frame links and recommendations for one analysis.

    Attributes:
        links: frame name (as in the analysis) -> its source location.
        recommendations: every recommendation, strongest measured impact first.
        rules_source: ``CLAUDE.md`` or the default rules' name.
        notes: what could not be linked or was left out on purpose, for the reader.
    """

    links: dict[str, SourceLink] = field(default_factory=dict)
    recommendations: list[Recommendation] = field(default_factory=list)
    rules_source: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def printed(self) -> list[Recommendation]:
        """The recommendations a report prints (the first few by impact)."""
        return self.recommendations[:PRINTED_RECOMMENDATIONS]

    def location(self, frame: str) -> str | None:
        """``file:line`` of a frame name, or None when not linked."""
        link = self.links.get(frame)
        return link.location if link else None

    def labels(self) -> dict[str, str]:
        """Frame name -> ``file:line`` (with the part of the repo when not library code)."""
        return {name: link.label for name, link in self.links.items()}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``links`` values carry ``location``; every recommendation)."""
        links = {k: {**asdict(v), "location": v.location} for k, v in self.links.items()}
        return {
            "links": links,
            "recommendations": [recommendation_dict(r) for r in self.recommendations],
            "printed": len(self.printed),
            "rules_source": self.rules_source,
            "notes": list(self.notes),
        }


def recommendation_dict(rec: Recommendation) -> dict[str, Any]:
    """A recommendation as JSON (with its ``location``), the shape renderers read."""
    return {**asdict(rec), "location": rec.location}
