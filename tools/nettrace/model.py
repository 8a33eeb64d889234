"""The data the nettrace reader yields and the analyses consume.

This module is the contract between the reader (framing, headers, metadata, stacks) and the
payload decoders, symbolisation and analyses. It has no behaviour beyond small conveniences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

TraceFormat = Literal["netperf-v3", "nettrace-v4", "nettrace-v6"]


class TraceFormatError(Exception):
    """A file that is not a trace, or is corrupt: says where and what was expected.

    Attributes:
        offset: the byte offset in the (decompressed) trace where reading failed.
        expected: what the reader expected there.
    """

    def __init__(self, message: str, *, offset: int | None = None, expected: str = "") -> None:
        where = f" at byte {offset}" if offset is not None else ""
        wanted = f" (expected {expected})" if expected else ""
        super().__init__(f"{message}{where}{wanted}")
        self.offset = offset
        self.expected = expected


@dataclass(frozen=True, slots=True)
class TraceInfo:
    """The trace header (V3/V4 ``Trace`` object, V6 Trace block).

    Attributes:
        format: the container format.
        sync_time_utc: wall-clock time at ``sync_time_qpc``.
        sync_time_qpc: timestamp counter at the session start.
        qpc_frequency: timestamp ticks per second.
        pointer_size: 4 or 8 (stack IPs and pointer payload fields).
        process_id: the traced process.
        processor_count: logical processors of the traced machine.
        sampling_interval_ns: the sample profiler's interval.
    """

    format: TraceFormat
    sync_time_utc: datetime
    sync_time_qpc: int
    qpc_frequency: int
    pointer_size: int
    process_id: int
    processor_count: int
    sampling_interval_ns: int

    def seconds(self, timestamp: int) -> float:
        """Seconds from the session start to ``timestamp``."""
        return (timestamp - self.sync_time_qpc) / self.qpc_frequency


@dataclass(frozen=True, slots=True)
class FieldDef:
    """A payload field described by the metadata (EventSource events; runtime events have none).

    Attributes:
        name: field name.
        type_code: EventPipe type code (1 Object, 3 Boolean, … 18 String, 19 Array, 20–26 V6).
        element: the element type for arrays.
        fields: nested fields for Object (struct) types.
        count: the element count of a V6 FixedLengthArray (type code 22); 0 otherwise.
    """

    name: str
    type_code: int
    element: FieldDef | None = None
    fields: tuple[FieldDef, ...] = ()
    count: int = 0


@dataclass(frozen=True, slots=True)
class EventMetadata:
    """One metadata definition: which provider/event/version a MetadataId stands for."""

    metadata_id: int
    provider: str
    event_id: int
    event_name: str
    version: int
    keywords: int = 0
    level: int = 0
    opcode: int | None = None
    fields: tuple[FieldDef, ...] = ()


@dataclass(slots=True)
class Event:
    """One event record with its stack resolved from the stack cache.

    Attributes:
        metadata: what the event is.
        sequence: sequence number (mod 2^32) of the capture thread.
        thread_id: the OS thread the event is about (V6: resolved from the thread table).
        capture_thread_id: the OS thread that wrote the event.
        processor: processor number (0xFFFFFFFF unknown).
        timestamp: QPC ticks (see :meth:`TraceInfo.seconds`).
        stack: instruction pointers, leaf first (empty when the event has no stack).
        payload: the raw payload bytes (decode with ``tools.nettrace.payloads``).
        activity_id: 16 bytes or None.
        related_activity_id: 16 bytes or None.
    """

    metadata: EventMetadata
    sequence: int
    thread_id: int
    capture_thread_id: int
    processor: int
    timestamp: int
    stack: tuple[int, ...]
    payload: bytes
    activity_id: bytes | None = None
    related_activity_id: bytes | None = None

    @property
    def provider(self) -> str:
        """The provider name."""
        return self.metadata.provider

    @property
    def event_id(self) -> int:
        """The event id within its provider."""
        return self.metadata.event_id

    @property
    def version(self) -> int:
        """The event (payload template) version."""
        return self.metadata.version


@dataclass
class ReadStats:
    """What a completed (or truncated) read saw.

    Attributes:
        events: event records read (metadata records excluded).
        blocks: blocks by kind name ("EventBlock", "StackBlock", …).
        truncated: the file ended inside a block or without its end-of-stream marker.
        truncated_at: byte offset where the complete data ended, when truncated.
        bytes_read: bytes of trace data consumed.
        stacks: stacks defined by the stack blocks read.
    """

    events: int = 0
    blocks: dict[str, int] = field(default_factory=dict)
    truncated: bool = False
    truncated_at: int | None = None
    bytes_read: int = 0
    stacks: int = 0
