"""The visual report: a self-contained HTML page with a flame graph, folded and speedscope files."""

from __future__ import annotations

from tools.report_html.bundle import report_for_trace
from tools.report_html.render import (
    REPORTS_SUBDIR,
    ReportBundle,
    find_latest_report,
    folded_text,
    render_html_report,
    write_report_bundle,
)

__all__ = [
    "REPORTS_SUBDIR",
    "ReportBundle",
    "find_latest_report",
    "folded_text",
    "render_html_report",
    "report_for_trace",
    "write_report_bundle",
]
