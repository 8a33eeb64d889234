"""Declarations the lexical index missed, written the way performance-minded C# writes them.

Each case is a frame as a trace (or a profiler's ``Type::Method`` spelling) names it, and the
line its declaration starts on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.base import ToolContext
from tools.source.find_source import FindSourceArgs, find_source
from tools.source.symbol_index import build_index

SOURCE = """\
using Microsoft.Extensions.Logging;

namespace Acme.Wire.Batching;

internal sealed partial class SlotQueue(int capacity, ILogger logger) : IDisposable
{
    private readonly Slot[] _slots = new Slot[capacity];

    private (int Count, long Bytes) DrainPartition(int partition, Span<Slot> into)
    {
        return (0, 0L);
    }

    internal static (bool Appended, int Reason)
        TryReserve(ref Slot slot, int size) => (true, size);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug,
        Message = "Slot {Index} sealed after {Bytes} bytes")]
    private static partial void LogSealed(ILogger logger, int index, long bytes);

    public async ValueTask<int> FlushAllAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        await Task.Yield();
        return Sum(total);

        static int Sum(int seed)
        {
            return seed + 1;
        }
    }

    public void Schedule(int partition)
    {
        ThreadPool.QueueUserWorkItem(_ => DrainPartition(partition, default));
    }

    public void Dispose() { }

    internal struct Slot
    {
        public void Reset() { }
    }
}

internal sealed class Pool
{
    public object Rent() => new();
}

internal sealed class Pool<T> where T : class, new()
{
    public T Rent() => new T();

    internal readonly record struct Lease(T Item, int Generation)
    {
        public bool IsStale(int current) => Generation != current;
    }
}
"""
REL = "src/Acme.Wire/Batching/SlotQueue.cs"


@pytest.fixture
def wire_repo(tmp_path: Path) -> Path:
    (tmp_path / "src" / "Acme.Wire" / "Batching").mkdir(parents=True)
    (tmp_path / REL).write_text(SOURCE)
    return tmp_path


def _line(needle: str) -> int:
    return next(n for n, line in enumerate(SOURCE.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("frame", "needle"),
    [
        (
            "Acme!Acme.Wire.Batching.SlotQueue.DrainPartition(int32,value class Span`1)",
            "DrainPartition(int",
        ),
        (
            "Acme.Wire.Batching.SlotQueue.TryReserve(value class Slot&,int32)",
            "internal static (bool",
        ),
        ("Acme!Acme.Wire.Batching.SlotQueue..ctor(int32,class ILogger)", "class SlotQueue(int"),
        (
            "Acme.Wire.Batching.SlotQueue.LogSealed(class ILogger,int32,int64)",
            "private static partial",
        ),
        ("Acme.Wire.Batching.SlotQueue+<FlushAllAsync>d__7.MoveNext()", "FlushAllAsync(Cancel"),
        ("Acme.Wire.Batching.SlotQueue.<FlushAllAsync>g__Sum|7_0(int32)", "static int Sum"),
        (
            "Acme.Wire.Batching.SlotQueue+<>c__DisplayClass8_0.<Schedule>b__0(class Object)",
            "void Schedule",
        ),
        ("Acme.Wire.Batching.SlotQueue+Slot.Reset()", "public void Reset"),
        ("Acme.Wire.Batching.Pool`1[System.__Canon].Rent()", "public T Rent"),
        ("Acme.Wire.Batching.Pool.Rent()", "public object Rent"),
        ("Acme.Wire.Batching.Pool`1+Lease[System.__Canon].IsStale(int32)", "IsStale"),
        ("Acme.Wire.Batching.SlotQueue::DrainPartition", "DrainPartition(int"),
    ],
)
def test_frame_maps_to_its_declaration(wire_repo: Path, frame: str, needle: str) -> None:
    """Tuple returns, primary constructors, [LoggerMessage] partials, async state machines,
    local functions, lambdas, nested and generic types and ``Type::Method`` all resolve."""
    result = find_source(FindSourceArgs(symbol=frame), ToolContext(repo=wire_repo))
    assert result.found, result.note
    best = result.candidates[0]
    assert (best.file, best.start_line) == (REL, _line(needle))


def test_index_records_kinds_ranges_and_value_types(wire_repo: Path) -> None:
    """The index knows the extents the tree gives, and which types are structs."""
    index = build_index(wire_repo)
    (logged,) = index.by_name("LogSealed")
    assert logged.kind == "method" and logged.end_line == logged.start_line  # no body
    assert logged.params == ("ILogger", "int", "long")
    (primary,) = [s for s in index.by_name(".ctor") if s.types == ("SlotQueue",)]
    assert primary.params == ("int", "ILogger")
    (drain,) = index.by_name("DrainPartition")
    assert drain.end_line == _line("DrainPartition(int") + 3
    (reserve,) = index.by_name("TryReserve")
    assert reserve.start_line == _line("internal static (bool")
    assert reserve.end_line == _line("TryReserve(ref Slot")
    assert {"Slot", "Lease"} <= index.struct_names
    assert {s.types for s in index.by_name("Rent")} == {("Pool",), ("Pool`1",)}
