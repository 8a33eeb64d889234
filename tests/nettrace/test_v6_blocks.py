"""V6 features our writer does not emit, built block by block from the spec (NetTraceFormat.md)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tools.nettrace._encode import utf8, varuint
from tools.nettrace.model import TraceFormatError
from tools.nettrace.reader import read_all

ACT = bytes(range(1, 17))


def _block(kind: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload) | kind << 24) + payload


def _string(text: str) -> bytes:
    out = bytearray()
    utf8(out, text)
    return bytes(out)


def _trace_block() -> bytes:
    body = struct.pack("<8h", 2025, 12, 1, 1, 0, 0, 0, 0) + struct.pack("<qqii", 5, 1000, 8, 2)
    body += _string("ProcessId") + _string("4242") + _string("SystemPageSize") + _string("4096")
    return _block(1, body)


def _metadata(mid: int, name: str) -> bytes:
    # Optional entries the writer never emits: template, description, key/value, guid.
    extra = b"\x04" + _string("msg {x}") + b"\x05" + _string("desc") + b"\x06" + _string("k")
    extra += _string("v") + b"\x07" + bytes(16) + b"\x08\x05\x09\x02"
    body = bytearray()
    varuint(body, mid)
    body += _string("Prov")
    varuint(body, 7)
    body += _string(name) + b"\x00\x00"  # no fields
    body += struct.pack("<H", len(extra)) + extra + b"future"  # unknown trailing bytes
    return struct.pack("<H", len(body)) + bytes(body)


def _thread_row(index: int, os_tid: int) -> bytes:
    row = bytearray()
    varuint(row, index)
    row += b"\x01" + _string("worker") + b"\x02"
    varuint(row, 4242)
    row.append(3)
    varuint(row, os_tid)
    row += b"\x04" + _string("role") + _string("io")
    return struct.pack("<H", len(row)) + bytes(row)


def _labels() -> bytes:
    body = struct.pack("<II", 1, 2)
    body += b"\x03" + bytes(16) + b"\x04" + bytes(8) + b"\x05" + _string("k") + _string("v")
    body += b"\x06" + _string("n") + b"\x05" + b"\x07\x01\x08" + bytes(8) + b"\x09\x04\x0a\x01"
    body += b"\x81" + ACT  # list 1 ends with its activity id
    body += b"\x82" + ACT[::-1]  # list 2: only a related activity id
    return _block(8, body)


def _events(rows: list[tuple[int, int, int]]) -> bytes:
    """Compressed rows (metadata id, thread index, label id), timestamps 10, 20, …"""
    body = bytearray(struct.pack("<HHqq", 20, 1, 0, 0))
    for mid, thread, label in rows:
        body.append(0x01 | 0x04 | 0x10 | 0x80)
        varuint(body, mid)
        varuint(body, thread)
        body.append(10)  # timestamp delta
        varuint(body, label)
        body += b"\x01\x07"  # payload: 1 byte
    return _block(2, bytes(body))


def _file(tmp_path: Path, *middle: bytes, end: bool = True) -> Path:
    data = b"Nettrace" + struct.pack("<III", 0, 6, 0) + _trace_block() + b"".join(middle)
    path = tmp_path / "v6.nettrace"
    path.write_bytes(data + (_block(0, b"") if end else b""))
    return path


def test_threads_labels_optional_metadata_and_flushes(tmp_path: Path) -> None:
    """Thread info kinds, every label kind, optional metadata, RemoveThread and SP flags."""
    sp = struct.pack("<QII", 100, 3, 1) + b"\x01\x05"
    path = _file(
        tmp_path,
        _block(3, b"\x02\x00hi" + _metadata(1, "First")),
        _block(6, _thread_row(1, 555) + _thread_row(2, 777)),
        _labels(),
        _events([(1, 1, 1), (1, 2, 2), (1, 2, 0)]),
        _block(7, b"\x01\x05"),
        _block(4, sp),
        _block(3, b"\x00\x00" + _metadata(1, "Second")),
        _block(6, _thread_row(1, 999)),
        _events([(1, 1, 0)]),
        _block(99, b"unknown block kinds are skipped"),
    )
    info, events, stats = read_all(path)
    assert (info.process_id, info.qpc_frequency, info.sync_time_qpc) == (4242, 1000, 5)
    assert [(e.metadata.event_name, e.thread_id, e.timestamp) for e in events] == [
        ("First", 555, 10),
        ("First", 777, 20),
        ("First", 777, 30),
        ("Second", 999, 10),
    ]
    assert [(e.activity_id, e.related_activity_id) for e in events] == [
        (ACT, None),
        (None, ACT[::-1]),
        (None, None),
        (None, None),
    ]
    assert (events[0].metadata.level, events[0].metadata.version) == (5, 2)
    assert not stats.truncated and stats.blocks["Unknown99"] == 1


def test_metadata_flushed_by_a_sequence_point_is_gone(tmp_path: Path) -> None:
    """After SP flag 2 an event may not use the old metadata id: TraceFormatError."""
    path = _file(
        tmp_path,
        _block(3, b"\x00\x00" + _metadata(1, "Only")),
        _block(4, struct.pack("<QII", 1, 2, 0)),
        _events([(1, 0, 0)]),
    )
    with pytest.raises(TraceFormatError, match="never defined"):
        read_all(path)


def test_missing_end_of_stream_is_truncation(tmp_path: Path) -> None:
    """A V6 stream without its EndOfStream block reads fully but reports truncated."""
    path = _file(
        tmp_path, _block(3, b"\x00\x00" + _metadata(1, "A")), _events([(1, 0, 0)]), end=False
    )
    _, events, stats = read_all(path)
    assert len(events) == 1 and stats.truncated


def test_newer_major_version_is_rejected(tmp_path: Path) -> None:
    """Major version 7 is refused with the offset of the version word."""
    path = tmp_path / "v7.nettrace"
    path.write_bytes(b"Nettrace" + struct.pack("<III", 0, 7, 0) + _trace_block())
    with pytest.raises(TraceFormatError, match="major version 7") as info:
        read_all(path)
    assert info.value.offset == 12
