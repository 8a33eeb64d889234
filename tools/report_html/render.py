"""The self-contained HTML report: flame graph, tables and recommendations in one file.

Everything is inline (our own CSS and JS, the data as JSON); the page loads nothing from the
network (a Content-Security-Policy forbids it). Beside it ``write_report_bundle`` writes the
folded stacks (``a;b;c weight``, the flamegraph tools' format) and, given thread-time samples, a
speedscope file.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined
from pydantic import BaseModel, ValidationError

from tools.analysis.model import StackSample
from tools.analysis.results import AllocationSection, ContentionSection, CpuSection, DeadlockSection
from tools.report_html.flame import merged_stacks, stack_table
from tools.report_html.initial_view import choose_initial_view
from tools.source.findings import Recommendation, SourceLinkedFindings

log = logging.getLogger(__name__)

FLAME_SCRIPTS = ("flame_model.js", "flame_draw.js", "flame.js")
"""The page's scripts, inlined in this order (each uses only those before it)."""
REPORTS_SUBDIR = "reports"
"""Reports go to ``<repo>/.perf-trace-analyzer/reports/`` unless the caller says otherwise."""

Recommendations = SourceLinkedFindings | Sequence[Recommendation | Mapping[str, Any]] | None


@dataclass(frozen=True)
class ReportBundle:
    """The files one report consists of."""

    html: Path
    folded: Path
    speedscope: Path | None
    note: str | None = None
    """Why a file is missing (a speedscope file too big to be useful), for the user."""


def render_html_report(
    analysis: Mapping[str, Any],
    folded: Sequence[tuple[str, int | float]],
    recommendations: Recommendations = None,
    *,
    title: str,
    weight_unit: str = "ns",
    links: Mapping[str, str] | None = None,
) -> str:
    """Renders the report page.

    Args:
        analysis: the ``pta analyze --json`` dict (missing sections are shown as not collected).
        folded: ``(root;…;leaf, weight)`` pairs, e.g. ``folded_stacks(trace)``.
        recommendations: ``link_and_recommend``'s result (its links fill the Source columns),
            or a list of recommendations (objects or dicts), or None.
        title: the page title.
        weight_unit: ``ns`` or ``ms``: the unit of the folded weights.
        links: frame name -> ``file:line``, added to the links of ``recommendations``.

    Returns:
        The whole HTML document.
    """
    recs, all_links = _normalise(recommendations)
    all_links.update(links or {})
    cpu = _section(analysis, "cpu")
    stacks = merged_stacks(folded)
    initial = choose_initial_view(stacks)
    flame = {
        "unit": weight_unit,
        "prefix": str(cpu.get("target_prefix", "Dekaf.")),
        "initial": {"view": initial.view, "method": initial.method},
        **stack_table(stacks),
    }
    context = {
        "title": title,
        "meta": _meta(analysis, folded),
        "prefix": flame["prefix"],
        "has_flame": bool(stacks),
        "initial": initial,
        "flame_json": _script_json(flame),
        "css": _asset("report.css"),
        "js": "\n".join(_asset(name) for name in FLAME_SCRIPTS),
        "cpu": cpu,
        "allocations": _section(analysis, "allocations"),
        "contention": _section(analysis, "contention"),
        "deadlock": _section(analysis, "deadlock"),
        "verdict": _verdict(analysis),
        "recommendations": recs,
        "links": all_links,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    env = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
    env.globals["split_frame"] = split_frame
    return env.from_string(_asset("report.html")).render(**context)


def _verdict(analysis: Mapping[str, Any]) -> dict[str, Any] | None:
    """The hang verdict as the Markdown report states it (title, headline, evidence lines)."""
    from tools.analysis.hang_markdown import TITLES, verdict_from_json

    verdict = verdict_from_json(analysis.get("hang_verdict"))
    if verdict is None:
        return None
    return {
        "title": TITLES[verdict.kind],
        "headline": verdict.headline,
        "evidence": verdict.evidence,
        "next_collection": verdict.next_collection,
    }


def split_frame(name: str) -> tuple[str, str, str]:
    """``mod!Ns.Type.M(args)`` -> (``mod!``, ``Ns.Type.M``, ``(args)``) for display."""
    bang = name.find("!")
    paren = name.find("(")
    module = ""
    if bang >= 0 and (paren < 0 or bang < paren):
        module, name = name[: bang + 1], name[bang + 1 :]
        paren = name.find("(")
    if paren > 0:
        return module, name[:paren], name[paren:]
    return module, name, ""


def write_report_bundle(
    out_dir: Path,
    stem: str,
    analysis: Mapping[str, Any],
    folded: Sequence[tuple[str, int | float]],
    recommendations: Recommendations = None,
    *,
    title: str,
    samples: Iterable[StackSample] | None = None,
    weight_unit: str = "ns",
) -> ReportBundle:
    """Writes ``<stem>.html``, ``<stem>.folded.txt`` and (given samples) ``<stem>.speedscope.json``.

    Args:
        out_dir: the folder (created); usually ``ctx.work_dir / REPORTS_SUBDIR``.
        stem: file name stem, e.g. ``producer-20260826-101500``.
        analysis: the ``pta analyze --json`` dict.
        folded: folded stacks for the flame graph and the folded file.
        recommendations: as for :func:`render_html_report`.
        title: the page title.
        samples: thread-time samples for the speedscope file (skipped when None).
        weight_unit: unit of the folded weights.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    folded_path = out_dir / f"{stem}.folded.txt"
    folded_path.write_text(folded_text(folded), encoding="utf-8")
    html_path = out_dir / f"{stem}.html"
    page = render_html_report(
        analysis, folded, recommendations, title=title, weight_unit=weight_unit
    )
    html_path.write_text(page, encoding="utf-8")
    speedscope_path = None
    if samples is not None:
        from tools.analysis.speedscope import write_speedscope

        speedscope_path = write_speedscope(samples, out_dir / f"{stem}.speedscope.json", name=stem)
    return ReportBundle(html_path, folded_path, speedscope_path)


def folded_text(folded: Sequence[tuple[str, int | float]]) -> str:
    """``a;b;c weight`` lines (flamegraph.pl / inferno / speedscope import format)."""
    lines = []
    for stack, weight in folded:
        value = int(weight) if float(weight).is_integer() else round(float(weight), 6)
        lines.append(f"{stack} {value}")
    return "\n".join(lines) + ("\n" if lines else "")


def find_latest_report(repo: Path) -> Path | None:
    """The newest ``*.html`` report under ``<repo>/.perf-trace-analyzer/``, or None."""
    root = repo / ".perf-trace-analyzer"
    if not root.is_dir():
        return None
    pages = [p for p in root.rglob("*.html") if p.is_file()]
    return max(pages, key=lambda p: p.stat().st_mtime, default=None)


def _normalise(recommendations: Recommendations) -> tuple[list[dict[str, Any]], dict[str, str]]:
    links: dict[str, str] = {}
    items: Sequence[Any] = []
    if isinstance(recommendations, SourceLinkedFindings):
        # The same few, in the same order, as the Markdown report prints (one voice).
        links = recommendations.labels()
        items = recommendations.printed
    elif recommendations is not None:
        items = recommendations
    recs = []
    for item in items:
        rec = asdict(item) if is_dataclass(item) and not isinstance(item, type) else dict(item)
        excerpt = str(rec.get("excerpt") or "")
        rec["excerpt_lines"] = [(line.startswith(">"), line) for line in excerpt.splitlines()]
        for key in ("kind", "rule", "rule_source", "file", "line", "text"):
            rec.setdefault(key, "")
        # The citation has its own line on the page; the text repeats it for Markdown.
        rec["display_text"] = str(rec["text"]).removesuffix(f"; {rec['rule_source']}")
        recs.append(rec)
    return recs, links


SECTION_MODELS: dict[str, type[BaseModel]] = {
    "cpu": CpuSection,
    "allocations": AllocationSection,
    "contention": ContentionSection,
    "deadlock": DeadlockSection,
}
"""The JSON contract's section models: they fill defaults for keys an older analysis lacks."""


def _section(analysis: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = analysis.get(key)
    raw = dict(value) if isinstance(value, Mapping) else {}
    model = SECTION_MODELS.get(key)
    if model is None:
        return raw
    try:
        return model.model_validate(raw).model_dump()
    except ValidationError:
        log.warning("analysis section %r does not match the contract; shown as empty", key)
        return model().model_dump()


def _meta(
    analysis: Mapping[str, Any], folded: Sequence[tuple[str, int | float]]
) -> list[tuple[str, str]]:
    trace = _section(analysis, "trace")
    meta = []
    if trace.get("path"):
        meta.append(("Trace", Path(str(trace["path"])).name))
    if trace.get("duration_s") is not None and trace:
        meta.append(("Duration", f"{float(trace['duration_s']):.2f} s"))
    cpu = _section(analysis, "cpu")
    if cpu.get("samples"):
        meta.append(("CPU samples", str(cpu["samples"])))
    meta.append(("Distinct stacks", str(len(folded))))
    return meta


def _script_json(value: Any) -> str:
    """JSON safe inside a ``<script>`` element (no ``</script>`` can end it early)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _asset(name: str) -> str:
    return resources.files("tools.report_html").joinpath(name).read_text(encoding="utf-8")
