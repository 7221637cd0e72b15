"""Per-team rate limits (services/rate_limits.py), shared by every process on one database."""

from __future__ import annotations

import httpx
import pytest
from support import TEAM, bearer, create_team, ledger

from saas_litellm_server import Settings, create_app

MSG = {"messages": [{"role": "user", "content": "count me"}]}


@pytest.fixture
def settings(database_url: str) -> Settings:
    # an hour-long window: no test can straddle two windows by bad luck
    return Settings(
        database_url=database_url,
        rate_limit_window_seconds=3600,  # type: ignore[call-arg]
        _env_file=None,
    )


async def open_job(http: httpx.AsyncClient, key: str) -> str:
    r = await http.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": "x"}, headers=bearer(key)
    )
    return str(r.json()["job_id"])


async def test_requests_per_window_are_limited(http: httpx.AsyncClient) -> None:
    key = await create_team(http, rpm_limit=3)
    job = await open_job(http, key)
    for _ in range(3):
        r = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(key))
        assert r.status_code == 200
    before = await ledger(http, key)
    r = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(key))
    assert r.status_code == 429
    assert r.json()["error"]["type"] == "rate_limited"
    assert 1 <= int(r.headers["retry-after"]) <= 3600
    assert "3 requests" in r.json()["error"]["message"]
    r = await http.post(f"/api/jobs/{job}/llm-call-stream", json=MSG, headers=bearer(key))
    assert r.status_code == 429  # streams count too, refused before any event
    assert await ledger(http, key) == before  # refused calls are not recorded


async def test_tokens_per_window_are_limited(http: httpx.AsyncClient) -> None:
    key = await create_team(http, tpm_limit=40)
    job = await open_job(http, key)
    spent = 0
    while spent < 40:  # each call is admitted while the window's tokens are under the limit
        r = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(key))
        assert r.status_code == 200
        spent += r.json()["usage"]["total_tokens"]
    r = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(key))
    assert r.status_code == 429 and "40 tokens" in r.json()["error"]["message"]


async def test_tokens_of_streams_and_keyed_calls_count(http: httpx.AsyncClient) -> None:
    # recorded together with the call: a stream's, and one kept for its Idempotency-Key
    key = await create_team(http, tpm_limit=1)
    job = await open_job(http, key)
    r = await http.post(f"/api/jobs/{job}/llm-call-stream", json=MSG, headers=bearer(key))
    assert r.status_code == 200 and "event: done" in r.text
    r = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(key))
    assert r.status_code == 429 and "1 tokens" in r.json()["error"]["message"]
    key = await create_team(http, team_id="keyed", tpm_limit=1)
    r = await http.post(
        "/api/jobs/create", json={"team_id": "keyed", "job_type": "x"}, headers=bearer(key)
    )
    job = r.json()["job_id"]
    headers = {**bearer(key), "Idempotency-Key": "once"}
    r = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=headers)
    assert r.status_code == 200
    r = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=headers)
    assert r.status_code == 200  # the replay is not a call: nothing counted, nothing refused
    r = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(key))
    assert r.status_code == 429 and "1 tokens" in r.json()["error"]["message"]


async def test_limits_are_per_team_and_can_be_changed(http: httpx.AsyncClient) -> None:
    limited = await create_team(http, rpm_limit=1)
    other = await create_team(http, team_id="globex")
    job = await open_job(http, limited)
    assert (
        await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(limited))
    ).status_code == 200
    assert (
        await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(limited))
    ).status_code == 429
    other_job = (
        await http.post(
            "/api/jobs/create", json={"team_id": "globex", "job_type": "x"}, headers=bearer(other)
        )
    ).json()["job_id"]
    for _ in range(3):
        assert (
            await http.post(f"/api/jobs/{other_job}/llm-call", json=MSG, headers=bearer(other))
        ).status_code == 200
    r = await http.post(f"/api/teams/{TEAM}/limits", json={"rpm_limit": 5})
    assert r.status_code == 200 and r.json()["rpm_limit"] == 5
    assert (
        await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(limited))
    ).status_code == 200
    r = await http.post(f"/api/teams/{TEAM}/limits", json={"rpm_limit": None})
    assert r.json()["rpm_limit"] is None


async def test_two_processes_share_one_limit(settings: Settings) -> None:
    """Two app instances on one database (as two server processes would be) share the window."""
    apps = [create_app(settings), create_app(settings)]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://localhost")
            for a in apps
        ]
        try:
            key = await create_team(clients[0], rpm_limit=4)
            job = await open_job(clients[0], key)
            codes = [
                (
                    await clients[i % 2].post(
                        f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(key)
                    )
                ).status_code
                for i in range(6)
            ]
        finally:
            for c in clients:
                await c.aclose()
    assert codes == [200, 200, 200, 200, 429, 429]
