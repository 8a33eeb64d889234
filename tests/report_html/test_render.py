"""The HTML report and its bundle: self-contained, escaped, bounded, complete."""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

from tools.analysis.model import StackSample
from tools.report_html import (
    find_latest_report,
    folded_text,
    render_html_report,
    write_report_bundle,
)
from tools.report_html.flame import ELIDED, decode_stacks, merged_stacks, stack_table
from tools.report_html.initial_view import choose_initial_view
from tools.source.recommend import Recommendation

FOLDED = [
    ("app!Main();app!Work(int32);app!FindByte(uint8)", 700),
    ("app!Main();app!Work(int32)", 200),
    ("app!Main();app!Idle()", 100),
]


def _flame_data(page: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="flame-data">(.*?)</script>', page)
    assert match is not None
    data: dict[str, object] = json.loads(match.group(1))
    return data


def test_stack_table_round_trips_and_writes_shared_callers_once() -> None:
    """The page's table decodes to exactly the folded stacks; each distinct caller prefix and
    each name is written once."""
    table = stack_table(merged_stacks(FOLDED))
    assert decode_stacks(table) == {tuple(s.split(";")): float(w) for s, w in FOLDED}
    assert sorted(table["names"]) == [
        "app!FindByte(uint8)",
        "app!Idle()",
        "app!Main()",
        "app!Work(int32)",
    ]
    distinct_prefixes = 4  # Main, Main;Idle, Main;Work, Main;Work;FindByte
    assert len(table["stacks"]) == 2 * len(FOLDED) + distinct_prefixes
    assert table["elided"] == 0


def test_stack_table_is_bounded_and_keeps_self_time_exact() -> None:
    """Far more stacks than the budget holds: the table stays near the budget, the widest
    stacks stay whole, narrow ones keep their leaf under the elided root, and self time by
    method (the bottom-up view's first row) and the total are unchanged."""
    rng = random.Random(3)
    methods = [f"app!Ns.Type{i}.Method{i}(int32)" for i in range(400)]
    folded = [(";".join(rng.choices(methods, k=30)), 1 + i % 5) for i in range(8_000)]
    folded.append(("app!Main();app!Hot()", 50_000))
    budget = 120_000
    table = stack_table(merged_stacks(folded), budget=budget)
    assert len(json.dumps(table, separators=(",", ":"))) < 1.1 * budget
    stacks = decode_stacks(table)
    assert stacks[("app!Main()", "app!Hot()")] == 50_000
    assert any(frames[0] == ELIDED for frames in stacks)
    assert 0 < table["elided"] < sum(w for _, w in folded)
    assert sum(stacks.values()) == sum(w for _, w in folded)
    assert _self_by_leaf(stacks.items()) == _self_by_leaf(
        (tuple(s.split(";")), float(w)) for s, w in folded
    )


def _self_by_leaf(stacks: Iterable[tuple[tuple[str, ...], float]]) -> dict[str, float]:
    leaves: dict[str, float] = {}
    for frames, weight in stacks:
        leaves[frames[-1]] = leaves.get(frames[-1], 0.0) + weight
    return leaves


def test_page_opens_bottom_up_when_the_hottest_method_is_split() -> None:
    """A hot leaf reached by many paths opens the page bottom-up and says why; a hot leaf in
    one block opens it top-down."""
    split = [(f"app!Main();app!Caller{i}();app!Crc(int32)", 10) for i in range(5)]
    split += [("app!Main();app!Other()", 30)]
    view = choose_initial_view(merged_stacks(split))
    assert (view.view, view.method, view.paths) == ("bottom-up", "app!Crc(int32)", 5)
    assert view.self_share == pytest.approx(62.5) and view.widest_block_share == 12.5
    assert view.reason.startswith("Opened bottom-up: Crc, the hottest method by self time (62.5 %)")
    page = render_html_report({}, split, None, title="split")
    assert _flame_data(page)["initial"] == {"view": "bottom-up", "method": "app!Crc(int32)"}
    assert "is reached by 5 distinct stacks" in page
    one = choose_initial_view(merged_stacks(FOLDED))
    assert (one.view, one.method) == ("top-down", "app!FindByte(uint8)")
    assert one.reason == (
        "Opened top-down: FindByte, the hottest method by self time (70.0 %), is one block of "
        "70.0 % there."
    )


def test_page_is_self_contained() -> None:
    """No external script, style, font or image; a CSP forbids loading anything."""
    page = render_html_report({}, FOLDED, None, title="t")
    assert "default-src 'none'" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(http" not in page
    assert sum(_flame_data(page)["weights"]) == 1000  # type: ignore[arg-type]


def test_hostile_frame_names_are_escaped() -> None:
    """A frame named like markup cannot end the data script or inject elements."""
    evil = "app!</script><script>alert(1)</script>"
    analysis = {
        "cpu": {"collected": True, "top_self": [{"name": evil, "percent": 5.0, "samples": 1}]}
    }
    page = render_html_report(analysis, [(evil, 10)], None, title="<b>x</b>")
    assert "<script>alert(1)" not in page and "<b>x</b>" not in page
    assert _flame_data(page)["names"] == [evil]


def test_missing_sections_say_how_to_collect() -> None:
    """Sections not in the analysis say they were not collected, and how to collect them."""
    page = render_html_report({}, [], None, title="empty")
    assert "No CPU samples" in page
    assert "Allocations were not collected" in page and "contention preset" in page


def test_recommendations_with_source_excerpt() -> None:
    """Each recommendation shows its file:line, rule citation and the excerpt's marked line."""
    rec = Recommendation(
        text="RecordAccumulator.cs:35 allocates `byte[]` per message — rent it; CLAUDE.md:6: Zero",
        file="src/RecordAccumulator.cs",
        line=35,
        rule="alloc-in-loop",
        rule_source="CLAUDE.md:6: Zero",
        kind="allocation",
        evidence="90 %",
        excerpt="  34 |     {\n> 35 |         var copy = new byte[n];\n  36 |     }",
    )
    page = render_html_report({}, FOLDED, [rec], title="r")
    assert "src/RecordAccumulator.cs:35" in page and "Rule: CLAUDE.md:6: Zero" in page
    assert '<span class="hit">&gt; 35 |         var copy = new byte[n];</span>' in page
    assert "Recommendations (1)</a>" in page and page.count('<div class="rec">') == 1


def test_bundle_files(tmp_path: Path) -> None:
    """The bundle writes the page, folded stacks and (with samples) a speedscope file."""
    samples = [StackSample(1, 0.0, 1.0, ("app!Main()", "app!Work(int32)"), True)]
    bundle = write_report_bundle(
        tmp_path / "reports", "run1", {}, FOLDED, None, title="b", samples=samples
    )
    assert bundle.html.read_text().startswith("<!DOCTYPE html>")
    assert bundle.folded.read_text().splitlines() == [f"{s} {w}" for s, w in FOLDED]
    assert bundle.speedscope is not None
    document = json.loads(bundle.speedscope.read_text())
    names = [f["name"] for f in document["shared"]["frames"]]
    assert {"app!Main()", "app!Work(int32)"} <= set(names)
    assert folded_text([("a;b", 1.5)]) == "a;b 1.5\n"


def test_find_latest_report(tmp_path: Path) -> None:
    """The newest page under .perf-trace-analyzer wins; none gives None."""
    assert find_latest_report(tmp_path) is None
    work = tmp_path / ".perf-trace-analyzer"
    old = work / "reports" / "old.html"
    new = work / "sessions" / "x" / "new.html"
    for path, mtime in ((old, 1_000_000), (new, 2_000_000)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("<html></html>")
        os.utime(path, (mtime, mtime))
    assert find_latest_report(tmp_path) == new


def test_report_for_real_trace(traces_dir: Path, tmp_path: Path) -> None:
    """One call turns the managed-samples trace into page, folded and speedscope files."""
    from tools.report_html import report_for_trace

    trace = tmp_path / "only_managed_samples.nettrace.zip"
    trace.write_bytes((traces_dir / "perfview-only_managed_samples.nettrace.zip").read_bytes())
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "dekaf_repo"
    bundle, findings = report_for_trace(trace, tmp_path / "out", repo=fixture)
    assert findings is not None and findings.recommendations == []  # no Dekaf frames in it
    data = _flame_data(bundle.html.read_text())
    assert "FindByte" in json.dumps(data)
    assert any("FindByte" in line for line in bundle.folded.read_text().splitlines())
    assert bundle.speedscope is not None and bundle.speedscope.stat().st_size > 1000


def test_report_skips_a_speedscope_file_that_would_be_huge(
    traces_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the size limit the page and folded file are written, the speedscope file is not,
    and the bundle says why and what to open instead."""
    from tools.analysis import cpu
    from tools.report_html import bundle as bundle_module

    monkeypatch.setattr(bundle_module, "MAX_EVENTED_EVENTS", 10)
    assert cpu.MAX_EVENTED_EVENTS > 10
    trace = traces_dir / "filtrace-net10-wait.nettrace"
    bundle, _ = bundle_module.report_for_trace(trace, tmp_path / "out")
    assert bundle.speedscope is None and not list((tmp_path / "out").glob("*.speedscope.json"))
    assert bundle.html.is_file() and bundle.folded.is_file()
    assert bundle.note is not None and bundle.folded.name in bundle.note


def test_the_page_states_the_hang_verdict_of_the_markdown_report(tmp_path: Path) -> None:
    """One voice: on the sample's async hang the page says "Verdict: async hang" with the same
    headline and evidence lines as the Markdown report, not a raw deadlock suspicion."""
    from tools.analysis.analyze import analyze_trace_file
    from tools.analysis.markdown import render_markdown
    from tools.report_html import report_for_trace

    trace = (
        Path(__file__).resolve().parents[1]
        / "fixtures"
        / "hang"
        / "flushlab-async-hang.nettrace.zip"
    )
    bundle, _ = report_for_trace(trace, tmp_path / "out", target_prefix="FlushLab.")
    page = bundle.html.read_text()
    analysis = analyze_trace_file(trace, target_prefix="FlushLab.")
    assert analysis.hang_verdict is not None
    assert "**Verdict: async hang.**" in render_markdown(analysis, None)
    assert '<h3 id="hang-verdict">Verdict: async hang</h3>' in page
    assert analysis.hang_verdict.headline.replace("`", "")[:40] in page.replace("`", "")
    assert "Deadlock suspicion" not in page
