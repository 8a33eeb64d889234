"""One streaming pass over a trace: symbols, interned stacks, compact samples, event counts.

Every analysis reads the trace through :class:`TraceScan`, which keeps only what the analyses
need (samples as array records, stacks once each, method/module tables) and hands the few
other events it is asked about to handler callbacks. Samples never become ``Event`` objects:
the reader appends them to the per-thread arrays itself (its compact path), and it counts the
events it skips, so counting every provider costs no decoding. Names are resolved after the
pass because rundown (the method names) comes last.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tools.analysis.cpu_tally import CpuTally
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
from tools.nettrace.reader import Compact, TraceFile, Window, open_trace
from tools.nettrace.symbols import SymbolTable

Key = tuple[str, int]
Handler = Callable[[Event], None]
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Rows:
    """A handler that takes ``(stack id, payload)`` per event: the reader calls it without
    building an ``Event`` (for events aggregated by stack and payload only, like allocations)."""

    handle: Callable[[int, bytes], None]


@dataclass(frozen=True)
class Local:
    """A handler run as its events are read, even in a part of the trace scanned apart (not
    deferred): its collector does not depend on event order and merges parts itself."""

    handle: Handler


AnyHandler = Handler | Rows | Local
"""What ``setup`` may return for an event key."""

SAMPLE_KEYS: frozenset[Key] = frozenset({(SAMPLER, 0)})
ALLOC_KEYS: frozenset[Key] = frozenset({(RUNTIME, 10)})
METHOD_KEYS: frozenset[Key] = frozenset(
    {(RUNTIME, 143), (RUNTIME, 144), (RUNDOWN, 143), (RUNDOWN, 144)}
)
MODULE_KEYS: frozenset[Key] = frozenset(
    {(RUNTIME, 151), (RUNTIME, 152), (RUNDOWN, 151), (RUNDOWN, 152), (RUNDOWN, 153), (RUNDOWN, 154)}
)
SYMBOL_KEYS: frozenset[Key] = METHOD_KEYS | MODULE_KEYS

_SAMPLE, _ALLOC, _SYMBOL, _OTHER, _IGNORED, _ROWS, _LOCAL = range(7)
_PROGRESS_EVERY = 1 << 22  # bytes
# ThreadSample's first payload byte is its type (0 error, 1 external, 2 managed); other values
# are treated as errors, as before.
_SAMPLE_KINDS = bytes(b if b <= 2 else 0 for b in range(256))


@dataclass
class TraceScan:
    """What one pass kept. Build with :meth:`run`."""

    info: TraceInfo
    stats: ReadStats
    symbols: SymbolTable = field(default_factory=SymbolTable)
    stacks: StackInterner = field(default_factory=StackInterner)
    samples: SampleStore = field(default_factory=SampleStore)
    cpu: CpuTally | None = None
    deferred: list[tuple[int, Event]] = field(default_factory=list)
    _router: _Router | None = field(default=None, repr=False)
    counts: Counter[Key] = field(default_factory=Counter)
    first_ts: int | None = None
    last_ts: int | None = None
    error: str | None = None

    @property
    def duration_s(self) -> float:
        """Seconds between the first and the last event read (of any provider, kept or not)."""
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
        setup: Callable[[TraceScan], dict[Key, AnyHandler]] | None = None,
        count_all: bool = False,
        progress: Progress | None = None,
        fold_samples: bool = False,
        window: Window | None = None,
        defer_events: bool = False,
    ) -> TraceScan:
        """Reads ``path`` once.

        Args:
            path: the trace file.
            keys: (provider, event id) pairs to read; samples and symbol events among them are
                kept by the scan itself.
            with_alloc_samples: also record allocation ticks as on-CPU samples (TraceEvent).
            setup: called with the new scan once the header is read (pointer size, clock);
                returns callbacks for other events (contention, GC, …), ``Rows`` for those
                that need only the stack and the payload, ``Local`` for those handled even
                while deferring.
            count_all: count every event in ``counts``, not only those of ``keys``.
            progress: called now and then with the bytes read so far.
            fold_samples: fold samples into ``cpu`` at each sequence point instead of keeping
                them in ``samples`` (flat memory; for the CPU summary).
            window: read only these blocks of the file (see ``tools.analysis.parallel``).
            defer_events: keep the events meant for handlers and symbols in ``deferred``, each
                with the number of stacks interned before it, instead of handling them (a
                part of a trace scanned apart; :meth:`replay` handles them later).

        Raises:
            TraceFormatError: not a trace, or corrupt before any usable data.
        """
        with open_trace(path) as trace:
            scan = cls(trace.info, trace.stats)
            handlers = setup(scan) if setup is not None else {}
            routes = scan._router = _Router(set(keys) | set(handlers), handlers, with_alloc_samples)
            sink: SampleStore | CpuTally = scan.samples
            if fold_samples:
                sink = scan.cpu = CpuTally(trace.info.sync_time_qpc)
            compact = Compact(
                routes.compacts,
                scan.stacks.intern,
                sink.appenders,
                _SAMPLE_KINDS,
                routes.rows,
                scan.cpu.fold if scan.cpu is not None else lambda: None,
            )
            events = trace.events(
                routes.selects,
                compact=compact,
                progress=_every(_PROGRESS_EVERY, progress),
                window=window,
            )
            try:
                if defer_events:
                    scan._defer(events)
                else:
                    scan._consume(events, routes)
            except TraceFormatError as exc:
                scan._totals(trace, routes.wanted, count_all)
                if not scan.counts:  # nothing usable before the damage: not a trace to us
                    raise
                scan.error = str(exc)  # keep what was read before a corrupt record
            else:
                scan._totals(trace, routes.wanted, count_all)
        return scan

    def _totals(self, trace: TraceFile, wanted: set[Key], count_all: bool) -> None:
        if self.cpu is not None:
            self.cpu.fold()  # the last region
        for meta, count in trace.event_counts():
            key = (meta.provider, meta.event_id)
            if count_all or key in wanted:
                self.counts[key] += count
        if trace.time_range is not None:
            self.first_ts, self.last_ts = trace.time_range

    def replay(self, events: Iterable[Event]) -> None:
        """Handles events deferred by a scan of another part of the trace, as :meth:`run` does."""
        assert self._router is not None
        self._consume(events, self._router)

    def _defer(self, events: Iterable[Event]) -> None:
        stacks = self.stacks.stacks
        assert self._router is not None
        route = self._router.route
        local: dict[int, Handler | None] = {}
        for ev in events:
            key = id(ev.metadata)
            if key not in local:
                decided = route(ev.metadata).handler
                local[key] = decided.handle if isinstance(decided, Local) else None
            handler = local[key]
            if handler is None:
                self.deferred.append((len(stacks), ev))
            else:
                handler(ev)

    def _consume(self, events: Iterable[Event], routes: _Router) -> None:
        # Samples never get here (the reader appends them itself); the events that do are the
        # few each analysis asked for: one dict lookup decides what to do with each.
        by_meta: dict[int, _Route] = {}
        intern = self.stacks.intern
        alloc_samples = routes.alloc_samples
        for ev in events:
            route = by_meta.get(id(ev.metadata))
            if route is None:
                route = by_meta[id(ev.metadata)] = routes.route(ev.metadata)
            kind, handler = route.kind, route.handler
            if kind == _OTHER:
                if callable(handler):
                    handler(ev)
            elif kind == _LOCAL and isinstance(handler, Local):
                handler.handle(ev)
            elif kind == _ALLOC:
                if isinstance(handler, Rows):
                    handler.handle(intern(ev.stack), ev.payload)
                elif callable(handler):
                    handler(ev)
                if alloc_samples:
                    self.samples.add(ev.thread_id, ev.timestamp, intern(ev.stack), KIND_ALLOC)
            elif kind == _SYMBOL:
                self._symbol(ev)

    def _symbol(self, ev: Event) -> None:
        decoded = decode(ev.provider, ev.event_id, ev.version, ev.payload, self.info.pointer_size)
        if isinstance(decoded, MethodVerbose):
            self.symbols.add_method(decoded)
        elif isinstance(decoded, ModuleInfo):
            self.symbols.add_module(decoded)


class _Router:
    """Decides once per metadata definition what the pass does with its events."""

    def __init__(self, wanted: set[Key], handlers: dict[Key, AnyHandler], alloc: bool) -> None:
        self.wanted = wanted
        self.handlers = handlers
        self.alloc_samples = alloc

    def selects(self, meta: EventMetadata) -> bool:
        """The reader's ``select``: only the events some analysis uses."""
        return (meta.provider, meta.event_id) in self.wanted

    def compacts(self, meta: EventMetadata) -> bool:
        """The reader's compact ``accept``: plain samples, appended without an Event."""
        return self.route(meta).kind == _SAMPLE

    def rows(self, meta: EventMetadata) -> Callable[[int, bytes], None] | None:
        """The reader's compact ``rows``: the ``Rows`` handler of these events, if any."""
        route = self.route(meta)
        return (
            route.handler.handle
            if isinstance(route.handler, Rows) and route.kind == _ROWS
            else None
        )

    def route(self, meta: EventMetadata) -> _Route:
        """What to do with the events of one metadata definition."""
        key = (meta.provider, meta.event_id)
        handler = self.handlers.get(key)
        if key in ALLOC_KEYS and self.alloc_samples:
            return _Route(_ALLOC, meta, handler)  # they are samples too: a whole Event each
        if isinstance(handler, Rows):
            return _Route(_ROWS, meta, handler)
        if isinstance(handler, Local):
            return _Route(_LOCAL, meta, handler)
        if key in ALLOC_KEYS and handler is not None:
            return _Route(_ALLOC, meta, handler)
        if key not in self.wanted:
            return _Route(_IGNORED, meta)
        if handler is not None:
            return _Route(_OTHER, meta, handler)
        if key in SAMPLE_KEYS:
            return _Route(_SAMPLE, meta)
        if key in SYMBOL_KEYS:
            return _Route(_SYMBOL, meta)
        return _Route(_IGNORED, meta)


class _Route:
    """The decision for one metadata definition."""

    __slots__ = ("kind", "meta", "handler")

    def __init__(self, kind: int, meta: EventMetadata, handler: AnyHandler | None = None) -> None:
        self.kind = kind
        self.meta = meta  # held so that id(meta), the routing key, is never reused
        self.handler = handler


def _every(step: int, progress: Progress | None) -> Progress | None:
    """``progress`` called at most once per ``step`` bytes (the reader reports every block)."""
    if progress is None:
        return None
    due = step

    def report(done: int) -> None:
        nonlocal due
        if done >= due:
            due = done + step
            progress(done)

    return report
