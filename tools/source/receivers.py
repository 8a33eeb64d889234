"""What a name in a method refers to, read off the syntax tree: the member around a node,
declared types of locals, parameters, fields and properties, whether a receiver is a task (and
known complete), a LINQ call, a closure's captured names, a value type.

The detectors (:mod:`tools.source.detectors`) and the cold-path shapes
(:mod:`tools.source.cold_paths`) ask these questions; neither answers them alone.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from tools.source.syntax import LAMBDAS, TYPE_DECLARATIONS, ancestors, inside, text, walk

MEMBERS = frozenset(
    {
        "method_declaration",
        "constructor_declaration",
        "destructor_declaration",
        "property_declaration",
        "indexer_declaration",
        "operator_declaration",
        "conversion_operator_declaration",
        "event_declaration",
        "field_declaration",
    }
)


VALUE_TYPES = frozenset(
    "int long short byte sbyte uint ulong ushort bool char double float decimal nint nuint "
    "DateTime TimeSpan Guid DateTimeOffset".split()
)


_TASK_TYPE = re.compile(r"\b(Value)?Task\b")


_LITERALS = frozenset({"integer_literal", "real_literal", "boolean_literal", "character_literal"})


def member(node: Node) -> Node | None:
    """The outermost member declaration around ``node`` (a method, not its local function)."""
    found = None
    for parent in ancestors(node):
        if parent.type in TYPE_DECLARATIONS:
            break
        if parent.type in MEMBERS:
            found = parent
    return found


def declared_types(scope: Node) -> dict[str, str]:
    """Name -> declared type text of the parameters and locals in ``scope`` (``var`` locals
    map to ``var=<initializer>``)."""
    found: dict[str, str] = {}
    for node in walk(scope):
        if node.type == "parameter":
            name = text(node.child_by_field_name("name"))
            found.setdefault(name, text(node.child_by_field_name("type")))
        elif node.type == "variable_declaration":
            type_text = text(node.child_by_field_name("type"))
            for declarator in node.named_children[1:]:
                name = text(declarator.child_by_field_name("name"))
                value = (
                    declarator.named_children[-1] if len(declarator.named_children) > 1 else None
                )
                found.setdefault(name, f"var={text(value)}" if type_text == "var" else type_text)
    return found


def field_types(node: Node) -> dict[str, str]:
    """Name -> type text of the fields and properties of the type around ``node``."""
    owner = next((a for a in ancestors(node) if a.type in TYPE_DECLARATIONS), None)
    found: dict[str, str] = {}
    body = owner.child_by_field_name("body") if owner is not None else None
    for child in body.named_children if body is not None else []:
        if child.type == "field_declaration":
            declaration = next(
                (c for c in child.named_children if c.type == "variable_declaration"), None
            )
            if declaration is None:
                continue
            for declarator in declaration.named_children[1:]:
                found[text(declarator.child_by_field_name("name"))] = text(
                    declaration.child_by_field_name("type")
                )
        elif child.type == "property_declaration":
            found[text(child.child_by_field_name("name"))] = text(child.child_by_field_name("type"))
    return found


def _base_identifier(node: Node) -> Node | None:
    """``_loop!`` / ``tasks[i]`` / ``this.task`` -> the identifier that names the value."""
    current: Node | None = node
    while current is not None and current.type != "identifier":
        if current.type in ("postfix_unary_expression", "parenthesized_expression"):
            current = current.named_children[0] if current.named_children else None
        elif current.type == "element_access_expression":
            current = current.child_by_field_name("expression")
        elif (
            current.type == "member_access_expression"
            and text(current.child_by_field_name("expression")) == "this"
        ):
            current = current.child_by_field_name("name")
        else:
            return None
    return current


def called_name(call: Node) -> str:
    """The method name of an invocation (``a.B<T>(…)`` -> ``B``; ``C(…)`` -> ``C``)."""
    function = call.child_by_field_name("function")
    if function is not None and function.type == "member_access_expression":
        function = function.child_by_field_name("name")
    return text(function).split("<", 1)[0].strip()


def task_like(receiver: Node, at: Node) -> bool:
    """Whether ``receiver`` is (most likely) a Task/ValueTask: by its declared type, its name,
    or a call of an ``…Async`` method."""
    if receiver.type == "invocation_expression":
        name = called_name(receiver)
        return name.endswith("Async") or name in ("Run", "WhenAll", "WhenAny", "StartNew")
    identifier = _base_identifier(receiver)
    if identifier is None:
        return False
    name = text(identifier)
    scope = member(at)
    declared = (declared_types(scope) if scope is not None else {}).get(name) or field_types(
        at
    ).get(name, "")
    if declared.startswith("var="):
        return bool(re.search(r"Async\s*\(|\bTask\s*\.", declared))
    if declared:
        return bool(_TASK_TYPE.search(declared))
    return "task" in name.lower()


def task_completed(at: Node, receiver: Node) -> bool:
    """Whether the task ``receiver`` is known complete at ``at``: awaited before (``await t``,
    ``await Task.WhenAll(…t…)``), checked (``t.IsCompleted…``), or a continuation's argument."""
    identifier = _base_identifier(receiver)
    name = text(identifier) if identifier is not None else text(receiver)
    scope = member(at)
    if not name or scope is None:
        return False
    mention = re.compile(rf"(?<![\w.]){re.escape(name)}\b")
    for node in walk(scope):
        if node.start_byte >= at.start_byte:
            break
        if node.type == "await_expression" and mention.search(text(node)):
            return True
        if node.type == "member_access_expression" and text(node).startswith(name):
            checked = ("IsCompleted", "IsFaulted", "IsCanceled", "Status")
            if text(node.child_by_field_name("name")).startswith(checked):
                return True
    lambda_ = next((a for a in ancestors(at) if a.type in LAMBDAS), None)
    return lambda_ is not None and "ContinueWith" in text(
        lambda_.parent.parent if lambda_.parent else None
    )


def looks_like_linq(
    call: Node, name: str, repo_methods: frozenset[str], receiver: Node | None = None
) -> bool:
    """A call named like a LINQ operator that is LINQ's: with a lambda (or method group)
    argument, or with a name the repository does not declare itself (a protocol reader's own
    ``Skip(int)`` is not ``Enumerable.Skip``), and not a static method of another type
    (``StringValues.Concat(a, b)``)."""
    arguments = call.child_by_field_name("arguments")
    args = [
        a.named_children[0]
        for a in (arguments.named_children if arguments else [])
        if a.named_children
    ]
    if any(a.type in LAMBDAS for a in args):
        return True
    if len(args) >= 2 and receiver is not None and _static_type(receiver, call):
        return False
    return name not in repo_methods


_LINQ_TYPES = frozenset({"Enumerable", "ParallelEnumerable", "Queryable"})


def _static_type(receiver: Node, at: Node) -> bool:
    """``Name`` in ``Name.Op(a, b)`` names a type, not a value: PascalCase, and no local,
    parameter, field or property of that name is in scope (LINQ's own classes excepted)."""
    name = text(receiver)
    if receiver.type != "identifier" or not name[:1].isupper() or name in _LINQ_TYPES:
        return False
    owner = member(at)
    in_scope = declared_types(owner) if owner is not None else {}
    return name not in in_scope and name not in field_types(at)


def captured_names(lambda_: Node) -> list[str]:
    """The enclosing member's locals and parameters a lambda's body uses (a closure)."""
    scope = member(lambda_)
    if scope is None:
        return []
    outer: set[str] = set()
    for node in walk(scope):
        if inside(node, lambda_):
            continue
        owner = node.parent.parent if node.type == "parameter" and node.parent else None
        if owner is not None and owner.type in LAMBDAS and not inside(lambda_, owner):
            continue  # another lambda's parameter, not in scope here
        if node.type in ("parameter", "variable_declarator", "catch_declaration"):
            outer.add(text(node.child_by_field_name("name")))
        elif node.type == "foreach_statement":
            outer.add(text(node.child_by_field_name("left")))
        elif node.type == "single_variable_designation":
            outer.add(text(node))
    own = {
        text(n.child_by_field_name("name"))
        for n in walk(lambda_)
        if n.type in ("parameter", "variable_declarator")
    }
    if lambda_.named_children and lambda_.named_children[0].type == "identifier":
        own.add(text(lambda_.named_children[0]))
    used = {text(n) for n in walk(lambda_) if n.type == "identifier" and _is_reference(n)}
    return sorted((used & outer) - own - {""})


def _is_reference(identifier: Node) -> bool:
    """An identifier naming a value (not ``x.Name``'s Name, a named argument or a type)."""
    parent = identifier.parent
    if parent is None:
        return False
    if parent.type == "member_access_expression":
        return parent.child_by_field_name("name") != identifier
    if parent.type in ("parameter", "variable_declarator", "name_colon", "generic_name"):
        return False
    return not (
        parent.type == "assignment_expression"
        and parent.parent is not None
        and parent.parent.type == "initializer_expression"
        and parent.child_by_field_name("left") == identifier
    )


def value_typed(value: Node, structs: frozenset[str]) -> bool:
    """Whether an expression is a value type: a literal, or a local/parameter so declared."""
    if value.type in _LITERALS:
        return True
    if value.type != "identifier":
        return False
    scope = member(value)
    declared = (declared_types(scope) if scope is not None else {}).get(text(value), "")
    if declared.startswith("var="):
        initializer = declared[4:]
        cast = re.match(r"\((\w+)\)", initializer)
        if cast:
            return cast.group(1) in VALUE_TYPES or cast.group(1) in structs
        return bool(re.fullmatch(r"-?\d[\d_]*[LlUu]*|true|false", initializer))
    base = declared.rstrip("?")
    return base in VALUE_TYPES or base in structs
