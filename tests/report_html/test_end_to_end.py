"""A synthetic Dekaf trace + the fixture repo -> a report whose advice names planted lines."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from tests.report_html.conftest import FIXTURE_REPO, RA, line_of
from tools.report_html import report_for_trace


def test_trace_to_source_linked_report(tmp_path: Path, dekaf_trace: ModuleType) -> None:
    """Hot TryAppend, its per-message byte[] and its lock all land on the planted lines."""
    synthetic = dekaf_trace
    trace = synthetic.write_dekaf_trace(tmp_path / "producer.nettrace")
    bundle, findings = report_for_trace(
        trace, tmp_path / "out", repo=FIXTURE_REPO, messages=synthetic.MESSAGES
    )
    assert findings is not None
    assert (
        findings.location(synthetic.TRY_APPEND) == f"{RA}:{line_of('public bool TryAppend(long')}"
    )
    by_kind = {rec.kind: rec for rec in reversed(findings.recommendations)}
    assert (by_kind["allocation"].file, by_kind["allocation"].line) == (
        RA,
        line_of("var copy = new byte["),
    )
    assert "per message" in by_kind["allocation"].text
    assert (by_kind["contention"].rule, by_kind["contention"].line) == (
        "lock",
        line_of("lock (_sync) //"),
    )
    assert by_kind["cpu"].file == RA
    page = bundle.html.read_text()
    assert f"{RA}:{line_of('var copy = new byte[')}" in page and "RecordAccumulator.cs:" in page
