"""The models page (``/admin/models``): model aliases with their deployments, and the access
groups that grant them to teams. Creating and editing an alias posts its mode (chat or
embedding) and a table of deployment rows (provider, model, api_base, prices, timeout); empty
rows are left out."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from saas_litellm_models import (
    Deployment,
    ModelAccessGroupCreateRequest,
    ModelAccessGroupUpdateRequest,
    ModelAliasCreateRequest,
    ModelAliasListQuery,
    ModelAliasUpdateRequest,
    PageQuery,
)

from ..errors import InvalidRequest
from ..services import catalog
from ._context import LIST_LIMIT, Ctx
from ._forms import Form
from ._http import PREFIX, back

__all__ = [
    "alias",
    "create_alias",
    "create_group",
    "models",
    "remove_alias",
    "remove_group",
    "update_alias",
    "update_group",
]

_BLANK_DEPLOYMENT: dict[str, Any] = {
    "provider": "",
    "model": "",
    "api_base": None,
    "input_cost_per_million": "",
    "output_cost_per_million": "",
    "timeout": None,
}


async def models(ctx: Ctx) -> Response:
    db = ctx.db
    aliases = await catalog.list_aliases(db, ModelAliasListQuery(limit=LIST_LIMIT))
    groups = await catalog.list_groups(db, PageQuery(limit=LIST_LIMIT))
    return ctx.render(
        "models.html",
        aliases=aliases.model_aliases,
        groups=groups.model_access_groups,
        blank=[_BLANK_DEPLOYMENT] * 3,
    )


async def create_group(ctx: Ctx, form: Form) -> Response:
    body = ModelAccessGroupCreateRequest(
        group_name=form.get("group_name"), description=form.optional("description")
    )
    await catalog.create_group(ctx.db, body, ctx.operator)
    return back(f"{PREFIX}/models", "group")


async def update_group(ctx: Ctx, form: Form) -> Response:
    body = ModelAccessGroupUpdateRequest.model_validate(
        {"description": form.optional("description")}
    )
    name = str(ctx.request.path_params["group_name"])
    await catalog.update_group(ctx.db, name, body, ctx.operator)
    return back(f"{PREFIX}/models", "group-updated")


async def remove_group(ctx: Ctx, form: Form) -> Response:
    name = str(ctx.request.path_params["group_name"])
    await catalog.delete_group(ctx.db, name, ctx.operator)
    return back(f"{PREFIX}/models", "group-removed")


async def create_alias(ctx: Ctx, form: Form) -> Response:
    body = ModelAliasCreateRequest.model_validate(
        {
            "model_alias": form.get("model_alias"),
            "access_groups": form.all("access_groups"),
            "deployments": _deployments(form),
            "mode": form.get("mode") or "chat",
        }
    )
    await catalog.create_alias(ctx.db, body, ctx.settings, ctx.operator)
    return back(f"{PREFIX}/models", "alias")


async def alias(ctx: Ctx) -> Response:
    db = ctx.db
    found = await catalog.get_alias(db, ctx.request.path_params["model_alias"])
    groups = await catalog.list_groups(db, PageQuery(limit=LIST_LIMIT))
    rows = [d.model_dump() for d in found.deployments] + [_BLANK_DEPLOYMENT] * 2
    return ctx.render("alias.html", alias=found, groups=groups.model_access_groups, rows=rows)


async def update_alias(ctx: Ctx, form: Form) -> Response:
    name = str(ctx.request.path_params["model_alias"])
    fields: dict[str, Any] = {
        "access_groups": form.all("access_groups"),
        "deployments": _deployments(form),
    }
    if form.get("mode"):  # left out: unchanged
        fields["mode"] = form.get("mode")
    body = ModelAliasUpdateRequest.model_validate(fields)
    await catalog.update_alias(ctx.db, name, body, ctx.settings, ctx.operator)
    return back(f"{PREFIX}/models", "alias-updated")


async def remove_alias(ctx: Ctx, form: Form) -> Response:
    name = str(ctx.request.path_params["model_alias"])
    await catalog.delete_alias(ctx.db, name, ctx.operator)
    return back(f"{PREFIX}/models", "alias-removed")


def _deployments(form: Form) -> list[dict[str, Any]]:
    """The filled-in rows of a deployments table (provider, model, api_base and prices)."""
    out = []
    providers = form.fields.get("provider", [])
    for i, provider in enumerate(providers):

        def cell(name: str, i: int = i) -> str:
            values = form.fields.get(name, [])
            return values[i].strip() if i < len(values) else ""

        model = cell("model")
        if not provider.strip() and not model:
            continue
        row: dict[str, Any] = {"provider": provider.strip(), "model": model}
        if cell("api_base"):
            row["api_base"] = cell("api_base")
        for number in ("input_cost_per_million", "output_cost_per_million", "timeout"):
            if cell(number):
                try:
                    row[number] = float(cell(number))
                except ValueError:
                    shown = cell(number)[:40]
                    raise InvalidRequest(f"{number}: {shown!r} is not a number") from None
        out.append(Deployment.model_validate(row).model_dump(exclude_none=True))
    return out
