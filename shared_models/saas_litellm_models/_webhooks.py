"""Webhooks: the endpoints an operator registers, the events sent to them and their delivery
log.

Deliveries follow Standard Webhooks (https://www.standardwebhooks.com): each carries
``webhook-id`` (the delivery's id, the same on every retry), ``webhook-timestamp`` and
``webhook-signature`` headers, and a :class:`WebhookEvent` as its body.
"""

from __future__ import annotations

import urllib.parse
from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field, JsonValue, StringConstraints

from ._base import Identifier, PageQuery, RequestModel, ResponseModel

__all__ = [
    "WEBHOOK_EVENT_TYPES",
    "DeliveryStatus",
    "WebhookCreateRequest",
    "WebhookCreated",
    "WebhookDelivery",
    "WebhookDeliveryList",
    "WebhookDeliveryListQuery",
    "WebhookEvent",
    "WebhookEventType",
    "WebhookInfo",
    "WebhookList",
    "WebhookStatus",
]

WebhookEventType = Literal[
    "job.completed",
    "job.failed",
    "credits.low",
    "credits.exhausted",
    "credits.refilled",
    "team.suspended",
]
WEBHOOK_EVENT_TYPES: tuple[WebhookEventType, ...] = get_args(WebhookEventType)
WebhookStatus = Literal["active", "disabled"]
DeliveryStatus = Literal["pending", "succeeded", "failed"]

MAX_URL_LENGTH = 2048


def _check_url(value: str) -> str:
    """The shape of a URL the server may call; where it points is checked by the server (it
    needs DNS and the server's settings)."""
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("url must not contain whitespace or control characters")
    try:
        parts = urllib.parse.urlsplit(value)
        port = parts.port  # raises for a port that is not a number in 0..65535
    except ValueError as exc:
        raise ValueError(f"url is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("url must start with https:// (or http://)")
    if parts.username is not None or parts.password is not None:
        raise ValueError("url must not carry credentials (user:password@)")
    if not parts.hostname:
        raise ValueError("url has no host")
    if port == 0:
        raise ValueError("url has port 0")
    if parts.fragment:
        raise ValueError("url must not have a #fragment")
    return value


WebhookURL = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_URL_LENGTH),
    AfterValidator(_check_url),
]


def _unique(events: list[WebhookEventType]) -> list[WebhookEventType]:
    return list(dict.fromkeys(events))


class WebhookCreateRequest(RequestModel):
    """Body of ``POST /api/webhooks``."""

    url: WebhookURL = Field(
        description="Where events are POSTed: http(s), no credentials. Loopback and private "
        "addresses are refused unless SAAS_LITELLM_WEBHOOKS_ALLOW_PRIVATE is set."
    )
    events: Annotated[
        list[WebhookEventType], Field(min_length=1, max_length=16), AfterValidator(_unique)
    ] = Field(description="The event types to send to it.")
    organization_id: Identifier | None = Field(
        default=None, description="Only this organization's events; all of them without one."
    )


class WebhookInfo(ResponseModel):
    """A webhook endpoint as listed: never its secret."""

    webhook_id: str
    url: str
    events: list[str]
    organization_id: str | None = None
    status: WebhookStatus = Field(
        description="`disabled` after it failed every delivery for "
        "SAAS_LITELLM_WEBHOOKS_DISABLE_AFTER_SECONDS; nothing more is sent to it."
    )
    created_at: datetime
    failing_since: datetime | None = Field(
        default=None, description="When its current run of failed deliveries began."
    )
    disabled_at: datetime | None = None


class WebhookCreated(WebhookInfo):
    """Response of ``POST /api/webhooks``: the only time the secret is shown."""

    secret: str = Field(
        description="`whsec_` and base64: the key receivers verify signatures with."
    )


class WebhookList(ResponseModel):
    """Response of ``GET /api/webhooks``: newest first, one page at a time."""

    webhooks: list[WebhookInfo]
    next_cursor: str | None = Field(
        default=None, description="Pass as ``cursor`` for the next page; null on the last page."
    )


class WebhookEvent(ResponseModel):
    """The body of every delivery."""

    type: str = Field(description="One of the event types, e.g. `job.completed`.")
    timestamp: datetime = Field(description="When the event happened.")
    data: dict[str, JsonValue]


class WebhookDelivery(ResponseModel):
    """One event sent (or to be sent) to one endpoint, with its latest attempt."""

    delivery_id: str = Field(description="Sent as `webhook-id`; the same on every retry.")
    webhook_id: str
    event_type: str
    event: WebhookEvent
    status: DeliveryStatus = Field(
        description="`pending` (to be tried, or retried), `succeeded` (a 2xx answer), or "
        "`failed` (retries given up, or the endpoint was disabled or removed)."
    )
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_status_code: int | None = Field(
        default=None, description="The HTTP status of the latest attempt (null: no answer)."
    )
    last_error: str | None = None
    last_response: str | None = Field(
        default=None, description="The start of the latest answer's body (truncated)."
    )
    delivered_at: datetime | None = None


class WebhookDeliveryListQuery(PageQuery):
    """Query of ``GET /api/webhooks/{webhook_id}/deliveries``."""

    status: DeliveryStatus | None = Field(default=None, description="Only deliveries in it.")


class WebhookDeliveryList(ResponseModel):
    """Response of ``GET /api/webhooks/{webhook_id}/deliveries``: newest first."""

    deliveries: list[WebhookDelivery]
    next_cursor: str | None = Field(
        default=None, description="Pass as ``cursor`` for the next page; null on the last page."
    )
