"""A trace whose hottest method is a leaf split over many call paths, with known shares.

2,000 samples, 1 ms apart, on one thread, in a shuffled order:
- ``Crc32C.Update`` is the leaf of 37 % of them, reached through five distinct stacks from four
  direct callers (each path 7-8 %), so no top-down block of it is wider than 8 %;
- ``RecordAccumulator.TryAppend`` is 24 % on one path (the widest top-down leaf);
- ``SchemaWalker.Visit`` recurses three deep over 12 % (search must count those samples once);
- the other 27 % is spread over 27 small leaves.
The first sample of the thread carries no time (pyroscope's attribution), so shares are off
by at most 0.05 point.
"""

from __future__ import annotations

import random
from pathlib import Path

from tools.analysis.synthetic import SyntheticTrace

SPAN = "value class System.ReadOnlySpan`1<unsigned int8>"
MAIN = "Dekaf.StressTests!Dekaf.StressTests.Program.Main(class System.String[])"
PRODUCE = "Dekaf!Dekaf.Producer.KafkaProducer`2[System.__Canon,System.__Canon].ProduceAsync(!0,!1)"
SEND = "Dekaf!Dekaf.Producer.BrokerSender+<SendLoopAsync>d__42.MoveNext()"
FETCH = "Dekaf!Dekaf.Consumer.Fetcher+<FetchAsync>d__17.MoveNext()"
HOT = f"Dekaf!Dekaf.Protocol.Crc32C.Update(unsigned int32,{SPAN})"
WRITE_HEADER = "Dekaf!Dekaf.Protocol.Records.RecordBatchWriter.WriteHeader(int32)"
VALIDATE = "Dekaf!Dekaf.Protocol.Records.RecordBatchReader.Validate()"
COMPRESS = f"Dekaf!Dekaf.Compression.SnappyCodec.Compress({SPAN})"
WRITE_FRAME = "Dekaf!Dekaf.Networking.KafkaConnection.WriteFrame(int32)"
CALLERS = (WRITE_HEADER, VALIDATE, COMPRESS, WRITE_FRAME)
"""The direct callers of HOT planted in the trace."""
TRY_APPEND = f"Dekaf!Dekaf.Producer.RecordAccumulator.TryAppend(int64,{SPAN},{SPAN})"
VISIT = "Dekaf!Dekaf.Serialization.SchemaWalker.Visit(class System.Object)"
FIND = "System.Private.CoreLib!System.Collections.Generic.Dictionary`2[System.__Canon,System.__Canon].FindValue(!0)"  # noqa: E501
SAMPLES = 2_000
TICK = 10_000  # 1 ms at 10 MHz

HOT_PATHS = {
    (MAIN, PRODUCE, WRITE_HEADER, HOT): 160,
    (MAIN, SEND, WRITE_HEADER, HOT): 150,
    (MAIN, FETCH, VALIDATE, HOT): 150,
    (MAIN, SEND, COMPRESS, HOT): 140,
    (MAIN, SEND, WRITE_FRAME, HOT): 140,
}
PLANTED = {
    **HOT_PATHS,
    (MAIN, PRODUCE, TRY_APPEND): 480,
    (MAIN, FETCH, VISIT, VISIT, VISIT, FIND): 240,
    **{(MAIN, SEND, f"Dekaf!Dekaf.Work.Step{i}.Run()"): 20 for i in range(27)},
}
HOT_SHARE = 100 * sum(HOT_PATHS.values()) / SAMPLES
"""37.0: the percent of samples whose leaf is HOT."""
VISIT_SHARE = 12.0
TRY_APPEND_SHARE = 24.0


def write_planted_trace(path: Path) -> Path:
    """Writes the trace described above."""
    assert sum(PLANTED.values()) == SAMPLES
    order = [stack for stack, count in PLANTED.items() for _ in range(count)]
    random.Random(7).shuffle(order)
    with SyntheticTrace(path) as trace:
        for i, stack in enumerate(order):
            trace.sample(1, (i + 1) * TICK, stack)
    return path
