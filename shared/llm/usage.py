"""Token usage and its price.

Anthropic reports four token counts per response. They are disjoint: the prompt's total is
``input_tokens + cache_creation_input_tokens + cache_read_input_tokens``, and each is billed at its
own rate (a cache write costs more than plain input, a cache read far less), so cost needs all four.
"""

from __future__ import annotations

from dataclasses import dataclass

_PER_MTOK = 1_000_000


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int

    @classmethod
    def zero(cls) -> Usage:
        return cls(0, 0, 0, 0)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_creation_input_tokens=self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            cache_read_input_tokens=self.cache_read_input_tokens + other.cache_read_input_tokens,
        )

    @property
    def prompt_tokens(self) -> int:
        """Every token of the prompt, however it was billed."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens


@dataclass(frozen=True, slots=True)
class Prices:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float

    def scaled(self, factor: float) -> Prices:
        """Every rate times ``factor`` (the Message Batches API bills every token kind at half)."""
        return Prices(
            input=self.input * factor,
            output=self.output * factor,
            cache_write=self.cache_write * factor,
            cache_read=self.cache_read * factor,
        )

    def cost(self, usage: Usage) -> float:
        return (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_creation_input_tokens * self.cache_write
            + usage.cache_read_input_tokens * self.cache_read
        ) / _PER_MTOK
