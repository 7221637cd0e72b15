"""SQL for teams, their keys and their credits.

Every credit movement is one conditional ``UPDATE … RETURNING``: it either applies atomically or
matches no row, so concurrent requests can never overspend or double-settle, on SQLite or on
PostgreSQL, in one process or many.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, cast

import sqlalchemy as sa

from . import ledger_sql
from ._database import Database, Row, Statement
from ._util import dumps, insert_ignore, loads, newest_first, utc, utcnow
from .jobs_sql import JobStart
from .schema import credit_grants, jobs, team_groups, team_keys, teams

__all__ = [
    "BUDGET_COLUMNS",
    "AutoRefill",
    "Balance",
    "BudgetSettings",
    "CreditFigures",
    "KeyLookup",
    "TeamRow",
    "add_credits",
    "adjust_credits",
    "apply_refill",
    "delete_team",
    "existed",
    "get_team",
    "get_team_and_job",
    "get_team_by_key_hash",
    "hold_credits",
    "insert_team",
    "list_teams",
    "lock_team",
    "open_job_count",
    "refills_due",
    "release_held",
    "reserve_credit",
    "set_auto_refill",
    "set_limits",
    "set_status",
    "settle_job",
    "team_access_groups",
    "teams_using",
    "update_team",
]

_REMAINING = (teams.c.credits_allocated - teams.c.credits_used).label("credits_remaining")
_AVAILABLE = teams.c.credits_allocated - teams.c.credits_used - teams.c.credits_reserved
_BALANCE = (
    teams.c.team_id,
    teams.c.organization_id,
    teams.c.credits_allocated,
    teams.c.credits_used,
    teams.c.credits_reserved,
    teams.c.low_balance_threshold,
    _REMAINING,
)
"""What a credit movement returns: the balance after it, and what credit events need."""
BUDGET_COLUMNS = ("budget_mode", "tokens_per_credit", "credits_per_dollar", "markup_percent")
"""The team's billing settings that a job copies when it opens."""


class BudgetSettings(TypedDict):
    """The team's billing settings (:data:`BUDGET_COLUMNS`), as a job copies them."""

    budget_mode: str
    tokens_per_credit: int | None
    credits_per_dollar: float | None
    markup_percent: float


class Balance(TypedDict):
    """A team's credits after a movement (:data:`_BALANCE`), and what credit events need."""

    team_id: str
    organization_id: str
    credits_allocated: int
    credits_used: int
    credits_reserved: int
    low_balance_threshold: int | None
    credits_remaining: int


class CreditFigures(TypedDict):
    """A team's credit balance as the API shows it."""

    team_id: str
    credits_allocated: int
    credits_used: int
    credits_reserved: int
    credits_remaining: int


class AutoRefill(TypedDict):
    amount: int
    period: str
    mode: str
    last_refill_period: str | None


class KeyLookup(TypedDict):
    """What the authenticating lookup reads of a key and its team (every team request)."""

    team_id: str
    status: str
    default_model: str | None
    rpm_limit: int | None
    tpm_limit: int | None
    store_content: bool
    key_id: str
    key_expires_at: dt.datetime | None
    key_revoked_at: dt.datetime | None
    key_last_used_at: dt.datetime | None


class TeamRow(TypedDict):
    """A team as the store hands it to the services (never its key hash)."""

    team_id: str
    organization_id: str
    team_alias: str | None
    default_model: str | None
    status: str
    credits_allocated: int
    credits_used: int
    credits_reserved: int
    credits_remaining: int
    rpm_limit: int | None
    tpm_limit: int | None
    access_groups: list[str]
    metadata: dict[str, Any]
    created_at: dt.datetime
    budget_mode: str
    tokens_per_credit: int | None
    credits_per_dollar: float | None
    markup_percent: float
    low_balance_threshold: int | None
    auto_refill: AutoRefill | None
    store_content: bool


def _auto_refill(row: Row) -> AutoRefill | None:
    if row["refill_period"] is None:
        return None
    return AutoRefill(
        amount=int(row["refill_amount"]),
        period=row["refill_period"],
        mode=row["refill_mode"],
        last_refill_period=row["refill_last_period"],
    )


def _balance(row: Row) -> Balance:
    """The record of :data:`_BALANCE` (it has the shape already: nothing is copied)."""
    return cast(Balance, row)


def _team(row: Row, groups: list[str]) -> TeamRow:
    created_at = utc(row["created_at"])
    assert created_at is not None
    return TeamRow(
        team_id=row["team_id"],
        organization_id=row["organization_id"],
        team_alias=row["team_alias"],
        default_model=row["default_model"],
        status=row["status"],
        credits_allocated=int(row["credits_allocated"]),
        credits_used=int(row["credits_used"]),
        credits_reserved=int(row["credits_reserved"]),
        credits_remaining=int(row["credits_allocated"]) - int(row["credits_used"]),
        rpm_limit=row["rpm_limit"],
        tpm_limit=row["tpm_limit"],
        access_groups=groups,
        metadata=loads(row["metadata"]),
        created_at=created_at,
        budget_mode=row["budget_mode"],
        tokens_per_credit=row["tokens_per_credit"],
        credits_per_dollar=row["credits_per_dollar"],
        markup_percent=float(row["markup_percent"]),
        low_balance_threshold=row["low_balance_threshold"],
        auto_refill=_auto_refill(row),
        store_content=bool(row["store_content"]),
    )


async def insert_team(
    db: Database,
    *,
    team_id: str,
    organization_id: str,
    team_alias: str | None,
    default_model: str | None,
    key_hash: str,
    credits_allocated: int,
    groups: Sequence[str],
    rpm_limit: int | None = None,
    tpm_limit: int | None = None,
    metadata: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
    budget: dict[str, Any] | None = None,
    store_content: bool = False,
) -> bool:
    """Insert the team, its access groups and its first credit grant (in the ledger too);
    ``False`` if the id exists (or existed: a removed team's id is not reused, its history
    still names it). ``budget``: its billing settings (columns of ``teams``)."""
    now = now or utcnow()
    async with db.transaction():
        row = await db.fetch_one(
            insert_ignore(
                db,
                teams,
                team_id=team_id,
                organization_id=organization_id,
                team_alias=team_alias,
                default_model=default_model,
                status="active",
                key_hash=key_hash,
                credits_allocated=credits_allocated,
                credits_used=0,
                credits_reserved=0,
                created_at=now,
                rpm_limit=rpm_limit,
                tpm_limit=tpm_limit,
                metadata=dumps(metadata),
                store_content=store_content,
                **(budget or {}),
            )
        )
        if row is None:
            return False
        for group in dict.fromkeys(groups):
            await db.execute(team_groups.insert().values(team_id=team_id, group_name=group))
        await db.execute(
            credit_grants.insert().values(
                team_id=team_id,
                amount=credits_allocated,
                reason="initial allocation",
                created_at=now,
            )
        )
        if credits_allocated:
            await ledger_sql.append(
                db,
                team_id=team_id,
                kind="grant",
                credits=credits_allocated,
                credits_remaining_after=credits_allocated,
                at=now,
                reason="initial allocation",
                dedupe_key=f"create:{team_id}",
            )
    return True


async def team_access_groups(db: Database, team_id: str) -> list[str]:
    rows = await db.fetch_all(
        sa.select(team_groups.c.group_name)
        .where(team_groups.c.team_id == team_id)
        .order_by(team_groups.c.group_name)
    )
    return [r["group_name"] for r in rows]


async def list_teams(
    db: Database,
    *,
    organization_id: str | None,
    status: str | None,
    access_group: str | None,
    limit: int,
    after: tuple[dt.datetime, str] | None,
) -> list[TeamRow]:
    """A page of teams matching every filter given, newest first (removed teams left out)."""
    query = teams.select().where(teams.c.deleted_at.is_(None))
    if organization_id is not None:
        query = query.where(teams.c.organization_id == organization_id)
    if status is not None:
        query = query.where(teams.c.status == status)
    if access_group is not None:
        query = query.where(
            teams.c.team_id.in_(
                sa.select(team_groups.c.team_id).where(team_groups.c.group_name == access_group)
            )
        )
    rows = await db.fetch_all(
        newest_first(query, teams.c.created_at, teams.c.team_id, after=after, limit=limit)
    )
    if not rows:
        return []
    groups: dict[str, list[str]] = {r["team_id"]: [] for r in rows}
    for g in await db.fetch_all(
        sa.select(team_groups.c.team_id, team_groups.c.group_name)
        .where(team_groups.c.team_id.in_(list(groups)))
        .order_by(team_groups.c.group_name)
    ):
        groups[g["team_id"]].append(g["group_name"])
    return [_team(r, groups[r["team_id"]]) for r in rows]


async def get_team(db: Database, team_id: str) -> TeamRow | None:
    """The team, ``None`` if there is none (or it was removed)."""
    row = await db.fetch_one(
        teams.select().where(teams.c.team_id == team_id, teams.c.deleted_at.is_(None))
    )
    if row is None:
        return None
    return _team(row, await team_access_groups(db, team_id))


async def existed(db: Database, team_id: str) -> bool:
    """Whether the team exists or existed (a removed team's history stays readable)."""
    row = await db.fetch_one(sa.select(teams.c.team_id).where(teams.c.team_id == team_id))
    return row is not None


async def _update_live(db: Database, team_id: str, values: dict[str, Any]) -> bool:
    """Set ``values`` on the team unless it was removed; whether it exists."""
    row = await db.fetch_one(
        teams.update()
        .where(teams.c.team_id == team_id, teams.c.deleted_at.is_(None))
        .values(**values)
        .returning(teams.c.team_id)
    )
    return row is not None


async def lock_team(db: Database, team_id: str) -> bool:
    """Whether the team exists; as a write, so that it can open a transaction that changes the
    team (a SQLite transaction must begin with a write, see ``_database``), and on PostgreSQL
    it holds the team's row until the transaction ends."""
    return await _update_live(db, team_id, {"team_id": teams.c.team_id})


async def update_team(db: Database, team_id: str, changes: dict[str, Any]) -> None:
    """Set the named fields (``team_alias``, ``default_model``, ``metadata``, and
    ``access_groups``, which replaces the team's list)."""
    values = {k: v for k, v in changes.items() if k != "access_groups"}
    if "metadata" in values:
        values["metadata"] = dumps(values["metadata"])
    if values:
        await db.execute(teams.update().where(teams.c.team_id == team_id).values(**values))
    if "access_groups" in changes:
        await db.execute(team_groups.delete().where(team_groups.c.team_id == team_id))
        for group in dict.fromkeys(changes["access_groups"]):
            await db.execute(team_groups.insert().values(team_id=team_id, group_name=group))


async def open_job_count(db: Database, team_id: str) -> int:
    return int(
        await db.fetch_val(
            sa.select(sa.func.count())
            .select_from(jobs)
            .where(jobs.c.team_id == team_id, jobs.c.settled_at.is_(None))
        )
    )


async def delete_team(db: Database, team_id: str, now: dt.datetime) -> None:
    """Remove the team: its keys stop working and it leaves every list, but its row stays, so
    that its jobs, calls, costs and grants stay readable and keep counting in usage."""
    await db.execute(teams.update().where(teams.c.team_id == team_id).values(deleted_at=now))
    await db.execute(team_groups.delete().where(team_groups.c.team_id == team_id))
    await db.execute(
        team_keys.update()
        .where(team_keys.c.team_id == team_id, team_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def teams_using(
    db: Database,
    *,
    access_group: str | None = None,
    default_model: str | None = None,
    organization_id: str | None = None,
) -> list[str]:
    """Ids of the teams (not removed) granted ``access_group``, defaulting to
    ``default_model`` or in ``organization_id``: what keeps those from being removed (the
    first 21, enough to name them)."""
    query = sa.select(teams.c.team_id).where(teams.c.deleted_at.is_(None))
    if organization_id is not None:
        query = query.where(teams.c.organization_id == organization_id)
    if access_group is not None:
        query = query.where(
            teams.c.team_id.in_(
                sa.select(team_groups.c.team_id).where(team_groups.c.group_name == access_group)
            )
        )
    if default_model is not None:
        query = query.where(teams.c.default_model == default_model)
    rows = await db.fetch_all(query.order_by(teams.c.team_id).limit(21))
    return [r["team_id"] for r in rows]


_BY_KEY_HASH = Statement(
    "SELECT t.team_id, t.status, t.default_model, t.rpm_limit, t.tpm_limit, "
    "t.store_content, k.key_id, "
    "k.expires_at AS key_expires_at, k.revoked_at AS key_revoked_at, "
    "k.last_used_at AS key_last_used_at "
    "FROM team_keys k JOIN teams t ON t.team_id = k.team_id "
    "WHERE k.key_hash = :key_hash AND t.deleted_at IS NULL"
)


_JOB_COLUMNS = tuple(JobStart.__annotations__)
"""What a call reads of its job with the key: only what it needs to begin (no metadata,
timestamps or running totals: the statements that move those check them)."""
_BY_KEY_HASH_WITH_JOB = Statement(  # column names from the code; every value is bound
    "SELECT t.team_id, t.status, t.default_model, t.rpm_limit, t.tpm_limit, "  # noqa: S608
    "t.store_content, k.key_id, "
    "k.expires_at AS key_expires_at, k.revoked_at AS key_revoked_at, "
    "k.last_used_at AS key_last_used_at, "
    + ", ".join(f"j.{c} AS job_{c}" for c in _JOB_COLUMNS)
    + " FROM team_keys k JOIN teams t ON t.team_id = k.team_id"
    " LEFT JOIN jobs j ON j.job_id = :job_id AND j.team_id = t.team_id "
    "WHERE k.key_hash = :key_hash AND t.deleted_at IS NULL"
)


def _key_lookup(row: Row) -> KeyLookup:
    """The record of :data:`_BY_KEY_HASH`, its times made aware in place (the hot path: the
    record has the shape of a :class:`KeyLookup` already, nothing is copied)."""
    for name in ("key_expires_at", "key_revoked_at", "key_last_used_at"):
        row[name] = utc(row[name])
    return cast(KeyLookup, row)


async def get_team_by_key_hash(db: Database, key_hash: str) -> KeyLookup | None:
    """The authenticating lookup (every team request): just what a request needs to know, and
    the key's ``key_id``, ``key_expires_at``, ``key_revoked_at`` and ``key_last_used_at``."""
    row = await db.run_one(_BY_KEY_HASH, {"key_hash": key_hash})
    return _key_lookup(row) if row is not None else None


async def get_team_and_job(
    db: Database, key_hash: str, job_id: str
) -> tuple[KeyLookup | None, JobStart | None]:
    """The authenticating lookup and the request's job (if it is this team's), in one statement:
    the LLM-call routes need both on every call."""
    row = await db.run_one(_BY_KEY_HASH_WITH_JOB, {"key_hash": key_hash, "job_id": job_id})
    if row is None:
        return None, None
    job = None
    if row["job_job_id"] is not None:
        job = JobStart(
            job_id=row["job_job_id"],
            status=row["job_status"],
            budget_mode=row["job_budget_mode"],
            tokens_per_credit=row["job_tokens_per_credit"],
            credits_per_dollar=row["job_credits_per_dollar"],
            markup_percent=row["job_markup_percent"],
            limit_max_tokens=row["job_limit_max_tokens"],
            limit_max_cost_micros=row["job_limit_max_cost_micros"],
            limit_max_credits=row["job_limit_max_credits"],
            used_calls=row["job_used_calls"],
        )
    return _key_lookup(row), job


async def reserve_credit(db: Database, team_id: str) -> BudgetSettings | None:
    """Reserve one credit for a new job, if one is available; the team's billing settings
    (which the job keeps), ``None`` when no credit is available."""
    row = await db.fetch_one(
        teams.update()
        .where(teams.c.team_id == team_id, teams.c.deleted_at.is_(None), _AVAILABLE >= 1)
        .values(credits_reserved=teams.c.credits_reserved + 1)
        .returning(*(teams.c[c] for c in BUDGET_COLUMNS))
    )
    return cast("BudgetSettings | None", row)  # the columns of BUDGET_COLUMNS: nothing to convert


_HOLD = Statement(
    "UPDATE teams SET credits_reserved = credits_reserved + :credits WHERE team_id = :team_id "
    "AND :credits <= credits_allocated - credits_used - credits_reserved RETURNING team_id"
)


async def hold_credits(db: Database, team_id: str, credits: int) -> bool:
    """Reserve ``credits`` more for an open job, only if that many are available."""
    return bool(await db.run(_HOLD, {"team_id": team_id, "credits": credits}))


async def release_held(db: Database, team_id: str, credits: int) -> None:
    """Give back ``credits`` a job held (its worst case shrank to the real figure)."""
    row = await db.fetch_one(
        teams.update()
        .where(teams.c.team_id == team_id, teams.c.credits_reserved >= credits)
        .values(credits_reserved=teams.c.credits_reserved - credits)
        .returning(teams.c.team_id)
    )
    if row is None:  # a job's reservation is missing: a broken invariant, never a client error
        raise RuntimeError(f"team {team_id!r} holds fewer than {credits} reserved credits")


async def settle_job(db: Database, team_id: str, *, held: int, charge: int) -> Balance | None:
    """Close a job's reservation of ``held`` credits, spending ``charge`` of the team's credits
    (0: a release). ``None`` when the team cannot pay ``charge`` even with the job's credits
    back (only when a job used more than its worst case); else the balance after it."""
    row = await db.fetch_one(
        teams.update()
        .where(
            teams.c.team_id == team_id,
            teams.c.credits_reserved >= held,
            _AVAILABLE + held >= charge,
        )
        .values(
            credits_reserved=teams.c.credits_reserved - held,
            credits_used=teams.c.credits_used + charge,
        )
        .returning(*_BALANCE)
    )
    return None if row is None else _balance(row)


async def add_credits(
    db: Database,
    team_id: str,
    credits: int,
    reason: str | None,
    *,
    now: dt.datetime | None = None,
    kind: str = "grant",
    dedupe_key: str | None = None,
) -> Balance | None:
    """Grant credits (and record the grant, in the ledger too); ``None`` when the team does
    not exist."""
    now = now or utcnow()
    async with db.transaction():
        row = await db.fetch_one(
            teams.update()
            .where(teams.c.team_id == team_id, teams.c.deleted_at.is_(None))
            .values(credits_allocated=teams.c.credits_allocated + credits)
            .returning(*_BALANCE)
        )
        if row is None:
            return None
        after = _balance(row)
        await db.execute(
            credit_grants.insert().values(
                team_id=team_id, amount=credits, reason=reason, created_at=now
            )
        )
        await ledger_sql.append(
            db,
            team_id=team_id,
            kind=kind,
            credits=credits,
            credits_remaining_after=after["credits_remaining"],
            at=now,
            reason=reason,
            dedupe_key=dedupe_key,
        )
    return after


async def adjust_credits(
    db: Database, team_id: str, credits: int, reason: str, *, now: dt.datetime
) -> Balance | None:
    """Add ``credits`` (signed) to the team's balance with an ``adjustment`` row in the ledger
    (call inside a transaction): one conditional update, so a negative adjustment takes only
    credits that are available (remaining, less what its jobs hold). The balance after it;
    ``None`` when that does not hold (or the team does not exist)."""
    row = await db.fetch_one(
        teams.update()
        .where(
            teams.c.team_id == team_id,
            teams.c.deleted_at.is_(None),
            _AVAILABLE + credits >= 0,
        )
        .values(credits_allocated=teams.c.credits_allocated + credits)
        .returning(*_BALANCE)
    )
    if row is None:
        return None
    after = _balance(row)
    await ledger_sql.append(
        db,
        team_id=team_id,
        kind="adjustment",
        credits=credits,
        credits_remaining_after=after["credits_remaining"],
        at=now,
        reason=reason,
    )
    return after


async def set_auto_refill(db: Database, team_id: str, refill: dict[str, Any] | None) -> bool:
    """Set (``{amount, period, mode}``) or remove (``None``) the team's auto-refill. The period
    last refilled is kept while the period stays the same (so re-setting it cannot refill
    twice in one period); a new period type starts afresh."""
    if refill is None:
        values: dict[str, Any] = {
            "refill_amount": None,
            "refill_period": None,
            "refill_mode": None,
            "refill_last_period": None,
        }
    else:
        values = {
            "refill_amount": refill["amount"],
            "refill_period": refill["period"],
            "refill_mode": refill["mode"],
            "refill_last_period": sa.case(
                (teams.c.refill_period == refill["period"], teams.c.refill_last_period),
                else_=sa.null(),
            ),
        }
    return await _update_live(db, team_id, values)


async def refills_due(db: Database, keys: Mapping[str, str], limit: int) -> list[str]:
    """Teams whose auto-refill has not run in the current period (``keys``: period -> the
    current period's key)."""
    due = sa.or_(
        *(
            sa.and_(
                teams.c.refill_period == period,
                sa.or_(teams.c.refill_last_period.is_(None), teams.c.refill_last_period < key),
            )
            for period, key in keys.items()
        )
    )
    rows = await db.fetch_all(
        sa.select(teams.c.team_id)
        .where(teams.c.deleted_at.is_(None), due)
        .order_by(teams.c.team_id)
        .limit(limit)
    )
    return [r["team_id"] for r in rows]


async def apply_refill(
    db: Database, team_id: str, keys: Mapping[str, str], now: dt.datetime
) -> tuple[Balance, int, str] | None:
    """Refill the team once for the current period (call inside a transaction): ``(balance
    after, credits added, period key)``, or ``None`` when it has no auto-refill or this period
    was refilled already (by this or any other process). The period key is claimed by one
    conditional update of the team's row, which also adds the credits."""
    if not await lock_team(db, team_id):
        return None
    row = await db.fetch_one(teams.select().where(teams.c.team_id == team_id))
    if row is None or row["refill_period"] not in keys:
        return None
    key = keys[row["refill_period"]]
    last = row["refill_last_period"]
    if last is not None and last >= key:
        return None
    amount = int(row["refill_amount"])
    remaining = int(row["credits_allocated"]) - int(row["credits_used"])
    added = amount if row["refill_mode"] == "add" else max(0, amount - remaining)
    updated = await db.fetch_one(
        teams.update()
        .where(
            teams.c.team_id == team_id,
            teams.c.refill_period == row["refill_period"],
            sa.or_(teams.c.refill_last_period.is_(None), teams.c.refill_last_period < key),
        )
        .values(
            credits_allocated=teams.c.credits_allocated + added,
            refill_last_period=key,
        )
        .returning(*_BALANCE)
    )
    if updated is None:
        return None
    after = _balance(updated)
    if added:
        await db.execute(
            credit_grants.insert().values(
                team_id=team_id, amount=added, reason=f"auto-refill {key}", created_at=now
            )
        )
        await ledger_sql.append(
            db,
            team_id=team_id,
            kind="refill",
            credits=added,
            credits_remaining_after=after["credits_remaining"],
            at=now,
            # no dedupe key: the conditional update above makes it once per period of this
            # auto-refill; a new auto-refill (set after a DELETE, or of another period) is a
            # new grant, and its row must not be dropped as a repeat of the old one's
            reason=f"auto-refill ({row['refill_period']}, {row['refill_mode']}) {key}",
        )
    return after, added, key


async def set_limits(db: Database, team_id: str, limits: dict[str, int | None]) -> bool:
    """Set the named limits (``rpm_limit``, ``tpm_limit``); ``None`` removes one."""
    # with nothing to change, a no-op assignment still tells whether the team exists
    values: dict[str, Any] = dict(limits) or {"rpm_limit": teams.c.rpm_limit}
    return await _update_live(db, team_id, values)


async def set_status(db: Database, team_id: str, status: str) -> bool:
    return await _update_live(db, team_id, {"status": status})


def balance(row: TeamRow | Balance) -> CreditFigures:
    """A credit balance from a team row."""
    return CreditFigures(
        team_id=row["team_id"],
        credits_allocated=row["credits_allocated"],
        credits_used=row["credits_used"],
        credits_reserved=row["credits_reserved"],
        credits_remaining=row["credits_allocated"] - row["credits_used"],
    )
