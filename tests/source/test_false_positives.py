"""Shapes that look like hot-path rule breaches and are not, beside ones that are.

The fixture repo (``tests/fixtures/false_positives``) marks each true breach with
``// EXPECT: rule``; every other construct in it is a false positive once seen on real code:
``.Result`` after ``await Task.WhenAll``, formatting in exception messages and behind
``IsEnabled`` guards, ``??=`` and growth allocations, throws on timeout/error paths, a
protocol reader's ``Skip``, setup before and after a loop, a lambda opening on the next line,
a deliberate choice the code documents. From a second client (nats.net, ``ReceivePath.cs``):
messages handed to throw helpers, copies taken in a catch, names built only while a tracing
listener is attached, a value type's static ``Concat``, a method documented as running on a
reconnect, and an object returned to the caller inside the method's result. Rules apply only
where their text says (``in src/``) and only in library code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.base import ToolContext
from tools.source.alloc_sites import allocation_line, allocation_rule, categorize
from tools.source.analysis_json import short_type
from tools.source.guidelines import CheckGuidelinesArgs, check_guidelines, scan_symbol
from tools.source.locations import LocationClassifier, project_category
from tools.source.rules import load_rules, rule_lines
from tools.source.symbol_index import build_index

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "false_positives"
PATTERNS = "src/Wire/Patterns.cs"
RECEIVE = "src/Wire/ReceivePath.cs"
RECEIVE_TEXT = (ROOT / RECEIVE).read_text()
EXPECT = re.compile(r"// EXPECT: (?P<rules>[\w\-, ]+)$")


def _expected(path: str = PATTERNS) -> set[tuple[str, int]]:
    out: set[tuple[str, int]] = set()
    for number, line in enumerate((ROOT / path).read_text().splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            out.update((rule.strip(), number) for rule in match.group("rules").split(","))
    return out


def test_only_the_true_breaches_are_found() -> None:
    """Every marked breach is found at its line; none of the look-alikes is."""
    result = check_guidelines(CheckGuidelinesArgs(path="."), ToolContext(repo=ROOT))
    for path in (PATTERNS, RECEIVE):
        found = {(f.rule, f.line) for f in result.findings if f.file == path}
        assert found == _expected(path), path
    assert {f.file for f in result.findings} == {PATTERNS, RECEIVE}


def test_the_rule_scope_and_the_library_boundary_are_said() -> None:
    """Library code outside `src/` breaks no `in src/` rule; tests, tools and samples are
    scanned but not judged, and the result says so."""
    result = check_guidelines(CheckGuidelinesArgs(path="."), ToolContext(repo=ROOT))
    assert "1 sample, 1 test, 1 tool file(s) not library code" in result.scanned
    rules = load_rules(ROOT)
    assert rules.applies("configure-await", PATTERNS)
    assert not rules.applies("configure-await", "lib/Shim/Outside.cs")
    assert rules.applies("lock", "lib/Shim/Outside.cs")
    assert {"alloc-in-loop", "task-run", "string-format"} <= rules.per_message
    assert "lock" not in rules.per_message


def test_lambda_finding_is_on_the_lambda_line() -> None:
    """A lambda whose body opens on the next line is reported where the lambda starts."""
    result = check_guidelines(
        CheckGuidelinesArgs(symbol="Wire.Patterns.Register"), ToolContext(repo=ROOT)
    )
    (finding,) = result.findings
    assert finding.rule == "capturing-lambda" and finding.text.startswith("_ =>")


@pytest.mark.parametrize(
    ("path", "category"),
    [
        ("src/Wire/Patterns.cs", "library"),
        ("lib/Shim/Outside.cs", "library"),
        ("tests/Wire.Tests/FrameTests.cs", "test"),
        ("tools/Loadgen/Program.cs", "tool"),
        ("samples/Hello/Hello.cs", "sample"),
        ("benchmarks/Wire.Perf/Run.cs", "benchmark"),
    ],
)
def test_locations_are_classified_from_layout_and_projects(path: str, category: str) -> None:
    """Folders and project files decide which part of the repo a file is in."""
    assert LocationClassifier(ROOT).classify(path) == category


@pytest.mark.parametrize(
    ("name", "content", "category"),
    [
        ("Dekaf.Tests.Unit", "", "test"),
        ("Wire.IntegrationTests", "", "test"),
        ("Wire.Checks", '<PackageReference Include="TUnit" />', "test"),
        ("Wire.Benchmarks", "", "benchmark"),
        ("Wire.Perf", '<PackageReference Include="BenchmarkDotNet" />', "benchmark"),
        ("Wire.Samples.Console", "", "sample"),
        ("Dekaf.StressTests", "", None),  # a stress tool: its folder (tools/) decides
        ("Dekaf.Testing", "", None),  # a library of test helpers, shipped as a package
    ],
)
def test_project_names_and_references(name: str, content: str, category: str | None) -> None:
    """A project's name and package references mark tests and benchmarks."""
    assert project_category(name, content) == category


def test_no_allocation_advice_for_factories_generics_or_documented_choices() -> None:
    """A pool's ``Create() => new()`` allocates by design; ``Foo`1[Bar]`` is not an array."""
    index = build_index(ROOT)
    (create,) = index.by_name("Create")
    assert allocation_line(index, create, "Wire.Patterns") is None
    assert categorize("Wire.Pool`1[Wire.Batch]", set()) == "object"
    assert "ArrayPool" not in allocation_rule("Wire.Pool`1[Wire.Batch]", "alloc-in-loop")
    assert "ArrayPool" in allocation_rule("System.Byte[]", "alloc-in-loop")
    assert short_type("Wire.Pool`1[Wire.Batch]") == "Pool<Batch>"
    (fill,) = index.by_name("Fill")
    # The only byte[] allocation per iteration is the marked one, not the growth or ??= lines.
    copy = next(n for r, n in _expected() if r == "alloc-in-loop")
    assert allocation_line(index, fill, "System.Byte[]") == (copy, "alloc-in-loop")


def test_an_object_returned_inside_the_result_gets_no_pooling_advice() -> None:
    """The header set a decoder hands back inside the frame it returns is the caller's; a
    scratch set it does not return is the allocating line."""
    index = build_index(ROOT)
    (deliver,) = index.by_name("Deliver")
    assert allocation_line(index, deliver, "Wire.HeaderSet") is None
    (copy,) = index.by_name("DeliverCopy")
    line = next(n for n, t in enumerate(RECEIVE_TEXT.splitlines(), 1) if "var scratch" in t)
    assert allocation_line(index, copy, "Wire.HeaderSet") == (line, "alloc-in-loop")


def test_the_per_message_lock_rule_is_cited_over_a_general_preference() -> None:
    """A CLAUDE.md that prefers channels in one place and bans locks per message in another
    is cited (and scoped) by the per-message line."""
    text = "- Prefer channels over locks for coordination.\n- Locks per message: never.\n"
    (number, line) = rule_lines(text)["lock"]
    assert number == 2 and "per message" in line


def test_a_per_event_method_is_judged_when_the_trace_measured_waits_there() -> None:
    """A method documented as running on a reconnect breaks no per-message rule, unless the
    trace measured waits or a deadlock in it (recommendations then still point at it)."""
    index = build_index(ROOT)
    rules = load_rules(ROOT)
    (rebuild,) = index.by_name("Rebuild")
    assert scan_symbol(index, rebuild, rules) == []
    (finding,) = scan_symbol(index, rebuild, rules, measured=True)
    assert finding.rule == "string-format" and finding.line > rebuild.start_line
