"""Webhook endpoints and the outbox (routes/webhooks.py, services/webhooks.py,
store/webhooks_sql.py), in-process on both backends, the delivery worker off (nothing is sent:
tests/integration/test_webhook_delivery.py sends).

Covered: who may call them; hostile input (bad and private URLs, unknown events, huge bodies,
NUL) is a 4xx that stores nothing; the secret is shown once (a replay aside) and never listed,
audited or kept for replays; list, pagination and removal; events are written in the change's
own transaction (a refused or rolled-back change writes none), filtered by type and
organization; redelivery.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook
from starlette.applications import Starlette
from support import ORG, TEAM, bearer, create_team, open_job

from saas_litellm_models import WebhookCreated, WebhookDeliveryList, WebhookList
from saas_litellm_server import Settings, create_app
from saas_litellm_server.services import _addresses as addresses
from saas_litellm_server.services import teams as team_service
from saas_litellm_server.services import webhooks as webhook_service
from saas_litellm_server.services.audit import Operator
from saas_litellm_server.services.jobs import settle_abandoned
from saas_litellm_server.services.maintenance import tick as maintenance_tick
from saas_litellm_server.services.refills import refill_due
from saas_litellm_server.services.webhook_delivery import (
    MAX_RESPONSE_CHARS,
    DeliveryWorker,
    backoff,
)
from saas_litellm_server.store import Database
from saas_litellm_server.store.schema import idempotency_keys, webhook_deliveries, webhooks

ADMIN_KEY = "adm-webhooks-secret"
ADMIN = bearer(ADMIN_KEY)
PUBLIC = "https://93.184.215.14/hooks"  # a public address: nothing is sent (the worker is off)
ALL = ["job.completed", "job.failed", "credits.exhausted", "team.suspended"]


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
    http: httpx.AsyncClient, events: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    r = await http.post("/api/webhooks", json={"url": PUBLIC, "events": events or ALL, **extra})
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def _deliveries(http: httpx.AsyncClient, webhook_id: str) -> list[dict[str, Any]]:
    r = await http.get(f"/api/webhooks/{webhook_id}/deliveries", params={"limit": 500})
    assert r.status_code == 200, r.text
    WebhookDeliveryList.model_validate_json(r.content)
    found: list[dict[str, Any]] = r.json()["deliveries"]
    return found


async def _finish(http: httpx.AsyncClient, key: str, status: str, team_id: str = TEAM) -> str:
    job = await open_job(http, key, team_id=team_id)
    if status == "completed":
        r = await http.post(
            f"/api/jobs/{job}/llm-call",
            json={"messages": [{"role": "user", "content": "hi"}]},
            headers=bearer(key),
        )
        assert r.status_code == 200, r.text
    r = await http.post(f"/api/jobs/{job}/complete", json={"status": status}, headers=bearer(key))
    assert r.status_code == 200, r.text
    return job


# --- who may call them -------------------------------------------------------------------------


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_only_the_admin_key_reaches_webhooks(http: httpx.AsyncClient) -> None:
    key = await create_team(http, admin=ADMIN)
    r = await http.post("/api/webhooks", json={"url": PUBLIC, "events": ALL}, headers=ADMIN)
    assert r.status_code == 201, r.text
    hook = r.json()
    await _finish(http, key, "failed")
    listed = (
        await http.get(f"/api/webhooks/{hook['webhook_id']}/deliveries", headers=ADMIN)
    ).json()
    delivery = listed["deliveries"][0]["delivery_id"]
    calls = [
        ("POST", "/api/webhooks", {"url": PUBLIC, "events": ALL}),
        ("GET", "/api/webhooks", None),
        ("GET", f"/api/webhooks/{hook['webhook_id']}/deliveries", None),
        ("POST", f"/api/webhooks/{hook['webhook_id']}/deliveries/{delivery}/retry", None),
        ("DELETE", f"/api/webhooks/{hook['webhook_id']}", None),
    ]
    for method, url, body in calls:
        for headers, status in [
            ({}, 401),
            (bearer("adm-wrong"), 401),
            (bearer(key), 403),
        ]:
            r = await http.request(method, url, json=body, headers=headers)
            assert r.status_code == status, f"{method} {url} {headers}: {r.text}"
            assert key not in r.text and ADMIN_KEY not in r.text
    # nothing changed: one endpoint, one delivery, not retried, not removed
    listed = (await http.get("/api/webhooks", headers=ADMIN)).json()["webhooks"]
    assert [h["webhook_id"] for h in listed] == [hook["webhook_id"]]
    deliveries = (
        await http.get(f"/api/webhooks/{hook['webhook_id']}/deliveries", headers=ADMIN)
    ).json()["deliveries"]
    assert [(d["delivery_id"], d["attempts"]) for d in deliveries] == [(delivery, 0)]
    for method, url, body in calls:
        r = await http.request(method, url, json=body, headers=ADMIN)
        assert r.status_code in (200, 201), f"{method} {url}: {r.text}"


# --- hostile input -----------------------------------------------------------------------------

BAD_BODIES: list[tuple[Any, int]] = [
    ({"url": "ftp://93.184.215.14/x", "events": ALL}, 422),
    ({"url": "file:///etc/passwd", "events": ALL}, 422),
    ({"url": "http://user:pw@93.184.215.14/", "events": ALL}, 422),
    ({"url": "https://:pw@93.184.215.14/", "events": ALL}, 422),
    ({"url": "http://127.0.0.1:8003/api/teams", "events": ALL}, 422),
    ({"url": "http://localhost/", "events": ALL}, 422),
    ({"url": "http://2130706433/", "events": ALL}, 422),  # 127.0.0.1 as one number
    ({"url": "http://0.0.0.0/", "events": ALL}, 422),
    ({"url": "http://10.1.2.3/", "events": ALL}, 422),
    ({"url": "http://172.16.0.1/", "events": ALL}, 422),
    ({"url": "http://192.168.1.1/", "events": ALL}, 422),
    ({"url": "http://100.64.0.1/", "events": ALL}, 422),  # carrier-grade NAT
    ({"url": "http://169.254.169.254/latest/meta-data", "events": ALL}, 422),
    ({"url": "http://224.0.0.1/", "events": ALL}, 422),
    ({"url": "http://240.0.0.1/", "events": ALL}, 422),
    ({"url": "http://[::1]/", "events": ALL}, 422),
    ({"url": "http://[::]/", "events": ALL}, 422),
    ({"url": "http://[::ffff:127.0.0.1]/", "events": ALL}, 422),
    ({"url": "http://[::ffff:a9fe:a9fe]/", "events": ALL}, 422),  # mapped 169.254.169.254
    ({"url": "http://[fe80::1]/", "events": ALL}, 422),
    ({"url": "http://[fc00::1]/", "events": ALL}, 422),
    ({"url": "http://[2002:7f00:1::]/", "events": ALL}, 422),  # 6to4 of 127.0.0.1
    ({"url": "http://[64:ff9b::a00:1]/", "events": ALL}, 422),  # NAT64 of 10.0.0.1
    ({"url": "https://93.184.215.14:99999/", "events": ALL}, 422),
    ({"url": "https://93.184.215.14/#x", "events": ALL}, 422),
    ({"url": "https://93.184.215.14/a b", "events": ALL}, 422),
    ({"url": "https://93.184.215.14/\x00", "events": ALL}, 422),
    ({"url": "https://exa\x00mple.com/", "events": ALL}, 422),
    ({"url": "", "events": ALL}, 422),
    ({"url": "https://" + "a" * 3000 + ".com/", "events": ALL}, 422),
    ({"url": PUBLIC, "events": []}, 422),
    ({"url": PUBLIC, "events": ["job.nope"]}, 422),
    ({"url": PUBLIC, "events": "job.completed"}, 422),
    ({"url": PUBLIC, "events": ["job.completed\x00"]}, 422),
    ({"url": PUBLIC, "events": ALL * 5}, 422),
    ({"url": PUBLIC, "events": ALL, "secret": "whsec_mine"}, 422),
    ({"url": PUBLIC, "events": ALL, "organization_id": "a b"}, 422),
    ({"url": PUBLIC, "events": ALL, "organization_id": "nope"}, 400),
    ({"url": PUBLIC}, 422),
    ({"events": ALL}, 422),
    ([PUBLIC], 400),
    ("not json", 400),
    ({"url": PUBLIC, "events": ALL, "pad": "x" * (5 * 1024 * 1024)}, 413),
]


async def test_hostile_input_is_refused_and_stores_nothing(
    http: httpx.AsyncClient, app: Starlette
) -> None:
    await create_team(http)
    for body, status in BAD_BODIES:
        if isinstance(body, str):
            r = await http.post(
                "/api/webhooks", content=body, headers={"Content-Type": "application/json"}
            )
        else:
            r = await http.post("/api/webhooks", json=body)
        assert r.status_code == status, f"{str(body)[:120]}: {r.text[:300]}"
        assert r.json()["error"]["message"]
    for path in [
        "/api/webhooks/nope",
        "/api/webhooks/wh_" + "0" * 24,
        "/api/webhooks/wh_" + "0" * 24 + "%00",
    ]:
        assert (await http.delete(path)).status_code == 404
        assert (await http.get(f"{path}/deliveries")).status_code == 404
    r = await http.post(f"/api/webhooks/wh_{'0' * 24}/deliveries/msg_{'0' * 24}/retry")
    assert r.status_code == 404
    for query in ["limit=0", "limit=x", "limit=501", "cursor=forged"]:
        r = await http.get(f"/api/webhooks?{query}")
        assert r.status_code in (400, 422), r.text
    r = await http.get(f"/api/webhooks/wh_{'0' * 24}/deliveries?status=nope")
    assert r.status_code == 422, r.text
    assert (await http.get("/api/webhooks")).json() == {"webhooks": [], "next_cursor": None}
    log = (await http.get("/api/audit-log", params={"target": "webhook"})).json()["events"]
    assert log == []
    assert await _db(app).fetch_val(sa.select(sa.func.count()).select_from(webhooks)) == 0


async def test_the_private_address_setting_allows_loopback(database_url: str) -> None:
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url,
        webhooks_allow_private=True,
        webhooks_deliver=False,
        _env_file=None,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        for url in ["http://127.0.0.1:9/hooks", "http://localhost/x", "http://[::1]/"]:
            r = await http.post("/api/webhooks", json={"url": url, "events": ALL})
            assert r.status_code == 201, r.text
        # still no credentials and no other schemes
        r = await http.post("/api/webhooks", json={"url": "http://u:p@127.0.0.1/", "events": ALL})
        assert r.status_code == 422


async def test_a_name_that_does_not_resolve_yet_is_accepted(http: httpx.AsyncClient) -> None:
    """Checked again at every delivery (where it is refused if it then resolves privately)."""
    r = await http.post(
        "/api/webhooks", json={"url": "https://hooks.example.invalid/x", "events": ALL}
    )
    assert r.status_code == 201, r.text


# --- the secret --------------------------------------------------------------------------------


async def test_the_secret_is_shown_once_and_never_again(
    http: httpx.AsyncClient, app: Starlette
) -> None:
    await create_team(http)
    r = await http.post(
        "/api/webhooks",
        json={"url": PUBLIC, "events": ["team.suspended"], "organization_id": ORG},
        headers={"Idempotency-Key": "hook-1"},
    )
    assert r.status_code == 201, r.text
    created = WebhookCreated.model_validate_json(r.content)
    assert created.webhook_id.startswith("wh_") and created.status == "active"
    assert (created.url, created.events, created.organization_id) == (
        PUBLIC,
        ["team.suspended"],
        ORG,
    )
    secret = created.secret
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
    # a second endpoint gets a different secret
    assert (await _register(http))["secret"] != secret
    # a replay (its answer was lost) gets the same endpoint and secret, and makes nothing
    again = await http.post(
        "/api/webhooks",
        json={"url": PUBLIC, "events": ["team.suspended"], "organization_id": ORG},
        headers={"Idempotency-Key": "hook-1"},
    )
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == r.json()
    assert await http.post(f"/api/teams/{TEAM}/suspend") is not None
    listed = await http.get("/api/webhooks")
    WebhookList.model_validate_json(listed.content)
    assert len(listed.json()["webhooks"]) == 2
    shown = [
        listed.text,
        (await _deliveries(http, created.webhook_id)).__repr__(),
        (await http.get("/api/audit-log", params={"limit": 500})).text,
    ]
    kept = await _db(app).fetch_all(sa.select(idempotency_keys.c.body))
    assert any(created.webhook_id in (row["body"] or "") for row in kept)
    shown.append(repr(kept))
    for text in shown:
        assert secret not in text and secret[6:] not in text
        assert "secret" not in text.replace('"secret"', "")  # no field of that name either
    events = (await http.get("/api/audit-log", params={"action": "webhook.create"})).json()
    assert len(events["events"]) == 2
    assert events["events"][-1]["after"]["webhook_id"] == created.webhook_id


async def test_a_replay_after_removal_is_404(http: httpx.AsyncClient) -> None:
    body = {"url": PUBLIC, "events": ALL}
    r = await http.post("/api/webhooks", json=body, headers={"Idempotency-Key": "k"})
    assert r.status_code == 201
    assert (await http.delete(f"/api/webhooks/{r.json()['webhook_id']}")).status_code == 200
    again = await http.post("/api/webhooks", json=body, headers={"Idempotency-Key": "k"})
    assert again.status_code == 404, again.text
    assert r.json()["secret"] not in again.text


# --- list and remove ---------------------------------------------------------------------------


async def test_list_is_newest_first_in_pages_and_removal_stops_it(
    http: httpx.AsyncClient,
) -> None:
    made = [(await _register(http))["webhook_id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/api/webhooks", params=params)).json()
        seen += [h["webhook_id"] for h in page["webhooks"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1]
    r = await http.delete(f"/api/webhooks/{made[0]}")
    assert r.status_code == 200 and r.json() == {
        "object": "webhook",
        "id": made[0],
        "deleted": True,
    }
    assert (await http.delete(f"/api/webhooks/{made[0]}")).status_code == 404
    assert (await http.get(f"/api/webhooks/{made[0]}/deliveries")).status_code == 404
    listed = (await http.get("/api/webhooks")).json()["webhooks"]
    assert made[0] not in [h["webhook_id"] for h in listed]
    removed = (await http.get("/api/audit-log", params={"action": "webhook.delete"})).json()
    assert removed["events"][0]["before"]["url"] == PUBLIC


async def test_removal_gives_up_pending_deliveries(http: httpx.AsyncClient, app: Starlette) -> None:
    key = await create_team(http)
    hook = await _register(http, ["job.failed"])
    await _finish(http, key, "failed")
    assert (await http.delete(f"/api/webhooks/{hook['webhook_id']}")).status_code == 200
    rows = await _db(app).fetch_all(sa.select(webhook_deliveries))
    assert [(r["status"], r["last_error"]) for r in rows] == [
        ("failed", "the endpoint was removed")
    ]


# --- the outbox --------------------------------------------------------------------------------


async def test_each_settled_job_writes_one_event_per_matching_endpoint(
    http: httpx.AsyncClient,
) -> None:
    key = await create_team(http, credits=2)
    everything = await _register(http)
    failures = await _register(http, ["job.failed"])
    done = await _finish(http, key, "completed")
    failed = await _finish(http, key, "failed")
    got = await _deliveries(http, everything["webhook_id"])
    assert [(d["event_type"], d["event"]["data"]["job_id"]) for d in got] == [
        ("job.failed", failed),
        ("job.completed", done),
    ]
    assert all(d["status"] == "pending" and d["attempts"] == 0 for d in got)
    data = got[1]["event"]["data"]
    assert data["team_id"] == TEAM and data["organization_id"] == ORG
    assert data["job_type"] == "x" and data["status"] == "completed"
    assert data["costs"]["credit_applied"] is True and data["costs"]["credits_remaining"] == 1
    assert data["costs"]["total_calls"] == 1 and data["costs"]["total_tokens"] > 0
    assert got[1]["event"]["type"] == "job.completed"
    assert dt.datetime.fromisoformat(got[1]["event"]["timestamp"].replace("Z", "+00:00"))
    only = await _deliveries(http, failures["webhook_id"])
    assert [(d["event_type"], d["event"]["data"]["job_id"]) for d in only] == [
        ("job.failed", failed)
    ]
    # each endpoint's delivery has its own id (its webhook-id)
    ids = {d["delivery_id"] for d in got} | {d["delivery_id"] for d in only}
    assert len(ids) == 3


async def test_the_last_credit_spent_writes_credits_exhausted(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=2)
    hook = await _register(http, ["credits.exhausted"])
    await _finish(http, key, "completed")
    assert await _deliveries(http, hook["webhook_id"]) == []
    await _finish(http, key, "completed")
    got = await _deliveries(http, hook["webhook_id"])
    assert [d["event"]["data"] for d in got] == [
        {"team_id": TEAM, "organization_id": ORG, "credits_remaining": 0}
    ]


async def test_crossing_the_low_balance_threshold_writes_credits_low(
    http: httpx.AsyncClient,
) -> None:
    key = await create_team(http, credits=4, low_balance_threshold=2)
    hook = await _register(http, ["credits.low"])
    await _finish(http, key, "completed")  # 4 -> 3: above the threshold
    assert await _deliveries(http, hook["webhook_id"]) == []
    await _finish(http, key, "completed")  # 3 -> 2: crossed
    await _finish(http, key, "completed")  # 2 -> 1: already below, no second event
    got = await _deliveries(http, hook["webhook_id"])
    assert [d["event"]["data"] for d in got] == [
        {
            "team_id": TEAM,
            "organization_id": ORG,
            "credits_remaining": 2,
            "low_balance_threshold": 2,
        }
    ]


async def test_an_auto_refill_writes_credits_refilled(
    http: httpx.AsyncClient, app: Starlette
) -> None:
    await create_team(http, credits=1)
    hook = await _register(http, ["credits.refilled"])
    r = await http.put(
        f"/api/teams/{TEAM}/auto-refill", json={"amount": 10, "period": "daily", "mode": "add"}
    )
    assert r.status_code == 200, r.text
    await refill_due(_db(app), dt.datetime.now(dt.timezone.utc))
    got = await _deliveries(http, hook["webhook_id"])
    assert [d["event_type"] for d in got] == ["credits.refilled"]
    data = got[0]["event"]["data"]
    assert (data["team_id"], data["organization_id"], data["credits"]) == (TEAM, ORG, 10)


async def test_a_refused_or_repeated_change_writes_no_event(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=1)
    hook = await _register(http)
    job = await _finish(http, key, "completed")
    assert len(await _deliveries(http, hook["webhook_id"])) == 2  # completed, exhausted
    # the same completion again (a replay), the other status (409), a job refused (402)
    r = await http.post(
        f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    assert r.status_code == 200
    r = await http.post(f"/api/jobs/{job}/complete", json={"status": "failed"}, headers=bearer(key))
    assert r.status_code == 409
    r = await http.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": "x"}, headers=bearer(key)
    )
    assert r.status_code == 402
    assert (await http.post(f"/api/teams/{TEAM}/suspend")).status_code == 200
    assert (await http.post(f"/api/teams/{TEAM}/suspend")).status_code == 200  # no change
    assert (await http.post("/api/teams/nope/suspend")).status_code == 404
    got = await _deliveries(http, hook["webhook_id"])
    # one of each: the completion's two events (one transaction), then the suspension
    assert got[0]["event_type"] == "team.suspended"
    assert sorted(d["event_type"] for d in got[1:]) == ["credits.exhausted", "job.completed"]


async def test_a_rolled_back_change_writes_no_event(
    http: httpx.AsyncClient, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event is written in the change's transaction: when something after it fails, the
    change and the event are rolled back together."""
    await create_team(http)
    hook = await _register(http, ["team.suspended"])
    original = webhook_service.team_suspended

    async def then_fail(*args: Any) -> None:
        await original(*args)
        raise RuntimeError("the transaction fails after the event was written")

    monkeypatch.setattr(webhook_service, "team_suspended", then_fail)
    db = _db(app)
    by = Operator("test", dt.datetime.now(dt.timezone.utc))
    with pytest.raises(RuntimeError):
        await team_service.set_status(db, TEAM, "suspended", by)
    assert (await http.get(f"/api/teams/{TEAM}")).json()["status"] == "active"
    assert await _deliveries(http, hook["webhook_id"]) == []
    monkeypatch.setattr(webhook_service, "team_suspended", original)
    await team_service.set_status(db, TEAM, "suspended", by)
    assert [d["event_type"] for d in await _deliveries(http, hook["webhook_id"])] == [
        "team.suspended"
    ]


async def test_an_endpoint_with_an_organization_gets_only_its_events(
    http: httpx.AsyncClient,
) -> None:
    key = await create_team(http)
    other = await create_team(http, team_id="other-team", organization_id="org_other")
    mine = await _register(http, ["job.failed", "team.suspended"], organization_id=ORG)
    every = await _register(http, ["job.failed", "team.suspended"])
    own_job = await _finish(http, key, "failed")
    other_job = await _finish(http, other, "failed", team_id="other-team")
    assert (await http.post("/api/teams/other-team/suspend")).status_code == 200
    got = await _deliveries(http, mine["webhook_id"])
    assert [(d["event_type"], d["event"]["data"].get("job_id")) for d in got] == [
        ("job.failed", own_job)
    ]
    all_got = await _deliveries(http, every["webhook_id"])
    assert [(d["event_type"], d["event"]["data"].get("job_id")) for d in all_got] == [
        ("team.suspended", None),
        ("job.failed", other_job),
        ("job.failed", own_job),
    ]
    assert all_got[0]["event"]["data"] == {
        "team_id": "other-team",
        "organization_id": "org_other",
        "status": "suspended",
    }


async def test_an_abandoned_job_settled_by_the_server_sends_job_failed(
    http: httpx.AsyncClient, app: Starlette
) -> None:
    key = await create_team(http)
    hook = await _register(http, ["job.failed"])
    job = await open_job(http, key)
    assert await settle_abandoned(_db(app), ttl=0) == 1
    got = await _deliveries(http, hook["webhook_id"])
    assert [d["event"]["data"]["job_id"] for d in got] == [job]
    assert got[0]["event"]["data"]["error_message"].startswith("abandoned")


async def test_emit_is_the_api_for_other_events(http: httpx.AsyncClient, app: Starlette) -> None:
    """``credits.refilled`` and ``credits.low`` come with the billing work; ``emit`` writes
    them like any other event."""
    await create_team(http)
    hook = await _register(http, ["credits.refilled"], organization_id=ORG)
    db = _db(app)
    async with db.transaction():
        await db.execute("UPDATE teams SET team_alias = 'x' WHERE team_id = :t", {"t": TEAM})
        written = await webhook_service.emit(
            db, "credits.refilled", {"team_id": TEAM, "credits": 5}, organization_id=ORG
        )
        assert written == 1
        assert (
            await webhook_service.emit(
                db, "credits.refilled", {"team_id": "x"}, organization_id="org_other"
            )
            == 0
        )
    got = await _deliveries(http, hook["webhook_id"])
    assert [(d["event_type"], d["event"]["data"]) for d in got] == [
        ("credits.refilled", {"team_id": TEAM, "credits": 5})
    ]


# --- redelivery --------------------------------------------------------------------------------


async def test_a_retry_requeues_the_delivery_with_its_id(http: httpx.AsyncClient) -> None:
    key = await create_team(http)
    hook = await _register(http, ["job.failed"])
    await _finish(http, key, "failed")
    delivery = (await _deliveries(http, hook["webhook_id"]))[0]
    url = f"/api/webhooks/{hook['webhook_id']}/deliveries/{delivery['delivery_id']}/retry"
    r = await http.post(url)
    assert r.status_code == 200, r.text
    assert r.json()["delivery_id"] == delivery["delivery_id"] and r.json()["status"] == "pending"
    events = (await http.get("/api/audit-log", params={"action": "webhook.delivery_retry"})).json()
    assert events["events"][0]["after"]["delivery_id"] == delivery["delivery_id"]
    # another endpoint's delivery id under this endpoint is not found
    other = await _register(http, ["job.failed"])
    r = await http.post(
        f"/api/webhooks/{other['webhook_id']}/deliveries/{delivery['delivery_id']}/retry"
    )
    assert r.status_code == 404


# --- delivery: signing and the address guard (the worker, driven by hand) ----------------------


class FakeDNS:
    """Plays DNS for ``_addresses``: each look-up of a name answers the next address given."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[tuple[Any, ...]]:
        self.asked.append(host)
        if not self.answers:
            raise OSError(f"{host} does not resolve")
        address = self.answers.pop(0)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]


def _worker(app: Starlette, handler: Callable[[httpx.Request], httpx.Response]) -> DeliveryWorker:
    """The worker of the app's runtime, sending through ``handler`` instead of the network."""
    worker = DeliveryWorker(app.state.runtime)
    worker._client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return worker


async def test_a_delivery_is_signed_and_sent_to_the_address_that_was_checked(
    http: httpx.AsyncClient, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name is resolved at delivery, the address checked, and the request goes to that
    address with the name in Host and TLS's server name; the signature verifies with the
    standardwebhooks package."""
    dns = FakeDNS("93.184.215.14")
    monkeypatch.setattr(addresses, "_lookup", dns)
    key = await create_team(http)
    r = await http.post(
        "/api/webhooks", json={"url": "https://hooks.example.com:8443/in?x=1", "events": ALL}
    )
    assert r.status_code == 201, r.text
    hook = r.json()
    assert dns.asked == ["hooks.example.com"]  # checked at registration
    dns.answers = ["93.184.215.14"]
    job = await _finish(http, key, "failed")
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, text="thanks" + "!" * 5000 + "\x00")

    worker = _worker(app, receiver)
    assert await worker.tick() == 1
    (request,) = seen
    assert str(request.url) == "https://93.184.215.14:8443/in?x=1"
    assert request.headers["host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    event = Webhook(hook["secret"]).verify(request.content, dict(request.headers))
    assert event["type"] == "job.failed" and event["data"]["job_id"] == job
    (delivery,) = await _deliveries(http, hook["webhook_id"])
    assert request.headers["webhook-id"] == delivery["delivery_id"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
        "succeeded",
        1,
        202,
    )
    assert delivery["last_response"] == "thanks" + "!" * (MAX_RESPONSE_CHARS - 6)
    assert await worker.tick() == 0  # delivered: never claimed again


async def test_a_name_rebound_to_a_private_address_is_refused_at_delivery(
    http: httpx.AsyncClient, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Public when registered, loopback when delivered (DNS rebinding): nothing is sent."""
    dns = FakeDNS("93.184.215.14")
    monkeypatch.setattr(addresses, "_lookup", dns)
    key = await create_team(http)
    r = await http.post("/api/webhooks", json={"url": "http://rebind.example/x", "events": ALL})
    assert r.status_code == 201, r.text
    dns.answers = ["127.0.0.1"]
    await _finish(http, key, "failed")
    seen: list[httpx.Request] = []
    worker = _worker(app, lambda request: seen.append(request) or httpx.Response(200))
    assert await worker.tick() == 1
    assert seen == []
    (delivery,) = await _deliveries(http, r.json()["webhook_id"])
    assert delivery["status"] == "pending" and delivery["attempts"] == 1
    assert delivery["last_error"].startswith(
        "refused: rebind.example (which resolves to 127.0.0.1)"
    )
    assert delivery["next_attempt_at"] is not None


async def test_a_failed_attempt_is_retried_later_and_given_up_after_the_window(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url,
        webhooks_deliver=False,
        webhooks_retry_base_seconds=0.01,
        webhooks_retry_max_interval_seconds=0.01,
        # long enough for a second attempt on a loaded machine, short enough to give up
        webhooks_retry_window_seconds=2.0,
        _env_file=None,
    )
    monkeypatch.setattr(addresses, "_lookup", FakeDNS(*["93.184.215.14"] * 1000))
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        key = await create_team(http)
        hook = await _register(http, ["job.failed"])
        await _finish(http, key, "failed")
        worker = _worker(app, lambda request: httpx.Response(500, text="down"))
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            (delivery,) = await _deliveries(http, hook["webhook_id"])
            if delivery["status"] != "pending":
                break
            assert asyncio.get_running_loop().time() < deadline, delivery
            await worker.tick()
            await asyncio.sleep(0.01)
        assert delivery["status"] == "failed" and delivery["attempts"] >= 2
        assert (delivery["last_status_code"], delivery["last_response"]) == (500, "down")
        assert delivery["next_attempt_at"] is None
        listed = (await http.get("/api/webhooks")).json()["webhooks"]
        assert listed[0]["failing_since"] is not None and listed[0]["status"] == "active"


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    waits = [backoff(n, base=5, cap=3600) for n in range(1, 14)]
    for n, wait in enumerate(waits, start=1):
        expected = min(5 * 2 ** (n - 1), 3600)
        assert 0.75 * expected <= wait <= 1.25 * expected
    assert backoff(10_000, base=5, cap=3600) <= 4500  # no overflow, still capped


async def test_the_maintenance_sweep_forgets_old_finished_deliveries(
    http: httpx.AsyncClient, app: Starlette
) -> None:
    key = await create_team(http)
    hook = await _register(http, ["job.failed"])
    for _ in range(3):
        await _finish(http, key, "failed")
    db = _db(app)
    rows = await _deliveries(http, hook["webhook_id"])
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=31)
    for delivery_id, status in zip([d["delivery_id"] for d in rows], ["succeeded", "failed"]):
        await db.execute(
            webhook_deliveries.update()
            .where(webhook_deliveries.c.delivery_id == delivery_id)
            .values(status=status, created_at=old)
        )
    await db.execute(  # old, but still to be sent: kept
        webhook_deliveries.update()
        .where(webhook_deliveries.c.delivery_id == rows[2]["delivery_id"])
        .values(created_at=old)
    )
    await maintenance_tick(app.state.runtime)
    assert [d["delivery_id"] for d in await _deliveries(http, hook["webhook_id"])] == [
        rows[2]["delivery_id"]
    ]


async def test_a_worker_stopped_mid_delivery_hands_its_claim_back(
    http: httpx.AsyncClient, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On shutdown the unfinished delivery is released at once, for the next process to send
    without waiting for the lease to run out."""
    monkeypatch.setattr(addresses, "_lookup", FakeDNS(*["93.184.215.14"] * 3))
    key = await create_team(http)
    hook = await _register(http, ["job.failed"])
    await _finish(http, key, "failed")
    entered = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        entered.set()
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    worker = DeliveryWorker(app.state.runtime)
    worker._client = httpx.AsyncClient(transport=httpx.MockTransport(hang))
    task = asyncio.create_task(worker.tick())
    await asyncio.wait_for(entered.wait(), 10)
    rows = await _db(app).fetch_all(sa.select(webhook_deliveries.c.lease_token))
    assert [r["lease_token"] is not None for r in rows] == [True]  # claimed
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    rows = await _db(app).fetch_all(sa.select(webhook_deliveries.c.lease_token))
    assert [r["lease_token"] for r in rows] == [None]
    (delivery,) = await _deliveries(http, hook["webhook_id"])
    assert (delivery["status"], delivery["attempts"]) == ("pending", 0)
    # the next worker sends it at once
    sent: list[httpx.Request] = []
    other = _worker(app, lambda request: sent.append(request) or httpx.Response(200))
    assert await other.tick() == 1 and len(sent) == 1


async def test_a_redirect_is_a_failed_attempt_not_followed(
    http: httpx.AsyncClient, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(addresses, "_lookup", FakeDNS(*["93.184.215.14"] * 3))
    key = await create_team(http)
    hook = await _register(http, ["job.failed"])
    await _finish(http, key, "failed")
    sent: list[httpx.Request] = []

    def redirect(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(307, headers={"Location": "http://127.0.0.1:8003/api/teams"})

    assert await _worker(app, redirect).tick() == 1
    assert [str(r.url) for r in sent] == [PUBLIC]  # once: the Location was not followed
    (delivery,) = await _deliveries(http, hook["webhook_id"])
    assert (delivery["status"], delivery["last_status_code"]) == ("pending", 307)


async def test_stopping_the_worker_abandons_the_attempt_at_once_and_hands_it_back(
    http: httpx.AsyncClient, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(addresses, "_lookup", FakeDNS(*["93.184.215.14"] * 3))
    key = await create_team(http)
    await _register(http, ["job.failed"])
    await _finish(http, key, "failed")
    entered = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        entered.set()
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    worker = DeliveryWorker(app.state.runtime)
    worker._client = httpx.AsyncClient(transport=httpx.MockTransport(hang))
    worker.start()
    await asyncio.wait_for(entered.wait(), 10)
    started = asyncio.get_running_loop().time()
    await worker.aclose()
    assert asyncio.get_running_loop().time() - started < 2
    rows = await _db(app).fetch_all(sa.select(webhook_deliveries))
    assert [(r["lease_token"], r["attempts"], r["status"]) for r in rows] == [(None, 0, "pending")]
