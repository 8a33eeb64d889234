"""Significance of before/after differences: real changes flagged, noise and repeats not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.analysis.analyze import analyze_trace_file
from tools.analysis.compare import DEEP_TOP
from tools.analysis.run_measures import Observation, RunMeasures, measure_run
from tools.analysis.significance import compare_runs
from tools.analysis.significance_report import ReportContext, render_significance

TOTAL = 3000
"""On-CPU samples per synthetic run (about a 5 s trace of the sample target)."""


def cpu_run(label: str, shares: dict[str, float], msg_per_s: float = 100_000.0) -> RunMeasures:
    """A run whose methods take the given percent of ``TOTAL`` samples (self)."""
    metrics = {
        name: Observation(percent, round(percent * TOTAL / 100), TOTAL)
        for name, percent in shares.items()
    }
    run = RunMeasures(label, f"{label}.nettrace", msg_per_s, per_message=True)
    run.metrics = {"cpu_self": metrics, "throughput": {"msg/s": Observation(msg_per_s, 0)}}
    return run


def alloc_run(label: str, bytes_per_message: float, ticks: int) -> RunMeasures:
    run = RunMeasures(label, f"{label}.nettrace", None, per_message=True)
    site = "FlushLab!FlushLab.Producer.RecordAccumulator.EncodeRecord() [System.Byte[]]"
    run.metrics = {"alloc_site": {site: Observation(bytes_per_message, ticks)}}
    return run


def test_a_clear_shift_is_a_regression_with_an_interval_above_zero() -> None:
    """40 points of CPU moving into a naive CRC over 3+3 runs: regression, interval > 0."""
    base = [cpu_run(f"A{i}", {"App.Append": 45 + i, "App.Crc32Naive": 0.1}) for i in range(3)]
    new = [cpu_run(f"B{i}", {"App.Append": 10 + i, "App.Crc32Naive": 41 - i}) for i in range(3)]
    result = compare_runs(base, new)
    crc = next(c for c in result.changes if c.name == "App.Crc32Naive")
    assert crc.verdict == "regression"
    assert crc.ci_low is not None and crc.ci_low > 0
    append = next(c for c in result.changes if c.name == "App.Append")
    assert append.verdict == "improvement"
    assert result.regressions()[0].name == "App.Crc32Naive"


def test_runs_that_disagree_among_themselves_are_not_a_change() -> None:
    """A sender spin of 4-7 % per run (same binary) moving 2.7 points between sides is noise:
    the run-to-run spread, not the sampling noise, sets the interval."""
    base = [
        cpu_run("A1", {"App.Spin": 7.3, "App.X": 20.0}),
        cpu_run("A2", {"App.Spin": 4.1, "App.X": 26.0}),
    ]
    new = [
        cpu_run("B1", {"App.Spin": 8.6, "App.X": 27.0}),
        cpu_run("B2", {"App.Spin": 8.2, "App.X": 19.0}),
    ]
    result = compare_runs(base, new)
    assert result.overdispersion["cpu_self"] > 1
    assert result.significant() == []


def test_a_metric_whose_own_runs_disagree_is_widened_by_its_own_spread() -> None:
    """Seen on a loaded machine comparing a commit that only adds a comment, 2+2 runs: the
    thread pool's spinning took 0 % and 3.1 % of the samples in the base runs, 9.2 % and
    5.7 % in the new ones, while every other method held steady (family overdispersion
    about 2.5). The family's widening alone called that a regression; its own spread says
    the runs are too unlike to tell."""
    steady = {"App.Append": 40.0, "App.Sender": 14.0, "App.Seal": 13.0, "App.Encode": 8.0}

    def run(label: str, spin: float, wobble: float) -> RunMeasures:
        shares = {name: share + wobble for name, share in steady.items()}
        return cpu_run(label, {**shares, "Runtime.WorkerSpin": spin})

    base = [run("A1", 0.0, 0.3), run("A2", 3.07, -0.3)]
    new = [run("B1", 9.17, 0.2), run("B2", 5.68, -0.2)]
    result = compare_runs(base, new)
    spin = next(c for c in result.changes if c.name == "Runtime.WorkerSpin")
    assert spin.verdict == "no significant change"
    assert spin.ci_low is not None and spin.ci_low < 0 < spin.delta
    assert result.significant() == []


def test_identical_sides_show_no_significant_change() -> None:
    runs = [cpu_run(f"R{i}", {"App.Append": 45.0, "App.Sender": 12.0}) for i in range(3)]
    result = compare_runs(runs, runs)
    assert {c.verdict for c in result.changes} == {"no significant change"}


def test_a_small_change_below_the_practical_threshold_is_not_headlined() -> None:
    """1 point more of a 45 % method is measurable over thousands of samples, but not worth a
    headline (the threshold is 2 points and 20 %)."""
    base = [cpu_run(f"A{i}", {"App.Append": 45.0}) for i in range(3)]
    new = [cpu_run(f"B{i}", {"App.Append": 46.0}) for i in range(3)]
    assert compare_runs(base, new).significant() == []


def test_the_same_runs_always_give_the_same_intervals() -> None:
    """The bootstrap is seeded: reproducible verdicts and intervals."""
    base = [cpu_run(f"A{i}", {"App.Append": 44 + i, "App.Spin": 5 + i}) for i in range(3)]
    new = [cpu_run(f"B{i}", {"App.Append": 40 + 2 * i, "App.Spin": 9 - i}) for i in range(3)]
    assert compare_runs(base, new) == compare_runs(base, new)
    assert compare_runs(base, new, seed=1) != compare_runs(base, new, seed=2)


def test_one_run_per_side_resamples_samples_and_does_not_test_throughput() -> None:
    """One run per side: the allocation is judged over its ticks; throughput is not tested."""
    result = compare_runs([alloc_run("A1", 4.0, 20)], [alloc_run("B1", 1200.0, 1400)])
    [site] = result.changes
    assert (site.verdict, site.resampled) == ("regression", "samples")
    tput = compare_runs([cpu_run("A1", {"X": 50.0})], [cpu_run("B1", {"X": 50.0}, 50_000)])
    assert next(c for c in tput.changes if c.family == "throughput").verdict == "not tested"


def test_lower_throughput_is_a_regression() -> None:
    base = [cpu_run(f"A{i}", {}, 100_000 + 1000 * i) for i in range(3)]
    new = [cpu_run(f"B{i}", {}, 60_000 + 1000 * i) for i in range(3)]
    [tput] = compare_runs(base, new).changes
    assert (tput.verdict, tput.unit) == ("regression", "msg/s")


def test_report_first_line_names_the_site_and_the_runs() -> None:
    """The verdict line answers the question: which site allocates how much more, over what."""
    base = [alloc_run(f"A{i}", 5.0 + i, 20 + i) for i in range(3)]
    new = [alloc_run(f"B{i}", 1200.0 + i, 1400 + i) for i in range(3)]
    text = render_significance(compare_runs(base, new), ReportContext(base="BASE", new="HEAD"))
    first = text.splitlines()[0]
    assert first.startswith("**Regression** in HEAD against BASE")
    assert "RecordAccumulator.EncodeRecord" in first and "B/msg more" in first
    assert "System.Byte[]" in first and "3+3 runs" in first
    assert "## Allocations" in text and "## Recommendations" in text


def test_a_set_of_one_real_trace_against_itself_has_no_change(traces_dir: Path) -> None:
    """A real trace measured on both sides: every metric is compared, none changed."""
    analysis = analyze_trace_file(traces_dir / "filtrace-net10-wait.nettrace", top=DEEP_TOP)
    run = measure_run(analysis, label="A1")
    assert run.metrics["cpu_self"], "CPU shares are measured"
    result = compare_runs([run, run], [run, run])
    assert result.changes and result.significant() == []


@pytest.mark.parametrize("side", ["base", "new"])
def test_an_empty_side_is_refused(side: str) -> None:
    runs = [cpu_run("A1", {"X": 1.0})]
    with pytest.raises(ValueError, match="at least one run"):
        compare_runs(runs if side == "new" else [], runs if side == "base" else [])
