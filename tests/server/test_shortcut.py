"""The single-call shortcut (services/shortcut.py, ``POST /api/jobs/create-and-call`` and
``…/create-and-call-stream``): one request opens a job, makes its call and settles it — completed
(one credit) when the call succeeded, failed (nothing) when the upstream failed or the client
left — over real HTTP against the upstream stub process, on both database backends."""

from __future__ import annotations

import gc
import json
import weakref
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from support import GROUP, TEAM, bearer, create_team, eventually, ledger, live_server

from saas_litellm_models import (
    CreateAndCallResponse,
    JobCreateRequest,
    LLMCallRequest,
    StreamDone,
    parse_stream_event,
)
from saas_litellm_server import Settings, create_app
from saas_litellm_server.services import auth, calls, idempotency, shortcut
from saas_litellm_server.store import idempotency_sql

MSG = [{"role": "user", "content": "Summarize this please"}]
ALIASES = {
    "Echo": ["echo"],
    "Broken": ["error-500"],
    "Rejects": ["error-400"],
    "Slow": ["slow-0.3"],
}


class Team:
    def __init__(self, http: httpx.AsyncClient, key: str) -> None:
        self.http, self.key, self.headers = http, key, bearer(key)

    def body(self, model: str = "Echo", **extra: Any) -> dict[str, Any]:
        return {"team_id": TEAM, "job_type": "summary", "messages": MSG, "model": model, **extra}

    async def call(self, model: str = "Echo", **extra: Any) -> httpx.Response:
        headers = {**self.headers, **extra.pop("headers", {})}
        return await self.http.post(
            "/api/jobs/create-and-call", json=self.body(model, **extra), headers=headers
        )

    async def stream(self, model: str = "Echo", **extra: Any) -> tuple[httpx.Response, list[Any]]:
        headers = {**self.headers, **extra.pop("headers", {})}
        r = await self.http.post(
            "/api/jobs/create-and-call-stream", json=self.body(model, **extra), headers=headers
        )
        events = [
            parse_stream_event(line[6:]) for line in r.text.splitlines() if line[:6] == "data: "
        ]
        return r, events

    async def job(self, job_id: str) -> dict[str, Any]:
        r = await self.http.get(f"/api/jobs/{job_id}", headers=self.headers)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    async def balance(self) -> dict[str, Any]:
        data: dict[str, Any] = (await ledger(self.http, self.key))["balance"]
        return data


@pytest.fixture
async def team(upstream_settings: Settings) -> AsyncIterator[Team]:
    with live_server(create_app(upstream_settings)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            key = await create_team(http, credits=10)
            for alias, models in ALIASES.items():
                r = await http.post(
                    "/api/model-aliases/create",
                    json={
                        "model_alias": alias,
                        "access_groups": [GROUP],
                        "deployments": [
                            {
                                "provider": "openai",
                                "model": m,
                                "input_cost_per_million": 1.0,
                                "output_cost_per_million": 2.0,
                            }
                            for m in models
                        ],
                    },
                )
                assert r.status_code == 201, r.text
            yield Team(http, key)


async def test_create_and_call_completes_the_job_for_one_credit(team: Team) -> None:
    r = await team.call(metadata={"doc": "q3.pdf"}, user_id="u-7")
    assert r.status_code == 200, r.text
    answer = CreateAndCallResponse.model_validate_json(r.content)
    assert r.headers["x-job-id"] == answer.job_id
    assert answer.content == "stub answer: Summarize this please"
    assert answer.costs.credit_applied and answer.costs.credits_remaining == 9
    assert (answer.costs.total_calls, answer.costs.successful_calls) == (1, 1)
    job = await team.job(answer.job_id)
    assert (job["status"], job["job_type"], job["user_id"]) == ("completed", "summary", "u-7")
    assert job["metadata"] == {"doc": "q3.pdf"}
    (call,) = job["calls"]
    assert call["call_id"] == answer.call_id
    assert call["total_tokens"] == answer.usage.total_tokens > 0 and call["cost_usd"] > 0
    balance = await team.balance()
    assert (balance["credits_remaining"], balance["credits_reserved"]) == (9, 0)


@pytest.mark.parametrize(("model", "status"), [("Broken", 502), ("Rejects", 400)])
async def test_an_upstream_failure_fails_the_job_and_costs_nothing(
    team: Team, model: str, status: int
) -> None:
    r = await team.call(model)
    assert r.status_code == status, r.text
    assert "127.0.0.1" not in r.text and "sk-upstream" not in r.text
    job = await team.job(r.headers["x-job-id"])
    if status == 400:  # a refusal the upstream gave is kept: a replay names the failed job too
        first = await team.call(model, headers={"Idempotency-Key": "fail-1"})
        again = await team.call(model, headers={"Idempotency-Key": "fail-1"})
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["x-job-id"] == first.headers["x-job-id"]
    assert job["status"] == "failed" and not job["costs"]["credit_applied"]
    assert [c["status"] for c in job["calls"]] == ["failed"]
    balance = await team.balance()
    assert (balance["credits_remaining"], balance["credits_reserved"]) == (10, 0)


async def test_refusals_leave_no_job_behind(team: Team) -> None:
    before = await ledger(team.http, team.key)
    for body, status in [
        ({"model": "Nope"}, 400),  # unknown model
        ({"team_id": "other-team"}, 403),  # not the key's team
        ({"job_type": ""}, 422),
        ({"messages": []}, 422),
        ({"temperature": "hot"}, 422),
    ]:
        r = await team.http.post(
            "/api/jobs/create-and-call", json={**team.body(), **body}, headers=team.headers
        )
        assert r.status_code == status, (body, r.text)
        assert "x-job-id" not in r.headers
    assert await ledger(team.http, team.key) == before


async def test_no_credit_left_is_402_and_opens_nothing(team: Team) -> None:
    for _ in range(10):
        assert (await team.call()).status_code == 200
    before = await ledger(team.http, team.key)
    r = await team.call()
    assert r.status_code == 402 and r.json()["error"]["type"] == "insufficient_credits"
    assert await ledger(team.http, team.key) == before


async def test_an_idempotency_key_replays_the_settled_answer_without_charging_again(
    team: Team,
) -> None:
    first = await team.call(headers={"Idempotency-Key": "shortcut-1"})
    again = await team.call(headers={"Idempotency-Key": "shortcut-1"})
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()  # costs included: kept with the settlement
    assert again.headers["x-job-id"] == first.headers["x-job-id"]
    assert (await team.balance())["credits_remaining"] == 9
    other = await team.call("Echo", headers={"Idempotency-Key": "shortcut-1"}, job_type="x")
    assert other.status_code == 422  # the same key for another request


async def test_create_and_call_stream_settles_in_the_done_event(team: Team) -> None:
    r, events = await team.stream()
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    *chunks, done = events
    assert "".join(c.content for c in chunks) == "stub answer: Summarize this please"
    assert done.type == "done" and done.job_id == r.headers["x-job-id"]
    assert done.costs is not None and done.costs.credit_applied
    assert done.costs.credits_remaining == 9
    job = await team.job(done.job_id)
    assert job["status"] == "completed" and job["calls"][0]["streamed"]


async def test_a_stream_that_fails_upstream_fails_its_job(team: Team) -> None:
    r, events = await team.stream("Broken")
    # as llm-call-stream answers it: one error event instead of done
    assert r.status_code == 200 and [e.type for e in events] == ["error"]
    assert events[0].error.type == "upstream_error" and "10.0.0.1" not in r.text
    job = await team.job(r.headers["x-job-id"])
    assert job["status"] == "failed"
    assert (await team.balance())["credits_remaining"] == 10


async def test_a_stream_the_client_leaves_after_content_completes_its_job_and_is_charged(
    team: Team, upstream: str
) -> None:
    """What was delivered is paid for: a stream cut after its first chunk is a used call
    (``cancelled``, its tokens recorded) and its single-call job is completed and charged."""
    async with team.http.stream(
        "POST", "/api/jobs/create-and-call-stream", json=team.body("Slow"), headers=team.headers
    ) as r:
        job_id = r.headers["x-job-id"]
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                break  # the user closes the tab after the first chunk

    async def settled() -> dict[str, Any] | None:
        job = await team.job(job_id)
        return job if job["status"] != "in_progress" and job["calls"] else None

    job = await eventually(settled)
    assert job["status"] == "completed" and job["costs"]["credit_applied"]
    assert job["costs"]["cancelled_calls"] == 1
    (call,) = job["calls"]
    assert (call["status"], call["error_type"]) == ("cancelled", "client_disconnected")
    assert call["completion_tokens"] > 0
    balance = await team.balance()
    assert (balance["credits_remaining"], balance["credits_reserved"]) == (9, 0)
    log = httpx.get(f"{upstream}/_stub/requests").json()
    assert log[-1]["ended"] == "cancelled"


async def test_a_streamed_idempotency_key_replays_the_whole_stream(team: Team) -> None:
    first, events = await team.stream(headers={"Idempotency-Key": "stream-1"})
    again, replayed = await team.stream(headers={"Idempotency-Key": "stream-1"})
    assert again.headers["idempotent-replayed"] == "true"
    assert again.text == first.text and replayed[-1].costs == events[-1].costs
    assert again.headers["x-job-id"] == first.headers["x-job-id"]
    assert (await team.balance())["credits_remaining"] == 9


async def test_the_done_event_is_the_last_and_every_data_line_is_json(team: Team) -> None:
    r, _ = await team.stream()
    data = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert [json.loads(d)["type"] for d in data][-1] == "done"
    assert all(json.loads(d)["type"] == "chunk" for d in data[:-1])


@pytest.mark.parametrize("key", [None, "stream-kept"])
async def test_a_stream_holds_what_it_sent_only_when_a_replay_needs_it(
    app: Starlette, http: httpx.AsyncClient, key: str | None
) -> None:
    """In process, at the service (the objects are the observable): without an Idempotency-Key
    the chunks a single-call stream sent are let go as soon as they are sent; with one they are
    held until the settlement keeps them, and the replay kept is exactly the stream sent."""
    runtime = app.state.runtime
    team = await auth.team_for_key(runtime, await create_team(http))
    assert team is not None
    claim: idempotency.Claim | None = None
    if key is not None:
        settings = runtime.settings
        begun = await idempotency.begin(
            runtime.db,
            f"team:{TEAM}",
            key,
            "print",
            ttl=settings.idempotency_ttl_seconds,
            lease=settings.idempotency_lease_seconds,
        )
        assert isinstance(begun, idempotency.Claim)
        claim = begun
    single = await shortcut.open_single_call(
        runtime,
        team,
        JobCreateRequest(team_id=TEAM, job_type="summary"),
        LLMCallRequest(messages=MSG),
        claim=claim,
    )
    streamed: list[Any] = []
    chunks: list[weakref.ref[Any]] = []
    held_at_done = -1
    async for event in shortcut.stream_single_call(runtime, single):
        if isinstance(event, StreamDone):
            gc.collect()
            held_at_done = sum(ref() is not None for ref in chunks)
        else:
            chunks.append(weakref.ref(event))
        streamed.append(event.model_copy())
        del event
    assert len(chunks) >= 3 and isinstance(streamed[-1], StreamDone)
    if key is None:
        assert held_at_done == 0
        return
    assert held_at_done == len(chunks)
    row = await idempotency_sql.get(runtime.db, f"team:{TEAM}", key)
    assert row is not None and row["state"] == "done"
    headers, body = idempotency.split_headers(row["body"])
    assert headers == {shortcut.JOB_ID_HEADER: single.job_id}
    assert body == calls.as_sse(streamed).decode()
