"""Arguments are checked with ``re.fullmatch``: ``re.match(r"^…$")`` lets a trailing newline
through (``$`` also matches before a final ``\\n``), e.g. ``partitions: "1\\n"``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tools.base import TOOL_NAME_PATTERN, Tool, ToolContext
from tools.memory_tools import ReadMemoryArgs, ReadMemoryResult

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("agent", "tools", "memory", "prompts")


def _anchored_patterns(path: Path) -> list[str]:
    """``^…$`` literals given to re.compile/match/search without re.MULTILINE."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in ("compile", "match", "search") or not node.args:
            continue
        first = node.args[0]
        flags = ast.unparse(node)
        if (
            isinstance(first, ast.Constant)
            and isinstance(first.value, str)
            and first.value.startswith("^")
            and first.value.endswith("$")
            and "MULTILINE" not in flags
            and "re.M" not in flags
        ):
            found.append(f"{path.relative_to(REPO)}:{node.lineno}: {first.value!r}")
    return found


def test_no_pattern_is_anchored_with_caret_and_dollar() -> None:
    """Whole-string checks use fullmatch (no ``^…$`` pattern that a newline could slip past)."""
    offenders = [
        hit
        for package in PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
        for hit in _anchored_patterns(path)
    ]
    assert offenders == []


def test_the_old_idiom_really_let_a_newline_through() -> None:
    """Why the rule exists: ``$`` matches before a trailing newline."""
    assert re.match(r"^[0-9]+$", "1\n") is not None
    assert re.fullmatch(r"[0-9]+", "1\n") is None


@pytest.mark.parametrize("name", ["read_memory\n", "read memory", "x" * 65])
def test_a_tool_name_with_a_trailing_newline_is_refused(name: str) -> None:
    """Tool names the API would reject never reach a definition (``read_memory\\n`` included)."""
    assert TOOL_NAME_PATTERN.fullmatch(name) is None

    def reader(args: ReadMemoryArgs, ctx: ToolContext) -> ReadMemoryResult:
        """Reads."""
        raise NotImplementedError

    with pytest.raises(ValueError, match="invalid tool name"):
        Tool.from_function(reader, name=name)
