"""Prices per model and the USD cost of a run's token usage.

Source: Anthropic's published prices, https://platform.claude.com/docs/en/about-claude/pricing
and each model's overview page (https://platform.claude.com/docs/en/models/<model>/overview),
read on 2026-12-04. Every price is USD per million tokens: base input, output, cache writes with
the 5-minute lifetime (what ``cache_control: ephemeral`` asks for) and cache hits. Cache hits are
not always 0.1x the input price: Opus 5.5, Sonnet 5.5, Fable 5.1/5.2 and Haiku 5.5 bill them at
0.05x or less, so each model carries its own rates. Sonnet 5.5's cache hits were cut from $0.20
to $0.10 on 2026-10-07. Haiku 5.5 costs five times more for a request whose prompt is over
100,000 tokens; this table holds its rate below that (our prompts stay far under it).

A model missing from the table has no known price (``None``), which the report shows as
"unknown" rather than a made-up number; ids with a date suffix take their model's price.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.model import Usage

PRICES_CHECKED = "2026-12-04"
"""When the table was last compared with the published pricing."""


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float


PRICES: dict[str, Price] = {
    "claude-fable-5-2": Price(8.0, 40.0, 10.0, 0.20),
    "claude-mythos-5-2": Price(8.0, 40.0, 10.0, 0.20),
    "claude-fable-5-1": Price(10.0, 50.0, 12.50, 0.25),
    "claude-mythos-5-1": Price(10.0, 50.0, 12.50, 0.25),
    "claude-fable-5": Price(10.0, 50.0, 12.50, 1.00),
    "claude-mythos-5": Price(10.0, 50.0, 12.50, 1.00),
    "claude-opus-5-5": Price(4.0, 20.0, 5.0, 0.20),
    "claude-opus-5": Price(5.0, 25.0, 6.25, 0.50),
    "claude-opus-4-8": Price(5.0, 25.0, 6.25, 0.50),
    "claude-opus-4-7": Price(5.0, 25.0, 6.25, 0.50),
    "claude-opus-4-6": Price(5.0, 25.0, 6.25, 0.50),
    "claude-opus-4-5": Price(5.0, 25.0, 6.25, 0.50),
    "claude-opus-4-1": Price(15.0, 75.0, 18.75, 1.50),
    "claude-opus-4-0": Price(15.0, 75.0, 18.75, 1.50),
    "claude-opus-4": Price(15.0, 75.0, 18.75, 1.50),
    "claude-sonnet-5-5": Price(2.0, 10.0, 2.50, 0.10),
    "claude-sonnet-5": Price(2.0, 10.0, 2.50, 0.20),
    "claude-sonnet-4-6": Price(3.0, 15.0, 3.75, 0.30),
    "claude-sonnet-4-5": Price(3.0, 15.0, 3.75, 0.30),
    "claude-sonnet-4": Price(3.0, 15.0, 3.75, 0.30),
    "claude-haiku-5-5": Price(0.10, 0.50, 0.125, 0.01),
    "claude-haiku-4-5": Price(1.0, 5.0, 1.25, 0.10),
}
"""Model id -> price; the longest id that the model name starts with, up to a ``-``, wins."""


def price_for(model: str) -> Price | None:
    """The price of ``model`` (``claude-opus-4-5-20251101`` takes ``claude-opus-4-5``'s)."""
    matches = [
        known for known in PRICES if model == known or model.startswith((f"{known}-", f"{known}["))
    ]
    return PRICES[max(matches, key=len)] if matches else None


def cost_usd(model: str, usage: Usage) -> float | None:
    """The cost of ``usage`` on ``model`` in US dollars, or None when the price is unknown."""
    price = price_for(model)
    if price is None:
        return None
    total = (
        usage.input_tokens * price.input
        + usage.cache_write_tokens * price.cache_write
        + usage.cache_read_tokens * price.cache_read
        + usage.output_tokens * price.output
    )
    return round(total / 1_000_000, 6)
