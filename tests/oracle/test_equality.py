"""pta's analysis against TraceEvent's on the same files: counts equal, top methods equal.

Every trace in ../shared/traces, every ``tests/fixtures/traces/*.nettrace`` (real .NET 10
recordings of the sample target, when that folder exists) and a synthetic trace built like the
benchmark's (a few MB here; bench/bench_oracle.py compares at 50 and 200 MB). The analysis is
``analyze_trace_file``, what ``pta analyze --json`` prints. Where the two differ by design, the
test asserts that difference (docs/traceevent-oracle.md has the table), never a tolerance;
times are compared to the precision pta prints them with (3 decimals of a millisecond).
"""

from __future__ import annotations

import importlib.util
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import pytest

from tests.oracle.conftest import ComparisonLog, Oracle
from tools.analysis.analyze import analyze_trace_file
from tools.analysis.cpu import NO_STACK, stack_samples
from tools.analysis.folded import folded_stacks
from tools.analysis.model import StackSample

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PTA_TRACES_DIR", REPO.parent / "shared" / "traces"))
FIXTURES = REPO / "tests" / "fixtures" / "traces"
TRACE_SUFFIXES = (".nettrace", ".nettrace.zip", ".netperf", ".netperf.zip")
SYNTHETIC_MB = 3
TOP = 20
RUNTIME = "Microsoft-Windows-DotNETRuntime"
GC_DYNAMIC_EVENT = "39"
TRACEEVENT_SYNTHETIC_IDS = 0xFF00
"""TraceEvent dispatches GCDynamicEvent (39) under the id of the sub-event its payload names."""
PRINTED_MS = 0.0005  # pta rounds every millisecond figure to 3 decimals
FLOAT32_MS = 1e-4  # TraceEvent sums thread time in float32 sample metrics (relative)


def _trace_ids() -> list[tuple[str, str]]:
    shared = [("shared", "(missing)")]
    if SHARED.is_dir():
        shared = [
            ("shared", p.name) for p in sorted(SHARED.iterdir()) if p.name.endswith(TRACE_SUFFIXES)
        ]
    fixtures = [("fixture", p.name) for p in sorted(FIXTURES.glob("*.nettrace"))]
    return [*shared, *fixtures, ("synthetic", f"synthetic-{SYNTHETIC_MB}mb.nettrace")]


TRACES = _trace_ids()
IDS = [name.split(".")[0] for _, name in TRACES]


@pytest.fixture(scope="session")
def synthetic_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A benchmark-shaped trace (32 threads, deep stacks, ticks, locks, GCs) of a few MB."""
    spec = importlib.util.spec_from_file_location(
        "bench_analyze", REPO / "bench" / "bench_analyze.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    path = tmp_path_factory.mktemp("oracle-synthetic") / f"synthetic-{SYNTHETIC_MB}mb.nettrace"
    bench.build(path, SYNTHETIC_MB)
    return path


@pytest.fixture(params=TRACES, ids=IDS)
def trace(request: pytest.FixtureRequest, synthetic_trace: Path) -> Path:
    """One trace of the tier (a missing ../shared/traces skips, or fails under CI=true)."""
    source, name = cast(tuple[str, str], request.param)
    if source == "synthetic":
        return synthetic_trace
    if source == "fixture":
        return FIXTURES / name
    folder: Path = request.getfixturevalue("traces_dir")
    return folder / name


_OURS: dict[Path, dict[str, Any]] = {}


def ours(trace: Path) -> dict[str, Any]:
    """pta's analysis of ``trace`` as ``pta analyze --json --top 100`` prints it."""
    if trace not in _OURS:
        _OURS[trace] = analyze_trace_file(trace, top=100).model_dump(mode="json")
    return _OURS[trace]


def _note(log: ComparisonLog, trace: Path, aspect: str, line: str) -> None:
    log.lines.append(f"{trace.name[:58]:58} {aspect:15} {line}")


def test_event_counts(trace: Path, oracle: Oracle, comparisons: ComparisonLog) -> None:
    """Every provider's events by id, the total and the duration are TraceEvent's."""
    theirs, mine = oracle.tally(trace), ours(trace)
    expected = _renumbered(theirs["events_by_provider"])
    assert mine["events_by_provider"] == expected
    assert mine["trace"]["events"] == theirs["trace"]["events"]
    assert mine["trace"]["duration_s"] == pytest.approx(theirs["trace"]["duration_s"], abs=1e-6)
    kinds = sum(len(ids) for ids in expected.values())
    _note(
        comparisons, trace, "events", f"{theirs['trace']['events']:,} events, {kinds} kinds: equal"
    )


def _renumbered(by_provider: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """TraceEvent's counts with its GCDynamicEvent sub-event ids folded back into id 39."""
    result = {provider: dict(ids) for provider, ids in by_provider.items()}
    runtime = result.get(RUNTIME, {})
    for event_id in [i for i in runtime if int(i) >= TRACEEVENT_SYNTHETIC_IDS]:
        runtime[GC_DYNAMIC_EVENT] = runtime.get(GC_DYNAMIC_EVENT, 0) + runtime.pop(event_id)
    return {p: dict(sorted(ids.items(), key=lambda kv: int(kv[0]))) for p, ids in result.items()}


def test_samples_per_thread(trace: Path, oracle: Oracle, comparisons: ComparisonLog) -> None:
    """Each thread's managed and external ThreadSample counts are TraceEvent's."""
    theirs, mine = oracle.tally(trace), ours(trace)
    expected = {t["thread_id"]: (t["managed"], t["external"]) for t in theirs["threads"]}
    actual = {
        t["thread_id"]: (t["managed_samples"], t["external_samples"]) for t in mine["threads"]
    }
    assert actual == expected
    assert mine["cpu"]["samples"] == theirs["cpu"]["samples"]
    _note(
        comparisons,
        trace,
        "threads",
        f"{len(expected)} threads, {mine['cpu']['samples']:,} samples: equal",
    )


def test_top_leaf_methods(trace: Path, oracle: Oracle, comparisons: ComparisonLog) -> None:
    """The 20 leaf methods with most samples, in order, with TraceEvent's counts."""
    theirs, mine = oracle.tally(trace), ours(trace)
    expected = _ranked([(m["name"], m["samples"]) for m in theirs["cpu"]["top_self"]])
    actual = _ranked([(m["name"], m["samples"]) for m in mine["cpu"]["top_self"]])
    assert actual == expected
    _note(comparisons, trace, "leaf top 20", _first(expected))


def test_top_inclusive_methods(trace: Path, oracle: Oracle, comparisons: ComparisonLog) -> None:
    """The 20 methods most often on the stack, in order, as TraceEvent counts them.

    TraceEvent roots every EventPipe stack in a BROKEN pseudo frame (no native thread-start
    frame below the managed ones); it is on every sample and names no method, so it is the one
    frame pta does not list.
    """
    theirs, mine = oracle.tally(trace), ours(trace)
    listed = [(m["name"], m["samples"]) for m in theirs["cpu"]["top_inclusive"]]
    assert [n for name, n in listed if name == "BROKEN"] in ([], [theirs["cpu"]["samples"]])
    expected = _ranked([entry for entry in listed if entry[0] != "BROKEN"])
    actual = _ranked([(m["name"], m["samples"]) for m in mine["cpu"]["top_inclusive"]])
    assert actual == expected
    _note(comparisons, trace, "inclusive top", _first(expected))


def _ranked(table: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The first 20 by count, ties by name, module names case-folded.

    TraceEvent lower-cases the module part of some frame names (modules whose load event it
    met before their methods' events, e.g. ``hotloopbench!`` for ``HotLoopBench.dll`` loaded
    mid-trace); pta keeps the IL file name's case. Method parts must match byte for byte.
    """
    folded = [(_fold_module(name), n) for name, n in table]
    return sorted(folded, key=lambda entry: (-entry[1], entry[0]))[:TOP]


def _fold_module(name: str) -> str:
    module, bang, method = name.partition("!")
    return f"{module.lower()}{bang}{method}"


def _first(table: list[tuple[str, int]]) -> str:
    if not table:
        return "no samples on either side"
    name, n = table[0]
    return f"{len(table)} equal; #1 {name.split('!')[-1][:48]} ({n:,})"


def test_thread_time(trace: Path, oracle: Oracle, comparisons: ComparisonLog) -> None:
    """Thread time per leaf method is TraceEvent's, allocation ticks clocked as CPU samples.

    TraceEvent's SampleProfilerThreadTimeComputer takes GCAllocationTick events into the thread
    clock as on-CPU samples; so does pta's ``stack_samples`` (the speedscope and flame-graph
    feed), which is compared here. pta's report tables clock ThreadSamples only (so a tick
    does not cut a sample's interval). The oracle runs the computer without EventSource events
    (pta never clocks those); the table is in docs/traceevent-oracle.md.
    """
    theirs = oracle.tally(trace)
    mine = _leaf_time(stack_samples(trace))
    expected = {_fold_module(m["name"]): m["ms"] for m in theirs["cpu"]["top_self_time"]}
    top = sorted(mine.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    assert [name for name, _ in top] == list(expected)[:TOP]
    for name, ms in top:
        assert ms == pytest.approx(expected[name], rel=FLOAT32_MS, abs=PRINTED_MS)
    total = theirs["cpu"]["thread_time_ms"]
    assert sum(mine.values()) == pytest.approx(total, rel=FLOAT32_MS, abs=PRINTED_MS)
    split = {t["thread_id"]: (t["cpu_ms"], t["blocked_ms"]) for t in theirs["cpu"]["thread_times"]}
    actual = _thread_split(stack_samples(trace))
    assert actual.keys() == split.keys()
    for tid, times in actual.items():
        assert times == pytest.approx(split[tid], rel=FLOAT32_MS, abs=PRINTED_MS), tid
    _note(comparisons, trace, "thread time", f"{total:,.1f} ms, leaf top {len(top)}: equal")


def _thread_split(samples: Iterable[StackSample]) -> dict[int, tuple[float, float]]:
    """(CPU_TIME, UNMANAGED_CODE_TIME) ms per thread."""
    split: defaultdict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for sample in samples:
        split[sample.thread_id][0 if sample.managed else 1] += sample.weight_ms
    return {tid: (cpu, blocked) for tid, (cpu, blocked) in split.items()}


def _leaf_time(samples: Iterable[StackSample]) -> dict[str, float]:
    leaf: defaultdict[str, float] = defaultdict(float)
    for sample in samples:
        leaf[_fold_module(sample.frames[-1]) if sample.frames else NO_STACK] += sample.weight_ms
    return dict(leaf)


def test_pyroscope_convention(trace: Path, oracle: Oracle, comparisons: ComparisonLog) -> None:
    """``pta analyze --folded`` (pyroscope's rule) spans the same intervals, credited to the end.

    pyroscope credits the time between two ThreadSamples to the sample that ENDS it and leaves
    allocation ticks out; TraceEvent credits the sample that starts it and clocks ticks too. So
    per stack the two differ, by design, while the total is TraceEvent's when the trace has no
    ticks, and within it (the ticks only widen a thread's span) when it has.
    """
    theirs = oracle.tally(trace)
    folded_ms = sum(weight for _, weight in folded_stacks(trace)) / 1e6
    total = theirs["cpu"]["thread_time_ms"]
    if theirs["allocations"]["ticks"] == 0:
        assert folded_ms == pytest.approx(total, rel=FLOAT32_MS, abs=PRINTED_MS)
        relation = "equal totals"
    else:
        assert folded_ms <= total * (1 + FLOAT32_MS) + PRINTED_MS
        relation = "within (ticks widen TraceEvent's span)"
    _note(comparisons, trace, "pyroscope rule", f"{folded_ms:,.1f} of {total:,.1f} ms: {relation}")


def test_allocations(trace: Path, oracle: Oracle, comparisons: ComparisonLog) -> None:
    """Allocation ticks and bytes, in total and per type, are TraceEvent's."""
    theirs, mine = oracle.tally(trace)["allocations"], ours(trace)["allocations"]
    assert (mine["ticks"], mine["bytes"]) == (theirs["ticks"], theirs["bytes"])
    expected = {t["type"]: (t["bytes"], t["ticks"]) for t in theirs["by_type"]}
    assert {t["type"]: (t["bytes"], t["ticks"]) for t in mine["by_type"]} == expected
    _note(
        comparisons,
        trace,
        "allocations",
        f"{theirs['ticks']:,} ticks, {len(expected)} types: equal",
    )


def test_contention(trace: Path, oracle: Oracle, comparisons: ComparisonLog) -> None:
    """Contention starts/stops and their total duration are TraceEvent's."""
    theirs, mine = oracle.tally(trace)["contention"], ours(trace)["contention"]
    assert mine["events"] + mine["unfinished"] == theirs["starts"]
    assert mine["events"] == theirs["stops"]
    assert mine["total_ms"] == pytest.approx(theirs["total_ms"], abs=PRINTED_MS)
    _note(
        comparisons,
        trace,
        "contention",
        f"{theirs['stops']:,} stops, {theirs['total_ms']:.3f} ms: equal",
    )


def test_gc(trace: Path, oracle: Oracle, comparisons: ComparisonLog) -> None:
    """GCs per generation and their pauses are TraceEvent's (TraceGC, PerfView's GCStats)."""
    theirs, mine = oracle.tally(trace)["gc"], ours(trace)["gc"]
    expected = {g["generation"]: g["count"] for g in theirs["by_generation"]}
    assert {g["generation"]: g["count"] for g in mine["by_generation"]} == expected
    assert mine["total_pause_ms"] == pytest.approx(theirs["total_pause_ms"], abs=PRINTED_MS)
    _note(
        comparisons,
        trace,
        "gc",
        f"{theirs['count']} GCs, {theirs['total_pause_ms']:.3f} ms paused: equal",
    )
