"""link_and_recommend: an analysis dict + the fixture repo -> file:line links and changes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools.analysis.markdown import recommendation_lines
from tools.analysis.results import (
    AllocationSection,
    AllocationSite,
    ContentionSection,
    CpuSection,
    DeadlockEvidence,
    DeadlockSection,
    MethodStat,
    TypeAllocation,
    WaitSite,
)
from tools.source.findings import PRINTED_RECOMMENDATIONS, recommendation_dict
from tools.source.recommend import link_and_recommend

RA = "src/Dekaf/Producer/RecordAccumulator.cs"
BS = "src/Dekaf/Producer/BrokerSender.cs"
SPAN = "value class System.ReadOnlySpan`1<unsigned int8>"
TRY_APPEND = f"Dekaf!Dekaf.Producer.RecordAccumulator.TryAppend(int64,{SPAN},{SPAN})"
SEND_LOOP = "Dekaf!Dekaf.Producer.BrokerSender+<SendLoopAsync>d__42.MoveNext()"
PRODUCE = "Dekaf!Dekaf.Producer.KafkaProducer`2[System.__Canon,System.__Canon].ProduceAsync(!0,!1)"
MEMMOVE = "System.Private.CoreLib!System.Buffer.Memmove(uint8&,uint8&,native unsigned int)"
MAIN = "Dekaf.StressTests!Dekaf.StressTests.Program.Main(class System.String[])"


def _analysis() -> dict[str, Any]:
    """What `pta analyze --json` reports for a producer trace hot in TryAppend."""
    cpu = CpuSection(
        collected=True,
        samples=1000,
        top_self=[
            MethodStat(name=TRY_APPEND, percent=37.0, samples=370),
            MethodStat(name=MEMMOVE, percent=12.0, samples=120),
            MethodStat(name=SEND_LOOP, percent=6.5, samples=65),
        ],
        top_inclusive=[
            MethodStat(name=MAIN, percent=100.0, samples=1000),
            MethodStat(name=PRODUCE, percent=61.0, samples=610),
        ],
    )
    allocations = AllocationSection(
        collected=True,
        by_type=[TypeAllocation(type="System.Byte[]", bytes=5_000_000, ticks=50, percent=90.0)],
        by_site=[
            AllocationSite(
                frames=[MAIN, PRODUCE, TRY_APPEND, "System.Private.CoreLib!System.GC.Alloc"],
                target_frame=TRY_APPEND,
                types=["System.Byte[]"],
                bytes=5_000_000,
                ticks=50,
                percent=90.0,
                bytes_per_message=1000.0,
                classification="per-message",
            )
        ],
        messages=5000,
    )
    lock_site = WaitSite(
        frames=[MAIN, PRODUCE, TRY_APPEND], site=TRY_APPEND, events=40, total_ms=85.0, max_ms=9.5
    )
    contention = ContentionSection(collected=True, events=40, top=[lock_site])
    deadlock = DeadlockSection(
        suspected=True,
        evidence=[
            DeadlockEvidence(
                kind="long_wait",
                threads=[7],
                message="thread 7 waited 10.0 s (the whole window)",
                stacks=[[MAIN, SEND_LOOP, "System.Private.CoreLib!System.Threading.Monitor.Wait"]],
            )
        ],
    )
    return {
        "cpu": cpu.model_dump(),
        "allocations": allocations.model_dump(),
        "contention": contention.model_dump(),
        "deadlock": deadlock.model_dump(),
    }


LineOf = Callable[[str, str], int]


def test_target_frames_link_to_their_declarations(repo: Path, line_of_text: LineOf) -> None:
    """Hot, allocating and contended target frames get file:line; runtime frames do not."""
    result = link_and_recommend(_analysis(), repo)
    assert result.location(TRY_APPEND) == f"{RA}:{line_of_text(RA, 'public bool TryAppend(long')}"
    assert result.location(SEND_LOOP) == f"{BS}:{line_of_text(BS, 'async Task SendLoopAsync')}"
    assert result.location(PRODUCE) is not None
    assert result.location(MEMMOVE) is None and result.location(MAIN) is None


def test_allocation_recommendation_names_the_allocating_line(
    repo: Path, line_of_text: LineOf
) -> None:
    """The per-message byte[] site points at `new byte[` and cites the zero-allocation rule."""
    result = link_and_recommend(_analysis(), repo)
    first = next(r for r in result.recommendations if r.kind == "allocation")
    line = line_of_text(RA, "new byte[value.Length]")
    assert (first.kind, first.file, first.line) == ("allocation", RA, line)
    assert first.text.startswith(f"RecordAccumulator.cs:{line} allocates `byte[]` per message")
    assert "ArrayPool" in first.text
    assert first.rule_source.startswith("CLAUDE.md:") and "Zero allocation" in first.rule_source
    assert f"> {line} |" in first.excerpt


def test_contention_and_deadlock_recommendations(repo: Path, line_of_text: LineOf) -> None:
    """The contended method's lock and the blocked thread's .Wait()/.Result are named."""
    recs = link_and_recommend(_analysis(), repo).recommendations
    lock = next(r for r in recs if r.kind == "contention")
    assert (lock.rule, lock.line) == ("lock", line_of_text(RA, "lock (_sync) // PLANTED"))
    assert "85.0 ms" in lock.text and "channels" in lock.rule_source
    blocked = {r.line for r in recs if r.kind == "deadlock" and r.rule == "blocking-wait"}
    assert blocked == {line_of_text(BS, "_loop!.Wait(100)"), line_of_text(BS, ".Result;")}


def test_every_recommendation_is_a_planted_violation(
    repo: Path, planted: Callable[[str], set[tuple[str, int]]]
) -> None:
    """No recommendation points at a clean line: each (rule, line) was planted."""
    recs = link_and_recommend(_analysis(), repo).recommendations
    assert len(recs) >= 6
    for rec in recs:
        assert (rec.rule, rec.line) in planted(rec.file), rec.text
        assert rec.text.split(" ", 1)[0] == f"{rec.file.rsplit('/', 1)[-1]}:{rec.line}"


@pytest.mark.parametrize("analysis", [{}, {"cpu": None, "allocations": {"by_site": []}}])
def test_missing_sections_give_nothing(repo: Path, analysis: dict[str, Any]) -> None:
    """Sections not collected produce no links and no recommendations."""
    result = link_and_recommend(analysis, repo)
    assert result.recommendations == [] and result.links == {}


def test_alternative_keys_and_json(repo: Path, line_of_text: LineOf) -> None:
    """``by_stack`` with ``stack`` lists is read too, and the result serialises to JSON."""
    site = {"stack": [PRODUCE, TRY_APPEND], "type": "System.Byte[]"}
    analysis = {"allocations": {"by_stack": [{**site, "classification": "per-message"}]}}
    result = link_and_recommend(analysis, repo)
    assert [r.kind for r in result.recommendations] == ["allocation"]
    line = line_of_text(RA, "public bool TryAppend(long")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["links"][TRY_APPEND]["location"].endswith(f":{line}")
    assert data["recommendations"][0]["location"] == f"{RA}:{line_of_text(RA, 'new byte[value')}"


def test_no_allocating_expression_no_advice(repo: Path) -> None:
    """A site whose method allocates nothing of that type gets no line (not its declaration)."""
    site = {"stack": [PRODUCE], "type": "System.String", "classification": "per-message"}
    result = link_and_recommend({"allocations": {"by_stack": [site]}}, repo)
    assert [r.kind for r in result.recommendations if r.file] == []
    assert any("no expression in its body allocates System.String" in n for n in result.notes)


def test_per_batch_and_unclassified_sites_get_no_per_message_rule(repo: Path) -> None:
    """The analysis's per-batch verdict stands: no allocation advice citing the per-message rule,
    and without a message count none either; hot-method findings of that rule are dropped too."""
    for classification in ("per-batch-or-rarer", None):
        analysis = _analysis()
        analysis["allocations"]["by_site"][0]["classification"] = classification
        recs = link_and_recommend(analysis, repo).recommendations
        assert not [r for r in recs if r.rule == "alloc-in-loop"], classification


def test_ranked_by_measured_impact(repo: Path) -> None:
    """Recommendations come largest impact first; a report prints only the first few."""
    result = link_and_recommend(_analysis(), repo)
    impacts = [r.impact for r in result.recommendations]
    assert impacts == sorted(impacts, reverse=True) and impacts[0] > 0
    assert len(result.printed) == min(PRINTED_RECOMMENDATIONS, len(result.recommendations))
    assert result.to_dict()["printed"] == len(result.printed)


def test_only_library_code_is_recommended_on(repo: Path) -> None:
    """A hot method in a test project is linked and labelled, never judged."""
    (repo / "tests" / "Dekaf.Tests" / "Dekaf.Tests.csproj").write_text("<Project />")
    (repo / "tests" / "Dekaf.Tests" / "Hot.cs").write_text(
        "namespace Dekaf.Tests;\npublic class Hot\n{\n"
        "    public int Spin(int[] xs)\n    {\n"
        "        lock (xs) { return xs.Where(x => x > 1).Count(); }\n    }\n}\n"
    )
    frame = "Dekaf.Tests!Dekaf.Tests.Hot.Spin(int32[])"
    result = link_and_recommend(
        {"cpu": {"top_self": [{"name": frame, "percent": 60.0, "samples": 6}]}}, repo
    )
    assert result.links[frame].category == "test"
    assert result.links[frame].label.endswith(", test code")
    assert result.recommendations == []


def test_unknown_target_frames_are_noted(repo: Path) -> None:
    """A target frame with no declaration is reported in notes, not linked."""
    missing = "Dekaf!Dekaf.Producer.Gone.Away()"
    analysis = {"cpu": {"top_self": [{"name": missing, "percent": 50.0, "samples": 5}]}}
    result = link_and_recommend(analysis, repo)
    assert result.location(missing) is None
    assert result.notes and "Gone.Away" in result.notes[0]


def test_markdown_lines(repo: Path) -> None:
    """Numbered items name file:line and carry the excerpt in a csharp fence; the rest is
    counted, not printed."""
    result = link_and_recommend(_analysis(), repo)
    recs = [recommendation_dict(r) for r in result.recommendations]
    lines = recommendation_lines(recs, rules=result.rules_source)
    items = [line for line in lines if line[:2] in {f"{i}." for i in range(1, 10)}]
    assert len(items) == len(result.printed)
    assert items[0].startswith(f"1. **`{result.recommendations[0].location}`**")
    assert "   ```csharp" in lines
    assert f"{len(recs) - len(items)} more in the JSON output" in lines[-2]
