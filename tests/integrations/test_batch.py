"""`pta batch` with the offline playbook planner on real traces: results, exit status, resume."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from agent.batch import BatchRequest, BatchResult, ResultsFile, parse_requests, run_batch
from agent.cli import main
from tools.catalog import default_registry

CONTENTION = "filtrace-net10-contention.nettrace"
ALLOC = "filtrace-net10-alloc.nettrace"
BAD_LINE = '{"prompt": "is the producer slow?", "preset": "flamegraph"}'


@pytest.fixture
def repo(tmp_path: Path, traces_dir: Path) -> Path:
    """A target repository holding two real traces under traces/."""
    root = tmp_path / "repo"
    (root / "traces").mkdir(parents=True)
    for name in (CONTENTION, ALLOC):
        shutil.copy(traces_dir / name, root / "traces" / name)
    return root


@pytest.fixture
def request_file(tmp_path: Path) -> Path:
    """Three requests (the last one fails on purpose: an unknown preset) plus noise lines."""
    path = tmp_path / "requests.txt"
    path.write_text(
        "# deadlock first\n"
        f"is there a deadlock in traces/{CONTENTION}?\n"
        "\n"
        f'{{"prompt": "where does traces/{ALLOC} allocate?", "preset": "alloc"}}\n'
        f"{BAD_LINE}\n",
        encoding="utf-8",
    )
    return path


def batch(repo: Path, file: Path | str, out: Path, *extra: str) -> int:
    """Runs `pta batch FILE --repo REPO --out OUT --offline --quiet …` in process."""
    argv = ["batch", str(file), "--repo", str(repo), "--out", str(out), "--offline", "--quiet"]
    return main([*argv, *extra])


def lines(path: Path) -> list[dict[str, Any]]:
    """The result records of a results file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_three_requests_give_three_lines_and_exit_1(
    repo: Path, request_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two reports and one failure: three result lines, right statuses, exit status 1."""
    out = tmp_path / "results.jsonl"
    assert batch(repo, request_file, out, "--continue-on-error") == 1
    records = lines(out)
    assert [r["status"] for r in records] == ["ok", "ok", "failed"]
    assert [r["line"] for r in records] == [2, 4, 5]
    for record in records[:2]:
        report = Path(record["report_path"])
        assert report.is_file() and "## Contention & Deadlocks" in report.read_text()
        assert record["model"] == "playbook-planner (offline)" and record["cost_usd"] == 0.0
        assert record["usage"]["input_tokens"] == 0 and record["duration_s"] > 0
    assert records[0]["trace_paths"] == [f"traces/{CONTENTION}"]
    assert records[1]["request"] == {
        "prompt": f"where does traces/{ALLOC} allocate?",
        "preset": "alloc",
    }
    assert "preset" in records[2]["error"] and records[2]["report_path"] is None
    err = capsys.readouterr().err
    assert "pta batch: 3 requests" in err and "failed" in err


def test_resume_runs_only_the_failed_request_again(
    repo: Path, request_file: Path, tmp_path: Path
) -> None:
    """--resume skips the ok lines; a fixed request then runs and the batch exits 0."""
    out = tmp_path / "results.jsonl"
    assert batch(repo, request_file, out, "--continue-on-error") == 1
    reports = sorted((repo / ".perf-trace-analyzer" / "reports").glob("*.md"))
    assert batch(repo, request_file, out, "--resume", "--continue-on-error") == 1
    records = lines(out)
    assert len(records) == 4 and records[3]["key"] == records[2]["key"]
    assert records[3]["status"] == "failed"
    assert sorted((repo / ".perf-trace-analyzer" / "reports").glob("*.md")) == reports
    fixed = request_file.read_text().replace('"flamegraph"', '"cpu"').replace("slow", "hot")
    fixed = fixed.replace("is the producer hot?", f"is traces/{CONTENTION} hot?")
    request_file.write_text(fixed)
    assert batch(repo, request_file, out, "--resume") == 0
    assert lines(out)[-1]["status"] == "ok" and len(lines(out)) == 5


def test_stops_at_the_first_failure_without_continue_on_error(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --continue-on-error the failing first request ends the batch: one line only."""
    file = tmp_path / "requests.jsonl"
    file.write_text(f"{BAD_LINE}\nanalyse traces/{ALLOC}\n", encoding="utf-8")
    out = tmp_path / "results.jsonl"
    assert batch(repo, file, out) == 1
    assert [r["status"] for r in lines(out)] == ["failed"]
    assert "not run" in capsys.readouterr().err


def test_requests_from_standard_input(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FILE `-` reads the requests from standard input; every report produced gives exit 0."""
    monkeypatch.setattr("sys.stdin", io.StringIO(f"# one\nanalyse traces/{ALLOC}\n"))
    out = tmp_path / "results.jsonl"
    assert batch(repo, "-", out) == 0
    [record] = lines(out)
    assert record["status"] == "ok" and record["request"] == {"prompt": f"analyse traces/{ALLOC}"}


def test_invalid_lines_fail_alone() -> None:
    """Bad JSON, unknown keys and missing prompts become failed requests; comments are skipped."""
    parsed = parse_requests(
        [
            "# comment",
            "   ",
            "{not json",
            '{"prompt": "x", "budget": 3}',
            '{"scenario": "consumer"}',
            '{"prompt": "same"}',
            "same",
        ]
    )
    assert [p.line for p in parsed] == [3, 4, 5, 6, 7]
    assert [p.error is not None for p in parsed] == [True, True, True, False, False]
    # the same request twice (as JSON, then as text) is two requests with distinct keys
    assert parsed[3].key.endswith("-1") and parsed[4].key.endswith("-2")
    assert parsed[3].key[:-2] == parsed[4].key[:-2]


def test_results_written_before_an_interruption_survive(tmp_path: Path) -> None:
    """A Ctrl+C during the second request leaves the first request's line on disk."""
    requests = parse_requests(["first question", "second question"])
    out = tmp_path / "results.jsonl"

    def run_one(request: BatchRequest, registry: Any) -> BatchResult:
        if request.line == 2:
            raise KeyboardInterrupt
        return BatchResult(request.key, request.line, {}, "ok", "r.md", [], 0.1, {}, 0.0, None)

    results = ResultsFile(out, append=False)
    with pytest.raises(KeyboardInterrupt):
        for _ in run_batch(
            requests, default_registry(), run_one, results, skip=set(), continue_on_error=True
        ):
            pass
    results.close()
    assert [r["line"] for r in lines(out)] == [1]
