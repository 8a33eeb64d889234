#!/usr/bin/env python3
"""A fake `dotnet-trace` behaving like the real collect, report and convert.

Each faked behaviour cites dotnet/diagnostics (src/Tools/dotnet-trace/, at 3c9f99e) or what the
real dotnet-trace 10.0.750501 did on this machine (docs/verified-sources.md).
collect streams a real trace ($PTA_FAKE_TRACE) to -o: half at once, all after --duration (scaled by
$PTA_FAKE_TIME_SCALE) or when the traced process exits; report and convert compute their output
from the trace with the project's native analysis and print it in the CLI's exact format.
Modes ($PTA_FAKE_TRACE_MODE): ``normal``; ``stdin`` reads standard input to its end first (a
tool that did not close stdin would hang here); ``hang`` never finishes; ``fail`` fails (collect:
session error, exit 2; report/convert: exit 1); ``tiny`` writes only the first 2 KB of the real
trace; ``broken`` makes convert throw half-way through writing its file (and still exit 0).
$PTA_FAKE_RUNDOWN_S: seconds collect's rundown takes after --duration (default 0).
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
    # ProviderUtils.cs:197-202 (10.x): no trailing space after the source; a provider given
    # without keywords shows 0x0000000000000000 (SampleProfiler too, seen with 10.0.750501).
    rows = []
    for entry in providers.split(","):
        name, _, rest = entry.partition(":")
        keywords_text, _, level_text = rest.partition(":")
        keywords = int(keywords_text, 16) if keywords_text else 0
        level = min(int(level_text), 5) if level_text else 4
        cells = (
            name.ljust(40) + f"0x{keywords:016X}".ljust(20) + f"{LEVELS[level]}({level})".ljust(8)
        )
        rows.append(cells.ljust(80) + "--providers")
    return rows


def print_providers(providers: str) -> None:
    # ProviderUtils.cs:176-199: a blank line, the header, one row each, a blank line.
    header = "Provider Name".ljust(40) + "Keywords".ljust(20) + "Level".ljust(20) + "Enabled By"
    print("\n" + header)
    print("\n".join(provider_rows(providers)) + "\n", flush=True)


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
    duration = option(argv, "--duration") or "00:00:00:10"
    print_providers(option(argv, "--providers") or "")
    if mode == "fail" or not alive(pid):
        # CollectCommand.cs:223, 491-495: GetProcessById throws; "[ERROR] {ex}" on stderr and
        # ReturnCode.TracingError (2), as 10.0.750501 did for a pid that was not running.
        print(
            f"[ERROR] System.ArgumentException: Process with an Id of {pid} is not running.\n"
            "   at System.Diagnostics.Process.GetProcessById(Int32 processId, String machineName)",
            file=sys.stderr,
            flush=True,
        )
        return 2
    exe = os.path.realpath(f"/proc/{pid}/exe") if Path(f"/proc/{pid}/exe").exists() else "?"
    # CollectCommand.cs:347-353: process, output file, duration, one blank line.
    print(f"Process        : {exe}")
    print(f"Output File    : {output.resolve()}")
    print(f"Trace Duration : {duration}\n", flush=True)
    source = Path(os.environ["PTA_FAKE_TRACE"]).read_bytes()
    # EventPipe streams the file while recording: half of it is there before the end.
    output.write_bytes(source[: len(source) // 2])
    window = duration_seconds(duration) * float(os.environ.get("PTA_FAKE_TIME_SCALE", "1"))
    ends = time.monotonic() + window
    exited = False
    while mode == "hang" or time.monotonic() < ends:
        if mode != "hang" and not alive(pid):
            exited = True
            break
        time.sleep(0.05)
    if not exited:
        rundown(float(os.environ.get("PTA_FAKE_RUNDOWN_S", "0")))
    output.write_bytes(source[:2048] if mode == "tiny" else source)
    print("\nTrace completed.", flush=True)  # CollectCommand.cs:454-455
    return 0


def rundown(seconds: float) -> None:
    """CollectCommand.cs:411-414, 436-442: with stdout redirected the status loop prints only
    this line, once per 100 ms until the rundown has drained (not at all when the traced process
    ended the session itself, 422-423)."""
    ends = time.monotonic() + seconds
    while True:
        print(
            "Stopping the trace. This may take several minutes depending on the application "
            "being traced.",
            flush=True,
        )
        if time.monotonic() >= ends:
            return
        time.sleep(0.1)


def etlx(trace: Path) -> Path:
    """TraceLog.CreateFromEventPipeDataFile's scratch file: `<trace>.etlx` beside the trace
    (10.0.750501 wrote `x.nettrace.etlx`)."""
    path = Path(str(trace) + ".etlx")
    path.write_bytes(b"!ETLX fake TraceLog")
    return path


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

    etlx(Path(argv[0]))  # ReportCommand.cs:44: created, never deleted
    inclusive = "--inclusive" in argv
    rows = topn_rows(
        stack_samples(argv[0]), top=int(option(argv, "-n", "--number") or "5"), inclusive=inclusive
    )
    if not rows:
        print(NO_METHODS_WARNING, file=sys.stderr)
        return 0
    sys.stdout.write(render_topn(rows, inclusive=inclusive))
    return 0


def convert(argv: list[str], mode: str) -> int:
    source = Path(argv[0])
    if not source.read_bytes()[:8] == b"Nettrace":
        print(f"'{source}' is not a valid nettrace file.", file=sys.stderr)
        return 1
    target = Path(option(argv, "--output", "-o") or str(source))
    output = target.with_suffix(".speedscope.json")
    print(f"Processing trace data file '{source}' to create a new Speedscope file '{output}'.")
    try:
        write_converted(source, output, broken=mode == "broken")
    except Exception as exc:  # noqa: BLE001 - TraceFileFormatConverter.cs:50-61 does the same
        print(f"{type(exc).__module__}.{type(exc).__name__}: {exc}", file=sys.stderr)
    print("Conversion complete")  # TraceFileFormatConverter.cs:67: printed after a failure too
    return 0


def write_converted(source: Path, output: Path, *, broken: bool) -> None:
    """TraceFileFormatConverter.cs:70-104: the .etlx is removed only when writing succeeded."""
    sys.path.insert(0, str(REPO_ROOT))
    from tools.analysis.cpu import stack_samples
    from tools.analysis.speedscope import write_speedscope

    scratch = etlx(source)
    if not output.parent.is_dir():  # File.CreateText (seen with 10.0.750501)
        raise FileNotFoundError(f"Could not find a part of the path '{output}'.")
    write_speedscope(stack_samples(source), output)
    if broken:  # the writer threw part-way: what it wrote so far stays on disk
        text = output.read_text(encoding="utf-8")
        output.write_text(text[: len(text) // 2], encoding="utf-8")
        raise OSError("Read past end of stream.")
    scratch.unlink()


def main() -> int:
    record_argv("dotnet-trace")
    console_like_dotnet()
    argv = sys.argv[1:]
    mode = os.environ.get("PTA_FAKE_TRACE_MODE", "normal")
    if mode == "stdin":
        sys.stdin.read()
    if argv[:1] == ["--version"]:
        print("10.0.750501+ad724c4b85e7ae775e42f393c6e95a7557a57954")  # the real one, here
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
        "convert": lambda: convert(argv[1:], mode),
    }
    if not argv or argv[0] not in commands:
        print("Required command was not provided.", file=sys.stderr)
        return 1
    return commands[argv[0]]()


if __name__ == "__main__":
    sys.exit(main())
