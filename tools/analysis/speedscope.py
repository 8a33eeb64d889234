"""Speedscope JSON: a native writer in TraceEvent's exact one-line shape, and a streaming summary.

The writer follows nettrace-format.md §16 (SpeedScopeStackSourceWriter): one evented profile
per thread, frames in first-seen order, consecutive samples sharing a frame at the same depth
merged into one open/close pair, numbers in shortest round-trip form, strings escaped like
``HttpUtility.JavaScriptStringEncode``. The summary reads any file of that shape in chunks and
never holds or returns the JSON.
"""

from __future__ import annotations

import json
import re
import struct
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from tools.analysis.model import StackSample
from tools.analysis.topn import traceevent_stack

EXPORTER = "perf-trace-analyzer@0.1.0"
SCHEMA = "https://www.speedscope.app/file-format-schema.json"
MERGE_SLACK = 1.001
PSEUDO_LEAVES = frozenset({"CPU_TIME", "UNMANAGED_CODE_TIME", "BLOCKED_TIME", "AWAIT_TIME"})

Event = tuple[str, int, float]
"""``("O"|"C", frame id, at)``."""


@dataclass
class Profile:
    """One evented profile (a thread) ready to print."""

    name: str
    events: list[Event] = field(default_factory=list)


def _escape(text: str) -> str:
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char in "\b\t\n\f\r":
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[char])
        elif code < 0x20 or char in "'<>&\u0085\u2028\u2029":
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def format_number(value: float) -> str:
    """``double.ToString("R")``: shortest round-trip, integers without ``.0``, ``E`` exponents."""
    text = repr(float(value))
    if text.endswith(".0"):
        return text[:-2]
    return text.upper() if "e" in text else text


def _profile_text(profile: Profile) -> str:
    events = ", ".join(
        f'{{ "type": "{kind}", "frame": {frame}, "at": {format_number(at)} }}'
        for kind, frame, at in profile.events
    )
    start = format_number(profile.events[0][2]) if profile.events else "0"
    end = format_number(profile.events[-1][2]) if profile.events else "0"
    return (
        f'{{ "type": "evented", "name": "{_escape(profile.name)}", "unit": "milliseconds", '
        f'"startValue": {start}, "endValue": {end}, "events": [ {events}]}}'
    )


def _head(name: str, frames: list[str], exporter: str) -> str:
    frame_part = ", ".join(f'{{ "name": "{_escape(frame)}" }}' for frame in frames)
    return (
        f'{{"exporter": "{_escape(exporter)}", "name": "{_escape(name)}", '
        f'"activeProfileIndex": 0, "$schema": "{SCHEMA}", '
        f'"shared": {{ "frames": [ {frame_part}] }}, "profiles": [ '
    )


_TAIL = "] }"


def dumps_speedscope(name: str, frames: list[str], profiles: list[Profile], exporter: str) -> str:
    """The whole document on one line, separators exactly as TraceEvent writes them."""
    return _head(name, frames, exporter) + ", ".join(map(_profile_text, profiles)) + _TAIL


def _float32(value: float) -> float:
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def _thread_events(samples: list[StackSample], frame_ids: dict[str, int]) -> list[Event]:
    events: list[Event] = []
    open_ids: list[int] = []
    last_at = 0.0
    prev_end = None
    for sample in sorted(samples, key=lambda s: s.time_ms):
        ids = [frame_ids.setdefault(frame, len(frame_ids)) for frame in traceevent_stack(sample)]
        metric = _float32(sample.weight_ms)
        keep = 0
        if prev_end is not None and prev_end[0] + prev_end[1] * MERGE_SLACK >= sample.time_ms:
            while keep < min(len(ids), len(open_ids)) and ids[keep] == open_ids[keep]:
                keep += 1
        if prev_end is not None and keep < len(open_ids):
            last_at = max(last_at, prev_end[0] + prev_end[1])
            events.extend(("C", frame, last_at) for frame in reversed(open_ids[keep:]))
        del open_ids[keep:]
        last_at = max(last_at, sample.time_ms)
        events.extend(("O", frame, last_at) for frame in ids[keep:])
        open_ids.extend(ids[keep:])
        prev_end = (sample.time_ms, metric)
    if prev_end is not None:
        last_at = max(last_at, prev_end[0] + prev_end[1])
        events.extend(("C", frame, last_at) for frame in reversed(open_ids))
    return events


def write_speedscope(
    samples: Iterable[StackSample], out_path: str | Path, *, name: str | None = None
) -> Path:
    """Writes ``samples`` as a speedscope file shaped like `dotnet-trace convert`'s output.

    Args:
        samples: thread-time samples (frames root first), e.g. ``cpu.stack_samples(trace)``.
        out_path: the file to write.
        name: the document name; default: the file name without its last extension.
    """
    path = Path(out_path)
    by_thread: dict[int, list[StackSample]] = {}
    for sample in samples:
        by_thread.setdefault(sample.thread_id, []).append(sample)
    frame_ids: dict[str, int] = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    # Frames come first in the file but are only known once every thread is walked, so each
    # profile is spooled to disk as soon as it is printed (memory stays one thread's events).
    with tempfile.TemporaryFile("w+b", dir=path.parent) as spool:
        placed: list[tuple[float, int, int]] = []
        for tid in list(by_thread):
            events = _thread_events(by_thread.pop(tid), frame_ids)
            if events:
                start = spool.tell()
                spool.write(_profile_text(Profile(f"Thread ({tid})", events)).encode("utf-8"))
                placed.append((events[0][2], start, spool.tell()))
        doc_name = name if name is not None else path.name.rsplit(".", 1)[0]
        with path.open("wb") as out:
            out.write(_head(doc_name, list(frame_ids), EXPORTER).encode("utf-8"))
            for index, (_, start, end) in enumerate(sorted(placed)):
                spool.seek(start)
                out.write((b", " if index else b"") + spool.read(end - start))
            out.write(_TAIL.encode("utf-8"))
    return path


class FrameTime(BaseModel):
    """Time credited to one frame."""

    name: str = Field(description="Frame name (module!method).")
    ms: float = Field(description="Milliseconds.")
    percent: float = Field(description="Share of all thread time in the file.")


class ThreadTime(BaseModel):
    """Totals of one profile (thread)."""

    name: str = Field(description="Profile name, e.g. 'Thread (1234)'.")
    total_ms: float = Field(description="Time with any frame open.")
    cpu_ms: float = Field(description="Time under a CPU_TIME leaf.")


class SpeedscopeSummary(BaseModel):
    """A compact view of a speedscope file (never the JSON itself)."""

    frames: int = Field(description="Distinct frames.")
    total_ms: float = Field(description="Sum of thread time over all profiles.")
    top_self: list[FrameTime] = Field(description="Frames by self time (pseudo leaves folded).")
    top_inclusive: list[FrameTime] = Field(description="Frames by inclusive time.")
    threads: list[ThreadTime] = Field(description="Per-thread totals, busiest first.")


_TOKEN = re.compile(
    r'\{\s*"type":\s*"(?P<kind>[OC])",\s*"frame":\s*(?P<frame>\d+),\s*"at":\s*(?P<at>[-+0-9.eE]+)'
    r'\s*\}|"type":\s*"evented",\s*"name":\s*"(?P<profile>(?:[^"\\]|\\.)*)"'
    r'|\{\s*"name":\s*"(?P<fname>(?:[^"\\]|\\.)*)"\s*\}'
)
_CHUNK = 1 << 20
_KEEP = 1 << 16


def _tokens(path: Path) -> Iterator[re.Match[str]]:
    with path.open("r", encoding="utf-8") as stream:
        buffer = ""
        while True:
            chunk = stream.read(_CHUNK)
            buffer += chunk
            limit = len(buffer) if not chunk else len(buffer) - _KEEP
            consumed = 0
            for match in _TOKEN.finditer(buffer):
                if match.end() > limit:
                    break
                consumed = match.end()
                yield match
            if not chunk:
                return
            buffer = buffer[max(consumed, 0) :] if consumed else buffer[-_KEEP * 2 :]


@dataclass
class _Totals:
    names: list[str] = field(default_factory=list)
    self_ms: dict[int, float] = field(default_factory=dict)
    incl_ms: dict[int, float] = field(default_factory=dict)
    threads: list[ThreadTime] = field(default_factory=list)


@dataclass
class _ThreadWalk:
    name: str
    stack: list[tuple[int, float]] = field(default_factory=list)
    depth_of: dict[int, int] = field(default_factory=dict)
    last_at: float = 0.0
    total_ms: float = 0.0
    cpu_ms: float = 0.0


def _credit(walk: _ThreadWalk, totals: _Totals, at: float) -> None:
    """Credits the time since the last event to the innermost real frame (self time)."""
    elapsed = at - walk.last_at
    if elapsed > 0 and walk.stack:
        walk.total_ms += elapsed
        leaf = len(walk.stack) - 1
        while leaf > 0 and totals.names[walk.stack[leaf][0]] in PSEUDO_LEAVES:
            if totals.names[walk.stack[leaf][0]] == "CPU_TIME":
                walk.cpu_ms += elapsed
            leaf -= 1
        frame = walk.stack[leaf][0]
        totals.self_ms[frame] = totals.self_ms.get(frame, 0.0) + elapsed
    walk.last_at = at


def _event(walk: _ThreadWalk, totals: _Totals, kind: str, frame: int, at: float) -> None:
    _credit(walk, totals, at)
    if kind == "O":
        walk.stack.append((frame, at))
        walk.depth_of[frame] = walk.depth_of.get(frame, 0) + 1
        return
    if not walk.stack:
        return
    closed, opened = walk.stack.pop()
    walk.depth_of[closed] -= 1
    if walk.depth_of[closed] == 0:  # recursion: count only the outermost occurrence
        totals.incl_ms[closed] = totals.incl_ms.get(closed, 0.0) + at - opened


def _is_pseudo(name: str) -> bool:
    return (
        name in PSEUDO_LEAVES
        or name in ("Threads", "(Non-Activities)", "(Activities)")
        or name.startswith(("Thread (", "Process64 ", "Process32 "))
    )


def summarize_speedscope(path: str | Path, top: int = 15) -> SpeedscopeSummary:
    """Top self / inclusive frames and per-thread totals of a speedscope file, read in chunks."""
    totals = _Totals()
    walk: _ThreadWalk | None = None
    for token in _tokens(Path(path)):
        if token["kind"] is not None and walk is not None:
            _event(walk, totals, token["kind"], int(token["frame"]), float(token["at"]))
        elif token["profile"] is not None:
            if walk is not None:
                totals.threads.append(
                    ThreadTime(name=walk.name, total_ms=walk.total_ms, cpu_ms=walk.cpu_ms)
                )
            walk = _ThreadWalk(json.loads(f'"{token["profile"]}"'))
        elif token["fname"] is not None and walk is None:
            totals.names.append(json.loads(f'"{token["fname"]}"'))
    if walk is not None:
        totals.threads.append(
            ThreadTime(name=walk.name, total_ms=walk.total_ms, cpu_ms=walk.cpu_ms)
        )
    return _summary(totals, top)


def _top(values: dict[int, float], names: list[str], total: float, top: int) -> list[FrameTime]:
    ranked = sorted(
        ((ms, frame) for frame, ms in values.items() if frame < len(names)),
        key=lambda item: (-item[0], item[1]),
    )
    rows = []
    for ms, frame in ranked:
        if _is_pseudo(names[frame]):
            continue
        percent = round(ms * 100 / total, 2) if total else 0.0
        rows.append(FrameTime(name=names[frame], ms=round(ms, 3), percent=percent))
        if len(rows) == top:
            break
    return rows


def _summary(totals: _Totals, top: int) -> SpeedscopeSummary:
    total = sum(thread.total_ms for thread in totals.threads)
    threads = sorted(totals.threads, key=lambda t: -t.total_ms)
    for thread in threads:
        thread.total_ms = round(thread.total_ms, 3)
        thread.cpu_ms = round(thread.cpu_ms, 3)
    return SpeedscopeSummary(
        frames=len(totals.names),
        total_ms=round(total, 3),
        top_self=_top(totals.self_ms, totals.names, total, top),
        top_inclusive=_top(totals.incl_ms, totals.names, total, top),
        threads=threads[:top],
    )
