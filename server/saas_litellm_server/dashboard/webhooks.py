"""The webhooks' pages: the list with the form that registers an endpoint (whose answer shows
its signing secret, once: it is never shown again), one webhook with its deliveries (filtered
by status), a test event sent, a delivery sent again and a webhook removed."""

from __future__ import annotations

import re

from starlette.responses import Response

from saas_litellm_models import (
    DELIVERY_ID_PATTERN,
    WEBHOOK_EVENT_TYPES,
    WEBHOOK_ID_PATTERN,
    PageQuery,
    WebhookCreateRequest,
    WebhookDeliveryListQuery,
)

from ..errors import InvalidRequest, NotFound
from ..services import catalog, webhooks
from ._context import LIST_LIMIT, Ctx
from ._forms import Form
from ._http import PREFIX, back, url

__all__ = [
    "create_webhook",
    "remove_webhook",
    "retry_delivery",
    "send_test_event",
    "webhook",
    "webhook_list",
]

_PATTERNS = {"webhook_id": WEBHOOK_ID_PATTERN, "delivery_id": DELIVERY_ID_PATTERN}


def _ids(ctx: Ctx, *names: str) -> list[str]:
    """Path ids that can name something (anything else, a NUL say, is a 404 here)."""
    values = [str(ctx.request.path_params[name]) for name in names]
    for name, value in zip(names, values, strict=True):
        if not re.fullmatch(_PATTERNS[name], value):
            raise NotFound(f"{name.removesuffix('_id')} {value[:64]!r} not found")
    return values


async def webhook_list(ctx: Ctx) -> Response:
    query = PageQuery.model_validate({"limit": 100, "cursor": ctx.param("cursor") or None})
    listing = await webhooks.list_webhooks(ctx.db, query)
    orgs = await catalog.list_organizations(ctx.db, PageQuery(limit=LIST_LIMIT))
    return ctx.render(
        "webhooks.html",
        listing=listing,
        event_types=WEBHOOK_EVENT_TYPES,
        organizations=orgs.organizations,
    )


async def create_webhook(ctx: Ctx, form: Form) -> Response:
    """Register an endpoint (the same service as ``POST /api/webhooks``); the answer is the
    only page that ever shows its secret."""
    events = form.all("events")
    if not events:
        raise InvalidRequest("Choose at least one event to send; nothing was registered.")
    body = WebhookCreateRequest.model_validate(
        {
            "url": form.get("url"),
            "events": events,
            "organization_id": form.optional("organization_id"),
        }
    )
    created = await webhooks.create_webhook(
        ctx.db, body, ctx.operator, allow_private=ctx.settings.webhooks_allow_private
    )
    return ctx.render("webhook_created.html", 201, hook=created, secret=created.secret)


async def webhook(ctx: Ctx) -> Response:
    (webhook_id,) = _ids(ctx, "webhook_id")
    filters = {name: ctx.param(name) for name in ("status", "cursor") if ctx.param(name)}
    query = WebhookDeliveryListQuery.model_validate({**filters, "limit": 50})
    hook = await webhooks.get_webhook(ctx.db, webhook_id)
    log = await webhooks.list_deliveries(ctx.db, webhook_id, query)
    next_url = None
    if log.next_cursor:
        next_url = url(f"{PREFIX}/webhooks/{webhook_id}", {**filters, "cursor": log.next_cursor})
    return ctx.render(
        "webhook.html", hook=hook, deliveries=log.deliveries, filters=filters, next_url=next_url
    )


async def send_test_event(ctx: Ctx, form: Form) -> Response:
    (webhook_id,) = _ids(ctx, "webhook_id")
    await webhooks.send_test_event(ctx.db, webhook_id, ctx.operator)
    return back(f"{PREFIX}/webhooks/{webhook_id}", "test-sent")


async def retry_delivery(ctx: Ctx, form: Form) -> Response:
    webhook_id, delivery_id = _ids(ctx, "webhook_id", "delivery_id")
    await webhooks.retry_delivery(ctx.db, webhook_id, delivery_id, ctx.operator)
    return back(f"{PREFIX}/webhooks/{webhook_id}", "redelivered")


async def remove_webhook(ctx: Ctx, form: Form) -> Response:
    (webhook_id,) = _ids(ctx, "webhook_id")
    await webhooks.delete_webhook(ctx.db, webhook_id, ctx.operator)
    return back(f"{PREFIX}/webhooks", "webhook-removed")
