"""Generic decoding of self-describing payloads from their field metadata (format notes §5).

Only EventSource/TraceLogging events carry field metadata; runtime events are decoded by
hand-written layouts elsewhere. Decoding is tolerant: a short payload yields the fields that
fit, a string without terminator takes the rest of the payload.
"""

from __future__ import annotations

import struct
import uuid

from tools.nettrace._binary import read_varuint
from tools.nettrace.model import EventMetadata, FieldDef

_FIXED: dict[int, struct.Struct] = {
    4: struct.Struct("<H"),
    5: struct.Struct("<b"),
    6: struct.Struct("<B"),
    7: struct.Struct("<h"),
    8: struct.Struct("<H"),
    9: struct.Struct("<i"),
    10: struct.Struct("<I"),
    11: struct.Struct("<q"),
    12: struct.Struct("<Q"),
    13: struct.Struct("<f"),
    14: struct.Struct("<d"),
    16: struct.Struct("<q"),
}
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_MAX_DEPTH = 32


class _Short(Exception):
    """The payload ended before the field."""


def decode_fields(metadata: EventMetadata, payload: bytes, pointer_size: int) -> dict[str, object]:
    """Decode ``payload`` using the field descriptions in ``metadata``.

    Args:
        metadata: the event's metadata (fields from V1/V2Params/V6 descriptions).
        payload: the raw payload bytes.
        pointer_size: the trace's pointer size (kept for pointer-typed fields).

    Returns:
        Field name -> value (ints, floats, bools, str, GUID str, bytes, lists, nested dicts).
        A payload shorter than the fields gives the fields that fit.
    """
    out: dict[str, object] = {}
    _Reader(payload, pointer_size).fields(metadata.fields, out, 0)
    return out


class _Reader:
    def __init__(self, buf: bytes, pointer_size: int) -> None:
        self.buf = buf
        self.pos = 0
        self.ptr = pointer_size

    def fields(self, fields: tuple[FieldDef, ...], out: dict[str, object], depth: int) -> bool:
        """Fill ``out``; False when the payload ran out (so callers stop too)."""
        base = self.pos
        for field in fields:
            try:
                value = self.value(field, depth, base)
            except _Short:
                return False
            except (struct.error, IndexError, ValueError):
                return False
            if not field.name and isinstance(value, dict):
                # TraceLogging (NetPerf) wraps the payload in one unnamed struct: flatten it.
                out.update(value)
            else:
                out[field.name] = value
        return True

    def value(self, field: FieldDef, depth: int, base: int) -> object:
        code = field.type_code
        fixed = _FIXED.get(code)
        if fixed is not None:
            raw = self.take(fixed.size)
            value = fixed.unpack(raw)[0]
            return chr(value) if code == 4 else value
        if code == 1:
            nested: dict[str, object] = {}
            if depth >= _MAX_DEPTH or not self.fields(field.fields, nested, depth + 1):
                raise _Short
            return nested
        return self.special(field, depth, base)

    def special(self, field: FieldDef, depth: int, base: int) -> object:
        code = field.type_code
        if code == 3:
            return _U32.unpack(self.take(4))[0] != 0
        if code == 26:
            return self.take(1)[0] != 0
        if code == 15:
            return self.take(16)
        if code == 17:
            return str(uuid.UUID(bytes_le=self.take(16)))
        if code == 18:
            return self.utf16z()
        if code == 23:
            return self.take(1).decode("latin-1")
        if code in (20, 21):
            value, self.pos = read_varuint(self.buf, self.pos, 10)
            return (value >> 1) ^ -(value & 1) if code == 20 else value
        if code in (19, 22):
            count = _U16.unpack(self.take(2))[0] if code == 19 else field.count
            return self.array(field, count, depth)
        if code in (24, 25):
            word = _U32.unpack(self.take(4))[0]
            at = (self.pos if code == 24 else base) + (word & 0xFFFF)
            return self.buf[at : at + (word >> 16)]
        raise _Short

    def array(self, field: FieldDef, count: int, depth: int) -> list[object]:
        element = field.element
        if element is None or depth >= _MAX_DEPTH:
            raise _Short
        if count > len(self.buf) - self.pos:
            raise _Short
        return [self.value(element, depth + 1, self.pos) for _ in range(count)]

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.buf):
            raise _Short
        raw = self.buf[self.pos : end]
        self.pos = end
        return raw

    def utf16z(self) -> str:
        buf = self.buf
        stop = self.pos
        while True:
            stop = buf.find(b"\x00\x00", stop)
            if stop < 0 or (stop - self.pos) % 2 == 0:
                break
            stop += 1
        end = len(buf) if stop < 0 else stop
        text = buf[self.pos : end].decode("utf-16-le", errors="replace")
        self.pos = len(buf) if stop < 0 else stop + 2
        return text
