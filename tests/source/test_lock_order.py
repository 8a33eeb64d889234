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
