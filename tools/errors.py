"""The exception a tool raises on purpose: its message is what the model sees."""

from __future__ import annotations


class ToolError(Exception):
    """A deliberate, explained tool failure (missing SDK, build failed, broker not ready)."""
