"""Streaming reader for EventPipe traces: NetPerf V3, NetTrace V4/V5 and NetTrace V6.

Usage::

    with open_trace("app.nettrace") as trace:
        print(trace.info.process_id)
        for event in trace.events(select=lambda m: m.provider == SAMPLER):
            ...
        print(trace.stats.truncated)

Events come in file order, one block at a time; memory is bounded by the caches (metadata,
stacks of the current sequence-point region, V6 threads), not by the file size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from tools.nettrace import _plain, _v6
from tools.nettrace._binary import Stream, Truncated
from tools.nettrace._compact import Compact
from tools.nettrace._decode import Decoder
from tools.nettrace._fastserializer import FastSerializerReader
from tools.nettrace._fields import decode_fields
from tools.nettrace._source import NETTRACE_MAGIC, open_source
from tools.nettrace.model import (
    Event,
    EventMetadata,
    ReadStats,
    TraceFormat,
    TraceFormatError,
    TraceInfo,
)

__all__ = [
    "Block",
    "Compact",
    "TraceFile",
    "Window",
    "block_layout",
    "decode_fields",
    "open_trace",
    "read_all",
]

Select = Callable[[EventMetadata], bool]
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Block:
    """Where one block of a NetTrace V4/V5 file lies: its type name and object byte range."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Window:
    """Consecutive blocks of a plain NetTrace V4/V5 file to read on their own.

    Attributes:
        start: offset of the first block's object (None: right after the header).
        stop: offset where reading stops, a block boundary (None: the end of the stream).
        metadata: offsets of the MetadataBlock objects before ``start``, read first (not
            counted) so that the window's events can be decoded.
    """

    start: int | None = None
    stop: int | None = None
    metadata: tuple[int, ...] = ()


class TraceFile:
    """An open trace: its header, a streaming event iterator and what reading saw.

    Attributes:
        path: the file that was opened.
        info: the trace header (available right after opening).
        stats: counters filled while :meth:`events` runs.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stats = ReadStats()
        self._handles: list[BinaryIO] = []
        self._used = False
        self._progress: Progress | None = None
        self._stream, self._fs, self.format, self.info = self._open()
        self._decoder = Decoder(self.info.pointer_size, None, self.stats)

    @property
    def metadata(self) -> dict[int, EventMetadata]:
        """Every metadata definition seen so far, by MetadataId."""
        return self._decoder.metadata

    def _open(self) -> tuple[Stream, FastSerializerReader | None, TraceFormat, TraceInfo]:
        raw, self._handles, fmt = open_source(self.path)
        try:
            stream = Stream(raw)
            if fmt != "netperf-v3":
                stream.read(len(NETTRACE_MAGIC))
            if fmt == "nettrace-v6":
                stream.read(4)
                _v6.read_version(stream)
                return stream, None, fmt, self._v6_trace_block(stream)
            fs = FastSerializerReader(stream, fmt)
            info = fs.read_header()
            self.stats.blocks["Trace"] = 1
            self.stats.bytes_read = stream.pos
            return stream, fs, fmt, info
        except Truncated as exc:
            self.close()
            raise TraceFormatError(
                f"{self.path.name}: the trace ends before its header is complete",
                offset=exc.offset,
                expected="the Trace header",
            ) from None
        except BaseException:
            self.close()
            raise

    def _v6_trace_block(self, stream: Stream) -> TraceInfo:
        for kind, offset, payload in _v6.blocks(stream):
            if kind != "Trace":
                raise TraceFormatError(
                    f"first V6 block is {kind}", offset=offset - 4, expected="the Trace block"
                )
            self.stats.blocks["Trace"] = 1
            self.stats.bytes_read = stream.pos
            return _v6.trace_block(payload, offset)
        raise TraceFormatError("V6 stream has no Trace block", offset=stream.pos, expected="Trace")

    def event_counts(self) -> list[tuple[EventMetadata, int]]:
        """Events read so far per metadata definition, including skipped and compact ones."""
        return self._decoder.event_counts()

    @property
    def time_range(self) -> tuple[int, int] | None:
        """(first, last) timestamp over every event read so far, or None before any."""
        first, last = self._decoder.first_ts, self._decoder.last_ts
        return None if first is None or last is None else (first, last)

    def events(
        self,
        select: Select | None = None,
        *,
        compact: Compact | None = None,
        progress: Progress | None = None,
        window: Window | None = None,
    ) -> Iterator[Event]:
        """Yield the events in file order, block by block.

        Calling it again starts a new pass from the beginning of the file (stats restart).

        Args:
            select: keeps only events whose metadata it accepts; rejected events are skipped
                without building an Event or copying the payload (they are still counted in
                :meth:`event_counts` and :attr:`time_range`).
            compact: events it accepts are appended to the caller's records instead of being
                yielded (the fast path for samples).
            progress: called after every block with the bytes read so far.
            window: read only these blocks (plain NetTrace V4/V5 files; see
                :func:`block_layout`). A window that starts after a sequence point decodes
                exactly as it does in a whole read.

        Raises:
            TraceFormatError: corrupt data inside a complete block (a stream that simply
                ends early is reported through ``stats.truncated`` instead).
        """
        if self._used:
            self._restart()
        self._used = True
        self._decoder.set_select(select, compact)
        self._progress = progress
        if self._fs is None:
            return self._events_v6()
        return self._events_fs(self._fs, window)

    def _restart(self) -> None:
        # Callers may hold on to ``stats``: reset the same object rather than replacing it.
        self.close()
        fresh = ReadStats()
        for field in dataclasses.fields(ReadStats):
            setattr(self.stats, field.name, getattr(fresh, field.name))
        self._stream, self._fs, self.format, self.info = self._open()
        self._decoder = Decoder(self.info.pointer_size, None, self.stats)

    def _events_fs(self, fs: FastSerializerReader, window: Window | None) -> Iterator[Event]:
        decoder, stats, stream = self._decoder, self.stats, self._stream
        blocks = stats.blocks
        progress = self._progress
        v3 = self.format == "netperf-v3"
        stop = None
        try:
            if window is not None:
                self._enter(fs, window)
                stop = window.stop
            for kind, offset, payload in fs.objects():
                blocks[kind] = blocks.get(kind, 0) + 1
                if kind == "EventBlock":
                    if v3:
                        yield from _plain.event_block_v3(decoder, payload, offset)
                    else:
                        yield from decoder.event_block_v4(payload, offset)
                elif kind == "MetadataBlock":
                    decoder.metadata_block_v4(payload, offset)
                elif kind == "StackBlock":
                    decoder.stack_block(payload, offset)
                elif kind == "SPBlock":
                    decoder.flush_stacks()
                stats.bytes_read = stream.pos
                if progress is not None:
                    progress(stream.pos)
                if stop is not None and stream.pos >= stop:
                    return
            stats.bytes_read = stream.pos
        except Truncated:
            self._truncated()

    def splittable(self) -> bool:
        """A plain (not zipped) NetTrace V4/V5 file: it can be read from a block's offset."""
        return self.format == "nettrace-v4" and self._fs is not None and len(self._handles) == 1

    def _enter(self, fs: FastSerializerReader, window: Window) -> None:
        if not self.splittable():
            raise ValueError(f"{self.path.name}: windows need a plain NetTrace V4/V5 file")
        for offset in window.metadata:
            self._stream.seek(offset)
            for kind, at, payload in fs.objects():
                if kind != "MetadataBlock":
                    raise TraceFormatError(
                        f"block at {offset} is a {kind}", offset=at, expected="a MetadataBlock"
                    )
                self._decoder.metadata_block_v4(payload, at)
                break
        if window.start is not None:
            self._stream.seek(window.start)

    def _events_v6(self) -> Iterator[Event]:
        decoder, stats, stream = self._decoder, self.stats, self._stream
        blocks = stats.blocks
        progress = self._progress
        try:
            for kind, offset, payload in _v6.blocks(stream):
                blocks[kind] = blocks.get(kind, 0) + 1
                if kind == "EventBlock":
                    yield from decoder.event_block_v6(payload, offset)
                else:
                    _v6.apply_block(decoder, kind, payload, offset)
                stats.bytes_read = stream.pos
                if progress is not None:
                    progress(stream.pos)
            stats.bytes_read = stream.pos
        except Truncated:
            self._truncated()

    def _truncated(self) -> None:
        self.stats.truncated = True
        self.stats.truncated_at = self.stats.bytes_read

    def close(self) -> None:
        """Release the file (and zip) handles."""
        for handle in self._handles:
            handle.close()
        self._handles = []

    def __enter__(self) -> TraceFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_trace(path: str | Path) -> TraceFile:
    """Open a ``.nettrace``/``.netperf`` file, or a ``.zip`` holding exactly one of them.

    Raises:
        TraceFormatError: the file is not a trace (or is corrupt before the first block).
        OSError: the file cannot be opened.
    """
    return TraceFile(Path(path))


def block_layout(path: str | Path) -> list[Block] | None:
    """The blocks of a plain NetTrace V4/V5 file, read without their payloads.

    None for other formats and zipped traces (they cannot be read from the middle). A file cut
    short gives the blocks that are complete.

    Raises:
        TraceFormatError: not a trace, or corrupt before the first block.
    """
    with open_trace(path) as trace:
        if not trace.splittable() or trace._fs is None:
            return None
        blocks: list[Block] = []
        try:
            for kind, start, end in trace._fs.skim():
                blocks.append(Block(kind, start, end))
        except (Truncated, TraceFormatError):
            pass  # the whole read reports it; the layout stops at the last good block
        return blocks


def read_all(
    path: str | Path, select: Select | None = None
) -> tuple[TraceInfo, list[Event], ReadStats]:
    """Read a whole (small) trace into memory: header, events in file order, stats."""
    with open_trace(path) as trace:
        events = list(trace.events(select))
        return trace.info, events, trace.stats
