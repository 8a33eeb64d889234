"""Folded stacks reproduce pyroscope's golden outputs exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.analysis.folded import folded_stacks, format_folded

GOLDEN = "pyroscope-dotnet-5.0-SampleProfiler-single-thread"


@pytest.mark.parametrize(
    ("managed_only", "expected"), [(False, f"{GOLDEN}.txt"), (True, f"{GOLDEN}-managed-only.txt")]
)
def test_pyroscope_golden_outputs(traces_dir: Path, managed_only: bool, expected: str) -> None:
    """All-threads and managed-only folded stacks equal pyroscope's .txt files line for line."""
    lines = folded_stacks(traces_dir / f"{GOLDEN}.golden.nettrace", managed_only=managed_only)
    want = (traces_dir / expected).read_text().splitlines()
    assert format_folded(lines).splitlines() == sorted(want)


def test_folded_weights_are_thread_time(traces_dir: Path) -> None:
    """The weights of the perfview CPU trace add up to about its 10.5 s of one sampled thread."""
    lines = folded_stacks(traces_dir / "perfview-only_managed_samples.nettrace.zip")
    total_s = sum(w for _, w in lines) / 1e9
    assert 9.5 < total_s < 11.0
    assert all(line.startswith("NoNativeStacks!") for line, _ in lines)
