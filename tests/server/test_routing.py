"""Model routing against a real upstream process with scripted failures (services/routing.py),
prices and job costs, the config file, and job listings."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import UPSTREAM_KEY
from support import GROUP, ORG, TEAM, app_client, bearer, create_team

from saas_litellm_server import Settings

MSG = {"messages": [{"role": "user", "content": "route me"}]}


def deployment(model: str, **extra: Any) -> dict[str, Any]:
    return {
        "provider": "openai",
        "model": model,
        "input_cost_per_million": 1.0,
        "output_cost_per_million": 2.0,
        **extra,
    }


async def setup(http: httpx.AsyncClient, aliases: dict[str, list[dict[str, Any]]]) -> str:
    key = await create_team(http, credits=100)
    for alias, deployments in aliases.items():
        r = await http.post(
            "/api/model-aliases/create",
            json={"model_alias": alias, "access_groups": [GROUP], "deployments": deployments},
        )
        assert r.status_code == 201, r.text
    return key


async def open_job(http: httpx.AsyncClient, key: str) -> str:
    r = await http.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": "routing"}, headers=bearer(key)
    )
    return str(r.json()["job_id"])


def stub_log(upstream: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{upstream}/_stub/requests").json())


@pytest.fixture
async def routed(upstream_settings: Settings):  # type: ignore[no-untyped-def]
    """An in-process client on a server routed to the stub; cooldowns after 1 failure, 2 s (a
    busy machine can take over half a second between two calls)."""
    settings = upstream_settings.model_copy(
        update={"cooldown_failures": 1, "cooldown_seconds": 2.0}
    )
    async with app_client(settings) as (_app, http):
        yield http


@pytest.mark.parametrize("failure", ["error-500", "error-502", "error-429"])
async def test_retryable_failures_fall_back(
    routed: httpx.AsyncClient, upstream: str, failure: str
) -> None:
    key = await setup(routed, {"A": [deployment(failure), deployment("echo")]})
    job = await open_job(routed, key)
    r = await routed.post(
        f"/api/jobs/{job}/llm-call", json={**MSG, "model": "A"}, headers=bearer(key)
    )
    assert r.status_code == 200, r.text
    assert [e["body"]["model"] for e in stub_log(upstream)] == [failure, "echo"]
    calls = (await routed.get(f"/api/jobs/{job}", headers=bearer(key))).json()["calls"]
    assert [(c["deployment"], c["status"]) for c in calls] == [("echo", "success")]


async def test_a_bad_request_is_not_retried_elsewhere(
    routed: httpx.AsyncClient, upstream: str
) -> None:
    key = await setup(routed, {"A": [deployment("error-400"), deployment("echo")]})
    job = await open_job(routed, key)
    r = await routed.post(
        f"/api/jobs/{job}/llm-call", json={**MSG, "model": "A"}, headers=bearer(key)
    )
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request"
    assert [e["body"]["model"] for e in stub_log(upstream)] == ["error-400"]


async def test_all_deployments_down_is_502_with_a_recorded_failed_call(
    routed: httpx.AsyncClient, upstream: str
) -> None:
    key = await setup(routed, {"A": [deployment("error-500"), deployment("error-503")]})
    job = await open_job(routed, key)
    r = await routed.post(
        f"/api/jobs/{job}/llm-call", json={**MSG, "model": "A"}, headers=bearer(key)
    )
    assert r.status_code == 502
    error = r.json()["error"]
    assert error["type"] == "upstream_error"
    assert "'A'" in error["message"] and "tried 2 deployments" in error["message"]
    assert "127.0.0.1" not in error["message"] and "10.0.0.1" not in error["message"]
    assert "sk-" not in error["message"]
    detail = (await routed.get(f"/api/jobs/{job}", headers=bearer(key))).json()
    assert detail["costs"]["failed_calls"] == 1
    assert detail["calls"][0]["error_type"] == "upstream_error"


async def test_a_hanging_deployment_times_out_and_falls_back(
    routed: httpx.AsyncClient, upstream: str
) -> None:
    key = await setup(routed, {"A": [deployment("hang", timeout=0.5), deployment("echo")]})
    job = await open_job(routed, key)
    start = time.monotonic()
    r = await routed.post(
        f"/api/jobs/{job}/llm-call", json={**MSG, "model": "A"}, headers=bearer(key)
    )
    elapsed = time.monotonic() - start
    assert r.status_code == 200
    assert 0.5 <= elapsed < 1.5  # the deployment's timeout, not the server's 2 s default
    r = await routed.post(
        f"/api/jobs/{job}/llm-call", json={**MSG, "model": "A"}, headers=bearer(key)
    )  # hang is cooling down: straight to echo
    assert r.status_code == 200


async def test_only_hanging_deployment_is_504(routed: httpx.AsyncClient) -> None:
    key = await setup(routed, {"A": [deployment("hang", timeout=0.3)]})
    job = await open_job(routed, key)
    r = await routed.post(
        f"/api/jobs/{job}/llm-call", json={**MSG, "model": "A"}, headers=bearer(key)
    )
    assert r.status_code == 504 and r.json()["error"]["type"] == "upstream_timeout"


def upstream_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "saas_litellm_server.upstream"]


def assert_no_address(records: list[logging.LogRecord], upstream: str) -> None:
    """Neither the api_base, its host:port nor the upstream key appears in a line."""
    host = upstream.split("://", 1)[1].split("/", 1)[0]
    for record in records:
        text = record.getMessage() + json.dumps(record.__dict__, default=str)
        assert host not in text and upstream not in text and UPSTREAM_KEY not in text


@pytest.mark.parametrize("path", ["llm-call", "llm-call-stream"])
async def test_a_failure_and_a_fallback_are_logged_with_their_context(
    routed: httpx.AsyncClient, upstream: str, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.WARNING, logger="saas_litellm_server.upstream")
    key = await setup(routed, {"A": [deployment("error-500"), deployment("echo")]})
    job = await open_job(routed, key)
    r = await routed.post(
        f"/api/jobs/{job}/{path}", json={**MSG, "model": "A"}, headers=bearer(key)
    )
    assert r.status_code == 200
    failure, fallback = upstream_lines(caplog)
    context = {
        "request_id": r.headers["x-request-id"],
        "team": TEAM,
        "alias": "A",
        "deployment": "error-500",
    }
    assert {k: getattr(failure, k) for k in context} == context
    assert failure.status == 500 and failure.getMessage().startswith("upstream failure: ")
    assert {k: getattr(fallback, k) for k in context} == context
    assert fallback.fallback_to == "echo" and fallback.getMessage().startswith("fallback: ")
    assert_no_address(upstream_lines(caplog), upstream)


async def test_a_timeout_is_logged_once_without_a_fallback(
    routed: httpx.AsyncClient, upstream: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="saas_litellm_server.upstream")
    key = await setup(routed, {"A": [deployment("hang", timeout=0.3)]})
    job = await open_job(routed, key)
    r = await routed.post(
        f"/api/jobs/{job}/llm-call", json={**MSG, "model": "A"}, headers=bearer(key)
    )
    assert r.status_code == 504
    (line,) = upstream_lines(caplog)
    assert line.getMessage().startswith("upstream timeout: ")
    assert (line.request_id, line.team, line.alias, line.deployment, line.status) == (
        r.headers["x-request-id"],
        TEAM,
        "A",
        "hang",
        "timeout",
    )
    assert_no_address([line], upstream)


async def test_cooldown_skips_a_failing_deployment_and_later_retries_it(
    routed: httpx.AsyncClient, upstream: str
) -> None:
    key = await setup(routed, {"A": [deployment("error-500"), deployment("echo")]})
    job = await open_job(routed, key)

    async def call() -> list[str]:
        httpx.post(f"{upstream}/_stub/reset")
        r = await routed.post(
            f"/api/jobs/{job}/llm-call", json={**MSG, "model": "A"}, headers=bearer(key)
        )
        assert r.status_code == 200
        return [e["body"]["model"] for e in stub_log(upstream)]

    assert await call() == ["error-500", "echo"]
    cooled_at = time.monotonic()
    assert await call() == ["echo"]  # skipped while cooling down (2 s)
    await asyncio.sleep(max(0.0, 2.1 - (time.monotonic() - cooled_at)))
    assert await call() == ["error-500", "echo"]  # tried again once the period is over


async def test_costs_add_up_for_streamed_and_plain_calls(routed: httpx.AsyncClient) -> None:
    key = await setup(routed, {"A": [deployment("echo")]})
    job = await open_job(routed, key)
    usages = []
    for _ in range(2):
        r = await routed.post(
            f"/api/jobs/{job}/llm-call", json={**MSG, "model": "A"}, headers=bearer(key)
        )
        usages.append(r.json()["usage"])
    r = await routed.post(
        f"/api/jobs/{job}/llm-call-stream", json={**MSG, "model": "A"}, headers=bearer(key)
    )
    assert r.status_code == 200 and '"type":"done"' in r.text
    expected = sum(u["prompt_tokens"] * 1.0 + u["completion_tokens"] * 2.0 for u in usages)
    detail = (await routed.get(f"/api/jobs/{job}", headers=bearer(key))).json()
    streamed = next(c for c in detail["calls"] if c["streamed"])
    expected += streamed["prompt_tokens"] * 1.0 + streamed["completion_tokens"] * 2.0
    expected /= 1_000_000
    assert streamed["total_tokens"] == usages[0]["total_tokens"]
    assert detail["costs"]["total_cost_usd"] == pytest.approx(expected, rel=1e-9)
    assert sum(c["cost_usd"] for c in detail["calls"]) == pytest.approx(expected, rel=1e-9)
    done = (
        await routed.post(
            f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
        )
    ).json()
    assert done["costs"]["total_cost_usd"] == pytest.approx(expected, rel=1e-9)
    usage = (await routed.get(f"/api/teams/{TEAM}/usage", headers=bearer(key))).json()
    row = usage["by_job_type"][0]
    assert row["cost_usd"] == pytest.approx(expected, rel=1e-9)
    assert row["tokens"] == sum(c["total_tokens"] for c in detail["calls"])
    assert (row["calls"], row["credits"]) == (3, 1)


CONFIG = """
[[access_groups]]
group_name = "gpt-models"
description = "GPT models"

[[model_aliases]]
model_alias = "ChatAgent"
access_groups = ["gpt-models"]

[[model_aliases.deployments]]
provider = "openai"
model = "error-500"
input_cost_per_million = 1.0
output_cost_per_million = 2.0

[[model_aliases.deployments]]
provider = "openai"
model = "echo"
input_cost_per_million = 1.0
output_cost_per_million = 2.0
timeout = 5
"""


async def test_config_file_and_admin_api_route_identically(
    upstream_settings: Settings, tmp_path: Path, database_url: str, backend: str
) -> None:
    config = tmp_path / "models.toml"
    config.write_text(CONFIG)
    from_file = upstream_settings.model_copy(update={"config": config})
    results = []
    for settings, via_api in [(from_file, False), (upstream_settings, True)]:
        if via_api:  # a second, empty database for the admin-API twin
            if backend == "sqlite":
                settings = settings.model_copy(
                    update={"database_url": f"sqlite:///{tmp_path}/api.db"}
                )
            else:
                from conftest import _reset_postgres

                _reset_postgres(database_url)
        async with app_client(settings) as (_app, http):
            if via_api:
                await http.post(
                    "/api/model-access-groups/create",
                    json={"group_name": GROUP, "description": "GPT models"},
                )
                await http.post(
                    "/api/model-aliases/create",
                    json={
                        "model_alias": "ChatAgent",
                        "access_groups": [GROUP],
                        "deployments": [deployment("error-500"), deployment("echo", timeout=5)],
                    },
                )
            key = await create_team(http, credits=5)
            alias = (await http.get("/api/model-aliases/ChatAgent")).json()
            job = await open_job(http, key)
            call = (
                await http.post(
                    f"/api/jobs/{job}/llm-call",
                    json={**MSG, "model": "ChatAgent"},
                    headers=bearer(key),
                )
            ).json()
            detail = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()
            alias.pop("created_at")
            results.append(
                (alias, call["usage"], [(c["deployment"], c["cost_usd"]) for c in detail["calls"]])
            )
    assert results[0] == results[1]
    assert results[0][2][0][0] == "echo"


async def test_config_file_is_idempotent_and_declarative(
    settings: Settings, tmp_path: Path
) -> None:
    config = tmp_path / "models.toml"
    config.write_text(CONFIG)
    # the file's first deployment has no api_base: the server must know a default upstream
    settings = settings.model_copy(update={"upstream_base_url": "http://127.0.0.1:9/v1"})
    for _ in range(2):  # applying the same file again changes nothing
        async with app_client(settings.model_copy(update={"config": config})) as (_app, http):
            alias = (await http.get("/api/model-aliases/ChatAgent")).json()
            assert [d["model"] for d in alias["deployments"]] == ["error-500", "echo"]
    config.write_text(CONFIG.replace('model = "error-500"', 'model = "gpt-4o"'))
    async with app_client(settings.model_copy(update={"config": config})) as (_app, http):
        alias = (await http.get("/api/model-aliases/ChatAgent")).json()
        assert [d["model"] for d in alias["deployments"]] == ["gpt-4o", "echo"]


def test_a_bad_config_file_stops_the_server_with_a_clear_message(tmp_path: Path) -> None:
    from saas_litellm_server._config import ConfigError, load_config

    bad = tmp_path / "bad.toml"
    bad.write_text('[[model_aliases]]\nmodel_alias = "X"\ndeployments = []\n')
    with pytest.raises(ConfigError, match="deployments"):
        load_config(bad)
    bad.write_text("this is = = not toml")
    with pytest.raises(ConfigError, match="not valid"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


async def test_jobs_list_filters_and_paginates(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=20)
    ids = [await open_job(http, key) for _ in range(7)]
    for job_id in ids[:3]:
        await http.post(
            f"/api/jobs/{job_id}/complete", json={"status": "completed"}, headers=bearer(key)
        )
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (
            await http.get(f"/api/teams/{TEAM}/jobs", params=params, headers=bearer(key))
        ).json()
        seen += [j["job_id"] for j in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first, each exactly once
    done = (
        await http.get(
            f"/api/teams/{TEAM}/jobs", params={"status": "completed"}, headers=bearer(key)
        )
    ).json()
    assert sorted(j["job_id"] for j in done["jobs"]) == sorted(ids[:3])
    for bad, status in (({"status": "done"}, 422), ({"limit": "0"}, 422), ({"cursor": "x!"}, 400)):
        r = await http.get(f"/api/teams/{TEAM}/jobs", params=bad, headers=bearer(key))
        assert r.status_code == status, bad
    other = await create_team(http, team_id="globex", organization_id=ORG)
    r = await http.get(f"/api/teams/{TEAM}/jobs", headers=bearer(other))
    assert r.status_code == 403
