"""Fitting a tool result into its budget by structure: fewer rows, shorter texts, never a cut.

A tool result is JSON the model reads. Cutting its text at a character count leaves invalid
JSON and hides what was dropped; here the result shrinks the way a person would shorten a
table: the biggest list loses its last rows (lists are ordered strongest first), an overlong
text is shortened at a word, and every cut is named so the model can ask for the rest.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

LEFT_OUT_KEY = "left_out"
"""The key of a result's list of what was left out (the same name every tool uses)."""

MIN_TEXT_CHARS = 200
"""A text is never shortened below this many characters."""

MAX_STEPS = 400
"""Upper bound on shrinking steps (each halves a list or a text, so few are ever needed)."""


def to_json(value: Any) -> str:
    """Compact JSON for tool texts (keys kept in insertion order)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def drop_none(value: Any) -> Any:
    """``value`` without ``None`` members of objects (the model needs no empty fields)."""
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_none(item) for item in value]
    return value


@dataclass
class _Cuts:
    """What was shortened, by path, to name it once in the note."""

    rows: dict[str, tuple[int, int]] = field(default_factory=dict)
    texts: set[str] = field(default_factory=set)
    dropped: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        out = [f"{path}: {kept} of {total} rows" for path, (kept, total) in self.rows.items()]
        out += [f"{path}: text shortened" for path in sorted(self.texts)]
        out += [f"{path}: left out" for path in self.dropped]
        return out


def fit_json(value: Any, max_chars: int, *, hint: str) -> tuple[Any, bool]:
    """A copy of ``value`` whose compact JSON (without nulls) fits ``max_chars``.

    The biggest list keeps its first half, or the longest text its first half, until the
    result fits; what was cut is listed under :data:`LEFT_OUT_KEY` with ``hint`` (how to get
    the rest: a narrower argument, never a file). Returns the result and whether it was cut.
    """
    if len(to_json(drop_none(value))) <= max_chars or not isinstance(value, dict):
        return value, False
    work: dict[str, Any] = copy.deepcopy(value)
    cuts = _Cuts()
    # Room for the note itself, which grows with the number of cut paths.
    for _ in range(MAX_STEPS):
        note = _note(work, cuts, hint, max_chars)
        if len(to_json(drop_none(_with_note(work, note)))) <= max_chars:
            return _with_note(work, note), True
        if not _shrink_once(work, cuts):
            break
    return _with_note(work, _note(work, cuts, hint, max_chars)), True


def _note(work: dict[str, Any], cuts: _Cuts, hint: str, max_chars: int) -> list[str]:
    notes = cuts.notes()
    summary = f"Cut to fit the {max_chars:,}-character result budget. {hint}".strip()
    return [summary, *notes[:12]] + ([f"… and {len(notes) - 12} more"] if len(notes) > 12 else [])


def _with_note(work: dict[str, Any], note: list[str]) -> dict[str, Any]:
    existing = work.get(LEFT_OUT_KEY)
    merged = [*(existing if isinstance(existing, list) else []), *note]
    return {LEFT_OUT_KEY: merged, **{k: v for k, v in work.items() if k != LEFT_OUT_KEY}}


def _shrink_once(work: dict[str, Any], cuts: _Cuts) -> bool:
    """Halves the biggest shrinkable member; False when nothing is left to shrink."""
    best: tuple[int, Any, Any, str] | None = None
    for parent, key, path, child in _members(work, ""):
        if path == LEFT_OUT_KEY:
            continue
        if (
            isinstance(child, list)
            and len(child) >= 2
            or (isinstance(child, str) and len(child) > MIN_TEXT_CHARS)
        ):
            size = len(to_json(child))
            if best is None or size > best[0]:
                best = (size, parent, key, path)
    if best is None:
        return _drop_biggest(work, cuts)
    _, parent, key, path = best
    child = parent[key]
    if isinstance(child, list):
        general = _general(path)
        total = cuts.rows.get(general, (0, len(child)))[1]
        parent[key] = child[: (len(child) + 1) // 2]
        cuts.rows[general] = (len(parent[key]), max(total, len(child)))
    else:
        keep = max(len(child) // 2, MIN_TEXT_CHARS)
        parent[key] = child[:keep].rsplit(" ", 1)[0] + " …"
        cuts.texts.add(_general(path))
    return True


def _drop_biggest(work: dict[str, Any], cuts: _Cuts) -> bool:
    """Last resort: leaves out the biggest top-level member (named in the note)."""
    candidates = [k for k in work if k != LEFT_OUT_KEY and work[k] not in (None, "", [], {})]
    if not candidates:
        return False
    biggest = max(candidates, key=lambda k: len(to_json(work[k])))
    work[biggest] = None
    cuts.dropped.append(biggest)
    return True


def _members(value: Any, path: str) -> Any:
    """Every (parent, key, path, child) below ``value``, depth first."""
    items: Any = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        child_path = f"{path}.{key}" if isinstance(value, dict) and path else str(key)
        if isinstance(value, list):
            child_path = f"{path}[{key}]"
        yield value, key, child_path, child
        if isinstance(child, dict | list):
            yield from _members(child, child_path)


def _general(path: str) -> str:
    """``allocations.by_site[2].frames`` -> ``allocations.by_site[].frames`` (one note each)."""
    out, depth = [], 0
    for ch in path:
        if ch == "[":
            depth += 1
            out.append("[]")
        elif ch == "]":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)
