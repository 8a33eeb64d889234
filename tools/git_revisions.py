"""Git for the before/after comparison: revisions resolved, checked out aside, commits listed.

Every revision is checked out with ``git worktree add --detach`` in a folder of the run, so the
user's working tree, index and branch are never touched; :func:`worktrees` removes them when
the block ends, whatever ended it (an error, a cancellation, Ctrl-C), and prunes git's
bookkeeping. Git always runs through the injected process runner with a fixed argv; a revision
is checked against :data:`REVISION_PATTERN` before git sees it, so it can never be an option.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from tools.base import ToolContext
from tools.errors import ToolError

REVISION_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./~^@{}+-]{0,199}")
"""A branch, tag, commit, ``HEAD~2``, ``main@{yesterday}``: never an option (no leading ``-``)."""
MERGE_BASE = "merge-base"
"""The BASE that means "where HEAD left the main branch" (``git merge-base <main> HEAD``)."""
MAIN_BRANCHES = ("origin/HEAD", "main", "master", "origin/main", "origin/master")
GIT_TIMEOUT_S = 120.0
MAX_COMMITS = 30
IGNORE_ALL = "# Created by perf-trace-analyzer: runs, traces and reports, never committed.\n*\n"


@dataclass(frozen=True)
class Revision:
    """A resolved revision: what the user wrote, the commit, its subject line."""

    spec: str
    sha: str
    subject: str

    @property
    def short(self) -> str:
        """The abbreviated commit id."""
        return self.sha[:10]


class Commit(BaseModel):
    """One commit between BASE and HEAD that touched a changed file."""

    sha: str = Field(description="Abbreviated commit id.")
    date: str = Field(description="Author date, YYYY-MM-DD.")
    author: str
    subject: str
    files: list[str] = Field(description="Changed files (of those asked about) it touched.")


def split_range(text: str) -> tuple[str, str]:
    """``BASE..HEAD`` → (BASE, HEAD); ``BASE`` → (BASE, "HEAD").

    Raises:
        ToolError: a side is empty or not shaped like a revision.
    """
    base, dots, head = text.partition("..")
    head = head if dots else "HEAD"
    for side in (base, head):
        check_revision(side)
    return base, head


def check_revision(text: str) -> str:
    """``text`` when it is shaped like a revision.

    Raises:
        ToolError: otherwise (empty, a leading ``-``, spaces, ``..``, shell characters).
    """
    if not REVISION_PATTERN.fullmatch(text) or ".." in text:
        raise ToolError(
            f"{text!r} is not a revision: give a branch, tag, commit id, HEAD~N or "
            f"{MERGE_BASE!r} (BASE..HEAD for both)"
        )
    return text


def git(ctx: ToolContext, *args: str, cancellable: bool = True) -> str:
    """Runs ``git -C <repo> ARGS`` and returns its output.

    Raises:
        ToolError: git failed (its output is in the message) or was cancelled.
    """
    result = ctx.runner(
        ["git", "-C", str(ctx.repo), *args],
        cwd=ctx.repo,
        timeout=GIT_TIMEOUT_S,
        cancel=ctx.cancel if cancellable else None,
    )
    if result.cancelled:
        raise ToolError(f"git {args[0]} was cancelled")
    if not result.ok:
        raise ToolError(f"git {' '.join(args)} failed (exit {result.exit_code}):\n"
                        f"{result.output_tail[-2000:]}")  # fmt: skip
    return result.output_tail


def resolve(ctx: ToolContext, spec: str, *, head: str = "HEAD") -> Revision:
    """The commit ``spec`` names (``merge-base``: where ``head`` left the main branch).

    Raises:
        ToolError: not a git repository, or no such revision.
    """
    check_revision(spec)
    if spec == MERGE_BASE:
        sha = _merge_base(ctx, head)
    else:
        try:
            sha = git(ctx, "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}").strip()
        except ToolError as exc:
            raise ToolError(f"{spec!r} names no commit in {str(ctx.repo)!r}") from exc
    subject = git(ctx, "log", "-1", "--format=%s", sha).strip()
    return Revision(spec, sha, subject)


def _merge_base(ctx: ToolContext, head: str) -> str:
    for branch in MAIN_BRANCHES:
        try:
            git(ctx, "rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}")
        except ToolError:
            continue
        return git(ctx, "merge-base", branch, head).strip()
    raise ToolError(f"{MERGE_BASE!r} needs a main branch; none of {', '.join(MAIN_BRANCHES)}")


def is_dirty(ctx: ToolContext) -> bool:
    """True when the working tree has changes HEAD does not hold (they are not compared)."""
    return bool(git(ctx, "status", "--porcelain", "--untracked-files=no").strip())


def ignore_folder(folder: Path) -> None:
    """Makes ``folder`` invisible to git status (a ``.gitignore`` of ``*``, as pytest does)."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / ".gitignore"
    if not marker.exists():
        marker.write_text(IGNORE_ALL, encoding="utf-8")


@contextmanager
def worktrees(ctx: ToolContext, folder: Path, revisions: list[Revision]) -> Iterator[list[Path]]:
    """Checks out each revision in ``folder/<label>`` and removes them all afterwards.

    Cleanup runs even when ``ctx.cancel`` is set (git is then run without the cancel event).
    """
    created: list[Path] = []
    try:
        for label, revision in zip(("base", "head"), revisions, strict=False):
            path = folder / f"{label}-{revision.short}"
            created.append(path)
            git(ctx, "worktree", "add", "--detach", str(path), revision.sha)
        yield created
    finally:
        remove_worktrees(ctx, created)


def remove_worktrees(ctx: ToolContext, paths: list[Path]) -> None:
    """Removes the worktrees (forcefully: they hold build output) and prunes git's records."""
    for path in paths:
        try:
            git(ctx, "worktree", "remove", "--force", str(path), cancellable=False)
        except ToolError:
            pass  # never registered, or already half gone: the folder goes below
        shutil.rmtree(path, ignore_errors=True)
    try:
        git(ctx, "worktree", "prune", cancellable=False)
    except ToolError:
        pass


def commits_touching(
    ctx: ToolContext, base: Revision, head: Revision, files: list[str]
) -> list[Commit]:
    """Commits in BASE..HEAD that changed any of ``files`` (repository-relative), newest first."""
    if not files:
        return []
    fmt = "--format=@@%h%x09%ad%x09%an%x09%s"
    out = git(ctx, "log", fmt, "--date=short", "--name-only", f"-n{MAX_COMMITS}",
              f"{base.sha}..{head.sha}", "--", *files)  # fmt: skip
    commits: list[Commit] = []
    for line in out.splitlines():
        if line.startswith("@@"):
            sha, date, author, subject = (line[2:].split("\t", 3) + ["", "", ""])[:4]
            commits.append(Commit(sha=sha, date=date, author=author, subject=subject, files=[]))
        elif line.strip() and commits and line.strip() in files:
            commits[-1].files.append(line.strip())
    return commits
