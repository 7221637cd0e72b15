"""Budget modes, per-call reservations, per-job limits and settlement (services/billing.py),
on SQLite and PostgreSQL, through the API.

The built-in mock model answers "Hi" with a known usage — 7 prompt and 16 completion tokens,
23 in all — and the alias ``Priced`` prices its one mock deployment at $0.01 per prompt token
and $0.02 per completion token: one call costs the provider $0.39. A call reserves its prompt's
upper bound: for "Hi", 3 + 4 + len("user") + len("Hi") = 13 tokens (``providers._tokens``). So
every figure below is exact.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from support import GROUP, TEAM, bearer, create_team

HI = [{"role": "user", "content": "Hi"}]
PROMPT_BOUND = 13
CALL_TOKENS = 23
CALL_COST = 0.39
PRICED = {
    "model_alias": "Priced",
    "access_groups": [GROUP],
    "deployments": [
        {
            "provider": "mock",
            "model": "cheap",
            "input_cost_per_million": 10_000.0,
            "output_cost_per_million": 20_000.0,
        }
    ],
}
TOKENS = {"budget_mode": "consumption_tokens", "tokens_per_credit": 10}
USD = {"budget_mode": "consumption_usd", "credits_per_dollar": 100.0, "markup_percent": 100.0}


async def _team(http: httpx.AsyncClient, credits: int = 1000, **budget: Any) -> str:
    r = await http.post("/api/model-access-groups/create", json={"group_name": GROUP})
    assert r.status_code in (201, 409), r.text
    r = await http.post("/api/model-aliases/create", json=PRICED)
    assert r.status_code in (201, 409), r.text
    return await create_team(http, credits=credits, default_model="Priced", **budget)


async def _job(http: httpx.AsyncClient, key: str, **body: Any) -> str:
    r = await http.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": "doc", **body}, headers=bearer(key)
    )
    assert r.status_code == 201, r.text
    job_id: str = r.json()["job_id"]
    return job_id


async def _call(
    http: httpx.AsyncClient, key: str, job_id: str, max_tokens: int | None = 100
) -> httpx.Response:
    body: dict[str, Any] = {"messages": HI}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return await http.post(f"/api/jobs/{job_id}/llm-call", json=body, headers=bearer(key))


async def _balance(http: httpx.AsyncClient, key: str) -> dict[str, Any]:
    r = await http.get("/api/credits/balance", headers=bearer(key))
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


async def _complete(
    http: httpx.AsyncClient, key: str, job_id: str, status: str = "completed"
) -> dict[str, Any]:
    r = await http.post(
        f"/api/jobs/{job_id}/complete", json={"status": status}, headers=bearer(key)
    )
    assert r.status_code == 200, r.text
    costs: dict[str, Any] = r.json()["costs"]
    return costs


async def _ledger(http: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    r = await http.get(f"/api/teams/{TEAM}/transactions?limit=500", headers=bearer(key))
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["transactions"]
    return rows


async def _check_ledger(http: httpx.AsyncClient, key: str) -> None:
    """The ledger's credits add up to the balance and no balance in it is negative."""
    balance = await _balance(http, key)
    rows = await _ledger(http, key)
    assert sum(t["credits"] for t in rows) == balance["credits_remaining"]
    assert all(t["credits_remaining_after"] >= 0 for t in rows)
    assert balance["credits_used"] + balance["credits_reserved"] <= balance["credits_allocated"]


async def test_job_based_charges_one_credit_whatever_the_calls(http: httpx.AsyncClient) -> None:
    key = await _team(http)
    job = await _job(http, key)
    for _ in range(3):
        assert (await _call(http, key, job)).status_code == 200
    assert (await _balance(http, key))["credits_reserved"] == 1  # no per-call reservation
    costs = await _complete(http, key, job)
    assert (costs["credits_charged"], costs["credits_remaining"]) == (1, 999)
    detail = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()
    assert detail["budget_mode"] == "job_based"
    call = detail["calls"][0]
    assert call["client_cost_usd"] == call["cost_usd"] == CALL_COST
    assert call["provider_cost_usd"] is None  # the operator's alone
    ledger = await _ledger(http, key)
    assert [(t["kind"], t["credits"], t["credits_remaining_after"]) for t in ledger] == [
        ("charge", -1, 999),
        ("grant", 1000, 1000),
    ]
    assert ledger[0]["job_id"] == job


async def test_consumption_tokens_charges_the_tokens_rounded_up(http: httpx.AsyncClient) -> None:
    key = await _team(http, **TOKENS)
    job = await _job(http, key)
    assert (await _call(http, key, job)).status_code == 200
    # held for it: ceil((13 + 100) / 10) = 12, kept while the job is open
    assert (await _balance(http, key))["credits_reserved"] == 12
    assert (await _call(http, key, job)).status_code == 200
    assert (await _balance(http, key))["credits_reserved"] == 14  # ceil((23 + 113) / 10)
    costs = await _complete(http, key, job)
    assert costs["total_tokens"] == 2 * CALL_TOKENS
    assert (costs["credits_charged"], costs["credits_remaining"]) == (5, 995)
    assert costs["credit_applied"] is True
    balance = await _balance(http, key)
    assert (balance["credits_used"], balance["credits_reserved"]) == (5, 0)
    await _check_ledger(http, key)


async def test_consumption_usd_charges_the_client_cost_rounded_up(http: httpx.AsyncClient) -> None:
    key = await _team(http, **USD)
    job = await _job(http, key)
    for _ in range(2):
        assert (await _call(http, key, job)).status_code == 200
    detail = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()
    assert detail["budget_mode"] == "consumption_usd"
    for call in detail["calls"]:
        assert call["client_cost_usd"] == 2 * CALL_COST  # 100 % markup
        assert call["cost_usd"] == call["client_cost_usd"]
    costs = await _complete(http, key, job)
    # 2 calls x $0.78 = $1.56 at 100 credits per dollar
    assert (costs["credits_charged"], costs["credits_remaining"]) == (156, 844)
    assert costs["total_cost_usd"] == 1.56
    await _check_ledger(http, key)


async def test_a_tiny_job_costs_at_least_one_credit(http: httpx.AsyncClient) -> None:
    key = await _team(http, budget_mode="consumption_tokens", tokens_per_credit=1_000_000)
    job = await _job(http, key)
    assert (await _call(http, key, job)).status_code == 200
    assert (await _complete(http, key, job))["credits_charged"] == 1


@pytest.mark.parametrize("budget", [{}, TOKENS, USD], ids=["job_based", "tokens", "usd"])
async def test_a_failed_job_costs_nothing_in_every_mode(
    http: httpx.AsyncClient, budget: dict[str, Any]
) -> None:
    key = await _team(http, **budget)
    job = await _job(http, key)
    assert (await _call(http, key, job)).status_code == 200
    costs = await _complete(http, key, job, "failed")
    assert (costs["credits_charged"], costs["credit_applied"], costs["credits_remaining"]) == (
        0,
        False,
        1000,
    )
    balance = await _balance(http, key)
    assert (balance["credits_used"], balance["credits_reserved"]) == (0, 0)
    assert [t["kind"] for t in await _ledger(http, key)] == ["grant"]


async def test_a_mode_change_applies_to_jobs_opened_after_it(http: httpx.AsyncClient) -> None:
    key = await _team(http)
    before = await _job(http, key)
    r = await http.patch(f"/api/teams/{TEAM}", json=TOKENS)
    assert r.status_code == 200, r.text
    assert (r.json()["budget_mode"], r.json()["tokens_per_credit"]) == ("consumption_tokens", 10)
    after = await _job(http, key)
    for job in (before, after):
        assert (await _call(http, key, job)).status_code == 200
    assert (await _complete(http, key, before))["credits_charged"] == 1
    assert (await _complete(http, key, after))["credits_charged"] == 3  # ceil(23 / 10)
    await _check_ledger(http, key)


async def test_a_consumption_mode_needs_its_rate(http: httpx.AsyncClient) -> None:
    key = await _team(http)
    before = (await http.get(f"/api/teams/{TEAM}")).json()
    for body in (
        {"budget_mode": "consumption_tokens"},
        {"budget_mode": "consumption_usd", "tokens_per_credit": 5},
        {"budget_mode": "metered"},
        {"tokens_per_credit": 0},
        {"credits_per_dollar": -1},
        {"markup_percent": None},
        {"markup_percent": 1e9},
        {"low_balance_threshold": -1},
        {"budget_mode": None},
    ):
        r = await http.patch(f"/api/teams/{TEAM}", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["type"] == "validation_error"
    assert (await http.get(f"/api/teams/{TEAM}")).json() == before
    r = await http.post(
        "/api/teams/create",
        json={
            "organization_id": "org_acme",
            "team_id": "t-bad",
            "budget_mode": "consumption_usd",
        },
    )
    assert r.status_code == 422, r.text
    assert (await http.get("/api/teams/t-bad")).status_code == 404
    assert key


# --- per-job limits --------------------------------------------------------------------------


async def _refused_upstream_free(
    http: httpx.AsyncClient, key: str, job: str, r: httpx.Response, error: str
) -> None:
    """A refused call: the right error, nothing recorded (so nothing went upstream)."""
    assert r.status_code == 402, r.text
    assert r.json()["error"]["type"] == error
    detail = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()
    assert detail["calls"] == []


async def test_max_tokens_refuses_a_call_whose_worst_case_would_pass_it(
    http: httpx.AsyncClient,
) -> None:
    key = await _team(http)
    job = await _job(http, key, limits={"max_tokens": 50})
    before = await _balance(http, key)
    r = await _call(http, key, job, max_tokens=100)  # 13 + 100 > 50
    await _refused_upstream_free(http, key, job, r, "job_budget_exceeded")
    assert r.json()["error"]["param"] == "limits.max_tokens"
    assert await _balance(http, key) == before
    assert (await _call(http, key, job, max_tokens=25)).status_code == 200  # 13 + 25 <= 50
    # now used 7 + 16 = 23; with the next worst case (13 + 25) it could reach 61 > 50
    assert (await _call(http, key, job, max_tokens=25)).status_code == 402
    detail = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()
    assert len(detail["calls"]) == 1
    assert detail["limits"] == {"max_tokens": 50, "max_cost_usd": None, "max_credits": None}


async def test_max_cost_usd_counts_the_most_expensive_fallback(http: httpx.AsyncClient) -> None:
    r = await http.post("/api/model-access-groups/create", json={"group_name": GROUP})
    assert r.status_code == 201
    r = await http.post(
        "/api/model-aliases/create",
        json={
            "model_alias": "Fallbacks",
            "access_groups": [GROUP],
            "deployments": [
                {"provider": "mock", "model": "free"},
                {"provider": "mock", "model": "dear", "output_cost_per_million": 20_000.0},
            ],
        },
    )
    assert r.status_code == 201, r.text
    key = await create_team(http, default_model="Fallbacks")
    job = await _job(http, key, limits={"max_cost_usd": 1.0})
    # the free primary answers, but the fallback could: 100 x $0.02 = $2 > $1
    r = await _call(http, key, job, max_tokens=100)
    await _refused_upstream_free(http, key, job, r, "job_budget_exceeded")
    assert (await _call(http, key, job, max_tokens=40)).status_code == 200  # $0.80


async def test_max_credits_in_a_consumption_mode(http: httpx.AsyncClient) -> None:
    key = await _team(http, **TOKENS)
    job = await _job(http, key, limits={"max_credits": 5})
    r = await _call(http, key, job, max_tokens=100)  # ceil(113 / 10) = 12 > 5
    await _refused_upstream_free(http, key, job, r, "job_budget_exceeded")
    assert (await _call(http, key, job, max_tokens=30)).status_code == 200  # ceil(43/10) = 5
    assert (await _complete(http, key, job))["credits_charged"] == 3


async def test_bad_limits_are_refused_before_anything(http: httpx.AsyncClient) -> None:
    key = await _team(http)
    before = await _balance(http, key)
    for limits in (
        {"max_tokens": 0},
        {"max_tokens": "5"},
        {"max_cost_usd": 0},
        {"max_cost_usd": -1},
        {"max_credits": 0},
        {"max_credits": 1.5},
        {"max_tokens": True},
        {"other": 1},
        [],
    ):
        r = await http.post(
            "/api/jobs/create",
            json={"team_id": TEAM, "job_type": "doc", "limits": limits},
            headers=bearer(key),
        )
        assert r.status_code == 422, (limits, r.text)
    assert await _balance(http, key) == before


# --- reservations ----------------------------------------------------------------------------


async def test_a_call_goes_upstream_only_if_its_worst_case_fits(http: httpx.AsyncClient) -> None:
    key = await _team(http, credits=5, **TOKENS)
    job = await _job(http, key)
    before = await _balance(http, key)
    r = await _call(http, key, job, max_tokens=100)  # needs 12, 5 remain
    await _refused_upstream_free(http, key, job, r, "insufficient_credits")
    assert r.json()["error"]["credits_available"] == 4
    assert await _balance(http, key) == before
    assert (await _call(http, key, job, max_tokens=30)).status_code == 200  # needs 5
    assert (await _complete(http, key, job))["credits_charged"] == 3
    await _check_ledger(http, key)


async def test_a_call_without_max_tokens_assumes_the_default(http: httpx.AsyncClient) -> None:
    key = await _team(http, credits=4, budget_mode="consumption_tokens", tokens_per_credit=1000)
    job = await _job(http, key)
    r = await _call(http, key, job, max_tokens=None)  # 13 + 4096 tokens: 5 credits
    await _refused_upstream_free(http, key, job, r, "insufficient_credits")
    assert (await _call(http, key, job, max_tokens=2000)).status_code == 200


async def test_a_streamed_call_settles_to_what_it_used(http: httpx.AsyncClient) -> None:
    key = await _team(http, **TOKENS)
    job = await _job(http, key)
    r = await http.post(
        f"/api/jobs/{job}/llm-call-stream",
        json={"messages": HI, "max_tokens": 100},
        headers=bearer(key),
    )
    assert r.status_code == 200 and '"type":"done"' in r.text
    assert (await _balance(http, key))["credits_reserved"] == 12  # held until settled
    assert (await _complete(http, key, job))["credits_charged"] == 3  # ceil(23 / 10)
    assert (await _balance(http, key))["credits_reserved"] == 0


async def test_a_job_completed_without_a_successful_call_costs_nothing(
    http: httpx.AsyncClient,
) -> None:
    key = await _team(http, **TOKENS)
    job = await _job(http, key)
    costs = await _complete(http, key, job)
    assert (costs["credits_charged"], costs["credit_reason"]) == (0, "no successful call")
    assert (await _balance(http, key))["credits_reserved"] == 0


# --- concurrency -----------------------------------------------------------------------------


@pytest.mark.parametrize("budget", [TOKENS, USD], ids=["tokens", "usd"])
async def test_many_calls_racing_a_small_balance_never_overspend(
    http: httpx.AsyncClient, budget: dict[str, Any]
) -> None:
    """Jobs and calls race a balance that covers only some of them: each call reserves its
    worst case first, so the team never spends what it does not have, every reservation comes
    back, and the ledger adds up."""
    credits = 25 if budget is TOKENS else 200
    key = await _team(http, credits=credits, **budget)

    async def create() -> str | None:
        r = await http.post(
            "/api/jobs/create", json={"team_id": TEAM, "job_type": "race"}, headers=bearer(key)
        )
        assert r.status_code in (201, 402), r.text
        return r.json()["job_id"] if r.status_code == 201 else None

    job_ids = [j for j in await asyncio.gather(*(create() for _ in range(8))) if j]
    assert job_ids
    calls = await asyncio.gather(
        *(_call(http, key, job_ids[i % len(job_ids)], max_tokens=30) for i in range(24))
    )
    statuses = sorted({r.status_code for r in calls})
    assert set(statuses) <= {200, 402}, [r.text for r in calls if r.status_code not in (200, 402)]
    assert 200 in statuses and 402 in statuses
    balance = await _balance(http, key)
    assert balance["credits_used"] + balance["credits_reserved"] <= balance["credits_allocated"]
    results = await asyncio.gather(*(_complete(http, key, j) for j in job_ids))
    balance = await _balance(http, key)
    assert balance["credits_reserved"] == 0
    assert 0 <= balance["credits_used"] <= credits
    assert balance["credits_used"] == sum(c["credits_charged"] for c in results)
    await _check_ledger(http, key)


async def test_the_single_call_shortcuts_bill_by_the_teams_mode(http: httpx.AsyncClient) -> None:
    """create-and-call and /v1/chat/completions open a job of the team's mode: charged by
    tokens here, and refused before going upstream when the worst case does not fit."""
    key = await _team(http, **TOKENS)
    r = await http.post(
        "/api/jobs/create-and-call",
        json={"team_id": TEAM, "job_type": "quick", "messages": HI, "max_tokens": 100},
        headers=bearer(key),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["costs"]["credits_charged"], r.json()["costs"]["credits_remaining"]) == (
        3,
        997,
    )
    r = await http.post(
        "/v1/chat/completions",
        json={"model": "Priced", "messages": HI, "max_tokens": 100},
        headers=bearer(key),
    )
    assert r.status_code == 200, r.text
    assert (await _balance(http, key))["credits_remaining"] == 994
    await _check_ledger(http, key)
    r = await http.post(
        "/v1/chat/completions",
        json={"model": "Priced", "messages": HI, "max_tokens": 100_000},  # 10,002 credits
        headers=bearer(key),
    )
    assert r.status_code == 402, r.text
    assert r.json()["error"]["code"] == "insufficient_credits"
    balance = await _balance(http, key)
    assert (balance["credits_remaining"], balance["credits_reserved"]) == (994, 0)


PRICED_EMBED = {
    **PRICED,
    "model_alias": "PricedEmbed",
    "mode": "embedding",
}
SURFACES: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": "Priced", "messages": HI, "max_tokens": 50},
    "/v1/responses": {"model": "Priced", "input": "Hi", "max_output_tokens": 50},
    "/v1/messages": {"model": "Priced", "messages": HI, "max_tokens": 50},
    "/v1/embeddings": {"model": "PricedEmbed", "input": "Hi"},
}


@pytest.mark.parametrize("path", SURFACES)
async def test_consumption_usd_bills_every_surface_by_its_calls_client_cost(
    http: httpx.AsyncClient, path: str
) -> None:
    """A call through OpenAI's chat, Responses or embeddings API or Anthropic's Messages API is
    a single-call job charged what its recorded tokens cost at the deployment's prices, with
    the markup, at the team's credits per dollar, rounded up once."""
    key = await _team(http, **USD)
    r = await http.post("/api/model-aliases/create", json=PRICED_EMBED)
    assert r.status_code == 201, r.text
    r = await http.post(path, json=SURFACES[path], headers=bearer(key))
    assert r.status_code == 200, r.text
    detail = (await http.get(f"/api/jobs/{r.headers['x-job-id']}", headers=bearer(key))).json()
    (call,) = detail["calls"]
    provider_micros = call["prompt_tokens"] * 10_000 + call["completion_tokens"] * 20_000
    client_micros = 2 * provider_micros  # 100 % markup
    assert round(call["client_cost_usd"] * 1_000_000) == client_micros > 0
    credits = -(-client_micros * 100 // 1_000_000)  # 100 credits per dollar, rounded up
    assert detail["status"] == "completed"
    assert detail["costs"]["credits_charged"] == credits
    balance = await _balance(http, key)
    assert (balance["credits_used"], balance["credits_reserved"]) == (credits, 0)
    await _check_ledger(http, key)
