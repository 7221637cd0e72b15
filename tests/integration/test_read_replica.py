"""``SAAS_LITELLM_READ_DATABASE_URL``: lists and usage read a streaming replica, everything on a
call's path stays on the primary.

The module makes its own primary/replica pair (the machine's PostgreSQL refuses replication
connections): ``initdb`` into a temporary directory, a primary on a free port, ``pg_basebackup
-R`` of it into a second directory, a replica on another port, both as user ``postgres`` when
the tests run as root. Pausing the replica's replay (``pg_wal_replay_pause()``) then shows where
each request reads: calls, completions and balances keep working and are exact, while the lists
and usage do not show the new rows until replay resumes.

PostgreSQL's server binaries come from Debian's ``postgresql`` package (``.ci/run`` installs
it): without them these tests skip, unless ``SAAS_LITELLM_REQUIRE_POSTGRES=1`` (as in CI) makes
that a failure.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from dashboard_client import cells
from support import (
    GROUP,
    bearer,
    create_team,
    database_behind_proxy,
    eventually,
    free_port,
    server_process,
    unavailable,
)

ADMIN = "adm-replica-test-0123456789abcdefgh"
pytestmark = pytest.mark.timeout(90)


@dataclass(frozen=True)
class Pair:
    primary: str
    replica: str


def _binaries() -> Path:
    found = sorted(glob("/usr/lib/postgresql/*/bin/pg_basebackup"))
    if not found or not Path(found[-1]).with_name("initdb").exists():
        reason = "PostgreSQL's server binaries are not installed (apt-get install -y postgresql)"
        unavailable(reason)
    return Path(found[-1]).parent


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    """A primary and its streaming replica (``pg_basebackup -R``), each a server process on a
    free loopback port; both stopped, and their directory removed, at the end."""
    bin_dir = _binaries()
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def run(*command: str) -> None:
        subprocess.run(
            [*as_user, str(bin_dir / command[0]), *command[1:]],
            check=True,
            capture_output=True,
            timeout=60,
        )

    with tempfile.TemporaryDirectory(prefix="replica-test-") as directory:
        root = Path(directory)
        if as_user:
            subprocess.run(["chown", "postgres:", directory], check=True)
        primary_dir, replica_dir = root / "primary", root / "replica"
        ports = free_port(), free_port()
        started: list[Path] = []

        def start(data: Path, port: int) -> None:
            options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
            run("pg_ctl", "-D", str(data), "-o", options, "-l", str(data / "log"), "-w", "start")
            started.append(data)

        try:
            run("initdb", "-D", str(primary_dir), "-A", "trust", "-U", "postgres")
            with (primary_dir / "pg_hba.conf").open("a") as hba:
                hba.write("host replication all 127.0.0.1/32 trust\n")
            start(primary_dir, ports[0])
            run(
                *("pg_basebackup", "-h", "127.0.0.1", "-p", str(ports[0]), "-U", "postgres"),
                *("-D", str(replica_dir), "-R", "-X", "stream"),
            )
            start(replica_dir, ports[1])
            url = "postgresql://postgres@127.0.0.1:{}/postgres"
            yield Pair(url.format(ports[0]), url.format(ports[1]))
        finally:
            for data in reversed(started):
                with contextlib.suppress(subprocess.SubprocessError):
                    run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")


async def _sql(url: str, query: str) -> Any:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


def _env(replica: str | None) -> dict[str, str]:
    env = {"SAAS_LITELLM_ADMIN_KEY": ADMIN, "SAAS_LITELLM_READ_DATABASE_URL": replica or ""}
    if replica is None:
        env.pop("SAAS_LITELLM_READ_DATABASE_URL")
    return env


async def _job_with_a_call(http: httpx.AsyncClient, key: str, team: str, job_type: str) -> str:
    """A job of ``team`` with one call, completed; its id. Each step must succeed."""
    r = await http.post(
        "/api/jobs/create", json={"team_id": team, "job_type": job_type}, headers=bearer(key)
    )
    assert r.status_code == 201, r.text
    job: str = r.json()["job_id"]
    r = await http.post(
        f"/api/jobs/{job}/llm-call",
        json={"messages": [{"role": "user", "content": "hi"}]},
        headers=bearer(key),
    )
    assert r.status_code == 200, r.text
    r = await http.post(
        f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    assert r.status_code == 200, r.text
    return job


async def _listed(http: httpx.AsyncClient, team: str, job: str, job_type: str) -> dict[str, bool]:
    """Whether each read endpoint shows ``team``, its ``job`` and its ``job_type``'s usage."""
    teams = (await http.get("/api/teams", params={"limit": 200})).json()["teams"]
    jobs = (await http.get("/api/jobs", params={"limit": 200})).json()["jobs"]
    team_jobs = (await http.get(f"/api/teams/{team}/jobs", params={"limit": 200})).json()["jobs"]
    usage = (await http.get(f"/api/teams/{team}/usage")).json()["by_job_type"]
    return {
        "teams": team in {t["team_id"] for t in teams},
        "jobs": job in {j["job_id"] for j in jobs},
        "team_jobs": job in {j["job_id"] for j in team_jobs},
        "usage": job_type in {u["job_type"] for u in usage},
    }


async def _dashboard_teams(dashboard: httpx.AsyncClient, after_a_change: bool = False) -> set[str]:
    """The team ids the dashboard's teams page lists (``after_a_change``: as the redirect after
    an operator's change loads it)."""
    r = await dashboard.get(
        "/admin/teams", params={"done": "team-removed"} if after_a_change else {}
    )
    assert r.status_code == 200, r.text[:500]
    return {row[0] for row in cells(r.text, "teams")}


async def test_lists_read_the_paused_replica_while_calls_keep_working(pair: Pair) -> None:
    with server_process(pair.primary, env=_env(pair.replica)) as (url, _):
        async with (
            httpx.AsyncClient(base_url=url, headers=bearer(ADMIN), timeout=30) as http,
            httpx.AsyncClient(base_url=url, timeout=30) as dashboard,
        ):
            r = await dashboard.post(
                "/admin/login", data={"admin_key": ADMIN}, headers={"Origin": url}
            )
            assert r.status_code == 303, r.text[:500]
            # before the pause: a team with a job, seen by the lists once the replica caught up
            key = await create_team(http, team_id="before", groups=(GROUP,), admin=bearer(ADMIN))
            job = await _job_with_a_call(http, key, "before", "early")

            async def caught_up() -> bool:
                return all((await _listed(http, "before", job, "early")).values())

            await eventually(caught_up, timeout=15)

            await _sql(pair.replica, "SELECT pg_wal_replay_pause()")

            async def paused() -> bool:
                state = await _sql(pair.replica, "SELECT pg_get_wal_replay_pause_state()")
                return bool(state == "paused")

            await eventually(paused, timeout=10)
            try:
                # Every step of a call's path works on the primary: a new team, its key, a job,
                # a call, its completion; the balance reads the primary (charged at once).
                new_key = await create_team(http, team_id="after", admin=bearer(ADMIN))
                before = (await http.get("/api/credits/balance", headers=bearer(key))).json()
                new_job = await _job_with_a_call(http, key, "before", "late")
                after = (await http.get("/api/credits/balance", headers=bearer(key))).json()
                assert after["credits_used"] > before["credits_used"], (before, after)
                await _job_with_a_call(http, new_key, "after", "late")
                r = await http.get(f"/api/jobs/{new_job}", headers=bearer(key))
                assert r.status_code == 200 and r.json()["status"] == "completed", r.text

                # the lists and usage come from the paused replica: none of it shows
                assert await _listed(http, "before", new_job, "late") == {
                    "teams": True,
                    "jobs": False,
                    "team_jobs": False,
                    "usage": False,
                }
                teams = (await http.get("/api/teams", params={"limit": 200})).json()["teams"]
                assert "after" not in {t["team_id"] for t in teams}
                r = await http.get("/api/teams/after/jobs", headers=bearer(new_key))
                assert r.status_code == 200 and r.json()["jobs"] == [], r.text
                # the dashboard's pages too; its forms change the primary
                assert "after" not in await _dashboard_teams(dashboard)
                # except the page an operator's change redirects to: it shows that change
                assert "after" in await _dashboard_teams(dashboard, after_a_change=True)
            finally:
                await _sql(pair.replica, "SELECT pg_wal_replay_resume()")

            async def replayed() -> bool:
                shown = await _listed(http, "before", new_job, "late")
                teams = (await http.get("/api/teams", params={"limit": 200})).json()["teams"]
                listed = "after" in {t["team_id"] for t in teams}
                return (
                    all(shown.values()) and listed and "after" in await _dashboard_teams(dashboard)
                )

            await eventually(replayed, timeout=15)


async def test_reads_go_to_the_primary_while_the_replica_is_away(pair: Pair) -> None:
    """A replica that goes away (here: its connections cut, new ones refused) fails no read:
    lists, usage and dashboard pages are answered from the primary — fresh — and ``/ready``
    stays 200 (the primary serves everything)."""
    with (
        database_behind_proxy(pair.replica) as (proxy, replica_url),
        server_process(pair.primary, env=_env(replica_url)) as (url, _),
    ):
        async with (
            httpx.AsyncClient(base_url=url, headers=bearer(ADMIN), timeout=30) as http,
            httpx.AsyncClient(base_url=url, timeout=30) as dashboard,
        ):
            r = await dashboard.post(
                "/admin/login", data={"admin_key": ADMIN}, headers={"Origin": url}
            )
            assert r.status_code == 303, r.text[:500]
            assert (await http.get("/api/teams")).status_code == 200  # the replica's pool is open
            proxy.cut()
            key = await create_team(http, team_id="replica-away", admin=bearer(ADMIN))
            job = await _job_with_a_call(http, key, "replica-away", "while-away")
            assert await _listed(http, "replica-away", job, "while-away") == {
                "teams": True,
                "jobs": True,
                "team_jobs": True,
                "usage": True,
            }
            assert "replica-away" in await _dashboard_teams(dashboard)
            assert (await http.get("/ready")).status_code == 200


async def test_without_the_setting_lists_read_the_primary(pair: Pair) -> None:
    await _sql(pair.replica, "SELECT pg_wal_replay_pause()")  # whatever the replica lacks
    try:
        with server_process(pair.primary, env=_env(None)) as (url, _):
            async with httpx.AsyncClient(base_url=url, headers=bearer(ADMIN), timeout=30) as http:
                key = await create_team(http, team_id="primary-only", admin=bearer(ADMIN))
                job = await _job_with_a_call(http, key, "primary-only", "direct")
                assert all((await _listed(http, "primary-only", job, "direct")).values())
    finally:
        await _sql(pair.replica, "SELECT pg_wal_replay_resume()")


@pytest.mark.parametrize(
    ("primary", "replica", "says"),
    [
        ("postgres", "sqlite:///{tmp}/replica.db", "a read replica must be PostgreSQL"),
        ("sqlite", "postgresql://postgres@127.0.0.1:1/x", "needs a PostgreSQL primary"),
        ("postgres", "postgresql://postgres@127.0.0.1:1/x", "connection refused"),
    ],
)
def test_a_replica_that_cannot_serve_is_refused_at_start(
    tmp_path: Path, primary: str, replica: str, says: str
) -> None:
    database = f"sqlite:///{tmp_path}/primary.db"
    if primary == "postgres":
        database = "postgresql://postgres@127.0.0.1:1/unused"  # refused before it is tried
    env = {**os.environ, "SAAS_LITELLM_READ_DATABASE_URL": replica.format(tmp=tmp_path)}
    result = subprocess.run(
        [
            *(sys.executable, "-m", "saas_litellm_server", "serve", "--port", str(free_port())),
            *("--database-url", database),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SAAS_LITELLM_READ_DATABASE_URL" in lines[0] and says in lines[0]
    assert not any(tmp_path.iterdir())  # nothing created


def test_the_endpoints_that_read_the_replica() -> None:
    """The lists and usage, as docs/operations.md names them; never authentication's, a call's,
    a balance or a look-up by id that follows a write."""
    from saas_litellm_server._settings import Settings
    from saas_litellm_server.app import create_app
    from saas_litellm_server.routes._operation import APIRoute

    app = create_app(Settings(_env_file=None))  # type: ignore[call-arg]
    replica = {r.declaration.path for r in app.routes if isinstance(r, APIRoute) and r.replica}
    assert replica == {
        "/api/organizations",
        "/api/organizations/{organization_id}/usage",
        "/api/usage",
        "/api/model-access-groups",
        "/api/model-aliases",
        "/api/teams",
        "/api/jobs",
        "/api/teams/{team_id}/usage",
        "/api/teams/{team_id}/jobs",
        "/api/teams/{team_id}/transactions",
        "/api/teams/{team_id}/keys",
        "/api/audit-log",
        "/api/webhooks",
        "/api/webhooks/{webhook_id}/deliveries",
    }
    assert all(r.declaration.method == "GET" for r in app.routes if getattr(r, "replica", False))
