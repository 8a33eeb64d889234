"""The project memory: ``MEMORY.md`` (an index of at most 200 lines) plus topic files.

The store guarantees three things: every path resolves inside the memory root (``..``,
absolute paths and symlinks that lead out are refused), every write is atomic (a temporary
file, fsync, ``os.replace``) so a crash never leaves a half-written file, and ``MEMORY.md``
never grows past :data:`MEMORY_INDEX_MAX_LINES` lines.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

MEMORY_INDEX = "MEMORY.md"
"""The index file; its first lines are rendered into the system prompt."""

MEMORY_INDEX_MAX_LINES = 200
"""The most lines MEMORY.md may hold (Claude Code loads the first 200 lines of it)."""

MEMORY_INDEX_MAX_CHARS = 10_000
"""The most characters MEMORY.md may hold (about 2,500 tokens of every prompt; Claude Code
itself stops reading at 25,000): long lines must not turn the index into a dump."""

MEMORY_DIR_ENV = "PTA_MEMORY_DIR"
"""Environment variable that overrides the memory root."""

MAX_FILE_CHARS = 100_000
"""Largest memory file the store writes (memory holds notes, not data dumps)."""

SEARCH_MAX_MATCHES = 40
"""Most matching lines one search returns."""

WriteMode = Literal["create", "replace", "append", "str_replace", "delete"]


class MemoryStoreError(Exception):
    """A refused or failed memory operation; the message says what to do instead."""


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
class SearchMatch:
    """One line that matched a search: where it is and the line itself."""

    source: Literal["memory", "transcript"]
    path: str
    line: int
    text: str


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
        """The absolute path of ``relative`` inside the root, or :class:`MemoryStoreError`."""
        if not relative or relative.strip() != relative:
            raise MemoryStoreError(f"Invalid memory path {relative!r}.")
        candidate = Path(relative)
        if candidate.is_absolute() or ".." in candidate.parts:
            raise MemoryStoreError(
                f"Memory path {relative!r} is refused: use a path relative to the memory "
                "folder, without '..'."
            )
        full = self.root / candidate
        # resolve() follows symlinks, so a link pointing out of the root is caught here.
        resolved = full.resolve()
        if not resolved.is_relative_to(self.root) or resolved == self.root:
            raise MemoryStoreError(f"Memory path {relative!r} resolves outside the memory folder.")
        return full

    def list_files(self) -> list[MemoryFile]:
        """Every memory file (MEMORY.md first), with its size."""
        if not self.root.is_dir():
            return []
        files = []
        for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
            if not path.resolve().is_relative_to(self.root):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            rel = path.relative_to(self.root).as_posix()
            files.append(MemoryFile(rel, len(text.splitlines()), path.stat().st_size))
        files.sort(key=lambda f: (f.path != MEMORY_INDEX, f.path))
        return files

    def read(self, relative: str) -> str:
        """The text of one memory file."""
        path = self.resolve(relative)
        if not path.is_file():
            known = ", ".join(f.path for f in self.list_files()) or "none yet"
            raise MemoryStoreError(f"Memory file {relative!r} does not exist. Files: {known}.")
        return path.read_text(encoding="utf-8", errors="replace")

    def index(
        self, max_lines: int = MEMORY_INDEX_MAX_LINES, max_chars: int = MEMORY_INDEX_MAX_CHARS
    ) -> IndexView:
        """MEMORY.md cut to its first ``max_lines`` whole lines within ``max_chars``."""
        path = self.root / MEMORY_INDEX
        if not path.is_file():
            return IndexView("", 0, False)
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
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
        path = self.resolve(relative)
        if mode == "delete":
            if not path.is_file():
                raise MemoryStoreError(f"Memory file {relative!r} does not exist.")
            path.unlink()
            return f"Deleted {relative}."
        if path.is_dir():
            raise MemoryStoreError(f"{relative!r} is a folder; give the path of a file.")
        text = _edited_text(path, relative, mode, content, old, new)
        _check_limits(relative, text)
        try:
            atomic_write(path, text)
        except OSError as exc:
            # The model sees why (disk full, a file where a folder should be), not a traceback.
            raise MemoryStoreError(f"Could not write {relative}: {exc}") from exc
        return f"{_PAST[mode]} {relative} ({len(text.splitlines())} lines)."

    def search(
        self, query: str, *, limit: int = SEARCH_MAX_MATCHES, skip: Collection[str] = ()
    ) -> list[SearchMatch]:
        """Lines containing every word of ``query`` (case-insensitive): topics, then transcripts.

        ``skip`` names transcripts to leave out (the running session's own).
        """
        words = [w.lower() for w in query.split() if w]
        if not words:
            raise MemoryStoreError("Give at least one word to search for.")
        matches = _search_folder(self.root, "*.md", "memory", words, limit)
        if self.transcripts is not None and len(matches) < limit:
            matches += _search_folder(
                self.transcripts, "*.jsonl", "transcript", words, limit - len(matches), skip
            )
        return matches


_PAST: dict[str, str] = {
    "create": "Created",
    "replace": "Replaced",
    "append": "Appended to",
    "str_replace": "Edited",
}


def _edited_text(
    path: Path,
    relative: str,
    mode: WriteMode,
    content: str | None,
    old: str | None,
    new: str | None,
) -> str:
    exists = path.is_file()
    if mode in ("create", "replace", "append") and content is None:
        raise MemoryStoreError(f"Mode {mode!r} needs 'content'.")
    if mode == "create":
        if exists:
            raise MemoryStoreError(f"{relative} already exists; use mode 'replace' or 'append'.")
        return _ensure_newline(content or "")
    if mode == "replace":
        return _ensure_newline(content or "")
    current = path.read_text(encoding="utf-8") if exists else ""
    if mode == "append":
        prefix = current if not current or current.endswith("\n") else current + "\n"
        return prefix + _ensure_newline(content or "")
    if not exists:
        raise MemoryStoreError(f"Memory file {relative!r} does not exist.")
    if old is None or new is None or not old:
        raise MemoryStoreError("Mode 'str_replace' needs non-empty 'old' and 'new'.")
    count = current.count(old)
    if count != 1:
        where = "not found" if count == 0 else f"found {count} times; make it unique"
        raise MemoryStoreError(f"'old' text {where} in {relative}.")
    return current.replace(old, new)


def _ensure_newline(text: str) -> str:
    return text if text.endswith("\n") or not text else text + "\n"


def _check_limits(relative: str, text: str) -> None:
    if len(text) > MAX_FILE_CHARS:
        raise MemoryStoreError(
            f"{relative} would hold {len(text)} characters (limit {MAX_FILE_CHARS}); "
            "keep notes short and split them by topic."
        )
    lines = len(text.splitlines())
    if Path(relative).as_posix() == MEMORY_INDEX and lines > MEMORY_INDEX_MAX_LINES:
        raise MemoryStoreError(
            f"MEMORY.md would have {lines} lines; the limit is {MEMORY_INDEX_MAX_LINES}. "
            "Keep MEMORY.md a short index: move the detail into a topic file "
            "(e.g. allocations.md) and link it from MEMORY.md."
        )
    if Path(relative).as_posix() == MEMORY_INDEX and len(text) > MEMORY_INDEX_MAX_CHARS:
        raise MemoryStoreError(
            f"MEMORY.md would have {len(text)} characters; the limit is "
            f"{MEMORY_INDEX_MAX_CHARS}. Keep MEMORY.md a short index: move the detail into a "
            "topic file (e.g. allocations.md) and link it from MEMORY.md."
        )


def atomic_write(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` so that readers see the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _search_folder(
    folder: Path,
    pattern: str,
    source: Literal["memory", "transcript"],
    words: list[str],
    limit: int,
    skip: Collection[str] = (),
) -> list[SearchMatch]:
    if not folder.is_dir() or limit <= 0:
        return []
    found: list[SearchMatch] = []
    for path in sorted(folder.rglob(pattern), reverse=source == "transcript"):
        if not path.is_file() or path.name in skip:
            continue
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                lowered = line.lower()
                if all(word in lowered for word in words):
                    text = _excerpt(line.strip(), words[0])
                    rel = path.relative_to(folder).as_posix()
                    found.append(SearchMatch(source, rel, number, text))
                    if len(found) >= limit:
                        return found
    return found


def _excerpt(line: str, word: str, width: int = 300) -> str:
    """The line, or a window of it around ``word`` when it is long (transcript lines are)."""
    if len(line) <= width:
        return line
    start = max(line.lower().find(word) - width // 3, 0)
    head = "…" if start else ""
    tail = "…" if start + width < len(line) else ""
    return f"{head}{line[start : start + width]}{tail}"
