"""Records the real-trace fixtures: the sample target traced by the product's own tools.

Builds a copy of examples/flushlab with the real SDK, then for each fixture runs the product's
`trace_collect` (the real dotnet-trace attached at the marker, the same argv a user's run gets)
and copies the trace into tests/fixtures/traces/ with a facts file beside it: what was seeded,
the SDK and runtime versions, the exact commands, and what the stress tool reported. The
analysis tests read these files on every machine, with or without .NET.

    python bench/record_sample_traces.py                 # every fixture
    python bench/record_sample_traces.py --only hot-cpu  # one of them
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tools.base import ToolContext  # noqa: E402
from tools.build import BuildArgs, build  # noqa: E402
from tools.trace_collect import trace_collect  # noqa: E402
from tools.trace_collect_models import TraceCollectArgs  # noqa: E402

SAMPLE = REPO / "examples" / "flushlab"
OUT = REPO / "tests" / "fixtures" / "traces"
WINDOW_S = 5

FIXTURES: dict[str, tuple[str, str, str]] = {
    # name: (scenario, preset, what the scenario seeds)
    "hot-cpu": ("hot", "cpu", "Crc32Naive.Compute, a bitwise CRC, called per message"),
    "alloc-alloc": ("alloc", "alloc", "a byte[] per message in RecordAccumulator.EncodeRecord"),
    "lock-contention": ("lock", "contention", "one lock per message in AppendUnderGlobalLock"),
    "healthy-all": ("healthy", "all", "nothing (the control)"),
}
"""The deadlock, async-hang and sync-over-async traces (preset hang, with their dotnet-stack
snapshots) are in tests/fixtures/hang/, recorded with the hang preset."""


def _version(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", default=list(FIXTURES), choices=list(FIXTURES))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pta-fixtures-") as tmp:
        repo = Path(tmp) / "flushlab"
        ignore = shutil.ignore_patterns("bin", "obj", ".perf-trace-analyzer", ".claude")
        shutil.copytree(SAMPLE, repo, ignore=ignore)
        ctx = ToolContext(repo=repo)
        built = build(BuildArgs(), ctx)
        if not built.ok:
            print(built.log_tail, file=sys.stderr)
            return 1
        runtimes = _version(["dotnet", "--list-runtimes"]).splitlines()
        for name in args.only:
            scenario, preset, seeded = FIXTURES[name]
            result = trace_collect(
                TraceCollectArgs(scenario=scenario, preset=preset, trace_seconds=WINDOW_S), ctx
            )
            target = OUT / f"{name}.nettrace"
            shutil.copyfile(result.trace_path, target)
            facts = {
                "scenario": scenario,
                "preset": preset,
                "seeded": seeded,
                "sdk": _version(["dotnet", "--version"]),
                "runtime": next((r for r in runtimes if "NETCore.App" in r), "?"),
                "stress_command": result.stress_command.replace(str(repo), "examples/flushlab"),
                "providers": result.providers,
                "trace_seconds": WINDOW_S,
                "window_s": result.window_s,
                "size_bytes": result.size_bytes,
                "msg_per_s": result.msg_per_s,
                "messages": result.messages,
                "warnings": result.warnings,
                "recorded_by": "python bench/record_sample_traces.py",
            }
            target.with_suffix(".facts.json").write_text(json.dumps(facts, indent=2) + "\n")
            print(f"{target.name}: {result.size_bytes:,} bytes, {result.msg_per_s} msg/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
