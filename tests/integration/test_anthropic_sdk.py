"""The real ``anthropic`` package, sync and async, against the real server over HTTP (uvicorn on
a loopback port) with the upstream stub process (and the mock provider for a tool round trip):
``messages.create``, ``messages.stream`` (``text_stream``, ``get_final_message``), tool use, and
the error classes the SDK raises for our errors. Then the native API shows the calls in their
jobs, and the credits moved by the job rules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import MessageParam, ToolParam
from support import GROUP, TEAM, bearer, live_server

from saas_litellm_server import Settings, create_app

MSG: list[MessageParam] = [{"role": "user", "content": "Say hello"}]
PRICES = {"input_cost_per_million": 1.0, "output_cost_per_million": 2.0}
ALIASES = {
    "Echo": ("openai", "echo"),
    "Tools": ("openai", "tools"),
    "Mock": ("mock", "mock"),
    "Slow": ("openai", "slow-0.3"),
}
WEATHER: ToolParam = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@dataclass
class Server:
    url: str
    key: str
    native: httpx.Client

    def client(self, key: str | None = None) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=self.url, api_key=key or self.key, max_retries=0)

    def async_client(self, key: str | None = None) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(base_url=self.url, api_key=key or self.key, max_retries=0)

    def job(self, job_id: str) -> dict[str, Any]:
        r = self.native.get(f"/api/jobs/{job_id}", headers=bearer(self.key))
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    def credits(self) -> tuple[int, int]:
        balance = self.native.get("/api/credits/balance", headers=bearer(self.key)).json()
        return balance["credits_remaining"], balance["credits_reserved"]

    def team(self, team_id: str, credits: int) -> str:
        r = self.native.post(
            "/api/teams/create",
            json={
                "organization_id": "org_acme",
                "team_id": team_id,
                "access_groups": [GROUP],
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
        http.post("/api/model-access-groups/create", json={"group_name": GROUP})
        for alias, (provider, model) in ALIASES.items():
            r = http.post(
                "/api/model-aliases/create",
                json={
                    "model_alias": alias,
                    "access_groups": [GROUP],
                    "deployments": [{"provider": provider, "model": model, **PRICES}],
                },
            )
            assert r.status_code == 201, r.text
        server = Server(url, "", http)
        server.key = server.team(TEAM, 100)
        yield server


def test_messages_create_is_a_settled_job_of_its_own(server: Server) -> None:
    raw = server.client().messages.with_raw_response.create(
        model="Echo",
        max_tokens=100,
        system="Be brief.",
        messages=MSG,
        metadata={"user_id": "user-1"},
        extra_headers={"X-Job-Type": "greeting"},
    )
    message = raw.parse()
    assert message.type == "message" and message.model == "Echo"
    assert message.content[0].type == "text"
    assert message.content[0].text == "stub answer: Say hello"
    assert message.stop_reason == "end_turn"
    job = server.job(raw.headers["x-job-id"])
    assert (job["status"], job["job_type"], job["user_id"]) == ("completed", "greeting", "user-1")
    (call,) = job["calls"]
    assert call["prompt_tokens"] == message.usage.input_tokens
    assert call["completion_tokens"] == message.usage.output_tokens
    assert server.credits() == (99, 0)


def test_messages_stream_text_stream_and_final_message(server: Server) -> None:
    with server.client().messages.stream(model="Echo", max_tokens=100, messages=MSG) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
        job_id = stream.response.headers["x-job-id"]
    assert text == "stub answer: Say hello"
    assert final.content[0].type == "text" and final.content[0].text == text
    assert final.stop_reason == "end_turn"
    job = server.job(job_id)
    (call,) = job["calls"]
    assert job["status"] == "completed" and call["streamed"]
    assert (final.usage.input_tokens, final.usage.output_tokens) == (
        call["prompt_tokens"],
        call["completion_tokens"],
    )
    assert server.credits() == (99, 0)


async def test_async_stream_in_a_job(server: Server) -> None:
    r = server.native.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": "chat"}, headers=bearer(server.key)
    )
    job_id = r.json()["job_id"]
    async with (
        server.async_client() as client,
        client.messages.stream(
            model="Echo", max_tokens=100, messages=MSG, extra_headers={"X-Job-Id": job_id}
        ) as stream,
    ):
        final = await stream.get_final_message()
    assert final.content[0].type == "text" and final.content[0].text == "stub answer: Say hello"
    assert server.job(job_id)["status"] == "in_progress"
    assert server.credits() == (100, 1)


def test_a_tool_use_round_trip(server: Server) -> None:
    client = server.client()
    ask: list[MessageParam] = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.messages.create(
        model="Mock", max_tokens=200, messages=ask, tools=[WEATHER], tool_choice={"type": "any"}
    )
    assert first.stop_reason == "tool_use"
    (use,) = first.content
    assert use.type == "tool_use" and use.name == "get_weather"
    assert isinstance(use.input, dict) and isinstance(use.input["city"], str)
    second = client.messages.create(
        model="Mock",
        max_tokens=200,
        tools=[WEATHER],
        messages=[
            *ask,
            {"role": "assistant", "content": first.content},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}],
            },
        ],
    )
    assert second.stop_reason == "end_turn" and second.content[0].type == "text"


def test_a_streamed_tool_call_is_joined_by_the_sdk(server: Server) -> None:
    with server.client().messages.stream(
        model="Tools", max_tokens=100, messages=MSG, tools=[WEATHER]
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    (use,) = final.content
    assert use.type == "tool_use" and use.name == "get_weather"
    assert use.input == {"city": "Paris"}


def test_a_wrong_key_is_an_authentication_error(server: Server) -> None:
    with pytest.raises(anthropic.AuthenticationError) as info:
        server.client("sk-not-a-key").messages.create(model="Echo", max_tokens=10, messages=MSG)
    assert info.value.status_code == 401
    assert isinstance(info.value.body, dict) and info.value.body["type"] == "error"
    assert info.value.body["error"]["type"] == "authentication_error"
    assert info.value.request_id


def test_an_unknown_model_is_a_bad_request_error(server: Server) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        server.client().messages.create(model="Nope", max_tokens=10, messages=MSG)
    assert isinstance(info.value.body, dict)
    assert info.value.body["error"]["type"] == "invalid_request_error"


def test_no_credit_is_a_payment_required_error(server: Server) -> None:
    poor = server.team("poor-team", 1)
    client = server.client(poor)
    client.messages.create(model="Echo", max_tokens=10, messages=MSG)
    with pytest.raises(anthropic.PaymentRequiredError) as info:
        client.messages.create(model="Echo", max_tokens=10, messages=MSG)
    assert info.value.status_code == 402
    assert isinstance(info.value.body, dict)
    assert info.value.body["error"]["type"] == "billing_error"
    assert info.value.body["error"]["code"] == "insufficient_credits"


async def test_a_rate_limit_is_a_rate_limit_error(server: Server) -> None:
    limited = server.team("limited-team", 10)
    r = server.native.post("/api/teams/limited-team/limits", json={"rpm_limit": 1})
    assert r.status_code == 200, r.text
    refused: anthropic.RateLimitError | None = None
    async with server.async_client(limited) as client:
        # three calls within a minute span at most two fixed windows: one is refused
        for _ in range(3):
            try:
                await client.messages.create(model="Echo", max_tokens=10, messages=MSG)
            except anthropic.RateLimitError as exc:
                refused = exc
                break
    assert refused is not None, "three calls within a minute at rpm_limit=1 were all admitted"
    assert refused.status_code == 429 and int(refused.response.headers["retry-after"]) >= 1
    assert isinstance(refused.body, dict) and refused.body["error"]["type"] == "rate_limit_error"


def test_a_stream_cut_upstream_ends_in_an_error_event_the_sdk_raises(server: Server) -> None:
    r = server.native.post(
        "/api/model-aliases/create",
        json={
            "model_alias": "Cut",
            "access_groups": [GROUP],
            "deployments": [{"provider": "openai", "model": "cut", **PRICES}],
        },
    )
    assert r.status_code == 201, r.text
    received: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as info,
        server.client().messages.stream(model="Cut", max_tokens=100, messages=MSG) as stream,
    ):
        received.extend(stream.text_stream)
    assert received, "the chunks before the cut reached the client"
    assert isinstance(info.value.body, dict) and info.value.body["type"] == "error"
    assert info.value.body["error"]["code"] == "upstream_error"
    job = server.job(stream.response.headers["x-job-id"])
    (call,) = job["calls"]
    assert call["status"] == "failed" and call["completion_tokens"] > 0


async def test_leaving_a_stream_after_content_is_charged_and_cancels_the_upstream(
    server: Server, upstream: str
) -> None:
    """What billing settles about cut streams holds here too: a client that leaves after the
    first text is charged for what reached it, and the upstream request is cancelled."""
    async with (
        server.async_client() as client,
        client.messages.stream(model="Slow", max_tokens=100, messages=MSG) as stream,
    ):
        job_id = stream.response.headers["x-job-id"]
        async for _ in stream.text_stream:
            break  # the user closes the tab after the first words
    deadline = time.monotonic() + 10
    while server.job(job_id)["status"] == "in_progress" and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    job = server.job(job_id)
    assert job["status"] == "completed" and job["calls"][0]["status"] == "cancelled"
    assert job["calls"][0]["error_type"] == "client_disconnected"
    assert server.credits() == (99, 0)  # what reached the client is paid for
    while time.monotonic() < deadline:
        if httpx.get(f"{upstream}/_stub/requests").json()[-1]["ended"] == "cancelled":
            break
        await asyncio.sleep(0.02)
    assert httpx.get(f"{upstream}/_stub/requests").json()[-1]["ended"] == "cancelled"
