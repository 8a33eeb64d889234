"""Folded stacks reproduce pyroscope's golden outputs exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.analysis.cpu import sample_scan, samples_of, stack_samples
from tools.analysis.folded import folded_of, folded_stacks, format_folded

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


def test_folded_from_the_sample_scan_equals_its_own_pass(traces_dir: Path) -> None:
    """The report bundle's single pass (samples + allocation ticks) folds to the same lines."""
    for name in (
        "pyroscope-dotnet-5.0-SampleProfiler-single-thread.golden.nettrace",
        "filtrace-net10-alloc.nettrace",
        "filtrace-net10-wait.nettrace",
    ):
        scan = sample_scan(traces_dir / name)
        assert folded_of(scan) == folded_stacks(traces_dir / name), name
        assert list(samples_of(scan)) == list(stack_samples(traces_dir / name)), name
