"""The OpenAI-compatible routes (routes/openai.py) in-process, on both database backends: who
may call them, what they refuse (always a 4xx in OpenAI's error shape, never a 500, and nothing
changed), how ``X-Job-Id`` binds a call to a job, how a call without it settles a job of its own,
Idempotency-Key replays, and ``/v1/models``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from support import GROUP, TEAM, bearer, create_alias, create_team, ledger, open_job

from saas_litellm_models import ChatCompletion, ChatCompletionChunk, OpenAIErrorResponse

ADMIN_KEY = "adm-openai-routes-secret"
ADMIN = bearer(ADMIN_KEY)
OTHER = "other-team"
MSG = [{"role": "user", "content": "Hello there"}]


@pytest.fixture
def admin_key() -> str:
    return ADMIN_KEY


@pytest.fixture
async def keys(http: httpx.AsyncClient) -> dict[str, str]:
    """Two teams: ours (group ``gpt-models``: alias ``Chat``) and another (``Secret``)."""
    key = await create_team(http, credits=5, admin=ADMIN)
    other = await create_team(http, team_id=OTHER, credits=5, groups=("other",), admin=ADMIN)
    await create_alias(http, "Chat", GROUP, admin=ADMIN)
    await create_alias(http, "Secret", "other", admin=ADMIN)
    return {"key": key, "other": other}


def _error(r: httpx.Response, status: int, code: str, param: str | None = None) -> None:
    """An error in OpenAI's shape, with our status and our error type as ``code``."""
    assert r.status_code == status, r.text
    body = OpenAIErrorResponse.model_validate_json(r.content)
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    assert body.error.code == code, r.text
    if param is not None:
        assert body.error.param == param
    assert "request_id" not in r.text and r.headers["x-request-id"]


async def _chat(
    http: httpx.AsyncClient, key: str | None, body: Any = None, **headers: str
) -> httpx.Response:
    auth = bearer(key) if key else {}
    payload = {"model": "Chat", "messages": MSG} if body is None else body
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return await http.post(
        "/v1/chat/completions",
        content=content,
        headers={**auth, "Content-Type": "application/json", **headers},
    )


async def _jobs(http: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    r = await http.get(f"/api/teams/{TEAM}/jobs", headers=bearer(key))
    assert r.status_code == 200, r.text
    jobs: list[dict[str, Any]] = r.json()["jobs"]
    return jobs


# -- who may call -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/models", "/v1/chat/completions"])
async def test_auth_matrix(http: httpx.AsyncClient, keys: dict[str, str], path: str) -> None:
    async def call(headers: dict[str, str]) -> httpx.Response:
        if path == "/v1/models":
            return await http.get(path, headers=headers)
        return await http.post(path, json={"model": "Chat", "messages": MSG}, headers=headers)

    before = await ledger(http, keys["key"])
    _error(await call({}), 401, "authentication_error")
    _error(await call(bearer("sk-not-a-key")), 401, "authentication_error")
    _error(await call({"Authorization": "Basic abc"}), 401, "authentication_error")
    admin = await call(ADMIN)  # the admin key never acts as a team
    _error(admin, 403, "permission_denied")
    assert ADMIN_KEY not in admin.text
    assert await ledger(http, keys["key"]) == before


async def test_another_teams_job_is_404_and_untouched(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    theirs = await open_job(http, keys["other"], team_id=OTHER)
    r = await _chat(http, keys["key"], **{"X-Job-Id": theirs})
    _error(r, 404, "not_found")
    detail = (await http.get(f"/api/jobs/{theirs}", headers=bearer(keys["other"]))).json()
    assert detail["calls"] == [] and detail["status"] == "pending"


# -- what is refused ----------------------------------------------------------------------

REFUSED: list[tuple[Any, int, str, str | None]] = [
    (b"{not json", 400, "invalid_request", None),
    (b"[1, 2]", 400, "invalid_request", None),
    (b"", 400, "invalid_request", None),
    (
        b'{"model": "Chat", "messages": [{"role": "user", "content": "a\x00b"}]}',
        400,
        "invalid_request",
        None,
    ),
    ({"model": "Chat"}, 422, "validation_error", "messages"),
    ({"model": "Chat", "messages": "hi"}, 422, "validation_error", "messages"),
    ({"model": "Chat", "messages": []}, 422, "validation_error", "messages"),
    ({"model": "Chat", "messages": MSG, "temperature": "hot"}, 422, "validation_error", None),
    ({"model": "Chat", "messages": MSG, "max_tokens": -1}, 422, "validation_error", None),
    ({"messages": MSG}, 422, "validation_error", "model"),
    ({"model": "Chat\u0000", "messages": MSG}, 422, "validation_error", "model"),
    (
        {"model": "Chat", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
        422,
        "validation_error",
        None,
    ),
    ({"model": "Chat", "messages": MSG, "n": 2}, 400, "invalid_request", "n"),
    ({"model": "Chat", "messages": MSG, "logprobs": True}, 400, "invalid_request", "logprobs"),
    ({"model": "Chat", "messages": MSG, "functions": [{}]}, 400, "invalid_request", "functions"),
    (
        {"model": "Chat", "messages": MSG, "modalities": ["audio"]},
        400,
        "invalid_request",
        "modalities",
    ),
    ({"model": "Nope", "messages": MSG}, 400, "invalid_request", "model"),
    ({"model": "Secret", "messages": MSG}, 403, "permission_denied", "model"),
]


@pytest.mark.parametrize(("body", "status", "code", "param"), REFUSED)
async def test_hostile_input_is_a_clear_4xx_and_changes_nothing(
    http: httpx.AsyncClient,
    keys: dict[str, str],
    body: Any,
    status: int,
    code: str,
    param: str | None,
) -> None:
    job = await open_job(http, keys["key"])
    before = (await ledger(http, keys["key"]), await _jobs(http, keys["key"]))
    for headers in ({}, {"X-Job-Id": job}):
        _error(await _chat(http, keys["key"], body, **headers), status, code, param)
    assert (await ledger(http, keys["key"]), await _jobs(http, keys["key"])) == before


async def test_a_huge_body_is_413(http: httpx.AsyncClient, keys: dict[str, str]) -> None:
    before = await ledger(http, keys["key"])
    huge = {"model": "Chat", "messages": [{"role": "user", "content": "x" * 20_000_000}]}
    _error(await _chat(http, keys["key"], huge), 413, "request_too_large")
    assert await ledger(http, keys["key"]) == before


async def test_unknown_openai_fields_are_ignored(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    body = {
        "model": "Chat",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
        "store": True,
        "service_tier": "auto",
        "prompt_cache_key": "k",
        "some_future_field": {"a": 1},
        "n": 1,
    }
    r = await _chat(http, keys["key"], body, **{"x-stainless-lang": "python"})
    assert r.status_code == 200, r.text
    answer = ChatCompletion.model_validate_json(r.content).choices[0].message.content
    assert answer is not None and 'You said: "Hello"' in answer


async def test_unknown_endpoint_and_wrong_method_answer_in_openai_shape(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    _error(await http.get("/v1/audio/speech", headers=bearer(keys["key"])), 404, "not_found")
    _error(await http.get("/v1/embeddings", headers=bearer(keys["key"])), 405, "invalid_request")
    _error(
        await http.get("/v1/chat/completions", headers=bearer(keys["key"])), 405, "invalid_request"
    )


# -- job binding --------------------------------------------------------------------------


async def test_a_call_with_x_job_id_is_recorded_in_that_job(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    job = await open_job(http, keys["key"])
    for _ in range(2):
        r = await _chat(http, keys["key"], **{"X-Job-Id": job})
        assert r.status_code == 200 and r.headers["x-job-id"] == job
    detail = (await http.get(f"/api/jobs/{job}", headers=bearer(keys["key"]))).json()
    assert detail["status"] == "in_progress" and len(detail["calls"]) == 2
    assert all(c["total_tokens"] > 0 and c["model"] == "Chat" for c in detail["calls"])
    balance = (await ledger(http, keys["key"]))["balance"]
    assert (balance["credits_remaining"], balance["credits_reserved"]) == (5, 1)  # still open
    r = await http.post(
        f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(keys["key"])
    )
    assert r.json()["costs"]["credits_remaining"] == 4  # one credit for the job, not per call


@pytest.mark.parametrize("status", ["completed", "failed"])
async def test_a_closed_job_is_409(
    http: httpx.AsyncClient, keys: dict[str, str], status: str
) -> None:
    job = await open_job(http, keys["key"])
    await http.post(
        f"/api/jobs/{job}/complete", json={"status": status}, headers=bearer(keys["key"])
    )
    before = await ledger(http, keys["key"])
    for stream in (False, True):
        body = {"model": "Chat", "messages": MSG, "stream": stream}
        _error(await _chat(http, keys["key"], body, **{"X-Job-Id": job}), 409, "conflict")
    assert await ledger(http, keys["key"]) == before


@pytest.mark.parametrize(
    "job_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid", "x" * 300, "../../etc"]
)
async def test_an_unknown_job_is_404(
    http: httpx.AsyncClient, keys: dict[str, str], job_id: str
) -> None:
    _error(await _chat(http, keys["key"], **{"X-Job-Id": job_id}), 404, "not_found")


async def test_without_x_job_id_each_call_is_a_settled_job_of_its_own(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    body = {"model": "Chat", "messages": MSG, "user": "u-42", "metadata": {"ticket": "T-1"}}
    r = await _chat(http, keys["key"], body, **{"X-Job-Type": "support_reply"})
    assert r.status_code == 200, r.text
    job_id = r.headers["x-job-id"]
    detail = (await http.get(f"/api/jobs/{job_id}", headers=bearer(keys["key"]))).json()
    assert (detail["status"], detail["job_type"], detail["user_id"]) == (
        "completed",
        "support_reply",
        "u-42",
    )
    assert detail["metadata"] == {"ticket": "T-1"} and detail["costs"]["credit_applied"]
    r = await _chat(http, keys["key"])
    second = await http.get(f"/api/jobs/{r.headers['x-job-id']}", headers=bearer(keys["key"]))
    assert second.json()["job_type"] == "chat"  # the default
    balance = (await ledger(http, keys["key"]))["balance"]
    assert (balance["credits_remaining"], balance["credits_reserved"]) == (3, 0)


@pytest.mark.parametrize("job_type", ["", "x" * 500, "bad\ttype"])
async def test_a_bad_x_job_type_is_422_and_opens_nothing(
    http: httpx.AsyncClient, keys: dict[str, str], job_type: str
) -> None:
    before = await ledger(http, keys["key"])
    r = await _chat(http, keys["key"], **{"X-Job-Type": job_type})
    _error(r, 422, "validation_error", "X-Job-Type")
    assert await ledger(http, keys["key"]) == before


async def test_no_credit_is_402_insufficient_quota(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    for _ in range(5):
        assert (await _chat(http, keys["key"])).status_code == 200
    r = await _chat(http, keys["key"])
    _error(r, 402, "insufficient_credits")
    assert r.json()["error"]["type"] == "insufficient_quota"


async def test_a_rate_limit_is_429_with_retry_after(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    r = await http.post(f"/api/teams/{TEAM}/limits", json={"rpm_limit": 1}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert (await _chat(http, keys["key"])).status_code == 200
    before = await ledger(http, keys["key"])
    r = await _chat(http, keys["key"])
    _error(r, 429, "rate_limited")
    assert r.json()["error"]["type"] == "rate_limit_error" and int(r.headers["retry-after"]) >= 1
    assert await ledger(http, keys["key"]) == before  # refused before a job was opened


# -- streaming ----------------------------------------------------------------------------


def _chunks(text: str) -> list[str]:
    return [line[6:] for line in text.splitlines() if line.startswith("data: ")]


@pytest.mark.parametrize("include_usage", [True, False])
async def test_a_stream_is_chunks_then_done(
    http: httpx.AsyncClient, keys: dict[str, str], include_usage: bool
) -> None:
    body = {
        "model": "Chat",
        "messages": MSG,
        "stream": True,
        "stream_options": {"include_usage": include_usage},
    }
    r = await _chat(http, keys["key"], body)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert "event:" not in r.text  # OpenAI's streams are bare data lines
    *data, done = _chunks(r.text)
    assert done == "[DONE]"
    chunks = [ChatCompletionChunk.model_validate_json(d) for d in data]
    assert len({c.id for c in chunks}) == 1 and chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert 'You said: "Hello there"' in text
    raw = [json.loads(d) for d in data]
    if include_usage:
        assert all("usage" in c for c in raw) and raw[-1]["choices"] == []
        assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
        assert chunks[-2].choices[0].finish_reason == "stop"
    else:
        assert not any("usage" in c for c in raw)
        assert chunks[-1].choices[0].finish_reason == "stop"
    job = (await http.get(f"/api/jobs/{r.headers['x-job-id']}", headers=bearer(keys["key"]))).json()
    assert job["status"] == "completed" and job["calls"][0]["streamed"]


# -- idempotency --------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_an_idempotency_key_replays_and_runs_once(
    http: httpx.AsyncClient, keys: dict[str, str], stream: bool
) -> None:
    key = "stainless-python-retry-0b8c5c5e-2f52-4e5c-9f3e-1d9b6f0f4a11"
    body = {"model": "Chat", "messages": MSG, "stream": stream}
    first = await _chat(http, keys["key"], body, **{"Idempotency-Key": key})
    again = await _chat(http, keys["key"], body, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    assert again.headers["x-job-id"] == first.headers["x-job-id"]  # a replay names the job too
    assert len(await _jobs(http, keys["key"])) == 1
    assert (await ledger(http, keys["key"]))["balance"]["credits_remaining"] == 4


async def test_an_idempotency_key_with_another_job_is_another_request(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    job = await open_job(http, keys["key"])
    first = await _chat(http, keys["key"], **{"Idempotency-Key": "k-1", "X-Job-Id": job})
    assert first.status_code == 200
    other = await _chat(http, keys["key"], **{"Idempotency-Key": "k-1"})
    _error(other, 422, "validation_error", "Idempotency-Key")
    again = await _chat(http, keys["key"], **{"Idempotency-Key": "k-1", "X-Job-Id": job})
    assert again.content == first.content and again.headers["x-job-id"] == job
    detail = (await http.get(f"/api/jobs/{job}", headers=bearer(keys["key"]))).json()
    assert len(detail["calls"]) == 1


# -- models -------------------------------------------------------------------------------


async def test_models_lists_exactly_the_teams_aliases(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    ours = (await http.get("/v1/models", headers=bearer(keys["key"]))).json()
    assert ours["object"] == "list"
    assert [m["id"] for m in ours["data"]] == ["Chat", "default"]  # default: the public mock
    assert all(m["object"] == "model" and m["created"] > 0 for m in ours["data"])
    theirs = (await http.get("/v1/models", headers=bearer(keys["other"]))).json()
    assert [m["id"] for m in theirs["data"]] == ["Secret", "default"]
    for model in ours["data"]:  # every model listed can be called
        r = await _chat(http, keys["key"], {"model": model["id"], "messages": MSG})
        assert r.status_code == 200, r.text
