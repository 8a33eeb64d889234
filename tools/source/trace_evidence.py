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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tree_sitter import Node

from tools.source.alloc_sites import allocation_line, clr_base
from tools.source.analysis_json import rows, section
from tools.source.branch_heat import cold_branch
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

    def callee_samples(self, symbol: Symbol) -> Counter[str]:
        """Samples under ``symbol``'s frames per called name (a constructor by its type's
        name), overloads together."""
        out: Counter[str] = Counter()
        for caller, called in self.callees.items():
            if isinstance(called, Mapping) and names_symbol(caller, symbol):
                for frame, samples in called.items():
                    name = _called(frame)
                    if name and isinstance(samples, int):
                        out[name] += samples
        return out

    def batch_sites(self, symbol: Symbol) -> list[BatchSite]:
        """The per-batch allocation sites whose deepest target frame is ``symbol``."""
        return [s for s in self.per_batch if names_symbol(s.frame, symbol)]

    def discount(
        self, index: SymbolIndex, symbol: Symbol, method: Node, line: int, rule: str
    ) -> str:
        """Why this trace shows the construct of ``rule`` at ``line`` of ``symbol`` (its
        ``method`` node) not running per message, or "": an allocation measured per batch, a
        type never sampled there, a branch shown cold."""
        for site in self.batch_sites(symbol):
            if allocation_line(index, symbol, site.type_name) == (line, rule):
                per_message = site.bytes_per_message
                amount = f" ({per_message:g} B/message)" if per_message is not None else ""
                what = clr_base(site.type_name)
                return f"the trace measured this {what} allocation per batch or rarer{amount}"
        created = _created_type(method, line)
        if created and rule in ALLOCATION_RULES:
            absent = self.never_allocated(symbol, created)
            if absent:
                return absent
        samples = self.callee_samples(symbol)
        return (cold_branch(method, line, samples) or "") if samples else ""

    def never_allocated(self, symbol: Symbol, type_name: str) -> str:
        """Why the trace shows ``symbol`` not allocating ``type_name`` (a C# name, ``Foo`` or
        ``Foo<T>``) per message, or "": no tick of that type with it on the stack, where one
        object of the smallest size per message would have given at least
        :data:`MIN_EXPECTED_TICKS`."""
        sampling = self.sampling
        if sampling is None or sampling.ticks_if_per_message() < MIN_EXPECTED_TICKS:
            return ""
        wanted = type_name.split("<", 1)[0].rsplit(".", 1)[-1]
        under = [t for f, t in self.types_under.items() if names_symbol(f, symbol)]
        if not under or any(_type_named(t, wanted) for types in under for t in types):
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


def _type_named(runtime_name: str, wanted: str) -> bool:
    """Whether a runtime type name (``Npgsql.Pool`1[X]``, ``A+B``) names the C# type ``wanted``."""
    if runtime_name.endswith("]") and runtime_name.rstrip("],").endswith("["):
        return False  # an array of it (``Foo[]``, ``Foo[,]``) is another object
    base = runtime_name.split("[", 1)[0].split("`", 1)[0]
    return base.rsplit(".", 1)[-1].rsplit("+", 1)[-1] == wanted


def names_symbol(frame: str, symbol: Symbol) -> bool:
    """Whether a frame names ``symbol``'s member of ``symbol``'s type (state machines too)."""
    ref = parse_frame(frame)
    owner = symbol.types[-1].split("`", 1)[0] if symbol.types else ""
    return ref is not None and ref.method == symbol.name and ref.qualifier[-1:] == (owner,)


def _called(frame: str) -> str:
    ref = parse_frame(frame)
    if ref is None:
        return ""
    if ref.method == ".ctor":
        return ref.qualifier[-1] if ref.qualifier else ""
    return ref.method
