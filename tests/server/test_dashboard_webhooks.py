"""The dashboard's webhook pages (dashboard/webhooks.py) over httpx, on SQLite and PostgreSQL, in
local-dev mode (the sign-in is tested in test_dashboard_security.py): the list, a webhook's
deliveries, a delivery sent again, a removal; an endpoint registered from the form (its secret
shown once, never again, in no URL or log; bad input shown and nothing registered; CSRF; a
hostile URL as text); a test event sent from the page, its delivery's columns as the worker
(driven by hand) fails and then delivers it."""

from __future__ import annotations

import base64
import datetime as dt
import html
import logging
import re
import socket
from typing import Any

import httpx
import pytest
from dashboard_client import Dash, cells, submitted_forms
from starlette.applications import Starlette
from support import ORG, bearer, create_team, live_server, open_job

from saas_litellm_models import WEBHOOK_EVENT_TYPES
from saas_litellm_server import Settings, create_app
from saas_litellm_server._logging import QUIET_LOGGERS
from saas_litellm_server.services import _addresses as addresses
from saas_litellm_server.services.webhook_delivery import DeliveryWorker
from saas_litellm_server.store import webhooks_sql
from saas_litellm_server.store.schema import webhooks as webhooks_table


async def test_webhooks_list_deliveries_redeliver_and_remove(http: httpx.AsyncClient) -> None:
    dash = Dash(http)
    key = await create_team(http, credits=5)
    r = await http.post(
        "/api/webhooks",
        json={"url": "https://93.184.215.14/<b>hooks</b>", "events": ["job.failed"]},
    )
    assert r.status_code == 201, r.text
    hook = r.json()
    job = await open_job(http, key)
    r = await http.post(f"/api/jobs/{job}/complete", json={"status": "failed"}, headers=bearer(key))
    assert r.status_code == 200, r.text

    page = await dash.get("/admin/webhooks")
    assert cells(page, "webhooks")[0][:4] == [
        "https://93.184.215.14/hooks",  # shown as text: the tags are the URL's, escaped
        "job.failed",
        "all",
        "active",
    ]
    assert "&lt;b&gt;" in (await http.get("/admin/webhooks")).text
    assert hook["secret"] not in page and hook["secret"][6:] not in page
    detail = await dash.get(f"/admin/webhooks/{hook['webhook_id']}")
    ((_created, event, delivery_id, status, *_),) = cells(detail, "deliveries")
    assert (event, status) == ("job.failed", "pending") and delivery_id.startswith("msg_")
    assert hook["secret"] not in detail

    r = await dash.post(f"/admin/webhooks/{hook['webhook_id']}/deliveries/{delivery_id}/retry", {})
    assert r.headers["location"].endswith("done=redelivered")
    events = (await http.get("/api/audit-log", params={"action": "webhook.delivery_retry"})).json()
    assert events["events"][0]["actor"].startswith("dashboard:")
    filtered = await dash.get(f"/admin/webhooks/{hook['webhook_id']}?status=succeeded")
    assert cells(filtered, "deliveries") == [["No deliveries succeeded."]]
    await dash.get(f"/admin/webhooks/{hook['webhook_id']}?status=nope", status=400)
    await dash.get("/admin/webhooks/wh_nope", status=404)
    await dash.get("/admin/webhooks/" + "wh_" + "0" * 24, status=404)
    await dash.post(f"/admin/webhooks/wh_{'0' * 24}/deliveries/msg_%00/retry", {}, status=404)

    r = await dash.post(f"/admin/webhooks/{hook['webhook_id']}/remove", {})
    assert r.headers["location"].endswith("done=webhook-removed")
    assert cells(await dash.get("/admin/webhooks"), "webhooks") == [["No webhooks yet."]]


# --- registering from the browser, the test event, the delivery columns ------------------------

PUBLIC = "https://93.184.215.14/hooks"
SECRET_SHOWN = re.compile(r'id="webhook-secret">([^<]+)<')


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Local-dev mode, the delivery worker off: these tests drive it by hand."""
    return Settings(  # type: ignore[call-arg]
        database_url=database_url, webhooks_deliver=False, _env_file=None
    )


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every name resolves to a public address (nothing is sent: the worker's client is a
    mock)."""

    async def public(host: str, port: int) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    monkeypatch.setattr(addresses, "_lookup", public)


async def _listed(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    hooks: list[dict[str, Any]] = (await http.get("/api/webhooks")).json()["webhooks"]
    return hooks


async def _register(dash: Dash, form: dict[str, Any], status: int = 201) -> httpx.Response:
    await dash.get("/admin/webhooks")
    return await dash.post("/admin/webhooks", form, status=status)


def _worker(app: Starlette, answers: list[int]) -> DeliveryWorker:
    """The app's delivery worker, its endpoint answering each of ``answers`` in turn."""

    def receiver(request: httpx.Request) -> httpx.Response:
        return httpx.Response(answers.pop(0), text="ok")

    worker = DeliveryWorker(app.state.runtime)
    worker._client = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    return worker


async def test_the_register_form_offers_every_event_and_shows_the_secret_once(
    http: httpx.AsyncClient, app: Starlette
) -> None:
    dash = Dash(http)
    await create_team(http)
    page = await dash.get("/admin/webhooks")
    boxes = re.findall(r'name="events" value="([^"]+)"', page)
    assert boxes == list(WEBHOOK_EVENT_TYPES)  # every event a webhook can take, from the models
    assert "webhook.test" not in boxes  # sent on request, not subscribed to
    assert submitted_forms(page)["/admin/webhooks"][1:] == [("url", ""), ("organization_id", "")]

    r = await _register(
        dash,
        {"url": PUBLIC, "events": ["job.completed", "team.suspended"], "organization_id": ORG},
    )
    shown = SECRET_SHOWN.search(r.text)
    assert shown, r.text[:2000]
    secret = shown.group(1)
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert 'data-copy="webhook-secret"' in r.text and "shown once" in r.text
    assert r.headers["cache-control"] == "no-store"
    (hook,) = await _listed(http)
    assert (hook["url"], hook["events"], hook["organization_id"]) == (
        PUBLIC,
        ["job.completed", "team.suspended"],
        ORG,
    )
    assert f'href="/admin/webhooks/{hook["webhook_id"]}"' in r.text
    # the secret shown is the one deliveries are signed with
    db = app.state.runtime.db
    assert await webhooks_sql.get_secret(db, hook["webhook_id"]) == secret
    # and never again: not on any page, not in the API, not in the audit log
    await dash.post(f"/admin/webhooks/{hook['webhook_id']}/test", {})
    for path in [
        "/admin/webhooks",
        f"/admin/webhooks/{hook['webhook_id']}",
        f"/admin/webhooks/{hook['webhook_id']}?done=test-sent",
        "/admin/audit",
        "/admin",
        "/api/webhooks",
        f"/api/webhooks/{hook['webhook_id']}/deliveries",
        "/api/audit-log",
    ]:
        text = (await http.get(path)).text
        assert secret not in text and secret[6:] not in text, path
    (created,) = (await http.get("/api/audit-log", params={"action": "webhook.create"})).json()[
        "events"
    ]
    assert created["actor"].startswith("dashboard:")
    assert created["after"]["webhook_id"] == hook["webhook_id"]


async def test_the_secret_is_in_no_url_or_log(
    settings: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At DEBUG, as ``serve --log-level debug`` configures it (the database drivers, whose
    DEBUG lines carry every query's arguments, kept at WARNING)."""
    caplog.set_level(logging.DEBUG)
    for name in QUIET_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.WARNING)
    with live_server(create_app(settings)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            dash = Dash(http)
            r = await _register(dash, {"url": PUBLIC, "events": ["job.failed"]})
            shown = SECRET_SHOWN.search(r.text)
            assert shown
            secret = shown.group(1)
            (hook,) = await _listed(http)
            page = await dash.get(f"/admin/webhooks/{hook['webhook_id']}")
            links = re.findall(r'(?:href|action|src)="([^"]*)"', r.text + page)
    logged = "\n".join(f"{rec.getMessage()} {rec.__dict__}" for rec in caplog.records)
    assert "/admin/webhooks" in logged  # the access log did see the form post
    assert secret[6:] not in logged
    assert not any(secret[6:] in link for link in [str(r.url), *links])


BAD_FORMS: list[tuple[dict[str, Any], int, str]] = [
    ({"url": "ftp://93.184.215.14/x", "events": ["job.failed"]}, 400, "https://"),
    ({"url": "not a url", "events": ["job.failed"]}, 400, "url"),
    ({"url": "http://user:pw@93.184.215.14/", "events": ["job.failed"]}, 400, "credentials"),
    ({"url": "http://127.0.0.1:8003/api/teams", "events": ["job.failed"]}, 422, "127.0.0.1"),
    ({"url": "http://169.254.169.254/latest", "events": ["job.failed"]}, 422, "169.254.169.254"),
    ({"url": "http://10.0.0.1/", "events": ["job.failed"]}, 422, "10.0.0.1"),
    ({"url": PUBLIC, "events": []}, 400, "Choose at least one event"),
    ({"url": PUBLIC}, 400, "Choose at least one event"),
    ({"url": PUBLIC, "events": ["webhook.test"]}, 400, "events"),
    ({"url": PUBLIC, "events": ["job.nope"]}, 400, "events"),
    ({"url": "", "events": ["job.failed"]}, 400, "url"),
    ({"url": PUBLIC, "events": ["job.failed"], "organization_id": "nope"}, 400, "nope"),
    ({"url": PUBLIC, "events": ["job.failed"], "organization_id": "a b"}, 400, "organization"),
]


async def test_bad_input_is_shown_clearly_and_registers_nothing(
    http: httpx.AsyncClient, public_dns: None
) -> None:
    dash = Dash(http)
    await create_team(http)
    for form, status, says in BAD_FORMS:
        r = await _register(dash, form, status=status)
        message = re.search(r'id="error-message">(.*?)</p>', r.text, re.S)
        assert message, r.text[:1000]
        assert says in html.unescape(message.group(1)), (form, message.group(1))
        assert "whsec_" not in r.text
    assert await _listed(http) == []
    assert (await http.get("/api/audit-log", params={"target": "webhook"})).json()["events"] == []


async def test_a_form_without_the_csrf_token_is_refused(http: httpx.AsyncClient) -> None:
    dash = Dash(http)
    await dash.get("/admin/webhooks")
    hook = (await http.post("/api/webhooks", json={"url": PUBLIC, "events": ["job.failed"]})).json()
    for path, form in [
        ("/admin/webhooks", {"url": PUBLIC, "events": "job.completed"}),
        (f"/admin/webhooks/{hook['webhook_id']}/test", {}),
    ]:
        for bad in [{}, {"csrf": ""}, {"csrf": "wrong"}, {"csrf": dash.csrf[:-2] + "xx"}]:
            r = await http.post(path, data={**form, **bad})
            assert r.status_code == 403, (path, bad)
            assert "CSRF" in r.text and "whsec_" not in r.text
        r = await http.post(
            path, data={**form, "csrf": dash.csrf}, headers={"Origin": "https://evil.example"}
        )
        assert r.status_code == 403, path
    assert [h["webhook_id"] for h in await _listed(http)] == [hook["webhook_id"]]
    deliveries = (await http.get(f"/api/webhooks/{hook['webhook_id']}/deliveries")).json()
    assert deliveries["deliveries"] == []


async def test_a_hostile_url_is_shown_as_text(http: httpx.AsyncClient) -> None:
    dash = Dash(http)
    hostile = 'https://93.184.215.14/<script>alert(1)</script>?q="><img/src=x/onerror=alert(2)>'
    r = await _register(dash, {"url": hostile, "events": ["job.failed"]})
    (hook,) = await _listed(http)
    assert hook["url"] == hostile
    for text in [
        r.text,
        (await http.get("/admin/webhooks")).text,
        (await http.get(f"/admin/webhooks/{hook['webhook_id']}")).text,
    ]:
        assert "<script>alert" not in text and "<img/src=x" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert cells(await dash.get("/admin/webhooks"), "webhooks")[0][0] == re.sub(
        r"<[^>]+>", "", hostile
    )  # the page's text: the tags are the URL's, escaped


async def test_a_test_event_from_the_page_is_listed_and_delivered(
    http: httpx.AsyncClient, app: Starlette, public_dns: None
) -> None:
    dash = Dash(http)
    await _register(dash, {"url": PUBLIC, "events": ["credits.low"]})
    (hook,) = await _listed(http)
    page = f"/admin/webhooks/{hook['webhook_id']}"
    assert 'id="send-test"' in await dash.get(page)
    r = await dash.post(f"{page}/test", {})
    assert r.headers["location"] == f"{page}?done=test-sent"
    shown = await dash.get(r.headers["location"])
    assert "Test event queued" in shown
    ((_created, event, delivery_id, status, attempts, last, response, next_try, _),) = cells(
        shown, "deliveries"
    )
    assert (event, status, attempts, last, response) == ("webhook.test", "pending", "0", "", "")
    assert delivery_id.startswith("msg_") and next_try.endswith("UTC")
    (audited,) = (await http.get("/api/audit-log", params={"action": "webhook.test"})).json()[
        "events"
    ]
    assert audited["actor"].startswith("dashboard:")
    assert audited["after"]["delivery_id"] == delivery_id

    # the endpoint fails it once: status, attempts, the response code and the next try show
    assert await _worker(app, [500]).tick() == 1
    ((_c, _e, _i, status, attempts, last, response, next_try, _),) = cells(
        await dash.get(page), "deliveries"
    )
    assert (status, attempts, response) == ("pending", "1", "HTTP 500")
    assert last.endswith("UTC") and next_try.endswith("UTC")
    # redelivered from the page, it succeeds: no next try
    r = await dash.post(f"{page}/deliveries/{delivery_id}/retry", {})
    assert r.headers["location"] == f"{page}?done=redelivered"
    assert await _worker(app, [204]).tick() == 1
    ((_c, _e, _i, status, attempts, last, response, next_try, _),) = cells(
        await dash.get(page), "deliveries"
    )
    assert (status, attempts, response, next_try) == ("succeeded", "2", "HTTP 204", "")


async def test_no_test_event_for_a_removed_disabled_or_unknown_webhook(
    http: httpx.AsyncClient, app: Starlette
) -> None:
    dash = Dash(http)
    await _register(dash, {"url": PUBLIC, "events": ["job.failed"]})
    (hook,) = await _listed(http)
    page = f"/admin/webhooks/{hook['webhook_id']}"
    await app.state.runtime.db.execute(
        webhooks_table.update()
        .where(webhooks_table.c.webhook_id == hook["webhook_id"])
        .values(status="disabled", disabled_at=dt.datetime.now(dt.timezone.utc))
    )
    assert 'id="send-test"' not in await dash.get(page)  # no button for a disabled endpoint
    r = await dash.post(f"{page}/test", {}, status=409)
    assert "disabled" in html.unescape(r.text)
    await dash.post(f"{page}/remove", {})
    r = await dash.post(f"{page}/test", {}, status=404)
    assert "not found" in r.text
    for bad in ["wh_nope", "wh_" + "0" * 24, "wh_%00", "wh_" + "a" * 3000]:
        await dash.post(f"/admin/webhooks/{bad}/test", {}, status=404)
    assert (await http.get("/api/audit-log", params={"action": "webhook.test"})).json()[
        "events"
    ] == []
