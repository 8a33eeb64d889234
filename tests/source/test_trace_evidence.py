"""A per-message rule's construct that the trace shows not running per message is no finding.

Three kinds of evidence: a branch whose calls carry no sample beside a sibling whose calls do;
an allocation measured per batch; a type never sampled under the method where one per message
would have been.

Seen on real clients (judged in ``judged_findings.jsonl``): nats.net's JetStream consumer takes
a lock on the branch for the server's status replies, in a method every data message runs
through; Dekaf creates a batch object in its loop over fetched batches. The fixture
(``tests/fixtures/trace_evidence``) has both shapes in our words, with a second lock on the data
side; the traces written here say which side runs and how often the batch is created.
"""

from __future__ import annotations

from pathlib import Path

from tools.analysis.synthetic import SyntheticTrace
from tools.analyze_tool import AnalyzeTraceArgs, analyze_trace
from tools.base import ToolContext
from tools.source.branch_heat import MIN_SIBLING_SAMPLES, always_called
from tools.source.guidelines import CheckGuidelinesArgs, check_guidelines
from tools.source.syntax import parse, walk

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "trace_evidence"
FILE = "src/Inbox/PullConsumer.cs"
STATUS_LOCK, DATA_LOCK, BATCH = 31, 42, 59
MAIN = "Inbox.Bench!Inbox.Bench.Program.Main(class System.String[])"
RECEIVE = "Inbox!Inbox.PullConsumer+<ReceiveAsync>d__8.MoveNext()"
DECODE = (
    "Inbox!Inbox.Message.Decode(class System.String,value class ReadOnlySequence`1<unsigned int8>)"
)
PARSE = "Inbox!Inbox.StatusReply.Parse(value class ReadOnlySequence`1<unsigned int8>)"
REQUEST_MORE = "Inbox!Inbox.PullConsumer.RequestMore()"


def _checked(tmp_path: Path, callees: dict[str, int] | None) -> tuple[set[int], list[str]]:
    """Lock lines check_guidelines reports on ReceiveAsync, and its discounted notes, after
    analyze_trace read a trace whose samples sit under ReceiveAsync's calls as given."""
    ctx = ToolContext(repo=ROOT)
    if callees is not None:
        trace = tmp_path / "inbox.nettrace"
        with SyntheticTrace(trace) as writer:
            ts = 0
            for leaf, samples in {RECEIVE: 40, **callees}.items():
                stack = (MAIN, RECEIVE) if leaf == RECEIVE else (MAIN, RECEIVE, leaf)
                for _ in range(samples):
                    ts += 10_000
                    writer.sample(1, ts, stack)
        analyze_trace(AnalyzeTraceArgs(trace_path=str(trace)), ctx)
    result = check_guidelines(CheckGuidelinesArgs(symbol="PullConsumer.ReceiveAsync"), ctx)
    locks = {f.line for f in result.findings if f.rule == "lock" and f.file == FILE}
    return locks, result.discounted


def test_the_lock_on_the_side_the_trace_shows_cold_is_not_a_finding(tmp_path: Path) -> None:
    """Data decoded 120 times, no status reply handled: only the data side's lock is reported;
    the other is listed as cold with the evidence that made it so."""
    locks, cold = _checked(tmp_path, {DECODE: 120})
    assert locks == {DATA_LOCK}
    assert len(cold) == 1
    assert cold[0].startswith(f"{FILE}:{STATUS_LOCK} lock: on the if side of `if (subject == ")
    assert "(Parse, RequestMore) have no sample" in cold[0]
    assert "(Decode) have 120" in cold[0]


def test_both_locks_are_findings_when_status_replies_run_too(tmp_path: Path) -> None:
    locks, cold = _checked(tmp_path, {DECODE: 120, REQUEST_MORE: 3})
    assert locks == {STATUS_LOCK, DATA_LOCK}
    assert cold == []


def test_silence_beside_few_samples_or_no_trace_proves_nothing(tmp_path: Path) -> None:
    """Too few samples on the other side, or no trace analysed: both locks stay findings."""
    assert _checked(tmp_path, {DECODE: MIN_SIBLING_SAMPLES - 1}) == ({STATUS_LOCK, DATA_LOCK}, [])
    assert _checked(tmp_path, None) == ({STATUS_LOCK, DATA_LOCK}, [])


def test_the_status_side_runs_hot_and_the_data_side_cold(tmp_path: Path) -> None:
    """The rule is symmetric: a trace of status replies only makes the data side's lock cold."""
    locks, cold = _checked(tmp_path, {PARSE: 80})
    assert locks == {STATUS_LOCK}
    assert [c.split(" ", 1)[0] for c in cold] == [f"{FILE}:{DATA_LOCK}"]


def _batch_check(tmp_path: Path, *, per_message: bool) -> tuple[set[int], list[str]]:
    """Allocation findings on Deliver, and its discounted notes, after analyze_trace read a
    trace of 100,000 messages whose Batch allocations add up to 32 B each or 1 B each."""
    deliver = "Inbox!Inbox.PullConsumer.Deliver(class IReadOnlyList`1<unsigned int8[]>)"
    trace = tmp_path / "deliver.nettrace"
    ticks, amount = (40, 100_000 * 32 // 40) if per_message else (2, 50_000)
    with SyntheticTrace(trace) as writer:
        for n in range(ticks):
            writer.allocation(1, 10_000 * (n + 1), (MAIN, deliver), "Inbox.Batch", amount, 32)
    ctx = ToolContext(repo=ROOT)
    analyze_trace(AnalyzeTraceArgs(trace_path=str(trace), messages=100_000), ctx)
    result = check_guidelines(CheckGuidelinesArgs(symbol="PullConsumer.Deliver"), ctx)
    return {f.line for f in result.findings if f.rule == "alloc-in-loop"}, result.discounted


def test_an_allocation_measured_per_batch_is_not_a_finding(tmp_path: Path) -> None:
    """check_guidelines does not contradict the analysis: 1 B a message of a 32 B object is a
    batch's allocation, so the loop's `new Batch` is listed as discounted, with the figure."""
    lines, discounted = _batch_check(tmp_path, per_message=False)
    assert lines == set()
    assert discounted == [
        f"{FILE}:{BATCH} alloc-in-loop: the trace measured this Batch allocation per batch"
        " or rarer (1 B/message)"
    ]


def test_an_allocation_measured_per_message_stays_a_finding(tmp_path: Path) -> None:
    assert _batch_check(tmp_path, per_message=True) == ({BATCH}, [])


def _unseen_check(tmp_path: Path, sampled: str, messages: int) -> tuple[set[int], list[str]]:
    """check_guidelines on Deliver after a trace whose 40 allocation ticks under it are all of
    ``sampled`` (100 KB each), the run having carried ``messages`` messages."""
    deliver = "Inbox!Inbox.PullConsumer.Deliver(class IReadOnlyList`1<unsigned int8[]>)"
    trace = tmp_path / "unseen.nettrace"
    with SyntheticTrace(trace) as writer:
        for n in range(40):
            writer.allocation(1, 10_000 * (n + 1), (MAIN, deliver), sampled, 100_000, 64)
    ctx = ToolContext(repo=ROOT)
    analyze_trace(AnalyzeTraceArgs(trace_path=str(trace), messages=messages), ctx)
    result = check_guidelines(CheckGuidelinesArgs(symbol="PullConsumer.Deliver"), ctx)
    return {f.line for f in result.findings if f.rule == "alloc-in-loop"}, result.discounted


def test_an_allocation_never_sampled_where_one_per_message_would_show_is_discounted(
    tmp_path: Path,
) -> None:
    """Seen on a real npgsql load: a `new` only on a branch the load never takes. 40 ticks
    of byte[] under Deliver and none of Batch, over 100,000 messages: one Batch a message
    (24 B at the least) would have given 24 ticks of 100 KB."""
    lines, discounted = _unseen_check(tmp_path, "System.Byte[]", 100_000)
    assert lines == set()
    assert discounted == [
        f"{FILE}:{BATCH} alloc-in-loop: no Batch allocation sampled under this method in 40 "
        "allocation ticks over 100,000 messages; one per message would have given ≈24"
    ]


def test_too_few_messages_or_the_type_itself_sampled_keeps_the_finding(tmp_path: Path) -> None:
    """Over 30,000 messages one Batch each would have given ≈7 ticks: too few for absence to
    mean anything. A Batch[] is not a Batch; a Batch is."""
    assert _unseen_check(tmp_path, "System.Byte[]", 30_000) == ({BATCH}, [])
    assert _unseen_check(tmp_path, "Inbox.Batch[]", 100_000)[0] == set()
    assert _unseen_check(tmp_path, "Inbox.Batch", 100_000) == ({BATCH}, [])


def test_only_calls_that_run_whenever_the_branch_runs_count() -> None:
    """A nested if's condition runs; its body, loops (their collection too, to be safe),
    lambdas, `?.` calls, short-circuited operands and what follows an early return may not
    (what follows a throw on an error path runs on every run that does not fail)."""
    tree = parse(
        """class C { void M() {
            {
                First();
                if (Check() && Maybe()) { Inner(); }
                foreach (var x in Items()) { Looped(); }
                Run(() => Lambda());
                handler?.Notify(Arg());
                var y = cache ?? Create();
                var z = new Widget<int>();
                if (bad) { throw new Oops(Describe()); }
                AfterAThrow();
                if (done) { Log(); return; }
                AfterAnEarlyReturn();
            }
        } }"""
    )
    block = [n for n in walk(tree.root_node) if n.type == "block"][1]
    assert sorted(always_called(block)) == ["AfterAThrow", "Check", "First", "Run", "Widget"]
