"""A synthetic producer trace whose hot method is the fixture repo's RecordAccumulator.TryAppend."""

from __future__ import annotations

from pathlib import Path

from tools.analysis.synthetic import SyntheticTrace

SPAN = "value class System.ReadOnlySpan`1<unsigned int8>"
MAIN = "Dekaf.StressTests!Dekaf.StressTests.Program.Main(class System.String[])"
PRODUCE = "Dekaf!Dekaf.Producer.KafkaProducer`2[System.__Canon,System.__Canon].ProduceAsync(!0,!1)"
TRY_APPEND = f"Dekaf!Dekaf.Producer.RecordAccumulator.TryAppend(int64,{SPAN},{SPAN})"
SEND_LOOP = "Dekaf!Dekaf.Producer.BrokerSender+<SendLoopAsync>d__42.MoveNext()"
MEMMOVE = "System.Private.CoreLib!System.Buffer.Memmove(uint8&,uint8&,native unsigned int)"
MESSAGES = 40
TICK = 10_000  # 1 ms at 10 MHz


def write_dekaf_trace(path: Path) -> Path:
    """Writes the trace: 60 % of samples in TryAppend, a byte[] per message, lock waits."""
    hot = (MAIN, PRODUCE, TRY_APPEND)
    stacks = [hot] * 5 + [(*hot, MEMMOVE), (MAIN, PRODUCE)] + [(MAIN, SEND_LOOP)] * 3
    with SyntheticTrace(path) as trace:
        for i in range(400):
            trace.sample(1, (i + 1) * TICK, stacks[i % len(stacks)])
        for i in range(MESSAGES):
            trace.allocation(1, (i + 1) * TICK + 5, hot, "System.Byte[]", 100_000, 1_024)
        for i in range(10):
            trace.contention(2, (i + 1) * 30 * TICK, hot, lock_id=0x5000, owner=1)
            trace.contention_stop(2, (i + 1) * 30 * TICK + 2 * TICK, 2_000_000.0)
    return path
