"""What each scenario of the sample target (examples/flushlab) seeds, and how a report is judged.

Shared by the real tier (tests/real/test_sample_target.py) and the seeded-bug evaluation
(bench/bench_seeded.py), so both judge a report the same way. A report *finds* its seed when
every expected piece of evidence is in the section an engineer would read it in; a *false
finding* is a problem the report claims that the scenario did not seed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HOT = "Hot Paths & CPU Time"
ALLOC = "Allocations"
CONTENTION = "Contention & Deadlocks"
RECOMMENDATIONS = "Recommendations"

DEADLOCK_CLAIM = re.compile(
    r"\*\*Verdict: lock-order deadlock|\*\*(a )?deadlock (is )?suspected", re.I
)
RECOMMENDATION_ITEM = re.compile(r"^\d+\. ", re.MULTILINE)
"""A ranked recommendation as the report prints it ("1. **`file:line`** (kind, rule …")."""
HANG_CLAIM = re.compile(
    r"\*\*Verdict: (lock-order deadlock|async hang|sync-over-async starvation)", re.I
)


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence: a pattern that must appear in one section of the report."""

    section: str
    pattern: str
    what: str

    def seen(self, sections: dict[str, str]) -> bool:
        """True when the section holds the pattern."""
        return re.search(self.pattern, sections.get(self.section, ""), re.IGNORECASE) is not None


@dataclass(frozen=True)
class Seed:
    """One scenario: the question a user would ask, the evidence a report must carry."""

    scenario: str
    question: str
    evidence: tuple[Evidence, ...]
    claims_allowed: frozenset[str] = field(default_factory=frozenset)
    pending: str | None = None
    """Why the product cannot find this seed yet (the test is an expected failure until then)."""


def _ev(section: str, pattern: str, what: str) -> Evidence:
    return Evidence(section, pattern, what)


SEEDS: dict[str, Seed] = {
    seed.scenario: seed
    for seed in (
        Seed(
            "hot",
            "where does the CPU time go in the hot scenario?",
            (
                _ev(
                    HOT,
                    r"Crc32Naive\.Compute[^|\n]*\|\s*[1-9]\d\.\d+",
                    "the naive CRC and its share",
                ),
            ),
        ),
        Seed(
            "alloc",
            "does the producer allocate per message in the alloc scenario?",
            (
                _ev(ALLOC, r"EncodeRecord", "the per-message allocation site"),
                _ev(ALLOC, r"System\.Byte\[\]", "the per-message type"),
                _ev(ALLOC, r"per-message: [1-9]|classified as per-message: [1-9]", "the verdict"),
            ),
            frozenset({"per-message"}),
        ),
        Seed(
            "lock",
            "is there lock contention in the lock scenario?",
            (
                _ev(CONTENTION, r"AppendUnderGlobalLock", "the lock site"),
                _ev(CONTENTION, r"\d[\d,]* lock waits", "the number of waits"),
            ),
            frozenset({"lock-waits"}),
        ),
        Seed(
            "deadlock",
            "is there a deadlock in flush? scenario deadlock",
            (
                _ev(CONTENTION, DEADLOCK_CLAIM.pattern, "the deadlock"),
                _ev(
                    CONTENTION,
                    r"threads \d+ and \d+ each wait for a lock the other",
                    "both threads",
                ),
                _ev(CONTENTION, r"lock 0x[0-9a-f]+[^\n]*\n[^\n]*lock 0x[0-9a-f]+", "both locks"),
                _ev(CONTENTION, r"SealAllUnderBatchLock|WakeForFlush", "the flush side"),
                _ev(CONTENTION, r"DrainOnce|TakeReady", "the sender side"),
            ),
            frozenset({"deadlock", "lock-waits"}),
        ),
        Seed(
            "async-hang",
            "is there a deadlock in flush? scenario async-hang",
            (
                _ev(CONTENTION, r"\*\*Verdict: async hang", "the verdict"),
                _ev(CONTENTION, r"FlushAsync|ParkFlushWaiter", "the await that never completed"),
            ),
            frozenset({"hang"}),
        ),
        Seed(
            "sync-over-async",
            "is there a deadlock in flush? scenario sync-over-async",
            (
                _ev(CONTENTION, r"\*\*Verdict: sync-over-async starvation", "the verdict"),
                _ev(CONTENTION, r"ProduceBlocking", "where the pool threads block"),
            ),
            frozenset({"hang", "lock-waits"}),
        ),
        Seed(
            "healthy",
            "is there a deadlock in flush? scenario healthy",
            (_ev(CONTENTION, r"\*\*Verdict: no hang", "the no-hang verdict"),),
        ),
    )
}


def missing_evidence(seed: Seed, sections: dict[str, str]) -> list[str]:
    """What the report lacks of the seed's evidence (empty: the seed was found)."""
    return [f"{e.what} ({e.section})" for e in seed.evidence if not e.seen(sections)]


def false_findings(seed: Seed, sections: dict[str, str]) -> list[str]:
    """Problems the report claims that this scenario did not seed."""
    contention = sections.get(CONTENTION, "")
    claims = []
    if "deadlock" not in seed.claims_allowed and DEADLOCK_CLAIM.search(contention):
        claims.append("claims a deadlock")
    if "hang" not in seed.claims_allowed and "deadlock" not in seed.claims_allowed:
        if HANG_CLAIM.search(contention):
            claims.append("claims a hang")
    if "per-message" not in seed.claims_allowed:
        if re.search(r"classified as per-message: [1-9]", sections.get(ALLOC, "")):
            claims.append("claims a per-message allocation")
    if seed.scenario == "healthy" and RECOMMENDATION_ITEM.search(sections.get(RECOMMENDATIONS, "")):
        claims.append("recommends a change on the control")
    return claims
