"""What trace_collect asks of the Dekaf stress tool: scenarios, extra options, the argv.

Facts from the tool's source (thomhurst/Dekaf at b294b56, tools/Dekaf.StressTests; see
docs/verified-sources.md): `--duration` is whole minutes and its timer starts at the
measured-phase marker, after warm-up (ProducerStressTest.cs:53-68), so `ceil(trace_seconds/60)`
minutes cover the trace window; `producer-roundtrip-steady` instead produces for
`--roundtrip-steady-seconds` (ProducerRoundTripStressTest.cs:542-547); `soak` samples its
resources every `--resource-sample-seconds` (default 60, Program.cs:998-999, 1160).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from tools.base import ToolContext
from tools.dotnet_trace import tool_env
from tools.errors import ToolError

KNOWN_SCENARIOS = (
    "producer", "producer-idempotent", "producer-acks-all", "producer-async",
    "producer-async-idempotent", "producer-transactional", "producer-roundtrip-steady",
    "consumer", "consumer-batch", "consumer-raw", "consumer-raw-batch", "soak", "all",
)  # fmt: skip
"""Scenarios of the Dekaf stress tool (Program.cs:1083); its `--help` is preferred when readable.
`all` runs every scenario but `soak`, one after another (Program.cs:790-797)."""

STRESS_OPTIONS: dict[str, str] = {
    "partitions": r"\d{1,4}",
    "linger-ms": r"\d{1,6}",
    "batch-size": r"\d{1,10}",
    # none/lz4/snappy/zstd only: anything else silently means none (Program.cs:1089,
    # ProducerStressTest.cs:42-48).
    "compression": r"none|lz4|snappy|zstd",
    "seed-messages": r"\d{1,10}",
}
"""Extra stress flags the model may set (without `--`) and the values each accepts (fullmatch).
`--brokers` is left out: with an external broker the topics still get replication factor
min(brokers, 3) and the tool exits before its measured phase (Program.cs:152-158)."""

HELP_TIMEOUT_S = 20.0
DEKAF_ONLY = ("soak",)
"""Scenarios with no Confluent counterpart (SoakStressTest.cs:22-23): another client finds no
scenario and the tool exits before its measured phase (Program.cs:799-803)."""
LONG_RUN_MINUTES = 5
"""`run_minutes` above this (or `scenario: all`) needs `confirm_long_run: true`."""
ROUNDTRIP_MARGIN_S = 15
"""Produce-phase length beyond the trace window for producer-roundtrip-steady (attach latency)."""
SOAK_SAMPLE_SECONDS = "5"
"""Soak resource-sample interval, so that a short trace window sees throughput samples."""


@dataclass(frozen=True)
class ScenarioFamily:
    """Scenarios that share a measured-phase marker and a way of setting their length.

    Attributes:
        name: the key of the family's marker in `stress_output.MEASURED_PHASE_MARKERS`.
        length_option: the option giving the measured phase's length in seconds, if not
            `--duration` (minutes).
    """

    name: str
    length_option: str | None = None


FAMILIES = {
    "stress-test": ScenarioFamily("stress-test"),
    "soak": ScenarioFamily("soak"),
    "roundtrip": ScenarioFamily("roundtrip", length_option="--roundtrip-steady-seconds"),
}


def scenario_family(scenario: str) -> ScenarioFamily:
    """The family of ``scenario`` (round-trip scenarios by prefix, as Program.cs:422-423)."""
    if scenario.startswith("producer-roundtrip"):
        return FAMILIES["roundtrip"]
    if scenario == "soak":
        return FAMILIES["soak"]
    return FAMILIES["stress-test"]


def stress_minutes(trace_seconds: int, run_minutes: int | None) -> int:
    """`--duration`: the minutes asked for, at least ``ceil(trace_seconds / 60)`` and 1."""
    return max(run_minutes or 1, math.ceil(trace_seconds / 60), 1)


def check_stress_option(key: str, value: str) -> None:
    """Raises ValueError naming the allowed options or the expected shape."""
    pattern = STRESS_OPTIONS.get(key)
    if pattern is None:
        raise ValueError(f"{key!r} is not allowed; allowed: {', '.join(STRESS_OPTIONS)}")
    if not re.fullmatch(pattern, value):
        raise ValueError(f"value {value!r} for {key!r} does not match {pattern}")


def long_run_refusal(scenario: str, run_minutes: int | None) -> str | None:
    """Why a call without ``confirm_long_run`` is refused (None when it is short enough)."""
    if scenario == "all":
        return (
            "scenario 'all' runs about a dozen scenarios one after another, each for the whole "
            "--duration, and the trace covers only the first. Pick ONE scenario (producer, "
            "consumer, soak, …); pass confirm_long_run: true only if the user asked for all"
        )
    if run_minutes is not None and run_minutes > LONG_RUN_MINUTES:
        return (
            f"run_minutes={run_minutes} keeps the stress tool busy for {run_minutes} minutes "
            "while the trace covers only trace_seconds (the tool is stopped once the trace is "
            f"written, unless wait_for_exit). Leave run_minutes out (or at most "
            f"{LONG_RUN_MINUTES}); pass confirm_long_run: true only if the user asked for a "
            "long run"
        )
    return None


def stress_argv(
    executable: str,
    *,
    scenario: str,
    client: str,
    message_size: int,
    minutes: int,
    trace_seconds: int,
    options: dict[str, str],
    output_dir: str,
) -> list[str]:
    """The stress tool's command line: one scenario, its length, results under ``output_dir``."""
    argv = [executable, "--scenario", scenario, "--client", client]
    argv += ["--message-size", str(message_size), "--duration", str(minutes)]
    family = scenario_family(scenario)
    if family.length_option is not None:
        argv += [family.length_option, str(trace_seconds + ROUNDTRIP_MARGIN_S)]
    if family.name == "soak":
        argv += ["--resource-sample-seconds", SOAK_SAMPLE_SECONDS]
    for key, value in sorted(options.items()):
        argv += [f"--{key}", value]
    return [*argv, "--output", output_dir]


def check_scenario(
    scenario: str, client: str, executable: Path, ctx: ToolContext, notes: list[str]
) -> None:
    """Refuses a scenario the stress tool does not offer (its `--help`, else the known list).

    Raises:
        ToolError: the scenario is unknown, or has no run for ``client``.
    """
    if scenario in DEKAF_ONLY and client != "dekaf":
        raise ToolError(f"scenario {scenario!r} exists for client 'dekaf' only")
    try:
        result = ctx.runner(
            [str(executable), "--help"], cwd=ctx.repo, timeout=HELP_TIMEOUT_S, env=tool_env()
        )
        # A build without --help ignores the flag and starts a run whose header says
        # "Scenario: all" (Program.cs:115): only real help text names the option.
        help_text = result.output_tail if "--scenario" in result.output_tail else ""
    except ToolError:
        help_text = ""
    if help_text:
        if re.search(rf"(?<![\w-]){re.escape(scenario)}(?![\w-])", help_text):
            return
        raise ToolError(
            f"scenario {scenario!r} is not offered by the stress tool:\n{help_text[-2000:]}"
        )
    if scenario not in KNOWN_SCENARIOS:
        raise ToolError(f"unknown scenario {scenario!r}; known: {', '.join(KNOWN_SCENARIOS)}")
    notes.append("the stress tool's --help was not readable; checked the scenario against a list")
