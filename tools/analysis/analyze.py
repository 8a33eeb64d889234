"""The driver: read a trace once (in parts on several cores when big), run every analysis."""

from __future__ import annotations

from pathlib import Path

from tools.analysis.awaits import summarize_awaits
from tools.analysis.cpu import summarize_cpu
from tools.analysis.deadlock import assess
from tools.analysis.hang import HangInputs, judge_hang
from tools.analysis.hang_evidence import Locate
from tools.analysis.hang_models import StallInfo
from tools.analysis.parallel import default_workers, plan, scan_in_parts, scan_window
from tools.analysis.results import TraceAnalysis, TraceHeader
from tools.analysis.source import Progress, TraceScan
from tools.nettrace.payloads import RUNTIME, SAMPLER, TPL
from tools.stacks.model import Snapshot

PRESETS = {
    "cpu": f"--providers {SAMPLER}",
    "allocations": f"--providers {RUNTIME}:0x1:5",
    "contention": f"--providers {RUNTIME}:0x4000:4",
    "waits": f"--providers {RUNTIME}:0x40000000000:5",
    "hang": f"--providers {SAMPLER},{RUNTIME}:0x40000014000:5,{TPL}:0x2:5",
}
"""What to collect when a section has no data (dotnet-trace collect arguments)."""


def analyze_trace_file(
    path: str | Path,
    *,
    top: int = 20,
    messages: int | None = None,
    target_prefix: str = "Dekaf.",
    progress: Progress | None = None,
    workers: int | None = None,
    snapshot: Snapshot | None = None,
    stall: StallInfo | None = None,
    locate: Locate | None = None,
) -> TraceAnalysis:
    """Reads ``path`` once and runs every analysis.

    Args:
        path: a ``.nettrace``/``.netperf`` file or a ``.zip`` holding one.
        top: length of every top list.
        messages: messages the run produced/consumed, for per-message allocation sites.
        target_prefix: namespace prefix of the code under study (``Dekaf.``).
        progress: called now and then with the bytes read.
        workers: processes reading parts of the trace at once (None: one per core for big
            plain ``.nettrace`` files); the analysis is the same whatever the number.
        snapshot: a stack snapshot of the traced process, for the hang verdict.
        stall: progress stopped while tracing (trace_collect), for the hang verdict.
        locate: frame -> ``file:line`` for the hang verdict's frames.

    Raises:
        TraceFormatError: the file is not a readable trace.
    """
    path = Path(path)
    workers = default_workers(path) if workers is None else workers
    windows = plan(path, workers)
    if windows:
        scan, collectors = scan_in_parts(path, windows, workers, progress)
    else:
        scan, collectors = scan_window(path, None, progress)
    info = scan.info
    allocs, locks, gcs = collectors.allocs, collectors.locks, collectors.gcs
    frames = scan.stacks.resolve(scan.symbols)
    assert scan.cpu is not None  # fold_samples
    cpu, threads = summarize_cpu(
        scan.cpu,
        frames,
        info.qpc_frequency,
        top=top,
        target_prefix=target_prefix,
    )
    window = None
    if scan.first_ts is not None and scan.last_ts is not None:
        window = (scan.first_ts, scan.last_ts)
    analysis = TraceAnalysis(
        trace=_header(path, scan),
        events_by_provider=_by_provider(scan),
        cpu=cpu,
        allocations=allocs.summarize(
            frames, top=top, messages=messages, target_prefix=target_prefix
        ),
        contention=locks.summarize(frames, top=top, target_prefix=target_prefix),
        deadlock=assess(locks, frames, window, info.qpc_frequency),
        gc=gcs.summarize(info.qpc_frequency),
        awaits=summarize_awaits(
            collectors.awaits, frames, scan.last_ts, info.qpc_frequency, target_prefix
        ),
        thread_pool=collectors.pool.summarize(scan.first_ts, info.qpc_frequency),
        threads=threads[:top],
    )
    if snapshot is not None and snapshot.pid not in (0, info.process_id):
        snapshot = None  # another process's stacks say nothing about this trace
    if window is not None and info.qpc_frequency > 0:
        inputs = HangInputs(
            analysis.deadlock,
            locks,
            analysis.awaits,
            analysis.thread_pool,
            frames,
            window[0],
            window[1],
            info.qpc_frequency,
            target_prefix,
            analysis.contention.collected,
        )
        analysis.hang_verdict = judge_hang(inputs, snapshot, stall, locate)
    analysis.notes = _notes(analysis, scan, frames)
    return analysis


def _header(path: Path, scan: TraceScan) -> TraceHeader:
    info = scan.info
    return TraceHeader(
        path=str(path),
        format=info.format,
        pointer_size=info.pointer_size,
        pid=info.process_id,
        duration_s=round(scan.duration_s, 6),
        events=sum(scan.counts.values()),
        truncated=scan.stats.truncated or scan.error is not None,
        size_bytes=path.stat().st_size,
        start_utc=info.sync_time_utc.isoformat(),
        qpc_frequency=info.qpc_frequency,
    )


def _by_provider(scan: TraceScan) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    for (provider, event_id), count in sorted(scan.counts.items()):
        result.setdefault(provider, {})[str(event_id)] = count
    return result


def _notes(analysis: TraceAnalysis, scan: TraceScan, frames: list[tuple[str, ...]]) -> list[str]:
    notes = []
    if scan.error:
        notes.append(
            f"Reading stopped at a corrupt record ({scan.error}); the analysis covers the "
            "events before it."
        )
    if scan.stats.truncated:
        notes.append(
            f"The trace is truncated (complete data ends at byte {scan.stats.truncated_at}); "
            "the analysis covers what was written."
        )
    if scan.cpu is not None and scan.cpu.late:
        notes.append(
            f"{scan.cpu.late} time(s) a thread's samples after a sequence point began before its "
            "last sample ahead of it (the trace's regions overlap in time); the interval open "
            "across each such point is left out of thread time."
        )
    if not analysis.cpu.collected:
        notes.append(f"No CPU samples; collect with {PRESETS['cpu']}.")
    if not analysis.allocations.collected:
        notes.append(f"No allocation ticks; collect with {PRESETS['allocations']}.")
    if not analysis.contention.collected:
        notes.append(
            f"No contention or wait events; collect with {PRESETS['contention']} "
            f"(waits, .NET 9+: {PRESETS['waits']})."
        )
    named = [f for stack in frames for f in stack]
    unknown = sum(1 for f in named if f == "?!?")
    if named and unknown:
        notes.append(
            f"{100 * unknown / len(named):.1f}% of stack frames are unresolved (?!?): no "
            "MethodLoadVerbose/rundown event covered them (was rundown disabled?)."
        )
    if scan.symbols.method_count == 0 and named:
        notes.append("No method names in the trace (rundown missing): frames cannot be named.")
    return notes
