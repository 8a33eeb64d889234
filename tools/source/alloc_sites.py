"""Which line of a method allocates a given type, and what to do about it.

An allocation sample names a type (``System.Byte[]``) and a stack; the deepest target frame
gives the method, and this module finds the expression in that method most likely to allocate
the type (``new byte[``, ``$"…"`` for strings, a capturing lambda for a closure class …).
"""

from __future__ import annotations

import re

from tools.source.csharp_lexer import line_of
from tools.source.symbol_index import Symbol, SymbolIndex

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


def allocation_line(index: SymbolIndex, symbol: Symbol, type_name: str) -> tuple[int, str]:
    """(line, rule id) of the expression in ``symbol`` most likely allocating ``type_name``."""
    source = index.files[symbol.file]
    start = source.starts[symbol.start_line - 1]
    end = source.starts[symbol.end_line] if symbol.end_line < len(source.starts) else None
    text = source.masked[: end if end is not None else len(source.masked)]
    category = categorize(type_name, index.struct_names)
    for pattern in _patterns(type_name, category):
        match = re.compile(pattern).search(text, start)
        if match:
            return line_of(source.starts, match.start()), _rule(category)
    match = re.compile(r"\bnew\b").search(text, start)
    line = line_of(source.starts, match.start()) if match else symbol.start_line
    return line, _rule(category)


def allocation_rule(type_name: str, rule_id: str) -> str:
    """The usual fix for allocating ``type_name`` (by category)."""
    return FIXES[categorize(type_name, set())] if rule_id else FIXES["object"]


def categorize(type_name: str, structs: set[str]) -> str:
    """array, string, closure, boxing, linq, async or object."""
    base = type_name.rsplit(".", 1)[-1]
    if "DisplayClass" in type_name or type_name.startswith(("System.Func", "System.Action")):
        return "closure"
    if "AsyncStateMachineBox" in type_name or "StateMachine" in type_name:
        return "async"
    if type_name.startswith("System.Linq.") or "Iterator" in base:
        return "linq"
    if type_name.endswith("]"):
        return "array"
    if type_name in ("System.String", "string"):
        return "string"
    if base in BOXABLE or base in structs:
        return "boxing"
    return "object"


def _rule(category: str) -> str:
    return {
        "string": "string-format",
        "closure": "capturing-lambda",
        "boxing": "boxing",
        "linq": "linq",
    }.get(category, "alloc-in-loop")


def _patterns(type_name: str, category: str) -> list[str]:
    base = re.sub(r"`\d+.*$", "", type_name.rsplit(".", 1)[-1])
    if category == "array":
        element = base.split("[", 1)[0]
        names = "|".join(re.escape(n) for n in {element, CLR_TO_CSHARP.get(element, element)})
        return [rf"\bnew\s+(?:{names})\s*\[", r"\bnew\s*\[\s*\]", r"\.\s*(ToArray|ToList)\s*\("]
    if category == "string":
        return [
            r"(\$+@?|@\$+)\"",
            r"\b[Ss]tring\s*\.\s*(Format|Concat|Join)\s*\(",
            r"ToString\s*\(",
        ]
    if category == "closure":
        return [r"(?<![=!<>])=>(?!\s*\{?\s*$)"]
    if category == "boxing":
        return [r"\(\s*object\s*\)", r"\bobject\??\s+\w+\s*=(?!=)"]
    if category == "linq":
        return [r"\.\s*(Select|Where|Any|First|OrderBy|GroupBy|Sum|Count|Skip|Take)\w*\s*\("]
    if category == "async":
        return [r"\bawait\b"]
    return [rf"\bnew\s+{re.escape(base)}\b", r"\bnew\s*\("]
