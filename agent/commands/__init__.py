"""One module per sub-command; each has ``register(subparsers)`` that sets ``run``."""

from __future__ import annotations

from types import ModuleType

from agent.commands import (
    analyze,
    ask,
    batch,
    compare,
    doctor,
    install_claude,
    kafka,
    mcp,
    memory,
    report,
)

COMMAND_MODULES: tuple[ModuleType, ...] = (
    ask,
    batch,
    analyze,
    compare,
    mcp,
    install_claude,
    memory,
    kafka,
    doctor,
    report,
)
