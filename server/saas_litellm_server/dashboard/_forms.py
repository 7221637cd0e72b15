"""A form post as the pages read it: the urlencoded body (anything else, or too large, is no
form), its fields as text, whole numbers or lists, and a validation error as one message."""

from __future__ import annotations

import urllib.parse

from pydantic import ValidationError
from starlette.requests import Request

from ..errors import InvalidRequest

__all__ = ["Form", "problems", "read_form"]

_MAX_FORM_BYTES = 64 * 1024


class Form:
    """A submitted ``application/x-www-form-urlencoded`` form."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields

    def get(self, name: str) -> str:
        values = self.fields.get(name)
        return values[0].strip() if values else ""

    def optional(self, name: str) -> str | None:
        return self.get(name) or None

    def integer(self, name: str) -> int | None:
        """A whole-number field (``None``: left empty)."""
        text = self.get(name)
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            raise InvalidRequest(f"{name}: {text[:40]!r} is not a whole number") from None

    def all(self, name: str) -> list[str]:
        return [v.strip() for v in self.fields.get(name, []) if v.strip()]


async def read_form(request: Request) -> Form | None:
    """The urlencoded form of a POST (``None``: not one, or too large)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return None
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        return None
    try:
        fields = urllib.parse.parse_qs(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False
        )
    except (UnicodeDecodeError, ValueError):
        return None
    return Form(fields)


def problems(exc: ValidationError) -> str:
    """What was wrong with a form (or a page's query), one ``field: message`` per error."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return "; ".join(parts)
