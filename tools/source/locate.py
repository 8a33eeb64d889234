"""A trace or stack frame -> ``file:line`` of its method in the target repository."""

from __future__ import annotations

from collections.abc import Callable

from tools.source.find_source import FOUND_SCORE, resolve
from tools.source.frames import parse_frame
from tools.source.symbol_index import SymbolIndex


def frame_location(index: SymbolIndex, frame: str) -> str | None:
    """``path/File.cs:line`` of the best declaration of ``frame``'s method, or None."""
    ref = parse_frame(frame)
    if ref is None:
        return None
    matches = resolve(index, ref)
    if not matches or matches[0].score < FOUND_SCORE:
        return None
    symbol = matches[0].symbol
    return f"{symbol.file}:{symbol.start_line}"


def locator(index: SymbolIndex | None) -> Callable[[str], str | None] | None:
    """:func:`frame_location` bound to ``index`` (None without C# files), answers cached."""
    if index is None or not index.files:
        return None
    cache: dict[str, str | None] = {}

    def locate(frame: str) -> str | None:
        if frame not in cache:
            cache[frame] = frame_location(index, frame)
        return cache[frame]

    return locate
