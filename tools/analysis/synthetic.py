"""Builds synthetic traces with known content (planted scenarios, benchmarks).

Wraps the nettrace writer with payload encoders for the CLR events the analyses read, and a
tiny code map so stacks can be written as method names: each method gets an address range and
the rundown (MethodDCEndVerbose + ModuleDCEnd) is written at the end, as the runtime does.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from types import TracebackType

from tools.nettrace.payloads import RUNDOWN, RUNTIME, SAMPLE_EXTERNAL, SAMPLE_MANAGED, SAMPLER
from tools.nettrace.writer import NetTraceWriter

CODE_BASE = 0x7FF0_0000_0000
METHOD_SIZE = 0x400
MODULE_ID_BASE = 0x1000


def utf16z(text: str) -> bytes:
    """UTF-16LE with the NUL terminator."""
    return text.encode("utf-16-le") + b"\x00\x00"


def thread_sample(managed: bool) -> bytes:
    """ThreadSample payload."""
    return struct.pack("<I", SAMPLE_MANAGED if managed else SAMPLE_EXTERNAL)


def allocation_tick_v4(amount: int, type_name: str, object_size: int, kind: int = 0) -> bytes:
    """GCAllocationTick_V4 payload."""
    # One TypeID per type, as the runtime's MethodTable pointers are.
    type_id = 0x7FFE_0000_0000 + (zlib.crc32(type_name.encode()) << 4)
    head = struct.pack("<IIHQQ", amount & 0xFFFFFFFF, kind, 9, amount, type_id)
    return head + utf16z(type_name) + struct.pack("<IQQ", 0, 0x2000_0000, object_size)


def contention_start_v2(lock_id: int, owner_thread_id: int) -> bytes:
    """ContentionStart_V2 payload."""
    return struct.pack("<BHQQQ", 0, 9, lock_id, lock_id + 0x100, owner_thread_id)


def contention_stop_v1(duration_ns: float) -> bytes:
    """ContentionStop_V1 payload."""
    return struct.pack("<BHd", 0, 9, duration_ns)


def gc_start_v2(count: int, generation: int, reason: int = 0) -> bytes:
    """GCStart_V2 payload."""
    return struct.pack("<IIIIHQ", count, generation, reason, 0, 9, 0)


def gc_end_v1(count: int, generation: int) -> bytes:
    """GCEnd_V1 payload."""
    return struct.pack("<IIH", count, generation, 9)


def method_verbose_v1(start: int, module_id: int, full_type: str, name: str, args: str) -> bytes:
    """MethodDCEndVerbose v1 payload (signature written as ``void  (args)``)."""
    head = struct.pack("<QQQIII", start, module_id, start, METHOD_SIZE, 0x06000001, 0)
    strings = utf16z(full_type) + utf16z(name) + utf16z(f"void  ({args})")
    return head + strings + struct.pack("<H", 9)


def module_dcend(module_id: int, il_path: str) -> bytes:
    """ModuleDCEnd v2 payload, every field of the version (no PDB: zero GUIDs, empty paths).

    TraceEvent reads the PDB fields of a v2 event when it builds its module table, so a payload
    that stops after ClrInstanceID is "reading past end of event" there.
    """
    head = struct.pack("<QQII", module_id, 1, 0, 0) + utf16z(il_path) + utf16z("")
    no_pdb = bytes(16) + struct.pack("<I", 0) + utf16z("")  # signature GUID, age, build path
    return head + struct.pack("<H", 9) + no_pdb + no_pdb  # managed PDB, then native PDB


class SyntheticTrace:
    """A V4 trace written event by event, stacks given as method names (root first).

    Args:
        path: where to write.
        qpc_frequency: timestamp ticks per second (timestamps are passed in ticks).
        block_size / sequence_point_every / version: passed to the writer (version 4 or 6).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        qpc_frequency: int = 10_000_000,
        block_size: int = 100_000,
        sequence_point_every: int = 10,
        version: int = 4,
    ) -> None:
        self.writer = NetTraceWriter(
            path,
            version,
            qpc_frequency=qpc_frequency,
            block_size=block_size,
            sequence_point_every=sequence_point_every,
        )
        self._ids: dict[tuple[str, int, int], int] = {}
        self._methods: dict[str, int] = {}
        self._modules: dict[str, int] = {}
        self._stacks: dict[tuple[str, ...], tuple[int, ...]] = {}
        self.last_timestamp = 0

    def __enter__(self) -> SyntheticTrace:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def stack(self, names: tuple[str, ...]) -> tuple[int, ...]:
        """IPs (leaf first) for ``module!Type.Method(args)`` names given root first."""
        ips = self._stacks.get(names)
        if ips is None:
            ips = tuple(self._ip(name) for name in reversed(names))
            self._stacks[names] = ips
        return ips

    def event(
        self,
        provider: str,
        event_id: int,
        version: int,
        tid: int,
        ts: int,
        payload: bytes,
        stack: tuple[str, ...] = (),
    ) -> None:
        """Writes one event of any kind."""
        key = (provider, event_id, version)
        mid = self._ids.get(key)
        if mid is None:
            mid = self._ids[key] = self.writer.define_event(provider, event_id, version)
        ips = self.stack(stack) if stack else ()
        self.last_timestamp = max(self.last_timestamp, ts)
        self.writer.write_event(mid, thread_id=tid, timestamp=ts, stack=ips, payload=payload)

    def sample(self, tid: int, ts: int, stack: tuple[str, ...], *, managed: bool = True) -> None:
        """A SampleProfiler ThreadSample."""
        self.event(SAMPLER, 0, 0, tid, ts, thread_sample(managed), stack)

    def allocation(
        self, tid: int, ts: int, stack: tuple[str, ...], type_name: str, amount: int, size: int
    ) -> None:
        """A GCAllocationTick_V4."""
        self.event(RUNTIME, 10, 4, tid, ts, allocation_tick_v4(amount, type_name, size), stack)

    def contention(
        self, tid: int, ts: int, stack: tuple[str, ...], lock_id: int, owner: int
    ) -> None:
        """A ContentionStart_V2 (the stop is :meth:`contention_stop`)."""
        self.event(RUNTIME, 81, 2, tid, ts, contention_start_v2(lock_id, owner), stack)

    def contention_stop(self, tid: int, ts: int, duration_ns: float) -> None:
        """A ContentionStop_V1."""
        self.event(RUNTIME, 91, 1, tid, ts, contention_stop_v1(duration_ns))

    def close(self) -> None:
        """Writes the rundown (method and module names) and closes the file."""
        end = self.last_timestamp  # rundown comes last, stamped at the end of the session
        # The runtime's rundown sends the methods before their module (DCEnd order); TraceEvent
        # names the modules of a rundown written the other way round in lower case.
        for name, start in self._methods.items():
            module, method = name.split("!", 1)
            full, args = method.split("(", 1)
            full_type, short = full.rsplit(".", 1)
            module_id = self._modules[f"/app/{module}.dll"]
            payload = method_verbose_v1(start, module_id, full_type, short, args.rstrip(")"))
            self.event(RUNDOWN, 144, 1, 1, end, payload)
        for il_path, module_id in self._modules.items():
            self.event(RUNDOWN, 154, 2, 1, end, module_dcend(module_id, il_path))
        self.writer.close()

    def _ip(self, name: str) -> int:
        start = self._methods.get(name)
        if start is None:
            start = CODE_BASE + METHOD_SIZE * len(self._methods)
            self._methods[name] = start
            module = f"/app/{name.split('!', 1)[0]}.dll"
            self._modules.setdefault(module, MODULE_ID_BASE + len(self._modules))
        return start + 0x10
