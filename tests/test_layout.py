"""The four top-level packages are ours alone and come from this repository."""

from __future__ import annotations

import importlib
import importlib.metadata
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agent", "tools", "memory", "prompts")


@pytest.mark.parametrize("name", PACKAGES)
def test_package_resolves_inside_this_repository(name: str) -> None:
    """Importing ``agent`` (etc.) must give this repository's package, not a namesake."""
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().is_relative_to(REPO_ROOT)


@pytest.mark.parametrize("name", PACKAGES)
def test_no_other_distribution_provides_the_name(name: str) -> None:
    """A second installed distribution providing ``tools`` (say) would shadow ours."""
    providers = importlib.metadata.packages_distributions().get(name, [])
    assert set(providers) <= {"perf-trace-analyzer"}, providers
