"""A symbol index of a C# repository: namespaces, (nested, generic) types and their members.

Built from every ``*.cs`` file of the target repo (``bin/``, ``obj/``, ``.git/`` skipped), each
parsed into a syntax tree (tree-sitter). Library code is indexed first; tests, benchmarks,
tools and samples are parsed only when a lookup needs them (a frame not found in the library,
a scan of their folder), so linking a trace costs the library's parse, not the whole repo's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tree_sitter import Node, Tree

from tools.source import declarations as decl
from tools.source.locations import Category, LocationClassifier
from tools.source.syntax import TYPE_DECLARATIONS, captures, end_line, has_modifier, parse, query

SKIP_DIRS = frozenset({"bin", "obj", ".git", "node_modules", ".vs", ".perf-trace-analyzer"})
"""Folders never scanned: build outputs, VCS data, our own work folder."""

MAX_FILE_BYTES = 2_000_000
"""Larger .cs files are generated code, not something a human edits."""

Kind = Literal["method", "constructor", "property", "local_function", "type"]

_DECLARATIONS = query(
    """
    [(class_declaration) (struct_declaration) (interface_declaration) (record_declaration)
     (enum_declaration) (method_declaration) (constructor_declaration)
     (destructor_declaration) (property_declaration) (indexer_declaration)
     (local_function_statement)] @d
    """
)


@dataclass(eq=False)
class Symbol:
    """One declaration found in a C# file.

    Attributes:
        name: the member name (``TryAppend``; ``.ctor`` for constructors, primary ones
            included; the type name for types; ``this[]`` for indexers).
        kind: method, constructor, property, local_function or type.
        namespace: the enclosing namespace (dotted), possibly empty.
        types: the enclosing type path, outermost first, each with its generic arity as
            ``Name`N`` when generic (``("KafkaProducer`2",)``).
        parent: for a local function, the name of the member it is declared in.
        params: parameter type texts as written (``("long", "ReadOnlySpan<byte>")``).
        file: the path relative to the repository root (POSIX separators).
        start_line: the declaration line (after attributes).
        end_line: the line of the closing brace or semicolon.
        static: whether the declaration carries ``static``.
        node: the declaration's syntax node (the type's, for a primary constructor).
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
    static: bool = False
    node: Node | None = field(default=None, repr=False)

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
    """One parsed file: its text, syntax tree and part of the repository."""

    path: str
    text: str
    tree: Tree
    category: Category = "library"
    _lines: list[str] | None = field(default=None, repr=False)

    @property
    def lines(self) -> list[str]:
        """The file's lines, without line breaks."""
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines

    def line(self, number: int) -> str:
        """The source line ``number`` (1-based), without its line break."""
        lines = self.lines
        return lines[number - 1] if 0 < number <= len(lines) else ""


@dataclass
class SymbolIndex:
    """All symbols of a repository, with the parsed files (for source and rule scans).

    Attributes:
        root: the repository root.
        symbols: every declaration indexed so far.
        files: path -> parsed file, for the files indexed so far.
        struct_names: names of the repo's value types (``new`` of them does not allocate).
        pending: files not parsed yet (not library code), parsed by :meth:`complete`.
        method_names: names of the methods declared (cached for the detectors).
    """

    root: Path
    symbols: list[Symbol] = field(default_factory=list)
    files: dict[str, SourceFile] = field(default_factory=dict)
    struct_names: set[str] = field(default_factory=set)
    pending: list[tuple[str, Path, Category]] = field(default_factory=list)
    method_names: frozenset[str] | None = None
    _by_name: dict[str, list[Symbol]] = field(default_factory=dict, repr=False)
    _by_file: dict[str, list[Symbol]] = field(default_factory=dict, repr=False)
    _indexed: int = field(default=-1, repr=False)

    def _refresh(self) -> None:
        if self._indexed == len(self.symbols):
            return
        self._by_name, self._by_file = {}, {}
        for symbol in self.symbols:
            self._by_name.setdefault(symbol.name, []).append(symbol)
            self._by_file.setdefault(symbol.file, []).append(symbol)
        for symbols in self._by_file.values():
            symbols.sort(key=lambda s: s.start_line)
        self._indexed = len(self.symbols)

    def by_name(self, name: str) -> list[Symbol]:
        """Every indexed symbol whose member name is ``name``."""
        self._refresh()
        return list(self._by_name.get(name, []))

    def in_file(self, path: str) -> list[Symbol]:
        """The symbols of one file, in source order."""
        self._refresh()
        return self._by_file.get(path, [])

    def category(self, path: str) -> Category:
        """The part of the repository ``path`` is in (library when unknown)."""
        source = self.files.get(path)
        return source.category if source is not None else "library"

    def complete(self) -> bool:
        """Parses the files left for later (tests, tools, …); True when any were added."""
        pending, self.pending = self.pending, []
        self.method_names = None
        for rel, path, category in pending:
            text = _read(path)
            if text is not None and rel not in self.files:
                add_file(self, rel, text, category=category)
        return bool(pending)


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


def build_index(root: Path, *, library_only: bool = True) -> SymbolIndex:
    """Indexes the C# files under ``root``: library code now, the rest on demand.

    Args:
        root: the repository.
        library_only: leave non-library files in ``pending`` (parsed by ``complete()``);
            False parses everything now.
    """
    index = SymbolIndex(root=root.resolve())
    classifier = LocationClassifier(index.root)
    for path in iter_cs_files(root):
        rel = path.resolve().relative_to(index.root).as_posix()
        category = classifier.classify(rel)
        if library_only and category != "library":
            index.pending.append((rel, path, category))
            continue
        text = _read(path)
        if text is not None and rel not in index.files:  # a symlinked file is indexed once
            add_file(index, rel, text, category=category)
    return index


def _read(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return None


def add_file(index: SymbolIndex, rel: str, text: str, *, category: Category = "library") -> None:
    """Parses one file's text into ``index`` under the relative path ``rel``."""
    tree = parse(text)
    index.method_names = None
    index.files[rel] = SourceFile(rel, text, tree, category)
    namespace = decl.file_namespace(tree.root_node)
    for node in captures(_DECLARATIONS, tree.root_node).get("d", []):
        index.symbols.extend(_symbols(node, rel, namespace, index.struct_names))


def _symbols(node: Node, rel: str, file_namespace: str, structs: set[str]) -> list[Symbol]:
    """The symbols one declaration node stands for (a type with a primary constructor: two)."""
    name = decl.name_of(node)
    if not name:
        return []
    namespace = decl.enclosing_namespace(node, file_namespace)
    types = decl.enclosing_types(node)

    def make(name: str, kind: Kind, *, parent: str | None = None) -> Symbol:
        return Symbol(
            name=name,
            kind=kind,
            namespace=namespace,
            types=types,
            parent=parent,
            params=decl.param_types(node) if kind != "type" else (),
            file=rel,
            start_line=decl.start_line(node),
            end_line=end_line(node),
            static=has_modifier(node, "static"),
            node=node,
        )

    if node.type in TYPE_DECLARATIONS:
        if decl.is_struct(node):
            structs.add(name)
        found = [make(name, "type")]
        if node.type != "enum_declaration" and decl.parameter_list(node) is not None:
            primary = make(".ctor", "constructor")
            primary.types = (*types, decl.type_segment(node))
            primary.end_line = end_line(decl.parameter_list(node) or node)
            found.append(primary)
        return found
    if node.type == "local_function_statement":
        return [make(name, "local_function", parent=_owner_name(node))]
    if node.type == "constructor_declaration":
        return [make(".cctor" if has_modifier(node, "static") else ".ctor", "constructor")]
    if node.type == "destructor_declaration":
        return [make("Finalize", "method")]
    if node.type == "indexer_declaration":
        return [make("this[]", "property")]
    if node.type == "property_declaration":
        return [make(name, "property")]
    return [make(name, "method")]


def _owner_name(node: Node) -> str | None:
    """The member a local function is declared in (its name as frames spell it: the compiler
    names nested local functions after the member, not after the local function around them)."""
    parent = node.parent
    while parent is not None:
        if parent.type == "method_declaration":
            return decl.name_of(parent)
        if parent.type == "constructor_declaration":
            return ".cctor" if has_modifier(parent, "static") else ".ctor"
        if parent.type in ("property_declaration", "indexer_declaration"):
            return decl.name_of(parent) or "this[]"
        if parent.type in TYPE_DECLARATIONS:
            return None
        parent = parent.parent
    return None
