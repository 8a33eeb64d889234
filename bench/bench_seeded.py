"""Seeded-bug evaluation: every scenario of the sample target through `pta ask`, judged.

For each scenario of examples/flushlab (one seeded problem each, `healthy` the control) this
runs the question a user would ask through `pta ask --json` on a fresh copy, judges the report
with the same rules as the real test tier (tests/real/seeded.py: found / missed / false
finding) and prints one row: the verdict and where the wall time went (build, waiting for the
measured-phase marker, tracing with rundown, analysis, the rest). Without ANTHROPIC_API_KEY the
offline playbook planner investigates; with it Claude does, and the row adds turns, tokens and
cost.

    python bench/bench_seeded.py                      # every scenario, offline
    python bench/bench_seeded.py --scenarios hot lock
    ANTHROPIC_API_KEY=… python bench/bench_seeded.py --model claude-opus-4-5
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "examples" / "flushlab"
PTA = Path(sys.executable).parent / "pta"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


seeded = _load("seeded", REPO / "tests" / "real" / "seeded.py")


def investigate(question: str, repo: Path, offline: bool, model: str | None) -> dict[str, Any]:
    argv = [str(PTA) if PTA.is_file() else "pta", "ask", "-p", question, "--json"]
    argv += ["--repo", str(repo)] + (["--offline"] if offline else [])
    argv += ["--model", model] if model else []
    started = time.monotonic()
    done = subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900, check=False
    )
    wall = time.monotonic() - started
    try:
        document: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        document = {"status": "failed", "error": done.stderr[-500:]}
    document["wall_s"] = wall
    return document


def phases(document: dict[str, Any]) -> dict[str, float]:
    """Build, marker wait, trace (with rundown) and analysis seconds, from the transcript."""
    spent = {"build": 0.0, "marker": 0.0, "trace": 0.0, "analysis": 0.0}
    transcript = document.get("transcript_path")
    if not transcript or not Path(transcript).is_file():
        return spent
    for line in Path(transcript).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("event") != "tool_call":
            continue
        name, seconds = record.get("name"), float(record.get("duration_s") or 0.0)
        if name == "build":
            spent["build"] += seconds
        elif name == "trace_collect":
            # Transcripts keep the head of a long result (not always whole JSON): find the field.
            found = re.search(r'"marker_wait_s":\s*([\d.]+)', record.get("text", ""))
            marker = float(found.group(1)) if found else 0.0
            spent["marker"] += marker
            spent["trace"] += seconds - marker
        elif name == "analyze_trace":
            spent["analysis"] += seconds
    return spent


def judge(scenario: str, document: dict[str, Any]) -> tuple[str, list[str]]:
    seed = seeded.SEEDS[scenario]
    sections = document.get("sections") or {}
    if document.get("status") != "ok":
        return "failed", [str(document.get("error"))[:120]]
    claims = seeded.false_findings(seed, sections)
    missing = seeded.missing_evidence(seed, sections)
    if claims:
        return "false finding", claims
    if missing:
        return "missed", missing
    return ("clean" if scenario == "healthy" else "found"), []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", nargs="*", default=list(seeded.SEEDS))
    parser.add_argument("--model", default=None, help="Claude model (with ANTHROPIC_API_KEY)")
    args = parser.parse_args()
    if shutil.which("dotnet") is None:
        print("bench_seeded: needs the .NET SDK (`dotnet` on PATH)", file=sys.stderr)
        return 2
    offline = not os.environ.get("ANTHROPIC_API_KEY")
    header = (
        "| scenario | verdict | build s | marker s | trace s | analysis s | other s | total s |"
    )
    extra = "" if offline else " turns | tokens in/out | cost USD |"
    print(header + extra)
    print("|---" * (header.count("|") - 1 + extra.count("|")) + "|")
    with tempfile.TemporaryDirectory(prefix="pta-seeded-") as tmp:
        repo = Path(tmp) / "flushlab"
        ignore = shutil.ignore_patterns("bin", "obj", ".perf-trace-analyzer", ".claude")
        shutil.copytree(SAMPLE, repo, ignore=ignore)
        for scenario in args.scenarios:
            document = investigate(seeded.SEEDS[scenario].question, repo, offline, args.model)
            verdict, why = judge(scenario, document)
            spent = phases(document)
            other = document["wall_s"] - sum(spent.values())
            row = f"| {scenario} | {verdict} | " + " | ".join(
                f"{spent[k]:.1f}" for k in ("build", "marker", "trace", "analysis")
            )
            row += f" | {other:.1f} | {document['wall_s']:.1f} |"
            if not offline:
                usage = document.get("usage") or {}
                row += f" {document.get('turns', '?')} | {usage.get('input_tokens', '?')}/"
                row += f"{usage.get('output_tokens', '?')} | {document.get('cost_usd', '?')} |"
            print(row + (f"  ({'; '.join(why)})" if why else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
