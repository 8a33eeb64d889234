"""FastSerialization framing of NetPerf V3 and NetTrace V4/V5 streams (format notes §3).

Yields the trace header and then one ``(kind, payload_offset, payload)`` per object. Every
object is read completely before it is returned, so a stream cut short raises
:class:`~tools.nettrace._binary.Truncated` before any of the partial object is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from tools.nettrace._binary import MAX_BLOCK, SYSTEMTIME, Stream, corrupt
from tools.nettrace.model import TraceFormat, TraceInfo

SERIALIZATION_HEADER = b"\x14\x00\x00\x00!FastSerialization.1"
NULL_REFERENCE = 1
BEGIN_OBJECT = 4
BEGIN_PRIVATE_OBJECT = 5
END_OBJECT = 6
TRACE_PAYLOAD = 48
_MAX_TYPE_NAME = 256
_KNOWN = frozenset({"EventBlock", "MetadataBlock", "StackBlock", "SPBlock"})


def systemtime(values: tuple[int, ...]) -> datetime:
    """A ``datetime`` from SYSTEMTIME fields; impossible values give the epoch (never raise)."""
    year, month, _dow, day, hour, minute, second, ms = values
    try:
        return datetime(year, month, day, hour, minute, second, ms * 1000)
    except (ValueError, OverflowError):
        return datetime(1970, 1, 1)


class FastSerializerReader:
    """Reads the objects of a FastSerialization stream positioned after the magic.

    Attributes:
        begin_tag: 4 for NetPerf, 5 for NetTrace.
        trace_version: the ``Trace`` object's version (3 or 4).
    """

    def __init__(self, stream: Stream, fmt: TraceFormat) -> None:
        self._s = stream
        self._fmt = fmt
        self.begin_tag = BEGIN_OBJECT if fmt == "netperf-v3" else BEGIN_PRIVATE_OBJECT
        self.trace_version = 0

    def read_header(self) -> TraceInfo:
        """Check the serialization header and decode the ``Trace`` object."""
        start = self._s.pos
        if self._s.read(len(SERIALIZATION_HEADER)) != SERIALIZATION_HEADER:
            raise corrupt(start, "bad serialization header", "'!FastSerialization.1'")
        tag_at = self._s.pos
        tag = self._s.u8()
        if tag != self.begin_tag:
            raise corrupt(tag_at, f"unexpected tag {tag}", f"begin-object tag {self.begin_tag}")
        name, version = self._object_type()
        if name != "Trace":
            raise corrupt(tag_at, f"first object is {name!r}", "the 'Trace' object")
        want = 3 if self._fmt == "netperf-v3" else 4
        if version != want:
            raise corrupt(tag_at, f"Trace object version {version}", f"version {want}")
        self.trace_version = version
        payload = self._s.read(TRACE_PAYLOAD)
        self._end_object()
        return _trace_info(payload, self._fmt, self._s.pos - TRACE_PAYLOAD - 1)

    def objects(self) -> Iterator[tuple[str, int, bytes]]:
        """Yield ``(type name, payload offset, payload)`` until the NullReference end tag."""
        s = self._s
        while True:
            header = self._block_header()
            if header is None:
                return
            name, size = header
            padding = -s.pos % 4
            if padding and s.read(padding) != b"\x00" * padding:
                raise corrupt(s.pos - padding, "non-zero alignment padding", "zero padding")
            offset = s.pos
            payload = s.read(size)
            self._end_object()
            yield name, offset, payload

    def skim(self) -> Iterator[tuple[str, int, int]]:
        """Yield ``(type name, object start, object end)`` per object, payloads skipped.

        Only for a seekable file: a payload cut short shows as ``Truncated`` at its end tag.
        """
        s = self._s
        while True:
            start = s.pos
            header = self._block_header()
            if header is None:
                return
            name, size = header
            s.skip(-s.pos % 4 + size)
            self._end_object()
            yield name, start, s.pos

    def _block_header(self) -> tuple[str, int] | None:
        """The next object's type name and payload size, or None at the end tag."""
        s = self._s
        tag_at = s.pos
        tag = s.u8()
        if tag == NULL_REFERENCE:
            return None
        if tag != self.begin_tag:
            raise corrupt(tag_at, f"unexpected tag {tag}", "a begin-object or end tag")
        name, version = self._object_type()
        if version > 2 or version < 0:
            raise corrupt(tag_at, f"{name} version {version}", "block version <= 2")
        size_at = s.pos
        size = s.i32()
        if size < 0 or size > MAX_BLOCK:
            raise corrupt(size_at, f"block size {size}", "a plausible block size")
        return name, size

    def _object_type(self) -> tuple[str, int]:
        s = self._s
        at = s.pos
        head = s.read(10)
        if head[0] != self.begin_tag or head[1] != NULL_REFERENCE:
            raise corrupt(at, "bad object type header", "begin tag + NullReference")
        version = int.from_bytes(head[2:6], "little", signed=True)
        name_len = s.i32()
        if not 0 < name_len <= _MAX_TYPE_NAME:
            raise corrupt(at + 10, f"type name length {name_len}", "a short type name")
        raw = s.read(name_len)
        try:
            name = raw.decode("ascii")
        except UnicodeDecodeError:
            raise corrupt(at + 14, "type name is not ASCII", "an ASCII type name") from None
        if name != "Trace" and name not in _KNOWN:
            raise corrupt(at + 14, f"unknown object type {name!r}", "a known block type")
        self._end_object()
        return name, version

    def _end_object(self) -> None:
        at = self._s.pos
        tag = self._s.u8()
        if tag != END_OBJECT:
            raise corrupt(at, f"unexpected tag {tag}", "EndObject tag 6")


def _trace_info(payload: bytes, fmt: TraceFormat, offset: int) -> TraceInfo:
    values = SYSTEMTIME.unpack_from(payload, 0)
    qpc = int.from_bytes(payload[16:24], "little", signed=True)
    freq = int.from_bytes(payload[24:32], "little", signed=True)
    ptr, pid, procs, rate = (
        int.from_bytes(payload[i : i + 4], "little", signed=True) for i in range(32, 48, 4)
    )
    if ptr not in (4, 8):
        raise corrupt(offset, f"pointer size {ptr}", "pointer size 4 or 8")
    if freq <= 0:
        raise corrupt(offset, f"QPC frequency {freq}", "a positive timestamp frequency")
    return TraceInfo(
        format=fmt,
        sync_time_utc=systemtime(values),
        sync_time_qpc=qpc,
        qpc_frequency=freq,
        pointer_size=ptr,
        process_id=pid,
        processor_count=procs,
        sampling_interval_ns=rate,
    )
