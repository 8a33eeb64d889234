"""Parses a frame name as traces show it into the C# declaration it came from.

Trace frames name compiled methods: ``module!Namespace.Type`2[System.__Canon,…].Method(int64,…)``,
nested types joined with ``+``, async methods as state machines
(``BrokerSender+<SendLoopAsync>d__42.MoveNext``), lambdas in closure classes
(``<>c__DisplayClass12_0.<TryAppend>b__0``) and local functions
(``<SendLoopAsync>g__Coalesce|42_0``). This module recovers the user-written names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GENERATED_NAME = re.compile(r"^<+(\.?[A-Za-z_][\w]*)>")
_LOCAL_FUNCTION = re.compile(r"g__([A-Za-z_]\w*)\|")
_ARITY = re.compile(r"`(\d+)$")

IL_TO_CSHARP = {
    "int32": "int",
    "int64": "long",
    "int16": "short",
    "int8": "sbyte",
    "unsigned int8": "byte",
    "uint8": "byte",
    "unsigned int16": "ushort",
    "uint16": "ushort",
    "unsigned int32": "uint",
    "uint32": "uint",
    "unsigned int64": "ulong",
    "uint64": "ulong",
    "float32": "float",
    "float64": "double",
    "native int": "nint",
    "native unsigned int": "nuint",
    "String": "string",
    "Object": "object",
    "Boolean": "bool",
    "Int32": "int",
    "Int64": "long",
    "Byte": "byte",
    "Double": "double",
    "Single": "float",
    "Char": "char",
}
"""IL / CLR spellings of parameter types mapped to their C# keywords, for overload scoring."""


@dataclass(frozen=True)
class FrameRef:
    """What a frame names in source terms.

    Attributes:
        qualifier: namespace and type segments before the method, outermost first, arity
            removed (``("Dekaf", "Producer", "KafkaProducer")``).
        arities: generic arity per qualifier segment (0 when not generic).
        method: the user-written member name (``SendLoopAsync``; ``.ctor``; ``Count`` for
            ``get_Count``).
        local: a local function's name when the frame is one (``Coalesce``).
        params: parameter types from the frame, canonicalised, or None when absent.
        compiler_generated: what the compiler made of it: ``state_machine``, ``lambda``,
            ``local_function``, ``accessor`` or None.
    """

    qualifier: tuple[str, ...]
    arities: tuple[int, ...]
    method: str
    local: str | None
    params: tuple[str, ...] | None
    compiler_generated: str | None


def parse_frame(frame: str) -> FrameRef | None:
    """Parses ``frame``; None when it names nothing (``?!?``, empty, pseudo frames)."""
    text = frame.strip().replace("global::", "")
    # ``Type::Method`` (the C++/ETW spelling some profilers print) is ``Type.Method``.
    text = text.replace("::", ".")
    bang = text.find("!")
    paren = text.find("(")
    if bang >= 0 and (paren < 0 or bang < paren):
        text = text[bang + 1 :]
        paren = text.find("(")
    params: tuple[str, ...] | None = None
    if paren >= 0:
        close = text.rfind(")")
        params = split_params(text[paren + 1 : close if close > paren else len(text)])
        text = text[:paren]
    text = _drop_instantiations(text).replace("..cctor", ".#cctor").replace("..ctor", ".#ctor")
    segments = [s.replace("#", ".") for s in _split_names(text) if s]
    if not segments or segments[-1] in ("?", ""):
        return None
    return _interpret(segments, params)


def _interpret(segments: list[str], params: tuple[str, ...] | None) -> FrameRef | None:
    names: list[str] = []
    arities: list[int] = []
    for seg in segments:
        if seg.startswith("<"):
            break
        base, arity = _strip_arity(seg)
        names.append(base)
        arities.append(arity)
    generated = segments[len(names) :]
    if not generated:
        if len(names) < 1:
            return None
        method, kind = _accessor(names[-1])
        return FrameRef(tuple(names[:-1]), tuple(arities[:-1]), method, None, params, kind)
    return _generated(tuple(names), tuple(arities), generated, params)


def _generated(
    names: tuple[str, ...],
    arities: tuple[int, ...],
    generated: list[str],
    params: tuple[str, ...] | None,
) -> FrameRef | None:
    """Reads the user names out of compiler-generated segments."""
    kind = "lambda"
    for seg in generated:
        match = _GENERATED_NAME.match(seg)
        if match is None:
            continue  # ``<>c``, ``<>c__DisplayClass12_0``, ``MoveNext``
        local = _LOCAL_FUNCTION.search(seg)
        if local:
            kind = "local_function"
        elif re.search(r">d__\d+$", seg) and not seg.startswith("<<"):
            kind = "state_machine"
        method, _ = _accessor(match.group(1))
        return FrameRef(names, arities, method, local.group(1) if local else None, None, kind)
    if names:
        return FrameRef(names[:-1], arities[:-1], names[-1], None, params, None)
    return None


def _accessor(name: str) -> tuple[str, str | None]:
    for prefix in ("get_", "set_", "add_", "remove_"):
        if name.startswith(prefix) and len(name) > len(prefix):
            prop = name[len(prefix) :]
            return ("this[]" if prop == "Item" else prop), "accessor"
    return name, None


def _strip_arity(segment: str) -> tuple[str, int]:
    """``KafkaProducer`2`` -> (``KafkaProducer``, 2); ``List<T, U>`` -> (``List``, 2)."""
    if "<" in segment and segment.endswith(">"):
        base, args = segment.split("<", 1)
        return base, args.count(",") + 1
    match = _ARITY.search(segment)
    if match:
        return segment[: match.start()], int(match.group(1))
    return segment, 0


def _drop_instantiations(text: str) -> str:
    """Removes ``[System.__Canon,…]`` generic instantiations (possibly nested)."""
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"\[[^\[\]]*\]", "", text)
    return text


def _split_names(text: str) -> list[str]:
    """Splits on ``.`` and ``+`` outside ``<…>`` (compiler names hold dots: ``<.ctor>b__0``)."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(depth - 1, 0)
        if ch in ".+" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def split_params(text: str) -> tuple[str, ...]:
    """Splits a parameter list on top-level commas and canonicalises each type."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch in "<[(":
            depth += 1
        elif ch in ">])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return tuple(canonical_type(p) for p in parts if p.strip())


def canonical_type(text: str) -> str:
    """A comparable short type name (``class System.String`` -> ``string``).

    Generic parameters (``!0``, ``!!0``, ``TKey``) become ``*`` only when written as ``!N``;
    arrays keep their ``[]``.
    """
    t = text.strip()
    for prefix in ("value class ", "class ", "valuetype ", "ref ", "out ", "in "):
        if t.startswith(prefix):
            t = t[len(prefix) :]
    array = "[]" if t.endswith("[]") else ""
    t = t.removesuffix("[]").rstrip("&*?")
    if t.startswith("!"):
        return "*"
    if t in IL_TO_CSHARP:
        return IL_TO_CSHARP[t] + array
    t = t.split("<", 1)[0]
    t = _ARITY.sub("", t).rsplit(".", 1)[-1]
    return IL_TO_CSHARP.get(t, t) + array
