"""The playbook planner's final report: four sections built from the tool results it saw.

Reads the ``analyze_trace`` JSON keys tolerantly (``cpu.top_self[{name, percent, samples}]``,
``allocations.by_type``, ``contention``, ``deadlock.suspected/evidence``): a missing key
means "not in this trace", never a crash. Every missing piece of data is named in one plain
sentence, with how to collect it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from agent.failures import CallFact, is_build_failure, missing_data_sentences
from tools.analysis.hang_markdown import verdict_from_json, verdict_lines
from tools.analysis.markdown import lock_spin_lines, recommendation_lines
from tools.analysis.results import LockSpin
from tools.target_config import KAFKA_NOT_NEEDED
from tools.units import human_bytes, human_count

HOT_ROWS = 10
"""Rows of the hot-method table."""

ALLOC_ROWS = 8
"""Rows of the allocation table."""

HOW_TO_COLLECT = (
    "To collect it, run `pta ask` again on a machine with the .NET SDK, `dotnet-trace` and "
    "Docker (or a running Kafka broker), or name an existing `.nettrace` file in the request."
)


@dataclass(frozen=True)
class StepResult:
    """The result of one planner step: failed or not, its text, its JSON (None if not JSON)."""

    is_error: bool
    text: str
    data: Any


@dataclass(frozen=True)
class _View:
    preset: str
    scenario: str
    results: dict[str, StepResult]
    analysis: dict[str, Any] | None
    target_prefix: str
    kafka_needed: bool


def write_report(
    preset: str,
    scenario: str,
    results: dict[str, StepResult],
    target_prefix: str,
    *,
    kafka_needed: bool = True,
) -> str:
    """The four-section Markdown report for what the planner collected."""
    settled = results.get("analyze_trace")
    analysis = settled.data if settled and not settled.is_error else None
    view = _View(
        preset,
        scenario,
        results,
        analysis if isinstance(analysis, dict) else None,
        target_prefix,
        kafka_needed,
    )
    parts = [
        *_build_failure(view),
        _intro(view),
        "## Hot Paths & CPU Time\n" + _hot_paths(view),
        "## Allocations\n" + _allocations(view),
        "## Contention & Deadlocks\n" + _contention(view),
        "## Recommendations\n" + _recommendations(view),
    ]
    return "\n\n".join(parts) + "\n"


def _build_failed(v: _View) -> bool:
    built = v.results.get("build")
    if built is None or not built.is_error or "trace_collect" in v.results:
        return False
    return is_build_failure("build", built.text)


def _build_failure(v: _View) -> list[str]:
    """The compiler errors, first of all, when the build failed (nothing was traced then)."""
    built = v.results.get("build")
    if built is None or not _build_failed(v):
        return []
    errors = [line for line in built.text.splitlines() if line.startswith("- ")]
    if not errors:
        first = built.text.strip().splitlines()[:1] or ["the build failed"]
        return [f"**The build failed, so nothing was traced:** {first[0]}"]
    listed = "\n".join(
        f"- `{line[2:].split(': ', 1)[0]}`: {line[2:].split(': ', 1)[-1]}" for line in errors
    )
    return [
        "**The build failed, so nothing was traced.** Fix these build errors, then ask "
        f"again:\n\n{listed}"
    ]


def _intro(v: _View) -> str:
    source = _trace_path(v)
    if "trace_collect" in v.results or "start_kafka" in v.results or "build" in v.results:
        collected = v.results.get("trace_collect")
        seconds = dig(collected.data, "trace_seconds") if collected else None
        window = f"a {seconds} s trace window" if isinstance(seconds, int) else "a trace window"
        plan = (
            f"Offline playbook: the `{v.scenario}` scenario, preset `{v.preset}`, {window} "
            "on a 1 minute stress run."
        )
        if not v.kafka_needed:
            plan += f" {KAFKA_NOT_NEEDED}."
    else:
        plan = f"Offline playbook: analysis of the existing trace `{source or '?'}`."
    return plan if v.analysis is None else f"{plan} Evidence below is from `{source}`."


def _missing(v: _View) -> str:
    if _build_failed(v):
        return "Not collected: the build failed, so nothing was traced (errors at the top)."
    facts = [CallFact(_tool(k), r.is_error, r.text) for k, r in v.results.items()]
    wanted = ("No trace was collected", "The trace was not analysed")
    sentences = [s for s in missing_data_sentences(facts) if s.startswith(wanted)]
    first = sentences[0] if sentences else "No trace was analysed, so there is no data."
    return f"Not collected. {first}"


def _tool(key: str) -> str:
    return "write_memory" if key.startswith("write_memory") else key


def _trace_path(v: _View) -> str | None:
    for key in ("trace_collect", "analyze_trace"):
        data = v.results[key].data if key in v.results else None
        if isinstance(data, dict):
            path = data.get("trace_path") or dig(data, "trace", "path")
            if isinstance(path, str):
                return path
    return None


def _hot_paths(v: _View) -> str:
    if v.analysis is None:
        return _missing(v)
    cpu = _part(v, "cpu")
    rows = [r for r in (cpu.get("top_self") or []) if isinstance(r, dict)][:HOT_ROWS]
    if not rows:
        return (
            "Not collected: this trace holds no CPU samples. Ask a CPU question (preset `cpu`) "
            "or about hangs (preset `all`) to record them."
        )
    managed = _count(cpu.get("managed_samples"))
    lines = [f"{_count(cpu.get('samples'))} samples ({managed} managed)."]
    share = cpu.get("share")
    if isinstance(share, dict) and share:
        parts = ", ".join(f"{k.replace('_', ' ')} {val}%" for k, val in share.items())
        lines.append(f"Share of samples: {parts} (target = `{v.target_prefix}*`).")
    lines += ["", "Top methods by self time:", "", "| # | Method | Self % | Samples |"]
    lines.append("|---|---|---|---|")
    for rank, row in enumerate(rows, start=1):
        lines.append(
            f"| {rank} | `{_cell(row.get('name'))}` | {row.get('percent', '?')} "
            f"| {_count(row.get('samples'))} |"
        )
    inclusive = [r for r in (cpu.get("top_inclusive") or []) if isinstance(r, dict)][:5]
    if inclusive:
        lines += ["", "Top methods by inclusive time:"]
        lines += [f"- `{r.get('name')}` {r.get('percent', '?')}%" for r in inclusive]
    hot = _first_target(v)
    where = _source_location(v)
    lines.append("")
    if hot:
        at = f" (`{where}`)" if where else ""
        lines.append(f"The hottest {v.target_prefix.rstrip('.')} method is `{hot}`{at}.")
    else:
        lines.append(f"No `{v.target_prefix}*` method is among the top {len(rows)}.")
    return "\n".join(lines)


def _allocations(v: _View) -> str:
    if v.analysis is None:
        return _missing(v)
    alloc = _part(v, "allocations")
    rows = [r for r in (alloc.get("by_type") or []) if isinstance(r, dict)][:ALLOC_ROWS]
    if not rows:
        return (
            "Not collected: this trace holds no allocation events. Ask about allocations "
            "(preset `alloc`) to record them."
        )
    lines = [
        f"{_count(alloc.get('ticks'))} allocation samples, about {_bytes(alloc.get('bytes'))}.",
        "",
        "| Type | Sampled size | Samples |",
        "|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| `{_cell(row.get('type'))}` | {_bytes(row.get('bytes'))} "
            f"| {_count(row.get('ticks'))} |"
        )
    sites = [s for s in (alloc.get("by_site") or []) if isinstance(s, dict)][:3]
    if sites:
        lines += ["", "Allocating stacks (leaf method last):"]
        for site in sites:
            lines.append(
                f"- `{_leaf(site)}` allocates {', '.join(site.get('types') or [])}: "
                f"{_bytes(site.get('bytes'))} ({site.get('percent', '?')}%)"
            )
    per_message = alloc.get("per_message_sites")
    if isinstance(per_message, int):
        verdict = "none" if per_message == 0 else str(per_message)
        lines += ["", f"Allocation sites classified as per-message: {verdict}."]
    return "\n".join(lines)


def _contention(v: _View) -> str:
    if v.analysis is None:
        return _missing(v)
    cont = _part(v, "contention")
    dead = _part(v, "deadlock")
    lines = []
    if cont.get("events"):
        lines.append(
            f"{_count(cont.get('events'))} lock waits, {cont.get('total_ms', '?')} ms in total, "
            f"the longest {cont.get('max_ms', '?')} ms."
        )
        for entry in [e for e in (cont.get("top") or []) if isinstance(e, dict)][:5]:
            lines.append(
                f"- `{entry.get('site', _leaf(entry))}`: {_count(entry.get('events'))} waits, "
                f"{entry.get('total_ms', '?')} ms, longest {entry.get('max_ms', '?')} ms"
            )
    elif cont.get("collected") is False or v.preset in ("cpu", "alloc"):
        lines.append(
            "Not collected: this trace holds no lock-contention events. Ask about locks (preset "
            "`all`) or a hang or deadlock (preset `hang`) to record them."
        )
    else:
        lines.append("No lock contention was recorded in the traced window.")
    spin = _lock_spin(v)
    if spin:
        lines += ["", *lock_spin_lines(spin, {})]
    verdict = verdict_from_json(v.analysis.get("hang_verdict"))
    if verdict is not None:
        lines += ["", *verdict_lines(verdict)]
    elif dead.get("suspected") is True:
        lines.append("**A deadlock is suspected.** Evidence:")
        lines += [f"- {_one_line(e)}" for e in (dead.get("evidence") or [])[:5]]
    elif dead.get("suspected") is False:
        lines.append("No deadlock is suspected: no threads blocked for the whole window, no cycle.")
    return "\n".join(lines)


def _lock_spin(v: _View) -> list[LockSpin]:
    """The CPU section's lock-spin rows that read as such (others are skipped, never fatal)."""
    rows = _part(v, "cpu").get("lock_spin")
    out = []
    for row in rows if isinstance(rows, list) else []:
        try:
            out.append(LockSpin.model_validate(row))
        except ValidationError:
            continue
    return out


def _recommendations(v: _View) -> str:
    """The analysis's recommendations, rendered as `pta analyze` renders them (one voice)."""
    if _build_failed(v):
        return "- Fix the build errors listed at the top, then ask again to trace the fixed code."
    if v.analysis is None:
        return f"- Collect the data first. {HOW_TO_COLLECT}"
    recs = v.analysis.get("source_recommendations")
    if not isinstance(recs, list):
        # An analysis from before the tool computed them: the same computation, trace only.
        from tools.source.findings import recommendation_dict
        from tools.source.recommend import recommend

        found = recommend(v.analysis, None, target_prefix=v.target_prefix)
        recs = [recommendation_dict(r) for r in found.recommendations]
    return "\n".join(recommendation_lines([r for r in recs if isinstance(r, dict)])).rstrip()


def _leaf(entry: dict[str, Any]) -> str:
    frames = entry.get("frames") or entry.get("stack")
    return str(frames[-1]) if isinstance(frames, list) and frames else "?"


def _count(value: Any) -> str:
    return human_count(value) if isinstance(value, int | float) else "?"


def _bytes(value: Any) -> str:
    return human_bytes(value) if isinstance(value, int | float) else "? bytes"


def _cell(value: Any) -> str:
    return str(value if value is not None else "?").replace("|", "\\|")


def _first_target(v: _View) -> str | None:
    for row in _part(v, "cpu").get("top_self") or []:
        if isinstance(row, dict) and _is_target(row.get("name"), v.target_prefix):
            return str(row["name"]).split("!", 1)[-1]
    return None


def _source_location(v: _View) -> str | None:
    found = v.results.get("find_source")
    if not found or not isinstance(found.data, dict) or not found.data.get("found"):
        return None
    candidates = found.data.get("candidates") or []
    best = candidates[0] if candidates and isinstance(candidates[0], dict) else None
    if best is None:
        return None
    return f"{best.get('file')}:{best.get('start_line')}-{best.get('end_line')}"


def _is_target(name: Any, prefix: str) -> bool:
    return isinstance(name, str) and name.split("!", 1)[-1].startswith(prefix)


def _one_line(entry: Any) -> str:
    if isinstance(entry, dict):
        text = ", ".join(f"{k}: {v}" for k, v in entry.items() if not isinstance(v, list | dict))
        if entry.get("frames") or entry.get("stack"):
            text += f" — at `{_leaf(entry)}`"
        return text[:300]
    return str(entry)[:300]


def _part(v: _View, key: str) -> dict[str, Any]:
    value = v.analysis.get(key) if v.analysis is not None else None
    return value if isinstance(value, dict) else {}


def dig(data: Any, *keys: str) -> Any:
    """``data[k1][k2]…`` through nested dicts, or None where a level is missing or not a dict."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
