"""Is a (possibly huge) JSON file whole? A streaming check for files other programs wrote.

A converter that fails part-way leaves a file cut anywhere (dotnet-trace convert, for one). This
check reads the file in chunks at C speed: escapes and string contents are dropped, and the
remaining brackets must open one root value that closes exactly at the end of the file. It is a
completeness check, not a validator: it does not look at numbers, commas or key names.
"""

from __future__ import annotations

import re
from itertools import accumulate
from pathlib import Path

CHUNK_BYTES = 4 << 20
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_KEEP = b'"[]{}'
_DROP = bytes(b for b in range(256) if b not in _KEEP)
_DEPTH = {ord("{"): 1, ord("["): 1, ord("}"): -1, ord("]"): -1}


class _Scan:
    """Bracket depth across chunks, with the state a chunk boundary can cut."""

    def __init__(self) -> None:
        self.depth = 0
        self.closed = False
        self.in_string = False
        self.carry = b""
        self.broken = False

    def feed(self, chunk: bytes) -> None:
        data = _ESCAPE.sub(b"", self.carry + chunk)
        self.carry = b""
        if data.endswith(b"\\"):  # an escape cut by the chunk boundary
            data, self.carry = data[:-1], b"\\"
        reduced = data.translate(None, _DROP)
        if self.in_string:
            reduced = b'"' + reduced
        reduced = _STRING.sub(b"", reduced)
        self.in_string = b'"' in reduced
        self._brackets(reduced.split(b'"', 1)[0])

    def _brackets(self, brackets: bytes) -> None:
        if not brackets or self.broken:
            return
        if self.closed:
            self.broken = True  # something after the root value
            return
        levels = list(accumulate(map(_DEPTH.__getitem__, brackets), initial=self.depth))[1:]
        if min(levels) < 0 or 0 in levels[:-1]:
            self.broken = True
            return
        self.depth = levels[-1]
        self.closed = self.depth == 0

    def complete(self) -> bool:
        return self.closed and not (self.broken or self.in_string or self.carry)


def is_complete_json(path: Path, chunk_bytes: int = CHUNK_BYTES) -> bool:
    """True when ``path`` holds one JSON object or array that is not cut off (streamed)."""
    scan = _Scan()
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(chunk_bytes):
                scan.feed(chunk)
    except OSError:
        return False
    return scan.complete()
