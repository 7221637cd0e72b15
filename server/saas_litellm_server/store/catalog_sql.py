"""SQL for the admin catalog: organizations, model access groups and model aliases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypedDict

import sqlalchemy as sa

from .._money import micros_of
from ._database import Database, Row
from ._util import dumps, insert_ignore, loads, newest_first, stamp, utc, utcnow
from .schema import (
    alias_groups,
    config_managed,
    deployments,
    model_access_groups,
    model_aliases,
    organizations,
    team_groups,
)

__all__ = [
    "AliasRow",
    "DeploymentRow",
    "GroupRow",
    "OrganizationRow",
    "config_source",
    "delete_alias",
    "delete_group",
    "delete_organization",
    "get_alias",
    "get_group",
    "get_organization",
    "insert_alias",
    "insert_group",
    "insert_organization",
    "list_aliases",
    "list_groups",
    "list_organizations",
    "lock_alias",
    "lock_group",
    "lock_groups",
    "lock_organization",
    "set_config_managed",
    "team_aliases",
    "update_alias",
    "update_group",
    "update_organization",
]


class OrganizationRow(TypedDict):
    organization_id: str
    name: str
    metadata: dict[str, Any]
    created_at: dt.datetime


class GroupRow(TypedDict):
    """A model access group."""

    group_name: str
    description: str | None
    created_at: dt.datetime


async def insert_organization(
    db: Database, organization_id: str, name: str, metadata: dict[str, Any] | None
) -> OrganizationRow | None:
    """Insert; ``None`` when the id is taken."""
    row = await db.fetch_one(
        insert_ignore(
            db,
            organizations,
            organization_id=organization_id,
            name=name,
            metadata=dumps(metadata),
            created_at=utcnow(),
        )
    )
    return _org(row) if row else None


def _org(row: Row) -> OrganizationRow:
    return OrganizationRow(
        organization_id=row["organization_id"],
        name=row["name"],
        metadata=loads(row["metadata"]),
        created_at=stamp(row["created_at"]),
    )


def _group(row: Row) -> GroupRow:
    return GroupRow(
        group_name=row["group_name"],
        description=row["description"],
        created_at=stamp(row["created_at"]),
    )


async def get_organization(db: Database, organization_id: str) -> OrganizationRow | None:
    """The organization, ``None`` if there is none (or it was removed)."""
    row = await db.fetch_one(
        organizations.select().where(
            organizations.c.organization_id == organization_id,
            organizations.c.deleted_at.is_(None),
        )
    )
    return _org(row) if row else None


async def lock_organization(db: Database, organization_id: str) -> bool:
    """Whether it exists; a write, to open a transaction that changes it (see ``teams_sql``)."""
    row = await db.fetch_one(
        organizations.update()
        .where(
            organizations.c.organization_id == organization_id,
            organizations.c.deleted_at.is_(None),
        )
        .values(organization_id=organizations.c.organization_id)
        .returning(organizations.c.organization_id)
    )
    return row is not None


async def update_organization(db: Database, organization_id: str, changes: dict[str, Any]) -> None:
    """Set ``name`` and/or ``metadata`` (the whole object)."""
    values = dict(changes)
    if "metadata" in values:
        values["metadata"] = dumps(values["metadata"])
    if values:
        await db.execute(
            organizations.update()
            .where(organizations.c.organization_id == organization_id)
            .values(**values)
        )


async def delete_organization(db: Database, organization_id: str, now: dt.datetime) -> None:
    """Remove it from every list; the row stays for the history of its (removed) teams."""
    await db.execute(
        organizations.update()
        .where(organizations.c.organization_id == organization_id)
        .values(deleted_at=now)
    )


async def list_organizations(
    db: Database, *, limit: int, after: tuple[dt.datetime, str] | None
) -> list[OrganizationRow]:
    """A page of organizations, newest first; ``after``: the last (created_at, id) seen."""
    rows = await db.fetch_all(
        newest_first(
            organizations.select().where(organizations.c.deleted_at.is_(None)),
            organizations.c.created_at,
            organizations.c.organization_id,
            after=after,
            limit=limit,
        )
    )
    return [_org(r) for r in rows]


async def insert_group(db: Database, group_name: str, description: str | None) -> GroupRow | None:
    """Insert; ``None`` when the name is taken."""
    row = await db.fetch_one(
        insert_ignore(
            db,
            model_access_groups,
            group_name=group_name,
            description=description,
            created_at=utcnow(),
        )
    )
    return _group(row) if row else None


async def lock_group(db: Database, group_name: str) -> bool:
    """Whether it exists; a write, to open a transaction that changes it (see ``teams_sql``)."""
    row = await db.fetch_one(
        model_access_groups.update()
        .where(model_access_groups.c.group_name == group_name)
        .values(group_name=model_access_groups.c.group_name)
        .returning(model_access_groups.c.group_name)
    )
    return row is not None


async def lock_groups(db: Database, names: Sequence[str]) -> list[str]:
    """Lock the named groups until the transaction ends (so that none is removed while
    something starts to use it), one at a time in name order (two transactions never wait on
    each other); returns the names among ``names`` that are not existing groups."""
    found = {name for name in sorted(set(names)) if await lock_group(db, name)}
    return [name for name in names if name not in found]


async def get_group(db: Database, group_name: str) -> GroupRow | None:
    row = await db.fetch_one(
        model_access_groups.select().where(model_access_groups.c.group_name == group_name)
    )
    return _group(row) if row else None


async def update_group(db: Database, group_name: str, changes: dict[str, Any]) -> None:
    if changes:
        await db.execute(
            model_access_groups.update()
            .where(model_access_groups.c.group_name == group_name)
            .values(**changes)
        )


async def delete_group(db: Database, group_name: str) -> list[str]:
    """Delete the group (no team may hold it: see ``teams_sql.teams_using``); the aliases it held
    leave it. Returns those aliases."""
    rows = await db.fetch_all(
        alias_groups.delete()
        .where(alias_groups.c.group_name == group_name)
        .returning(alias_groups.c.model_alias)
    )
    await db.execute(
        model_access_groups.delete().where(model_access_groups.c.group_name == group_name)
    )
    return sorted(r["model_alias"] for r in rows)


async def list_groups(
    db: Database, *, limit: int, after: tuple[dt.datetime, str] | None
) -> list[GroupRow]:
    """A page of model access groups, newest first."""
    rows = await db.fetch_all(
        newest_first(
            model_access_groups.select(),
            model_access_groups.c.created_at,
            model_access_groups.c.group_name,
            after=after,
            limit=limit,
        )
    )
    return [_group(r) for r in rows]


async def insert_alias(
    db: Database,
    model_alias: str,
    groups: Sequence[str],
    deployment_rows: Sequence[dict[str, Any]],
    *,
    public: bool = False,
    mode: str = "chat",
) -> bool:
    """Insert an alias with its groups and ordered deployments; ``False`` when the name is taken.

    Runs in one transaction whose first statement is the alias insert (a write, see _database).
    """
    async with db.transaction():
        row = await db.fetch_one(
            insert_ignore(
                db,
                model_aliases,
                model_alias=model_alias,
                public=public,
                mode=mode,
                created_at=utcnow(),
            )
        )
        if row is None:
            return False
        await _insert_members(db, model_alias, groups, deployment_rows)
    return True


async def _insert_members(
    db: Database,
    model_alias: str,
    groups: Sequence[str],
    deployment_rows: Sequence[dict[str, Any]],
) -> None:
    """An alias's access groups and its deployments, in fallback order."""
    for group in dict.fromkeys(groups):
        await db.execute(alias_groups.insert().values(model_alias=model_alias, group_name=group))
    for position, deployment in enumerate(deployment_rows):
        await db.execute(
            deployments.insert().values(
                model_alias=model_alias, position=position, **_priced(deployment)
            )
        )


def _priced(deployment: dict[str, Any]) -> dict[str, Any]:
    """A deployment as the API gives it (prices in USD per million tokens) as columns (whole
    micro-dollars per million tokens)."""
    row = dict(deployment)
    for side in ("input", "output"):
        row[f"{side}_micros_per_million"] = micros_of(row.pop(f"{side}_cost_per_million", 0))
    return row


async def lock_alias(db: Database, model_alias: str) -> bool:
    """Whether it exists; a write, to open a transaction that changes it (see ``teams_sql``)."""
    row = await db.fetch_one(
        model_aliases.update()
        .where(model_aliases.c.model_alias == model_alias)
        .values(model_alias=model_aliases.c.model_alias)
        .returning(model_aliases.c.model_alias)
    )
    return row is not None


async def update_alias(
    db: Database,
    model_alias: str,
    *,
    groups: Sequence[str] | None,
    deployment_rows: Sequence[dict[str, Any]] | None,
    mode: str | None = None,
) -> None:
    """Replace the alias's access groups, its deployments and/or its mode (those given)."""
    if mode is not None:
        await db.execute(
            model_aliases.update()
            .where(model_aliases.c.model_alias == model_alias)
            .values(mode=mode)
        )
    if groups is not None:
        await db.execute(alias_groups.delete().where(alias_groups.c.model_alias == model_alias))
        for group in dict.fromkeys(groups):
            await db.execute(
                alias_groups.insert().values(model_alias=model_alias, group_name=group)
            )
    if deployment_rows is not None:
        await db.execute(deployments.delete().where(deployments.c.model_alias == model_alias))
        await _insert_members(db, model_alias, (), deployment_rows)


async def delete_alias(db: Database, model_alias: str) -> None:
    """Delete the alias and its deployments; recorded calls keep naming it."""
    await db.execute(alias_groups.delete().where(alias_groups.c.model_alias == model_alias))
    await db.execute(deployments.delete().where(deployments.c.model_alias == model_alias))
    await db.execute(model_aliases.delete().where(model_aliases.c.model_alias == model_alias))


class DeploymentRow(TypedDict):
    """One deployment of an alias (prices in whole micro-dollars per million tokens)."""

    provider: str
    model: str
    api_base: str | None
    input_micros_per_million: int
    output_micros_per_million: int
    timeout: float | None


class AliasRow(TypedDict):
    """A model alias as the store hands it to the services."""

    model_alias: str
    public: bool
    mode: str
    """``chat`` or ``embedding``: what the alias serves."""
    created_at: dt.datetime
    access_groups: list[str]
    deployments: list[DeploymentRow]
    """In fallback order."""


async def get_alias(db: Database, model_alias: str) -> AliasRow | None:
    """The alias with ``access_groups`` and ``deployments`` (in fallback order)."""
    row = await db.fetch_one(
        model_aliases.select().where(model_aliases.c.model_alias == model_alias)
    )
    return (await _with_members(db, [row]))[0] if row is not None else None


async def list_aliases(
    db: Database,
    *,
    access_group: str | None,
    limit: int,
    after: tuple[dt.datetime, str] | None,
) -> list[AliasRow]:
    """A page of model aliases (those in ``access_group`` when given), newest first."""
    query = model_aliases.select()
    if access_group is not None:
        query = query.where(
            model_aliases.c.model_alias.in_(
                sa.select(alias_groups.c.model_alias).where(
                    alias_groups.c.group_name == access_group
                )
            )
        )
    rows = await db.fetch_all(
        newest_first(
            query, model_aliases.c.created_at, model_aliases.c.model_alias, after=after, limit=limit
        )
    )
    return await _with_members(db, rows)


async def team_aliases(db: Database, team_id: str) -> list[tuple[str, dt.datetime]]:
    """The aliases a team may call (public ones, and those of its access groups) with their
    creation time, by name."""
    granted = sa.select(alias_groups.c.model_alias).where(
        alias_groups.c.group_name.in_(
            sa.select(team_groups.c.group_name).where(team_groups.c.team_id == team_id)
        )
    )
    rows = await db.fetch_all(
        sa.select(model_aliases.c.model_alias, model_aliases.c.created_at)
        .where(sa.or_(model_aliases.c.public, model_aliases.c.model_alias.in_(granted)))
        .order_by(model_aliases.c.model_alias)
    )
    out = []
    for row in rows:
        created_at = utc(row["created_at"])
        assert created_at is not None
        out.append((str(row["model_alias"]), created_at))
    return out


async def _with_members(db: Database, rows: Sequence[Row]) -> list[AliasRow]:
    """The aliases of ``rows`` with their access groups and deployments (two queries in all)."""
    names = [r["model_alias"] for r in rows]
    if not names:
        return []
    groups: dict[str, list[str]] = {name: [] for name in names}
    for g in await db.fetch_all(
        sa.select(alias_groups.c.model_alias, alias_groups.c.group_name)
        .where(alias_groups.c.model_alias.in_(names))
        .order_by(alias_groups.c.group_name)
    ):
        groups[g["model_alias"]].append(g["group_name"])
    deps: dict[str, list[DeploymentRow]] = {name: [] for name in names}
    for d in await db.fetch_all(
        sa.select(
            deployments.c.model_alias,
            deployments.c.provider,
            deployments.c.model,
            deployments.c.api_base,
            deployments.c.input_micros_per_million,
            deployments.c.output_micros_per_million,
            deployments.c.timeout,
        )
        .where(deployments.c.model_alias.in_(names))
        .order_by(deployments.c.position)
    ):
        deps[d["model_alias"]].append(
            DeploymentRow(
                provider=d["provider"],
                model=d["model"],
                api_base=d["api_base"],
                input_micros_per_million=d["input_micros_per_million"],
                output_micros_per_million=d["output_micros_per_million"],
                timeout=d["timeout"],
            )
        )
    out = []
    for row in rows:
        created_at = utc(row["created_at"])
        assert created_at is not None
        out.append(
            AliasRow(
                model_alias=row["model_alias"],
                public=bool(row["public"]),
                mode=str(row["mode"]),
                created_at=created_at,
                access_groups=groups[row["model_alias"]],
                deployments=deps[row["model_alias"]],
            )
        )
    return out


async def set_config_managed(
    db: Database, source: str | None, *, groups: Sequence[str], aliases: Sequence[str]
) -> None:
    """What the config file ``source`` declares, in place of what was recorded before (``None``:
    no file, nothing managed)."""
    async with db.transaction():
        await db.execute(config_managed.delete())
        if source is not None:
            for kind, names in (("model_access_group", groups), ("model_alias", aliases)):
                for name in dict.fromkeys(names):
                    await db.execute(
                        config_managed.insert().values(kind=kind, name=name, source=source)
                    )


async def config_source(db: Database, kind: str, name: str) -> str | None:
    """The config file that declares this group or alias, if one does."""
    row = await db.fetch_one(
        sa.select(config_managed.c.source).where(
            config_managed.c.kind == kind, config_managed.c.name == name
        )
    )
    return None if row is None else str(row["source"])
