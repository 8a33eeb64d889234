"""The C# masker: comments, strings and chars vanish; code (incl. interpolation holes) stays."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tools.source.csharp_lexer import line_of, line_starts, mask_code


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ab {}()\"$@'\\/*#\n;:,", max_size=80))
def test_mask_keeps_length_and_line_breaks(text: str) -> None:
    """Offsets and line numbers of code never move, whatever the input."""
    masked = mask_code(text)
    assert len(masked) == len(text)
    assert [i for i, c in enumerate(masked) if c == "\n"] == [
        i for i, c in enumerate(text) if c == "\n"
    ]


def test_comments_are_blanked() -> None:
    """Line, block and doc comments and directives leave no words behind."""
    src = "int a; // lock (x)\n/* Task.Run( */ int b;\n/// <c>.Result</c>\n#region lock it\n"
    masked = mask_code(src)
    assert "lock" not in masked and "Task" not in masked and "Result" not in masked
    assert "int a;" in masked and "int b;" in masked


def test_regular_verbatim_and_raw_strings_are_blanked() -> None:
    """Escapes, doubled quotes and raw quotes do not end a literal early."""
    src = (
        'var a = "x \\" lock (y)";\n'
        'var b = @"C:\\ ""quoted"" .Wait()";\n'
        'var c = """\n  "nested" Task.Run(x)\n  """;\n'
        "var d = 1;"
    )
    masked = mask_code(src)
    for word in ("lock", "Wait", "Task", "nested", "quoted"):
        assert word not in masked
    assert "var d = 1;" in masked


def test_interpolation_holes_stay_code() -> None:
    """``$"…{expr}…"``: the text goes, the hole's expression stays; formats and ``{{`` go."""
    masked = mask_code('var s = $"n={items.Count():N2} {{lock}} {Name,5} text.ToList()";')
    assert "items.Count()" in masked and "Name" in masked
    assert "N2" not in masked and "lock" not in masked and "ToList" not in masked


def test_raw_interpolated_with_double_dollar() -> None:
    """``$$\"\"\"…\"\"\"``: single braces are text, double braces open holes."""
    masked = mask_code('var s = $$"""{ "lock": {{value.Select(x)}} }""";')
    assert "value.Select(x)" in masked
    assert "lock" not in masked


def test_nested_strings_inside_holes() -> None:
    """A string inside a hole is itself masked; the hole's code around it stays."""
    masked = mask_code('var s = $"{Format("lock (a)", other)} tail";')
    assert "Format(" in masked and "other" in masked
    assert "lock" not in masked and "tail" not in masked


def test_char_literals_are_blanked() -> None:
    """Quote and brace chars cannot open a string or a block."""
    src = "var q = '\"'; var b = '{'; var e = '\\''; var z = 2;"
    masked = mask_code(src)
    assert masked.count("{") == 0
    assert "var z = 2;" in masked


def test_line_of_maps_offsets() -> None:
    """Offsets map to 1-based lines."""
    text = "a\nbb\nccc"
    starts = line_starts(text)
    assert [line_of(starts, i) for i in (0, 2, 3, 5, 7)] == [1, 2, 2, 3, 3]
