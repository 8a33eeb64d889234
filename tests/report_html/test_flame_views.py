"""The flame views in real headless Chromium, on a trace whose hot leaf is split over paths.

The planted trace (planted_trace.py): Crc32C.Update is the leaf of 37 % of the samples through
five stacks from four callers, so top-down shows it as slivers of at most 8 %. The page must
open bottom-up with it as one 37 % block, list its planted callers in its sandwich, and report
the same share when it is searched. Screenshots of every view go to ``test-artifacts/``.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest

from tests.report_html import planted_trace as planted
from tests.report_html.conftest import open_page, screenshot
from tools.report_html import render_html_report, report_for_trace
from tools.report_html.flame import ELIDED

FLAME = "#flame-section"


@pytest.fixture(scope="module")
def planted_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML report of the planted trace."""
    folder = tmp_path_factory.mktemp("planted")
    trace = planted.write_planted_trace(folder / "planted.nettrace")
    bundle, _ = report_for_trace(trace, folder, title="planted: split hot leaf")
    return bundle.html


def _frames(page: Any, selector: str) -> list[tuple[str, float]]:
    """(name, width in px) of every drawn frame matching ``selector``."""
    found = page.eval_on_selector_all(
        selector, "els => els.map(e => [e.dataset.name, e.getBoundingClientRect().width])"
    )
    return [(str(name), float(width)) for name, width in found]


def _percent(text: str, label: str) -> float:
    """The percentage after ``label`` in ``text`` (``Self: 739.0 ms (36.97 %)`` -> 36.97)."""
    match = re.search(re.escape(label) + r"[^(]*\(([\d.]+) %\)", text)
    assert match is not None, text
    return float(match.group(1))


def _flame_width(page: Any) -> float:
    box = page.locator("#flame").bounding_box()
    assert box is not None
    return float(box["width"])


def test_opens_bottom_up_with_the_split_leaf_as_one_block(browser: Any, planted_page: Path) -> None:
    """The page opens in the bottom-up view, says so, and its widest first-row block is the
    planted leaf with its planted share (hover and width agree, within half a point)."""
    page, errors, remote = open_page(browser, planted_page)
    assert page.locator(".flame-tab[aria-selected=true]").inner_text() == "Bottom-up"
    assert page.locator("#flame-view").inner_text().startswith("Showing: Bottom-up (inverted)")
    assert "reached by 5 distinct stacks" in page.locator("#flame-why").inner_text()
    first_row = _frames(page, '#flame .frame[data-depth="1"]:not(.narrow)')
    name, width = max(first_row, key=lambda frame: frame[1])
    assert name == planted.HOT
    assert 100 * (width + 1) / _flame_width(page) == pytest.approx(planted.HOT_SHARE, abs=0.5)
    page.locator(f'#flame .frame[data-depth="1"][data-name="{planted.HOT}"]').hover()
    tip = page.locator("#flame-tip").inner_text()
    assert _percent(tip, "Self:") == pytest.approx(planted.HOT_SHARE, abs=0.5)
    screenshot(page, "views-bottom-up", FLAME)
    page.click('.flame-tab[data-view="top-down"]')
    top_down = [w for n, w in _frames(page, "#flame .frame") if n == planted.HOT]
    assert len(top_down) == len(planted.HOT_PATHS)  # the slivers the issue complains about
    assert 100 * max(top_down) / _flame_width(page) < 8.5
    screenshot(page, "views-top-down", FLAME)
    assert errors == [] and remote == []


def test_table_link_opens_the_sandwich_with_the_planted_callers(
    browser: Any, planted_page: Path
) -> None:
    """Clicking the hot method in the Top self table opens its sandwich: its four planted
    callers merged on the row above it, self and inclusive shares as planted."""
    page, errors, remote = open_page(browser, planted_page)
    page.locator(f'#cpu a.method[data-method="{planted.HOT}"]').first.click()
    assert page.locator(".flame-tab[aria-selected=true]").inner_text() == "Sandwich"
    selected = _frames(page, "#flame .frame.selected")
    assert [name for name, _ in selected] == [planted.HOT]
    callers = _frames(page, '#flame .frame.caller[data-depth="1"]')
    assert sorted(name for name, _ in callers) == sorted(planted.CALLERS)
    crumb = page.locator("#flame-crumb").inner_text()
    assert _percent(crumb, "self") == pytest.approx(planted.HOT_SHARE, abs=0.5)
    assert _percent(crumb, "inclusive") == pytest.approx(planted.HOT_SHARE, abs=0.5)
    assert page.locator("#flame .frame.callee").count() == 0  # a leaf calls nothing
    screenshot(page, "views-sandwich-hot-leaf", FLAME)
    page.locator(f'#flame .frame.caller[data-name="{planted.WRITE_HEADER}"]').click()
    callees = {name for name, _ in _frames(page, '#flame .frame.callee[data-depth="1"]')}
    assert callees == {planted.HOT}  # the sandwich re-centred on the caller
    assert errors == [] and remote == []


def test_search_reports_the_share_through_matches_once_per_stack(
    browser: Any, planted_page: Path
) -> None:
    """`/` focuses the search; the hot leaf's search share is its planted share; a method
    recursing three deep counts its samples once, though its frames' widths add to three
    times that."""
    page, errors, remote = open_page(browser, planted_page)
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "flame-search"
    page.keyboard.type("crc32c.update")
    matched = page.locator("#flame-matched").inner_text()
    assert _share(matched) == pytest.approx(planted.HOT_SHARE, abs=0.5)
    assert page.locator("#flame .frame.match").count() >= 1
    screenshot(page, "views-search-bottom-up", FLAME)
    page.click('.flame-tab[data-view="top-down"]')
    page.fill("#flame-search", "SchemaWalker.Visit")
    widths = [w + 1 for _, w in _frames(page, "#flame .frame.match")]
    assert len(widths) == 3
    assert 100 * sum(widths) / _flame_width(page) == pytest.approx(3 * planted.VISIT_SHARE, abs=1)
    assert _share(page.locator("#flame-matched").inner_text()) == pytest.approx(
        planted.VISIT_SHARE, abs=0.5
    )
    screenshot(page, "views-search-recursion", FLAME)
    assert errors == [] and remote == []


def _share(matched: str) -> float:
    """``Matched: 36.97 % of samples pass through …`` -> 36.97."""
    match = re.match(r"Matched: ([\d.]+) % of samples", matched)
    assert match is not None, matched
    return float(match.group(1))


def test_escape_resets_zoom_and_double_click_opens_the_sandwich(
    browser: Any, planted_page: Path
) -> None:
    """In top-down, a click zooms a frame to full width and Esc zooms back out; a double-click
    opens the frame's sandwich, whose callees include its recursion."""
    page, errors, remote = open_page(browser, planted_page)
    page.click('.flame-tab[data-view="top-down"]')
    full = _flame_width(page)
    try_append = f'#flame .frame[data-name="{planted.TRY_APPEND}"]'
    before = _frames(page, try_append)[0][1]
    assert 100 * (before + 1) / full == pytest.approx(planted.TRY_APPEND_SHARE, abs=0.5)
    page.locator(try_append).click()
    assert _frames(page, try_append)[0][1] > 0.98 * full
    assert page.locator("#flame-crumb").inner_text().startswith("Zoomed into")
    page.keyboard.press("Escape")
    assert _frames(page, try_append)[0][1] == pytest.approx(before, abs=1.0)
    page.locator(f'#flame .frame[data-name="{planted.VISIT}"]').first.dblclick()
    assert page.locator(".flame-tab[aria-selected=true]").inner_text() == "Sandwich"
    callees = [name for name, _ in _frames(page, "#flame .frame.callee")]
    assert callees == [planted.VISIT, planted.VISIT, planted.FIND]
    crumb = page.locator("#flame-crumb").inner_text()
    assert _percent(crumb, "inclusive") == pytest.approx(planted.VISIT_SHARE, abs=0.5)
    screenshot(page, "views-sandwich-recursion", FLAME)
    screenshot(page, "views-whole-page")
    nav = page.locator('nav a[href="#recommendations"]').inner_text()
    assert nav == f"Recommendations ({page.locator('.rec').count()})"
    assert errors == [] and remote == []


def test_three_million_samples_stay_small_and_quick(browser: Any, tmp_path: Path) -> None:
    """3.2 M samples over 15,000 distinct stacks (more than the page's stack budget): the page
    stays under 2.6 MB, still opens bottom-up on the hot leaf with its exact share (cut stacks
    keep their leaves), search agrees, and each view draws a bounded number of frames fast."""
    rng = random.Random(5)
    methods = [f"Dekaf!Dekaf.Gen.Type{i % 50}.Method{i}(int32)" for i in range(2_000)]
    root = (
        "System.Private.CoreLib!System.Threading.ExecutionContext.RunInternal(class System.Object)"
    )
    folded = []
    for i in range(15_000):
        frames = [root, *rng.choices(methods, k=rng.randint(15, 35))]
        if i % 10 < 3:
            frames.append(planted.HOT)
        folded.append((";".join(frames), 214 * 1_000_000))  # 214 samples of 1 ms each
    samples = sum(w for _, w in folded) // 1_000_000
    assert samples > 3_000_000
    html = render_html_report({}, folded, None, title="3.2 M samples")
    assert len(html.encode()) < 2_600_000
    assert ELIDED in html  # the budget was exceeded: narrow stacks lost outer callers
    page_path = tmp_path / "big.html"
    page_path.write_text(html, encoding="utf-8")
    page, errors, remote = open_page(browser, page_path)
    assert page.locator(".flame-tab[aria-selected=true]").inner_text() == "Bottom-up"
    name, width = max(
        _frames(page, '#flame .frame[data-depth="1"]:not(.narrow)'), key=lambda f: f[1]
    )
    assert name == planted.HOT
    assert 100 * (width + 1) / _flame_width(page) == pytest.approx(30.0, abs=0.5)
    page.fill("#flame-search", "Crc32C")
    matched = page.locator("#flame-matched").inner_text()
    assert _share(matched) == pytest.approx(30.0, abs=0.5) and "(at least:" in matched
    for view in ("top-down", "bottom-up", "sandwich"):
        took_ms, drawn = page.evaluate(
            "view => { const t = performance.now(); ptaFlame.show(view);"
            " return [performance.now() - t, document.querySelectorAll('#flame .frame').length]; }",
            view,
        )
        assert drawn < 20_000 and took_ms < 5_000, (view, drawn, took_ms)
    screenshot(page, "views-3m-samples-sandwich", FLAME)
    assert errors == [] and remote == []
