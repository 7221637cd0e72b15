"""Malformed requests get a typed 4xx and change nothing (routes/_http.py + shared models)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from support import TEAM, bearer, create_team, ledger

JOB = "{job}"  # replaced by a real, open job id of the team


def call(**body: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "hi"}], **body}


# (name, method, path, body (dict, or raw bytes), expected status, expected error type)
CASES: list[tuple[str, str, str, Any, int, str]] = [
    ("bad JSON", "POST", "/api/jobs/create", b'{"team_id": ', 400, "invalid_request"),
    ("empty body", "POST", "/api/jobs/create", b"", 400, "invalid_request"),
    (
        "deeply nested JSON",
        "POST",
        "/api/jobs/create",
        b'{"team_id": "acme-corp", "job_type": "x", "metadata": {"a": '
        + b"[" * 5000
        + b"]" * 5000
        + b"}}",
        400,
        "invalid_request",
    ),
    ("JSON array body", "POST", "/api/jobs/create", b"[1, 2]", 400, "invalid_request"),
    ("JSON string body", "POST", "/api/jobs/create", b'"job"', 400, "invalid_request"),
    ("missing job_type", "POST", "/api/jobs/create", {"team_id": TEAM}, 422, "validation_error"),
    (
        "job_type wrong type",
        "POST",
        "/api/jobs/create",
        {"team_id": TEAM, "job_type": 42},
        422,
        "validation_error",
    ),
    (
        "huge job_type",
        "POST",
        "/api/jobs/create",
        {"team_id": TEAM, "job_type": "x" * 5000},
        422,
        "validation_error",
    ),
    (
        "metadata not an object",
        "POST",
        "/api/jobs/create",
        {"team_id": TEAM, "job_type": "t", "metadata": [1]},
        422,
        "validation_error",
    ),
    (
        "huge metadata",
        "POST",
        "/api/jobs/create",
        {"team_id": TEAM, "job_type": "t", "metadata": {"blob": "x" * 20_000}},
        422,
        "validation_error",
    ),
    (
        "unknown field",
        "POST",
        "/api/jobs/create",
        {"team_id": TEAM, "job_type": "t", "credits": 1000},
        422,
        "validation_error",
    ),
    (
        "huge body",
        "POST",
        "/api/jobs/create",
        {"team_id": TEAM, "job_type": "t", "metadata": {"x": "y" * (5 * 1024 * 1024)}},
        413,
        "request_too_large",
    ),
    ("no messages", "POST", f"/api/jobs/{JOB}/llm-call", {"messages": []}, 422, "validation_error"),
    (
        "messages not a list",
        "POST",
        f"/api/jobs/{JOB}/llm-call",
        {"messages": "hi"},
        422,
        "validation_error",
    ),
    (
        "unknown role",
        "POST",
        f"/api/jobs/{JOB}/llm-call",
        {"messages": [{"role": "wizard", "content": "hi"}]},
        422,
        "validation_error",
    ),
    (
        "content wrong type",
        "POST",
        f"/api/jobs/{JOB}/llm-call",
        {"messages": [{"role": "user", "content": {"text": "hi"}}]},
        422,
        "validation_error",
    ),
    (
        "negative max_tokens",
        "POST",
        f"/api/jobs/{JOB}/llm-call",
        call(max_tokens=-1),
        422,
        "validation_error",
    ),
    (
        "temperature out of range",
        "POST",
        f"/api/jobs/{JOB}/llm-call",
        call(temperature=7),
        422,
        "validation_error",
    ),
    (
        "too many messages",
        "POST",
        f"/api/jobs/{JOB}/llm-call",
        {"messages": [{"role": "user", "content": "hi"}] * 2000},
        422,
        "validation_error",
    ),
    (
        "bad response_format",
        "POST",
        f"/api/jobs/{JOB}/llm-call",
        call(response_format={"type": "json_schema"}),
        422,
        "validation_error",
    ),
    (
        "unknown model",
        "POST",
        f"/api/jobs/{JOB}/llm-call",
        call(model="gpt-9-ultra"),
        400,
        "invalid_request",
    ),
    (
        "model name with spaces",
        "POST",
        f"/api/jobs/{JOB}/llm-call",
        call(model="a b"),
        422,
        "validation_error",
    ),
    (
        "bad status",
        "POST",
        f"/api/jobs/{JOB}/complete",
        {"status": "done"},
        422,
        "validation_error",
    ),
    (
        "status wrong type",
        "POST",
        f"/api/jobs/{JOB}/complete",
        {"status": True},
        422,
        "validation_error",
    ),
    ("non-UUID job id", "POST", "/api/jobs/not-a-job/llm-call", call(), 404, "not_found"),
    ("absurdly long job id", "GET", "/api/jobs/" + "9" * 10_000, None, 404, "not_found"),
    (
        "unknown job id",
        "POST",
        "/api/jobs/00000000-0000-4000-8000-000000000000/complete",
        {"status": "completed"},
        404,
        "not_found",
    ),
    ("path traversal job id", "GET", "/api/jobs/..%2F..%2Fetc%2Fpasswd", None, 404, "not_found"),
    ("bad since", "GET", f"/api/teams/{TEAM}/usage?since=yesterday", None, 422, "validation_error"),
    ("unknown endpoint", "POST", "/api/jobs/create/now", {}, 404, "not_found"),
    ("wrong method", "DELETE", "/api/jobs/create", None, 405, "invalid_request"),
    (
        "credits add zero",
        "POST",
        f"/api/teams/{TEAM}/credits/add",
        {"credits": 0},
        422,
        "validation_error",
    ),
    (
        "credits add negative",
        "POST",
        f"/api/teams/{TEAM}/credits/add",
        {"credits": -5},
        422,
        "validation_error",
    ),
    (
        "team with unknown default model",
        "POST",
        "/api/teams/create",
        {"organization_id": "org_acme", "team_id": "t2", "default_model": "nope"},
        400,
        "invalid_request",
    ),
    (
        "team with negative credits",
        "POST",
        "/api/teams/create",
        {"organization_id": "org_acme", "team_id": "t3", "credits_allocated": -5},
        422,
        "validation_error",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error_type"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_malformed_request_is_refused_and_loses_nothing(
    http: httpx.AsyncClient, method: str, path: str, body: Any, status: int, error_type: str
) -> None:
    key = await create_team(http, credits=10)
    r = await http.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": "victim"}, headers=bearer(key)
    )
    job_id = r.json()["job_id"]
    await http.post(f"/api/jobs/{job_id}/llm-call", json=call(), headers=bearer(key))
    before = await ledger(http, key)
    job_before = (await http.get(f"/api/jobs/{job_id}", headers=bearer(key))).json()

    content = body if isinstance(body, bytes) else None if body is None else json.dumps(body)
    admin_route = path.startswith("/api/teams/") and not path.endswith("/usage")
    auth = {} if admin_route else bearer(key)  # admin routes: local-dev mode, no key
    r = await http.request(
        method,
        path.replace(JOB, job_id),
        content=content,
        headers={**auth, "Content-Type": "application/json"},
    )

    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["type"] == error_type
    assert error["message"] and "Traceback" not in error["message"]
    assert error["request_id"] == r.headers["x-request-id"]
    assert await ledger(http, key) == before
    assert (await http.get(f"/api/jobs/{job_id}", headers=bearer(key))).json() == job_before
