"""Reading an analysis as ``pta analyze --json`` writes it (a plain dict, possibly from an older
version or another tool): sections, rows, a site's frames, and names as C# writes them.

The recommendations, the advice from numbers alone and the trace evidence ``check_guidelines``
weighs all read the same dict; a missing or malformed part reads as empty, never as an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any


def section(analysis: dict[str, Any], key: str) -> dict[str, Any]:
    """``analysis[key]`` when it is a dict, else an empty one."""
    value = analysis.get(key)
    return value if isinstance(value, dict) else {}


def rows(part: Any, *keys: str) -> Iterator[dict[str, Any]]:
    """The dict rows of ``part[key]`` for each key in turn (none when ``part`` is no dict)."""
    if not isinstance(part, dict):
        return
    for key in keys:
        for row in part.get(key) or []:
            if isinstance(row, dict):
                yield row


def frames(site: dict[str, Any]) -> list[str]:
    """A site's stack, root first, under whichever key the writer used."""
    for key in ("frames", "stack", "stacks"):
        value = site.get(key)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
    return []


def site_frames(site: dict[str, Any]) -> list[str]:
    """A site's stack with its deepest target frame last (when the analysis named one)."""
    target = site.get("target_frame")
    return [*frames(site), *([str(target)] if target else [])]


def strip_module(frame: str) -> str:
    """``Dekaf!Dekaf.X.Y(int32)`` -> ``Dekaf.X.Y(int32)``."""
    bang = frame.find("!")
    paren = frame.find("(")
    return frame[bang + 1 :] if bang >= 0 and (paren < 0 or bang < paren) else frame


def short_type(type_name: str) -> str:
    """A runtime type name as C# writes it: ``System.Byte[]`` -> ``byte[]``,
    ``Dekaf.Pool`1[Dekaf.Batch]`` -> ``Pool<Batch>``."""
    aliases = {"System.Byte[]": "byte[]", "System.String": "string", "System.Object": "object"}
    if type_name in aliases:
        return aliases[type_name]
    # Arity marks go first: a nested generic (``Builder`1+Box`1[A,B]``) carries two.
    generic = re.fullmatch(r"([\w.+]+)\[(.*[^,\s].*)\]", re.sub(r"`\d+", "", type_name))
    if generic and "`" in type_name:
        args = ", ".join(_last_name(a.strip("[] ")) for a in generic.group(2).split(","))
        return f"{_last_name(generic.group(1))}<{args}>"
    return type_name.rsplit(".", 1)[-1]


def _last_name(name: str) -> str:
    """``Npgsql.NpgsqlCommand+<Run>d__0`` -> ``<Run>d__0``."""
    return name.rsplit(".", 1)[-1].rsplit("+", 1)[-1]
