"""The real .NET tier: the sample target built with the real SDK, traced with the real dotnet-trace.

Runs wherever `dotnet` is on PATH (the development machines and their CI) and is skipped, with
that reason, only where it is absent. The product installs dotnet-trace and dotnet-stack itself:
the tier runs with a HOME of its own, so the first investigation installs them there as it would
on a fresh machine, and the rest of the tier reuses them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = REPO_ROOT / "examples" / "flushlab"
_SCRIPT = Path(sys.executable).parent / "pta"
PTA = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "agent.cli"]
"""This checkout's CLI, as a user starts it."""
ASK_TIMEOUT_S = 420
"""A fresh restore and build, a dotnet-trace install and a trace fit well inside this."""

if shutil.which("dotnet") is None:
    pytest.skip("the real .NET tier needs the .NET SDK (`dotnet` on PATH)", allow_module_level=True)


@dataclass
class AskRun:
    """One `pta ask --offline --json` run: its exit status, document and stderr."""

    returncode: int
    document: dict[str, Any]
    stderr: str
    survivors: list[str]

    @property
    def sections(self) -> dict[str, str]:
        """The report's sections by heading."""
        return dict(self.document.get("sections", {}))

    def section(self, heading: str) -> str:
        """One section's Markdown ('' when absent)."""
        return self.sections.get(heading, "")


@pytest.fixture(scope="session")
def real_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One HOME for the whole tier: the product installs dotnet-trace into it once."""
    return tmp_path_factory.mktemp("real-home")


@pytest.fixture(scope="session")
def sample_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of examples/flushlab (built once by the first investigation, then reused)."""
    return copy_sample(tmp_path_factory.mktemp("sample") / "flushlab")


def copy_sample(destination: Path) -> Path:
    """examples/flushlab copied without build output or earlier runs' files."""
    ignore = shutil.ignore_patterns("bin", "obj", ".perf-trace-analyzer", ".claude")
    shutil.copytree(SAMPLE, destination, ignore=ignore)
    return destination


@pytest.fixture
def real_env(real_home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of a user's shell: the real PATH, the tier's HOME, English output."""
    # A fresh machine: no global tools on PATH (CI or a shell may carry ~/.dotnet/tools), so
    # the first investigation has to install dotnet-trace itself.
    path = os.pathsep.join(
        entry for entry in os.environ.get("PATH", "").split(os.pathsep)
        if not entry.rstrip("/").endswith(".dotnet/tools")
    )  # fmt: skip
    monkeypatch.setenv("HOME", str(real_home))
    monkeypatch.setenv("PATH", path)
    env = dict(os.environ)
    env.update(HOME=str(real_home), DOTNET_CLI_TELEMETRY_OPTOUT="1", DOTNET_NOLOGO="1")
    return env


@pytest.fixture
def ask(real_env: dict[str, str]) -> Callable[..., AskRun]:
    """Runs `pta ask QUESTION --offline --json --repo REPO` as a user would."""

    def run(question: str, repo: Path) -> AskRun:
        argv = [*PTA, "ask", "-p", question, "--offline", "--json", "--repo", str(repo)]
        done = subprocess.run(
            argv,
            cwd=REPO_ROOT,
            env=real_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=ASK_TIMEOUT_S,
        )
        try:
            document = json.loads(done.stdout)
        except json.JSONDecodeError:
            document = {}
        return AskRun(done.returncode, document, done.stderr, survivors(repo))

    return run


def survivors(repo: Path) -> list[str]:
    """Command lines of processes still running the repo's stress tool or dotnet-trace."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(repo) in cmdline and ("StressTests" in cmdline or "dotnet-trace" in cmdline):
            found.append(f"{proc.name}: {cmdline.strip()}")
    return found


@pytest.fixture(autouse=True)
def _no_survivors(sample_repo: Path) -> Iterator[None]:
    """Whatever a test did, nothing of the sample target may be left running."""
    yield
    left = survivors(sample_repo.parent)
    assert not left, f"processes left running: {left}"
