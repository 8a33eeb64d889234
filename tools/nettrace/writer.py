"""Writer for NetTrace V4 (FastSerialization, what the runtime writes) and V6 traces.

Used by tests and benchmarks to build synthetic traces with known content::

    with NetTraceWriter(path, version=4) as w:
        mid = w.define_event("Microsoft-DotNETCore-SampleProfiler", 0, 0)
        w.write_event(mid, thread_id=7, timestamp=1000, stack=(0x1234, 0x5678), payload=b"...")

Events are buffered into ~100 KB blocks; stacks are deduplicated into stack blocks that
precede the event block using them; a sequence point is written every few blocks (which
resets the stack ids, as the runtime does) so memory stays bounded however much is written.
"""

from __future__ import annotations

import struct
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, NamedTuple

from tools.nettrace import _encode
from tools.nettrace._encode import varuint
from tools.nettrace.model import FieldDef

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF
_BLOCK_HEADER = struct.Struct("<HHqq")
_V4_ROW = struct.Struct("<IIIQQIIQ16s16sI")
_V6_ROW = struct.Struct("<IIIQQIIQII")
_TRACE_TAIL = struct.Struct("<qqiiii")
_V6_TRACE_TAIL = struct.Struct("<qqii")
_ZERO = bytes(16)


class NetTraceWriter:
    """Writes a V4 (optionally uncompressed) or V6 trace to a path or binary file object.

    Args:
        target: a path or a writable binary file object (not closed by the writer).
        version: 4 or 6.
        compressed: header-compressed event rows (the runtime's choice); False writes the
            uncompressed row layout.
        block_size: flush an event block once its rows exceed this many bytes.
        sequence_point_every: write a sequence point after this many event blocks (0: never).
        The remaining keyword arguments are the trace header fields.
    """

    def __init__(
        self,
        target: str | Path | BinaryIO,
        version: int = 4,
        *,
        compressed: bool = True,
        pointer_size: int = 8,
        process_id: int = 1234,
        processor_count: int = 2,
        qpc_frequency: int = 10_000_000,
        sync_time_qpc: int = 0,
        sync_time_utc: datetime = datetime(2026, 1, 1),
        sampling_interval_ns: int = 1_000_000,
        block_size: int = 100_000,
        sequence_point_every: int = 10,
    ) -> None:
        if version not in (4, 6):
            raise ValueError(f"version must be 4 or 6, not {version}")
        if isinstance(target, (str, Path)):
            self._f: BinaryIO = Path(target).open("wb")
            self._owns = True
        else:
            self._f, self._owns = target, False
        self.version = version
        self._compressed = compressed
        self._ptr_format = "<Q" if pointer_size == 8 else "<I"
        self._ptr = pointer_size
        self._block_size = block_size
        self._sp_every = sequence_point_every
        self._pos = 0
        self._next_mid = 1
        self._pending_meta: list[bytes] = []
        self._rows = bytearray()
        self._acts: tuple[bytes, bytes] = (_ZERO, _ZERO)
        self._min_ts: int | None = None
        self._max_ts = 0
        self._stack_ids: dict[tuple[int, ...], int] = {}
        self._pending_stacks: list[bytes] = []
        self._labels: dict[tuple[bytes, bytes], int] = {}
        self._pending_labels: list[tuple[bytes, bytes]] = []
        self._threads: dict[int, int] = {}
        self._pending_threads: list[int] = []
        self._seqs: dict[int, int] = {}
        self._blocks_since_sp = 0
        self._closed = False
        self._reset_block()
        header = (
            sync_time_utc,
            sync_time_qpc,
            qpc_frequency,
            pointer_size,
            process_id,
            processor_count,
            sampling_interval_ns,
        )
        self._write_header(*header)

    # -- public API -------------------------------------------------------------------------

    def define_event(
        self,
        provider: str,
        event_id: int,
        version: int = 0,
        name: str = "",
        fields: tuple[FieldDef, ...] = (),
        keywords: int = 0,
        level: int = 4,
        opcode: int | None = None,
    ) -> int:
        """Define an event type; returns the MetadataId to pass to :meth:`write_event`."""
        mid = self._next_mid
        self._next_mid += 1
        args = (mid, provider, event_id, name, keywords, version, level, opcode, tuple(fields))
        if self.version == 6:
            self._pending_meta.append(_encode.metadata_v6(*args))
        else:
            self._pending_meta.append(_encode.metadata_v5(*args))
        return mid

    def write_event(
        self,
        metadata_id: int,
        *,
        thread_id: int = 0,
        timestamp: int = 0,
        stack: tuple[int, ...] = (),
        payload: bytes = b"",
        capture_thread_id: int | None = None,
        sequence: int | None = None,
        processor: int = 0,
        activity_id: bytes | None = None,
        related_activity_id: bytes | None = None,
        is_sorted: bool = False,
    ) -> None:
        """Buffer one event (flushed with its block; stacks and threads are deduplicated).

        ``sequence`` defaults to the next number of ``capture_thread_id`` (which defaults to
        ``thread_id``); ``timestamp`` is taken modulo 2^64.
        """
        cap = thread_id if capture_thread_id is None else capture_thread_id
        seq = (self._seqs.get(cap, 0) + 1) & _MASK32 if sequence is None else sequence & _MASK32
        self._seqs[cap] = seq
        ts = timestamp & _MASK64
        signed = ts - (1 << 64) if ts >= 1 << 63 else ts
        if self._min_ts is None or signed < self._min_ts:
            self._min_ts = signed
        self._max_ts = max(self._max_ts, signed)
        stack_id = self._stack_id(tuple(stack))
        act = activity_id or _ZERO
        rel = related_activity_id or _ZERO
        tid = thread_id & _MASK64
        label = 0
        if self.version == 6:
            tid, cap = self._thread_index(thread_id), self._thread_index(cap)
            label = self._label_id(act, rel)
        head = _Row(metadata_id, seq, cap & _MASK64, processor & _MASK32, tid, stack_id, ts, label)
        if self._compressed:
            self._compressed_row(head, payload, act, rel, is_sorted)
        else:
            self._uncompressed_row(head, payload, act, rel, is_sorted)
        if len(self._rows) >= self._block_size:
            self.flush()

    def sequence_point(self, timestamp: int | None = None) -> None:
        """Flush pending data and write a sequence point (stack ids restart after it)."""
        self.flush()
        ts = self._max_ts if timestamp is None else timestamp
        threads = sorted(self._seqs.items())
        if self.version == 6:
            body = bytearray(struct.pack("<QII", ts & _MASK64, 0, len(threads)))
            for tid, seq in threads:
                varuint(body, self._threads.get(tid, 0))
                varuint(body, seq)
            self._v6_block(4, bytes(body))
        else:
            body = bytearray(struct.pack("<qI", ts, len(threads)))
            for tid, seq in threads:
                body += struct.pack("<QI", tid & _MASK64, seq)
            self._v4_object("SPBlock", bytes(body))
        self._stack_ids.clear()
        self._labels.clear()
        self._blocks_since_sp = 0

    def flush(self) -> None:
        """Write pending metadata, threads, labels, stacks and the buffered event block."""
        if self._pending_meta:
            self._write_metadata()
        if self.version == 6:
            self._write_threads_and_labels()
        if self._pending_stacks:
            self._write_stacks()
        if not self._rows:
            return
        flags = 1 if self._compressed else 0
        head = _BLOCK_HEADER.pack(20, flags, self._min_ts or 0, self._max_ts)
        payload = head + bytes(self._rows)
        if self.version == 6:
            self._v6_block(2, payload)
        else:
            self._v4_object("EventBlock", payload)
        self._reset_block()
        self._blocks_since_sp += 1
        if self._sp_every and self._blocks_since_sp >= self._sp_every:
            self.sequence_point()

    def close(self) -> None:
        """Flush, write the end-of-stream marker and close an owned file."""
        if self._closed:
            return
        self.flush()
        self._emit(b"\x00\x00\x00\x00" if self.version == 6 else b"\x01")
        self._finish()

    def abort(self) -> None:
        """Stop without flushing the buffered block or writing the end marker (a crash)."""
        if not self._closed:
            self._finish()

    def __enter__(self) -> NetTraceWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- rows -------------------------------------------------------------------------------

    def _reset_block(self) -> None:
        self._rows = bytearray()
        self._state = _Row(0, 0, 0, 0, 0, 0, 0, 0)
        self._last_size = 0
        self._acts = (_ZERO, _ZERO)
        self._min_ts = None
        self._max_ts = 0

    def _compressed_row(
        self, row: _Row, payload: bytes, act: bytes, rel: bytes, is_sorted: bool
    ) -> None:
        st = self._state
        out = self._rows
        v6 = self.version == 6
        flags = 0x40 if is_sorted else 0
        flags |= 1 if row.mid != st.mid else 0
        step = 1 if row.mid or v6 else 0
        if row.seq != (st.seq + step) & _MASK32 or row.cap != st.cap or row.proc != st.proc:
            flags |= 2
        flags |= (4 if row.tid != st.tid else 0) | (8 if row.sid != st.sid else 0)
        if v6:
            flags |= 0x10 if row.label != st.label else 0
        else:
            flags |= (0x10 if act != self._acts[0] else 0) | (0x20 if rel != self._acts[1] else 0)
        flags |= 0x80 if len(payload) != self._last_size else 0
        out.append(flags)
        if flags & 1:
            varuint(out, row.mid)
        if flags & 2:
            varuint(out, (row.seq - st.seq - step) & _MASK32)
            varuint(out, row.cap)
            varuint(out, row.proc)
        if flags & 4:
            varuint(out, row.tid)
        if flags & 8:
            varuint(out, row.sid)
        varuint(out, (row.ts - st.ts) & _MASK64)
        if flags & 0x10:
            if v6:
                varuint(out, row.label)
            else:
                out += act
        if flags & 0x20:
            out += rel
        if flags & 0x80:
            varuint(out, len(payload))
        out += payload
        self._state = row
        self._last_size = len(payload)
        self._acts = (act, rel)

    def _uncompressed_row(
        self, row: _Row, payload: bytes, act: bytes, rel: bytes, is_sorted: bool
    ) -> None:
        mid_word = row.mid if is_sorted else row.mid | 0x80000000
        padding = -len(payload) % 4
        fields = (mid_word, row.seq, row.tid, row.cap, row.proc, row.sid, row.ts)
        if self.version == 6:
            size = _V6_ROW.size - 4 + len(payload) + padding
            head = _V6_ROW.pack(size, *fields, row.label, len(payload))
        else:
            size = _V4_ROW.size - 4 + len(payload) + padding
            head = _V4_ROW.pack(size, *fields, act, rel, len(payload))
        self._rows += head + payload + b"\x00" * padding

    # -- framing --------------------------------------------------------------------------

    def _emit(self, data: bytes) -> None:
        self._f.write(data)
        self._pos += len(data)

    def _write_header(
        self, utc: datetime, qpc: int, freq: int, ptr: int, pid: int, procs: int, rate: int
    ) -> None:
        when = _encode.systemtime(utc)
        if self.version == 6:
            self._emit(b"Nettrace" + struct.pack("<III", 0, 6, 0))
            body = bytearray(when + _V6_TRACE_TAIL.pack(qpc, freq, ptr, 3))
            for key, value in (
                ("ProcessId", pid),
                ("HardwareThreadCount", procs),
                ("ExpectedCPUSamplingRate", rate),
            ):
                _encode.utf8(body, key)
                _encode.utf8(body, str(value))
            self._v6_block(1, bytes(body))
        else:
            self._emit(b"Nettrace\x14\x00\x00\x00!FastSerialization.1")
            tail = _TRACE_TAIL.pack(qpc, freq, ptr, pid, procs, rate)
            self._emit(_type_header("Trace", 4) + when + tail + b"\x06")

    def _v4_object(self, name: str, payload: bytes) -> None:
        head = _type_header(name, 2) + struct.pack("<i", len(payload))
        padding = -(self._pos + len(head)) % 4
        self._emit(head + b"\x00" * padding + payload + b"\x06")

    def _v6_block(self, kind: int, payload: bytes) -> None:
        if len(payload) > 0xFFFFFF:
            raise ValueError("V6 blocks are limited to 16 MB")
        self._emit(struct.pack("<I", len(payload) | kind << 24) + payload)

    def _write_metadata(self) -> None:
        if self.version == 6:
            self._v6_block(3, _encode.metadata_block_v6(self._pending_meta))
        else:
            self._v4_object("MetadataBlock", _encode.metadata_block_v4(self._pending_meta))
        self._pending_meta = []

    def _write_threads_and_labels(self) -> None:
        if self._pending_threads:
            rows = [(self._threads[t], t & _MASK64) for t in self._pending_threads]
            self._v6_block(6, _encode.thread_block(rows))
            self._pending_threads = []
        if self._pending_labels:
            first = len(self._labels) - len(self._pending_labels) + 1
            self._v6_block(8, _encode.label_block(first, self._pending_labels))
            self._pending_labels = []

    def _write_stacks(self) -> None:
        first = len(self._stack_ids) - len(self._pending_stacks) + 1
        body = _encode.stack_block(first, self._pending_stacks)
        if self.version == 6:
            self._v6_block(5, body)
        else:
            self._v4_object("StackBlock", body)
        self._pending_stacks = []

    def _finish(self) -> None:
        self._closed = True
        if self._owns:
            self._f.close()
        else:
            self._f.flush()

    # -- caches -----------------------------------------------------------------------------

    def _stack_id(self, stack: tuple[int, ...]) -> int:
        if not stack:
            return 0
        sid = self._stack_ids.get(stack)
        if sid is None:
            sid = len(self._stack_ids) + 1
            self._stack_ids[stack] = sid
            raw = struct.pack(f"<{len(stack)}{self._ptr_format[1]}", *stack)
            self._pending_stacks.append(raw)
        return sid

    def _thread_index(self, os_tid: int) -> int:
        index = self._threads.get(os_tid)
        if index is None:
            index = len(self._threads) + 1
            self._threads[os_tid] = index
            self._pending_threads.append(os_tid)
        return index

    def _label_id(self, act: bytes, rel: bytes) -> int:
        if act == _ZERO and rel == _ZERO:
            return 0
        key = (act, rel)
        label = self._labels.get(key)
        if label is None:
            label = len(self._labels) + 1
            self._labels[key] = label
            self._pending_labels.append(key)
        return label


def _type_header(name: str, version: int) -> bytes:
    """Begin-object + type object for ``name`` (NetTrace tags)."""
    raw = name.encode("ascii")
    return b"\x05\x05\x01" + struct.pack("<iii", version, version, len(raw)) + raw + b"\x06"


class _Row(NamedTuple):
    """Header values of one event row (V6: thread indexes and a label list id)."""

    mid: int
    seq: int
    cap: int
    proc: int
    tid: int
    sid: int
    ts: int
    label: int
