"""Shapes that look like a hot-path rule breach and are not, read off the syntax tree.

Found by judging findings on real code (see ``tests/fixtures/judged_findings.jsonl``): an
exception's message is formatted only when it is thrown; a ``.Result`` after ``await
Task.WhenAll`` does not block; ``??=`` allocates once; a protocol reader's ``Skip(n)`` is not
LINQ's; a loop's header runs once; a ``throw`` on a timeout or error path is not control flow.
What a name refers to (its type, a task, a closure's captures) is :mod:`tools.source.receivers`.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from tools.source.receivers import MEMBERS, member
from tools.source.syntax import LAMBDAS, ancestors, inside, text, walk

COLD_MEMBER_NAMES = frozenset({"Dispose", "DisposeAsync", "ToString", "Finalize"})
"""Members that run once per object's life or for diagnostics, not per message."""


_GUARDS = re.compile(r"\bIsEnabled\b|\bIs(Debug|Trace|Verbose)Enabled\b|\bHasListeners\b")
"""Conditions that hold only while someone listens: logging levels, tracing listeners."""


_THROW_HELPER = re.compile(r"Throw([A-Z]\w*)?")
"""``NatsException.Throw(…)``, ``ThrowHelper.ThrowArgument(…)``: methods that only throw."""


_DIAGNOSTIC_CALLS = re.compile(r"(Debug|Trace)\.(Assert|Fail|Write\w*)|nameof")


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
