"""The one-pass analysis over every real trace, checked against what SOURCES.md states."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.analysis.analyze import analyze_trace_file
from tools.analysis.results import TraceAnalysis

TRACES = [
    "filtrace-net10-alloc.nettrace",
    "filtrace-net10-contention.nettrace",
    "filtrace-net10-wait.nettrace",
    "perfview-only_managed_samples.nettrace.zip",
    "pyroscope-dotnet-5.0-SampleProfiler-single-thread.golden.nettrace",
    "perfview-eventpipe-dotnetcore5.0-win-x64-arraytypes.nettrace.zip",
    "perfview-eventpipe-dotnetcore2.1-linux-x64-tracelogging.netperf.zip",
]
_CACHE: dict[str, TraceAnalysis] = {}


def _analysis(traces_dir: Path, name: str) -> TraceAnalysis:
    if name not in _CACHE:
        _CACHE[name] = analyze_trace_file(traces_dir / name, top=10)
    return _CACHE[name]


@pytest.mark.parametrize("name", TRACES)
def test_every_real_trace_analyses_cleanly(traces_dir: Path, name: str) -> None:
    """Each stored trace yields a complete, untruncated analysis with its events counted."""
    analysis = _analysis(traces_dir, name)
    assert not analysis.trace.truncated
    assert analysis.trace.events == sum(
        n for ids in analysis.events_by_provider.values() for n in ids.values()
    )
    assert not analysis.deadlock.suspected


def test_alloc_trace_counts_and_types(traces_dir: Path) -> None:
    """254 GCAllocationTick_V4, 7 GCStart; byte[] and string dominate the sampled bytes."""
    a = _analysis(traces_dir, "filtrace-net10-alloc.nettrace")
    runtime = a.events_by_provider["Microsoft-Windows-DotNETRuntime"]
    assert runtime["10"] == 254 and runtime["1"] == 7
    assert a.allocations.ticks == 254
    assert [t.type for t in a.allocations.by_type[:2]] == ["System.Byte[]", "System.String"]
    assert "System.Reflection.MethodInfo[]" in {t.type for t in a.allocations.by_type}
    assert a.gc.count == 7 and sum(g.count for g in a.gc.by_generation) == 7
    assert a.gc.total_pause_ms > 0 and not a.cpu.collected


def test_contention_trace_durations(traces_dir: Path) -> None:
    """197 contention waits, durations from DurationNs (one of them 0.1197 ms), none left open."""
    a = _analysis(traces_dir, "filtrace-net10-contention.nettrace")
    assert a.contention.events == 197 and a.contention.unfinished == 0
    assert 0.1197 <= a.contention.max_ms < 10
    assert a.contention.total_ms == pytest.approx(sum(s.total_ms for s in a.contention.top), 1e-3)
    assert a.cpu.samples == 68 and a.cpu.external_samples == 39 and a.cpu.managed_samples == 29


def test_wait_trace(traces_dir: Path) -> None:
    """604 wait-handle waits pair up; the commonest leaf is WaitHandle.WaitOne(int32)."""
    a = _analysis(traces_dir, "filtrace-net10-wait.nettrace")
    assert a.contention.waits.events == 604 and a.contention.waits.unfinished == 0
    assert a.cpu.samples == 1084 and a.cpu.external_samples == 884
    leaf = "System.Private.CoreLib!System.Threading.WaitHandle.WaitOne(int32)"
    assert a.cpu.top_self[0].name == leaf


def test_perfview_cpu_trace(traces_dir: Path) -> None:
    """7423 managed samples: FindByte 5004 and InnerLoop 2419 self samples."""
    a = _analysis(traces_dir, "perfview-only_managed_samples.nettrace.zip")
    assert a.cpu.samples == a.cpu.managed_samples == 7423
    top = {m.name.split("!")[1].split("(")[0]: m.samples for m in a.cpu.top_self}
    assert top == {
        "NoNativeStacks.Program.FindByte": 5004,
        "NoNativeStacks.Program.InnerLoop": 2419,
    }
    assert a.cpu.share.other_managed == 100.0
    assert a.trace.duration_s == pytest.approx(10.5, abs=0.2)


def test_pyroscope_trace_samples(traces_dir: Path) -> None:
    """5564 samples (5559 managed, 5 external) on one thread; Work(int32) is the hottest leaf."""
    a = _analysis(traces_dir, "pyroscope-dotnet-5.0-SampleProfiler-single-thread.golden.nettrace")
    assert (a.cpu.samples, a.cpu.managed_samples, a.cpu.external_samples) == (5564, 5559, 5)
    assert a.cpu.top_self[0].name == "mvc-hello-world!Example.Program.Work(int32)"
    assert a.threads[0].samples == 5564


def test_traces_without_samples_say_what_to_collect(traces_dir: Path) -> None:
    """The NetPerf V3 trace has no CPU, allocation or contention data and the notes say so."""
    a = _analysis(traces_dir, "perfview-eventpipe-dotnetcore2.1-linux-x64-tracelogging.netperf.zip")
    assert a.trace.format == "netperf-v3"
    assert not (a.cpu.collected or a.allocations.collected or a.contention.collected)
    assert any("Microsoft-DotNETCore-SampleProfiler" in n for n in a.notes)
