"""Pure helpers reading declarations off C# syntax nodes for the symbol index.

Names, generic arity, parameter types, the line a declaration starts on (after its attributes),
and the namespace and type path enclosing it.
"""

from __future__ import annotations

from tree_sitter import Node

from tools.source.syntax import TYPE_DECLARATIONS, ancestors, flat, text

PARAMETER_LISTS = frozenset({"parameter_list", "bracketed_parameter_list"})


def start_line(node: Node) -> int:
    """The declaration's first line after its attributes (what a reader calls its line)."""
    for child in node.children:
        if child.type != "attribute_list":
            return child.start_point.row + 1
    return node.start_point.row + 1


def name_of(node: Node) -> str:
    """The declared name (``name`` field), "" when the parser found none."""
    return text(node.child_by_field_name("name"))


def generic_arity(node: Node) -> int:
    """Type parameters of a generic declaration (0 when not generic)."""
    params = node.child_by_field_name("type_parameters") or next(
        (c for c in node.children if c.type == "type_parameter_list"), None
    )
    return (
        0 if params is None else sum(1 for c in params.named_children if c.type == "type_parameter")
    )


def type_segment(node: Node) -> str:
    """``Name`` or ``Name`N`` as the runtime names a (generic) type."""
    arity = generic_arity(node)
    return f"{name_of(node)}`{arity}" if arity else name_of(node)


def parameter_list(node: Node) -> Node | None:
    """The declaration's parameter list (primary constructors' included)."""
    found = node.child_by_field_name("parameters")
    if found is not None:
        return found
    return next((c for c in node.children if c.type in PARAMETER_LISTS), None)


def param_types(node: Node) -> tuple[str, ...]:
    """Parameter type texts as written (``("long", "ReadOnlySpan<byte>")``)."""
    params = parameter_list(node)
    if params is None:
        return ()
    return tuple(
        flat(p.child_by_field_name("type")) or "?"
        for p in params.named_children
        if p.type == "parameter"
    )


def param_names(node: Node) -> list[str]:
    """Parameter names of a declaration or lambda."""
    params = parameter_list(node)
    if params is None:
        # ``x => …``: a lambda's single parameter is an identifier child
        first = node.named_children[0] if node.named_children else None
        return [text(first)] if first is not None and first.type == "identifier" else []
    return [name_of(p) for p in params.named_children if p.type == "parameter"]


def is_struct(node: Node) -> bool:
    """``struct`` / ``record struct`` declarations (values, not heap objects)."""
    if node.type == "struct_declaration":
        return True
    return node.type == "record_declaration" and any(c.type == "struct" for c in node.children)


def enclosing_types(node: Node) -> tuple[str, ...]:
    """The type path around ``node``, outermost first (``("BrokerSender", "InFlight")``)."""
    path = [type_segment(a) for a in ancestors(node) if a.type in TYPE_DECLARATIONS]
    return tuple(reversed(path))


def enclosing_namespace(node: Node, file_namespace: str) -> str:
    """The dotted namespace around ``node`` (block namespaces nest in a file-scoped one)."""
    names = [
        text(a.child_by_field_name("name"))
        for a in ancestors(node)
        if a.type == "namespace_declaration"
    ]
    return ".".join(n for n in [file_namespace, *reversed(names)] if n)


def file_namespace(root: Node) -> str:
    """The file-scoped namespace (``namespace Dekaf.Producer;``), "" when there is none."""
    for child in root.children:
        if child.type == "file_scoped_namespace_declaration":
            return text(child.child_by_field_name("name"))
    return ""
