"""`pta analyze TRACE --repo PATH` links findings to source; `--format html` writes the bundle."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from agent.cli import main
from tests.report_html.conftest import FIXTURE_REPO, RA, line_of


@pytest.fixture
def trace(tmp_path: Path, dekaf_trace: ModuleType) -> Path:
    path: Path = dekaf_trace.write_dekaf_trace(tmp_path / "producer.nettrace")
    return path


def test_markdown_names_the_planted_lines(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Hot method rows carry file:line; Recommendations cite the per-message allocation line."""
    status = main(["analyze", str(trace), "--repo", str(FIXTURE_REPO), "--messages", "40"])
    out = capsys.readouterr().out
    assert status == 0
    try_append = f"{RA}:{line_of('public bool TryAppend(long')}"
    hot_rows = [line for line in out.splitlines() if "RecordAccumulator.TryAppend" in line]
    assert any(try_append in row for row in hot_rows)
    recommendations = out.split("## Recommendations", 1)[1]
    assert f"{RA}:{line_of('var copy = new byte[')}" in recommendations
    assert "CLAUDE.md" in recommendations


def test_without_repo_the_report_points_at_find_source(
    trace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No repo, no source links: the advice says how to find the line instead."""
    assert main(["analyze", str(trace), "--messages", "40"]) == 0
    out = capsys.readouterr().out
    assert "RecordAccumulator.cs:" not in out
    assert "find_source" in out.split("## Recommendations", 1)[1]


def test_json_carries_the_source_links(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json with --repo adds a `source` object with links and recommendations."""
    assert main(["analyze", str(trace), "--json", "--repo", str(FIXTURE_REPO)]) == 0
    data = json.loads(capsys.readouterr().out)
    locations = {link["location"] for link in data["source"]["links"].values()}
    assert f"{RA}:{line_of('public bool TryAppend(long')}" in locations
    assert data["source"]["recommendations"]


def test_format_html_writes_page_speedscope_and_folded(
    trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The three files exist, their paths are printed, and the page names the hot method."""
    out_dir = tmp_path / "report"
    status = main(
        [
            "analyze",
            str(trace),
            "--format",
            "html",
            "--out",
            str(out_dir),
            "--repo",
            str(FIXTURE_REPO),
        ]
    )
    printed = [Path(p) for p in capsys.readouterr().out.split()]
    assert status == 0
    assert {p.name for p in printed} == {
        "producer.html",
        "producer.speedscope.json",
        "producer.folded.txt",
    }
    assert all(p.parent == out_dir and p.stat().st_size > 0 for p in printed)
    assert "TryAppend" in (out_dir / "producer.html").read_text()
    assert json.loads((out_dir / "producer.speedscope.json").read_text())["profiles"]


def test_html_with_json_is_a_usage_error(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Contradictory output options give exit status 2 and a one-line reason."""
    assert main(["analyze", str(trace), "--format", "html", "--json"]) == 2
    assert "cannot be combined" in capsys.readouterr().err


def test_analyze_trace_tool_links_findings_to_source(
    trace: Path, tmp_path: Path, dekaf_trace: ModuleType
) -> None:
    """The model (and the planner) get file:line links and line-level changes from the tool."""
    from tools.analyze_tool import AnalyzeTraceArgs, analyze_trace
    from tools.base import ToolContext

    result = analyze_trace(
        AnalyzeTraceArgs(trace_path=str(trace), messages=dekaf_trace.MESSAGES),
        ToolContext(repo=FIXTURE_REPO),
    )
    assert f"{RA}:{line_of('public bool TryAppend(long')}" in result.source_links.values()
    allocation = next(r for r in result.source_recommendations if r.kind == "allocation")
    assert allocation.location == f"{RA}:{line_of('var copy = new byte[')}"
    assert "per message" in allocation.text and allocation.rule_source.startswith("CLAUDE.md:")


def test_analyze_trace_tool_without_sources_adds_no_links(trace: Path, tmp_path: Path) -> None:
    """A repo with no C# files: no links; the advice comes from the trace alone (no line)."""
    from tools.analyze_tool import AnalyzeTraceArgs, analyze_trace
    from tools.base import ToolContext

    result = analyze_trace(AnalyzeTraceArgs(trace_path=str(trace)), ToolContext(repo=tmp_path))
    assert result.source_links == {}
    assert [r.location for r in result.source_recommendations] == ["" for _ in range(1)]
    assert "Lock contention at `Dekaf.Producer.RecordAccumulator.TryAppend`" in (
        result.source_recommendations[0].text
    )
    assert result.cpu.samples > 0


def test_offline_ask_recommends_changes_at_planted_lines(
    trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pta ask --offline` on a named trace: Recommendations lead with line-level changes."""
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE_REPO, repo)
    shutil.copy(trace, repo / "producer.nettrace")
    status = main(
        ["ask", "where does producer.nettrace allocate?", "--offline", "--repo", str(repo)]
    )
    recommendations = capsys.readouterr().out.split("## Recommendations", 1)[1]
    assert status == 0
    first = next(line for line in recommendations.splitlines() if line.startswith("1. "))
    assert first.startswith(f"1. **`{RA}:{line_of('lock (_sync) //')}`** (contention, rule")
    # No message count was given: the byte[] site is not called per-message, so the
    # per-message rule is not cited for it.
    assert "allocates `byte[]` per message" not in recommendations
