"""`pta ask` and `pta memory` as a user runs them (subprocesses, no API key).

Most runs take `dotnet` off PATH (a machine without the SDK); one builds with the real SDK.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import anthropic
import httpx2
import pytest

from agent.claude import ClaudeModel
from agent.cli import main
from agent.commands import ask
from agent.report import REPORT_HEADINGS
from memory import memory_root

VENV_BIN = Path(sys.executable).parent
REAL_DOTNET = shutil.which("dotnet")


def pta(*args: str, cwd: Path, path: str = str(VENV_BIN)) -> subprocess.CompletedProcess[str]:
    """Runs the installed `pta`; PATH is the venv only (no dotnet) unless ``path`` says more."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "PTA_"))}
    env["PATH"] = path
    env["DOCKER_HOST"] = f"unix://{cwd}/no-docker.sock"  # never reach a real daemon
    return subprocess.run(
        [str(VENV_BIN / "pta"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_offline_ask_without_dotnet_reports_what_could_not_be_collected(tmp_path: Path) -> None:
    """Exit 0, the four headings on stdout, one plain sentence per missing piece, files saved."""
    done = pta("ask", "is there a deadlock in flush?", "--offline", "--repo", str(tmp_path),
               cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    for heading in REPORT_HEADINGS:
        assert f"## {heading}\n" in done.stdout
    assert "**Could not be collected:**" in done.stdout
    assert "The stress-test tool was not built: the .NET SDK (`dotnet`) is not installed" in (
        done.stdout
    )
    assert "No trace was collected: the .NET SDK (`dotnet`) is not installed" in done.stdout
    assert "offline playbook planner" in done.stderr
    assert "✗ build" in done.stderr and "✓ read_memory" in done.stderr
    reports = sorted((tmp_path / ".perf-trace-analyzer" / "reports").iterdir())
    assert [p.suffix for p in reports] == [".json", ".md"]
    assert len(list((tmp_path / ".perf-trace-analyzer" / "sessions").glob("*.jsonl"))) == 1


def test_json_mode_prints_exactly_one_document(tmp_path: Path) -> None:
    """`-p … --json`: stdout parses as one JSON object with the report, calls and usage."""
    done = pta("ask", "-p", "does the producer allocate?", "--json", "--repo", str(tmp_path),
               cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["status"] == "ok" and document["offline"] is True
    assert set(document["sections"]) == set(REPORT_HEADINGS)
    assert [c["name"] for c in document["tool_calls"]][:3] == [
        "read_memory",
        "start_kafka",
        "build",
    ]
    assert document["usage"]["input_tokens"] == 0 and document["cost_usd"] == 0.0
    assert any("not installed" in s for s in document["not_collected"])
    assert Path(document["report_path"]).is_file()


BROKEN_PROGRAM = """class Program {
    static void Main() {
        int count = 1
        System.Console.WriteLine(count);
    }
}
"""


@pytest.mark.skipif(REAL_DOTNET is None, reason="needs the real .NET SDK (`dotnet` on PATH)")
def test_a_compile_error_stops_the_run_before_tracing(tmp_path: Path) -> None:
    """Real `dotnet build` fails: the report leads with the error at file:line; no trace."""
    assert REAL_DOTNET is not None
    project = tmp_path / "tools" / "Dekaf.StressTests"
    project.mkdir(parents=True)
    (project / "Dekaf.StressTests.csproj").write_text(
        '<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><OutputType>Exe</OutputType>'
        "<TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>\n"
    )
    (project / "Program.cs").write_text(BROKEN_PROGRAM)
    path = f"{VENV_BIN}:{Path(REAL_DOTNET).parent}"
    done = pta("ask", "is the producer slow?", "--offline", "--json", "--repo", str(tmp_path),
               cwd=tmp_path, path=path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    calls = [(c["name"], c["is_error"]) for c in document["tool_calls"]]
    assert ("build", True) in calls and "trace_collect" not in dict(calls)
    body = document["report_markdown"].split("\n## ", 1)[0]
    assert "**The build failed, so nothing was traced.**" in body
    assert "- `tools/Dekaf.StressTests/Program.cs:3`: CS1002: ; expected" in body
    assert document["report_markdown"].count("CS1002") <= 2  # the list and one summary sentence
    assert any(
        s.startswith("The stress-test tool was not built: the build failed with 1 error, the "
                     "first CS1002 at tools/Dekaf.StressTests/Program.cs:3")
        for s in document["not_collected"]
    )  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ["ask"],
        ["ask", "x", "-p", "y"],
        ["ask", "x", "--max-turns", "0"],
        ["ask", "x", "--repo", "/nope"],
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing or doubled question, a bad --max-turns or --repo is a usage error."""
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "pta ask:" in captured.err


def test_memory_commands_show_search_and_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pta memory path|show|search` work on the --repo memory the agent writes."""
    root = memory_root(tmp_path)
    root.mkdir(parents=True)
    (root / "MEMORY.md").write_text("- [contention.md](contention.md): locks\n")
    (root / "contention.md").write_text("- 2026-11-26: FlushAsync waits 2 s on the gate\n")
    repo = ["--repo", str(tmp_path)]
    assert main(["memory", "path", *repo]) == 0
    assert capsys.readouterr().out.strip() == str(root)
    assert main(["memory", "show", *repo]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("- [contention.md](contention.md): locks\n")
    assert "contention.md (1 lines)" in shown
    assert main(["memory", "search", "flushasync", "gate", *repo]) == 0
    found = capsys.readouterr().out
    assert found == "contention.md:1: - 2026-11-26: FlushAsync waits 2 s on the gate\n"
    assert main(["memory", "show", "--json", "--repo", str(tmp_path / "other")]) == 0
    assert json.loads(capsys.readouterr().out)["files"] == []
    assert main(["memory"]) == 2


def _overloaded(request: httpx2.Request) -> httpx2.Response:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    return httpx2.Response(529, json=body)


def test_persistent_overload_exits_1_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pta ask` with Claude always overloaded: exit 1, the reason on stderr, memory as it was."""
    root = memory_root(tmp_path)
    root.mkdir(parents=True)
    (root / "MEMORY.md").write_text("- [contention.md](contention.md): locks\n")
    http = anthropic.DefaultHttpxClient(transport=httpx2.MockTransport(_overloaded))
    client = anthropic.Anthropic(api_key="k", max_retries=0, http_client=http)
    waits: list[float] = []
    model = ClaudeModel(client, model="claude-opus-5-5", max_attempts=3, sleep=waits.append)
    args = argparse.Namespace(
        request="why is flush slow?", prompt=None, repo=tmp_path, model=None, offline=False,
        json=False, max_turns=5, quiet=False, effort=None,
    )  # fmt: skip
    assert ask.execute(args, model=model) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "the run failed: The Anthropic API still failed after 3 attempts (HTTP 529" in (
        captured.err
    )
    assert "retrying in" in captured.err and "(attempt 2/3)" in captured.err
    assert len(waits) == 2
    assert not (tmp_path / ".perf-trace-analyzer" / "reports").exists()
    assert [p.name for p in root.iterdir()] == ["MEMORY.md"]
    assert (root / "MEMORY.md").read_text() == "- [contention.md](contention.md): locks\n"
