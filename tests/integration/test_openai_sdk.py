"""The real ``openai`` package, sync and async, against the real server over HTTP (uvicorn on a
loopback port) with the upstream stub process: models, completions with and without a job,
streaming with usage, tool calls, ``parse`` into a Pydantic model, and every error class the SDK
raises. Then the native API shows the calls in their jobs with tokens and cost, and the credits
moved by the job rules (a completed single-call job costs one credit, a failed one nothing)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionToolParam
from openai.types.responses import FunctionToolParam
from pydantic import BaseModel
from support import GROUP, TEAM, bearer, live_server

from saas_litellm_server import Settings, create_app

MSG: list[Any] = [{"role": "user", "content": "Say hello"}]
PRICES = {"input_cost_per_million": 1.0, "output_cost_per_million": 2.0}
ALIASES = {
    "Echo": "echo",
    "Tools": "tools",
    "Person": "person",
    "Broken": "error-500",
    "Cut": "cut",
    "Slow": "slow-0.3",
    "Secret": "echo",  # in a group the team does not have
}
WEATHER: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


class Person(BaseModel):
    name: str
    age: int
    email: str


@dataclass
class Server:
    url: str
    key: str
    native: httpx.Client
    upstream: str

    def client(self, key: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key or self.key, max_retries=0)

    def async_client(self, key: str | None = None) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=f"{self.url}/v1", api_key=key or self.key, max_retries=0)

    def job(self, job_id: str) -> dict[str, Any]:
        r = self.native.get(f"/api/jobs/{job_id}", headers=bearer(self.key))
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    def credits(self) -> tuple[int, int]:
        balance = self.native.get("/api/credits/balance", headers=bearer(self.key)).json()
        return balance["credits_remaining"], balance["credits_reserved"]

    def open_job(self) -> str:
        r = self.native.post(
            "/api/jobs/create", json={"team_id": TEAM, "job_type": "chat"}, headers=bearer(self.key)
        )
        assert r.status_code == 201, r.text
        job_id: str = r.json()["job_id"]
        return job_id

    def upstream_bodies(self) -> list[dict[str, Any]]:
        return [e["body"] for e in httpx.get(f"{self.upstream}/_stub/requests").json()]

    def team(self, team_id: str, credits: int, groups: list[str]) -> str:
        r = self.native.post(
            "/api/teams/create",
            json={
                "organization_id": "org_acme",
                "team_id": team_id,
                "access_groups": groups,
                "credits_allocated": credits,
            },
        )
        assert r.status_code == 201, r.text
        key: str = r.json()["virtual_key"]
        return key


@pytest.fixture
def server(upstream_settings: Settings, upstream: str) -> Iterator[Server]:
    with live_server(create_app(upstream_settings)) as url, httpx.Client(base_url=url) as http:
        http.post("/api/organizations/create", json={"organization_id": "org_acme", "name": "A"})
        for group in (GROUP, "other"):
            http.post("/api/model-access-groups/create", json={"group_name": group})
        for alias, model in ALIASES.items():
            r = http.post(
                "/api/model-aliases/create",
                json={
                    "model_alias": alias,
                    "access_groups": ["other" if alias == "Secret" else GROUP],
                    "deployments": [{"provider": "openai", "model": model, **PRICES}],
                },
            )
            assert r.status_code == 201, r.text
        server = Server(url, "", http, upstream)
        server.key = server.team(TEAM, 100, [GROUP])
        yield server


def test_models_list_is_the_teams_aliases(server: Server) -> None:
    models = server.client().models.list()
    assert sorted(m.id for m in models) == [
        *("Broken", "Cut", "Echo", "Person", "Slow", "Tools", "default")
    ]
    assert all(m.object == "model" for m in models)


async def test_models_list_async(server: Server) -> None:
    async with server.async_client() as client:
        models = [m.id async for m in client.models.list()]
    assert "Echo" in models and "Secret" not in models


def test_a_call_without_a_job_is_a_settled_job_of_its_own(server: Server) -> None:
    raw = server.client().chat.completions.with_raw_response.create(
        model="Echo",
        messages=MSG,
        seed=7,
        user="user-1",
        metadata={"ticket": "T-9"},
        max_completion_tokens=50,
        stop=["\n\n"],
        temperature=0.2,
        extra_headers={"X-Job-Type": "greeting"},
    )
    completion = raw.parse()
    assert completion.object == "chat.completion" and completion.model == "Echo"
    assert completion.choices[0].message.content == "stub answer: Say hello"
    assert completion.choices[0].finish_reason == "stop"
    job = server.job(raw.headers["x-job-id"])
    assert (job["status"], job["job_type"], job["user_id"]) == ("completed", "greeting", "user-1")
    (call,) = job["calls"]
    assert call["total_tokens"] == completion.usage.total_tokens > 0  # type: ignore[union-attr]
    assert call["cost_usd"] > 0 and job["costs"]["credit_applied"]
    assert server.credits() == (99, 0)
    sent = server.upstream_bodies()[-1]  # passed through to the upstream as sent
    assert (sent["seed"], sent["user"], sent["metadata"]) == (7, "user-1", {"ticket": "T-9"})
    assert (sent["max_completion_tokens"], sent["stop"], sent["temperature"]) == (50, ["\n\n"], 0.2)
    assert sent["model"] == "echo"  # the deployment's model, not the alias


async def test_calls_with_a_job_header_are_recorded_in_that_job(server: Server) -> None:
    job_id = server.open_job()
    async with server.async_client() as client:
        for _ in range(3):
            raw = await client.chat.completions.with_raw_response.create(
                model="Echo", messages=MSG, extra_headers={"X-Job-Id": job_id}
            )
            assert raw.headers["x-job-id"] == job_id
    job = server.job(job_id)
    assert job["status"] == "in_progress" and len(job["calls"]) == 3
    assert all(c["total_tokens"] > 0 and c["cost_usd"] > 0 for c in job["calls"])
    assert server.credits() == (100, 1)  # reserved until the job completes
    r = server.native.post(
        f"/api/jobs/{job_id}/complete", json={"status": "completed"}, headers=bearer(server.key)
    )
    assert r.json()["costs"]["credits_remaining"] == 99  # one credit for three calls


def test_streaming_with_usage(server: Server) -> None:
    stream = server.client().chat.completions.create(
        model="Echo", messages=MSG, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "stub answer: Say hello"
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage is not None and usage.total_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    job = server.job(stream.response.headers["x-job-id"])
    assert job["status"] == "completed" and job["calls"][0]["total_tokens"] == usage.total_tokens
    assert server.credits() == (99, 0)


async def test_streaming_async_in_a_job(server: Server) -> None:
    job_id = server.open_job()
    async with server.async_client() as client:
        stream = await client.chat.completions.create(
            model="Echo",
            messages=MSG,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"X-Job-Id": job_id},
        )
        chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    job = server.job(job_id)
    assert job["calls"][0]["streamed"] and job["calls"][0]["total_tokens"] == (
        chunks[-1].usage.total_tokens  # type: ignore[union-attr]
    )


def test_a_failure_mid_stream_raises_api_error_and_fails_the_job(server: Server) -> None:
    stream = server.client().chat.completions.create(model="Cut", messages=MSG, stream=True)
    received = []
    with pytest.raises(openai.APIError) as info:
        for chunk in stream:
            received.append(chunk)
    assert received and "127.0.0.1" not in str(info.value)
    job = server.job(stream.response.headers["x-job-id"])
    assert job["status"] == "failed" and job["calls"][0]["status"] == "failed"
    assert job["calls"][0]["total_tokens"] > 0  # what did arrive is accounted for
    assert server.credits() == (100, 0)


async def test_leaving_a_stream_after_content_is_charged_and_cancels_the_upstream(
    server: Server,
) -> None:
    async with server.async_client() as client:
        stream = await client.chat.completions.create(model="Slow", messages=MSG, stream=True)
        job_id = stream.response.headers["x-job-id"]
        async for _ in stream:
            break  # the user closes the tab after the first chunk
        await stream.close()
    deadline = time.monotonic() + 10
    while server.job(job_id)["status"] == "in_progress" and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    job = server.job(job_id)
    assert job["status"] == "completed" and job["calls"][0]["status"] == "cancelled"
    assert job["calls"][0]["error_type"] == "client_disconnected"
    assert server.credits() == (99, 0)  # what reached the client is paid for
    while time.monotonic() < deadline:
        if httpx.get(f"{server.upstream}/_stub/requests").json()[-1]["ended"] == "cancelled":
            break
        await asyncio.sleep(0.02)
    assert httpx.get(f"{server.upstream}/_stub/requests").json()[-1]["ended"] == "cancelled"


def test_tool_calls(server: Server) -> None:
    completion = server.client().chat.completions.create(
        model="Tools", messages=MSG, tools=[WEATHER], tool_choice="auto"
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.type == "function" and call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    sent = server.upstream_bodies()[-1]
    assert sent["tools"][0]["function"]["name"] == "get_weather" and sent["tool_choice"] == "auto"


async def test_streamed_tool_calls_as_openai_sends_them(server: Server) -> None:
    async with server.async_client() as client:
        stream = await client.chat.completions.create(
            model="Tools", messages=MSG, tools=[WEATHER], stream=True
        )
        deltas = [c async for c in stream]
    fragments = [t for c in deltas if c.choices for t in c.choices[0].delta.tool_calls or []]
    assert fragments and fragments[0].id == "call_1" and fragments[0].index == 0
    arguments = "".join(f.function.arguments or "" for f in fragments if f.function)
    assert json.loads(arguments) == {"city": "Paris"}
    assert deltas[-1].choices[0].finish_reason == "tool_calls"
    # the SDK's own accumulator reads them back into whole tool calls
    with server.client().chat.completions.stream(
        model="Tools", messages=MSG, tools=[WEATHER]
    ) as helper:
        final = helper.get_final_completion()
    (call,) = final.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"  # type: ignore[union-attr]


def test_parse_into_a_pydantic_model(server: Server) -> None:
    completion = server.client().chat.completions.parse(
        model="Person", messages=MSG, response_format=Person
    )
    assert completion.choices[0].message.parsed == Person(
        name="Ada Lovelace", age=36, email="ada@example.com"
    )
    sent = server.upstream_bodies()[-1]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["schema"]["required"] == ["name", "age", "email"]


async def test_parse_async_and_json_object(server: Server) -> None:
    async with server.async_client() as client:
        completion = await client.chat.completions.parse(
            model="Person", messages=MSG, response_format=Person
        )
        plain = await client.chat.completions.create(
            model="Person", messages=MSG, response_format={"type": "json_object"}
        )
    assert completion.choices[0].message.parsed is not None
    assert json.loads(plain.choices[0].message.content or "")["name"] == "Ada Lovelace"


def _raises(exc: type[openai.APIStatusError], call: Any) -> openai.APIStatusError:
    with pytest.raises(exc) as info:
        call()
    error = info.value
    assert isinstance(error.body, dict) and set(error.body) == {"message", "type", "param", "code"}
    assert "sk-" not in str(error.body) and "127.0.0.1" not in str(error.body)
    return error


def test_each_error_class(server: Server) -> None:
    client = server.client()

    def chat(**kwargs: Any) -> Any:
        return lambda: client.chat.completions.create(
            **{"model": "Echo", "messages": MSG, **kwargs}
        )

    e = _raises(openai.AuthenticationError, server.client("sk-wrong").models.list)
    assert e.status_code == 401
    e = _raises(openai.PermissionDeniedError, chat(model="Secret"))
    assert e.code == "permission_denied" and e.param == "model"
    unknown = "00000000-0000-4000-8000-000000000000"
    e = _raises(openai.NotFoundError, chat(extra_headers={"X-Job-Id": unknown}))
    assert e.code == "not_found"
    closed = server.open_job()
    server.native.post(
        f"/api/jobs/{closed}/complete", json={"status": "failed"}, headers=bearer(server.key)
    )
    e = _raises(openai.ConflictError, chat(extra_headers={"X-Job-Id": closed}))
    assert e.code == "conflict"
    e = _raises(openai.BadRequestError, chat(model="Nope"))
    assert (e.code, e.type) == ("invalid_request", "invalid_request_error")
    e = _raises(openai.BadRequestError, chat(n=2))
    assert e.param == "n"
    e = _raises(openai.UnprocessableEntityError, chat(temperature=5))
    assert e.code == "validation_error"
    before = server.credits()
    e = _raises(openai.InternalServerError, chat(model="Broken"))
    assert e.status_code == 502 and e.code == "upstream_error"
    failed = server.job(e.response.headers["x-job-id"])
    assert failed["status"] == "failed" and not failed["costs"]["credit_applied"]
    assert server.credits() == before  # an upstream failure costs nothing


def test_the_sdk_retries_only_what_a_retry_can_fix(server: Server) -> None:
    """The server's ``x-should-retry`` overrides the openai SDK's own rule, which retries every
    409: a closed job is asked once, not three times; an upstream failure (502) is retried."""
    sent: list[str] = []
    counting = httpx.Client(event_hooks={"request": [lambda r: sent.append(r.url.path)]})
    client = openai.OpenAI(
        base_url=f"{server.url}/v1", api_key=server.key, max_retries=2, http_client=counting
    )
    closed = server.open_job()
    server.native.post(
        f"/api/jobs/{closed}/complete", json={"status": "failed"}, headers=bearer(server.key)
    )
    with pytest.raises(openai.ConflictError) as info:
        client.chat.completions.create(
            model="Echo", messages=MSG, extra_headers={"X-Job-Id": closed}
        )
    assert info.value.response.headers["x-should-retry"] == "false"
    assert len(sent) == 1
    sent.clear()
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(model="Broken", messages=MSG)
    assert failed.value.response.headers["x-should-retry"] == "true"
    assert len(sent) == 3


def test_no_credit_is_a_402_api_status_error_with_the_body(server: Server) -> None:
    poor = server.team("poor-team", 1, [GROUP])
    client = server.client(poor)
    client.chat.completions.create(model="Echo", messages=MSG)
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="Echo", messages=MSG)
    assert info.value.status_code == 402
    assert isinstance(info.value.body, dict)
    assert info.value.body["code"] == "insufficient_credits"
    assert info.value.body["type"] == "insufficient_quota"
    assert "0 available" in info.value.body["message"]


async def test_a_rate_limit_is_a_rate_limit_error_with_retry_after(server: Server) -> None:
    limited = server.team("limited-team", 10, [GROUP])
    r = server.native.post("/api/teams/limited-team/limits", json={"rpm_limit": 1})
    assert r.status_code == 200, r.text
    refused: openai.RateLimitError | None = None
    async with server.async_client(limited) as client:
        # Windows are fixed minutes: two calls may straddle a boundary (it failed in CI once),
        # three calls made within a minute span at most two windows, so one is refused.
        for _ in range(3):
            try:
                await client.chat.completions.create(model="Echo", messages=MSG)
            except openai.RateLimitError as exc:
                refused = exc
                break
    assert refused is not None, "three calls within a minute at rpm_limit=1 were all admitted"
    assert refused.status_code == 429 and int(refused.response.headers["retry-after"]) >= 1
    assert refused.code == "rate_limited"


def test_the_sdks_retries_are_deduplicated_by_its_idempotency_key(server: Server) -> None:
    """A key in the form the Stainless-generated SDKs send (``stainless-python-retry-<uuid>``,
    the same on each retry of one request): a repeat replays instead of charging again."""
    client = server.client()
    key = "stainless-python-retry-3f1c7d2e-1111-4222-8333-944455556666"
    first = client.chat.completions.with_raw_response.create(
        model="Echo", messages=MSG, extra_headers={"Idempotency-Key": key}
    )
    again = client.chat.completions.with_raw_response.create(
        model="Echo", messages=MSG, extra_headers={"Idempotency-Key": key}
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert again.parse().model_dump() == first.parse().model_dump()
    assert server.credits() == (99, 0)
    assert len(server.upstream_bodies()) == 1


def _embedding_aliases(server: Server) -> None:
    for alias, model in (("Embed", "echo"), ("EmbedBroken", "error-500")):
        r = server.native.post(
            "/api/model-aliases/create",
            json={
                "model_alias": alias,
                "access_groups": [GROUP],
                "mode": "embedding",
                "deployments": [{"provider": "openai", "model": model, **PRICES}],
            },
        )
        assert r.status_code == 201, r.text


def test_embeddings_create_as_the_openai_package_sends_it(server: Server) -> None:
    """The package asks for base64 unless told otherwise, and decodes it: the vectors are the
    upstream's either way; a call without a job is a settled single-call job."""
    _embedding_aliases(server)
    client = server.client()
    raw = client.embeddings.with_raw_response.create(
        model="Embed", input=["abc", "de"], dimensions=3, user="user-1"
    )
    default = raw.parse()
    assert default.object == "list" and default.model == "Embed"
    assert [e.embedding for e in default.data] == [[3.0, 0.0, 0.5], [2.0, 1.0, 0.5]]
    assert default.usage.prompt_tokens == default.usage.total_tokens == 2
    floats = client.embeddings.create(model="Embed", input="abc", encoding_format="float")
    assert floats.data[0].embedding == [3.0, 0.0, 0.5, 0.5]
    job = server.job(raw.headers["x-job-id"])
    assert (job["status"], job["job_type"], job["user_id"]) == ("completed", "embeddings", "user-1")
    (call,) = job["calls"]
    assert (call["prompt_tokens"], call["completion_tokens"]) == (2, 0)
    assert call["cost_usd"] == pytest.approx(2 / 1_000_000)  # input price only
    sent = [e for e in httpx.get(f"{server.upstream}/_stub/requests").json() if "path" in e]
    assert sent[0]["body"] == {
        "model": "echo",
        "input": ["abc", "de"],
        "dimensions": 3,
        "user": "user-1",
    }
    assert server.credits() == (98, 0)


async def test_embeddings_in_a_job_async_and_their_errors(server: Server) -> None:
    _embedding_aliases(server)
    job_id = server.open_job()
    async with server.async_client() as client:
        answer = await client.embeddings.create(
            model="Embed", input="hello", extra_headers={"X-Job-Id": job_id}
        )
        assert len(answer.data) == 1
        with pytest.raises(openai.BadRequestError) as chat_alias:
            await client.embeddings.create(model="Echo", input="hello")
        with pytest.raises(openai.BadRequestError) as tokens:
            await client.embeddings.create(model="Embed", input=[[1, 2, 3]])
        with pytest.raises(openai.UnprocessableEntityError):
            await client.embeddings.create(model="Embed", input="")
        with pytest.raises(openai.NotFoundError):
            unknown = "00000000-0000-4000-8000-000000000000"
            await client.embeddings.create(
                model="Embed", input="x", extra_headers={"X-Job-Id": unknown}
            )
        with pytest.raises(openai.InternalServerError) as broken:
            await client.embeddings.create(model="EmbedBroken", input="x")
    async with server.async_client("sk-wrong") as wrong:
        with pytest.raises(openai.AuthenticationError):
            await wrong.embeddings.create(model="Embed", input="x")
    assert chat_alias.value.code == "model_mode_mismatch" and chat_alias.value.param == "model"
    assert tokens.value.param == "input" and "token arrays" in tokens.value.message
    assert "10.0.0.1" not in broken.value.message and "sk-" not in broken.value.message
    job = server.job(job_id)
    assert job["status"] == "in_progress" and len(job["calls"]) == 1
    assert server.credits() == (100, 1)  # the open job's credit; the failures cost nothing


# -- the Responses API (POST /v1/responses) ---------------------------------------------------

WEATHER_TOOL: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": False,
}


def test_responses_create_text_in_a_settled_job(server: Server) -> None:
    raw = server.client().responses.with_raw_response.create(
        model="Echo",
        input="Say hello",
        instructions="Be brief.",
        max_output_tokens=50,
        metadata={"ticket": "T-9"},
        store=False,
        extra_headers={"X-Job-Type": "greeting"},
    )
    response = raw.parse()
    assert response.object == "response" and response.status == "completed"
    assert response.model == "Echo" and response.output_text == "stub answer: Say hello"
    assert response.usage is not None and response.usage.total_tokens > 0
    job = server.job(raw.headers["x-job-id"])
    assert (job["status"], job["job_type"]) == ("completed", "greeting")
    assert job["calls"][0]["total_tokens"] == response.usage.total_tokens
    assert server.credits() == (99, 0)
    sent = server.upstream_bodies()[-1]  # a chat call, as any OpenAI-compatible upstream takes
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello"},
    ]
    assert (sent["max_tokens"], sent["metadata"], sent["model"]) == (50, {"ticket": "T-9"}, "echo")


def test_responses_stream_text_deltas_and_the_final_response(server: Server) -> None:
    with server.client().responses.stream(model="Slow", input="Say hello") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert len(deltas) == 6 and final.output_text == "".join(deltas)
    assert final.status == "completed" and final.usage is not None
    (job,) = server.native.get(f"/api/teams/{TEAM}/jobs", headers=bearer(server.key)).json()["jobs"]
    assert job["status"] == "completed" and server.credits() == (99, 0)
    assert server.job(job["job_id"])["calls"][0]["total_tokens"] == final.usage.total_tokens


async def test_responses_create_stream_async_in_a_job(server: Server) -> None:
    job_id = server.open_job()
    async with server.async_client() as client:
        stream = await client.responses.create(
            model="Echo", input="Say hello", stream=True, extra_headers={"X-Job-Id": job_id}
        )
        events = [e async for e in stream]
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == events[-1].response.output_text == "stub answer: Say hello"
    assert events[-1].response.usage is not None
    job = server.job(job_id)
    assert job["status"] == "in_progress" and job["calls"][0]["streamed"]


def test_responses_parse_into_a_pydantic_model(server: Server) -> None:
    response = server.client().responses.parse(model="Person", input="Ada", text_format=Person)
    assert response.output_parsed == Person(name="Ada Lovelace", age=36, email="ada@example.com")
    sent = server.upstream_bodies()[-1]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["schema"]["required"] == ["name", "age", "email"]


async def test_responses_function_tool_round_trip(server: Server) -> None:
    client = server.client()
    first = client.responses.create(model="Tools", input="Weather in Paris?", tools=[WEATHER_TOOL])
    (call,) = first.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"} and call.call_id == "call_1"
    sent = server.upstream_bodies()[-1]
    assert sent["tools"][0] == {"type": "function", "function": WEATHER_TOOL_AS_CHAT}
    # the whole conversation goes back, the call and its output included (stateless)
    second = client.responses.create(
        model="Echo",
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            *first.output,  # type: ignore[list-item]
            {"type": "function_call_output", "call_id": call.call_id, "output": '{"temp": 21}'},
        ],
        tools=[WEATHER_TOOL],
    )
    assert second.output_text == "stub answer: Weather in Paris?"
    messages = server.upstream_bodies()[-1]["messages"]
    assert messages[1]["tool_calls"][0]["id"] == "call_1" and not messages[1].get("content")
    assert messages[2] == {"role": "tool", "content": '{"temp": 21}', "tool_call_id": "call_1"}
    # streamed: the stub sends the arguments in fragments; the SDK's accumulator gets them whole
    async with (
        server.async_client() as aclient,
        aclient.responses.stream(model="Tools", input="Weather?", tools=[WEATHER_TOOL]) as stream,
    ):
        final = await stream.get_final_response()
    (streamed,) = final.output
    assert streamed.type == "function_call" and json.loads(streamed.arguments) == {"city": "Paris"}


WEATHER_TOOL_AS_CHAT = {
    "name": "get_weather",
    "parameters": WEATHER_TOOL["parameters"],
    "strict": False,
}


def test_responses_errors(server: Server) -> None:
    client = server.client()
    with pytest.raises(openai.AuthenticationError):
        server.client("sk-wrong").responses.create(model="Echo", input="hi")
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="Echo", input="hi", previous_response_id="resp_123")
    assert bad.value.code == "unsupported_parameter" and bad.value.param == "previous_response_id"
    with pytest.raises(openai.PermissionDeniedError):
        client.responses.create(model="Secret", input="hi")
    with pytest.raises(openai.NotFoundError):
        client.responses.create(
            model="Echo", input="hi", extra_headers={"X-Job-Id": str(uuid.uuid4())}
        )
    with pytest.raises(openai.InternalServerError) as failed:  # 502: every deployment failed
        client.responses.create(model="Broken", input="hi")
    assert "127.0.0.1" not in str(failed.value) and "sk-" not in str(failed.value.body)
    assert server.credits() == (100, 0)  # none of them cost a credit


def test_responses_a_failure_mid_stream_is_response_failed(server: Server) -> None:
    stream = server.client().responses.create(model="Cut", input="hi", stream=True)
    events = list(stream)
    assert events[-1].type == "response.failed"
    error = events[-1].response.error
    assert error is not None and error.code == "server_error" and "127.0.0.1" not in error.message
    assert any(e.type == "response.output_text.delta" for e in events)
    job = server.job(stream.response.headers["x-job-id"])
    assert job["status"] == "failed" and server.credits() == (100, 0)


async def test_responses_leaving_a_stream_after_content_is_charged_and_cancels_the_upstream(
    server: Server,
) -> None:
    async with server.async_client() as client:
        stream = await client.responses.create(model="Slow", input="hi", stream=True)
        job_id = stream.response.headers["x-job-id"]
        async for event in stream:
            if event.type == "response.output_text.delta":
                break  # the user closes the tab after the first text
        await stream.close()
    deadline = time.monotonic() + 10
    while server.job(job_id)["status"] == "in_progress" and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    job = server.job(job_id)
    assert job["status"] == "completed" and job["calls"][0]["status"] == "cancelled"
    assert server.credits() == (99, 0)  # what reached the client is paid for
    while time.monotonic() < deadline:
        if httpx.get(f"{server.upstream}/_stub/requests").json()[-1]["ended"] == "cancelled":
            break
        await asyncio.sleep(0.02)
    assert httpx.get(f"{server.upstream}/_stub/requests").json()[-1]["ended"] == "cancelled"
