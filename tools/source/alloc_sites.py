"""Which line of a method allocates a given type, and what to do about it.

An allocation sample names a type (``System.Byte[]``) and a stack; the deepest target frame
gives the method, and this module finds the expression in that method's syntax tree that
allocates the type (``new byte[…]``, an interpolated string, a capturing lambda …). When no
expression in the method allocates it, there is no line to point at, and no advice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from tools.source import cold_paths as cold
from tools.source import receivers
from tools.source.detectors import LINQ_METHODS
from tools.source.symbol_index import Symbol, SymbolIndex
from tools.source.syntax import LAMBDAS, LOOPS, ancestors, captures, inside, line, query, text, walk

CLR_TO_CSHARP = {
    "Byte": "byte",
    "SByte": "sbyte",
    "Int16": "short",
    "UInt16": "ushort",
    "Int32": "int",
    "UInt32": "uint",
    "Int64": "long",
    "UInt64": "ulong",
    "Char": "char",
    "Boolean": "bool",
    "Double": "double",
    "Single": "float",
    "Decimal": "decimal",
    "String": "string",
    "Object": "object",
}
BOXABLE = frozenset(
    "Byte SByte Int16 UInt16 Int32 UInt32 Int64 UInt64 Char Boolean Double Single Decimal "
    "DateTime TimeSpan Guid".split()
)

FIXES = {
    "array": "rent it from ArrayPool<T>.Shared (or the batch arena) and return it after use",
    "string": "do not build strings per message; format off the hot path or into a pooled buffer",
    "closure": "make the lambda static and pass state explicitly (no closure per call)",
    "boxing": "keep the value typed (generic or overload) instead of object",
    "linq": "replace the LINQ chain with a plain loop (no enumerator/delegate allocation)",
    "async": "avoid a per-message async state machine: ValueTask with a synchronous fast path",
    "object": "reuse or pool the object (or make it a struct) instead of allocating per call",
}
_ARRAY = re.compile(r"\[,*\]$")
_FACTORY = re.compile(r"(Create|New|Make|Allocate|Factory|Build)\w*")
_NODES = query(
    """
    (object_creation_expression) @new
    (implicit_object_creation_expression) @new
    (array_creation_expression) @new
    (implicit_array_creation_expression) @new
    (interpolated_string_expression) @string
    (invocation_expression) @call
    (lambda_expression) @lambda
    (anonymous_method_expression) @lambda
    (cast_expression) @cast
    (await_expression) @await
    """
)


def categorize(type_name: str, structs: set[str]) -> str:
    """array, string, closure, boxing, linq, async or object.

    ``Foo`1[Bar]`` is a generic instantiation, not an array: only a trailing ``[]``
    (``[,]``) makes an array.
    """
    base = clr_base(type_name)
    if "DisplayClass" in type_name or type_name.startswith(("System.Func", "System.Action")):
        return "closure"
    if "AsyncStateMachineBox" in type_name or "StateMachine" in type_name:
        return "async"
    if type_name.startswith("System.Linq.") or base.endswith("Iterator"):
        return "linq"
    if _ARRAY.search(type_name):
        return "array"
    if type_name in ("System.String", "string"):
        return "string"
    if base in BOXABLE or base in structs:
        return "boxing"
    return "object"


def clr_base(type_name: str) -> str:
    """``System.Collections.Generic.List`1[System.Int32]`` -> ``List``; arrays keep ``[]``."""
    generic = re.sub(r"`\d+(\[.*\])?", "", type_name)
    array = _ARRAY.search(generic)
    core = generic[: array.start()] if array else generic
    return core.rsplit(".", 1)[-1].split("+")[-1] + (array.group() if array else "")


def allocation_line(index: SymbolIndex, symbol: Symbol, type_name: str) -> tuple[int, str] | None:
    """(line, rule id) of the expression in ``symbol`` allocating ``type_name``; None when the
    method holds no such expression (the allocation is in a callee or the runtime) or is a
    factory whose whole job is to create the object (a pool's ``Create() => new()``) or an
    object the method hands to its caller inside what it returns."""
    method = symbol.node
    if method is None or _factory(symbol):
        return None
    category = categorize(type_name, index.struct_names)
    found = captures(_NODES, method)
    candidates = [
        n
        for n in _candidates(found, category, type_name)
        if not cold.lazy_initialisation(n, method)
        and not cold.outside_service_loop(n)
        and not (category == "object" and handed_to_caller(n, method))
    ]
    # An allocation repeated in a loop explains a sampled volume better than one-time setup.
    candidates.sort(key=lambda n: not _in_loop(n, method))
    if not candidates:
        return None
    return line(candidates[0]), RULE_OF_CATEGORY.get(category, "alloc-in-loop")


def _in_loop(node: Node, limit: Node) -> bool:
    return any(a.type in LOOPS for a in ancestors(node) if inside(a, limit)) and not (
        cold.one_off_allocation(node, limit)
    )


RULE_OF_CATEGORY = {
    "string": "string-format",
    "closure": "capturing-lambda",
    "boxing": "boxing",
    "linq": "linq",
}


POOLED_BUILDER = (
    "pool its state machine: [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] "
    "(it already returns ValueTask; the box is allocated each time it suspends)"
)


def allocation_rule(type_name: str, rule_id: str, *, returns: str = "") -> str:
    """The usual fix for allocating ``type_name`` (by category); for an async state machine,
    what the method's return type (``returns``) leaves to do."""
    category = categorize(type_name, set()) if rule_id else "object"
    if category == "async" and re.match(r"(System\.Threading\.Tasks\.)?ValueTask\b", returns):
        return POOLED_BUILDER
    return FIXES[category]


def _factory(symbol: Symbol) -> bool:
    """A method whose body is only ``new …`` (a pool's factory): it allocates by design."""
    node = symbol.node
    if node is None or symbol.kind != "method" or not _FACTORY.fullmatch(symbol.name):
        return False
    body = node.child_by_field_name("body") or next(
        (c for c in node.children if c.type == "arrow_expression_clause"), None
    )
    if body is None:
        return False
    statements = body.named_children
    if body.type == "block" and len(statements) == 1 and statements[0].type == "return_statement":
        statements = statements[0].named_children
    return len(statements) == 1 and "creation_expression" in statements[0].type


def _candidates(found: dict[str, list[Node]], category: str, type_name: str) -> Iterator[Node]:
    if category == "array":
        element = clr_base(type_name).split("[", 1)[0]
        names = {element, CLR_TO_CSHARP.get(element, element)}
        for node in found.get("new", []):
            if "array" in node.type and _element(node) in names | {""}:
                yield node
        yield from (
            c for c in found.get("call", []) if receivers.called_name(c) in ("ToArray", "ToList")
        )
    elif category == "string":
        yield from (s for s in found.get("string", []) if not cold.cold_string(s) and _holes(s))
        for call in found.get("call", []):
            if receivers.called_name(call) in (
                "Format",
                "Concat",
                "Join",
                "ToString",
            ) and not cold.cold_string(call):
                yield call
    elif category == "closure":
        yield from (n for n in found.get("lambda", []) if receivers.captured_names(n))
    elif category == "boxing":
        yield from (
            c for c in found.get("cast", []) if text(c.child_by_field_name("type")) == "object"
        )
    elif category == "linq":
        yield from (c for c in found.get("call", []) if receivers.called_name(c) in LINQ_METHODS)
    elif category == "async":
        yield from found.get("await", [])[:1]
    else:
        base = clr_base(type_name)
        for node in found.get("new", []):
            if "array" not in node.type and _created(node) in (base, ""):
                if _created(node) or _target_type(node) == base:
                    yield node


def _holes(node: Node) -> bool:
    return any(c.type == "interpolation" for c in node.children)


def _element(node: Node) -> str:
    type_node = node.child_by_field_name("type")
    element = type_node.child_by_field_name("type") if type_node is not None else None
    return text(element).split("<", 1)[0].rsplit(".", 1)[-1]


def _created(node: Node) -> str:
    return text(node.child_by_field_name("type")).split("<", 1)[0].rsplit(".", 1)[-1]


def _target_type(node: Node) -> str:
    """The type a target-typed ``new()`` creates: its variable's, field's or return type."""
    parent = node.parent
    while parent is not None and parent.type in ("variable_declarator", "equals_value_clause"):
        parent = parent.parent
    if parent is not None and parent.type == "variable_declaration":
        return text(parent.child_by_field_name("type")).split("<", 1)[0].rsplit(".", 1)[-1]
    function = next(
        (a for a in ancestors(node) if a.type in ("method_declaration", *LAMBDAS)), None
    )
    if function is not None and function.type == "method_declaration":
        returns = text(function.child_by_field_name("returns"))
        return returns.split("<", 1)[0].rsplit(".", 1)[-1]
    return ""


def handed_to_caller(node: Node, method: Node) -> bool:
    """An object stored in a local that the method returns, alone or inside the value it
    returns (``headers = new H(); … return new Msg(…, headers, …)``): the caller owns it, so
    it cannot be reused or pooled here."""
    name = _assigned_local(node)
    if not name:
        return False
    for statement in walk(method):
        if statement.type != "return_statement" or _in_nested_function(statement, method):
            continue
        value = statement.named_children[0] if statement.named_children else None
        if value is None:
            continue
        if value.type == "identifier" and text(value) == name:
            return True
        for created in walk(value):
            if created.type != "object_creation_expression":
                continue
            arguments = created.child_by_field_name("arguments")
            for argument in arguments.named_children if arguments is not None else []:
                if [text(c) for c in argument.named_children] == [name]:
                    return True
    return False


def _assigned_local(node: Node) -> str:
    """``x`` in ``var x = new …`` or ``x = new …`` (a plain local name), else ""."""
    parent = node.parent
    if parent is not None and parent.type == "equals_value_clause":
        parent = parent.parent
    if parent is not None and parent.type == "variable_declarator":
        return text(parent.child_by_field_name("name"))
    if parent is not None and parent.type == "assignment_expression":
        left = parent.child_by_field_name("left")
        if (
            left is not None
            and left.type == "identifier"
            and text(parent.child_by_field_name("operator")) == "="
        ):
            return text(left)
    return ""


def _in_nested_function(node: Node, method: Node) -> bool:
    return any(
        a.type in LAMBDAS or a.type == "local_function_statement"
        for a in ancestors(node)
        if inside(a, method) and a != method
    )
