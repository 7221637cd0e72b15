"""The job lifecycle and its credits (services/jobs.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
from support import GROUP, TEAM, bearer, create_team

from saas_litellm_models import CreditBalance, ErrorResponse, Job, JobCompletion, JobDetail

MSG = {"messages": [{"role": "user", "content": "Analyze this..."}]}


async def balance(http: httpx.AsyncClient, key: str) -> CreditBalance:
    r = await http.get("/api/credits/balance", headers=bearer(key))
    assert r.status_code == 200
    return CreditBalance.model_validate_json(r.content)


async def new_job(http: httpx.AsyncClient, key: str, job_type: str = "document_analysis") -> Job:
    r = await http.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": job_type}, headers=bearer(key)
    )
    assert r.status_code == 201, r.text
    return Job.model_validate_json(r.content)


async def test_create_reserves_and_complete_settles_one_credit(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=10)
    job = await new_job(http, key)
    assert job.status == "pending" and job.team_id == TEAM
    b = await balance(http, key)
    assert (b.credits_remaining, b.credits_reserved, b.credits_available) == (10, 1, 9)

    for _ in range(3):
        r = await http.post(f"/api/jobs/{job.job_id}/llm-call", json=MSG, headers=bearer(key))
        assert r.status_code == 200, r.text
    r = await http.get(f"/api/jobs/{job.job_id}", headers=bearer(key))
    assert JobDetail.model_validate_json(r.content).status == "in_progress"

    r = await http.post(
        f"/api/jobs/{job.job_id}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    assert r.status_code == 200
    done = JobCompletion.model_validate_json(r.content)
    assert done.credits_remaining == 9 and done.costs.credit_applied
    assert done.costs.total_calls == 3 and done.costs.successful_calls == 3
    assert done.costs.total_tokens > 0 and done.costs.total_cost_usd > 0
    b = await balance(http, key)
    assert (b.credits_used, b.credits_reserved, b.credits_remaining) == (1, 0, 9)


async def test_failed_job_costs_nothing(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=5)
    job = await new_job(http, key)
    await http.post(f"/api/jobs/{job.job_id}/llm-call", json=MSG, headers=bearer(key))
    r = await http.post(
        f"/api/jobs/{job.job_id}/complete",
        json={"status": "failed", "error_message": "parser crashed"},
        headers=bearer(key),
    )
    assert r.status_code == 200
    done = JobCompletion.model_validate_json(r.content)
    assert done.status == "failed" and not done.costs.credit_applied
    assert done.credits_remaining == 5 and done.costs.total_calls == 1
    b = await balance(http, key)
    assert (b.credits_used, b.credits_reserved, b.credits_remaining) == (0, 0, 5)
    detail = JobDetail.model_validate_json(
        (await http.get(f"/api/jobs/{job.job_id}", headers=bearer(key))).content
    )
    assert detail.error_message == "parser crashed" and detail.completed_at is not None


async def test_repeat_completion_replays_and_never_charges_twice(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=3)
    job = await new_job(http, key)
    await http.post(f"/api/jobs/{job.job_id}/llm-call", json=MSG, headers=bearer(key))
    url = f"/api/jobs/{job.job_id}/complete"
    first = await http.post(url, json={"status": "completed"}, headers=bearer(key))
    await http.post(f"/api/teams/{TEAM}/credits/add", json={"credits": 10})
    again = await http.post(url, json={"status": "completed"}, headers=bearer(key))
    assert again.status_code == 200 and again.json() == first.json()
    other = await http.post(url, json={"status": "failed"}, headers=bearer(key))
    assert other.status_code == 409 and other.json()["error"]["type"] == "conflict"
    b = await balance(http, key)
    assert (b.credits_allocated, b.credits_used, b.credits_reserved) == (13, 1, 0)


async def test_completing_a_job_without_a_successful_call_costs_nothing(
    http: httpx.AsyncClient,
) -> None:
    key = await create_team(http, credits=3)
    # an upstream nobody listens on: each call through it is recorded as failed
    dead = {"provider": "openai", "model": "m", "api_base": "http://127.0.0.1:9"}
    r = await http.post(
        "/api/model-aliases/create",
        json={"model_alias": "dead", "access_groups": [GROUP], "deployments": [dead]},
    )
    assert r.status_code == 201, r.text
    failing = {**MSG, "model": "dead"}
    job = await new_job(http, key)
    r = await http.post(f"/api/jobs/{job.job_id}/llm-call", json=failing, headers=bearer(key))
    assert r.status_code == 502, r.text
    url = f"/api/jobs/{job.job_id}/complete"
    r = await http.post(url, json={"status": "completed"}, headers=bearer(key))
    assert r.status_code == 200
    done = JobCompletion.model_validate_json(r.content)
    assert done.status == "completed"
    assert (done.costs.total_calls, done.costs.successful_calls) == (1, 0)
    assert not done.costs.credit_applied and done.costs.credit_reason == "no successful call"
    assert done.costs.credits_remaining == 3
    b = await balance(http, key)  # the reservation was released, not settled
    assert (b.credits_used, b.credits_reserved, b.credits_remaining) == (0, 0, 3)
    # the replay and the job's detail say the same; the usage counts no credit
    again = await http.post(url, json={"status": "completed"}, headers=bearer(key))
    assert again.json() == r.json()
    detail = JobDetail.model_validate_json(
        (await http.get(f"/api/jobs/{job.job_id}", headers=bearer(key))).content
    )
    assert detail.costs.credit_reason == "no successful call"
    usage = (await http.get(f"/api/teams/{TEAM}/usage", headers=bearer(key))).json()
    assert usage["by_job_type"][0]["completed"] == 1 and usage["by_job_type"][0]["credits"] == 0

    # a job with no call at all costs nothing either; one successful call makes it cost one
    empty = await new_job(http, key)
    r = await http.post(
        f"/api/jobs/{empty.job_id}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    assert r.json()["costs"]["credit_applied"] is False
    used = await new_job(http, key)
    await http.post(f"/api/jobs/{used.job_id}/llm-call", json=failing, headers=bearer(key))
    await http.post(f"/api/jobs/{used.job_id}/llm-call", json=MSG, headers=bearer(key))
    r = await http.post(
        f"/api/jobs/{used.job_id}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    costs = JobCompletion.model_validate_json(r.content).costs
    assert costs.credit_applied and costs.credit_reason is None and costs.credits_remaining == 2
    b = await balance(http, key)
    assert (b.credits_used, b.credits_reserved, b.credits_remaining) == (1, 0, 2)


async def test_failed_then_completed_is_conflict(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=3)
    job = await new_job(http, key)
    url = f"/api/jobs/{job.job_id}/complete"
    assert (await http.post(url, json={"status": "failed"}, headers=bearer(key))).status_code == 200
    r = await http.post(url, json={"status": "completed"}, headers=bearer(key))
    assert r.status_code == 409
    assert (await balance(http, key)).credits_used == 0


@pytest.mark.parametrize("final", ["completed", "failed"])
async def test_calls_on_a_closed_job_are_conflict(http: httpx.AsyncClient, final: str) -> None:
    key = await create_team(http, credits=3)
    job = await new_job(http, key)
    await http.post(f"/api/jobs/{job.job_id}/complete", json={"status": final}, headers=bearer(key))
    r = await http.post(f"/api/jobs/{job.job_id}/llm-call", json=MSG, headers=bearer(key))
    assert r.status_code == 409 and r.json()["error"]["type"] == "conflict"
    detail = (await http.get(f"/api/jobs/{job.job_id}", headers=bearer(key))).json()
    assert detail["costs"]["total_calls"] == 0


async def test_no_credit_left_is_402_and_opens_nothing(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=2)
    await new_job(http, key)
    await new_job(http, key)
    r = await http.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": "x"}, headers=bearer(key)
    )
    assert r.status_code == 402 and r.json()["error"]["type"] == "insufficient_credits"
    usage = (await http.get(f"/api/teams/{TEAM}/usage", headers=bearer(key))).json()
    assert sum(row["jobs"] for row in usage["by_job_type"]) == 2
    b = await balance(http, key)
    assert (b.credits_reserved, b.credits_available) == (2, 0)


async def test_402_says_how_much_is_remaining_and_reserved(http: httpx.AsyncClient) -> None:
    # the balance shows credits left: the refusal says they are all held by open jobs
    key = await create_team(http, credits=2)
    await new_job(http, key)
    await new_job(http, key)
    r = await http.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": "x"}, headers=bearer(key)
    )
    assert r.status_code == 402
    error = ErrorResponse.model_validate_json(r.content).error
    b = await balance(http, key)
    assert (
        (error.credits_remaining, error.credits_reserved, error.credits_available)
        == (
            b.credits_remaining,
            b.credits_reserved,
            b.credits_available,
        )
        == (2, 2, 0)
    )
    assert "2 remaining, 2 reserved" in error.message


async def test_failing_a_job_frees_its_reservation(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=1)
    job = await new_job(http, key)
    await http.post(
        f"/api/jobs/{job.job_id}/complete", json={"status": "failed"}, headers=bearer(key)
    )
    await new_job(http, key)  # the released credit can be reserved again


async def test_job_metadata_and_user_id_round_trip(http: httpx.AsyncClient) -> None:
    key = await create_team(http)
    r = await http.post(
        "/api/jobs/create",
        json={
            "team_id": TEAM,
            "job_type": "test",
            "metadata": {"doc": 7, "tags": ["a"]},
            "user_id": "u-1",
        },
        headers=bearer(key),
    )
    job = Job.model_validate_json(r.content)
    assert job.metadata == {"doc": 7, "tags": ["a"]} and job.user_id == "u-1"
    r = await http.post(
        f"/api/jobs/{job.job_id}/complete",
        json={"status": "completed", "metadata": {"pages": 3}},
        headers=bearer(key),
    )
    detail = (await http.get(f"/api/jobs/{job.job_id}", headers=bearer(key))).json()
    assert detail["metadata"] == {"doc": 7, "tags": ["a"], "pages": 3}


async def test_create_for_another_team_is_403(http: httpx.AsyncClient) -> None:
    key = await create_team(http)
    await create_team(http, team_id="globex")
    r = await http.post(
        "/api/jobs/create", json={"team_id": "globex", "job_type": "x"}, headers=bearer(key)
    )
    assert r.status_code == 403 and r.json()["error"]["type"] == "permission_denied"
    assert (await balance(http, key)).credits_reserved == 0


async def test_another_teams_job_is_404_everywhere(http: httpx.AsyncClient) -> None:
    key = await create_team(http)
    other = await create_team(http, team_id="globex")
    job = await new_job(http, key)
    for method, path, body in [
        ("GET", f"/api/jobs/{job.job_id}", None),
        ("POST", f"/api/jobs/{job.job_id}/llm-call", MSG),
        ("POST", f"/api/jobs/{job.job_id}/llm-call-stream", MSG),
        ("POST", f"/api/jobs/{job.job_id}/complete", {"status": "completed"}),
    ]:
        r = await http.request(method, path, json=body, headers=bearer(other))
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["type"] == "not_found"
    detail = JobDetail.model_validate_json(
        (await http.get(f"/api/jobs/{job.job_id}", headers=bearer(key))).content
    )
    assert detail.status == "pending" and detail.calls == []


async def test_suspended_team_cannot_open_jobs_or_call_but_can_close(
    http: httpx.AsyncClient,
) -> None:
    key = await create_team(http, credits=5)
    job = await new_job(http, key)
    assert (await http.post(f"/api/teams/{TEAM}/suspend")).json()["status"] == "suspended"
    r = await http.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": "x"}, headers=bearer(key)
    )
    assert r.status_code == 403
    r = await http.post(f"/api/jobs/{job.job_id}/llm-call", json=MSG, headers=bearer(key))
    assert r.status_code == 403
    r = await http.post(
        f"/api/jobs/{job.job_id}/complete", json={"status": "failed"}, headers=bearer(key)
    )
    assert r.status_code == 200
    assert (await http.post(f"/api/teams/{TEAM}/resume")).json()["status"] == "active"
    await new_job(http, key)
