"""Records the real npgsql trace: a read load through a real npgsql checkout, traced by the real
dotnet-trace, for the judged real-code sample (tests/source/test_judged_real_code.py).

npgsql is the judged commit, taken from a local snapshot (``PTA_REAL_REPOS``, default
``/work/.mirror``, as the judged test takes it) or ``--npgsql``. Three build-time packages of
its source generator are pinned to what a partial NuGet mirror serves (``--keep-versions`` to
leave them). ``bench/npgsql_load`` (our own driver) is built against it and launched under
``dotnet-trace collect`` with the product's ``all`` preset; a PostgreSQL server must answer
``--connection``. The trace and a facts file (versions, commands, query count: the message count
of the analysis) go to tests/fixtures/traces/npgsql-load.*.

    pg_ctlcluster 15 main start    # Debian's PostgreSQL
    python bench/record_npgsql_trace.py \\
        --connection 'Host=127.0.0.1;Username=postgres;Password=…;SSL Mode=Disable'
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tools.providers import PRESETS  # noqa: E402

COMMIT = "3cb5804b769b000a1fc88ad8e5e764667f0df4a1"
DRIVER = REPO / "bench" / "npgsql_load"
OUT = REPO / "tests" / "fixtures" / "traces" / "npgsql-load"
MIRROR_VERSIONS = {
    # package: (the checkout's version, the one the mirror serves); the source generator's
    # build-time dependencies only.
    "Microsoft.CodeAnalysis.CSharp": ("5.6.0", "5.9.0"),
    "Microsoft.CodeAnalysis.Analyzers": ("5.6.0", "5.9.0"),
    "Scriban.Signed": ("7.2.6", "7.5.3"),
}


def _run(argv: list[str]) -> str:
    """The command's standard output; its input is closed, so it never waits for a human."""
    done = subprocess.run(
        argv, capture_output=True, text=True, check=True, timeout=900, stdin=subprocess.DEVNULL
    )
    return done.stdout


def _checkout(into: Path, given: Path | None) -> Path:
    if given is not None:
        return given
    git_dir = Path(os.environ.get("PTA_REAL_REPOS", "/work/.mirror")) / "npgsql+npgsql" / "repo"
    archive = subprocess.run(
        ["git", "--git-dir", str(git_dir), "archive", COMMIT],
        capture_output=True,
        check=True,
        timeout=300,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _pin(checkout: Path) -> list[str]:
    props = checkout / "Directory.Packages.props"
    text = props.read_text()
    pinned = []
    for name, (wanted, served) in MIRROR_VERSIONS.items():
        line = f'Include="{name}" Version="{wanted}"'
        if line in text:
            text = text.replace(line, f'Include="{name}" Version="{served}"')
            pinned.append(f"{name} {wanted} -> {served}")
    props.write_text(text)
    return pinned


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connection", required=True, help="an Npgsql connection string")
    parser.add_argument("--npgsql", type=Path, help="a checkout of npgsql at the judged commit")
    parser.add_argument("--seconds", type=int, default=5, help="how long the load runs (traced)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent queries")
    parser.add_argument("--keep-versions", action="store_true", help="do not pin packages")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pta-npgsql-") as tmp:
        checkout = _checkout(Path(tmp) / "npgsql", args.npgsql)
        pinned = [] if args.keep_versions else _pin(checkout)
        build = Path(tmp) / "driver"
        _run(
            ["dotnet", "build", str(DRIVER), "-c", "Release", "-o", str(build)]
            + [f"-p:NpgsqlRoot={checkout}"]
        )
        trace = OUT.with_suffix(".nettrace")
        load = [str(args.connection), str(args.seconds), str(args.workers)]
        collect = ["dotnet-trace", "collect", "--show-child-io", "--providers", PRESETS["all"]]
        collect += ["-o", str(trace), "--", "dotnet", str(build / "NpgsqlLoad.dll"), *load]
        out = _run(collect)
        queries = re.search(r"^queries: (\d+)$", out, re.MULTILINE)
        if queries is None:
            print(out, file=sys.stderr)
            return 1
        runtimes = _run(["dotnet", "--list-runtimes"]).splitlines()
        facts = {
            "repo": "npgsql/npgsql",
            "commit": COMMIT,
            "pinned_for_the_mirror": pinned,
            "sdk": _run(["dotnet", "--version"]).strip(),
            "runtime": next((r for r in runtimes if "NETCore.App" in r), "?"),
            "dotnet_trace": _run(["dotnet-trace", "--version"]).strip(),
            "postgresql": _run(["psql", "--version"]).strip(),
            "load": f"bench/npgsql_load {args.seconds} s, {args.workers} workers, SSL off",
            "providers": PRESETS["all"],
            "messages": int(queries.group(1)),
            "size_bytes": trace.stat().st_size,
            "recorded_by": "python bench/record_npgsql_trace.py",
        }
        OUT.with_suffix(".facts.json").write_text(json.dumps(facts, indent=2) + "\n")
        print(f"{trace.name}: {facts['size_bytes']:,} bytes, {facts['messages']:,} queries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
