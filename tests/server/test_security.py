"""No key, upstream URL or upstream secret leaks into logs, error bodies or stored errors."""

from __future__ import annotations

import logging

import httpx
import pytest
import sqlalchemy as sa
from conftest import UPSTREAM_KEY
from support import GROUP, TEAM, bearer, create_team

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
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
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
        job = (
            await http.post(
                "/api/jobs/create", json={"team_id": TEAM, "job_type": "x"}, headers=bearer(key)
            )
        ).json()["job_id"]
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
            assert secret not in text, f"{secret!r} leaked into {where}"
