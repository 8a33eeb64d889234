"""The project memory: ``MEMORY.md`` (an index of at most 200 lines) plus topic files.

The store guarantees that nothing is read or written outside the memory root: paths with
``..``, absolute paths and reserved names are refused, every folder is opened relative to its
parent without following links (so a link planted or swapped in meanwhile is refused, never
followed), and reads, listings and searches skip links. Writes are atomic (a temporary file,
fsync, rename) and serialised per memory root by a file lock, so two writers (two MCP servers,
or MCP and the CLI) never lose each other's lines, and ``MEMORY.md`` never grows past
:data:`MEMORY_INDEX_MAX_LINES` lines.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from memory._confined import (
    MemoryStoreError,
    count_lines,
    entry_kind,
    locked,
    opened_folders,
    opened_root,
    read_text,
    remove_empty_folders,
    remove_temporaries,
    replace_text,
    same_file,
    split_path,
    walk_files,
)
from memory._edits import (
    MAX_FILE_CHARS,
    MEMORY_INDEX,
    MEMORY_INDEX_MAX_CHARS,
    MEMORY_INDEX_MAX_LINES,
    PAST_TENSE,
    WriteMode,
    check_limits,
    check_text,
    edited_text,
)
from memory._search import SearchMatch, search_folder

MEMORY_DIR_ENV = "PTA_MEMORY_DIR"
"""Environment variable that overrides the memory root."""

SEARCH_MAX_MATCHES = 40
"""Most matching lines one search returns."""

__all__ = [
    "MAX_FILE_CHARS",
    "MEMORY_INDEX",
    "MEMORY_INDEX_MAX_CHARS",
    "MEMORY_INDEX_MAX_LINES",
    "IndexView",
    "MemoryEdit",
    "MemoryFile",
    "MemoryStore",
    "MemoryStoreError",
    "SearchMatch",
    "WriteMode",
    "atomic_write",
    "memory_root",
    "sessions_dir",
]


def memory_root(repo: Path) -> Path:
    """The memory folder of ``repo``: ``PTA_MEMORY_DIR`` or ``.claude/agent-memory/<agent>``."""
    override = os.environ.get(MEMORY_DIR_ENV)
    if override:
        return Path(override).expanduser().resolve()
    return (repo / ".claude" / "agent-memory" / "perf-trace-analyzer").resolve()


def sessions_dir(repo: Path) -> Path:
    """Where run transcripts are saved (``<repo>/.perf-trace-analyzer/sessions``)."""
    return repo / ".perf-trace-analyzer" / "sessions"


@dataclass(frozen=True)
class MemoryFile:
    """One file of the memory, as a listing shows it."""

    path: str
    lines: int
    bytes: int


@dataclass(frozen=True)
class MemoryEdit:
    """What one write did: the message for the model and the file's line count after it."""

    message: str
    lines: int


@dataclass(frozen=True)
class IndexView:
    """MEMORY.md as the system prompt shows it: the first lines and whether it was cut."""

    text: str
    total_lines: int
    truncated: bool


class MemoryStore:
    """Reads, searches and edits the memory files under one root folder.

    Args:
        root: the memory folder (created on the first write).
        transcripts: the folder of saved run transcripts searched as a last resort.
    """

    def __init__(self, root: Path, *, transcripts: Path | None = None) -> None:
        self.root = root.resolve()
        self.transcripts = transcripts

    @classmethod
    def for_repo(cls, repo: Path) -> MemoryStore:
        """The store of a target repository (memory root and its sessions folder)."""
        return cls(memory_root(repo), transcripts=sessions_dir(repo))

    def resolve(self, relative: str) -> Path:
        """Where ``relative`` is under the root, or :class:`MemoryStoreError` when refused.

        Only the spelling is checked here; every operation also refuses links on the way.
        """
        return self.root.joinpath(*split_path(relative))

    def list_files(self) -> list[MemoryFile]:
        """Every memory file (MEMORY.md first), with its size; links and temporaries skipped.

        Temporary files left by a writer that was killed are removed when no writer is busy.
        """
        files = []
        try:
            with opened_root(self.root, create=False) as root_fd:
                if root_fd is None:
                    return []
                _remove_temporaries_if_idle(root_fd)
                for rel, folder, name in walk_files(root_fd):
                    counted = count_lines(folder, name, rel)
                    if counted is not None:
                        files.append(MemoryFile(rel, *counted))
        except OSError as exc:
            raise MemoryStoreError(f"Could not list {self.root}: {exc.strerror or exc}") from exc
        files.sort(key=lambda f: (f.path != MEMORY_INDEX, f.path))
        return files

    def read(self, relative: str) -> str:
        """The text of one memory file."""
        *folders, name = parts = split_path(relative)
        shown = "/".join(parts)
        try:
            with _folder_of(self.root, tuple(folders), shown) as folder:
                kind = "missing" if folder is None else entry_kind(folder, name)
                if folder is None or kind == "missing":
                    known = ", ".join(f.path for f in self.list_files()) or "none yet"
                    raise MemoryStoreError(f"Memory file {shown!r} does not exist. Files: {known}.")
                if kind == "folder":
                    raise MemoryStoreError(f"{shown!r} is a folder; give the path of a file.")
                return read_text(folder, name, shown)
        except OSError as exc:
            raise MemoryStoreError(f"Could not read {shown}: {exc.strerror or exc}") from exc

    def index(
        self, max_lines: int = MEMORY_INDEX_MAX_LINES, max_chars: int = MEMORY_INDEX_MAX_CHARS
    ) -> IndexView:
        """MEMORY.md cut to its first ``max_lines`` whole lines within ``max_chars`` (empty when
        there is none or it is a link)."""
        try:
            with opened_root(self.root, create=False) as root_fd:
                if root_fd is None or entry_kind(root_fd, MEMORY_INDEX) != "file":
                    return IndexView("", 0, False)
                lines = read_text(root_fd, MEMORY_INDEX, MEMORY_INDEX).splitlines()
        except (OSError, MemoryStoreError):
            return IndexView("", 0, False)
        kept, used = [], 0
        for line in lines[:max_lines]:
            used += len(line) + 1
            if used > max_chars:
                break
            kept.append(line)
        return IndexView("\n".join(kept), len(lines), len(kept) < len(lines))

    def write(
        self,
        relative: str,
        mode: WriteMode,
        *,
        content: str | None = None,
        old: str | None = None,
        new: str | None = None,
    ) -> str:
        """Applies one edit and returns a short message saying what changed."""
        return self.edit(relative, mode, content=content, old=old, new=new).message

    def edit(
        self,
        relative: str,
        mode: WriteMode,
        *,
        content: str | None = None,
        old: str | None = None,
        new: str | None = None,
    ) -> MemoryEdit:
        """Applies one edit under the memory lock; says what changed and the new line count."""
        parts = split_path(relative)
        for text in (content, old, new):
            check_text(text)
        shown = "/".join(parts)
        try:
            with opened_root(self.root, create=mode != "delete") as root_fd:
                if root_fd is None:
                    raise MemoryStoreError(f"Memory file {shown!r} does not exist.")
                with locked(root_fd):
                    remove_temporaries(root_fd)
                    return _edit_locked(root_fd, parts, mode, content, old, new)
        except OSError as exc:
            # The model sees why (disk full, permissions), not a traceback.
            raise MemoryStoreError(f"Could not write {shown}: {exc.strerror or exc}") from exc

    def search(
        self, query: str, *, limit: int = SEARCH_MAX_MATCHES, skip: Collection[str] = ()
    ) -> list[SearchMatch]:
        """Lines containing every word of ``query`` (case-insensitive): topics, then transcripts.

        ``skip`` names transcripts to leave out (the running session's own).
        """
        words = [w.lower() for w in query.split() if w]
        if not words:
            raise MemoryStoreError("Give at least one word to search for.")
        matches = search_folder(self.root, "*.md", "memory", words, limit)
        if self.transcripts is not None and len(matches) < limit:
            matches += search_folder(
                self.transcripts, "*.jsonl", "transcript", words, limit - len(matches), skip
            )
        return matches


def _edit_locked(
    root_fd: int,
    parts: tuple[str, ...],
    mode: WriteMode,
    content: str | None,
    old: str | None,
    new: str | None,
) -> MemoryEdit:
    *folders, name = parts
    shown = "/".join(parts)
    creates = mode in ("create", "replace", "append")
    with opened_folders(root_fd, tuple(folders), create=creates, shown=shown) as chain:
        if chain is None:
            raise MemoryStoreError(f"Memory file {shown!r} does not exist.")
        folder = chain[-1]
        kind = entry_kind(folder, name)
        if mode == "delete":
            return _delete(chain, parts, kind)
        if kind in _NOT_A_FILE:
            raise MemoryStoreError(f"{shown!r} is {_NOT_A_FILE[kind]}; give the path of a file.")
        current = read_text(folder, name, shown) if kind == "file" else None
        text = edited_text(current, shown, mode, content, old, new)
        # Decided by the file, not the spelling: a hard link to MEMORY.md is MEMORY.md too.
        is_index = not folders and (
            name.casefold() == MEMORY_INDEX.casefold()
            or same_file(folder, name, root_fd, MEMORY_INDEX)
        )
        check_limits(shown, text, is_index=is_index)
        replace_text(folder, name, text)
        lines = len(text.splitlines())
        return MemoryEdit(f"{PAST_TENSE[mode]} {shown} ({lines} lines).", lines)


_NOT_A_FILE = {"folder": "a folder", "link": "a symbolic link", "other": "not a regular file"}


def _delete(chain: list[int], parts: tuple[str, ...], kind: str) -> MemoryEdit:
    shown = "/".join(parts)
    if kind not in ("file", "link"):  # a planted link may be removed: unlinking never follows
        raise MemoryStoreError(f"Memory file {shown!r} does not exist.")
    os.unlink(parts[-1], dir_fd=chain[-1])
    remove_empty_folders(chain, parts[:-1])
    return MemoryEdit(f"Deleted {shown}.", 0)


def atomic_write(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` so that readers see the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        replace_text(folder, path.name, text)
    finally:
        os.close(folder)


def _remove_temporaries_if_idle(root_fd: int) -> None:
    """Removes a killed writer's temporary files when no writer is busy (a read-only memory
    folder, where not even the lock file can be made, is listed as it is)."""
    try:
        with locked(root_fd, blocking=False) as idle:
            if idle:
                remove_temporaries(root_fd)
    except OSError:
        pass


@contextmanager
def _folder_of(root: Path, folders: tuple[str, ...], shown: str) -> Iterator[int | None]:
    """The descriptor of the folder holding a file (None when it does not exist)."""
    with opened_root(root, create=False) as root_fd:
        if root_fd is None:
            yield None
            return
        with opened_folders(root_fd, folders, create=False, shown=shown) as chain:
            yield None if chain is None else chain[-1]
