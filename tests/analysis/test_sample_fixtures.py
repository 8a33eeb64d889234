"""The analysis on real .NET 10 traces of the sample target (tests/fixtures/traces, recorded by
bench/record_sample_traces.py with the product's own trace_collect): each seeded problem is
found with its numbers, on every machine, with or without .NET."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tools.analysis.analyze import analyze_trace_file
from tools.analysis.results import TraceAnalysis

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "traces"
NAMES = ("hot-cpu", "alloc-alloc", "lock-contention", "healthy-all")


def _facts(name: str) -> dict[str, Any]:
    facts: dict[str, Any] = json.loads((FIXTURES / f"{name}.facts.json").read_text())
    return facts


def _analysis(name: str) -> TraceAnalysis:
    return analyze_trace_file(
        FIXTURES / f"{name}.nettrace", messages=_facts(name)["messages"], target_prefix="FlushLab."
    )


@pytest.mark.parametrize("name", NAMES)
def test_each_fixture_says_how_it_was_recorded(name: str) -> None:
    """Seed, SDK and runtime versions, the exact command; a few MB at most."""
    facts = _facts(name)
    assert facts["sdk"].startswith("10.") and "NETCore.App 10." in facts["runtime"]
    assert facts["stress_command"].startswith("examples/flushlab/tools/FlushLab.StressTests/")
    assert f"--scenario {facts['scenario']}" in facts["stress_command"]
    assert (FIXTURES / f"{name}.nettrace").stat().st_size == facts["size_bytes"] < 3_000_000


def test_hot_the_naive_crc_is_the_top_method() -> None:
    analysis = _analysis("hot-cpu")
    top = analysis.cpu.top_self[0]
    assert "FlushLab.Protocol.Crc32Naive.Compute" in top.name and top.percent > 25
    assert analysis.cpu.share.target > 30


def test_alloc_the_per_message_site_and_the_per_batch_one() -> None:
    sites = {s.frames[-1].split("(")[0].rsplit(".", 1)[-1]: s for s in _analysis("alloc-alloc")
             .allocations.by_site}  # fmt: skip
    encode, batch = sites["EncodeRecord"], sites["OpenBatch"]
    assert encode.types == ["System.Byte[]"] and encode.classification == "per-message"
    assert encode.percent > 90 and (encode.bytes_per_message or 0) > 500
    assert batch.classification == "per-batch-or-rarer"


def test_lock_the_global_append_lock_is_contended_and_no_hang() -> None:
    analysis = _analysis("lock-contention")
    assert analysis.contention.events > 300
    assert "AppendUnderGlobalLock" in analysis.contention.top[0].site
    assert analysis.hang_verdict is not None and analysis.hang_verdict.kind == "no_hang"


def test_healthy_nothing_per_message_no_contention_no_hang() -> None:
    analysis = _analysis("healthy-all")
    assert all(s.classification != "per-message" for s in analysis.allocations.by_site)
    assert analysis.contention.events < 50
    assert analysis.hang_verdict is not None and analysis.hang_verdict.kind == "no_hang"
