"""Prices per model family and the USD cost of a run's token usage.

Cache writes (5-minute TTL) cost 1.25x the input price and cache reads 0.1x, as the API
bills them. A model whose family is not in the table has no known price (``None``), which
the report shows as "unknown" rather than a made-up number.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.model import Usage

CACHE_WRITE_FACTOR = 1.25
"""Cache writes (5-minute TTL) cost this times the input price."""

CACHE_READ_FACTOR = 0.1
"""Cache reads cost this times the input price."""


@dataclass(frozen=True)
class Price:
    """US dollars per million input and output tokens."""

    input_per_mtok: float
    output_per_mtok: float


PRICES: dict[str, Price] = {
    "claude-opus-4-0": Price(15.0, 75.0),
    "claude-opus-4-1": Price(15.0, 75.0),
    "claude-opus": Price(5.0, 25.0),
    "claude-sonnet": Price(3.0, 15.0),
    "claude-haiku": Price(1.0, 5.0),
}
"""Longest matching prefix wins (Opus 4.0/4.1 were priced higher than later Opus models)."""


def price_for(model: str) -> Price | None:
    """The price of ``model`` by its longest matching family prefix, or None."""
    matches = [prefix for prefix in PRICES if model.startswith(prefix)]
    return PRICES[max(matches, key=len)] if matches else None


def cost_usd(model: str, usage: Usage) -> float | None:
    """The cost of ``usage`` on ``model`` in US dollars, or None when the price is unknown."""
    price = price_for(model)
    if price is None:
        return None
    per_input = price.input_per_mtok / 1_000_000
    total = (
        usage.input_tokens * per_input
        + usage.cache_write_tokens * per_input * CACHE_WRITE_FACTOR
        + usage.cache_read_tokens * per_input * CACHE_READ_FACTOR
        + usage.output_tokens * price.output_per_mtok / 1_000_000
    )
    return round(total, 6)
