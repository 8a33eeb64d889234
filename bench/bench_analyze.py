"""Parse+analyse throughput and peak memory of ``analyze_trace_file`` on synthetic traces.

Builds (with the nettrace writer, in a temp dir) traces of about 50 MB and 200 MB with a
realistic event mix: 32 sampled threads, SampleProfiler samples whose stacks have 20-40 frames
(drawn from a pool of distinct stacks, re-emitted after every sequence point as the runtime
does) written, as the runtime writes them, by one sampler thread (the capture thread) about
the sampled threads, GCAllocationTick_V4 with stacks, ContentionStart_V2/Stop_V1 pairs, GC
start/end and suspensions, and the rundown at the end. Each analysis runs
``analyze_trace_file`` with its defaults (what ``pta analyze`` runs) in a fresh child process
so its peak RSS (VmHWM) is measured alone. Wall-clock rates suffer on a busy machine, so rates
per CPU-second of the analysing process are printed too; with ``--repeat N`` each size is
analysed N times and the run of median wall time is printed with the range of the rates. Traces of
16 MB and more are read in parts on every core (``analyze_trace_file``'s default): the CPU
figures are the parent's only, so the wall-clock rate is the one to read then.

    python bench/bench_analyze.py                        # 50 MB and 200 MB
    python bench/bench_analyze.py --sizes 20             # quick run
    python bench/bench_analyze.py --repeat 5 --keep /tmp/pta-bench   # steadier figures
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tools.analysis.synthetic import (  # noqa: E402
    SyntheticTrace,
    gc_end_v1,
    gc_start_v2,
    thread_sample,
)
from tools.nettrace.payloads import RUNTIME, SAMPLER  # noqa: E402

THREADS = 32
# Linux thread ids run into the millions (2-3 byte varints), as in the real traces.
THREAD_IDS = [1_411_300 + 7 * i for i in range(THREADS)]
SAMPLER_THREAD = 1_411_548  # the runtime's sampling thread captures every ThreadSample
GC_THREAD = 1_411_549
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
        writer = trace.writer
        sample = writer.define_event(SAMPLER, 0, 0)
        while path.stat().st_size < target_mb * 1_000_000:
            for _ in range(200):  # 200 sampling rounds between size checks
                ms += 1
                ts = ms * TICKS_PER_MS
                for i, tid in enumerate(THREAD_IDS):
                    stack = rng.choice(hot) if rng.random() < 0.6 else rng.choice(stacks)
                    writer.write_event(
                        sample,
                        thread_id=tid,
                        capture_thread_id=SAMPLER_THREAD,
                        timestamp=ts + i + 1,
                        stack=trace.stack(stack),
                        payload=thread_sample(rng.random() < 0.35),
                    )
                    events += 1
                trace.last_timestamp = ts + THREADS
                events += _extras(trace, rng, stacks, ms, ts)
    return events


def _extras(
    trace: SyntheticTrace, rng: random.Random, stacks: list[tuple[str, ...]], ms: int, ts: int
) -> int:
    written = 0
    for _ in range(3):
        kind = rng.choice(TYPES)
        trace.allocation(rng.choice(THREAD_IDS), ts + 50, rng.choice(stacks), kind, 100_000, 64)
        written += 1
    if ms % 4 == 0:
        i = rng.randrange(THREADS)
        tid, owner = THREAD_IDS[i], THREAD_IDS[i % 5]
        trace.contention(tid, ts + 60, rng.choice(stacks), lock_id=0x5000 + i % 7, owner=owner)
        trace.contention_stop(tid, ts + 90, 3_000.0)
        written += 2
    if ms % 250 == 0:
        trace.event(RUNTIME, 9, 1, GC_THREAD, ts + 70, b"\x01\x00\x00\x00\x01\x00\x00\x00\x09\x00")
        trace.event(RUNTIME, 1, 2, GC_THREAD, ts + 71, gc_start_v2(ms, ms % 3))
        trace.event(RUNTIME, 2, 1, GC_THREAD, ts + 80, gc_end_v1(ms, ms % 3))
        trace.event(RUNTIME, 3, 1, GC_THREAD, ts + 85, b"\x09\x00")
        written += 4
    return written


def child(path: str, jobs: int | None) -> None:
    """Runs one analysis and prints timing and peak memory as JSON (used in a child process)."""
    from tools.analysis.analyze import analyze_trace_file

    baseline = _vm_hwm_kb()
    started, cpu_started = time.perf_counter(), time.process_time()
    analysis = analyze_trace_file(path, workers=jobs)
    elapsed = time.perf_counter() - started
    result = {
        "seconds": elapsed,
        "cpu_seconds": time.process_time() - cpu_started,
        "events": analysis.trace.events,
        "samples": analysis.cpu.samples,
        "peak_rss_mb": _vm_hwm_kb() / 1024,
        "baseline_rss_mb": baseline / 1024,
        # Worker processes (a big trace is read in parts, one per core) are gone by now.
        "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }
    print(json.dumps(result))


def _vm_hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def measure(path: Path, jobs: int | None) -> dict[str, float]:
    """Runs :func:`child` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), *(["--jobs", str(jobs)] if jobs else [])],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _report(mb: float, runs: list[dict[str, float]]) -> None:
    # Wall time is what a user waits for (with parts on several cores the parent's CPU time
    # leaves out the workers'), so the median and the range are taken on it.
    runs = sorted(runs, key=lambda run: run["seconds"])
    r = runs[len(runs) // 2]
    wall, cpu, events = r["seconds"], r["cpu_seconds"], r["events"]
    spread = ""
    if len(runs) > 1:
        rates = [mb / run["seconds"] for run in runs]
        peaks = [run["peak_rss_mb"] for run in runs]
        spread = (
            f" | {len(runs)} runs: wall MB/s {min(rates):.1f}-{max(rates):.1f}, "
            f"peak RSS {min(peaks):.0f}-{max(peaks):.0f} MB"
        )
    print(
        f"{mb:7.1f} MB  {events:>10,.0f} events | wall {wall:5.1f} s: {mb / wall:5.1f} MB/s "
        f"{events / wall:>9,.0f} events/s | parent CPU {cpu:5.1f} s: {mb / cpu:5.1f} MB/s "
        f"{events / cpu:>9,.0f} events/s | peak RSS {r['peak_rss_mb']:.0f} MB "
        f"(interpreter+imports {r['baseline_rss_mb']:.0f} MB), per worker "
        f"{r['worker_peak_rss_mb']:.0f} MB{spread}",
        flush=True,
    )


def synthetic_trace(folder: Path, size_mb: int) -> Path:
    """``folder/synthetic-<size>mb.nettrace``, built (and said so on stderr) unless kept."""
    path = folder / f"synthetic-{size_mb}mb.nettrace"
    if not path.exists():
        started = time.perf_counter()
        written = build(path, size_mb)
        took = time.perf_counter() - started
        mb = path.stat().st_size / 1e6
        print(f"built {path.name}: {mb:.1f} MB, {written:,} events in {took:.1f} s",
              file=sys.stderr)  # fmt: skip
    return path


def main() -> int:
    """Builds the traces, measures each and prints a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200], help="sizes in MB")
    parser.add_argument(
        "--keep", type=Path, help="build the traces in this folder and keep (and reuse) them"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="analyses per size; the median one is printed"
    )
    parser.add_argument(
        "--jobs", type=int, help="processes reading each trace (default: pta analyze's choice)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.jobs)
        return 0
    with tempfile.TemporaryDirectory(prefix="pta-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for size in args.sizes:
            path = synthetic_trace(folder, size)
            runs = [measure(path, args.jobs) for _ in range(max(1, args.repeat))]
            _report(path.stat().st_size / 1e6, runs)
            if args.keep is None:
                path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
