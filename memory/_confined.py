"""File operations that cannot leave one folder, whatever is renamed or linked meanwhile.

A path is never checked and then opened by name: each folder on the way is opened relative to
its parent's descriptor with ``O_NOFOLLOW``, and files are created, read, renamed and removed
relative to the descriptor of the folder that was opened. What was checked is what is written.
Symbolic links are never followed (the memory store never creates them); a link met on the way
is refused with a :class:`MemoryStoreError`.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Literal

NAME_MAX_BYTES = 200
"""Longest name of one path part (leaves room under NAME_MAX for the temporary-file name)."""

MAX_DEPTH = 8
"""Most nested folders in a memory path (and in a walk of the memory)."""

MAX_WALK_FILES = 2_000
"""Most files one walk of a folder yields (a memory is a handful of notes)."""

LOCK_FILE = ".pta-memory.lock"
"""The lock file in the memory root that serialises writers (other processes included)."""

LOCK_TIMEOUT_S = 10.0
"""How long a writer waits for another writer before giving up with an error."""

TEMP_SUFFIX = ".tmp"
"""Suffix of the temporary files of an atomic write (``.<name>.<random>.tmp``)."""

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO planted in the folder must not hang the reader.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_LINK_ERRNOS = {errno.ELOOP, errno.EMLINK}

EntryKind = Literal["missing", "file", "folder", "link", "other"]


class MemoryStoreError(Exception):
    """A refused or failed memory operation; the message says what to do instead."""


def split_path(relative: str) -> tuple[str, ...]:
    """The parts of a memory path, or :class:`MemoryStoreError` saying why it is refused."""
    if not relative or relative.strip() != relative:
        raise MemoryStoreError(f"Invalid memory path {relative!r}.")
    if any(ord(char) < 32 or char == "\x7f" for char in relative):
        raise MemoryStoreError(
            f"Memory path {relative!r} contains a control character (NUL, newline, …); "
            "use a plain file name such as 'allocations.md'."
        )
    parts = tuple(part for part in relative.split("/") if part not in ("", "."))
    if relative.startswith("/") or ".." in parts:
        raise MemoryStoreError(
            f"Memory path {relative!r} is refused: use a path relative to the memory "
            "folder, without '..'."
        )
    if not parts:
        raise MemoryStoreError(f"Invalid memory path {relative!r}.")
    if len(parts) > MAX_DEPTH:
        raise MemoryStoreError(
            f"Memory path {relative!r} is nested too deep (at most {MAX_DEPTH})."
        )
    for part in parts:
        _check_part(relative, part)
    return parts


def _check_part(relative: str, part: str) -> None:
    if part.startswith("."):
        raise MemoryStoreError(
            f"Memory path {relative!r} is refused: names starting with '.' are reserved for "
            "the store's lock and temporary files."
        )
    try:
        size = len(part.encode("utf-8"))
    except UnicodeEncodeError:
        raise MemoryStoreError(f"Memory path {relative!r} is not valid Unicode text.") from None
    if size > NAME_MAX_BYTES:
        raise MemoryStoreError(
            f"Memory path part {part[:40]!r}… is {size} bytes long; the limit is "
            f"{NAME_MAX_BYTES}. Use a short file name."
        )


@contextmanager
def opened_root(root: Path, *, create: bool) -> Iterator[int | None]:
    """A descriptor of ``root`` (created when ``create``), or None when it does not exist."""
    if create:
        try:
            root.mkdir(parents=True, exist_ok=True)
        except FileExistsError:  # a file stands where the folder should be
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(root)) from None
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        if create:
            raise
        yield None
        return
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def opened_folders(
    root_fd: int, parts: tuple[str, ...], *, create: bool, shown: str
) -> Iterator[list[int] | None]:
    """Descriptors of ``root_fd`` and of each folder of ``parts`` below it, in order.

    Missing folders are created when ``create``; otherwise None is yielded for a missing one.
    Only the descriptors opened here are closed on exit (never ``root_fd``).

    Raises:
        MemoryStoreError: a part is a symbolic link or a file.
    """
    chain = [root_fd]
    try:
        for part in parts:
            try:
                chain.append(_open_folder(chain[-1], part, create, shown))
            except FileNotFoundError:
                yield None
                return
        yield chain
    finally:
        for fd in reversed(chain[1:]):
            os.close(fd)


def _open_folder(parent: int, name: str, create: bool, shown: str) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        if not create:
            raise
    except OSError as exc:
        raise _refusal(exc, name, shown) from None
    with suppress(FileExistsError):  # another writer made it first: open theirs
        os.mkdir(name, 0o777, dir_fd=parent)
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        raise _refusal(exc, name, shown) from None


def _refusal(exc: OSError, name: str, shown: str) -> MemoryStoreError:
    if exc.errno in _LINK_ERRNOS or exc.errno == errno.ENOTDIR:
        return MemoryStoreError(
            f"Memory path {shown!r} is refused: {name!r} is a symbolic link or a file, not a "
            "folder (the memory store does not follow links)."
        )
    return MemoryStoreError(f"Memory path {shown!r}: {exc.strerror or exc}.")


def entry_kind(folder: int, name: str) -> EntryKind:
    """What ``name`` is in ``folder``, without following a link."""
    try:
        mode = os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return "missing"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "folder"
    return "file" if stat.S_ISREG(mode) else "other"


def same_file(folder: int, name: str, other_folder: int, other_name: str) -> bool:
    """Whether two names are one file (a hard link); never follows links."""
    try:
        one = os.stat(name, dir_fd=folder, follow_symlinks=False)
        two = os.stat(other_name, dir_fd=other_folder, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return (one.st_dev, one.st_ino) == (two.st_dev, two.st_ino)


@contextmanager
def opened_file(folder: int, name: str, shown: str) -> Iterator[int]:
    """A read descriptor of the regular file ``name`` (links and special files are refused)."""
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=folder)
    except OSError as exc:
        if exc.errno in _LINK_ERRNOS:
            raise MemoryStoreError(
                f"{shown!r} is a symbolic link; the memory store does not follow links."
            ) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise MemoryStoreError(f"{shown!r} is not a regular file.")
        os.set_blocking(fd, True)
        yield fd
    finally:
        os.close(fd)


def read_text(folder: int, name: str, shown: str) -> str:
    """The text of a regular file (undecodable bytes replaced)."""
    with opened_file(folder, name, shown) as fd, os.fdopen(os.dup(fd), "rb") as handle:
        return handle.read().decode("utf-8", errors="replace")


def count_lines(folder: int, name: str, rel: str) -> tuple[int, int] | None:
    """Lines and bytes of a file (None when it vanished or became a link meanwhile)."""
    try:
        with opened_file(folder, name, rel) as fd:
            size = os.fstat(fd).st_size
            lines, last = 0, b"\n"
            while chunk := os.read(fd, 1 << 16):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
            return lines + (last != b"\n"), size
    except (OSError, MemoryStoreError):
        return None


def replace_text(folder: int, name: str, text: str) -> None:
    """Writes ``text`` to ``name`` in ``folder`` atomically: readers see old or new, never a mix.

    The temporary file is created with mode 0666 so the process umask decides the file's mode
    (as for any file the user creates); it is removed again when anything fails.
    """
    data = text.encode("utf-8")
    temp = f".{name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    fd = os.open(temp, _CREATE_FLAGS, 0o666, dir_fd=folder)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp, dir_fd=folder)
        raise
    with suppress(OSError):  # the rename itself survives a power cut once the folder is synced
        os.fsync(folder)


def remove_empty_folders(chain: list[int], parts: tuple[str, ...]) -> None:
    """Removes the folders of ``parts`` that are now empty, deepest first (never the root).

    ``chain`` is what :func:`opened_folders` yielded for ``parts``.
    """
    for depth in range(len(parts) - 1, -1, -1):
        try:
            os.rmdir(parts[depth], dir_fd=chain[depth])
        except OSError:  # not empty (or replaced meanwhile): the folders above stay too
            return


def walk_files(
    folder: int, *, suffix: str = "", prefix: str = ""
) -> Iterator[tuple[str, int, str]]:
    """``(relative path, folder descriptor, name)`` of every regular file under ``folder``.

    Sorted by name; links, names starting with '.' (the lock, temporary files) and special
    files are skipped; at most :data:`MAX_WALK_FILES` files and :data:`MAX_DEPTH` levels. The
    folder descriptor is valid only until the next item is requested.
    """
    budget = [MAX_WALK_FILES]
    yield from _walk(folder, suffix, prefix, 0, budget)


def _walk(
    folder: int, suffix: str, prefix: str, depth: int, budget: list[int]
) -> Iterator[tuple[str, int, str]]:
    with os.scandir(folder) as scan:
        entries = sorted(
            (e.name, e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False))
            for e in scan
            if not e.name.startswith(".") and not e.is_symlink()
        )
    for name, is_dir, is_file in entries:
        if budget[0] <= 0:
            return
        if is_file and name.endswith(suffix):
            budget[0] -= 1
            yield f"{prefix}{name}", folder, name
        elif is_dir and depth + 1 < MAX_DEPTH:
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=folder)
            except OSError:  # replaced by a link or removed since the scan: skipped
                continue
            try:
                yield from _walk(child, suffix, f"{prefix}{name}/", depth + 1, budget)
            finally:
                os.close(child)


def remove_temporaries(folder: int, depth: int = 0) -> int:
    """Deletes leftover ``.<name>.<random>.tmp`` files (a writer killed mid-write); their count.

    Call only while holding :func:`locked`: a live writer's temporary file exists only while
    it holds the lock.
    """
    removed = 0
    with os.scandir(folder) as scan:
        entries = [(e.name, e.is_dir(follow_symlinks=False), e.is_symlink()) for e in scan]
    for name, is_dir, is_link in entries:
        if name.startswith(".") and name.endswith(TEMP_SUFFIX) and not is_dir:
            with suppress(FileNotFoundError):
                os.unlink(name, dir_fd=folder)
                removed += 1
        elif is_dir and not is_link and depth + 1 < MAX_DEPTH:
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=folder)
            except OSError:
                continue
            try:
                removed += remove_temporaries(child, depth + 1)
            finally:
                os.close(child)
    return removed


@contextmanager
def locked(root_fd: int, *, blocking: bool = True) -> Iterator[bool]:
    """Holds the memory root's writer lock (``flock`` on :data:`LOCK_FILE`).

    Yields True once held; with ``blocking`` false yields False at once when another writer
    holds it. Raises :class:`MemoryStoreError` after :data:`LOCK_TIMEOUT_S` seconds of waiting.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(LOCK_FILE, flags, 0o666, dir_fd=root_fd)
    try:
        held = _acquire(fd, LOCK_TIMEOUT_S if blocking else 0.0)
        if not held and blocking:
            raise MemoryStoreError(
                f"Another writer has held the memory lock for {LOCK_TIMEOUT_S:.0f} s; "
                "try the write again."
            )
        yield held
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _acquire(fd: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
