"""Byte encoders used by the writer: varuints, strings, metadata rows, block framing."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from datetime import datetime

from tools.nettrace.model import FieldDef

_SYSTEMTIME = struct.Struct("<8h")
_I32 = struct.Struct("<i")
_U16 = struct.Struct("<H")
_META_TAIL = struct.Struct("<qii")
ARRAY_CODES = frozenset({19, 22, 24, 25})


def varuint(out: bytearray, value: int) -> None:
    """Append ``value`` as ULEB128."""
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def utf16z(text: str) -> bytes:
    """A NUL-terminated UTF-16LE string."""
    return text.encode("utf-16-le") + b"\x00\x00"


def utf8(out: bytearray, text: str) -> None:
    """Append a V6 string (varuint length + UTF-8)."""
    raw = text.encode("utf-8")
    varuint(out, len(raw))
    out += raw


def systemtime(when: datetime) -> bytes:
    """SYSTEMTIME (8 × i16) of ``when``."""
    dow = (when.weekday() + 1) % 7
    return _SYSTEMTIME.pack(
        when.year,
        when.month,
        dow,
        when.day,
        when.hour,
        when.minute,
        when.second,
        when.microsecond // 1000,
    )


def _has_array(fields: Iterable[FieldDef]) -> bool:
    return any(f.type_code in ARRAY_CODES or _has_array(f.fields) for f in fields)


def metadata_v5(
    metadata_id: int,
    provider: str,
    event_id: int,
    name: str,
    keywords: int,
    version: int,
    level: int,
    opcode: int | None,
    fields: tuple[FieldDef, ...],
) -> bytes:
    """A V3–V5 metadata payload (V1 field list, or V2Params tag when arrays are used)."""
    out = bytearray(_I32.pack(metadata_id))
    out += utf16z(provider)
    out += _I32.pack(event_id)
    out += utf16z(name)
    out += _META_TAIL.pack(
        keywords - (1 << 64) if keywords >= 1 << 63 else keywords, version, level
    )
    v2 = _has_array(fields)
    _fields_v1(out, () if v2 else fields)
    if opcode is not None:
        out += _I32.pack(1) + b"\x01" + bytes([opcode & 0xFF])
    if v2:
        tag = bytearray()
        _fields_v2(tag, fields)
        out += _I32.pack(len(tag)) + b"\x02" + tag
    return bytes(out)


def _fields_v1(out: bytearray, fields: tuple[FieldDef, ...]) -> None:
    out += _I32.pack(len(fields))
    for field in fields:
        out += _I32.pack(field.type_code)
        if field.type_code == 1:
            _fields_v1(out, field.fields)
        out += utf16z(field.name)


def _fields_v2(out: bytearray, fields: tuple[FieldDef, ...]) -> None:
    out += _I32.pack(len(fields))
    for field in fields:
        body = bytearray(utf16z(field.name))
        _type_v2(body, field)
        out += _I32.pack(len(body) + 4) + body


def _type_v2(out: bytearray, field: FieldDef) -> None:
    out += _I32.pack(field.type_code)
    if field.type_code == 19 and field.element is not None:
        _type_v2(out, field.element)
    elif field.type_code == 1:
        _fields_v2(out, field.fields)


def metadata_v6(
    metadata_id: int,
    provider: str,
    event_id: int,
    name: str,
    keywords: int,
    version: int,
    level: int,
    opcode: int | None,
    fields: tuple[FieldDef, ...],
) -> bytes:
    """A V6 metadata row including its u16 size prefix."""
    out = bytearray()
    varuint(out, metadata_id)
    utf8(out, provider)
    varuint(out, event_id)
    utf8(out, name)
    _fields_v6(out, fields)
    optional = bytearray()
    if opcode is not None:
        optional += bytes([1, opcode & 0xFF])
    optional += b"\x03" + (keywords & (1 << 64) - 1).to_bytes(8, "little")
    optional += bytes([8, level & 0xFF, 9, version & 0xFF])
    out += _U16.pack(len(optional)) + optional
    return _U16.pack(len(out)) + bytes(out)


def _fields_v6(out: bytearray, fields: tuple[FieldDef, ...]) -> None:
    out += _U16.pack(len(fields))
    for field in fields:
        body = bytearray()
        utf8(body, field.name)
        _type_v6(body, field)
        out += _U16.pack(len(body)) + body


def _type_v6(out: bytearray, field: FieldDef) -> None:
    out.append(field.type_code)
    if field.type_code in ARRAY_CODES and field.element is not None:
        _type_v6(out, field.element)
        if field.type_code == 22:
            out += _U16.pack(field.count)
    elif field.type_code == 1:
        _fields_v6(out, field.fields)


# -- block payloads ---------------------------------------------------------------------------

_ZERO = bytes(16)


def metadata_block_v4(definitions: list[bytes]) -> bytes:
    """A V4 MetadataBlock payload: compressed rows (MetadataId 0) carrying the definitions."""
    rows = bytearray(struct.pack("<HHqq", 20, 1, 0, 0))
    for meta in definitions:
        rows += b"\x80\x00"  # flags: payload size present; timestamp delta 0
        varuint(rows, len(meta))
        rows += meta
    return bytes(rows)


def metadata_block_v6(rows: list[bytes]) -> bytes:
    """A V6 Metadata block payload: an empty header then the (size-prefixed) rows."""
    return b"\x00\x00" + b"".join(rows)


def thread_block(rows: list[tuple[int, int]]) -> bytes:
    """A V6 Thread block: (index, OS thread id) rows."""
    body = bytearray()
    for index, os_tid in rows:
        row = bytearray()
        varuint(row, index)
        row.append(3)  # OSThreadId
        varuint(row, os_tid)
        body += _U16.pack(len(row)) + row
    return bytes(body)


def label_block(first: int, lists: list[tuple[bytes, bytes]]) -> bytes:
    """A V6 LabelList block of (activity id, related activity id) lists."""
    body = bytearray(struct.pack("<II", first, len(lists)))
    for act, rel in lists:
        if rel == _ZERO:
            body += b"\x81" + act
        elif act == _ZERO:
            body += b"\x82" + rel
        else:
            body += b"\x01" + act + b"\x82" + rel
    return bytes(body)


def stack_block(first: int, stacks: list[bytes]) -> bytes:
    """A StackBlock payload (V4 and V6): ids from ``first``, raw IP bytes."""
    body = bytearray(struct.pack("<II", first, len(stacks)))
    for raw in stacks:
        body += struct.pack("<I", len(raw)) + raw
    return bytes(body)
