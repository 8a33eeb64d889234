"""Payload decoders: real trace values, version tolerance, garbage never raises."""

from __future__ import annotations

import struct
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tools.nettrace.payloads import (
    DECODERS,
    RUNDOWN,
    RUNTIME,
    AllocationTick,
    ContentionStart,
    ContentionStop,
    ExceptionThrown,
    GCEnd,
    GCHeapStats,
    GCStart,
    MethodVerbose,
    ModuleInfo,
    ProcessInfo,
    WaitHandleWaitStart,
    allocation_tick_fields,
    decode,
)
from tools.nettrace.reader import open_trace


def _decoded(path: Path, provider: str, event_id: int) -> list[object]:
    with open_trace(path) as trace:
        ptr = trace.info.pointer_size
        return [
            decode(ev.provider, ev.event_id, ev.version, ev.payload, ptr)
            for ev in trace.events(
                select=lambda m: (m.provider, m.event_id) == (provider, event_id)
            )
        ]


def test_allocation_tick_v4_matches_the_documented_example(traces_dir: Path) -> None:
    """The alloc trace's GCAllocationTick_V4 holds the example payload SOURCES.md quotes."""
    ticks = _decoded(traces_dir / "filtrace-net10-alloc.nettrace", RUNTIME, 10)
    assert len(ticks) == 254
    assert all(isinstance(t, AllocationTick) for t in ticks)
    example = AllocationTick(
        110424,
        0,
        9,
        110424,
        0x7FFE79E409C8,
        "System.Reflection.MethodInfo[]",
        0,
        0x208A2C189D0,
        2064,
    )
    assert example in ticks


def test_contention_v2_and_stop_v1_decode(traces_dir: Path) -> None:
    """ContentionStart_V2 carries lock ids and owner; ContentionStop_V1 a DurationNs (119700.0)."""
    path = traces_dir / "filtrace-net10-contention.nettrace"
    starts = _decoded(path, RUNTIME, 81)
    stops = _decoded(path, RUNTIME, 91)
    assert len(starts) == len(stops) == 197
    assert all(isinstance(s, ContentionStart) and s.clr_instance_id == 9 for s in starts)
    assert any(isinstance(s, ContentionStart) and s.lock_owner_thread_id for s in starts)
    durations = [s.duration_ns for s in stops if isinstance(s, ContentionStop)]
    assert 119700.0 in durations
    assert all(d is not None and d > 0 for d in durations)


def test_gc_start_end_counts_in_alloc_trace(traces_dir: Path) -> None:
    """GCStart_V2 ×7 with generation depths 0..2 and matching GCEnd counts."""
    path = traces_dir / "filtrace-net10-alloc.nettrace"
    starts = [s for s in _decoded(path, RUNTIME, 1) if isinstance(s, GCStart)]
    ends = [e for e in _decoded(path, RUNTIME, 2) if isinstance(e, GCEnd)]
    assert len(starts) == 7
    assert {s.count for s in starts} == {e.count for e in ends}
    assert all(s.depth is not None and 0 <= s.depth <= 2 for s in starts)


def test_wait_handle_and_rundown_methods_decode(traces_dir: Path) -> None:
    """WaitHandleWaitStart ×604 and MethodDCEndVerbose names decode from the wait trace."""
    path = traces_dir / "filtrace-net10-wait.nettrace"
    waits = _decoded(path, RUNTIME, 301)
    assert len(waits) == 604 and all(isinstance(w, WaitHandleWaitStart) for w in waits)
    methods = [m for m in _decoded(path, RUNDOWN, 144) if isinstance(m, MethodVerbose)]
    assert any(
        m.namespace == "System.Threading.WaitHandle" and m.name == "WaitOne" for m in methods
    )
    modules = [m for m in _decoded(path, RUNDOWN, 154) if isinstance(m, ModuleInfo)]
    assert any((m.il_path or "").endswith("System.Private.CoreLib.dll") for m in modules)


def test_shorter_payload_leaves_later_fields_none() -> None:
    """An older, shorter GCAllocationTick (v1) decodes with the v2+ fields left None."""
    tick = decode(RUNTIME, 10, 1, struct.pack("<IIH", 1000, 1, 9))
    assert tick == AllocationTick(1000, 1, 9)
    assert isinstance(tick, AllocationTick) and tick.bytes == 1000


def test_longer_payload_keeps_known_fields() -> None:
    """A newer ContentionStop with extra trailing bytes still yields its known fields."""
    stop = decode(RUNTIME, 91, 2, struct.pack("<BHd", 0, 9, 5.0) + b"\x01\x02\x03")
    assert stop == ContentionStop(0, 9, 5.0)


def test_unknown_event_is_none() -> None:
    """Events without a decoder return None, not an error."""
    assert decode(RUNTIME, 9999, 0, b"abc") is None


@settings(max_examples=60, deadline=None)
@given(
    key=st.sampled_from(sorted(DECODERS)), version=st.integers(0, 4), data=st.binary(max_size=80)
)
def test_garbage_never_raises(key: tuple[str, int], version: int, data: bytes) -> None:
    """Any bytes for any known event decode to something or None without raising."""
    decode(key[0], key[1], version, data, 8)
    decode(key[0], key[1], version, data, 4)


def test_process_info_and_heap_stats_from_real_traces(traces_dir: Path) -> None:
    """ProcessInfo carries a command line; GCHeapStats_V2 five generation sizes."""
    path = traces_dir / "filtrace-net10-alloc.nettrace"
    infos = _decoded(path, "Microsoft-DotNETCore-EventPipe", 1)
    assert infos and all(isinstance(i, ProcessInfo) and i.command_line for i in infos)
    stats = [s for s in _decoded(path, RUNTIME, 4) if isinstance(s, GCHeapStats)]
    assert stats and all(
        len(s.generation_sizes) == 5 and None not in s.generation_sizes for s in stats
    )


def test_older_versions_and_32_bit_pointers() -> None:
    """v0 layouts (GCStart, GCEnd, empty ContentionStart) and 4-byte pointer fields decode."""
    assert decode(RUNTIME, 1, 0, struct.pack("<II", 12, 1)) == GCStart(12, reason=1)
    assert decode(RUNTIME, 2, 0, struct.pack("<IH", 12, 2)) == GCEnd(12, 2)
    assert decode(RUNTIME, 81, 0, b"") == ContentionStart()
    name = "System.Object".encode("utf-16-le") + b"\x00\x00"
    v3 = struct.pack("<IIHQI", 100, 1, 9, 100, 0x1234) + name + struct.pack("<II", 0, 0xBEEF)
    tick = decode(RUNTIME, 10, 3, v3, pointer_size=4)
    assert tick == AllocationTick(100, 1, 9, 100, 0x1234, "System.Object", 0, 0xBEEF)


def test_exception_thrown_v1() -> None:
    """ExceptionThrown_V1: type, message, EIP, HRESULT, flags."""
    text = "".join(f"{s}\x00" for s in ("System.InvalidOperationException", "boom"))
    payload = text.encode("utf-16-le") + struct.pack("<QIHH", 0xABC, 0x80131509, 16, 9)
    assert decode(RUNTIME, 80, 1, payload) == ExceptionThrown(
        "System.InvalidOperationException", "boom", 0xABC, 0x80131509, 16, 9
    )


_TICK_NAME = "Dekaf.Producer.ProducerRecord".encode("utf-16-le")


def _filler(n: int) -> bytes:
    return bytes((i * 37) % 251 + 1 for i in range(n))


@settings(max_examples=120, deadline=None)
@given(
    head=st.one_of(st.binary(max_size=30), st.sampled_from([21, 22, 23, 26, 27]).map(_filler)),
    name=st.sampled_from([b"", _TICK_NAME, _TICK_NAME[:-1], b"\x00"]),
    terminated=st.booleans(),
    tail=st.one_of(st.binary(max_size=28), st.sampled_from([15, 16, 19, 20, 21]).map(_filler)),
    pointer_size=st.sampled_from([4, 8, 0]),
)
def test_allocation_fast_path_equals_decode(
    head: bytes, name: bytes, terminated: bool, tail: bytes, pointer_size: int
) -> None:
    """The allocation fast path reads the same name, bytes and object size as ``decode``."""
    data = head + name + (b"\x00\x00" if terminated else b"") + tail
    tick = decode(RUNTIME, 10, 4, data, pointer_size)
    assert isinstance(tick, AllocationTick)
    expected = (tick.type_name, tick.bytes, tick.object_size)
    assert allocation_tick_fields(data, pointer_size) == expected


def test_allocation_names_are_not_trusted_to_the_type_id() -> None:
    """A TypeID seen with one name and then another (a reused id) reads each tick's own name."""
    head = struct.pack("<IIHQQ", 100_000, 0, 1, 100_000, 0x7F00DEAD)
    tail = struct.pack("<IQQ", 0, 0x1000, 64)
    for name in ("System.Byte[]", "System.String", "System.Byte[]", "System.Byte"):
        data = head + f"{name}\x00".encode("utf-16-le") + tail
        assert allocation_tick_fields(data, 8) == (name, 100_000, 64)
