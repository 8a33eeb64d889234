"""Typed results of the payload decoders in :mod:`tools.nettrace.payloads`.

Every field after the first few is optional: an older (shorter) event version leaves it None.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ThreadSample:
    """SampleProfiler ThreadSample: 1 External (native/blocked), 2 Managed, 0 Error."""

    type: int | None


@dataclass(frozen=True, slots=True)
class AllocationTick:
    """GCAllocationTick v0–v4: ``bytes`` is the sampled weight since the previous tick."""

    amount: int | None
    kind: int | None
    clr_instance_id: int | None = None
    amount64: int | None = None
    type_id: int | None = None
    type_name: str | None = None
    heap_index: int | None = None
    address: int | None = None
    object_size: int | None = None

    @property
    def bytes(self) -> int:
        """Bytes allocated since the previous tick (64-bit amount when present)."""
        return self.amount64 if self.amount64 is not None else (self.amount or 0)


@dataclass(frozen=True, slots=True)
class ContentionStart:
    """ContentionStart v0–v2 (flags 0 managed, 1 native)."""

    flags: int | None = None
    clr_instance_id: int | None = None
    lock_id: int | None = None
    associated_object_id: int | None = None
    lock_owner_thread_id: int | None = None


@dataclass(frozen=True, slots=True)
class ContentionStop:
    """ContentionStop v0–v1; v1 gives the duration directly."""

    flags: int | None = None
    clr_instance_id: int | None = None
    duration_ns: float | None = None


@dataclass(frozen=True, slots=True)
class ContentionLockCreated:
    """ContentionLockCreated (.NET 8+)."""

    lock_id: int | None
    associated_object_id: int | None
    clr_instance_id: int | None


@dataclass(frozen=True, slots=True)
class WaitHandleWaitStart:
    """WaitHandleWaitStart (.NET 9+): wait source 0 Unknown, 1 MonitorWait."""

    wait_source: int | None
    associated_object_id: int | None
    clr_instance_id: int | None


@dataclass(frozen=True, slots=True)
class WaitHandleWaitStop:
    """WaitHandleWaitStop (.NET 9+)."""

    clr_instance_id: int | None


@dataclass(frozen=True, slots=True)
class GCStart:
    """GCStart v0–v2; ``depth`` is the generation collected."""

    count: int | None
    depth: int | None = None
    reason: int | None = None
    type: int | None = None
    clr_instance_id: int | None = None
    client_sequence_number: int | None = None


@dataclass(frozen=True, slots=True)
class GCEnd:
    """GCEnd v0–v1."""

    count: int | None
    depth: int | None
    clr_instance_id: int | None = None


@dataclass(frozen=True, slots=True)
class GCSuspendEEBegin:
    """GCSuspendEEBegin v0–v1: the start of a runtime suspension (a GC pause begins)."""

    reason: int | None
    count: int | None = None
    clr_instance_id: int | None = None


@dataclass(frozen=True, slots=True)
class GCRestartEEEnd:
    """GCRestartEEEnd v0–v1: the runtime resumed (a pause ends)."""

    clr_instance_id: int | None = None


@dataclass(frozen=True, slots=True)
class GCHeapStats:
    """GCHeapStats v1–v2: generation sizes and promoted bytes."""

    generation_sizes: tuple[int | None, ...]
    promoted_sizes: tuple[int | None, ...]
    finalization_promoted_size: int | None = None
    finalization_promoted_count: int | None = None
    pinned_object_count: int | None = None
    sink_block_count: int | None = None
    gc_handle_count: int | None = None
    clr_instance_id: int | None = None


@dataclass(frozen=True, slots=True)
class MethodVerbose:
    """MethodLoadVerbose / MethodUnloadVerbose / MethodDCStart|EndVerbose v0–v2."""

    method_id: int | None
    module_id: int | None
    start: int | None
    size: int | None
    token: int | None
    flags: int | None
    namespace: str | None
    name: str | None
    signature: str | None
    clr_instance_id: int | None = None
    rejit_id: int | None = None


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """ModuleLoad / ModuleDCEnd and DomainModuleLoad / DomainModuleDCEnd (shared fields)."""

    module_id: int | None
    assembly_id: int | None
    flags: int | None
    il_path: str | None
    native_path: str | None
    app_domain_id: int | None = None
    clr_instance_id: int | None = None


@dataclass(frozen=True, slots=True)
class ExceptionThrown:
    """ExceptionThrown v1."""

    type_name: str | None
    message: str | None
    eip: int | None = None
    hresult: int | None = None
    flags: int | None = None
    clr_instance_id: int | None = None


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """Microsoft-DotNETCore-EventPipe ProcessInfo v0–v1."""

    command_line: str | None
    os_information: str | None = None
    arch_information: str | None = None


@dataclass(frozen=True, slots=True)
class TaskWaitBegin:
    """TplEventSource TaskWaitBegin v3: behavior 1 a blocking wait (Wait/Result), 2 an await.

    ``task_id`` is the awaited task; ``continue_with_task_id`` the task of the async method
    that awaits it (0 when unknown).
    """

    scheduler_id: int | None
    originating_task_id: int | None
    task_id: int | None
    behavior: int | None = None
    continue_with_task_id: int | None = None


@dataclass(frozen=True, slots=True)
class TaskWaitEnd:
    """TplEventSource TaskWaitEnd v0: ``task_id`` is the awaited task."""

    scheduler_id: int | None
    originating_task_id: int | None
    task_id: int | None


@dataclass(frozen=True, slots=True)
class ThreadPoolWorkers:
    """ThreadPoolWorkerThreadStart/Stop/Wait v0: worker threads active and retired."""

    active: int | None
    retired: int | None
    clr_instance_id: int | None = None


@dataclass(frozen=True, slots=True)
class ThreadPoolAdjustment:
    """ThreadPoolWorkerThreadAdjustmentAdjustment v0: the pool's new worker-thread goal.

    Reasons (the runtime's HillClimbing.StateOrTransition): 0 Warmup, 1 Initializing,
    2 RandomMove, 3 ClimbingMove, 4 ChangePoint, 5 Stabilizing, 6 Starvation,
    7 ThreadTimedOut, 8 CooperativeBlocking.
    """

    average_throughput: float | None
    new_worker_count: int | None
    reason: int | None
    clr_instance_id: int | None = None


Payload = (
    ThreadSample
    | AllocationTick
    | ContentionStart
    | ContentionStop
    | ContentionLockCreated
    | WaitHandleWaitStart
    | WaitHandleWaitStop
    | GCStart
    | GCEnd
    | GCSuspendEEBegin
    | GCRestartEEEnd
    | GCHeapStats
    | MethodVerbose
    | ModuleInfo
    | ExceptionThrown
    | ProcessInfo
    | TaskWaitBegin
    | TaskWaitEnd
    | ThreadPoolWorkers
    | ThreadPoolAdjustment
)
