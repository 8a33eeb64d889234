"""build: `dotnet build <project> -c Release` through the fake SDK; errors first, exe found."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools.build import BuildArgs, build
from tools.catalog import default_registry
from tools.errors import ToolError


def test_successful_build_finds_the_stress_executable(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any]
) -> None:
    """ok, one warning counted, no errors; the executable is left for trace_collect."""
    ctx = make_ctx(repo)
    result = build(BuildArgs(), ctx)
    assert result.ok and result.errors == [] and result.warnings == 1
    exe = repo / "tools/Dekaf.StressTests/bin/Release/net10.0/Dekaf.StressTests"
    assert result.executable == str(exe) and ctx.state["executable"] == str(exe)
    assert "Build succeeded." in result.log_tail
    [call] = fakes.calls("dotnet")
    project = str(repo / "tools/Dekaf.StressTests")
    assert call["argv"] == ["build", project, "-c", "Release", "-nodeReuse:false"]


def test_compiler_errors_come_first_with_file_and_line(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CS1002 error is parsed once (MSBuild repeats it in its summary), log tail after."""
    monkeypatch.setenv("PTA_FAKE_BUILD_ERROR", "1")
    result = build(BuildArgs(), make_ctx(repo))
    assert not result.ok and result.exit_code == 1 and result.executable is None
    [error] = result.errors
    assert error.file.endswith("tools/Dekaf.StressTests/Program.cs")
    assert (error.line, error.code, error.message) == (42, "CS1002", "; expected")
    assert "Build FAILED." in result.log_tail
    assert list(BuildArgs.model_fields) == ["project", "configuration", "timeout_s"]
    assert list(type(result).model_fields)[:4] == ["ok", "duration_s", "warnings", "errors"]


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
    """`MSBUILD : error MSB1009` (no source position) still comes back as an error."""
    result = build(BuildArgs(project="tools/Missing"), make_ctx(repo))
    assert not result.ok
    assert [(e.code, e.line, e.message) for e in result.errors] == [
        ("MSB1009", 0, "Project file does not exist.")
    ]


def test_builds_print_their_summary_in_english_whatever_the_locale(
    repo: Path, fakes: Any, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under LANG=de_DE MSBuild says 'Der Buildvorgang wurde erfolgreich ausgeführt.' and
    '1 Warnung(en)'; builds run with DOTNET_CLI_UI_LANGUAGE=en, so the summary is read."""
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    result = build(BuildArgs(), make_ctx(repo))
    assert "Build succeeded." in result.log_tail and "1 Warning(s)" in result.log_tail
    assert "Warnung" not in result.log_tail and result.warnings == 1
