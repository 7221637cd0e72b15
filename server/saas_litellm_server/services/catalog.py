"""Organizations, model access groups and model aliases (admin only)."""

from __future__ import annotations

from collections.abc import Sequence

from saas_litellm_models import (
    Deployment,
    ModelAccessGroup,
    ModelAccessGroupCreateRequest,
    ModelAccessGroupList,
    ModelAlias,
    ModelAliasCreateRequest,
    ModelAliasList,
    ModelAliasListQuery,
    Organization,
    OrganizationCreateRequest,
    OrganizationList,
    PageQuery,
)

from .._config import ConfigError, ServerConfig
from .._settings import BUILTIN_MODEL_ALIAS, Settings
from ..errors import Conflict, InvalidRequest, NotFound
from ..store import Database, catalog
from .pagination import page, position

__all__ = [
    "apply_config",
    "config_problem",
    "create_alias",
    "create_group",
    "create_organization",
    "deployment_problem",
    "ensure_builtin_alias",
    "get_alias",
    "get_organization",
    "list_aliases",
    "list_groups",
    "list_organizations",
]


async def create_organization(db: Database, body: OrganizationCreateRequest) -> Organization:
    row = await catalog.insert_organization(db, body.organization_id, body.name, body.metadata)
    if row is None:
        raise Conflict(
            f"organization {body.organization_id!r} already exists", param="organization_id"
        )
    return Organization.model_validate(row)


async def get_organization(db: Database, organization_id: str) -> Organization:
    row = await catalog.get_organization(db, organization_id)
    if row is None:
        raise NotFound(f"organization {organization_id!r} not found")
    return Organization.model_validate(row)


async def list_organizations(db: Database, query: PageQuery) -> OrganizationList:
    after = position(query.cursor)
    rows = await catalog.list_organizations(db, limit=query.limit + 1, after=after)
    shown, next_cursor = page(rows, query.limit, "organization_id")
    return OrganizationList(
        organizations=[Organization.model_validate(r) for r in shown], next_cursor=next_cursor
    )


async def list_groups(db: Database, query: PageQuery) -> ModelAccessGroupList:
    after = position(query.cursor)
    rows = await catalog.list_groups(db, limit=query.limit + 1, after=after)
    shown, next_cursor = page(rows, query.limit, "group_name")
    return ModelAccessGroupList(
        model_access_groups=[ModelAccessGroup.model_validate(r) for r in shown],
        next_cursor=next_cursor,
    )


async def list_aliases(db: Database, query: ModelAliasListQuery) -> ModelAliasList:
    after = position(query.cursor)
    rows = await catalog.list_aliases(
        db, access_group=query.access_group, limit=query.limit + 1, after=after
    )
    shown, next_cursor = page(rows, query.limit, "model_alias")
    return ModelAliasList(
        model_aliases=[ModelAlias.model_validate(r) for r in shown], next_cursor=next_cursor
    )


async def create_group(db: Database, body: ModelAccessGroupCreateRequest) -> ModelAccessGroup:
    row = await catalog.insert_group(db, body.group_name, body.description)
    if row is None:
        raise Conflict(f"model access group {body.group_name!r} already exists", param="group_name")
    return ModelAccessGroup.model_validate(row)


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
    db: Database, body: ModelAliasCreateRequest, settings: Settings
) -> ModelAlias:
    problem = deployment_problem(body.deployments, settings)
    if problem:
        raise InvalidRequest(problem, param="deployments")
    missing = await catalog.missing_groups(db, body.access_groups)
    if missing:
        raise InvalidRequest(
            f"unknown model access group(s): {', '.join(missing)}; create them first",
            param="access_groups",
        )
    created = await catalog.insert_alias(
        db,
        body.model_alias,
        body.access_groups,
        [d.model_dump() for d in body.deployments],
    )
    if not created:
        raise Conflict(f"model alias {body.model_alias!r} already exists", param="model_alias")
    row = await catalog.get_alias(db, body.model_alias)
    return ModelAlias.model_validate(row)


async def get_alias(db: Database, model_alias: str) -> ModelAlias:
    row = await catalog.get_alias(db, model_alias)
    if row is None:
        raise NotFound(f"model alias {model_alias!r} not found")
    return ModelAlias.model_validate(row)


async def apply_config(db: Database, config: ServerConfig, settings: Settings) -> None:
    """Make the catalog match the config file (see ``_config``): idempotent."""
    problem = config_problem(config, settings)
    if problem:
        raise ConfigError(problem)
    for group in config.access_groups:
        await catalog.insert_group(db, group.group_name, group.description)
    for alias in config.model_aliases:
        await catalog.replace_alias(
            db, alias.model_alias, alias.access_groups, [d.model_dump() for d in alias.deployments]
        )


async def ensure_builtin_alias(db: Database) -> None:
    """The zero-config alias: the mock provider, open to every team. Idempotent."""
    await catalog.insert_alias(
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
