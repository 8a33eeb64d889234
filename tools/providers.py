"""EventPipe provider presets for `dotnet-trace collect --providers`; custom list validation.

The runtime keywords are the Dekaf repository's own (`tools/profile-stress-test.sh:79-95` at
b294b56). What differs from that script, and why:

- ``alloc`` (its ``gc``) and ``contention`` add CPU samples, as the script now does too: stacks of
  waits and allocations are read against where the CPU went.
- ``all`` (its ``full``) adds the wait-handle keyword (0x40000000000, .NET 9+, Verbose) so blocked
  threads can be explained, and leaves out ``System.Threading.Tasks.TplEventSource:0x1C3:4``: the
  native analysis reads no TPL causality events, and they grow the trace of a busy client.
"""

from __future__ import annotations

import re
from typing import Literal

from tools.errors import ToolError

Preset = Literal["cpu", "alloc", "contention", "all", "hang"]

SAMPLE_PROFILER = "Microsoft-DotNETCore-SampleProfiler"
RUNTIME = "Microsoft-Windows-DotNETRuntime"

PRESETS: dict[str, str] = {
    "cpu": SAMPLE_PROFILER,
    # GC | Type | GCHeapSurvivalAndMovement at Verbose: GCAllocationTick with stacks; CPU samples.
    "alloc": f"{RUNTIME}:0x0000000000480001:5,{SAMPLE_PROFILER}",
    # GC | Contention | Exception | Threading at Informational: ContentionStart/Stop; CPU samples.
    "contention": f"{RUNTIME}:0x000000000001C001:4,{SAMPLE_PROFILER}",
    # CPU samples + GC, allocation ticks, contention, threading and WaitHandle waits (Verbose).
    "all": f"{SAMPLE_PROFILER},{RUNTIME}:0x000004000049C001:5",
    # Hang questions only: CPU samples + contention, threading (pool growth) and WaitHandle
    # waits (Verbose), plus TplEventSource's Tasks keyword at Verbose for TaskWaitBegin/End.
    # Those cost every await a continuation wrapper and two or three events with stacks
    # (expensive at full throughput: see README for the measured overhead), so no other
    # question pays for them.
    "hang": f"{SAMPLE_PROFILER},{RUNTIME}:0x0000040000014000:5,"
    "System.Threading.Tasks.TplEventSource:0x2:5",
}
"""Preset name → the `--providers` value."""

PROVIDER_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,127}(:0x[0-9A-Fa-f]{1,16}(:[0-5])?)?")
"""One custom provider: ``Name[:0xKeywords[:Level]]`` (no key-value arguments)."""

MAX_PROVIDERS = 8
"""Custom lists longer than this are refused (the overhead would distort the measurement)."""


def providers_for(preset: str, custom: str | None) -> str:
    """The `--providers` value: the validated custom list when given, else the preset's.

    Raises:
        ToolError: an unknown preset, or a custom entry not matching ``Name[:0xKeywords[:Level]]``.
    """
    if custom is not None and custom.strip():
        return validate_providers(custom)
    if preset not in PRESETS:
        raise ToolError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[preset]


def validate_providers(value: str) -> str:
    """Checks a comma-separated custom provider list and returns it normalised (no spaces).

    Raises:
        ToolError: naming the first bad entry and the expected shape.
    """
    entries = [entry.strip() for entry in value.split(",")]
    if not entries or len(entries) > MAX_PROVIDERS:
        raise ToolError(f"give between 1 and {MAX_PROVIDERS} providers, comma-separated")
    for entry in entries:
        if not PROVIDER_PATTERN.fullmatch(entry):
            raise ToolError(
                f"invalid provider {entry!r}: expected Name[:0xKeywords[:Level]], e.g. "
                f"'{RUNTIME}:0x4000:4' (keywords in hex with 0x, level 0-5)"
            )
    return ",".join(entries)
