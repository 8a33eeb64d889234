"""The HTML report and its bundle: self-contained, escaped, bounded, complete."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tools.analysis.model import StackSample
from tools.report_html import (
    find_latest_report,
    folded_text,
    render_html_report,
    write_report_bundle,
)
from tools.report_html.flame import MAX_NODES, build_flame_tree
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


def test_flame_tree_totals() -> None:
    """Inclusive and self weights add up along the merged paths."""
    tree = build_flame_tree(FOLDED)
    assert tree["v"] == 1000
    (main,) = tree["c"]
    work = next(c for c in main["c"] if c["n"] == "app!Work(int32)")
    assert (work["v"], work["s"]) == (900, 200)
    assert work["c"][0] == {"n": "app!FindByte(uint8)", "v": 700, "s": 700}


def test_flame_tree_is_bounded() -> None:
    """Thousands of distinct stacks are pruned to at most MAX_NODES nodes; the total stays."""
    folded = [(f"root;mid{i % 50};leaf{i}", 1 + i % 7) for i in range(30_000)]
    tree = build_flame_tree(folded)
    count, stack = 0, [tree]
    while stack:
        node = stack.pop()
        count += 1
        stack.extend(node.get("c", []))
    assert count <= MAX_NODES + 1
    assert tree["v"] == sum(w for _, w in folded)


def test_page_is_self_contained() -> None:
    """No external script, style, font or image; a CSP forbids loading anything."""
    page = render_html_report({}, FOLDED, None, title="t")
    assert "default-src 'none'" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(http" not in page
    assert _flame_data(page)["total"] == 1000


def test_hostile_frame_names_are_escaped() -> None:
    """A frame named like markup cannot end the data script or inject elements."""
    evil = "app!</script><script>alert(1)</script>"
    analysis = {
        "cpu": {"collected": True, "top_self": [{"name": evil, "percent": 5.0, "samples": 1}]}
    }
    page = render_html_report(analysis, [(evil, 10)], None, title="<b>x</b>")
    assert "<script>alert(1)" not in page and "<b>x</b>" not in page
    assert _flame_data(page)["root"]["c"][0]["n"] == evil  # type: ignore[index]


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
