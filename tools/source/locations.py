"""Which part of a repository a file belongs to: library, test, benchmark, tool or sample.

Only library code is what a library's hot-path rules speak about; tests, benchmarks, tools (a
stress tool) and samples are linked and labelled, never judged. The answer comes from the
nearest project file (its name, its test/benchmark package references, whether it is an
executable) and from the folders on the way (``tests/``, ``benchmarks/``, ``tools/``,
``samples/``, ``examples/``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Category = Literal["library", "test", "benchmark", "tool", "sample"]
CATEGORIES: tuple[Category, ...] = ("library", "test", "benchmark", "tool", "sample")

_TEST_PROJECT = re.compile(r"(^|[.\-_])(Unit|Integration|Functional)?Tests?($|[.\-_])", re.I)
_BENCH_PROJECT = re.compile(r"bench(mark)?s?", re.I)
_SAMPLE_PROJECT = re.compile(r"(^|[.\-_])(samples?|examples?|demos?)($|[.\-_])", re.I)
_TEST_PACKAGES = re.compile(
    r'Include="(xunit|xunit\.v3|NUnit|MSTest\.TestFramework|MSTest|TUnit|TUnit\.Core|'
    r'Microsoft\.NET\.Test\.Sdk)"|<IsTestProject>\s*true',
    re.I,
)
_BENCH_PACKAGES = re.compile(r'Include="BenchmarkDotNet"', re.I)
_FOLDERS: dict[str, Category] = {
    "test": "test",
    "tests": "test",
    "benchmark": "benchmark",
    "benchmarks": "benchmark",
    "bench": "benchmark",
    "perf": "benchmark",
    "tools": "tool",
    "tool": "tool",
    "samples": "sample",
    "sample": "sample",
    "examples": "sample",
    "example": "sample",
}


@dataclass
class LocationClassifier:
    """Classifies repository-relative paths; project files are read once each.

    Attributes:
        root: the repository root.
    """

    root: Path
    _projects: dict[str, Category | None] = field(default_factory=dict, repr=False)

    def classify(self, rel: str) -> Category:
        """The category of the file at ``rel`` (POSIX, relative to the root)."""
        parts = rel.split("/")[:-1]
        for depth in range(len(parts), -1, -1):
            folder = "/".join(parts[:depth])
            by_project = self._project_category(folder)
            if by_project is not None:
                return by_project
            if depth and parts[depth - 1].lower() in _FOLDERS:
                return _FOLDERS[parts[depth - 1].lower()]
        return "library"

    def _project_category(self, folder: str) -> Category | None:
        """What the project file in ``folder`` says (None: no project there, or it says library
        only because nothing marks it otherwise, so the folders above still decide)."""
        if folder in self._projects:
            return self._projects[folder]
        result: Category | None = None
        directory = self.root / folder if folder else self.root
        projects = sorted(directory.glob("*.csproj")) if directory.is_dir() else []
        if projects:
            result = project_category(projects[0].stem, _read(projects[0]))
        self._projects[folder] = result
        return result


def project_category(name: str, content: str) -> Category | None:
    """A project's category from its name and file content; None when nothing marks it."""
    if _TEST_PROJECT.search(name) or _TEST_PACKAGES.search(content):
        if not re.search(r"StressTests?$", name, re.I):
            return "test"
    if _BENCH_PROJECT.search(name) or _BENCH_PACKAGES.search(content):
        return "benchmark"
    if _SAMPLE_PROJECT.search(name):
        return "sample"
    return None


def classify_path(rel: str) -> Category:
    """The category from folder names alone (no project files at hand)."""
    for part in reversed(rel.split("/")[:-1]):
        if part.lower() in _FOLDERS:
            return _FOLDERS[part.lower()]
        if _TEST_PROJECT.search(part) and not re.search(r"StressTests?$", part, re.I):
            return "test"
    return "library"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[:200_000]
    except OSError:
        return ""
