"""`pta install-claude`: the agent file, `.mcp.json`, hand-edit protection and `--check`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

import prompts
from agent.claude_check import parse_frontmatter
from agent.claude_install import AGENT_RELATIVE, is_generated
from agent.cli import main
from tools.catalog import default_registry

EXPECTED_TOOLS = [f"mcp__perf-trace-analyzer__{n}" for n in default_registry().names()]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A target repository whose .mcp.json already holds an unrelated server."""
    path = tmp_path / "repo"
    path.mkdir()
    other = {"mcpServers": {"github": {"command": "gh-mcp", "args": ["--stdio"]}}, "x": 1}
    (path / ".mcp.json").write_text(json.dumps(other), encoding="utf-8")
    return path


def install(repo: Path, *extra: str) -> int:
    """Runs `pta install-claude --repo REPO …` in process."""
    return main(["install-claude", "--repo", str(repo), *extra])


def test_agent_file_frontmatter_has_the_claude_code_fields(repo: Path) -> None:
    """The frontmatter parses as YAML: name, description with examples, tools, opus, project."""
    assert install(repo) == 0
    text = (repo / AGENT_RELATIVE).read_text(encoding="utf-8")
    meta = parse_frontmatter(text)
    assert meta["name"] == "perf-trace-analyzer"
    assert meta["model"] == "opus" and meta["memory"] == "project"
    assert "<example>" in meta["description"] and "deadlock" in meta["description"]
    tools = [t.strip() for t in meta["tools"].split(",")]
    assert tools == [*EXPECTED_TOOLS, "Read", "Write", "Edit"]
    assert ".claude/agent-memory/perf-trace-analyzer/" in text


def test_agent_body_carries_the_cli_agents_instructions(repo: Path) -> None:
    """The body includes the same rules partial as the CLI agent's system prompt."""
    assert install(repo) == 0
    body = (repo / AGENT_RELATIVE).read_text(encoding="utf-8")
    rules = prompts.render("_rules")
    assert rules.strip() in body
    assert "## Contention & Deadlocks" in body


def test_the_server_is_scoped_to_the_subagent_by_default(repo: Path) -> None:
    """The agent's frontmatter defines `pta mcp --repo` inline; .mcp.json is left as it was,
    so the main Claude Code session never loads the ten tool definitions."""
    before = (repo / ".mcp.json").read_text(encoding="utf-8")
    assert install(repo) == 0
    meta = parse_frontmatter((repo / AGENT_RELATIVE).read_text(encoding="utf-8"))
    [server] = meta["mcpServers"]
    entry = server["perf-trace-analyzer"]
    assert entry["type"] == "stdio" and os.access(entry["command"], os.X_OK)
    assert entry["args"][-3:] == ["mcp", "--repo", str(repo.resolve())]
    assert (repo / ".mcp.json").read_text(encoding="utf-8") == before


def test_mcp_json_keeps_other_servers_and_starts_pta_mcp(repo: Path) -> None:
    """--mcp-json (the fallback): .mcp.json keeps the other server and key, adds `pta mcp`;
    the agent then inherits the server from the session (no inline definition)."""
    assert install(repo, "--mcp-json") == 0
    document = json.loads((repo / ".mcp.json").read_text(encoding="utf-8"))
    assert document["x"] == 1
    assert document["mcpServers"]["github"] == {"command": "gh-mcp", "args": ["--stdio"]}
    entry = document["mcpServers"]["perf-trace-analyzer"]
    assert Path(entry["command"]).is_absolute() and os.access(entry["command"], os.X_OK)
    assert entry["args"][-3:] == ["mcp", "--repo", str(repo.resolve())]
    assert "mcpServers" not in parse_frontmatter((repo / AGENT_RELATIVE).read_text("utf-8"))


def test_a_scoped_install_removes_the_session_wide_entry(repo: Path) -> None:
    """Going from --mcp-json to the default takes our entry out of .mcp.json, nothing else."""
    assert install(repo, "--mcp-json") == 0
    assert install(repo) == 0
    document = json.loads((repo / ".mcp.json").read_text(encoding="utf-8"))
    assert document == {
        "mcpServers": {"github": {"command": "gh-mcp", "args": ["--stdio"]}},
        "x": 1,
    }


def test_the_description_says_when_and_when_not() -> None:
    """Claude Code picks the subagent from its description: both sides are spelled out."""
    description = prompts.render("_claude_agent_description")
    assert "Use it for performance" in description and "Do not use it for" in description
    assert "proactively" not in description.lower()  # a run takes minutes: never unasked


def test_second_run_is_idempotent(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Re-installing changes no byte and says both files are unchanged."""
    assert install(repo) == 0
    before = {p: p.read_bytes() for p in (repo / AGENT_RELATIVE, repo / ".mcp.json")}
    capsys.readouterr()
    assert install(repo) == 0
    assert capsys.readouterr().out.count("unchanged") == 2
    assert {p: p.read_bytes() for p in before} == before


def test_hand_edited_agent_needs_force(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A hand edit is kept (exit 1, a diff on stderr) until --force replaces it."""
    assert install(repo) == 0
    agent = repo / AGENT_RELATIVE
    edited = agent.read_text(encoding="utf-8").replace("model: opus", "model: sonnet")
    agent.write_text(edited, encoding="utf-8")
    capsys.readouterr()
    assert install(repo) == 1
    err = capsys.readouterr().err
    assert "edited by hand" in err and "-model: sonnet" in err and "+model: opus" in err
    assert agent.read_text(encoding="utf-8") == edited
    assert install(repo, "--force") == 0
    assert is_generated(agent.read_text(encoding="utf-8"))
    assert "model: opus" in agent.read_text(encoding="utf-8")


def test_dry_run_prints_and_writes_nothing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--dry-run prints both files' new text and leaves the repository untouched."""
    before = (repo / ".mcp.json").read_text(encoding="utf-8")
    assert install(repo, "--dry-run", "--mcp-json") == 0
    out = capsys.readouterr().out
    assert "name: perf-trace-analyzer" in out and '"perf-trace-analyzer": {' in out
    assert not (repo / AGENT_RELATIVE).exists()
    assert (repo / ".mcp.json").read_text(encoding="utf-8") == before


def test_broken_mcp_json_is_not_clobbered(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unparseable .mcp.json stops the install with a clear message; nothing is written."""
    (repo / ".mcp.json").write_text("{not json", encoding="utf-8")
    assert install(repo) == 1
    assert "not valid JSON" in capsys.readouterr().err
    assert (repo / ".mcp.json").read_text(encoding="utf-8") == "{not json"
    assert not (repo / AGENT_RELATIVE).exists()


def test_check_fails_before_and_passes_after_install(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--check reports the missing agent first; after installing, the real server lists tools."""
    assert install(repo, "--check") == 1
    assert "✘ agent file" in capsys.readouterr().out
    assert install(repo) == 0
    capsys.readouterr()
    assert install(repo, "--check") == 0
    out = capsys.readouterr().out
    assert out.count("✔") == 3 and f"{len(EXPECTED_TOOLS)} tools listed" in out
    assert "✔ agent-scoped MCP server 'perf-trace-analyzer'" in out


def test_check_reports_a_frontmatter_that_does_not_parse(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A frontmatter broken by hand is reported as such by --check."""
    assert install(repo, "--mcp-json") == 0
    (repo / ".mcp.json").unlink()  # keeps the check to the files (no server start)
    agent = repo / AGENT_RELATIVE
    agent.write_text(agent.read_text(encoding="utf-8").replace("model: opus", 'model: "'))
    capsys.readouterr()
    assert install(repo, "--check") == 1
    out = capsys.readouterr().out
    assert "not valid YAML" in out and "✘ .mcp.json" in out
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(agent.read_text(encoding="utf-8").split("---")[1])
