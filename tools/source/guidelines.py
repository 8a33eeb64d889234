"""The ``check_guidelines`` tool: the target's hot-path rules, checked on a method or file."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace

from pydantic import BaseModel, ConfigDict, Field, model_validator
from tree_sitter import Node

from tools.base import ToolContext
from tools.errors import ToolError
from tools.source.declarations import parameter_list
from tools.source.detectors import Hit, Region, detect
from tools.source.find_source import FOUND_SCORE, get_index, repo_relative, resolve
from tools.source.frames import parse_frame
from tools.source.receivers import member
from tools.source.rules import RULES_BY_ID, RuleSet, load_rules
from tools.source.symbol_index import SourceFile, Symbol, SymbolIndex
from tools.source.syntax import TYPE_DECLARATIONS, comment_columns, comments
from tools.source.trace_evidence import EVIDENCE_STATE_KEY, TraceEvidence

MAX_FINDINGS = 60
"""Findings returned to the model at most (the rest are counted)."""
FINDINGS_MAX_CHARS = 9_000
"""Budget for the findings' JSON, so the result fits the tool-result cap uncut."""

RULES_STATE_KEY = "source_rules"


class CheckGuidelinesArgs(BaseModel):
    """Arguments of ``check_guidelines``: a method (as a trace names it) or a file/folder."""

    model_config = ConfigDict(extra="forbid")
    symbol: str | None = Field(
        default=None,
        description=(
            "A method as a trace or find_source names it, e.g. 'RecordAccumulator.TryAppend'."
        ),
        max_length=2000,
    )
    path: str | None = Field(
        default=None,
        description="A .cs file or folder relative to the target repository (instead of symbol).",
        max_length=1000,
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> CheckGuidelinesArgs:
        if (self.symbol is None) == (self.path is None):
            raise ValueError("give exactly one of 'symbol' or 'path'")
        return self


class GuidelineFinding(BaseModel):
    """One place that breaks a hot-path rule."""

    rule: str = Field(description="Rule id, e.g. 'linq', 'lock', 'configure-await'.")
    file: str = Field(description="Path relative to the repository root.")
    line: int = Field(description="1-based line.")
    text: str = Field(description="The source line (trimmed).")
    why: str = Field(description="What was found and why it matters on a hot path.")


class CheckGuidelinesResult(BaseModel):
    """Rule findings for the scanned method or files."""

    findings: list[GuidelineFinding] = Field(description="Findings in file/line order.")
    rules: dict[str, str] = Field(
        default_factory=dict, description="Rule id -> where the target states it (CLAUDE.md:line)."
    )
    rules_source: str = Field(description="CLAUDE.md when the target states its rules.")
    scanned: str = Field(description="What was scanned (file:lines or files).")
    omitted: int = Field(default=0, description="Findings left out to keep the result small.")
    discounted: list[str] = Field(
        default_factory=list,
        description=(
            "Constructs a per-message rule names that the last analysed trace shows not running "
            "per message (on a branch it shows cold, an allocation it measured per batch, a "
            "type it never sampled there): 'file:line rule: the evidence'. Not findings."
        ),
    )


@dataclass(frozen=True)
class Finding:
    """A finding as library code uses it (recommendations, report)."""

    rule: str
    file: str
    line: int
    text: str
    why: str
    rule_source: str
    detail: str
    discounted: str = ""
    """Why the last analysed trace shows this is no per-message cost there, or ""."""


def check_guidelines(args: CheckGuidelinesArgs, ctx: ToolContext) -> CheckGuidelinesResult:
    """Scan a method (by its trace or source name) or a C# file/folder of the target repo for
    the target's hot-path rules (from its CLAUDE.md; Dekaf's by default): missing
    ConfigureAwait(false), .Result/.Wait(), locks, LINQ, capturing lambdas,
    params/ToArray/ToList, string formatting, Task.Run, allocation in loops, exceptions as
    control flow, boxing. Use it on the hot methods find_source located, to tie a
    recommendation to the repository's own rule; a finding in code the trace shows cold is
    not worth a change. The result lists each finding: rule, file:line, the line and why it
    matters; comments and strings never produce findings. After analyze_trace, a per-message
    rule's construct the trace shows not running per message (on an if/else side whose calls
    have no samples while the other side's do, an allocation measured per batch, a `new T`
    where the allocation ticks never saw a T) is listed under ``discounted`` with that
    evidence instead.
    """
    index = get_index(ctx)
    rules = ctx.state.get(RULES_STATE_KEY)
    if not isinstance(rules, RuleSet):
        rules = load_rules(ctx.repo)
        ctx.state[RULES_STATE_KEY] = rules
    discounted: list[Finding] = []
    if args.symbol is not None:
        symbol = best_symbol(index, args.symbol)
        findings = scan_symbol(index, symbol, rules, evidence=ctx.state.get(EVIDENCE_STATE_KEY))
        discounted = [f for f in findings if f.discounted]
        findings = [f for f in findings if not f.discounted]
        scanned = f"{symbol.file}:{symbol.start_line}-{symbol.end_line} ({symbol.signature})"
        scanned += _not_library(index, [symbol.file])
    else:
        files = _files_under(index, repo_relative(ctx.repo, args.path or "."))
        findings = [f for path in files for f in scan_file(index, path, rules)]
        scanned = (
            f"{len(files)} file(s): " + ", ".join(files[:5]) + (" …" if len(files) > 5 else "")
        ) + _not_library(index, files)
    shown = _within_budget([_model(f) for f in findings[:MAX_FINDINGS]])
    return CheckGuidelinesResult(
        findings=shown,
        rules={f.rule: f.rule_source for f in findings if f.rule in {s.rule for s in shown}},
        rules_source=rules.source,
        scanned=scanned,
        omitted=len(findings) - len(shown),
        discounted=[f"{f.file}:{f.line} {f.rule}: {f.discounted}" for f in discounted],
    )


def _not_library(index: SymbolIndex, files: list[str]) -> str:
    """A note naming the files left unjudged because they are not library code."""
    others = Counter(index.category(f) for f in files if index.category(f) != "library")
    if not others:
        return ""
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(others.items()))
    return f" ({kinds} file(s) not library code: the hot-path rules are not applied there)"


def _within_budget(findings: list[GuidelineFinding]) -> list[GuidelineFinding]:
    used = 0
    for i, finding in enumerate(findings):
        used += len(finding.model_dump_json())
        if used > FINDINGS_MAX_CHARS:
            return findings[:i]
    return findings


def best_symbol(index: SymbolIndex, name: str) -> Symbol:
    """The best declaration for a frame or source name; ToolError when none."""
    ref = parse_frame(name)
    matches = resolve(index, ref) if ref else []
    if not matches or matches[0].score < FOUND_SCORE:
        same = ", ".join(sorted({m.symbol.signature for m in matches[:5]}))
        hint = f" Same-named members elsewhere: {same}." if same else ""
        raise ToolError(
            f"No method {name!r} in the target repository; try find_source first.{hint}"
        )
    return matches[0].symbol


def scan_symbol(
    index: SymbolIndex,
    symbol: Symbol,
    rules: RuleSet,
    *,
    measured: bool = False,
    evidence: TraceEvidence | None = None,
) -> list[Finding]:
    """Findings inside one declaration (none outside library code: the rules are the library's).

    ``measured``: the trace measured waits or a deadlock there, so a per-message rule's
    construct counts even in a method documented as running per event. ``evidence``: what
    the analysed trace measured; a per-message rule's finding it shows not running per message
    is marked ``discounted`` with the reason.
    """
    source = index.files[symbol.file]
    if source.category != "library" or symbol.node is None:
        return []
    node = symbol.node
    if symbol.kind == "constructor" and node.type in TYPE_DECLARATIONS:
        node = parameter_list(node) or node  # a primary constructor: its parameters only
    findings = _findings(source, detect(_region(index, node, rules)), rules, per_event=not measured)
    if evidence is None or measured or not any(f.rule in rules.per_message for f in findings):
        return findings
    method = evidence.for_method(index, symbol)
    return [
        replace(f, discounted=method.discount(node, f.line, f.rule))
        if f.rule in rules.per_message
        else f
        for f in findings
    ]


def scan_file(index: SymbolIndex, path: str, rules: RuleSet) -> list[Finding]:
    """Findings in a whole file (none outside library code)."""
    source = index.files[path]
    if source.category != "library":
        return []
    return _findings(source, detect(_region(index, source.tree.root_node, rules)), rules)


def _region(index: SymbolIndex, node: Node, rules: RuleSet) -> Region:
    if index.method_names is None:
        index.method_names = frozenset(s.name for s in index.symbols if s.kind == "method")
    return Region(
        node,
        structs=frozenset(index.struct_names),
        repo_methods=index.method_names,
        per_message_only=rules.per_message,
    )


def _findings(
    source: SourceFile, hits: list[Hit], rules: RuleSet, *, per_event: bool = True
) -> list[Finding]:
    seen: set[tuple[str, int]] = set()
    out: list[Finding] = []
    notes = comments(source.tree)
    for rule_id, line, detail in hits:
        if not rules.applies(rule_id, source.path) or (rule_id, line) in seen:
            continue
        if deliberate(notes, line) or rule_id == "lock" and waits_out(notes, line):
            continue  # the code says why it is so: a choice, not an oversight
        if per_event and rule_id in rules.per_message and occasional(source, notes, line):
            continue  # the method's summary says it runs per event, not per message
        seen.add((rule_id, line))
        rule = RULES_BY_ID[rule_id]
        why = f"{rule.title} ({detail[:80]}): {rule.why}."
        out.append(
            Finding(
                rule_id,
                source.path,
                line,
                code_text(source, line),
                why,
                rules.citations[rule_id],
                detail,
            )
        )
    return out


DELIBERATE = re.compile(
    r"\b(deliberate(ly)?|intentional(ly)?|by design|on purpose|acceptable|cold path|"
    r"not (a |the |on the )?hot|one-time|once|per[- ]batch|amortized|rare(ly)?|"
    r"reus(e|ed|es|ing)|pool(ed|s)?)\b",
    re.IGNORECASE,
)
"""Words with which code documents that a construct is a considered choice."""


def deliberate(notes: dict[int, str], line: int, *, above: int = 3) -> bool:
    """Whether a comment on ``line`` or the few lines above documents a deliberate choice."""
    return any(DELIBERATE.search(notes.get(n, "")) for n in range(line - above, line + 1))


WAIT_BARRIER = re.compile(
    r"\bwait(s|ing)? (for|until) [^.;]{0,40}?\b(complet\w*|finish\w*|done|end(s|ed)?)\b",
    re.IGNORECASE,
)
"""How code says a lock is there to make the caller wait out another operation."""


def waits_out(notes: dict[int, str], line: int, *, above: int = 3) -> bool:
    """Whether a comment on ``line`` or just above says the lock exists to make the caller wait
    for another operation to complete ("if a cancellation is in progress, wait for it to
    complete"): its waits are that operation's length, which no lock-free state shortens."""
    return any(WAIT_BARRIER.search(notes.get(n, "")) for n in range(line - above, line + 1))


OCCASIONAL = re.compile(
    r"\b(during|on|after|upon) (a |an |each |every |the )?"
    r"(scale[- ]?(up|down)|reconnect(ion|s)?|start-?up|shutdown|rebalanc(e|ing)|failover)\b",
    re.IGNORECASE,
)
"""How a method's summary says it runs on an occasional event, not per message."""


def occasional(source: SourceFile, notes: dict[int, str], line: int) -> bool:
    """Whether the doc comment above the member holding ``line`` says it runs on an
    occasional event ("… during a scale-up"): a per-message rule does not apply there."""
    point = (line - 1, 0)
    node = source.tree.root_node.descendant_for_point_range(point, point)
    owner = member(node) if node is not None else None
    if owner is None:
        return False
    above = owner.start_point.row  # the 1-based line just above the declaration
    summary = []
    while above in notes and source.line(above).lstrip().startswith("//"):
        summary.append(notes[above])
        above -= 1
    return bool(OCCASIONAL.search(" ".join(reversed(summary))))


def code_text(source: SourceFile, line: int) -> str:
    """The source line without its trailing comment, trimmed."""
    raw = source.line(line)
    column = comment_columns(source.tree).get(line)
    if column is not None:
        raw = raw.encode("utf-8")[:column].decode("utf-8", "replace")
    return raw.strip()[:200]


def _files_under(index: SymbolIndex, rel: str) -> list[str]:
    prefix = "" if rel in ("", ".") else rel.rstrip("/") + "/"
    if any(p == rel or p.startswith(prefix) for p, _, _ in index.pending):
        index.complete()
    if rel in index.files:
        return [rel]
    files = sorted(p for p in index.files if p.startswith(prefix))
    if not files:
        raise ToolError(f"{rel!r} is not a scanned C# file or folder of the target repository.")
    return files


def _model(finding: Finding) -> GuidelineFinding:
    return GuidelineFinding(
        rule=finding.rule,
        file=finding.file,
        line=finding.line,
        text=finding.text,
        why=finding.why,
    )
