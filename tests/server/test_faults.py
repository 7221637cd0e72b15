"""Upstream faults the user sees cleanly, with the ledger intact: malformed upstream answers and
a client that hangs up in the middle of a (non-streamed) call."""

from __future__ import annotations

import asyncio
import socket
import time
from urllib.parse import urlparse

import httpx
import pytest
from support import GROUP, app_client, bearer, create_team, live_server, open_job

from saas_litellm_server import Settings, create_app

MSG = {"messages": [{"role": "user", "content": "x"}]}


@pytest.mark.parametrize("model", ["garbage", "bad-usage"])
async def test_malformed_upstream_answers_are_502s(upstream_settings: Settings, model: str) -> None:
    async with app_client(upstream_settings) as (_app, http):
        key = await create_team(http)
        await http.post(
            "/api/model-aliases/create",
            json={
                "model_alias": "Garbage",
                "access_groups": [GROUP],
                "deployments": [{"provider": "openai", "model": model}],
            },
        )
        job = await open_job(http, key)
        r = await http.post(
            f"/api/jobs/{job}/llm-call", json={**MSG, "model": "Garbage"}, headers=bearer(key)
        )
        assert r.status_code == 502 and "malformed" in r.json()["error"]["message"]
        r = await http.post(
            f"/api/jobs/{job}/llm-call-stream",
            json={**MSG, "model": "Garbage"},
            headers=bearer(key),
        )
        assert r.status_code == 200
        assert r.text.count("event: error") == 1 and "event: done" not in r.text
        done = (
            await http.post(
                f"/api/jobs/{job}/complete", json={"status": "failed"}, headers=bearer(key)
            )
        ).json()
        assert (done["costs"]["total_calls"], done["costs"]["failed_calls"]) == (2, 2)


async def test_client_hanging_up_mid_call_leaves_a_consistent_job(
    upstream_settings: Settings,
) -> None:
    with live_server(create_app(upstream_settings)) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            key = await create_team(http)
            await http.post(
                "/api/model-aliases/create",
                json={
                    "model_alias": "Slow",
                    "access_groups": [GROUP],
                    "deployments": [{"provider": "openai", "model": "hang", "timeout": 0.5}],
                },
            )
            job = await open_job(http, key)
            body = httpx.Request(
                "POST",
                f"{url}/api/jobs/{job}/llm-call",
                json={**MSG, "model": "Slow"},
                headers=bearer(key),
            ).content
            address = urlparse(url)
            with socket.create_connection((address.hostname, address.port)) as raw:
                raw.sendall(
                    f"POST /api/jobs/{job}/llm-call HTTP/1.1\r\nHost: localhost\r\n"
                    f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await asyncio.sleep(0.1)  # the server is now waiting on the upstream
            deadline = time.monotonic() + 10
            while not (detail := (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json())[
                "calls"
            ]:
                assert time.monotonic() < deadline, "the abandoned call was never recorded"
                await asyncio.sleep(0.05)
            assert [c["error_type"] for c in detail["calls"]] == ["upstream_timeout"]
            done = await http.post(
                f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
            )
            assert done.status_code == 200
            # its only call failed: the job completes without spending its credit
            costs = done.json()["costs"]
            assert (costs["credits_remaining"], costs["credit_applied"]) == (1000, False)
            assert costs["credit_reason"] == "no successful call"


async def test_a_plain_call_cut_short_is_still_recorded_once(upstream_settings: Settings) -> None:
    """The recorder writes every call exactly once, also when the request ends while the upstream
    is still working (here: its task is cancelled, as on a server shutdown)."""
    async with app_client(upstream_settings) as (_app, http):
        key = await create_team(http)
        await http.post(
            "/api/model-aliases/create",
            json={
                "model_alias": "Hang",
                "access_groups": [GROUP],
                "deployments": [{"provider": "openai", "model": "hang"}],
            },
        )
        job = await open_job(http, key)
        call = asyncio.create_task(
            http.post(
                f"/api/jobs/{job}/llm-call",
                json={"model": "Hang", "messages": [{"role": "user", "content": "x"}]},
                headers=bearer(key),
            )
        )
        deadline = time.monotonic() + 10
        while not httpx.get(f"{upstream_settings.upstream_base_url}/_stub/requests").json():
            assert time.monotonic() < deadline  # until the upstream has the request
            await asyncio.sleep(0.02)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        calls = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()["calls"]
    assert [(c["status"], c["error_type"]) for c in calls] == [("failed", "cancelled")]
