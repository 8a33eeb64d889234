"""The hot-path rules: what each one means, and which the target's CLAUDE.md states.

The target's CLAUDE.md is the source of truth. A rule is active when CLAUDE.md mentions it (the
finding then cites that line); without a CLAUDE.md, or with one that states none of them, the
Dekaf rules apply as the default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

CLAUDE_MD_CANDIDATES = ("CLAUDE.md", ".claude/CLAUDE.md")
DEFAULT_SOURCE = "Dekaf hot-path rules (default: no CLAUDE.md rule found in the target)"


@dataclass(frozen=True)
class Rule:
    """One hot-path rule.

    Attributes:
        id: short stable name used in findings (``linq``).
        title: what is found, for people.
        why: why it matters on a hot path.
        fix: the usual change, for recommendations.
        mentions: regexes finding the rule in a CLAUDE.md line, most specific first.
        default: the Dekaf rule text cited when no CLAUDE.md states it.
    """

    id: str
    title: str
    why: str
    fix: str
    mentions: tuple[str, ...]
    default: str


RULES: tuple[Rule, ...] = (
    Rule(
        "configure-await",
        "await without .ConfigureAwait(false)",
        "resumes on the captured context: an extra scheduling hop per await and deadlock risk "
        "under a synchronization context",
        "append .ConfigureAwait(false)",
        (r"ConfigureAwait\(false\)", r"ConfigureAwait"),
        "ConfigureAwait(false) on every await in src/",
    ),
    Rule(
        "blocking-wait",
        ".Result / .Wait() on a task",
        "blocks a thread-pool thread until the task ends: thread starvation and sync-over-async "
        "deadlocks",
        "await the task (with ConfigureAwait(false)) instead of blocking",
        (r"\.Result|\.Wait\(", r"block(ing)? (on )?async"),
        "never .Result / .Wait()",
    ),
    Rule(
        "lock",
        "lock / Monitor",
        "every caller serialises on the lock; under load threads queue (contention) instead of "
        "working",
        "hand the work to a channel or use lock-free state (Interlocked) owned by one thread",
        (r"locks? per message|per-message locks?", r"channels over locks", r"\blocks?\b|Monitor"),
        "prefer channels over locks; no per-message locks",
    ),
    Rule(
        "lock-order",
        "locks taken in opposite orders",
        "two threads each hold the lock the other waits for: a deadlock, not contention",
        "take the two locks in one order on every path, or release one before taking the other",
        (r"lock order|lock.ordering|opposite order",),
        "take locks in one global order; never call out while holding a lock",
    ),
    Rule(
        "linq",
        "LINQ call",
        "allocates enumerators and delegates and hides O(n) passes on every call",
        "write a plain for/foreach loop over the concrete collection",
        (r"^LINQ\b", r"\bLINQ\b"),
        "banned in hot paths: LINQ",
    ),
    Rule(
        "capturing-lambda",
        "lambda capturing locals or parameters",
        "allocates a closure object and a delegate each time the method runs",
        "make the lambda static and pass state explicitly, or inline the loop",
        (r"capturing lambda", r"lambda|closure"),
        "banned in hot paths: capturing lambdas",
    ),
    Rule(
        "params-toarray",
        "params / ToArray / ToList",
        "allocates a new array or list per call",
        "pass a span or reuse a pooled buffer",
        (r"ToArray|ToList", r"\bparams\b"),
        "banned in hot paths: params/ToArray",
    ),
    Rule(
        "yield",
        "yield iterator",
        "allocates an iterator state machine per call",
        "return a struct enumerator or fill a caller-provided span",
        (r"\byield\b",),
        "banned in hot paths: yield",
    ),
    Rule(
        "string-format",
        "string interpolation / string.Format",
        "builds a new string per call (and boxes value-type arguments)",
        "format only off the hot path, or write into a pooled buffer",
        (r"string\.Format", r"string formatting|interpolat"),
        "banned in hot paths: per-message string formatting",
    ),
    Rule(
        "task-run",
        "Task.Run / StartNew",
        "queues a work item and allocates a Task per call; hides ordering and back-pressure",
        "run the work inline or in a long-lived loop fed by a channel",
        (r"Task\.Run",),
        "banned in hot paths: Task.Run",
    ),
    Rule(
        "alloc-in-loop",
        "new inside a loop",
        "allocates per iteration: per-message garbage and GC pauses",
        "hoist the allocation out of the loop or rent from ArrayPool / a pooled arena",
        (r"zero.allocation in hot paths?", r"per-message (heap )?allocation", r"\balloc"),
        "zero allocation in hot paths; per-message allocation is a bug",
    ),
    Rule(
        "throw-control-flow",
        "throw caught in the same method",
        "exceptions cost microseconds each (stack trace capture, unwinding)",
        "return a status (bool / Try-pattern) instead of throwing",
        (r"exceptions? as control flow", r"control flow", r"\bthrow"),
        "banned in hot paths: exceptions as control flow",
    ),
    Rule(
        "boxing",
        "boxing a value type into object",
        "allocates a heap object for every boxed value",
        "keep the value typed (generics, overloads) instead of object",
        (r"^boxing\b", r"\bboxing\b|\bbox(ed)?\b"),
        "banned in hot paths: boxing",
    ),
)
RULES_BY_ID = {rule.id: rule for rule in RULES}


@dataclass(frozen=True)
class RuleSet:
    """The rules in force for a repository and where each one is stated.

    Attributes:
        citations: rule id -> where it is stated (``CLAUDE.md:12: …`` or the default text).
        source: ``CLAUDE.md`` (path) or the default's name.
        folders: rule id -> the folders its text limits it to (``("src/",)``); absent: all.
        per_message: rules whose text bans the construct per message (one-time startup work
            is then not a breach).
    """

    citations: dict[str, str]
    source: str
    folders: dict[str, tuple[str, ...]] = field(default_factory=dict)
    per_message: frozenset[str] = frozenset()

    def applies(self, rule_id: str, path: str) -> bool:
        """Whether the rule is stated and its text covers ``path`` ("… in `src/`")."""
        if rule_id not in self.citations:
            return False
        folders = self.folders.get(rule_id, ())
        return not folders or any(path.startswith(folder) for folder in folders)


_FOLDER_SCOPE = re.compile(r"\bin\s+`?((?:[\w.\-]+/)+)`?")
_PER_MESSAGE = re.compile(r"\bper[- ]message\b", re.IGNORECASE)


def scoped(citations: dict[str, str], source: str, texts: dict[str, str]) -> RuleSet:
    """A rule set whose scopes come from each rule's full text (``texts``: id -> line)."""
    folders = {rid: tuple(_FOLDER_SCOPE.findall(line)) for rid, line in texts.items()}
    per_message = frozenset(rid for rid, line in texts.items() if _PER_MESSAGE.search(line))
    return RuleSet(citations, source, {k: v for k, v in folders.items() if v}, per_message)


def load_rules(repo: Path) -> RuleSet:
    """Reads the target's CLAUDE.md (inside ``repo`` only) and returns the rules it states."""
    root = repo.resolve()
    for name in CLAUDE_MD_CANDIDATES:
        path = (root / name).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        lines = rule_lines(text)
        if lines:
            citations = {
                rid: f"{name}:{number}: {line[:160]}" for rid, (number, line) in lines.items()
            }
            return scoped(citations, name, {rid: line for rid, (_, line) in lines.items()})
    defaults = {r.id: r.default for r in RULES}
    citations = {rid: f"Dekaf default: {line}" for rid, line in defaults.items()}
    return scoped(citations, DEFAULT_SOURCE, defaults)


def rules_from_text(text: str, name: str) -> dict[str, str]:
    """Rule id -> ``NAME:line: text``: the line matching the rule's most specific pattern."""
    return {
        rid: f"{name}:{number}: {line[:160]}" for rid, (number, line) in rule_lines(text).items()
    }


_ITEM_START = re.compile(r"\s*([-*+]|\d+[.)])\s")


def rule_lines(text: str) -> dict[str, tuple[int, str]]:
    """Rule id -> (line number, whole statement) stating it in a CLAUDE.md.

    A list item wrapped over several lines is one statement: its scope ("per-batch is fine;
    per-message is a bug") often sits on the continuation line.
    """
    lines: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip().lstrip("-*+0123456789.)").strip().lstrip("*").strip()
        stripped = stripped.replace("**", "")
        continues = line[:1] in (" ", "\t") and not _ITEM_START.match(line)
        if stripped and continues and lines:
            lines[-1] = (lines[-1][0], f"{lines[-1][1]} {stripped}")
        elif stripped and not stripped.startswith("#"):
            lines.append((number, stripped))
    found: dict[str, tuple[int, str]] = {}
    for rule in RULES:
        for pattern in rule.mentions:
            hit = next((nl for nl in lines if re.search(pattern, nl[1], re.IGNORECASE)), None)
            if hit is not None:
                found[rule.id] = hit
                break
    return found
