"""The webhooks' pages: the list, one webhook with its deliveries (filtered by status), a
delivery sent again and a webhook removed. Its signing secret is never shown here."""

from __future__ import annotations

import re

from starlette.responses import Response

from saas_litellm_models import (
    DELIVERY_ID_PATTERN,
    WEBHOOK_ID_PATTERN,
    PageQuery,
    WebhookDeliveryListQuery,
)

from ..errors import NotFound
from ..services import webhooks
from ._context import Ctx
from ._forms import Form
from ._http import PREFIX, back, url

__all__ = ["remove_webhook", "retry_delivery", "webhook", "webhook_list"]

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
    return ctx.render("webhooks.html", listing=listing)


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


async def retry_delivery(ctx: Ctx, form: Form) -> Response:
    webhook_id, delivery_id = _ids(ctx, "webhook_id", "delivery_id")
    await webhooks.retry_delivery(ctx.db, webhook_id, delivery_id, ctx.operator)
    return back(f"{PREFIX}/webhooks/{webhook_id}", "redelivered")


async def remove_webhook(ctx: Ctx, form: Form) -> Response:
    (webhook_id,) = _ids(ctx, "webhook_id")
    await webhooks.delete_webhook(ctx.db, webhook_id, ctx.operator)
    return back(f"{PREFIX}/webhooks", "webhook-removed")
