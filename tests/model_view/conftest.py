"""Fixtures for what the model sees: a wide synthetic trace and the Claude adapter over a fake API.

The wide trace has what makes real big traces overflow a tool result: a hundred hot methods
with long async, generic frame names, deep allocation and lock stacks at many sites.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tools.analysis.synthetic import SyntheticTrace

METHODS = 120
TICKS_PER_MS = 10_000
THREADS = [4101 + i for i in range(8)]


def long_frame(i: int) -> str:
    """A frame as the runtime names an async method of a generic type, with its arguments."""
    return (
        f"Dekaf.Core{i % 3}!Dekaf.Producer.Internal.PartitionBatchAccumulator{i}`1"
        f"[System.__Canon]+<AppendRecordWithHeadersAsync{i}>d__{i}.MoveNext(value class "
        "System.ReadOnlyMemory`1<unsigned int8>,class System.Threading.CancellationToken,int64)"
    )


ROOT = (
    "System.Private.CoreLib!System.Threading.Thread+StartHelper.Run()",
    "System.Private.CoreLib!System.Threading.ExecutionContext.RunInternal(class System.Object)",
)


def _stack(i: int, depth: int = 18) -> tuple[str, ...]:
    return (
        ROOT
        + tuple(long_frame((i + k * 7) % METHODS) for k in range(depth, 0, -1))
        + (long_frame(i),)
    )


def write_wide_trace(path: Path) -> Path:
    """Writes the wide trace: CPU samples, allocations and contention at many sites."""
    ts = TICKS_PER_MS
    with SyntheticTrace(path) as trace:
        for i in range(METHODS):
            for n in range(METHODS - i + 1):  # every method at two samples or more
                ts += 97
                trace.sample(THREADS[n % len(THREADS)], ts, _stack(i), managed=n % 3 != 0)
        for i in range(40):
            for n in range(3):
                ts += 131
                kind = f"Dekaf.Protocol.Records.RecordHeaderCollection{i}`1[System.Byte[]]"
                trace.allocation(THREADS[n], ts, _stack(i), kind, 100_000 + i, 64)
        for i in range(25):
            tid = THREADS[i % len(THREADS)]
            ts += 211
            trace.contention(tid, ts, _stack(i), lock_id=0x5000 + i, owner=THREADS[0])
            ts += 50
            trace.contention_stop(tid, ts, 2_000_000.0 + i)
    return path


@pytest.fixture(scope="session")
def wide_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wide synthetic trace (built once per session, a few hundred KB)."""
    return write_wide_trace(tmp_path_factory.mktemp("wide") / "wide.nettrace")


def tool_use(id_: str, name: str, input_: dict[str, Any]) -> dict[str, Any]:
    """A tool_use block as the API streams it."""
    return {"type": "tool_use", "id": id_, "name": name, "input": input_}


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of the newest user message of a request body."""
    return [b for b in body["messages"][-1]["content"] if b.get("type") == "tool_result"]
