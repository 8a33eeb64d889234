"""pta analyze side by side with TraceEvent (the reference parser) on the same synthetic traces.

Builds the benchmark's traces (bench_analyze.build: 32 sampled threads, 20-40-frame stacks,
allocation ticks, contention, GCs, rundown) and the TraceEvent oracle
(tests/oracle/TraceOracle, ``dotnet build -c Release`` into a temp folder), then runs, per
size, in rounds that alternate the four so that a busy spell of the machine hits them alike:

* ``TraceEvent bare``: EventPipeEventSource, every event dispatched to a no-op callback;
* ``TraceEvent tally``: what the oracle prints (counts, TraceLog conversion, stack sources,
  thread time, TraceGC);
* ``pta analyze``: ``analyze_trace_file`` with its defaults (parts on every core);
* ``pta analyze --jobs 1``: one process.

Each run is a fresh process timed from inside (runtime start-up excluded on both sides);
peak RSS is that process's VmHWM (pta's workers apart). Wall-clock rates suffer on a busy
machine, so rates per CPU-second are printed too. With ``--repeat N`` the run of median wall
time is printed with the range of the wall rates.

    python bench/bench_oracle.py                          # 50 MB and 200 MB, one round
    python bench/bench_oracle.py --sizes 20 --repeat 3    # quick run
    python bench/bench_oracle.py --keep /tmp/pta-bench    # build (and reuse) traces there
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from bench_analyze import measure, synthetic_trace  # noqa: E402

PROJECT = HERE.parent / "tests" / "oracle" / "TraceOracle"
Run = dict[str, float]
VARIANTS = ("TraceEvent bare", "TraceEvent tally", "pta analyze", "pta analyze --jobs 1")


def build_oracle(dotnet: str, folder: Path) -> Path:
    """``dotnet build -c Release`` of the oracle into ``folder``; returns its dll."""
    subprocess.run(
        [dotnet, "build", str(PROJECT), "-c", "Release", "--artifacts-path", str(folder),
         "-nologo", "-v", "quiet"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return folder / "bin" / "TraceOracle" / "release" / "TraceOracle.dll"


def oracle_run(dotnet: str, dll: Path, trace: Path, mode: str) -> Run:
    """One oracle timing (``bare`` or ``tally``) in a fresh process."""
    out = subprocess.run(
        [dotnet, str(dll), "time", str(trace), "--only", mode],
        check=True, capture_output=True, text=True,
        env={**os.environ, "DOTNET_CLI_TELEMETRY_OPTOUT": "1"},
    )  # fmt: skip
    (result,) = json.loads(out.stdout)
    return {
        "seconds": result["seconds"],
        "cpu_seconds": result["cpu_seconds"],
        "events": result["events"],
        "peak_rss_mb": result["peak_rss_mb"],
    }


def _runners(dotnet: str, dll: Path, trace: Path) -> dict[str, Callable[[], Run]]:
    return {
        "TraceEvent bare": lambda: oracle_run(dotnet, dll, trace, "bare"),
        "TraceEvent tally": lambda: oracle_run(dotnet, dll, trace, "tally"),
        "pta analyze": lambda: measure(trace, None),
        "pta analyze --jobs 1": lambda: measure(trace, 1),
    }


def _median(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]


def _row(name: str, mb: float, runs: list[Run], reference: float) -> str:
    r = _median(runs)
    wall, cpu, events = r["seconds"], r["cpu_seconds"], r["events"]
    workers = r.get("worker_peak_rss_mb", 0.0)
    memory = f"{r['peak_rss_mb']:.0f} MB" + (f" + {workers:.0f} MB/worker" if workers else "")
    # With parts on several cores the parent's CPU time leaves the workers' out.
    cpu_rate = f"{mb / cpu:.1f}" + (" (parent)" if workers else "")
    spread = ""
    if len(runs) > 1:
        rates = [mb / run["seconds"] for run in runs]
        spread = f" {min(rates):.1f}-{max(rates):.1f}"
    return (
        f"| {mb:.1f} MB | {name} | {wall:.2f} s | {mb / wall:.1f}{spread} | {events / wall:,.0f} | "
        f"{cpu_rate} | {memory} | {reference / wall:.2f}x |"
    )


def bench(trace: Path, dotnet: str, dll: Path, repeat: int) -> None:
    """Runs the four variants ``repeat`` times, alternating, and prints one table row each."""
    runners = _runners(dotnet, dll, trace)
    runs: dict[str, list[Run]] = {name: [] for name in VARIANTS}
    for round_no in range(repeat):
        order = VARIANTS[round_no % 4 :] + VARIANTS[: round_no % 4]  # rotate who goes first
        for name in order:
            runs[name].append(runners[name]())
    mb = trace.stat().st_size / 1e6
    reference = _median(runs["TraceEvent bare"])["seconds"]
    for name in VARIANTS:
        print(_row(name, mb, runs[name], reference), flush=True)


def main() -> int:
    """Builds the oracle and the traces, measures each size and prints a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200], help="sizes in MB")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the median is printed")
    parser.add_argument("--keep", type=Path, help="build the traces here and keep (reuse) them")
    args = parser.parse_args()
    dotnet = shutil.which("dotnet")
    if dotnet is None:
        print("dotnet is not on PATH: the TraceEvent oracle cannot run", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="pta-bench-oracle-") as tmp:
        dll = build_oracle(dotnet, Path(tmp) / "oracle")
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print("| trace | reader | wall | MB/s (range) | events/s | MB per CPU s | peak RSS | "
              "speed vs TraceEvent bare |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|")
        for size in args.sizes:
            path = synthetic_trace(folder, size)
            bench(path, dotnet, dll, max(1, args.repeat))
            if args.keep is None:
                path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
