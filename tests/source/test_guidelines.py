"""check_guidelines: every planted violation at its line, nothing from comments or strings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from tools.base import ToolContext
from tools.catalog import default_registry
from tools.source.guidelines import CheckGuidelinesArgs, CheckGuidelinesResult, check_guidelines
from tools.source.rules import DEFAULT_SOURCE, load_rules

RA = "src/Dekaf/Producer/RecordAccumulator.cs"
BS = "src/Dekaf/Producer/BrokerSender.cs"
KP = "src/Dekaf/Producer/KafkaProducer.cs"
Planted = Callable[[str], set[tuple[str, int]]]


def _check(ctx: ToolContext, **kwargs: str) -> CheckGuidelinesResult:
    return check_guidelines(CheckGuidelinesArgs(**kwargs), ctx)


@pytest.mark.parametrize("rel", [RA, BS, KP])
def test_file_scan_finds_exactly_the_planted_violations(
    ctx: ToolContext, planted: Planted, rel: str
) -> None:
    """Each planted (rule, line) is found; comments/strings/decoys add nothing."""
    result = _check(ctx, path=rel)
    assert {(f.rule, f.line) for f in result.findings} == planted(rel)
    assert all(f.file == rel for f in result.findings)


def test_hot_method_scan_by_trace_frame(
    ctx: ToolContext, planted: Planted, line_of_text: Callable[[str, str], int]
) -> None:
    """Scanning TryAppend by its trace name reports the planted lines inside it only."""
    result = _check(ctx, symbol="Dekaf!Dekaf.Producer.RecordAccumulator.TryAppend(int64,x,y)")
    start = line_of_text(RA, "public bool TryAppend(long")
    end = line_of_text(RA, "public bool TryAppend(ProducerRecord")
    expected = {(r, n) for r, n in planted(RA) if start <= n < end}
    assert {(f.rule, f.line) for f in result.findings} == expected
    assert {"lock", "linq", "capturing-lambda", "alloc-in-loop", "boxing"} <= {
        r for r, _ in expected
    }


def test_async_method_scan(ctx: ToolContext, planted: Planted) -> None:
    """SendLoopAsync (via its state machine frame) has the await/.Result/.Wait findings."""
    result = _check(ctx, symbol="Dekaf.Producer.BrokerSender+<SendLoopAsync>d__42.MoveNext()")
    found = {(f.rule, f.line) for f in result.findings}
    assert found == {p for p in planted(BS) if p[0] != "task-run"}


def test_findings_cite_the_claude_md_rule(ctx: ToolContext, repo: Path) -> None:
    """Each finding says why and cites the CLAUDE.md line stating the rule."""
    result = _check(ctx, path="src")
    claude = (repo / "CLAUDE.md").read_text().splitlines()
    assert result.rules_source == "CLAUDE.md"
    assert set(result.rules) == {f.rule for f in result.findings}
    for finding in result.findings:
        name, number, text = result.rules[finding.rule].split(":", 2)
        assert name == "CLAUDE.md" and text.strip() in claude[int(number) - 1]
        assert finding.why and finding.text


def test_defaults_without_claude_md(ctx: ToolContext, repo: Path, planted: Planted) -> None:
    """Without a CLAUDE.md the Dekaf rules apply, cited as the default."""
    (repo / "CLAUDE.md").unlink()
    result = _check(ctx, path=RA)
    assert result.rules_source == DEFAULT_SOURCE
    assert {(f.rule, f.line) for f in result.findings} == planted(RA)


def test_only_rules_the_claude_md_states(ctx: ToolContext, repo: Path) -> None:
    """A CLAUDE.md that bans only LINQ yields only LINQ findings."""
    (repo / "CLAUDE.md").write_text("# Rules\n- No LINQ in hot paths.\n")
    result = _check(ctx, path=RA)
    assert result.findings and {f.rule for f in result.findings} == {"linq"}


def test_tricky_literals_produce_no_findings(ctx: ToolContext, repo: Path) -> None:
    """Strings of every C# kind and comments full of banned words are not code."""
    (repo / "src" / "Decoys.cs").write_text(
        "namespace Dekaf;\n"
        "public class Decoys\n{\n"
        "    public string M(int n)\n    {\n"
        '        var a = "lock (x) { .Result; Task.Run(() => n); }";\n'
        '        var b = @"verbatim "" .Wait() "" items.Select(x => n).ToList()";\n'
        '        var c = """\n'
        '            raw $"{n}" string.Format("{0}", n) await x;\n'
        '            """;\n'
        "        var d = '\"'; var e = '{';\n"
        "        // for (;;) { new byte[1]; } await Task.Delay(1);\n"
        "        /* object o = n; throw new X(); */\n"
        "        return a + b + c + d + e;\n    }\n}\n"
    )
    result = _check(ctx, path="src/Decoys.cs")
    assert result.findings == []


def test_interpolation_hole_is_code(ctx: ToolContext, repo: Path) -> None:
    """A LINQ call inside an interpolation hole is found (holes are code), at its line."""
    (repo / "src" / "Holes.cs").write_text(
        "namespace Dekaf;\npublic class Holes\n{\n"
        "    public int[] Items = new int[3];\n"
        '    public string M() => $"""{Items.Sum()} "lock" """;\n}\n'
    )
    result = _check(ctx, path="src/Holes.cs")
    assert {(f.rule, f.line) for f in result.findings} == {("linq", 5), ("string-format", 5)}


def test_paths_outside_the_repo_are_refused(ctx: ToolContext, repo: Path, tmp_path: Path) -> None:
    """``..`` and symlinks leaving the repo are errors; nothing outside is read."""
    outside = tmp_path / "elsewhere.cs"
    outside.write_text("class E { void M() { lock (this) { } } }")
    (repo / "src" / "escape.cs").symlink_to(outside)
    registry = default_registry()
    for path in ("../elsewhere.cs", str(outside), "src/escape.cs"):
        outcome = registry.dispatch("check_guidelines", {"path": path}, ctx)
        assert outcome.is_error, path
        assert "outside the target repository" in outcome.text


def test_exactly_one_of_symbol_or_path() -> None:
    """Both or neither argument is a validation error."""
    with pytest.raises(ValidationError):
        CheckGuidelinesArgs()
    with pytest.raises(ValidationError):
        CheckGuidelinesArgs(symbol="A.B", path="src")


def test_idioms_that_are_not_violations(ctx: ToolContext, repo: Path) -> None:
    """Patterns seen in real Dekaf code that must not be flagged, beside ones that must."""
    (repo / "src" / "Idioms.cs").write_text(
        "namespace Dekaf;\npublic class Idioms\n{\n"
        "    public async ValueTask<int> M(ValueTask<int> task, Result appendResult, int a)\n"
        "    {\n"
        '        var n = Math.Min(a, 3) + string.Join(",", new[] { 1 }).Length;\n'
        "        if (task.IsCompletedSuccessfully) { n += task.Result; }\n"
        "        if (appendResult.Result) { n++; }\n"
        "        var r = await Send<Request, Response>(a, n).ConfigureAwait(false);\n"
        '        try { if (a < 0) { throw new ArgumentException($"bad {a}"); } }\n'
        "        catch (OperationCanceledException) { return 0; }\n"
        "        var t = (T)(object)r;\n"
        "        var boxed = (object)a;\n"
        "        var wait = GetAsync().Result;\n"
        "        return n + await Send<Request, Response>(a, n);\n"
        "    }\n}\n"
    )
    result = _check(ctx, path="src/Idioms.cs")
    assert {(f.rule, f.line) for f in result.findings} == {
        ("boxing", 13),
        ("blocking-wait", 14),
        ("configure-await", 15),
    }


def test_unknown_symbol_is_an_error_naming_lookalikes(ctx: ToolContext) -> None:
    """A method that is not in the repo is an is_error result, with same-named members."""
    outcome = default_registry().dispatch(
        "check_guidelines", {"symbol": "Dekaf.Producer.BatchArena.TryAppend"}, ctx
    )
    assert outcome.is_error and "RecordAccumulator.TryAppend" in outcome.text


def test_results_fit_the_tool_result_cap(ctx: ToolContext, repo: Path) -> None:
    """A file full of violations and a huge method stay under the cap; the rest is counted."""
    body = "\n".join(f"        lock (o) {{ task{i}.Wait(); }}" for i in range(400))
    head = "namespace Dekaf;\npublic class Big\n{\n    public void M(object o)\n    {\n"
    (repo / "src" / "Big.cs").write_text(head + body + "\n    }\n}\n")
    registry = default_registry()
    checked = registry.dispatch("check_guidelines", {"path": "src/Big.cs"}, ctx)
    found = registry.dispatch("find_source", {"symbol": "Big.M", "max_lines": 200}, ctx)
    assert not checked.cut and not found.cut  # the tools bound themselves; nothing was cut
    data = json.loads(checked.text)
    assert len(data["findings"]) + data["omitted"] == 800
    assert "more lines" in json.loads(found.text)["source"]


def test_a_rule_wrapped_over_two_lines_keeps_its_scope(tmp_path: Path) -> None:
    """The per-message scope on a bullet's continuation line belongs to the rule."""
    (tmp_path / "CLAUDE.md").write_text(
        "## Rules\n"
        "- Zero allocation in hot paths. Per-batch allocation is fine;\n"
        "  per-message allocation is a bug.\n"
        "- No per-message locks.\n"
    )
    rules = load_rules(tmp_path)
    assert rules.citations["alloc-in-loop"].startswith("CLAUDE.md:2: Zero allocation")
    assert "per-message allocation is a bug" in rules.citations["alloc-in-loop"]
    assert "alloc-in-loop" in rules.per_message
