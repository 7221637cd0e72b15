"""Streaming end to end (services/calls.stream_call, routes/_sse.py) through the SDK, over real
HTTP, against the mock provider and a real OpenAI-compatible upstream process."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from support import eventually, live_server, open_job, stub_team

from saas_litellm_client import (
    ConflictError,
    NotFoundError,
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
    StreamError,
)
from saas_litellm_models import JobDetail
from saas_litellm_server import Settings, create_app

MSG = [{"role": "user", "content": "Tell me a story about a fox"}]


@pytest.fixture
async def client(upstream_settings: Settings) -> AsyncIterator[SaasLiteLLMClient]:
    """A team client on a live server whose aliases point at the upstream stub."""
    with live_server(create_app(upstream_settings)) as url:
        team = await stub_team(
            url,
            {
                "Slow": ["slow-0.25"],
                "Echo": ["echo"],
                "Cut": ["cut"],
                "Fallback": ["error-500", "echo"],
                "Hang": ["hang"],
            },
        )
        async with SaasLiteLLMClient(
            base_url=url, team_id="acme-corp", virtual_key=team.virtual_key
        ) as c:
            yield c


async def test_chunks_arrive_as_the_upstream_sends_them(client: SaasLiteLLMClient) -> None:
    job = await client.create_job("chat")
    arrivals: list[float] = []
    async with client.stream(job_id=job.job_id, messages=MSG, model="Slow") as stream:
        async for chunk in stream:
            arrivals.append(time.monotonic())
            assert chunk.content.startswith("stub-chunk-")
    # the upstream sends 6 chunks 0.25 s apart: 1.25 s from first to last
    assert len(arrivals) == 6
    assert arrivals[-1] - arrivals[0] > 0.9  # the first arrived long before the last…
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    # …and one by one, not in a buffered burst (one late chunk may bunch with the next on a busy
    # machine; a buffering server would bunch them all)
    assert sum(gap > 0.1 for gap in gaps) >= len(gaps) - 1
    assert stream.done is not None and stream.done.usage.total_tokens > 0


async def test_disconnect_cancels_upstream_and_records_the_call(
    client: SaasLiteLLMClient, upstream: str
) -> None:
    job = await client.create_job("chat")
    async with client.stream(job_id=job.job_id, messages=MSG, model="Slow") as stream:
        async for _ in stream:
            break  # the user closes the tab after the first chunk

    async def upstream_cancelled() -> bool:
        log = httpx.get(f"{upstream}/_stub/requests").json()
        return bool(log) and log[-1]["ended"] == "cancelled"

    await eventually(upstream_cancelled)

    async def recorded() -> JobDetail | None:
        detail = await client.get_job(job.job_id)
        return detail if detail.calls else None

    detail = await eventually(recorded)
    call = detail.calls[0]
    assert (call.status, call.streamed, call.error_type) == (
        "cancelled",
        True,
        "client_disconnected",
    )
    # what reached the client is counted: its UTF-8 length bounds its tokens
    assert call.completion_tokens >= len(b"stub-chunk-0 ") and call.cost_usd > 0
    assert detail.status == "in_progress"
    result = await client.complete_job(job.job_id, "completed")
    assert (result.costs.cancelled_calls, result.costs.failed_calls) == (1, 0)
    # content reached the client: the cut call is a used one, and the job is charged
    assert result.costs.credit_applied and result.credits_remaining == 99


async def test_cut_upstream_gives_one_error_event_and_a_failed_call(
    client: SaasLiteLLMClient,
) -> None:
    job = await client.create_job("chat")
    received = []
    with pytest.raises(StreamError) as info:
        async with client.stream(job_id=job.job_id, messages=MSG, model="Cut") as stream:
            async for chunk in stream:
                received.append(chunk.content)
    assert len(received) == 2
    assert info.value.error_type == "upstream_error"
    assert "127.0.0.1" not in info.value.message
    result = await client.complete_job(job.job_id, "failed")
    assert (result.costs.total_calls, result.costs.failed_calls) == (1, 1)
    assert result.costs.total_tokens > 0  # the two chunks that did arrive are accounted for


async def test_streamed_calls_cost_like_non_streamed_ones(client: SaasLiteLLMClient) -> None:
    for model in ("Echo", None):  # the upstream process, and the built-in mock
        job = await client.create_job("compare")
        plain = await client.llm_call(job_id=job.job_id, messages=MSG, model=model)
        async with client.stream(job_id=job.job_id, messages=MSG, model=model) as stream:
            text = await stream.get_final_text()
        assert text == plain.content
        assert stream.usage == plain.usage
        detail = await client.get_job(job.job_id)
        streamed = [c for c in detail.calls if c.streamed]
        unstreamed = [c for c in detail.calls if not c.streamed]
        assert len(streamed) == len(unstreamed) == 1
        assert streamed[0].cost_usd == unstreamed[0].cost_usd > 0
        assert streamed[0].total_tokens == unstreamed[0].total_tokens


async def test_stream_falls_back_before_the_first_chunk(client: SaasLiteLLMClient) -> None:
    job = await client.create_job("chat")
    async with client.stream(job_id=job.job_id, messages=MSG, model="Fallback") as stream:
        text = await stream.get_final_text()
    assert text.startswith("stub answer:")
    detail = await client.get_job(job.job_id)
    assert [c.deployment for c in detail.calls] == ["echo"]


async def test_refusals_before_the_stream_are_typed_errors(client: SaasLiteLLMClient) -> None:
    job = await client.create_job("chat")
    await client.complete_job(job.job_id, "completed")
    with pytest.raises(ConflictError):
        async with client.stream(job_id=job.job_id, messages=MSG) as stream:
            await stream.get_final_text()
    with pytest.raises(NotFoundError):
        async with client.stream(
            job_id="00000000-0000-4000-8000-000000000000", messages=MSG
        ) as stream:
            await stream.get_final_text()


async def test_breaking_out_early_returns_the_connection(upstream_settings: Settings) -> None:
    with live_server(create_app(upstream_settings)) as url:
        async with SaasLiteLLMAdminClient(base_url=url) as admin:
            await admin.create_organization("org_acme", "ACME")
            team = await admin.create_team("org_acme", "acme-corp", credits_allocated=10)
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(10, pool=2)) as http:
            client = SaasLiteLLMClient(
                base_url=url, team_id="acme-corp", virtual_key=team.virtual_key, http_client=http
            )
            job = await client.create_job("chat")
            for _ in range(3):  # with one connection, a leaked one would block the next stream
                async with client.stream(job_id=job.job_id, messages=MSG) as stream:
                    async for _chunk in stream:
                        break
            assert (await client.get_balance()).credits_reserved == 1


async def test_streamed_tool_calls_arrive_in_the_done_event(client: SaasLiteLLMClient) -> None:
    job = await client.create_job("tools")
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    async with client.stream(
        job_id=job.job_id,
        model=None,
        tools=tools,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    ) as s:
        await s.until_done()
    assert s.done is not None and s.done.finish_reason == "tool_calls"
    assert s.done.tool_calls and s.done.tool_calls[0].function.name == "get_weather"


async def test_a_bare_async_for_with_break_returns_the_connection(
    upstream_settings: Settings,
) -> None:
    # chunks 0.3 s apart: an abandoned but unclosed stream would hold the only connection for
    # seconds, longer than the pool's 2 s timeout
    slow = upstream_settings.model_copy(update={"mock_chunk_delay": 0.3})
    with live_server(create_app(slow)) as url:
        async with SaasLiteLLMAdminClient(base_url=url) as admin:
            await admin.create_organization("org_acme", "ACME")
            team = await admin.create_team("org_acme", "acme-corp", credits_allocated=10)
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(10, pool=2)) as http:
            client = SaasLiteLLMClient(
                base_url=url,
                team_id="acme-corp",
                max_retries=0,
                virtual_key=team.virtual_key,
                http_client=http,
            )
            job = await client.create_job("chat")
            for _ in range(3):  # no `async with`: only the abandoned iterator can close it
                async for _chunk in client.stream(job_id=job.job_id, messages=MSG):
                    break
            assert (await client.get_balance()).credits_reserved == 1


@pytest.mark.parametrize("broken", ["provider missing", "openai without api_base"])
async def test_a_stream_whose_route_cannot_be_tried_fails_before_it_starts(
    app: Any, http: httpx.AsyncClient, broken: str
) -> None:
    """A JSON error the client can branch on, not a 200 whose first event is an error."""
    from support import bearer, create_team

    from saas_litellm_server.store import catalog_sql

    key = await create_team(http)
    runtime = app.state.runtime
    if broken == "provider missing":
        runtime.providers.pop("mock")  # the built-in alias's only provider
        model, reason = "default", "provider 'mock' is not available"
    else:  # declared before the admin API checked it, or the default upstream was removed since
        await catalog_sql.insert_alias(
            runtime.db,
            "Legacy",
            [],
            [
                {
                    "provider": "openai",
                    "model": "gpt-4o-mini",
                    "api_base": None,
                    "input_cost_per_million": 0.0,
                    "output_cost_per_million": 0.0,
                }
            ],
            public=True,
        )
        model, reason = "Legacy", "set its api_base or SAAS_LITELLM_UPSTREAM_BASE_URL"
    job = await open_job(http, key, job_type="t")
    r = await http.post(
        f"/api/jobs/{job}/llm-call-stream",
        json={"messages": MSG, "model": model},
        headers=bearer(key),
    )
    assert r.status_code == 502
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["error"]
    assert error["type"] == "upstream_error" and reason in error["message"]
    detail = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()
    assert detail["status"] == "pending" and detail["calls"] == []  # nothing was attempted


async def test_a_stream_whose_headers_never_reach_the_client_leaves_nothing_in_flight(
    app: Any,
) -> None:
    """The client is gone when the response's first message goes out: the call never ran, so
    its job counts nothing in flight and holds nothing for it (the stream's reservation is
    given back at once, not by the sweep's deadline)."""
    from support import bearer, create_team

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as http:
        key = await create_team(http)
        job = await open_job(http, key)  # a first call is counted in flight on its job
        before = (await http.get("/api/credits/balance", headers=bearer(key))).json()
        body = b'{"messages": [{"role": "user", "content": "hi"}]}'
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": f"/api/jobs/{job}/llm-call-stream",
            "raw_path": f"/api/jobs/{job}/llm-call-stream".encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"localhost"),
                (b"authorization", f"Bearer {key}".encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("127.0.0.1", 5000),
            "server": ("localhost", 80),
        }
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            raise OSError("the client went away")

        with pytest.raises(OSError, match="went away"):
            await app(scope, receive, send)
        detail = JobDetail.model_validate(
            (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()
        )
        assert detail.costs.calls_in_flight == 0
        assert detail.costs.total_calls == 0
        after = (await http.get("/api/credits/balance", headers=bearer(key))).json()
        assert after == before
