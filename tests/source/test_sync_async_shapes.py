"""Shapes of a library that serves sync and async callers from one body, judged on a third
client (npgsql): ``bool async`` parameters the grammar could not parse, the sync overload that
unwraps a finished task, a task checked faulted before ``GetResult``, a custom awaiter, an
``async`` local function that is a frame of its own, and a lock documented as waiting out
another operation. Each beside the real breach it resembles. The C# below is written for
these tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.base import ToolContext
from tools.source.alloc_sites import POOLED_BUILDER, allocation_rule
from tools.source.analysis_json import short_type
from tools.source.find_source import resolve
from tools.source.frames import parse_frame
from tools.source.guidelines import CheckGuidelinesArgs, check_guidelines, scan_symbol
from tools.source.rules import load_rules
from tools.source.symbol_index import build_index
from tools.source.syntax import parse, text, walk

SOURCE = """\
namespace Acme.Db;

sealed class Channel
{
    readonly object _gate = new();
    readonly object _abortGate = new();
    int _pending;

    public bool Next() => Next(false).GetAwaiter().GetResult();
    public bool NextNamed() => Next(async: false).GetAwaiter().GetResult();
    public bool NextBlocking() => Next(true).GetAwaiter().GetResult(); // EXPECT: blocking-wait

    async Task<bool> Next(bool async)
    {
        var n = async ? await FillAsync().ConfigureAwait(false) : Fill();
        return n > 0;
    }

    public bool Choose(bool meta)
        => (meta ? Next(false) : Next(false)).GetAwaiter().GetResult();

    public void Send(Task sending, Task flushing)
    {
        if (sending.IsFaulted)
            sending.GetAwaiter().GetResult();
        flushing.GetAwaiter().GetResult(); // EXPECT: blocking-wait
    }

    async Task Hop(TaskScheduler scheduler)
    {
        await new SchedulerHop(scheduler);
        await FillAsync(); // EXPECT: configure-await
    }

    public void Begin()
    {
        // An abort may be under way: wait for it to complete before starting.
        lock (_abortGate)
        {
            _pending = 0;
        }
        lock (_gate) // EXPECT: lock
        {
            _pending++;
        }
    }

    public ValueTask<int> Take(int id)
    {
        return _pending > 0 ? new(id) : Slow(id);

        async ValueTask<int> Slow(int id)
        {
            while (true)
            {
                var gate = new SemaphoreSlim(0);
                await Task.Delay(1).ContinueWith(_ => gate.Release(id)).ConfigureAwait(false);
                if (id > 0) return id;
            }
        }
    }

    public int Sum(int[] items)
    {
        return Add();

        int Add()
        {
            var total = 0;
            foreach (var item in items)
                total += new Box(item).Value; // EXPECT: alloc-in-loop
            return total;
        }
    }

    Task<int> FillAsync() => Task.FromResult(1);
    int Fill() => 1;
}

sealed class Box(int value) { public int Value => value; }

readonly struct SchedulerHop(TaskScheduler scheduler) : INotifyCompletion
{
    public SchedulerHop GetAwaiter() => this;
    public bool IsCompleted => false;
    public void GetResult() { }
    public void OnCompleted(Action next) => next();
}
"""
PATH = "src/Acme.Db/Channel.cs"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    target = tmp_path / PATH
    target.parent.mkdir(parents=True)
    target.write_text(SOURCE)
    return tmp_path


def _expected() -> set[tuple[str, int]]:
    return {
        (line.split("// EXPECT: ")[1].strip(), number)
        for number, line in enumerate(SOURCE.splitlines(), start=1)
        if "// EXPECT: " in line
    }


def test_async_as_a_name_parses(repo: Path) -> None:
    """``bool async``, ``async: false`` and ``async ? a : b`` are C#: no ERROR node, the
    declarations after them are indexed at their lines, and node text reads as written."""
    tree = parse(SOURCE)
    assert not [n for n in walk(tree.root_node) if n.type == "ERROR" or n.is_missing]
    line = next(n for n, t in enumerate(SOURCE.splitlines(), 1) if "Task<bool> Next(bool" in t)
    index = build_index(repo)
    (declared,) = [s for s in index.by_name("Next") if s.params == ("bool",)]
    assert declared.start_line == line
    assert "Next(bool async)" in text(declared.node)
    assert [s.start_line for s in index.by_name("Fill")] == [SOURCE.count("\n") - 11]


def test_only_the_true_breaches_are_found(repo: Path) -> None:
    """The sync-flag unwrap, the faulted check, the custom awaiter, the documented wait and the
    async local function's body are left alone; their look-alikes are found."""
    result = check_guidelines(CheckGuidelinesArgs(symbol="Acme.Db.Channel.Next()"), ctx(repo))
    assert result.findings == []
    index = build_index(repo)
    rules = load_rules(repo)
    found = set()
    for symbol in index.symbols:
        if symbol.kind in ("method", "local_function") and symbol.name != "Slow":
            found |= {(f.rule, f.line) for f in scan_symbol(index, symbol, rules)}
    assert found == _expected()


def test_an_async_local_function_is_scanned_by_its_own_frame(repo: Path) -> None:
    """Its loop allocates and captures, but the method around it never runs that code."""
    index = build_index(repo)
    rules = load_rules(repo)
    (take,) = index.by_name("Take")
    assert scan_symbol(index, take, rules) == []
    (slow,) = index.by_name("Slow")
    assert {f.rule for f in scan_symbol(index, slow, rules)} == {
        "alloc-in-loop",
        "capturing-lambda",
    }
    whole = check_guidelines(CheckGuidelinesArgs(path=PATH), ctx(repo))
    assert {"alloc-in-loop", "capturing-lambda"} <= {f.rule for f in whole.findings}


def test_a_state_machine_frame_links_to_the_async_overload(repo: Path) -> None:
    """``<Next>d__4.MoveNext`` is the async ``Next(bool)``, not the sync ``Next()``."""
    index = build_index(repo)
    ref = parse_frame("Acme.Db!Acme.Db.Channel+<Next>d__4.MoveNext()")
    assert ref is not None
    best = resolve(index, ref)[0].symbol
    assert best.params == ("bool",)


def test_state_machine_boxes_are_named_and_advised_by_return_type() -> None:
    """A box's runtime name reads as C#; a ValueTask method is told to pool, a Task one to
    return ValueTask."""
    box = (
        "System.Runtime.CompilerServices.AsyncTaskMethodBuilder`1+AsyncStateMachineBox`1"
        "[Acme.Db.Row,Acme.Db.Channel+<Run>d__7]"
    )
    assert short_type(box) == "AsyncStateMachineBox<Row, <Run>d__7>"
    assert allocation_rule(box, "alloc-in-loop", returns="ValueTask<Row>") == POOLED_BUILDER
    assert "ValueTask" in allocation_rule(box, "alloc-in-loop", returns="Task<Row>")
    assert short_type("Acme.Pool`1[Acme.Row]") == "Pool<Row>"


def ctx(repo: Path) -> ToolContext:
    return ToolContext(repo=repo)
