"""``GET /api/jobs/{job_id}/calls/{call_id}`` and a team's ``store_content``, on SQLite and
PostgreSQL: who may read a call (the admin key; the owning team's key, without the provider's
cost; another team's key gets 404 as for its jobs), hostile ids, the deployments a call tried,
and its content — kept for every surface when the team asks, and otherwise written nowhere
(no row of any table, not the SQLite file) and never logged."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from support import (
    GROUP,
    TEAM,
    app_client,
    bearer,
    create_alias,
    create_team,
    eventually,
    live_server,
    open_job,
    stub_team,
)

from saas_litellm_models import LLMCallDetail
from saas_litellm_server import Settings, create_app
from saas_litellm_server.store import Database
from saas_litellm_server.store.schema import metadata

ADMIN_KEY = "adm-call-detail-secret"
ADMIN = bearer(ADMIN_KEY)
OTHER = "other-team"
SECRET = "zebra-quartz-4417"
"""A word of every prompt: it must appear in the content kept, and nowhere when none is."""
MESSAGES = [{"role": "user", "content": f"remember {SECRET} please"}]
EMBED = {
    "model_alias": "Embed",
    "access_groups": [GROUP],
    "mode": "embedding",
    "deployments": [{"provider": "mock", "model": "mock-embed"}],
}


@pytest.fixture
def admin_key() -> str:
    return ADMIN_KEY


@pytest.fixture
async def keys(http: httpx.AsyncClient) -> dict[str, str]:
    key = await create_team(http, admin=ADMIN)
    other = await create_team(http, team_id=OTHER, admin=ADMIN)
    await create_alias(http, "Chat", admin=ADMIN, input_cost_per_million=1.0)
    r = await http.post("/api/model-aliases/create", json=EMBED, headers=ADMIN)
    assert r.status_code == 201, r.text
    return {"key": key, "other": other}


async def _set_content(http: httpx.AsyncClient, on: bool, team: str = TEAM) -> None:
    r = await http.patch(f"/api/teams/{team}", json={"store_content": on}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["store_content"] is on, r.text


def _url(job: str, call: str) -> str:
    return f"/api/jobs/{job}/calls/{call}"


async def _one_call(http: httpx.AsyncClient, key: str, job: str) -> str:
    r = await http.post(
        f"/api/jobs/{job}/llm-call",
        json={"model": "Chat", "messages": MESSAGES},
        headers=bearer(key),
    )
    assert r.status_code == 200, r.text
    return str(r.json()["call_id"])


async def test_store_content_is_off_by_default_and_set_on_create_and_patch(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    team = (await http.get(f"/api/teams/{TEAM}", headers=ADMIN)).json()
    assert team["store_content"] is False
    await create_team(http, team_id="keeper", admin=ADMIN, store_content=True)
    assert (await http.get("/api/teams/keeper", headers=ADMIN)).json()["store_content"] is True
    await _set_content(http, True)
    await _set_content(http, False)
    r = await http.patch(f"/api/teams/{TEAM}", json={"store_content": None}, headers=ADMIN)
    assert r.status_code == 422  # cannot be null: leave it out to keep it
    r = await http.patch(f"/api/teams/{TEAM}", json={"store_content": "maybe"}, headers=ADMIN)
    assert r.status_code == 422
    assert (await http.get(f"/api/teams/{TEAM}", headers=ADMIN)).json()["store_content"] is False


async def test_who_may_read_a_call(http: httpx.AsyncClient, keys: dict[str, str]) -> None:
    job = await open_job(http, keys["key"])
    call = await _one_call(http, keys["key"], job)
    url = _url(job, call)

    assert (await http.get(url)).status_code == 401
    assert (await http.get(url, headers=bearer("sk-not-a-key"))).status_code == 401
    theirs = await http.get(url, headers=bearer(keys["other"]))
    assert theirs.status_code == 404 and theirs.json()["error"]["type"] == "not_found"

    admin = LLMCallDetail.model_validate_json((await http.get(url, headers=ADMIN)).content)
    assert (admin.call_id, admin.job_id, admin.team_id) == (call, job, TEAM)
    assert (admin.model, admin.deployment, admin.provider, admin.status) == (
        "Chat",
        "chat",
        "mock",
        "success",
    )
    assert admin.prompt_tokens > 0 and admin.completion_tokens > 0
    assert admin.provider_cost_usd is not None and admin.provider_cost_usd > 0
    assert admin.finish_reason == "stop" and admin.streamed is False
    assert [(a.provider, a.deployment, a.error) for a in admin.attempts] == [("mock", "chat", None)]
    assert admin.request_content is None and admin.response_content is None  # off

    own = await http.get(url, headers=bearer(keys["key"]))
    assert own.status_code == 200
    mine = LLMCallDetail.model_validate_json(own.content)
    assert mine.provider_cost_usd is None  # as GET /api/jobs/{job_id} shows a team
    assert mine.client_cost_usd == admin.client_cost_usd and mine.total_tokens == admin.total_tokens
    # the same call under another of the team's jobs is not found
    other_job = await open_job(http, keys["key"])
    assert (await http.get(_url(other_job, call), headers=ADMIN)).status_code == 404
    assert (await http.get(_url(other_job, call), headers=bearer(keys["key"]))).status_code == 404


@pytest.mark.parametrize(
    ("job", "call"),
    [
        ("not-a-uuid", "00000000-0000-4000-8000-000000000001"),
        ("00000000-0000-4000-8000-000000000001", "x" * 300),
        ("00000000-0000-4000-8000-000000000001", "%27%3B%20DROP%20TABLE%20llm_calls%3B--"),
        ("00000000-0000-4000-8000-000000000001", "%00"),
        ("00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"),
    ],
)
async def test_hostile_ids_are_404(
    http: httpx.AsyncClient, keys: dict[str, str], job: str, call: str
) -> None:
    for headers in (ADMIN, bearer(keys["key"])):
        r = await http.get(_url(job, call), headers=headers)
        assert r.status_code == 404, r.text
        assert r.json()["error"]["type"] == "not_found"
    # nothing changed: the calls table is still there and empty
    assert (await http.get(f"/api/teams/{TEAM}/jobs", headers=ADMIN)).json()["jobs"] == []


async def _sse_job(r: httpx.Response) -> str:
    assert r.status_code == 200, r.text
    return r.headers["x-job-id"]


async def _surfaces(http: httpx.AsyncClient, key: str) -> dict[str, tuple[str, str | None]]:
    """One call through each surface: ``{surface: (job_id, expected response text part)}``."""
    auth = bearer(key)
    out: dict[str, tuple[str, str | None]] = {}
    job = await open_job(http, key)
    r = await http.post(
        f"/api/jobs/{job}/llm-call", json={"model": "Chat", "messages": MESSAGES}, headers=auth
    )
    assert r.status_code == 200, r.text
    out["llm-call"] = (job, r.json()["response"]["content"])
    job = await open_job(http, key)
    r = await http.post(
        f"/api/jobs/{job}/llm-call-stream",
        json={"model": "Chat", "messages": MESSAGES},
        headers=auth,
    )
    assert r.status_code == 200 and "event: done" in r.text, r.text
    out["llm-call-stream"] = (job, "You said")
    shortcut = {"team_id": TEAM, "job_type": "chat", "model": "Chat", "messages": MESSAGES}
    r = await http.post("/api/jobs/create-and-call", json=shortcut, headers=auth)
    assert r.status_code == 200, r.text
    out["create-and-call"] = (r.headers["x-job-id"], r.json()["response"]["content"])
    r = await http.post("/api/jobs/create-and-call-stream", json=shortcut, headers=auth)
    out["create-and-call-stream"] = (await _sse_job(r), "You said")
    r = await http.post(
        "/v1/chat/completions", json={"model": "Chat", "messages": MESSAGES}, headers=auth
    )
    assert r.status_code == 200, r.text
    out["/v1/chat/completions"] = (r.headers["x-job-id"], "You said")
    r = await http.post(
        "/v1/chat/completions",
        json={"model": "Chat", "messages": MESSAGES, "stream": True},
        headers=auth,
    )
    out["/v1/chat/completions stream"] = (await _sse_job(r), "You said")
    r = await http.post(
        "/v1/responses", json={"model": "Chat", "input": f"remember {SECRET}"}, headers=auth
    )
    assert r.status_code == 200, r.text
    out["/v1/responses"] = (r.headers["x-job-id"], "You said")
    r = await http.post(
        "/v1/messages",
        json={"model": "Chat", "max_tokens": 200, "messages": MESSAGES},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    out["/v1/messages"] = (r.headers["x-job-id"], "You said")
    job = await open_job(http, key)
    r = await http.post(
        f"/api/jobs/{job}/embeddings",
        json={"model": "Embed", "input": [f"embed {SECRET}"]},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    out["embeddings"] = (job, None)
    r = await http.post("/v1/embeddings", json={"model": "Embed", "input": SECRET}, headers=auth)
    assert r.status_code == 200, r.text
    out["/v1/embeddings"] = (r.headers["x-job-id"], None)
    return out


async def _details(
    http: httpx.AsyncClient, key: str, job: str
) -> list[tuple[LLMCallDetail, LLMCallDetail]]:
    """Each call of the job as the admin and as the team see it."""
    calls = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()["calls"]
    assert calls, job
    out = []
    for c in calls:
        url = _url(job, c["call_id"])
        admin = await http.get(url, headers=ADMIN)
        own = await http.get(url, headers=bearer(key))
        assert admin.status_code == own.status_code == 200, (admin.text, own.text)
        out.append(
            (
                LLMCallDetail.model_validate_json(admin.content),
                LLMCallDetail.model_validate_json(own.content),
            )
        )
    return out


async def test_content_is_kept_for_every_surface_when_the_team_asks(
    http: httpx.AsyncClient, keys: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await _set_content(http, True)
    for surface, (job, answer) in (await _surfaces(http, keys["key"])).items():
        for admin, own in await _details(http, keys["key"], job):
            for seen in (admin, own):
                assert seen.request_content is not None and SECRET in seen.request_content, surface
                if answer is None:  # embeddings: the input text only
                    assert seen.response_content is None, surface
                else:
                    assert seen.response_content is not None, surface
                    assert answer in seen.response_content, (surface, seen.response_content)
            assert own.provider_cost_usd is None and admin.provider_cost_usd is not None
    for record in caplog.records:  # never in a log line, nor in its fields
        text = record.getMessage() + json.dumps(record.__dict__, default=str)
        assert SECRET not in text, record.name
    # the other team, whose flag is off, keeps nothing
    job = await open_job(http, keys["other"], team_id=OTHER)
    call = await _one_call(http, keys["other"], job)
    theirs = (await http.get(_url(job, call), headers=ADMIN)).json()
    assert theirs["request_content"] is None and theirs["response_content"] is None


async def test_a_message_kept_is_json_of_the_request_and_bounded(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    await _set_content(http, True)
    job = await open_job(http, keys["key"])
    huge = "<script>alert(1)</script>" + "x" * 70_000
    r = await http.post(
        f"/api/jobs/{job}/llm-call",
        json={"model": "Chat", "messages": [{"role": "user", "content": huge}], "max_tokens": 5},
        headers=bearer(keys["key"]),
    )
    assert r.status_code == 200, r.text
    detail = (await http.get(_url(job, r.json()["call_id"]), headers=ADMIN)).json()
    kept = detail["request_content"]
    assert kept.startswith('[{"role": "user", "content": "<script>alert(1)</script>xxx')
    assert len(kept) < 65_536 + 100 and kept.endswith("[… cut: the rest is not kept]")


async def test_nothing_of_the_prompt_is_written_when_the_team_keeps_no_content(
    http: httpx.AsyncClient, keys: dict[str, str], database_url: str
) -> None:
    surfaces = await _surfaces(http, keys["key"])
    for job, _ in surfaces.values():
        for admin, own in await _details(http, keys["key"], job):
            for seen in (admin, own):
                assert seen.request_content is None and seen.response_content is None
    db = Database(database_url)
    await db.connect()
    try:
        for table in metadata.sorted_tables:
            for row in await db.fetch_all(sa.select(table)):
                assert SECRET not in json.dumps(dict(row), default=str), table.name
    finally:
        await db.disconnect()
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        for file in path.parent.glob(path.name + "*"):  # the file, its WAL
            assert SECRET.encode() not in file.read_bytes(), file.name


async def test_a_fallback_is_in_the_calls_attempts(
    upstream_settings: Settings, upstream: str
) -> None:
    async with app_client(upstream_settings) as (_app, http):
        key = await create_team(http, credits=100)
        alias = {
            "model_alias": "A",
            "access_groups": [GROUP],
            "deployments": [
                {"provider": "openai", "model": "error-500"},
                {"provider": "mock", "model": "backup"},
            ],
        }
        assert (await http.post("/api/model-aliases/create", json=alias)).status_code == 201
        job = await open_job(http, key)
        r = await http.post(
            f"/api/jobs/{job}/llm-call",
            json={"model": "A", "messages": MESSAGES},
            headers=bearer(key),
        )
        assert r.status_code == 200, r.text
        detail = (await http.get(_url(job, r.json()["call_id"]), headers=bearer(key))).json()
        assert [(a["provider"], a["deployment"], a["error"]) for a in detail["attempts"]] == [
            ("openai", "error-500", "server"),
            ("mock", "backup", None),
        ]
        assert (detail["deployment"], detail["provider"]) == ("backup", "mock")
        assert upstream not in json.dumps(detail)


async def test_the_sdk_reads_a_call(http: httpx.AsyncClient, keys: dict[str, str]) -> None:
    from saas_litellm_client import SaasLiteLLMAdminClient, SaasLiteLLMClient

    await _set_content(http, True)
    job = await open_job(http, keys["key"])
    call = await _one_call(http, keys["key"], job)
    # the SDK on the test's in-process client (its pool is the test's: not closed here)
    client = SaasLiteLLMClient("http://localhost", TEAM, keys["key"], http_client=http)
    mine = await client.get_call(job, call)
    admin = SaasLiteLLMAdminClient("http://localhost", ADMIN_KEY, http_client=http)
    seen = await admin.get_call(job, call)
    assert mine.call_id == seen.call_id == call
    assert mine.provider_cost_usd is None and seen.provider_cost_usd is not None
    assert mine.request_content is not None and SECRET in mine.request_content


async def test_a_stream_the_client_cut_keeps_what_reached_it(
    upstream_settings: Settings, upstream: str
) -> None:
    """The upstream sends six chunks 0.25 s apart; the client leaves after the first: the call
    keeps the text sent until then, not the rest."""
    from saas_litellm_client import SaasLiteLLMAdminClient, SaasLiteLLMClient

    with live_server(create_app(upstream_settings)) as url:
        team = await stub_team(url, {"Slow": ["slow-0.25"]})
        async with (
            SaasLiteLLMAdminClient(base_url=url) as admin,
            SaasLiteLLMClient(base_url=url, team_id=TEAM, virtual_key=team.virtual_key) as client,
        ):
            await admin.update_team(TEAM, store_content=True)
            job = await client.create_job("chat")
            async with client.stream(job_id=job.job_id, messages=MESSAGES, model="Slow") as s:
                async for chunk in s:
                    first = chunk.content
                    break

            async def recorded() -> str | None:
                calls = (await client.get_job(job.job_id)).calls
                return calls[0].call_id if calls and calls[0].status != "streaming" else None

            call = await client.get_call(job.job_id, await eventually(recorded))
    assert (call.status, call.error_type) == ("cancelled", "client_disconnected")
    assert call.response_content is not None
    assert call.response_content.startswith(first)
    assert "stub-chunk-5" not in call.response_content  # never sent: not kept
    assert call.request_content is not None and SECRET in call.request_content
