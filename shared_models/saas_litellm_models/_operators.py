"""Operators: the people (or programs) that run the server, each with a role and a key of its
own (``sk-op-…``), so that the audit log names who made a change and each gets only the rights
it needs.

Roles, least to most (:data:`OPERATOR_ROLES`): ``viewer`` reads everything; ``billing`` also
grants and adjusts credits and changes billing settings and auto-refill; ``admin`` changes
everything but the operators; ``owner`` also manages the operators. The server's configured
admin key acts as an owner.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import Field, StringConstraints

from ._base import NoNul, RequestModel, ResponseModel

__all__ = [
    "OPERATOR_ID_PATTERN",
    "OPERATOR_KEY_PREFIX",
    "OPERATOR_ROLES",
    "OperatorCreateRequest",
    "OperatorCreated",
    "OperatorInfo",
    "OperatorList",
    "OperatorRole",
    "OperatorUpdateRequest",
    "role_allows",
]

OperatorRole = Literal["viewer", "billing", "admin", "owner"]
OPERATOR_ROLES: tuple[OperatorRole, ...] = get_args(OperatorRole)
"""The roles, least to most: each may do everything the ones before it may."""
OPERATOR_ID_PATTERN = r"^op_[0-9a-f]{24}$"
"""An operator's id (``op_`` and 24 hex digits): the ``{operator_id}`` of
``/api/operators/{operator_id}``."""
OPERATOR_KEY_PREFIX = "sk-op-"
"""How every operator key starts (a team's virtual key never does)."""

_Name = Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul]


def role_allows(have: OperatorRole, need: OperatorRole) -> bool:
    """Whether an operator of role ``have`` may do what needs ``need``."""
    return OPERATOR_ROLES.index(have) >= OPERATOR_ROLES.index(need)


class OperatorCreateRequest(RequestModel):
    """Body of ``POST /api/operators``."""

    name: _Name = Field(description="Who this operator is (a person, a program); not unique.")
    role: OperatorRole = Field(
        description="viewer: reads only; billing: reads, credits, billing settings, auto-refill;"
        " admin: everything but operators; owner: everything."
    )


class OperatorUpdateRequest(RequestModel):
    """Body of ``PATCH /api/operators/{operator_id}``: fields left out are unchanged."""

    name: _Name | None = None
    role: OperatorRole | None = Field(
        default=None, description="Takes effect on the operator's next request."
    )


class OperatorInfo(ResponseModel):
    """An operator as listed: never its key."""

    operator_id: str
    name: str
    role: OperatorRole
    created_at: datetime
    key_created_at: datetime = Field(description="When its current key was issued.")


class OperatorCreated(OperatorInfo):
    """Response of ``POST /api/operators`` and of its rotate-key: the only time the key is
    shown."""

    api_key: str = Field(description="`sk-op-…`: the operator's key, shown only this once.")


class OperatorList(ResponseModel):
    """Response of ``GET /api/operators``: newest first, one page at a time."""

    operators: list[OperatorInfo]
    next_cursor: str | None = Field(
        default=None, description="Pass as ``cursor`` for the next page; null on the last page."
    )
