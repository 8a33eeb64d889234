"""Reading a trace in parts on several processes gives exactly the one-pass analysis."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tools.analysis import parallel
from tools.analysis.analyze import analyze_trace_file
from tools.analysis.synthetic import SyntheticTrace, gc_end_v1, gc_start_v2
from tools.nettrace.payloads import RUNTIME
from tools.nettrace.reader import block_layout

MS = 10_000
THREADS = [3101, 3102, 3103, 3104, 3105]
TYPES = ["System.Byte[]", "Dekaf.Producer.ProducerRecord", "System.String"]


def _stacks(rng: random.Random) -> list[tuple[str, ...]]:
    methods = [f"Dekaf!Dekaf.Producer.Part{i}.Run(int32)" for i in range(40)]
    methods += [f"System.Private.CoreLib!System.Threading.Step{i}()" for i in range(20)]
    root = ("StressHost!StressHost.Program.Main(class System.String[])",)
    return [root + tuple(rng.sample(methods, rng.randint(3, 12))) for _ in range(120)]


def _write(path: Path, rounds: int = 1500, seed: int = 5) -> Path:
    """Samples on five threads, allocation ticks, lock waits open across many blocks, GCs."""
    rng = random.Random(seed)
    stacks = _stacks(rng)
    with SyntheticTrace(path, block_size=6000, sequence_point_every=4) as trace:
        for i in range(rounds):
            ts = (i + 1) * MS
            for n, tid in enumerate(THREADS):
                trace.sample(tid, ts + n, rng.choice(stacks), managed=rng.random() < 0.7)
            if i % 3 == 0:
                tid = rng.choice(THREADS)
                trace.allocation(tid, ts + 7, rng.choice(stacks), rng.choice(TYPES), 100_000, 48)
            if i % 40 == 0:  # waits that end 25 rounds later, across sequence points
                trace.contention(THREADS[i % 5], ts + 8, rng.choice(stacks), 0x900 + i % 3, 3105)
            if i % 40 == 25:
                trace.contention_stop(THREADS[(i - 25) % 5], ts + 9, 250_000.0)
            if i % 200 == 100:
                trace.event(RUNTIME, 1, 2, 3199, ts + 5, gc_start_v2(i, 1))
                trace.event(RUNTIME, 2, 1, 3199, ts + 6, gc_end_v1(i, 1))
            trace.last_timestamp = ts + 10
    return path


def _analysis(path: Path, workers: int) -> str:
    return analyze_trace_file(path, workers=workers).model_dump_json()


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let test-sized traces split (the real floor keeps parts of several MB)."""
    monkeypatch.setattr(parallel, "MIN_PART_BYTES", 0)


@pytest.mark.usefixtures("small_parts")
@pytest.mark.parametrize("workers", [2, 3, 5])
def test_parts_merge_into_the_one_pass_analysis(tmp_path: Path, workers: int) -> None:
    """Every number of parts gives the same JSON as one pass: CPU tables and thread times,
    allocation sites, waits that span parts, GC, counts, duration."""
    path = _write(tmp_path / "mix.nettrace")
    windows = parallel.plan(path, workers)
    assert len(windows) == workers
    assert _analysis(path, workers) == _analysis(path, 1)


@pytest.mark.usefixtures("small_parts")
def test_parts_scanned_in_process_when_no_worker_can_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where processes cannot start, the parts are scanned one after the other, same result."""
    path = _write(tmp_path / "mix.nettrace")

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("no semaphores here")

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", refuse)
    assert _analysis(path, 2) == _analysis(path, 1)


@pytest.mark.usefixtures("small_parts")
def test_real_trace_in_parts(traces_dir: Path) -> None:
    """The pyroscope trace (five sequence points) splits and analyses as in one pass."""
    path = traces_dir / "pyroscope-dotnet-5.0-SampleProfiler-single-thread.golden.nettrace"
    assert len(parallel.plan(path, 3)) == 3
    assert _analysis(path, 3) == _analysis(path, 1)


@pytest.mark.usefixtures("small_parts")
def test_truncated_and_corrupt_traces_read_in_parts_as_in_one(tmp_path: Path) -> None:
    """A file cut short, or damaged inside a later part, reports the same truncation or
    error and keeps the same data as one pass."""
    whole = _write(tmp_path / "mix.nettrace").read_bytes()
    cut = tmp_path / "cut.nettrace"
    cut.write_bytes(whole[: len(whole) * 9 // 10])
    layout = block_layout(tmp_path / "mix.nettrace")
    assert layout is not None
    late_block = next(b for b in layout[len(layout) * 3 // 4 :] if b.kind == "EventBlock")
    damaged = bytearray(whole)
    damaged[late_block.start + 60 : late_block.start + 90] = b"\xff" * 30
    bad = tmp_path / "bad.nettrace"
    bad.write_bytes(bytes(damaged))
    for path in (cut, bad):
        one = analyze_trace_file(path, workers=1)
        assert one.trace.truncated and one.notes
        assert _analysis(path, 3) == one.model_dump_json()


def test_small_zipped_and_unsplittable_traces_read_in_one_pass(
    tmp_path: Path, traces_dir: Path
) -> None:
    """Small files, zips and files without a sequence point are not split."""
    assert parallel.plan(_write(tmp_path / "small.nettrace", rounds=300), 4) == []
    assert parallel.plan(traces_dir / "perfview-only_managed_samples.nettrace.zip", 4) == []
    assert parallel.plan(tmp_path / "missing.nettrace", 4) == []
    assert parallel.default_workers(tmp_path / "small.nettrace") == 1


@pytest.mark.usefixtures("small_parts")
def test_fresh_interpreters_when_other_threads_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With other threads about (an MCP server), workers start as fresh interpreters."""
    path = _write(tmp_path / "mix.nettrace")
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 3)
    assert parallel._start_method().get_start_method() == "spawn"
    assert _analysis(path, 2) == _analysis(path, 1)


@pytest.mark.usefixtures("small_parts")
def test_more_parts_than_workers_keep_parts_small(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts are capped in size (flat memory); two workers then go through all of them."""
    path = _write(tmp_path / "mix.nettrace")
    monkeypatch.setattr(parallel, "MAX_PART_BYTES", path.stat().st_size // 8 + 1)
    windows = parallel.plan(path, 2)
    assert len(windows) >= 6  # cuts land on sequence points, so two targets may share one
    assert _analysis(path, 2) == _analysis(path, 1)
