"""A synthetic Dekaf trace + the fixture repo -> a report whose advice names planted lines."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from tools.report_html import report_for_trace

HERE = Path(__file__).resolve().parent
FIXTURE_REPO = HERE.parent / "fixtures" / "dekaf_repo"
RA = "src/Dekaf/Producer/RecordAccumulator.cs"


def _dekaf_trace() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dekaf_trace", HERE / "dekaf_trace.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_trace_to_source_linked_report(tmp_path: Path) -> None:
    """Hot TryAppend, its per-message byte[] and its lock all land on the planted lines."""
    synthetic = _dekaf_trace()
    trace = synthetic.write_dekaf_trace(tmp_path / "producer.nettrace")
    bundle, findings = report_for_trace(
        trace, tmp_path / "out", repo=FIXTURE_REPO, messages=synthetic.MESSAGES
    )
    assert findings is not None
    lines = (FIXTURE_REPO / RA).read_text().splitlines()

    def line_of(needle: str) -> int:
        return next(n for n, text in enumerate(lines, start=1) if needle in text)

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
