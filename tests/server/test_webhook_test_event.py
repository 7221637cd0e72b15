"""``POST /api/webhooks/{webhook_id}/test`` (services.webhooks.send_test_event), in-process on
both backends: a ``webhook.test`` event queued for the endpoint whatever events it takes, in
the normal outbox (the worker, driven by hand, signs and sends it like any other), audited;
who may call it; hostile ids, a removed or disabled endpoint refused with nothing queued.
(tests/integration/test_webhook_delivery.py sends one to a real receiver process;
tests/sdk/test_webhooks.py verifies one with ``verify_webhook``.)
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from support import bearer, create_team

from saas_litellm_client import WebhookTestEvent, verify_webhook
from saas_litellm_models import WebhookDelivery
from saas_litellm_server import Settings, create_app
from saas_litellm_server.services import _addresses as addresses
from saas_litellm_server.services.webhook_delivery import DeliveryWorker
from saas_litellm_server.store import Database
from saas_litellm_server.store.schema import webhook_deliveries, webhooks

ADMIN_KEY = "adm-webhook-test-secret"
ADMIN = bearer(ADMIN_KEY)
PUBLIC = "https://93.184.215.14/hooks"  # a public address: nothing is sent (the worker is off)


@pytest.fixture
def settings(database_url: str, admin_key: str | None) -> Settings:
    return Settings(  # type: ignore[call-arg]
        database_url=database_url, admin_key=admin_key, webhooks_deliver=False, _env_file=None
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def _db(app: Starlette) -> Database:
    db: Database = app.state.runtime.db
    return db


async def _register(
    http: httpx.AsyncClient, events: list[str], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    r = await http.post("/api/webhooks", json={"url": PUBLIC, "events": events}, headers=headers)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def _deliveries(
    http: httpx.AsyncClient, webhook_id: str, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    r = await http.get(f"/api/webhooks/{webhook_id}/deliveries", headers=headers)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["deliveries"]
    return found


async def _count(app: Starlette) -> int:
    count = await _db(app).fetch_val(sa.select(sa.func.count()).select_from(webhook_deliveries))
    return int(count)


async def test_a_test_event_is_queued_whatever_events_the_endpoint_takes(
    http: httpx.AsyncClient, app: Starlette
) -> None:
    hook = await _register(http, ["credits.refilled"])  # not webhook.test: it is sent anyway
    r = await http.post(f"/api/webhooks/{hook['webhook_id']}/test")
    assert r.status_code == 201, r.text
    delivery = WebhookDelivery.model_validate_json(r.content)
    assert delivery.delivery_id.startswith("msg_") and delivery.webhook_id == hook["webhook_id"]
    assert (delivery.event_type, delivery.status, delivery.attempts) == (
        "webhook.test",
        "pending",
        0,
    )
    assert delivery.event.type == "webhook.test"
    assert delivery.event.data == {"webhook_id": hook["webhook_id"]}
    assert hook["secret"] not in r.text
    # in the delivery log, as any other delivery
    (listed,) = await _deliveries(http, hook["webhook_id"])
    assert listed["delivery_id"] == delivery.delivery_id and listed["status"] == "pending"
    # audited, without the secret
    log = (await http.get("/api/audit-log", params={"action": "webhook.test"})).json()["events"]
    assert [(e["target"], e["after"]["delivery_id"]) for e in log] == [
        (f"webhook:{hook['webhook_id']}", delivery.delivery_id)
    ]
    assert hook["secret"] not in str(log)
    # each request is another event (another webhook-id)
    again = await http.post(f"/api/webhooks/{hook['webhook_id']}/test")
    assert again.status_code == 201 and again.json()["delivery_id"] != delivery.delivery_id
    assert await _count(app) == 2
    # the endpoint's subscription is unchanged: webhook.test is not an event one subscribes to
    assert (await http.get("/api/webhooks")).json()["webhooks"][0]["events"] == ["credits.refilled"]
    r = await http.post("/api/webhooks", json={"url": PUBLIC, "events": ["webhook.test"]})
    assert r.status_code == 422, r.text


async def test_a_replay_under_the_same_idempotency_key_queues_one_event(
    http: httpx.AsyncClient, app: Starlette
) -> None:
    hook = await _register(http, ["job.failed"])
    url = f"/api/webhooks/{hook['webhook_id']}/test"
    first = await http.post(url, headers={"Idempotency-Key": "test-once"})
    second = await http.post(url, headers={"Idempotency-Key": "test-once"})
    assert first.status_code == second.status_code == 201
    assert first.json()["delivery_id"] == second.json()["delivery_id"]
    assert await _count(app) == 1


async def test_the_worker_signs_and_sends_it_like_any_event(
    http: httpx.AsyncClient, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def public(host: str, port: int) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    monkeypatch.setattr(addresses, "_lookup", public)
    hook = await _register(http, ["job.completed"])
    queued = (await http.post(f"/api/webhooks/{hook['webhook_id']}/test")).json()
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    worker = DeliveryWorker(app.state.runtime)
    worker._client = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    assert await worker.tick() == 1
    (request,) = seen
    assert request.headers["webhook-id"] == queued["delivery_id"]
    event = verify_webhook(request.content, request.headers, hook["secret"])
    assert isinstance(event, WebhookTestEvent)
    assert event.data.webhook_id == hook["webhook_id"]
    assert abs(event.timestamp - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=1)
    (delivery,) = await _deliveries(http, hook["webhook_id"])
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
        "succeeded",
        1,
        204,
    )


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_only_the_admin_key_sends_a_test_event(
    http: httpx.AsyncClient, app: Starlette
) -> None:
    key = await create_team(http, admin=ADMIN)
    hook = await _register(http, ["job.failed"], headers=ADMIN)
    url = f"/api/webhooks/{hook['webhook_id']}/test"
    for headers, status in [
        ({}, 401),
        (bearer("adm-wrong"), 401),
        (bearer(ADMIN_KEY + "x"), 401),
        (bearer(key), 403),  # a team's key: any team's, webhooks are the operator's
        ({"Authorization": f"Basic {ADMIN_KEY}"}, 401),
    ]:
        r = await http.post(url, headers=headers)
        assert r.status_code == status, f"{headers}: {r.text}"
        assert key not in r.text and ADMIN_KEY not in r.text
        assert r.json()["error"]["message"]
    assert await _count(app) == 0  # nothing queued by the refused calls
    r = await http.post(url, headers=ADMIN)
    assert r.status_code == 201, r.text
    assert [d["event_type"] for d in await _deliveries(http, hook["webhook_id"], ADMIN)] == [
        "webhook.test"
    ]


async def test_hostile_ids_and_a_removed_endpoint_are_404_with_nothing_queued(
    http: httpx.AsyncClient, app: Starlette
) -> None:
    hook = await _register(http, ["job.failed"])
    for webhook_id in [
        "nope",
        "wh_" + "0" * 24,  # the right shape, never registered
        "wh_" + "0" * 24 + "%00",
        "wh_" + "0" * 24 + "%0A",
        hook["webhook_id"].upper(),
        hook["webhook_id"] + "0",
        "wh_" + "a" * 5000,
        "..%2F..%2Fapi%2Fteams",
        "%27%20OR%201%3D1--",
    ]:
        r = await http.post(f"/api/webhooks/{webhook_id}/test")
        assert r.status_code == 404, f"{webhook_id[:40]}: {r.text[:300]}"
        assert r.json()["error"]["type"] == "not_found"
    r = await http.post(f"/api/webhooks/{hook['webhook_id']}/test", json={"x": "y" * 10_000})
    assert r.status_code in (201, 400, 422), r.text  # a body is not expected: never a 500
    before = await _count(app)
    assert (await http.delete(f"/api/webhooks/{hook['webhook_id']}")).status_code == 200
    r = await http.post(f"/api/webhooks/{hook['webhook_id']}/test")
    assert r.status_code == 404, r.text
    assert r.json()["error"]["type"] == "not_found"
    assert await _count(app) == before  # the refused request queued nothing
    log = (await http.get("/api/audit-log", params={"action": "webhook.test"})).json()["events"]
    assert len(log) == before  # an audit row only for each event queued


async def test_a_disabled_endpoint_is_a_conflict_with_nothing_queued(
    http: httpx.AsyncClient, app: Starlette
) -> None:
    hook = await _register(http, ["job.failed"])
    await _db(app).execute(
        webhooks.update()
        .where(webhooks.c.webhook_id == hook["webhook_id"])
        .values(status="disabled", disabled_at=dt.datetime.now(dt.timezone.utc))
    )
    r = await http.post(f"/api/webhooks/{hook['webhook_id']}/test")
    assert r.status_code == 409, r.text
    assert r.json()["error"]["type"] == "conflict"
    assert "disabled" in r.json()["error"]["message"]
    assert await _count(app) == 0
