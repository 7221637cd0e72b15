"""The SDK's retries, idempotency keys and ``client.job()`` against the real server, through a
proxy that loses responses.

The server and a fault-injecting proxy in front of it each run under uvicorn on a free loopback
port; the SDK talks to the proxy. The proxy forwards every request and can, for the next request
that matches a rule, answer ``502`` after the server did the work (a gateway losing the answer),
drop the connection after the server did the work (a reset), refuse the request without
forwarding it (``503``), or cut a stream right after its first event. The server's ``openai``
deployments point at the upstream stub (``tests/upstream_stub.py``), whose request log shows how
often the work was really done.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import httpx
import pytest
from support import live_server

from saas_litellm_client import (
    APIConnectionError,
    APITimeoutError,
    ConflictError,
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
)
from saas_litellm_server import Settings, create_app

ORG, GROUP, TEAM = "org_acme", "gpt-models", "acme-corp"
MESSAGES = [{"role": "user", "content": "count me once"}]

Fault = Literal["502", "drop", "refuse", "cut-after-first-event"]
_HOP_BY_HOP = {b"host", b"content-length", b"transfer-encoding", b"connection"}


class _Dropped(Exception):
    """Raised by the proxy after it started a response: uvicorn then closes the connection."""


@dataclass
class Exchange:
    """One request the proxy received, and what became of it."""

    method: str
    path: str
    idempotency_key: str | None
    fault: Fault | None
    status: int | None = None  # the server's answer; None if never forwarded
    replayed: bool = False
    body: bytes = b""


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def _respond(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class FaultProxy:
    """An ASGI app forwarding to ``target``, with faults armed by :meth:`fail_next`."""

    target: str
    exchanges: list[Exchange] = field(default_factory=list)
    _rules: list[tuple[str, re.Pattern[str], Fault]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, method: str, path: str, fault: Fault) -> None:
        """Apply ``fault`` to the next ``method`` request whose path matches ``path``."""
        with self._lock:
            self._rules.append((method, re.compile(path), fault))

    def seen(self, method: str, path: str) -> list[Exchange]:
        return [e for e in self.exchanges if e.method == method and re.search(path, e.path)]

    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for index, (rule_method, pattern, fault) in enumerate(self._rules):
                if rule_method == method and pattern.search(path):
                    del self._rules[index]
                    return fault
        return None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        method, path = scope["method"], scope["path"]
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP]
        body = await _read_body(receive)
        key = next((v.decode() for k, v in headers if k.lower() == b"idempotency-key"), None)
        exchange = Exchange(method, path, key, self._take(method, path))
        self.exchanges.append(exchange)
        if exchange.fault == "refuse":  # never forwarded
            error = b'{"error": {"type": "service_unavailable", "message": "proxy says no"}}'
            await _respond(send, 503, error, [(b"retry-after", b"0")])
            return
        url = (
            self.target
            + path
            + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        )
        async with httpx.AsyncClient(timeout=60) as http:
            request = http.build_request(method, url, headers=headers, content=body)
            response = await http.send(request, stream=True)
            try:
                await self._relay(exchange, response, send)
            finally:
                await response.aclose()

    async def _relay(self, exchange: Exchange, response: httpx.Response, send: Any) -> None:
        exchange.status = response.status_code
        exchange.replayed = response.headers.get("idempotent-replayed") == "true"
        headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _HOP_BY_HOP]
        start = {"type": "http.response.start", "status": response.status_code}
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            await send({**start, "headers": headers})
            received = b""
            async for data in response.aiter_raw():
                if exchange.fault == "cut-after-first-event" and b"\n\n" in received + data:
                    first_end = (received + data).index(b"\n\n") + 2 - len(received)
                    await send(
                        {"type": "http.response.body", "body": data[:first_end], "more_body": True}
                    )
                    raise _Dropped("cut after the first event")
                received += data
                await send({"type": "http.response.body", "body": data, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        exchange.body = await response.aread()
        if exchange.fault == "502":  # the server did the work; the gateway lost the answer
            await _respond(
                send, 502, b"<html>502 Bad Gateway</html>", [(b"content-type", b"text/html")]
            )
        elif exchange.fault == "drop":  # … or the connection broke on the way back
            length = (b"content-length", str(len(exchange.body)).encode())
            await send({**start, "headers": [*headers, length]})
            raise _Dropped("connection dropped after the server answered")
        else:
            await _respond(send, response.status_code, exchange.body, headers)


@dataclass
class Gate:
    """An OpenAI-compatible upstream that holds every request until :attr:`release` is set."""

    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    requests: int = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        body = json.loads(await _read_body(receive))
        self.requests += 1
        self.entered.set()
        released = await anyio.to_thread.run_sync(self.release.wait, 30)
        assert released
        answer = {
            "id": "chatcmpl-gate",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "let through"},
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }
        await _respond(
            send, 200, json.dumps(answer).encode(), [(b"content-type", b"application/json")]
        )


@dataclass
class Stack:
    server_url: str
    proxy_url: str
    proxy: FaultProxy
    upstream: str
    slept: list[float] = field(default_factory=list)

    def upstream_requests(self) -> list[dict[str, Any]]:
        log: list[dict[str, Any]] = httpx.get(f"{self.upstream}/_stub/requests").json()
        return log


@pytest.fixture
def stack(upstream_settings: Settings, upstream: str) -> Iterator[Stack]:
    """The real server (SQLite or PostgreSQL), and the fault proxy in front of it."""
    with live_server(create_app(upstream_settings)) as server_url:
        proxy = FaultProxy(server_url)
        with live_server(proxy) as proxy_url:  # type: ignore[arg-type]
            yield Stack(server_url, proxy_url, proxy, upstream)


@pytest.fixture
def gate() -> Iterator[tuple[Gate, str]]:
    upstream = Gate()
    try:
        with live_server(upstream) as url:  # type: ignore[arg-type]
            yield upstream, url
    finally:
        upstream.release.set()


async def create_team(stack: Stack, *, credits: int = 10, gate_url: str | None = None) -> str:
    """Organization, group, the ``Stub`` alias (and ``Gated``), and a team: its virtual key.
    Straight to the server, not through the proxy."""
    async with SaasLiteLLMAdminClient(base_url=stack.server_url) as admin:
        await admin.create_organization(ORG, "ACME")
        await admin.create_model_access_group(GROUP)
        await admin.create_model_alias(
            "Stub", access_groups=[GROUP], deployments=[{"provider": "openai", "model": "echo"}]
        )
        if gate_url is not None:
            await admin.create_model_alias(
                "Gated",
                access_groups=[GROUP],
                deployments=[
                    {"provider": "openai", "model": "gated", "api_base": gate_url, "timeout": 60}
                ],
            )
        team = await admin.create_team(ORG, TEAM, access_groups=[GROUP], credits_allocated=credits)
    return team.virtual_key


@contextlib.asynccontextmanager
async def team_client(stack: Stack, key: str) -> AsyncIterator[SaasLiteLLMClient]:
    """A team client talking to the proxy; its retries do not really wait."""

    async def no_wait(seconds: float) -> None:
        stack.slept.append(seconds)

    async with SaasLiteLLMClient(base_url=stack.proxy_url, team_id=TEAM, virtual_key=key) as client:
        client._sleep = no_wait
        yield client


# -- a response lost after the server did the work ---------------------------------------------


@pytest.mark.parametrize("fault", ["502", "drop"])
async def test_a_lost_llm_call_response_is_retried_and_replayed_not_rerun(
    stack: Stack, fault: Fault
) -> None:
    key = await create_team(stack)
    async with team_client(stack, key) as client:
        job = await client.create_job("lost-answer")
        stack.proxy.fail_next("POST", r"/llm-call$", fault)

        response = await client.llm_call(job_id=job.job_id, messages=MESSAGES, model="Stub")

        attempts = stack.proxy.seen("POST", r"/llm-call$")
        assert [(a.fault, a.status, a.replayed) for a in attempts] == [
            (fault, 200, False),  # the server answered; the client never saw it
            (None, 200, True),  # the retry was answered from the server's record
        ]
        assert attempts[0].idempotency_key == attempts[1].idempotency_key is not None
        assert json.loads(attempts[0].body)["call_id"] == response.call_id
        assert response.content == "stub answer: count me once"
        assert len(stack.upstream_requests()) == 1  # the work was done once
        detail = await client.get_job(job.job_id)
        assert [call.call_id for call in detail.calls] == [response.call_id]

        await client.complete_job(job.job_id)
        balance = await client.get_balance()
        usage = await client.get_usage()

    assert (balance.credits_used, balance.credits_reserved) == (1, 0)
    (row,) = usage.by_job_type
    assert (row.jobs, row.calls, row.tokens) == (1, 1, response.usage.total_tokens)


async def test_lost_create_and_complete_responses_move_the_ledger_once(stack: Stack) -> None:
    key = await create_team(stack, credits=10)
    async with team_client(stack, key) as client:
        stack.proxy.fail_next("POST", r"/jobs/create$", "drop")
        job = await client.create_job("lost-create")
        creates = stack.proxy.seen("POST", r"/jobs/create$")
        assert [(c.status, c.replayed) for c in creates] == [(201, False), (201, True)]
        assert json.loads(creates[0].body)["job_id"] == job.job_id
        assert (await client.get_balance()).credits_reserved == 1  # one job, not two
        await client.llm_call(job_id=job.job_id, messages=MESSAGES, model="Stub")

        stack.proxy.fail_next("POST", r"/complete$", "502")
        result = await client.complete_job(job.job_id, "completed")
        completes = stack.proxy.seen("POST", r"/complete$")
        assert [(c.status, c.replayed) for c in completes] == [(200, False), (200, True)]

        balance = await client.get_balance()
        usage = await client.get_usage()

    assert result.credits_remaining == 9
    assert (balance.credits_used, balance.credits_reserved, balance.credits_remaining) == (1, 0, 9)
    assert [(r.jobs, r.completed, r.credits) for r in usage.by_job_type] == [(1, 1, 1)]


async def test_without_retries_the_lost_response_is_an_error_and_the_work_stands(
    stack: Stack,
) -> None:
    """The counterpart of the tests above: what the retry saves the caller from."""
    key = await create_team(stack)
    async with team_client(stack, key) as client:
        job = await client.create_job("no-retry")
        stack.proxy.fail_next("POST", r"/llm-call$", "drop")

        with pytest.raises(APIConnectionError):
            await client.llm_call(job_id=job.job_id, messages=MESSAGES, model="Stub", max_retries=0)

        detail = await client.get_job(job.job_id)
    assert len(detail.calls) == 1
    assert len(stack.proxy.seen("POST", r"/llm-call$")) == 1


# -- streams -----------------------------------------------------------------------------------


async def test_a_stream_refused_before_it_started_is_retried(stack: Stack) -> None:
    key = await create_team(stack)
    async with team_client(stack, key) as client:
        job = await client.create_job("stream")
        stack.proxy.fail_next("POST", r"/llm-call-stream$", "refuse")

        async with client.stream(job_id=job.job_id, messages=MESSAGES, model="Stub") as stream:
            text = await stream.get_final_text()

        detail = await client.get_job(job.job_id)

    assert text == "stub answer: count me once"
    attempts = stack.proxy.seen("POST", r"/llm-call-stream$")
    assert [(a.fault, a.status) for a in attempts] == [("refuse", None), (None, 200)]
    assert len(stack.upstream_requests()) == 1
    assert [call.call_id for call in detail.calls] == [stream.call_id]
    assert stack.slept == [0.0]  # the proxy's Retry-After: 0


async def test_a_stream_cut_after_its_first_event_is_not_retried(stack: Stack) -> None:
    key = await create_team(stack)
    async with team_client(stack, key) as client:
        job = await client.create_job("stream")
        stack.proxy.fail_next("POST", r"/llm-call-stream$", "cut-after-first-event")
        received: list[str] = []

        with pytest.raises(APIConnectionError):
            async with client.stream(job_id=job.job_id, messages=MESSAGES, model="Stub") as s:
                async for chunk in s:
                    received.append(chunk.content)

    assert received == ["stub "]
    assert len(stack.proxy.seen("POST", r"/llm-call-stream$")) == 1
    assert len(stack.upstream_requests()) == 1


# -- client.job() ------------------------------------------------------------------------------


async def test_client_job_completes_on_success(stack: Stack) -> None:
    key = await create_team(stack)
    async with team_client(stack, key) as client:
        async with client.job("report", metadata={"doc": 7}) as job:
            response = await job.llm_call(messages=MESSAGES, model="Stub")
            assert (await job.get()).status == "in_progress"

        detail = await client.get_job(job.job_id)
        balance = await client.get_balance()

    assert job.result is not None and job.result.status == "completed"
    assert (detail.status, detail.metadata) == ("completed", {"doc": 7})
    assert [call.call_id for call in detail.calls] == [response.call_id]
    assert (balance.credits_used, balance.credits_reserved) == (1, 0)


async def test_client_job_fails_on_an_exception_even_if_the_answer_is_lost(stack: Stack) -> None:
    key = await create_team(stack)
    async with team_client(stack, key) as client:
        stack.proxy.fail_next("POST", r"/complete$", "drop")

        with pytest.raises(RuntimeError, match="parser crashed"):
            async with client.job("report") as job:
                await job.llm_call(messages=MESSAGES, model="Stub")
                raise RuntimeError("parser crashed")

        detail = await client.get_job(job.job_id)
        balance = await client.get_balance()

    assert job.result is not None and job.result.status == "failed"
    assert (detail.status, detail.error_message) == ("failed", "RuntimeError: parser crashed")
    assert (balance.credits_used, balance.credits_reserved, balance.credits_remaining) == (0, 0, 10)
    completes = stack.proxy.seen("POST", r"/complete$")
    assert [(c.status, c.replayed) for c in completes] == [(200, False), (200, True)]


# -- the same key at the same time -------------------------------------------------------------


async def test_a_repeat_while_the_first_is_running_is_a_conflict_then_a_replay(
    stack: Stack, gate: tuple[Gate, str]
) -> None:
    upstream, gate_url = gate
    key = await create_team(stack, gate_url=gate_url)
    async with team_client(stack, key) as client:
        job = await client.create_job("race")
        call = {"job_id": job.job_id, "messages": MESSAGES, "model": "Gated"}
        first = asyncio.create_task(client.llm_call(**call, idempotency_key="call-1"))
        assert await anyio.to_thread.run_sync(upstream.entered.wait, 30)  # it is upstream now

        with pytest.raises(ConflictError, match="still being processed"), anyio.fail_after(20):
            await client.llm_call(**call, idempotency_key="call-1")
        upstream.release.set()
        answer = await first
        again = await client.llm_call(**call, idempotency_key="call-1")
        detail = await client.get_job(job.job_id)

    attempts = stack.proxy.seen("POST", r"/llm-call$")
    assert [(a.status, a.replayed) for a in attempts] == [(200, False), (409, False), (200, True)]
    assert again == answer and again.content == "let through"
    assert upstream.requests == 1
    assert [c.call_id for c in detail.calls] == [answer.call_id]


@contextlib.asynccontextmanager
async def slow_upstream_client(stack: Stack, seconds: float) -> AsyncIterator[SaasLiteLLMClient]:
    """A team client (really waiting between attempts) and the ``Slow`` alias: the stub answers
    after ``seconds``."""
    key = await create_team(stack)
    async with SaasLiteLLMAdminClient(base_url=stack.server_url) as admin:
        await admin.create_model_alias(
            "Slow",
            access_groups=[GROUP],
            deployments=[{"provider": "openai", "model": f"sleep-{seconds:g}", "timeout": 30}],
        )
    async with SaasLiteLLMClient(base_url=stack.proxy_url, team_id=TEAM, virtual_key=key) as client:
        yield client


async def test_a_call_that_timed_out_waits_for_its_own_replay(stack: Stack) -> None:
    """The first attempt times out client-side while the server keeps working on it; the retry
    finds its own key in flight (409) and waits for the outcome instead of raising."""
    async with slow_upstream_client(stack, 2) as client:
        job = await client.create_job("slow")
        answer = await client.llm_call(
            job_id=job.job_id, messages=MESSAGES, model="Slow", timeout=0.5, deadline=20
        )
        detail = await client.get_job(job.job_id)

    assert answer.content == "stub answer: count me once"
    attempts = stack.proxy.seen("POST", r"/llm-call$")
    assert len({a.idempotency_key for a in attempts}) == 1
    assert 409 in [a.status for a in attempts[1:-1]]  # found in flight, at least once
    assert attempts[-1].replayed  # … then the original outcome, replayed
    assert len(stack.upstream_requests()) == 1  # the work was done once
    assert [c.call_id for c in detail.calls] == [answer.call_id]


async def test_waiting_for_its_own_replay_ends_at_the_deadline(stack: Stack) -> None:
    """``llm_call(timeout=1.0, deadline=2.5)`` against a slower upstream: a timeout, not the
    409 of its own retry."""
    async with slow_upstream_client(stack, 4) as client:
        job = await client.create_job("slow")
        started = asyncio.get_running_loop().time()
        with pytest.raises(APITimeoutError, match=r"Deadline of 2\.5s exceeded") as info:
            await client.llm_call(
                job_id=job.job_id, messages=MESSAGES, model="Slow", timeout=1.0, deadline=2.5
            )
        elapsed = asyncio.get_running_loop().time() - started

    assert elapsed <= 2.5 + 0.5
    assert isinstance(info.value.__cause__, ConflictError)  # its retry found it in flight
    # every retry found the first attempt in flight (the last may be cut off by the deadline)
    retries = [a.status for a in stack.proxy.seen("POST", r"/llm-call$")][1:]
    assert retries[0] == 409 and set(retries) <= {409, None}


async def test_concurrent_creates_with_one_key_make_one_job(stack: Stack) -> None:
    key = await create_team(stack, credits=10)
    async with team_client(stack, key) as client:
        results = await asyncio.gather(
            *[client.create_job("once", idempotency_key="create-1") for _ in range(8)],
            return_exceptions=True,
        )
        balance = await client.get_balance()

    jobs = [r for r in results if not isinstance(r, BaseException)]
    assert jobs, results
    assert all(isinstance(r, ConflictError) for r in results if r not in jobs)
    assert len({j.job_id for j in jobs}) == 1
    assert balance.credits_reserved == 1
    statuses = [(e.status, e.replayed) for e in stack.proxy.seen("POST", r"/jobs/create$")]
    assert statuses.count((201, False)) == 1  # executed once; the others replayed or 409
    assert all(s in ((201, True), (409, False)) for s in statuses if s != (201, False))
