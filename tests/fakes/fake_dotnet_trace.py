#!/usr/bin/env python3
"""A fake `dotnet-trace` printing the real console output of collect, report and convert.

collect streams a real trace ($PTA_FAKE_TRACE) to -o: half at once, all after --duration (scaled by
$PTA_FAKE_TIME_SCALE) or when the traced process exits; report and convert compute their output
from the trace with the project's native analysis and print it in the CLI's exact format.
Modes ($PTA_FAKE_TRACE_MODE): ``normal``; ``stdin`` reads standard input to its end first (a
tool that did not close stdin would hang here); ``hang`` never finishes; ``fail`` exits 1;
``tiny`` writes only the first 2 KB of the real trace.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from _common import REPO_ROOT, console_like_dotnet, option, record_argv  # noqa: E402

LEVELS = ["LogAlways", "Critical", "Error", "Warning", "Informational", "Verbose"]


def provider_rows(providers: str) -> list[str]:
    rows = []
    for entry in providers.split(","):
        name, _, rest = entry.partition(":")
        keywords_text, _, level_text = rest.partition(":")
        keywords = int(keywords_text, 16) if keywords_text else 0
        if name == "Microsoft-DotNETCore-SampleProfiler" and not keywords_text:
            keywords = 0xF00000000000
        level = min(int(level_text), 5) if level_text else 4
        cells = (
            name.ljust(40) + f"0x{keywords:016X}".ljust(20) + f"{LEVELS[level]}({level})".ljust(8)
        )
        rows.append(cells.ljust(80) + "--providers ")
    return rows


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def duration_seconds(text: str) -> int:
    days, hours, minutes, seconds = (int(part) for part in text.split(":"))
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def collect(argv: list[str], mode: str) -> int:
    pid = int(option(argv, "--process-id", "-p") or "0")
    output = Path(option(argv, "--output", "-o") or "trace.nettrace")
    providers = option(argv, "--providers") or ""
    duration = option(argv, "--duration") or "00:00:00:10"
    if mode == "fail" or not alive(pid):
        print(f"[ERROR] Unable to connect to the process {pid}.", file=sys.stderr, flush=True)
        return 1
    print(
        "\n" + "Provider Name".ljust(40) + "Keywords".ljust(20) + "Level".ljust(20) + "Enabled By"
    )
    print("\n".join(provider_rows(providers)) + "\n")
    exe = os.path.realpath(f"/proc/{pid}/exe") if Path(f"/proc/{pid}/exe").exists() else "?"
    print(f"Process        : {exe}")
    print(f"Output File    : {output.resolve()}")
    print(f"Trace Duration : {duration}\n\n", flush=True)
    source = Path(os.environ["PTA_FAKE_TRACE"]).read_bytes()
    # EventPipe streams the file while recording: half of it is there before the end.
    output.write_bytes(source[: len(source) // 2])
    window = duration_seconds(duration) * float(os.environ.get("PTA_FAKE_TIME_SCALE", "1"))
    ends = time.monotonic() + window
    while mode == "hang" or time.monotonic() < ends:
        if mode != "hang" and not alive(pid):
            break
        time.sleep(0.05)
    print(
        "Stopping the trace. This may take several minutes depending on the application "
        "being traced."
    )
    output.write_bytes(source[:2048] if mode == "tiny" else source)
    print("\nTrace completed.", flush=True)
    return 0


def report(argv: list[str]) -> int:
    if "topN" not in argv:
        print("Error: subcommand was not provided. Available subcommands:", file=sys.stderr)
        print("    topN: Finds the top N methods on the callstack the longest.", file=sys.stderr)
        return 255
    unknown = [
        a for a in argv if a.startswith("--") and a not in ("--number", "--inclusive", "--verbose")
    ]
    if unknown:
        print(f"Unrecognized command or argument '{unknown[0]}'.", file=sys.stderr)
        return 1
    sys.path.insert(0, str(REPO_ROOT))
    from tools.analysis.cpu import stack_samples
    from tools.analysis.topn import NO_METHODS_WARNING, render_topn, topn_rows

    inclusive = "--inclusive" in argv
    rows = topn_rows(
        stack_samples(argv[0]), top=int(option(argv, "-n", "--number") or "5"), inclusive=inclusive
    )
    if not rows:
        print(NO_METHODS_WARNING, file=sys.stderr)
        return 0
    sys.stdout.write(render_topn(rows, inclusive=inclusive))
    return 0


def convert(argv: list[str]) -> int:
    source = Path(argv[0])
    if not source.read_bytes()[:8] == b"Nettrace":
        print(f"'{source}' is not a valid nettrace file.", file=sys.stderr)
        return 1
    target = Path(option(argv, "--output", "-o") or str(source))
    output = target.with_suffix(".speedscope.json")
    print(f"Processing trace data file '{source}' to create a new Speedscope file '{output}'.")
    sys.path.insert(0, str(REPO_ROOT))
    from tools.analysis.cpu import stack_samples
    from tools.analysis.speedscope import write_speedscope

    write_speedscope(stack_samples(source), output)
    print("Conversion complete")
    return 0


def main() -> int:
    record_argv("dotnet-trace")
    console_like_dotnet()
    argv = sys.argv[1:]
    mode = os.environ.get("PTA_FAKE_TRACE_MODE", "normal")
    if mode == "stdin":
        sys.stdin.read()
    if argv[:1] == ["--version"]:
        print("9.0.661903+7ee2ad3d0f6b3b8e4f4c0b2a1c5d8e9f0a1b2c3d")
        return 0
    if mode == "fail" and argv[:1] != ["collect"]:
        print("[ERROR] System.IO.InvalidDataException: trace is corrupt", file=sys.stderr)
        return 1
    if mode == "hang" and argv[:1] != ["collect"]:
        while True:
            time.sleep(1)
    commands = {
        "collect": lambda: collect(argv[1:], mode),
        "report": lambda: report(argv[1:]),
        "convert": lambda: convert(argv[1:]),
    }
    if not argv or argv[0] not in commands:
        print("Required command was not provided.", file=sys.stderr)
        return 1
    return commands[argv[0]]()


if __name__ == "__main__":
    sys.exit(main())
