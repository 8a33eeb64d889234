"""A symbol index of a C# repository: namespaces, (nested, generic) types and their members.

Built once per run from every ``*.cs`` file of the target repo (``bin/``, ``obj/``, ``.git/``
skipped) by a lexical scan of the comment/string-masked text with brace matching. It is not a
compiler: it finds declarations well enough to map a trace frame to a file and line range.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tools.source.csharp_lexer import line_of, line_starts, mask_code
from tools.source.declarations import (
    arrow_index,
    generic_open,
    index_of,
    is_identifier,
    param_types,
    strip_attributes,
    tokenize,
    type_declaration,
)

SKIP_DIRS = frozenset({"bin", "obj", ".git", "node_modules", ".vs", ".perf-trace-analyzer"})
"""Folders never scanned: build outputs, VCS data, our own work folder."""

MAX_FILE_BYTES = 2_000_000
"""Larger .cs files are generated code, not something a human edits."""

STATEMENT_KEYWORDS = frozenset(
    "if else for foreach while do switch using lock catch try finally return await new throw "
    "fixed checked unchecked unsafe yield case default when var goto break continue in is as "
    "get set init add remove typeof sizeof nameof base this".split()
)
MODIFIERS = frozenset(
    "public private protected internal static readonly sealed abstract virtual override async "
    "unsafe extern partial new file required volatile const scoped ref".split()
)

Kind = Literal["method", "constructor", "property", "local_function", "type"]

_BLOCK = re.compile(r"[;{}]")
_LOCAL_FUNCTION_HINT = re.compile(r"[A-Za-z_>\]?)]\s+[A-Za-z_]\w*\s*(?:<[^;{}()]*>\s*)?\(")
_ENDS_WITH_SWITCH = re.compile(r"\bswitch\s*$")


@dataclass(eq=False)
class Symbol:
    """One declaration found in a C# file.

    Attributes:
        name: the member name (``TryAppend``; ``.ctor`` for constructors; the type name for
            types; ``this[]`` for indexers).
        kind: method, constructor, property, local_function or type.
        namespace: the enclosing namespace (dotted), possibly empty.
        types: the enclosing type path, outermost first, each with its generic arity as
            ``Name`N`` when generic (``("KafkaProducer`2",)``).
        parent: for a local function, the name of the member it is declared in.
        params: parameter type texts as written (``("long", "ReadOnlySpan<byte>")``).
        file: the path relative to the repository root (POSIX separators).
        start_line: the declaration line (after attributes).
        end_line: the line of the closing brace or semicolon.
        body_offset: offset in the masked text where the body (``{`` or ``=>``) starts.
        static: whether the declaration carries ``static``.
    """

    name: str
    kind: Kind
    namespace: str
    types: tuple[str, ...]
    parent: str | None
    params: tuple[str, ...]
    file: str
    start_line: int
    end_line: int
    body_offset: int
    static: bool = False

    @property
    def qualified(self) -> str:
        """``Namespace.Outer+Inner.Member`` (local functions add ``.Parent.Local``)."""
        parts = [p for p in (self.namespace, "+".join(self.types)) if p]
        if self.parent:
            parts.append(self.parent)
        parts.append(self.name)
        return ".".join(parts)

    @property
    def signature(self) -> str:
        """A short human signature: ``RecordAccumulator.TryAppend(long, ReadOnlySpan<byte>)``."""
        owner = ".".join(t.split("`")[0] for t in self.types)
        name = self.name if not self.parent else f"{self.parent}.{self.name}"
        args = f"({', '.join(self.params)})" if self.kind != "property" else ""
        return f"{owner}.{name}{args}" if owner else f"{name}{args}"


@dataclass
class SourceFile:
    """One scanned file: its text, the masked text and line offsets."""

    path: str
    text: str
    masked: str
    starts: list[int]

    def line(self, number: int) -> str:
        """The source line ``number`` (1-based), without its line break."""
        lines = self.text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else ""


@dataclass
class SymbolIndex:
    """All symbols of a repository, with the scanned files (for source and rule scans)."""

    root: Path
    symbols: list[Symbol] = field(default_factory=list)
    files: dict[str, SourceFile] = field(default_factory=dict)
    struct_names: set[str] = field(default_factory=set)
    _by_file: dict[str, list[Symbol]] = field(default_factory=dict, repr=False)
    _by_file_count: list[int] = field(default_factory=list, repr=False)
    _by_name: dict[str, list[Symbol]] = field(default_factory=dict, repr=False)
    _by_name_count: list[int] = field(default_factory=list, repr=False)

    def by_name(self, name: str) -> list[Symbol]:
        """Every symbol whose member name is ``name``."""
        if len(self._by_name_count) != 1 or self._by_name_count[0] != len(self.symbols):
            self._by_name = {}
            for symbol in self.symbols:
                self._by_name.setdefault(symbol.name, []).append(symbol)
            self._by_name_count = [len(self.symbols)]
        return list(self._by_name.get(name, []))

    def in_file(self, path: str) -> list[Symbol]:
        """The symbols of one file, in source order."""
        if len(self._by_file_count) != 1 or self._by_file_count[0] != len(self.symbols):
            self._by_file = {}
            for symbol in self.symbols:
                self._by_file.setdefault(symbol.file, []).append(symbol)
            for symbols in self._by_file.values():
                symbols.sort(key=lambda s: s.start_line)
            self._by_file_count = [len(self.symbols)]
        return self._by_file.get(path, [])


def iter_cs_files(root: Path) -> Iterator[Path]:
    """Every ``*.cs`` file under ``root`` that resolves inside it (no symlink escapes)."""
    resolved_root = root.resolve()
    stack = [root]
    seen: set[Path] = set()
    while stack:
        folder = stack.pop()
        real = folder.resolve()
        if real in seen:
            continue  # a symlink back to a folder already scanned (or a loop)
        seen.add(real)
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.name in SKIP_DIRS:
                continue
            if not entry.resolve().is_relative_to(resolved_root):
                continue
            if entry.is_dir():
                stack.append(entry)
            elif entry.suffix == ".cs" and entry.is_file():
                yield entry


def build_index(root: Path) -> SymbolIndex:
    """Scans every C# file under ``root`` into a :class:`SymbolIndex`."""
    index = SymbolIndex(root=root.resolve())
    for path in iter_cs_files(root):
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            text = path.read_text(encoding="utf-8-sig", errors="replace")
        except OSError:
            continue
        rel = path.resolve().relative_to(index.root).as_posix()
        if rel not in index.files:  # a file symlinked to another file is indexed once
            add_file(index, rel, text)
    return index


def add_file(index: SymbolIndex, rel: str, text: str) -> None:
    """Scans one file's text into ``index`` under the relative path ``rel``."""
    masked = mask_code(text)
    source = SourceFile(rel, text, masked, line_starts(text))
    index.files[rel] = source
    scanner = _Scanner(source)
    scanner.run()
    index.symbols.extend(scanner.symbols)
    index.struct_names.update(scanner.structs)


@dataclass
class _Scope:
    kind: Literal["namespace", "type", "member", "block", "enum", "switch"]
    name: str
    member: str | None = None


@dataclass
class _Scanner:
    """Walks tokens with a scope stack; a header is the tokens since the last ``;{}``."""

    file: SourceFile
    symbols: list[Symbol] = field(default_factory=list)
    structs: set[str] = field(default_factory=set)

    def run(self) -> None:
        """Finds every declaration of the file.

        Walks only the structural characters; a header (the text since the last ``;{}`` at
        the same level) is tokenized only when a ``{`` or an ``=>`` statement needs it.
        Parenthesised and bracketed groups are skipped whole (lambdas in arguments included).
        """
        masked = self.file.masked
        self.scopes: list[_Scope] = []
        self.file_namespace = ""
        self.open: list[tuple[int, Symbol | None]] = []
        header_start = 0
        depth = 0
        last = 0
        for m in _BLOCK.finditer(masked):
            offset = m.start()
            segment = masked[last:offset]
            depth += segment.count("(") + segment.count("[")
            depth = max(depth - segment.count(")") - segment.count("]"), 0)
            last = offset + 1
            if depth:
                continue  # inside an argument list or indexer: lambdas, for(;;) headers
            ch = m.group()
            if ch == ";":
                head = masked[header_start:offset]
                if "=>" in head or "namespace" in head:
                    self._statement_end(tokenize(head, header_start), offset)
            elif ch == "{":
                self._open_text(masked[header_start:offset], header_start, offset)
            else:
                self._close(offset)
            header_start = offset + 1

    def _open_text(self, head: str, start: int, brace: int) -> None:
        """Opens a scope; statement blocks in bodies are recognised without tokenizing."""
        parent = self.scopes[-1].kind if self.scopes else "namespace"
        if parent in ("member", "block", "switch") and not _LOCAL_FUNCTION_HINT.search(head):
            is_switch = bool(_ENDS_WITH_SWITCH.search(head))
            self.scopes.append(_Scope("switch" if is_switch else "block", ""))
            self.open.append((brace, None))
            return
        self._open(tokenize(head, start), brace)

    def _namespace(self) -> str:
        names = [s.name for s in self.scopes if s.kind == "namespace"]
        return ".".join(n for n in [self.file_namespace, *names] if n)

    def _types(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.scopes if s.kind in ("type", "enum"))

    def _current_member(self) -> str | None:
        for scope in reversed(self.scopes):
            if scope.kind == "member":
                return scope.member
        return None

    def _open(self, header: list[tuple[str, int]], brace: int) -> None:
        words = [t for t, _ in strip_attributes(header)]
        parent = self.scopes[-1].kind if self.scopes else "namespace"
        if words and words[-1] == "switch":
            self.scopes.append(_Scope("switch", ""))
            self.open.append((brace, None))
            return
        if "namespace" in words and parent == "namespace":
            name = "".join(words[words.index("namespace") + 1 :])
            self.scopes.append(_Scope("namespace", name))
            self.open.append((brace, None))
            return
        type_decl = type_declaration(words) if parent in ("namespace", "type") else None
        if type_decl is not None:
            self._open_type(type_decl, header, brace)
            return
        symbol = self._member(header, brace, parent)
        if symbol is not None:
            self.scopes.append(_Scope("member", symbol.name, member=_member_key(symbol)))
        else:
            self.scopes.append(_Scope("block", ""))
        self.open.append((brace, symbol))

    def _open_type(
        self, decl: tuple[str, str, int], header: list[tuple[str, int]], brace: int
    ) -> None:
        keyword, name, arity = decl
        full = f"{name}`{arity}" if arity else name
        if keyword == "struct":
            self.structs.add(name)
        symbol = self._symbol(name, "type", header, brace, params=())
        self.scopes.append(_Scope("enum" if keyword == "enum" else "type", full))
        self.open.append((brace, symbol))

    def _member(self, header: list[tuple[str, int]], body: int, parent: str) -> Symbol | None:
        """A member (or local function) declared by ``header``; ``body`` is an offset."""
        clean = strip_attributes(header)
        if not clean:
            return None
        if parent == "type":
            return self._type_member(clean, body)
        if parent in ("member", "block"):
            return self._local_function(clean, body)
        return None

    def _type_member(self, clean: list[tuple[str, int]], body: int) -> Symbol | None:
        words = [t for t, _ in clean]
        paren = index_of(words, "(")
        if "=" in words[:paren] or "=>" in words[:paren]:
            return None  # a field initializer, not a member declaration
        if paren is None:
            if words[-1] == "]" and "this" in words:
                return self._symbol("this[]", "property", clean, body, params=())
            if is_identifier(words[-1]):
                return self._symbol(words[-1], "property", clean, body, params=())
            return None
        return self._method(clean, paren, body, local=False)

    def _local_function(self, clean: list[tuple[str, int]], body: int) -> Symbol | None:
        words = [t for t, _ in clean]
        paren = index_of(words, "(")
        if paren is None or paren < 2 or "=" in words[:paren] or "." in words[:paren]:
            return None
        if words[0] in STATEMENT_KEYWORDS or words[paren - 1] in STATEMENT_KEYWORDS:
            return None
        if "=>" in words[:paren]:
            return None
        return self._method(clean, paren, body, local=True)

    def _method(
        self, clean: list[tuple[str, int]], paren: int, body: int, *, local: bool
    ) -> Symbol | None:
        words = [t for t, _ in clean]
        name_at = paren - 1
        if words[name_at] == ">":
            name_at = generic_open(words, name_at) - 1
        if name_at < 0 or not is_identifier(words[name_at]):
            return None
        name = words[name_at]
        before = words[:name_at]
        if "operator" in before or "delegate" in before or "event" in before:
            return None
        if "~" in before:
            name = "Finalize"
        elif not local and (not before or all(w in MODIFIERS for w in before)):
            if self.scopes and self.scopes[-1].name.split("`")[0] == name:
                name = ".cctor" if "static" in before else ".ctor"
        kind: Kind = "local_function" if local else "method"
        if name in (".ctor", ".cctor"):
            kind = "constructor"
        params = param_types(clean, paren)
        return self._symbol(name, kind, clean, body, params=params, static="static" in before)

    def _symbol(
        self,
        name: str,
        kind: Kind,
        header: list[tuple[str, int]],
        body: int,
        *,
        params: tuple[str, ...],
        static: bool = False,
    ) -> Symbol:
        clean = strip_attributes(header) or header
        start = line_of(self.file.starts, clean[0][1]) if clean else 1
        parent = self._current_member() if kind == "local_function" else None
        types = self._types()
        return Symbol(
            name=name,
            kind=kind,
            namespace=self._namespace(),
            types=types,
            parent=parent,
            params=params,
            file=self.file.path,
            start_line=start,
            end_line=start,
            body_offset=body,
            static=static,
        )

    def _close(self, brace: int) -> None:
        if not self.scopes:
            return
        self.scopes.pop()
        _, symbol = self.open.pop()
        if symbol is not None:
            end = line_of(self.file.starts, brace)
            self.symbols.append(_with_end(symbol, end))

    def _statement_end(self, header: list[tuple[str, int]], semi: int) -> None:
        words = [t for t, _ in strip_attributes(header)]
        parent = self.scopes[-1].kind if self.scopes else "namespace"
        if words[:1] == ["namespace"]:
            self.file_namespace = "".join(words[1:])
            return
        if "=>" not in words:
            return
        arrow = arrow_index(header)
        clean = strip_attributes(header[:arrow])
        offset = header[arrow][1]
        symbol: Symbol | None = None
        if parent == "type" and clean:
            symbol = self._type_member(clean, offset)
        elif parent in ("member", "block") and clean:
            symbol = self._local_function(clean, offset)
        if symbol is not None:
            end = line_of(self.file.starts, semi)
            self.symbols.append(_with_end(symbol, end))


def _member_key(symbol: Symbol) -> str:
    return symbol.name


def _with_end(symbol: Symbol, end: int) -> Symbol:
    symbol.end_line = max(end, symbol.start_line)
    return symbol
