"""Source tools: map trace frames to the target's C# source and check its hot-path rules."""

from __future__ import annotations

from tools.base import Tool
from tools.source.find_source import find_source
from tools.source.guidelines import check_guidelines

FIND_SOURCE_TOOL = Tool.from_function(find_source)
CHECK_GUIDELINES_TOOL = Tool.from_function(check_guidelines)

__all__ = ["CHECK_GUIDELINES_TOOL", "FIND_SOURCE_TOOL"]
