"""The symbol index of a C# repo: types, members, ranges, what is skipped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tools.source.symbol_index import build_index

RA = "src/Dekaf/Producer/RecordAccumulator.cs"
BS = "src/Dekaf/Producer/BrokerSender.cs"
KP = "src/Dekaf/Producer/KafkaProducer.cs"


def test_methods_have_declaration_and_closing_lines(
    repo: Path, line_of_text: Callable[[str, str], int]
) -> None:
    """TryAppend spans its signature line to its closing brace (next overload follows)."""
    index = build_index(repo)
    overloads = sorted(index.by_name("TryAppend"), key=lambda s: s.start_line)
    assert [s.start_line for s in overloads] == [
        line_of_text(RA, "public bool TryAppend(long"),
        line_of_text(RA, "public bool TryAppend(ProducerRecord"),
    ]
    assert overloads[0].end_line == overloads[1].start_line - 2
    assert overloads[0].params == ("long", "ReadOnlySpan<byte>", "ReadOnlySpan<byte>")
    assert overloads[0].namespace == "Dekaf.Producer"


def test_generic_nested_and_local_declarations(
    repo: Path, line_of_text: Callable[[str, str], int]
) -> None:
    """Generic arity, nested types and local functions are recorded with their owners."""
    index = build_index(repo)
    produce = index.by_name("ProduceAsync")
    assert {s.types for s in produce} == {("KafkaProducer`2",)}
    (complete,) = index.by_name("Complete")
    assert complete.types == ("BrokerSender", "InFlight")
    (coalesce,) = index.by_name("Coalesce")
    assert coalesce.kind == "local_function" and coalesce.parent == "SendLoopAsync"
    assert "DeliveryReport" in index.struct_names
    (ctor,) = [s for s in index.by_name(".ctor") if s.file == KP]
    assert ctor.start_line == line_of_text(KP, "public KafkaProducer(string")


def test_build_output_and_escaping_symlinks_are_skipped(repo: Path, tmp_path: Path) -> None:
    """bin/ is never read, and a symlink pointing outside the repo is not followed."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Secret.cs").write_text("class Secret { void Leak() { } }")
    (repo / "src" / "link").symlink_to(outside)
    index = build_index(repo)
    assert not any("/bin/" in f or f.startswith("bin/") for f in index.files)
    assert index.by_name("Leak") == []
    assert len(index.by_name("TryAppend")) == 2  # not the bin/ copy


def test_expression_bodied_members_and_properties(
    repo: Path, line_of_text: Callable[[str, str], int]
) -> None:
    """``=>`` members and properties are indexed with one-line ranges."""
    index = build_index(repo)
    (count,) = index.by_name("Count")
    assert count.kind == "property" and count.start_line == count.end_line
    (fire,) = index.by_name("FireAsync")
    assert fire.start_line == line_of_text(KP, "public void FireAsync")
    assert fire.end_line == fire.start_line


def test_symlink_loops_end(repo: Path) -> None:
    """A folder symlink back to an ancestor inside the repo is scanned once, not forever."""
    (repo / "src" / "Dekaf" / "loop").symlink_to(repo / "src")
    index = build_index(repo)
    assert len(index.by_name("SendLoopAsync")) == 1
