"""Shared fixtures: the real traces folder, a clean environment for every test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TRACES_DIR = Path(os.environ.get("PTA_TRACES_DIR", REPO_ROOT.parent / "shared" / "traces"))


@pytest.fixture(scope="session")
def traces_dir() -> Path:
    """The real traces in ../shared/traces: a skip outside CI when absent, a failure in CI."""
    if not TRACES_DIR.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"real traces folder {TRACES_DIR} is missing (required under CI=true)")
        pytest.skip(f"real traces folder {TRACES_DIR} is absent")
    return TRACES_DIR


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may reach the real API or share state through the environment."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "PTA_MODEL", "PTA_MEMORY_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir(exist_ok=True)
