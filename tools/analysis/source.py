"""One streaming pass over a trace: symbols, interned stacks, compact samples, event counts.

Every analysis reads the trace through :class:`TraceScan`, which keeps only what the analyses
need (samples as array records, stacks once each, method/module tables) and hands the few
other events it is asked about to handler callbacks. Names are resolved after the pass because
rundown (the method names) comes last.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tools.analysis.stacks import KIND_ALLOC, SampleStore, StackInterner
from tools.nettrace.model import Event, EventMetadata, ReadStats, TraceFormatError, TraceInfo
from tools.nettrace.payloads import (
    RUNDOWN,
    RUNTIME,
    SAMPLER,
    MethodVerbose,
    ModuleInfo,
    decode,
)
from tools.nettrace.reader import open_trace
from tools.nettrace.symbols import SymbolTable

Key = tuple[str, int]
Handler = Callable[[Event], None]
Progress = Callable[[int], None]

SAMPLE_KEYS: frozenset[Key] = frozenset({(SAMPLER, 0)})
ALLOC_KEYS: frozenset[Key] = frozenset({(RUNTIME, 10)})
METHOD_KEYS: frozenset[Key] = frozenset(
    {(RUNTIME, 143), (RUNTIME, 144), (RUNDOWN, 143), (RUNDOWN, 144)}
)
MODULE_KEYS: frozenset[Key] = frozenset(
    {(RUNTIME, 151), (RUNTIME, 152), (RUNDOWN, 151), (RUNDOWN, 152), (RUNDOWN, 153), (RUNDOWN, 154)}
)
SYMBOL_KEYS: frozenset[Key] = METHOD_KEYS | MODULE_KEYS

_SAMPLE, _ALLOC, _SYMBOL, _OTHER, _IGNORED = range(5)
_PROGRESS_EVERY = 1 << 16
_MAX_TS, _MIN_TS = 1 << 63, -(1 << 63)


@dataclass
class TraceScan:
    """What one pass kept. Build with :meth:`run`."""

    info: TraceInfo
    stats: ReadStats
    symbols: SymbolTable = field(default_factory=SymbolTable)
    stacks: StackInterner = field(default_factory=StackInterner)
    samples: SampleStore = field(default_factory=SampleStore)
    counts: Counter[Key] = field(default_factory=Counter)
    first_ts: int | None = None
    last_ts: int | None = None
    error: str | None = None

    @property
    def duration_s(self) -> float:
        """Seconds between the first and the last event read."""
        if self.first_ts is None or self.last_ts is None:
            return 0.0
        return (self.last_ts - self.first_ts) / self.info.qpc_frequency

    @classmethod
    def run(
        cls,
        path: Path,
        keys: Collection[Key],
        *,
        with_alloc_samples: bool = False,
        setup: Callable[[TraceScan], dict[Key, Handler]] | None = None,
        count_all: bool = False,
        progress: Progress | None = None,
    ) -> TraceScan:
        """Reads ``path`` once.

        Args:
            path: the trace file.
            keys: (provider, event id) pairs to read; samples and symbol events among them are
                kept by the scan itself.
            with_alloc_samples: also record allocation ticks as on-CPU samples (TraceEvent).
            setup: called with the new scan once the header is read (pointer size, clock);
                returns callbacks for other events (contention, GC, …).
            count_all: read every event so ``counts`` covers all providers.
            progress: called now and then with the bytes read so far.

        Raises:
            TraceFormatError: not a trace, or corrupt before any usable data.
        """
        with open_trace(path) as trace:
            scan = cls(trace.info, trace.stats)
            handlers = setup(scan) if setup is not None else {}
            routes = _Router(set(keys) | set(handlers), handlers, with_alloc_samples)
            select = None if count_all else routes.selects
            try:
                scan._consume(trace.events(select=select), routes, trace.stats, progress)
            except TraceFormatError as exc:
                if not scan.counts:  # nothing usable before the damage: not a trace to us
                    raise
                scan.error = str(exc)  # keep what was read before a corrupt record
        return scan

    def _consume(
        self,
        events: Iterable[Event],
        routes: _Router,
        stats: ReadStats,
        progress: Progress | None,
    ) -> None:
        # The hot loop of the whole tool: one dict lookup per event decides what to do, and
        # samples go straight into per-thread arrays.
        by_meta: dict[int, _Route] = {}
        # The reader hands out one tuple object per distinct stack: an id() lookup is cheaper
        # than hashing 20-40 IPs, and equal stacks in other objects still meet in intern().
        by_object: dict[int, int] = {}
        held: list[tuple[int, ...]] = []
        intern = self.stacks.intern
        appenders = self.samples.appenders
        per_thread: dict[int, tuple[Callable[[int], None], ...]] = {}
        alloc_samples = routes.alloc_samples
        first, last = _MAX_TS, _MIN_TS
        countdown = _PROGRESS_EVERY
        try:
            for ev in events:
                route = by_meta.get(id(ev.metadata))
                if route is None:
                    route = by_meta[id(ev.metadata)] = routes.route(ev.metadata)
                route.count += 1
                ts = ev.timestamp
                if ts < first:
                    first = ts
                if ts > last:
                    last = ts
                kind = route.kind
                if kind == _SAMPLE:
                    payload = ev.payload
                    sample = payload[0] if payload else 0
                    stack = ev.stack
                    sid = by_object.get(id(stack))
                    if sid is None:
                        sid = by_object[id(stack)] = intern(stack)
                        held.append(stack)  # keeps id(stack) from being reused
                    rec = per_thread.get(ev.thread_id)
                    if rec is None:
                        rec = per_thread[ev.thread_id] = appenders(ev.thread_id)
                    add_ts, add_sid, add_kind = rec
                    add_ts(ts)
                    add_sid(sid)
                    add_kind(sample if sample <= 2 else 0)
                elif kind == _OTHER:
                    route.call(ev)
                elif kind == _ALLOC:
                    if route.handler is not None:
                        route.handler(ev)
                    if alloc_samples:
                        self.samples.add(ev.thread_id, ts, intern(ev.stack), KIND_ALLOC)
                elif kind == _SYMBOL:
                    self._symbol(ev)
                countdown -= 1
                if not countdown:
                    countdown = _PROGRESS_EVERY
                    if progress is not None:
                        progress(stats.bytes_read)
        finally:  # a corrupt record ends the loop early: keep what was counted
            if first <= last:
                self.first_ts, self.last_ts = first, last
            for route in by_meta.values():
                self.counts[route.key] += route.count

    def _symbol(self, ev: Event) -> None:
        decoded = decode(ev.provider, ev.event_id, ev.version, ev.payload, self.info.pointer_size)
        if isinstance(decoded, MethodVerbose):
            self.symbols.add_method(decoded)
        elif isinstance(decoded, ModuleInfo):
            self.symbols.add_module(decoded)


class _Router:
    """Decides once per metadata definition what the pass does with its events."""

    def __init__(self, wanted: set[Key], handlers: dict[Key, Handler], alloc: bool) -> None:
        self.wanted = wanted
        self.handlers = handlers
        self.alloc_samples = alloc

    def selects(self, meta: EventMetadata) -> bool:
        """The reader's ``select``: only the events some analysis uses."""
        return (meta.provider, meta.event_id) in self.wanted

    def route(self, meta: EventMetadata) -> _Route:
        """What to do with the events of one metadata definition."""
        key = (meta.provider, meta.event_id)
        handler = self.handlers.get(key)
        if key in ALLOC_KEYS and (handler is not None or self.alloc_samples):
            return _Route(_ALLOC, key, handler)
        if key not in self.wanted:
            return _Route(_IGNORED, key)
        if handler is not None:
            return _Route(_OTHER, key, handler)
        if key in SAMPLE_KEYS:
            return _Route(_SAMPLE, key)
        if key in SYMBOL_KEYS:
            return _Route(_SYMBOL, key)
        return _Route(_IGNORED, key)


class _Route:
    """The decision for one metadata definition, and how many of its events were seen."""

    __slots__ = ("kind", "key", "handler", "count")

    def __init__(self, kind: int, key: Key, handler: Handler | None = None) -> None:
        self.kind = kind
        self.key = key
        self.handler = handler
        self.count = 0

    def call(self, ev: Event) -> None:
        """Hands the event to its handler."""
        if self.handler is not None:
            self.handler(ev)
