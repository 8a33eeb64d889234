"""Fixtures for the source tools: the Dekaf-shaped fixture repo and its planted violations."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tools.base import ToolContext

FIXTURE_REPO = Path(__file__).resolve().parent.parent / "fixtures" / "dekaf_repo"
PLANTED = re.compile(r"// PLANTED: (?P<rules>[\w\-, ]+)$")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A private copy of the fixture repo (tests may add files or symlinks to it)."""
    target = tmp_path / "dekaf"
    shutil.copytree(FIXTURE_REPO, target)
    return target


@pytest.fixture
def ctx(repo: Path) -> ToolContext:
    """A tool context on the fixture repo copy."""
    return ToolContext(repo=repo)


def _planted(repo: Path, rel: str) -> set[tuple[str, int]]:
    """(rule, line) of every violation the fixture file marks with ``// PLANTED: rule``."""
    out: set[tuple[str, int]] = set()
    for number, line in enumerate((repo / rel).read_text().splitlines(), start=1):
        match = PLANTED.search(line)
        if match:
            out.update((r.strip(), number) for r in match.group("rules").split(","))
    return out


def _line_containing(repo: Path, rel: str, needle: str) -> int:
    """The 1-based line of the first line of ``rel`` containing ``needle``."""
    for number, line in enumerate((repo / rel).read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {rel}")


@pytest.fixture
def planted(repo: Path) -> Callable[[str], set[tuple[str, int]]]:
    """``planted(rel)``: the violations a fixture file marks, as (rule, line)."""
    return lambda rel: _planted(repo, rel)


@pytest.fixture
def line_of_text(repo: Path) -> Callable[[str, str], int]:
    """``line_of_text(rel, needle)``: the first line of ``rel`` containing ``needle``."""
    return lambda rel, needle: _line_containing(repo, rel, needle)
