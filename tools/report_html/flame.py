"""Folded stacks -> the compact stack table the page computes every flame view from.

The page gets each distinct stack once, sorted and front-coded against the previous one (only
the frames after the shared callers are written), with frame names interned in one table. The
browser rebuilds the call tree from it and derives top-down, bottom-up, sandwich and search
exactly, so none of them is a guess from a pruned tree.

The table is bounded by MAX_PAYLOAD_CHARS however big the trace: the widest stacks are kept
whole while they fit, and the rest are cut to their leaf-side paths under one ELIDED root. A
cut stack keeps a caller while all the cut stacks sharing that leaf-side path weigh at least
a share of the total (the smallest of THRESHOLDS that fits), which is what the bottom-up view
draws of them. Every stack keeps its leaf, so self time by method (the bottom-up view's first
row) stays exact at any size and the wide bottom-up blocks are all there; only the narrow
outer callers are lost, and the page says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

MAX_PAYLOAD_CHARS = 2_000_000
"""About how many characters of JSON the stack table may take in the page."""
WHOLE_SHARE = 0.8
"""Part of the budget the widest stacks may take whole; the rest is for the truncated ones."""
THRESHOLDS = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, float("inf"))
"""Narrowest share of the total a kept leaf-side path of a cut stack may have, tried in turn
until the table fits (the last keeps only leaves)."""
ELIDED = "(outer callers of narrow stacks elided)"
"""Root frame of the stacks cut to their innermost frames."""
_NODE_CHARS = 6
"""JSON characters one new frame costs in the table (an id and a comma)."""
_MAX_MISSES = 1000
"""Stacks in a row that did not fit whole after which the rest are not tried."""
_STACK_CHARS = 14
"""JSON characters one stack costs besides its frames (two counts and a weight)."""


class StackTable(TypedDict):
    """The page's stack data.

    ``stacks`` is flat: per stack, the number of leading frames shared with the previous stack,
    the number of frames that follow, then those frames' indexes into ``names``. ``weights``
    holds one weight per stack, in order. ``elided`` is the weight of stacks cut short.
    """

    names: list[str]
    stacks: list[int]
    weights: list[float | int]
    elided: float | int


Stack = tuple[str, ...]


@dataclass
class _Pricing:
    """What the stacks added so far cost in the page: new frames, new names, stack heads.

    The trie of added prefixes is nested dicts (name -> children); it only grows with what
    is added, so its memory is bounded by the budget, not by the trace.
    """

    names: set[str] = field(default_factory=set)
    trie: dict[str, Any] = field(default_factory=dict)
    used: int = 0

    def price(self, frames: Stack) -> int:
        node, shared = self.trie, len(frames)
        for depth, name in enumerate(frames):
            child = node.get(name)
            if child is None:
                shared = depth
                break
            node = child
        # Names on the shared path were added with it; only the new tail can bring new ones.
        new_names = sum(len(name) + 3 for name in set(frames[shared:]) if name not in self.names)
        return _STACK_CHARS + _NODE_CHARS * (len(frames) - shared) + new_names

    def add(self, frames: Stack, price: int) -> None:
        node = self.trie
        for name in frames:
            node = node.setdefault(name, {})
        self.names.update(frames)
        self.used += price


def stack_table(stacks: Mapping[Stack, float], *, budget: int = MAX_PAYLOAD_CHARS) -> StackTable:
    """The stack table of ``stacks`` (see :func:`merged_stacks`), within about ``budget`` chars."""
    pricing = _Pricing()
    kept: defaultdict[Stack, float] = defaultdict(float)
    narrow = []
    whole_budget = int(budget * WHOLE_SHARE)
    ordered = sorted(stacks.items(), key=lambda item: -item[1])
    misses = 0
    for n, (frames, weight) in enumerate(ordered):
        price = pricing.price(frames)
        if pricing.used + price > whole_budget and kept:
            narrow.append((frames, weight))
            misses += 1
            if misses > _MAX_MISSES:  # the budget is spent: the rest is narrow too
                narrow += ordered[n + 1 :]
                break
            continue
        pricing.add(frames, price)
        kept[frames] = weight
        misses = 0
    cut, elided = _truncated(narrow, pricing, budget, sum(stacks.values()))
    for frames, weight in cut.items():
        kept[frames] += weight
    return _encode(kept, elided)


def merged_stacks(folded: Iterable[tuple[str, int | float]]) -> dict[Stack, float]:
    """Weight per distinct stack (frames root first); empty and non-positive ones dropped."""
    stacks: defaultdict[Stack, float] = defaultdict(float)
    for text, weight in folded:
        value = float(weight)
        if value > 0 and text:
            stacks[tuple(text.split(";"))] += value
    return dict(stacks)


def _truncated(
    narrow: Sequence[tuple[Stack, float]], kept: _Pricing, budget: int, total: float
) -> tuple[dict[Stack, float], float]:
    """The narrow stacks cut to their widest leaf-side paths, as many as keep the table in
    budget, and the weight of those that lost frames."""
    cut: dict[Stack, float] = {}
    elided = 0.0
    for share in THRESHOLDS:
        cut, elided = _cut(narrow, share * total)
        if _fits(cut, kept, budget):
            break
    return cut, elided


def _cut(
    narrow: Sequence[tuple[Stack, float]], threshold: float
) -> tuple[dict[Stack, float], float]:
    """Each stack keeps the callers of its leaf, inwards out, while the weight of all narrow
    stacks sharing that leaf-side path stays at least ``threshold`` (the leaf always stays)."""
    # A leaf-side path is named by an integer (its caller frame + the id of the path below
    # it), so extending every path by one frame costs one dict lookup, not a tuple slice.
    path_ids: dict[tuple[int, str], int] = {}
    path = [path_ids.setdefault((-1, frames[-1]), len(path_ids)) for frames, _ in narrow]
    depth = [1] * len(narrow)
    active = [i for i, (frames, _) in enumerate(narrow) if len(frames) > 1]
    while active:
        keys = [(path[i], narrow[i][0][-depth[i] - 1]) for i in active]
        weights: defaultdict[tuple[int, str], float] = defaultdict(float)
        for i, key in zip(active, keys, strict=True):
            weights[key] += narrow[i][1]
        wide = []
        for i, key in zip(active, keys, strict=True):
            if weights[key] >= threshold:
                path[i] = path_ids.setdefault(key, len(path_ids))
                depth[i] += 1
                if len(narrow[i][0]) > depth[i]:
                    wide.append(i)
        active = wide
    cut: defaultdict[Stack, float] = defaultdict(float)
    elided = 0.0
    for (frames, weight), keep in zip(narrow, depth, strict=True):
        if keep < len(frames):
            cut[(ELIDED, *frames[-keep:])] += weight
            elided += weight
        else:
            cut[frames] += weight
    return cut, elided


def _fits(cut: Mapping[Stack, float], kept: _Pricing, budget: int) -> bool:
    pricing = _Pricing(names=set(kept.names), used=kept.used)
    for frames in cut:
        pricing.add(frames, pricing.price(frames))
        if pricing.used > budget:
            return False
    return True


def _encode(stacks: Mapping[Stack, float], elided: float) -> StackTable:
    index: dict[str, int] = {}
    codes: list[int] = []
    weights: list[float | int] = []
    previous: Stack = ()
    for frames in sorted(stacks):
        shared = _shared_prefix(previous, frames)
        codes += [shared, len(frames) - shared]
        codes += [index.setdefault(name, len(index)) for name in frames[shared:]]
        weights.append(_num(stacks[frames]))
        previous = frames
    return {"names": list(index), "stacks": codes, "weights": weights, "elided": _num(elided)}


def _shared_prefix(a: Stack, b: Stack) -> int:
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared += 1
    return shared


def decode_stacks(table: StackTable) -> dict[Stack, float]:
    """The inverse of the encoding: weight per stack (what the page's script rebuilds)."""
    names, codes = table["names"], table["stacks"]
    out: dict[Stack, float] = {}
    path: list[str] = []
    i = 0
    for weight in table["weights"]:
        shared, added = codes[i], codes[i + 1]
        path = path[:shared] + [names[k] for k in codes[i + 2 : i + 2 + added]]
        i += 2 + added
        out[tuple(path)] = float(weight)
    return out


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 3)
