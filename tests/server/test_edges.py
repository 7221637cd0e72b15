"""Regression tests for the edges an adversarial pass and a new operator found (issue 26).

Each test names its item. Names (headers, settings) are the contract's, ``API.md`` "Edges".
"""

from __future__ import annotations

import httpx
import pytest
from support import TEAM, bearer, create_team, open_job

from saas_litellm_server._responses import should_retry

MSG = [{"role": "user", "content": "hi"}]


# -- item 9: x-should-retry --------------------------------------------------------------------


async def test_item9_errors_say_whether_a_retry_can_fix_them(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=10)
    await http.post(f"/api/teams/{TEAM}/limits", json={"rpm_limit": 1})
    closed = await open_job(http, key)
    await http.post(f"/api/jobs/{closed}/complete", json={"status": "failed"}, headers=bearer(key))
    answers = {
        400: await http.post(
            "/api/jobs/create",
            content=b"{",
            headers={**bearer(key), "Content-Type": "application/json"},
        ),
        401: await http.get("/api/credits/balance"),
        404: await http.get("/api/nowhere"),
        405: await http.delete("/api/credits/balance", headers=bearer(key)),
        409: await http.post(
            f"/api/jobs/{closed}/llm-call", json={"messages": MSG}, headers=bearer(key)
        ),
        413: await http.post("/api/jobs/create", content=b" " * 5_000_000, headers=bearer(key)),
        422: await http.post("/api/jobs/create", json={"team_id": TEAM}, headers=bearer(key)),
    }
    job = await open_job(http, key)
    await http.post(f"/api/jobs/{job}/llm-call", json={"messages": MSG}, headers=bearer(key))
    answers[429] = await http.post(
        f"/api/jobs/{job}/llm-call", json={"messages": MSG}, headers=bearer(key)
    )
    for status, response in answers.items():
        assert response.status_code == status, (status, response.text)
        expected = "true" if status == 429 else "false"
        assert response.headers["x-should-retry"] == expected, status
    assert answers[429].headers["retry-after"]


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (408, {}, "true"),
        (500, {}, "true"),
        (502, {}, "true"),
        (503, {"Retry-After": "1"}, "true"),
        (504, {}, "true"),
        (409, {"Retry-After": "1"}, "true"),  # the same Idempotency-Key still running
        (402, {}, "false"),
        (403, {}, "false"),
    ],
)
def test_item9_the_rule_by_status(status: int, headers: dict[str, str], expected: str) -> None:
    assert should_retry(status, headers) == expected


# -- item 11: the front page, trailing slashes, a base URL ending in /v1 ----------------------


async def test_item11_the_root_is_a_page_linking_the_dashboard_and_the_docs(
    http: httpx.AsyncClient,
) -> None:
    r = await http.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for link in ('href="/admin"', 'href="/docs"', 'href="/redoc"'):
        assert link in r.text
    for path in ("/admin", "/docs", "/redoc"):
        assert (await http.get(path, follow_redirects=True)).status_code == 200


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_item11_a_trailing_slash_is_a_404_naming_the_path(
    http: httpx.AsyncClient, method: str
) -> None:
    key = await create_team(http, credits=10)
    path = "/api/jobs/create/" if method == "POST" else "/api/credits/balance/"
    r = await http.request(
        method, path, json={"team_id": TEAM, "job_type": "x"}, headers=bearer(key)
    )
    assert r.status_code == 404
    message = r.json()["error"]["message"]
    assert f"did you mean {path.rstrip('/')} (no trailing slash)?" in message
    assert "did you mean" not in (await http.get("/api/nowhere/")).json()["error"]["message"]


async def test_item11_an_sdk_pointed_at_v1_is_told_the_base_url(http: httpx.AsyncClient) -> None:
    from saas_litellm_client import NotFoundError, SaasLiteLLMClient

    key = await create_team(http, credits=10)
    async with SaasLiteLLMClient(
        "http://testserver/v1", TEAM, key, http_client=http, max_retries=0
    ) as client:
        with pytest.raises(NotFoundError) as info:
            await client.create_job("x")
    message = info.value.message
    assert "the native API is at /api/jobs/create" in message
    assert "base_url" in message and "without /v1" in message
