"""C# syntax trees (tree-sitter with the C# grammar) and the node helpers the source tools share.

Every scan (symbol index, hot-path rules, allocation sites) reads the tree, so a word inside a
comment or a string literal is never code, and a declaration's extent is the parser's, not a
guess from braces. Lines are 1-based; a node's line is its first row.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import tree_sitter_c_sharp
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

LANGUAGE = Language(tree_sitter_c_sharp.language())
_PARSER = Parser(LANGUAGE)

TYPE_DECLARATIONS = frozenset(
    {
        "class_declaration",
        "struct_declaration",
        "interface_declaration",
        "record_declaration",
        "enum_declaration",
    }
)
MEMBER_DECLARATIONS = frozenset(
    {
        "method_declaration",
        "constructor_declaration",
        "destructor_declaration",
        "property_declaration",
        "indexer_declaration",
        "local_function_statement",
    }
)
FUNCTION_NODES = MEMBER_DECLARATIONS | {"accessor_declaration"}
LAMBDAS = frozenset({"lambda_expression", "anonymous_method_expression"})
LOOPS = frozenset({"for_statement", "foreach_statement", "while_statement", "do_statement"})


# The grammar reads ``async`` only as a modifier (its README says so), while C# lets it name a
# variable: ``bool async`` parameters, ``async: true`` arguments, ``async ? a : b``. Libraries
# that share one body between sync and async callers use that everywhere, and one such use turns
# the rest of the file into an ERROR node. Where ``async`` cannot be the modifier (punctuation
# follows it, never a type, ``(`` or a name), it is parsed as an identifier of the same byte
# length, so every position stays the source's; ``text`` gives the source spelling back.
_ASYNC_NAME = re.compile(rb"\basync(?=\s*(?:[,)?;=&|!\].}]|:(?!:)))")
_ASYNC_MASK = "\u017fsyn"  # 5 bytes in UTF-8, like ``async``; a letter C# accepts in a name
_ASYNC_MASK_BYTES = _ASYNC_MASK.encode("utf-8")


def parse(text: str) -> Tree:
    """The syntax tree of C# source ``text`` (errors become ERROR nodes, never exceptions)."""
    return _PARSER.parse(_ASYNC_NAME.sub(_ASYNC_MASK_BYTES, text.encode("utf-8")))


def query(source: str) -> Query:
    """A compiled tree-sitter query in the C# grammar."""
    return Query(LANGUAGE, source)


def captures(q: Query, node: Node) -> dict[str, list[Node]]:
    """The query's captures inside ``node``, by capture name (each list in source order)."""
    found = QueryCursor(q).captures(node)
    return {name: sorted(nodes, key=lambda n: n.start_byte) for name, nodes in found.items()}


def text(node: Node | None) -> str:
    """The source text of ``node`` ("" for None)."""
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace").replace(_ASYNC_MASK, "async")


def flat(node: Node | None) -> str:
    """The node's text on one line, runs of blanks collapsed."""
    return " ".join(text(node).split())


def line(node: Node) -> int:
    """The 1-based line where ``node`` starts."""
    return node.start_point.row + 1


def end_line(node: Node) -> int:
    """The 1-based line where ``node`` ends."""
    return node.end_point.row + 1


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every descendant, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def ancestors(node: Node) -> Iterator[Node]:
    """The parents of ``node``, nearest first."""
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def inside(node: Node, outer: Node) -> bool:
    """Whether ``node`` lies within ``outer`` (inclusive)."""
    return outer.start_byte <= node.start_byte and node.end_byte <= outer.end_byte


def has_modifier(node: Node, word: str) -> bool:
    """Whether a declaration (or lambda) carries the modifier ``word`` (``static``, …)."""
    return any(c.type == "modifier" and text(c) == word for c in node.children)


def enclosing(node: Node, types: frozenset[str]) -> Node | None:
    """The nearest ancestor of one of ``types``, or None."""
    return next((a for a in ancestors(node) if a.type in types), None)


def comment_columns(tree: Tree) -> dict[int, int]:
    """Line -> byte column where the first comment on that line starts."""
    columns: dict[int, int] = {}
    for node in captures(_COMMENTS, tree.root_node).get("c", []):
        row, column = node.start_point
        columns.setdefault(row + 1, column)
    return columns


def comments(tree: Tree) -> dict[int, str]:
    """Line -> the text of the comments on that line (multi-line comments on each line)."""
    out: dict[int, str] = {}
    for node in captures(_COMMENTS, tree.root_node).get("c", []):
        body = text(node)
        for offset, part in enumerate(body.splitlines() or [body]):
            number = line(node) + offset
            out[number] = f"{out.get(number, '')} {part}".strip()
    return out


_COMMENTS = query("(comment) @c")
