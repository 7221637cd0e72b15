"""Money as integers: US dollars are whole micro-dollars wherever they are stored or added.

The API speaks JSON numbers in USD (``0.39``); the server converts them once, at its edges, and
never adds or multiplies a binary float: a price is whole micro-dollars per million tokens (which
is also pico-dollars per token), so a call's cost is an exact integer of pico-dollars, rounded up
once to the micro-dollar it is stored as. Rates the operator sets as decimals (a markup of
``12.5`` percent, ``2.5`` credits per dollar) are read as the exact decimal they were written as
(the shortest ``repr`` of the float JSON gave), never as the binary float.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

__all__ = [
    "MICROS",
    "ceil_div",
    "cost_pico",
    "exact",
    "micros_of",
    "pico_to_micros",
    "usd",
]

MICROS = 1_000_000
"""Micro-dollars in a dollar (and pico-dollars in a micro-dollar)."""


def exact(value: float | int | str) -> Fraction:
    """The decimal ``value`` was written as (``0.1`` is one tenth, not the float nearest it)."""
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    return Fraction(value)


def micros_of(amount_usd: float | int | str, *, floor: bool = False) -> int:
    """``amount_usd`` in whole micro-dollars: exactly (``ValueError`` if it has more than six
    decimals), or rounded down with ``floor`` (a cap: never above what was asked)."""
    micros = exact(amount_usd) * MICROS
    if micros.denominator != 1 and not floor:
        raise ValueError(f"{amount_usd} USD has more than six decimals")
    return int(micros.numerator // micros.denominator)


def usd(micros: int) -> float:
    """Whole micro-dollars as the JSON number in USD the API shows (nearest float)."""
    return micros / MICROS


def ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def cost_pico(
    prompt_tokens: int, completion_tokens: int, input_micros: int, output_micros: int
) -> int:
    """Tokens times prices in micro-dollars per million tokens: pico-dollars, exactly."""
    return prompt_tokens * input_micros + completion_tokens * output_micros


def pico_to_micros(pico: int | Fraction) -> int:
    """Pico-dollars rounded up to the micro-dollar (a cost is never rounded down)."""
    if isinstance(pico, int):
        return -(-pico // MICROS)
    value = pico / MICROS
    return int(-(-value.numerator // value.denominator))
