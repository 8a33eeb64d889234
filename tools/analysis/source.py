"""One streaming pass over a trace: symbols, interned stacks, compact samples, event counts.

Every analysis reads the trace through :class:`TraceScan`, which keeps only what the analyses
need (samples as array records, stacks once each, method/module tables) and hands the few
other events it is asked about to handler callbacks. Names are resolved after the pass because
rundown (the method names) comes last.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from tools.analysis.stacks import KIND_ALLOC, SampleStore, StackInterner
from tools.nettrace.model import Event, EventMetadata, ReadStats, TraceInfo
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
        handlers: dict[Key, Handler] | None = None,
        count_all: bool = False,
        progress: Progress | None = None,
        stacks: StackInterner | None = None,
    ) -> TraceScan:
        """Reads ``path`` once.

        Args:
            path: the trace file.
            keys: (provider, event id) pairs to read; samples and symbol events among them are
                kept by the scan itself.
            with_alloc_samples: also record allocation ticks as on-CPU samples (TraceEvent).
            handlers: callbacks for other events (contention, GC, …).
            count_all: read every event so ``counts`` covers all providers.
            progress: called now and then with the bytes read so far.
            stacks: an interner shared with the handlers (a new one otherwise).

        Raises:
            TraceFormatError: not a trace, or corrupt before any usable data.
        """
        with open_trace(path) as trace:
            scan = cls(trace.info, trace.stats)
            if stacks is not None:
                scan.stacks = stacks
            wanted = set(keys) | set(handlers or {})
            routes = _Router(wanted, handlers or {}, with_alloc_samples)
            select = None if count_all else routes.selects
            scan._consume(trace.events(select=select), routes, trace.stats, progress)
        return scan

    def _consume(
        self,
        events: object,
        routes: _Router,
        stats: ReadStats,
        progress: Progress | None,
    ) -> None:
        by_meta: dict[int, tuple[int, Key, Handler | None]] = {}
        per_meta: Counter[int] = Counter()
        metas: dict[int, EventMetadata] = {}
        intern = self.stacks.intern
        add = self.samples.add
        first = last = None
        n = 0
        for ev in events:  # type: ignore[attr-defined]
            meta = ev.metadata
            mid = id(meta)
            route = by_meta.get(mid)
            if route is None:
                route = by_meta[mid] = routes.route(meta)
                metas[mid] = meta
            per_meta[mid] += 1
            ts = ev.timestamp
            if first is None or ts < first:
                first = ts
            if last is None or ts > last:
                last = ts
            kind = route[0]
            if kind == _SAMPLE:
                payload = ev.payload
                sample = int.from_bytes(payload[:4], "little") if len(payload) >= 4 else 0
                add(ev.thread_id, ts, intern(ev.stack), sample)
            elif kind == _OTHER:
                route[2](ev)  # type: ignore[misc]
            elif kind == _ALLOC:
                if route[2] is not None:
                    route[2](ev)
                if routes.alloc_samples:
                    add(ev.thread_id, ts, intern(ev.stack), KIND_ALLOC)
            elif kind == _SYMBOL:
                self._symbol(ev)
            n += 1
            if progress is not None and n % _PROGRESS_EVERY == 0:
                progress(stats.bytes_read)
        self.first_ts, self.last_ts = first, last
        for mid, count in per_meta.items():
            meta = metas[mid]
            self.counts[(meta.provider, meta.event_id)] += count

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

    def route(self, meta: EventMetadata) -> tuple[int, Key, Handler | None]:
        key = (meta.provider, meta.event_id)
        handler = self.handlers.get(key)
        if key in ALLOC_KEYS and (handler is not None or self.alloc_samples):
            return _ALLOC, key, handler
        if key not in self.wanted:
            return _IGNORED, key, None
        if handler is not None:
            return _OTHER, key, handler
        if key in SAMPLE_KEYS:
            return _SAMPLE, key, None
        if key in SYMBOL_KEYS:
            return _SYMBOL, key, None
        return _IGNORED, key, None
