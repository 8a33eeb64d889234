"""The reader against every real trace in ../shared/traces, checked with SOURCES.md's facts."""

from __future__ import annotations

import struct
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from tools.nettrace.model import Event, ReadStats, TraceInfo
from tools.nettrace.reader import decode_fields, open_trace, read_all

RUNTIME = "Microsoft-Windows-DotNETRuntime"
RUNDOWN = "Microsoft-Windows-DotNETRuntimeRundown"
SAMPLER = "Microsoft-DotNETCore-SampleProfiler"
ALLOC = "filtrace-net10-alloc.nettrace"
CONTENTION = "filtrace-net10-contention.nettrace"
WAIT = "filtrace-net10-wait.nettrace"
MANAGED = "perfview-only_managed_samples.nettrace.zip"
PYROSCOPE = "pyroscope-dotnet-5.0-SampleProfiler-single-thread.golden.nettrace"
ARRAYS = "perfview-eventpipe-dotnetcore5.0-win-x64-arraytypes.nettrace.zip"
NETPERF = "perfview-eventpipe-dotnetcore2.1-linux-x64-tracelogging.netperf.zip"

# file -> (format, pid, QPC frequency, distinct event threads or None when SOURCES is silent)
HEADERS = {
    ALLOC: ("nettrace-v4", 61228, 10_000_000, 3),
    CONTENTION: ("nettrace-v4", 41104, 10_000_000, 9),
    WAIT: ("nettrace-v4", 72192, 10_000_000, 10),
    MANAGED: ("nettrace-v4", 60178, 1_000_000_000, 6),
    PYROSCOPE: ("nettrace-v4", 55960, 1_000_000_000, None),
    ARRAYS: ("nettrace-v4", 26240, 10_000_000, None),
    NETPERF: ("netperf-v3", 12365, 1_000_000_000, None),
}


@cache
def _read(path: Path) -> tuple[TraceInfo, list[Event], ReadStats]:
    return read_all(path)


def _counts(events: list[Event]) -> Counter[tuple[str, int, int]]:
    return Counter((e.provider, e.event_id, e.version) for e in events)


def _sample_types(events: list[Event]) -> Counter[int]:
    return Counter(struct.unpack_from("<I", e.payload)[0] for e in events if e.provider == SAMPLER)


def test_every_trace_in_the_folder_is_covered(traces_dir: Path) -> None:
    """A trace added to ../shared/traces without expectations here is noticed."""
    found = {p.name for p in traces_dir.iterdir() if p.suffix in (".nettrace", ".netperf", ".zip")}
    assert found == set(HEADERS)


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_header_and_complete_read(traces_dir: Path, name: str) -> None:
    """Format, pid, QPC frequency, pointer size and thread count match; nothing is truncated."""
    info, events, stats = _read(traces_dir / name)
    fmt, pid, freq, threads = HEADERS[name]
    assert (info.format, info.process_id, info.qpc_frequency, info.pointer_size) == (
        fmt,
        pid,
        freq,
        8,
    )
    assert not stats.truncated and stats.truncated_at is None
    assert stats.events == len(events) > 0
    if threads is not None:
        assert len({e.thread_id for e in events}) == threads


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_runtime_metadata_has_no_names_or_fields(traces_dir: Path, name: str) -> None:
    """Runtime/rundown/sampler events carry empty names and no field descriptions."""
    _read(traces_dir / name)
    with open_trace(traces_dir / name) as trace:
        for _ in trace.events():
            pass
        native = [m for m in trace.metadata.values() if m.provider in (RUNTIME, RUNDOWN, SAMPLER)]
    assert all(m.event_name == "" and m.fields == () for m in native)
    assert native or name == NETPERF


def test_alloc_trace(traces_dir: Path) -> None:
    """alloc: 254 GCAllocationTick v4 with 2-33 frame stacks; the block and stack counts."""
    info, events, stats = _read(traces_dir / ALLOC)
    assert info.sync_time_utc.isoformat() == "2026-06-07T02:09:41.494000"
    assert (info.processor_count, info.sampling_interval_ns) == (32, 1_000_000)
    ticks = [e for e in events if (e.provider, e.event_id) == (RUNTIME, 10)]
    assert len(ticks) == 254 and {e.version for e in ticks} == {4}
    assert min(len(e.stack) for e in ticks) == 2 and max(len(e.stack) for e in ticks) == 33
    assert sum(10 <= len(e.stack) <= 19 for e in ticks) == 250
    assert stats.blocks == {
        "Trace": 1,
        "MetadataBlock": 5,
        "StackBlock": 2,
        "EventBlock": 9,
        "SPBlock": 1,
    }
    assert stats.stacks == 86
    counts = _counts(events)
    assert counts[(RUNDOWN, 144, 1)] + counts[(RUNDOWN, 144, 2)] == 2198
    assert not any(e.provider == SAMPLER for e in events)


def test_contention_trace(traces_dir: Path) -> None:
    """contention: 197 ContentionStart v2 (27 bytes) / Stop v1 (11 bytes), 68 samples 39/29."""
    _, events, stats = _read(traces_dir / CONTENTION)
    counts = _counts(events)
    assert counts[(RUNTIME, 81, 2)] == 197 and counts[(RUNTIME, 91, 1)] == 197
    sizes = Counter((e.event_id, len(e.payload)) for e in events if e.event_id in (81, 91))
    assert sizes == {(81, 27): 197, (91, 11): 197}
    assert _sample_types(events) == {1: 39, 2: 29}
    assert stats.stacks == 61
    assert (stats.blocks["MetadataBlock"], stats.blocks["StackBlock"]) == (7, 3)
    assert (stats.blocks["EventBlock"], stats.blocks["SPBlock"]) == (11, 1)


def test_wait_trace(traces_dir: Path) -> None:
    """wait: 604/604 wait events, 1084 samples (884/200), MethodLoadVerbose v1 840 / v2 8."""
    _, events, stats = _read(traces_dir / WAIT)
    counts = _counts(events)
    assert counts[(RUNTIME, 301, 0)] == 604 and counts[(RUNTIME, 302, 0)] == 604
    assert _sample_types(events) == {1: 884, 2: 200}
    assert counts[(RUNTIME, 143, 1)] == 840 and counts[(RUNTIME, 143, 2)] == 8
    assert counts[(RUNTIME, 10, 4)] == 11
    assert counts[(RUNDOWN, 144, 1)] + counts[(RUNDOWN, 144, 2)] == 2269
    assert stats.stacks == 872 and stats.blocks["StackBlock"] == 12


def test_managed_samples_zip(traces_dir: Path) -> None:
    """The zipped perfview trace: 7423 Managed samples, GC suspend/restart events x7423 each."""
    _, events, _ = _read(traces_dir / MANAGED)
    assert _sample_types(events) == {2: 7423}
    counts = _counts(events)
    assert all(counts[(RUNTIME, i, 1)] == 7423 for i in (3, 7, 8, 9))
    assert counts[(RUNDOWN, 144, 1)] + counts[(RUNDOWN, 144, 2)] == 408
    assert all(e.stack for e in events if e.provider == SAMPLER)


def test_pyroscope_trace(traces_dir: Path) -> None:
    """pyroscope golden: 5564 samples (5559 Managed, 5 External), 104 MethodDCEndVerbose."""
    _, events, _ = _read(traces_dir / PYROSCOPE)
    assert _sample_types(events) == {2: 5559, 1: 5}
    assert _counts(events)[(RUNDOWN, 144, 1)] == 104


def test_arraytypes_v2params_and_opcode(traces_dir: Path) -> None:
    """V5 metadata tags: V2Params array fields decode; TestEvent3 carries opcode 24."""
    _, events, _ = _read(traces_dir / ARRAYS)
    by_name = {e.metadata.event_name: e for e in events if e.provider == "TestEventSource0"}
    first = by_name["TestEvent1"]
    assert [(f.name, f.type_code) for f in first.metadata.fields][:2] == [
        ("arg0", 19),
        ("arg1", 19),
    ]
    assert first.metadata.fields[0].element is not None
    assert first.metadata.fields[0].element.type_code == 10
    decoded = decode_fields(first.metadata, first.payload, 8)
    assert isinstance(decoded["arg0"], list) and len(decoded["arg0"]) == 6
    assert len(decoded["arg1"]) == 5  # type: ignore[arg-type]
    assert by_name["TestEvent3"].metadata.opcode == 24
    info = [e for e in events if e.provider == "Microsoft-DotNETCore-EventPipe"]
    assert info and {e.version for e in info} == {0}
    assert "corerun.exe" in str(decode_fields(info[0].metadata, info[0].payload, 8)["CommandLine"])
    assert _counts(events)[(RUNDOWN, 144, 1)] == 1499


def test_netperf_nested_structs(traces_dir: Path) -> None:
    """NetPerf V3: 12 MySource events with inline stacks; nested structs decode to dicts."""
    info, events, stats = _read(traces_dir / NETPERF)
    assert info.format == "netperf-v3" and stats.blocks == {"Trace": 1, "EventBlock": 1}
    assert len(events) == 12 and {e.provider for e in events} == {"MySource"}
    assert all(e.stack for e in events)
    decoded = [decode_fields(e.metadata, e.payload, 8) for e in events]
    nested = [d for d in decoded if "structVal" in d]
    assert nested == [{"structVal": {"field17": "hello world!"}, "i": 42}]
    assert {"field1": "Hello", "field2": 3, "field3": 6} in decoded


def test_select_skips_without_changing_the_rest(traces_dir: Path) -> None:
    """A select filter yields exactly the matching events, with identical content."""
    _, events, _ = _read(traces_dir / CONTENTION)
    with open_trace(traces_dir / CONTENTION) as trace:
        chosen = list(trace.events(select=lambda m: m.provider == SAMPLER))
        assert trace.stats.events == len(events)
    expected = [e for e in events if e.provider == SAMPLER]
    assert [(e.timestamp, e.stack, e.payload) for e in chosen] == [
        (e.timestamp, e.stack, e.payload) for e in expected
    ]


def test_same_stack_id_gives_the_same_tuple_object(traces_dir: Path) -> None:
    """Stacks are interned: equal stacks are one tuple object (cheap to hash and keep)."""
    _, events, _ = _read(traces_dir / MANAGED)
    by_value: dict[tuple[int, ...], tuple[int, ...]] = {}
    for e in events:
        assert by_value.setdefault(e.stack, e.stack) is e.stack


def test_second_pass_rereads_from_the_start(traces_dir: Path) -> None:
    """events() twice: the same events again, and the same stats object is refilled."""
    with open_trace(traces_dir / ALLOC) as trace:
        stats = trace.stats
        first = sum(1 for _ in trace.events())
        second = sum(1 for _ in trace.events(select=lambda m: m.provider == RUNTIME))
        assert trace.stats is stats and stats.events == first
        assert stats.blocks["EventBlock"] == 9 and not stats.truncated
    assert 254 < second < first
