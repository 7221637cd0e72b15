"""Fixtures: every store-touching test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``SAAS_LITELLM_TEST_POSTGRES_URL`` (default: the local trust-auth server
at 127.0.0.1:5432, database ``test``). Each test session (each pytest-xdist worker: its own)
creates its own database there. When PostgreSQL cannot be reached those tests skip, unless
``SAAS_LITELLM_REQUIRE_POSTGRES=1`` (as in CI), which turns the skip into a failure.

Each test starts from a migrated schema without rows, built once per session rather than per
test (dropping and migrating the schema costs ~0.1 s on PostgreSQL, seconds when the machine is
busy, and ~25 ms on SQLite: more than many tests' own work). On SQLite a test gets a copy of a
migrated file; on PostgreSQL the session's database with every row deleted (~10-25 ms, where
a ``CREATE DATABASE … TEMPLATE`` and its ``DROP`` cost ~75 ms, over a second under load).
Tests marked ``empty_database`` (those of the migrations themselves) start with no schema.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette
from support import live_server, run_sync, stop, wait_until_up

from saas_litellm_server import Settings, create_app
from saas_litellm_server.store import Database, migrate
from saas_litellm_server.store.schema import metadata

PG_URL = os.environ.get(
    "SAAS_LITELLM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("SAAS_LITELLM_REQUIRE_POSTGRES", "") not in ("", "0", "false")


def _with_db(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session (per xdist worker)."""
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
    """Drop every table: an empty database."""

    async def reset() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        finally:
            await conn.close()

    run_sync(reset())


async def _migrate(url: str) -> None:
    db = Database(url)
    await db.connect()
    try:
        await migrate(db)
    finally:
        await db.disconnect()


# What the schema is: relations, their columns (in order, with types and defaults), constraints
# and the versions applied. A test that changed it (dropped the schema, upgraded an old one,
# altered a table) leaves a database that must be rebuilt.
_PG_SCHEMA = """
SELECT md5(string_agg(item, ',' ORDER BY item)) FROM (
    SELECT concat_ws(':', c.relname, c.relkind, a.attnum, a.attname,
        format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
        AS item
    FROM pg_class c
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE c.relnamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'constraint:' || conname::text FROM pg_constraint
    WHERE connamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'version:' || version::text FROM schema_migrations
) AS schema
"""

# Children before parents (foreign keys); schema_migrations is not in the metadata: it stays.
_PG_EMPTY = "; ".join(
    [f'DELETE FROM "{table.name}"' for table in reversed(metadata.sorted_tables)]
    + [
        "SELECT setval(s.oid, 1, false) FROM pg_class s "
        "WHERE s.relkind = 'S' AND s.relnamespace = 'public'::regnamespace"
    ]
)


class _MigratedPostgres:
    """The session's PostgreSQL database, handed to each test migrated and without rows."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._schema: str | None = None  # the fingerprint of a freshly migrated schema

    async def _fingerprint(self, conn: asyncpg.Connection) -> str | None:
        try:
            value: str | None = await conn.fetchval(_PG_SCHEMA)
        except asyncpg.UndefinedTableError:  # no schema_migrations: not migrated
            return None
        return value

    def prepare(self) -> str:
        async def prepare() -> None:
            conn = await asyncpg.connect(self.url, timeout=5)
            try:
                current = await self._fingerprint(conn)
                if self._schema is not None and current == self._schema:
                    await conn.execute(_PG_EMPTY)
                    return
                await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
                await _migrate(self.url)
                self._schema = await self._fingerprint(conn)
            finally:
                await conn.close()

        run_sync(prepare())
        return self.url


@pytest.fixture(scope="session")
def migrated_postgres(postgres_database: str) -> _MigratedPostgres:
    return _MigratedPostgres(postgres_database)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "saas_litellm.db"
    run_sync(_migrate(f"sqlite:///{path}"))
    # Closing the last connection checkpoints the WAL into the file and removes it: the file
    # alone is the whole database.
    sqlite3.connect(path).close()
    assert not path.with_name(path.name + "-wal").exists()
    return path


CLIENTS = Path(__file__).parent / "clients"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """``tests/clients`` imports the third-party clients that only ``nox -s clients`` installs:
    it is collected when the marker expression selects ``clients`` (``-m clients``), and not
    otherwise (deselecting by marker alone would come after the modules are imported)."""
    if collection_path == CLIENTS:
        markexpr = re.sub(r"\bnot\s+clients\b", "", config.option.markexpr or "")
        return None if re.search(r"\bclients\b", markexpr) else True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests that declare a longer timeout than the default are the long ones (minutes):
    they start first, longest first, so that a parallel run (pytest-xdist) does not end with
    one worker still on one of them while the other has nothing left to do."""
    default = float(config.getini("timeout") or 0)

    def timeout(item: pytest.Item) -> float:
        marker = item.get_closest_marker("timeout")
        return float(marker.args[0]) if marker and marker.args else default

    items.sort(key=lambda item: -max(timeout(item), default))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database on ``backend``: migrated and without rows, or without any schema for tests
    marked ``empty_database``."""
    empty = request.node.get_closest_marker("empty_database") is not None
    if backend == "sqlite":
        path = tmp_path / "saas_litellm.db"
        if not empty:
            shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        return f"sqlite:///{path}"
    if empty:
        url: str = request.getfixturevalue("postgres_database")
        _reset_postgres(url)
        return url
    migrated: _MigratedPostgres = request.getfixturevalue("migrated_postgres")
    return migrated.prepare()


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
