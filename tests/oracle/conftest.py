"""The TraceEvent oracle: built once per session with the real dotnet, run once per trace.

The oracle (``TraceOracle/``) is a small C# program over Microsoft.Diagnostics.Tracing.TraceEvent
4.0.0, the parser dotnet-trace and PerfView use. Its build goes to a session temp folder
(``--artifacts-path``), so the source folder stays clean. Without ``dotnet`` on PATH the tier
skips with that reason; wherever ``dotnet`` is present it runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parent / "TraceOracle"
# Tests point HOME at a temp folder (tests/conftest.py); dotnet keeps its NuGet cache under the
# real one, so the oracle's processes get the home this session started with.
REAL_HOME = Path.home()
BUILD_TIMEOUT_S = 600
RUN_TIMEOUT_S = 300


def dotnet_env() -> dict[str, str]:
    """The environment for dotnet: the real home, no first-run banner or telemetry."""
    return {
        **os.environ,
        "HOME": str(REAL_HOME),
        "DOTNET_CLI_TELEMETRY_OPTOUT": "1",
        "DOTNET_NOLOGO": "1",
        "DOTNET_SKIP_FIRST_TIME_EXPERIENCE": "1",
    }


@dataclass
class Oracle:
    """The built oracle and the tallies it printed (one run per trace per session)."""

    dotnet: str
    dll: Path
    tallies: dict[Path, dict[str, Any]] = field(default_factory=dict)

    def tally(self, trace: Path) -> dict[str, Any]:
        """The oracle's JSON document for ``trace`` (top 100 lists)."""
        if trace not in self.tallies:
            done = subprocess.run(
                [self.dotnet, str(self.dll), "tally", str(trace), "--top", "100"],
                capture_output=True, text=True, env=dotnet_env(), timeout=RUN_TIMEOUT_S,
            )  # fmt: skip
            assert done.returncode == 0, f"TraceOracle failed on {trace.name}:\n{done.stderr}"
            self.tallies[trace] = json.loads(done.stdout)
        return self.tallies[trace]


@pytest.fixture(scope="session")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Oracle:
    """Builds TraceOracle once (``dotnet build -c Release``) into a session temp folder."""
    dotnet = shutil.which("dotnet")
    if dotnet is None:
        pytest.skip("dotnet is not on PATH: the TraceEvent oracle cannot be built or run")
    artifacts = tmp_path_factory.mktemp("trace-oracle")
    built = subprocess.run(
        [dotnet, "build", str(PROJECT), "-c", "Release", "--artifacts-path", str(artifacts),
         "-nologo", "-v", "quiet"],
        capture_output=True, text=True, env=dotnet_env(), timeout=BUILD_TIMEOUT_S,
    )  # fmt: skip
    assert built.returncode == 0, f"TraceOracle build failed:\n{built.stdout}\n{built.stderr}"
    dll = artifacts / "bin" / "TraceOracle" / "release" / "TraceOracle.dll"
    assert dll.is_file(), f"no {dll} after the build"
    return Oracle(dotnet, dll)


@dataclass
class ComparisonLog:
    """One line per (trace, aspect) compared, printed after the run."""

    lines: list[str] = field(default_factory=list)


_LOG = ComparisonLog()


@pytest.fixture(scope="session")
def comparisons() -> Iterator[ComparisonLog]:
    """Where the equality tests note what they compared."""
    yield _LOG


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The per-trace comparison with TraceEvent, after the test results."""
    if not _LOG.lines:
        return
    terminalreporter.section("TraceEvent oracle vs pta analyze")
    for line in _LOG.lines:
        terminalreporter.write_line(line)
