"""Embeddings, end to end through the API on SQLite and PostgreSQL: ``POST /v1/embeddings``
(routes/openai.py) and ``POST /api/jobs/{job_id}/embeddings`` (routes/jobs.py), the embeddings
call of services/calls.py and the single-call job of services/shortcut.py, the alias ``mode``
that keeps chat and embeddings apart (services/routing.py), and how embeddings calls are billed
(services/billing.py).

The built-in mock answers each text with a deterministic unit vector (16 floats, or
``dimensions``) and counts ``ceil(len / 4)`` tokens a text; a call reserves its input's bound,
``len(utf-8) + 2`` a text (``providers._tokens.input_bound``). The alias ``Embed`` prices its one
mock deployment at $0.01 per input token (and would charge $1 per output token, were any
counted), so every figure below is exact.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import GROUP, TEAM, app_client, bearer, create_team, ledger, open_job

from saas_litellm_models import EmbeddingsResponse, ErrorResponse, OpenAIErrorResponse
from saas_litellm_server import Settings

ADMIN_KEY = "adm-embeddings-secret"
ADMIN = bearer(ADMIN_KEY)
OTHER = "other-team"
EMBED = {
    "model_alias": "Embed",
    "access_groups": [GROUP],
    "mode": "embedding",
    "deployments": [
        {
            "provider": "mock",
            "model": "mock-embed",
            "input_cost_per_million": 10_000.0,
            "output_cost_per_million": 1_000_000.0,
        }
    ],
}
CHAT = {
    "model_alias": "Chat",
    "access_groups": [GROUP],
    "deployments": [{"provider": "mock", "model": "mock-chat"}],
}
TOKENS = {"budget_mode": "consumption_tokens", "tokens_per_credit": 10}


@pytest.fixture
def admin_key() -> str:
    return ADMIN_KEY


async def _aliases(http: httpx.AsyncClient, *aliases: dict[str, Any]) -> None:
    r = await http.post(
        "/api/model-access-groups/create", json={"group_name": GROUP}, headers=ADMIN
    )
    assert r.status_code in (201, 409), r.text
    for alias in aliases:
        r = await http.post("/api/model-aliases/create", json=alias, headers=ADMIN)
        assert r.status_code == 201, r.text


async def _team(http: httpx.AsyncClient, credits: int = 100, **budget: Any) -> str:
    await _aliases(http, EMBED, CHAT)
    return await create_team(http, credits=credits, admin=ADMIN, **budget)


@pytest.fixture
async def key(http: httpx.AsyncClient) -> str:
    return await _team(http)


async def _v1(
    http: httpx.AsyncClient, key: str | None, body: Any = None, **headers: str
) -> httpx.Response:
    payload = {"model": "Embed", "input": "hello"} if body is None else body
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return await http.post(
        "/v1/embeddings",
        content=content,
        headers={**(bearer(key) if key else {}), "Content-Type": "application/json", **headers},
    )


async def _native(
    http: httpx.AsyncClient, key: str | None, job_id: str, body: Any = None, **headers: str
) -> httpx.Response:
    payload = {"model": "Embed", "input": "hello"} if body is None else body
    return await http.post(
        f"/api/jobs/{job_id}/embeddings",
        json=payload,
        headers={**(bearer(key) if key else {}), **headers},
    )


def _openai_error(r: httpx.Response, status: int, code: str) -> OpenAIErrorResponse:
    assert r.status_code == status, r.text
    body = OpenAIErrorResponse.model_validate_json(r.content)
    assert body.error.code == code, r.text
    return body


def _native_error(r: httpx.Response, status: int, error_type: str) -> ErrorResponse:
    assert r.status_code == status, r.text
    body = ErrorResponse.model_validate_json(r.content)
    assert body.error.type == error_type, r.text
    return body


def _unit(vector: list[float]) -> bool:
    return math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0, rel_tol=1e-9)


async def _job(http: httpx.AsyncClient, key: str, job_id: str) -> dict[str, Any]:
    r = await http.get(f"/api/jobs/{job_id}", headers=bearer(key))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _jobs(http: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    r = await http.get(f"/api/teams/{TEAM}/jobs", headers=bearer(key))
    assert r.status_code == 200, r.text
    jobs: list[dict[str, Any]] = r.json()["jobs"]
    return jobs


async def _balance(http: httpx.AsyncClient, key: str) -> dict[str, Any]:
    r = await http.get("/api/credits/balance", headers=bearer(key))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _check_ledger(http: httpx.AsyncClient, key: str) -> None:
    """The ledger's credits add up to the balance, and no balance in it is negative."""
    balance = await _balance(http, key)
    r = await http.get(f"/api/teams/{TEAM}/transactions?limit=500", headers=bearer(key))
    rows = r.json()["transactions"]
    assert sum(t["credits"] for t in rows) == balance["credits_remaining"]
    assert all(t["credits_remaining_after"] >= 0 for t in rows)


# -- happy paths ---------------------------------------------------------------------------


async def test_v1_one_text_is_openais_shape_in_a_settled_job_of_its_own(
    http: httpx.AsyncClient, key: str
) -> None:
    r = await _v1(http, key)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"object", "data", "model", "usage", "call_id"}
    assert body["object"] == "list" and body["model"] == "Embed"
    assert body["usage"] == {"prompt_tokens": 2, "total_tokens": 2}  # ceil(5 / 4)
    (item,) = body["data"]
    assert item["object"] == "embedding" and item["index"] == 0
    assert len(item["embedding"]) == 16 and _unit(item["embedding"])
    assert "server-timing" in r.headers
    job = await _job(http, key, r.headers["X-Job-Id"])
    assert job["status"] == "completed" and job["job_type"] == "embeddings"
    (call,) = job["calls"]
    assert call["call_id"] == body["call_id"] and call["model"] == "Embed"
    assert (call["prompt_tokens"], call["completion_tokens"], call["total_tokens"]) == (2, 0, 2)
    assert call["cost_usd"] == pytest.approx(0.02)  # 2 tokens at $0.01, no output price
    assert (await _balance(http, key))["credits_remaining"] == 99


async def test_same_text_same_vector_a_list_in_order_and_dimensions(
    http: httpx.AsyncClient, key: str
) -> None:
    first = EmbeddingsResponse.model_validate_json((await _v1(http, key)).content)
    again = EmbeddingsResponse.model_validate_json((await _v1(http, key)).content)
    assert first.vectors == again.vectors and first.call_id != again.call_id

    r = await _v1(http, key, {"model": "Embed", "input": ["hello", "other", "hello"]})
    listed = EmbeddingsResponse.model_validate_json(r.content)
    assert [e.index for e in listed.data] == [0, 1, 2]
    assert listed.vectors[0] == listed.vectors[2] == first.vectors[0]
    assert listed.vectors[1] != listed.vectors[0]
    assert listed.usage.prompt_tokens == 2 + 2 + 2

    r = await _v1(http, key, {"model": "Embed", "input": ["hello"], "dimensions": 5})
    short = EmbeddingsResponse.model_validate_json(r.content)
    assert len(short.vectors[0]) == 5 and _unit(short.vectors[0])


async def test_base64_is_little_endian_float32_of_the_same_vector(
    http: httpx.AsyncClient, key: str
) -> None:
    floats = (await _v1(http, key)).json()["data"][0]["embedding"]
    r = await _v1(http, key, {"model": "Embed", "input": "hello", "encoding_format": "base64"})
    encoded = r.json()["data"][0]["embedding"]
    assert isinstance(encoded, str)
    decoded = struct.unpack("<16f", base64.b64decode(encoded))
    assert decoded == pytest.approx(floats, rel=1e-6)


async def test_native_embeddings_are_a_call_of_the_open_job(
    http: httpx.AsyncClient, key: str
) -> None:
    job_id = await open_job(http, key)
    r = await _native(http, key, job_id, {"input": ["a b c d e", "f"], "model": "Embed"})
    assert r.status_code == 200, r.text
    answer = EmbeddingsResponse.model_validate_json(r.content)
    assert len(answer.vectors) == 2 and answer.usage.prompt_tokens == 3 + 1  # ceil(9 / 4) + 1
    r = await _native(
        http, key, job_id, {"input": "x", "model": "Embed", "purpose": "index", "dimensions": 3}
    )
    assert len(r.json()["data"][0]["embedding"]) == 3
    # /v1 with X-Job-Id records in that job too
    r = await _v1(http, key, **{"X-Job-Id": job_id})
    assert r.status_code == 200 and r.headers["X-Job-Id"] == job_id
    job = await _job(http, key, job_id)
    assert job["status"] == "in_progress" and len(job["calls"]) == 3
    assert {c["purpose"] for c in job["calls"]} == {None, "index"}
    assert all(c["completion_tokens"] == 0 for c in job["calls"])
    r = await http.post(
        f"/api/jobs/{job_id}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    assert r.json()["costs"]["total_tokens"] == 4 + 1 + 2
    assert (await _balance(http, key))["credits_remaining"] == 99
    await _check_ledger(http, key)


async def test_the_teams_default_model_serves_when_it_is_an_embedding_alias(
    http: httpx.AsyncClient,
) -> None:
    await _aliases(http, EMBED)
    key = await create_team(http, admin=ADMIN, default_model="Embed")
    job_id = await open_job(http, key)
    r = await _native(http, key, job_id, {"input": "no model named"})
    assert r.status_code == 200 and r.json()["model"] == "Embed"


# -- modes ---------------------------------------------------------------------------------


async def test_chat_and_embeddings_aliases_refuse_each_others_calls(
    http: httpx.AsyncClient, key: str
) -> None:
    job_id = await open_job(http, key)
    before = await ledger(http, key)
    r = await _v1(http, key, {"model": "Chat", "input": "hello"})
    assert "mode 'chat'" in _openai_error(r, 400, "model_mode_mismatch").error.message
    assert r.json()["error"]["type"] == "invalid_request_error"
    r = await _native(http, key, job_id, {"model": "Chat", "input": "hello"})
    _native_error(r, 400, "model_mode_mismatch")
    msg = [{"role": "user", "content": "hi"}]
    r = await http.post(
        "/v1/chat/completions", json={"model": "Embed", "messages": msg}, headers=bearer(key)
    )
    assert "serves embeddings" in _openai_error(r, 400, "model_mode_mismatch").error.message
    r = await http.post(
        f"/api/jobs/{job_id}/llm-call",
        json={"model": "Embed", "messages": msg},
        headers=bearer(key),
    )
    assert _native_error(r, 400, "model_mode_mismatch").error.param == "model"
    assert (await _job(http, key, job_id))["calls"] == []
    assert await ledger(http, key) == before and len(await _jobs(http, key)) == 1


async def test_alias_mode_is_stored_echoed_and_changed(http: httpx.AsyncClient) -> None:
    await _aliases(http, EMBED, CHAT)
    r = await http.get("/api/model-aliases/Embed", headers=ADMIN)
    assert r.json()["mode"] == "embedding"
    r = await http.get("/api/model-aliases/Chat", headers=ADMIN)
    assert r.json()["mode"] == "chat"
    listed = (await http.get("/api/model-aliases", headers=ADMIN)).json()["model_aliases"]
    assert {a["model_alias"]: a["mode"] for a in listed}["Embed"] == "embedding"
    r = await http.patch("/api/model-aliases/Chat", json={"mode": "embedding"}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["mode"] == "embedding"
    r = await http.patch("/api/model-aliases/Chat", json={"mode": "vision"}, headers=ADMIN)
    assert r.status_code == 422
    r = await http.patch("/api/model-aliases/Chat", json={"mode": None}, headers=ADMIN)
    assert r.status_code == 422
    r = await http.post(
        "/api/model-aliases/create", json={**EMBED, "model_alias": "E2", "mode": 1}, headers=ADMIN
    )
    assert r.status_code == 422
    audit = (await http.get("/api/audit-log?limit=5", headers=ADMIN)).json()["events"]
    assert any(
        e["action"] == "model_alias.update" and e["after"] == {"mode": "embedding"} for e in audit
    )


CONFIG = """
[[access_groups]]
group_name = "gpt-models"

[[model_aliases]]
model_alias = "Embed"
access_groups = ["gpt-models"]
mode = "embedding"

[[model_aliases.deployments]]
provider = "mock"
model = "mock-embed"
input_cost_per_million = 1.0
"""


async def test_the_config_file_declares_an_alias_mode(settings: Settings, tmp_path: Path) -> None:
    config = tmp_path / "models.toml"
    config.write_text(CONFIG)
    async with app_client(settings.model_copy(update={"config": config})) as (_app, http):
        r = await http.get("/api/model-aliases/Embed", headers=ADMIN)
        assert r.status_code == 200 and r.json()["mode"] == "embedding"
        key = await create_team(http, admin=ADMIN)
        assert (await _v1(http, key)).status_code == 200
    # a restart with the alias changed in the file applies the change
    config.write_text(CONFIG.replace('mode = "embedding"', 'mode = "chat"'))
    async with app_client(settings.model_copy(update={"config": config})) as (_app, http):
        r = await http.get("/api/model-aliases/Embed", headers=ADMIN)
        assert r.json()["mode"] == "chat"


# -- who may call --------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["v1", "native"])
async def test_auth_matrix(http: httpx.AsyncClient, key: str, route: str) -> None:
    other = await create_team(http, team_id=OTHER, credits=5, admin=ADMIN)
    theirs = await open_job(http, other, team_id=OTHER)
    ours = await open_job(http, key)
    before = await ledger(http, key)

    async def call(headers: dict[str, str], job_id: str = ours) -> httpx.Response:
        if route == "v1":
            return await http.post(
                "/v1/embeddings", json={"model": "Embed", "input": "x"}, headers=headers
            )
        return await http.post(
            f"/api/jobs/{job_id}/embeddings", json={"model": "Embed", "input": "x"}, headers=headers
        )

    for headers in ({}, bearer("sk-not-a-key"), {"Authorization": "Basic abc"}):
        r = await call(headers)
        assert r.status_code == 401 and "authentication_error" in r.text, r.text
    r = await call(ADMIN)  # the admin key never acts as a team
    assert r.status_code == 403 and ADMIN_KEY not in r.text
    # another team's job: 404, and it is left as it was
    if route == "v1":
        r = await http.post(
            "/v1/embeddings",
            json={"model": "Embed", "input": "x"},
            headers={**bearer(key), "X-Job-Id": theirs},
        )
    else:
        r = await call(bearer(key), theirs)
    assert r.status_code == 404, r.text
    detail = await _job(http, other, theirs)
    assert detail["calls"] == [] and detail["status"] == "pending"
    assert await ledger(http, key) == before
    assert (await _job(http, key, ours))["calls"] == []


async def test_a_closed_or_unknown_job_is_refused(http: httpx.AsyncClient, key: str) -> None:
    job_id = await open_job(http, key)
    await http.post(f"/api/jobs/{job_id}/complete", json={"status": "failed"}, headers=bearer(key))
    _native_error(await _native(http, key, job_id), 409, "conflict")
    _openai_error(await _v1(http, key, **{"X-Job-Id": job_id}), 409, "conflict")
    unknown = "00000000-0000-4000-8000-000000000000"
    _native_error(await _native(http, key, unknown), 404, "not_found")
    _openai_error(await _v1(http, key, **{"X-Job-Id": "not-a-job"}), 404, "not_found")


async def test_an_embedding_alias_outside_the_teams_groups_is_refused(
    http: httpx.AsyncClient, key: str
) -> None:
    """The access groups hold for embeddings as for chat: an alias of a group the team lacks
    is refused on both endpoints, and nothing is charged or recorded."""
    r = await http.post(
        "/api/model-access-groups/create", json={"group_name": "elsewhere"}, headers=ADMIN
    )
    assert r.status_code == 201, r.text
    hidden = {**EMBED, "model_alias": "HiddenEmbed", "access_groups": ["elsewhere"]}
    r = await http.post("/api/model-aliases/create", json=hidden, headers=ADMIN)
    assert r.status_code == 201, r.text
    before = await ledger(http, key)
    body = {"model": "HiddenEmbed", "input": "x"}
    _openai_error(await _v1(http, key, body), 403, "permission_denied")
    job_id = await open_job(http, key)
    _native_error(await _native(http, key, job_id, body), 403, "permission_denied")
    detail = (await http.get(f"/api/jobs/{job_id}", headers=bearer(key))).json()
    assert detail["calls"] == []
    r = await http.post(
        f"/api/jobs/{job_id}/complete", json={"status": "failed"}, headers=bearer(key)
    )
    assert r.status_code == 200, r.text
    after = await ledger(http, key)
    assert after["balance"] == before["balance"]

    def calls(state: dict[str, Any]) -> int:
        return sum(row["calls"] for row in state["usage"]["by_job_type"])

    assert calls(after) == calls(before)


# -- what is refused -----------------------------------------------------------------------

HOSTILE: list[tuple[str, Any, int, str]] = [
    ("empty string", {"model": "Embed", "input": ""}, 422, "validation_error"),
    ("empty list", {"model": "Embed", "input": []}, 422, "validation_error"),
    ("an empty text in a list", {"model": "Embed", "input": ["a", ""]}, 422, "validation_error"),
    ("non-string items", {"model": "Embed", "input": ["a", 1]}, 422, "validation_error"),
    ("nested lists of text", {"model": "Embed", "input": [["a"]]}, 422, "validation_error"),
    ("an object", {"model": "Embed", "input": {"text": "a"}}, 422, "validation_error"),
    ("a number", {"model": "Embed", "input": 7}, 422, "validation_error"),
    ("null", {"model": "Embed", "input": None}, 422, "validation_error"),
    ("no input", {"model": "Embed"}, 422, "validation_error"),
    ("10,000 strings", {"model": "Embed", "input": ["a"] * 10_000}, 422, "validation_error"),
    ("dimensions 0", {"model": "Embed", "input": "a", "dimensions": 0}, 422, "validation_error"),
    (
        "dimensions huge",
        {"model": "Embed", "input": "a", "dimensions": 10**9},
        422,
        "validation_error",
    ),
    (
        "dimensions text",
        {"model": "Embed", "input": "a", "dimensions": "5"},
        422,
        "validation_error",
    ),
    ("unknown alias", {"model": "Nope", "input": "a"}, 400, "invalid_request"),
    ("a chat alias", {"model": "Chat", "input": "a"}, 400, "model_mode_mismatch"),
    ("a bad model name", {"model": "../etc", "input": "a"}, 422, "validation_error"),
]
V1_ONLY: list[tuple[str, Any, int, str]] = [
    ("a token array", {"model": "Embed", "input": [1, 2, 3]}, 400, "invalid_request"),
    ("token arrays", {"model": "Embed", "input": [[1, 2], [3]]}, 400, "invalid_request"),
    (
        "bad encoding",
        {"model": "Embed", "input": "a", "encoding_format": "hex"},
        422,
        "validation_error",
    ),
    ("no model", {"input": "a"}, 422, "validation_error"),
    ("not JSON", b"{not json", 400, "invalid_request"),
]


@pytest.mark.parametrize(
    ("name", "body", "status", "code"),
    HOSTILE + V1_ONLY,
    ids=lambda v: v if isinstance(v, str) else "",
)
async def test_v1_hostile_input_is_a_clear_4xx_and_changes_nothing(
    http: httpx.AsyncClient, key: str, name: str, body: Any, status: int, code: str
) -> None:
    before = await ledger(http, key)
    r = await _v1(http, key, body)
    error = _openai_error(r, status, code)
    assert error.error.message
    if name.startswith("token"):
        assert "token arrays are not supported" in error.error.message
    assert await ledger(http, key) == before
    assert await _jobs(http, key) == []


@pytest.mark.parametrize(
    ("name", "body", "status", "code"), HOSTILE, ids=lambda v: v if isinstance(v, str) else ""
)
async def test_native_hostile_input_is_a_clear_4xx_and_changes_nothing(
    http: httpx.AsyncClient, key: str, name: str, body: Any, status: int, code: str
) -> None:
    job_id = await open_job(http, key)
    before = await ledger(http, key)
    _native_error(await _native(http, key, job_id, body), status, code)
    assert await ledger(http, key) == before
    assert (await _job(http, key, job_id))["calls"] == []


async def test_native_refuses_token_arrays_and_unknown_fields(
    http: httpx.AsyncClient, key: str
) -> None:
    job_id = await open_job(http, key)
    for body in ({"input": [1, 2]}, {"input": "a", "encoding_format": "float"}):
        _native_error(await _native(http, key, job_id, body), 422, "validation_error")
    assert (await _job(http, key, job_id))["calls"] == []


# -- billing -------------------------------------------------------------------------------


async def test_job_based_a_failed_single_call_costs_nothing_a_completed_one_credit(
    upstream_settings: Settings,
) -> None:
    async with app_client(upstream_settings) as (_app, http):
        await _aliases(
            http,
            {
                **EMBED,
                "model_alias": "Broken",
                "deployments": [{"provider": "openai", "model": "error-500"}],
            },
            {**EMBED, "deployments": [{"provider": "openai", "model": "echo"}]},
        )
        key = await create_team(http, credits=10, admin=ADMIN)
        r = await _v1(http, key, {"model": "Broken", "input": "x"})
        error = _openai_error(r, 502, "upstream_error")
        assert (
            "10.0.0.1" not in r.text and "sk-" not in r.text and "upstream.internal" not in r.text
        )
        assert error.error.message.startswith("model 'Broken' failed")
        failed = await _job(http, key, r.headers["X-Job-Id"])
        assert failed["status"] == "failed" and failed["calls"][0]["status"] == "failed"
        assert (await _balance(http, key))["credits_remaining"] == 10
        r = await _v1(http, key, {"model": "Embed", "input": ["abc", "de"], "dimensions": 3})
        assert r.status_code == 200, r.text
        # the stub's vectors: [len, index, 0.5...]
        assert r.json()["data"][1]["embedding"] == [2.0, 1.0, 0.5]
        assert (await _balance(http, key))["credits_remaining"] == 9
        await _check_ledger(http, key)


async def test_consumption_tokens_reserves_the_input_bound_and_charges_the_tokens(
    http: httpx.AsyncClient,
) -> None:
    key = await _team(http, credits=100, **TOKENS)
    job_id = await open_job(http, key)
    text = "x" * 100  # bound 102 tokens; the mock counts 25
    r = await _native(http, key, job_id, {"model": "Embed", "input": [text, text]})
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["prompt_tokens"] == 50
    # the hold covers the worst case while the job is open: ceil(204 / 10)
    assert (await _balance(http, key))["credits_reserved"] == 21
    r = await http.post(
        f"/api/jobs/{job_id}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    costs = r.json()["costs"]
    assert (costs["total_tokens"], costs["credits_charged"]) == (50, 5)
    balance = await _balance(http, key)
    assert (balance["credits_remaining"], balance["credits_reserved"]) == (95, 0)
    await _check_ledger(http, key)


async def test_consumption_tokens_single_call_and_a_worst_case_that_does_not_fit(
    http: httpx.AsyncClient,
) -> None:
    key = await _team(http, credits=3, **TOKENS)
    before = await ledger(http, key)
    # bound: 40 + 2 = 42 tokens: 5 credits, more than the team has
    r = await _v1(http, key, {"model": "Embed", "input": "y" * 40})
    _openai_error(r, 402, "insufficient_credits")
    assert await ledger(http, key) == before and await _jobs(http, key) == []
    r = await _v1(http, key, {"model": "Embed", "input": "y" * 12})  # bound 14: 2 credits
    assert r.status_code == 200, r.text
    job = await _job(http, key, r.headers["X-Job-Id"])
    assert job["status"] == "completed" and job["costs"]["credits_charged"] == 1  # 3 tokens
    assert (await _balance(http, key))["credits_remaining"] == 2
    await _check_ledger(http, key)


async def test_a_jobs_token_limit_counts_the_input_bound(http: httpx.AsyncClient) -> None:
    key = await _team(http)
    r = await http.post(
        "/api/jobs/create",
        json={"team_id": TEAM, "job_type": "doc", "limits": {"max_tokens": 20}},
        headers=bearer(key),
    )
    job_id = r.json()["job_id"]
    r = await _native(http, key, job_id, {"model": "Embed", "input": "z" * 19})  # bound 21
    _native_error(r, 402, "job_budget_exceeded")
    assert (
        await _native(http, key, job_id, {"model": "Embed", "input": "z" * 18})
    ).status_code == 200


# -- replays and limits --------------------------------------------------------------------


async def test_an_idempotency_key_replays_and_runs_once(http: httpx.AsyncClient, key: str) -> None:
    first = await _v1(http, key, **{"Idempotency-Key": "emb-1"})
    again = await _v1(http, key, **{"Idempotency-Key": "emb-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["X-Job-Id"] == first.headers["X-Job-Id"]
    assert len(await _jobs(http, key)) == 1
    b64 = {"model": "Embed", "input": "hello", "encoding_format": "base64"}
    r = await _v1(http, key, b64, **{"Idempotency-Key": "emb-1"})
    assert r.status_code == 422 and "Idempotency-Key" in r.text  # another body, same key
    job_id = await open_job(http, key)
    one = await _native(http, key, job_id, **{"Idempotency-Key": "emb-2"})
    two = await _native(http, key, job_id, **{"Idempotency-Key": "emb-2"})
    assert one.json() == two.json()
    assert len((await _job(http, key, job_id))["calls"]) == 1
    assert (await _balance(http, key))["credits_remaining"] == 99


async def test_a_rate_limit_is_429_with_retry_after(http: httpx.AsyncClient) -> None:
    key = await _team(http, rpm_limit=1)
    assert (await _v1(http, key)).status_code == 200
    before = await ledger(http, key)
    r = await _v1(http, key)
    _openai_error(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1
    assert await ledger(http, key) == before


async def test_metrics_and_server_timing_count_an_embeddings_call(settings: Settings) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    async with app_client(settings.model_copy(update={"metrics": True})) as (_app, http):
        key = await _team(http)
        r = await _v1(http, key, {"model": "Embed", "input": ["hello", "there"]})
        assert r.status_code == 200, r.text
        names = [entry.split(";")[0] for entry in r.headers["server-timing"].split(", ")]
        assert names == ["total", "db", "upstream"]
        scraped = await http.get("/metrics", headers=ADMIN)
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(scraped.text)
            for s in family.samples
        }
    calls = ("alias", "Embed"), ("deployment", "mock-embed"), ("status", "success")
    assert samples[("saas_litellm_llm_calls_total", calls)] == 1
    prompt = ("alias", "Embed"), ("kind", "prompt")
    assert samples[("saas_litellm_llm_tokens_total", prompt)] == 4
    assert not any(
        name == "saas_litellm_llm_tokens_total" and ("kind", "completion") in labels
        for name, labels in samples
    )
    assert samples[("saas_litellm_llm_cost_usd_total", (("alias", "Embed"),))] == pytest.approx(
        0.04
    )
