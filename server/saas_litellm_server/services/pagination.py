"""Opaque page cursors: ``(created_at, id)`` of the last row a page showed.

A cursor is the server's own output handed back. Anything else — forged, truncated, holding lone
surrogates, NUL or dates the database cannot store — is refused with a 400 here, before it can
reach a query: a cursor is accepted only if encoding what it decodes to gives it back.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from ..errors import InvalidRequest

__all__ = ["decode_cursor", "encode_cursor", "page", "position"]

R = TypeVar("R", bound=Mapping[str, Any])

_MAX_CURSOR = 512
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,127}$")


def encode_cursor(created_at: dt.datetime, row_id: str) -> str:
    stamp = created_at.astimezone(dt.timezone.utc).isoformat()
    raw = json.dumps([stamp, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def position(cursor: str | None) -> tuple[dt.datetime, str] | None:
    """Where a page starts: after the row a cursor names, or at the top without one."""
    return decode_cursor(cursor) if cursor else None


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """The position a cursor names, or 400 ``cursor is not one this API returned``."""
    try:
        if len(cursor) > _MAX_CURSOR:
            raise ValueError("longer than any cursor this server writes")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, row_id = json.loads(raw)
        if not (isinstance(stamp, str) and isinstance(row_id, str) and _ID.match(row_id)):
            raise ValueError("not a position")
        created_at = dt.datetime.fromisoformat(stamp)
        if created_at.utcoffset() != dt.timedelta(0) or encode_cursor(created_at, row_id) != (
            cursor.rstrip("=")
        ):
            raise ValueError("not a cursor this server wrote")
    except (ValueError, TypeError, binascii.Error, UnicodeError, RecursionError):
        raise InvalidRequest("cursor is not one this API returned", param="cursor") from None
    return created_at, row_id


def page(
    rows: Sequence[R], limit: int, key: str, *, stamp: str = "created_at"
) -> tuple[Sequence[R], str | None]:
    """A page of ``rows`` (fetched with ``limit + 1``, newest first) and the cursor of the next
    one (``None`` on the last page); ``key`` names the rows' id column, ``stamp`` their time."""
    shown = rows[:limit]
    if len(rows) <= limit:
        return shown, None
    return shown, encode_cursor(shown[-1][stamp], shown[-1][key])
