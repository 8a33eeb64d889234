"""Shapes that look like a hot-path rule breach and are not, read off the syntax tree.

Found by judging findings on real code (see ``tests/fixtures/judged_findings.jsonl``): an
exception's message is formatted only when it is thrown; a ``.Result`` after ``await
Task.WhenAll`` does not block; ``??=`` allocates once; a protocol reader's ``Skip(n)`` is not
LINQ's; a loop's header runs once; a ``throw`` on a timeout or error path is not control flow.
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
COLD_MEMBER_NAMES = frozenset({"Dispose", "DisposeAsync", "ToString", "Finalize"})
"""Members that run once per object's life or for diagnostics, not per message."""
VALUE_TYPES = frozenset(
    "int long short byte sbyte uint ulong ushort bool char double float decimal nint nuint "
    "DateTime TimeSpan Guid DateTimeOffset".split()
)
_TASK_TYPE = re.compile(r"\b(Value)?Task\b")
_LITERALS = frozenset({"integer_literal", "real_literal", "boolean_literal", "character_literal"})
_GUARDS = re.compile(r"\bIsEnabled\b|\bIs(Debug|Trace|Verbose)Enabled\b|\bHasListeners\b")
"""Conditions that hold only while someone listens: logging levels, tracing listeners."""
_THROW_HELPER = re.compile(r"Throw([A-Z]\w*)?")
"""``NatsException.Throw(…)``, ``ThrowHelper.ThrowArgument(…)``: methods that only throw."""
_DIAGNOSTIC_CALLS = re.compile(r"(Debug|Trace)\.(Assert|Fail|Write\w*)|nameof")


def member(node: Node) -> Node | None:
    """The outermost member declaration around ``node`` (a method, not its local function)."""
    found = None
    for parent in ancestors(node):
        if parent.type in TYPE_DECLARATIONS:
            break
        if parent.type in MEMBERS:
            found = parent
    return found


def async_stream(node: Node) -> bool:
    """A ``yield`` in an ``IAsyncEnumerable`` method: the stream is allocated once per
    subscription, not per item (the API's shape, not an iterator per call)."""
    owner = next(
        (
            a
            for a in ancestors(node)
            if a.type in ("method_declaration", "local_function_statement")
        ),
        None,
    )
    return owner is not None and "IAsyncEnumerable" in text(owner.child_by_field_name("returns"))


def cold_member(node: Node) -> bool:
    """Inside a constructor, a finalizer, Dispose or ToString: once per object, not per call."""
    owner = member(node)
    if owner is None:
        return False
    if owner.type in ("constructor_declaration", "destructor_declaration", "field_declaration"):
        return True
    return text(owner.child_by_field_name("name")) in COLD_MEMBER_NAMES


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


def cold_string(node: Node) -> bool:
    """A string built only on a cold path: an exception's message (also one handed to a throw
    helper), a catch block, a branch that ends by throwing, a branch guarded by
    ``logger.IsEnabled(…)`` or a tracing listener check, a diagnostic call, an attribute or a
    constant."""
    child = node
    for parent in ancestors(node):
        kind = parent.type
        if kind in ("throw_statement", "throw_expression", "catch_clause", "attribute_list"):
            return True
        if _error_branch(parent):
            return True
        if kind == "object_creation_expression" and _created(parent).endswith("Exception"):
            return True
        if kind == "invocation_expression" and _cold_call(parent):
            return True
        if kind == "if_statement" and child == parent.child_by_field_name("consequence"):
            if _GUARDS.search(text(parent.child_by_field_name("condition"))):
                return True
        if kind == "field_declaration" and any(text(c) == "const" for c in parent.children):
            return True
        if kind in MEMBERS:
            return cold_member(node) and text(parent.child_by_field_name("name")) == "ToString"
        child = parent
    return False


_LEGACY_FRAMEWORK = re.compile(r"NETSTANDARD\w*|NETFRAMEWORK|NET[2-4]\d*|NETCOREAPP[1-3]\w*")
"""Preprocessor symbols of target frameworks a trace from modern .NET never runs."""


def legacy_branch(node: Node) -> bool:
    """Code in the legacy-framework branch of ``#if NETSTANDARD2_0 … #else … #endif`` (or the
    ``#else`` of ``#if !NETSTANDARD2_0``): the library also builds for modern .NET, which
    compiles the other branch, so a traced process does not run this one."""
    for parent in ancestors(node):
        if parent.type != "preproc_if":
            continue
        condition = text(parent.child_by_field_name("condition")).replace(" ", "")
        alternative = parent.child_by_field_name("alternative")
        if alternative is None or not _LEGACY_FRAMEWORK.fullmatch(condition.lstrip("!")):
            continue
        if inside(node, alternative) == condition.startswith("!"):
            return True
    return False


def _error_branch(block: Node) -> bool:
    """An ``if``/``else`` block that ends by throwing: it runs only when something failed."""
    parent = block.parent
    if (
        block.type != "block"
        or parent is None
        or parent.type not in ("if_statement", "else_clause")
    ):
        return False
    statements = block.named_children
    return bool(statements) and statements[-1].type == "throw_statement"


def _cold_call(call: Node) -> bool:
    """A diagnostic call, or a throw helper (the call exists only to throw)."""
    function = call.child_by_field_name("function")
    if _DIAGNOSTIC_CALLS.fullmatch(text(function)):
        return True
    if function is not None and function.type == "member_access_expression":
        function = function.child_by_field_name("name")
    return function is not None and bool(_THROW_HELPER.fullmatch(text(function)))


def _created(node: Node) -> str:
    return text(node.child_by_field_name("type")).split("<", 1)[0].rsplit(".", 1)[-1]


def startup_work(call: Node) -> bool:
    """A call made once to start something: in a constructor, or stored in a field (a
    background loop's task), or in a Start/Init method."""
    if cold_member(call):
        return True
    owner = member(call)
    if owner is not None and re.match(
        r"(Start|Init|Ensure)", text(owner.child_by_field_name("name"))
    ):
        return True
    parent = call.parent
    if parent is not None and parent.type == "assignment_expression":
        target = text(parent.child_by_field_name("left"))
        return target != "_" and target.startswith(("_", "this."))
    return False


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


def one_off_allocation(node: Node, loop: Node) -> bool:
    """An allocation in a loop body that does not happen per iteration: lazy initialisation
    (``??=``, ``if (x is null) x = new``), growth when too small, the value returned or
    thrown (the loop ends), an error path (catch), or a cold member (constructor, Dispose)."""
    if cold_member(node):
        return True
    child = node
    for parent in ancestors(node):
        if parent == loop:
            return False
        kind = parent.type
        if (
            kind == "assignment_expression"
            and text(parent.child_by_field_name("operator")) == "??="
        ):
            return True
        if kind in (
            "return_statement",
            "yield_statement",
            "throw_statement",
            "throw_expression",
            "catch_clause",
        ):
            return True
        if kind == "if_statement" and child == parent.child_by_field_name("consequence"):
            if _lazy_or_growth(parent):
                return True
        if kind.endswith("_statement") and _followed_by_exit(parent):
            return True
        child = parent
    return False


_SERVICE_CONDITION = re.compile(
    r"^true$|Cancellation|IsCancellationRequested|WaitToRead|_disposed|_running|_stopping"
)
_POOL_TAKE = re.compile(r"\b(Rent|Pop|TryTake|TryPop|TryDequeue|Dequeue|Get\w*FromPool)\s*\(")


def service_loops(scope: Node) -> list[Node]:
    """Loops that run for the life of a member (``while (true)``, ``while (!token…)``,
    ``await foreach`` over a channel): the per-message part of a long-running method."""
    loops = []
    for node in walk(scope):
        if node.type == "while_statement":
            condition = text(node.child_by_field_name("condition")).strip("() ")
            if _SERVICE_CONDITION.search(condition):
                loops.append(node)
        elif node.type == "for_statement" and node.child_by_field_name("condition") is None:
            loops.append(node)
        elif node.type == "foreach_statement" and any(c.type == "await" for c in node.children):
            loops.append(node)
    return loops


def outside_service_loop(node: Node) -> bool:
    """Setup before a long-running loop, or teardown after it: once per loop, not per message."""
    scope = member(node)
    if scope is None:
        return False
    loops = service_loops(scope)
    return bool(loops) and not any(inside(node, loop) for loop in loops)


def lazy_initialisation(node: Node, limit: Node) -> bool:
    """An allocation made once and kept (``x ??= new …``, ``if (x is null) x = new …``), or the
    fallback of a pool (``pool.Rent() ?? new …``, ``pool.Count > 0 ? pool.Pop() : new …``)."""
    child = node
    for parent in ancestors(node):
        if parent == limit:
            return False
        if parent.type in ("binary_expression", "conditional_expression") and (
            "??" in [text(c) for c in parent.children] or parent.type == "conditional_expression"
        ):
            others = [c for c in parent.named_children if c != child]
            if any(_POOL_TAKE.search(text(c)) for c in others):
                return True
        if (
            parent.type == "assignment_expression"
            and text(parent.child_by_field_name("operator")) == "??="
        ):
            return True
        if parent.type == "if_statement" and child == parent.child_by_field_name("consequence"):
            if _lazy_or_growth(parent):
                return True
        child = parent
    return False


def _lazy_or_growth(branch: Node) -> bool:
    condition = text(branch.child_by_field_name("condition"))
    return bool(re.search(r"\bis null\b|== ?null\b|\.(Length|Count|Capacity)\s*[<>]", condition))


def _followed_by_exit(statement: Node) -> bool:
    sibling = statement.next_named_sibling
    return sibling is not None and sibling.type in ("break_statement", "return_statement")


def caught_by_own_catch(throw: Node, name: str) -> bool:
    """Whether ``throw new <name>`` sits in a try block whose own unfiltered ``catch (<name>)``
    catches it (control flow). Catch-alls and filtered catches are error handlers."""
    child = throw
    for parent in ancestors(throw):
        if parent.type in LAMBDAS or parent.type == "local_function_statement":
            return False
        if parent.type == "catch_clause":
            return False  # wrapping or rethrowing on an error path
        if parent.type == "try_statement" and child == parent.child_by_field_name("body"):
            for clause in (c for c in parent.named_children if c.type == "catch_clause"):
                declaration = next(
                    (c for c in clause.named_children if c.type == "catch_declaration"), None
                )
                filtered = any(c.type == "catch_filter_clause" for c in clause.named_children)
                caught = text(declaration.child_by_field_name("type")) if declaration else ""
                if caught.rsplit(".", 1)[-1] == name and not filtered:
                    return True
        child = parent
    return False


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
