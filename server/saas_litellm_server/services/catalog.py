"""Organizations, model access groups and model aliases (admin only)."""

from __future__ import annotations

from saas_litellm_models import (
    ModelAccessGroup,
    ModelAccessGroupCreateRequest,
    ModelAlias,
    ModelAliasCreateRequest,
    Organization,
    OrganizationCreateRequest,
)

from .._config import ConfigError, ServerConfig
from .._settings import BUILTIN_MODEL_ALIAS
from ..errors import Conflict, InvalidRequest, NotFound
from ..store import Database, catalog

__all__ = [
    "apply_config",
    "create_alias",
    "create_group",
    "create_organization",
    "ensure_builtin_alias",
    "get_alias",
]


async def create_organization(db: Database, body: OrganizationCreateRequest) -> Organization:
    row = await catalog.insert_organization(db, body.organization_id, body.name, body.metadata)
    if row is None:
        raise Conflict(
            f"organization {body.organization_id!r} already exists", param="organization_id"
        )
    return Organization.model_validate(row)


async def create_group(db: Database, body: ModelAccessGroupCreateRequest) -> ModelAccessGroup:
    row = await catalog.insert_group(db, body.group_name, body.description)
    if row is None:
        raise Conflict(f"model access group {body.group_name!r} already exists", param="group_name")
    return ModelAccessGroup.model_validate(row)


async def create_alias(db: Database, body: ModelAliasCreateRequest) -> ModelAlias:
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


async def apply_config(db: Database, config: ServerConfig) -> None:
    """Make the catalog match the config file (see ``_config``): idempotent."""
    for group in config.access_groups:
        await catalog.insert_group(db, group.group_name, group.description)
    for alias in config.model_aliases:
        missing = await catalog.missing_groups(db, alias.access_groups)
        if missing:
            raise ConfigError(
                f"model alias {alias.model_alias!r} names unknown access group(s): "
                f"{', '.join(missing)}; declare them under [[access_groups]]"
            )
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
