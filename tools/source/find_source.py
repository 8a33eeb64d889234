"""The ``find_source`` tool: a trace frame name -> the C# method's file, lines and source."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tools.base import ToolContext
from tools.errors import ToolError
from tools.source.frames import FrameRef, canonical_type, parse_frame
from tools.source.symbol_index import Symbol, SymbolIndex, build_index
from tools.source.syntax import captures, has_modifier, query

INDEX_STATE_KEY = "source_index"
"""``ctx.state`` key caching the repository's symbol index for the run."""

MAX_CANDIDATES = 8
SOURCE_MAX_CHARS = 8_000
"""Source text returned at most (the tool result must stay a few thousand tokens)."""
FOUND_SCORE = 0.5
"""Below this the best match only shares the member name (another type): not found."""
MEMBER_KINDS = ("method", "constructor", "property", "local_function")
_LAMBDAS = query("[(lambda_expression) (anonymous_method_expression)] @l")
_YIELDS = query("(yield_statement) @y")


class FindSourceArgs(BaseModel):
    """Arguments of ``find_source``."""

    model_config = ConfigDict(extra="forbid")
    symbol: str = Field(
        description=(
            "A method as a trace names it, e.g. 'Dekaf!Dekaf.Producer.RecordAccumulator."
            "TryAppend(int64,…)', 'Dekaf.Producer.BrokerSender+<SendLoopAsync>d__42.MoveNext', "
            "'Dekaf.Producer.RecordAccumulator::TryAppend', or simply "
            "'RecordAccumulator.TryAppend'."
        ),
        min_length=1,
        max_length=2000,
    )
    max_lines: int = Field(
        default=80, ge=5, le=200, description="Most source lines to return for the best match."
    )


class SourceCandidate(BaseModel):
    """One declaration that may be the frame's method."""

    file: str = Field(description="Path relative to the repository root.")
    start_line: int = Field(description="Declaration line (1-based).")
    end_line: int = Field(description="Line of the closing brace.")
    score: float = Field(description="Match quality, 0..1; the first candidate is the best.")
    signature: str = Field(description="Type.Method(parameter types).")


class FindSourceResult(BaseModel):
    """Where a frame's method lives, with its source."""

    found: bool = Field(description="Whether any declaration matched.")
    candidates: list[SourceCandidate] = Field(description="Matches, best first.")
    source: str = Field(description="Numbered source lines of the best match (bounded).")
    nearest: list[str] = Field(default_factory=list, description="Close names when not found.")
    note: str | None = Field(default=None, description="How the frame was read, or why no match.")


@dataclass(frozen=True)
class Match:
    """A scored index symbol."""

    symbol: Symbol
    score: float


def get_index(ctx: ToolContext) -> SymbolIndex:
    """The repository's symbol index, built once per run and kept in ``ctx.state``."""
    root = ctx.repo.resolve()
    cached = ctx.state.get(INDEX_STATE_KEY)
    if isinstance(cached, SymbolIndex) and cached.root == root:
        return cached
    if not root.is_dir():
        raise ToolError(f"The target repository {str(root)!r} is not a folder.")
    index = build_index(root)
    ctx.state[INDEX_STATE_KEY] = index
    return index


def find_source(args: FindSourceArgs, ctx: ToolContext) -> FindSourceResult:
    """Find the C# source of a method named in a trace and return its file, line range and
    numbered source. Async state machines (<M>d__N.MoveNext), lambdas (<>c__DisplayClass…),
    local functions, generic arity (`2, [System.__Canon]) and nested types (+) are mapped back
    to the method as written. Use it on the hot target methods analyze_trace names (pass its
    frame names as they are), before recommending a change; not for runtime methods (System.*),
    which have no source in the repository. Ambiguous overloads give every candidate, best
    first; no match gives the nearest names.
    """
    index = get_index(ctx)
    ref = parse_frame(args.symbol)
    if ref is None:
        raise ToolError(f"{args.symbol!r} does not name a method (unresolved or pseudo frame).")
    matches = resolve(index, ref)
    if not matches or matches[0].score < FOUND_SCORE:
        others = "; same-named members of other types are listed" if matches else ""
        return FindSourceResult(
            found=False,
            candidates=[_candidate(m) for m in matches[:MAX_CANDIDATES]],
            source="",
            nearest=nearest_names(index, ref),
            note=f"No declaration of {_display(ref)!r} in {len(index.files)} C# files{others}.",
        )
    best = matches[0].symbol
    return FindSourceResult(
        found=True,
        candidates=[_candidate(m) for m in matches[:MAX_CANDIDATES]],
        source=numbered_source(index, best, max_lines=args.max_lines),
        note=_note(ref, len(matches)),
    )


def resolve(index: SymbolIndex, ref: FrameRef) -> list[Match]:
    """Every declaration the frame may mean, best first (ties by file and line).

    Library code is looked up first; tests, tools and the rest are parsed only when the
    library holds no good match.
    """
    matches = _resolve_indexed(index, ref)
    if (not matches or matches[0].score < FOUND_SCORE) and index.complete():
        matches = _resolve_indexed(index, ref)
    return matches


def _resolve_indexed(index: SymbolIndex, ref: FrameRef) -> list[Match]:
    pool = [s for s in index.by_name(ref.local or ref.method) if s.kind in MEMBER_KINDS]
    if ref.local:
        local = [s for s in pool if s.parent == ref.method]
        pool = local or [s for s in index.by_name(ref.method) if s.kind in MEMBER_KINDS]
    elif ref.method in (".ctor", ".cctor"):
        pool = list(index.by_name(ref.method))
    else:
        pool = [s for s in pool if s.kind != "local_function"] or pool
    scored = [
        Match(s, round(min(score(s, ref) + _lambda_bonus(index, s, ref), 1.0), 3)) for s in pool
    ]
    scored = [m for m in scored if m.score > 0]
    return sorted(scored, key=lambda m: (-m.score, m.symbol.file, m.symbol.start_line))


def score(symbol: Symbol, ref: FrameRef) -> float:
    """0..1: name match, how much of the qualifier matches, arity and parameter agreement."""
    path = [*symbol.namespace.split("."), *symbol.types] if symbol.namespace else [*symbol.types]
    bases = [p.split("`")[0] for p in path]
    result = 0.5
    if ref.qualifier:
        matched = 0
        for frame_seg, sym_seg in zip(reversed(ref.qualifier), reversed(bases), strict=False):
            if frame_seg != sym_seg:
                break
            matched += 1
        type_names = {t.split("`")[0] for t in symbol.types}
        if matched == 0 and not set(ref.qualifier) & type_names:
            return 0.1  # same name in an unrelated type: still shown, ranked last
        result += 0.3 * matched / len(ref.qualifier)
        result += _arity_bonus(ref, path)
    if ref.params is not None and symbol.kind != "property":
        result += _param_bonus(ref.params, symbol.params)
    return max(0.0, min(result, 1.0))


def _lambda_bonus(index: SymbolIndex, symbol: Symbol, ref: FrameRef) -> float:
    """A lambda frame prefers the overload whose body declares a lambda; a state machine
    (``<Read>d__12``) the overload the compiler rewrote into one: ``async`` or an iterator.
    The sync ``Read()`` beside ``async Task<bool> Read(bool async)`` has no state machine."""
    if symbol.node is None:
        return 0.0
    if ref.compiler_generated == "lambda":
        return 0.05 if captures(_LAMBDAS, symbol.node).get("l") else 0.0
    if ref.compiler_generated == "state_machine":
        rewritten = has_modifier(symbol.node, "async") or captures(_YIELDS, symbol.node).get("y")
        return 0.05 if rewritten else 0.0
    return 0.0


def _arity_bonus(ref: FrameRef, path: list[str]) -> float:
    if not ref.arities or not ref.arities[-1] or not path:
        return 0.05
    declared = path[-1].split("`")
    arity = int(declared[1]) if len(declared) > 1 else 0
    return 0.05 if arity == ref.arities[-1] else -0.1


def _param_bonus(frame: tuple[str, ...], declared: tuple[str, ...]) -> float:
    if len(frame) != len(declared):
        return -0.1
    if not frame:
        return 0.15
    same = sum(1 for f, d in zip(frame, declared, strict=True) if f in ("*", canonical_type(d)))
    return 0.05 + 0.1 * same / len(frame)


def numbered_source(
    index: SymbolIndex, symbol: Symbol, *, max_lines: int, max_chars: int = SOURCE_MAX_CHARS
) -> str:
    """The symbol's lines as ``  25 | code``, cut to ``max_lines`` / ``max_chars`` with a note."""
    lines = index.files[symbol.file].text.splitlines()
    end = min(symbol.end_line, len(lines))
    last = min(end, symbol.start_line + max_lines - 1)
    width = len(str(last))
    out: list[str] = []
    used = 0
    for n in range(symbol.start_line, last + 1):
        line = f"{n:>{width}} | {_cut(lines[n - 1])}"
        used += len(line) + 1
        if used > max_chars:
            last = n - 1
            break
        out.append(line)
    if last < end:
        out.append(f"… {end - last} more lines (to line {end}) cut")
    return f"{symbol.file}:{symbol.start_line}-{end}\n" + "\n".join(out)


def _cut(line: str, limit: int = 240) -> str:
    return line if len(line) <= limit else line[:limit] + " …"


def nearest_names(index: SymbolIndex, ref: FrameRef, *, limit: int = 5) -> list[str]:
    """Known ``Type.Member`` names closest to what the frame asked for (difflib)."""
    wanted = _display(ref)
    index.complete()
    names = sorted({s.signature.split("(")[0] for s in index.symbols if s.kind in MEMBER_KINDS})
    close = difflib.get_close_matches(wanted, names, n=limit, cutoff=0.4)
    by_member = {n.rsplit(".", 1)[-1]: n for n in names}
    for member in difflib.get_close_matches(ref.local or ref.method, list(by_member), n=limit):
        if by_member[member] not in close:
            close.append(by_member[member])
    return close[:limit]


def _display(ref: FrameRef) -> str:
    owner = ref.qualifier[-1] if ref.qualifier else ""
    name = f"{ref.method}.{ref.local}" if ref.local else ref.method
    return f"{owner}.{name}" if owner else name


def _note(ref: FrameRef, count: int) -> str:
    how = {
        "state_machine": "async/iterator state machine of",
        "lambda": "lambda inside",
        "local_function": "local function of",
        "accessor": "accessor of",
    }.get(ref.compiler_generated or "", "method")
    more = f"; {count} candidates" if count > 1 else ""
    return f"Frame read as {how} {_display(ref)}{more}."


def _candidate(match: Match) -> SourceCandidate:
    s = match.symbol
    return SourceCandidate(
        file=s.file,
        start_line=s.start_line,
        end_line=s.end_line,
        score=match.score,
        signature=s.signature,
    )


def repo_relative(repo: Path, path: str) -> str:
    """``path`` (relative to ``repo`` or absolute) as a POSIX path inside the repo.

    Raises:
        ToolError: when the path (after resolving symlinks) leaves the repository.
    """
    root = repo.resolve()
    candidate = Path(path)
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not resolved.is_relative_to(root):
        raise ToolError(f"{path!r} is outside the target repository; only its files are read.")
    return resolved.relative_to(root).as_posix()
