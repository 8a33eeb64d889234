"""`pta compare`: sets of traces with --vs, and the usage errors of the three forms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import main

TRACE = "filtrace-net10-wait.nettrace"


def test_sets_of_traces_are_judged_with_significance(
    traces_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same trace on both sides: the verdict line says nothing changed, over 2+2 runs."""
    trace = str(traces_dir / TRACE)
    assert main(["compare", trace, trace, "--vs", trace, trace]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("**No significant change**") and "2+2 runs" in first
    assert main(["compare", trace, "--vs", trace, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["base_runs"] == document["new_runs"] == 1
    assert document["changes"] and all(
        c["verdict"] in ("no significant change", "not tested") for c in document["changes"]
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", "only-one.nettrace"],
        ["compare", "--rev", "main", "a.nettrace"],
        ["compare", "--vs", "b.nettrace"],
        ["compare", "--rev", "main;reboot"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("pta compare:")
