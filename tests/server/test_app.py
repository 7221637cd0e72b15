"""Application wiring (app.py): CORS is off unless configured; liveness and readiness."""

from __future__ import annotations

import httpx
import pytest
from support import app_client, database_behind_proxy

from saas_litellm_server import Settings, __version__, create_app

PREFLIGHT = {
    "Origin": "https://app.example.com",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


async def _preflight(settings: Settings) -> httpx.Response:
    async with app_client(settings) as (_app, http):
        return await http.options("/api/jobs/create", headers=PREFLIGHT)


async def test_cors_is_off_by_default(settings: Settings) -> None:
    r = await _preflight(settings)
    assert "access-control-allow-origin" not in r.headers


async def test_cors_allows_configured_origins_only(settings: Settings) -> None:
    r = await _preflight(settings.model_copy(update={"cors_origins": ["https://app.example.com"]}))
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://app.example.com"
    other = await _preflight(settings.model_copy(update={"cors_origins": ["https://else.io"]}))
    assert other.headers.get("access-control-allow-origin") != "https://app.example.com"


def test_cors_origins_from_the_environment_comma_separated_or_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "SAAS_LITELLM_CORS_ORIGINS", "http://localhost:3000, https://app.example.com"
    )
    expected = ["http://localhost:3000", "https://app.example.com"]
    assert Settings(_env_file=None).cors_origins == expected  # type: ignore[call-arg]
    monkeypatch.setenv("SAAS_LITELLM_CORS_ORIGINS", '["http://localhost:3000"]')
    assert Settings(_env_file=None).cors_origins == ["http://localhost:3000"]  # type: ignore[call-arg]
    monkeypatch.setenv("SAAS_LITELLM_CORS_ORIGINS", "")
    assert Settings(_env_file=None).cors_origins == []  # type: ignore[call-arg]


async def test_health_reports_the_version(http: httpx.AsyncClient) -> None:
    r = await http.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": __version__}


async def test_ready_answers_when_the_database_does(http: httpx.AsyncClient) -> None:
    r = await http.get("/ready")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": __version__}


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_ready_is_503_while_the_database_is_unreachable(database_url: str) -> None:
    with database_behind_proxy(database_url) as (proxy, proxied):
        app = create_app(Settings(database_url=proxied, _env_file=None))  # type: ignore[call-arg]
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://localhost"
            ) as http,
        ):
            assert (await http.get("/ready")).status_code == 200
            proxy.cut()
            r = await http.get("/ready")
            assert r.status_code == 503
            assert r.json()["error"]["type"] == "service_unavailable"
            assert r.headers["Retry-After"] == "1"
            assert (await http.get("/health")).status_code == 200  # the process is fine
            proxy.restore()
            # the pool drops the connections the cut broke, one per attempt: bounded retries
            statuses = []
            while 200 not in statuses and len(statuses) < 25:
                statuses.append((await http.get("/ready")).status_code)
            assert statuses[-1] == 200, statuses
