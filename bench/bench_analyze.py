"""Parse+analyse throughput and peak memory of ``analyze_trace_file`` on synthetic traces.

Builds (with the nettrace writer, in a temp dir) traces of about 50 MB and 200 MB with a
realistic event mix: 32 sampled threads, SampleProfiler samples whose stacks have 20-40 frames
(drawn from a pool of distinct stacks, re-emitted after every sequence point as the runtime
does), GCAllocationTick_V4 with stacks, ContentionStart_V2/Stop_V1 pairs, GC start/end and
suspensions, and the rundown at the end. Each analysis runs in a fresh child process so its
peak RSS (VmHWM) is measured alone. Wall-clock rates suffer on a busy machine, so the CPU
time of the analysing process is printed too.

    python bench/bench_analyze.py            # 50 MB and 200 MB
    python bench/bench_analyze.py --sizes 20 # quick run
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tools.analysis.synthetic import SyntheticTrace, gc_end_v1, gc_start_v2  # noqa: E402
from tools.nettrace.payloads import RUNTIME  # noqa: E402

THREADS = 32
STACK_POOL = 6000
TICKS_PER_MS = 10_000
TYPES = ["System.Byte[]", "Dekaf.Producer.ProducerRecord", "System.String", "System.Object[]"]


def _methods(rng: random.Random) -> list[str]:
    kinds = [
        ("Dekaf", "Dekaf.Producer.RecordAccumulator"),
        ("Dekaf", "Dekaf.Producer.BrokerSender"),
        ("Dekaf", "Dekaf.Networking.KafkaConnection"),
        ("Dekaf", "Dekaf.Protocol.KafkaProtocolWriter"),
        ("System.Private.CoreLib", "System.Threading.Tasks.Task"),
        ("System.Private.CoreLib", "System.Runtime.CompilerServices.AsyncTaskMethodBuilder`1"),
        ("System.Private.CoreLib", "System.Threading.ExecutionContext"),
        ("System.IO.Pipelines", "System.IO.Pipelines.Pipe"),
    ]
    names = []
    for i in range(1500):
        module, cls = kinds[i % len(kinds)]
        args = rng.choice(
            ["", "int32", "value class System.ReadOnlySpan`1<unsigned int8>", "!0,!1"]
        )
        names.append(f"{module}!{cls}+<Method{i}>d__{i % 97}.MoveNext({args})")
    return names


def _stacks(rng: random.Random) -> list[tuple[str, ...]]:
    methods = _methods(rng)
    root = (
        "System.Private.CoreLib!System.Threading.Thread+StartHelper.Run()",
        "System.Private.CoreLib!System.Threading.ExecutionContext.RunInternal(class System.Object)",
    )
    return [
        root + tuple(rng.choice(methods) for _ in range(rng.randint(18, 38)))
        for _ in range(STACK_POOL)
    ]


def build(path: Path, target_mb: int, seed: int = 1) -> int:
    """Writes a synthetic trace of about ``target_mb`` MB; returns the events written."""
    rng = random.Random(seed)
    stacks = _stacks(rng)
    hot = stacks[: STACK_POOL // 20]  # a few stacks take most samples, as in real runs
    events = 0
    ms = 0
    with SyntheticTrace(path) as trace:
        while path.stat().st_size < target_mb * 1_000_000:
            for _ in range(200):  # 200 sampling rounds between size checks
                ms += 1
                ts = ms * TICKS_PER_MS
                for tid in range(1, THREADS + 1):
                    stack = rng.choice(hot) if rng.random() < 0.6 else rng.choice(stacks)
                    trace.sample(tid, ts + tid, stack, managed=rng.random() < 0.35)
                    events += 1
                events += _extras(trace, rng, stacks, ms, ts)
    return events


def _extras(
    trace: SyntheticTrace, rng: random.Random, stacks: list[tuple[str, ...]], ms: int, ts: int
) -> int:
    written = 0
    for _ in range(3):
        kind = rng.choice(TYPES)
        trace.allocation(rng.randint(1, THREADS), ts + 50, rng.choice(stacks), kind, 100_000, 64)
        written += 1
    if ms % 4 == 0:
        tid = rng.randint(1, THREADS)
        trace.contention(tid, ts + 60, rng.choice(stacks), lock_id=0x5000 + tid % 7, owner=tid % 5)
        trace.contention_stop(tid, ts + 90, 3_000.0)
        written += 2
    if ms % 250 == 0:
        trace.event(RUNTIME, 9, 1, 900, ts + 70, b"\x01\x00\x00\x00\x01\x00\x00\x00\x09\x00")
        trace.event(RUNTIME, 1, 2, 900, ts + 71, gc_start_v2(ms, ms % 3))
        trace.event(RUNTIME, 2, 1, 900, ts + 80, gc_end_v1(ms, ms % 3))
        trace.event(RUNTIME, 3, 1, 900, ts + 85, b"\x09\x00")
        written += 4
    return written


def child(path: str) -> None:
    """Runs one analysis and prints timing and peak memory as JSON (used in a child process)."""
    from tools.analysis.analyze import analyze_trace_file

    baseline = _vm_hwm_kb()
    started, cpu_started = time.perf_counter(), time.process_time()
    analysis = analyze_trace_file(path)
    elapsed = time.perf_counter() - started
    result = {
        "seconds": elapsed,
        "cpu_seconds": time.process_time() - cpu_started,
        "events": analysis.trace.events,
        "samples": analysis.cpu.samples,
        "peak_rss_mb": _vm_hwm_kb() / 1024,
        "baseline_rss_mb": baseline / 1024,
    }
    print(json.dumps(result))


def _vm_hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def measure(path: Path) -> dict[str, float]:
    """Runs :func:`child` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path)],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    """Builds the traces, measures each and prints a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200], help="sizes in MB")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    with tempfile.TemporaryDirectory(prefix="pta-bench-") as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"synthetic-{size}mb.nettrace"
            started = time.perf_counter()
            written = build(path, size)
            mb = path.stat().st_size / 1e6
            print(f"built {path.name}: {mb:.1f} MB, {written:,} events "
                  f"in {time.perf_counter() - started:.1f} s", file=sys.stderr)  # fmt: skip
            r = measure(path)
            print(
                f"{mb:7.1f} MB  {r['events']:>10,.0f} events  {r['seconds']:6.1f} s  "
                f"{mb / r['seconds']:5.1f} MB/s  {r['events'] / r['seconds']:>9,.0f} events/s  "
                f"(CPU time {r['cpu_seconds']:.1f} s: {mb / r['cpu_seconds']:.1f} MB/s)  "
                f"peak RSS {r['peak_rss_mb']:.0f} MB "
                f"(interpreter+imports {r['baseline_rss_mb']:.0f} MB)",
                flush=True,
            )
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
