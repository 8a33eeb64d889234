"""Block payload decoding shared by every format: event rows, metadata, stacks, caches.

The compressed-header loop is the hot path of the whole tool: it decodes varints inline,
skips rejected events without building anything, and slices a payload only for events that
are yielded. Corrupt bytes surface as ``TraceFormatError`` with the absolute offset of the row.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator

from tools.nettrace import _plain
from tools.nettrace._binary import (
    DECODE_ERRORS,
    MASK32,
    MASK64,
    TWO_U32,
    U32,
    corrupt,
    read_varuint,
)
from tools.nettrace._compact import Compact, RowSink, signed
from tools.nettrace._metadata import parse_metadata_v5
from tools.nettrace.model import Event, EventMetadata, ReadStats

Select = Callable[[EventMetadata], bool]
_UNSEEN = EventMetadata(metadata_id=-1, provider="", event_id=-1, event_name="", version=-1)
_SIGN = 1 << 63
_WRAP = 1 << 64
_BLOCK_HEADER = struct.Struct("<HH")
_ZERO_GUID = bytes(16)


class Decoder:
    """Decodes block payloads and keeps the metadata, stack, thread and label caches.

    Attributes:
        metadata: every metadata definition seen so far, by MetadataId.
        threads: V6 thread index -> OS thread id.
        stats: counters updated while decoding.
        pointer_size: bytes per IP in stacks.
    """

    def __init__(self, pointer_size: int, select: Select | None, stats: ReadStats) -> None:
        self.metadata: dict[int, EventMetadata] = {}
        self.threads: dict[int, int] = {}
        self.labels: dict[int, tuple[bytes | None, bytes | None]] = {}
        self.stats = stats
        self.pointer_size = pointer_size
        self._select = select
        self._chosen: dict[int, EventMetadata | None] = {}
        self._raw_stacks: dict[int, bytes] = {}
        self._stacks: dict[int, tuple[int, ...]] = {0: ()}
        self._intern: dict[bytes, tuple[int, ...]] = {b"": ()}
        self._ip = "Q" if pointer_size == 8 else "I"
        self.compact: Compact | None = None
        self._compact_mids: set[int] = set()
        self._row_sinks: dict[int, RowSink] = {}
        self._compact_sids: dict[int, int] = {}
        self._compact_raw: dict[bytes, int] = {}
        self._compact_obj: dict[int, int] = {}
        self._sinks: dict[int, tuple[Callable[[int], None], ...]] = {}
        # Events per MetadataId (counted in runs: ids rarely change from row to row), and the
        # counts of ids that were redefined or flushed since.
        self._tally: dict[int, int] = {}
        self._retired: list[tuple[EventMetadata, int]] = []
        self.first_ts: int | None = None
        self.last_ts: int | None = None

    # -- caches ---------------------------------------------------------------------------

    def define(self, meta: EventMetadata) -> None:
        """Record a metadata definition (a redefinition replaces the old one)."""
        self._retire(meta.metadata_id)
        self.metadata[meta.metadata_id] = meta
        self._chosen.pop(meta.metadata_id, None)
        self._compact_mids.discard(meta.metadata_id)
        self._row_sinks.pop(meta.metadata_id, None)

    def set_select(self, select: Select | None, compact: Compact | None = None) -> None:
        """Change the event filter and compact delivery (clears the per-id decisions)."""
        self._select = select
        self.compact = compact
        self._chosen.clear()
        self._compact_mids.clear()
        self._row_sinks.clear()
        self._compact_sids.clear()
        self._compact_raw.clear()
        self._compact_obj.clear()
        self._sinks.clear()

    def event_counts(self) -> list[tuple[EventMetadata, int]]:
        """Events read per metadata definition, selected or not (definitions in id order)."""
        counts = list(self._retired)
        counts.extend((self.metadata[mid], n) for mid, n in sorted(self._tally.items()) if n)
        return counts

    def _retire(self, mid: int) -> None:
        count = self._tally.pop(mid, 0)
        if count:
            self._retired.append((self.metadata[mid], count))

    def _seen(self, first: int, last: int) -> None:
        # Timestamps only grow inside a block, so its first and last rows bound it (exactly,
        # unless a corrupt delta pushed them past 2^63).
        lo, hi = signed(first), signed(last)
        if lo > hi:
            lo, hi = hi, lo
        if self.first_ts is None or lo < self.first_ts:
            self.first_ts = lo
        if self.last_ts is None or hi > self.last_ts:
            self.last_ts = hi

    def flush_stacks(self) -> None:
        """A sequence point: stack ids (and V6 label lists) are no longer valid."""
        self._raw_stacks.clear()
        self._stacks = {0: ()}
        self._compact_sids.clear()
        self.labels.clear()
        if self.compact is not None:
            self.compact.region_end()
            self._sinks.clear()

    def flush_metadata(self) -> None:
        """V6 sequence point flag 2: metadata ids are no longer valid."""
        for mid in list(self._tally):
            self._retire(mid)
        self.metadata.clear()
        self._chosen.clear()
        self._compact_mids.clear()
        self._row_sinks.clear()

    def _choose(self, mid: int, offset: int) -> EventMetadata | None:
        meta = self.metadata.get(mid)
        if meta is None:
            raise corrupt(offset, f"metadata id {mid} was never defined", "a defined MetadataId")
        chosen = meta if self._select is None or self._select(meta) else None
        if self.compact is not None:
            if self.compact.accept(meta):
                self._compact_mids.add(mid)
                chosen = meta
            else:
                sink = self.compact.rows(meta)
                if sink is not None:
                    self._row_sinks[mid] = sink
                    chosen = meta
        self._chosen[mid] = chosen
        return chosen

    def compact_stack(self, sid: int) -> int:
        """The caller's id for stack ``sid`` of the current region (interned on first use)."""
        assert self.compact is not None
        # Stack ids restart at every sequence point but the stacks recur: remember the caller's
        # id per raw stack so each distinct stack is hashed as a tuple only once.
        raw = self._raw_stacks.get(sid, b"")
        key = self._compact_raw.get(raw)
        if key is None:
            key = self._compact_raw[raw] = self.compact.intern(self.stack(sid))
        self._compact_sids[sid] = key
        return key

    def sink(self, thread_id: int) -> tuple[Callable[[int], None], ...]:
        """The caller's appenders for one thread's compact records."""
        assert self.compact is not None
        found = self._sinks[thread_id] = self.compact.appenders(thread_id)
        return found

    def divert(self, event: Event) -> bool:
        """Hand ``event`` to a compact record or row sink when its metadata has one (slow paths)."""
        if self.compact is None:
            return False
        mid = event.metadata.metadata_id
        row_sink = self._row_sinks.get(mid)
        if row_sink is not None:
            row_sink(self._compact_key_of(event.stack), event.payload)
            return True
        if mid not in self._compact_mids:
            return False
        add_ts, add_sid, add_value = self._sinks.get(event.thread_id) or self.sink(event.thread_id)
        add_ts(event.timestamp)
        add_sid(self._compact_key_of(event.stack))
        add_value(self.compact.values[event.payload[0] if event.payload else 0])
        return True

    def _compact_key_of(self, stack: tuple[int, ...]) -> int:
        assert self.compact is not None
        # Stacks are canonical tuples kept alive by ``_intern``: their id() is a safe key.
        key = self._compact_obj.get(id(stack))
        if key is None:
            key = self._compact_obj[id(stack)] = self.compact.intern(stack)
        return key

    def stack(self, stack_id: int) -> tuple[int, ...]:
        """The IPs (leaf first) of a cached stack id; unknown ids give an empty stack."""
        stack = self._stacks.get(stack_id)
        if stack is None:
            stack = self.intern(self._raw_stacks.get(stack_id, b""))
            self._stacks[stack_id] = stack
        return stack

    def intern(self, raw: bytes) -> tuple[int, ...]:
        """The tuple of IPs for raw stack bytes; equal stacks share one tuple object."""
        stack = self._intern.get(raw)
        if stack is None:
            count = len(raw) // self.pointer_size
            stack = struct.unpack_from(f"<{count}{self._ip}", raw, 0)
            self._intern[raw] = stack
        return stack

    def stack_block(self, buf: bytes, base: int) -> None:
        """Cache the stacks of a StackBlock payload (ids from FirstId upwards)."""
        n = len(buf)
        if n < 8:
            raise corrupt(base, "stack block shorter than its header", "FirstId and Count")
        first, count = TWO_U32.unpack_from(buf, 0)
        if count * 4 > n - 8:
            raise corrupt(base + 4, f"stack count {count}", "a count that fits the block")
        pos = 8
        self.stats.stacks += count
        raw = self._raw_stacks
        for i in range(count):
            if pos + 4 > n:
                raise corrupt(base + pos, "stack block ends early", "a StackSize field")
            size = U32.unpack_from(buf, pos)[0]
            end = pos + 4 + size
            if end > n or size % self.pointer_size:
                raise corrupt(
                    base + pos, f"stack size {size}", "a whole number of IPs in the block"
                )
            raw[(first + i) & MASK32] = buf[pos + 4 : end]
            pos = end

    # -- metadata blocks --------------------------------------------------------------------

    def metadata_block_v4(self, buf: bytes, base: int) -> None:
        """Decode a V4/V5 MetadataBlock: event rows whose payloads are definitions."""
        for _ in self.event_block_v4(buf, base, metadata=True):
            pass

    # -- event blocks -----------------------------------------------------------------------

    def event_block_v4(self, buf: bytes, base: int, metadata: bool = False) -> Iterator[Event]:
        """Events of a V4/V5 EventBlock (or definitions of a MetadataBlock when ``metadata``)."""
        if len(buf) < 20:
            raise corrupt(base, "block shorter than its header", "a 20-byte block header")
        header_size, flags = _BLOCK_HEADER.unpack_from(buf, 0)
        if header_size < 20 or header_size > len(buf):
            raise corrupt(base, f"block header size {header_size}", "a header size of 20 or more")
        if flags & 1:
            return self._compressed(buf, base, header_size, False, metadata)
        return _plain.uncompressed_v4(self, buf, base, header_size, metadata)

    def event_block_v6(self, buf: bytes, base: int) -> Iterator[Event]:
        """Events of a V6 Event block (thread indexes resolved via the thread table)."""
        if len(buf) < 20:
            raise corrupt(base, "block shorter than its header", "a 20-byte block header")
        header_size, flags = _BLOCK_HEADER.unpack_from(buf, 0)
        if header_size < 20 or header_size > len(buf):
            raise corrupt(base, f"block header size {header_size}", "a header size of 20 or more")
        if flags & 1:
            return self._compressed(buf, base, header_size, True, False)
        return _plain.uncompressed_v6(self, buf, base, header_size)

    def _compressed(  # noqa: C901 - one flat loop is what keeps the hot path fast
        self, buf: bytes, base: int, pos: int, v6: bool, metadata: bool
    ) -> Iterator[Event]:
        n = len(buf)
        # seq is kept unmasked inside the block (mod 2^32 is applied when an event is built):
        # the arithmetic is the same and the skip path stays cheaper. ts is masked where it can
        # wrap (a long delta), so it stays below 2^64.
        mid = seq = cap = proc = tid = sid = ts = size = label = 0
        step = 1 if v6 else 0
        act: bytes | None = None
        rel: bytes | None = None
        chosen = self._chosen
        stacks = self._stacks
        threads = self.threads
        varuint = read_varuint
        last_mid = -1
        meta: EventMetadata | None = None
        start = pos
        count = 0
        # Compact rows go straight to the caller's arrays (see _compact).
        compact_mids = self._compact_mids
        row_sinks = self._row_sinks
        row_sink: RowSink | None = None
        compact_sids = self._compact_sids
        sinks = self._sinks
        values = self.compact.values if self.compact is not None else b""
        is_compact = False
        tally = self._tally
        run_from = 0
        sign = _SIGN
        first = last = -1
        try:
            while pos < n:
                start = pos
                f = buf[pos]
                pos += 1
                if f & 1:
                    b = buf[pos]
                    if b < 0x80:
                        mid = b
                        pos += 1
                    else:
                        mid, pos = varuint(buf, pos, 5)
                if f & 2:
                    b = buf[pos]
                    if b < 0x80:
                        seq += b
                        pos += 1
                    else:
                        # Rows of another capture thread: often a wrapped (5-byte) delta.
                        b2 = buf[pos + 1]
                        if b2 < 0x80:
                            seq += (b & 0x7F) | b2 << 7
                            pos += 2
                        else:
                            delta, pos = varuint(buf, pos, 5)
                            seq += delta
                    b = buf[pos]
                    if b < 0x80:
                        cap = b
                        pos += 1
                    else:
                        b2 = buf[pos + 1]
                        b3 = buf[pos + 2]
                        if b2 >= 0x80 and b3 < 0x80:
                            cap = (b & 0x7F) | (b2 & 0x7F) << 7 | b3 << 14
                            pos += 3
                        else:
                            cap, pos = varuint(buf, pos, 10)
                    b = buf[pos]
                    if b < 0x80:
                        proc = b
                        pos += 1
                    else:
                        proc, pos = varuint(buf, pos, 5)
                if mid:
                    seq += 1
                else:
                    seq += step
                if f & 4:
                    # OS thread ids are mostly 2-3 byte varints (Linux tids run into millions).
                    b = buf[pos]
                    if b < 0x80:
                        tid = b
                        pos += 1
                    else:
                        b2 = buf[pos + 1]
                        if b2 < 0x80:
                            tid = (b & 0x7F) | b2 << 7
                            pos += 2
                        else:
                            b3 = buf[pos + 2]
                            if b3 < 0x80:
                                tid = (b & 0x7F) | (b2 & 0x7F) << 7 | b3 << 14
                                pos += 3
                            else:
                                tid, pos = varuint(buf, pos, 10)
                if f & 8:
                    b = buf[pos]
                    if b < 0x80:
                        sid = b
                        pos += 1
                    else:
                        b2 = buf[pos + 1]
                        if b2 < 0x80:
                            sid = (b & 0x7F) | b2 << 7
                            pos += 2
                        else:
                            sid, pos = varuint(buf, pos, 5)
                b = buf[pos]
                if b < 0x80:
                    ts += b
                    pos += 1
                else:
                    b2 = buf[pos + 1]
                    if b2 < 0x80:
                        ts += (b & 0x7F) | b2 << 7
                        pos += 2
                    else:
                        b3 = buf[pos + 2]
                        if b3 < 0x80:
                            ts += (b & 0x7F) | (b2 & 0x7F) << 7 | b3 << 14
                            pos += 3
                        else:
                            delta, pos = varuint(buf, pos, 10)
                            # A step back in time is a wrapped delta: mask it here, once, so
                            # that later rows need no wrap-around handling of their own.
                            ts = (ts + delta) & MASK64
                if f & 0x30:
                    if f & 0x10:
                        if v6:
                            label, pos = varuint(buf, pos, 5)
                        else:
                            act = buf[pos : pos + 16]
                            pos += 16
                            if act == _ZERO_GUID:
                                act = None
                    if f & 0x20 and not v6:
                        rel = buf[pos : pos + 16]
                        pos += 16
                        if rel == _ZERO_GUID:
                            rel = None
                if f & 0x80:
                    b = buf[pos]
                    if b < 0x80:
                        size = b
                        pos += 1
                    else:
                        size, pos = varuint(buf, pos, 5)
                end = pos + size
                if end > n:
                    raise corrupt(
                        base + start, f"payload of {size} bytes", "a row inside the block"
                    )
                if metadata:
                    self.define(parse_metadata_v5(buf, pos, end))
                    pos = end
                    continue
                count += 1
                if mid != last_mid:
                    if last_mid >= 0:
                        tally[last_mid] = tally.get(last_mid, 0) + count - 1 - run_from
                    last_mid = -1
                    meta = chosen.get(mid, _UNSEEN)
                    if meta is _UNSEEN:
                        meta = self._choose(mid, base + start)
                    is_compact = mid in compact_mids
                    row_sink = row_sinks.get(mid)
                    if first < 0:
                        first = ts
                    last_mid = mid
                    run_from = count - 1
                last = ts
                if is_compact:
                    # Subscripts, not .get(): a hit (nearly every row) costs no method call.
                    try:
                        key = compact_sids[sid]
                    except KeyError:
                        key = self.compact_stack(sid)
                    thread = threads.get(tid, tid) if v6 else tid
                    try:
                        sink = sinks[thread]
                    except KeyError:
                        sink = self.sink(thread)
                    sink[0](ts if ts < sign else signed(ts))
                    sink[1](key)
                    sink[2](values[buf[pos]] if end > pos else values[0])
                    pos = end
                    continue
                if row_sink is not None:
                    try:
                        key = compact_sids[sid]
                    except KeyError:
                        key = self.compact_stack(sid)
                    row_sink(key, buf[pos:end])
                    pos = end
                    continue
                if meta is None:
                    pos = end
                    continue
                stack = stacks.get(sid)
                if stack is None:
                    stack = self.stack(sid)
                ts &= MASK64
                seq &= MASK32
                if v6:
                    act, rel = self.labels.get(label, (None, None))
                    yield Event(
                        meta,
                        seq,
                        threads.get(tid, tid),
                        threads.get(cap, cap),
                        proc,
                        ts - _WRAP if ts >= _SIGN else ts,
                        stack,
                        buf[pos:end],
                        act,
                        rel,
                    )
                else:
                    yield Event(
                        meta,
                        seq,
                        tid,
                        cap,
                        proc,
                        ts - _WRAP if ts >= _SIGN else ts,
                        stack,
                        buf[pos:end],
                        act,
                        rel,
                    )
                pos = end
        except DECODE_ERRORS as exc:
            raise corrupt(
                base + start, f"malformed event row ({exc})", "a well-formed row"
            ) from None
        finally:
            self.stats.events += count
            if last_mid >= 0:
                tally[last_mid] = tally.get(last_mid, 0) + count - run_from
            if first >= 0:
                self._seen(first, last)

    def make(
        self, mid: int, at: int, seq: int, tid: int, cap: int, proc: int, sid: int, ts: int
    ) -> Event | None:
        """Count one row and build its Event (empty payload), or None when not selected."""
        self.stats.events += 1
        meta = self._chosen.get(mid, _UNSEEN)
        if meta is _UNSEEN:
            meta = self._choose(mid, at)
        self._tally[mid] = self._tally.get(mid, 0) + 1
        self._seen(ts, ts)
        if meta is None:
            return None
        ts &= MASK64
        stamp = ts - _WRAP if ts >= _SIGN else ts
        return Event(meta, seq, tid, cap, proc, stamp, self.stack(sid), b"")
