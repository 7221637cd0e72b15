"""The audit log page: every recorded change, newest first, filtered by actor (a prefix:
``dashboard`` finds every dashboard session's), action and target, fifty at a time."""

from __future__ import annotations

from starlette.responses import Response

from saas_litellm_models import AuditLogQuery

from ..services import audit
from ._context import Ctx
from ._http import PREFIX, url

__all__ = ["audit_log"]


async def audit_log(ctx: Ctx) -> Response:
    filters = {
        name: ctx.param(name) for name in ("actor", "action", "target", "cursor") if ctx.param(name)
    }
    log = await audit.list_events(ctx.db, AuditLogQuery.model_validate({**filters, "limit": 50}))
    next_url = None
    if log.next_cursor:
        next_url = url(f"{PREFIX}/audit", {**filters, "cursor": log.next_cursor})
    return ctx.render("audit.html", events=log.events, filters=filters, next_url=next_url)
