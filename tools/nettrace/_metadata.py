"""Metadata definitions: which provider/event/version/fields a MetadataId stands for.

V3–V5 (perfview ``NetTraceFormat_v5.md``): i32 id, UTF-16 names, i32/i64 header fields, an
optional V1 field list and V5 tags (opcode, V2Params). V6 (``NetTraceFormat.md``): varuint ids,
UTF-8 names, u16-counted field descriptions and optional metadata entries.
"""

from __future__ import annotations

from tools.nettrace._binary import I32, I64, U16, U64, read_varuint, utf16z
from tools.nettrace.model import EventMetadata, FieldDef

OBJECT = 1
ARRAY = 19
FIXED_ARRAY = 22
_V5_MAX_TYPE = 19
_MAX_DEPTH = 16


class _BadFields(Exception):
    """Field metadata that cannot be understood (tolerated like TraceEvent: no fields)."""


def parse_metadata_v5(buf: bytes, pos: int, end: int) -> EventMetadata:
    """Decode a V3–V5 metadata payload occupying ``buf[pos:end]``.

    Raises:
        IndexError, ValueError, struct.error, UnicodeDecodeError: corrupt bytes (the caller maps
            these to ``TraceFormatError`` with the offset).
    """
    metadata_id = I32.unpack_from(buf, pos)[0]
    provider, pos = utf16z(buf, pos + 4, end)
    event_id = I32.unpack_from(buf, pos)[0]
    name, pos = utf16z(buf, pos + 4, end)
    if pos + 16 > end:
        raise ValueError("metadata header is cut short")
    keywords = I64.unpack_from(buf, pos)[0] & 0xFFFFFFFFFFFFFFFF
    version = I32.unpack_from(buf, pos + 8)[0]
    level = I32.unpack_from(buf, pos + 12)[0]
    pos += 16
    fields: tuple[FieldDef, ...] = ()
    opcode: int | None = None
    if pos < end:
        try:
            fields, pos = _fields_v1(buf, pos, end, 0)
        except _BadFields:
            return _meta(metadata_id, provider, event_id, name, version, keywords, level, None, ())
    while pos < end:
        size = I32.unpack_from(buf, pos)[0]
        kind = buf[pos + 4]
        start = pos + 5
        stop = start + size
        if size < 0 or stop > end:
            raise ValueError("metadata tag overruns the record")
        if kind == 1 and size >= 1:
            opcode = buf[start]
        elif kind == 2:
            try:
                fields, _ = _fields_v2(buf, start, stop, 0)
            except _BadFields:
                fields = ()
        pos = stop
    return _meta(metadata_id, provider, event_id, name, version, keywords, level, opcode, fields)


def _meta(
    metadata_id: int,
    provider: str,
    event_id: int,
    name: str,
    version: int,
    keywords: int,
    level: int,
    opcode: int | None,
    fields: tuple[FieldDef, ...],
) -> EventMetadata:
    return EventMetadata(
        metadata_id=metadata_id,
        provider=provider,
        event_id=event_id,
        event_name=name,
        version=version,
        keywords=keywords,
        level=level,
        opcode=opcode,
        fields=fields,
    )


def _count(buf: bytes, pos: int, end: int, min_size: int) -> int:
    count: int = I32.unpack_from(buf, pos)[0]
    if count < 0 or pos + 4 + count * min_size > end:
        raise ValueError("field count larger than the metadata record")
    return count


def _fields_v1(buf: bytes, pos: int, end: int, depth: int) -> tuple[tuple[FieldDef, ...], int]:
    if depth > _MAX_DEPTH:
        raise ValueError("nested field metadata too deep")
    count = _count(buf, pos, end, 6)
    pos += 4
    out: list[FieldDef] = []
    for _ in range(count):
        type_code = I32.unpack_from(buf, pos)[0]
        pos += 4
        nested: tuple[FieldDef, ...] = ()
        if type_code == OBJECT:
            nested, pos = _fields_v1(buf, pos, end, depth + 1)
        elif not 2 <= type_code < _V5_MAX_TYPE:
            raise _BadFields(type_code)
        name, pos = utf16z(buf, pos, end)
        out.append(FieldDef(name=name, type_code=type_code, fields=nested))
    return tuple(out), pos


def _fields_v2(buf: bytes, pos: int, end: int, depth: int) -> tuple[tuple[FieldDef, ...], int]:
    if depth > _MAX_DEPTH:
        raise ValueError("nested field metadata too deep")
    count = _count(buf, pos, end, 10)
    pos += 4
    out: list[FieldDef] = []
    for _ in range(count):
        size = I32.unpack_from(buf, pos)[0]
        stop = pos + size
        if size < 10 or stop > end:
            raise ValueError("V2Params field size overruns the tag")
        name, p = utf16z(buf, pos + 4, stop)
        field, _ = _type_v2(buf, p, stop, name, depth)
        out.append(field)
        pos = stop
    return tuple(out), pos


def _type_v2(buf: bytes, pos: int, end: int, name: str, depth: int) -> tuple[FieldDef, int]:
    if depth > _MAX_DEPTH:
        raise ValueError("nested field metadata too deep")
    type_code = I32.unpack_from(buf, pos)[0]
    pos += 4
    if type_code == OBJECT:
        nested, pos = _fields_v2(buf, pos, end, depth + 1)
        return FieldDef(name=name, type_code=type_code, fields=nested), pos
    if type_code == ARRAY:
        element, pos = _type_v2(buf, pos, end, name, depth + 1)
        return FieldDef(name=name, type_code=type_code, element=element), pos
    if not 2 <= type_code < _V5_MAX_TYPE:
        raise _BadFields(type_code)
    return FieldDef(name=name, type_code=type_code), pos


# ---------------------------------------------------------------------------------------------
# V6


def utf8_string(buf: bytes, pos: int, end: int) -> tuple[str, int]:
    """A V6 string: varuint32 byte length + UTF-8 bytes."""
    size, pos = read_varuint(buf, pos, 5)
    stop = pos + size
    if stop > end:
        raise ValueError("string overruns its record")
    return buf[pos:stop].decode("utf-8"), stop


def parse_metadata_v6(buf: bytes, pos: int, end: int) -> EventMetadata:
    """Decode one V6 metadata row body occupying ``buf[pos:end]`` (after its u16 size)."""
    metadata_id, pos = read_varuint(buf, pos, 5)
    provider, pos = utf8_string(buf, pos, end)
    event_id, pos = read_varuint(buf, pos, 5)
    name, pos = utf8_string(buf, pos, end)
    fields, pos = _fields_v6(buf, pos, end, 0)
    opcode: int | None = None
    keywords = level = version = 0
    if pos < end:
        size = U16.unpack_from(buf, pos)[0]
        pos += 2
        stop = pos + size
        if stop > end:
            raise ValueError("optional metadata overruns the record")
        while pos < stop:
            kind = buf[pos]
            pos += 1
            if kind == 1:
                opcode = buf[pos]
                pos += 1
            elif kind == 3:
                keywords = U64.unpack_from(buf, pos)[0]
                pos += 8
            elif kind in (4, 5):
                _, pos = utf8_string(buf, pos, stop)
            elif kind == 6:
                _, pos = utf8_string(buf, pos, stop)
                _, pos = utf8_string(buf, pos, stop)
            elif kind == 7:
                pos += 16
            elif kind in (8, 9):
                if kind == 8:
                    level = buf[pos]
                else:
                    version = buf[pos]
                pos += 1
            else:
                raise ValueError(f"unknown optional metadata kind {kind}")
        if pos > stop:
            raise ValueError("optional metadata entry overruns its section")
    return _meta(metadata_id, provider, event_id, name, version, keywords, level, opcode, fields)


def _fields_v6(buf: bytes, pos: int, end: int, depth: int) -> tuple[tuple[FieldDef, ...], int]:
    if depth > _MAX_DEPTH:
        raise ValueError("nested field metadata too deep")
    count = U16.unpack_from(buf, pos)[0]
    pos += 2
    out: list[FieldDef] = []
    for _ in range(count):
        size = U16.unpack_from(buf, pos)[0]
        start = pos + 2
        stop = start + size
        if stop > end:
            raise ValueError("field description overruns the record")
        name, p = utf8_string(buf, start, stop)
        field, p = _type_v6(buf, p, stop, name, depth)
        if p > stop:
            raise ValueError("field description overruns its size")
        out.append(field)
        pos = stop
    return tuple(out), pos


def _type_v6(buf: bytes, pos: int, end: int, name: str, depth: int) -> tuple[FieldDef, int]:
    if depth > _MAX_DEPTH:
        raise ValueError("nested field metadata too deep")
    type_code = buf[pos]
    pos += 1
    if type_code == OBJECT:
        nested, pos = _fields_v6(buf, pos, end, depth + 1)
        return FieldDef(name=name, type_code=type_code, fields=nested), pos
    if type_code in (ARRAY, FIXED_ARRAY, 24, 25):
        element, pos = _type_v6(buf, pos, end, name, depth + 1)
        count = 0
        if type_code == FIXED_ARRAY:
            count = U16.unpack_from(buf, pos)[0]
            pos += 2
        return FieldDef(name=name, type_code=type_code, element=element, count=count), pos
    if not 2 <= type_code <= 26:
        raise ValueError(f"unknown field type code {type_code}")
    return FieldDef(name=name, type_code=type_code), pos
