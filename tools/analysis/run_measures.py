"""One run reduced to what a before/after comparison needs, per family and metric name.

Shares of the on-CPU (managed) samples per method, self and inclusive; allocated bytes per
message (per second without a message count) per site and per type; lock waits and wait
time per second per site; the stress tool's throughput. Each value keeps the count of sampled
events it rests on, so that the comparison can resample it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tools.analysis.results import AllocationSite, TraceAnalysis

Family = Literal[
    "throughput", "cpu_self", "cpu_inclusive", "alloc_site", "alloc_type", "lock_waits", "lock_time"
]


@dataclass(frozen=True)
class Observation:
    """One run's value of one metric and the counted events it rests on.

    Attributes:
        value: the metric (percent, B/msg, events/s, …).
        count: the sampled events behind it (CPU samples, allocation ticks, lock waits).
        total: for a share, the count it is a share of (binomial resampling); None: Poisson.
    """

    value: float
    count: int
    total: int | None = None


@dataclass
class RunMeasures:
    """What one run measured, per family and metric name."""

    label: str
    trace: str
    msg_per_s: float | None
    per_message: bool
    metrics: dict[Family, dict[str, Observation]] = field(default_factory=dict)


def measure_run(
    analysis: TraceAnalysis,
    *,
    label: str,
    msg_per_s: float | None = None,
    messages: int | None = None,
) -> RunMeasures:
    """Reduces one analysed trace (deep top lists, see ``compare.DEEP_TOP``) to its measures."""
    seconds = max(analysis.trace.duration_s, 1e-6)
    per_message = bool(messages)
    divisor = float(messages) if messages else seconds * 1000.0  # B/msg, else KB/s
    run = RunMeasures(label, analysis.trace.path, msg_per_s, per_message)
    if msg_per_s:
        run.metrics["throughput"] = {"msg/s": Observation(msg_per_s, 0)}
    cpu = analysis.cpu
    total = cpu.managed_samples
    if total:
        run.metrics["cpu_self"] = {
            m.name: Observation(100.0 * m.managed_samples / total, m.managed_samples, total)
            for m in cpu.top_self_managed
            if m.managed_samples
        }
        run.metrics["cpu_inclusive"] = {
            m.name: Observation(100.0 * m.managed_samples / total, m.managed_samples, total)
            for m in cpu.top_inclusive
            if m.managed_samples
        }
    allocations = analysis.allocations
    if allocations.collected:
        sites: dict[str, list[int]] = {}
        for site in allocations.by_site:
            entry = sites.setdefault(site_key(site), [0, 0])
            entry[0] += site.bytes
            entry[1] += site.ticks
        run.metrics["alloc_site"] = {k: Observation(b / divisor, t) for k, (b, t) in sites.items()}
        run.metrics["alloc_type"] = {
            t.type: Observation(t.bytes / divisor, t.ticks) for t in allocations.by_type
        }
    contention = analysis.contention
    if contention.collected:
        waits: dict[str, list[float]] = {}
        for wait in contention.top:
            entry_w = waits.setdefault(wait.site, [0.0, 0.0])
            entry_w[0] += wait.events
            entry_w[1] += wait.total_ms
        run.metrics["lock_waits"] = {
            s: Observation(n / seconds, int(n)) for s, (n, _) in waits.items()
        }
        run.metrics["lock_time"] = {
            s: Observation(ms / seconds, int(n)) for s, (n, ms) in waits.items()
        }
    return run


def site_key(site: AllocationSite) -> str:
    """``frame [Type]``: the deepest target frame (else the leaf) and the allocated type."""
    where = site.target_frame or (site.frames[-1] if site.frames else "(no stack)")
    return f"{where} [{site.types[0] if site.types else '?'}]"
