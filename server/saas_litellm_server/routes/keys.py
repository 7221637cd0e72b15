"""A team's virtual keys (admin): create, list, revoke, rotate. Logic in ``services.keys``."""

from __future__ import annotations

from saas_litellm_models import (
    KeyCreated,
    KeyCreateRequest,
    KeyList,
    KeyRotateRequest,
    KeyRotation,
    VirtualKeyInfo,
)

from ..services import keys
from ._operation import Call, Operation, api_route

__all__ = ["routes"]


async def create_key(call: Call[KeyCreateRequest, None]) -> KeyCreated:
    return await keys.create_key(call.db, call.path["team_id"], call.body, call.operator)


async def list_keys(call: Call[None, None]) -> KeyList:
    return await keys.list_keys(call.db, call.path["team_id"])


async def revoke_key(call: Call[None, None]) -> VirtualKeyInfo:
    return await keys.revoke_key(call.db, call.path["team_id"], call.path["key_id"], call.operator)


async def rotate_key(call: Call[KeyRotateRequest, None]) -> KeyRotation:
    return await keys.rotate_keys(call.db, call.path["team_id"], call.body, call.operator)


routes = [
    api_route(
        Operation(
            "POST",
            "/api/teams/{team_id}/keys",
            "Create another virtual key for a team",
            auth="admin",
            tag="admin",
            response=KeyCreated,
            body=KeyCreateRequest,
            status=201,
            errors=((409, "conflict: the team is removed"),),
            idempotent=True,
            unkept_field="virtual_key",
            reissue=keys.reissue_key,
            description="The key is shown once, in this response; the server keeps its hash. "
            "An empty body makes an unnamed key that never expires. A replay under the same "
            "Idempotency-Key revokes the key the lost response held and hands out a fresh one.",
            body_optional=True,
        ),
        create_key,
    ),
    api_route(
        Operation(
            "GET",
            "/api/teams/{team_id}/keys",
            "List a team's virtual keys (never the keys themselves)",
            auth="admin",
            tag="admin",
            response=KeyList,
        ),
        list_keys,
    ),
    api_route(
        Operation(
            "DELETE",
            "/api/teams/{team_id}/keys/{key_id}",
            "Revoke a virtual key at once",
            auth="admin",
            tag="admin",
            response=VirtualKeyInfo,
            description="The key stops working immediately; it stays listed, with `revoked_at`. "
            "Revoking a revoked key changes nothing.",
        ),
        revoke_key,
    ),
    api_route(
        Operation(
            "POST",
            "/api/teams/{team_id}/rotate-key",
            "Replace a team's virtual keys with a new one",
            auth="admin",
            tag="admin",
            response=KeyRotation,
            body=KeyRotateRequest,
            body_optional=True,
            idempotent=True,
            unkept_field="virtual_key",
            reissue=keys.reissue_key,
            description="The team's other keys stop working at once, or after `grace_seconds`. "
            "A replay under the same Idempotency-Key revokes the key the lost response held "
            "and hands out a fresh one.",
        ),
        rotate_key,
    ),
]
