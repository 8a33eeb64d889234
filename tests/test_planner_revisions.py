"""The planner sends "did my change make it slower?" questions to compare_revisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.planner_revisions import revision_question
from tests.test_planner import investigate, tools

REPORT = "**Regression** in HEAD `abc1234` (HEAD) against BASE `def5678` (main): …\n"


@pytest.mark.parametrize(
    ("request_text", "base"),
    [
        ("did my change make the producer slower?", "HEAD~1"),
        ("is the producer slower than main?", "main"),
        ("did anything regress since yesterday?", "HEAD@{yesterday}"),
        ("did the flush path regress against v1.4.0?", "v1.4.0"),
        ("does my branch allocate more than master?", "master"),
    ],
)
def test_change_questions_name_their_base(request_text: str, base: str) -> None:
    question = revision_question(request_text)
    assert question is not None and question.base == base


@pytest.mark.parametrize(
    "request_text",
    ["is there a deadlock in flush?", "where does the CPU time go?", "remember that X"],
)
def test_other_questions_are_not_about_revisions(request_text: str) -> None:
    assert revision_question(request_text) is None


def test_a_change_question_compares_revisions_and_reports_their_verdict(tmp_path: Path) -> None:
    """Memory first, then ONE compare_revisions call (no single-revision build or trace); the
    report is the comparison's, verdict first."""
    registry = tools(compare_revisions=lambda a: {"report_markdown": REPORT, "input": a})
    result = investigate("is the hot scenario slower than main?", tmp_path, registry)
    assert [c.name for c in result.tool_calls] == ["read_memory", "compare_revisions"]
    assert result.tool_calls[1].input == {"base": "main", "head": "HEAD", "scenario": "hot"}
    assert result.final_text.startswith("**Regression**")


def test_a_failed_comparison_says_why(tmp_path: Path) -> None:
    registry = tools(compare_revisions="'main' names no commit in '/repo'")
    result = investigate("did my change regress the producer?", tmp_path, registry)
    assert "could not be compared" in result.final_text
    assert "'main' names no commit" in result.final_text
