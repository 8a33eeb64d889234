#!/usr/bin/env python3
"""A fake Dekaf.StressTests executable printing the real tool's output line shapes.

Modes ($PTA_FAKE_STRESS_MODE): ``normal`` (default) runs the measured phase for --duration
minutes (scaled by $PTA_FAKE_TIME_SCALE); ``crash`` dies with an unhandled exception
$PTA_FAKE_CRASH_AFTER_S seconds into the measured phase; ``exit-early`` exits 1 before the
marker; ``no-marker`` never reaches the measured phase (waits forever).
"""

from __future__ import annotations

import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from _common import console_like_dotnet, option, record_argv, scaled_sleep  # noqa: E402

SCENARIOS = (
    "producer producer-idempotent producer-acks-all producer-async producer-async-idempotent "
    "producer-transactional producer-roundtrip-steady consumer consumer-batch consumer-raw "
    "consumer-raw-batch soak all"
)
HELP = f"""Dekaf Stress Tests

Usage: Dekaf.StressTests [options]

Options:
  --duration <minutes>       Test duration in minutes (default: 15)
  --message-size <bytes>     Message size in bytes (default: 1000)
  --scenario <name>          Scenario to run: {SCENARIOS.replace(" ", ", ")} (default: all)
  --client <name>            Client: dekaf, confluent, all (default: all)
  --partitions <n>           Partitions (default: 6)
  --help                     Show this help
"""


def clock() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%H:%M:%S")


def say(text: str) -> None:
    print(text, flush=True)


def resources(phase: str, threads: int, gcs: str) -> None:
    say(
        f"  [{clock()}] {phase} Resources: WorkingSet=182.4MB, Private=150.2MB, "
        f"GCHeap=24.7MB, Threads={threads}, GC=[{gcs}]"
    )


def measured_phase(title: str, minutes: int, mode: str) -> int:
    say(f"  Running {title} stress test for {minutes} minutes...")
    started = time.monotonic()
    total_s = minutes * 60 * float(os.environ.get("PTA_FAKE_TIME_SCALE", "1"))
    interval = float(os.environ.get("PTA_FAKE_PROGRESS_S", "0.25"))
    crash_after = float(os.environ.get("PTA_FAKE_CRASH_AFTER_S", "0.5"))
    messages = 0
    while time.monotonic() - started < total_s:
        time.sleep(interval)
        elapsed = time.monotonic() - started
        messages += 145_000
        instant = 145_000 / interval
        avg = messages / elapsed
        say(
            f"  [{clock()}] Progress: {messages:,} messages | instant: {instant:,.0f} msg/sec"
            f" | avg: {avg:,.0f} msg/sec"
        )
        if mode == "crash" and elapsed >= crash_after:
            say("Unhandled exception. System.InvalidOperationException: Producer is disposed")
            say("   at Dekaf.Producer.KafkaProducer`2.ThrowIfDisposed()")
            return 134
    resources("Final", 31, "212/9/1")
    say(f"  Completed: {messages:,} messages, {messages / total_s:,.0f} msg/sec")
    say("Results saved to: ./results/stress-test-results-20260826-101500.json")
    return 0


def main() -> int:
    record_argv("stress")
    console_like_dotnet()
    argv = sys.argv[1:]
    if "--help" in argv:
        if os.environ.get("PTA_FAKE_STRESS_HELP") == "none":  # an older build without --help
            say("Unhandled exception. System.ArgumentException: Unknown argument '--help'")
            return 134
        say(HELP)
        return 0
    mode = os.environ.get("PTA_FAKE_STRESS_MODE", "normal")
    minutes = int(option(argv, "--duration", default="15") or "15")
    scenario = option(argv, "--scenario", default="all") or "all"
    client = (option(argv, "--client", default="dekaf") or "dekaf").capitalize()
    now = datetime.datetime.now(datetime.UTC).strftime("%H:%M:%S.%f")[:-3]
    say(f"Process started at {now} UTC, PID: {os.getpid()}")
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        say(f"Using external Kafka at {os.environ['KAFKA_BOOTSTRAP_SERVERS']}")
    title = f"{client} {scenario}"
    say(f"=== Running: {title} ===")
    resources("Initial", 24, "0/0/0")
    scaled_sleep(float(os.environ.get("PTA_FAKE_WARMUP_S", "5")))
    if mode == "exit-early":
        say("Failed to create topic: Broker: Leader not available")
        return 1
    if mode == "no-marker":
        while True:
            time.sleep(1)
    return measured_phase(title, minutes, mode)


if __name__ == "__main__":
    sys.exit(main())
