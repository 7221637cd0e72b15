"""Hostile clients against billing, over real HTTP (uvicorn on a loopback port) in front of the
upstream stub process, on SQLite and PostgreSQL: every way the last adversarial pass found to use
the LLM without paying, each as the client did it. ``greedy`` is the most an upstream may count
under the server's bound (a prompt token per UTF-8 byte, an answer as long as allowed), and
``gate-<name>`` holds a stream open after its last content chunk until the test releases it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from support import GROUP, ORG, TEAM, bearer, eventually, live_server

from saas_litellm_server import Settings, create_app

HI = [{"role": "user", "content": "Hi"}]
PRICED = {"input_cost_per_million": 1.0, "output_cost_per_million": 2.0}


@dataclass
class Server:
    http: httpx.AsyncClient
    upstream: str

    async def alias(self, name: str, model: str) -> str:
        r = await self.http.post(
            "/api/model-aliases/create",
            json={
                "model_alias": name,
                "access_groups": [GROUP],
                "deployments": [{"provider": "openai", "model": model, **PRICED}],
            },
        )
        assert r.status_code == 201, r.text
        return name

    async def gate(self) -> tuple[str, str]:
        """A new alias whose streams hold before their end: (alias, gate name)."""
        name = uuid.uuid4().hex[:12]
        return await self.alias(f"Gate-{name}", f"gate-{name}"), name

    async def release(self, gate: str) -> None:
        async with httpx.AsyncClient() as client:
            await client.post(f"{self.upstream}/_stub/release/{gate}")

    async def team(self, credits: int, team_id: str = TEAM, **budget: Any) -> Team:
        r = await self.http.post(
            "/api/teams/create",
            json={
                "organization_id": ORG,
                "team_id": team_id,
                "access_groups": [GROUP],
                "credits_allocated": credits,
                "default_model": "Greedy",
                **budget,
            },
        )
        assert r.status_code == 201, r.text
        return Team(self, team_id, r.json()["virtual_key"])

    async def sent(self) -> list[dict[str, Any]]:
        """The bodies the upstream received, oldest first."""
        async with httpx.AsyncClient() as client:
            log = (await client.get(f"{self.upstream}/_stub/requests")).json()
        return [entry["body"] for entry in log]


@dataclass
class Team:
    server: Server
    team_id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.key)

    async def post(self, path: str, body: Any, **headers: str) -> httpx.Response:
        return await self.server.http.post(path, json=body, headers={**self.headers, **headers})

    async def job(self, **limits: Any) -> str:
        body: dict[str, Any] = {"team_id": self.team_id, "job_type": "attack"}
        if limits:
            body["limits"] = limits
        r = await self.post("/api/jobs/create", body)
        assert r.status_code == 201, r.text
        job_id: str = r.json()["job_id"]
        return job_id

    async def detail(self, job_id: str) -> dict[str, Any]:
        r = await self.server.http.get(f"/api/jobs/{job_id}", headers=self.headers)
        assert r.status_code == 200, r.text
        detail: dict[str, Any] = r.json()
        return detail

    async def complete(self, job_id: str, status: str = "completed") -> dict[str, Any]:
        r = await self.post(f"/api/jobs/{job_id}/complete", {"status": status})
        assert r.status_code == 200, r.text
        costs: dict[str, Any] = r.json()["costs"]
        return costs

    async def balance(self) -> dict[str, Any]:
        r = await self.server.http.get("/api/credits/balance", headers=self.headers)
        assert r.status_code == 200, r.text
        balance: dict[str, Any] = r.json()
        return balance

    async def jobs(self) -> list[dict[str, Any]]:
        r = await self.server.http.get(f"/api/teams/{self.team_id}/jobs", headers=self.headers)
        assert r.status_code == 200, r.text
        jobs: list[dict[str, Any]] = r.json()["jobs"]
        return jobs

    async def check_ledger(self) -> None:
        """The ledger adds up to the balance; nothing is negative or overspent."""
        balance = await self.balance()
        r = await self.server.http.get(
            f"/api/teams/{self.team_id}/transactions?limit=500", headers=self.headers
        )
        rows = r.json()["transactions"]
        assert sum(t["credits"] for t in rows) == balance["credits_remaining"]
        assert balance["credits_used"] >= 0 and balance["credits_reserved"] >= 0
        assert balance["credits_used"] + balance["credits_reserved"] <= balance["credits_allocated"]


@pytest.fixture
async def server(upstream_settings: Settings, upstream: str) -> AsyncIterator[Server]:
    with live_server(create_app(upstream_settings)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            r = await http.post(
                "/api/organizations/create", json={"organization_id": ORG, "name": "ACME"}
            )
            assert r.status_code == 201, r.text
            r = await http.post("/api/model-access-groups/create", json={"group_name": GROUP})
            assert r.status_code == 201, r.text
            server = Server(http, upstream)
            await server.alias("Greedy", "greedy")
            yield server


async def _closed(team: Team, job_id: str) -> dict[str, Any] | None:
    """The single-call job, once its call is recorded and it is closed."""
    detail = await team.detail(job_id)
    return detail if detail["status"] != "in_progress" and detail["calls"] else None


async def _read_content_then_cut(
    response: httpx.Response | AsyncIterator[str], expected: int
) -> int:
    """Read content chunks until ``expected`` characters arrived, then stop reading (the
    caller closes the connection, or reads on from the same lines); the characters read."""
    lines = response.aiter_lines() if isinstance(response, httpx.Response) else response
    got = 0
    async for line in lines:
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        data = json.loads(line[6:])
        if "content" in data and data.get("type") == "chunk":  # native events
            got += len(data["content"])
        for choice in data.get("choices") or ():  # OpenAI's chunks
            got += len((choice.get("delta") or {}).get("content") or "")
        if got >= expected:
            break
    return got


# --- finding 1: a full answer for free by cutting the stream ---------------------------------


async def test_a_v1_stream_cut_after_its_whole_content_is_charged(server: Server) -> None:
    """The client reads every content chunk and hangs up before the final event: the call is
    ``cancelled`` with its tokens, its single-call job completed and charged; a team with one
    credit gets one such answer, not ten."""
    team = await server.team(credits=1)
    alias, gate = await server.gate()
    body = {"model": alias, "messages": HI, "stream": True, "max_tokens": 50}
    async with server.http.stream(
        "POST", "/v1/chat/completions", json=body, headers=team.headers
    ) as r:
        assert r.status_code == 200
        job_id = r.headers["x-job-id"]
        assert await _read_content_then_cut(r, 50) == 50
    await server.release(gate)
    detail = await eventually(lambda: _closed(team, job_id))
    assert detail["status"] == "completed" and detail["costs"]["credits_charged"] == 1
    (call,) = detail["calls"]
    assert (call["status"], call["completion_tokens"]) == ("cancelled", 50)
    assert call["prompt_tokens"] >= len(b"Hi")
    assert (await team.balance())["credits_remaining"] == 0
    again = await team.post("/v1/chat/completions", {**body, "model": "Greedy"})
    assert again.status_code == 402
    await team.check_ledger()


async def test_a_create_and_call_stream_cut_after_its_content_is_charged(
    server: Server,
) -> None:
    team = await server.team(credits=1)
    alias, gate = await server.gate()
    body = {
        "team_id": TEAM,
        "job_type": "chat",
        "model": alias,
        "messages": HI,
        "max_tokens": 30,
    }
    async with server.http.stream(
        "POST", "/api/jobs/create-and-call-stream", json=body, headers=team.headers
    ) as r:
        assert r.status_code == 200
        job_id = r.headers["x-job-id"]
        assert await _read_content_then_cut(r, 30) == 30
    await server.release(gate)
    detail = await eventually(lambda: _closed(team, job_id))
    assert (detail["status"], detail["calls"][0]["status"]) == ("completed", "cancelled")
    balance = await team.balance()
    assert (balance["credits_used"], balance["credits_remaining"]) == (1, 0)
    r = await team.post("/api/jobs/create-and-call-stream", {**body, "model": "Greedy"})
    assert r.status_code == 402
    await team.check_ledger()


async def test_a_job_made_only_of_cut_calls_is_charged_for_their_tokens(server: Server) -> None:
    """consumption_tokens: cut calls are used calls, so the job is billable; their tokens are
    what the server can bound (the prompt's, and what reached the client)."""
    team = await server.team(credits=1000, budget_mode="consumption_tokens", tokens_per_credit=10)
    job_id = await team.job()
    for _ in range(2):
        alias, gate = await server.gate()
        body = {"model": alias, "messages": HI, "max_tokens": 40}
        async with server.http.stream(
            "POST", f"/api/jobs/{job_id}/llm-call-stream", json=body, headers=team.headers
        ) as r:
            assert await _read_content_then_cut(r, 40) == 40
        await server.release(gate)

    async def recorded() -> list[dict[str, Any]] | None:
        calls = (await team.detail(job_id))["calls"]
        return calls if len(calls) == 2 and all(c["status"] != "streaming" for c in calls) else None

    calls = await eventually(recorded)
    assert [c["status"] for c in calls] == ["cancelled", "cancelled"]
    tokens = sum(c["total_tokens"] for c in calls)
    costs = await team.complete(job_id)
    assert costs["credit_applied"] and costs["total_tokens"] == tokens
    assert costs["credits_charged"] == -(-tokens // 10) > 0
    await team.check_ledger()


# --- finding 2: calls streaming when the job is completed -------------------------------------


async def test_calls_streaming_when_their_job_completes_are_charged(server: Server) -> None:
    """Five streams in flight when ``complete`` arrives: the job closes (no call may start),
    holds what they may cost, and is settled — every token charged — when the last one ends."""
    team = await server.team(credits=10_000, budget_mode="consumption_tokens", tokens_per_credit=1)
    job_id = await team.job()
    warm = await team.post(f"/api/jobs/{job_id}/llm-call", {"messages": HI, "max_tokens": 20})
    assert warm.status_code == 200
    gates = [await server.gate() for _ in range(5)]
    streams = []
    for i, (alias, _) in enumerate(gates):
        body = {"model": alias, "messages": HI, "max_tokens": 100 * (i + 1)}
        request = server.http.build_request(
            "POST", f"/api/jobs/{job_id}/llm-call-stream", json=body, headers=team.headers
        )
        response = await server.http.send(request, stream=True)
        lines = response.aiter_lines()
        assert await _read_content_then_cut(lines, 100 * (i + 1)) == 100 * (i + 1)
        streams.append((response, lines))
    costs = await team.complete(job_id)  # the five are still open, their content delivered
    assert (costs["calls_in_flight"], costs["credits_charged"]) == (5, 0)
    assert costs["credit_reason"] == "calls in flight: settled when they end"
    assert costs["credits_reserved"] >= 20 + 100 + 200 + 300 + 400 + 500
    r = await team.post(f"/api/jobs/{job_id}/llm-call", {"messages": HI})
    assert r.status_code == 409  # closed: nothing new starts
    for (_, gate), (response, lines) in zip(gates, streams):
        await server.release(gate)
        assert "event: done" in [line async for line in lines]
        await response.aclose()

    async def settled() -> dict[str, Any] | None:
        detail = await team.detail(job_id)
        return detail if detail["costs"]["credits_charged"] else None

    detail = await eventually(settled)
    tokens = sum(c["total_tokens"] for c in detail["calls"])
    assert [c["status"] for c in detail["calls"]] == ["success"] * 6
    assert detail["costs"]["credits_charged"] == tokens == detail["costs"]["total_tokens"]
    assert tokens >= 20 + 100 + 200 + 300 + 400 + 500
    balance = await team.balance()
    assert (balance["credits_used"], balance["credits_reserved"]) == (tokens, 0)
    await team.check_ledger()


async def test_a_job_based_job_completed_while_its_only_call_streams_is_charged(
    server: Server,
) -> None:
    team = await server.team(credits=1)
    job_id = await team.job()
    alias, gate = await server.gate()
    body = {"model": alias, "messages": HI, "max_tokens": 10}
    request = server.http.build_request(
        "POST", f"/api/jobs/{job_id}/llm-call-stream", json=body, headers=team.headers
    )
    response = await server.http.send(request, stream=True)
    lines = response.aiter_lines()
    assert await _read_content_then_cut(lines, 10) == 10
    costs = await team.complete(job_id)
    assert (costs["credits_charged"], costs["credits_reserved"]) == (0, 1)
    await server.release(gate)
    assert "event: done" in [line async for line in lines]
    await response.aclose()
    detail = await eventually(lambda: _charged(team, job_id))
    assert detail["costs"]["credits_charged"] == 1
    assert (await team.balance())["credits_remaining"] == 0
    await team.check_ledger()


async def test_a_job_based_job_with_an_answer_settles_at_once_whatever_still_streams(
    server: Server,
) -> None:
    """Once a job_based job has a billable call, whatever its other calls do it costs one
    credit if completed: a call still streaming does not hold its settlement back."""
    team = await server.team(credits=3)
    job_id = await team.job()
    r = await team.post(f"/api/jobs/{job_id}/llm-call", {"messages": HI, "max_tokens": 5})
    assert r.status_code == 200
    alias, gate = await server.gate()
    body = {"model": alias, "messages": HI, "max_tokens": 10}
    request = server.http.build_request(
        "POST", f"/api/jobs/{job_id}/llm-call-stream", json=body, headers=team.headers
    )
    response = await server.http.send(request, stream=True)
    lines = response.aiter_lines()
    assert await _read_content_then_cut(lines, 10) == 10
    costs = await team.complete(job_id)
    assert (costs["credits_charged"], costs["credits_reserved"]) == (1, 0)
    await server.release(gate)
    assert "event: done" in [line async for line in lines]
    await response.aclose()
    detail = await team.detail(job_id)
    assert [c["status"] for c in detail["calls"]] == ["success", "success"]
    assert detail["costs"]["total_tokens"] == sum(c["total_tokens"] for c in detail["calls"])
    assert detail["costs"]["credits_charged"] == 1
    assert (await team.balance())["credits_remaining"] == 2
    await team.check_ledger()


async def _charged(team: Team, job_id: str) -> dict[str, Any] | None:
    detail = await team.detail(job_id)
    return detail if detail["costs"]["credits_charged"] else None


# --- finding 3: max_completion_tokens bypassed the reservation --------------------------------


async def test_max_completion_tokens_is_the_one_output_limit(server: Server) -> None:
    team = await server.team(credits=5000, budget_mode="consumption_tokens", tokens_per_credit=1)
    # an upstream following the newer field would use 100,000 tokens: that does not fit
    r = await team.post(
        "/v1/chat/completions",
        {"model": "Greedy", "messages": HI, "max_completion_tokens": 100_000},
    )
    assert r.status_code == 402 and r.json()["error"]["code"] == "insufficient_credits"
    assert await server.sent() == []
    r = await team.post(
        "/v1/chat/completions",
        {"model": "Greedy", "messages": HI, "max_completion_tokens": 1000},
    )
    assert r.status_code == 200, r.text
    (sent,) = await server.sent()
    assert sent["max_completion_tokens"] == 1000 and "max_tokens" not in sent  # exactly one
    assert r.json()["usage"]["completion_tokens"] == 1000
    # both, and different: one limit cannot be two
    r = await team.post(
        "/v1/chat/completions",
        {"model": "Greedy", "messages": HI, "max_tokens": 10, "max_completion_tokens": 20},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
    assert r.json()["error"]["param"] == "max_completion_tokens"
    r = await team.post(
        "/v1/chat/completions",
        {"model": "Greedy", "messages": HI, "max_tokens": 10, "max_completion_tokens": 10},
    )
    assert r.status_code == 200
    sent = (await server.sent())[-1]
    assert [(k, v) for k, v in sent.items() if k.startswith("max_")] == [("max_tokens", 10)]
    # a job's limit holds against the newer field too
    job_id = await team.job(max_tokens=500)
    r = await team.post(
        "/v1/chat/completions",
        {"model": "Greedy", "messages": HI, "max_completion_tokens": 100_000},
        **{"X-Job-Id": job_id},
    )
    assert r.status_code == 402 and r.json()["error"]["code"] == "job_budget_exceeded"
    r = await team.post(
        "/v1/chat/completions",
        {"model": "Greedy", "messages": HI, "max_completion_tokens": 400},
        **{"X-Job-Id": job_id},
    )
    assert r.status_code == 200
    assert (await team.complete(job_id))["total_tokens"] <= 500
    await team.check_ledger()


# --- finding 4: the prompt estimate undercounted -----------------------------------------------


async def test_a_cjk_prompt_is_reserved_by_its_bytes(server: Server) -> None:
    """3,000 CJK characters are 9,000 UTF-8 bytes: against an upstream counting a token per
    byte, the call needs more than the team's 1,000 credits (and a limit of 1,000 tokens), so
    it never goes upstream."""
    team = await server.team(credits=1000, budget_mode="consumption_tokens", tokens_per_credit=1)
    prompt = [{"role": "user", "content": "漢" * 3000}]
    job_id = await team.job()
    r = await team.post(f"/api/jobs/{job_id}/llm-call", {"messages": prompt, "max_tokens": 10})
    assert r.status_code == 402 and r.json()["error"]["type"] == "insufficient_credits"
    limited = await team.job(max_tokens=1000)
    r = await team.post(f"/api/jobs/{limited}/llm-call", {"messages": prompt, "max_tokens": 10})
    assert r.status_code == 402 and r.json()["error"]["type"] == "job_budget_exceeded"
    assert await server.sent() == []
    for job in (job_id, limited):
        assert (await team.complete(job))["credits_charged"] == 0
    balance = await team.balance()
    assert (balance["credits_used"], balance["credits_reserved"]) == (0, 0)


@pytest.mark.parametrize(
    ("limits", "text"),
    [
        ({"max_tokens": 300}, "word " * 50),
        ({"max_cost_usd": 0.30}, "é" * 100),
    ],
    ids=["max_tokens", "max_cost_usd"],
)
async def test_calls_against_a_greedy_upstream_never_pass_a_limit(
    server: Server, limits: dict[str, Any], text: str
) -> None:
    """Call after call, each as long as allowed: the job stops before its limit, never after."""
    r = await server.http.post(
        "/api/model-aliases/create",
        json={
            "model_alias": "Dear",
            "access_groups": [GROUP],
            "deployments": [
                {
                    "provider": "openai",
                    "model": "greedy",
                    "input_cost_per_million": 1000.0,
                    "output_cost_per_million": 2000.0,
                }
            ],
        },
    )
    assert r.status_code == 201, r.text
    team = await server.team(credits=10_000)
    job_id = await team.job(**limits)
    answers = 0
    for max_tokens in (60, 30, 20, 10, 5, 1):
        while True:
            r = await team.post(
                f"/api/jobs/{job_id}/llm-call",
                {
                    "model": "Dear",
                    "messages": [{"role": "user", "content": text}],
                    "max_tokens": max_tokens,
                },
            )
            if r.status_code != 200:
                assert r.status_code == 402 and r.json()["error"]["type"] == "job_budget_exceeded"
                break
            answers += 1
    costs = (await team.detail(job_id))["costs"]
    assert answers > 0
    if "max_tokens" in limits:
        assert costs["total_tokens"] <= limits["max_tokens"]
    else:
        assert costs["total_cost_usd"] <= limits["max_cost_usd"]


# --- finding 7: a refused single call leaves nothing; JSON types are not coerced --------------


async def test_a_consumption_402_on_a_single_call_leaves_no_job(server: Server) -> None:
    team = await server.team(credits=100, budget_mode="consumption_tokens", tokens_per_credit=1)
    before = await team.balance()
    for path, body in (
        (
            "/api/jobs/create-and-call",
            {"team_id": TEAM, "job_type": "x", "messages": HI, "max_tokens": 1000},
        ),
        (
            "/api/jobs/create-and-call-stream",
            {"team_id": TEAM, "job_type": "x", "messages": HI, "max_tokens": 1000},
        ),
        ("/v1/chat/completions", {"model": "Greedy", "messages": HI, "max_tokens": 1000}),
        (
            "/v1/chat/completions",
            {"model": "Greedy", "messages": HI, "max_tokens": 1000, "stream": True},
        ),
    ):
        r = await team.post(path, body)
        assert r.status_code == 402, (path, r.text)
        assert "x-job-id" not in r.headers
    assert await team.jobs() == []
    assert await team.balance() == before
    assert await server.sent() == []


@pytest.mark.parametrize(
    "extra",
    [{"stream": "yes"}, {"stream": 1}, {"n": True}, {"n": "1"}, {"temperature": "0.5"}],
    ids=["stream-yes", "stream-1", "n-true", "n-string", "temperature-string"],
)
async def test_json_types_are_not_coerced(server: Server, extra: dict[str, Any]) -> None:
    team = await server.team(credits=5)
    r = await team.post("/v1/chat/completions", {"model": "Greedy", "messages": HI, **extra})
    assert r.status_code in (400, 422), r.text
    (field,) = extra
    assert field in r.json()["error"]["message"] or r.json()["error"]["param"] == field
    assert await team.jobs() == [] and await server.sent() == []


# --- finding 8: a superseded single call; the provider's cost -----------------------------------


async def test_a_single_call_whose_lease_lapsed_costs_one_credit_with_its_retry(
    upstream_settings: Settings, upstream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A keyed create-and-call whose lease lapses (its renewals fail) while the upstream works:
    its retry takes the key over and answers. The first one's answer is never given, so its
    job is failed, not left for the sweep to complete: one answer, one credit."""
    from saas_litellm_server.services import idempotency

    async def no_renewal(db: Any, claim: Any) -> None:
        return None

    monkeypatch.setattr(idempotency, "keep_alive", no_renewal)
    quick_lease = upstream_settings.model_copy(update={"idempotency_lease_seconds": 0.3})
    with live_server(create_app(quick_lease)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await http.post("/api/organizations/create", json={"organization_id": ORG, "name": "A"})
            await http.post("/api/model-access-groups/create", json={"group_name": GROUP})
            server = Server(http, upstream)
            await server.alias("Greedy", "greedy")
            await server.alias("Sleepy", "sleep-1")
            team = await server.team(credits=5)
            body = {"team_id": TEAM, "job_type": "x", "model": "Sleepy", "messages": HI}
            headers = {"Idempotency-Key": "lapses"}
            first = asyncio.create_task(team.post("/api/jobs/create-and-call", body, **headers))
            await asyncio.sleep(0.5)  # the first one's lease has lapsed; it still works
            retry = await team.post("/api/jobs/create-and-call", body, **headers)
            assert retry.status_code == 200, retry.text
            lost = await first
            assert lost.status_code == 409 and lost.json()["error"]["param"] == "Idempotency-Key"
            jobs = {j["job_id"]: j["status"] for j in await team.jobs()}
            assert jobs[retry.headers["x-job-id"]] == "completed"
            assert sorted(jobs.values()) == ["completed", "failed"]
            balance = await team.balance()
            assert (balance["credits_used"], balance["credits_reserved"]) == (1, 0)
            await team.check_ledger()


async def test_the_team_key_sees_its_cost_but_never_the_providers(server: Server) -> None:
    team = await server.team(credits=5, markup_percent=50.0)
    job_id = await team.job()
    r = await team.post(f"/api/jobs/{job_id}/llm-call", {"messages": HI, "max_tokens": 1000})
    assert r.status_code == 200
    (call,) = (await team.detail(job_id))["calls"]
    # 2 prompt tokens at $1/M and 1,000 completion tokens at $2/M, plus 50 %
    assert call["client_cost_usd"] == call["cost_usd"] == 0.003003
    assert call["provider_cost_usd"] is None
