"""The `dotnet-trace report <file> topN` table, computed natively and rendered byte for byte.

nettrace-format.md §15: TraceEvent's thread-time stacks with ``CPU_TIME``,
``UNMANAGED_CODE_TIME`` and ``Thread (`` frames folded into their callers, aggregated by frame
name (exclusive = leaf time, inclusive = time on the stack), names containing ``ROOT`` or
``Process`` skipped, printed by PrintReportHelper's fixed-width layout.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tools.analysis.model import StackSample

CPU_TIME = "CPU_TIME"
UNMANAGED_CODE_TIME = "UNMANAGED_CODE_TIME"
FOLDED_SUBSTRINGS = (CPU_TIME, UNMANAGED_CODE_TIME, "Thread (")
SKIPPED_SUBSTRINGS = ("ROOT", "Process")
NAME_WIDTH = 70
MEASURE_WIDTH = 20
NO_METHODS_WARNING = "[WARNING] No method calls found"

_FUNCTION = re.compile(r"(.*\..*)(\(.*\))")
_ROW = re.compile(r"(\d+)\.\s(.*?)\s+(-?[\d.,]+)%\s+(-?[\d.,]+)%\s*")


@dataclass(frozen=True)
class TopRow:
    """One row of the topN table."""

    rank: int
    name: str
    inclusive_percent: float
    exclusive_percent: float


def traceevent_stack(sample: StackSample) -> tuple[str, ...]:
    """The sample's stack as TraceEvent names it: thread pseudo frames root-side, time leaf-side.

    ``(Non-Activities) → Threads → Thread (tid) → managed frames → CPU_TIME|UNMANAGED_CODE_TIME``;
    frames a sample already carries are not added twice.
    """
    frames = sample.frames
    if not any(frame.startswith("Thread (") for frame in frames):
        frames = ("(Non-Activities)", "Threads", f"Thread ({sample.thread_id})", *frames)
    if not frames or frames[-1] not in (CPU_TIME, UNMANAGED_CODE_TIME):
        frames = (*frames, CPU_TIME if sample.managed else UNMANAGED_CODE_TIME)
    return frames


def _folded(stack: tuple[str, ...]) -> list[str]:
    return [frame for frame in stack if not any(s in frame for s in FOLDED_SUBSTRINGS)]


def topn_rows(samples: Iterable[StackSample], *, top: int, inclusive: bool) -> list[TopRow]:
    """The first ``top`` by-name rows, sorted by exclusive (or inclusive) time."""
    exclusive: dict[str, float] = {}
    inclusive_ms: dict[str, float] = {}
    total = 0.0
    for sample in samples:
        stack = _folded(traceevent_stack(sample))
        total += sample.weight_ms
        if not stack:
            continue
        exclusive[stack[-1]] = exclusive.get(stack[-1], 0.0) + sample.weight_ms
        for frame in set(stack):
            inclusive_ms[frame] = inclusive_ms.get(frame, 0.0) + sample.weight_ms
    if total <= 0:
        return []
    key = inclusive_ms if inclusive else exclusive
    ordered = sorted(key, key=lambda name: (-abs(key[name]), name))
    rows: list[TopRow] = []
    for name in ordered:
        if any(s in name for s in SKIPPED_SUBSTRINGS):
            continue
        rows.append(
            TopRow(
                rank=len(rows) + 1,
                name=format_function(name),
                inclusive_percent=inclusive_ms.get(name, 0.0) * 100 / total,
                exclusive_percent=exclusive.get(name, 0.0) * 100 / total,
            )
        )
        if len(rows) == top:
            break
    return rows


def format_function(name: str) -> str:
    """PrintReportHelper.FormatFunction: keep ``Type.Method(args)`` of ``module!Ns.Type.Method``."""
    if name == "?!?":
        return "Missing Symbol"
    match = _FUNCTION.search(name)
    if match is None:
        return name
    parts = match.group(1).split(".")
    return ".".join(parts[-2:]) + match.group(2)


def format_percent(value: float) -> str:
    """``Math.Round(value, 2).ToString() + "%"``: ``58.33%``, ``100%``, ``0%``."""
    text = repr(round(value, 2))
    return (text[:-2] if text.endswith(".0") else text) + "%"


def _fixed(text: str, width: int) -> str:
    return text[:width] if len(text) > width else text.ljust(width)


def render_topn(rows: list[TopRow], *, inclusive: bool) -> str:
    """The exact stdout of `dotnet-trace report … topN` for ``rows`` (non-verbose)."""
    if not rows:
        return NO_METHODS_WARNING
    count = len(rows)
    max_digit = math.floor(math.log10(count)) + 1
    kind = "Inclusive" if inclusive else "Exclusive"
    lines = [
        _fixed(f"Top {count} Functions ({kind})", 77)
        + " " * (max_digit - 1)
        + _fixed("Inclusive", MEASURE_WIDTH)
        + _fixed("Exclusive", MEASURE_WIDTH)
    ]
    for row in rows:
        number = f"{row.rank}." + " " * (max_digit - len(str(row.rank)) + 1)
        name = row.name.ljust(NAME_WIDTH) if len(row.name) < NAME_WIDTH else row.name[:NAME_WIDTH]
        lines.append(
            number
            + name
            + " " * 4
            + _fixed(format_percent(row.inclusive_percent), MEASURE_WIDTH)
            + _fixed(format_percent(row.exclusive_percent), MEASURE_WIDTH)
        )
    return "\n".join(lines) + "\n"


def parse_topn(text: str) -> list[TopRow]:
    """Rows parsed back from the CLI's table (comma decimal separators accepted)."""
    rows = []
    for line in text.splitlines():
        match = _ROW.fullmatch(line)
        if match is None:
            continue
        rank, name, incl, excl = match.groups()
        rows.append(
            TopRow(
                rank=int(rank),
                name=name.strip(),
                inclusive_percent=float(incl.replace(",", ".")),
                exclusive_percent=float(excl.replace(",", ".")),
            )
        )
    return rows


def topn_of_trace(path: Path, *, top: int, inclusive: bool) -> list[TopRow]:
    """The topN rows of a trace from the one fast pass ``analyze_trace`` makes.

    The pass folds thread time per stack as it reads (in parts on every core for big traces),
    so a 50 MB trace takes seconds; keeping every interval, as :func:`stack_samples` does, took
    minutes. The table only needs each stack's total time: the leaf and thread pseudo frames
    are folded away anyway.

    Raises:
        TraceFormatError: the file is not a readable trace.
    """
    from tools.analysis.parallel import default_workers, plan, scan_in_parts, scan_window

    workers = default_workers(path)
    windows = plan(path, workers)
    if windows:
        scan, _ = scan_in_parts(path, windows, workers, None)
    else:
        scan, _ = scan_window(path, None, None)
    assert scan.cpu is not None  # scan_window folds the samples
    frames = scan.stacks.resolve(scan.symbols)
    per_stack = scan.cpu.time_ms(scan.info.qpc_frequency)
    samples = (StackSample(0, 0.0, ms, frames[sid], True) for sid, ms in per_stack.items())
    return topn_rows(samples, top=top, inclusive=inclusive)
