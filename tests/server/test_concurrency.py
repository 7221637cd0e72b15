"""Credits stay exact under concurrency, in-process and over real HTTP, on both backends."""

from __future__ import annotations

import asyncio
import random

import httpx
from support import TEAM, bearer, create_team

from saas_litellm_models import CreditBalance

MSG = {"messages": [{"role": "user", "content": "race"}]}


async def test_concurrent_creates_and_completions_are_exact(any_http: httpx.AsyncClient) -> None:
    http = any_http
    key = await create_team(http, credits=5)

    creates = await asyncio.gather(
        *[
            http.post(
                "/api/jobs/create", json={"team_id": TEAM, "job_type": "race"}, headers=bearer(key)
            )
            for _ in range(12)
        ]
    )
    statuses = sorted(r.status_code for r in creates)
    assert statuses == [201] * 5 + [402] * 7
    job_ids = [r.json()["job_id"] for r in creates if r.status_code == 201]
    assert len(set(job_ids)) == 5
    for job_id in job_ids:  # a job is charged only once it has a successful call
        r = await http.post(f"/api/jobs/{job_id}/llm-call", json=MSG, headers=bearer(key))
        assert r.status_code == 200, r.text

    # 100 completions: 20 per job, racing each other; the first status to land wins each job.
    targets = [job_ids[i % 5] for i in range(100)]
    random.Random(7).shuffle(targets)
    completions = await asyncio.gather(
        *[
            http.post(
                f"/api/jobs/{job_id}/complete", json={"status": "completed"}, headers=bearer(key)
            )
            for job_id in targets
        ]
    )
    assert all(r.status_code == 200 for r in completions), {r.text for r in completions}
    per_job = {}
    for job_id, r in zip(targets, completions):
        per_job.setdefault(job_id, set()).add(r.content)
    assert all(len(bodies) == 1 for bodies in per_job.values())  # every repeat replays the same

    r = await http.get("/api/credits/balance", headers=bearer(key))
    b = CreditBalance.model_validate_json(r.content)
    assert (b.credits_used, b.credits_reserved, b.credits_remaining) == (5, 0, 0)
    usage = (await http.get(f"/api/teams/{TEAM}/usage", headers=bearer(key))).json()
    assert usage["by_job_type"][0]["credits"] == 5


async def test_mixed_racing_statuses_settle_each_job_once(any_http: httpx.AsyncClient) -> None:
    http = any_http
    key = await create_team(http, credits=4)
    job_ids = []
    for _ in range(4):
        r = await http.post(
            "/api/jobs/create", json={"team_id": TEAM, "job_type": "mix"}, headers=bearer(key)
        )
        job_ids.append(r.json()["job_id"])
        r = await http.post(f"/api/jobs/{job_ids[-1]}/llm-call", json=MSG, headers=bearer(key))
        assert r.status_code == 200, r.text
    requests = [(job_id, status) for job_id in job_ids for status in ("completed", "failed") * 5]
    random.Random(11).shuffle(requests)
    results = await asyncio.gather(
        *[
            http.post(f"/api/jobs/{job_id}/complete", json={"status": status}, headers=bearer(key))
            for job_id, status in requests
        ]
    )
    winners: dict[str, str] = {}
    for (job_id, status), r in zip(requests, results):
        assert r.status_code in (200, 409), r.text
        if r.status_code == 200:
            assert winners.setdefault(job_id, status) == status  # only one status ever wins
    assert set(winners) == set(job_ids)
    b = CreditBalance.model_validate_json(
        (await http.get("/api/credits/balance", headers=bearer(key))).content
    )
    completed = sum(1 for s in winners.values() if s == "completed")
    assert (b.credits_used, b.credits_reserved, b.credits_remaining) == (
        completed,
        0,
        4 - completed,
    )
