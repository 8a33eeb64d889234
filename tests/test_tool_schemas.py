"""Every tool the registry offers has a definition the Anthropic API accepts.

Properties, not a frozen blob: this keeps passing as placeholder tools are replaced.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tools.catalog import default_registry

DEFINITIONS = default_registry().anthropic_definitions()
EXPECTED = {
    "read_memory", "write_memory", "start_kafka", "build", "trace_collect",
    "trace_report_piped", "convert_speedscope", "analyze_trace", "find_source",
    "check_guidelines",
}  # fmt: skip


def test_every_contract_tool_is_registered_once() -> None:
    """The ten tools of the contract are all present, each once."""
    names = [d["name"] for d in DEFINITIONS]
    assert EXPECTED <= set(names) and len(names) == len(set(names))


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d["name"])
def test_definition_is_valid_for_the_api(definition: dict[str, Any]) -> None:
    """API-valid name, a real description, an object schema whose fields are described."""
    assert re.fullmatch(r"^[a-zA-Z0-9_-]{1,64}$", definition["name"])
    assert len(definition["description"]) >= 20
    schema = definition["input_schema"]
    assert schema["type"] == "object"
    assert set(definition) == {"name", "description", "input_schema"}
    if "not available yet" not in definition["description"]:
        assert schema.get("additionalProperties") is False
        for field, spec in schema.get("properties", {}).items():
            assert spec.get("description"), f"{definition['name']}.{field} has no description"


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("read_memory", {"path", "query"}),
        ("write_memory", {"path", "mode", "content", "old", "new"}),
    ],
)
def test_memory_tool_inputs_match_the_contract(name: str, fields: set[str]) -> None:
    """The memory tools take exactly the input fields tool-contracts.md names."""
    [definition] = [d for d in DEFINITIONS if d["name"] == name]
    assert set(definition["input_schema"]["properties"]) == fields
    required = set(definition["input_schema"].get("required", []))
    assert required == ({"path", "mode"} if name == "write_memory" else set())
