"""Byte-level primitives shared by the reader modules: a counting stream and varints.

Everything here either returns data or raises one of two signals: :class:`Truncated` (the
stream ended early; the reader turns this into ``ReadStats.truncated``) or
:class:`~tools.nettrace.model.TraceFormatError` (the bytes are present but impossible).
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from typing import BinaryIO

from tools.nettrace.model import TraceFormatError

U8 = struct.Struct("<B")
U16 = struct.Struct("<H")
I32 = struct.Struct("<i")
U32 = struct.Struct("<I")
I64 = struct.Struct("<q")
U64 = struct.Struct("<Q")
TWO_U32 = struct.Struct("<II")
SYSTEMTIME = struct.Struct("<8h")

MASK64 = 0xFFFFFFFFFFFFFFFF
MASK32 = 0xFFFFFFFF
# Reads above this size are done in pieces so a corrupt length cannot allocate gigabytes.
_CHUNK = 1 << 24
# No real block comes near this; the runtime writes ~100 KB blocks, one-collect 1 MB.
MAX_BLOCK = 1 << 30

# Exceptions a (zip member) stream may raise on damaged compressed data.
_STREAM_ERRORS = (OSError, EOFError, zlib.error, zipfile.BadZipFile, RuntimeError)
# Exceptions the decoders may raise on corrupt bytes; the reader maps them to TraceFormatError.
DECODE_ERRORS = (IndexError, struct.error, UnicodeDecodeError, ValueError, OverflowError, KeyError)


class Truncated(Exception):
    """The stream ended before the structure being read was complete."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"stream ends at byte {offset}")
        self.offset = offset


class Stream:
    """A forward-only reader over a binary file object that counts the bytes consumed.

    Attributes:
        pos: absolute offset of the next byte.
    """

    __slots__ = ("_f", "pos")

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self.pos = 0

    def read(self, n: int) -> bytes:
        """Exactly ``n`` bytes, or :class:`Truncated` when the stream ends first."""
        try:
            data = self._f.read(n) if n <= _CHUNK else self._read_big(n)
        except _STREAM_ERRORS as exc:
            raise TraceFormatError(
                f"cannot read the trace data ({exc})", offset=self.pos, expected="readable data"
            ) from None
        if len(data) != n:
            raise Truncated(self.pos + len(data))
        self.pos += n
        return data

    def _read_big(self, n: int) -> bytes:
        parts: list[bytes] = []
        left = n
        while left > 0:
            part = self._f.read(min(left, _CHUNK))
            if not part:
                break
            parts.append(part)
            left -= len(part)
        return b"".join(parts)

    def seek(self, pos: int) -> None:
        """Continue at absolute offset ``pos`` (a seekable file)."""
        self._f.seek(pos)
        self.pos = pos

    def skip(self, n: int) -> None:
        """Skip ``n`` bytes without reading them (a seekable file; the end is found later)."""
        self._f.seek(n, 1)
        self.pos += n

    def u8(self) -> int:
        """One unsigned byte."""
        return self.read(1)[0]

    def i32(self) -> int:
        """A little-endian signed 32-bit integer."""
        value: int = I32.unpack(self.read(4))[0]
        return value

    def u32(self) -> int:
        """A little-endian unsigned 32-bit integer."""
        value: int = U32.unpack(self.read(4))[0]
        return value


def read_varuint(buf: bytes, pos: int, max_bytes: int = 10) -> tuple[int, int]:
    """Decode a ULEB128 value from ``buf`` at ``pos``; returns (value, new position).

    Raises:
        ValueError: more than ``max_bytes`` continuation bytes (corrupt data).
        IndexError: the buffer ends inside the value.
    """
    b = buf[pos]
    if b < 0x80:
        return b, pos + 1
    value = b & 0x7F
    b = buf[pos + 1]
    if b < 0x80:
        return value | b << 7, pos + 2
    value |= (b & 0x7F) << 7
    b = buf[pos + 2]
    if b < 0x80:
        return value | b << 14, pos + 3
    value |= (b & 0x7F) << 14
    shift = 21
    end = pos + max_bytes
    pos += 3
    while True:
        if pos >= end:
            raise ValueError("varint longer than allowed")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def utf16z(buf: bytes, pos: int, end: int) -> tuple[str, int]:
    """A NUL-terminated UTF-16LE string at ``pos`` (before ``end``); returns (text, next pos).

    Raises:
        ValueError: no terminator before ``end``.
        UnicodeDecodeError: the code units are not valid UTF-16.
    """
    stop = pos
    while True:
        stop = buf.find(b"\x00\x00", stop, end)
        if stop < 0:
            raise ValueError("unterminated UTF-16 string")
        if (stop - pos) % 2 == 0:
            break
        stop += 1
    return buf[pos:stop].decode("utf-16-le"), stop + 2


def corrupt(offset: int | None, message: str, expected: str) -> TraceFormatError:
    """A :class:`TraceFormatError` for corrupt bytes at ``offset``."""
    return TraceFormatError(message, offset=offset, expected=expected)
