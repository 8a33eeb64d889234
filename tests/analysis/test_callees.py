"""``cpu.callees``: the samples under each call a target method makes, read off real traces.

check_guidelines weighs an if/else side by the samples under the calls it makes
(``tools/source/branch_heat.py``), so the pairs must be the calls the code makes: on the real
.NET 10 traces of the sample target (``tests/fixtures``), a sender loop's drain and its waits,
and an async method's stub calling its own state machine (the builder's ``Start`` frames in
between are the runtime's, not a call the source makes).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from tools.analysis.analyze import analyze_trace_file
from tools.analysis.synthetic import SyntheticTrace

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LIB = "FlushLab!FlushLab.Producer."
TOOL = "FlushLab.StressTests!FlushLab.StressTests."


def test_a_loop_s_calls_carry_the_samples_under_them() -> None:
    cpu = analyze_trace_file(
        FIXTURES / "traces" / "healthy-all.nettrace", target_prefix="FlushLab."
    ).cpu
    run = cpu.callees[f"{LIB}SenderLoop.Run()"]
    assert run[f"{LIB}SenderLoop.DrainOnce()"] == 462
    wait = "System.Private.CoreLib!System.Threading.ManualResetEventSlim.Wait"
    assert run[f"{wait}(int32,value class System.Threading.CancellationToken)"] == 122
    checkpoint = cpu.callees[f"{TOOL}ProducerThreadsWorkload.CheckpointLoop()"]
    assert checkpoint[f"{LIB}MessageProducer.FlushAsync()"] == 10
    assert all("!FlushLab." in caller for caller in cpu.callees)  # only the target's callers


def test_an_async_stub_calls_its_state_machine_past_the_builder(tmp_path: Path) -> None:
    with zipfile.ZipFile(FIXTURES / "hang" / "flushlab-async-hang.nettrace.zip") as archive:
        archive.extractall(tmp_path)
    cpu = analyze_trace_file(
        tmp_path / "flushlab-async-hang.nettrace", target_prefix="FlushLab."
    ).cpu
    stub = cpu.callees[f"{TOOL}AsyncCheckpointWorkload.ProduceLoopAsync()"]
    assert stub == {f"{TOOL}AsyncCheckpointWorkload+<ProduceLoopAsync>d__8.MoveNext()": 633}


def test_an_inlined_stub_leaves_the_callee_s_state_machine_as_the_call(tmp_path: Path) -> None:
    """Caller, builder Start frames, callee MoveNext: the pair is caller -> callee MoveNext."""
    caller = "App!App.Inbox+<ReceiveAsync>d__3.MoveNext()"
    callee = "App!App.Inbox+<DeliverAsync>d__4.MoveNext()"
    builder = "System.Private.CoreLib!System.Runtime.CompilerServices."
    stack = (
        "App!App.Program.Main(class System.String[])",
        caller,
        f"{builder}AsyncValueTaskMethodBuilder.Start(!!0&)",
        f"{builder}AsyncMethodBuilderCore.Start(!!0&)",
        callee,
    )
    trace = tmp_path / "inlined.nettrace"
    with SyntheticTrace(trace) as writer:
        for n in range(7):
            writer.sample(1, 10_000 * (n + 1), stack)
    cpu = analyze_trace_file(trace, target_prefix="App.").cpu
    assert cpu.callees[caller] == {callee: 7}
