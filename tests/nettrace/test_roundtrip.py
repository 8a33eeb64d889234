"""Random traces written by our writer (V4 compressed/uncompressed, V6) read back identical."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.nettrace.model import FieldDef
from tools.nettrace.reader import decode_fields, open_trace, read_all
from tools.nettrace.writer import NetTraceWriter

LAYOUTS = [(4, True), (4, False), (6, True), (6, False)]
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=10
)
GUID = st.none() | st.binary(min_size=16, max_size=16).filter(any)
FIELD_SETS = [
    (),
    (FieldDef("count", 9), FieldDef("name", 18)),
    (FieldDef("values", 19, element=FieldDef("values", 12)), FieldDef("flag", 3)),
    (FieldDef("outer", 1, fields=(FieldDef("x", 7), FieldDef("y", 14))),),
]


@dataclass(frozen=True)
class Meta:
    provider: str
    event_id: int
    version: int
    name: str
    keywords: int
    level: int
    opcode: int | None
    fields: tuple[FieldDef, ...]


@dataclass(frozen=True)
class Ev:
    meta: int
    thread: int
    capture: int | None
    processor: int
    timestamp: int
    stack: tuple[int, ...]
    payload: bytes
    activity: bytes | None
    related: bytes | None


METAS = st.builds(
    Meta,
    provider=TEXT,
    event_id=st.integers(0, 65535),
    version=st.integers(0, 255),
    name=TEXT,
    keywords=st.integers(0, 2**64 - 1),
    level=st.integers(0, 255),
    opcode=st.none() | st.integers(0, 255),
    fields=st.sampled_from(FIELD_SETS),
)
EVENTS = st.builds(
    Ev,
    meta=st.integers(0, 3),
    thread=st.integers(0, 2**64 - 1) | st.integers(1, 20),
    capture=st.none() | st.integers(1, 20),
    processor=st.integers(0, 2**32 - 1) | st.just(0),
    timestamp=st.integers(-(2**63), 2**63 - 1) | st.integers(0, 10**6),
    stack=st.lists(st.integers(0, 2**32 - 1), max_size=6).map(tuple),
    payload=st.binary(max_size=40),
    activity=GUID,
    related=GUID,
)


def _write(
    layout: tuple[int, bool],
    metas: list[Meta],
    events: list[Ev],
    block_size: int,
    sp_every: int,
) -> bytes:
    version, compressed = layout
    buf = io.BytesIO()
    with NetTraceWriter(
        buf,
        version=version,
        compressed=compressed,
        pointer_size=4,
        process_id=77,
        qpc_frequency=1_000_000_000,
        sync_time_utc=datetime(2025, 3, 4, 5, 6, 7, 8000),
        block_size=block_size,
        sequence_point_every=sp_every,
    ) as writer:
        ids = [
            writer.define_event(
                m.provider, m.event_id, m.version, m.name, m.fields, m.keywords, m.level, m.opcode
            )
            for m in metas
        ]
        for e in events:
            writer.write_event(
                ids[e.meta % len(ids)],
                thread_id=e.thread,
                capture_thread_id=e.capture,
                processor=e.processor,
                timestamp=e.timestamp,
                stack=e.stack,
                payload=e.payload,
                activity_id=e.activity,
                related_activity_id=e.related,
            )
    return buf.getvalue()


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda x: f"v{x[0]}-{'c' if x[1] else 'u'}")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    metas=st.lists(METAS, min_size=1, max_size=4),
    events=st.lists(EVENTS, max_size=40),
    block_size=st.sampled_from([1, 64, 100_000]),
    sp_every=st.integers(0, 3),
)
def test_random_events_round_trip(
    tmp_path_factory: pytest.TempPathFactory,
    layout: tuple[int, bool],
    metas: list[Meta],
    events: list[Ev],
    block_size: int,
    sp_every: int,
) -> None:
    """Every header field, stack, payload and metadata attribute survives write + read."""
    path = tmp_path_factory.mktemp("rt") / "t.nettrace"
    path.write_bytes(_write(layout, metas, events, block_size, sp_every))
    info, got, stats = read_all(path)
    assert (info.process_id, info.pointer_size, info.qpc_frequency) == (77, 4, 1_000_000_000)
    assert info.sync_time_utc == datetime(2025, 3, 4, 5, 6, 7, 8000)
    assert not stats.truncated and stats.events == len(events) == len(got)
    sequences: dict[int, int] = {}
    for want, have in zip(events, got, strict=True):
        meta = metas[want.meta % len(metas)]
        md = have.metadata
        assert (md.provider, md.event_id, md.version, md.event_name) == (
            meta.provider,
            meta.event_id,
            meta.version,
            meta.name,
        )
        assert (md.keywords, md.level, md.opcode, md.fields) == (
            meta.keywords,
            meta.level,
            meta.opcode,
            meta.fields,
        )
        capture = want.thread if want.capture is None else want.capture
        sequences[capture] = sequences.get(capture, 0) + 1
        assert (have.thread_id, have.capture_thread_id, have.sequence) == (
            want.thread,
            capture,
            sequences[capture],
        )
        assert (have.processor, have.timestamp, have.stack, have.payload) == (
            want.processor,
            want.timestamp,
            want.stack,
            want.payload,
        )
        assert (have.activity_id, have.related_activity_id) == (want.activity, want.related)


@pytest.mark.parametrize("version", [4, 6])
def test_fields_written_are_decoded(tmp_path: Path, version: int) -> None:
    """decode_fields reads back values of every field shape the writer can describe."""
    path = tmp_path / "f.nettrace"
    fields = FIELD_SETS[1] + FIELD_SETS[2] + FIELD_SETS[3]
    payload = (
        (-5).to_bytes(4, "little", signed=True)
        + "héllo".encode("utf-16-le")
        + b"\0\0"
        + (2).to_bytes(2, "little")
        + (7).to_bytes(8, "little")
        + (2**64 - 1).to_bytes(8, "little")
        + (1).to_bytes(4, "little")
        + (-3).to_bytes(2, "little", signed=True)
        + b"\x00\x00\x00\x00\x00\x00\xe0\x3f"
    )
    with NetTraceWriter(path, version=version) as writer:
        mid = writer.define_event("P", 1, 0, "E", fields)
        writer.write_event(mid, thread_id=1, payload=payload)
        writer.write_event(mid, thread_id=1, payload=payload[:6])
    with open_trace(path) as trace:
        full, short = list(trace.events())
    assert decode_fields(full.metadata, full.payload, 8) == {
        "count": -5,
        "name": "héllo",
        "values": [7, 2**64 - 1],
        "flag": True,
        "outer": {"x": -3, "y": 0.5},
    }
    assert decode_fields(short.metadata, short.payload, 8) == {"count": -5, "name": "h"}
