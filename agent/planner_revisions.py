"""The planner's route for "did my change make it slower?": compare_revisions, then its report.

Questions about a change over time ("did my change…", "since yesterday", "did it regress",
"slower than main") are answered by tracing both revisions, not by one trace of HEAD.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agent.planner_report import StepResult

_REVISION_QUESTION = re.compile(
    r"\bdid (?:my|this|the|our) (?:change|commit|pr|branch|patch)|\bsince (?:yesterday|last)"
    r"|\bregress|\b(?:slower|faster|more|less|worse) than (?:main|master|before|yesterday)"
    r"|\bbefore (?:and|/) after\b|\bsince (?:commit|tag|v\d)",
    re.IGNORECASE,
)
_NAMED_BASE = re.compile(
    r"\b(?:than|against|vs\.?|versus|compared (?:to|with)|since)\s+`?"
    r"(?!yesterday\b|last\b|before\b|my\b|the\b)([A-Za-z0-9_][A-Za-z0-9_./~^@{}+-]{0,99})`?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class RevisionQuestion:
    """A question about a change: the base to compare HEAD against."""

    base: str


def revision_question(request: str) -> RevisionQuestion | None:
    """The base revision when ``request`` asks whether a change made things worse."""
    if not _REVISION_QUESTION.search(request):
        return None
    if re.search(r"\bsince yesterday\b", request, re.IGNORECASE):
        return RevisionQuestion("HEAD@{yesterday}")
    named = _NAMED_BASE.search(request)
    if named:
        return RevisionQuestion(named.group(1).rstrip(".?!,;:"))
    return RevisionQuestion("HEAD~1")  # "my change": the last commit


def compare_input(question: RevisionQuestion, scenario: str) -> dict[str, Any]:
    """compare_revisions' input: HEAD against the base, the scenario routed by the request."""
    return {"base": question.base, "head": "HEAD", "scenario": scenario}


def revision_report(results: dict[str, StepResult]) -> str:
    """The comparison's own report, or why there is none."""
    result = results.get("compare_revisions")
    if result is None:
        return "The revisions could not be compared: the compare_revisions tool is unavailable.\n"
    if result.is_error or not isinstance(result.data, dict):
        return f"The revisions could not be compared:\n\n{result.text.strip()}\n"
    return str(result.data.get("report_markdown", result.text))
