"""Tools whose issue has not landed yet: registered so the model sees them, never faking data."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tools.base import Tool, ToolContext
from tools.errors import ToolError


class PlaceholderArgs(BaseModel):
    """Any arguments; the tool is not available yet."""

    model_config = ConfigDict(extra="allow")
    note: str | None = Field(default=None, description="Unused.")


class PlaceholderResult(BaseModel):
    """Never returned: placeholders always fail."""

    available: bool = Field(False, description="Always false.")


def placeholder_tool(name: str, description: str) -> Tool:
    """A registered tool that fails with "not available yet" and says what it will do."""

    def unavailable(args: PlaceholderArgs, ctx: ToolContext) -> PlaceholderResult:
        raise ToolError(f"{name} is not available yet in this version of perf-trace-analyzer.")

    return Tool(
        name=name,
        description=f"{description} (Not available yet in this version.)",
        input_model=PlaceholderArgs,
        output_model=PlaceholderResult,
        function=unavailable,
    )
