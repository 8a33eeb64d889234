"""`pta ask --offline` through every real tool: fake SDK on PATH, a Kafka stub, a real trace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from tools.analysis.cpu import stack_samples
from tools.analysis.topn import topn_rows


def test_ask_where_the_producer_spends_its_cpu(
    repo: Path,
    fakes: Any,
    kafka_stub: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Broker reused, one build, one 15 s trace attached by pid; the CPU section names the
    hottest methods of the trace the fake dotnet-trace wrote."""
    stub = kafka_stub()
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", stub.bootstrap)
    argv = ["ask", "where does the producer spend its CPU?", "--offline", "--repo", str(repo)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    report = captured.out
    assert stub.requests == [18]  # start_kafka asked ApiVersions before reusing the broker
    assert [c["argv"][0] for c in fakes.calls("dotnet")] == ["build"]
    [collect] = fakes.calls("dotnet-trace")
    [stress] = [c for c in fakes.calls("stress") if "--help" not in c["argv"]]
    assert collect["argv"][2] == str(stress["pid"]) and "00:00:00:15" in collect["argv"]
    assert stress["argv"][stress["argv"].index("--scenario") + 1] == "producer"
    traces = list((repo / ".perf-trace-analyzer" / "traces").glob("*.nettrace"))
    assert len(traces) == 1 and traces[0].read_bytes() == fakes.trace.read_bytes()
    cpu = report.split("## Hot Paths & CPU Time", 1)[1].split("## Allocations", 1)[0]
    hottest = topn_rows(stack_samples(traces[0]), top=3, inclusive=False)
    for row in hottest:
        assert row.name.split("(")[0] in cpu, row.name
    reports = repo / ".perf-trace-analyzer" / "reports"
    [page] = reports.glob("*.html")
    assert f"visual report (flame graph): {page}" in captured.err
    assert hottest[0].name.split("(")[0].rsplit(".", 1)[-1] in page.read_text()
    [markdown] = reports.glob("*.md")
    stem = markdown.name.removesuffix(".md")
    assert {p.name for p in reports.iterdir()} >= {
        f"{stem}.html",
        f"{stem}.speedscope.json",
        f"{stem}.folded.txt",
    }
