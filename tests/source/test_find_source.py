"""find_source: trace frame names -> the right C# file and lines, through the registry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tools.base import ToolContext
from tools.catalog import default_registry
from tools.source.find_source import FindSourceArgs, FindSourceResult, find_source

RA = "src/Dekaf/Producer/RecordAccumulator.cs"
BS = "src/Dekaf/Producer/BrokerSender.cs"
KP = "src/Dekaf/Producer/KafkaProducer.cs"
SPAN = "value class System.ReadOnlySpan`1<unsigned int8>"


def _find(ctx: ToolContext, symbol: str, max_lines: int = 80) -> FindSourceResult:
    return find_source(FindSourceArgs(symbol=symbol, max_lines=max_lines), ctx)


def test_async_state_machine_frame(
    ctx: ToolContext, line_of_text: Callable[[str, str], int]
) -> None:
    """``BrokerSender+<SendLoopAsync>d__42.MoveNext`` is the async method SendLoopAsync."""
    result = _find(ctx, "Dekaf!Dekaf.Producer.BrokerSender+<SendLoopAsync>d__42.MoveNext()")
    best = result.candidates[0]
    assert result.found and best.file == BS
    assert best.start_line == line_of_text(BS, "private async Task SendLoopAsync")
    assert best.end_line == line_of_text(BS, "GetSizeAsync() =>") - 2
    assert "static int Coalesce" in result.source
    assert f"{best.start_line} |         private async Task SendLoopAsync" in result.source


def test_generic_type_frame_with_canon_instantiation(
    ctx: ToolContext, line_of_text: Callable[[str, str], int]
) -> None:
    """``KafkaProducer`2[System.__Canon,…].ProduceAsync(!0,!1)``: both overloads, 2-arg first."""
    result = _find(
        ctx,
        "Dekaf!Dekaf.Producer.KafkaProducer`2[System.__Canon,System.__Canon].ProduceAsync(!0,!1)",
    )
    lines = [c.start_line for c in result.candidates]
    assert lines == [
        line_of_text(KP, "ProduceAsync(TKey key, TValue value)"),
        line_of_text(KP, "ProduceAsync(TKey key, TValue value, long timestamp)"),
    ]
    assert result.candidates[0].score > result.candidates[1].score


def test_overloads_ranked_by_parameter_types(
    ctx: ToolContext, line_of_text: Callable[[str, str], int]
) -> None:
    """IL parameter types pick the matching overload first; the other is still listed."""
    wide = _find(ctx, f"Dekaf!Dekaf.Producer.RecordAccumulator.TryAppend(int64,{SPAN},{SPAN})")
    narrow = _find(ctx, "Dekaf.Producer.RecordAccumulator.TryAppend(class Dekaf.ProducerRecord)")
    assert wide.candidates[0].start_line == line_of_text(RA, "public bool TryAppend(long")
    assert narrow.candidates[0].start_line == line_of_text(RA, "TryAppend(ProducerRecord")
    assert len(wide.candidates) == len(narrow.candidates) == 2


def test_lambda_local_function_nested_and_accessor_frames(
    ctx: ToolContext, line_of_text: Callable[[str, str], int]
) -> None:
    """Closure-class lambdas, local functions, nested types and get_ accessors all resolve."""
    cases = {
        "Dekaf!Dekaf.Producer.RecordAccumulator+<>c__DisplayClass12_0.<TryAppend>b__0(class "
        "Dekaf.Producer.PartitionBatch)": (RA, "public bool TryAppend(long"),
        "Dekaf!Dekaf.Producer.BrokerSender.<SendLoopAsync>g__Coalesce|42_0(int32)": (
            BS,
            "static int Coalesce",
        ),
        "Dekaf!Dekaf.Producer.BrokerSender+InFlight.Complete(int32)": (BS, "void Complete"),
        "Dekaf!Dekaf.Producer.RecordAccumulator.get_Count()": (RA, "public int Count =>"),
        "Dekaf!Dekaf.Producer.KafkaProducer`2[System.__Canon,System.__Canon]..ctor(class "
        "System.String)": (KP, "public KafkaProducer(string"),
    }
    for frame, (rel, needle) in cases.items():
        best = _find(ctx, frame).candidates[0]
        assert (best.file, best.start_line) == (rel, line_of_text(rel, needle)), frame


def test_not_found_gives_nearest_names(ctx: ToolContext) -> None:
    """A misspelt method is not found and the close names are offered."""
    result = _find(ctx, "Dekaf.Producer.RecordAccumulator.TryApend(int64)")
    assert not result.found and result.candidates == []
    assert "RecordAccumulator.TryAppend" in result.nearest


def test_source_is_bounded(ctx: ToolContext) -> None:
    """max_lines cuts a long method and says how much was left out."""
    result = _find(ctx, "RecordAccumulator.TryAppend(int64,x,y)", max_lines=5)
    body = result.source.splitlines()
    assert len(body) == 1 + 5 + 1
    assert "more lines" in body[-1]


def test_registered_and_dispatched(ctx: ToolContext) -> None:
    """The catalog offers the real tool; bad frames and escapes become is_error outcomes."""
    registry = default_registry()
    ok = registry.dispatch("find_source", {"symbol": "BrokerSender.SendLoopAsync"}, ctx)
    assert not ok.is_error
    assert json.loads(ok.text)["candidates"][0]["file"] == BS
    unresolved = registry.dispatch("find_source", {"symbol": "?!?"}, ctx)
    assert unresolved.is_error and "does not name a method" in unresolved.text


def test_index_built_once_per_run(ctx: ToolContext, repo: Path) -> None:
    """The index is cached in ctx.state: a file added later is not seen in the same run."""
    _find(ctx, "BrokerSender.SendLoopAsync")
    (repo / "src" / "Late.cs").write_text("class Late { void Added() { } }")
    assert not _find(ctx, "Late.Added").found
    assert _find(ToolContext(repo=repo), "Late.Added").found


def test_same_name_in_another_type_is_not_found(ctx: ToolContext) -> None:
    """A member that exists only in an unrelated type is listed, but not reported found."""
    result = _find(ctx, "Dekaf!Dekaf.Producer.BatchArena.TryAppend(int64)")
    assert not result.found and result.source == ""
    assert {c.signature.split("(")[0] for c in result.candidates} == {"RecordAccumulator.TryAppend"}
    assert all(c.score < 0.5 for c in result.candidates)
