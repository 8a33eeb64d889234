"""The Jinja2 templates: each renders with a minimal context; a missing variable raises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest

import prompts
from agent.report import REPORT_HEADINGS
from agent.run_request import system_prompt
from memory import MEMORY_INDEX_MAX_CHARS, MEMORY_INDEX_MAX_LINES, memory_root

RUN_CONTEXT: dict[str, Any] = {
    "repo": "/src/Dekaf",
    "today": "2026-11-26",
    "memory_root": "/src/Dekaf/.claude/agent-memory/perf-trace-analyzer",
    "memory_index": "- [hot-paths.md](hot-paths.md): hot methods",
    "memory_truncated": False,
    "memory_total_lines": 1,
    "memory_shown_lines": 1,
    "memory_max_lines": 200,
    "memory_max_chars": "10,000",
    "claude_md": "",
    "claude_md_states_rules": False,
    "needs_kafka": True,
}


def test_system_prompt_carries_the_role_workflow_rules_and_sections() -> None:
    """Role, expert order, trace-length units, one scenario, the four headings, memory rules."""
    text = prompts.render("system")
    assert text.startswith("You are perf-trace-analyzer, an expert .NET performance engineer.")
    order = ["`read_memory`", "`start_kafka`", "`build`", "`trace_collect`", "`analyze_trace`",
             "`write_memory`"]  # fmt: skip
    positions = [text.index(step) for step in order]
    assert positions == sorted(positions)
    assert "in SECONDS and belongs to `dotnet-trace collect" in text
    assert "`--duration` is in MINUTES" in text
    assert "Never run `--scenario all` by accident" in text
    assert "Never wait on an interactive tool" in text
    for heading in REPORT_HEADINGS:
        assert f"\n## {heading}\n" in text
    assert 'When the user says "remember ..." or "forget ...", do it at once' in text
    assert "already part of these instructions: do not read it again" in text
    assert "Read the project memory first" not in text


def test_the_static_part_comes_first_and_holds_nothing_of_the_run(tmp_path: Path) -> None:
    """Date, repository, memory and CLAUDE.md all come after the cached instructions."""
    root = memory_root(tmp_path)
    root.mkdir(parents=True)
    (root / "MEMORY.md").write_text("- [flush-notes.md](flush-notes.md): flush waits\n")
    static, per_run = system_prompt(tmp_path)
    other_static, _ = system_prompt(tmp_path / ".." / tmp_path.name)
    assert static == other_static == prompts.render("system")
    for run_fact in (str(tmp_path), "flush-notes.md", "Today is"):
        assert run_fact not in static and run_fact in per_run


def test_system_prompt_renders_memory_cut_and_claude_md(tmp_path: Path) -> None:
    """MEMORY.md past 200 lines is cut with a note; the repo's CLAUDE.md is included."""
    root = memory_root(tmp_path)
    root.mkdir(parents=True)
    (root / "MEMORY.md").write_text("".join(f"- note {i}\n" for i in range(230)))
    (tmp_path / "CLAUDE.md").write_text("Never allocate in FlushAsync.\n")
    text = "".join(system_prompt(tmp_path))
    assert f"- note {MEMORY_INDEX_MAX_LINES - 1}\n" in text and "- note 200\n" not in text
    assert "MEMORY.md has 230 lines; only the first 200 are shown" in text
    assert "Never allocate in FlushAsync." in text


def test_a_long_memory_index_is_cut_by_characters_too(tmp_path: Path) -> None:
    """50 long lines stay within the character cap: whole lines, and the note says why."""
    root = memory_root(tmp_path)
    root.mkdir(parents=True)
    (root / "MEMORY.md").write_text("".join(f"- note {i} " + "x" * 400 + "\n" for i in range(50)))
    _, per_run = system_prompt(tmp_path)
    shown = [line for line in per_run.splitlines() if line.startswith("- note ")]
    assert 0 < len(shown) < 50 and sum(len(line) + 1 for line in shown) <= MEMORY_INDEX_MAX_CHARS
    assert f"only the first {len(shown)} are shown" in per_run and "10,000 characters" in per_run


def test_the_rules_come_from_claude_md_or_the_defaults_never_both(tmp_path: Path) -> None:
    """A CLAUDE.md that states hot-path rules replaces the default rules; one that does not
    leaves the defaults and is shown as the repository's notes."""
    default_rule = "Zero allocation in hot paths is a correctness requirement"
    (tmp_path / "CLAUDE.md").write_text("# Rules\n- Never use LINQ in the produce path.\n")
    _, stated = system_prompt(tmp_path)
    assert "Never use LINQ in the produce path." in stated and default_rule not in stated
    (tmp_path / "CLAUDE.md").write_text("# Build\nRun `make` before testing.\n")
    _, unstated = system_prompt(tmp_path)
    assert default_rule in unstated and "Run `make` before testing." in unstated


def test_empty_memory_is_said_plainly() -> None:
    """With no MEMORY.md the prompt says nothing has been saved yet."""
    text = prompts.render("system_run", **{**RUN_CONTEXT, "memory_index": ""})
    assert "MEMORY.md is empty" in text


def test_report_template_lists_what_was_not_collected() -> None:
    """The saved report has a header, the missing-data sentences and the body."""
    text = prompts.render(
        "report",
        request="is flush slow?",
        repo="/src/Dekaf",
        model="claude-opus-5-5",
        date="2026-11-26 06:00 UTC",
        trace_paths=["a.nettrace"],
        not_collected=["No trace was collected: the .NET SDK (`dotnet`) is not installed."],
        body="## Hot Paths & CPU Time\nx\n",
    )
    assert text.startswith("# Performance report: is flush slow?\n")
    assert "- Traces: `a.nettrace`\n" in text
    assert "**Could not be collected:**\n- No trace was collected" in text
    assert text.endswith("## Hot Paths & CPU Time\nx\n")


@pytest.mark.parametrize("name", ["system_run", "report"])
def test_a_missing_variable_raises(name: str) -> None:
    """StrictUndefined: forgetting a variable is an error, never an empty string."""
    with pytest.raises(jinja2.UndefinedError):
        prompts.render(name)


def test_shipped_templates_are_listed() -> None:
    """The system prompt and report templates ship with the package; partials are hidden."""
    names = prompts.template_names()
    assert {"system", "system_run", "report"} <= set(names)
    assert not any(name.startswith("_") for name in names)


def test_system_prompt_tells_the_model_to_skip_kafka_for_a_target_without_it() -> None:
    """needs_kafka = false: the model is told not to start a broker and to say so."""
    with_kafka = prompts.render("system_run", **RUN_CONTEXT)
    without = prompts.render("system_run", **{**RUN_CONTEXT, "needs_kafka": False})
    assert "do not call start_kafka" not in with_kafka
    assert "do not call start_kafka" in without
    assert "Kafka was not\nneeded" in without
