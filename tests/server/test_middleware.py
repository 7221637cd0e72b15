"""Request ids and the body-size limit (_middleware.py), in-process and over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from support import TEAM, bearer, create_team


async def test_every_response_has_a_request_id(any_http: httpx.AsyncClient) -> None:
    http = any_http
    key = await create_team(http)
    responses = [
        await http.get("/api/credits/balance", headers=bearer(key)),  # 200
        await http.get("/api/credits/balance"),  # 401
        await http.get("/nowhere"),  # 404
        await http.post("/api/jobs/create", content=b"{", headers=bearer(key)),  # 400
    ]
    ids = [r.headers.get("x-request-id") for r in responses]
    assert all(ids) and len(set(ids)) == len(ids)
    for r in responses[1:]:
        assert r.json()["error"]["request_id"] == r.headers["x-request-id"]


async def test_a_sane_client_request_id_is_echoed(http: httpx.AsyncClient) -> None:
    r = await http.get("/health", headers={"X-Request-ID": "trace-42.a:b"})
    assert r.headers["x-request-id"] == "trace-42.a:b"
    r = await http.get("/health", headers={"X-Request-ID": "evil id<script>" * 50})
    assert r.headers["x-request-id"].startswith("req_")


@pytest.mark.parametrize("chunked", [False, True])
async def test_oversized_body_is_413(any_http: httpx.AsyncClient, chunked: bool) -> None:
    http = any_http
    key = await create_team(http)
    payload = b'{"team_id": "' + TEAM.encode() + b'", "job_type": "' + b"x" * 5_000_000 + b'"}'

    async def body():  # type: ignore[no-untyped-def]
        for i in range(0, len(payload), 65536):
            yield payload[i : i + 65536]

    content = body() if chunked else payload
    r = await http.post(
        "/api/jobs/create",
        content=content,
        headers={**bearer(key), "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "request_too_large"
    balance = (await http.get("/api/credits/balance", headers=bearer(key))).json()
    assert balance["credits_reserved"] == 0


async def test_a_client_leaving_mid_body_is_not_a_500(app, caplog) -> None:  # type: ignore[no-untyped-def]
    """The body stops half-way (the client hung up): no 500, no traceback, nothing changed."""
    messages = [
        {"type": "http.request", "body": b'{"team_id": "acme-corp", ', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/organizations/create",
        "raw_path": b"",
        "query_string": b"",
        "root_path": "",
        "server": ("t", 80),
        "client": ("c", 1),
        "headers": [
            (b"host", b"localhost"),
            (b"content-type", b"application/json"),
            (b"content-length", b"200"),
        ],
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 400
    assert "Traceback" not in caplog.text and "unhandled error" not in caplog.text
