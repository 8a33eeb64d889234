"""Parses the Dekaf stress tool's console output (line shapes in docs/verified-sources.md).

Numbers are printed with the machine's culture (`{:N0}`, `{:F1}`; the tool has no
InvariantGlobalization). trace_collect runs it with DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1, and
the parsing below still reads `1.234.567`, `1 234 567` or `182,4` should a run escape that.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, PrivateAttr

MEASURED_PHASE_MARKERS: dict[str, re.Pattern[str]] = {
    # Producer and consumer scenarios, e.g. "  Running Dekaf producer stress test for 1 minutes..."
    # (Scenarios/ProducerStressTest.cs:68, ConsumerStressTest.cs:60 and their siblings).
    "stress-test": re.compile(r"Running .* stress test for"),
    # "  Running mixed Dekaf soak for 1 minutes at 5,000 msg/s..." (SoakStressTest.cs:106-108).
    "soak": re.compile(r"Running mixed .* soak for"),
    # "  Producing sequenced messages with Dekaf for up to 60s (log budget …)..."
    # (ProducerRoundTripStressTest.cs:99, 549-551).
    "roundtrip": re.compile(r"Producing sequenced messages with .* for up to"),
}
"""The start of the measured phase (the moment to attach the trace), per scenario family."""

_INT = r"(\d(?:[\d.,'\u2019\u00a0\u202f\u066c]*\d)?)"
"""An `{:N0}` number in any culture: digits with group separators (`,` `.` `'` NBSP …)."""
_DEC = r"(\d+(?:[.,\u066b]\d+)?)"
"""An `{:F1}`/`{:N1}` number in any culture: one decimal separator, no grouping."""
_CLOCK = r"\[(\d\d\D\d\d\D\d\d)\]"
_PID = re.compile(r"Process started at .*PID: (\d+)")
_SCENARIO = re.compile(r"=== Running: (.+?) ===")
_PROGRESS = re.compile(
    rf"{_CLOCK} Progress: {_INT} messages \| instant: {_INT} msg/sec \| avg: {_INT} msg/sec"
)
_PRODUCED = re.compile(rf"Produced {_INT}; elapsed {_DEC}s / ")
_SOAK_SAMPLE = re.compile(rf"{_CLOCK} Soak resources: .*Produced={_INT}msg/s")
_RESOURCES = re.compile(
    rf"(Initial|Monitor|Final) Resources: WorkingSet={_DEC}MB, Private={_DEC}MB, "
    rf"GCHeap={_DEC}MB, Threads={_INT}, GC=\[(\d+)/(\d+)/(\d+)\]"
)
_COMPLETED = re.compile(rf"Completed: {_INT} messages, {_INT} msg/sec")
_EXTERNAL = re.compile(r"Using external Kafka at (\S+)")
_WATCHDOG = "PROGRESS WATCHDOG:"
MAX_WATCHDOG_LINES = 10


def parse_int(text: str) -> int:
    """An `{:N0}` number printed in any culture (group separators dropped)."""
    return int(re.sub(r"\D", "", text))


def parse_decimal(text: str) -> float:
    """An `{:F1}` number printed in any culture (`,` or `.` as the decimal separator)."""
    return float(re.sub(r"[,\u066b]", ".", text))


class ProgressLine(BaseModel):
    """One throughput report of the measured phase (a `Progress:` line or its scenario's kin)."""

    clock: str = Field(description="The stress tool's HH:mm:ss stamp ('' when it prints none).")
    messages: int = Field(description="Messages so far in the measured phase.")
    instant_msg_per_s: float = Field(description="Throughput over the last interval.")
    avg_msg_per_s: float = Field(description="Average throughput so far.")


class ResourcesLine(BaseModel):
    """An `Initial`, `Monitor` (every 5 s) or `Final` `Resources:` line."""

    phase: str = Field(description="Initial, Monitor or Final.")
    clock: str = Field(default="", description="The stress tool's HH:mm:ss stamp.")
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
    marker_family: str | None = None
    progress: list[ProgressLine] = Field(default_factory=list)
    resources: list[ResourcesLine] = Field(default_factory=list)
    completed_messages: int | None = None
    completed_msg_per_s: float | None = None
    correctness_failure: bool = False
    watchdog: list[str] = Field(default_factory=list)
    _last_produced: tuple[int, float] | None = PrivateAttr(default=None)

    def feed(self, line: str) -> bool:
        """Records one output line; returns True when it is the measured-phase marker."""
        if match := _PROGRESS.search(line):
            clock, messages, instant, avg = match.groups()
            self._add_progress(clock, parse_int(messages), parse_int(instant), parse_int(avg))
        elif match := _RESOURCES.search(line):
            self._add_resources(match, line)
        elif not self.marker_seen and (family := _marker_family(line)) is not None:
            self.marker_seen, self.marker_family = True, family
            return True
        else:
            self._feed_rare(line)
        return False

    def _add_progress(self, clock: str, messages: int, instant: float, avg: float) -> None:
        self.progress.append(
            ProgressLine(clock=clock, messages=messages, instant_msg_per_s=instant,
                         avg_msg_per_s=avg)
        )  # fmt: skip

    def _add_resources(self, match: re.Match[str], line: str) -> None:
        phase, ws, private, heap, threads, g0, g1, g2 = match.groups()
        clock = re.search(_CLOCK, line)
        self.resources.append(
            ResourcesLine(
                phase=phase,
                clock=clock.group(1) if clock else "",
                working_set_mb=parse_decimal(ws),
                private_mb=parse_decimal(private),
                gc_heap_mb=parse_decimal(heap),
                threads=parse_int(threads),
                gc_counts=(int(g0), int(g1), int(g2)),
            )
        )

    def _feed_rare(self, line: str) -> None:
        if _WATCHDOG in line:
            if len(self.watchdog) < MAX_WATCHDOG_LINES:
                self.watchdog.append(line[line.index(_WATCHDOG) :].strip()[:400])
        elif match := _PRODUCED.search(line):
            self._add_produced(parse_int(match.group(1)), parse_decimal(match.group(2)))
        elif match := _SOAK_SAMPLE.search(line):
            rate = parse_int(match.group(2))
            self._add_progress(match.group(1), self._last_messages(), rate, rate)
        elif match := _COMPLETED.search(line):
            self.completed_messages = parse_int(match.group(1))
            self.completed_msg_per_s = parse_int(match.group(2))
        elif match := _PID.search(line):
            self.pid = int(match.group(1))
        elif match := _SCENARIO.search(line):
            self.scenarios.append(match.group(1))
        elif match := _EXTERNAL.search(line):
            self.external_kafka = match.group(1).rstrip(".")
        elif "CORRECTNESS FAILURES DETECTED" in line:
            self.correctness_failure = True

    def _add_produced(self, messages: int, elapsed_s: float) -> None:
        """`Produced N; elapsed Ss / Ts`: the round-trip scenario's progress (no clock)."""
        if elapsed_s <= 0:
            return
        instant = messages / elapsed_s
        if self._last_produced is not None and elapsed_s > self._last_produced[1]:
            before_messages, before_s = self._last_produced
            instant = (messages - before_messages) / (elapsed_s - before_s)
        self._last_produced = (messages, elapsed_s)
        self._add_progress("", messages, round(instant), round(messages / elapsed_s))

    def _last_messages(self) -> int:
        return self.progress[-1].messages if self.progress else 0

    @property
    def latest_msg_per_s(self) -> float | None:
        """The newest average throughput (the completed figure if the phase ended)."""
        if self.completed_msg_per_s is not None:
            return self.completed_msg_per_s
        return self.progress[-1].avg_msg_per_s if self.progress else None

    def resource_summary(self, monitors: int = 6) -> list[ResourcesLine]:
        """Initial, the newest ``monitors`` Monitor lines, and Final, in the order they came."""
        indexes = [i for i, r in enumerate(self.resources) if r.phase == "Monitor"]
        dropped = set(indexes[:-monitors] if monitors else indexes)
        return [r for i, r in enumerate(self.resources) if i not in dropped]


def _marker_family(line: str) -> str | None:
    for family, pattern in MEASURED_PHASE_MARKERS.items():
        if pattern.search(line):
            return family
    return None
