"""The organizations' pages: the list (with its create form), one organization with its teams
and usage, and its removal."""

from __future__ import annotations

from starlette.responses import Response

from saas_litellm_models import OrganizationCreateRequest, PageQuery, TeamListQuery

from ..services import catalog, teams
from ._context import LIST_LIMIT, Ctx
from ._forms import Form
from ._http import PREFIX, back, q

__all__ = ["create_organization", "organization", "organizations", "remove_organization"]


async def organizations(ctx: Ctx) -> Response:
    listing = await catalog.list_organizations(
        ctx.db, PageQuery(limit=50, cursor=ctx.param("cursor") or None)
    )
    return ctx.render("organizations.html", listing=listing)


async def create_organization(ctx: Ctx, form: Form) -> Response:
    body = OrganizationCreateRequest(
        organization_id=form.get("organization_id"),
        name=form.get("name") or form.get("organization_id"),
    )
    org = await catalog.create_organization(ctx.db, body, ctx.operator)
    return back(f"{PREFIX}/organizations/{q(org.organization_id)}", "organization")


async def organization(ctx: Ctx) -> Response:
    db = ctx.db
    org_id = ctx.request.path_params["organization_id"]
    org = await catalog.get_organization(db, org_id)
    team_list = await teams.list_teams(db, TeamListQuery(organization_id=org_id, limit=LIST_LIMIT))
    usage = await teams.get_organization_usage(db, org_id, since=None, until=None)
    return ctx.render("organization.html", org=org, teams=team_list, usage=usage)


async def remove_organization(ctx: Ctx, form: Form) -> Response:
    org_id = str(ctx.request.path_params["organization_id"])
    await catalog.delete_organization(ctx.db, org_id, ctx.operator)
    return back(f"{PREFIX}/organizations", "organization-removed")
