"""Calls whose task is already complete when they return: blocking on them blocks nothing.

Libraries that serve sync and async callers from one body pass a flag: ``Task<bool>
Read(bool async)`` awaits the socket when ``async`` is true and reads it synchronously when it
is false, so the sync overload's ``Read(false).GetAwaiter().GetResult()`` (or ``Read(async:
false)``) unwraps a finished task: no thread waits on another, no sync-over-async. Found on a
database client whose whole read and write path is written this way.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from tools.source.receivers import called_name
from tools.source.syntax import captures, query, text

ASYNC_FLAG = re.compile(r"(is|use|run)?_?async", re.IGNORECASE)
"""Names of the ``bool`` parameter that chooses sync or async I/O (``async``, ``isAsync``)."""
_DECLARATIONS = query(
    """
    (method_declaration) @m
    (local_function_statement) @m
    """
)


def completes_synchronously(task: Node) -> bool:
    """Whether ``task`` (the receiver of ``.GetAwaiter()``/``.Wait()``) is a call that passes
    ``false`` for its sync-or-async flag, or a choice (``c ? A(false) : B(false)``) of such."""
    while task.type == "parenthesized_expression" and task.named_children:
        task = task.named_children[0]
    if task.type == "conditional_expression":
        branches = [task.child_by_field_name(f) for f in ("consequence", "alternative")]
        return all(b is not None and completes_synchronously(b) for b in branches)
    if task.type != "invocation_expression":
        return False
    arguments = task.child_by_field_name("arguments")
    if arguments is None:
        return False
    args = [a for a in arguments.named_children if a.type == "argument"]
    for position, arg in enumerate(args):
        value = arg.named_children[-1] if arg.named_children else None
        if value is None or text(value) != "false":
            continue
        name = arg.child_by_field_name("name")
        if name is not None:
            if ASYNC_FLAG.fullmatch(text(name)):
                return True
        elif _flag_at(task, position):
            return True
    return False


def _flag_at(call: Node, position: int) -> bool:
    """Whether a same-named method in the call's file takes its sync-or-async flag at
    ``position`` (the positional ``Read(false)`` of ``Read(bool async, …)``)."""
    name = called_name(call)
    root = call
    while root.parent is not None:
        root = root.parent
    for declaration in captures(_DECLARATIONS, root).get("m", []):
        if text(declaration.child_by_field_name("name")) != name:
            continue
        parameters = declaration.child_by_field_name("parameters")
        params = [
            p for p in (parameters.named_children if parameters else []) if p.type == "parameter"
        ]
        if position < len(params):
            param = params[position]
            if text(param.child_by_field_name("type")) == "bool" and ASYNC_FLAG.fullmatch(
                text(param.child_by_field_name("name"))
            ):
                return True
    return False
