"""Webhook endpoints and their delivery log (admin). Logic in ``services.webhooks``; sending
in ``services.webhook_delivery``."""

from __future__ import annotations

from saas_litellm_models import (
    Deleted,
    PageQuery,
    WebhookCreated,
    WebhookCreateRequest,
    WebhookDelivery,
    WebhookDeliveryList,
    WebhookDeliveryListQuery,
    WebhookList,
    endpoints,
)

from ..services import webhooks
from ._operation import APIRequest, api_route

__all__ = ["routes"]


async def create_webhook(req: APIRequest[WebhookCreateRequest, None]) -> WebhookCreated:
    return await webhooks.create_webhook(
        req.db,
        req.body,
        req.operator,
        allow_private=req.runtime.settings.webhooks_allow_private,
    )


async def list_webhooks(req: APIRequest[None, PageQuery]) -> WebhookList:
    return await webhooks.list_webhooks(req.db, req.query)


async def delete_webhook(req: APIRequest[None, None]) -> Deleted:
    return await webhooks.delete_webhook(req.db, req.path["webhook_id"], req.operator)


async def list_deliveries(req: APIRequest[None, WebhookDeliveryListQuery]) -> WebhookDeliveryList:
    return await webhooks.list_deliveries(req.db, req.path["webhook_id"], req.query)


async def retry_delivery(req: APIRequest[None, None]) -> WebhookDelivery:
    return await webhooks.retry_delivery(
        req.db, req.path["webhook_id"], req.path["delivery_id"], req.operator
    )


async def test_webhook(req: APIRequest[None, None]) -> WebhookDelivery:
    return await webhooks.send_test_event(req.db, req.path["webhook_id"], req.operator)


routes = [
    api_route(endpoints.CREATE_WEBHOOK, create_webhook, reissue=webhooks.reissue_secret),
    api_route(endpoints.LIST_WEBHOOKS, list_webhooks, replica=True),
    api_route(endpoints.DELETE_WEBHOOK, delete_webhook),
    api_route(endpoints.LIST_WEBHOOK_DELIVERIES, list_deliveries, replica=True),
    api_route(endpoints.RETRY_WEBHOOK_DELIVERY, retry_delivery),
    api_route(endpoints.TEST_WEBHOOK, test_webhook),
]
