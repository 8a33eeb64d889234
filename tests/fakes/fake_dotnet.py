#!/usr/bin/env python3
"""A fake `dotnet` host: `build` (classic MSBuild console output), `tool install`, `trace`.

`build` prints real-shaped MSBuild output (its summary in German under LANG=de_DE unless
DOTNET_CLI_UI_LANGUAGE says otherwise, as SDK 10.0.401 does) and links the stress executable
(fake_stress.py) at ``<project>/bin/<configuration>/net10.0/<project name>``; with
$PTA_FAKE_BUILD_ERROR set it prints a compiler error CS1002 (and a warning) and exits 1.
`dotnet trace …` forwards to the fake dotnet-trace, as the real host dispatches to
`dotnet-trace`. `tool install --global dotnet-trace` (or dotnet-stack) links the fake into
~/.dotnet/tools unless $PTA_FAKE_TOOL_INSTALL=fail.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from _common import FAKES_DIR, console_like_dotnet, option, record_argv, scaled_sleep  # noqa: E402

SUMMARY = {
    "en": ("Build succeeded.", "Build FAILED.", "{} Warning(s)", "{} Error(s)", "Time Elapsed",
           "; expected"),
    # What SDK 10.0.401 printed here under LANG=de_DE.UTF-8 (MSBuild's summary is localised).
    "de": ("Der Buildvorgang wurde erfolgreich ausgeführt.", "Fehler beim Buildvorgang.",
           "{} Warnung(en)", "{} Fehler", "Verstrichene Zeit", "; erwartet."),
}  # fmt: skip


def ui_language() -> str:
    """DOTNET_CLI_UI_LANGUAGE wins; else the culture of LC_ALL/LANG, as the real SDK does."""
    chosen = os.environ.get("DOTNET_CLI_UI_LANGUAGE") or os.environ.get("LC_ALL") or ""
    chosen = chosen or os.environ.get("LANG", "")
    return "de" if chosen.lower().startswith("de") else "en"


def build(argv: list[str]) -> int:
    project = Path(argv[0]).resolve()
    configuration = option(argv, "-c", "--configuration", default="Debug") or "Debug"
    name = project.name.removesuffix(".csproj")
    csproj = project / f"{name}.csproj"
    if not csproj.is_file():
        print("MSBUILD : error MSB1009: Project file does not exist.")
        print(f"Switch: {argv[0]}")
        return 1
    ok, failed, warnings, errors, elapsed, expected = SUMMARY[ui_language()]
    print("MSBuild version 17.14.8+a7a4d5af0 for .NET")
    print("  Determining projects to restore...")
    print("  All projects are up-to-date for restore.", flush=True)
    scaled_sleep(2)
    warning = (
        f"{project}/Scenarios/ProducerScenario.cs(88,17): warning CS0168: "
        f"The variable 'ex' is declared but never used [{csproj}]"
    )
    print(warning)
    if os.environ.get("PTA_FAKE_BUILD_ERROR"):
        error = f"{project}/Program.cs(42,31): error CS1002: {expected} [{csproj}]"
        print(error)
        print(f"\n{failed}\n")
        print(warning)
        print(error)
        print(f"    {warnings.format(1)}\n    {errors.format(1)}\n\n{elapsed} 00:00:03.21")
        return 1
    output = project / "bin" / configuration / "net10.0" / name
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    output.symlink_to(FAKES_DIR / "fake_stress.py")
    print(f"  {name} -> {output}.dll")
    print(f"\n{ok}\n")
    print(warning)
    print(f"    {warnings.format(1)}\n    {errors.format(0)}\n\n{elapsed} 00:00:12.34")
    return 0


FAKE_TOOLS = {"dotnet-trace": "fake_dotnet_trace.py", "dotnet-stack": "fake_dotnet_stack.py"}


def tool_install(argv: list[str]) -> int:
    if os.environ.get("PTA_FAKE_TOOL_INSTALL") == "fail" or argv[-1] not in FAKE_TOOLS:
        print(
            f"Tool '{argv[-1]}' failed to install. The settings file in the tool's NuGet "
            "package is invalid: Settings file 'DotnetToolSettings.xml' was not found in "
            "the package."
        )
        return 1
    tools_dir = Path.home() / ".dotnet" / "tools"
    tools_dir.mkdir(parents=True, exist_ok=True)
    name = argv[-1]
    target = tools_dir / name
    target.unlink(missing_ok=True)
    target.symlink_to(FAKES_DIR / FAKE_TOOLS[name])
    print(f"You can invoke the tool using the following command: {name}")
    print(f"Tool '{name}' (version '10.0.750501') was successfully installed.")
    return 0


def main() -> int:
    record_argv("dotnet")
    console_like_dotnet()
    argv = sys.argv[1:]
    if argv[:1] == ["--version"]:
        print("10.0.100")
        return 0
    if argv[:1] == ["build"]:
        return build(argv[1:])
    if argv[:3] == ["tool", "install", "--global"]:
        return tool_install(argv[3:])
    if argv[:1] == ["trace"]:
        fake = FAKES_DIR / "fake_dotnet_trace.py"
        os.execv(str(fake), [str(fake), *argv[1:]])
    print("Could not execute because the specified command or file was not found.")
    return 1


if __name__ == "__main__":
    sys.exit(main())
