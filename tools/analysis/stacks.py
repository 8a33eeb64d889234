"""Compact sample records and interned stacks: what one streaming pass keeps per event.

A sample costs three array slots (timestamp, stack id, kind) instead of an ``Event``; stacks are
kept once each as IP tuples and named only at the end, because rundown (the method names)
comes last in a trace.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

from tools.nettrace.symbols import SymbolTable

KIND_ERROR, KIND_EXTERNAL, KIND_MANAGED, KIND_ALLOC = 0, 1, 2, 3
"""Sample kinds: the ThreadSample types, plus allocation ticks (TraceEvent counts them as CPU)."""


class StackInterner:
    """Maps IP tuples (leaf first) to small ids; id 0 is the empty stack."""

    def __init__(self) -> None:
        self._ids: dict[tuple[int, ...], int] = {(): 0}
        self.stacks: list[tuple[int, ...]] = [()]

    def intern(self, stack: tuple[int, ...]) -> int:
        """The id of ``stack``, adding it when new."""
        sid = self._ids.get(stack)
        if sid is None:
            sid = len(self.stacks)
            self._ids[stack] = sid
            self.stacks.append(stack)
        return sid

    def resolve(self, symbols: SymbolTable) -> list[tuple[str, ...]]:
        """Frame names, ROOT FIRST, for every stack id (index = id)."""
        return [symbols.frames(stack) for stack in self.stacks]


@dataclass
class ThreadSamples:
    """One thread's samples in file order."""

    timestamps: array[int] = field(default_factory=lambda: array("q"))
    stack_ids: array[int] = field(default_factory=lambda: array("l"))
    kinds: array[int] = field(default_factory=lambda: array("b"))

    def in_time_order(self) -> Iterator[tuple[int, int, int]]:
        """(timestamp, stack id, kind) sorted by time, file order breaking ties."""
        ts, sids, kinds = self.timestamps, self.stack_ids, self.kinds
        if all(ts[i] <= ts[i + 1] for i in range(len(ts) - 1)):
            order: range | list[int] = range(len(ts))
        else:
            order = sorted(range(len(ts)), key=ts.__getitem__)
        for i in order:
            yield ts[i], sids[i], kinds[i]


class SampleStore:
    """Samples of every thread, appended in file order."""

    def __init__(self) -> None:
        self.threads: dict[int, ThreadSamples] = {}

    def add(self, thread_id: int, timestamp: int, stack_id: int, kind: int) -> None:
        """Appends one sample record."""
        records = self.threads.get(thread_id)
        if records is None:
            records = self.threads[thread_id] = ThreadSamples()
        records.timestamps.append(timestamp)
        records.stack_ids.append(stack_id)
        records.kinds.append(kind)

    def __len__(self) -> int:
        return sum(len(t.timestamps) for t in self.threads.values())
