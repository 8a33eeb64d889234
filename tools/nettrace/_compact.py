"""Compact delivery: events handed to the caller as bare records instead of ``Event`` objects.

Sample-heavy traces are mostly SampleProfiler ThreadSample rows that an analysis only needs as
(thread, timestamp, stack, sample type). Building an ``Event`` for each, slicing its payload and
yielding it through two generators costs more than decoding the row, so the decoder can append
those fields straight into the caller's per-thread arrays instead. Events that an analysis only
aggregates by stack and payload (allocation ticks) go to a row callback the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tools.nettrace.model import EventMetadata

Append = Callable[[int], None]
RowSink = Callable[[int, bytes], None]
IDENTITY = bytes(range(256))

_SIGN = 1 << 63
_WRAP = 1 << 64
_MASK64 = _WRAP - 1


@dataclass(frozen=True)
class Compact:
    """Which events to deliver compactly, and where their records go.

    Attributes:
        accept: metadata whose events become records (they are never yielded as ``Event``).
        intern: maps a stack (IPs, leaf first) to the caller's stack id; called once per stack
            id per sequence-point region, in file order.
        appenders: thread id -> (append timestamp, append stack id, append value); called once
            per thread and sequence-point region.
        values: 256 entries mapping the payload's first byte to the appended value (an empty
            payload reads as byte 0).
        rows: for metadata whose events need only (stack, payload), the callback that takes
            ``(caller's stack id, payload)`` per event instead of an ``Event`` (None: not so).
        region_end: called at every sequence point, after the records before it (the runtime
            has flushed every thread's events there); appenders are asked for again after it.
    """

    accept: Callable[[EventMetadata], bool]
    intern: Callable[[tuple[int, ...]], int]
    appenders: Callable[[int], tuple[Append, Append, Append]]
    values: bytes = IDENTITY
    rows: Callable[[EventMetadata], RowSink | None] = lambda meta: None
    region_end: Callable[[], None] = lambda: None


def signed(ts: int) -> int:
    """A decoded (possibly unmasked) timestamp as the signed 64-bit value events carry."""
    ts &= _MASK64
    return ts - _WRAP if ts >= _SIGN else ts
