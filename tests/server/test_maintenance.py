"""Abandoned jobs are settled by the server on its own (services/maintenance.py)."""

from __future__ import annotations

import asyncio
import time

import httpx
from support import TEAM, bearer, create_team, open_job

from saas_litellm_server import Settings, create_app
from saas_litellm_server.services.maintenance import tick

MSG = {"messages": [{"role": "user", "content": "then I vanished"}]}


async def test_abandoned_jobs_are_completed_or_failed_by_what_they_did(settings: Settings) -> None:
    app = create_app(
        # a TTL of 2 s: the five requests before the first tick fit in it on a busy machine
        settings.model_copy(update={"job_ttl_seconds": 2.0, "maintenance_interval_seconds": 3600})
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        key = await create_team(http, credits=5)
        jobs = []
        for _ in range(3):
            r = await http.post(
                "/api/jobs/create", json={"team_id": TEAM, "job_type": "x"}, headers=bearer(key)
            )
            jobs.append(r.json()["job_id"])
        await http.post(f"/api/jobs/{jobs[0]}/llm-call", json=MSG, headers=bearer(key))
        await http.post(
            f"/api/jobs/{jobs[2]}/complete", json={"status": "failed"}, headers=bearer(key)
        )
        assert await tick(app.state.runtime) == 0  # nothing is old enough yet
        await asyncio.sleep(2.1)
        assert await tick(app.state.runtime) == 2
        assert await tick(app.state.runtime) == 0  # idempotent
        first = (await http.get(f"/api/jobs/{jobs[0]}", headers=bearer(key))).json()
        second = (await http.get(f"/api/jobs/{jobs[1]}", headers=bearer(key))).json()
        assert (first["status"], first["costs"]["credit_applied"]) == ("completed", True)
        assert (second["status"], second["costs"]["credit_applied"]) == ("failed", False)
        assert first["error_message"].startswith("abandoned")
        balance = (await http.get("/api/credits/balance", headers=bearer(key))).json()
        assert (balance["credits_used"], balance["credits_reserved"]) == (1, 0)


async def test_the_background_loop_runs_by_itself(settings: Settings) -> None:
    app = create_app(
        settings.model_copy(update={"job_ttl_seconds": 0.1, "maintenance_interval_seconds": 0.1})
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        key = await create_team(http, credits=5)
        job = await open_job(http, key)
        deadline = time.monotonic() + 10
        while (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()[
            "status"
        ] != "failed":
            assert time.monotonic() < deadline, "the sweeper never settled the job"
            await asyncio.sleep(0.05)
        balance = (await http.get("/api/credits/balance", headers=bearer(key))).json()
        assert balance["credits_reserved"] == 0
