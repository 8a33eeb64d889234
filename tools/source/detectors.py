"""Detectors for the hot-path rules, run on C# syntax trees.

Each detector takes a :class:`Region` (a declaration or a whole file) and yields
``(rule id, line, detail)`` hits inside it. Comments and string contents are tree nodes of
their own, so they never match; interpolation holes are expressions and do. Each detector
also knows the shapes that look like a breach and are not (an exception's message, a
``.Result`` on a task already awaited, a protocol reader's ``Skip``): see ``cold_paths``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tree_sitter import Node

from tools.source import cold_paths as cold
from tools.source import receivers
from tools.source.sync_completion import completes_synchronously
from tools.source.syntax import (
    LAMBDAS,
    LOOPS,
    MEMBER_DECLARATIONS,
    ancestors,
    captures,
    enclosing,
    flat,
    has_modifier,
    line,
    query,
    text,
)

Hit = tuple[str, int, str]
"""(rule id, line, detail)."""
NodeHit = tuple[str, Node, str]
SETUP_SENSITIVE = frozenset(
    {
        "lock",
        "linq",
        "string-format",
        "capturing-lambda",
        "boxing",
        "task-run",
        "params-toarray",
        "alloc-in-loop",
    }
)
"""Rules about per-iteration cost: setup before a service loop or teardown after it is exempt."""

WELL_KNOWN_STRUCTS = frozenset(
    "Span ReadOnlySpan Memory ReadOnlyMemory ValueTask KeyValuePair DateTime DateTimeOffset "
    "TimeSpan Guid CancellationToken ValueTuple ArraySegment SpinWait Vector Index Range "
    "decimal int long byte bool double float char short uint ulong ushort sbyte nint nuint".split()
)
"""Types whose ``new`` does not allocate on the heap (the repo's own structs are added)."""

LINQ_METHODS = frozenset(
    "Select SelectMany Where Any All First FirstOrDefault Last LastOrDefault Single "
    "SingleOrDefault OrderBy OrderByDescending ThenBy GroupBy Aggregate Sum Min Max Average "
    "Count LongCount Skip Take Distinct Concat Zip ToDictionary ToHashSet ToLookup Cast OfType "
    "DefaultIfEmpty Join GroupJoin Union Intersect Except SkipWhile TakeWhile".split()
)
"""Enumerable's operators (``SequenceEqual``/``Reverse`` are left out: on spans they are
MemoryExtensions, allocation-free)."""
STATIC_RECEIVERS = frozenset(
    "Math MathF Array string String Interlocked Volatile Task Span Buffer BitConverter "
    "BinaryPrimitives Vector Unsafe MemoryMarshal Debug TimeSpan Environment".split()
)
"""Same-named static methods that are not LINQ (``Math.Min``, ``string.Join``, …)."""

_NODES = query(
    """
    (await_expression) @await
    (foreach_statement) @foreach
    (using_statement) @using
    (local_declaration_statement) @decl
    (invocation_expression) @call
    (member_access_expression) @member
    (lock_statement) @lock
    (query_expression) @query
    (parameter) @parameter
    (yield_statement) @yield
    (interpolated_string_expression) @interpolated
    (object_creation_expression) @new
    (implicit_object_creation_expression) @new
    (array_creation_expression) @new
    (implicit_array_creation_expression) @new
    (throw_statement) @throw
    (lambda_expression) @lambda
    (anonymous_method_expression) @lambda
    (cast_expression) @cast
    """
)


@dataclass
class Region:
    """What one scan looks at.

    Attributes:
        node: the declaration (or the file's root) to scan.
        structs: type names whose ``new`` is a value, not a heap allocation.
        repo_methods: method names the repository declares (a call to one of them named like
            a LINQ operator may be the repository's own method).
        per_message_only: rule ids whose text bans them per message only (one-time startup
            work, such as a ``Task.Run`` starting a loop in a constructor, is then allowed).
    """

    node: Node
    structs: frozenset[str] = field(default_factory=frozenset)
    repo_methods: frozenset[str] = field(default_factory=frozenset)
    per_message_only: frozenset[str] = field(default_factory=frozenset)
    _nodes: dict[str, list[Node]] | None = field(default=None, repr=False)

    def nodes(self, name: str) -> list[Node]:
        """The region's nodes of one capture of the detectors' query."""
        if self._nodes is None:
            self._nodes = captures(_NODES, self.node)
        return self._nodes.get(name, [])


def detect(region: Region) -> list[Hit]:
    """Every hit of every detector in ``region``, sorted by line."""
    hits = {
        (rule, line(node), detail)
        for detector in DETECTORS
        for rule, node, detail in detector(region)
        if rule not in SETUP_SENSITIVE or not cold.outside_service_loop(node)
        if not cold.legacy_branch(node)
        if not _in_own_frame(node, region.node)
    }
    return sorted(hits, key=lambda h: (h[1], h[0]))


def _in_own_frame(node: Node, scope: Node) -> bool:
    """Inside an ``async`` local function nested in ``scope``: the compiler makes it a state
    machine of its own (``<<Get>g__RentAsync|4_0>d.MoveNext``), never inlined into the method
    around it, so that method's samples and rules do not reach it (scan it by its own frame).
    A whole file's scan keeps everything."""
    if scope.type not in MEMBER_DECLARATIONS:
        return False
    for parent in ancestors(node):
        if parent.start_byte == scope.start_byte and parent.end_byte == scope.end_byte:
            return False
        if parent.type == "local_function_statement" and has_modifier(parent, "async"):
            return True
    return False


def missing_configure_await(region: Region) -> Iterator[NodeHit]:
    """``await`` (also ``await foreach`` / ``await using``) with no ``.ConfigureAwait(``."""
    for node in region.nodes("await"):
        awaited = node.named_children[0] if node.named_children else None
        shown = flat(awaited)
        if "ConfigureAwait" in _call_names(awaited) or re.match(r"Task\s*\.\s*Yield\b", shown):
            continue
        if awaited is not None and awaited.type == "object_creation_expression":
            continue  # ``await new SchedulerAwaitable(…)``: an awaiter of its own, no context

        yield "configure-await", node, "await " + shown[:60]
    for kind in ("foreach", "using", "decl"):
        for node in region.nodes(kind):
            if any(c.type == "await" for c in node.children) and "ConfigureAwait" not in text(
                node.child_by_field_name("right") or node
            ):
                yield "configure-await", node, flat(node)[:60]


def _call_names(node: Node | None) -> set[str]:
    """Names of the methods called along a call chain (``a.B().C()`` -> {B, C})."""
    names: set[str] = set()
    while node is not None and node.type in ("invocation_expression", "member_access_expression"):
        if node.type == "invocation_expression":
            node = node.child_by_field_name("function")
            continue
        names.add(text(node.child_by_field_name("name")))
        node = node.child_by_field_name("expression")
    return names


def calls(region: Region) -> Iterator[NodeHit]:
    """Banned calls: ``.Wait()``, ``GetAwaiter().GetResult()``, Monitor, LINQ, ToArray/ToList,
    string.Format, Task.Run."""
    for node in region.nodes("call"):
        function = node.child_by_field_name("function")
        if function is None or function.type != "member_access_expression":
            continue
        name = _generic_base(text(function.child_by_field_name("name")))
        receiver = function.child_by_field_name("expression")
        hit = _call_rule(region, node, name, receiver)
        if hit is not None:
            yield hit[0], node, hit[1]


def _call_rule(
    region: Region, call: Node, name: str, receiver: Node | None
) -> tuple[str, str] | None:
    owner = text(receiver)
    if name == "Wait" and receiver is not None and receivers.task_like(receiver, call):
        if receivers.task_completed(call, receiver) or completes_synchronously(receiver):
            return None
        return "blocking-wait", f"{owner}.Wait()"
    if name == "GetResult" and "GetAwaiter" in _call_names(receiver):
        task = _innermost_receiver(receiver)
        if task is not None and (
            receivers.task_completed(call, task) or completes_synchronously(task)
        ):
            return None
        return "blocking-wait", ".GetAwaiter().GetResult()"
    if owner == "Monitor" and name in ("Enter", "TryEnter", "Wait"):
        return "lock", f"Monitor.{name}"
    if name in ("ToArray", "ToList"):
        return None if cold.cold_string(call) else ("params-toarray", f".{name}()")
    if owner in ("string", "String") and name == "Format":
        return None if cold.cold_string(call) else ("string-format", "string.Format")
    if owner == "Task" and name == "Run" or owner == "Task.Factory" and name == "StartNew":
        if "task-run" in region.per_message_only and cold.startup_work(call):
            return None
        return "task-run", f"{owner}.{name}"
    if (
        name in LINQ_METHODS
        and owner not in STATIC_RECEIVERS
        and receivers.looks_like_linq(call, name, region.repo_methods, receiver)
    ):
        return "linq", f".{name}(…)"
    return None


def _generic_base(name: str) -> str:
    return name.split("<", 1)[0].strip()


def _innermost_receiver(node: Node | None) -> Node | None:
    """``t.GetAwaiter()`` -> ``t``."""
    if node is not None and node.type == "invocation_expression":
        function = node.child_by_field_name("function")
        if function is not None and function.type == "member_access_expression":
            return function.child_by_field_name("expression")
    return None


def blocking_results(region: Region) -> Iterator[NodeHit]:
    """``task.Result`` on a task not known to be complete (awaited, or checked just before)."""
    for node in region.nodes("member"):
        if text(node.child_by_field_name("name")) != "Result":
            continue
        parent = node.parent
        if parent is not None and parent.type == "invocation_expression":
            continue  # ``x.Result(…)`` is a method of that name
        receiver = node.child_by_field_name("expression")
        if receiver is None or not receivers.task_like(receiver, node):
            continue
        if receivers.task_completed(node, receiver):
            continue
        yield "blocking-wait", node, f"{flat(receiver)[:40]}.Result"


def locks_and_queries(region: Region) -> Iterator[NodeHit]:
    """``lock (…)`` statements and LINQ query syntax."""
    for node in region.nodes("lock"):
        yield "lock", node, f"lock ({flat(node.named_children[0])[:40]})"
    for node in region.nodes("query"):
        yield "linq", node, "query expression"


def declarations(region: Region) -> Iterator[NodeHit]:
    """``params`` parameters and ``yield`` iterators."""
    for node in region.nodes("parameter"):
        if any(c.type == "params" or text(c) == "params" for c in node.children):
            yield "params-toarray", node, "params " + flat(node)[:40]
    for node in region.nodes("yield"):
        if not cold.async_stream(node):
            yield "yield", node, flat(node)[:40]


def string_formatting(region: Region) -> Iterator[NodeHit]:
    """Interpolated strings with holes, outside exception messages and guarded logging."""
    for node in region.nodes("interpolated"):
        if not any(c.type == "interpolation" for c in node.children):
            continue  # ``$"text"`` without holes is a constant
        if cold.cold_string(node):
            continue
        yield "string-format", node, flat(node)[:60]


def allocations_in_loops(region: Region) -> Iterator[NodeHit]:
    """``new T(…)`` / ``new T[…]`` / ``new()`` in a loop body, per iteration of the loop."""
    for node in region.nodes("new"):
        loop = _loop_body_around(node, region.node)
        if loop is None or cold.one_off_allocation(node, loop):
            continue
        type_name = _created_type(node)
        is_array = "array" in node.type
        if not is_array and (type_name in region.structs or type_name in WELL_KNOWN_STRUCTS):
            continue
        if type_name.endswith("Exception"):
            continue
        yield "alloc-in-loop", node, flat(node)[:60]


def _created_type(node: Node) -> str:
    type_node = node.child_by_field_name("type")
    name = _generic_base(text(type_node)).rsplit(".", 1)[-1]
    return name.split("[", 1)[0]


def _loop_body_around(node: Node, limit: Node) -> Node | None:
    """The loop whose body holds ``node`` (not its header: that runs once), within ``limit``.

    A lambda or local function in between ends the search: its body runs when it is called.
    """
    child = node
    parent = node.parent
    while parent is not None and child != limit:
        if parent.type in LAMBDAS or parent.type == "local_function_statement":
            return None
        if parent.type in LOOPS and parent.child_by_field_name("body") == child:
            return parent
        if parent.type == "do_statement" and child.type == "block":
            return parent
        child, parent = parent, parent.parent
    return None


def throws_caught_locally(region: Region) -> Iterator[NodeHit]:
    """``throw new X`` inside a ``try`` whose own ``catch (X)`` swallows it: control flow.

    A catch-all (``catch``, ``catch (Exception)``) or a filtered catch is an error path, and a
    throw inside a catch or a cold branch is one too: neither is reported.
    """
    for node in region.nodes("throw"):
        thrown = node.named_children[0] if node.named_children else None
        if thrown is None or thrown.type != "object_creation_expression":
            continue
        name = _created_type(thrown)
        if cold.caught_by_own_catch(node, name):
            yield "throw-control-flow", node, f"throw {name} (caught below)"


def capturing_lambdas(region: Region) -> Iterator[NodeHit]:
    """Non-static lambdas whose body uses a local or parameter of the enclosing method."""
    for node in region.nodes("lambda"):
        if has_modifier(node, "static") or any(text(c) == "static" for c in node.children[:2]):
            continue
        captured = receivers.captured_names(node)
        if captured:
            yield "capturing-lambda", node, "captures " + ", ".join(captured[:4])


def boxing(region: Region) -> Iterator[NodeHit]:
    """A value-type local or parameter cast to, or stored as, ``object``."""
    for node in region.nodes("cast"):
        value = node.child_by_field_name("value")
        if text(node.child_by_field_name("type")) == "object" and value is not None:
            if receivers.value_typed(value, region.structs):
                yield "boxing", node, flat(node)[:40]
    for node in region.nodes("decl"):
        declaration = node.named_children[-1] if node.named_children else None
        if declaration is None or declaration.type != "variable_declaration":
            continue
        if text(declaration.child_by_field_name("type")).rstrip("?") != "object":
            continue
        for declarator in declaration.named_children[1:]:
            value = declarator.named_children[-1] if len(declarator.named_children) > 1 else None
            if value is not None and receivers.value_typed(value, region.structs):
                yield "boxing", node, flat(node)[:40]


DETECTORS: tuple[Callable[[Region], Iterator[NodeHit]], ...] = (
    missing_configure_await,
    calls,
    blocking_results,
    locks_and_queries,
    declarations,
    string_formatting,
    allocations_in_loops,
    throws_caught_locally,
    capturing_lambdas,
    boxing,
)


def member_of(node: Node) -> Node | None:
    """The member declaration around ``node`` (for per-member context)."""
    return enclosing(node, receivers.MEMBERS)
