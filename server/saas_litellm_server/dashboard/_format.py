"""How the templates show values: money, counts, shares, times (UTC) and identifiers that may
wrap at their separators: the Jinja2 filters of the templates."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import markupsafe

__all__ = ["FILTERS", "breakable", "money", "number", "percent", "when"]


def money(value: float) -> str:
    """US dollars: four decimals below $100 (a call costs a fraction of a cent), two above."""
    return f"${value:,.4f}" if value < 100 else f"${value:,.2f}"


def number(value: float) -> str:
    return f"{value:,.0f}"


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def when(value: dt.datetime | None) -> str:
    return "" if value is None else value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def breakable(value: Any) -> markupsafe.Markup:
    """An identifier that may wrap after its separators (``invoice_<wbr>parse``), never in
    the middle of a word."""
    escaped = str(markupsafe.escape(str(value)))
    return markupsafe.Markup(re.sub(r"([_./:-])", r"\1<wbr>", escaped))  # noqa: S704


FILTERS: dict[str, Callable[..., Any]] = {
    "money": money,
    "number": number,
    "percent": percent,
    "when": when,
    "ident": breakable,
}
