"""Memory that pays its way and a prompt cached across runs, through the real SDK path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.run_request import run_request
from memory import MEMORY_INDEX_MAX_CHARS, memory_root
from memory.store import SEARCH_MAX_MATCHES
from tests.model_view.conftest import tool_results, tool_use
from tests.test_claude_adapter import FakeApi, claude, ok
from tools.base import ToolContext
from tools.catalog import default_registry

REPORT = [{"type": "text", "text": "## Hot Paths & CPU Time\nnothing measured"}]


def _ask(repo: Path, request: str, calls: list[dict[str, Any]]) -> FakeApi:
    """One `pta ask` run whose model makes ``calls`` (one turn each), then answers."""
    turns = [ok([tool_use(f"toolu_{i}", c["name"], c["input"])], "tool_use") for i, c in
             enumerate(calls)]  # fmt: skip
    api = FakeApi([*turns, ok(REPORT, "end_turn")])
    outcome = run_request(request, repo=repo, model=claude(api), registry=default_registry())
    assert outcome.status == "ok", outcome.error
    return api


def _memory(repo: Path) -> Path:
    root = memory_root(repo)
    root.mkdir(parents=True, exist_ok=True)
    return root


def test_the_cached_instructions_survive_a_memory_edit(tmp_path: Path) -> None:
    """The first system block (with the breakpoint) is byte-identical across runs; the memory,
    repository and date come in the second block, after the breakpoint."""
    (_memory(tmp_path) / "MEMORY.md").write_text("- [flush.md](flush.md): flush waits\n")
    note = {"path": "MEMORY.md", "mode": "append", "content": "- [gc.md](gc.md): GC pauses"}
    first = _ask(tmp_path, "is flush slow?", [{"name": "write_memory", "input": note}])
    second = _ask(tmp_path, "is flush slow?", [])
    before, after = first.bodies[0]["system"], second.bodies[0]["system"]
    assert before[0] == after[0] and before[0]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in before[1]
    assert "gc.md" not in before[1]["text"] and "gc.md" in after[1]["text"]
    assert str(tmp_path) in after[1]["text"] and str(tmp_path) not in after[0]["text"]


def test_search_leaves_out_the_running_session_and_no_argument_lists_topics(
    tmp_path: Path,
) -> None:
    """The model searching for a word of its own request finds earlier runs, not this one;
    read_memory without arguments lists the topic files with summaries, not MEMORY.md again."""
    root = _memory(tmp_path)
    (root / "MEMORY.md").write_text("- [flush.md](flush.md): flush waits\n")
    (root / "flush.md").write_text("# Flush waits per scenario\n- 2026-11-20: lock in FlushAsync\n")
    (root / "orphan.md").write_text("\n\nGC notes nobody linked\n")
    _ask(tmp_path, "why is zanzibar slow?", [])  # an earlier run mentioning the word
    search = {"name": "read_memory", "input": {"query": "zanzibar"}}
    listing = {"name": "read_memory", "input": {}}
    api = _ask(tmp_path, "zanzibar again: why?", [search, listing])
    found = json.loads(tool_results(api.bodies[1])[0]["content"])
    sessions = {
        json.loads(path.read_text().splitlines()[0])["request"]: path.name
        for path in (tmp_path / ".perf-trace-analyzer" / "sessions").glob("*.jsonl")
    }
    assert {m["path"] for m in found["matches"]} == {sessions["why is zanzibar slow?"]}
    files = json.loads(tool_results(api.bodies[2])[0]["content"])["files"]
    assert "content" not in json.loads(tool_results(api.bodies[2])[0]["content"])
    by_path = {f["path"]: f for f in files}
    assert by_path["flush.md"]["summary"] == "Flush waits per scenario"
    assert by_path["flush.md"]["linked"] is True and by_path["orphan.md"]["linked"] is False
    assert by_path["orphan.md"]["summary"] == "GC notes nobody linked"
    assert "already in your instructions" in by_path["MEMORY.md"]["summary"]


def test_a_search_says_when_it_hit_its_limit(tmp_path: Path) -> None:
    """More matching lines than the limit: the result says so and how to narrow it."""
    lines = "".join(f"- flush note {i}\n" for i in range(SEARCH_MAX_MATCHES + 5))
    (_memory(tmp_path) / "flush.md").write_text(lines)
    registry, ctx = default_registry(), ToolContext(repo=tmp_path)
    many = json.loads(registry.dispatch("read_memory", {"query": "flush"}, ctx).text)
    assert len(many["matches"]) == SEARCH_MAX_MATCHES
    assert f"stopped at {SEARCH_MAX_MATCHES} matching lines; more exist" in many["note"]
    few = json.loads(registry.dispatch("read_memory", {"query": "note 7"}, ctx).text)
    assert "note" not in few


def test_memory_md_is_capped_by_characters_too(tmp_path: Path) -> None:
    """Twenty lines of 600 characters pass the line cap but not the size cap: refused."""
    long_index = "".join(f"- [t{i}.md](t{i}.md): " + "x" * 580 + "\n" for i in range(20))
    outcome = default_registry().dispatch(
        "write_memory",
        {"path": "MEMORY.md", "mode": "create", "content": long_index},
        ToolContext(repo=tmp_path),
    )
    assert outcome.is_error
    assert f"characters; the limit is {MEMORY_INDEX_MAX_CHARS}" in outcome.text
    assert "move the detail into a topic file" in outcome.text
