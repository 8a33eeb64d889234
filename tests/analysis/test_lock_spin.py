"""Time spent spinning to take a lock, read off real traces.

Contention events record only the waits that ended up blocking. On a real npgsql load (8
workers, 2 cores) they add up to 16 ms in 5 s, while 17 % of the on-CPU managed samples sit in
lock acquire paths, 9 % of them returning connectors to the pool through a channel's lock: the
report must say where that time goes, in the Markdown and the HTML alike.
"""

from __future__ import annotations

import json
from pathlib import Path

from tools.analysis.analyze import analyze_trace_file
from tools.analysis.markdown import render_markdown
from tools.analysis.results import TraceAnalysis
from tools.report_html.render import render_html_report

TRACES = Path(__file__).resolve().parents[1] / "fixtures" / "traces"
NPGSQL = "Npgsql!Npgsql."


def _npgsql() -> TraceAnalysis:
    facts = json.loads((TRACES / "npgsql-load.facts.json").read_text())
    return analyze_trace_file(
        TRACES / "npgsql-load.nettrace", messages=facts["messages"], target_prefix="Npgsql."
    )


def test_the_spin_is_attributed_to_the_target_code_that_asked() -> None:
    analysis = _npgsql()
    spin = {row.site: row for row in analysis.cpu.lock_spin}
    pool = spin[f"{NPGSQL}PoolingDataSource.Return(class Npgsql.Internal.NpgsqlConnector)"]
    assert (pool.samples, pool.percent) == (475, 9.17)
    assert pool.via.endswith("+UnboundedChannelWriter[System.__Canon].TryWrite(!0)")
    reset = spin[f"{NPGSQL}Internal.NpgsqlConnector.ResetCancellation()"]
    assert reset.samples == 147
    assert reset.via.endswith("System.Threading.Monitor.Enter(class System.Object,bool&)")
    assert sum(row.samples for row in analysis.cpu.lock_spin) == 881
    assert analysis.contention.total_ms < 20  # what the contention events alone say


def test_a_seeded_global_lock_spins_where_it_was_seeded() -> None:
    """The sample target's lock scenario: one lock per message in AppendUnderGlobalLock."""
    analysis = analyze_trace_file(TRACES / "lock-contention.nettrace", target_prefix="FlushLab.")
    top = analysis.cpu.lock_spin[0]
    assert top.site.endswith(
        "RecordAccumulator.AppendUnderGlobalLock(value class System.ReadOnlySpan`1<unsigned int8>)"
    )
    assert (top.samples, top.percent) == (930, 36.33)
    assert top.via.endswith("Monitor.Enter_Slowpath(class System.Object)")


def test_both_reports_show_the_spin_table() -> None:
    analysis = _npgsql()
    markdown = render_markdown(analysis)
    assert (
        "Spinning to take locks: 881 on-CPU samples (17.0 % of managed samples) in lock "
        "acquire paths at the sites below" in markdown
    )
    assert (
        "| `Npgsql.PoolingDataSource.Return(class Npgsql.Internal.NpgsqlConnector)` | " in markdown
    )
    page = render_html_report(analysis.model_dump(mode="json"), [], title="npgsql")
    assert "Spinning to take locks" in page
    assert "881 on-CPU samples (17.0 % of managed samples)" in page


def test_the_model_reads_the_spin_too(tmp_path: Path) -> None:
    """analyze_trace's result (what the model reads) carries the table, names shortened, and
    the offline planner's report says it in the words of `pta analyze`."""
    from agent.planner_report import StepResult, write_report
    from tools.analyze_tool import AnalyzeTraceArgs, analyze_trace
    from tools.base import ToolContext

    (tmp_path / ".perf-trace-analyzer.toml").write_text('target_prefix = "Npgsql."\n')
    result = analyze_trace(
        AnalyzeTraceArgs(trace_path=str(TRACES / "npgsql-load.nettrace")),
        ToolContext(repo=tmp_path),
    )
    spin = result.cpu.lock_spin or []
    assert [row.samples for row in spin[:2]] == [475, 147]
    assert "PoolingDataSource.Return" in spin[0].site and "!" not in spin[0].site
    seen = {"analyze_trace": StepResult(False, "", result.model_dump(mode="json"))}
    report = write_report("all", "load", seen, "Npgsql.", kafka_needed=False)
    section = report.split("## Contention & Deadlocks")[1].split("## Recommendations")[0]
    # The model's view keeps the rows of more than one sample, and the sentence sums those.
    assert "Spinning to take locks: 878 on-CPU samples (17.0 % of managed samples)" in section
    assert "| 475 | 9.17 |" in section
