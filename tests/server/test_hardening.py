"""Regression tests for what an adversarial pass broke (issue 12, items 1-3, 6, 7 and 10).

Each test names its item. Every refusal is a typed 4xx that changes nothing; none is a 500.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from support import TEAM, bearer, create_team, ledger

DEEP = b"[" * 1100 + b"]" * 1100


def _cursor(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode("utf-8", "surrogatepass")).decode().rstrip("=")


async def _open_job(http: httpx.AsyncClient, key: str) -> str:
    r = await http.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": "t"}, headers=bearer(key)
    )
    assert r.status_code == 201, r.text
    job_id: str = r.json()["job_id"]
    return job_id


@pytest.mark.parametrize(
    "path",
    [
        "/api/jobs/create",
        "/api/jobs/{job}/llm-call",
        "/api/jobs/{job}/llm-call-stream",
        "/api/jobs/{job}/complete",
        "/api/organizations/create",
        "/api/teams/create",
        f"/api/teams/{TEAM}/credits/add",
    ],
)
async def test_item1_deep_json_with_an_idempotency_key_is_400_not_500(
    any_http: httpx.AsyncClient, path: str
) -> None:
    key = await create_team(any_http, credits=5)
    job_id = await _open_job(any_http, key)
    before = await ledger(any_http, key)
    r = await any_http.post(
        path.replace("{job}", job_id),
        content=DEEP,
        headers={**bearer(key), "Idempotency-Key": "deep-1", "Content-Type": "application/json"}
        if "/jobs/" in path
        else {"Idempotency-Key": "deep-1", "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "invalid_request"
    assert "deeper than 64" in r.json()["error"]["message"]
    # The connection is still usable (over real HTTP: the same keep-alive connection) and
    # nothing moved.
    assert await ledger(any_http, key) == before


@pytest.mark.parametrize("param", ["since", "until"])
@pytest.mark.parametrize(
    "value", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59"]
)
async def test_item2_extreme_usage_windows_answer_200(
    http: httpx.AsyncClient, param: str, value: str
) -> None:
    key = await create_team(http, credits=5)
    job_id = await _open_job(http, key)
    await http.post(f"/api/jobs/{job_id}/complete", json={"status": "failed"}, headers=bearer(key))
    r = await http.get(f"/api/teams/{TEAM}/usage", params={param: value}, headers=bearer(key))
    assert r.status_code == 200, r.text
    jobs = sum(row["jobs"] for row in r.json()["by_job_type"])
    # Far-future "since" and far-past "until" select nothing; the rest select the one job.
    selects_nothing = (param == "since") == value.startswith("9999")
    assert jobs == (0 if selects_nothing else 1)


FORGED = {
    "lone surrogate": _cursor('["\ud800", "x"]'),
    "lone surrogate id": _cursor('["2026-01-01T00:00:00+00:00", "\ud800"]'),
    "NUL in id": _cursor('["2026-01-01T00:00:00+00:00", "a\\u0000b"]'),
    "NUL in date": _cursor('["2026-01-01T00:00:00\\u0000", "x"]'),
    "date out of range": _cursor('["9999-12-31T23:59:59-23:59", "x"]'),
    "naive date": _cursor('["2026-01-01T00:00:00", "x"]'),
    "not a list": _cursor('{"a": 1}'),
    "numbers": _cursor("[1, 2]"),
    "three items": _cursor('["2026-01-01T00:00:00+00:00", "x", "y"]'),
    "not base64": "!!!",
    "not JSON": _cursor("not json"),
    "deep JSON": _cursor("[" * 5000),
}


@pytest.mark.parametrize("cursor", list(FORGED.values()), ids=list(FORGED))
async def test_item3_forged_job_list_cursors_are_400(http: httpx.AsyncClient, cursor: str) -> None:
    key = await create_team(http, credits=5)
    r = await http.get(f"/api/teams/{TEAM}/jobs", params={"cursor": cursor}, headers=bearer(key))
    assert r.status_code == 400, r.text
    assert r.json()["error"] == {
        "type": "invalid_request",
        "message": "cursor is not one this API returned",
        "param": "cursor",
        "request_id": r.headers["x-request-id"],
    }


async def test_item3_issued_cursors_still_page_through_every_job(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=10)
    created = {await _open_job(http, key) for _ in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await http.get(f"/api/teams/{TEAM}/jobs", params=params, headers=bearer(key))
        ).json()
        seen += [job["job_id"] for job in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(created) and len(seen) == 5


def _values_body(count: int) -> bytes:
    return (
        b'{"team_id": "acme-corp", "job_type": "t", "metadata": {"a": ['
        + b",".join([b"{}"] * count)
        + b"]}}"
    )


async def test_item6_a_body_of_a_million_values_is_413_before_parsing(
    any_http: httpx.AsyncClient,
) -> None:
    key = await create_team(any_http, credits=5)
    before = await ledger(any_http, key)
    body = _values_body(1_390_000)  # just under the 4 MiB byte limit
    assert len(body) < 4 * 1024 * 1024
    for headers in ({}, {"Idempotency-Key": "big-1"}):
        r = await any_http.post(
            "/api/jobs/create",
            content=body,
            headers={**bearer(key), **headers, "Content-Type": "application/json"},
        )
        assert r.status_code == 413, r.text
        assert r.json()["error"]["type"] == "request_too_large"
        assert "100000 JSON values" in r.json()["error"]["message"]
    assert await ledger(any_http, key) == before
    assert (await any_http.get("/health")).status_code == 200


async def test_item6_text_full_of_brackets_and_commas_is_not_mistaken_for_structure(
    http: httpx.AsyncClient,
) -> None:
    key = await create_team(http, credits=5)
    job_id = await _open_job(http, key)
    prose = 'Hello, [world], {this} is "quoted" text, ' * 20_000  # 200k commas inside a string
    r = await http.post(
        f"/api/jobs/{job_id}/llm-call",
        json={"messages": [{"role": "user", "content": prose}]},
        headers=bearer(key),
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"/api/teams/{TEAM}/credits/add", b'{"credits": true}'),
        (f"/api/teams/{TEAM}/credits/add", b'{"credits": "5"}'),
        (f"/api/teams/{TEAM}/credits/add", b'{"credits": 5.0}'),
        (
            "/api/teams/create",
            b'{"organization_id": "org_acme", "team_id": "t2", "credits_allocated": 1.0}',
        ),
        (f"/api/teams/{TEAM}/limits", b'{"rpm_limit": "7"}'),
        ("/api/jobs/create", b'{"team_id": "acme-corp", "job_type": "t", "metadata": {"a": NaN}}'),
        (
            "/api/jobs/create",
            b'{"team_id": "acme-corp", "job_type": "t", "metadata": {"a": 1e999}}',
        ),
        (
            "/api/jobs/create",
            b'{"team_id": "acme-corp", "job_type": "t", "metadata": {"a": [-Infinity]}}',
        ),
        (
            "/api/jobs/{job}/llm-call",
            b'{"messages": [{"role": "user", "content": "x"}], "temperature": NaN}',
        ),
        (
            "/api/jobs/{job}/llm-call",
            b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": 10.0}',
        ),
    ],
)
async def test_item7_money_takes_integers_only_and_numbers_are_finite(
    http: httpx.AsyncClient, path: str, body: bytes
) -> None:
    key = await create_team(http, credits=5)
    job_id = await _open_job(http, key)
    before = await ledger(http, key)
    r = await http.post(
        path.replace("{job}", job_id),
        content=body,
        headers={**bearer(key), "Content-Type": "application/json"}
        if path.startswith("/api/jobs")
        else {"Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["type"] == "validation_error"
    assert await ledger(http, key) == before


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/api/jobs/create", "POST"),
        ("GET", "/api/teams/create", "POST"),
        ("GET", "/api/model-aliases/create", "POST"),
        ("PUT", "/api/jobs/create", "POST"),
        ("GET", "/api/jobs/00000000-0000-4000-8000-000000000000/complete", "POST"),
        ("POST", f"/api/teams/{TEAM}/usage", "GET, HEAD"),
        ("DELETE", "/api/credits/balance", "GET, HEAD"),
    ],
)
async def test_item10_wrong_method_on_a_known_path_is_405_with_allow(
    http: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    r = await http.request(method, path)
    assert r.status_code == 405, r.text
    assert {m.strip() for m in r.headers["allow"].split(",")} == set(allow.split(", "))
    assert r.json()["error"]["type"] == "invalid_request"
    assert method in r.json()["error"]["message"]


async def test_item10_a_job_that_does_not_exist_is_still_404(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=5)
    r = await http.get("/api/jobs/not-a-job", headers=bearer(key))
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
    r = await http.get("/api/jobs/creates", headers=bearer(key))
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/teams/create", {"organization_id": "org_acme", "team_id": "create"}),
        ("/api/teams/create", {"organization_id": "org_acme", "team_id": "create-labs"}),
        ("/api/organizations/create", {"organization_id": "create", "name": "x"}),
        ("/api/model-access-groups/create", {"group_name": "create-and-call"}),
        (
            "/api/model-aliases/create",
            {"model_alias": "create", "deployments": [{"provider": "mock", "model": "m"}]},
        ),
    ],
)
async def test_item10_names_the_paths_use_for_actions_cannot_be_ids(
    http: httpx.AsyncClient, path: str, body: dict[str, Any]
) -> None:
    """A team called "create" could never be reached at /api/teams/{team_id}: refused."""
    await create_team(http, credits=1)
    r = await http.post(path, json=body)
    assert r.status_code == 422, r.text
    assert "reserved" in r.json()["error"]["message"]


async def test_item10_an_alias_with_a_slash_is_reachable(http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/api/model-aliases/create",
        json={"model_alias": "openai/gpt-4o", "deployments": [{"provider": "mock", "model": "m"}]},
    )
    assert r.status_code == 201, r.text
    assert (await http.get("/api/model-aliases/openai%2Fgpt-4o")).json()["model_alias"] == (
        "openai/gpt-4o"
    )
    assert (await http.get("/api/model-aliases/create")).status_code == 405


async def test_a_team_called_admin_has_its_own_idempotency_keys(http: httpx.AsyncClient) -> None:
    key = await create_team(http, team_id="admin", credits=5)
    org = await http.post(
        "/api/organizations/create",
        json={"organization_id": "org_two", "name": "Two"},
        headers={"Idempotency-Key": "same-key"},
    )
    job = await http.post(
        "/api/jobs/create",
        json={"team_id": "admin", "job_type": "t"},
        headers={**bearer(key), "Idempotency-Key": "same-key"},
    )
    assert (org.status_code, job.status_code) == (201, 201), job.text
