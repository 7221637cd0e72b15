"""CSV exports (``?format=csv``, the dashboard's "Export CSV" links): a header row, then the
rows, streamed as they are read; each cell as text a spreadsheet cannot mistake for a formula.

Team ids, aliases, reasons and job types are written by others and may be hostile: a cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is one a spreadsheet may run as
a formula (OWASP "CSV injection"), so such a text cell gets a leading ``'``. Numbers are written
as numbers (a negative credit stays ``-5``); money is an exact decimal of its micro-dollars.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass

from starlette.responses import StreamingResponse

from ._money import MICROS

__all__ = ["Cell", "Dollars", "Export", "cell", "csv_response", "neutralise"]

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class Dollars(int):
    """Whole micro-dollars, written as the exact decimal in US dollars (``0.003003``)."""


Cell = str | int | Dollars | dt.datetime | None


def neutralise(text: str) -> str:
    """``text``, with a leading ``'`` if a spreadsheet could read it as a formula."""
    return "'" + text if text.startswith(_FORMULA) else text


def cell(value: Cell) -> str:
    """One value as a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Dollars):
        whole, part = divmod(abs(int(value)), MICROS)
        return f"{'-' if value < 0 else ''}{whole}.{part:06d}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return neutralise(value)


def _line(values: Iterable[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Export:
    """What a service exports: its columns, its rows (read as the answer streams) and the
    file's name. The routes and the dashboard answer it with :func:`csv_response`."""

    header: Sequence[str]
    rows: AsyncIterator[Sequence[Cell]]
    filename: str


def csv_response(export: Export) -> StreamingResponse:
    """A ``text/csv`` attachment named as the export says (reduced to safe characters): the
    header row, then each row as the export yields it."""

    async def lines() -> AsyncIterator[str]:
        yield _line(export.header)
        async for row in export.rows:
            yield _line(cell(v) for v in row)

    name = _SAFE_NAME.sub("_", export.filename)[:120] or "export.csv"
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
