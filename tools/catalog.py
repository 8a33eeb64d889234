"""Every tool the agent and the MCP server offer, in the order an expert uses them.

Each entry is one tool record; a tool whose issue has not landed is a placeholder that fails
with "not available yet" (never fake data).
"""

from __future__ import annotations

from tools.analyze_tool import ANALYZE_TRACE_TOOL
from tools.base import Tool, ToolRegistry
from tools.build import BUILD_TOOL
from tools.compare_revisions import COMPARE_REVISIONS_TOOL
from tools.kafka import START_KAFKA_TOOL
from tools.memory_tools import READ_MEMORY_TOOL, WRITE_MEMORY_TOOL
from tools.source import CHECK_GUIDELINES_TOOL, FIND_SOURCE_TOOL
from tools.speedscope_tool import CONVERT_SPEEDSCOPE_TOOL
from tools.stack_snapshot import STACK_SNAPSHOT_TOOL
from tools.trace_collect import TRACE_COLLECT_TOOL
from tools.trace_report import TRACE_REPORT_TOOL


def default_tools() -> list[Tool]:
    """All tools, in a stable order (the model sees them in this order)."""
    return [
        READ_MEMORY_TOOL,
        WRITE_MEMORY_TOOL,
        START_KAFKA_TOOL,
        BUILD_TOOL,
        TRACE_COLLECT_TOOL,
        STACK_SNAPSHOT_TOOL,
        TRACE_REPORT_TOOL,
        CONVERT_SPEEDSCOPE_TOOL,
        ANALYZE_TRACE_TOOL,
        FIND_SOURCE_TOOL,
        CHECK_GUIDELINES_TOOL,
        COMPARE_REVISIONS_TOOL,
    ]


def default_registry() -> ToolRegistry:
    """A registry holding :func:`default_tools`."""
    return ToolRegistry(default_tools())
