"""Small conversions shared by the store modules."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

__all__ = ["dumps", "loads", "utc", "utcnow"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands timestamps back naive; they were stored as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.timezone.utc)


def dumps(value: Any) -> str:
    return json.dumps(value if value is not None else {}, separators=(",", ":"), ensure_ascii=False)


def loads(value: str | None) -> Any:
    return json.loads(value) if value else {}
