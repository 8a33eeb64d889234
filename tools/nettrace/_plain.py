"""Uncompressed event rows: V4/V5 and V6 ``compressed=False`` blocks and NetPerf V3 blocks.

These layouts are rare in practice (the runtime always compresses V4 headers), so they favour
simplicity over speed and build events through :meth:`Decoder.make`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING

from tools.nettrace._binary import DECODE_ERRORS, U32, corrupt
from tools.nettrace._metadata import parse_metadata_v5
from tools.nettrace.model import Event

if TYPE_CHECKING:
    from tools.nettrace._decode import Decoder

_V4_ROW = struct.Struct("<IIIQQIIQ16s16sI")
_V6_ROW = struct.Struct("<IIIQQIIQII")
_V3_ROW = struct.Struct("<iiiq16s16si")
_ZERO_GUID = bytes(16)
_MASK32 = 0xFFFFFFFF


def uncompressed_v4(
    dec: Decoder, buf: bytes, base: int, pos: int, metadata: bool
) -> Iterator[Event]:
    n = len(buf)
    start = pos
    try:
        while pos < n:
            start = pos
            (event_size, mid, seq, tid, cap, proc, sid, ts, act, rel, size) = _V4_ROW.unpack_from(
                buf, pos
            )
            payload_at = pos + _V4_ROW.size
            end = payload_at + size
            next_row = pos + 4 + event_size
            if end > next_row or next_row > n:
                raise corrupt(base + start, f"event size {event_size}", "a row inside the block")
            pos = next_row
            if metadata:
                dec.define(parse_metadata_v5(buf, payload_at, end))
                continue
            event = dec.make(mid & 0x7FFFFFFF, base + start, seq, tid, cap, proc, sid, ts)
            if event is not None:
                event.payload = buf[payload_at:end]
                event.activity_id = None if act == _ZERO_GUID else act
                event.related_activity_id = None if rel == _ZERO_GUID else rel
                if not dec.divert(event):
                    yield event
    except DECODE_ERRORS as exc:
        raise corrupt(base + start, f"malformed event row ({exc})", "a well-formed row") from None


def uncompressed_v6(dec: Decoder, buf: bytes, base: int, pos: int) -> Iterator[Event]:
    n = len(buf)
    start = pos
    try:
        while pos < n:
            start = pos
            (event_size, mid, seq, tid, cap, proc, sid, ts, label, size) = _V6_ROW.unpack_from(
                buf, pos
            )
            payload_at = pos + _V6_ROW.size
            end = payload_at + size
            next_row = pos + 4 + event_size
            if end > next_row or next_row > n:
                raise corrupt(base + start, f"event size {event_size}", "a row inside the block")
            pos = next_row
            tid = dec.threads.get(tid, tid)
            cap = dec.threads.get(cap, cap)
            event = dec.make(mid & 0x7FFFFFFF, base + start, seq, tid, cap, proc, sid, ts)
            if event is not None:
                event.payload = buf[payload_at:end]
                event.activity_id, event.related_activity_id = dec.labels.get(label, (None, None))
                if not dec.divert(event):
                    yield event
    except DECODE_ERRORS as exc:
        raise corrupt(base + start, f"malformed event row ({exc})", "a well-formed row") from None


def event_block_v3(dec: Decoder, buf: bytes, base: int) -> Iterator[Event]:
    """Events of a NetPerf V3 EventBlock: inline metadata rows and per-event stacks."""
    n = len(buf)
    pos = start = 0
    try:
        while pos < n:
            start = pos
            event_size, mid, tid, ts, act, rel, size = _V3_ROW.unpack_from(buf, pos)
            payload_at = pos + _V3_ROW.size
            end = payload_at + size
            next_row = pos + 4 + event_size
            if size < 0 or event_size < 0 or end + 4 > next_row or next_row > n:
                raise corrupt(base + start, f"event size {event_size}", "a row inside the block")
            stack_size = U32.unpack_from(buf, end)[0]
            if end + 4 + stack_size > next_row or stack_size % dec.pointer_size:
                raise corrupt(base + end, f"stack size {stack_size}", "a stack inside the row")
            pos = next_row
            mid &= 0x7FFFFFFF
            if mid == 0:
                dec.define(parse_metadata_v5(buf, payload_at, end))
                continue
            event = dec.make(mid, base + start, 0, tid, tid, _MASK32, 0, ts)
            if event is not None:
                event.stack = dec.intern(buf[end + 4 : end + 4 + stack_size])
                event.payload = buf[payload_at:end]
                event.activity_id = None if act == _ZERO_GUID else act
                event.related_activity_id = None if rel == _ZERO_GUID else rel
                if not dec.divert(event):
                    yield event
    except DECODE_ERRORS as exc:
        raise corrupt(base + start, f"malformed event row ({exc})", "a well-formed row") from None
