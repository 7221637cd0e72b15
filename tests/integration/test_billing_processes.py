"""Billing across three server processes on one PostgreSQL database, under concurrency, in front
of an upstream that counts as much as the bound allows (the stub's ``greedy``).

Forty clients at once, each on any process: open jobs (some with limits), make calls (plain,
streamed, cut by the client after their content, held open while the job is completed on
another process, failed upstream), then close the jobs. Afterwards, for every team in every
budget mode: no balance was ever exceeded, its ledger adds up, nothing is held any more, every
job was charged exactly what its mode says its recorded calls cost, and no limit was passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import uuid
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import httpx
import pytest
from conftest import UPSTREAM_KEY
from support import GROUP, ORG, bearer, server_process

ADMIN = "adm-billing-processes-0123456789abcdef"
PRICES = {"input_cost_per_million": 100.0, "output_cost_per_million": 300.0}
TEAMS: dict[str, dict[str, Any]] = {
    "tokens": {"budget_mode": "consumption_tokens", "tokens_per_credit": 3},
    "usd": {"budget_mode": "consumption_usd", "credits_per_dollar": 40.0, "markup_percent": 25.0},
    "jobs": {"budget_mode": "job_based"},
}
CREDITS = {"tokens": 1500, "usd": 300, "jobs": 25}
"""Enough for some of the work, not all of it: refusals are part of the run."""


@pytest.fixture
def processes(postgres_database: str, upstream: str) -> Iterator[list[str]]:
    from conftest import _reset_postgres

    _reset_postgres(postgres_database)
    env = {
        "SAAS_LITELLM_ADMIN_KEY": ADMIN,
        "SAAS_LITELLM_UPSTREAM_BASE_URL": upstream,
        "SAAS_LITELLM_UPSTREAM_API_KEY": UPSTREAM_KEY,
        "SAAS_LITELLM_DB_POOL_SIZE": "8",
        "SAAS_LITELLM_CATALOG_CACHE_SECONDS": "0",
    }
    with contextlib.ExitStack() as stack:
        urls = [
            stack.enter_context(server_process(postgres_database, env=env))[0] for _ in range(3)
        ]
        yield urls


def _charge(mode: dict[str, Any], detail: dict[str, Any]) -> int:
    """What the mode says a settled job costs, from its recorded calls."""
    calls = detail["calls"]
    if detail["status"] != "completed" or not any(
        c["status"] in ("success", "cancelled") for c in calls
    ):
        return 0
    tokens = sum(c["total_tokens"] for c in calls)
    micros = sum(round(c["client_cost_usd"] * 1_000_000) for c in calls)
    if mode["budget_mode"] == "consumption_tokens":
        return max(1, math.ceil(Fraction(tokens, mode["tokens_per_credit"])))
    if mode["budget_mode"] == "consumption_usd":
        return max(
            1, math.ceil(Fraction(micros, 1_000_000) * Fraction(str(mode["credits_per_dollar"])))
        )
    return 1


async def test_three_processes_bill_exactly(processes: list[str], upstream: str) -> None:
    admin = httpx.AsyncClient(base_url=processes[0], headers=bearer(ADMIN), timeout=60)
    clients = [httpx.AsyncClient(base_url=url, timeout=60) for url in processes]
    stub = httpx.AsyncClient(base_url=upstream, timeout=10)
    rng = random.Random(25)
    try:
        assert (
            await admin.post(
                "/api/organizations/create", json={"organization_id": ORG, "name": "A"}
            )
        ).status_code == 201
        await admin.post("/api/model-access-groups/create", json={"group_name": GROUP})
        gates = [uuid.uuid4().hex[:12] for _ in range(12)]
        for alias, model in [("Greedy", "greedy"), ("Broken", "error-500")] + [
            (f"Gate-{g}", f"gate-{g}") for g in gates
        ]:
            r = await admin.post(
                "/api/model-aliases/create",
                json={
                    "model_alias": alias,
                    "access_groups": [GROUP],
                    "deployments": [{"provider": "openai", "model": model, **PRICES}],
                },
            )
            assert r.status_code == 201, r.text
        keys: dict[str, str] = {}
        for name, mode in TEAMS.items():
            r = await admin.post(
                "/api/teams/create",
                json={
                    "organization_id": ORG,
                    "team_id": name,
                    "access_groups": [GROUP],
                    "credits_allocated": CREDITS[name],
                    "default_model": "Greedy",
                    **mode,
                },
            )
            assert r.status_code == 201, r.text
            keys[name] = r.json()["virtual_key"]
        jobs: dict[str, list[str]] = {name: [] for name in TEAMS}
        free_gates = list(gates)

        def anywhere() -> httpx.AsyncClient:
            return rng.choice(clients)

        async def held_stream(team: str, job: str) -> None:
            """A stream whose client has its content, its job completed meanwhile on another
            process, then let to end (or cut)."""
            gate = free_gates.pop()
            body = {
                "model": f"Gate-{gate}",
                "messages": [{"role": "user", "content": "held " * rng.randint(1, 20)}],
                "max_tokens": rng.randint(1, 60),
            }
            async with anywhere().stream(
                "POST", f"/api/jobs/{job}/llm-call-stream", json=body, headers=bearer(keys[team])
            ) as r:
                if r.status_code != 200:
                    await r.aread()
                    assert r.status_code == 402, r.text
                    done = await anywhere().post(
                        f"/api/jobs/{job}/complete",
                        json={"status": "completed"},
                        headers=bearer(keys[team]),
                    )
                    assert done.status_code == 200, done.text
                    return
                lines = r.aiter_lines()
                async for line in lines:
                    if '"type":"chunk"' in line:
                        break
                done = await anywhere().post(
                    f"/api/jobs/{job}/complete",
                    json={"status": "completed"},
                    headers=bearer(keys[team]),
                )
                assert done.status_code == 200, done.text
                if rng.random() < 0.5:
                    return  # cut: the client leaves before the end
                await stub.post(f"/_stub/release/{gate}")
                assert "event: done" in [line async for line in lines]

        async def worker(team: str) -> None:
            limits = rng.choice(
                [None, {"max_tokens": 200}, {"max_cost_usd": 0.05}, {"max_credits": 4}]
            )
            body: dict[str, Any] = {"team_id": team, "job_type": "mp"}
            if limits:
                body["limits"] = limits
            r = await anywhere().post("/api/jobs/create", json=body, headers=bearer(keys[team]))
            assert r.status_code in (201, 402), r.text
            if r.status_code != 201:
                return
            job = r.json()["job_id"]
            jobs[team].append(job)
            for _ in range(rng.randint(1, 4)):
                how = rng.choice(["plain", "stream", "cut", "fails"])
                content = rng.choice(["short", "漢字" * 10, "🦊 " * 5, "word " * 30])
                body = {
                    "messages": [{"role": "user", "content": content}],
                    "max_tokens": rng.randint(1, 80),
                    "model": "Broken" if how == "fails" else "Greedy",
                }
                stream = how in ("stream", "cut")
                path = f"/api/jobs/{job}/llm-call" + ("-stream" if stream else "")
                if how == "cut":
                    async with anywhere().stream(
                        "POST", path, json=body, headers=bearer(keys[team])
                    ) as cut:
                        async for line in cut.aiter_lines():
                            if '"type":"chunk"' in line or cut.status_code != 200:
                                break
                    continue
                r = await anywhere().post(path, json=body, headers=bearer(keys[team]))
                assert r.status_code in (200, 402, 502), r.text
            if free_gates and rng.random() < 0.3:
                await held_stream(team, job)
                return
            status = rng.choice(["completed", "completed", "failed"])
            r = await anywhere().post(
                f"/api/jobs/{job}/complete", json={"status": status}, headers=bearer(keys[team])
            )
            assert r.status_code == 200, r.text

        await asyncio.gather(*(worker(rng.choice(list(TEAMS))) for _ in range(40)))
        await stub.post("/_stub/reset")  # let every held stream end

        for name, mode in TEAMS.items():
            key = bearer(keys[name])
            for _ in range(200):  # the cut streams are recorded, their jobs settled
                balance = (await admin.get("/api/credits/balance", headers=key)).json()
                if balance["credits_reserved"] == 0:
                    break
                await asyncio.sleep(0.05)
            assert balance["credits_reserved"] == 0, balance
            assert 0 <= balance["credits_used"] <= balance["credits_allocated"] == CREDITS[name]
            ledger = (
                await admin.get(f"/api/teams/{name}/transactions", params={"limit": 500})
            ).json()["transactions"]
            assert sum(t["credits"] for t in ledger) == balance["credits_remaining"]
            assert all(t["credits_remaining_after"] >= 0 for t in ledger)
            charged, charges = 0, 0
            for job in jobs[name]:
                detail = (await admin.get(f"/api/jobs/{job}", headers=key)).json()
                costs = detail["costs"]
                assert costs["calls_in_flight"] == 0 and costs["credits_reserved"] == 0
                assert costs["credits_charged"] == _charge(mode, detail), detail
                charged += costs["credits_charged"]
                charges += costs["credits_charged"] > 0
                limits = detail["limits"] or {}
                if limits.get("max_tokens") is not None:
                    assert costs["total_tokens"] <= limits["max_tokens"]
                if limits.get("max_cost_usd") is not None:
                    assert costs["total_cost_usd"] <= limits["max_cost_usd"]
                if limits.get("max_credits") is not None:
                    assert costs["credits_charged"] <= limits["max_credits"]
            assert charged == balance["credits_used"]
            assert [t["kind"] for t in ledger].count("charge") == charges  # one row a job
    finally:
        for client in (admin, stub, *clients):
            await client.aclose()
