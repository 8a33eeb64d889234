"""Method and module tables from the JIT/rundown events, and IP → frame name lookup.

Frames are named the way TraceEvent's stack views name them (nettrace-format.md §11):
``module!Namespace.Type.Method(args)``, module = the IL file name without its extension, and
``?!?`` for an address no method covers. Rundown arrives at the end of a trace, so callers feed
every method/module event first and look addresses up afterwards.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

from tools.nettrace.payloads import MethodVerbose, ModuleInfo

UNKNOWN_FRAME = "?!?"


def method_full_name(namespace: str, name: str, signature: str) -> str:
    """``Namespace.Method(args)`` from the three strings of a MethodLoadVerbose event."""
    paren = signature.find("(")
    args = signature[paren:] if paren >= 0 else signature
    return f"{namespace}.{name}{args}" if namespace else f"{name}{args}"


def module_name(il_path: str) -> str:
    """The IL file name without directory and last extension (``System.Private.CoreLib``)."""
    base = il_path.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, _ = base.rpartition(".")
    return stem if dot and stem else base


def frame_method(frame: str) -> str:
    """The method part of ``module!Method(args)`` (the whole text when there is no ``!``)."""
    return frame.split("!", 1)[1] if "!" in frame else frame


def method_test(test: Callable[[str], bool]) -> Callable[[str], bool]:
    """``test`` of a frame's method part, remembered per frame name: stacks repeat their
    frames, and a tally over every frame of every stack asks the same names again and again."""
    cache: dict[str, bool] = {}

    def tested(frame: str) -> bool:
        hit = cache.get(frame)
        if hit is None:
            hit = cache[frame] = test(frame_method(frame))
        return hit

    return tested


class SymbolTable:
    """Code ranges of managed methods; the latest definition of a start address wins."""

    def __init__(self) -> None:
        self._methods: dict[int, tuple[int, int, str]] = {}
        self._modules: dict[int, str] = {}
        self._starts: list[int] = []
        self._frames: dict[int, str] = {}
        self._dirty = True

    @property
    def method_count(self) -> int:
        """How many distinct method start addresses are known."""
        return len(self._methods)

    def add_method(self, method: MethodVerbose) -> None:
        """Records one method code range (ignored when the payload was cut short)."""
        if method.start is None or method.size is None or method.name is None:
            return
        full = method_full_name(method.namespace or "", method.name, method.signature or "")
        self._methods[method.start] = (method.start + method.size, method.module_id or 0, full)
        self._dirty = True

    def add_module(self, module: ModuleInfo) -> None:
        """Records the IL file of one module id."""
        if module.module_id is None or not module.il_path:
            return
        self._modules[module.module_id] = module_name(module.il_path)
        self._dirty = True

    def frame(self, ip: int) -> str:
        """The frame name of an instruction pointer, ``?!?`` when no method covers it."""
        if self._dirty:
            self._starts = sorted(self._methods)
            self._frames.clear()
            self._dirty = False
        cached = self._frames.get(ip)
        if cached is not None:
            return cached
        name = self._lookup(ip)
        self._frames[ip] = name
        return name

    def frames(self, stack: tuple[int, ...]) -> tuple[str, ...]:
        """Frame names ROOT FIRST for a stack of IPs given leaf first (as the reader yields)."""
        return tuple(self.frame(ip) for ip in reversed(stack))

    def _lookup(self, ip: int) -> str:
        index = bisect.bisect_right(self._starts, ip) - 1
        if index < 0:
            return UNKNOWN_FRAME
        end, module_id, full = self._methods[self._starts[index]]
        if ip >= end:
            return UNKNOWN_FRAME
        return f"{self._modules.get(module_id, '?')}!{full}"
