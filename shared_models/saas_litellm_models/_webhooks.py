"""Webhooks: the endpoints an operator registers, the events sent to them and their delivery
log.

Deliveries follow Standard Webhooks (https://www.standardwebhooks.com): each carries
``webhook-id`` (the delivery's id, the same on every retry), ``webhook-timestamp`` and
``webhook-signature`` headers, and one event as its body: :data:`WebhookEvent` is the union of
the event models, told apart by ``type`` (``parse_webhook_event`` parses a body into one;
the SDK's ``verify_webhook`` checks the signature first). The delivery log shows each event as
it was sent, untyped (:class:`WebhookEventBody`), so that no stored event can fail to list.
``webhook.test`` (:class:`WebhookTestEvent`) is sent only on request (``POST
/api/webhooks/{webhook_id}/test``), whatever events the endpoint takes: it is not one of the
:data:`WebhookEventType` an endpoint subscribes to.
"""

from __future__ import annotations

import urllib.parse
from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field, JsonValue, StringConstraints, TypeAdapter

from ._base import Identifier, PageQuery, RequestModel, ResponseModel
from ._jobs import JobStatus

__all__ = [
    "WEBHOOK_EVENT_TYPES",
    "WEBHOOK_TEST_EVENT",
    "CreditsExhaustedData",
    "CreditsExhaustedEvent",
    "CreditsLowData",
    "CreditsLowEvent",
    "CreditsRefilledData",
    "CreditsRefilledEvent",
    "DeliveryStatus",
    "JobCompletedEvent",
    "JobEventCosts",
    "JobEventData",
    "JobFailedEvent",
    "TeamSuspendedData",
    "TeamSuspendedEvent",
    "WebhookCreateRequest",
    "WebhookCreated",
    "WebhookDelivery",
    "WebhookDeliveryList",
    "WebhookDeliveryListQuery",
    "WebhookEvent",
    "WebhookEventBody",
    "WebhookEventType",
    "WebhookInfo",
    "WebhookList",
    "WebhookStatus",
    "WebhookTestData",
    "WebhookTestEvent",
    "parse_webhook_event",
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
"""The event types an endpoint may subscribe to (``events`` of ``POST /api/webhooks``)."""
WEBHOOK_TEST_EVENT: Literal["webhook.test"] = "webhook.test"
"""The type of the test event, sent on request to any endpoint whatever its ``events``."""
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


class WebhookEventBody(ResponseModel):
    """A delivery's body as it was sent: its ``type``, ``timestamp`` and ``data``, untyped
    (``parse_webhook_event`` types it)."""

    type: str = Field(description="One of the event types, e.g. `job.completed`.")
    timestamp: datetime = Field(description="When the event happened.")
    data: dict[str, JsonValue]


# -- the events: one model each, told apart by `type` --------------------------------------------
# Every field the server sends is declared, and required when the server always sends it (null
# included): a receiver reads `event.data.costs.credits_charged`, not a dict. Unknown fields are
# ignored (ResponseModel), so a server that adds one does not break receivers.


class JobEventCosts(ResponseModel):
    """The settled job's costs, as ``job.completed`` and ``job.failed`` carry them (the job's
    ``JobCosts`` without ``credit_reason`` and ``credits_reserved``)."""

    total_calls: int
    successful_calls: int
    failed_calls: int
    cancelled_calls: int
    calls_in_flight: int = Field(description="0: the job is settled.")
    total_tokens: int
    total_cost_usd: float
    avg_latency_ms: float
    credit_applied: bool = Field(description="Whether the job spent credits.")
    credits_charged: int = Field(description="Credits the job cost (0 when it cost nothing).")
    credits_remaining: int = Field(description="The team's credits after the settlement.")


class JobEventData(ResponseModel):
    """``data`` of ``job.completed`` and ``job.failed``: the job, once settled."""

    job_id: str
    team_id: str
    organization_id: str | None
    job_type: str
    status: JobStatus
    created_at: datetime
    completed_at: datetime | None
    error_message: str | None
    costs: JobEventCosts


class CreditsLowData(ResponseModel):
    """``data`` of ``credits.low``."""

    team_id: str
    organization_id: str | None
    credits_remaining: int
    low_balance_threshold: int


class CreditsExhaustedData(ResponseModel):
    """``data`` of ``credits.exhausted``."""

    team_id: str
    organization_id: str | None
    credits_remaining: int


class CreditsRefilledData(ResponseModel):
    """``data`` of ``credits.refilled``."""

    team_id: str
    organization_id: str | None
    credits: int = Field(description="Credits the refill added.")
    credits_remaining: int
    period: str = Field(
        description="The period refilled, in UTC: `2026-12-03` (daily), `2026-W49` (weekly, "
        "an ISO week) or `2026-12` (monthly)."
    )


class TeamSuspendedData(ResponseModel):
    """``data`` of ``team.suspended``."""

    team_id: str
    organization_id: str | None
    status: Literal["suspended"]


class JobCompletedEvent(ResponseModel):
    """A job was completed and settled (by its team, or by the sweep of abandoned jobs)."""

    type: Literal["job.completed"] = "job.completed"
    timestamp: datetime = Field(description="When the event happened.")
    data: JobEventData


class JobFailedEvent(ResponseModel):
    """A job was failed and settled."""

    type: Literal["job.failed"] = "job.failed"
    timestamp: datetime = Field(description="When the event happened.")
    data: JobEventData


class CreditsLowEvent(ResponseModel):
    """A charge took the team's credits to or below its ``low_balance_threshold``."""

    type: Literal["credits.low"] = "credits.low"
    timestamp: datetime = Field(description="When the event happened.")
    data: CreditsLowData


class CreditsExhaustedEvent(ResponseModel):
    """A charge took the team's credits to 0."""

    type: Literal["credits.exhausted"] = "credits.exhausted"
    timestamp: datetime = Field(description="When the event happened.")
    data: CreditsExhaustedData


class CreditsRefilledEvent(ResponseModel):
    """An auto-refill added credits."""

    type: Literal["credits.refilled"] = "credits.refilled"
    timestamp: datetime = Field(description="When the event happened.")
    data: CreditsRefilledData


class TeamSuspendedEvent(ResponseModel):
    """A team was suspended."""

    type: Literal["team.suspended"] = "team.suspended"
    timestamp: datetime = Field(description="When the event happened.")
    data: TeamSuspendedData


class WebhookTestData(ResponseModel):
    """``data`` of ``webhook.test``: the endpoint it was sent to."""

    webhook_id: str = Field(description="The endpoint it was sent to.")


class WebhookTestEvent(ResponseModel):
    """A test event, sent on request (``POST /api/webhooks/{webhook_id}/test``, or the
    dashboard's button) whatever events the endpoint takes: nothing happened."""

    type: Literal["webhook.test"] = "webhook.test"
    timestamp: datetime = Field(description="When it was requested.")
    data: WebhookTestData


_Events = (
    JobCompletedEvent
    | JobFailedEvent
    | CreditsLowEvent
    | CreditsExhaustedEvent
    | CreditsRefilledEvent
    | TeamSuspendedEvent
    | WebhookTestEvent
)
WebhookEvent = Annotated[_Events, Field(discriminator="type")]
"""The body of every delivery: one of the event models, chosen by its ``type``."""

_adapter: TypeAdapter[_Events] = TypeAdapter(WebhookEvent)


def parse_webhook_event(body: str | bytes) -> _Events:
    """Parse a delivery's body into its event model (pydantic's ``ValidationError`` for a body
    that is not one: not JSON, an unknown ``type``, or data that does not fit it). It checks no
    signature: use the SDK's ``verify_webhook`` on a request."""
    return _adapter.validate_json(body)


class WebhookDelivery(ResponseModel):
    """One event sent (or to be sent) to one endpoint, with its latest attempt."""

    delivery_id: str = Field(description="Sent as `webhook-id`; the same on every retry.")
    webhook_id: str
    event_type: str
    event: WebhookEventBody
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
