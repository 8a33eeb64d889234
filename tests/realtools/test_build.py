"""build: `dotnet build <project> -c Release` through the fake SDK; errors first, exe found."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools.base import ToolContext
from tools.build import (
    FAILED_BUILD_KEY,
    BuildArgs,
    FailedBuild,
    build,
    refuse_stale_executable,
)
from tools.catalog import default_registry
from tools.errors import ToolError


def test_successful_build_finds_the_stress_executable(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """ok, one warning counted, no errors; the executable is left for trace_collect."""
    ctx = make_ctx(repo)
    result = build(BuildArgs(), ctx)
    assert result.ok and result.warnings == 1 and result.note is None
    exe = repo / "tools/Dekaf.StressTests/bin/Release/net10.0/Dekaf.StressTests"
    assert result.executable == str(exe) and ctx.state["executable"] == str(exe)
    assert "Time Elapsed" in result.log_tail and "warning CS0168" not in result.log_tail
    [call] = fakes.calls("dotnet")
    project = str(repo / "tools/Dekaf.StressTests")
    assert call["argv"] == ["build", project, "-c", "Release", "-nodeReuse:false"]


def test_a_failed_build_is_a_tool_error_leading_with_each_error_once(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CS1002 (printed twice by MSBuild) is listed once, at file:line, before the log tail."""
    monkeypatch.setenv("PTA_FAKE_BUILD_ERROR", "1")
    ctx = make_ctx(repo)
    outcome = default_registry().dispatch("build", {}, ctx)
    assert outcome.is_error and outcome.output is None
    lines = outcome.text.splitlines()
    assert lines[0].startswith("The build failed with 1 error, so nothing was traced")
    assert lines[1] == "- tools/Dekaf.StressTests/Program.cs:42: CS1002: ; expected"
    assert outcome.text.count("CS1002") == 1 and "CS0168" not in outcome.text
    assert "Build FAILED." in outcome.text.split("End of the build log", 1)[1]
    assert "executable" not in ctx.state
    assert list(BuildArgs.model_fields) == ["project", "configuration", "timeout_s"]


def test_missing_sdk_is_an_error_with_the_install_hint(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """No `dotnet` on PATH: the model sees an is_error result saying how to install the SDK."""
    fakes.remove("dotnet")
    outcome = default_registry().dispatch("build", {}, make_ctx(repo))
    assert outcome.is_error and "Install the .NET SDK" in outcome.text


def test_project_outside_the_repository_is_refused(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """A project path escaping the repo never reaches dotnet."""
    with pytest.raises(ToolError, match="outside the repository"):
        build(BuildArgs(project="../../etc"), make_ctx(repo))
    assert fakes.calls("dotnet") == []


def test_missing_project_is_reported_as_an_msbuild_error(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """`MSBUILD : error MSB1009` (no source position) is an error that says what to pass."""
    with pytest.raises(ToolError) as raised:
        build(BuildArgs(project="tools/Missing"), make_ctx(repo))
    text = str(raised.value)
    assert "- MSBUILD: MSB1009: Project file does not exist." in text
    assert "give build a `project`" in text


def test_trace_collect_refuses_the_binary_a_failed_build_left(
    built_repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a failed build the previous executable is not traced; a good build lifts that."""
    registry = default_registry()
    ctx = make_ctx(built_repo, bootstrap="127.0.0.1:19092")
    monkeypatch.setenv("PTA_FAKE_BUILD_ERROR", "1")
    assert registry.dispatch("build", {}, ctx).is_error
    refused = registry.dispatch("trace_collect", {"trace_seconds": 1}, ctx)
    assert refused.is_error and refused.text.startswith("Not traced: the build at ")
    assert "CS1002 at tools/Dekaf.StressTests/Program.cs:42" in refused.text
    assert "call build again" in refused.text
    assert fakes.calls("stress") == [] and fakes.calls("dotnet-trace") == []
    monkeypatch.delenv("PTA_FAKE_BUILD_ERROR")
    assert not registry.dispatch("build", {}, ctx).is_error
    refuse_stale_executable(ctx, Path(ctx.state["executable"]))  # traced again from now on


def test_an_executable_older_than_the_failed_build_is_refused(tmp_path: Path) -> None:
    """A build of another project succeeding does not make the stale stress binary current."""
    exe = tmp_path / "Dekaf.StressTests"
    exe.write_text("binary")
    os.utime(exe, (time.time() - 60, time.time() - 60))
    ctx = ToolContext(repo=tmp_path)
    ctx.state[FAILED_BUILD_KEY] = FailedBuild(time.time(), "CS0103 at src/A.cs:3")
    with pytest.raises(ToolError, match="older than that build"):
        refuse_stale_executable(ctx, exe)
    os.utime(exe, (time.time() + 5, time.time() + 5))  # rebuilt by hand after the failure
    with pytest.raises(ToolError, match="this run's last build .* failed: CS0103"):
        refuse_stale_executable(ctx, exe)
    refuse_stale_executable(ToolContext(repo=tmp_path), exe)  # no failed build: traced


def test_builds_print_their_summary_in_english_whatever_the_locale(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under LANG=de_DE MSBuild says 'Der Buildvorgang wurde erfolgreich ausgeführt.' and
    '1 Warnung(en)'; builds run with DOTNET_CLI_UI_LANGUAGE=en, so the summary is read."""
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    result = build(BuildArgs(), make_ctx(repo))
    assert "Build succeeded." in result.log_tail and "1 Warning(s)" in result.log_tail
    assert "Warnung" not in result.log_tail and result.warnings == 1
