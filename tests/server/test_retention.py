"""The call log over time (store/retention_sql.py): monthly partitions on PostgreSQL, calls past
``SAAS_LITELLM_CALL_RETENTION_DAYS`` removed — whole months, then batches — once rolled up, with
usage figures unchanged."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from support import TEAM, bearer, create_team

from saas_litellm_server import Settings, create_app
from saas_litellm_server.services.maintenance import tick
from saas_litellm_server.store import (
    Database,
    Statement,
    calls_sql,
    migrate,
    retention_sql,
    rollups_sql,
    usage_sql,
)

NOW = dt.datetime.now(dt.timezone.utc)
THIS_MONTH = retention_sql.month_start(NOW)


def _months_back(n: int) -> dt.datetime:
    month = THIS_MONTH
    for _ in range(n):
        month = retention_sql.month_start(month - dt.timedelta(days=1))
    return month


async def _team_and_job(db: Database, job_id: str = "j1") -> None:
    await db.execute(
        "INSERT INTO organizations (organization_id, name, metadata, created_at) "
        "VALUES ('o', 'O', '{}', :c)",
        {"c": NOW},
    )
    await db.execute(
        "INSERT INTO teams (team_id, organization_id, status, key_hash, credits_allocated, "
        "credits_used, credits_reserved, created_at) VALUES ('t', 'o', 'active', 'h', 0, 0, 0, "
        ":c)",
        {"c": NOW},
    )
    await db.execute(
        "INSERT INTO jobs (job_id, team_id, job_type, status, metadata, credit_applied, "
        "created_at) VALUES (:j, 't', 'x', 'pending', '{}', false, :c)",
        {"j": job_id, "c": _months_back(2)},
    )


async def _call(db: Database, call_id: str, at: dt.datetime, tokens: int = 10) -> None:
    await retention_sql.ensure_partitions(db, now=NOW, start=at)
    await calls_sql.finish_call(
        db,
        reserved_tokens=0,
        reserved_cost_micros=0,
        counted=False,
        call_id=call_id,
        created_at=at,
        job_id="j1",
        team_id="t",
        model_alias="m",
        status="success",
        total_tokens=tokens,
        client_cost_micros=tokens * 2,
    )


async def _call_ids(db: Database) -> list[str]:
    rows = await db.fetch_all("SELECT call_id FROM llm_calls ORDER BY call_id")
    return [r["call_id"] for r in rows]


async def _totals(db: Database) -> list[usage_sql.CallTotalsRow]:
    return await usage_sql.calls_by_model(db, team_id="t", since=None)


async def test_the_call_log_is_partitioned_by_month_with_the_next_ones_ready(
    database_url: str,
) -> None:
    db = Database(database_url)
    await db.connect()
    try:
        if db.backend == "sqlite":
            assert await retention_sql.ensure_partitions(db, now=NOW) == []
            return
        months = await retention_sql.partitions(db)
        ahead = [THIS_MONTH]
        for _ in range(retention_sql.MONTHS_AHEAD):
            ahead.append(retention_sql.month_start(ahead[-1] + dt.timedelta(days=32)))
        assert set(ahead) <= set(months)
        # a sweep later in the year creates the months that then come next, once
        later = ahead[-1] + dt.timedelta(days=3)
        created = await retention_sql.ensure_partitions(db, now=later)
        assert (
            len(created) == 2
            and created[0] == f"llm_calls_p{ahead[-1] + dt.timedelta(days=32):%Y%m}"
        )
        assert await retention_sql.ensure_partitions(db, now=later) == []
        kind = await db.fetch_val("SELECT relkind::text FROM pg_class WHERE relname = 'llm_calls'")
        assert kind == "p"  # partitioned
    finally:
        await db.disconnect()


async def test_calls_past_retention_go_whole_months_first_and_usage_stays(
    database_url: str,
) -> None:
    """Two months back is past the cut-off as a whole (PostgreSQL drops its partition); last
    month straddles it (its older calls go in batches); this month stays."""
    db = Database(database_url)
    await db.connect()
    try:
        await _team_and_job(db)
        old, last = _months_back(2), _months_back(1)
        cut_off = last + dt.timedelta(days=10)
        for i in range(3):
            await _call(db, f"a{i}", old + dt.timedelta(days=i, hours=1))
        for i in range(5):  # days 7 to 11 of last month: 3 before the cut-off, 2 after
            await _call(db, f"b{i}", last + dt.timedelta(days=7 + i, hours=1))
        await _call(db, "c0", THIS_MONTH + dt.timedelta(minutes=1))
        assert await rollups_sql.roll_up_calls(db) == 9
        before = await _totals(db)
        assert before[0]["calls"] == 9

        removed = await retention_sql.remove_calls_before(db, cut_off, batch=2)
        if db.backend == "postgresql":
            assert removed.partitions == [f"llm_calls_p{old:%Y%m}"]
            assert removed.calls == 3
            assert old not in await retention_sql.partitions(db)
        else:
            assert (removed.partitions, removed.calls) == ([], 6)
        assert await _call_ids(db) == ["b3", "b4", "c0"]
        assert await _totals(db) == before
        again = await retention_sql.remove_calls_before(db, cut_off)
        assert (again.partitions, again.calls) == ([], 0)
    finally:
        await db.disconnect()


async def test_calls_not_rolled_up_yet_stay_past_retention(database_url: str) -> None:
    """Removing a call its rollup does not hold would lose it from usage figures."""
    db = Database(database_url)
    await db.connect()
    try:
        await _team_and_job(db)
        old = _months_back(2)
        await _call(db, "a0", old + dt.timedelta(hours=1), tokens=7)
        removed = await retention_sql.remove_calls_before(db, THIS_MONTH)
        assert f"llm_calls_p{old:%Y%m}" not in removed.partitions and removed.calls == 0
        assert await _call_ids(db) == ["a0"]
        await rollups_sql.roll_up(db)
        removed = await retention_sql.remove_calls_before(db, THIS_MONTH)
        assert removed.calls + len(removed.partitions) == 1
        assert await _call_ids(db) == []
        totals = await _totals(db)
        assert (totals[0]["calls"], totals[0]["tokens"]) == (1, 7)
    finally:
        await db.disconnect()


async def test_a_window_that_cuts_days_reads_raw_calls_at_its_ends(database_url: str) -> None:
    """Whole days come from the rollups, the hours at each end of a window from the calls."""
    db = Database(database_url)
    await db.connect()
    try:
        await _team_and_job(db)
        day = dt.datetime.combine(
            (NOW - dt.timedelta(days=5)).date(), dt.time(), tzinfo=dt.timezone.utc
        )
        hours = [1, 9, 11, 30, 40, 50, 60, 70]  # hours after the first midnight
        for i, h in enumerate(hours):
            await _call(db, f"c{i}", day + dt.timedelta(hours=h), tokens=1 + i)
        await rollups_sql.roll_up(db)
        for since_h, until_h in [(10, 65), (0, 72), (10, 20), (25, 48), (9, 9.5), (60, 60)]:
            since = day + dt.timedelta(hours=since_h)
            until = day + dt.timedelta(hours=until_h)
            inside = [1 + i for i, h in enumerate(hours) if since_h <= h < until_h]
            rows = await usage_sql.calls_by_model(db, team_id="t", since=since, until=until)
            assert [(r["calls"], r["tokens"]) for r in rows] == (
                [(len(inside), sum(inside))] if inside else []
            ), (since_h, until_h)
    finally:
        await db.disconnect()


@pytest.mark.empty_database
async def test_a_fresh_database_gets_this_months_partition(database_url: str) -> None:
    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        if db.backend == "postgresql":
            assert THIS_MONTH in await retention_sql.partitions(db)
    finally:
        await db.disconnect()


async def test_the_sweep_removes_calls_past_retention_and_usage_is_unchanged(
    settings: Settings,
) -> None:
    """Through the server: calls made, then aged (moved 40 days back, as if time had passed),
    then the maintenance sweep with ``call_retention_days=30``: the calls are gone from the
    job, the team's usage says the same as before."""
    app = create_app(
        settings.model_copy(
            update={"call_retention_days": 30, "maintenance_interval_seconds": 3600}
        )
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        key = await create_team(http, credits=5)
        job = (
            await http.post(
                "/api/jobs/create",
                json={"team_id": TEAM, "job_type": "report"},
                headers=bearer(key),
            )
        ).json()["job_id"]
        for _ in range(3):
            r = await http.post(
                f"/api/jobs/{job}/llm-call",
                json={"messages": [{"role": "user", "content": "hi"}]},
                headers=bearer(key),
            )
            assert r.status_code == 200
        await http.post(
            f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
        )
        admin: dict[str, str] = {}  # local-dev mode: the admin API needs no key on loopback
        usage = (await http.get(f"/api/teams/{TEAM}/usage", headers=admin)).json()
        assert usage["by_job_type"][0]["calls"] == 3

        db = app.state.runtime.db
        aged = NOW - dt.timedelta(days=40)
        await retention_sql.ensure_partitions(db, now=NOW, start=aged)
        if db.backend == "postgresql":
            await db.execute("UPDATE llm_calls SET created_at = created_at - interval '40 days'")
            await db.execute("UPDATE jobs SET created_at = created_at - interval '40 days'")
        else:
            for table in ("llm_calls", "jobs"):
                aging = f"UPDATE {table} SET created_at = "
                aging += "strftime('%Y-%m-%d %H:%M:%f000', created_at, '-40 days')"
                await db.run(Statement(aging), {}, fetch=False)
        aged_usage = (await http.get(f"/api/teams/{TEAM}/usage", headers=admin)).json()
        await tick(app.state.runtime)
        assert await db.fetch_val("SELECT count(*) FROM llm_calls") == 0
        detail = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()
        assert detail["calls"] == []
        after = (await http.get(f"/api/teams/{TEAM}/usage", headers=admin)).json()
        assert after["by_job_type"] == aged_usage["by_job_type"] == usage["by_job_type"]
