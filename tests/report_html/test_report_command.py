"""`pta report open`: prints the newest report, opens a browser only when asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import main


def _report(repo: Path) -> Path:
    page = repo / ".perf-trace-analyzer" / "reports" / "r.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html></html>")
    return page


def test_prints_newest_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path goes to stdout; no browser is opened without --browser."""
    page = _report(tmp_path)
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    assert main(["report", "open", "--repo", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == str(page.resolve())
    assert opened == []


def test_browser_flag_opens_the_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--browser hands the file URL to webbrowser."""
    page = _report(tmp_path)
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    assert main(["report", "open", "--repo", str(tmp_path), "--browser"]) == 0
    assert opened == [page.resolve().as_uri()]


def test_no_report_and_no_action(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No report: exit 1 with a hint on stderr; no action: usage error 2."""
    assert main(["report", "open", "--repo", str(tmp_path)]) == 1
    assert "no HTML report" in capsys.readouterr().err
    assert main(["report"]) == 2
