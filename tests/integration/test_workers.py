"""``serve --workers 2`` on PostgreSQL, over real HTTP: as correct as one process.

Connections land on either worker (each request below opens its own connection), and the
workers' metrics files (``PROMETHEUS_MULTIPROC_DIR``, one per process) show that both served.
Credits stay exact, a cooldown one worker starts is honoured by the other, and admin changes
made through one worker reach the other within a second. On SQLite, ``--workers 2`` is refused.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import UPSTREAM_KEY
from support import GROUP, TEAM, bearer, create_team, server_process

from saas_litellm_server.store import Database

ADMIN = "adm-workers-test-0123456789abcdef"
MSG = {"messages": [{"role": "user", "content": "workers"}]}
FRESHNESS = 1.0  # seconds: what the workers promise for admin changes and cooldowns
SLACK = 0.75  # for the requests themselves on a busy machine

ON_POSTGRESQL = pytest.mark.parametrize("backend", ["postgresql"])


def served_by(metrics_dir: Path, metric: str) -> dict[int, float]:
    """What each worker process counted of ``metric`` (from its multiprocess file)."""
    from prometheus_client.mmap_dict import MmapedDict

    counts: dict[int, float] = {}
    for path in metrics_dir.glob("counter_*.db"):
        pid = int(path.stem.removeprefix("counter_"))
        total = sum(
            value
            for key, value, _timestamp, _pos in MmapedDict.read_all_values_from_file(str(path))
            if f'"{metric}"' in key
        )
        if total:
            counts[pid] = total
    return counts


@pytest.fixture
def workers(database_url: str, upstream: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Two workers on one port, one database, deployments defaulting to the stub; cooldowns
    after one failure. Yields the URL and the workers' metrics directory."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        "SAAS_LITELLM_ADMIN_KEY": ADMIN,
        "SAAS_LITELLM_UPSTREAM_BASE_URL": upstream,
        "SAAS_LITELLM_UPSTREAM_API_KEY": UPSTREAM_KEY,
        "SAAS_LITELLM_COOLDOWN_FAILURES": "1",
        "SAAS_LITELLM_COOLDOWN_SECONDS": "120",
        "SAAS_LITELLM_DB_POOL_SIZE": "10",
        "SAAS_LITELLM_METRICS": "true",
        # a revoked key is asked about on every worker, again and again: not a brute force
        "SAAS_LITELLM_AUTH_FAILURES_PER_MINUTE": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    with server_process(database_url, env=env, args=("--workers", "2")) as (url, _proc):
        yield url, metrics_dir


def fresh_connections(url: str) -> httpx.AsyncClient:
    """A client that opens a connection per request, so that requests spread over workers."""
    return httpx.AsyncClient(
        base_url=url,
        timeout=60,
        limits=httpx.Limits(max_connections=40, max_keepalive_connections=0),
        headers=bearer(ADMIN),
    )


async def spread(n: int, request: Callable[[], Awaitable[httpx.Response]]) -> list[int]:
    """``n`` requests at once; their status codes."""
    return [r.status_code for r in await asyncio.gather(*(request() for _ in range(n)))]


async def within(seconds: float, check: Callable[[], Awaitable[bool]]) -> float:
    """Poll ``check`` until it holds; how long that took (fails after ``seconds``)."""
    start = time.monotonic()
    while not await check():
        assert time.monotonic() - start < seconds, f"not within {seconds:g} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


@ON_POSTGRESQL
async def test_two_workers_keep_the_credits_exact(
    workers: tuple[str, Path], database_url: str
) -> None:
    url, metrics_dir = workers
    async with fresh_connections(url) as http:
        key = bearer(await create_team(http, credits=150, admin=bearer(ADMIN)))
        counts = {"opened": 0, "refused": 0}

        async def job_life() -> None:
            r = await http.post(
                "/api/jobs/create", json={"team_id": TEAM, "job_type": "w"}, headers=key
            )
            if r.status_code == 402:
                counts["refused"] += 1
                return
            assert r.status_code == 201, r.text
            counts["opened"] += 1
            job = r.json()["job_id"]
            r = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=key)
            assert r.status_code == 200, r.text
            done = await asyncio.gather(
                *(
                    http.post(f"/api/jobs/{job}/complete", json={"status": s}, headers=key)
                    for s in ("completed", "completed", "failed")
                )
            )
            assert sorted(d.status_code for d in done) in ([200, 200, 409], [200, 409, 409])

        await asyncio.gather(*(job_life() for _ in range(250)))

    assert counts == {"opened": 150, "refused": 100}  # exactly the credits, never one more
    served = served_by(metrics_dir, "saas_litellm_requests_total")
    assert len(served) == 2, served  # both workers answered
    db = Database(database_url)
    await db.connect()
    try:
        team = await db.fetch_one("SELECT * FROM teams WHERE team_id = :t", {"t": TEAM})
        assert team is not None
        charged = await db.fetch_val(
            "SELECT COUNT(*) FROM jobs WHERE team_id = :t AND credit_applied", {"t": TEAM}
        )
        completed = await db.fetch_val(
            "SELECT COUNT(*) FROM jobs WHERE team_id = :t AND status = 'completed'", {"t": TEAM}
        )
        assert (team["credits_used"], team["credits_reserved"]) == (charged, 0)
        assert team["credits_used"] + team["credits_reserved"] <= team["credits_allocated"]
        assert (
            completed
            + await db.fetch_val(
                "SELECT COUNT(*) FROM jobs WHERE team_id = :t AND status = 'failed'", {"t": TEAM}
            )
            == 150
        )
    finally:
        await db.disconnect()


@ON_POSTGRESQL
async def test_a_cooldown_started_by_one_worker_is_honoured_by_the_other(
    workers: tuple[str, Path], upstream: str, database_url: str
) -> None:
    url, metrics_dir = workers
    async with fresh_connections(url) as http:
        key = bearer(await create_team(http, credits=1000, admin=bearer(ADMIN)))
        r = await http.post(
            "/api/model-aliases/create",
            json={
                "model_alias": "flaky",
                "access_groups": [GROUP],
                "deployments": [
                    {"provider": "openai", "model": "error-500"},
                    {"provider": "openai", "model": "echo"},
                ],
            },
        )
        assert r.status_code == 201, r.text

        async def call() -> httpx.Response:
            return await http.post(
                "/v1/chat/completions", json={**MSG, "model": "flaky"}, headers=key
            )

        # one failure, on one worker, starts the cooldown (the call itself falls back)
        assert (await call()).status_code == 200
        first = served_by(metrics_dir, "saas_litellm_llm_calls_total")
        assert len(first) == 1, first
        db = Database(database_url)
        await db.connect()
        try:

            async def shared() -> bool:
                return bool(await db.fetch_val("SELECT COUNT(*) FROM deployment_cooldowns"))

            await within(FRESHNESS, shared)
        finally:
            await db.disconnect()
        await asyncio.sleep(FRESHNESS)  # the promise: every worker skips it by now
        # many calls at once, over both workers: not one tries the cooling deployment again
        for _ in range(30):
            assert await spread(12, call) == [200] * 12
            if len(served_by(metrics_dir, "saas_litellm_llm_calls_total")) == 2:
                break
        assert len(served_by(metrics_dir, "saas_litellm_llm_calls_total")) == 2
    tried = [e["body"]["model"] for e in httpx.get(f"{upstream}/_stub/requests").json()]
    assert tried.count("error-500") == 1 and tried.count("echo") == len(tried) - 1, tried


@ON_POSTGRESQL
async def test_admin_changes_reach_every_worker_within_a_second(
    workers: tuple[str, Path],
) -> None:
    url, metrics_dir = workers
    async with fresh_connections(url) as http:
        key = bearer(await create_team(http, credits=1000, admin=bearer(ADMIN)))
        r = await http.post("/api/model-access-groups/create", json={"group_name": "other"})
        assert r.status_code == 201, r.text
        r = await http.post(
            "/api/model-aliases/create",
            json={
                "model_alias": "moving",
                "access_groups": [GROUP],
                "deployments": [{"provider": "openai", "model": "echo"}],
            },
        )
        assert r.status_code == 201, r.text

        async def call(headers: dict[str, str] = key) -> httpx.Response:
            return await http.post(
                "/v1/chat/completions", json={**MSG, "model": "moving"}, headers=headers
            )

        async def everywhere(status: int, headers: dict[str, str] = key) -> None:
            """Batches of calls until both workers answered some: every answer is ``status``."""
            before = served_by(metrics_dir, "saas_litellm_requests_total")
            for _ in range(30):
                codes = await spread(12, lambda: call(headers))
                assert codes == [status] * 12, codes
                after = served_by(metrics_dir, "saas_litellm_requests_total")
                if len(after) == 2 and all(after[p] > before.get(p, 0) for p in after):
                    return
            raise AssertionError("the calls all landed on one worker")

        async def answers(status: int) -> bool:
            return await spread(12, call) == [status] * 12

        # both workers read (and cache) the alias
        await everywhere(200)

        # the alias leaves the team's group: refused within a second, then by every worker
        r = await http.patch("/api/model-aliases/moving", json={"access_groups": ["other"]})
        changed = time.monotonic()
        assert r.status_code == 200, r.text
        await within(FRESHNESS + SLACK, lambda: answers(403))
        await asyncio.sleep(max(0.0, changed + FRESHNESS + 0.1 - time.monotonic()))
        await everywhere(403)  # past the promise: no worker serves it any more
        r = await http.patch("/api/model-aliases/moving", json={"access_groups": [GROUP]})
        changed = time.monotonic()
        assert r.status_code == 200, r.text
        await within(FRESHNESS + SLACK, lambda: answers(200))
        await asyncio.sleep(max(0.0, changed + FRESHNESS + 0.1 - time.monotonic()))
        await everywhere(200)

        # a second key, revoked: refused at once, everywhere
        r = await http.post(f"/api/teams/{TEAM}/keys", json={})
        assert r.status_code == 201, r.text
        second = bearer(r.json()["virtual_key"])
        await everywhere(200, second)
        r = await http.delete(f"/api/teams/{TEAM}/keys/{r.json()['key_id']}")
        assert r.status_code == 200, r.text
        await everywhere(401, second)

        # the team suspended: refused at once, everywhere; resumed: served again
        assert (await http.post(f"/api/teams/{TEAM}/suspend")).status_code == 200
        await everywhere(403)
        assert (await http.post(f"/api/teams/{TEAM}/resume")).status_code == 200
        await everywhere(200)


def test_several_workers_on_sqlite_are_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            *(sys.executable, "-m", "saas_litellm_server", "serve", "--workers", "2"),
            *("--database-url", f"sqlite:///{tmp_path / 'one.db'}"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--workers 2 needs PostgreSQL" in result.stderr
    assert not (tmp_path / "one.db").exists()  # refused before anything was created
