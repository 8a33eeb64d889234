"""Pure helpers reading C# declaration headers (token lists) for the symbol index.

A header is the tokens between the previous ``;``/``{``/``}`` and a ``{`` (or an ``=>``
statement): attributes, modifiers, a type keyword or a signature. These functions pick
names, generic arity and parameter types out of it.
"""

from __future__ import annotations

import re

TYPE_KEYWORDS = frozenset({"class", "struct", "interface", "record", "enum"})
TOKEN = re.compile(r"[A-Za-z_@][A-Za-z0-9_]*|=>|\S")


def tokenize(text: str, base: int) -> list[tuple[str, int]]:
    """(token, offset) pairs of a header slice starting at offset ``base``."""
    return [(m.group(), base + m.start()) for m in TOKEN.finditer(text)]


def strip_attributes(header: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Drops leading ``[Attribute(...)]`` groups (the main loop skipped their insides)."""
    i = 0
    while i < len(header) and header[i][0] == "[":
        depth = 0
        while i < len(header):
            if header[i][0] == "[":
                depth += 1
            elif header[i][0] == "]":
                depth -= 1
                if depth == 0:
                    i += 1
                    break
            i += 1
    return header[i:]


def type_declaration(words: list[str]) -> tuple[str, str, int] | None:
    """(keyword, name, generic arity) when the header declares a type."""
    stop = len(words)
    for marker in ("(", "where", ":"):
        if marker in words:
            stop = min(stop, words.index(marker))
    for i, word in enumerate(words[:stop]):
        if word in TYPE_KEYWORDS and i + 1 < len(words):
            j = i + 1
            if word == "record" and words[j] in ("struct", "class"):
                word = words[j]
                j += 1
            if j >= len(words) or not is_identifier(words[j]):
                return None
            return word, words[j], generic_arity(words, j + 1)
    return None


def generic_arity(words: list[str], i: int) -> int:
    if i >= len(words) or words[i] != "<":
        return 0
    depth = 0
    count = 1
    for word in words[i:]:
        if word == "<":
            depth += 1
        elif word == ">":
            depth -= 1
            if depth == 0:
                return count
        elif word == "," and depth == 1:
            count += 1
    return count


def generic_open(words: list[str], close: int) -> int:
    depth = 0
    for i in range(close, -1, -1):
        if words[i] == ">":
            depth += 1
        elif words[i] == "<":
            depth -= 1
            if depth == 0:
                return i
    return 0


def param_types(clean: list[tuple[str, int]], paren: int) -> tuple[str, ...]:
    """Parameter type texts from the parenthesised list starting at ``paren``."""
    words = [t for t, _ in clean]
    depth = 0
    current: list[str] = []
    params: list[list[str]] = []
    for word in words[paren:]:
        if word in "(<[":
            depth += 1
            if depth == 1:
                continue
        elif word in ")>]":
            depth -= 1
            if depth == 0:
                params.append(current)
                break
        elif word == "," and depth == 1:
            params.append(current)
            current = []
            continue
        current.append(word)
    return tuple(t for t in (param_type(p) for p in params) if t)


def param_type(words: list[str]) -> str:
    if "=" in words:
        words = words[: words.index("=")]
    words = [w for w in words if w not in ("this", "ref", "out", "in", "params", "scoped")]
    if len(words) >= 2 and (words[-1][0].isalpha() or words[-1][0] in "_@"):
        words = words[:-1]  # the parameter's name
    text = "".join(w if w not in (",",) else ", " for w in words)
    return text


def index_of(words: list[str], token: str) -> int | None:
    return words.index(token) if token in words else None


def arrow_index(header: list[tuple[str, int]]) -> int:
    for i, (tok, _) in enumerate(header):
        if tok == "=>":
            return i
    return len(header)


def is_identifier(word: str) -> bool:
    return bool(word) and (word[0].isalpha() or word[0] in "_@") and word not in TYPE_KEYWORDS
