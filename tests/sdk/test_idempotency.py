"""``Idempotency-Key``: on every POST, one per logical call, the same on all of its retries."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel

from saas_litellm_client import (
    ConflictError,
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
    UnprocessableEntityError,
)

MESSAGES = [{"role": "user", "content": "hi"}]
NOW = "2026-01-01T00:00:00Z"
COSTS = {
    "total_calls": 1,
    "successful_calls": 1,
    "failed_calls": 0,
    "total_tokens": 2,
    "total_cost_usd": 0.0,
    "avg_latency_ms": 1.0,
    "credit_applied": True,
    "credits_remaining": 9,
}
JOB = {
    "job_id": "job_123",
    "team_id": "acme-corp",
    "job_type": "x",
    "status": "pending",
    "created_at": NOW,
}
CALL = {
    "call_id": "call_1",
    "job_id": "job_123",
    "model": "ChatAgent",
    "response": {"role": "assistant", "content": "hello", "finish_reason": "stop"},
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    "latency_ms": 1.0,
}
COMPLETION = {"job_id": "job_123", "status": "completed", "completed_at": NOW, "costs": COSTS}
BALANCE = {
    "team_id": "acme-corp",
    "credits_allocated": 10,
    "credits_used": 1,
    "credits_reserved": 0,
    "credits_remaining": 9,
    "credits_available": 9,
}
TEAM = {
    "team_id": "acme-corp",
    "organization_id": "org",
    "team_alias": None,
    "access_groups": [],
    "credits_allocated": 10,
    "credits_used": 0,
    "credits_reserved": 0,
    "credits_remaining": 10,
    "status": "active",
    "created_at": NOW,
}
TEAM_CREATED = {
    "team_id": "acme-corp",
    "organization_id": "org",
    "access_groups": [],
    "virtual_key": "sk-new",
    "credits_allocated": 10,
    "credits_remaining": 10,
}
STREAM = (
    b'event: done\nid: 1\ndata: {"type": "done", "call_id": "c", "job_id": "job_123", '
    b'"model": "m", "finish_reason": "stop", "usage": {"prompt_tokens": 1, '
    b'"completion_tokens": 1, "total_tokens": 2}, "latency_ms": 1.0}\n\n'
)

Call = Callable[[SaasLiteLLMClient, SaasLiteLLMAdminClient], Awaitable[object]]


async def _stream(client: SaasLiteLLMClient, **kwargs: Any) -> object:
    return await client.stream(job_id="job_123", messages=MESSAGES, **kwargs).until_done()


# Every POST method: (name, url path, response, call with extra kwargs)
POSTS: list[tuple[str, str, httpx.Response, Callable[..., Awaitable[object]]]] = [
    (
        "create_job",
        "/api/jobs/create",
        httpx.Response(201, json=JOB),
        lambda c, a, **kw: c.create_job("x", **kw),
    ),
    (
        "llm_call",
        "/api/jobs/job_123/llm-call",
        httpx.Response(200, json=CALL),
        lambda c, a, **kw: c.llm_call(job_id="job_123", messages=MESSAGES, **kw),
    ),
    (
        "stream",
        "/api/jobs/job_123/llm-call-stream",
        httpx.Response(200, content=STREAM, headers={"content-type": "text/event-stream"}),
        lambda c, a, **kw: _stream(c, **kw),
    ),
    (
        "complete_job",
        "/api/jobs/job_123/complete",
        httpx.Response(200, json=COMPLETION),
        lambda c, a, **kw: c.complete_job("job_123", **kw),
    ),
    (
        "create_organization",
        "/api/organizations/create",
        httpx.Response(201, json={"organization_id": "org", "name": "Org", "created_at": NOW}),
        lambda c, a, **kw: a.create_organization("org", "Org", **kw),
    ),
    (
        "create_model_access_group",
        "/api/model-access-groups/create",
        httpx.Response(201, json={"group_name": "g", "created_at": NOW}),
        lambda c, a, **kw: a.create_model_access_group("g", **kw),
    ),
    (
        "create_model_alias",
        "/api/model-aliases/create",
        httpx.Response(
            201,
            json={
                "model_alias": "M",
                "access_groups": [],
                "deployments": [{"provider": "mock", "model": "m"}],
                "created_at": NOW,
            },
        ),
        lambda c, a, **kw: a.create_model_alias(
            "M", deployments=[{"provider": "mock", "model": "m"}], **kw
        ),
    ),
    (
        "create_team",
        "/api/teams/create",
        httpx.Response(201, json=TEAM_CREATED),
        lambda c, a, **kw: a.create_team("org", "acme-corp", **kw),
    ),
    (
        "add_credits",
        "/api/teams/acme-corp/credits/add",
        httpx.Response(200, json=BALANCE),
        lambda c, a, **kw: a.add_credits("acme-corp", 5, **kw),
    ),
    (
        "rotate_key",
        "/api/teams/acme-corp/rotate-key",
        httpx.Response(200, json={"team_id": "acme-corp", "virtual_key": "sk-rotated"}),
        lambda c, a, **kw: a.rotate_key("acme-corp", **kw),
    ),
]
"""Every POST the server de-duplicates under an Idempotency-Key (``x`` in the contract test)."""

STATE_POSTS: list[tuple[str, str, httpx.Response, Callable[..., Awaitable[object]]]] = [
    (
        "suspend_team",
        "/api/teams/acme-corp/suspend",
        httpx.Response(200, json={**TEAM, "status": "suspended"}),
        lambda a: a.suspend_team("acme-corp"),
    ),
    (
        "resume_team",
        "/api/teams/acme-corp/resume",
        httpx.Response(200, json=TEAM),
        lambda a: a.resume_team("acme-corp"),
    ),
    (
        "set_limits",
        "/api/teams/acme-corp/limits",
        httpx.Response(200, json=TEAM),
        lambda a: a.set_limits("acme-corp", rpm_limit=60),
    ),
]
"""POSTs the server does not de-duplicate: each sets a state, harmless to repeat."""


def _key(request: httpx.Request) -> str | None:
    return request.headers.get("Idempotency-Key")


@pytest.mark.parametrize(("name", "path", "response", "call"), POSTS, ids=[p[0] for p in POSTS])
async def test_every_post_carries_a_fresh_key_the_same_on_its_retries(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    admin_client: SaasLiteLLMAdminClient,
    name: str,
    path: str,
    response: httpx.Response,
    call: Callable[..., Awaitable[object]],
) -> None:
    refused = httpx.Response(503, json={"error": {"type": "x", "message": "busy"}})
    route = respx_mock.post(f"http://api.test{path}").mock(
        side_effect=[refused, response, refused, response]
    )

    await call(team_client, admin_client)  # 503, then the answer: one logical call
    await call(team_client, admin_client)  # the next logical call

    keys = [_key(c.request) for c in route.calls]
    assert route.call_count == 4
    assert all(key and re.fullmatch(r"saas-litellm-[0-9a-f]{32}", key) for key in keys)
    assert keys[0] == keys[1]
    assert keys[2] == keys[3]
    assert keys[0] != keys[2]


@pytest.mark.parametrize(("name", "path", "response", "call"), POSTS, ids=[p[0] for p in POSTS])
async def test_a_callers_own_key_is_sent_on_every_attempt(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    admin_client: SaasLiteLLMAdminClient,
    name: str,
    path: str,
    response: httpx.Response,
    call: Callable[..., Awaitable[object]],
) -> None:
    route = respx_mock.post(f"http://api.test{path}").mock(
        side_effect=[httpx.ConnectError("refused"), response]
    )

    await call(team_client, admin_client, idempotency_key=f"my-{name}-1")

    assert [_key(c.request) for c in route.calls] == [f"my-{name}-1"] * 2


@pytest.mark.parametrize(
    ("name", "path", "response", "call"), STATE_POSTS, ids=[p[0] for p in STATE_POSTS]
)
async def test_posts_the_server_does_not_de_duplicate_carry_no_key_and_are_retried(
    respx_mock: respx.MockRouter,
    admin_client: SaasLiteLLMAdminClient,
    name: str,
    path: str,
    response: httpx.Response,
    call: Callable[..., Awaitable[object]],
) -> None:
    route = respx_mock.post(f"http://api.test{path}").mock(
        side_effect=[httpx.ReadTimeout("read"), response]
    )

    await call(admin_client)

    assert route.call_count == 2
    assert all("Idempotency-Key" not in c.request.headers for c in route.calls)


async def test_gets_carry_no_key(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.get("http://api.test/api/credits/balance").respond(200, json=BALANCE)

    await team_client.get_balance()

    assert "Idempotency-Key" not in route.calls.last.request.headers


async def test_the_key_cannot_be_overridden_by_default_headers(
    respx_mock: respx.MockRouter,
) -> None:
    route = respx_mock.post("http://api.test/api/jobs/create").respond(201, json=JOB)

    async with SaasLiteLLMClient(
        "http://api.test", "acme-corp", "sk-k", default_headers={"Idempotency-Key": "fixed"}
    ) as client:
        await client.create_job("x")
        await client.create_job("x")

    keys = [_key(c.request) for c in route.calls]
    assert "fixed" not in keys
    assert keys[0] != keys[1]


@pytest.mark.parametrize("bad", ["", "x" * 256, "has space", "caf\u00e9", "tab\there"])
@pytest.mark.respx(assert_all_called=False)
async def test_an_unusable_key_fails_before_sending(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, bad: str
) -> None:
    route = respx_mock.route()

    with pytest.raises(ValueError, match="idempotency_key"):
        await team_client.create_job("x", idempotency_key=bad)
    with pytest.raises(ValueError, match="idempotency_key"):
        team_client.stream(job_id="job_123", messages=MESSAGES, idempotency_key=bad)

    assert not route.called


async def test_a_conflict_for_a_key_still_in_flight_is_not_retried(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, sleeps: list[float]
) -> None:
    route = respx_mock.post("http://api.test/api/jobs/job_123/llm-call").respond(
        409,
        json={
            "error": {
                "type": "conflict",
                "message": "a request with this Idempotency-Key is still being processed",
            }
        },
    )

    with pytest.raises(ConflictError, match="still being processed") as info:
        await team_client.llm_call(job_id="job_123", messages=MESSAGES, idempotency_key="k-1")

    assert route.call_count == 1
    assert sleeps == []
    assert info.value.response.request.headers["Idempotency-Key"] == "k-1"


async def test_a_key_reused_with_another_body_is_not_retried(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post("http://api.test/api/jobs/create").respond(
        422,
        json={
            "error": {
                "type": "validation_error",
                "message": "this Idempotency-Key was already used with a different request",
                "param": "Idempotency-Key",
            }
        },
    )

    with pytest.raises(UnprocessableEntityError) as info:
        await team_client.create_job("other", idempotency_key="k-1")

    assert info.value.param == "Idempotency-Key"
    assert route.call_count == 1


# -- structured calls: one key per llm_call ----------------------------------------------------


class Person(BaseModel):
    name: str
    age: int


def _answer(content: str) -> httpx.Response:
    return httpx.Response(200, json={**CALL, "response": {**CALL["response"], "content": content}})


async def test_each_re_ask_is_its_own_call_with_its_own_key(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post("http://api.test/api/jobs/job_123/llm-call").mock(
        side_effect=[
            _answer('{"name": "Ada"}'),
            httpx.Response(502, json={"error": {"type": "upstream_error", "message": "x"}}),
            _answer('{"name": "Ada", "age": 36}'),
        ]
    )

    person = await team_client.structured_call(
        job_id="job_123", messages=MESSAGES, response_model=Person
    )

    assert person == Person(name="Ada", age=36)
    keys = [_key(c.request) for c in route.calls]
    assert keys[0] != keys[1]  # the re-ask is another request
    assert keys[1] == keys[2]  # … retried after the 502 with its own key


async def test_a_structured_call_with_a_key_derives_one_per_re_ask(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post("http://api.test/api/jobs/job_123/llm-call").mock(
        side_effect=[
            _answer("nope"),
            _answer('{"name": "Ada"}'),
            _answer('{"name": "A", "age": 1}'),
        ]
    )

    await team_client.structured_call(
        job_id="job_123", messages=MESSAGES, response_model=Person, idempotency_key="extract-7"
    )

    assert [_key(c.request) for c in route.calls] == [
        "extract-7",
        "extract-7-reask-1",
        "extract-7-reask-2",
    ]
    assert json.loads(route.calls[2].request.content)["messages"][0] == MESSAGES[0]


@pytest.mark.respx(assert_all_called=False)
async def test_a_structured_call_key_too_long_for_its_re_asks_fails_before_sending(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.route()

    with pytest.raises(ValueError, match="idempotency_key"):
        await team_client.structured_call(
            job_id="job_123", messages=MESSAGES, response_model=Person, idempotency_key="k" * 250
        )

    assert not route.called
