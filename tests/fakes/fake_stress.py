#!/usr/bin/env python3
"""A fake Dekaf.StressTests executable that behaves like the real tool.

Each faked behaviour cites the real source it imitates: thomhurst/Dekaf at b294b56, paths under
tools/Dekaf.StressTests/ (see docs/verified-sources.md). Real durations are multiplied by
$PTA_FAKE_TIME_SCALE; $PTA_FAKE_PROGRESS_S overrides the (scaled) 10 s Progress interval.
Modes ($PTA_FAKE_STRESS_MODE): ``normal``; ``crash`` dies $PTA_FAKE_CRASH_AFTER_S seconds into
the measured phase; ``exit-early`` fails before the marker; ``no-marker`` never reaches the
measured phase; ``stall`` stops making progress at the marker (the progress watchdog fires).
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from _common import console_like_dotnet, option, record_argv, scaled_sleep  # noqa: E402

SCENARIOS = (
    "producer producer-idempotent producer-acks-all producer-async producer-async-idempotent "
    "producer-transactional producer-roundtrip-steady consumer consumer-batch consumer-raw "
    "consumer-raw-batch soak"
).split()
CONSUMERS = ("consumer", "consumer-batch", "consumer-raw", "consumer-raw-batch")
# Program.cs:1072-1130 (abridged: the options trace_collect uses, verbatim).
HELP = """Dekaf Stress Test Runner

Usage:
  dotnet run -c Release -- [options]

Options:
  --duration <minutes>    Test duration in minutes (default: 15)
  --message-size <bytes>  Message size in bytes (default: 1000)
  --scenario <name>       Run specific scenario: producer, producer-idempotent, producer-acks-all, producer-async, producer-async-idempotent, producer-transactional, producer-roundtrip-steady, consumer, consumer-batch, consumer-raw, consumer-raw-batch, soak, all (default: all; all excludes soak)
  --client <name>         Run specific client: dekaf, confluent, all (default: all)
  --output <path>         Output directory for results (default: ./results)
  --partitions <count>    Number of topic partitions (default: 6)
  --compression <type>   Compression type: none, lz4, snappy, zstd (default: none)
  --brokers <count>      Number of Kafka brokers (default: 1, use 3 for multi-broker)
  --resource-sample-seconds <n>    Soak resource sample interval (default: 60)
  --roundtrip-steady-seconds <seconds>  Measured producer duration for producer-roundtrip-steady (default: 60)
"""  # noqa: E501
RATE = 1_450_000
"""Messages per (unscaled) second, about Dekaf's published fire-and-forget figure."""


def scale() -> float:
    return float(os.environ.get("PTA_FAKE_TIME_SCALE", "1"))


def separators() -> tuple[str, str]:
    """(group, decimal) separators of .NET's current culture here.

    The tool has no InvariantGlobalization, so `{:N0}`/`{:F1}` follow LC_ALL/LANG unless
    DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 (checked with a .NET 10 console app on this machine:
    LANG=de_DE.UTF-8 prints 1.234.567 and 182,4; fr_FR uses U+202F and a comma).
    """
    if os.environ.get("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "").lower() in ("1", "true"):
        return ",", "."
    locale = os.environ.get("LC_ALL") or os.environ.get("LANG") or ""
    if locale.startswith("de_DE"):
        return ".", ","
    if locale.startswith("fr_FR"):
        return "\u202f", ","
    return ",", "."


def n0(value: float) -> str:
    return f"{value:,.0f}".replace(",", separators()[0])


def f1(value: float) -> str:
    return f"{value:.1f}".replace(".", separators()[1])


def clock() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%H:%M:%S")


def say(text: str, stream: TextIO = sys.stdout) -> None:
    print(text, file=stream, flush=True)


def resources(label: str, threads: int, gcs: str) -> None:
    # StressTestHelpers.cs:489-506 (LogResourceUsage: F1 megabytes, culture-formatted).
    say(
        f"  [{clock()}] {label} Resources: WorkingSet={f1(182.4)}MB, Private={f1(150.2)}MB, "
        f"GCHeap={f1(24.7)}MB, Threads={threads}, GC=[{gcs}]"
    )


class Phase:
    """The measured phase's clock and message counter (stopped while the tool stalls)."""

    def __init__(self, stalled: bool) -> None:
        self.started = time.monotonic()
        self.stalled = stalled

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def messages(self) -> int:
        return 0 if self.stalled else int(RATE * self.elapsed() / scale())


def fail(text: str) -> int:
    # Program.cs:103-107: any exception is printed as "Error: {ex}" and the exit code is 1.
    say(f"Error: {text}")
    return 1


def watchdog(phase: Phase, output: Path, title: str) -> int | None:
    """ProgressWatchdog.cs:86-87, 125, 271-293: 30 s without progress captures stacks into
    <output>/watchdog and says so on stderr; 5 minutes without progress exits 1."""
    stalled_for = phase.elapsed() / scale()
    folder = output.resolve() / "watchdog"
    if stalled_for >= 300:
        say("PROGRESS WATCHDOG: stall exceeded 5 minutes; exiting with code 1.", sys.stderr)
        return 1
    if stalled_for >= 30 and not folder.exists():
        client, scenario = title.split(" ", 1)
        say(
            f"PROGRESS WATCHDOG: {client} {scenario} made no message progress for "
            f"{stalled_for:.0f}s; capturing stall diagnostics in {folder}",
            sys.stderr,
        )
        folder.mkdir(parents=True)
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
        name = f"watchdog-{client}-{scenario}-{stamp}-01-stall-stacks.txt"
        (folder / name).write_text("Dekaf stress progress watchdog managed thread stacks\n")
    return None


def run_loop(phase: Phase, seconds: float, report: Callable[[int], None], *, mode: str,
             output: Path, title: str) -> int | None:  # fmt: skip
    """Calls ``report`` every progress interval until ``seconds`` (unscaled) have passed."""
    interval = float(os.environ.get("PTA_FAKE_PROGRESS_S") or 10 * scale())
    crash_after = float(os.environ.get("PTA_FAKE_CRASH_AFTER_S", "0.5"))
    ticks = 0
    while phase.elapsed() < seconds * scale():
        time.sleep(interval / 2)
        ticks += 1
        report(ticks)
        if mode == "crash" and phase.elapsed() >= crash_after:
            say("Unhandled exception. System.InvalidOperationException: Producer is disposed")
            say("   at Dekaf.Producer.KafkaProducer`2.ThrowIfDisposed()")
            return 134
        if mode == "stall" and (code := watchdog(phase, output, title)) is not None:
            return code
    return None


def stress_phase(title: str, minutes: int, mode: str, output: Path) -> int:
    # ProducerStressTest.cs:66-70: the --duration timer starts here, after warm-up.
    say(f"  Running {title} stress test for {minutes} minutes...")
    say(f"  Start time: {clock()} UTC")
    resources("Initial", 24, "0/0/0")
    phase = Phase(stalled=mode == "stall")
    last = [0, phase.started]

    def report(tick: int) -> None:
        if tick % 2 == 0:  # PeriodicProgressReporter.cs:13, 31: every ~10 s
            messages, now = phase.messages(), time.monotonic()
            instant = (messages - last[0]) / max(now - last[1], 1e-9) * scale()
            avg = messages / max(phase.elapsed(), 1e-9) * scale()
            say(f"  [{clock()}] Progress: {n0(messages)} messages | instant: {n0(instant)} "
                f"msg/sec | avg: {n0(avg)} msg/sec")  # fmt: skip
            last[:] = [messages, now]
        resources("Monitor", 31, f"{tick * 3}/1/0")  # StressTestHelpers.cs:461-467: every 5 s

    code = run_loop(phase, minutes * 60, report, mode=mode, output=output, title=title)
    if code is not None:
        return code
    say("  Flushing remaining messages...")
    say(f"  Completed: {n0(phase.messages())} messages, {n0(RATE)} msg/sec")
    resources("Final", 31, "212/9/1")
    return 0


def soak_phase(minutes: int, sample_s: float, mode: str, output: Path) -> int:
    # SoakStressTest.cs:106-111 (marker), ResourceTrendMonitor.cs:105-112 (one line per sample).
    say(f"  Running mixed Dekaf soak for {n0(minutes)} minutes at {n0(5000)} msg/s...")
    say(f"  Resource samples every {n0(sample_s)}s; trend warmup 60m")
    phase = Phase(stalled=mode == "stall")
    every = max(round(sample_s / 5), 1)

    def report(tick: int) -> None:
        if tick % every == 0:
            say(f"  [{clock()}] Soak resources: WorkingSet={f1(190.2)}MiB, GCHeap={f1(30.1)}MiB, "
                f"LOH={f1(0.0)}MiB, Gen2={n0(1)}, Threads={n0(33)}, Produced={n0(5000)}msg/s, "
                f"Consumed={n0(4990)}msg/s")  # fmt: skip

    code = run_loop(phase, minutes * 60, report, mode=mode, output=output, title="Dekaf soak")
    return 0 if code is None else code


def roundtrip_phase(seconds: int, mode: str, output: Path) -> int:
    # ProducerRoundTripStressTest.cs:99, 549-551: the marker; the phase lasts
    # --roundtrip-steady-seconds whatever --duration says (542-547); progress every 50,000
    # messages as "Produced N; elapsed Ss / Ts" (553-559).
    say(f"  Producing sequenced messages with Dekaf for up to {n0(seconds)}s "
        "(log budget 4.00 GiB)...")  # fmt: skip
    phase = Phase(stalled=mode == "stall")

    def report(tick: int) -> None:
        elapsed = phase.elapsed() / scale()
        say(f"  Produced {n0(phase.messages())}; elapsed {f1(elapsed)}s / {n0(seconds)}s")

    title = "Dekaf producer-roundtrip-steady"
    code = run_loop(phase, seconds, report, mode=mode, output=output, title=title)
    if code is not None:
        return code
    say(f"  Completed: {n0(phase.messages())} messages, {n0(RATE)} msg/sec")
    return 0


def header(argv: list[str]) -> None:
    # Program.cs:112-140.
    say("Dekaf Stress Test Runner")
    say(f"Duration: {option(argv, '--duration', default='15')} minutes")
    say(f"Scenario: {(option(argv, '--scenario', default='all') or 'all').lower()}")
    say(f"Compression: {option(argv, '--compression', default='none')}")
    say("-" * 50)


def save_results(output: Path, client: str, scenario: str) -> None:
    # Program.cs:359-372: results land in --output, named after client, scenario and brokers.
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    path = output / f"stress-test-results-{client}-{scenario}-1brokers-{stamp}.json"
    path.write_text(json.dumps({"results": [{"client": client, "scenario": scenario}]}))
    say(f"\nResults saved to: {path}")
    say(f"Markdown report: {path.with_suffix('.md')}")


def run(argv: list[str]) -> int:
    mode = os.environ.get("PTA_FAKE_STRESS_MODE", "normal")
    minutes = int(option(argv, "--duration", default="15") or "15")  # int.Parse: minutes
    scenario = (option(argv, "--scenario", default="all") or "all").lower()
    client = (option(argv, "--client", default="all") or "all").lower()
    output = Path(option(argv, "--output", default="./results") or "./results")
    header(argv)
    output.mkdir(parents=True, exist_ok=True)  # Program.cs:142
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    # PTA_FAKE_STRESS_BROKERLESS: a target that needs no broker (needs_kafka = false), like
    # examples/flushlab, whose stress tool never reads KAFKA_BOOTSTRAP_SERVERS.
    brokerless = os.environ.get("PTA_FAKE_STRESS_BROKERLESS") == "1"
    # KafkaEnvironment.cs:187-199: no external broker -> Testcontainers
    if not bootstrap and not brokerless:
        say("Starting Kafka container via Testcontainers...")
        return fail("DotNet.Testcontainers.Builders.DockerUnavailableException: Docker is "
                    "either not running or misconfigured.")  # fmt: skip
    if bootstrap:
        say(f"Using external Kafka at {bootstrap}")  # KafkaEnvironment.cs:190
    names = [s for s in SCENARIOS if s != "soak"] if scenario == "all" else [scenario]
    if scenario not in [*SCENARIOS, "all"] or (client == "confluent" and scenario == "soak"):
        # Program.cs:790-803 (soak has no Confluent twin, SoakStressTest.cs:22-23).
        return fail(f"System.ArgumentException: No stress scenario matched --scenario "
                    f"{scenario} --client {client}.")  # fmt: skip
    if int(option(argv, "--brokers", default="1") or "1") > 1:
        # Program.cs:152-158: topics get replication factor min(brokers, 3) even with an
        # external single broker, which refuses it.
        return fail("Dekaf.Errors.KafkaException: Replication factor: 3 larger than available "
                    "brokers: 1.")  # fmt: skip
    if any(name in CONSUMERS for name in names):  # Program.cs:183-186, 747-787
        say("Seeding consumer topic with messages...")
        scaled_sleep(int(option(argv, "--seed-messages", default="2000000") or "0") / 100_000)
    code = 0
    for name in names:
        code = run_scenario(name, client, minutes, mode, output, argv)
        if code:
            return code
    save_results(output, client, scenario)
    return code


def run_scenario(name: str, client: str, minutes: int, mode: str, output: Path,
                 argv: list[str]) -> int:  # fmt: skip
    title = f"{'Confluent' if client == 'confluent' else 'Dekaf'} {name}"
    say(f"\n=== Running: {title} ===")  # Program.cs:294-295
    scaled_sleep(float(os.environ.get("PTA_FAKE_WARMUP_S", "5")))  # warm-up before the marker
    if mode == "exit-early":
        return fail("Dekaf.Errors.KafkaException: Broker: Leader not available")
    if mode == "no-marker":
        while True:
            time.sleep(1)
    if name == "soak":
        sample_s = float(option(argv, "--resource-sample-seconds", default="60") or "60")
        return soak_phase(minutes, sample_s, mode, output)
    if name.startswith("producer-roundtrip"):
        seconds = int(option(argv, "--roundtrip-steady-seconds", default="60") or "60")
        return roundtrip_phase(seconds, mode, output)
    return stress_phase(title, minutes, mode, output)


def main() -> int:
    record_argv("stress")
    console_like_dotnet()
    argv = sys.argv[1:]
    now = datetime.datetime.now(datetime.UTC).strftime("%H:%M:%S.%f")[:-3]
    say(f"Process started at {now} UTC, PID: {os.getpid()}")  # Program.cs:68, before ParseArgs
    asks_help = "--help" in [a.lower() for a in argv] or "-h" in argv
    # A build without --help ignores it like any unknown flag (Program.cs:905-1028) and runs.
    if asks_help and os.environ.get("PTA_FAKE_STRESS_HELP") != "none":
        say(HELP)  # Program.cs:1023-1026: PrintHelp(), then Environment.Exit(0)
        return 0
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
