"""Issue 13's figures: acknowledged memory lines lost, files written outside the memory root,
child processes left running after a signal. All three should print 0.

Usage: python bench/bench_memory_concurrency.py [--appends 200] [--race-writes 3000]
       [--signal-runs 10] [--skip memory|race|signals]
       PYTHONPATH=/path/to/other/checkout python bench/…   # the same figures on that code

- appends: two writer processes append ``--appends`` tagged lines each to one topic file, then
  two more append one line at a time to MEMORY.md until the 200-line cap refuses them. A line
  whose write returned without error is acknowledged; "lost" counts acknowledged lines missing
  from the file afterwards. MEMORY.md's final line count must stay within the cap.
- race: a process flips the in-root symlink ``d`` between a folder inside the root and one
  outside it (and swaps a real folder ``e`` for a link outside) while another writes
  ``d/note-N.md`` and ``e/note-N.md``; counts files that appeared outside the root.
- signals: ``pta ask`` and ``pta batch`` (offline playbook, fake dotnet / dotnet-trace / stress
  tool from tests/fakes, a Kafka stub on a real socket) get SIGINT, SIGTERM or SIGHUP at a
  random moment after their first child started; counts children alive after ``pta`` exited,
  and prints the exit statuses and whether the transcript ends with an ``end`` record.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAKES = REPO / "tests" / "fakes"
TRACES = Path(os.environ.get("PTA_TRACES_DIR", REPO.parent / "shared" / "traces"))
FAKE_TRACE = "filtrace-net10-wait.nettrace"
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


# --- workers (run as separate processes) -------------------------------------------------


def worker_append(root: str, path: str, tag: str, count: int) -> None:
    """Appends ``count`` lines ``<tag>-<i>`` one write each; prints how many were accepted."""
    from memory import MemoryStore

    store = MemoryStore(Path(root))
    acknowledged = 0
    for i in range(count):
        try:
            store.write(path, "append", content=f"- {tag}-{i}")
        except Exception:  # the cap (MEMORY.md) or a refusal: not acknowledged
            continue
        acknowledged += 1
    print(acknowledged)


def worker_race_write(root: str, count: int) -> None:
    """Writes through the flipping folders ``count`` times; prints ok and refused counts."""
    from memory import MemoryStore

    store = MemoryStore(Path(root))
    done = Counter[str]()
    for i in range(count):
        try:
            store.write(f"{'de'[i % 2]}/note-{i}.md", "replace", content=f"note {i}")
        except Exception as exc:
            done[type(exc).__name__] += 1
        else:
            done["ok"] += 1
    print(json.dumps(done))


def worker_flip(root: str, outside: str, stop_file: str) -> None:
    """Until ``stop_file`` exists: retargets link ``d`` and swaps folder ``e`` for a link."""
    base, out = Path(root), Path(outside)
    while not Path(stop_file).exists():
        for target in (base / "inside", out):
            tmp = base / "d.flip"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(target, target_is_directory=True)
            os.replace(tmp, base / "d")
        try:
            os.rename(base / "e", base / "e.parked")
            (base / "e").symlink_to(out, target_is_directory=True)
            (base / "e").unlink()
            os.rename(base / "e.parked", base / "e")
        except OSError:  # a writer recreated `e` meanwhile: start over with a fresh folder
            _reset_folder(base)


def _reset_folder(base: Path) -> None:
    for name in ("e", "e.parked"):
        victim = base / name
        try:
            if victim.is_symlink() or victim.is_file():
                victim.unlink()
            elif victim.is_dir():
                shutil.rmtree(victim, ignore_errors=True)
        except OSError:
            pass
    (base / "e").mkdir(exist_ok=True)


def _spawn_worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--worker", *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


# --- figures ---------------------------------------------------------------------------------


def measure_appends(appends: int) -> dict[str, int]:
    """Lines acknowledged and lost by two concurrent appenders (topic file, then MEMORY.md)."""
    with tempfile.TemporaryDirectory(prefix="pta-bench-mem-") as tmp:
        root = Path(tmp) / "mem"
        root.mkdir()
        figures: dict[str, int] = {}
        for name, count in (("topic.md", appends), ("MEMORY.md", 150)):
            workers = [_spawn_worker("append", str(root), name, tag, str(count)) for tag in "ab"]
            acknowledged = sum(int(w.communicate()[0]) for w in workers)
            text = (root / name).read_text(encoding="utf-8")
            present = len(set(text.splitlines()))
            key = name.removesuffix(".md").lower()
            figures[f"{key}_acknowledged"] = acknowledged
            figures[f"{key}_lost"] = max(acknowledged - present, 0)
            figures[f"{key}_lines"] = len(text.splitlines())
        leftovers = [p.name for p in root.rglob("*.tmp")]
        figures["temp_files_left"] = len(leftovers)
        return figures


def measure_race(writes: int) -> dict[str, int]:
    """Files that appear outside the root while its folders are flipped to links outside."""
    with tempfile.TemporaryDirectory(prefix="pta-bench-race-") as tmp:
        root, outside = Path(tmp) / "mem", Path(tmp) / "outside"
        for folder in (root / "inside", root / "e", outside):
            folder.mkdir(parents=True)
        (root / "d").symlink_to(root / "inside", target_is_directory=True)
        stop = Path(tmp) / "stop"
        flipper = _spawn_worker("flip", str(root), str(outside), str(stop))
        writer = _spawn_worker("race", str(root), str(writes))
        counts = json.loads(writer.communicate()[0] or "{}")
        stop.touch()
        flipper.wait(30)
        escaped = [p for p in outside.rglob("*") if p.is_file()]
        return {
            "writes": writes,
            "written": int(counts.get("ok", 0)),
            "refused": writes - int(counts.get("ok", 0)),
            "files_outside_root": len(escaped),
            "temp_files_outside_root": sum(p.name.endswith(".tmp") for p in escaped),
        }


# --- signals -------------------------------------------------------------------------------


class _KafkaStub(socketserver.ThreadingTCPServer):
    """Answers ApiVersions v0 like a broker (what start_kafka checks before reusing it)."""

    daemon_threads = True
    allow_reuse_address = True


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        header = self.request.recv(4)
        if len(header) < 4:
            return
        (size,) = struct.unpack(">i", header)
        body = b""
        while len(body) < size:
            chunk = self.request.recv(size - len(body))
            if not chunk:
                return
            body += chunk
        _key, _version, correlation = struct.unpack_from(">hhi", body)
        apis = [(0, 0, 11), (3, 0, 12), (18, 0, 4)]
        reply = struct.pack(">ihi", correlation, 0, len(apis))
        reply += b"".join(struct.pack(">hhh", *api) for api in apis)
        self.request.sendall(struct.pack(">i", len(reply)) + reply)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][:1]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _make_repo(base: Path) -> Path:
    repo = base / "repo"
    project = repo / "tools" / "Dekaf.StressTests"
    project.mkdir(parents=True)
    (project / "Dekaf.StressTests.csproj").write_text('<Project Sdk="Microsoft.NET.Sdk" />\n')
    (repo / ".perf-trace-analyzer.toml").write_text("marker_timeout_s = 10\ncollect_grace_s = 5\n")
    return repo


def _environment(base: Path, bootstrap: str) -> dict[str, str]:
    bin_dir = base / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "dotnet").symlink_to(FAKES / "fake_dotnet.py")
    (bin_dir / "dotnet-trace").symlink_to(FAKES / "fake_dotnet_trace.py")
    (base / "home").mkdir()
    # PYTHONPATH passes through, so the figures can be taken on another checkout's code.
    return {
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "PATH": f"{bin_dir}:{Path(sys.executable).parent}",
        "HOME": str(base / "home"),
        "PTA_FAKE_ARGV_LOG": str(base / "argv.jsonl"),
        "PTA_FAKE_TRACE": str(TRACES / FAKE_TRACE),
        "PTA_FAKE_TIME_SCALE": "0.5",
        "PTA_FAKE_PROGRESS_S": "0.05",
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
    }


def _child_pids(argv_log: Path) -> list[int]:
    if not argv_log.exists():
        return []
    return [json.loads(line)["pid"] for line in argv_log.read_text().splitlines() if line]


def signal_run(command: str, sig: signal.Signals, bootstrap: str, rng: random.Random) -> dict:
    """One `pta` run signalled at a random moment after its first child started."""
    with tempfile.TemporaryDirectory(prefix="pta-bench-sig-") as tmp:
        base = Path(tmp)
        repo = _make_repo(base)
        env = _environment(base, bootstrap)
        request = "where does the producer spend its CPU?"
        pta = [str(Path(sys.executable).parent / "pta")]
        if command == "ask":
            argv = [*pta, "ask", request, "--offline", "--repo", str(repo)]
        else:
            (base / "requests.txt").write_text(f"{request}\nis the consumer slow?\n")
            argv = [*pta, "batch", str(base / "requests.txt"), "--offline", "--repo", str(repo)]
            argv += ["--out", str(base / "results.jsonl"), "--continue-on-error"]
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=base,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own terminal-like group: SIGINT reaches pta only
        )
        argv_log = Path(env["PTA_FAKE_ARGV_LOG"])
        deadline = time.monotonic() + 30
        while not _child_pids(argv_log) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 8.0))
        delivered = process.poll() is None
        if delivered:
            os.killpg(process.pid, sig) if sig == signal.SIGINT else process.send_signal(sig)
        try:
            status: int | None = process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            status = None
        time.sleep(0.3)  # a child's own exit after the group kill is not a survivor
        pids = _child_pids(argv_log)
        survivors = [pid for pid in pids if _alive(pid)]
        for pid in survivors:  # leave nothing behind on the machine
            os.kill(pid, signal.SIGKILL)
        return {
            "command": command,
            "signal": sig.name,
            "delivered": delivered,
            "status": status,
            "children": len(pids),
            "survivors": len(survivors) + (status is None),
            "end_record": _ends_with_end_record(repo),
        }


def _ends_with_end_record(repo: Path) -> bool | None:
    sessions = sorted((repo / ".perf-trace-analyzer" / "sessions").glob("*.jsonl"))
    if not sessions:
        return None
    lines = sessions[-1].read_text(encoding="utf-8").splitlines()
    try:
        return bool(lines) and json.loads(lines[-1]).get("event") == "end"
    except json.JSONDecodeError:
        return False


def measure_signals(runs: int, seed: int) -> dict[str, object]:
    """``runs`` signalled runs each of `pta ask` and `pta batch`, cycling through the signals."""
    stub = _KafkaStub(("127.0.0.1", 0), _Handler)
    threading.Thread(target=stub.serve_forever, args=(0.05,), daemon=True).start()
    bootstrap = f"127.0.0.1:{stub.server_address[1]}"
    rng = random.Random(seed)
    results = []
    try:
        for i in range(runs):
            for command in ("ask", "batch"):
                result = signal_run(command, SIGNALS[i % len(SIGNALS)], bootstrap, rng)
                print(f"  {json.dumps(result)}", flush=True)
                results.append(result)
    finally:
        stub.shutdown()
        stub.server_close()
    delivered = [r for r in results if r["delivered"]]
    expected = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}
    return {
        "runs": len(results),
        "signal_delivered_while_running": len(delivered),
        "runs_with_survivors": sum(1 for r in results if r["survivors"]),
        "survivors": sum(int(r["survivors"]) for r in results),  # type: ignore[call-overload]
        "wrong_exit_status": sum(1 for r in delivered if r["status"] != expected[r["signal"]]),
        "transcript_without_end_record": sum(1 for r in delivered if r["end_record"] is False),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appends", type=int, default=200)
    parser.add_argument("--race-writes", type=int, default=3000)
    parser.add_argument("--signal-runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--skip", action="append", default=[], choices=["memory", "race", "signals"]
    )
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "append":
            worker_append(rest[0], rest[1], rest[2], int(rest[3]))
        elif kind == "race":
            worker_race_write(rest[0], int(rest[1]))
        else:
            worker_flip(*rest)
        return
    if "memory" not in args.skip:
        print("appends (2 processes):", json.dumps(measure_appends(args.appends)), flush=True)
    if "race" not in args.skip:
        print("symlink race:", json.dumps(measure_race(args.race_writes)), flush=True)
    if "signals" not in args.skip:
        print("signals:", flush=True)
        print("signal totals:", json.dumps(measure_signals(args.signal_runs, args.seed)))


if __name__ == "__main__":
    main()
