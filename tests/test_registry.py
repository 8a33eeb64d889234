"""The tool registry and dispatcher: schemas for the model, and every failure as data."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from tools.base import Tool, ToolContext, ToolRegistry, cap_text
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

    Second paragraph is not part of the description.
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
    """The model sees the docstring's first paragraph and an object schema without titles."""
    [definition] = registry.anthropic_definitions()
    assert definition["name"] == "echo"
    assert definition["description"] == "Echo the text back."
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


def test_long_result_is_capped_and_saved(tmp_path: Path) -> None:
    """Head and tail survive, a marker names the file that holds the whole text."""
    text = "HEAD" + "x" * 50_000 + "TAIL"
    capped, path = cap_text(text, max_chars=1_000, spill_dir=tmp_path, stem="echo")
    assert len(capped) <= 1_000
    assert capped.startswith("HEAD") and capped.endswith("TAIL")
    assert path is not None and path.read_text() == text
    assert str(path) in capped


def test_short_result_is_untouched(tmp_path: Path) -> None:
    """Text within the cap is returned as is and nothing is written."""
    spill_dir = tmp_path / "spill"
    assert cap_text("short", max_chars=100, spill_dir=spill_dir) == ("short", None)
    assert not spill_dir.exists()


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
