"""The reader's compact sample path, per-metadata counts and time range match a plain read."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tools.nettrace.model import EventMetadata
from tools.nettrace.reader import Compact, open_trace
from tools.nettrace.writer import NetTraceWriter

SAMPLER = "Microsoft-DotNETCore-SampleProfiler"
RUNTIME = "Microsoft-Windows-DotNETRuntime"
Record = tuple[int, int, tuple[int, ...], int]


def _write(path: Path, version: int, compressed: bool) -> None:
    rng = random.Random(version * 10 + compressed)
    stacks = [tuple(0x7F00_0000 + rng.randrange(500) * 16 for _ in range(20)) for _ in range(40)]
    with NetTraceWriter(
        path, version=version, compressed=compressed, block_size=4000, sequence_point_every=3
    ) as w:
        sample = w.define_event(SAMPLER, 0, 0)
        alloc = w.define_event(RUNTIME, 10, 4)
        other = w.define_event(RUNTIME, 1, 2)
        for i in range(1500):
            tid = 100 + rng.randrange(6)
            # Payloads cover every ThreadSample type, an out-of-range byte and an empty payload.
            payload = [b"\x01\x00\x00\x00", b"\x02\x00\x00\x00", b"\x07", b""][i % 4]
            w.write_event(
                sample, thread_id=tid, timestamp=1000 + i * 7, stack=rng.choice(stacks),
                payload=payload, capture_thread_id=99,
            )  # fmt: skip
            if i % 9 == 0:
                w.write_event(
                    alloc, thread_id=tid, timestamp=1003 + i * 7, stack=rng.choice(stacks),
                    payload=bytes([i % 251]) * 30,
                )  # fmt: skip
            if i % 50 == 0:
                w.write_event(other, thread_id=tid, timestamp=1004 + i * 7, payload=b"y")


def _is_sample(meta: EventMetadata) -> bool:
    return meta.provider == SAMPLER


@pytest.fixture(params=[(4, True), (6, True), (4, False), (6, False)], ids=str)
def trace(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    version, compressed = request.param
    path = tmp_path / "t.nettrace"
    _write(path, version, compressed)
    return path


def _compact_read(path: Path) -> tuple[list[Record], list[str], list[tuple[int, ...]]]:
    stacks: list[tuple[int, ...]] = []
    records: dict[int, tuple[list[int], list[int], list[int]]] = {}

    def intern(stack: tuple[int, ...]) -> int:
        stacks.append(stack)
        return len(stacks) - 1

    def appenders(tid: int):  # type: ignore[no-untyped-def]
        lists = records.setdefault(tid, ([], [], []))  # asked again after each sequence point
        return lists[0].append, lists[1].append, lists[2].append

    compact = Compact(_is_sample, intern, appenders, bytes(range(256)))
    with open_trace(path) as trace:
        others = [ev.provider for ev in trace.events(compact=compact)]
    flat = [
        (tid, ts, stacks[sid], value)
        for tid, (tss, sids, values) in records.items()
        for ts, sid, value in zip(tss, sids, values, strict=True)
    ]
    return sorted(flat, key=lambda r: (r[0], r[1])), others, stacks


def test_compact_records_match_the_events_a_plain_read_yields(trace: Path) -> None:
    """Every sample arrives as (thread, timestamp, stack, first payload byte), none as Event."""
    with open_trace(trace) as tf:
        events = list(tf.events())
    expected = sorted(
        (ev.thread_id, ev.timestamp, ev.stack, ev.payload[0] if ev.payload else 0)
        for ev in events
        if ev.provider == SAMPLER
    )
    records, others, _ = _compact_read(trace)
    assert records == expected
    assert others == [ev.provider for ev in events if ev.provider != SAMPLER]
    assert {r[3] for r in records} == {0, 1, 2, 7}


def test_compact_interns_each_distinct_stack_once(trace: Path) -> None:
    """Stack ids restart at sequence points, yet the caller sees each distinct stack once."""
    _, _, stacks = _compact_read(trace)
    assert len(stacks) == len(set(stacks))


def test_counts_and_time_range_cover_skipped_events(trace: Path) -> None:
    """event_counts/time_range include events that select skipped, as a full read sees them."""
    with open_trace(trace) as tf:
        events = list(tf.events())
    with open_trace(trace) as tf:
        assert list(tf.events(lambda meta: False)) == []
        counts = Counter({(m.provider, m.event_id): n for m, n in tf.event_counts()})
        assert tf.time_range == (
            min(ev.timestamp for ev in events),
            max(ev.timestamp for ev in events),
        )
    assert counts == Counter((ev.provider, ev.event_id) for ev in events)
    assert sum(counts.values()) == 1500 + 167 + 30


def test_truncated_compact_read_keeps_the_complete_blocks(tmp_path: Path) -> None:
    """A cut file gives the samples of its complete blocks, counted like a plain read."""
    path = tmp_path / "t.nettrace"
    _write(path, 4, True)
    cut = tmp_path / "cut.nettrace"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with open_trace(cut) as tf:
        plain = sum(1 for ev in tf.events() if ev.provider == SAMPLER)
    records, _, _ = _compact_read(cut)
    with open_trace(cut) as tf:
        list(tf.events(lambda meta: False))
        assert tf.stats.truncated
        counted = sum(n for m, n in tf.event_counts() if m.provider == SAMPLER)
    assert 0 < len(records) == plain == counted < 1500


def test_compact_value_table_maps_the_first_payload_byte(tmp_path: Path) -> None:
    """``values`` translates the first payload byte (empty payload = byte 0)."""
    path = tmp_path / "t.nettrace"
    _write(path, 4, True)
    seen: list[int] = []
    table = bytes(b + 10 if b < 8 else 0 for b in range(256))
    compact = Compact(_is_sample, lambda s: 0, lambda t: (int, int, seen.append), table)
    with open_trace(path) as tf:
        list(tf.events(compact=compact))
    assert Counter(seen) == {11: 375, 12: 375, 17: 375, 10: 375}


def _discard(tid: int) -> tuple[Callable[[int], None], ...]:
    return ([].append, [].append, [].append)


def test_row_sinks_get_stack_and_payload_in_file_order(trace: Path) -> None:
    """Events with a row sink arrive as (caller's stack id, payload), in order, never as Event."""
    with open_trace(trace) as tf:
        plain = [(ev.stack, ev.payload) for ev in tf.events() if ev.event_id == 10]
    stacks: list[tuple[int, ...]] = []
    rows: list[tuple[int, bytes]] = []

    def intern(stack: tuple[int, ...]) -> int:
        if stack not in stacks:
            stacks.append(stack)
        return stacks.index(stack)

    def sink(meta: EventMetadata) -> Callable[[int, bytes], None] | None:
        return (lambda sid, payload: rows.append((sid, payload))) if meta.event_id == 10 else None

    compact = Compact(_is_sample, intern, _discard, rows=sink)
    with open_trace(trace) as tf:
        yielded = [ev.event_id for ev in tf.events(compact=compact)]
    assert 10 not in yielded and yielded
    assert [(stacks[sid], payload) for sid, payload in rows] == plain


def test_region_end_comes_at_every_sequence_point(trace: Path) -> None:
    """The caller hears of each sequence point, and is asked for fresh columns after it."""
    ends: list[int] = []
    asked: list[int] = []

    def appenders(tid: int) -> tuple[Callable[[int], None], ...]:
        asked.append(len(ends))
        return _discard(tid)

    compact = Compact(_is_sample, lambda s: 0, appenders, region_end=lambda: ends.append(1))
    with open_trace(trace) as tf:
        list(tf.events(compact=compact))
        points = tf.stats.blocks.get("SPBlock", 0)
    assert points >= 1 and len(ends) == points
    assert len(set(asked)) > points  # columns asked for again in every region
