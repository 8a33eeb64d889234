"""What the playbook planner remembers: learned facts, topic files, "remember"/"forget".

Memory holds stable, verified facts only: one dated line per finding in a topic file, linked
once from MEMORY.md. A request that starts with "remember …" or "forget …" is obeyed at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from agent.planner_report import StepResult, dig
from tools.units import human_bytes

FORGET_MAX_LINES = 10
"""Most memory lines one "forget" request removes."""

_MEMORY_REQUEST = re.compile(
    r"\s*(?:please\s+)?(remember|forget)\b(?:\s+that)?[\s:,]+(.+?)\s*[.!]?\s*",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class MemoryRequest:
    """A "remember X" or "forget X" request and its X."""

    kind: Literal["remember", "forget"]
    text: str


def memory_request(request: str) -> MemoryRequest | None:
    """The memory request ``request`` makes, or None for an investigation."""
    match = _MEMORY_REQUEST.fullmatch(request)
    if match is None:
        return None
    kind: Literal["remember", "forget"] = (
        "remember" if match.group(1).lower() == "remember" else "forget"
    )
    return MemoryRequest(kind, " ".join(match.group(2).split()))


def forget_edits(results: dict[str, StepResult]) -> list[dict[str, Any]]:
    """``write_memory`` inputs that delete each memory line the search found (not transcripts)."""
    found = results.get("forget_search")
    if found is None or found.is_error or not isinstance(found.data, dict):
        return []
    edits = []
    for match in (found.data.get("matches") or [])[:FORGET_MAX_LINES]:
        if isinstance(match, dict) and match.get("source") == "memory":
            old = f"{match.get('text')}\n"
            edits.append({"path": match.get("path"), "mode": "str_replace", "old": old, "new": ""})
    return edits


def memory_request_report(request: MemoryRequest, results: dict[str, StepResult]) -> str:
    """The final answer to a memory request: what was saved or removed, or why not."""
    writes = {k: r for k, r in results.items() if k.startswith(("remember", "forget_"))}
    failed = [r.text for k, r in writes.items() if r.is_error and k != "forget_search"]
    if request.kind == "remember":
        done = "remember" in writes and not writes["remember"].is_error
        head = f"Remembered in MEMORY.md: {request.text}" if done else "Nothing was saved."
    else:
        removed = sum(
            1 for k, r in writes.items() if k.startswith("forget_edit") and not r.is_error
        )
        head = f"Removed {removed} memory line(s) matching {request.text!r}."
    problems = "".join(f"\n- {text.splitlines()[0]}" for text in failed if text)
    return (
        head
        + (f"\nProblems:{problems}" if problems else "")
        + ("\n\nNo trace was needed for this request.")
    )


TOPICS: dict[str, tuple[str, str]] = {
    "cpu": ("hot-paths.md", "hot methods and CPU share per scenario"),
    "alloc": ("allocations.md", "allocation sites and bytes per scenario"),
    "contention": ("contention.md", "lock waits and deadlock checks per scenario"),
    "all": ("contention.md", "lock waits and deadlock checks per scenario"),
    "hang": ("contention.md", "lock waits and deadlock checks per scenario"),
}
"""Topic file (and its index line) for what each preset teaches."""


def topic_file(preset: str) -> str:
    """The memory topic file for a preset."""
    return TOPICS[preset][0]


def index_link(preset: str, results: dict[str, StepResult]) -> dict[str, Any] | None:
    """The MEMORY.md line linking the preset's topic file, unless the listing read_memory gave
    at the start says MEMORY.md already links it."""
    topic, about = TOPICS[preset]
    memory = results.get("read_memory")
    files = memory.data.get("files") if memory and isinstance(memory.data, dict) else None
    for entry in files if isinstance(files, list) else []:
        if isinstance(entry, dict) and entry.get("path") == topic and entry.get("linked"):
            return None
    return {"path": "MEMORY.md", "mode": "append", "content": f"- [{topic}]({topic}): {about}"}


def hottest_target_method(analysis: Any, target_prefix: str) -> str | None:
    """The first ``cpu.top_self`` method of the target's own code, without its module."""
    if not isinstance(analysis, dict):
        return None
    for entry in dig(analysis, "cpu", "top_self") or []:
        name = entry.get("name") if isinstance(entry, dict) else None
        if isinstance(name, str):
            method = name.split("!", 1)[-1]
            if method.startswith(target_prefix):
                return method
    return None


def learned_facts(analysis: Any, target_prefix: str) -> list[str]:
    """Short verified facts from an analysis worth remembering (empty when none)."""
    if not isinstance(analysis, dict):
        return []
    facts = []
    hot = hottest_target_method(analysis, target_prefix)
    top = (dig(analysis, "cpu", "top_self") or [None])[0]
    if isinstance(top, dict) and top.get("name"):
        facts.append(f"top self CPU {top['name'].split('!', 1)[-1]} ({top.get('percent', '?')}%)")
    if hot and (not isinstance(top, dict) or hot not in str(top.get("name"))):
        facts.append(f"hottest {target_prefix.rstrip('.')} method {hot}")
    by_type = dig(analysis, "allocations", "by_type") or []
    if by_type and isinstance(by_type[0], dict):
        first = by_type[0]
        size = first.get("bytes")
        amount = human_bytes(size) if isinstance(size, int) else "? bytes"
        facts.append(f"top allocated type {first.get('type')} ({amount})")
    waits = dig(analysis, "contention", "top") or []
    if waits and isinstance(waits[0], dict) and waits[0].get("site"):
        site = str(waits[0]["site"]).split("!", 1)[-1]
        facts.append(f"most lock waits at {site} ({waits[0].get('total_ms', '?')} ms)")
    verdict = dig(analysis, "hang_verdict", "headline")
    suspected = dig(analysis, "deadlock", "suspected")
    if isinstance(verdict, str):
        facts.append(f"hang verdict: {verdict.rstrip('.')}")
    elif isinstance(suspected, bool):
        facts.append("deadlock suspected" if suspected else "no deadlock suspected")
    return facts
