"""Fixtures for the report tests: the fixture Dekaf repo, a synthetic trace made hot in it, and
a headless Chromium to open the pages in."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
FIXTURE_REPO = HERE.parent / "fixtures" / "dekaf_repo"
RA = "src/Dekaf/Producer/RecordAccumulator.cs"
ARTIFACTS = HERE.parents[1] / "test-artifacts"
"""Screenshots of the pages (git-ignored), for a person to look at."""
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (never ``playwright install``), or a
    skip saying what is missing. One per module: Playwright's sync API keeps an event loop
    running on this thread until it stops, and a test run later in the session (the MCP tests'
    asyncio.run) must not find one."""
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("the playwright package is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def open_page(browser: Any, page_path: Path) -> tuple[Any, list[str], list[str]]:
    """A page on ``page_path`` with its console errors and every non-file request recorded."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    remote: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda r: None if r.url.startswith("file:") else remote.append(r.url))
    page.goto(page_path.as_uri())
    return page, errors, remote


def screenshot(page: Any, name: str, selector: str | None = None) -> Path:
    """Saves ``test-artifacts/<name>.png`` (the element ``selector``, else the whole page)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.mouse.move(0, 0)  # no tooltip over the picture
    if selector is None:
        page.screenshot(path=str(path), full_page=True)
    else:
        page.locator(selector).screenshot(path=str(path))
    return path


@pytest.fixture(scope="session")
def dekaf_trace() -> ModuleType:
    """The ``dekaf_trace`` helper module (its frame names and ``write_dekaf_trace``)."""
    spec = importlib.util.spec_from_file_location("dekaf_trace", HERE / "dekaf_trace.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def line_of(needle: str, relative: str = RA) -> int:
    """The 1-based line of the fixture repo file that contains ``needle``."""
    lines = (FIXTURE_REPO / relative).read_text().splitlines()
    return next(n for n, text in enumerate(lines, start=1) if needle in text)
