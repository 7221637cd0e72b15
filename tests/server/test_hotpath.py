"""The hot path (_hotpath.py): the calls that go upstream answered without the framework's
layers, exactly as the middleware stack answers them — same statuses, bodies, headers, access
lines and metrics — and every other request left to the stack."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from support import TEAM, app_client, bearer, create_team, open_job

from saas_litellm_models import endpoints
from saas_litellm_server import Settings, create_app
from saas_litellm_server._hotpath import HotPath
from saas_litellm_server.services import calls

HOT = {
    "POST /api/jobs/{job_id}/llm-call",
    "POST /api/jobs/{job_id}/llm-call-stream",
    "POST /api/jobs/{job_id}/embeddings",
    "POST /api/jobs/create-and-call",
    "POST /api/jobs/create-and-call-stream",
    "POST /v1/chat/completions",
    "POST /v1/responses",
    "POST /v1/embeddings",
    "POST /v1/messages",
}
"""Written out by hand: a new upstream-calling endpoint must be added here on purpose."""

MSG = {"messages": [{"role": "user", "content": "hot"}]}


@contextlib.asynccontextmanager
async def two_apps(
    settings: Settings,
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two apps on one database: one with the hot path, one that sends everything through the
    middleware stack."""
    hot, stack = create_app(settings), create_app(settings)
    stack.hot = False  # type: ignore[attr-defined]
    async with (
        hot.router.lifespan_context(hot),
        stack.router.lifespan_context(stack),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=hot, raise_app_exceptions=False),
            base_url="http://localhost",
        ) as via_hot,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=stack, raise_app_exceptions=False),
            base_url="http://localhost",
        ) as via_stack,
    ):
        yield via_hot, via_stack


@contextlib.contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths the hot path served while the block ran."""
    served: list[str] = []
    serve = HotPath._serve

    async def spy(self: HotPath, scope: Any, *args: Any) -> None:
        served.append(scope["path"])
        await serve(self, scope, *args)

    monkeypatch.setattr(HotPath, "_serve", spy)
    yield served


def test_the_hot_routes_are_the_table_rows_marked_hot() -> None:
    marked = {str(e) for e in endpoints.ENDPOINTS if e.hot}
    assert marked == HOT
    app = create_app(Settings(database_url="sqlite://", _env_file=None))  # type: ignore[call-arg]
    stack = app.build_middleware_stack()
    assert isinstance(stack, HotPath)
    assert {str(route.declaration) for route in stack.routes} == HOT


_VOLATILE = re.compile(
    r"(req_[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|chatcmpl-[A-Za-z0-9]+|resp_[A-Za-z0-9]+|msg_[A-Za-z0-9]+|\"(?:latency_ms|avg_latency_ms|"
    r"created|created_at|credits_remaining)\":[0-9.]+)"
)


def _shape(response: httpx.Response) -> tuple[int, list[str], str]:
    """What must be equal on both paths: the status, the header names and the body with its
    ids, timestamps and latencies blanked."""
    names = sorted(name for name, _ in response.headers.multi_items() if name != "date")
    return response.status_code, names, _VOLATILE.sub("_", response.text)


async def test_each_hot_endpoint_answers_as_the_stack_would(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with two_apps(settings) as (via_hot, via_stack):
        key = await create_team(via_hot, credits=100)
        job = await open_job(via_hot, key)
        auth = bearer(key)
        json_auth = {**auth, "Content-Type": "application/json"}
        requests: list[tuple[str, dict[str, Any]]] = [
            (f"/api/jobs/{job}/llm-call", {"json": MSG, "headers": auth}),
            (
                f"/api/jobs/{job}/llm-call",
                {"json": MSG, "headers": {**auth, "X-Request-ID": "r-1"}},
            ),
            (f"/api/jobs/{job}/llm-call", {"json": MSG}),
            (f"/api/jobs/{job}/llm-call", {"json": MSG, "headers": bearer("sk-wrong")}),
            (f"/api/jobs/{job}/llm-call", {"content": b"{", "headers": json_auth}),
            (f"/api/jobs/{job}/llm-call", {"json": {"messages": 5}, "headers": auth}),
            (
                f"/api/jobs/{job}/llm-call",
                {"content": b"{}", "headers": {**auth, "Content-Type": "text/plain"}},
            ),
            (f"/api/jobs/{job}/llm-call", {"json": {**MSG, "model": "nope"}, "headers": auth}),
            (f"/api/jobs/{job[:-4]}ffff/llm-call", {"json": MSG, "headers": auth}),
            ("/api/jobs/not-a-job/llm-call", {"json": MSG, "headers": auth}),
            (
                f"/api/jobs/{job}/llm-call",
                {"content": b"x" * (5 * 1024 * 1024), "headers": json_auth},
            ),
            (f"/api/jobs/{job}/llm-call-stream", {"json": MSG, "headers": auth}),
            (f"/api/jobs/{job}/embeddings", {"json": {"texts": ["a"]}, "headers": auth}),
            (
                "/api/jobs/create-and-call",
                {"json": {"team_id": TEAM, "job_type": "h", **MSG}, "headers": auth},
            ),
            (
                "/api/jobs/create-and-call",
                {"json": {"team_id": "other", "job_type": "h", **MSG}, "headers": auth},
            ),
            ("/v1/chat/completions", {"json": {"model": "default", **MSG}, "headers": auth}),
            ("/v1/chat/completions", {"json": {"model": "default", **MSG}}),
            (
                "/v1/chat/completions",
                {"json": {"model": "default", **MSG, "stream": True}, "headers": auth},
            ),
            (
                "/v1/chat/completions",
                {"json": {"model": "default", **MSG}, "headers": {**auth, "X-Job-Id": job}},
            ),
            ("/v1/responses", {"json": {"model": "default", "input": "hi"}, "headers": auth}),
            (
                "/v1/messages",
                {
                    "json": {"model": "default", "max_tokens": 5, **MSG},
                    "headers": {"x-api-key": key},
                },
            ),
            ("/v1/messages", {"json": {"model": "default", "max_tokens": 5, **MSG}}),
        ]
        with counting(monkeypatch) as served:
            for path, options in requests:
                hot = await via_hot.post(path, **options)
                stack = await via_stack.post(path, **options)
                assert _shape(hot) == _shape(stack), path
                assert hot.headers["x-request-id"] != stack.headers["x-request-id"] or (
                    hot.headers["x-request-id"] == "r-1"
                )
                assert "server-timing" in hot.headers
        # every one of them reached the hot path (the malformed job id included: it matches
        # the route and is refused by it, as the stack's route refuses it)
        assert len(served) == len(requests)
        # the stack still serves everything else
        assert (await via_hot.get("/health")).status_code == 200
        assert (await via_hot.get(f"/api/jobs/{job}", headers=auth)).status_code == 200
        assert (await via_hot.get(f"/api/jobs/{job}/llm-call", headers=auth)).status_code == 405
        assert len(served) == len(requests)
        # and the two apps billed the same calls: one job, every call of both recorded
        detail = (await via_hot.get(f"/api/jobs/{job}", headers=auth)).json()
        assert (
            detail["costs"]["total_calls"] == 2 * 3 + 2
        )  # llm-call x2, stream, embeddings; v1 in job


async def test_an_unexpected_error_is_a_500_logged_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with two_apps(settings) as (via_hot, via_stack):
        key = await create_team(via_hot)
        job = await open_job(via_hot, key)

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

        monkeypatch.setattr(calls, "llm_call", broken)
        caplog.set_level(logging.INFO)
        for http in (via_hot, via_stack):
            caplog.clear()
            r = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(key))
            assert r.status_code == 500
            error = r.json()["error"]
            assert error["type"] == "internal_error"
            assert error["request_id"] == r.headers["x-request-id"]
            logged = [
                rec for rec in caplog.records if rec.exc_info and "boom" in str(rec.exc_info[1])
            ]
            assert logged and logged[0].getMessage().endswith(r.headers["x-request-id"])
            (line,) = [rec for rec in caplog.records if rec.name == "saas_litellm_server.access"]
            assert line.status == 500  # type: ignore[attr-defined]
            assert line.request_id == r.headers["x-request-id"]  # type: ignore[attr-defined]


async def test_access_lines_and_metrics_name_the_route(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=database_url, metrics=True, _env_file=None)  # type: ignore[call-arg]
    async with app_client(settings) as (_, http):
        key = await create_team(http)
        job = await open_job(http, key)
        caplog.set_level(logging.INFO, logger="saas_litellm_server.access")
        caplog.clear()
        ok = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(key))
        refused = await http.post(f"/api/jobs/{job}/llm-call", json=MSG)
        assert (ok.status_code, refused.status_code) == (200, 401)
        lines = [r for r in caplog.records if r.name == "saas_litellm_server.access"]
        assert [(r.path, r.status, r.request_id) for r in lines] == [  # type: ignore[attr-defined]
            (f"/api/jobs/{job}/llm-call", 200, ok.headers["x-request-id"]),
            (f"/api/jobs/{job}/llm-call", 401, refused.headers["x-request-id"]),
        ]
        text = (await http.get("/metrics")).text
        for status in ("200", "401"):
            assert re.search(
                r'saas_litellm_requests_total\{method="POST",route="/api/jobs/\{job_id\}/llm-call",'
                rf'status="{status}"\}} 1\.0',
                text,
            ), text


async def test_local_dev_mode_refuses_other_host_names_on_the_hot_path(
    http: httpx.AsyncClient,
) -> None:
    key = await create_team(http)
    job = await open_job(http, key)
    r = await http.post(
        f"/api/jobs/{job}/llm-call", json=MSG, headers={**bearer(key), "Host": "evil.example"}
    )
    assert r.status_code == 421
    assert r.json()["error"]["type"] == "misdirected_request"
    r = await http.post(
        "/v1/chat/completions",
        json={"model": "default", **MSG},
        headers={**bearer(key), "Host": "evil.example:80"},
    )
    assert r.status_code == 421
    assert r.json()["error"]["code"] == "misdirected_request"  # OpenAI's shape under /v1
    detail = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()
    assert detail["costs"]["total_calls"] == 0


@pytest.mark.parametrize("chunked", [False, True])
async def test_an_oversized_call_is_413_and_changes_nothing(
    any_http: httpx.AsyncClient, chunked: bool
) -> None:
    http = any_http
    key = await create_team(http)
    job = await open_job(http, key)
    payload = json.dumps({"messages": [{"role": "user", "content": "x" * 5_000_000}]}).encode()
    before = (await http.get("/api/credits/balance", headers=bearer(key))).json()

    async def body():  # type: ignore[no-untyped-def]
        for i in range(0, len(payload), 65536):
            yield payload[i : i + 65536]

    r = await http.post(
        f"/api/jobs/{job}/llm-call",
        content=body() if chunked else payload,
        headers={**bearer(key), "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "request_too_large"
    assert "server-timing" in r.headers
    detail = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()
    assert detail["costs"]["total_calls"] == 0
    assert (await http.get("/api/credits/balance", headers=bearer(key))).json() == before


async def test_cross_origin_calls_take_the_stack_for_their_cors_headers(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        database_url=database_url, cors_origins=["https://app.example"], _env_file=None
    )  # type: ignore[call-arg]
    async with app_client(settings) as (_, http):
        key = await create_team(http)
        job = await open_job(http, key)
        with counting(monkeypatch) as served:
            r = await http.post(
                f"/api/jobs/{job}/llm-call",
                json=MSG,
                headers={**bearer(key), "Origin": "https://app.example"},
            )
            assert r.status_code == 200
            assert r.headers["access-control-allow-origin"] == "https://app.example"
            assert "x-request-id" in r.headers["access-control-expose-headers"].lower()
            assert served == []
            r = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(key))
            assert r.status_code == 200 and len(served) == 1


async def test_trusted_proxies_name_the_client_on_the_hot_path(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=database_url, trusted_proxies=["127.0.0.1"], _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://localhost") as http,
    ):
        key = await create_team(http)
        job = await open_job(http, key)
        caplog.set_level(logging.INFO, logger="saas_litellm_server.access")
        caplog.clear()
        r = await http.post(
            f"/api/jobs/{job}/llm-call",
            json=MSG,
            headers={**bearer(key), "X-Forwarded-For": "203.0.113.9"},
        )
        assert r.status_code == 200
        (line,) = [rec for rec in caplog.records if rec.name == "saas_litellm_server.access"]
        assert line.client.startswith("203.0.113.9:")  # type: ignore[attr-defined]
