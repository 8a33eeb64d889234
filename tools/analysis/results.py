"""The analysis results as pydantic models: the JSON contract of ``pta analyze --json``.

Other tools and checks read these keys; add fields, never rename them.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.analysis.hang_models import AwaitSection, HangVerdict, ThreadPoolSection


class TraceHeader(BaseModel):
    """What was analysed."""

    path: str
    format: str
    pointer_size: int
    pid: int
    duration_s: float = Field(description="Seconds from the first to the last event.")
    events: int = Field(description="Event records read (all providers).")
    truncated: bool
    size_bytes: int = 0
    start_utc: str = ""
    qpc_frequency: int = 0


class MethodStat(BaseModel):
    """One frame name with its share of the samples."""

    name: str
    percent: float = Field(description="Share of all samples (self or inclusive).")
    samples: int
    managed_samples: int = 0
    time_ms: float = Field(default=0.0, description="Thread time (TraceEvent model), milliseconds.")


class CodeShare(BaseModel):
    """Where samples landed, in percent (leaf frame classification)."""

    target: float = 0.0
    runtime: float = 0.0
    other_managed: float = 0.0
    native_external: float = 0.0
    unresolved: float = 0.0


class ThreadStat(BaseModel):
    """One sampled thread."""

    thread_id: int
    samples: int
    managed_samples: int
    external_samples: int
    cpu_ms: float
    blocked_ms: float


class LockSpin(BaseModel):
    """On-CPU samples spent acquiring a lock, by the target code that asked for it."""

    site: str = Field(description="The nearest target frame above the lock's acquire path.")
    via: str = Field(description="What that frame called on the way (Monitor.Enter, a channel…).")
    samples: int
    percent: float = Field(description="Share of all managed (on-CPU) samples.")


class CpuSection(BaseModel):
    """Hot paths: sample counts, top methods, code shares."""

    collected: bool = False
    samples: int = 0
    managed_samples: int = 0
    external_samples: int = 0
    sampled_threads: int = 0
    top_self: list[MethodStat] = Field(default_factory=list)
    top_self_managed: list[MethodStat] = Field(default_factory=list)
    top_inclusive: list[MethodStat] = Field(default_factory=list)
    share: CodeShare = Field(default_factory=CodeShare)
    managed_share: CodeShare = Field(default_factory=CodeShare)
    target_prefix: str = "Dekaf."
    target_inclusive_percent: float = 0.0
    lock_spin: list[LockSpin] = Field(
        default_factory=list,
        description=(
            "On-CPU samples inside a lock's acquire path (Monitor.Enter's slow path, Lock's "
            "spin), by the target frame that asked: contention events count only the waits "
            "that blocked, not the spinning before them."
        ),
    )
    callees: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description=(
            "Per target method (the ones with most samples under their calls), the samples "
            "under each frame it called directly: which of its calls, and so which of its "
            "branches, the trace shows running."
        ),
    )


class TypeAllocation(BaseModel):
    """Sampled allocation volume of one type."""

    type: str
    bytes: int
    ticks: int
    percent: float = 0.0


class AllocationSite(BaseModel):
    """One allocating stack."""

    frames: list[str] = Field(description="Root first.")
    target_frame: str | None = Field(default=None, description="Deepest frame in target code.")
    types: list[str]
    bytes: int
    ticks: int
    percent: float
    bytes_per_message: float | None = None
    classification: str | None = Field(default=None, description="per-message | per-batch-or-rarer")


class AllocationSection(BaseModel):
    """GCAllocationTick totals by type and by stack."""

    collected: bool = False
    ticks: int = 0
    bytes: int = 0
    by_type: list[TypeAllocation] = Field(default_factory=list)
    by_site: list[AllocationSite] = Field(default_factory=list)
    messages: int | None = None
    bytes_per_message: float | None = None
    per_message_sites: int = 0
    types_under: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description=(
            "Per target frame (the most allocating), the ticks of each type allocated with it "
            "on the stack: what a method allocates, and what it was never seen allocating."
        ),
    )


class WaitSite(BaseModel):
    """Lock contention or wait-handle waits at one stack."""

    frames: list[str]
    site: str
    events: int
    total_ms: float
    max_ms: float
    owner_threads: list[int] = Field(default_factory=list)


class WaitSection(BaseModel):
    """WaitHandleWaitStart/Stop pairs."""

    events: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    unfinished: int = 0
    top: list[WaitSite] = Field(default_factory=list)


class ContentionSection(BaseModel):
    """ContentionStart/Stop pairs and waits."""

    collected: bool = False
    events: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    unfinished: int = 0
    top: list[WaitSite] = Field(default_factory=list)
    waits: WaitSection = Field(default_factory=WaitSection)


class DeadlockEvidence(BaseModel):
    """One observation behind a deadlock suspicion."""

    kind: str = Field(description="cycle | unfinished_contention | unfinished_wait | long_wait")
    threads: list[int]
    message: str
    stacks: list[list[str]] = Field(default_factory=list)


class DeadlockSection(BaseModel):
    """Suspected deadlocks, with what the trace shows (never more)."""

    suspected: bool = False
    evidence: list[DeadlockEvidence] = Field(default_factory=list)


class GenerationStat(BaseModel):
    """GCs of one generation."""

    generation: int
    count: int
    pause_ms_total: float
    pause_ms_max: float


class GCSection(BaseModel):
    """GC counts and pauses."""

    collected: bool = False
    count: int = 0
    ends: int = 0
    total_pause_ms: float = 0.0
    max_pause_ms: float = 0.0
    by_generation: list[GenerationStat] = Field(default_factory=list)
    reasons: dict[str, int] = Field(default_factory=dict)
    suspensions: int = 0
    suspension_ms_total: float = 0.0


class TraceAnalysis(BaseModel):
    """Everything one pass over a trace found (folded stacks excluded: too big)."""

    trace: TraceHeader
    events_by_provider: dict[str, dict[str, int]]
    cpu: CpuSection
    allocations: AllocationSection
    contention: ContentionSection
    deadlock: DeadlockSection
    gc: GCSection
    awaits: AwaitSection = Field(default_factory=AwaitSection)
    thread_pool: ThreadPoolSection = Field(default_factory=ThreadPoolSection)
    hang_verdict: HangVerdict | None = Field(
        default=None, description="The one answer to 'is there a deadlock / a hang?'."
    )
    threads: list[ThreadStat] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
