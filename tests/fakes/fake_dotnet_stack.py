#!/usr/bin/env python3
"""A fake `dotnet-stack` whose `report --process-id PID` prints a real captured report.

Imitates dotnet/diagnostics src/Tools/dotnet-stack/ReportCommand.cs: the stacks of a live
process on stdout, exit 0; `[ERROR] No process with ID {pid} is currently running.` on stderr
and exit 255 (the shell's view of -1) for a pid that is not running. The report printed is
$PTA_FAKE_STACKS (default: the real capture tests/fixtures/stacks/deadlock.txt).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from _common import REPO_ROOT, option, record_argv  # noqa: E402

DEFAULT_REPORT = REPO_ROOT / "tests" / "fixtures" / "stacks" / "deadlock.txt"


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main() -> int:
    record_argv("dotnet-stack")
    argv = sys.argv[1:]
    if argv[:1] != ["report"]:
        print("Required command was not provided.", file=sys.stderr)
        return 1
    pid_text = option(argv, "-p", "--process-id")
    if pid_text is None:
        print("[ERROR] Must specify either --process-id or --name.", file=sys.stderr)
        return 255
    pid = int(pid_text)
    if not running(pid):
        print(f"[ERROR] No process with ID {pid} is currently running.", file=sys.stderr)
        return 255
    report = Path(os.environ.get("PTA_FAKE_STACKS", str(DEFAULT_REPORT)))
    sys.stdout.write(report.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
