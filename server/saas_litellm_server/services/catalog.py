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

from .._settings import BUILTIN_MODEL_ALIAS
from ..errors import Conflict, InvalidRequest
from ..store import Database, catalog

__all__ = ["create_alias", "create_group", "create_organization", "ensure_builtin_alias"]


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
