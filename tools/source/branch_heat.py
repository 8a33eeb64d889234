"""Which side of an ``if``/``else`` a trace shows running, from the calls each side makes.

A hot method is not hot on every line. A consumer's receive method may take one branch for each
data message and the other for the server's occasional status messages: a lock on the status
branch is not a per-message lock, and nothing in the source says which branch is which. The
trace does: samples under a method are recorded with the frame it called, so the calls a branch
always makes (not those behind a further condition, loop or lambda) are seen in proportion to
how often the branch runs, give or take their cost. When the calls one side always makes carry
no sample under this method while the other side's carry many, the first side is cold in this
trace, and a per-message rule's finding there is not evidence of a per-message cost.

Absence is weak evidence: a side with no calls, or whose sibling has few samples, is never
called cold (inlined or very cheap calls could hide it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from tree_sitter import Node

from tools.source.receivers import called_name
from tools.source.syntax import LAMBDAS, LOOPS, MEMBER_DECLARATIONS, flat, text, walk

MIN_SIBLING_SAMPLES = 50
"""Samples the other side's calls need before this side's silence means anything."""

_SKIPPED = LOOPS | LAMBDAS | MEMBER_DECLARATIONS | {"switch_statement", "catch_clause"}
"""Bodies that run zero or more times when their statement runs: not always."""
_CONDITIONAL_FIELDS = {
    "if_statement": ("consequence", "alternative"),
    "conditional_expression": ("consequence", "alternative"),
    "switch_expression": None,  # every arm is conditional
}


def cold_branch(method: Node, line: int, samples: Mapping[str, int]) -> str | None:
    """Why the trace shows the branch holding ``line`` cold, or None when it does not.

    The innermost ``if``/``else`` around ``line`` (within ``method``) whose side holding the
    line makes calls, none of them sampled, while the other side's calls carry at least
    :data:`MIN_SIBLING_SAMPLES` samples.
    """
    node = _node_at(method, line)
    while node is not None and node != method:
        parent = node.parent
        if parent is not None and parent.type == "if_statement":
            why = _compare(parent, node, samples)
            if why is not None:
                return why
        node = parent
    return None


def _compare(statement: Node, side: Node, samples: Mapping[str, int]) -> str | None:
    consequence = statement.child_by_field_name("consequence")
    alternative = statement.child_by_field_name("alternative")
    if alternative is None or side not in (consequence, alternative):
        return None
    other = alternative if side == consequence else consequence
    here = sorted(set(always_called(side)))
    there = sorted(set(always_called(other)) if other is not None else set())
    here_n = sum(samples.get(n, 0) for n in here)
    there_n = sum(samples.get(n, 0) for n in there)
    if not here or here_n or there_n < MIN_SIBLING_SAMPLES:
        return None
    sampled = [n for n in there if samples.get(n, 0)]
    condition = flat(statement.child_by_field_name("condition"))[:60]
    which = "if" if side == consequence else "else"
    return (
        f"on the {which} side of `if ({condition})`, which this trace shows cold: the calls it "
        f"always makes ({', '.join(here[:3])}) have no sample under this method, the other "
        f"side's ({', '.join(sampled[:3])}) have {there_n}"
    )


def always_called(branch: Node) -> Iterator[str]:
    """Names called (or constructed) whenever ``branch`` runs: conditions of nested ``if``
    statements count, their bodies, loops, lambdas, short-circuited operands and whatever
    follows a statement that may leave the block (``if (done) return;``) do not."""
    stack = [branch]
    while stack:
        node = stack.pop()
        if _null_conditional(node):
            continue  # ``a?.M(…)``: neither the call nor its arguments run when ``a`` is null
        if node.type == "invocation_expression":
            name = called_name(node)
            if name:
                yield name
        elif node.type == "object_creation_expression":
            created = node.child_by_field_name("type")
            if created is not None:
                yield text(created).split("<", 1)[0].rsplit(".", 1)[-1].strip()
        stack.extend(_always_run_children(node))


def _null_conditional(node: Node) -> bool:
    function = node.child_by_field_name("function")
    return node.type == "conditional_access_expression" or (
        node.type == "invocation_expression"
        and function is not None
        and function.type == "conditional_access_expression"
    )


def _always_run_children(node: Node) -> list[Node]:
    if node.type in _SKIPPED:
        return []
    if node.type == "block":
        return _until_an_exit(node.children)
    if node.type in _CONDITIONAL_FIELDS:
        fields = _CONDITIONAL_FIELDS[node.type]
        if fields is None:
            return []
        skipped = {node.child_by_field_name(f) for f in fields}
        return [c for c in node.children if c not in skipped]
    if node.type == "binary_expression" and text(node.child_by_field_name("operator")) in (
        "&&",
        "||",
        "??",
    ):
        left = node.child_by_field_name("left")
        return [left] if left is not None else []
    return list(node.children)


_EXITS = frozenset({"return_statement", "break_statement", "continue_statement", "goto_statement"})
"""Statements that leave a block on a normal run. A ``throw`` is not one: the error path is the
rare one, and the code after it runs on every run that does not fail."""


def _until_an_exit(statements: list[Node]) -> list[Node]:
    """A block's statements up to the first that may leave it (``if (done) return;``): what
    follows runs only when it does not."""
    out = []
    for statement in statements:
        out.append(statement)
        if _may_exit(statement):
            break
    return out


def _may_exit(node: Node) -> bool:
    if node.type in _EXITS:
        return True
    if node.type in LAMBDAS or node.type in MEMBER_DECLARATIONS:
        return False  # a return in there leaves the lambda, not this block
    return any(_may_exit(child) for child in node.named_children)


def _node_at(method: Node, line: int) -> Node | None:
    """The first named node starting on ``line`` (1-based) inside ``method``."""
    row = line - 1
    return next((n for n in walk(method) if n.start_point[0] == row and n.is_named), None)
