"""The server behind PgBouncer in transaction mode (Debian's 1.18: no prepared statements).

A real PgBouncer (started here, ``pool_mode = transaction``, three server connections per
database) sits between two real ``serve`` processes (ten connections each) and PostgreSQL, so
that every transaction may land on another server connection. With
``SAAS_LITELLM_DATABASE_TRANSACTION_POOLING=true`` the servers migrate the database, create
teams, run jobs of plain and streamed calls from many clients at once, replay idempotent
retries, deliver each job's webhook once (their leases: ``FOR UPDATE SKIP LOCKED``), and every
team's ledger adds up to its balance. Without the setting, the same set-up fails: asyncpg's
cached prepared statements are not on the server connection PgBouncer picks.

PgBouncer comes from Debian (``apt-get install pgbouncer``; ``.ci/run`` installs it): without
it these tests skip, unless ``SAAS_LITELLM_REQUIRE_POSTGRES=1`` (as in CI) makes that a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from conftest import UPSTREAM_KEY
from support import (
    GROUP,
    ORG,
    bearer,
    free_port,
    server_process,
    start_server,
    stop,
    unavailable,
    wait_until_up,
)

ADMIN = "adm-pgbouncer-test-0123456789abcdef"
SERVER_CONNECTIONS = 3
"""PgBouncer's server connections per database: fewer than the clients' transactions at once."""
PRICES = {"input_cost_per_million": 100.0, "output_cost_per_million": 300.0}


def _pgbouncer_binary() -> str:
    found = shutil.which("pgbouncer", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if found is None:
        reason = "pgbouncer is not installed (apt-get install -y pgbouncer)"
        unavailable(reason)
    return found


@contextlib.contextmanager
def pgbouncer(postgres_url: str) -> Iterator[int]:
    """A PgBouncer in transaction mode in front of ``postgres_url``'s server, as a child
    process; yields its port. It refuses to run as root: then it runs as ``postgres``."""
    binary = _pgbouncer_binary()
    server = httpx.URL(postgres_url)
    port = free_port()
    as_root = os.geteuid() == 0
    user = "postgres" if as_root else None
    with tempfile.TemporaryDirectory(prefix="pgbouncer-") as directory:
        config = Path(directory)
        config.chmod(0o755)  # readable by the user it runs as
        (config / "users.txt").write_text(f'"{server.username or "postgres"}" ""\n')
        (config / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={server.host} port={server.port or 5432}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {config / 'users.txt'}\n"
            f"admin_users = {server.username or 'postgres'}\n"
            f"pool_mode = transaction\ndefault_pool_size = {SERVER_CONNECTIONS}\n"
            "max_client_conn = 200\n"
        )
        for path in config.iterdir():
            path.chmod(0o644)
        log = (config / "pgbouncer.log").open("wb")
        command = [binary, str(config / "pgbouncer.ini")]
        if user:
            command = ["runuser", "-u", user, "--", *command]
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for_port(port, proc, config / "pgbouncer.log")
            yield port
        finally:
            stop(proc, seconds=10)
            log.close()


def _wait_for_port(port: int, proc: subprocess.Popen[Any], log: Path) -> None:
    import socket

    deadline = time.monotonic() + 15
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"pgbouncer did not start: {log.read_text()[-2000:]}")
        time.sleep(0.05)


def _through(url: str, port: int) -> str:
    parsed = httpx.URL(url)
    return str(parsed.copy_with(port=port))


def _pgbouncer_show(port: int, what: str) -> list[str]:
    """Rows of PgBouncer's admin console ``SHOW <what>`` (psql: the console speaks only the
    simple query protocol)."""
    result = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-At", "pgbouncer"],
        input=f"SHOW {what};",
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return result.stdout.splitlines()


@pytest.fixture
def bouncer(postgres_database: str) -> Iterator[tuple[int, str]]:
    """PgBouncer in front of an empty test database (the servers migrate it through the
    bouncer); yields its port and the database URL through it."""
    from conftest import _reset_postgres

    _reset_postgres(postgres_database)
    with pgbouncer(postgres_database) as port:
        yield port, _through(postgres_database, port)


async def _setup(admin: httpx.AsyncClient, teams: int) -> dict[str, str]:
    r = await admin.post("/api/organizations/create", json={"organization_id": ORG, "name": "A"})
    assert r.status_code == 201, r.text
    assert (
        await admin.post("/api/model-access-groups/create", json={"group_name": GROUP})
    ).status_code == 201
    r = await admin.post(
        "/api/model-aliases/create",
        json={
            "model_alias": "Greedy",
            "access_groups": [GROUP],
            "deployments": [{"provider": "openai", "model": "greedy", **PRICES}],
        },
    )
    assert r.status_code == 201, r.text
    keys = {}
    for i in range(teams):
        r = await admin.post(
            "/api/teams/create",
            json={
                "organization_id": ORG,
                "team_id": f"team-{i}",
                "access_groups": [GROUP],
                "credits_allocated": 40,
                "default_model": "Greedy",
            },
        )
        assert r.status_code == 201, r.text
        keys[f"team-{i}"] = r.json()["virtual_key"]
    return keys


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The webhook receiver (tests/webhook_receiver.py) as a process; its URL and state dir."""
    import sys

    port = free_port()
    script = Path(__file__).parents[1] / "webhook_receiver.py"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port), str(tmp_path)], stderr=subprocess.DEVNULL
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/_receiver/health", proc, "the receiver")
        yield f"http://127.0.0.1:{port}/hooks", tmp_path
    finally:
        stop(proc, seconds=5)


def _received(state: Path) -> list[dict[str, Any]]:
    path = state / "received.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if line.strip()]


def _env(upstream: str, pooling: bool) -> dict[str, str]:
    return {
        "SAAS_LITELLM_WEBHOOKS_ALLOW_PRIVATE": "true",
        "SAAS_LITELLM_WEBHOOKS_POLL_SECONDS": "0.2",
        "SAAS_LITELLM_ADMIN_KEY": ADMIN,
        "SAAS_LITELLM_UPSTREAM_BASE_URL": upstream,
        "SAAS_LITELLM_UPSTREAM_API_KEY": UPSTREAM_KEY,
        "SAAS_LITELLM_DB_POOL_SIZE": "10",
        "SAAS_LITELLM_DATABASE_TRANSACTION_POOLING": "true" if pooling else "false",
    }


@pytest.mark.timeout(120)
async def test_two_servers_behind_pgbouncer_keep_the_books(
    bouncer: tuple[int, str],
    postgres_database: str,
    upstream: str,
    receiver: tuple[str, Path],
) -> None:
    port, url = bouncer
    hook_url, hook_state = receiver
    env = _env(upstream, pooling=True)
    with contextlib.ExitStack() as stack:
        # Both start at once on the empty database: the migrations' lock works through it.
        started = [start_server(url, env=env) for _ in range(2)]
        for _, proc in started:
            stack.callback(stop, proc)
        for server_url, proc in started:
            wait_until_up(f"{server_url}/health", proc, "a server")
        servers = [server_url for server_url, _ in started]
        async with contextlib.AsyncExitStack() as clients:
            admin = await clients.enter_async_context(
                httpx.AsyncClient(base_url=servers[0], headers=bearer(ADMIN), timeout=60)
            )
            http = [
                await clients.enter_async_context(httpx.AsyncClient(base_url=u, timeout=60))
                for u in servers
            ]
            keys = await _setup(admin, teams=3)
            # Both processes deliver webhooks: they share the deliveries through leases
            # (FOR UPDATE SKIP LOCKED), through PgBouncer too.
            r = await admin.post(
                "/api/webhooks", json={"url": hook_url, "events": ["job.completed", "job.failed"]}
            )
            assert r.status_code == 201, r.text
            (hook_state / "secrets.json").write_text(json.dumps([r.json()["secret"]]))
            settled: set[str] = set()
            replays = 0

            async def worker(n: int) -> None:
                nonlocal replays
                team = f"team-{n % 3}"
                key = bearer(keys[team])
                client = http[n % 2]
                r = await client.post(
                    "/api/jobs/create", json={"team_id": team, "job_type": "pgb"}, headers=key
                )
                assert r.status_code in (201, 402), r.text
                if r.status_code == 402:
                    return
                job = r.json()["job_id"]
                body = {"messages": [{"role": "user", "content": f"hi {n}"}], "max_tokens": 20}
                # an idempotent call, retried on the other server: one call, the same answer
                retry = {**key, "Idempotency-Key": uuid.uuid4().hex}
                first = await client.post(f"/api/jobs/{job}/llm-call", json=body, headers=retry)
                assert first.status_code == 200, first.text
                again = await http[(n + 1) % 2].post(
                    f"/api/jobs/{job}/llm-call", json=body, headers=retry
                )
                assert again.status_code == 200 and again.json() == first.json()
                assert again.headers.get("Idempotent-Replayed") == "true"
                replays += 1
                async with client.stream(
                    "POST", f"/api/jobs/{job}/llm-call-stream", json=body, headers=key
                ) as streamed:
                    assert streamed.status_code == 200
                    assert "event: done" in [line async for line in streamed.aiter_lines()]
                status = "completed" if n % 4 else "failed"
                r = await client.post(
                    f"/api/jobs/{job}/complete", json={"status": status}, headers=key
                )
                assert r.status_code == 200, r.text
                settled.add(job)

            await asyncio.gather(*(worker(n) for n in range(30)))
            assert replays >= 20

            # The servers held up to 20 connections to PgBouncer; it ran their transactions on
            # at most three server connections.
            clients_rows = [row for row in _pgbouncer_show(port, "CLIENTS") if "|" in row]
            assert len(clients_rows) > SERVER_CONNECTIONS
            database = httpx.URL(postgres_database).path.lstrip("/")
            direct = await asyncpg.connect(postgres_database.rpartition("/")[0] + "/postgres")
            try:
                backends = await direct.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database
                )
            finally:
                await direct.close()
            assert 1 <= backends <= SERVER_CONNECTIONS

            for i in range(3):
                team = f"team-{i}"
                balance = (
                    await admin.get("/api/credits/balance", headers=bearer(keys[team]))
                ).json()
                assert balance["credits_reserved"] == 0, balance
                ledger = (
                    await admin.get(f"/api/teams/{team}/transactions", params={"limit": 500})
                ).json()["transactions"]
                assert sum(t["credits"] for t in ledger) == balance["credits_remaining"]
                assert balance["credits_used"] > 0

            def delivered() -> set[str]:
                return {e["data"]["job_id"] for e in _received(hook_state) if e["status"] == 200}

            deadline = time.monotonic() + 20
            while delivered() != settled and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert delivered() == settled
            received = _received(hook_state)
            assert all(e["valid"] for e in received)
            assert len([e for e in received if e["status"] == 200]) == len(settled)  # once each


@pytest.mark.timeout(60)
async def test_without_the_setting_pgbouncer_breaks_the_server(
    bouncer: tuple[int, str], upstream: str
) -> None:
    _, url = bouncer
    with server_process(url, env=_env(upstream, pooling=False)) as (server, _):
        async with httpx.AsyncClient(base_url=server, timeout=60) as client:
            admin = bearer(ADMIN)
            codes: list[int] = []
            deadline = time.monotonic() + 20
            while 500 not in codes and time.monotonic() < deadline:
                results = await asyncio.gather(
                    *(client.get("/api/teams", headers=admin) for _ in range(20))
                )
                codes += [r.status_code for r in results]
    # asyncpg's named prepared statements: "prepared statement … does not exist"
    assert 500 in codes, codes


@pytest.mark.parametrize("transaction_pooling", [True, False])
async def test_the_store_through_pgbouncer(
    bouncer: tuple[int, str], transaction_pooling: bool
) -> None:
    """Statements from many tasks at once, on the hot path and through ``databases``: with
    the setting they all run; without it asyncpg's named prepared statements are missing (or
    already there) on the server connection PgBouncer picked."""
    from saas_litellm_server.store import Database, Statement

    _, url = bouncer
    db = Database(url, pool_size=10, transaction_pooling=transaction_pooling)
    statements = [Statement(f"SELECT CAST(:n AS integer) + {i} AS n") for i in range(3)]

    async def task(n: int) -> None:
        for i, statement in enumerate(statements):
            assert await db.run_one(statement, {"n": n}) == {"n": n + i}
            assert await db.fetch_val(f"SELECT CAST(:n AS integer) * {i + 2}", {"n": n}) == n * (
                i + 2
            )
            async with db.transaction():
                assert await db.run_one(statement, {"n": n}) == {"n": n + i}

    await db.connect()
    try:
        failures: list[BaseException] = []
        deadline = time.monotonic() + 10
        rounds = 0
        while rounds < 5 or not transaction_pooling:
            rounds += 1
            results = await asyncio.gather(*(task(n) for n in range(20)), return_exceptions=True)
            failures += [r for r in results if isinstance(r, BaseException)]
            if failures or time.monotonic() > deadline:
                break
    finally:
        await db.disconnect()
    if transaction_pooling:
        assert failures == []
    else:
        assert failures, "asyncpg's statement cache worked behind PgBouncer: nothing to prove"
        assert all(
            isinstance(
                f, asyncpg.InvalidSQLStatementNameError | asyncpg.DuplicatePreparedStatementError
            )
            for f in failures
        ), failures
