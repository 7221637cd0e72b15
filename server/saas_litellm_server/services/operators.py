"""Operators: create, list, change, remove, rotate a key — and who a key belongs to.

An operator key is ``sk-op-`` plus 256 random bits, shown once and stored only as its SHA-256
digest, like a team's virtual key (``services.keys``). Every change is audited (never the key)
under the target ``operator:<operator_id>``. No rule keeps a last owner: the server's admin key
always acts as an owner, so the operators can never lock the server out of itself.
"""

from __future__ import annotations

import json
import secrets

from saas_litellm_models import (
    OPERATOR_KEY_PREFIX,
    Deleted,
    OperatorCreated,
    OperatorCreateRequest,
    OperatorInfo,
    OperatorList,
    OperatorUpdateRequest,
    PageQuery,
)

from ..errors import NotFound
from ..store import Database, operators_sql, sessions_sql
from . import audit
from .audit import Operator
from .keys import hash_key
from .pagination import page, position

__all__ = [
    "create_operator",
    "delete_operator",
    "list_operators",
    "new_operator_key",
    "operator_for_key",
    "reissue_key",
    "rotate_key",
    "update_operator",
]


def new_operator_key() -> str:
    return OPERATOR_KEY_PREFIX + secrets.token_urlsafe(32)


def _info(row: operators_sql.OperatorRow) -> OperatorInfo:
    return OperatorInfo.model_validate(row)


def _target(operator_id: str) -> str:
    return f"operator:{operator_id}"


def _missing(operator_id: str) -> NotFound:
    return NotFound(f"operator {operator_id!r} not found")


async def operator_for_key(db: Database, token: str) -> operators_sql.OperatorRow | None:
    """The live operator a key belongs to (``None``: not an operator key, or a removed or
    rotated-away one)."""
    if not token.startswith(OPERATOR_KEY_PREFIX):
        return None
    return await operators_sql.by_key_hash(db, hash_key(token))


async def create_operator(
    db: Database, body: OperatorCreateRequest, by: Operator
) -> OperatorCreated:
    key = new_operator_key()
    async with db.transaction():
        row = await operators_sql.insert_operator(
            db,
            operator_id="op_" + secrets.token_hex(12),
            name=body.name,
            role=body.role,
            key_hash=hash_key(key),
            now=by.now,
        )
        info = _info(row)
        await audit.record(db, by, "operator.create", _target(row["operator_id"]), after=info)
    return OperatorCreated(**info.model_dump(), api_key=key)


async def list_operators(db: Database, query: PageQuery) -> OperatorList:
    rows = await operators_sql.list_operators(
        db, limit=query.limit + 1, after=position(query.cursor)
    )
    shown, next_cursor = page(rows, query.limit, "operator_id")
    return OperatorList(operators=[_info(r) for r in shown], next_cursor=next_cursor)


async def update_operator(
    db: Database, operator_id: str, body: OperatorUpdateRequest, by: Operator
) -> OperatorInfo:
    async with db.transaction():
        before, after = await operators_sql.update_operator(
            db, operator_id, name=body.name, role=body.role
        )
        if before is None or after is None:
            raise _missing(operator_id)
        old, new = audit.changed(_info(before).model_dump(), _info(after).model_dump())
        if new:
            await audit.record(
                db, by, "operator.update", _target(operator_id), before=old, after=new
            )
    return _info(after)


async def delete_operator(db: Database, operator_id: str, by: Operator) -> Deleted:
    """Remove an operator: its key is refused at once (and its dashboard sessions end)."""
    async with db.transaction():
        before = await operators_sql.delete_operator(db, operator_id, by.now)
        if before is None:
            raise _missing(operator_id)
        await sessions_sql.end_for_operator(db, operator_id, by.now)
        await audit.record(db, by, "operator.delete", _target(operator_id), before=_info(before))
    return Deleted(object="operator", id=operator_id)


async def rotate_key(db: Database, operator_id: str, by: Operator) -> OperatorCreated:
    """A new key for the operator; the old one is refused from the commit on, and the
    operator's dashboard sessions end (whoever holds one may have the old key)."""
    key = new_operator_key()
    async with db.transaction():
        row = await operators_sql.set_key(db, operator_id, hash_key(key), by.now)
        if row is None:
            raise _missing(operator_id)
        await sessions_sql.end_for_operator(db, operator_id, by.now)
        info = _info(row)
        await audit.record(
            db,
            by,
            "operator.rotate_key",
            _target(operator_id),
            after={"key_created_at": info.key_created_at},
        )
    return OperatorCreated(**info.model_dump(), api_key=key)


async def reissue_key(db: Database, kept: str, by: Operator) -> str:
    """A replayed creation or rotation (its answer was lost, the key in it never kept): the
    same operator with a fresh key, the lost one refused from now on. 404 if it was removed."""
    data = json.loads(kept)
    if "error" in data or "operator_id" not in data:
        return kept
    rotated = await rotate_key(db, data["operator_id"], by)
    data.update(api_key=rotated.api_key, key_created_at=rotated.key_created_at.isoformat())
    return json.dumps(data)
