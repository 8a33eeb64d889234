"""`pta batch` through the whole pipeline (fake dotnet/dotnet-trace, a Kafka stub): the broker
and the build of the first request are reused, and JSONL options fix trace_collect's inputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main


def test_batch_builds_once_reuses_kafka_and_forces_options(
    repo: Path,
    fakes: Any,
    kafka_stub: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two traced requests: one `dotnet build`, both on the same broker, options honoured."""
    stub = kafka_stub()
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", stub.bootstrap)
    requests = tmp_path / "requests.jsonl"
    requests.write_text(
        "is the producer slow?\n"
        '{"prompt": "where does it allocate?", "scenario": "consumer", "client": "confluent", '
        '"preset": "alloc"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "results.jsonl"
    argv = ["batch", str(requests), "--repo", str(repo), "--out", str(out), "--offline"]
    assert main([*argv, "--quiet"]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["status"] for r in records] == ["ok", "ok"]
    assert all(r["trace_paths"] for r in records)
    builds = [c for c in fakes.calls("dotnet") if c["argv"][:1] == ["build"]]
    assert len(builds) == 1
    runs = [c for c in fakes.calls("stress") if "--help" not in c["argv"]]
    assert len(runs) == 2 and {r["kafka"] for r in runs} == {stub.bootstrap}
    second = runs[1]["argv"]
    assert second[second.index("--scenario") + 1] == "consumer"
    assert second[second.index("--client") + 1] == "confluent"
    assert Path(records[1]["trace_paths"][0]).name.startswith("consumer-confluent-alloc-")
