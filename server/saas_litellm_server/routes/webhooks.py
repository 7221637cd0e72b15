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
)

from ..services import webhooks
from ._operation import Call, Operation, api_route

__all__ = ["routes"]


async def create_webhook(call: Call[WebhookCreateRequest, None]) -> WebhookCreated:
    return await webhooks.create_webhook(
        call.db,
        call.body,
        call.operator,
        allow_private=call.runtime.settings.webhooks_allow_private,
    )


async def list_webhooks(call: Call[None, PageQuery]) -> WebhookList:
    return await webhooks.list_webhooks(call.db, call.query)


async def delete_webhook(call: Call[None, None]) -> Deleted:
    return await webhooks.delete_webhook(call.db, call.path["webhook_id"], call.operator)


async def list_deliveries(call: Call[None, WebhookDeliveryListQuery]) -> WebhookDeliveryList:
    return await webhooks.list_deliveries(call.db, call.path["webhook_id"], call.query)


async def retry_delivery(call: Call[None, None]) -> WebhookDelivery:
    return await webhooks.retry_delivery(
        call.db, call.path["webhook_id"], call.path["delivery_id"], call.operator
    )


routes = [
    api_route(
        Operation(
            "POST",
            "/api/webhooks",
            "Register a webhook endpoint",
            auth="admin",
            tag="webhooks",
            response=WebhookCreated,
            body=WebhookCreateRequest,
            status=201,
            errors=(
                (400, "invalid_request: the URL points at an address webhooks may not reach"),
                (409, "conflict: an endpoint with this URL exists"),
            ),
            idempotent=True,
            unkept_field="secret",
            reissue=webhooks.reissue_secret,
            description="The `secret` (`whsec_…`, for verifying signatures) is shown once, in "
            "this response. A URL on a loopback, private, link-local or otherwise non-public "
            "address is a 422 unless SAAS_LITELLM_WEBHOOKS_ALLOW_PRIVATE is set. A replay "
            "under the same Idempotency-Key answers the same endpoint and secret.",
        ),
        create_webhook,
    ),
    api_route(
        Operation(
            "GET",
            "/api/webhooks",
            "List webhook endpoints, newest first (never their secrets)",
            auth="admin",
            tag="webhooks",
            response=WebhookList,
            query=PageQuery,
        ),
        list_webhooks,
    ),
    api_route(
        Operation(
            "DELETE",
            "/api/webhooks/{webhook_id}",
            "Remove a webhook endpoint",
            auth="admin",
            tag="webhooks",
            response=Deleted,
            description="Nothing more is sent to it; its pending deliveries are given up.",
        ),
        delete_webhook,
    ),
    api_route(
        Operation(
            "GET",
            "/api/webhooks/{webhook_id}/deliveries",
            "List an endpoint's deliveries, newest first",
            auth="admin",
            tag="webhooks",
            response=WebhookDeliveryList,
            query=WebhookDeliveryListQuery,
            description="Each event sent (or to be sent) to it: status, attempts, the latest "
            "attempt's HTTP status, error and the start of the answer.",
        ),
        list_deliveries,
    ),
    api_route(
        Operation(
            "POST",
            "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
            "Send a delivery again",
            auth="admin",
            tag="webhooks",
            response=WebhookDelivery,
            errors=((409, "conflict: the endpoint is disabled, or the delivery is still running"),),
            idempotent=True,
            description="With the same `webhook-id`, as soon as a worker is free, whatever its "
            "status. 409 when the endpoint is disabled.",
        ),
        retry_delivery,
    ),
]
