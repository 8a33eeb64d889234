"""What the last analysed trace measured about a method that its source cannot say.

A per-message rule ("no allocation per message", "no per-message locks") names a construct, but
whether the construct runs per message is a measurement: the analysis classifies each
allocation site per message or per batch, records the samples under each call a hot method
makes (which of its branches run) and the types allocated with each target method on the stack
(what it was never seen allocating). ``check_guidelines`` and the recommendations read the same
evidence, so neither contradicts what the analysis printed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tree_sitter import Node

from tools.source.alloc_sites import allocation_line, clr_base
from tools.source.analysis_json import rows, section
from tools.source.branch_heat import cold_branch
from tools.source.find_source import resolve
from tools.source.frames import parse_frame
from tools.source.symbol_index import Symbol, SymbolIndex
from tools.source.syntax import text, walk

EVIDENCE_STATE_KEY = "trace_evidence"
"""``ctx.state`` key of the last analysis's :class:`TraceEvidence` (set by ``analyze_trace``)."""

PER_BATCH = "per-batch-or-rarer"


@dataclass(frozen=True)
class BatchSite:
    """An allocation the analysis measured per batch or rarer, at its deepest target frame."""

    frame: str
    type_name: str
    bytes_per_message: float | None


@dataclass(frozen=True)
class AllocationSampling:
    """How finely the trace sampled allocations: a tick per ``bytes_per_tick`` allocated."""

    messages: int
    ticks: int
    bytes_per_tick: float
    pointer_size: int

    def ticks_if_per_message(self) -> float:
        """Ticks one smallest object (three pointers) per message would have produced."""
        return self.messages * 3 * self.pointer_size / self.bytes_per_tick


@dataclass(frozen=True)
class TraceEvidence:
    """Callee samples per target caller frame, the allocation sites measured per batch, and
    the types sampled under each target frame."""

    callees: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    per_batch: tuple[BatchSite, ...] = ()
    types_under: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    sampling: AllocationSampling | None = None

    @classmethod
    def of(cls, analysis: dict[str, Any]) -> TraceEvidence:
        """From an analysis as ``pta analyze --json`` writes it (missing sections: none)."""
        sites = [
            BatchSite(str(s["target_frame"]), str(t), s.get("bytes_per_message"))
            for s in rows(section(analysis, "allocations"), "by_site")
            if s.get("classification") == PER_BATCH and s.get("target_frame")
            for t in s.get("types") or []
        ]
        callees = section(section(analysis, "cpu"), "callees")
        allocations = section(analysis, "allocations")
        types_under = section(allocations, "types_under")
        return cls(callees, tuple(sites), types_under, _sampling(analysis))

    def for_method(self, index: SymbolIndex, symbol: Symbol) -> MethodEvidence:
        """What this trace says about ``symbol``: read once, asked for each of its findings.

        A frame counts for ``symbol`` when ``symbol`` is the declaration the frame resolves to
        (as find_source resolves it), so an overload's evidence is not another's."""
        mine = _resolver(index, symbol)
        samples: Counter[str] = Counter()
        for caller, called in self.callees.items():
            if isinstance(called, Mapping) and mine(caller):
                for frame, n in called.items():
                    name = _called(frame)
                    if name and isinstance(n, int):
                        samples[name] += n
        batch = {
            allocation_line(index, symbol, site.type_name): site
            for site in self.per_batch
            if mine(site.frame)
        }
        under = [types for frame, types in self.types_under.items() if mine(frame)]
        sampled = frozenset(clr_base(t) for types in under for t in types) if under else None
        return MethodEvidence(samples, batch, sampled, self.sampling)


@dataclass(frozen=True)
class MethodEvidence:
    """One method's evidence: samples under its calls, its per-batch allocation lines, the
    types sampled allocating with it on the stack (None: it was never seen allocating)."""

    callee_samples: Mapping[str, int]
    batch_lines: Mapping[tuple[int, str] | None, BatchSite]
    types_sampled: frozenset[str] | None
    sampling: AllocationSampling | None

    def discount(self, method: Node, line: int, rule: str) -> str:
        """Why the trace shows the construct of ``rule`` at ``line`` of ``method`` not running
        per message, or "": an allocation measured per batch, a type never sampled there, a
        branch shown cold."""
        site = self.batch_lines.get((line, rule))
        if site is not None:
            per_message = site.bytes_per_message
            amount = f" ({per_message:g} B/message)" if per_message is not None else ""
            what = clr_base(site.type_name)
            return f"the trace measured this {what} allocation per batch or rarer{amount}"
        created = _created_type(method, line)
        if created and rule in ALLOCATION_RULES:
            absent = self.never_allocated(created)
            if absent:
                return absent
        samples = self.callee_samples
        return (cold_branch(method, line, samples) or "") if samples else ""

    def never_allocated(self, type_name: str) -> str:
        """Why the trace shows the method not allocating ``type_name`` (a C# name, ``Foo`` or
        ``Foo<T>``) per message, or "": no tick of that type with it on the stack, where one
        object of the smallest size per message would have given at least
        :data:`MIN_EXPECTED_TICKS`."""
        sampling = self.sampling
        if sampling is None or sampling.ticks_if_per_message() < MIN_EXPECTED_TICKS:
            return ""
        wanted = type_name.split("<", 1)[0].rsplit(".", 1)[-1]
        if self.types_sampled is None or wanted in self.types_sampled:
            return ""
        return (
            f"no {wanted} allocation sampled under this method in {sampling.ticks:,} allocation "
            f"ticks over {sampling.messages:,} messages; one per message would have given "
            f"≈{sampling.ticks_if_per_message():.0f}"
        )


ALLOCATION_RULES = frozenset({"alloc-in-loop"})
"""Rules whose construct is a ``new`` the allocation ticks can vouch for."""


def _created_type(method: Node, line: int) -> str:
    """The type the one ``new T(…)`` starting on ``line`` creates, or "" (none, or several)."""
    created = {
        text(n.child_by_field_name("type"))
        for n in walk(method)
        if n.type == "object_creation_expression" and n.start_point.row == line - 1
    }
    return created.pop() if len(created) == 1 else ""


MIN_EXPECTED_TICKS = 10.0
"""Ticks one object per message must have been expected to give before their absence counts."""


def _sampling(analysis: dict[str, Any]) -> AllocationSampling | None:
    allocations = section(analysis, "allocations")
    messages, ticks, total = (allocations.get(k) for k in ("messages", "ticks", "bytes"))
    if not (isinstance(messages, int) and isinstance(ticks, int) and isinstance(total, int)):
        return None
    if messages <= 0 or ticks <= 0 or total <= 0:
        return None
    pointer = section(analysis, "trace").get("pointer_size")
    return AllocationSampling(messages, ticks, total / ticks, pointer if pointer in (4, 8) else 8)


def _resolver(index: SymbolIndex, symbol: Symbol) -> Callable[[str], bool]:
    """Whether a frame resolves to ``symbol`` (remembered per frame)."""
    seen: dict[str, bool] = {}

    def mine(frame: str) -> bool:
        hit = seen.get(frame)
        if hit is None:
            ref = parse_frame(frame)
            named = ref is not None and (ref.local or ref.method) == symbol.name
            matches = resolve(index, ref) if named and ref is not None else []
            hit = seen[frame] = bool(matches) and matches[0].symbol is symbol
        return hit

    return mine


def _called(frame: str) -> str:
    ref = parse_frame(frame)
    if ref is None:
        return ""
    if ref.method == ".ctor":
        return ref.qualifier[-1] if ref.qualifier else ""
    return ref.method
