"""PostgreSQL going away under load (store/_database.py's DatabaseUnavailable → 503).

A TCP proxy between the server and PostgreSQL is cut for a second while clients keep working:
requests during the outage get 503 with Retry-After, the server recovers by itself once the
database is back, and the ledger stays exact: no credit, job or call half-written.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from support import TEAM, app_client, bearer, create_team, database_behind_proxy, open_job

from saas_litellm_server import Settings, create_app
from saas_litellm_server.store import Database

MSG = {"messages": [{"role": "user", "content": "keep going"}]}


async def check_ledger(database_url: str) -> dict[str, int]:
    """The invariants, read straight from PostgreSQL (not through the proxy)."""
    db = Database(database_url)
    await db.connect()
    try:
        team = await db.fetch_one("SELECT * FROM teams WHERE team_id = :t", {"t": TEAM})
        open_jobs = await db.fetch_val(
            "SELECT COUNT(*) FROM jobs WHERE team_id = :t AND status IN ('pending', 'in_progress')",
            {"t": TEAM},
        )
        charged = await db.fetch_val(
            "SELECT COUNT(*) FROM jobs WHERE team_id = :t AND credit_applied", {"t": TEAM}
        )
        unsettled = await db.fetch_val(
            "SELECT COUNT(*) FROM jobs WHERE status IN ('completed', 'failed') "
            "AND credits_remaining_after IS NULL"
        )
        orphans = await db.fetch_val(
            "SELECT COUNT(*) FROM llm_calls c LEFT JOIN jobs j ON j.job_id = c.job_id "
            "WHERE j.job_id IS NULL"
        )
    finally:
        await db.disconnect()
    assert team is not None
    assert team["credits_reserved"] == open_jobs
    assert team["credits_used"] == charged
    assert unsettled == 0 and orphans == 0
    return {
        "used": int(team["credits_used"]),
        "reserved": int(team["credits_reserved"]),
        "open": int(open_jobs),
    }


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_postgres_outage_under_load(database_url: str) -> None:
    with database_behind_proxy(database_url) as (proxy, proxied):
        app = create_app(Settings(database_url=proxied, _env_file=None))  # type: ignore[call-arg]
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://localhost"
            ) as http,
        ):
            key = await create_team(http, credits=10_000)
            statuses: list[int] = []
            retry_after: set[str] = set()
            outage = asyncio.Event()
            done_ops = 0

            async def worker() -> None:
                nonlocal done_ops
                for _ in range(30):
                    responses = []
                    r = await http.post(
                        "/api/jobs/create",
                        json={"team_id": TEAM, "job_type": "load"},
                        headers=bearer(key),
                    )
                    responses.append(r)
                    if r.status_code == 201:
                        job = r.json()["job_id"]
                        responses.append(
                            await http.post(
                                f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(key)
                            )
                        )
                        responses.append(
                            await http.post(
                                f"/api/jobs/{job}/complete",
                                json={"status": "completed"},
                                headers=bearer(key),
                            )
                        )
                    for resp in responses:
                        statuses.append(resp.status_code)
                        if resp.status_code == 503:
                            retry_after.add(resp.headers.get("retry-after", ""))
                            assert resp.json()["error"]["type"] == "service_unavailable"
                    done_ops += len(responses)
                    if done_ops > 60 and not outage.is_set():
                        outage.set()

            async def fault() -> None:
                await outage.wait()
                proxy.cut()
                await asyncio.sleep(1.0)  # the outage lasts one second while the load goes on
                proxy.restore()

            await asyncio.gather(*[worker() for _ in range(6)], fault())

            assert 503 in statuses, "the outage was never seen"
            assert retry_after == {"1"}
            assert set(statuses) <= {200, 201, 503}, sorted(set(statuses))

            recovered_at = time.monotonic()
            while (await http.get("/api/credits/balance", headers=bearer(key))).status_code != 200:
                assert time.monotonic() - recovered_at < 10, "the server did not recover"
                await asyncio.sleep(0.05)
            ledger = await check_ledger(database_url)
            assert ledger["used"] > 0


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_keys_held_through_a_postgres_cut_get_their_real_outcome(
    database_url: str,
) -> None:
    """Issue 12 item 4: PostgreSQL is cut while requests hold Idempotency-Keys (creates, calls,
    completions in flight). Every key is retried until it answers: each resolves within seconds
    of the database's return, to its real outcome — one job per create key, one call per call
    key, one charge per completed job, never two. A call whose record was lost with the
    database (its request answered 503, outcome unknown, and its key ran it again) is recorded
    once the database is back as what its client got — failed, ``database_unavailable``, no
    tokens — so that its job, completed meanwhile, is settled then."""
    lease = 1.0
    with database_behind_proxy(database_url) as (proxy, proxied):
        settings = Settings(  # type: ignore[call-arg]
            database_url=proxied, idempotency_lease_seconds=lease, _env_file=None
        )
        async with app_client(settings) as (_app, http):
            key = await create_team(http, credits=10_000)
            restored_at: list[float] = []
            unknown: list[str] = []
            slowest = 0.0

            async def keyed(path: str, body: object, idem: str) -> httpx.Response:
                """Send until the key answers with an outcome (not 503, not 409 in flight)."""
                nonlocal slowest
                while True:
                    r = await http.post(
                        path, json=body, headers={**bearer(key), "Idempotency-Key": idem}
                    )
                    if r.status_code == 503:
                        message = r.json()["error"]["message"]
                        if "outcome is unknown" in message:
                            unknown.append(idem)
                    elif not (
                        r.status_code == 409 and r.json()["error"]["param"] == "Idempotency-Key"
                    ):
                        if restored_at:
                            slowest = max(slowest, time.monotonic() - restored_at[0])
                        return r
                    if restored_at:
                        assert time.monotonic() - restored_at[0] < 30, f"{idem}: {r.text}"
                    await asyncio.sleep(0.05)

            outcomes: list[tuple[str, str]] = []  # (job_id, call_id)
            started = asyncio.Event()

            async def worker(w: int) -> None:
                for i in range(12):
                    r = await keyed(
                        "/api/jobs/create", {"team_id": TEAM, "job_type": "k"}, f"c{w}.{i}"
                    )
                    assert r.status_code == 201, r.text
                    job = r.json()["job_id"]
                    r = await keyed(f"/api/jobs/{job}/llm-call", MSG, f"l{w}.{i}")
                    assert r.status_code == 200, r.text
                    r2 = await keyed(
                        f"/api/jobs/{job}/complete", {"status": "completed"}, f"d{w}.{i}"
                    )
                    assert r2.status_code == 200, r2.text
                    outcomes.append((job, r.json()["call_id"]))
                    if len(outcomes) >= 8:
                        started.set()

            async def fault() -> None:
                await started.wait()
                proxy.cut()
                await asyncio.sleep(1.0)  # requests in flight lose the database for a second
                proxy.restore()
                restored_at.append(time.monotonic())

            await asyncio.gather(*[worker(w) for w in range(6)], fault())
            assert unknown, "no request lost the database mid-way"  # ("outcome is unknown")
            for _ in range(200):  # the lost records are resolved, their jobs settled
                balance = (await http.get("/api/credits/balance", headers=bearer(key))).json()
                if balance["credits_reserved"] == 0:
                    break
                await asyncio.sleep(0.05)

    # Straight from PostgreSQL: exactly one job per create key, one call per call key, one
    # credit per job, every call the one its key answered with.
    db = Database(database_url)
    await db.connect()
    try:
        jobs = await db.fetch_all("SELECT job_id, status, credit_applied FROM jobs")
        calls = await db.fetch_all("SELECT job_id, call_id, status, error_type FROM llm_calls")
        team = await db.fetch_one("SELECT * FROM teams WHERE team_id = :t", {"t": TEAM})
    finally:
        await db.disconnect()
    assert len(jobs) == len(outcomes) == 72
    assert all(j["status"] == "completed" and j["credit_applied"] for j in jobs)
    lost = [c for c in calls if c["error_type"] == "database_unavailable"]
    answered = [c for c in calls if c not in lost]
    assert sorted((c["job_id"], c["call_id"]) for c in answered) == sorted(outcomes)
    assert all(c["status"] == "success" for c in answered)
    assert all(c["status"] == "failed" for c in lost)
    assert team is not None and (team["credits_used"], team["credits_reserved"]) == (72, 0)
    assert slowest < 10 * lease + 5  # seconds after the database returned, not a day


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_503_says_nothing_changed_only_when_nothing_was_attempted(
    database_url: str,
) -> None:
    with database_behind_proxy(database_url) as (proxy, proxied):
        app = create_app(Settings(database_url=proxied, _env_file=None))  # type: ignore[call-arg]
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://localhost"
            ) as http,
        ):
            key = await create_team(http, credits=5)
            proxy.cut()
            read = await http.get("/api/credits/balance", headers=bearer(key))
            write = await http.post(
                "/api/jobs/create",
                json={"team_id": TEAM, "job_type": "x"},
                headers={**bearer(key), "Idempotency-Key": "during-the-cut"},
            )
            proxy.restore()
    # The cut came before anything was written (authentication reads first): both say so.
    # (A request cut after it began to write says its outcome is unknown: see the test above.)
    for response in (read, write):
        assert response.status_code == 503
        assert "nothing was changed" in response.json()["error"]["message"]


async def test_postgres_out_of_connection_slots_is_a_503_not_a_500(
    postgres_database: str,
) -> None:
    """ "Too many clients" (every connection slot of the server, or of the role, is taken) is the
    database being unavailable: the statement fails with ``DatabaseUnavailable`` (503 with
    Retry-After at the HTTP layer), never an unhandled error."""
    import asyncpg

    from saas_litellm_server.store import Database, DatabaseUnavailable
    from saas_litellm_server.store._database import Statement

    role = f"one_slot_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_database)
    await admin.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1")
    base, _, name = postgres_database.rpartition("/")
    scheme, _, _ = base.partition("://")
    host = base.rpartition("@")[2]
    url = f"{scheme}://{role}@{host}/{name}"
    db = Database(url, min_size=0)  # connects on first use
    other = await asyncpg.connect(url)  # another client holds the role's one slot
    try:
        await db.connect()
        quick = Statement("SELECT 1 AS one")
        with pytest.raises(DatabaseUnavailable, match="TooManyConnectionsError"):
            await db.run(quick, {})
        await other.close()  # the slot is free again
        assert (await db.run(quick, {}))[0]["one"] == 1
    finally:
        if not other.is_closed():
            await other.close()
        await db.disconnect()
        await admin.execute(f"DROP ROLE {role}")
        await admin.close()


async def test_a_call_whose_record_was_lost_is_resolved_and_its_job_settled(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database goes away just as a call ends: its request answers 503 (outcome unknown)
    and its job — completed meanwhile — cannot settle while the call counts as in flight. Once
    the database answers again the call is recorded as what its client got (``failed``,
    ``database_unavailable``, no tokens: it got no answer) and the job is settled."""
    from saas_litellm_server.store import DatabaseUnavailable, calls_sql

    real = calls_sql.finish_call
    failures = [True, True]  # the call's own write, and the resolver's first retry

    async def flaky(*args: object, **kwargs: object) -> object:
        if failures:
            failures.pop()
            raise DatabaseUnavailable("the database is unavailable (OSError)")
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(calls_sql, "finish_call", flaky)
    async with app_client(settings) as (_app, http):
        key = await create_team(http, credits=5)
        job = await open_job(http, key)
        r = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(key))
        assert r.status_code == 503 and "outcome is unknown" in r.json()["error"]["message"]
        r = await http.post(
            f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
        )
        assert r.status_code == 200
        for _ in range(100):
            detail = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()
            if detail["calls"] and detail["costs"]["credits_reserved"] == 0:
                break
            await asyncio.sleep(0.05)
        (call,) = detail["calls"]
        assert (call["status"], call["error_type"], call["total_tokens"]) == (
            "failed",
            "database_unavailable",
            0,
        )
        assert detail["costs"]["calls_in_flight"] == 0
        # no billable call: completing it cost nothing, and the credit it held is back
        assert detail["costs"]["credit_reason"] == "no successful call"
        balance = (await http.get("/api/credits/balance", headers=bearer(key))).json()
        assert (balance["credits_remaining"], balance["credits_reserved"]) == (5, 0)
