"""``GET /metrics`` and what it counts (_metrics.py, routes/metrics.py), scraped with the real
Prometheus text parser, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from conftest import UPSTREAM_KEY
from prometheus_client.multiprocess import mark_process_dead
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from support import GROUP, TEAM, app_client, bearer, create_team

from saas_litellm_server import Settings, create_app
from saas_litellm_server._metrics import Metrics

ADMIN = "sk-admin-metrics-test"
MSG = {"messages": [{"role": "user", "content": "count me"}]}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape, by name and labels (the parser rejects malformed text)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every sample of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def label_values(samples: Samples, name: str, label: str) -> set[str]:
    return {dict(ls)[label] for (n, ls), _ in samples.items() if n == name and label in dict(ls)}


async def scrape(http: httpx.AsyncClient, **headers: str) -> Samples:
    r = await http.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(r.text)


@pytest.fixture
def metrics_settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, metrics=True, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
async def mhttp(metrics_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(metrics_settings) as (_, http):
        yield http


async def test_off_by_default(http: httpx.AsyncClient) -> None:
    r = await http.get("/metrics")
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "not_found"


async def test_local_dev_mode_is_open(mhttp: httpx.AsyncClient) -> None:
    samples = await scrape(mhttp)
    assert value(samples, "saas_litellm_open_streams") == 0


async def test_with_an_admin_key_only_the_admin_key_reads_it(database_url: str) -> None:
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url, admin_key=ADMIN, metrics=True, _env_file=None
    )
    async with app_client(settings) as (_, http):
        team_key = await create_team(http, admin=bearer(ADMIN))
        refused = {
            "no key": (await http.get("/metrics"), 401),
            "wrong key": (await http.get("/metrics", headers=bearer("sk-wrong")), 401),
            "team key": (await http.get("/metrics", headers=bearer(team_key)), 403),
        }
        for name, (response, status) in refused.items():
            assert response.status_code == status, name
            assert "saas_litellm_" not in response.text, name
        samples = await scrape(http, **bearer(ADMIN))
        assert value(samples, "saas_litellm_credits_charged_total", team=TEAM) == 0
        for (name, labels), _ in samples.items():  # no key anywhere in a label
            assert not any(ADMIN in v or team_key in v for _, v in labels), name


def done_usage(body: str) -> dict[str, int]:
    _, _, rest = body.partition("event: done\n")
    assert rest, body
    data = next(line for line in rest.splitlines() if line.startswith("data: "))
    usage: dict[str, int] = json.loads(data[len("data: ") :])["usage"]
    return usage


async def test_counters_move_by_exactly_what_was_done(
    mhttp: httpx.AsyncClient, metrics_settings: Settings
) -> None:
    http = mhttp
    key = await create_team(http, credits=10)
    before = await scrape(http)
    r = await http.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": "m"}, headers=bearer(key)
    )
    job = r.json()["job_id"]
    usages = []
    for _ in range(2):
        r = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(key))
        assert r.status_code == 200
        usages.append(r.json()["usage"])
    r = await http.post(f"/api/jobs/{job}/llm-call-stream", json=MSG, headers=bearer(key))
    assert r.status_code == 200
    usages.append(done_usage(r.text))
    r = await http.post(
        f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    assert r.status_code == 200 and r.json()["costs"]["credits_charged"] == 1
    # a repeat replays the settlement: nothing is charged twice
    r = await http.post(
        f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    assert r.status_code == 200
    hostile = [f"/api/jobs/{uuid.uuid4()}" for _ in range(3)]
    for path in hostile:
        assert (await http.get(path, headers=bearer(key))).status_code == 404
    for path in ("/nope/" + uuid.uuid4().hex, "/api/" + "x" * 300):
        assert (await http.request("BREW", path)).status_code in (404, 405)
    after = await scrape(http)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "saas_litellm_requests_total"
    assert moved(requests, route="/api/jobs/create", method="POST", status="201") == 1
    assert moved(requests, route="/api/jobs/{job_id}/llm-call", method="POST", status="200") == 2
    assert (
        moved(requests, route="/api/jobs/{job_id}/llm-call-stream", method="POST", status="200")
        == 1
    )
    assert moved(requests, route="/api/jobs/{job_id}/complete", method="POST", status="200") == 2
    assert moved(requests, route="/api/jobs/{job_id}", method="GET", status="404") == 3
    assert moved(requests, route="unmatched", method="OTHER", status="404") == 2
    routes = label_values(after, requests, "route")
    assert not any(p in routes for p in hostile) and all(len(r) < 100 for r in routes)
    templates = {route.path_format for route in create_app(metrics_settings).routes}  # type: ignore[attr-defined]
    assert routes <= templates | {"unmatched"}

    calls = "saas_litellm_llm_calls_total"
    assert total(after, calls, alias="default", status="success") == 3
    assert total(after, calls, status="failed") == 0
    tokens = "saas_litellm_llm_tokens_total"
    for kind in ("prompt", "completion"):
        expected = sum(u[f"{kind}_tokens"] for u in usages)
        assert value(after, tokens, alias="default", kind=kind) == expected > 0
    assert value(after, "saas_litellm_credits_charged_total", team=TEAM) == 1
    assert total(after, "saas_litellm_upstream_latency_seconds_count") == 3
    assert value(after, "saas_litellm_open_streams") == 0
    # every non-streamed request since the first scrape (that one included), none streamed
    overhead = moved("saas_litellm_server_overhead_seconds_count")
    assert overhead == 1 + 1 + 2 + 2 + 3 + 2
    in_use = value(after, "saas_litellm_db_pool_connections_in_use")
    assert 0 <= in_use <= value(after, "saas_litellm_db_pool_connections_open")
    assert value(after, "saas_litellm_db_pool_connections_open") >= 1


async def test_failed_calls_and_cost_by_deployment(
    metrics_settings: Settings, upstream: str
) -> None:
    settings = metrics_settings.model_copy(
        update={"upstream_base_url": upstream, "upstream_api_key": SecretStr(UPSTREAM_KEY)}
    )
    async with app_client(settings) as (_, http):
        key = await create_team(http, credits=10)
        for alias, model in {"Broken": "error-500", "Echo": "echo"}.items():
            r = await http.post(
                "/api/model-aliases/create",
                json={
                    "model_alias": alias,
                    "access_groups": [GROUP],
                    "deployments": [
                        {
                            "provider": "openai",
                            "model": model,
                            "input_cost_per_million": 500_000.0,
                            "output_cost_per_million": 1_000_000.0,
                        }
                    ],
                },
            )
            assert r.status_code == 201, r.text
        r = await http.post(
            "/api/jobs/create", json={"team_id": TEAM, "job_type": "m"}, headers=bearer(key)
        )
        job = r.json()["job_id"]
        r = await http.post(
            f"/api/jobs/{job}/llm-call", json={**MSG, "model": "Broken"}, headers=bearer(key)
        )
        assert r.status_code >= 500
        r = await http.post(
            f"/api/jobs/{job}/llm-call", json={**MSG, "model": "Echo"}, headers=bearer(key)
        )
        assert r.status_code == 200
        usage = r.json()["usage"]
        samples = await scrape(http)
    calls = "saas_litellm_llm_calls_total"
    assert value(samples, calls, alias="Broken", deployment="error-500", status="failed") == 1
    assert value(samples, calls, alias="Echo", deployment="echo", status="success") == 1
    cost = usage["prompt_tokens"] * 0.5 + usage["completion_tokens"] * 1.0  # USD per token
    assert value(samples, "saas_litellm_llm_cost_usd_total", alias="Echo") == pytest.approx(cost)
    latency = "saas_litellm_upstream_latency_seconds_count"
    assert value(samples, latency, deployment="error-500") == 1
    assert value(samples, latency, deployment="echo") == 1


_WORKER = """
import os
import sys
from saas_litellm_server._metrics import Metrics

m = Metrics()
m.requests.labels("/api/jobs/create", "POST", "201").inc(int(sys.argv[1]))
m.charged("acme-corp", int(sys.argv[1]))
m.open_streams.inc()
print(os.getpid())
"""


def test_several_workers_are_summed_from_the_multiprocess_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each worker writes its values to PROMETHEUS_MULTIPROC_DIR; a scrape of any worker
    reports their sum."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    pids = [
        int(
            subprocess.run(
                [sys.executable, "-c", _WORKER, str(n)],
                env=env,
                check=True,
                timeout=60,
                capture_output=True,
                text=True,
            ).stdout
        )
        for n in (2, 5)
    ]
    assert list(tmp_path.glob("counter_*.db"))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = parse(Metrics().render().decode())
    labels: dict[str, str] = {"route": "/api/jobs/create", "method": "POST", "status": "201"}
    assert value(samples, "saas_litellm_requests_total", **labels) == 7
    assert value(samples, "saas_litellm_credits_charged_total", team="acme-corp") == 7
    assert value(samples, "saas_litellm_open_streams") == 2
    # what a supervisor does when a worker exits: its gauges leave the live sum, its counts stay
    for pid in pids:
        mark_process_dead(pid, str(tmp_path))
    samples = parse(Metrics().render().decode())
    assert value(samples, "saas_litellm_open_streams") == 0
    assert value(samples, "saas_litellm_requests_total", **labels) == 7
