"""The ``Server-Timing`` header (_timing.py): on every response, errors and streams included,
and its durations add up (``total`` ≥ ``db``, ``total`` ≥ ``upstream``; a slow upstream shows)."""

from __future__ import annotations

import re

import httpx
import pytest
from support import GROUP, TEAM, app_client, bearer, create_team

from saas_litellm_server import Settings
from saas_litellm_server._timing import RequestTiming

MSG = {"messages": [{"role": "user", "content": "time me"}]}
_ENTRY = re.compile(r"^(total|db|upstream);dur=(\d+\.\d{3})$")


def timing(response: httpx.Response) -> dict[str, float]:
    """The header's durations by name (ms); fails unless it is exactly total, db, upstream."""
    header = response.headers.get("server-timing")
    assert header is not None, f"no Server-Timing on {response.request.url.path}"
    parsed: dict[str, float] = {}
    for entry in header.split(", "):
        match = _ENTRY.match(entry)
        assert match, header
        parsed[match.group(1)] = float(match.group(2))
    assert list(parsed) == ["total", "db", "upstream"], header
    assert parsed["total"] >= parsed["db"] >= 0 and parsed["total"] >= parsed["upstream"] >= 0
    assert len(response.headers.get_list("server-timing")) == 1
    return parsed


async def open_job(http: httpx.AsyncClient, key: str) -> str:
    r = await http.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": "timing"}, headers=bearer(key)
    )
    assert r.status_code == 201, r.text
    return str(r.json()["job_id"])


async def test_every_kind_of_response_has_it(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=10)
    job = await open_job(http, key)
    call = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(key))
    assert call.status_code == 200
    assert timing(call)["db"] > 0  # it authenticated, checked the job and recorded the call

    responses = {
        200: await http.get("/health"),
        401: await http.post("/api/jobs/create", json={}),
        404: await http.get(f"/api/jobs/{job[:-4]}ffff", headers=bearer(key)),
        405: await http.delete("/api/jobs/create"),
        413: await http.post(
            "/api/jobs/create", content=b"x" * (4 * 1024 * 1024 + 1), headers=bearer(key)
        ),
        400: await http.post(
            "/api/jobs/create",
            content=b"{",
            headers={**bearer(key), "Content-Type": "application/json"},
        ),
        422: await http.post("/api/jobs/create", json={"team_id": 5}, headers=bearer(key)),
    }
    v1 = {
        200: await http.post(
            "/v1/chat/completions", json={"model": "default", **MSG}, headers=bearer(key)
        ),
        401: await http.post("/v1/chat/completions", json={}),
        404: await http.get("/v1/no-such-thing"),
    }
    for status, response in [*responses.items(), *v1.items()]:
        assert response.status_code == status, (response.request.url, response.text)
        timing(response)


async def test_a_stream_reports_what_was_known_when_its_headers_went(
    http: httpx.AsyncClient,
) -> None:
    key = await create_team(http, credits=10)
    job = await open_job(http, key)
    async with http.stream(
        "POST", f"/api/jobs/{job}/llm-call-stream", json=MSG, headers=bearer(key)
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        parsed = timing(r)
        body = b"".join([chunk async for chunk in r.aiter_bytes()])
    assert b"event: done" in body
    assert parsed["upstream"] == 0  # the stream had not started yet


async def test_a_slow_upstream_shows_as_upstream_time(upstream_settings: Settings) -> None:
    async with app_client(upstream_settings) as (_, http):
        key = await create_team(http, credits=10)
        r = await http.post(
            "/api/model-aliases/create",
            json={
                "model_alias": "Slow",
                "access_groups": [GROUP],
                "deployments": [{"provider": "openai", "model": "sleep-0.3"}],
            },
        )
        assert r.status_code == 201, r.text
        job = await open_job(http, key)
        call = await http.post(
            f"/api/jobs/{job}/llm-call", json={**MSG, "model": "Slow"}, headers=bearer(key)
        )
        assert call.status_code == 200, call.text
        parsed = timing(call)
        assert parsed["upstream"] >= 300
        assert parsed["total"] - parsed["upstream"] < 300  # the server's part is small
        other = await http.get(f"/api/jobs/{job}", headers=bearer(key))
        assert timing(other)["upstream"] == 0  # the accumulator is per request


@pytest.mark.parametrize(("db", "upstream"), [(0.0, 0.0), (0.002, 0.5), (9.0, 9.0)])
def test_the_header_never_claims_more_than_total(db: float, upstream: float) -> None:
    t = RequestTiming()
    t.db, t.upstream = db, upstream
    assert t.header(1.0).decode() == (
        f"total;dur=1000.000, db;dur={min(db, 1) * 1000:.3f}, "
        f"upstream;dur={min(upstream, 1) * 1000:.3f}"
    )
