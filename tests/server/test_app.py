"""Application wiring (app.py): CORS is off unless configured."""

from __future__ import annotations

import httpx

from saas_litellm_server import Settings, create_app

PREFLIGHT = {
    "Origin": "https://app.example.com",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


async def _preflight(settings: Settings) -> httpx.Response:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
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
