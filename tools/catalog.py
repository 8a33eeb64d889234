"""Every tool the agent and the MCP server offer, in the order an expert uses them.

Each entry is one tool record; a tool whose issue has not landed is a placeholder that fails
with "not available yet" (never fake data).
"""

from __future__ import annotations

from tools.base import Tool, ToolRegistry
from tools.memory_tools import READ_MEMORY_TOOL, WRITE_MEMORY_TOOL
from tools.placeholders import placeholder_tool


def default_tools() -> list[Tool]:
    """All tools, in a stable order (the model sees them in this order)."""
    return [
        READ_MEMORY_TOOL,
        WRITE_MEMORY_TOOL,
        placeholder_tool("start_kafka", "Make sure a Kafka broker answers; start one if needed."),
        placeholder_tool("build", "Build the stress-test project with dotnet build -c Release."),
        placeholder_tool("trace_collect", "Run the stress tool and trace it with dotnet-trace."),
        placeholder_tool("trace_report_piped", "dotnet-trace report topN, non-interactive."),
        placeholder_tool("convert_speedscope", "Convert a trace to speedscope JSON and summarise."),
        placeholder_tool("analyze_trace", "Analyse a .nettrace natively: CPU, allocations, locks."),
        placeholder_tool("find_source", "Find the C# source of a method named in a trace."),
        placeholder_tool("check_guidelines", "Scan a method or file for hot-path rule breaches."),
    ]


def default_registry() -> ToolRegistry:
    """A registry holding :func:`default_tools`."""
    return ToolRegistry(default_tools())
