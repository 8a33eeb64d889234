"""compare_revisions with the fake dotnet, dotnet-trace and stress tool and a real git repository:
the user's working tree is never touched, and the worktrees go whatever ends the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tools.base import ToolContext
from tools.compare_revisions import CompareRevisionsArgs, compare_revisions
from tools.errors import ToolError

REPO_ROOT = Path(__file__).resolve().parents[2]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    )
    return done.stdout


@pytest.fixture
def git_repo(repo: Path, fakes: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture target as a git repository of two commits, plus an uncommitted edit and an
    untracked file (a user's work in progress that must survive)."""
    monkeypatch.setenv("PTA_FAKE_STRESS_BROKERLESS", "1")
    fakes.add("git", "git")
    config = repo / ".perf-trace-analyzer.toml"
    config.write_text(config.read_text() + 'needs_kafka = false\nscenario = "producer"\n')
    source = repo / "tools" / "Dekaf.StressTests" / "Program.cs"
    source.write_text("class Program { static void Main() {} }\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dev@example.com")
    git(repo, "config", "user.name", "Dev")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    source.write_text("class Program { static void Main() { Work(); } static void Work() {} }\n")
    git(repo, "commit", "-qam", "the change")
    source.write_text(source.read_text() + "// work in progress\n")
    (repo / "notes.txt").write_text("untracked\n")
    return repo


def worktree_folders(repo: Path) -> list[Path]:
    return sorted((repo / ".perf-trace-analyzer" / "revisions").glob("*/worktrees/*"))


def registered_worktrees(repo: Path) -> list[str]:
    return [line for line in git(repo, "worktree", "list", "--porcelain").splitlines()
            if line.startswith("worktree ")]  # fmt: skip


def args(**overrides: Any) -> CompareRevisionsArgs:
    values: dict[str, Any] = {"base": "HEAD~1", "repeat": 2, "trace_seconds": 2}
    return CompareRevisionsArgs(**(values | overrides))


def test_both_revisions_traced_alternately_and_the_working_tree_untouched(
    git_repo: Path, fakes: Any
) -> None:
    """A B A B from two worktrees built once each; traces kept; the user's files, index and
    `git status --porcelain` exactly as before; no worktree left."""
    status_before = git(git_repo, "status", "--porcelain")
    head_before = git(git_repo, "rev-parse", "HEAD")
    result = compare_revisions(args(), ToolContext(repo=git_repo))
    assert [r.label for r in result.runs] == ["A1", "B1", "A2", "B2"]
    base, head = (git(git_repo, "rev-parse", f"HEAD{s}").strip()[:10] for s in ("~1", ""))
    assert [r.revision for r in result.runs] == [base, head, base, head]
    assert all(Path(r.trace_path).is_file() for r in result.runs)
    builds = [c for c in fakes.calls("dotnet") if c["argv"][:1] == ["build"]]
    assert len(builds) == 2, "each revision is built once, not per run"
    # The fake collects the same real trace for both revisions: nothing can have changed.
    assert result.verdict.startswith("**No significant change**")
    assert "uncommitted changes" in " ".join(result.notes)
    assert Path(result.json_path).is_file() and Path(result.report_path).is_file()
    assert git(git_repo, "status", "--porcelain") == status_before
    assert git(git_repo, "rev-parse", "HEAD") == head_before
    assert "work in progress" in (git_repo / "tools/Dekaf.StressTests/Program.cs").read_text()
    assert worktree_folders(git_repo) == []
    assert registered_worktrees(git_repo) == [f"worktree {git_repo.resolve()}"]


def test_a_revision_that_does_not_build_is_reported_with_its_compiler_errors(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTA_FAKE_BUILD_ERROR", "1")
    with pytest.raises(ToolError) as failure:
        compare_revisions(args(), ToolContext(repo=git_repo))
    message = str(failure.value)
    assert "HEAD~1" in message and "does not build" in message
    assert "- tools/Dekaf.StressTests/Program.cs:42: CS1002: ; expected" in message
    assert str(git_repo) not in message, "paths are relative to the repository"
    assert worktree_folders(git_repo) == []
    assert len(registered_worktrees(git_repo)) == 1


def test_worktrees_are_removed_when_a_trace_fails(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTA_FAKE_STRESS_MODE", "exit-early")
    status_before = git(git_repo, "status", "--porcelain")
    with pytest.raises(ToolError, match="before its measured phase"):
        compare_revisions(args(), ToolContext(repo=git_repo))
    assert worktree_folders(git_repo) == []
    assert len(registered_worktrees(git_repo)) == 1
    assert git(git_repo, "status", "--porcelain") == status_before


def test_a_cancelled_comparison_stops_its_processes_and_removes_the_worktrees(
    git_repo: Path,
) -> None:
    """Cancelled while tracing (an MCP cancellation, Ctrl-C): the stress tool is stopped and
    the worktrees go."""
    ctx = ToolContext(repo=git_repo)

    def progress(message: str, done: float | None, total: float | None) -> None:
        if "tracing" in message:
            ctx.cancel.set()

    ctx.progress = progress
    with pytest.raises(ToolError, match="cancelled"):
        compare_revisions(args(trace_seconds=30), ctx)
    assert worktree_folders(git_repo) == []
    assert len(registered_worktrees(git_repo)) == 1


def test_ctrl_c_on_pta_compare_rev_removes_the_worktrees(git_repo: Path) -> None:
    """A user's Ctrl-C (SIGINT) during the first trace: exit 130, no worktree left."""
    argv = [sys.executable, "-m", "agent.cli", "compare", "--rev", "HEAD~1", "--repo",
            str(git_repo), "--trace-seconds", "60", "--repeat", "1"]  # fmt: skip
    with subprocess.Popen(
        argv, cwd=REPO_ROOT, env=dict(os.environ), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    ) as process:  # fmt: skip
        seen: list[str] = []
        tracing = threading.Event()

        def read() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                seen.append(line)
                if "waiting for the measured phase" in line:
                    tracing.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert tracing.wait(60), "".join(seen)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 130, "".join(seen)
        reader.join(5)
    assert any("interrupted" in line for line in seen)
    assert worktree_folders(git_repo) == []
    assert len(registered_worktrees(git_repo)) == 1


@pytest.mark.parametrize("base", ["--upload-pack=x", "main;rm -rf /", "a b", "HEAD..x", ""])
def test_a_revision_that_is_not_shaped_like_one_never_reaches_git(base: str) -> None:
    with pytest.raises(ValueError):
        CompareRevisionsArgs(base=base)


def test_an_unknown_revision_is_a_clear_error(git_repo: Path) -> None:
    with pytest.raises(ToolError, match="'no-such-branch' names no commit"):
        compare_revisions(args(base="no-such-branch"), ToolContext(repo=git_repo))
    assert worktree_folders(git_repo) == []
