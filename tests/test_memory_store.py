"""The memory store: confinement to its root, atomic writes, the MEMORY.md cap, search."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory import MEMORY_INDEX_MAX_LINES, MemoryStore, MemoryStoreError, memory_root
from tools.base import ToolContext, ToolRegistry
from tools.memory_tools import READ_MEMORY_TOOL, WRITE_MEMORY_TOOL


@pytest.fixture
def store(tmp_path: Path) -> MemoryStore:
    return MemoryStore(tmp_path / "mem", transcripts=tmp_path / "sessions")


def test_default_root_is_the_claude_code_project_memory(tmp_path: Path) -> None:
    """The CLI and the Claude Code subagent share `.claude/agent-memory/perf-trace-analyzer`."""
    expected = tmp_path / ".claude" / "agent-memory" / "perf-trace-analyzer"
    assert memory_root(tmp_path) == expected.resolve()


def test_env_override_moves_the_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PTA_MEMORY_DIR points the memory elsewhere."""
    monkeypatch.setenv("PTA_MEMORY_DIR", str(tmp_path / "elsewhere"))
    assert memory_root(tmp_path / "repo") == (tmp_path / "elsewhere").resolve()


def test_create_append_replace_edit_delete(store: MemoryStore) -> None:
    """Every write mode changes the file as named and reports what it did."""
    assert store.write("topics/alloc.md", "create", content="one") == (
        "Created topics/alloc.md (1 lines)."
    )
    store.write("topics/alloc.md", "append", content="two\nthree")
    assert store.read("topics/alloc.md") == "one\ntwo\nthree\n"
    store.write("topics/alloc.md", "str_replace", old="two", new="2")
    assert store.read("topics/alloc.md") == "one\n2\nthree\n"
    store.write("topics/alloc.md", "replace", content="fresh")
    assert store.read("topics/alloc.md") == "fresh\n"
    store.write("topics/alloc.md", "delete")
    assert store.list_files() == []


def test_create_refuses_to_overwrite_and_str_replace_needs_unique_text(store: MemoryStore) -> None:
    """A create never clobbers a file; an ambiguous str_replace is refused."""
    store.write("a.md", "create", content="x x")
    with pytest.raises(MemoryStoreError, match="already exists"):
        store.write("a.md", "create", content="y")
    with pytest.raises(MemoryStoreError, match="found 2 times"):
        store.write("a.md", "str_replace", old="x", new="z")


def test_memory_index_over_200_lines_is_refused(store: MemoryStore) -> None:
    """MEMORY.md may hold 200 lines; one more is refused with advice to use a topic file."""
    store.write("MEMORY.md", "create", content="\n".join(["- line"] * MEMORY_INDEX_MAX_LINES))
    with pytest.raises(MemoryStoreError, match="move the detail into a topic file"):
        store.write("MEMORY.md", "append", content="- one too many")
    assert len(store.read("MEMORY.md").splitlines()) == MEMORY_INDEX_MAX_LINES


def test_index_view_cuts_at_200_lines(store: MemoryStore) -> None:
    """The system-prompt view of MEMORY.md keeps the first 200 lines and says it was cut."""
    store.root.mkdir(parents=True)
    (store.root / "MEMORY.md").write_text("\n".join(f"line {i}" for i in range(250)))
    view = store.index()
    assert view.truncated and view.total_lines == 250
    assert view.text.splitlines()[-1] == "line 199"


@pytest.mark.parametrize("bad", ["../evil.md", "/etc/passwd", "a/../../evil.md", "", " x.md"])
def test_paths_outside_the_root_are_refused(store: MemoryStore, tmp_path: Path, bad: str) -> None:
    """Traversal and absolute paths never reach the file system."""
    with pytest.raises(MemoryStoreError):
        store.write(bad, "create", content="x")
    assert not (tmp_path / "evil.md").exists()


def test_symlink_escape_is_refused(store: MemoryStore, tmp_path: Path) -> None:
    """A symlink inside the root that points out of it cannot be read or written through."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("secret")
    store.root.mkdir(parents=True)
    (store.root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(MemoryStoreError, match="outside"):
        store.read("link/secret.md")
    with pytest.raises(MemoryStoreError, match="outside"):
        store.write("link/secret.md", "replace", content="pwned")
    assert (outside / "secret.md").read_text() == "secret"


def test_crash_between_temp_write_and_rename_keeps_the_old_file(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the process dies before os.replace, the old text is intact and no temp file stays."""
    store.write("MEMORY.md", "create", content="old index")

    def crash(src: str, dst: str) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(MemoryStoreError, match="power cut"):
        store.write("MEMORY.md", "replace", content="new index")
    monkeypatch.undo()
    assert store.read("MEMORY.md") == "old index\n"
    assert [p.name for p in store.root.iterdir()] == ["MEMORY.md"]


def test_search_finds_topics_and_transcripts(store: MemoryStore) -> None:
    """Search covers topic files first, then saved run transcripts."""
    store.write("contention.md", "create", content="- FlushAsync waits on in-flight count")
    store.transcripts.mkdir(parents=True)  # type: ignore[union-attr]
    (store.transcripts / "run.jsonl").write_text(  # type: ignore[operator]
        '{"event":"tool_call","text":"flushasync blocked 2.1 s"}\n{"event":"end"}\n'
    )
    hits = store.search("FLUSHASYNC")
    assert [(h.source, h.path, h.line) for h in hits] == [
        ("memory", "contention.md", 1),
        ("transcript", "run.jsonl", 1),
    ]
    assert store.search("nothing-like-this") == []


def test_tools_map_refusals_to_is_error(tmp_path: Path) -> None:
    """The model gets an is_error it can act on, and a good write lands in the repo's memory."""
    registry = ToolRegistry([READ_MEMORY_TOOL, WRITE_MEMORY_TOOL])
    ctx = ToolContext(repo=tmp_path)
    bad = registry.dispatch(
        "write_memory", {"path": "../x.md", "mode": "create", "content": "x"}, ctx
    )
    assert bad.is_error and "refused" in bad.text
    ok = registry.dispatch(
        "write_memory", {"path": "MEMORY.md", "mode": "append", "content": "- [a](a.md)"}, ctx
    )
    assert not ok.is_error and '"lines":1' in ok.text
    listing = registry.dispatch("read_memory", {"path": "MEMORY.md"}, ctx)
    assert '"content":"- [a](a.md)\\n"' in listing.text
    missing = registry.dispatch("read_memory", {"path": "nope.md"}, ctx)
    assert missing.is_error and "does not exist" in missing.text


def test_long_transcript_lines_are_shown_around_the_match(store: MemoryStore) -> None:
    """A hit deep in a long JSONL line shows the text around it, not the line's start."""
    store.transcripts.mkdir(parents=True)  # type: ignore[union-attr]
    line = '{"text":"' + "x" * 2000 + " Monitor.Enter waited 40 ms " + "y" * 2000 + '"}\n'
    (store.transcripts / "run.jsonl").write_text(line)  # type: ignore[operator]
    [hit] = store.search("monitor.enter")
    assert "Monitor.Enter waited 40 ms" in hit.text and len(hit.text) <= 302


SEGMENTS = ["..", ".", "a", "b.md", "link", "", "~", "MEMORY.md"]


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=5), absolute=st.booleans())
def test_no_path_ever_escapes_the_root(tmp_path: Path, parts: list[str], absolute: bool) -> None:
    """Whatever path the model invents, a write lands inside the root or is refused."""
    root = tmp_path / "mem"
    (root / "a").mkdir(parents=True, exist_ok=True)
    if not (root / "link").exists():
        (root / "link").symlink_to(tmp_path, target_is_directory=True)
    store = MemoryStore(root)
    relative = ("/" if absolute else "") + "/".join(parts)
    before = sorted(p.name for p in tmp_path.iterdir())
    try:
        store.write(relative, "replace", content="x")
    except MemoryStoreError:
        pass
    else:
        assert store.resolve(relative).resolve().is_relative_to(root.resolve())
    assert sorted(p.name for p in tmp_path.iterdir()) == before
