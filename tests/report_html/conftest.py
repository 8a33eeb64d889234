"""Fixtures for the report tests: the fixture Dekaf repo and a synthetic trace made hot in it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent
FIXTURE_REPO = HERE.parent / "fixtures" / "dekaf_repo"
RA = "src/Dekaf/Producer/RecordAccumulator.cs"


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
