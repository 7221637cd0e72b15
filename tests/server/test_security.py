"""No key, upstream URL or upstream secret leaks into logs, error bodies or stored errors."""

from __future__ import annotations

import logging

import httpx
import pytest
import sqlalchemy as sa
from conftest import UPSTREAM_KEY
from support import GROUP, bearer, create_team, open_job

from saas_litellm_server import Settings, create_app
from saas_litellm_server.store import Database
from saas_litellm_server.store.schema import calls


async def test_secrets_stay_out_of_logs_errors_and_records(
    upstream_settings: Settings, upstream: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = create_app(upstream_settings)
    bodies: list[str] = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        key = await create_team(http)
        await http.post(
            "/api/model-aliases/create",
            json={
                "model_alias": "Flaky",
                "access_groups": [GROUP],
                "deployments": [
                    {"provider": "openai", "model": m}
                    for m in ("error-500", "error-429", "error-400")
                ],
            },
        )
        await http.post(
            "/api/model-aliases/create",
            json={
                "model_alias": "Cut",
                "access_groups": [GROUP],
                "deployments": [{"provider": "openai", "model": "cut"}],
            },
        )
        job = await open_job(http, key)
        for model in ("Flaky", "Cut"):
            for path in ("llm-call", "llm-call-stream"):
                r = await http.post(
                    f"/api/jobs/{job}/{path}",
                    headers=bearer(key),
                    json={"model": model, "messages": [{"role": "user", "content": "x"}]},
                )
                bodies.append(r.text)
        bodies.append((await http.get("/api/credits/balance", headers=bearer(key + "x"))).text)
        bodies.append((await http.get(f"/api/jobs/{job}", headers=bearer(key))).text)
    db = Database(upstream_settings.database_url)
    await db.connect()
    try:
        stored = repr(await db.fetch_all(sa.select(calls.c.error_message)))
    finally:
        await db.disconnect()
    assert "upstream" in " ".join(bodies)  # the errors did happen, and say so in words
    haystacks = {"logs": caplog.text, "bodies": "\n".join(bodies), "stored": stored}
    secrets = [
        key,
        key[3:],
        UPSTREAM_KEY,
        "sk-upstreamsecret123",
        upstream,
        upstream.removeprefix("http://"),
        "10.0.0.1",
    ]
    for where, text in haystacks.items():
        for secret in secrets:
            if where == "logs" and secret == "10.0.0.1":
                continue  # the upstream's own words: operators see them (never a key)
            assert secret not in text, f"{secret!r} leaked into {where}"
    assert "10.0.0.1" in caplog.text  # ...and they do


async def test_an_upstream_echoing_an_odd_key_and_internal_hosts_reaches_no_team(
    database_url: str, upstream: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12 item 5: secrets are redacted by value (a key not shaped like ``sk-…``), and a
    team never sees an internal address, in the response or in its job's stored calls."""
    caplog.set_level(logging.DEBUG)
    upstream_key, admin_key = "upstream-key-7f3a9c", "admin-key-5d1e8b"
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url,
        upstream_base_url=upstream,
        upstream_api_key=upstream_key,
        admin_key=admin_key,
        upstream_timeout=2.0,
        _env_file=None,
    )
    app = create_app(settings)
    seen: list[str] = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        key = await create_team(http, admin=bearer(admin_key))
        r = await http.post(
            "/api/model-aliases/create",
            headers=bearer(admin_key),
            json={
                "model_alias": "Odd",
                "access_groups": [GROUP],
                "deployments": [
                    {"provider": "openai", "model": m} for m in ("error-401", "error-400")
                ],
            },
        )
        assert r.status_code == 201, r.text
        job = await open_job(http, key)
        for path in ("llm-call", "llm-call-stream"):
            r = await http.post(
                f"/api/jobs/{job}/{path}",
                headers=bearer(key),
                json={"model": "Odd", "messages": [{"role": "user", "content": "x"}]},
            )
            seen.append(r.text)
        detail = await http.get(f"/api/jobs/{job}", headers=bearer(key))
        seen.append(detail.text)
        # every surface a team calls: OpenAI's chat, Responses and embeddings, Anthropic's
        r = await http.post(
            "/api/model-aliases/create",
            headers=bearer(admin_key),
            json={
                "model_alias": "OddEmbed",
                "mode": "embedding",
                "access_groups": [GROUP],
                "deployments": [{"provider": "openai", "model": "error-401"}],
            },
        )
        assert r.status_code == 201, r.text
        said = [{"role": "user", "content": "x"}]
        for path, body in (
            ("/v1/chat/completions", {"model": "Odd", "messages": said}),
            ("/v1/chat/completions", {"model": "Odd", "messages": said, "stream": True}),
            ("/v1/responses", {"model": "Odd", "input": "x"}),
            ("/v1/responses", {"model": "Odd", "input": "x", "stream": True}),
            ("/v1/messages", {"model": "Odd", "max_tokens": 16, "messages": said}),
            ("/v1/messages", {"model": "Odd", "max_tokens": 16, "messages": said, "stream": True}),
            ("/v1/embeddings", {"model": "OddEmbed", "input": "x"}),
        ):
            r = await http.post(path, headers=bearer(key), json=body)
            assert r.status_code >= 400 or "error" in r.text or "failed" in r.text, (path, r.text)
            seen.append(r.text)
    calls_seen = detail.json()["calls"]
    assert len(calls_seen) == 2 and all(c["status"] == "failed" for c in calls_seen)
    assert all("Incorrect API key provided" in c["error_message"] for c in calls_seen)
    team_text = "\n".join(seen)
    for leak in (upstream_key, admin_key, "10.1.2.3", "upstream.internal", "10.0.0.1", upstream):
        assert leak not in team_text, f"{leak!r} reached the team"
    for secret in (upstream_key, admin_key, key):
        assert secret not in caplog.text, f"{secret!r} reached the log"
