"""`pta batch` with the offline playbook planner on real traces: results, exit status, resume."""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agent.batch import (
    BatchRequest,
    BatchResult,
    ResultsFile,
    parse_requests,
    run_batch,
    scan_results,
)
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


# --- issue 13: a results file that survives anything; bad inputs are one-line errors ---------


def test_a_request_file_that_is_not_utf8_is_a_one_line_error(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Latin-1 bytes in the request file (or on stdin): exit 2, one line naming the offset."""
    file = tmp_path / "requests.txt"
    file.write_bytes("où alloue le producteur ?\n".encode("latin-1"))
    out = tmp_path / "results.jsonl"
    assert batch(repo, file, out) == 2
    err = capsys.readouterr().err
    assert err == f"pta batch: {file} is not UTF-8 text (byte 0xf9 at offset 1)\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"caf\xe9\n")))
    assert batch(repo, "-", out) == 2
    assert capsys.readouterr().err.startswith("pta batch: standard input is not UTF-8 text")
    assert not out.exists()


def test_out_that_is_a_directory_is_a_one_line_error(
    repo: Path, request_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--out` naming a folder: exit 2 before anything runs, one line, no traceback."""
    folder = tmp_path / "results"
    folder.mkdir()
    assert batch(repo, request_file, folder) == 2
    assert capsys.readouterr().err == (
        f"pta batch: --out {str(folder)!r} is a directory; give the results file's path\n"
    )
    assert not (repo / ".perf-trace-analyzer").exists()


def _ok(request: BatchRequest, registry: Any) -> BatchResult:
    prompt = {"prompt": request.prompt}
    return BatchResult(request.key, request.line, prompt, "ok", "r.md", [], 0.1, {}, 0.0, None)


def _batch(path: Path, requests: list[BatchRequest], *, resume: bool) -> list[int]:
    """Runs ``requests`` with a recording fake runner; the lines of the requests that ran."""
    ran: list[int] = []

    def run_one(request: BatchRequest, registry: Any) -> BatchResult:
        ran.append(request.line)
        return _ok(request, registry)

    skip = scan_results(path).finished if resume else set()
    results = ResultsFile(path, append=resume)
    try:
        for _ in run_batch(
            requests, default_registry(), run_one, results, skip=skip, continue_on_error=True
        ):
            pass
    finally:
        results.close()
    return ran


def test_resume_after_a_line_cut_mid_write_runs_that_request_once(tmp_path: Path) -> None:
    """A crash cut the last line in the middle of a multi-byte character (results are written
    with ensure_ascii=False): --resume reports it, runs that request once, and every line of
    the file parses afterwards (before, the next line glued onto the fragment and was lost)."""
    requests = parse_requests(["où alloue le producteur ?", "où flush bloque-t-il ?", "gc ?"])
    out = tmp_path / "results.jsonl"
    assert _batch(out, requests, resume=False) == [1, 2, 3]
    whole = out.read_bytes().split(b"\n")
    cut = whole[1][: whole[1].index("ù".encode()) + 1]  # half of the two bytes of "ù"
    out.write_bytes(whole[0] + b"\n" + cut)
    scan = scan_results(out)
    assert scan.finished == {requests[0].key}
    assert [s.split(" (")[0] for s in scan.skipped] == [
        "the last line of results.jsonl was cut by an interrupted write"
    ]
    assert _batch(out, requests, resume=True) == [2, 3]
    assert _batch(out, requests, resume=True) == []  # everything is ok now: nothing runs twice
    records = lines(out)
    assert [r["line"] for r in records] == [1, 2, 3]


def test_resume_skips_and_reports_a_garbled_line_in_the_middle(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invalid UTF-8 sequence inside the file: the line is skipped and named, no traceback,
    and its request runs again through the real command."""
    file = tmp_path / "requests.txt"
    file.write_text(f"analyse traces/{ALLOC}\n", encoding="utf-8")
    out = tmp_path / "results.jsonl"
    [request] = parse_requests(file.read_text().splitlines())
    garbled = b'{"key": "' + request.key.encode() + b'", "status": "ok", "x": "\xff"}\n'
    out.write_bytes(garbled)
    assert batch(repo, file, out, "--resume") == 0
    assert "line 1 of results.jsonl is not a result line; skipped" in capsys.readouterr().err
    assert out.read_bytes().startswith(garbled)
    assert out.read_bytes().count(b"\n") == 2 and lines_after(out, 1)[0]["status"] == "ok"


def lines_after(path: Path, skip: int) -> list[dict[str, Any]]:
    """The records after the first ``skip`` lines."""
    raw = path.read_bytes().split(b"\n")[skip:]
    return [json.loads(line) for line in raw if line]


_KILLED_WRITER = """
import sys
from pathlib import Path
from agent.batch import BatchResult, ResultsFile
results = ResultsFile(Path(sys.argv[1]), append=True)
for i in range(100_000):
    request = {"prompt": "où " * 200}
    results.write(BatchResult(f"k{i}", i, request, "ok", "r.md", [], 0.1, {}, 0.0, None))
"""


def test_a_writer_killed_at_random_moments_cuts_at_most_its_last_line(tmp_path: Path) -> None:
    """SIGKILL to a process appending results, five times at random moments: each resume sees
    whole lines and at most one cut last line, and after the last one every line parses."""
    out = tmp_path / "results.jsonl"
    rng = random.Random()
    for _ in range(5):
        scan = scan_results(out)
        assert len(scan.skipped) <= 1 and all("last line" in s for s in scan.skipped)
        writer = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(out)])
        time.sleep(rng.uniform(0.3, 0.8))
        writer.kill()
        writer.wait()
    ResultsFile(out, append=True).close()  # what --resume does before writing
    assert all(json.loads(line) for line in out.read_bytes().splitlines())
