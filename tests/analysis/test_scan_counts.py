"""The one-pass scan counts and times every event although samples and skipped rows are never
built as Event objects."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tools.analysis.analyze import analyze_trace_file
from tools.analysis.source import SAMPLE_KEYS, TraceScan
from tools.analysis.synthetic import SyntheticTrace, gc_start_v2
from tools.nettrace.payloads import RUNTIME
from tools.nettrace.reader import read_all

HOT = ("App!App.Program.Main()", "App!App.Worker.Run()", "App!App.Worker.Hot()")
COLD = ("App!App.Program.Main()", "App!App.Worker.Idle()")


def _write(path: Path, version: int) -> None:
    with SyntheticTrace(path, version=version, block_size=1_500) as trace:
        for i in range(600):
            trace.sample(2001 + i % 3, 10_000 + i * 100, HOT if i % 3 else COLD, managed=i % 2 == 0)
            if i % 40 == 0:
                trace.allocation(2001, 10_050 + i * 100, HOT, "System.Byte[]", 100_000, 64)
            if i % 150 == 0:
                trace.event(RUNTIME, 1, 2, 2009, 10_060 + i * 100, gc_start_v2(i, 0))
                trace.event(RUNTIME, 77, 0, 2009, 10_070 + i * 100, b"\x00")  # nobody's key


@pytest.mark.parametrize("version", [4, 6])
def test_analysis_counts_and_window_match_a_full_read(tmp_path: Path, version: int) -> None:
    """events_by_provider, event total, duration and samples equal what a full read sees."""
    path = tmp_path / "t.nettrace"
    _write(path, version)
    info, events, _ = read_all(path)
    analysis = analyze_trace_file(path)
    expected: dict[str, dict[str, int]] = {}
    for (provider, event_id), n in sorted(
        Counter((e.provider, e.event_id) for e in events).items()
    ):
        expected.setdefault(provider, {})[str(event_id)] = n
    assert analysis.events_by_provider == expected
    assert analysis.trace.events == len(events)
    stamps = [e.timestamp for e in events]
    assert analysis.trace.duration_s == round((max(stamps) - min(stamps)) / info.qpc_frequency, 6)
    assert analysis.cpu.samples == 600


def test_scan_without_count_all_counts_only_its_keys(tmp_path: Path) -> None:
    """A samples-only scan reports the sample count alone and keeps every sample."""
    path = tmp_path / "t.nettrace"
    _write(path, 4)
    scan = TraceScan.run(path, SAMPLE_KEYS)
    assert dict(scan.counts) == {next(iter(SAMPLE_KEYS)): 600}
    assert len(scan.samples) == 600
    assert sorted(scan.samples.threads) == [2001, 2002, 2003]
