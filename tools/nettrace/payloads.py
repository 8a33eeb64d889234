"""Payload decoders for the CLR events the analyses use, keyed by (provider, event id, version).

Runtime and rundown events carry no field descriptions in the trace, so their layouts are
hard-coded here (nettrace-format.md §10). Every decoder reads fields in order and stops when the
payload runs out: older (shorter) versions leave the later fields ``None``, newer (longer)
versions keep their extra bytes unread. Nothing here raises on a garbled payload.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from tools.nettrace.payload_types import (
    AllocationTick,
    ContentionLockCreated,
    ContentionStart,
    ContentionStop,
    ExceptionThrown,
    GCEnd,
    GCHeapStats,
    GCRestartEEEnd,
    GCStart,
    GCSuspendEEBegin,
    MethodVerbose,
    ModuleInfo,
    Payload,
    ProcessInfo,
    TaskWaitBegin,
    TaskWaitEnd,
    ThreadPoolAdjustment,
    ThreadPoolWorkers,
    ThreadSample,
    WaitHandleWaitStart,
    WaitHandleWaitStop,
)

RUNTIME = "Microsoft-Windows-DotNETRuntime"
RUNDOWN = "Microsoft-Windows-DotNETRuntimeRundown"
SAMPLER = "Microsoft-DotNETCore-SampleProfiler"
EVENTPIPE = "Microsoft-DotNETCore-EventPipe"
TPL = "System.Threading.Tasks.TplEventSource"

SAMPLE_ERROR, SAMPLE_EXTERNAL, SAMPLE_MANAGED = 0, 1, 2

__all__ = [
    "AllocationTick",
    "ContentionLockCreated",
    "ContentionStart",
    "ContentionStop",
    "DECODERS",
    "EVENTPIPE",
    "ExceptionThrown",
    "GCEnd",
    "GCHeapStats",
    "GCRestartEEEnd",
    "GCStart",
    "GCSuspendEEBegin",
    "MethodVerbose",
    "ModuleInfo",
    "Payload",
    "ProcessInfo",
    "RUNDOWN",
    "RUNTIME",
    "SAMPLER",
    "SAMPLE_ERROR",
    "SAMPLE_EXTERNAL",
    "SAMPLE_MANAGED",
    "TPL",
    "TaskWaitBegin",
    "TaskWaitEnd",
    "ThreadPoolAdjustment",
    "ThreadPoolWorkers",
    "ThreadSample",
    "WaitHandleWaitStart",
    "WaitHandleWaitStop",
    "allocation_tick_fields",
    "decode",
    "sample_type",
]


def utf16z_at(data: bytes, start: int) -> tuple[str | None, int]:
    """The NUL-terminated UTF-16 string at ``start`` and the offset after it.

    None (and an offset past the end) when ``start`` is at or past the end; an unterminated
    string takes what is there.
    """
    if start >= len(data):
        return None, len(data) + 1
    end = data.find(b"\x00\x00", start)
    while end >= 0 and (end - start) % 2:  # a NUL pair straddling two code units
        end = data.find(b"\x00\x00", end + 1)
    if end < 0:
        end = len(data) - (len(data) - start) % 2
    raw = data[start:end]
    text = _NAMES.get(raw)
    if text is None:
        text = raw.decode("utf-16-le", errors="replace")
        if len(_NAMES) < _NAMES_KEPT:
            _NAMES[raw] = text
    return text, end + 2


# Type and method names repeat on every allocation tick; decoding each once saves the codec call.
_NAMES: dict[bytes, str] = {}
_NAMES_KEPT = 4096
# TypeID -> (its name's bytes with the terminator, the name): a tick then costs one compare.
_TICK_NAMES: dict[int, tuple[bytes, str]] = {}


class _Cursor:
    """Sequential little-endian reads that yield None once the payload is exhausted."""

    __slots__ = ("data", "pos", "pointer_size")

    def __init__(self, data: bytes, pointer_size: int) -> None:
        self.data = data
        self.pos = 0
        self.pointer_size = pointer_size if pointer_size in (4, 8) else 8

    def _unpack(self, fmt: str, size: int) -> int | float | None:
        if self.pos + size > len(self.data):
            self.pos = len(self.data) + 1  # short: every later field is None too
            return None
        value: int | float = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += size
        return value

    def u8(self) -> int | None:
        return self._int("<B", 1)

    def u16(self) -> int | None:
        return self._int("<H", 2)

    def u32(self) -> int | None:
        return self._int("<I", 4)

    def u64(self) -> int | None:
        return self._int("<Q", 8)

    def i32(self) -> int | None:
        return self._int("<i", 4)

    def ptr(self) -> int | None:
        return self.u64() if self.pointer_size == 8 else self.u32()

    def f64(self) -> float | None:
        value = self._unpack("<d", 8)
        return None if value is None else float(value)

    def guid(self) -> bytes | None:
        if self.pos + 16 > len(self.data):
            self.pos = len(self.data) + 1
            return None
        value = self.data[self.pos : self.pos + 16]
        self.pos += 16
        return value

    def utf16z(self) -> str | None:
        text, self.pos = utf16z_at(self.data, self.pos)
        return text

    def _int(self, fmt: str, size: int) -> int | None:
        value = self._unpack(fmt, size)
        return None if value is None else int(value)


_Decoder = Callable[[_Cursor, int], Payload]


def _thread_sample(c: _Cursor, version: int) -> Payload:
    return ThreadSample(c.u32())


_TICK_HEAD = {8: struct.Struct("<IIHQQ"), 4: struct.Struct("<IIHQI")}
_TICK_TAIL = {8: struct.Struct("<IQQ"), 4: struct.Struct("<IIQ")}


def _allocation_tick(c: _Cursor, version: int) -> Payload:
    head, tail = _TICK_HEAD[c.pointer_size], _TICK_TAIL[c.pointer_size]
    data = c.data
    if version >= 4 and len(data) >= head.size + 2 + tail.size:  # fast path: one unpack each
        amount, kind, clr, amount64, type_id = head.unpack_from(data, 0)
        c.pos = head.size
        type_name = c.utf16z()
        if c.pos + tail.size <= len(data):
            heap, address, size = tail.unpack_from(data, c.pos)
            tick = AllocationTick(
                amount, kind, clr, amount64, type_id, type_name, heap, address, size
            )
            return tick
        c.pos = 0
    amount, kind, clr = c.u32(), c.u32(), c.u16()
    amount64 = c.u64()
    type_id = c.ptr()
    type_name, heap = c.utf16z(), c.u32()
    address = c.ptr()
    return AllocationTick(amount, kind, clr, amount64, type_id, type_name, heap, address, c.u64())


def allocation_tick_fields(payload: bytes, pointer_size: int) -> tuple[str | None, int, int | None]:
    """(type name, bytes, object size) of a GCAllocationTick without building a dataclass.

    Equal to the ``type_name``, ``bytes`` and ``object_size`` of ``decode``'s
    ``AllocationTick`` for the same payload (the allocation analysis reads only these).
    """
    size = pointer_size if pointer_size in (4, 8) else 8
    head = _TICK_HEAD[size]
    if len(payload) <= head.size:  # v0/v1 or short: the general decoder
        tick = _allocation_tick(_Cursor(payload, size), 0)
        assert isinstance(tick, AllocationTick)
        return tick.type_name, tick.bytes, tick.object_size
    _, _, _, amount64, type_id = head.unpack_from(payload, 0)
    start = head.size
    known = _TICK_NAMES.get(type_id)
    if known is not None and payload.startswith(known[0], start):
        name: str | None = known[1]
        pos = start + len(known[0])
    else:
        name, pos = utf16z_at(payload, start)
        if name is not None and pos <= len(payload) and len(_TICK_NAMES) < _NAMES_KEPT:
            _TICK_NAMES[type_id] = (payload[start:pos], name)
    tail = _TICK_TAIL[size]
    if pos + tail.size <= len(payload):
        return name, amount64, tail.unpack_from(payload, pos)[2]
    return name, amount64, None


def _contention_start(c: _Cursor, version: int) -> Payload:
    flags, clr = c.u8(), c.u16()
    # TraceEvent reads these as 8 bytes at fixed offsets whatever the pointer size.
    lock_id, obj, owner = c.u64(), c.u64(), c.u64()
    return ContentionStart(flags, clr, lock_id, obj, owner)


def _contention_stop(c: _Cursor, version: int) -> Payload:
    return ContentionStop(c.u8(), c.u16(), c.f64())


def _lock_created(c: _Cursor, version: int) -> Payload:
    return ContentionLockCreated(c.ptr(), c.ptr(), c.u16())


def _wait_start(c: _Cursor, version: int) -> Payload:
    return WaitHandleWaitStart(c.u8(), c.ptr(), c.u16())


def _wait_stop(c: _Cursor, version: int) -> Payload:
    return WaitHandleWaitStop(c.u16())


def _gc_start(c: _Cursor, version: int) -> Payload:
    if version == 0:
        return GCStart(c.u32(), reason=c.u32())
    return GCStart(c.u32(), c.u32(), c.u32(), c.u32(), c.u16(), c.u64())


def _gc_end(c: _Cursor, version: int) -> Payload:
    if version == 0:
        return GCEnd(c.u32(), c.u16())
    return GCEnd(c.u32(), c.u32(), c.u16())


def _suspend_begin(c: _Cursor, version: int) -> Payload:
    if version == 0:
        return GCSuspendEEBegin(c.u16())
    return GCSuspendEEBegin(c.u32(), c.u32(), c.u16())


def _restart_end(c: _Cursor, version: int) -> Payload:
    return GCRestartEEEnd(c.u16())


def _heap_stats(c: _Cursor, version: int) -> Payload:
    sizes: list[int | None] = []
    promoted: list[int | None] = []
    for _ in range(4):
        sizes.append(c.u64())
        promoted.append(c.u64())
    fin_size, fin_count = c.u64(), c.u64()
    pinned, sink, handles, clr = c.u32(), c.u32(), c.u32(), c.u16()
    if version >= 2:
        sizes.append(c.u64())
        promoted.append(c.u64())
    return GCHeapStats(
        tuple(sizes), tuple(promoted), fin_size, fin_count, pinned, sink, handles, clr
    )


def _method(c: _Cursor, version: int) -> Payload:
    # The three addresses are u64 even in 32-bit processes.
    ids = (c.u64(), c.u64(), c.u64())
    size, token, flags = c.u32(), c.u32(), c.u32()
    namespace, name, signature = c.utf16z(), c.utf16z(), c.utf16z()
    return MethodVerbose(*ids, size, token, flags, namespace, name, signature, c.u16(), c.u64())


def _module(c: _Cursor, version: int) -> Payload:
    module_id, assembly_id, flags = c.u64(), c.u64(), c.u32()
    c.u32()  # Reserved1
    il_path, native_path = c.utf16z(), c.utf16z()
    return ModuleInfo(module_id, assembly_id, flags, il_path, native_path, None, c.u16())


def _domain_module(c: _Cursor, version: int) -> Payload:
    module_id, assembly_id, domain_id, flags = c.u64(), c.u64(), c.u64(), c.u32()
    c.u32()  # Reserved1
    il_path, native_path = c.utf16z(), c.utf16z()
    return ModuleInfo(module_id, assembly_id, flags, il_path, native_path, domain_id, c.u16())


def _exception(c: _Cursor, version: int) -> Payload:
    type_name, message = c.utf16z(), c.utf16z()
    return ExceptionThrown(type_name, message, c.ptr(), c.u32(), c.u16(), c.u16())


def _process_info(c: _Cursor, version: int) -> Payload:
    return ProcessInfo(c.utf16z(), c.utf16z(), c.utf16z())


def _task_wait_begin(c: _Cursor, version: int) -> Payload:
    # EventSource field order (TplEventSource.TaskWaitBegin); the trace also names them.
    return TaskWaitBegin(c.i32(), c.i32(), c.i32(), c.i32(), c.i32())


def _task_wait_end(c: _Cursor, version: int) -> Payload:
    return TaskWaitEnd(c.i32(), c.i32(), c.i32())


def _pool_workers(c: _Cursor, version: int) -> Payload:
    return ThreadPoolWorkers(c.u32(), c.u32(), c.u16())


def _pool_adjustment(c: _Cursor, version: int) -> Payload:
    return ThreadPoolAdjustment(c.f64(), c.u32(), c.u32(), c.u16())


DECODERS: dict[tuple[str, int], _Decoder] = {
    (SAMPLER, 0): _thread_sample,
    (RUNTIME, 1): _gc_start,
    (RUNTIME, 2): _gc_end,
    (RUNTIME, 3): _restart_end,
    (RUNTIME, 4): _heap_stats,
    (RUNTIME, 9): _suspend_begin,
    (RUNTIME, 10): _allocation_tick,
    (RUNTIME, 50): _pool_workers,  # ThreadPoolWorkerThreadStart
    (RUNTIME, 51): _pool_workers,  # ThreadPoolWorkerThreadStop
    (RUNTIME, 55): _pool_adjustment,  # ThreadPoolWorkerThreadAdjustmentAdjustment
    (RUNTIME, 80): _exception,
    (RUNTIME, 81): _contention_start,
    (RUNTIME, 90): _lock_created,
    (RUNTIME, 91): _contention_stop,
    (RUNTIME, 143): _method,  # MethodLoadVerbose
    (RUNTIME, 144): _method,  # MethodUnloadVerbose
    (RUNTIME, 151): _domain_module,  # DomainModuleLoad
    (RUNTIME, 152): _module,  # ModuleLoad
    (RUNTIME, 153): _module,  # ModuleUnload
    (RUNTIME, 301): _wait_start,
    (RUNTIME, 302): _wait_stop,
    (RUNDOWN, 143): _method,  # MethodDCStartVerbose
    (RUNDOWN, 144): _method,  # MethodDCEndVerbose
    (RUNDOWN, 151): _domain_module,  # DomainModuleDCStart
    (RUNDOWN, 152): _domain_module,  # DomainModuleDCEnd
    (RUNDOWN, 153): _module,  # ModuleDCStart
    (RUNDOWN, 154): _module,  # ModuleDCEnd
    (EVENTPIPE, 1): _process_info,
    (TPL, 10): _task_wait_begin,
    (TPL, 11): _task_wait_end,
}
"""Every (provider, event id) this module decodes; the version selects the layout inside."""


def decode(
    provider: str, event_id: int, version: int, payload: bytes, pointer_size: int = 8
) -> Payload | None:
    """Decodes one event payload, or returns None for an event this module does not know.

    Args:
        provider: the provider name, e.g. ``Microsoft-Windows-DotNETRuntime``.
        event_id: the event id within the provider.
        version: the event version from the metadata (selects the template).
        payload: the raw payload bytes.
        pointer_size: 4 or 8, from the trace header (pointer-sized fields).

    Returns:
        A dataclass whose trailing fields are None when the payload was shorter than the
        template; None when the event is unknown or the payload is unusable.
    """
    decoder = DECODERS.get((provider, event_id))
    if decoder is None:
        return None
    try:
        return decoder(_Cursor(payload, pointer_size), version)
    except (struct.error, ValueError, UnicodeDecodeError):  # garbled: never raise
        return None


def sample_type(payload: bytes) -> int:
    """The ThreadSample type without building an object (the hot loop of every CPU pass)."""
    return int.from_bytes(payload[:4], "little") if len(payload) >= 4 else SAMPLE_ERROR
