"""Fixtures: every store-touching test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``SAAS_LITELLM_TEST_POSTGRES_URL`` (default: the local trust-auth server
at 127.0.0.1:5432, database ``test``). Each test session creates its own database there and each
test starts from an empty schema. When PostgreSQL cannot be reached those tests skip, unless
``SAAS_LITELLM_REQUIRE_POSTGRES=1`` (as in CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette
from support import live_server, run_sync, stop, wait_until_up

from saas_litellm_server import Settings, create_app

PG_URL = os.environ.get(
    "SAAS_LITELLM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("SAAS_LITELLM_REQUIRE_POSTGRES", "") not in ("", "0", "false")


def _with_db(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session."""
    name = f"saas_litellm_test_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        conn = await asyncpg.connect(PG_URL, timeout=5)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(PG_URL, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    try:
        run_sync(create())
    except (OSError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL not reachable at {PG_URL} ({type(exc).__name__}: {exc})"
        if REQUIRE_PG:
            pytest.fail(f"{reason}; SAAS_LITELLM_REQUIRE_POSTGRES is set", pytrace=False)
        pytest.skip(f"{reason}; set SAAS_LITELLM_TEST_POSTGRES_URL to run these tests")
    yield _with_db(PG_URL, name)
    run_sync(drop())


def _reset_postgres(url: str) -> None:
    async def reset() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        finally:
            await conn.close()

    run_sync(reset())


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """An empty database on ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/saas_litellm.db"
    url: str = request.getfixturevalue("postgres_database")
    _reset_postgres(url)
    return url


@pytest.fixture
def admin_key() -> str | None:
    """No admin key: local-dev mode. Parametrize ``admin_key`` to test with one."""
    return None


@pytest.fixture
def settings(database_url: str, admin_key: str | None) -> Settings:
    return Settings(database_url=database_url, admin_key=admin_key, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    """The app with its lifespan entered (ASGITransport does not run it)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the app in-process."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as client:
        yield client


@pytest.fixture
def live_url(settings: Settings) -> Iterator[str]:
    """The same app served by uvicorn over real HTTP on a free loopback port."""
    with live_server(create_app(settings)) as url:
        yield url


@pytest.fixture
async def live_http(live_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_url, timeout=30) as client:
        yield client


@pytest.fixture(params=["in-process", "live"])
async def any_http(
    request: pytest.FixtureRequest, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """Both ways to reach the server: in-process and over real HTTP."""
    if request.param == "in-process":
        application = create_app(settings)
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=application), base_url="http://localhost"
            ) as client,
        ):
            yield client
    else:
        with live_server(create_app(settings)) as url:
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                yield client


@pytest.fixture(scope="session")
def upstream_process() -> Iterator[str]:
    """The OpenAI-compatible stub (tests/upstream_stub.py) as a real process on loopback."""
    import socket
    import subprocess
    import sys
    from pathlib import Path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = Path(__file__).with_name("upstream_stub.py")
    proc = subprocess.Popen([sys.executable, str(script), str(port)], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/_stub/health", proc, "the upstream stub", seconds=30)
        yield url
    finally:
        stop(proc, seconds=10)


@pytest.fixture
def upstream(upstream_process: str) -> str:
    """The stub's URL, with its request log emptied for this test."""
    httpx.post(f"{upstream_process}/_stub/reset", timeout=5)
    return upstream_process


UPSTREAM_KEY = "sk-upstream-secret-key"


@pytest.fixture
def upstream_settings(database_url: str, upstream: str) -> Settings:
    """Server settings whose ``openai`` deployments default to the stub."""
    return Settings(  # type: ignore[call-arg]
        database_url=database_url,
        upstream_base_url=upstream,
        upstream_api_key=UPSTREAM_KEY,
        upstream_timeout=2.0,
        _env_file=None,
    )
