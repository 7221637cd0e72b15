"""A team's virtual keys (admin): create, list, revoke, rotate. Logic in ``services.keys``."""

from __future__ import annotations

from saas_litellm_models import (
    KeyCreated,
    KeyCreateRequest,
    KeyList,
    KeyRotateRequest,
    KeyRotation,
    VirtualKeyInfo,
    endpoints,
)

from ..services import keys
from ._operation import APIRequest, api_route

__all__ = ["routes"]


async def create_key(req: APIRequest[KeyCreateRequest, None]) -> KeyCreated:
    return await keys.create_key(req.db, req.path["team_id"], req.body, req.operator)


async def list_keys(req: APIRequest[None, None]) -> KeyList:
    return await keys.list_keys(req.db, req.path["team_id"])


async def revoke_key(req: APIRequest[None, None]) -> VirtualKeyInfo:
    return await keys.revoke_key(req.db, req.path["team_id"], req.path["key_id"], req.operator)


async def rotate_key(req: APIRequest[KeyRotateRequest, None]) -> KeyRotation:
    return await keys.rotate_keys(req.db, req.path["team_id"], req.body, req.operator)


routes = [
    api_route(endpoints.CREATE_KEY, create_key, reissue=keys.reissue_key),
    api_route(endpoints.LIST_KEYS, list_keys, replica=True),
    api_route(endpoints.REVOKE_KEY, revoke_key),
    api_route(endpoints.ROTATE_KEY, rotate_key, reissue=keys.reissue_key),
]
