"""Damaged input: truncated and bit-flipped real traces, non-traces, odd zips.

The contract: a damaged trace gives either ``TraceFormatError`` or a partial result with
``truncated=True`` (and, for a truncation, the events are a prefix of the full read) — never
another exception, never a hang.
"""

from __future__ import annotations

import io
import random
import time
import zipfile
from functools import cache
from pathlib import Path

import pytest

from tools.nettrace._binary import Stream
from tools.nettrace._fastserializer import FastSerializerReader
from tools.nettrace.model import TraceFormatError
from tools.nettrace.reader import open_trace, read_all
from tools.nettrace.writer import NetTraceWriter

# file -> (object boundaries sampled, each cut at -1/0/+1; random cut points, 0 = every
# offset; damaged variants). Sample-heavy traces get fewer so the module stays ~20 s of CPU.
BUDGET = {
    "filtrace-net10-alloc.nettrace": (40, 25, 40),
    "filtrace-net10-contention.nettrace": (40, 25, 40),
    "filtrace-net10-wait.nettrace": (15, 12, 20),
    "perfview-only_managed_samples.nettrace.zip": (8, 6, 12),
    "pyroscope-dotnet-5.0-SampleProfiler-single-thread.golden.nettrace": (8, 6, 12),
    "perfview-eventpipe-dotnetcore5.0-win-x64-arraytypes.nettrace.zip": (99, 25, 40),
    "perfview-eventpipe-dotnetcore2.1-linux-x64-tracelogging.netperf.zip": (99, 0, 300),
}
# Generous (the machine is shared); a hang would blow far past it.
MAX_SECONDS = 5.0
Key = tuple[int, int, bytes]


@cache
def _raw(path: Path) -> bytes:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            return archive.read(archive.namelist()[0])
    return path.read_bytes()


@cache
def _full(path: Path) -> tuple[Key, ...]:
    _, events, _ = read_all(path)
    return tuple((e.timestamp, e.thread_id, e.payload) for e in events)


def _boundaries(data: bytes) -> list[int]:
    """Absolute offsets where each object starts/ends in a FastSerialization trace."""
    fmt = "netperf-v3" if data.startswith(b"\x14") else "nettrace-v4"
    stream = Stream(io.BytesIO(data))
    if fmt != "netperf-v3":
        stream.read(8)
    reader = FastSerializerReader(stream, fmt)
    reader.read_header()
    cuts = [stream.pos]
    for _, offset, payload in reader.objects():
        cuts += [offset, offset + len(payload), stream.pos]
    return cuts


def _outcome(path: Path) -> tuple[tuple[Key, ...] | None, bool]:
    """Read ``path``: (events or None on TraceFormatError, truncated), in bounded time."""
    start = time.monotonic()
    try:
        with open_trace(path) as trace:
            events = tuple((e.timestamp, e.thread_id, e.payload) for e in trace.events())
            truncated = trace.stats.truncated
            if truncated:
                assert trace.stats.truncated_at is not None
    except TraceFormatError as exc:
        assert exc.offset is not None
        return None, True
    finally:
        assert time.monotonic() - start < MAX_SECONDS
    return events, truncated


@pytest.mark.parametrize("name", sorted(BUDGET))
def test_truncated_traces_give_a_prefix(traces_dir: Path, tmp_path: Path, name: str) -> None:
    """Every block boundary +-1 and random cut points: a prefix of the events, truncated."""
    data = _raw(traces_dir / name)
    full = _full(traces_dir / name)
    rng = random.Random(name)
    boundaries = _boundaries(data)
    sampled, count, _ = BUDGET[name]
    chosen = boundaries if len(boundaries) <= sampled else rng.sample(boundaries, sampled)
    cuts = {c + d for c in chosen for d in (-1, 0, 1) if 0 <= c + d < len(data)}
    if count:
        cuts |= {rng.randrange(len(data)) for _ in range(count)}
    else:
        cuts |= set(range(len(data)))
    target = tmp_path / "cut.nettrace"
    for cut in sorted(cuts):
        target.write_bytes(data[:cut])
        events, truncated = _outcome(target)
        if events is None:
            assert cut < boundaries[0], f"error after the header at cut {cut}"
            continue
        assert truncated, cut
        assert events == full[: len(events)], cut


@pytest.mark.parametrize("name", sorted(BUDGET))
def test_damaged_bytes_give_our_error_or_a_result(
    traces_dir: Path, tmp_path: Path, name: str
) -> None:
    """Random bit flips and byte overwrites: TraceFormatError or a result, nothing else."""
    data = _raw(traces_dir / name)
    rng = random.Random(f"flip-{name}")
    target = tmp_path / "flip.nettrace"
    for _ in range(BUDGET[name][2]):
        damaged = bytearray(data)
        for _ in range(rng.choice((1, 1, 2, 8))):
            at = rng.randrange(len(damaged))
            if rng.random() < 0.5:
                damaged[at] ^= 1 << rng.randrange(8)
            else:
                damaged[at] = rng.choice((0, 0xFF, 0x80, rng.randrange(256)))
        target.write_bytes(bytes(damaged))
        _outcome(target)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"Nettr",
        b"\x89PNG\r\n\x1a\n" + bytes(64),
        bytes(range(256)) * 4,
        b"Nettrace\x07\x00\x00\x00" + bytes(8),
    ],
    ids=["empty", "short-magic", "png", "random", "bad-version-word"],
)
def test_non_traces_are_rejected_clearly(tmp_path: Path, content: bytes) -> None:
    """Not a trace: one TraceFormatError at offset 0 naming what was expected."""
    path = tmp_path / "x.nettrace"
    path.write_bytes(content)
    with pytest.raises(TraceFormatError) as info:
        open_trace(path)
    assert info.value.offset == 0 and "not a .nettrace/.netperf trace" in str(info.value)
    assert "Nettrace' magic" in info.value.expected


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_zip_members(traces_dir: Path, tmp_path: Path) -> None:
    """A zip needs exactly one trace member; extra non-trace members are ignored."""
    trace = _raw(traces_dir / "perfview-eventpipe-dotnetcore2.1-linux-x64-tracelogging.netperf.zip")
    two = _zip(tmp_path / "two.zip", {"a.netperf": trace, "b.netperf": trace})
    none = _zip(tmp_path / "none.zip", {"readme.txt": b"hello"})
    with pytest.raises(TraceFormatError, match="2 trace members"):
        open_trace(two)
    with pytest.raises(TraceFormatError, match="no trace member"):
        open_trace(none)
    mixed = _zip(tmp_path / "mixed.zip", {"readme.txt": b"hi", "dir/t.bin": trace})
    _, events, stats = read_all(mixed)
    assert len(events) == 12 and not stats.truncated


def test_damaged_zip_containers(traces_dir: Path, tmp_path: Path) -> None:
    """Cut or flipped zip archives: TraceFormatError or a (truncated) result only."""
    data = (
        traces_dir / "perfview-eventpipe-dotnetcore5.0-win-x64-arraytypes.nettrace.zip"
    ).read_bytes()
    rng = random.Random("zip")
    target = tmp_path / "z.zip"
    for i in range(40):
        damaged = bytearray(data[: rng.randrange(len(data))] if i % 4 == 0 else data)
        if i % 4:
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        target.write_bytes(bytes(damaged))
        _outcome(target)


@pytest.mark.parametrize("version", [4, 6])
def test_aborted_writer_reads_as_truncated(tmp_path: Path, version: int) -> None:
    """A writer stopped without its end marker (a crash) reads as the flushed prefix."""
    path = tmp_path / "crash.nettrace"
    writer = NetTraceWriter(path, version=version, block_size=500)
    mid = writer.define_event("P", 1)
    for i in range(300):
        writer.write_event(mid, thread_id=1, timestamp=i, stack=(i % 7 + 1,), payload=bytes(8))
    writer.abort()
    _, events, stats = read_all(path)
    assert stats.truncated and 0 < len(events) < 300
    assert [e.timestamp for e in events] == list(range(len(events)))


def test_undefined_metadata_id_is_corruption(tmp_path: Path) -> None:
    """An event naming a MetadataId that was never defined: TraceFormatError with its offset."""
    path = tmp_path / "undefined.nettrace"
    with NetTraceWriter(path) as writer:
        writer.define_event("P", 1)
        writer.write_event(99, thread_id=1)
    with pytest.raises(TraceFormatError, match="metadata id 99 was never defined") as info:
        read_all(path)
    assert info.value.offset is not None and info.value.offset > 100


@pytest.mark.parametrize("version", [4, 6])
def test_undecodable_provider_name_is_corruption(tmp_path: Path, version: int) -> None:
    """A provider name that is not valid UTF-16 (V4) / UTF-8 (V6): TraceFormatError."""
    path = tmp_path / "name.nettrace"
    with NetTraceWriter(path, version=version) as writer:
        writer.define_event("QZ", 1)
    data = path.read_bytes()
    good, bad = (b"Q\x00Z\x00", b"\x00\xd8Z\x00") if version == 4 else (b"QZ", b"\xff\xfe")
    path.write_bytes(data.replace(good, bad))
    with pytest.raises(TraceFormatError, match="malformed"):
        read_all(path)


@pytest.mark.parametrize("layout", [(4, False), (6, True), (6, False)])
def test_truncated_synthetic_layouts(tmp_path: Path, layout: tuple[int, bool]) -> None:
    """Uncompressed V4 and V6 files cut at every 97th byte: a prefix, truncated."""
    version, compressed = layout
    full_path = tmp_path / "full.nettrace"
    with NetTraceWriter(full_path, version=version, compressed=compressed, block_size=300) as w:
        mid = w.define_event("P", 1, fields=())
        for i in range(200):
            w.write_event(
                mid, thread_id=i % 3, timestamp=i, stack=(i % 5 + 1,), payload=bytes(i % 7)
            )
    data = full_path.read_bytes()
    _, full, _ = read_all(full_path)
    expected = [(e.timestamp, e.thread_id, e.payload) for e in full]
    cut_path = tmp_path / "cut.nettrace"
    for cut in range(0, len(data) - 1, 97):
        cut_path.write_bytes(data[:cut])
        events, truncated = _outcome(cut_path)
        assert truncated
        if events is not None:
            assert list(events) == expected[: len(events)]


@pytest.mark.parametrize("layout", [(6, True), (6, False), (4, False)])
def test_damaged_synthetic_layouts(tmp_path: Path, layout: tuple[int, bool]) -> None:
    """Bit flips in V6 and uncompressed V4 files (the real traces are all compressed V4)."""
    version, compressed = layout
    path = tmp_path / "full.nettrace"
    with NetTraceWriter(path, version=version, compressed=compressed, block_size=400) as w:
        mid = w.define_event("P", 1, 0, "E")
        for i in range(150):
            act = bytes([i % 3 + 1]) * 16 if i % 4 == 0 else None
            w.write_event(
                mid,
                thread_id=i % 4,
                timestamp=i,
                stack=(i % 6 + 1,),
                payload=bytes(i % 9),
                activity_id=act,
            )
    data = path.read_bytes()
    rng = random.Random(f"synthetic-{layout}")
    target = tmp_path / "flip.nettrace"
    for _ in range(100):
        damaged = bytearray(data)
        at = rng.randrange(len(damaged))
        damaged[at] ^= 1 << rng.randrange(8)
        target.write_bytes(bytes(damaged))
        _outcome(target)
