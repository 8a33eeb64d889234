"""A trace whose stacks carry real method names of a fetched repository (Dekaf, nats.net,
npgsql).

The names come from ``tests/fixtures/judged_frames*.json`` (names only, no code): for Dekaf 60
methods of its producer, consumer, networking and protocol code; for nats.net 26 of its read
loop, protocol parser, subscription dispatch, publish, request and JetStream paths; for npgsql
29 of its read and write buffers, connector message loop, command execution, data reader,
int/text converters and connection pool (local functions and ``bool async`` state machines
among them). They are spelled as traces spell them (async methods as state machines, generic
types with their arity and ``__Canon`` instantiations), with the types some of them create (as
the runtime names them), the ones that take a lock, and for some the stored frame that calls
them (``calls``: caller, callee; the source's call, its samples under that caller, as a trace
of the path those frames run on would show them). The project's own trace writer records
CPU samples with a long-tailed share per method, allocation ticks at those sites (per message or
per batch, as stored), and lock waits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.analysis.synthetic import SyntheticTrace

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FRAMES_FILE = FIXTURES / "judged_frames.json"
FRAMES_FILES = (
    FRAMES_FILE,
    FIXTURES / "judged_frames_nats.json",
    FIXTURES / "judged_frames_npgsql.json",
)
"""One per judged repository: Dekaf, nats.net, npgsql."""
MAIN = "Dekaf.StressTests!Dekaf.StressTests.Program.Main(class System.String[])"
MEMMOVE = "System.Private.CoreLib!System.Buffer.Memmove(uint8&,uint8&,native unsigned int)"
MESSAGES = 100_000
SAMPLES = 3_000
TICK = 10_000  # 1 ms at 10 MHz


def spec(frames_file: Path = FRAMES_FILE) -> dict[str, Any]:
    """The stored names: repo, commit, frames, allocation sites (frame, type, object size,
    per message?), lock sites, direct calls between stored frames (``calls``);
    ``target_prefix``, the ``main`` frame and ``hot_methods`` (how many hot methods
    check_guidelines is run on) where not Dekaf's."""
    data: dict[str, Any] = json.loads(frames_file.read_text())
    data.setdefault("target_prefix", "Dekaf.")
    data.setdefault("main", MAIN)
    return data


def _callers_of(name: str, callers: dict[str, str]) -> list[str]:
    """The stored frames above ``name``, outermost first."""
    chain: list[str] = []
    while name in callers and callers[name] not in chain:
        name = callers[name]
        chain.insert(0, name)
    return chain


def write_real_trace(path: Path, frames_file: Path = FRAMES_FILE) -> Path:
    """Writes the trace: samples, allocations and lock waits over the real method names."""
    data = spec(frames_file)
    main: str = data["main"]
    names: list[str] = data["frames"]
    callers: dict[str, str] = {callee: caller for caller, callee in data.get("calls", [])}
    weights = [1.0 / (1 + (i * 7) % len(names)) for i in range(len(names))]
    total = sum(weights)
    with SyntheticTrace(path) as trace:
        ts = 0
        for i, name in enumerate(names):
            for n in range(round(SAMPLES * weights[i] / total)):
                ts += TICK
                stack = (main, *_callers_of(name, callers), name)
                trace.sample(1, ts, (*stack, MEMMOVE) if n % 5 == 4 else stack)
        for name, type_name, size, per_message in data["allocations"]:
            ticks = 40 if per_message else 2
            amount = (MESSAGES * size // ticks) if per_message else 100_000
            for _ in range(ticks):
                ts += TICK
                trace.allocation(1, ts, (main, name), type_name, amount, size)
        for name in data["locks"]:
            for _ in range(10):
                ts += 30 * TICK
                trace.contention(2, ts, (main, name), lock_id=0x5000, owner=1)
                # 20 ms a wait, 200 ms a site: over the 1 % of the window a change is worth.
                trace.contention_stop(2, ts + 20 * TICK, 20_000_000.0)
    return path
