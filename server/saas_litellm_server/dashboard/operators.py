"""The operators' page (owners only): the list, a new operator (its key shown once, like a
team's new key, never again nor in a URL), a role change, a key rotation (the new key shown
once) and a removal. Logic in ``services.operators``."""

from __future__ import annotations

import re

from starlette.responses import Response

from saas_litellm_models import (
    OPERATOR_ID_PATTERN,
    OPERATOR_ROLES,
    OperatorCreated,
    OperatorCreateRequest,
    OperatorUpdateRequest,
    PageQuery,
)

from ..errors import NotFound
from ..services import operators
from ._context import Ctx
from ._forms import Form
from ._http import PREFIX, back

__all__ = [
    "create_operator",
    "operator_list",
    "remove_operator",
    "rotate_operator_key",
    "update_operator",
]


def _operator_id(ctx: Ctx) -> str:
    value = str(ctx.request.path_params["operator_id"])
    if not re.fullmatch(OPERATOR_ID_PATTERN, value):
        raise NotFound(f"operator {value[:64]!r} not found")
    return value


def _key_page(ctx: Ctx, created: OperatorCreated, heading: str) -> Response:
    return ctx.render("operator_key.html", 201, operator=created, heading=heading)


async def operator_list(ctx: Ctx) -> Response:
    query = PageQuery.model_validate({"limit": 100, "cursor": ctx.param("cursor") or None})
    listing = await operators.list_operators(ctx.db, query)
    return ctx.render("operators.html", listing=listing, roles=OPERATOR_ROLES)


async def create_operator(ctx: Ctx, form: Form) -> Response:
    body = OperatorCreateRequest.model_validate(
        {"name": form.get("name"), "role": form.get("role")}
    )
    created = await operators.create_operator(ctx.db, body, ctx.operator)
    return _key_page(ctx, created, f"New operator {created.name}")


async def update_operator(ctx: Ctx, form: Form) -> Response:
    body = OperatorUpdateRequest.model_validate({"role": form.get("role")})
    await operators.update_operator(ctx.db, _operator_id(ctx), body, ctx.operator)
    return back(f"{PREFIX}/operators", "operator-updated")


async def rotate_operator_key(ctx: Ctx, form: Form) -> Response:
    rotated = await operators.rotate_key(ctx.db, _operator_id(ctx), ctx.operator)
    return _key_page(ctx, rotated, f"New key for {rotated.name}")


async def remove_operator(ctx: Ctx, form: Form) -> Response:
    await operators.delete_operator(ctx.db, _operator_id(ctx), ctx.operator)
    return back(f"{PREFIX}/operators", "operator-removed")
