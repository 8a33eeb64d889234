"""Target configuration, provider presets, stress-output parsing, and `pta doctor`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from agent.commands import doctor as doctor_command
from tools.errors import ToolError
from tools.providers import PRESETS, providers_for
from tools.stress_output import StressOutput
from tools.target_config import load_target_config

STRESS_LINES = """\
Process started at 10:15:00.123 UTC, PID: 4242
Using external Kafka at localhost:9092
=== Running: Dekaf producer ===
  [10:15:01] Initial Resources: WorkingSet=182.4MB, Private=150.2MB, GCHeap=24.7MB, \
Threads=24, GC=[0/0/0]
  Running Dekaf producer stress test for 1 minutes...
  [10:15:11] Progress: 14,512,345 messages | instant: 1,451,115 msg/sec | avg: 1,420,007 msg/sec
  [10:16:01] Final Resources: WorkingSet=201.0MB, Private=170.9MB, GCHeap=30.1MB, \
Threads=31, GC=[212/9/1]
  Completed: 87,060,900 messages, 1,451,015 msg/sec
"""


def test_defaults_are_dekaf_and_the_file_overrides_them(tmp_path: Path) -> None:
    """No file: Dekaf defaults; a .perf-trace-analyzer.toml overrides what it names."""
    assert load_target_config(tmp_path).stress_project == "tools/Dekaf.StressTests"
    (tmp_path / ".perf-trace-analyzer.toml").write_text(
        'stress_project = "perf/Stress"\nkafka_tag = "4.1.0"\nbootstrap = "broker:29092"\n'
    )
    config = load_target_config(tmp_path)
    assert (config.stress_project, config.kafka_tag) == ("perf/Stress", "4.1.0")
    assert config.bootstrap_address() == "broker:29092"
    assert config.executable_path(tmp_path) == (
        tmp_path.resolve() / "perf/Stress/bin/Release/net10.0/Stress"
    )


def test_environment_bootstrap_beats_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KAFKA_BOOTSTRAP_SERVERS wins over the file; an explicit address wins over both."""
    (tmp_path / ".perf-trace-analyzer.toml").write_text('bootstrap = "broker:29092"\n')
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "env:9092")
    config = load_target_config(tmp_path)
    assert config.bootstrap_address() == "env:9092"
    assert config.bootstrap_address("given:1") == "given:1"


@pytest.mark.parametrize(
    "text",
    ['stres_project = "x"\n', "message_size = -1\n", "not toml =\n", 'stress_project = "../x"'],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str) -> None:
    """Typos, invalid values, broken TOML and paths leaving the repo are refused by name."""
    (tmp_path / ".perf-trace-analyzer.toml").write_text(text)
    with pytest.raises(ToolError, match="perf-trace-analyzer.toml|outside the repository"):
        load_target_config(tmp_path).project_dir(tmp_path)


def test_presets_and_custom_provider_validation() -> None:
    """Presets are Dekaf's keywords; custom lists must be Name[:0xKeywords[:Level]]."""
    assert providers_for("cpu", None) == "Microsoft-DotNETCore-SampleProfiler"
    assert PRESETS["all"].startswith("Microsoft-DotNETCore-SampleProfiler,")
    assert (
        int(PRESETS["all"].split(":")[1], 16) & 0x4000
        and int(PRESETS["all"].split(":")[1], 16) & 0x1
    )
    assert providers_for("cpu", "A.B:0x10:5, C") == "A.B:0x10:5,C"
    for bad in ("A:10", "A:0x10:9", "A;rm -rf", "A:0x1:4:k=v", ",".join("A" * 9)):
        with pytest.raises(ToolError):
            providers_for("cpu", bad)


def test_wait_and_allocation_presets_carry_cpu_samples() -> None:
    """As Dekaf's profile-stress-test.sh:83-88 now does: contention and gc (our alloc) presets add
    SampleProfiler, so waits and allocations are read against where the CPU went."""
    assert providers_for("contention", None) == (
        "Microsoft-Windows-DotNETRuntime:0x000000000001C001:4,Microsoft-DotNETCore-SampleProfiler"
    )
    assert providers_for("alloc", None) == (
        "Microsoft-Windows-DotNETRuntime:0x0000000000480001:5,Microsoft-DotNETCore-SampleProfiler"
    )


def test_stress_output_lines_become_numbers() -> None:
    """The verbatim line shapes of the stress tool parse into messages, rates and resources."""
    output = StressOutput()
    markers = [output.feed(line) for line in STRESS_LINES.splitlines()]
    assert markers.index(True) == 4 and markers.count(True) == 1
    assert output.pid == 4242 and output.external_kafka == "localhost:9092"
    assert output.scenarios == ["Dekaf producer"]
    [progress] = output.progress
    assert (progress.messages, progress.instant_msg_per_s) == (14_512_345, 1_451_115.0)
    assert [r.gc_counts for r in output.resources] == [(0, 0, 0), (212, 9, 1)]
    assert output.completed_messages == 87_060_900 and output.latest_msg_per_s == 1_451_015.0


def _doctor(
    repo: Path, docker: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any, *, as_json: bool = False
) -> tuple[int, str]:
    monkeypatch.setattr(doctor_command, "docker_from_env", lambda: docker)
    status = doctor_command.run(argparse.Namespace(repo=repo, json=as_json))
    return status, capsys.readouterr().out


def test_doctor_all_good(
    built_repo: Path,
    fakes: Any,
    fake_docker: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every prerequisite met: one [ok] line each, exit status 0."""
    status, out = _doctor(built_repo, fake_docker, monkeypatch, capsys)
    lines = out.splitlines()
    assert status == 0 and all(line.startswith("[ok]") for line in lines)
    names = [line.split(":")[0].split("] ")[1].strip() for line in lines]
    assert names == [
        "target config", "dotnet", "dotnet-trace", "docker", "kafka", "stress project",
        "stress build",
    ]  # fmt: skip
    assert "10.0.100" in out and "Engine 27.3.1" in out


def test_doctor_names_each_fix(
    repo: Path,
    fakes: Any,
    fake_docker: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Missing SDK, dotnet-trace, Docker and build: each line says how to fix it; exit 1."""
    fakes.remove("dotnet")
    fakes.remove("dotnet-trace")
    fake_docker.running = False
    status, out = _doctor(repo, fake_docker, monkeypatch, capsys, as_json=True)
    report = json.loads(out)
    failed = {c["name"]: c["fix"] for c in report["checks"] if not c["ok"]}
    assert status == 1 and not report["ok"]
    assert "dot.net" in failed["dotnet"]
    assert "dotnet tool install --global dotnet-trace" in failed["dotnet-trace"]
    assert "start docker" in failed["docker"].lower()
    assert "dotnet build tools/Dekaf.StressTests -c Release" in failed["stress build"]
