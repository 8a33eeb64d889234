"""The ``check_guidelines`` tool: the target's hot-path rules, checked on a method or file."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tools.base import ToolContext
from tools.errors import ToolError
from tools.source.detectors import Region, detect
from tools.source.find_source import FOUND_SCORE, get_index, repo_relative, resolve
from tools.source.frames import parse_frame
from tools.source.rules import RULES_BY_ID, RuleSet, load_rules
from tools.source.symbol_index import SourceFile, Symbol, SymbolIndex

MAX_FINDINGS = 60
"""Findings returned to the model at most (the rest are counted)."""
FINDINGS_MAX_CHARS = 9_000
"""Budget for the findings' JSON, so the result fits the tool-result cap uncut."""

RULES_STATE_KEY = "source_rules"

_VAR_LOCAL = re.compile(r"\b(?:var|out\s+var)\s+([A-Za-z_]\w*)")
_TYPED_LOCAL = re.compile(
    r"(?:^|[;{}(,])\s*(?:[A-Za-z_][\w.]*(?:<[^;{}()=]*>)?(?:\[\])*\??)\s+([A-Za-z_]\w*)\s*"
    r"(?:=(?![=>])|\bin\b|;)",
    re.MULTILINE,
)


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


def check_guidelines(args: CheckGuidelinesArgs, ctx: ToolContext) -> CheckGuidelinesResult:
    """Scan a method (by its trace or source name) or a C# file/folder of the target repo for
    the target's hot-path rules (from its CLAUDE.md; Dekaf's by default): missing
    ConfigureAwait(false), .Result/.Wait(), locks, LINQ, capturing lambdas,
    params/ToArray/ToList, string formatting, Task.Run, allocation in loops, exceptions as
    control flow, boxing. Use it on the hot methods find_source located, to tie a
    recommendation to the repository's own rule; a finding in code the trace shows cold is
    not worth a change. The result lists each finding: rule, file:line, the line and why it
    matters; comments and strings never produce findings.
    """
    index = get_index(ctx)
    rules = ctx.state.get(RULES_STATE_KEY)
    if not isinstance(rules, RuleSet):
        rules = load_rules(ctx.repo)
        ctx.state[RULES_STATE_KEY] = rules
    if args.symbol is not None:
        symbol = best_symbol(index, args.symbol)
        findings = scan_symbol(index, symbol, rules)
        scanned = f"{symbol.file}:{symbol.start_line}-{symbol.end_line} ({symbol.signature})"
    else:
        files = _files_under(index, repo_relative(ctx.repo, args.path or "."))
        findings = [f for path in files for f in scan_file(index, path, rules)]
        scanned = (
            f"{len(files)} file(s): " + ", ".join(files[:5]) + (" …" if len(files) > 5 else "")
        )
    shown = _within_budget([_model(f) for f in findings[:MAX_FINDINGS]])
    return CheckGuidelinesResult(
        findings=shown,
        rules={f.rule: f.rule_source for f in findings if f.rule in {s.rule for s in shown}},
        rules_source=rules.source,
        scanned=scanned,
        omitted=len(findings) - len(shown),
    )


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


def scan_symbol(index: SymbolIndex, symbol: Symbol, rules: RuleSet) -> list[Finding]:
    """Findings inside one declaration's line range."""
    source = index.files[symbol.file]
    region = _region(index, source, symbol.start_line, symbol.end_line)
    region.locals = _scope_names(source, symbol, region.start, region.end)
    return _findings(source, detect(region), rules)


def scan_file(index: SymbolIndex, path: str, rules: RuleSet) -> list[Finding]:
    """Findings in a whole file; captures are judged per member (its own locals)."""
    source = index.files[path]
    whole = _region(index, source, 1, len(source.starts))
    hits = [h for h in detect(whole) if h[0] != "capturing-lambda"]
    for symbol in index.in_file(path):
        if symbol.kind in ("method", "constructor", "property") and symbol.parent is None:
            region = _region(index, source, symbol.start_line, symbol.end_line)
            region.locals = _scope_names(source, symbol, region.start, region.end)
            hits.extend(h for h in detect(region) if h[0] == "capturing-lambda")
    return _findings(source, hits, rules)


def _region(index: SymbolIndex, source: SourceFile, first: int, last: int) -> Region:
    starts = source.starts
    start = starts[first - 1]
    end = starts[last] if last < len(starts) else len(source.masked)
    arrows = frozenset(s.body_offset for s in index.in_file(source.path))
    return Region(
        source.masked, start, end, skip_arrows=arrows, structs=frozenset(index.struct_names)
    )


def _scope_names(source: SourceFile, symbol: Symbol, start: int, end: int) -> frozenset[str]:
    """Parameter and local names of a member (lambda captures are judged against them)."""
    text = source.masked
    header = text[start : symbol.body_offset]
    names: set[str] = set()
    if "(" in header:
        inner = header[header.index("(") + 1 : header.rfind(")")]
        for part in inner.split(","):
            words = re.findall(r"[A-Za-z_]\w*", part.split("=")[0])
            if len(words) >= 2:
                names.add(words[-1])
    body = text[symbol.body_offset : end]
    names.update(_VAR_LOCAL.findall(body))
    names.update(n for n in _TYPED_LOCAL.findall(body) if n not in ("in", "is", "as"))
    return frozenset(names)


def _findings(
    source: SourceFile, hits: list[tuple[str, int, str]], rules: RuleSet
) -> list[Finding]:
    from tools.source.csharp_lexer import line_of

    seen: set[tuple[str, int]] = set()
    out: list[Finding] = []
    lines = source.text.splitlines()
    for rule_id, offset, detail in sorted(hits, key=lambda h: h[1]):
        citation = rules.citations.get(rule_id)
        line = line_of(source.starts, offset)
        if citation is None or (rule_id, line) in seen:
            continue
        seen.add((rule_id, line))
        rule = RULES_BY_ID[rule_id]
        text = _code_text(source, lines, line)
        why = f"{rule.title} ({detail[:80]}): {rule.why}."
        out.append(Finding(rule_id, source.path, line, text, why, citation, detail))
    return out


def _code_text(source: SourceFile, lines: list[str], line: int) -> str:
    """The source line without its trailing comment (the masked line shows where code ends)."""
    if line > len(lines):
        return ""
    start = source.starts[line - 1]
    masked = source.masked[start : start + len(lines[line - 1])]
    return lines[line - 1][: len(masked.rstrip())].strip()[:200]


def _files_under(index: SymbolIndex, rel: str) -> list[str]:
    if rel in index.files:
        return [rel]
    prefix = "" if rel in ("", ".") else rel.rstrip("/") + "/"
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
