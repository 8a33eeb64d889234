"""Fixtures shared by the MCP, Claude Code and batch integration tests."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pta_argv() -> list[str]:
    """The argv prefix that starts this checkout's CLI (the console script, else ``-m``)."""
    script = Path(sys.executable).parent / "pta"
    if script.is_file():
        return [str(script)]
    found = shutil.which("pta")
    return [found] if found else [sys.executable, "-m", "agent.cli"]
