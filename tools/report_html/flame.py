"""Folded stacks -> the nested tree the flame graph script draws, pruned to a bounded size."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_NODES = 20_000
"""Most nodes sent to the page; narrower frames are dropped first (their time stays in the
parent's width, so proportions stay true)."""
MIN_FRACTION = 0.0002
"""Frames under this share of the total are never drawn (under a pixel at any usual width)."""


def build_flame_tree(folded: Sequence[tuple[str, int | float]]) -> dict[str, Any]:
    """The tree ``{n, v, s, c}`` (name, inclusive, self, children) of ``folded`` stacks.

    The root is a synthetic ``all`` frame; children are sorted by name (flame graph order).
    """
    root: dict[str, Any] = {"n": "all", "v": 0.0, "s": 0.0, "k": {}}
    for stack, weight in folded:
        value = float(weight)
        if value <= 0:
            continue
        node = root
        node["v"] += value
        for name in stack.split(";"):
            child = node["k"].get(name)
            if child is None:
                child = {"n": name, "v": 0.0, "s": 0.0, "k": {}}
                node["k"][name] = child
            child["v"] += value
            node = child
        node["s"] += value
    threshold = max(root["v"] * MIN_FRACTION, _size_threshold(root))
    return _finish(root, threshold)


def _size_threshold(root: dict[str, Any]) -> float:
    """The smallest width that keeps at most MAX_NODES nodes."""
    widths: list[float] = []
    stack = [root]
    while stack:
        node = stack.pop()
        widths.append(node["v"])
        stack.extend(node["k"].values())
    if len(widths) <= MAX_NODES:
        return 0.0
    widths.sort(reverse=True)
    return widths[MAX_NODES]


def _finish(node: dict[str, Any], threshold: float) -> dict[str, Any]:
    children = [
        _finish(child, threshold)
        for _, child in sorted(node["k"].items())
        if child["v"] > threshold
    ]
    out: dict[str, Any] = {"n": node["n"], "v": _num(node["v"]), "s": _num(node["s"])}
    if children:
        out["c"] = children
    return out


def _num(value: float) -> float | int:
    return int(value) if value.is_integer() else round(value, 3)
