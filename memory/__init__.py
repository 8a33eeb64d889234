"""The project memory: MEMORY.md (at most 200 lines), topic files and session transcripts."""

from __future__ import annotations

from memory.store import (
    MEMORY_INDEX,
    MEMORY_INDEX_MAX_CHARS,
    MEMORY_INDEX_MAX_LINES,
    IndexView,
    MemoryEdit,
    MemoryFile,
    MemoryStore,
    MemoryStoreError,
    SearchMatch,
    atomic_write,
    memory_root,
    sessions_dir,
)
from memory.transcripts import TranscriptWriter, read_transcript

__all__ = [
    "MEMORY_INDEX",
    "MEMORY_INDEX_MAX_CHARS",
    "MEMORY_INDEX_MAX_LINES",
    "IndexView",
    "MemoryEdit",
    "MemoryFile",
    "MemoryStore",
    "MemoryStoreError",
    "SearchMatch",
    "TranscriptWriter",
    "atomic_write",
    "memory_root",
    "read_transcript",
    "sessions_dir",
]
