"""A team's keys, changed from its page: a new key and a rotation answer a page that shows the
new key once (it is never shown again, nor put in a URL); a revocation goes back to the team."""

from __future__ import annotations

from starlette.responses import Response

from saas_litellm_models import KeyCreateRequest, KeyRotateRequest

from ..services import keys
from ._context import Ctx
from ._forms import Form
from .teams import back_to_team, team_id_of

__all__ = ["create_key", "revoke_key", "rotate_keys"]


async def create_key(ctx: Ctx, form: Form) -> Response:
    body = KeyCreateRequest.model_validate({"name": form.optional("name")})
    created = await keys.create_key(ctx.db, team_id_of(ctx), body, ctx.operator)
    return ctx.render(
        "key_created.html",
        201,
        team_id=created.team_id,
        key=created.virtual_key,
        heading=f"New key for {created.team_id}",
    )


async def revoke_key(ctx: Ctx, form: Form) -> Response:
    key_id = str(ctx.request.path_params["key_id"])
    await keys.revoke_key(ctx.db, team_id_of(ctx), key_id, ctx.operator)
    return back_to_team(ctx, "revoked")


async def rotate_keys(ctx: Ctx, form: Form) -> Response:
    body = KeyRotateRequest.model_validate({"grace_seconds": form.integer("grace_seconds")})
    rotation = await keys.rotate_keys(ctx.db, team_id_of(ctx), body, ctx.operator)
    return ctx.render(
        "key_created.html",
        201,
        team_id=rotation.team_id,
        key=rotation.virtual_key,
        heading=f"Keys of {rotation.team_id} rotated",
        previous_expire=rotation.previous_keys_expire_at,
    )
