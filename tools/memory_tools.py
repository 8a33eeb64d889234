"""``read_memory`` and ``write_memory``: the project memory as typed tools for the model."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from memory import (
    MEMORY_INDEX,
    MemoryStore,
    MemoryStoreError,
)
from memory.store import SEARCH_MAX_MATCHES
from tools.base import Tool, ToolContext
from tools.errors import ToolError

READ_MAX_CHARS = 8_000
"""Most characters of one memory file returned to the model (the rest is cut with a note)."""


RUNNING_TRANSCRIPT_KEY = "running_transcript"
"""``ctx.state`` key naming the running session's transcript, which searches leave out."""

INDEX_SUMMARY = "the index, already in your instructions"
SUMMARY_CHARS = 160
"""Longest one-line summary of a topic file in the listing."""


class ReadMemoryArgs(BaseModel):
    """Input of ``read_memory``."""

    model_config = ConfigDict(extra="forbid")
    path: str | None = Field(
        default=None,
        description="A memory file to read, relative to the memory folder (e.g. 'allocations.md').",
    )
    query: str | None = Field(
        default=None,
        description="Words to search for in the memory files and in the transcripts of earlier "
        "runs (every word must appear on the line).",
    )


class MemoryFileInfo(BaseModel):
    """One memory file in a listing."""

    path: str = Field(description="Path relative to the memory folder.")
    lines: int = Field(description="Number of lines.")
    bytes: int = Field(description="Size in bytes.")
    summary: str = Field(description="Its first heading or line.")
    linked: bool | None = Field(
        default=None, description="Whether MEMORY.md links it (topic files only)."
    )


class MemoryMatch(BaseModel):
    """One search hit."""

    source: Literal["memory", "transcript"] = Field(description="Memory file or transcript.")
    path: str = Field(description="File the line is in.")
    line: int = Field(description="Line number.")
    text: str = Field(description="The matching line (cut when long).")


class ReadMemoryResult(BaseModel):
    """Output of ``read_memory``."""

    root: str = Field(description="The memory folder.")
    files: list[MemoryFileInfo] = Field(description="Every memory file, with a summary.")
    content: str | None = Field(default=None, description="The file read.")
    matches: list[MemoryMatch] | None = Field(default=None, description="Search hits.")
    note: str | None = Field(default=None, description="What was cut or what is missing.")


def read_memory(args: ReadMemoryArgs, ctx: ToolContext) -> ReadMemoryResult:
    """Read the project memory beyond the MEMORY.md index, which is already in your
    instructions. Give `path` to read one topic file, `query` to search the memory files and
    the transcripts of earlier runs (every word must appear on a line), or neither to list the
    files with a one-line summary of each and whether MEMORY.md links it. Use it when the
    question touches a topic the index lists, before tracing again; do not call it to see
    MEMORY.md. The result holds the listing, the file read or the matching lines, and a note
    when a search stopped at its limit.
    """
    store = MemoryStore.for_repo(ctx.repo)
    try:
        files = _listing(store)
        result = ReadMemoryResult(root=str(store.root), files=files)
        if args.query:
            _search(store, args.query, ctx, result)
        if args.path:
            result.content, cut = _capped(store.read(args.path))
            result.note = cut or result.note
        elif not args.query and not files:
            result.note = "The memory is empty: nothing has been saved yet."
    except MemoryStoreError as exc:
        raise ToolError(str(exc)) from exc
    return result


def _listing(store: MemoryStore) -> list[MemoryFileInfo]:
    files = store.list_files()
    index = store.read(MEMORY_INDEX) if any(f.path == MEMORY_INDEX for f in files) else ""
    listing = []
    for file in files:
        is_index = file.path == MEMORY_INDEX
        summary = (
            "the index, already in your instructions" if is_index else _summary(store, file.path)
        )
        linked = None if is_index else f"({file.path})" in index or f"]({file.path}" in index
        listing.append(
            MemoryFileInfo(
                path=file.path, lines=file.lines, bytes=file.bytes, summary=summary, linked=linked
            )
        )
    return listing


def _summary(store: MemoryStore, relative: str) -> str:
    for line in store.read(relative).splitlines():
        text = line.strip().lstrip("#").strip()
        if text:
            return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"
    return "(empty)"


def _search(store: MemoryStore, query: str, ctx: ToolContext, result: ReadMemoryResult) -> None:
    running = ctx.state.get(RUNNING_TRANSCRIPT_KEY)
    skip = [Path(str(running)).name] if running else []
    hits = store.search(query, limit=SEARCH_MAX_MATCHES + 1, skip=skip)
    result.matches = [MemoryMatch(**vars(hit)) for hit in hits[:SEARCH_MAX_MATCHES]]
    if len(hits) > SEARCH_MAX_MATCHES:
        result.note = (
            f"The search stopped at {SEARCH_MAX_MATCHES} matching lines; more exist. Search "
            "again with more words to narrow it."
        )
    elif not hits:
        result.note = f"Nothing in memory or earlier runs matches {query!r}."


def _capped(text: str) -> tuple[str, str | None]:
    if len(text) <= READ_MAX_CHARS:
        return text, None
    note = f"Only the first {READ_MAX_CHARS} of {len(text)} characters are shown."
    return text[:READ_MAX_CHARS], note


class WriteMemoryArgs(BaseModel):
    """Input of ``write_memory``."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(
        description="The memory file, relative to the memory folder: 'MEMORY.md' (the index, "
        "at most 200 lines) or a topic file such as 'allocations.md'."
    )
    mode: Literal["create", "replace", "append", "str_replace", "delete"] = Field(
        description="create (new file), replace (whole file), append (add lines at the end), "
        "str_replace (replace the unique text 'old' by 'new'), delete (remove the file)."
    )
    content: str | None = Field(
        default=None, description="The text for create, replace and append."
    )
    old: str | None = Field(
        default=None, description="For str_replace: the exact text to replace (must be unique)."
    )
    new: str | None = Field(default=None, description="For str_replace: the replacement text.")


class WriteMemoryResult(BaseModel):
    """Output of ``write_memory``."""

    path: str = Field(description="The file written.")
    lines: int = Field(description="Its line count after the edit (0 when deleted).")
    message: str = Field(description="What changed.")


def write_memory(args: WriteMemoryArgs, ctx: ToolContext) -> WriteMemoryResult:
    """Create, replace, append to, edit (str_replace) or delete one project memory file.
    Use it once an investigation has verified something worth keeping (hot methods, allocation
    sites, contention points, provider sets and configurations that reproduce a problem), or at
    once when the user says "remember …" or "forget …"; never for one-off state (PIDs,
    temporary paths) or guesses. Put the detail in a topic file, one dated line per finding
    (e.g. allocations.md), and keep MEMORY.md a short index that links it: a MEMORY.md over 200
    lines or 10,000 characters is refused. Append a new finding, str_replace to correct one;
    the result gives the file's line count after the edit.
    """
    store = MemoryStore.for_repo(ctx.repo)
    try:
        edit = store.edit(args.path, args.mode, content=args.content, old=args.old, new=args.new)
    except MemoryStoreError as exc:
        raise ToolError(str(exc)) from exc
    return WriteMemoryResult(path=args.path, lines=edit.lines, message=edit.message)


READ_MEMORY_TOOL = Tool.from_function(read_memory)
"""The ``read_memory`` tool record."""

WRITE_MEMORY_TOOL = Tool.from_function(write_memory)
"""The ``write_memory`` tool record."""
