"""Parses the Dekaf stress tool's console output (line shapes in docs/dekaf-target.md)."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

MARKER_PATTERN = re.compile(r"Running .* stress test for")
"""The start of the measured phase: the moment to attach the trace."""

_NUMBER = r"([\d,]+(?:\.\d+)?)"
_PID = re.compile(r"Process started at .*PID: (\d+)")
_SCENARIO = re.compile(r"=== Running: (.+?) ===")
_PROGRESS = re.compile(
    rf"\[(\d\d:\d\d:\d\d)\] Progress: {_NUMBER} messages \| instant: {_NUMBER} msg/sec"
    rf" \| avg: {_NUMBER} msg/sec"
)
_RESOURCES = re.compile(
    rf"(Initial|Final) Resources: WorkingSet={_NUMBER}MB, Private={_NUMBER}MB, "
    rf"GCHeap={_NUMBER}MB, Threads=(\d+), GC=\[(\d+)/(\d+)/(\d+)\]"
)
_COMPLETED = re.compile(rf"Completed: {_NUMBER} messages, {_NUMBER} msg/sec")
_EXTERNAL = re.compile(r"Using external Kafka at (\S+)")


def _num(text: str) -> float:
    return float(text.replace(",", ""))


class ProgressLine(BaseModel):
    """One `Progress:` line of the measured phase."""

    clock: str = Field(description="The stress tool's HH:mm:ss stamp.")
    messages: int = Field(description="Messages so far in the measured phase.")
    instant_msg_per_s: float = Field(description="Throughput over the last interval.")
    avg_msg_per_s: float = Field(description="Average throughput so far.")


class ResourcesLine(BaseModel):
    """An `Initial Resources` / `Final Resources` line."""

    phase: str = Field(description="Initial or Final.")
    working_set_mb: float = Field(description="Working set in MB.")
    private_mb: float = Field(description="Private bytes in MB.")
    gc_heap_mb: float = Field(description="GC heap size in MB.")
    threads: int = Field(description="Thread count.")
    gc_counts: tuple[int, int, int] = Field(description="Gen0/gen1/gen2 collection counts.")


class StressOutput(BaseModel):
    """Everything recognised so far in the stress tool's output."""

    pid: int | None = None
    scenarios: list[str] = Field(default_factory=list)
    external_kafka: str | None = None
    marker_seen: bool = False
    progress: list[ProgressLine] = Field(default_factory=list)
    resources: list[ResourcesLine] = Field(default_factory=list)
    completed_messages: int | None = None
    completed_msg_per_s: float | None = None
    correctness_failure: bool = False

    def feed(self, line: str) -> bool:
        """Records one output line; returns True when it is the measured-phase marker."""
        if match := _PROGRESS.search(line):
            clock, messages, instant, avg = match.groups()
            self.progress.append(
                ProgressLine(
                    clock=clock,
                    messages=int(_num(messages)),
                    instant_msg_per_s=_num(instant),
                    avg_msg_per_s=_num(avg),
                )
            )
        elif match := _RESOURCES.search(line):
            phase, ws, private, heap, threads, g0, g1, g2 = match.groups()
            self.resources.append(
                ResourcesLine(
                    phase=phase,
                    working_set_mb=_num(ws),
                    private_mb=_num(private),
                    gc_heap_mb=_num(heap),
                    threads=int(threads),
                    gc_counts=(int(g0), int(g1), int(g2)),
                )
            )
        elif MARKER_PATTERN.search(line):
            self.marker_seen = True
            return True
        else:
            self._feed_rare(line)
        return False

    def _feed_rare(self, line: str) -> None:
        if match := _COMPLETED.search(line):
            self.completed_messages = int(_num(match.group(1)))
            self.completed_msg_per_s = _num(match.group(2))
        elif match := _PID.search(line):
            self.pid = int(match.group(1))
        elif match := _SCENARIO.search(line):
            self.scenarios.append(match.group(1))
        elif match := _EXTERNAL.search(line):
            self.external_kafka = match.group(1).rstrip(".")
        elif "CORRECTNESS FAILURES DETECTED" in line:
            self.correctness_failure = True

    @property
    def latest_msg_per_s(self) -> float | None:
        """The newest average throughput (the completed figure if the phase ended)."""
        if self.completed_msg_per_s is not None:
            return self.completed_msg_per_s
        return self.progress[-1].avg_msg_per_s if self.progress else None
