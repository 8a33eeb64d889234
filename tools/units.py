"""Numbers in human units for text a person or the model reads (JSON fields stay exact)."""

from __future__ import annotations

_BYTE_UNITS = ("B", "KB", "MB", "GB", "TB")


def human_bytes(value: float) -> str:
    """``10183603790`` -> ``10.2 GB`` (decimal units, as file managers show them)."""
    size = float(value)
    for unit in _BYTE_UNITS:
        if abs(size) < 1000 or unit == _BYTE_UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def human_count(value: float) -> str:
    """``1234567`` -> ``1,234,567``; ``12345678901`` -> ``12.3 billion``."""
    if abs(value) >= 1e9:
        return f"{value / 1e9:.1f} billion"
    if abs(value) >= 1e7:
        return f"{value / 1e6:.1f} million"
    return f"{value:,.0f}"
