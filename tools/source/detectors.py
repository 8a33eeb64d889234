"""Lexical detectors for the hot-path rules, run on comment/string-masked C# text.

Each detector takes the masked text of a whole file and a region ``[start, end)`` and returns
``(rule id, offset, detail)`` hits inside the region. Masking guarantees that comments and
string contents never match; interpolation holes are code and do match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

Hit = tuple[str, int, str]

WELL_KNOWN_STRUCTS = frozenset(
    "Span ReadOnlySpan Memory ReadOnlyMemory ValueTask KeyValuePair DateTime DateTimeOffset "
    "TimeSpan Guid CancellationToken ValueTuple ArraySegment SpinWait Vector Index Range "
    "decimal int long byte bool double float char short".split()
)
"""Types whose ``new`` does not allocate on the heap (the repo's own structs are added)."""

LINQ_METHODS = (
    "Select|SelectMany|Where|Any|All|First|FirstOrDefault|Last|LastOrDefault|Single|"
    "SingleOrDefault|OrderBy|OrderByDescending|ThenBy|GroupBy|Aggregate|Sum|Min|Max|Average|"
    "Count|LongCount|Skip|Take|Distinct|Concat|Zip|ToDictionary|ToHashSet|ToLookup|Cast|OfType|"
    "Reverse|SequenceEqual|DefaultIfEmpty|Join|GroupJoin|Union|Intersect|Except"
)
NOT_STATIC_RECEIVER = "".join(
    f"(?<!\\b{name})"
    for name in "Math MathF Array string String Interlocked Volatile Task Span Buffer".split()
)
"""Same-named static methods that are not LINQ (``Math.Min``, ``string.Join``, …)."""
LAMBDA_KEYWORDS = frozenset(
    "new null true false default this base typeof nameof sizeof is as await return static var "
    "out ref in throw async checked unchecked".split()
)

_SIMPLE: dict[str, list[re.Pattern[str]]] = {
    "blocking-wait": [
        re.compile(r"\.\s*Wait\s*\("),
        re.compile(r"\.\s*GetAwaiter\s*\(\s*\)\s*\.\s*GetResult\s*\("),
    ],
    "lock": [
        re.compile(r"\block\s*\("),
        re.compile(r"\bMonitor\s*\.\s*(Enter|TryEnter|Wait)\b"),
    ],
    "linq": [
        re.compile(rf"{NOT_STATIC_RECEIVER}\.\s*({LINQ_METHODS})\s*(<[^<>;()]*>)?\s*\("),
        re.compile(r"\bfrom\s+\w+\s+in\s+\w[^;]*\bselect\b"),
    ],
    "params-toarray": [
        re.compile(r"\bparams\b"),
        re.compile(r"\.\s*(ToArray|ToList)\s*\("),
    ],
    "yield": [re.compile(r"\byield\s+(return|break)\b")],
    "string-format": [
        re.compile(r"(\$+@?|@\$+)\""),
        re.compile(r"\b[Ss]tring\s*\.\s*Format\s*\("),
    ],
    "task-run": [
        re.compile(r"\bTask\s*\.\s*Run\s*[<(]"),
        re.compile(r"\bTask\s*\.\s*Factory\s*\.\s*StartNew\s*[<(]"),
    ],
    "boxing": [
        re.compile(r"(?<!\))(?<!\)\s)\(\s*object\s*\)\s*[\w(]"),
        re.compile(r"\bobject\??\s+\w+\s*=(?!=)(?!\s*(?:null|new|default)\b)"),
    ],
}


_AWAIT = re.compile(r"\bawait\b")
_GENERIC_ARGS = re.compile(r"<[\w\s,.?\[\]<>()]*?>(?=\s*\()")
_RESULT = re.compile(r"(?P<receiver>\)|[A-Za-z_]\w*)\s*\.\s*Result\b(?!\s*\()")
_CATCH = re.compile(r"\s*catch\b\s*(?:\(\s*(?P<type>[\w.]+)[^)]*\))?\s*(?:when\s*(?P<when>\())?")
_THROWN = re.compile(r"throw\s+new\s+(?P<type>[\w.]+)")
_LOOP = re.compile(r"\b(for|foreach|while)\s*\(|\bdo\s*\{")
_TRY = re.compile(r"\btry\s*\{")
_THROW = re.compile(r"\bthrow\b(?!\s*;)")
_ARROW = re.compile(r"=>")


@dataclass
class Region:
    """A span of one file's masked text to scan.

    Attributes:
        masked: the whole file, masked.
        start: first offset of the region.
        end: offset just past the region.
        skip_arrows: offsets of ``=>`` that belong to expression-bodied members, not lambdas.
        locals: names of parameters and locals in scope (for capture detection).
        structs: type names whose ``new`` is a value, not a heap allocation.
    """

    masked: str
    start: int
    end: int
    skip_arrows: frozenset[int] = frozenset()
    locals: frozenset[str] = frozenset()
    structs: frozenset[str] = field(default_factory=frozenset)


def detect(region: Region) -> list[Hit]:
    """Every hit of every detector in ``region``, sorted by offset."""
    hits: list[Hit] = []
    text = region.masked
    for rule, patterns in _SIMPLE.items():
        for pattern in patterns:
            for m in pattern.finditer(text, region.start, region.end):
                hits.append((rule, m.start(), m.group().strip()))
    for detector in DETECTORS:
        hits.extend(detector(region))
    hits = [h for h in hits if not (h[0] == "string-format" and _in_throw(text, h[1]))]
    return sorted(set(hits), key=lambda h: (h[1], h[0]))


def _in_throw(text: str, pos: int) -> bool:
    """Whether ``pos`` is in a ``throw`` statement (messages of exceptions are cold)."""
    start = max(text.rfind(";", 0, pos), text.rfind("{", 0, pos), text.rfind("}", 0, pos))
    return re.search(r"\bthrow\b", text[start + 1 : pos]) is not None


def missing_configure_await(region: Region) -> Iterator[Hit]:
    """``await`` whose awaited expression has no ``.ConfigureAwait(``."""
    text = region.masked
    for m in _AWAIT.finditer(text, region.start, region.end):
        extent = text[m.end() : _expression_end(text, m.end(), region.end)]
        if "ConfigureAwait" in extent or re.search(r"Task\s*\.\s*Yield\s*\(", extent):
            continue
        yield "configure-await", m.start(), "await " + " ".join(extent.split())[:60]


def _expression_end(text: str, pos: int, limit: int) -> int:
    """End of an expression: ``;``, ``{``, or a ``,``/closing bracket at depth 0."""
    depth = 0
    while pos < limit:
        ch = text[pos]
        if (
            ch == "<"
            and depth == 0
            and pos > 0
            and (text[pos - 1].isalnum() or text[pos - 1] == "_")
        ):
            generic = _GENERIC_ARGS.match(text, pos, limit)
            if generic:
                pos = generic.end()
                continue
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth < 0:
                return pos
        elif ch in ";{}" and depth <= 0:
            return pos
        elif ch == "," and depth == 0:
            return pos
        pos += 1
    return pos


def matching(text: str, open_at: int, limit: int) -> int:
    """Offset of the bracket closing the one at ``open_at`` (or ``limit``)."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    opener = text[open_at]
    closer = pairs[opener]
    depth = 0
    for i in range(open_at, limit):
        if text[i] == opener:
            depth += 1
        elif text[i] == closer:
            depth -= 1
            if depth == 0:
                return i
    return limit


def loop_bodies(region: Region) -> Iterator[tuple[int, int]]:
    """(start, end) of every for/foreach/while/do body in the region."""
    text = region.masked
    for m in _LOOP.finditer(text, region.start, region.end):
        pos = m.end() - 1
        if text[pos] == "(":
            pos = _skip_space(text, matching(text, pos, region.end) + 1)
        if pos >= region.end or text[pos] == ";":
            continue  # the ``while (…);`` of a do/while
        if text[pos] == "{":
            yield pos, matching(text, pos, region.end)
        else:
            yield pos, _expression_end(text, pos, region.end)


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


_NEW = re.compile(
    r"\bnew\b\s*(?:(?P<type>[A-Za-z_][\w.]*)\s*(?:<[^;{}()]*?>)?\s*)?(?P<open>[\[({])"
)


def allocations_in_loops(region: Region) -> Iterator[Hit]:
    """``new T(…)`` / ``new T[…]`` / ``new()`` inside a loop body (not of a struct or exception)."""
    text = region.masked
    seen: set[int] = set()
    for start, end in loop_bodies(region):
        for m in _NEW.finditer(text, start, end):
            type_name = (m.group("type") or "").rsplit(".", 1)[-1]
            value = type_name in region.structs or type_name in WELL_KNOWN_STRUCTS
            if m.start() in seen or (value and m.group("open") != "["):
                continue
            if type_name.endswith("Exception") or re.search(r"throw\s*$", text[start : m.start()]):
                continue
            seen.add(m.start())
            yield "alloc-in-loop", m.start(), " ".join(text[m.start() : m.end()].split())


def throws_caught_locally(region: Region) -> Iterator[Hit]:
    """``throw`` inside a ``try`` whose own ``catch`` clauses would catch it."""
    text = region.masked
    for m in _TRY.finditer(text, region.start, region.end):
        open_at = m.end() - 1
        close = matching(text, open_at, region.end)
        caught = _caught_types(text, close + 1, region.end)
        if not caught:
            continue
        for t in _THROW.finditer(text, open_at, close):
            thrown = _THROWN.match(text, t.start())
            name = thrown.group("type").rsplit(".", 1)[-1] if thrown else None
            if caught & {"*", "Exception"} or (name and name in caught):
                yield "throw-control-flow", t.start(), f"throw {name or '…'} (caught below)"


def _caught_types(text: str, pos: int, limit: int) -> set[str]:
    """Exception type names of the catch clauses at ``pos`` (``*`` for a bare catch)."""
    types: set[str] = set()
    while True:
        m = _CATCH.match(text, pos, limit)
        if m is None:
            return types
        types.add((m.group("type") or "*").rsplit(".", 1)[-1])
        pos = m.end()
        if m.group("when"):
            pos = matching(text, m.start("when"), limit) + 1
        pos = _skip_space(text, pos)
        if pos >= limit or text[pos] != "{":
            return types
        pos = matching(text, pos, limit) + 1


def blocking_results(region: Region) -> Iterator[Hit]:
    """``task.Result`` / ``Call().Result`` not guarded by an ``IsCompleted`` check just before."""
    text = region.masked
    for m in _RESULT.finditer(text, region.start, region.end):
        receiver = m.group("receiver")
        if receiver != ")" and "task" not in receiver.lower():
            continue  # ``.Result`` of a result record, not of a task
        if "IsCompleted" in text[max(region.start, m.start() - 300) : m.start()]:
            continue  # the synchronous fast path of a completed ValueTask/Task
        yield "blocking-wait", m.start("receiver"), ".Result"


def capturing_lambdas(region: Region) -> Iterator[Hit]:
    """Non-static lambdas whose body uses a local or parameter of the enclosing method."""
    text = region.masked
    for m in _ARROW.finditer(text, region.start, region.end):
        if m.start() in region.skip_arrows:
            continue
        params_start, params = _lambda_params(text, m.start())
        if params is None or _not_a_lambda(text, params_start):
            continue
        body_end = _lambda_body_end(text, m.end(), region.end)
        used = set(re.findall(r"(?<![.\w])[A-Za-z_]\w*", text[m.end() : body_end]))
        captured = sorted((used & region.locals) - set(params) - LAMBDA_KEYWORDS)
        if captured:
            yield "capturing-lambda", params_start, "captures " + ", ".join(captured)


def _lambda_params(text: str, arrow: int) -> tuple[int, list[str] | None]:
    i = arrow - 1
    while i >= 0 and text[i].isspace():
        i -= 1
    if i >= 0 and text[i] == ")":
        depth = 0
        j = i
        while j >= 0:
            if text[j] == ")":
                depth += 1
            elif text[j] == "(":
                depth -= 1
                if depth == 0:
                    break
            j -= 1
        inner = text[j + 1 : i]
        names = [p.split()[-1] for p in inner.split(",") if p.split()]
        return j, names
    m = re.search(r"[A-Za-z_]\w*$", text[max(0, i - 200) : i + 1])
    if m is None:
        return i, None
    return i + 1 - len(m.group()), [m.group()]


def _not_a_lambda(text: str, params_start: int) -> bool:
    """Static lambdas, accessors and switch-expression arms are not capturing lambdas."""
    before = text[max(0, params_start - 40) : params_start].split()
    last = before[-1] if before else ""
    if last in ("static", "get", "set", "init", "add", "remove", "case"):
        return True
    if last == "async" and len(before) > 1 and before[-2] == "static":
        return True
    return _inside_switch_expression(text, params_start)


def _inside_switch_expression(text: str, pos: int) -> bool:
    depth = 0
    for i in range(pos - 1, -1, -1):
        ch = text[i]
        if ch == "}":
            depth += 1
        elif ch == "{":
            if depth == 0:
                return bool(re.search(r"\bswitch\s*$", text[max(0, i - 20) : i]))
            depth -= 1
        elif ch == ";" and depth == 0:
            return False
    return False


def _lambda_body_end(text: str, pos: int, limit: int) -> int:
    pos = _skip_space(text, pos)
    if pos < limit and text[pos] == "{":
        return matching(text, pos, limit)
    return _expression_end(text, pos, limit)


DETECTORS: tuple[Callable[[Region], Iterator[Hit]], ...] = (
    missing_configure_await,
    allocations_in_loops,
    throws_caught_locally,
    capturing_lambdas,
    blocking_results,
)
