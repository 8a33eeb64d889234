"""The report in real headless Chromium: loads cleanly, shows the hot method, zooms on click.

Uses Debian's chromium driven by Playwright (never ``playwright install``); skipped with the
reason when either is missing. Screenshots go to ``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.report_html.conftest import FIXTURE_REPO, open_page, screenshot
from tools.analysis.analyze import analyze_trace_file
from tools.analysis.folded import folded_stacks
from tools.report_html import report_for_trace, write_report_bundle

HERE = Path(__file__).resolve().parent
MANAGED_TRACE = "perfview-only_managed_samples.nettrace.zip"


def _width(page: Any, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None
    return float(box["width"])


def test_real_trace_flame_graph_zooms(browser: Any, traces_dir: Path, tmp_path: Path) -> None:
    """The managed-samples trace: FindByte is drawn, and clicking it zooms it to full width."""
    trace = tmp_path / MANAGED_TRACE
    shutil.copy(traces_dir / MANAGED_TRACE, trace)
    analysis = analyze_trace_file(trace).model_dump()
    bundle = write_report_bundle(
        tmp_path, "managed", analysis, folded_stacks(trace), None, title="managed samples"
    )
    page, errors, remote = open_page(browser, bundle.html)
    find_byte = '#flame .frame[data-name*="FindByte"]'
    full = _width(page, "#flame")
    before = _width(page, find_byte)
    assert 0.5 * full < before < 0.9 * full  # about 2/3 of the samples end in FindByte
    page.locator(find_byte).first.hover()
    assert "Inclusive" in page.locator("#flame-tip").inner_text()
    page.locator(find_byte).first.click()
    assert _width(page, find_byte) > 0.98 * full
    assert "Zoomed into Program.FindByte" in page.locator("#flame-crumb").inner_text()
    screenshot(page, "report-managed-zoomed")
    page.locator("#flame-reset").click()
    assert _width(page, find_byte) == pytest.approx(before, abs=1.0)
    assert errors == [] and remote == []


def test_dekaf_report_with_recommendations(browser: Any, tmp_path: Path) -> None:
    """A synthetic Dekaf trace's report: linked advice with excerpts; search highlights frames."""
    spec = importlib.util.spec_from_file_location("dekaf_trace", HERE / "dekaf_trace.py")
    assert spec is not None and spec.loader is not None
    synthetic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synthetic)
    trace = synthetic.write_dekaf_trace(tmp_path / "producer.nettrace")
    bundle, findings = report_for_trace(
        trace, tmp_path, repo=FIXTURE_REPO, messages=synthetic.MESSAGES, title="Dekaf producer"
    )
    assert findings is not None
    page, errors, remote = open_page(browser, bundle.html)
    assert page.locator(".rec").count() == len(findings.printed) > 0
    nav = page.locator('nav a[href="#recommendations"]').inner_text()
    assert nav == f"Recommendations ({page.locator('.rec').count()})"
    assert "allocates `byte[]` per message" in page.locator(".rec").first.inner_text()
    assert page.locator("pre.excerpt .hit").count() == len(findings.printed)
    page.fill("#flame-search", "TryAppend")
    assert page.locator("#flame .frame.match").count() >= 1
    matched = page.locator("#flame-matched").inner_text()  # "Matched: 59.90 %"
    assert 55.0 < float(matched.split()[1]) < 65.0  # 6 in 10 samples are in TryAppend
    screenshot(page, "report-dekaf-recommendations")
    assert errors == [] and remote == []
