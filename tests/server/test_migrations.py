"""Schema creation at start-up (store/migrations.py): versioned, idempotent, concurrent-safe."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable
from support import TEAM, app_client, bearer, create_team

from saas_litellm_server import Settings, create_app
from saas_litellm_server.services.keys import hash_key
from saas_litellm_server.store import (
    LATEST_VERSION,
    Database,
    calls_sql,
    catalog_sql,
    cooldowns_sql,
    keys_sql,
    migrate,
    operators_sql,
    retention_sql,
    rollups_sql,
    teams_sql,
    usage_sql,
    webhooks_sql,
)
from saas_litellm_server.store.migrations import UPGRADES
from saas_litellm_server.store.schema import calls, metadata

pytestmark = pytest.mark.empty_database  # these tests migrate the database themselves

SCRIPT = """
import asyncio, sys
from saas_litellm_server.store import Database, migrate
async def main():
    db = Database(sys.argv[1])
    await db.connect()
    try:
        print(await migrate(db))
    finally:
        await db.disconnect()
asyncio.run(main())
"""


def test_several_processes_migrating_at_once_apply_each_version_once(database_url: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, database_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    applied = sorted(int(out) for out, _ in results)
    assert applied == [0, 0, 0, LATEST_VERSION]


async def test_migrate_is_idempotent_and_creates_every_table(database_url: str) -> None:
    db = Database(database_url)
    await db.connect()
    try:
        assert await migrate(db) == LATEST_VERSION
        assert await migrate(db) == 0
        versions = await db.fetch_all("SELECT version FROM schema_migrations WHERE version > 0")
        # every version of the list (a branch may lack versions another one adds)
        assert sorted(v["version"] for v in versions) == [v for v, _ in UPGRADES]
        for table in metadata.sorted_tables:
            assert await db.fetch_val(sa.select(sa.func.count()).select_from(table)) is not None
    finally:
        await db.disconnect()


async def test_a_restarted_server_keeps_its_data(settings: Settings) -> None:
    async with app_client(settings) as (_app, http):
        key = await create_team(http, credits=7)
        await http.post(
            "/api/jobs/create", json={"team_id": TEAM, "job_type": "x"}, headers=bearer(key)
        )

    again = create_app(settings)
    async with (
        again.router.lifespan_context(again),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=again), base_url="http://localhost"
        ) as http,
    ):
        balance = (await http.get("/api/credits/balance", headers=bearer(key))).json()
        assert (balance["credits_allocated"], balance["credits_reserved"]) == (7, 1)


EXACT_VERSION = 10
"""The version that made money whole micro-dollars and gave jobs running totals."""
_EXACT_COLUMNS = {
    "deployments": ("input_micros_per_million", "output_micros_per_million"),
    "llm_calls": ("provider_cost_micros", "client_cost_micros"),
    "jobs": (
        "limit_max_cost_micros",
        "inflight_cost_micros",
        "inflight_calls",
        "inflight_until",
        "used_tokens",
        "used_cost_micros",
        "used_calls",
        "cap_tokens",
        "cap_cost_micros",
        "settled_at",
    ),
}
_FLOAT_COLUMNS = {
    "deployments": ("input_cost_per_million", "output_cost_per_million"),
    "llm_calls": ("cost_usd", "provider_cost_usd", "client_cost_usd"),
    "jobs": ("limit_max_cost_usd", "inflight_cost_usd"),
}


ALIAS_MODES_VERSION = 13
"""The version that gave model aliases their ``mode`` (chat or embedding)."""

ROLLUPS_VERSION = 12
"""The version that gave the call log its key (id, start), monthly partitions on PostgreSQL
and daily rollups."""


def _calls_v11() -> sa.Table:
    """``llm_calls`` as version 11 had it: keyed by its id alone, not partitioned."""
    columns = [
        sa.Column(
            c.name,
            c.type,
            primary_key=c.name == "call_id",
            nullable=c.nullable and c.name != "created_at",
            server_default=c.server_default,  # type: ignore[arg-type]
        )
        for c in calls.columns
        if c.name != "rolled_up"
    ]
    return sa.Table("llm_calls", sa.MetaData(), *columns, sa.Index("ix_llm_calls_job", "job_id"))


KEY_SPEND_VERSION = 16
"""The version that records the virtual key of each call, with spend per key and day."""


async def _before_key_spend(db: Database) -> None:
    """Turn a current database back into one before version 16: calls without their key."""
    await db.execute("DROP TABLE key_rollups")
    await db.execute("ALTER TABLE llm_calls DROP COLUMN key_id")
    await db.execute(f"DELETE FROM schema_migrations WHERE version >= {KEY_SPEND_VERSION}")


CONTENT_VERSION = 15
"""The version that gave teams ``store_content`` and calls their attempts and content."""


async def _before_call_content(db: Database) -> None:
    """Turn a current database back into one before version 15: no content, no attempts."""
    await _before_key_spend(db)
    await db.execute("ALTER TABLE teams DROP COLUMN store_content")
    for column in ("attempts", "request_content", "response_content"):
        await db.execute(f"ALTER TABLE llm_calls DROP COLUMN {column}")
    await db.execute(f"DELETE FROM schema_migrations WHERE version >= {CONTENT_VERSION}")


OPERATORS_VERSION = 14
"""Operators, each with a role and a key of its own."""


async def _before_operators(db: Database) -> None:
    """Turn a current database back into a version-13 one: no operators, no stored sessions."""
    await _before_call_content(db)
    await db.execute("DROP TABLE dashboard_sessions")
    await db.execute("DROP TABLE operators")
    await db.execute(f"DELETE FROM schema_migrations WHERE version >= {OPERATORS_VERSION}")


async def _before_alias_modes(db: Database) -> None:
    """Turn a current database back into a version-12 one: aliases without a mode."""
    await _before_operators(db)
    await db.execute("ALTER TABLE model_aliases DROP COLUMN mode")
    await db.execute(f"DELETE FROM schema_migrations WHERE version >= {ALIAS_MODES_VERSION}")


async def _before_rollups(db: Database) -> None:
    """Turn a current database (with no call yet) back into a version-11 one."""
    await _before_alias_modes(db)
    await db.execute("DROP TABLE call_rollups")
    await db.execute("DROP TABLE job_rollups")
    await db.execute("DROP INDEX ix_jobs_unrolled")
    await db.execute("ALTER TABLE jobs DROP COLUMN rolled_up")
    await db.execute("DROP TABLE llm_calls")
    table = _calls_v11()
    await db.execute(str(CreateTable(table).compile(dialect=db.dialect)))
    for index in table.indexes:
        await db.execute(str(CreateIndex(index).compile(dialect=db.dialect)))
    await db.execute(f"DELETE FROM schema_migrations WHERE version >= {ROLLUPS_VERSION}")


async def _before_exact_billing(db: Database) -> None:
    """Turn a current database back into a version-9 one: money as floats, no running totals."""
    await _before_rollups(db)
    await db.execute("DROP INDEX ix_jobs_unsettled")
    await db.execute("DROP TABLE auth_failures")  # version 11's
    await db.execute("DROP TABLE config_managed")
    for table, columns in _EXACT_COLUMNS.items():
        for column in columns:
            await db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    for table, columns in _FLOAT_COLUMNS.items():
        for column in columns:
            nullable = column == "limit_max_cost_usd"
            default = "" if nullable else " NOT NULL DEFAULT 0"
            await db.execute(f"ALTER TABLE {table} ADD COLUMN {column} FLOAT{default}")
    await db.execute(f"DELETE FROM schema_migrations WHERE version >= {EXACT_VERSION}")


BILLING_VERSION = 7
"""The version that added billing (budget modes, limits, the ledger, auto-refill)."""
_BILLING_COLUMNS = {
    "teams": (
        "budget_mode",
        "tokens_per_credit",
        "credits_per_dollar",
        "markup_percent",
        "low_balance_threshold",
        "refill_amount",
        "refill_period",
        "refill_mode",
        "refill_last_period",
    ),
    "jobs": (
        "budget_mode",
        "tokens_per_credit",
        "credits_per_dollar",
        "markup_percent",
        "limit_max_tokens",
        "limit_max_cost_usd",
        "limit_max_credits",
        "credits_held",
        "inflight_tokens",
        "inflight_cost_usd",
        "credits_charged",
    ),
    "llm_calls": ("provider_cost_usd", "client_cost_usd"),
}


async def _without_billing(db: Database) -> None:
    """Turn a current database back into one from before the billing version (and so from
    before the later ones: the webhooks' and the shared cooldowns' tables go too)."""
    await _before_exact_billing(db)
    await db.execute("DROP TABLE deployment_cooldowns")
    await db.execute("DROP TABLE webhook_deliveries")
    await db.execute("DROP TABLE webhooks")
    await db.execute("DROP TABLE credit_transactions")
    for table, columns in _BILLING_COLUMNS.items():
        for column in columns:
            await db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    await db.execute(f"DELETE FROM schema_migrations WHERE version >= {BILLING_VERSION}")


async def test_the_billing_upgrade_opens_every_teams_ledger(database_url: str) -> None:
    """Existing teams get an opening ledger row (so their transactions add up to their
    balance), open jobs hold the credit they reserved, charged jobs were charged one, and a
    call's provider and client costs are its old cost."""
    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        await _without_billing(db)
        await db.execute(
            "INSERT INTO organizations (organization_id, name, metadata, created_at) "
            "VALUES ('org', 'Org', '{}', '2026-01-01 00:00:00')"
        )
        for team_id, allocated, used, reserved in (("t1", 10, 3, 1), ("t2", 0, 0, 0)):
            await db.execute(
                "INSERT INTO teams (team_id, organization_id, status, key_hash, "
                "credits_allocated, credits_used, credits_reserved, created_at) VALUES "
                f"('{team_id}', 'org', 'active', 'h-{team_id}', {allocated}, {used}, "
                f"{reserved}, '2026-01-01 00:00:00')"
            )
        for job_id, status, applied in (
            ("00000000-0000-4000-8000-000000000001", "in_progress", False),
            ("00000000-0000-4000-8000-000000000002", "completed", True),
        ):
            await db.execute(
                "INSERT INTO jobs (job_id, team_id, job_type, status, credit_applied, "
                f"created_at) VALUES ('{job_id}', 't1', 'x', '{status}', {applied}, "
                "'2026-01-01 00:00:00')"
            )
        await db.execute(
            "INSERT INTO llm_calls (call_id, job_id, team_id, model_alias, status, cost_usd, "
            "created_at) VALUES ('c1', '00000000-0000-4000-8000-000000000002', 't1', 'm', "
            "'success', 0.25, '2026-01-01 00:00:00')"
        )
        assert await migrate(db) == LATEST_VERSION - BILLING_VERSION + 1
        rows = await db.fetch_all(
            "SELECT team_id, kind, credits, credits_remaining_after FROM credit_transactions "
            "ORDER BY team_id"
        )
        assert [
            (r["team_id"], r["kind"], r["credits"], r["credits_remaining_after"]) for r in rows
        ] == [
            ("t1", "adjustment", 7, 7),
            ("t2", "adjustment", 0, 0),
        ]
        jobs = await db.fetch_all(
            "SELECT status, credits_held, credits_charged FROM jobs ORDER BY job_id"
        )
        assert [(j["status"], j["credits_held"], j["credits_charged"]) for j in jobs] == [
            ("in_progress", 1, 0),
            ("completed", 0, 1),
        ]
        call = await db.fetch_one("SELECT provider_cost_micros, client_cost_micros FROM llm_calls")
        assert call == {"provider_cost_micros": 250_000, "client_cost_micros": 250_000}
        team = await teams_sql.get_team(db, "t1")
        assert team is not None and team["budget_mode"] == "job_based"
        assert team["auto_refill"] is None
        assert await migrate(db) == 0
    finally:
        await db.disconnect()


async def test_an_older_database_is_upgraded_in_place(database_url: str) -> None:
    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        await _without_billing(db)
        # turn it back into a version-1 database that holds data
        await db.execute("ALTER TABLE deployments DROP COLUMN timeout")
        await db.execute("DROP TABLE idempotency_keys")
        await db.execute("DROP TABLE rate_windows")
        await db.execute("ALTER TABLE teams DROP COLUMN rpm_limit")
        await db.execute("ALTER TABLE teams DROP COLUMN tpm_limit")
        await db.execute("ALTER TABLE llm_calls DROP COLUMN alive_until")
        await db.execute("DROP TABLE team_keys")
        await db.execute("DROP TABLE audit_events")
        await db.execute("ALTER TABLE teams DROP COLUMN metadata")
        await db.execute("ALTER TABLE teams DROP COLUMN deleted_at")
        await db.execute("ALTER TABLE organizations DROP COLUMN deleted_at")
        await db.execute("DROP INDEX ix_jobs_created")
        await db.execute("DELETE FROM schema_migrations WHERE version >= 2")
        # a team of the version-1 days, whose one key lived in teams.key_hash
        await db.execute(
            "INSERT INTO organizations (organization_id, name, metadata, created_at) "
            "VALUES ('org', 'Org', '{}', '2026-01-01 00:00:00')"
        )
        await db.execute(
            "INSERT INTO teams (team_id, organization_id, status, key_hash, credits_allocated, "
            "credits_used, credits_reserved, created_at) VALUES ('old-team', 'org', 'active', "
            f"'{hash_key('sk-old')}', 5, 0, 0, '2026-01-01 00:00:00')"
        )
        await db.execute(
            "INSERT INTO model_aliases (model_alias, public, created_at) "
            "VALUES ('Old', false, '2026-01-01 00:00:00')"
        )
        assert await migrate(db) == LATEST_VERSION - 1
        columns = [c for c in (await db.fetch_all("SELECT * FROM deployments"))]
        assert columns == []
        await db.execute(
            "INSERT INTO deployments (model_alias, position, provider, model, timeout) "
            "VALUES ('Old', 0, 'mock', 'm', 1.5)"
        )
        row = await db.fetch_one("SELECT timeout FROM deployments WHERE model_alias = 'Old'")
        assert row is not None and row["timeout"] == 1.5
        assert await db.fetch_val("SELECT COUNT(*) FROM idempotency_keys") == 0
        assert await db.fetch_val("SELECT COUNT(*) FROM rate_windows") == 0
        assert await db.fetch_val("SELECT COUNT(rpm_limit) FROM teams") == 0
        assert await db.fetch_val("SELECT COUNT(lease_until) FROM idempotency_keys") == 0
        assert await db.fetch_val("SELECT COUNT(alive_until) FROM llm_calls") == 0
        # the old team's key still authenticates, now as its first key, named "default"
        found = await teams_sql.get_team_by_key_hash(db, hash_key("sk-old"))
        assert found is not None and found["team_id"] == "old-team"
        assert [k["name"] for k in await keys_sql.list_keys(db, "old-team")] == ["default"]
        team = await teams_sql.get_team(db, "old-team")
        assert team is not None and team["metadata"] == {}
        assert await migrate(db) == 0
    finally:
        await db.disconnect()


async def test_a_version_7_database_gets_the_webhook_tables(database_url: str) -> None:
    """Version 8 adds webhooks and their outbox; the data of a version-7 database stays, and
    the upgraded database takes endpoints and deliveries."""
    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        await _before_exact_billing(db)
        await db.execute("DROP TABLE deployment_cooldowns")
        await db.execute("DROP TABLE webhook_deliveries")
        await db.execute("DROP TABLE webhooks")
        await db.execute("DELETE FROM schema_migrations WHERE version >= 8")
        await db.execute(
            "INSERT INTO organizations (organization_id, name, metadata, created_at) "
            "VALUES ('org', 'Org', '{}', '2026-01-01 00:00:00')"
        )
        assert await migrate(db) == LATEST_VERSION - 7  # 8, and every version after it
        assert await migrate(db) == 0
        now = dt.datetime.now(dt.timezone.utc)
        made = await webhooks_sql.insert_webhook(
            db,
            webhook_id="wh_" + "1" * 24,
            url="https://93.184.215.14/x",
            events=["job.completed"],
            organization_id="org",
            secret="whsec_c2VjcmV0",
            now=now,
        )
        assert made["status"] == "active" and made["events"] == ["job.completed"]
        await webhooks_sql.insert_delivery(
            db,
            delivery_id="msg_" + "1" * 24,
            webhook_id=made["webhook_id"],
            event_type="job.completed",
            payload="{}",
            now=now,
        )
        assert await webhooks_sql.any_due(db, now)
        assert await db.fetch_val("SELECT COUNT(*) FROM organizations") == 1
    finally:
        await db.disconnect()


async def test_a_version_8_database_gets_the_shared_cooldowns(database_url: str) -> None:
    """Version 9 adds ``deployment_cooldowns``; an upgraded database shares cooldowns, and a
    later cooldown of a deployment extends it, an earlier one does not shorten it."""
    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        await _before_exact_billing(db)
        await db.execute("DROP TABLE deployment_cooldowns")
        await db.execute("DELETE FROM schema_migrations WHERE version >= 9")
        await db.execute(
            "INSERT INTO organizations (organization_id, name, metadata, created_at) "
            "VALUES ('org', 'Org', '{}', '2026-01-01 00:00:00')"
        )
        assert await migrate(db) == LATEST_VERSION - 8  # 9, and every version after it
        assert await migrate(db) == 0
        await cooldowns_sql.start(db, "a" * 64, 1000.5)
        await cooldowns_sql.start(db, "a" * 64, 900.0)  # never shortened
        await cooldowns_sql.start(db, "b" * 64, 950.0)
        assert await cooldowns_sql.active(db, 960.0) == {"a" * 64: 1000.5}
        await cooldowns_sql.start(db, "b" * 64, 1100.0)  # extended
        assert await cooldowns_sql.active(db, 960.0) == {"a" * 64: 1000.5, "b" * 64: 1100.0}
        await cooldowns_sql.clear(db, "b" * 64)
        await cooldowns_sql.delete_expired(db, 1000.5)
        assert await cooldowns_sql.active(db, 0.0) == {}
        assert await db.fetch_val("SELECT COUNT(*) FROM organizations") == 1
    finally:
        await db.disconnect()


async def test_a_version_9_database_gets_exact_money_and_job_totals(database_url: str) -> None:
    """Version 10: prices, call costs and job limits become whole micro-dollars (floats are
    gone), every job gets the running totals of its calls, closed jobs count as settled when
    they closed, and an open metered job's next call takes the checked path (caps of 0)."""
    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        await _before_exact_billing(db)
        await db.execute(
            "INSERT INTO organizations (organization_id, name, metadata, created_at) "
            "VALUES ('org', 'Org', '{}', '2026-01-01 00:00:00')"
        )
        await db.execute(
            "INSERT INTO teams (team_id, organization_id, status, key_hash, credits_allocated, "
            "credits_used, credits_reserved, created_at) VALUES ('t1', 'org', 'active', 'h', "
            "10, 1, 2, '2026-01-01 00:00:00')"
        )
        await db.execute(
            "INSERT INTO model_aliases (model_alias, public, created_at) "
            "VALUES ('A', false, '2026-01-01 00:00:00')"
        )
        await db.execute(
            "INSERT INTO deployments (model_alias, position, provider, model, "
            "input_cost_per_million, output_cost_per_million) "
            "VALUES ('A', 0, 'mock', 'm', 0.15, 0.0375)"
        )
        jobs = {
            "00000000-0000-4000-8000-000000000001": ("completed", "job_based", "NULL", 0),
            "00000000-0000-4000-8000-000000000002": ("in_progress", "consumption_tokens", "0.3", 2),
        }
        for job_id, (status, mode, limit, held) in jobs.items():
            completed = "'2026-01-02 00:00:00'" if status == "completed" else "NULL"
            await db.execute(
                "INSERT INTO jobs (job_id, team_id, job_type, status, credit_applied, "
                "created_at, completed_at, budget_mode, tokens_per_credit, limit_max_cost_usd, "
                f"credits_held, inflight_tokens, inflight_cost_usd) VALUES ('{job_id}', 't1', "
                f"'x', '{status}', false, '2026-01-01 00:00:00', {completed}, '{mode}', 10, "
                f"{limit}, {held}, 50, 0.5)"
            )
        for i, (job_id, status, tokens, cost) in enumerate(
            [
                ("00000000-0000-4000-8000-000000000001", "success", 30, 0.1),
                ("00000000-0000-4000-8000-000000000001", "failed", 5, 0.2),
                ("00000000-0000-4000-8000-000000000002", "success", 12, 0.0000015),
            ]
        ):
            await db.execute(
                "INSERT INTO llm_calls (call_id, job_id, team_id, model_alias, status, "
                "total_tokens, cost_usd, provider_cost_usd, client_cost_usd, created_at) VALUES "
                f"('c{i}', '{job_id}', 't1', 'A', '{status}', {tokens}, {cost}, {cost}, {cost}, "
                "'2026-01-01 00:00:00')"
            )
        assert await migrate(db) == LATEST_VERSION - 9  # 10, and every version after it
        assert await migrate(db) == 0
        prices = await db.fetch_one("SELECT * FROM deployments")
        assert prices is not None
        assert (prices["input_micros_per_million"], prices["output_micros_per_million"]) == (
            150_000,
            37_500,
        )
        assert "input_cost_per_million" not in prices
        costs = await db.fetch_all(
            "SELECT call_id, provider_cost_micros, client_cost_micros FROM llm_calls "
            "ORDER BY call_id"
        )
        assert [(c["provider_cost_micros"], c["client_cost_micros"]) for c in costs] == [
            (100_000, 100_000),
            (200_000, 200_000),
            (2, 2),  # 1.5 micro-dollars, rounded
        ]
        rows = await db.fetch_all("SELECT * FROM jobs ORDER BY job_id")
        done, running = rows
        assert (done["used_tokens"], done["used_cost_micros"], done["used_calls"]) == (
            35,
            300_000,
            1,
        )
        assert done["settled_at"] is not None and running["settled_at"] is None
        assert (running["used_tokens"], running["limit_max_cost_micros"]) == (12, 300_000)
        assert (running["inflight_tokens"], running["inflight_cost_micros"]) == (0, 0)
        assert (running["cap_tokens"], running["cap_cost_micros"], running["credits_held"]) == (
            0,
            0,
            2,
        )
        assert "inflight_cost_usd" not in running and "cost_usd" not in costs[0]
    finally:
        await db.disconnect()


async def test_a_version_11_call_log_is_keyed_partitioned_and_rolled_up(database_url: str) -> None:
    """Version 12 copies the calls into the new call log (on PostgreSQL, into a partition for
    each month they fall in), rolls up the ended ones and the settled jobs, and leaves a call
    still streaming to end as before; usage figures are what the calls were."""
    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        await _before_rollups(db)
        await db.execute(
            "INSERT INTO organizations (organization_id, name, metadata, created_at) "
            "VALUES ('org', 'Org', '{}', '2026-01-01 00:00:00')"
        )
        await db.execute(
            "INSERT INTO teams (team_id, organization_id, status, key_hash, credits_allocated, "
            "credits_used, credits_reserved, created_at) VALUES ('t1', 'org', 'active', 'h', "
            "10, 1, 1, '2026-01-01 00:00:00')"
        )
        done, running = (
            "00000000-0000-4000-8000-000000000001",
            "00000000-0000-4000-8000-000000000002",
        )
        for job_id, status, settled in (
            (done, "completed", "'2026-03-02 00:00:00'"),
            (running, "in_progress", "NULL"),
        ):
            await db.execute(
                "INSERT INTO jobs (job_id, team_id, job_type, status, credit_applied, "
                "created_at, settled_at, credits_charged) VALUES "
                f"('{job_id}', 't1', 'x', '{status}', false, '2026-03-01 00:00:00', {settled}, "
                f"{1 if settled != 'NULL' else 0})"
            )
        calls = [
            ("c1", done, "success", 30, "2026-03-01 10:00:00.000000"),
            ("c2", done, "failed", 5, "2026-04-15 10:00:00.000000"),
            ("c3", running, "streaming", 7, "2026-05-20 10:00:00.000000"),
        ]
        for call_id, job_id, status, tokens, at in calls:
            await db.execute(
                "INSERT INTO llm_calls (call_id, job_id, team_id, model_alias, status, "
                "total_tokens, client_cost_micros, created_at) VALUES "
                f"('{call_id}', '{job_id}', 't1', 'A', '{status}', {tokens}, {tokens * 10}, "
                f"'{at}')"
            )
        assert await migrate(db) == LATEST_VERSION - 11  # 12, and every version after it
        assert await migrate(db) == 0
        rows = await db.fetch_all("SELECT call_id, rolled_up FROM llm_calls ORDER BY call_id")
        assert [(r["call_id"], bool(r["rolled_up"])) for r in rows] == [
            ("c1", True),
            ("c2", True),
            ("c3", False),
        ]
        if db.backend == "postgresql":
            months = await retention_sql.partitions(db)
            first = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
            assert (
                first in months
                and retention_sql.month_start(dt.datetime.now(dt.timezone.utc)) in months
            )
        usage = await usage_sql.usage_by_job_type(db, "t1", None, None)
        assert [
            (u["jobs"], u["completed"], u["credits"], u["calls"], u["tokens"]) for u in usage
        ] == [(2, 1, 1, 2, 35)]
        # the stream that was running ends: its row is found by its key, then rolled up
        await calls_sql.finish_call(
            db,
            reserved_tokens=0,
            reserved_cost_micros=0,
            counted=False,
            checkpointed=True,
            call_id="c3",
            created_at=dt.datetime(2026, 5, 20, 10, tzinfo=dt.timezone.utc),
            job_id=running,
            team_id="t1",
            model_alias="A",
            status="success",
            total_tokens=9,
        )
        assert await db.fetch_val("SELECT count(*) FROM llm_calls") == 3
        assert await rollups_sql.roll_up_calls(db) == 1
        usage = await usage_sql.usage_by_job_type(db, "t1", None, None)
        assert (usage[0]["calls"], usage[0]["tokens"]) == (3, 44)
    finally:
        await db.disconnect()


async def test_a_version_12_database_gets_alias_modes(database_url: str) -> None:
    """Version 13 gives every alias a ``mode``: those of a version-12 database, which all
    served chat, are ``chat``, their deployments and groups untouched; an alias made after it
    may be an ``embedding`` one, and each call is routed only to an alias of its mode."""
    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        await _before_alias_modes(db)
        await db.execute(
            "INSERT INTO model_aliases (model_alias, public, created_at) "
            "VALUES ('Old', false, '2026-01-01 00:00:00')"
        )
        await db.execute(
            "INSERT INTO deployments (model_alias, position, provider, model, "
            "input_micros_per_million, output_micros_per_million) "
            "VALUES ('Old', 0, 'mock', 'm', 1000000, 2000000)"
        )
        assert await migrate(db) == LATEST_VERSION - 12  # 13, and every version after it
        assert await migrate(db) == 0
        old = await catalog_sql.get_alias(db, "Old")
        assert old is not None and old["mode"] == "chat"
        assert [(d["model"], d["input_micros_per_million"]) for d in old["deployments"]] == [
            ("m", 1_000_000)
        ]
        assert await catalog_sql.insert_alias(db, "New", [], [], mode="embedding")
        new = await catalog_sql.get_alias(db, "New")
        assert new is not None and new["mode"] == "embedding"
        await catalog_sql.update_alias(
            db, "Old", groups=None, deployment_rows=None, mode="embedding"
        )
        changed = await catalog_sql.get_alias(db, "Old")
        assert changed is not None and changed["mode"] == "embedding"
        assert len(changed["deployments"]) == 1
    finally:
        await db.disconnect()


async def test_a_version_14_database_gets_call_content_columns(database_url: str) -> None:
    """Version 15 gives every team ``store_content`` (off: nothing of an existing team's calls
    is kept from then on) and the call log its attempts and content columns; the calls
    recorded before it stay readable, with no attempts and no content."""
    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        await _before_call_content(db)
        await db.execute(
            "INSERT INTO organizations (organization_id, name, created_at) "
            "VALUES ('o', 'O', '2026-01-01 00:00:00')"
        )
        await db.execute(
            "INSERT INTO teams (team_id, organization_id, status, key_hash, created_at) "
            "VALUES ('t', 'o', 'active', 'h', '2026-01-01 00:00:00')"
        )
        await db.execute(
            "INSERT INTO jobs (job_id, team_id, job_type, status, created_at) VALUES "
            "('00000000-0000-4000-8000-000000000001', 't', 'x', 'completed', "
            "'2026-12-01 00:00:00')"
        )
        await db.execute(
            "INSERT INTO llm_calls (call_id, job_id, team_id, model_alias, status, created_at, "
            "total_tokens) VALUES ('00000000-0000-4000-8000-000000000002', "
            "'00000000-0000-4000-8000-000000000001', 't', 'M', 'success', "
            "'2026-12-01 00:00:01', 7)"
        )
        current = await db.fetch_val("SELECT MAX(version) FROM schema_migrations")
        assert await migrate(db) == LATEST_VERSION - current
        assert await migrate(db) == 0
        team = await teams_sql.get_team(db, "t")
        assert team is not None and team["store_content"] is False
        call = await calls_sql.get_call(
            db,
            "00000000-0000-4000-8000-000000000001",
            "00000000-0000-4000-8000-000000000002",
            team_id="t",
            operator=False,
        )
        assert call is not None
        assert (call["total_tokens"], call["attempts"], call["request_content"]) == (7, [], None)
    finally:
        await db.disconnect()


async def test_a_version_15_database_gets_spend_per_key(database_url: str) -> None:
    """Version 16 records each call's virtual key: calls from before have none, and what was
    rolled up before is kept per day and team under no key, so a team's spend per key still
    adds up to its calls; calls after it count for their key, rolled up or not."""
    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        await db.execute(
            "INSERT INTO organizations (organization_id, name, metadata, created_at) "
            "VALUES ('org', 'Org', '{}', '2026-01-01 00:00:00')"
        )
        await db.execute(
            "INSERT INTO teams (team_id, organization_id, status, key_hash, credits_allocated, "
            "credits_used, credits_reserved, created_at) VALUES ('t1', 'org', 'active', 'h', "
            "10, 0, 0, '2026-01-01 00:00:00')"
        )
        job = "00000000-0000-4000-8000-000000000001"
        await db.execute(
            "INSERT INTO jobs (job_id, team_id, job_type, status, credit_applied, created_at) "
            f"VALUES ('{job}', 't1', 'x', 'in_progress', false, '2026-01-01 00:00:00')"
        )

        async def record(call_id: str, tokens: int, key_id: str | None = None) -> None:
            await calls_sql.finish_call(
                db,
                reserved_tokens=0,
                reserved_cost_micros=0,
                counted=False,
                call_id=call_id,
                created_at=dt.datetime.now(dt.timezone.utc),
                job_id=job,
                team_id="t1",
                model_alias="A",
                status="success",
                total_tokens=tokens,
                client_cost_micros=tokens * 10,
                key_id=key_id,
            )

        await record("c1", 5)
        await record("c2", 7)
        assert await rollups_sql.roll_up_calls(db, limit=1) == 1
        await _before_key_spend(db)
        current = await db.fetch_val("SELECT MAX(version) FROM schema_migrations")
        assert await migrate(db) == LATEST_VERSION - current
        assert await migrate(db) == 0
        spend = await usage_sql.calls_by_key(db, team_id="t1")
        assert [(s["key_id"], s["calls"], s["tokens"], s["cost_micros"]) for s in spend] == [
            ("", 2, 12, 120)
        ]
        await record("c3", 4, key_id="key_new")
        assert await rollups_sql.roll_up_calls(db) == 2
        spend = await usage_sql.calls_by_key(db, team_id="t1")
        assert [(s["key_id"], s["calls"], s["tokens"]) for s in spend] == [
            ("", 2, 12),
            ("key_new", 1, 4),
        ]
    finally:
        await db.disconnect()


async def test_a_version_13_database_gets_operators(database_url: str) -> None:
    """Version 14 adds operators: a version-13 database gets the table, empty (the admin key
    keeps working as an owner), and an operator created after it is found by its key's hash,
    never by another."""
    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        await _before_operators(db)
        assert await migrate(db) == LATEST_VERSION - OPERATORS_VERSION + 1
        assert await migrate(db) == 0
        assert await operators_sql.list_operators(db, limit=10, after=None) == []
        now = dt.datetime(2026, 12, 6, tzinfo=dt.timezone.utc)
        await operators_sql.insert_operator(
            db, operator_id="op_" + "1" * 24, name="Ann", role="viewer", key_hash="a" * 64, now=now
        )
        found = await operators_sql.by_key_hash(db, "a" * 64)
        assert found is not None and (found["name"], found["role"]) == ("Ann", "viewer")
        assert await operators_sql.by_key_hash(db, "b" * 64) is None
    finally:
        await db.disconnect()
