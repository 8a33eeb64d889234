"""`pta memory`: show, search or locate the project memory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from memory import MEMORY_INDEX, MemoryStore, MemoryStoreError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `memory` command with `show`, `search` and `path`."""
    parser = subparsers.add_parser(
        "memory",
        help="show, search or locate the project memory",
        description="The memory the agent reads and writes: MEMORY.md (an index of at most "
        "200 lines), topic files, and past run transcripts (searched last).",
    )
    actions = parser.add_subparsers(dest="memory_action", metavar="ACTION")
    for name, help_text in (
        ("show", "print MEMORY.md and list the topic files"),
        ("search", "search the memory files and past run transcripts"),
        ("path", "print the memory folder"),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument(
            "--repo", type=Path, default=Path.cwd(), help="the target repository (default: cwd)"
        )
        if name == "search":
            action.add_argument("query", nargs="+", help="words that must all appear on a line")
        if name != "path":
            action.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(run=execute)


def execute(args: argparse.Namespace) -> int:
    """Runs one memory action; 2 when no action was given."""
    action = getattr(args, "memory_action", None)
    if action is None:
        print("pta memory: give an action: show, search QUERY or path", file=sys.stderr)
        return 2
    store = MemoryStore.for_repo(args.repo.resolve())
    if action == "path":
        print(store.root)
        return 0
    try:
        if action == "show":
            return _show(store, as_json=args.json)
        return _search(store, " ".join(args.query), as_json=args.json)
    except MemoryStoreError as exc:  # an unreadable memory folder: one line, not a traceback
        print(f"pta memory {action}: {exc}", file=sys.stderr)
        return 1


def _show(store: MemoryStore, *, as_json: bool) -> int:
    files = store.list_files()
    index = store.read(MEMORY_INDEX) if any(f.path == MEMORY_INDEX for f in files) else ""
    if as_json:
        document = {"root": str(store.root), "memory_md": index, "files": [vars(f) for f in files]}
        print(json.dumps(document, indent=2))
        return 0
    if not files:
        print(f"The memory at {store.root} is empty.", file=sys.stderr)
        return 0
    print(index, end="" if index.endswith("\n") or not index else "\n")
    topics = [f for f in files if f.path != MEMORY_INDEX]
    if topics:
        print("\nTopic files:")
        for topic in topics:
            print(f"  {topic.path} ({topic.lines} lines)")
    return 0


def _search(store: MemoryStore, query: str, *, as_json: bool) -> int:
    if not query.split():
        print("pta memory search: give at least one word to search for", file=sys.stderr)
        return 2
    matches = store.search(query)
    if as_json:
        print(json.dumps({"query": query, "matches": [vars(m) for m in matches]}, indent=2))
        return 0
    if not matches:
        print(f"Nothing in the memory or past runs matches {query!r}.", file=sys.stderr)
    for match in matches:
        where = "sessions/" if match.source == "transcript" else ""
        print(f"{where}{match.path}:{match.line}: {match.text}")
    return 0
