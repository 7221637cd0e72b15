"""Several server processes on one PostgreSQL: the ledger balances to the credit.

Three real ``saas-litellm-server serve`` processes share one database. Thousands of concurrent
operations spread across them — job creates, calls, completions, repeated and contradictory
completions, top-ups — and at the end every team's books add up exactly.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import httpx
import pytest
from support import start_server, stop, wait_until_up

from saas_litellm_server.store import Database

ADMIN = "adm-scale-out-test-0123456789abcdef"
TEAMS = [f"team-{i}" for i in range(3)]
MSG = {"messages": [{"role": "user", "content": "scale"}]}


@pytest.fixture
def servers(database_url: str) -> Iterator[list[str]]:
    env = {"SAAS_LITELLM_ADMIN_KEY": ADMIN, "SAAS_LITELLM_DB_POOL_SIZE": "10"}
    # They all start at once: the migrations must cope.
    started = [start_server(database_url, env=env) for _ in range(3)]
    try:
        for url, proc in started:
            wait_until_up(f"{url}/health", proc, "a server")
        yield [url for url, _ in started]
    finally:
        for _, proc in started:
            stop(proc)


@pytest.mark.empty_database  # the three servers migrate it, all at once
@pytest.mark.timeout(300)  # thousands of operations on three processes: 1-2 minutes
@pytest.mark.parametrize("backend", ["postgresql"])
async def test_three_processes_keep_the_ledger_exact(servers: list[str], database_url: str) -> None:
    rng = random.Random(2026)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    limits = httpx.Limits(max_connections=60)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        await http.post(
            f"{servers[0]}/api/organizations/create",
            headers=admin,
            json={"organization_id": "org", "name": "Org"},
        )
        keys = {}
        for team in TEAMS:
            r = await http.post(
                f"{servers[1]}/api/teams/create",
                headers=admin,
                json={"organization_id": "org", "team_id": team, "credits_allocated": 150},
            )
            keys[team] = {"Authorization": f"Bearer {r.json()['virtual_key']}"}
        granted = dict.fromkeys(TEAMS, 150)
        gate = asyncio.Semaphore(48)
        counts = {"operations": 0, "402": 0}

        async def send(
            method: str, path: str, headers: dict[str, str], json: object = None
        ) -> httpx.Response:
            async with gate:
                r = await http.request(
                    method, rng.choice(servers) + path, headers=headers, json=json
                )
            counts["operations"] += 1
            assert r.status_code < 500, r.text
            return r

        async def job_life(team: str) -> None:
            r = await send(
                "POST",
                "/api/jobs/create",
                keys[team],
                {"team_id": team, "job_type": rng.choice(["a", "b"])},
            )
            if r.status_code == 402:
                counts["402"] += 1
                return
            assert r.status_code == 201
            job = r.json()["job_id"]
            for _ in range(rng.randint(0, 2)):
                assert (
                    await send("POST", f"/api/jobs/{job}/llm-call", keys[team], MSG)
                ).status_code == 200
            if rng.random() < 0.1:
                return  # left open: its reservation must still be counted
            status = "completed" if rng.random() < 0.7 else "failed"
            other = "failed" if status == "completed" else "completed"
            results = await asyncio.gather(
                send("POST", f"/api/jobs/{job}/complete", keys[team], {"status": status}),
                send("POST", f"/api/jobs/{job}/complete", keys[team], {"status": status}),
                send("POST", f"/api/jobs/{job}/complete", keys[team], {"status": other}),
            )
            codes = sorted(r.status_code for r in results)
            assert codes in ([200, 200, 409], [200, 409, 409]), codes

        async def top_up(team: str) -> None:
            credits = rng.randint(1, 5)
            r = await send("POST", f"/api/teams/{team}/credits/add", admin, {"credits": credits})
            assert r.status_code == 200
            granted[team] += credits

        work = [job_life(rng.choice(TEAMS)) for _ in range(600)]
        work += [top_up(rng.choice(TEAMS)) for _ in range(30)]
        rng.shuffle(work)
        await asyncio.gather(*work)

    assert counts["operations"] >= 2000
    assert counts["402"] > 0  # the teams ran out: the limit was really tested
    db = Database(database_url)
    await db.connect()
    try:
        for team in TEAMS:
            row = await db.fetch_one("SELECT * FROM teams WHERE team_id = :t", {"t": team})
            assert row is not None
            jobs = await db.fetch_all(
                "SELECT status, credit_applied, EXISTS (SELECT 1 FROM llm_calls AS calls WHERE "
                "calls.job_id = jobs.job_id AND calls.status = 'success') AS succeeded "
                "FROM jobs WHERE team_id = :t",
                {"t": team},
            )
            grants = await db.fetch_val(
                "SELECT COALESCE(SUM(amount), 0) FROM credit_grants WHERE team_id = :t", {"t": team}
            )
            open_jobs = sum(j["status"] in ("pending", "in_progress") for j in jobs)
            charged = sum(bool(j["credit_applied"]) for j in jobs)
            # a completed job is charged only if one of its calls succeeded
            paid = sum(j["status"] == "completed" and bool(j["succeeded"]) for j in jobs)
            assert 0 < paid < sum(j["status"] == "completed" for j in jobs)  # both kinds ran
            assert row["credits_allocated"] == granted[team] == grants
            assert row["credits_used"] == charged == paid
            assert row["credits_reserved"] == open_jobs
            assert row["credits_used"] + row["credits_reserved"] <= row["credits_allocated"]
    finally:
        await db.disconnect()
