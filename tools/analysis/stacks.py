"""Compact sample records and interned stacks: what one streaming pass keeps per event.

A sample costs three array slots (timestamp, stack id, kind) instead of an ``Event``; stacks are
kept once each as IP tuples and named only at the end, because rundown (the method names)
comes last in a trace.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tools.nettrace.symbols import SymbolTable

_Append = Callable[[int], None]
KIND_ERROR, KIND_EXTERNAL, KIND_MANAGED, KIND_ALLOC = 0, 1, 2, 3
"""Sample kinds: the ThreadSample types, plus allocation ticks (TraceEvent counts them as CPU)."""


class StackInterner:
    """Maps IP tuples (leaf first) to small ids; id 0 is the empty stack."""

    def __init__(self) -> None:
        self.ids: dict[tuple[int, ...], int] = {(): 0}
        self.stacks: list[tuple[int, ...]] = [()]

    def intern(self, stack: tuple[int, ...]) -> int:
        """The id of ``stack``, adding it when new."""
        sid = self.ids.get(stack)
        if sid is None:
            sid = len(self.stacks)
            self.ids[stack] = sid
            self.stacks.append(stack)
        return sid

    def resolve(self, symbols: SymbolTable) -> list[tuple[str, ...]]:
        """Frame names, ROOT FIRST, for every stack id (index = id)."""
        names: dict[int, str] = {}
        for stack in self.stacks:
            for ip in stack:
                if ip not in names:
                    names[ip] = symbols.frame(ip)
        name = names.__getitem__
        return [tuple(map(name, reversed(stack))) for stack in self.stacks]


@dataclass
class ThreadSamples:
    """One thread's samples in file order."""

    timestamps: array[int] = field(default_factory=lambda: array("q"))
    stack_ids: array[int] = field(default_factory=lambda: array("i"))
    kinds: array[int] = field(default_factory=lambda: array("b"))

    def in_time_order(self) -> Iterator[tuple[int, int, int]]:
        """(timestamp, stack id, kind) sorted by time, file order breaking ties."""
        ts, sids, kinds = self.timestamps, self.stack_ids, self.kinds
        values = ts.tolist()
        if values == sorted(values):  # the usual case: one sampler thread writes them all
            return zip(ts, sids, kinds, strict=True)
        order = sorted(range(len(values)), key=values.__getitem__)
        return ((values[i], sids[i], kinds[i]) for i in order)

    def time_ordered(self) -> tuple[list[int], list[int], bytes]:
        """Timestamps, stack ids and kinds sorted by time, file order breaking ties."""
        values, sids = self.timestamps.tolist(), self.stack_ids.tolist()
        kinds = self.kinds.tobytes()
        if values == sorted(values):
            return values, sids, kinds
        order = sorted(range(len(values)), key=values.__getitem__)
        return (
            [values[i] for i in order],
            [sids[i] for i in order],
            bytes(map(kinds.__getitem__, order)),
        )


class SampleStore:
    """Samples of every thread, appended in file order."""

    def __init__(self) -> None:
        self.threads: dict[int, ThreadSamples] = {}
        self._appenders: dict[int, tuple[_Append, _Append, _Append]] = {}

    def add(self, thread_id: int, timestamp: int, stack_id: int, kind: int) -> None:
        """Appends one sample record."""
        add_ts, add_sid, add_kind = self.appenders(thread_id)
        add_ts(timestamp)
        add_sid(stack_id)
        add_kind(kind)

    def appenders(self, thread_id: int) -> tuple[_Append, _Append, _Append]:
        """The bound ``append`` methods of one thread's arrays (the pass's fast path)."""
        found = self._appenders.get(thread_id)
        if found is None:
            records = self.threads[thread_id] = ThreadSamples()
            found = self._appenders[thread_id] = (
                records.timestamps.append,
                records.stack_ids.append,
                records.kinds.append,
            )
        return found

    def __len__(self) -> int:
        return sum(len(t.timestamps) for t in self.threads.values())
