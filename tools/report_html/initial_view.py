"""Which flame view the page opens in: the one that shows the hottest method as one block.

A top-down flame graph draws a method once per distinct call path, so a hot leaf reached by
many paths becomes many thin slivers; the bottom-up view merges it into one block. The page
opens bottom-up when no single top-down block holds at least SPLIT_BELOW of the self time of
the hottest method by self time, and top-down otherwise (callers first is easier to read).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from tools.report_html.flame import ELIDED, Stack

SPLIT_BELOW = 0.5
"""Share of the hottest method's self time its widest top-down block must hold for top-down."""

ViewName = Literal["top-down", "bottom-up"]


@dataclass(frozen=True)
class InitialView:
    """The view the page opens in and the measurements that chose it (shares in percent)."""

    view: ViewName
    method: str | None
    """The hottest method by self time (None without samples)."""
    self_share: float
    paths: int
    """Distinct stacks ending in ``method``."""
    widest_block_share: float
    """The most of ``method``'s self time that one top-down block holds."""

    @property
    def reason(self) -> str:
        """One sentence for the page: why it opened in this view."""
        if self.method is None:
            return "Opened top-down: there are no CPU samples to rank."
        name = short_name(self.method)
        hot = f"{name}, the hottest method by self time ({self.self_share:.1f} %),"
        if self.view == "bottom-up":
            widest = self.widest_block_share
            holds = f"{widest:.1f} %" if widest >= 0.1 else "under 0.1 %"
            return (
                f"Opened bottom-up: {hot} is reached by {self.paths} distinct stacks, so "
                f"top-down splits it into slivers (the widest holds {holds}); here it is one "
                "block."
            )
        return f"Opened top-down: {hot} is one block of {self.widest_block_share:.1f} % there."


def choose_initial_view(stacks: Mapping[Stack, float]) -> InitialView:
    """The view that shows the hottest self method of ``stacks`` (weight per stack) best."""
    total = sum(stacks.values())
    self_time: defaultdict[str, float] = defaultdict(float)
    for frames, weight in stacks.items():
        self_time[frames[-1]] += weight
    self_time.pop(ELIDED, None)
    if total <= 0 or not self_time:
        return InitialView("top-down", None, 0.0, 0, 0.0)
    method = max(self_time, key=lambda name: self_time[name])
    # One distinct stack is one top-down leaf block: the widest of those ending in the method
    # is the most of its self time top-down shows in one place.
    ending = [weight for frames, weight in stacks.items() if frames[-1] == method]
    widest, paths = max(ending), len(ending)
    view: ViewName = "bottom-up" if widest < SPLIT_BELOW * self_time[method] else "top-down"
    return InitialView(view, method, 100 * self_time[method] / total, paths, 100 * widest / total)


def short_name(frame: str) -> str:
    """``mod!Ns.Type+Nested[T].Method(args)`` -> ``Type+Nested.Method`` (as the page labels it)."""
    bang, paren = frame.find("!"), frame.find("(")
    if bang >= 0 and (paren < 0 or bang < paren):
        frame = frame[bang + 1 :]
    frame = frame.split("(", 1)[0] if frame.find("(") > 0 else frame
    before = None
    while before != frame:
        before, frame = frame, re.sub(r"\[[^\[\]]*\]", "", frame)
    return ".".join(frame.split(".")[-2:])
