"""The tool registry and dispatcher: schemas for the model, and every failure as data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from tools.base import Tool, ToolContext, ToolRegistry, cap_error_text
from tools.catalog import default_registry
from tools.errors import ToolError


class EchoArgs(BaseModel):
    """Input of the test tool."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="What to echo.")
    times: int = Field(1, ge=1, le=3, description="How often.")


class EchoResult(BaseModel):
    """Output of the test tool."""

    echoed: str


def echo(args: EchoArgs, ctx: ToolContext) -> EchoResult:
    """Echo the text back.

    Use it to test the registry; the second paragraph reaches the model too.
    """
    if args.text == "fail":
        raise ToolError("echo refused: the text was 'fail'")
    if args.text == "bug":
        raise RuntimeError("unexpected")
    return EchoResult(echoed=args.text * args.times)


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry([Tool.from_function(echo)])


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(repo=tmp_path)


def test_definition_has_description_and_object_schema(registry: ToolRegistry) -> None:
    """The model sees the whole docstring (lines joined) and an object schema without titles."""
    [definition] = registry.anthropic_definitions()
    assert definition["name"] == "echo"
    assert definition["description"] == (
        "Echo the text back. Use it to test the registry; the second paragraph reaches the "
        "model too."
    )
    schema = definition["input_schema"]
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert "title" not in schema and "title" not in schema["properties"]["text"]
    assert schema["properties"]["text"]["description"] == "What to echo."


def test_success_returns_json_of_the_output_model(registry: ToolRegistry, ctx: ToolContext) -> None:
    """A valid call runs the function and returns its output as JSON text."""
    outcome = registry.dispatch("echo", {"text": "ab", "times": 2}, ctx)
    assert not outcome.is_error
    assert outcome.text == '{"echoed":"abab"}'
    assert isinstance(outcome.output, EchoResult)


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("nope", {}, "Tool 'nope' not found. Known tools: echo."),
        ("echo", {"text": "x", "times": 9}, "times: Input should be less than or equal to 3"),
        ("echo", {"text": "x", "extra": 1}, "extra: Extra inputs are not permitted"),
        ("echo", {"text": "fail"}, "echo refused: the text was 'fail'"),
        ("echo", {"text": "bug"}, "Tool 'echo' failed: RuntimeError('unexpected')"),
    ],
)
def test_every_failure_is_an_error_result(
    registry: ToolRegistry, ctx: ToolContext, name: str, raw: dict[str, object], expected: str
) -> None:
    """Unknown tool, bad input, ToolError and a bug all come back as is_error text."""
    outcome = registry.dispatch(name, raw, ctx)
    assert outcome.is_error
    assert expected in outcome.text


class RowsArgs(BaseModel):
    """Input of the rows tool."""

    model_config = ConfigDict(extra="forbid")
    rows: int = Field(description="How many rows.")


class Row(BaseModel):
    """One row."""

    name: str
    value: int


class RowsResult(BaseModel):
    """Output of the rows tool: a summary first, then rows strongest first."""

    total: int
    rows: list[Row]
    detail: str


def rows(args: RowsArgs, ctx: ToolContext) -> RowsResult:
    """Return many rows (test tool)."""
    made = [Row(name=f"Dekaf.Producer.Method{i}", value=args.rows - i) for i in range(args.rows)]
    return RowsResult(total=args.rows, rows=made, detail="word " * 2000)


def test_a_long_result_is_cut_by_structure_into_valid_json(ctx: ToolContext) -> None:
    """Rows are dropped from the end and long text shortened; the note says what and how."""
    tool = Tool.from_function(rows, cut_hint="Call rows with fewer rows.")
    ctx.max_result_chars = 2_000
    outcome = ToolRegistry([tool]).dispatch("rows", {"rows": 500}, ctx)
    assert not outcome.is_error and outcome.cut and len(outcome.text) <= 2_000
    data = json.loads(outcome.text)
    assert data == outcome.structured and list(data)[:2] == ["left_out", "total"]
    assert data["total"] == 500 and data["rows"][0] == {
        "name": "Dekaf.Producer.Method0",
        "value": 500,
    }
    kept = len(data["rows"])
    assert 1 <= kept < 500 and data["rows"][-1]["value"] == 500 - kept + 1
    assert data["detail"].endswith(" …") and len(data["detail"]) < 10_000
    note = " ".join(data["left_out"])
    assert f"rows: {kept} of 500 rows" in note and "Call rows with fewer rows." in note
    assert "detail: text shortened" in note


def test_a_long_error_keeps_its_start(ctx: ToolContext) -> None:
    """An error text is cut at a line, from its start (what matters comes first)."""
    text = "The build failed with 900 errors.\n" + "\n".join(f"- e{i}" for i in range(9000))
    capped = cap_error_text(text, max_chars=1_000)
    assert len(capped) <= 1_000 and capped.startswith("The build failed with 900 errors.\n- e0")
    assert capped.endswith("more lines left out)")


def test_a_result_within_the_budget_is_untouched(registry: ToolRegistry, ctx: ToolContext) -> None:
    """Nothing is cut, nothing is added."""
    outcome = registry.dispatch("echo", {"text": "ab"}, ctx)
    assert not outcome.cut and outcome.structured == {"echoed": "ab"}


def test_duplicate_names_are_rejected(registry: ToolRegistry) -> None:
    """Two tools with one name would make dispatch ambiguous."""
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(Tool.from_function(echo))


def test_default_registry_names_are_valid_for_the_api() -> None:
    """Every shipped tool has an API-valid name, a description and an object input schema."""
    registry = default_registry()
    assert len(registry) >= 10
    for definition in registry.anthropic_definitions():
        assert definition["description"]
        assert definition["input_schema"]["type"] == "object"
