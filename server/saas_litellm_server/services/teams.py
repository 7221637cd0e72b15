"""Teams: creation, keys, status, credit grants, balances and usage analytics."""

from __future__ import annotations

import datetime as dt

from saas_litellm_models import (
    CreditBalance,
    CreditsAddRequest,
    CreditsAdjustRequest,
    Deleted,
    JobTypeUsage,
    ModelAccessGroup,
    Organization,
    OrganizationUsage,
    Team,
    TeamCreated,
    TeamCreateRequest,
    TeamLimitsRequest,
    TeamList,
    TeamListQuery,
    TeamUpdateRequest,
    TeamUsage,
)

from ..errors import Conflict, InvalidRequest, NotFound, ValidationFailed
from ..store import Database, catalog_sql, teams_sql, usage_sql
from . import audit, credit_events, webhooks
from .audit import Operator
from .keys import hash_key, issue_key, new_virtual_key
from .pagination import page, position

__all__ = [
    "add_credits",
    "create_team",
    "delete_team",
    "get_balance",
    "get_organization_usage",
    "get_team",
    "get_usage",
    "list_teams",
    "set_limits",
    "set_status",
    "update_team",
]


async def create_team(
    db: Database, body: TeamCreateRequest, by: Operator, *, create_missing: bool = False
) -> TeamCreated:
    """Create the team and its first key (named ``default``). ``create_missing`` (local-dev
    mode) creates an organization or access group the team names but that does not exist yet,
    so that the integration guide's team-creation example works on its own; otherwise they must
    exist (400). What it creates is part of the team's creation: in its transaction, and in
    the audit log."""
    key = new_virtual_key()
    async with db.transaction():
        # What the team names is locked until it exists, so that a concurrent removal of its
        # organization, access groups or default model either waits for it (and then sees the
        # team: 409) or goes first (and then this is a 400).
        await _lock_organization(db, body.organization_id, by, create_missing=create_missing)
        await _lock_default_model(db, body.default_model)
        missing = await catalog_sql.lock_groups(db, body.access_groups)
        if missing and not create_missing:
            raise _unknown_groups(missing)
        for group in missing:
            made = await catalog_sql.insert_group(db, group, None)
            if made is not None:
                await audit.record(
                    db,
                    by,
                    "model_access_group.create",
                    f"model_access_group:{group}",
                    after=ModelAccessGroup.model_validate(made),
                )
        created = await teams_sql.insert_team(
            db,
            team_id=body.team_id,
            organization_id=body.organization_id,
            team_alias=body.team_alias,
            default_model=body.default_model,
            key_hash=hash_key(key),
            credits_allocated=body.credits_allocated,
            groups=body.access_groups,
            rpm_limit=body.rpm_limit,
            tpm_limit=body.tpm_limit,
            metadata=body.metadata,
            now=by.now,
            store_content=bool(body.store_content),
            budget={
                "budget_mode": body.budget_mode or "job_based",
                "tokens_per_credit": body.tokens_per_credit,
                "credits_per_dollar": body.credits_per_dollar,
                "markup_percent": body.markup_percent or 0.0,
                "low_balance_threshold": body.low_balance_threshold,
            },
        )
        if not created:
            removed = await teams_sql.get_team(db, body.team_id) is None
            raise Conflict(
                f"team {body.team_id!r} "
                + ("was removed; its id is not reused" if removed else "already exists"),
                param="team_id",
            )
        key, key_row = await issue_key(
            db, body.team_id, name="default", expires_at=None, now=by.now, key=key
        )
        team = await _team_row(db, body.team_id)
        await audit.record(db, by, "team.create", _target(body.team_id), after=team)
    return TeamCreated(
        team_id=body.team_id,
        organization_id=body.organization_id,
        team_alias=body.team_alias,
        access_groups=list(dict.fromkeys(body.access_groups)),
        virtual_key=key,
        key_id=key_row["key_id"],
        credits_allocated=body.credits_allocated,
        credits_remaining=body.credits_allocated,
    )


async def _lock_organization(
    db: Database, organization_id: str, by: Operator, *, create_missing: bool
) -> None:
    """Lock the organization a team joins (400 if there is none; in local-dev mode it is
    created, unless it was removed: ids are not reused)."""
    if await catalog_sql.lock_organization(db, organization_id):
        return
    if not create_missing:
        raise InvalidRequest(
            f"organization {organization_id!r} does not exist; create it first",
            param="organization_id",
        )
    row = await catalog_sql.insert_organization(db, organization_id, organization_id, None)
    if row is not None:
        await audit.record(
            db,
            by,
            "organization.create",
            f"organization:{organization_id}",
            after=Organization.model_validate(row),
        )
    if not await catalog_sql.lock_organization(db, organization_id):
        raise InvalidRequest(
            f"organization {organization_id!r} was removed; its id is not reused",
            param="organization_id",
        )


async def _lock_default_model(db: Database, model: str | None) -> None:
    """Lock the alias a team defaults to (400 if there is none)."""
    if model is not None and not await catalog_sql.lock_alias(db, model):
        raise InvalidRequest(f"unknown model alias {model!r}", param="default_model")


def _unknown_groups(missing: list[str]) -> InvalidRequest:
    return InvalidRequest(
        f"unknown model access group(s): {', '.join(missing)}; create them first",
        param="access_groups",
    )


def _target(team_id: str) -> str:
    return f"team:{team_id}"


async def _locked(db: Database, team_id: str) -> teams_sql.TeamRow:
    """The team, its row locked for the change the current transaction makes (404 if none)."""
    if not await teams_sql.lock_team(db, team_id):
        raise NotFound(f"team {team_id!r} not found")
    return await _team_row(db, team_id)


async def update_team(db: Database, team_id: str, body: TeamUpdateRequest, by: Operator) -> Team:
    """Change the fields the body names; access groups and the default model must exist."""
    changes = body.changes()
    async with db.transaction():
        before = await _locked(db, team_id)
        # locked, as in create_team: a concurrent removal goes first or sees the team use them
        await _lock_default_model(db, changes.get("default_model"))
        if "access_groups" in changes:
            missing = await catalog_sql.lock_groups(db, changes["access_groups"])
            if missing:
                raise _unknown_groups(missing)
        await teams_sql.update_team(db, team_id, changes)
        after = await _team_row(db, team_id)
        _check_budget(after)
        old, new = audit.changed(before, after)
        if new:
            await audit.record(db, by, "team.update", _target(team_id), before=old, after=new)
    return Team.model_validate(after)


def _check_budget(team: teams_sql.TeamRow) -> None:
    """A consumption mode needs its rate (the change is rolled back otherwise)."""
    mode = team["budget_mode"]
    if mode == "consumption_tokens" and team["tokens_per_credit"] is None:
        raise ValidationFailed(
            "budget_mode consumption_tokens needs tokens_per_credit", param="tokens_per_credit"
        )
    if mode == "consumption_usd" and team["credits_per_dollar"] is None:
        raise ValidationFailed(
            "budget_mode consumption_usd needs credits_per_dollar", param="credits_per_dollar"
        )


async def delete_team(db: Database, team_id: str, by: Operator) -> Deleted:
    """Remove a team with no open jobs (409 otherwise): its keys stop working, its history
    (jobs, calls, costs, grants) stays readable and keeps counting in usage."""
    async with db.transaction():
        before = await _locked(db, team_id)
        open_jobs = await teams_sql.open_job_count(db, team_id)
        if open_jobs:
            raise Conflict(
                f"team {team_id!r} has {open_jobs} open job(s) (or jobs closed while calls "
                "of theirs still run); complete or fail them first"
            )
        await teams_sql.delete_team(db, team_id, by.now)
        await audit.record(db, by, "team.delete", _target(team_id), before=before)
    return Deleted(object="team", id=team_id)


async def _team_row(db: Database, team_id: str) -> teams_sql.TeamRow:
    row = await teams_sql.get_team(db, team_id)
    if row is None:
        raise NotFound(f"team {team_id!r} not found")
    return row


async def get_team(db: Database, team_id: str) -> Team:
    return Team.model_validate(await _team_row(db, team_id))


async def list_teams(db: Database, query: TeamListQuery) -> TeamList:
    rows = await teams_sql.list_teams(
        db,
        organization_id=query.organization_id,
        status=query.status,
        access_group=query.access_group,
        limit=query.limit + 1,
        after=position(query.cursor),
    )
    shown, next_cursor = page(rows, query.limit, "team_id")
    return TeamList(teams=[Team.model_validate(r) for r in shown], next_cursor=next_cursor)


async def get_balance(db: Database, team_id: str) -> CreditBalance:
    return CreditBalance.model_validate(teams_sql.balance(await _team_row(db, team_id)))


async def add_credits(
    db: Database, team_id: str, body: CreditsAddRequest, by: Operator
) -> CreditBalance:
    async with db.transaction():
        row = await teams_sql.add_credits(db, team_id, body.credits, body.reason, now=by.now)
        if row is None:
            raise NotFound(f"team {team_id!r} not found")
        balance = CreditBalance.model_validate(teams_sql.balance(row))
        await audit.record(
            db,
            by,
            "team.credits_add",
            _target(team_id),
            before={"credits_allocated": balance.credits_allocated - body.credits},
            after={"credits_allocated": balance.credits_allocated, "reason": body.reason},
        )
    return balance


async def adjust_credits(
    db: Database, team_id: str, body: CreditsAdjustRequest, by: Operator
) -> CreditBalance:
    """Correct a team's balance up or down (a ledger ``adjustment``); a negative one takes
    only available credits (409 otherwise, with nothing changed)."""
    async with db.transaction():
        before = await _locked(db, team_id)
        row = await teams_sql.adjust_credits(db, team_id, body.credits, body.reason, now=by.now)
        if row is None:
            available = before["credits_remaining"] - before["credits_reserved"]
            raise Conflict(
                f"team {team_id!r} has {available} credits available "
                f"({before['credits_reserved']} held by its open jobs): it cannot give "
                f"{-body.credits}",
                param="credits",
            )
        balance = CreditBalance.model_validate(teams_sql.balance(row))
        await credit_events.after_change(db, row, body.credits)
        await audit.record(
            db,
            by,
            "team.credits_adjust",
            _target(team_id),
            before={"credits_remaining": before["credits_remaining"]},
            after={"credits_remaining": balance.credits_remaining, "reason": body.reason},
        )
    return balance


async def set_limits(db: Database, team_id: str, body: TeamLimitsRequest, by: Operator) -> Team:
    # Only the fields the body names change: an omitted limit stays, an explicit null removes it.
    changes = body.changes()
    async with db.transaction():
        before = await _locked(db, team_id)
        await teams_sql.set_limits(db, team_id, changes)
        after = await _team_row(db, team_id)
        old, new = audit.changed(before, after)
        if new:
            await audit.record(db, by, "team.limits_set", _target(team_id), before=old, after=new)
    return Team.model_validate(after)


async def set_status(db: Database, team_id: str, status: str, by: Operator) -> Team:
    async with db.transaction():
        before = await _locked(db, team_id)
        await teams_sql.set_status(db, team_id, status)
        after = await _team_row(db, team_id)
        action = "team.suspend" if status == "suspended" else "team.resume"
        old, new = audit.changed(before, after)
        if new:  # suspending a suspended team changes nothing
            await audit.record(db, by, action, _target(team_id), before=old, after=new)
            if status == "suspended":
                await webhooks.team_suspended(db, team_id, after["organization_id"])
    return Team.model_validate(after)


async def get_usage(
    db: Database, team_id: str, *, since: dt.datetime | None, until: dt.datetime | None
) -> TeamUsage:
    """Usage per job type; a removed team's too (its history stays readable)."""
    if not await teams_sql.existed(db, team_id):
        raise NotFound(f"team {team_id!r} not found")
    rows = await usage_sql.usage_by_job_type(db, team_id, since, until)
    return TeamUsage(
        team_id=team_id,
        since=since,
        until=until,
        by_job_type=[JobTypeUsage.model_validate(r) for r in rows],
    )


async def get_organization_usage(
    db: Database, organization_id: str, *, since: dt.datetime | None, until: dt.datetime | None
) -> OrganizationUsage:
    """Usage over all the organization's teams, one row per job type."""
    if await catalog_sql.get_organization(db, organization_id) is None:
        raise NotFound(f"organization {organization_id!r} not found")
    rows = await usage_sql.usage_by_job_type(
        db, None, since, until, organization_id=organization_id
    )
    return OrganizationUsage(
        organization_id=organization_id,
        since=since,
        until=until,
        by_job_type=[JobTypeUsage.model_validate(r) for r in rows],
    )
