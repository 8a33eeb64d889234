"""`pta install-claude`: install the Claude Code subagent and register the MCP server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.claude_install import FileChange

NEXT_STEPS = """\
Next: start Claude Code in {repo} and ask "use the perf-trace-analyzer agent to …"; its
MCP server starts with the subagent, so the main conversation never carries its tools.
Check the setup any time with `pta install-claude --check --repo {repo}`."""

NEXT_STEPS_MCP_JSON = """\
Next: start Claude Code in {repo}, approve the project MCP server `perf-trace-analyzer`
(or run `claude mcp list`), then ask "use the perf-trace-analyzer agent to …".
Check the setup any time with `pta install-claude --check --repo {repo}`."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `install-claude` command."""
    parser = subparsers.add_parser(
        "install-claude",
        help="install the Claude Code subagent and register the MCP server",
        description=(
            "Writes .claude/agents/perf-trace-analyzer.md (the expert instructions, the MCP "
            "tool names plus Read/Write/Edit, model opus, memory project) with the "
            "perf-trace-analyzer server (`pta mcp --repo REPO`) defined in its frontmatter, so "
            "it starts with the subagent only. With --mcp-json the server goes into .mcp.json "
            "instead (other servers kept). A hand-edited agent file is only replaced with --force."
        ),
    )
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the target repository")
    parser.add_argument(
        "--mcp-json",
        action="store_true",
        help="register the server in .mcp.json for the whole session (fallback for Claude Code "
        "versions or settings that ignore servers scoped to a subagent)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--force", action="store_true", help="replace a hand-edited agent file")
    mode.add_argument("--dry-run", action="store_true", help="print the files, write nothing")
    mode.add_argument(
        "--check", action="store_true", help="verify an installed setup (files and server)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Installs, previews or checks; 0 ok, 1 refused or a check failed, 2 bad repository."""
    # Imported here: every `pta` start imports all command modules, and these are heavy.
    from agent.claude_install import InstallError, apply_changes, plan_install
    from tools.catalog import default_registry

    repo = Path(args.repo).expanduser().resolve()
    if not repo.is_dir():
        print(f"pta install-claude: {repo} is not a directory", file=sys.stderr)
        return 2
    if args.check:
        return _check(repo)
    try:
        changes = plan_install(repo, default_registry(), force=args.force, mcp_json=args.mcp_json)
    except InstallError as exc:
        print(f"pta install-claude: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        _print_files(changes)
        return 0
    conflicts = [c for c in changes if c.status == "conflict"]
    if conflicts:
        _explain_conflicts(conflicts)
        return 1
    apply_changes(changes)
    for change in changes:
        verb = {"create": "created", "update": "updated"}.get(change.status, change.status)
        print(f"{verb:9} {change.path}")
    steps = NEXT_STEPS_MCP_JSON if args.mcp_json else NEXT_STEPS
    print(steps.format(repo=repo), file=sys.stderr)
    return 0


def _print_files(changes: list[FileChange]) -> None:
    for change in changes:
        print(f"==> {change.path} ({change.status}; dry run, not written) <==")
        print(change.new, end="" if change.new.endswith("\n") else "\n")
        if change.status == "conflict":
            print(
                f"note: {change.path} was edited by hand; writing it needs --force",
                file=sys.stderr,
            )


def _explain_conflicts(conflicts: list[FileChange]) -> None:
    for change in conflicts:
        print(
            f"pta install-claude: {change.path} was edited by hand; not overwriting it "
            "(nothing was written). Re-run with --force to replace it. It would change:",
            file=sys.stderr,
        )
        print(change.diff(), file=sys.stderr)


def _check(repo: Path) -> int:
    from agent.claude_check import check_install
    from tools.catalog import default_registry

    checks = check_install(repo, default_registry())
    for check in checks:
        mark = "✔" if check.ok else "✘"
        print(f"{mark} {check.name}: {check.detail}")
    return 0 if all(c.ok for c in checks) and len(checks) == 3 else 1
