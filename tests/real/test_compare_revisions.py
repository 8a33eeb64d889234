"""`pta compare --rev` for real: a git history of the sample target with one seeded regression
and one harmless commit, each revision built with the real SDK and traced with the real
dotnet-trace, alternating A B A B.

Kept short (5 s windows, 2 runs per side: about a minute per comparison): the overdispersion
estimate needs two runs a side, and the seeded regression is a thousand bytes per message.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.real.conftest import PTA, REPO_ROOT, copy_sample, survivors

REAL_GLOBAL_TOOLS = Path.home() / ".dotnet" / "tools"
"""Where the machine's dotnet-trace is (read before any test moves HOME)."""

COMPARE_TIMEOUT_S = 400
"""Two fresh builds, four 5 s traces and (first in the tier) a dotnet-trace install."""
REGRESSION = (
    "            default:\n                AppendRecord(payload, Crc32Table.Compute(payload));",
    "            default:\n                AppendEncodedCopy(payload);",
)
"""The healthy path switched to the per-message encode (a fresh byte[] per record)."""
ACCUMULATOR = "src/FlushLab/Producer/RecordAccumulator.cs"


@pytest.fixture(scope="module")
def compare_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A user's shell with dotnet-trace already installed (on PATH, as `dotnet tool install
    --global` leaves it), in a HOME of its own: the tier's HOME stays fresh for the test that
    proves the product installs dotnet-trace itself."""
    home = tmp_path_factory.mktemp("compare-home")
    env = dict(os.environ, HOME=str(home), DOTNET_CLI_TELEMETRY_OPTOUT="1", DOTNET_NOLOGO="1")
    installed = shutil.which("dotnet-trace", path=str(REAL_GLOBAL_TOOLS))
    if installed is not None:
        env["PATH"] = os.pathsep.join([str(REAL_GLOBAL_TOOLS), env["PATH"]])
    return env


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """base → "encode each record into its own buffer" (the regression) → a comment."""
    repo = copy_sample(tmp_path_factory.mktemp("history") / "flushlab")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "dev@example.com")
    _git(repo, "config", "user.name", "Dev")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    accumulator = repo / ACCUMULATOR
    text = accumulator.read_text()
    assert REGRESSION[0] in text
    accumulator.write_text(text.replace(*REGRESSION))
    _git(repo, "commit", "-qam", "encode each record into its own buffer")
    sink = repo / "src/FlushLab/Producer/BatchSink.cs"
    sink.write_text("// Batches leave the producer here.\n" + sink.read_text())
    _git(repo, "commit", "-qam", "comment on the batch sink")
    return repo


def compare(rev: str, repo: Path, env: dict[str, str]) -> dict[str, Any]:
    argv = [*PTA, "compare", "--rev", rev, "--repo", str(repo), "--json",
            "--trace-seconds", "5", "--repeat", "2", "--scenario", "healthy"]  # fmt: skip
    status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    done = subprocess.run(argv, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=COMPARE_TIMEOUT_S)  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    after = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert after == status, "the working tree is untouched"
    assert not survivors(repo)
    assert not list((repo / ".perf-trace-analyzer" / "revisions").glob("*/worktrees/*"))
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_seeded_regression_is_found_at_its_site(
    history: Path, compare_env: dict[str, str]
) -> None:
    """HEAD~2..HEAD~1: EncodeRecord's byte[] per message is the headline, a significant
    regression, linked to RecordAccumulator.cs at both revisions, with the commit that did it."""
    result = compare("HEAD~2..HEAD~1", history, compare_env)
    verdict = result["verdict"]
    assert verdict.startswith("**Regression**"), result["report_markdown"]
    assert "RecordAccumulator.EncodeRecord" in verdict and "B/msg more" in verdict
    assert "System.Byte[]" in verdict and "2+2 runs" in verdict
    site = next(
        c for c in result["significant"]
        if c["family"] == "alloc_site" and "EncodeRecord" in c["name"]
    )  # fmt: skip
    assert site["verdict"] == "regression"
    assert site["delta"] > 500 and site["ci_low"] > 0  # ~1 KB per 1000-byte message
    assert [r["label"] for r in result["runs"]] == ["A1", "B1", "A2", "B2"]
    report = result["report_markdown"]
    assert f"{ACCUMULATOR}:" in report
    assert [c["subject"] for c in result["commits"]] == ["encode each record into its own buffer"]


def test_a_harmless_commit_shows_no_significant_change(
    history: Path, compare_env: dict[str, str]
) -> None:
    """HEAD~1..HEAD adds a comment: the same code traced twice a side, nothing significant."""
    result = compare("HEAD~1..HEAD", history, compare_env)
    assert result["verdict"].startswith("**No significant change**"), result["report_markdown"]
    assert result["significant"] == []
    assert result["compared_metrics"] > 10
