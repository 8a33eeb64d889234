"""NetTrace V6 framing (format notes §6): ``u32 size|kind<<24`` blocks, no padding.

The Trace, Metadata, SequencePoint, Thread, RemoveThread and LabelList blocks are decoded
here; Event and Stack blocks go through the shared :class:`~tools.nettrace._decode.Decoder`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from tools.nettrace._binary import DECODE_ERRORS, U16, Stream, corrupt, read_varuint
from tools.nettrace._decode import Decoder
from tools.nettrace._fastserializer import systemtime
from tools.nettrace._metadata import parse_metadata_v6, utf8_string
from tools.nettrace.model import TraceInfo

KINDS = {
    0: "EndOfStream",
    1: "Trace",
    2: "EventBlock",
    3: "MetadataBlock",
    4: "SPBlock",
    5: "StackBlock",
    6: "ThreadBlock",
    7: "RemoveThreadBlock",
    8: "LabelListBlock",
}
_TRACE_HEAD = struct.Struct("<8hqqii")
_SP_HEAD = struct.Struct("<QII")
_LABEL_HEAD = struct.Struct("<II")
_MAX_MAJOR = 6


def read_version(stream: Stream) -> None:
    """Check the V6 version words that follow the magic (reserved 0 was already read)."""
    at = stream.pos
    major = stream.u32()
    stream.u32()
    if major != _MAX_MAJOR:
        raise corrupt(at, f"NetTrace major version {major}", "major version 6")


def blocks(stream: Stream) -> Iterator[tuple[str, int, bytes]]:
    """Yield ``(kind name, payload offset, payload)`` up to the EndOfStream block."""
    while True:
        at = stream.pos
        word = stream.u32()
        size = word & 0xFFFFFF
        kind = word >> 24
        if kind == 0:
            if size:
                raise corrupt(at, f"EndOfStream block of {size} bytes", "an empty EndOfStream")
            return
        offset = stream.pos
        payload = stream.read(size)
        yield KINDS.get(kind, f"Unknown{kind}"), offset, payload


def trace_block(buf: bytes, base: int) -> TraceInfo:
    """Decode the Trace block (header fields + key/value pairs)."""
    try:
        *st, qpc, freq, ptr, count = _TRACE_HEAD.unpack_from(buf, 0)
        pos = _TRACE_HEAD.size
        values: dict[str, str] = {}
        for _ in range(max(count, 0)):
            if pos >= len(buf):
                raise ValueError("key/value list overruns the block")
            key, pos = utf8_string(buf, pos, len(buf))
            values[key], pos = utf8_string(buf, pos, len(buf))
    except DECODE_ERRORS as exc:
        raise corrupt(base, f"malformed Trace block ({exc})", "a V6 Trace block") from None
    if ptr not in (4, 8) or freq <= 0:
        raise corrupt(base, f"pointer size {ptr}, frequency {freq}", "pointer 4/8, frequency > 0")
    return TraceInfo(
        format="nettrace-v6",
        sync_time_utc=systemtime(tuple(st)),
        sync_time_qpc=qpc,
        qpc_frequency=freq,
        pointer_size=ptr,
        process_id=_int(values.get("ProcessId")),
        processor_count=_int(values.get("HardwareThreadCount")),
        sampling_interval_ns=_int(values.get("ExpectedCPUSamplingRate")),
    )


def _int(text: str | None) -> int:
    try:
        return int(text) if text is not None else 0
    except ValueError:
        return 0


def apply_block(decoder: Decoder, kind: str, buf: bytes, base: int) -> None:
    """Apply a non-event V6 block to the decoder's caches."""
    try:
        if kind == "MetadataBlock":
            _metadata_block(decoder, buf)
        elif kind == "StackBlock":
            decoder.stack_block(buf, base)
        elif kind == "SPBlock":
            _sequence_point(decoder, buf)
        elif kind == "ThreadBlock":
            _thread_block(decoder, buf)
        elif kind == "RemoveThreadBlock":
            _remove_threads(decoder, buf)
        elif kind == "LabelListBlock":
            _label_lists(decoder, buf)
    except DECODE_ERRORS as exc:
        raise corrupt(base, f"malformed {kind} ({exc})", f"a well-formed {kind}") from None


def _metadata_block(decoder: Decoder, buf: bytes) -> None:
    pos = 2 + U16.unpack_from(buf, 0)[0]
    n = len(buf)
    while pos < n:
        size = U16.unpack_from(buf, pos)[0]
        start = pos + 2
        end = start + size
        if end > n:
            raise ValueError("metadata row overruns the block")
        decoder.define(parse_metadata_v6(buf, start, end))
        pos = end


def _sequence_point(decoder: Decoder, buf: bytes) -> None:
    _ts, flags, count = _SP_HEAD.unpack_from(buf, 0)
    pos = _SP_HEAD.size
    for _ in range(count):
        _, pos = read_varuint(buf, pos, 10)
        _, pos = read_varuint(buf, pos, 5)
    decoder.flush_stacks()
    if flags & 1:
        decoder.threads.clear()
    if flags & 2:
        decoder.flush_metadata()


def _thread_block(decoder: Decoder, buf: bytes) -> None:
    pos = 0
    n = len(buf)
    while pos < n:
        size = U16.unpack_from(buf, pos)[0]
        end = pos + 2 + size
        if end > n:
            raise ValueError("thread row overruns the block")
        index, p = read_varuint(buf, pos + 2, 10)
        os_tid = index
        while p < end:
            kind = buf[p]
            p += 1
            if kind == 1:
                _, p = utf8_string(buf, p, end)
            elif kind in (2, 3):
                value, p = read_varuint(buf, p, 10)
                if kind == 3:
                    os_tid = value
            elif kind == 4:
                _, p = utf8_string(buf, p, end)
                _, p = utf8_string(buf, p, end)
            else:
                raise ValueError(f"unknown thread info kind {kind}")
        if p != end:
            raise ValueError("thread row entries overrun the row")
        decoder.threads[index] = os_tid
        pos = end


def _remove_threads(decoder: Decoder, buf: bytes) -> None:
    pos = 0
    while pos < len(buf):
        index, pos = read_varuint(buf, pos, 10)
        _, pos = read_varuint(buf, pos, 5)
        decoder.threads.pop(index, None)


_LABEL_SIZES = {3: 16, 4: 8, 7: 1, 8: 8, 9: 1, 10: 1}


def _label_lists(decoder: Decoder, buf: bytes) -> None:
    first, count = _LABEL_HEAD.unpack_from(buf, 0)
    pos = _LABEL_HEAD.size
    n = len(buf)
    for i in range(count):
        act: bytes | None = None
        rel: bytes | None = None
        while True:
            if pos >= n:
                raise ValueError("label list overruns the block")
            kind = buf[pos]
            pos += 1
            code = kind & 0x7F
            if code in (1, 2):
                if pos + 16 > n:
                    raise ValueError("label overruns the block")
                if code == 1:
                    act = buf[pos : pos + 16]
                else:
                    rel = buf[pos : pos + 16]
                pos += 16
            elif code in _LABEL_SIZES:
                pos += _LABEL_SIZES[code]
            elif code == 5:
                _, pos = utf8_string(buf, pos, n)
                _, pos = utf8_string(buf, pos, n)
            elif code == 6:
                _, pos = utf8_string(buf, pos, n)
                _, pos = read_varuint(buf, pos, 10)
            else:
                raise ValueError(f"unknown label kind {code}")
            if kind & 0x80:
                break
        decoder.labels[first + i] = (act, rel)
