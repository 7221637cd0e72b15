"""Regression tests for the edges an adversarial pass and a new operator found (issue 26).

Each test names its item. Names (headers, settings) are the contract's, ``API.md`` "Edges".
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from support import TEAM, app_client, bearer, create_team, live_server, open_job

from saas_litellm_server import Settings, create_app
from saas_litellm_server._responses import should_retry

MSG = [{"role": "user", "content": "hi"}]
ADMIN_KEY = "adm-edges-0123456789abcdef0123456789"


# -- item 9: x-should-retry --------------------------------------------------------------------


async def test_item9_errors_say_whether_a_retry_can_fix_them(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=10)
    await http.post(f"/api/teams/{TEAM}/limits", json={"rpm_limit": 1})
    closed = await open_job(http, key)
    await http.post(f"/api/jobs/{closed}/complete", json={"status": "failed"}, headers=bearer(key))
    answers = {
        400: await http.post(
            "/api/jobs/create",
            content=b"{",
            headers={**bearer(key), "Content-Type": "application/json"},
        ),
        401: await http.get("/api/credits/balance"),
        404: await http.get("/api/nowhere"),
        405: await http.delete("/api/credits/balance", headers=bearer(key)),
        409: await http.post(
            f"/api/jobs/{closed}/llm-call", json={"messages": MSG}, headers=bearer(key)
        ),
        413: await http.post("/api/jobs/create", content=b" " * 5_000_000, headers=bearer(key)),
        422: await http.post("/api/jobs/create", json={"team_id": TEAM}, headers=bearer(key)),
    }
    job = await open_job(http, key)
    await http.post(f"/api/jobs/{job}/llm-call", json={"messages": MSG}, headers=bearer(key))
    answers[429] = await http.post(
        f"/api/jobs/{job}/llm-call", json={"messages": MSG}, headers=bearer(key)
    )
    for status, response in answers.items():
        assert response.status_code == status, (status, response.text)
        expected = "true" if status == 429 else "false"
        assert response.headers["x-should-retry"] == expected, status
    assert answers[429].headers["retry-after"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (408, "true"),
        (500, "true"),
        (502, "true"),
        (503, "true"),
        (504, "true"),
        (409, "false"),  # the same Idempotency-Key still running too: the contract's 4xx
        (402, "false"),
        (403, "false"),
        (415, "false"),
        (421, "false"),
    ],
)
def test_item9_the_rule_by_status(status: int, expected: str) -> None:
    assert should_retry(status) == expected


# -- item 11: the front page, trailing slashes, a base URL ending in /v1 ----------------------


async def test_item11_the_root_is_a_page_linking_the_dashboard_and_the_docs(
    http: httpx.AsyncClient,
) -> None:
    r = await http.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for link in ('href="/admin"', 'href="/docs"', 'href="/redoc"'):
        assert link in r.text
    for path in ("/admin", "/docs", "/redoc"):
        assert (await http.get(path, follow_redirects=True)).status_code == 200


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_item11_a_trailing_slash_is_a_404_naming_the_path(
    http: httpx.AsyncClient, method: str
) -> None:
    key = await create_team(http, credits=10)
    path = "/api/jobs/create/" if method == "POST" else "/api/credits/balance/"
    r = await http.request(
        method, path, json={"team_id": TEAM, "job_type": "x"}, headers=bearer(key)
    )
    assert r.status_code == 404
    message = r.json()["error"]["message"]
    assert f"did you mean {path.rstrip('/')} (no trailing slash)?" in message
    assert "did you mean" not in (await http.get("/api/nowhere/")).json()["error"]["message"]


async def test_item11_an_sdk_pointed_at_v1_is_told_the_base_url(http: httpx.AsyncClient) -> None:
    from saas_litellm_client import NotFoundError, SaasLiteLLMClient

    key = await create_team(http, credits=10)
    async with SaasLiteLLMClient(
        "http://localhost/v1", TEAM, key, http_client=http, max_retries=0
    ) as client:
        with pytest.raises(NotFoundError) as info:
            await client.create_job("x")
    message = info.value.message
    assert "the native API is at /api/jobs/create" in message
    assert "base_url" in message and "without /v1" in message


# -- item 2: brute force -----------------------------------------------------------------------


def _from(app: Starlette, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)),
        base_url="http://localhost",
    )


@pytest.fixture
async def locked_app(database_url: str) -> AsyncIterator[Starlette]:
    settings = Settings(
        database_url=database_url, admin_key=ADMIN_KEY, metrics=True, _env_file=None
    )  # type: ignore[call-arg]
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def test_item2_ten_wrong_admin_keys_lock_the_address_out(locked_app: Starlette) -> None:
    async with (
        _from(locked_app, "203.0.113.7") as attacker,
        _from(locked_app, "198.51.100.1") as operator,
    ):
        for i in range(10):
            r = await attacker.get("/api/organizations", headers=bearer(f"adm-guess-{i}"))
            assert r.status_code == 401, i
        r = await attacker.get("/api/organizations", headers=bearer("adm-guess-10"))
        assert r.status_code == 429 and r.json()["error"]["type"] == "rate_limited"
        assert 1 <= int(r.headers["retry-after"]) <= 60
        # the right key from the same address is refused alike: a guess must not tell
        r = await attacker.get("/api/organizations", headers=bearer(ADMIN_KEY))
        assert r.status_code == 429
        # on a team endpoint too (the admin key there would be a 403, telling it apart)
        r = await attacker.get("/api/credits/balance", headers=bearer(ADMIN_KEY))
        assert r.status_code == 429
        # from elsewhere the right key works at once
        r = await operator.get("/api/organizations", headers=bearer(ADMIN_KEY))
        assert r.status_code == 200
        key = await create_team(operator, credits=5, admin=bearer(ADMIN_KEY))
        # a team's valid key is never refused, whatever its address did
        r = await attacker.get("/api/credits/balance", headers=bearer(key))
        assert r.status_code == 200
        metrics = (await operator.get("/metrics", headers=bearer(ADMIN_KEY))).text
    assert 'saas_litellm_auth_failures_total{outcome="failed"} 10.0' in metrics
    assert 'saas_litellm_auth_failures_total{outcome="refused"} 3.0' in metrics


async def test_item2_wrong_virtual_keys_count_too(locked_app: Starlette) -> None:
    async with _from(locked_app, "203.0.113.8") as attacker:
        for i in range(10):
            r = await attacker.get("/api/credits/balance", headers=bearer(f"sk-guess-{i}"))
            assert r.status_code == 401
        r = await attacker.get("/api/organizations", headers=bearer(ADMIN_KEY))
        assert r.status_code == 429


async def test_item2_the_login_form_locks_out_too(locked_app: Starlette) -> None:
    async with (
        _from(locked_app, "203.0.113.9") as attacker,
        _from(locked_app, "198.51.100.2") as operator,
    ):
        origin = {"Origin": "http://localhost"}
        for i in range(10):
            r = await attacker.post(
                "/admin/login", data={"admin_key": f"guess-{i}"}, headers=origin
            )
            assert r.status_code == 401
        r = await attacker.post("/admin/login", data={"admin_key": ADMIN_KEY}, headers=origin)
        assert r.status_code == 429 and "too many failed authentications" in r.text
        assert int(r.headers["retry-after"]) >= 1
        r = await operator.post("/admin/login", data={"admin_key": ADMIN_KEY}, headers=origin)
        assert r.status_code == 303


# -- item 5: local-dev mode cannot be driven from a web page -----------------------------------


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8003", "127.0.0.1.nip.io", "10.0.0.5"]
)
async def test_item5_local_dev_answers_only_loopback_host_names(
    http: httpx.AsyncClient, host: str
) -> None:
    for method, path in [("GET", "/health"), ("GET", "/admin"), ("GET", "/api/organizations")]:
        r = await http.request(method, path, headers={"Host": host})
        assert r.status_code == 421, (path, r.text)
        assert r.json()["error"]["type"] == "misdirected_request"
        assert 'name="csrf"' not in r.text
    r = await http.post(
        "/api/organizations/create",
        json={"organization_id": "o-rebound", "name": "x"},
        headers={"Host": host},
    )
    assert r.status_code == 421
    listed = (await http.get("/api/organizations")).json()["organizations"]
    assert listed == []


@pytest.mark.parametrize(
    "host",
    ["localhost", "localhost:8003", "127.0.0.1:8003", "127.9.9.9", "[::1]:8003", "app.localhost"],
)
async def test_item5_loopback_names_are_answered(http: httpx.AsyncClient, host: str) -> None:
    assert (await http.get("/health", headers={"Host": host})).status_code == 200


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_item5_with_an_admin_key_any_host_is_answered(http: httpx.AsyncClient) -> None:
    assert (await http.get("/health", headers={"Host": "api.example.com"})).status_code == 200


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,  # a typeless blob: no header at all
        "application/jsonp",
    ],
)
async def test_item5_a_body_that_is_not_json_typed_is_415_and_changes_nothing(
    http: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    body = b'{"organization_id": "o-csrf", "name": "x"}'
    r = await http.post("/api/organizations/create", content=body, headers=headers)
    assert r.status_code == 415, r.text
    assert r.json()["error"]["type"] == "unsupported_media_type"
    assert r.headers["x-should-retry"] == "false"
    assert (await http.get("/api/organizations")).json()["organizations"] == []


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/merge-patch+json"],
)
async def test_item5_json_types_are_accepted(http: httpx.AsyncClient, content_type: str) -> None:
    body = b'{"organization_id": "o-json", "name": "x"}'
    r = await http.post(
        "/api/organizations/create", content=body, headers={"Content-Type": content_type}
    )
    assert r.status_code == 201, r.text


async def test_item5_the_dashboard_checks_origin_against_its_own_origins(
    http: httpx.AsyncClient,
) -> None:
    page = (await http.get("/admin/organizations")).text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None
    form = {"csrf": token.group(1), "organization_id": "o-dash", "name": "x"}
    for origin in ["http://evil.example", "http://localhost.evil.example", "http://localhost:9999"]:
        r = await http.post("/admin/organizations", data=form, headers={"Origin": origin})
        assert r.status_code == 403, origin
    assert (await http.get("/api/organizations")).json()["organizations"] == []
    # another loopback name of this server is its own origin
    r = await http.post("/admin/organizations", data=form, headers={"Origin": "http://127.0.0.1"})
    assert r.status_code == 303


# -- item 4: trusted proxies -------------------------------------------------------------------


@pytest.fixture
async def proxied_app(database_url: str) -> AsyncIterator[Starlette]:
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url,
        admin_key=ADMIN_KEY,
        trusted_proxies="10.0.0.0/8, 192.0.2.1",
        _env_file=None,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def test_item4_x_forwarded_for_counts_only_from_a_trusted_proxy(
    proxied_app: Starlette,
) -> None:
    async with (
        _from(proxied_app, "10.1.2.3") as proxy,
        _from(proxied_app, "203.0.113.50") as direct,
    ):
        for i in range(10):
            r = await proxy.get(
                "/api/organizations",
                headers={**bearer(f"adm-guess-{i}"), "X-Forwarded-For": "198.51.100.7"},
            )
            assert r.status_code == 401
        # the client behind the proxy is locked out, not the proxy
        r = await proxy.get(
            "/api/organizations", headers={**bearer(ADMIN_KEY), "X-Forwarded-For": "198.51.100.7"}
        )
        assert r.status_code == 429
        r = await proxy.get(
            "/api/organizations", headers={**bearer(ADMIN_KEY), "X-Forwarded-For": "198.51.100.8"}
        )
        assert r.status_code == 200
        # an untrusted peer's X-Forwarded-For is ignored: it cannot pose as someone else
        for i in range(10):
            r = await direct.get(
                "/api/organizations",
                headers={**bearer(f"adm-guess-{i}"), "X-Forwarded-For": f"198.51.100.{100 + i}"},
            )
            assert r.status_code == 401
        r = await direct.get(
            "/api/organizations", headers={**bearer(ADMIN_KEY), "X-Forwarded-For": "198.51.100.9"}
        )
        assert r.status_code == 429


async def test_item4_the_cookie_is_secure_when_a_trusted_proxy_says_https(
    proxied_app: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    login = {"admin_key": ADMIN_KEY}
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.20"}
    async with _from(proxied_app, "192.0.2.1") as proxy, _from(proxied_app, "192.0.2.2") as other:
        with caplog.at_level("INFO", logger="saas_litellm_server.access"):
            r = await proxy.post("/admin/login", data=login, headers=https)
        assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()
        assert any("198.51.100.20" in str(rec.__dict__) for rec in caplog.records)
        r = await other.post("/admin/login", data=login, headers=https)
        assert r.status_code == 303 and "secure" not in r.headers["set-cookie"].lower()


def test_item4_trusted_proxies_must_be_addresses_or_networks() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="not an IP address or network"):
        Settings(trusted_proxies="10.0.0.0/8,proxy.internal", _env_file=None)  # type: ignore[call-arg]


# -- item 1: webhooks to slow names delay nobody's LLM calls -----------------------------------


def test_item1_webhooks_to_slow_resolving_names_delay_no_llm_call(
    database_url: str, upstream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two webhooks to names whose DNS server does not answer, 200 events: while the worker's
    lookups hang, forty LLM calls whose upstream is a name (``localhost``: resolved on the
    call's path) all answer 200. Served on asyncio's loop, whose resolver threads the test can
    slow down; the fix is the same for uvloop's (the webhooks resolve in threads of their own)."""
    real = socket.getaddrinfo
    slow = threading.Event()

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".slow.test") and slow.is_set():
            time.sleep(3)  # the DNS server never answers; the system gives up
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    port = upstream.rsplit(":", 1)[1]
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url,
        upstream_base_url=f"http://localhost:{port}",
        upstream_api_key="sk-upstream",
        upstream_timeout=2.0,
        webhooks_poll_seconds=0.2,
        _env_file=None,
    )
    with (
        live_server(create_app(settings), settings, loop="asyncio") as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        for path, body in [
            ("/api/organizations/create", {"organization_id": "o", "name": "o"}),
            ("/api/model-access-groups/create", {"group_name": "g"}),
            (
                "/api/model-aliases/create",
                {
                    "model_alias": "Chat",
                    "access_groups": ["g"],
                    "deployments": [{"provider": "openai", "model": "echo"}],
                },
            ),
            ("/api/webhooks", {"url": "http://hook-a.slow.test/in", "events": ["job.failed"]}),
            ("/api/webhooks", {"url": "http://hook-b.slow.test/in", "events": ["job.failed"]}),
        ]:
            assert http.post(path, json=body).status_code == 201, path
        slow.set()
        created = http.post(
            "/api/teams/create",
            json={
                "organization_id": "o",
                "team_id": "t",
                "access_groups": ["g"],
                "credits_allocated": 1000,
            },
        )
        key = bearer(created.json()["virtual_key"])
        for _ in range(100):  # 100 failed jobs: 200 deliveries, 16 lookups at a time
            job = http.post("/api/jobs/create", json={"team_id": "t", "job_type": "x"}, headers=key)
            done = http.post(
                f"/api/jobs/{job.json()['job_id']}/complete", json={"status": "failed"}, headers=key
            )
            assert done.status_code == 200

        async def calls() -> list[int]:
            async with httpx.AsyncClient(base_url=url, timeout=30, headers=key) as client:
                body = {"model": "Chat", "messages": [{"role": "user", "content": "hi"}]}
                answers = await asyncio.gather(
                    *(client.post("/v1/chat/completions", json=body) for _ in range(40))
                )
            return [a.status_code for a in answers]

        statuses = asyncio.run(calls())
        hooks = http.get("/api/webhooks").json()["webhooks"]
    assert statuses == [200] * 40, Counter(statuses)
    assert len(hooks) == 2


# -- item 7: the config file manages what it declares ------------------------------------------

CONFIG = """
[[access_groups]]
group_name = "cfg-group"
description = "from the file"

[[model_aliases]]
model_alias = "CfgChat"
access_groups = ["cfg-group"]

[[model_aliases.deployments]]
provider = "mock"
model = "m1"
input_cost_per_million = 1.0
output_cost_per_million = 2.0
timeout = 3
"""


async def test_item7_what_the_config_declares_refuses_edits_and_its_changes_are_audited(
    settings: Settings, tmp_path: Path
) -> None:
    config = tmp_path / "models.toml"
    config.write_text(CONFIG)
    managed = settings.model_copy(update={"config": config})
    async with app_client(managed) as (_app, http):
        events = (await http.get("/api/audit-log", params={"actor": "config"})).json()["events"]
        assert sorted(e["action"] for e in events) == [
            "model_access_group.create",
            "model_alias.create",
        ]
        # an edit from the API is refused with the file's name, and changes nothing
        r = await http.patch(
            "/api/model-aliases/CfgChat",
            json={
                "deployments": [{"provider": "mock", "model": "m1", "input_cost_per_million": 9}]
            },
        )
        assert r.status_code == 409 and str(config) in r.json()["error"]["message"]
        assert (await http.delete("/api/model-aliases/CfgChat")).status_code == 409
        r = await http.patch("/api/model-access-groups/cfg-group", json={"description": "x"})
        assert r.status_code == 409
        assert (await http.delete("/api/model-access-groups/cfg-group")).status_code == 409
        alias = (await http.get("/api/model-aliases/CfgChat")).json()
        assert alias["deployments"][0]["input_cost_per_million"] == 1.0
        # the dashboard's form saved as it is changes nothing, so it is not refused
        r = await http.post(
            "/admin/models/aliases/CfgChat",
            data={
                "csrf": await _csrf(http),
                "access_groups": "cfg-group",
                "provider": "mock",
                "model": "m1",
                "input_cost_per_million": "1.0",
                "output_cost_per_million": "2.0",
                "timeout": "3",
            },
        )
        assert r.status_code == 303, r.text[:500]
        # an alias the file does not declare is the API's to edit
        r = await http.post(
            "/api/model-aliases/create",
            json={"model_alias": "Free", "deployments": [{"provider": "mock", "model": "m"}]},
        )
        assert r.status_code == 201
    # the file changed: the next start applies it, audited as the config's change
    config.write_text(
        CONFIG.replace("input_cost_per_million = 1.0", "input_cost_per_million = 1.5")
    )
    async with app_client(managed) as (_app, http):
        alias = (await http.get("/api/model-aliases/CfgChat")).json()
        assert alias["deployments"][0]["input_cost_per_million"] == 1.5
        events = (await http.get("/api/audit-log", params={"actor": "config"})).json()["events"]
        assert events[0]["action"] == "model_alias.update"
        assert events[0]["after"]["deployments"][0]["input_cost_per_million"] == 1.5
        assert len(events) == 3  # the same file again changes nothing: no event
    # a start without the file: nothing is managed any more
    async with app_client(settings) as (_app, http):
        r = await http.patch("/api/model-access-groups/cfg-group", json={"description": "x"})
        assert r.status_code == 200


async def _csrf(http: httpx.AsyncClient) -> str:
    page = (await http.get("/admin/models")).text
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)
