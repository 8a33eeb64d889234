"""Allocations from GCAllocationTick: bytes and ticks by type and by allocating stack.

Each tick stands for the ~100 KB allocated since the previous one on that heap, so byte counts
are sampled estimates. With the message count of the run, a site is called per-message when it
allocates about one of its sampled objects (or more) per message, per-batch-or-rarer when it
allocates far less than that (nettrace-format.md §10, dekaf-target.md "per-batch is fine").
"""

from __future__ import annotations

import builtins
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from tools.analysis.cpu import ranked
from tools.analysis.results import AllocationSection, AllocationSite, TypeAllocation
from tools.nettrace.payloads import allocation_tick_fields
from tools.nettrace.symbols import frame_method, method_test

SITE_FRAMES = 12
PER_MESSAGE_RATIO = 0.5
"""A site allocating at least half its typical object per message is per-message."""
PER_BATCH_RATIO = 0.05
TYPES_UNDER_FRAMES = 80
TYPES_UNDER_TYPES = 16
"""Target frames, and types under each, kept in ``AllocationSection.types_under``."""


@dataclass
class _Volume:
    bytes: int = 0
    ticks: int = 0
    object_bytes: int = 0
    sized_ticks: int = 0


UNKNOWN_TYPE = "(type unknown: GCAllocationTick < v2)"


@dataclass
class AllocationCollector:
    """Accumulates allocation ticks during the pass.

    The pass keeps one ``[bytes, ticks, object bytes, sized ticks]`` row per (stack id, type)
    in first-seen order; the per-type and per-site volumes are derived from it at the end.
    """

    pointer_size: int = 8
    rows: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    ticks: int = 0
    bytes: int = 0

    def on_tick(self, stack_id: int, payload: builtins.bytes) -> None:
        """Handles one GCAllocationTick: its interned stack id and its payload."""
        name, amount, size = allocation_tick_fields(payload, self.pointer_size)
        key = (stack_id, name or UNKNOWN_TYPE)
        self.ticks += 1
        self.bytes += amount
        rows = self.rows
        row = rows.get(key)
        if row is None:
            rows[key] = [amount, 1, size, 1] if size else [amount, 1, 0, 0]
        else:
            row[0] += amount
            row[1] += 1
            if size:
                row[2] += size
                row[3] += 1

    def merge(self, later: AllocationCollector, stack_ids: list[int]) -> None:
        """Adds the ticks of a later part of the trace (``stack_ids`` maps its stack ids)."""
        self.ticks += later.ticks
        self.bytes += later.bytes
        rows = self.rows
        for (sid, name), values in later.rows.items():
            row = rows.get((stack_ids[sid], name))
            if row is None:
                rows[(stack_ids[sid], name)] = list(values)
            else:
                for i, value in enumerate(values):
                    row[i] += value

    def volumes(self) -> tuple[dict[str, _Volume], dict[int, dict[str, _Volume]]]:
        """Volumes by type and by (site, type), each in first-seen order."""
        by_type: defaultdict[str, _Volume] = defaultdict(_Volume)
        by_site: defaultdict[int, dict[str, _Volume]] = defaultdict(dict)
        for (sid, name), (amount, ticks, object_bytes, sized) in self.rows.items():
            by_site[sid][name] = _Volume(amount, ticks, object_bytes, sized)
            volume = by_type[name]
            volume.bytes += amount
            volume.ticks += ticks
            volume.object_bytes += object_bytes
            volume.sized_ticks += sized
        return by_type, by_site

    def summarize(
        self,
        frames: list[tuple[str, ...]],
        *,
        top: int = 20,
        messages: int | None = None,
        target_prefix: str = "Dekaf.",
    ) -> AllocationSection:
        """The allocations section; sites are cut to ``top`` and their stacks to 12 frames."""
        total = self.bytes
        all_types, all_sites = self.volumes()
        types = sorted(all_types.items(), key=lambda kv: (-kv[1].bytes, kv[0]))
        by_type = [
            TypeAllocation(type=n, bytes=v.bytes, ticks=v.ticks, percent=_pct(v.bytes, total))
            for n, v in types[:top]
        ]
        site_bytes = {
            sid: sum(v.bytes for v in volumes.values()) for sid, volumes in all_sites.items()
        }
        ranked = sorted(site_bytes, key=lambda sid: (-site_bytes[sid], frames[sid]))
        sites = [
            self._site(all_sites[sid], frames[sid], messages, target_prefix) for sid in ranked[:top]
        ]
        per_message = 0
        if messages:
            per_message = sum(
                1
                for sid, volumes in all_sites.items()
                if classify_site(site_bytes[sid] / messages, volumes.values(), self.pointer_size)
                == "per-message"
            )
        return AllocationSection(
            collected=self.ticks > 0,
            ticks=self.ticks,
            bytes=total,
            by_type=by_type,
            by_site=sites,
            messages=messages,
            bytes_per_message=round(total / messages, 2) if messages else None,
            per_message_sites=per_message,
            types_under=self._types_under(frames, target_prefix),
        )

    def _types_under(self, frames: list[tuple[str, ...]], prefix: str) -> dict[str, dict[str, int]]:
        """Ticks per type under each target frame (each frame once a stack), the busiest kept."""
        if not prefix:
            return {}
        is_target = method_test(lambda method: method.startswith(prefix))
        by_stack: defaultdict[int, list[tuple[str, int]]] = defaultdict(list)
        for (sid, name), (_, ticks, _, _) in self.rows.items():
            by_stack[sid].append((name, ticks))
        under: dict[str, Counter[str]] = {}
        for sid, types in by_stack.items():
            for frame in {f for f in frames[sid] if is_target(f)}:
                counter = under.setdefault(frame, Counter())
                for name, ticks in types:
                    counter[name] += ticks
        busiest = sorted(under, key=lambda f: (-sum(under[f].values()), f))[:TYPES_UNDER_FRAMES]
        return {f: dict(ranked(under[f])[:TYPES_UNDER_TYPES]) for f in busiest}

    def _site(
        self,
        volumes: dict[str, _Volume],
        stack: tuple[str, ...],
        messages: int | None,
        prefix: str,
    ) -> AllocationSite:
        total = sum(v.bytes for v in volumes.values())
        ticks = sum(v.ticks for v in volumes.values())
        ranked = sorted(volumes, key=lambda name: -volumes[name].bytes)
        site = AllocationSite(
            frames=list(stack[-SITE_FRAMES:]),
            target_frame=first_target_frame(stack, prefix),
            types=ranked[:5],
            bytes=total,
            ticks=ticks,
            percent=_pct(total, self.bytes),
        )
        if messages:
            per_msg = total / messages
            site.bytes_per_message = round(per_msg, 3)
            site.classification = classify_site(per_msg, volumes.values(), self.pointer_size)
        return site


def first_target_frame(stack: tuple[str, ...], prefix: str) -> str | None:
    """The target-code frame closest to the leaf (the target code that allocated)."""
    if not prefix:
        return None
    for frame in reversed(stack):
        if frame_method(frame).startswith(prefix):
            return frame
    return None


def classify_site(per_message: float, volumes: Iterable[_Volume], pointer_size: int) -> str:
    """``per-message``, ``per-batch-or-rarer`` or ``unclear`` from bytes per message.

    The typical object size at the site (ObjectSize, GCAllocationTick v4) is the yardstick;
    without it, the smallest object the runtime can allocate (3 pointers) is.
    """
    sized = [v for v in volumes if v.sized_ticks]
    if sized:
        typical = sum(v.object_bytes for v in sized) / sum(v.sized_ticks for v in sized)
    else:
        typical = 3.0 * pointer_size
    ratio = per_message / typical if typical else 0.0
    if ratio >= PER_MESSAGE_RATIO:
        return "per-message"
    if ratio <= PER_BATCH_RATIO:
        return "per-batch-or-rarer"
    return "unclear"


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0
