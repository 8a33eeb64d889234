"""One call from a trace file to the full report bundle (what ``--format html`` needs)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tools.analysis.analyze import analyze_trace_file
from tools.analysis.cpu import MAX_EVENTED_EVENTS, evented_events, sample_scan, samples_of
from tools.analysis.folded import folded_of
from tools.report_html.render import ReportBundle, write_report_bundle
from tools.source.findings import SourceLinkedFindings
from tools.source.recommend import recommend


def report_for_trace(
    trace: Path,
    out_dir: Path,
    *,
    repo: Path | None = None,
    target_prefix: str = "Dekaf.",
    messages: int | None = None,
    stem: str | None = None,
    title: str | None = None,
) -> tuple[ReportBundle, SourceLinkedFindings]:
    """Analyses ``trace`` and writes its HTML page, folded stacks and speedscope file.

    Args:
        trace: a ``.nettrace``/``.netperf`` file or a ``.zip`` holding one.
        out_dir: where the files go (e.g. ``<repo>/.perf-trace-analyzer/reports``).
        repo: the target repository; when given, findings are linked to its source.
        target_prefix: namespace prefix of the code under study.
        messages: messages of the traced run (per-message allocation classification).
        stem: file name stem (default: the trace's name without extensions).
        title: page title (default names the trace).

    Returns:
        The written files and the findings (linked to source with ``repo``).
    """
    analysis = analyze_trace_file(trace, messages=messages, target_prefix=target_prefix)
    data = analysis.model_dump()
    findings = recommend(data, repo, target_prefix=target_prefix)
    name = stem or trace.name.split(".", 1)[0]
    scan = sample_scan(trace)  # one pass for both the folded stacks and the speedscope file
    events = evented_events(scan)
    too_big = events > MAX_EVENTED_EVENTS
    bundle = write_report_bundle(
        out_dir,
        name,
        data,
        folded_of(scan),
        findings,
        title=title or f"perf-trace-analyzer — {trace.name}",
        samples=None if too_big else samples_of(scan),
    )
    if too_big:
        bundle = replace(
            bundle,
            note=f"No speedscope file: its evented form would hold about {events:,} events "
            f"(gigabytes of JSON); open {bundle.folded.name} in speedscope instead.",
        )
    return bundle, findings
