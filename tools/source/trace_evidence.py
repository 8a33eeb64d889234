"""What the last analysed trace measured about a method that its source cannot say.

A per-message rule ("no allocation per message", "no per-message locks") names a construct, but
whether the construct runs per message is a measurement: the analysis classifies each
allocation site per message or per batch, and records the samples under each call a hot method
makes (which of its branches run). ``check_guidelines`` and the recommendations read the same
evidence, so neither contradicts what the analysis printed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tools.source.analysis_json import rows, section
from tools.source.frames import parse_frame
from tools.source.symbol_index import Symbol

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
class TraceEvidence:
    """Callee samples per target caller frame, and the allocation sites measured per batch."""

    callees: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    per_batch: tuple[BatchSite, ...] = ()

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
        return cls(callees, tuple(sites))

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
