"""Property: banned constructs written inside comments or string literals never count."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tools.source.guidelines import scan_file
from tools.source.rules import RULES, RuleSet
from tools.source.symbol_index import SymbolIndex, add_file

SNIPPETS = [
    "lock (gate) { }",
    "task.Result",
    "x.Wait()",
    "Task.Run(() => y)",
    "items.Select(z => y).ToList()",
    "for (;;) { var b = new byte[8]; }",
    '$"{a}"',
    'string.Format("{0}", a)',
    "await Foo()",
    "yield return a;",
    "(object)a",
    "try { throw new E(); } catch { }",
    "Monitor.Enter(o)",
    "params int[] a",
    "{",
    "}",
    "'",
    "\\",
    '"',
    "*/",
    "/*",
]
ALL_RULES = RuleSet({r.id: "test" for r in RULES}, "test")


def _wrap(kind: int, text: str) -> str:
    flat = text.replace("\n", " ")
    if kind == 0:
        return "// " + flat
    if kind == 1:
        return "/* " + text.replace("*/", "* /") + " */"
    if kind == 2:
        return 'var s = "' + flat.replace("\\", "\\\\").replace('"', '\\"') + '";'
    if kind == 3:
        return 'var s = @"' + text.replace('"', '""') + '";'
    if kind == 4:
        body = text.replace('"', "'")
        return 'var s = """\n' + body + '\n""";'
    escaped = flat.replace("\\", "\\\\").replace('"', '\\"').replace("{", "{{").replace("}", "}}")
    return 'var s = $"' + escaped + '".Length;'


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.lists(st.sampled_from(SNIPPETS), max_size=6))))
def test_literals_and_comments_never_produce_findings(
    pieces: list[tuple[int, list[str]]],
) -> None:
    """Whatever the banned text, inside a comment or literal it yields no finding."""
    body = "\n".join(_wrap(kind, " ".join(words)) for kind, words in pieces)
    source = f"namespace N;\nclass C\n{{\n    void M()\n    {{\n{body}\n    }}\n}}\n"
    index = SymbolIndex(root=Path("/nonexistent"))
    add_file(index, "C.cs", source)
    findings = scan_file(index, "C.cs", ALL_RULES)
    # the interpolated form ($"…") is string formatting by itself; nothing else may appear
    assert {f.rule for f in findings} <= {"string-format"}
    assert all('$"' in f.text for f in findings)
    assert [s.name for s in index.symbols if s.kind == "method"] == ["M"]
