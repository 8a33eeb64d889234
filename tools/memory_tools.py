"""``read_memory`` and ``write_memory``: the project memory as typed tools for the model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from memory import MEMORY_INDEX, MemoryStore, MemoryStoreError
from tools.base import Tool, ToolContext
from tools.errors import ToolError

READ_MAX_CHARS = 8_000
"""Most characters of one memory file returned to the model (the rest is cut with a note)."""


class ReadMemoryArgs(BaseModel):
    """Input of ``read_memory``."""

    model_config = ConfigDict(extra="forbid")
    path: str | None = Field(
        default=None,
        description="A memory file to read, relative to the memory folder (e.g. 'MEMORY.md', "
        "'allocations.md').",
    )
    query: str | None = Field(
        default=None,
        description="Words to search for in the memory files and in past run transcripts "
        "(every word must appear on the line).",
    )


class MemoryFileInfo(BaseModel):
    """One memory file in a listing."""

    path: str = Field(description="Path relative to the memory folder.")
    lines: int = Field(description="Number of lines.")
    bytes: int = Field(description="Size in bytes.")


class MemoryMatch(BaseModel):
    """One search hit."""

    source: Literal["memory", "transcript"] = Field(description="Memory file or transcript.")
    path: str = Field(description="File the line is in.")
    line: int = Field(description="Line number.")
    text: str = Field(description="The matching line (cut when long).")


class ReadMemoryResult(BaseModel):
    """Output of ``read_memory``."""

    root: str = Field(description="The memory folder.")
    files: list[MemoryFileInfo] = Field(description="Every memory file.")
    content: str | None = Field(
        default=None, description="The file read (MEMORY.md when only listing)."
    )
    matches: list[MemoryMatch] | None = Field(default=None, description="Search hits.")
    note: str | None = Field(default=None, description="What was cut or what is missing.")


def read_memory(args: ReadMemoryArgs, ctx: ToolContext) -> ReadMemoryResult:
    """Read the project memory: list its files (with MEMORY.md), read one file, or search.

    Give `path` to read one file, `query` to search the memory files and past run transcripts,
    or neither to list the files and see MEMORY.md.
    """
    store = MemoryStore.for_repo(ctx.repo)
    try:
        listed = store.list_files()
    except MemoryStoreError as exc:
        raise ToolError(str(exc)) from exc
    files = [MemoryFileInfo(path=f.path, lines=f.lines, bytes=f.bytes) for f in listed]
    result = ReadMemoryResult(root=str(store.root), files=files)
    try:
        if args.query:
            hits = store.search(args.query)
            result.matches = [MemoryMatch(**vars(hit)) for hit in hits]
            if not hits:
                result.note = f"Nothing in memory or transcripts matches {args.query!r}."
        if args.path:
            result.content, result.note = _capped(store.read(args.path))
        elif not args.query:
            if any(f.path == MEMORY_INDEX for f in files):
                result.content, result.note = _capped(store.read(MEMORY_INDEX))
            else:
                result.note = "The memory is empty: no MEMORY.md yet."
    except MemoryStoreError as exc:
        raise ToolError(str(exc)) from exc
    return result


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
    """Create, replace, append to, edit or delete one project memory file.

    Keep MEMORY.md a short index (at most 200 lines) linking topic files that hold the
    detail. Save stable, verified facts only: hot methods, allocation sites, contention
    points, provider sets and configurations that reproduce a problem.
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
