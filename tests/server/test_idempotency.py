"""Idempotency keys on the server (services/idempotency.py, routes/_idempotency.py)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import sqlalchemy as sa
from support import GROUP, TEAM, app_client, bearer, create_team, ledger, open_job

from saas_litellm_server import Settings, create_app
from saas_litellm_server.store import Database
from saas_litellm_server.store.schema import idempotency_keys

MSG = {"messages": [{"role": "user", "content": "once only"}]}


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def test_a_repeated_llm_call_is_replayed_not_rerun(http: httpx.AsyncClient) -> None:
    team_key = await create_team(http)
    job = await open_job(http, team_key)
    headers = {**bearer(team_key), **key("call-1")}
    first = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=headers)
    again = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    detail = (await http.get(f"/api/jobs/{job}", headers=bearer(team_key))).json()
    assert len(detail["calls"]) == 1


async def test_repeated_create_and_complete_move_the_ledger_once(http: httpx.AsyncClient) -> None:
    team_key = await create_team(http, credits=5)
    create = {**bearer(team_key), **key("create-1")}
    jobs = [
        await http.post("/api/jobs/create", json={"team_id": TEAM, "job_type": "x"}, headers=create)
        for _ in range(3)
    ]
    assert len({r.json()["job_id"] for r in jobs}) == 1
    job = jobs[0].json()["job_id"]
    before = await ledger(http, team_key)
    assert before["balance"]["credits_reserved"] == 1
    r = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(team_key))
    assert r.status_code == 200  # with a successful call, completing the job costs its credit
    done = {**bearer(team_key), **key("complete-1")}
    results = [
        await http.post(f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=done)
        for _ in range(3)
    ]
    assert len({r.text for r in results}) == 1
    after = await ledger(http, team_key)
    assert (after["balance"]["credits_used"], after["balance"]["credits_reserved"]) == (1, 0)


async def test_same_key_different_body_is_422(http: httpx.AsyncClient) -> None:
    team_key = await create_team(http, credits=5)
    headers = {**bearer(team_key), **key("k")}
    r = await http.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": "a"}, headers=headers
    )
    assert r.status_code == 201
    r = await http.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": "b"}, headers=headers
    )
    assert r.status_code == 422 and r.json()["error"]["param"] == "Idempotency-Key"
    # the same body with its keys in another order is the same request
    r = await http.post(
        "/api/jobs/create",
        content=b'{"job_type": "a", "team_id": "acme-corp"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 201 and r.headers["idempotent-replayed"] == "true"


async def test_keys_are_per_team(http: httpx.AsyncClient) -> None:
    a = await create_team(http)
    b = await create_team(http, team_id="globex")
    ra = await http.post(
        "/api/jobs/create",
        json={"team_id": TEAM, "job_type": "x"},
        headers={**bearer(a), **key("shared")},
    )
    rb = await http.post(
        "/api/jobs/create",
        json={"team_id": "globex", "job_type": "x"},
        headers={**bearer(b), **key("shared")},
    )
    assert ra.status_code == rb.status_code == 201
    assert "idempotent-replayed" not in rb.headers


async def test_client_errors_are_kept_but_server_errors_are_not(
    upstream_settings: Settings, upstream: str
) -> None:
    async with app_client(upstream_settings) as (_app, http):
        team_key = await create_team(http)
        await http.post(
            "/api/model-aliases/create",
            json={
                "model_alias": "Down",
                "access_groups": [GROUP],
                "deployments": [{"provider": "openai", "model": "error-503"}],
            },
        )
        job = await open_job(http, team_key)
        headers = {**bearer(team_key), **key("retry-me")}
        for _ in range(2):
            r = await http.post(
                f"/api/jobs/{job}/llm-call", json={**MSG, "model": "Down"}, headers=headers
            )
            assert r.status_code == 502 and "idempotent-replayed" not in r.headers
        assert len(httpx.get(f"{upstream}/_stub/requests").json()) == 2  # really retried
        headers = {**bearer(team_key), **key("bad-model")}
        r1 = await http.post(
            f"/api/jobs/{job}/llm-call", json={**MSG, "model": "Nope"}, headers=headers
        )
        r2 = await http.post(
            f"/api/jobs/{job}/llm-call", json={**MSG, "model": "Nope"}, headers=headers
        )
        assert r1.status_code == r2.status_code == 400
        assert r2.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("path", ["llm-call", "llm-call-stream"])
async def test_a_repeat_while_the_first_runs_is_409(
    upstream_settings: Settings, upstream: str, path: str
) -> None:
    app = create_app(upstream_settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost", timeout=30
        ) as http,
    ):
        team_key = await create_team(http)
        await http.post(
            "/api/model-aliases/create",
            json={
                "model_alias": "Slow",
                "access_groups": [GROUP],
                "deployments": [{"provider": "openai", "model": "hang", "timeout": 1.0}],
            },
        )
        job = await open_job(http, team_key)
        headers = {**bearer(team_key), **key("in-flight")}
        body = {**MSG, "model": "Slow"}
        first = asyncio.create_task(
            http.post(f"/api/jobs/{job}/{path}", json=body, headers=headers)
        )
        deadline = time.monotonic() + 10
        while not httpx.get(f"{upstream}/_stub/requests").json():  # the first is upstream now
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        second = await http.post(f"/api/jobs/{job}/{path}", json=body, headers=headers)
        assert second.status_code == 409
        error = second.json()["error"]
        assert (error["type"], error["param"]) == ("conflict", "Idempotency-Key")
        assert second.headers["retry-after"] == "1"
        finished = await first
        if path == "llm-call":
            assert finished.status_code == 504
        else:
            assert finished.text.count("event: error") == 1


async def test_a_replayed_team_create_hands_out_a_fresh_key(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    await create_team(http, team_id="seed")  # organization and group
    body = {"organization_id": "org_acme", "team_id": "t-new", "credits_allocated": 3}
    first = await http.post("/api/teams/create", json=body, headers=key("team-1"))
    again = await http.post("/api/teams/create", json=body, headers=key("team-1"))
    assert first.status_code == again.status_code == 201
    old, new = first.json()["virtual_key"], again.json()["virtual_key"]
    assert old != new
    assert {k: v for k, v in first.json().items() if k not in ("virtual_key", "key_id")} == {
        k: v for k, v in again.json().items() if k not in ("virtual_key", "key_id")
    }
    assert (await http.get("/api/credits/balance", headers=bearer(new))).status_code == 200
    assert (await http.get("/api/credits/balance", headers=bearer(old))).status_code == 401
    db = Database(settings.database_url)
    await db.connect()
    try:
        stored = repr(await db.fetch_all(sa.select(idempotency_keys)))
    finally:
        await db.disconnect()
    assert old not in stored and new not in stored


@pytest.mark.parametrize("bad", ["", "x" * 256, "caf\u00e9"])
async def test_malformed_keys_are_refused(http: httpx.AsyncClient, bad: str) -> None:
    team_key = await create_team(http)
    r = await http.post(
        "/api/jobs/create",
        json={"team_id": TEAM, "job_type": "x"},
        headers={**bearer(team_key), "Idempotency-Key": bad.encode()},
    )  # type: ignore[dict-item]
    assert r.status_code == 422
    assert (await ledger(http, team_key))["balance"]["credits_reserved"] == 0


async def test_an_expired_key_runs_again(settings: Settings) -> None:
    async with app_client(settings.model_copy(update={"idempotency_ttl_seconds": 0.2})) as (
        _app,
        http,
    ):
        team_key = await create_team(http)
        headers = {**bearer(team_key), **key("short-lived")}
        body = {"team_id": TEAM, "job_type": "x"}
        first = await http.post("/api/jobs/create", json=body, headers=headers)
        await asyncio.sleep(0.3)
        second = await http.post("/api/jobs/create", json=body, headers=headers)
        assert first.json()["job_id"] != second.json()["job_id"]


async def test_a_finished_stream_is_replayed_whole(http: httpx.AsyncClient) -> None:
    team_key = await create_team(http)
    job = await open_job(http, team_key)
    headers = {**bearer(team_key), **key("stream-1")}
    first = await http.post(f"/api/jobs/{job}/llm-call-stream", json=MSG, headers=headers)
    again = await http.post(f"/api/jobs/{job}/llm-call-stream", json=MSG, headers=headers)
    assert first.text.count("event: done") == 1
    assert again.text == first.text
    assert again.headers["content-type"].startswith("text/event-stream")
    assert again.headers["idempotent-replayed"] == "true"
    detail = (await http.get(f"/api/jobs/{job}", headers=bearer(team_key))).json()
    assert len(detail["calls"]) == 1


async def test_a_stream_the_client_left_runs_again_on_retry(settings: Settings) -> None:
    from support import live_server

    slow = settings.model_copy(update={"mock_chunk_delay": 0.05})
    with live_server(create_app(slow)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            team_key = await create_team(http)
            job = await open_job(http, team_key)
            headers = {**bearer(team_key), **key("left-early")}
            async with http.stream(
                "POST", f"/api/jobs/{job}/llm-call-stream", json=MSG, headers=headers
            ) as response:
                async for _ in response.aiter_lines():
                    break  # hang up after the first line
            deadline = time.monotonic() + 10
            while True:  # the first attempt is recorded, and its key released
                calls = (await http.get(f"/api/jobs/{job}", headers=bearer(team_key))).json()[
                    "calls"
                ]
                if calls:
                    break
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            retry = await http.post(f"/api/jobs/{job}/llm-call-stream", json=MSG, headers=headers)
            assert "idempotent-replayed" not in retry.headers
            assert retry.text.count("event: done") == 1
            calls = (await http.get(f"/api/jobs/{job}", headers=bearer(team_key))).json()["calls"]
            # the first was cut after its first chunk: cancelled (billed), not replayed
            assert sorted(c["status"] for c in calls) == ["cancelled", "success"]


async def test_credit_grants_and_key_rotations_honour_the_key(http: httpx.AsyncClient) -> None:
    old = await create_team(http, credits=1)
    for _ in range(3):
        r = await http.post(
            f"/api/teams/{TEAM}/credits/add", json={"credits": 5}, headers=key("grant-1")
        )
        assert r.json()["credits_allocated"] == 6
    rotations = [
        await http.post(f"/api/teams/{TEAM}/rotate-key", headers=key("rotate-1")) for _ in range(2)
    ]
    newest = rotations[-1].json()["virtual_key"]
    assert rotations[-1].headers["idempotent-replayed"] == "true"
    assert (await http.get("/api/credits/balance", headers=bearer(newest))).status_code == 200
    assert (await http.get("/api/credits/balance", headers=bearer(old))).status_code == 401


async def test_a_lapsed_lease_is_taken_over_and_the_dead_request_cannot_commit(
    settings: Settings,
) -> None:
    """Issue 12 item 4: a claim is a lease. A request that stopped renewing (it died) loses its
    key once the lease lapses; a retry runs, and the dead request, should it come back, finds
    its token matches nothing: it can neither keep a response nor release the retry's claim."""
    from saas_litellm_server.services import idempotency
    from saas_litellm_server.store import idempotency_sql

    async with app_client(settings.model_copy(update={"idempotency_lease_seconds": 0.3})) as (
        app,
        http,
    ):
        db = app.state.runtime.db
        team_key = await create_team(http)
        body = {"team_id": TEAM, "job_type": "x"}
        path = "/api/jobs/create"
        fingerprint = idempotency.fingerprint("POST", path, json.dumps(body).encode())
        # A request claimed the key, then died (it never renews, finishes or releases).
        dead = await idempotency.begin(db, TEAM, "dies", fingerprint, ttl=3600, lease=0.3)
        assert isinstance(dead, idempotency.Claim)
        headers = {**bearer(team_key), **key("dies")}
        early = await http.post(path, json=body, headers=headers)
        assert early.status_code == 409 and early.headers["retry-after"] == "1"
        assert "still being processed" in early.json()["error"]["message"]
        await asyncio.sleep(0.4)  # the lease lapses
        retried = await http.post(path, json=body, headers=headers)
        assert retried.status_code == 201
        assert not await idempotency_sql.finish(db, TEAM, "dies", dead.token, 201, "{}")
        await idempotency_sql.release(db, TEAM, "dies", dead.token)
        replay = await http.post(path, json=body, headers=headers)
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json() == retried.json()
        assert (await ledger(http, team_key))["balance"]["credits_reserved"] == 1


async def test_a_long_request_keeps_its_key_by_renewing_the_lease(
    upstream_settings: Settings, upstream: str
) -> None:
    """The lease is renewed while the request runs: a call slower than three leases is still
    its key's, and a repeat meanwhile is 409, not a second run."""
    async with app_client(
        upstream_settings.model_copy(update={"idempotency_lease_seconds": 0.3})
    ) as (_app, http):
        team_key = await create_team(http)
        await http.post(
            "/api/model-aliases/create",
            json={
                "model_alias": "Slow",
                "access_groups": [GROUP],
                "deployments": [{"provider": "openai", "model": "sleep-1.6"}],
            },
        )
        job = await open_job(http, team_key)
        headers = {**bearer(team_key), **key("long")}
        body = {**MSG, "model": "Slow"}
        first = asyncio.create_task(
            http.post(f"/api/jobs/{job}/llm-call", json=body, headers=headers)
        )
        await asyncio.sleep(1.0)  # past three leases: still running, still renewed
        repeat = await http.post(f"/api/jobs/{job}/llm-call", json=body, headers=headers)
        assert repeat.status_code == 409
        assert (await first).status_code == 200
        calls = (await http.get(f"/api/jobs/{job}", headers=bearer(team_key))).json()["calls"]
        assert len(calls) == 1


async def test_another_process_sees_a_running_claim_then_replays_its_outcome(
    upstream_settings: Settings, upstream: str
) -> None:
    """Two app instances on one database (two server processes): a request running in one
    holds its key for the other too — 409 while it runs, 422 for another body — and once it
    answered, the other replays that answer; the call is made and recorded once."""
    settings = upstream_settings.model_copy(update={"upstream_timeout": 10.0})
    one, two = create_app(settings), create_app(settings)
    async with (
        one.router.lifespan_context(one),
        two.router.lifespan_context(two),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=one), base_url="http://localhost", timeout=30
        ) as first_process,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=two), base_url="http://localhost", timeout=30
        ) as second_process,
    ):
        team_key = await create_team(first_process)
        created = await first_process.post(
            "/api/model-aliases/create",
            json={
                "model_alias": "Sleepy",
                "access_groups": [GROUP],
                "deployments": [{"provider": "openai", "model": "sleep-1.5", "timeout": 10.0}],
            },
        )
        assert created.status_code == 201, created.text
        job = await open_job(first_process, team_key)
        headers = {**bearer(team_key), **key("two-processes")}
        body = {**MSG, "model": "Sleepy"}
        url = f"/api/jobs/{job}/llm-call"
        running = asyncio.create_task(first_process.post(url, json=body, headers=headers))
        deadline = time.monotonic() + 10
        while not httpx.get(f"{upstream}/_stub/requests").json():  # it is upstream now
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)

        in_flight = await second_process.post(url, json=body, headers=headers)
        assert in_flight.status_code == 409
        assert in_flight.json()["error"]["param"] == "Idempotency-Key"
        assert in_flight.headers["retry-after"] == "1"
        other = await second_process.post(url, json={**body, "temperature": 0}, headers=headers)
        assert other.status_code == 422

        answered = await running
        assert answered.status_code == 200, answered.text
        replayed = await second_process.post(url, json=body, headers=headers)
        assert replayed.status_code == 200
        assert replayed.headers["idempotent-replayed"] == "true"
        assert replayed.json() == answered.json()
        detail = (await second_process.get(f"/api/jobs/{job}", headers=bearer(team_key))).json()
        assert len(detail["calls"]) == 1
        assert len(httpx.get(f"{upstream}/_stub/requests").json()) == 1
