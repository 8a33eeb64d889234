"""The text of one memory edit: the new content for each mode, and the limits it must keep."""

from __future__ import annotations

from typing import Literal

from memory._confined import MemoryStoreError

MEMORY_INDEX = "MEMORY.md"
"""The index file; its first lines are rendered into the system prompt."""

MEMORY_INDEX_MAX_LINES = 200
"""The most lines MEMORY.md may hold (Claude Code loads the first 200 lines of it)."""

MEMORY_INDEX_MAX_CHARS = 10_000
"""The most characters MEMORY.md may hold (about 2,500 tokens of every prompt; Claude Code
itself stops reading at 25,000): long lines must not turn the index into a dump."""

MAX_FILE_CHARS = 100_000
"""Largest memory file the store writes (memory holds notes, not data dumps)."""

WriteMode = Literal["create", "replace", "append", "str_replace", "delete"]

PAST_TENSE: dict[str, str] = {
    "create": "Created",
    "replace": "Replaced",
    "append": "Appended to",
    "str_replace": "Edited",
}
"""How a message names each write mode once it is done."""


def edited_text(
    current: str | None,
    shown: str,
    mode: WriteMode,
    content: str | None,
    old: str | None,
    new: str | None,
) -> str:
    if mode in ("create", "replace", "append") and content is None:
        raise MemoryStoreError(f"Mode {mode!r} needs 'content'.")
    if mode == "create":
        if current is not None:
            raise MemoryStoreError(f"{shown} already exists; use mode 'replace' or 'append'.")
        return _ensure_newline(content or "")
    if mode == "replace":
        return _ensure_newline(content or "")
    if mode == "append":
        existing = current or ""
        prefix = existing if not existing or existing.endswith("\n") else existing + "\n"
        return prefix + _ensure_newline(content or "")
    if current is None:
        raise MemoryStoreError(f"Memory file {shown!r} does not exist.")
    if old is None or new is None or not old:
        raise MemoryStoreError("Mode 'str_replace' needs non-empty 'old' and 'new'.")
    count = current.count(old)
    if count != 1:
        where = "not found" if count == 0 else f"found {count} times; make it unique"
        raise MemoryStoreError(f"'old' text {where} in {shown}.")
    return current.replace(old, new)


def _ensure_newline(text: str) -> str:
    return text if text.endswith("\n") or not text else text + "\n"


def check_text(text: str | None) -> None:
    if text is None:
        return
    if "\x00" in text:
        raise MemoryStoreError("Memory files hold text: remove the NUL characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MemoryStoreError("The text is not valid Unicode (a lone surrogate).") from None


def check_limits(shown: str, text: str, *, is_index: bool) -> None:
    if len(text) > MAX_FILE_CHARS:
        raise MemoryStoreError(
            f"{shown} would hold {len(text)} characters (limit {MAX_FILE_CHARS}); "
            "keep notes short and split them by topic."
        )
    lines = len(text.splitlines())
    if is_index and lines > MEMORY_INDEX_MAX_LINES:
        raise MemoryStoreError(
            f"MEMORY.md would have {lines} lines; the limit is {MEMORY_INDEX_MAX_LINES}. "
            "Keep MEMORY.md a short index: move the detail into a topic file "
            "(e.g. allocations.md) and link it from MEMORY.md."
        )
    if is_index and len(text) > MEMORY_INDEX_MAX_CHARS:
        raise MemoryStoreError(
            f"MEMORY.md would have {len(text)} characters; the limit is "
            f"{MEMORY_INDEX_MAX_CHARS}. Keep MEMORY.md a short index: move the detail into a "
            "topic file (e.g. allocations.md) and link it from MEMORY.md."
        )
