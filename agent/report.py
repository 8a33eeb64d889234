"""The four report sections: their headings, splitting a report into them, filling gaps."""

from __future__ import annotations

import re

REPORT_HEADINGS: tuple[str, ...] = (
    "Hot Paths & CPU Time",
    "Allocations",
    "Contention & Deadlocks",
    "Recommendations",
)
"""The four sections of every report, in order (as ``## `` headings)."""

MISSING_SECTION_TEXT = "The investigation did not report on this."

_HEADING = re.compile(r"##\s+(.+?)\s*")


def _canonical(title: str) -> str | None:
    squashed = re.sub(r"[^a-z]", "", title.lower())
    for heading in REPORT_HEADINGS:
        if squashed == re.sub(r"[^a-z]", "", heading.lower()):
            return heading
    return None


def split_sections(markdown: str) -> dict[str, str]:
    """The text under each of the four headings, in the canonical order.

    Any other ``##`` heading ends a section; a repeated heading adds to the same section.
    """
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in markdown.splitlines():
        match = _HEADING.fullmatch(line)
        if match:
            current = _canonical(match.group(1))
            if current is not None:
                sections.setdefault(current, [])
            continue
        if current is not None:
            sections[current].append(line)
    return {h: "\n".join(sections[h]).strip() for h in REPORT_HEADINGS if h in sections}


def complete_sections(markdown: str) -> str:
    """The report with any missing one of the four sections appended, saying so."""
    present = split_sections(markdown)
    missing = [h for h in REPORT_HEADINGS if h not in present]
    if not missing:
        return markdown.strip() + "\n"
    extra = "\n\n".join(f"## {heading}\n{MISSING_SECTION_TEXT}" for heading in missing)
    return f"{markdown.strip()}\n\n{extra}\n".lstrip()
