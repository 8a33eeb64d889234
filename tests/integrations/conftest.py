"""Fixtures shared by the MCP, Claude Code and batch integration tests."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tools.catalog import default_registry
from tools.placeholders import PlaceholderResult


def require_landed(*names: str) -> None:
    """Skips the test while one of the named tools is still a placeholder in the catalog."""
    registry = default_registry()
    for name in names:
        tool = registry.get(name)
        assert tool is not None, f"{name} is missing from the catalog"
        if tool.output_model is PlaceholderResult:
            pytest.skip(f"tool {name} has not landed yet (still a placeholder in tools/catalog.py)")


@pytest.fixture
def landed() -> Callable[..., None]:
    """``landed("read_memory", …)`` skips the test while a named tool is a placeholder."""
    return require_landed


@pytest.fixture(scope="session")
def pta_argv() -> list[str]:
    """The argv prefix that starts this checkout's CLI (the console script, else ``-m``)."""
    script = Path(sys.executable).parent / "pta"
    if script.is_file():
        return [str(script)]
    found = shutil.which("pta")
    return [found] if found else [sys.executable, "-m", "agent.cli"]
