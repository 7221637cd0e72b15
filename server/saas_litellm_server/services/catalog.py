"""Organizations, model access groups and model aliases (admin only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from saas_litellm_models import (
    Deleted,
    Deployment,
    ModelAccessGroup,
    ModelAccessGroupCreateRequest,
    ModelAccessGroupList,
    ModelAccessGroupUpdateRequest,
    ModelAlias,
    ModelAliasCreateRequest,
    ModelAliasList,
    ModelAliasListQuery,
    ModelAliasUpdateRequest,
    OpenAIModel,
    OpenAIModelList,
    Organization,
    OrganizationCreateRequest,
    OrganizationList,
    OrganizationUpdateRequest,
    PageQuery,
)

from .._config import ConfigError, ServerConfig
from .._money import usd
from .._settings import BUILTIN_MODEL_ALIAS, Settings
from ..errors import Conflict, InvalidRequest, NotFound
from ..store import Database, catalog_sql, teams_sql
from . import audit
from .audit import Operator
from .pagination import page, position

__all__ = [
    "CONFIG_ACTOR",
    "apply_config",
    "config_problem",
    "create_alias",
    "create_group",
    "create_organization",
    "delete_alias",
    "delete_group",
    "delete_organization",
    "deployment_problem",
    "ensure_builtin_alias",
    "forget_config",
    "get_alias",
    "get_organization",
    "list_aliases",
    "list_groups",
    "list_organizations",
    "team_models",
    "update_alias",
    "update_group",
    "update_organization",
]


async def create_organization(
    db: Database, body: OrganizationCreateRequest, by: Operator
) -> Organization:
    async with db.transaction():
        row = await catalog_sql.insert_organization(
            db, body.organization_id, body.name, body.metadata
        )
        if row is None:
            removed = await catalog_sql.get_organization(db, body.organization_id) is None
            raise Conflict(
                f"organization {body.organization_id!r} "
                + ("was removed; its id is not reused" if removed else "already exists"),
                param="organization_id",
            )
        created = Organization.model_validate(row)
        await audit.record(
            db, by, "organization.create", f"organization:{body.organization_id}", after=created
        )
    return created


async def get_organization(db: Database, organization_id: str) -> Organization:
    row = await catalog_sql.get_organization(db, organization_id)
    if row is None:
        raise NotFound(f"organization {organization_id!r} not found")
    return Organization.model_validate(row)


def _unknown_groups(missing: list[str]) -> InvalidRequest:
    return InvalidRequest(
        f"unknown model access group(s): {', '.join(missing)}; create them first",
        param="access_groups",
    )


def _in_use(what: str, users: list[str]) -> Conflict:
    shown = ", ".join(users[:20]) + (" and more" if len(users) > 20 else "")
    return Conflict(f"{what} is in use by team(s) {shown}; change or remove them first")


async def update_organization(
    db: Database, organization_id: str, body: OrganizationUpdateRequest, by: Operator
) -> Organization:
    target = f"organization:{organization_id}"
    async with db.transaction():
        if not await catalog_sql.lock_organization(db, organization_id):
            raise NotFound(f"organization {organization_id!r} not found")
        before = await get_organization(db, organization_id)
        await catalog_sql.update_organization(db, organization_id, body.changes())
        after = await get_organization(db, organization_id)
        old, new = audit.changed(before.model_dump(), after.model_dump())
        if new:
            await audit.record(db, by, "organization.update", target, before=old, after=new)
    return after


async def delete_organization(db: Database, organization_id: str, by: Operator) -> Deleted:
    """Remove an organization that has no teams left (409 naming them otherwise)."""
    async with db.transaction():
        if not await catalog_sql.lock_organization(db, organization_id):
            raise NotFound(f"organization {organization_id!r} not found")
        users = await teams_sql.teams_using(db, organization_id=organization_id)
        if users:
            raise _in_use(f"organization {organization_id!r}", users)
        before = await get_organization(db, organization_id)
        await catalog_sql.delete_organization(db, organization_id, by.now)
        await audit.record(
            db, by, "organization.delete", f"organization:{organization_id}", before=before
        )
    return Deleted(object="organization", id=organization_id)


async def list_organizations(db: Database, query: PageQuery) -> OrganizationList:
    after = position(query.cursor)
    rows = await catalog_sql.list_organizations(db, limit=query.limit + 1, after=after)
    shown, next_cursor = page(rows, query.limit, "organization_id")
    return OrganizationList(
        organizations=[Organization.model_validate(r) for r in shown], next_cursor=next_cursor
    )


async def list_groups(db: Database, query: PageQuery) -> ModelAccessGroupList:
    after = position(query.cursor)
    rows = await catalog_sql.list_groups(db, limit=query.limit + 1, after=after)
    shown, next_cursor = page(rows, query.limit, "group_name")
    return ModelAccessGroupList(
        model_access_groups=[ModelAccessGroup.model_validate(r) for r in shown],
        next_cursor=next_cursor,
    )


async def team_models(db: Database, team_id: str) -> OpenAIModelList:
    """The aliases ``team_id`` may call, as OpenAI's model list: exactly those a call with
    the team's key would not refuse with 403."""
    return OpenAIModelList(
        data=[
            OpenAIModel(id=name, created=int(created.timestamp()))
            for name, created in await catalog_sql.team_aliases(db, team_id)
        ]
    )


async def list_aliases(db: Database, query: ModelAliasListQuery) -> ModelAliasList:
    after = position(query.cursor)
    rows = await catalog_sql.list_aliases(
        db, access_group=query.access_group, limit=query.limit + 1, after=after
    )
    shown, next_cursor = page(rows, query.limit, "model_alias")
    return ModelAliasList(model_aliases=[_alias(r) for r in shown], next_cursor=next_cursor)


def _alias(row: catalog_sql.AliasRow) -> ModelAlias:
    """The alias as the API shows it: prices in USD per million tokens."""
    deployments = [
        {
            **{k: v for k, v in d.items() if not k.endswith("_micros_per_million")},
            "input_cost_per_million": usd(d["input_micros_per_million"]),
            "output_cost_per_million": usd(d["output_micros_per_million"]),
        }
        for d in row["deployments"]
    ]
    return ModelAlias.model_validate({**row, "deployments": deployments})


async def create_group(
    db: Database, body: ModelAccessGroupCreateRequest, by: Operator
) -> ModelAccessGroup:
    async with db.transaction():
        row = await catalog_sql.insert_group(db, body.group_name, body.description)
        if row is None:
            raise Conflict(
                f"model access group {body.group_name!r} already exists", param="group_name"
            )
        created = ModelAccessGroup.model_validate(row)
        await audit.record(
            db,
            by,
            "model_access_group.create",
            f"model_access_group:{body.group_name}",
            after=created,
        )
    return created


async def update_group(
    db: Database, group_name: str, body: ModelAccessGroupUpdateRequest, by: Operator
) -> ModelAccessGroup:
    async with db.transaction():
        if not await catalog_sql.lock_group(db, group_name):
            raise NotFound(f"model access group {group_name!r} not found")
        before = await catalog_sql.get_group(db, group_name)
        assert before is not None
        if body.changes() and any(before.get(k) != v for k, v in body.changes().items()):
            await _refuse_if_managed(db, "model_access_group", group_name, by)
        await catalog_sql.update_group(db, group_name, body.changes())
        after = await catalog_sql.get_group(db, group_name)
        assert before is not None
        assert after is not None
        old, new = audit.changed(before, after)
        if new:
            await audit.record(
                db,
                by,
                "model_access_group.update",
                f"model_access_group:{group_name}",
                before=old,
                after=new,
            )
    return ModelAccessGroup.model_validate(after)


async def delete_group(db: Database, group_name: str, by: Operator) -> Deleted:
    """Remove a group no team holds (409 naming them otherwise); its aliases leave it."""
    async with db.transaction():
        if not await catalog_sql.lock_group(db, group_name):
            raise NotFound(f"model access group {group_name!r} not found")
        await _refuse_if_managed(db, "model_access_group", group_name, by)
        users = await teams_sql.teams_using(db, access_group=group_name)
        if users:
            raise _in_use(f"model access group {group_name!r}", users)
        before = await catalog_sql.get_group(db, group_name)
        aliases = await catalog_sql.delete_group(db, group_name)
        assert before is not None
        await audit.record(
            db,
            by,
            "model_access_group.delete",
            f"model_access_group:{group_name}",
            before={**before, "model_aliases": aliases},
        )
    return Deleted(object="model_access_group", id=group_name)


def deployment_problem(deployments: Sequence[Deployment], settings: Settings) -> str | None:
    """Why a deployment could never be called, if it could not: said where it is declared, not
    as a 502 on every call."""
    if settings.upstream_base_url:
        return None
    for index, deployment in enumerate(deployments):
        if deployment.provider == "openai" and not deployment.api_base:
            return (
                f"deployments[{index}] (openai model {deployment.model!r}) has no api_base "
                "and the server has no SAAS_LITELLM_UPSTREAM_BASE_URL; give it an api_base "
                "(e.g. http://127.0.0.1:4000 for a LiteLLM proxy)"
            )
    return None


def config_problem(config: ServerConfig, settings: Settings) -> str | None:
    """What keeps ``config`` from applying cleanly, found before anything is written: every
    access group an alias names must be declared in the file, every deployment callable."""
    declared = {group.group_name for group in config.access_groups}
    for alias in config.model_aliases:
        unknown = [g for g in alias.access_groups if g not in declared]
        if unknown:
            return (
                f"model alias {alias.model_alias!r} names unknown access group(s) "
                f"{', '.join(unknown)}; declare them in the file's access_groups"
            )
        problem = deployment_problem(alias.deployments, settings)
        if problem:
            return f"model alias {alias.model_alias!r}: {problem}"
    return None


async def create_alias(
    db: Database, body: ModelAliasCreateRequest, settings: Settings, by: Operator
) -> ModelAlias:
    problem = deployment_problem(body.deployments, settings)
    if problem:
        raise InvalidRequest(problem, param="deployments")
    async with db.transaction():
        created = await catalog_sql.insert_alias(
            db, body.model_alias, [], [d.model_dump() for d in body.deployments], mode=body.mode
        )
        if not created:
            raise Conflict(f"model alias {body.model_alias!r} already exists", param="model_alias")
        # its groups locked, so that none is removed before the alias is in it (the alias
        # first, then its groups: the order every change takes them in)
        missing = await catalog_sql.lock_groups(db, body.access_groups)
        if missing:
            raise _unknown_groups(missing)
        await catalog_sql.update_alias(
            db, body.model_alias, groups=body.access_groups, deployment_rows=None
        )
        alias = await get_alias(db, body.model_alias)
        await audit.record(
            db, by, "model_alias.create", f"model_alias:{body.model_alias}", after=alias
        )
    return alias


async def get_alias(db: Database, model_alias: str) -> ModelAlias:
    row = await catalog_sql.get_alias(db, model_alias)
    if row is None:
        raise NotFound(f"model alias {model_alias!r} not found")
    return _alias(row)


async def update_alias(
    db: Database, model_alias: str, body: ModelAliasUpdateRequest, settings: Settings, by: Operator
) -> ModelAlias:
    """Replace the alias's access groups, deployments and/or mode. New prices apply to calls made
    from now on; recorded calls keep the cost they were recorded with."""
    if body.deployments is not None:
        problem = deployment_problem(body.deployments, settings)
        if problem:
            raise InvalidRequest(problem, param="deployments")
    async with db.transaction():
        if not await catalog_sql.lock_alias(db, model_alias):
            raise NotFound(f"model alias {model_alias!r} not found")
        if body.access_groups is not None:
            missing = await catalog_sql.lock_groups(db, body.access_groups)
            if missing:
                raise _unknown_groups(missing)
        before = await get_alias(db, model_alias)
        if _alias_changes(before, body):
            await _refuse_if_managed(db, "model_alias", model_alias, by)
        await catalog_sql.update_alias(
            db,
            model_alias,
            groups=body.access_groups,
            deployment_rows=(
                [d.model_dump() for d in body.deployments] if body.deployments is not None else None
            ),
            mode=body.mode,
        )
        after = await get_alias(db, model_alias)
        old, new = audit.changed(before.model_dump(), after.model_dump())
        if new:
            await audit.record(
                db, by, "model_alias.update", f"model_alias:{model_alias}", before=old, after=new
            )
    return after


def _alias_changes(before: ModelAlias, body: ModelAliasUpdateRequest) -> bool:
    """Whether the update would change the alias (an edit that changes nothing is no edit, and
    is allowed on what the config file manages: a dashboard form saved as it was)."""
    if body.access_groups is not None and sorted(body.access_groups) != sorted(
        before.access_groups
    ):
        return True
    if body.mode is not None and body.mode != before.mode:
        return True
    if body.deployments is None:
        return False
    return [d.model_dump() for d in body.deployments] != [
        d.model_dump() for d in before.deployments
    ]


async def delete_alias(db: Database, model_alias: str, by: Operator) -> Deleted:
    """Remove an alias no team defaults to (409 naming them otherwise). Calls recorded under
    it keep its name, their costs and their place in usage."""
    if model_alias == BUILTIN_MODEL_ALIAS:
        raise Conflict(
            f"model alias {model_alias!r} is built in (it comes back at every start); "
            "change its deployments instead"
        )
    async with db.transaction():
        if not await catalog_sql.lock_alias(db, model_alias):
            raise NotFound(f"model alias {model_alias!r} not found")
        await _refuse_if_managed(db, "model_alias", model_alias, by)
        users = await teams_sql.teams_using(db, default_model=model_alias)
        if users:
            raise Conflict(
                f"model alias {model_alias!r} is the default model of team(s) "
                f"{', '.join(users[:20])}{' and more' if len(users) > 20 else ''}; "
                "change their default_model first"
            )
        before = await get_alias(db, model_alias)
        await catalog_sql.delete_alias(db, model_alias)
        await audit.record(
            db, by, "model_alias.delete", f"model_alias:{model_alias}", before=before
        )
    return Deleted(object="model_alias", id=model_alias)


CONFIG_ACTOR = "config"
"""The audit log's actor for what the config file changes at start."""


async def apply_config(
    db: Database, config: ServerConfig, settings: Settings, *, source: str, now: dt.datetime
) -> None:
    """Make the catalog match the config file ``source``, every change in the audit log with
    actor ``config`` (none when nothing differs), and record what the file manages: from now
    on those groups and aliases refuse edits from the API and the dashboard (409 naming the
    file), so that a restart never undoes an edit behind the audit log's back. Safe with
    several processes starting at once (a create that loses the race updates instead)."""
    problem = config_problem(config, settings)
    if problem:
        raise ConfigError(problem)
    by = Operator(CONFIG_ACTOR, now)
    for group in config.access_groups:
        try:
            await create_group(db, group, by)
        except Conflict:
            described = ModelAccessGroupUpdateRequest(description=group.description)
            await update_group(db, group.group_name, described, by)
    for alias in config.model_aliases:
        try:
            await create_alias(db, alias, settings, by)
        except Conflict:
            update = ModelAliasUpdateRequest(
                access_groups=alias.access_groups, deployments=alias.deployments, mode=alias.mode
            )
            await update_alias(db, alias.model_alias, update, settings, by)
    await catalog_sql.set_config_managed(
        db,
        source,
        groups=[g.group_name for g in config.access_groups],
        aliases=[a.model_alias for a in config.model_aliases],
    )


async def forget_config(db: Database) -> None:
    """A start without a config file: nothing is managed by one any more."""
    await catalog_sql.set_config_managed(db, None, groups=[], aliases=[])


async def _refuse_if_managed(db: Database, kind: str, name: str, by: Operator) -> None:
    if by.actor == CONFIG_ACTOR:
        return
    source = await catalog_sql.config_source(db, kind, name)
    if source is not None:
        what = kind.replace("_", " ")
        raise Conflict(
            f"{what} {name!r} is declared in the config file {source}, which the server "
            "applies at every start: change it there and restart"
        )


async def ensure_builtin_alias(db: Database) -> None:
    """The zero-config alias: the mock provider, open to every team. Idempotent."""
    await catalog_sql.insert_alias(
        db,
        BUILTIN_MODEL_ALIAS,
        [],
        [
            {
                "provider": "mock",
                "model": "mock-1",
                "api_base": None,
                # Illustrative prices (gpt-4o-mini's), so that cost tracking shows numbers.
                "input_cost_per_million": 0.15,
                "output_cost_per_million": 0.60,
            }
        ],
        public=True,
    )
