"""Opening a trace source: a plain file or the single trace member of a ``.zip``.

The format is sniffed from the first bytes, never from the file name.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from tools.nettrace._fastserializer import SERIALIZATION_HEADER
from tools.nettrace.model import TraceFormat, TraceFormatError

NETTRACE_MAGIC = b"Nettrace"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_MAX_MEMBERS = 256
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError)
_NOT_A_TRACE = "'Nettrace' magic or FastSerialization header"


def not_a_trace(name: str) -> TraceFormatError:
    """The error for input that is not a trace at all."""
    return TraceFormatError(
        f"{name}: not a .nettrace/.netperf trace", offset=0, expected=_NOT_A_TRACE
    )


def sniff(head: bytes) -> TraceFormat | None:
    """The trace format implied by the first 12+ bytes, or None when it is not a trace."""
    if head.startswith(NETTRACE_MAGIC):
        word = head[8:12]
        if word == b"\x14\x00\x00\x00":
            return "nettrace-v4"
        if word == b"\x00\x00\x00\x00":
            return "nettrace-v6"
        return None
    if head.startswith(SERIALIZATION_HEADER):
        return "netperf-v3"
    return None


def open_source(path: Path) -> tuple[BinaryIO, list[BinaryIO], TraceFormat]:
    """Open ``path``: (trace byte stream at offset 0, every handle to close, format).

    Raises:
        TraceFormatError: not a trace, or a zip without exactly one trace member.
    """
    f = path.open("rb")
    try:
        head = f.read(32)
        f.seek(0)
        if not head.startswith(_ZIP_MAGICS):
            fmt = sniff(head)
            if fmt is None:
                raise not_a_trace(path.name)
            return f, [f], fmt
        member, archive, fmt = _zip_member(f, path.name)
        return member, [member, archive, f], fmt  # type: ignore[list-item]
    except BaseException:
        f.close()
        raise


def _zip_member(f: BinaryIO, name: str) -> tuple[BinaryIO, zipfile.ZipFile, TraceFormat]:
    try:
        archive = zipfile.ZipFile(f)
    except _ZIP_ERRORS as exc:
        raise TraceFormatError(
            f"{name}: unreadable zip archive ({exc})", offset=0, expected="a zip holding one trace"
        ) from None
    try:
        found = [
            (info, _member_format(archive, info)) for info in archive.infolist()[:_MAX_MEMBERS]
        ]
        traces = [(info, fmt) for info, fmt in found if fmt is not None]
        if len(traces) != 1:
            what = "no trace member" if not traces else f"{len(traces)} trace members"
            raise TraceFormatError(
                f"{name}: zip archive has {what}", offset=0, expected="exactly one trace member"
            )
        member: BinaryIO = archive.open(traces[0][0])  # type: ignore[assignment]
        return member, archive, traces[0][1]
    except BaseException:
        archive.close()
        raise


def _member_format(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> TraceFormat | None:
    if info.is_dir():
        return None
    try:
        with archive.open(info) as member:
            return sniff(member.read(32))
    except _ZIP_ERRORS:
        return None
