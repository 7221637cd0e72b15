"""Teams: creation, keys, status, credit grants, balances and usage analytics."""

from __future__ import annotations

import datetime as dt
import json

from saas_litellm_models import (
    CreditBalance,
    CreditsAddRequest,
    JobTypeUsage,
    KeyRotation,
    OrganizationUsage,
    Team,
    TeamCreated,
    TeamCreateRequest,
    TeamLimitsRequest,
    TeamList,
    TeamListQuery,
    TeamUsage,
)

from ..errors import Conflict, InvalidRequest, NotFound
from ..store import Database, catalog, jobs, teams
from .keys import hash_key, new_virtual_key
from .pagination import page, position

__all__ = [
    "add_credits",
    "create_team",
    "get_balance",
    "get_organization_usage",
    "get_team",
    "get_usage",
    "list_teams",
    "reissue_key",
    "rotate_key",
    "set_limits",
    "set_status",
]


async def create_team(
    db: Database, body: TeamCreateRequest, *, create_missing: bool = False
) -> TeamCreated:
    """Create the team and its key. ``create_missing`` (local-dev mode) creates an organization
    or access group the team names but that does not exist yet, so that the integration guide's
    team-creation example works on its own; otherwise they must exist (400)."""
    if await catalog.get_organization(db, body.organization_id) is None:
        if not create_missing:
            raise InvalidRequest(
                f"organization {body.organization_id!r} does not exist; create it first",
                param="organization_id",
            )
        await catalog.insert_organization(db, body.organization_id, body.organization_id, None)
    missing = await catalog.missing_groups(db, body.access_groups)
    if missing and not create_missing:
        raise InvalidRequest(
            f"unknown model access group(s): {', '.join(missing)}; create them first",
            param="access_groups",
        )
    for group in missing:
        await catalog.insert_group(db, group, None)
    if body.default_model is not None and await catalog.get_alias(db, body.default_model) is None:
        raise InvalidRequest(f"unknown model alias {body.default_model!r}", param="default_model")
    key = new_virtual_key()
    created = await teams.insert_team(
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
    )
    if not created:
        raise Conflict(f"team {body.team_id!r} already exists", param="team_id")
    return TeamCreated(
        team_id=body.team_id,
        organization_id=body.organization_id,
        team_alias=body.team_alias,
        access_groups=list(dict.fromkeys(body.access_groups)),
        virtual_key=key,
        credits_allocated=body.credits_allocated,
        credits_remaining=body.credits_allocated,
    )


async def _team_row(db: Database, team_id: str) -> teams.TeamRow:
    row = await teams.get_team(db, team_id)
    if row is None:
        raise NotFound(f"team {team_id!r} not found")
    return row


async def get_team(db: Database, team_id: str) -> Team:
    return Team.model_validate(await _team_row(db, team_id))


async def list_teams(db: Database, query: TeamListQuery) -> TeamList:
    rows = await teams.list_teams(
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
    return CreditBalance.model_validate(teams.balance(await _team_row(db, team_id)))


async def add_credits(db: Database, team_id: str, body: CreditsAddRequest) -> CreditBalance:
    row = await teams.add_credits(db, team_id, body.credits, body.reason)
    if row is None:
        raise NotFound(f"team {team_id!r} not found")
    return CreditBalance.model_validate(teams.balance(row))


async def rotate_key(db: Database, team_id: str) -> KeyRotation:
    key = new_virtual_key()
    if not await teams.set_key_hash(db, team_id, hash_key(key)):
        raise NotFound(f"team {team_id!r} not found")
    return KeyRotation(team_id=team_id, virtual_key=key)


async def reissue_key(db: Database, kept: str) -> str:
    """A replayed team create or key rotation: virtual keys are never stored in clear, so they
    are not kept for replays either; the replay (its first response was lost) hands out a fresh
    key instead, which replaces the one that was lost."""
    data = json.loads(kept)
    if "team_id" in data and "error" not in data:
        data["virtual_key"] = (await rotate_key(db, data["team_id"])).virtual_key
    return json.dumps(data)


async def set_limits(db: Database, team_id: str, body: TeamLimitsRequest) -> Team:
    # Only the fields the body names change: an omitted limit stays, an explicit null removes it.
    changes = body.model_dump(include=body.model_fields_set)
    if not await teams.set_limits(db, team_id, changes):
        raise NotFound(f"team {team_id!r} not found")
    return await get_team(db, team_id)


async def set_status(db: Database, team_id: str, status: str) -> Team:
    if not await teams.set_status(db, team_id, status):
        raise NotFound(f"team {team_id!r} not found")
    return await get_team(db, team_id)


async def get_usage(
    db: Database, team_id: str, *, since: dt.datetime | None, until: dt.datetime | None
) -> TeamUsage:
    await _team_row(db, team_id)
    rows = await jobs.usage_by_job_type(db, team_id, since, until)
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
    if await catalog.get_organization(db, organization_id) is None:
        raise NotFound(f"organization {organization_id!r} not found")
    rows = await jobs.usage_by_job_type(db, None, since, until, organization_id=organization_id)
    return OrganizationUsage(
        organization_id=organization_id,
        since=since,
        until=until,
        by_job_type=[JobTypeUsage.model_validate(r) for r in rows],
    )
