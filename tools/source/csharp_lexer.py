"""A lexical C# masker: blanks comments, string and char contents, keeping code positions.

Every later scan (symbol index, hot-path rules) works on the masked text, so a word inside a
comment or a string literal can never look like code. The masked text has the same length and
the same line breaks as the source; string delimiters and prefixes (``$``, ``@``, quotes) stay,
so "an interpolated string starts here" is still visible, and interpolation holes stay code.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field


def mask_code(text: str) -> str:
    """Returns ``text`` with comments, string/char contents and directives blanked.

    Args:
        text: C# source.

    Returns:
        A string of the same length where every non-code character is a space (line breaks are
        kept), so offsets and line numbers of the code are unchanged.
    """
    masker = _Masker(text)
    masker.code(in_hole=0)
    return "".join(masker.out)


@dataclass
class _Masker:
    """A single forward pass over the source; recursion only for interpolation holes."""

    src: str
    pos: int = 0
    out: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.out = list(self.src)

    def _blank(self, start: int, end: int) -> None:
        end = min(end, len(self.src))
        if end - start == 1:
            if self.src[start] not in "\r\n":
                self.out[start] = " "
            return
        self.out[start:end] = _NOT_NEWLINE.sub(" ", self.src[start:end])

    def code(self, *, in_hole: int) -> None:
        """Scans code; in a hole (``in_hole`` = closing braces needed) stops at its end."""
        depth = 0
        src = self.src
        special = _HOLE_SPECIAL if in_hole else _CODE_SPECIAL
        while self.pos < len(src):
            found = special.search(src, self.pos)
            if found is None:
                self.pos = len(src)
                return
            self.pos = found.start()
            ch = src[self.pos]
            if ch == "#":
                if not in_hole and _at_line_start(src, self.pos):
                    self._directive()
                else:
                    self.pos += 1
                continue
            if ch == "/" and src.startswith("//", self.pos):
                self._line_comment()
            elif ch == "/" and src.startswith("/*", self.pos):
                self._block_comment()
            elif ch == "'":
                self._char_literal()
            elif ch in '"$@' and self._string_start() is not None:
                self._string()
            elif ch == "{":
                depth += 1
                self.pos += 1
            elif ch == "}":
                if in_hole and depth == 0:
                    return
                depth -= 1
                self.pos += 1
            elif in_hole and ch in ":," and depth == 0 and self._format_clause(ch):
                return
            elif ch in "([":
                depth += 1
                self.pos += 1
            elif ch in ")]":
                depth -= 1
                self.pos += 1
            else:
                self.pos += 1

    def _format_clause(self, ch: str) -> bool:
        """A ``:`` (format) or ``,`` (alignment) at hole depth 0 ends the hole's expression.

        ``::`` (alias qualifier) is code, not a format clause.
        """
        if ch == ":" and self.src.startswith("::", self.pos):
            self.pos += 2
            return False
        return True

    def _directive(self) -> None:
        end = self.src.find("\n", self.pos)
        end = len(self.src) if end < 0 else end
        self._blank(self.pos, end)
        self.pos = end

    def _line_comment(self) -> None:
        self._directive()

    def _block_comment(self) -> None:
        end = self.src.find("*/", self.pos + 2)
        end = len(self.src) if end < 0 else end + 2
        self._blank(self.pos, end)
        self.pos = end

    def _char_literal(self) -> None:
        start = self.pos
        i = start + 1
        src = self.src
        while i < len(src) and src[i] not in "'\n":
            i += 2 if src[i] == "\\" else 1
        end = min(i, len(src))
        self._blank(start + 1, end)
        self.pos = end + 1

    def _string_start(self) -> tuple[int, bool, int, int] | None:
        """At a string start: (dollars, verbatim, quote count, offset of first quote)."""
        src = self.src
        i = self.pos
        dollars = 0
        verbatim = False
        while i < len(src) and src[i] in "$@":
            if src[i] == "$":
                dollars += 1
            elif verbatim:
                return None
            else:
                verbatim = True
            i += 1
        if i >= len(src) or src[i] != '"':
            return None
        if verbatim and dollars > 1:
            return None
        quotes = 0
        while i + quotes < len(src) and src[i + quotes] == '"':
            quotes += 1
        if quotes == 2:  # the empty string ""
            quotes = 1
        if verbatim or quotes < 3:
            quotes = 1
        return dollars, verbatim, quotes, i

    def _string(self) -> None:
        start = self._string_start()
        assert start is not None
        dollars, verbatim, quotes, first_quote = start
        self.pos = first_quote + quotes
        if quotes >= 3:
            self._raw_string_body(quotes, dollars)
        else:
            self._regular_string_body(dollars > 0, verbatim)

    def _regular_string_body(self, interpolated: bool, verbatim: bool) -> None:
        src = self.src
        special = _STRING_SPECIAL_INTERP if interpolated else _STRING_SPECIAL
        while self.pos < len(src):
            found = special.search(src, self.pos)
            end = found.start() if found else len(src)
            if end > self.pos:
                self._blank(self.pos, end)
                self.pos = end
                continue
            ch = src[self.pos]
            if ch == "\\" and not verbatim:
                self._blank(self.pos, self.pos + 2)
                self.pos += 2
            elif ch == '"':
                if verbatim and src.startswith('""', self.pos):
                    self._blank(self.pos, self.pos + 2)
                    self.pos += 2
                    continue
                self.pos += 1
                return
            elif ch == "\n" and not verbatim and not interpolated:
                return  # an unterminated literal ends at the line break
            elif interpolated and ch in "{}":
                if src.startswith(ch * 2, self.pos):
                    self._blank(self.pos, self.pos + 2)
                    self.pos += 2
                elif ch == "{":
                    self._hole(1)
                else:
                    self._blank(self.pos, self.pos + 1)
                    self.pos += 1
            else:
                self._blank(self.pos, self.pos + 1)
                self.pos += 1

    def _raw_string_body(self, quotes: int, dollars: int) -> None:
        src = self.src
        closing = '"' * quotes
        special = _RAW_SPECIAL_INTERP if dollars else _RAW_SPECIAL
        while self.pos < len(src):
            found = special.search(src, self.pos)
            end = found.start() if found else len(src)
            if end > self.pos:
                self._blank(self.pos, end)
                self.pos = end
                continue
            if src.startswith(closing, self.pos):
                self.pos += quotes
                return
            ch = src[self.pos]
            if dollars and ch == "{":
                run = _run_length(src, self.pos, "{")
                if run >= dollars:
                    literal = run - dollars
                    self._blank(self.pos, self.pos + literal)
                    self.pos += literal
                    self._hole(dollars)
                    continue
                self._blank(self.pos, self.pos + run)
                self.pos += run
                continue
            self._blank(self.pos, self.pos + 1)
            self.pos += 1

    def _hole(self, braces: int) -> None:
        """An interpolation hole: code up to the matching closing brace(s)."""
        self.pos += braces
        self.code(in_hole=braces)
        src = self.src
        if self.pos < len(src) and src[self.pos] in ":,":
            self._format_tail()
        self.pos = min(self.pos + braces, len(src))

    def _format_tail(self) -> None:
        """Blanks an alignment/format clause (``,5`` / ``:N2``) up to the hole's ``}``."""
        src = self.src
        start = self.pos
        while self.pos < len(src) and src[self.pos] not in "}\n":
            self.pos += 1
        self._blank(start, self.pos)


_CODE_SPECIAL = re.compile(r"[/'\"$@#]")  # outside holes, brackets need no counting
_HOLE_SPECIAL = re.compile(r"[/'\"$@{}()\[\]:,]")
_STRING_SPECIAL = re.compile(r'[\\"\n]')
_STRING_SPECIAL_INTERP = re.compile(r'[\\"\n{}]')
_RAW_SPECIAL = re.compile(r'"')
_RAW_SPECIAL_INTERP = re.compile(r'["{]')
_NOT_NEWLINE = re.compile(r"[^\r\n]")
_NEWLINE = re.compile(r"\n")


def _at_line_start(text: str, pos: int) -> bool:
    """Whether only blanks precede ``pos`` on its line (where a ``#`` directive may start)."""
    line_start = text.rfind("\n", 0, pos) + 1
    return not text[line_start:pos].strip()


def _run_length(text: str, pos: int, ch: str) -> int:
    count = 0
    while pos + count < len(text) and text[pos + count] == ch:
        count += 1
    return count


def line_starts(text: str) -> list[int]:
    """Offsets at which each line of ``text`` starts (index 0 is line 1)."""
    return [0, *(m.end() for m in _NEWLINE.finditer(text))]


def line_of(starts: list[int], offset: int) -> int:
    """The 1-based line number of ``offset`` given :func:`line_starts`."""
    return max(bisect.bisect_right(starts, offset), 1)
