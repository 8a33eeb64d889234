"""Reader throughput on a large synthetic sample-heavy trace written by our writer.

"events/s" counts every event record decoded (selected or skipped).

Usage: python bench/bench_reader.py [--size-mb 200] [--version 4|6] [--keep PATH]

Prints write time, read MB/s and events/s (all events as ``Event`` objects, samples only via
``select``, samples as compact records, allocation ticks only), peak RSS, and the tracemalloc
peak of a streaming read (flat in the file size when the reader streams: compare --size-mb 20
with --size-mb 200).
"""

from __future__ import annotations

import argparse
import random
import resource
import struct
import tempfile
import time
import tracemalloc
from array import array
from collections.abc import Callable
from pathlib import Path

from tools.nettrace.model import EventMetadata
from tools.nettrace.reader import Compact, open_trace
from tools.nettrace.writer import NetTraceWriter

SAMPLER = "Microsoft-DotNETCore-SampleProfiler"
RUNTIME = "Microsoft-Windows-DotNETRuntime"


def write_trace(path: Path, size_mb: int, version: int) -> int:
    """Write ~``size_mb`` MB: 10 threads of 1 ms samples, 30-frame stacks, some alloc ticks."""
    rng = random.Random(1)
    frames = [0x7FF0_0000_0000 + i * 64 for i in range(3000)]
    stacks = [tuple(rng.sample(frames, rng.randint(10, 40))) for _ in range(4000)]
    alloc_payload = (
        struct.pack("<IIHQQ", 100_000, 0, 9, 100_000, 0x7FFE_0000) + "X".encode("utf-16-le") * 30
    )
    written = 0
    with NetTraceWriter(path, version=version, qpc_frequency=1_000_000_000) as w:
        sample = w.define_event(SAMPLER, 0, 0)
        alloc = w.define_event(RUNTIME, 10, 4, keywords=1, level=5)
        ts = 0
        while path.stat().st_size < size_mb * 1_000_000:
            # The runtime flushes per-thread buffers, so rows come in runs of one thread.
            for _ in range(400):
                tid = 1000 + rng.randrange(10)
                for _ in range(50):
                    ts += 100_000
                    kind = struct.pack("<I", 2 if written % 3 else 1)
                    stack = rng.choice(stacks)
                    w.write_event(sample, thread_id=tid, timestamp=ts, stack=stack, payload=kind)
                    if written % 50 == 0:
                        stack = rng.choice(stacks)
                        w.write_event(
                            alloc,
                            thread_id=tid,
                            timestamp=ts + 1,
                            stack=stack,
                            payload=alloc_payload,
                        )
                    written += 1
    return written


def read_pass(
    path: Path, select: object = None, compact: Compact | None = None
) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds) to stream every (selected) event, and how many were read."""
    start, cpu = time.perf_counter(), time.process_time()
    with open_trace(path) as trace:
        for _ in trace.events(select, compact=compact):  # type: ignore[arg-type]
            pass
        count = trace.stats.events
    return time.perf_counter() - start, time.process_time() - cpu, count


def _report(label: str, mb: float, wall: float, cpu: float, events: int) -> None:
    # CPU time is reported next to wall time because the benchmark machine is shared.
    print(
        f"{label:13} {mb / cpu:6.1f} MB/s {events / cpu:10,.0f} events/s per CPU-second"
        f" | wall {wall:.1f} s ({mb / wall:.1f} MB/s)"
    )


def _compact_samples(accept: Callable[[EventMetadata], bool]) -> Compact:
    """Samples appended to per-thread arrays, as the analysis pass keeps them."""
    stacks: dict[tuple[int, ...], int] = {}
    threads: dict[int, tuple[array[int], array[int], array[int]]] = {}

    def intern(stack: tuple[int, ...]) -> int:
        return stacks.setdefault(stack, len(stacks))

    def appenders(tid: int) -> tuple[Callable[[int], None], ...]:
        arrays = threads[tid] = (array("q"), array("i"), array("b"))
        return tuple(a.append for a in arrays)

    return Compact(accept, intern, appenders)  # type: ignore[arg-type]


def main() -> None:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--version", type=int, default=4, choices=(4, 6))
    parser.add_argument("--keep", type=Path, default=None, help="write the trace here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.nettrace"
        start = time.perf_counter()
        samples = write_trace(path, args.size_mb, args.version)
        took = time.perf_counter() - start
        mb = path.stat().st_size / 1e6
        print(f"wrote {mb:.1f} MB (V{args.version}, {samples:,} samples) in {took:.1f} s")
        _report("read all", mb, *read_pass(path))

        def only_samples(meta: EventMetadata) -> bool:
            return meta.provider == SAMPLER

        def only_allocs(meta: EventMetadata) -> bool:
            return meta.provider == RUNTIME and meta.event_id == 10

        _report("samples only", mb, *read_pass(path, only_samples))
        _report("compact", mb, *read_pass(path, lambda m: False, _compact_samples(only_samples)))
        _report("allocs only", mb, *read_pass(path, only_allocs))
        tracemalloc.start()
        read_pass(path)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak traced memory while reading: {peak / 1e6:.1f} MB; peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
