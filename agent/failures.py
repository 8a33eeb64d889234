"""Plain sentences saying which data could not be collected and why.

Built from the tool calls of a run (whoever drove it: Claude or the playbook planner), so
every report can list, one sentence each, what is missing — e.g. "No trace was collected:
the .NET SDK (`dotnet`) is not installed on this machine."
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

WHAT_IS_MISSING: dict[str, str] = {
    "read_memory": "The project memory was not read",
    "write_memory": "What was learned was not saved to memory",
    "start_kafka": "No Kafka broker was started",
    "build": "The stress-test tool was not built",
    "trace_collect": "No trace was collected",
    "trace_report_piped": "No dotnet-trace report was made",
    "convert_speedscope": "No speedscope file was made",
    "analyze_trace": "The trace was not analysed",
    "find_source": "The source of the hot methods was not looked up",
    "check_guidelines": "The hot-path rules were not checked against the source",
}
"""What each tool's failure means for the report, as the start of a sentence."""

_TRACE_NEEDS = ("build", "start_kafka")

BUILD_FAILURE_OPENINGS = ("The build failed", "The build did not finish", "The build was cancelled")
"""How the build tool's error starts when dotnet ran and the build failed (tools/build.py)."""


def is_build_failure(name: str, error_text: str) -> bool:
    """Whether a failed call is a build that ran and failed (not a missing SDK, say)."""
    return name == "build" and error_text.startswith(BUILD_FAILURE_OPENINGS)


@dataclass(frozen=True)
class CallFact:
    """The part of a tool call these sentences need."""

    name: str
    is_error: bool
    text: str


def reason_for(name: str, error_text: str) -> str:
    """Why a tool failed, as the end of a plain sentence (no trailing period)."""
    lowered = error_text.lower()
    if "not available yet" in lowered:
        return f"the `{name}` tool is not available yet in this version of perf-trace-analyzer"
    if re.search(r"'dotnet-trace'.*not found", lowered):
        return "`dotnet-trace` is not installed (`dotnet tool install --global dotnet-trace`)"
    if re.search(r"'dotnet'.*not found", lowered) or "net sdk" in lowered and "not" in lowered:
        return "the .NET SDK (`dotnet`) is not installed on this machine"
    if "docker" in lowered and re.search(r"not (running|found|available|reachable)", lowered):
        return "Docker is not available on this machine (install or start Docker)"
    if "already failed" in lowered and lowered.startswith("not run"):
        return "the same call kept failing and was stopped"
    if name == "build" and lowered.startswith("the build failed with"):
        return _compile_failure(error_text)
    return _first_sentence(error_text)


def _compile_failure(error_text: str) -> str:
    """``the build failed with 2 compiler errors, the first CS1002 at Program.cs:3: ; expected``."""
    head = error_text.split(",", 1)[0].strip()
    first = next((line[2:] for line in error_text.splitlines() if line.startswith("- ")), None)
    if first is None:
        return head[0].lower() + head[1:]
    where, _, rest = first.partition(": ")
    code, _, message = rest.partition(": ")
    return f"{head[0].lower()}{head[1:]}, the first {code} at {where}: {message}"


def missing_data_sentences(calls: Sequence[CallFact]) -> list[str]:
    """One sentence per piece of data the run could not collect, in the order tools ran."""
    succeeded = {c.name for c in calls if not c.is_error}
    failed: dict[str, CallFact] = {}
    for fact in calls:
        if fact.is_error and fact.name not in succeeded and fact.name not in failed:
            failed[fact.name] = fact
    sentences = [
        f"{WHAT_IS_MISSING.get(name, f'`{name}` gave no result')}: {reason_for(name, fact.text)}."
        for name, fact in failed.items()
    ]
    has_trace = "trace_collect" in succeeded or "analyze_trace" in succeeded
    if not has_trace and "trace_collect" not in failed:
        blocker = next((failed[n] for n in _TRACE_NEEDS if n in failed), None)
        if blocker is not None:
            reason = reason_for(blocker.name, blocker.text)
            if is_build_failure(blocker.name, blocker.text):
                reason = "the build failed (its errors are listed above)"
            sentences.append(f"{WHAT_IS_MISSING['trace_collect']}: {reason}.")
    return sentences


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(\s|$)", flat)
    sentence = match.group(1) if match else flat
    sentence = sentence if len(sentence) <= 200 else sentence[:197] + "…"
    sentence = sentence.rstrip(".")
    if len(sentence) > 1 and sentence[0].isupper() and sentence[1].islower():
        sentence = sentence[0].lower() + sentence[1:]
    return sentence
