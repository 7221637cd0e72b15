"""Virtual keys: ``sk-`` plus 256 random bits, shown once, stored only as a SHA-256 digest.

A fast hash is enough because the keys are random and long: there is nothing to brute-force.
A team has any number of keys, each with a name and an optional expiry; rotating replaces them
all with one new key, the old ones working on through an optional grace period.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets

from pydantic_core import to_jsonable_python

from saas_litellm_models import (
    KeyCreated,
    KeyCreateRequest,
    KeyList,
    KeyRotateRequest,
    KeyRotation,
    VirtualKeyInfo,
)

from ..errors import Conflict, InvalidRequest, NotFound
from ..store import Database, keys_sql, teams_sql
from .audit import Operator, record

__all__ = [
    "KEY_PREFIX",
    "MAX_WORKING_KEYS",
    "create_key",
    "hash_key",
    "issue_key",
    "list_keys",
    "new_virtual_key",
    "reissue_key",
    "revoke_key",
    "rotate_keys",
]

KEY_PREFIX = "sk-"
PREFIX_CHARS = 10
"""How much of a key its listing shows (``sk-`` and 7 random characters, 42 of 256 bits)."""
MAX_WORKING_KEYS = 100
"""Keys a team may hold at once (revoked and expired ones do not count)."""


def new_virtual_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def issue_key(
    db: Database,
    team_id: str,
    *,
    name: str | None,
    expires_at: dt.datetime | None,
    now: dt.datetime,
    replaces: str | None = None,
    key: str | None = None,
) -> tuple[str, keys_sql.KeyRow]:
    """A new key for the team (``key``, or a fresh one): the key itself (shown once) and what
    is stored of it."""
    key = key or new_virtual_key()
    row = await keys_sql.insert_key(
        db,
        key_id="key_" + secrets.token_hex(12),
        team_id=team_id,
        name=name,
        prefix=key[:PREFIX_CHARS],
        key_hash=hash_key(key),
        created_at=now,
        expires_at=expires_at,
        replaces=replaces,
    )
    return key, row


async def _live_team(db: Database, team_id: str) -> None:
    if await teams_sql.get_team(db, team_id) is None:
        raise NotFound(f"team {team_id!r} not found")


async def _locked_team(db: Database, team_id: str) -> None:
    """The team exists (404 otherwise); its row is held until the transaction ends, so that
    changes to its keys run one at a time: two concurrent creations cannot both see room for
    the last key, two rotations cannot both leave their new key working. (A write, which a
    SQLite transaction must begin with, see ``store._database``.)"""
    if not await teams_sql.lock_team(db, team_id):
        raise NotFound(f"team {team_id!r} not found")


def _working(row: keys_sql.KeyRow, now: dt.datetime) -> bool:
    return row["revoked_at"] is None and (row["expires_at"] is None or row["expires_at"] > now)


async def create_key(
    db: Database, team_id: str, body: KeyCreateRequest, by: Operator
) -> KeyCreated:
    if body.expires_at is not None and body.expires_at <= by.now:
        raise InvalidRequest("expires_at is in the past", param="expires_at")
    async with db.transaction():
        await _locked_team(db, team_id)
        existing = await keys_sql.list_keys(db, team_id)
        if sum(_working(k, by.now) for k in existing) >= MAX_WORKING_KEYS:
            raise Conflict(
                f"team {team_id!r} has {MAX_WORKING_KEYS} working keys; revoke one first"
            )
        key, row = await issue_key(
            db, team_id, name=body.name, expires_at=body.expires_at, now=by.now
        )
        await record(db, by, "team.key_create", f"team:{team_id}", after=_info(row))
    return KeyCreated(virtual_key=key, **row)


def _info(row: keys_sql.KeyRow) -> VirtualKeyInfo:
    return VirtualKeyInfo.model_validate(row)


async def list_keys(db: Database, team_id: str) -> KeyList:
    await _live_team(db, team_id)
    return KeyList(keys=[_info(r) for r in await keys_sql.list_keys(db, team_id)])


async def revoke_key(db: Database, team_id: str, key_id: str, by: Operator) -> VirtualKeyInfo:
    """Stop one key at once; revoking a revoked key changes nothing."""
    async with db.transaction():
        await _locked_team(db, team_id)
        before = next(
            (k for k in await keys_sql.list_keys(db, team_id) if k["key_id"] == key_id), None
        )
        row = await keys_sql.revoke_key(db, team_id, key_id, by.now)
        if row is None or before is None:
            raise NotFound(f"key {key_id!r} of team {team_id!r} not found")
        if before["revoked_at"] is None:
            await record(
                db, by, "team.key_revoke", f"team:{team_id}", before=_info(before), after=_info(row)
            )
    return _info(row)


async def rotate_keys(
    db: Database, team_id: str, body: KeyRotateRequest | None, by: Operator
) -> KeyRotation:
    """One new key; the team's other keys stop at once, or after ``grace_seconds``."""
    grace = dt.timedelta(seconds=(body.grace_seconds or 0) if body is not None else 0)
    until = by.now + grace
    async with db.transaction():
        await _locked_team(db, team_id)
        retired = await keys_sql.expire_keys(db, team_id, until=until, now=by.now)
        # named for when it was made: after a rotation the team's keys are told apart
        name = f"rotated {by.now:%Y-%m-%d %H:%M} UTC"
        key, row = await issue_key(db, team_id, name=name, expires_at=None, now=by.now)
        await record(
            db,
            by,
            "team.key_rotate",
            f"team:{team_id}",
            before={"keys": [k["key_id"] for k in retired]},
            after={"key_id": row["key_id"], "previous_keys_expire_at": until},
        )
    return KeyRotation(
        team_id=team_id,
        virtual_key=key,
        key_id=row["key_id"],
        prefix=row["prefix"],
        previous_keys_expire_at=until,
    )


async def reissue_key(db: Database, kept: str, by: Operator) -> str:
    """A replayed team create, key create or key rotation. Keys are never stored in clear, so
    they are not kept for replays either: the replay (its first response was lost) revokes the
    key that was lost (and any an earlier replay handed out in its place) and hands out a fresh
    one, with the same name and expiry. A key the operator revoked since (or that expired, or
    that a later rotation retired) is not brought back: the replay is then a 409, and a removed
    team's a 404."""
    data = json.loads(kept)
    if "error" in data or "team_id" not in data or "key_id" not in data:
        return kept
    team_id, lost = data["team_id"], data["key_id"]
    async with db.transaction():
        if not await teams_sql.lock_team(db, team_id):
            raise NotFound(f"team {team_id!r} not found (it was removed since)")
        old, working = await keys_sql.revoke_lost(db, team_id, lost, by.now)
        if old is None:
            raise NotFound(f"key {lost!r} of team {team_id!r} not found")
        if not working:
            raise Conflict(
                "the key this request created was revoked, rotated away or has expired since; "
                "a replay cannot hand it out again: create a new key"
            )
        key, row = await issue_key(
            db, team_id, name=old["name"], expires_at=old["expires_at"], now=by.now, replaces=lost
        )
        await record(
            db,
            by,
            "team.key_reissue",
            f"team:{team_id}",
            before={"key_id": lost},
            after={"key_id": row["key_id"]},
        )
    data.update(virtual_key=key, key_id=row["key_id"])
    for field in ("prefix", "created_at", "expires_at"):
        if field in data:
            data[field] = to_jsonable_python(row[field])
    return json.dumps(data)
