"""Base classes and constrained types shared by every shape.

Requests are strict (unknown fields are refused, sizes are bounded) so that a malformed request is
rejected at the edge, before it touches the database. Responses are lenient (unknown fields are
ignored) so that an older SDK keeps working against a newer server.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    Strict,
    StringConstraints,
    model_validator,
)

__all__ = [
    "DELIVERY_ID_PATTERN",
    "IDEMPOTENCY_KEY_PATTERN",
    "IDENTIFIER_PATTERN",
    "JOB_ID_PATTERN",
    "KEY_ID_PATTERN",
    "MAX_CONTENT_CHARS",
    "MAX_IDEMPOTENCY_KEY_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_MESSAGES",
    "MAX_METADATA_BYTES",
    "RESERVED_NAME_PATTERN",
    "TEAM_ID_PATTERN",
    "WEBHOOK_ID_PATTERN",
    "Count",
    "FilterId",
    "FiniteJson",
    "Identifier",
    "Metadata",
    "ModelName",
    "NoNul",
    "NotReserved",
    "PageQuery",
    "Price",
    "QueryModel",
    "RequestModel",
    "ResponseModel",
    "ShortText",
    "UpdateRequest",
    "UtcTime",
]

MAX_ID_LENGTH = 128
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$"
"""A caller-chosen id (organization, team, access group): letters, digits and ``_.:@-``, not
starting with punctuation; at most :data:`MAX_ID_LENGTH` characters."""
TEAM_ID_PATTERN = IDENTIFIER_PATTERN
"""A team id is an :data:`Identifier`: the ``{team_id}`` of every ``/api/teams/...`` path."""
JOB_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
"""A job id: a UUID as the server writes it (lowercase)."""
KEY_ID_PATTERN = r"^key_[0-9a-f]{24}$"
"""A virtual key's id (``key_`` and 24 hex digits): the ``{key_id}`` of ``/api/teams/{team_id}
/keys/{key_id}``."""
WEBHOOK_ID_PATTERN = r"^wh_[0-9a-f]{24}$"
"""A webhook endpoint's id: the ``{webhook_id}`` of ``/api/webhooks/{webhook_id}``."""
DELIVERY_ID_PATTERN = r"^msg_[0-9a-f]{24}$"
"""A webhook delivery's id, sent as its ``webhook-id`` header (the same on every retry)."""
MAX_IDEMPOTENCY_KEY_LENGTH = 255
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
"""An ``Idempotency-Key`` header: 1 to 255 printable ASCII characters, no spaces."""
MAX_METADATA_BYTES = 16 * 1024
MAX_MESSAGES = 1024
MAX_CONTENT_CHARS = 1_000_000
_MAX_METADATA_DEPTH = 16


class RequestModel(BaseModel):
    """A request body: unknown fields are an error, not silently dropped, and numbers are finite
    (JSON has no NaN or Infinity, and ``1e999`` is not a number anyone meant). The server reads
    bodies in strict mode: values must have the JSON type they are declared as (``"yes"`` is not
    a boolean, ``true`` and ``"5"`` are not numbers; a whole number is a float)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class UpdateRequest(RequestModel):
    """An update: omitted fields are unchanged; ``_required`` fields may not be set to null."""

    _required: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> UpdateRequest:
        for name in self._required:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out to keep it")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the request names, with their new values."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class QueryModel(BaseModel):
    """Query parameters: arrive as strings (so numbers are parsed from text); an empty one is as
    good as absent, and parameters a server does not know are ignored, as browsers and proxies
    add their own."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v != ""}
        return data


_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
_LATEST = datetime.max.replace(tzinfo=timezone.utc)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:59:59-23:59 is past the last representable instant
        return _LATEST if value.year == datetime.max.year else _EARLIEST


UtcTime = Annotated[datetime, AfterValidator(_utc)]
"""An ISO 8601 time as aware UTC: naive means UTC, and a time whose UTC equivalent falls outside
years 1 to 9999 is clamped to that range (it selects the same rows, and stays storable)."""


class ResponseModel(BaseModel):
    """A response body: unknown fields are ignored, for forward compatibility."""

    model_config = ConfigDict(extra="ignore", frozen=True)


RESERVED_NAME_PATTERN = r"create(?:-[a-z-]+)?"
"""Names the API's paths use for actions (``/api/teams/create``…): no id may be one, or the
resource it names could never be reached at ``/api/teams/{team_id}``."""


def _not_reserved(value: str) -> str:
    if re.fullmatch(RESERVED_NAME_PATTERN, value):
        raise ValueError(f"{value!r} is reserved: the API's paths use it for an action")
    return value


NotReserved = AfterValidator(_not_reserved)

Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=IDENTIFIER_PATTERN),
    NotReserved,
]
"""A caller-chosen id (organization, team, access group): letters, digits and ``_.:@-``."""

ModelName = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=MAX_ID_LENGTH, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@/+-]*$"
    ),
]
"""A model alias or an upstream model name (``ChatAgent``, ``openai/gpt-4o-mini``)."""


def _reject_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


NoNul = AfterValidator(_reject_nul)
"""For text that is stored: databases (PostgreSQL above all) cannot store NUL characters."""

ShortText = Annotated[str, StringConstraints(max_length=1000), NoNul]


Count = Annotated[int, Strict()]
"""A whole number that must arrive as one: ``true``, ``"5"`` and ``1.0`` are refused, not
coerced (credits, limits, token counts)."""


def _whole_micros(value: float) -> float:
    if (Decimal(repr(value)) * 1_000_000) % 1:
        raise ValueError("at most six decimals (prices are whole micro-dollars per million tokens)")
    return value


Price = Annotated[float, Field(ge=0, le=1_000_000), AfterValidator(_whole_micros)]
"""USD per million tokens, with at most six decimals: the server keeps prices as whole
micro-dollars per million tokens, so that every cost is exact."""


def _finite(value: Any) -> Any:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        raise ValueError("numbers must be finite (no NaN or Infinity)") from None
    return value


FiniteJson = AfterValidator(_finite)
"""For free-form JSON (metadata, schemas): pydantic keeps NaN and Infinity in ``JsonValue``."""


def _depth(value: Any, level: int = 0) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def _check_metadata(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise ValueError("metadata numbers must be finite (no NaN or Infinity)") from None
    size = len(text.encode())
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"metadata is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}")
    if _depth(value) > _MAX_METADATA_DEPTH:
        raise ValueError(f"metadata nests deeper than {_MAX_METADATA_DEPTH} levels")
    return value


Metadata = Annotated[
    dict[Annotated[str, StringConstraints(max_length=256)], JsonValue],
    AfterValidator(_check_metadata),
    Field(description=f"Free-form JSON object, at most {MAX_METADATA_BYTES} bytes."),
]
"""Caller-supplied JSON object, bounded in size and depth."""


FilterId = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=IDENTIFIER_PATTERN)
]
"""An id a list is filtered by: shaped like an :data:`Identifier` (anything else could name
nothing, and is a 422); an unknown one selects nothing."""


class PageQuery(QueryModel):
    """Query of a cursor-paginated list, newest first."""

    limit: Annotated[int, Field(ge=1, le=500)] = Field(default=50, description="Page size.")
    cursor: str | None = Field(default=None, description="The next_cursor of the previous page.")
