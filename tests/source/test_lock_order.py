"""A lock-order deadlock is recommended as one: at the lock taken while holding the other, citing
the target's own lock-order rule, and not at the threads that merely queue behind the cycle."""

from __future__ import annotations

from pathlib import Path

from tools.analysis.analyze import analyze_trace_file
from tools.source.recommend import recommend

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = REPO_ROOT / "examples" / "flushlab"
DEADLOCK = REPO_ROOT / "tests" / "fixtures" / "hang" / "flushlab-deadlock.nettrace.zip"


def test_the_cycle_is_broken_where_a_lock_is_taken_under_the_other() -> None:
    analysis = analyze_trace_file(DEADLOCK, target_prefix="FlushLab.")
    assert analysis.hang_verdict is not None and analysis.hang_verdict.kind == "lock_order_deadlock"
    found = recommend(analysis.model_dump(mode="json"), SAMPLE, target_prefix="FlushLab.")
    deadlock = [r for r in found.recommendations if r.kind == "deadlock"]
    assert deadlock and all(r.rule == "lock-order" for r in deadlock)
    first = deadlock[0]
    assert first.file == "src/FlushLab/Producer/SenderLoop.cs"
    assert "lock (_sendLock)" in first.text and "WakeForFlush" in first.text
    assert first.rule_source.startswith("CLAUDE.md:21: Lock order: `_sendLock` before")
    # The producers blocked behind the cycle (QueueOrDiscard) are its consequence.
    assert not any("QueueOrDiscard" in r.text for r in found.recommendations)


def test_a_lock_met_once_in_a_window_is_not_a_change_to_make() -> None:
    """The healthy control: one 2 ms wait at a once-per-batch lock in an 8 s trace is below 1 %
    of the window, so no recommendation (a note says why) — with or without the source."""
    analysis = analyze_trace_file(
        REPO_ROOT / "tests" / "fixtures" / "hang" / "flushlab-healthy.nettrace.zip",
        target_prefix="FlushLab.",
    ).model_dump(mode="json")
    analysis["contention"]["top"] = [
        {"site": "FlushLab.Producer.RecordAccumulator.QueueOrDiscard(class FlushLab.Producer."
         "RecordBatch)", "events": 1, "total_ms": 2.0, "max_ms": 2.0,
         "frames": ["FlushLab.Producer.RecordAccumulator.QueueOrDiscard(class FlushLab.Producer."
                    "RecordBatch)"]}
    ]  # fmt: skip
    analysis["contention"]["total_ms"] = 2.0
    linked = recommend(analysis, SAMPLE, target_prefix="FlushLab.")
    assert not [r for r in linked.recommendations if r.kind == "contention"]
    assert any("too little to act on" in note for note in linked.notes)
    alone = recommend(analysis, None, target_prefix="FlushLab.")
    assert not [r for r in alone.recommendations if r.kind == "contention"]
