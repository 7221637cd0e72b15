"""The store's database wrapper (store/_database.py) and the catalog cache (services/_cache.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from saas_litellm_server.services._cache import TTLCache
from saas_litellm_server.store import Database, migrate
from saas_litellm_server.store._database import Statement
from saas_litellm_server.store.jobs_sql import get_job

INSERT_ORG = Statement(
    "INSERT INTO organizations (organization_id, name, metadata, created_at) "
    "VALUES (:id, 'n', '{}', :at)"
)
COUNT_ORGS = Statement("SELECT COUNT(*) AS n FROM organizations")
AT = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


async def _organization_and_team(db: Database, created: dt.datetime) -> None:
    """Organization ``o`` and its team ``t``, written through ``databases`` (the slow path)."""
    await db.execute(
        "INSERT INTO organizations (organization_id, name, metadata, created_at) "
        "VALUES ('o', 'O', '{}', :c)",
        {"c": created},
    )
    await db.execute(
        "INSERT INTO teams (team_id, organization_id, status, key_hash, credits_allocated, "
        "credits_used, credits_reserved, created_at) VALUES ('t', 'o', 'active', 'h', 1, 0, 0,"
        " :c)",
        {"c": created},
    )


def test_statements_convert_named_parameters_once_per_backend() -> None:
    stmt = Statement("SELECT * FROM t WHERE a = :a AND (b = :b OR c = :a) AND d = '::x'")
    assert stmt.for_postgres({"a": 1, "b": 2}) == (
        "SELECT * FROM t WHERE a = $1 AND (b = $2 OR c = $1) AND d = '::x'",
        [1, 2],
    )
    assert stmt.for_sqlite({"a": 1, "b": 2}) == (
        "SELECT * FROM t WHERE a = ? AND (b = ? OR c = ?) AND d = '::x'",
        [1, 2, 1],
    )


async def test_fast_path_and_sqlalchemy_path_read_each_others_rows(database_url: str) -> None:
    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        created = dt.datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=dt.timezone.utc)
        await _organization_and_team(db, created)
        await db.run(
            Statement(
                "INSERT INTO jobs (job_id, team_id, job_type, status, metadata, credit_applied, "
                "created_at) VALUES (:j, 't', 'x', 'pending', '{\"a\": 1}', :f, :c)"
            ),
            {"j": "00000000-0000-4000-8000-000000000001", "f": False, "c": created},
            fetch=False,
        )
        job = await get_job(db, "00000000-0000-4000-8000-000000000001", "t")
        assert job is not None
        assert job["created_at"] == created and job["metadata"] == {"a": 1}
        assert job["credit_applied"] is False
        via_sqlalchemy = await db.fetch_one("SELECT created_at FROM jobs")
        assert via_sqlalchemy is not None
        value = via_sqlalchemy["created_at"]
        assert (
            value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
        ).replace(tzinfo=dt.timezone.utc) == created
    finally:
        await db.disconnect()


async def test_statements_join_a_transaction_and_run_atomic_stops_at_a_closed_gate(
    database_url: str,
) -> None:
    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        with pytest.raises(ValueError, match="undo"):
            async with db.transaction():
                await db.run(INSERT_ORG, {"id": "inside", "at": AT}, fetch=False)
                rows = await db.run(COUNT_ORGS, {})  # sees its own uncommitted row
                assert rows[0]["n"] == 1
                raise ValueError("undo")
        assert (await db.run(COUNT_ORGS, {}))[0]["n"] == 0  # rolled back with the transaction
        rename = Statement(
            "UPDATE organizations SET name = :name WHERE organization_id = :id RETURNING name"
        )
        # a gate that returns no row ends the transaction there: what ran commits, the rest not
        done = await db.run_atomic(
            [
                (INSERT_ORG, {"id": "a", "at": AT}, False),
                (rename, {"id": "nobody", "name": "x"}, True),
                (rename, {"id": "a", "name": "never"}, False),
            ]
        )
        assert done == [[], []]
        rows = await db.fetch_all("SELECT organization_id, name FROM organizations")
        assert [(r["organization_id"], r["name"]) for r in rows] == [("a", "n")]
        done = await db.run_atomic(
            [(rename, {"id": "a", "name": "y"}, True), (COUNT_ORGS, {}, False)]
        )
        assert done == [[{"name": "y"}], [{"n": 1}]]
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):  # all or nothing
            await db.run_atomic(
                [
                    (rename, {"id": "a", "name": "z"}, False),
                    (INSERT_ORG, {"id": "a", "at": AT}, False),
                ]
            )
        row = await db.fetch_one("SELECT name FROM organizations")
        assert row is not None and row["name"] == "y"
    finally:
        await db.disconnect()


def test_ttl_cache_expires_and_can_be_disabled() -> None:
    now = [0.0]
    cache: TTLCache[str] = TTLCache(5, clock=lambda: now[0])
    cache.put("a", "x")
    assert cache.get("a") == "x"
    now[0] = 5.1
    assert cache.get("a") is None
    off: TTLCache[str] = TTLCache(0)
    off.put("a", "x")
    assert off.get("a") is None


async def test_a_burst_does_not_open_a_connection_per_task(tmp_path: object) -> None:
    """SQLite connections (each a thread) are bounded, whatever the number of waiting tasks."""
    import asyncio
    import threading

    db = Database(f"sqlite:///{tmp_path}/burst.db")
    await db.connect()
    try:
        await migrate(db)
        before = threading.active_count()
        peak = before

        async def query() -> None:
            nonlocal peak
            await db.run(Statement("SELECT COUNT(*) FROM jobs"), {})
            peak = max(peak, threading.active_count())

        await asyncio.gather(*[query() for _ in range(300)])
    finally:
        await db.disconnect()
    assert peak - before <= 16


async def test_a_call_its_job_totals_and_its_kept_response_commit_together(
    database_url: str,
) -> None:
    """``calls_sql.finish_call``: one statement on PostgreSQL, one trip on SQLite. The call, its
    job's totals and the kept response commit together; when the request no longer holds its
    key the call is still recorded (once) and the caller is told; a call closed already (by
    the sweep) changes nothing."""
    from saas_litellm_server.store import calls_sql, idempotency_sql, retention_sql

    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        await retention_sql.ensure_partitions(db, now=dt.datetime.now(dt.timezone.utc), start=AT)
        await _organization_and_team(db, AT)
        job = "00000000-0000-4000-8000-000000000002"
        await db.execute(
            "INSERT INTO jobs (job_id, team_id, job_type, status, metadata, credit_applied, "
            "created_at, inflight_calls, inflight_tokens) "
            "VALUES (:j, 't', 'x', 'in_progress', '{}', false, :c, 3, 300)",
            {"j": job, "c": AT},
        )
        assert await idempotency_sql.claim(db, "t", "k", "f", token="mine", ttl=60, lease=60)

        def call(call_id: str, status: str = "success") -> dict[str, object]:
            return {
                "call_id": call_id,
                "created_at": AT + dt.timedelta(seconds=int(call_id[1:])),
                "job_id": job,
                "team_id": "t",
                "model_alias": "m",
                "status": status,
                "total_tokens": 10,
                "client_cost_micros": 7,
                "reserved_tokens": 100,
                "reserved_cost_micros": 0,
            }

        lost = idempotency_sql.finish_statement("t", "k", "someone-else", 200, '{"a": 1}')
        done = await calls_sql.finish_call(db, keep=lost, **call("c1"))
        assert not done.kept and done.job is not None
        assert (done.job["inflight_calls"], done.job["inflight_tokens"]) == (2, 200)
        assert (done.job["used_tokens"], done.job["used_cost_micros"]) == (10, 7)
        kept = idempotency_sql.finish_statement("t", "k", "mine", 200, '{"a": 2}')
        done = await calls_sql.finish_call(db, keep=kept, **call("c2", "cancelled"))
        assert done.kept and done.job is not None
        assert (done.job["used_calls"], done.job["used_tokens"], done.job["inflight_calls"]) == (
            2,
            20,
            1,
        )
        again = await calls_sql.finish_call(db, **call("c2", "failed"))  # closed already
        assert again.job is None
        recorded = await calls_sql.list_calls(db, job)
        assert [(c["call_id"], c["status"]) for c in recorded] == [
            ("c1", "success"),
            ("c2", "cancelled"),
        ]
        key = await idempotency_sql.get(db, "t", "k")
        assert key is not None and (key["state"], key["body"]) == ("done", '{"a": 2}')
    finally:
        await db.disconnect()


async def test_a_write_waits_for_another_process_holding_sqlite_without_stalling_reads(
    tmp_path: Path,
) -> None:
    """Hot-path SQLite statements run on the event loop's thread, but never wait there: while
    another process holds the write lock, a write waits on a pooled connection's thread (reads
    go on), and lands once the lock is free."""
    import sqlite3

    path = tmp_path / "held.db"
    db = Database(f"sqlite:///{path}")
    await db.connect()
    other = sqlite3.connect(path, isolation_level=None)
    try:
        await migrate(db)
        other.execute("BEGIN IMMEDIATE")  # another process's writer
        other.execute(
            "INSERT INTO organizations (organization_id, name, metadata, created_at) "
            "VALUES ('other', 'n', '{}', '2026-01-01')"
        )
        write = asyncio.create_task(db.run(INSERT_ORG, {"id": "mine", "at": AT}, fetch=False))
        for _ in range(20):  # the event loop keeps running, and so do reads
            assert (await db.run(COUNT_ORGS, {}))[0]["n"] == 0
            await asyncio.sleep(0.005)
        assert not write.done()
        other.execute("COMMIT")
        await asyncio.wait_for(write, timeout=30)
        assert (await db.run(COUNT_ORGS, {}))[0]["n"] == 2
        other.execute("BEGIN IMMEDIATE")
        atomic = asyncio.create_task(
            db.run_atomic([(INSERT_ORG, {"id": "atomic", "at": AT}, False)])
        )
        await asyncio.sleep(0.02)
        assert not atomic.done()
        other.execute("ROLLBACK")
        await asyncio.wait_for(atomic, timeout=30)
        assert (await db.run(COUNT_ORGS, {}))[0]["n"] == 3
    finally:
        other.close()
        await db.disconnect()


async def test_inline_sqlite_writes_keep_the_wal_small(tmp_path: Path) -> None:
    """The inline writer leaves checkpoints to pooled connections, asked for every 1,000
    writes: after 3,000 writes the WAL holds about 1,000 writes' pages, not 3,000."""
    path = tmp_path / "wal.db"
    db = Database(f"sqlite:///{path}")
    await db.connect()
    try:
        await migrate(db)
        wal = tmp_path / "wal.db-wal"
        for i in range(900):
            await db.run(INSERT_ORG, {"id": f"o{i}", "at": AT}, fetch=False)
        before_checkpoint = wal.stat().st_size  # what 900 writes take
        for i in range(900, 3000):
            await db.run(INSERT_ORG, {"id": f"o{i}", "at": AT}, fetch=False)
        assert wal.stat().st_size < 1.5 * before_checkpoint  # not 3,000 writes' worth
        rows = await db.run(Statement("SELECT COUNT(*) AS n FROM organizations"), {})
        assert rows[0]["n"] == 3000
    finally:
        await db.disconnect()


@pytest.mark.timeout(300)  # 30-50 s of writes
async def test_the_sqlite_wal_starts_over_under_writes_that_never_pause(
    tmp_path: Path,
) -> None:
    """Calls recorded without a pause (16 at a time, every write on the event loop's thread):
    the WAL's checkpoints keep up and it starts over, so its file stays the size one or two
    intervals between checkpoints need. (It kept growing when a checkpoint always had writes
    after it: 189 MB for a 5 MB database after 18,000 calls, and every read slowed with it.)"""
    import httpx
    from support import bearer, create_team, open_job

    from saas_litellm_server import Settings, create_app

    path = tmp_path / "wal.db"
    app = create_app(Settings(database_url=f"sqlite:///{path}", _env_file=None))  # type: ignore[call-arg]
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        key = await create_team(http, credits=10)
        job = await open_job(http, key)
        body = {"messages": [{"role": "user", "content": "hi"}]}
        sizes: list[int] = []
        started = 0

        async def worker() -> None:
            nonlocal started
            while started < 9000:
                started += 1
                mine = started
                r = await http.post(f"/api/jobs/{job}/llm-call", json=body, headers=bearer(key))
                assert r.status_code == 200
                if mine % 1500 == 0:
                    sizes.append(path.with_name("wal.db-wal").stat().st_size)

        await asyncio.gather(*(worker() for _ in range(16)))
    assert len(sizes) == 6
    # a restart missed (another connection on the WAL at that instant) costs one interval more,
    # once; a WAL that does not start over grows with every interval (3x from the second
    # sample to the last)
    assert max(sizes) <= sizes[1] * 2, sizes


async def test_writes_that_arrive_together_commit_together_each_all_or_nothing(
    database_url: str,
) -> None:
    """Under load many calls end in the same turn of the event loop; on SQLite their writes
    share one commit (a group), each still atomic on its own: one that fails is undone alone,
    a closed gate stops only its own batch, and every caller gets its own rows."""
    import asyncio

    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        await db.run(INSERT_ORG, {"id": "taken", "at": AT}, fetch=False)
        rename = Statement(
            "UPDATE organizations SET name = :name WHERE organization_id = :id RETURNING name"
        )
        results = await asyncio.gather(
            *(
                db.run_atomic(
                    [
                        (INSERT_ORG, {"id": f"o{i}", "at": AT}, False),
                        (rename, {"id": f"o{i}", "name": f"n{i}"}, True),
                    ]
                )
                for i in range(20)
            ),
            db.run_atomic(  # fails on its second step: its first is undone too
                [
                    (INSERT_ORG, {"id": "undone", "at": AT}, False),
                    (INSERT_ORG, {"id": "taken", "at": AT}, False),
                ]
            ),
            db.run_atomic(  # its gate closes: what ran commits, the rest does not run
                [
                    (INSERT_ORG, {"id": "gated", "at": AT}, False),
                    (rename, {"id": "nobody", "name": "x"}, True),
                    (rename, {"id": "gated", "name": "never"}, False),
                ]
            ),
            *(db.run(INSERT_ORG, {"id": f"single{i}", "at": AT}, fetch=False) for i in range(5)),
            return_exceptions=True,
        )
        assert results[:20] == [[[], [{"name": f"n{i}"}]] for i in range(20)]
        assert isinstance(results[20], Exception)
        assert "unique" in str(results[20]).lower() or "duplicate" in str(results[20]).lower()
        assert results[21] == [[], []]
        assert results[22:] == [[]] * 5
        rows = await db.fetch_all("SELECT organization_id, name FROM organizations")
        names = {r["organization_id"]: r["name"] for r in rows}
        assert "undone" not in names
        assert names["gated"] == "n" and names["o7"] == "n7" and names["taken"] == "n"
        assert len(names) == 1 + 20 + 1 + 5
    finally:
        await db.disconnect()
