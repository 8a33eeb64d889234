"""The memory store: confinement to its root, atomic writes, the MEMORY.md cap, search."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory import (
    MEMORY_INDEX_MAX_LINES,
    MemoryStore,
    MemoryStoreError,
    TranscriptWriter,
    memory_root,
    read_transcript,
)
from memory._confined import LOCK_FILE
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
    with pytest.raises(MemoryStoreError, match="symbolic link"):
        store.read("link/secret.md")
    with pytest.raises(MemoryStoreError, match="symbolic link"):
        store.write("link/secret.md", "replace", content="pwned")
    assert (outside / "secret.md").read_text() == "secret"


def test_crash_between_temp_write_and_rename_keeps_the_old_file(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the process dies before os.replace, the old text is intact and no temp file stays."""
    store.write("MEMORY.md", "create", content="old index")

    def crash(src: str, dst: str, **dir_fds: int) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(MemoryStoreError, match="power cut"):
        store.write("MEMORY.md", "replace", content="new index")
    monkeypatch.undo()
    assert store.read("MEMORY.md") == "old index\n"
    assert [p.name for p in store.root.iterdir() if p.name != LOCK_FILE] == ["MEMORY.md"]


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


# --- issue 13: confinement under links and races, concurrent writers, leftovers ------------


def _lines_of(store: MemoryStore, path: str) -> int:
    return len(store.read(path).splitlines())


def test_the_cap_follows_the_file_not_the_spelling(store: MemoryStore) -> None:
    """`alias -> .` cannot carry 250 lines into MEMORY.md, nor can a hard link or another case."""
    store.write("MEMORY.md", "create", content="\n".join(["- line"] * 199))
    (store.root / "alias").symlink_to(".", target_is_directory=True)
    with pytest.raises(MemoryStoreError, match="symbolic link"):
        store.write("alias/MEMORY.md", "replace", content="\n".join(["- x"] * 250))
    with pytest.raises(MemoryStoreError, match="symbolic link"):
        store.write("alias/MEMORY.md", "append", content="\n".join(["- x"] * 250))
    os.link(store.root / "MEMORY.md", store.root / "index-copy.md")
    with pytest.raises(MemoryStoreError, match="the limit is 200"):
        store.write("index-copy.md", "append", content="- one\n- two")
    with pytest.raises(MemoryStoreError, match="the limit is 200"):
        store.write("./memory.md", "replace", content="\n".join(["- y"] * 201))
    assert _lines_of(store, "MEMORY.md") == 199


def test_reads_listings_and_searches_never_follow_a_link(
    store: MemoryStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Linked files, folders and transcripts leading out of the root are neither read nor found."""
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "secret.md").write_text("password hunter2\n")
    (outside / "deep" / "more.md").write_text("password hunter2\n")
    (outside / "run.jsonl").write_text('{"text": "password hunter2"}\n')
    store.write("topic.md", "create", content="no secrets here")
    (store.root / "leak.md").symlink_to(outside / "secret.md")
    (store.root / "folder").symlink_to(outside / "deep", target_is_directory=True)
    store.transcripts.mkdir(parents=True)  # type: ignore[union-attr]
    (store.transcripts / "20990101-run.jsonl").symlink_to(outside / "run.jsonl")  # type: ignore[operator]
    assert [f.path for f in store.list_files()] == ["topic.md"]
    assert store.search("hunter2") == []
    for path in ("leak.md", "folder/more.md"):
        with pytest.raises(MemoryStoreError, match="symbolic link"):
            store.read(path)
    (store.root / "MEMORY.md").symlink_to(outside / "secret.md")
    assert store.index().text == ""  # the system prompt never carries the linked text
    monkeypatch.setenv("PTA_MEMORY_DIR", str(store.root))
    registry = ToolRegistry([READ_MEMORY_TOOL])
    for call in ({"query": "password"}, {"path": "leak.md"}, {}):
        assert (
            "hunter2" not in registry.dispatch("read_memory", call, ToolContext(repo=tmp_path)).text
        )


def test_cli_memory_search_and_show_skip_links_and_temporaries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pta memory search/show` print neither linked text nor a killed writer's temp file."""
    from agent.cli import main

    root = memory_root(tmp_path)
    MemoryStore(root).write("MEMORY.md", "create", content="- [alloc](alloc.md)")
    (tmp_path / "secret.txt").write_text("hunter2\n")
    (root / "alloc.md").symlink_to(tmp_path / "secret.txt")
    sessions = tmp_path / ".perf-trace-analyzer" / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "run.jsonl").symlink_to(tmp_path / "secret.txt")
    (root / ".MEMORY.md.k1ll3d00.tmp").write_text("- half written")
    assert main(["memory", "search", "hunter2", "--repo", str(tmp_path)]) == 0
    assert main(["memory", "show", "--repo", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and ".tmp" not in out and "half written" not in out
    assert not (root / ".MEMORY.md.k1ll3d00.tmp").exists()  # cleaned while no writer was busy


def test_leftover_temporaries_are_ignored_and_cleaned_by_the_next_write(store: MemoryStore) -> None:
    """Temp files of a writer killed mid-write are not memory: not listed, removed on write."""
    store.write("topics/alloc.md", "create", content="one")
    (store.root / ".MEMORY.md.abcd1234.tmp").write_text("partial")
    (store.root / "topics" / ".alloc.md.0badf00d.tmp").write_text("partial")
    assert [f.path for f in store.list_files()] == ["topics/alloc.md"]
    store.write("MEMORY.md", "append", content="- [alloc](topics/alloc.md)")
    assert list(store.root.rglob("*.tmp")) == []


@pytest.mark.parametrize(
    ("path", "content", "message"),
    [
        ("notes\x00.md", "x", "control character"),
        ("notes\n.md", "x", "control character"),
        ("n" * 300 + ".md", "x", "the limit is 200"),
        ("a/" * 12 + "deep.md", "x", "nested too deep"),
        (".pta-memory.lock", "x", "reserved"),
        ("notes.md", "bad\x00text", "NUL"),
        ("notes.md", "lone \ud800 surrogate", "not valid Unicode"),
    ],
)
def test_bad_names_and_text_are_one_line_tool_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, path: str, content: str, message: str
) -> None:
    """NUL bytes, control characters and over-long names: an is_error line, no traceback."""
    registry = ToolRegistry([READ_MEMORY_TOOL, WRITE_MEMORY_TOOL])
    ctx = ToolContext(repo=tmp_path)
    for name, call in (
        ("write_memory", {"path": path, "mode": "create", "content": content}),
        ("read_memory", {"path": path}),
    ):
        outcome = registry.dispatch(name, call, ctx)
        assert outcome.is_error and "\n" not in outcome.text
        if name == "write_memory":
            assert message in outcome.text
    assert not [r for r in caplog.records if r.exc_info]  # no traceback logged
    assert (
        not memory_root(tmp_path).exists()
        or [p.name for p in memory_root(tmp_path).iterdir() if p.name != LOCK_FILE] == []
    )


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_keep_the_umask_mode(store: MemoryStore, umask: int) -> None:
    """A memory file gets the mode any file the user creates gets (0666 minus the umask)."""
    previous = os.umask(umask)
    try:
        store.write("topics/alloc.md", "create", content="x")
        store.write("topics/alloc.md", "append", content="y")
    finally:
        os.umask(previous)
    assert (store.root / "topics" / "alloc.md").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (store.root / "topics").stat().st_mode & 0o777 == 0o777 & ~umask


def test_deleting_the_last_file_of_a_folder_removes_the_empty_folders(store: MemoryStore) -> None:
    """a/b/c.md deleted: b and a go too; a folder that still holds a file stays."""
    store.write("a/b/c.md", "create", content="x")
    store.write("a/keep.md", "create", content="y")
    store.write("a/b/c.md", "delete")
    assert not (store.root / "a" / "b").exists() and (store.root / "a" / "keep.md").is_file()
    store.write("a/keep.md", "delete")
    assert not (store.root / "a").exists() and store.root.is_dir()


def _run_writers(script: str, count: int) -> list[int]:
    workers = [
        subprocess.Popen([sys.executable, "-c", script, tag], stdout=subprocess.PIPE, text=True)
        for tag in ("a", "b")[:count]
    ]
    return [int(worker.communicate(timeout=120)[0]) for worker in workers]


def test_two_concurrent_appenders_lose_no_acknowledged_line(store: MemoryStore) -> None:
    """Two processes append 100 lines each to one topic and to MEMORY.md: every acknowledged
    line is in the file, and MEMORY.md stops at exactly 200 lines."""
    store.write("MEMORY.md", "create", content="- index")
    script = (
        "import sys\nfrom pathlib import Path\nfrom memory import MemoryStore, MemoryStoreError\n"
        f"store = MemoryStore(Path({str(store.root)!r}))\n"
        "tag, acknowledged = sys.argv[1], 0\n"
        "for i in range(100):\n"
        "    store.write('topic.md', 'append', content=f'- {tag}-{i}')\n"
        "    try:\n"
        "        store.write('MEMORY.md', 'append', content=f'- {tag}-{i}')\n"
        "    except MemoryStoreError:\n"
        "        continue\n"
        "    acknowledged += 1\n"
        "print(acknowledged)\n"
    )
    acknowledged = _run_writers(script, 2)
    topic = store.read("topic.md").splitlines()
    assert sorted(topic) == sorted(f"- {tag}-{i}" for tag in "ab" for i in range(100))
    index = store.read("MEMORY.md").splitlines()
    assert len(index) == MEMORY_INDEX_MAX_LINES == 1 + sum(acknowledged)


RACE_WRITES = 1200
"""Writes raced against the flipping links (before the fix, 3 runs of 3 put files outside)."""

_FLIPPER = """
import os, sys, time
from pathlib import Path
root, outside, stop = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
while not stop.exists():
    for target in (root / "inside", outside):
        (root / "d.flip").unlink(missing_ok=True)
        (root / "d.flip").symlink_to(target, target_is_directory=True)
        os.replace(root / "d.flip", root / "d")
    try:
        os.rename(root / "e", root / "e.parked")
        (root / "e").symlink_to(outside, target_is_directory=True)
        (root / "e").unlink()
        os.rename(root / "e.parked", root / "e")
    except OSError:
        pass
"""


def test_flipping_links_during_writes_put_nothing_outside_the_root(tmp_path: Path) -> None:
    """A link retargeted between an inside and an outside folder, and a real folder swapped for
    a link outside, while writes go through them: no file, temporary or not, lands outside."""
    root, outside, stop = tmp_path / "mem", tmp_path / "outside", tmp_path / "stop"
    for folder in (root / "inside", root / "e", outside):
        folder.mkdir(parents=True)
    (root / "d").symlink_to(root / "inside", target_is_directory=True)
    flipper = subprocess.Popen([sys.executable, "-c", _FLIPPER, str(root), str(outside), str(stop)])
    store = MemoryStore(root)
    written = 0
    try:
        for i in range(RACE_WRITES):
            try:
                store.write(f"{'de'[i % 2]}/note-{i}.md", "replace", content=f"note {i}")
            except MemoryStoreError:
                continue
            written += 1
    finally:
        stop.touch()
        flipper.wait(timeout=30)
    assert sorted(p.name for p in outside.rglob("*")) == []
    assert written > 0  # the real folder `e` was written through whenever it stood there


def test_an_unusable_memory_folder_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A file where the memory folder should be: `pta memory` exits 1 with one line, the tools
    answer is_error; nobody gets a traceback."""
    from agent.cli import main

    root = memory_root(tmp_path)
    root.parent.mkdir(parents=True)
    root.write_text("not a folder")
    for action in (["show"], ["search", "flush"]):
        assert main(["memory", *action, "--repo", str(tmp_path)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"pta memory {action[0]}: ") and err.count("\n") == 1
    registry = ToolRegistry([READ_MEMORY_TOOL, WRITE_MEMORY_TOOL])
    ctx = ToolContext(repo=tmp_path)
    for name, call in (
        ("read_memory", {}),
        ("write_memory", {"path": "a.md", "mode": "append", "content": "x"}),
    ):
        outcome = registry.dispatch(name, call, ctx)
        assert outcome.is_error and "Not a directory" in outcome.text, outcome.text
    assert not [r for r in caplog.records if r.exc_info]


def test_a_transcript_left_by_an_interrupt_still_ends_with_an_end_record(tmp_path: Path) -> None:
    """However a run is left (a signal while the report is saved), the last record says so."""
    with pytest.raises(KeyboardInterrupt), TranscriptWriter(tmp_path) as transcript:
        transcript.write("request", request="why slow?")
        raise KeyboardInterrupt("SIGTERM")
    events = read_transcript(transcript.path)
    assert [e["event"] for e in events] == ["request", "end"]
    assert events[-1]["status"] == "interrupted" and "SIGTERM" in events[-1]["error"]
    with TranscriptWriter(tmp_path) as finished:
        finished.write("end", status="ok")
    assert [e["event"] for e in read_transcript(finished.path)] == ["end"]
