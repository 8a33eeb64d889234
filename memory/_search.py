"""Searching the memory's topic files and the run transcripts, line by line.

Every file is opened relative to its folder without following links (as the store opens
them), and a file replaced by a link or removed since the folder was listed is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from memory._confined import (
    MemoryStoreError,
    opened_file,
    opened_folders,
    opened_root,
    walk_files,
)


@dataclass(frozen=True)
class SearchMatch:
    """One line that matched a search: where it is and the line itself."""

    source: Literal["memory", "transcript"]
    path: str
    line: int
    text: str


def search_folder(
    folder: Path,
    pattern: str,
    source: Literal["memory", "transcript"],
    words: list[str],
    limit: int,
    skip: Collection[str] = (),
) -> list[SearchMatch]:
    if limit <= 0:
        return []
    found: list[SearchMatch] = []
    try:
        with opened_root(folder, create=False) as folder_fd:
            if folder_fd is None:
                return []
            found = _search_files(folder_fd, source, pattern, words, limit, skip)
    except OSError as exc:
        raise MemoryStoreError(f"Could not search {folder}: {exc.strerror or exc}") from exc
    return found


def _search_files(
    folder_fd: int,
    source: Literal["memory", "transcript"],
    pattern: str,
    words: list[str],
    limit: int,
    skip: Collection[str],
) -> list[SearchMatch]:
    found: list[SearchMatch] = []
    files = [
        rel
        for rel, _, _ in walk_files(folder_fd, suffix=pattern.removeprefix("*"))
        if Path(rel).name not in skip
    ]
    if source == "transcript":  # newest first (their names start with a timestamp)
        files.reverse()
    for rel in files:
        found += _search_file(folder_fd, rel, source, words, limit - len(found))
        if len(found) >= limit:
            break
    return found


def _search_file(
    root_fd: int, rel: str, source: Literal["memory", "transcript"], words: list[str], limit: int
) -> list[SearchMatch]:
    found: list[SearchMatch] = []
    try:
        with _open_lines(root_fd, rel) as lines:
            for number, line in enumerate(lines, start=1):
                lowered = line.lower()
                if all(word in lowered for word in words):
                    found.append(SearchMatch(source, rel, number, _excerpt(line.strip(), words[0])))
                    if len(found) >= limit:
                        break
    except (OSError, MemoryStoreError):
        pass  # replaced by a link or removed since the walk: not searched
    return found


@contextmanager
def _open_lines(root_fd: int, rel: str) -> Iterator[Iterator[str]]:
    """The decoded lines of a file under ``root_fd`` (none when it vanished meanwhile)."""
    *folders, name = rel.split("/")
    with opened_folders(root_fd, tuple(folders), create=False, shown=rel) as chain:
        if chain is None:
            yield iter(())
            return
        with (
            opened_file(chain[-1], name, rel) as fd,
            os.fdopen(os.dup(fd), encoding="utf-8", errors="replace") as handle,
        ):
            yield handle


def _excerpt(line: str, word: str, width: int = 300) -> str:
    """The line, or a window of it around ``word`` when it is long (transcript lines are)."""
    if len(line) <= width:
        return line
    start = max(line.lower().find(word) - width // 3, 0)
    head = "…" if start else ""
    tail = "…" if start + width < len(line) else ""
    return f"{head}{line[start : start + width]}{tail}"
